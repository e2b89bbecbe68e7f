/* http.h - a service's HTTP listener: libmicrohttpd in external epoll mode, so
 * the service's one thread polls it beside its ZeroMQ sockets and every
 * request runs on that thread (PUB sockets and Redis connections are never
 * shared between threads).
 *
 * The glue gathers each request body up to max_body and hands the whole
 * request to one handler, which fills in a status and a body:
 *
 *   http = http_server_new(&(http_server_config_t){.bind = "127.0.0.1", .port = 8081,
 *           .timeout_ms = 30000, .max_connections = 64, .max_body = 1 << 20,
 *           .handler = svc_handle, .count = svc_count_http, .ctx = svc});
 *   zmq_pollitem_t items[] = {{.fd = http_server_fd(http), .events = ZMQ_POLLIN}, ...};
 *   while (!service_stopping()) {
 *       long wait = http_server_timeout_ms(http);    cap it at the loop's own period
 *       zmq_poll(items, n, wait);
 *       http_server_run(http);
 *   }
 *   http_server_destroy(&http);
 *
 * The glue answers some requests itself, never calling the handler:
 *   - 413 (JSON error naming max_body, then too_big_hint) when Content-Length
 *     says the body is larger than max_body, before any of it is read, or when
 *     a body without a length (chunked) grows past max_body; the rest of such
 *     a body is read and thrown away;
 *   - 503 (JSON error) when the handler leaves the body NULL (out of memory).
 * A connection idle or sending too slowly for timeout_ms is closed without a
 * response; if it had sent a whole request line and headers, that counts as a
 * 408. count, when set, is told of every 413 and 408 the glue makes, so a
 * service's request metrics can include them. Nothing else is counted: the
 * handler counts its own answers.
 *
 * Not thread-safe: call every http_server_* function, and so every handler,
 * from one thread.
 */
#ifndef ROLLCALL_HTTP_H
#define ROLLCALL_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server_t;

/* One whole request, borrowed by the handler for the length of its call. */
typedef struct {
    const char *method;        /* "GET", "POST"... as sent */
    const char *url;           /* the path, without the query string, %-decoded */
    const char *content_type;  /* the Content-Type header, NULL if absent */
    const char *authorization; /* the Authorization header, NULL if absent */
    const char *body;          /* body[0..len), with body[len] == '\0'; never NULL ("" if none) */
    size_t len;                /* bytes of body, at most max_body */
    void *conn_;               /* the glue's; NULL in a request built by hand */
} http_request_t;

#define HTTP_MAX_HEADERS 4 /* more response headers a handler may add */

/* What the handler answers. The glue zeroes it before the call. */
typedef struct {
    int status;               /* HTTP status, 100..599 */
    char *body;               /* malloc'd, freed by the glue; NULL means out of memory: 503 */
    const char *content_type; /* a literal, or NULL for application/json */
    const char *allow;        /* for 405: a literal naming the methods allowed; else NULL */
    const char *challenge;    /* for 401: a literal WWW-Authenticate value ("Bearer"); else NULL */
    struct {
        const char *name;        /* a literal ("X-Total-Count"); NULL: the slot is free */
        char *value;             /* malloc'd, freed by the glue (http_response_free_headers) */
    } headers[HTTP_MAX_HEADERS]; /* set with http_response_header */
} http_response_t;

/* http_response_header adds the header name (a literal, borrowed) with a
 * copy of value to out. Returns 0, or -1 when every slot is taken or out of
 * memory (the header is then not sent). */
int http_response_header(http_response_t *out, const char *name, const char *value);

/* http_response_free_headers frees the values http_response_header copied
 * and clears the slots; the glue calls it after sending. Only a caller that
 * runs a handler by hand (a test) needs it. */
void http_response_free_headers(http_response_t *out);

/* http_handler_fn answers req into out (see http_response_t). It runs on the
 * thread calling http_server_run, and must not call http_server_* itself. */
typedef void (*http_handler_fn)(void *ctx, const http_request_t *req, http_response_t *out);

typedef struct {
    const char *bind;         /* IPv4 address to listen on ("0.0.0.0": every interface) */
    int port;                 /* TCP port; 0 for any free one (see http_server_port) */
    int64_t timeout_ms;       /* close a connection idle this long, in whole seconds
                                 (rounded down, at least 1); 0 for never */
    int max_connections;      /* connections served at once, at least 1; more are not
                                 served until some close */
    size_t max_body;          /* bytes; a larger request body gets 413 */
    const char *too_big_hint; /* plain text appended to the 413 message ("send it in
                                 parts..."), or NULL */
    http_handler_fn handler;  /* required */
    void (*count)(void *ctx, int status); /* optional: each 413 and 408 the glue makes */
    void *ctx;                            /* passed to handler and count */
} http_server_config_t;

/* http_server_new starts listening as cfg says. cfg is copied but the strings
 * it points to and ctx are borrowed: they must outlive the server. Returns
 * NULL after logging why (http.bad_bind, http.listen_failed: the port in use
 * or the address not local) or when out of memory. */
http_server_t *http_server_new(const http_server_config_t *cfg);

/* http_server_destroy stops listening, closes every connection (without
 * calling count), frees *self_p and sets it NULL; NULL-safe. */
void http_server_destroy(http_server_t **self_p);

/* http_server_fd is the one file descriptor to poll for readability (an
 * epoll fd, owned by the server). */
int http_server_fd(const http_server_t *self);

/* http_server_port is the TCP port actually bound, which is cfg->port unless
 * that was 0. */
int http_server_port(const http_server_t *self);

/* http_server_timeout_ms is how long the caller may wait before calling
 * http_server_run even if the fd is quiet: 0 when work is already pending
 * (waiting longer then stalls every upload), at most 60000, or -1 when no
 * connection has a deadline. */
long http_server_timeout_ms(http_server_t *self);

/* http_server_run does whatever work is ready without blocking: accepts,
 * reads, runs the handler for each whole request, writes, times out. */
void http_server_run(http_server_t *self);

/* http_request_header is the request's header name (any case), NULL if it was
 * not sent or req was built by hand. Valid during the handler's call. */
const char *http_request_header(const http_request_t *req, const char *name);

/* http_request_each_arg calls fn for each query-string argument of req in
 * the order sent (value NULL for "?name" alone) until fn returns non-zero,
 * and returns that value, or 0. Does nothing for a req built by hand. */
int http_request_each_arg(const http_request_t *req,
                          int (*fn)(void *ctx, const char *name, const char *value), void *ctx);

/* http_request_arg is the %-decoded value of the query-string argument name,
 * NULL if it was not sent, was sent without a value ("?name" alone) or req
 * was built by hand. Valid during the handler's call. */
const char *http_request_arg(const http_request_t *req, const char *name);

#endif
