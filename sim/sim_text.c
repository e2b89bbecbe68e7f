/* sim_text.c - recipients, identifiers and timestamps as the real gateways write them. */
#include "sim_text.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rollcall/date.h"

/* The reserved recipients (sim/README.md keeps the same table for people).
 * 07700 900000-900999 is Ofcom's drama range, so no real phone is texted;
 * 07700 900002 / 900003 and the simulator.notify addresses are the ones
 * Notify's own test keys fail. */
static const struct {
    const char *to; /* a normalised UK mobile, or a lower-case email address */
    sim_outcome_t outcome;
} reserved[] = {
    {"+447700900999", SIM_OUTCOME_PERMANENT},
    {"+447700900998", SIM_OUTCOME_TEMPORARY},
    {"+447700900997", SIM_OUTCOME_TECHNICAL},
    {"+447700900996", SIM_OUTCOME_SILENT},
    {"+447700900002", SIM_OUTCOME_PERMANENT},
    {"+447700900003", SIM_OUTCOME_TEMPORARY},
    {"perm-fail@simulator.notify", SIM_OUTCOME_PERMANENT},
    {"temp-fail@simulator.notify", SIM_OUTCOME_TEMPORARY},
    {"tech-fail@simulator.notify", SIM_OUTCOME_TECHNICAL},
    {"no-receipt@simulator.notify", SIM_OUTCOME_SILENT},
};

const char *sim_uk_mobile(const char *phone, char out[SIM_PHONE_MAX])
{
    char digits[SIM_PHONE_MAX];
    size_t n = 0;
    const char *d;

    out[0] = '\0';
    for (const char *p = phone; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof digits)
                return "Too many digits";
            digits[n++] = *p;
        } else if (!strchr(" ()+-.\t", *p)) {
            return "Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -";
        }
    }
    digits[n] = '\0';
    d = digits;
    if (strncmp(d, "0044", 4) == 0)
        d += 4;
    else if (strncmp(d, "44", 2) == 0)
        d += 2;
    while (*d == '0') /* 07700..., and +44 (0)7700... */
        d++;
    if (*d != '7')
        return "Not a UK mobile number";
    if (strlen(d) > 10)
        return "Too many digits";
    if (strlen(d) < 10)
        return "Not enough digits";
    memcpy(out, "+44", 3);
    memcpy(out + 3, d, 11); /* ten digits and the NUL */
    return NULL;
}

static int label_valid(const char *s, size_t len)
{
    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && !((unsigned char)s[i] & 0x80))
            return 0;
    return 1;
}

int sim_email_valid(const char *s)
{
    const char *at = strchr(s, '@');
    size_t labels = 0;

    if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 320 || (size_t)(at - s) > 64)
        return 0;
    for (const char *p = s; p < at; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(".!#$%&'*+/=?^_`{|}~-", *p) &&
            !((unsigned char)*p & 0x80))
            return 0;
        if (*p == '.' && (p == s || p[1] == '.' || p + 1 == at))
            return 0;
    }
    for (const char *p = at + 1;;) {
        size_t len = strcspn(p, ".");
        if (!label_valid(p, len))
            return 0;
        labels++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return labels >= 2;
}

int sim_e164_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 9 && n <= 16 && s[0] == '+' && s[1] != '0' && strspn(s + 1, "0123456789") == n - 1;
}

int sim_uuid_valid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(s) != SIM_UUID_LEN)
        return 0;
    for (size_t i = 0; i < SIM_UUID_LEN; i++)
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int sim_sid_valid(const char *s, const char *prefix)
{
    return strlen(s) == SIM_SID_LEN && strncmp(s, prefix, 2) == 0 &&
           strspn(s + 2, "0123456789abcdefABCDEF") == SIM_SID_LEN - 2;
}

sim_outcome_t sim_outcome_for(const char *to)
{
    char key[SIM_PHONE_MAX];

    if (!to)
        return SIM_OUTCOME_DELIVERED;
    if (strchr(to, '@')) {
        for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
            if (strcasecmp(reserved[i].to, to) == 0)
                return reserved[i].outcome;
        return SIM_OUTCOME_DELIVERED;
    }
    if (sim_uk_mobile(to, key) != NULL)
        return SIM_OUTCOME_DELIVERED; /* not a UK mobile: nothing reserved there */
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(reserved[i].to, key) == 0)
            return reserved[i].outcome;
    return SIM_OUTCOME_DELIVERED;
}

const char *sim_outcome_notify_status(sim_outcome_t o)
{
    switch (o) {
    case SIM_OUTCOME_PERMANENT:
        return "permanent-failure";
    case SIM_OUTCOME_TEMPORARY:
        return "temporary-failure";
    case SIM_OUTCOME_TECHNICAL:
        return "technical-failure";
    case SIM_OUTCOME_SILENT:
        return "sending";
    case SIM_OUTCOME_DELIVERED:
        break;
    }
    return "delivered";
}

const char *sim_outcome_twilio_status(sim_outcome_t o, int *error_code)
{
    switch (o) {
    case SIM_OUTCOME_PERMANENT:
        *error_code = 30005; /* unknown destination handset */
        return "undelivered";
    case SIM_OUTCOME_TEMPORARY:
        *error_code = 30003; /* unreachable destination handset */
        return "undelivered";
    case SIM_OUTCOME_TECHNICAL:
        *error_code = 30008; /* unknown error */
        return "failed";
    case SIM_OUTCOME_SILENT:
        *error_code = 0;
        return "sent";
    case SIM_OUTCOME_DELIVERED:
        break;
    }
    *error_code = 0;
    return "delivered";
}

int sim_sms_segments(const char *body)
{
    size_t chars = 0;
    int ascii = 1;

    for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
        if (*p & 0x80)
            ascii = 0;
        if ((*p & 0xC0) != 0x80) /* count code points, not continuation bytes */
            chars++;
    }
    if (ascii)
        return chars <= 160 ? 1 : (int)((chars + 152) / 153);
    return chars <= 70 ? 1 : (int)((chars + 66) / 67);
}

void sim_uuid_new(char out[SIM_UUID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, SIM_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void sim_sid_new(const char *prefix, char out[SIM_SID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    out[0] = prefix[0];
    out[1] = prefix[1];
    sodium_bin2hex(out + 2, SIM_SID_LEN - 1, b, sizeof b);
}

void sim_time_iso(int64_t ms, char out[SIM_TIME_ISO_MAX])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, SIM_TIME_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000) * 1000);
}

void sim_time_rfc2822(int64_t ms, char out[SIM_TIME_RFC_MAX])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, SIM_TIME_RFC_MAX, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int32_t sim_gmt_day(int64_t ms)
{
    return time_local_date((rc_time_t)ms * 1000, 0);
}

int sim_twilio_day(const char *s, int32_t *day)
{
    size_t n = strlen(s);
    rc_date_t d;
    rc_time_t t;
    if (n < 10 || date_parse(s, 10, &d) != RC_OK)
        return -1;
    if (n == 10) {
        *day = d;
        return 0;
    }
    if (s[10] != 'T')
        return -1;
    if (time_parse_iso(s, n, &t, NULL) == RC_OK) {
        *day = time_local_date(t, 0);
        return 0;
    }
    /* No offset: Twilio takes the date as written. The time must still be
     * one, or any text after a 'T' would pass. */
    static const char shape[] = "dd:dd:dd";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[11 + i]) : s[11 + i] != shape[i])
            return -1;
    if (s[19] != '\0' && s[19] != '.')
        return -1;
    *day = d;
    return 0;
}

int64_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *sim_url_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return s;
}

char *sim_utf8_fix(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80             ? 1
                     : (*p & 0xE0) == 0xC0 ? 2
                     : (*p & 0xF0) == 0xE0 ? 3
                     : (*p & 0xF8) == 0xF0 ? 4
                                           : 0;
        size_t i = 1;
        while (i < len && (p[i] & 0xC0) == 0x80)
            i++;
        /* Overlong two-byte forms and surrogates are refused, as jansson does. */
        if (len == 0 || i < len || (len == 2 && *p < 0xC2) ||
            (len == 3 && *p == 0xED && p[1] >= 0xA0) || (len == 4 && *p > 0xF4) ||
            (len == 4 && *p == 0xF4 && p[1] >= 0x90) || (len == 3 && *p == 0xE0 && p[1] < 0xA0) ||
            (len == 4 && *p == 0xF0 && p[1] < 0x90)) {
            *p++ = '?';
            continue;
        }
        p += len;
    }
    return s;
}
