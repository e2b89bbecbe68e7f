/* http.c - libmicrohttpd glue: bodies gathered up to max_body, 413 answered
 * early where possible, every whole request to the service's handler. */
#include "common/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/log.h"

struct http_server {
    http_server_config_t cfg;
    struct MHD_Daemon *d;
    char *too_big; /* the 413 body, made once: it depends only on cfg */
    int fd;        /* libmicrohttpd's epoll fd */
    int port;      /* bound, which differs from cfg.port when that is 0 */
};

/* One request's state between libmicrohttpd's calls. */
typedef struct {
    char *body;
    size_t len, cap;
    int too_big; /* stop gathering; answer 413 when the upload ends */
} request_t;

static const char out_of_memory[] = "{\"error\":\"the server is out of memory\"}";

static enum MHD_Result send_response(struct MHD_Connection *c, int status, const char *body,
                                     const http_response_t *out)
{
    const char *allow = out ? out->allow : NULL, *challenge = out ? out->challenge : NULL;
    const char *content_type = out ? out->content_type : NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type ? content_type : "application/json");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    for (int i = 0; out && i < HTTP_MAX_HEADERS; i++)
        if (out->headers[i].name && out->headers[i].value)
            MHD_add_response_header(r, out->headers[i].name, out->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void count(http_server_t *self, int status)
{
    if (self->cfg.count)
        self->cfg.count(self->cfg.ctx, status);
}

static enum MHD_Result too_big(http_server_t *self, struct MHD_Connection *c)
{
    count(self, 413);
    return send_response(c, 413, self->too_big, NULL);
}

/* Gather one piece of the body; past max_body, drop what was kept and
 * swallow the rest, so the client still reads the 413 instead of a reset. */
static enum MHD_Result gather(http_server_t *self, request_t *req, const char *data, size_t n)
{
    if (req->too_big)
        return MHD_YES;
    if (n > self->cfg.max_body - req->len) {
        req->too_big = 1;
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return MHD_YES;
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 65536;
        while (cap < req->len + n + 1)
            cap *= 2;
        char *b = realloc(req->body, cap);
        if (!b)
            return MHD_NO;
        req->body = b;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    http_server_t *self = cls;
    request_t *req = *con_cls;
    (void)version;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        /* Refuse a body announced too large before reading any of it. */
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)self->cfg.max_body)
            return too_big(self, c);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return gather(self, req, upload_data, n);
    }
    if (req->too_big)
        return too_big(self, c);
    http_request_t in = {
        .method = method,
        .url = url,
        .content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .authorization =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .body = req->body ? req->body : "",
        .len = req->len,
        .conn_ = c,
    };
    http_response_t out = {0};
    self->cfg.handler(self->cfg.ctx, &in, &out);
    enum MHD_Result ret;
    if (!out.body)
        ret = send_response(c, 503, out_of_memory, NULL);
    else
        ret = send_response(c, out.status, out.body, &out);
    free(out.body);
    http_response_free_headers(&out);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server_t *self = cls;
    request_t *req = *con_cls;
    (void)c;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        count(self, 408);
        log_info("http.timeout", LOG_STR("why", "a client was idle or too slow"));
    }
    if (req) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http.server", LOG_STR("message", msg));
}

/* The 413 body: {"error":"the body is larger than N bytes[: hint]"}, the hint
 * escaped as a JSON string. Returns NULL when out of memory. */
static char *too_big_body(size_t max_body, const char *hint)
{
    size_t cap = 96 + (hint ? 6 * strlen(hint) : 0);
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t n = (size_t)snprintf(s, cap, "{\"error\":\"the body is larger than %zu bytes%s",
                                max_body, hint ? ": " : "");
    for (const unsigned char *p = (const unsigned char *)(hint ? hint : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            n += (size_t)snprintf(s + n, cap - n, "\\%c", *p);
        else if (*p < 0x20)
            n += (size_t)snprintf(s + n, cap - n, "\\u%04x", *p);
        else
            s[n++] = (char)*p;
    }
    snprintf(s + n, cap - n, "\"}");
    return s;
}

/* Seconds for MHD_OPTION_CONNECTION_TIMEOUT, where 0 means never. */
static unsigned timeout_s(int64_t ms)
{
    if (ms <= 0)
        return 0;
    return ms < 1000 ? 1 : (unsigned)(ms / 1000);
}

http_server_t *http_server_new(const http_server_config_t *cfg)
{
    assert(cfg && cfg->bind && cfg->handler && cfg->max_connections >= 1);
    assert(cfg->port >= 0 && cfg->port <= 65535);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->bind, &addr.sin_addr) != 1) {
        log_error("http.bad_bind", LOG_STR("http_bind", cfg->bind),
                  LOG_STR("why", "not an IPv4 address"));
        return NULL;
    }
    http_server_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->cfg = *cfg;
    if (!(self->too_big = too_big_body(cfg->max_body, cfg->too_big_hint)))
        goto fail;
    /* The logger goes first: libmicrohttpd complains (to stderr) otherwise. */
    self->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)cfg->port, NULL, NULL,
                               on_request, self, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_CONNECTION_TIMEOUT, timeout_s(cfg->timeout_ms),
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, self, MHD_OPTION_END);
    if (!self->d) {
        log_error("http.listen_failed", LOG_STR("bind", cfg->bind), LOG_INT("port", cfg->port),
                  LOG_STR("why", "the port may be in use, or the address not local"));
        goto fail;
    }
    const union MHD_DaemonInfo *fd = MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *port = MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_BIND_PORT);
    if (!fd || !port) {
        log_error("http.listen_failed", LOG_STR("bind", cfg->bind), LOG_INT("port", cfg->port),
                  LOG_STR("why", "libmicrohttpd gave no epoll fd or port (built without epoll?)"));
        goto fail;
    }
    self->fd = fd->epoll_fd;
    self->port = port->port;
    return self;
fail:
    http_server_destroy(&self);
    return NULL;
}

void http_server_destroy(http_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_server_t *self = *self_p;
    /* Connections closed here are not timeouts: count() is not called. */
    if (self->d)
        MHD_stop_daemon(self->d);
    free(self->too_big);
    free(self);
    *self_p = NULL;
}

int http_server_fd(const http_server_t *self)
{
    return self->fd;
}

int http_server_port(const http_server_t *self)
{
    return self->port;
}

long http_server_timeout_ms(http_server_t *self)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(self->d, &ms) != MHD_YES)
        return -1;
    return ms > 60000 ? 60000 : (long)ms;
}

void http_server_run(http_server_t *self)
{
    MHD_run(self->d);
}

const char *http_request_header(const http_request_t *req, const char *name)
{
    if (!req->conn_)
        return NULL;
    return MHD_lookup_connection_value(req->conn_, MHD_HEADER_KIND, name);
}

const char *http_request_arg(const http_request_t *req, const char *name)
{
    if (!req->conn_)
        return NULL;
    return MHD_lookup_connection_value(req->conn_, MHD_GET_ARGUMENT_KIND, name);
}

int http_response_header(http_response_t *out, const char *name, const char *value)
{
    for (int i = 0; i < HTTP_MAX_HEADERS; i++) {
        if (out->headers[i].name)
            continue;
        if (!(out->headers[i].value = strdup(value)))
            return -1;
        out->headers[i].name = name;
        return 0;
    }
    return -1;
}

void http_response_free_headers(http_response_t *out)
{
    for (int i = 0; i < HTTP_MAX_HEADERS; i++) {
        free(out->headers[i].value);
        out->headers[i].value = NULL;
        out->headers[i].name = NULL;
    }
}

typedef struct {
    int (*fn)(void *ctx, const char *name, const char *value);
    void *ctx;
    int ret;
} each_arg_t;

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    each_arg_t *e = cls;
    (void)kind;
    e->ret = e->fn(e->ctx, key, value);
    return e->ret ? MHD_NO : MHD_YES;
}

int http_request_each_arg(const http_request_t *req,
                          int (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
    each_arg_t e = {fn, ctx, 0};
    if (req->conn_)
        MHD_get_connection_values(req->conn_, MHD_GET_ARGUMENT_KIND, on_arg, &e);
    return e.ret;
}
