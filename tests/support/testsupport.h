/* testsupport.h - real parts for integration tests: a throwaway redis-server
 * on a free loopback port in a temp dir, child processes whose stderr is
 * captured to a file the test can wait on, and the HTTP, file and gateway
 * simulator helpers the integration tests share. */
#ifndef ROLLCALL_TESTSUPPORT_H
#define ROLLCALL_TESTSUPPORT_H

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

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

/* ---- HTTP to 127.0.0.1 (libcurl) ---- */

typedef struct {
    long status;
    char *body; /* the answer's body, NUL-terminated; NULL when it had none */
    size_t len;
    char *headers; /* the status and header lines, NUL-terminated; or NULL */
    size_t hlen;
    json_t *json; /* body parsed; NULL when it is not JSON */
} ts_http_resp_t;

typedef struct {
    const char *content_type;   /* NULL: no Content-Type line */
    const char *const *headers; /* more request header lines, NULL-ended; or NULL */
    const char *body;           /* NULL: no body */
    size_t len;                 /* of body */
    size_t chunked;             /* > 0: send this many bytes of 'y', chunked, not body */
    long timeout_ms;            /* 0: none (libcurl's default) */
} ts_http_req_t;

/* ts_http_request sends method path to 127.0.0.1:port as req describes (NULL:
 * no body, no headers) and returns the answer, which the caller releases
 * with ts_http_resp_free. "Expect:" is always sent empty, so a large body
 * goes without a 100-continue round trip. cr_asserts when the transfer
 * itself fails (no connection, timeout); any status is returned. */
ts_http_resp_t ts_http_request(int port, const char *method, const char *path,
                               const ts_http_req_t *req);

/* ts_http_resp_free frees what r holds and zeroes it; harmless twice. */
void ts_http_resp_free(ts_http_resp_t *r);

/* ts_http_post posts len bytes of body as content_type to path on
 * 127.0.0.1:port and cr_asserts that the answer is 200. */
void ts_http_post(int port, const char *path, const char *content_type, const char *body,
                  size_t len);

/* ts_http_post_file posts the file at file as content_type, as ts_http_post;
 * cr_asserts when it cannot be read. */
void ts_http_post_file(int port, const char *path, const char *content_type, const char *file);

/* ts_http_request_bearer sends method path as ts_http_request does, with
 * "Authorization: Bearer <token>" after req's own headers (up to 15 of
 * them); no such line when token is NULL. */
ts_http_resp_t ts_http_request_bearer(int port, const char *method, const char *path,
                                      const char *token, const ts_http_req_t *req);

/* ts_http_get_bearer GETs path from 127.0.0.1:port with token as bearer
 * (none when NULL), giving up after timeout_ms (0: libcurl's default); any
 * status is returned, the caller releases it with ts_http_resp_free. */
ts_http_resp_t ts_http_get_bearer(int port, const char *path, const char *token, long timeout_ms);

/* ts_http_header copies the value of r's response header name (matched
 * case-insensitively, given without its colon) into out (cap bytes), without
 * the blanks before it or the line end; returns 1, or 0 with out "" when r
 * has no such header. */
int ts_http_header(const ts_http_resp_t *r, const char *name, char *out, size_t cap);

/* ts_http_get_json GETs path from 127.0.0.1:port and returns its JSON body
 * (a new reference, the caller's to json_decref); cr_asserts that the
 * answer is 200 and JSON. */
json_t *ts_http_get_json(int port, const char *path);

/* ---- files and commands ---- */

/* ts_slurp returns the whole file at path, NUL-terminated (malloc'd, the
 * caller frees it), its length in *len; cr_asserts when it cannot be read. */
char *ts_slurp(const char *path, size_t *len);

/* ts_run runs cmd with sh, its stdout (up to cap - 1 bytes, NUL-terminated)
 * in out, and returns its exit status, or -1 when it did not exit. */
int ts_run(const char *cmd, char *out, size_t cap);

/* ts_count_of returns the number after label in out ("accepted:   12");
 * cr_asserts when label is not there. */
long ts_count_of(const char *out, const char *label);

/* ts_demo_data writes scripts/demo-data.sh's demo trust into dir;
 * cr_asserts when the script fails. */
void ts_demo_data(const char *dir);

/* ts_demo_load posts the demo trust's reference data in dir (schools,
 * calendar, pupils, contacts) to ingest on http_port, each answered 200. */
void ts_demo_load(int http_port, const char *dir);

/* ts_notify_templates copies the repo's templates/ to dir (which must not
 * exist yet) and gives first_day_absence the GOV.UK Notify template ids a
 * school would have registered; cr_asserts on failure. */
void ts_notify_templates(const char *dir, const char *sms_tpl, const char *email_tpl);

/* ts_keep_dir copies dir to $ROLLCALL_TEST_KEEP, replacing it, when that is
 * set (debugging: the logs of a failed run); otherwise does nothing. */
void ts_keep_dir(const char *dir);

/* ---- rollcall-reports and rules' progress ---- */

typedef struct {
    const char *token;  /* the clear token a client sends */
    const char *scopes; /* "admin", "school:100001,trust:TR2", ... */
    const char *label;
} ts_token_t;

/* ts_write_tokens writes a reports tokens file (docs/reports-api.md) at path:
 * a comment and a blank line, then "<sha256 hex> <scopes> <label>" for each
 * of the n tokens, hashed by sha256sum, not by the code under test;
 * cr_asserts on failure. */
void ts_write_tokens(const char *path, const ts_token_t *tokens, size_t n);

/* ts_start_reports starts rollcall-reports against r with its HTTP API on
 * http_port (0: any free port), following rules' PUB at rules_pub (0: a free
 * port nobody publishes on) and the bearer tokens in tokens_file (NULL: none,
 * every request is refused), with up to 16 more arguments until NULL; unless
 * they name --la-pub-endpoint, the LA feed binds any free port. Waits until
 * it is ready (cr_assert otherwise). */
void ts_start_reports(ts_proc_t *p, const ts_redis_t *r, int http_port, int rules_pub,
                      const char *tokens_file, ...);

/* ts_school_urns returns the URNs ingest knows (rc:schools), sorted, as an
 * array reply the caller frees with freeReplyObject; cr_asserts that there
 * is at least one. */
redisReply *ts_school_urns(redisContext *c);

/* ts_wait_rules_caught_up waits until rules has applied every school's
 * whole log (rs:school pos equal to rc:seq for each of ts_school_urns);
 * cr_asserts that it has within timeout_ms. */
void ts_wait_rules_caught_up(const ts_redis_t *r, int timeout_ms);

/* ---- a generated school year (scripts/gen-year.sh, docs/replay.md) ---- */

/* ts_gen_year runs scripts/gen-year.sh into dir with args (shell words, e.g.
 * "--schools 2"; NULL or "": its default year, 3 schools of trust
 * SMALL-TRUST in LA 909 with 30 pupils each over 2025-26) and cr_asserts
 * that it succeeds. */
void ts_gen_year(const char *dir, const char *args);

/* ts_load_year_cmd writes into cmd (cap bytes; cr_asserts it fits) one sh
 * command sending the generated year in dir to ingest on http_port through
 * the real CLI: `rollcall import` of schools, calendar, pupils and contacts,
 * then `rollcall replay` of replay.txt, stopping at the first failure. */
void ts_load_year_cmd(int http_port, const char *dir, char *cmd, size_t cap);

/* ts_load_year runs ts_load_year_cmd's command and cr_asserts that every
 * step succeeds. */
void ts_load_year(int http_port, const char *dir);

/* ---- the gateway simulator (sim/rollcall-gateway-sim) on sim_port ---- */

/* ts_sim_message returns (a new reference) the n-th (0-based) message of
 * type ("sms", "email") the simulator accepted for to, or NULL; *count
 * gets how many there are. */
json_t *ts_sim_message(int sim_port, const char *type, const char *to, int n, int *count);

/* ts_sim_count returns how many messages of type the simulator accepted
 * for to. */
int ts_sim_count(int sim_port, const char *type, const char *to);

/* ts_sim_wait_count waits until ts_sim_count reaches want (or timeout_ms
 * pass), then lingers 700 ms to catch a second copy; returns the final
 * count. */
int ts_sim_wait_count(int sim_port, const char *type, const char *to, int want, int timeout_ms);

/* ts_sim_fault posts a fault (the simulator's /_sim/faults JSON) and
 * cr_asserts that it was taken (201). */
void ts_sim_fault(int sim_port, const char *json);

#endif
