/* ingest_config.c - rollcall-ingest's config table. */
#include "ingest/ingest_config.h"

static const config_entry_t table[] = {
    SERVICE_COMMON_CONFIG(ingest_config_t),
    CONFIG_STRING("pub_endpoint", ingest_config_t, pub_endpoint, "tcp://127.0.0.1:5561",
                  "ROLLCALL_INGEST_PUB_ENDPOINT", service_endpoint_check,
                  "ZeroMQ endpoint the PUB socket binds, where accepted marks are published"),
    CONFIG_INT("http_port", ingest_config_t, http_port, 1, 65535, "8081",
               "ROLLCALL_INGEST_HTTP_PORT", "TCP port of the HTTP API (POST /v1/marks...)"),
    CONFIG_END,
};

const service_desc_t ingest_service = {
    .name = "ingest",
    .summary = "Accepts register marks and reference data, validates them, makes each accepted "
               "mark durable in Redis and publishes it.",
    .table = table,
    .common_offset = offsetof(ingest_config_t, common),
};
