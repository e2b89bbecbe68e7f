/* rules.h - the rules service's logic: each school's events, in log order,
 * turned into every pupil's position up to the session, kept in Redis.
 *
 * State in Redis, every key of a school tagged {<urn>} so it shares one
 * Redis Cluster slot:
 *   rs:school:{<urn>}        hash: pos (the last log entry applied), today
 *                            (the school's evaluation date), now (the last
 *                            tick, UTC microseconds), offset (its UTC offset)
 *   rs:pupil:{<urn>}:<upn>   hash: slots (the winning marks, metrics.h's
 *                            stored form) and every SPEC section 2 metric as
 *                            a field (possible_sessions ... attendance_pct)
 *   rs:pupils:{<urn>}        set of the UPNs with state
 * Each log entry's effects and the new pos are written in one MULTI/EXEC, so
 * kill -9 at any instant leaves either all of an entry applied or none, and a
 * restart resumes from pos with exactly the state an undisturbed run has.
 *
 * Time (SPEC section 6): a school's evaluation date moves only with the ticks
 * in its log (replay mode); until its first tick it is the date of the
 * latest mark applied. */
#ifndef ROLLCALL_RULES_H
#define ROLLCALL_RULES_H

#include <hiredis/hiredis.h>

#include "rollcall/codec.h"
#include "rollcall/error.h"
#include "rules/rules_config.h"

typedef struct rules rules_t;

/* rules_new builds the logic over a Redis connection (borrowed; must
 * outlive it) for the schools cfg->schools names ("" = every school).
 * Returns NULL on allocation failure. */
rules_t *rules_new(const rules_config_t *cfg, redisContext *redis);

/* rules_destroy frees *self_p and its cached schools; NULL-safe. */
void rules_destroy(rules_t **self_p);

/* rules_owns is true when this worker applies urn's events. */
int rules_owns(const rules_t *self, const char *urn);

/* rules_apply is a feed_fn: it applies one log entry of msg->urn and stores
 * the result with the new position atomically. RC_EIO when Redis failed
 * (nothing changed; the feed delivers the entry again), RC_ENOMEM. */
rc_err_t rules_apply(void *self, const wire_msg_t *msg);

/* rules_position is a feed_position_fn: the stored position of urn (0 when
 * none), or RC_ENOTFOUND for a school this worker does not own. */
rc_err_t rules_position(void *self, const char *urn, uint64_t *position);

/* Counters since rules_new, for logs and metrics. */
typedef struct {
    uint64_t applied;   /* log entries applied */
    uint64_t marks;     /* marks that changed a pupil's state */
    uint64_t unchanged; /* marks that changed nothing (older than the one held) */
    uint64_t ticks;
    uint64_t commits_failed;
} rules_stats_t;

/* rules_stats copies the counters. */
void rules_stats(const rules_t *self, rules_stats_t *out);

#endif
