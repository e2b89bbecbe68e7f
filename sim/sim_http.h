/* sim_http.h - libmicrohttpd glue for the simulator: a thread per connection
 * (so a "slow" fault holds only its own), bodies gathered up to max_body,
 * and the connection-level faults: reset before the body is read, close
 * without an answer after it was handled. */
#ifndef ROLLCALL_SIM_HTTP_H
#define ROLLCALL_SIM_HTTP_H

#include "sim_api.h"

typedef struct sim_http sim_http_t;

/* sim_http_new listens on cfg->bind:cfg->port (0: a free port) and serves
 * ctx (borrowed; must outlive it) from its own threads. NULL when it
 * cannot listen; the reason is logged. */
sim_http_t *sim_http_new(const sim_ctx_t *ctx);

/* sim_http_port is the port it listens on. */
int sim_http_port(sim_http_t *self);

/* sim_http_destroy stops listening, cuts short any "slow" wait and waits
 * for the connection threads. NULL-safe, nulls *self_p. */
void sim_http_destroy(sim_http_t **self_p);

#endif
