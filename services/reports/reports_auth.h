/* reports_auth.h - who may read what: the bearer tokens file (each token kept
 * only as its SHA-256) and the scopes a token carries.
 *
 * The file holds one token a line, blank lines and '#' comments allowed:
 *
 *   <64 hex digits: sha256 of the token> <scope>[,<scope>...] <label>
 *
 * A scope is school:<urn> (that school), trust:<id> (schools whose trust_id
 * is id), la:<code> (schools of that LA) or admin (every school). The label
 * names the holder in logs ("slt-100001"); it is the rest of the line. The
 * token itself is never stored: the hash of a presented token is compared
 * with every stored hash in constant time (sodium_memcmp). */
#ifndef ROLLCALL_REPORTS_AUTH_H
#define ROLLCALL_REPORTS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/error.h"

#define REPORTS_MAX_SCOPES 16  /* scopes on one token */
#define REPORTS_SCOPE_ID   32  /* bytes of a trust id, URN or LA code */
#define REPORTS_LABEL_MAX  64  /* bytes of a label */
#define REPORTS_ERR_MAX    160 /* bytes of a load error, NUL included */
#define REPORTS_MAX_TOKENS 4096

typedef enum {
    SCOPE_NONE = 0,
    SCOPE_SCHOOL,
    SCOPE_TRUST,
    SCOPE_LA,
    SCOPE_ADMIN,
} reports_scope_kind_t;

typedef struct {
    reports_scope_kind_t kind;
    char id[REPORTS_SCOPE_ID + 1]; /* the URN, trust id or LA code; "" for admin */
} reports_scope_t;

typedef struct {
    uint8_t hash[32]; /* sha256 of the token */
    size_t nscopes;
    reports_scope_t scopes[REPORTS_MAX_SCOPES];
    char label[REPORTS_LABEL_MAX + 1];
} reports_token_t;

typedef struct reports_tokens reports_tokens_t;

/* reports_tokens_parse reads a tokens file's text[0..len) into *out (owned by
 * the caller: reports_tokens_destroy). RC_EPARSE with err naming the line
 * and the problem (never the hash) for a malformed line, RC_ERANGE past
 * REPORTS_MAX_TOKENS lines, RC_ENOMEM. *out is NULL on error. */
rc_err_t reports_tokens_parse(const char *text, size_t len, reports_tokens_t **out,
                              char err[REPORTS_ERR_MAX]);

/* reports_tokens_load reads the file at path as reports_tokens_parse does;
 * an empty path gives an empty table (every token refused). RC_EIO with err
 * naming the path and errno's message when it cannot be read. */
rc_err_t reports_tokens_load(const char *path, reports_tokens_t **out, char err[REPORTS_ERR_MAX]);

/* reports_tokens_destroy frees *self_p and sets it NULL; NULL-safe. */
void reports_tokens_destroy(reports_tokens_t **self_p);

/* reports_tokens_count is the number of tokens held. */
size_t reports_tokens_count(const reports_tokens_t *self);

/* reports_tokens_find hashes token[0..len) and returns the entry whose hash
 * matches (borrowed from self), or NULL. Every entry is compared, in
 * constant time, whatever matches. */
const reports_token_t *reports_tokens_find(const reports_tokens_t *self, const char *token,
                                           size_t len);

/* reports_token_may_read is true when one of t's scopes covers the school
 * urn whose LA is la_code and whose trust is trust_id (either may be "" or
 * NULL when the school has none or is unknown). */
int reports_token_may_read(const reports_token_t *t, const char *urn, const char *la_code,
                           const char *trust_id);

#endif
