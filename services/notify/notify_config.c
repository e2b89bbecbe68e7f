/* notify_config.c - rollcall-notify's config table. */
#include "notify/notify_config.h"

static const config_entry_t table[] = {
    SERVICE_COMMON_CONFIG(notify_config_t),
    CONFIG_STRING("rules_endpoints", notify_config_t, rules_endpoints, "tcp://127.0.0.1:5562",
                  "ROLLCALL_NOTIFY_RULES_ENDPOINTS", service_endpoints_check,
                  "rules PUB endpoints the SUB socket connects to, comma-separated"),
    CONFIG_END,
};

const service_desc_t notify_service = {
    .name = "notify",
    .summary = "Turns stage changes and alerts into SMS and email to every contact with parental "
               "responsibility, exactly once per message.",
    .table = table,
    .common_offset = offsetof(notify_config_t, common),
};
