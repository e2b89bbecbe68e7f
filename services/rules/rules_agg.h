/* rules_agg.h - a school's running totals and list indexes
 * (docs/reports-data.md), kept by deltas inside rules' transactions.
 *
 * Each pupil's stored hash holds what the pupil last contributed (field
 * `agg`, agg_contrib_format's text). When rules writes the pupil it makes
 * the new contribution, and the difference goes into the open transaction:
 * counters into a delta table flushed as HINCRBYs at the commit, index
 * membership as SADD/SREM/ZADD/ZREM of only what changed. A transaction that
 * fails takes its deltas with it (agg_delta_clear), and the pupils are read
 * again from Redis, contributions included, so totals never drift. */
#ifndef ROLLCALL_RULES_AGG_H
#define ROLLCALL_RULES_AGG_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "rollcall/date.h"
#include "rollcall/error.h"
#include "rollcall/metrics.h"
#include "rollcall/policy.h"
#include "rollcall/policy_eval.h"

#define AGG_NO_YEAR  (-100) /* the pupil's year group is not known */
#define AGG_TEXT_MAX 640    /* the stored text, NUL included */

/* What one pupil adds to its school's totals and indexes. */
typedef struct {
    int counted; /* 0: nothing (a pupil never written, or an unreadable text) */
    int year;    /* year group, or AGG_NO_YEAR */
    unsigned flags;
    uint32_t possible, attended, authorised, unauthorised;
    int pa, sa;
    int32_t pct10; /* attendance % x 10, rounded; -1 when there is none */
    char band[POLICY_NAME_MAX + 1];
    size_t ntracks;
    struct {
        char track[POLICY_NAME_MAX + 1];
        char stage[POLICY_NAME_MAX + 1]; /* "none" when on no stage */
        int32_t review;                  /* YYYYMMDD of the next review, 0 for none */
    } t[POLICY_MAX_TRACKS];
} agg_contrib_t;

/* agg_contrib_make describes a pupil with metrics m, policy state ps under
 * policy p, year group year (AGG_NO_YEAR) and PUPIL_* flags. */
void agg_contrib_make(agg_contrib_t *out, const policy_t *p, const pupil_policy_state_t *ps,
                      const metrics_t *m, int year, unsigned flags);

/* agg_contrib_format writes c as one line of text. */
void agg_contrib_format(const agg_contrib_t *c, char out[AGG_TEXT_MAX]);

/* agg_contrib_parse reads agg_contrib_format's text; RC_EPARSE (and c
 * cleared) when it is not one. */
rc_err_t agg_contrib_parse(const char *text, size_t len, agg_contrib_t *c);

#define AGG_ORDER_MAX 2048 /* agg_policy_order's stages text, NUL included */

/* agg_policy_order writes the policy's bands in its order ("green,amber,red")
 * and its tracks' stages in ladder order ("absence=stage_1,stage_2
 * lateness=letter_1"), for reports to show them as the policy does. */
void agg_policy_order(const policy_t *p, char bands[AGG_ORDER_MAX], char stages[AGG_ORDER_MAX]);

/* The counters an open transaction moves: fields of rs:agg:{urn} and of
 * rs:wk:{urn}, each with its summed delta. */
typedef struct agg_delta agg_delta_t;

agg_delta_t *agg_delta_new(void);
void agg_delta_destroy(agg_delta_t **self_p);

/* agg_delta_clear forgets every delta (the transaction was dropped). */
void agg_delta_clear(agg_delta_t *self);

/* agg_delta_contrib adds c (sign +1) or takes it away (sign -1). */
rc_err_t agg_delta_contrib(agg_delta_t *self, const agg_contrib_t *c, int sign);

/* agg_delta_mark moves the weekly trend for a session on date whose winning
 * code went from before to after (CODE_NONE-like: pass have_* 0 for none). */
rc_err_t agg_delta_mark(agg_delta_t *self, rc_date_t date, int have_before, att_code_t before,
                        int have_after, att_code_t after);

/* agg_delta_flush appends one HINCRBY per non-zero delta of school urn to
 * wr and clears the table; returns the number of commands appended. */
int agg_delta_flush(agg_delta_t *self, redisContext *wr, const char *urn);

/* agg_index_queue appends to wr the index changes of one pupil whose
 * contribution went from before to after; returns the commands appended. */
int agg_index_queue(redisContext *wr, const char *urn, const char *upn, const agg_contrib_t *before,
                    const agg_contrib_t *after);

#endif
