/* reports_query.c - paths to endpoints, and query strings to checked
 * list parameters. */
#include "reports/reports_query.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 6

/* segments splits url ("/a/b/c") into at most MAX_SEGMENTS parts; returns
 * how many, or 0 when there are more or one is empty. */
static size_t segments(const char *url, const char *seg[MAX_SEGMENTS], size_t len[MAX_SEGMENTS])
{
    size_t n = 0;
    if (url[0] != '/')
        return 0;
    for (const char *p = url + 1;; n++) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (n == MAX_SEGMENTS || l == 0)
            return 0;
        seg[n] = p;
        len[n] = l;
        if (!slash)
            return n + 1;
        p = slash + 1;
    }
}

static int is(const char *seg, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(seg, word, len) == 0;
}

static void copy(char *out, size_t cap, const char *seg, size_t len)
{
    snprintf(out, cap, "%.*s", (int)(len >= cap ? cap - 1 : len), seg);
}

int reports_route_parse(const char *url, reports_route_t *out)
{
    static const struct {
        const char *scope, *leaf;
        reports_route_kind_t kind;
    } routes[] = {{"schools", "summary", ROUTE_SUMMARY},
                  {"schools", "pupils", ROUTE_PUPILS},
                  {"schools", "first-day-absences", ROUTE_FIRST_DAY},
                  {"schools", "reviews", ROUTE_REVIEWS},
                  {"schools", "letters", ROUTE_LETTERS},
                  {"schools", "referrals", ROUTE_REFERRALS},
                  {"trusts", "summary", ROUTE_TRUST_SUMMARY},
                  {"la", "summary", ROUTE_LA_SUMMARY},
                  {"la", "referrals", ROUTE_LA_REFERRALS}};
    const char *seg[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS], n = segments(url, seg, len);
    memset(out, 0, sizeof *out);
    if (n == 1 && is(seg[0], len[0], "healthz"))
        return out->kind = ROUTE_HEALTH;
    if (n < 4 || !is(seg[0], len[0], "v1"))
        return 0;
    copy(out->id, sizeof out->id, seg[2], len[2]);
    if (n == 5 && is(seg[1], len[1], "schools") && is(seg[3], len[3], "pupils")) {
        copy(out->upn, sizeof out->upn, seg[4], len[4]);
        return out->kind = ROUTE_PUPIL;
    }
    for (size_t i = 0; n == 4 && i < sizeof routes / sizeof routes[0]; i++)
        if (is(seg[1], len[1], routes[i].scope) && is(seg[3], len[3], routes[i].leaf))
            return out->kind = routes[i].kind;
    return 0;
}

int reports_route_is_list(reports_route_kind_t kind)
{
    return kind == ROUTE_PUPILS || kind == ROUTE_FIRST_DAY || kind == ROUTE_REVIEWS ||
           kind == ROUTE_LETTERS || kind == ROUTE_REFERRALS || kind == ROUTE_LA_REFERRALS;
}

int reports_route_is_school(reports_route_kind_t kind)
{
    return kind >= ROUTE_PUPIL && kind <= ROUTE_REFERRALS;
}

int reports_trust_id_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > REPORTS_SCOPE_ID)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len;
}

/* ---- parameters ---- */

typedef struct {
    reports_route_kind_t kind;
    reports_query_t *q;
    int *csv, limit_given, offset_given;
    char *next;
    size_t next_len;
    char *why;
    char seen[256]; /* the names taken so far, " name " each */
} parse_t;

/* The names each endpoint takes, besides limit, offset and format. */
static const char *takes(reports_route_kind_t kind)
{
    switch (kind) {
    case ROUTE_PUPILS:
        return " stage band pa sa year cohort ";
    case ROUTE_FIRST_DAY:
        return " date ";
    case ROUTE_REVIEWS:
        return " within_days ";
    case ROUTE_LETTERS:
        return " since ";
    case ROUTE_REFERRALS:
        return " kind since ";
    case ROUTE_LA_REFERRALS:
        return " kind since urn ";
    default:
        return NULL;
    }
}

/* number reads all of s as an integer in [lo, hi]. */
static int number(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || errno || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* name_ok: a band, track, stage (policy ids): [A-Za-z0-9_.-], 1 to max bytes. */
static int name_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]))
            return 0;
    return 1;
}

/* fail writes the 400 message. The name and value are the client's bytes,
 * cut at a byte count: anything but printable ASCII becomes '?' so the
 * message is always valid UTF-8 (jansson refuses other strings, and the
 * answer would have been a 503). */
static int fail(parse_t *p, const char *name, const char *value, const char *problem)
{
    snprintf(p->why, REPORTS_WHY_MAX, "%s%s%.40s%s: %s", name, value ? "=" : "", value ? value : "",
             value && strlen(value) > 40 ? "..." : "", problem);
    for (unsigned char *s = (unsigned char *)p->why; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            *s = '?';
    return 1;
}

/* append_next adds name=value, %-encoded, to the next page's query. */
static void append_next(parse_t *p, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[REPORTS_QUERY_TEXT];
    size_t n = 0;
    for (const unsigned char *s = (const unsigned char *)value; *s && n + 4 < sizeof buf; s++) {
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~:", *s) &&
            *s) {
            buf[n++] = (char)*s;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*s >> 4];
            buf[n++] = hex[*s & 15];
        }
    }
    buf[n] = '\0';
    size_t used = strlen(p->next);
    snprintf(p->next + used, p->next_len - used, "%s%s=%s", used ? "&" : "", name, buf);
}

/* page_arg takes limit, offset and format. 0 when name is none of them. */
static int page_arg(parse_t *p, const char *name, const char *value, int *bad)
{
    long v = 0;
    *bad = 0;
    if (strcmp(name, "limit") == 0) {
        if (!number(value, 1, REPORTS_LIMIT_MAX, &v))
            *bad = fail(p, name, value, "must be a whole number from 1 to 1000");
        p->q->limit = (size_t)v;
        p->limit_given = 1;
    } else if (strcmp(name, "offset") == 0) {
        if (!number(value, 0, 1000000000L, &v))
            *bad = fail(p, name, value, "must be a whole number, 0 or more");
        p->q->offset = (size_t)v;
        p->offset_given = 1;
    } else if (strcmp(name, "format") == 0) {
        if (strcmp(value, "csv") != 0 && strcmp(value, "json") != 0)
            *bad = fail(p, name, value, "must be json or csv");
        *p->csv = strcmp(value, "csv") == 0;
    } else {
        return 0;
    }
    return 1;
}

/* pupil_arg takes the pupil list's filters. */
static int pupil_arg(parse_t *p, const char *name, const char *value)
{
    static const char *const cohorts[] = {"sen", "fsm", "eal", "cla", "social_worker"};
    reports_query_t *q = p->q;
    long v = 0;
    if (strcmp(name, "stage") == 0) {
        const char *colon = strchr(value, ':');
        if (!colon || !name_ok(value, (size_t)(colon - value), REPORTS_NAME_MAX) ||
            !name_ok(colon + 1, strlen(colon + 1), REPORTS_NAME_MAX))
            return fail(p, name, value, "must be <track>:<stage> (letters, digits, _ . -)");
        snprintf(q->stage, sizeof q->stage, "%s", value);
    } else if (strcmp(name, "band") == 0) {
        if (!name_ok(value, strlen(value), REPORTS_NAME_MAX))
            return fail(p, name, value, "must be a band name of the school's policy");
        snprintf(q->band, sizeof q->band, "%s", value);
    } else if (strcmp(name, "pa") == 0 || strcmp(name, "sa") == 0) {
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
            return fail(p, name, value, "must be 1 (only those pupils) or 0 (no filter)");
        *(name[0] == 'p' ? &q->pa : &q->sa) = value[0] == '1';
    } else if (strcmp(name, "year") == 0) {
        if (!number(value, -2, 14, &v))
            return fail(p, name, value, "must be a year group from -2 to 14");
        q->has_year = 1;
        q->year = (int)v;
    } else {
        for (size_t i = 0; i < sizeof cohorts / sizeof cohorts[0]; i++)
            if (strcmp(value, cohorts[i]) == 0) {
                snprintf(q->cohort, sizeof q->cohort, "%s", value);
                return 0;
            }
        return fail(p, name, value, "must be sen, fsm, eal, cla or social_worker");
    }
    return 0;
}

/* date_arg reads a YYYY-MM-DD value. */
static int date_arg(parse_t *p, const char *name, const char *value, rc_date_t *out)
{
    if (date_parse(value, strlen(value), out) != RC_OK)
        return fail(p, name, value, "must be a date YYYY-MM-DD");
    return 0;
}

/* event_arg takes the other lists' parameters. */
static int event_arg(parse_t *p, const char *name, const char *value)
{
    reports_query_t *q = p->q;
    const char *why;
    long v = 0;
    if (strcmp(name, "date") == 0)
        return date_arg(p, name, value, &q->date);
    if (strcmp(name, "since") == 0)
        return date_arg(p, name, value, &q->since);
    if (strcmp(name, "within_days") == 0) {
        if (!number(value, 0, 366, &v))
            return fail(p, name, value, "must be a whole number of days from 0 to 366");
        q->within_days = (int)v;
        return 0;
    }
    if (strcmp(name, "urn") == 0) {
        if (urn_check(value, strlen(value), &why) != RC_OK)
            return fail(p, name, value, "must be a URN of 6 digits");
        snprintf(q->urn, sizeof q->urn, "%s", value);
        return 0;
    }
    for (int k = REFERRAL_NONE + 1; k < REFERRAL__COUNT; k++)
        if (strcmp(value, referral_kind_name((referral_kind_t)k)) == 0) {
            q->kind = (referral_kind_t)k;
            return 0;
        }
    return fail(p, name, value,
                "must be cme, penalty_threshold, severe_absence, illness_15_days, "
                "deletion_candidate or stage_referral");
}

static int on_arg(void *ctx, const char *name, const char *value)
{
    parse_t *p = ctx;
    const char *names = takes(p->kind);
    char padded[40];
    int bad;
    snprintf(padded, sizeof padded, " %.32s ", name);
    if (!reports_route_is_list(p->kind) || (!strstr(names, padded) && strcmp(name, "limit") &&
                                            strcmp(name, "offset") && strcmp(name, "format")))
        return fail(p, name, NULL, "this endpoint takes no such parameter");
    if (!value || !value[0])
        return fail(p, name, NULL, "needs a value");
    if (strstr(p->seen, padded))
        return fail(p, name, NULL, "is given twice: give it once");
    if (strlen(p->seen) + strlen(padded) < sizeof p->seen)
        strcat(p->seen, padded + (p->seen[0] != '\0')); /* " a " then "b " ... */
    if (page_arg(p, name, value, &bad))
        return bad;
    append_next(p, name, value);
    return p->kind == ROUTE_PUPILS ? pupil_arg(p, name, value) : event_arg(p, name, value);
}

rc_err_t reports_query_parse(const http_request_t *req, reports_route_kind_t kind,
                             reports_query_t *q, int *csv, char next_query[REPORTS_QUERY_TEXT],
                             char why[REPORTS_WHY_MAX])
{
    parse_t p = {.kind = kind,
                 .q = q,
                 .csv = csv,
                 .next = next_query,
                 .next_len = REPORTS_QUERY_TEXT,
                 .why = why};
    memset(q, 0, sizeof *q);
    q->limit = REPORTS_LIMIT_DEFAULT;
    q->within_days = 7;
    q->date = q->since = RC_DATE_NONE;
    q->kind = REFERRAL_NONE;
    *csv = 0;
    next_query[0] = '\0';
    why[0] = '\0';
    if (http_request_each_arg(req, on_arg, &p))
        return RC_EINVAL;
    /* A CSV is every row unless a page is asked for. */
    if (*csv && !p.limit_given && !p.offset_given)
        q->limit = SIZE_MAX;
    if (*csv)
        append_next(&p, "format", "csv");
    return RC_OK;
}
