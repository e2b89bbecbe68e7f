/* notify_config.h - rollcall-notify's settings and their table. */
#ifndef ROLLCALL_NOTIFY_CONFIG_H
#define ROLLCALL_NOTIFY_CONFIG_H

#include "common/service.h"

typedef struct {
    service_common_t common;
    char rules_endpoints[SERVICE_ENDPOINT_MAX]; /* SUB connects to each: rules' PUB sockets */
} notify_config_t;

/* notify_service describes rollcall-notify; its table fills notify_config_t. */
extern const service_desc_t notify_service;

#endif
