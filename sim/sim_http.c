/* sim_http.c - libmicrohttpd glue: bodies gathered up to max_body, faults
 * taken as soon as the method and path are known, the answer (or the
 * silence) sim_handle decides. */
#include "sim_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "rollcall/log.h"

#define SLICE_MS 20 /* a slow answer checks for shutdown this often */

struct sim_http {
    const sim_ctx_t *ctx; /* borrowed */
    struct MHD_Daemon *d;
    atomic_int stopping; /* cuts "slow" waits short */
    int port;
};

/* One request's state between libmicrohttpd's calls. */
typedef struct {
    char *body;
    size_t len, cap;
    int too_big; /* stop gathering; answer 413 when the upload ends */
    int faulted; /* fault holds the fault this request took */
    sim_fault_t fault;
    struct timespec start;
} request_t;

/* The query arguments, gathered from libmicrohttpd (already decoded). */
typedef struct {
    sim_param_t items[64];
    size_t n;
} args_t;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    args_t *a = cls;
    (void)kind;
    if (a->n < sizeof a->items / sizeof a->items[0])
        a->items[a->n++] = (sim_param_t){key, value ? value : ""};
    return MHD_YES;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000);
}

/* route names the endpoint for the log: identifiers in paths (Twilio's
 * AccountSid, message sids, Notify ids) came from the caller, so they are
 * not logged. */
static const char *route(const char *url)
{
    size_t n = strlen(url);
    if (strncmp(url, "/2010-04-01/", 12) == 0) {
        if (n > 14 && strcmp(url + n - 14, "/Messages.json") == 0)
            return "/2010-04-01/Accounts/{AccountSid}/Messages.json";
        if (strstr(url, "/Messages/"))
            return "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json";
        return "/2010-04-01/...";
    }
    if (strncmp(url, "/v2/notifications/", 18) == 0 && strcmp(url + 18, "sms") != 0 &&
        strcmp(url + 18, "email") != 0 && strcmp(url + 18, "letter") != 0)
        return "/v2/notifications/{id}";
    if (strncmp(url, "/v2/", 4) == 0 || strncmp(url, "/_sim/", 6) == 0)
        return url;
    return "(other)";
}

static void log_request(sim_http_t *self, const char *method, const char *url, int status,
                        const char *gateway, const char *what, const request_t *req)
{
    sim_store_count_request(self->ctx->store, gateway, status);
    log_level_t level = strcmp(gateway, "sim") == 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
    LOG_AT(level, "sim.request", LOG_STR("method", method), LOG_STR("route", route(url)),
           LOG_STR("gateway", gateway), LOG_INT("status", status), LOG_STR("answer", what),
           LOG_INT("ms", elapsed_ms(&req->start)));
}

static enum MHD_Result send_response(struct MHD_Connection *c, const sim_response_t *out)
{
    static const char oom[] = "{\"error\":\"the simulator is out of memory\"}";
    const char *body = out->body ? out->body : oom;
    char retry[16];
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            out->content_type ? out->content_type : "application/json");
    if (out->retry_after_s >= 0) {
        snprintf(retry, sizeof retry, "%d", out->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    if (out->www_authenticate)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, out->www_authenticate);
    enum MHD_Result ret = MHD_queue_response(c, out->body ? (unsigned)out->status : 503u, r);
    MHD_destroy_response(r);
    return ret;
}

/* reset makes the close an RST: with SO_LINGER 0 the kernel drops the
 * connection at once instead of a FIN, as a crashed load balancer would. */
static void reset(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (info)
        setsockopt(info->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* local_address writes "ip:port" of the connection's local end, or returns
 * NULL when the socket will not say. */
static const char *local_address(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    char ip[INET_ADDRSTRLEN];
    if (!info || getsockname(info->connect_fd, (struct sockaddr *)&a, &len) != 0 ||
        a.sin_family != AF_INET || !inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip))
        return NULL;
    snprintf(out, cap, "%s:%d", ip, ntohs(a.sin_port));
    return out;
}

static void wait_ms(sim_http_t *self, int ms)
{
    struct timespec ts = {0, SLICE_MS * 1000000L};
    for (int waited = 0; waited < ms && !atomic_load(&self->stopping); waited += SLICE_MS)
        nanosleep(&ts, NULL);
}

static enum MHD_Result first_call(sim_http_t *self, struct MHD_Connection *c, const char *url,
                                  const char *method, request_t *req)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    req->faulted = sim_take_fault(self->ctx, method, url, &req->fault);
    if (req->faulted && req->fault.kind == SIM_FAULT_RESET_BEFORE_RECEIVE) {
        const char *gw = strncmp(url, "/v2/", 4) == 0            ? "notify"
                         : strncmp(url, "/2010-04-01/", 12) == 0 ? "twilio"
                                                                 : "other";
        log_request(self, method, url, 0, gw, "reset before receive", req);
        reset(c);
        return MHD_NO;
    }
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)self->ctx->cfg->max_body)
        req->too_big = 1; /* answered once the upload ends: curl waits for it otherwise */
    return MHD_YES;
}

static int gather(sim_http_t *self, request_t *req, const char *data, size_t n)
{
    if (req->too_big)
        return 1;
    if (req->len + n > (size_t)self->ctx->cfg->max_body) {
        req->too_big = 1;
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return 1;
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 4096;
        while (cap < req->len + n + 1)
            cap *= 2;
        char *b = realloc(req->body, cap);
        if (!b)
            return 0;
        req->body = b;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    sim_http_t *self = cls;
    request_t *req = *con_cls;
    sim_response_t out;
    args_t args = {.n = 0};
    (void)version;

    if (!req) {
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        return first_call(self, c, url, method, req);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return gather(self, req, upload_data, n) ? MHD_YES : MHD_NO;
    }
    if (req->too_big) {
        memset(&out, 0, sizeof out);
        out.retry_after_s = -1;
        sim_reply_json(&out, 413, json_pack("{s:s}", "error", "the request body is too large"));
        log_request(self, method, url, 413, "other", "too large", req);
        enum MHD_Result ret = send_response(c, &out);
        free(out.body);
        return ret;
    }

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    char local[64];
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host) /* an HTTP/1.0 client: name the address it reached */
        host = local_address(c, local, sizeof local);
    sim_request_t in = {
        .method = method,
        .path = url,
        .query = args.items,
        .nquery = args.n,
        .authorization =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .host = host,
        .body = req->body ? req->body : "",
        .body_len = req->len,
        .now_ms = sim_now_ms(),
    };
    sim_handle(self->ctx, &in, req->faulted ? &req->fault : NULL, &out);
    if (out.delay_ms > 0)
        wait_ms(self, out.delay_ms);
    if (out.action == SIM_ACT_DROP) {
        log_request(self, method, url, 0, out.gateway, "dropped after receive", req);
        free(out.body);
        return MHD_NO; /* libmicrohttpd closes the connection, nothing sent */
    }
    log_request(self, method, url, out.body ? out.status : 503, out.gateway,
                req->faulted ? sim_fault_kind_name(req->fault.kind) : "normal", req);
    enum MHD_Result ret = send_response(c, &out);
    free(out.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request_t *req = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (req) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

/* libmicrohttpd also reports the connections we close on purpose. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("http.server", LOG_STR("message", msg));
}

sim_http_t *sim_http_new(const sim_ctx_t *ctx)
{
    const sim_config_t *cfg = ctx->cfg;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->bind, &addr.sin_addr) != 1) {
        log_error("http.bad_bind", LOG_STR("bind", cfg->bind),
                  LOG_STR("why", "not an IPv4 address"));
        return NULL;
    }
    sim_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = ctx;
    atomic_init(&self->stopping, 0);
    self->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)cfg->port, NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, self, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
    if (!self->d) {
        log_error("http.listen_failed", LOG_STR("bind", cfg->bind), LOG_INT("port", cfg->port),
                  LOG_STR("why", "the port may be in use, or the address not local"));
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    return self;
}

int sim_http_port(sim_http_t *self)
{
    return self->port;
}

void sim_http_destroy(sim_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    atomic_store(&(*self_p)->stopping, 1);
    MHD_stop_daemon((*self_p)->d);
    free(*self_p);
    *self_p = NULL;
}
