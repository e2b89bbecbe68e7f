/* replay.h - `rollcall replay`: send a register and its clock lines to ingest, in file order.
 *
 * A replay file (docs/replay.md) is a marks.csv whose lines may also be
 * clock lines, "@<ISO 8601 instant with offset>", or comments ("#...",
 * and blank lines). The marks between two clock lines go to POST /v1/marks
 * through import's chunker and sender (import.h); each clock line goes to
 * POST /v1/clock once every row before it is answered, so ingest puts the
 * tick among the marks exactly where the file has it.
 *
 * The scanner below splits the file's bytes into CSV text for the chunker
 * and clock lines, without I/O: a clock or comment line is handed on as one
 * blank line, so the chunker's line numbers stay the file's.
 */
#ifndef ROLLCALL_CLI_REPLAY_H
#define ROLLCALL_CLI_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "import.h"
#include "rollcall/date.h"

#define REPLAY_CLOCK_MAX    64 /* bytes after '@'; more is not one instant */
#define REPLAY_MARKS_HEADER "urn,upn,date,session,code,minutes_late,recorded_at"

/* ---- scanner ---- */

typedef enum {
    REPLAY_MORE = 0, /* the block is used up: give the next one, or call replay_scanner_end */
    REPLAY_ROWS,  /* piece.data/len: CSV text for the chunker ("\n" for a clock or comment line) */
    REPLAY_CLOCK, /* piece.line/text/now: move the clock, once the rows before are answered */
    REPLAY_BAD    /* piece.line/message: the file is broken at this line; stop */
} replay_next_t;

typedef struct {
    const char *data; /* REPLAY_ROWS: bytes in the caller's block, or a static "\n" */
    size_t len;
    size_t line;                          /* REPLAY_CLOCK, REPLAY_BAD: the file's line */
    char text[REPLAY_CLOCK_MAX + 1];      /* REPLAY_CLOCK: the instant as written */
    rc_time_t now;                        /* REPLAY_CLOCK: the instant, UTC microseconds */
    char message[REPLAY_CLOCK_MAX + 256]; /* REPLAY_BAD: what is wrong, without the line */
} replay_piece_t;

/* The scanner's state; zero it with replay_scanner_init. */
typedef struct {
    size_t line;     /* the line of the next byte */
    uint64_t offset; /* bytes of the file consumed */
    int bol;         /* the next byte starts a line */
    int in_quote;    /* inside a quoted CSV field (its line ends are data) */
    int special;     /* inside a clock ('@') or comment ('#') line, else 0 */
    int header_seen; /* a CSV line with text has been read: the header */
    int pending_nl;  /* a clock line was returned: its blank line comes next */
    int bad;         /* REPLAY_BAD was returned: it is returned again */
    size_t special_line;
    char clock[REPLAY_CLOCK_MAX + 1];
    size_t clock_len; /* bytes kept in clock; more than REPLAY_CLOCK_MAX: too long */
    int have_last;    /* a clock line was returned before */
    rc_time_t last;
    size_t last_line;
    char last_text[REPLAY_CLOCK_MAX + 1];
    replay_piece_t bad_piece;
} replay_scanner_t;

/* replay_scanner_init readies sc for a file's first byte. */
void replay_scanner_init(replay_scanner_t *sc);

/* replay_scanner_next reads block[*pos .. len) on from where the last call
 * stopped, advances *pos past what it used, and returns the next piece.
 * REPLAY_BAD for a clock line that is not one instant with an offset, one
 * before the header row, or one earlier than the clock line before it (an
 * equal one is fine: the clock stays). */
replay_next_t replay_scanner_next(replay_scanner_t *sc, const char *block, size_t len, size_t *pos,
                                  replay_piece_t *piece);

/* replay_scanner_end says the file ended: a last clock line without a line
 * end is returned (REPLAY_CLOCK or REPLAY_BAD), else REPLAY_MORE. */
replay_next_t replay_scanner_end(replay_scanner_t *sc, replay_piece_t *piece);

/* ---- the command ---- */

typedef struct {
    const char *path; /* FILE, or "-" for standard input */
    const char *url;  /* ingest's base URL */
    size_t chunk_rows;
    int quiet;      /* no progress and no retry notices */
    int all_errors; /* list every rejected row */
    int help;       /* --help: print replay_usage, nothing else */
} replay_opts_t;

/* replay_usage writes the usage text of `rollcall replay`. */
void replay_usage(FILE *out);

/* replay_parse_args reads argv (argv[0] is "replay") into *o. env_url is
 * ROLLCALL_INGEST_URL's value or NULL. Returns RC_OK (check o->help) or
 * RC_EINVAL with err saying what is wrong. o's strings point into argv. */
rc_err_t replay_parse_args(int argc, char **argv, const char *env_url, replay_opts_t *o, char *err,
                           size_t errlen);

/* Where the marks and the clock go: two posters (tests pass fakes), and the
 * clock's "POST http://.../v1/clock" for messages (io->target is the marks'). */
typedef struct {
    import_post_fn marks;
    void *marks_ctx;
    import_post_fn clock;
    void *clock_ctx;
    const char *clock_target;
} replay_posters_t;

/* replay_run reads in (opened by the caller) to its end, sending its rows
 * and clock lines strictly in order through posters, waiting for each
 * answer; prints progress, notices and the summary through io. Returns the
 * exit status, as `rollcall import`'s (IMPORT_EXIT_*): a clock line ingest
 * refuses (409: its clock is later, or it is not in replay mode) stops the
 * replay with IMPORT_EXIT_FAILED, a broken file with IMPORT_EXIT_BROKEN. */
int replay_run(const replay_opts_t *o, FILE *in, const replay_posters_t *posters,
               const import_io_t *io);

/* replay_main is `rollcall replay ...` as a process runs it: argv[0] is
 * "replay". Returns the exit status. */
int replay_main(int argc, char **argv);

#endif
