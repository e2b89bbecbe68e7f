/* testsupport.c - redis-server, child processes, HTTP and the gateway
 * simulator for integration tests. */
#include "testsupport.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ts_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int ts_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t spawn_redirected(char *const argv[], const char *log, int truncate)
{
    if (truncate) { /* here, not in the child: the caller reads the log at once */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            close(fd);
    }
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Dies with the test's worker, even when a failed .init skips .fini. */
        pid_t parent = getppid();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int pings(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static void redis_exec(ts_redis_t *r)
{
    char port[16], log[96];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    char *argv[] = {"/usr/bin/redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    port,
                    "--dir",
                    r->dir,
                    "--appendonly",
                    r->aof ? "yes" : "no",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    NULL};
    r->pid = spawn_redirected(argv, log, 0);
    for (int i = 0; i < 200; i++) {
        if (pings(r->port))
            return;
        ts_sleep_ms(25);
    }
    cr_assert_fail("redis-server did not answer on port %d (log %s)", r->port, log);
}

void ts_redis_start(ts_redis_t *r, int aof)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/rollcall-test-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
    r->port = ts_free_port();
    r->aof = aof;
    redis_exec(r);
}

void ts_redis_restart(ts_redis_t *r)
{
    redis_exec(r);
}

void ts_redis_kill9(ts_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

void ts_redis_stop(ts_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", r->dir);
        r->dir[0] = '\0';
    }
}

redisContext *ts_redis_connect(const ts_redis_t *r)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    cr_assert(c && !c->err, "connect to redis on %d", r->port);
    redisSetTimeout(c, tv);
    return c;
}

void ts_proc_spawn(ts_proc_t *p, const char *dir, const char *name, char *const argv[])
{
    snprintf(p->log, sizeof p->log, "%s/%s.log", dir, name);
    p->pid = spawn_redirected(argv, p->log, 1); /* a restart must not find the old lines */
}

int ts_proc_wait_log(const ts_proc_t *p, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        FILE *f = fopen(p->log, "r");
        if (f) {
            char line[8192];
            while (fgets(line, sizeof line, f))
                if (strstr(line, needle)) {
                    fclose(f);
                    return 1;
                }
            fclose(f);
        }
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
            return 0;
        ts_sleep_ms(20);
    }
    return 0;
}

int ts_proc_stop(ts_proc_t *p, int sig, int timeout_ms)
{
    int status;
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        ts_sleep_ms(10);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
    return -1;
}

const char *ts_binary(const char *rel)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", ROLLCALL_BINARY_DIR, rel);
    return path;
}

void ts_start_ingest(ts_proc_t *p, const ts_redis_t *r, int http_port, int pub_port, ...)
{
    char rport[16], hport[16], pub[64];
    snprintf(rport, sizeof rport, "%d", r->port);
    snprintf(hport, sizeof hport, "%d", http_port);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", pub_port);
    char *argv[16] = {(char *)ts_binary("services/rollcall-ingest"),
                      "--redis-port",
                      rport,
                      "--http-port",
                      hport,
                      "--pub-endpoint",
                      pub,
                      "--clock",
                      "replay"};
    int n = 9;
    va_list ap;
    va_start(ap, pub_port);
    for (char *a; n < 13 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    ts_proc_spawn(p, r->dir, "ingest", argv);
    cr_assert(ts_proc_wait_log(p, "\"service.ready\"", 10000), "ingest did not start: %s", p->log);
}

void ts_start_rules(ts_proc_t *p, const ts_redis_t *r, const char *name, int ingest_pub,
                    int pub_port, ...)
{
    char rport[16], sub[64], pub[64];
    snprintf(rport, sizeof rport, "%d", r->port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", ingest_pub);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", pub_port);
    char *argv[24] = {(char *)ts_binary("services/rollcall-rules"),
                      "--redis-port",
                      rport,
                      "--ingest-endpoints",
                      sub,
                      "--pub-endpoint",
                      pub,
                      "--policies-dir",
                      ROLLCALL_SOURCE_DIR "/policies",
                      "--clock",
                      "replay"};
    int n = 11;
    va_list ap;
    va_start(ap, pub_port);
    for (char *a; n < 22 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    ts_proc_spawn(p, r->dir, name, argv);
    cr_assert(ts_proc_wait_log(p, "\"service.ready\"", 10000), "%s did not start: %s", name,
              p->log);
}

int ts_csv_field(const char *path, const char *prefix, int nth, int col, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, prefix, strlen(prefix)) != 0 || --nth > 0)
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        const char *p = line;
        for (int c = 1; c < col && p; c++)
            if ((p = strchr(p, ',')) != NULL)
                p++;
        if (p) {
            snprintf(out, cap, "%.*s", (int)strcspn(p, ","), p);
            found = 1;
        }
        break;
    }
    fclose(f);
    return found;
}

void ts_e164(const char *uk, char out[20])
{
    char digits[32];
    size_t n = 0;
    for (const char *p = uk; *p && n < sizeof digits - 1; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    digits[n] = '\0';
    /* "07700..." drops its 0; "+44 7700..." its 44 */
    snprintf(out, 20, "+44%.15s", digits[0] == '0' ? digits + 1 : digits + 2);
}

void ts_demo_mobile(const char *demo_dir, const char *upn, const char *suffix, char out[20])
{
    char path[256], prefix[64], raw[64];
    snprintf(path, sizeof path, "%s/contacts.csv", demo_dir);
    snprintf(prefix, sizeof prefix, "%s,%s%s,", upn, upn, suffix);
    cr_assert(ts_csv_field(path, prefix, 1, 6, raw, sizeof raw) && raw[0], "no contact %s%s in %s",
              upn, suffix, path);
    ts_e164(raw, out);
}

/* ---- HTTP ---- */

static size_t append(char **buf, size_t *len, const char *p, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);
    cr_assert_not_null(b);
    memcpy(b + *len, p, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    ts_http_resp_t *r = ctx;
    return append(&r->body, &r->len, p, size * n);
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    ts_http_resp_t *r = ctx;
    return append(&r->headers, &r->hlen, p, size * n);
}

/* on_read hands curl filler bytes 100 at a time, so a chunked upload comes
 * in many chunks. */
static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
    size_t *left = ctx;
    size_t k = size * n < 100 ? size * n : 100;
    if (k > *left)
        k = *left;
    memset(p, 'y', k);
    *left -= k;
    return k;
}

ts_http_resp_t ts_http_request(int port, const char *method, const char *path,
                               const ts_http_req_t *req)
{
    static const ts_http_req_t none = {0};
    ts_http_resp_t r = {0};
    char url[512], ct[128];
    if (!req)
        req = &none;
    size_t left = req->chunked;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (req->content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type);
        h = curl_slist_append(h, ct);
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        h = curl_slist_append(h, req->headers[i]);
    if (req->chunked) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &left);
    } else if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    if (req->timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (r.body)
        r.json = json_loads(r.body, 0, NULL);
    return r;
}

void ts_http_resp_free(ts_http_resp_t *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

void ts_http_post(int port, const char *path, const char *content_type, const char *body,
                  size_t len)
{
    ts_http_req_t req = {.content_type = content_type, .body = body, .len = len};
    ts_http_resp_t r = ts_http_request(port, "POST", path, &req);
    cr_assert_eq(r.status, 200, "POST %s: %ld %s", path, r.status, r.body ? r.body : "");
    ts_http_resp_free(&r);
}

void ts_http_post_file(int port, const char *path, const char *content_type, const char *file)
{
    size_t len;
    char *body = ts_slurp(file, &len);
    ts_http_post(port, path, content_type, body, len);
    free(body);
}

ts_http_resp_t ts_http_request_bearer(int port, const char *method, const char *path,
                                      const char *token, const ts_http_req_t *req)
{
    static const ts_http_req_t none = {0};
    const char *h[17];
    char auth[256];
    size_t n = 0;
    if (!req)
        req = &none;
    for (; req->headers && req->headers[n]; n++) {
        cr_assert_lt(n, 15, "too many headers for ts_http_request_bearer");
        h[n] = req->headers[n];
    }
    if (token) {
        cr_assert_lt((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", token),
                     sizeof auth);
        h[n++] = auth;
    }
    h[n] = NULL;
    ts_http_req_t mine = *req;
    mine.headers = h;
    return ts_http_request(port, method, path, &mine);
}

ts_http_resp_t ts_http_get_bearer(int port, const char *path, const char *token, long timeout_ms)
{
    ts_http_req_t req = {.timeout_ms = timeout_ms};
    return ts_http_request_bearer(port, "GET", path, token, &req);
}

int ts_http_header(const ts_http_resp_t *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = r->headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1 + strspn(p + nl + 1, " \t");
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\r\n"), v);
            return 1;
        }
    }
    return 0;
}

json_t *ts_http_get_json(int port, const char *path)
{
    ts_http_req_t req = {.timeout_ms = 10000};
    ts_http_resp_t r = ts_http_request(port, "GET", path, &req);
    json_t *j = json_incref(r.json);
    long status = r.status;
    ts_http_resp_free(&r);
    cr_assert(status == 200 && j, "GET %s on %d: %ld, %s", path, port, status,
              j ? "JSON" : "no JSON");
    return j;
}

/* ---- files and commands ---- */

char *ts_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fseek(f, 0, SEEK_END), 0, "%s", path);
    long n = ftell(f);
    cr_assert_geq(n, 0, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_SET), 0, "%s", path);
    char *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n, "%s", path);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

int ts_run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long ts_count_of(const char *out, const char *label)
{
    const char *p = strstr(out, label);
    cr_assert_not_null(p, "no '%s' in:\n%s", label, out);
    return strtol(p + strlen(label), NULL, 10);
}

void ts_demo_data(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/demo-data.sh '%s' >/dev/null", ROLLCALL_SOURCE_DIR, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void ts_demo_load(int http_port, const char *dir)
{
    const char *kinds[] = {"schools", "calendar", "pupils", "contacts"};
    for (int i = 0; i < 4; i++) {
        char path[512], api[32];
        snprintf(path, sizeof path, "%s/%s.csv", dir, kinds[i]);
        snprintf(api, sizeof api, "/v1/%s", kinds[i]);
        ts_http_post_file(http_port, api, "text/csv", path);
    }
}

void ts_notify_templates(const char *dir, const char *sms_tpl, const char *email_tpl)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/templates' '%s' && "
             "printf 'notify: {sms_template_id: %s, email_template_id: %s}\\n' >> "
             "'%s/first_day_absence.yaml'",
             ROLLCALL_SOURCE_DIR, dir, sms_tpl, email_tpl, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void ts_keep_dir(const char *dir)
{
    const char *keep = getenv("ROLLCALL_TEST_KEEP");
    if (!keep)
        return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", keep, dir, keep);
    if (system(cmd) != 0)
        fprintf(stderr, "could not keep %s\n", dir);
}

/* ---- rollcall-reports and rules' progress ---- */

void ts_write_tokens(const char *path, const ts_token_t *tokens, size_t n)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fprintf(f, "# tokens of a test (sha256 of each)\n\n");
    for (size_t i = 0; i < n; i++) {
        char shell[256], hex[65];
        cr_assert_lt(
            (size_t)snprintf(shell, sizeof shell, "printf %%s '%s' | sha256sum", tokens[i].token),
            sizeof shell);
        FILE *p = popen(shell, "r");
        cr_assert_not_null(p, "%s", shell);
        int got = fscanf(p, "%64s", hex);
        cr_assert_eq(pclose(p), 0, "%s", shell);
        cr_assert(got == 1 && strlen(hex) == 64, "%s", shell);
        fprintf(f, "%s %s %s\n", hex, tokens[i].scopes, tokens[i].label);
    }
    cr_assert_eq(fclose(f), 0, "%s", path);
}

void ts_start_reports(ts_proc_t *p, const ts_redis_t *r, int http_port, int rules_pub,
                      const char *tokens_file, ...)
{
    char rport[16], hport[16], sub[64];
    snprintf(rport, sizeof rport, "%d", r->port);
    snprintf(hport, sizeof hport, "%d", http_port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", rules_pub ? rules_pub : ts_free_port());
    char *argv[32] = {(char *)ts_binary("services/rollcall-reports"),
                      "--redis-port",
                      rport,
                      "--http-port",
                      hport,
                      "--rules-endpoints",
                      sub};
    int n = 7, la_pub = 0;
    if (tokens_file) {
        argv[n++] = "--tokens-file";
        argv[n++] = (char *)tokens_file;
    }
    va_list ap;
    va_start(ap, tokens_file);
    for (char *a; (a = va_arg(ap, char *)) != NULL;) {
        cr_assert_lt(n, 27, "too many arguments for ts_start_reports");
        la_pub |= strcmp(a, "--la-pub-endpoint") == 0;
        argv[n++] = a;
    }
    va_end(ap);
    if (!la_pub) { /* not its fixed default: tests run side by side */
        argv[n++] = "--la-pub-endpoint";
        argv[n++] = "tcp://127.0.0.1:*";
    }
    argv[n] = NULL;
    ts_proc_spawn(p, r->dir, "reports", argv);
    cr_assert(ts_proc_wait_log(p, "\"service.ready\"", 10000), "reports did not start: %s", p->log);
}

redisReply *ts_school_urns(redisContext *c)
{
    redisReply *u = redisCommand(c, "SORT rc:schools ALPHA");
    cr_assert(u && u->type == REDIS_REPLY_ARRAY && u->elements > 0, "no schools in rc:schools");
    return u;
}

/* caught_up says whether every school's applied position is its log's end. */
static int caught_up(redisContext *c)
{
    redisReply *u = ts_school_urns(c);
    int done = 1;
    for (size_t i = 0; done && i < u->elements; i++) {
        redisReply *a = redisCommand(c, "GET rc:seq:{%s}", u->element[i]->str);
        redisReply *b = redisCommand(c, "HGET rs:school:{%s} pos", u->element[i]->str);
        done = a && b && a->type == REDIS_REPLY_STRING && b->type == REDIS_REPLY_STRING &&
               strcmp(a->str, b->str) == 0;
        freeReplyObject(a);
        freeReplyObject(b);
    }
    freeReplyObject(u);
    return done;
}

void ts_wait_rules_caught_up(const ts_redis_t *r, int timeout_ms)
{
    redisContext *c = ts_redis_connect(r);
    int done = 0;
    for (int waited = 0; !(done = caught_up(c)) && waited < timeout_ms; waited += 100)
        ts_sleep_ms(100);
    redisFree(c);
    cr_assert(done, "rules did not catch up within %d ms", timeout_ms);
}

/* ---- a generated school year ---- */

void ts_gen_year(const char *dir, const char *args)
{
    char cmd[1024];
    cr_assert_lt((size_t)snprintf(cmd, sizeof cmd, "%s/scripts/gen-year.sh '%s' %s >/dev/null",
                                  ROLLCALL_SOURCE_DIR, dir, args ? args : ""),
                 sizeof cmd);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void ts_load_year_cmd(int http_port, const char *dir, char *cmd, size_t cap)
{
    static const char *const kinds[] = {"schools", "calendar", "pupils", "contacts"};
    const char *cli = ts_binary("cli/rollcall");
    size_t n = (size_t)snprintf(cmd, cap, "set -e;");
    for (int i = 0; i < 4 && n < cap; i++)
        n += (size_t)snprintf(cmd + n, cap - n,
                              " '%s' import %s '%s/%s.csv' --url http://127.0.0.1:%d --quiet "
                              ">/dev/null;",
                              cli, kinds[i], dir, kinds[i], http_port);
    if (n < cap)
        n += (size_t)snprintf(cmd + n, cap - n,
                              " '%s' replay '%s/replay.txt' --url http://127.0.0.1:%d --quiet "
                              ">/dev/null",
                              cli, dir, http_port);
    cr_assert_lt(n, cap, "the year's load command is longer than %zu bytes", cap);
}

void ts_load_year(int http_port, const char *dir)
{
    char cmd[2048];
    ts_load_year_cmd(http_port, dir, cmd, sizeof cmd);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* ---- the gateway simulator ---- */

json_t *ts_sim_message(int sim_port, const char *type, const char *to, int n, int *count)
{
    json_t *all = ts_http_get_json(sim_port, "/_sim/messages"), *m, *found = NULL;
    size_t i;
    *count = 0;
    json_array_foreach(all, i, m)
    {
        const char *t = json_string_value(json_object_get(m, "type"));
        const char *a = json_string_value(json_object_get(m, "to"));
        if (t && a && !strcmp(t, type) && !strcmp(a, to) && (*count)++ == n)
            found = json_incref(m);
    }
    json_decref(all);
    return found;
}

int ts_sim_count(int sim_port, const char *type, const char *to)
{
    int n;
    json_decref(ts_sim_message(sim_port, type, to, 0, &n));
    return n;
}

int ts_sim_wait_count(int sim_port, const char *type, const char *to, int want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms && ts_sim_count(sim_port, type, to) < want;
         waited += 100)
        ts_sleep_ms(100);
    ts_sleep_ms(700);
    return ts_sim_count(sim_port, type, to);
}

void ts_sim_fault(int sim_port, const char *json)
{
    ts_http_req_t req = {.content_type = "application/json", .body = json, .len = strlen(json)};
    ts_http_resp_t r = ts_http_request(sim_port, "POST", "/_sim/faults", &req);
    cr_assert_eq(r.status, 201, "fault refused: %ld %s", r.status, r.body ? r.body : "");
    ts_http_resp_free(&r);
}
