/* fuzz_template.c - any bytes into template_load, sms_segments and the renderer; what loads must
 * render. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_counts aborts when a count breaks the rules every caller relies on. */
static void check_counts(const sms_count_t *c)
{
    unsigned single = c->encoding == SMS_GSM7 ? 160 : 70, part = c->encoding == SMS_GSM7 ? 153 : 67;
    if (c->encoding != SMS_GSM7 && c->encoding != SMS_UCS2)
        abort();
    if (c->units < c->chars || c->units > 2 * c->chars)
        abort();
    if ((c->units == 0) != (c->segments == 0))
        abort();
    if (c->units > 0 && c->units <= single && c->segments != 1)
        abort();
    /* Parts never cut a pair, so they may hold one unit less than full. */
    if (c->units > single && (c->segments < (c->units + part - 1) / part ||
                              c->segments > (c->units + part - 2) / (part - 1)))
        abort();
}

/* check_render renders every channel t has, with every field filled and
 * with none: refusals must be the documented ones. */
static void check_render(const template_t *t)
{
    static const channel_t chans[] = {CHANNEL_SMS, CHANNEL_EMAIL, CHANNEL_LETTER};
    template_fields_t full = {{0}}, none = {{0}};
    char err[TEMPLATE_ERR_MAX];
    int any = 0;
    for (int f = 0; f < FIELD__COUNT; f++)
        full.value[f] = f % 2 ? "Zoé <O'Brien> & \"co\"" : "Ava";
    for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++) {
        template_message_t m;
        template_field_t used[FIELD__COUNT];
        if (!template_has(t, chans[i])) {
            if (template_render(t, chans[i], &full, &m, err) != RC_ENOTFOUND || m.text)
                abort();
            continue;
        }
        any = 1;
        size_t nused = template_fields_used(t, chans[i], used);
        rc_err_t rc = template_render(t, chans[i], &full, &m, err);
        if (rc == RC_OK) {
            if (!m.text || (chans[i] == CHANNEL_EMAIL) != (m.html != NULL) || m.blanks)
                abort();
            if (chans[i] == CHANNEL_SMS) {
                check_counts(&m.sms);
                if (m.sms.chars > TEMPLATE_SMS_MAX_CHARS)
                    abort();
            }
            if (m.html && strstr(m.html, "<O'Brien>") &&
                !(t->email_html && strstr(t->email_html, "O'Brien")))
                abort(); /* a value reached the HTML unescaped */
        } else if (!(rc == RC_ETOOBIG && chans[i] == CHANNEL_SMS)) {
            abort();
        }
        template_message_free(&m);
        rc = template_render(t, chans[i], &none, &m, err);
        if (chans[i] == CHANNEL_LETTER ? rc != RC_OK || m.blanks < nused
                                       : (rc == RC_OK) != (nused == 0))
            abort();
        template_message_free(&m);
    }
    if (!any)
        abort(); /* a template with no channel was accepted */
}

/* LLVMFuzzerTestOneInput loads the bytes as a template and counts them as a
 * text message; refusals are fine, crashes, leaks and broken rules are not. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[TEMPLATE_ERR_MAX];
    template_t *t = NULL;
    sms_count_t c;
    if (sms_segments((const char *)data, size, &c) == RC_OK)
        check_counts(&c);
    rc_err_t rc = template_load((const char *)data, size, "fuzz.yaml", NULL, NULL, &t, err);
    if (rc == RC_OK) {
        if (!t)
            abort();
        check_render(t);
        template_destroy(&t);
    } else if (t || memchr(err, '\0', sizeof err) == NULL || strncmp(err, "fuzz.yaml:", 10) != 0) {
        abort(); /* a refusal returns no template and says where */
    }
    return 0;
}
