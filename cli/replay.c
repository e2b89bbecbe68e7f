/* replay.c - `rollcall replay`: a marks file with clock lines, sent to ingest in file order. */
#include "replay.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

#define READ_BLOCK (1u << 20)

/* A clock or comment line stands for one blank line in what the chunker
 * reads: ingest skips blank rows, and every later row keeps its line. */
static const char blank_line[] = "\n";

/* ---- scanner ---- */

void replay_scanner_init(replay_scanner_t *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->line = 1;
    sc->bol = 1;
}

static replay_next_t bad(replay_scanner_t *sc, replay_piece_t *piece, size_t line, const char *fmt,
                         ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* bad records the break at line; every later call returns it again. */
static replay_next_t bad(replay_scanner_t *sc, replay_piece_t *piece, size_t line, const char *fmt,
                         ...)
{
    va_list ap;
    memset(&sc->bad_piece, 0, sizeof sc->bad_piece);
    sc->bad_piece.line = line;
    va_start(ap, fmt);
    vsnprintf(sc->bad_piece.message, sizeof sc->bad_piece.message, fmt, ap);
    va_end(ap);
    sc->bad = 1;
    *piece = sc->bad_piece;
    return REPLAY_BAD;
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* end_special finishes the clock or comment line just read; with_nl says
 * a line end closed it (not the end of the file). */
static replay_next_t end_special(replay_scanner_t *sc, replay_piece_t *piece, int with_nl)
{
    int kind = sc->special;
    size_t line = sc->special_line, n = sc->clock_len;
    const char *t = sc->clock;

    sc->special = 0;
    if (kind == '#') {
        if (!with_nl)
            return REPLAY_MORE;
        piece->data = blank_line;
        piece->len = 1;
        return REPLAY_ROWS;
    }
    if (n > REPLAY_CLOCK_MAX)
        return bad(sc, piece, line,
                   "a clock line is '@' and one instant, such as @2025-09-03T09:30:00+01:00; "
                   "this one is longer than %d characters",
                   REPLAY_CLOCK_MAX);
    while (n && blank(t[0]))
        t++, n--;
    while (n && blank(t[n - 1]))
        n--;
    rc_time_t now;
    if (time_parse_iso(t, n, &now, NULL) != RC_OK)
        return bad(sc, piece, line,
                   "'@%.*s' is not a clock line: write '@' and a date and time with its UTC "
                   "offset, such as @2025-09-03T09:30:00+01:00",
                   (int)n, t);
    if (!sc->header_seen)
        return bad(sc, piece, line,
                   "a clock line before the header row: the file must start with the marks "
                   "header, " REPLAY_MARKS_HEADER);
    if (sc->have_last && now < sc->last)
        return bad(sc, piece, line,
                   "the clock goes back: %.*s is earlier than %s on line %zu; clock lines must "
                   "never go back (marks may: they carry their own dates)",
                   (int)n, t, sc->last_text, sc->last_line);
    sc->have_last = 1;
    sc->last = now;
    sc->last_line = line;
    memcpy(sc->last_text, t, n);
    sc->last_text[n] = '\0';
    memset(piece, 0, sizeof *piece);
    piece->line = line;
    memcpy(piece->text, t, n);
    piece->text[n] = '\0';
    piece->now = now;
    sc->pending_nl = with_nl;
    return REPLAY_CLOCK;
}

replay_next_t replay_scanner_next(replay_scanner_t *sc, const char *block, size_t len, size_t *pos,
                                  replay_piece_t *piece)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    size_t i = *pos, start = i;

    if (sc->bad) {
        *piece = sc->bad_piece;
        return REPLAY_BAD;
    }
    if (sc->pending_nl) {
        sc->pending_nl = 0;
        piece->data = blank_line;
        piece->len = 1;
        return REPLAY_ROWS;
    }
    while (i < len) {
        char c = block[i];
        if (sc->special) {
            i++;
            sc->offset++;
            if (c == '\n') {
                sc->line++;
                sc->bol = 1;
                *pos = i;
                return end_special(sc, piece, 1);
            }
            if (sc->special == '@' && sc->clock_len <= REPLAY_CLOCK_MAX) {
                if (sc->clock_len < REPLAY_CLOCK_MAX)
                    sc->clock[sc->clock_len] = c;
                sc->clock_len++;
            }
            continue;
        }
        if (sc->bol && !sc->in_quote && (c == '@' || c == '#')) {
            if (i > start) { /* the CSV text before this line first */
                *pos = i;
                piece->data = block + start;
                piece->len = i - start;
                return REPLAY_ROWS;
            }
            sc->special = c;
            sc->special_line = sc->line;
            sc->clock_len = 0;
            sc->bol = 0;
            i++;
            sc->offset++;
            start = i;
            continue;
        }
        /* A CSV byte. A UTF-8 byte order mark before the header is not the
         * start of its line: the chunker skips it, and so does the test for
         * '@' and '#'. */
        int in_bom =
            sc->offset < 3 && (unsigned char)c == bom[sc->offset] && (sc->offset == 0 || sc->bol);
        if (c == '"') {
            sc->in_quote = !sc->in_quote;
            sc->bol = 0;
        } else if (c == '\n') {
            sc->line++;
            sc->bol = !sc->in_quote;
        } else if (!in_bom) {
            sc->bol = 0;
            if (c != ',' && c != '\r')
                sc->header_seen = 1;
        }
        i++;
        sc->offset++;
    }
    *pos = i;
    if (i > start && !sc->special) {
        piece->data = block + start;
        piece->len = i - start;
        return REPLAY_ROWS;
    }
    return REPLAY_MORE;
}

replay_next_t replay_scanner_end(replay_scanner_t *sc, replay_piece_t *piece)
{
    if (sc->bad) {
        *piece = sc->bad_piece;
        return REPLAY_BAD;
    }
    sc->pending_nl = 0; /* nothing follows the last line */
    return sc->special ? end_special(sc, piece, 0) : REPLAY_MORE;
}

/* ---- arguments ---- */

void replay_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall replay FILE [options]\n"
            "\n"
            "Replay a register with its clock into ingest (run with clock = replay): send\n"
            "FILE's marks and move ingest's clock at each clock line, strictly in FILE's\n"
            "order, waiting for each answer, so the ticks land among the marks where FILE\n"
            "puts them. Rejected rows are reported by their line in FILE.\n"
            "\n"
            "FILE (- reads standard input) is a marks.csv with clock lines:\n"
            "  %s   the header, first\n"
            "  100201,X909001250001,2025-09-03,AM,/,,2025-09-03T08:45:00+01:00\n"
            "  @2025-09-03T09:30:00+01:00      move the clock to this instant here\n"
            "  # a comment                      ignored, as are blank lines\n"
            "Clock lines never go back. The whole format: docs/replay.md; a school year\n"
            "of them: scripts/gen-year.sh.\n"
            "\n"
            "Options:\n"
            "  --url URL         ingest's base URL (default: $%s if set,\n"
            "                    else %s)\n"
            "  --chunk-rows N    marks per request, 1 to %d (default %d); a clock line\n"
            "                    always ends a request\n"
            "  --all-errors      list every rejected row (default: the first %d)\n"
            "  -q, --quiet       no progress or retry notices on stderr\n"
            "  -h, --help        show this help\n"
            "\n"
            "Exit status:\n"
            "  0  every row was accepted (or was already held) and every clock line taken\n"
            "  1  some rows were rejected; each is listed with its line and the reason\n"
            "     (the replay went on to the end)\n"
            "  2  usage error, or FILE cannot be opened\n"
            "  3  ingest or the network failed (after retries), or ingest refused a clock\n"
            "     line (its clock is already later, or it is not in replay mode); the\n"
            "     message names the line and says how to carry on\n"
            "  4  FILE is not a well-formed replay file (broken CSV quoting, a bad clock\n"
            "     line, the clock going back); the message names the line, and nothing\n"
            "     from that line on was sent\n",
            REPLAY_MARKS_HEADER, IMPORT_URL_ENV, IMPORT_DEFAULT_URL, IMPORT_MAX_ROWS,
            IMPORT_DEFAULT_ROWS, IMPORT_LIST_DEFAULT);
}

rc_err_t replay_parse_args(int argc, char **argv, const char *env_url, replay_opts_t *o, char *err,
                           size_t errlen)
{
    const char *rows = NULL;
    int options_end = 0;

    memset(o, 0, sizeof *o);
    o->url = env_url && *env_url ? env_url : IMPORT_DEFAULT_URL;
    o->chunk_rows = IMPORT_DEFAULT_ROWS;
    err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int m = 0;
        if (options_end || a[0] != '-' || a[1] == '\0') {
            if (o->path) {
                snprintf(err, errlen, "unexpected argument '%s'", a);
                return RC_EINVAL;
            }
            o->path = a;
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
    if (!o->path) {
        snprintf(err, errlen, "FILE is missing");
        return RC_EINVAL;
    }
    return import_check_common(o->url, rows, &o->chunk_rows, err, errlen);
}

/* ---- the run ---- */

typedef struct {
    const replay_posters_t *posters;
    import_sender_t s;
    import_chunker_t *ch;
    const replay_scanner_t *sc;
    uint64_t fed;                     /* bytes fed to the chunker */
    uint64_t clocks;                  /* clock lines ingest took */
    uint64_t moved;                   /* of those, the ones that moved its clock */
    char clock[REPLAY_CLOCK_MAX + 1]; /* the last clock line ingest took, as written */
    size_t clock_line;
    int refused; /* ingest answered a clock line with 409 */
} replay_t;

/* drain sends every chunk the chunker has ready. */
static import_ran_t drain(replay_t *r)
{
    for (;;) {
        import_chunk_t c;
        import_ran_t ran;
        switch (import_chunker_next(r->ch, &c)) {
        case IMPORT_NEED_MORE:
        case IMPORT_END:
            return IMPORT_RAN_DONE;
        case IMPORT_CHUNK:
            if ((ran = import_sender_send(&r->s, r->ch, &c)) != IMPORT_RAN_DONE)
                return ran;
            break;
        case IMPORT_BROKEN:
            import_sender_say_problem(&r->s, import_chunker_problem(r->ch));
            return IMPORT_RAN_BROKEN;
        default:
            import_sender_say(&r->s, "out of memory");
            return IMPORT_RAN_FAILED;
        }
    }
}

static import_ran_t feed(replay_t *r, const char *data, size_t len)
{
    if (import_chunker_feed(r->ch, data, len) != RC_OK) {
        import_sender_say(&r->s, "out of memory");
        return IMPORT_RAN_FAILED;
    }
    r->fed += len;
    r->s.byte_skew = (int64_t)r->sc->offset - (int64_t)r->fed;
    return drain(r);
}

/* moved_of reads the "moved" of ingest's answer to a clock line (1 when absent). */
static int moved_of(const import_reply_t *rep)
{
    json_t *root = rep->len ? json_loadb(rep->body, rep->len, 0, NULL) : NULL;
    const json_t *m = json_object_get(root, "moved");
    int moved = !json_is_false(m);
    json_decref(root);
    return moved;
}

/* send_clock sends every row before the clock line, then the clock line itself. */
static import_ran_t send_clock(replay_t *r, const replay_piece_t *piece)
{
    const char *shown = r->s.shown, *target = r->posters->clock_target;
    char what[400], e[400];
    import_reply_t rep;
    unsigned waited;
    import_ran_t ran;

    import_chunker_flush(r->ch);
    if ((ran = drain(r)) != IMPORT_RAN_DONE)
        return ran;

    json_t *j = json_pack("{s:s}", "now", piece->text);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body) {
        import_sender_say(&r->s, "out of memory");
        return IMPORT_RAN_FAILED;
    }
    import_action_t act =
        import_sender_post(&r->s, r->posters->clock, r->posters->clock_ctx, target,
                           import_content_type(IMPORT_JSON), body, strlen(body), &rep, &waited);
    free(body);

    if (rep.net == IMPORT_NET_OK && rep.status == 200) {
        r->clocks++;
        r->moved += (uint64_t)moved_of(&rep);
        memcpy(r->clock, piece->text, sizeof r->clock);
        r->clock_line = piece->line;
        r->s.prog.clock = r->clock;
        import_sender_progress(&r->s);
        return IMPORT_RAN_DONE;
    }
    if (act == IMPORT_DO_RETRY) {
        import_sender_say(&r->s, "%s: line %zu: %s: %s; gave up after %d tries over %.1f s", shown,
                          piece->line, target, import_describe_reply(&rep, what, sizeof what),
                          IMPORT_RETRIES + 1, waited / 1000.0);
        return IMPORT_RAN_FAILED;
    }
    if (rep.net == IMPORT_NET_OK && rep.status == 409) {
        r->refused = 1;
        import_reply_error(&rep, e, sizeof e);
        import_sender_say(&r->s,
                          "%s: line %zu: ingest refused to move its clock to %s (HTTP 409): %s",
                          shown, piece->line, piece->text, e[0] ? e : "(no reason given)");
        return IMPORT_RAN_FAILED;
    }
    if (rep.net == IMPORT_NET_OK && rep.status == 400) {
        import_reply_error(&rep, e, sizeof e);
        import_sender_say(
            &r->s, "%s: line %zu: ingest found the clock line not well formed (HTTP 400): %s",
            shown, piece->line, e[0] ? e : "(no reason given)");
        return IMPORT_RAN_BROKEN;
    }
    import_sender_say(&r->s, "%s: line %zu: %s: %s", shown, piece->line, target,
                      import_describe_reply(&rep, what, sizeof what));
    return IMPORT_RAN_FAILED;
}

/* take handles one piece of the file. */
static import_ran_t take(replay_t *r, replay_next_t k, const replay_piece_t *piece)
{
    import_ran_t ran;

    switch (k) {
    case REPLAY_ROWS:
        return feed(r, piece->data, piece->len);
    case REPLAY_CLOCK:
        return send_clock(r, piece);
    case REPLAY_BAD:
        /* The lines before the broken one go first, as they would have. */
        import_chunker_flush(r->ch);
        if ((ran = drain(r)) != IMPORT_RAN_DONE)
            return ran;
        import_sender_say(&r->s, "%s: line %zu: %s", r->s.shown, piece->line, piece->message);
        return IMPORT_RAN_BROKEN;
    default:
        return IMPORT_RAN_DONE;
    }
}

/* stopped tells the user where things stand, and how to carry on. */
static void stopped(replay_t *r, import_ran_t ran)
{
    const import_totals_t *t = &r->s.t;
    const char *fix = ran == IMPORT_RAN_BROKEN ? "fix it, then " : "";
    char rows[96] = "no rows had been answered";

    if (ran == IMPORT_RAN_DONE)
        return;
    if (t->posts && t->rows_done)
        snprintf(rows, sizeof rows, "rows up to line %zu had been answered", t->last_line);
    if (r->refused)
        import_sender_say(&r->s,
                          "stopped: ingest's clock is already past that line: this file (or "
                          "another) was replayed into it before. Replay into a fresh ingest and "
                          "Redis, or send only the lines after the point its clock has reached");
    else if (t->posts == 0 && r->clocks == 0)
        import_sender_say(&r->s,
                          "stopped before ingest stored anything: %srun the same command "
                          "again%s",
                          fix, ran == IMPORT_RAN_BROKEN ? "" : " once ingest answers");
    else if (r->clocks == 0)
        import_sender_say(&r->s,
                          "stopped: %s and no clock line had been sent: %srun the same command "
                          "again (rows already stored count as duplicates)",
                          rows, fix);
    else
        import_sender_say(&r->s,
                          "stopped: %s, and ingest's clock is at %s (line %zu). Ingest will not "
                          "take the clock lines before that again: %sreplay a file holding the "
                          "header and FILE's lines after line %zu (rows already stored count as "
                          "duplicates)",
                          rows, r->clock, r->clock_line, fix, r->clock_line);
}

int replay_run(const replay_opts_t *o, FILE *in, const replay_posters_t *posters,
               const import_io_t *io)
{
    replay_t r;
    replay_scanner_t sc;
    replay_piece_t piece;
    replay_next_t k;
    char *block = NULL, extra[160];
    import_ran_t ran = IMPORT_RAN_DONE;
    import_opts_t io_opts = {.kind = "marks",
                             .path = o->path,
                             .format = IMPORT_CSV,
                             .url = o->url,
                             .chunk_rows = o->chunk_rows,
                             .quiet = o->quiet,
                             .all_errors = o->all_errors};

    memset(&r, 0, sizeof r);
    r.posters = posters;
    r.sc = &sc;
    replay_scanner_init(&sc);
    import_sender_init(&r.s, &io_opts, posters->marks, posters->marks_ctx, io);
    if (!(r.ch = import_chunker_new(IMPORT_CSV, o->chunk_rows)) || !(block = malloc(READ_BLOCK))) {
        import_sender_say(&r.s, "out of memory");
        ran = IMPORT_RAN_FAILED;
        goto out;
    }
    for (;;) {
        size_t n = fread(block, 1, READ_BLOCK, in), pos = 0;
        if (n == 0) {
            if (ferror(in)) {
                import_sender_say(&r.s, "cannot read %s: %s", r.s.shown, strerror(errno));
                ran = IMPORT_RAN_FAILED;
                goto out;
            }
            break;
        }
        while ((k = replay_scanner_next(&sc, block, n, &pos, &piece)) != REPLAY_MORE)
            if ((ran = take(&r, k, &piece)) != IMPORT_RAN_DONE)
                goto out;
    }
    if ((k = replay_scanner_end(&sc, &piece)) != REPLAY_MORE &&
        (ran = take(&r, k, &piece)) != IMPORT_RAN_DONE)
        goto out;
    import_chunker_finish(r.ch);
    ran = drain(&r);
out:
    import_sender_progress_clear(&r.s);
    if (r.clocks)
        snprintf(extra, sizeof extra, "clock:      %llu lines (%llu moved it), last %s (line %zu)",
                 (unsigned long long)r.clocks, (unsigned long long)r.moved, r.clock, r.clock_line);
    else
        snprintf(extra, sizeof extra, "clock:      no clock line sent");
    import_sender_summary(&r.s, 1, extra);
    stopped(&r, ran);
    int status = import_exit_code(ran, r.s.t.rejected);
    free(block);
    import_chunker_destroy(&r.ch);
    import_sender_release(&r.s);
    return status;
}

/* ---- the process ---- */

int replay_main(int argc, char **argv)
{
    replay_opts_t o;
    import_io_t io;
    replay_posters_t posters;
    http_client_t *marks = NULL, *clk = NULL;
    FILE *in = NULL;
    uint64_t size = 0;
    char err[400], target[1100], clock_target[1100];
    int curl_up = 0, status = IMPORT_EXIT_FAILED;

    if (replay_parse_args(argc, argv, getenv(IMPORT_URL_ENV), &o, err, sizeof err) != RC_OK) {
        fprintf(stderr, "rollcall replay: %s\nTry 'rollcall replay --help'.\n", err);
        return IMPORT_EXIT_USAGE;
    }
    if (o.help) {
        replay_usage(stdout);
        return IMPORT_EXIT_OK;
    }
    if ((status = import_open_input("replay", o.path, &in, &size)) != IMPORT_EXIT_OK)
        goto out;
    status = IMPORT_EXIT_FAILED;
    curl_up = 1;
    /* Two handles, each keeping its connection: marks and clock alternate. */
    if (!(marks = http_client_new(o.url, "/v1/marks")) ||
        !(clk = http_client_new(o.url, "/v1/clock"))) {
        fprintf(stderr, "rollcall replay: cannot set up an HTTP client for %s\n", o.url);
        goto out;
    }
    snprintf(target, sizeof target, "POST %s", http_client_url(marks));
    snprintf(clock_target, sizeof clock_target, "POST %s", http_client_url(clk));

    memset(&io, 0, sizeof io);
    io.out = stdout;
    io.err = stderr;
    io.progress = o.quiet ? 0 : isatty(fileno(stderr)) ? 1 : 2;
    io.target = target;
    io.now_ms = import_monotonic_ms;
    io.sleep_ms = import_sleep_ms;
    io.bytes_total = size;
    io.command = "replay";
    posters = (replay_posters_t){.marks = http_client_post,
                                 .marks_ctx = marks,
                                 .clock = http_client_post,
                                 .clock_ctx = clk,
                                 .clock_target = clock_target};
    status = replay_run(&o, in, &posters, &io);
out:
    http_client_destroy(&clk);
    http_client_destroy(&marks);
    if (curl_up)
        curl_global_cleanup();
    if (in && in != stdin)
        fclose(in);
    return status;
}
