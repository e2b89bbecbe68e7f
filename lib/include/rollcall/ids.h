/* ids.h - validation of the identifiers Rollcall is given: UPN, URN, LA
 * code, UK mobile numbers (normalised to E.164) and email addresses.
 *
 * Each check returns RC_OK, or RC_EINVAL with *why (when not NULL) set to a
 * static sentence an office admin can act on. */
#ifndef ROLLCALL_IDS_H
#define ROLLCALL_IDS_H

#include <stddef.h>

#include "rollcall/error.h"

#define RC_UPN_LEN   13
#define RC_URN_LEN   6
#define RC_LA_LEN    3
#define RC_E164_MAX  16 /* '+' and up to 15 digits */
#define RC_EMAIL_MAX 254

/* upn_check_letter returns the check letter for the 12 characters after
 * position 1 (11 digits and a letter for a temporary UPN), or 0 when they are
 * not of that shape. */
char upn_check_letter(const char *rest12);

/* upn_check validates a 13-character permanent or temporary UPN. */
rc_err_t upn_check(const char *s, size_t len, const char **why);

/* upn_is_temporary is true for a valid UPN ending in a letter. */
int upn_is_temporary(const char *upn13);

/* urn_check validates a 6-digit Unique Reference Number. */
rc_err_t urn_check(const char *s, size_t len, const char **why);

/* la_code_check validates a 3-digit local authority code. */
rc_err_t la_code_check(const char *s, size_t len, const char **why);

/* phone_to_e164 normalises a UK mobile ("07700 900123", "+44 7700 900123",
 * "0044...", "(07700) 900-123") into out ("+447700900123"). Other E.164
 * numbers ("+353...") are accepted as given when 8 to 15 digits. */
rc_err_t phone_to_e164(const char *s, size_t len, char out[RC_E164_MAX + 1], const char **why);

/* email_check validates the practical syntax of an address (one '@', a
 * non-empty local part of allowed characters, a dotted domain of LDH labels),
 * at most RC_EMAIL_MAX bytes. */
rc_err_t email_check(const char *s, size_t len, const char **why);

#endif
