/* main.c - rollcall-gateway-sim: GOV.UK Notify and Twilio as local fakes, for tests and the demo.
 */
#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rollcall/log.h"
#include "sim_api.h"
#include "sim_http.h"

#define PROG "rollcall-gateway-sim"

/* Set by the signal handler, read by the main loop: the one mutable global. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN; /* a callback receiver that hangs up must not kill us */
    return sigaction(SIGPIPE, &sa, NULL);
}

/* configure loads cfg; returns 1 to run, else 0 with *status set. */
static int configure(sim_config_t *cfg, int argc, char **argv, int *status)
{
    config_args_t args;
    char err[CONFIG_ERR_MAX];

    *status = EXIT_FAILURE;
    if (config_load(sim_config_table, cfg, argc, argv, &args, err, sizeof err) != RC_OK) {
        fprintf(stderr, PROG ": %s\n", err);
        return 0;
    }
    *status = EXIT_SUCCESS;
    if (args.help) {
        config_print_help(stdout, sim_config_table, PROG,
                          "Simulates the GOV.UK Notify v2 and Twilio Messaging APIs on one local "
                          "port, with delivery receipts and injectable faults (sim/README.md).");
        return 0;
    }
    if (args.version) {
        config_print_version(stdout, PROG);
        return 0;
    }
    if (sim_config_finish(cfg, err, sizeof err) != RC_OK) {
        fprintf(stderr, PROG ": %s\n", err);
        *status = EXIT_FAILURE;
        return 0;
    }
    if (args.check_config) {
        config_print(stdout, sim_config_table, cfg);
        fprintf(stderr, PROG ": configuration is valid\n");
        return 0;
    }
    *status = EXIT_FAILURE;
    return 1;
}

int main(int argc, char **argv)
{
    sim_config_t cfg;
    sim_store_t *store = NULL;
    sim_faults_t *faults = NULL;
    sim_deliver_t *deliver = NULL;
    sim_http_t *http = NULL;
    sim_ctx_t ctx;
    int status, curl_ready = 0;
    char url[96];

    memset(&cfg, 0, sizeof cfg);
    if (!configure(&cfg, argc, argv, &status))
        goto out;
    if (sodium_init() < 0 || log_open("gateway-sim", (log_level_t)cfg.log_level,
                                      (log_format_t)cfg.log_format, STDERR_FILENO, NULL) != RC_OK) {
        fprintf(stderr, PROG ": cannot start libsodium or logging\n");
        goto out;
    }
    config_log_effective(sim_config_table, &cfg);
    if (install_signals() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("sim.start_failed", LOG_STR("why", "cannot set signal handlers or libcurl up"));
        goto out;
    }
    curl_ready = 1;
    if (!(store = sim_store_new(cfg.record))) {
        log_error("sim.start_failed", LOG_STR("record", cfg.record),
                  LOG_STR("why", "cannot open the record file for appending"));
        goto out;
    }
    if (!(faults = sim_faults_new()) || !(deliver = sim_deliver_new(&cfg, store))) {
        log_error("sim.start_failed", LOG_STR("why", "out of memory, or no thread"));
        goto out;
    }
    ctx = (sim_ctx_t){.cfg = &cfg, .store = store, .faults = faults, .deliver = deliver};
    if (!(http = sim_http_new(&ctx)))
        goto out;
    int port = sim_http_port(http);
    snprintf(url, sizeof url, "http://%s:%d", cfg.bind, port);
    log_info("sim.ready", LOG_INT("port", port), LOG_ID("url", url),
             LOG_STR("version", config_version()), LOG_BOOL("notify", cfg.notify_secret[0]),
             LOG_BOOL("twilio", cfg.twilio_account_sid[0]),
             LOG_BOOL("notify_callbacks", cfg.notify_callback_url[0]),
             LOG_INT("deliver_after_ms", cfg.deliver_after_ms));

    struct timespec tick = {0, 100 * 1000000L};
    while (!stop_requested)
        nanosleep(&tick, NULL); /* the signal cuts it short */
    log_info("sim.stopping", LOG_STR("why", "signal"));
    status = EXIT_SUCCESS;
out:
    sim_http_destroy(&http);
    sim_deliver_destroy(&deliver);
    sim_faults_destroy(&faults);
    sim_store_destroy(&store);
    if (curl_ready)
        curl_global_cleanup();
    config_wipe_secrets(sim_config_table, &cfg);
    sodium_memzero(cfg.notify_secret, sizeof cfg.notify_secret);
    if (status == EXIT_SUCCESS && curl_ready)
        log_info("sim.stopped", LOG_INT("status", status));
    log_close();
    return status;
}
