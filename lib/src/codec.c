/* codec.c - wire_msg_t <-> protobuf Envelope, with every field checked both ways. */
#include "rollcall/codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall.pb-c.h"

/* Domain enums are converted to and from the generated ones by value, so the
 * numbers must agree one for one. */
#define SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " must equal " #b)
SAME(STAFF_ATTENDANCE_OFFICER, ROLLCALL__STAFF_ROLE__STAFF_ROLE_ATTENDANCE_OFFICER);
SAME(STAFF_ATTENDANCE_LEAD, ROLLCALL__STAFF_ROLE__STAFF_ROLE_ATTENDANCE_LEAD);
SAME(STAFF_CLASS_TEACHER, ROLLCALL__STAFF_ROLE__STAFF_ROLE_CLASS_TEACHER);
SAME(STAFF_HEAD_OF_YEAR, ROLLCALL__STAFF_ROLE__STAFF_ROLE_HEAD_OF_YEAR);
SAME(STAFF_HEADTEACHER, ROLLCALL__STAFF_ROLE__STAFF_ROLE_HEADTEACHER);
SAME(STAFF_DSL, ROLLCALL__STAFF_ROLE__STAFF_ROLE_DSL);
SAME(STAFF_SENCO, ROLLCALL__STAFF_ROLE__STAFF_ROLE_SENCO);
SAME(STAFF_EWO, ROLLCALL__STAFF_ROLE__STAFF_ROLE_EDUCATION_WELFARE_OFFICER);
SAME(STAFF_EARLY_HELP, ROLLCALL__STAFF_ROLE__STAFF_ROLE_EARLY_HELP);
SAME(STAFF_OFFICE, ROLLCALL__STAFF_ROLE__STAFF_ROLE_OFFICE);
SAME(STAFF__COUNT, STAFF_OFFICE + 1);
SAME(FACT_MEETING_HELD, ROLLCALL__CASE_FACT_KIND__CASE_FACT_MEETING_HELD);
SAME(FACT_MEETING_MISSED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_MEETING_MISSED);
SAME(FACT_PARENT_ENGAGED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_PARENT_ENGAGED);
SAME(FACT_PARENT_DID_NOT_ENGAGE, ROLLCALL__CASE_FACT_KIND__CASE_FACT_PARENT_DID_NOT_ENGAGE);
SAME(FACT_CONTACT_MADE, ROLLCALL__CASE_FACT_KIND__CASE_FACT_CONTACT_MADE);
SAME(FACT_HOME_VISIT_MADE, ROLLCALL__CASE_FACT_KIND__CASE_FACT_HOME_VISIT_MADE);
SAME(FACT_CONTRACT_AGREED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_CONTRACT_AGREED);
SAME(FACT_CONTRACT_BROKEN, ROLLCALL__CASE_FACT_KIND__CASE_FACT_CONTRACT_BROKEN);
SAME(FACT_EARLY_HELP_OFFERED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_EARLY_HELP_OFFERED);
SAME(FACT_MEDICAL_EVIDENCE_RECEIVED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_MEDICAL_EVIDENCE_RECEIVED);
SAME(FACT_SAFEGUARDING_CONCERN, ROLLCALL__CASE_FACT_KIND__CASE_FACT_SAFEGUARDING_CONCERN);
SAME(FACT_PENALTY_NOTICE_ISSUED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_PENALTY_NOTICE_ISSUED);
SAME(FACT_LEGAL_ACTION_STARTED, ROLLCALL__CASE_FACT_KIND__CASE_FACT_LEGAL_ACTION_STARTED);
SAME(FACT__COUNT, FACT_LEGAL_ACTION_STARTED + 1);
SAME(REFDATA_SCHOOL, ROLLCALL__REF_KIND__REF_KIND_SCHOOL);
SAME(REFDATA_CALENDAR, ROLLCALL__REF_KIND__REF_KIND_CALENDAR);
SAME(REFDATA_PUPIL, ROLLCALL__REF_KIND__REF_KIND_PUPIL);
SAME(REFDATA_CONTACT, ROLLCALL__REF_KIND__REF_KIND_CONTACT);
SAME(REFDATA__COUNT, REFDATA_CONTACT + 1);
SAME(EVENT_STAGE_CHANGE, ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_STAGE_CHANGE);
SAME(EVENT_ALERT, ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_ALERT);
SAME(EVENT_REFERRAL, ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_REFERRAL);
SAME(EVENT_REVIEW, ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_REVIEW);
SAME(EVENT__COUNT, EVENT_REVIEW + 1);
SAME(ALERT_FIRST_DAY_ABSENCE, ROLLCALL__ALERT_KIND__ALERT_FIRST_DAY_ABSENCE);
SAME(ALERT_HOME_VISIT_DUE, ROLLCALL__ALERT_KIND__ALERT_HOME_VISIT_DUE);
SAME(ALERT_N_UNRESOLVED_5_DAYS, ROLLCALL__ALERT_KIND__ALERT_N_UNRESOLVED_5_DAYS);
SAME(ALERT_SOCIAL_WORKER_NOTIFY, ROLLCALL__ALERT_KIND__ALERT_SOCIAL_WORKER_NOTIFY);
SAME(ALERT__COUNT, ALERT_SOCIAL_WORKER_NOTIFY + 1);
SAME(REFERRAL_CME, ROLLCALL__REFERRAL_KIND__REFERRAL_CME);
SAME(REFERRAL_PENALTY_THRESHOLD, ROLLCALL__REFERRAL_KIND__REFERRAL_PENALTY_THRESHOLD);
SAME(REFERRAL_SEVERE_ABSENCE, ROLLCALL__REFERRAL_KIND__REFERRAL_SEVERE_ABSENCE);
SAME(REFERRAL_ILLNESS_15_DAYS, ROLLCALL__REFERRAL_KIND__REFERRAL_ILLNESS_15_DAYS);
SAME(REFERRAL_DELETION_CANDIDATE, ROLLCALL__REFERRAL_KIND__REFERRAL_DELETION_CANDIDATE);
SAME(REFERRAL_STAGE, ROLLCALL__REFERRAL_KIND__REFERRAL_STAGE);
SAME(REFERRAL__COUNT, REFERRAL_STAGE + 1);
SAME(CHANNEL_SMS, ROLLCALL__CHANNEL__CHANNEL_SMS);
SAME(CHANNEL_EMAIL, ROLLCALL__CHANNEL__CHANNEL_EMAIL);
SAME(CHANNEL_LETTER, ROLLCALL__CHANNEL__CHANNEL_LETTER);
SAME(CHANNEL__COUNT, CHANNEL_LETTER + 1);
SAME(DELIVERY_PENDING, ROLLCALL__DELIVERY_STATUS__DELIVERY_PENDING);
SAME(DELIVERY_SENT, ROLLCALL__DELIVERY_STATUS__DELIVERY_SENT);
SAME(DELIVERY_DELIVERED, ROLLCALL__DELIVERY_STATUS__DELIVERY_DELIVERED);
SAME(DELIVERY_FAILED_PERMANENT, ROLLCALL__DELIVERY_STATUS__DELIVERY_FAILED_PERMANENT);
SAME(DELIVERY_FAILED_TEMPORARY, ROLLCALL__DELIVERY_STATUS__DELIVERY_FAILED_TEMPORARY);
SAME(DELIVERY__COUNT, DELIVERY_FAILED_TEMPORARY + 1);

/* ---- names ---- */

/* Names by value; designated, so a reordered enum cannot shift them. */
static const char *const wire_kind_names[WIRE__COUNT] = {
    [WIRE_NONE] = "none",           [WIRE_MARK] = "mark",       [WIRE_TICK] = "tick",
    [WIRE_CASE_FACT] = "case_fact", [WIRE_REFDATA] = "refdata", [WIRE_PUPIL_EVENT] = "pupil_event",
    [WIRE_OUTCOME] = "outcome",
};
static const char *const staff_role_names[STAFF__COUNT] = {
    [STAFF_NONE] = "none",
    [STAFF_ATTENDANCE_OFFICER] = "attendance_officer",
    [STAFF_ATTENDANCE_LEAD] = "attendance_lead",
    [STAFF_CLASS_TEACHER] = "class_teacher",
    [STAFF_HEAD_OF_YEAR] = "head_of_year",
    [STAFF_HEADTEACHER] = "headteacher",
    [STAFF_DSL] = "dsl",
    [STAFF_SENCO] = "senco",
    [STAFF_EWO] = "ewo",
    [STAFF_EARLY_HELP] = "early_help",
    [STAFF_OFFICE] = "office",
};
static const char *const fact_kind_names[FACT__COUNT] = {
    [FACT_NONE] = "none",
    [FACT_MEETING_HELD] = "meeting_held",
    [FACT_MEETING_MISSED] = "meeting_missed",
    [FACT_PARENT_ENGAGED] = "parent_engaged",
    [FACT_PARENT_DID_NOT_ENGAGE] = "parent_did_not_engage",
    [FACT_CONTACT_MADE] = "contact_made",
    [FACT_HOME_VISIT_MADE] = "home_visit_made",
    [FACT_CONTRACT_AGREED] = "contract_agreed",
    [FACT_CONTRACT_BROKEN] = "contract_broken",
    [FACT_EARLY_HELP_OFFERED] = "early_help_offered",
    [FACT_MEDICAL_EVIDENCE_RECEIVED] = "medical_evidence_received",
    [FACT_SAFEGUARDING_CONCERN] = "safeguarding_concern",
    [FACT_PENALTY_NOTICE_ISSUED] = "penalty_notice_issued",
    [FACT_LEGAL_ACTION_STARTED] = "legal_action_started",
};
static const char *const refdata_kind_names[REFDATA__COUNT] = {
    [REFDATA_NONE] = "none",   [REFDATA_SCHOOL] = "school",   [REFDATA_CALENDAR] = "calendar",
    [REFDATA_PUPIL] = "pupil", [REFDATA_CONTACT] = "contact",
};
static const char *const event_kind_names[EVENT__COUNT] = {
    [EVENT_NONE] = "none",     [EVENT_STAGE_CHANGE] = "stage_change",
    [EVENT_ALERT] = "alert",   [EVENT_REFERRAL] = "referral",
    [EVENT_REVIEW] = "review",
};
static const char *const alert_kind_names[ALERT__COUNT] = {
    [ALERT_NONE] = "none",
    [ALERT_FIRST_DAY_ABSENCE] = "first_day_absence",
    [ALERT_HOME_VISIT_DUE] = "home_visit_due",
    [ALERT_N_UNRESOLVED_5_DAYS] = "n_unresolved_5_days",
    [ALERT_SOCIAL_WORKER_NOTIFY] = "social_worker_notify",
};
static const char *const referral_kind_names[REFERRAL__COUNT] = {
    [REFERRAL_NONE] = "none",
    [REFERRAL_CME] = "cme",
    [REFERRAL_PENALTY_THRESHOLD] = "penalty_threshold",
    [REFERRAL_SEVERE_ABSENCE] = "severe_absence",
    [REFERRAL_ILLNESS_15_DAYS] = "illness_15_days",
    [REFERRAL_DELETION_CANDIDATE] = "deletion_candidate",
    [REFERRAL_STAGE] = "stage_referral",
};
static const char *const channel_names[CHANNEL__COUNT] = {
    [CHANNEL_NONE] = "none",
    [CHANNEL_SMS] = "sms",
    [CHANNEL_EMAIL] = "email",
    [CHANNEL_LETTER] = "letter",
};
static const char *const delivery_status_names[DELIVERY__COUNT] = {
    [DELIVERY_NONE] = "none",
    [DELIVERY_PENDING] = "pending",
    [DELIVERY_SENT] = "sent",
    [DELIVERY_DELIVERED] = "delivered",
    [DELIVERY_FAILED_PERMANENT] = "failed_permanent",
    [DELIVERY_FAILED_TEMPORARY] = "failed_temporary",
};

static const char *name_of(const char *const *names, int count, int v)
{
    return v >= 0 && v < count && names[v] ? names[v] : "unknown";
}

/* parse_name finds s[0..len) among names[1..count); "none" is never a value
 * anyone should be able to ask for. */
static rc_err_t parse_name(const char *const *names, int count, const char *s, size_t len, int *out)
{
    for (int i = 1; i < count; i++) {
        if (names[i] && strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            *out = i;
            return RC_OK;
        }
    }
    return RC_EINVAL;
}

const char *wire_kind_name(wire_kind_t k)
{
    return name_of(wire_kind_names, WIRE__COUNT, (int)k);
}

const char *staff_role_name(staff_role_t r)
{
    return name_of(staff_role_names, STAFF__COUNT, (int)r);
}

const char *fact_kind_name(fact_kind_t k)
{
    return name_of(fact_kind_names, FACT__COUNT, (int)k);
}

const char *refdata_kind_name(refdata_kind_t k)
{
    return name_of(refdata_kind_names, REFDATA__COUNT, (int)k);
}

const char *event_kind_name(event_kind_t k)
{
    return name_of(event_kind_names, EVENT__COUNT, (int)k);
}

const char *alert_kind_name(alert_kind_t k)
{
    return name_of(alert_kind_names, ALERT__COUNT, (int)k);
}

const char *referral_kind_name(referral_kind_t k)
{
    return name_of(referral_kind_names, REFERRAL__COUNT, (int)k);
}

const char *channel_name(channel_t c)
{
    return name_of(channel_names, CHANNEL__COUNT, (int)c);
}

const char *delivery_status_name(delivery_status_t s)
{
    return name_of(delivery_status_names, DELIVERY__COUNT, (int)s);
}

rc_err_t staff_role_parse(const char *s, size_t len, staff_role_t *out)
{
    int v = 0;
    rc_err_t err = parse_name(staff_role_names, STAFF__COUNT, s, len, &v);
    if (err == RC_OK)
        *out = (staff_role_t)v;
    return err;
}

rc_err_t fact_kind_parse(const char *s, size_t len, fact_kind_t *out)
{
    int v = 0;
    rc_err_t err = parse_name(fact_kind_names, FACT__COUNT, s, len, &v);
    if (err == RC_OK)
        *out = (fact_kind_t)v;
    return err;
}

rc_err_t alert_kind_parse(const char *s, size_t len, alert_kind_t *out)
{
    int v = 0;
    rc_err_t err = parse_name(alert_kind_names, ALERT__COUNT, s, len, &v);
    if (err == RC_OK)
        *out = (alert_kind_t)v;
    return err;
}

rc_err_t referral_kind_parse(const char *s, size_t len, referral_kind_t *out)
{
    int v = 0;
    rc_err_t err = parse_name(referral_kind_names, REFERRAL__COUNT, s, len, &v);
    if (err == RC_OK)
        *out = (referral_kind_t)v;
    return err;
}

/* ---- checks shared by encode and decode ---- */

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        rc_err_t try_err_ = (expr);                                                                \
        if (try_err_ != RC_OK)                                                                     \
            return try_err_;                                                                       \
    } while (0)

/* fail writes "<field>: <reason>" into why (when not NULL) and returns err.
 * Reasons name the rule broken, never the value, which may identify a pupil. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static rc_err_t
fail(char *why, rc_err_t err, const char *field, const char *fmt, ...)
{
    if (why) {
        int n = snprintf(why, CODEC_WHY_MAX, "%s: ", field);
        if (n >= 0 && n < CODEC_WHY_MAX) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(why + n, CODEC_WHY_MAX - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return err;
}

static int is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

/* utf8_printable is true when s[0..len) is well-formed UTF-8 (shortest forms,
 * no surrogates, nothing past U+10FFFF) without C0 or C1 control characters,
 * so the text is safe in a log line, JSON, CSV or an SMS. */
static int utf8_printable(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], cp, min;
        size_t more;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            more = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= more)
            return 0;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
            return 0;
        i += more + 1;
    }
    return 1;
}

/* str_len returns the length of the string in s[0..size), or -1 when it has
 * no NUL there (a caller filled the whole array). */
static long str_len(const char *s, size_t size)
{
    const char *end = memchr(s, '\0', size);
    return end ? (long)(end - s) : -1;
}

/* check_token: an identifier-like string of [A-Za-z0-9_.:-], "" allowed only
 * when not required. */
static rc_err_t check_token(const char *s, size_t size, int required, const char *field, char *why)
{
    long n = str_len(s, size);
    if (n < 0)
        return fail(why, RC_EINVAL, field, "is longer than %zu bytes", size - 1);
    if (n == 0 && required)
        return fail(why, RC_EINVAL, field, "is missing");
    for (long i = 0; i < n; i++)
        if (!is_token_char((unsigned char)s[i]))
            return fail(why, RC_EINVAL, field, "may hold only letters, digits and _ . : -");
    return RC_OK;
}

/* check_text: printable UTF-8, "" allowed only when not required. */
static rc_err_t check_text(const char *s, size_t size, int required, const char *field, char *why)
{
    long n = str_len(s, size);
    if (n < 0)
        return fail(why, RC_EINVAL, field, "is longer than %zu bytes", size - 1);
    if (n == 0 && required)
        return fail(why, RC_EINVAL, field, "is missing");
    if (!utf8_printable((const unsigned char *)s, (size_t)n))
        return fail(why, RC_EINVAL, field,
                    "is not printable UTF-8 (control characters or "
                    "malformed bytes)");
    return RC_OK;
}

typedef rc_err_t (*ident_check_fn)(const char *s, size_t len, const char **why);

/* check_ident runs one of the ids.h checks (urn_check, upn_check...). */
static rc_err_t check_ident(const char *s, size_t size, ident_check_fn check, const char *field,
                            char *why)
{
    long n = str_len(s, size);
    const char *reason = "is not valid";
    if (n < 0)
        return fail(why, RC_EINVAL, field, "is longer than %zu bytes", size - 1);
    if (check(s, (size_t)n, &reason) != RC_OK)
        return fail(why, RC_EINVAL, field, "%s", reason);
    return RC_OK;
}

/* check_enum: v among 0..count-1, and not 0 when required. */
static rc_err_t check_enum(int v, int count, int required, const char *field, char *why)
{
    if (v < 0 || v >= count)
        return fail(why, RC_EINVAL, field, "has an unknown value");
    if (v == 0 && required)
        return fail(why, RC_EINVAL, field, "is missing");
    return RC_OK;
}

static rc_date_t date_min(void)
{
    return date_from_ymd(RC_YEAR_MIN, 1, 1);
}

static rc_date_t date_max(void)
{
    return date_from_ymd(RC_YEAR_MAX, 12, 31);
}

/* check_date: within RC_YEAR_MIN..RC_YEAR_MAX and not 0 (the wire's "not
 * set"); RC_DATE_NONE passes when optional. */
static rc_err_t check_date(rc_date_t d, int optional, const char *field, char *why)
{
    if (optional && d == RC_DATE_NONE)
        return RC_OK;
    if (d == 0)
        return fail(why, RC_EINVAL, field, "is not set");
    if (d < date_min() || d > date_max())
        return fail(why, RC_EINVAL, field, "is outside the years %d to %d", RC_YEAR_MIN,
                    RC_YEAR_MAX);
    return RC_OK;
}

static rc_err_t check_time(rc_time_t t, const char *field, char *why)
{
    if (t == 0)
        return fail(why, RC_EINVAL, field, "is not set");
    if (t < (rc_time_t)date_min() * RC_USEC_PER_DAY ||
        t >= ((rc_time_t)date_max() + 1) * RC_USEC_PER_DAY)
        return fail(why, RC_EINVAL, field, "is outside the years %d to %d", RC_YEAR_MIN,
                    RC_YEAR_MAX);
    return RC_OK;
}

static rc_err_t validate_mark(const wire_msg_t *msg, char *why)
{
    const mark_t *m = &msg->u.mark;
    if (str_len(m->urn, sizeof m->urn) < 0 || strcmp(m->urn, msg->urn) != 0)
        return fail(why, RC_EINVAL, "mark.urn", "differs from the envelope's urn");
    TRY(check_ident(m->upn, sizeof m->upn, upn_check, "mark.upn", why));
    TRY(check_date(m->date, 0, "mark.date", why));
    if (m->session != SESSION_AM && m->session != SESSION_PM)
        return fail(why, RC_EINVAL, "mark.session", "is not AM or PM");
    if ((unsigned)m->code >= CODE__COUNT)
        return fail(why, RC_EINVAL, "mark.code", "is not a 2024 DfE attendance code");
    if (m->minutes_late > CODEC_MAX_MINUTES_LATE)
        return fail(why, RC_EINVAL, "mark.minutes_late", "is more than %d", CODEC_MAX_MINUTES_LATE);
    return check_time(m->recorded_at, "mark.recorded_at", why);
}

static rc_err_t validate_tick(const clock_tick_t *t, char *why)
{
    TRY(check_time(t->now, "tick.now", why));
    if (t->utc_offset_s < -CODEC_MAX_UTC_OFFSET || t->utc_offset_s > CODEC_MAX_UTC_OFFSET ||
        t->utc_offset_s % 60 != 0)
        return fail(why, RC_EINVAL, "tick.utc_offset_s",
                    "is not a whole number of minutes within +-14:59");
    return RC_OK;
}

static rc_err_t validate_fact(const case_fact_t *f, char *why)
{
    TRY(check_enum((int)f->kind, FACT__COUNT, 1, "case_fact.kind", why));
    TRY(check_ident(f->upn, sizeof f->upn, upn_check, "case_fact.upn", why));
    TRY(check_date(f->date, 0, "case_fact.date", why));
    TRY(check_token(f->detail, sizeof f->detail, 0, "case_fact.detail", why));
    TRY(check_enum((int)f->recorded_by, STAFF__COUNT, 1, "case_fact.recorded_by", why));
    return check_time(f->recorded_at, "case_fact.recorded_at", why);
}

static rc_err_t validate_ref(const refdata_change_t *r, char *why)
{
    TRY(check_enum((int)r->kind, REFDATA__COUNT, 1, "ref_change.kind", why));
    if (r->n_upns > CODEC_MAX_REF_UPNS)
        return fail(why, RC_EINVAL, "ref_change.upns", "has more than %d entries",
                    CODEC_MAX_REF_UPNS);
    if (r->n_upns > 0 && r->kind != REFDATA_PUPIL && r->kind != REFDATA_CONTACT)
        return fail(why, RC_EINVAL, "ref_change.upns", "must be empty for %s changes",
                    refdata_kind_name(r->kind));
    for (size_t i = 0; i < r->n_upns; i++)
        TRY(check_ident(r->upns[i], sizeof r->upns[i], upn_check, "ref_change.upns", why));
    return RC_OK;
}

static rc_err_t validate_metrics(const metrics_t *m, char *why)
{
    uint64_t sum =
        (uint64_t)m->attended_sessions + m->authorised_absences + m->unauthorised_absences;
    if (sum != m->possible_sessions)
        return fail(why, RC_EINVAL, "pupil_event.metrics",
                    "attended + authorised + unauthorised must equal possible sessions");
    if (m->late_before_close > m->attended_sessions)
        return fail(why, RC_EINVAL, "pupil_event.metrics",
                    "late_before_close (L) exceeds attended sessions");
    if (m->late_after_close > m->unauthorised_absences)
        return fail(why, RC_EINVAL, "pupil_event.metrics",
                    "late_after_close (U) exceeds unauthorised absences");
    return RC_OK;
}

static rc_err_t validate_actions(const event_actions_t *a, char *why)
{
    if (a->n_templates > CODEC_MAX_TEMPLATES)
        return fail(why, RC_EINVAL, "pupil_event.actions.template_ids", "has more than %d entries",
                    CODEC_MAX_TEMPLATES);
    for (size_t i = 0; i < a->n_templates; i++)
        TRY(check_token(a->templates[i], sizeof a->templates[i], 1,
                        "pupil_event.actions.template_ids", why));
    if ((a->meeting | a->referral | a->dsl) & ~1)
        return fail(why, RC_EINVAL, "pupil_event.actions",
                    "meeting, referral and dsl must be "
                    "0 or 1");
    return RC_OK;
}

static rc_err_t validate_event(const pupil_event_t *e, char *why)
{
    TRY(check_enum((int)e->kind, EVENT__COUNT, 1, "pupil_event.kind", why));
    TRY(check_ident(e->la_code, sizeof e->la_code, la_code_check, "pupil_event.la_code", why));
    TRY(check_ident(e->upn, sizeof e->upn, upn_check, "pupil_event.upn", why));
    TRY(check_date(e->date, 0, "pupil_event.date", why));
    TRY(check_text(e->track, sizeof e->track, 0, "pupil_event.track", why));
    TRY(check_text(e->stage_from, sizeof e->stage_from, 0, "pupil_event.stage_from", why));
    TRY(check_text(e->stage_to, sizeof e->stage_to, 0, "pupil_event.stage_to", why));
    TRY(check_enum((int)e->alert, ALERT__COUNT, e->kind == EVENT_ALERT, "pupil_event.alert", why));
    TRY(check_enum((int)e->referral, REFERRAL__COUNT, e->kind == EVENT_REFERRAL,
                   "pupil_event.referral", why));
    if (e->kind != EVENT_ALERT && e->alert != ALERT_NONE)
        return fail(why, RC_EINVAL, "pupil_event.alert", "is set on a %s event",
                    event_kind_name(e->kind));
    if (e->kind != EVENT_REFERRAL && e->referral != REFERRAL_NONE)
        return fail(why, RC_EINVAL, "pupil_event.referral", "is set on a %s event",
                    event_kind_name(e->kind));
    if ((e->kind == EVENT_STAGE_CHANGE || e->kind == EVENT_REVIEW ||
         e->referral == REFERRAL_STAGE) &&
        e->track[0] == '\0')
        return fail(why, RC_EINVAL, "pupil_event.track", "is missing");
    if (e->kind == EVENT_STAGE_CHANGE && strcmp(e->stage_from, e->stage_to) == 0)
        return fail(why, RC_EINVAL, "pupil_event.stage_to", "is the same as stage_from");
    /* A review leaves the stage as it was; a move decided at it is a stage
     * change of its own, so a review that names two stages is a mix-up. */
    if (e->kind == EVENT_REVIEW && strcmp(e->stage_from, e->stage_to) != 0)
        return fail(why, RC_EINVAL, "pupil_event.stage_to", "differs from stage_from on a review");
    if (e->kind == EVENT_REVIEW && e->stage_to[0] == '\0')
        return fail(why, RC_EINVAL, "pupil_event.stage_to",
                    "is missing (a review names the stage reviewed)");
    if (e->kind != EVENT_REVIEW && e->improved != 0)
        return fail(why, RC_EINVAL, "pupil_event.improved", "is only for review events, not %s",
                    event_kind_name(e->kind));
    if (e->improved != 0 && e->improved != 1)
        return fail(why, RC_EINVAL, "pupil_event.improved", "must be 0 or 1");
    TRY(check_text(e->reason, sizeof e->reason, 1, "pupil_event.reason", why));
    TRY(validate_metrics(&e->metrics, why));
    TRY(validate_actions(&e->actions, why));
    TRY(check_enum((int)e->responsible, STAFF__COUNT, 0, "pupil_event.responsible", why));
    TRY(check_date(e->review_date, 1, "pupil_event.review_date", why));
    if (e->review_date != RC_DATE_NONE && e->review_date < e->date)
        return fail(why, RC_EINVAL, "pupil_event.review_date", "is before the event's date");
    if (e->session != -1 && e->session != SESSION_AM && e->session != SESSION_PM)
        return fail(why, RC_EINVAL, "pupil_event.session", "is not AM, PM or none");
    return RC_OK;
}

static rc_err_t validate_outcome(const notify_outcome_t *o, char *why)
{
    TRY(check_token(o->source_event_id, sizeof o->source_event_id, 1,
                    "notification_outcome.source_event_id", why));
    TRY(check_token(o->idempotency_key, sizeof o->idempotency_key, 1,
                    "notification_outcome.idempotency_key", why));
    TRY(check_ident(o->upn, sizeof o->upn, upn_check, "notification_outcome.upn", why));
    TRY(check_text(o->contact_id, sizeof o->contact_id, 1, "notification_outcome.contact_id", why));
    TRY(check_token(o->template_id, sizeof o->template_id, 0, "notification_outcome.template_id",
                    why));
    TRY(check_enum((int)o->channel, CHANNEL__COUNT, 1, "notification_outcome.channel", why));
    TRY(check_enum((int)o->status, DELIVERY__COUNT, 1, "notification_outcome.status", why));
    TRY(check_token(o->gateway, sizeof o->gateway, 0, "notification_outcome.gateway", why));
    TRY(check_token(o->gateway_ref, sizeof o->gateway_ref, 0, "notification_outcome.gateway_ref",
                    why));
    if (o->http_status != 0 && (o->http_status < 100 || o->http_status > 599))
        return fail(why, RC_EINVAL, "notification_outcome.http_status",
                    "is neither 0 nor 100..599");
    TRY(check_text(o->error, sizeof o->error, 0, "notification_outcome.error", why));
    return check_time(o->at, "notification_outcome.at", why);
}

rc_err_t codec_validate(const wire_msg_t *msg, char why[CODEC_WHY_MAX])
{
    TRY(check_token(msg->event_id, sizeof msg->event_id, 1, "event_id", why));
    if (msg->kind == WIRE_TICK && msg->urn[0] == '\0') {
        /* a tick for every school; one in a school's log names the school */
    } else {
        TRY(check_ident(msg->urn, sizeof msg->urn, urn_check, "urn", why));
    }
    switch (msg->kind) {
    case WIRE_MARK:
        return validate_mark(msg, why);
    case WIRE_TICK:
        return validate_tick(&msg->u.tick, why);
    case WIRE_CASE_FACT:
        return validate_fact(&msg->u.fact, why);
    case WIRE_REFDATA:
        return validate_ref(&msg->u.ref, why);
    case WIRE_PUPIL_EVENT:
        return validate_event(&msg->u.event, why);
    case WIRE_OUTCOME:
        return validate_outcome(&msg->u.outcome, why);
    case WIRE_NONE:
    case WIRE__COUNT:
        break;
    }
    return fail(why, RC_EINVAL, "kind", "is not a known message kind");
}

void codec_msg_init(wire_msg_t *msg, wire_kind_t kind)
{
    memset(msg, 0, sizeof *msg);
    msg->kind = kind;
    if (kind == WIRE_PUPIL_EVENT) {
        msg->u.event.review_date = RC_DATE_NONE;
        msg->u.event.session = -1;
    }
}

/* ---- encode ---- */

/* Every generated struct one message may need, filled by to_wire, pointing
 * into the domain message (the packer only reads through the pointers). */
typedef struct {
    Rollcall__Envelope env;
    Rollcall__Mark mark;
    Rollcall__Tick tick;
    Rollcall__CaseFact fact;
    Rollcall__RefChange ref;
    char *upns[CODEC_MAX_REF_UPNS];
    Rollcall__PupilEvent event;
    Rollcall__Metrics metrics;
    Rollcall__Actions actions;
    char *templates[CODEC_MAX_TEMPLATES];
    Rollcall__NotificationOutcome outcome;
} wire_out_t;

static void event_to_wire(const pupil_event_t *e, wire_out_t *w)
{
    Rollcall__PupilEvent *pe = &w->event;
    rollcall__pupil_event__init(pe);
    rollcall__metrics__init(&w->metrics);
    rollcall__actions__init(&w->actions);
    pe->kind = (Rollcall__PupilEventKind)e->kind;
    pe->la_code = (char *)e->la_code;
    pe->upn = (char *)e->upn;
    pe->date = e->date;
    pe->track = (char *)e->track;
    pe->stage_from = (char *)e->stage_from;
    pe->stage_to = (char *)e->stage_to;
    pe->alert = (Rollcall__AlertKind)e->alert;
    pe->referral = (Rollcall__ReferralKind)e->referral;
    pe->reason = (char *)e->reason;
    w->metrics.possible_sessions = e->metrics.possible_sessions;
    w->metrics.attended_sessions = e->metrics.attended_sessions;
    w->metrics.authorised_absences = e->metrics.authorised_absences;
    w->metrics.unauthorised_absences = e->metrics.unauthorised_absences;
    w->metrics.late_before_close = e->metrics.late_before_close;
    w->metrics.late_after_close = e->metrics.late_after_close;
    w->metrics.penalty_window_unauthorised = e->metrics.penalty_window_unauthorised;
    w->metrics.consecutive_unexplained_days = e->metrics.consecutive_unexplained_days;
    pe->metrics = &w->metrics;
    for (size_t i = 0; i < e->actions.n_templates; i++)
        w->templates[i] = (char *)e->actions.templates[i];
    w->actions.n_template_ids = e->actions.n_templates;
    w->actions.template_ids = w->templates;
    w->actions.meeting = e->actions.meeting;
    w->actions.referral = e->actions.referral;
    w->actions.dsl = e->actions.dsl;
    pe->actions = &w->actions;
    pe->responsible = (Rollcall__StaffRole)e->responsible;
    pe->review_date = e->review_date == RC_DATE_NONE ? 0 : e->review_date;
    pe->improved = e->improved;
    pe->session = e->session == SESSION_AM   ? ROLLCALL__SESSION__SESSION_AM
                  : e->session == SESSION_PM ? ROLLCALL__SESSION__SESSION_PM
                                             : ROLLCALL__SESSION__SESSION_UNSPECIFIED;
    w->env.body_case = ROLLCALL__ENVELOPE__BODY_PUPIL_EVENT;
    w->env.pupil_event = pe;
}

static void outcome_to_wire(const notify_outcome_t *o, wire_out_t *w)
{
    Rollcall__NotificationOutcome *po = &w->outcome;
    rollcall__notification_outcome__init(po);
    po->source_event_id = (char *)o->source_event_id;
    po->idempotency_key = (char *)o->idempotency_key;
    po->upn = (char *)o->upn;
    po->contact_id = (char *)o->contact_id;
    po->template_id = (char *)o->template_id;
    po->channel = (Rollcall__Channel)o->channel;
    po->status = (Rollcall__DeliveryStatus)o->status;
    po->gateway = (char *)o->gateway;
    po->gateway_ref = (char *)o->gateway_ref;
    po->http_status = o->http_status;
    po->error = (char *)o->error;
    po->at = o->at;
    w->env.body_case = ROLLCALL__ENVELOPE__BODY_NOTIFICATION_OUTCOME;
    w->env.notification_outcome = po;
}

/* to_wire fills w from a validated msg. */
static void to_wire(const wire_msg_t *msg, wire_out_t *w)
{
    rollcall__envelope__init(&w->env);
    w->env.schema_version = CODEC_SCHEMA_VERSION;
    w->env.event_id = (char *)msg->event_id;
    w->env.seq = msg->seq;
    w->env.urn = (char *)msg->urn;
    switch (msg->kind) {
    case WIRE_MARK: {
        const mark_t *m = &msg->u.mark;
        rollcall__mark__init(&w->mark);
        w->mark.upn = (char *)m->upn;
        w->mark.date = m->date;
        w->mark.session = m->session == SESSION_AM ? ROLLCALL__SESSION__SESSION_AM
                                                   : ROLLCALL__SESSION__SESSION_PM;
        w->mark.code = (char *)code_str(m->code);
        w->mark.minutes_late = m->minutes_late;
        w->mark.recorded_at = m->recorded_at;
        w->env.body_case = ROLLCALL__ENVELOPE__BODY_MARK;
        w->env.mark = &w->mark;
        break;
    }
    case WIRE_TICK:
        rollcall__tick__init(&w->tick);
        w->tick.now = msg->u.tick.now;
        w->tick.utc_offset_s = msg->u.tick.utc_offset_s;
        w->env.body_case = ROLLCALL__ENVELOPE__BODY_TICK;
        w->env.tick = &w->tick;
        break;
    case WIRE_CASE_FACT: {
        const case_fact_t *f = &msg->u.fact;
        rollcall__case_fact__init(&w->fact);
        w->fact.kind = (Rollcall__CaseFactKind)f->kind;
        w->fact.upn = (char *)f->upn;
        w->fact.date = f->date;
        w->fact.detail = (char *)f->detail;
        w->fact.recorded_by = (Rollcall__StaffRole)f->recorded_by;
        w->fact.recorded_at = f->recorded_at;
        w->env.body_case = ROLLCALL__ENVELOPE__BODY_CASE_FACT;
        w->env.case_fact = &w->fact;
        break;
    }
    case WIRE_REFDATA:
        rollcall__ref_change__init(&w->ref);
        w->ref.kind = (Rollcall__RefKind)msg->u.ref.kind;
        for (size_t i = 0; i < msg->u.ref.n_upns; i++)
            w->upns[i] = (char *)msg->u.ref.upns[i];
        w->ref.n_upns = msg->u.ref.n_upns;
        w->ref.upns = w->upns;
        w->env.body_case = ROLLCALL__ENVELOPE__BODY_REF_CHANGE;
        w->env.ref_change = &w->ref;
        break;
    case WIRE_PUPIL_EVENT:
        event_to_wire(&msg->u.event, w);
        break;
    case WIRE_OUTCOME:
        outcome_to_wire(&msg->u.outcome, w);
        break;
    case WIRE_NONE:
    case WIRE__COUNT:
        break;
    }
}

rc_err_t codec_encode(const wire_msg_t *msg, uint8_t **buf, size_t *len, char why[CODEC_WHY_MAX])
{
    *buf = NULL;
    *len = 0;
    TRY(codec_validate(msg, why));
    wire_out_t w;
    to_wire(msg, &w);
    size_t n = rollcall__envelope__get_packed_size(&w.env);
    if (n > CODEC_MAX_MESSAGE)
        return fail(why, RC_ETOOBIG, "message", "would be %zu bytes, more than %u", n,
                    CODEC_MAX_MESSAGE);
    uint8_t *out = malloc(n ? n : 1);
    if (!out)
        return fail(why, RC_ENOMEM, "message", "out of memory");
    rollcall__envelope__pack(&w.env, out);
    *buf = out;
    *len = n;
    return RC_OK;
}

/* ---- decode ---- */

/* protobuf-c NUL-terminates string fields and forgets their length, so a NUL
 * inside one would silently cut it short (two distinct event ids would read
 * the same). Each block it allocates is therefore preceded by its size: a
 * string field of n bytes lives in a block of n + 1. */
typedef union {
    size_t size;
    max_align_t align_;
} block_head_t;

static void *block_alloc(void *data, size_t size)
{
    block_head_t *h = malloc(sizeof *h + size);
    if (!h) {
        *(int *)data = 1;
        return NULL;
    }
    h->size = size;
    return h + 1;
}

static void block_free(void *data, void *p)
{
    (void)data;
    if (p)
        free((block_head_t *)p - 1);
}

/* wire_str checks that a decoded string field held no NUL and gives its
 * length. Absent fields point at protobuf-c's shared empty string, which has
 * no block head. */
static rc_err_t wire_str(const char *s, const char *field, char *why, size_t *len)
{
    size_t n = 0;
    if (s && s != protobuf_c_empty_string)
        n = ((const block_head_t *)s - 1)->size - 1;
    if (s && strlen(s) != n)
        return fail(why, RC_EPARSE, field, "holds a NUL byte");
    *len = n;
    return RC_OK;
}

/* copy_str copies a decoded string field into dst[size], refusing one that
 * does not fit (never truncating). */
static rc_err_t copy_str(char *dst, size_t size, const char *src, const char *field, char *why)
{
    size_t n = 0;
    TRY(wire_str(src, field, why, &n));
    if (n >= size)
        return fail(why, RC_EINVAL, field, "is longer than %zu bytes", size - 1);
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return RC_OK;
}

/* take_enum checks a decoded enum before it is stored in a domain enum. */
static rc_err_t take_enum(int v, int count, const char *field, char *why, int *out)
{
    if (v < 0 || v >= count)
        return fail(why, RC_EINVAL, field, "has an unknown value");
    *out = v;
    return RC_OK;
}

static rc_err_t mark_from_wire(const Rollcall__Mark *pm, wire_msg_t *out, char *why)
{
    mark_t *m = &out->u.mark;
    size_t n = 0;
    memcpy(m->urn, out->urn, sizeof m->urn);
    TRY(copy_str(m->upn, sizeof m->upn, pm->upn, "mark.upn", why));
    m->date = pm->date;
    if (pm->session == ROLLCALL__SESSION__SESSION_AM)
        m->session = SESSION_AM;
    else if (pm->session == ROLLCALL__SESSION__SESSION_PM)
        m->session = SESSION_PM;
    else
        return fail(why, RC_EINVAL, "mark.session", "is not AM or PM");
    TRY(wire_str(pm->code, "mark.code", why, &n));
    if (code_parse(pm->code, n, &m->code) != RC_OK)
        return fail(why, RC_EINVAL, "mark.code", "is not a 2024 DfE attendance code");
    if (pm->minutes_late > CODEC_MAX_MINUTES_LATE)
        return fail(why, RC_EINVAL, "mark.minutes_late", "is more than %d", CODEC_MAX_MINUTES_LATE);
    m->minutes_late = (uint16_t)pm->minutes_late;
    m->recorded_at = pm->recorded_at;
    return RC_OK;
}

static rc_err_t fact_from_wire(const Rollcall__CaseFact *pf, case_fact_t *f, char *why)
{
    int v = 0;
    TRY(take_enum((int)pf->kind, FACT__COUNT, "case_fact.kind", why, &v));
    f->kind = (fact_kind_t)v;
    TRY(copy_str(f->upn, sizeof f->upn, pf->upn, "case_fact.upn", why));
    f->date = pf->date;
    TRY(copy_str(f->detail, sizeof f->detail, pf->detail, "case_fact.detail", why));
    TRY(take_enum((int)pf->recorded_by, STAFF__COUNT, "case_fact.recorded_by", why, &v));
    f->recorded_by = (staff_role_t)v;
    f->recorded_at = pf->recorded_at;
    return RC_OK;
}

static rc_err_t ref_from_wire(const Rollcall__RefChange *pr, refdata_change_t *r, char *why)
{
    int v = 0;
    TRY(take_enum((int)pr->kind, REFDATA__COUNT, "ref_change.kind", why, &v));
    r->kind = (refdata_kind_t)v;
    if (pr->n_upns > CODEC_MAX_REF_UPNS)
        return fail(why, RC_EINVAL, "ref_change.upns", "has more than %d entries",
                    CODEC_MAX_REF_UPNS);
    for (size_t i = 0; i < pr->n_upns; i++)
        TRY(copy_str(r->upns[i], sizeof r->upns[i], pr->upns[i], "ref_change.upns", why));
    r->n_upns = pr->n_upns;
    return RC_OK;
}

static void metrics_from_wire(const Rollcall__Metrics *pm, metrics_t *m)
{
    m->possible_sessions = pm->possible_sessions;
    m->attended_sessions = pm->attended_sessions;
    m->authorised_absences = pm->authorised_absences;
    m->unauthorised_absences = pm->unauthorised_absences;
    m->late_before_close = pm->late_before_close;
    m->late_after_close = pm->late_after_close;
    m->penalty_window_unauthorised = pm->penalty_window_unauthorised;
    m->consecutive_unexplained_days = pm->consecutive_unexplained_days;
}

static rc_err_t actions_from_wire(const Rollcall__Actions *pa, event_actions_t *a, char *why)
{
    if (pa->n_template_ids > CODEC_MAX_TEMPLATES)
        return fail(why, RC_EINVAL, "pupil_event.actions.template_ids", "has more than %d entries",
                    CODEC_MAX_TEMPLATES);
    for (size_t i = 0; i < pa->n_template_ids; i++)
        TRY(copy_str(a->templates[i], sizeof a->templates[i], pa->template_ids[i],
                     "pupil_event.actions.template_ids", why));
    a->n_templates = pa->n_template_ids;
    a->meeting = pa->meeting != 0;
    a->referral = pa->referral != 0;
    a->dsl = pa->dsl != 0;
    return RC_OK;
}

static rc_err_t event_from_wire(const Rollcall__PupilEvent *pe, pupil_event_t *e, char *why)
{
    int v = 0;
    TRY(take_enum((int)pe->kind, EVENT__COUNT, "pupil_event.kind", why, &v));
    e->kind = (event_kind_t)v;
    TRY(copy_str(e->la_code, sizeof e->la_code, pe->la_code, "pupil_event.la_code", why));
    TRY(copy_str(e->upn, sizeof e->upn, pe->upn, "pupil_event.upn", why));
    e->date = pe->date;
    TRY(copy_str(e->track, sizeof e->track, pe->track, "pupil_event.track", why));
    TRY(copy_str(e->stage_from, sizeof e->stage_from, pe->stage_from, "pupil_event.stage_from",
                 why));
    TRY(copy_str(e->stage_to, sizeof e->stage_to, pe->stage_to, "pupil_event.stage_to", why));
    TRY(take_enum((int)pe->alert, ALERT__COUNT, "pupil_event.alert", why, &v));
    e->alert = (alert_kind_t)v;
    TRY(take_enum((int)pe->referral, REFERRAL__COUNT, "pupil_event.referral", why, &v));
    e->referral = (referral_kind_t)v;
    TRY(copy_str(e->reason, sizeof e->reason, pe->reason, "pupil_event.reason", why));
    if (pe->metrics)
        metrics_from_wire(pe->metrics, &e->metrics);
    if (pe->actions)
        TRY(actions_from_wire(pe->actions, &e->actions, why));
    TRY(take_enum((int)pe->responsible, STAFF__COUNT, "pupil_event.responsible", why, &v));
    e->responsible = (staff_role_t)v;
    e->review_date = pe->review_date == 0 ? RC_DATE_NONE : pe->review_date;
    e->improved = pe->improved != 0;
    if (pe->session == ROLLCALL__SESSION__SESSION_AM)
        e->session = SESSION_AM;
    else if (pe->session == ROLLCALL__SESSION__SESSION_PM)
        e->session = SESSION_PM;
    else if (pe->session == ROLLCALL__SESSION__SESSION_UNSPECIFIED)
        e->session = -1;
    else
        return fail(why, RC_EINVAL, "pupil_event.session", "is not AM, PM or none");
    return RC_OK;
}

static rc_err_t outcome_from_wire(const Rollcall__NotificationOutcome *po, notify_outcome_t *o,
                                  char *why)
{
    int v = 0;
    TRY(copy_str(o->source_event_id, sizeof o->source_event_id, po->source_event_id,
                 "notification_outcome.source_event_id", why));
    TRY(copy_str(o->idempotency_key, sizeof o->idempotency_key, po->idempotency_key,
                 "notification_outcome.idempotency_key", why));
    TRY(copy_str(o->upn, sizeof o->upn, po->upn, "notification_outcome.upn", why));
    TRY(copy_str(o->contact_id, sizeof o->contact_id, po->contact_id,
                 "notification_outcome.contact_id", why));
    TRY(copy_str(o->template_id, sizeof o->template_id, po->template_id,
                 "notification_outcome.template_id", why));
    TRY(take_enum((int)po->channel, CHANNEL__COUNT, "notification_outcome.channel", why, &v));
    o->channel = (channel_t)v;
    TRY(take_enum((int)po->status, DELIVERY__COUNT, "notification_outcome.status", why, &v));
    o->status = (delivery_status_t)v;
    TRY(copy_str(o->gateway, sizeof o->gateway, po->gateway, "notification_outcome.gateway", why));
    TRY(copy_str(o->gateway_ref, sizeof o->gateway_ref, po->gateway_ref,
                 "notification_outcome.gateway_ref", why));
    if (po->http_status > 599)
        return fail(why, RC_EINVAL, "notification_outcome.http_status",
                    "is neither 0 nor 100..599");
    o->http_status = (uint16_t)po->http_status;
    TRY(copy_str(o->error, sizeof o->error, po->error, "notification_outcome.error", why));
    o->at = po->at;
    return RC_OK;
}

/* from_wire copies an unpacked envelope into out, checking what the copy
 * itself needs (lengths, NULs, enum ranges); codec_validate does the rest. */
static rc_err_t from_wire(const Rollcall__Envelope *env, wire_msg_t *out, char *why)
{
    static const wire_kind_t kinds[] = {
        [ROLLCALL__ENVELOPE__BODY_MARK] = WIRE_MARK,
        [ROLLCALL__ENVELOPE__BODY_TICK] = WIRE_TICK,
        [ROLLCALL__ENVELOPE__BODY_CASE_FACT] = WIRE_CASE_FACT,
        [ROLLCALL__ENVELOPE__BODY_REF_CHANGE] = WIRE_REFDATA,
        [ROLLCALL__ENVELOPE__BODY_PUPIL_EVENT] = WIRE_PUPIL_EVENT,
        [ROLLCALL__ENVELOPE__BODY_NOTIFICATION_OUTCOME] = WIRE_OUTCOME,
    };
    if (env->schema_version != CODEC_SCHEMA_VERSION)
        return fail(why, RC_EINVAL, "schema_version", "%" PRIu32 " is not supported (expected %u)",
                    env->schema_version, CODEC_SCHEMA_VERSION);
    unsigned bc = (unsigned)env->body_case;
    wire_kind_t kind = bc < sizeof kinds / sizeof kinds[0] ? kinds[bc] : WIRE_NONE;
    if (kind == WIRE_NONE)
        return fail(why, RC_EINVAL, "body", "is missing or of a kind this version does not know");
    codec_msg_init(out, kind);
    TRY(copy_str(out->event_id, sizeof out->event_id, env->event_id, "event_id", why));
    out->seq = env->seq;
    TRY(copy_str(out->urn, sizeof out->urn, env->urn, "urn", why));
    switch (kind) {
    case WIRE_MARK:
        return mark_from_wire(env->mark, out, why);
    case WIRE_TICK:
        out->u.tick.now = env->tick->now;
        out->u.tick.utc_offset_s = env->tick->utc_offset_s;
        return RC_OK;
    case WIRE_CASE_FACT:
        return fact_from_wire(env->case_fact, &out->u.fact, why);
    case WIRE_REFDATA:
        return ref_from_wire(env->ref_change, &out->u.ref, why);
    case WIRE_PUPIL_EVENT:
        return event_from_wire(env->pupil_event, &out->u.event, why);
    case WIRE_OUTCOME:
        return outcome_from_wire(env->notification_outcome, &out->u.outcome, why);
    case WIRE_NONE:
    case WIRE__COUNT:
        break;
    }
    return RC_EINVAL;
}

rc_err_t codec_decode(const uint8_t *buf, size_t len, wire_msg_t *out, char why[CODEC_WHY_MAX])
{
    if (len > CODEC_MAX_MESSAGE)
        return fail(why, RC_ETOOBIG, "message", "is larger than %u bytes", CODEC_MAX_MESSAGE);
    if (len == 0 || !buf)
        return fail(why, RC_EPARSE, "message", "is empty");
    int alloc_failed = 0;
    ProtobufCAllocator alloc = {block_alloc, block_free, &alloc_failed};
    Rollcall__Envelope *env = rollcall__envelope__unpack(&alloc, len, buf);
    if (!env)
        return alloc_failed ? fail(why, RC_ENOMEM, "message", "out of memory")
                            : fail(why, RC_EPARSE, "message", "is not a well-formed Envelope");
    rc_err_t err = from_wire(env, out, why);
    if (err == RC_OK)
        err = codec_validate(out, why);
    rollcall__envelope__free_unpacked(env, &alloc);
    return err;
}

/* ---- equality ---- */

static int mark_equal(const mark_t *a, const mark_t *b)
{
    return strcmp(a->urn, b->urn) == 0 && strcmp(a->upn, b->upn) == 0 && a->date == b->date &&
           a->session == b->session && a->code == b->code && a->minutes_late == b->minutes_late &&
           a->recorded_at == b->recorded_at;
}

static int fact_equal(const case_fact_t *a, const case_fact_t *b)
{
    return a->kind == b->kind && strcmp(a->upn, b->upn) == 0 && a->date == b->date &&
           strcmp(a->detail, b->detail) == 0 && a->recorded_by == b->recorded_by &&
           a->recorded_at == b->recorded_at;
}

static int ref_equal(const refdata_change_t *a, const refdata_change_t *b)
{
    if (a->kind != b->kind || a->n_upns != b->n_upns)
        return 0;
    for (size_t i = 0; i < a->n_upns; i++)
        if (strcmp(a->upns[i], b->upns[i]) != 0)
            return 0;
    return 1;
}

static int actions_equal(const event_actions_t *a, const event_actions_t *b)
{
    if (a->n_templates != b->n_templates || a->meeting != b->meeting ||
        a->referral != b->referral || a->dsl != b->dsl)
        return 0;
    for (size_t i = 0; i < a->n_templates; i++)
        if (strcmp(a->templates[i], b->templates[i]) != 0)
            return 0;
    return 1;
}

static int event_equal(const pupil_event_t *a, const pupil_event_t *b)
{
    return a->kind == b->kind && strcmp(a->la_code, b->la_code) == 0 &&
           strcmp(a->upn, b->upn) == 0 && a->date == b->date && strcmp(a->track, b->track) == 0 &&
           strcmp(a->stage_from, b->stage_from) == 0 && strcmp(a->stage_to, b->stage_to) == 0 &&
           a->alert == b->alert && a->referral == b->referral &&
           strcmp(a->reason, b->reason) == 0 && metrics_equal(&a->metrics, &b->metrics) &&
           actions_equal(&a->actions, &b->actions) && a->responsible == b->responsible &&
           a->review_date == b->review_date && a->improved == b->improved &&
           a->session == b->session;
}

static int outcome_equal(const notify_outcome_t *a, const notify_outcome_t *b)
{
    return strcmp(a->source_event_id, b->source_event_id) == 0 &&
           strcmp(a->idempotency_key, b->idempotency_key) == 0 && strcmp(a->upn, b->upn) == 0 &&
           strcmp(a->contact_id, b->contact_id) == 0 &&
           strcmp(a->template_id, b->template_id) == 0 && a->channel == b->channel &&
           a->status == b->status && strcmp(a->gateway, b->gateway) == 0 &&
           strcmp(a->gateway_ref, b->gateway_ref) == 0 && a->http_status == b->http_status &&
           strcmp(a->error, b->error) == 0 && a->at == b->at;
}

int codec_msg_equal(const wire_msg_t *a, const wire_msg_t *b)
{
    if (strcmp(a->event_id, b->event_id) != 0 || a->seq != b->seq || strcmp(a->urn, b->urn) != 0 ||
        a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case WIRE_MARK:
        return mark_equal(&a->u.mark, &b->u.mark);
    case WIRE_TICK:
        return a->u.tick.now == b->u.tick.now && a->u.tick.utc_offset_s == b->u.tick.utc_offset_s;
    case WIRE_CASE_FACT:
        return fact_equal(&a->u.fact, &b->u.fact);
    case WIRE_REFDATA:
        return ref_equal(&a->u.ref, &b->u.ref);
    case WIRE_PUPIL_EVENT:
        return event_equal(&a->u.event, &b->u.event);
    case WIRE_OUTCOME:
        return outcome_equal(&a->u.outcome, &b->u.outcome);
    case WIRE_NONE:
    case WIRE__COUNT:
        break;
    }
    return 1;
}

/* ---- event ids: SipHash-2-4 with 128-bit output (Aumasson & Bernstein) ---- */

/* The fixed key: event ids must agree across machines and runs, not be secret. */
static const char event_id_key[] = "rollcall-eventid"; /* 16 bytes and a NUL */

typedef struct {
    uint64_t v[4];
    uint8_t tail[8];
    size_t ntail;
    uint64_t total;
} sip_t;

static uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static void sip_rounds(sip_t *s, int n)
{
    uint64_t *v = s->v;
    while (n--) {
        v[0] += v[1];
        v[1] = rotl(v[1], 13);
        v[1] ^= v[0];
        v[0] = rotl(v[0], 32);
        v[2] += v[3];
        v[3] = rotl(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = rotl(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = rotl(v[1], 17);
        v[1] ^= v[2];
        v[2] = rotl(v[2], 32);
    }
}

static void sip_init(sip_t *s, const uint8_t key[16])
{
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    s->v[0] = k0 ^ UINT64_C(0x736f6d6570736575);
    s->v[1] = k1 ^ UINT64_C(0x646f72616e646f6d) ^ 0xee; /* 0xee: the 128-bit variant */
    s->v[2] = k0 ^ UINT64_C(0x6c7967656e657261);
    s->v[3] = k1 ^ UINT64_C(0x7465646279746573);
    s->ntail = 0;
    s->total = 0;
}

static void sip_block(sip_t *s, uint64_t m)
{
    s->v[3] ^= m;
    sip_rounds(s, 2);
    s->v[0] ^= m;
}

static void sip_update(sip_t *s, const uint8_t *p, size_t n)
{
    s->total += n;
    while (n--) {
        s->tail[s->ntail++] = *p++;
        if (s->ntail == 8) {
            sip_block(s, load_le64(s->tail));
            s->ntail = 0;
        }
    }
}

static void sip_final(sip_t *s, uint8_t out[16])
{
    uint64_t b = s->total << 56;
    for (size_t i = 0; i < s->ntail; i++)
        b |= (uint64_t)s->tail[i] << (8 * i);
    sip_block(s, b);
    s->v[2] ^= 0xee;
    for (int half = 0; half < 2; half++) {
        sip_rounds(s, 4);
        uint64_t h = s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
        for (int i = 0; i < 8; i++)
            out[half * 8 + i] = (uint8_t)(h >> (8 * i));
        s->v[1] ^= 0xdd;
    }
}

void codec_event_id(const char *const *parts, size_t n, char out[CODEC_EVENT_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    sip_t s;
    uint8_t h[16];
    sip_init(&s, (const uint8_t *)event_id_key);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        uint8_t prefix[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                             (uint8_t)(len >> 24)};
        sip_update(&s, prefix, sizeof prefix);
        sip_update(&s, (const uint8_t *)parts[i], len);
    }
    sip_final(&s, h);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[CODEC_EVENT_ID_HEX] = '\0';
}

void codec_event_id_mark(const mark_t *m, char out[CODEC_EVENT_ID_HEX + 1])
{
    char date[RC_DATE_STRLEN], late[8], at[24];
    date_format(m->date, date);
    snprintf(late, sizeof late, "%u", (unsigned)m->minutes_late);
    snprintf(at, sizeof at, "%" PRId64, (int64_t)m->recorded_at);
    const char *parts[] = {
        "mark", m->urn, m->upn, date, session_str(m->session), code_str(m->code), late, at,
    };
    codec_event_id(parts, sizeof parts / sizeof parts[0], out);
}

/* ---- topics ---- */

rc_err_t codec_topic(const wire_msg_t *msg, char out[CODEC_TOPIC_MAX])
{
    out[0] = '\0';
    if (msg->kind == WIRE_TICK && msg->urn[0] == '\0') {
        snprintf(out, CODEC_TOPIC_MAX, "%s", CODEC_TOPIC_TICK);
        return RC_OK;
    }
    TRY(check_ident(msg->urn, sizeof msg->urn, urn_check, "urn", NULL));
    switch (msg->kind) {
    case WIRE_MARK:
        snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_MARK "%s.", msg->urn);
        return RC_OK;
    case WIRE_CASE_FACT:
        snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_FACT "%s.", msg->urn);
        return RC_OK;
    case WIRE_REFDATA:
        snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_REF "%s.", msg->urn);
        return RC_OK;
    case WIRE_OUTCOME:
        snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_OUTCOME "%s.", msg->urn);
        return RC_OK;
    case WIRE_TICK:
        snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_TICK "%s.", msg->urn);
        return RC_OK;
    case WIRE_PUPIL_EVENT: {
        const pupil_event_t *e = &msg->u.event;
        TRY(check_ident(e->la_code, sizeof e->la_code, la_code_check, "la_code", NULL));
        TRY(check_enum((int)e->kind, EVENT__COUNT, 1, "kind", NULL));
        snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_PUPIL "%s.%s.%s.", e->la_code, msg->urn,
                 event_kind_name(e->kind));
        return RC_OK;
    }
    case WIRE_NONE:
    case WIRE__COUNT:
        break;
    }
    return RC_EINVAL;
}

rc_err_t codec_topic_referral(const wire_msg_t *msg, char out[CODEC_TOPIC_MAX])
{
    out[0] = '\0';
    if (msg->kind != WIRE_PUPIL_EVENT || msg->u.event.kind != EVENT_REFERRAL)
        return RC_EINVAL;
    TRY(check_ident(msg->urn, sizeof msg->urn, urn_check, "urn", NULL));
    TRY(check_ident(msg->u.event.la_code, sizeof msg->u.event.la_code, la_code_check, "la_code",
                    NULL));
    snprintf(out, CODEC_TOPIC_MAX, CODEC_TOPIC_REFERRAL "%s.%s.", msg->u.event.la_code, msg->urn);
    return RC_OK;
}
