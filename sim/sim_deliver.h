/* sim_deliver.h - delivery receipts: a worker thread that, when a message's
 * receipt is due, moves it to its final status and POSTs the callbacks the
 * real gateway would: Notify's JSON receipt to notify_callback_url with the
 * bearer token, Twilio's form-encoded status callbacks ("sent", then the
 * final status) to the message's StatusCallback, signed with
 * X-Twilio-Signature. A POST that fails (no connection, or not 2xx) is
 * tried callback_attempts times, 250 ms apart and doubling.
 */
#ifndef ROLLCALL_SIM_DELIVER_H
#define ROLLCALL_SIM_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/error.h"
#include "sim_config.h"
#include "sim_store.h"

typedef struct sim_deliver sim_deliver_t;

/* sim_deliver_new starts the worker over store with cfg's callback
 * settings (both borrowed, and must outlive it). NULL when the thread
 * cannot start or out of memory. */
sim_deliver_t *sim_deliver_new(const sim_config_t *cfg, sim_store_t *store);

/* sim_deliver_destroy stops the worker, waiting for a POST under way (at
 * most callback_timeout), and drops receipts not yet due, logging how many.
 * NULL-safe, nulls *self_p. */
void sim_deliver_destroy(sim_deliver_t **self_p);

/* sim_deliver_schedule asks for the receipt of message id of gateway gw at
 * due_ms (wall clock). RC_ENOMEM when it cannot be queued. */
rc_err_t sim_deliver_schedule(sim_deliver_t *self, sim_gateway_t gw, const char *id,
                              int64_t due_ms);

/* sim_deliver_pending counts receipts not yet sent. */
size_t sim_deliver_pending(sim_deliver_t *self);

#endif
