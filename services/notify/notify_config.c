/* notify_config.c - rollcall-notify's config table. */
#include "notify/notify_config.h"

#include <stdio.h>
#include <string.h>

static const char *const gateways[] = {"none", "notify", "twilio", "webhook", NULL};
static const char *const clocks[] = {"wall", "replay", NULL};

rc_err_t notify_quiet_parse(const char *s, int *from, int *to)
{
    int h1, m1, h2, m2, n = 0;
    *from = *to = 0;
    if (!s[0])
        return RC_OK;
    if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || s[n] || h1 > 23 || h2 > 23 ||
        m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0)
        return RC_EINVAL;
    *from = h1 * 60 + m1;
    *to = h2 * 60 + m2;
    return RC_OK;
}

static rc_err_t quiet_check(const char *value, const char **why)
{
    int a, b;
    if (notify_quiet_parse(value, &a, &b) != RC_OK) {
        *why = "expected HH:MM-HH:MM in London time, such as 20:00-07:00, or empty for none";
        return RC_EINVAL;
    }
    return RC_OK;
}

static const config_entry_t table[] = {
    SERVICE_COMMON_CONFIG(notify_config_t),
    CONFIG_STRING("rules_endpoints", notify_config_t, rules_endpoints, "tcp://127.0.0.1:5562",
                  "ROLLCALL_NOTIFY_RULES_ENDPOINTS", service_endpoints_check,
                  "rules PUB endpoints the SUB socket connects to, comma-separated"),
    CONFIG_STRING("pub_endpoint", notify_config_t, pub_endpoint, "tcp://127.0.0.1:5563",
                  "ROLLCALL_NOTIFY_PUB_ENDPOINT", service_endpoint_check,
                  "ZeroMQ endpoint the PUB socket binds, where message outcomes go out"),
    CONFIG_STRING("schools", notify_config_t, schools, "", "ROLLCALL_NOTIFY_SCHOOLS",
                  service_schools_check,
                  "URNs of the schools this process sends for, comma-separated; empty = all"),
    CONFIG_PATH("templates_dir", notify_config_t, templates_dir, "templates",
                "ROLLCALL_NOTIFY_TEMPLATES_DIR",
                "directory of message templates (docs/templates.md)"),
    CONFIG_ENUM("clock", notify_config_t, clock, clocks, "wall", "ROLLCALL_CLOCK",
                "wall: quiet hours and retries follow the wall clock; replay: the replay clock "
                "ingest keeps (POST /v1/clock)"),
    CONFIG_ENUM("sms_gateway", notify_config_t, sms_gateway, gateways, "none",
                "ROLLCALL_NOTIFY_SMS_GATEWAY", "where SMS go: notify, twilio, webhook or none"),
    CONFIG_ENUM("email_gateway", notify_config_t, email_gateway, gateways, "none",
                "ROLLCALL_NOTIFY_EMAIL_GATEWAY", "where email goes: notify, webhook or none"),
    CONFIG_STRING("notify_url", notify_config_t, notify_url,
                  "https://api.notifications.service.gov.uk", "ROLLCALL_NOTIFY_URL", NULL,
                  "GOV.UK Notify's base URL"),
    CONFIG_SECRET("notify_api_key", notify_config_t, notify_api_key, "ROLLCALL_NOTIFY_API_KEY",
                  NULL, "GOV.UK Notify API key ({key_name}-{service id}-{secret}); a secret"),
    CONFIG_STRING("twilio_url", notify_config_t, twilio_url, "https://api.twilio.com",
                  "ROLLCALL_TWILIO_URL", NULL, "Twilio's base URL"),
    CONFIG_STRING("twilio_account_sid", notify_config_t, twilio_account_sid, "",
                  "ROLLCALL_TWILIO_ACCOUNT_SID", NULL, "Twilio account SID (AC...)"),
    CONFIG_SECRET("twilio_auth_token", notify_config_t, twilio_auth_token,
                  "ROLLCALL_TWILIO_AUTH_TOKEN", NULL, "Twilio auth token; a secret"),
    CONFIG_STRING("twilio_from", notify_config_t, twilio_from, "", "ROLLCALL_TWILIO_FROM", NULL,
                  "Twilio sender: a number in E.164 or an alphanumeric sender id"),
    CONFIG_STRING("webhook_url", notify_config_t, webhook_url, "", "ROLLCALL_WEBHOOK_URL", NULL,
                  "the JSON webhook's URL"),
    CONFIG_SECRET("webhook_token", notify_config_t, webhook_token, "ROLLCALL_WEBHOOK_TOKEN", NULL,
                  "bearer token sent to the webhook; a secret"),
    CONFIG_STRING("http_bind", notify_config_t, http_bind, "127.0.0.1", "ROLLCALL_NOTIFY_HTTP_BIND",
                  NULL, "IPv4 address the receipts endpoint listens on (a reverse proxy in front)"),
    CONFIG_INT("http_port", notify_config_t, http_port, 0, 65535, "0", "ROLLCALL_NOTIFY_HTTP_PORT",
               "TCP port for delivery receipts (POST /v1/receipts/notify, /v1/receipts/twilio); "
               "0 = none"),
    CONFIG_STRING("public_url", notify_config_t, public_url, "", "ROLLCALL_NOTIFY_PUBLIC_URL", NULL,
                  "how the gateways reach http_port (Twilio's StatusCallback); empty = none"),
    CONFIG_SECRET("callback_token", notify_config_t, callback_token,
                  "ROLLCALL_NOTIFY_CALLBACK_TOKEN", NULL,
                  "the bearer token GOV.UK Notify's callbacks carry, and the secret in Twilio's "
                  "callback URL; a secret"),
    CONFIG_INT("rate_per_minute", notify_config_t, rate_per_minute, 1, 1000000, "3000",
               "ROLLCALL_NOTIFY_RATE_PER_MINUTE",
               "requests per minute per gateway, shared by every notify process (Notify: 3000)"),
    CONFIG_INT("max_in_flight", notify_config_t, max_in_flight, 1, 1000, "32",
               "ROLLCALL_NOTIFY_MAX_IN_FLIGHT", "HTTP requests open at once"),
    CONFIG_DURATION("request_timeout", notify_config_t, request_timeout_ms, 100, 300000, "15s",
                    "ROLLCALL_NOTIFY_REQUEST_TIMEOUT", "a gateway request gives up after this"),
    CONFIG_DURATION("retry_first", notify_config_t, retry_first_ms, 1, 3600000, "2s",
                    "ROLLCALL_NOTIFY_RETRY_FIRST", "the first retry waits about this long"),
    CONFIG_DURATION("retry_max", notify_config_t, retry_max_ms, 1, 86400000, "10m",
                    "ROLLCALL_NOTIFY_RETRY_MAX", "retries back off up to this"),
    CONFIG_INT("max_attempts", notify_config_t, max_attempts, 1, 1000, "12",
               "ROLLCALL_NOTIFY_MAX_ATTEMPTS",
               "attempts before a temporary failure is shown as failed"),
    CONFIG_STRING("quiet_hours", notify_config_t, quiet_hours, "20:00-07:00",
                  "ROLLCALL_NOTIFY_QUIET_HOURS", quiet_check,
                  "no SMS between these London times unless the message is urgent"),
    CONFIG_DURATION("merge_window", notify_config_t, merge_window_ms, 0, 3600000, "60s",
                    "ROLLCALL_NOTIFY_MERGE_WINDOW",
                    "first-day texts wait this long so that brothers' and sisters' merge"),
    CONFIG_BOOL("merge_siblings", notify_config_t, merge_siblings, "true",
                "ROLLCALL_NOTIFY_MERGE_SIBLINGS",
                "one first-day text per parent naming every child absent that day"),
    CONFIG_END,
};

const service_desc_t notify_service = {
    .name = "notify",
    .summary = "Turns stage changes and alerts into SMS and email to every contact with parental "
               "responsibility, exactly once per message.",
    .table = table,
    .common_offset = offsetof(notify_config_t, common),
};
