/* reports_config.h - rollcall-reports' settings and their table. */
#ifndef ROLLCALL_REPORTS_CONFIG_H
#define ROLLCALL_REPORTS_CONFIG_H

#include "common/service.h"
#include "reports/lafeed.h"

#define REPORTS_PATH_MAX 1024

typedef struct {
    service_common_t common;
    char rules_endpoints[SERVICE_ENDPOINT_MAX];    /* SUB connects to each: rules' PUB sockets */
    char la_pub_endpoint[SERVICE_ENDPOINT_MAX];    /* XPUB bound here: referral.<la_code>. */
    char la_replay_endpoint[SERVICE_ENDPOINT_MAX]; /* ROUTER bound here: an LA's log, paged */
    char la_curve_secret[LAFEED_KEY_Z85 + 1];      /* secret; Z85; "" = LA sockets not opened */
    char la_clients_file[REPORTS_PATH_MAX];        /* `<public key> <la_code> <label>` lines */
    char http_bind[64];                            /* the API listens on this IPv4 address */
    int http_port;                                 /* the reports API's port; 0: any free one */
    char tokens_file[REPORTS_PATH_MAX];            /* sha256 of each bearer token and its scopes */
} reports_config_t;

/* reports_service describes rollcall-reports; its table fills reports_config_t. */
extern const service_desc_t reports_service;

#endif
