/* gateway.c - requests to GOV.UK Notify, Twilio and a webhook, and their answers. */
#include "notify/gateway.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>

const char *gateway_name(gateway_kind_t kind)
{
    switch (kind) {
    case GATEWAY_NOTIFY:
        return "notify";
    case GATEWAY_TWILIO:
        return "twilio";
    case GATEWAY_WEBHOOK:
        return "webhook";
    default:
        return "none";
    }
}

/* ---- keys ---- */

static int is_uuid(const char *s)
{
    for (int i = 0; i < GATEWAY_UUID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

rc_err_t gateway_notify_key(gateway_t *g, const char *key, char why[GATEWAY_WHY_MAX])
{
    size_t n = strlen(key);
    /* name, '-', service uuid, '-', secret uuid */
    if (n < 2 * GATEWAY_UUID_LEN + 3 || key[n - GATEWAY_UUID_LEN - 1] != '-' ||
        key[n - 2 * GATEWAY_UUID_LEN - 2] != '-' || !is_uuid(key + n - GATEWAY_UUID_LEN) ||
        !is_uuid(key + n - 2 * GATEWAY_UUID_LEN - 1)) {
        snprintf(why, GATEWAY_WHY_MAX,
                 "a GOV.UK Notify API key is {key_name}-{service id}-{secret}, the last two "
                 "UUIDs; this one is not (its text is not shown)");
        return RC_EINVAL;
    }
    memcpy(g->service_id, key + n - 2 * GATEWAY_UUID_LEN - 1, GATEWAY_UUID_LEN);
    g->service_id[GATEWAY_UUID_LEN] = '\0';
    memcpy(g->secret, key + n - GATEWAY_UUID_LEN, GATEWAY_UUID_LEN);
    g->secret[GATEWAY_UUID_LEN] = '\0';
    return RC_OK;
}

void gateway_wipe(gateway_t *g)
{
    sodium_memzero(g->secret, sizeof g->secret);
    sodium_memzero(g->auth_token, sizeof g->auth_token);
    sodium_memzero(g->token, sizeof g->token);
}

void gateway_request_free(gateway_request_t *req)
{
    free(req->body);
    req->body = NULL;
    req->len = 0;
}

/* ---- building requests ---- */

static const char *trimmed(const char *base, char buf[GATEWAY_URL_MAX])
{
    snprintf(buf, GATEWAY_URL_MAX, "%s", base);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '/')
        buf[--n] = '\0';
    return buf;
}

/* notify_jwt writes "Bearer <token>" for g at now. */
static rc_err_t notify_jwt(const gateway_t *g, rc_time_t now, char *out, size_t cap)
{
    jwt_t *jwt = NULL;
    rc_err_t err = RC_ENOMEM;
    if (jwt_new(&jwt) != 0)
        return RC_ENOMEM;
    if (jwt_add_grant(jwt, "iss", g->service_id) == 0 &&
        jwt_add_grant_int(jwt, "iat", (long)(now / 1000000)) == 0 &&
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)g->secret, strlen(g->secret)) == 0) {
        char *tok = jwt_encode_str(jwt);
        if (tok && (size_t)snprintf(out, cap, "Bearer %s", tok) < cap)
            err = RC_OK;
        free(tok);
    }
    jwt_free(jwt);
    return err;
}

/* percent_encode writes s at o, all but RFC 3986's unreserved bytes as %XX,
 * and returns the end. */
static char *percent_encode(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    return o;
}

/* form_add appends name=value, both percent-encoded (a name such as
 * Twilio's "DateSent>" must go as DateSent%3E: a raw '>' is not allowed in
 * a URL), to a growing
 * buffer. */
static int form_add(char **buf, size_t *len, size_t *cap, const char *name, const char *value)
{
    size_t need = *len + 3 * strlen(name) + 3 * strlen(value) + 3;
    if (need > *cap) {
        size_t c = need * 2;
        char *v = realloc(*buf, c);
        if (!v)
            return 0;
        *buf = v;
        *cap = c;
    }
    char *o = *buf + *len;
    if (*len)
        *o++ = '&';
    o = percent_encode(o, name);
    *o++ = '=';
    o = percent_encode(o, value);
    *o = '\0';
    *len = (size_t)(o - *buf);
    return 1;
}

static rc_err_t basic_auth(const gateway_t *g, char *out, size_t cap)
{
    char plain[64 + GATEWAY_SECRET_MAX + 2];
    int n = snprintf(plain, sizeof plain, "%s:%s", g->account_sid, g->auth_token);
    char b64[sizeof plain * 2];
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)plain, (size_t)n,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(plain, sizeof plain);
    int w = snprintf(out, cap, "Basic %s", b64);
    sodium_memzero(b64, sizeof b64);
    return w > 0 && (size_t)w < cap ? RC_OK : RC_ENOMEM;
}

static rc_err_t json_body(json_t *j, gateway_request_t *out)
{
    if (!j)
        return RC_ENOMEM;
    out->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!out->body)
        return RC_ENOMEM;
    out->len = strlen(out->body);
    snprintf(out->content_type, sizeof out->content_type, "application/json");
    return RC_OK;
}

static rc_err_t notify_send(const gateway_t *g, const gateway_message_t *m, rc_time_t now,
                            gateway_request_t *out, char why[GATEWAY_WHY_MAX])
{
    char base[GATEWAY_URL_MAX];
    if (!m->template_id || !m->template_id[0]) {
        snprintf(why, GATEWAY_WHY_MAX,
                 "this template has no GOV.UK Notify template id for %s (notify: in its file)",
                 channel_name(m->channel));
        return RC_EINVAL;
    }
    json_t *pers = json_object();
    for (size_t i = 0; pers && i < m->nfields; i++)
        json_object_set_new(pers, m->fields[i].name, json_string(m->fields[i].value));
    json_t *j = json_pack(
        "{s:s,s:s,s:o*,s:s}", m->channel == CHANNEL_SMS ? "phone_number" : "email_address", m->to,
        "template_id", m->template_id, "personalisation", pers, "reference", m->reference);
    rc_err_t err = json_body(j, out);
    if (err != RC_OK)
        return err;
    snprintf(out->method, sizeof out->method, "POST");
    snprintf(out->url, sizeof out->url, "%s/v2/notifications/%s", trimmed(g->base_url, base),
             m->channel == CHANNEL_SMS ? "sms" : "email");
    return notify_jwt(g, now, out->authorization, sizeof out->authorization);
}

static rc_err_t twilio_send(const gateway_t *g, const gateway_message_t *m, gateway_request_t *out,
                            char why[GATEWAY_WHY_MAX])
{
    char base[GATEWAY_URL_MAX];
    if (m->channel != CHANNEL_SMS) {
        snprintf(why, GATEWAY_WHY_MAX, "Twilio sends SMS only, not %s", channel_name(m->channel));
        return RC_EINVAL;
    }
    size_t len = 0, cap = 0;
    char *body = NULL;
    int ok = form_add(&body, &len, &cap, "To", m->to) &&
             form_add(&body, &len, &cap, "From", g->from) &&
             form_add(&body, &len, &cap, "Body", m->text ? m->text : "");
    if (ok && g->status_callback[0]) {
        char cb[2 * GATEWAY_URL_MAX];
        snprintf(cb, sizeof cb, "%s%sref=%s", g->status_callback,
                 strchr(g->status_callback, '?') ? "&" : "?", m->reference);
        ok = form_add(&body, &len, &cap, "StatusCallback", cb);
    }
    if (!ok) {
        free(body);
        return RC_ENOMEM;
    }
    out->body = body;
    out->len = len;
    snprintf(out->content_type, sizeof out->content_type, "application/x-www-form-urlencoded");
    snprintf(out->method, sizeof out->method, "POST");
    snprintf(out->url, sizeof out->url, "%s/2010-04-01/Accounts/%s/Messages.json",
             trimmed(g->base_url, base), g->account_sid);
    return basic_auth(g, out->authorization, sizeof out->authorization);
}

static rc_err_t webhook_send(const gateway_t *g, const gateway_message_t *m, gateway_request_t *out)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s?}", "reference", m->reference, "channel",
                          channel_name(m->channel), "to", m->to, "text", m->text, "subject",
                          m->subject, "html", m->html);
    rc_err_t err = json_body(j, out);
    if (err != RC_OK)
        return err;
    snprintf(out->method, sizeof out->method, "POST");
    snprintf(out->url, sizeof out->url, "%s", g->base_url);
    if (g->token[0])
        snprintf(out->authorization, sizeof out->authorization, "Bearer %s", g->token);
    return RC_OK;
}

rc_err_t gateway_send_request(const gateway_t *g, const gateway_message_t *m, rc_time_t now,
                              gateway_request_t *out, char why[GATEWAY_WHY_MAX])
{
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    switch (g->kind) {
    case GATEWAY_NOTIFY:
        return notify_send(g, m, now, out, why);
    case GATEWAY_TWILIO:
        return twilio_send(g, m, out, why);
    case GATEWAY_WEBHOOK:
        return webhook_send(g, m, out);
    default:
        snprintf(why, GATEWAY_WHY_MAX, "no gateway is configured for %s", channel_name(m->channel));
        return RC_EINVAL;
    }
}

rc_err_t gateway_lookup_request(const gateway_t *g, const gateway_message_t *m, rc_time_t now,
                                rc_time_t since, gateway_request_t *out, char why[GATEWAY_WHY_MAX])
{
    char base[GATEWAY_URL_MAX];
    memset(out, 0, sizeof *out);
    snprintf(out->method, sizeof out->method, "GET");
    if (g->kind == GATEWAY_NOTIFY) {
        snprintf(out->url, sizeof out->url, "%s/v2/notifications?reference=%s",
                 trimmed(g->base_url, base), m->reference);
        return notify_jwt(g, now, out->authorization, sizeof out->authorization);
    }
    if (g->kind == GATEWAY_TWILIO) {
        /* No DateSent filter: a text Twilio still queues has no sent date
         * and would not be listed - and then be sent again. The newest
         * 1,000 to the number are plenty; text and number must match. */
        char *q = NULL;
        size_t len = 0, cap = 0;
        (void)since;
        if (!form_add(&q, &len, &cap, "To", m->to) ||
            !form_add(&q, &len, &cap, "PageSize", "1000")) {
            free(q);
            return RC_ENOMEM;
        }
        snprintf(out->url, sizeof out->url, "%s/2010-04-01/Accounts/%s/Messages.json?%s",
                 trimmed(g->base_url, base), g->account_sid, q);
        free(q);
        return basic_auth(g, out->authorization, sizeof out->authorization);
    }
    snprintf(why, GATEWAY_WHY_MAX, "the %s gateway has no lookup", gateway_name(g->kind));
    return RC_ENOTFOUND;
}

/* ---- reading answers ---- */

/* error_text writes a gateway's error for the school, without personal
 * data: Notify's error names (and its message, which never repeats the
 * number), Twilio's code only. */
static void error_text(const gateway_t *g, long status, json_t *j, char out[CODEC_ERROR_MAX + 1])
{
    if (g->kind == GATEWAY_NOTIFY) {
        json_t *e = json_array_get(json_object_get(j, "errors"), 0);
        const char *name = json_string_value(json_object_get(e, "error"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (name) {
            snprintf(out, CODEC_ERROR_MAX + 1, "GOV.UK Notify %ld %s: %.150s", status, name,
                     msg ? msg : "");
            /* Keep it printable; a message with a control character is cut there. */
            for (char *p = out; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = '\0';
            return;
        }
    } else if (g->kind == GATEWAY_TWILIO) {
        json_int_t code = json_integer_value(json_object_get(j, "code"));
        if (code) {
            snprintf(out, CODEC_ERROR_MAX + 1,
                     "Twilio %ld, error %" JSON_INTEGER_FORMAT
                     " (https://www.twilio.com/docs/errors/%" JSON_INTEGER_FORMAT ")",
                     status, code, code);
            return;
        }
    }
    snprintf(out, CODEC_ERROR_MAX + 1, "%s answered HTTP %ld", gateway_name(g->kind), status);
}

static uint32_t retry_after_ms(const char *h)
{
    if (!h)
        return 0;
    char *end;
    unsigned long s = strtoul(h, &end, 10);
    if (end == h || s > 3600)
        return 0;
    return (uint32_t)s * 1000;
}

gateway_verdict_t gateway_read_send(const gateway_t *g, long status, int sent,
                                    const char *retry_after, const char *body, size_t len,
                                    gateway_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (status == 0) {
        snprintf(out->error, sizeof out->error, "%s: %s", gateway_name(g->kind),
                 sent ? "no answer after the request went out" : "could not reach the gateway");
        return sent ? GATEWAY_UNKNOWN : GATEWAY_RETRY;
    }
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    gateway_verdict_t v;
    if (status >= 200 && status < 300) {
        const char *id =
            json_string_value(json_object_get(j, g->kind == GATEWAY_TWILIO ? "sid" : "id"));
        if (id && strlen(id) <= CODEC_KEY_MAX)
            snprintf(out->ref, sizeof out->ref, "%s", id);
        v = GATEWAY_SENT;
    } else {
        error_text(g, status, j, out->error);
        if (status == 429 || status >= 500) {
            out->retry_after_ms = retry_after_ms(retry_after);
            v = GATEWAY_RETRY;
        } else {
            v = GATEWAY_PERMANENT;
        }
    }
    json_decref(j);
    return v;
}

gateway_verdict_t gateway_read_lookup(const gateway_t *g, const gateway_message_t *m, long status,
                                      const char *body, size_t len, gateway_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (status != 200) {
        snprintf(out->error, sizeof out->error, "%s lookup answered HTTP %ld",
                 gateway_name(g->kind), status);
        return GATEWAY_RETRY;
    }
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    json_t *list = json_object_get(j, g->kind == GATEWAY_TWILIO ? "messages" : "notifications");
    if (!json_is_array(list)) {
        json_decref(j);
        snprintf(out->error, sizeof out->error, "%s lookup: not a list", gateway_name(g->kind));
        return GATEWAY_RETRY;
    }
    gateway_verdict_t v = GATEWAY_PERMANENT;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *id, *ref;
        if (g->kind == GATEWAY_TWILIO) {
            const char *to = json_string_value(json_object_get(e, "to"));
            const char *text = json_string_value(json_object_get(e, "body"));
            id = json_string_value(json_object_get(e, "sid"));
            if (!to || !text || strcmp(to, m->to) != 0 || !m->text || strcmp(text, m->text) != 0)
                continue;
        } else {
            ref = json_string_value(json_object_get(e, "reference"));
            id = json_string_value(json_object_get(e, "id"));
            if (!ref || strcmp(ref, m->reference) != 0)
                continue;
        }
        if (id && strlen(id) <= CODEC_KEY_MAX)
            snprintf(out->ref, sizeof out->ref, "%s", id);
        v = GATEWAY_SENT;
        break;
    }
    json_decref(j);
    return v;
}

/* ---- receipts ---- */

static delivery_status_t notify_status(const char *s)
{
    if (!strcmp(s, "delivered"))
        return DELIVERY_DELIVERED;
    if (!strcmp(s, "permanent-failure"))
        return DELIVERY_FAILED_PERMANENT;
    if (!strcmp(s, "temporary-failure") || !strcmp(s, "technical-failure"))
        return DELIVERY_FAILED_TEMPORARY;
    return DELIVERY_SENT; /* created, sending, pending, sent: on its way */
}

rc_err_t gateway_notify_receipt(const char *body, size_t len, gateway_receipt_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *ref = json_string_value(json_object_get(j, "reference"));
    const char *st = json_string_value(json_object_get(j, "status"));
    rc_err_t err = RC_EPARSE;
    if (id && st && strlen(id) <= CODEC_KEY_MAX && (!ref || strlen(ref) <= CODEC_KEY_MAX)) {
        snprintf(out->id, sizeof out->id, "%s", id);
        snprintf(out->reference, sizeof out->reference, "%s", ref ? ref : "");
        out->status = notify_status(st);
        if (out->status == DELIVERY_FAILED_PERMANENT || out->status == DELIVERY_FAILED_TEMPORARY)
            snprintf(out->error, sizeof out->error, "GOV.UK Notify: %.40s", st);
        err = RC_OK;
    }
    json_decref(j);
    return err;
}

/* form_get copies the decoded value of name in a form body into out. */
static int form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = body, *end = body + len; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t o = 0;
            for (const char *q = p + nl + 1; q < stop && o + 1 < cap; q++) {
                if (*q == '+') {
                    out[o++] = ' ';
                } else if (*q == '%' && stop - q > 2 && isxdigit((unsigned char)q[1]) &&
                           isxdigit((unsigned char)q[2])) {
                    char hex[3] = {q[1], q[2], 0};
                    out[o++] = (char)strtol(hex, NULL, 16);
                    q += 2;
                } else {
                    out[o++] = *q;
                }
            }
            out[o] = '\0';
            return 1;
        }
        p = stop + 1;
    }
    return 0;
}

rc_err_t gateway_twilio_receipt(const char *body, size_t len, gateway_receipt_t *out)
{
    char st[32], code[16] = "";
    memset(out, 0, sizeof *out);
    if (!form_get(body, len, "MessageSid", out->id, sizeof out->id) ||
        !form_get(body, len, "MessageStatus", st, sizeof st))
        return RC_EPARSE;
    form_get(body, len, "ErrorCode", code, sizeof code);
    if (!strcmp(st, "delivered")) {
        out->status = DELIVERY_DELIVERED;
    } else if (!strcmp(st, "undelivered") || !strcmp(st, "failed")) {
        out->status = DELIVERY_FAILED_PERMANENT;
        snprintf(out->error, sizeof out->error, "Twilio: %s%s%.8s", st, code[0] ? ", error " : "",
                 code);
    } else {
        out->status = DELIVERY_SENT;
    }
    return RC_OK;
}
