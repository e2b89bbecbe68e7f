/* notify.c - plan each pupil event's messages, send each exactly once,
 * keep every outcome. See notify.h for the design and the Redis keys.
 *
 * A message (rn:msg:{urn}:<key>) holds:
 *   state      pending | sending | sent | delivered | failed
 *   channel    sms | email | letter        template, policy
 *   to         the mobile (E.164) or email address; "post" for a letter
 *   contact    contacts.csv contact_id     name: the contact's name
 *   upns       the pupils it is about, comma-separated (siblings merged)
 *   seqs       their events' outbox entries     event: the first event's id
 *   date       the events' school date     urgent: 1 when quiet hours do not apply
 *   attempts, started (UTC us of the last claim), gateway, ref (the
 *   gateway's id), http, error, merge (the merge pointer, until sent);
 *   for a letter, letter and subject: the rendered text, to print.
 * rn:letters:{urn} (zset) holds the letters' keys, scored by their date as
 * YYYYMMDD: the school's print queue. */
#define _DEFAULT_SOURCE /* localtime_r, strcasecmp, strdup */
#include "notify/notify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "common/schoollog.h"
#include "rollcall/log.h"

#define KEY_HEX       CODEC_EVENT_ID_HEX
#define REF_MAX       (3 + RC_URN_LEN + 1 + KEY_HEX + 1)
#define MAX_CONTACTS  16
#define FIELD_MAX     512
#define SCHOOLS_CHUNK 64

static const char library[] = "#!lua name=rollcall_notify\n"
                              "redis.register_function('rollcall_rate', function(keys, args)\n"
                              "  local t = redis.call('TIME')\n"
                              "  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
                              "  local interval = tonumber(args[1])\n"
                              "  local burst = tonumber(args[2])\n"
                              "  local tat = tonumber(redis.call('GET', keys[1]) or now)\n"
                              "  if tat < now then tat = now end\n"
                              "  local allow_at = tat - interval * burst\n"
                              "  if now < allow_at then return allow_at - now end\n"
                              "  redis.call('SET', keys[1], tat + interval, 'PX', math.floor((tat "
                              "+ interval - now) / 1000) + "
                              "1000)\n"
                              "  return 0\n"
                              "end)\n";

/* ---- the in-flight transfers ---- */

typedef struct {
    CURL *h;
    int lookup; /* 1: a reconciliation lookup, 0: a send */
    char urn[RC_URN_LEN + 1];
    char key[KEY_HEX + 1];
    gateway_request_t req;
    struct curl_slist *headers;
    char *resp;
    size_t resp_len;
    char retry_after[32];
    char errbuf[CURL_ERROR_SIZE];
    /* What the lookup compares with (Twilio matches number and text). */
    char to[RC_EMAIL_MAX + 1];
    char *text;
} flight_t;

struct notify {
    const notify_config_t *cfg;
    redisContext *redis; /* reads, shared with the feed */
    redisContext *wr;    /* transactions (MULTI ... EXEC), notify's own */
    void *pub;
    const template_set_t *templates;
    gateway_t sms, email;
    int quiet_from, quiet_to;
    CURLM *multi;
    flight_t *flights; /* max_in_flight slots; h == NULL is free */
    int nflying;
    char (*schools)[RC_URN_LEN + 1]; /* every school seen, for the due scans */
    size_t nschools, capschools;
    size_t next_school;   /* round robin */
    rc_time_t hold_until; /* the rate limit refused: no sends before this */
    notify_stats_t stats;
};

/* ---- small helpers ---- */

static int reply_ok(const redisReply *r, int type)
{
    return r && r->type == type;
}

static rc_time_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (rc_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* now is the service's time: the wall clock, or in replay mode the replay
 * clock ingest keeps (rc:clock), so quiet hours follow the replayed day. */
static rc_time_t now_us(notify_t *self)
{
    if (self->cfg->clock != NOTIFY_CLOCK_REPLAY)
        return wall_now();
    redisReply *r = redisCommand(self->redis, "GET rc:clock");
    rc_time_t t = reply_ok(r, REDIS_REPLY_STRING) ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return t ? t : wall_now();
}

/* london_minute gives the minute of the day in London for t. */
static int london_minute(rc_time_t t)
{
    time_t sec = (time_t)(t / 1000000);
    struct tm tm;
    localtime_r(&sec, &tm); /* TZ is Europe/London: main sets it */
    return tm.tm_hour * 60 + tm.tm_min;
}

static int in_quiet(const notify_t *self, int minute)
{
    int a = self->quiet_from, b = self->quiet_to;
    if (a == b)
        return 0;
    return a < b ? minute >= a && minute < b : minute >= a || minute < b;
}

/* quiet_now is true when the service's time (the replay clock in replay
 * mode) is within the quiet hours; *until gets when to look again (UTC us,
 * wall clock): the quiet hours' end, or in replay mode a second later, as
 * the replay clock may move at any time. */
static rc_time_t quiet_end(const notify_t *self, rc_time_t t);

static int quiet_now(notify_t *self, rc_time_t wall, rc_time_t *until)
{
    if (self->quiet_from == self->quiet_to)
        return 0; /* no quiet hours: no need to ask the clock */
    rc_time_t t = now_us(self);
    if (!in_quiet(self, london_minute(t)))
        return 0;
    *until = self->cfg->clock == NOTIFY_CLOCK_REPLAY ? wall + 1000000 : quiet_end(self, wall);
    return 1;
}

/* quiet_end is the first instant after t outside the quiet hours. */
static rc_time_t quiet_end(const notify_t *self, rc_time_t t)
{
    int m = london_minute(t);
    int wait = (self->quiet_to - m + 1440) % 1440;
    return t + (rc_time_t)wait * 60 * 1000000 - (t % 60000000);
}

static void ref_of(const char *urn, const char *key, char out[REF_MAX])
{
    snprintf(out, REF_MAX, "rc-%s-%s", urn, key);
}

/* ref_parse splits "rc-<urn>-<key>"; 0 when ref is not one of ours. */
static int ref_parse(const char *ref, char urn[RC_URN_LEN + 1], char key[KEY_HEX + 1])
{
    if (strlen(ref) != 3 + RC_URN_LEN + 1 + KEY_HEX || strncmp(ref, "rc-", 3) != 0 ||
        ref[3 + RC_URN_LEN] != '-')
        return 0;
    memcpy(urn, ref + 3, RC_URN_LEN);
    urn[RC_URN_LEN] = '\0';
    memcpy(key, ref + 4 + RC_URN_LEN, KEY_HEX + 1);
    return urn_check(urn, RC_URN_LEN, NULL) == RC_OK && strspn(key, "0123456789abcdef") == KEY_HEX;
}

int notify_owns(const notify_t *self, const char *urn)
{
    return service_list_has(self->cfg->schools, urn);
}

static void remember_school(notify_t *self, const char *urn)
{
    for (size_t i = 0; i < self->nschools; i++)
        if (strcmp(self->schools[i], urn) == 0)
            return;
    if (self->nschools == self->capschools) {
        size_t cap = self->capschools + SCHOOLS_CHUNK;
        void *v = realloc(self->schools, cap * sizeof *self->schools);
        if (!v)
            return;
        self->schools = v;
        self->capschools = cap;
    }
    snprintf(self->schools[self->nschools++], RC_URN_LEN + 1, "%s", urn);
}

/* ---- contacts ---- */

typedef struct {
    char id[CODEC_NAME_MAX + 1];
    char name[FIELD_MAX];
    int pr, social_worker;
    char mobile[RC_E164_MAX + 1];
    char email[RC_EMAIL_MAX + 1];
    int priority;
} contact_t;

static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static int cmp_contact(const void *a, const void *b)
{
    const contact_t *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority - y->priority;
    return strcmp(x->id, y->id);
}

/* load_contacts reads upn's contacts (ingest's rc:contacts:<upn>), in
 * priority order; returns how many, -1 when Redis failed. */
static int load_contacts(notify_t *self, const char *upn, contact_t out[MAX_CONTACTS])
{
    redisReply *r = redisCommand(self->redis, "HGETALL rc:contacts:%s", upn);
    if (!reply_ok(r, REDIS_REPLY_ARRAY)) {
        freeReplyObject(r);
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i + 1 < r->elements && n < MAX_CONTACTS; i += 2) {
        json_t *j = json_loads(r->element[i + 1]->str, 0, NULL);
        contact_t *c = &out[n];
        memset(c, 0, sizeof *c);
        snprintf(c->id, sizeof c->id, "%s", r->element[i]->str);
        const char *rel = json_string_value(json_object_get(j, "relationship"));
        snprintf(c->name, sizeof c->name, "%s", str_or_empty(json_object_get(j, "name")));
        snprintf(c->mobile, sizeof c->mobile, "%s", str_or_empty(json_object_get(j, "mobile")));
        snprintf(c->email, sizeof c->email, "%s", str_or_empty(json_object_get(j, "email")));
        c->pr = json_is_true(json_object_get(j, "parental_responsibility"));
        c->priority = (int)json_integer_value(json_object_get(j, "priority"));
        c->social_worker =
            rel && (strcasecmp(rel, "social worker") == 0 || strcasecmp(rel, "social_worker") == 0);
        json_decref(j);
        n++;
    }
    freeReplyObject(r);
    qsort(out, (size_t)n, sizeof *out, cmp_contact);
    return n;
}

/* ---- outcomes ---- */

/* queue_outcome appends an outcome to the school's outcome log and the
 * pupil's audit inside the caller's MULTI; returns commands queued. The
 * envelope is kept in *env (malloc'd) for publishing after the EXEC. */
static int queue_outcome(notify_t *self, const char *urn, const notify_outcome_t *o, uint8_t **env,
                         size_t *len)
{
    wire_msg_t m;
    codec_msg_init(&m, WIRE_OUTCOME);
    snprintf(m.urn, sizeof m.urn, "%s", urn);
    m.u.outcome = *o;
    char at[24];
    snprintf(at, sizeof at, "%" PRId64, o->at);
    const char *parts[] = {"outcome", o->idempotency_key, delivery_status_name(o->status), at};
    codec_event_id(parts, 4, m.event_id);
    char why[CODEC_WHY_MAX] = "";
    *env = NULL;
    if (codec_encode(&m, env, len, why) != RC_OK) {
        log_error("notify.outcome_refused", LOG_STR("urn", urn), LOG_STR("why", why));
        return 0;
    }
    redisAppendCommand(self->wr, "FCALL rollcall_append 2 rn:oseq:{%s} rn:outcomes:{%s} %b", urn,
                       urn, *env, *len);
    redisAppendCommand(self->wr, "RPUSH rn:audit:{%s}:%s %s:%s:%s", urn, o->upn, at,
                       delivery_status_name(o->status), o->idempotency_key);
    return 2;
}

static void publish_outcome(notify_t *self, const char *urn, uint8_t *env, size_t len)
{
    if (!self->pub || !env)
        return;
    char topic[CODEC_TOPIC_MAX];
    snprintf(topic, sizeof topic, CODEC_TOPIC_OUTCOME "%s.", urn);
    zmq_send(self->pub, topic, strlen(topic), ZMQ_SNDMORE);
    zmq_send(self->pub, env, len, 0);
}

/* exec_replies reads n replies (MULTI, the queued commands, EXEC) and
 * checks the EXEC; returns 1 when it all went through. */
static int exec_replies(notify_t *self, int n)
{
    int ok = 1;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(self->wr, &r) != REDIS_OK) {
            ok = 0;
            break;
        }
        redisReply *rep = r;
        if (i == n - 1) {
            if (rep->type != REDIS_REPLY_ARRAY)
                ok = 0;
            for (size_t k = 0; ok && k < rep->elements; k++)
                if (rep->element[k]->type == REDIS_REPLY_ERROR) {
                    log_error("notify.commit_partial", LOG_STR("error", rep->element[k]->str));
                    ok = 0;
                }
        }
        freeReplyObject(r);
    }
    return ok;
}

/* ---- templates (rollcall/template.h) ---- */

static unsigned tpl_channels(const notify_t *self, const char *policy, const char *id);

/* ---- planning ---- */

typedef struct {
    notify_t *self;
    const char *urn;
    const wire_msg_t *msg;
    const char *policy;
    rc_time_t now;
    int queued;       /* commands inside the MULTI */
    int planned;      /* messages created or merged */
    uint8_t *envs[8]; /* outcomes to publish after the EXEC */
    size_t envlens[8];
    int nenvs;
} plan_t;

static int mergeable(const notify_t *self, const pupil_event_t *ev, channel_t ch)
{
    return self->cfg->merge_siblings && ch != CHANNEL_LETTER && ev->kind == EVENT_ALERT &&
           ev->alert == ALERT_FIRST_DAY_ABSENCE;
}

static int urgent(const pupil_event_t *ev)
{
    /* A child missing: quiet hours do not hold the message back. */
    return ev->kind == EVENT_REFERRAL && ev->referral == REFERRAL_CME;
}

/* no_recipient records, for the school to see, that an event's template
 * reached no one on a channel (no contact with a mobile, say). */
static void no_recipient(plan_t *p, const char *tpl, channel_t ch, const char *why)
{
    const pupil_event_t *ev = &p->msg->u.event;
    notify_outcome_t o = {.channel = ch, .status = DELIVERY_FAILED_PERMANENT, .at = p->now};
    char key[KEY_HEX + 1];
    const char *parts[] = {"none", p->msg->event_id, tpl, channel_name(ch)};
    codec_event_id(parts, 4, key);
    snprintf(o.source_event_id, sizeof o.source_event_id, "%s", p->msg->event_id);
    ref_of(p->urn, key, o.idempotency_key);
    snprintf(o.upn, sizeof o.upn, "%s", ev->upn);
    snprintf(o.contact_id, sizeof o.contact_id, "none");
    snprintf(o.template_id, sizeof o.template_id, "%s", tpl);
    snprintf(o.error, sizeof o.error, "%s", why);
    if (p->nenvs < 8) {
        p->queued += queue_outcome(p->self, p->urn, &o, &p->envs[p->nenvs], &p->envlens[p->nenvs]);
        p->nenvs++;
    }
    p->self->stats.no_recipient++;
    log_warn("notify.no_recipient", LOG_STR("urn", p->urn), LOG_UPN("upn", ev->upn),
             LOG_STR("template", tpl), LOG_STR("channel", channel_name(ch)), LOG_STR("why", why));
}

/* plan_one creates (or merges into) the message of one address. */
static rc_err_t plan_one(plan_t *p, const char *tpl, channel_t ch, const contact_t *c,
                         const char *to)
{
    notify_t *self = p->self;
    const pupil_event_t *ev = &p->msg->u.event;
    char key[KEY_HEX + 1], mkey[KEY_HEX + 1] = "", day[RC_DATE_STRLEN], seq[24];
    date_format(ev->date, day);
    snprintf(seq, sizeof seq, "%" PRIu64, p->msg->seq);
    rc_time_t due = p->now;
    if (mergeable(self, ev, ch)) {
        const char *mparts[] = {"merge", p->urn, day, tpl, channel_name(ch), to};
        codec_event_id(mparts, 6, mkey);
        redisReply *r = redisCommand(self->redis, "GET rn:merge:{%s}:%s", p->urn, mkey);
        if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
            freeReplyObject(r);
            return RC_EIO;
        }
        if (r->type == REDIS_REPLY_STRING) {
            redisReply *m =
                redisCommand(self->redis, "HMGET rn:msg:{%s}:%s state upns seqs", p->urn, r->str);
            int merged = 0;
            if (m && m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
                m->element[0]->type == REDIS_REPLY_STRING &&
                strcmp(m->element[0]->str, "pending") == 0) {
                char upns[1024], seqs[1024];
                const char *have =
                    m->element[1]->type == REDIS_REPLY_STRING ? m->element[1]->str : "";
                const char *haves =
                    m->element[2]->type == REDIS_REPLY_STRING ? m->element[2]->str : "";
                if (!strstr(have, ev->upn) && strlen(have) + RC_UPN_LEN + 2 < sizeof upns &&
                    strlen(haves) + 24 < sizeof seqs) {
                    snprintf(upns, sizeof upns, "%s,%s", have, ev->upn);
                    snprintf(seqs, sizeof seqs, "%s,%s", haves, seq);
                    redisAppendCommand(self->wr, "HSET rn:msg:{%s}:%s upns %s seqs %s", p->urn,
                                       r->str, upns, seqs);
                    p->queued++;
                }
                merged = 1;
            }
            freeReplyObject(m);
            freeReplyObject(r);
            if (merged) {
                self->stats.merged++;
                p->planned++;
                return RC_OK;
            }
        } else {
            freeReplyObject(r);
        }
        if (self->cfg->clock == NOTIFY_CLOCK_WALL)
            due += self->cfg->merge_window_ms * 1000;
    }
    const char *parts[] = {p->msg->event_id, c ? c->id : "post", channel_name(ch), tpl};
    codec_event_id(parts, 4, key);
    char date_s[24], due_s[24];
    snprintf(date_s, sizeof date_s, "%" PRId32, ev->date);
    snprintf(due_s, sizeof due_s, "%" PRId64, due);
    /* HSETNX on state: a message planned before (a replayed event) is left as it is. */
    redisAppendCommand(self->wr, "HSETNX rn:msg:{%s}:%s state pending", p->urn, key);
    redisAppendCommand(self->wr,
                       "HSET rn:msg:{%s}:%s channel %s template %s policy %s to %s contact %s "
                       "name %s upns %s seqs %s event %s date %s urgent %d merge %s",
                       p->urn, key, channel_name(ch), tpl, p->policy, to, c ? c->id : "post",
                       c ? c->name : "", ev->upn, seq, p->msg->event_id, date_s, urgent(ev), mkey);
    redisAppendCommand(self->wr, "ZADD rn:due:{%s} NX %s %s", p->urn, due_s, key);
    p->queued += 3;
    if (mkey[0]) {
        redisAppendCommand(self->wr, "SET rn:merge:{%s}:%s %s EX 172800", p->urn, mkey, key);
        p->queued++;
    }
    p->planned++;
    return RC_OK;
}

/* plan_template plans one template of an event on every channel it has. */
static rc_err_t plan_template(plan_t *p, const char *tpl, const contact_t *cs, int nc)
{
    const pupil_event_t *ev = &p->msg->u.event;
    unsigned channels = tpl_channels(p->self, p->policy, tpl);
    if (!channels) {
        no_recipient(p, tpl, CHANNEL_LETTER,
                     "no such template for this school's policy (templates_dir)");
        return RC_OK;
    }
    int sw = ev->kind == EVENT_ALERT && ev->alert == ALERT_SOCIAL_WORKER_NOTIFY;
    for (channel_t ch = CHANNEL_SMS; ch <= CHANNEL_LETTER; ch++) {
        if (!(channels & (1u << ch)))
            continue;
        int any = 0;
        for (int i = 0; i < nc; i++) {
            const contact_t *c = &cs[i];
            if (sw ? !c->social_worker : !c->pr)
                continue;
            /* A letter is printed for each parent by name (seed 001: both
             * parents); a text or email goes once to each number or address. */
            const char *to = ch == CHANNEL_SMS     ? c->mobile
                             : ch == CHANNEL_EMAIL ? c->email
                                                   : "post";
            if (!to[0])
                continue;
            int seen = 0;
            for (int k = 0; k < i && !seen && ch != CHANNEL_LETTER; k++)
                seen = (sw ? cs[k].social_worker : cs[k].pr) &&
                       strcmp(ch == CHANNEL_SMS ? cs[k].mobile : cs[k].email, to) == 0;
            if (seen)
                continue;
            rc_err_t err = plan_one(p, tpl, ch, c, to);
            if (err != RC_OK)
                return err;
            any = 1;
        }
        if (!any && ch == CHANNEL_LETTER) { /* no parent on record: one for the household */
            rc_err_t err = plan_one(p, tpl, ch, NULL, "post");
            if (err != RC_OK)
                return err;
        } else if (!any)
            no_recipient(p, tpl, ch,
                         sw ? "the pupil has no social worker contact with this channel"
                         : ch == CHANNEL_SMS
                             ? "no contact with parental responsibility has a mobile"
                             : "no contact with parental responsibility has an email address");
    }
    return RC_OK;
}

rc_err_t notify_apply(void *ctx, const wire_msg_t *msg)
{
    notify_t *self = ctx;
    if (!notify_owns(self, msg->urn))
        return RC_OK;
    remember_school(self, msg->urn);
    if (msg->kind != WIRE_PUPIL_EVENT)
        return RC_OK;
    uint64_t pos = 0;
    rc_err_t err = notify_position(self, msg->urn, &pos);
    if (err != RC_OK)
        return err;
    if (msg->seq <= pos)
        return RC_OK;
    self->stats.events++;
    const pupil_event_t *ev = &msg->u.event;
    plan_t p = {.self = self, .urn = msg->urn, .msg = msg, .now = wall_now()};
    char policy[CODEC_NAME_MAX + 1] = "";
    contact_t cs[MAX_CONTACTS];
    int nc = 0;
    /* The social worker's email: the policy names no template for it. */
    int sw = ev->kind == EVENT_ALERT && ev->alert == ALERT_SOCIAL_WORKER_NOTIFY;
    size_t ntpl = ev->actions.n_templates;
    const char *tpls[CODEC_MAX_TEMPLATES + 1];
    for (size_t t = 0; t < ntpl; t++)
        tpls[t] = ev->actions.templates[t];
    if (sw && ntpl == 0)
        tpls[ntpl++] = TEMPLATE_SOCIAL_WORKER_ID;
    if (ntpl) {
        redisReply *r = redisCommand(self->redis, "HGET rc:school:{%s} policy", msg->urn);
        if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
            freeReplyObject(r);
            return RC_EIO;
        }
        if (r->type == REDIS_REPLY_STRING)
            snprintf(policy, sizeof policy, "%s", r->str);
        freeReplyObject(r);
        if ((nc = load_contacts(self, ev->upn, cs)) < 0)
            return RC_EIO;
    }
    p.policy = policy;
    redisAppendCommand(self->wr, "MULTI");
    for (size_t t = 0; t < ntpl && err == RC_OK; t++)
        err = plan_template(&p, tpls[t], cs, nc);
    redisAppendCommand(self->wr, "SET rn:pos:{%s} %" PRIu64, msg->urn, msg->seq);
    redisAppendCommand(self->wr, "EXEC");
    int ok = err == RC_OK && exec_replies(self, p.queued + 3);
    for (int i = 0; i < p.nenvs; i++) {
        if (ok)
            publish_outcome(self, msg->urn, p.envs[i], p.envlens[i]);
        free(p.envs[i]);
    }
    if (!ok) {
        /* Queued commands not sent would be read as the next replies. */
        redisReconnect(self->wr);
        log_warn("notify.plan_failed", LOG_STR("urn", msg->urn), LOG_INT("seq", (int64_t)msg->seq));
        return err != RC_OK ? err : RC_EIO;
    }
    self->stats.planned += (uint64_t)p.planned;
    return RC_OK;
}

rc_err_t notify_position(void *ctx, const char *urn, uint64_t *position)
{
    notify_t *self = ctx;
    if (!notify_owns(self, urn))
        return RC_ENOTFOUND;
    remember_school(self, urn);
    redisReply *r = redisCommand(self->redis, "GET rn:pos:{%s}", urn);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        freeReplyObject(r);
        return RC_EIO;
    }
    *position = r->type == REDIS_REPLY_STRING ? strtoull(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return RC_OK;
}

/* ---- sending ---- */

/* A message as read back from Redis, with everything a request needs. */
typedef struct {
    char urn[RC_URN_LEN + 1];
    char key[KEY_HEX + 1];
    char state[16];
    channel_t channel;
    char tpl[CODEC_NAME_MAX + 1], policy[CODEC_NAME_MAX + 1];
    char to[RC_EMAIL_MAX + 1], contact[CODEC_NAME_MAX + 1], name[FIELD_MAX];
    char upns[1024], seqs[1024], event[CODEC_ID_MAX + 1], merge[KEY_HEX + 1];
    rc_date_t date;
    int urgent, attempts;
    rc_time_t started;
} message_t;

static void field_copy(char *dst, size_t cap, const redisReply *v)
{
    snprintf(dst, cap, "%s", v && v->type == REDIS_REPLY_STRING ? v->str : "");
}

/* message_read loads a message; RC_ENOTFOUND when it is gone. */
static rc_err_t message_read(notify_t *self, const char *urn, const char *key, message_t *m)
{
    static const char *const names[] = {"state",   "channel", "template", "policy",  "to",
                                        "contact", "name",    "upns",     "seqs",    "event",
                                        "date",    "urgent",  "attempts", "started", "merge"};
    enum { N = sizeof names / sizeof names[0] };
    redisReply *r = redisCommand(self->redis,
                                 "HMGET rn:msg:{%s}:%s state channel template policy to contact "
                                 "name upns seqs event date urgent attempts started merge",
                                 urn, key);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != N) {
        freeReplyObject(r);
        return RC_EIO;
    }
    memset(m, 0, sizeof *m);
    snprintf(m->urn, sizeof m->urn, "%s", urn);
    snprintf(m->key, sizeof m->key, "%s", key);
    rc_err_t err = r->element[0]->type == REDIS_REPLY_STRING ? RC_OK : RC_ENOTFOUND;
    char ch[16], num[4][32];
    field_copy(m->state, sizeof m->state, r->element[0]);
    field_copy(ch, sizeof ch, r->element[1]);
    field_copy(m->tpl, sizeof m->tpl, r->element[2]);
    field_copy(m->policy, sizeof m->policy, r->element[3]);
    field_copy(m->to, sizeof m->to, r->element[4]);
    field_copy(m->contact, sizeof m->contact, r->element[5]);
    field_copy(m->name, sizeof m->name, r->element[6]);
    field_copy(m->upns, sizeof m->upns, r->element[7]);
    field_copy(m->seqs, sizeof m->seqs, r->element[8]);
    field_copy(m->event, sizeof m->event, r->element[9]);
    field_copy(num[0], sizeof num[0], r->element[10]);
    field_copy(num[1], sizeof num[1], r->element[11]);
    field_copy(num[2], sizeof num[2], r->element[12]);
    field_copy(num[3], sizeof num[3], r->element[13]);
    field_copy(m->merge, sizeof m->merge, r->element[14]);
    freeReplyObject(r);
    m->channel = !strcmp(ch, "sms")     ? CHANNEL_SMS
                 : !strcmp(ch, "email") ? CHANNEL_EMAIL
                                        : CHANNEL_LETTER;
    m->date = (rc_date_t)atol(num[0]);
    m->urgent = atoi(num[1]);
    m->attempts = atoi(num[2]);
    m->started = strtoll(num[3], NULL, 10);
    return err;
}

static const gateway_t *gateway_of(const notify_t *self, channel_t ch)
{
    return ch == CHANNEL_SMS ? &self->sms : &self->email;
}

/* finish records where a message got to: its state, the next look (0:
 * none), and an outcome for the timeline and reports; then publishes it. */
static void finish(notify_t *self, const message_t *m, const char *state, rc_time_t next,
                   delivery_status_t status, const gateway_t *g, const char *gref, long http,
                   const char *error)
{
    rc_time_t now = wall_now();
    notify_outcome_t o = {.channel = m->channel, .status = status, .at = now};
    snprintf(o.source_event_id, sizeof o.source_event_id, "%s", m->event);
    ref_of(m->urn, m->key, o.idempotency_key);
    snprintf(o.upn, sizeof o.upn, "%.13s", m->upns);
    snprintf(o.contact_id, sizeof o.contact_id, "%s", m->contact[0] ? m->contact : "none");
    snprintf(o.template_id, sizeof o.template_id, "%s", m->tpl);
    snprintf(o.gateway, sizeof o.gateway, "%s",
             m->channel == CHANNEL_LETTER ? "post" : gateway_name(g ? g->kind : GATEWAY_NONE));
    snprintf(o.gateway_ref, sizeof o.gateway_ref, "%s", gref ? gref : "");
    o.http_status = http >= 100 && http <= 599 ? (uint16_t)http : 0;
    snprintf(o.error, sizeof o.error, "%s", error ? error : "");

    uint8_t *env = NULL;
    size_t len = 0;
    redisAppendCommand(self->wr, "MULTI");
    redisAppendCommand(self->wr, "HSET rn:msg:{%s}:%s state %s gateway %s ref %s http %ld error %s",
                       m->urn, m->key, state, o.gateway, o.gateway_ref, http, o.error);
    int queued = 1;
    if (next) {
        redisAppendCommand(self->wr, "ZADD rn:due:{%s} %" PRId64 " %s", m->urn, next, m->key);
    } else {
        redisAppendCommand(self->wr, "ZREM rn:due:{%s} %s", m->urn, m->key);
    }
    queued++;
    if (strcmp(state, "pending") != 0 && m->merge[0]) {
        redisAppendCommand(self->wr, "DEL rn:merge:{%s}:%s", m->urn, m->merge);
        queued++;
    }
    if (status != DELIVERY_NONE)
        queued += queue_outcome(self, m->urn, &o, &env, &len);
    redisAppendCommand(self->wr, "EXEC");
    if (exec_replies(self, queued + 2))
        publish_outcome(self, m->urn, env, len);
    else
        redisReconnect(self->wr); /* the message is looked at again when due */
    free(env);
}

/* A message rendered for its channel, with the merge fields GOV.UK Notify
 * gets as personalisation. */
typedef struct {
    const template_t *t;
    template_message_t msg;
    gateway_field_t fields[FIELD__COUNT];
    size_t nfields;
    char buf[FIELD__COUNT][TEMPLATE_VALUE_MAX + 1];
    template_fields_t values;
} rendered_t;

static rc_err_t tpl_render(notify_t *self, const message_t *m, rendered_t *out,
                           char why[GATEWAY_WHY_MAX]);
static void rendered_free(rendered_t *r);

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    flight_t *f = ctx;
    size_t add = size * n;
    if (f->resp_len + add > 1024 * 1024)
        return 0; /* a gateway does not answer with a megabyte */
    char *v = realloc(f->resp, f->resp_len + add + 1);
    if (!v)
        return 0;
    memcpy(v + f->resp_len, data, add);
    f->resp = v;
    f->resp_len += add;
    f->resp[f->resp_len] = '\0';
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    flight_t *f = ctx;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t v = len - 12;
        if (v >= sizeof f->retry_after)
            v = sizeof f->retry_after - 1;
        memcpy(f->retry_after, data + 12, v);
        f->retry_after[v] = '\0';
        char *p = f->retry_after;
        while (*p == ' ')
            memmove(p, p + 1, strlen(p));
    }
    return len;
}

static void flight_clear(notify_t *self, flight_t *f)
{
    if (f->h) {
        curl_multi_remove_handle(self->multi, f->h);
        curl_easy_cleanup(f->h);
        self->nflying--;
    }
    curl_slist_free_all(f->headers);
    gateway_request_free(&f->req);
    free(f->resp);
    free(f->text);
    memset(f, 0, sizeof *f);
}

static flight_t *flight_find(notify_t *self, const char *urn, const char *key)
{
    for (int i = 0; i < self->cfg->max_in_flight; i++)
        if (self->flights[i].h && !strcmp(self->flights[i].urn, urn) &&
            !strcmp(self->flights[i].key, key))
            return &self->flights[i];
    return NULL;
}

/* launch hands a built request to libcurl. */
static rc_err_t launch(notify_t *self, flight_t *f)
{
    char auth[1100];
    if (!(f->h = curl_easy_init()))
        return RC_ENOMEM;
    if (f->req.content_type[0]) {
        char ct[80];
        snprintf(ct, sizeof ct, "Content-Type: %s", f->req.content_type);
        f->headers = curl_slist_append(f->headers, ct);
    }
    if (f->req.authorization[0]) {
        snprintf(auth, sizeof auth, "Authorization: %s", f->req.authorization);
        f->headers = curl_slist_append(f->headers, auth);
        sodium_memzero(auth, sizeof auth);
    }
    f->headers = curl_slist_append(f->headers, "Expect:");
    f->headers = curl_slist_append(f->headers, "User-Agent: rollcall-notify");
    curl_easy_setopt(f->h, CURLOPT_URL, f->req.url);
    curl_easy_setopt(f->h, CURLOPT_HTTPHEADER, f->headers);
    curl_easy_setopt(f->h, CURLOPT_TIMEOUT_MS, (long)self->cfg->request_timeout_ms);
    curl_easy_setopt(f->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(f->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(f->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(f->h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(f->h, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(f->h, CURLOPT_PRIVATE, f);
    if (!strcmp(f->req.method, "POST")) {
        /* A fresh connection for every send: on a reused connection that the
         * server closed after reading the request, libcurl silently sends it
         * again ("connection died, retrying a fresh connect") - a second SMS.
         * A send must go out once; what became of it is our decision. */
        curl_easy_setopt(f->h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(f->h, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(f->h, CURLOPT_POST, 1L);
        curl_easy_setopt(f->h, CURLOPT_POSTFIELDS, f->req.body ? f->req.body : "");
        curl_easy_setopt(f->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->req.len);
    }
    if (curl_multi_add_handle(self->multi, f->h) != CURLM_OK) {
        curl_easy_cleanup(f->h);
        f->h = NULL;
        return RC_EIO;
    }
    self->nflying++;
    return RC_OK;
}

static flight_t *flight_free_slot(notify_t *self)
{
    for (int i = 0; i < self->cfg->max_in_flight; i++)
        if (!self->flights[i].h)
            return &self->flights[i];
    return NULL;
}

/* backoff is the wait before attempt n + 1: doubling from retry_first up to
 * retry_max, with up to a quarter of jitter so that retries spread out. */
static rc_time_t backoff(const notify_t *self, int attempts)
{
    int64_t ms = self->cfg->retry_first_ms;
    for (int i = 1; i < attempts && ms < self->cfg->retry_max_ms; i++)
        ms *= 2;
    if (ms > self->cfg->retry_max_ms)
        ms = self->cfg->retry_max_ms;
    ms += (int64_t)randombytes_uniform((uint32_t)(ms / 4 + 1));
    return (rc_time_t)ms * 1000;
}

/* rate_wait asks the shared limiter for a slot; 0 = go, else microseconds
 * to wait. A Redis failure waits a second. */
static rc_time_t rate_wait(notify_t *self, const gateway_t *g)
{
    double interval = 60e6 / self->cfg->rate_per_minute;
    long burst = self->cfg->rate_per_minute / 60 > 1 ? self->cfg->rate_per_minute / 60 : 1;
    const char *who = g->kind == GATEWAY_NOTIFY   ? g->service_id
                      : g->kind == GATEWAY_TWILIO ? g->account_sid
                                                  : "webhook";
    redisReply *r = redisCommand(self->redis, "FCALL rollcall_rate 1 rn:rate:%s:%s %.0f %ld",
                                 gateway_name(g->kind), who, interval, burst);
    rc_time_t wait = reply_ok(r, REDIS_REPLY_INTEGER) ? (rc_time_t)r->integer : 1000000;
    freeReplyObject(r);
    return wait;
}

/* claim marks m as being sent (durably, before the request leaves), and
 * when to look again should no answer come. */
static rc_err_t claim(notify_t *self, const message_t *m, rc_time_t now)
{
    rc_time_t look = now + self->cfg->request_timeout_ms * 1000 + 5000000;
    redisAppendCommand(self->wr, "MULTI");
    redisAppendCommand(self->wr, "HSET rn:msg:{%s}:%s state sending attempts %d started %" PRId64,
                       m->urn, m->key, m->attempts + 1, now);
    redisAppendCommand(self->wr, "ZADD rn:due:{%s} %" PRId64 " %s", m->urn, look, m->key);
    redisAppendCommand(self->wr, "EXEC");
    if (!exec_replies(self, 4)) {
        redisReconnect(self->wr);
        return RC_EIO;
    }
    return RC_OK;
}

static void defer(notify_t *self, const message_t *m, rc_time_t when)
{
    redisReply *r = redisCommand(self->wr, "ZADD rn:due:{%s} %" PRId64 " %s", m->urn, when, m->key);
    freeReplyObject(r);
}

/* start_send builds and launches m's request (or, for a letter, files it
 * for the school to print). */
static void start_send(notify_t *self, const message_t *m, rc_time_t now, int lookup)
{
    char why[GATEWAY_WHY_MAX] = "";
    rc_time_t wait_until = 0, wait;
    if (m->channel == CHANNEL_LETTER) {
        /* Letters are printed by the school: rendered into its print queue. */
        rendered_t r;
        if (tpl_render(self, m, &r, why) != RC_OK) {
            finish(self, m, "failed", 0, DELIVERY_FAILED_PERMANENT, NULL, NULL, 0, why);
            return;
        }
        redisReply *x =
            redisCommand(self->wr, "HSET rn:msg:{%s}:%s letter %s subject %s", m->urn, m->key,
                         r.msg.text ? r.msg.text : "", r.msg.subject ? r.msg.subject : "");
        freeReplyObject(x);
        /* The school's print queue, by date (reports' letters list). */
        x = redisCommand(self->wr, "ZADD rn:letters:{%s} %d %s", m->urn,
                         (int)date_to_number(m->date), m->key);
        freeReplyObject(x);
        rendered_free(&r);
        finish(self, m, "sent", 0, DELIVERY_SENT, NULL, "print", 0, "");
        return;
    }
    const gateway_t *g = gateway_of(self, m->channel);
    if (g->kind == GATEWAY_NONE) {
        finish(self, m, "failed", 0, DELIVERY_FAILED_PERMANENT, g, NULL, 0,
               m->channel == CHANNEL_SMS ? "no SMS gateway is configured (sms_gateway)"
                                         : "no email gateway is configured (email_gateway)");
        return;
    }
    if (!lookup && m->channel == CHANNEL_SMS && !m->urgent && quiet_now(self, now, &wait_until)) {
        self->stats.quiet_deferred++;
        defer(self, m, wait_until);
        return;
    }
    wait = rate_wait(self, g);
    if (wait > 0) {
        /* Refused: this one waits, and so does the scan, rather than every
         * due message asking in turn (and all coming due together again). */
        self->stats.rate_deferred++;
        self->hold_until = now + wait;
        defer(self, m, now + wait);
        return;
    }
    flight_t *f = flight_free_slot(self);
    if (!f)
        return;
    rendered_t r;
    if (tpl_render(self, m, &r, why) != RC_OK) {
        finish(self, m, "failed", 0, DELIVERY_FAILED_PERMANENT, g, NULL, 0, why);
        return;
    }
    char ref[REF_MAX];
    ref_of(m->urn, m->key, ref);
    gateway_message_t gm = {.channel = m->channel,
                            .to = m->to,
                            .reference = ref,
                            .template_id = m->channel == CHANNEL_SMS ? r.t->notify_sms_id
                                                                     : r.t->notify_email_id,
                            .fields = r.fields,
                            .nfields = r.nfields,
                            .text = r.msg.text,
                            .subject = r.msg.subject,
                            .html = r.msg.html};
    rc_err_t err = lookup ? gateway_lookup_request(g, &gm, now, m->started, &f->req, why)
                          : gateway_send_request(g, &gm, now, &f->req, why);
    if (err == RC_ENOTFOUND && lookup) {
        /* No lookup (a webhook): its receiver deduplicates by reference. */
        err = gateway_send_request(g, &gm, now, &f->req, why);
        lookup = 0;
    }
    if (err != RC_OK) {
        rendered_free(&r);
        gateway_request_free(&f->req);
        finish(self, m, "failed", 0, DELIVERY_FAILED_PERMANENT, g, NULL, 0, why);
        return;
    }
    f->lookup = lookup;
    snprintf(f->urn, sizeof f->urn, "%s", m->urn);
    snprintf(f->key, sizeof f->key, "%s", m->key);
    snprintf(f->to, sizeof f->to, "%s", m->to);
    f->text = r.msg.text ? strdup(r.msg.text) : NULL;
    rendered_free(&r);
    if (!lookup && claim(self, m, now) != RC_OK) {
        gateway_request_free(&f->req);
        free(f->text);
        memset(f, 0, sizeof *f);
        return;
    }
    if (launch(self, f) != RC_OK) {
        log_error("notify.launch_failed", LOG_STR("urn", m->urn));
        flight_clear(self, f);
        return;
    }
    self->stats.attempts += !lookup;
}

/* look_at acts on one due message. */
static void look_at(notify_t *self, const char *urn, const char *key, rc_time_t now)
{
    message_t m;
    rc_err_t err = message_read(self, urn, key, &m);
    if (err == RC_ENOTFOUND) {
        redisReply *r = redisCommand(self->wr, "ZREM rn:due:{%s} %s", urn, key);
        freeReplyObject(r);
        return;
    }
    if (err != RC_OK || flight_find(self, urn, key))
        return;
    if (!strcmp(m.state, "pending")) {
        start_send(self, &m, now, 0);
    } else if (!strcmp(m.state, "sending")) {
        /* Claimed but not in flight here: a crash, a timeout, a dropped
         * connection. It may have reached the gateway: look before resending. */
        self->stats.unknown++;
        log_info("notify.reconcile", LOG_STR("urn", urn), LOG_STR("key", key),
                 LOG_INT("attempts", m.attempts));
        start_send(self, &m, now, 1);
    } else {
        redisReply *r = redisCommand(self->wr, "ZREM rn:due:{%s} %s", urn, key);
        freeReplyObject(r);
    }
}

/* scan_due starts the due messages of the schools, round robin, while
 * there are free slots. */
static void scan_due(notify_t *self, rc_time_t now)
{
    if (now < self->hold_until)
        return; /* the rate limit said wait */
    for (size_t n = 0; n < self->nschools && self->nflying < self->cfg->max_in_flight; n++) {
        size_t i = (self->next_school + n) % self->nschools;
        char urn[RC_URN_LEN + 1];
        snprintf(urn, sizeof urn, "%s", self->schools[i]);
        int free_slots = self->cfg->max_in_flight - self->nflying;
        redisReply *r =
            redisCommand(self->redis, "ZRANGEBYSCORE rn:due:{%s} -inf %" PRId64 " LIMIT 0 %d", urn,
                         now, free_slots);
        if (!reply_ok(r, REDIS_REPLY_ARRAY)) {
            freeReplyObject(r);
            return;
        }
        for (size_t k = 0;
             k < r->elements && self->nflying < self->cfg->max_in_flight && now >= self->hold_until;
             k++) {
            look_at(self, urn, r->element[k]->str, now);
            int running; /* start its connection now, while the next is claimed */
            curl_multi_perform(self->multi, &running);
        }
        freeReplyObject(r);
    }
    if (self->nschools)
        self->next_school = (self->next_school + 1) % self->nschools;
}

/* done reads a finished transfer and records what became of its message. */
static void done(notify_t *self, flight_t *f, CURLcode rc)
{
    long status = 0;
    curl_off_t up = 0;
    curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(f->h, CURLINFO_SIZE_UPLOAD_T, &up);
    if (rc != CURLE_OK)
        status = 0;
    /* Did the whole request leave? Then the gateway may have it. */
    int sent = rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
               rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE ||
               (up > 0 && (size_t)up >= f->req.len);
    message_t m;
    if (message_read(self, f->urn, f->key, &m) != RC_OK) {
        flight_clear(self, f);
        return;
    }
    const gateway_t *g = gateway_of(self, m.channel);
    gateway_result_t res;
    rc_time_t now = wall_now();
    if (f->lookup) {
        gateway_message_t gm = {.channel = m.channel, .to = f->to, .text = f->text};
        char ref[REF_MAX];
        ref_of(m.urn, m.key, ref);
        gm.reference = ref;
        gateway_verdict_t v = status
                                  ? gateway_read_lookup(g, &gm, status, f->resp, f->resp_len, &res)
                                  : GATEWAY_RETRY;
        if (v == GATEWAY_SENT) {
            self->stats.reconciled_found++;
            finish(self, &m, "sent", 0, DELIVERY_SENT, g, res.ref, status, "");
        } else if (v == GATEWAY_PERMANENT) {
            /* Not there: the request never arrived. Send it again. */
            self->stats.reconciled_resent++;
            redisReply *r =
                redisCommand(self->wr, "HSET rn:msg:{%s}:%s state pending", m.urn, m.key);
            freeReplyObject(r);
            defer(self, &m, now);
        } else {
            defer(self, &m, now + backoff(self, m.attempts));
        }
        flight_clear(self, f);
        return;
    }
    gateway_verdict_t v = gateway_read_send(
        g, status, sent, f->retry_after[0] ? f->retry_after : NULL, f->resp, f->resp_len, &res);
    char error[CODEC_ERROR_MAX + 1];
    snprintf(error, sizeof error, "%s", res.error);
    switch (v) {
    case GATEWAY_SENT:
        self->stats.sent++;
        finish(self, &m, "sent", 0, DELIVERY_SENT, g, res.ref, status, "");
        break;
    case GATEWAY_PERMANENT:
        self->stats.failed++;
        finish(self, &m, "failed", 0, DELIVERY_FAILED_PERMANENT, g, NULL, status, error);
        break;
    case GATEWAY_RETRY:
        if (m.attempts >= self->cfg->max_attempts) {
            self->stats.failed++;
            finish(self, &m, "failed", 0, DELIVERY_FAILED_TEMPORARY, g, NULL, status, error);
        } else {
            self->stats.retried++;
            rc_time_t wait = res.retry_after_ms ? (rc_time_t)res.retry_after_ms * 1000
                                                : backoff(self, m.attempts);
            finish(self, &m, "pending", now + wait, DELIVERY_FAILED_TEMPORARY, g, NULL, status,
                   error);
        }
        break;
    case GATEWAY_UNKNOWN:
        /* Stay "sending"; the next look reconciles by reference. */
        self->stats.unknown++;
        defer(self, &m, now + 1000000);
        break;
    }
    flight_clear(self, f);
}

void notify_run(notify_t *self)
{
    int running = 0;
    curl_multi_perform(self->multi, &running);
    CURLMsg *cm;
    int left;
    while ((cm = curl_multi_info_read(self->multi, &left)) != NULL) {
        if (cm->msg != CURLMSG_DONE)
            continue;
        flight_t *f = NULL;
        curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        if (f)
            done(self, f, cm->data.result);
    }
    if (self->nflying < self->cfg->max_in_flight)
        scan_due(self, wall_now());
    curl_multi_perform(self->multi, &running);
}

int notify_poll_items(notify_t *self, zmq_pollitem_t *items, int max, long *timeout_ms)
{
    fd_set r, w, e;
    int maxfd = -1, n = 0;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    curl_multi_fdset(self->multi, &r, &w, &e, &maxfd);
    for (int fd = 0; fd <= maxfd && n < max; fd++) {
        short ev =
            (short)((FD_ISSET(fd, &r) ? ZMQ_POLLIN : 0) | (FD_ISSET(fd, &w) ? ZMQ_POLLOUT : 0));
        if (ev)
            items[n++] = (zmq_pollitem_t){.socket = NULL, .fd = fd, .events = ev};
    }
    long t = -1;
    curl_multi_timeout(self->multi, &t);
    /* Due messages are looked for at least every 200 ms. */
    *timeout_ms = t < 0 || t > 200 ? 200 : t;
    return n;
}

/* ---- receipts ---- */

/* find_by_gateway_id: Twilio receipts name the gateway's id; our reference
 * travels in the callback URL, so this is only a fallback scan of nothing:
 * without a reference the receipt cannot be placed. */
rc_err_t notify_receipt(notify_t *self, const char *ref, const gateway_receipt_t *r)
{
    char urn[RC_URN_LEN + 1], key[KEY_HEX + 1];
    if (!ref || !ref_parse(ref, urn, key) || !notify_owns(self, urn))
        return RC_ENOTFOUND;
    message_t m;
    rc_err_t err = message_read(self, urn, key, &m);
    if (err != RC_OK)
        return err;
    self->stats.receipts++;
    /* Only forward: a receipt never undoes a final state, and a repeated or
     * late "sent" after "delivered" changes nothing. */
    int final = !strcmp(m.state, "delivered") || !strcmp(m.state, "failed");
    if (final || r->status == DELIVERY_SENT || r->status == DELIVERY_NONE)
        return RC_OK;
    const gateway_t *g = gateway_of(self, m.channel);
    flight_t *f = flight_find(self, urn, key);
    if (f) /* the answer to our request is still on its way: it no longer matters */
        flight_clear(self, f);
    const char *state = r->status == DELIVERY_DELIVERED ? "delivered" : "failed";
    finish(self, &m, state, 0, r->status, g, r->id, 0, r->error);
    return RC_OK;
}

/* ---- lifecycle ---- */

static rc_err_t gateway_setup(const notify_config_t *cfg, int which, gateway_t *g)
{
    char why[GATEWAY_WHY_MAX];
    memset(g, 0, sizeof *g);
    switch (which) {
    case NOTIFY_GW_NOTIFY:
        g->kind = GATEWAY_NOTIFY;
        snprintf(g->base_url, sizeof g->base_url, "%s", cfg->notify_url);
        if (gateway_notify_key(g, cfg->notify_api_key, why) != RC_OK) {
            log_error("notify.bad_config", LOG_STR("key", "notify_api_key"), LOG_STR("why", why));
            return RC_EINVAL;
        }
        break;
    case NOTIFY_GW_TWILIO:
        g->kind = GATEWAY_TWILIO;
        snprintf(g->base_url, sizeof g->base_url, "%s", cfg->twilio_url);
        snprintf(g->account_sid, sizeof g->account_sid, "%s", cfg->twilio_account_sid);
        snprintf(g->auth_token, sizeof g->auth_token, "%s", cfg->twilio_auth_token);
        snprintf(g->from, sizeof g->from, "%s", cfg->twilio_from);
        if (!g->account_sid[0] || !g->auth_token[0] || !g->from[0]) {
            log_error("notify.bad_config",
                      LOG_STR("why", "twilio needs twilio_account_sid, twilio_auth_token and "
                                     "twilio_from"));
            return RC_EINVAL;
        }
        if (cfg->public_url[0] && cfg->callback_token[0])
            snprintf(g->status_callback, sizeof g->status_callback,
                     "%.200s/v1/receipts/twilio/%.200s", cfg->public_url, cfg->callback_token);
        break;
    case NOTIFY_GW_WEBHOOK:
        g->kind = GATEWAY_WEBHOOK;
        snprintf(g->base_url, sizeof g->base_url, "%s", cfg->webhook_url);
        snprintf(g->token, sizeof g->token, "%s", cfg->webhook_token);
        if (!g->base_url[0]) {
            log_error("notify.bad_config", LOG_STR("why", "webhook needs webhook_url"));
            return RC_EINVAL;
        }
        break;
    default:
        break;
    }
    return RC_OK;
}

notify_t *notify_new(const notify_config_t *cfg, redisContext *rd, redisContext *wr, void *pub,
                     const template_set_t *templates)
{
    notify_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->redis = rd;
    self->wr = wr;
    self->pub = pub;
    self->templates = templates;
    notify_quiet_parse(cfg->quiet_hours, &self->quiet_from, &self->quiet_to);
    if (cfg->email_gateway == NOTIFY_GW_TWILIO) {
        log_error("notify.bad_config", LOG_STR("key", "email_gateway"),
                  LOG_STR("why", "Twilio sends SMS only: use notify or webhook for email"));
        goto fail;
    }
    if (gateway_setup(cfg, cfg->sms_gateway, &self->sms) != RC_OK ||
        gateway_setup(cfg, cfg->email_gateway, &self->email) != RC_OK)
        goto fail;
    self->flights = calloc((size_t)cfg->max_in_flight, sizeof *self->flights);
    if (!self->flights || !(self->multi = curl_multi_init()))
        goto fail;
    return self;
fail:
    notify_destroy(&self);
    return NULL;
}

void notify_destroy(notify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notify_t *self = *self_p;
    for (int i = 0; self->flights && i < self->cfg->max_in_flight; i++)
        flight_clear(self, &self->flights[i]);
    free(self->flights);
    if (self->multi)
        curl_multi_cleanup(self->multi);
    gateway_wipe(&self->sms);
    gateway_wipe(&self->email);
    free(self->schools);
    free(self);
    *self_p = NULL;
}

rc_err_t notify_install(notify_t *self)
{
    const char *why = NULL;
    if (schoollog_install(self->redis, &why) != RC_OK) {
        log_error("notify.install_failed", LOG_STR("why", why ? why : "?"));
        return RC_EIO;
    }
    redisReply *r =
        redisCommand(self->redis, "FUNCTION LOAD REPLACE %b", library, sizeof library - 1);
    rc_err_t err = reply_ok(r, REDIS_REPLY_ERROR) || !r ? RC_EIO : RC_OK;
    if (err != RC_OK)
        log_error("notify.install_failed",
                  LOG_STR("why", r ? r->str : "Redis failed loading the rate limiter"));
    freeReplyObject(r);
    return err;
}

void notify_stats(const notify_t *self, notify_stats_t *out)
{
    *out = self->stats;
}

/* ---- templates ---- */

static unsigned tpl_channels(const notify_t *self, const char *policy, const char *id)
{
    const template_t *t = template_find(self->templates, policy, id);
    unsigned mask = 0;
    for (channel_t ch = CHANNEL_SMS; t && ch <= CHANNEL_LETTER; ch++)
        if (template_has(t, ch))
            mask |= 1u << ch;
    return mask;
}

/* set_value keeps a field's value in the rendered message's own storage. */
static void set_value(rendered_t *r, template_field_t f, const char *v)
{
    if (!v || !v[0])
        return;
    snprintf(r->buf[f], sizeof r->buf[f], "%.500s", v);
    r->values.value[f] = r->buf[f];
}

/* event_of reads the pupil event of outbox entry seq. */
static int event_of(notify_t *self, const char *urn, const char *seq, wire_msg_t *out)
{
    redisReply *r = redisCommand(self->redis, "XRANGE rs:outbox:{%s} %s-0 %s-0", urn, seq, seq);
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
             r->element[0]->elements == 2 && r->element[0]->element[1]->elements == 2;
    if (ok) {
        const redisReply *v = r->element[0]->element[1]->element[1];
        ok = codec_decode((const uint8_t *)v->str, v->len, out, NULL) == RC_OK &&
             out->kind == WIRE_PUPIL_EVENT;
    }
    freeReplyObject(r);
    return ok;
}

/* pupil_values fills the pupil fields from each pupil of m (names of them
 * all; the rest from the first). */
static void pupil_values(notify_t *self, const message_t *m, rendered_t *r)
{
    char list[sizeof m->upns], names[8][TEMPLATE_VALUE_MAX / 4];
    const char *np[8];
    size_t n = 0;
    snprintf(list, sizeof list, "%s", m->upns);
    for (char *save = NULL, *upn = strtok_r(list, ",", &save); upn && n < 8;
         upn = strtok_r(NULL, ",", &save)) {
        redisReply *x = redisCommand(self->redis,
                                     "HMGET rc:pupil:{%s}:%s forename surname year_group "
                                     "date_of_birth",
                                     m->urn, upn);
        if (x && x->type == REDIS_REPLY_ARRAY && x->elements == 4 &&
            x->element[0]->type == REDIS_REPLY_STRING) {
            snprintf(names[n], sizeof names[n], "%s", x->element[0]->str);
            np[n] = names[n];
            if (n == 0) {
                char full[TEMPLATE_VALUE_MAX], yg[TEMPLATE_YEAR_STRLEN], dob[TEMPLATE_DATE_STRLEN];
                const char *sur =
                    x->element[1]->type == REDIS_REPLY_STRING ? x->element[1]->str : "";
                set_value(r, FIELD_PUPIL_FORENAME, x->element[0]->str);
                set_value(r, FIELD_PUPIL_SURNAME, sur);
                snprintf(full, sizeof full, "%s %s", x->element[0]->str, sur);
                set_value(r, FIELD_PUPIL_FULL_NAME, full);
                if (x->element[2]->type == REDIS_REPLY_STRING)
                    set_value(r, FIELD_YEAR_GROUP,
                              template_format_year_group(atoi(x->element[2]->str), yg));
                rc_date_t d;
                if (x->element[3]->type == REDIS_REPLY_STRING &&
                    date_parse(x->element[3]->str, x->element[3]->len, &d) == RC_OK)
                    set_value(r, FIELD_DATE_OF_BIRTH, template_format_date(d, dob));
            }
            n++;
        }
        freeReplyObject(x);
    }
    char joined[TEMPLATE_VALUE_MAX];
    if (n && template_join_names(np, n, joined, sizeof joined) == RC_OK)
        set_value(r, FIELD_PUPIL_NAMES, joined);
}

/* event_values fills the fields the pupil event and the pupil's state give. */
static void event_values(notify_t *self, const message_t *m, rendered_t *r)
{
    char seq[24], buf[TEMPLATE_DATE_STRLEN];
    snprintf(seq, sizeof seq, "%.*s", (int)strcspn(m->seqs, ","), m->seqs);
    set_value(r, FIELD_DATE, template_format_date(m->date, buf));
    wire_msg_t ev;
    if (event_of(self, m->urn, seq, &ev)) {
        const metrics_t *mt = &ev.u.event.metrics;
        char num[32];
        if (metrics_has_pct(mt))
            set_value(r, FIELD_ATTENDANCE_PCT,
                      template_format_pct(metrics_attendance_pct(mt), num));
        snprintf(num, sizeof num, "%" PRIu32, mt->unauthorised_absences);
        set_value(r, FIELD_UNAUTHORISED_SESSIONS, num);
        uint32_t missed = mt->possible_sessions - mt->attended_sessions;
        snprintf(num, sizeof num, "%" PRIu32 "%s", missed / 2, missed % 2 ? ".5" : "");
        set_value(r, FIELD_DAYS_MISSED, num);
        snprintf(num, sizeof num, "%" PRIu32, mt->late_before_close + mt->late_after_close);
        set_value(r, FIELD_LATE_MARKS, num);
        snprintf(num, sizeof num, "%" PRIu32, mt->late_after_close);
        set_value(r, FIELD_LATE_AFTER_CLOSE, num);
        if (ev.u.event.review_date != RC_DATE_NONE)
            set_value(r, FIELD_REVIEW_DATE, template_format_date(ev.u.event.review_date, buf));
        /* The session a first-day text is about, as rules saw it at the alert. */
        if (ev.u.event.session == SESSION_AM || ev.u.event.session == SESSION_PM)
            set_value(r, FIELD_SESSION, ev.u.event.session == SESSION_AM ? "morning" : "afternoon");
    }
    char first[RC_UPN_LEN + 1];
    snprintf(first, sizeof first, "%.13s", m->upns);
    redisReply *x = redisCommand(self->redis, "HGET rs:pupil:{%s}:%s band", m->urn, first);
    if (x && x->type == REDIS_REPLY_STRING)
        set_value(r, FIELD_BAND, x->str);
    freeReplyObject(x);
    x = redisCommand(self->redis, "HMGET rc:school:{%s} name phone", m->urn);
    if (x && x->type == REDIS_REPLY_ARRAY && x->elements == 2) {
        if (x->element[0]->type == REDIS_REPLY_STRING)
            set_value(r, FIELD_SCHOOL_NAME, x->element[0]->str);
        if (x->element[1]->type == REDIS_REPLY_STRING)
            set_value(r, FIELD_SCHOOL_PHONE, x->element[1]->str);
    }
    freeReplyObject(x);
}

static rc_err_t tpl_render(notify_t *self, const message_t *m, rendered_t *r,
                           char why[GATEWAY_WHY_MAX])
{
    memset(r, 0, sizeof *r);
    r->t = template_find(self->templates, m->policy, m->tpl);
    if (!r->t) {
        snprintf(why, GATEWAY_WHY_MAX, "no template %s for policy %s (templates_dir)", m->tpl,
                 m->policy);
        return RC_ENOTFOUND;
    }
    set_value(r, FIELD_PARENT_NAME, m->name);
    pupil_values(self, m, r);
    event_values(self, m, r);
    char err[TEMPLATE_ERR_MAX];
    rc_err_t e = template_render(r->t, m->channel, &r->values, &r->msg, err);
    if (e != RC_OK) {
        /* err starts with the file's path: name the template instead. */
        const char *what = strstr(err, ".yaml: ");
        snprintf(why, GATEWAY_WHY_MAX, "template %.40s: %.140s", m->tpl, what ? what + 7 : err);
        return e;
    }
    template_field_t used[FIELD__COUNT];
    size_t n = template_fields_used(r->t, m->channel, used);
    for (size_t i = 0; i < n; i++) {
        r->fields[r->nfields].name = template_field_name(used[i]);
        r->fields[r->nfields++].value = r->values.value[used[i]] ? r->values.value[used[i]] : "";
    }
    return RC_OK;
}

static void rendered_free(rendered_t *r)
{
    template_message_free(&r->msg);
}
