/* sim_store.c - accepted messages in arrival order, counters, the record file. */
#include "sim_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_store {
    pthread_mutex_t lock;
    sim_msg_t **msgs; /* owned, oldest first */
    size_t n, cap;
    json_t *requests;  /* {"total": n, "notify": n, ...} */
    json_t *responses; /* {"201": n, "400": n, "none": n} */
    long long callbacks_ok, callbacks_failed;
    FILE *record; /* owned; NULL when not recording */
};

const char *sim_gateway_name(sim_gateway_t gw)
{
    return gw == SIM_GW_TWILIO ? "twilio" : "notify";
}

sim_msg_t *sim_msg_new(void)
{
    return calloc(1, sizeof(sim_msg_t));
}

void sim_msg_destroy(sim_msg_t **msg_p)
{
    if (!msg_p || !*msg_p)
        return;
    sim_msg_t *m = *msg_p;
    free(m->to);
    free(m->from);
    free(m->messaging_service_sid);
    free(m->body);
    free(m->subject);
    json_decref(m->personalisation);
    free(m->reference);
    free(m->status_callback);
    free(m);
    *msg_p = NULL;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    char t[SIM_TIME_ISO_MAX];
    if (!ms)
        return json_null();
    sim_time_iso(ms, t);
    return json_string(t);
}

json_t *sim_msg_json(const sim_msg_t *m)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:O?, s:o, s:o, s:s, s:o, "
                     "s:o, s:o, s:o, s:i, s:i}",
                     "gateway", sim_gateway_name(m->gateway), "id", m->id, "type", m->type, "to",
                     str_or_null(m->to), "from", str_or_null(m->from), "messaging_service_sid",
                     str_or_null(m->messaging_service_sid), "template_id",
                     m->template_id[0] ? json_string(m->template_id) : json_null(), "body",
                     str_or_null(m->body), "subject", str_or_null(m->subject), "personalisation",
                     m->personalisation, "reference", str_or_null(m->reference), "status_callback",
                     str_or_null(m->status_callback), "status", m->status, "error_code",
                     m->error_code ? json_integer(m->error_code) : json_null(), "received_at",
                     time_or_null(m->created_ms), "sent_at", time_or_null(m->sent_ms),
                     "completed_at", time_or_null(m->completed_ms), "callbacks_ok", m->callbacks_ok,
                     "callbacks_failed", m->callbacks_failed);
}

sim_store_t *sim_store_new(const char *record_path)
{
    sim_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->requests = json_object();
    self->responses = json_object();
    if (!self->requests || !self->responses || pthread_mutex_init(&self->lock, NULL) != 0)
        goto fail;
    if (record_path && record_path[0] && !(self->record = fopen(record_path, "a"))) {
        pthread_mutex_destroy(&self->lock);
        goto fail;
    }
    return self;
fail:
    json_decref(self->requests);
    json_decref(self->responses);
    free(self);
    return NULL;
}

void sim_store_destroy(sim_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sim_store_t *self = *self_p;
    sim_store_clear(self);
    free(self->msgs);
    json_decref(self->requests);
    json_decref(self->responses);
    if (self->record)
        fclose(self->record);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* record writes one line (store locked); it steals line. Losing a line to a
 * full disk must not stop the gateway, so errors are ignored. */
static void record(sim_store_t *self, json_t *line)
{
    if (self->record && line) {
        char *s = json_dumps(line, JSON_COMPACT);
        if (s) {
            fprintf(self->record, "%s\n", s);
            fflush(self->record);
            free(s);
        }
    }
    json_decref(line);
}

rc_err_t sim_store_add(sim_store_t *self, sim_msg_t **msg_p)
{
    rc_err_t rc = RC_OK;
    pthread_mutex_lock(&self->lock);
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        sim_msg_t **msgs = realloc(self->msgs, cap * sizeof *msgs);
        if (!msgs) {
            rc = RC_ENOMEM;
            sim_msg_destroy(msg_p);
            goto out;
        }
        self->msgs = msgs;
        self->cap = cap;
    }
    self->msgs[self->n++] = *msg_p;
    record(self, json_pack("{s:s, s:o}", "event", "accepted", "message", sim_msg_json(*msg_p)));
    *msg_p = NULL;
out:
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void sim_store_lock(sim_store_t *self)
{
    pthread_mutex_lock(&self->lock);
}

void sim_store_unlock(sim_store_t *self)
{
    pthread_mutex_unlock(&self->lock);
}

size_t sim_store_count(sim_store_t *self)
{
    return self->n;
}

sim_msg_t *sim_store_at(sim_store_t *self, size_t i)
{
    return i < self->n ? self->msgs[i] : NULL;
}

sim_msg_t *sim_store_find(sim_store_t *self, sim_gateway_t gw, const char *id)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->msgs[i]->gateway == gw && strcmp(self->msgs[i]->id, id) == 0)
            return self->msgs[i];
    return NULL;
}

void sim_store_set_status(sim_store_t *self, sim_msg_t *msg, const char *status, int error_code,
                          int sent, int final, int64_t now_ms)
{
    char at[SIM_TIME_ISO_MAX];
    snprintf(msg->status, sizeof msg->status, "%s", status);
    msg->error_code = error_code;
    if (sent && !msg->sent_ms)
        msg->sent_ms = now_ms;
    if (final)
        msg->completed_ms = now_ms;
    sim_time_iso(now_ms, at);
    record(self,
           json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "status", "gateway",
                     sim_gateway_name(msg->gateway), "id", msg->id, "status", status, "at", at));
}

size_t sim_store_clear(sim_store_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->n;
    for (size_t i = 0; i < self->n; i++)
        sim_msg_destroy(&self->msgs[i]);
    self->n = 0;
    pthread_mutex_unlock(&self->lock);
    return n;
}

json_t *sim_store_messages_json(sim_store_t *self)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; arr && i < self->n; i++)
        if (json_array_append_new(arr, sim_msg_json(self->msgs[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    pthread_mutex_unlock(&self->lock);
    return arr;
}

static void bump(json_t *counts, const char *key)
{
    json_t *v = json_object_get(counts, key);
    json_object_set_new(counts, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

void sim_store_count_request(sim_store_t *self, const char *gateway, int status)
{
    char code[16];
    if (status)
        snprintf(code, sizeof code, "%d", status);
    else
        snprintf(code, sizeof code, "none");
    pthread_mutex_lock(&self->lock);
    bump(self->requests, "total");
    bump(self->requests, gateway);
    bump(self->responses, code);
    pthread_mutex_unlock(&self->lock);
}

void sim_store_count_callback(sim_store_t *self, int ok)
{
    pthread_mutex_lock(&self->lock);
    if (ok)
        self->callbacks_ok++;
    else
        self->callbacks_failed++;
    pthread_mutex_unlock(&self->lock);
}

json_t *sim_store_stats_json(sim_store_t *self)
{
    json_t *by_gw = json_pack("{s:{}, s:{}}", "notify", "twilio");
    json_t *out = NULL;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; by_gw && i < self->n; i++)
        bump(json_object_get(by_gw, sim_gateway_name(self->msgs[i]->gateway)),
             self->msgs[i]->status);
    if (by_gw)
        out =
            json_pack("{s:o, s:o, s:o, s:I, s:{s:I, s:I}}", "requests",
                      json_deep_copy(self->requests), "responses", json_deep_copy(self->responses),
                      "messages", by_gw, "messages_total", (json_int_t)self->n, "callbacks", "ok",
                      (json_int_t)self->callbacks_ok, "failed", (json_int_t)self->callbacks_failed);
    pthread_mutex_unlock(&self->lock);
    return out;
}
