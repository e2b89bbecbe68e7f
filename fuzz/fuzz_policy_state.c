/* fuzz_policy_state.c - any bytes into policy_state_parse (under policies/004_hcat.yaml) and
 * policy_fact_parse; what parses must format and parse back to the same value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/policy.h"
#include "rollcall/policy_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* policy loads the fixed policy once; the process keeps it (read-only) until it exits. */
static const policy_t *policy(void)
{
    static policy_t *p;
    if (!p) {
        char err[POLICY_ERR_MAX];
        if (policy_load_file(ROLLCALL_SOURCE_DIR "/policies/004_hcat.yaml", &p, err) != RC_OK) {
            fprintf(stderr, "fuzz_policy_state: %s\n", err);
            abort();
        }
    }
    return p;
}

/* check_state aborts unless text reads back as the state it was formatted
 * from, and formats to itself again. */
static void check_state(const policy_t *p, const pupil_policy_state_t *s)
{
    char text[POLICY_STATE_MAX], again[POLICY_STATE_MAX];
    pupil_policy_state_t back;
    unsigned dropped = 1;
    policy_state_format(p, s, text);
    if (policy_state_parse(p, text, strlen(text), &back, &dropped) != RC_OK || dropped != 0 ||
        memcmp(&back, s, sizeof back) != 0)
        abort();
    policy_state_format(p, &back, again);
    if (strcmp(text, again) != 0)
        abort();
}

static void check_fact(const eval_fact_t *f)
{
    char text[POLICY_FACT_MAX];
    eval_fact_t back;
    policy_fact_format(f, text);
    if (policy_fact_parse(text, strlen(text), &back) != RC_OK || back.kind != f->kind ||
        back.date != f->date || strcmp(back.detail, f->detail) != 0)
        abort();
}

/* LLVMFuzzerTestOneInput reads the bytes as a state and as a fact; refusals
 * are fine (a refused state must be the initial one), crashes and values
 * that do not survive a round trip are not. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const policy_t *p = policy();
    const char *text = (const char *)data;

    pupil_policy_state_t s, initial;
    unsigned dropped = 0;
    if (policy_state_parse(p, text, size, &s, &dropped) == RC_OK) {
        check_state(p, &s);
    } else {
        pupil_policy_state_init(&initial);
        if (memcmp(&s, &initial, sizeof s) != 0)
            abort();
    }

    eval_fact_t f;
    if (policy_fact_parse(text, size, &f) == RC_OK)
        check_fact(&f);
    return 0;
}
