/* reports_csv.h - the CSV form of a list (RFC 4180: comma-separated, CRLF
 * line ends, a cell holding a comma, quote, CR or LF quoted with its quotes
 * doubled), safe to open in a spreadsheet: a text cell beginning with = + -
 * @, tab or CR gets a leading ' so it is never read as a formula. */
#ifndef ROLLCALL_REPORTS_CSV_H
#define ROLLCALL_REPORTS_CSV_H

#include <stddef.h>

#include <jansson.h>

/* A growing text; oom is set (and the text left as it was) when out of memory. */
typedef struct {
    char *buf; /* malloc'd, NUL-terminated when len > 0; the caller frees it */
    size_t len, cap;
    int oom;
    int cells; /* cells written on the current row */
} csv_t;

/* csv_cell appends one text cell, quoted and neutralised as needed. */
void csv_cell(csv_t *c, const char *text);

/* csv_raw appends one cell as it is (numbers the writer made itself). */
void csv_raw(csv_t *c, const char *text);

/* csv_end_row ends the current row with CRLF. */
void csv_end_row(csv_t *c);

/* reports_csv_rows writes a header row of the ncols names in cols, then one
 * row per object of rows (a JSON array), each cell the value of that field:
 * strings as text, numbers as written in JSON (reals with one decimal),
 * booleans true/false, null or absent empty, an object "k=v;k=v", an array
 * its items joined by ';' (an object item as its values joined by ':').
 * Returns the text (malloc'd, the caller's), or NULL when out of memory. */
char *reports_csv_rows(const json_t *rows, const char *const *cols, size_t ncols);

#endif
