/* test_template.c - message templates: loading, lookup, rendering, SMS cost, and the seeds'
 * templates. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rollcall/policy.h"
#include "rollcall/template.h"

#define TEMPLATES_DIR ROLLCALL_SOURCE_DIR "/templates"
#define POLICIES_DIR  ROLLCALL_SOURCE_DIR "/policies"
#define DOCS_FILE     ROLLCALL_SOURCE_DIR "/docs/templates.md"

/* ---- helpers ---- */

static rc_err_t load(const char *yaml, const char *id, template_t **t, char err[TEMPLATE_ERR_MAX])
{
    return template_load(yaml, strlen(yaml), "inline.yaml", id, NULL, t, err);
}

/* ok loads yaml that must load; the caller destroys the template. */
static template_t *ok(const char *yaml)
{
    char err[TEMPLATE_ERR_MAX] = "";
    template_t *t = NULL;
    rc_err_t rc = load(yaml, NULL, &t, err);
    cr_assert_eq(rc, RC_OK, "refused (%d): %s\n---\n%s", rc, err, yaml);
    cr_assert_not_null(t);
    return t;
}

/* refused checks that yaml is refused with rc at line:col (col 0: any),
 * with a message holding needle. */
static void refused_as(const char *yaml, const char *id, rc_err_t want, unsigned line, unsigned col,
                       const char *needle)
{
    char err[TEMPLATE_ERR_MAX] = "", prefix[64];
    template_t *t = NULL;
    rc_err_t rc = load(yaml, id, &t, err);
    cr_assert_eq(rc, want, "wanted %d, got %d (%s)\n---\n%s", want, rc, err, yaml);
    cr_assert_null(t, "a refused template must not be returned");
    if (col)
        snprintf(prefix, sizeof prefix, "inline.yaml:%u:%u: ", line, col);
    else
        snprintf(prefix, sizeof prefix, "inline.yaml:%u:", line);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "wanted \"%s...\", got \"%s\"", prefix,
              err);
    cr_assert(strstr(err, needle) != NULL, "message \"%s\" lacks \"%s\"", err, needle);
}

static void refused(const char *yaml, unsigned line, unsigned col, const char *needle)
{
    refused_as(yaml, NULL, RC_EINVAL, line, col, needle);
}

/* A temporary folder of template files, removed at the end of each test. */
static char tmp[64];

static void tmp_make(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/rollcall-template-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char sub[1024];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void tmp_remove(void)
{
    if (tmp[0])
        rm_tree(tmp);
    tmp[0] = '\0';
}

/* put writes text to tmp/rel, making rel's folder when it has one. */
static void put(const char *rel, const char *text)
{
    char path[512];
    const char *slash = strchr(rel, '/');
    if (slash) {
        snprintf(path, sizeof path, "%s/%.*s", tmp, (int)(slash - rel), rel);
        mkdir(path, 0700);
    }
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* set_refused checks that tmp is refused with rc and a message starting
 * tmp/<where> and holding needle. */
static void set_refused(rc_err_t want, const char *where, const char *needle)
{
    char err[TEMPLATE_ERR_MAX] = "", prefix[600];
    template_set_t *set = NULL;
    rc_err_t rc = template_set_load(tmp, &set, err);
    cr_assert_eq(rc, want, "wanted %d, got %d (%s)", want, rc, err);
    cr_assert_null(set);
    snprintf(prefix, sizeof prefix, "%s%s", tmp, where);
    cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "wanted \"%s...\", got \"%s\"", prefix,
              err);
    cr_assert(strstr(err, needle) != NULL, "message \"%s\" lacks \"%s\"", err, needle);
}

static template_set_t *set_ok(const char *dir)
{
    char err[TEMPLATE_ERR_MAX] = "";
    template_set_t *set = NULL;
    rc_err_t rc = template_set_load(dir, &set, err);
    cr_assert_eq(rc, RC_OK, "%s did not load (%d): %s", dir, rc, err);
    cr_assert_not_null(set);
    return set;
}

/* sample fills every field with a typical value. */
static template_fields_t sample(void)
{
    template_fields_t f = {{0}};
    f.value[FIELD_PARENT_NAME] = "Sam Khan";
    f.value[FIELD_PUPIL_FORENAME] = "Ava";
    f.value[FIELD_PUPIL_SURNAME] = "Khan";
    f.value[FIELD_PUPIL_FULL_NAME] = "Ava Khan";
    f.value[FIELD_PUPIL_NAMES] = "Ava and Ben";
    f.value[FIELD_YEAR_GROUP] = "Year 7";
    f.value[FIELD_REGISTRATION_GROUP] = "7B";
    f.value[FIELD_DATE_OF_BIRTH] = "14 March 2013";
    f.value[FIELD_SCHOOL_NAME] = "Hill View Academy";
    f.value[FIELD_SCHOOL_PHONE] = "01632 960123";
    f.value[FIELD_DATE] = "Monday 3 November 2025";
    f.value[FIELD_SESSION] = "morning";
    f.value[FIELD_DATES] = "Monday 3 November, Tuesday 4 November and Friday 7 November";
    f.value[FIELD_ATTENDANCE_PCT] = "89.9";
    f.value[FIELD_BAND] = "red";
    f.value[FIELD_TARGET_PCT] = "97";
    f.value[FIELD_DAYS_MISSED] = "6.5";
    f.value[FIELD_UNAUTHORISED_SESSIONS] = "4";
    f.value[FIELD_LATE_MARKS] = "3";
    f.value[FIELD_LATE_AFTER_CLOSE] = "1";
    f.value[FIELD_STAGE_TITLE] = "Stage 1: Letter 1";
    f.value[FIELD_REVIEW_DATE] = "Monday 1 December 2025";
    f.value[FIELD_MEETING_DATE] = "Tuesday 11 November 2025";
    f.value[FIELD_MEETING_TIME] = "3:30pm";
    f.value[FIELD_MEETING_PLACE] = "the main office";
    return f;
}

static sms_count_t count(const char *s)
{
    sms_count_t c;
    cr_assert_eq(sms_segments(s, strlen(s), &c), RC_OK, "not UTF-8: %s", s);
    return c;
}

/* repeat returns n copies of unit (a static buffer: one use at a time). */
static const char *repeat(const char *unit, size_t n)
{
    static char buf[4096];
    size_t l = strlen(unit), used = 0;
    cr_assert(n * l < sizeof buf);
    for (size_t i = 0; i < n; i++, used += l)
        memcpy(buf + used, unit, l);
    buf[used] = '\0';
    return buf;
}

/* ---- merge fields ---- */

Test(fields, names_round_trip_and_are_documented)
{
    FILE *f = fopen(DOCS_FILE, "r");
    static char doc[256 * 1024];
    size_t len = f ? fread(doc, 1, sizeof doc - 1, f) : 0;
    if (f)
        fclose(f);
    doc[len] = '\0';
    cr_assert_gt(len, 0, "cannot read %s", DOCS_FILE);
    for (int i = 0; i < FIELD__COUNT; i++) {
        const char *name = template_field_name((template_field_t)i);
        template_field_t back;
        char written[64];
        cr_assert_eq(template_field_parse(name, strlen(name), &back), RC_OK);
        cr_assert_eq(back, (template_field_t)i);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(name, template_field_name((template_field_t)j));
        snprintf(written, sizeof written, "`((%s))`", name);
        cr_assert(strstr(doc, written), "docs/templates.md does not list %s", written);
    }
    template_field_t x;
    cr_assert_eq(template_field_parse("Pupil_Forename", 14, &x), RC_ENOTFOUND);
    cr_assert_str_eq(template_field_name(FIELD__COUNT), "unknown");
}

/* ---- loading one file ---- */

Test(load, a_template_with_every_channel)
{
    template_t *t = ok("template: t\n"
                       "title: \"Everything\"\n"
                       "sms: \"Hello ((parent_name))\"\n"
                       "email:\n"
                       "  subject: \"About ((pupil_forename))\"\n"
                       "  text: |\n"
                       "    Dear ((parent_name)),\n"
                       "\n"
                       "    Text.\n"
                       "  html: \"<p>Dear ((parent_name))</p>\"\n"
                       "letter:\n"
                       "  subject: \"Letter\"\n"
                       "  body: |\n"
                       "    Dear ((parent_name)),\n"
                       "\n"
                       "notify:\n"
                       "  sms_template_id: f33517ff-2a88-4f6e-b855-c550268ce08a\n"
                       "  email_template_id: F33517FF-2A88-4F6E-B855-C550268CE08B\n");
    cr_assert_str_eq(t->id, "t");
    cr_assert_str_eq(t->title, "Everything");
    cr_assert_str_eq(t->policy, "");
    cr_assert_str_eq(t->sms, "Hello ((parent_name))");
    cr_assert_str_eq(t->email_text, "Dear ((parent_name)),\n\nText.", "trailing newline trimmed");
    cr_assert_str_eq(t->email_html, "<p>Dear ((parent_name))</p>");
    cr_assert_str_eq(t->letter_body, "Dear ((parent_name)),");
    cr_assert_str_eq(t->notify_sms_id, "f33517ff-2a88-4f6e-b855-c550268ce08a");
    cr_assert(template_has(t, CHANNEL_SMS) && template_has(t, CHANNEL_EMAIL) &&
              template_has(t, CHANNEL_LETTER) && !template_has(t, CHANNEL_NONE));
    template_destroy(&t);
    template_destroy(&t); /* harmless */
    cr_assert_null(t);
}

Test(load, title_defaults_to_the_id_and_channels_are_optional)
{
    template_t *t = ok("template: only_letter\nletter: {body: \"Hello\"}\n");
    cr_assert_str_eq(t->title, "only_letter");
    cr_assert_null(t->sms);
    cr_assert_null(t->email_text);
    cr_assert_null(t->letter_subject);
    cr_assert(!template_has(t, CHANNEL_SMS) && template_has(t, CHANNEL_LETTER));
    template_destroy(&t);
}

Test(load, yaml_errors_say_where)
{
    refused_as("template: t\nsms: \"Hi\"\n\tletter: {body: x}\n", NULL, RC_EPARSE, 3, 0, "tab");
    refused_as("template: t\nsms: \"unclosed\n", NULL, RC_EPARSE, 3, 0, "not valid YAML");
    refused_as("template: t\n---\ntemplate: u\n", NULL, RC_EINVAL, 2, 1, "one template");
    refused_as("template: &a t\nsms: *a\n", NULL, RC_EINVAL, 1, 11, "anchors");
    refused_as("", NULL, RC_EINVAL, 1, 1, "empty");
    refused_as("- a\n- b\n", NULL, RC_EINVAL, 1, 1, "not a list");
}

Test(load, keys_are_checked)
{
    refused("template: t\nsmss: \"Hi\"\n", 2, 1, "did you mean \"sms\"?");
    refused("template: t\nsms: \"Hi\"\nsms: \"Again\"\n", 3, 1, "written twice");
    refused("template: t\nemail: {subject: s, txt: x}\n", 2, 21, "did you mean \"text\"?");
    refused("sms: \"Hi\"\n", 1, 1, "needs `template:");
    refused("template: \"letter 1\"\nsms: x\n", 1, 11, "no spaces");
    refused("template: t\ntitle: \"Hi\"\n", 1, 1, "has no message");
    refused("template: t\nsms_unicode: maybe\nsms: x\n", 2, 14, "true or false");
    refused("template: t\nsms_unicode: true\nletter: {body: x}\n", 2, 1, "no `sms:`");
}

Test(load, id_must_match_the_file_name)
{
    refused_as("template: letter_2\nletter: {body: x}\n", "letter_1", RC_EINVAL, 1, 11,
               "named letter_1.yaml but says `template: letter_2`");
    template_t *t = NULL;
    char err[TEMPLATE_ERR_MAX];
    cr_assert_eq(load("template: letter_1\nletter: {body: x}\n", "letter_1", &t, err), RC_OK);
    template_destroy(&t);
}

Test(load, empty_channels_are_refused)
{
    refused("template: t\nsms: \"\"\n", 2, 6, "`sms` is empty");
    refused("template: t\nsms:\n", 2, 5, "`sms` is empty");
    refused("template: t\nsms: \"   \"\n", 2, 6, "`sms` is empty");
    refused("template: t\nemail:\n", 2, 7, "`email` is empty");
    refused("template: t\nemail: {subject: s, text: \"\"}\n", 2, 27, "`text` is empty");
    refused("template: t\nemail: {text: x}\n", 2, 8, "needs a `subject:`");
    refused("template: t\nletter: {subject: s}\n", 2, 9, "needs a `body:`");
    refused("template: t\nletter: [a, b]\n", 2, 9, "not a list");
}

Test(load, texts_are_checked)
{
    refused("template: t\nemail: {subject: \"a\\nb\", text: x}\n", 2, 18, "one line");
    refused("template: t\nsms: \"bell\\a\"\n", 2, 6, "control character");
    refused("template: t\nletter: {body: [x]}\n", 2, 16, "should be text");
}

Test(load, unknown_merge_fields_are_refused_where_they_are_written)
{
    refused("template: t\n"
            "letter:\n"
            "  body: |\n"
            "    Dear ((parent_name)),\n"
            "\n"
            "    We saw ((pupil_fornam)) today.\n",
            6, 12, "unknown merge field ((pupil_fornam)); did you mean ((pupil_forename))?");
    refused("template: t\nsms: \"Hi ((shoe_size))\"\n", 2, 10,
            "unknown merge field ((shoe_size)); the fields you can use are listed in "
            "docs/templates.md");
    refused("template: t\nsms: \"Hi ((Pupil_Forename))\"\n", 2, 10,
            "did you mean ((pupil_forename))");
    refused("template: t\nsms: \"Hi (( pupil_forename ))\"\n", 2, 10,
            "write the merge field as ((pupil_forename)), with no spaces");
    refused("template: t\nsms: \"Hi ((late??You were late))\"\n", 2, 10, "conditional text");
    /* A field in a block, and one in a quoted subject, are found where they are. */
    refused("template: t\nemail:\n  subject: \"x\"\n  text: |\n    ((datte))\n", 5, 5,
            "did you mean ((date))?");
    refused("template: t\nemail:\n  subject: \"For ((pupil_nmes))\"\n  text: x\n", 3, 17,
            "did you mean ((pupil_names))?");
    /* Not placeholders: single brackets, and brackets around a known field. */
    template_t *t = ok("template: t\nsms: \"(Ava) (((pupil_forename))) ((\"\n");
    template_destroy(&t);
}

Test(load, sms_in_the_gsm_alphabet_unless_the_school_says_otherwise)
{
    refused("template: t\n"
            "sms: >-\n"
            "  Hello ((parent_name)),\n"
            "  Zoë says hi\n",
            4, 5, "not in the GSM alphabet");
    refused("template: t\nsms: \"Thanks 😀\"\n", 2, 14, "U+1F600");
    /* Curly quotes and dashes are replaced on sending, as Notify does. */
    template_t *t = ok("template: t\nsms: \"It’s – fine…\"\n");
    template_destroy(&t);
    t = ok("template: t\nsms_unicode: true\nsms: \"Diolch, ŵyr\"\n");
    cr_assert(t->sms_unicode);
    template_destroy(&t);
}

Test(load, sms_longer_than_four_texts_is_refused)
{
    /* 612 characters is 4 texts (4 x 153), 613 is 5; a field counts at its budget. */
    char yaml[1200];
    snprintf(yaml, sizeof yaml, "template: t\nsms: \"%s\"\n", repeat("a", 612));
    template_t *t = ok(yaml);
    template_destroy(&t);
    snprintf(yaml, sizeof yaml, "template: t\nsms: \"%s\"\n", repeat("a", 613));
    refused(yaml, 2, 6, "5 texts");
    snprintf(yaml, sizeof yaml, "template: t\nsms: \"((school_name)) %s\"\n", repeat("a", 580));
    refused(yaml, 2, 6, "typical names");
    snprintf(yaml, sizeof yaml, "template: t\nsms_unicode: true\nsms: \"ŵ%s\"\n", repeat("a", 268));
    refused(yaml, 3, 6, "in Unicode");
}

Test(load, notify_ids_are_checked)
{
    refused("template: t\nsms: x\nnotify: {sms_template_id: 1234}\n", 3, 27, "GOV.UK Notify");
    refused("template: t\nletter: {body: x}\nnotify: {sms_template_id: "
            "f33517ff-2a88-4f6e-b855-c550268ce08a}\n",
            3, 10, "needs the text itself in `sms:`");
    refused("template: t\nsms: x\nnotify: {email_template_id: "
            "f33517ff-2a88-4f6e-b855-c550268ce08a}\n",
            3, 10, "needs the email itself");
    refused("template: t\nsms: x\nnotify: {letter_template_id: x}\n", 3, 10, "unknown key");
}

Test(load, load_file_takes_the_id_from_the_name)
{
    char path[128], err[TEMPLATE_ERR_MAX];
    template_t *t = NULL;
    tmp_make();
    put("hello.yml", "template: hello\nsms: Hi\n");
    snprintf(path, sizeof path, "%s/hello.yml", tmp);
    cr_assert_eq(template_load_file(path, "004_hcat", &t, err), RC_OK, "%s", err);
    cr_assert_str_eq(t->policy, "004_hcat");
    cr_assert_str_eq(t->path, path);
    template_destroy(&t);
    put("other.yaml", "template: hello\nsms: Hi\n");
    snprintf(path, sizeof path, "%s/other.yaml", tmp);
    cr_assert_eq(template_load_file(path, NULL, &t, err), RC_EINVAL);
    cr_assert(strstr(err, ":1:11: the file is named other.yaml"), "%s", err);
    snprintf(path, sizeof path, "%s/missing.yaml", tmp);
    cr_assert_eq(template_load_file(path, NULL, &t, err), RC_EIO);
    cr_assert(strstr(err, "cannot open"), "%s", err);
    tmp_remove();
}

/* ---- sets and overrides ---- */

Test(set, overrides_win_for_their_policy_only, .fini = tmp_remove)
{
    tmp_make();
    put("first_day_absence.yaml", "template: first_day_absence\nsms: \"Default\"\n");
    put("social_worker_absence.yaml",
        "template: social_worker_absence\nemail: {subject: s, text: t}\n");
    put("README.md", "not a template\n");
    put(".hidden.yaml", "not: even: yaml\n");
    put("004_hcat/first_day_absence.yaml", "template: first_day_absence\nsms: \"HCAT\"\n");
    put("004_hcat/letter_1.yaml", "template: letter_1\nletter: {body: \"Letter 1\"}\n");
    put("004_hcat/notes.txt", "ignored\n");

    template_set_t *set = set_ok(tmp);
    cr_assert_eq(template_set_count(set), 4);
    cr_assert_str_eq(template_set_at(set, 0)->policy, "", "defaults first");
    cr_assert_null(template_set_at(set, 4));

    const template_t *t = template_find(set, "004_hcat", "first_day_absence");
    cr_assert_not_null(t);
    cr_assert_str_eq(t->sms, "HCAT");
    cr_assert_str_eq(t->policy, "004_hcat");
    t = template_find(set, "000_flowchart", "first_day_absence");
    cr_assert_str_eq(t->sms, "Default");
    cr_assert_str_eq(template_find(set, NULL, "first_day_absence")->sms, "Default");
    cr_assert_str_eq(template_find(set, "", "first_day_absence")->sms, "Default");
    cr_assert_not_null(template_find(set, "004_hcat", "social_worker_absence"), "falls back");
    cr_assert_not_null(template_find(set, "004_hcat", "letter_1"));
    cr_assert_null(template_find(set, "000_flowchart", "letter_1"), "another policy's own");
    cr_assert_null(template_find(set, NULL, "letter_1"));
    cr_assert_null(template_find(set, "004_hcat", "nope"));
    template_set_destroy(&set);
    template_set_destroy(&set);
    cr_assert_null(set);
}

Test(set, two_files_for_one_id_are_refused, .fini = tmp_remove)
{
    tmp_make();
    put("letter_1.yaml", "template: letter_1\nletter: {body: x}\n");
    put("letter_1.yml", "# the same again\ntemplate: letter_1\nletter: {body: y}\n");
    set_refused(RC_EINVAL, "/letter_1.yml:2:11: ", "is also in");
}

Test(set, ids_differing_only_in_capitals_are_refused, .fini = tmp_remove)
{
    tmp_make();
    put("Letter_A.yaml", "template: Letter_A\nletter: {body: x}\n");
    put("letter_a.yaml", "template: letter_a\nletter: {body: y}\n");
    set_refused(RC_EINVAL, "/letter_a.yaml:1:11: ", "only in capitals");
}

Test(set, the_same_id_in_two_folders_is_an_override, .fini = tmp_remove)
{
    tmp_make();
    put("letter_a.yaml", "template: letter_a\nletter: {body: x}\n");
    put("001_x/letter_a.yaml", "template: letter_a\nletter: {body: y}\n");
    template_set_t *set = set_ok(tmp);
    cr_assert_eq(template_set_count(set), 2);
    template_set_destroy(&set);
}

Test(set, a_bad_file_fails_the_whole_set, .fini = tmp_remove)
{
    tmp_make();
    put("a.yaml", "template: a\nsms: Hi\n");
    put("004_hcat/b.yaml", "template: b\nsms: \"Hi ((nmae))\"\n");
    set_refused(RC_EINVAL, "/004_hcat/b.yaml:2:10: ", "unknown merge field ((nmae))");
}

Test(set, id_and_file_name_must_match, .fini = tmp_remove)
{
    tmp_make();
    put("letter_1.yaml", "template: letter_one\nletter: {body: x}\n");
    set_refused(RC_EINVAL, "/letter_1.yaml:1:11: ", "named letter_1.yaml");
}

Test(set, a_file_name_that_cannot_be_an_id, .fini = tmp_remove)
{
    tmp_make();
    put("letter 1.yaml", "template: letter_1\nletter: {body: x}\n");
    set_refused(RC_EINVAL, "/letter 1.yaml: ", "no spaces");
}

Test(set, folders_go_one_deep, .fini = tmp_remove)
{
    tmp_make();
    put("a.yaml", "template: a\nsms: Hi\n");
    put("004_hcat/b.yaml", "template: b\nsms: Hi\n");
    char path[256];
    snprintf(path, sizeof path, "%s/004_hcat/old", tmp);
    cr_assert_eq(mkdir(path, 0700), 0);
    set_refused(RC_EINVAL, "/004_hcat/old: ", "template files only");
}

Test(set, a_folder_name_must_be_a_policy_name, .fini = tmp_remove)
{
    tmp_make();
    put("a.yaml", "template: a\nsms: Hi\n");
    put("old letters/b.yaml", "template: b\nsms: Hi\n");
    set_refused(RC_EINVAL, "/old letters: ", "named after the policy");
}

Test(set, an_empty_or_missing_folder, .fini = tmp_remove)
{
    char err[TEMPLATE_ERR_MAX];
    template_set_t *set = NULL;
    tmp_make();
    put("README.md", "nothing\n");
    set_refused(RC_ENOTFOUND, ": ", "no templates");
    cr_assert_eq(template_set_load("/nonexistent/rollcall/templates", &set, err), RC_EIO);
    cr_assert_null(set);
    cr_assert(strstr(err, "cannot open the templates folder"), "%s", err);
}

/* ---- rendering ---- */

Test(render, sms_fills_fields_and_counts_the_cost)
{
    template_t *t = ok("template: t\n"
                       "sms: \"((school_name)): ((pupil_names)) did not come to school this "
                       "((session)). Call ((school_phone)).\"\n");
    template_fields_t f = sample();
    template_message_t m;
    char err[TEMPLATE_ERR_MAX];
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_OK, "%s", err);
    cr_assert_str_eq(m.text, "Hill View Academy: Ava and Ben did not come to school this morning. "
                             "Call 01632 960123.");
    cr_assert_eq(m.channel, CHANNEL_SMS);
    cr_assert_null(m.subject);
    cr_assert_null(m.html);
    cr_assert_eq(m.sms.encoding, SMS_GSM7);
    cr_assert_eq(m.sms.segments, 1);
    cr_assert_eq(m.sms.units, strlen(m.text));
    template_message_free(&m);
    template_message_free(&m);

    /* A name outside the GSM alphabet makes the whole text UCS-2 ... */
    f.value[FIELD_PUPIL_NAMES] = "Zoë and Ben";
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_OK, "%s", err);
    cr_assert_eq(m.sms.encoding, SMS_UCS2);
    cr_assert_eq(m.sms.segments, 2, "%u characters in UCS-2 is two texts", m.sms.chars);
    template_message_free(&m);
    /* ... but é is in it, and a curly apostrophe is straightened. */
    f.value[FIELD_PUPIL_NAMES] = "Zoé O’Brien";
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_OK, "%s", err);
    cr_assert_eq(m.sms.encoding, SMS_GSM7);
    cr_assert(strstr(m.text, "Zoé O'Brien did not"), "%s", m.text);
    template_message_free(&m);
    template_destroy(&t);
}

Test(render, missing_and_bad_values_are_refused_naming_the_field_only)
{
    template_t *t = ok("template: t\nsms: \"Hi ((parent_name))\"\n"
                       "email: {subject: \"About ((pupil_forename))\", text: x}\n");
    template_fields_t f = {{0}};
    template_message_t m;
    char err[TEMPLATE_ERR_MAX];
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_EINVAL);
    cr_assert(strstr(err, "((parent_name)), which has no value"), "%s", err);
    cr_assert_null(m.text);
    cr_assert_eq(template_render(t, CHANNEL_EMAIL, &f, &m, err), RC_EINVAL);
    cr_assert(strstr(err, "((pupil_forename))"), "%s", err);

    f.value[FIELD_PARENT_NAME] = "Sam\nKhan";
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_EINVAL);
    cr_assert(strstr(err, "control character") && !strstr(err, "Sam"), "%s", err);
    f.value[FIELD_PARENT_NAME] = "Sam \xC3";
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_EINVAL);
    cr_assert(strstr(err, "not UTF-8"), "%s", err);
    f.value[FIELD_PARENT_NAME] = repeat("a", TEMPLATE_VALUE_MAX + 1);
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_EINVAL);
    cr_assert(strstr(err, "longer than"), "%s", err);

    cr_assert_eq(template_render(t, CHANNEL_LETTER, &f, &m, err), RC_ENOTFOUND);
    cr_assert(strstr(err, "has no `letter:`"), "%s", err);
    template_destroy(&t);
}

Test(render, sms_over_the_gateway_limit_is_refused)
{
    template_t *t = ok("template: t\nsms: \"((stage_title)) ((meeting_place)) ((dates))\"\n");
    template_fields_t f = sample();
    template_message_t m;
    char err[TEMPLATE_ERR_MAX];
    char big[TEMPLATE_VALUE_MAX + 1];
    memset(big, 'a', 400);
    big[400] = '\0';
    f.value[FIELD_STAGE_TITLE] = big;
    f.value[FIELD_MEETING_PLACE] = big;
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_OK, "%s", err);
    cr_assert_eq(m.sms.chars, 400 + 1 + 400 + 1 + strlen(f.value[FIELD_DATES]));
    template_message_free(&m);
    f.value[FIELD_DATES] = big;
    cr_assert_eq(template_render(t, CHANNEL_SMS, &f, &m, err), RC_ETOOBIG);
    cr_assert(strstr(err, "1202 characters"), "%s", err);
    template_destroy(&t);
}

Test(render, email_escapes_values_in_html_only)
{
    template_t *t = ok("template: t\n"
                       "email:\n"
                       "  subject: \"Absence: ((pupil_names))\"\n"
                       "  text: |\n"
                       "    Dear ((parent_name)),\n"
                       "\n"
                       "    ((pupil_names)) was absent <today> & more.\n"
                       "    Second line.\n"
                       "\n"
                       "\n"
                       "    The Team\n");
    template_fields_t f = sample();
    f.value[FIELD_PARENT_NAME] = "Sam \"Sammy\" O'Neil & <Co>";
    template_message_t m;
    char err[TEMPLATE_ERR_MAX];
    cr_assert_eq(template_render(t, CHANNEL_EMAIL, &f, &m, err), RC_OK, "%s", err);
    cr_assert_str_eq(m.subject, "Absence: Ava and Ben");
    cr_assert_str_eq(m.text, "Dear Sam \"Sammy\" O'Neil & <Co>,\n\n"
                             "Ava and Ben was absent <today> & more.\nSecond line.\n\n\nThe Team");
    cr_assert_str_eq(m.html, "<p>Dear Sam &quot;Sammy&quot; O&#39;Neil &amp; &lt;Co&gt;,</p>\n"
                             "<p>Ava and Ben was absent &lt;today&gt; &amp; more.<br>\n"
                             "Second line.</p>\n"
                             "<p>The Team</p>\n");
    template_message_free(&m);
    template_destroy(&t);

    /* A template's own HTML is kept as written; only the values are escaped. */
    t = ok("template: t\n"
           "email:\n"
           "  subject: s\n"
           "  text: \"Dear ((parent_name))\"\n"
           "  html: \"<p class='x'>Dear <b>((parent_name))</b></p>\"\n");
    cr_assert_eq(template_render(t, CHANNEL_EMAIL, &f, &m, err), RC_OK, "%s", err);
    cr_assert_str_eq(m.html, "<p class='x'>Dear <b>Sam &quot;Sammy&quot; O&#39;Neil &amp; "
                             "&lt;Co&gt;</b></p>");
    cr_assert_str_eq(m.text, "Dear Sam \"Sammy\" O'Neil & <Co>");
    template_message_free(&m);
    template_destroy(&t);
}

Test(render, letters_leave_a_line_for_what_is_not_known)
{
    template_t *t = ok("template: t\n"
                       "letter:\n"
                       "  subject: \"Meeting for ((pupil_full_name))\"\n"
                       "  body: |\n"
                       "    Dear ((parent_name)),\n"
                       "\n"
                       "    Please come on ((meeting_date)) at ((meeting_time)).\n");
    template_fields_t f = sample();
    template_message_t m;
    char err[TEMPLATE_ERR_MAX];
    f.value[FIELD_MEETING_DATE] = NULL;
    f.value[FIELD_MEETING_TIME] = NULL;
    cr_assert_eq(template_render(t, CHANNEL_LETTER, &f, &m, err), RC_OK, "%s", err);
    cr_assert_str_eq(m.subject, "Meeting for Ava Khan");
    cr_assert_str_eq(m.text,
                     "Dear Sam Khan,\n\nPlease come on " TEMPLATE_BLANK " at " TEMPLATE_BLANK ".");
    cr_assert_eq(m.blanks, 2);
    cr_assert_null(m.html);
    template_message_free(&m);
    f = sample();
    cr_assert_eq(template_render(t, CHANNEL_LETTER, &f, &m, err), RC_OK, "%s", err);
    cr_assert_eq(m.blanks, 0);
    cr_assert(strstr(m.text, "Tuesday 11 November 2025 at 3:30pm."), "%s", m.text);
    template_message_free(&m);
    template_destroy(&t);
}

Test(render, fields_used_are_the_notify_personalisation)
{
    template_t *t = ok("template: t\n"
                       "sms: \"((pupil_names)) ((school_name)) ((pupil_names))\"\n"
                       "email:\n"
                       "  subject: \"((pupil_forename))\"\n"
                       "  text: \"((parent_name)) ((pupil_forename))\"\n"
                       "  html: \"((date))\"\n");
    template_field_t used[FIELD__COUNT];
    cr_assert_eq(template_fields_used(t, CHANNEL_SMS, used), 2);
    cr_assert_eq(used[0], FIELD_PUPIL_NAMES);
    cr_assert_eq(used[1], FIELD_SCHOOL_NAME);
    cr_assert_eq(template_fields_used(t, CHANNEL_EMAIL, used), 3);
    cr_assert_eq(used[0], FIELD_PUPIL_FORENAME);
    cr_assert_eq(used[1], FIELD_PARENT_NAME);
    cr_assert_eq(used[2], FIELD_DATE);
    cr_assert_eq(template_fields_used(t, CHANNEL_LETTER, used), 0);
    template_destroy(&t);
}

/* ---- SMS segments ---- */

Test(sms, gsm7_boundaries)
{
    sms_count_t c = count("");
    cr_assert_eq(c.segments, 0);
    cr_assert_eq(c.encoding, SMS_GSM7);
    c = count(repeat("a", 160));
    cr_assert(c.encoding == SMS_GSM7 && c.segments == 1 && c.units == 160 && c.chars == 160);
    cr_assert_eq(count(repeat("a", 161)).segments, 2);
    cr_assert_eq(count(repeat("a", 306)).segments, 2);
    cr_assert_eq(count(repeat("a", 307)).segments, 3);
    cr_assert_eq(count(repeat("a", 459)).segments, 3);
    cr_assert_eq(count(repeat("a", 460)).segments, 4);
    /* The whole default alphabet (with LF and CR) is one septet each. */
    c = count("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà");
    cr_assert_eq(c.encoding, SMS_GSM7);
    cr_assert_eq(c.units, c.chars);
}

Test(sms, extension_characters_count_two)
{
    sms_count_t c = count("^{}\\[~]|€");
    cr_assert_eq(c.encoding, SMS_GSM7);
    cr_assert_eq(c.chars, 9);
    cr_assert_eq(c.units, 18);
    c = count(repeat("[", 80));
    cr_assert(c.units == 160 && c.segments == 1);
    c = count(repeat("€", 81));
    cr_assert(c.units == 162 && c.segments == 2);
    /* An escape pair is never split: 152 + 2 does not fit a 153-septet part. */
    char s[400];
    snprintf(s, sizeof s, "%s{", repeat("a", 152));
    strcat(s, repeat("b", 152));
    c = count(s);
    cr_assert_eq(c.units, 306);
    cr_assert_eq(c.segments, 3, "306 septets, but the { moves to part 2");
}

Test(sms, ucs2_boundaries_and_emoji)
{
    sms_count_t c = count(repeat("ë", 70));
    cr_assert(c.encoding == SMS_UCS2 && c.segments == 1 && c.units == 70 && c.chars == 70);
    cr_assert_eq(count(repeat("ë", 71)).segments, 2);
    cr_assert_eq(count(repeat("ë", 134)).segments, 2);
    cr_assert_eq(count(repeat("ë", 135)).segments, 3);
    /* One character outside the alphabet makes the whole text UCS-2. */
    char s[1200];
    snprintf(s, sizeof s, "%s`", repeat("a", 69));
    c = count(s);
    cr_assert(c.encoding == SMS_UCS2 && c.units == 70 && c.segments == 1);
    snprintf(s, sizeof s, "%së", repeat("a", 70));
    cr_assert_eq(count(s).segments, 2, "71 characters of which one is not GSM");
    /* An emoji is two UTF-16 units: 69 + 2 = 71 is two texts. */
    c = count("😀");
    cr_assert(c.encoding == SMS_UCS2 && c.units == 2 && c.chars == 1 && c.segments == 1);
    snprintf(s, sizeof s, "%s😀", repeat("a", 69));
    c = count(s);
    cr_assert(c.units == 71 && c.segments == 2);
    /* A surrogate pair is never split: 66 + 2 does not fit a 67-unit part. */
    snprintf(s, sizeof s, "%s😀", repeat("ë", 66));
    strcat(s, repeat("ë", 66));
    c = count(s);
    cr_assert_eq(c.units, 134);
    cr_assert_eq(c.segments, 3);
    /* A curly apostrophe is not GSM: left in, it doubles the cost. */
    snprintf(s, sizeof s, "%s’", repeat("a", 100));
    c = count(s);
    cr_assert(c.encoding == SMS_UCS2 && c.segments == 2);
}

Test(sms, malformed_utf8_is_refused)
{
    sms_count_t c;
    cr_assert_eq(sms_segments("a\xC3", 2, &c), RC_EINVAL);
    cr_assert_eq(sms_segments("\xC0\x80", 2, &c), RC_EINVAL, "overlong");
    cr_assert_eq(sms_segments("\xED\xA0\x80", 3, &c), RC_EINVAL, "a surrogate");
}

/* ---- formatting values ---- */

Test(format, dates_percentages_years_names)
{
    char d[TEMPLATE_DATE_STRLEN], p[TEMPLATE_PCT_STRLEN], y[TEMPLATE_YEAR_STRLEN], n[64];
    cr_assert_str_eq(template_format_date(date_from_ymd(2025, 11, 3), d), "Monday 3 November 2025");
    cr_assert_str_eq(template_format_date(date_from_ymd(2026, 9, 30), d),
                     "Wednesday 30 September 2026");
    cr_assert_str_eq(template_format_pct(89.96, p), "89.9", "rounded down, never up to 90");
    cr_assert_str_eq(template_format_pct(100.0 * 171 / 190, p), "90");
    cr_assert_str_eq(template_format_pct(96.55, p), "96.5");
    cr_assert_str_eq(template_format_pct(100, p), "100");
    cr_assert_str_eq(template_format_pct(0, p), "0");
    cr_assert_str_eq(template_format_pct(-3, p), "0");
    cr_assert_str_eq(template_format_pct(NAN, p), "0");
    cr_assert_str_eq(template_format_year_group(-2, y), "Nursery 1");
    cr_assert_str_eq(template_format_year_group(0, y), "Reception");
    cr_assert_str_eq(template_format_year_group(11, y), "Year 11");
    const char *names[] = {"Ava", "Ben", "Cal"};
    cr_assert_eq(template_join_names(names, 1, n, sizeof n), RC_OK);
    cr_assert_str_eq(n, "Ava");
    cr_assert_eq(template_join_names(names, 2, n, sizeof n), RC_OK);
    cr_assert_str_eq(n, "Ava and Ben");
    cr_assert_eq(template_join_names(names, 3, n, sizeof n), RC_OK);
    cr_assert_str_eq(n, "Ava, Ben and Cal");
    cr_assert_eq(template_join_names(names, 3, n, 12), RC_ETOOBIG);
    cr_assert_str_eq(n, "");
    cr_assert_eq(template_join_names(names, 0, n, sizeof n), RC_EINVAL);
}

/* ---- the templates Rollcall ships, against the policies it ships ---- */

typedef struct {
    char names[16][256];
    size_t n;
} policy_files_t;

static policy_files_t policy_files(void)
{
    policy_files_t pf = {.n = 0};
    DIR *d = opendir(POLICIES_DIR);
    struct dirent *e;
    cr_assert_not_null(d);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0 && pf.n < 16)
            snprintf(pf.names[pf.n++], sizeof pf.names[0], "%s", e->d_name);
    }
    closedir(d);
    cr_assert_geq(pf.n, 5, "the five seed policies");
    return pf;
}

static channel_t channel_of(action_kind_t k)
{
    return k == ACT_LETTER  ? CHANNEL_LETTER
           : k == ACT_SMS   ? CHANNEL_SMS
           : k == ACT_EMAIL ? CHANNEL_EMAIL
                            : CHANNEL_NONE;
}

/* expect_template asserts that the school running p can send id on ch, and
 * marks the template used. */
static void expect_template(const template_set_t *set, const policy_t *p, const char *id,
                            channel_t ch, unsigned char *used)
{
    const template_t *t = template_find(set, p->name, id);
    cr_assert_not_null(t, "policy %s names template %s, which is not in templates/", p->name, id);
    cr_assert(template_has(t, ch), "policy %s sends %s on channel %d, which %s lacks", p->name, id,
              ch, t->path);
    for (size_t i = 0; i < template_set_count(set); i++)
        if (template_set_at(set, i) == t)
            used[i] = 1;
}

Test(seeds, every_template_a_policy_names_exists_with_its_channel)
{
    template_set_t *set = set_ok(TEMPLATES_DIR);
    policy_files_t pf = policy_files();
    unsigned char used[TEMPLATE_MAX_FILES] = {0};
    for (size_t k = 0; k < pf.n; k++) {
        char path[512], err[POLICY_ERR_MAX], terr[TEMPLATE_ERR_MAX];
        policy_t *p = NULL;
        snprintf(path, sizeof path, POLICIES_DIR "/%s", pf.names[k]);
        cr_assert_eq(policy_load_file(path, &p, err), RC_OK, "%s", err);
        cr_assert_eq(template_check_policy(set, p, path, terr), RC_OK, "%s", terr);
        /* The same, walked here rather than trusted to the library. */
        for (size_t t = 0; t < p->ntracks; t++)
            for (size_t s = 0; s < p->tracks[t].nstages; s++) {
                const policy_stage_t *st = &p->tracks[t].stages[s];
                for (size_t a = 0; a < st->nactions; a++)
                    if (channel_of(st->actions[a].kind) != CHANNEL_NONE)
                        expect_template(set, p, st->actions[a].template_id,
                                        channel_of(st->actions[a].kind), used);
                for (size_t a = 0; a < st->non_improved; a++)
                    if (channel_of(st->on_improved[a].kind) != CHANNEL_NONE)
                        expect_template(set, p, st->on_improved[a].template_id,
                                        channel_of(st->on_improved[a].kind), used);
            }
        if (p->alerts.first_day) {
            /* The first-day message goes as a text and, where there is an
             * address, an email. */
            expect_template(set, p, p->alerts.first_day_template, CHANNEL_SMS, used);
            expect_template(set, p, p->alerts.first_day_template, CHANNEL_EMAIL, used);
        }
        if (p->alerts.social_worker)
            expect_template(set, p, TEMPLATE_SOCIAL_WORKER_ID, CHANNEL_EMAIL, used);
        policy_destroy(&p);
    }
    /* Every template shipped is used by some policy: a misspelt file name
     * would otherwise sit unnoticed beside the missing one. */
    for (size_t i = 0; i < template_set_count(set); i++)
        cr_assert(used[i], "%s is used by no policy", template_set_at(set, i)->path);
    template_set_destroy(&set);
}

Test(seeds, every_template_renders_and_texts_stay_short)
{
    template_set_t *set = set_ok(TEMPLATES_DIR);
    template_fields_t f = sample(), none = {{0}};
    const channel_t chans[] = {CHANNEL_SMS, CHANNEL_EMAIL, CHANNEL_LETTER};
    for (size_t i = 0; i < template_set_count(set); i++) {
        const template_t *t = template_set_at(set, i);
        for (size_t c = 0; c < 3; c++) {
            template_message_t m;
            char err[TEMPLATE_ERR_MAX];
            if (!template_has(t, chans[c]))
                continue;
            cr_assert_eq(template_render(t, chans[c], &f, &m, err), RC_OK, "%s", err);
            cr_assert(!strstr(m.text, "(("), "%s: a field left in: %s", t->path, m.text);
            if (chans[c] == CHANNEL_SMS) {
                cr_assert_eq(m.sms.encoding, SMS_GSM7, "%s", t->path);
                cr_assert_leq(m.sms.segments, 2, "%s costs %u texts", t->path, m.sms.segments);
            }
            if (chans[c] == CHANNEL_EMAIL)
                cr_assert(m.html && strncmp(m.html, "<p>", 3) == 0, "%s", t->path);
            if (chans[c] == CHANNEL_LETTER)
                cr_assert(strstr(m.text, "Dear Sam Khan,"), "%s: %s", t->path, m.text);
            template_message_free(&m);
        }
        if (template_has(t, CHANNEL_LETTER)) {
            template_message_t m;
            char err[TEMPLATE_ERR_MAX];
            cr_assert_eq(template_render(t, CHANNEL_LETTER, &none, &m, err), RC_OK, "%s", err);
            cr_assert_gt(m.blanks, 0);
            template_message_free(&m);
        }
    }
    /* HCAT has its own first-day message; the others share the default. */
    cr_assert_str_eq(template_find(set, "004_hcat", "first_day_absence")->policy, "004_hcat");
    cr_assert_str_eq(template_find(set, "001_attendance_process", "first_day_absence")->policy, "");
    template_set_destroy(&set);
}

Test(seeds, a_policy_naming_a_missing_template_is_caught)
{
    static const char yaml[] = "policy: 999_example\n"
                               "bands:\n"
                               "  - {name: green, from: 0}\n"
                               "alerts:\n"
                               "  first_day: {at: \"09:30\", template: first_day_absence}\n"
                               "tracks:\n"
                               "  absence:\n"
                               "    - id: one\n"
                               "      when: {attendance_below: 96}\n"
                               "      actions:\n"
                               "        - letter: letter_1\n";
    static const char yaml2[] = "policy: 004_hcat\n"
                                "bands:\n"
                                "  - {name: green, from: 0}\n"
                                "tracks:\n"
                                "  absence:\n"
                                "    - id: one\n"
                                "      when: {attendance_below: 96}\n"
                                "      actions:\n"
                                "        - sms: letter_1\n";
    char err[POLICY_ERR_MAX], terr[TEMPLATE_ERR_MAX];
    policy_t *p = NULL;
    template_set_t *set = set_ok(TEMPLATES_DIR);
    cr_assert_eq(policy_load(yaml, strlen(yaml), "999.yaml", &p, err), RC_OK, "%s", err);
    cr_assert_eq(template_check_policy(set, p, "999.yaml", terr), RC_ENOTFOUND);
    cr_assert(strstr(terr, "999.yaml:11: `actions` of stage \"one\" of track \"absence\" asks for "
                           "letter \"letter_1\", but there is no such template"),
              "%s", terr);
    policy_destroy(&p);
    cr_assert_eq(policy_load(yaml2, strlen(yaml2), "004.yaml", &p, err), RC_OK, "%s", err);
    cr_assert_eq(template_check_policy(set, p, NULL, terr), RC_ENOTFOUND);
    cr_assert(strstr(terr, "004_hcat:9: `actions` of stage \"one\" of track \"absence\" sends "
                           "\"letter_1\" as a text, but"),
              "%s", terr);
    cr_assert(strstr(terr, "letter_1.yaml has no `sms:`"), "%s", terr);
    policy_destroy(&p);
    template_set_destroy(&set);
}
