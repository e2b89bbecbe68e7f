/* main.c - rollcall-ingest: takes marks and reference data in, stores and publishes them. */
#include <stdlib.h>

#include "ingest/ingest_config.h"

int main(int argc, char **argv)
{
    ingest_config_t cfg = {0};
    service_t *svc = NULL;
    void *pub;
    char pub_at[SERVICE_ENDPOINT_MAX];
    int status = EXIT_FAILURE;

    if (!service_configure(&ingest_service, &cfg, argc, argv, &status))
        return status;
    if (service_log_open(&ingest_service, &cfg) != RC_OK)
        goto out;
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(pub = service_bind(svc, ZMQ_PUB, cfg.pub_endpoint)))
        goto out;
    /* http_port is reserved here; the HTTP API arrives with issue 3. */
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("pub", service_endpoint(pub, pub_at, sizeof pub_at)),
             LOG_INT("http_port", cfg.http_port));

    while (!service_stopping())
        if (service_poll(svc, NULL, 0) < 0)
            goto out;
    status = EXIT_SUCCESS;
out:
    service_destroy(&svc);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(ingest_service.table, &cfg);
    log_close();
    return status;
}
