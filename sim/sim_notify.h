/* sim_notify.h - GOV.UK Notify API v2 as the simulator speaks it: send a text
 * or an email, get one notification or a filtered page of them. Any UUID is
 * a template; its body is made from the personalisation. */
#ifndef ROLLCALL_SIM_NOTIFY_H
#define ROLLCALL_SIM_NOTIFY_H

#include "sim_api.h"

/* sim_notify_handle answers a request whose path starts /v2/. */
void sim_notify_handle(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out);

/* sim_notify_error answers status in Notify's shape:
 * {"errors":[{"error":error,"message":message}],"status_code":status}.
 * A NULL error or message is the usual one for the status. */
void sim_notify_error(sim_response_t *out, int status, const char *error, const char *message);

/* sim_notify_receipt returns the delivery receipt JSON Notify would POST
 * for msg (store locked), as a new object; NULL on ENOMEM. */
json_t *sim_notify_receipt(const sim_msg_t *msg);

#endif
