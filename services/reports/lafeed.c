/* lafeed.c - the LA referral feed: outbox referrals into per-LA logs, and
 * the CURVE sockets that serve them. See lafeed.h and docs/la-feed.md. */
#include "reports/lafeed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "common/service.h"
#include "rollcall/log.h"

#define MAX_READS   4096 /* messages one on_* call takes, so no socket starves the rest */
#define REQUEST_MAX 256  /* bytes of a replay request */

/* The function appends only when the school's position is behind seq and
 * the LA's log does not hold the event id yet (a position lost, or an outbox
 * rebuilt by rules, whose event ids are stable), and takes the next id from
 * the stream's own last entry, so an entry can neither be written twice nor
 * leave a hole. keys: rp:pos:{urn}, rp:ref:{la}, rp:seen:{la}. */
static const char library[] =
    "#!lua name=rollcall_lafeed\n"
    "redis.register_function('rollcall_lafeed_refer', function(keys, args)\n"
    "  local pos = tonumber(redis.call('GET', keys[1]) or '0')\n"
    "  if tonumber(args[1]) <= pos then return 0 end\n"
    "  if redis.call('HEXISTS', keys[3], args[7]) == 1 then\n"
    "    redis.call('SET', keys[1], args[1])\n"
    "    return 0\n"
    "  end\n"
    "  local n = 1\n"
    "  local last = redis.call('XREVRANGE', keys[2], '+', '-', 'COUNT', 1)\n"
    "  if #last > 0 then n = tonumber(string.match(last[1][1], '^(%d+)')) + 1 end\n"
    "  redis.call('XADD', keys[2], string.format('%d-0', n), 'urn', args[2], 'upn', args[3],\n"
    "             'kind', args[4], 'date', args[5], 'reason', args[6], 'event_id', args[7])\n"
    "  redis.call('HSET', keys[3], args[7], n)\n"
    "  redis.call('SET', keys[1], args[1])\n"
    "  return n\n"
    "end)\n";

/* ---- entries as JSON ---- */

static json_t *referral_object(const lafeed_referral_t *r)
{
    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id, "prev",
                     (json_int_t)(r->id ? r->id - 1 : 0), "la", r->la, "urn", r->urn, "upn", r->upn,
                     "kind", r->kind, "date", r->date, "reason", r->reason, "event_id",
                     r->event_id);
}

char *lafeed_referral_json(const lafeed_referral_t *r)
{
    json_t *o = referral_object(r);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* ---- the clients file ---- */

typedef struct {
    uint8_t key[32];
    char la[RC_LA_LEN + 1];
    char label[LAFEED_LABEL_MAX + 1];
} client_t;

struct lafeed_clients {
    client_t *clients;
    size_t n;
};

static int parse_line(const char *p, size_t len, client_t *c, const char **why)
{
    char key[LAFEED_KEY_Z85 + 1];
    size_t i = 0, k;
    for (k = 0; i < len && p[i] != ' ' && p[i] != '\t'; i++, k++)
        if (k < LAFEED_KEY_Z85)
            key[k] = p[i];
    if (k != LAFEED_KEY_Z85) {
        *why = "the key is not 40 characters of Z85";
        return 0;
    }
    key[k] = '\0';
    if (!zmq_z85_decode(c->key, key)) {
        *why = "the key is not Z85";
        return 0;
    }
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t start = i;
    while (i < len && p[i] != ' ' && p[i] != '\t')
        i++;
    if (la_code_check(p + start, i - start, why) != RC_OK)
        return 0;
    memcpy(c->la, p + start, i - start);
    c->la[i - start] = '\0';
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    while (len > i && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (i == len || len - i > LAFEED_LABEL_MAX) {
        *why = "a label of 1 to 64 bytes is needed after the LA code";
        return 0;
    }
    for (size_t j = i; j < len; j++)
        if ((unsigned char)p[j] < 0x20 || p[j] == 0x7f) {
            *why = "the label holds a control character";
            return 0;
        }
    memcpy(c->label, p + i, len - i);
    c->label[len - i] = '\0';
    return 1;
}

rc_err_t lafeed_clients_parse(const char *text, size_t len, lafeed_clients_t **out,
                              char err[LAFEED_ERR_MAX])
{
    lafeed_clients_t *self = calloc(1, sizeof *self);
    size_t cap = 0, line = 0;
    rc_err_t rc = RC_ENOMEM;
    *out = NULL;
    if (!self) {
        snprintf(err, LAFEED_ERR_MAX, "out of memory");
        return RC_ENOMEM;
    }
    for (size_t pos = 0; pos < len;) {
        const char *p = text + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - p) : len - pos;
        pos += l + (nl ? 1 : 0);
        line++;
        if (l && p[l - 1] == '\r')
            l--;
        size_t lead = 0;
        while (lead < l && (p[lead] == ' ' || p[lead] == '\t'))
            lead++;
        if (lead == l || p[lead] == '#')
            continue;
        if (self->n == LAFEED_MAX_CLIENTS) {
            snprintf(err, LAFEED_ERR_MAX, "more than %d clients", LAFEED_MAX_CLIENTS);
            rc = RC_ERANGE;
            goto out;
        }
        if (self->n == cap) {
            client_t *grown = realloc(self->clients, (cap = cap ? cap * 2 : 16) * sizeof *grown);
            if (!grown) {
                snprintf(err, LAFEED_ERR_MAX, "out of memory");
                goto out;
            }
            self->clients = grown;
        }
        client_t *c = &self->clients[self->n];
        const char *why = NULL;
        if (!parse_line(p + lead, l - lead, c, &why)) {
            snprintf(err, LAFEED_ERR_MAX, "line %zu: %s", line, why);
            rc = RC_EPARSE;
            goto out;
        }
        for (size_t i = 0; i < self->n; i++)
            if (memcmp(self->clients[i].key, c->key, sizeof c->key) == 0) {
                snprintf(err, LAFEED_ERR_MAX, "line %zu: this key is already listed", line);
                rc = RC_EPARSE;
                goto out;
            }
        self->n++;
    }
    *out = self;
    return RC_OK;
out:
    lafeed_clients_destroy(&self);
    return rc;
}

rc_err_t lafeed_clients_load(const char *path, lafeed_clients_t **out, char err[LAFEED_ERR_MAX])
{
    char *text;
    size_t len;
    *out = NULL;
    if (!path[0])
        return lafeed_clients_parse("", 0, out, err);
    rc_err_t rc = service_read_file(path, &text, &len, err, LAFEED_ERR_MAX);
    if (rc == RC_OK)
        rc = lafeed_clients_parse(text, len, out, err);
    free(text);
    return rc;
}

void lafeed_clients_destroy(lafeed_clients_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->clients);
    free(*self_p);
    *self_p = NULL;
}

size_t lafeed_clients_count(const lafeed_clients_t *self)
{
    return self ? self->n : 0;
}

const char *lafeed_clients_find(const lafeed_clients_t *self, const uint8_t key[32],
                                const char **label)
{
    if (!self)
        return NULL;
    for (size_t i = 0; i < self->n; i++)
        if (memcmp(self->clients[i].key, key, 32) == 0) {
            if (label)
                *label = self->clients[i].label;
            return self->clients[i].la;
        }
    return NULL;
}

int lafeed_subscription_allowed(const char *la, const uint8_t *prefix, size_t len)
{
    char want[CODEC_TOPIC_MAX];
    int n = snprintf(want, sizeof want, CODEC_TOPIC_REFERRAL "%s.", la);
    return la[0] && n > 0 && len >= (size_t)n && memcmp(prefix, want, (size_t)n) == 0;
}

rc_err_t lafeed_secret_check(const char *value, const char **why)
{
    uint8_t key[32];
    if (!value[0])
        return RC_OK;
    if (strlen(value) != LAFEED_KEY_Z85 || !zmq_z85_decode(key, value)) {
        *why = "expected a CURVE secret key: 40 characters of Z85 (rollcall keygen makes one)";
        return RC_EINVAL;
    }
    sodium_memzero(key, sizeof key);
    return RC_OK;
}

/* ---- the feed ---- */

struct lafeed {
    redisContext *redis; /* borrowed */
    const lafeed_clients_t *clients;
    void *pub; /* borrowed XPUB, or NULL */
    lafeed_stats_t stats;
};

lafeed_t *lafeed_new(redisContext *redis, const lafeed_clients_t *clients)
{
    lafeed_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->redis = redis;
    self->clients = clients;
    return self;
}

void lafeed_destroy(lafeed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void lafeed_set_redis(lafeed_t *self, redisContext *redis)
{
    self->redis = redis;
}

void lafeed_set_pub(lafeed_t *self, void *pub)
{
    self->pub = pub;
}

rc_err_t lafeed_install(lafeed_t *self)
{
    redisReply *r = redisCommand(self->redis, "FUNCTION LOAD REPLACE %s", library);
    rc_err_t rc = RC_OK;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        log_error("lafeed.install_failed",
                  LOG_STR("error", r                        ? r->str
                                   : self->redis->errstr[0] ? self->redis->errstr
                                                            : "?"));
        rc = RC_EIO;
    }
    freeReplyObject(r);
    return rc;
}

rc_err_t lafeed_listen(void *socket, const char *secret_z85, const char *endpoint)
{
    int one = 1;
    const char *domain = LAFEED_ZAP_DOMAIN;
    int type = 0;
    size_t tlen = sizeof type;
    if (zmq_getsockopt(socket, ZMQ_TYPE, &type, &tlen) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, secret_z85, strlen(secret_z85)) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
        (type == ZMQ_XPUB && zmq_setsockopt(socket, ZMQ_XPUB_MANUAL, &one, sizeof one) != 0)) {
        log_error("lafeed.socket_refused", LOG_STR("endpoint", endpoint),
                  LOG_STR("error", zmq_strerror(zmq_errno())));
        return RC_EIO;
    }
    if (zmq_bind(socket, endpoint) != 0) {
        log_error("zmq.bind_failed", LOG_STR("type", type == ZMQ_XPUB ? "XPUB" : "ROUTER"),
                  LOG_STR("endpoint", endpoint), LOG_STR("error", zmq_strerror(zmq_errno())));
        return RC_EIO;
    }
    return RC_OK;
}

rc_err_t lafeed_position(void *ctx, const char *urn, uint64_t *position)
{
    lafeed_t *self = ctx;
    redisReply *r = redisCommand(self->redis, "GET rp:pos:{%s}", urn);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        freeReplyObject(r);
        return RC_EIO;
    }
    *position = r->type == REDIS_REPLY_STRING ? strtoull(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return RC_OK;
}

static void publish(lafeed_t *self, const wire_msg_t *msg, const lafeed_referral_t *ref)
{
    char topic[CODEC_TOPIC_MAX];
    char *body;
    if (!self->pub || codec_topic_referral(msg, topic) != RC_OK)
        return;
    if (!(body = lafeed_referral_json(ref))) {
        log_warn("lafeed.publish_failed", LOG_STR("why", "out of memory"));
        return; /* the entry is in the log: subscribers get it by replay */
    }
    if (zmq_send(self->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(self->pub, body, strlen(body), ZMQ_DONTWAIT) >= 0)
        self->stats.published++;
    free(body);
}

/* refer calls rollcall_lafeed_refer; *n gets the new entry's id, 0 when the
 * log already held it. Loads the function again when Redis lost it. */
static rc_err_t refer(lafeed_t *self, const wire_msg_t *msg, const lafeed_referral_t *ref,
                      long long *n)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *r = redisCommand(
            self->redis,
            "FCALL rollcall_lafeed_refer 3 rp:pos:{%s} rp:ref:{%s} rp:seen:{%s} %" PRIu64
            " %s %s %s %s %s %s",
            msg->urn, ref->la, ref->la, msg->seq, ref->urn, ref->upn, ref->kind, ref->date,
            ref->reason, ref->event_id);
        if (r && r->type == REDIS_REPLY_INTEGER) {
            *n = r->integer;
            freeReplyObject(r);
            return RC_OK;
        }
        int lost = r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "not found");
        log_warn("lafeed.refer_failed", LOG_STR("urn", msg->urn), LOG_INT("seq", (int64_t)msg->seq),
                 LOG_STR("error", r && r->type == REDIS_REPLY_ERROR ? r->str
                                  : self->redis->errstr[0]          ? self->redis->errstr
                                                                    : "unexpected reply"));
        freeReplyObject(r);
        if (!lost || lafeed_install(self) != RC_OK)
            break;
    }
    return RC_EIO;
}

rc_err_t lafeed_apply(void *ctx, const wire_msg_t *msg)
{
    lafeed_t *self = ctx;
    const pupil_event_t *ev = &msg->u.event;
    if (msg->kind != WIRE_PUPIL_EVENT || ev->kind != EVENT_REFERRAL) {
        redisReply *r = redisCommand(self->redis, "SET rp:pos:{%s} %" PRIu64, msg->urn, msg->seq);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        return ok ? RC_OK : RC_EIO;
    }
    lafeed_referral_t ref = {0};
    snprintf(ref.la, sizeof ref.la, "%s", ev->la_code);
    snprintf(ref.urn, sizeof ref.urn, "%s", msg->urn);
    snprintf(ref.upn, sizeof ref.upn, "%s", ev->upn);
    snprintf(ref.kind, sizeof ref.kind, "%s", referral_kind_name(ev->referral));
    date_format(ev->date, ref.date);
    snprintf(ref.reason, sizeof ref.reason, "%s", ev->reason);
    snprintf(ref.event_id, sizeof ref.event_id, "%s", msg->event_id);
    long long n = 0;
    rc_err_t rc = refer(self, msg, &ref, &n);
    if (rc != RC_OK)
        return rc;
    if (n <= 0) {
        self->stats.duplicates++;
        return RC_OK;
    }
    ref.id = (uint64_t)n;
    self->stats.referrals++;
    log_info("lafeed.referral", LOG_STR("la", ref.la), LOG_STR("urn", ref.urn),
             LOG_UPN("upn", ref.upn), LOG_STR("kind", ref.kind), LOG_INT("id", n),
             LOG_ID("event_id", ref.event_id));
    publish(self, msg, &ref);
    return RC_OK;
}

/* ---- ZAP (RFC 27) ---- */

int lafeed_zap_admit(void *ctx, const char *domain, const uint8_t key[32], const char *address,
                     char user_id[64])
{
    lafeed_t *self = ctx;
    const char *la = NULL, *label = NULL, *why = "unknown key";
    if (strcmp(domain, LAFEED_ZAP_DOMAIN) != 0)
        why = "unknown domain";
    else
        la = lafeed_clients_find(self->clients, key, &label);
    /* On the service's ZAP thread: the clients are read only; the counters
     * are atomic. */
    if (la) {
        __atomic_add_fetch(&self->stats.zap_ok, 1, __ATOMIC_RELAXED);
        snprintf(user_id, 64, "%s", la);
        log_info("lafeed.client_in", LOG_STR("la", la), LOG_STR("client", label),
                 LOG_STR("address", address));
        return 1;
    }
    __atomic_add_fetch(&self->stats.zap_refused, 1, __ATOMIC_RELAXED);
    log_warn("lafeed.client_refused", LOG_STR("why", why), LOG_STR("address", address));
    return 0;
}

/* ---- subscriptions ---- */

/* printable copies up to 40 bytes of prefix for a log, anything outside
 * [A-Za-z0-9._-] as '?'. */
static void printable(const uint8_t *p, size_t len, char out[48])
{
    size_t n = len < 40 ? len : 40;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        out[i] = ok ? (char)c : '?';
    }
    out[n] = '\0';
}

void lafeed_on_subscribe(lafeed_t *self, void *xpub)
{
    for (int i = 0; i < MAX_READS; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, xpub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        const uint8_t *d = zmq_msg_data(&m);
        size_t len = zmq_msg_size(&m);
        const char *la = zmq_msg_gets(&m, "User-Id");
        if (len >= 1 && (d[0] == 0 || d[0] == 1)) {
            int sub = d[0] == 1;
            char shown[48];
            if (la && lafeed_subscription_allowed(la, d + 1, len - 1)) {
                zmq_setsockopt(xpub, sub ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, d + 1, len - 1);
                if (sub) {
                    self->stats.subscribed++;
                    printable(d + 1, len - 1, shown);
                    log_info("lafeed.subscribed", LOG_STR("la", la), LOG_STR("prefix", shown));
                }
            } else if (sub) {
                self->stats.sub_refused++;
                printable(d + 1, len - 1, shown);
                log_warn("lafeed.subscription_refused", LOG_STR("la", la ? la : ""),
                         LOG_STR("prefix", shown),
                         LOG_STR("why", "an LA may subscribe to referral.<its code>. only"));
            }
        }
        zmq_msg_close(&m);
    }
}

/* ---- replay ---- */

/* entry_read fills *r from one XRANGE element [id, [field, value...]]. */
static int entry_read(const redisReply *e, const char *la, lafeed_referral_t *r)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    memset(r, 0, sizeof *r);
    r->id = strtoull(e->element[0]->str, NULL, 10);
    snprintf(r->la, sizeof r->la, "%s", la);
    const redisReply *kv = e->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const char *k = kv->element[i]->str, *v = kv->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (strcmp(k, "urn") == 0)
            snprintf(r->urn, sizeof r->urn, "%s", v);
        else if (strcmp(k, "upn") == 0)
            snprintf(r->upn, sizeof r->upn, "%s", v);
        else if (strcmp(k, "kind") == 0)
            snprintf(r->kind, sizeof r->kind, "%s", v);
        else if (strcmp(k, "date") == 0)
            snprintf(r->date, sizeof r->date, "%s", v);
        else if (strcmp(k, "reason") == 0)
            snprintf(r->reason, sizeof r->reason, "%s", v);
        else if (strcmp(k, "event_id") == 0)
            snprintf(r->event_id, sizeof r->event_id, "%s", v);
    }
    return r->id > 0;
}

/* replay_page builds the answer to "after" for la; NULL on a Redis failure. */
static json_t *replay_page(lafeed_t *self, const char *la, uint64_t after)
{
    json_t *out = NULL, *entries = NULL;
    redisReply *range = NULL, *last = NULL;
    redisAppendCommand(self->redis, "XRANGE rp:ref:{%s} %" PRIu64 "-0 + COUNT %d", la, after + 1,
                       LAFEED_PAGE);
    redisAppendCommand(self->redis, "XREVRANGE rp:ref:{%s} + - COUNT 1", la);
    void *a = NULL, *b = NULL;
    if (redisGetReply(self->redis, &a) != REDIS_OK)
        goto out;
    range = a;
    if (redisGetReply(self->redis, &b) != REDIS_OK)
        goto out;
    last = b;
    if (range->type != REDIS_REPLY_ARRAY || last->type != REDIS_REPLY_ARRAY)
        goto out;
    uint64_t last_id = 0;
    if (last->elements == 1 && last->element[0]->type == REDIS_REPLY_ARRAY &&
        last->element[0]->elements == 2 && last->element[0]->element[0]->type == REDIS_REPLY_STRING)
        last_id = strtoull(last->element[0]->element[0]->str, NULL, 10);
    if (!(entries = json_array()))
        goto out;
    for (size_t i = 0; i < range->elements; i++) {
        lafeed_referral_t r;
        if (!entry_read(range->element[i], la, &r))
            continue;
        json_array_append_new(entries, referral_object(&r));
    }
    out = json_pack("{s:s,s:I,s:o}", "la", la, "last", (json_int_t)last_id, "entries", entries);
    entries = NULL;
out:
    json_decref(entries);
    freeReplyObject(range);
    freeReplyObject(last);
    return out;
}

static void replay_one(lafeed_t *self, void *router, zmq_msg_t *id, zmq_msg_t *body)
{
    const char *la = zmq_msg_gets(body, "User-Id");
    json_t *answer = NULL, *req = NULL;
    json_int_t r = 0, after = -1;
    json_error_t jerr;
    size_t len = zmq_msg_size(body);
    if (len <= REQUEST_MAX)
        req = json_loadb(zmq_msg_data(body), len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req || json_unpack(req, "{s:I,s:I}", "req", &r, "after", &after) != 0 || after < 0) {
        answer = json_pack("{s:I,s:s}", "req", r, "error",
                           "expected {\"req\": <number>, \"after\": <log id, 0 for all>}");
        self->stats.replay_errors++;
    } else if (!la || !la[0]) {
        answer = json_pack("{s:I,s:s}", "req", r, "error", "this connection has no LA");
        self->stats.replay_errors++;
    } else if (!(answer = replay_page(self, la, (uint64_t)after))) {
        answer = json_pack("{s:I,s:s}", "req", r, "error", "the log cannot be read now; try again");
        self->stats.replay_errors++;
        log_warn(
            "lafeed.replay_failed", LOG_STR("la", la),
            LOG_STR("error", self->redis->errstr[0] ? self->redis->errstr : "unexpected reply"));
    } else {
        json_object_set_new(answer, "req", json_integer(r));
        self->stats.replays++;
    }
    char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    if (text) {
        zmq_send(router, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(router, text, strlen(text), ZMQ_DONTWAIT);
    }
    free(text);
    json_decref(answer);
    json_decref(req);
}

void lafeed_on_replay(lafeed_t *self, void *router)
{
    for (int i = 0; i < 64; i++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            zmq_msg_close(&body);
            return;
        }
        int ok = zmq_msg_more(&id) && zmq_msg_recv(&body, router, 0) >= 0;
        /* Anything after the body is not ours: drop it. */
        while (ok && zmq_msg_more(&body)) {
            zmq_msg_t rest;
            zmq_msg_init(&rest);
            int more = zmq_msg_recv(&rest, router, 0) >= 0 && zmq_msg_more(&rest);
            zmq_msg_close(&rest);
            if (!more)
                break;
        }
        if (ok)
            replay_one(self, router, &id, &body);
        zmq_msg_close(&id);
        zmq_msg_close(&body);
    }
}

void lafeed_stats(const lafeed_t *self, lafeed_stats_t *out)
{
    *out = self->stats;
}
