/* ingest_config.c - rollcall-ingest's config table. */
#include "ingest/ingest_config.h"

static const char *const clocks[] = {"wall", "replay", NULL};

static const config_entry_t table[] = {
    SERVICE_COMMON_CONFIG(ingest_config_t),
    CONFIG_STRING("pub_endpoint", ingest_config_t, pub_endpoint, "tcp://127.0.0.1:5561",
                  "ROLLCALL_INGEST_PUB_ENDPOINT", service_endpoint_check,
                  "ZeroMQ endpoint the PUB socket binds, where accepted events are published"),
    CONFIG_STRING("http_bind", ingest_config_t, http_bind, "127.0.0.1", "ROLLCALL_INGEST_HTTP_BIND",
                  NULL, "IPv4 address the HTTP API listens on (0.0.0.0 for every interface)"),
    CONFIG_INT("http_port", ingest_config_t, http_port, 1, 65535, "8081",
               "ROLLCALL_INGEST_HTTP_PORT", "TCP port of the HTTP API (POST /v1/marks...)"),
    CONFIG_INT("max_body", ingest_config_t, max_body, 1024, 1073741824, "33554432",
               "ROLLCALL_INGEST_MAX_BODY",
               "largest request body in bytes; larger ones get 413 (rollcall import sends chunks)"),
    CONFIG_DURATION("http_timeout", ingest_config_t, http_timeout_ms, 1000, 3600000, "30s",
                    "ROLLCALL_INGEST_HTTP_TIMEOUT",
                    "close a connection idle (or sending too slowly) for this long"),
    CONFIG_INT("http_max_connections", ingest_config_t, http_max_connections, 1, 10000, "64",
               "ROLLCALL_INGEST_HTTP_MAX_CONNECTIONS", "HTTP connections served at once"),
    CONFIG_ENUM("clock", ingest_config_t, clock, clocks, "wall", "ROLLCALL_CLOCK",
                "wall: time is the wall clock (Europe/London); replay: time moves only by "
                "POST /v1/clock"),
    CONFIG_END,
};

const service_desc_t ingest_service = {
    .name = "ingest",
    .summary = "Accepts register marks and reference data, validates them, makes each accepted "
               "mark durable in Redis and publishes it.",
    .table = table,
    .common_offset = offsetof(ingest_config_t, common),
};
