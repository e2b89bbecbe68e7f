/* ids.c - UPN check letters, URN/LA codes, phone numbers and email syntax. */
#include "rollcall/ids.h"

#include <string.h>

/* Check letters skip I, O and S; a temporary UPN's last letter is valued by
 * its place in the same alphabet. */
static const char upn_alphabet[] = "ABCDEFGHJKLMNPQRTUVWXYZ";

static int upn_letter_value(char c)
{
    const char *p = c ? strchr(upn_alphabet, c) : NULL;
    return p ? (int)(p - upn_alphabet) : -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return len > 0;
}

static rc_err_t fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return RC_EINVAL;
}

char upn_check_letter(const char *rest12)
{
    int sum = 0;
    for (int i = 0; i < 12; i++) {
        int v;
        if (is_digit(rest12[i]))
            v = rest12[i] - '0';
        else if (i == 11 && (v = upn_letter_value(rest12[i])) >= 0)
            ;
        else
            return 0;
        sum += v * (i + 2);
    }
    return upn_alphabet[sum % 23];
}

rc_err_t upn_check(const char *s, size_t len, const char **why)
{
    if (len != RC_UPN_LEN)
        return fail(why, "UPN must be 13 characters: a check letter then 12 digits "
                         "(or 11 digits and a letter for a temporary UPN)");
    if (!all_digits(s + 1, 11))
        return fail(why, "UPN characters 2 to 12 must be digits");
    if (!is_digit(s[12]) && upn_letter_value(s[12]) < 0)
        return fail(why, "UPN must end in a digit, or for a temporary UPN an upper-case "
                         "letter other than I, O or S");
    char expect = upn_check_letter(s + 1);
    if (s[0] != expect)
        return fail(why, "UPN check letter (first character) does not match its digits; "
                         "the UPN has been mistyped");
    return RC_OK;
}

int upn_is_temporary(const char *upn13)
{
    return !is_digit(upn13[12]);
}

rc_err_t urn_check(const char *s, size_t len, const char **why)
{
    if (len != RC_URN_LEN || !all_digits(s, len))
        return fail(why, "URN must be exactly 6 digits");
    return RC_OK;
}

rc_err_t la_code_check(const char *s, size_t len, const char **why)
{
    if (len != RC_LA_LEN || !all_digits(s, len))
        return fail(why, "LA code must be exactly 3 digits");
    return RC_OK;
}

rc_err_t phone_to_e164(const char *s, size_t len, char out[RC_E164_MAX + 1], const char **why)
{
    char d[32];
    size_t n = 0;
    int plus = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (is_digit(c)) {
            if (n == sizeof d - 1)
                return fail(why, "phone number has too many digits");
            d[n++] = c;
        } else if (c == '+' && n == 0 && !plus) {
            plus = 1;
        } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') {
            return fail(why, "phone number may contain only digits, spaces, '+', '-', '.' "
                             "and brackets");
        }
    }
    d[n] = '\0';
    const char *national = NULL; /* the UK number after its 0 or 44 */
    if (!plus && n >= 2 && d[0] == '0' && d[1] == '0') {
        memmove(d, d + 2, n - 1); /* 00 is the international prefix: same as '+' */
        n -= 2;
        plus = 1;
    }
    if (plus) {
        if (n >= 2 && d[0] == '4' && d[1] == '4') {
            national = d + 2;
            if (national[0] == '0') /* "+44 (0)7700..." */
                national++;
        } else {
            if (n < 8 || n > 15 || d[0] == '0')
                return fail(why, "international number must be '+', a country code and "
                                 "8 to 15 digits in all");
            out[0] = '+';
            memcpy(out + 1, d, n + 1);
            return RC_OK;
        }
    } else if (n >= 1 && d[0] == '0') {
        national = d + 1;
    } else {
        return fail(why, "phone number must start 07, +44 7 or 0044 7 (or '+' and a "
                         "country code)");
    }
    if (national[0] != '7' || strlen(national) != 10)
        return fail(why, "not a UK mobile number: expected 07 followed by 9 digits");
    /* 076 is the radiopaging range, except 07624: Isle of Man mobiles. */
    if (national[1] == '6' && !(national[2] == '2' && national[3] == '4'))
        return fail(why, "076 numbers are pagers, not mobiles");
    out[0] = '+';
    out[1] = '4';
    out[2] = '4';
    memcpy(out + 3, national, 11);
    return RC_OK;
}

static int local_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) ||
           (c && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

static int domain_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) || c == '-';
}

rc_err_t email_check(const char *s, size_t len, const char **why)
{
    if (len == 0 || len > RC_EMAIL_MAX)
        return fail(why, "email address must be 1 to 254 characters");
    const char *at = memchr(s, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return fail(why, "email address must contain exactly one '@'");
    size_t local = (size_t)(at - s), dom = len - local - 1;
    if (local == 0 || local > 64)
        return fail(why, "email address needs 1 to 64 characters before the '@'");
    if (s[0] == '.' || s[local - 1] == '.')
        return fail(why, "email address may not start or end its name part with '.'");
    for (size_t i = 0; i < local; i++) {
        if (!local_char_ok((unsigned char)s[i]))
            return fail(why, "email address has a character not allowed before the '@'");
        if (s[i] == '.' && i + 1 < local && s[i + 1] == '.')
            return fail(why, "email address has '..' before the '@'");
    }
    const char *d = at + 1;
    size_t label = 0, labels = 0;
    for (size_t i = 0; i <= dom; i++) {
        if (i == dom || d[i] == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return fail(why, "email domain must be dot-separated names of letters, "
                                 "digits and inner hyphens");
            labels++;
            label = 0;
        } else if (!domain_char_ok((unsigned char)d[i])) {
            return fail(why, "email domain has a character other than letters, digits, "
                             "'-' and '.'");
        } else {
            label++;
        }
    }
    if (labels < 2)
        return fail(why, "email domain must have a dot (e.g. example.org.uk)");
    return RC_OK;
}
