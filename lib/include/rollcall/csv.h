/* csv.h - a strict RFC 4180 row reader over a byte buffer (records, and rollcall import). */
#ifndef ROLLCALL_CSV_H
#define ROLLCALL_CSV_H

#include <stddef.h>

#include "rollcall/error.h"

typedef enum {
    CSV_ROW = 0,       /* a row was read into the reader's fields */
    CSV_END,           /* no more input */
    CSV_EBARE_QUOTE,   /* a '"' inside a field that did not start with one */
    CSV_EAFTER_QUOTE,  /* text between a closing '"' and the next ',' or line end */
    CSV_EUNTERMINATED, /* a quoted field still open at the end of the input */
} csv_status_t;

typedef struct {
    const char *s; /* NUL-terminated copy, unescaped, in the reader's scratch */
    size_t len;
} csv_field_t;

typedef struct {
    /* Input and position. */
    const char *buf;
    size_t len, pos;
    size_t line; /* physical line of pos, counting from 1 */

    /* Caps, fixed at init. */
    size_t max_fields, max_field_len;

    /* The row last read (CSV_ROW) or the row that broke (CSV_E*). */
    size_t row_line;    /* physical line the row starts on */
    size_t nfields;     /* fields in the row, counted even past max_fields */
    csv_field_t *field; /* the first min(nfields, max_fields) fields */
    size_t long_field;  /* 1 + index of the first field over max_field_len, 0 if none */
    size_t err_field;   /* on CSV_E*: index of the field that broke */
    size_t err_line;    /* on CSV_E*: line of the stray byte, or of an unclosed quote */

    char *scratch; /* max_fields * (max_field_len + 1) bytes */
} csv_reader_t;

/* csv_reader_init prepares r to read buf[0..len), which must outlive r.
 * Fields longer than max_field_len bytes are truncated and flagged in
 * long_field; fields past max_fields are counted, not kept. Returns RC_ENOMEM
 * when the scratch space cannot be allocated (r is then safe to release). */
rc_err_t csv_reader_init(csv_reader_t *r, const char *buf, size_t len, size_t max_fields,
                         size_t max_field_len);

/* csv_reader_release frees r's scratch space; safe on a zeroed or released r. */
void csv_reader_release(csv_reader_t *r);

/* csv_next reads one row: fields end at ',' and rows at CRLF, LF or the end of
 * the input. A line with nothing on it is a row of one empty field; the
 * caller decides what blank rows mean. A CSV_E* status means the input is
 * broken from row_line on: the caller stops reading there. */
csv_status_t csv_next(csv_reader_t *r);

#endif
