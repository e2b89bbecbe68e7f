/* date.c - civil date arithmetic (Howard Hinnant's days_from_civil family)
 * and strict ISO 8601 parsing. */
#include "rollcall/date.h"

#include <stdio.h>
#include <string.h>

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

rc_date_t date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (rc_date_t)(era * 146097 + (int)doe - 719468);
}

int32_t date_to_number(rc_date_t date)
{
    int y, m, d;
    if (date == RC_DATE_NONE)
        return 0;
    date_to_ymd(date, &y, &m, &d);
    return y * 10000 + m * 100 + d;
}

rc_date_t date_from_number(long n)
{
    int y = (int)(n / 10000), m = (int)(n / 100 % 100), d = (int)(n % 100);
    if (n <= 0 || y < RC_YEAR_MIN || y > RC_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
        d > date_days_in_month(y, m))
        return RC_DATE_NONE;
    return date_from_ymd(y, m, d);
}

void date_to_ymd(rc_date_t date, int *y, int *m, int *d)
{
    const int z = date + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)yoe + era * 400 + (mm <= 2);
    *m = (int)mm;
    *d = (int)dd;
}

int date_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return 28 + leap;
    }
    return days[(m - 1) % 12];
}

/* digits reads n ASCII digits at s into *out; 0 on a non-digit. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static rc_err_t ymd_parse(const char *s, int *y, int *m, int *d)
{
    if (!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) || s[7] != '-' ||
        !digits(s + 8, 2, d))
        return RC_EPARSE;
    if (*y < RC_YEAR_MIN || *y > RC_YEAR_MAX || *m < 1 || *m > 12 || *d < 1 ||
        *d > date_days_in_month(*y, *m))
        return RC_EINVAL;
    return RC_OK;
}

rc_err_t date_parse(const char *s, size_t len, rc_date_t *out)
{
    int y, m, d;
    if (len != 10)
        return RC_EPARSE;
    rc_err_t err = ymd_parse(s, &y, &m, &d);
    if (err == RC_OK)
        *out = date_from_ymd(y, m, d);
    return err;
}

char *date_format(rc_date_t date, char buf[RC_DATE_STRLEN])
{
    int y, m, d;
    date_to_ymd(date, &y, &m, &d);
    /* Written by hand: the ranges are known, and snprintf cannot prove it. */
    y = ((y % 10000) + 10000) % 10000;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
    return buf;
}

int date_weekday(rc_date_t date)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    int r = (int)(((int64_t)date + 3) % 7);
    return (r < 0 ? r + 7 : r) + 1;
}

int date_is_weekend(rc_date_t date)
{
    return date_weekday(date) >= 6;
}

rc_date_t date_monday(rc_date_t date)
{
    return date - (date_weekday(date) - 1);
}

int date_academic_year(rc_date_t date)
{
    int y, m, d;
    date_to_ymd(date, &y, &m, &d);
    return m >= 9 ? y : y - 1;
}

rc_date_t date_academic_year_start(rc_date_t date)
{
    return date_from_ymd(date_academic_year(date), 9, 1);
}

rc_err_t time_parse_iso(const char *s, size_t len, rc_time_t *out, int32_t *offset_s)
{
    int y, mo, d, hh, mi, ss;
    if (len < 20)
        return RC_EPARSE;
    rc_err_t err = ymd_parse(s, &y, &mo, &d);
    if (err == RC_EPARSE)
        return err;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &hh) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &ss))
        return RC_EPARSE;
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t start = ++i;
        int64_t scale = 100000;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 6) {
                frac += (s[i] - '0') * scale;
                scale /= 10;
            }
            i++;
        }
        if (i == start || i - start > 9)
            return RC_EPARSE;
    }
    int32_t off;
    if (i < len && (s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        off = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om))
            return RC_EPARSE;
        if (oh > 14 || om > 59)
            return RC_EINVAL;
        off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
        return RC_EPARSE;
    }
    if (err != RC_OK || hh > 23 || mi > 59 || ss > 59)
        return RC_EINVAL;
    int64_t secs = (int64_t)date_from_ymd(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off;
    *out = secs * RC_USEC_PER_SEC + frac;
    if (offset_s)
        *offset_s = off;
    return RC_OK;
}

char *time_format_iso(rc_time_t t, int32_t offset_s, char buf[RC_TIME_STRLEN])
{
    int64_t local = t + (int64_t)offset_s * RC_USEC_PER_SEC;
    int64_t day = floor_div(local, RC_USEC_PER_DAY);
    int64_t in_day = local - day * RC_USEC_PER_DAY;
    int64_t secs = in_day / RC_USEC_PER_SEC, usec = in_day % RC_USEC_PER_SEC;
    char date[RC_DATE_STRLEN], frac[8] = "", zone[8] = "Z";
    date_format((rc_date_t)day, date);
    if (usec)
        snprintf(frac, sizeof frac, ".%06u", (unsigned)usec % 1000000u);
    if (offset_s) {
        int a = offset_s < 0 ? -offset_s : offset_s;
        snprintf(zone, sizeof zone, "%c%02u:%02u", offset_s < 0 ? '-' : '+',
                 (unsigned)(a / 3600) % 100u, (unsigned)(a / 60) % 60u);
    }
    snprintf(buf, RC_TIME_STRLEN, "%sT%02u:%02u:%02u%s%s", date, (unsigned)(secs / 3600) % 24u,
             (unsigned)(secs / 60 % 60), (unsigned)(secs % 60), frac, zone);
    return buf;
}

rc_date_t time_local_date(rc_time_t t, int32_t offset_s)
{
    return (rc_date_t)floor_div(t + (int64_t)offset_s * RC_USEC_PER_SEC, RC_USEC_PER_DAY);
}

int time_local_minute(rc_time_t t, int32_t offset_s)
{
    int64_t local = t + (int64_t)offset_s * RC_USEC_PER_SEC;
    int64_t in_day = local - floor_div(local, RC_USEC_PER_DAY) * RC_USEC_PER_DAY;
    return (int)(in_day / (60 * RC_USEC_PER_SEC));
}
