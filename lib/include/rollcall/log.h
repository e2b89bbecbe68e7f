/* log.h - structured logs: one JSON object per line, a stable event id and typed fields.
 *
 *   log_info("ingest.batch_accepted", LOG_STR("urn", urn), LOG_INT("rows", n),
 *            LOG_UPN("upn_h", upn));
 *
 * writes to the sink (stderr unless log_open says otherwise):
 *
 *   {"ts":"2026-11-23T09:30:00.123Z","level":"info","svc":"ingest",
 *    "event":"ingest.batch_accepted","urn":"100001","rows":42,"upn_h":"3fa1..."}
 *
 * The level is checked before the fields are built: when a level is disabled
 * the macro's field arguments are not evaluated at all, so logging at debug
 * costs one function call.
 *
 * Personal data: never log names, phone numbers or email addresses, and
 * never a raw UPN. Log identifiers instead: URN, event ids, and a pupil's UPN
 * through LOG_UPN, which writes a keyed SipHash (libsodium crypto_shorthash)
 * of it in hex, so the same pupil gives the same hash under one key and the
 * UPN cannot be read back. As defence in depth, a LOG_STR value that looks
 * like an email address (contains '@') or a phone number (10 or more digits
 * in a run of digits, spaces, '-', '(', ')' and '+'; a raw UPN has 12) is
 * written as "[redacted]". That also catches machine identifiers with long
 * digit runs, such as Redis stream ids ("1700000000000-0"): log those with
 * LOG_ID, which skips the check and must only carry values the system made
 * itself, never anything that arrived in a request or a file.
 *
 * Lines are formatted in a stack buffer and written with one write(2), so
 * lines from several threads or processes sharing the sink do not
 * interleave. A line longer than LOG_LINE_MAX loses its last fields and gains
 * "truncated":true; a string value longer than LOG_VALUE_MAX is cut at a
 * character boundary and ends in "...". Invalid UTF-8 becomes U+FFFD and a
 * NULL string is written as null. Write errors are ignored: logging never
 * fails its caller.
 */
#ifndef ROLLCALL_LOG_H
#define ROLLCALL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/error.h"

#define LOG_LINE_MAX       8192
#define LOG_VALUE_MAX      1024
#define LOG_HASH_KEY_BYTES 16 /* crypto_shorthash_KEYBYTES */
#define LOG_UPN_HASH_HEX   16 /* hex digits of a UPN hash (8 bytes) */
#define LOG_REDACTED       "[redacted]"

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_OFF /* as a minimum level: log nothing */
} log_level_t;

typedef enum {
    LOG_FORMAT_JSON = 0, /* one JSON object per line (production) */
    LOG_FORMAT_TEXT      /* ts level svc event key=value... (for people at a terminal) */
} log_format_t;

typedef enum {
    LOG_F_END = 0, /* padding the macros add; skipped */
    LOG_F_STR,
    LOG_F_INT,
    LOG_F_DOUBLE,
    LOG_F_BOOL,
    LOG_F_UPN,
    LOG_F_ID
} log_ftype_t;

typedef struct {
    const char *key; /* a literal: "urn", "rows"; NULL is written as "?" */
    log_ftype_t type;
    union {
        const char *s; /* LOG_F_STR, LOG_F_UPN, LOG_F_ID; may be NULL */
        long long i;
        double d; /* non-finite values are written as null */
        int b;
    } v;
} log_field_t;

#define LOG_STR(k, val)  ((log_field_t){.key = (k), .type = LOG_F_STR, .v.s = (val)})
#define LOG_INT(k, val)  ((log_field_t){.key = (k), .type = LOG_F_INT, .v.i = (val)})
#define LOG_DBL(k, val)  ((log_field_t){.key = (k), .type = LOG_F_DOUBLE, .v.d = (val)})
#define LOG_BOOL(k, val) ((log_field_t){.key = (k), .type = LOG_F_BOOL, .v.b = !!(val)})
/* A UPN, written as its keyed hash; by convention the key is "upn_h". */
#define LOG_UPN(k, upn) ((log_field_t){.key = (k), .type = LOG_F_UPN, .v.s = (upn)})
/* A system-made identifier (stream id, endpoint): not checked for personal data. */
#define LOG_ID(k, val) ((log_field_t){.key = (k), .type = LOG_F_ID, .v.s = (val)})
#define LOG_END_       ((log_field_t){.key = NULL, .type = LOG_F_END})

/* LOG_AT logs event at level with the fields that follow, evaluating them
 * only when the level is enabled. */
#define LOG_AT(level, ...) LOG_AT_(level, __VA_ARGS__, LOG_END_)
#define LOG_AT_(level, event, ...)                                                                 \
    do {                                                                                           \
        if (log_enabled(level)) {                                                                  \
            const log_field_t log_fields_[] = {__VA_ARGS__};                                       \
            log_emit((level), (event), log_fields_, sizeof log_fields_ / sizeof log_fields_[0]);   \
        }                                                                                          \
    } while (0)

#define log_debug(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)

/* log_open points the process's one log sink at fd (not owned, not closed)
 * for service svc (copied; at most 31 bytes kept), writing lines at level
 * and above in format. hash_key (LOG_HASH_KEY_BYTES, copied) keys UPN
 * hashes; NULL draws a random key for this process, so hashes then differ
 * between processes and restarts. Call it before starting threads. Returns
 * RC_OK, or RC_EIO when libsodium cannot initialise. Until it is called,
 * lines go to stderr at info and above, as JSON, with svc "rollcall". */
rc_err_t log_open(const char *svc, log_level_t level, log_format_t format, int fd,
                  const unsigned char *hash_key);

/* log_close wipes the hash key and puts the sink back to its defaults. */
void log_close(void);

/* log_set_level changes the minimum level lines must have. */
void log_set_level(log_level_t level);

/* log_enabled is true when lines at level are written. */
int log_enabled(log_level_t level);

/* log_level_name returns "debug", "info", "warn", "error" or "off". */
const char *log_level_name(log_level_t level);

/* log_emit writes one line for event with fields[0..n) (LOG_F_END entries
 * skipped) if level is enabled. Use the log_* macros rather than calling it,
 * so disabled levels cost nothing. event and every key should be literals. */
void log_emit(log_level_t level, const char *event, const log_field_t *fields, size_t n);

/* log_upn_hash writes the hex keyed hash of upn, as LOG_UPN would log it,
 * into out and returns out. A NULL upn hashes as "". */
char *log_upn_hash(const char *upn, char out[LOG_UPN_HASH_HEX + 1]);

/* log_looks_personal is true when s would be redacted as an email address
 * or phone number. NULL is not personal. */
int log_looks_personal(const char *s);

#endif
