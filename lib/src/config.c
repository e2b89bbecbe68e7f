/* config.c - fills a config table from defaults, a file, the environment and argv. */
#include "rollcall/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "rollcall/log.h"

#ifndef ROLLCALL_VERSION
#define ROLLCALL_VERSION "0.0.0"
#endif
#ifndef ROLLCALL_GIT_REV
#define ROLLCALL_GIT_REV "unknown"
#endif

#define FILE_SUFFIX     "_file"
#define ENV_FILE_SUFFIX "_FILE"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* fail formats "origin: message" into err and returns code; origin may be
 * NULL. Every error leaves through here so messages share one shape. */
PRINTF_LIKE(5, 6)
static rc_err_t fail(rc_err_t code, char *err, size_t errlen, const char *origin, const char *fmt,
                     ...)
{
    va_list ap;
    int n = 0;

    if (!err || errlen == 0)
        return code;
    if (origin)
        n = snprintf(err, errlen, "%s: ", origin);
    if (n < 0 || (size_t)n >= errlen)
        return code;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

static void *field(const config_entry_t *e, void *cfg)
{
    return (char *)cfg + e->offset;
}

static const void *cfield(const config_entry_t *e, const void *cfg)
{
    return (const char *)cfg + e->offset;
}

/* key_eq compares a table name with key[0..len), where '-' in key stands for '_'. */
static int key_eq(const char *name, const char *key, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char c = key[i] == '-' ? '_' : key[i];
        if (name[i] != c)
            return 0;
    }
    return name[i] == '\0';
}

/* lookup finds key[0..len) in table; *via_file is set when key is a
 * secret's K_file companion rather than the entry itself. */
static const config_entry_t *lookup(const config_entry_t *table, const char *key, size_t len,
                                    int *via_file)
{
    const size_t sl = strlen(FILE_SUFFIX);

    *via_file = 0;
    for (const config_entry_t *e = table; e->name; e++)
        if (key_eq(e->name, key, len))
            return e;
    if (len <= sl || !key_eq(FILE_SUFFIX, key + len - sl, sl))
        return NULL;
    for (const config_entry_t *e = table; e->name; e++)
        if ((e->flags & CONFIG_F_SECRET) && key_eq(e->name, key, len - sl)) {
            *via_file = 1;
            return e;
        }
    return NULL;
}

/* format_duration writes ms in the largest unit that divides it exactly. */
static const char *format_duration(long long ms, char *buf, size_t len)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, len, "%lldh", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, len, "%lldm", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, len, "%llds", ms / 1000);
    else
        snprintf(buf, len, "%lldms", ms);
    return buf;
}

static rc_err_t parse_ll(const char *s, long long *out, char **endp)
{
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    if (end == s)
        return RC_EPARSE;
    if (errno == ERANGE)
        return RC_ERANGE;
    *endp = end;
    return RC_OK;
}

static rc_err_t parse_duration(const char *s, long long *ms)
{
    static const struct {
        const char *unit;
        long long mult;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    char *end;
    long long v;
    rc_err_t rc = parse_ll(s, &v, &end);

    if (rc != RC_OK)
        return rc;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (v > LLONG_MAX / units[i].mult || v < LLONG_MIN / units[i].mult)
            return RC_ERANGE;
        *ms = v * units[i].mult;
        return RC_OK;
    }
    return RC_EPARSE;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 1;
        }
    }
    return 0;
}

/* enum_list writes "a, b, c" for an enum's names into buf. */
static const char *enum_list(const config_entry_t *e, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; e->names[i] && n < len; i++) {
        int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", e->names[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return buf;
}

/* store parses value for entry e and writes the field; nothing is written
 * on error. String values are not echoed in messages: they may be secrets. */
static rc_err_t store(const config_entry_t *e, void *cfg, const char *value, const char *origin,
                      char *err, size_t errlen)
{
    long long v = 0;
    char *end = NULL;
    char a[32], b[32];
    rc_err_t rc;

    switch (e->type) {
    case CONFIG_T_INT:
        rc = parse_ll(value, &v, &end);
        if (rc == RC_EPARSE || (rc == RC_OK && *end != '\0'))
            return fail(RC_EPARSE, err, errlen, origin, "%s: '%.64s' is not a whole number",
                        e->name, value);
        if (rc != RC_OK || v < e->min || v > e->max)
            return fail(RC_ERANGE, err, errlen, origin, "%s: %.64s is out of range %lld..%lld",
                        e->name, value, e->min, e->max);
        *(int *)field(e, cfg) = (int)v;
        return RC_OK;
    case CONFIG_T_DURATION:
        rc = parse_duration(value, &v);
        if (rc == RC_EPARSE)
            return fail(RC_EPARSE, err, errlen, origin,
                        "%s: '%.64s' is not a duration (a whole number with unit ms, s, m or h, "
                        "such as 5s)",
                        e->name, value);
        if (rc != RC_OK || v < e->min || v > e->max)
            return fail(RC_ERANGE, err, errlen, origin, "%s: %.64s is out of range %s..%s", e->name,
                        value, format_duration(e->min, a, sizeof a),
                        format_duration(e->max, b, sizeof b));
        *(int64_t *)field(e, cfg) = (int64_t)v;
        return RC_OK;
    case CONFIG_T_BOOL:
        if (!parse_bool(value, (int *)field(e, cfg)))
            return fail(RC_EPARSE, err, errlen, origin,
                        "%s: '%.64s' is not yes/no, true/false, on/off or 1/0", e->name, value);
        return RC_OK;
    case CONFIG_T_ENUM:
        for (int i = 0; e->names[i]; i++)
            if (strcasecmp(value, e->names[i]) == 0) {
                *(int *)field(e, cfg) = i;
                return RC_OK;
            }
        {
            char list[256];
            return fail(RC_EINVAL, err, errlen, origin, "%s: '%.64s' is not one of %s", e->name,
                        value, enum_list(e, list, sizeof list));
        }
    case CONFIG_T_STRING:
    case CONFIG_T_PATH: {
        size_t len = strlen(value);
        const char *why = NULL;
        if (len >= e->size)
            return fail(RC_ERANGE, err, errlen, origin,
                        "%s: value is %zu bytes, longer than the limit of %zu", e->name, len,
                        e->size - 1);
        if (e->check && e->check(value, &why) != RC_OK)
            return fail(RC_EINVAL, err, errlen, origin, "%s: %s", e->name,
                        why ? why : "invalid value");
        memcpy(field(e, cfg), value, len + 1);
        return RC_OK;
    }
    case CONFIG_T_END:
        break;
    }
    return fail(RC_EINVAL, err, errlen, origin, "%s: entry has no type", e->name);
}

/* store_from_file reads the secret for e from the file at path (the whole
 * file, less one trailing newline) and stores it. An empty path clears it. */
static rc_err_t store_from_file(const config_entry_t *e, void *cfg, const char *path,
                                const char *origin, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t n;
    rc_err_t rc;

    if (path[0] == '\0')
        return store(e, cfg, "", origin, err, errlen);
    f = fopen(path, "rb");
    if (!f) {
        rc = fail(RC_EIO, err, errlen, origin, "%s%s: cannot open %s: %s", e->name, FILE_SUFFIX,
                  path, strerror(errno));
        goto out;
    }
    /* Two bytes beyond the capacity leave room for a "\r\n" to strip and
     * one more byte to tell "too long" from "exactly full". */
    buf = malloc(e->size + 3);
    if (!buf) {
        rc = fail(RC_ENOMEM, err, errlen, origin, "%s%s: out of memory", e->name, FILE_SUFFIX);
        goto out;
    }
    n = fread(buf, 1, e->size + 2, f);
    if (ferror(f)) {
        rc = fail(RC_EIO, err, errlen, origin, "%s%s: cannot read %s: %s", e->name, FILE_SUFFIX,
                  path, strerror(errno));
        goto out;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        rc = fail(RC_EINVAL, err, errlen, origin, "%s%s: %s holds a NUL byte", e->name, FILE_SUFFIX,
                  path);
        goto out;
    }
    if (n >= e->size) {
        rc = fail(RC_ERANGE, err, errlen, origin, "%s%s: %s is longer than the limit of %zu bytes",
                  e->name, FILE_SUFFIX, path, e->size - 1);
        goto out;
    }
    rc = store(e, cfg, buf, origin, err, errlen);
out:
    if (buf) {
        sodium_memzero(buf, e->size + 3);
        free(buf);
    }
    if (f)
        fclose(f);
    return rc;
}

rc_err_t config_set(const config_entry_t *table, void *cfg, const char *name, const char *value,
                    const char *origin, char *err, size_t errlen)
{
    int via_file;
    const config_entry_t *e;

    if (!name || !value)
        return fail(RC_EINVAL, err, errlen, origin, "missing key or value");
    e = lookup(table, name, strlen(name), &via_file);
    if (!e)
        return fail(RC_ENOTFOUND, err, errlen, origin, "unknown key '%.64s'", name);
    if (via_file)
        return store_from_file(e, cfg, value, origin, err, errlen);
    return store(e, cfg, value, origin, err, errlen);
}

/* check_entry catches table mistakes before any value is read. */
static rc_err_t check_entry(const config_entry_t *table, const config_entry_t *e, char *err,
                            size_t errlen)
{
    const char *o = "config table";

    if (e->size == 0)
        return fail(RC_EINVAL, err, errlen, o, "%s: field's C type does not match its type",
                    e->name);
    if (!e->def)
        return fail(RC_EINVAL, err, errlen, o, "%s: no default", e->name);
    if ((e->type == CONFIG_T_INT || e->type == CONFIG_T_DURATION) && e->min > e->max)
        return fail(RC_EINVAL, err, errlen, o, "%s: min > max", e->name);
    if (e->type == CONFIG_T_INT && (e->min < INT_MIN || e->max > INT_MAX))
        return fail(RC_EINVAL, err, errlen, o, "%s: bounds exceed int", e->name);
    if (e->type == CONFIG_T_ENUM && (!e->names || !e->names[0]))
        return fail(RC_EINVAL, err, errlen, o, "%s: enum without names", e->name);
    if ((e->flags & CONFIG_F_SECRET) && e->type != CONFIG_T_STRING)
        return fail(RC_EINVAL, err, errlen, o, "%s: only strings can be secret", e->name);
    for (const config_entry_t *p = table; p != e; p++)
        if (strcmp(p->name, e->name) == 0)
            return fail(RC_EINVAL, err, errlen, o, "%s: duplicate key", e->name);
    return RC_OK;
}

rc_err_t config_defaults(const config_entry_t *table, void *cfg, char *err, size_t errlen)
{
    for (const config_entry_t *e = table; e->name; e++) {
        rc_err_t rc = check_entry(table, e, err, errlen);
        if (rc == RC_OK)
            rc = store(e, cfg, e->def, "default", err, errlen);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

static char *trim(char *s)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

rc_err_t config_load_file(const config_entry_t *table, void *cfg, const char *path, char *err,
                          size_t errlen)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    char origin[CONFIG_ERR_MAX / 2];
    rc_err_t rc = RC_OK;

    f = fopen(path, "r");
    if (!f) {
        rc = fail(RC_EIO, err, errlen, NULL, "cannot open config file %s: %s", path,
                  strerror(errno));
        goto out;
    }
    errno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *key, *eq, *value;
        size_t vlen;

        lineno++;
        snprintf(origin, sizeof origin, "%s:%u", path, lineno);
        if (memchr(line, '\0', (size_t)len)) {
            rc = fail(RC_EPARSE, err, errlen, origin, "line holds a NUL byte");
            goto out;
        }
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            rc = fail(RC_EPARSE, err, errlen, origin, "expected 'key = value'");
            goto out;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        if (*key == '\0') {
            rc = fail(RC_EPARSE, err, errlen, origin, "missing key before '='");
            goto out;
        }
        vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        rc = config_set(table, cfg, key, value, origin, err, errlen);
        if (rc != RC_OK)
            goto out;
    }
    if (ferror(f))
        rc = fail(RC_EIO, err, errlen, NULL, "cannot read config file %s: %s", path,
                  strerror(errno));
out:
    if (line) {
        /* The file may hold a secret. */
        sodium_memzero(line, cap);
        free(line);
    }
    if (f)
        fclose(f);
    return rc;
}

rc_err_t config_load_env(const config_entry_t *table, void *cfg, char *err, size_t errlen)
{
    char name[128], origin[160];

    for (const config_entry_t *e = table; e->name; e++) {
        const char *v, *vf = NULL;
        rc_err_t rc;

        if (!e->env)
            continue;
        v = getenv(e->env);
        if (e->flags & CONFIG_F_SECRET) {
            snprintf(name, sizeof name, "%s%s", e->env, ENV_FILE_SUFFIX);
            vf = getenv(name);
            if (v && vf)
                return fail(RC_EINVAL, err, errlen, NULL,
                            "environment sets both %s and %s; set one of them", e->env, name);
        }
        if (v) {
            snprintf(origin, sizeof origin, "environment %s", e->env);
            rc = store(e, cfg, v, origin, err, errlen);
        } else if (vf) {
            snprintf(origin, sizeof origin, "environment %s", name);
            rc = store_from_file(e, cfg, vf, origin, err, errlen);
        } else
            continue;
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

/* scan_args walks argv. With cfg NULL it only collects --config, --help,
 * --version and --check-config into *args and checks the shape of every
 * argument; with cfg it applies each --key value to cfg. */
static rc_err_t scan_args(const config_entry_t *table, void *cfg, int argc, char **argv,
                          config_args_t *args, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *key, *eq, *value;
        const config_entry_t *e;
        size_t klen;
        int via_file;
        const char *origin = "command line";
        rc_err_t rc;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            args->help = 1;
            continue;
        }
        if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
            args->version = 1;
            continue;
        }
        if (strcmp(arg, "--check-config") == 0) {
            args->check_config = 1;
            continue;
        }
        if (strcmp(arg, "--config") == 0 || strcmp(arg, "-c") == 0) {
            if (i + 1 >= argc)
                return fail(RC_EINVAL, err, errlen, NULL, "%s needs a file name", arg);
            args->config_path = argv[++i];
            continue;
        }
        if (strncmp(arg, "--config=", 9) == 0) {
            args->config_path = arg + 9;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return fail(RC_EINVAL, err, errlen, NULL,
                        "unexpected argument '%.64s' (keys are given as --key value; see --help)",
                        arg);
        key = arg + 2;
        eq = strchr(key, '=');
        klen = eq ? (size_t)(eq - key) : strlen(key);
        e = lookup(table, key, klen, &via_file);
        if (!e)
            return fail(RC_EINVAL, err, errlen, NULL, "unknown option --%.*s (see --help)",
                        (int)(klen > 64 ? 64 : klen), key);
        if ((e->flags & CONFIG_F_SECRET) && !via_file)
            return fail(RC_EINVAL, err, errlen, NULL,
                        "%s is a secret and is not accepted on the command line, where ps shows "
                        "it; use %s%s or %s",
                        e->name, e->name, FILE_SUFFIX, e->env ? e->env : "the config file");
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return fail(RC_EINVAL, err, errlen, NULL, "--%.*s needs a value",
                        (int)(klen > 64 ? 64 : klen), key);
        if (!cfg)
            continue;
        rc = via_file ? store_from_file(e, cfg, value, origin, err, errlen)
                      : store(e, cfg, value, origin, err, errlen);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

rc_err_t config_load(const config_entry_t *table, void *cfg, int argc, char **argv,
                     config_args_t *args, char *err, size_t errlen)
{
    rc_err_t rc;

    memset(args, 0, sizeof *args);
    /* --help and --version answer even when the rest of argv is wrong. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            args->help = 1;
        else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
            args->version = 1;
    }
    if (args->help || args->version)
        return RC_OK;
    if ((rc = scan_args(table, NULL, argc, argv, args, err, errlen)) != RC_OK)
        return rc;
    if ((rc = config_defaults(table, cfg, err, errlen)) != RC_OK)
        return rc;
    if (args->config_path &&
        (rc = config_load_file(table, cfg, args->config_path, err, errlen)) != RC_OK)
        return rc;
    if ((rc = config_load_env(table, cfg, err, errlen)) != RC_OK)
        return rc;
    return scan_args(table, cfg, argc, argv, args, err, errlen);
}

/* describe writes an entry's type and bounds: "int 1..65535". */
static const char *describe(const config_entry_t *e, char *buf, size_t len)
{
    char a[32], b[32], list[256];

    switch (e->type) {
    case CONFIG_T_INT:
        snprintf(buf, len, "int %lld..%lld", e->min, e->max);
        break;
    case CONFIG_T_DURATION:
        snprintf(buf, len, "duration %s..%s (unit ms, s, m or h)",
                 format_duration(e->min, a, sizeof a), format_duration(e->max, b, sizeof b));
        break;
    case CONFIG_T_BOOL:
        snprintf(buf, len, "yes or no");
        break;
    case CONFIG_T_ENUM:
        snprintf(buf, len, "one of %s", enum_list(e, list, sizeof list));
        break;
    case CONFIG_T_STRING:
        snprintf(buf, len, "string, up to %zu bytes", e->size - 1);
        break;
    case CONFIG_T_PATH:
        snprintf(buf, len, "path, up to %zu bytes", e->size - 1);
        break;
    case CONFIG_T_END:
        snprintf(buf, len, "?");
        break;
    }
    return buf;
}

void config_print_help(FILE *out, const config_entry_t *table, const char *progname,
                       const char *summary)
{
    char type[320];

    fprintf(out,
            "Usage: %s [--config FILE] [--KEY VALUE]... [--check-config]\n"
            "       %s --help | --version\n\n",
            progname, progname);
    if (summary)
        fprintf(out, "%s\n\n", summary);
    fprintf(out,
            "Options:\n"
            "  -c, --config FILE   read 'key = value' lines from FILE ('#' starts a comment line)\n"
            "      --KEY VALUE     set KEY (also --KEY=VALUE; '-' and '_' are alike in KEY)\n"
            "      --check-config  load and check the configuration, print it (secrets\n"
            "                      redacted) and exit: 0 if valid, 1 if not\n"
            "  -h, --help          print this help and exit\n"
            "  -V, --version       print the version and exit\n\n"
            "Keys, each shown with its default. Later sources win: default, then the\n"
            "--config file, then the environment, then the command line.\n");
    for (const config_entry_t *e = table; e->name; e++) {
        if (e->flags & CONFIG_F_SECRET)
            fprintf(out, "\n  %s  (secret; or %s%s = PATH to a file holding it)\n", e->name,
                    e->name, FILE_SUFFIX);
        else
            fprintf(out, "\n  %s = %s\n", e->name, e->def[0] ? e->def : "\"\"");
        fprintf(out, "      %s", describe(e, type, sizeof type));
        if (e->env && (e->flags & CONFIG_F_SECRET))
            fprintf(out, "; env %s or %s%s", e->env, e->env, ENV_FILE_SUFFIX);
        else if (e->env)
            fprintf(out, "; env %s", e->env);
        fprintf(out, "\n      %s\n", e->help ? e->help : "");
    }
}

const char *config_version(void)
{
    return ROLLCALL_VERSION;
}

const char *config_git_rev(void)
{
    return ROLLCALL_GIT_REV;
}

void config_print_version(FILE *out, const char *progname)
{
    fprintf(out, "%s %s (%s)\n", progname, config_version(), config_git_rev());
}

/* value_text writes e's current value in file syntax into buf. */
static const char *value_text(const config_entry_t *e, const void *cfg, char *buf, size_t len)
{
    const int *ip = cfield(e, cfg);

    switch (e->type) {
    case CONFIG_T_INT:
        snprintf(buf, len, "%d", *ip);
        return buf;
    case CONFIG_T_DURATION:
        return format_duration((long long)*(const int64_t *)cfield(e, cfg), buf, len);
    case CONFIG_T_BOOL:
        return *ip ? "yes" : "no";
    case CONFIG_T_ENUM:
        return e->names[*ip];
    case CONFIG_T_STRING:
    case CONFIG_T_PATH:
        return cfield(e, cfg);
    case CONFIG_T_END:
        break;
    }
    return "";
}

static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    return n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
           (s[0] == '"' && s[n - 1] == '"');
}

void config_print(FILE *out, const config_entry_t *table, const void *cfg)
{
    char buf[32];

    for (const config_entry_t *e = table; e->name; e++) {
        const char *v = value_text(e, cfg, buf, sizeof buf);
        if ((e->flags & CONFIG_F_SECRET) && v[0])
            fprintf(out, "# %s = %s\n", e->name, CONFIG_REDACTED);
        else if (needs_quotes(v))
            fprintf(out, "%s = \"%s\"\n", e->name, v);
        else
            fprintf(out, "%s = %s\n", e->name, v);
    }
}

void config_log_effective(const config_entry_t *table, const void *cfg)
{
    size_t n = 0;
    log_field_t *f;

    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    for (const config_entry_t *e = table; e->name; e++)
        n++;
    f = calloc(n ? n : 1, sizeof *f);
    if (!f) {
        log_warn("config.effective", LOG_BOOL("truncated", 1));
        return;
    }
    n = 0;
    for (const config_entry_t *e = table; e->name; e++, n++) {
        const int *ip = cfield(e, cfg);
        switch (e->type) {
        case CONFIG_T_INT:
        case CONFIG_T_ENUM:
            f[n] =
                e->type == CONFIG_T_INT ? LOG_INT(e->name, *ip) : LOG_STR(e->name, e->names[*ip]);
            break;
        case CONFIG_T_DURATION:
            f[n] = LOG_INT(e->name, (long long)*(const int64_t *)cfield(e, cfg));
            break;
        case CONFIG_T_BOOL:
            f[n] = LOG_BOOL(e->name, *ip);
            break;
        case CONFIG_T_STRING:
        case CONFIG_T_PATH: {
            const char *s = cfield(e, cfg);
            if ((e->flags & CONFIG_F_SECRET) && s[0])
                s = CONFIG_REDACTED;
            f[n] = LOG_STR(e->name, s);
            break;
        }
        case CONFIG_T_END:
            break;
        }
    }
    log_emit(LOG_LEVEL_INFO, "config.effective", f, n);
    free(f);
}

void config_wipe_secrets(const config_entry_t *table, void *cfg)
{
    for (const config_entry_t *e = table; e->name; e++)
        if (e->flags & CONFIG_F_SECRET)
            sodium_memzero(field(e, cfg), e->size);
}
