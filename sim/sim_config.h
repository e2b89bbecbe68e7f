/* sim_config.h - rollcall-gateway-sim's settings and their table. */
#ifndef ROLLCALL_SIM_CONFIG_H
#define ROLLCALL_SIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/config.h"
#include "rollcall/error.h"

#define SIM_SECRET_MAX 256
#define SIM_URL_MAX    1024

typedef struct {
    char bind[64];                              /* IPv4 address the HTTP server listens on */
    int port;                                   /* 0: the kernel picks one; sim.ready says which */
    int max_body;                               /* bytes; a larger request body gets 413 */
    char notify_service_id[40];                 /* the JWT iss; "" = the one inside the API key */
    char notify_api_key[SIM_SECRET_MAX];        /* secret: {key_name}-{service_id}-{secret} */
    char notify_callback_url[SIM_URL_MAX];      /* delivery receipts go here; "" = none */
    char notify_callback_token[SIM_SECRET_MAX]; /* secret: their Authorization: Bearer */
    char notify_sms_sender[16];                 /* content.from_number in Notify's answers */
    char notify_email_from[128];                /* content.from_email */
    char twilio_account_sid[40];                /* AC + 32 hex; "" = every Twilio call is 401 */
    char twilio_auth_token[SIM_SECRET_MAX];     /* secret: basic auth password, signs callbacks */
    int64_t deliver_after_ms;                   /* from acceptance to the delivery receipt */
    int64_t callback_timeout_ms;                /* one callback POST gives up after this */
    int callback_attempts;                      /* tries per callback before it counts as failed */
    char record[512];                           /* append a JSON line per message event; "" = no */
    int log_level;                              /* log_level_t */
    int log_format;                             /* log_format_t */
    char notify_secret[40]; /* derived: the API key's last 36 characters, the HS256 key */
} sim_config_t;

/* sim_config_table is the table sim_config_t is loaded with. */
extern const config_entry_t sim_config_table[];

/* sim_config_finish checks what single keys cannot (the service id inside
 * the API key) and fills the derived fields. Returns RC_OK, or RC_EINVAL
 * with err saying what to change. */
rc_err_t sim_config_finish(sim_config_t *cfg, char *err, size_t errlen);

#endif
