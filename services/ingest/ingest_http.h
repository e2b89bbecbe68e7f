/* ingest_http.h - the HTTP edge of ingest: libmicrohttpd in external epoll
 * mode, so the service's one thread polls it beside its ZeroMQ sockets and
 * every request runs on that thread (the PUB socket and the Redis
 * connection are never shared between threads). */
#ifndef ROLLCALL_INGEST_HTTP_H
#define ROLLCALL_INGEST_HTTP_H

#include "ingest/ingest.h"

typedef struct ingest_http ingest_http_t;

/* ingest_http_new listens on cfg->http_bind:http_port and answers with ing
 * (borrowed; must outlive it). Returns NULL after logging why. */
ingest_http_t *ingest_http_new(const ingest_config_t *cfg, ingest_t *ing);

/* ingest_http_destroy stops listening, closes every connection, frees
 * *self_p and sets it NULL; NULL-safe. */
void ingest_http_destroy(ingest_http_t **self_p);

/* ingest_http_fd is the one file descriptor to poll for readability. */
int ingest_http_fd(ingest_http_t *self);

/* ingest_http_timeout_ms is how long the caller may wait before calling
 * ingest_http_run even if the fd is quiet (-1: no limit). */
long ingest_http_timeout_ms(ingest_http_t *self);

/* ingest_http_run does whatever work is ready without blocking. */
void ingest_http_run(ingest_http_t *self);

#endif
