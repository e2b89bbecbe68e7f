/* fuzz_policy.c - any bytes into policy_load; what loads must keep the loader's rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_loaded aborts when an accepted policy breaks a rule the loader is
 * meant to enforce (the evaluator relies on them without checking). */
static void check_loaded(const policy_t *p)
{
    if (p->nbands == 0 || p->nbands > POLICY_MAX_BANDS || p->bands[p->nbands - 1].min_pct != 0.0)
        abort();
    for (size_t i = 1; i < p->nbands; i++)
        if (p->bands[i].min_pct > p->bands[i - 1].min_pct)
            abort();
    if (!policy_band(p, 0.0) || !policy_band(p, 100.0))
        abort();
    if (p->ntracks == 0 || p->ntracks > POLICY_MAX_TRACKS)
        abort();
    for (size_t t = 0; t < p->ntracks; t++) {
        const policy_track_t *tr = &p->tracks[t];
        if (tr->nstages == 0 || tr->nstages > POLICY_MAX_STAGES || tr->stages[0].escalation_only ||
            policy_track(p, tr->id) != tr)
            abort();
        for (size_t s = 0; s < tr->nstages; s++) {
            const policy_stage_t *st = &tr->stages[s];
            if (st->escalation_only != (st->when.n == 0) || st->nactions > POLICY_MAX_ACTIONS ||
                st->when.n > POLICY_MAX_ATOMS || strlen(st->id) > POLICY_NAME_MAX)
                abort();
            if (st->escalation_only && tr->stages[s - 1].if_not_improved != REVIEW_ESCALATE)
                abort();
            if (st->monitor_weeks == 0 && st->monitor_half_terms == 0 &&
                (st->improved.n || st->if_not_improved != REVIEW_STAY))
                abort();
            if (st->monitor_weeks && st->monitor_half_terms)
                abort();
        }
    }
}

/* LLVMFuzzerTestOneInput loads the bytes as a policy; refusals are fine,
 * crashes, leaks and broken rules are not. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[POLICY_ERR_MAX];
    policy_t *p = NULL;
    rc_err_t rc = policy_load((const char *)data, size, "fuzz.yaml", &p, err);
    if (rc == RC_OK) {
        check_loaded(p);
        policy_destroy(&p);
    } else if (p || memchr(err, '\0', sizeof err) == NULL || strncmp(err, "fuzz.yaml:", 10) != 0) {
        abort(); /* a refusal returns no policy and says where */
    }
    return 0;
}
