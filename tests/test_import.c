/* test_import.c - rollcall import: chunking, mapping replies back to file lines, merging, the run
 * loop. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "rollcall/csv.h"
#include "rollcall/records.h"

#define MARKS_HDR "urn,upn,date,session,code,minutes_late,recorded_at\n"
#define UPN1      "B801200005001"
#define UPN2      "Q801200005002"
#define MARK(day, code)                                                                            \
    "100123," UPN1 ",2026-09-" day ",AM," code ",,2026-09-" day "T08:41:00+01:00"

/* ---- collecting chunks ---- */

#define MAX_CHUNKS 64

/* One chunk as the tests see it: its whole body, its slice, copies of its rows' lines. */
typedef struct {
    char *body;
    size_t len;
    import_slice_t slice;
    size_t line[256];
    size_t nrows;
} got_chunk_t;

typedef struct {
    got_chunk_t c[MAX_CHUNKS];
    size_t n;
    import_next_t last; /* IMPORT_END or IMPORT_BROKEN */
    import_problem_t problem;
} got_t;

/* chunk_all feeds input step bytes at a time (0: all at once) and keeps every chunk's body. */
static void chunk_all(got_t *g, import_format_t fmt, size_t rows, const char *input, size_t len,
                      size_t step)
{
    import_chunker_t *ch = import_chunker_new(fmt, rows);
    import_buf_t body = {0};
    size_t fed = 0;

    cr_assert_not_null(ch);
    memset(g, 0, sizeof *g);
    for (;;) {
        import_chunk_t c;
        import_next_t st = import_chunker_next(ch, &c);
        if (st == IMPORT_NEED_MORE) {
            if (fed == len) {
                import_chunker_finish(ch);
                continue;
            }
            size_t n = step && step < len - fed ? step : len - fed;
            cr_assert_eq(import_chunker_feed(ch, input + fed, n), RC_OK);
            fed += n;
            continue;
        }
        if (st != IMPORT_CHUNK) {
            g->last = st;
            if (st == IMPORT_BROKEN)
                g->problem = *import_chunker_problem(ch);
            break;
        }
        cr_assert_lt(g->n, MAX_CHUNKS);
        cr_assert_leq(c.nrows, 256);
        got_chunk_t *gc = &g->c[g->n++];
        cr_assert_eq(import_body_build(ch, &c, 0, c.nrows, &body, &gc->slice), RC_OK);
        gc->body = malloc(body.len + 1);
        memcpy(gc->body, body.p, body.len);
        gc->body[body.len] = '\0';
        gc->len = body.len;
        gc->nrows = c.nrows;
        if (c.nrows)
            memcpy(gc->line, c.line, c.nrows * sizeof *c.line);
        gc->slice.row_line = gc->line;
    }
    import_buf_free(&body);
    import_chunker_destroy(&ch);
    cr_assert_null(ch);
}

static void got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->c[i].body);
}

static void chunk_str(got_t *g, import_format_t fmt, size_t rows, const char *s, size_t step)
{
    chunk_all(g, fmt, rows, s, strlen(s), step);
}

/* The feed sizes every chunking test runs with: a byte at a time, odd pieces, all at once. */
static const size_t steps[] = {1, 2, 3, 7, 0};
#define NSTEPS (sizeof steps / sizeof steps[0])

/* ---- CSV chunking ---- */

Test(import, header_repeated_per_chunk)
{
    const char *in = MARKS_HDR MARK("07", "/") "\n" MARK("08", "/") "\n" MARK("09", "/") "\n" MARK(
        "10", "/") "\n" MARK("11", "/") "\n";
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_CSV, 2, in, steps[k]);
        cr_assert_eq(g.last, IMPORT_END);
        cr_assert_eq(g.n, 3);
        cr_assert_str_eq(g.c[0].body, MARKS_HDR MARK("07", "/") "\n" MARK("08", "/") "\n");
        cr_assert_str_eq(g.c[1].body, MARKS_HDR MARK("09", "/") "\n" MARK("10", "/") "\n");
        cr_assert_str_eq(g.c[2].body, MARKS_HDR MARK("11", "/") "\n");
        cr_assert_eq(g.c[0].slice.first_line, 2);
        cr_assert_eq(g.c[1].slice.first_line, 4);
        cr_assert_eq(g.c[2].slice.first_line, 6);
        cr_assert_eq(g.c[2].slice.first_index, 4);
        got_free(&g);
    }
}

Test(import, quoted_newlines_stay_in_their_row)
{
    const char *in = "a,b\n"
                     "1,\"x\ny\"\n"             /* line 2-3 */
                     "2,\"p\n\nq,\"\"r\"\"\"\n" /* line 4-6 */
                     "3,z\n"                    /* line 7 */
                     "4,\"\n\"\n";              /* line 8-9 */
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_CSV, 2, in, steps[k]);
        cr_assert_eq(g.last, IMPORT_END);
        cr_assert_eq(g.n, 2);
        cr_assert_str_eq(g.c[0].body, "a,b\n1,\"x\ny\"\n2,\"p\n\nq,\"\"r\"\"\"\n");
        cr_assert_str_eq(g.c[1].body, "a,b\n3,z\n4,\"\n\"\n");
        cr_assert_eq(g.c[0].line[0], 2);
        cr_assert_eq(g.c[0].line[1], 4);
        cr_assert_eq(g.c[1].line[0], 7);
        cr_assert_eq(g.c[1].line[1], 8);
        /* Body line 4 (the header is 1) is where the second row starts: file line 4. */
        cr_assert_eq(import_map_line(&g.c[0].slice, 2), 2);
        cr_assert_eq(import_map_line(&g.c[0].slice, 4), 4);
        cr_assert_eq(import_map_line(&g.c[1].slice, 2), 7);
        cr_assert_eq(import_map_line(&g.c[1].slice, 3), 8);
        cr_assert_eq(import_map_line(&g.c[1].slice, 1), 1, "the header is line 1 of the file");
        got_free(&g);
    }
}

Test(import, crlf_lines_counted_once)
{
    const char *in = "a,b\r\n1,\"x\r\ny\"\r\n2,y\r\n3,\"\"\r\n";
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_CSV, 1, in, steps[k]);
        cr_assert_eq(g.last, IMPORT_END);
        cr_assert_eq(g.n, 3);
        cr_assert_str_eq(g.c[0].body, "a,b\r\n1,\"x\r\ny\"\r\n");
        cr_assert_str_eq(g.c[1].body, "a,b\r\n2,y\r\n");
        cr_assert_str_eq(g.c[2].body, "a,b\r\n3,\"\"\r\n");
        cr_assert_eq(g.c[0].line[0], 2);
        cr_assert_eq(g.c[1].line[0], 4);
        cr_assert_eq(g.c[2].line[0], 5);
        cr_assert_eq(import_map_line(&g.c[2].slice, 2), 5);
        got_free(&g);
    }
}

Test(import, lone_cr_is_data_not_a_line_end)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 10, "a,b\n1,x\ry\n2,z\r", 0);
    cr_assert_eq(g.last, IMPORT_END);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.c[0].nrows, 2);
    cr_assert_eq(g.c[0].line[1], 3);
    got_free(&g);
}

Test(import, final_row_without_newline)
{
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_CSV, 2, "a,b\n1,x\n2,\"y\nz\"\n3,w", steps[k]);
        cr_assert_eq(g.last, IMPORT_END);
        cr_assert_eq(g.n, 2);
        cr_assert_str_eq(g.c[1].body, "a,b\n3,w");
        cr_assert_eq(g.c[1].line[0], 5);
        got_free(&g);
    }
}

Test(import, bom_stripped_from_every_chunk)
{
    const char *in = "\xEF\xBB\xBF"
                     "a,b\n1,x\n2,y\n3,z\n";
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_CSV, 1, in, steps[k]);
        cr_assert_eq(g.last, IMPORT_END);
        cr_assert_eq(g.n, 3);
        for (size_t i = 0; i < g.n; i++)
            cr_assert(strncmp(g.c[i].body, "a,b\n", 4) == 0, "chunk %zu: %s", i, g.c[i].body);
        cr_assert_eq(g.c[0].line[0], 2);
        cr_assert_eq(g.c[2].line[0], 4);
        got_free(&g);
    }
}

Test(import, bom_alone_is_an_empty_file)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 1, "\xEF\xBB\xBF", 0);
    cr_assert_eq(g.last, IMPORT_BROKEN);
    cr_assert(strstr(g.problem.message, "empty"));
    got_free(&g);
}

Test(import, utf16_refused)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 1,
              "\xFF\xFE"
              "a\0,\0",
              0);
    cr_assert_eq(g.last, IMPORT_BROKEN);
    cr_assert(strstr(g.problem.message, "UTF-16"));
    got_free(&g);
}

Test(import, blank_rows_skipped_but_counted_as_lines)
{
    /* Ingest skips blank rows (and rows of bare commas) anywhere, before the header too. */
    const char *in = "\n,,\na,b\n\n1,x\n,\n\n2,y\n\n";
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_CSV, 1, in, steps[k]);
        cr_assert_eq(g.last, IMPORT_END);
        cr_assert_eq(g.n, 2, "blank rows make no chunk of their own");
        cr_assert_str_eq(g.c[0].body, "a,b\n1,x\n");
        cr_assert_str_eq(g.c[1].body, "a,b\n2,y\n");
        cr_assert_eq(g.c[0].slice.header_line, 3);
        cr_assert_eq(import_map_line(&g.c[0].slice, 1), 3, "a header error is on line 3");
        cr_assert_eq(import_map_line(&g.c[0].slice, 2), 5);
        cr_assert_eq(import_map_line(&g.c[1].slice, 2), 8);
        got_free(&g);
    }
}

Test(import, blank_rows_inside_a_chunk_keep_the_mapping)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 10, "a,b\n1,x\n\n\n2,y\n", 0);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.c[0].nrows, 2);
    cr_assert_str_eq(g.c[0].body, "a,b\n1,x\n\n\n2,y\n");
    cr_assert_eq(import_map_line(&g.c[0].slice, 5), 5);
    got_free(&g);
}

Test(import, multi_line_header)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 1, "\"a\nb\",c\n1,2\n3,4\n", 0);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.c[1].slice.header_lines, 2);
    cr_assert_str_eq(g.c[1].body, "\"a\nb\",c\n3,4\n");
    cr_assert_eq(import_map_line(&g.c[1].slice, 2), 2, "the header's second line");
    cr_assert_eq(import_map_line(&g.c[1].slice, 3), 4);
    got_free(&g);
}

Test(import, header_only_is_sent_once)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 5, MARKS_HDR, 0);
    cr_assert_eq(g.last, IMPORT_END);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.c[0].nrows, 0);
    cr_assert_str_eq(g.c[0].body, MARKS_HDR);
    got_free(&g);
}

Test(import, empty_file_is_broken)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 5, "", 0);
    cr_assert_eq(g.last, IMPORT_BROKEN);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(g.problem.line, 0);
    got_free(&g);
}

Test(import, broken_quoting_reported_at_the_file_line)
{
    struct {
        const char *in;
        size_t line;
        const char *column, *says;
    } cases[] = {
        {"a,b\n1,x\n2,y\"z\n", 3, "b", "does not start with one"},
        {"a,b\n1,\"x\ny\"z\n", 2, "b", "text after a closing"},
        {"a,b\n1,x\n2,\"y\n\n", 3, "b", "never closed"},
        {"a,b\n1,x\n2,\"y\"\r", 3, "b", "text after a closing"},
        {"a,\"b\n1,x\n", 1, "", "never closed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t k = 0; k < NSTEPS; k++) {
            got_t g;
            chunk_str(&g, IMPORT_CSV, 1, cases[i].in, steps[k]);
            cr_assert_eq(g.last, IMPORT_BROKEN, "case %zu", i);
            cr_assert_eq(g.problem.line, cases[i].line, "case %zu: line %zu", i, g.problem.line);
            cr_assert_str_eq(g.problem.column, cases[i].column, "case %zu", i);
            cr_assert(strstr(g.problem.message, cases[i].says), "case %zu: %s", i,
                      g.problem.message);
            got_free(&g);
        }
    }
}

Test(import, broken_row_stops_before_its_chunk_is_sent)
{
    got_t g;
    chunk_str(&g, IMPORT_CSV, 2, "a,b\n1,x\n2,y\n3,z\n4,\"\n", 0);
    cr_assert_eq(g.last, IMPORT_BROKEN);
    cr_assert_eq(g.n, 1, "rows 1-2 went; row 3 shares a chunk with the broken row 4");
    cr_assert_eq(g.problem.line, 5);
    got_free(&g);
}

Test(import, unclosed_quote_in_a_big_file_stops_at_the_record_cap)
{
    size_t n = IMPORT_MAX_RECORD + 4096;
    char *in = malloc(n + 1);
    memcpy(in, "a,b\n1,\"", 7);
    memset(in + 7, 'x', n - 7);
    in[n] = '\0';
    got_t g;
    chunk_all(&g, IMPORT_CSV, 10, in, n, 65536);
    cr_assert_eq(g.last, IMPORT_BROKEN);
    cr_assert_eq(g.problem.line, 2);
    cr_assert(strstr(g.problem.message, "never closed"), "%s", g.problem.message);
    got_free(&g);
    free(in);
}

Test(import, many_chunks_stay_bounded)
{
    /* 100k rows in 1 KiB pieces: every row comes out once, in order, on its line, and the
     * chunker never holds much more than one chunk (777 rows of about 8 bytes). */
    size_t nrows = 100000, cap = 32 + nrows * 16, len = 0;
    char *in = malloc(cap);
    len += (size_t)snprintf(in, cap, "n,v\n");
    for (size_t i = 0; i < nrows; i++)
        len += (size_t)snprintf(in + len, cap - len, i % 3 ? "%zu,x\n" : "%zu,\"a\nb\"\n", i);
    import_chunker_t *ch = import_chunker_new(IMPORT_CSV, 777);
    size_t fed = 0, seen = 0, line = 2;
    for (;;) {
        import_chunk_t c;
        import_next_t st = import_chunker_next(ch, &c);
        if (st == IMPORT_NEED_MORE) {
            size_t k = len - fed < 1024 ? len - fed : 1024;
            if (k == 0)
                import_chunker_finish(ch);
            else
                import_chunker_feed(ch, in + fed, k), fed += k;
            continue;
        }
        if (st == IMPORT_END)
            break;
        cr_assert_eq(st, IMPORT_CHUNK);
        cr_assert_eq(c.first_index, seen);
        cr_assert_lt(import_chunker_held(ch), 32768, "a chunk or two and a block, not the file");
        for (size_t i = 0; i < c.nrows; i++, seen++) {
            cr_assert_eq(c.line[i], line, "row %zu", seen);
            cr_assert_eq(strtoul(c.data + c.off[i], NULL, 10), seen);
            line += seen % 3 ? 1 : 2;
        }
    }
    cr_assert_eq(seen, nrows);
    import_chunker_destroy(&ch);
    free(in);
}

Test(import, a_chunk_closes_at_the_byte_cap)
{
    /* 10000 rows of 1 KiB in chunks of up to 100000 rows: the cap, not the count, closes them. */
    size_t nrows = 10000, len = 0, cap = 4 + nrows * 1024;
    char *in = malloc(cap);
    len += (size_t)snprintf(in, cap, "a\n");
    for (size_t i = 0; i < nrows; i++) {
        memset(in + len, 'x', 1023);
        in[len + 1023] = '\n';
        len += 1024;
    }
    import_chunker_t *ch = import_chunker_new(IMPORT_CSV, 100000);
    import_chunk_t c;
    size_t rows = 0, chunks = 0;
    import_chunker_feed(ch, in, len);
    import_chunker_finish(ch);
    for (import_next_t st; (st = import_chunker_next(ch, &c)) != IMPORT_END; chunks++) {
        cr_assert_eq(st, IMPORT_CHUNK);
        cr_assert_leq(c.end[c.nrows - 1] - c.off[0], IMPORT_CHUNK_BYTES);
        rows += c.nrows;
    }
    cr_assert_eq(rows, nrows);
    cr_assert_eq(chunks, 2);
    import_chunker_destroy(&ch);
    free(in);
}

/* ---- CSV: the chunker agrees with ingest's reader on every input ---- */

/* lcg is a fixed pseudo-random sequence, so a failure can be replayed. */
static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* whole_file lists the data rows' lines as csv_next reads the whole input
 * (blank rows skipped, the first non-blank row being the header); returns
 * the line of the row that broke it, or 0. */
static size_t whole_file(const char *in, size_t len, size_t *lines, size_t *n)
{
    csv_reader_t rd;
    csv_status_t st;
    int header = 0;
    size_t bad = 0;

    *n = 0;
    cr_assert_eq(csv_reader_init(&rd, in, len, REC_MAX_COLUMNS, REC_MAX_FIELD), RC_OK);
    while ((st = csv_next(&rd)) == CSV_ROW) {
        int blank = rd.nfields <= rd.max_fields;
        for (size_t i = 0; i < rd.nfields && i < rd.max_fields; i++)
            blank &= rd.field[i].len == 0;
        if (blank)
            continue;
        if (!header)
            header = 1;
        else
            lines[(*n)++] = rd.row_line;
    }
    if (st != CSV_END)
        bad = rd.row_line;
    csv_reader_release(&rd);
    return bad;
}

/* body_lines reads a chunk's body as ingest would and maps each data row back to the file. */
static void body_lines(const got_chunk_t *c, size_t *lines, size_t *n)
{
    csv_reader_t rd;
    int header = 0;

    cr_assert_eq(csv_reader_init(&rd, c->body, c->len, REC_MAX_COLUMNS, REC_MAX_FIELD), RC_OK);
    csv_status_t st;
    while ((st = csv_next(&rd)) == CSV_ROW) {
        int blank = rd.nfields <= rd.max_fields;
        for (size_t i = 0; i < rd.nfields && i < rd.max_fields; i++)
            blank &= rd.field[i].len == 0;
        if (blank)
            continue;
        if (!header)
            header = 1;
        else
            lines[(*n)++] = import_map_line(&c->slice, rd.row_line);
    }
    cr_assert_eq(st, CSV_END, "a chunk body is well formed: %s", c->body);
    csv_reader_release(&rd);
}

/* gen_csv writes a random CSV document into in: rows of unquoted and quoted
 * fields (quoted ones holding commas, "" escapes, LF and CR LF), blank rows,
 * LF or CR LF line ends, sometimes none at the end; then, one time in three,
 * a stray byte that may break it. Returns its length. */
static size_t gen_csv(unsigned *seed, char *in, size_t cap)
{
    static const char *const unq[] = {"", "a", "bc", "1 2", "x\ry", " "};
    static const char *const quo[] = {"\"\"",     "\"a,b\"",  "\"x\ny\"",          "\"p\r\nq\"",
                                      "\"\"\"\"", "\"\n\n\"", "\"say \"\"hi\"\"\""};
    static const char *const stray[] = {"\"", "\r", "\n", ",", "x"};
    size_t len = 0;
    int rows = (int)(lcg(seed) % 8);

    len += (size_t)snprintf(in, cap, lcg(seed) % 2 ? "h,i\n" : "\xEF\xBB\xBFh,i\r\n");
    for (int r = 0; r < rows; r++) {
        int fields = (int)(lcg(seed) % 4);
        for (int f = 0; f < fields; f++) {
            const char *v = lcg(seed) % 2 ? unq[lcg(seed) % 6] : quo[lcg(seed) % 7];
            len += (size_t)snprintf(in + len, cap - len, "%s%s", f ? "," : "", v);
        }
        if (r + 1 < rows || lcg(seed) % 2)
            len += (size_t)snprintf(in + len, cap - len, lcg(seed) % 2 ? "\n" : "\r\n");
    }
    if (lcg(seed) % 3 == 0) {
        size_t at = lcg(seed) % (len + 1);
        const char *b = stray[lcg(seed) % 5];
        memmove(in + at + 1, in + at, len - at);
        in[at] = b[0];
        len++;
    }
    in[len] = '\0';
    return len;
}

Test(import, chunks_map_back_exactly_on_random_input)
{
    unsigned seed = 20260907;
    char in[1024];
    size_t want[256], got[256], nbroken = 0;

    for (int iter = 0; iter < 5000; iter++) {
        size_t len = gen_csv(&seed, in, sizeof in - 2), nwant, ngot = 0;
        size_t skip = memcmp(in, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        size_t bad = whole_file(in + skip, len - skip, want, &nwant);

        got_t g;
        chunk_all(&g, IMPORT_CSV, 1 + lcg(&seed) % 3, in, len, 1 + lcg(&seed) % 5);
        for (size_t i = 0; i < g.n; i++)
            body_lines(&g.c[i], got, &ngot);
        if (bad) {
            nbroken++;
            cr_assert_eq(g.last, IMPORT_BROKEN, "iter %d: %s", iter, in);
            cr_assert_eq(g.problem.line, bad, "iter %d: line %zu, want %zu: %s", iter,
                         g.problem.line, bad, in);
            cr_assert_leq(ngot, nwant);
        } else {
            cr_assert_eq(g.last, IMPORT_END, "iter %d: %s (%s)", iter, in, g.problem.message);
            cr_assert_eq(ngot, nwant, "iter %d: %zu rows, want %zu: %s", iter, ngot, nwant, in);
        }
        for (size_t i = 0; i < ngot; i++)
            cr_assert_eq(got[i], want[i], "iter %d row %zu: line %zu, want %zu: %s", iter, i,
                         got[i], want[i], in);
        got_free(&g);
    }
    cr_assert(nbroken > 300 && nbroken < 2500, "both kinds exercised: %zu broken", nbroken);
}

/* ---- JSON chunking ---- */

Test(import, json_elements_streamed_into_arrays)
{
    const char *in = " [\n"
                     "  {\"a\": 1, \"s\": \"x]},[\\\"\"},\n" /* line 2 */
                     "  {\"a\": [2, {\"b\": 3}]},\n"         /* line 3 */
                     "  {\"a\":\n"                           /* line 4-5 */
                     "   4}, 5, \"six\", null\n"             /* line 5 */
                     "]\n";
    for (size_t k = 0; k < NSTEPS; k++) {
        got_t g;
        chunk_str(&g, IMPORT_JSON, 2, in, steps[k]);
        cr_assert_eq(g.last, IMPORT_END, "%s", g.problem.message);
        cr_assert_eq(g.n, 3);
        cr_assert_str_eq(g.c[0].body,
                         "[{\"a\": 1, \"s\": \"x]},[\\\"\"},{\"a\": [2, {\"b\": 3}]}]");
        cr_assert_str_eq(g.c[1].body, "[{\"a\":\n   4},5]");
        cr_assert_str_eq(g.c[2].body, "[\"six\",null]");
        cr_assert_eq(g.c[1].line[0], 4);
        cr_assert_eq(g.c[2].line[1], 5);
        cr_assert_eq(import_map_index(&g.c[1].slice, 1), 3);
        cr_assert_eq(import_map_index(&g.c[2].slice, 0), 4);
        for (size_t i = 0; i < g.n; i++) {
            json_t *v = json_loadb(g.c[i].body, g.c[i].len, 0, NULL);
            cr_assert(json_is_array(v), "chunk %zu is an array: %s", i, g.c[i].body);
            json_decref(v);
        }
        got_free(&g);
    }
}

/* gen_value makes a random JSON value whose strings hold the bytes a scanner could trip on. */
static json_t *gen_value(unsigned *seed, int depth)
{
    static const char *const str[] = {"", "]", "}", "\\", "\"", "a,b", "x\ny", "[{\"", "\xc3\xa9"};
    switch (lcg(seed) % (depth > 2 ? 4 : 6)) {
    case 0:
        return json_string(str[lcg(seed) % 9]);
    case 1:
        return json_integer((json_int_t)lcg(seed) - 16000);
    case 2:
        return lcg(seed) % 2 ? json_true() : json_null();
    case 3:
        return json_real(lcg(seed) / 7.0);
    case 4: {
        json_t *a = json_array();
        for (unsigned i = lcg(seed) % 4; i > 0; i--)
            json_array_append_new(a, gen_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = lcg(seed) % 4; i > 0; i--) {
            char key[8];
            snprintf(key, sizeof key, "k%u", i);
            json_object_set_new(o, key, gen_value(seed, depth + 1));
        }
        return o;
    }
    }
}

Test(import, json_elements_and_lines_on_random_input)
{
    unsigned seed = 42;
    for (int iter = 0; iter < 500; iter++) {
        json_t *want = json_array();
        size_t nel = lcg(&seed) % 12, line = 2, lines[16];
        char *in = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&in, &len);

        fputs("[\n", f);
        for (size_t i = 0; i < nel; i++) {
            json_t *v = gen_value(&seed, 0);
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_INDENT(lcg(&seed) % 3));
            json_array_append_new(want, v);
            lines[i] = line;
            fprintf(f, "%s%s", text, i + 1 < nel ? ",\n" : "\n");
            for (const char *c = text; *c; c++)
                line += *c == '\n';
            line++;
            free(text);
        }
        fputs("]", f);
        fclose(f);

        got_t g;
        chunk_all(&g, IMPORT_JSON, 1 + lcg(&seed) % 4, in, len, 1 + lcg(&seed) % 9);
        cr_assert_eq(g.last, IMPORT_END, "iter %d: %s: %s", iter, g.problem.message, in);
        size_t k = 0;
        for (size_t c = 0; c < g.n; c++) {
            json_t *arr = json_loadb(g.c[c].body, g.c[c].len, 0, NULL);
            cr_assert(json_is_array(arr), "iter %d: %s", iter, g.c[c].body);
            for (size_t i = 0; i < json_array_size(arr); i++, k++) {
                cr_assert_eq(import_map_index(&g.c[c].slice, i), k);
                cr_assert(json_equal(json_array_get(arr, i), json_array_get(want, k)),
                          "iter %d element %zu", iter, k);
                cr_assert_eq(g.c[c].line[i], lines[k], "iter %d element %zu", iter, k);
            }
            json_decref(arr);
        }
        cr_assert_eq(k, nel, "iter %d", iter);
        got_free(&g);
        json_decref(want);
        free(in);
    }
}

Test(import, json_empty_array_sent_once)
{
    got_t g;
    chunk_str(&g, IMPORT_JSON, 2, "\xEF\xBB\xBF [ ] ", 0);
    cr_assert_eq(g.last, IMPORT_END);
    cr_assert_eq(g.n, 1);
    cr_assert_str_eq(g.c[0].body, "[]");
    got_free(&g);
}

Test(import, json_broken_reported_at_the_file_line)
{
    struct {
        const char *in;
        size_t line;
        const char *says;
    } cases[] = {
        {"[{\"a\":1},\n{\"a\":\n tru}]", 3, "not valid JSON"},
        {"{\"a\":1}", 1, "put [ ] around"},
        {"[1,\n2,\n]", 3, "delete the ','"},
        {"[1,\n2\n", 1, "never closed"},
        {"[{\"a\":\"x\n", 1, "not valid JSON"},
        {"[1] 2", 1, "text after"},
        {"[{\"a\":1,\n\"a\":2}]", 2, "twice"},
        {"[{\"a\":1} {\"a\":2}]", 1, "expected ','"},
        {"  \n ", 0, "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t k = 0; k < NSTEPS; k++) {
            got_t g;
            chunk_str(&g, IMPORT_JSON, 1, cases[i].in, steps[k]);
            cr_assert_eq(g.last, IMPORT_BROKEN, "case %zu", i);
            cr_assert_eq(g.problem.line, cases[i].line, "case %zu: line %zu", i, g.problem.line);
            cr_assert(strstr(g.problem.message, cases[i].says), "case %zu: %s", i,
                      g.problem.message);
            got_free(&g);
        }
    }
}

/* ---- slices (413 halves) ---- */

Test(import, half_a_chunk_maps_from_its_own_first_row)
{
    import_chunker_t *ch = import_chunker_new(IMPORT_CSV, 10);
    const char *in = "a,b\n1,\"x\ny\"\n2,y\n3,\"p\r\n\r\nq\"\r\n4,z\n";
    import_chunk_t c;
    import_buf_t body = {0};
    import_slice_t s;

    import_chunker_feed(ch, in, strlen(in));
    import_chunker_finish(ch);
    cr_assert_eq(import_chunker_next(ch, &c), IMPORT_CHUNK);
    cr_assert_eq(c.nrows, 4);
    cr_assert_eq(import_body_build(ch, &c, 2, 4, &body, &s), RC_OK);
    cr_assert_eq(body.len, strlen("a,b\n3,\"p\r\n\r\nq\"\r\n4,z\n"));
    cr_assert(memcmp(body.p, "a,b\n3,\"p\r\n\r\nq\"\r\n4,z\n", body.len) == 0);
    cr_assert_eq(s.first_index, 2);
    cr_assert_eq(import_map_line(&s, 2), 5);
    cr_assert_eq(import_map_line(&s, 5), 8);
    cr_assert_eq(import_body_build(ch, &c, 3, 2, &body, &s), RC_EINVAL);
    cr_assert_eq(import_body_build(ch, &c, 1, 1, &body, &s), RC_EINVAL);
    cr_assert_eq(import_chunker_next(ch, &c), IMPORT_END);
    import_buf_free(&body);
    import_chunker_destroy(&ch);
}

/* ---- merging replies ---- */

static import_slice_t csv_slice(size_t first_line, size_t first_index, size_t nrows,
                                const size_t *lines)
{
    import_slice_t s = {.fmt = IMPORT_CSV,
                        .nrows = nrows,
                        .first_index = first_index,
                        .header_line = 1,
                        .header_lines = 1,
                        .first_line = first_line,
                        .last_line = lines[nrows - 1],
                        .row_line = lines};
    return s;
}

Test(import, merge_adds_up_and_maps_lines)
{
    import_totals_t t;
    size_t l1[] = {2, 3, 5}, l2[] = {40, 41, 42, 44};
    import_slice_t s1 = csv_slice(2, 0, 3, l1), s2 = csv_slice(40, 3, 4, l2);
    const char *r1 = "{\"kind\":\"marks\",\"received\":3,\"accepted\":1,\"duplicates\":1,"
                     "\"superseded\":1,\"rejected\":[{\"line\":5,\"column\":\"code\","
                     "\"reason\":\"'A' is not a code\"}]}";
    const char *r2 = "{\"received\":4,\"accepted\":2,\"duplicates\":0,\"rejected\":["
                     "{\"line\":2,\"column\":\"upn\",\"reason\":\"bad check letter\"},"
                     "{\"line\":6,\"column\":\"\",\"reason\":\"has 3 values\"}]}";
    char err[200], line[300];

    import_totals_init(&t, SIZE_MAX);
    cr_assert_eq(import_merge(&t, &s1, r1, strlen(r1), err, sizeof err), RC_OK, "%s", err);
    cr_assert_eq(import_merge(&t, &s2, r2, strlen(r2), err, sizeof err), RC_OK, "%s", err);
    cr_assert_eq(t.received, 7);
    cr_assert_eq(t.accepted, 3);
    cr_assert_eq(t.duplicates, 1);
    cr_assert_eq(t.superseded, 1);
    cr_assert_eq(t.rejected, 3);
    cr_assert_eq(t.posts, 2);
    cr_assert_eq(t.rows_done, 7);
    cr_assert_eq(t.last_line, 44);
    cr_assert_eq(t.last_index, 6);
    cr_assert_eq(t.n, 3);
    /* Body line 5 of the first is its third row (the second spans 2 lines): file line 5. */
    cr_assert_str_eq(import_reject_format(&t.v[0], line, sizeof line),
                     "line 5, column code: 'A' is not a code");
    cr_assert_str_eq(import_reject_format(&t.v[1], line, sizeof line),
                     "line 40, column upn: bad check letter");
    cr_assert_str_eq(import_reject_format(&t.v[2], line, sizeof line), "line 44: has 3 values");
    import_totals_release(&t);
    import_totals_release(&t);
}

Test(import, merge_maps_json_indexes)
{
    import_totals_t t;
    size_t lines[] = {10, 12, 13};
    import_slice_t s = {.fmt = IMPORT_JSON,
                        .nrows = 3,
                        .first_index = 2000,
                        .row_line = lines,
                        .first_line = 10,
                        .last_line = 13};
    const char *r = "{\"received\":3,\"accepted\":0,\"duplicates\":0,\"rejected\":["
                    "{\"index\":0,\"column\":\"upn\",\"reason\":\"r0\"},"
                    "{\"index\":1,\"column\":\"date\",\"reason\":\"r1\"},"
                    "{\"index\":2,\"column\":\"\",\"reason\":\"r2\"}]}";
    char line[300];

    import_totals_init(&t, 2);
    cr_assert_eq(import_merge(&t, &s, r, strlen(r), NULL, 0), RC_OK);
    cr_assert_eq(t.rejected, 3);
    cr_assert_eq(t.n, 2, "only the first 2 are kept");
    cr_assert_eq(t.v[1].index, 2001);
    cr_assert_str_eq(import_reject_format(&t.v[0], line, sizeof line),
                     "index 2000 (line 10), key upn: r0");
    cr_assert_str_eq(import_reject_format(&t.v[1], line, sizeof line),
                     "index 2001 (line 12), key date: r1");
    import_totals_release(&t);
}

Test(import, merge_refuses_replies_that_do_not_add_up)
{
    import_totals_t t;
    size_t lines[] = {2};
    import_slice_t s = csv_slice(2, 0, 1, lines);
    const char *bad[] = {
        "",
        "<html>502</html>",
        "[]",
        "{\"received\":1,\"accepted\":1,\"duplicates\":0}",
        "{\"received\":2,\"accepted\":1,\"duplicates\":0,\"rejected\":[]}",
        "{\"received\":1,\"accepted\":-1,\"duplicates\":2,\"rejected\":[]}",
        "{\"received\":1,\"accepted\":1,\"duplicates\":0,\"superseded\":\"x\",\"rejected\":[]}",
    };
    char err[200];

    import_totals_init(&t, 10);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(import_merge(&t, &s, bad[i], strlen(bad[i]), err, sizeof err), RC_EPARSE,
                     "case %zu", i);
        cr_assert_neq(err[0], '\0');
        cr_assert_eq(t.received + t.accepted + t.posts + t.n, 0, "totals untouched");
    }
    import_totals_release(&t);
}

Test(import, error_text_lines_mapped)
{
    size_t lines[] = {4001, 4003};
    import_slice_t s = csv_slice(4001, 4000, 2, lines);
    char out[200];
    import_map_error_text(&s, "line 3: the \" opened here (on line 4) is never closed", out,
                          sizeof out);
    cr_assert_str_eq(out, "line 4002: the \" opened here (on line 4003) is never closed");
    import_map_error_text(&s, "line 1: header column 3 has no name; timeline 7", out, sizeof out);
    cr_assert_str_eq(out, "line 1: header column 3 has no name; timeline 7");
}

/* ---- decisions ---- */

Test(import, classify_statuses)
{
    cr_assert_eq(import_classify(IMPORT_NET_OK, 200), IMPORT_DO_MERGE);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 422), IMPORT_DO_MERGE);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 413), IMPORT_DO_SPLIT);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 503), IMPORT_DO_RETRY);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 400), IMPORT_DO_BROKEN);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 404), IMPORT_DO_FAIL);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 415), IMPORT_DO_FAIL);
    cr_assert_eq(import_classify(IMPORT_NET_OK, 500), IMPORT_DO_FAIL);
    cr_assert_eq(import_classify(IMPORT_NET_RETRY, 0), IMPORT_DO_RETRY);
    cr_assert_eq(import_classify(IMPORT_NET_FAIL, 0), IMPORT_DO_FAIL);
}

Test(import, backoff_stays_near_ten_seconds)
{
    unsigned total = 0;
    for (unsigned a = 0; a < IMPORT_RETRIES; a++) {
        cr_assert_gt(import_backoff_ms(a), a ? import_backoff_ms(a - 1) : 0);
        total += import_backoff_ms(a);
    }
    cr_assert(total >= 5000 && total <= 10000, "%u ms", total);
}

Test(import, exit_codes)
{
    cr_assert_eq(import_exit_code(IMPORT_RAN_DONE, 0), 0);
    cr_assert_eq(import_exit_code(IMPORT_RAN_DONE, 3), 1);
    cr_assert_eq(import_exit_code(IMPORT_RAN_FAILED, 0), 3);
    cr_assert_eq(import_exit_code(IMPORT_RAN_FAILED, 3), 3, "a failure outranks rejections");
    cr_assert_eq(import_exit_code(IMPORT_RAN_BROKEN, 3), 4);
}

Test(import, progress_lines)
{
    char buf[200];
    import_progress_t p = {.bytes_done = 512u << 20,
                           .bytes_total = 2048u << 20,
                           .rows_sent = 50000,
                           .elapsed_ms = 10000};
    import_progress_format(buf, sizeof buf, &p, 1);
    cr_assert(strstr(buf, "[######..................]  25%"), "%s", buf);
    cr_assert(strstr(buf, "50000 rows"), "%s", buf);
    cr_assert(strstr(buf, "5000 rows/s"), "%s", buf);
    cr_assert(strstr(buf, "ETA 30s"), "%s", buf);
    import_progress_format(buf, sizeof buf, &p, 0);
    cr_assert_str_eq(buf, "rollcall import: 25% of 2.0 GiB, 50000 rows sent, 5000 rows/s, ETA 30s");
    p.bytes_total = 0;
    import_progress_format(buf, sizeof buf, &p, 0);
    cr_assert_str_eq(buf, "rollcall import: 512.0 MiB sent, 50000 rows, 5000 rows/s");
    p.elapsed_ms = 0;
    import_progress_format(buf, sizeof buf, &p, 1);
    cr_assert(strstr(buf, "0 rows/s"), "%s", buf);
}

/* ---- arguments ---- */

static rc_err_t args(import_opts_t *o, const char *env, char *err, ...)
{
    char *argv[16] = {"import"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = a;
    va_end(ap);
    return import_parse_args(argc, argv, env, o, err, 200);
}

Test(import, arguments)
{
    import_opts_t o;
    char err[200];

    cr_assert_eq(args(&o, NULL, err, "marks", "m.CSV", NULL), RC_OK, "%s", err);
    cr_assert_str_eq(o.kind, "marks");
    cr_assert_eq(o.format, IMPORT_CSV);
    cr_assert_str_eq(o.url, IMPORT_DEFAULT_URL);
    cr_assert_eq(o.chunk_rows, IMPORT_DEFAULT_ROWS);

    cr_assert_eq(args(&o, "http://env:1", err, "--quiet", "pupils", "--chunk-rows=5", "p.json",
                      "--all-errors", NULL),
                 RC_OK, "%s", err);
    cr_assert_str_eq(o.url, "http://env:1");
    cr_assert_eq(o.format, IMPORT_JSON);
    cr_assert_eq(o.chunk_rows, 5);
    cr_assert(o.quiet && o.all_errors);

    cr_assert_eq(args(&o, "http://env:1", err, "schools", "-", "--format", "json", "--url",
                      "https://x:9/", NULL),
                 RC_OK, "%s", err);
    cr_assert_str_eq(o.url, "https://x:9/");
    cr_assert_str_eq(o.path, "-");

    cr_assert_eq(args(&o, NULL, err, "--help", NULL), RC_OK);
    cr_assert(o.help);

    const char *bad[][6] = {
        {NULL},
        {"marks", NULL},
        {"mark", "m.csv", NULL},
        {"marks", "m.txt", NULL},
        {"marks", "-", NULL},
        {"marks", "m.csv", "--chunk-rows", "0", NULL},
        {"marks", "m.csv", "--chunk-rows", "12x", NULL},
        {"marks", "m.csv", "--chunk-rows", NULL},
        {"marks", "m.csv", "--format", "xml", NULL},
        {"marks", "m.csv", "--url", "ftp://x", NULL},
        {"marks", "m.csv", "extra", NULL},
        {"marks", "m.csv", "--frobnicate", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[8] = {"import"};
        int argc = 1;
        for (int k = 0; bad[i][k]; k++)
            argv[argc++] = (char *)bad[i][k];
        cr_assert_eq(import_parse_args(argc, argv, NULL, &o, err, sizeof err), RC_EINVAL,
                     "case %zu", i);
        cr_assert_neq(err[0], '\0');
    }
}

/* ---- the run loop, with ingest's own reader behind a fake poster ---- */

/* fake_t answers like ingest: it reads each body with records_parse. */
typedef struct {
    rec_format_t fmt;
    size_t max_rows; /* 413 above this many rows */
    int unavailable; /* answer 503 this many times first */
    int refuse;      /* refuse every connection */
    int bad_request; /* answer 400 to post number bad_request (1-based) */
    int posts;
    size_t rows_seen[64];
    char *reply;
} fake_t;

static void fake_post(void *ctx, const char *content_type, const char *body, size_t len,
                      import_reply_t *rep)
{
    fake_t *f = ctx;
    records_t *r = NULL;

    memset(rep, 0, sizeof *rep);
    free(f->reply);
    f->reply = NULL;
    f->posts++;
    cr_assert_str_eq(content_type, f->fmt == REC_FMT_CSV ? "text/csv" : "application/json");
    if (f->refuse) {
        rep->net = IMPORT_NET_RETRY;
        snprintf(rep->error, sizeof rep->error, "Failed to connect: Connection refused");
        return;
    }
    if (f->unavailable > 0) {
        f->unavailable--;
        rep->status = 503;
        rep->body = f->reply = strdup("{\"error\":\"redis is unavailable\"}");
        rep->len = strlen(rep->body);
        return;
    }
    if (f->bad_request == f->posts) {
        rep->status = 400;
        rep->body = f->reply = strdup("{\"error\":\"line 3: broken here\"}");
        rep->len = strlen(rep->body);
        return;
    }
    records_parse(REC_MARKS, f->fmt, body, len, &r);
    cr_assert_not_null(r);
    cr_assert_eq(r->fatal, 0, "the body is well formed: %.*s", (int)len, body);
    json_t *rej = json_array();
    size_t last = (size_t)-1;
    for (size_t i = 0; i < r->nerrors; i++) {
        if (r->errors[i].row == last)
            continue; /* one entry per rejected row */
        last = r->errors[i].row;
        json_array_append_new(rej, json_pack("{sIssss}", f->fmt == REC_FMT_CSV ? "line" : "index",
                                             (json_int_t)last, "column", r->errors[i].column,
                                             "reason", r->errors[i].message));
    }
    size_t received = r->n + json_array_size(rej);
    if (received > f->max_rows) {
        json_decref(rej);
        records_destroy(&r);
        rep->status = 413;
        return;
    }
    if (f->posts <= 64)
        f->rows_seen[f->posts - 1] = received;
    json_t *root = json_pack("{sIsIsIso}", "received", (json_int_t)received, "accepted",
                             (json_int_t)r->n, "duplicates", (json_int_t)0, "rejected", rej);
    rep->status = r->n ? 200 : 422;
    rep->body = f->reply = json_dumps(root, 0);
    rep->len = strlen(rep->body);
    json_decref(root);
    records_destroy(&r);
}

static uint64_t fake_clock;
static unsigned fake_slept;

static uint64_t fake_now(void)
{
    return fake_clock += 7;
}

static void fake_sleep(unsigned ms)
{
    fake_slept += ms;
}

typedef struct {
    int status;
    char *out, *err;
} ran_t;

static ran_t run(const char *input, import_format_t fmt, size_t rows, fake_t *f, int all_errors)
{
    import_opts_t o = {.kind = "marks",
                       .path = fmt == IMPORT_CSV ? "marks.csv" : "marks.json",
                       .format = fmt,
                       .url = IMPORT_DEFAULT_URL,
                       .chunk_rows = rows,
                       .all_errors = all_errors};
    ran_t r = {0};
    size_t olen, elen;
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
    import_io_t io = {.out = out,
                      .err = err,
                      .progress = 2,
                      .target = "POST http://127.0.0.1:8081/v1/marks",
                      .now_ms = fake_now,
                      .sleep_ms = fake_sleep,
                      .bytes_total = strlen(input)};

    fake_slept = 0;
    f->fmt = fmt == IMPORT_CSV ? REC_FMT_CSV : REC_FMT_JSON;
    r.status = import_run(&o, in, fake_post, f, &io);
    fclose(in);
    fclose(out);
    fclose(err);
    free(f->reply);
    f->reply = NULL;
    return r;
}

static void ran_free(ran_t *r)
{
    free(r->out);
    free(r->err);
}

#define GOOD(day) MARK(day, "/") "\n"

Test(import, run_maps_rejections_to_file_lines)
{
    /* Lines 4-5 are one row (a code with a newline in it), 8-9 are blank, 10 has code A;
     * the last row has no line end. */
    const char *in = MARKS_HDR GOOD("07")
        GOOD("08") "100123," UPN1 ",2026-09-09,AM,\"A\nB\",,2026-09-09T08:41:00+01:00\n" GOOD("10")
            GOOD("11") "\n,,,\n" MARK("14", "A") "\n" MARK("15", "/");
    fake_t f = {.max_rows = 100};
    ran_t r = run(in, IMPORT_CSV, 2, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_REJECTED, "%s%s", r.out, r.err);
    cr_assert_eq(f.posts, 4);
    cr_assert(strncmp(r.out,
                      "received:   7\naccepted:   5\nduplicates: 0\nsuperseded: 0\n"
                      "rejected:   2\nline 4, column code: 'A?B' is not a DfE attendance code",
                      120) == 0,
              "%s", r.out);
    cr_assert(strstr(r.out, "\nline 10, column code: 'A' is not"), "%s", r.out);
    cr_assert_null(strstr(r.err, "warning"), "ingest's reader counts the rows we do: %s", r.err);
    ran_free(&r);
}

Test(import, run_json_maps_indexes)
{
    const char *in =
        "[\n"
        "{\"urn\":\"100123\",\"upn\":\"" UPN1 "\",\"date\":\"2026-09-07\","
        "\"session\":\"AM\",\"code\":\"/\",\"recorded_at\":\"2026-09-07T08:41:00Z\"},\n"
        "{\"urn\":\"100123\",\"upn\":\"" UPN2 "\",\"date\":\"2026-09-07\","
        "\"session\":\"AM\",\"code\":\"/\",\"recorded_at\":\"2026-09-07T08:41:00Z\"},\n"
        "{\"urn\":\"100123\",\"upn\":\"" UPN2 "\",\"date\":\"2026-09-08\",\n"
        "\"session\":\"AM\",\"code\":\"A\",\"recorded_at\":\"2026-09-08T08:41:00Z\"}\n"
        "]\n";
    fake_t f = {.max_rows = 100};
    ran_t r = run(in, IMPORT_JSON, 2, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_REJECTED, "%s%s", r.out, r.err);
    cr_assert_eq(f.posts, 2);
    cr_assert(strstr(r.out, "\nindex 2 (line 4), key code: "), "%s", r.out);
    ran_free(&r);
}

Test(import, run_halves_on_413_until_it_fits)
{
    char in[8192] = MARKS_HDR;
    for (int d = 1; d <= 28; d++) {
        char row[128];
        snprintf(row, sizeof row, "100123," UPN1 ",2026-02-%02d,AM,%s,,2026-02-%02dT08:41:00Z\n", d,
                 d == 20 ? "A" : "/", d);
        strcat(in, row);
    }
    fake_t f = {.max_rows = 3};
    ran_t r = run(in, IMPORT_CSV, 10, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_REJECTED, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "received:   28\n"), "%s", r.out);
    cr_assert(strstr(r.out, "\nline 21, column code: "), "%s", r.out);
    cr_assert(strstr(r.err, "HTTP 413"), "%s", r.err);
    for (int i = 0; i < f.posts && i < 64; i++)
        cr_assert_leq(f.rows_seen[i], 3);
    ran_free(&r);
}

Test(import, run_retries_503_then_succeeds)
{
    fake_t f = {.max_rows = 100, .unavailable = 2};
    ran_t r = run(MARKS_HDR GOOD("07"), IMPORT_CSV, 10, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_OK, "%s%s", r.out, r.err);
    cr_assert_eq(f.posts, 3);
    cr_assert_eq(fake_slept, import_backoff_ms(0) + import_backoff_ms(1));
    cr_assert(strstr(r.err, "HTTP 503: redis is unavailable; trying again"), "%s", r.err);
    ran_free(&r);
}

Test(import, run_gives_up_when_refused_and_says_how_to_resume)
{
    fake_t f = {.max_rows = 100, .refuse = 1};
    ran_t r = run(MARKS_HDR GOOD("07"), IMPORT_CSV, 10, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_FAILED);
    cr_assert_eq(f.posts, 1 + IMPORT_RETRIES);
    cr_assert(strstr(r.err, "POST http://127.0.0.1:8081/v1/marks: Failed to connect"), "%s", r.err);
    cr_assert(strstr(r.err, "stopped before ingest stored anything"), "%s", r.err);
    cr_assert(strstr(r.err, "same command"), "%s", r.err);
    ran_free(&r);
}

Test(import, run_stops_at_a_400_with_the_file_line)
{
    const char *in = MARKS_HDR GOOD("07") GOOD("08") GOOD("09") GOOD("10") GOOD("11");
    fake_t f = {.max_rows = 100, .bad_request = 2};
    ran_t r = run(in, IMPORT_CSV, 2, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_BROKEN, "%s%s", r.out, r.err);
    cr_assert_eq(f.posts, 2, "nothing after the 400 is sent");
    /* Body line 3 of the second chunk (file lines 4-5) is file line 5. */
    cr_assert(strstr(r.err, "HTTP 400): line 5: broken here"), "%s", r.err);
    cr_assert(strstr(r.err, "1 chunk(s), 2 rows (up to line 3), had been answered"), "%s", r.err);
    cr_assert(strstr(r.out, "received:   2\n"), "%s", r.out);
    ran_free(&r);
}

Test(import, run_stops_at_a_broken_file_line)
{
    const char *in = MARKS_HDR GOOD("07") GOOD("08") GOOD("09") "100123,\"x" GOOD("11");
    fake_t f = {.max_rows = 100};
    ran_t r = run(in, IMPORT_CSV, 2, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_BROKEN, "%s%s", r.out, r.err);
    cr_assert_eq(f.posts, 1);
    cr_assert(strstr(r.err, "marks.csv: line 5, column upn: the \" opened here is never closed"),
              "%s", r.err);
    ran_free(&r);
}

Test(import, run_caps_the_listing)
{
    char in[16384] = MARKS_HDR;
    for (int d = 1; d <= 60; d++) {
        char row[128];
        snprintf(row, sizeof row, "100123," UPN1 ",2026-03-%02d,AM,A,,2026-03-01T08:41:00Z\n",
                 d % 28 + 1);
        strcat(in, row);
    }
    fake_t f = {.max_rows = 1000};
    ran_t r = run(in, IMPORT_CSV, 7, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_REJECTED);
    cr_assert(strstr(r.out, "and 10 more rejected rows (--all-errors lists them all)\n"), "%s",
              r.out);
    ran_free(&r);
    r = run(in, IMPORT_CSV, 7, &f, 1);
    cr_assert_null(strstr(r.out, "more rejected rows"));
    cr_assert(strstr(r.out, "\nline 61, column code: "), "%s", r.out);
    ran_free(&r);
}
