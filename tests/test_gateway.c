/* test_gateway.c - the requests to GOV.UK Notify, Twilio and the webhook, and reading their
 * answers. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "notify/gateway.h"

#define SERVICE_ID "26785a09-ab16-4eb0-8407-a37497a57506"
#define SECRET     "3d844edf-8d35-48ac-975b-e847b4f122b0"
#define NUMBER     "+447700900123"
#define ADDRESS    "parent@example.org"
#define REFERENCE  "ev-0001:c2.sms"
#define TEMPLATE   "f33517ff-2a88-4f6e-b855-c550268ce08a"
#define SID        "AC0123456789abcdef0123456789abcdef"
/* Now (2024-03-05T10:15:00.123456Z) in microseconds, and its iat. */
#define NOW     INT64_C(1709633700123456)
#define NOW_IAT 1709633700L

/* ---- helpers ---- */

static gateway_t notify_gateway(const char *base)
{
    gateway_t g;
    memset(&g, 0, sizeof g);
    g.kind = GATEWAY_NOTIFY;
    snprintf(g.base_url, sizeof g.base_url, "%s", base);
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_notify_key(&g, "rollcall_live-" SERVICE_ID "-" SECRET, why), RC_OK);
    return g;
}

static gateway_t twilio_gateway(const char *callback)
{
    gateway_t g;
    memset(&g, 0, sizeof g);
    g.kind = GATEWAY_TWILIO;
    snprintf(g.base_url, sizeof g.base_url, "https://api.twilio.com/");
    snprintf(g.account_sid, sizeof g.account_sid, SID);
    snprintf(g.auth_token, sizeof g.auth_token, "tok3n");
    snprintf(g.from, sizeof g.from, "+447700900000");
    snprintf(g.status_callback, sizeof g.status_callback, "%s", callback);
    return g;
}

static gateway_t webhook_gateway(const char *token)
{
    gateway_t g;
    memset(&g, 0, sizeof g);
    g.kind = GATEWAY_WEBHOOK;
    snprintf(g.base_url, sizeof g.base_url, "https://hooks.example.org/rollcall/");
    snprintf(g.token, sizeof g.token, "%s", token);
    return g;
}

static const gateway_field_t fields[] = {
    {"child_first_name", "Zoë"},
    {"school", "St Mary's C of E Primary"},
    {"sessions_missed", "4"},
};

static gateway_message_t sms(const char *text)
{
    return (gateway_message_t){.channel = CHANNEL_SMS,
                               .to = NUMBER,
                               .reference = REFERENCE,
                               .template_id = TEMPLATE,
                               .fields = fields,
                               .nfields = sizeof fields / sizeof *fields,
                               .text = text};
}

static gateway_message_t email(void)
{
    return (gateway_message_t){.channel = CHANNEL_EMAIL,
                               .to = ADDRESS,
                               .reference = REFERENCE,
                               .template_id = TEMPLATE,
                               .fields = fields,
                               .nfields = sizeof fields / sizeof *fields,
                               .text = "Zoë missed 4 sessions.",
                               .subject = "Attendance at St Mary's",
                               .html = "<p>Zoë missed 4 sessions.</p>"};
}

/* body_json parses req's body, checking len matches. */
static json_t *body_json(const gateway_request_t *req)
{
    cr_assert_not_null(req->body);
    cr_assert_eq(req->len, strlen(req->body));
    json_error_t e;
    json_t *j = json_loadb(req->body, req->len, 0, &e);
    cr_assert_not_null(j, "body is JSON: %s (%s)", e.text, req->body);
    cr_assert(json_is_object(j));
    return j;
}

static const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* bearer_jwt checks authorization is "Bearer <jwt>" signed by key and returns it decoded. */
static jwt_t *bearer_jwt(const char *authorization, const char *key)
{
    cr_assert_eq(strncmp(authorization, "Bearer ", 7), 0, "%s", authorization);
    const char *tok = authorization + 7;
    int dots = 0;
    for (const char *p = tok; *p; p++) {
        cr_assert(*p != ' ', "one token, no spaces");
        dots += *p == '.';
    }
    cr_assert_eq(dots, 2, "header.payload.signature");
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_decode(&jwt, tok, (const unsigned char *)key, (int)strlen(key)), 0,
                 "signed with the secret");
    cr_assert_not_null(jwt);
    return jwt;
}

static void expect_notify_jwt(const char *authorization, long iat)
{
    jwt_t *jwt = bearer_jwt(authorization, SECRET);
    cr_assert_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
    cr_assert_str_eq(jwt_get_grant(jwt, "iss"), SERVICE_ID);
    cr_assert_eq(jwt_get_grant_int(jwt, "iat"), iat);
    jwt_free(jwt);

    /* The same token does not verify under another key. */
    jwt_t *other = NULL;
    const char *wrong = "3d844edf-8d35-48ac-975b-e847b4f122b1";
    cr_assert_neq(
        jwt_decode(&other, authorization + 7, (const unsigned char *)wrong, (int)strlen(wrong)), 0);
    jwt_free(other);
    other = NULL;
    cr_assert_neq(jwt_decode(&other, authorization + 7, (const unsigned char *)SERVICE_ID,
                             (int)strlen(SERVICE_ID)),
                  0, "the service id is not the key");
    jwt_free(other);
}

/* copy returns s[0..len) in a buffer of exactly len bytes, no NUL, so ASan sees any over-read. */
static char *copy(const char *s, size_t len)
{
    char *b = malloc(len ? len : 1);
    cr_assert_not_null(b);
    memcpy(b, s, len);
    return b;
}

static gateway_verdict_t read_send(const gateway_t *g, long status, int sent,
                                   const char *retry_after, const char *body, gateway_result_t *out)
{
    size_t len = body ? strlen(body) : 0;
    char *b = body ? copy(body, len) : NULL;
    gateway_verdict_t v = gateway_read_send(g, status, sent, retry_after, b, len, out);
    free(b);
    return v;
}

static gateway_verdict_t read_lookup(const gateway_t *g, const gateway_message_t *m, long status,
                                     const char *body, gateway_result_t *out)
{
    size_t len = strlen(body);
    char *b = copy(body, len);
    gateway_verdict_t v = gateway_read_lookup(g, m, status, b, len, out);
    free(b);
    return v;
}

static rc_err_t notify_receipt(const char *body, gateway_receipt_t *out)
{
    size_t len = strlen(body);
    char *b = copy(body, len);
    rc_err_t err = gateway_notify_receipt(b, len, out);
    free(b);
    return err;
}

static rc_err_t twilio_receipt(const char *body, gateway_receipt_t *out)
{
    size_t len = strlen(body);
    char *b = copy(body, len);
    rc_err_t err = gateway_twilio_receipt(b, len, out);
    free(b);
    return err;
}

/* ---- names ---- */

Test(gateway, names)
{
    cr_assert_str_eq(gateway_name(GATEWAY_NOTIFY), "notify");
    cr_assert_str_eq(gateway_name(GATEWAY_TWILIO), "twilio");
    cr_assert_str_eq(gateway_name(GATEWAY_WEBHOOK), "webhook");
    cr_assert_str_eq(gateway_name(GATEWAY_NONE), "none");
    cr_assert_str_eq(gateway_name((gateway_kind_t)42), "none");
}

/* ---- Notify API keys ---- */

Test(gateway, notify_key_splits)
{
    gateway_t g;
    memset(&g, 0, sizeof g);
    char why[GATEWAY_WHY_MAX] = "";
    cr_assert_eq(gateway_notify_key(&g, "rollcall_live-" SERVICE_ID "-" SECRET, why), RC_OK);
    cr_assert_str_eq(g.service_id, SERVICE_ID);
    cr_assert_str_eq(g.secret, SECRET);
}

Test(gateway, notify_key_name_with_dashes)
{
    const char *keys[] = {
        "my-school-live-key-" SERVICE_ID "-" SECRET,
        "-a-" SERVICE_ID "-" SECRET,
        "x-" SERVICE_ID "-" SECRET, /* the shortest name */
        /* A name that itself looks like a uuid. */
        SECRET "-" SERVICE_ID "-" SECRET,
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        gateway_t g;
        memset(&g, 0, sizeof g);
        char why[GATEWAY_WHY_MAX] = "";
        cr_assert_eq(gateway_notify_key(&g, keys[i], why), RC_OK, "key %zu", i);
        cr_assert_str_eq(g.service_id, SERVICE_ID, "key %zu", i);
        cr_assert_str_eq(g.secret, SECRET, "key %zu", i);
    }
    /* Upper-case hex is hex. */
    gateway_t g;
    memset(&g, 0, sizeof g);
    char why[GATEWAY_WHY_MAX] = "";
    cr_assert_eq(gateway_notify_key(&g,
                                    "k-26785A09-AB16-4EB0-8407-A37497A57506-"
                                    "3D844EDF-8D35-48AC-975B-E847B4F122B0",
                                    why),
                 RC_OK);
    cr_assert_str_eq(g.secret, "3D844EDF-8D35-48AC-975B-E847B4F122B0");
}

Test(gateway, notify_key_refused)
{
    const char *keys[] = {
        "",
        "rollcall_live",
        SERVICE_ID "-" SECRET,                  /* no name */
        "-" SERVICE_ID "-" SECRET,              /* empty name */
        "rollcall_live-" SERVICE_ID,            /* one uuid */
        "rollcall_live-" SERVICE_ID SECRET,     /* no dash between uuids */
        "rollcall_live" SERVICE_ID "-" SECRET,  /* no dash after the name */
        "rollcall_live_" SERVICE_ID "-" SECRET, /* '_' for the dash */
        "rollcall_live-" SERVICE_ID "-3d844edf-8d35-48ac-975b-e847b4f122bg", /* 'g' */
        "rollcall_live-26785a09-ab16-4eb0-8407-a37497a5750z-" SECRET,        /* 'z' */
        "rollcall_live-" SERVICE_ID "-3d844edf8-d35-48ac-975b-e847b4f122b0", /* dash moved */
        "rollcall_live-26785a09_ab16-4eb0-8407-a37497a57506-" SECRET,        /* '_' in uuid */
        "rollcall_live-" SERVICE_ID "-" SECRET "\n",                         /* trailing newline */
        "rollcall_live-" SERVICE_ID "-" SECRET " ",                          /* trailing space */
        "rollcall_live-" SERVICE_ID "-3d844edf-8d35-48ac-975b-e847b4f122b",  /* short secret */
        "rollcall_live-" SERVICE_ID "-" SECRET "0",                          /* long secret */
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        gateway_t g;
        memset(&g, 0, sizeof g);
        char why[GATEWAY_WHY_MAX] = "";
        cr_assert_eq(gateway_notify_key(&g, keys[i], why), RC_EINVAL, "key %zu", i);
        cr_assert_neq(why[0], '\0', "key %zu: why is set", i);
        cr_assert_eq(g.service_id[0], '\0', "key %zu: nothing taken", i);
        cr_assert_eq(g.secret[0], '\0', "key %zu: nothing taken", i);
        /* The reason quotes neither the key nor any part of it. */
        cr_assert_null(strstr(why, "rollcall_live"), "key %zu: %s", i, why);
        cr_assert_null(strstr(why, "26785a09"), "key %zu: %s", i, why);
        cr_assert_null(strstr(why, "3d844edf"), "key %zu: %s", i, why);
        cr_assert_null(strstr(why, "e847b4f122b"), "key %zu: %s", i, why);
        cr_assert_lt(strlen(why), GATEWAY_WHY_MAX);
    }
}

Test(gateway, wipe_zeroes_secrets_only)
{
    gateway_t g = notify_gateway("https://api.notifications.service.gov.uk");
    snprintf(g.auth_token, sizeof g.auth_token, "tok3n");
    snprintf(g.token, sizeof g.token, "webhook-token");
    gateway_wipe(&g);
    static const char zero[GATEWAY_SECRET_MAX];
    cr_assert_eq(memcmp(g.secret, zero, sizeof g.secret), 0);
    cr_assert_eq(memcmp(g.auth_token, zero, sizeof g.auth_token), 0);
    cr_assert_eq(memcmp(g.token, zero, sizeof g.token), 0);
    cr_assert_str_eq(g.service_id, SERVICE_ID, "not a secret");
    cr_assert_str_eq(g.base_url, "https://api.notifications.service.gov.uk");
}

/* ---- Notify sends ---- */

static void expect_personalisation(json_t *body)
{
    json_t *p = json_object_get(body, "personalisation");
    cr_assert(json_is_object(p));
    cr_assert_eq(json_object_size(p), sizeof fields / sizeof *fields);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        cr_assert_str_eq(jstr(p, fields[i].name), fields[i].value, "%s", fields[i].name);
}

Test(gateway, notify_sms_request)
{
    gateway_t g = notify_gateway("https://api.notifications.service.gov.uk");
    gateway_message_t m = sms("not sent to Notify");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX] = "x";
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK, "%s", why);
    cr_assert_str_eq(req.method, "POST");
    cr_assert_str_eq(req.url, "https://api.notifications.service.gov.uk/v2/notifications/sms");
    cr_assert_str_eq(req.content_type, "application/json");

    json_t *b = body_json(&req);
    cr_assert_eq(json_object_size(b), 4, "%s", req.body);
    cr_assert_str_eq(jstr(b, "phone_number"), NUMBER);
    cr_assert_null(json_object_get(b, "email_address"));
    cr_assert_str_eq(jstr(b, "template_id"), TEMPLATE);
    cr_assert_str_eq(jstr(b, "reference"), REFERENCE);
    expect_personalisation(b);
    json_decref(b);

    expect_notify_jwt(req.authorization, NOW_IAT);
    gateway_request_free(&req);
    cr_assert_null(req.body);
    cr_assert_eq(req.len, 0);
    gateway_request_free(&req); /* twice is harmless */
}

Test(gateway, notify_email_request)
{
    gateway_t g = notify_gateway("https://notify.example.test/");
    gateway_message_t m = email();
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK, "%s", why);
    cr_assert_str_eq(req.method, "POST");
    cr_assert_str_eq(req.url, "https://notify.example.test/v2/notifications/email",
                     "one slash after a base with a trailing slash");
    cr_assert_str_eq(req.content_type, "application/json");

    json_t *b = body_json(&req);
    cr_assert_eq(json_object_size(b), 4, "%s", req.body);
    cr_assert_str_eq(jstr(b, "email_address"), ADDRESS);
    cr_assert_null(json_object_get(b, "phone_number"));
    cr_assert_str_eq(jstr(b, "template_id"), TEMPLATE);
    cr_assert_str_eq(jstr(b, "reference"), REFERENCE);
    expect_personalisation(b);
    json_decref(b);

    expect_notify_jwt(req.authorization, NOW_IAT);
    gateway_request_free(&req);
}

Test(gateway, notify_base_url_slashes)
{
    const char *bases[] = {"https://n.test", "https://n.test/", "https://n.test//"};
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        gateway_t g = notify_gateway(bases[i]);
        gateway_message_t m = sms("x");
        gateway_request_t req;
        char why[GATEWAY_WHY_MAX];
        cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
        cr_assert_str_eq(req.url, "https://n.test/v2/notifications/sms", "%s", bases[i]);
        gateway_request_free(&req);
    }
}

Test(gateway, notify_no_personalisation)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_message_t m = sms("x");
    m.fields = NULL;
    m.nfields = 0;
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
    json_t *b = body_json(&req);
    json_t *p = json_object_get(b, "personalisation");
    cr_assert(json_is_object(p), "an empty object, which Notify accepts");
    cr_assert_eq(json_object_size(p), 0);
    json_decref(b);
    gateway_request_free(&req);
}

Test(gateway, notify_jwt_is_fresh)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_message_t m = sms("x");
    gateway_request_t a, b;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &a, why), RC_OK);
    cr_assert_eq(gateway_send_request(&g, &m, NOW + 31 * RC_USEC_PER_SEC, &b, why), RC_OK);
    cr_assert_str_neq(a.authorization, b.authorization);
    expect_notify_jwt(b.authorization, NOW_IAT + 31);
    gateway_request_free(&a);
    gateway_request_free(&b);
}

Test(gateway, notify_needs_template_id)
{
    gateway_t g = notify_gateway("https://n.test");
    const char *ids[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        gateway_message_t m = i ? email() : sms("x");
        m.template_id = ids[i];
        gateway_request_t req;
        char why[GATEWAY_WHY_MAX] = "";
        cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_EINVAL);
        cr_assert_not_null(strstr(why, "template id"), "%s", why);
        cr_assert_not_null(strstr(why, i ? "email" : "sms"), "%s", why);
        cr_assert_null(strstr(why, i ? ADDRESS : NUMBER));
        cr_assert_null(req.body, "nothing to free");
        gateway_request_free(&req);
    }
}

Test(gateway, no_gateway)
{
    gateway_t g;
    memset(&g, 0, sizeof g);
    gateway_message_t m = sms("x");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX] = "";
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_EINVAL);
    cr_assert_not_null(strstr(why, "no gateway"), "%s", why);
    cr_assert_null(req.body);
}

/* ---- Twilio sends ---- */

Test(gateway, twilio_form_body)
{
    gateway_t g = twilio_gateway("");
    gateway_message_t m = sms("Zoë & Ann = 100% a+b/c?\nok~_.-");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK, "%s", why);
    cr_assert_str_eq(req.method, "POST");
    cr_assert_str_eq(req.url, "https://api.twilio.com/2010-04-01/Accounts/" SID "/Messages.json");
    cr_assert_str_eq(req.content_type, "application/x-www-form-urlencoded");
    cr_assert_str_eq(req.body, "To=%2B447700900123&From=%2B447700900000"
                               "&Body=Zo%C3%AB%20%26%20Ann%20%3D%20100%25%20a%2Bb%2Fc%3F%0Aok~_.-");
    cr_assert_eq(req.len, strlen(req.body));
    cr_assert_null(strstr(req.body, "StatusCallback"), "none configured");
    /* base64("AC0123456789abcdef0123456789abcdef:tok3n") */
    cr_assert_str_eq(req.authorization,
                     "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2szbg==");
    gateway_request_free(&req);
}

Test(gateway, twilio_alphanumeric_sender_and_no_text)
{
    gateway_t g = twilio_gateway("");
    snprintf(g.from, sizeof g.from, "St Marys");
    gateway_message_t m = sms(NULL);
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
    cr_assert_str_eq(req.body, "To=%2B447700900123&From=St%20Marys&Body=");
    gateway_request_free(&req);
}

Test(gateway, twilio_status_callback)
{
    struct {
        const char *callback, *encoded;
    } cases[] = {
        {"https://rc.example/receipts/twilio",
         "https%3A%2F%2Frc.example%2Freceipts%2Ftwilio%3Fref%3Dev-0001%3Ac2.sms"},
        {"https://rc.example/r?school=123",
         "https%3A%2F%2Frc.example%2Fr%3Fschool%3D123%26ref%3Dev-0001%3Ac2.sms"},
    };
    for (size_t i = 0; i < 2; i++) {
        gateway_t g = twilio_gateway(cases[i].callback);
        gateway_message_t m = sms("Hi");
        gateway_request_t req;
        char why[GATEWAY_WHY_MAX];
        cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
        char want[1024];
        snprintf(want, sizeof want,
                 "To=%%2B447700900123&From=%%2B447700900000&Body=Hi&StatusCallback=%s",
                 cases[i].encoded);
        cr_assert_str_eq(req.body, want);
        gateway_request_free(&req);
    }
}

Test(gateway, twilio_long_text)
{
    /* Every byte encoded three-fold: the buffer must grow to fit. */
    char text[1601];
    for (size_t i = 0; i < 1600; i++)
        text[i] = '&';
    text[1600] = '\0';
    gateway_t g = twilio_gateway("https://rc.example/receipts/twilio");
    gateway_message_t m = sms(text);
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
    const char *b = strstr(req.body, "&Body=");
    cr_assert_not_null(b);
    b += 6;
    for (size_t i = 0; i < 1600; i++)
        cr_assert_eq(strncmp(b + 3 * i, "%26", 3), 0, "at %zu", i);
    cr_assert_eq(strncmp(b + 4800, "&StatusCallback=", 16), 0);
    cr_assert_eq(req.len, strlen(req.body));
    gateway_request_free(&req);
}

Test(gateway, twilio_refuses_email)
{
    gateway_t g = twilio_gateway("");
    gateway_message_t m = email();
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX] = "";
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_EINVAL);
    cr_assert_not_null(strstr(why, "email"), "%s", why);
    cr_assert_null(strstr(why, ADDRESS));
    cr_assert_null(req.body);
}

/* ---- webhook sends ---- */

Test(gateway, webhook_sms)
{
    gateway_t g = webhook_gateway("s3cret-token");
    gateway_message_t m = sms("Zoë was absent today.");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
    cr_assert_str_eq(req.method, "POST");
    cr_assert_str_eq(req.url, "https://hooks.example.org/rollcall/", "the URL as configured");
    cr_assert_str_eq(req.content_type, "application/json");
    cr_assert_str_eq(req.authorization, "Bearer s3cret-token");
    json_t *b = body_json(&req);
    cr_assert_str_eq(jstr(b, "reference"), REFERENCE);
    cr_assert_str_eq(jstr(b, "channel"), "sms");
    cr_assert_str_eq(jstr(b, "to"), NUMBER);
    cr_assert_str_eq(jstr(b, "text"), "Zoë was absent today.");
    cr_assert_null(jstr(b, "subject"), "no subject for an SMS");
    cr_assert_null(jstr(b, "html"));
    cr_assert_null(json_object_get(b, "template_id"), "Notify's alone");
    json_decref(b);
    gateway_request_free(&req);
}

Test(gateway, webhook_email_without_token)
{
    gateway_t g = webhook_gateway("");
    gateway_message_t m = email();
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX];
    cr_assert_eq(gateway_send_request(&g, &m, NOW, &req, why), RC_OK);
    cr_assert_str_eq(req.authorization, "", "no token, no header");
    json_t *b = body_json(&req);
    cr_assert_str_eq(jstr(b, "reference"), REFERENCE);
    cr_assert_str_eq(jstr(b, "channel"), "email");
    cr_assert_str_eq(jstr(b, "to"), ADDRESS);
    cr_assert_str_eq(jstr(b, "subject"), "Attendance at St Mary's");
    cr_assert_str_eq(jstr(b, "text"), "Zoë missed 4 sessions.");
    cr_assert_str_eq(jstr(b, "html"), "<p>Zoë missed 4 sessions.</p>");
    json_decref(b);
    gateway_request_free(&req);
}

/* ---- lookups ---- */

Test(gateway, notify_lookup_request)
{
    gateway_t g = notify_gateway("https://api.notifications.service.gov.uk/");
    gateway_message_t m = sms("x");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX] = "";
    rc_time_t later = NOW + 600 * RC_USEC_PER_SEC;
    cr_assert_eq(gateway_lookup_request(&g, &m, later, NOW, &req, why), RC_OK, "%s", why);
    cr_assert_str_eq(req.method, "GET");
    cr_assert_str_eq(req.url, "https://api.notifications.service.gov.uk/v2/notifications"
                              "?reference=" REFERENCE);
    cr_assert_null(req.body);
    expect_notify_jwt(req.authorization, NOW_IAT + 600); /* iat is now, not since */
    cr_assert_null(strstr(req.url, "447700"), "no number in a Notify lookup");
    gateway_request_free(&req);
}

Test(gateway, twilio_lookup_request)
{
    gateway_t g = twilio_gateway("https://rc.example/receipts/twilio");
    gateway_message_t m = sms("Hi");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX] = "";
    /* No date filter: a text Twilio still queues has no sent date. */
    rc_time_t since = INT64_C(1709683199) * RC_USEC_PER_SEC;
    cr_assert_eq(gateway_lookup_request(&g, &m, since + RC_USEC_PER_SEC, since, &req, why), RC_OK);
    cr_assert_str_eq(req.method, "GET");
    cr_assert_str_eq(req.url, "https://api.twilio.com/2010-04-01/Accounts/" SID
                              "/Messages.json?To=%2B447700900123&PageSize=1000");
    cr_assert_str_eq(req.authorization,
                     "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2szbg==");
    cr_assert_null(req.body);
    gateway_request_free(&req);
}

Test(gateway, webhook_has_no_lookup)
{
    gateway_t g = webhook_gateway("t");
    gateway_message_t m = sms("x");
    gateway_request_t req;
    char why[GATEWAY_WHY_MAX] = "";
    cr_assert_eq(gateway_lookup_request(&g, &m, NOW, NOW, &req, why), RC_ENOTFOUND);
    cr_assert_not_null(strstr(why, "webhook"), "%s", why);
    cr_assert_null(req.body);
}

/* ---- reading sends ---- */

Test(gateway, read_send_created)
{
    gateway_result_t r;
    gateway_t n = notify_gateway("https://n.test");
    cr_assert_eq(
        read_send(&n, 201, 1, NULL,
                  "{\"id\":\"740e5834-3a29-46b4-9a6f-16142fde533a\",\"reference\":\"" REFERENCE
                  "\",\"content\":{\"body\":\"Hi\"}}",
                  &r),
        GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "740e5834-3a29-46b4-9a6f-16142fde533a");
    cr_assert_str_eq(r.error, "");
    cr_assert_eq(r.retry_after_ms, 0);

    gateway_t t = twilio_gateway("");
    cr_assert_eq(read_send(&t, 201, 1, NULL,
                           "{\"sid\":\"SM1234567890abcdef1234567890abcdef\",\"id\":\"nope\","
                           "\"status\":\"queued\"}",
                           &r),
                 GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "SM1234567890abcdef1234567890abcdef", "Twilio's id is its sid");

    gateway_t w = webhook_gateway("");
    cr_assert_eq(read_send(&w, 200, 1, NULL, "{\"id\":\"w-1\"}", &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "w-1");
    cr_assert_eq(read_send(&w, 202, 1, NULL, NULL, &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(read_send(&w, 204, 1, NULL, "", &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "");
}

Test(gateway, read_send_2xx_without_json)
{
    gateway_result_t r;
    gateway_t n = notify_gateway("https://n.test");
    cr_assert_eq(read_send(&n, 201, 1, NULL, "<html>Created</html>", &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(read_send(&n, 200, 1, NULL, "{\"id\":42}", &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "", "a non-string id is no id");
    cr_assert_eq(read_send(&n, 200, 1, NULL, "[\"id\"]", &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "");

    /* An id too long for a reference is dropped, not cut. */
    char body[400];
    char id[CODEC_KEY_MAX + 2];
    memset(id, 'a', CODEC_KEY_MAX + 1);
    id[CODEC_KEY_MAX + 1] = '\0';
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    cr_assert_eq(read_send(&n, 201, 1, NULL, body, &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "");
    id[CODEC_KEY_MAX] = '\0';
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    cr_assert_eq(read_send(&n, 201, 1, NULL, body, &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, id, "exactly CODEC_KEY_MAX fits");
}

Test(gateway, read_send_notify_validation_error)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_result_t r;
    cr_assert_eq(read_send(&g, 400, 1, NULL,
                           "{\"errors\":[{\"error\":\"ValidationError\",\"message\":"
                           "\"phone_number Not a UK mobile number\"}],\"status_code\":400}",
                           &r),
                 GATEWAY_PERMANENT);
    cr_assert_not_null(strstr(r.error, "ValidationError"), "%s", r.error);
    cr_assert_not_null(strstr(r.error, "400"), "%s", r.error);
    cr_assert_not_null(strstr(r.error, "Not a UK mobile number"), "%s", r.error);
    cr_assert_null(strstr(r.error, "447700"), "%s", r.error);
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(r.retry_after_ms, 0);

    /* Only the first error is named; the text stays within bounds. */
    char body[2048];
    char msg[1001];
    memset(msg, 'm', 1000);
    msg[1000] = '\0';
    snprintf(body, sizeof body,
             "{\"errors\":[{\"error\":\"BadRequestError\",\"message\":\"%s\"},"
             "{\"error\":\"ValidationError\",\"message\":\"second\"}]}",
             msg);
    cr_assert_eq(read_send(&g, 400, 1, NULL, body, &r), GATEWAY_PERMANENT);
    cr_assert_eq(strncmp(r.error, "GOV.UK Notify 400 BadRequestError: ", 35), 0, "%s", r.error);
    cr_assert_lt(strlen(r.error), sizeof r.error);
    cr_assert_null(strstr(r.error, "second"));
}

Test(gateway, read_send_notify_error_is_printable)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_result_t r;
    cr_assert_eq(read_send(&g, 400, 1, NULL,
                           "{\"errors\":[{\"error\":\"ValidationError\",\"message\":"
                           "\"bad field\\nsecond line\\u0007\"}]}",
                           &r),
                 GATEWAY_PERMANENT);
    cr_assert_str_eq(r.error, "GOV.UK Notify 400 ValidationError: bad field");
    for (const char *p = r.error; *p; p++)
        cr_assert_geq((unsigned char)*p, 0x20);
}

Test(gateway, read_send_notify_auth_errors)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_result_t r;
    cr_assert_eq(read_send(&g, 403, 1, NULL,
                           "{\"errors\":[{\"error\":\"AuthError\",\"message\":"
                           "\"Invalid token: API key not found\"}],\"status_code\":403}",
                           &r),
                 GATEWAY_PERMANENT);
    cr_assert_not_null(strstr(r.error, "AuthError"), "%s", r.error);
    cr_assert_not_null(strstr(r.error, "403"), "%s", r.error);
    /* Without Notify's error shape: the status alone. */
    cr_assert_eq(read_send(&g, 401, 1, NULL, "Unauthorized", &r), GATEWAY_PERMANENT);
    cr_assert_str_eq(r.error, "notify answered HTTP 401");
    cr_assert_eq(read_send(&g, 404, 1, NULL, "{\"errors\":[]}", &r), GATEWAY_PERMANENT);
    cr_assert_str_eq(r.error, "notify answered HTTP 404");
    cr_assert_eq(read_send(&g, 400, 1, NULL, "{\"errors\":[{\"message\":\"m\"}]}", &r),
                 GATEWAY_PERMANENT);
    cr_assert_str_eq(r.error, "notify answered HTTP 400");
}

Test(gateway, read_send_twilio_error_hides_number)
{
    gateway_t g = twilio_gateway("");
    gateway_result_t r;
    cr_assert_eq(read_send(&g, 400, 1, NULL,
                           "{\"code\":21211,\"message\":\"The 'To' number +447700900123 is not a "
                           "valid phone number.\",\"more_info\":"
                           "\"https://www.twilio.com/docs/errors/21211\",\"status\":400}",
                           &r),
                 GATEWAY_PERMANENT);
    cr_assert_not_null(strstr(r.error, "21211"), "%s", r.error);
    cr_assert_not_null(strstr(r.error, "400"), "%s", r.error);
    cr_assert_null(strstr(r.error, "447700900123"), "%s", r.error);
    cr_assert_null(strstr(r.error, "To"), "Twilio's message is not copied: %s", r.error);

    cr_assert_eq(read_send(&g, 401, 1, NULL, "{\"code\":20003,\"message\":\"Authenticate\"}", &r),
                 GATEWAY_PERMANENT);
    cr_assert_not_null(strstr(r.error, "20003"), "%s", r.error);
    cr_assert_eq(read_send(&g, 403, 1, NULL, "forbidden", &r), GATEWAY_PERMANENT);
    cr_assert_str_eq(r.error, "twilio answered HTTP 403");
}

Test(gateway, read_send_other_statuses_are_permanent)
{
    gateway_t g = webhook_gateway("");
    gateway_result_t r;
    long codes[] = {400, 401, 403, 404, 409, 410, 413, 422, 499};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        cr_assert_eq(read_send(&g, codes[i], 1, "5", "{}", &r), GATEWAY_PERMANENT, "%ld", codes[i]);
        cr_assert_eq(r.retry_after_ms, 0, "Retry-After only matters for a retry");
        char want[64];
        snprintf(want, sizeof want, "webhook answered HTTP %ld", codes[i]);
        cr_assert_str_eq(r.error, want);
    }
}

Test(gateway, read_send_retries)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_result_t r;
    cr_assert_eq(read_send(&g, 429, 1, "7",
                           "{\"errors\":[{\"error\":\"RateLimitError\",\"message\":"
                           "\"Exceeded rate limit for key type LIVE of 3000 requests per 60 "
                           "seconds\"}],\"status_code\":429}",
                           &r),
                 GATEWAY_RETRY);
    cr_assert_eq(r.retry_after_ms, 7000);
    cr_assert_not_null(strstr(r.error, "RateLimitError"), "%s", r.error);

    cr_assert_eq(read_send(&g, 429, 1, NULL, NULL, &r), GATEWAY_RETRY);
    cr_assert_eq(r.retry_after_ms, 0, "no header: the caller's backoff");
    cr_assert_eq(read_send(&g, 503, 1, "120", "Service Unavailable", &r), GATEWAY_RETRY);
    cr_assert_eq(r.retry_after_ms, 120000);
    cr_assert_str_eq(r.error, "notify answered HTTP 503");
    cr_assert_eq(read_send(&g, 500, 1, NULL,
                           "{\"errors\":[{\"error\":\"Exception\",\"message\":\"Internal server "
                           "error\"}],\"status_code\":500}",
                           &r),
                 GATEWAY_RETRY);
    cr_assert_eq(r.retry_after_ms, 0);
    cr_assert_not_null(strstr(r.error, "500"), "%s", r.error);
    cr_assert_eq(read_send(&g, 502, 1, NULL, "", &r), GATEWAY_RETRY);
    cr_assert_eq(read_send(&g, 504, 1, NULL, "", &r), GATEWAY_RETRY);
}

Test(gateway, read_send_retry_after_shapes)
{
    gateway_t g = twilio_gateway("");
    gateway_result_t r;
    struct {
        const char *header;
        uint32_t ms;
    } cases[] = {
        {"0", 0},
        {"1", 1000},
        {"3600", 3600000},
        {"3601", 0}, /* absurd: the caller's backoff */
        {"99999999999999999999", 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", 0}, /* an HTTP date: not read */
        {"", 0},
        {"abc", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(read_send(&g, 429, 1, cases[i].header, "{}", &r), GATEWAY_RETRY);
        cr_assert_eq(r.retry_after_ms, cases[i].ms, "'%s' -> %u", cases[i].header,
                     (unsigned)r.retry_after_ms);
    }
}

Test(gateway, read_send_transport_failures)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_result_t r;
    cr_assert_eq(read_send(&g, 0, 0, NULL, NULL, &r), GATEWAY_RETRY, "never left: resend");
    cr_assert_neq(r.error[0], '\0');
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(read_send(&g, 0, 1, NULL, NULL, &r), GATEWAY_UNKNOWN, "may have arrived");
    cr_assert_neq(r.error[0], '\0');
    cr_assert_str_eq(r.ref, "");
    /* Whatever the partial body says. */
    cr_assert_eq(read_send(&g, 0, 1, "5", "{\"id\":\"x\"}", &r), GATEWAY_UNKNOWN);
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(r.retry_after_ms, 0);
}

/* ---- reading lookups ---- */

Test(gateway, notify_lookup_found)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_message_t m = sms("x");
    gateway_result_t r;
    cr_assert_eq(read_lookup(&g, &m, 200,
                             "{\"notifications\":[{\"id\":\"aaaa\",\"reference\":\"other\"},"
                             "{\"id\":\"bbbb\",\"reference\":null},"
                             "{\"id\":\"cccc\",\"reference\":\"" REFERENCE
                             "\",\"status\":\"delivered\"}],"
                             "\"links\":{\"current\":\"https://n.test/v2/notifications\"}}",
                             &r),
                 GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "cccc");
}

Test(gateway, notify_lookup_not_there)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_message_t m = sms("x");
    gateway_result_t r;
    cr_assert_eq(read_lookup(&g, &m, 200,
                             "{\"notifications\":[{\"id\":\"aaaa\",\"reference\":\"" REFERENCE
                             "x\"},{\"id\":\"bbbb\",\"reference\":\"ev-0001\"}]}",
                             &r),
                 GATEWAY_PERMANENT, "a prefix or an extension is another reference");
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(read_lookup(&g, &m, 200, "{\"notifications\":[],\"links\":{}}", &r),
                 GATEWAY_PERMANENT);
}

Test(gateway, lookup_failures_retry)
{
    gateway_t g = notify_gateway("https://n.test");
    gateway_message_t m = sms("x");
    gateway_result_t r;
    long codes[] = {0, 201, 400, 403, 404, 429, 500};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        cr_assert_eq(
            read_lookup(&g, &m, codes[i],
                        "{\"notifications\":[{\"id\":\"c\",\"reference\":\"" REFERENCE "\"}]}", &r),
            GATEWAY_RETRY, "%ld", codes[i]);
        cr_assert_neq(r.error[0], '\0');
        cr_assert_str_eq(r.ref, "");
    }
    const char *garbage[] = {"",
                             "not json",
                             "{\"notifications\":{}}",
                             "{\"messages\":[]}",
                             "[]",
                             "{\"notifications\":\"x\"}"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        cr_assert_eq(read_lookup(&g, &m, 200, garbage[i], &r), GATEWAY_RETRY, "'%s'", garbage[i]);
        cr_assert_neq(r.error[0], '\0');
    }
}

Test(gateway, twilio_lookup_matches_number_and_body)
{
    gateway_t g = twilio_gateway("");
    gateway_message_t m = sms("Zoë was absent today.");
    gateway_result_t r;
    const char *found = "{\"messages\":["
                        "{\"sid\":\"SM1\",\"to\":\"+447700900999\",\"body\":\"Zoë was absent "
                        "today.\"},"
                        "{\"sid\":\"SM2\",\"to\":\"+447700900123\",\"body\":\"Other text\"},"
                        "{\"sid\":\"SM3\",\"to\":\"+447700900123\",\"body\":\"Zoë was absent "
                        "today.\",\"status\":\"delivered\"}],\"page\":0}";
    cr_assert_eq(read_lookup(&g, &m, 200, found, &r), GATEWAY_SENT);
    cr_assert_str_eq(r.ref, "SM3");

    const char *other = "{\"messages\":["
                        "{\"sid\":\"SM2\",\"to\":\"+447700900123\",\"body\":\"Zoë was absent "
                        "today\"},"
                        "{\"sid\":\"SM4\",\"to\":\"+447700900123\"},"
                        "{\"sid\":\"SM5\",\"body\":\"Zoë was absent today.\"}]}";
    cr_assert_eq(read_lookup(&g, &m, 200, other, &r), GATEWAY_PERMANENT);
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(read_lookup(&g, &m, 200, "{\"messages\":[]}", &r), GATEWAY_PERMANENT);
    cr_assert_eq(read_lookup(&g, &m, 200, "{\"notifications\":[]}", &r), GATEWAY_RETRY,
                 "Twilio's list is messages");
    cr_assert_eq(read_lookup(&g, &m, 503, found, &r), GATEWAY_RETRY);

    /* A message without text never matches. */
    gateway_message_t none = sms(NULL);
    cr_assert_eq(read_lookup(&g, &none, 200, found, &r), GATEWAY_PERMANENT);
}

/* ---- receipts ---- */

static const char *notify_callback(char *buf, size_t cap, const char *status)
{
    snprintf(buf, cap,
             "{\"id\":\"740e5834-3a29-46b4-9a6f-16142fde533a\",\"reference\":\"" REFERENCE
             "\",\"to\":\"07700900123\",\"status\":\"%s\","
             "\"created_at\":\"2024-03-05T10:15:00.000000Z\","
             "\"completed_at\":\"2024-03-05T10:15:03.000000Z\","
             "\"sent_at\":\"2024-03-05T10:15:01.000000Z\",\"notification_type\":\"sms\","
             "\"template_id\":\"" TEMPLATE "\",\"template_version\":1}",
             status);
    return buf;
}

Test(gateway, notify_receipts)
{
    struct {
        const char *status;
        delivery_status_t want;
        const char *error;
    } cases[] = {
        {"delivered", DELIVERY_DELIVERED, ""},
        {"permanent-failure", DELIVERY_FAILED_PERMANENT, "GOV.UK Notify: permanent-failure"},
        {"temporary-failure", DELIVERY_FAILED_TEMPORARY, "GOV.UK Notify: temporary-failure"},
        {"technical-failure", DELIVERY_FAILED_TEMPORARY, "GOV.UK Notify: technical-failure"},
        {"sending", DELIVERY_SENT, ""},
        {"sent", DELIVERY_SENT, ""},
        {"created", DELIVERY_SENT, ""},
        {"pending", DELIVERY_SENT, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[1024];
        gateway_receipt_t rc;
        cr_assert_eq(notify_receipt(notify_callback(buf, sizeof buf, cases[i].status), &rc), RC_OK);
        cr_assert_str_eq(rc.id, "740e5834-3a29-46b4-9a6f-16142fde533a");
        cr_assert_str_eq(rc.reference, REFERENCE);
        cr_assert_eq(rc.status, cases[i].want, "%s", cases[i].status);
        cr_assert_str_eq(rc.error, cases[i].error);
        cr_assert_null(strstr(rc.error, "07700"));
    }
}

Test(gateway, notify_receipt_refused)
{
    const char *bad[] = {
        "",
        "not json",
        "[]",
        "{\"reference\":\"r\",\"status\":\"delivered\"}", /* no id */
        "{\"id\":null,\"reference\":\"r\",\"status\":\"delivered\"}",
        "{\"id\":7,\"reference\":\"r\",\"status\":\"delivered\"}",
        "{\"id\":\"abc\",\"reference\":\"r\"}", /* no status */
        "{\"id\":\"abc\",\"reference\":\"r\",\"status\":3}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        gateway_receipt_t rc;
        cr_assert_eq(notify_receipt(bad[i], &rc), RC_EPARSE, "'%s'", bad[i]);
    }

    /* Too long for our fields: refused, not cut. */
    char id[CODEC_KEY_MAX + 2], body[512];
    memset(id, 'a', CODEC_KEY_MAX + 1);
    id[CODEC_KEY_MAX + 1] = '\0';
    gateway_receipt_t rc;
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"status\":\"delivered\"}", id);
    cr_assert_eq(notify_receipt(body, &rc), RC_EPARSE);
    snprintf(body, sizeof body, "{\"id\":\"a\",\"reference\":\"%s\",\"status\":\"delivered\"}", id);
    cr_assert_eq(notify_receipt(body, &rc), RC_EPARSE);
}

Test(gateway, notify_receipt_without_reference)
{
    gateway_receipt_t rc;
    cr_assert_eq(
        notify_receipt("{\"id\":\"abc\",\"reference\":null,\"status\":\"delivered\"}", &rc), RC_OK);
    cr_assert_str_eq(rc.id, "abc");
    cr_assert_str_eq(rc.reference, "");
    cr_assert_eq(rc.status, DELIVERY_DELIVERED);
}

Test(gateway, twilio_receipts)
{
    struct {
        const char *body;
        delivery_status_t want;
        const char *error;
    } cases[] = {
        {"SmsSid=SM1&SmsStatus=delivered&MessageStatus=delivered&To=%2B447700900123"
         "&MessageSid=SM1&AccountSid=" SID "&From=%2B447700900000&ApiVersion=2010-04-01",
         DELIVERY_DELIVERED, ""},
        {"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003&To=%2B447700900123",
         DELIVERY_FAILED_PERMANENT, "Twilio: undelivered, error 30003"},
        {"MessageSid=SM1&MessageStatus=failed&ErrorCode=30008", DELIVERY_FAILED_PERMANENT,
         "Twilio: failed, error 30008"},
        {"MessageSid=SM1&MessageStatus=failed", DELIVERY_FAILED_PERMANENT, "Twilio: failed"},
        {"MessageSid=SM1&MessageStatus=failed&ErrorCode=", DELIVERY_FAILED_PERMANENT,
         "Twilio: failed"},
        {"MessageStatus=sent&MessageSid=SM1", DELIVERY_SENT, ""},
        {"MessageSid=SM1&MessageStatus=queued", DELIVERY_SENT, ""},
        {"MessageSid=SM1&MessageStatus=delivered&ErrorCode=30003", DELIVERY_DELIVERED, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gateway_receipt_t rc;
        cr_assert_eq(twilio_receipt(cases[i].body, &rc), RC_OK, "%s", cases[i].body);
        cr_assert_str_eq(rc.id, "SM1", "%s", cases[i].body);
        cr_assert_str_eq(rc.reference, "", "Twilio's reference is in the callback URL");
        cr_assert_eq(rc.status, cases[i].want, "%s", cases[i].body);
        cr_assert_str_eq(rc.error, cases[i].error);
    }
}

Test(gateway, twilio_receipt_decoding)
{
    gateway_receipt_t rc;
    /* '+' is a space, %XX a byte (either case), a bad or cut escape is kept as it is. */
    cr_assert_eq(twilio_receipt("MessageSid=SM%41b+c%2fd%zz%4&MessageStatus=deliver%65d", &rc),
                 RC_OK);
    cr_assert_str_eq(rc.id, "SMAb c/d%zz%4");
    cr_assert_eq(rc.status, DELIVERY_DELIVERED);

    /* A name is matched whole, not as the end of a longer one. */
    cr_assert_eq(twilio_receipt("SmsMessageSid=SMwrong&XMessageStatus=failed&MessageSid=SMright"
                                "&MessageStatus=sent",
                                &rc),
                 RC_OK);
    cr_assert_str_eq(rc.id, "SMright");
    cr_assert_eq(rc.status, DELIVERY_SENT);

    /* Only len bytes are read. */
    const char *body = "MessageSid=SM1&MessageStatus=delivered";
    char *b = copy(body, strlen(body) - 4);
    cr_assert_eq(gateway_twilio_receipt(b, strlen(body) - 4, &rc), RC_OK);
    free(b);
    cr_assert_eq(rc.status, DELIVERY_SENT, "'deliv' is not delivered");

    /* An over-long id is cut to fit, never overflowing. */
    char big[512] = "MessageStatus=delivered&MessageSid=";
    size_t n = strlen(big);
    memset(big + n, 'S', 300);
    big[n + 300] = '\0';
    cr_assert_eq(twilio_receipt(big, &rc), RC_OK);
    cr_assert_eq(strlen(rc.id), CODEC_KEY_MAX);
}

Test(gateway, twilio_receipt_refused)
{
    const char *bad[] = {
        "",
        "MessageStatus=delivered",
        "MessageSid=SM1",
        "MessageSid&MessageStatus=delivered",
        "messagesid=SM1&messagestatus=delivered",
        "&&&",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        gateway_receipt_t rc;
        cr_assert_eq(twilio_receipt(bad[i], &rc), RC_EPARSE, "'%s'", bad[i]);
    }
}
