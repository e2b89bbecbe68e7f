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

int import_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
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
        } else if ((m = import_opt_value(argc, argv, &i, "--url", &o->url)) != 0 ||
                   (m = import_opt_value(argc, argv, &i, "--format", &format)) != 0 ||
                   (m = import_opt_value(argc, argv, &i, "--chunk-rows", &rows)) != 0) {
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
    return import_check_common(o->url, rows, &o->chunk_rows, err, errlen);
}

rc_err_t import_check_common(const char *url, const char *rows, size_t *chunk_rows, char *err,
                             size_t errlen)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "the URL must start with http:// or https://, not '%s'", url);
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
        *chunk_rows = (size_t)n;
    }
    return RC_OK;
}

/* ---- the sender ---- */

void import_sender_init(import_sender_t *s, const import_opts_t *o, import_post_fn post,
                        void *post_ctx, const import_io_t *io)
{
    memset(s, 0, sizeof *s);
    s->io = io;
    s->shown = strcmp(o->path, "-") == 0 ? "standard input" : o->path;
    s->format = o->format;
    s->quiet = o->quiet;
    s->post = post;
    s->post_ctx = post_ctx;
    s->limit = o->chunk_rows;
    s->prog.bytes_total = io->bytes_total;
    s->prog.command = io->command;
    s->start_ms = s->drawn_ms = io->now_ms();
    import_totals_init(&s->t, o->all_errors ? SIZE_MAX : IMPORT_LIST_DEFAULT);
}

void import_sender_release(import_sender_t *s)
{
    import_buf_free(&s->body);
    import_totals_release(&s->t);
}

void import_sender_progress_clear(import_sender_t *s)
{
    if (s->bar_shown) {
        fputs("\r\033[K", s->io->err);
        s->bar_shown = 0;
    }
}

void import_sender_progress(import_sender_t *s)
{
    char line[200];
    uint64_t now = s->io->now_ms();

    if (s->io->progress == 0)
        return;
    if (now - s->drawn_ms < (s->io->progress == 1 ? IMPORT_TTY_REDRAW_MS : IMPORT_PLAIN_EVERY_MS))
        return;
    s->drawn_ms = now;
    s->prog.elapsed_ms = now - s->start_ms;
    import_progress_format(line, sizeof line, &s->prog, s->io->progress == 1);
    if (s->io->progress == 1) {
        fprintf(s->io->err, "\r%s\033[K", line);
        s->bar_shown = 1;
    } else {
        fprintf(s->io->err, "%s\n", line);
    }
    fflush(s->io->err);
}

void import_sender_say(import_sender_t *s, const char *fmt, ...)
{
    va_list ap;
    import_sender_progress_clear(s);
    fprintf(s->io->err, "rollcall %s: ", s->io->command ? s->io->command : "import");
    va_start(ap, fmt);
    vfprintf(s->io->err, fmt, ap);
    va_end(ap);
    fputc('\n', s->io->err);
    fflush(s->io->err);
}

void import_sender_say_problem(import_sender_t *s, const import_problem_t *p)
{
    char at[96] = "";
    if (p->line && p->column[0])
        snprintf(at, sizeof at, " line %zu, column %s:", p->line, p->column);
    else if (p->line)
        snprintf(at, sizeof at, " line %zu:", p->line);
    import_sender_say(s, "%s:%s %s", s->shown, at, p->message);
}

char *import_reply_error(const import_reply_t *rep, char *out, size_t len)
{
    json_t *root = rep->len ? json_loadb(rep->body, rep->len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(root, "error"));
    snprintf(out, len, "%s", e ? e : "");
    json_decref(root);
    return out;
}

char *import_describe_reply(const import_reply_t *rep, char *out, size_t len)
{
    char e[400];
    if (rep->net != IMPORT_NET_OK)
        snprintf(out, len, "%s", rep->error);
    else if (import_reply_error(rep, e, sizeof e)[0]) {
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
static void broken_400(import_sender_t *s, const import_slice_t *sl, const import_reply_t *rep)
{
    char e[400], mapped[480], w[96];
    import_map_error_text(sl, import_reply_error(rep, e, sizeof e), mapped, sizeof mapped);
    import_sender_say(s, "%s: ingest found the request holding %s not well formed (HTTP 400): %s",
                      s->shown, where(sl, w, sizeof w), mapped[0] ? mapped : "(no reason given)");
}

import_action_t import_sender_post(import_sender_t *s, import_post_fn post, void *ctx,
                                   const char *target, const char *content_type, const char *body,
                                   size_t len, import_reply_t *rep, unsigned *waited_ms)
{
    char what[400];
    unsigned attempt = 0;
    import_action_t act;

    *waited_ms = 0;
    for (;;) {
        post(ctx, content_type, body, len, rep);
        act = import_classify(rep->net, rep->status);
        if (act != IMPORT_DO_RETRY || attempt >= IMPORT_RETRIES)
            return act;
        unsigned ms = import_backoff_ms(attempt++);
        if (!s->quiet)
            import_sender_say(s, "%s: %s; trying again in %.2f s (retry %u of %d)", target,
                              import_describe_reply(rep, what, sizeof what), ms / 1000.0, attempt,
                              IMPORT_RETRIES);
        s->io->sleep_ms(ms);
        *waited_ms += ms;
    }
}

import_ran_t import_sender_send(import_sender_t *s, const import_chunker_t *ch,
                                const import_chunk_t *c)
{
    size_t i = 0;
    char what[400], w[96], err[256];

    do {
        size_t k = c->nrows - i < s->limit ? c->nrows - i : s->limit;
        import_slice_t sl;
        import_reply_t rep;
        unsigned waited;

        if (import_body_build(ch, c, i, i + k, &s->body, &sl) != RC_OK) {
            import_sender_say(s, "out of memory");
            return IMPORT_RAN_FAILED;
        }
        switch (import_sender_post(s, s->post, s->post_ctx, s->io->target,
                                   import_content_type(s->format), s->body.p, s->body.len, &rep,
                                   &waited)) {
        case IMPORT_DO_MERGE: {
            uint64_t before = s->t.received;
            rc_err_t rc = import_merge(&s->t, &sl, rep.body, rep.len, err, sizeof err);
            if (rc == RC_ENOMEM) {
                import_sender_say(s, "out of memory");
                return IMPORT_RAN_FAILED;
            }
            if (rc != RC_OK) {
                import_sender_say(s, "%s: HTTP %ld, but %s", s->io->target, rep.status, err);
                return IMPORT_RAN_FAILED;
            }
            if (s->t.received - before != k && !s->miscounted) {
                /* Blank rows are skipped on both sides, so this should not happen. */
                s->miscounted = 1;
                import_sender_say(
                    s,
                    "warning: ingest counted %llu rows in a request of %zu (%s); the lines "
                    "listed below may be off",
                    (unsigned long long)(s->t.received - before), k, where(&sl, w, sizeof w));
            }
            i += k;
            s->prog.rows_sent += k;
            if (k)
                s->prog.bytes_done =
                    (uint64_t)((int64_t)(c->file_off + c->end[i - 1]) + s->byte_skew);
            import_sender_progress(s);
            break;
        }
        case IMPORT_DO_SPLIT:
            if (k <= 1) {
                import_sender_say(s,
                                  "%s: HTTP 413: %s alone is larger than ingest takes (its "
                                  "max_body)",
                                  s->io->target, where(&sl, w, sizeof w));
                return IMPORT_RAN_FAILED;
            }
            s->limit = k / 2;
            if (!s->quiet)
                import_sender_say(
                    s, "%s: HTTP 413 (too large) for %zu rows; sending %zu rows per request",
                    s->io->target, k, s->limit);
            break;
        case IMPORT_DO_BROKEN:
            broken_400(s, &sl, &rep);
            return IMPORT_RAN_BROKEN;
        case IMPORT_DO_RETRY:
            import_sender_say(s, "%s: %s; gave up after %d tries over %.1f s", s->io->target,
                              import_describe_reply(&rep, what, sizeof what), IMPORT_RETRIES + 1,
                              waited / 1000.0);
            return IMPORT_RAN_FAILED;
        default:
            import_sender_say(s, "%s: %s", s->io->target,
                              import_describe_reply(&rep, what, sizeof what));
            return IMPORT_RAN_FAILED;
        }
    } while (i < c->nrows);
    s->chunks_done++;
    return IMPORT_RAN_DONE;
}

void import_sender_summary(const import_sender_t *s, int marks, const char *extra)
{
    const import_totals_t *t = &s->t;
    FILE *out = s->io->out;
    char line[1024];

    fprintf(out, "received:   %llu\n", (unsigned long long)t->received);
    fprintf(out, "accepted:   %llu\n", (unsigned long long)t->accepted);
    fprintf(out, "duplicates: %llu\n", (unsigned long long)t->duplicates);
    if (marks)
        fprintf(out, "superseded: %llu\n", (unsigned long long)t->superseded);
    fprintf(out, "rejected:   %llu\n", (unsigned long long)t->rejected);
    if (extra)
        fprintf(out, "%s\n", extra);
    for (size_t i = 0; i < t->n; i++)
        fprintf(out, "%s\n", import_reject_format(&t->v[i], line, sizeof line));
    if (t->rejected > t->n)
        fprintf(out, "and %llu more rejected rows (--all-errors lists them all)\n",
                (unsigned long long)(t->rejected - t->n));
    fflush(out);
}

/* ---- the run ---- */

/* answered says how far ingest got, for the notes after a stop. */
static char *answered(const import_sender_t *s, char *out, size_t len)
{
    const import_totals_t *t = &s->t;
    if (s->format == IMPORT_JSON)
        snprintf(out, len,
                 "%llu chunk(s), %llu records (index 0 to %zu, up to line %zu), had been answered",
                 (unsigned long long)s->chunks_done, (unsigned long long)t->rows_done,
                 t->last_index, t->last_line);
    else
        snprintf(out, len, "%llu chunk(s), %llu rows (up to line %zu), had been answered",
                 (unsigned long long)s->chunks_done, (unsigned long long)t->rows_done,
                 t->last_line);
    return out;
}

/* stopped tells the user where things stand after a failure or a broken file. */
static void stopped(import_sender_t *s, import_ran_t ran)
{
    char note[200];
    int none = s->t.posts == 0;

    if (ran == IMPORT_RAN_FAILED && none)
        import_sender_say(s, "stopped before ingest stored anything: run the same command again "
                             "once it answers");
    else if (ran == IMPORT_RAN_FAILED)
        import_sender_say(s,
                          "stopped: %s before this. Ingest is idempotent: running the same "
                          "command again is safe and resumes (rows already stored count as "
                          "duplicates)",
                          answered(s, note, sizeof note));
    else if (ran == IMPORT_RAN_BROKEN && none)
        import_sender_say(s, "stopped: nothing was stored; fix %s and run the command again",
                          s->shown);
    else if (ran == IMPORT_RAN_BROKEN)
        import_sender_say(s,
                          "stopped: %s before this; nothing after them was sent. Fix %s and run "
                          "the command again (rows already stored count as duplicates)",
                          answered(s, note, sizeof note), s->shown);
}

int import_run(const import_opts_t *o, FILE *in, import_post_fn post, void *post_ctx,
               const import_io_t *io)
{
    import_sender_t s;
    import_chunker_t *ch = NULL;
    char *block = NULL;
    import_ran_t ran = IMPORT_RAN_DONE;

    import_sender_init(&s, o, post, post_ctx, io);
    if (!(ch = import_chunker_new(o->format, o->chunk_rows)) || !(block = malloc(READ_BLOCK))) {
        import_sender_say(&s, "out of memory");
        ran = IMPORT_RAN_FAILED;
        goto out;
    }
    for (;;) {
        import_chunk_t c;
        import_next_t st = import_chunker_next(ch, &c);
        if (st == IMPORT_NEED_MORE) {
            size_t n = fread(block, 1, READ_BLOCK, in);
            if (n > 0) {
                if (import_chunker_feed(ch, block, n) != RC_OK) {
                    import_sender_say(&s, "out of memory");
                    ran = IMPORT_RAN_FAILED;
                    goto out;
                }
            } else if (ferror(in)) {
                import_sender_say(&s, "cannot read %s: %s", s.shown, strerror(errno));
                ran = IMPORT_RAN_FAILED;
                goto out;
            } else {
                import_chunker_finish(ch);
            }
        } else if (st == IMPORT_CHUNK) {
            if ((ran = import_sender_send(&s, ch, &c)) != IMPORT_RAN_DONE)
                goto out;
        } else if (st == IMPORT_BROKEN) {
            import_sender_say_problem(&s, import_chunker_problem(ch));
            ran = IMPORT_RAN_BROKEN;
            goto out;
        } else if (st == IMPORT_NOMEM) {
            import_sender_say(&s, "out of memory");
            ran = IMPORT_RAN_FAILED;
            goto out;
        } else {
            break; /* IMPORT_END */
        }
    }
out:
    import_sender_progress_clear(&s);
    import_sender_summary(&s, strcmp(o->kind, "marks") == 0, NULL);
    stopped(&s, ran);
    int status = import_exit_code(ran, s.t.rejected);
    free(block);
    import_chunker_destroy(&ch);
    import_sender_release(&s);
    return status;
}

/* ---- the process ---- */

uint64_t import_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void import_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int import_open_input(const char *cmd, const char *path, FILE **in, uint64_t *size)
{
    struct stat sb;
    *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!*in || fstat(fileno(*in), &sb) != 0 || S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "rollcall %s: cannot open %s: %s\n", cmd, path,
                *in ? "it is a directory" : strerror(errno));
        return IMPORT_EXIT_USAGE;
    }
    *size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "rollcall %s: libcurl failed to start\n", cmd);
        return IMPORT_EXIT_FAILED;
    }
    return IMPORT_EXIT_OK;
}

int import_main(int argc, char **argv)
{
    import_opts_t o;
    import_io_t io;
    http_client_t *client = NULL;
    FILE *in = NULL;
    uint64_t size = 0;
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
    if ((status = import_open_input("import", o.path, &in, &size)) != IMPORT_EXIT_OK)
        goto out;
    status = IMPORT_EXIT_FAILED;
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
    io.now_ms = import_monotonic_ms;
    io.sleep_ms = import_sleep_ms;
    io.bytes_total = size;
    status = import_run(&o, in, http_client_post, client, &io);
out:
    http_client_destroy(&client);
    if (curl_up)
        curl_global_cleanup();
    if (in && in != stdin)
        fclose(in);
    return status;
}
