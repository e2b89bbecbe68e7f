/* sim_deliver.c - one worker thread, a small unsorted queue of due receipts,
 * and libcurl for the callbacks. One thread keeps receipts in order and the
 * queue simple; a slow callback URL delays the receipts behind it, which a
 * simulator can afford. */
#include "sim_deliver.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rollcall/log.h"
#include "sim_auth.h"
#include "sim_notify.h"

#define RETRY_FIRST_MS 250

typedef struct {
    int64_t due_ms;
    sim_gateway_t gw;
    char id[SIM_SID_LEN + 4];
} job_t;

struct sim_deliver {
    const sim_config_t *cfg; /* borrowed */
    sim_store_t *store;      /* borrowed */
    pthread_mutex_t lock;    /* guards jobs and n, cap */
    pthread_cond_t wake;     /* a job arrived, or stop */
    job_t *jobs;             /* unsorted; the earliest due goes first */
    size_t n, cap;
    atomic_int stopping; /* read by curl's progress callback without the lock */
    pthread_t thread;
    CURL *curl; /* the worker's only */
};

/* wait_until sleeps (lock held) until due_ms or stop; returns 0 when stopping. */
static int wait_until(sim_deliver_t *self, int64_t due_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(due_ms / 1000),
                          .tv_nsec = (long)(due_ms % 1000) * 1000000L};
    while (!atomic_load(&self->stopping) && sim_now_ms() < due_ms)
        if (pthread_cond_timedwait(&self->wake, &self->lock, &ts) == ETIMEDOUT)
            break;
    return !atomic_load(&self->stopping);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static int abort_on_stop(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    sim_deliver_t *self = ud;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load(&self->stopping);
}

/* post sends body to url with headers, trying callback_attempts times.
 * Returns 1 when answered 2xx; *http is the last status (0: none). */
static int post(sim_deliver_t *self, const char *url, struct curl_slist *headers, const char *body,
                long *http, int *attempts)
{
    int64_t backoff = RETRY_FIRST_MS;
    *http = 0;
    for (*attempts = 1;; (*attempts)++) {
        curl_easy_reset(self->curl);
        curl_easy_setopt(self->curl, CURLOPT_URL, url);
        curl_easy_setopt(self->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(self->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(self->curl, CURLOPT_TIMEOUT_MS, (long)self->cfg->callback_timeout_ms);
        curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(self->curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(self->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(self->curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
        curl_easy_setopt(self->curl, CURLOPT_XFERINFODATA, self);
        curl_easy_setopt(self->curl, CURLOPT_USERAGENT, "rollcall-gateway-sim");
        *http = 0;
        if (curl_easy_perform(self->curl) == CURLE_OK)
            curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, http);
        if (*http >= 200 && *http < 300)
            return 1;
        if (*attempts >= self->cfg->callback_attempts)
            return 0;
        pthread_mutex_lock(&self->lock);
        int go_on = wait_until(self, sim_now_ms() + backoff);
        pthread_mutex_unlock(&self->lock);
        if (!go_on)
            return 0;
        backoff *= 2;
    }
}

static void count(sim_deliver_t *self, sim_gateway_t gw, const char *id, int ok)
{
    sim_store_count_callback(self->store, ok);
    sim_store_lock(self->store);
    sim_msg_t *m = sim_store_find(self->store, gw, id);
    if (m && ok)
        m->callbacks_ok++;
    else if (m)
        m->callbacks_failed++;
    sim_store_unlock(self->store);
}

static void notify_receipt(sim_deliver_t *self, const job_t *job)
{
    const sim_config_t *cfg = self->cfg;
    struct curl_slist *headers = NULL, *h;
    char *body = NULL, auth[SIM_SECRET_MAX + 32];
    const char *status;
    long http;
    int attempts, ok;

    sim_store_lock(self->store);
    sim_msg_t *m = sim_store_find(self->store, SIM_GW_NOTIFY, job->id);
    if (!m) { /* DELETE /_sim/messages came first */
        sim_store_unlock(self->store);
        return;
    }
    status = sim_outcome_notify_status(m->outcome);
    if (m->outcome == SIM_OUTCOME_SILENT) {
        sim_store_unlock(self->store);
        log_info("sim.receipt", LOG_STR("gateway", "notify"), LOG_ID("id", job->id),
                 LOG_STR("status", status), LOG_STR("callback", "never, by design"));
        return;
    }
    sim_store_set_status(self->store, m, status, 0, 1, 1, sim_now_ms());
    json_t *receipt = sim_notify_receipt(m);
    sim_store_unlock(self->store);
    body = receipt ? json_dumps(receipt, JSON_COMPACT) : NULL;
    json_decref(receipt);
    if (!cfg->notify_callback_url[0] || !body) {
        log_info("sim.receipt", LOG_STR("gateway", "notify"), LOG_ID("id", job->id),
                 LOG_STR("status", status),
                 LOG_STR("callback", body ? "none configured" : "out of memory"));
        goto out;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->notify_callback_token);
    if (!(h = curl_slist_append(headers, "Content-Type: application/json")) || !(headers = h) ||
        !(h = curl_slist_append(headers, auth)) || !(headers = h))
        goto out;
    ok = post(self, cfg->notify_callback_url, headers, body, &http, &attempts);
    count(self, SIM_GW_NOTIFY, job->id, ok);
    log_info("sim.receipt", LOG_STR("gateway", "notify"), LOG_ID("id", job->id),
             LOG_STR("status", status), LOG_STR("callback", ok ? "ok" : "failed"),
             LOG_INT("http_status", http), LOG_INT("attempts", attempts));
out:
    memset(auth, 0, sizeof auth);
    curl_slist_free_all(headers);
    free(body);
}

/* twilio_callback POSTs one status callback of params to url, signed. */
static void twilio_callback(sim_deliver_t *self, const job_t *job, const char *url,
                            const sim_param_t *params, size_t n, const char *status)
{
    struct curl_slist *headers = NULL, *h;
    char sig[SIM_TWILIO_SIG_MAX], sig_header[SIM_TWILIO_SIG_MAX + 32];
    size_t len = 0, cap = 1;
    char *body = NULL;
    long http;
    int attempts, ok;

    for (size_t i = 0; i < n; i++)
        cap += strlen(params[i].key) + 3 * strlen(params[i].value) + 2;
    if (!(body = malloc(cap)))
        goto out;
    body[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *v = curl_easy_escape(self->curl, params[i].value, 0);
        if (!v)
            goto out;
        len += (size_t)snprintf(body + len, cap - len, "%s%s=%s", i ? "&" : "", params[i].key, v);
        curl_free(v);
    }
    if (sim_twilio_signature(self->cfg->twilio_auth_token, url, params, n, sig) != 0)
        goto out;
    snprintf(sig_header, sizeof sig_header, "X-Twilio-Signature: %s", sig);
    if (!(h = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded")) ||
        !(headers = h) || !(h = curl_slist_append(headers, sig_header)) || !(headers = h))
        goto out;
    ok = post(self, url, headers, body, &http, &attempts);
    count(self, SIM_GW_TWILIO, job->id, ok);
    log_info("sim.receipt", LOG_STR("gateway", "twilio"), LOG_ID("id", job->id),
             LOG_STR("status", status), LOG_STR("callback", ok ? "ok" : "failed"),
             LOG_INT("http_status", http), LOG_INT("attempts", attempts));
out:
    curl_slist_free_all(headers);
    free(body);
}

static void twilio_receipt(sim_deliver_t *self, const job_t *job)
{
    char *to = NULL, *from = NULL, *mg = NULL, *url = NULL, code[16] = "";
    const char *steps[2];
    int nsteps = 0, error_code;

    sim_store_lock(self->store);
    sim_msg_t *m = sim_store_find(self->store, SIM_GW_TWILIO, job->id);
    if (!m) {
        sim_store_unlock(self->store);
        return;
    }
    sim_outcome_t outcome = m->outcome;
    const char *final = sim_outcome_twilio_status(outcome, &error_code);
    /* Twilio reports "sent" once a carrier took it, then the final word;
     * a message that failed never went out. */
    if (outcome != SIM_OUTCOME_TECHNICAL)
        steps[nsteps++] = "sent";
    if (outcome != SIM_OUTCOME_SILENT)
        steps[nsteps++] = final;
    to = strdup(m->to);
    from = m->from ? strdup(m->from) : NULL;
    mg = m->messaging_service_sid ? strdup(m->messaging_service_sid) : NULL;
    url = m->status_callback ? strdup(m->status_callback) : NULL;
    sim_store_unlock(self->store);
    if (!to || (!from && !mg))
        goto out;
    if (error_code)
        snprintf(code, sizeof code, "%d", error_code);

    for (int s = 0; s < nsteps; s++) {
        int last = s == nsteps - 1 && outcome != SIM_OUTCOME_SILENT;
        sim_store_lock(self->store);
        if (!(m = sim_store_find(self->store, SIM_GW_TWILIO, job->id))) {
            sim_store_unlock(self->store);
            goto out;
        }
        sim_store_set_status(self->store, m, steps[s], last ? error_code : 0, 1, last,
                             sim_now_ms());
        sim_store_unlock(self->store);
        if (!url) {
            log_info("sim.receipt", LOG_STR("gateway", "twilio"), LOG_ID("id", job->id),
                     LOG_STR("status", steps[s]), LOG_STR("callback", "none asked for"));
            continue;
        }
        sim_param_t params[10];
        size_t n = 0;
        params[n++] = (sim_param_t){"AccountSid", self->cfg->twilio_account_sid};
        params[n++] = (sim_param_t){"ApiVersion", "2010-04-01"};
        params[n++] = (sim_param_t){"MessageSid", job->id};
        params[n++] = (sim_param_t){"SmsSid", job->id};
        params[n++] = (sim_param_t){"MessageStatus", steps[s]};
        params[n++] = (sim_param_t){"SmsStatus", steps[s]};
        params[n++] = (sim_param_t){"To", to};
        params[n++] = (sim_param_t){"From", from ? from : mg};
        if (mg)
            params[n++] = (sim_param_t){"MessagingServiceSid", mg};
        if (last && code[0])
            params[n++] = (sim_param_t){"ErrorCode", code};
        twilio_callback(self, job, url, params, n, steps[s]);
    }
out:
    free(to);
    free(from);
    free(mg);
    free(url);
}

static void *run(void *arg)
{
    sim_deliver_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!atomic_load(&self->stopping)) {
        if (self->n == 0) {
            pthread_cond_wait(&self->wake, &self->lock);
            continue;
        }
        size_t first = 0;
        for (size_t i = 1; i < self->n; i++)
            if (self->jobs[i].due_ms < self->jobs[first].due_ms)
                first = i;
        if (self->jobs[first].due_ms > sim_now_ms()) {
            wait_until(self, self->jobs[first].due_ms); /* or until an earlier job arrives */
            continue;
        }
        job_t job = self->jobs[first];
        self->jobs[first] = self->jobs[--self->n];
        pthread_mutex_unlock(&self->lock);
        if (job.gw == SIM_GW_NOTIFY)
            notify_receipt(self, &job);
        else
            twilio_receipt(self, &job);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

sim_deliver_t *sim_deliver_new(const sim_config_t *cfg, sim_store_t *store)
{
    sim_deliver_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->store = store;
    atomic_init(&self->stopping, 0);
    if (!(self->curl = curl_easy_init()))
        goto fail_curl;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        goto fail_lock;
    if (pthread_cond_init(&self->wake, NULL) != 0)
        goto fail_cond;
    if (pthread_create(&self->thread, NULL, run, self) != 0)
        goto fail_thread;
    return self;
fail_thread:
    pthread_cond_destroy(&self->wake);
fail_cond:
    pthread_mutex_destroy(&self->lock);
fail_lock:
    curl_easy_cleanup(self->curl);
fail_curl:
    free(self);
    return NULL;
}

void sim_deliver_destroy(sim_deliver_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sim_deliver_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    atomic_store(&self->stopping, 1);
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    if (self->n)
        log_info("sim.receipts_dropped", LOG_INT("count", (long long)self->n),
                 LOG_STR("why", "the simulator stopped before they were due"));
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    curl_easy_cleanup(self->curl);
    free(self->jobs);
    free(self);
    *self_p = NULL;
}

rc_err_t sim_deliver_schedule(sim_deliver_t *self, sim_gateway_t gw, const char *id, int64_t due_ms)
{
    rc_err_t rc = RC_OK;
    pthread_mutex_lock(&self->lock);
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        job_t *jobs = realloc(self->jobs, cap * sizeof *jobs);
        if (!jobs) {
            rc = RC_ENOMEM;
            goto out;
        }
        self->jobs = jobs;
        self->cap = cap;
    }
    job_t *j = &self->jobs[self->n++];
    j->due_ms = due_ms;
    j->gw = gw;
    snprintf(j->id, sizeof j->id, "%s", id);
    pthread_cond_broadcast(&self->wake);
out:
    pthread_mutex_unlock(&self->lock);
    return rc;
}

size_t sim_deliver_pending(sim_deliver_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->n;
    pthread_mutex_unlock(&self->lock);
    return n;
}
