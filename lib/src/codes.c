/* codes.c - the DfE 2024 attendance code table. */
#include "rollcall/codes.h"

#include <string.h>

static const struct {
    const char *str;
    code_category_t cat;
} table[CODE__COUNT] = {
    [CODE_PRESENT_AM] = {"/", CAT_PRESENT}, [CODE_PRESENT_PM] = {"\\", CAT_PRESENT},
    [CODE_L] = {"L", CAT_PRESENT},          [CODE_K] = {"K", CAT_APPROVED},
    [CODE_V] = {"V", CAT_APPROVED},         [CODE_P] = {"P", CAT_APPROVED},
    [CODE_W] = {"W", CAT_APPROVED},         [CODE_B] = {"B", CAT_APPROVED},
    [CODE_C] = {"C", CAT_AUTHORISED},       [CODE_C1] = {"C1", CAT_AUTHORISED},
    [CODE_C2] = {"C2", CAT_AUTHORISED},     [CODE_E] = {"E", CAT_AUTHORISED},
    [CODE_I] = {"I", CAT_AUTHORISED},       [CODE_J1] = {"J1", CAT_AUTHORISED},
    [CODE_M] = {"M", CAT_AUTHORISED},       [CODE_R] = {"R", CAT_AUTHORISED},
    [CODE_S] = {"S", CAT_AUTHORISED},       [CODE_T] = {"T", CAT_AUTHORISED},
    [CODE_G] = {"G", CAT_UNAUTHORISED},     [CODE_N] = {"N", CAT_UNAUTHORISED},
    [CODE_O] = {"O", CAT_UNAUTHORISED},     [CODE_U] = {"U", CAT_UNAUTHORISED},
    [CODE_D] = {"D", CAT_DUAL_REGISTERED},  [CODE_Q] = {"Q", CAT_EXCEPTIONAL},
    [CODE_Y1] = {"Y1", CAT_EXCEPTIONAL},    [CODE_Y2] = {"Y2", CAT_EXCEPTIONAL},
    [CODE_Y3] = {"Y3", CAT_EXCEPTIONAL},    [CODE_Y4] = {"Y4", CAT_EXCEPTIONAL},
    [CODE_Y5] = {"Y5", CAT_EXCEPTIONAL},    [CODE_Y6] = {"Y6", CAT_EXCEPTIONAL},
    [CODE_Y7] = {"Y7", CAT_EXCEPTIONAL},    [CODE_X] = {"X", CAT_ADMINISTRATIVE},
    [CODE_Z] = {"Z", CAT_ADMINISTRATIVE},   [CODE_HASH] = {"#", CAT_ADMINISTRATIVE},
};

rc_err_t code_parse(const char *s, size_t len, att_code_t *out)
{
    if (len == 0 || len > 2)
        return RC_EINVAL;
    for (int c = 0; c < CODE__COUNT; c++) {
        if (strlen(table[c].str) == len && memcmp(table[c].str, s, len) == 0) {
            *out = (att_code_t)c;
            return RC_OK;
        }
    }
    return RC_EINVAL;
}

const char *code_str(att_code_t code)
{
    return (unsigned)code < CODE__COUNT ? table[code].str : "?";
}

code_category_t code_category(att_code_t code)
{
    return (unsigned)code < CODE__COUNT ? table[code].cat : CAT_ADMINISTRATIVE;
}

int code_is_possible(att_code_t code)
{
    return code_category(code) <= CAT_UNAUTHORISED;
}

int code_is_attended(att_code_t code)
{
    code_category_t c = code_category(code);
    return c == CAT_PRESENT || c == CAT_APPROVED;
}

int code_is_absence(att_code_t code)
{
    code_category_t c = code_category(code);
    return c == CAT_AUTHORISED || c == CAT_UNAUTHORISED;
}

const char *category_name(code_category_t cat)
{
    static const char *names[CAT__COUNT] = {
        "present",         "approved_activity", "authorised",     "unauthorised",
        "dual_registered", "exceptional",       "administrative",
    };
    return (unsigned)cat < CAT__COUNT ? names[cat] : "unknown";
}

rc_err_t code_set_parse(const char *s, size_t len, code_set_t *out, size_t *bad_at)
{
    code_set_t set = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ',' || s[i] == ' '))
            i++;
        size_t start = i;
        while (i < len && s[i] != ',' && s[i] != ' ')
            i++;
        if (i == start)
            break;
        att_code_t c;
        if (code_parse(s + start, i - start, &c) != RC_OK) {
            if (bad_at)
                *bad_at = start;
            return RC_EINVAL;
        }
        set |= CODE_BIT(c);
    }
    *out = set;
    return RC_OK;
}
