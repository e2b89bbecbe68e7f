/* test_codes.c - every DfE 2024 code's category, and rejection of the rest. */
#include <criterion/criterion.h>
#include <string.h>

#include "rollcall/codes.h"

static void expect(const char *list, code_category_t cat, int possible, int attended)
{
    code_set_t set;
    cr_assert_eq(code_set_parse(list, strlen(list), &set, NULL), RC_OK);
    int seen = 0;
    for (int c = 0; c < CODE__COUNT; c++) {
        if (!(set & CODE_BIT(c)))
            continue;
        seen++;
        att_code_t parsed;
        const char *s = code_str((att_code_t)c);
        cr_assert_eq(code_parse(s, strlen(s), &parsed), RC_OK, "%s", s);
        cr_assert_eq(parsed, c);
        cr_assert_eq(code_category((att_code_t)c), cat, "%s is %s", s, category_name(cat));
        cr_assert_eq(code_is_possible((att_code_t)c), possible, "%s possible", s);
        cr_assert_eq(code_is_attended((att_code_t)c), attended, "%s attended", s);
        cr_assert_eq(code_is_absence((att_code_t)c),
                     cat == CAT_AUTHORISED || cat == CAT_UNAUTHORISED, "%s absence", s);
    }
    size_t words = 1;
    for (const char *p = list; *p; p++)
        words += *p == ' ';
    cr_assert_eq((size_t)seen, words, "all of '%s' distinct", list);
}

/* The table of SPEC section 2, row by row. */
Test(codes, every_category)
{
    expect("/ \\ L", CAT_PRESENT, 1, 1);
    expect("K V P W B", CAT_APPROVED, 1, 1);
    expect("C C1 C2 E I J1 M R S T", CAT_AUTHORISED, 1, 0);
    expect("G N O U", CAT_UNAUTHORISED, 1, 0);
    expect("D", CAT_DUAL_REGISTERED, 0, 0);
    expect("Q Y1 Y2 Y3 Y4 Y5 Y6 Y7", CAT_EXCEPTIONAL, 0, 0);
    expect("X Z #", CAT_ADMINISTRATIVE, 0, 0);
}

Test(codes, table_is_complete)
{
    /* 3 + 5 + 10 + 4 + 1 + 8 + 3 codes, and every one round-trips. */
    cr_assert_eq(CODE__COUNT, 34);
}

Test(codes, rejects_everything_else)
{
    const char *bad[] = {"",  "A",  "F",  "H",  "J",  "Y", "Y8", "Y0", "C3", "J2",   "l",
                         "n", "//", "NN", "N ", " N", "0", "*",  "-",  "LL", "\\\\", "C12"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        att_code_t c;
        cr_assert_eq(code_parse(bad[i], strlen(bad[i]), &c), RC_EINVAL, "'%s'", bad[i]);
    }
}

Test(codes, sets)
{
    code_set_t set;
    size_t at = 99;
    cr_assert_eq(code_set_parse("G,O,U", 5, &set, NULL), RC_OK);
    cr_assert_eq(set, CODE_BIT(CODE_G) | CODE_BIT(CODE_O) | CODE_BIT(CODE_U));
    cr_assert_eq(code_set_parse("G, N,O U", 8, &set, NULL), RC_OK);
    cr_assert_eq(set, CODE_SET_UNAUTHORISED);
    cr_assert_eq(code_set_parse("G,A,U", 5, &set, &at), RC_EINVAL);
    cr_assert_eq(at, 2);
}
