/* sim_twilio.h - Twilio Programmable Messaging as the simulator speaks it:
 * create a Message, fetch one, list them (To, From and the DateSent filters,
 * newest first, PageSize and Page); basic auth; Twilio's error shape. */
#ifndef ROLLCALL_SIM_TWILIO_H
#define ROLLCALL_SIM_TWILIO_H

#include "sim_api.h"

/* sim_twilio_handle answers a request whose path starts /2010-04-01/. */
void sim_twilio_handle(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out);

/* sim_twilio_error answers status in Twilio's shape: {"code", "message",
 * "more_info", "status"}. code 0 is 20000 + status (20429, 20500...); a
 * NULL message is the usual one. */
void sim_twilio_error(sim_response_t *out, int status, int code, const char *message);

#endif
