/* test_ids.c - UPN check letters, URN and LA codes, phones and emails. */
#include <criterion/criterion.h>
#include <string.h>

#include "rollcall/ids.h"

static rc_err_t upn(const char *s)
{
    return upn_check(s, strlen(s), NULL);
}

Test(ids, upn_known_answers)
{
    cr_assert_eq(upn("B801200005001"), RC_OK);
    cr_assert_eq(upn("A801200005001"), RC_EINVAL);
    /* The issue quotes Q for 207000016049, from a widely copied MIS help
     * page whose own arithmetic is wrong: 2x2+7x4+1x9+6x10+4x12+9x13 = 266
     * (not 267), 266 mod 23 = 13, and 13 is P in the DfE alphabet (A-H, J-N,
     * P-R, T-Z). DfE's COLLECT would reject Q207000016049. */
    cr_assert_eq(upn_check_letter("207000016049"), 'P');
    cr_assert_eq(upn("P207000016049"), RC_OK);
    cr_assert_eq(upn("Q207000016049"), RC_EINVAL);
    cr_assert_eq(upn_check_letter("801200005001"), 'B');
}

Test(ids, upn_temporary)
{
    /* 11 digits then a letter valued by its place in the same alphabet. */
    char t[14] = "?80120000500A";
    t[0] = upn_check_letter(t + 1);
    cr_assert_eq(upn(t), RC_OK);
    cr_assert(upn_is_temporary(t));
    cr_assert(!upn_is_temporary("B801200005001"));
    /* A = 0, so the temporary's letter contributes nothing at weight 13. */
    cr_assert_eq(upn_check_letter("80120000500A"), upn_check_letter("801200005000"));
    cr_assert_eq(upn_check_letter("80120000500I"), 0); /* I is not used */
    t[12] = 'O';
    cr_assert_eq(upn(t), RC_EINVAL);
}

Test(ids, upn_shapes_with_reasons)
{
    const char *why = NULL;
    cr_assert_eq(upn_check("B80120000500", 12, &why), RC_EINVAL);
    cr_assert(strstr(why, "13 characters"));
    cr_assert_eq(upn_check("B80120X005001", 13, &why), RC_EINVAL);
    cr_assert(strstr(why, "digits"));
    cr_assert_eq(upn_check("A801200005001", 13, &why), RC_EINVAL);
    cr_assert(strstr(why, "check letter"));
    cr_assert_eq(upn("b801200005001"), RC_EINVAL);
}

Test(ids, urn_and_la)
{
    cr_assert_eq(urn_check("100001", 6, NULL), RC_OK);
    cr_assert_eq(urn_check("10000A", 6, NULL), RC_EINVAL);
    cr_assert_eq(urn_check("1000011", 7, NULL), RC_EINVAL);
    cr_assert_eq(urn_check("", 0, NULL), RC_EINVAL);
    cr_assert_eq(la_code_check("909", 3, NULL), RC_OK);
    cr_assert_eq(la_code_check("9O9", 3, NULL), RC_EINVAL);
    cr_assert_eq(la_code_check("90", 2, NULL), RC_EINVAL);
}

static void phone_ok(const char *in, const char *want)
{
    char out[RC_E164_MAX + 1];
    const char *why = NULL;
    cr_assert_eq(phone_to_e164(in, strlen(in), out, &why), RC_OK, "%s: %s", in, why ? why : "");
    cr_assert_str_eq(out, want, "%s", in);
}

static void phone_bad(const char *in)
{
    char out[RC_E164_MAX + 1];
    const char *why = NULL;
    cr_assert_eq(phone_to_e164(in, strlen(in), out, &why), RC_EINVAL, "%s accepted", in);
    cr_assert(why && *why);
}

Test(ids, phones)
{
    phone_ok("07700900123", "+447700900123");
    phone_ok("07700 900 123", "+447700900123");
    phone_ok("+44 7700 900123", "+447700900123");
    phone_ok("+44 (0)7700 900123", "+447700900123");
    phone_ok("0044 7700-900-123", "+447700900123");
    phone_ok("(07700) 900.123", "+447700900123");
    phone_ok("+353 87 123 4567", "+353871234567");
    phone_bad("01931 712344"); /* a landline: no texts */
    phone_bad("0770090012");   /* one digit short */
    phone_bad("077009001234");
    phone_bad("07640 123456");                 /* pager range */
    phone_ok("07624 123456", "+447624123456"); /* Isle of Man mobile */
    phone_bad("07700 900123 ext 2");
    phone_bad("+0 1234 5678");
    phone_bad("");
    phone_bad("7700900123");
}

Test(ids, emails)
{
    const char *good[] = {"parent@example.org.uk", "a.b+c@x-y.co", "o'neil@school.sch.uk"};
    const char *bad[] = {"",         "parent",     "parent@",   "@example.org",
                         "a@b",      "a@@b.com",   "a@b@c.com", ".a@b.com",
                         "a.@b.com", "a..b@c.com", "a b@c.com", "a@-b.com",
                         "a@b-.com", "a@b..com",   "a@b.com.",  "a@b_c.com"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_assert_eq(email_check(good[i], strlen(good[i]), NULL), RC_OK, "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = NULL;
        cr_assert_eq(email_check(bad[i], strlen(bad[i]), &why), RC_EINVAL, "%s", bad[i]);
        cr_assert(why && *why);
    }
    char longest[300];
    memset(longest, 'a', sizeof longest);
    memcpy(longest + 250, "@b.co", 5);
    cr_assert_eq(email_check(longest, 255, NULL), RC_EINVAL);
}
