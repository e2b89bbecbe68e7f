/* sim_config.c - rollcall-gateway-sim's config table. */
#include "sim_config.h"

#include <stdio.h>
#include <string.h>

#include "sim_text.h"

static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const formats[] = {"json", "text", NULL};

static rc_err_t uuid_or_empty(const char *value, const char **why)
{
    if (value[0] && !sim_uuid_valid(value)) {
        *why = "expected a UUID such as 26785a09-ab16-4eb0-8407-a37497a57506";
        return RC_EINVAL;
    }
    return RC_OK;
}

/* The node client cuts the key by position: the last 36 characters are the
 * secret, the 36 before the dash in front of them the service id. */
static rc_err_t api_key_check(const char *value, const char **why)
{
    size_t n = strlen(value);
    if (n == 0)
        return RC_OK;
    if ((n != 73 && (n < 75 || value[n - 74] != '-')) || value[n - 37] != '-' ||
        !sim_uuid_valid(value + n - 36)) {
        *why = "expected a Notify API key: {key_name}-{service_id uuid}-{secret uuid}";
        return RC_EINVAL;
    }
    char sid[SIM_UUID_LEN + 1];
    memcpy(sid, value + n - 73, SIM_UUID_LEN);
    sid[SIM_UUID_LEN] = '\0';
    if (!sim_uuid_valid(sid)) {
        *why = "expected a Notify API key: {key_name}-{service_id uuid}-{secret uuid}";
        return RC_EINVAL;
    }
    return RC_OK;
}

static rc_err_t account_sid_check(const char *value, const char **why)
{
    if (value[0] && !sim_sid_valid(value, "AC")) {
        *why = "expected AC and 32 hex digits";
        return RC_EINVAL;
    }
    return RC_OK;
}

static rc_err_t url_check(const char *value, const char **why)
{
    if (value[0] && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
        *why = "expected an http:// or https:// URL";
        return RC_EINVAL;
    }
    return RC_OK;
}

const config_entry_t sim_config_table[] = {
    CONFIG_STRING("bind", sim_config_t, bind, "127.0.0.1", "ROLLCALL_SIM_BIND", NULL,
                  "IPv4 address the simulated gateways listen on"),
    CONFIG_INT("port", sim_config_t, port, 0, 65535, "0", "ROLLCALL_SIM_PORT",
               "TCP port; 0 picks a free one, named in the sim.ready log line"),
    CONFIG_INT("max_body", sim_config_t, max_body, 1024, 16 * 1024 * 1024, "1048576",
               "ROLLCALL_SIM_MAX_BODY", "largest request body accepted, in bytes"),
    CONFIG_STRING("notify_service_id", sim_config_t, notify_service_id, "",
                  "ROLLCALL_SIM_NOTIFY_SERVICE_ID", uuid_or_empty,
                  "Notify service id (the JWT iss); empty = the one inside the API key"),
    CONFIG_SECRET("notify_api_key", sim_config_t, notify_api_key, "ROLLCALL_SIM_NOTIFY_API_KEY",
                  api_key_check,
                  "Notify API key {key_name}-{service_id}-{secret}; empty = every call is 403"),
    CONFIG_STRING("notify_callback_url", sim_config_t, notify_callback_url, "",
                  "ROLLCALL_SIM_NOTIFY_CALLBACK_URL", url_check,
                  "where Notify delivery receipts are POSTed; empty = none sent"),
    CONFIG_SECRET("notify_callback_token", sim_config_t, notify_callback_token,
                  "ROLLCALL_SIM_NOTIFY_CALLBACK_TOKEN", NULL,
                  "bearer token sent with each Notify delivery receipt"),
    CONFIG_STRING("notify_sms_sender", sim_config_t, notify_sms_sender, "GOVUK",
                  "ROLLCALL_SIM_NOTIFY_SMS_SENDER", NULL, "content.from_number of Notify texts"),
    CONFIG_STRING("notify_email_from", sim_config_t, notify_email_from,
                  "rollcall.sim@notifications.service.gov.uk", "ROLLCALL_SIM_NOTIFY_EMAIL_FROM",
                  NULL, "content.from_email of Notify emails"),
    CONFIG_STRING("twilio_account_sid", sim_config_t, twilio_account_sid, "",
                  "ROLLCALL_SIM_TWILIO_ACCOUNT_SID", account_sid_check,
                  "Twilio AccountSid (basic auth user); empty = every Twilio call is 401"),
    CONFIG_SECRET("twilio_auth_token", sim_config_t, twilio_auth_token,
                  "ROLLCALL_SIM_TWILIO_AUTH_TOKEN", NULL,
                  "Twilio AuthToken: basic auth password, and the key of X-Twilio-Signature"),
    CONFIG_DURATION("deliver_after", sim_config_t, deliver_after_ms, 0, 3600000, "200ms",
                    "ROLLCALL_SIM_DELIVER_AFTER",
                    "time from accepting a message to its delivery receipt"),
    CONFIG_DURATION("callback_timeout", sim_config_t, callback_timeout_ms, 100, 120000, "5s",
                    "ROLLCALL_SIM_CALLBACK_TIMEOUT", "a receipt POST gives up after this long"),
    CONFIG_INT("callback_attempts", sim_config_t, callback_attempts, 1, 10, "3",
               "ROLLCALL_SIM_CALLBACK_ATTEMPTS",
               "tries per receipt POST (connection error or non-2xx), 250 ms apart, doubling"),
    CONFIG_PATH("record", sim_config_t, record, "", "ROLLCALL_SIM_RECORD",
                "append one JSON line per accepted message and status change to this file"),
    CONFIG_ENUM("log_level", sim_config_t, log_level, levels, "info", "ROLLCALL_LOG_LEVEL",
                "lowest level of log line written"),
    CONFIG_ENUM("log_format", sim_config_t, log_format, formats, "json", "ROLLCALL_LOG_FORMAT",
                "json lines for machines, text for a terminal"),
    CONFIG_END,
};

rc_err_t sim_config_finish(sim_config_t *cfg, char *err, size_t errlen)
{
    size_t n = strlen(cfg->notify_api_key);
    char sid[SIM_UUID_LEN + 1] = "";

    cfg->notify_secret[0] = '\0';
    if (n) {
        memcpy(sid, cfg->notify_api_key + n - 73, SIM_UUID_LEN);
        sid[SIM_UUID_LEN] = '\0';
        memcpy(cfg->notify_secret, cfg->notify_api_key + n - 36, SIM_UUID_LEN + 1);
        if (cfg->notify_service_id[0] && strcmp(cfg->notify_service_id, sid) != 0) {
            snprintf(err, errlen,
                     "notify_service_id is not the service id inside notify_api_key: leave it "
                     "empty, or give the key of that service");
            return RC_EINVAL;
        }
        snprintf(cfg->notify_service_id, sizeof cfg->notify_service_id, "%s", sid);
    }
    if (cfg->twilio_account_sid[0] && !cfg->twilio_auth_token[0]) {
        snprintf(err, errlen,
                 "twilio_account_sid is set but twilio_auth_token is not: give "
                 "--twilio-auth-token-file or ROLLCALL_SIM_TWILIO_AUTH_TOKEN");
        return RC_EINVAL;
    }
    return RC_OK;
}
