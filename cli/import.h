/* import.h - `rollcall import`: stream a CSV or JSON file to ingest in chunks, map replies back.
 *
 * The pieces, each usable without a network or a file:
 *
 *   chunker   bytes in (any split) -> chunks of whole rows, each row with the
 *             physical line it starts on in the file (RFC 4180 quoting, CRLF,
 *             a UTF-8 BOM and blank rows handled as ingest's reader does) or,
 *             for JSON, the top-level array's elements one by one;
 *   body      rows [from, to) of a chunk -> the request body (CSV: the header
 *             row, then the rows; JSON: an array) and a slice saying how to
 *             map the reply's chunk-relative lines and indexes back;
 *   merge     a 200/422 reply + its slice -> running totals and the rejected
 *             rows, named by their line (or index) in the file;
 *   sender    post a chunk (through a callback), retry 503s, halve on 413,
 *             stop on 400, merge the replies, draw progress, print the
 *             summary: what `rollcall replay` (replay.h) shares;
 *   run       the loop: read, chunk, send.
 *
 * http.h is the libcurl poster; main.c only dispatches to import_main.
 */
#ifndef ROLLCALL_CLI_IMPORT_H
#define ROLLCALL_CLI_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rollcall/error.h"

#define IMPORT_DEFAULT_URL    "http://127.0.0.1:8081"
#define IMPORT_URL_ENV        "ROLLCALL_INGEST_URL"
#define IMPORT_DEFAULT_ROWS   2000
#define IMPORT_MAX_ROWS       1000000
#define IMPORT_CHUNK_BYTES    (8u << 20) /* a chunk closes early past this: ingest takes 32 MiB */
#define IMPORT_MAX_RECORD     (1u << 20) /* one CSV row or JSON element; longer is a broken file */
#define IMPORT_LIST_DEFAULT   50         /* rejected rows listed unless --all-errors */
#define IMPORT_RETRIES        5          /* 503 / refused: tries after the first */
#define IMPORT_BACKOFF_MS     250        /* first wait; doubles each time (7.75 s in all) */
#define IMPORT_TTY_REDRAW_MS  100
#define IMPORT_PLAIN_EVERY_MS 5000

/* Exit statuses of `rollcall import`. */
enum {
    IMPORT_EXIT_OK = 0,       /* every row accepted or a duplicate */
    IMPORT_EXIT_REJECTED = 1, /* some rows were rejected (listed) */
    IMPORT_EXIT_USAGE = 2,    /* bad command line, or FILE cannot be opened */
    IMPORT_EXIT_FAILED = 3,   /* ingest or the network failed, or FILE could not be read */
    IMPORT_EXIT_BROKEN = 4    /* the file is not a well-formed document */
};

typedef enum { IMPORT_CSV = 0, IMPORT_JSON } import_format_t;

/* ---- chunker ---- */

typedef struct import_chunker import_chunker_t;

/* What the file (not a row) got wrong; the chunker stops there. */
typedef struct {
    size_t line;     /* file line of the row (or element) that broke, 0 for the whole file */
    char column[48]; /* CSV column (from the header) the break is in, "" when unknown */
    char message[320];
} import_problem_t;

/* A chunk: whole rows, in the chunker's buffer until the next chunker call. */
typedef struct {
    const char *data;   /* row i is data[off[i] .. end[i]) (CSV: with its line end) */
    const size_t *off;  /* nrows offsets */
    const size_t *end;  /* nrows offsets */
    const size_t *line; /* nrows file lines each row starts on */
    size_t nrows;       /* 0 only for a file holding no rows: sent once to check it */
    size_t first_index; /* 0-based position of row 0 among the file's rows (JSON: index) */
    uint64_t file_off;  /* file offset of data[0] */
    size_t seq;         /* 0-based chunk number */
} import_chunk_t;

typedef enum {
    IMPORT_NEED_MORE = 0, /* feed more bytes, or call import_chunker_finish at end of file */
    IMPORT_CHUNK,         /* *chunk is ready */
    IMPORT_END,           /* every row has been returned */
    IMPORT_BROKEN,        /* the file is broken; import_chunker_problem says where */
    IMPORT_NOMEM
} import_next_t;

/* import_chunker_new returns a chunker closing a chunk at chunk_rows rows
 * (or IMPORT_CHUNK_BYTES of rows), or NULL when out of memory or chunk_rows is 0. */
import_chunker_t *import_chunker_new(import_format_t fmt, size_t chunk_rows);

/* import_chunker_destroy frees the chunker; NULL-safe, nulls *self_p. */
void import_chunker_destroy(import_chunker_t **self_p);

/* import_chunker_feed copies len bytes of the file, in order. Returns RC_OK,
 * RC_ENOMEM, or RC_ESTATE after import_chunker_finish. Call it when
 * import_chunker_next says IMPORT_NEED_MORE, so memory stays bounded by one
 * chunk plus one fed block. */
rc_err_t import_chunker_feed(import_chunker_t *ch, const void *bytes, size_t len);

/* import_chunker_finish says the file ended: the last row may lack a line end. */
void import_chunker_finish(import_chunker_t *ch);

/* import_chunker_flush ends a batch: the next import_chunker_next that runs
 * out of whole rows returns the rows fed so far as a chunk, short or not
 * (none: it says IMPORT_NEED_MORE as usual). Feed whole lines before it: a
 * row still missing its line end waits for the next chunk. `rollcall
 * replay` flushes at each clock line, so no request holds rows from both
 * sides of one. */
void import_chunker_flush(import_chunker_t *ch);

/* import_chunker_next scans what was fed and returns the next chunk (which
 * stays valid until the next call on ch) or what is needed. After
 * IMPORT_BROKEN or IMPORT_NOMEM every later call says the same. */
import_next_t import_chunker_next(import_chunker_t *ch, import_chunk_t *chunk);

/* import_chunker_held returns the bytes the chunker holds now: at most the
 * rows of one chunk, the record being read and the last block fed. */
size_t import_chunker_held(const import_chunker_t *ch);

/* import_chunker_problem returns what broke the file (valid after IMPORT_BROKEN). */
const import_problem_t *import_chunker_problem(const import_chunker_t *ch);

/* ---- bodies and slices ---- */

/* A growable byte buffer; zero it before first use, release with import_buf_free. */
typedef struct {
    char *p;
    size_t len, cap;
} import_buf_t;

/* import_buf_free frees b's bytes and zeroes it; safe twice. */
void import_buf_free(import_buf_t *b);

/* How to map a reply to rows [from, to) of a chunk back to the file. */
typedef struct {
    import_format_t fmt;
    size_t nrows;
    size_t first_index;     /* file-wide position (JSON: index) of the slice's first row */
    size_t header_line;     /* CSV: file line the header row starts on */
    size_t header_lines;    /* CSV: physical lines the header spans (1 unless quoted newlines) */
    size_t first_line;      /* file line of the first row (the header's when nrows is 0) */
    size_t last_line;       /* file line the last row starts on */
    const size_t *row_line; /* nrows file lines, borrowed from the chunk */
} import_slice_t;

/* import_body_build writes the body for rows [from, to) of chunk c (from <
 * to <= nrows, or 0, 0 for an empty chunk) into body, replacing what it
 * held, and fills *slice. Returns RC_OK, RC_EINVAL for a bad range, or
 * RC_ENOMEM (body then holds nothing useful). */
rc_err_t import_body_build(const import_chunker_t *ch, const import_chunk_t *c, size_t from,
                           size_t to, import_buf_t *body, import_slice_t *slice);

/* import_map_line turns a line of a CSV body (header = 1) into the file's
 * line; 0 (the whole body) stays 0. */
size_t import_map_line(const import_slice_t *s, size_t body_line);

/* import_map_index turns an index within a JSON body into the file's. */
size_t import_map_index(const import_slice_t *s, size_t body_index);

/* import_content_type returns "text/csv" or "application/json". */
const char *import_content_type(import_format_t fmt);

/* ---- merging replies ---- */

/* One rejected row, placed in the file. */
typedef struct {
    int has_index;   /* JSON: index is set (and line, when it could be found) */
    size_t index;    /* JSON: 0-based position in the file's array */
    size_t line;     /* file line the row starts on; 0 for the whole document */
    char column[48]; /* column or JSON key, "" when about the whole row */
    char *reason;    /* owned */
} import_reject_t;

typedef struct {
    uint64_t received, accepted, duplicates, superseded, rejected;
    uint64_t posts;     /* replies merged (chunks, or their halves after a 413) */
    uint64_t rows_done; /* rows of the merged slices (answered, stored or rejected) */
    size_t last_line;   /* file line of the last row in a merged slice */
    size_t last_index;  /* its file-wide position */
    import_reject_t *v; /* the rejected rows kept, in file order */
    size_t n, cap;
    size_t keep; /* keep at most this many in v (SIZE_MAX: all) */
} import_totals_t;

/* import_totals_init zeroes t and sets how many rejected rows it keeps. */
void import_totals_init(import_totals_t *t, size_t keep);

/* import_totals_release frees the kept rows; safe twice. */
void import_totals_release(import_totals_t *t);

/* import_merge adds one 200/422 reply (JSON body, len bytes) to t, mapping
 * each rejected row through s. The reply must be an object with integer
 * received, accepted, duplicates (superseded optional) and a rejected array
 * whose length makes accepted + duplicates + rejected = received; else
 * RC_EPARSE and err says what was wrong, and t is unchanged. RC_ENOMEM when
 * a kept row cannot be stored. */
rc_err_t import_merge(import_totals_t *t, const import_slice_t *s, const char *body, size_t len,
                      char *err, size_t errlen);

/* import_map_error_text copies a 400 reply's error into out (len bytes),
 * each "line N" of a CSV body turned into FILE's line. Returns out. */
char *import_map_error_text(const import_slice_t *s, const char *in, char *out, size_t len);

/* import_reject_format writes "line 17, column upn: reason" (CSV) or
 * "index 4 (line 9), key upn: reason" (JSON) into buf; returns buf. */
char *import_reject_format(const import_reject_t *r, char *buf, size_t len);

/* ---- decisions ---- */

/* What the transport said, before any HTTP status. */
typedef enum {
    IMPORT_NET_OK = 0, /* a reply came back; see status */
    IMPORT_NET_RETRY,  /* refused or dropped before a reply: worth retrying */
    IMPORT_NET_FAIL    /* anything else (bad URL, DNS, timeout, TLS...) */
} import_net_t;

typedef enum {
    IMPORT_DO_MERGE = 0, /* 200 or 422: merge the reply */
    IMPORT_DO_SPLIT,     /* 413: send half as many rows */
    IMPORT_DO_RETRY,     /* 503 or a dropped connection: wait, then the same again */
    IMPORT_DO_BROKEN,    /* 400: nothing was stored; the document is broken here */
    IMPORT_DO_FAIL       /* anything else: stop */
} import_action_t;

/* import_classify says what to do with a reply (or its absence). */
import_action_t import_classify(import_net_t net, long status);

/* import_backoff_ms returns the wait before retry number attempt (0-based). */
unsigned import_backoff_ms(unsigned attempt);

typedef enum {
    IMPORT_RAN_DONE = 0, /* every chunk was answered */
    IMPORT_RAN_FAILED,   /* stopped: ingest, the network or reading failed */
    IMPORT_RAN_BROKEN    /* stopped: the file (or ingest's 400) says it is broken */
} import_ran_t;

/* import_exit_code is the process status for how the run ended and how many
 * rows were rejected: failure 3 before broken 4 before rejected 1, else 0. */
int import_exit_code(import_ran_t ran, uint64_t rejected);

/* ---- progress ---- */

typedef struct {
    uint64_t bytes_done;  /* file bytes up to the end of the last row sent */
    uint64_t bytes_total; /* file size; 0 when unknown (a pipe) */
    uint64_t rows_sent;
    uint64_t elapsed_ms;
    const char *command; /* the plain line's "rollcall <command>:"; NULL is "import" */
    const char *clock;   /* replay: the clock's last instant, as FILE wrote it; NULL: none */
} import_progress_t;

/* import_progress_format writes one progress line into buf (no line end):
 * a bar for a terminal when bar is set, else plain words; with a clock, its
 * local date and time ("clock 2025-09-03 09:30") after the rate. Counts and
 * the clock only, never row contents. Returns buf. */
char *import_progress_format(char *buf, size_t len, const import_progress_t *p, int bar);

/* ---- the command ---- */

typedef struct {
    const char *kind; /* schools, calendar, pupils, contacts or marks */
    const char *path; /* FILE, or "-" for standard input */
    import_format_t format;
    const char *url; /* ingest's base URL */
    size_t chunk_rows;
    int quiet;      /* no progress and no retry notices */
    int all_errors; /* list every rejected row */
    int help;       /* --help: print import_usage, nothing else */
} import_opts_t;

/* import_usage writes the usage text of `rollcall import`. */
void import_usage(FILE *out);

/* import_parse_args reads argv (argv[0] is "import") into *o. env_url is
 * ROLLCALL_INGEST_URL's value or NULL. Returns RC_OK (check o->help) or
 * RC_EINVAL with err saying what is wrong. o's strings point into argv. */
rc_err_t import_parse_args(int argc, char **argv, const char *env_url, import_opts_t *o, char *err,
                           size_t errlen);

/* import_opt_value matches argv[*i] against option name, taking its value
 * from "--name=value" or the next argument (then *i moves past it): 1
 * matched, 0 not this option, -1 matched but the value is missing. */
int import_opt_value(int argc, char **argv, int *i, const char *name, const char **val);

/* import_check_common checks the options import and replay share: url
 * must be http:// or https://; rows (--chunk-rows, NULL when not given)
 * a whole number from 1 to IMPORT_MAX_ROWS, stored in *chunk_rows.
 * RC_EINVAL with err saying what is wrong. */
rc_err_t import_check_common(const char *url, const char *rows, size_t *chunk_rows, char *err,
                             size_t errlen);

/* A reply from the poster; body stays the poster's until its next call. */
typedef struct {
    import_net_t net;
    long status;      /* HTTP status when net is IMPORT_NET_OK */
    const char *body; /* reply body, may be NULL when len is 0 */
    size_t len;
    char error[256]; /* transport error, when net is not IMPORT_NET_OK */
} import_reply_t;

/* POSTs body (len bytes, content_type) to the kind's path and fills *reply. */
typedef void (*import_post_fn)(void *ctx, const char *content_type, const char *body, size_t len,
                               import_reply_t *reply);

/* Where run writes and how it keeps time; tests pass fakes. */
typedef struct {
    FILE *out;                /* the summary */
    FILE *err;                /* messages, retry notices and progress */
    int progress;             /* 0 none, 1 redrawn bar (a terminal), 2 a plain line now and then */
    const char *target;       /* "POST http://host:port/v1/marks", for messages */
    uint64_t (*now_ms)(void); /* a monotonic clock */
    void (*sleep_ms)(unsigned ms); /* waits between retries */
    uint64_t bytes_total;          /* FILE's size, 0 when unknown */
    const char *command;           /* "rollcall <command>: " before messages; NULL is "import" */
} import_io_t;

/* ---- the sender (shared with `rollcall replay`) ---- */

/* One run's sending state: chunks posted, replies merged into t, progress
 * and messages through io. Set it up with import_sender_init, free it with
 * import_sender_release; the fields are for reading. */
typedef struct {
    const import_io_t *io;
    const char *shown; /* FILE as messages name it */
    import_format_t format;
    int quiet;
    import_post_fn post;
    void *post_ctx;
    import_buf_t body;
    import_totals_t t;
    size_t limit;         /* rows per request: chunk_rows, halved by each 413 */
    uint64_t chunks_done; /* chunks every row of which was answered */
    int64_t byte_skew;    /* FILE bytes minus chunker bytes (replay: clock lines), for progress */
    import_progress_t prog;
    uint64_t start_ms, drawn_ms;
    int bar_shown;  /* a progress bar is on the terminal's last line */
    int miscounted; /* ingest once counted a request's rows differently */
} import_sender_t;

/* import_sender_init sets s up to send o's FILE through post (post_ctx)
 * with io; nothing is allocated until the first send. */
void import_sender_init(import_sender_t *s, const import_opts_t *o, import_post_fn post,
                        void *post_ctx, const import_io_t *io);

/* import_sender_release frees what s holds; safe twice. */
void import_sender_release(import_sender_t *s);

/* import_sender_post posts body (len bytes of content_type) through post
 * (ctx), retrying refusals and 503s IMPORT_RETRIES times with backoff (a
 * notice each, unless quiet). Fills *rep (valid until post's next call) and
 * *waited_ms, and returns import_classify's verdict on the last reply.
 * target ("POST http://...") names the request in notices. */
import_action_t import_sender_post(import_sender_t *s, import_post_fn post, void *ctx,
                                   const char *target, const char *content_type, const char *body,
                                   size_t len, import_reply_t *rep, unsigned *waited_ms);

/* import_sender_send posts the rows of chunk c (from ch) in requests of
 * s->limit rows, merging each reply into s->t, halving on 413 and drawing
 * progress. IMPORT_RAN_DONE, or how it stopped (the reason already said). */
import_ran_t import_sender_send(import_sender_t *s, const import_chunker_t *ch,
                                const import_chunk_t *c);

/* import_sender_say writes "rollcall <command>: " and one message line to
 * io->err, above any progress bar. */
void import_sender_say(import_sender_t *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* import_sender_say_problem says where and how the chunker found FILE broken. */
void import_sender_say_problem(import_sender_t *s, const import_problem_t *p);

/* import_sender_progress redraws the progress at most every
 * IMPORT_TTY_REDRAW_MS (a bar) or IMPORT_PLAIN_EVERY_MS (a plain line). */
void import_sender_progress(import_sender_t *s);

/* import_sender_progress_clear wipes a progress bar off the terminal line. */
void import_sender_progress_clear(import_sender_t *s);

/* import_sender_summary prints the totals to io->out (superseded too when
 * marks is set), then extra (a line, no line end; NULL: none), then the
 * rejected rows kept. */
void import_sender_summary(const import_sender_t *s, int marks, const char *extra);

/* import_describe_reply says what came back: the transport error, or the
 * status and the reply's own error (never a raw body: it may be a proxy's
 * HTML page). Returns out. */
char *import_describe_reply(const import_reply_t *rep, char *out, size_t len);

/* import_reply_error copies the "error" of a JSON error reply into out, or
 * "". Returns out. */
char *import_reply_error(const import_reply_t *rep, char *out, size_t len);

/* import_run streams in (opened by the caller, read to its end) through
 * the chunker to post, prints progress, notices and the summary through io,
 * and returns the exit status (IMPORT_EXIT_*). */
int import_run(const import_opts_t *o, FILE *in, import_post_fn post, void *post_ctx,
               const import_io_t *io);

/* import_monotonic_ms is a monotonic clock in milliseconds; import_sleep_ms
 * waits ms milliseconds (signals do not cut it short): the real import_io_t
 * now_ms and sleep_ms. */
uint64_t import_monotonic_ms(void);
void import_sleep_ms(unsigned ms);

/* import_main is `rollcall import ...` as a process runs it: argv[0] is
 * "import". Returns the exit status. */
/* import_open_input opens path ("-" = standard input) for command cmd
 * ("import", "replay") and starts libcurl. Returns IMPORT_EXIT_OK with *in
 * set (and *size, the bytes of a regular file, else 0), or the exit code after printing why
 * ("rollcall <cmd>: ..."). The caller closes *in (unless stdin) and calls curl_global_cleanup. */
int import_open_input(const char *cmd, const char *path, FILE **in, uint64_t *size);

int import_main(int argc, char **argv);

#endif
