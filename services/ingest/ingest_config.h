/* ingest_config.h - rollcall-ingest's settings and their table. */
#ifndef ROLLCALL_INGEST_CONFIG_H
#define ROLLCALL_INGEST_CONFIG_H

#include "common/service.h"

typedef enum { INGEST_CLOCK_WALL = 0, INGEST_CLOCK_REPLAY } ingest_clock_t;

typedef struct {
    service_common_t common;
    char pub_endpoint[SERVICE_ENDPOINT_MAX]; /* PUB bound here: accepted events go out on it */
    char http_bind[64];                      /* address the HTTP API listens on */
    int http_port;                           /* the HTTP API's port */
    int max_body;                            /* bytes; a larger request body gets 413 */
    int64_t http_timeout_ms;                 /* an idle or slow connection is closed after this */
    int http_max_connections;                /* more are refused until some close */
    int clock;                               /* ingest_clock_t: who moves time */
} ingest_config_t;

/* ingest_service describes rollcall-ingest; its table fills ingest_config_t. */
extern const service_desc_t ingest_service;

#endif
