/* http.c - POST a body with libcurl easy, reusing one handle (and so its connection). */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/config.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_TIMEOUT_MS         300000L /* a chunk is stored and fsynced well within this */
#define HTTP_MAX_REPLY          (64u << 20)

struct http_client {
    CURL *curl;
    char *url;
    struct curl_slist *csv, *json; /* request headers per content type */
    import_buf_t reply;
    int overflow; /* the reply passed HTTP_MAX_REPLY */
    char errbuf[CURL_ERROR_SIZE];
};

/* take_reply collects the reply body, refusing one that grows past the cap. */
static size_t take_reply(char *p, size_t size, size_t n, void *ctx)
{
    http_client_t *c = ctx;
    size_t len = size * n;

    if (len > HTTP_MAX_REPLY - c->reply.len) {
        c->overflow = 1;
        return 0;
    }
    if (len > c->reply.cap - c->reply.len) {
        size_t cap = c->reply.cap ? c->reply.cap : 4096;
        while (cap - c->reply.len < len)
            cap *= 2;
        char *q = realloc(c->reply.p, cap);
        if (!q)
            return 0;
        c->reply.p = q;
        c->reply.cap = cap;
    }
    memcpy(c->reply.p + c->reply.len, p, len);
    c->reply.len += len;
    return len;
}

/* headers_for builds the fixed request headers for one content type. */
static struct curl_slist *headers_for(const char *content_type)
{
    char line[64];
    struct curl_slist *h = NULL, *t;

    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    if (!(t = curl_slist_append(h, line)))
        return NULL;
    h = t;
    /* No "Expect: 100-continue" round trip before each large body. */
    if (!(t = curl_slist_append(h, "Expect:"))) {
        curl_slist_free_all(h);
        return NULL;
    }
    return t;
}

http_client_t *http_client_new(const char *base_url, const char *path)
{
    http_client_t *c = NULL;
    char agent[64];
    size_t blen;

    if (!base_url || !path ||
        (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0))
        return NULL;
    if (!(c = calloc(1, sizeof *c)))
        return NULL;
    blen = strlen(base_url);
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    if (!(c->url = malloc(blen + strlen(path) + 1)))
        goto fail;
    memcpy(c->url, base_url, blen);
    strcpy(c->url + blen, path);
    if (!(c->csv = headers_for(import_content_type(IMPORT_CSV))) ||
        !(c->json = headers_for(import_content_type(IMPORT_JSON))) || !(c->curl = curl_easy_init()))
        goto fail;

    snprintf(agent, sizeof agent, "rollcall/%s", config_version());
    if (curl_easy_setopt(c->curl, CURLOPT_URL, c->url) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_USERAGENT, agent) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, take_reply) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_POST, 1L) != CURLE_OK)
        goto fail;
    return c;
fail:
    http_client_destroy(&c);
    return NULL;
}

void http_client_destroy(http_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_client_t *c = *self_p;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->csv);
    curl_slist_free_all(c->json);
    import_buf_free(&c->reply);
    free(c->url);
    free(c);
    *self_p = NULL;
}

const char *http_client_url(const http_client_t *c)
{
    return c->url;
}

/* retryable is true for failures where ingest never saw (or never answered)
 * the request, so sending it again can only help. */
static int retryable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
           rc == CURLE_RECV_ERROR;
}

void http_client_post(void *ctx, const char *content_type, const char *body, size_t len,
                      import_reply_t *reply)
{
    http_client_t *c = ctx;
    int json = strcmp(content_type, import_content_type(IMPORT_JSON)) == 0;
    CURLcode rc;

    memset(reply, 0, sizeof *reply);
    c->reply.len = 0;
    c->overflow = 0;
    c->errbuf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, json ? c->json : c->csv);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);

    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
        reply->net = retryable(rc) ? IMPORT_NET_RETRY : IMPORT_NET_FAIL;
        if (c->overflow)
            snprintf(reply->error, sizeof reply->error, "the reply is larger than %u bytes",
                     HTTP_MAX_REPLY);
        else
            snprintf(reply->error, sizeof reply->error, "%s",
                     c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        return;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &reply->status);
    reply->net = IMPORT_NET_OK;
    reply->body = c->reply.p;
    reply->len = c->reply.len;
}
