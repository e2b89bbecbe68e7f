/* sim_store.h - every message the simulated gateways accepted, and the counts
 * /_sim/stats reports.
 *
 * One mutex guards it all: the HTTP threads add and read messages, the
 * delivery thread moves their status on. A sim_msg_t found through the
 * store is only valid between sim_store_lock and sim_store_unlock.
 */
#ifndef ROLLCALL_SIM_STORE_H
#define ROLLCALL_SIM_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rollcall/error.h"
#include "sim_text.h"

typedef enum { SIM_GW_NOTIFY = 0, SIM_GW_TWILIO } sim_gateway_t;

typedef struct {
    sim_gateway_t gateway;
    char id[SIM_SID_LEN + 4];           /* Notify's UUID, or Twilio's SM sid */
    char type[8];                       /* "sms" or "email" */
    char *to;                           /* the recipient as the caller wrote it */
    char *from;                         /* Twilio From / Notify sender; NULL when none */
    char *messaging_service_sid;        /* Twilio; NULL when From was given */
    char template_id[SIM_UUID_LEN + 1]; /* Notify */
    char *body;                         /* rendered (Notify) or as given (Twilio) */
    char *subject;                      /* Notify email; NULL otherwise */
    json_t *personalisation;            /* Notify; owned; NULL when none was given */
    char *reference;                    /* Notify; NULL when none was given */
    char *status_callback;              /* Twilio StatusCallback; NULL when none */
    char status[24];                    /* the gateway's own status word */
    int error_code;                     /* Twilio error code of a failed message; 0 = none */
    int64_t created_ms;                 /* accepted */
    int64_t sent_ms;                    /* handed to the "network"; 0 = not yet */
    int64_t completed_ms;               /* final status reached; 0 = not yet */
    sim_outcome_t outcome;              /* what its receipt will say */
    int callbacks_ok;                   /* receipt POSTs answered 2xx */
    int callbacks_failed;               /* receipt POSTs given up on */
} sim_msg_t;

typedef struct sim_store sim_store_t;

/* sim_gateway_name is "notify" or "twilio". */
const char *sim_gateway_name(sim_gateway_t gw);

/* sim_msg_new returns a zeroed message, or NULL when out of memory. */
sim_msg_t *sim_msg_new(void);

/* sim_msg_destroy frees msg and what it owns; NULL-safe, nulls *msg_p. */
void sim_msg_destroy(sim_msg_t **msg_p);

/* sim_msg_json returns msg as /_sim/messages shows it (a new object, NULL
 * on ENOMEM). Call with the store locked when msg lives there. */
json_t *sim_msg_json(const sim_msg_t *msg);

/* sim_store_new returns an empty store that appends a JSON line per event
 * to record_path when it is not "" (NULL: the file cannot be opened, or out
 * of memory; errno says which). */
sim_store_t *sim_store_new(const char *record_path);

/* sim_store_destroy frees the store and its messages, closing the record
 * file; NULL-safe, nulls *self_p. */
void sim_store_destroy(sim_store_t **self_p);

/* sim_store_add takes ownership of *msg_p (nulling it) and keeps it.
 * RC_ENOMEM when it cannot (the message is freed). Locks by itself. */
rc_err_t sim_store_add(sim_store_t *self, sim_msg_t **msg_p);

/* sim_store_lock and sim_store_unlock bracket sim_store_find, sim_store_at
 * and any use of the messages they return. */
void sim_store_lock(sim_store_t *self);
void sim_store_unlock(sim_store_t *self);

/* sim_store_count is how many messages are kept; sim_store_at the i-th,
 * oldest first. Store locked. */
size_t sim_store_count(sim_store_t *self);
sim_msg_t *sim_store_at(sim_store_t *self, size_t i);

/* sim_store_find returns the message of gateway gw with id, or NULL. Store
 * locked. */
sim_msg_t *sim_store_find(sim_store_t *self, sim_gateway_t gw, const char *id);

/* sim_store_set_status moves msg (store locked) to status at now_ms,
 * writing a record line; sent and final set sent_ms / completed_ms. */
void sim_store_set_status(sim_store_t *self, sim_msg_t *msg, const char *status, int error_code,
                          int sent, int final, int64_t now_ms);

/* sim_store_clear forgets every message; returns how many there were. */
size_t sim_store_clear(sim_store_t *self);

/* sim_store_messages_json returns every message, oldest first, as a new
 * array (NULL on ENOMEM). Locks by itself. */
json_t *sim_store_messages_json(sim_store_t *self);

/* sim_store_count_request counts one request to gateway ("notify",
 * "twilio", "sim" or "other") answered with status (0: no answer). */
void sim_store_count_request(sim_store_t *self, const char *gateway, int status);

/* sim_store_count_callback counts one receipt POST that ended ok or not. */
void sim_store_count_callback(sim_store_t *self, int ok);

/* sim_store_stats_json returns the counts as a new object (NULL on
 * ENOMEM): requests by gateway and by status, messages by gateway and
 * status, callbacks ok and failed. Locks by itself. */
json_t *sim_store_stats_json(sim_store_t *self);

#endif
