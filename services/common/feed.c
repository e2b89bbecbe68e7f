/* feed.c - the Clone pattern's subscriber: live messages in order, gaps and tails from the log. */
#include "feed.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/schoollog.h"
#include "rollcall/log.h"

#define RECV_MAX   4096 /* live messages per feed_on_readable call */
#define PIPELINE   256  /* GETs per round trip in a tail check */
#define SCAN_COUNT 1000
#define KEY_MAX    64

/* The sequence key's layout is documented in schoollog.h (rules.h for the
 * outbox); the tail check reads it directly so it can pipeline the reads of
 * many schools. */
static const char *const log_roots[] = {CODEC_TOPIC_MARK, CODEC_TOPIC_TICK, CODEC_TOPIC_FACT,
                                        CODEC_TOPIC_REF};
static const char *const outbox_roots[] = {CODEC_TOPIC_PUPIL};

const feed_source_t feed_source_log = {
    .name = "log",
    .seq_key_head = SCHOOLLOG_SEQ_KEY_HEAD,
    .seq_key_match = SCHOOLLOG_SEQ_KEY_MATCH,
    .log_key_head = SCHOOLLOG_LOG_KEY_HEAD,
    .roots = log_roots,
    .nroots = sizeof log_roots / sizeof log_roots[0],
    .per_school = 1,
};

const feed_source_t feed_source_outbox = {
    .name = "outbox",
    .seq_key_head = "rs:out:{",
    .seq_key_match = "rs:out:{*}",
    .log_key_head = "rs:outbox:{",
    .roots = outbox_roots,
    .nroots = sizeof outbox_roots / sizeof outbox_roots[0],
    .per_school = 0, /* pupil.<la>.<urn>.: the LA comes first */
};

typedef struct {
    char urn[RC_URN_LEN + 1];
    uint64_t position; /* the last seq the consumer accepted */
    int held;          /* a catch-up or delivery failed: gaps wait for a retry */
    int warned_ahead;  /* feed.ahead_of_log logged once */
} school_t;

struct feed {
    const feed_source_t *src;
    redisContext *redis; /* borrowed */
    void *sub;           /* borrowed */
    feed_fn fn;
    void *ctx;
    feed_position_fn position_fn;
    int all;               /* following every school */
    int subscribed;        /* per_school == 0: the roots are subscribed */
    int (*stopping)(void); /* when true, a catch-up ends early */
    int in_fn;             /* inside the consumer: feed_* calls refused */
    school_t *schools;     /* sorted by urn, so lookups are a binary search */
    size_t n, cap;
    feed_stats_t stats;
};

/* How a catch-up ended: a fault of this school's log lets the others go on,
 * while Redis or the consumer failing stops the whole call. */
typedef enum { STEP_OK = 0, STEP_SCHOOL, STEP_STOP } step_t;

feed_t *feed_new(redisContext *redis, void *sub, feed_fn fn, void *ctx)
{
    return feed_new_from(redis, sub, &feed_source_log, fn, ctx);
}

feed_t *feed_new_from(redisContext *redis, void *sub, const feed_source_t *src, feed_fn fn,
                      void *ctx)
{
    assert(redis && sub && src && fn);
    feed_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->src = src;
    self->redis = redis;
    self->sub = sub;
    self->fn = fn;
    self->ctx = ctx;
    return self;
}

void feed_destroy(feed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->schools);
    free(*self_p);
    *self_p = NULL;
}

void feed_set_redis(feed_t *self, redisContext *redis)
{
    assert(redis);
    self->redis = redis;
}

/* lower_bound returns the index of the first school whose URN is not less
 * than urn. */
static size_t lower_bound(const feed_t *self, const char *urn)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(self->schools[mid].urn, urn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static school_t *find(const feed_t *self, const char *urn)
{
    size_t i = lower_bound(self, urn);
    return i < self->n && strcmp(self->schools[i].urn, urn) == 0 ? &self->schools[i] : NULL;
}

/* add_school inserts urn, which must not be followed yet. The pointer in
 * *out is valid until the next insertion. */
static rc_err_t add_school(feed_t *self, const char *urn, uint64_t position, school_t **out)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        school_t *grown = realloc(self->schools, cap * sizeof *grown);
        if (!grown)
            return RC_ENOMEM;
        self->schools = grown;
        self->cap = cap;
    }
    size_t i = lower_bound(self, urn);
    memmove(&self->schools[i + 1], &self->schools[i], (self->n - i) * sizeof self->schools[0]);
    self->schools[i] = (school_t){.position = position};
    memcpy(self->schools[i].urn, urn, RC_URN_LEN + 1);
    self->n++;
    if (out)
        *out = &self->schools[i];
    return RC_OK;
}

/* set_prefixes (un)subscribes (opt) root + urn for the first n roots (the
 * roots alone when the source is not per school); returns how many
 * succeeded. */
static size_t set_prefixes(const feed_t *self, int opt, const char *urn, size_t n)
{
    char prefix[CODEC_TOPIC_MAX];
    size_t done = 0;
    if (!self->src->per_school)
        urn = "";
    for (; done < n; done++) {
        int len = snprintf(prefix, sizeof prefix, "%s%s%s", self->src->roots[done], urn,
                           urn[0] ? "." : "");
        if (zmq_setsockopt(self->sub, opt, prefix, (size_t)len) != 0)
            break;
    }
    return done;
}

static rc_err_t subscribe(feed_t *self, const char *urn)
{
    if (!self->src->per_school && self->subscribed)
        return RC_OK;
    size_t done = set_prefixes(self, ZMQ_SUBSCRIBE, urn, self->src->nroots);
    if (done == self->src->nroots) {
        self->subscribed = 1;
        return RC_OK;
    }
    log_error("feed.subscribe_failed", LOG_STR("urn", urn), LOG_STR("error", zmq_strerror(errno)));
    set_prefixes(self, ZMQ_UNSUBSCRIBE, urn, done);
    return RC_EIO;
}

rc_err_t feed_follow(feed_t *self, const char *urn, uint64_t position)
{
    if (self->in_fn)
        return RC_ESTATE;
    if (!urn || urn_check(urn, strlen(urn), NULL) != RC_OK)
        return RC_EINVAL;
    if (find(self, urn))
        return RC_ESTATE;
    /* Following all, the roots already match this school's topics. */
    if (!self->all) {
        rc_err_t err = subscribe(self, urn);
        if (err != RC_OK)
            return err;
    }
    rc_err_t err = add_school(self, urn, position, NULL);
    if (err != RC_OK && !self->all && self->src->per_school)
        set_prefixes(self, ZMQ_UNSUBSCRIBE, urn, self->src->nroots);
    return err;
}

rc_err_t feed_follow_all(feed_t *self, feed_position_fn position_fn)
{
    if (self->in_fn || self->all)
        return RC_ESTATE;
    rc_err_t err = subscribe(self, "");
    if (err != RC_OK)
        return err;
    self->all = 1;
    self->position_fn = position_fn;
    return RC_OK;
}

/* adopt follows a school found while following all, from the position the
 * consumer gives. */
static rc_err_t adopt(feed_t *self, const char *urn, school_t **out)
{
    uint64_t position = 0;
    if (self->position_fn) {
        self->in_fn = 1;
        rc_err_t err = self->position_fn(self->ctx, urn, &position);
        self->in_fn = 0;
        if (err != RC_OK) {
            log_warn("feed.position_failed", LOG_STR("urn", urn),
                     LOG_STR("error", rc_strerror(err)));
            return err;
        }
    }
    rc_err_t err = add_school(self, urn, position, out);
    if (err != RC_OK)
        return err;
    self->stats.discovered++;
    log_info("feed.school_found", LOG_STR("urn", urn), LOG_INT("position", (long long)position));
    return RC_OK;
}

/* deliver hands msg to the consumer and moves the position only when it is
 * accepted. */
static rc_err_t deliver(feed_t *self, school_t *s, const wire_msg_t *msg, int from_log)
{
    self->in_fn = 1;
    rc_err_t err = self->fn(self->ctx, msg);
    self->in_fn = 0;
    if (err != RC_OK) {
        self->stats.refused++;
        if (!s->held) /* once, not at every retry */
            log_warn("feed.consumer_refused", LOG_STR("urn", s->urn),
                     LOG_INT("seq", (long long)msg->seq), LOG_STR("error", rc_strerror(err)));
        s->held = 1;
        return err;
    }
    s->position = msg->seq;
    self->stats.delivered++;
    if (from_log)
        self->stats.from_log++;
    return RC_OK;
}

typedef struct {
    feed_t *self;
    school_t *school;
    step_t step;
    rc_err_t err;
} reading_t;

/* on_entry delivers one log entry; a schoollog_entry_fn. */
static int on_entry(void *ctx, const char *urn, uint64_t seq, const uint8_t *env, size_t len)
{
    reading_t *r = ctx;
    school_t *s = r->school;
    wire_msg_t msg;
    char why[CODEC_WHY_MAX] = "";
    if (seq != s->position + 1) {
        /* The log is gap-free by construction; a hole means it was damaged. */
        log_error("feed.log_gap", LOG_STR("urn", urn), LOG_INT("position", (long long)s->position),
                  LOG_INT("seq", (long long)seq));
        r->err = RC_EPARSE;
        r->step = STEP_SCHOOL;
        return 1;
    }
    rc_err_t err = codec_decode(env, len, &msg, why);
    if (err == RC_OK && strcmp(msg.urn, urn) != 0) {
        err = RC_EINVAL;
        snprintf(why, sizeof why, "the entry names another school");
    }
    if (err != RC_OK) {
        r->err = err;
        r->step = err == RC_ENOMEM ? STEP_STOP : STEP_SCHOOL;
        if (err != RC_ENOMEM)
            log_error("feed.bad_log_entry", LOG_STR("urn", urn), LOG_INT("seq", (long long)seq),
                      LOG_STR("why", why));
        return 1;
    }
    msg.seq = seq; /* the log stores 0; the entry id is the sequence */
    err = deliver(r->self, s, &msg, 1);
    if (err != RC_OK) {
        /* Redis down or memory short stops every school; a consumer that
         * refuses one school's entry (it holds that school) stops only it. */
        r->err = err;
        r->step = err == RC_EIO || err == RC_ENOMEM ? STEP_STOP : STEP_SCHOOL;
        return 1;
    }
    return 0;
}

/* catch_up reads s's log from its position to the end. On failure *err
 * gets the error and s is held. */
static step_t catch_up(feed_t *self, school_t *s, rc_err_t *err)
{
    uint64_t from = s->position;
    for (;;) {
        reading_t r = {.self = self, .school = s};
        size_t n = 0;
        rc_err_t e = schoollog_read_stream(self->redis, self->src->log_key_head, s->urn,
                                           s->position, FEED_BATCH, on_entry, &r, &n);
        if (r.step == STEP_OK && e != RC_OK) {
            r.err = e;
            r.step = e == RC_EIO ? STEP_STOP : STEP_SCHOOL;
            if (e == RC_EIO)
                log_warn("feed.redis_failed", LOG_STR("urn", s->urn),
                         LOG_STR("error", self->redis->errstr[0] ? self->redis->errstr
                                                                 : "unexpected reply"));
            else
                log_error("feed.bad_log", LOG_STR("urn", s->urn),
                          LOG_INT("position", (long long)s->position));
        }
        if (r.step != STEP_OK) {
            s->held = 1;
            *err = r.err;
            return r.step;
        }
        if (n < FEED_BATCH || (self->stopping && self->stopping()))
            break;
    }
    s->held = 0;
    if (s->position != from)
        log_debug("feed.caught_up", LOG_STR("urn", s->urn), LOG_INT("from", (long long)from),
                  LOG_INT("to", (long long)s->position));
    return STEP_OK;
}

/* read_last_seqs reads the last sequence numbers of schools [from, to) into
 * last[], with one round trip. A school whose key does not hold a number
 * gets UINT64_MAX, and is logged. */
static rc_err_t read_last_seqs(feed_t *self, size_t from, size_t to, uint64_t *last)
{
    char key[KEY_MAX];
    size_t queued = 0;
    rc_err_t err = RC_OK;
    for (size_t i = from; i < to; i++, queued++) {
        snprintf(key, sizeof key, "%s%s}", self->src->seq_key_head, self->schools[i].urn);
        if (redisAppendCommand(self->redis, "GET %s", key) != REDIS_OK) {
            err = RC_EIO;
            break;
        }
    }
    /* Every queued command's reply is read, to keep the connection in step. */
    for (size_t i = 0; i < queued; i++) {
        void *reply = NULL;
        if (redisGetReply(self->redis, &reply) != REDIS_OK) {
            err = RC_EIO;
            break;
        }
        redisReply *r = reply;
        char *end = NULL;
        last[i] = UINT64_MAX;
        if (r->type == REDIS_REPLY_NIL) {
            last[i] = 0;
        } else if (r->type == REDIS_REPLY_STRING) {
            errno = 0;
            unsigned long long v = strtoull(r->str, &end, 10);
            if (errno == 0 && end != r->str && *end == '\0')
                last[i] = v;
        }
        if (last[i] == UINT64_MAX)
            log_error("feed.bad_seq_key", LOG_STR("urn", self->schools[from + i].urn));
        freeReplyObject(reply);
    }
    if (err != RC_OK)
        log_warn("feed.redis_failed",
                 LOG_STR("error", self->redis->errstr[0] ? self->redis->errstr
                                                         : "could not queue a command"));
    return err;
}

/* catch_up_behind catches up every school whose log goes past its
 * position; tail counts them as tail_behind. */
static rc_err_t catch_up_behind(feed_t *self, int tail)
{
    uint64_t last[PIPELINE];
    rc_err_t first = RC_OK;
    for (size_t from = 0; from < self->n; from += PIPELINE) {
        size_t to = self->n - from < PIPELINE ? self->n : from + PIPELINE;
        rc_err_t err = read_last_seqs(self, from, to, last);
        if (err != RC_OK)
            return err;
        for (size_t i = from; i < to; i++) {
            if (self->stopping && self->stopping())
                return first;
            school_t *s = &self->schools[i];
            uint64_t end = last[i - from];
            if (end == UINT64_MAX) {
                s->held = 1;
                first = first != RC_OK ? first : RC_EPARSE;
                continue;
            }
            if (end < s->position) {
                /* The consumer has more than the log: Redis lost data, or
                 * the position came from another Redis. */
                if (!s->warned_ahead)
                    log_error("feed.ahead_of_log", LOG_STR("urn", s->urn),
                              LOG_INT("position", (long long)s->position),
                              LOG_INT("last", (long long)end));
                s->warned_ahead = 1;
                continue;
            }
            if (end == s->position) {
                s->held = 0;
                continue;
            }
            if (tail)
                self->stats.tail_behind++;
            err = RC_OK;
            if (catch_up(self, s, &err) == STEP_STOP)
                return err;
            if (err != RC_OK && first == RC_OK)
                first = err;
        }
    }
    return first;
}

/* urn_of_seq_key returns the URN inside a sequence key, or NULL when key is
 * not one. */
static const char *urn_of_seq_key(const feed_t *self, const char *key, size_t len,
                                  char urn[RC_URN_LEN + 1])
{
    const char *want = self->src->seq_key_head;
    size_t head = strlen(want);
    if (len != head + RC_URN_LEN + 1 || memcmp(key, want, head) != 0 || key[len - 1] != '}')
        return NULL;
    memcpy(urn, key + head, RC_URN_LEN);
    urn[RC_URN_LEN] = '\0';
    return urn_check(urn, RC_URN_LEN, NULL) == RC_OK ? urn : NULL;
}

/* discover follows every school with a log that is not followed yet. */
static rc_err_t discover(feed_t *self)
{
    char cursor[32] = "0";
    rc_err_t err = RC_OK;
    do {
        redisReply *r = redisCommand(self->redis, "SCAN %s MATCH %s COUNT %d", cursor,
                                     self->src->seq_key_match, SCAN_COUNT);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof cursor ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            log_warn("feed.redis_failed",
                     LOG_STR("error", self->redis->errstr[0] ? self->redis->errstr
                                                             : "unexpected reply to SCAN"));
            freeReplyObject(r);
            return RC_EIO;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements && err == RC_OK; i++) {
            char urn[RC_URN_LEN + 1];
            if (keys->element[i]->type == REDIS_REPLY_STRING &&
                urn_of_seq_key(self, keys->element[i]->str, keys->element[i]->len, urn) &&
                !find(self, urn))
                err = adopt(self, urn, NULL);
        }
        freeReplyObject(r);
    } while (err == RC_OK && strcmp(cursor, "0") != 0);
    return err;
}

rc_err_t feed_catch_up(feed_t *self)
{
    if (self->in_fn)
        return RC_ESTATE;
    if (self->all) {
        rc_err_t err = discover(self);
        if (err != RC_OK)
            return err;
    }
    return catch_up_behind(self, 0);
}

rc_err_t feed_check_tail(feed_t *self)
{
    if (self->in_fn)
        return RC_ESTATE;
    return catch_up_behind(self, 1);
}

static void bad_message(feed_t *self, const char *why, const void *topic, size_t tlen, int frames)
{
    char shown[CODEC_TOPIC_MAX];
    size_t n = tlen < sizeof shown - 1 ? tlen : sizeof shown - 1;
    memcpy(shown, topic, n);
    shown[n] = '\0';
    self->stats.bad++;
    log_warn("feed.bad_message", LOG_STR("why", why), LOG_STR("topic", shown),
             LOG_INT("frames", frames));
}

/* on_message acts on one live message of frames parts, topic and body the
 * first two. */
static rc_err_t on_message(feed_t *self, const void *topic, size_t tlen, const uint8_t *body,
                           size_t blen, int frames)
{
    wire_msg_t msg;
    char why[CODEC_WHY_MAX] = "", want[CODEC_TOPIC_MAX];
    if (frames != 2) {
        bad_message(self, "expected two frames, [topic][envelope]", topic, tlen, frames);
        return RC_OK;
    }
    rc_err_t err = codec_decode(body, blen, &msg, why);
    if (err == RC_ENOMEM)
        return err;
    if (err != RC_OK) {
        bad_message(self, why, topic, tlen, frames);
        return RC_OK;
    }
    if (codec_topic(&msg, want) != RC_OK || strlen(want) != tlen || memcmp(want, topic, tlen)) {
        bad_message(self, "the topic does not match the message", topic, tlen, frames);
        return RC_OK;
    }
    if (msg.seq == 0) {
        bad_message(self, "no sequence number", topic, tlen, frames);
        return RC_OK;
    }
    school_t *s = find(self, msg.urn);
    if (!s) {
        /* A tick for no school in particular has no place in any log. */
        if (!self->all || msg.urn[0] == '\0') {
            self->stats.unknown++;
            return RC_OK;
        }
        if ((err = adopt(self, msg.urn, &s)) != RC_OK)
            return err;
    }
    if (msg.seq <= s->position) {
        self->stats.duplicates++;
        return RC_OK;
    }
    if (msg.seq == s->position + 1)
        return deliver(self, s, &msg, 0);
    self->stats.gaps++;
    if (s->held) {
        self->stats.held++;
        return RC_OK;
    }
    log_info("feed.gap", LOG_STR("urn", s->urn), LOG_INT("position", (long long)s->position),
             LOG_INT("seq", (long long)msg.seq));
    err = RC_OK;
    catch_up(self, s, &err);
    return err;
}

/* recv_message receives one whole message: its first two frames into
 * topic and body, the rest dropped. Returns the number of frames, 0 when
 * none is waiting, -1 on a socket error (*error set to errno). */
static int recv_message(void *sub, zmq_msg_t *topic, zmq_msg_t *body, int *error)
{
    if (zmq_msg_recv(topic, sub, ZMQ_DONTWAIT) < 0) {
        *error = errno;
        return *error == EAGAIN ? 0 : -1;
    }
    int frames = 1, more = zmq_msg_more(topic);
    if (more) {
        /* The frames of one message arrive together, so blocking is safe. */
        if (zmq_msg_recv(body, sub, 0) < 0) {
            *error = errno;
            return -1;
        }
        frames++;
        more = zmq_msg_more(body);
    }
    while (more) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        int rc = zmq_msg_recv(&extra, sub, 0);
        *error = errno;
        more = rc >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        if (rc < 0)
            return -1;
        frames++;
    }
    return frames;
}

rc_err_t feed_on_readable(feed_t *self)
{
    if (self->in_fn)
        return RC_ESTATE;
    rc_err_t err = RC_OK;
    for (int i = 0; i < RECV_MAX && err == RC_OK; i++) {
        zmq_msg_t topic, body;
        int error = 0;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        int frames = recv_message(self->sub, &topic, &body, &error);
        if (frames > 0) {
            err = on_message(self, zmq_msg_data(&topic), zmq_msg_size(&topic), zmq_msg_data(&body),
                             zmq_msg_size(&body), frames);
        } else if (frames < 0 && error != EINTR) {
            log_error("feed.recv_failed", LOG_STR("error", zmq_strerror(error)));
            err = RC_EIO;
        }
        zmq_msg_close(&body);
        zmq_msg_close(&topic);
        if (frames <= 0)
            break;
    }
    return err;
}

rc_err_t feed_position(const feed_t *self, const char *urn, uint64_t *position)
{
    const school_t *s = urn ? find(self, urn) : NULL;
    if (!s)
        return RC_ENOTFOUND;
    *position = s->position;
    return RC_OK;
}

void feed_stats(const feed_t *self, feed_stats_t *out)
{
    *out = self->stats;
}

rc_err_t feed_rewind(feed_t *self, const char *urn, uint64_t position)
{
    school_t *s = urn ? find(self, urn) : NULL;
    if (!s)
        return RC_ENOTFOUND;
    if (position < s->position)
        log_info("feed.rewound", LOG_STR("urn", s->urn), LOG_INT("from", (long long)s->position),
                 LOG_INT("to", (long long)position));
    s->position = position;
    s->held = 1;
    return RC_OK;
}

void feed_set_stopping(feed_t *self, int (*stopping)(void))
{
    self->stopping = stopping;
}
