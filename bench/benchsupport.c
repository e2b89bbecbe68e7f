/* benchsupport.c - see benchsupport.h. */
#include "benchsupport.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t bs_stopping;

void bs_on_signal(int sig)
{
    (void)sig;
    bs_stopping = 1;
}

void bs_catch_signals(void)
{
    struct sigaction sa = {.sa_handler = bs_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int bs_make_temp_dir(char dir[BS_PATH_MAX])
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, BS_PATH_MAX, "%s/rollcall-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

double bs_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bs_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

double bs_proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double bs_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void bs_cpu_model(char *out, size_t n)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(out, n, "unknown CPU");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            const char *p = strchr(line, ':') + 1;
            p += strspn(p, " \t");
            snprintf(out, n, "%.*s", (int)strcspn(p, "\n"), p);
            break;
        }
    if (f)
        fclose(f);
}

long bs_parse_long(int argc, char **argv, int i, long lo, long hi)
{
    if (i + 1 >= argc)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(argv[i + 1], &end, 10);
    return errno || end == argv[i + 1] || *end || v < lo || v > hi ? -1 : v;
}

int bs_text_add(bs_text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return 0;
        }
        size_t cap = t->cap ? t->cap * 2 : 65536;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s)
            return -1;
        t->s = s;
        t->cap = cap;
    }
}

int bs_find_program(const char *name, char out[BS_PATH_MAX])
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, BS_PATH_MAX, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

int bs_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

pid_t bs_spawn(char *const argv[], const char *log)
{
    return bs_spawn_out(argv, log, -1);
}

pid_t bs_spawn_out(char *const argv[], const char *log, int out_fd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(out_fd >= 0 ? out_fd : fd, 1);
        dup2(fd, 2);
    }
    execv(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

void bs_stop(pid_t *pid, int timeout_ms)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        bs_sleep_ms(10);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

int bs_exited(pid_t *pid)
{
    if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid) {
        *pid = 0;
        return 1;
    }
    return *pid <= 0;
}

int bs_wait_log(pid_t *pid, const char *log, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms && !bs_stopping; waited += 20) {
        FILE *f = fopen(log, "r");
        char line[8192];
        int found = 0;
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        if (found)
            return 0;
        if (bs_exited(pid))
            return -1;
        bs_sleep_ms(20);
    }
    return -1;
}

void bs_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[BS_PATH_MAX * 2];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            bs_remove_tree(p);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int bs_redis_start(bs_redis_t *r, const char *appendfsync)
{
    char port[16], log[BS_PATH_MAX + 16];
    if (r->port <= 0 && (r->port = bs_free_port()) < 0)
        return -1;
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    char *argv[] = {r->server,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    port,
                    "--dir",
                    r->dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    (char *)appendfsync,
                    "--save",
                    "",
                    "--auto-aof-rewrite-percentage",
                    "0",
                    "--daemonize",
                    "no",
                    NULL};
    if ((r->pid = bs_spawn(argv, log)) < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        return -1;
    }
    struct timeval tv = {30, 0};
    for (int i = 0; i < 200 && !bs_stopping && !bs_exited(&r->pid); i++) {
        redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
        redisReply *rep = c && !c->err ? redisCommand(c, "PING") : NULL;
        int up = rep && rep->type == REDIS_REPLY_STATUS;
        freeReplyObject(rep);
        if (up) {
            redisSetTimeout(c, tv);
            r->c = c;
            return 0;
        }
        if (c)
            redisFree(c);
        bs_sleep_ms(25);
    }
    fprintf(stderr, "redis-server did not answer on port %d (see %s)\n", r->port, log);
    return -1;
}

void bs_redis_stop(bs_redis_t *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    bs_stop(&r->pid, 5000);
}

long long bs_redis_info(redisContext *c, const char *section, const char *name)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        char key[64];
        snprintf(key, sizeof key, "\n%s:", name);
        const char *p = strstr(r->str, key);
        if (p)
            v = atoll(p + strlen(key));
    }
    freeReplyObject(r);
    return v;
}

void bs_redis_info_str(redisContext *c, const char *section, const char *name, char *out, size_t n)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    snprintf(out, n, "?");
    if (r && r->type == REDIS_REPLY_STRING) {
        char key[64];
        snprintf(key, sizeof key, "\n%s:", name);
        const char *p = strstr(r->str, key);
        if (p) {
            p += strlen(key);
            snprintf(out, n, "%.*s", (int)strcspn(p, "\r\n"), p);
        }
    }
    freeReplyObject(r);
}

long long bs_redis_u64(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING)
        v = atoll(r->str);
    else if (r && r->type == REDIS_REPLY_NIL)
        v = 0;
    freeReplyObject(r);
    return v;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    bs_resp_t *r = ctx;
    char *body = realloc(r->body, r->len + size * n + 1);
    if (!body)
        return 0;
    memcpy(body + r->len, p, size * n);
    r->len += size * n;
    body[r->len] = '\0';
    r->body = body;
    return size * n;
}

/* perform runs the request set up on curl with headers h (freed here),
 * collecting the answer into r; what names it in a failure's message. */
static int perform(CURL *curl, struct curl_slist *h, const char *what, const char *url,
                   bs_resp_t *r, int quiet)
{
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        if (!quiet)
            fprintf(stderr, "%s %s: %s\n", what, url, curl_easy_strerror(rc));
        free(r->body);
        r->body = NULL;
        return -1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    return 0;
}

int bs_http_get(CURL *curl, const char *url, const char *token, bs_resp_t *r)
{
    char auth[256];
    struct curl_slist *h = NULL;
    memset(r, 0, sizeof *r);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    return perform(curl, h, "GET", url, r, 0);
}

int bs_http_send(CURL *curl, const char *method, const char *base, const char *path,
                 const char *ctype, const char *body, size_t len, bs_resp_t *r, int quiet)
{
    char url[512], ct[96];
    struct curl_slist *h = NULL;
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "text/csv");
    h = curl_slist_append(h, ct);
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip per POST */
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        if (strcmp(method, "GET") != 0)
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    int rc = perform(curl, h, method, url, r, quiet);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL); /* the handle's next GET stays a GET */
    return rc;
}

int bs_ingest_start(const char *binary, const char *dir, int redis_port, int http_port,
                    int pub_port, CURL *curl, pid_t *pid)
{
    char rport[16], hport[16], pub[64], base[64], log[BS_PATH_MAX + 16];
    snprintf(rport, sizeof rport, "%d", redis_port);
    snprintf(hport, sizeof hport, "%d", http_port);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", pub_port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_port);
    snprintf(log, sizeof log, "%s/ingest.log", dir);
    char *argv[] = {
        (char *)binary, "--redis-port", rport, "--http-port", hport, "--pub-endpoint", pub,
        "--clock",      "replay",       NULL};
    if ((*pid = bs_spawn(argv, log)) < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 500 && !bs_stopping && !bs_exited(pid); i++) {
        bs_resp_t r;
        if (bs_http_send(curl, "GET", base, "/healthz", NULL, NULL, 0, &r, 1) == 0) {
            free(r.body);
            if (r.status == 200)
                return 0;
        }
        bs_sleep_ms(20);
    }
    fprintf(stderr, "rollcall-ingest did not become healthy (see %s)\n", log);
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bs_percentile(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}
