/* sim_api.h - the simulated gateways without the sockets: a parsed request
 * in, the answer (and what to do with the connection) out.
 *
 *   /v2/notifications...                    GOV.UK Notify API v2 (sim_notify.c)
 *   /2010-04-01/Accounts/{sid}/Messages...  Twilio Programmable Messaging (sim_twilio.c)
 *   /_sim/...                               faults, messages and stats for tests
 *
 * sim_http.c feeds it from libmicrohttpd; tests can call it directly.
 */
#ifndef ROLLCALL_SIM_API_H
#define ROLLCALL_SIM_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_auth.h"
#include "sim_config.h"
#include "sim_deliver.h"
#include "sim_faults.h"
#include "sim_store.h"

typedef struct {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* without the query string */
    const sim_param_t *query; /* decoded query arguments, in order; repeats kept */
    size_t nquery;
    const char *authorization; /* header values; NULL when absent */
    const char *content_type;
    const char *host; /* for the absolute URIs in answers */
    const char *body; /* not NUL-terminated; body_len bytes */
    size_t body_len;
    int64_t now_ms; /* wall clock */
} sim_request_t;

typedef enum {
    SIM_ACT_RESPOND = 0, /* send the answer */
    SIM_ACT_DROP,        /* close the connection without answering */
} sim_action_t;

typedef struct {
    int status;
    char *body;                   /* owned by the caller after sim_handle; NULL = no memory */
    const char *content_type;     /* static */
    int retry_after_s;            /* >= 0: send Retry-After; -1: none */
    const char *www_authenticate; /* static, or NULL */
    sim_action_t action;
    int delay_ms;        /* wait this long before answering */
    const char *gateway; /* "notify", "twilio", "sim" or "other": for counts and logs */
} sim_response_t;

/* What the gateway handlers share; all borrowed. deliver may be NULL: no
 * receipts are then sent. */
typedef struct {
    const sim_config_t *cfg;
    sim_store_t *store;
    sim_faults_t *faults;
    sim_deliver_t *deliver;
} sim_ctx_t;

/* sim_take_fault is called once a request's method and path are known,
 * before its body is read: it takes the fault that applies, if any (see
 * sim_faults.h), logs it and returns 1. */
int sim_take_fault(const sim_ctx_t *ctx, const char *method, const char *path, sim_fault_t *out);

/* sim_handle answers req into *out (zeroed first), applying fault (the one
 * sim_take_fault took, or NULL): a status or retry_after fault answers in
 * the gateway's error shape without handling the request; slow handles it
 * and sets delay_ms; drop_after_receive handles it and sets SIM_ACT_DROP.
 * The caller frees out->body. */
void sim_handle(const sim_ctx_t *ctx, const sim_request_t *req, const sim_fault_t *fault,
                sim_response_t *out);

/* sim_reply_json sets out to status with body (stolen; NULL means out of
 * memory, answered 503) as JSON. For the gateway handlers. */
void sim_reply_json(sim_response_t *out, int status, json_t *body);

/* sim_base_url writes "http://<host>" (the request's host and port, else
 * the bind address alone) into out, for absolute URIs. */
void sim_base_url(const sim_ctx_t *ctx, const sim_request_t *req, char *out, size_t cap);

/* sim_query returns the first query argument named key, or NULL. */
const char *sim_query(const sim_request_t *req, const char *key);

#endif
