/* log.c - the JSON-lines log sink: level gate, escaping, personal-data guards. */
#include "rollcall/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* The process's one sink. Set by log_open before threads start, read-only
 * after that, so formatting needs no lock. */
static struct {
    char svc[32];
    log_level_t level;
    log_format_t format;
    int fd;
    unsigned char key[LOG_HASH_KEY_BYTES];
    int key_set;
} sink = {"rollcall", LOG_LEVEL_INFO, LOG_FORMAT_JSON, STDERR_FILENO, {0}, 0};

/* Room kept at the end of the buffer so a full line can still be closed. */
#define LINE_RESERVE sizeof(",\"truncated\":true}\n")

/* A line being built; `full` records that something did not fit. */
typedef struct {
    char buf[LOG_LINE_MAX];
    size_t len;
    size_t cap;
    int full;
} line_t;

static void put(line_t *l, const char *s, size_t n)
{
    if (l->full || n > l->cap - l->len) {
        l->full = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_str(line_t *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_char(line_t *l, char c)
{
    put(l, &c, 1);
}

/* utf8_valid returns the length (1-4) of the well-formed UTF-8 sequence at
 * s[0..n), or 0 when it is malformed, overlong, a surrogate or above
 * U+10FFFF (RFC 3629 table 3-7). */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* put_escaped writes s as the inside of a JSON string: quotes, backslash
 * and control characters escaped, U+2028/2029 escaped for JavaScript
 * readers, malformed UTF-8 replaced by U+FFFD, cut after LOG_VALUE_MAX
 * input bytes with "..." appended. */
static void put_escaped(line_t *l, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    size_t i = 0;

    while (i < n) {
        size_t len = utf8_valid(s + i, n - i);
        if (i + (len ? len : 1) > LOG_VALUE_MAX) {
            put_str(l, "...");
            return;
        }
        if (len == 0) {
            put_str(l, "\xEF\xBF\xBD");
            i++;
            continue;
        }
        if (len == 1) {
            unsigned char c = s[i];
            switch (c) {
            case '"':
                put_str(l, "\\\"");
                break;
            case '\\':
                put_str(l, "\\\\");
                break;
            case '\n':
                put_str(l, "\\n");
                break;
            case '\r':
                put_str(l, "\\r");
                break;
            case '\t':
                put_str(l, "\\t");
                break;
            case '\b':
                put_str(l, "\\b");
                break;
            case '\f':
                put_str(l, "\\f");
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                    put(l, u, sizeof u);
                } else
                    put_char(l, (char)c);
            }
        } else if (len == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            put_str(l, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
        } else
            put(l, str + i, len);
        i += len;
    }
}

static void put_quoted(line_t *l, const char *s)
{
    put_char(l, '"');
    put_escaped(l, s);
    put_char(l, '"');
}

int log_looks_personal(const char *s)
{
    int digits = 0;

    if (!s)
        return 0;
    if (strchr(s, '@'))
        return 1;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (++digits >= 10)
                return 1;
        } else if (!strchr(" -()+", *s))
            digits = 0;
    }
    return 0;
}

/* ensure_key gives the process a random hash key if log_open has not set
 * one. Returns 0 when libsodium cannot initialise. */
static int ensure_key(void)
{
    if (sink.key_set)
        return 1;
    if (sodium_init() < 0)
        return 0;
    randombytes_buf(sink.key, sizeof sink.key);
    sink.key_set = 1;
    return 1;
}

char *log_upn_hash(const char *upn, char out[LOG_UPN_HASH_HEX + 1])
{
    unsigned char h[crypto_shorthash_BYTES];
    const char *s = upn ? upn : "";

    if (!ensure_key()) {
        /* Never fall back to anything derived from the UPN without a key. */
        memset(out, '0', LOG_UPN_HASH_HEX);
        out[LOG_UPN_HASH_HEX] = '\0';
        return out;
    }
    crypto_shorthash(h, (const unsigned char *)s, strlen(s), sink.key);
    sodium_bin2hex(out, LOG_UPN_HASH_HEX + 1, h, sizeof h);
    return out;
}

const char *log_level_name(log_level_t level)
{
    switch (level) {
    case LOG_LEVEL_DEBUG:
        return "debug";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_WARN:
        return "warn";
    case LOG_LEVEL_ERROR:
        return "error";
    case LOG_LEVEL_OFF:
        break;
    }
    return "off";
}

int log_enabled(log_level_t level)
{
    return level >= sink.level && level < LOG_LEVEL_OFF;
}

void log_set_level(log_level_t level)
{
    sink.level = level;
}

rc_err_t log_open(const char *svc, log_level_t level, log_format_t format, int fd,
                  const unsigned char *hash_key)
{
    if (sodium_init() < 0)
        return RC_EIO;
    snprintf(sink.svc, sizeof sink.svc, "%s", svc ? svc : "rollcall");
    sink.level = level;
    sink.format = format;
    sink.fd = fd;
    if (hash_key)
        memcpy(sink.key, hash_key, sizeof sink.key);
    else
        randombytes_buf(sink.key, sizeof sink.key);
    sink.key_set = 1;
    return RC_OK;
}

void log_close(void)
{
    sodium_memzero(sink.key, sizeof sink.key);
    sink.key_set = 0;
    snprintf(sink.svc, sizeof sink.svc, "rollcall");
    sink.level = LOG_LEVEL_INFO;
    sink.format = LOG_FORMAT_JSON;
    sink.fd = STDERR_FILENO;
}

static void put_timestamp(line_t *l)
{
    struct timespec ts;
    struct tm tm;
    char buf[64]; /* 25 bytes used; the rest quiets -Wformat-truncation */

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    put_str(l, buf);
}

/* put_value writes a field's value, JSON-typed; the text format uses the
 * same spelling, which keeps strings quoted and escaped there too. */
static void put_value(line_t *l, const log_field_t *f)
{
    char num[40];

    switch (f->type) {
    case LOG_F_STR:
        if (!f->v.s)
            put_str(l, "null");
        else
            put_quoted(l, log_looks_personal(f->v.s) ? LOG_REDACTED : f->v.s);
        break;
    case LOG_F_ID:
        if (!f->v.s)
            put_str(l, "null");
        else
            put_quoted(l, f->v.s);
        break;
    case LOG_F_INT:
        snprintf(num, sizeof num, "%lld", f->v.i);
        put_str(l, num);
        break;
    case LOG_F_DOUBLE:
        if (isfinite(f->v.d)) {
            snprintf(num, sizeof num, "%.15g", f->v.d);
            put_str(l, num);
        } else
            put_str(l, "null");
        break;
    case LOG_F_BOOL:
        put_str(l, f->v.b ? "true" : "false");
        break;
    case LOG_F_UPN:
        if (!f->v.s)
            put_str(l, "null");
        else {
            char h[LOG_UPN_HASH_HEX + 1];
            put_quoted(l, log_upn_hash(f->v.s, h));
        }
        break;
    case LOG_F_END:
        break;
    }
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere else to report it */
        buf += w;
        len -= (size_t)w;
    }
}

void log_emit(log_level_t level, const char *event, const log_field_t *fields, size_t n)
{
    line_t l;
    int json = sink.format == LOG_FORMAT_JSON;
    int saved_errno = errno; /* callers log errno-bearing failures and then read errno */

    if (!log_enabled(level))
        return;
    l.len = 0;
    l.cap = sizeof l.buf - LINE_RESERVE;
    l.full = 0;

    if (json) {
        put_str(&l, "{\"ts\":\"");
        put_timestamp(&l);
        put_str(&l, "\",\"level\":\"");
        put_str(&l, log_level_name(level));
        put_str(&l, "\",\"svc\":");
        put_quoted(&l, sink.svc);
        put_str(&l, ",\"event\":");
        if (event)
            put_quoted(&l, event);
        else
            put_str(&l, "null");
    } else {
        put_timestamp(&l);
        put_char(&l, ' ');
        put_str(&l, log_level_name(level));
        put_char(&l, ' ');
        put_escaped(&l, sink.svc);
        put_char(&l, ' ');
        put_escaped(&l, event ? event : "-");
    }

    for (size_t i = 0; i < n && !l.full; i++) {
        size_t mark = l.len;
        if (fields[i].type == LOG_F_END)
            continue;
        if (json) {
            put_char(&l, ',');
            put_quoted(&l, fields[i].key ? fields[i].key : "?");
            put_char(&l, ':');
        } else {
            put_char(&l, ' ');
            put_escaped(&l, fields[i].key ? fields[i].key : "?");
            put_char(&l, '=');
        }
        put_value(&l, &fields[i]);
        if (l.full)
            l.len = mark; /* drop the field that did not fit, whole */
    }

    /* The reserve is always free, so the closing bytes fit. */
    l.cap = sizeof l.buf;
    if (l.full) {
        l.full = 0;
        put_str(&l, json ? ",\"truncated\":true" : " truncated=true");
    }
    put_str(&l, json ? "}\n" : "\n");
    write_all(sink.fd, l.buf, l.len);
    errno = saved_errno;
}
