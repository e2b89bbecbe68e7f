/* service.c - start-up, signals, and the Redis and ZeroMQ edges every service shares. */
#include "common/service.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rollcall/ids.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   2000

const char *const service_log_levels[] = {"debug", "info", "warn", "error", NULL};
const char *const service_log_formats[] = {"json", "text", NULL};

/* Set by the signal handler, read by the main loop: the one mutable global. */
static volatile sig_atomic_t stop_requested;

/* The ZAP handler: a REP socket on its own thread. */
typedef struct {
    pthread_t thread;
    int running;          /* the thread was started */
    atomic_int stop;      /* set by service_destroy */
    void *rep;            /* owned by the thread once started */
    uint8_t link_key[32]; /* the links' public key (curve_secret's), when set */
    int have_link_key;
    pthread_mutex_t lock; /* guards fn and ctx */
    service_zap_fn fn;
    void *ctx;
} zap_t;

struct service {
    const service_common_t *cfg;        /* borrowed */
    redisContext *redis;                /* owned */
    void *zmq;                          /* owned ZeroMQ context */
    void *sockets[SERVICE_MAX_SOCKETS]; /* owned, closed in reverse */
    int nsockets;
    zap_t zap;
    char curve_public[SERVICE_CURVE_KEY_Z85 + 1]; /* "" when the links are plain */
};

rc_err_t service_endpoint_check(const char *value, const char **why)
{
    const char *sep = strstr(value, "://");
    if (!sep || sep == value || sep[3] == '\0' || strchr(value, ',') || strchr(value, ' ')) {
        *why = "expected one ZeroMQ endpoint such as tcp://127.0.0.1:5561 or "
               "ipc:///run/rollcall/name";
        return RC_EINVAL;
    }
    return RC_OK;
}

rc_err_t service_endpoints_check(const char *value, const char **why)
{
    char one[SERVICE_ENDPOINT_MAX];

    if (value[0] == '\0') {
        *why = "expected one or more ZeroMQ endpoints, comma-separated";
        return RC_EINVAL;
    }
    while (*value) {
        size_t len = strcspn(value, ",");
        size_t a = 0, b = len;
        while (a < b && value[a] == ' ')
            a++;
        while (b > a && value[b - 1] == ' ')
            b--;
        if (b - a >= sizeof one) {
            *why = "endpoint too long";
            return RC_EINVAL;
        }
        memcpy(one, value + a, b - a);
        one[b - a] = '\0';
        if (service_endpoint_check(one, why) != RC_OK) {
            *why = "expected ZeroMQ endpoints, comma-separated, such as "
                   "tcp://127.0.0.1:5561,tcp://10.0.0.2:5561";
            return RC_EINVAL;
        }
        value += len + (value[len] == ',');
    }
    return RC_OK;
}

rc_err_t service_hash_key_check(const char *value, const char **why)
{
    size_t n = strlen(value);
    if (n == 0)
        return RC_OK;
    if (n != SERVICE_HASH_KEY_HEX || strspn(value, "0123456789abcdefABCDEF") != n) {
        *why = "expected 32 hex digits (e.g. from: openssl rand -hex 16)";
        return RC_EINVAL;
    }
    return RC_OK;
}

rc_err_t service_curve_key_check(const char *value, const char **why)
{
    uint8_t key[32];
    size_t n = strlen(value);
    if (n == 0)
        return RC_OK;
    if (n != SERVICE_CURVE_KEY_Z85 || !zmq_z85_decode(key, value)) {
        *why = "expected a CURVE secret key: 40 characters of Z85, as `rollcall keygen` writes";
        return RC_EINVAL;
    }
    sodium_memzero(key, sizeof key);
    return RC_OK;
}

int service_configure(const service_desc_t *desc, void *cfg, int argc, char **argv,
                      int *exit_status)
{
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char prog[64];

    snprintf(prog, sizeof prog, "rollcall-%s", desc->name);
    if (config_load(desc->table, cfg, argc, argv, &args, err, sizeof err) != RC_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        *exit_status = EXIT_FAILURE;
        return 0;
    }
    *exit_status = EXIT_SUCCESS;
    if (args.help) {
        config_print_help(stdout, desc->table, prog, desc->summary);
        return 0;
    }
    if (args.version) {
        config_print_version(stdout, prog);
        return 0;
    }
    if (args.check_config) {
        config_print(stdout, desc->table, cfg);
        fprintf(stderr, "%s: configuration is valid\n", prog);
        config_wipe_secrets(desc->table, cfg);
        return 0;
    }
    *exit_status = EXIT_FAILURE; /* what the run exits with unless it ends cleanly */
    return 1;
}

rc_err_t service_log_open(const service_desc_t *desc, const void *cfg)
{
    const service_common_t *c = (const service_common_t *)((const char *)cfg + desc->common_offset);
    unsigned char key[LOG_HASH_KEY_BYTES];
    int keyed = c->log_hash_key[0] != '\0';
    rc_err_t rc;

    /* The config check already accepted exactly 32 hex digits. */
    if (keyed && sodium_hex2bin(key, sizeof key, c->log_hash_key, strlen(c->log_hash_key), NULL,
                                NULL, NULL) != 0) {
        fprintf(stderr, "rollcall-%s: log_hash_key: not hex\n", desc->name);
        return RC_EINVAL;
    }
    rc = log_open(desc->name, (log_level_t)c->log_level, (log_format_t)c->log_format, STDERR_FILENO,
                  keyed ? key : NULL);
    sodium_memzero(key, sizeof key);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-%s: cannot start logging: %s\n", desc->name, rc_strerror(rc));
        return rc;
    }
    config_log_effective(desc->table, cfg);
    return RC_OK;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* install_signals makes SIGTERM and SIGINT set the stop flag without
 * SA_RESTART, so a blocking poll returns at once, and ignores SIGPIPE so a
 * peer that hangs up is an error return, not a dead process. */
static rc_err_t install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return RC_EIO;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return RC_EIO;
    return RC_OK;
}

int service_stopping(void)
{
    return stop_requested != 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv;
    if (ms < 1)
        ms = 1;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return tv;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a stop signal cuts it short, which is what we want */
}

static const char *redis_address(const service_common_t *cfg, char *buf, size_t len)
{
    if (cfg->redis_socket[0])
        snprintf(buf, len, "unix:%s", cfg->redis_socket);
    else
        snprintf(buf, len, "%s:%d", cfg->redis_host, cfg->redis_port);
    return buf;
}

/* redis_try makes one connection attempt of at most timeout_ms, then AUTH
 * and PING. Returns the context, or NULL with why filled and *fatal set
 * when retrying cannot help (a refused password, an unexpected reply). */
static redisContext *redis_try(const service_common_t *cfg, int64_t timeout_ms, char *why,
                               size_t len, int *fatal)
{
    struct timeval tv = ms_to_tv(timeout_ms);
    redisContext *c;
    redisReply *r = NULL;

    *fatal = 0;
    c = cfg->redis_socket[0] ? redisConnectUnixWithTimeout(cfg->redis_socket, tv)
                             : redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
    if (!c) {
        snprintf(why, len, "out of memory");
        goto fail;
    }
    if (c->err) {
        snprintf(why, len, "%s", c->errstr);
        goto fail;
    }
    if (redisSetTimeout(c, ms_to_tv(cfg->redis_command_timeout_ms)) != REDIS_OK) {
        snprintf(why, len, "cannot set timeout: %s", c->errstr);
        goto fail;
    }
    if (cfg->redis_password[0]) {
        r = redisCommand(c, "AUTH %s", cfg->redis_password);
        if (!r) {
            snprintf(why, len, "AUTH: %s", c->errstr);
            goto fail;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(why, len, "AUTH refused: %s", r->str);
            *fatal = 1;
            goto fail;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "PING");
    if (!r) {
        snprintf(why, len, "PING: %s", c->errstr);
        goto fail;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* A server still loading its dataset will answer soon; others won't. */
        snprintf(why, len, "PING refused: %s", r->str);
        *fatal = strncmp(r->str, "LOADING", 7) != 0;
        goto fail;
    }
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
        snprintf(why, len, "unexpected reply to PING");
        *fatal = 1;
        goto fail;
    }
    freeReplyObject(r);
    return c;
fail:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

/* redis_connect retries redis_try with doubling backoff until the connect
 * timeout has passed or a stop signal arrives. */
static redisContext *redis_connect(const service_common_t *cfg)
{
    char addr[SERVICE_HOST_MAX + 16], why[256];
    int64_t start = now_ms(), deadline = start + cfg->redis_connect_timeout_ms;
    int64_t backoff = BACKOFF_FIRST_MS;

    redis_address(cfg, addr, sizeof addr);
    for (int attempt = 1;; attempt++) {
        int fatal;
        int64_t left = deadline - now_ms();
        redisContext *c = redis_try(cfg, left, why, sizeof why, &fatal);

        if (c) {
            log_info("redis.connected", LOG_STR("addr", addr), LOG_INT("attempts", attempt));
            return c;
        }
        left = deadline - now_ms();
        if (stop_requested) {
            log_warn("redis.connect_abandoned", LOG_STR("addr", addr),
                     LOG_STR("reason", "stop signal"));
            return NULL;
        }
        if (fatal || left <= 0) {
            char msg[SERVICE_HOST_MAX + 512];
            snprintf(msg, sizeof msg, "cannot connect to Redis at %s (%d attempts in %lld ms): %s",
                     addr, attempt, (long long)(now_ms() - start), why);
            log_error("redis.unreachable", LOG_STR("addr", addr), LOG_STR("error", msg));
            return NULL;
        }
        if (backoff > left)
            backoff = left;
        log_warn("redis.retry", LOG_STR("addr", addr), LOG_STR("error", why),
                 LOG_INT("attempt", attempt), LOG_INT("retry_in_ms", backoff));
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}

service_t *service_new(const service_common_t *cfg)
{
    service_t *self = NULL;

    if (install_signals() != RC_OK) {
        log_error("service.signals_failed", LOG_STR("error", strerror(errno)));
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        log_error("service.out_of_memory");
        goto fail;
    }
    self->cfg = cfg;
    if (!(self->redis = redis_connect(cfg)))
        goto fail;
    if (!(self->zmq = zmq_ctx_new())) {
        log_error("zmq.context_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
        goto fail;
    }
    pthread_mutex_init(&self->zap.lock, NULL);
    if (cfg->curve_secret[0]) { /* checked by service_curve_key_check */
        if (zmq_curve_public(self->curve_public, cfg->curve_secret) != 0 ||
            !zmq_z85_decode(self->zap.link_key, self->curve_public)) {
            log_error("zmq.curve_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
            goto fail;
        }
        self->zap.have_link_key = 1;
        if (service_zap(self, NULL, NULL) != RC_OK)
            goto fail;
    }
    return self;
fail:
    service_destroy(&self);
    return NULL;
}

void service_destroy(service_t **self_p)
{
    service_t *self;

    if (!self_p || !*self_p)
        return;
    self = *self_p;
    if (self->zap.running) {
        atomic_store(&self->zap.stop, 1);
        pthread_join(self->zap.thread, NULL);
    } else if (self->zap.rep) {
        zmq_close(self->zap.rep);
    }
    while (self->nsockets > 0)
        zmq_close(self->sockets[--self->nsockets]);
    if (self->zmq)
        while (zmq_ctx_term(self->zmq) != 0 && zmq_errno() == EINTR)
            ;
    if (self->redis)
        redisFree(self->redis);
    free(self);
    *self_p = NULL;
}

redisContext *service_redis(service_t *self)
{
    return self->redis;
}

rc_err_t service_schools_check(const char *value, const char **why)
{
    const char *p = value;

    while (*p) {
        size_t len = strcspn(p, ",");
        size_t a = 0, b = len;
        while (a < b && p[a] == ' ')
            a++;
        while (b > a && p[b - 1] == ' ')
            b--;
        if (urn_check(p + a, b - a, why) != RC_OK) {
            *why = "expected a comma list of 6-digit URNs, such as 100001,100002 (empty = all)";
            return RC_EINVAL;
        }
        p += len + (p[len] == ',');
    }
    return RC_OK;
}

int service_list_has(const char *list, const char *urn)
{
    if (!list[0])
        return 1;
    size_t n = strlen(urn);
    for (const char *p = list; (p = strstr(p, urn)) != NULL; p += n) {
        int starts = p == list || p[-1] == ',' || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

rc_err_t service_redis_revive(const service_common_t *cfg, redisContext *c)
{
    if (!c->err)
        return RC_OK;
    log_warn("redis.reconnect", LOG_STR("error", c->errstr));
    if (redisReconnect(c) != REDIS_OK) {
        log_error("redis.unavailable", LOG_STR("error", c->errstr));
        return RC_EIO;
    }
    redisSetTimeout(c, ms_to_tv(cfg->redis_command_timeout_ms));
    if (cfg->redis_password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", cfg->redis_password);
        int ok = r && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (!ok) {
            log_error("redis.unavailable", LOG_STR("error", "AUTH refused after reconnecting"));
            return RC_EIO;
        }
    }
    return RC_OK;
}

redisContext *service_redis_open(service_t *self)
{
    return redis_connect(self->cfg);
}

static const char *socket_kind(int type)
{
    switch (type) {
    case ZMQ_PUB:
        return "PUB";
    case ZMQ_SUB:
        return "SUB";
    case ZMQ_PUSH:
        return "PUSH";
    case ZMQ_PULL:
        return "PULL";
    case ZMQ_REQ:
        return "REQ";
    case ZMQ_REP:
        return "REP";
    case ZMQ_ROUTER:
        return "ROUTER";
    case ZMQ_DEALER:
        return "DEALER";
    }
    return "?";
}

/* open_socket creates a socket that drops unsent messages at close (marks
 * are durable in Redis before they are published, so nothing is lost and
 * shutdown never hangs on an absent peer) and hands it to the service. */
static void *open_socket(service_t *self, int type)
{
    void *s;
    int linger = 0;

    assert(self->nsockets < SERVICE_MAX_SOCKETS);
    s = zmq_socket(self->zmq, type);
    if (!s) {
        log_error("zmq.socket_failed", LOG_STR("type", socket_kind(type)),
                  LOG_STR("error", zmq_strerror(zmq_errno())));
        return NULL;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    self->sockets[self->nsockets++] = s;
    return s;
}

void *service_socket(service_t *self, int type)
{
    return open_socket(self, type);
}

/* ---- ZAP (RFC 27) ---- */

static int frame_is(zmq_msg_t *m, const char *text)
{
    return zmq_msg_size(m) == strlen(text) && memcmp(zmq_msg_data(m), text, strlen(text)) == 0;
}

/* zap_decide answers one request f[0..n): version, request id, domain,
 * address, routing id, mechanism, credentials. */
static void zap_decide(zap_t *z, zmq_msg_t *f, int n)
{
    const char *status = "400", *text = "refused";
    char domain[64] = "", address[64] = "", user[64] = "";
    if (n >= 4) {
        snprintf(domain, sizeof domain, "%.*s",
                 (int)(zmq_msg_size(&f[2]) < 63 ? zmq_msg_size(&f[2]) : 63),
                 (const char *)zmq_msg_data(&f[2]));
        snprintf(address, sizeof address, "%.*s",
                 (int)(zmq_msg_size(&f[3]) < 63 ? zmq_msg_size(&f[3]) : 63),
                 (const char *)zmq_msg_data(&f[3]));
    }
    if (n < 7 || !frame_is(&f[0], "1.0")) {
        text = "not a ZAP 1.0 request";
    } else if (!frame_is(&f[5], "CURVE") || zmq_msg_size(&f[6]) != 32) {
        text = "CURVE only";
    } else if (strcmp(domain, SERVICE_ZAP_DOMAIN) == 0) {
        if (z->have_link_key && sodium_memcmp(zmq_msg_data(&f[6]), z->link_key, 32) == 0) {
            status = "200";
            text = "OK";
            snprintf(user, sizeof user, "%s", SERVICE_ZAP_DOMAIN);
            log_info("zmq.link_in", LOG_STR("address", address));
        } else {
            text = "not this deployment's link key";
            log_warn("zmq.link_refused", LOG_STR("why", text), LOG_STR("address", address));
        }
    } else {
        pthread_mutex_lock(&z->lock);
        service_zap_fn fn = z->fn;
        void *ctx = z->ctx;
        pthread_mutex_unlock(&z->lock);
        if (fn && fn(ctx, domain, zmq_msg_data(&f[6]), address, user)) {
            status = "200";
            text = "OK";
        } else {
            text = fn ? "unknown key" : "unknown domain";
        }
    }
    zmq_send(z->rep, "1.0", 3, ZMQ_SNDMORE);
    if (n >= 2)
        zmq_send(z->rep, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        zmq_send(z->rep, "", 0, ZMQ_SNDMORE);
    zmq_send(z->rep, status, 3, ZMQ_SNDMORE);
    zmq_send(z->rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(z->rep, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(z->rep, "", 0, 0);
}

static void *zap_main(void *arg)
{
    zap_t *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = {.socket = z->rep, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t f[8];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, z->rep, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (n < 8)
                f[n++] = m;
            else
                zmq_msg_close(&m);
        }
        if (n)
            zap_decide(z, f, n);
        for (int k = 0; k < n; k++)
            zmq_msg_close(&f[k]);
    }
    zmq_close(z->rep);
    return NULL;
}

rc_err_t service_zap(service_t *self, service_zap_fn fn, void *ctx)
{
    zap_t *z = &self->zap;
    pthread_mutex_lock(&z->lock);
    if (fn) {
        z->fn = fn;
        z->ctx = ctx;
    }
    pthread_mutex_unlock(&z->lock);
    if (z->running)
        return RC_OK;
    int linger = 0;
    if (!(z->rep = zmq_socket(self->zmq, ZMQ_REP)) ||
        zmq_setsockopt(z->rep, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->rep, "inproc://zeromq.zap.01") != 0) {
        log_error("zmq.zap_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
        return RC_EIO;
    }
    /* Bound here, before any CURVE socket binds; the thread owns it from now
     * (pthread_create is the memory barrier ZeroMQ asks for). */
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        log_error("zmq.zap_failed", LOG_STR("error", "cannot start its thread"));
        return RC_EIO;
    }
    z->running = 1;
    return RC_OK;
}

/* link_curve makes s a CURVE server (bind) or client (connect) of the
 * links' key, when the deployment has one. */
static int link_curve(service_t *self, void *s, int server)
{
    const char *sec = self->cfg->curve_secret, *domain = SERVICE_ZAP_DOMAIN;
    int on = 1;
    if (!self->curve_public[0])
        return 0;
    if (server)
        return zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on) ||
               zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, SERVICE_CURVE_KEY_Z85) ||
               zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain));
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, self->curve_public, SERVICE_CURVE_KEY_Z85) ||
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, self->curve_public, SERVICE_CURVE_KEY_Z85) ||
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, SERVICE_CURVE_KEY_Z85);
}

void *service_bind(service_t *self, int type, const char *endpoint)
{
    void *s = open_socket(self, type);

    if (!s)
        return NULL;
    if (link_curve(self, s, 1) != 0) {
        log_error("zmq.curve_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
        return NULL;
    }
    if (zmq_bind(s, endpoint) != 0) {
        log_error("zmq.bind_failed", LOG_STR("type", socket_kind(type)),
                  LOG_STR("endpoint", endpoint), LOG_STR("error", zmq_strerror(zmq_errno())));
        return NULL; /* the service still owns s and closes it */
    }
    return s;
}

void *service_connect(service_t *self, int type, const char *endpoints, const char *prefix)
{
    char one[SERVICE_ENDPOINT_MAX];
    const char *p = endpoints;
    void *s = open_socket(self, type);

    if (!s)
        return NULL;
    if (link_curve(self, s, 0) != 0) {
        log_error("zmq.curve_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
        return NULL;
    }
    if (type == ZMQ_SUB && prefix && zmq_setsockopt(s, ZMQ_SUBSCRIBE, prefix, strlen(prefix))) {
        log_error("zmq.subscribe_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
        return NULL;
    }
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t a = 0, b = len;
        while (a < b && p[a] == ' ')
            a++;
        while (b > a && p[b - 1] == ' ')
            b--;
        snprintf(one, sizeof one, "%.*s", (int)(b - a), p + a);
        if (zmq_connect(s, one) != 0) {
            log_error("zmq.connect_failed", LOG_STR("type", socket_kind(type)),
                      LOG_STR("endpoint", one), LOG_STR("error", zmq_strerror(zmq_errno())));
            return NULL;
        }
        p += len + (p[len] == ',');
    }
    return s;
}

const char *service_endpoint(void *socket, char *buf, size_t len)
{
    size_t n = len;
    if (len == 0)
        return buf;
    if (zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, buf, &n) != 0)
        buf[0] = '\0';
    buf[len - 1] = '\0';
    return buf;
}

int service_poll(service_t *self, zmq_pollitem_t *items, int n)
{
    int rc;

    (void)self; /* kept for the HTTP and timer edges later issues add */
    rc = zmq_poll(items, n, SERVICE_POLL_MS);
    if (rc >= 0)
        return rc;
    if (zmq_errno() == EINTR)
        return 0;
    log_error("zmq.poll_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
    return -1;
}

int service_drain(void *socket)
{
    int dropped = 0;
    zmq_msg_t msg;

    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, socket, ZMQ_DONTWAIT) >= 0)
        dropped++;
    zmq_msg_close(&msg);
    if (dropped)
        log_debug("zmq.unhandled", LOG_INT("parts", dropped));
    return dropped;
}

rc_err_t service_read_file(const char *path, char **text, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    *text = NULL;
    *len = 0;
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return RC_EIO;
    }
    for (;;) {
        if (n + 4096 > cap) {
            char *grown = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (!grown) {
                if (buf)
                    sodium_memzero(buf, n);
                free(buf);
                fclose(f);
                snprintf(err, err_len, "%s: out of memory", path);
                return RC_ENOMEM;
            }
            buf = grown; /* realloc may leave a copy behind: files here are small */
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        sodium_memzero(buf, n);
        free(buf);
        snprintf(err, err_len, "%s: read failed", path);
        return RC_EIO;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return RC_OK;
}
