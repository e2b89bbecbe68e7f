/* rules.h - the rules service's logic: each school's events, in log order,
 * turned into every pupil's position up to the session and run through the
 * school's policy (policy_eval.h), with what the policy decides kept in a
 * durable outbox and published.
 *
 * State in Redis, every key of a school tagged {<urn>} so it shares one
 * Redis Cluster slot:
 *   rs:school:{<urn>}        hash: pos (the last log entry applied), out (the
 *                            last outbox entry), today (the school's
 *                            evaluation date), minute (of the day, local)
 *   rs:pupil:{<urn>}:<upn>   hash: slots (the winning marks, metrics.h's
 *                            stored form), every SPEC section 2 metric as a
 *                            field (possible_sessions ... attendance_pct),
 *                            band, stage:<track> (the stage id, "" for none)
 *                            and policy (policy_state.h's text)
 *   rs:pupils:{<urn>}        set of the UPNs with state
 *   rs:facts:{<urn>}:<upn>   list of the pupil's case facts (policy_state.h)
 *   rs:outbox:{<urn>}        stream: every pupil event, ids <n>-0 gap-free
 *                            from 1, field e = the Envelope (seq = n)
 *   rs:out:{<urn>}           string: the outbox's last n (0 when empty), so
 *                            subscribers read it like a log (feed.h's
 *                            feed_source_outbox)
 *   rs:hist:{<urn>}:<upn>    list: the outbox ids of the pupil's events
 *   rs:agg, rs:wk, rs:ix:*, rs:refs, rs:alerts:<date> (all {<urn>}): the
 *                            school's totals, weekly trend and list indexes
 *                            for reports, moved by deltas (rules_agg.h,
 *                            docs/reports-data.md)
 * A run of a school's log entries (up to RULES_BATCH, ended by an entry of
 * another school or by rules_flush) is written with its outbox entries and
 * the new pos in one MULTI/EXEC on rules' own connection, so kill -9 at any
 * instant leaves either all of a run applied or none, and a restart resumes
 * from pos with exactly the state and outbox an undisturbed run has. Reads go
 * through the connection the feed uses; nothing is read inside a MULTI. Events are published after
 * the EXEC on pupil.<la>.<urn>.<kind>. (and referrals also on referral.<la>.<urn>.); a subscriber
 * that missed one reads it from the outbox.
 *
 * Time (SPEC section 6): in replay mode a school's date and minute move only
 * with the ticks in its log; until its first tick the date is that of the
 * first mark applied. In wall mode rules_clock moves them. The same log gives
 * the same state and byte-identical outboxes, on any machine.
 *
 * A school whose policy file is missing or invalid is held: nothing of its
 * log is applied (so nothing is decided without its policy) and the reason is
 * logged at each attempt, until the file is mended. */
#ifndef ROLLCALL_RULES_H
#define ROLLCALL_RULES_H

#include <hiredis/hiredis.h>

#include "rollcall/codec.h"
#include "rollcall/error.h"
#include "rules/rules_config.h"

#define RULES_BATCH 256 /* log entries of one school per MULTI/EXEC at most */

typedef struct rules rules_t;

/* rules_new builds the logic over two Redis connections, rd for reads and
 * wr for its transactions (no one else may use wr), and a ZeroMQ PUB socket
 * (all borrowed and outliving it; pub may be NULL: nothing is published) for
 * the schools cfg->schools names ("" = every school). NULL on allocation
 * failure. */
rules_t *rules_new(const rules_config_t *cfg, redisContext *rd, redisContext *wr, void *pub);

/* A rules_rewind_fn is told that urn's entries after position, accepted
 * earlier, were lost with a failed commit and must be delivered again
 * (feed_rewind). */
typedef void (*rules_rewind_fn)(void *ctx, const char *urn, uint64_t position);

/* rules_on_rewind sets who is told of lost entries. */
void rules_on_rewind(rules_t *self, rules_rewind_fn fn, void *ctx);

/* rules_destroy frees *self_p and its cached schools; NULL-safe. */
void rules_destroy(rules_t **self_p);

/* rules_owns is true when this worker applies urn's events. */
int rules_owns(const rules_t *self, const char *urn);

/* rules_apply is a feed_fn: it applies one log entry of msg->urn inside the
 * school's open MULTI (committing another school's first). RC_EIO when
 * Redis failed, RC_ENOTFOUND when the school is held (no usable policy),
 * RC_ENOMEM: the school's open run is then dropped and rewound. */
rc_err_t rules_apply(void *self, const wire_msg_t *msg);

/* rules_flush commits the open run, if any, then publishes its events. Call
 * it after each feed call, so that nothing waits. On failure the run is
 * dropped and rewound, and the error returned. */
rc_err_t rules_flush(rules_t *self);

/* rules_position is a feed_position_fn: the stored position of urn (0 when
 * none; a held school's too, so it resumes there), or RC_ENOTFOUND for a
 * school this worker does not own. */
rc_err_t rules_position(void *self, const char *urn, uint64_t *position);

/* rules_clock moves every school this worker has loaded to the wall-clock
 * instant now (UTC microseconds) at utc_offset_s, evaluating each pupil when
 * the local minute changed; for wall mode only (replay mode ignores it).
 * Returns the first error met (the other schools are still moved). */
rc_err_t rules_clock(rules_t *self, rc_time_t now, int32_t utc_offset_s);

/* Counters since rules_new, for logs and metrics. */
typedef struct {
    uint64_t applied;   /* log entries applied */
    uint64_t marks;     /* marks that changed a pupil's state */
    uint64_t unchanged; /* marks that changed nothing (older than the one held) */
    uint64_t ticks;
    uint64_t facts;
    uint64_t events; /* pupil events written to the outbox */
    uint64_t commits_failed;
    uint64_t publish_failed;
} rules_stats_t;

/* rules_stats copies the counters. */
void rules_stats(const rules_t *self, rules_stats_t *out);

#endif
