/* notify_config.h - rollcall-notify's settings and their table. */
#ifndef ROLLCALL_NOTIFY_CONFIG_H
#define ROLLCALL_NOTIFY_CONFIG_H

#include "common/service.h"

#define NOTIFY_URL_MAX     512
#define NOTIFY_SECRET_MAX  256
#define NOTIFY_SCHOOLS_MAX 4096
#define NOTIFY_PATH_MAX    1024

typedef enum {
    NOTIFY_GW_NONE = 0,
    NOTIFY_GW_NOTIFY,
    NOTIFY_GW_TWILIO,
    NOTIFY_GW_WEBHOOK
} notify_gw_t;
typedef enum { NOTIFY_CLOCK_WALL = 0, NOTIFY_CLOCK_REPLAY } notify_clock_t;

typedef struct {
    service_common_t common;
    char rules_endpoints[SERVICE_ENDPOINT_MAX]; /* SUB connects to each: rules' PUB sockets */
    char pub_endpoint[SERVICE_ENDPOINT_MAX];    /* PUB bound here: outcome.<urn>. */
    char schools[NOTIFY_SCHOOLS_MAX];           /* URNs this process owns; "" = all */
    char templates_dir[NOTIFY_PATH_MAX];
    int clock;       /* notify_clock_t */
    int sms_gateway; /* notify_gw_t */
    int email_gateway;
    char notify_url[NOTIFY_URL_MAX];
    char notify_api_key[NOTIFY_SECRET_MAX]; /* secret */
    char twilio_url[NOTIFY_URL_MAX];
    char twilio_account_sid[64];
    char twilio_auth_token[NOTIFY_SECRET_MAX]; /* secret */
    char twilio_from[32];
    char webhook_url[NOTIFY_URL_MAX];
    char webhook_token[NOTIFY_SECRET_MAX];  /* secret */
    char http_bind[64];                     /* receipts listen here */
    int http_port;                          /* receipts (delivery callbacks); 0 = none */
    char public_url[NOTIFY_URL_MAX];        /* how gateways reach http_port, for Twilio */
    char callback_token[NOTIFY_SECRET_MAX]; /* secret: Notify's callback bearer, Twilio's path */
    int rate_per_minute;                    /* per gateway key, shared by all notify processes */
    int max_in_flight;
    int64_t request_timeout_ms;
    int64_t retry_first_ms, retry_max_ms;
    int max_attempts;
    char quiet_hours[16];    /* "20:00-07:00", "" = none */
    int64_t merge_window_ms; /* siblings' first-day texts wait this long to merge */
    int merge_siblings;
} notify_config_t;

/* notify_service describes rollcall-notify; its table fills notify_config_t. */
extern const service_desc_t notify_service;

/* notify_quiet_parse reads "HH:MM-HH:MM" (or "") into minutes of the day;
 * from == to means none. RC_EINVAL otherwise. */
rc_err_t notify_quiet_parse(const char *s, int *from, int *to);

#endif
