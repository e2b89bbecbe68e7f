/* codec.h - the messages services exchange over ZeroMQ, as plain C structs, and
 * their protobuf encoding (proto/rollcall.proto), stable event ids and topics.
 *
 * A wire_msg_t is an envelope (event id, sequence number, school) around one
 * body: a register mark, a clock tick, a staff-recorded case fact, a
 * reference-data change, a pupil event (stage change, alert, referral or
 * review) or a notification outcome. Every string is a fixed-size, NUL-terminated array, so
 * a message is one flat value: copy it with `=`, decode into one on the stack,
 * never free it.
 *
 * The same rules hold in both directions: codec_encode refuses a message that
 * codec_decode would refuse, so a message that encodes always decodes back to
 * an equal one. Strings longer than their array are rejected, never truncated.
 *
 * Topics (ZeroMQ SUB filters match prefixes; each topic ends in '.', so that
 * "mark.100001." never matches a subscription to "mark.10000."):
 *   mark.<urn>.                      register marks            ingest -> rules
 *   tick.<urn>.                      replay clock ticks, one in each school's
 *                                    log (tick. when urn is empty)  ingest -> all
 *   fact.<urn>.                      case facts                ingest -> rules
 *   ref.<urn>.                       reference-data changes    ingest -> all
 *   pupil.<la>.<urn>.<kind>.         pupil events, kind one of stage_change,
 *                                    alert, referral, review   rules -> notify, reports
 *   referral.<la>.<urn>.             referrals, republished    reports -> LA subscribers
 *   outcome.<urn>.                   notification outcomes     notify -> reports
 */
#ifndef ROLLCALL_CODEC_H
#define ROLLCALL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/calendar.h"
#include "rollcall/codes.h"
#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/ids.h"
#include "rollcall/metrics.h"

#define CODEC_SCHEMA_VERSION 1u           /* the Envelope.schema_version written and accepted */
#define CODEC_MAX_MESSAGE    (64u * 1024) /* bytes; larger buffers are refused unread */

#define CODEC_ID_MAX           64  /* event ids: 1-64 of [A-Za-z0-9_.:-] */
#define CODEC_KEY_MAX          128 /* idempotency keys, gateway references: same alphabet */
#define CODEC_NAME_MAX         48  /* track, stage, template, detail, gateway, contact id */
#define CODEC_REASON_MAX       400 /* pupil_event_t.reason, printable UTF-8 */
#define CODEC_ERROR_MAX        200 /* notify_outcome_t.error, printable UTF-8 */
#define CODEC_MAX_TEMPLATES    8   /* templates one pupil event may ask for */
#define CODEC_MAX_REF_UPNS     256 /* UPNs one reference-data change may name */
#define CODEC_MAX_MINUTES_LATE 1439
#define CODEC_MAX_UTC_OFFSET   (14 * 3600 + 59 * 60) /* seconds, as time_parse_iso */

#define CODEC_EVENT_ID_HEX 32  /* hex digits of a derived event id (128 bits) */
#define CODEC_TOPIC_MAX    64  /* bytes for any topic, NUL included */
#define CODEC_WHY_MAX      200 /* bytes for a rejection reason, NUL included */

/* Topic roots, for subscribers building prefixes ("mark." for every school). */
#define CODEC_TOPIC_MARK     "mark."
#define CODEC_TOPIC_TICK     "tick."
#define CODEC_TOPIC_FACT     "fact."
#define CODEC_TOPIC_REF      "ref."
#define CODEC_TOPIC_PUPIL    "pupil."
#define CODEC_TOPIC_REFERRAL "referral."
#define CODEC_TOPIC_OUTCOME  "outcome."

/* Every enum below numbers its values as the .proto does; 0 is "none" and is
 * refused wherever a value is required. */

/* The replay clock moved (SPEC section 6). */
typedef struct {
    rc_time_t now;        /* UTC microseconds */
    int32_t utc_offset_s; /* offset `now` was written with: 3600 in BST, 0 in GMT */
} clock_tick_t;

typedef enum {
    STAFF_NONE = 0,
    STAFF_ATTENDANCE_OFFICER,
    STAFF_ATTENDANCE_LEAD,
    STAFF_CLASS_TEACHER, /* or form tutor */
    STAFF_HEAD_OF_YEAR,  /* or pastoral team */
    STAFF_HEADTEACHER,
    STAFF_DSL,
    STAFF_SENCO,
    STAFF_EWO,        /* the LA's education welfare officer / attendance team */
    STAFF_EARLY_HELP, /* early help or family support worker */
    STAFF_OFFICE,
    STAFF__COUNT
} staff_role_t;

typedef enum {
    FACT_NONE = 0,
    FACT_MEETING_HELD,
    FACT_MEETING_MISSED,
    FACT_PARENT_ENGAGED,
    FACT_PARENT_DID_NOT_ENGAGE,
    FACT_CONTACT_MADE,
    FACT_HOME_VISIT_MADE,
    FACT_CONTRACT_AGREED, /* attendance contract or support plan */
    FACT_CONTRACT_BROKEN,
    FACT_EARLY_HELP_OFFERED,
    FACT_MEDICAL_EVIDENCE_RECEIVED,
    FACT_SAFEGUARDING_CONCERN,
    FACT_PENALTY_NOTICE_ISSUED,
    FACT_LEGAL_ACTION_STARTED,
    FACT__COUNT
} fact_kind_t;

/* A fact a member of staff recorded about a pupil's case; never free text. */
typedef struct {
    fact_kind_t kind;
    char upn[RC_UPN_LEN + 1];
    rc_date_t date;                  /* the day it happened */
    char detail[CODEC_NAME_MAX + 1]; /* optional short code ("stage_2"), or "" */
    staff_role_t recorded_by;        /* required */
    rc_time_t recorded_at;
} case_fact_t;

typedef enum {
    REFDATA_NONE = 0,
    REFDATA_SCHOOL,
    REFDATA_CALENDAR,
    REFDATA_PUPIL,
    REFDATA_CONTACT,
    REFDATA__COUNT
} refdata_kind_t;

/* Reference data of msg->urn changed in Redis; subscribers re-read it. */
typedef struct {
    refdata_kind_t kind;
    /* For REFDATA_PUPIL and REFDATA_CONTACT, the UPNs whose rows changed;
     * n_upns == 0 means all of the school's. Always 0 for the other kinds. */
    size_t n_upns;
    char upns[CODEC_MAX_REF_UPNS][RC_UPN_LEN + 1];
} refdata_change_t;

typedef enum {
    EVENT_NONE = 0,
    EVENT_STAGE_CHANGE,
    EVENT_ALERT,
    EVENT_REFERRAL,
    EVENT_REVIEW, /* a review held on a track; the stage is unchanged by it */
    EVENT__COUNT
} event_kind_t;

typedef enum {
    ALERT_NONE = 0,
    ALERT_FIRST_DAY_ABSENCE,
    ALERT_HOME_VISIT_DUE,
    ALERT_N_UNRESOLVED_5_DAYS,
    ALERT_SOCIAL_WORKER_NOTIFY,
    ALERT__COUNT
} alert_kind_t;

/* Referrals to the LA; referral_kind_name gives the SPEC section 5 names. */
typedef enum {
    REFERRAL_NONE = 0,
    REFERRAL_CME,
    REFERRAL_PENALTY_THRESHOLD,
    REFERRAL_SEVERE_ABSENCE,
    REFERRAL_ILLNESS_15_DAYS,
    REFERRAL_DELETION_CANDIDATE,
    REFERRAL_STAGE,
    REFERRAL__COUNT
} referral_kind_t;

/* What a policy asks to be done. */
typedef struct {
    size_t n_templates;
    char templates[CODEC_MAX_TEMPLATES][CODEC_NAME_MAX + 1]; /* ids, [A-Za-z0-9_.:-] */
    int meeting;  /* 0 or 1: book a meeting with the family */
    int referral; /* 0 or 1: refer to the LA */
    int dsl;      /* 0 or 1: escalate to the designated safeguarding lead */
} event_actions_t;

/* A stage change, alert, referral or review for one pupil of msg->urn.
 *
 * Exactly one of: kind EVENT_STAGE_CHANGE with track set and stage_from !=
 * stage_to, alert and referral NONE; EVENT_ALERT with alert set and referral
 * NONE; EVENT_REFERRAL with referral set and alert NONE (and track set for
 * REFERRAL_STAGE); EVENT_REVIEW with track set, stage_from == stage_to == the
 * stage reviewed (never ""), alert and referral NONE. A review leaves the
 * stage as it was: a step down or escalation decided at the same review is a
 * stage change event of its own. improved is 0 or 1 on a review (1: the
 * pupil improved, and the actions are the acknowledgement) and 0 on every
 * other kind. Track and stages are printable UTF-8, a stage of "" meaning
 * "not on the ladder". The reason is required. The metrics must add up:
 * attended + authorised + unauthorised == possible, late_before_close <=
 * attended, late_after_close <= unauthorised. */
typedef struct {
    event_kind_t kind;
    char la_code[RC_LA_LEN + 1];
    char upn[RC_UPN_LEN + 1];
    rc_date_t date; /* the school date evaluated */
    int session;    /* session_t a first-day or social-worker alert is about; -1 otherwise */
    char track[CODEC_NAME_MAX + 1];
    char stage_from[CODEC_NAME_MAX + 1];
    char stage_to[CODEC_NAME_MAX + 1];
    alert_kind_t alert;
    referral_kind_t referral;
    char reason[CODEC_REASON_MAX + 1]; /* for people: printable UTF-8, no personal data */
    metrics_t metrics;                 /* as of date */
    event_actions_t actions;
    staff_role_t responsible; /* STAFF_NONE when no one is named */
    rc_date_t review_date;    /* RC_DATE_NONE, or on or after date */
    int improved;             /* EVENT_REVIEW only: 1 improved, 0 not; else 0 */
} pupil_event_t;

typedef enum {
    CHANNEL_NONE = 0,
    CHANNEL_SMS,
    CHANNEL_EMAIL,
    CHANNEL_LETTER,
    CHANNEL__COUNT
} channel_t;

typedef enum {
    DELIVERY_NONE = 0,
    DELIVERY_PENDING,
    DELIVERY_SENT,
    DELIVERY_DELIVERED,
    DELIVERY_FAILED_PERMANENT,
    DELIVERY_FAILED_TEMPORARY,
    DELIVERY__COUNT
} delivery_status_t;

/* What happened to one message to one contact of a pupil of msg->urn. */
typedef struct {
    char source_event_id[CODEC_ID_MAX + 1];  /* the pupil event's event id */
    char idempotency_key[CODEC_KEY_MAX + 1]; /* the gateway reference */
    char upn[RC_UPN_LEN + 1];
    char contact_id[CODEC_NAME_MAX + 1];  /* printable UTF-8, required */
    char template_id[CODEC_NAME_MAX + 1]; /* may be "" */
    channel_t channel;
    delivery_status_t status;
    char gateway[CODEC_NAME_MAX + 1];    /* "notify", "twilio"...; may be "" */
    char gateway_ref[CODEC_KEY_MAX + 1]; /* the gateway's message id; may be "" */
    uint16_t http_status;                /* 0 when none, else 100..599 */
    char error[CODEC_ERROR_MAX + 1];     /* scrubbed of personal data by the sender */
    rc_time_t at;                        /* when this status was learnt */
} notify_outcome_t;

typedef enum {
    WIRE_NONE = 0,
    WIRE_MARK,
    WIRE_TICK,
    WIRE_CASE_FACT,
    WIRE_REFDATA,
    WIRE_PUPIL_EVENT,
    WIRE_OUTCOME,
    WIRE__COUNT
} wire_kind_t;

/* One message: the envelope fields and the body named by kind. The schema
 * version is not kept: codec_encode writes CODEC_SCHEMA_VERSION and
 * codec_decode accepts nothing else. Dates and instants must lie within
 * RC_YEAR_MIN..RC_YEAR_MAX; 1970-01-01 (0) is refused as "not set". */
typedef struct {
    char event_id[CODEC_ID_MAX + 1]; /* stable: a resend carries the same id */
    uint64_t seq;                    /* publisher's sequence within the topic */
    char urn[RC_URN_LEN + 1];        /* the school; may be "" for WIRE_TICK */
    wire_kind_t kind;
    union {
        mark_t mark; /* mark.urn must equal urn */
        clock_tick_t tick;
        case_fact_t fact;
        refdata_change_t ref;
        pupil_event_t event;
        notify_outcome_t outcome;
    } u;
} wire_msg_t;

/* codec_msg_init zeroes *msg and sets its kind, with every optional date set
 * to RC_DATE_NONE; the caller fills in the rest. */
void codec_msg_init(wire_msg_t *msg, wire_kind_t kind);

/* codec_validate checks msg against every rule codec_decode applies. Returns
 * RC_OK, or RC_EINVAL with why (when not NULL) naming the field and the
 * problem, never its value. */
rc_err_t codec_validate(const wire_msg_t *msg, char why[CODEC_WHY_MAX]);

/* codec_encode validates msg and encodes it into a new buffer, *buf (owned by
 * the caller, who frees it with free()), of *len bytes. On error *buf is NULL
 * and *len 0: RC_EINVAL (why says why), RC_ETOOBIG when the encoding would
 * exceed CODEC_MAX_MESSAGE, RC_ENOMEM. */
rc_err_t codec_encode(const wire_msg_t *msg, uint8_t **buf, size_t *len, char why[CODEC_WHY_MAX]);

/* codec_decode reads one Envelope from buf[0..len) into *out. Any bytes are
 * safe. Returns RC_ETOOBIG when len > CODEC_MAX_MESSAGE (checked before any
 * byte is read), RC_EPARSE when the bytes are not a well-formed Envelope (or a
 * string field holds a NUL byte), RC_EINVAL when a field breaks a rule
 * (unknown schema version, missing event id, unknown code, bad UPN, unknown
 * enum value, string too long, text not printable UTF-8...), RC_ENOMEM. why (when not NULL) gets a
 * reason that names the field, never its value. *out is unspecified on error.
 * Fields added by a newer sender under the same schema version are ignored. */
rc_err_t codec_decode(const uint8_t *buf, size_t len, wire_msg_t *out, char why[CODEC_WHY_MAX]);

/* codec_msg_equal is true when a and b hold the same message (every envelope
 * and body field; bytes after a string's NUL do not count). */
int codec_msg_equal(const wire_msg_t *a, const wire_msg_t *b);

/* codec_event_id derives a stable event id from parts[0..n) (NUL-terminated
 * strings, none NULL): 32 lower-case hex digits of SipHash-2-4-128 under a
 * fixed key over each part's length (4 bytes, little-endian) then its bytes,
 * so ("ab", "c") and ("a", "bc") differ. The same parts give the same id on
 * any machine, in any run. Not a secret: anyone can recompute it. */
void codec_event_id(const char *const *parts, size_t n, char out[CODEC_EVENT_ID_HEX + 1]);

/* codec_event_id_mark derives a mark's event id from every field (urn, upn,
 * date, session, code, minutes_late, recorded_at), in their text forms, so
 * the same mark always has the same id and any change gives another. */
void codec_event_id_mark(const mark_t *m, char out[CODEC_EVENT_ID_HEX + 1]);

/* codec_topic writes the topic msg is published on (see the table above) into
 * out. Returns RC_EINVAL when msg->kind is unknown or an identifier the topic
 * needs is not valid. */
rc_err_t codec_topic(const wire_msg_t *msg, char out[CODEC_TOPIC_MAX]);

/* codec_topic_referral writes "referral.<la>.<urn>." for a referral event,
 * the topic LA subscribers filter on. Returns RC_EINVAL for any other message
 * or an invalid LA code or URN. */
rc_err_t codec_topic_referral(const wire_msg_t *msg, char out[CODEC_TOPIC_MAX]);

/* Stable lower-case names of the enum values ("stage_change", "cme",
 * "failed_temporary"), for topics, JSON, CSV and logs; "none" for 0 and
 * "unknown" out of range. referral_kind_name gives the SPEC section 5 kinds. */
const char *wire_kind_name(wire_kind_t k);
const char *staff_role_name(staff_role_t r);
const char *fact_kind_name(fact_kind_t k);
const char *refdata_kind_name(refdata_kind_t k);
const char *event_kind_name(event_kind_t k);
const char *alert_kind_name(alert_kind_t k);
const char *referral_kind_name(referral_kind_t k);
const char *channel_name(channel_t c);
const char *delivery_status_name(delivery_status_t s);

/* staff_role_parse, fact_kind_parse, alert_kind_parse and referral_kind_parse
 * read a name as above from s[0..len) (exact, lower case; "none" is not
 * accepted) into *out, for policy files and staff input. Return RC_EINVAL for
 * anything else. */
rc_err_t staff_role_parse(const char *s, size_t len, staff_role_t *out);
rc_err_t fact_kind_parse(const char *s, size_t len, fact_kind_t *out);
rc_err_t alert_kind_parse(const char *s, size_t len, alert_kind_t *out);
rc_err_t referral_kind_parse(const char *s, size_t len, referral_kind_t *out);

#endif
