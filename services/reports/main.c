/* main.c - rollcall-reports: aggregates for SLT, trusts and LAs, and feeds LA subscribers. */
#include <stdlib.h>

#include "reports/reports_config.h"

int main(int argc, char **argv)
{
    reports_config_t cfg = {0};
    service_t *svc = NULL;
    void *sub, *la_pub;
    zmq_pollitem_t items[1];
    char la_pub_at[SERVICE_ENDPOINT_MAX];
    int status = EXIT_FAILURE;

    if (!service_configure(&reports_service, &cfg, argc, argv, &status))
        return status;
    if (service_log_open(&reports_service, &cfg) != RC_OK)
        goto out;
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.rules_endpoints, "")))
        goto out;
    if (!(la_pub = service_bind(svc, ZMQ_PUB, cfg.la_pub_endpoint)))
        goto out;
    /* http_port is reserved here; the HTTP API arrives with its issue. */
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("sub", cfg.rules_endpoints),
             LOG_STR("la_pub", service_endpoint(la_pub, la_pub_at, sizeof la_pub_at)),
             LOG_INT("http_port", cfg.http_port));

    items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
    while (!service_stopping()) {
        if (service_poll(svc, items, 1) < 0)
            goto out;
        if (items[0].revents & ZMQ_POLLIN)
            service_drain(sub); /* until the aggregation handler lands */
    }
    status = EXIT_SUCCESS;
out:
    service_destroy(&svc);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(reports_service.table, &cfg);
    log_close();
    return status;
}
