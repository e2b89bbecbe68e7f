/* benchsupport.h - what the benchmarks share: child processes, a private
 * redis-server, clocks and a keep-alive HTTP client. Each bench prints its
 * figures and asserts none; these helpers print what failed to stderr. */
#ifndef ROLLCALL_BENCHSUPPORT_H
#define ROLLCALL_BENCHSUPPORT_H

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define BS_PATH_MAX 512

/* Set by bs_on_signal (install it for SIGINT/SIGTERM): loops stop early. */
extern volatile sig_atomic_t bs_stopping;
void bs_on_signal(int sig);

/* bs_catch_signals installs bs_on_signal for SIGINT and SIGTERM without
 * SA_RESTART, so blocking waits end early, and ignores SIGPIPE. */
void bs_catch_signals(void);

/* bs_make_temp_dir makes $TMPDIR (or /tmp)/rollcall-bench-XXXXXX into dir;
 * 0, or -1 with errno set (dir then holds the template). */
int bs_make_temp_dir(char dir[BS_PATH_MAX]);

double bs_now_s(void); /* monotonic seconds */
void bs_sleep_ms(int ms);
double bs_proc_cpu_s(pid_t pid); /* user + system CPU seconds of pid, or -1 */
double bs_self_cpu_s(void);      /* user + system CPU seconds of the bench itself */

/* bs_cpu_model copies /proc/cpuinfo's first "model name" into out, or
 * "unknown CPU". */
void bs_cpu_model(char *out, size_t n);

/* bs_parse_long reads argv[i + 1] as an integer in [lo, hi]; -1 when it is
 * missing or not one. */
long bs_parse_long(int argc, char **argv, int i, long lo, long hi);

/* Growable text; zero-initialise, free s. */
typedef struct {
    char *s;
    size_t len, cap;
} bs_text_t;

/* bs_text_add appends printf-style; 0, or -1 when out of memory (t keeps
 * what it held). */
int bs_text_add(bs_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* bs_find_program looks name up in PATH into out; 0, or -1 when absent. */
int bs_find_program(const char *name, char out[BS_PATH_MAX]);

/* bs_free_port returns a loopback TCP port nobody listens on now, or -1. */
int bs_free_port(void);

/* bs_spawn starts argv with stdout and stderr appended to log; the child
 * dies with the bench. The pid, or -1. */
pid_t bs_spawn(char *const argv[], const char *log);

/* bs_spawn_out is bs_spawn with stdout to out_fd instead (the log when
 * out_fd < 0); stderr still goes to log. */
pid_t bs_spawn_out(char *const argv[], const char *log, int out_fd);

/* bs_stop sends SIGTERM, waits up to timeout_ms, then SIGKILL; reaps it. */
void bs_stop(pid_t *pid, int timeout_ms);

/* bs_exited is true when pid has exited (and is then reaped). */
int bs_exited(pid_t *pid);

/* bs_wait_log waits until log holds needle: 0, or -1 when the process
 * exited or timeout_ms passed. */
int bs_wait_log(pid_t *pid, const char *log, const char *needle, int timeout_ms);

/* bs_remove_tree deletes dir and everything under it. */
void bs_remove_tree(const char *dir);

/* A private redis-server in dir (AOF with appendfsync, no RDB, no
 * automatic AOF rewrite, so none lands inside a timed run and the AOF's
 * growth can be read), on a free port. */
typedef struct {
    char server[BS_PATH_MAX]; /* the redis-server binary (bs_find_program) */
    char dir[BS_PATH_MAX];
    int port; /* set before bs_redis_start to use it; 0 picks a free one */
    pid_t pid;
    redisContext *c; /* the bench's own connection, 30 s timeout */
} bs_redis_t;

/* bs_redis_start starts it and connects; 0 once it answers PING. */
int bs_redis_start(bs_redis_t *r, const char *appendfsync);
void bs_redis_stop(bs_redis_t *r);

/* bs_redis_info returns the integer field name of INFO section, or -1. */
long long bs_redis_info(redisContext *c, const char *section, const char *name);

/* bs_redis_info_str copies the field name of INFO section into out ("?"
 * when absent). */
void bs_redis_info_str(redisContext *c, const char *section, const char *name, char *out, size_t n);

/* bs_redis_u64 runs a command answering a number or a numeric string (GET,
 * HGET, XLEN); returns it, 0 for nil, or -1 when Redis failed. */
long long bs_redis_u64(redisContext *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One HTTP answer; free body. */
typedef struct {
    long status;
    char *body;
    size_t len;
} bs_resp_t;

/* bs_http_get GETs url over curl's keep-alive connection with an optional
 * "Authorization: Bearer <token>"; 0 with *r filled, -1 on a transport
 * failure (printed). */
int bs_http_get(CURL *curl, const char *url, const char *token, bs_resp_t *r);

/* bs_http_send sends method (GET, POST, DELETE...) to base + path over
 * curl's keep-alive connection with "Content-Type: ctype" (text/csv when
 * NULL) and no "Expect: 100-continue"; a body (len bytes) makes it a POST.
 * 0 with *r filled (free r->body), -1 on a transport failure (printed
 * unless quiet). */
int bs_http_send(CURL *curl, const char *method, const char *base, const char *path,
                 const char *ctype, const char *body, size_t len, bs_resp_t *r, int quiet);

/* bs_ingest_start starts rollcall-ingest (binary) on the given ports with the
 * replay clock, logging to dir/ingest.log, and waits up to 10 s for GET
 * /healthz to answer 200 over curl (at http://127.0.0.1:http_port). 0 with
 * *pid set, or -1 (printed). */
int bs_ingest_start(const char *binary, const char *dir, int redis_port, int http_port,
                    int pub_port, CURL *curl, pid_t *pid);

/* bs_percentile returns the p-th percentile (0..100) of v[0..n), sorting v. */
double bs_percentile(double *v, size_t n, double p);

#endif
