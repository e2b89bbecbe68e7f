/* policy.c - reads a school's policy file (docs/policies.md) from YAML into policy_t, strictly. */
#include "rollcall/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamltree.h"

#define MAX_DEPTH      24 /* the deepest a valid policy goes is 7; deeper is refused early */
#define WHERE_MAX      (2 * POLICY_NAME_MAX + 40)
#define PCT_EPSILON    1e-9
#define N_ACTION_KINDS (ACT_EARLY_HELP + 1)
#define MAX_HALF_TERMS 6 /* a school year's worth, as `weeks` allows 52 */

/* The national figures an alert written as `true` takes (Working together
 * to improve school attendance, August 2024). */
#define NATIONAL_FIRST_DAY_MINUTE (9 * 60 + 30)
#define NATIONAL_CME_DAYS         10
#define NATIONAL_UNRESOLVED_DAYS  5
#define NATIONAL_ILLNESS_DAYS     15
#define NATIONAL_DELETION_DAYS    20
#define NATIONAL_PENALTY_WEEKS    10
#define NATIONAL_PENALTY_SESSIONS 10
#define DEFAULT_MIN_POSSIBLE      20

/* What policy files say where the tree builder refuses something. */
static const yamltree_hint_t policy_hints[] = {
    {"did not find expected key",
     "; check that this line is indented exactly like the lines above it"},
    {"mapping values are not allowed",
     "; a value holding ': ' must be put in quotes, or the line is indented wrongly"},
    {"could not find expected ':'", "; a line is missing the ':' after its key"},
    {"did not find expected '-' indicator",
     "; every item of a list starts with '- ' at the same indentation"},
    {"found unexpected end of stream", "; a quote or bracket is opened and never closed"},
    {"did not find expected ',' or ']'", "; a [list] is missing a ',' or its closing ']'"},
    {"did not find expected ',' or '}'", "; a {map} is missing a ',' or its closing '}'"},
    {"found character that cannot start any token",
     "; a value starting with one of @ ` % | > must be put in quotes"},
    {"control characters are not allowed", "; the file holds an invisible control character"},
    {"invalid", "; the file must be saved as UTF-8 text"},
    {NULL, NULL},
};

#define POLICY_NO_ANCHORS                                                                          \
    "anchors (&name) are not used in policy files; write the value out in full where it applies"
#define POLICY_NO_TAGS                                                                             \
    "tags (!name) are not used in policy files; remove the '!...' before the value"

/* A policy is read by people, so every value is written out where it applies. */
static const yamltree_words_t policy_words = {
    .kind = "policy",
    .key_example = "title",
    .alias = "aliases (*name) are not used in policy files; write the value out in full where it "
             "applies",
    .scalar_anchor = POLICY_NO_ANCHORS,
    .scalar_tag = POLICY_NO_TAGS,
    .collection_anchor = POLICY_NO_ANCHORS,
    .collection_tag = POLICY_NO_TAGS,
    .hints = policy_hints,
    .max_depth = MAX_DEPTH,
};

typedef struct {
    yamltree_t t; /* the file, its tree and the first error */
    policy_t *p;
} ctx_t;

/* ---- reading values ---- */

/* expect checks that n is of kind k; `what` names it for the message. */
static int expect(ctx_t *c, const yamltree_node_t *n, yamltree_kind_t k, const char *what)
{
    static const char *const wanted[] = {
        [YAMLTREE_SCALAR] = "a single value",
        [YAMLTREE_MAP] = "a set of `key: value` lines",
        [YAMLTREE_SEQ] = "a list (lines starting with '- ', or [a, b])",
    };
    if (n->kind == k)
        return 0;
    if (yamltree_is_null(n))
        return yamltree_fail(&c->t, n, "`%s` has no value; write %s after it", what, wanted[k]);
    return yamltree_fail(&c->t, n, "`%s` should be %s, not %s", what, wanted[k],
                         yamltree_kind_text(n));
}

/* unknown_name reports a value that is not one of names, suggesting the
 * nearest or listing them all. */
static int unknown_name(ctx_t *c, const yamltree_node_t *n, const char *what,
                        const char *const *names, size_t count)
{
    yamltree_shown_t sh;
    char all[POLICY_ERR_MAX / 2];
    const char *near = yamltree_nearest(n->text, n->len, names, count);
    if (near)
        return yamltree_fail(&c->t, n, "\"%s\" is not a %s; did you mean \"%s\"?",
                             yamltree_show_node(&sh, n), what, near);
    return yamltree_fail(&c->t, n, "\"%s\" is not a %s; write one of: %s",
                         yamltree_show_node(&sh, n), what,
                         yamltree_join(names, count, all, sizeof all));
}

static int need_scalar(ctx_t *c, const yamltree_node_t *n, const char *what)
{
    if (expect(c, n, YAMLTREE_SCALAR, what) != 0)
        return -1;
    if (n->len == 0)
        return yamltree_fail(&c->t, n, "`%s` has no value", what);
    return 0;
}

/* get_uint reads a whole number in [lo, hi]. */
static int get_uint(ctx_t *c, const yamltree_node_t *n, const char *what, unsigned lo, unsigned hi,
                    unsigned *out)
{
    yamltree_shown_t sh;
    if (need_scalar(c, n, what) != 0)
        return -1;
    for (size_t i = 0; i < n->len; i++)
        if (n->text[i] < '0' || n->text[i] > '9')
            return yamltree_fail(&c->t, n,
                                 "`%s` should be a whole number from %u to %u, not \"%s\"", what,
                                 lo, hi, yamltree_show_node(&sh, n));
    errno = 0;
    char *end = NULL;
    unsigned long v = strtoul(n->text, &end, 10);
    if (end != n->text + n->len || errno == ERANGE || v < lo || v > hi)
        return yamltree_fail(&c->t, n, "`%s` must be from %u to %u, not %s", what, lo, hi,
                             yamltree_show_node(&sh, n));
    *out = (unsigned)v;
    return 0;
}

/* get_pct reads a percentage 0..100 with at most two decimal places. */
static int get_pct(ctx_t *c, const yamltree_node_t *n, const char *what, double *out)
{
    yamltree_shown_t sh;
    size_t digits = 0, dot = 0, decimals = 0;
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (n->text[n->len - 1] == '%')
        return yamltree_fail(
            &c->t, n, "`%s` is a percentage written without the %% sign: write %.*s", what,
            (int)(n->len - 1 > YAMLTREE_SHOW_MAX ? YAMLTREE_SHOW_MAX : n->len - 1), n->text);
    for (size_t i = 0; i < n->len; i++) {
        char ch = n->text[i];
        if (ch >= '0' && ch <= '9') {
            digits++;
            decimals += dot;
        } else if (ch == '.' && !dot) {
            dot = 1;
        } else {
            return yamltree_fail(
                &c->t, n,
                "`%s` should be a percentage from 0 to 100 such as 95 or 96.5, not \"%s\"", what,
                yamltree_show_node(&sh, n));
        }
    }
    if (digits == 0 || n->text[0] == '.' || n->text[n->len - 1] == '.')
        return yamltree_fail(
            &c->t, n, "`%s` should be a percentage from 0 to 100 such as 95 or 96.5, not \"%s\"",
            what, yamltree_show_node(&sh, n));
    if (decimals > 2)
        return yamltree_fail(
            &c->t, n,
            "`%s` has more than two decimal places (%s); attendance is compared to 0.01%%", what,
            yamltree_show_node(&sh, n));
    errno = 0;
    char *end = NULL;
    double v = strtod(n->text, &end);
    if (end != n->text + n->len || errno == ERANGE || !(v >= 0.0 && v <= 100.0))
        return yamltree_fail(&c->t, n, "`%s` must be a percentage from 0 to 100, not %s", what,
                             yamltree_show_node(&sh, n));
    *out = v;
    return 0;
}

static int get_bool(ctx_t *c, const yamltree_node_t *n, const char *what, int *out)
{
    yamltree_shown_t sh;
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (yamltree_scalar_is(n, "true") || yamltree_scalar_is(n, "yes")) {
        *out = 1;
        return 0;
    }
    if (yamltree_scalar_is(n, "false") || yamltree_scalar_is(n, "no")) {
        *out = 0;
        return 0;
    }
    return yamltree_fail(&c->t, n, "`%s` should be true or false, not \"%s\"", what,
                         yamltree_show_node(&sh, n));
}

/* need_true reads a switch that means something only when on
 * (`declining: true`). */
static int need_true(ctx_t *c, const yamltree_node_t *n, const char *what)
{
    int v = 0;
    if (get_bool(c, n, what, &v) != 0)
        return -1;
    if (!v)
        return yamltree_fail(
            &c->t, n, "`%s: false` means nothing here; write `%s: true`, or leave the line out",
            what, what);
    return 0;
}

static int token_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == ':' || ch == '-';
}

/* get_name reads an identifier (stage, track, band, template) of letters,
 * digits and _ . : - into dst[0..cap). */
static int get_name(ctx_t *c, const yamltree_node_t *n, const char *what, char *dst, size_t cap)
{
    yamltree_shown_t sh;
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (n->len >= cap)
        return yamltree_fail(&c->t, n, "`%s` is longer than %zu characters", what, cap - 1);
    for (size_t i = 0; i < n->len; i++)
        if (!token_char((unsigned char)n->text[i]))
            return yamltree_fail(
                &c->t, n,
                "`%s` \"%s\" may hold only letters, digits and _ . : - (no spaces); "
                "use `title` for words",
                what, yamltree_show_node(&sh, n));
    memcpy(dst, n->text, n->len);
    dst[n->len] = '\0';
    return 0;
}

/* get_text reads words (a title) of printable characters into dst[0..cap). */
static int get_text(ctx_t *c, const yamltree_node_t *n, const char *what, char *dst, size_t cap)
{
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (n->len >= cap)
        return yamltree_fail(&c->t, n, "`%s` is longer than %zu characters; shorten it", what,
                             cap - 1);
    for (size_t i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->text[i];
        if (ch < 0x20 || ch == 0x7F)
            return yamltree_fail(
                &c->t, n, "`%s` holds a control character (byte 0x%02X); delete it", what, ch);
    }
    memcpy(dst, n->text, n->len);
    dst[n->len] = '\0';
    return 0;
}

static const char CODES_LIST[] = "/ \\ L K V P W B C C1 C2 E I J1 M R S T G N O U D Q Y1-Y7 X Z #";

/* code_fail reports s[0..len) as not a DfE code, suggesting the capital
 * letter when that is the slip. */
static int code_fail(ctx_t *c, const yamltree_node_t *n, const char *s, size_t len)
{
    yamltree_shown_t sh;
    char up[4];
    att_code_t code;
    if (len > 0 && len < sizeof up) {
        for (size_t i = 0; i < len; i++)
            up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
        if (code_parse(up, len, &code) == RC_OK)
            return yamltree_fail(&c->t, n,
                                 "\"%s\" is not a DfE attendance code; codes are capitals: \"%s\"",
                                 yamltree_show(&sh, s, len), code_str(code));
    }
    return yamltree_fail(
        &c->t, n, "\"%s\" is not a DfE attendance code (2024 codes: %s; write \"#\" in quotes)",
        yamltree_show(&sh, s, len), CODES_LIST);
}

/* get_codes reads a list of DfE codes ([G, O, U], or "G, O, U"). */
static int get_codes(ctx_t *c, const yamltree_node_t *n, const char *what, code_set_t *out)
{
    code_set_t set = 0;
    if (yamltree_is_null(n))
        return yamltree_fail(
            &c->t, n, "`%s` has no value; write the codes as a list such as [G, O, U]", what);
    if (n->kind == YAMLTREE_MAP)
        return yamltree_fail(&c->t, n, "`%s` should be a list of codes such as [G, O, U], not %s",
                             what, yamltree_kind_text(n));
    if (n->kind == YAMLTREE_SCALAR) {
        size_t bad = 0;
        if (code_set_parse(n->text, n->len, &set, &bad) != RC_OK) {
            size_t end = bad;
            while (end < n->len && n->text[end] != ',' && n->text[end] != ' ')
                end++;
            return code_fail(c, n, n->text + bad, end - bad);
        }
    } else {
        for (size_t i = 0; i < n->nkids; i++) {
            const yamltree_node_t *k = n->kids[i];
            att_code_t code;
            if (expect(c, k, YAMLTREE_SCALAR, what) != 0)
                return -1;
            if (code_parse(k->text, k->len, &code) != RC_OK)
                return code_fail(c, k, k->text, k->len);
            set |= CODE_BIT(code);
        }
    }
    if (set == 0)
        return yamltree_fail(&c->t, n, "`%s` names no codes; write at least one, such as [G, O, U]",
                             what);
    *out = set;
    return 0;
}

/* get_time reads "HH:MM" as minutes after midnight. */
static int get_time(ctx_t *c, const yamltree_node_t *n, const char *what, int *minute)
{
    yamltree_shown_t sh;
    const char *t = n->text;
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (n->len != 5 || t[2] != ':' || t[0] < '0' || t[0] > '2' || t[1] < '0' || t[1] > '9' ||
        t[3] < '0' || t[3] > '5' || t[4] < '0' || t[4] > '9' ||
        (t[0] - '0') * 10 + (t[1] - '0') > 23)
        return yamltree_fail(
            &c->t, n, "`%s` should be a time of day written HH:MM, such as \"09:30\", not \"%s\"",
            what, yamltree_show_node(&sh, n));
    *minute = ((t[0] - '0') * 10 + (t[1] - '0')) * 60 + (t[3] - '0') * 10 + (t[4] - '0');
    return 0;
}

/* enum_names fills names[1..count) from name_of (0 is "none", never written). */
static void enum_names(const char **names, size_t count, const char *(*name_of)(int))
{
    names[0] = NULL;
    for (size_t i = 1; i < count; i++)
        names[i] = name_of((int)i);
}

static const char *role_name_of(int i)
{
    return staff_role_name((staff_role_t)i);
}

static const char *fact_name_of(int i)
{
    return fact_kind_name((fact_kind_t)i);
}

static int get_role(ctx_t *c, const yamltree_node_t *n, const char *what, staff_role_t *out)
{
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (staff_role_parse(n->text, n->len, out) == RC_OK && strlen(n->text) == n->len)
        return 0;
    const char *names[STAFF__COUNT];
    enum_names(names, STAFF__COUNT, role_name_of);
    return unknown_name(c, n, "role Rollcall knows", names, STAFF__COUNT);
}

static int get_fact(ctx_t *c, const yamltree_node_t *n, const char *what, fact_kind_t *out)
{
    if (need_scalar(c, n, what) != 0)
        return -1;
    if (fact_kind_parse(n->text, n->len, out) == RC_OK && strlen(n->text) == n->len)
        return 0;
    const char *names[FACT__COUNT];
    enum_names(names, FACT__COUNT, fact_name_of);
    return unknown_name(c, n, "fact staff can record", names, FACT__COUNT);
}

/* get_choice reads one of names (NULL-terminated) as its index. */
static int get_choice(ctx_t *c, const yamltree_node_t *n, const char *what,
                      const char *const *names, int *out)
{
    size_t count = yamltree_count_names(names);
    if (need_scalar(c, n, what) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (yamltree_scalar_is(n, names[i])) {
            *out = (int)i;
            return 0;
        }
    char kind[64];
    snprintf(kind, sizeof kind, "value for `%.30s`", what);
    return unknown_name(c, n, kind, names, count);
}

/* ---- conditions ---- */

static const char *const atom_keys[] = {
    "attendance_below",
    "attendance_at_most",
    "attendance_at_least",
    "count",
    "consecutive_unexplained_days",
    "declining",
    "staff_recorded",
    "persistent_absentee",
    "severe_absentee",
    "any",
    "all",
    NULL,
};

static const char *const count_keys[] = {"codes", "at_least", "in", "last_school_weeks", NULL};
static const char *const period_names[] = {"school_year", "this_week", "this_half_term",
                                           "since_stage_entry", NULL};
static const policy_period_t period_values[] = {PERIOD_YEAR, PERIOD_THIS_WEEK, PERIOD_HALF_TERM,
                                                PERIOD_SINCE_ENTRY};
static const char *const fact_keys[] = {"fact", "detail", "within_days", NULL};

static int parse_count(ctx_t *c, const yamltree_node_t *v, cond_atom_t *a)
{
    const yamltree_node_t *in, *weeks, *codes, *least;
    if (expect(c, v, YAMLTREE_MAP, "count") != 0 ||
        yamltree_check_keys(&c->t, v, count_keys, "`count`") != 0)
        return -1;
    codes = yamltree_get(v, "codes");
    least = yamltree_get(v, "at_least");
    in = yamltree_get(v, "in");
    weeks = yamltree_get(v, "last_school_weeks");
    if (!codes)
        return yamltree_fail(&c->t, v,
                             "`count` needs `codes:`, the codes to count, such as [G, O, U]");
    if (!least)
        return yamltree_fail(&c->t, v, "`count` needs `at_least:`, how many sessions make it true");
    if (!in == !weeks)
        return yamltree_fail(
            &c->t, v,
            "`count` needs exactly one of `in:` (school_year, this_week, this_half_term "
            "or since_stage_entry) and `last_school_weeks:` (a number of weeks)");
    a->kind = COND_COUNT_AT_LEAST;
    if (get_codes(c, codes, "codes", &a->codes) != 0 ||
        get_uint(c, least, "at_least", 1, 1000, &a->n) != 0)
        return -1;
    if (weeks) {
        a->period = PERIOD_SCHOOL_WEEKS;
        return get_uint(c, weeks, "last_school_weeks", 1, 52, &a->weeks);
    }
    int p = 0;
    if (get_choice(c, in, "in", period_names, &p) != 0)
        return -1;
    a->period = period_values[p];
    return 0;
}

static int parse_fact_atom(ctx_t *c, const yamltree_node_t *v, cond_atom_t *a)
{
    a->kind = COND_FACT;
    if (v->kind == YAMLTREE_SCALAR)
        return get_fact(c, v, "staff_recorded", &a->fact);
    if (expect(c, v, YAMLTREE_MAP, "staff_recorded") != 0 ||
        yamltree_check_keys(&c->t, v, fact_keys, "`staff_recorded`") != 0)
        return -1;
    const yamltree_node_t *fact = yamltree_get(v, "fact"), *detail = yamltree_get(v, "detail"),
                          *days = yamltree_get(v, "within_days");
    if (!fact)
        return yamltree_fail(&c->t, v, "`staff_recorded` needs `fact:`, such as meeting_missed");
    if (get_fact(c, fact, "fact", &a->fact) != 0)
        return -1;
    if (detail && get_name(c, detail, "detail", a->detail, sizeof a->detail) != 0)
        return -1;
    return days ? get_uint(c, days, "within_days", 1, 366, &a->n) : 0;
}

/* parse_atom reads one `key: value` of a condition into cond. */
static int parse_atom(ctx_t *c, const yamltree_node_t *k, const yamltree_node_t *v,
                      policy_cond_t *cond)
{
    static const struct {
        const char *key;
        cond_kind_t kind;
    } pcts[] = {
        {"attendance_below", COND_ATTENDANCE_BELOW},
        {"attendance_at_most", COND_ATTENDANCE_AT_MOST},
        {"attendance_at_least", COND_ATTENDANCE_AT_LEAST},
    };
    if (cond->n == POLICY_MAX_ATOMS)
        return yamltree_fail(&c->t, k, "a condition may have at most %d parts", POLICY_MAX_ATOMS);
    cond_atom_t *a = &cond->atoms[cond->n];
    memset(a, 0, sizeof *a);
    a->line = k->line;
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        if (!yamltree_scalar_is(k, pcts[i].key))
            continue;
        a->kind = pcts[i].kind;
        if (v->kind == YAMLTREE_SCALAR && yamltree_scalar_is(v, "target")) {
            if (c->p->target_pct <= 0.0)
                return yamltree_fail(
                    &c->t, v, "`%s: target` needs the policy's `target:` to be set", pcts[i].key);
            a->value = c->p->target_pct;
        } else if (get_pct(c, v, pcts[i].key, &a->value) != 0) {
            return -1;
        }
        cond->n++;
        return 0;
    }
    if (yamltree_scalar_is(k, "count")) {
        if (parse_count(c, v, a) != 0)
            return -1;
    } else if (yamltree_scalar_is(k, "consecutive_unexplained_days")) {
        a->kind = COND_CONSECUTIVE_DAYS;
        if (get_uint(c, v, "consecutive_unexplained_days", 1, 200, &a->n) != 0)
            return -1;
    } else if (yamltree_scalar_is(k, "declining")) {
        a->kind = COND_DECLINING;
        if (need_true(c, v, "declining") != 0)
            return -1;
    } else if (yamltree_scalar_is(k, "persistent_absentee")) {
        a->kind = COND_PERSISTENT;
        if (need_true(c, v, "persistent_absentee") != 0)
            return -1;
    } else if (yamltree_scalar_is(k, "severe_absentee")) {
        a->kind = COND_SEVERE;
        if (need_true(c, v, "severe_absentee") != 0)
            return -1;
    } else if (yamltree_scalar_is(k, "staff_recorded")) {
        if (parse_fact_atom(c, v, a) != 0)
            return -1;
    } else {
        return yamltree_fail(&c->t, k,
                             "`any` and `all` cannot be put inside another `any` or `all`");
    }
    cond->n++;
    return 0;
}

/* parse_cond reads a condition: a map of parts that must all hold, or
 * `all: [...]`, or `any: [...]` (one part per item). */
static int parse_cond(ctx_t *c, const yamltree_node_t *n, const char *what, policy_cond_t *cond)
{
    char where[WHERE_MAX];
    snprintf(where, sizeof where, "`%s`", what);
    memset(cond, 0, sizeof *cond);
    if (expect(c, n, YAMLTREE_MAP, what) != 0 ||
        yamltree_check_keys(&c->t, n, atom_keys, where) != 0)
        return -1;
    if (n->nkids == 0)
        return yamltree_fail(&c->t, n, "`%s` is empty; write at least one condition", what);
    const yamltree_node_t *list = yamltree_get(n, "any");
    cond->any_of = list != NULL;
    if (!list)
        list = yamltree_get(n, "all");
    if (!list) {
        for (size_t i = 0; i + 1 < n->nkids; i += 2)
            if (parse_atom(c, n->kids[i], n->kids[i + 1], cond) != 0)
                return -1;
        return 0;
    }
    if (n->nkids != 2)
        return yamltree_fail(
            &c->t, n->kids[0],
            "`%s` holds `any:` or `all:` and other conditions beside it; put them all "
            "in the one list",
            what);
    const char *lname = cond->any_of ? "any" : "all";
    if (expect(c, list, YAMLTREE_SEQ, lname) != 0)
        return -1;
    if (list->nkids == 0)
        return yamltree_fail(&c->t, list, "`%s` is an empty list; write at least one condition",
                             lname);
    for (size_t i = 0; i < list->nkids; i++) {
        const yamltree_node_t *item = list->kids[i];
        if (expect(c, item, YAMLTREE_MAP, lname) != 0 ||
            yamltree_check_keys(&c->t, item, atom_keys, where) != 0)
            return -1;
        if (item->nkids != 2)
            return yamltree_fail(
                &c->t, item,
                "each item of `%s` is one condition (one `key: value`); this one has %zu", lname,
                item->nkids / 2);
        if (parse_atom(c, item->kids[0], item->kids[1], cond) != 0)
            return -1;
    }
    return 0;
}

/* ---- actions ---- */

static const char *const action_names[] = {
    "letter",     "sms",      "email", "call",       "meeting",
    "home_visit", "referral", "dsl",   "early_help", NULL,
};
static const action_kind_t action_values[] = {ACT_LETTER,   ACT_SMS,     ACT_EMAIL,
                                              ACT_CALL,     ACT_MEETING, ACT_HOME_VISIT,
                                              ACT_REFERRAL, ACT_DSL,     ACT_EARLY_HELP};

static int parse_action(ctx_t *c, const yamltree_node_t *item, const char *what, policy_action_t *a)
{
    const yamltree_node_t *kname = item, *v = NULL;
    int idx = 0;
    memset(a, 0, sizeof *a);
    a->line = item->line;
    if (item->kind == YAMLTREE_MAP) {
        if (item->nkids != 2)
            return yamltree_fail(
                &c->t, item,
                "each item of `%s` is one action, such as `- letter: letter_1`; this "
                "one has %zu",
                what, item->nkids / 2);
        kname = item->kids[0];
        v = item->kids[1];
    } else if (expect(c, item, YAMLTREE_SCALAR, what) != 0) {
        return -1;
    }
    if (get_choice(c, kname, "action", action_names, &idx) != 0)
        return -1;
    a->kind = action_values[idx];
    int needs_template = a->kind == ACT_LETTER || a->kind == ACT_SMS || a->kind == ACT_EMAIL;
    if (!v || yamltree_is_null(v)) {
        if (needs_template)
            return yamltree_fail(&c->t, kname,
                                 "a %s needs its template: write `- %s: <template name>`",
                                 action_names[idx], action_names[idx]);
        return 0;
    }
    if (v->kind == YAMLTREE_SCALAR &&
        (yamltree_scalar_is(v, "false") || yamltree_scalar_is(v, "no")))
        return yamltree_fail(&c->t, v,
                             "`%s: %s` asks for nothing; to leave the action out, delete its line",
                             action_names[idx], v->text);
    if (!needs_template && v->kind == YAMLTREE_SCALAR &&
        (yamltree_scalar_is(v, "true") || yamltree_scalar_is(v, "yes")))
        return 0;
    return get_name(c, v, action_names[idx], a->template_id, sizeof a->template_id);
}

static int parse_actions(ctx_t *c, const yamltree_node_t *n, const char *what, policy_action_t *out,
                         size_t *count)
{
    *count = 0;
    if (expect(c, n, YAMLTREE_SEQ, what) != 0)
        return -1;
    if (n->nkids > POLICY_MAX_ACTIONS)
        return yamltree_fail(&c->t, n->kids[POLICY_MAX_ACTIONS], "`%s` may list at most %d actions",
                             what, POLICY_MAX_ACTIONS);
    for (size_t i = 0; i < n->nkids; i++)
        if (parse_action(c, n->kids[i], what, &out[i]) != 0)
            return -1;
    *count = n->nkids;
    return 0;
}

/* ---- stages and tracks ---- */

static const char *const stage_keys[] = {
    "id", "title", "when", "escalation_only", "actions", "responsible", "monitor", "review", NULL};
static const char *const monitor_keys[] = {"weeks", "half_terms", "extend_weeks_per_absence_day",
                                           NULL};
static const char *const review_keys[] = {"improved", "if_improved", "if_not_improved",
                                          "on_improved", NULL};
static const char *const improved_outcomes[] = {"stay", "step_down", "exit", NULL};
static const review_outcome_t improved_values[] = {REVIEW_STAY, REVIEW_STEP_DOWN, REVIEW_EXIT};
static const char *const not_improved_outcomes[] = {"stay", "escalate", NULL};
static const review_outcome_t not_improved_values[] = {REVIEW_STAY, REVIEW_ESCALATE};

static int parse_review(ctx_t *c, const yamltree_node_t *n, const char *where, int last,
                        policy_stage_t *s)
{
    const yamltree_node_t *v;
    int idx = 0;
    if (expect(c, n, YAMLTREE_MAP, "review") != 0 ||
        yamltree_check_keys(&c->t, n, review_keys, where) != 0)
        return -1;
    if ((v = yamltree_get(n, "improved")) && parse_cond(c, v, "improved", &s->improved) != 0)
        return -1;
    if ((v = yamltree_get(n, "if_improved"))) {
        if (v->kind == YAMLTREE_SCALAR && yamltree_scalar_is(v, "escalate"))
            return yamltree_fail(&c->t, v,
                                 "after an improvement a pupil can `step_down`, `exit` or `stay`, "
                                 "not escalate");
        if (get_choice(c, v, "if_improved", improved_outcomes, &idx) != 0)
            return -1;
        s->if_improved = improved_values[idx];
    }
    if ((v = yamltree_get(n, "if_not_improved"))) {
        if (v->kind == YAMLTREE_SCALAR &&
            (yamltree_scalar_is(v, "step_down") || yamltree_scalar_is(v, "exit")))
            return yamltree_fail(&c->t, v,
                                 "without an improvement a pupil can `escalate` or `stay`, not %s",
                                 v->text);
        if (get_choice(c, v, "if_not_improved", not_improved_outcomes, &idx) != 0)
            return -1;
        s->if_not_improved = not_improved_values[idx];
        if (last && s->if_not_improved == REVIEW_ESCALATE)
            return yamltree_fail(
                &c->t, v,
                "stage \"%s\" is the last stage of its track, so there is nothing to "
                "escalate to; write `if_not_improved: stay` or add a stage after it",
                s->id);
    }
    if ((v = yamltree_get(n, "on_improved")) &&
        parse_actions(c, v, "on_improved", s->on_improved, &s->non_improved) != 0)
        return -1;
    return 0;
}

/* parse_monitor reads `monitor:`: exactly one of `weeks` and `half_terms`,
 * and the optional extension per day of absence. */
static int parse_monitor(ctx_t *c, const yamltree_node_t *n, policy_stage_t *s)
{
    const yamltree_node_t *weeks, *halves, *v;
    if (expect(c, n, YAMLTREE_MAP, "monitor") != 0 ||
        yamltree_check_keys(&c->t, n, monitor_keys, "`monitor`") != 0)
        return -1;
    weeks = yamltree_get(n, "weeks");
    halves = yamltree_get(n, "half_terms");
    if (weeks && halves)
        return yamltree_fail(
            &c->t, yamltree_key_node(n, "half_terms"),
            "`monitor` has both `weeks:` and `half_terms:`; the review is counted in one "
            "or the other, so keep one");
    if (!weeks && !halves)
        return yamltree_fail(
            &c->t, n,
            "`monitor` needs `weeks:`, the school weeks to the review, or `half_terms:`, "
            "the half terms to it");
    if (weeks && get_uint(c, weeks, "weeks", 1, 52, &s->monitor_weeks) != 0)
        return -1;
    if (halves && get_uint(c, halves, "half_terms", 1, MAX_HALF_TERMS, &s->monitor_half_terms) != 0)
        return -1;
    if ((v = yamltree_get(n, "extend_weeks_per_absence_day")) &&
        get_uint(c, v, "extend_weeks_per_absence_day", 0, 10, &s->extend_weeks_per_day) != 0)
        return -1;
    return 0;
}

static int parse_stage(ctx_t *c, const yamltree_node_t *n, const char *track, size_t index,
                       size_t count, policy_stage_t *s)
{
    char where[WHERE_MAX];
    const yamltree_node_t *v, *id;
    memset(s, 0, sizeof *s);
    s->line = n->line;
    snprintf(where, sizeof where, "stage %zu of track \"%s\"", index + 1, track);
    if (expect(c, n, YAMLTREE_MAP, "stage") != 0)
        return -1;
    if (!(id = yamltree_get(n, "id"))) {
        if (yamltree_check_keys(&c->t, n, stage_keys, where) != 0)
            return -1;
        return yamltree_fail(&c->t, n, "%s has no `id:`; give it a short name such as stage_1",
                             where);
    }
    if (get_name(c, id, "id", s->id, sizeof s->id) != 0)
        return -1;
    snprintf(where, sizeof where, "stage \"%s\" of track \"%s\"", s->id, track);
    if (yamltree_check_keys(&c->t, n, stage_keys, where) != 0)
        return -1;
    if ((v = yamltree_get(n, "title"))) {
        if (get_text(c, v, "title", s->title, sizeof s->title) != 0)
            return -1;
    } else {
        memcpy(s->title, s->id, sizeof s->id);
    }
    if ((v = yamltree_get(n, "escalation_only")) &&
        get_bool(c, v, "escalation_only", &s->escalation_only))
        return -1;
    v = yamltree_get(n, "when");
    if (s->escalation_only && index == 0)
        return yamltree_fail(
            &c->t, yamltree_key_node(n, "escalation_only"),
            "the first stage of a track cannot be `escalation_only`: there is no stage "
            "before it to escalate from; give it a `when:`");
    if (s->escalation_only && v)
        return yamltree_fail(&c->t, v,
                             "%s is `escalation_only`, so it has no `when:`; remove one of the two",
                             where);
    if (!s->escalation_only && !v)
        return yamltree_fail(
            &c->t, n,
            "%s needs a `when:` saying when a pupil enters it (or `escalation_only: "
            "true`)",
            where);
    if (v && parse_cond(c, v, "when", &s->when) != 0)
        return -1;
    if ((v = yamltree_get(n, "actions")) &&
        parse_actions(c, v, "actions", s->actions, &s->nactions) != 0)
        return -1;
    if ((v = yamltree_get(n, "responsible")) && get_role(c, v, "responsible", &s->responsible) != 0)
        return -1;
    const yamltree_node_t *monitor = yamltree_get(n, "monitor"),
                          *review = yamltree_get(n, "review");
    if (review && !monitor)
        return yamltree_fail(
            &c->t, yamltree_key_node(n, "review"),
            "%s has a `review:` but no `monitor:`; a review happens at the end of "
            "monitoring, so add `monitor: {weeks: N}` or `monitor: {half_terms: N}`",
            where);
    if (monitor && parse_monitor(c, monitor, s) != 0)
        return -1;
    if (review && parse_review(c, review, where, index + 1 == count, s) != 0)
        return -1;
    return 0;
}

static int parse_track(ctx_t *c, const yamltree_node_t *k, const yamltree_node_t *v,
                       policy_track_t *t)
{
    if (get_name(c, k, "track name", t->id, sizeof t->id) != 0)
        return -1;
    t->line = k->line;
    if (expect(c, v, YAMLTREE_SEQ, t->id) != 0)
        return -1;
    if (v->nkids == 0)
        return yamltree_fail(&c->t, v, "track \"%s\" has no stages; list at least one", t->id);
    if (v->nkids > POLICY_MAX_STAGES)
        return yamltree_fail(&c->t, v->kids[POLICY_MAX_STAGES],
                             "track \"%s\" has more than %d stages", t->id, POLICY_MAX_STAGES);
    for (size_t i = 0; i < v->nkids; i++) {
        policy_stage_t *s = &t->stages[i];
        if (parse_stage(c, v->kids[i], t->id, i, v->nkids, s) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->stages[j].id, s->id) == 0)
                return yamltree_fail(
                    &c->t, yamltree_get(v->kids[i], "id"),
                    "stage id \"%s\" is used twice in track \"%s\" (first on line %u); "
                    "give each stage its own id",
                    s->id, t->id, t->stages[j].line);
        if (s->escalation_only && t->stages[i - 1].if_not_improved != REVIEW_ESCALATE)
            return yamltree_fail(
                &c->t, v->kids[i],
                "stage \"%s\" is reached only by escalation, but the stage before it "
                "(\"%s\") never escalates; give that stage a `monitor:` and `review: "
                "{if_not_improved: escalate}`",
                s->id, t->stages[i - 1].id);
    }
    t->nstages = v->nkids;
    return 0;
}

static int parse_tracks(ctx_t *c, const yamltree_node_t *n)
{
    policy_t *p = c->p;
    if (expect(c, n, YAMLTREE_MAP, "tracks") != 0)
        return -1;
    if (n->nkids == 0)
        return yamltree_fail(
            &c->t, n, "`tracks` is empty; a policy needs at least one track, such as absence");
    if (n->nkids / 2 > POLICY_MAX_TRACKS)
        return yamltree_fail(&c->t, n->kids[2 * POLICY_MAX_TRACKS],
                             "a policy may have at most %d tracks", POLICY_MAX_TRACKS);
    for (size_t i = 0; i + 1 < n->nkids; i += 2) {
        for (size_t j = 0; j < i; j += 2)
            if (n->kids[j]->len == n->kids[i]->len &&
                memcmp(n->kids[j]->text, n->kids[i]->text, n->kids[i]->len) == 0)
                return yamltree_fail(&c->t, n->kids[i],
                                     "track \"%s\" is written twice (first on line %u)",
                                     n->kids[i]->text, n->kids[j]->line);
        if (parse_track(c, n->kids[i], n->kids[i + 1], &p->tracks[p->ntracks]) != 0)
            return -1;
        p->ntracks++;
    }
    return 0;
}

/* ---- bands ---- */

static const char *const band_keys[] = {"name", "from", "above", NULL};

static int parse_bands(ctx_t *c, const yamltree_node_t *n)
{
    policy_t *p = c->p;
    if (expect(c, n, YAMLTREE_SEQ, "bands") != 0)
        return -1;
    if (n->nkids == 0)
        return yamltree_fail(&c->t, n,
                             "`bands` is empty; list at least one, ending with `from: 0`");
    if (n->nkids > POLICY_MAX_BANDS)
        return yamltree_fail(&c->t, n->kids[POLICY_MAX_BANDS], "a policy may have at most %d bands",
                             POLICY_MAX_BANDS);
    for (size_t i = 0; i < n->nkids; i++) {
        const yamltree_node_t *b = n->kids[i], *name, *from, *above;
        policy_band_t *band = &p->bands[i];
        if (expect(c, b, YAMLTREE_MAP, "band") != 0 ||
            yamltree_check_keys(&c->t, b, band_keys, "a band") != 0)
            return -1;
        band->line = b->line;
        if (!(name = yamltree_get(b, "name")))
            return yamltree_fail(&c->t, b, "this band has no `name:`");
        if (get_name(c, name, "name", band->name, sizeof band->name) != 0)
            return -1;
        from = yamltree_get(b, "from");
        above = yamltree_get(b, "above");
        if (!from == !above)
            return yamltree_fail(
                &c->t, b,
                "band \"%s\" needs exactly one of `from:` (this percentage and above) "
                "and `above:` (above this percentage)",
                band->name);
        band->above = above != NULL;
        if (get_pct(c, above ? above : from, above ? "above" : "from", &band->min_pct) != 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            const policy_band_t *hi = &p->bands[j];
            if (strcmp(hi->name, band->name) == 0)
                return yamltree_fail(&c->t, name,
                                     "band name \"%s\" is used twice (first on line %u)",
                                     band->name, hi->line);
        }
        if (i > 0) {
            const policy_band_t *hi = &p->bands[i - 1];
            int lower_ok = band->min_pct < hi->min_pct ||
                           (band->min_pct == hi->min_pct && hi->above && !band->above);
            if (!lower_ok)
                return yamltree_fail(
                    &c->t, above ? above : from,
                    "bands must be listed highest first: band \"%s\" (%g) is not below "
                    "band \"%s\" (%g) on line %u",
                    band->name, band->min_pct, hi->name, hi->min_pct, hi->line);
        }
    }
    p->nbands = n->nkids;
    const policy_band_t *last = &p->bands[p->nbands - 1];
    if (last->min_pct != 0.0 || last->above)
        return yamltree_fail(
            &c->t, n->kids[p->nbands - 1],
            "the last band (\"%s\") must be `from: 0`, so that every pupil is in a band",
            last->name);
    return 0;
}

/* ---- alerts ---- */

static const char *const alert_keys[] = {"first_day",
                                         "home_visit",
                                         "children_missing_education",
                                         "unresolved_n",
                                         "illness",
                                         "deletion_candidate",
                                         "penalty_threshold",
                                         "severe_absence",
                                         "social_worker",
                                         NULL};

/* alert_switch reads an alert written as true/false; returns 1 when it was
 * (with *on set), 0 when it is a map to read, -1 on error. */
static int alert_switch(ctx_t *c, const yamltree_node_t *v, const char *what, int *on)
{
    if (v->kind != YAMLTREE_SCALAR)
        return expect(c, v, YAMLTREE_MAP, what);
    return get_bool(c, v, what, on) == 0 ? 1 : -1;
}

/* alert_days reads an alert of the form `{days: N}`, true (national) or false. */
static int alert_days(ctx_t *c, const yamltree_node_t *v, const char *what, unsigned national,
                      const char *const *keys, unsigned *days)
{
    int on = 0, r = alert_switch(c, v, what, &on);
    if (r < 0)
        return -1;
    if (r == 1) {
        *days = on ? national : 0;
        return 0;
    }
    char where[WHERE_MAX];
    snprintf(where, sizeof where, "`%s`", what);
    if (yamltree_check_keys(&c->t, v, keys, where) != 0)
        return -1;
    const yamltree_node_t *d = yamltree_get(v, "days");
    *days = national;
    return d ? get_uint(c, d, "days", 1, 200, days) : 0;
}

static int parse_first_day(ctx_t *c, const yamltree_node_t *v, policy_alerts_t *a)
{
    static const char *const keys[] = {"at", "template", NULL};
    int on = 0, r = alert_switch(c, v, "first_day", &on);
    if (r < 0)
        return -1;
    a->first_day_minute = NATIONAL_FIRST_DAY_MINUTE;
    snprintf(a->first_day_template, sizeof a->first_day_template, "%s", "first_day_absence");
    if (r == 1) {
        a->first_day = on;
        return 0;
    }
    if (yamltree_check_keys(&c->t, v, keys, "`first_day`") != 0)
        return -1;
    const yamltree_node_t *at = yamltree_get(v, "at"), *t = yamltree_get(v, "template");
    a->first_day = 1;
    if (at && get_time(c, at, "at", &a->first_day_minute) != 0)
        return -1;
    if (t && get_name(c, t, "template", a->first_day_template, sizeof a->first_day_template) != 0)
        return -1;
    return 0;
}

static int parse_home_visit(ctx_t *c, const yamltree_node_t *v, policy_alerts_t *a)
{
    static const char *const keys[] = {"days", NULL};
    int on = 0, r = alert_switch(c, v, "home_visit", &on);
    if (r < 0)
        return -1;
    if (r == 1) {
        if (on)
            return yamltree_fail(&c->t, v,
                                 "`home_visit` has no national days; write the school's, such as "
                                 "`home_visit: {days: [2, 4]}`");
        return 0;
    }
    if (yamltree_check_keys(&c->t, v, keys, "`home_visit`") != 0)
        return -1;
    const yamltree_node_t *d = yamltree_get(v, "days");
    if (!d)
        return yamltree_fail(&c->t, v, "`home_visit` needs `days:`, such as [2, 4]");
    if (d->kind == YAMLTREE_SCALAR && !yamltree_is_null(d)) {
        a->nhome_visit_days = 1;
        return get_uint(c, d, "days", 1, 200, &a->home_visit_days[0]);
    }
    if (expect(c, d, YAMLTREE_SEQ, "days") != 0)
        return -1;
    if (d->nkids == 0 || d->nkids > POLICY_MAX_DAYS)
        return yamltree_fail(&c->t, d, "`days` should list from 1 to %d days", POLICY_MAX_DAYS);
    for (size_t i = 0; i < d->nkids; i++) {
        if (get_uint(c, d->kids[i], "days", 1, 200, &a->home_visit_days[i]) != 0)
            return -1;
        if (i > 0 && a->home_visit_days[i] <= a->home_visit_days[i - 1])
            return yamltree_fail(&c->t, d->kids[i],
                                 "home-visit days must go up, each later than the one "
                                 "before (such as [2, 4])");
    }
    a->nhome_visit_days = d->nkids;
    return 0;
}

static int parse_deletion(ctx_t *c, const yamltree_node_t *v, policy_alerts_t *a)
{
    static const char *const keys[] = {"days", "codes", NULL};
    a->deletion_codes = CODE_BIT(CODE_G) | CODE_BIT(CODE_N) | CODE_BIT(CODE_O);
    if (alert_days(c, v, "deletion_candidate", NATIONAL_DELETION_DAYS, keys, &a->deletion_days) !=
        0)
        return -1;
    const yamltree_node_t *codes = v->kind == YAMLTREE_MAP ? yamltree_get(v, "codes") : NULL;
    return codes ? get_codes(c, codes, "codes", &a->deletion_codes) : 0;
}

static int parse_penalty(ctx_t *c, const yamltree_node_t *v, policy_alerts_t *a)
{
    static const char *const keys[] = {"codes", "weeks", "sessions", NULL};
    int on = 0, r = alert_switch(c, v, "penalty_threshold", &on);
    if (r < 0)
        return -1;
    a->penalty_codes = CODE_SET_UNAUTHORISED;
    a->penalty_weeks = NATIONAL_PENALTY_WEEKS;
    a->penalty_sessions = NATIONAL_PENALTY_SESSIONS;
    if (r == 1) {
        a->penalty = on;
        return 0;
    }
    if (yamltree_check_keys(&c->t, v, keys, "`penalty_threshold`") != 0)
        return -1;
    const yamltree_node_t *x;
    a->penalty = 1;
    if ((x = yamltree_get(v, "codes")) && get_codes(c, x, "codes", &a->penalty_codes) != 0)
        return -1;
    if ((x = yamltree_get(v, "weeks")) && get_uint(c, x, "weeks", 1, 52, &a->penalty_weeks) != 0)
        return -1;
    if ((x = yamltree_get(v, "sessions")) &&
        get_uint(c, x, "sessions", 1, 1000, &a->penalty_sessions) != 0)
        return -1;
    return 0;
}

static int parse_alerts(ctx_t *c, const yamltree_node_t *n)
{
    static const char *const days_only[] = {"days", NULL};
    policy_alerts_t *a = &c->p->alerts;
    const yamltree_node_t *v;
    if (yamltree_is_null(n))
        return 0;
    if (expect(c, n, YAMLTREE_MAP, "alerts") != 0 ||
        yamltree_check_keys(&c->t, n, alert_keys, "`alerts`") != 0)
        return -1;
    if ((v = yamltree_get(n, "first_day")) && parse_first_day(c, v, a) != 0)
        return -1;
    if ((v = yamltree_get(n, "home_visit")) && parse_home_visit(c, v, a) != 0)
        return -1;
    if ((v = yamltree_get(n, "children_missing_education")) &&
        alert_days(c, v, "children_missing_education", NATIONAL_CME_DAYS, days_only,
                   &a->cme_days) != 0)
        return -1;
    if ((v = yamltree_get(n, "unresolved_n")) &&
        alert_days(c, v, "unresolved_n", NATIONAL_UNRESOLVED_DAYS, days_only,
                   &a->n_unresolved_days) != 0)
        return -1;
    if ((v = yamltree_get(n, "illness")) &&
        alert_days(c, v, "illness", NATIONAL_ILLNESS_DAYS, days_only, &a->illness_days) != 0)
        return -1;
    if ((v = yamltree_get(n, "deletion_candidate")) && parse_deletion(c, v, a) != 0)
        return -1;
    if ((v = yamltree_get(n, "penalty_threshold")) && parse_penalty(c, v, a) != 0)
        return -1;
    if ((v = yamltree_get(n, "severe_absence")) &&
        get_bool(c, v, "severe_absence", &a->severe_absence))
        return -1;
    if ((v = yamltree_get(n, "social_worker")) &&
        get_bool(c, v, "social_worker", &a->social_worker))
        return -1;
    return 0;
}

/* ---- the policy ---- */

static const char *const top_keys[] = {"policy", "title",  "source",
                                       "target", "bands",  "min_possible_sessions",
                                       "alerts", "tracks", NULL};

/* get_policy_name holds the name to the schools.csv rule (records.c):
 * letters, digits, '_', '-' and '.', not starting with '.'. */
static int get_policy_name(ctx_t *c, const yamltree_node_t *n)
{
    yamltree_shown_t sh;
    if (need_scalar(c, n, "policy") != 0)
        return -1;
    if (n->len > POLICY_NAME_MAX)
        return yamltree_fail(&c->t, n, "`policy` is longer than %d characters", POLICY_NAME_MAX);
    for (size_t i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->text[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || (ch == '.' && i > 0)))
            return yamltree_fail(
                &c->t, n,
                "`policy` \"%s\" may hold only letters, digits, '_', '-' and '.', as in "
                "schools.csv's policy column (such as 002_lowther)",
                yamltree_show_node(&sh, n));
    }
    memcpy(c->p->name, n->text, n->len);
    c->p->name[n->len] = '\0';
    return 0;
}

static int parse_policy(ctx_t *c, const yamltree_node_t *root)
{
    policy_t *p = c->p;
    const yamltree_node_t *v;
    if (yamltree_check_keys(&c->t, root, top_keys, "the policy") != 0)
        return -1;
    if (!(v = yamltree_get(root, "policy")))
        return yamltree_fail(&c->t, root,
                             "the policy has no `policy:` line naming it (as in schools.csv)");
    if (get_policy_name(c, v) != 0)
        return -1;
    if ((v = yamltree_get(root, "title")) &&
        get_text(c, v, "title", p->title, sizeof p->title) != 0)
        return -1;
    if ((v = yamltree_get(root, "source")) &&
        get_text(c, v, "source", p->source, sizeof p->source) != 0)
        return -1;
    if ((v = yamltree_get(root, "target"))) {
        if (get_pct(c, v, "target", &p->target_pct) != 0)
            return -1;
        if (p->target_pct <= 0.0)
            return yamltree_fail(&c->t, v, "`target` must be above 0");
    }
    p->min_possible_sessions = DEFAULT_MIN_POSSIBLE;
    if ((v = yamltree_get(root, "min_possible_sessions")) &&
        get_uint(c, v, "min_possible_sessions", 0, 400, &p->min_possible_sessions) != 0)
        return -1;
    if (!(v = yamltree_get(root, "bands")))
        return yamltree_fail(&c->t, root, "the policy has no `bands:` (such as green, amber, red)");
    if (parse_bands(c, v) != 0)
        return -1;
    if ((v = yamltree_get(root, "alerts")) && parse_alerts(c, v) != 0)
        return -1;
    if (!(v = yamltree_get(root, "tracks")))
        return yamltree_fail(&c->t, root,
                             "the policy has no `tracks:`; it needs at least one, such as absence");
    return parse_tracks(c, v);
}

rc_err_t policy_load(const char *yaml, size_t len, const char *filename, policy_t **out,
                     char err[POLICY_ERR_MAX])
{
    char scratch[POLICY_ERR_MAX];
    ctx_t c = {.t = {.file = filename ? filename : "policy",
                     .src = yaml ? yaml : "",
                     .srclen = len,
                     .err = err ? err : scratch,
                     .errmax = POLICY_ERR_MAX,
                     .words = &policy_words}};
    yamltree_node_t *root = NULL;

    c.t.err[0] = '\0';
    if (out)
        *out = NULL;
    if (!out || (!yaml && len > 0)) {
        yamltree_fail_at(&c.t, RC_EINVAL, 1, 1,
                         "policy_load: no text to read or no place to put the policy");
        return c.t.rc;
    }
    if (len > POLICY_MAX_BYTES) {
        yamltree_fail_at(&c.t, RC_ETOOBIG, 1, 1,
                         "the file is %zu bytes; a policy file may be at most %d bytes", len,
                         POLICY_MAX_BYTES);
        return c.t.rc;
    }
    if (!(c.p = calloc(1, sizeof *c.p))) {
        yamltree_fail_at(&c.t, RC_ENOMEM, 1, 1, "out of memory");
        return c.t.rc;
    }
    if (yamltree_load(&c.t, &root) != 0)
        goto out;
    if (!root || yamltree_is_null(root)) {
        yamltree_fail_at(
            &c.t, RC_EINVAL, 1, 1,
            "the file is empty; a policy starts with a line such as `policy: 004_hcat`");
        goto out;
    }
    if (root->kind != YAMLTREE_MAP) {
        yamltree_fail(
            &c.t, root,
            "a policy file is a set of `key: value` lines starting with `policy:`, but this "
            "file holds %s",
            yamltree_kind_text(root));
        goto out;
    }
    parse_policy(&c, root);
out:
    yamltree_free(&c.t);
    if (c.t.rc != RC_OK) {
        free(c.p);
        return c.t.rc;
    }
    *out = c.p;
    return RC_OK;
}

rc_err_t policy_load_file(const char *path, policy_t **out, char err[POLICY_ERR_MAX])
{
    char scratch[POLICY_ERR_MAX];
    char *buf = NULL;
    size_t len = 0;
    rc_err_t rc = RC_OK;
    FILE *f = NULL;

    if (!err)
        err = scratch;
    err[0] = '\0';
    if (!out || !path) {
        snprintf(err, POLICY_ERR_MAX, "policy_load_file: no path or no place to put the policy");
        return RC_EINVAL;
    }
    *out = NULL;
    if (!(f = fopen(path, "rb"))) {
        snprintf(err, POLICY_ERR_MAX, "%s: cannot open the policy file: %s", path, strerror(errno));
        return RC_EIO;
    }
    /* One byte more than allowed tells a file at the limit from one over it. */
    if (!(buf = malloc((size_t)POLICY_MAX_BYTES + 1))) {
        snprintf(err, POLICY_ERR_MAX, "%s: out of memory", path);
        rc = RC_ENOMEM;
        goto out;
    }
    len = fread(buf, 1, (size_t)POLICY_MAX_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(err, POLICY_ERR_MAX, "%s: cannot read the policy file: %s", path, strerror(errno));
        rc = RC_EIO;
        goto out;
    }
    if (len > POLICY_MAX_BYTES) {
        snprintf(err, POLICY_ERR_MAX, "%s: the file is larger than %d bytes; is it a policy?", path,
                 POLICY_MAX_BYTES);
        rc = RC_ETOOBIG;
        goto out;
    }
    rc = policy_load(buf, len, path, out, err);
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

void policy_destroy(policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

const policy_band_t *policy_band(const policy_t *p, double pct)
{
    if (!p || p->nbands == 0)
        return NULL;
    for (size_t i = 0; i < p->nbands; i++) {
        const policy_band_t *b = &p->bands[i];
        /* A tolerance so that 90 computed as 100.0 * 171 / 190 still counts as 90. */
        if (b->above ? pct > b->min_pct + PCT_EPSILON : pct >= b->min_pct - PCT_EPSILON)
            return b;
    }
    return &p->bands[p->nbands - 1]; /* below 0 or not a number: the lowest band */
}

const policy_track_t *policy_track(const policy_t *p, const char *id)
{
    if (!p || !id)
        return NULL;
    for (size_t i = 0; i < p->ntracks; i++)
        if (strcmp(p->tracks[i].id, id) == 0)
            return &p->tracks[i];
    return NULL;
}
