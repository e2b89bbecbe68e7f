/* codes.h - the DfE attendance codes of the School Attendance (Pupil
 * Registration) (England) Regulations 2024, and what each one counts as. */
#ifndef ROLLCALL_CODES_H
#define ROLLCALL_CODES_H

#include <stddef.h>

#include "rollcall/error.h"

typedef enum {
    CAT_PRESENT = 0,     /* / \ L */
    CAT_APPROVED,        /* K V P W B: attending approved educational activity */
    CAT_AUTHORISED,      /* C C1 C2 E I J1 M R S T */
    CAT_UNAUTHORISED,    /* G N O U */
    CAT_DUAL_REGISTERED, /* D: attending the other school, not a possible session */
    CAT_EXCEPTIONAL,     /* Q Y1..Y7: unable to attend, not a possible session */
    CAT_ADMINISTRATIVE,  /* X Z #: not a possible session */
    CAT__COUNT
} code_category_t;

typedef enum {
    CODE_PRESENT_AM = 0, /* '/' */
    CODE_PRESENT_PM,     /* '\' */
    CODE_L,
    CODE_K,
    CODE_V,
    CODE_P,
    CODE_W,
    CODE_B,
    CODE_C,
    CODE_C1,
    CODE_C2,
    CODE_E,
    CODE_I,
    CODE_J1,
    CODE_M,
    CODE_R,
    CODE_S,
    CODE_T,
    CODE_G,
    CODE_N,
    CODE_O,
    CODE_U,
    CODE_D,
    CODE_Q,
    CODE_Y1,
    CODE_Y2,
    CODE_Y3,
    CODE_Y4,
    CODE_Y5,
    CODE_Y6,
    CODE_Y7,
    CODE_X,
    CODE_Z,
    CODE_HASH,
    CODE__COUNT
} att_code_t;

/* A set of codes as a bit mask (CODE__COUNT < 64), for policies that count
 * e.g. "G, O and U" rather than every unauthorised code. */
typedef unsigned long long code_set_t;
#define CODE_BIT(c) (1ULL << (unsigned)(c))

/* code_parse reads one code from s[0..len) (exact, upper case) into *out.
 * Returns RC_EINVAL for anything that is not a 2024 DfE code. */
rc_err_t code_parse(const char *s, size_t len, att_code_t *out);

/* code_str returns the code as written in a register ("/", "C1", "#"). */
const char *code_str(att_code_t code);

/* code_category returns the category of code. */
code_category_t code_category(att_code_t code);

/* code_is_possible is true when the session counts as a possible session. */
int code_is_possible(att_code_t code);

/* code_is_attended is true for present and approved educational activity. */
int code_is_attended(att_code_t code);

/* code_is_absence is true for authorised and unauthorised absence. */
int code_is_absence(att_code_t code);

/* category_name returns a stable lower-case name ("unauthorised"). */
const char *category_name(code_category_t cat);

/* code_set_parse reads a comma- or space-separated list ("G,O,U") into *out;
 * on an unknown code returns RC_EINVAL with *bad_at set to its offset. */
rc_err_t code_set_parse(const char *s, size_t len, code_set_t *out, size_t *bad_at);

/* The national penalty framework's set: every unauthorised absence code. */
#define CODE_SET_UNAUTHORISED                                                                      \
    (CODE_BIT(CODE_G) | CODE_BIT(CODE_N) | CODE_BIT(CODE_O) | CODE_BIT(CODE_U))

#endif
