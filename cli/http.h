/* http.h - the libcurl edge of `rollcall import`: one keep-alive handle that POSTs bodies. */
#ifndef ROLLCALL_CLI_HTTP_H
#define ROLLCALL_CLI_HTTP_H

#include "import.h"

typedef struct http_client http_client_t;

/* http_client_new returns a client posting to base_url + path (a trailing
 * '/' on base_url is dropped), with connect and request timeouts set and
 * "Expect: 100-continue" off, or NULL when out of memory, when base_url is
 * not http:// or https://, or when libcurl cannot make a handle. Call
 * curl_global_init first. */
http_client_t *http_client_new(const char *base_url, const char *path);

/* http_client_destroy frees the client and its handle; NULL-safe, nulls *self_p. */
void http_client_destroy(http_client_t **self_p);

/* http_client_url returns the full URL posted to; owned by the client. */
const char *http_client_url(const http_client_t *c);

/* http_client_post is an import_post_fn: ctx is the client. reply->body
 * stays valid until the next post or destroy. A refused or dropped
 * connection is IMPORT_NET_RETRY, every other transport error
 * IMPORT_NET_FAIL with reply->error saying what; a reply body over 64 MiB
 * is IMPORT_NET_FAIL. */
void http_client_post(void *ctx, const char *content_type, const char *body, size_t len,
                      import_reply_t *reply);

#endif
