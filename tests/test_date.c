/* test_date.c - civil dates, weekdays, school years and ISO 8601 instants. */
#include <criterion/criterion.h>
#include <string.h>

#include "rollcall/date.h"

static rc_date_t D(const char *s)
{
    rc_date_t d;
    cr_assert_eq(date_parse(s, strlen(s), &d), RC_OK, "parse %s", s);
    return d;
}

Test(date, epoch_and_round_trip)
{
    cr_assert_eq(D("1970-01-01"), 0);
    cr_assert_eq(D("2000-03-01"), 11017);
    char buf[RC_DATE_STRLEN];
    for (rc_date_t d = D("1999-12-25"); d < D("2031-01-10"); d += 1) {
        int y, m, dd;
        date_to_ymd(d, &y, &m, &dd);
        cr_assert_eq(date_from_ymd(y, m, dd), d);
        cr_assert_eq(D(date_format(d, buf)), d);
    }
    cr_assert_str_eq(date_format(D("2024-02-29"), buf), "2024-02-29");
}

Test(date, rejects_impossible_and_malformed)
{
    rc_date_t d;
    cr_assert_eq(date_parse("2026-02-30", 10, &d), RC_EINVAL);
    cr_assert_eq(date_parse("2025-02-29", 10, &d), RC_EINVAL);
    cr_assert_eq(date_parse("2100-02-29", 10, &d), RC_EINVAL);
    cr_assert_eq(date_parse("2000-02-29", 10, &d), RC_OK);
    cr_assert_eq(date_parse("2026-13-01", 10, &d), RC_EINVAL);
    cr_assert_eq(date_parse("2026-00-10", 10, &d), RC_EINVAL);
    cr_assert_eq(date_parse("2026-4-01", 9, &d), RC_EPARSE);
    cr_assert_eq(date_parse("01/09/2026", 10, &d), RC_EPARSE);
    cr_assert_eq(date_parse("2026-09-01x", 11, &d), RC_EPARSE);
    cr_assert_eq(date_parse("1066-10-14", 10, &d), RC_EINVAL);
}

Test(date, weekdays_and_mondays)
{
    cr_assert_eq(date_weekday(D("2026-11-23")), 1); /* Monday */
    cr_assert_eq(date_weekday(D("2026-11-29")), 7);
    cr_assert_eq(date_weekday(D("1970-01-01")), 4);
    cr_assert_eq(date_weekday(D("1969-12-29")), 1);
    cr_assert(date_is_weekend(D("2026-11-28")));
    cr_assert(!date_is_weekend(D("2026-11-27")));
    cr_assert_eq(date_monday(D("2026-11-29")), D("2026-11-23"));
    cr_assert_eq(date_monday(D("2026-11-23")), D("2026-11-23"));
    cr_assert_eq(date_monday(D("1970-01-01")), D("1969-12-29"));
}

Test(date, academic_year)
{
    cr_assert_eq(date_academic_year(D("2026-08-31")), 2025);
    cr_assert_eq(date_academic_year(D("2026-09-01")), 2026);
    cr_assert_eq(date_academic_year(D("2027-01-05")), 2026);
    cr_assert_eq(date_academic_year_start(D("2027-07-20")), D("2026-09-01"));
}

Test(date, iso_instants)
{
    rc_time_t t;
    int32_t off;
    const char *s = "2026-09-07T08:41:00+01:00";
    cr_assert_eq(time_parse_iso(s, strlen(s), &t, &off), RC_OK);
    cr_assert_eq(off, 3600);
    cr_assert_eq(t, ((int64_t)D("2026-09-07") * 86400 + 7 * 3600 + 41 * 60) * RC_USEC_PER_SEC);
    cr_assert_eq(time_local_date(t, off), D("2026-09-07"));
    cr_assert_eq(time_local_minute(t, off), 8 * 60 + 41);
    char buf[RC_TIME_STRLEN];
    cr_assert_str_eq(time_format_iso(t, off, buf), s);
    cr_assert_str_eq(time_format_iso(t, 0, buf), "2026-09-07T07:41:00Z");

    s = "2026-01-05T23:30:00.25-02:30";
    cr_assert_eq(time_parse_iso(s, strlen(s), &t, &off), RC_OK);
    cr_assert_eq(off, -9000);
    cr_assert_str_eq(time_format_iso(t, off, buf), "2026-01-05T23:30:00.250000-02:30");
    cr_assert_eq(time_local_date(t, 0), D("2026-01-06"));

    /* Midnight just after the clocks go back: local date follows the offset. */
    s = "2026-10-25T00:10:00+01:00";
    cr_assert_eq(time_parse_iso(s, strlen(s), &t, &off), RC_OK);
    cr_assert_eq(time_local_date(t, off), D("2026-10-25"));
    cr_assert_eq(time_local_date(t, 0), D("2026-10-24"));
}

Test(date, iso_rejects)
{
    rc_time_t t;
    const char *bad_shape[] = {"2026-09-07T08:41:00",
                               "2026-09-07 08:41",
                               "2026-09-07T8:41:00Z",
                               "2026-09-07T08:41:00+0100",
                               "2026-09-07T08:41:00.Z",
                               "2026-09-07T08:41:00Zjunk",
                               ""};
    for (size_t i = 0; i < sizeof bad_shape / sizeof *bad_shape; i++)
        cr_assert_eq(time_parse_iso(bad_shape[i], strlen(bad_shape[i]), &t, NULL), RC_EPARSE, "%s",
                     bad_shape[i]);
    const char *bad_value[] = {"2026-02-30T08:00:00Z", "2026-09-07T24:00:00Z",
                               "2026-09-07T08:60:00Z", "2026-09-07T08:00:00+15:00"};
    for (size_t i = 0; i < sizeof bad_value / sizeof *bad_value; i++)
        cr_assert_eq(time_parse_iso(bad_value[i], strlen(bad_value[i]), &t, NULL), RC_EINVAL, "%s",
                     bad_value[i]);
}

Test(date, yyyymmdd_numbers_both_ways)
{
    rc_date_t d;
    cr_assert_eq(date_parse("2025-09-10", 10, &d), RC_OK);
    cr_assert_eq(date_to_number(d), 20250910);
    cr_assert_eq(date_from_number(20250910), d);
    cr_assert_eq(date_to_number(RC_DATE_NONE), 0, "none is 0");
    cr_assert_eq(date_from_number(20240229), date_from_ymd(2024, 2, 29), "a leap day");
    const long bad[] = {0, -20250910, 20230229, 20251301, 20250900, 20250931, 18991231, 22000101};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(date_from_number(bad[i]), RC_DATE_NONE, "%ld is no date", bad[i]);
}
