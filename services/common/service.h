/* service.h - what the four mains share: common keys, lifecycle, the Redis and ZeroMQ edges.
 *
 * A main reads as a straight line:
 *
 *   if (!service_configure(&ingest_service, &cfg, argc, argv, &status))  args, config
 *       return status;
 *   if (service_log_open(&ingest_service, &cfg) != RC_OK)                 logging
 *       goto out;
 *   if (!(svc = service_new(&cfg.common)))                                signals, Redis
 *       goto out;
 *   if (!(pub = service_bind(svc, ZMQ_PUB, cfg.pub_endpoint)))            ZeroMQ
 *       goto out;
 *   log_info("service.ready", ...);
 *   while (!service_stopping())                                           until SIGTERM/SIGINT
 *       if (service_poll(svc, items, n) < 0) goto out;
 *   status = EXIT_SUCCESS;
 * out:
 *   service_destroy(&svc);                                                in reverse
 *   log_info("service.stopped", ...);
 *
 * The only process-wide state here is the stop flag set by the signal
 * handler; everything else hangs off service_t.
 */
#ifndef ROLLCALL_SERVICE_H
#define ROLLCALL_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "rollcall/config.h"
#include "rollcall/error.h"
#include "rollcall/log.h"

#define SERVICE_HOST_MAX      256
#define SERVICE_SOCKET_MAX    108 /* sun_path */
#define SERVICE_SECRET_MAX    512
#define SERVICE_ENDPOINT_MAX  512 /* one endpoint, or a comma list for SUB sockets */
#define SERVICE_HASH_KEY_HEX  (2 * LOG_HASH_KEY_BYTES)
#define SERVICE_CURVE_KEY_Z85 40         /* a CURVE key as Z85 text */
#define SERVICE_ZAP_DOMAIN    "rollcall" /* the ZAP domain of the links between services */
#define SERVICE_POLL_MS       100 /* longest a main loop waits before it sees the stop flag */
#define SERVICE_MAX_SOCKETS   8

/* The keys every service has; each service's config struct holds one as
 * its member `common` and puts SERVICE_COMMON_CONFIG first in its table. */
typedef struct {
    char redis_host[SERVICE_HOST_MAX];
    int redis_port;
    char redis_socket[SERVICE_SOCKET_MAX];        /* unix socket; when set, host and port unused */
    char redis_password[SERVICE_SECRET_MAX];      /* secret; AUTH is sent when not empty */
    int64_t redis_connect_timeout_ms;             /* keep retrying the first connection this long */
    int64_t redis_command_timeout_ms;             /* socket timeout for each Redis command */
    int log_level;                                /* log_level_t */
    int log_format;                               /* log_format_t */
    char log_hash_key[SERVICE_HASH_KEY_HEX + 1];  /* secret; hex key for UPN hashes, "" = random */
    char curve_secret[SERVICE_CURVE_KEY_Z85 + 1]; /* secret; the links' CURVE key, "" = plain */
} service_common_t;

/* Enum names for log_level and log_format, in log_level_t / log_format_t order. */
extern const char *const service_log_levels[];
extern const char *const service_log_formats[];

/* service_endpoint_check accepts one ZeroMQ endpoint ("tcp://127.0.0.1:5561",
 * "ipc:///run/rollcall/x"); service_endpoints_check a comma list of them.
 * Both config_check_fn. */
rc_err_t service_endpoint_check(const char *value, const char **why);
rc_err_t service_endpoints_check(const char *value, const char **why);

/* service_hash_key_check accepts "" or SERVICE_HASH_KEY_HEX hex digits. */
rc_err_t service_hash_key_check(const char *value, const char **why);

/* service_curve_key_check accepts "" or a CURVE secret key in Z85 (40
 * characters, as `rollcall keygen` writes it). */
rc_err_t service_curve_key_check(const char *value, const char **why);

#define SERVICE_COMMON_CONFIG(st)                                                                  \
    CONFIG_STRING("redis_host", st, common.redis_host, "127.0.0.1", "ROLLCALL_REDIS_HOST", NULL,   \
                  "Redis server host name or IP address"),                                         \
        CONFIG_INT("redis_port", st, common.redis_port, 1, 65535, "6379", "ROLLCALL_REDIS_PORT",   \
                   "Redis server TCP port"),                                                       \
        CONFIG_PATH("redis_socket", st, common.redis_socket, "", "ROLLCALL_REDIS_SOCKET",          \
                    "Redis unix socket; when set, redis_host and redis_port are not used"),        \
        CONFIG_SECRET("redis_password", st, common.redis_password, "ROLLCALL_REDIS_PASSWORD",      \
                      NULL, "password sent with AUTH; empty sends none"),                          \
        CONFIG_DURATION("redis_connect_timeout", st, common.redis_connect_timeout_ms, 100,         \
                        3600000, "10s", "ROLLCALL_REDIS_CONNECT_TIMEOUT",                          \
                        "keep retrying the first Redis connection (with backoff) this long"),      \
        CONFIG_DURATION("redis_command_timeout", st, common.redis_command_timeout_ms, 100, 600000, \
                        "5s", "ROLLCALL_REDIS_COMMAND_TIMEOUT",                                    \
                        "give up on a Redis command after this long"),                             \
        CONFIG_ENUM("log_level", st, common.log_level, service_log_levels, "info",                 \
                    "ROLLCALL_LOG_LEVEL", "lowest level of log line written"),                     \
        CONFIG_ENUM("log_format", st, common.log_format, service_log_formats, "json",              \
                    "ROLLCALL_LOG_FORMAT", "json lines for machines, text for a terminal"),        \
        CONFIG_SECRET("log_hash_key", st, common.log_hash_key, "ROLLCALL_LOG_HASH_KEY",            \
                      service_hash_key_check,                                                      \
                      "32 hex digits keying UPN hashes in logs; share it between services "        \
                      "to correlate them; empty = random per process"),                            \
        CONFIG_SECRET("curve_secret", st, common.curve_secret, "ROLLCALL_CURVE_SECRET",            \
                      service_curve_key_check,                                                     \
                      "CURVE secret key (Z85, `rollcall keygen`) shared by every service: the "    \
                      "ZeroMQ links between them are encrypted and admit only it; empty = plain, " \
                      "for loopback")

/* What a service is, for the shared start-up code. */
typedef struct {
    const char *name;            /* "ingest": the log's svc; the binary is rollcall-<name> */
    const char *summary;         /* one line for --help */
    const config_entry_t *table; /* the service's keys, SERVICE_COMMON_CONFIG first */
    size_t common_offset;        /* offsetof(service config struct, common) */
} service_desc_t;

typedef struct service service_t;

/* service_configure reads argv and the configuration into cfg (a struct
 * laid out for desc->table) and answers --help, --version and
 * --check-config itself. Returns 1 when the service should go on to run
 * (*exit_status is then EXIT_FAILURE, for a run that fails), else 0 with
 * *exit_status EXIT_SUCCESS after an answer, or EXIT_FAILURE after
 * printing "rollcall-<name>: <error>" to stderr. */
int service_configure(const service_desc_t *desc, void *cfg, int argc, char **argv,
                      int *exit_status);

/* service_log_open points logging at stderr with the configured level,
 * format and hash key, then logs config.effective. Returns RC_OK, or an
 * error after printing why to stderr. */
rc_err_t service_log_open(const service_desc_t *desc, const void *cfg);

/* service_new installs the SIGTERM/SIGINT handlers (and ignores SIGPIPE),
 * connects to Redis - retrying with doubling backoff until
 * redis_connect_timeout, then AUTH when configured and PING - and creates
 * the ZeroMQ context. cfg is borrowed and must outlive the service. Returns
 * NULL after logging redis.unreachable (naming host:port or the socket) or
 * another error, or when a stop signal arrived while connecting. */
service_t *service_new(const service_common_t *cfg);

/* service_destroy closes the service's sockets in reverse order of
 * creation, terminates the ZeroMQ context and closes Redis. NULL-safe;
 * sets *self_p to NULL. */
void service_destroy(service_t **self_p);

/* service_redis returns the service's Redis connection (owned by it). */
redisContext *service_redis(service_t *self);

/* service_schools_check accepts "" or a comma list of 6-digit URNs (spaces
 * around commas allowed); a config_check_fn for `schools` keys. */
rc_err_t service_schools_check(const char *value, const char **why);

/* service_list_has is true when list, a comma list of URNs (spaces around
 * commas allowed; "" = every school), names urn. */
int service_list_has(const char *list, const char *urn);

/* service_redis_revive reconnects c in place when it has failed (c->err
 * set: Redis restarted, the link broke), restoring the command timeout and
 * AUTH from cfg, so whoever holds the pointer keeps it. RC_OK when c is
 * usable; RC_EIO after logging redis.unavailable. */
rc_err_t service_redis_revive(const service_common_t *cfg, redisContext *c);

/* service_redis_open opens another connection to the same Redis, as
 * service_new does (retries, AUTH, PING), owned by the caller (redisFree).
 * NULL after logging why. */
redisContext *service_redis_open(service_t *self);

/* service_bind opens a socket of type (ZMQ_PUB...) bound to endpoint.
 * The socket belongs to the service (closed by service_destroy). Returns
 * NULL after logging zmq.bind_failed. */
void *service_bind(service_t *self, int type, const char *endpoint);

/* service_read_file reads the whole file at path into *text (NUL-ended,
 * free it; a caller holding secrets wipes its *len bytes first) and *len.
 * RC_EIO or RC_ENOMEM with err ("<path>: <why>") set. */
rc_err_t service_read_file(const char *path, char **text, size_t *len, char *err, size_t err_len);

/* A ZAP decision for a domain other than the links' (see service_zap):
 * fill user_id (NUL-ended, up to 63 bytes) and return 1 to admit a client
 * presenting CURVE public key key[32] in domain, 0 to refuse. Called on the
 * service's ZAP thread: it must only read what does not change. */
typedef int (*service_zap_fn)(void *ctx, const char *domain, const uint8_t key[32],
                              const char *address, char user_id[64]);

/* service_zap makes sure a ZAP handler (RFC 27) serves the service's ZeroMQ
 * context, on a thread of its own, and hands it fn for domains other than
 * SERVICE_ZAP_DOMAIN. Call it before binding any CURVE socket: libzmq 4.3.4
 * admits every client while no handler is bound. With curve_secret set,
 * service_new has started one already (for the links); fn is then added. */
rc_err_t service_zap(service_t *self, service_zap_fn fn, void *ctx);

/* service_socket opens a socket of type, neither bound nor connected, for
 * a caller that must set options first (CURVE keys apply to the listeners
 * zmq_bind creates). Owned by the service. Returns NULL after logging
 * zmq.socket_failed. */
void *service_socket(service_t *self, int type);

/* service_connect opens a socket of type connected to each endpoint of a
 * comma list, subscribed to prefix when type is ZMQ_SUB ("" for all,
 * NULL for none). Owned by the service. Returns NULL after logging
 * zmq.connect_failed. */
void *service_connect(service_t *self, int type, const char *endpoints, const char *prefix);

/* service_endpoint writes the address socket last bound or connected to
 * (with the real port when bound to "*") into buf and returns buf; "" when
 * it cannot be read. */
const char *service_endpoint(void *socket, char *buf, size_t len);

/* service_poll waits up to SERVICE_POLL_MS for items (n may be 0).
 * Returns the number of ready items, 0 on timeout or a signal, -1 after
 * logging zmq.poll_failed. */
int service_poll(service_t *self, zmq_pollitem_t *items, int n);

/* service_drain receives and drops every message waiting on socket,
 * logging their count at debug. A placeholder for sockets whose handler
 * is not written yet; returns the number of message parts dropped. */
int service_drain(void *socket);

/* service_stopping is true once SIGTERM or SIGINT has arrived. */
int service_stopping(void);

#endif
