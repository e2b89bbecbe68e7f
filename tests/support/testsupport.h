/* testsupport.h - real parts for integration tests: a throwaway redis-server
 * on a free loopback port in a temp dir, and child processes whose stderr is
 * captured to a file the test can wait on. */
#ifndef ROLLCALL_TESTSUPPORT_H
#define ROLLCALL_TESTSUPPORT_H

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

typedef struct {
    char dir[64]; /* temp dir holding the AOF and the log */
    int port;
    int aof; /* appendonly yes, appendfsync always */
    pid_t pid;
} ts_redis_t;

/* ts_free_port returns a loopback TCP port nobody listens on now. */
int ts_free_port(void);

/* ts_redis_start starts redis-server (aof: persistence on) and waits until
 * it answers PING; aborts the test (cr_assert) when it cannot. */
void ts_redis_start(ts_redis_t *r, int aof);

/* ts_redis_restart starts it again on the same port and directory. */
void ts_redis_restart(ts_redis_t *r);

/* ts_redis_kill9 kills it with SIGKILL and reaps it. */
void ts_redis_kill9(ts_redis_t *r);

/* ts_redis_stop stops it (SIGTERM), reaps it and removes its directory. */
void ts_redis_stop(ts_redis_t *r);

/* ts_redis_connect returns a new connection (cr_assert on failure). */
redisContext *ts_redis_connect(const ts_redis_t *r);

typedef struct {
    pid_t pid;
    char log[96]; /* the file its stderr goes to */
} ts_proc_t;

/* ts_proc_spawn starts argv (NULL-terminated) with stderr to a file in dir,
 * <name>.log, emptied first. */
void ts_proc_spawn(ts_proc_t *p, const char *dir, const char *name, char *const argv[]);

/* ts_proc_wait_log waits until the process's stderr holds needle; returns 1,
 * or 0 after timeout_ms or when the process has exited. */
int ts_proc_wait_log(const ts_proc_t *p, const char *needle, int timeout_ms);

/* ts_proc_stop sends sig and waits up to timeout_ms; returns the exit
 * status (128 + signal when killed by one), or -1 after SIGKILL on timeout. */
int ts_proc_stop(ts_proc_t *p, int sig, int timeout_ms);

/* ts_start_ingest starts rollcall-ingest against r on http_port, publishing
 * on pub_port, in replay mode, with up to 4 more arguments (NULL-ended), and
 * waits until it is ready (cr_assert otherwise). */
void ts_start_ingest(ts_proc_t *p, const ts_redis_t *r, int http_port, int pub_port, ...);

/* ts_start_rules starts rollcall-rules (replay clock, the repo's policies)
 * against r, following ingest's PUB at ingest_pub and publishing on
 * pub_port, with more "--key", "value" arguments until NULL; waits until it
 * is ready. */
void ts_start_rules(ts_proc_t *p, const ts_redis_t *r, const char *name, int ingest_pub,
                    int pub_port, ...);

/* ts_csv_field copies column col (1-based) of the nth (1-based) line of the
 * CSV file at path that starts with prefix into out (cap bytes; plain CSV,
 * no quoted commas). Returns 1, or 0 when there is no such line or column. */
int ts_csv_field(const char *path, const char *prefix, int nth, int col, char *out, size_t cap);

/* ts_e164 writes a UK number as scripts/demo-data.sh writes it ("07700
 * 900123", "+44 7700 900123") in E.164, as ingest stores it
 * ("+447700900123"). */
void ts_e164(const char *uk, char out[20]);

/* ts_demo_mobile writes the E.164 mobile of demo contact <upn><suffix>
 * ("-m" mother, "-f" father, "-g" grandparent) from demo_dir/contacts.csv
 * (scripts/demo-data.sh); cr_asserts when there is none. */
void ts_demo_mobile(const char *demo_dir, const char *upn, const char *suffix, char out[20]);

/* ts_binary returns the path of a built binary ("services/rollcall-ingest"). */
const char *ts_binary(const char *rel);

/* ts_sleep_ms sleeps. */
void ts_sleep_ms(int ms);

#endif
