/* import.c - the I/O-free parts of `rollcall import`: chunker, bodies, reply merging, decisions. */
#include "import.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/csv.h"
#include "rollcall/records.h"

#if defined(__GNUC__)
#define IMPORT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define IMPORT_PRINTF(fmt, args)
#endif

/* CSV scanner states, as csv.c reads: where in a field the last byte left us. */
enum {
    C_START = 0, /* at the start of a field (or of a row) */
    C_UNQ,       /* inside an unquoted field */
    C_Q,         /* inside a quoted field */
    C_QQ,        /* a '"' inside a quoted field: an escaped '"' or the close */
    C_CR,        /* a CR outside quotes: a line end if LF follows, else data */
    C_QCR        /* a CR right after a closing quote: only CR LF may follow */
};

/* JSON scanner states over the top-level array. */
enum {
    J_BEGIN = 0, /* before the '[' */
    J_FIRST,     /* after '[': an element or ']' */
    J_ELEM,      /* after ',': an element */
    J_IN,        /* inside an element */
    J_AFTER,     /* after an element: ',' or ']' */
    J_DONE       /* after the closing ']': only white space */
};

struct import_chunker {
    import_format_t fmt;
    size_t chunk_rows;

    char *buf; /* the chunk's rows, then input not yet scanned */
    size_t len, cap;
    size_t scan;      /* bytes of buf scanned */
    uint64_t buf_off; /* file offset of buf[0] */
    int eof;          /* import_chunker_finish was called */
    int eof_done;     /* the record cut by the end of the file was taken */
    int flush;        /* import_chunker_flush: emit the rows held once whole rows run out */
    int bom_checked;
    import_next_t stop; /* IMPORT_BROKEN or IMPORT_NOMEM once stopped, else IMPORT_NEED_MORE */

    /* The record being scanned. */
    int st;
    size_t line; /* physical line of buf[scan]: 1 + LFs before it */
    size_t rec_start, rec_line;
    size_t rec_fields; /* CSV: fields ended so far */
    int rec_text;      /* CSV: a field has a byte in it (the row is not blank) */
    size_t quote_line; /* CSV: line of the open quoted field's '"' */
    size_t depth;      /* JSON: open brackets inside the element */
    int in_str, esc;   /* JSON: inside a string, after a backslash */
    size_t array_line; /* JSON: line of the '[' */

    /* CSV header, without BOM, with its line end. */
    char *header;
    size_t header_len, header_line, header_lines;
    int have_header;

    /* Rows of the chunk being filled. */
    size_t *off, *end, *rline;
    size_t nrows, rows_cap;
    size_t next_index; /* file-wide position of the next row */
    size_t seq;
    int emitted;  /* the last call returned a chunk: forget its rows first */
    int sent_any; /* a chunk (maybe empty) was returned */

    import_problem_t problem;
};

/* ---- chunker: buffer ---- */

import_chunker_t *import_chunker_new(import_format_t fmt, size_t chunk_rows)
{
    if (chunk_rows == 0 || (fmt != IMPORT_CSV && fmt != IMPORT_JSON))
        return NULL;
    import_chunker_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->fmt = fmt;
    ch->chunk_rows = chunk_rows;
    ch->line = 1;
    ch->rec_line = 1;
    ch->stop = IMPORT_NEED_MORE;
    return ch;
}

void import_chunker_destroy(import_chunker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    import_chunker_t *ch = *self_p;
    free(ch->buf);
    free(ch->header);
    free(ch->off);
    free(ch->end);
    free(ch->rline);
    free(ch);
    *self_p = NULL;
}

/* hold_from is the first byte still needed: the chunk's first row, else the
 * record being scanned, else whatever is not scanned yet. */
static size_t hold_from(const import_chunker_t *ch)
{
    if (!ch->bom_checked)
        return 0;
    if (ch->nrows)
        return ch->off[0];
    if (ch->fmt == IMPORT_CSV || ch->st == J_IN)
        return ch->rec_start;
    return ch->scan;
}

/* forget_emitted drops the rows of the chunk the caller has had. */
static void forget_emitted(import_chunker_t *ch)
{
    if (!ch->emitted)
        return;
    ch->nrows = 0;
    ch->emitted = 0;
}

rc_err_t import_chunker_feed(import_chunker_t *ch, const void *bytes, size_t len)
{
    if (ch->eof)
        return RC_ESTATE;
    forget_emitted(ch);
    /* Slide the bytes still needed to the front once half the buffer is spent,
     * or before growing it: memory stays about one chunk plus one block, and
     * each byte is moved a bounded number of times. */
    size_t drop = hold_from(ch);
    if (drop > 0 && (drop >= ch->len / 2 || len > ch->cap - ch->len)) {
        memmove(ch->buf, ch->buf + drop, ch->len - drop);
        ch->len -= drop;
        ch->scan -= drop;
        ch->rec_start -= drop < ch->rec_start ? drop : ch->rec_start;
        ch->buf_off += drop;
        for (size_t i = 0; i < ch->nrows; i++) {
            ch->off[i] -= drop;
            ch->end[i] -= drop;
        }
    }
    if (len > ch->cap - ch->len) {
        size_t cap = ch->cap ? ch->cap : 65536;
        while (cap - ch->len < len) {
            if (cap > SIZE_MAX / 2)
                return RC_ENOMEM;
            cap *= 2;
        }
        char *p = realloc(ch->buf, cap);
        if (!p)
            return RC_ENOMEM;
        ch->buf = p;
        ch->cap = cap;
    }
    if (len)
        memcpy(ch->buf + ch->len, bytes, len);
    ch->len += len;
    return RC_OK;
}

void import_chunker_finish(import_chunker_t *ch)
{
    ch->eof = 1;
}

void import_chunker_flush(import_chunker_t *ch)
{
    ch->flush = 1;
}

size_t import_chunker_held(const import_chunker_t *ch)
{
    return ch->len;
}

const import_problem_t *import_chunker_problem(const import_chunker_t *ch)
{
    return &ch->problem;
}

/* broken records what is wrong with the file at line; returns -1 for the scanners. */
static int broken(import_chunker_t *ch, size_t line, const char *column, const char *fmt, ...)
    IMPORT_PRINTF(4, 5);

static int broken(import_chunker_t *ch, size_t line, const char *column, const char *fmt, ...)
{
    va_list ap;
    ch->problem.line = line;
    snprintf(ch->problem.column, sizeof ch->problem.column, "%s", column ? column : "");
    va_start(ap, fmt);
    vsnprintf(ch->problem.message, sizeof ch->problem.message, fmt, ap);
    va_end(ap);
    ch->stop = IMPORT_BROKEN;
    return -1;
}

/* header_column copies the name of header column idx into out, or "". */
static const char *header_column(const import_chunker_t *ch, size_t idx, char *out, size_t len)
{
    csv_reader_t rd;

    out[0] = '\0';
    if (!ch->have_header)
        return out;
    if (csv_reader_init(&rd, ch->header, ch->header_len, REC_MAX_COLUMNS, REC_MAX_FIELD) == RC_OK &&
        csv_next(&rd) == CSV_ROW && idx < rd.nfields && idx < rd.max_fields) {
        const char *s = rd.field[idx].s;
        size_t n = rd.field[idx].len;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), s);
    }
    csv_reader_release(&rd);
    return out;
}

/* ---- chunker: CSV ---- */

/* csv_where fills where with " (on line N)" when the stray byte is not on the row's first line. */
static const char *csv_where(const import_chunker_t *ch, size_t line, char *where, size_t len)
{
    where[0] = '\0';
    if (line != ch->rec_line)
        snprintf(where, len, " (on line %zu)", line);
    return where;
}

static int csv_bare_quote(import_chunker_t *ch)
{
    char col[48], where[48];
    return broken(ch, ch->rec_line, header_column(ch, ch->rec_fields, col, sizeof col),
                  "a \" inside a value that does not start with one%s: put the whole value in "
                  "double quotes and write each \" inside it as \"\"",
                  csv_where(ch, ch->line, where, sizeof where));
}

static int csv_after_quote(import_chunker_t *ch)
{
    char col[48], where[48];
    return broken(ch, ch->rec_line, header_column(ch, ch->rec_fields, col, sizeof col),
                  "text after a closing \"%s: a quoted value must end at a comma or the end of "
                  "the line; write each \" inside it as \"\"",
                  csv_where(ch, ch->line, where, sizeof where));
}

static int csv_unterminated(import_chunker_t *ch)
{
    char col[48], where[48];
    return broken(ch, ch->rec_line, header_column(ch, ch->rec_fields, col, sizeof col),
                  "the \" opened here%s is never closed, so the rest of the file would be one "
                  "value: add the closing \"",
                  csv_where(ch, ch->quote_line, where, sizeof where));
}

/* csv_record scans on from ch->scan: 1 when a row ends at ch->scan, 0 when
 * the bytes ran out first, -1 when the file is broken. It agrees with
 * csv_next byte for byte: rows end at LF or CR LF, a lone CR is data. */
static int csv_record(import_chunker_t *ch)
{
    const char *b = ch->buf;
    size_t i = ch->scan;
    int row_end = 0;

    while (i < ch->len && !row_end) {
        char c = b[i];
        switch (ch->st) {
        case C_CR:
            if (c == '\n') {
                row_end = 1;
                break;
            }
            ch->rec_text = 1; /* the CR was data; read c again as field text */
            ch->st = C_UNQ;
            continue;
        case C_START:
        case C_UNQ:
            if (c == ',') {
                ch->rec_fields++;
                ch->st = C_START;
            } else if (c == '\n') {
                row_end = 1;
            } else if (c == '\r') {
                ch->st = C_CR;
            } else if (c == '"') {
                if (ch->st == C_UNQ) {
                    ch->scan = i;
                    return csv_bare_quote(ch);
                }
                ch->st = C_Q;
                ch->quote_line = ch->line;
            } else {
                ch->rec_text = 1;
                ch->st = C_UNQ;
            }
            break;
        case C_Q:
            if (c == '"')
                ch->st = C_QQ;
            else
                ch->rec_text = 1;
            break;
        case C_QQ:
            if (c == '"') {
                ch->rec_text = 1;
                ch->st = C_Q;
            } else if (c == ',') {
                ch->rec_fields++;
                ch->st = C_START;
            } else if (c == '\n') {
                row_end = 1;
            } else if (c == '\r') {
                ch->st = C_QCR;
            } else {
                ch->scan = i;
                return csv_after_quote(ch);
            }
            break;
        default: /* C_QCR */
            if (c != '\n') {
                ch->scan = i;
                return csv_after_quote(ch);
            }
            row_end = 1;
            break;
        }
        if (c == '\n')
            ch->line++;
        i++;
    }
    ch->scan = i;
    if (row_end)
        ch->rec_fields++;
    return row_end;
}

/* csv_record_at_eof takes the row the end of the file cut (no line end). */
static int csv_record_at_eof(import_chunker_t *ch)
{
    if (ch->rec_start == ch->len)
        return 0;
    switch (ch->st) {
    case C_Q:
        return csv_unterminated(ch);
    case C_QCR:
        return csv_after_quote(ch);
    case C_CR:
        ch->rec_text = 1; /* a CR at the very end is data, as in csv_next */
        break;
    default:
        break;
    }
    ch->rec_fields++;
    return 1;
}

/* ---- chunker: JSON ---- */

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* json_record scans on from ch->scan: 1 when an element ends at ch->scan, 0
 * when the bytes ran out first, -1 when the file is broken. Only strings and
 * brackets are tracked here; json_check reads each element properly. */
static int json_record(import_chunker_t *ch)
{
    const char *b = ch->buf;
    size_t i = ch->scan;

    while (i < ch->len) {
        char c = b[i];
        switch (ch->st) {
        case J_BEGIN:
            if (json_space(c))
                break;
            if (c != '[') {
                ch->scan = i;
                return broken(ch, ch->line, NULL,
                              "the file must be a JSON array of records, [{...}, ...]%s",
                              c == '{' ? " (put [ ] around a single record)" : "");
            }
            ch->array_line = ch->line;
            ch->st = J_FIRST;
            break;
        case J_FIRST:
        case J_ELEM:
            if (json_space(c))
                break;
            if (c == ']' && ch->st == J_FIRST) {
                ch->st = J_DONE;
                break;
            }
            if (c == ']' || c == ',' || c == '}') {
                ch->scan = i;
                return broken(ch, ch->line, NULL, "'%c' where a record should start%s", c,
                              c == ']' ? ": delete the ',' before it" : "");
            }
            ch->rec_start = i;
            ch->rec_line = ch->line;
            ch->depth = 0;
            ch->in_str = ch->esc = 0;
            ch->st = J_IN;
            continue; /* c is the element's first byte */
        case J_IN:
            if (ch->in_str) {
                if (ch->esc)
                    ch->esc = 0;
                else if (c == '\\')
                    ch->esc = 1;
                else if (c == '"')
                    ch->in_str = 0;
                if (!ch->in_str && ch->depth == 0) {
                    ch->scan = i + 1; /* a string element ends at its quote */
                    ch->st = J_AFTER;
                    return 1;
                }
            } else if (c == '"') {
                ch->in_str = 1;
            } else if (c == '{' || c == '[') {
                ch->depth++;
            } else if (c == '}' || c == ']') {
                if (ch->depth == 0) {
                    ch->scan = i; /* closes the array (or is stray): not this element's */
                    ch->st = J_AFTER;
                    return 1;
                }
                if (--ch->depth == 0) {
                    ch->scan = i + 1;
                    ch->st = J_AFTER;
                    return 1;
                }
            } else if (ch->depth == 0 && (json_space(c) || c == ',')) {
                ch->scan = i; /* a number, true, false or null ends here */
                ch->st = J_AFTER;
                return 1;
            }
            break;
        case J_AFTER:
            if (json_space(c))
                break;
            if (c == ',') {
                ch->st = J_ELEM;
            } else if (c == ']') {
                ch->st = J_DONE;
            } else {
                ch->scan = i;
                return broken(ch, ch->line, NULL,
                              "expected ',' or ']' after the record that starts on line %zu",
                              ch->rec_line);
            }
            break;
        default: /* J_DONE */
            if (!json_space(c)) {
                ch->scan = i;
                return broken(ch, ch->line, NULL,
                              "text after the array's closing ']': a file holds one array");
            }
            break;
        }
        if (c == '\n')
            ch->line++;
        i++;
    }
    ch->scan = i;
    return 0;
}

/* json_check parses one element with jansson as ingest will, so a syntax
 * error is reported at its line in the file. 0, or -1 when broken. */
static int json_check(import_chunker_t *ch, size_t from, size_t to)
{
    json_error_t e;
    json_t *v = json_loadb(ch->buf + from, to - from, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (v) {
        json_decref(v);
        return 0;
    }
    size_t line = ch->rec_line + (e.line > 0 ? (size_t)e.line - 1 : 0);
    switch (json_error_code(&e)) {
    case json_error_out_of_memory:
        ch->stop = IMPORT_NOMEM;
        return -1;
    case json_error_invalid_utf8:
        return broken(ch, line, NULL, "the file is not valid UTF-8 text; save it as UTF-8");
    case json_error_null_character:
        return broken(ch, line, NULL, "a string contains \\u0000; remove it");
    case json_error_duplicate_key:
        return broken(ch, line, NULL, "a key appears twice in one record: %s", e.text);
    default:
        return broken(ch, line, NULL, "not valid JSON: %s", e.text);
    }
}

/* json_record_at_eof: the array must have closed. */
static int json_record_at_eof(import_chunker_t *ch)
{
    switch (ch->st) {
    case J_BEGIN:
        return broken(ch, 0, NULL,
                      "the file is empty: expected a JSON array of records, [{...}, ...]");
    case J_DONE:
        return 0;
    case J_IN:
        if (json_check(ch, ch->rec_start, ch->len) < 0)
            return -1;
        break;
    default:
        break;
    }
    return broken(ch, ch->array_line, NULL,
                  "the array opened here is never closed: add the closing ']' at the end");
}

/* ---- chunker: rows and chunks ---- */

/* check_bom skips a UTF-8 byte order mark (Excel's CSV UTF-8) and refuses UTF-16. */
static int check_bom(import_chunker_t *ch)
{
    const unsigned char *b = (const unsigned char *)ch->buf;
    ch->bom_checked = 1;
    if (ch->len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        ch->scan = ch->rec_start = 3;
    } else if (ch->len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
        return broken(ch, 0, NULL, "the file is UTF-16 text; save it as %s",
                      ch->fmt == IMPORT_CSV ? "CSV UTF-8 (in Excel: Save As, CSV UTF-8)" : "UTF-8");
    }
    return 0;
}

/* add_row appends [rec_start, scan) to the chunk's rows. */
static int add_row(import_chunker_t *ch)
{
    if (ch->nrows == ch->rows_cap) {
        size_t cap = ch->rows_cap ? ch->rows_cap * 2 : 64;
        if (cap > ch->chunk_rows)
            cap = ch->chunk_rows;
        size_t *off = realloc(ch->off, cap * sizeof *off);
        if (off)
            ch->off = off;
        size_t *end = realloc(ch->end, cap * sizeof *end);
        if (end)
            ch->end = end;
        size_t *rline = realloc(ch->rline, cap * sizeof *rline);
        if (rline)
            ch->rline = rline;
        if (!off || !end || !rline)
            return -1;
        ch->rows_cap = cap;
    }
    ch->off[ch->nrows] = ch->rec_start;
    ch->end[ch->nrows] = ch->scan;
    ch->rline[ch->nrows] = ch->rec_line;
    ch->nrows++;
    ch->next_index++;
    return 0;
}

/* take_record files the record just scanned as header, blank row or row;
 * 0, or -1 with ch->stop set. */
static int take_record(import_chunker_t *ch)
{
    int rc = 0;

    if (ch->fmt == IMPORT_JSON) {
        if (json_check(ch, ch->rec_start, ch->scan) < 0)
            return -1;
        rc = add_row(ch);
    } else if (!ch->rec_text && ch->rec_fields <= REC_MAX_COLUMNS) {
        /* a blank row (or bare commas): ingest skips it, so it is no row */
    } else if (!ch->have_header) {
        size_t n = ch->scan - ch->rec_start;
        if (!(ch->header = malloc(n + 1))) {
            rc = -1;
        } else {
            memcpy(ch->header, ch->buf + ch->rec_start, n);
            ch->header[n] = '\0';
            ch->header_len = n;
            ch->header_line = ch->rec_line;
            ch->header_lines = ch->line - ch->rec_line + (ch->buf[ch->scan - 1] != '\n');
            ch->have_header = 1;
        }
    } else {
        rc = add_row(ch);
    }
    if (rc < 0) {
        ch->stop = IMPORT_NOMEM;
        return -1;
    }
    if (ch->fmt == IMPORT_CSV) {
        ch->rec_start = ch->scan;
        ch->rec_line = ch->line;
        ch->rec_fields = 0;
        ch->rec_text = 0;
        ch->st = C_START;
    }
    return 0;
}

static import_next_t emit(import_chunker_t *ch, import_chunk_t *c)
{
    c->data = ch->buf;
    c->off = ch->off;
    c->end = ch->end;
    c->line = ch->rline;
    c->nrows = ch->nrows;
    c->first_index = ch->next_index - ch->nrows;
    c->file_off = ch->buf_off;
    c->seq = ch->seq++;
    ch->emitted = 1;
    ch->sent_any = 1;
    return IMPORT_CHUNK;
}

static int chunk_full(const import_chunker_t *ch)
{
    return ch->nrows > 0 && (ch->nrows >= ch->chunk_rows ||
                             ch->end[ch->nrows - 1] - ch->off[0] >= IMPORT_CHUNK_BYTES);
}

import_next_t import_chunker_next(import_chunker_t *ch, import_chunk_t *chunk)
{
    if (ch->stop != IMPORT_NEED_MORE)
        return ch->stop;
    forget_emitted(ch);
    if (!ch->bom_checked) {
        if (ch->len < 3 && !ch->eof)
            return IMPORT_NEED_MORE;
        if (check_bom(ch) < 0)
            return ch->stop;
    }
    for (;;) {
        int r = 0;
        if (!ch->eof_done)
            r = ch->fmt == IMPORT_CSV ? csv_record(ch) : json_record(ch);
        if (r == 0 && ch->eof && !ch->eof_done) {
            ch->eof_done = 1;
            r = ch->fmt == IMPORT_CSV ? csv_record_at_eof(ch) : json_record_at_eof(ch);
        }
        if (r < 0)
            return ch->stop;
        if (r == 0) {
            int in_record = ch->fmt == IMPORT_CSV ? ch->scan > ch->rec_start : ch->st == J_IN;
            if (in_record && ch->scan - ch->rec_start > IMPORT_MAX_RECORD) {
                char col[48];
                int open = ch->fmt == IMPORT_CSV && ch->st == C_Q;
                broken(ch, ch->rec_line,
                       open ? header_column(ch, ch->rec_fields, col, sizeof col) : "",
                       "this %s is longer than %u bytes, more than any real one%s",
                       ch->fmt == IMPORT_CSV ? "row" : "record", IMPORT_MAX_RECORD,
                       open ? ": a \" opened in it is probably never closed" : "");
                return ch->stop;
            }
            if (!ch->eof) {
                int flush = ch->flush;
                ch->flush = 0;
                return flush && ch->nrows ? emit(ch, chunk) : IMPORT_NEED_MORE;
            }
            if (ch->nrows)
                return emit(ch, chunk);
            if (ch->sent_any)
                return IMPORT_END;
            if (ch->fmt == IMPORT_CSV && !ch->have_header) {
                broken(ch, 0, NULL, "the file is empty: the first line must be the header row");
                return ch->stop;
            }
            return emit(ch, chunk); /* no rows: sent once so ingest checks the header */
        }
        if (take_record(ch) < 0)
            return ch->stop;
        if (chunk_full(ch))
            return emit(ch, chunk);
    }
}

/* ---- bodies and slices ---- */

void import_buf_free(import_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int buf_put(import_buf_t *b, const char *s, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

rc_err_t import_body_build(const import_chunker_t *ch, const import_chunk_t *c, size_t from,
                           size_t to, import_buf_t *body, import_slice_t *slice)
{
    if (to > c->nrows || from > to || (from == to && c->nrows != 0))
        return RC_EINVAL;
    size_t n = to - from;
    int bad = 0;

    memset(slice, 0, sizeof *slice);
    slice->fmt = ch->fmt;
    slice->nrows = n;
    slice->first_index = c->first_index + from;
    slice->header_line = ch->header_line;
    slice->header_lines = ch->header_lines;
    slice->first_line = n ? c->line[from] : ch->header_line;
    slice->last_line = n ? c->line[to - 1] : ch->header_line;
    slice->row_line = n ? c->line + from : NULL;

    body->len = 0;
    if (ch->fmt == IMPORT_CSV) {
        bad |= buf_put(body, ch->header, ch->header_len);
        if (n)
            bad |= buf_put(body, c->data + c->off[from], c->end[to - 1] - c->off[from]);
    } else {
        bad |= buf_put(body, "[", 1);
        for (size_t i = from; i < to; i++) {
            if (i > from)
                bad |= buf_put(body, ",", 1);
            bad |= buf_put(body, c->data + c->off[i], c->end[i] - c->off[i]);
        }
        bad |= buf_put(body, "]", 1);
    }
    return bad ? RC_ENOMEM : RC_OK;
}

size_t import_map_line(const import_slice_t *s, size_t body_line)
{
    if (body_line == 0 || s->fmt != IMPORT_CSV)
        return 0;
    if (body_line <= s->header_lines || s->nrows == 0)
        return s->header_line + body_line - 1;
    return s->first_line + (body_line - s->header_lines - 1);
}

size_t import_map_index(const import_slice_t *s, size_t body_index)
{
    return s->first_index + body_index;
}

const char *import_content_type(import_format_t fmt)
{
    return fmt == IMPORT_JSON ? "application/json" : "text/csv";
}

/* ---- merging replies ---- */

void import_totals_init(import_totals_t *t, size_t keep)
{
    memset(t, 0, sizeof *t);
    t->keep = keep;
}

void import_totals_release(import_totals_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].reason);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* count reads a non-negative integer member into *out; -1 when absent or not one. */
static int count(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* place fills r's position in the file from one rejected item. */
static void place(import_reject_t *r, const import_slice_t *s, const json_t *item)
{
    const json_t *line = json_object_get(item, "line");
    const json_t *index = json_object_get(item, "index");

    if (json_is_integer(index) && json_integer_value(index) >= 0) {
        size_t i = (size_t)json_integer_value(index);
        r->line = i < s->nrows ? s->row_line[i] : 0;
        if (s->fmt == IMPORT_JSON) {
            r->has_index = 1;
            r->index = import_map_index(s, i);
        }
    } else if (json_is_integer(line) && json_integer_value(line) >= 0) {
        r->line = import_map_line(s, (size_t)json_integer_value(line));
    }
}

rc_err_t import_merge(import_totals_t *t, const import_slice_t *s, const char *body, size_t len,
                      char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = NULL;
    const json_t *rej;
    uint64_t received, accepted, duplicates, superseded = 0;
    rc_err_t rc = RC_EPARSE;
    char dummy[1];

    if (!err || errlen == 0)
        err = dummy, errlen = sizeof dummy;
    err[0] = '\0';
    if (!body || len == 0) {
        snprintf(err, errlen, "the reply has no body");
        goto out;
    }
    if (!(root = json_loadb(body, len, 0, &je))) {
        snprintf(err, errlen, "the reply is not JSON: %s", je.text);
        goto out;
    }
    rej = json_object_get(root, "rejected");
    if (!json_is_object(root) || count(root, "received", &received) < 0 ||
        count(root, "accepted", &accepted) < 0 || count(root, "duplicates", &duplicates) < 0 ||
        !json_is_array(rej)) {
        snprintf(err, errlen,
                 "the reply lacks received, accepted, duplicates or the rejected list");
        goto out;
    }
    if (json_object_get(root, "superseded") && count(root, "superseded", &superseded) < 0) {
        snprintf(err, errlen, "the reply's superseded is not a count");
        goto out;
    }
    if (accepted + duplicates + json_array_size(rej) != received) {
        snprintf(err, errlen,
                 "the reply does not add up: %llu accepted + %llu duplicates + %zu rejected != "
                 "%llu received",
                 (unsigned long long)accepted, (unsigned long long)duplicates, json_array_size(rej),
                 (unsigned long long)received);
        goto out;
    }

    t->received += received;
    t->accepted += accepted;
    t->duplicates += duplicates;
    t->superseded += superseded;
    t->rejected += json_array_size(rej);
    t->posts++;
    t->rows_done += s->nrows;
    if (s->nrows) {
        t->last_line = s->last_line;
        t->last_index = s->first_index + s->nrows - 1;
    }
    rc = RC_OK;

    for (size_t i = 0; i < json_array_size(rej) && t->n < t->keep; i++) {
        const json_t *item = json_array_get(rej, i);
        const char *column = json_string_value(json_object_get(item, "column"));
        const char *reason = json_string_value(json_object_get(item, "reason"));
        import_reject_t r;

        memset(&r, 0, sizeof r);
        place(&r, s, item);
        snprintf(r.column, sizeof r.column, "%s", column ? column : "");
        if (!(r.reason = strdup(reason ? reason : "(no reason given)"))) {
            rc = RC_ENOMEM;
            goto out;
        }
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            import_reject_t *v = realloc(t->v, cap * sizeof *v);
            if (!v) {
                free(r.reason);
                rc = RC_ENOMEM;
                goto out;
            }
            t->v = v;
            t->cap = cap;
        }
        t->v[t->n++] = r;
    }
out:
    json_decref(root);
    return rc;
}

char *import_reject_format(const import_reject_t *r, char *buf, size_t len)
{
    char where[96];
    const char *noun = r->has_index ? "key" : "column";

    if (r->has_index && r->line)
        snprintf(where, sizeof where, "index %zu (line %zu)", r->index, r->line);
    else if (r->has_index)
        snprintf(where, sizeof where, "index %zu", r->index);
    else if (r->line)
        snprintf(where, sizeof where, "line %zu", r->line);
    else
        snprintf(where, sizeof where, "the file");
    if (r->column[0])
        snprintf(buf, len, "%s, %s %s: %s", where, noun, r->column, r->reason);
    else
        snprintf(buf, len, "%s: %s", where, r->reason);
    return buf;
}

char *import_map_error_text(const import_slice_t *s, const char *in, char *out, size_t len)
{
    size_t o = 0;

    if (len == 0)
        return out;
    out[0] = '\0';
    for (const char *start = in; *in && o + 1 < len;) {
        /* "line N" in a CSV body names the body's line: say the file's. */
        int word =
            in == start || !((in[-1] >= 'a' && in[-1] <= 'z') || (in[-1] >= 'A' && in[-1] <= 'Z'));
        if (s->fmt == IMPORT_CSV && word && strncmp(in, "line ", 5) == 0 && in[5] >= '0' &&
            in[5] <= '9') {
            char *endp;
            unsigned long long n = strtoull(in + 5, &endp, 10);
            int w = snprintf(out + o, len - o, "line %zu", import_map_line(s, (size_t)n));
            if (w < 0 || (size_t)w >= len - o)
                break;
            o += (size_t)w;
            in = endp;
            continue;
        }
        out[o++] = *in++;
        out[o] = '\0';
    }
    return out;
}

/* ---- decisions ---- */

import_action_t import_classify(import_net_t net, long status)
{
    if (net == IMPORT_NET_RETRY)
        return IMPORT_DO_RETRY;
    if (net != IMPORT_NET_OK)
        return IMPORT_DO_FAIL;
    switch (status) {
    case 200:
    case 422:
        return IMPORT_DO_MERGE;
    case 413:
        return IMPORT_DO_SPLIT;
    case 503:
        return IMPORT_DO_RETRY;
    case 400:
        return IMPORT_DO_BROKEN;
    default:
        return IMPORT_DO_FAIL;
    }
}

unsigned import_backoff_ms(unsigned attempt)
{
    return IMPORT_BACKOFF_MS << (attempt < 8 ? attempt : 8);
}

int import_exit_code(import_ran_t ran, uint64_t rejected)
{
    if (ran == IMPORT_RAN_FAILED)
        return IMPORT_EXIT_FAILED;
    if (ran == IMPORT_RAN_BROKEN)
        return IMPORT_EXIT_BROKEN;
    return rejected ? IMPORT_EXIT_REJECTED : IMPORT_EXIT_OK;
}

/* ---- progress ---- */

/* human_bytes writes n as "812 B", "3.4 MiB", "2.9 GiB". */
static char *human_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

/* human_secs writes s as "42s", "3m07s", "2h05m". */
static char *human_secs(uint64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    return buf;
}

/* clock_words writes ", clock 2025-09-03 09:30" (a bar: two spaces, no
 * comma) for a clock written "2025-09-03T09:30:00+01:00", or "". */
static char *clock_words(const char *clock, int bar, char *buf, size_t len)
{
    buf[0] = '\0';
    if (clock && clock[0])
        snprintf(buf, len, "%sclock %.10s %.5s", bar ? "  " : ", ", clock,
                 strlen(clock) > 11 ? clock + 11 : "");
    return buf;
}

char *import_progress_format(char *buf, size_t len, const import_progress_t *p, int bar)
{
    char size[32], eta[48] = "", rate[48], clock[48];
    uint64_t per_s = p->elapsed_ms ? p->rows_sent * 1000 / p->elapsed_ms : 0;
    const char *command = p->command ? p->command : "import";
    /* With a clock the line is longer: a narrower bar keeps it on 80 columns. */
    int width = p->clock ? 12 : 24;

    if (len == 0)
        return buf;
    snprintf(rate, sizeof rate, "%llu rows/s", (unsigned long long)per_s);
    clock_words(p->clock, bar, clock, sizeof clock);
    if (p->bytes_total == 0) {
        human_bytes(p->bytes_done, size, sizeof size);
        if (bar)
            snprintf(buf, len, "%s sent  %llu rows  %s%s", size, (unsigned long long)p->rows_sent,
                     rate, clock);
        else
            snprintf(buf, len, "rollcall %s: %s sent, %llu rows, %s%s", command, size,
                     (unsigned long long)p->rows_sent, rate, clock);
        return buf;
    }
    uint64_t done = p->bytes_done < p->bytes_total ? p->bytes_done : p->bytes_total;
    double frac = (double)done / (double)p->bytes_total;
    if (done > 0 && p->elapsed_ms >= 1000) {
        double left = (double)p->elapsed_ms / 1000.0 * (1.0 - frac) / frac;
        human_secs((uint64_t)(left + 0.5), size, sizeof size);
        snprintf(eta, sizeof eta, bar ? "  ETA %s" : ", ETA %s", size);
    }
    if (bar) {
        char cells[25];
        int fill = (int)(frac * width);
        for (int i = 0; i < width; i++)
            cells[i] = i < fill ? '#' : '.';
        cells[width] = '\0';
        snprintf(buf, len, "[%s] %3d%%  %llu rows  %s%s%s", cells, (int)(frac * 100),
                 (unsigned long long)p->rows_sent, rate, clock, eta);
    } else {
        human_bytes(p->bytes_total, size, sizeof size);
        snprintf(buf, len, "rollcall %s: %d%% of %s, %llu rows sent, %s%s%s", command,
                 (int)(frac * 100), size, (unsigned long long)p->rows_sent, rate, clock, eta);
    }
    return buf;
}
