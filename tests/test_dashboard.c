/* test_dashboard.c - the HTML dashboard (docs/dashboard.md) as rollcall-reports
 * serves it: the static shell and its files, byte for byte the files in
 * services/reports/dashboard/, naming no other host; then each page (school,
 * trust, LA) rendered by headless Chromium against the real services fed a
 * generated school year (scripts/gen-year.sh), its DOM checked against the
 * numbers the JSON API gives, and a screenshot saved in the build tree
 * (dashboard-<page>.png). Chromium missing is a failure naming
 * scripts/install-deps.sh, not a skip. */
#define _GNU_SOURCE /* strcasestr */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#define TOKEN  "tok-dashboard-7f3e9a"
#define URN    "100201"
#define TRUST  "SMALL-TRUST"
#define LA     "909"
#define WIDTH  1280
#define HEIGHT 2000
#define ASSETS ROLLCALL_SOURCE_DIR "/services/reports/dashboard"

static ts_redis_t redis;
static ts_proc_t ingest, rules, reports;
static int ingest_port, ingest_pub, rules_pub, reports_port;

/* ---- the services ---- */

static void start_reports(void)
{
    char tokens[160];
    snprintf(tokens, sizeof tokens, "%s/tokens", redis.dir);
    ts_write_tokens(tokens, &(ts_token_t){TOKEN, "trust:" TRUST ",la:" LA, "dashboard-test"}, 1);
    reports_port = ts_free_port();
    ts_start_reports(&reports, &redis, reports_port, rules_pub, tokens, NULL);
}

static void setup_shell(void)
{
    ts_redis_start(&redis, 0);
    start_reports();
}

/* setup_year runs ingest and rules over the generated year (3 schools of
 * trust SMALL-TRUST in LA 909), then reports. */
static void setup_year(void)
{
    char year[160];
    ts_redis_start(&redis, 0);
    ingest_port = ts_free_port();
    ingest_pub = ts_free_port();
    rules_pub = ts_free_port();
    ts_start_ingest(&ingest, &redis, ingest_port, ingest_pub, NULL);
    ts_start_rules(&rules, &redis, "rules", ingest_pub, rules_pub, NULL);
    snprintf(year, sizeof year, "%s/year", redis.dir);
    ts_gen_year(year, NULL);
    ts_load_year(ingest_port, year);
    ts_wait_rules_caught_up(&redis, 180000);
    start_reports();
}

static void teardown(void)
{
    if (reports.pid > 0)
        cr_expect_eq(ts_proc_stop(&reports, SIGTERM, 5000), 0, "reports: %s", reports.log);
    if (rules.pid > 0)
        ts_proc_stop(&rules, SIGTERM, 5000);
    if (ingest.pid > 0)
        ts_proc_stop(&ingest, SIGTERM, 5000);
    ts_keep_dir(redis.dir);
    ts_redis_stop(&redis);
}

TestSuite(dashboard, .fini = teardown, .timeout = 400);

/* ---- helpers ---- */

/* get sends GET path to reports, with the test's token when auth. */
static ts_http_resp_t get(const char *path, int auth)
{
    return ts_http_get_bearer(reports_port, path, auth ? TOKEN : NULL, 20000);
}

/* api GETs path with the token and returns its JSON (200 asserted). */
static json_t *api(const char *path, long *total)
{
    ts_http_resp_t r = get(path, 1);
    cr_assert_eq(r.status, 200, "GET %s: %ld %s", path, r.status, r.body ? r.body : "");
    cr_assert(r.json, "GET %s: not JSON", path);
    if (total) {
        char n[32];
        cr_assert(ts_http_header(&r, "X-Total-Count", n, sizeof n), "GET %s: no X-Total-Count",
                  path);
        *total = strtol(n, NULL, 10);
    }
    json_t *j = json_incref(r.json);
    ts_http_resp_free(&r);
    return j;
}

/* header_has says whether r's headers have the line "name: value..." (value
 * a prefix, case-insensitive name). */
static int header_has(const ts_http_resp_t *r, const char *name, const char *value)
{
    char want[256];
    snprintf(want, sizeof want, "\n%s: %s", name, value);
    return r->headers && strcasestr(r->headers, want) != NULL;
}

/* html_text writes s as it stands in serialised HTML text (& < > escaped). */
static void html_text(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 6 < cap; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e)
            n += (size_t)snprintf(out + n, cap - n, "%s", e);
        else
            out[n++] = *s;
    }
    out[n] = '\0';
}

/* pct writes an attendance_pct as the page prints it ("93.4%"), "\u2013"
 * (an en dash) for null. */
static void pct(const json_t *v, char out[16])
{
    if (json_is_number(v))
        snprintf(out, 16, "%.1f%%", json_number_value(v));
    else
        snprintf(out, 16, "\xe2\x80\x93");
}

/* section copies the part of dom from the element with id to the end
 * marker after it (malloc'd; cr_asserts that both are there). */
static char *section(const char *dom, const char *id, const char *end)
{
    char key[96];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *a = strstr(dom, key);
    cr_assert(a, "the page has no element %s", id);
    const char *b = strstr(a, end);
    cr_assert(b, "element %s does not end with %s", id, end);
    return strndup(a, (size_t)(b - a));
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* chromium_path finds the browser, failing with what to do when absent. */
static const char *chromium_path(void)
{
    static char path[256];
    const char *env = getenv("ROLLCALL_CHROMIUM");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        char out[256] = "";
        if (ts_run("command -v chromium", out, sizeof out) == 0)
            snprintf(path, sizeof path, "%.*s", (int)strcspn(out, "\n"), out);
    }
    cr_assert(path[0] && access(path, X_OK) == 0,
              "chromium is not installed: the dashboard test needs headless Chromium "
              "(Debian package 'chromium'; run scripts/install-deps.sh)");
    return path;
}

/* chromium runs headless Chromium on page (a path of reports, with #fragment)
 * doing action ("--dump-dom", "--screenshot=<file>"), stdout to out_file. */
static void chromium(const char *page, const char *action, const char *out_file)
{
    char profile[160], cmd[1400];
    snprintf(profile, sizeof profile, "%s/chromium-XXXXXX", redis.dir);
    cr_assert(mkdtemp(profile), "mkdtemp");
    snprintf(cmd, sizeof cmd,
             "timeout 120 '%s' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync "
             "--user-data-dir='%s' --virtual-time-budget=10000 --window-size=%d,%d %s "
             "'http://127.0.0.1:%d%s' >'%s' 2>'%s/chromium.log'",
             chromium_path(), profile, WIDTH, HEIGHT, action, reports_port, page, out_file,
             profile);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "chromium failed (%d) on %s; its log is in %s", rc, page, profile);
}

/* dump_dom returns the DOM of page after its scripts ran (malloc'd). */
static char *dump_dom(const char *page)
{
    char file[160];
    size_t len;
    snprintf(file, sizeof file, "%s/dom.html", redis.dir);
    chromium(page, "--dump-dom", file);
    char *dom = ts_slurp(file, &len);
    cr_assert_gt(len, 100, "chromium dumped an empty DOM for %s", page);
    return dom;
}

/* screenshot saves page as ROLLCALL_BINARY_DIR/dashboard-<name>.png and
 * checks that it is a PNG of the window's size. */
static void screenshot(const char *page, const char *name)
{
    char png[256], action[300], out[160];
    snprintf(png, sizeof png, "%s/dashboard-%s.png", ROLLCALL_BINARY_DIR, name);
    snprintf(action, sizeof action, "--screenshot='%s'", png);
    snprintf(out, sizeof out, "%s/screenshot.out", redis.dir);
    unlink(png);
    chromium(page, action, out);
    size_t len;
    unsigned char *b = (unsigned char *)ts_slurp(png, &len);
    cr_assert_gt(len, 24 + 5000, "%s is too small (%zu bytes) to be the page", png, len);
    cr_assert(memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0,
              "%s is not a PNG", png);
    unsigned w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    unsigned h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    cr_assert(w == WIDTH && h == HEIGHT, "%s is %ux%u, not %dx%d", png, w, h, WIDTH, HEIGHT);
    free(b);
}

/* check_charts asserts each chart figure of dom holds an svg. */
static void check_charts(const char *dom, const char *const *ids)
{
    for (; *ids; ids++) {
        char *fig = section(dom, *ids, "</figure>");
        cr_assert(strstr(fig, "<svg"), "chart %s has no svg", *ids);
        free(fig);
    }
}

/* check_measures asserts the page's headline tiles show m's numbers. */
static void check_measures(const char *dom, const json_t *m)
{
    char want[64], *tile = section(dom, "kpi-attendance", "</li>");
    pct(json_object_get(m, "attendance_pct"), want);
    cr_assert(strstr(tile, want), "attendance tile lacks %s: %s", want, tile);
    free(tile);
    const char *counts[][2] = {{"kpi-pupils", "pupils"},
                               {"kpi-pa", "persistent_absentees"},
                               {"kpi-sa", "severe_absentees"}};
    for (int i = 0; i < 3; i++) {
        tile = section(dom, counts[i][0], "</li>");
        snprintf(want, sizeof want, "class=\"value\">%lld<",
                 (long long)json_integer_value(json_object_get(m, counts[i][1])));
        cr_assert(strstr(tile, want), "%s lacks %s: %s", counts[i][0], want, tile);
        free(tile);
    }
}

/* check_weekly asserts one point per week with a percentage, and the last. */
static void check_weekly(const char *dom, const json_t *weekly)
{
    char *fig = section(dom, "chart-weekly", "</figure>");
    size_t i;
    json_t *w;
    int points = 0;
    char last[16] = "";
    json_array_foreach(weekly, i, w)
    {
        if (json_is_number(json_object_get(w, "attendance_pct"))) {
            points++;
            pct(json_object_get(w, "attendance_pct"), last);
        }
    }
    cr_assert_gt(points, 10, "a year has more than 10 weeks with sessions");
    cr_assert_eq(count_of(fig, "<circle"), points, "one dot per week with sessions");
    cr_assert(strstr(fig, last), "the latest week's %s is not on the chart", last);
    free(fig);
}

/* check_cohorts asserts every cohort's attendance % is on its chart. */
static void check_cohorts(const char *dom, const json_t *m)
{
    char *fig = section(dom, "chart-cohorts", "</figure>");
    const char *cohorts[] = {"sen", "fsm", "eal", "cla", "social_worker"};
    for (int i = 0; i < 5; i++) {
        char want[16];
        pct(json_object_get(json_object_get(json_object_get(m, "by_cohort"), cohorts[i]),
                            "attendance_pct"),
            want);
        cr_assert(strstr(fig, want), "cohort %s's %s is not on the chart", cohorts[i], want);
    }
    free(fig);
}

/* check_bands asserts every band's pupil count is on its chart. */
static void check_bands(const char *dom, const json_t *bands)
{
    char *fig = section(dom, "chart-bands", "</figure>");
    size_t i;
    json_t *b;
    cr_assert_gt(json_array_size(bands), 0);
    json_array_foreach(bands, i, b)
    {
        char want[64];
        snprintf(want, sizeof want, ">%lld (",
                 (long long)json_integer_value(json_object_get(b, "pupils")));
        cr_assert(strstr(fig, want), "band %s: %s not on the chart",
                  json_string_value(json_object_get(b, "band")), want);
    }
    free(fig);
}

/* check_list asserts the list's table has the API's first rows. */
static void check_list(const char *dom, const char *id, const char *path)
{
    char p[200];
    long total = 0;
    snprintf(p, sizeof p, "%s%slimit=50", path, strchr(path, '?') ? "&" : "?");
    json_t *rows = api(p, &total);
    char *card = section(dom, id, "</section>");
    cr_assert(strstr(card, "data-csv="), "list %s has no CSV download", id);
    int want = (int)json_array_size(rows);
    cr_assert_eq(count_of(card, "<tr") - (want ? 1 : 0), want, "list %s: %d rows of %ld", id, want,
                 total);
    json_decref(rows);
    free(card);
}

/* ---- tests ---- */

Test(dashboard, shell_and_files_served_as_built_naming_no_other_host, .init = setup_shell)
{
    const char *pages[] = {"/dashboard/school/" URN, "/dashboard/trust/" TRUST,
                           "/dashboard/la/" LA};
    const char *files[][3] = {
        {"/dashboard/school/" URN, "index.html", "text/html"},
        {"/dashboard/dashboard.js", "dashboard.js", "text/javascript"},
        {"/dashboard/dashboard.css", "dashboard.css", "text/css"},
    };
    for (int i = 0; i < 3; i++) {
        char path[200];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", ASSETS, files[i][1]);
        char *want = ts_slurp(path, &len);
        ts_http_resp_t r = get(files[i][0], 0);
        cr_assert_eq(r.status, 200, "%s without a token: %ld", files[i][0], r.status);
        cr_assert(header_has(&r, "Content-Type", files[i][2]), "%s: %s", files[i][0], r.headers);
        cr_assert(header_has(&r, "Content-Security-Policy", "default-src 'none'"), "%s", r.headers);
        cr_assert(header_has(&r, "Cache-Control", "no-cache"));
        cr_assert(header_has(&r, "X-Content-Type-Options", "nosniff"));
        cr_assert_eq(r.len, len, "%s is not the file as built", files[i][0]);
        cr_assert(memcmp(r.body, want, len) == 0, "%s differs from %s", files[i][0], path);
        cr_assert_null(strstr(r.body, "http://"), "%s names an outside URL", files[i][1]);
        cr_assert_null(strstr(r.body, "https://"), "%s names an outside URL", files[i][1]);
        cr_assert_null(strstr(r.body, "//cdn"), "%s", files[i][1]);
        ts_http_resp_free(&r);
        free(want);
    }
    for (int i = 0; i < 3; i++) { /* every page is the same shell, no data in it */
        ts_http_resp_t r = get(pages[i], 0);
        cr_assert_eq(r.status, 200, "%s", pages[i]);
        cr_assert(strstr(r.body, "src=\"/dashboard/dashboard.js\""));
        cr_assert(strstr(r.body, "href=\"/dashboard/dashboard.css\""));
        ts_http_resp_free(&r);
    }
    const char *bad[] = {"/dashboard/school/12345", "/dashboard/school/1002011",
                         "/dashboard/la/90",        "/dashboard/la/9090",
                         "/dashboard/trust/",       "/dashboard/trust/a/b",
                         "/dashboard/index.html",   "/dashboard/",
                         "/dashboard/school/10020x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ts_http_resp_t r = get(bad[i], 0);
        cr_assert_eq(r.status, 404, "%s: %ld", bad[i], r.status);
        ts_http_resp_free(&r);
    }
    ts_http_resp_t r =
        ts_http_request(reports_port, "POST", "/dashboard/school/" URN,
                        &(ts_http_req_t){.content_type = "text/plain", .body = "x", .len = 1});
    cr_assert_eq(r.status, 405);
    cr_assert(header_has(&r, "Allow", "GET"));
    ts_http_resp_free(&r);
    /* the API beside it still wants its token */
    r = get("/v1/schools/" URN "/summary", 0);
    cr_assert_eq(r.status, 401);
    ts_http_resp_free(&r);
}

Test(dashboard, token_form_without_a_token_and_after_a_wrong_one, .init = setup_shell)
{
    char *dom = dump_dom("/dashboard/school/" URN);
    cr_assert(strstr(dom, "id=\"token-form\""), "no token form without a token");
    cr_assert_null(strstr(dom, "chart-weekly"));
    free(dom);
    dom = dump_dom("/dashboard/school/" URN "#token=not-a-known-token");
    cr_assert(strstr(dom, "id=\"token-form\""), "no token form after a refused token");
    cr_assert(strstr(dom, "did not accept the token"), "the refusal is not told");
    cr_assert_null(strstr(dom, "not-a-known-token"), "the token stayed in the page");
    free(dom);
}

Test(dashboard, pages_in_headless_chromium_show_the_api_numbers, .init = setup_year)
{
    chromium_path(); /* fail first, and plainly, when it is missing */

    /* the school */
    json_t *s = api("/v1/schools/" URN "/summary", NULL);
    char *dom = dump_dom("/dashboard/school/" URN "#token=" TOKEN);
    cr_assert_null(strstr(dom, TOKEN), "the token is written into the page");
    char name[200];
    html_text(json_string_value(json_object_get(s, "name")), name, sizeof name);
    cr_assert(strstr(dom, name), "the school's name %s is not on its page", name);
    check_measures(dom, s);
    const char *school_charts[] = {"chart-weekly", "chart-bands", "chart-cohorts",
                                   "chart-stages", "chart-years", NULL};
    check_charts(dom, school_charts);
    check_weekly(dom, json_object_get(s, "weekly"));
    check_cohorts(dom, s);
    check_bands(dom, json_object_get(s, "bands"));
    char target[16];
    pct(json_object_get(s, "target_pct"), target);
    char *fig = section(dom, "chart-weekly", "</figure>");
    cr_assert(json_is_number(json_object_get(s, "target_pct")), "the policy has a target");
    cr_assert(strstr(fig, target), "the target %s is not on the weekly chart", target);
    cr_assert(strstr(fig, "class=\"targetline\""));
    free(fig);
    fig = section(dom, "chart-stages", "</figure>");
    json_t *stages = json_object_get(s, "stages");
    cr_assert_gt(json_object_size(stages), 0, "the policy has tracks");
    int with_stages = 0;
    const char *track;
    json_t *counts;
    json_object_foreach(stages, track, counts)
    {
        with_stages += json_object_size(counts) > (json_object_get(counts, "none") ? 1u : 0u);
        char h3[96];
        snprintf(h3, sizeof h3, "%s", track);
        h3[0] = (char)(h3[0] >= 'a' && h3[0] <= 'z' ? h3[0] - 32 : h3[0]);
        for (char *p = h3; *p; p++)
            *p = *p == '_' ? ' ' : *p;
        cr_assert(strstr(fig, h3), "track %s is not in the funnel", h3);
    }
    cr_assert_gt(with_stages, 0, "someone is on a stage in a school year");
    cr_assert_eq(count_of(fig, "<svg"), with_stages, "one funnel per track with stages");
    free(fig);
    check_list(dom, "list-pa", "/v1/schools/" URN "/pupils?pa=1");
    check_list(dom, "list-reviews", "/v1/schools/" URN "/reviews?within_days=7");
    check_list(dom, "list-fda", "/v1/schools/" URN "/first-day-absences");
    check_list(dom, "list-referrals", "/v1/schools/" URN "/referrals");
    free(dom);
    json_decref(s);
    screenshot("/dashboard/school/" URN "#token=" TOKEN, "school");

    /* the trust, then the LA: the same three schools */
    const char *groups[][3] = {{"/v1/trusts/" TRUST "/summary", "/dashboard/trust/" TRUST, "trust"},
                               {"/v1/la/" LA "/summary", "/dashboard/la/" LA, "la"}};
    for (int g = 0; g < 2; g++) {
        char page[200];
        json_t *o = api(groups[g][0], NULL), *schools = json_object_get(o, "schools");
        snprintf(page, sizeof page, "%s#token=%s", groups[g][1], TOKEN);
        dom = dump_dom(page);
        cr_assert_eq(json_array_size(schools), 3, "the generated year has 3 schools");
        check_measures(dom, json_object_get(o, "total"));
        char *tile = section(dom, "kpi-schools", "</li>");
        cr_assert(strstr(tile, "class=\"value\">3<"), "%s", tile);
        free(tile);
        const char *group_charts[] = {
            "chart-schools", "chart-weekly", "chart-bands", "chart-cohorts",
            "chart-stages",  "chart-years",  NULL};
        check_charts(dom, group_charts);
        check_weekly(dom, json_object_get(json_object_get(o, "total"), "weekly"));
        check_cohorts(dom, json_object_get(o, "total"));
        check_bands(dom, json_object_get(json_object_get(o, "total"), "bands"));
        fig = section(dom, "chart-schools", "</figure>");
        char *table = section(dom, "schools-table", "</table>");
        size_t i;
        json_t *sc;
        json_array_foreach(schools, i, sc)
        {
            char want[16];
            html_text(json_string_value(json_object_get(sc, "name")), name, sizeof name);
            pct(json_object_get(sc, "attendance_pct"), want);
            cr_assert(strstr(fig, name), "%s: school %s is not compared", groups[g][2], name);
            cr_assert(strstr(fig, want), "%s: %s's %s is not compared", groups[g][2], name, want);
            cr_assert(strstr(table, name), "%s: %s not in the table", groups[g][2], name);
            char link[64];
            snprintf(link, sizeof link, "href=\"/dashboard/school/%s\"",
                     json_string_value(json_object_get(sc, "urn")));
            cr_assert(strstr(table, link), "%s: no link to %s's page", groups[g][2], name);
        }
        free(table);
        free(fig);
        if (g == 1)
            check_list(dom, "list-referrals", "/v1/la/" LA "/referrals");
        free(dom);
        json_decref(o);
        screenshot(page, groups[g][2]);
    }
}
