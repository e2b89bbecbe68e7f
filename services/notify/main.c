/* main.c - rollcall-notify: sends the SMS and email that stage changes and alerts ask for. */
#include <stdlib.h>

#include "notify/notify_config.h"

int main(int argc, char **argv)
{
    notify_config_t cfg = {0};
    service_t *svc = NULL;
    void *sub;
    zmq_pollitem_t items[1];
    int status = EXIT_FAILURE;

    if (!service_configure(&notify_service, &cfg, argc, argv, &status))
        return status;
    if (service_log_open(&notify_service, &cfg) != RC_OK)
        goto out;
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.rules_endpoints, "")))
        goto out;
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("sub", cfg.rules_endpoints));

    items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
    while (!service_stopping()) {
        if (service_poll(svc, items, 1) < 0)
            goto out;
        if (items[0].revents & ZMQ_POLLIN)
            service_drain(sub); /* until the event handler lands */
    }
    status = EXIT_SUCCESS;
out:
    service_destroy(&svc);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(notify_service.table, &cfg);
    log_close();
    return status;
}
