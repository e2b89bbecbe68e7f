/* test_services.c - the four binaries as processes: flags, and start/stop against redis-server. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rollcall/config.h"

#define SERVICES_DIR ROLLCALL_BINARY_DIR "/services/"
#define DEPLOY_DIR   ROLLCALL_SOURCE_DIR "/deploy/"
#define OUT_MAX      65536

/* A child process and what it has written so far. */
typedef struct {
    pid_t pid;
    int out_fd, err_fd; /* read ends, -1 once closed */
    char out[OUT_MAX], err[OUT_MAX];
    size_t out_len, err_len;
} proc_t;

/* Everything a test starts, so .fini can clean up whatever happened. */
static proc_t *procs[8];
static int nprocs;
static char tmpdir[64];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void setup(void)
{
    strcpy(tmpdir, "/tmp/rollcall-test-svc-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    for (int i = nprocs - 1; i >= 0; i--) {
        proc_t *p = procs[i];
        if (p->pid > 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
        close_fd(&p->out_fd);
        close_fd(&p->err_fd);
        free(p);
    }
    nprocs = 0;
    if (tmpdir[0] && (d = opendir(tmpdir))) {
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
                unlink(path);
            }
        closedir(d);
        rmdir(tmpdir);
    }
    tmpdir[0] = '\0';
}

TestSuite(services, .init = setup, .fini = teardown, .timeout = 60);

/* spawn starts argv[0] with stdout and stderr piped back to us. */
static proc_t *spawn(char *const argv[])
{
    int out[2], err[2];
    proc_t *p = calloc(1, sizeof *p);

    cr_assert_not_null(p);
    cr_assert_lt(nprocs, (int)(sizeof procs / sizeof procs[0]));
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(err), 0);
    procs[nprocs++] = p;
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        /* If the test process dies, so do we. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    p->out_fd = out[0];
    p->err_fd = err[0];
    return p;
}

/* pump reads what the child has written, waiting at most timeout_ms.
 * Returns 0 once both pipes are closed. */
static int pump(proc_t *p, int timeout_ms)
{
    struct pollfd fds[2];
    int n = 0;

    if (p->out_fd >= 0)
        fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
    if (p->err_fd >= 0)
        fds[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
    if (n == 0)
        return 0;
    if (poll(fds, (nfds_t)n, timeout_ms) <= 0)
        return 1;
    for (int i = 0; i < n; i++) {
        int is_out = fds[i].fd == p->out_fd;
        char *buf = is_out ? p->out : p->err;
        size_t *len = is_out ? &p->out_len : &p->err_len;
        ssize_t r;

        if (!(fds[i].revents & (POLLIN | POLLHUP)))
            continue;
        r = read(fds[i].fd, buf + *len, OUT_MAX - 1 - *len);
        if (r > 0) {
            *len += (size_t)r;
            buf[*len] = '\0';
        } else
            close_fd(is_out ? &p->out_fd : &p->err_fd);
    }
    return 1;
}

/* wait_for reads the child's stderr until it holds needle, or fails the
 * test after timeout_ms. */
static void wait_for(proc_t *p, const char *needle, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    while (!strstr(p->err, needle)) {
        cr_assert_lt(now_ms(), deadline, "no '%s' within %d ms; stderr:\n%s", needle, timeout_ms,
                     p->err);
        if (!pump(p, 50))
            cr_assert_fail("exited before '%s'; stderr:\n%s", needle, p->err);
    }
}

/* wait_exit collects the child's exit status within timeout_ms (reading
 * its output meanwhile); returns -1 when it did not exit in time. */
static int wait_exit(proc_t *p, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status;

    while (now_ms() < deadline) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            while (pump(p, 100))
                ;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        pump(p, 20);
    }
    return -1;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* redis_pings is true when a server on port answers PING (with PONG, or
 * NOAUTH when it wants a password). */
static int redis_pings(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[16] = {0};
    int ok = 0, fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, "PING\r\n", 6) == 6 &&
        read(fd, buf, sizeof buf - 1) > 0)
        ok = strncmp(buf, "+PONG", 5) == 0 || strncmp(buf, "-NOAUTH", 7) == 0;
    close(fd);
    return ok;
}

/* start_redis runs a throwaway redis-server on a free loopback port in the
 * test's temp dir, with no persistence, and returns the port. requirepass
 * may be NULL. */
static int start_redis(const char *requirepass)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = free_port();
        char port_s[16];
        char *argv[16] = {"/usr/bin/redis-server",
                          "--port",
                          port_s,
                          "--bind",
                          "127.0.0.1",
                          "--dir",
                          tmpdir,
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--daemonize",
                          "no"};
        proc_t *p;
        int64_t deadline = now_ms() + 5000;

        if (requirepass) {
            argv[13] = "--requirepass";
            argv[14] = (char *)requirepass;
        }
        snprintf(port_s, sizeof port_s, "%d", port);
        p = spawn(argv);
        while (now_ms() < deadline && p->pid > 0) {
            if (redis_pings(port))
                return port;
            if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
                p->pid = 0; /* lost the port race; try another */
            pump(p, 20);
        }
    }
    cr_assert_fail("redis-server did not start");
    return -1;
}

static const char *binary(const char *svc)
{
    static char path[512];
    snprintf(path, sizeof path, SERVICES_DIR "rollcall-%s", svc);
    return path;
}

/* run starts a service with extra arguments (NULL-terminated). */
static proc_t *run(const char *svc, ...)
{
    char *argv[32];
    int n = 0;
    va_list ap;

    argv[n++] = (char *)binary(svc);
    va_start(ap, svc);
    while (n < 31 && (argv[n] = va_arg(ap, char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    return spawn(argv);
}

/* The arguments that keep each service's bound endpoints off fixed ports. */
static proc_t *run_against(const char *svc, int redis_port, const char *extra1, const char *extra2)
{
    char port_s[16];
    const char *bind_key = strcmp(svc, "reports") == 0 ? "--la-pub-endpoint" : "--pub-endpoint";

    snprintf(port_s, sizeof port_s, "%d", redis_port);
    if (strcmp(svc, "notify") == 0)
        return run(svc, "--redis-port", port_s, "--redis-connect-timeout", "5s", bind_key,
                   "tcp://127.0.0.1:*", "--templates-dir", ROLLCALL_SOURCE_DIR "/templates", extra1,
                   extra2, NULL);
    if (strcmp(svc, "reports") == 0)
        return run(svc, "--redis-port", port_s, "--redis-connect-timeout", "5s", bind_key,
                   "tcp://127.0.0.1:*", "--http-port", "0", extra1, extra2, NULL);
    if (strcmp(svc, "ingest") == 0) {
        char http_s[16];
        snprintf(http_s, sizeof http_s, "%d", free_port());
        return run(svc, "--redis-port", port_s, "--redis-connect-timeout", "5s", bind_key,
                   "tcp://127.0.0.1:*", "--http-port", http_s, extra1, extra2, NULL);
    }
    return run(svc, "--redis-port", port_s, "--redis-connect-timeout", "5s", bind_key,
               "tcp://127.0.0.1:*", extra1, extra2, NULL);
}

static const char *own_key(const char *svc)
{
    if (strcmp(svc, "ingest") == 0)
        return "pub_endpoint";
    if (strcmp(svc, "rules") == 0)
        return "schools";
    if (strcmp(svc, "notify") == 0)
        return "rules_endpoints";
    return "la_pub_endpoint";
}

static void check_help(const char *svc)
{
    proc_t *p = run(svc, "--help", NULL);
    char usage[64];

    cr_assert_eq(wait_exit(p, 5000), 0, "%s", p->err);
    snprintf(usage, sizeof usage, "Usage: rollcall-%s ", svc);
    cr_assert(strstr(p->out, usage), "%s", p->out);
    cr_assert(strstr(p->out, "redis_port = 6379"), "%s", p->out);
    cr_assert(strstr(p->out, "ROLLCALL_REDIS_PORT"), "%s", p->out);
    cr_assert(strstr(p->out, own_key(svc)), "%s", p->out);
}

static void check_version(const char *svc)
{
    proc_t *p = run(svc, "--version", NULL);
    char want[128];

    cr_assert_eq(wait_exit(p, 5000), 0, "%s", p->err);
    snprintf(want, sizeof want, "rollcall-%s %s (%s)\n", svc, config_version(), config_git_rev());
    cr_assert_str_eq(p->out, want);
}

static void check_example_config(const char *svc)
{
    char path[512];
    proc_t *p;

    snprintf(path, sizeof path, DEPLOY_DIR "%s.conf", svc);
    p = run(svc, "--config", path, "--check-config", NULL);
    cr_assert_eq(wait_exit(p, 5000), 0, "%s:\n%s", path, p->err);
    cr_assert(strstr(p->out, "redis_port = "), "%s", p->out);
}

/* check_lifecycle starts svc against a fresh Redis, waits for
 * service.ready, sends SIGTERM and expects exit 0 within 5 s. */
static void check_lifecycle(const char *svc)
{
    int port = start_redis(NULL);
    proc_t *p = run_against(svc, port, NULL, NULL);
    int64_t t0;

    wait_for(p, "\"event\":\"service.ready\"", 10000);
    cr_assert(strstr(p->err, "\"event\":\"config.effective\""), "%s", p->err);
    cr_assert(strstr(p->err, "\"event\":\"redis.connected\""), "%s", p->err);
    t0 = now_ms();
    cr_assert_eq(kill(p->pid, SIGTERM), 0);
    cr_assert_eq(wait_exit(p, 5000), 0, "stderr:\n%s", p->err);
    cr_assert_lt(now_ms() - t0, 5000);
    cr_assert(strstr(p->err, "\"event\":\"service.stopped\",\"status\":0}"), "%s", p->err);
}

/* check_unreachable points svc at a port nothing listens on. */
static void check_unreachable(const char *svc)
{
    int port = free_port();
    char port_s[16], addr[32];
    proc_t *p;

    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    p = run(svc, "--redis-port", port_s, "--redis-connect-timeout", "500ms", NULL);
    cr_assert_eq(wait_exit(p, 5000), 1, "stderr:\n%s", p->err);
    cr_assert(strstr(p->err, "\"event\":\"redis.unreachable\""), "%s", p->err);
    cr_assert(strstr(p->err, addr), "%s", p->err);
    cr_assert_null(strstr(p->err, "service.ready"));
}

#define SERVICE_TESTS(svc)                                                                         \
    Test(services, svc##_help)                                                                     \
    {                                                                                              \
        check_help(#svc);                                                                          \
    }                                                                                              \
    Test(services, svc##_version)                                                                  \
    {                                                                                              \
        check_version(#svc);                                                                       \
    }                                                                                              \
    Test(services, svc##_example_config)                                                           \
    {                                                                                              \
        check_example_config(#svc);                                                                \
    }                                                                                              \
    Test(services, svc##_ready_then_sigterm)                                                       \
    {                                                                                              \
        check_lifecycle(#svc);                                                                     \
    }                                                                                              \
    Test(services, svc##_redis_unreachable)                                                        \
    {                                                                                              \
        check_unreachable(#svc);                                                                   \
    }

SERVICE_TESTS(ingest)
SERVICE_TESTS(rules)
SERVICE_TESTS(notify)
SERVICE_TESTS(reports)

Test(services, sigint_stops_too)
{
    int port = start_redis(NULL);
    proc_t *p = run_against("rules", port, "--schools", "100001, 100002");

    wait_for(p, "\"event\":\"service.ready\"", 10000);
    cr_assert(strstr(p->err, "\"schools\":\"100001, 100002\""), "%s", p->err);
    kill(p->pid, SIGINT);
    cr_assert_eq(wait_exit(p, 5000), 0, "%s", p->err);
}

Test(services, redis_password_from_file)
{
    char pwfile[128];
    int port, fd;
    proc_t *p;

    snprintf(pwfile, sizeof pwfile, "%s/redis.pw", tmpdir);
    fd = open(pwfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "s3cret-pw\n", 10), 10);
    close(fd);
    port = start_redis("s3cret-pw");

    p = run_against("ingest", port, "--redis-password-file", pwfile);
    wait_for(p, "\"event\":\"service.ready\"", 10000);
    cr_assert(strstr(p->err, "\"redis_password\":\"[redacted]\""), "%s", p->err);
    cr_assert_null(strstr(p->err, "s3cret"), "%s", p->err);
    kill(p->pid, SIGTERM);
    cr_assert_eq(wait_exit(p, 5000), 0, "%s", p->err);
}

Test(services, wrong_redis_password_fails_fast)
{
    int port = start_redis("right-pw");
    proc_t *p;
    int64_t t0 = now_ms();

    setenv("ROLLCALL_REDIS_PASSWORD", "wrong-pw", 1);
    p = run_against("notify", port, "--redis-connect-timeout", "30s");
    cr_assert_eq(wait_exit(p, 5000), 1, "%s", p->err);
    cr_assert_lt(now_ms() - t0, 5000, "a refused password is not retried");
    cr_assert(strstr(p->err, "AUTH refused"), "%s", p->err);
    cr_assert_null(strstr(p->err, "wrong-pw"), "%s", p->err);
}

Test(services, check_config_rejects_bad_values)
{
    proc_t *p = run("ingest", "--check-config", "--redis-port", "70000", NULL);

    cr_assert_eq(wait_exit(p, 5000), 1);
    cr_assert(strstr(p->err, "redis_port: 70000 is out of range 1..65535"), "%s", p->err);

    p = run("rules", "--check-config", "--schools", "12345", NULL);
    cr_assert_eq(wait_exit(p, 5000), 1);
    cr_assert(strstr(p->err, "schools"), "%s", p->err);

    p = run("notify", "--redis-password", "x", NULL);
    cr_assert_eq(wait_exit(p, 5000), 1);
    cr_assert(strstr(p->err, "not accepted on the command line"), "%s", p->err);
}

Test(services, check_config_redacts_secrets)
{
    proc_t *p;

    setenv("ROLLCALL_REDIS_PASSWORD", "hunter2", 1);
    p = run("reports", "--check-config", NULL);
    cr_assert_eq(wait_exit(p, 5000), 0, "%s", p->err);
    cr_assert(strstr(p->out, "# redis_password = [redacted]"), "%s", p->out);
    cr_assert_null(strstr(p->out, "hunter2"));
}

Test(services, bind_failure_exits_1)
{
    int port = start_redis(NULL);
    proc_t *p = run_against("ingest", port, "--pub-endpoint", "tcp://192.0.2.1:1");

    cr_assert_eq(wait_exit(p, 10000), 1, "%s", p->err);
    cr_assert(strstr(p->err, "\"event\":\"zmq.bind_failed\""), "%s", p->err);
}
