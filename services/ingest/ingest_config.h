/* ingest_config.h - rollcall-ingest's settings and their table. */
#ifndef ROLLCALL_INGEST_CONFIG_H
#define ROLLCALL_INGEST_CONFIG_H

#include "common/service.h"

typedef struct {
    service_common_t common;
    char pub_endpoint[SERVICE_ENDPOINT_MAX]; /* PUB bound here: accepted marks go out on it */
    int http_port;                           /* the HTTP API's port (served from issue 3) */
} ingest_config_t;

/* ingest_service describes rollcall-ingest; its table fills ingest_config_t. */
extern const service_desc_t ingest_service;

#endif
