/* dashboard.c - serves the dashboard's embedded files (dashboard.h). */
#include "reports/dashboard.h"

#include <stdlib.h>
#include <string.h>

#define PREFIX "/dashboard/"

/* Every answer forbids loading anything from another origin (the pages use
 * none), framing, and sniffing; the token never leaves in a Referer. */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src 'self' data: blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

static const dashboard_asset_t *asset(const char *name)
{
    for (size_t i = 0; i < dashboard_asset_count; i++)
        if (strcmp(dashboard_asset[i].name, name) == 0)
            return &dashboard_asset[i];
    return NULL;
}

/* id_ok says whether id is a single path segment of 1..max characters from
 * set (digits only when set is NULL). */
static int id_ok(const char *id, size_t max, const char *set)
{
    size_t n = strlen(id);
    if (n == 0 || n > max)
        return 0;
    for (const char *p = id; *p; p++) {
        int digit = *p >= '0' && *p <= '9';
        if (!digit && (!set || !strchr(set, *p)))
            return 0;
    }
    return 1;
}

/* page_ok says whether rest ("school/100201") names a page. The id is
 * checked only for shape: the API says whether it exists. */
static int page_ok(const char *rest)
{
    static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.";
    if (strncmp(rest, "school/", 7) == 0)
        return strlen(rest + 7) == 6 && id_ok(rest + 7, 6, NULL);
    if (strncmp(rest, "trust/", 6) == 0)
        return id_ok(rest + 6, 32, letters);
    if (strncmp(rest, "la/", 3) == 0)
        return strlen(rest + 3) == 3 && id_ok(rest + 3, 3, NULL);
    return 0;
}

static char *copy(const dashboard_asset_t *a)
{
    char *b = malloc(a->len + 1);
    if (b)
        memcpy(b, a->data, a->len + 1);
    return b;
}

int dashboard_handle(const http_request_t *req, http_response_t *out)
{
    if (strncmp(req->url, PREFIX, sizeof PREFIX - 1) != 0)
        return 0;
    const char *rest = req->url + sizeof PREFIX - 1, *type = NULL;
    const dashboard_asset_t *a = NULL;
    if (strcmp(rest, "dashboard.js") == 0) {
        a = asset("dashboard.js");
        type = "text/javascript; charset=utf-8";
    } else if (strcmp(rest, "dashboard.css") == 0) {
        a = asset("dashboard.css");
        type = "text/css; charset=utf-8";
    } else if (page_ok(rest)) {
        a = asset("index.html");
        type = "text/html; charset=utf-8";
    }
    if (!a)
        return 0;
    if (strcmp(req->method, "GET") != 0) {
        out->status = 405;
        out->allow = "GET";
        out->body = strdup("{\"error\":\"only GET is served here\"}");
        return 1;
    }
    out->status = 200;
    out->content_type = type;
    out->body = copy(a);
    /* Small files, and a new build may change them: always revalidate. */
    http_response_header(out, "Cache-Control", "no-cache");
    http_response_header(out, "Content-Security-Policy", CSP);
    http_response_header(out, "X-Content-Type-Options", "nosniff");
    http_response_header(out, "Referrer-Policy", "no-referrer");
    return 1;
}
