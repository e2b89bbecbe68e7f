/* records.h - the five SPEC section 4 inputs (schools, calendar, pupils,
 * contacts, marks) read from CSV (RFC 4180) or a JSON array into typed
 * records, every problem reported with its row, column and a reason an
 * office admin can act on.
 *
 * Rows are independent: a bad row is reported and the good rows around it
 * are still returned, so a caller can accept the good and report the bad.
 * A broken document (unterminated quote, bad header, JSON syntax) stops the
 * read at that point; rows before it are kept. */
#ifndef ROLLCALL_RECORDS_H
#define ROLLCALL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/calendar.h"
#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/ids.h"
#include "rollcall/metrics.h"

typedef enum {
    REC_SCHOOLS = 0,
    REC_CALENDAR,
    REC_PUPILS,
    REC_CONTACTS,
    REC_MARKS,
    REC__KIND_COUNT
} rec_kind_t;

typedef enum { REC_FMT_CSV = 0, REC_FMT_JSON } rec_format_t;

/* Limits that keep a hostile file from costing more than it is worth. */
#define REC_MAX_FIELD   1024 /* bytes in one field */
#define REC_MAX_COLUMNS 64   /* columns in a header */
#define REC_MAX_NAME    200  /* bytes in a name, trust id, policy, relationship, contact id */
#define REC_MAX_ERRORS  1000 /* errors listed; one more says how many were not */

typedef struct {
    char urn[RC_URN_LEN + 1];
    char la_code[RC_LA_LEN + 1];
    char *name;     /* UTF-8, non-empty */
    char *trust_id; /* may be "" for a school in no trust */
    char *policy;   /* policy name, e.g. "002_lowther" */
    char *phone;    /* the number parents call (optional column), or "" */
} school_rec_t;

typedef enum { CAL_TERM = 0, CAL_CLOSURE } cal_kind_t;

typedef struct {
    char urn[RC_URN_LEN + 1];
    cal_kind_t kind;
    rc_date_t from, to; /* inclusive, from <= to */
    unsigned sessions;  /* SESS_*; SESS_ALL for terms */
} calendar_rec_t;

#define PUPIL_SEN           (1u << 0)
#define PUPIL_FSM           (1u << 1)
#define PUPIL_EAL           (1u << 2)
#define PUPIL_CLA           (1u << 3)
#define PUPIL_SOCIAL_WORKER (1u << 4)

/* Year groups: N1 = -2, N2 = -1, R = 0, then 1..14. */
#define YEAR_GROUP_MIN (-2)
#define YEAR_GROUP_MAX 14

typedef struct {
    char urn[RC_URN_LEN + 1];
    char upn[RC_UPN_LEN + 1];
    char *forename, *surname;
    int year_group;
    rc_date_t date_of_birth;
    rc_date_t on_roll_from;
    rc_date_t on_roll_to; /* RC_DATE_NONE when still on roll */
    unsigned flags;       /* PUPIL_* */
} pupil_rec_t;

typedef struct {
    char upn[RC_UPN_LEN + 1];
    char *contact_id;
    char *name;
    char *relationship;
    int parental_responsibility;
    char mobile[RC_E164_MAX + 1]; /* E.164, or "" when none */
    char *email;                  /* NULL when none */
    int priority;                 /* 1 = first to contact */
} contact_rec_t;

typedef struct {
    size_t row; /* CSV: physical line the row starts on (header = 1); JSON: array index */
    union {
        school_rec_t school;
        calendar_rec_t calendar;
        pupil_rec_t pupil;
        contact_rec_t contact;
        mark_t mark;
    } u;
} record_t;

typedef struct {
    size_t row;      /* as record_t.row; 0 for a problem with the whole document */
    char column[40]; /* the column or JSON key, "" when not about one field */
    char message[200];
} rec_error_t;

typedef struct records records_t;
struct records {
    rec_kind_t kind;
    rec_format_t format;
    record_t *v; /* the rows that passed, in input order */
    size_t n;
    rec_error_t *errors; /* the rows (or document) that did not, in input order */
    size_t nerrors;
    int fatal;    /* the document was broken and reading stopped early */
    void *arena_; /* owns every string in v */
};

/* rec_kind_parse maps "schools", "calendar", "pupils", "contacts", "marks". */
rc_err_t rec_kind_parse(const char *s, rec_kind_t *out);

/* rec_kind_name returns the kind's name as above. */
const char *rec_kind_name(rec_kind_t kind);

/* records_parse reads buf[0..len) of the given kind and format into a new
 * *out (owned by the caller; free with records_destroy), which holds every
 * good row and every error. Returns RC_OK when every row was good,
 * RC_EINVAL when some rows were rejected (or out is NULL), RC_EPARSE when
 * the document was broken (out->fatal set), RC_ENOMEM (with *out NULL) when
 * memory ran out. At most REC_MAX_ERRORS errors are listed.
 * The entry point fuzzers call: any bytes are safe. */
rc_err_t records_parse(rec_kind_t kind, rec_format_t fmt, const char *buf, size_t len,
                       records_t **out);

/* records_destroy frees *self_p and its strings and sets it NULL; NULL-safe. */
void records_destroy(records_t **self_p);

/* rec_error_format writes "line 7, column upn: <message>" (CSV) or
 * "item 3, field upn: <message>" (JSON) into buf and returns buf. */
char *rec_error_format(const records_t *r, const rec_error_t *e, char *buf, size_t len);

#endif
