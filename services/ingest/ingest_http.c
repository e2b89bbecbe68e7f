/* ingest_http.c - libmicrohttpd glue: bodies gathered up to max_body, 413 /
 * 405 / 415 answered early where possible, everything else to ingest_handle. */
#include "ingest/ingest_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/log.h"

struct ingest_http {
    const ingest_config_t *cfg;
    ingest_t *ing;
    struct MHD_Daemon *d;
};

/* One request's state between libmicrohttpd's calls. */
typedef struct {
    char *body;
    size_t len, cap;
    int too_big; /* stop gathering; answer 413 when the upload ends */
} request_t;

static enum MHD_Result send_json(struct MHD_Connection *c, int status, const char *body,
                                 const char *allow, const char *content_type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type ? content_type : "application/json");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result too_big(ingest_http_t *self, struct MHD_Connection *c)
{
    char msg[200];
    snprintf(msg, sizeof msg,
             "{\"error\":\"the body is larger than %d bytes: send it in parts (rollcall import "
             "does this for you)\"}",
             self->cfg->max_body);
    ingest_count_http(self->ing, 413);
    return send_json(c, 413, msg, NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    ingest_http_t *self = cls;
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
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)self->cfg->max_body)
            return too_big(self, c);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_big)
            return MHD_YES;
        if (req->len + n > (size_t)self->cfg->max_body) {
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
        memcpy(req->body + req->len, upload_data, n);
        req->len += n;
        return MHD_YES;
    }
    if (req->too_big)
        return too_big(self, c);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    ingest_response_t out;
    ingest_handle(self->ing, method, url, ct, req->body ? req->body : "", req->len, &out);
    enum MHD_Result ret;
    if (!out.body)
        ret = send_json(c, 503, "{\"error\":\"the server is out of memory\"}", NULL, NULL);
    else
        ret = send_json(c, out.status, out.body, out.allow, out.content_type);
    free(out.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    ingest_http_t *self = cls;
    request_t *req = *con_cls;
    (void)c;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        ingest_count_http(self->ing, 408);
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

ingest_http_t *ingest_http_new(const ingest_config_t *cfg, ingest_t *ing)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->http_port)};
    if (inet_pton(AF_INET, cfg->http_bind, &addr.sin_addr) != 1) {
        log_error("http.bad_bind", LOG_STR("http_bind", cfg->http_bind),
                  LOG_STR("why", "not an IPv4 address"));
        return NULL;
    }
    ingest_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->ing = ing;
    self->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)cfg->http_port, NULL, NULL, on_request, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(cfg->http_timeout_ms / 1000), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->http_max_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed, self,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
    if (!self->d) {
        log_error("http.listen_failed", LOG_STR("bind", cfg->http_bind),
                  LOG_INT("port", cfg->http_port),
                  LOG_STR("why", "the port may be in use, or the address not local"));
        free(self);
        return NULL;
    }
    return self;
}

void ingest_http_destroy(ingest_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon((*self_p)->d);
    free(*self_p);
    *self_p = NULL;
}

int ingest_http_fd(ingest_http_t *self)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

long ingest_http_timeout_ms(ingest_http_t *self)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(self->d, &ms) != MHD_YES)
        return -1;
    return ms > 60000 ? 60000 : (long)ms;
}

void ingest_http_run(ingest_http_t *self)
{
    MHD_run(self->d);
}
