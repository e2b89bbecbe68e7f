/* import_run.c - `rollcall import` as a command: arguments, the send loop, progress, the summary.
 */
#include "import.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"
#include "rollcall/records.h"

#if defined(__GNUC__)
#define RUN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RUN_PRINTF(fmt, args)
#endif

#define READ_BLOCK (1u << 20)

void import_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall import KIND FILE [options]\n"
            "\n"
            "Send FILE to ingest as KIND records, a chunk of rows at a time, and report\n"
            "each rejected row by its line in FILE.\n"
            "\n"
            "  KIND  schools, calendar, pupils, contacts or marks (the first time, in\n"
            "        that order: schools, then calendar and pupils, contacts, marks)\n"
            "  FILE  a .csv file (header row, RFC 4180 quoting) or a .json file (an\n"
            "        array of objects); - reads standard input (give --format)\n"
            "\n"
            "Options:\n"
            "  --url URL         ingest's base URL (default: $%s if set,\n"
            "                    else %s)\n"
            "  --format FMT      csv or json, instead of going by FILE's extension\n"
            "  --chunk-rows N    rows per request, 1 to %d (default %d); halved\n"
            "                    automatically while ingest says a request is too large\n"
            "  --all-errors      list every rejected row (default: the first %d)\n"
            "  -q, --quiet       no progress or retry notices on stderr\n"
            "  -h, --help        show this help\n"
            "\n"
            "Exit status:\n"
            "  0  every row was accepted (or was already held)\n"
            "  1  some rows were rejected; each is listed with its line and the reason\n"
            "  2  usage error, or FILE cannot be opened\n"
            "  3  ingest or the network failed (after retries), or FILE could not be\n"
            "     read; running the same command again is safe and resumes: rows\n"
            "     already stored count as duplicates\n"
            "  4  FILE is not a well-formed CSV or JSON document; nothing from the\n"
            "     broken chunk on was stored\n",
            IMPORT_URL_ENV, IMPORT_DEFAULT_URL, IMPORT_MAX_ROWS, IMPORT_DEFAULT_ROWS,
            IMPORT_LIST_DEFAULT);
}

/* ---- arguments ---- */

/* opt_value matches argv[*i] against option name, taking its value from
 * "--name=value" or the next argument: 1 matched, 0 not this option, -1
 * matched but the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* format_of picks the format from --format, else from FILE's extension. */
static rc_err_t format_of(const char *opt, const char *path, import_format_t *out, char *err,
                          size_t errlen)
{
    const char *name = opt;

    if (!name) {
        const char *dot = strcmp(path, "-") == 0 ? NULL : strrchr(path, '.');
        const char *slash = strrchr(path, '/');
        if (!dot || (slash && dot < slash)) {
            snprintf(err, errlen,
                     "cannot tell the format of %s from its name: add --format csv or "
                     "--format json",
                     strcmp(path, "-") == 0 ? "standard input" : path);
            return RC_EINVAL;
        }
        name = dot + 1;
    }
    if (strcasecmp(name, "csv") == 0) {
        *out = IMPORT_CSV;
    } else if (strcasecmp(name, "json") == 0) {
        *out = IMPORT_JSON;
    } else {
        snprintf(err, errlen,
                 opt ? "--format must be csv or json, not '%s'"
                     : "%s: not a .csv or .json file: add --format csv or json",
                 opt ? opt : path);
        return RC_EINVAL;
    }
    return RC_OK;
}

rc_err_t import_parse_args(int argc, char **argv, const char *env_url, import_opts_t *o, char *err,
                           size_t errlen)
{
    const char *format = NULL, *rows = NULL, *pos[2] = {NULL, NULL};
    int npos = 0, options_end = 0;
    rec_kind_t kind;

    memset(o, 0, sizeof *o);
    o->url = env_url && *env_url ? env_url : IMPORT_DEFAULT_URL;
    o->chunk_rows = IMPORT_DEFAULT_ROWS;
    err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int m = 0;
        if (options_end || a[0] != '-' || a[1] == '\0') {
            if (npos == 2) {
                snprintf(err, errlen, "unexpected argument '%s'", a);
                return RC_EINVAL;
            }
            pos[npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_end = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
            return RC_OK;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--all-errors") == 0) {
            o->all_errors = 1;
        } else if ((m = opt_value(argc, argv, &i, "--url", &o->url)) != 0 ||
                   (m = opt_value(argc, argv, &i, "--format", &format)) != 0 ||
                   (m = opt_value(argc, argv, &i, "--chunk-rows", &rows)) != 0) {
            if (m < 0) {
                snprintf(err, errlen, "%s needs a value", a);
                return RC_EINVAL;
            }
        } else {
            snprintf(err, errlen, "unknown option '%s'", a);
            return RC_EINVAL;
        }
    }

    if (npos < 2) {
        snprintf(err, errlen, npos ? "FILE is missing" : "KIND and FILE are missing");
        return RC_EINVAL;
    }
    if (rec_kind_parse(pos[0], &kind) != RC_OK) {
        snprintf(err, errlen,
                 "unknown KIND '%s': it is one of schools, calendar, pupils, contacts, marks",
                 pos[0]);
        return RC_EINVAL;
    }
    o->kind = rec_kind_name(kind);
    o->path = pos[1];
    if (format_of(format, o->path, &o->format, err, errlen) != RC_OK)
        return RC_EINVAL;
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        snprintf(err, errlen, "the URL must start with http:// or https://, not '%s'", o->url);
        return RC_EINVAL;
    }
    if (rows) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(rows, &end, 10);
        if (rows[0] < '0' || rows[0] > '9' || *end != '\0' || errno || n < 1 ||
            n > IMPORT_MAX_ROWS) {
            snprintf(err, errlen, "--chunk-rows must be a whole number from 1 to %d, not '%s'",
                     IMPORT_MAX_ROWS, rows);
            return RC_EINVAL;
        }
        o->chunk_rows = (size_t)n;
    }
    return RC_OK;
}

/* ---- the run ---- */

typedef struct {
    const import_opts_t *o;
    const import_io_t *io;
    const char *shown; /* FILE as messages name it */
    import_post_fn post;
    void *post_ctx;
    import_chunker_t *ch;
    import_buf_t body;
    import_totals_t t;
    size_t limit;         /* rows per request: chunk_rows, halved by each 413 */
    uint64_t chunks_done; /* chunks every row of which was answered */
    import_progress_t prog;
    uint64_t start_ms, drawn_ms;
    int bar_shown;  /* a progress bar is on the terminal's last line */
    int miscounted; /* ingest once counted a request's rows differently */
} run_t;

static void progress_clear(run_t *r)
{
    if (r->bar_shown) {
        fputs("\r\033[K", r->io->err);
        r->bar_shown = 0;
    }
}

/* progress_tick redraws the bar at most every IMPORT_TTY_REDRAW_MS, or
 * writes a plain line at most every IMPORT_PLAIN_EVERY_MS. */
static void progress_tick(run_t *r)
{
    char line[160];
    uint64_t now = r->io->now_ms();

    if (r->io->progress == 0)
        return;
    if (now - r->drawn_ms < (r->io->progress == 1 ? IMPORT_TTY_REDRAW_MS : IMPORT_PLAIN_EVERY_MS))
        return;
    r->drawn_ms = now;
    r->prog.elapsed_ms = now - r->start_ms;
    import_progress_format(line, sizeof line, &r->prog, r->io->progress == 1);
    if (r->io->progress == 1) {
        fprintf(r->io->err, "\r%s\033[K", line);
        r->bar_shown = 1;
    } else {
        fprintf(r->io->err, "%s\n", line);
    }
    fflush(r->io->err);
}

/* say writes one message line to the error stream, above any progress bar. */
static void say(run_t *r, const char *fmt, ...) RUN_PRINTF(2, 3);

static void say(run_t *r, const char *fmt, ...)
{
    va_list ap;
    progress_clear(r);
    fputs("rollcall import: ", r->io->err);
    va_start(ap, fmt);
    vfprintf(r->io->err, fmt, ap);
    va_end(ap);
    fputc('\n', r->io->err);
    fflush(r->io->err);
}

/* reply_error copies the "error" of a JSON error reply into out, or "". */
static char *reply_error(const import_reply_t *rep, char *out, size_t len)
{
    json_t *root = rep->len ? json_loadb(rep->body, rep->len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(root, "error"));
    snprintf(out, len, "%s", e ? e : "");
    json_decref(root);
    return out;
}

/* describe says what came back: the transport error, or the status and the
 * reply's own error (never a raw body: it may be a proxy's HTML page). */
static char *describe(const import_reply_t *rep, char *out, size_t len)
{
    char e[400];
    if (rep->net != IMPORT_NET_OK)
        snprintf(out, len, "%s", rep->error);
    else if (reply_error(rep, e, sizeof e)[0]) {
        if (snprintf(out, len, "HTTP %ld: %s", rep->status, e) >= (int)len)
            out[len - 1] = '\0'; /* cut short: the start says enough */
    } else {
        snprintf(out, len, "HTTP %ld", rep->status);
    }
    return out;
}

/* where writes the file lines (CSV) or indexes (JSON) a slice holds. */
static char *where(const import_slice_t *s, char *out, size_t len)
{
    if (s->fmt == IMPORT_JSON && s->nrows)
        snprintf(out, len, "records at index %zu to %zu (lines %zu to %zu)", s->first_index,
                 s->first_index + s->nrows - 1, s->first_line, s->last_line);
    else if (s->nrows)
        snprintf(out, len, "rows from line %zu to %zu", s->first_line, s->last_line);
    else
        snprintf(out, len, "the header, with no rows");
    return out;
}

/* broken_400 reports a 400: ingest stored nothing of this request. */
static void broken_400(run_t *r, const import_slice_t *s, const import_reply_t *rep)
{
    char e[400], mapped[480], w[96];
    import_map_error_text(s, reply_error(rep, e, sizeof e), mapped, sizeof mapped);
    say(r, "%s: ingest found the request holding %s not well formed (HTTP 400): %s", r->shown,
        where(s, w, sizeof w), mapped[0] ? mapped : "(no reason given)");
}

/* send_chunk posts chunk c, in pieces of r->limit rows, retrying 503s and
 * refusals with backoff and halving the pieces on 413. */
static import_ran_t send_chunk(run_t *r, const import_chunk_t *c)
{
    size_t i = 0;
    char what[400], w[96], err[256];

    do {
        size_t k = c->nrows - i < r->limit ? c->nrows - i : r->limit;
        import_slice_t s;
        import_reply_t rep;
        import_action_t act;
        unsigned attempt = 0, waited = 0;

        if (import_body_build(r->ch, c, i, i + k, &r->body, &s) != RC_OK) {
            say(r, "out of memory");
            return IMPORT_RAN_FAILED;
        }
        for (;;) {
            r->post(r->post_ctx, import_content_type(r->o->format), r->body.p, r->body.len, &rep);
            act = import_classify(rep.net, rep.status);
            if (act != IMPORT_DO_RETRY || attempt >= IMPORT_RETRIES)
                break;
            unsigned ms = import_backoff_ms(attempt++);
            if (!r->o->quiet)
                say(r, "%s: %s; trying again in %.2f s (retry %u of %d)", r->io->target,
                    describe(&rep, what, sizeof what), ms / 1000.0, attempt, IMPORT_RETRIES);
            r->io->sleep_ms(ms);
            waited += ms;
        }

        switch (act) {
        case IMPORT_DO_MERGE: {
            uint64_t before = r->t.received;
            rc_err_t rc = import_merge(&r->t, &s, rep.body, rep.len, err, sizeof err);
            if (rc == RC_ENOMEM) {
                say(r, "out of memory");
                return IMPORT_RAN_FAILED;
            }
            if (rc != RC_OK) {
                say(r, "%s: HTTP %ld, but %s", r->io->target, rep.status, err);
                return IMPORT_RAN_FAILED;
            }
            if (r->t.received - before != k && !r->miscounted) {
                /* Blank rows are skipped on both sides, so this should not happen. */
                r->miscounted = 1;
                say(r,
                    "warning: ingest counted %llu rows in a request of %zu (%s); the lines "
                    "listed below may be off",
                    (unsigned long long)(r->t.received - before), k, where(&s, w, sizeof w));
            }
            i += k;
            r->prog.rows_sent += k;
            if (k)
                r->prog.bytes_done = c->file_off + c->end[i - 1];
            progress_tick(r);
            break;
        }
        case IMPORT_DO_SPLIT:
            if (k <= 1) {
                say(r, "%s: HTTP 413: %s alone is larger than ingest takes (its max_body)",
                    r->io->target, where(&s, w, sizeof w));
                return IMPORT_RAN_FAILED;
            }
            r->limit = k / 2;
            if (!r->o->quiet)
                say(r, "%s: HTTP 413 (too large) for %zu rows; sending %zu rows per request",
                    r->io->target, k, r->limit);
            break;
        case IMPORT_DO_BROKEN:
            broken_400(r, &s, &rep);
            return IMPORT_RAN_BROKEN;
        case IMPORT_DO_RETRY:
            say(r, "%s: %s; gave up after %d tries over %.1f s", r->io->target,
                describe(&rep, what, sizeof what), IMPORT_RETRIES + 1, waited / 1000.0);
            return IMPORT_RAN_FAILED;
        default:
            say(r, "%s: %s", r->io->target, describe(&rep, what, sizeof what));
            return IMPORT_RAN_FAILED;
        }
    } while (i < c->nrows);
    r->chunks_done++;
    return IMPORT_RAN_DONE;
}

/* answered says how far ingest got, for the notes after a stop. */
static char *answered(const run_t *r, char *out, size_t len)
{
    const import_totals_t *t = &r->t;
    if (r->o->format == IMPORT_JSON)
        snprintf(out, len,
                 "%llu chunk(s), %llu records (index 0 to %zu, up to line %zu), had been answered",
                 (unsigned long long)r->chunks_done, (unsigned long long)t->rows_done,
                 t->last_index, t->last_line);
    else
        snprintf(out, len, "%llu chunk(s), %llu rows (up to line %zu), had been answered",
                 (unsigned long long)r->chunks_done, (unsigned long long)t->rows_done,
                 t->last_line);
    return out;
}

/* stopped tells the user where things stand after a failure or a broken file. */
static void stopped(run_t *r, import_ran_t ran)
{
    char note[200];
    int none = r->t.posts == 0;

    if (ran == IMPORT_RAN_FAILED && none)
        say(r, "stopped before ingest stored anything: run the same command again once it "
               "answers");
    else if (ran == IMPORT_RAN_FAILED)
        say(r,
            "stopped: %s before this. Ingest is idempotent: running the same command again is "
            "safe and resumes (rows already stored count as duplicates)",
            answered(r, note, sizeof note));
    else if (ran == IMPORT_RAN_BROKEN && none)
        say(r, "stopped: nothing was stored; fix %s and run the command again", r->shown);
    else if (ran == IMPORT_RAN_BROKEN)
        say(r,
            "stopped: %s before this; nothing after them was sent. Fix %s and run the "
            "command again (rows already stored count as duplicates)",
            answered(r, note, sizeof note), r->shown);
}

static void print_summary(const run_t *r)
{
    const import_totals_t *t = &r->t;
    FILE *out = r->io->out;
    char line[1024];

    fprintf(out, "received:   %llu\n", (unsigned long long)t->received);
    fprintf(out, "accepted:   %llu\n", (unsigned long long)t->accepted);
    fprintf(out, "duplicates: %llu\n", (unsigned long long)t->duplicates);
    if (strcmp(r->o->kind, "marks") == 0)
        fprintf(out, "superseded: %llu\n", (unsigned long long)t->superseded);
    fprintf(out, "rejected:   %llu\n", (unsigned long long)t->rejected);
    for (size_t i = 0; i < t->n; i++)
        fprintf(out, "%s\n", import_reject_format(&t->v[i], line, sizeof line));
    if (t->rejected > t->n)
        fprintf(out, "and %llu more rejected rows (--all-errors lists them all)\n",
                (unsigned long long)(t->rejected - t->n));
    fflush(out);
}

int import_run(const import_opts_t *o, FILE *in, import_post_fn post, void *post_ctx,
               const import_io_t *io)
{
    run_t r;
    char *block = NULL;
    import_ran_t ran = IMPORT_RAN_DONE;

    memset(&r, 0, sizeof r);
    r.o = o;
    r.shown = strcmp(o->path, "-") == 0 ? "standard input" : o->path;
    r.io = io;
    r.post = post;
    r.post_ctx = post_ctx;
    r.limit = o->chunk_rows;
    r.prog.bytes_total = io->bytes_total;
    r.start_ms = r.drawn_ms = io->now_ms();
    import_totals_init(&r.t, o->all_errors ? SIZE_MAX : IMPORT_LIST_DEFAULT);

    if (!(r.ch = import_chunker_new(o->format, o->chunk_rows)) || !(block = malloc(READ_BLOCK))) {
        say(&r, "out of memory");
        ran = IMPORT_RAN_FAILED;
        goto out;
    }
    for (;;) {
        import_chunk_t c;
        import_next_t st = import_chunker_next(r.ch, &c);
        if (st == IMPORT_NEED_MORE) {
            size_t n = fread(block, 1, READ_BLOCK, in);
            if (n > 0) {
                if (import_chunker_feed(r.ch, block, n) != RC_OK) {
                    say(&r, "out of memory");
                    ran = IMPORT_RAN_FAILED;
                    goto out;
                }
            } else if (ferror(in)) {
                say(&r, "cannot read %s: %s", r.shown, strerror(errno));
                ran = IMPORT_RAN_FAILED;
                goto out;
            } else {
                import_chunker_finish(r.ch);
            }
        } else if (st == IMPORT_CHUNK) {
            if ((ran = send_chunk(&r, &c)) != IMPORT_RAN_DONE)
                goto out;
        } else if (st == IMPORT_BROKEN) {
            const import_problem_t *p = import_chunker_problem(r.ch);
            char at[96] = "";
            if (p->line && p->column[0])
                snprintf(at, sizeof at, " line %zu, column %s:", p->line, p->column);
            else if (p->line)
                snprintf(at, sizeof at, " line %zu:", p->line);
            say(&r, "%s:%s %s", r.shown, at, p->message);
            ran = IMPORT_RAN_BROKEN;
            goto out;
        } else if (st == IMPORT_NOMEM) {
            say(&r, "out of memory");
            ran = IMPORT_RAN_FAILED;
            goto out;
        } else {
            break; /* IMPORT_END */
        }
    }
out:
    progress_clear(&r);
    print_summary(&r);
    stopped(&r, ran);
    int status = import_exit_code(ran, r.t.rejected);
    free(block);
    import_buf_free(&r.body);
    import_totals_release(&r.t);
    import_chunker_destroy(&r.ch);
    return status;
}

/* ---- the process ---- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int import_main(int argc, char **argv)
{
    import_opts_t o;
    import_io_t io;
    http_client_t *client = NULL;
    FILE *in = NULL;
    struct stat sb;
    char err[400], path[32], target[1100];
    int curl_up = 0, status = IMPORT_EXIT_FAILED;

    if (import_parse_args(argc, argv, getenv(IMPORT_URL_ENV), &o, err, sizeof err) != RC_OK) {
        fprintf(stderr, "rollcall import: %s\nTry 'rollcall import --help'.\n", err);
        return IMPORT_EXIT_USAGE;
    }
    if (o.help) {
        import_usage(stdout);
        return IMPORT_EXIT_OK;
    }
    in = strcmp(o.path, "-") == 0 ? stdin : fopen(o.path, "rb");
    if (!in || fstat(fileno(in), &sb) != 0 || S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "rollcall import: cannot open %s: %s\n", o.path,
                in ? "it is a directory" : strerror(errno));
        status = IMPORT_EXIT_USAGE;
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "rollcall import: libcurl failed to start\n");
        goto out;
    }
    curl_up = 1;
    snprintf(path, sizeof path, "/v1/%s", o.kind);
    if (!(client = http_client_new(o.url, path))) {
        fprintf(stderr, "rollcall import: cannot set up an HTTP client for %s\n", o.url);
        goto out;
    }
    snprintf(target, sizeof target, "POST %s", http_client_url(client));

    memset(&io, 0, sizeof io);
    io.out = stdout;
    io.err = stderr;
    io.progress = o.quiet ? 0 : isatty(fileno(stderr)) ? 1 : 2;
    io.target = target;
    io.now_ms = monotonic_ms;
    io.sleep_ms = sleep_ms;
    io.bytes_total = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    status = import_run(&o, in, http_client_post, client, &io);
out:
    http_client_destroy(&client);
    if (curl_up)
        curl_global_cleanup();
    if (in && in != stdin)
        fclose(in);
    return status;
}
