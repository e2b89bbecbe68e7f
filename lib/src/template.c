/* template.c - reads message templates (docs/templates.md) from YAML, strictly, and renders them.
 */
#include "rollcall/template.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "yamltree.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define MAX_DEPTH 8 /* a template goes 2 deep (email: subject:); deeper is refused early */

/* GSM-7 and UCS-2 message sizes (3GPP TS 23.038 / 23.040): one text, and
 * each part of a longer one (the rest of a part is the joining header). */
#define GSM_SINGLE  160
#define GSM_PART    153
#define UCS2_SINGLE 70
#define UCS2_PART   67

/* ---- merge fields ---- */

/* Each field's name and the characters it is assumed to take when the
 * loader estimates what a text costs: a long-ish real value, so that a
 * template that passes the check stays within TEMPLATE_SMS_MAX_SEGMENTS
 * for nearly every family. */
static const struct {
    const char *name;
    unsigned budget;
} field_info[FIELD__COUNT] = {
    [FIELD_PARENT_NAME] = {"parent_name", 30},
    [FIELD_PUPIL_FORENAME] = {"pupil_forename", 15},
    [FIELD_PUPIL_SURNAME] = {"pupil_surname", 20},
    [FIELD_PUPIL_FULL_NAME] = {"pupil_full_name", 35},
    [FIELD_PUPIL_NAMES] = {"pupil_names", 35},
    [FIELD_YEAR_GROUP] = {"year_group", 9},
    [FIELD_REGISTRATION_GROUP] = {"registration_group", 6},
    [FIELD_DATE_OF_BIRTH] = {"date_of_birth", 17},
    [FIELD_SCHOOL_NAME] = {"school_name", 40},
    [FIELD_SCHOOL_PHONE] = {"school_phone", 13},
    [FIELD_DATE] = {"date", 27},
    [FIELD_SESSION] = {"session", 9},
    [FIELD_DATES] = {"dates", 80},
    [FIELD_ATTENDANCE_PCT] = {"attendance_pct", 4},
    [FIELD_BAND] = {"band", 12},
    [FIELD_TARGET_PCT] = {"target_pct", 4},
    [FIELD_DAYS_MISSED] = {"days_missed", 4},
    [FIELD_UNAUTHORISED_SESSIONS] = {"unauthorised_sessions", 3},
    [FIELD_LATE_MARKS] = {"late_marks", 3},
    [FIELD_LATE_AFTER_CLOSE] = {"late_after_close", 3},
    [FIELD_STAGE_TITLE] = {"stage_title", 60},
    [FIELD_REVIEW_DATE] = {"review_date", 27},
    [FIELD_MEETING_DATE] = {"meeting_date", 27},
    [FIELD_MEETING_TIME] = {"meeting_time", 7},
    [FIELD_MEETING_PLACE] = {"meeting_place", 30},
};

const char *template_field_name(template_field_t f)
{
    return (unsigned)f < FIELD__COUNT ? field_info[f].name : "unknown";
}

rc_err_t template_field_parse(const char *s, size_t len, template_field_t *out)
{
    for (unsigned i = 0; i < FIELD__COUNT; i++)
        if (strlen(field_info[i].name) == len && memcmp(field_info[i].name, s, len) == 0) {
            *out = (template_field_t)i;
            return RC_OK;
        }
    return RC_ENOTFOUND;
}

/* next_field finds the next ((...)) in s[from..len) the way GOV.UK Notify
 * does (two opening brackets, a body without brackets, two closing), so a
 * text means the same here and there. On a match, s[*start..*end) is the
 * whole placeholder and its body lies between the brackets. */
static int next_field(const char *s, size_t len, size_t from, size_t *start, size_t *end)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (s[i] != '(' || s[i + 1] != '(')
            continue;
        size_t j = i + 2;
        while (j < len && s[j] != '(' && s[j] != ')')
            j++;
        if (j > i + 2 && j + 1 < len && s[j] == ')' && s[j + 1] == ')') {
            *start = i;
            *end = j + 2;
            return 1;
        }
    }
    return 0;
}

/* ---- UTF-8 and the GSM alphabet ---- */

/* utf8_next decodes the character at s[0..n): returns its length (1-4)
 * with *cp, or 0 when malformed (cut short, overlong, a surrogate, beyond
 * U+10FFFF). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char b = s[0];
    size_t len;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if ((b & 0xE0) == 0xC0) {
        len = 2, c = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        len = 3, c = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        len = 4, c = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* is_control is true for characters no message should hold (C0 and C1
 * controls and DEL); newlines and tabs are the caller's to allow. */
static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* gsm_septets returns 1 for a character of the GSM 03.38 default alphabet,
 * 2 for one of its extension table (sent as escape + character), 0 for any
 * other character, which makes the whole message UCS-2. */
static unsigned gsm_septets(uint32_t cp)
{
    static const uint16_t basic[] = {
        0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
        0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6,
        0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393,
        0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
    };
    if (cp >= 0x20 && cp < 0x7F) {
        if (cp == '`')
            return 0;
        if (strchr("^{}\\[~]|", (int)cp))
            return 2;
        return 1;
    }
    if (cp == '\n' || cp == '\r')
        return 1;
    if (cp == '\f' || cp == 0x20AC)
        return 2;
    for (size_t i = 0; i < sizeof basic / sizeof basic[0]; i++)
        if (basic[i] == cp)
            return 1;
    return 0;
}

/* sms_replacement returns what GOV.UK Notify sends in place of cp in a text
 * message (its SanitiseSMS table: the change never alters the meaning), or
 * NULL when cp is sent as it is. */
static const char *sms_replacement(uint32_t cp)
{
    switch (cp) {
    case 0x2011: /* non-breaking hyphen */
    case 0x2013: /* en dash */
    case 0x2014: /* em dash */
    case 0x2212: /* minus sign */
        return "-";
    case 0x2026:
        return "...";
    case 0x2018: /* curly single quotes */
    case 0x2019:
    case 0x201A:
        return "'";
    case 0x201C: /* curly double quotes */
    case 0x201D:
    case 0x201E:
        return "\"";
    case 0x180E: /* invisible: zero-width spaces and joiners, separators */
    case 0x200B:
    case 0x200C:
    case 0x2060:
    case 0xFEFF:
    case 0x2028:
    case 0x2029:
        return "";
    case 0x00A0: /* no-break spaces, tab */
    case 0x202F:
    case '\t':
        return " ";
    default:
        return NULL;
    }
}

rc_err_t sms_segments(const char *text, size_t len, sms_count_t *out)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned chars = 0, septets = 0, ucs2 = 0;
    int gsm = 1;
    uint32_t cp;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_next(s + i, len - i, &cp);
        if (n == 0)
            return RC_EINVAL;
        unsigned w = gsm_septets(cp);
        if (w == 0)
            gsm = 0;
        septets += w;
        ucs2 += cp > 0xFFFF ? 2 : 1;
        chars++;
        i += n;
    }
    unsigned single = gsm ? GSM_SINGLE : UCS2_SINGLE, part = gsm ? GSM_PART : UCS2_PART;
    out->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->units = gsm ? septets : ucs2;
    out->chars = chars;
    if (out->units == 0)
        return RC_OK;
    if (out->units <= single) {
        out->segments = 1;
        return RC_OK;
    }
    /* Parts are filled in order; an escape pair or a surrogate pair is
     * never split, so a part may end a unit short. */
    unsigned segments = 1, used = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_next(s + i, len - i, &cp);
        unsigned w = gsm ? gsm_septets(cp) : (cp > 0xFFFF ? 2u : 1u);
        if (used + w > part) {
            segments++;
            used = 0;
        }
        used += w;
        i += n;
    }
    out->segments = segments;
    return RC_OK;
}

/* ---- growing buffers ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *p = realloc(b->p, ncap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* buf_html adds s[0..n) with & < > " ' escaped. */
static void buf_html(buf_t *b, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            continue;
        }
        buf_add(b, s + from, i - from);
        buf_str(b, e);
        from = i + 1;
    }
    buf_add(b, s + from, n - from);
}

/* buf_take returns the buffer's string (an empty one when nothing was
 * added) and leaves b empty; NULL when memory ran out. */
static char *buf_take(buf_t *b)
{
    if (!b->oom && !b->p)
        buf_add(b, "", 0);
    char *p = b->oom ? NULL : b->p;
    if (b->oom)
        free(b->p);
    memset(b, 0, sizeof *b);
    return p;
}

/* sanitise_sms makes Notify's replacements (sms_replacement) in s. */
static void sanitise_sms(const char *s, size_t len, buf_t *out)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_next(u + i, len - i, &cp);
        /* Callers pass checked text; a bad byte is copied rather than looped on. */
        const char *r = n > 0 ? sms_replacement(cp) : NULL;
        if (n == 0)
            n = 1;
        if (r)
            buf_str(out, r);
        else
            buf_add(out, s + i, n);
        i += n;
    }
}

/* ---- reading a file as a tree ---- */

static const yamltree_hint_t template_hints[] = {
    {"did not find expected key",
     "; check that this line is indented exactly like the lines above it, and that a text "
     "starting with a quote ends with the same quote"},
    {"mapping values are not allowed",
     "; a text holding ': ' must be put in quotes, or written as a block after `|`"},
    {"could not find expected ':'", "; a line is missing the ':' after its key"},
    {"found unexpected end of stream", "; a quote is opened and never closed"},
    {"found character that cannot start any token",
     "; a text starting with one of @ ` % | > must be put in quotes"},
    {"control characters are not allowed", "; the file holds an invisible control character"},
    {"invalid", "; the file must be saved as UTF-8 text"},
    {NULL, NULL},
};

#define TEMPLATE_NO_EXTRAS      "anchors (&name) and tags (!name) are not used in template files"
#define TEMPLATE_NO_EXTRAS_TEXT TEMPLATE_NO_EXTRAS "; remove the '&...' or '!...' before the text"

/* What template files say where the tree builder refuses something. */
static const yamltree_words_t template_words = {
    .kind = "template",
    .key_example = "sms",
    .alias = "aliases (*name) are not used in template files; write the text out in full",
    .scalar_anchor = TEMPLATE_NO_EXTRAS_TEXT,
    .scalar_tag = TEMPLATE_NO_EXTRAS_TEXT,
    .collection_anchor = TEMPLATE_NO_EXTRAS,
    .collection_tag = TEMPLATE_NO_EXTRAS,
    .hints = template_hints,
    .max_depth = MAX_DEPTH,
};

/* A template file being read: its tree and the first error. */
typedef yamltree_t ctx_t;

/* ---- reading values ---- */

static int expect_map(ctx_t *c, const yamltree_node_t *n, const char *what, const char *example)
{
    if (n->kind == YAMLTREE_MAP)
        return 0;
    if (yamltree_is_null(n))
        return yamltree_fail(c, n,
                             "`%s` is empty; write %s under it, or remove it if this template has "
                             "no %s",
                             what, example, what);
    return yamltree_fail(c, n, "`%s` should be a set of `key: value` lines (%s), not %s", what,
                         example, yamltree_kind_text(n));
}

static int token_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == ':' || ch == '-';
}

/* valid_id is true for a template id: 1 to TEMPLATE_ID_MAX of [A-Za-z0-9_.:-]. */
static int valid_id(const char *s, size_t len)
{
    if (len == 0 || len > TEMPLATE_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!token_char((unsigned char)s[i]))
            return 0;
    return 1;
}

static int get_bool(ctx_t *c, const yamltree_node_t *n, const char *what, int *out)
{
    static const char *const yes[] = {"true", "yes", "True", "Yes", "TRUE", "YES"};
    static const char *const no[] = {"false", "no", "False", "No", "FALSE", "NO"};
    yamltree_shown_t sh;
    for (size_t i = 0; n->kind == YAMLTREE_SCALAR && i < sizeof yes / sizeof yes[0]; i++) {
        if (yamltree_scalar_is(n, yes[i]) || yamltree_scalar_is(n, no[i])) {
            *out = yamltree_scalar_is(n, yes[i]);
            return 0;
        }
    }
    return yamltree_fail(c, n, "`%s` should be true or false, not \"%s\"", what,
                         n->kind == YAMLTREE_SCALAR ? yamltree_show(&sh, n->text, n->len)
                                                    : yamltree_kind_text(n));
}

/* check_field checks the field placeholder text[start..end), the
 * occurrence'th of its exact spelling in scalar n. */
static int check_field(ctx_t *c, const yamltree_node_t *n, const char *text, size_t start,
                       size_t end)
{
    const char *body = text + start + 2;
    size_t blen = end - start - 4, occurrence = 0, b = 0, e = blen;
    template_field_t f;
    unsigned line, col;
    yamltree_shown_t sh;
    const char *names[FIELD__COUNT];

    if (template_field_parse(body, blen, &f) == RC_OK)
        return 0;
    for (size_t i = 0, s, x; next_field(text, start, i, &s, &x); i = x)
        if (x - s == end - start && memcmp(text + s, text + start, end - start) == 0)
            occurrence++;
    yamltree_locate(c, n, text + start, end - start, occurrence, &line, &col);
    for (size_t i = 0; i + 1 < blen; i++)
        if (body[i] == '?' && body[i + 1] == '?')
            return yamltree_fail_at(
                c, RC_EINVAL, line, col,
                "((%s)) is conditional text, which Rollcall does not support; write the "
                "sentence out in full, or make two templates",
                yamltree_show(&sh, body, blen));
    while (b < e && (body[b] == ' ' || body[b] == '\t' || body[b] == '\n'))
        b++;
    while (e > b && (body[e - 1] == ' ' || body[e - 1] == '\t' || body[e - 1] == '\n'))
        e--;
    if ((b > 0 || e < blen) && template_field_parse(body + b, e - b, &f) == RC_OK)
        return yamltree_fail_at(
            c, RC_EINVAL, line, col,
            "write the merge field as ((%s)), with no spaces inside the brackets",
            field_info[f].name);
    for (unsigned i = 0; i < FIELD__COUNT; i++)
        names[i] = field_info[i].name;
    const char *near = yamltree_nearest(body + b, e - b, names, FIELD__COUNT);
    if (near)
        return yamltree_fail_at(
            c, RC_EINVAL, line, col,
            "unknown merge field ((%s)); did you mean ((%s))? (field names are written "
            "in small letters, as listed in docs/templates.md)",
            yamltree_show(&sh, body, blen), near);
    return yamltree_fail_at(c, RC_EINVAL, line, col,
                            "unknown merge field ((%s)); the fields you can use are listed in "
                            "docs/templates.md",
                            yamltree_show(&sh, body, blen));
}

typedef enum { TEXT_SUBJECT, TEXT_BODY } text_kind_t;

/* empty_text refuses an empty text: a channel written with nothing in it
 * is a mistake, not a way to switch the channel off. */
static int empty_text(ctx_t *c, const yamltree_node_t *n, const char *channel, const char *what)
{
    return yamltree_fail(
        c, n,
        "`%s` is empty; write the %s after it, or remove `%s:` if this template has "
        "no %s",
        what, strcmp(what, "subject") == 0 ? "subject line" : "message", channel,
        strcmp(channel, "sms") == 0 ? "text message" : channel);
}

/* get_text reads a text of a channel into *dst (malloc'd): well-formed
 * UTF-8 without control characters (a subject on one line), every merge
 * field known, trailing spaces and blank lines removed, not empty. */
static int get_text(ctx_t *c, const yamltree_node_t *n, const char *channel, const char *what,
                    text_kind_t kind, char **dst)
{
    const unsigned char *u;
    size_t len, max = kind == TEXT_SUBJECT ? TEMPLATE_SUBJECT_MAX : TEMPLATE_TEXT_MAX;
    uint32_t cp;

    if (yamltree_is_null(n))
        return empty_text(c, n, channel, what);
    if (n->kind != YAMLTREE_SCALAR)
        return yamltree_fail(c, n, "`%s` should be text, not %s", what, yamltree_kind_text(n));
    u = (const unsigned char *)n->text;
    for (size_t i = 0; i < n->len;) {
        size_t k = utf8_next(u + i, n->len - i, &cp);
        if (k == 0)
            return yamltree_fail(c, n, "`%s` is not UTF-8 text; save the file as UTF-8", what);
        if (cp == '\n' && kind == TEXT_SUBJECT)
            return yamltree_fail(
                c, n, "`%s` is a subject, which is one line; remove the line break", what);
        if (is_control(cp) && cp != '\n' && cp != '\t')
            return yamltree_fail(c, n,
                                 "`%s` holds an invisible control character (U+%04X); delete it",
                                 what, (unsigned)cp);
        i += k;
    }
    len = n->len;
    while (len > 0 &&
           (n->text[len - 1] == ' ' || n->text[len - 1] == '\t' || n->text[len - 1] == '\n'))
        len--;
    if (len == 0)
        return empty_text(c, n, channel, what);
    if (len > max)
        return yamltree_fail(c, n, "`%s` is %zu bytes long, more than the %zu allowed; shorten it",
                             what, len, max);
    for (size_t i = 0, s, e; next_field(n->text, len, i, &s, &e); i = e)
        if (check_field(c, n, n->text, s, e) != 0)
            return -1;
    if (!(*dst = malloc(len + 1)))
        return yamltree_fail_at(c, RC_ENOMEM, n->line, n->col, "out of memory");
    memcpy(*dst, n->text, len);
    (*dst)[len] = '\0';
    return 0;
}

/* estimate_sms fills text's fields with as many characters as each field's
 * budget, as the loader's guess at a typical message. */
static void estimate_sms(const char *text, buf_t *out)
{
    size_t len = strlen(text), pos = 0, s, e;
    buf_t raw = {0};
    while (next_field(text, len, pos, &s, &e)) {
        template_field_t f = FIELD_PARENT_NAME;
        buf_add(&raw, text + pos, s - pos);
        template_field_parse(text + s + 2, e - s - 4, &f);
        for (unsigned k = 0; k < field_info[f].budget; k++)
            buf_add(&raw, "x", 1);
        pos = e;
    }
    buf_add(&raw, text + pos, len - pos);
    if (!raw.oom && raw.p)
        sanitise_sms(raw.p, raw.len, out);
    else
        out->oom = 1;
    free(raw.p);
}

/* check_sms refuses a text message that would be sent as Unicode because of
 * its own wording (unless sms_unicode says the school means it), or that
 * would cost more than TEMPLATE_SMS_MAX_SEGMENTS texts with typical values. */
static int check_sms(ctx_t *c, const yamltree_node_t *n, template_t *t)
{
    const unsigned char *u = (const unsigned char *)t->sms;
    size_t len = strlen(t->sms);
    uint32_t cp;
    sms_count_t cnt;
    buf_t est = {0};

    for (size_t i = 0; !t->sms_unicode && i < len;) {
        size_t k = utf8_next(u + i, len - i, &cp), occurrence = 0;
        if (!sms_replacement(cp) && gsm_septets(cp) == 0) {
            unsigned line, col;
            yamltree_shown_t sh;
            for (size_t j = 0; j + k <= i; j++)
                occurrence += memcmp(t->sms + j, t->sms + i, k) == 0;
            yamltree_locate(c, n, t->sms + i, k, occurrence, &line, &col);
            return yamltree_fail_at(
                c, RC_EINVAL, line, col,
                "\"%s\" (U+%04X) is not in the GSM alphabet texts are sent in, so "
                "every text from this template would go as Unicode: 70 characters a "
                "text instead of 160, about twice the cost. Replace it, or write "
                "`sms_unicode: true` if you mean it",
                yamltree_show(&sh, t->sms + i, k), (unsigned)cp);
        }
        i += k;
    }
    estimate_sms(t->sms, &est);
    if (est.oom) {
        free(est.p);
        return yamltree_fail_at(c, RC_ENOMEM, n->line, n->col, "out of memory");
    }
    rc_err_t rc = sms_segments(est.p ? est.p : "", est.len, &cnt);
    free(est.p);
    if (rc != RC_OK)
        return yamltree_fail(c, n, "`sms` is not UTF-8 text");
    if (cnt.segments > TEMPLATE_SMS_MAX_SEGMENTS) {
        unsigned most = cnt.encoding == SMS_GSM7 ? TEMPLATE_SMS_MAX_SEGMENTS * GSM_PART
                                                 : TEMPLATE_SMS_MAX_SEGMENTS * UCS2_PART;
        return yamltree_fail(
            c, n,
            "this text comes to about %u characters with typical names and dates: %u "
            "texts each time it is sent. Shorten it to %u texts (%u characters%s); "
            "docs/templates.md explains how texts are counted",
            cnt.chars, cnt.segments, TEMPLATE_SMS_MAX_SEGMENTS, most,
            cnt.encoding == SMS_GSM7 ? ", merge fields included" : " in Unicode");
    }
    return 0;
}

/* valid_uuid is true for 8-4-4-4-12 hex digits, as GOV.UK Notify writes
 * its template ids. */
static int valid_uuid(const char *s, size_t len)
{
    if (len != TEMPLATE_UUID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        char ch = s[i];
        int hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (dash ? ch != '-' : !hex)
            return 0;
    }
    return 1;
}

static int get_uuid(ctx_t *c, const yamltree_node_t *n, const char *what,
                    char out[TEMPLATE_UUID_LEN + 1])
{
    yamltree_shown_t sh;
    if (n->kind != YAMLTREE_SCALAR || yamltree_is_null(n))
        return yamltree_fail(c, n, "`%s` should be the template's ID from GOV.UK Notify", what);
    if (!valid_uuid(n->text, n->len))
        return yamltree_fail(
            c, n,
            "`%s` should be a GOV.UK Notify template ID such as "
            "f33517ff-2a88-4f6e-b855-c550268ce08a (copy it from the template's page in "
            "Notify), not \"%s\"",
            what, yamltree_show(&sh, n->text, n->len));
    memcpy(out, n->text, n->len);
    out[n->len] = '\0';
    return 0;
}

static const char *const top_keys[] = {"template", "title",  "sms",    "sms_unicode",
                                       "email",    "letter", "notify", NULL};
static const char *const email_keys[] = {"subject", "text", "html", NULL};
static const char *const letter_keys[] = {"subject", "body", NULL};
static const char *const notify_keys[] = {"sms_template_id", "email_template_id", NULL};

static int parse_email(ctx_t *c, const yamltree_node_t *n, template_t *t)
{
    const yamltree_node_t *v;
    if (expect_map(c, n, "email", "`subject:` and `text:`") != 0 ||
        yamltree_check_keys(c, n, email_keys, "`email`") != 0)
        return -1;
    if (!(v = yamltree_get(n, "subject")))
        return yamltree_fail(c, n,
                             "`email` needs a `subject:`, the line the parent sees in their inbox");
    if (get_text(c, v, "email", "subject", TEXT_SUBJECT, &t->email_subject) != 0)
        return -1;
    if (!(v = yamltree_get(n, "text")))
        return yamltree_fail(c, n, "`email` needs a `text:`, the message itself");
    if (get_text(c, v, "email", "text", TEXT_BODY, &t->email_text) != 0)
        return -1;
    if ((v = yamltree_get(n, "html")) &&
        get_text(c, v, "email", "html", TEXT_BODY, &t->email_html) != 0)
        return -1;
    return 0;
}

static int parse_letter(ctx_t *c, const yamltree_node_t *n, template_t *t)
{
    const yamltree_node_t *v;
    if (expect_map(c, n, "letter", "`subject:` and `body:`") != 0 ||
        yamltree_check_keys(c, n, letter_keys, "`letter`") != 0)
        return -1;
    if ((v = yamltree_get(n, "subject")) &&
        get_text(c, v, "letter", "subject", TEXT_SUBJECT, &t->letter_subject))
        return -1;
    if (!(v = yamltree_get(n, "body")))
        return yamltree_fail(c, n, "`letter` needs a `body:`, the letter itself");
    return get_text(c, v, "letter", "body", TEXT_BODY, &t->letter_body);
}

static int parse_notify(ctx_t *c, const yamltree_node_t *n, template_t *t)
{
    const yamltree_node_t *v;
    if (expect_map(c, n, "notify", "`sms_template_id:` or `email_template_id:`") != 0 ||
        yamltree_check_keys(c, n, notify_keys, "`notify`") != 0)
        return -1;
    if ((v = yamltree_get(n, "sms_template_id"))) {
        if (get_uuid(c, v, "sms_template_id", t->notify_sms_id) != 0)
            return -1;
        if (!t->sms)
            return yamltree_fail(
                c, yamltree_key_node(n, "sms_template_id"),
                "`sms_template_id` needs the text itself in `sms:` too: Rollcall reads "
                "the fields to send GOV.UK Notify from it, and sends it through the "
                "other gateways");
    }
    if ((v = yamltree_get(n, "email_template_id"))) {
        if (get_uuid(c, v, "email_template_id", t->notify_email_id) != 0)
            return -1;
        if (!t->email_text)
            return yamltree_fail(
                c, yamltree_key_node(n, "email_template_id"),
                "`email_template_id` needs the email itself in `email:` too: Rollcall "
                "reads the fields to send GOV.UK Notify from it");
    }
    return 0;
}

static void template_free(template_t *t)
{
    if (!t)
        return;
    free(t->path);
    free(t->sms);
    free(t->email_subject);
    free(t->email_text);
    free(t->email_html);
    free(t->letter_subject);
    free(t->letter_body);
    free(t);
}

/* The place `template:` is written, for messages about two files with one id. */
typedef struct {
    template_t *t;
    unsigned line, col;
} loaded_t;

static int parse_template(ctx_t *c, const yamltree_node_t *root, const char *expect_id,
                          loaded_t *out)
{
    template_t *t = out->t;
    const yamltree_node_t *v;
    yamltree_shown_t sh;

    if (!root || yamltree_is_null(root))
        return yamltree_fail_at(c, RC_EINVAL, 1, 1,
                                "the file is empty; a template starts with `template: <its name>`");
    if (root->kind != YAMLTREE_MAP)
        return yamltree_fail(c, root,
                             "a template file is a set of `key: value` lines (template:, sms:, "
                             "email:, letter:), not %s",
                             yamltree_kind_text(root));
    if (yamltree_check_keys(c, root, top_keys, "the template") != 0)
        return -1;
    if (!(v = yamltree_get(root, "template")))
        return yamltree_fail(c, root, "the file needs `template: %s`, the name policies use for it",
                             expect_id ? expect_id : "<its name>");
    if (v->kind != YAMLTREE_SCALAR || yamltree_is_null(v) || !valid_id(v->text, v->len))
        return yamltree_fail(
            c, v,
            "`template` should be the template's name: 1 to %d letters, digits and _ . : "
            "- (no spaces), such as letter_1",
            TEMPLATE_ID_MAX);
    memcpy(t->id, v->text, v->len);
    t->id[v->len] = '\0';
    out->line = v->line;
    out->col = v->col;
    if (expect_id && strcmp(t->id, expect_id) != 0)
        return yamltree_fail(
            c, v,
            "the file is named %s.yaml but says `template: %s`; the two must match, as "
            "policies find a template by its file name",
            expect_id, yamltree_show(&sh, v->text, v->len));
    if ((v = yamltree_get(root, "title"))) {
        if (v->kind != YAMLTREE_SCALAR || yamltree_is_null(v))
            return yamltree_fail(c, v, "`title` should be a line of text for staff");
        if (v->len > TEMPLATE_TITLE_MAX)
            return yamltree_fail(c, v, "`title` is longer than %d characters; shorten it",
                                 TEMPLATE_TITLE_MAX);
        for (size_t i = 0; i < v->len; i++)
            if ((unsigned char)v->text[i] < 0x20 || v->text[i] == 0x7F)
                return yamltree_fail(c, v, "`title` holds a control character; delete it");
        memcpy(t->title, v->text, v->len);
        t->title[v->len] = '\0';
    } else {
        memcpy(t->title, t->id, sizeof t->id);
    }
    if ((v = yamltree_get(root, "sms_unicode")) &&
        get_bool(c, v, "sms_unicode", &t->sms_unicode) != 0)
        return -1;
    if ((v = yamltree_get(root, "sms"))) {
        if (get_text(c, v, "sms", "sms", TEXT_BODY, &t->sms) != 0 || check_sms(c, v, t) != 0)
            return -1;
    } else if (t->sms_unicode) {
        return yamltree_fail(
            c, yamltree_key_node(root, "sms_unicode"),
            "`sms_unicode` is about the text message, but this template has no `sms:`");
    }
    if ((v = yamltree_get(root, "email")) && parse_email(c, v, t) != 0)
        return -1;
    if ((v = yamltree_get(root, "letter")) && parse_letter(c, v, t) != 0)
        return -1;
    if ((v = yamltree_get(root, "notify")) && parse_notify(c, v, t) != 0)
        return -1;
    if (!t->sms && !t->email_text && !t->letter_body)
        return yamltree_fail(
            c, root,
            "template %s has no message: write at least one of `sms:`, `email:` and "
            "`letter:`",
            t->id);
    return 0;
}

/* load_one is template_load, also giving where `template:` is written. */
static rc_err_t load_one(const char *yaml, size_t len, const char *filename, const char *expect_id,
                         const char *policy, loaded_t *out, char err[TEMPLATE_ERR_MAX])
{
    ctx_t c = {.file = filename ? filename : "template",
               .src = yaml,
               .srclen = len,
               .err = err,
               .errmax = TEMPLATE_ERR_MAX,
               .words = &template_words};
    yamltree_node_t *root = NULL;
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (!yaml)
        c.srclen = 0, c.src = "";
    if (policy && strlen(policy) > TEMPLATE_ID_MAX) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: the policy name is too long", c.file);
        return RC_EINVAL;
    }
    if (!(out->t = calloc(1, sizeof *out->t))) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: out of memory", c.file);
        return RC_ENOMEM;
    }
    if (policy)
        memcpy(out->t->policy, policy, strlen(policy) + 1);
    if (!(out->t->path = malloc(strlen(c.file) + 1))) {
        yamltree_fail_at(&c, RC_ENOMEM, 1, 1, "out of memory");
    } else {
        memcpy(out->t->path, c.file, strlen(c.file) + 1);
        if (yamltree_load(&c, &root) == 0)
            parse_template(&c, root, expect_id, out);
    }
    yamltree_free(&c);
    if (c.rc != RC_OK) {
        template_free(out->t);
        out->t = NULL;
    }
    return c.rc;
}

rc_err_t template_load(const char *yaml, size_t len, const char *filename, const char *expect_id,
                       const char *policy, template_t **out, char err[TEMPLATE_ERR_MAX])
{
    loaded_t l;
    rc_err_t rc = load_one(yaml, len, filename, expect_id, policy, &l, err);
    *out = l.t;
    return rc;
}

void template_destroy(template_t **self_p)
{
    if (!self_p)
        return;
    template_free(*self_p);
    *self_p = NULL;
}

/* read_all reads path (at most max bytes) into *buf (malloc'd). */
static rc_err_t read_all(const char *path, size_t max, char **buf, size_t *len,
                         char err[TEMPLATE_ERR_MAX])
{
    FILE *f = fopen(path, "rb");
    rc_err_t rc = RC_OK;
    *buf = NULL;
    *len = 0;
    if (!f) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: cannot open the file: %s", path, strerror(errno));
        return RC_EIO;
    }
    /* One byte more than allowed tells a file at the limit from one over it. */
    if (!(*buf = malloc(max + 1))) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: out of memory", path);
        rc = RC_ENOMEM;
        goto out;
    }
    *len = fread(*buf, 1, max + 1, f);
    if (ferror(f)) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: cannot read the file: %s", path, strerror(errno));
        rc = RC_EIO;
    } else if (*len > max) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: the file is larger than %zu bytes; is it a template?",
                 path, max);
        rc = RC_ETOOBIG;
    }
out:
    if (rc != RC_OK) {
        free(*buf);
        *buf = NULL;
    }
    fclose(f);
    return rc;
}

/* yaml_stem returns the length of name without its .yaml or .yml ending,
 * or 0 when it has neither. */
static size_t yaml_stem(const char *name)
{
    size_t n = strlen(name);
    if (n > 5 && strcmp(name + n - 5, ".yaml") == 0)
        return n - 5;
    if (n > 4 && strcmp(name + n - 4, ".yml") == 0)
        return n - 4;
    return 0;
}

static rc_err_t load_path(const char *path, const char *policy, loaded_t *out,
                          char err[TEMPLATE_ERR_MAX])
{
    const char *base = strrchr(path, '/');
    char id[TEMPLATE_ID_MAX + 1], *buf = NULL;
    size_t len = 0;
    base = base ? base + 1 : path;
    size_t stem = yaml_stem(base);

    memset(out, 0, sizeof *out);
    if (stem == 0) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: a template file's name ends in .yaml", path);
        return RC_EINVAL;
    }
    if (!valid_id(base, stem)) {
        snprintf(err, TEMPLATE_ERR_MAX,
                 "%s: a template's file name is its name: 1 to %d letters, digits and _ . : - "
                 "(no spaces), then .yaml",
                 path, TEMPLATE_ID_MAX);
        return RC_EINVAL;
    }
    memcpy(id, base, stem);
    id[stem] = '\0';
    rc_err_t rc = read_all(path, TEMPLATE_MAX_BYTES, &buf, &len, err);
    if (rc == RC_OK)
        rc = load_one(buf, len, path, id, policy, out, err);
    free(buf);
    return rc;
}

rc_err_t template_load_file(const char *path, const char *policy, template_t **out,
                            char err[TEMPLATE_ERR_MAX])
{
    loaded_t l;
    rc_err_t rc = load_path(path, policy, &l, err);
    *out = l.t;
    return rc;
}

/* ---- sets ---- */

struct template_set {
    char *dir;
    template_t **items;
    size_t n, cap;
};

static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* list_dir reads dir's entries, except those starting with '.', sorted so
 * that the first error reported is the same on every machine. */
static rc_err_t list_dir(const char *dir, char ***out, size_t *n, char err[TEMPLATE_ERR_MAX])
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t cap = 0;
    rc_err_t rc = RC_OK;
    *out = NULL;
    *n = 0;
    if (!d) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: cannot open the templates folder: %s", dir,
                 strerror(errno));
        return RC_EIO;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == TEMPLATE_MAX_FILES) {
            snprintf(err, TEMPLATE_ERR_MAX, "%s: more than %d entries; is it the templates folder?",
                     dir, TEMPLATE_MAX_FILES);
            rc = RC_ETOOBIG;
            break;
        }
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **p = realloc(names, ncap * sizeof *p);
            if (!p) {
                rc = RC_ENOMEM;
                break;
            }
            names = p;
            cap = ncap;
        }
        size_t l = strlen(e->d_name);
        if (!(names[*n] = malloc(l + 1))) {
            rc = RC_ENOMEM;
            break;
        }
        memcpy(names[(*n)++], e->d_name, l + 1);
    }
    closedir(d);
    if (rc == RC_ENOMEM)
        snprintf(err, TEMPLATE_ERR_MAX, "%s: out of memory", dir);
    if (rc != RC_OK) {
        names_free(names, *n);
        *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(names, *n, sizeof *names, cmp_names);
    *out = names;
    return RC_OK;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int same_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* set_add takes l->t into set, refusing a second file for the same id (or
 * one differing only in capitals) in the same folder. */
static rc_err_t set_add(template_set_t *set, loaded_t *l, size_t *total, char err[TEMPLATE_ERR_MAX])
{
    template_t *t = l->t;
    for (size_t i = 0; i < set->n; i++) {
        const template_t *o = set->items[i];
        if (strcmp(o->policy, t->policy) != 0 || !same_ignoring_case(o->id, t->id))
            continue;
        int exact = strcmp(o->id, t->id) == 0;
        int n = snprintf(err, TEMPLATE_ERR_MAX, "%s:%u:%u: ", t->path, l->line, l->col);
        if (n > 0 && n < TEMPLATE_ERR_MAX)
            snprintf(err + n, TEMPLATE_ERR_MAX - (size_t)n,
                     exact ? "template %s is also in %s; keep one of the two files"
                           : "template %s differs from %s only in capitals; policies name "
                             "templates exactly, so rename or remove one",
                     t->id, exact ? o->path : o->id);
        template_free(t);
        l->t = NULL;
        return RC_EINVAL;
    }
    if (++*total > TEMPLATE_MAX_FILES) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: more than %d templates", set->dir, TEMPLATE_MAX_FILES);
        template_free(t);
        l->t = NULL;
        return RC_ETOOBIG;
    }
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 32;
        template_t **p = realloc(set->items, ncap * sizeof *p);
        if (!p) {
            snprintf(err, TEMPLATE_ERR_MAX, "%s: out of memory", set->dir);
            template_free(t);
            l->t = NULL;
            return RC_ENOMEM;
        }
        set->items = p;
        set->cap = ncap;
    }
    set->items[set->n++] = t;
    l->t = NULL;
    return RC_OK;
}

/* load_folder loads the templates of one folder: dir itself (policy NULL,
 * where policy folders are allowed) or a policy's folder. */
static rc_err_t load_folder(template_set_t *set, const char *dir, const char *policy, size_t *total,
                            char err[TEMPLATE_ERR_MAX])
{
    char **names = NULL;
    size_t n = 0;
    rc_err_t rc = list_dir(dir, &names, &n, err);
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        struct stat st;
        char *path = path_join(dir, names[i]);
        if (!path) {
            snprintf(err, TEMPLATE_ERR_MAX, "%s: out of memory", dir);
            rc = RC_ENOMEM;
            break;
        }
        if (stat(path, &st) != 0) {
            snprintf(err, TEMPLATE_ERR_MAX, "%s: cannot read it: %s", path, strerror(errno));
            rc = RC_EIO;
        } else if (S_ISDIR(st.st_mode) && policy) {
            snprintf(err, TEMPLATE_ERR_MAX,
                     "%s: a policy's folder holds template files only; templates go in "
                     "templates/<name>.yaml or templates/<policy>/<name>.yaml",
                     path);
            rc = RC_EINVAL;
        } else if (S_ISDIR(st.st_mode)) {
            size_t l = strlen(names[i]);
            int ok = l <= TEMPLATE_ID_MAX;
            for (size_t k = 0; ok && k < l; k++)
                ok = token_char((unsigned char)names[i][k]) && names[i][k] != ':';
            if (!ok) {
                snprintf(err, TEMPLATE_ERR_MAX,
                         "%s: a folder here holds one policy's own templates and is named "
                         "after the policy (letters, digits, '_', '-' and '.', such as 004_hcat)",
                         path);
                rc = RC_EINVAL;
            } else {
                rc = load_folder(set, path, names[i], total, err);
            }
        } else if (S_ISREG(st.st_mode) && yaml_stem(names[i]) > 0) {
            loaded_t l;
            rc = load_path(path, policy, &l, err);
            if (rc == RC_OK)
                rc = set_add(set, &l, total, err);
        }
        free(path);
    }
    names_free(names, n);
    return rc;
}

static int cmp_templates(const void *a, const void *b)
{
    const template_t *x = *(template_t *const *)a, *y = *(template_t *const *)b;
    int r = strcmp(x->policy, y->policy);
    return r ? r : strcmp(x->id, y->id);
}

rc_err_t template_set_load(const char *dir, template_set_t **out, char err[TEMPLATE_ERR_MAX])
{
    template_set_t *set = NULL;
    size_t total = 0;
    rc_err_t rc = RC_OK;
    *out = NULL;
    err[0] = '\0';
    if (!(set = calloc(1, sizeof *set)) || !(set->dir = malloc(strlen(dir) + 1))) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: out of memory", dir);
        rc = RC_ENOMEM;
        goto out;
    }
    memcpy(set->dir, dir, strlen(dir) + 1);
    if ((rc = load_folder(set, dir, NULL, &total, err)) != RC_OK)
        goto out;
    if (set->n == 0) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: no templates (<name>.yaml files) in the folder", dir);
        rc = RC_ENOTFOUND;
        goto out;
    }
    qsort(set->items, set->n, sizeof *set->items, cmp_templates);
    *out = set;
    set = NULL;
out:
    template_set_destroy(&set);
    return rc;
}

void template_set_destroy(template_set_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    template_set_t *set = *self_p;
    for (size_t i = 0; i < set->n; i++)
        template_free(set->items[i]);
    free(set->items);
    free(set->dir);
    free(set);
    *self_p = NULL;
}

size_t template_set_count(const template_set_t *set)
{
    return set ? set->n : 0;
}

const template_t *template_set_at(const template_set_t *set, size_t i)
{
    return set && i < set->n ? set->items[i] : NULL;
}

static const template_t *find_exact(const template_set_t *set, const char *policy, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i]->policy, policy) == 0 && strcmp(set->items[i]->id, id) == 0)
            return set->items[i];
    return NULL;
}

const template_t *template_find(const template_set_t *set, const char *policy_name, const char *id)
{
    const template_t *t = NULL;
    if (!set || !id)
        return NULL;
    if (policy_name && policy_name[0])
        t = find_exact(set, policy_name, id);
    return t ? t : find_exact(set, "", id);
}

int template_has(const template_t *t, channel_t channel)
{
    if (!t)
        return 0;
    switch (channel) {
    case CHANNEL_SMS:
        return t->sms != NULL;
    case CHANNEL_EMAIL:
        return t->email_text != NULL;
    case CHANNEL_LETTER:
        return t->letter_body != NULL;
    default:
        return 0;
    }
}

static const char *channel_key(channel_t ch)
{
    return ch == CHANNEL_SMS ? "sms" : ch == CHANNEL_EMAIL ? "email" : "letter";
}

/* need checks that p's school can send template id on channel; `who` says
 * what in the policy asks for it, at line (0: no line). */
static rc_err_t need(const template_set_t *set, const policy_t *p, const char *file, unsigned line,
                     const char *who, const char *id, channel_t ch, char err[TEMPLATE_ERR_MAX])
{
    const template_t *t = template_find(set, p->name, id);
    char at[32] = "";
    if (t && template_has(t, ch))
        return RC_OK;
    if (line && snprintf(at, sizeof at, "%u:", line) < 0)
        at[0] = '\0';
    if (!t)
        snprintf(err, TEMPLATE_ERR_MAX,
                 "%s:%s %s asks for %s \"%s\", but there is no such template: add "
                 "%s/%s.yaml (or %s/%s/%s.yaml for this policy only)",
                 file, at, who, channel_key(ch), id, set->dir, id, set->dir, p->name, id);
    else
        snprintf(err, TEMPLATE_ERR_MAX,
                 "%s:%s %s sends \"%s\" as %s %s, but %s has no `%s:`; add one", file, at, who, id,
                 ch == CHANNEL_EMAIL ? "an" : "a", ch == CHANNEL_SMS ? "text" : channel_key(ch),
                 t->path, channel_key(ch));
    return RC_ENOTFOUND;
}

static channel_t action_channel(action_kind_t k)
{
    return k == ACT_LETTER  ? CHANNEL_LETTER
           : k == ACT_SMS   ? CHANNEL_SMS
           : k == ACT_EMAIL ? CHANNEL_EMAIL
                            : CHANNEL_NONE;
}

static rc_err_t need_actions(const template_set_t *set, const policy_t *p, const char *file,
                             const policy_track_t *tr, const policy_stage_t *s,
                             const policy_action_t *acts, size_t n, const char *list,
                             char err[TEMPLATE_ERR_MAX])
{
    char who[3 * POLICY_NAME_MAX + 40];
    for (size_t i = 0; i < n; i++) {
        channel_t ch = action_channel(acts[i].kind);
        if (ch == CHANNEL_NONE)
            continue;
        if (snprintf(who, sizeof who, "%s of stage \"%s\" of track \"%s\"", list, s->id, tr->id) <
            0)
            who[0] = '\0';
        rc_err_t rc = need(set, p, file, acts[i].line, who, acts[i].template_id, ch, err);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

rc_err_t template_check_policy(const template_set_t *set, const policy_t *p,
                               const char *policy_file, char err[TEMPLATE_ERR_MAX])
{
    const char *file = policy_file ? policy_file : p->name;
    rc_err_t rc = RC_OK;
    err[0] = '\0';
    for (size_t t = 0; rc == RC_OK && t < p->ntracks; t++) {
        const policy_track_t *tr = &p->tracks[t];
        for (size_t s = 0; rc == RC_OK && s < tr->nstages; s++) {
            const policy_stage_t *st = &tr->stages[s];
            rc = need_actions(set, p, file, tr, st, st->actions, st->nactions, "`actions`", err);
            if (rc == RC_OK)
                rc = need_actions(set, p, file, tr, st, st->on_improved, st->non_improved,
                                  "`on_improved`", err);
        }
    }
    if (rc == RC_OK && p->alerts.first_day && p->alerts.first_day_template[0])
        rc = need(set, p, file, 0, "the first_day alert", p->alerts.first_day_template, CHANNEL_SMS,
                  err);
    if (rc == RC_OK && p->alerts.social_worker)
        rc = need(set, p, file, 0, "the social_worker alert", TEMPLATE_SOCIAL_WORKER_ID,
                  CHANNEL_EMAIL, err);
    return rc;
}

/* channel_texts lists the texts of t's channel; returns how many. */
static size_t channel_texts(const template_t *t, channel_t ch, const char *texts[3])
{
    size_t n = 0;
    if (!template_has(t, ch))
        return 0;
    if (ch == CHANNEL_SMS) {
        texts[n++] = t->sms;
    } else if (ch == CHANNEL_EMAIL) {
        texts[n++] = t->email_subject;
        texts[n++] = t->email_text;
        if (t->email_html)
            texts[n++] = t->email_html;
    } else {
        if (t->letter_subject)
            texts[n++] = t->letter_subject;
        texts[n++] = t->letter_body;
    }
    return n;
}

size_t template_fields_used(const template_t *t, channel_t channel,
                            template_field_t out[FIELD__COUNT])
{
    const char *texts[3];
    unsigned char seen[FIELD__COUNT] = {0};
    size_t n = 0, ntexts = channel_texts(t, channel, texts);
    for (size_t k = 0; k < ntexts; k++) {
        size_t len = strlen(texts[k]);
        for (size_t i = 0, s, e; next_field(texts[k], len, i, &s, &e); i = e) {
            template_field_t f;
            if (template_field_parse(texts[k] + s + 2, e - s - 4, &f) == RC_OK && !seen[f]) {
                seen[f] = 1;
                out[n++] = f;
            }
        }
    }
    return n;
}

/* ---- rendering ---- */

typedef enum {
    OUT_PLAIN,     /* values as they are */
    OUT_HTML,      /* the template is HTML: values escaped */
    OUT_HTML_TEXT, /* the template is plain text made HTML: everything escaped */
} out_mode_t;

typedef struct {
    const template_t *t;
    const template_fields_t *f;
    int blanks_ok; /* letters: a missing value is a line to write on */
    unsigned blanks;
    char *err;
} render_t;

PRINTF_LIKE(3, 4)
static rc_err_t render_fail(render_t *r, rc_err_t rc, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, TEMPLATE_ERR_MAX, "%s: ", r->t->path ? r->t->path : r->t->id);
    va_start(ap, fmt);
    if (n >= 0 && n < TEMPLATE_ERR_MAX)
        vsnprintf(r->err + n, TEMPLATE_ERR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

/* check_value refuses a value no message should carry. Messages name the
 * field, never the value: they go to logs. */
static rc_err_t check_value(render_t *r, template_field_t f, const char *v)
{
    const unsigned char *u = (const unsigned char *)v;
    size_t len = strlen(v);
    uint32_t cp;
    if (len > TEMPLATE_VALUE_MAX)
        return render_fail(r, RC_EINVAL, "the value of ((%s)) is longer than %d bytes",
                           field_info[f].name, TEMPLATE_VALUE_MAX);
    for (size_t i = 0; i < len;) {
        size_t k = utf8_next(u + i, len - i, &cp);
        if (k == 0)
            return render_fail(r, RC_EINVAL, "the value of ((%s)) is not UTF-8 text",
                               field_info[f].name);
        if (is_control(cp))
            return render_fail(r, RC_EINVAL,
                               "the value of ((%s)) holds a control character or line break",
                               field_info[f].name);
        i += k;
    }
    return RC_OK;
}

static rc_err_t fill(render_t *r, const char *tpl, out_mode_t mode, buf_t *b)
{
    size_t len = strlen(tpl), pos = 0, s, e;
    while (next_field(tpl, len, pos, &s, &e)) {
        template_field_t f;
        if (mode == OUT_HTML_TEXT)
            buf_html(b, tpl + pos, s - pos);
        else
            buf_add(b, tpl + pos, s - pos);
        if (template_field_parse(tpl + s + 2, e - s - 4, &f) != RC_OK)
            return render_fail(r, RC_EINVAL, "unknown merge field in the template");
        const char *v = r->f ? r->f->value[f] : NULL;
        if (!v && r->blanks_ok) {
            buf_str(b, TEMPLATE_BLANK);
            r->blanks++;
        } else if (!v) {
            return render_fail(r, RC_EINVAL, "the message needs ((%s)), which has no value",
                               field_info[f].name);
        } else {
            rc_err_t rc = check_value(r, f, v);
            if (rc != RC_OK)
                return rc;
            if (mode == OUT_PLAIN)
                buf_str(b, v);
            else
                buf_html(b, v, strlen(v));
        }
        pos = e;
    }
    if (mode == OUT_HTML_TEXT)
        buf_html(b, tpl + pos, len - pos);
    else
        buf_add(b, tpl + pos, len - pos);
    return b->oom ? render_fail(r, RC_ENOMEM, "out of memory") : RC_OK;
}

/* paragraphs turns escaped plain text into HTML: blank lines part
 * paragraphs, a single line break is a <br>. */
static void paragraphs(const char *s, size_t len, buf_t *out)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && s[i] == '\n')
            i++;
        if (i == len)
            break;
        buf_str(out, "<p>");
        while (i < len && !(s[i] == '\n' && i + 1 < len && s[i + 1] == '\n')) {
            size_t j = i;
            while (j < len && s[j] != '\n')
                j++;
            buf_add(out, s + i, j - i);
            i = j;
            if (i < len && !(i + 1 < len && s[i + 1] == '\n')) {
                i++;
                if (i < len)
                    buf_str(out, "<br>\n");
            }
        }
        buf_str(out, "</p>\n");
    }
}

static rc_err_t render_into(render_t *r, const char *tpl, out_mode_t mode, char **dst)
{
    buf_t b = {0};
    rc_err_t rc = fill(r, tpl, mode, &b);
    if (rc == RC_OK && mode == OUT_HTML_TEXT) {
        buf_t p = {0};
        paragraphs(b.p ? b.p : "", b.len, &p);
        free(b.p);
        b = p;
    }
    if (rc == RC_OK && !(*dst = buf_take(&b)))
        rc = render_fail(r, RC_ENOMEM, "out of memory");
    free(b.p);
    return rc;
}

static rc_err_t render_sms(render_t *r, template_message_t *out)
{
    buf_t raw = {0}, clean = {0};
    rc_err_t rc = fill(r, r->t->sms, OUT_PLAIN, &raw);
    if (rc == RC_OK) {
        sanitise_sms(raw.p ? raw.p : "", raw.len, &clean);
        if (!(out->text = buf_take(&clean)))
            rc = render_fail(r, RC_ENOMEM, "out of memory");
    }
    if (rc == RC_OK && sms_segments(out->text, strlen(out->text), &out->sms) != RC_OK)
        rc = render_fail(r, RC_EINVAL, "the text message is not UTF-8");
    if (rc == RC_OK && out->sms.chars > TEMPLATE_SMS_MAX_CHARS)
        rc = render_fail(r, RC_ETOOBIG,
                         "the text message comes to %u characters, more than the %d a text "
                         "message may have",
                         out->sms.chars, TEMPLATE_SMS_MAX_CHARS);
    free(raw.p);
    free(clean.p);
    return rc;
}

rc_err_t template_render(const template_t *t, channel_t channel, const template_fields_t *fields,
                         template_message_t *out, char err[TEMPLATE_ERR_MAX])
{
    render_t r = {.t = t, .f = fields, .err = err};
    rc_err_t rc = RC_OK;
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (!t)
        return RC_EINVAL;
    if (!template_has(t, channel)) {
        snprintf(err, TEMPLATE_ERR_MAX, "%s: template %s has no `%s:`", t->path ? t->path : t->id,
                 t->id,
                 channel == CHANNEL_SMS || channel == CHANNEL_EMAIL || channel == CHANNEL_LETTER
                     ? channel_key(channel)
                     : "such channel");
        return RC_ENOTFOUND;
    }
    out->channel = channel;
    switch (channel) {
    case CHANNEL_SMS:
        rc = render_sms(&r, out);
        break;
    case CHANNEL_EMAIL:
        rc = render_into(&r, t->email_subject, OUT_PLAIN, &out->subject);
        if (rc == RC_OK)
            rc = render_into(&r, t->email_text, OUT_PLAIN, &out->text);
        if (rc == RC_OK)
            rc = render_into(&r, t->email_html ? t->email_html : t->email_text,
                             t->email_html ? OUT_HTML : OUT_HTML_TEXT, &out->html);
        break;
    default: /* CHANNEL_LETTER */
        r.blanks_ok = 1;
        if (t->letter_subject)
            rc = render_into(&r, t->letter_subject, OUT_PLAIN, &out->subject);
        if (rc == RC_OK)
            rc = render_into(&r, t->letter_body, OUT_PLAIN, &out->text);
        out->blanks = r.blanks;
        break;
    }
    if (rc != RC_OK)
        template_message_free(out);
    return rc;
}

void template_message_free(template_message_t *m)
{
    if (!m)
        return;
    free(m->subject);
    free(m->text);
    free(m->html);
    memset(m, 0, sizeof *m);
}

/* ---- formatting values ---- */

char *template_format_date(rc_date_t date, char out[TEMPLATE_DATE_STRLEN])
{
    static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    int y, m, d, wd = date_weekday(date);
    date_to_ymd(date, &y, &m, &d);
    if (wd < 1 || wd > 7 || m < 1 || m > 12 ||
        snprintf(out, TEMPLATE_DATE_STRLEN, "%s %d %s %d", days[wd - 1], d % 100, months[m - 1],
                 y % 10000) < 0)
        out[0] = '\0';
    return out;
}

char *template_format_pct(double pct, char out[TEMPLATE_PCT_STRLEN])
{
    /* Rounded down, with a little slack so that 90 computed as 100.0 * 171 /
     * 190 prints as 90 rather than 89.9. */
    long tenths = 0;
    if (pct == pct && pct > 0)
        tenths = pct >= 100 ? 1000 : (long)(pct * 10.0 + 1e-6);
    if (tenths > 1000)
        tenths = 1000;
    int w = tenths % 10 ? snprintf(out, TEMPLATE_PCT_STRLEN, "%ld.%ld", tenths / 10, tenths % 10)
                        : snprintf(out, TEMPLATE_PCT_STRLEN, "%ld", tenths / 10);
    if (w < 0)
        out[0] = '\0';
    return out;
}

char *template_format_year_group(int year_group, char out[TEMPLATE_YEAR_STRLEN])
{
    int w;
    if (year_group == -2 || year_group == -1)
        w = snprintf(out, TEMPLATE_YEAR_STRLEN, "Nursery %d", year_group + 3);
    else if (year_group == 0)
        w = snprintf(out, TEMPLATE_YEAR_STRLEN, "Reception");
    else
        w = snprintf(out, TEMPLATE_YEAR_STRLEN, "Year %d", year_group % 100);
    if (w < 0)
        out[0] = '\0';
    return out;
}

rc_err_t template_join_names(const char *const *names, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return RC_ETOOBIG;
    out[0] = '\0';
    if (n == 0)
        return RC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        size_t ls = strlen(sep), ln = strlen(names[i]);
        if (used + ls + ln + 1 > cap) {
            out[0] = '\0';
            return RC_ETOOBIG;
        }
        memcpy(out + used, sep, ls);
        memcpy(out + used + ls, names[i], ln);
        used += ls + ln;
        out[used] = '\0';
    }
    return RC_OK;
}
