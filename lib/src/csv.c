/* csv.c - strict RFC 4180 reading (plus bare LF line ends) with bounded memory. */
#include "rollcall/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

rc_err_t csv_reader_init(csv_reader_t *r, const char *buf, size_t len, size_t max_fields,
                         size_t max_field_len)
{
    memset(r, 0, sizeof *r);
    r->buf = buf;
    r->len = len;
    r->line = 1;
    r->max_fields = max_fields;
    r->max_field_len = max_field_len;
    if (max_fields == 0 || max_field_len >= SIZE_MAX / max_fields - 1)
        return RC_ENOMEM;
    /* Fixed scratch, whatever the input: a row's kept fields always fit. */
    r->scratch = malloc(max_fields * (max_field_len + 1));
    r->field = calloc(max_fields, sizeof *r->field);
    if (!r->scratch || !r->field) {
        csv_reader_release(r);
        return RC_ENOMEM;
    }
    return RC_OK;
}

void csv_reader_release(csv_reader_t *r)
{
    free(r->scratch);
    free(r->field);
    r->scratch = NULL;
    r->field = NULL;
}

/* at_line_end is true when b[i] starts a line end (LF, or CR LF). */
static int at_line_end(const char *b, size_t n, size_t i)
{
    return b[i] == '\n' || (b[i] == '\r' && i + 1 < n && b[i + 1] == '\n');
}

/* broken records where the row broke and stops the reader there. */
static csv_status_t broken(csv_reader_t *r, csv_status_t st, size_t line)
{
    r->err_field = r->nfields;
    r->err_line = line;
    r->pos = r->len;
    return st;
}

/* put keeps one byte of the current field, flagging (once) a field over the cap. */
static void put(csv_reader_t *r, char *out, size_t *flen, char c)
{
    if (*flen < r->max_field_len) {
        if (out)
            out[*flen] = c;
        (*flen)++;
    } else if (!r->long_field) {
        r->long_field = r->nfields + 1;
    }
}

csv_status_t csv_next(csv_reader_t *r)
{
    const char *b = r->buf;
    size_t n = r->len, i = r->pos;

    if (i >= n)
        return CSV_END;
    r->row_line = r->line;
    r->nfields = 0;
    r->long_field = 0;

    for (;;) {
        /* Fields past max_fields are scanned (quotes must still balance) but not kept. */
        int keep = r->nfields < r->max_fields;
        char *out = keep ? r->scratch + r->nfields * (r->max_field_len + 1) : NULL;
        size_t flen = 0, field_line = r->line;

        if (i < n && b[i] == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return broken(r, CSV_EUNTERMINATED, field_line);
                char c = b[i++];
                if (c == '"') {
                    if (i < n && b[i] == '"') {
                        i++;
                        put(r, out, &flen, '"');
                        continue;
                    }
                    break;
                }
                if (c == '\n')
                    r->line++;
                put(r, out, &flen, c);
            }
            if (i < n && b[i] != ',' && !at_line_end(b, n, i))
                return broken(r, CSV_EAFTER_QUOTE, r->line);
        } else {
            while (i < n && b[i] != ',' && !at_line_end(b, n, i)) {
                if (b[i] == '"')
                    return broken(r, CSV_EBARE_QUOTE, r->line);
                put(r, out, &flen, b[i]);
                i++;
            }
        }

        if (keep) {
            out[flen] = '\0';
            r->field[r->nfields].s = out;
            r->field[r->nfields].len = flen;
        }
        r->nfields++;

        if (i >= n) {
            r->pos = n;
            return CSV_ROW;
        }
        if (b[i] == ',') {
            i++; /* a ',' at the very end leaves one more, empty, field */
            continue;
        }
        i += b[i] == '\r' ? 2 : 1;
        r->line++;
        r->pos = i;
        return CSV_ROW;
    }
}
