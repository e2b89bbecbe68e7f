/* lafeed.h - the LA referral feed: each referral in the schools' outboxes
 * into its LA's durable log once, then out to that LA's subscribers over CURVE.
 *
 * Redis (reports' own keys, docs/la-feed.md):
 *   rp:ref:{<la>}   stream: the LA's referrals, ids <n>-0 numbered 1, 2, 3...
 *                   with no gaps; fields urn, upn, kind, date, reason, event_id
 *   rp:seen:{<la>}  hash: event id -> log id of every entry, so an event is
 *                   never logged twice, even if a position is lost
 *   rp:pos:{<urn>}  string: the last outbox entry of the school taken (absent: 0)
 * lafeed_apply is a feed_fn (common/feed.h) over feed_source_outbox. A
 * referral goes in through the Redis function rollcall_lafeed_refer, which in
 * one atomic step checks the school's position and the event id, appends the
 * entry with the next id and moves the position, so a kill -9 at any point
 * neither loses nor repeats an entry; other events only move the position.
 *
 * After the entry is stored it is published on the XPUB socket as
 * [referral.<la>.<urn>.][one JSON object]: id, prev (id - 1: a subscriber
 * that last saw another id has a gap), la, urn, upn, kind, date, reason,
 * event_id.
 *
 * Every LA socket is a CURVE server under one secret key, in ZAP domain
 * LAFEED_ZAP_DOMAIN. The service's ZAP handler (service_zap, started before
 * they bind) asks lafeed_zap_admit, which looks the client's public key up in the
 * clients file and answers 200 with the key's LA code as the User-Id, or 400.
 * libzmq lets every client in when no handler is bound, so the handler must
 * be bound before the CURVE sockets. The XPUB socket is in manual mode: each
 * subscription is checked against the User-Id of the connection it came on
 * (lafeed_on_subscribe) and only referral.<that la>. (or a longer prefix)
 * is applied. The ROUTER socket (lafeed_on_replay) answers a client's
 * {"req": r, "after": n} with its own LA's entries after n, a page at a
 * time: {"req": r, "la": ..., "last": <the log's last id>, "entries": [...]}.
 *
 * Not thread-safe: one main loop drives it.
 */
#ifndef ROLLCALL_LAFEED_H
#define ROLLCALL_LAFEED_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/ids.h"

#define LAFEED_ZAP_DOMAIN  "rollcall-la"
#define LAFEED_KEY_Z85     40   /* characters of a Z85 CURVE key */
#define LAFEED_LABEL_MAX   64   /* bytes of a client's label */
#define LAFEED_ERR_MAX     160  /* bytes of a load error, NUL included */
#define LAFEED_MAX_CLIENTS 4096 /* lines of a clients file */
#define LAFEED_PAGE        200  /* entries in one replay answer */

/* One entry of an LA's log. */
typedef struct {
    uint64_t id; /* n of its stream id <n>-0 */
    char la[RC_LA_LEN + 1];
    char urn[RC_URN_LEN + 1];
    char upn[RC_UPN_LEN + 1];
    char kind[CODEC_NAME_MAX + 1]; /* referral_kind_name: cme, penalty_threshold... */
    char date[RC_DATE_STRLEN];     /* the school date, YYYY-MM-DD */
    char reason[CODEC_REASON_MAX + 1];
    char event_id[CODEC_ID_MAX + 1]; /* the pupil event's */
} lafeed_referral_t;

/* lafeed_referral_json returns r as one compact JSON object (id, prev, la,
 * urn, upn, kind, date, reason, event_id), malloc'd, or NULL when out of
 * memory. The same entry always gives the same bytes. */
char *lafeed_referral_json(const lafeed_referral_t *r);

/* ---- the clients file ---- */

/* Who may connect: one client a line, blank lines and '#' comments allowed,
 *   <Z85 CURVE public key, 40 characters> <LA code> <label>
 * the label (the rest of the line) naming the client in logs. */
typedef struct lafeed_clients lafeed_clients_t;

/* lafeed_clients_parse reads text[0..len) into *out (the caller's:
 * lafeed_clients_destroy). RC_EPARSE with err naming the line and the
 * problem (never the key) for a malformed line or a key listed twice,
 * RC_ERANGE past LAFEED_MAX_CLIENTS lines, RC_ENOMEM. *out is NULL on error. */
rc_err_t lafeed_clients_parse(const char *text, size_t len, lafeed_clients_t **out,
                              char err[LAFEED_ERR_MAX]);

/* lafeed_clients_load reads the file at path as lafeed_clients_parse does;
 * an empty path gives no clients (every key refused). RC_EIO with err naming
 * the path when it cannot be read. */
rc_err_t lafeed_clients_load(const char *path, lafeed_clients_t **out, char err[LAFEED_ERR_MAX]);

/* lafeed_clients_destroy frees *self_p and sets it NULL; NULL-safe. */
void lafeed_clients_destroy(lafeed_clients_t **self_p);

/* lafeed_clients_count is the number of clients held (0 for NULL). */
size_t lafeed_clients_count(const lafeed_clients_t *self);

/* lafeed_clients_find returns the LA code of the client whose public key is
 * key[0..32) (borrowed from self), with its label in *label when label is
 * not NULL; NULL when the key is not listed. */
const char *lafeed_clients_find(const lafeed_clients_t *self, const uint8_t key[32],
                                const char **label);

/* lafeed_subscription_allowed is true when prefix[0..len) is one a client
 * of LA la may subscribe to: referral.<la>. or longer. */
int lafeed_subscription_allowed(const char *la, const uint8_t *prefix, size_t len);

/* lafeed_secret_check accepts "" or a Z85 CURVE secret key (a config_check_fn). */
rc_err_t lafeed_secret_check(const char *value, const char **why);

/* ---- the feed ---- */

typedef struct {
    uint64_t referrals;     /* entries added to an LA's log */
    uint64_t duplicates;    /* referrals the log already held (a restart), not added */
    uint64_t published;     /* live messages sent */
    uint64_t zap_ok;        /* connections let in */
    uint64_t zap_refused;   /* connections refused: unknown key, wrong domain or mechanism */
    uint64_t subscribed;    /* subscriptions applied */
    uint64_t sub_refused;   /* subscriptions refused: outside the client's LA */
    uint64_t replays;       /* replay requests answered with entries */
    uint64_t replay_errors; /* replay requests refused or failed */
} lafeed_stats_t;

typedef struct lafeed lafeed_t;

/* lafeed_new creates the feed writing through redis (borrowed; the feed's
 * connection may be shared) and letting in clients (borrowed, may be NULL:
 * nobody). Returns NULL when out of memory. */
lafeed_t *lafeed_new(redisContext *redis, const lafeed_clients_t *clients);

/* lafeed_destroy frees the feed. NULL-safe; sets *self_p to NULL. */
void lafeed_destroy(lafeed_t **self_p);

/* lafeed_set_redis points the feed at a new connection (borrowed). */
void lafeed_set_redis(lafeed_t *self, redisContext *redis);

/* lafeed_install loads the Redis function rollcall_lafeed_refer (FUNCTION
 * LOAD REPLACE). RC_EIO after logging why. */
rc_err_t lafeed_install(lafeed_t *self);

/* lafeed_listen makes socket (an XPUB or ROUTER of the service, not yet
 * bound) a CURVE server with secret_z85 in LAFEED_ZAP_DOMAIN (an XPUB also
 * in manual mode) and binds it to endpoint. RC_EIO after logging why (never
 * the key). */
rc_err_t lafeed_listen(void *socket, const char *secret_z85, const char *endpoint);

/* lafeed_set_pub gives the XPUB socket (borrowed) live referrals go out
 * on; without one they are only logged. */
void lafeed_set_pub(lafeed_t *self, void *pub);

/* lafeed_apply is the feed_fn: it stores msg when it is a referral (see the
 * banner) and moves the school's position. RC_EIO when Redis failed (the
 * position is then unchanged). */
rc_err_t lafeed_apply(void *ctx, const wire_msg_t *msg);

/* lafeed_position is the feed_position_fn: the school's stored position. */
rc_err_t lafeed_position(void *ctx, const char *urn, uint64_t *position);

/* lafeed_zap_admit is the service_zap_fn (common/service.h) for
 * LAFEED_ZAP_DOMAIN: a listed key is let in with its LA as the user id. */
int lafeed_zap_admit(void *ctx, const char *domain, const uint8_t key[32], const char *address,
                     char user_id[64]);

/* lafeed_on_subscribe reads the (un)subscriptions waiting on the XPUB
 * socket, without blocking, applying those inside the sender's LA and
 * logging the others (lafeed.subscription_refused). */
void lafeed_on_subscribe(lafeed_t *self, void *xpub);

/* lafeed_on_replay answers the requests waiting on router, without blocking
 * (at most 64 a call). */
void lafeed_on_replay(lafeed_t *self, void *router);

/* lafeed_stats copies the counters into *out. */
void lafeed_stats(const lafeed_t *self, lafeed_stats_t *out);

#endif
