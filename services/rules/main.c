/* main.c - rollcall-rules: keeps pupils' attendance state and runs each school's policy. */
#include <stdlib.h>

#include "rules/rules_config.h"

int main(int argc, char **argv)
{
    rules_config_t cfg = {0};
    service_t *svc = NULL;
    void *sub, *pub;
    zmq_pollitem_t items[1];
    char pub_at[SERVICE_ENDPOINT_MAX];
    int status = EXIT_FAILURE;

    if (!service_configure(&rules_service, &cfg, argc, argv, &status))
        return status;
    if (service_log_open(&rules_service, &cfg) != RC_OK)
        goto out;
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.ingest_endpoints, "")))
        goto out;
    if (!(pub = service_bind(svc, ZMQ_PUB, cfg.pub_endpoint)))
        goto out;
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("worker_id", cfg.worker_id), LOG_STR("schools", cfg.schools),
             LOG_STR("sub", cfg.ingest_endpoints),
             LOG_STR("pub", service_endpoint(pub, pub_at, sizeof pub_at)));

    items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
    while (!service_stopping()) {
        if (service_poll(svc, items, 1) < 0)
            goto out;
        if (items[0].revents & ZMQ_POLLIN)
            service_drain(sub); /* until the mark handler lands */
    }
    status = EXIT_SUCCESS;
out:
    service_destroy(&svc);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(rules_service.table, &cfg);
    log_close();
    return status;
}
