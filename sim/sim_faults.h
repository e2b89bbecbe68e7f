/* sim_faults.h - the fault queue tests fill through POST /_sim/faults.
 *
 * Each fault names a path prefix ("" = any gateway path), an optional
 * method, a kind and how many matching requests it applies to. A request
 * takes the first queued fault that matches it, in the order they were
 * queued; a fault whose count is used up leaves the queue. /_sim/ paths
 * never take faults. Thread-safe: the HTTP threads share one queue.
 */
#ifndef ROLLCALL_SIM_FAULTS_H
#define ROLLCALL_SIM_FAULTS_H

#include <jansson.h>
#include <stddef.h>

#include "rollcall/error.h"

typedef enum {
    SIM_FAULT_STATUS = 0,         /* answer `status` in the gateway's error shape, record nothing */
    SIM_FAULT_RETRY_AFTER,        /* answer 429 (or `status`) with Retry-After: retry_after_s */
    SIM_FAULT_SLOW,               /* handle normally, then wait delay_ms before answering */
    SIM_FAULT_DROP_AFTER_RECEIVE, /* handle normally (record, deliver), close with no answer */
    SIM_FAULT_RESET_BEFORE_RECEIVE /* reset the connection before reading the body */
} sim_fault_kind_t;

typedef struct {
    sim_fault_kind_t kind;
    char path[256];    /* prefix of the request path; "" matches every gateway path */
    char method[16];   /* "" = any */
    int status;        /* STATUS: the status (default 500); RETRY_AFTER: default 429 */
    int retry_after_s; /* RETRY_AFTER: the header's value (default 1) */
    int delay_ms;      /* SLOW: the wait (default 1000) */
    int count;         /* requests it applies to (default 1) */
    char error[64];    /* STATUS / RETRY_AFTER: Notify "error" or Twilio "code"; "" = usual */
    char message[256]; /* and the message; "" = the usual one for the status */
} sim_fault_t;

typedef struct sim_faults sim_faults_t;

/* sim_fault_kind_name is "status", "retry_after", "slow", ... */
const char *sim_fault_kind_name(sim_fault_kind_t kind);

/* sim_fault_parse reads one fault from a JSON object (see sim/README.md),
 * filling defaults. Returns RC_OK, or RC_EINVAL with err (errlen bytes)
 * saying which field is wrong. */
rc_err_t sim_fault_parse(const json_t *obj, sim_fault_t *out, char *err, size_t errlen);

/* sim_fault_json returns the fault as a new JSON object, or NULL on ENOMEM. */
json_t *sim_fault_json(const sim_fault_t *f);

/* sim_faults_new returns an empty queue, or NULL when out of memory. */
sim_faults_t *sim_faults_new(void);

/* sim_faults_destroy frees the queue; NULL-safe, nulls *self_p. */
void sim_faults_destroy(sim_faults_t **self_p);

/* sim_faults_push appends a copy of f. RC_ENOMEM when it cannot. */
rc_err_t sim_faults_push(sim_faults_t *self, const sim_fault_t *f);

/* sim_faults_take finds the first queued fault matching method and path,
 * copies it to out, uses up one of its count and returns 1; 0 when none
 * matches (out untouched). */
int sim_faults_take(sim_faults_t *self, const char *method, const char *path, sim_fault_t *out);

/* sim_faults_clear empties the queue and returns how many faults it held. */
size_t sim_faults_clear(sim_faults_t *self);

/* sim_faults_pending returns the queue as a new JSON array (NULL on ENOMEM). */
json_t *sim_faults_pending(sim_faults_t *self);

/* sim_faults_consumed counts the requests that took a fault so far. */
size_t sim_faults_consumed(sim_faults_t *self);

#endif
