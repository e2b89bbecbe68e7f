/* records.c - the SPEC section 4 inputs, CSV or JSON, to typed records and actionable errors. */
#include "rollcall/records.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/csv.h"
#include "rollcall/codes.h"

#if defined(__GNUC__)
#define REC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define REC_PRINTF(fmt, args)
#endif

/* Errors kept per document. A hostile file can have an error in every few
 * bytes, and each error costs ~250 bytes; past this many, the rest are
 * counted in one closing error instead of listed. */

/* The most columns any kind has (pupils). */
#define REC_KIND_COLS 13

/* Bytes of a bad value echoed back in a message. */
#define SHOW_MAX 40

/* ---- arena: every string a record points at ---- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk_t;

typedef struct {
    chunk_t *head;
} arena_t;

static void arena_free(arena_t *a)
{
    if (!a)
        return;
    for (chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

static char *arena_alloc(arena_t *a, size_t n)
{
    chunk_t *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    char *p = c->data + c->used;
    c->used += n;
    return p;
}

/* ---- kinds and their columns ---- */

/* How a JSON value for a column may be written. */
typedef enum {
    J_STR,  /* a string (null means empty) */
    J_INT,  /* a whole number, or a string of digits */
    J_FLAG, /* "Y"/"N" or true/false */
    J_YEAR, /* a whole number 1..14, or "R", "N1", "N2" */
} jtype_t;

typedef struct {
    const char *name;
    jtype_t type;
    int optional;     /* 1: may be empty, and in JSON may be left out; 2: may also be
                         left out of a CSV header (columns added after SPEC section 4) */
    const char *hint; /* what belongs here, ending "expected ..." messages */
} col_t;

typedef struct row row_t;

typedef struct {
    const char *name;
    const col_t *cols;
    size_t ncols;
    void (*build)(row_t *rw, record_t *rec);
} kind_def_t;

enum { S_URN, S_NAME, S_LA, S_TRUST, S_POLICY, S_PHONE };
static const col_t school_cols[] = {
    [S_URN] = {"urn", J_STR, 0, "the school's 6-digit URN, e.g. 100123"},
    [S_NAME] = {"name", J_STR, 0, "the school's name"},
    [S_LA] = {"la_code", J_STR, 0, "the 3-digit local authority code, e.g. 202"},
    [S_TRUST] = {"trust_id", J_STR, 1, "the trust's id, or empty for no trust"},
    [S_POLICY] = {"policy", J_STR, 0, "the policy's name, e.g. 002_lowther"},
    [S_PHONE] = {"phone", J_STR, 2, "the number parents call, e.g. 01632 960123 (optional)"},
};

enum { C_URN, C_KIND, C_FROM, C_TO, C_SESSION };
static const col_t calendar_cols[] = {
    [C_URN] = {"urn", J_STR, 0, "the school's 6-digit URN, e.g. 100123"},
    [C_KIND] = {"kind", J_STR, 0, "term or closure"},
    [C_FROM] = {"from", J_STR, 0, "the first day, as YYYY-MM-DD"},
    [C_TO] = {"to", J_STR, 0, "the last day, as YYYY-MM-DD"},
    [C_SESSION] = {"session", J_STR, 1, "AM, PM or ALL for a closure; empty or ALL for a term"},
};

enum {
    P_URN,
    P_UPN,
    P_FORENAME,
    P_SURNAME,
    P_YEAR,
    P_DOB,
    P_FROM,
    P_TO,
    P_SEN,
    P_FSM,
    P_EAL,
    P_CLA,
    P_SW
};
static const col_t pupil_cols[] = {
    [P_URN] = {"urn", J_STR, 0, "the school's 6-digit URN, e.g. 100123"},
    [P_UPN] = {"upn", J_STR, 0, "the pupil's 13-character UPN"},
    [P_FORENAME] = {"forename", J_STR, 0, "the pupil's forename"},
    [P_SURNAME] = {"surname", J_STR, 0, "the pupil's surname"},
    [P_YEAR] = {"year_group", J_YEAR, 0, "R, N1, N2 or a year 1 to 14"},
    [P_DOB] = {"date_of_birth", J_STR, 0, "a date as YYYY-MM-DD"},
    [P_FROM] = {"on_roll_from", J_STR, 0, "a date as YYYY-MM-DD"},
    [P_TO] = {"on_roll_to", J_STR, 1, "a date as YYYY-MM-DD, or empty while on roll"},
    [P_SEN] = {"sen", J_FLAG, 0, "Y or N"},
    [P_FSM] = {"fsm", J_FLAG, 0, "Y or N"},
    [P_EAL] = {"eal", J_FLAG, 0, "Y or N"},
    [P_CLA] = {"cla", J_FLAG, 0, "Y or N"},
    [P_SW] = {"social_worker", J_FLAG, 0, "Y or N"},
};

enum { K_UPN, K_ID, K_NAME, K_REL, K_PR, K_MOBILE, K_EMAIL, K_PRIORITY };
static const col_t contact_cols[] = {
    [K_UPN] = {"upn", J_STR, 0, "the pupil's 13-character UPN"},
    [K_ID] = {"contact_id", J_STR, 0, "the contact's id from the MIS"},
    [K_NAME] = {"name", J_STR, 0, "the contact's name"},
    [K_REL] = {"relationship", J_STR, 1, "e.g. Mother, Father, Carer"},
    [K_PR] = {"parental_responsibility", J_FLAG, 0, "Y or N"},
    [K_MOBILE] = {"mobile", J_STR, 1, "a mobile number such as 07700 900123, or empty"},
    [K_EMAIL] = {"email", J_STR, 1, "an email address, or empty"},
    [K_PRIORITY] = {"priority", J_INT, 1, "1 (contact first) to 99, or empty for 1"},
};

enum { M_URN, M_UPN, M_DATE, M_SESSION, M_CODE, M_LATE, M_AT };
static const col_t mark_cols[] = {
    [M_URN] = {"urn", J_STR, 0, "the school's 6-digit URN, e.g. 100123"},
    [M_UPN] = {"upn", J_STR, 0, "the pupil's 13-character UPN"},
    [M_DATE] = {"date", J_STR, 0, "the session's date as YYYY-MM-DD"},
    [M_SESSION] = {"session", J_STR, 0, "AM or PM"},
    [M_CODE] = {"code", J_STR, 0, "a DfE attendance code such as / or N"},
    [M_LATE] = {"minutes_late", J_INT, 1, "minutes late, 0 to 999, or empty for 0"},
    [M_AT] = {"recorded_at", J_STR, 0, "when the mark was taken, e.g. 2026-09-07T08:41:00+01:00"},
};

/* ---- parse state ---- */

typedef struct {
    records_t *r;
    arena_t *arena;
    const kind_def_t *def;
    size_t cap_v, cap_errors;
    size_t dropped;     /* errors past REC_MAX_ERRORS, not listed */
    size_t dropped_row; /* the row of the first of them */
    int oom;
} parser_t;

typedef struct {
    const char *s; /* trimmed value, not NUL-terminated */
    size_t len;
    int missing; /* absent (JSON) or already reported: say nothing more about it */
} val_t;

struct row {
    parser_t *p;
    size_t row;
    int bad; /* an error was reported for this row */
    val_t v[REC_KIND_COLS];
    char num[REC_KIND_COLS][24]; /* JSON numbers and booleans, as text */
};

/* utf8_cut returns how many of s[0..len) bytes fit in max bytes without
 * splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* utf8_drop_partial removes a character left half-written at the end of s
 * (by a truncating snprintf). */
static void utf8_drop_partial(char *s)
{
    size_t n = strlen(s), lead = n;
    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0 || (unsigned char)s[lead - 1] < 0xC0)
        return;
    unsigned char c = (unsigned char)s[lead - 1];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (n - (lead - 1) < want)
        s[lead - 1] = '\0';
}

static void add_verror(parser_t *p, size_t row, const char *col, size_t col_len, const char *fmt,
                       va_list ap) REC_PRINTF(5, 0);

static void add_verror(parser_t *p, size_t row, const char *col, size_t col_len, const char *fmt,
                       va_list ap)
{
    records_t *r = p->r;
    if (p->oom)
        return;
    if (r->nerrors >= REC_MAX_ERRORS) {
        if (p->dropped++ == 0)
            p->dropped_row = row;
        return;
    }
    if (r->nerrors == p->cap_errors) {
        size_t cap = p->cap_errors ? p->cap_errors * 2 : 16;
        rec_error_t *e = realloc(r->errors, cap * sizeof *e);
        if (!e) {
            p->oom = 1;
            return;
        }
        r->errors = e;
        p->cap_errors = cap;
    }
    rec_error_t *e = &r->errors[r->nerrors++];
    e->row = row;
    size_t n = utf8_cut(col, col_len, sizeof e->column - 1);
    memcpy(e->column, col, n);
    e->column[n] = '\0';
    int w = vsnprintf(e->message, sizeof e->message, fmt, ap);
    if (w >= (int)sizeof e->message)
        utf8_drop_partial(e->message);
}

static void add_error(parser_t *p, size_t row, const char *col, const char *fmt, ...)
    REC_PRINTF(4, 5);

static void add_error(parser_t *p, size_t row, const char *col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_verror(p, row, col, strlen(col), fmt, ap);
    va_end(ap);
}

/* add_error_n is add_error for a column name that is not NUL-terminated. */
static void add_error_n(parser_t *p, size_t row, const char *col, size_t col_len, const char *fmt,
                        ...) REC_PRINTF(5, 6);

static void add_error_n(parser_t *p, size_t row, const char *col, size_t col_len, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_verror(p, row, col, col_len, fmt, ap);
    va_end(ap);
}

/* fatal records a problem with the document itself and stops the read. */
static void fatal(parser_t *p, size_t row, const char *col, const char *fmt, ...) REC_PRINTF(4, 5);

static void fatal(parser_t *p, size_t row, const char *col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_verror(p, row, col, strlen(col), fmt, ap);
    va_end(ap);
    p->r->fatal = 1;
}

/* fail reports a bad value in column col of the current row; returns 0 so
 * a field check can end with "return fail(...)". */
static int fail(row_t *rw, int col, const char *fmt, ...) REC_PRINTF(3, 4);

static int fail(row_t *rw, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *name = rw->p->def->cols[col].name;
    add_verror(rw->p, rw->row, name, strlen(name), fmt, ap);
    va_end(ap);
    rw->bad = 1;
    rw->v[col].missing = 1;
    return 0;
}

/* show copies a value into out for a message: at most SHOW_MAX bytes, cut
 * at a character boundary, control characters as '?'. */
static const char *show(char out[SHOW_MAX + 4], const char *s, size_t len)
{
    size_t n = utf8_cut(s, len, SHOW_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* utf8_bad returns the offset of the first byte of s that is not part of
 * well-formed UTF-8 (no overlongs, surrogates or NUL), or len. */
static size_t utf8_bad(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t more;
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            more = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            more = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            more = 3;
        else
            return i;
        if (len - i <= more)
            return i;
        for (size_t k = 1; k <= more; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        unsigned c1 = s[i + 1];
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 > 0x8F))
            return i;
        i += more + 1;
    }
    return len;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return len > 0;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

/* same_ci compares s[0..len) with the NUL-terminated name, ignoring ASCII case. */
static int same_ci(const char *s, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (n != len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)name[i]))
            return 0;
    return 1;
}

/* Column and key names match ignoring case and surrounding spaces ("URN",
 * " upn "): nothing else could be meant. */
static int col_find(const kind_def_t *def, const char *s, size_t len)
{
    trim(&s, &len);
    for (size_t i = 0; i < def->ncols; i++)
        if (same_ci(s, len, def->cols[i].name))
            return (int)i;
    return -1;
}

/* edit_distance is Levenshtein over ASCII case-folded bytes, for "did you
 * mean"; anything longer than 32 bytes is taken as far from every name. */
static size_t edit_distance(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), prev[33], cur[33];
    if (na > 32 || nb > 32)
        return 99;
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t sub = prev[j - 1] +
                         (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[nb];
}

/* col_list writes "urn, name, ..." for def into buf. */
static const char *col_list(const kind_def_t *def, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < def->ncols; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", def->cols[i].name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* unknown_column reports a column or key name that no column has, naming the
 * nearest if it looks like a typo of it, else listing the expected ones. */
static void unknown_column(parser_t *p, size_t row, const char *s, size_t len, int json)
{
    const kind_def_t *def = p->def;
    char shown[SHOW_MAX + 4], list[256];
    size_t best = 99, best_i = 0;
    trim(&s, &len);
    for (size_t i = 0; i < def->ncols; i++) {
        size_t d = edit_distance(s, len, def->cols[i].name);
        if (d < best) {
            best = d;
            best_i = i;
        }
    }
    show(shown, s, len);
    if (best <= 2 && best < len)
        add_error_n(p, row, s, len, "unknown %s '%s': did you mean '%s'?",
                    json ? "field" : "column", shown, def->cols[best_i].name);
    else
        add_error_n(p, row, s, len, "unknown %s '%s'; %s has only: %s", json ? "field" : "column",
                    shown, def->name, col_list(def, list, sizeof list));
}

/* ---- field checks: each returns 1 with *out set, or 0 after reporting ---- */

static int fail_empty(row_t *rw, int col)
{
    return fail(rw, col, "is empty; expected %s", rw->p->def->cols[col].hint);
}

/* need is true when column col has a non-empty value to check. */
static int need(row_t *rw, int col)
{
    if (rw->v[col].missing)
        return 0;
    if (rw->v[col].len == 0)
        return fail_empty(rw, col);
    return 1;
}

static int f_urn(row_t *rw, int col, char out[RC_URN_LEN + 1])
{
    const val_t *v = &rw->v[col];
    const char *why;
    char shown[SHOW_MAX + 4];
    if (!need(rw, col))
        return 0;
    if (urn_check(v->s, v->len, &why) != RC_OK)
        return fail(rw, col, "'%s' is not a URN: %s", show(shown, v->s, v->len), why);
    memcpy(out, v->s, RC_URN_LEN);
    out[RC_URN_LEN] = '\0';
    return 1;
}

static int f_la(row_t *rw, int col, char out[RC_LA_LEN + 1])
{
    const val_t *v = &rw->v[col];
    const char *why;
    char shown[SHOW_MAX + 4];
    if (!need(rw, col))
        return 0;
    if (la_code_check(v->s, v->len, &why) != RC_OK)
        return fail(rw, col, "'%s' is not an LA code: %s", show(shown, v->s, v->len), why);
    memcpy(out, v->s, RC_LA_LEN);
    out[RC_LA_LEN] = '\0';
    return 1;
}

/* A UPN's letters are upper case by definition, so "a8012..." is taken as
 * "A8012...". The UPN is not echoed: it identifies a child. */
static int f_upn(row_t *rw, int col, char out[RC_UPN_LEN + 1])
{
    const val_t *v = &rw->v[col];
    const char *why = "UPN must be 13 characters";
    char up[RC_UPN_LEN];
    if (!need(rw, col))
        return 0;
    if (v->len != RC_UPN_LEN) {
        upn_check(v->s, v->len, &why);
        return fail(rw, col, "%s", why);
    }
    for (size_t i = 0; i < RC_UPN_LEN; i++)
        up[i] = (char)toupper((unsigned char)v->s[i]);
    if (upn_check(up, RC_UPN_LEN, &why) != RC_OK)
        return fail(rw, col, "%s", why);
    memcpy(out, up, RC_UPN_LEN);
    out[RC_UPN_LEN] = '\0';
    return 1;
}

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

static int f_date_value(row_t *rw, int col, rc_date_t *out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4];
    rc_err_t err = date_parse(v->s, v->len, out);
    if (err == RC_OK)
        return 1;
    if (err == RC_EPARSE) {
        /* dd/mm/yyyy is what Excel turns a date column into. */
        int excel = memchr(v->s, '/', v->len) || memchr(v->s, '.', v->len);
        return fail(rw, col, "'%s' is not a date in the form YYYY-MM-DD, e.g. 2026-09-07%s",
                    show(shown, v->s, v->len),
                    excel ? "; if Excel changed it, format the column as yyyy-mm-dd" : "");
    }
    /* The shape was right, so v->s is ten ASCII characters. */
    int y = atoi(v->s), m = atoi(v->s + 5);
    if (y < RC_YEAR_MIN || y > RC_YEAR_MAX)
        return fail(rw, col, "%.10s is not a date we accept: the year must be %d to %d", v->s,
                    RC_YEAR_MIN, RC_YEAR_MAX);
    if (m < 1 || m > 12)
        return fail(rw, col, "%.10s is not a date: the month must be 01 to 12", v->s);
    return fail(rw, col, "%.10s is not a date: %s %d has %d days", v->s, month_names[m - 1], y,
                date_days_in_month(y, m));
}

static int f_date(row_t *rw, int col, rc_date_t *out)
{
    return need(rw, col) && f_date_value(rw, col, out);
}

/* f_date_opt is f_date for a column where empty means RC_DATE_NONE. */
static int f_date_opt(row_t *rw, int col, rc_date_t *out)
{
    if (rw->v[col].missing)
        return 0;
    if (rw->v[col].len == 0) {
        *out = RC_DATE_NONE;
        return 1;
    }
    return f_date_value(rw, col, out);
}

static int f_time(row_t *rw, int col, rc_time_t *out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4];
    if (!need(rw, col))
        return 0;
    rc_err_t err = time_parse_iso(v->s, v->len, out, NULL);
    if (err == RC_EPARSE)
        return fail(rw, col,
                    "'%s' is not a time in ISO 8601 form with its offset from UTC, e.g. "
                    "2026-09-07T08:41:00+01:00 or 2026-09-07T07:41:00Z",
                    show(shown, v->s, v->len));
    if (err != RC_OK)
        return fail(rw, col, "'%s' is not a real date and time", show(shown, v->s, v->len));
    return 1;
}

/* f_int reads a whole number lo..hi; an empty value gives dflt when the
 * column is optional. */
static int f_int(row_t *rw, int col, long lo, long hi, long dflt, long *out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4];
    if (v->missing)
        return 0;
    if (v->len == 0) {
        if (!rw->p->def->cols[col].optional)
            return fail_empty(rw, col);
        *out = dflt;
        return 1;
    }
    if (v->s[0] == '-' && all_digits(v->s + 1, v->len - 1))
        return fail(rw, col, "%s is out of range; expected %s", show(shown, v->s, v->len),
                    rw->p->def->cols[col].hint);
    if (!all_digits(v->s, v->len))
        return fail(rw, col, "'%s' is not a whole number; expected %s", show(shown, v->s, v->len),
                    rw->p->def->cols[col].hint);
    long n = 0;
    for (size_t i = 0; i < v->len && n <= hi; i++) /* stop early: no overflow */
        n = n * 10 + (v->s[i] - '0');
    if (n < lo || n > hi)
        return fail(rw, col, "%s is out of range; expected %s", show(shown, v->s, v->len),
                    rw->p->def->cols[col].hint);
    *out = n;
    return 1;
}

/* Flags are Y or N; y and n are taken too, as nothing else could be meant. */
static int f_flag(row_t *rw, int col, int *out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4];
    if (!need(rw, col))
        return 0;
    if (v->len == 1 && (v->s[0] == 'Y' || v->s[0] == 'y' || v->s[0] == 'N' || v->s[0] == 'n')) {
        *out = v->s[0] == 'Y' || v->s[0] == 'y';
        return 1;
    }
    return fail(rw, col, "'%s' must be Y or N", show(shown, v->s, v->len));
}

static int f_year_group(row_t *rw, int col, int *out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4];
    if (!need(rw, col))
        return 0;
    int n = 0;
    for (size_t i = 0; i < v->len && i < 3; i++)
        n = n * 10 + (v->s[i] - '0');
    if (same_ci(v->s, v->len, "R"))
        *out = 0;
    else if (same_ci(v->s, v->len, "N1"))
        *out = -2;
    else if (same_ci(v->s, v->len, "N2"))
        *out = -1;
    else if (v->len <= 2 && all_digits(v->s, v->len) && n >= 1 && n <= YEAR_GROUP_MAX)
        *out = n;
    else
        return fail(rw, col,
                    "'%s' is not a year group: use R (reception), N1 or N2 (nursery), or 1 to 14",
                    show(shown, v->s, v->len));
    return 1;
}

/* Sessions are AM or PM; "am" is taken as AM. ALL is allowed only where
 * all_ok, and then gives SESS_ALL. */
static int f_session(row_t *rw, int col, int all_ok, unsigned *mask)
{
    const val_t *v = &rw->v[col];
    char up[3], shown[SHOW_MAX + 4];
    session_t s;
    if (!need(rw, col))
        return 0;
    if (same_ci(v->s, v->len, "ALL")) {
        if (!all_ok)
            return fail(rw, col, "a mark is for one session: AM or PM, not ALL");
        *mask = SESS_ALL;
        return 1;
    }
    if (v->len == 2) {
        up[0] = (char)toupper((unsigned char)v->s[0]);
        up[1] = (char)toupper((unsigned char)v->s[1]);
        up[2] = '\0';
        if (session_parse(up, 2, &s) == RC_OK) {
            *mask = SESS_BIT(s);
            return 1;
        }
    }
    return fail(rw, col, "'%s' is not a session: use AM or PM%s", show(shown, v->s, v->len),
                all_ok ? " (or ALL for the whole day)" : "");
}

static int f_code(row_t *rw, int col, att_code_t *out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4], up[3], list[160];
    size_t used = 0;
    if (!need(rw, col))
        return 0;
    if (code_parse(v->s, v->len, out) == RC_OK)
        return 1;
    show(shown, v->s, v->len);
    if (v->len <= 2) {
        /* Codes are upper case; say so rather than guess silently. */
        for (size_t i = 0; i < v->len; i++)
            up[i] = (char)toupper((unsigned char)v->s[i]);
        att_code_t c;
        if (code_parse(up, v->len, &c) == RC_OK)
            return fail(rw, col,
                        "'%s' is not a DfE attendance code (2024); codes are upper case: "
                        "did you mean '%s'?",
                        shown, code_str(c));
    }
    for (int c = 0; c < CODE__COUNT; c++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", c ? " " : "",
                         code_str((att_code_t)c));
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    return fail(rw, col, "'%s' is not a DfE attendance code (2024); the codes are %s", shown, list);
}

enum { T_REQUIRED = 1, T_IDENT = 2 };

/* Policy names and trust ids end up in file names, keys and URLs, so they
 * are held to letters, digits, '_', '-' and '.', not starting with '.'. */
static int ident_char(unsigned char c, size_t i)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || (c == '.' && i > 0);
}

/* f_text copies a name-like value into the arena. A line break or tab
 * inside a name (Excel's Alt+Enter) means a space: it would otherwise break
 * an SMS, a letter or a CSV report; other control characters are refused. */
static int f_text(row_t *rw, int col, unsigned mode, char **out)
{
    const val_t *v = &rw->v[col];
    char shown[SHOW_MAX + 4];
    if (v->missing)
        return 0;
    if (v->len == 0 && (mode & T_REQUIRED))
        return fail_empty(rw, col);
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->s[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F)
            return fail(rw, col, "contains a control character (byte 0x%02X); delete it", c);
        if ((mode & T_IDENT) && !ident_char(c, i))
            return fail(rw, col,
                        "'%s' may contain only letters, digits, '_', '-' and '.'; expected %s",
                        show(shown, v->s, v->len), rw->p->def->cols[col].hint);
    }
    char *d = arena_alloc(rw->p->arena, v->len + 1);
    if (!d) {
        rw->p->oom = 1;
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < v->len;) {
        if (!is_space(v->s[i])) {
            d[n++] = v->s[i++];
            continue;
        }
        size_t j = i;
        int fold = 0;
        while (j < v->len && is_space(v->s[j]))
            fold |= v->s[j++] != ' ';
        if (fold) {
            d[n++] = ' ';
        } else {
            memcpy(d + n, v->s + i, j - i);
            n += j - i;
        }
        i = j;
    }
    d[n] = '\0';
    if (n > REC_MAX_NAME)
        return fail(rw, col, "is %zu bytes long; at most %d are allowed", n, REC_MAX_NAME);
    *out = d;
    return 1;
}

/* ---- one builder per kind: check every field, so a row's problems are all
 * reported at once ---- */

static void build_school(row_t *rw, record_t *rec)
{
    school_rec_t *s = &rec->u.school;
    f_urn(rw, S_URN, s->urn);
    f_text(rw, S_NAME, T_REQUIRED, &s->name);
    f_la(rw, S_LA, s->la_code);
    f_text(rw, S_TRUST, T_IDENT, &s->trust_id);
    f_text(rw, S_POLICY, T_REQUIRED | T_IDENT, &s->policy);
    if (f_text(rw, S_PHONE, 0, &s->phone) && s->phone) {
        size_t n = strlen(s->phone);
        if (n > 32 || strspn(s->phone, "0123456789 +()-") != n)
            fail(rw, S_PHONE,
                 "may contain only digits, spaces, '+', '(', ')' and '-' (at most 32); expected "
                 "%s",
                 rw->p->def->cols[S_PHONE].hint);
    }
}

static void build_calendar(row_t *rw, record_t *rec)
{
    calendar_rec_t *c = &rec->u.calendar;
    const val_t *kind = &rw->v[C_KIND];
    char shown[SHOW_MAX + 4], from_s[RC_DATE_STRLEN];
    int kind_ok = 0;

    f_urn(rw, C_URN, c->urn);
    if (need(rw, C_KIND)) {
        kind_ok = 1;
        if (same_ci(kind->s, kind->len, "term"))
            c->kind = CAL_TERM;
        else if (same_ci(kind->s, kind->len, "closure"))
            c->kind = CAL_CLOSURE;
        else
            kind_ok = fail(rw, C_KIND, "'%s' is not a kind: use term or closure",
                           show(shown, kind->s, kind->len));
    }
    int from_ok = f_date(rw, C_FROM, &c->from);
    int to_ok = f_date(rw, C_TO, &c->to);
    if (from_ok && to_ok && c->to < c->from)
        fail(rw, C_TO, "%s is before from (%s); are from and to swapped?",
             date_format(c->to, shown), date_format(c->from, from_s));
    else if (from_ok && to_ok && c->to - c->from > CALENDAR_MAX_DAYS)
        fail(rw, C_TO, "the range from %s is longer than 12 years; check the year",
             date_format(c->from, from_s));

    const val_t *sess = &rw->v[C_SESSION];
    if (sess->missing || !kind_ok)
        return;
    if (c->kind == CAL_TERM) {
        if (sess->len == 0 || same_ci(sess->s, sess->len, "ALL"))
            c->sessions = SESS_ALL;
        else
            fail(rw, C_SESSION, "a term covers whole days: leave session empty or write ALL");
    } else if (sess->len == 0) {
        fail(rw, C_SESSION, "is empty; a closure needs AM, PM or ALL (the whole day)");
    } else {
        f_session(rw, C_SESSION, 1, &c->sessions);
    }
}

static void build_pupil(row_t *rw, record_t *rec)
{
    pupil_rec_t *u = &rec->u.pupil;
    static const unsigned bits[] = {PUPIL_SEN, PUPIL_FSM, PUPIL_EAL, PUPIL_CLA,
                                    PUPIL_SOCIAL_WORKER};
    char a[RC_DATE_STRLEN], b[RC_DATE_STRLEN];

    f_urn(rw, P_URN, u->urn);
    f_upn(rw, P_UPN, u->upn);
    f_text(rw, P_FORENAME, T_REQUIRED, &u->forename);
    f_text(rw, P_SURNAME, T_REQUIRED, &u->surname);
    f_year_group(rw, P_YEAR, &u->year_group);
    int dob_ok = f_date(rw, P_DOB, &u->date_of_birth);
    int from_ok = f_date(rw, P_FROM, &u->on_roll_from);
    int to_ok = f_date_opt(rw, P_TO, &u->on_roll_to);
    u->flags = 0;
    for (int i = 0; i < 5; i++) {
        int on = 0;
        if (f_flag(rw, P_SEN + i, &on) && on)
            u->flags |= bits[i];
    }
    if (dob_ok && from_ok && u->date_of_birth >= u->on_roll_from)
        fail(rw, P_DOB, "%s is not before on_roll_from (%s); check both dates",
             date_format(u->date_of_birth, a), date_format(u->on_roll_from, b));
    if (from_ok && to_ok && u->on_roll_to != RC_DATE_NONE && u->on_roll_to < u->on_roll_from)
        fail(rw, P_TO, "%s is before on_roll_from (%s); check both dates",
             date_format(u->on_roll_to, a), date_format(u->on_roll_from, b));
}

static void build_contact(row_t *rw, record_t *rec)
{
    contact_rec_t *k = &rec->u.contact;
    const val_t *mob = &rw->v[K_MOBILE], *mail = &rw->v[K_EMAIL];
    const char *why;
    long prio = 1;

    f_upn(rw, K_UPN, k->upn);
    f_text(rw, K_ID, T_REQUIRED, &k->contact_id);
    f_text(rw, K_NAME, T_REQUIRED, &k->name);
    f_text(rw, K_REL, 0, &k->relationship);
    f_flag(rw, K_PR, &k->parental_responsibility);
    /* Numbers and addresses are not echoed back: logs may carry messages. */
    k->mobile[0] = '\0';
    if (!mob->missing && mob->len > 0 && phone_to_e164(mob->s, mob->len, k->mobile, &why) != RC_OK)
        fail(rw, K_MOBILE, "%s", why);
    k->email = NULL;
    if (!mail->missing && mail->len > 0) {
        if (email_check(mail->s, mail->len, &why) != RC_OK) {
            fail(rw, K_EMAIL, "%s", why);
        } else if ((k->email = arena_alloc(rw->p->arena, mail->len + 1)) == NULL) {
            rw->p->oom = 1;
        } else {
            memcpy(k->email, mail->s, mail->len);
            k->email[mail->len] = '\0';
        }
    }
    if (f_int(rw, K_PRIORITY, 1, 99, 1, &prio))
        k->priority = (int)prio;
}

static void build_mark(row_t *rw, record_t *rec)
{
    mark_t *m = &rec->u.mark;
    unsigned mask = 0;
    long late = 0;

    f_urn(rw, M_URN, m->urn);
    f_upn(rw, M_UPN, m->upn);
    f_date(rw, M_DATE, &m->date);
    if (f_session(rw, M_SESSION, 0, &mask))
        m->session = mask == SESS_PM ? SESSION_PM : SESSION_AM;
    f_code(rw, M_CODE, &m->code);
    if (f_int(rw, M_LATE, 0, 999, 0, &late))
        m->minutes_late = (uint16_t)late;
    f_time(rw, M_AT, &m->recorded_at);
}

static const kind_def_t kinds[REC__KIND_COUNT] = {
    [REC_SCHOOLS] = {"schools", school_cols, sizeof school_cols / sizeof *school_cols,
                     build_school},
    [REC_CALENDAR] = {"calendar", calendar_cols, sizeof calendar_cols / sizeof *calendar_cols,
                      build_calendar},
    [REC_PUPILS] = {"pupils", pupil_cols, sizeof pupil_cols / sizeof *pupil_cols, build_pupil},
    [REC_CONTACTS] = {"contacts", contact_cols, sizeof contact_cols / sizeof *contact_cols,
                      build_contact},
    [REC_MARKS] = {"marks", mark_cols, sizeof mark_cols / sizeof *mark_cols, build_mark},
};

/* finish_row builds the record from rw's values and keeps it if no problem
 * was found. */
static void finish_row(row_t *rw)
{
    parser_t *p = rw->p;
    records_t *r = p->r;
    record_t rec;

    memset(&rec, 0, sizeof rec);
    rec.row = rw->row;
    p->def->build(rw, &rec);
    if (rw->bad || p->oom)
        return;
    if (r->n == p->cap_v) {
        size_t cap = p->cap_v ? p->cap_v * 2 : 64;
        record_t *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            p->oom = 1;
            return;
        }
        r->v = v;
        p->cap_v = cap;
    }
    r->v[r->n++] = rec;
}

static void row_begin(row_t *rw, parser_t *p, size_t row)
{
    memset(rw, 0, sizeof *rw);
    rw->p = p;
    rw->row = row;
}

/* ---- CSV ---- */

static void csv_broken(parser_t *p, const csv_reader_t *rd, csv_status_t st, const int *map,
                       size_t nmap)
{
    const char *col = "";
    char where[48] = "";
    if (map && rd->err_field < nmap && map[rd->err_field] >= 0)
        col = p->def->cols[map[rd->err_field]].name;
    if (rd->err_line != rd->row_line)
        snprintf(where, sizeof where, " (on line %zu)", rd->err_line);
    switch (st) {
    case CSV_EBARE_QUOTE:
        fatal(p, rd->row_line, col,
              "a \" inside a value that does not start with one%s: put the whole value in "
              "double quotes and write each \" inside it as \"\"; nothing after this was read",
              where);
        break;
    case CSV_EAFTER_QUOTE:
        fatal(p, rd->row_line, col,
              "text after a closing \"%s: a quoted value must end at a comma or the end of the "
              "line; write each \" inside it as \"\"; nothing after this was read",
              where);
        break;
    default:
        fatal(p, rd->row_line, col,
              "the \" opened here%s is never closed, so the rest of the file would be one "
              "value: add the closing \"; nothing after this was read",
              where);
        break;
    }
}

/* csv_blank is true for a row with nothing in it ("" or ",,,,"). */
static int csv_blank(const csv_reader_t *rd)
{
    if (rd->nfields > rd->max_fields)
        return 0;
    for (size_t i = 0; i < rd->nfields; i++)
        if (rd->field[i].len != 0)
            return 0;
    return 1;
}

/* csv_header maps header positions to columns in map; false (after a fatal
 * error for each problem) when the header is not usable. */
static int csv_header(parser_t *p, const csv_reader_t *rd, int *map)
{
    const kind_def_t *def = p->def;
    size_t seen[REC_KIND_COLS] = {0}, known = 0;
    char list[256];
    int ok = 1;

    col_list(def, list, sizeof list);
    if (rd->nfields > REC_MAX_COLUMNS) {
        fatal(p, rd->row_line, "", "the header row has %zu columns; at most %d are allowed",
              rd->nfields, REC_MAX_COLUMNS);
        return 0;
    }
    for (size_t i = 0; i < rd->nfields; i++) {
        const csv_field_t *f = &rd->field[i];
        if (rd->long_field == i + 1) {
            fatal(p, rd->row_line, "", "header column %zu is longer than %d bytes", i + 1,
                  REC_MAX_FIELD);
            return 0;
        }
        if (utf8_bad(f->s, f->len) != f->len) {
            fatal(p, rd->row_line, "",
                  "header column %zu is not valid UTF-8 text; save the file as CSV UTF-8", i + 1);
            return 0;
        }
        map[i] = col_find(def, f->s, f->len);
        known += map[i] >= 0;
    }
    if (known == 0) {
        fatal(p, rd->row_line, "",
              "the first line must be the header row naming the columns, in any order: %s", list);
        return 0;
    }
    for (size_t i = 0; i < rd->nfields; i++) {
        const csv_field_t *f = &rd->field[i];
        const char *s = f->s;
        size_t len = f->len;
        trim(&s, &len);
        if (len == 0) {
            fatal(p, rd->row_line, "",
                  "header column %zu has no name; delete the empty column (or the extra comma)",
                  i + 1);
            ok = 0;
        } else if (map[i] < 0) {
            unknown_column(p, rd->row_line, s, len, 0);
            p->r->fatal = 1;
            ok = 0;
        } else if (seen[map[i]]) {
            fatal(p, rd->row_line, def->cols[map[i]].name,
                  "appears twice in the header (columns %zu and %zu); delete one", seen[map[i]],
                  i + 1);
            ok = 0;
        } else {
            seen[map[i]] = i + 1;
        }
    }
    for (size_t c = 0; c < def->ncols; c++) {
        if (!seen[c] && def->cols[c].optional < 2) {
            fatal(p, rd->row_line, def->cols[c].name,
                  "column is missing from the header row; %s needs: %s", def->name, list);
            ok = 0;
        }
    }
    return ok;
}

/* csv_row checks one data row's shape and encoding, then builds it. */
static void csv_row(parser_t *p, const csv_reader_t *rd, const int *map, size_t ncols)
{
    row_t rw;
    size_t bad;

    row_begin(&rw, p, rd->row_line);
    if (rd->nfields != ncols) {
        add_error(p, rd->row_line, "",
                  "has %zu values but the header has %zu columns; check for a missing or extra "
                  "comma (a value with a comma in it must be in double quotes)",
                  rd->nfields, ncols);
        return;
    }
    for (size_t i = 0; i < ncols; i++) {
        const csv_field_t *f = &rd->field[i];
        const char *name = p->def->cols[map[i]].name;
        if (rd->long_field == i + 1) {
            add_error(p, rd->row_line, name, "is longer than %d bytes", REC_MAX_FIELD);
            rw.bad = 1;
        } else if ((bad = utf8_bad(f->s, f->len)) != f->len) {
            if (f->s[bad] == '\0')
                add_error(p, rd->row_line, name, "contains a NUL byte; delete it");
            else
                add_error(p, rd->row_line, name,
                          "is not valid UTF-8 text (byte 0x%02X); save the file as CSV UTF-8",
                          (unsigned char)f->s[bad]);
            rw.bad = 1;
        }
        rw.v[map[i]].s = f->s;
        rw.v[map[i]].len = f->len;
        trim(&rw.v[map[i]].s, &rw.v[map[i]].len);
    }
    if (!rw.bad)
        finish_row(&rw);
}

static void parse_csv(parser_t *p, const char *buf, size_t len)
{
    csv_reader_t rd;
    csv_status_t st;
    int map[REC_MAX_COLUMNS];
    char list[256];

    if (csv_reader_init(&rd, buf, len, REC_MAX_COLUMNS, REC_MAX_FIELD) != RC_OK) {
        p->oom = 1;
        goto out;
    }
    /* Blank lines are skipped wherever they are: they hold nothing, and a
     * spreadsheet leaves them (or rows of bare commas) at the end. */
    while ((st = csv_next(&rd)) == CSV_ROW && csv_blank(&rd))
        ;
    if (st == CSV_END) {
        fatal(p, 0, "", "the file is empty: the first line must be the header row: %s",
              col_list(p->def, list, sizeof list));
        goto out;
    }
    if (st != CSV_ROW) {
        csv_broken(p, &rd, st, NULL, 0);
        goto out;
    }
    if (!csv_header(p, &rd, map))
        goto out;
    size_t ncols = rd.nfields;
    while (!p->oom && (st = csv_next(&rd)) != CSV_END) {
        if (st != CSV_ROW) {
            csv_broken(p, &rd, st, map, ncols);
            break;
        }
        if (!csv_blank(&rd))
            csv_row(p, &rd, map, ncols);
    }
out:
    csv_reader_release(&rd);
}

/* ---- JSON ---- */

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "a whole number";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    }
    return "an unknown value";
}

/* json_value converts one member to the text the field checks read, or
 * reports the wrong type. */
static void json_value(row_t *rw, int col, const json_t *v)
{
    const col_t *c = &rw->p->def->cols[col];
    val_t *out = &rw->v[col];
    const char *expect;

    out->s = "";
    out->len = 0;
    out->missing = 0;
    if (json_is_null(v))
        return;
    if (json_is_string(v)) {
        out->s = json_string_value(v);
        out->len = json_string_length(v);
        if (out->len > REC_MAX_FIELD) {
            fail(rw, col, "is longer than %d bytes", REC_MAX_FIELD);
            return;
        }
        trim(&out->s, &out->len);
        return;
    }
    if (json_is_integer(v) && (c->type == J_INT || c->type == J_YEAR)) {
        snprintf(rw->num[col], sizeof rw->num[col], "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        out->s = rw->num[col];
        out->len = strlen(out->s);
        return;
    }
    if (json_is_boolean(v) && c->type == J_FLAG) {
        out->s = json_is_true(v) ? "Y" : "N";
        out->len = 1;
        return;
    }
    switch (c->type) {
    case J_INT:
        expect = "a whole number or a string of digits";
        break;
    case J_YEAR:
        expect = "a whole number 1 to 14, or \"R\", \"N1\" or \"N2\"";
        break;
    case J_FLAG:
        expect = "\"Y\" or \"N\" (or true or false)";
        break;
    default:
        expect = "a string";
        break;
    }
    fail(rw, col, "must be %s (%s), not %s", expect, c->hint, json_type_name(v));
}

static void json_item(parser_t *p, size_t index, json_t *item)
{
    const kind_def_t *def = p->def;
    int present[REC_KIND_COLS] = {0};
    const char *key;
    json_t *v;
    row_t rw;

    row_begin(&rw, p, index);
    if (!json_is_object(item)) {
        add_error(p, index, "", "must be an object such as {\"%s\": ...}, not %s",
                  def->cols[0].name, json_type_name(item));
        return;
    }
    json_object_foreach(item, key, v)
    {
        int col = col_find(def, key, strlen(key));
        if (col < 0) {
            unknown_column(p, index, key, strlen(key), 1);
            rw.bad = 1;
        } else if (present[col]) {
            /* Only possible by case ("urn" and "URN"): jansson rejects exact repeats. */
            add_error(p, index, def->cols[col].name, "is given twice (keys ignore case)");
            rw.bad = 1;
        } else {
            present[col] = 1;
            json_value(&rw, col, v);
        }
    }
    for (size_t c = 0; c < def->ncols; c++) {
        if (present[c])
            continue;
        rw.v[c].s = "";
        rw.v[c].len = 0;
        if (!def->cols[c].optional) {
            add_error(p, index, def->cols[c].name, "is missing; expected %s", def->cols[c].hint);
            rw.bad = 1;
            rw.v[c].missing = 1;
        }
    }
    finish_row(&rw);
}

static void parse_json(parser_t *p, const char *buf, size_t len)
{
    json_error_t jerr;
    json_t *root = NULL;
    size_t i;
    json_t *item;

    size_t k = 0;
    while (k < len && is_space(buf[k]))
        k++;
    if (k == len) {
        fatal(p, 0, "", "the body is empty: expected a JSON array of %s records, [{...}, ...]",
              p->def->name);
        goto out;
    }
    /* Exact duplicate keys are refused by jansson, as a syntax error. */
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        switch (json_error_code(&jerr)) {
        case json_error_out_of_memory:
            p->oom = 1;
            break;
        case json_error_invalid_utf8:
            fatal(p, 0, "",
                  "the body is not valid UTF-8 text (line %d, column %d); save it as UTF-8",
                  jerr.line, jerr.column);
            break;
        case json_error_null_character:
            fatal(p, 0, "", "a string contains \\u0000 (line %d, column %d); remove it", jerr.line,
                  jerr.column);
            break;
        case json_error_duplicate_key:
            fatal(p, 0, "", "a key appears twice in one object (line %d, column %d): %s", jerr.line,
                  jerr.column, jerr.text);
            break;
        default:
            fatal(p, 0, "", "the body is not valid JSON: %s at line %d, column %d", jerr.text,
                  jerr.line, jerr.column);
            break;
        }
        goto out;
    }
    if (!json_is_array(root)) {
        fatal(p, 0, "", "the body must be a JSON array of %s records, [{...}, ...], not %s%s",
              p->def->name, json_type_name(root),
              json_is_object(root) ? " (put [ ] around a single record)" : "");
        goto out;
    }
    json_array_foreach(root, i, item)
    {
        if (p->oom)
            break;
        json_item(p, i, item);
    }
out:
    json_decref(root);
}

/* ---- public ---- */

rc_err_t rec_kind_parse(const char *s, rec_kind_t *out)
{
    if (!s || !out)
        return RC_EINVAL;
    for (int k = 0; k < REC__KIND_COUNT; k++) {
        if (strcmp(s, kinds[k].name) == 0) {
            *out = (rec_kind_t)k;
            return RC_OK;
        }
    }
    return RC_EINVAL;
}

const char *rec_kind_name(rec_kind_t kind)
{
    return (unsigned)kind < REC__KIND_COUNT ? kinds[kind].name : "unknown";
}

rc_err_t records_parse(rec_kind_t kind, rec_format_t fmt, const char *buf, size_t len,
                       records_t **out)
{
    parser_t p;
    records_t *r = NULL;

    if (!out)
        return RC_EINVAL;
    *out = NULL;
    if ((unsigned)kind >= REC__KIND_COUNT || (fmt != REC_FMT_CSV && fmt != REC_FMT_JSON) ||
        (!buf && len))
        return RC_EINVAL;
    memset(&p, 0, sizeof p);
    r = calloc(1, sizeof *r);
    if (!r || !(p.arena = calloc(1, sizeof *p.arena)))
        goto oom;
    r->kind = kind;
    r->format = fmt;
    r->arena_ = p.arena;
    p.r = r;
    p.def = &kinds[kind];
    if (!buf)
        buf = "";

    /* A UTF-8 byte order mark is what Excel's "CSV UTF-8" starts with. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        buf += 3, len -= 3;
    if (len >= 2 && (memcmp(buf, "\xFF\xFE", 2) == 0 || memcmp(buf, "\xFE\xFF", 2) == 0))
        fatal(&p, 0, "", "the file is UTF-16 text; save it as %s",
              fmt == REC_FMT_CSV ? "CSV UTF-8 (in Excel: Save As, CSV UTF-8)" : "UTF-8");
    else if (fmt == REC_FMT_CSV)
        parse_csv(&p, buf, len);
    else
        parse_json(&p, buf, len);
    if (p.dropped && !p.oom) {
        /* The closing count goes past the cap, so it is never itself dropped. */
        rec_error_t *e = realloc(r->errors, (r->nerrors + 1) * sizeof *e);
        if (!e)
            goto oom;
        r->errors = e;
        e = &r->errors[r->nerrors++];
        e->row = p.dropped_row;
        e->column[0] = '\0';
        snprintf(e->message, sizeof e->message,
                 "this and %zu more problems are not listed; fix the ones above and send the "
                 "file again",
                 p.dropped);
    }
    if (p.oom)
        goto oom;
    *out = r;
    if (r->fatal)
        return RC_EPARSE;
    return r->nerrors ? RC_EINVAL : RC_OK;
oom:
    records_destroy(&r); /* r->arena_ is set as soon as the arena exists */
    return RC_ENOMEM;
}

void records_destroy(records_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    records_t *r = *self_p;
    arena_free(r->arena_);
    free(r->v);
    free(r->errors);
    free(r);
    *self_p = NULL;
}

char *rec_error_format(const records_t *r, const rec_error_t *e, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    int json = r && r->format == REC_FMT_JSON;
    /* JSON items count from 0, so row 0 cannot mark a whole-document problem
     * there; but a broken JSON document yields no items, only its error. */
    int whole = json ? r->fatal : e->row == 0;
    if (whole)
        snprintf(buf, len, "%s", e->message);
    else if (e->column[0])
        snprintf(buf, len, "%s %zu, %s %s: %s", json ? "item" : "line", e->row,
                 json ? "field" : "column", e->column, e->message);
    else
        snprintf(buf, len, "%s %zu: %s", json ? "item" : "line", e->row, e->message);
    return buf;
}
