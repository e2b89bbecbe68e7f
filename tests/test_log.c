/* test_log.c - JSON-lines logging: level gate, exact output, escaping, redaction, UPN hashes. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollcall/log.h"

/* The sink is a temporary file written through an O_APPEND descriptor, as
 * a service's stderr would be, and read back by path. */
static char sink_path[64];
static int sink_fd = -1;

static void open_sink(void)
{
    int fd;

    strcpy(sink_path, "/tmp/rollcall-test-log-XXXXXX");
    fd = mkstemp(sink_path);
    cr_assert(fd >= 0);
    close(fd);
    sink_fd = open(sink_path, O_WRONLY | O_APPEND);
    cr_assert(sink_fd >= 0);
}

static void close_sink(void)
{
    log_close();
    if (sink_fd >= 0)
        close(sink_fd);
    sink_fd = -1;
    unlink(sink_path);
}

TestSuite(log, .init = open_sink, .fini = close_sink);

static void start(log_level_t level, log_format_t format, const unsigned char *key)
{
    cr_assert_eq(log_open("ingest", level, format, sink_fd, key), RC_OK);
}

/* output returns everything logged so far. */
static const char *output(void)
{
    static char buf[4 * LOG_LINE_MAX];
    FILE *f = fopen(sink_path, "r");
    size_t n;

    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void reset(void)
{
    cr_assert_eq(ftruncate(sink_fd, 0), 0);
}

/* after_ts returns the line with its timestamp cut out, checking its shape:
 * {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ",... */
static const char *after_ts(const char *line)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    cr_assert_eq(strncmp(line, "{\"ts\":\"", 7), 0, "%s", line);
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        char c = line[7 + i];
        if (shape[i] == 'd')
            cr_assert(c >= '0' && c <= '9', "bad ts in %s", line);
        else
            cr_assert_eq(c, shape[i], "bad ts in %s", line);
    }
    return line + 7 + sizeof shape - 1;
}

static const char *HEAD = "\",\"level\":\"info\",\"svc\":\"ingest\",\"event\":\"t\"";

/* one_field logs a single field at info and returns the JSON after the
 * event, e.g. ,"k":"v"}\n */
static const char *one_field(log_field_t f)
{
    const char *rest;

    reset();
    log_info("t", f);
    rest = after_ts(output());
    cr_assert_eq(strncmp(rest, HEAD, strlen(HEAD)), 0, "%s", rest);
    return rest + strlen(HEAD);
}

/* A small strict checker for the flat objects the logger writes: string
 * keys, values that are strings, numbers, true, false or null, and strings
 * of well-formed UTF-8 with no raw control characters. */
static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p))
                p++;
            else
                return NULL;
        } else if (c < 0x80)
            p++;
        else {
            int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
            if (n == 0 || c > 0xF4)
                return NULL;
            for (int i = 1; i < n; i++)
                if (((unsigned char)p[i] & 0xC0) != 0x80)
                    return NULL;
            p += n;
        }
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    const char *start;
    if (*p == '-')
        p++;
    start = p;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == start || (*start == '0' && p - start > 1))
        return NULL;
    if (*p == '.') {
        start = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == start)
            return NULL;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == start)
            return NULL;
    }
    return p;
}

static int json_flat_line(const char *p)
{
    if (*p++ != '{')
        return 0;
    for (int first = 1; *p != '}'; first = 0) {
        if (!first && *p++ != ',')
            return 0;
        if (!(p = json_string(p)) || *p++ != ':')
            return 0;
        if (*p == '"')
            p = json_string(p);
        else if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
            p += 4;
        else if (strncmp(p, "false", 5) == 0)
            p += 5;
        else
            p = json_number(p);
        if (!p)
            return 0;
    }
    return strcmp(p, "}\n") == 0;
}

static int calls;

static long long counted(void)
{
    calls++;
    return 42;
}

Test(log, level_gates_before_formatting)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    log_debug("t.debug", LOG_INT("n", counted()), LOG_STR("s", "x"));
    cr_assert_eq(calls, 0, "fields of a disabled level must not be evaluated");
    cr_assert_str_eq(output(), "");
    cr_assert_not(log_enabled(LOG_LEVEL_DEBUG));
    cr_assert(log_enabled(LOG_LEVEL_ERROR));

    log_info("t.info", LOG_INT("n", counted()));
    cr_assert_eq(calls, 1);
    cr_assert(strstr(output(), "\"event\":\"t.info\",\"n\":42}\n"), "%s", output());

    log_set_level(LOG_LEVEL_ERROR);
    log_warn("t.warn", LOG_INT("n", counted()));
    cr_assert_eq(calls, 1);
    log_set_level(LOG_LEVEL_OFF);
    log_error("t.error", LOG_INT("n", counted()));
    cr_assert_eq(calls, 1);
    cr_assert_null(strstr(output(), "t.warn"));
    cr_assert_null(strstr(output(), "t.error"));
}

Test(log, exact_line)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    log_info("ingest.batch_accepted", LOG_STR("urn", "100001"), LOG_INT("rows", 42),
             LOG_DBL("pct", 96.5), LOG_BOOL("late", 1), LOG_BOOL("dup", 0));
    cr_assert_str_eq(after_ts(output()),
                     "\",\"level\":\"info\",\"svc\":\"ingest\",\"event\":\"ingest.batch_accepted\","
                     "\"urn\":\"100001\",\"rows\":42,\"pct\":96.5,\"late\":true,\"dup\":false}\n");
}

Test(log, event_without_fields_and_levels)
{
    start(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON, NULL);
    log_debug("a");
    log_warn("b");
    log_error("c");
    cr_assert(strstr(output(), "\"level\":\"debug\",\"svc\":\"ingest\",\"event\":\"a\"}\n"));
    cr_assert(strstr(output(), "\"level\":\"warn\",\"svc\":\"ingest\",\"event\":\"b\"}\n"));
    cr_assert(strstr(output(), "\"level\":\"error\",\"svc\":\"ingest\",\"event\":\"c\"}\n"));
    cr_assert_str_eq(log_level_name(LOG_LEVEL_WARN), "warn");
}

Test(log, escaping)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    cr_assert_str_eq(one_field(LOG_STR("s", "a\"b\\c/d")), ",\"s\":\"a\\\"b\\\\c/d\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("s", "\n\r\t\b\f\x01\x1f\x7f")),
                     ",\"s\":\"\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("k\"ey", "v")), ",\"k\\\"ey\":\"v\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("s", "\xe2\x80\xa8")), ",\"s\":\"\\u2028\"}\n");
}

Test(log, utf8_kept_and_invalid_replaced)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    /* é, a CJK character and an emoji are well formed and pass through. */
    cr_assert_str_eq(one_field(LOG_STR("s", "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80")),
                     ",\"s\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"}\n");
    /* A stray byte, a truncated sequence, an overlong '/', a surrogate. */
    cr_assert_str_eq(one_field(LOG_STR("s", "a\xff"
                                            "b")),
                     ",\"s\":\"a\xef\xbf\xbd"
                     "b\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("s", "a\xc3")), ",\"s\":\"a\xef\xbf\xbd\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("s", "\xc0\xaf")), ",\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("s", "\xed\xa0\x80")),
                     ",\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}\n");
    cr_assert_str_eq(one_field(LOG_STR("s", "\xf4\x90\x80\x80")),
                     ",\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}\n");
}

Test(log, nulls_never_crash)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    cr_assert_str_eq(one_field(LOG_STR("s", NULL)), ",\"s\":null}\n");
    cr_assert_str_eq(one_field(LOG_UPN("upn_h", NULL)), ",\"upn_h\":null}\n");
    cr_assert_str_eq(one_field(LOG_STR(NULL, "v")), ",\"?\":\"v\"}\n");
    log_info(NULL, LOG_INT("n", 1));
    cr_assert(strstr(output(), "\"event\":null,\"n\":1}\n"), "%s", output());
    log_emit(LOG_LEVEL_INFO, "empty", NULL, 0);
    cr_assert(strstr(output(), "\"event\":\"empty\"}\n"), "%s", output());
}

Test(log, numbers)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    cr_assert_str_eq(one_field(LOG_INT("i", LLONG_MIN)), ",\"i\":-9223372036854775808}\n");
    cr_assert_str_eq(one_field(LOG_DBL("d", 0.1)), ",\"d\":0.1}\n");
    cr_assert_str_eq(one_field(LOG_DBL("d", -2.0)), ",\"d\":-2}\n");
    cr_assert_str_eq(one_field(LOG_DBL("d", 1e300)), ",\"d\":1e+300}\n");
    cr_assert_str_eq(one_field(LOG_DBL("d", NAN)), ",\"d\":null}\n");
    cr_assert_str_eq(one_field(LOG_DBL("d", INFINITY)), ",\"d\":null}\n");
}

Test(log, personal_data_redacted)
{
    static const char *const personal[] = {
        "parent@example.com", "07700 900123",  "+44 7700 900123",        "(07700) 900-123",
        "07700900123",        "A123456789012", "call 0161 496 0000 now",
    };
    static const char *const fine[] = {
        "100001",
        "tcp://127.0.0.1:5561",
        "2026-11-23",
        "2026-11-23T09:30:00.123Z",
        "192.168.100.200",
        "rules-1",
        "100001,100002,100003",
    };

    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    for (size_t i = 0; i < sizeof personal / sizeof personal[0]; i++) {
        cr_assert(log_looks_personal(personal[i]), "%s", personal[i]);
        cr_assert_str_eq(one_field(LOG_STR("v", personal[i])), ",\"v\":\"[redacted]\"}\n");
    }
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        cr_assert_not(log_looks_personal(fine[i]), "%s", fine[i]);
    cr_assert_not(log_looks_personal(NULL));
}

Test(log, ids_skip_the_personal_data_check)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    /* A Redis stream id looks like a phone number to the guard... */
    cr_assert_str_eq(one_field(LOG_STR("id", "1700000000000-0")), ",\"id\":\"[redacted]\"}\n");
    /* ...so system-made ids go through LOG_ID, still escaped. */
    cr_assert_str_eq(one_field(LOG_ID("id", "1700000000000-0")), ",\"id\":\"1700000000000-0\"}\n");
    cr_assert_str_eq(one_field(LOG_ID("id", "a\"b")), ",\"id\":\"a\\\"b\"}\n");
    cr_assert_str_eq(one_field(LOG_ID("id", NULL)), ",\"id\":null}\n");
}

Test(log, upn_hashed_with_key)
{
    static const unsigned char key[LOG_HASH_KEY_BYTES] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                          8, 9, 10, 11, 12, 13, 14, 15};
    char h1[LOG_UPN_HASH_HEX + 1], h2[LOG_UPN_HASH_HEX + 1], h3[LOG_UPN_HASH_HEX + 1];
    char want[64];

    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, key);
    /* SipHash-2-4 reference vector: empty input under key 00..0f. */
    cr_assert_str_eq(log_upn_hash("", h1), "310e0edd47db6f72");
    log_upn_hash("A123456789012", h1);
    log_upn_hash("A123456789012", h2);
    log_upn_hash("B123456789012", h3);
    cr_assert_str_eq(h1, h2);
    cr_assert_str_neq(h1, h3);
    cr_assert_eq(strspn(h1, "0123456789abcdef"), LOG_UPN_HASH_HEX);

    snprintf(want, sizeof want, ",\"upn_h\":\"%s\"}\n", h1);
    cr_assert_str_eq(one_field(LOG_UPN("upn_h", "A123456789012")), want);
    cr_assert_null(strstr(output(), "A123456789012"));
    cr_assert_null(strstr(output(), "123456789012"));
}

Test(log, upn_hash_random_key_differs_per_open)
{
    char h1[LOG_UPN_HASH_HEX + 1], h2[LOG_UPN_HASH_HEX + 1];

    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    log_upn_hash("A123456789012", h1);
    cr_assert_str_eq(log_upn_hash("A123456789012", h2), h1);
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    cr_assert_str_neq(log_upn_hash("A123456789012", h2), h1);
}

Test(log, every_line_is_valid_json)
{
    unsigned char junk[300];

    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    srand(7);
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof junk - 1; i++)
            junk[i] = (unsigned char)(1 + rand() % 255);
        junk[rand() % (sizeof junk - 1)] = '\0';
        junk[sizeof junk - 1] = '\0';
        reset();
        log_info((const char *)junk, LOG_STR((const char *)junk, (const char *)junk),
                 LOG_DBL("d", rand() / 7.0), LOG_INT("i", rand()), LOG_UPN("u", "x"));
        cr_assert(json_flat_line(output()), "invalid JSON: %s", output());
    }
}

Test(log, long_values_and_lines_truncated)
{
    char *big = malloc(LOG_LINE_MAX * 2);
    const char *out;

    memset(big, 'x', LOG_LINE_MAX * 2 - 1);
    big[LOG_LINE_MAX * 2 - 1] = '\0';
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);

    log_info("t", LOG_STR("big", big));
    out = output();
    cr_assert(json_flat_line(out), "%s", out);
    cr_assert(strstr(out, "xxx...\"}\n"), "%s", out);
    cr_assert_lt(strlen(out), LOG_VALUE_MAX + 200);

    reset();
    log_info("t", LOG_STR("a", big), LOG_STR("b", big), LOG_STR("c", big), LOG_STR("d", big),
             LOG_STR("e", big), LOG_STR("f", big), LOG_STR("g", big), LOG_STR("h", big),
             LOG_STR("i", big), LOG_INT("last", 1));
    out = output();
    cr_assert(json_flat_line(out), "%s", out);
    cr_assert_leq(strlen(out), LOG_LINE_MAX);
    cr_assert(strstr(out, ",\"truncated\":true}\n"), "%s", out);
    cr_assert_null(strstr(out, "\"last\""));
    free(big);
}

Test(log, text_format)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, NULL);
    log_warn("redis.retry", LOG_STR("addr", "127.0.0.1:6379"), LOG_INT("attempt", 2),
             LOG_STR("who", "a@b.c"));
    cr_assert(
        strstr(output(),
               "Z warn ingest redis.retry addr=\"127.0.0.1:6379\" attempt=2 who=\"[redacted]\"\n"),
        "%s", output());
}

Test(log, errno_preserved)
{
    start(LOG_LEVEL_INFO, LOG_FORMAT_JSON, NULL);
    errno = ECONNREFUSED;
    log_info("t", LOG_STR("s", "x"));
    cr_assert_eq(errno, ECONNREFUSED);
}

Test(log, defaults_before_open_and_after_close)
{
    cr_assert(log_enabled(LOG_LEVEL_INFO));
    cr_assert_not(log_enabled(LOG_LEVEL_DEBUG));
    start(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON, NULL);
    cr_assert(log_enabled(LOG_LEVEL_DEBUG));
    log_close();
    cr_assert_not(log_enabled(LOG_LEVEL_DEBUG));
}
