/* test_http.c - common/http.h on a real loopback port: a server on port 0 run
 * by a thread of the test (the module is single-threaded; the thread is its
 * one thread), driven by libcurl and by raw sockets for what curl will not
 * do (announce a body and never send it, stall part way). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"
#include "testsupport.h"

#define MAX_BODY 1024

static http_server_t *srv;
static pthread_t runner;
static atomic_int stop, handled, count413, count408, count_other;

/* ---- the server side ---- */

/* Echo what the handler saw, except on a few paths that try the glue's
 * other answers. */
static void handle(void *ctx, const http_request_t *req, http_response_t *out)
{
    (void)ctx;
    atomic_fetch_add(&handled, 1);
    if (strcmp(req->url, "/only-get") == 0 && strcmp(req->method, "GET") != 0) {
        out->status = 405;
        out->allow = "GET, HEAD";
        out->body = strdup("{\"error\":\"GET only\"}");
        return;
    }
    if (strcmp(req->url, "/oom") == 0) {
        out->status = 200; /* and no body, as if json_dumps had failed */
        return;
    }
    if (strcmp(req->url, "/text") == 0) {
        out->status = 200;
        out->content_type = "text/plain; charset=utf-8";
        out->body = strdup("hello\n");
        return;
    }
    json_t *j =
        json_pack("{s:s, s:s, s:s%, s:i, s:b, s:s?, s:s?, s:s?, s:s?, s:s?}", "method", req->method,
                  "url", req->url, "body", req->body, req->len, "len", (json_int_t)req->len,
                  "terminated", req->body[req->len] == '\0', "authorization", req->authorization,
                  "content_type", req->content_type, "x_test", http_request_header(req, "x-TEST"),
                  "q", http_request_arg(req, "q"), "flag", http_request_arg(req, "flag"));
    out->status = 200;
    out->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
}

static void count(void *ctx, int status)
{
    (void)ctx;
    if (status == 413)
        atomic_fetch_add(&count413, 1);
    else if (status == 408)
        atomic_fetch_add(&count408, 1);
    else
        atomic_fetch_add(&count_other, 1);
}

/* The service's poll loop, as a main would run it. */
static void *run(void *arg)
{
    http_server_t *s = arg;
    struct pollfd p = {.fd = http_server_fd(s), .events = POLLIN};
    while (!atomic_load(&stop)) {
        long wait = http_server_timeout_ms(s);
        if (wait < 0 || wait > 20)
            wait = 20;
        poll(&p, 1, (int)wait);
        http_server_run(s);
    }
    return NULL;
}

static http_server_config_t config(int port)
{
    return (http_server_config_t){
        .bind = "127.0.0.1",
        .port = port,
        .timeout_ms = 1000,
        .max_connections = 8,
        .max_body = MAX_BODY,
        .too_big_hint = "try \"smaller\"",
        .handler = handle,
        .count = count,
    };
}

static void setup(void)
{
    http_server_config_t cfg = config(0);
    srv = http_server_new(&cfg);
    cr_assert_not_null(srv);
    cr_assert_eq(pthread_create(&runner, NULL, run, srv), 0);
}

static void teardown(void)
{
    atomic_store(&stop, 1);
    pthread_join(runner, NULL);
    http_server_destroy(&srv);
    cr_assert_null(srv);
    http_server_destroy(&srv); /* harmless twice */
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);

/* ---- the client side ---- */

/* request sends method path with headers (NULL-terminated list) and body
 * (NULL: none), or a chunked body of chunked bytes when chunked > 0. */
static ts_http_resp_t request(const char *method, const char *path, const char *const *headers,
                              const char *body, size_t chunked)
{
    ts_http_req_t req = {.headers = headers,
                         .body = body,
                         .len = body ? strlen(body) : 0,
                         .chunked = chunked,
                         .timeout_ms = 10000};
    return ts_http_request(http_server_port(srv), method, path, &req);
}

static const char *str(const ts_http_resp_t *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

/* A raw connection to the server, reads timing out after 5 s. */
static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *s)
{
    cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* read_all reads until the server hangs up (or 5 s pass) into buf. */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t k;
    while (n + 1 < cap && (k = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    return n;
}

static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 200 && atomic_load(v) < want; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}

/* ---- tests ---- */

Test(http, handler_sees_the_whole_request)
{
    static const char *const hdrs[] = {"Authorization: Bearer t0k", "X-Test: yes",
                                       "Content-Type: application/json", NULL};
    ts_http_resp_t r = request("POST", "/a/b%20c?q=x%20y&flag", hdrs, "{\"n\":1}", 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_not_null(r.json, "%s", r.body);
    cr_assert_str_eq(str(&r, "method"), "POST");
    cr_assert_str_eq(str(&r, "url"), "/a/b c", "the path, decoded, without the query");
    cr_assert_str_eq(str(&r, "body"), "{\"n\":1}");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "len")), 7);
    cr_assert(json_is_true(json_object_get(r.json, "terminated")));
    cr_assert_str_eq(str(&r, "authorization"), "Bearer t0k");
    cr_assert_str_eq(str(&r, "content_type"), "application/json");
    cr_assert_str_eq(str(&r, "x_test"), "yes", "header names match in any case");
    cr_assert_str_eq(str(&r, "q"), "x y");
    cr_assert(json_is_null(json_object_get(r.json, "flag")), "an argument without a value: %s",
              r.body);
    cr_assert(strstr(r.headers, "Content-Type: application/json"), "%s", r.headers);
    ts_http_resp_free(&r);

    r = request("GET", "/plain", NULL, NULL, 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(str(&r, "method"), "GET");
    cr_assert_str_eq(str(&r, "body"), "", "no body is \"\", never NULL");
    cr_assert(json_is_null(json_object_get(r.json, "authorization")));
    cr_assert(json_is_null(json_object_get(r.json, "content_type")));
    cr_assert(json_is_null(json_object_get(r.json, "x_test")));
    cr_assert(json_is_null(json_object_get(r.json, "q")));
    ts_http_resp_free(&r);
    cr_assert_eq(atomic_load(&count413) + atomic_load(&count408) + atomic_load(&count_other), 0,
                 "answers the handler made are not counted by the glue");
}

Test(http, a_body_gathered_from_chunks)
{
    ts_http_resp_t r = request("POST", "/chunks", NULL, NULL, MAX_BODY); /* exactly the cap */
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "len")), MAX_BODY);
    cr_assert_eq(strspn(str(&r, "body"), "y"), MAX_BODY);
    ts_http_resp_free(&r);
}

Test(http, content_type_allow_and_out_of_memory)
{
    ts_http_resp_t r = request("GET", "/text", NULL, NULL, 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello\n");
    cr_assert(strstr(r.headers, "Content-Type: text/plain; charset=utf-8"), "%s", r.headers);
    ts_http_resp_free(&r);

    r = request("DELETE", "/only-get", NULL, NULL, 0);
    cr_assert_eq(r.status, 405);
    cr_assert(strstr(r.headers, "Allow: GET, HEAD\r\n"), "%s", r.headers);
    ts_http_resp_free(&r);
    r = request("GET", "/only-get", NULL, NULL, 0);
    cr_assert_eq(r.status, 200);
    cr_assert_null(strstr(r.headers, "Allow:"), "%s", r.headers);
    ts_http_resp_free(&r);

    r = request("GET", "/oom", NULL, NULL, 0);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(str(&r, "error"), "the server is out of memory");
    ts_http_resp_free(&r);
}

Test(http, too_large_by_content_length_refused_before_the_body)
{
    int fd = dial();
    /* The body is announced and never sent: the answer cannot wait for it. */
    send_all(fd, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    char buf[2048];
    read_all(fd, buf, sizeof buf);
    close(fd);
    cr_assert(strncmp(buf, "HTTP/1.1 413", 12) == 0, "%s", buf);
    const char *body = strstr(buf, "\r\n\r\n");
    cr_assert_not_null(body, "%s", buf);
    json_t *j = json_loads(body + 4, 0, NULL);
    cr_assert_not_null(j, "%s", body + 4);
    cr_assert_str_eq(json_string_value(json_object_get(j, "error")),
                     "the body is larger than 1024 bytes: try \"smaller\"");
    json_decref(j);
    cr_assert_eq(atomic_load(&count413), 1);
    cr_assert_eq(atomic_load(&handled), 0, "the handler never sees it");

    /* One byte over, as curl sends it: also 413. */
    char big[MAX_BODY + 2];
    memset(big, 'z', MAX_BODY + 1);
    big[MAX_BODY + 1] = '\0';
    ts_http_resp_t r = request("POST", "/up", NULL, big, 0);
    cr_assert_eq(r.status, 413, "%s", r.body);
    cr_assert(strstr(str(&r, "error"), "1024"), "%s", r.body);
    ts_http_resp_free(&r);
    cr_assert_eq(atomic_load(&count413), 2);
    cr_assert_eq(atomic_load(&handled), 0);
}

Test(http, too_large_chunked_body_refused_after_it)
{
    ts_http_resp_t r = request("POST", "/up", NULL, NULL, 4 * MAX_BODY);
    cr_assert_eq(r.status, 413, "%s", r.body);
    cr_assert(strstr(str(&r, "error"), "larger than 1024 bytes"), "%s", r.body);
    ts_http_resp_free(&r);
    cr_assert_eq(atomic_load(&count413), 1);
    cr_assert_eq(atomic_load(&handled), 0);
    /* The server goes on serving. */
    r = request("GET", "/after", NULL, NULL, 0);
    cr_assert_eq(r.status, 200);
    ts_http_resp_free(&r);
}

Test(http, stalled_client_dropped_and_counted_408)
{
    int fd = dial();
    /* Headers whole, so the request has begun; then 10 of 100 bytes. */
    send_all(fd, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[256];
    size_t n = read_all(fd, buf, sizeof buf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    cr_assert_eq(n, 0, "closed without a response, got: %s", buf);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(secs >= 0.9 && secs < 4.5, "dropped after the 1 s timeout, not %.2f s", secs);
    wait_for(&count408, 1);
    cr_assert_eq(atomic_load(&count408), 1);
    cr_assert_eq(atomic_load(&handled), 0);
    ts_http_resp_t r = request("GET", "/healthz", NULL, NULL, 0);
    cr_assert_eq(r.status, 200, "still serving others");
    ts_http_resp_free(&r);
}

Test(http, port_is_the_one_bound)
{
    int port = http_server_port(srv);
    cr_assert(port > 0 && port <= 65535);
    int fd = dial(); /* connects to exactly that port */
    close(fd);
    http_server_config_t cfg = config(port);
    http_server_t *again = http_server_new(&cfg);
    cr_assert_null(again, "the port is taken: listen fails, logged");
    cfg = config(0);
    cfg.bind = "localhost";
    cr_assert_null(http_server_new(&cfg), "bind must be an IPv4 address");
}

Test(http, a_request_built_by_hand_has_no_headers_or_args)
{
    http_request_t req = {.method = "GET", .url = "/", .body = ""};
    cr_assert_null(http_request_header(&req, "Host"));
    cr_assert_null(http_request_arg(&req, "q"));
}
