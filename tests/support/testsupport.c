/* testsupport.c - redis-server and child processes for integration tests. */
#include "testsupport.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
