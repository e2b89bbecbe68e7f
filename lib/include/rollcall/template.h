/* template.h - the messages Rollcall sends to families: texts, emails and
 * letters, one YAML file per template (templates/<id>.yaml, explained for
 * schools in docs/templates.md), with an optional per-policy override
 * (templates/<policy>/<id>.yaml) that wins for schools running that policy.
 *
 * A template's texts hold merge fields written as GOV.UK Notify writes them,
 * ((pupil_forename)), from the fixed list below. Everything is checked on
 * load: unknown keys and fields, empty channels, an id that does not match
 * its file name, two files for one id, and a text that would cost more than
 * TEMPLATE_SMS_MAX_SEGMENTS texts with typical names. A set that loads can
 * be rendered without surprises; render refuses only a missing or malformed
 * value (and an SMS over GOV.UK Notify's limit).
 *
 * Rendered locally for the Twilio and webhook gateways; for GOV.UK Notify,
 * the notify: ids and template_fields_used give template_id and the
 * personalisation. No I/O except template_set_load and template_load_file. */
#ifndef ROLLCALL_TEMPLATE_H
#define ROLLCALL_TEMPLATE_H

#include <stddef.h>

#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/policy.h"

#define TEMPLATE_ID_MAX      CODEC_NAME_MAX /* template ids and policy folder names */
#define TEMPLATE_TITLE_MAX   200
#define TEMPLATE_UUID_LEN    36 /* a GOV.UK Notify template id */
#define TEMPLATE_ERR_MAX     512
#define TEMPLATE_MAX_BYTES   (64 * 1024) /* a template file larger than this is refused */
#define TEMPLATE_MAX_FILES   2048        /* template files in one set */
#define TEMPLATE_TEXT_MAX    (16 * 1024) /* bytes of one text (an SMS, a letter's body) */
#define TEMPLATE_SUBJECT_MAX 200         /* bytes of an email's or letter's subject */
#define TEMPLATE_VALUE_MAX   500         /* bytes of one merge field's value */
#define TEMPLATE_SMS_MAX_SEGMENTS                                                                  \
    4 /* the most texts one SMS template may cost (typical values)                                 \
       */
#define TEMPLATE_SMS_MAX_CHARS                                                                     \
    918                         /* a rendered SMS longer than this is refused (Notify's limit)     \
                                 */
#define TEMPLATE_DATE_STRLEN 32 /* "Wednesday 30 September 2026" and NUL */
#define TEMPLATE_PCT_STRLEN  8  /* "100", "89.9" and NUL */
#define TEMPLATE_YEAR_STRLEN 16 /* "Reception", "Year 14" and NUL */
#define TEMPLATE_BLANK       "__________" /* a letter's field with no value: filled in by hand */

/* The template the social_worker alert sends (an email to the pupil's social
 * worker); the policy names no template for it. */
#define TEMPLATE_SOCIAL_WORKER_ID "social_worker_absence"

/* The merge fields: ((name)) in a template. docs/templates.md says what each
 * holds; template_field_name gives the name. Values are plain text: the
 * renderer escapes them for HTML, never the caller. */
typedef enum {
    FIELD_PARENT_NAME = 0,       /* the parent or carer written to: "Sam Khan" */
    FIELD_PUPIL_FORENAME,        /* "Ava" */
    FIELD_PUPIL_SURNAME,         /* "Khan" */
    FIELD_PUPIL_FULL_NAME,       /* "Ava Khan" */
    FIELD_PUPIL_NAMES,           /* brothers and sisters in one message: "Ava and Ben" */
    FIELD_YEAR_GROUP,            /* "Year 7", "Reception" (template_format_year_group) */
    FIELD_REGISTRATION_GROUP,    /* the form or registration group: "7B"; "" when not known */
    FIELD_DATE_OF_BIRTH,         /* "14 March 2013" */
    FIELD_SCHOOL_NAME,           /* "Hill View Academy" */
    FIELD_SCHOOL_PHONE,          /* "01632 960123" */
    FIELD_DATE,                  /* the school day the message is about (template_format_date) */
    FIELD_SESSION,               /* "morning" or "afternoon" */
    FIELD_DATES,                 /* the dates the message is about: the late marks of a half term */
    FIELD_ATTENDANCE_PCT,        /* "87.5", without the % (template_format_pct) */
    FIELD_BAND,                  /* the policy's band: "amber", "upper amber" */
    FIELD_TARGET_PCT,            /* the school's target: "97" */
    FIELD_DAYS_MISSED,           /* school days missed this school year: "9.5" */
    FIELD_UNAUTHORISED_SESSIONS, /* sessions of unauthorised absence (G N O U) this school year */
    FIELD_LATE_MARKS,            /* late arrivals (L and U) this school year */
    FIELD_LATE_AFTER_CLOSE,      /* arrivals after the register closed (U) this school year */
    FIELD_STAGE_TITLE,           /* the stage's title in the policy */
    FIELD_REVIEW_DATE,           /* when the pupil's attendance will be looked at again */
    FIELD_MEETING_DATE,          /* a meeting's day, once staff have booked it */
    FIELD_MEETING_TIME,          /* "3:30pm" */
    FIELD_MEETING_PLACE,         /* "the main office" */
    FIELD__COUNT
} template_field_t;

/* The values a message is rendered with: value[f] NULL means not known. The
 * strings are the caller's; they must outlive the template_render call. */
typedef struct {
    const char *value[FIELD__COUNT];
} template_fields_t;

/* One template, as loaded. Read-only: the set owns every string. A channel
 * the template does not have is NULL. Texts have their trailing blank lines
 * and spaces removed. */
typedef struct {
    char id[TEMPLATE_ID_MAX + 1];
    char policy[TEMPLATE_ID_MAX + 1];   /* "" for templates/<id>.yaml, else the override's policy */
    char title[TEMPLATE_TITLE_MAX + 1]; /* for staff; the id when the file gives none */
    char *path;                         /* the file it was read from, for messages */
    char *sms;                          /* the text message */
    int sms_unicode;                    /* 1: the school accepts Unicode (dearer) texts */
    char *email_subject, *email_text;
    char *email_html;     /* NULL: made from email_text (paragraphs and line breaks) */
    char *letter_subject; /* may be NULL when the letter has a body */
    char *letter_body;
    char notify_sms_id[TEMPLATE_UUID_LEN + 1];   /* GOV.UK Notify's template id, or "" */
    char notify_email_id[TEMPLATE_UUID_LEN + 1]; /* GOV.UK Notify's template id, or "" */
} template_t;

typedef struct template_set template_set_t;

/* template_field_name returns the field's name as written between (( and ))
 * ("pupil_forename"), or "unknown" out of range. */
const char *template_field_name(template_field_t f);

/* template_field_parse finds the field named s[0..len) (exactly, small
 * letters); RC_ENOTFOUND otherwise. */
rc_err_t template_field_parse(const char *s, size_t len, template_field_t *out);

/* template_load reads one template from yaml[0..len); filename is used only
 * in messages. expect_id, when not NULL, is the id the file must declare
 * (its name without .yaml); policy ("" or NULL for a default template) is
 * recorded in the result. Returns RC_OK with *out (free with
 * template_destroy), RC_ENOMEM, or RC_EPARSE (not YAML) / RC_EINVAL (not a
 * template) with err "<filename>:<line>:<column>: <problem>". */
rc_err_t template_load(const char *yaml, size_t len, const char *filename, const char *expect_id,
                       const char *policy, template_t **out, char err[TEMPLATE_ERR_MAX]);

/* template_load_file reads path and calls template_load with the id its
 * name gives; RC_EIO when it cannot be read, RC_ETOOBIG over
 * TEMPLATE_MAX_BYTES. */
rc_err_t template_load_file(const char *path, const char *policy, template_t **out,
                            char err[TEMPLATE_ERR_MAX]);

/* template_destroy frees *self_p and sets it NULL; NULL-safe. */
void template_destroy(template_t **self_p);

/* template_set_load reads every template under dir: dir/<id>.yaml (or .yml)
 * and dir/<policy>/<id>.yaml, skipping names that start with '.' and files
 * of other kinds (a README). All or nothing: the first problem fails the
 * load with err naming the file (and line:column), and *out stays NULL.
 * Problems beyond a single file's: two files for one id (letter_1.yaml and
 * letter_1.yml, or ids differing only in capitals), a folder inside a
 * policy's folder, a folder name that cannot be a policy. RC_EINVAL or
 * RC_EPARSE for those; RC_ENOTFOUND when there are no templates at all;
 * RC_EIO when dir cannot be read; RC_ETOOBIG over TEMPLATE_MAX_FILES. */
rc_err_t template_set_load(const char *dir, template_set_t **out, char err[TEMPLATE_ERR_MAX]);

/* template_set_destroy frees *self_p (and its templates) and sets it NULL;
 * NULL-safe. */
void template_set_destroy(template_set_t **self_p);

/* template_set_count and template_set_at list the set's templates, defaults
 * and overrides alike, sorted by policy ("" first) then id. at returns NULL
 * out of range. */
size_t template_set_count(const template_set_t *set);
const template_t *template_set_at(const template_set_t *set, size_t i);

/* template_find returns the template id for a school running policy_name:
 * templates/<policy_name>/<id>.yaml when there is one, else
 * templates/<id>.yaml, else NULL. policy_name may be NULL or "". */
const template_t *template_find(const template_set_t *set, const char *policy_name, const char *id);

/* template_has is true when t has the channel (SMS, email or letter). */
int template_has(const template_t *t, channel_t channel);

/* template_check_policy checks that every template policy p can ask for is
 * in set with the channel it is sent on: each stage's letter/sms/email
 * actions and on_improved actions, the first_day alert's template (SMS) and,
 * with the social_worker alert, TEMPLATE_SOCIAL_WORKER_ID (email).
 * policy_file names p in messages (p->name when NULL). RC_OK, or
 * RC_ENOTFOUND with err naming the policy line and what is missing. */
rc_err_t template_check_policy(const template_set_t *set, const policy_t *p,
                               const char *policy_file, char err[TEMPLATE_ERR_MAX]);

/* template_fields_used writes to out the fields the channel's texts use, in
 * the order they first appear, each once, and returns how many (0 when t
 * lacks the channel). For GOV.UK Notify, these are the personalisation. */
size_t template_fields_used(const template_t *t, channel_t channel,
                            template_field_t out[FIELD__COUNT]);

/* How an SMS is sent and what it costs. */
typedef enum {
    SMS_GSM7 = 1, /* the GSM 03.38 alphabet: 160 characters in one text, 153 a part after */
    SMS_UCS2,     /* anything else: 70 in one text, 67 a part after */
} sms_encoding_t;

typedef struct {
    sms_encoding_t encoding;
    unsigned segments; /* texts charged for; 0 for an empty message */
    unsigned units;    /* GSM-7 septets (extension characters count 2), or UTF-16 code units */
    unsigned chars;    /* Unicode characters */
} sms_count_t;

/* sms_segments counts what text[0..len) (UTF-8) costs as an SMS. GSM-7 when
 * every character is in the GSM 03.38 default alphabet or its extension
 * table (^ { } \ [ ~ ] | and the euro sign take two septets), else UCS-2
 * (characters beyond U+FFFF, such as emoji, take two units). A long message
 * is split into parts without cutting an escape pair or a surrogate pair.
 * RC_EINVAL when text is not well-formed UTF-8. */
rc_err_t sms_segments(const char *text, size_t len, sms_count_t *out);

/* A rendered message; free with template_message_free. */
typedef struct {
    channel_t channel;
    char *subject;   /* email; letter (NULL when the letter has none) */
    char *text;      /* the SMS, the email's plain text, or the letter's body */
    char *html;      /* email: its HTML body; NULL otherwise */
    sms_count_t sms; /* SMS: its encoding and cost */
    unsigned blanks; /* letter: fields with no value, printed as TEMPLATE_BLANK */
} template_message_t;

/* template_render fills t's channel with fields into *out. Values are put
 * in as they are in plain text (and the SMS), HTML-escaped in the email's
 * HTML. The SMS then has Notify's safe replacements made (curly quotes and
 * dashes to straight ones, no-break spaces to spaces) so that a name typed
 * in a word processor does not make it a Unicode text. A field with no value
 * is an error for SMS and email (nothing half-filled is sent); in a letter it
 * is printed as TEMPLATE_BLANK, counted in out->blanks.
 * Returns RC_OK; RC_ENOTFOUND when t lacks the channel; RC_EINVAL when a
 * value is missing, not UTF-8, holds a control character or is longer than
 * TEMPLATE_VALUE_MAX; RC_ETOOBIG for an SMS over TEMPLATE_SMS_MAX_CHARS;
 * RC_ENOMEM. err names the field (never its value) on failure; *out is then
 * empty. */
rc_err_t template_render(const template_t *t, channel_t channel, const template_fields_t *fields,
                         template_message_t *out, char err[TEMPLATE_ERR_MAX]);

/* template_message_free frees m's strings and zeroes it; NULL-safe. */
void template_message_free(template_message_t *m);

/* template_format_date writes "Monday 3 November 2025" into out and returns out. */
char *template_format_date(rc_date_t date, char out[TEMPLATE_DATE_STRLEN]);

/* template_format_pct writes an attendance percentage rounded down to one
 * decimal place, without a trailing ".0" or the % sign ("89.9", "90",
 * "100"), so that a pupil below 90% never reads "90"; clamped to 0..100. */
char *template_format_pct(double pct, char out[TEMPLATE_PCT_STRLEN]);

/* template_format_year_group writes "Nursery 1", "Nursery 2", "Reception"
 * or "Year N" (records.h's numbering: -2, -1, 0, 1..14) and returns out. */
char *template_format_year_group(int year_group, char out[TEMPLATE_YEAR_STRLEN]);

/* template_join_names writes names[0..n) as "Ava", "Ava and Ben" or "Ava,
 * Ben and Cal" into out[0..cap), for pupil_names. RC_ETOOBIG when it does
 * not fit (out is then ""), RC_EINVAL when n is 0. */
rc_err_t template_join_names(const char *const *names, size_t n, char *out, size_t cap);

#endif
