/* policy_state.h - a pupil's policy state (policy_eval.h's
 * pupil_policy_state_t) and case facts in the text forms the rules service
 * stores in Redis: short enough to keep per pupil, readable with redis-cli by
 * the person on call, and tied to the policy by track and stage *ids*, not
 * indexes, so an edited policy file (a stage added, tracks reordered) still
 * reads the state written under the old one.
 *
 * State, one line of space-separated fields (dates YYYY-MM-DD, "-" for none):
 *   v1 fd=<date> sw=<date> un=<first>,<last>,<bits> de=<first>,<last>,<bits>
 *      nu=<date> pa=<0|1> sy=<year> iy=<year>
 *      [t=<track>,<stage|->,<entry>,<monitor_from>,<review>,<att>,<poss>,<days>]...
 * Only tracks with something to remember (a stage, or an entry date) are
 * written; a track absent from the text is "never on it".
 *
 * A fact: "<kind> <date>" or "<kind> <date> <detail>" (kind as
 * fact_kind_name: "meeting_held 2025-10-01 stage_3"). */
#ifndef ROLLCALL_POLICY_STATE_H
#define ROLLCALL_POLICY_STATE_H

#include <stddef.h>

#include "rollcall/error.h"
#include "rollcall/policy.h"
#include "rollcall/policy_eval.h"

#define POLICY_STATE_MAX 1024 /* bytes, NUL included: the longest state text */
/* bytes, NUL included: the longest fact text, "medical_evidence_received
 * YYYY-MM-DD " and a detail of CODEC_NAME_MAX (86), with room to spare */
#define POLICY_FACT_MAX 96

/* policy_state_format writes s (evaluated under p) into out. */
void policy_state_format(const policy_t *p, const pupil_policy_state_t *s,
                         char out[POLICY_STATE_MAX]);

/* policy_state_parse reads text[0..len) into *s for policy p. A track or
 * stage p no longer has is dropped (the pupil is "none" on it) and counted
 * in *dropped (when not NULL). Returns RC_OK, or RC_EPARSE when text is not
 * of the form above (*s is then the initial state). */
rc_err_t policy_state_parse(const policy_t *p, const char *text, size_t len,
                            pupil_policy_state_t *s, unsigned *dropped);

/* policy_fact_format writes f into out. */
void policy_fact_format(const eval_fact_t *f, char out[POLICY_FACT_MAX]);

/* policy_fact_parse reads one fact from text[0..len); RC_EPARSE otherwise. */
rc_err_t policy_fact_parse(const char *text, size_t len, eval_fact_t *f);

#endif
