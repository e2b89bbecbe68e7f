/* main.c - rollcall-ingest: takes marks and reference data in, stores and publishes them. */
#include <stdlib.h>

#include "common/http.h"
#include "ingest/ingest.h"

int main(int argc, char **argv)
{
    ingest_config_t cfg = {0};
    service_t *svc = NULL;
    ingest_t *ing = NULL;
    http_server_t *http = NULL;
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
    if (!(ing = ingest_new(&cfg, service_redis(svc), pub)))
        goto out;
    http_server_config_t http_cfg = {
        .bind = cfg.http_bind,
        .port = cfg.http_port,
        .timeout_ms = cfg.http_timeout_ms,
        .max_connections = cfg.http_max_connections,
        .max_body = (size_t)cfg.max_body,
        .too_big_hint = "send it in parts (rollcall import does this for you)",
        .handler = ingest_handle,
        .count = ingest_count_http,
        .ctx = ing,
    };
    if (!(http = http_server_new(&http_cfg)))
        goto out;
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("pub", service_endpoint(pub, pub_at, sizeof pub_at)),
             LOG_STR("http_bind", cfg.http_bind), LOG_INT("http_port", cfg.http_port),
             LOG_STR("clock", cfg.clock == INGEST_CLOCK_REPLAY ? "replay" : "wall"));

    zmq_pollitem_t items[] = {{.socket = NULL, .fd = http_server_fd(http), .events = ZMQ_POLLIN}};
    while (!service_stopping()) {
        /* libmicrohttpd says when it has work pending (0 ms while a body is
         * still arriving); waiting longer than that stalls every upload. */
        long wait = http_server_timeout_ms(http);
        if (wait < 0 || wait > SERVICE_POLL_MS)
            wait = SERVICE_POLL_MS;
        if (zmq_poll(items, 1, wait) < 0 && zmq_errno() != EINTR) {
            log_error("zmq.poll_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
            goto out;
        }
        http_server_run(http);
    }
    status = EXIT_SUCCESS;
out:
    http_server_destroy(&http);
    ingest_destroy(&ing);
    service_destroy(&svc);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(ingest_service.table, &cfg);
    log_close();
    return status;
}
