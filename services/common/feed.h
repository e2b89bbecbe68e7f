/* feed.h - each followed school's events exactly once, in order: live from SUB, gaps from its log.
 *
 * The subscriber half of the ZeroMQ guide's Clone pattern. Ingest appends each
 * event to its school's log (schoollog.h), which numbers them 1, 2, 3... with
 * no gaps, then publishes it as two frames, [topic][Envelope with seq set].
 * PUB/SUB drops messages when a subscriber lags, so the live path is only a
 * fast path: the feed keeps each school's position (the last sequence number
 * its consumer accepted) and
 *   - delivers a live message whose seq is position + 1;
 *   - drops one whose seq is position or less (already delivered);
 *   - on a seq beyond position + 1 (a gap), reads the school's log from the
 *     position to its end, which delivers the live message too;
 *   - on feed_check_tail, compares every position with the log's last
 *     sequence number, since losing the last messages leaves nothing after
 *     them to reveal the gap.
 *
 * A main drives it from its poll loop:
 *
 *   feed = feed_new(redis, sub, rules_apply, rules);      sub: ZMQ_SUB, no subscriptions
 *   feed_follow(feed, urn, stored_position);              each school, or feed_follow_all
 *   feed_catch_up(feed);                                  from the stored positions to now
 *   while (!service_stopping()) {
 *       service_poll(svc, items, n);
 *       if (items[0].revents & ZMQ_POLLIN) feed_on_readable(feed);
 *       every second: feed_check_tail(feed);
 *   }
 *
 * Positions start from what the consumer stored durably and advance only
 * after it accepts a message, so a consumer that stores its position in the
 * same transaction as the state the message changed gets each message applied
 * exactly once across crashes. The feed itself stores nothing.
 *
 * Errors never move a position. When the consumer refuses a message, or
 * Redis fails, the call stops and returns the error; the school is then
 * "held": later live messages that would need its log are not read from it
 * until the next feed_check_tail or feed_catch_up retries (in-order live
 * messages are still delivered). A school whose log holds an entry that does
 * not decode is held at the entry before it (never skipped: that would lose
 * an event) and logged as feed.bad_log_entry on each retry; other schools go
 * on.
 *
 * Not thread-safe. The feed borrows the Redis connection and the socket; the
 * consumer may use the same Redis connection inside its callback (no reply
 * is pending then) but must not call feed_* functions from it.
 */
#ifndef ROLLCALL_FEED_H
#define ROLLCALL_FEED_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "rollcall/codec.h"
#include "rollcall/error.h"

#define FEED_BATCH 512 /* log entries read per Redis round trip */

/* feed_fn receives one message, msg->seq set to its sequence number in
 * msg->urn's log; msg is only valid during the call. Return RC_OK to accept
 * it (the position moves to msg->seq), anything else to refuse it: the
 * school is held and msg delivered again at the next catch-up or tail check.
 * RC_EIO and RC_ENOMEM also stop the call in progress (Redis or memory is the
 * problem, for every school); any other error stops only that school. */
typedef rc_err_t (*feed_fn)(void *ctx, const wire_msg_t *msg);

/* feed_position_fn gives the stored position of a school feed_follow_all
 * has just found (0 when the consumer has never seen it). An error leaves
 * the school unfollowed until it is seen again, and is returned. */
typedef rc_err_t (*feed_position_fn)(void *ctx, const char *urn, uint64_t *position);

/* Counters since feed_new, for metrics. */
typedef struct {
    uint64_t delivered;   /* messages the consumer accepted, live or from a log */
    uint64_t from_log;    /* of those, read from a log by a catch-up */
    uint64_t duplicates;  /* live messages already delivered (seq <= position), dropped */
    uint64_t gaps;        /* live messages that showed a gap (seq > position + 1) */
    uint64_t tail_behind; /* times feed_check_tail found a school behind its log */
    uint64_t held;        /* live messages past a gap of a held school, left to a retry */
    uint64_t refused;     /* times the consumer refused a message */
    uint64_t bad;         /* live messages that were not [topic][valid Envelope with seq] */
    uint64_t unknown;     /* live messages for schools not followed */
    uint64_t discovered;  /* schools feed_follow_all found and followed */
} feed_stats_t;

typedef struct feed feed_t;

/* Where a feed reads: a stream per school of the schoollog.h shape (ids
 * "<seq>-0", field "e" = the Envelope), the string key holding its last
 * seq, and the topics its entries are published on. */
typedef struct {
    const char *name;          /* "log", "outbox" */
    const char *seq_key_head;  /* "rc:seq:{", to find schools by SCAN */
    const char *seq_key_match; /* "rc:seq:{*}" */
    const char *log_key_head;  /* "rc:log:{": the stream is <head><urn>} */
    const char *const *roots;  /* topic roots, "mark." ... */
    size_t nroots;
    int per_school; /* 1: a school's topics are <root><urn>.; 0: subscribe the roots */
} feed_source_t;

/* Each school's log (schoollog.h): marks, ticks, facts, reference changes. */
extern const feed_source_t feed_source_log;
/* Each school's rules outbox (rules.h): pupil events on pupil.<la>.<urn>. */
extern const feed_source_t feed_source_outbox;

/* feed_new creates a feed delivering to fn(ctx, msg). redis and sub (a
 * connected ZMQ_SUB socket, whose subscriptions the feed sets) are borrowed
 * and must outlive the feed; fn must not be NULL. Returns NULL when out of
 * memory. */
feed_t *feed_new(redisContext *redis, void *sub, feed_fn fn, void *ctx);

/* feed_new_from is feed_new reading src (feed_new reads feed_source_log). */
feed_t *feed_new_from(redisContext *redis, void *sub, const feed_source_t *src, feed_fn fn,
                      void *ctx);

/* feed_destroy frees the feed; the socket keeps its subscriptions.
 * NULL-safe; sets *self_p to NULL. */
void feed_destroy(feed_t **self_p);

/* feed_set_redis points the feed at a new connection (borrowed), after the
 * caller has replaced one that failed. */
void feed_set_redis(feed_t *self, redisContext *redis);

/* feed_follow follows school urn from position, the last sequence number
 * the consumer has (0 = from the start of the log), subscribing to its
 * mark., tick., fact. and ref. topics. Nothing is read until feed_catch_up
 * or a live message. Returns RC_EINVAL for an invalid URN, RC_ESTATE when
 * it is already followed or when called from the consumer, RC_EIO when the
 * socket refuses the subscription, RC_ENOMEM. */
rc_err_t feed_follow(feed_t *self, const char *urn, uint64_t position);

/* feed_follow_all follows every school: it subscribes to the four topic
 * roots and follows a school the first time a live message names it, or
 * when feed_catch_up finds its log in Redis (SCAN; on a Redis Cluster, only
 * the node of this connection). Its starting position comes from
 * position_fn(ctx, urn, &position) (ctx being feed_new's), or is 0 when
 * position_fn is NULL. Schools may still be given with feed_follow, before
 * or after. A school whose every live message is lost is only found by the
 * next feed_catch_up, so call that now and then (each minute, say). Returns
 * RC_ESTATE when already following all or when called from the consumer,
 * RC_EIO when the socket refuses a subscription. */
rc_err_t feed_follow_all(feed_t *self, feed_position_fn position_fn);

/* feed_catch_up brings every followed school up to the end of its log
 * (after finding new schools, when following all), reading FEED_BATCH
 * entries per round trip. Call it once at start. Returns RC_OK; RC_EIO when
 * Redis failed, or the consumer's error, both stopping the call; or
 * RC_EPARSE when a school's log could not be read to its end (the others
 * still caught up). */
rc_err_t feed_catch_up(feed_t *self);

/* feed_on_readable takes the messages waiting on the socket, without
 * blocking (at most 4096 per call, so a flood cannot starve the caller's
 * other sockets), and acts on each as the banner says. A message that is
 * not [topic][Envelope] with a nonzero seq, or whose topic does not match
 * it, is logged (feed.bad_message) and dropped; one for a school not
 * followed is dropped. Returns RC_OK, or as feed_catch_up, with RC_EIO also
 * for a socket error. */
rc_err_t feed_on_readable(feed_t *self);

/* feed_check_tail reads the last sequence number of every followed school
 * (pipelined, a few hundred schools per round trip) and catches up those
 * behind, retrying held schools. Call it every second or so. Returns as
 * feed_catch_up. */
rc_err_t feed_check_tail(feed_t *self);

/* feed_rewind moves urn's position back to position (a consumer that
 * accepted messages but then lost them, e.g. a batched commit that failed)
 * and holds it, so the next feed_check_tail or feed_catch_up delivers again
 * from there. Allowed from inside the consumer. RC_ENOTFOUND when urn is
 * not followed. */
rc_err_t feed_rewind(feed_t *self, const char *urn, uint64_t position);

/* feed_set_stopping makes catch-ups end early (between batches) once
 * stopping() is true, so that a long backlog does not delay a shutdown. */
void feed_set_stopping(feed_t *self, int (*stopping)(void));

/* feed_position writes urn's position into *position. Returns RC_ENOTFOUND
 * when urn is not followed. */
rc_err_t feed_position(const feed_t *self, const char *urn, uint64_t *position);

/* feed_stats copies the counters into *out. */
void feed_stats(const feed_t *self, feed_stats_t *out);

#endif
