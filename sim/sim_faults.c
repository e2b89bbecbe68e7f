/* sim_faults.c - a mutex-guarded FIFO of faults; small, so searched linearly. */
#include "sim_faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_faults {
    pthread_mutex_t lock;
    sim_fault_t *items; /* queued faults, oldest first */
    size_t n, cap;
    size_t consumed; /* requests that took one */
};

static const char *const kind_names[] = {"status", "retry_after", "slow", "drop_after_receive",
                                         "reset_before_receive"};

const char *sim_fault_kind_name(sim_fault_kind_t kind)
{
    return (size_t)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

static int int_field(const json_t *obj, const char *key, int lo, int hi, int *out, char *err,
                     size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 1;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "%s must be an integer from %d to %d", key, lo, hi);
        return 0;
    }
    *out = (int)json_integer_value(v);
    return 1;
}

static int str_field(const json_t *obj, const char *key, char *out, size_t cap, char *err,
                     size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (json_is_integer(v)) { /* a Twilio error code given as a number */
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return 1;
    }
    if (!json_is_string(v) || json_string_length(v) >= cap) {
        snprintf(err, errlen, "%s must be a string of at most %zu bytes", key, cap - 1);
        return 0;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 1;
}

rc_err_t sim_fault_parse(const json_t *obj, sim_fault_t *out, char *err, size_t errlen)
{
    sim_fault_t f = {.status = 0, .retry_after_s = 1, .delay_ms = 1000, .count = 1};
    const json_t *kind;
    size_t k;

    if (!json_is_object(obj)) {
        snprintf(err, errlen, "a fault is a JSON object");
        return RC_EINVAL;
    }
    kind = json_object_get(obj, "kind");
    for (k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++)
        if (json_is_string(kind) && strcmp(json_string_value(kind), kind_names[k]) == 0)
            break;
    if (k == sizeof kind_names / sizeof kind_names[0]) {
        snprintf(err, errlen,
                 "kind must be one of status, retry_after, slow, drop_after_receive, "
                 "reset_before_receive");
        return RC_EINVAL;
    }
    f.kind = (sim_fault_kind_t)k;
    if (!str_field(obj, "path", f.path, sizeof f.path, err, errlen) ||
        !str_field(obj, "method", f.method, sizeof f.method, err, errlen) ||
        !str_field(obj, "error", f.error, sizeof f.error, err, errlen) ||
        !str_field(obj, "message", f.message, sizeof f.message, err, errlen) ||
        !int_field(obj, "status", 100, 599, &f.status, err, errlen) ||
        !int_field(obj, "retry_after_s", 0, 86400, &f.retry_after_s, err, errlen) ||
        !int_field(obj, "delay_ms", 0, 600000, &f.delay_ms, err, errlen) ||
        !int_field(obj, "count", 1, 1000000, &f.count, err, errlen))
        return RC_EINVAL;
    if (f.status == 0)
        f.status = f.kind == SIM_FAULT_RETRY_AFTER ? 429 : 500;
    *out = f;
    return RC_OK;
}

json_t *sim_fault_json(const sim_fault_t *f)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:s}", "kind",
                     sim_fault_kind_name(f->kind), "path", f->path, "method", f->method, "status",
                     f->status, "retry_after_s", f->retry_after_s, "delay_ms", f->delay_ms, "count",
                     f->count, "error", f->error, "message", f->message);
}

sim_faults_t *sim_faults_new(void)
{
    sim_faults_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void sim_faults_destroy(sim_faults_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

rc_err_t sim_faults_push(sim_faults_t *self, const sim_fault_t *f)
{
    rc_err_t rc = RC_OK;
    pthread_mutex_lock(&self->lock);
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        sim_fault_t *items = realloc(self->items, cap * sizeof *items);
        if (!items) {
            rc = RC_ENOMEM;
            goto out;
        }
        self->items = items;
        self->cap = cap;
    }
    self->items[self->n++] = *f;
out:
    pthread_mutex_unlock(&self->lock);
    return rc;
}

static int matches(const sim_fault_t *f, const char *method, const char *path)
{
    return strncmp(path, f->path, strlen(f->path)) == 0 &&
           (!f->method[0] || strcmp(f->method, method) == 0);
}

int sim_faults_take(sim_faults_t *self, const char *method, const char *path, sim_fault_t *out)
{
    int found = 0;
    if (strncmp(path, "/_sim/", 6) == 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n; i++) {
        if (!matches(&self->items[i], method, path))
            continue;
        *out = self->items[i];
        out->count = 1;
        if (--self->items[i].count == 0) {
            memmove(&self->items[i], &self->items[i + 1],
                    (self->n - i - 1) * sizeof self->items[0]);
            self->n--;
        }
        self->consumed++;
        found = 1;
        break;
    }
    pthread_mutex_unlock(&self->lock);
    return found;
}

size_t sim_faults_clear(sim_faults_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->n;
    self->n = 0;
    pthread_mutex_unlock(&self->lock);
    return n;
}

json_t *sim_faults_pending(sim_faults_t *self)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; arr && i < self->n; i++)
        if (json_array_append_new(arr, sim_fault_json(&self->items[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    pthread_mutex_unlock(&self->lock);
    return arr;
}

size_t sim_faults_consumed(sim_faults_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->consumed;
    pthread_mutex_unlock(&self->lock);
    return n;
}
