/* notify.h - the notify service's logic: each pupil event in rules' outbox
 * becomes messages to the people who must hear of it, each sent exactly once
 * through a gateway (gateway.h), with every attempt and outcome kept.
 *
 * Planning (notify_apply, a feed_fn over the outboxes): an event whose
 * actions name templates gets, per template and channel the template has,
 * one message per address: SMS to every mobile and email to every address
 * of the pupil's contacts with parental responsibility (both parents, as
 * seed 001 insists), or of the pupil's social worker for a social-worker
 * alert. The same address never gets two of one event. A first-day text to
 * a parent of several children absent that day is one message naming them
 * all (merge_siblings). Letters are rendered for the school to print.
 * The messages and the school's position in the outbox are written in one
 * MULTI/EXEC, so an event is planned once whatever crashes.
 *
 * Redis, each key of a school tagged {<urn>}:
 *   rn:pos:{<urn>}           the last outbox entry planned
 *   rn:msg:{<urn>}:<key>     hash: one message (see notify.c for the fields)
 *   rn:due:{<urn>}           zset key -> when to look at it next (UTC us)
 *   rn:merge:{<urn>}:<hash>  the pending message siblings merge into
 *   rn:oseq:{<urn>}, rn:outcomes:{<urn>}
 *                            every outcome, a gap-free stream like the
 *                            school log (feed_source_outcomes), published on
 *                            outcome.<urn>.
 *   rn:audit:{<urn>}:<upn>   list: the outcome ids of the pupil's messages
 *   rn:letters:{<urn>}       zset: letters to print, key -> date as YYYYMMDD
 * A message's key is derived from (event id, contact, channel, template),
 * or for merged texts (school, date, template, channel, address); the
 * gateway reference is "rc-<urn>-<key>": no personal data.
 *
 * Sending (notify_send_due, notify_on_done): a due message is claimed
 * (state sending, attempts + 1, durable) before its request leaves. A
 * message found in state sending that is not in flight here (a crash, a
 * timeout, a dropped connection) is looked up at the gateway by reference
 * before anything is resent, so kill -9 at any instant never sends twice. */
#ifndef ROLLCALL_NOTIFY_H
#define ROLLCALL_NOTIFY_H

#include <hiredis/hiredis.h>

#include "notify/gateway.h"
#include "notify/notify_config.h"
#include "rollcall/codec.h"
#include "rollcall/error.h"
#include "rollcall/template.h"

typedef struct notify notify_t;

/* notify_new builds the logic over two Redis connections, rd for reads
 * (shared with the feed) and wr for its transactions (its own), the PUB
 * socket for outcomes (may be NULL) and the loaded templates (all borrowed).
 * NULL after logging why (a gateway misconfigured, out of memory). */
notify_t *notify_new(const notify_config_t *cfg, redisContext *rd, redisContext *wr, void *pub,
                     const template_set_t *templates);

void notify_destroy(notify_t **self_p);

/* notify_install loads the Redis functions notify uses (the shared rate
 * limit, the outcome log). Once per start. */
rc_err_t notify_install(notify_t *self);

/* notify_apply is a feed_fn over rules' outboxes: it plans msg's messages. */
rc_err_t notify_apply(void *self, const wire_msg_t *msg);

/* notify_position is a feed_position_fn: the last outbox entry planned. */
rc_err_t notify_position(void *self, const char *urn, uint64_t *position);

/* notify_owns is true when this process sends for urn. */
int notify_owns(const notify_t *self, const char *urn);

/* notify_run does the sending work that is ready without blocking: starts
 * due messages (up to max_in_flight), moves transfers on and records what
 * finished. Call it after polling notify_fds. */
void notify_run(notify_t *self);

/* notify_poll_items fills up to max items with the sockets libcurl waits
 * on; returns how many, and sets *timeout_ms to the longest the caller may
 * wait before calling notify_run. */
int notify_poll_items(notify_t *self, zmq_pollitem_t *items, int max, long *timeout_ms);

/* notify_receipt applies a delivery receipt; ref is our reference
 * ("rc-<urn>-<key>") when the gateway echoes it, else NULL and the
 * gateway's id is looked up. RC_ENOTFOUND for a message we do not know. */
rc_err_t notify_receipt(notify_t *self, const char *ref, const gateway_receipt_t *r);

/* Counters since notify_new. */
typedef struct {
    uint64_t events, planned, merged, no_recipient;
    uint64_t attempts, sent, retried, failed, unknown, reconciled_found, reconciled_resent;
    uint64_t receipts, quiet_deferred, rate_deferred;
} notify_stats_t;

void notify_stats(const notify_t *self, notify_stats_t *out);

#endif
