/* sim_text.h - the gateway simulator's pure text work: what Notify and Twilio
 * accept as a phone number or email address, which reserved recipients fail,
 * identifiers, timestamps and SMS segment counts. No I/O, no state. */
#ifndef ROLLCALL_SIM_TEXT_H
#define ROLLCALL_SIM_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define SIM_UUID_LEN     36 /* 8-4-4-4-12 hex digits */
#define SIM_SID_LEN      34 /* two letters and 32 hex digits: SM..., AC..., MG... */
#define SIM_PHONE_MAX    32 /* a normalised number: "+447700900123" */
#define SIM_TIME_ISO_MAX 64 /* "2026-11-23T09:30:00.123000Z", with room */
#define SIM_TIME_RFC_MAX 64 /* "Mon, 23 Nov 2026 09:30:00 +0000", with room */

/* What happens to an accepted message when its delivery receipt is due. */
typedef enum {
    SIM_OUTCOME_DELIVERED = 0,
    SIM_OUTCOME_PERMANENT, /* Notify permanent-failure; Twilio undelivered 30005 */
    SIM_OUTCOME_TEMPORARY, /* Notify temporary-failure; Twilio undelivered 30003 */
    SIM_OUTCOME_TECHNICAL, /* Notify technical-failure; Twilio failed 30008 */
    SIM_OUTCOME_SILENT     /* no receipt ever: the message stays "sending" / "sent" */
} sim_outcome_t;

/* sim_uk_mobile checks phone as GOV.UK Notify does for a service that may
 * only text UK mobiles, and writes it as +447xxxxxxxxx into out. Returns
 * NULL when it is one, else Notify's reason as a static sentence ("Not a UK
 * mobile number", "Too many digits", ...); out is then "". */
const char *sim_uk_mobile(const char *phone, char out[SIM_PHONE_MAX]);

/* sim_email_valid is true when s is an address Notify would accept: one
 * '@', a local part of the usual characters, a domain of at least two
 * labels. */
int sim_email_valid(const char *s);

/* sim_e164_valid is true when s is a number in E.164 form, as Twilio wants
 * its To: '+' and 8 to 15 digits, the first not 0. */
int sim_e164_valid(const char *s);

/* sim_uuid_valid is true when s is 8-4-4-4-12 hex digits (either case). */
int sim_uuid_valid(const char *s);

/* sim_sid_valid is true when s is prefix (two letters) and 32 hex digits. */
int sim_sid_valid(const char *s, const char *prefix);

/* sim_outcome_for says what the receipt for a message to `to` will be:
 * the reserved recipients of sim/README.md fail (a phone number in any form
 * Notify accepts, or E.164; an email address in any case); everyone else
 * gets delivered. NULL is delivered. */
sim_outcome_t sim_outcome_for(const char *to);

/* sim_outcome_notify_status names an outcome as a Notify status:
 * "delivered", "permanent-failure", ... and "sending" for SILENT. */
const char *sim_outcome_notify_status(sim_outcome_t o);

/* sim_outcome_twilio_status names an outcome as Twilio's final status
 * ("delivered", "undelivered", "failed"; "sent" for SILENT) and sets
 * *error_code to Twilio's error code (0 when delivered). */
const char *sim_outcome_twilio_status(sim_outcome_t o, int *error_code);

/* sim_sms_segments counts the SMS parts body (UTF-8) takes: 160 / 153
 * characters a part in GSM-7 (taken as plain ASCII here), 70 / 67 in UCS-2. */
int sim_sms_segments(const char *body);

/* sim_uuid_new writes a random version-4 UUID (lower case). */
void sim_uuid_new(char out[SIM_UUID_LEN + 1]);

/* sim_sid_new writes prefix and 32 random lower-case hex digits. */
void sim_sid_new(const char *prefix, char out[SIM_SID_LEN + 1]);

/* sim_time_iso writes ms (since the epoch) as Notify writes times:
 * "2026-11-23T09:30:00.123000Z". */
void sim_time_iso(int64_t ms, char out[SIM_TIME_ISO_MAX]);

/* sim_time_rfc2822 writes ms as Twilio writes times: "Mon, 23 Nov 2026
 * 09:30:00 +0000". */
void sim_time_rfc2822(int64_t ms, char out[SIM_TIME_RFC_MAX]);

/* sim_gmt_day is the GMT date of ms (since the epoch) as a day number
 * (days since 1970-01-01, as rollcall/date.h counts them). */
int32_t sim_gmt_day(int64_t ms);

/* sim_twilio_day reads the value of one of Twilio's DateSent filters into
 * *day (a GMT day number): "YYYY-MM-DD", or an ISO 8601 date-time with an
 * offset ("2026-09-02T09:30:00+01:00", "...Z"), of which Twilio compares
 * only the GMT date; a date-time without an offset counts by its date.
 * Returns 0, or -1 (*day untouched) for anything else, ">=2026-09-02"
 * included. */
int sim_twilio_day(const char *s, int32_t *day);

/* sim_now_ms is the wall clock in milliseconds since the epoch. */
int64_t sim_now_ms(void);

/* sim_url_decode decodes a form or query component in place ('+' is a
 * space, %XX a byte) and returns s. A bad escape is kept as it is. */
char *sim_url_decode(char *s);

/* sim_utf8_fix replaces each byte of s that is not part of valid UTF-8
 * with '?', in place, so the value can go into JSON; returns s. */
char *sim_utf8_fix(char *s);

#endif
