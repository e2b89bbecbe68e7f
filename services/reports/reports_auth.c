/* reports_auth.c - the bearer tokens file and scope checks. */
#include "reports/reports_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/service.h"
#include "rollcall/ids.h"

struct reports_tokens {
    size_t n;
    reports_token_t *tokens;
};

/* trust_id_ok accepts what ingest stores as a trust id: 1..32 of
 * [A-Za-z0-9_-]. */
static int trust_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > REPORTS_SCOPE_ID)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* parse_scope reads one scope from s[0..len). */
static int parse_scope(const char *s, size_t len, reports_scope_t *out)
{
    static const struct {
        const char *prefix;
        reports_scope_kind_t kind;
    } kinds[] = {{"school:", SCOPE_SCHOOL}, {"trust:", SCOPE_TRUST}, {"la:", SCOPE_LA}};
    const char *why;
    memset(out, 0, sizeof *out);
    if (len == 5 && memcmp(s, "admin", 5) == 0) {
        out->kind = SCOPE_ADMIN;
        return 1;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t pl = strlen(kinds[k].prefix);
        if (len <= pl || memcmp(s, kinds[k].prefix, pl) != 0)
            continue;
        const char *id = s + pl;
        size_t idl = len - pl;
        int ok = kinds[k].kind == SCOPE_SCHOOL ? urn_check(id, idl, &why) == RC_OK
                 : kinds[k].kind == SCOPE_LA   ? la_code_check(id, idl, &why) == RC_OK
                                               : trust_id_ok(id, idl);
        if (!ok)
            return 0;
        out->kind = kinds[k].kind;
        memcpy(out->id, id, idl);
        return 1;
    }
    return 0;
}

/* parse_line reads one non-blank, non-comment line into t; on failure err
 * says why, without the hash. */
static int parse_line(const char *line, size_t len, reports_token_t *t, const char **why)
{
    const char *p = line, *end = line + len;
    size_t hl = 0;
    memset(t, 0, sizeof *t);
    while (p + hl < end && p[hl] != ' ' && p[hl] != '\t')
        hl++;
    if (hl != 64 || sodium_hex2bin(t->hash, sizeof t->hash, p, hl, NULL, NULL, NULL) != 0) {
        *why = "expected 64 hex digits (sha256 of the token) first";
        return 0;
    }
    p += hl;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *scopes = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    if (p == scopes) {
        *why = "expected scopes after the hash";
        return 0;
    }
    for (const char *s = scopes; s < p;) {
        const char *comma = memchr(s, ',', (size_t)(p - s));
        const char *se = comma ? comma : p;
        if (t->nscopes == REPORTS_MAX_SCOPES) {
            *why = "too many scopes (at most 16)";
            return 0;
        }
        if (!parse_scope(s, (size_t)(se - s), &t->scopes[t->nscopes++])) {
            *why = "a scope is not school:<urn>, trust:<id>, la:<code> or admin";
            return 0;
        }
        s = comma ? comma + 1 : p;
        if (comma && s == p) {
            *why = "empty scope after a comma";
            return 0;
        }
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    if (p == end) {
        *why = "expected a label after the scopes";
        return 0;
    }
    if ((size_t)(end - p) > REPORTS_LABEL_MAX) {
        *why = "label longer than 64 bytes";
        return 0;
    }
    for (const char *c = p; c < end; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *why = "control character in the label";
            return 0;
        }
    memcpy(t->label, p, (size_t)(end - p));
    return 1;
}

rc_err_t reports_tokens_parse(const char *text, size_t len, reports_tokens_t **out,
                              char err[REPORTS_ERR_MAX])
{
    reports_tokens_t *self = NULL;
    rc_err_t rc = RC_ENOMEM;
    size_t lineno = 0;
    *out = NULL;
    err[0] = '\0';
    if (sodium_init() < 0) {
        snprintf(err, REPORTS_ERR_MAX, "libsodium failed to start");
        return RC_EIO;
    }
    if (!(self = calloc(1, sizeof *self)))
        goto out;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *s = p;
        lineno++;
        p = nl ? nl + 1 : end;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s == le || *s == '#')
            continue;
        if (self->n == REPORTS_MAX_TOKENS) {
            snprintf(err, REPORTS_ERR_MAX, "line %zu: more than %d tokens", lineno,
                     REPORTS_MAX_TOKENS);
            rc = RC_ERANGE;
            goto out;
        }
        reports_token_t *grown = realloc(self->tokens, (self->n + 1) * sizeof *grown);
        if (!grown)
            goto out;
        self->tokens = grown;
        const char *why = NULL;
        if (!parse_line(s, (size_t)(le - s), &self->tokens[self->n], &why)) {
            snprintf(err, REPORTS_ERR_MAX, "line %zu: %s", lineno, why);
            rc = RC_EPARSE;
            goto out;
        }
        self->n++;
    }
    *out = self;
    self = NULL;
    rc = RC_OK;
out:
    if (rc == RC_ENOMEM)
        snprintf(err, REPORTS_ERR_MAX, "out of memory");
    reports_tokens_destroy(&self);
    return rc;
}

rc_err_t reports_tokens_load(const char *path, reports_tokens_t **out, char err[REPORTS_ERR_MAX])
{
    char *text;
    size_t len;
    *out = NULL;
    if (!path[0])
        return reports_tokens_parse("", 0, out, err);
    rc_err_t rc = service_read_file(path, &text, &len, err, REPORTS_ERR_MAX);
    if (rc == RC_OK)
        rc = reports_tokens_parse(text, len, out, err);
    if (text)
        sodium_memzero(text, len); /* hashes only, but a mistaken clear token too */
    free(text);
    return rc;
}

void reports_tokens_destroy(reports_tokens_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->tokens);
    free(*self_p);
    *self_p = NULL;
}

size_t reports_tokens_count(const reports_tokens_t *self)
{
    return self ? self->n : 0;
}

const reports_token_t *reports_tokens_find(const reports_tokens_t *self, const char *token,
                                           size_t len)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    const reports_token_t *found = NULL;
    if (!self || !token || !len)
        return NULL;
    crypto_hash_sha256(h, (const unsigned char *)token, len);
    /* no early exit: the time taken says nothing about which entry matched */
    for (size_t i = 0; i < self->n; i++) {
        int same = sodium_memcmp(h, self->tokens[i].hash, sizeof h) == 0;
        if (same && !found)
            found = &self->tokens[i];
    }
    sodium_memzero(h, sizeof h);
    return found;
}

int reports_token_may_read(const reports_token_t *t, const char *urn, const char *la_code,
                           const char *trust_id)
{
    if (!t)
        return 0;
    for (size_t i = 0; i < t->nscopes; i++) {
        const reports_scope_t *s = &t->scopes[i];
        switch (s->kind) {
        case SCOPE_ADMIN:
            return 1;
        case SCOPE_SCHOOL:
            if (urn && strcmp(s->id, urn) == 0)
                return 1;
            break;
        case SCOPE_TRUST:
            if (trust_id && trust_id[0] && strcmp(s->id, trust_id) == 0)
                return 1;
            break;
        case SCOPE_LA:
            if (la_code && la_code[0] && strcmp(s->id, la_code) == 0)
                return 1;
            break;
        case SCOPE_NONE:
            break;
        }
    }
    return 0;
}
