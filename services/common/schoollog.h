/* schoollog.h - each school's durable, ordered event log in Redis.
 *
 * Everything rules must apply in order for a school - register marks, clock
 * ticks, case facts, reference-data changes - is appended to one Redis
 * stream per school, numbered 1, 2, 3... with no gaps: entry id "<seq>-0",
 * one field "e" holding the protobuf Envelope (its seq left 0; the entry id is
 * the sequence). Ingest appends before it answers and then publishes the same
 * envelope live; a subscriber that sees a gap reads the log from its last
 * position (the ZeroMQ guide's Clone pattern).
 *
 * Marks are appended through a Redis function that applies the amendment
 * rule atomically: an exact duplicate of a mark already held is not
 * appended; an older mark is appended (kept for the record) but flagged as
 * not winning. Keys carry the URN as a hash tag, so a school's keys share a
 * Redis Cluster slot:
 *   rc:log:{<urn>}            stream, the log
 *   rc:seq:{<urn>}            string, the last sequence number given out
 *   rc:ids:{<urn>}            set, event ids of events stored once (case facts)
 *   rc:mv:{<urn>}:<upn>       hash "<date>:<AM|PM>" -> "<recorded_us>:<code>:<minutes>[,...]",
 *                             every version held, the winner first
 */
#ifndef ROLLCALL_SCHOOLLOG_H
#define ROLLCALL_SCHOOLLOG_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "rollcall/error.h"
#include "rollcall/metrics.h"

/* The key names above, for code that reads them directly (feed.c's
 * pipelined GETs and SCAN). */
#define SCHOOLLOG_SEQ_KEY_FMT   "rc:seq:{%s}"
#define SCHOOLLOG_SEQ_KEY_HEAD  "rc:seq:{"
#define SCHOOLLOG_SEQ_KEY_MATCH "rc:seq:{*}"
#define SCHOOLLOG_LOG_KEY_FMT   "rc:log:{%s}"
#define SCHOOLLOG_LOG_KEY_HEAD  "rc:log:{"

/* What became of one append. */
typedef enum {
    SCHOOLLOG_APPENDED = 0, /* stored; for a mark, it won its session */
    SCHOOLLOG_SUPERSEDED,   /* a mark older than the one held: stored, changes nothing */
    SCHOOLLOG_DUPLICATE,    /* identical to a mark already held: not stored again */
} schoollog_status_t;

typedef struct {
    schoollog_status_t status;
    uint64_t seq; /* the entry's sequence number; 0 for a duplicate */
} schoollog_result_t;

/* schoollog_install loads (or replaces) the Redis functions the log uses.
 * Redis keeps functions in its AOF and RDB, so once per start is enough.
 * Returns RC_EIO with *why set (static text or Redis's) on failure. */
rc_err_t schoollog_install(redisContext *redis, const char **why);

/* schoollog_queue_mark pipelines one mark's append (redisAppendCommand):
 * nothing is sent until a reply is read. env[0..len) is the encoded envelope.
 * Each queued append must be collected, in order, by schoollog_collect. */
rc_err_t schoollog_queue_mark(redisContext *redis, const mark_t *mark, const uint8_t *env,
                              size_t len);

/* schoollog_queue_event pipelines the append of a tick, fact or reference
 * change to urn's log. */
rc_err_t schoollog_queue_event(redisContext *redis, const char *urn, const uint8_t *env,
                               size_t len);

/* schoollog_queue_event_once is schoollog_queue_event for events that must
 * be stored once however often they are sent (case facts): an event whose
 * event_id urn's log already holds comes back SCHOOLLOG_DUPLICATE. */
rc_err_t schoollog_queue_event_once(redisContext *redis, const char *urn, const char *event_id,
                                    const uint8_t *env, size_t len);

/* schoollog_collect reads the reply of the oldest queued append into *out.
 * Returns RC_EIO when Redis failed (connection lost, or an error reply whose
 * text goes to *why when why is not NULL): the append may or may not have
 * happened, and the caller must not report the row as stored. */
rc_err_t schoollog_collect(redisContext *redis, schoollog_result_t *out, const char **why);

/* schoollog_last_seq reads the last sequence number given out for urn (0
 * when the log is empty). */
rc_err_t schoollog_last_seq(redisContext *redis, const char *urn, uint64_t *seq);

/* A callback receiving one log entry; return nonzero to stop reading. The
 * bytes are only valid during the call. */
typedef int (*schoollog_entry_fn)(void *ctx, const char *urn, uint64_t seq, const uint8_t *env,
                                  size_t len);

/* schoollog_read reads up to max entries of urn's log after sequence number
 * `after`, in order, calling fn for each. *n_read (when not NULL) gets the
 * number delivered. Returns RC_EIO when Redis failed, RC_EPARSE when an
 * entry is not of the log's shape. */
rc_err_t schoollog_read(redisContext *redis, const char *urn, uint64_t after, size_t max,
                        schoollog_entry_fn fn, void *ctx, size_t *n_read);

/* schoollog_read_stream is schoollog_read for any stream of the same shape
 * (ids "<seq>-0", field "e") named <key_head><urn>} (the rules service's
 * outbox, key_head "rs:outbox:{", is one). */
rc_err_t schoollog_read_stream(redisContext *redis, const char *key_head, const char *urn,
                               uint64_t after, size_t max, schoollog_entry_fn fn, void *ctx,
                               size_t *n_read);

#endif
