/* ingest.h - the ingest service's logic: a request (method, path, content
 * type, body) in, a status and a JSON body out. Reference data lives in
 * Redis; marks, ticks, case facts and reference changes are appended to each
 * school's log (common/schoollog.h) and then published. docs/ingest-api.md
 * is the contract. The HTTP server around it is common/http.h. */
#ifndef ROLLCALL_INGEST_H
#define ROLLCALL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "common/http.h"
#include "ingest/ingest_config.h"
#include "rollcall/error.h"

typedef struct ingest ingest_t;

/* ingest_new builds the service's logic over a Redis connection and a bound
 * PUB socket, both borrowed (they must outlive it), and installs the log's
 * Redis functions. Returns NULL after logging why. */
ingest_t *ingest_new(const ingest_config_t *cfg, redisContext *redis, void *pub);

/* ingest_destroy frees *self_p and sets it NULL; NULL-safe. */
void ingest_destroy(ingest_t **self_p);

/* ingest_handle is ingest's http_handler_fn: ctx is the ingest_t. It answers
 * one request from req's method, url, content_type (may be NULL) and whole
 * body (the HTTP layer enforces max_body and answers 413 itself). Every
 * accepted row is durable in Redis before this returns. */
void ingest_handle(void *ctx, const http_request_t *req, http_response_t *out);

/* ingest_count_http records a response the HTTP layer made itself (413,
 * timeouts), for /metrics: http_server_config_t's count, ctx the ingest_t. */
void ingest_count_http(void *ctx, int status);

#endif
