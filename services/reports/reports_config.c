/* reports_config.c - rollcall-reports' config table. */
#include "reports/reports_config.h"

static const config_entry_t table[] = {
    SERVICE_COMMON_CONFIG(reports_config_t),
    CONFIG_STRING("rules_endpoints", reports_config_t, rules_endpoints, "tcp://127.0.0.1:5562",
                  "ROLLCALL_REPORTS_RULES_ENDPOINTS", service_endpoints_check,
                  "rules PUB endpoints the SUB socket connects to, comma-separated"),
    CONFIG_STRING("la_pub_endpoint", reports_config_t, la_pub_endpoint, "tcp://127.0.0.1:5563",
                  "ROLLCALL_REPORTS_LA_PUB_ENDPOINT", service_endpoint_check,
                  "ZeroMQ endpoint the LA feed's XPUB socket binds (topics referral.<la_code>.; "
                  "CURVE, docs/la-feed.md)"),
    CONFIG_STRING("la_replay_endpoint", reports_config_t, la_replay_endpoint,
                  "tcp://127.0.0.1:5564", "ROLLCALL_REPORTS_LA_REPLAY_ENDPOINT",
                  service_endpoint_check,
                  "ZeroMQ endpoint the LA feed's replay ROUTER binds (CURVE): an LA's referrals "
                  "after a log id, for a subscriber resuming"),
    CONFIG_SECRET("la_curve_secret", reports_config_t, la_curve_secret,
                  "ROLLCALL_REPORTS_LA_CURVE_SECRET", lafeed_secret_check,
                  "the LA sockets' CURVE secret key (Z85, `rollcall keygen`); give it as "
                  "la_curve_secret_file; empty = the LA sockets are not opened (referrals are "
                  "still logged)"),
    CONFIG_PATH("la_clients_file", reports_config_t, la_clients_file, "",
                "ROLLCALL_REPORTS_LA_CLIENTS_FILE",
                "LA subscribers: lines of `<Z85 CURVE public key> <la_code> <label>` "
                "(docs/la-feed.md); empty = every client is refused"),
    CONFIG_STRING("http_bind", reports_config_t, http_bind, "127.0.0.1",
                  "ROLLCALL_REPORTS_HTTP_BIND", NULL,
                  "IPv4 address the HTTP API listens on (a TLS reverse proxy in front)"),
    CONFIG_INT("http_port", reports_config_t, http_port, 0, 65535, "8082",
               "ROLLCALL_REPORTS_HTTP_PORT",
               "TCP port of the reports HTTP API and dashboard; 0 = any free port (logged)"),
    CONFIG_PATH("tokens_file", reports_config_t, tokens_file, "", "ROLLCALL_REPORTS_TOKENS_FILE",
                "bearer tokens: lines of `<sha256 hex> <scope>[,<scope>...] <label>` "
                "(docs/reports-api.md); empty = every request is refused"),
    CONFIG_END,
};

const service_desc_t reports_service = {
    .name = "reports",
    .summary = "Aggregates attendance for SLT, trusts and the LA, serves it over HTTP and "
               "republishes referrals for LA subscribers.",
    .table = table,
    .common_offset = offsetof(reports_config_t, common),
};
