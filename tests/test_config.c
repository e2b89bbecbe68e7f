/* test_config.c - the config table: defaults, file, environment, command line, errors, secrets. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollcall/config.h"
#include "rollcall/log.h"

typedef struct {
    int port;
    int verbose;
    char host[16];
    char dir[64];
    int level;
    int64_t timeout_ms;
    char password[16];
} tcfg_t;

static const char *const levels[] = {"debug", "info", "warn", "error", NULL};

static const config_entry_t table[] = {
    CONFIG_INT("port", tcfg_t, port, 1, 65535, "6379", "RC_TEST_PORT", "TCP port"),
    CONFIG_BOOL("verbose", tcfg_t, verbose, "no", "RC_TEST_VERBOSE", "say more"),
    CONFIG_STRING("host", tcfg_t, host, "localhost", "RC_TEST_HOST", NULL, "host name"),
    CONFIG_PATH("dir", tcfg_t, dir, "", NULL, "a directory"),
    CONFIG_ENUM("level", tcfg_t, level, levels, "info", "RC_TEST_LEVEL", "lowest level"),
    CONFIG_DURATION("timeout", tcfg_t, timeout_ms, 10, 60000, "5s", "RC_TEST_TIMEOUT", "how long"),
    CONFIG_SECRET("password", tcfg_t, password, "RC_TEST_PASSWORD", NULL, "the password"),
    CONFIG_END,
};

/* Paths to remove after each test, whatever its outcome. */
static char tmp_paths[8][64];
static int ntmp;

static void cleanup(void)
{
    for (int i = 0; i < ntmp; i++)
        unlink(tmp_paths[i]);
    ntmp = 0;
}

TestSuite(config, .fini = cleanup);

/* write_tmp writes text to a new temporary file and returns its path. */
static const char *write_tmp(const char *text)
{
    char *path = tmp_paths[ntmp++];
    int fd;

    strcpy(path, "/tmp/rollcall-test-config-XXXXXX");
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* read_all returns what f holds from its start, in a static buffer. */
static const char *read_all(FILE *f)
{
    static char buf[16384];
    size_t n;

    fflush(f);
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

static tcfg_t defaults(void)
{
    tcfg_t c;
    char err[CONFIG_ERR_MAX];

    memset(&c, 0xAB, sizeof c);
    cr_assert_eq(config_defaults(table, &c, err, sizeof err), RC_OK, "%s", err);
    return c;
}

Test(config, defaults)
{
    tcfg_t c = defaults();

    cr_assert_eq(c.port, 6379);
    cr_assert_eq(c.verbose, 0);
    cr_assert_str_eq(c.host, "localhost");
    cr_assert_str_eq(c.dir, "");
    cr_assert_eq(c.level, 1);
    cr_assert_eq(c.timeout_ms, 5000);
    cr_assert_str_eq(c.password, "");
}

Test(config, file_parsing)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];
    const char *path = write_tmp("# a comment\n"
                                 "\n"
                                 "   # an indented comment\n"
                                 "port=1234\n"
                                 "  verbose   =   yes  \r\n"
                                 "host = \" spaced \"\n"
                                 "dir = /var/lib/a#b\n"
                                 "level = WARN\n"
                                 "timeout = 1500ms\n"
                                 "not-a-key = 1\n");

    /* The last line is an unknown key: everything before it is applied. */
    cr_assert_eq(config_load_file(table, &c, path, err, sizeof err), RC_ENOTFOUND);
    cr_assert_eq(c.port, 1234);
    cr_assert_eq(c.verbose, 1);
    cr_assert_str_eq(c.host, " spaced ");
    cr_assert_str_eq(c.dir, "/var/lib/a#b");
    cr_assert_eq(c.level, 2);
    cr_assert_eq(c.timeout_ms, 1500);
}

Test(config, file_empty_value_and_quotes)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];
    const char *path = write_tmp("host = \"\"\ndir =\ntimeout = 30s\n");

    cr_assert_eq(config_load_file(table, &c, path, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(c.host, "");
    cr_assert_str_eq(c.dir, "");
    cr_assert_eq(c.timeout_ms, 30000);
}

Test(config, missing_file_names_it)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_load_file(table, &c, "/nonexistent/rollcall.conf", err, sizeof err),
                 RC_EIO);
    cr_assert(strstr(err, "/nonexistent/rollcall.conf"), "%s", err);
}

Test(config, env_beats_file)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    const char *path = write_tmp("port = 1000\nhost = fromfile\n");
    char *argv[] = {"prog", "--config", (char *)path, NULL};

    setenv("RC_TEST_PORT", "2000", 1);
    cr_assert_eq(config_load(table, &c, 3, argv, &args, err, sizeof err), RC_OK, "%s", err);
    cr_assert_eq(c.port, 2000);
    cr_assert_str_eq(c.host, "fromfile");
    cr_assert_str_eq(args.config_path, path);
}

Test(config, cli_beats_env)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    const char *path = write_tmp("port = 1000\ntimeout = 1s\n");
    char *argv[] = {"prog",          "-c",         (char *)path, "--port", "3000",
                    "--timeout=20s", "--host=cli", NULL};

    setenv("RC_TEST_PORT", "2000", 1);
    setenv("RC_TEST_TIMEOUT", "2s", 1);
    setenv("RC_TEST_HOST", "env", 1);
    cr_assert_eq(config_load(table, &c, 7, argv, &args, err, sizeof err), RC_OK, "%s", err);
    cr_assert_eq(c.port, 3000);
    cr_assert_eq(c.timeout_ms, 20000);
    cr_assert_str_eq(c.host, "cli");
    cr_assert_eq(args.help + args.version + args.check_config, 0);
}

Test(config, cli_dashes_and_flags)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char *argv[] = {"prog", "--check-config", "--verbose", "on", "--level", "debug", NULL};

    cr_assert_eq(config_load(table, &c, 6, argv, &args, err, sizeof err), RC_OK, "%s", err);
    cr_assert_eq(args.check_config, 1);
    cr_assert_eq(c.verbose, 1);
    cr_assert_eq(c.level, 0);
}

Test(config, help_and_version_win_over_bad_args)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char *argv1[] = {"prog", "--port", "99999999", "stray", "--help", NULL};
    char *argv2[] = {"prog", "--nonsense", "-V", NULL};

    cr_assert_eq(config_load(table, &c, 5, argv1, &args, err, sizeof err), RC_OK);
    cr_assert_eq(args.help, 1);
    cr_assert_eq(config_load(table, &c, 3, argv2, &args, err, sizeof err), RC_OK);
    cr_assert_eq(args.version, 1);
}

Test(config, cli_errors)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char *stray[] = {"prog", "stray", NULL};
    char *unknown[] = {"prog", "--prot", "1", NULL};
    char *novalue[] = {"prog", "--port", NULL};
    char *noconfig[] = {"prog", "--config", NULL};

    cr_assert_eq(config_load(table, &c, 2, stray, &args, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "stray"), "%s", err);
    cr_assert_eq(config_load(table, &c, 3, unknown, &args, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "--prot"), "%s", err);
    cr_assert_eq(config_load(table, &c, 2, novalue, &args, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "needs a value"), "%s", err);
    cr_assert_eq(config_load(table, &c, 2, noconfig, &args, err, sizeof err), RC_EINVAL);
}

Test(config, bounds_error_names_file_line_and_bounds)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX], want[128];
    const char *path = write_tmp("# ports\nhost = a\nport = 70000\n");

    cr_assert_eq(config_load_file(table, &c, path, err, sizeof err), RC_ERANGE);
    snprintf(want, sizeof want, "%s:3: port: 70000 is out of range 1..65535", path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(c.port, 6379, "a failed set keeps the old value");
}

Test(config, duration_bounds_and_units)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_set(table, &c, "timeout", "2h", "t", err, sizeof err), RC_ERANGE);
    cr_assert_str_eq(err, "t: timeout: 2h is out of range 10ms..1m");
    cr_assert_eq(config_set(table, &c, "timeout", "5x", "t", err, sizeof err), RC_EPARSE);
    cr_assert_eq(config_set(table, &c, "timeout", "s", "t", err, sizeof err), RC_EPARSE);
    cr_assert_eq(config_set(table, &c, "timeout", "99999999999999999h", "t", err, sizeof err),
                 RC_ERANGE);
    cr_assert_eq(config_set(table, &c, "timeout", "250", "t", err, sizeof err), RC_OK);
    cr_assert_eq(c.timeout_ms, 250);
    cr_assert_eq(config_set(table, &c, "timeout", "1m", "t", err, sizeof err), RC_OK);
    cr_assert_eq(c.timeout_ms, 60000);
}

Test(config, unknown_key_error)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX], want[128];
    const char *path = write_tmp("port = 1\nprot = 2\n");

    cr_assert_eq(config_load_file(table, &c, path, err, sizeof err), RC_ENOTFOUND);
    snprintf(want, sizeof want, "%s:2: unknown key 'prot'", path);
    cr_assert_str_eq(err, want);
}

Test(config, bad_integer)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX], want[128];
    const char *path = write_tmp("port = 12abc\n");

    cr_assert_eq(config_load_file(table, &c, path, err, sizeof err), RC_EPARSE);
    snprintf(want, sizeof want, "%s:1: port: '12abc' is not a whole number", path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(config_set(table, &c, "port", "", "x", err, sizeof err), RC_EPARSE);
    cr_assert_eq(config_set(table, &c, "port", "0x10", "x", err, sizeof err), RC_EPARSE);
    cr_assert_eq(config_set(table, &c, "port", "1.5", "x", err, sizeof err), RC_EPARSE);
    cr_assert_eq(config_set(table, &c, "port", "99999999999999999999", "x", err, sizeof err),
                 RC_ERANGE);
    cr_assert_eq(config_set(table, &c, "port", "-1", "x", err, sizeof err), RC_ERANGE);
    cr_assert_eq(c.port, 6379);
}

Test(config, env_errors_name_the_variable)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char *argv[] = {"prog", NULL};

    setenv("RC_TEST_PORT", "", 1);
    cr_assert_eq(config_load(table, &c, 1, argv, &args, err, sizeof err), RC_EPARSE);
    cr_assert_str_eq(err, "environment RC_TEST_PORT: port: '' is not a whole number");
}

Test(config, other_type_errors)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_set(table, &c, "verbose", "maybe", NULL, err, sizeof err), RC_EPARSE);
    cr_assert_eq(config_set(table, &c, "level", "loud", NULL, err, sizeof err), RC_EINVAL);
    cr_assert_str_eq(err, "level: 'loud' is not one of debug, info, warn, error");
    cr_assert_eq(config_set(table, &c, "host", "0123456789abcdef", NULL, err, sizeof err),
                 RC_ERANGE);
    cr_assert_str_eq(err, "host: value is 16 bytes, longer than the limit of 15");
    cr_assert_eq(config_set(table, &c, "host", "0123456789abcde", NULL, err, sizeof err), RC_OK);
    cr_assert_eq(config_set(table, &c, "nope", "1", NULL, err, sizeof err), RC_ENOTFOUND);
}

static rc_err_t only_lowercase(const char *v, const char **why)
{
    for (; *v; v++)
        if (*v < 'a' || *v > 'z') {
            *why = "lower-case letters only";
            return RC_EINVAL;
        }
    return RC_OK;
}

Test(config, string_check_function)
{
    typedef struct {
        char name[8];
    } small_t;
    const config_entry_t t[] = {
        CONFIG_STRING("name", small_t, name, "abc", NULL, only_lowercase, "a name"),
        CONFIG_END,
    };
    small_t s;
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_defaults(t, &s, err, sizeof err), RC_OK);
    cr_assert_eq(config_set(t, &s, "name", "Abc", "f:1", err, sizeof err), RC_EINVAL);
    cr_assert_str_eq(err, "f:1: name: lower-case letters only");
    cr_assert_str_eq(s.name, "abc");
}

Test(config, table_type_mismatch_is_caught)
{
    const config_entry_t t[] = {
        CONFIG_INT("host", tcfg_t, host, 0, 10, "1", NULL, "an int pointed at a char array"),
        CONFIG_END,
    };
    tcfg_t c;
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_defaults(t, &c, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "host"), "%s", err);
}

Test(config, bad_default_is_caught)
{
    const config_entry_t t[] = {
        CONFIG_INT("port", tcfg_t, port, 1, 10, "11", NULL, "default out of its own range"),
        CONFIG_END,
    };
    tcfg_t c;
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_defaults(t, &c, err, sizeof err), RC_ERANGE);
    cr_assert_str_eq(err, "default: port: 11 is out of range 1..10");
}

Test(config, secret_from_file)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX], line[128];
    const char *secret = write_tmp("hunter2\n");
    const char *conf;

    snprintf(line, sizeof line, "password_file = %s\n", secret);
    conf = write_tmp(line);
    cr_assert_eq(config_load_file(table, &c, conf, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(c.password, "hunter2");
}

Test(config, secret_file_from_env_and_cli)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    const char *s1 = write_tmp("from-env\r\n");
    const char *s2 = write_tmp("from-cli");
    char *argv[] = {"prog", "--password-file", (char *)s2, NULL};

    setenv("RC_TEST_PASSWORD_FILE", s1, 1);
    cr_assert_eq(config_load(table, &c, 1, argv, &args, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(c.password, "from-env");
    cr_assert_eq(config_load(table, &c, 3, argv, &args, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(c.password, "from-cli");
}

Test(config, secret_file_errors)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];
    const char *big = write_tmp("0123456789abcdefXYZ\n");

    cr_assert_eq(config_set(table, &c, "password_file", "/nonexistent/pw", "f:1", err, sizeof err),
                 RC_EIO);
    cr_assert(strstr(err, "f:1: password_file: cannot open /nonexistent/pw"), "%s", err);
    cr_assert_eq(config_set(table, &c, "password_file", big, "f:2", err, sizeof err), RC_ERANGE);
    cr_assert_null(strstr(err, "0123456789"), "the secret must not be echoed: %s", err);
    cr_assert_str_eq(c.password, "");
}

Test(config, secret_refused_on_command_line)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char *argv[] = {"prog", "--password", "hunter2", NULL};

    cr_assert_eq(config_load(table, &c, 3, argv, &args, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "password_file"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"));
}

Test(config, secret_env_and_env_file_conflict)
{
    tcfg_t c;
    config_args_t args;
    char err[CONFIG_ERR_MAX];
    char *argv[] = {"prog", NULL};
    const char *s = write_tmp("x\n");

    setenv("RC_TEST_PASSWORD", "direct", 1);
    cr_assert_eq(config_load(table, &c, 1, argv, &args, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(c.password, "direct");
    setenv("RC_TEST_PASSWORD_FILE", s, 1);
    cr_assert_eq(config_load(table, &c, 1, argv, &args, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "RC_TEST_PASSWORD_FILE"), "%s", err);
}

Test(config, print_redacts_secrets_and_round_trips)
{
    tcfg_t c = defaults(), back = defaults();
    char err[CONFIG_ERR_MAX];
    FILE *f = tmpfile();
    const char *out, *path;

    cr_assert_eq(config_set(table, &c, "password", "hunter2", NULL, err, sizeof err), RC_OK);
    cr_assert_eq(config_set(table, &c, "host", " pad", NULL, err, sizeof err), RC_OK);
    cr_assert_eq(config_set(table, &c, "timeout", "50s", NULL, err, sizeof err), RC_OK);
    config_print(f, table, &c);
    out = read_all(f);
    fclose(f);
    cr_assert_null(strstr(out, "hunter2"), "%s", out);
    cr_assert(strstr(out, "# password = [redacted]\n"), "%s", out);
    cr_assert(strstr(out, "port = 6379\n"), "%s", out);
    cr_assert(strstr(out, "host = \" pad\"\n"), "%s", out);
    cr_assert(strstr(out, "timeout = 50s\n"), "%s", out);
    cr_assert(strstr(out, "level = info\n"), "%s", out);
    cr_assert(strstr(out, "verbose = no\n"), "%s", out);

    path = write_tmp(out);
    cr_assert_eq(config_load_file(table, &back, path, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(back.host, " pad");
    cr_assert_eq(back.timeout_ms, 50000);
}

Test(config, log_effective_redacts_secrets)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];
    FILE *f = tmpfile();
    const char *out;

    cr_assert_eq(config_set(table, &c, "password", "hunter2", NULL, err, sizeof err), RC_OK);
    cr_assert_eq(log_open("test", LOG_LEVEL_INFO, LOG_FORMAT_JSON, fileno(f), NULL), RC_OK);
    config_log_effective(table, &c);
    out = read_all(f);
    log_close();
    fclose(f);
    cr_assert_null(strstr(out, "hunter2"), "%s", out);
    cr_assert(strstr(out, "\"event\":\"config.effective\""), "%s", out);
    cr_assert(strstr(out, "\"password\":\"[redacted]\""), "%s", out);
    cr_assert(strstr(out, "\"port\":6379,\"verbose\":false,\"host\":\"localhost\",\"dir\":\"\","
                          "\"level\":\"info\",\"timeout\":5000,"),
              "%s", out);
}

Test(config, wipe_secrets)
{
    tcfg_t c = defaults();
    char err[CONFIG_ERR_MAX];

    cr_assert_eq(config_set(table, &c, "password", "hunter2", NULL, err, sizeof err), RC_OK);
    config_wipe_secrets(table, &c);
    cr_assert_str_eq(c.password, "");
    cr_assert_str_eq(c.host, "localhost");
}

Test(config, help_lists_every_key)
{
    FILE *f = tmpfile();
    const char *out;

    config_print_help(f, table, "rollcall-test", "Tests things.");
    out = read_all(f);
    fclose(f);
    cr_assert(strstr(out, "Usage: rollcall-test "), "%s", out);
    cr_assert(strstr(out, "Tests things."), "%s", out);
    cr_assert(strstr(out, "--check-config"), "%s", out);
    for (const config_entry_t *e = table; e->name; e++) {
        cr_assert(strstr(out, e->name), "%s missing", e->name);
        if (e->env)
            cr_assert(strstr(out, e->env), "%s missing", e->env);
    }
    cr_assert(strstr(out, "port = 6379\n      int 1..65535; env RC_TEST_PORT\n      TCP port\n"),
              "%s", out);
    cr_assert(strstr(out, "duration 10ms..1m"), "%s", out);
    cr_assert(strstr(out, "one of debug, info, warn, error"), "%s", out);
    cr_assert(strstr(out, "password_file"), "%s", out);
    cr_assert(strstr(out, "RC_TEST_PASSWORD_FILE"), "%s", out);
}

Test(config, version_line)
{
    FILE *f = tmpfile();
    char want[128];

    config_print_version(f, "rollcall-test");
    snprintf(want, sizeof want, "rollcall-test %s (%s)\n", config_version(), config_git_rev());
    cr_assert_str_eq(read_all(f), want);
    fclose(f);
    cr_assert(strchr(config_version(), '.'), "%s", config_version());
    cr_assert_neq(config_git_rev()[0], '\0');
}
