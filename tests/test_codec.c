/* test_codec.c - wire messages: round trips, rejections, event ids and topics. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall.pb-c.h"
#include "rollcall/codec.h"

#define URN      "100001"
#define LA       "202"
#define UPN1     "H820200100001"
#define UPN2     "X820200100002"
#define UPN3     "L820200100003"
#define UPN_TEMP "U82020010000A"
#define UPN_BAD  "A820200100001" /* H is its check letter */

#define DAY 20703                     /* 2026-09-07, a Monday */
#define AT  INT64_C(1788766860000000) /* 2026-09-07T08:41:00+01:00 */

static wire_msg_t mark_msg(att_code_t code, session_t s)
{
    wire_msg_t m;
    codec_msg_init(&m, WIRE_MARK);
    strcpy(m.urn, URN);
    m.seq = 41;
    m.u.mark = (mark_t){.urn = URN,
                        .upn = UPN1,
                        .date = DAY,
                        .session = s,
                        .code = code,
                        .minutes_late = 12,
                        .recorded_at = AT};
    codec_event_id_mark(&m.u.mark, m.event_id);
    return m;
}

static wire_msg_t event_msg(void)
{
    wire_msg_t m;
    codec_msg_init(&m, WIRE_PUPIL_EVENT);
    strcpy(m.event_id, "stage:evt-7");
    strcpy(m.urn, URN);
    m.seq = UINT64_C(18446744073709551615);
    pupil_event_t *e = &m.u.event;
    e->kind = EVENT_STAGE_CHANGE;
    strcpy(e->la_code, LA);
    strcpy(e->upn, UPN_TEMP);
    e->date = DAY;
    strcpy(e->track, "absence");
    strcpy(e->stage_from, "Stage 1");
    strcpy(e->stage_to, "Stage 2 – meeting"); /* an en dash: UTF-8 survives */
    strcpy(e->reason, "attendance 88.9% is below 90% after 4 weeks of monitoring");
    e->metrics = (metrics_t){.possible_sessions = 90,
                             .attended_sessions = 80,
                             .authorised_absences = 4,
                             .unauthorised_absences = 6,
                             .late_before_close = 3,
                             .late_after_close = 2,
                             .penalty_window_unauthorised = 7,
                             .consecutive_unexplained_days = 1};
    e->actions.n_templates = 2;
    strcpy(e->actions.templates[0], "letter_stage_2");
    strcpy(e->actions.templates[1], "sms.stage-2");
    e->actions.meeting = 1;
    e->actions.referral = 0;
    e->actions.dsl = 1;
    e->responsible = STAFF_ATTENDANCE_OFFICER;
    e->review_date = DAY + 28;
    return m;
}

/* review_msg: seed 004's "improved -> acknowledgement letter, stay" at a review. */
static wire_msg_t review_msg(void)
{
    wire_msg_t m = event_msg();
    pupil_event_t *e = &m.u.event;
    strcpy(m.event_id, "review:evt-8");
    e->kind = EVENT_REVIEW;
    strcpy(e->stage_from, "Stage 2 – meeting");
    strcpy(e->stage_to, "Stage 2 – meeting");
    e->improved = 1;
    strcpy(e->reason, "review of stage_2 due 2026-10-05: attendance 95.0% -> improved: stay");
    e->actions = (event_actions_t){.n_templates = 1, .templates = {"acknowledgement"}};
    e->responsible = STAFF_HEAD_OF_YEAR;
    e->review_date = DAY + 28;
    return m;
}

static wire_msg_t outcome_msg(void)
{
    wire_msg_t m;
    codec_msg_init(&m, WIRE_OUTCOME);
    strcpy(m.event_id, "out-1");
    strcpy(m.urn, URN);
    m.seq = 3;
    notify_outcome_t *o = &m.u.outcome;
    strcpy(o->source_event_id, "stage:evt-7");
    strcpy(o->idempotency_key, "stage:evt-7:c42:sms");
    strcpy(o->upn, UPN1);
    strcpy(o->contact_id, "C42");
    strcpy(o->template_id, "sms.stage-2");
    o->channel = CHANNEL_SMS;
    o->status = DELIVERY_FAILED_TEMPORARY;
    strcpy(o->gateway, "twilio");
    strcpy(o->gateway_ref, "SM0123456789abcdef0123456789abcdef");
    o->http_status = 429;
    strcpy(o->error, "rate limited; retry after 30 s");
    o->at = AT + 5;
    return m;
}

/* round_trip encodes in, decodes it into *out and checks both succeed. */
static void round_trip(const wire_msg_t *in, wire_msg_t *out)
{
    uint8_t *buf;
    size_t len;
    char why[CODEC_WHY_MAX] = "";
    cr_assert_eq(codec_encode(in, &buf, &len, why), RC_OK, "encode: %s", why);
    cr_assert_gt(len, 0);
    cr_assert_leq(len, CODEC_MAX_MESSAGE);
    memset(out, 0xa5, sizeof *out); /* decode must not rely on a clean struct */
    cr_assert_eq(codec_decode(buf, len, out, why), RC_OK, "decode: %s", why);
    free(buf);
    cr_assert(codec_msg_equal(in, out));
}

/* decode_pb packs a hand-built envelope (which may break any rule) and decodes it. */
static rc_err_t decode_pb(const Rollcall__Envelope *env, char why[CODEC_WHY_MAX])
{
    size_t n = rollcall__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n ? n : 1);
    cr_assert_not_null(buf);
    rollcall__envelope__pack(env, buf);
    wire_msg_t out;
    why[0] = '\0';
    rc_err_t err = codec_decode(buf, n, &out, why);
    free(buf);
    return err;
}

/* A valid mark envelope built with the generated API, for tests to break. */
typedef struct {
    Rollcall__Envelope env;
    Rollcall__Mark mark;
} pb_mark_t;

static void pb_mark_init(pb_mark_t *p)
{
    rollcall__envelope__init(&p->env);
    rollcall__mark__init(&p->mark);
    p->env.schema_version = CODEC_SCHEMA_VERSION;
    p->env.event_id = "e-1";
    p->env.seq = 9;
    p->env.urn = URN;
    p->env.body_case = ROLLCALL__ENVELOPE__BODY_MARK;
    p->env.mark = &p->mark;
    p->mark.upn = UPN1;
    p->mark.date = DAY;
    p->mark.session = ROLLCALL__SESSION__SESSION_AM;
    p->mark.code = "N";
    p->mark.recorded_at = AT;
}

Test(codec, mark_round_trip_every_field)
{
    wire_msg_t in = mark_msg(CODE_C1, SESSION_AM), out;
    round_trip(&in, &out);
    cr_assert_eq(out.kind, WIRE_MARK);
    cr_assert_str_eq(out.event_id, in.event_id);
    cr_assert_eq(out.seq, 41);
    cr_assert_str_eq(out.urn, URN);
    cr_assert_str_eq(out.u.mark.urn, URN);
    cr_assert_str_eq(out.u.mark.upn, UPN1);
    cr_assert_eq(out.u.mark.date, DAY);
    cr_assert_eq(out.u.mark.session, SESSION_AM);
    cr_assert_eq(out.u.mark.code, CODE_C1);
    cr_assert_str_eq(code_str(out.u.mark.code), "C1");
    cr_assert_eq(out.u.mark.minutes_late, 12);
    cr_assert_eq(out.u.mark.recorded_at, AT);
}

Test(codec, backslash_code_survives_and_is_written_as_in_a_register)
{
    wire_msg_t in = mark_msg(CODE_PRESENT_PM, SESSION_PM), out;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_encode(&in, &buf, &len, NULL), RC_OK);
    Rollcall__Envelope *env = rollcall__envelope__unpack(NULL, len, buf);
    cr_assert_not_null(env);
    cr_assert_eq(env->schema_version, CODEC_SCHEMA_VERSION);
    cr_assert_str_eq(env->mark->code, "\\");
    cr_assert_eq(env->mark->session, ROLLCALL__SESSION__SESSION_PM);
    rollcall__envelope__free_unpacked(env, NULL);
    cr_assert_eq(codec_decode(buf, len, &out, NULL), RC_OK);
    free(buf);
    cr_assert_eq(out.u.mark.code, CODE_PRESENT_PM);
    cr_assert_eq(out.u.mark.session, SESSION_PM);
}

Test(codec, tick_round_trip)
{
    wire_msg_t in, out;
    codec_msg_init(&in, WIRE_TICK);
    strcpy(in.event_id, "tick-2026-09-07T09:30");
    in.seq = 7;
    in.u.tick.now = AT;
    in.u.tick.utc_offset_s = 3600;
    round_trip(&in, &out);
    cr_assert_eq(out.kind, WIRE_TICK);
    cr_assert_str_eq(out.event_id, "tick-2026-09-07T09:30");
    cr_assert_eq(out.seq, 7);
    cr_assert_str_eq(out.urn, "");
    cr_assert_eq(out.u.tick.now, AT);
    cr_assert_eq(out.u.tick.utc_offset_s, 3600);

    in.u.tick.utc_offset_s = -(5 * 3600 + 30 * 60);
    round_trip(&in, &out);
    cr_assert_eq(out.u.tick.utc_offset_s, -19800);
}

Test(codec, case_fact_round_trip)
{
    wire_msg_t in, out;
    codec_msg_init(&in, WIRE_CASE_FACT);
    strcpy(in.event_id, "fact-88");
    strcpy(in.urn, URN);
    in.seq = 88;
    in.u.fact.kind = FACT_PARENT_DID_NOT_ENGAGE;
    strcpy(in.u.fact.upn, UPN2);
    in.u.fact.date = DAY - 3;
    strcpy(in.u.fact.detail, "stage_2_meeting");
    in.u.fact.recorded_by = STAFF_HEAD_OF_YEAR;
    in.u.fact.recorded_at = AT - 1;
    round_trip(&in, &out);
    cr_assert_eq(out.kind, WIRE_CASE_FACT);
    cr_assert_str_eq(out.event_id, "fact-88");
    cr_assert_eq(out.seq, 88);
    cr_assert_str_eq(out.urn, URN);
    cr_assert_eq(out.u.fact.kind, FACT_PARENT_DID_NOT_ENGAGE);
    cr_assert_str_eq(out.u.fact.upn, UPN2);
    cr_assert_eq(out.u.fact.date, DAY - 3);
    cr_assert_str_eq(out.u.fact.detail, "stage_2_meeting");
    cr_assert_eq(out.u.fact.recorded_by, STAFF_HEAD_OF_YEAR);
    cr_assert_eq(out.u.fact.recorded_at, AT - 1);
}

Test(codec, ref_change_round_trip)
{
    wire_msg_t in, out;
    codec_msg_init(&in, WIRE_REFDATA);
    strcpy(in.event_id, "ref-5");
    strcpy(in.urn, URN);
    in.seq = 5;
    in.u.ref.kind = REFDATA_CONTACT;
    in.u.ref.n_upns = 3;
    strcpy(in.u.ref.upns[0], UPN1);
    strcpy(in.u.ref.upns[1], UPN_TEMP);
    strcpy(in.u.ref.upns[2], UPN3);
    round_trip(&in, &out);
    cr_assert_eq(out.kind, WIRE_REFDATA);
    cr_assert_str_eq(out.event_id, "ref-5");
    cr_assert_eq(out.seq, 5);
    cr_assert_str_eq(out.urn, URN);
    cr_assert_eq(out.u.ref.kind, REFDATA_CONTACT);
    cr_assert_eq(out.u.ref.n_upns, 3);
    cr_assert_str_eq(out.u.ref.upns[0], UPN1);
    cr_assert_str_eq(out.u.ref.upns[1], UPN_TEMP);
    cr_assert_str_eq(out.u.ref.upns[2], UPN3);

    in.u.ref.kind = REFDATA_CALENDAR;
    in.u.ref.n_upns = 0;
    round_trip(&in, &out);
    cr_assert_eq(out.u.ref.kind, REFDATA_CALENDAR);
    cr_assert_eq(out.u.ref.n_upns, 0);

    in.u.ref.n_upns = CODEC_MAX_REF_UPNS;
    in.u.ref.kind = REFDATA_PUPIL;
    for (size_t i = 0; i < CODEC_MAX_REF_UPNS; i++)
        strcpy(in.u.ref.upns[i], i % 2 ? UPN2 : UPN3);
    round_trip(&in, &out);
    cr_assert_eq(out.u.ref.n_upns, CODEC_MAX_REF_UPNS);
    cr_assert_str_eq(out.u.ref.upns[CODEC_MAX_REF_UPNS - 1], UPN2);
}

Test(codec, pupil_event_round_trip_every_field)
{
    wire_msg_t in = event_msg(), out;
    round_trip(&in, &out);
    const pupil_event_t *e = &out.u.event;
    cr_assert_eq(out.kind, WIRE_PUPIL_EVENT);
    cr_assert_str_eq(out.event_id, "stage:evt-7");
    cr_assert_eq(out.seq, UINT64_C(18446744073709551615));
    cr_assert_str_eq(out.urn, URN);
    cr_assert_eq(e->kind, EVENT_STAGE_CHANGE);
    cr_assert_str_eq(e->la_code, LA);
    cr_assert_str_eq(e->upn, UPN_TEMP);
    cr_assert_eq(e->date, DAY);
    cr_assert_str_eq(e->track, "absence");
    cr_assert_str_eq(e->stage_from, "Stage 1");
    cr_assert_str_eq(e->stage_to, "Stage 2 – meeting");
    cr_assert_eq(e->alert, ALERT_NONE);
    cr_assert_eq(e->referral, REFERRAL_NONE);
    cr_assert_str_eq(e->reason, "attendance 88.9% is below 90% after 4 weeks of monitoring");
    cr_assert_eq(e->metrics.possible_sessions, 90);
    cr_assert_eq(e->metrics.attended_sessions, 80);
    cr_assert_eq(e->metrics.authorised_absences, 4);
    cr_assert_eq(e->metrics.unauthorised_absences, 6);
    cr_assert_eq(e->metrics.late_before_close, 3);
    cr_assert_eq(e->metrics.late_after_close, 2);
    cr_assert_eq(e->metrics.penalty_window_unauthorised, 7);
    cr_assert_eq(e->metrics.consecutive_unexplained_days, 1);
    cr_assert_eq(e->actions.n_templates, 2);
    cr_assert_str_eq(e->actions.templates[0], "letter_stage_2");
    cr_assert_str_eq(e->actions.templates[1], "sms.stage-2");
    cr_assert_eq(e->actions.meeting, 1);
    cr_assert_eq(e->actions.referral, 0);
    cr_assert_eq(e->actions.dsl, 1);
    cr_assert_eq(e->responsible, STAFF_ATTENDANCE_OFFICER);
    cr_assert_eq(e->review_date, DAY + 28);
}

Test(codec, alert_and_referral_round_trip)
{
    wire_msg_t in = event_msg(), out;
    in.u.event.kind = EVENT_ALERT;
    in.u.event.alert = ALERT_FIRST_DAY_ABSENCE;
    in.u.event.track[0] = in.u.event.stage_from[0] = in.u.event.stage_to[0] = '\0';
    in.u.event.actions = (event_actions_t){0};
    in.u.event.responsible = STAFF_NONE;
    in.u.event.review_date = RC_DATE_NONE;
    in.u.event.session = SESSION_PM;
    round_trip(&in, &out);
    cr_assert_eq(out.u.event.kind, EVENT_ALERT);
    cr_assert_eq(out.u.event.alert, ALERT_FIRST_DAY_ABSENCE);
    cr_assert_eq(out.u.event.session, SESSION_PM, "the session the alert is about travels");
    cr_assert_eq(out.u.event.referral, REFERRAL_NONE);
    cr_assert_str_eq(out.u.event.track, "");
    cr_assert_eq(out.u.event.actions.n_templates, 0);
    cr_assert_eq(out.u.event.responsible, STAFF_NONE);
    cr_assert_eq(out.u.event.review_date, RC_DATE_NONE);

    in.u.event.kind = EVENT_REFERRAL;
    in.u.event.alert = ALERT_NONE;
    in.u.event.referral = REFERRAL_CME;
    in.u.event.metrics = (metrics_t){0};
    in.u.event.session = -1;
    round_trip(&in, &out);
    cr_assert_eq(out.u.event.session, -1, "no session: none comes back");
    cr_assert_eq(out.u.event.kind, EVENT_REFERRAL);
    cr_assert_eq(out.u.event.referral, REFERRAL_CME);
    cr_assert_eq(out.u.event.alert, ALERT_NONE);
    cr_assert_eq(out.u.event.metrics.possible_sessions, 0);
}

Test(codec, review_round_trip_improved_and_not)
{
    wire_msg_t in = review_msg(), out;
    round_trip(&in, &out);
    const pupil_event_t *e = &out.u.event;
    cr_assert_eq(e->kind, EVENT_REVIEW);
    cr_assert_eq(e->improved, 1);
    cr_assert_str_eq(e->track, "absence");
    cr_assert_str_eq(e->stage_from, "Stage 2 – meeting");
    cr_assert_str_eq(e->stage_to, "Stage 2 – meeting");
    cr_assert_eq(e->alert, ALERT_NONE);
    cr_assert_eq(e->referral, REFERRAL_NONE);
    cr_assert_eq(e->actions.n_templates, 1);
    cr_assert_str_eq(e->actions.templates[0], "acknowledgement");
    cr_assert_eq(e->responsible, STAFF_HEAD_OF_YEAR);
    cr_assert_eq(e->review_date, DAY + 28);

    in.u.event.improved = 0;
    in.u.event.actions = (event_actions_t){0};
    in.u.event.review_date = RC_DATE_NONE;
    round_trip(&in, &out);
    cr_assert_eq(out.u.event.kind, EVENT_REVIEW);
    cr_assert_eq(out.u.event.improved, 0);
    cr_assert_eq(out.u.event.actions.n_templates, 0);
    cr_assert_eq(out.u.event.review_date, RC_DATE_NONE);
}

/* refused expects codec_validate and codec_encode to refuse m with exactly want. */
static void refused(const wire_msg_t *m, const char *want)
{
    char why[CODEC_WHY_MAX] = "";
    uint8_t *buf = (uint8_t *)"untouched";
    size_t len = 99;
    cr_assert_eq(codec_validate(m, why), RC_EINVAL, "validate accepted: want %s", want);
    cr_assert_str_eq(why, want);
    why[0] = '\0';
    cr_assert_eq(codec_encode(m, &buf, &len, why), RC_EINVAL, "encode accepted: want %s", want);
    cr_assert_null(buf);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(why, want);
}

Test(codec, review_rules_are_enforced_both_ways)
{
    wire_msg_t m = review_msg();
    m.u.event.improved = 2;
    refused(&m, "pupil_event.improved: must be 0 or 1");
    m.u.event.improved = -1;
    refused(&m, "pupil_event.improved: must be 0 or 1");

    m = review_msg();
    m.u.event.track[0] = '\0';
    refused(&m, "pupil_event.track: is missing");
    m = review_msg();
    strcpy(m.u.event.stage_to, "Stage 3");
    refused(&m, "pupil_event.stage_to: differs from stage_from on a review");
    m = review_msg();
    m.u.event.stage_from[0] = '\0';
    refused(&m, "pupil_event.stage_to: differs from stage_from on a review");
    m = review_msg();
    m.u.event.stage_from[0] = m.u.event.stage_to[0] = '\0';
    refused(&m, "pupil_event.stage_to: is missing (a review names the stage reviewed)");
    m = review_msg();
    m.u.event.alert = ALERT_HOME_VISIT_DUE;
    refused(&m, "pupil_event.alert: is set on a review event");
    m = review_msg();
    m.u.event.referral = REFERRAL_STAGE;
    refused(&m, "pupil_event.referral: is set on a review event");

    /* improved belongs to reviews alone, even when the rest is valid */
    m = event_msg();
    m.u.event.improved = 1;
    refused(&m, "pupil_event.improved: is only for review events, not stage_change");
    m = event_msg();
    m.u.event.kind = EVENT_ALERT;
    m.u.event.alert = ALERT_HOME_VISIT_DUE;
    m.u.event.improved = 1;
    refused(&m, "pupil_event.improved: is only for review events, not alert");
    m = event_msg();
    m.u.event.kind = EVENT_REFERRAL;
    m.u.event.referral = REFERRAL_CME;
    m.u.event.improved = 1;
    refused(&m, "pupil_event.improved: is only for review events, not referral");

    /* and on the way in, from a hand-built envelope */
    Rollcall__Envelope env = ROLLCALL__ENVELOPE__INIT;
    Rollcall__PupilEvent e = ROLLCALL__PUPIL_EVENT__INIT;
    char why[CODEC_WHY_MAX];
    env.schema_version = CODEC_SCHEMA_VERSION;
    env.event_id = "r-1";
    env.urn = URN;
    env.body_case = ROLLCALL__ENVELOPE__BODY_PUPIL_EVENT;
    env.pupil_event = &e;
    e.kind = ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_REVIEW;
    e.la_code = LA;
    e.upn = UPN1;
    e.date = DAY;
    e.track = "absence";
    e.stage_from = "stage_1";
    e.stage_to = "stage_1";
    e.reason = "review of stage_1: not improved";
    cr_assert_eq(decode_pb(&env, why), RC_OK, "%s", why);
    e.improved = 1;
    cr_assert_eq(decode_pb(&env, why), RC_OK, "%s", why);
    e.stage_to = "stage_2";
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.stage_to: differs from stage_from on a review");
    e.stage_from = e.stage_to = "";
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.stage_to: is missing (a review names the stage reviewed)");
    e.stage_from = e.stage_to = "stage_1";
    e.track = "";
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.track: is missing");
    e.track = "absence";
    e.kind = ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_STAGE_CHANGE;
    e.stage_from = "";
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.improved: is only for review events, not stage_change");
    e.improved = 0;
    cr_assert_eq(decode_pb(&env, why), RC_OK, "%s", why);
    e.kind = (Rollcall__PupilEventKind)(ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_REVIEW + 1);
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.kind: has an unknown value");
}

Test(codec, notification_outcome_round_trip_every_field)
{
    wire_msg_t in = outcome_msg(), out;
    round_trip(&in, &out);
    const notify_outcome_t *o = &out.u.outcome;
    cr_assert_eq(out.kind, WIRE_OUTCOME);
    cr_assert_str_eq(out.event_id, "out-1");
    cr_assert_eq(out.seq, 3);
    cr_assert_str_eq(out.urn, URN);
    cr_assert_str_eq(o->source_event_id, "stage:evt-7");
    cr_assert_str_eq(o->idempotency_key, "stage:evt-7:c42:sms");
    cr_assert_str_eq(o->upn, UPN1);
    cr_assert_str_eq(o->contact_id, "C42");
    cr_assert_str_eq(o->template_id, "sms.stage-2");
    cr_assert_eq(o->channel, CHANNEL_SMS);
    cr_assert_eq(o->status, DELIVERY_FAILED_TEMPORARY);
    cr_assert_str_eq(o->gateway, "twilio");
    cr_assert_str_eq(o->gateway_ref, "SM0123456789abcdef0123456789abcdef");
    cr_assert_eq(o->http_status, 429);
    cr_assert_str_eq(o->error, "rate limited; retry after 30 s");
    cr_assert_eq(o->at, AT + 5);
}

Test(codec, msg_equal_sees_every_difference)
{
    wire_msg_t a = event_msg(), b = a;
    cr_assert(codec_msg_equal(&a, &b));
    b.u.event.metrics.consecutive_unexplained_days++;
    cr_assert_not(codec_msg_equal(&a, &b));
    b = a;
    strcpy(b.u.event.actions.templates[1], "sms.stage-3");
    cr_assert_not(codec_msg_equal(&a, &b));
    b = a;
    b.seq--;
    cr_assert_not(codec_msg_equal(&a, &b));
    a = review_msg();
    b = a;
    cr_assert(codec_msg_equal(&a, &b));
    b.u.event.improved = 0;
    cr_assert_not(codec_msg_equal(&a, &b));
}

/* A valid encoding padded to `total` bytes with an unknown field, which a
 * protobuf reader skips: only the size tells such a buffer apart. */
static uint8_t *padded_mark(size_t total)
{
    wire_msg_t m = mark_msg(CODE_N, SESSION_AM);
    uint8_t *enc, *buf = malloc(total);
    size_t len;
    cr_assert_not_null(buf);
    cr_assert_eq(codec_encode(&m, &enc, &len, NULL), RC_OK);
    memcpy(buf, enc, len);
    free(enc);
    size_t pad = total - len - 4; /* tag, 3-byte length, payload */
    buf[len] = (9 << 3) | 2;      /* field 9, length-delimited: reserved, unknown */
    buf[len + 1] = (uint8_t)(0x80 | (pad & 0x7f));
    buf[len + 2] = (uint8_t)(0x80 | ((pad >> 7) & 0x7f));
    buf[len + 3] = (uint8_t)(pad >> 14);
    memset(buf + len + 4, 'x', pad);
    return buf;
}

Test(codec, size_cap_is_checked_before_reading)
{
    wire_msg_t out;
    char why[CODEC_WHY_MAX];
    uint8_t *buf = padded_mark(CODEC_MAX_MESSAGE);
    cr_assert_eq(codec_decode(buf, CODEC_MAX_MESSAGE, &out, why), RC_OK, "%s", why);
    cr_assert_eq(out.u.mark.code, CODE_N);
    free(buf);

    buf = padded_mark(CODEC_MAX_MESSAGE + 1);
    cr_assert_eq(codec_decode(buf, CODEC_MAX_MESSAGE + 1, &out, why), RC_ETOOBIG);
    cr_assert(strstr(why, "larger than 65536 bytes"), "%s", why);
    free(buf);

    /* Unreadable bytes too: the cap comes first. */
    buf = calloc(1, CODEC_MAX_MESSAGE + 1);
    cr_assert_eq(codec_decode(buf, CODEC_MAX_MESSAGE + 1, &out, NULL), RC_ETOOBIG);
    free(buf);
}

Test(codec, garbage_is_a_parse_error)
{
    static const uint8_t junk[][8] = {
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* endless varint */
        {0x12, 0x7f, 'a', 'b'},                           /* event_id longer than the buffer */
        {0x0f, 0x01},                                     /* wire type 7 does not exist */
        {0x52, 0x03, 0x0a, 0x05, 'x'},                    /* a mark body cut short */
    };
    wire_msg_t out;
    char why[CODEC_WHY_MAX];
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        cr_assert_eq(codec_decode(junk[i], sizeof junk[i], &out, why), RC_EPARSE, "junk %zu", i);
        cr_assert_str_eq(why, "message: is not a well-formed Envelope");
    }
    cr_assert_eq(codec_decode(junk[0], 0, &out, why), RC_EPARSE);
    cr_assert_eq(codec_decode(NULL, 0, &out, why), RC_EPARSE);
}

Test(codec, every_truncation_is_refused)
{
    wire_msg_t in = event_msg(), out;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_encode(&in, &buf, &len, NULL), RC_OK);
    for (size_t n = 1; n < len; n++)
        cr_assert_neq(codec_decode(buf, n, &out, NULL), RC_OK, "prefix of %zu/%zu bytes", n, len);
    cr_assert_eq(codec_decode(buf, len - 1, &out, NULL), RC_EPARSE);
    cr_assert_eq(codec_decode(buf, len, &out, NULL), RC_OK);
    free(buf);
}

Test(codec, hand_built_mark_decodes)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    cr_assert_eq(decode_pb(&p.env, why), RC_OK, "%s", why);
}

Test(codec, schema_version_must_be_known)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    p.env.schema_version = CODEC_SCHEMA_VERSION + 1;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "schema_version: 2 is not supported (expected 1)");
    p.env.schema_version = 0;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert(strncmp(why, "schema_version:", 15) == 0, "%s", why);
}

Test(codec, event_id_is_required_and_bounded)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    char long_id[CODEC_ID_MAX + 2];
    pb_mark_init(&p);
    p.env.event_id = "";
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "event_id: is missing");
    p.env.event_id = "has space";
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert(strncmp(why, "event_id:", 9) == 0, "%s", why);
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    p.env.event_id = long_id;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "event_id: is longer than 64 bytes");
    long_id[CODEC_ID_MAX] = '\0';
    cr_assert_eq(decode_pb(&p.env, why), RC_OK, "%s", why);
}

Test(codec, unknown_codes_are_refused)
{
    static const char *const bad[] = {"", "A", "C3", "Y8", "n", "//", "C1 ", "ZZZ"};
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.mark.code = (char *)bad[i];
        cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL, "code \"%s\"", bad[i]);
        cr_assert_str_eq(why, "mark.code: is not a 2024 DfE attendance code");
    }
    p.mark.code = "Y7";
    cr_assert_eq(decode_pb(&p.env, why), RC_OK, "%s", why);
}

Test(codec, bad_identifiers_are_refused)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    p.mark.upn = UPN_BAD;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert(strstr(why, "mark.upn: UPN check letter"), "%s", why);
    p.mark.upn = "";
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert(strncmp(why, "mark.upn:", 9) == 0, "%s", why);
    pb_mark_init(&p);
    p.env.urn = "10001";
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "urn: URN must be exactly 6 digits");
}

Test(codec, invalid_enum_values_are_refused)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    p.mark.session = (Rollcall__Session)3;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "mark.session: is not AM or PM");
    p.mark.session = ROLLCALL__SESSION__SESSION_UNSPECIFIED;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);

    Rollcall__Envelope env = ROLLCALL__ENVELOPE__INIT;
    Rollcall__NotificationOutcome o = ROLLCALL__NOTIFICATION_OUTCOME__INIT;
    env.schema_version = CODEC_SCHEMA_VERSION;
    env.event_id = "o-1";
    env.urn = URN;
    env.body_case = ROLLCALL__ENVELOPE__BODY_NOTIFICATION_OUTCOME;
    env.notification_outcome = &o;
    o.source_event_id = "e-1";
    o.idempotency_key = "k-1";
    o.upn = UPN1;
    o.contact_id = "C1";
    o.channel = ROLLCALL__CHANNEL__CHANNEL_EMAIL;
    o.status = ROLLCALL__DELIVERY_STATUS__DELIVERY_DELIVERED;
    o.at = AT;
    cr_assert_eq(decode_pb(&env, why), RC_OK, "%s", why);
    o.channel = (Rollcall__Channel)4;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "notification_outcome.channel: has an unknown value");
    o.channel = (Rollcall__Channel)-1;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    o.channel = ROLLCALL__CHANNEL__CHANNEL_UNSPECIFIED;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "notification_outcome.channel: is missing");
    o.channel = ROLLCALL__CHANNEL__CHANNEL_LETTER;
    o.status = (Rollcall__DeliveryStatus)6;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "notification_outcome.status: has an unknown value");
    o.status = ROLLCALL__DELIVERY_STATUS__DELIVERY_SENT;
    o.http_status = 600;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    o.http_status = 99;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    o.http_status = 202;
    cr_assert_eq(decode_pb(&env, why), RC_OK, "%s", why);
}

Test(codec, missing_or_unknown_body_is_refused)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    p.env.body_case = ROLLCALL__ENVELOPE__BODY__NOT_SET;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "body: is missing or of a kind this version does not know");
}

Test(codec, dates_and_instants_are_bounded)
{
    pb_mark_t p;
    char why[CODEC_WHY_MAX];
    pb_mark_init(&p);
    p.mark.date = 0;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "mark.date: is not set");
    p.mark.date = date_from_ymd(RC_YEAR_MAX + 1, 1, 1);
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "mark.date: is outside the years 1900 to 2199");
    p.mark.date = date_from_ymd(RC_YEAR_MAX, 12, 31);
    cr_assert_eq(decode_pb(&p.env, why), RC_OK, "%s", why);
    p.mark.recorded_at = 0;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "mark.recorded_at: is not set");
    p.mark.recorded_at = INT64_MIN;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    p.mark.recorded_at = AT;
    p.mark.minutes_late = CODEC_MAX_MINUTES_LATE + 1;
    cr_assert_eq(decode_pb(&p.env, why), RC_EINVAL);
    cr_assert_str_eq(why, "mark.minutes_late: is more than 1439");
}

Test(codec, nul_inside_a_string_is_a_parse_error)
{
    wire_msg_t in = mark_msg(CODE_N, SESSION_AM), out;
    uint8_t *buf;
    size_t len;
    char why[CODEC_WHY_MAX];
    cr_assert_eq(codec_encode(&in, &buf, &len, NULL), RC_OK);
    size_t idlen = strlen(in.event_id), at = 0;
    while (at + idlen <= len && memcmp(buf + at, in.event_id, idlen) != 0)
        at++;
    cr_assert_leq(at + idlen, len);
    buf[at + 5] = '\0'; /* same length on the wire; a C string would end here */
    cr_assert_eq(codec_decode(buf, len, &out, why), RC_EPARSE);
    cr_assert_str_eq(why, "event_id: holds a NUL byte");
    free(buf);
}

Test(codec, over_long_strings_are_refused_not_truncated)
{
    Rollcall__Envelope env = ROLLCALL__ENVELOPE__INIT;
    Rollcall__PupilEvent e = ROLLCALL__PUPIL_EVENT__INIT;
    char why[CODEC_WHY_MAX], track[CODEC_NAME_MAX + 2];
    env.schema_version = CODEC_SCHEMA_VERSION;
    env.event_id = "p-1";
    env.urn = URN;
    env.body_case = ROLLCALL__ENVELOPE__BODY_PUPIL_EVENT;
    env.pupil_event = &e;
    e.kind = ROLLCALL__PUPIL_EVENT_KIND__PUPIL_EVENT_STAGE_CHANGE;
    e.la_code = LA;
    e.upn = UPN1;
    e.date = DAY;
    e.stage_to = "Stage 1";
    e.reason = "first stage";
    memset(track, 't', sizeof track - 1);
    track[sizeof track - 1] = '\0';
    e.track = track;
    cr_assert_eq(decode_pb(&env, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.track: is longer than 48 bytes");
    track[CODEC_NAME_MAX] = '\0';
    cr_assert_eq(decode_pb(&env, why), RC_OK, "%s", why);

    /* and on the way out: a full array with no NUL */
    wire_msg_t m = event_msg();
    uint8_t *buf = (uint8_t *)"untouched";
    size_t len = 99;
    memset(m.u.event.track, 'x', sizeof m.u.event.track);
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert_null(buf);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(why, "pupil_event.track: is longer than 48 bytes");
}

Test(codec, encode_applies_the_decode_rules)
{
    char why[CODEC_WHY_MAX];
    uint8_t *buf;
    size_t len;
    wire_msg_t m = mark_msg(CODE_L, SESSION_AM);
    strcpy(m.u.mark.urn, "100002");
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert_str_eq(why, "mark.urn: differs from the envelope's urn");
    m = mark_msg(CODE_L, SESSION_AM);
    m.u.mark.code = CODE__COUNT;
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    m = mark_msg(CODE_L, SESSION_AM);
    strcpy(m.u.mark.upn, UPN_BAD);
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);

    m = event_msg();
    m.u.event.metrics.attended_sessions--;
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.metrics: attended + authorised + unauthorised must "
                          "equal possible sessions");
    m = event_msg();
    strcpy(m.u.event.stage_to, m.u.event.stage_from);
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    m = event_msg();
    m.u.event.alert = ALERT_HOME_VISIT_DUE;
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert_str_eq(why, "pupil_event.alert: is set on a stage_change event");
    m = event_msg();
    strcpy(m.u.event.reason, "line one\nline two");
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert(strncmp(why, "pupil_event.reason: is not printable UTF-8", 42) == 0, "%s", why);
    m = event_msg();
    strcpy(m.u.event.reason, "bad \xc3\x28 byte");
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    m = event_msg();
    m.u.event.review_date = DAY - 1;
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    m = event_msg();
    m.u.event.actions.n_templates = CODEC_MAX_TEMPLATES + 1;
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);

    codec_msg_init(&m, WIRE_TICK);
    strcpy(m.event_id, "t");
    m.u.tick.now = AT;
    m.u.tick.utc_offset_s = 3601;
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    m.u.tick.utc_offset_s = 3600;
    strcpy(m.urn, "10000X"); /* a tick in a school's log names a real URN */
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert(strstr(why, "urn"));

    codec_msg_init(&m, WIRE_REFDATA);
    strcpy(m.event_id, "r");
    strcpy(m.urn, URN);
    m.u.ref.kind = REFDATA_SCHOOL;
    m.u.ref.n_upns = 1;
    strcpy(m.u.ref.upns[0], UPN1);
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert_str_eq(why, "ref_change.upns: must be empty for school changes");

    codec_msg_init(&m, WIRE_NONE);
    strcpy(m.event_id, "x");
    strcpy(m.urn, URN);
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_EINVAL);
    cr_assert_str_eq(why, "kind: is not a known message kind");
}

Test(codec, mark_event_id_is_stable)
{
    wire_msg_t m = mark_msg(CODE_C1, SESSION_AM);
    char a[CODEC_EVENT_ID_HEX + 1], b[CODEC_EVENT_ID_HEX + 1];
    codec_event_id_mark(&m.u.mark, a);
    codec_event_id_mark(&m.u.mark, b);
    cr_assert_str_eq(a, b);
    cr_assert_eq(strlen(a), CODEC_EVENT_ID_HEX);
    cr_assert_eq(strspn(a, "0123456789abcdef"), CODEC_EVENT_ID_HEX);
    /* Pinned: ids are compared across machines, runs and releases. */
    cr_assert_str_eq(a, "096d72ece5292af04c397a33109419d5");
}

Test(codec, mark_event_id_changes_with_every_field)
{
    mark_t base = mark_msg(CODE_C1, SESSION_AM).u.mark;
    mark_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = base;
    strcpy(v[1].urn, "100002");
    strcpy(v[2].upn, UPN2);
    v[3].date++;
    v[4].session = SESSION_PM;
    v[5].code = CODE_C2;
    v[6].minutes_late++;
    v[7].recorded_at++;
    char ids[8][CODEC_EVENT_ID_HEX + 1];
    for (int i = 0; i < 8; i++)
        codec_event_id_mark(&v[i], ids[i]);
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            cr_assert_str_neq(ids[i], ids[j], "marks %d and %d", i, j);
}

Test(codec, event_id_is_siphash_2_4_128_over_framed_parts)
{
    char id[CODEC_EVENT_ID_HEX + 1], other[CODEC_EVENT_ID_HEX + 1];
    /* Known answers, checked against libsodium's crypto_shorthash_siphashx24. */
    codec_event_id(NULL, 0, id);
    cr_assert_str_eq(id, "ca3be55b1cb96829e12734ab983c34c9");
    const char *parts[] = {"mark", "100001"};
    codec_event_id(parts, 2, id);
    cr_assert_str_eq(id, "7fc59a3364ac34b69c794b73151a8b8a");

    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};
    codec_event_id(ab_c, 2, id);
    codec_event_id(a_bc, 2, other);
    cr_assert_str_neq(id, other);
}

Test(codec, topics)
{
    char t[CODEC_TOPIC_MAX];
    wire_msg_t m = mark_msg(CODE_N, SESSION_AM);
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "mark.100001.");

    m = event_msg();
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "pupil.202.100001.stage_change.");
    cr_assert_eq(codec_topic_referral(&m, t), RC_EINVAL);
    m.u.event.kind = EVENT_ALERT;
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "pupil.202.100001.alert.");
    m.u.event.kind = EVENT_REFERRAL;
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "pupil.202.100001.referral.");
    cr_assert_eq(codec_topic_referral(&m, t), RC_OK);
    cr_assert_str_eq(t, "referral.202.100001.");
    m.u.event.kind = EVENT_REVIEW;
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "pupil.202.100001.review.");
    cr_assert_eq(codec_topic_referral(&m, t), RC_EINVAL);
    strcpy(m.u.event.la_code, "2x2");
    cr_assert_eq(codec_topic(&m, t), RC_EINVAL);
    cr_assert_eq(codec_topic_referral(&m, t), RC_EINVAL);

    m = outcome_msg();
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "outcome.100001.");
    m.kind = WIRE_REFDATA;
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "ref.100001.");
    m.kind = WIRE_CASE_FACT;
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "fact.100001.");
    strcpy(m.urn, "1000011");
    cr_assert_eq(codec_topic(&m, t), RC_EINVAL);
    m.kind = WIRE_TICK;
    cr_assert_eq(codec_topic(&m, t), RC_EINVAL);
    m.urn[0] = '\0';
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "tick.");
    strcpy(m.urn, URN);
    cr_assert_eq(codec_topic(&m, t), RC_OK);
    cr_assert_str_eq(t, "tick.100001.");
    m.kind = WIRE_NONE;
    strcpy(m.urn, URN);
    cr_assert_eq(codec_topic(&m, t), RC_EINVAL);
}

Test(codec, names_match_the_spec_and_parse_back)
{
    static const char *const referrals[] = {"cme",
                                            "penalty_threshold",
                                            "severe_absence",
                                            "illness_15_days",
                                            "deletion_candidate",
                                            "stage_referral"};
    for (int k = REFERRAL_CME; k < REFERRAL__COUNT; k++) {
        referral_kind_t back = REFERRAL_NONE;
        cr_assert_str_eq(referral_kind_name((referral_kind_t)k), referrals[k - 1]);
        cr_assert_eq(referral_kind_parse(referrals[k - 1], strlen(referrals[k - 1]), &back), RC_OK);
        cr_assert_eq(back, k);
    }
    referral_kind_t r;
    cr_assert_eq(referral_kind_parse("none", 4, &r), RC_EINVAL);
    cr_assert_eq(referral_kind_parse("cm", 2, &r), RC_EINVAL);
    cr_assert_str_eq(referral_kind_name(REFERRAL__COUNT), "unknown");
    cr_assert_str_eq(alert_kind_name(ALERT_N_UNRESOLVED_5_DAYS), "n_unresolved_5_days");
    cr_assert_str_eq(event_kind_name(EVENT_STAGE_CHANGE), "stage_change");
    cr_assert_str_eq(event_kind_name(EVENT_REVIEW), "review");
    cr_assert_str_eq(event_kind_name(EVENT__COUNT), "unknown");
    cr_assert_str_eq(delivery_status_name(DELIVERY_FAILED_PERMANENT), "failed_permanent");
    cr_assert_str_eq(channel_name(CHANNEL_LETTER), "letter");
    cr_assert_str_eq(wire_kind_name(WIRE_OUTCOME), "outcome");
    cr_assert_str_eq(refdata_kind_name(REFDATA_CALENDAR), "calendar");
    staff_role_t s;
    cr_assert_eq(staff_role_parse("dsl", 3, &s), RC_OK);
    cr_assert_eq(s, STAFF_DSL);
    cr_assert_str_eq(staff_role_name(STAFF_EWO), "ewo");
    fact_kind_t f;
    cr_assert_eq(fact_kind_parse("parent_did_not_engage", 21, &f), RC_OK);
    cr_assert_eq(f, FACT_PARENT_DID_NOT_ENGAGE);
    cr_assert_str_eq(fact_kind_name(FACT_MEDICAL_EVIDENCE_RECEIVED), "medical_evidence_received");
    alert_kind_t a;
    cr_assert_eq(alert_kind_parse("home_visit_due", 14, &a), RC_OK);
    cr_assert_eq(a, ALERT_HOME_VISIT_DUE);
}
