/* config.h - configuration as a table: per key a type, bounds, default, env variable and help.
 *
 * A service describes its settings once, as an array of config_entry_t ending
 * in CONFIG_END, each entry pointing at a field of the service's config struct
 * (as Redis's createIntConfig does). The same table then drives parsing,
 * validation, --help, --check-config and the effective-config log line.
 *
 * Sources, later ones winning:
 *   1. the entry's default (written as it would be in a file);
 *   2. the file given by --config FILE: `key = value` lines, blank lines and
 *      lines whose first non-blank character is '#' ignored; the value is the
 *      rest of the line, trimmed; a value wholly inside double quotes loses
 *      them (so `schools = ""` is an explicit empty value); no escapes and no
 *      trailing comments, so a '#' inside a value is part of it;
 *   3. the environment: each entry's variable (ROLLCALL_REDIS_PORT);
 *   4. the command line: `--key value` or `--key=value`, where '-' and '_' in
 *      a key are interchangeable (`--redis-port 6380`).
 *
 * Value syntax by type:
 *   int       base-10 integer within [min, max] ("0x10", "12abc", "" rejected)
 *   bool      yes/no, true/false, on/off, 1/0
 *   string    any bytes up to the field's capacity minus one
 *   path      as string; empty means "not set"
 *   enum      one of the entry's names, stored as its index
 *   duration  integer with unit ms, s, m or h ("1500ms", "5s"; no unit = ms),
 *             stored as milliseconds in an int64_t, bounds in milliseconds
 *
 * Secrets (CONFIG_F_SECRET): never printed or logged (shown as "[redacted]"),
 * refused on the command line (argv is visible in ps), and each secret key K
 * also accepts K_file = PATH (environment variable <ENV>_FILE), which reads
 * the secret from that file, minus one trailing newline.
 */
#ifndef ROLLCALL_CONFIG_H
#define ROLLCALL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rollcall/error.h"

#define CONFIG_ERR_MAX  512 /* a message buffer big enough for any config error */
#define CONFIG_REDACTED "[redacted]"

typedef enum {
    CONFIG_T_END = 0, /* the sentinel closing a table */
    CONFIG_T_INT,
    CONFIG_T_BOOL,
    CONFIG_T_STRING,
    CONFIG_T_PATH,
    CONFIG_T_ENUM,
    CONFIG_T_DURATION
} config_type_t;

#define CONFIG_F_SECRET 0x1u /* redacted everywhere, not on argv, has a K_file companion */

/* A value check for string and path entries: RC_OK, or RC_EINVAL with *why
 * set to a static sentence saying what is wrong. */
typedef rc_err_t (*config_check_fn)(const char *value, const char **why);

typedef struct {
    const char *name; /* the key: "redis_port" */
    config_type_t type;
    size_t offset;            /* offsetof(struct, field) */
    size_t size;              /* sizeof the field; 0 when its C type does not fit `type` */
    long long min, max;       /* int and duration bounds (duration in ms) */
    const char *const *names; /* enum: value names, NULL-terminated, stored as index */
    const char *def;          /* the default, in file syntax ("6379", "5s", "info") */
    const char *env;          /* environment variable, or NULL for none */
    unsigned flags;           /* CONFIG_F_* */
    config_check_fn check;    /* extra check for strings and paths, or NULL */
    const char *help;         /* one line for --help */
} config_entry_t;

/* The field's size when its type is T, else 0 (caught by config_defaults). A
 * char array decays to char * here, so strings are declared as char arrays. */
#define CONFIG_FIELD_SIZE_(st, field, T)                                                           \
    _Generic(((st *)0)->field, T : sizeof(((st *)0)->field), default : 0)

#define CONFIG_ENTRY_(key, ty, st, field, T, lo, hi, nm, d, ev, fl, ck, hp)                        \
    {                                                                                              \
        .name = (key), .type = (ty), .offset = offsetof(st, field),                                \
        .size = CONFIG_FIELD_SIZE_(st, field, T), .min = (lo), .max = (hi), .names = (nm),         \
        .def = (d), .env = (ev), .flags = (fl), .check = (ck), .help = (hp)                        \
    }

/* Entry builders: key name, struct type, field (an int, int64_t or char
 * array as the type needs), then type-specific parts, default, environment
 * variable and help. */
#define CONFIG_INT(key, st, field, lo, hi, def, env, help)                                         \
    CONFIG_ENTRY_(key, CONFIG_T_INT, st, field, int, lo, hi, NULL, def, env, 0, NULL, help)
#define CONFIG_BOOL(key, st, field, def, env, help)                                                \
    CONFIG_ENTRY_(key, CONFIG_T_BOOL, st, field, int, 0, 1, NULL, def, env, 0, NULL, help)
#define CONFIG_STRING(key, st, field, def, env, check, help)                                       \
    CONFIG_ENTRY_(key, CONFIG_T_STRING, st, field, char *, 0, 0, NULL, def, env, 0, check, help)
#define CONFIG_PATH(key, st, field, def, env, help)                                                \
    CONFIG_ENTRY_(key, CONFIG_T_PATH, st, field, char *, 0, 0, NULL, def, env, 0, NULL, help)
#define CONFIG_ENUM(key, st, field, names, def, env, help)                                         \
    CONFIG_ENTRY_(key, CONFIG_T_ENUM, st, field, int, 0, 0, names, def, env, 0, NULL, help)
#define CONFIG_DURATION(key, st, field, lo_ms, hi_ms, def, env, help)                              \
    CONFIG_ENTRY_(key, CONFIG_T_DURATION, st, field, int64_t, lo_ms, hi_ms, NULL, def, env, 0,     \
                  NULL, help)
/* A secret string, empty by default; see the file comment. */
#define CONFIG_SECRET(key, st, field, env, check, help)                                            \
    CONFIG_ENTRY_(key, CONFIG_T_STRING, st, field, char *, 0, 0, NULL, "", env, CONFIG_F_SECRET,   \
                  check, help)
#define CONFIG_END                                                                                 \
    {                                                                                              \
        .name = NULL, .type = CONFIG_T_END                                                         \
    }

/* What config_load found on the command line besides keys. */
typedef struct {
    const char *config_path; /* --config FILE, pointing into argv, or NULL */
    int help;                /* --help or -h given */
    int version;             /* --version or -V given */
    int check_config;        /* --check-config given */
} config_args_t;

/* config_defaults checks the table (field types, bounds, enum names) and
 * stores every entry's default into cfg. Other bytes of cfg are untouched.
 * Returns RC_OK, or RC_EINVAL with err naming the broken entry (a programmer
 * error in the table). err (errlen bytes) may be NULL. */
rc_err_t config_defaults(const config_entry_t *table, void *cfg, char *err, size_t errlen);

/* config_set parses value into the field of key `name` (or reads a secret's
 * NAME_file). `origin` says where the value came from, for messages
 * ("ingest.conf:12", "environment ROLLCALL_REDIS_PORT", "--redis-port").
 * Returns RC_OK; RC_ENOTFOUND for an unknown key; RC_EPARSE for a value of
 * the wrong shape; RC_ERANGE out of bounds or too long (the message names the
 * bounds); RC_EINVAL failing the entry's check; RC_EIO when a secret file
 * cannot be read. On error the field keeps its previous value. */
rc_err_t config_set(const config_entry_t *table, void *cfg, const char *name, const char *value,
                    const char *origin, char *err, size_t errlen);

/* config_load_file applies each `key = value` line of the file at path.
 * Stops at the first error, with err as "path:line: message". Returns
 * RC_EIO when the file cannot be opened or read, else as config_set. */
rc_err_t config_load_file(const config_entry_t *table, void *cfg, const char *path, char *err,
                          size_t errlen);

/* config_load_env applies every entry's environment variable (and a
 * secret's <ENV>_FILE) that is set, even to "". Errors as config_set. */
rc_err_t config_load_env(const config_entry_t *table, void *cfg, char *err, size_t errlen);

/* config_load runs the whole sequence for a process: read argv (argv[0]
 * skipped) into *args, then unless --help or --version was given, apply
 * defaults, the --config file, the environment and the command-line keys in
 * that order. Returns RC_OK (check args->help and args->version), RC_EINVAL
 * for an unknown option, a missing value, a stray argument or a secret on
 * the command line, or any error of the steps above; err says which. */
rc_err_t config_load(const config_entry_t *table, void *cfg, int argc, char **argv,
                     config_args_t *args, char *err, size_t errlen);

/* config_print_help writes usage for progname: the summary line, the
 * options, then every key with its default, type, bounds, environment
 * variable and help. Secrets' defaults are not shown. */
void config_print_help(FILE *out, const config_entry_t *table, const char *progname,
                       const char *summary);

/* config_print_version writes "<progname> <version> (<git rev>)\n". */
void config_print_version(FILE *out, const char *progname);

/* config_version returns the release ("0.1.0"); config_git_rev the short
 * commit it was built from, or "unknown". Both static strings. */
const char *config_version(void);
const char *config_git_rev(void);

/* config_print writes the effective configuration as `key = value` lines,
 * readable back by config_load_file, except that a set secret is written as
 * a comment with its value redacted. */
void config_print(FILE *out, const config_entry_t *table, const void *cfg);

/* config_log_effective logs the event `config.effective` at info with one
 * field per key (durations as integer milliseconds, enums by name), secrets
 * as "[redacted]" when set and "" when not. */
void config_log_effective(const config_entry_t *table, const void *cfg);

/* config_wipe_secrets overwrites every secret field of cfg with zeros, for
 * teardown, so a core dump taken later holds no passwords. */
void config_wipe_secrets(const config_entry_t *table, void *cfg);

#endif
