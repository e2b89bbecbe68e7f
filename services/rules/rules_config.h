/* rules_config.h - rollcall-rules' settings and their table. */
#ifndef ROLLCALL_RULES_CONFIG_H
#define ROLLCALL_RULES_CONFIG_H

#include "common/service.h"

#define RULES_WORKER_ID_MAX 64
#define RULES_SCHOOLS_MAX   4096 /* about 580 URNs */
#define RULES_PATH_MAX      1024

typedef struct {
    service_common_t common;
    char ingest_endpoints[SERVICE_ENDPOINT_MAX]; /* SUB connects to each: ingest's PUB sockets */
    char pub_endpoint[SERVICE_ENDPOINT_MAX];     /* PUB bound here: pupil.* and referral.* */
    char worker_id[RULES_WORKER_ID_MAX];         /* names this worker in Redis and the logs */
    char schools[RULES_SCHOOLS_MAX];             /* URNs this worker owns, comma list; "" = all */
    char policies_dir[RULES_PATH_MAX];           /* <policy>.yaml files, one per policy name */
    int clock;                                   /* rules_clock_t: who moves time */
} rules_config_t;

typedef enum { RULES_CLOCK_WALL = 0, RULES_CLOCK_REPLAY } rules_clock_t;

/* rules_service describes rollcall-rules; its table fills rules_config_t. */
extern const service_desc_t rules_service;

#endif
