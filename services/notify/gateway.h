/* gateway.h - the HTTP requests notify makes of the SMS and email gateways,
 * and how it reads their answers. No I/O: the sender (sender.h) moves the
 * bytes with libcurl; this file knows the APIs.
 *
 *  - GOV.UK Notify: POST <base>/v2/notifications/sms and /email with a JSON
 *    body (template_id, personalisation, reference = our idempotency key)
 *    and a fresh JWT per request (HS256, iss = the service id, iat = now,
 *    signed with the key's secret); lookups GET
 *    /v2/notifications?reference=<key>.
 *  - Twilio: POST <base>/2010-04-01/Accounts/<sid>/Messages.json, form
 *    encoded (To, From, Body, StatusCallback), basic auth sid:token; Twilio
 *    has no client reference, so a lookup lists the newest messages to the
 *    number (queued ones too: no date filter) and matches the text.
 *  - A generic JSON webhook: POST <base> with {reference, channel, to,
 *    text | subject, text, html} and a bearer token.
 *
 * Verdicts: a 2xx is sent; 429, 5xx and transport failures before the
 * request left are retried; 400, 401, 403, 404 and other 4xx are permanent
 * (a bad number, a bad key: shown to the school, never retried); a transport
 * failure after the request may have arrived (timeout, connection dropped)
 * is unknown, and must be reconciled by a lookup before any resend.
 * Error texts returned never hold a number, an address or a name. */
#ifndef ROLLCALL_NOTIFY_GATEWAY_H
#define ROLLCALL_NOTIFY_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/error.h"

#define GATEWAY_URL_MAX    512
#define GATEWAY_SECRET_MAX 256
#define GATEWAY_UUID_LEN   36
#define GATEWAY_WHY_MAX    200

typedef enum { GATEWAY_NONE = 0, GATEWAY_NOTIFY, GATEWAY_TWILIO, GATEWAY_WEBHOOK } gateway_kind_t;

/* One gateway's settings (secrets included: wipe with gateway_wipe). */
typedef struct {
    gateway_kind_t kind;
    char base_url[GATEWAY_URL_MAX];        /* no trailing slash needed */
    char service_id[GATEWAY_UUID_LEN + 1]; /* Notify: from the API key */
    char secret[GATEWAY_UUID_LEN + 1];     /* Notify: from the API key */
    char account_sid[64];                  /* Twilio */
    char auth_token[GATEWAY_SECRET_MAX];   /* Twilio */
    char from[32];                         /* Twilio: sender number or alphanumeric id */
    char token[GATEWAY_SECRET_MAX];        /* webhook bearer token */
    char status_callback[GATEWAY_URL_MAX]; /* Twilio: where receipts go ("" none); ?ref= added */
} gateway_t;

/* gateway_name is "notify", "twilio", "webhook" or "none". */
const char *gateway_name(gateway_kind_t kind);

/* gateway_notify_key reads a GOV.UK Notify API key,
 * "{key_name}-{service id uuid}-{secret uuid}", into g's service_id and
 * secret. RC_EINVAL (why set, never quoting the key) otherwise. */
rc_err_t gateway_notify_key(gateway_t *g, const char *api_key, char why[GATEWAY_WHY_MAX]);

/* gateway_wipe zeroes g's secrets. */
void gateway_wipe(gateway_t *g);

/* A merge field passed to Notify as personalisation. */
typedef struct {
    const char *name;
    const char *value;
} gateway_field_t;

/* One message to one address. */
typedef struct {
    channel_t channel;             /* CHANNEL_SMS or CHANNEL_EMAIL */
    const char *to;                /* E.164 mobile, or an email address */
    const char *reference;         /* the idempotency key: [A-Za-z0-9_.:-], no personal data */
    const char *template_id;       /* Notify: the template's uuid */
    const gateway_field_t *fields; /* Notify: personalisation */
    size_t nfields;
    const char *text;    /* the rendered SMS, or the email's plain text */
    const char *subject; /* email */
    const char *html;    /* email, may be NULL */
} gateway_message_t;

/* A request to make. body is malloc'd (free with gateway_request_free). */
typedef struct {
    char method[8];
    char url[2 * GATEWAY_URL_MAX];
    char content_type[48];    /* "" for none */
    char authorization[1024]; /* the Authorization header's value */
    char *body;
    size_t len;
} gateway_request_t;

void gateway_request_free(gateway_request_t *req);

/* gateway_send_request builds the request that sends m through g at now
 * (the JWT's iat). RC_EINVAL (why set) when m does not suit g (an email to
 * Twilio, a Notify message without a template id...), RC_ENOMEM. */
rc_err_t gateway_send_request(const gateway_t *g, const gateway_message_t *m, rc_time_t now,
                              gateway_request_t *out, char why[GATEWAY_WHY_MAX]);

/* gateway_lookup_request builds the request that finds whether m reached g
 * after an unknown outcome: Notify by reference, Twilio by number and time
 * (since = when the attempt began). For the webhook, which has
 * no lookup (its receiver must deduplicate by reference): RC_ENOTFOUND. */
rc_err_t gateway_lookup_request(const gateway_t *g, const gateway_message_t *m, rc_time_t now,
                                rc_time_t since, gateway_request_t *out, char why[GATEWAY_WHY_MAX]);

typedef enum {
    GATEWAY_SENT = 0,  /* accepted (send), or found (lookup) */
    GATEWAY_RETRY,     /* try again after retry_after_ms (0: the caller's backoff) */
    GATEWAY_PERMANENT, /* refused for good (send); not there (lookup: safe to send) */
    GATEWAY_UNKNOWN,   /* it may have arrived: look it up before any resend */
} gateway_verdict_t;

typedef struct {
    char ref[CODEC_KEY_MAX + 1];     /* the gateway's id for the message */
    uint32_t retry_after_ms;         /* from Retry-After on 429/503 */
    char error[CODEC_ERROR_MAX + 1]; /* for the school; no personal data */
} gateway_result_t;

/* gateway_read_send reads the answer to a send: status is the HTTP status
 * (0 when the transfer failed: sent says whether the request had gone out
 * in full, so the gateway may have it), retry_after the header's value or
 * NULL, body the response body. */
gateway_verdict_t gateway_read_send(const gateway_t *g, long status, int sent,
                                    const char *retry_after, const char *body, size_t len,
                                    gateway_result_t *out);

/* gateway_read_lookup reads the answer to a lookup for m: SENT (found,
 * ref set), PERMANENT (not there), RETRY (ask again later). */
gateway_verdict_t gateway_read_lookup(const gateway_t *g, const gateway_message_t *m, long status,
                                      const char *body, size_t len, gateway_result_t *out);

/* A delivery receipt. */
typedef struct {
    char reference[CODEC_KEY_MAX + 1]; /* ours (Notify), or "" (Twilio: from the callback URL) */
    char id[CODEC_KEY_MAX + 1];        /* the gateway's id */
    delivery_status_t status;          /* DELIVERED, FAILED_*, or SENT for an interim state */
    char error[CODEC_ERROR_MAX + 1];
} gateway_receipt_t;

/* gateway_notify_receipt reads Notify's callback JSON. RC_EPARSE otherwise. */
rc_err_t gateway_notify_receipt(const char *body, size_t len, gateway_receipt_t *out);

/* gateway_twilio_receipt reads Twilio's status callback (form encoded). */
rc_err_t gateway_twilio_receipt(const char *body, size_t len, gateway_receipt_t *out);

#endif
