/* rules_config.c - rollcall-rules' config table. */
#include "rules/rules_config.h"

#include <string.h>

#include "rollcall/ids.h"

/* worker_id_check keeps worker ids usable inside Redis keys and log fields. */
static rc_err_t worker_id_check(const char *value, const char **why)
{
    size_t n = strlen(value);
    if (n == 0 || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789-_.") != n) {
        *why = "expected letters, digits, '-', '_' or '.', such as rules-1";
        return RC_EINVAL;
    }
    return RC_OK;
}

static const char *const clocks[] = {"wall", "replay", NULL};

static const config_entry_t table[] = {
    SERVICE_COMMON_CONFIG(rules_config_t),
    CONFIG_STRING("ingest_endpoints", rules_config_t, ingest_endpoints, "tcp://127.0.0.1:5561",
                  "ROLLCALL_RULES_INGEST_ENDPOINTS", service_endpoints_check,
                  "ingest PUB endpoints the SUB socket connects to, comma-separated"),
    CONFIG_STRING("pub_endpoint", rules_config_t, pub_endpoint, "tcp://127.0.0.1:5562",
                  "ROLLCALL_RULES_PUB_ENDPOINT", service_endpoint_check,
                  "ZeroMQ endpoint the PUB socket binds, where stage changes and alerts go out"),
    CONFIG_STRING("worker_id", rules_config_t, worker_id, "rules-1", "ROLLCALL_RULES_WORKER_ID",
                  worker_id_check, "this worker's name, unique among rules workers"),
    CONFIG_STRING("schools", rules_config_t, schools, "", "ROLLCALL_RULES_SCHOOLS",
                  service_schools_check,
                  "URNs of the schools this worker owns, comma-separated; empty = all"),
    CONFIG_PATH("policies_dir", rules_config_t, policies_dir, "policies",
                "ROLLCALL_RULES_POLICIES_DIR",
                "directory of policy files: a school whose policy is NAME runs NAME.yaml"),
    CONFIG_ENUM("clock", rules_config_t, clock, clocks, "wall", "ROLLCALL_CLOCK",
                "wall: time is the wall clock (Europe/London); replay: time moves only with the "
                "ticks in each school's log (POST /v1/clock to ingest)"),
    CONFIG_END,
};

const service_desc_t rules_service = {
    .name = "rules",
    .summary = "Keeps each pupil's attendance up to date in Redis, runs each school's policy and "
               "publishes stage changes and alerts.",
    .table = table,
    .common_offset = offsetof(rules_config_t, common),
};
