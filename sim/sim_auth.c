/* sim_auth.c - Notify JWTs (libjwt), Twilio basic auth and request signatures (OpenSSL). */
#include "sim_auth.h"

#include <errno.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Notify's own wording (notifications-api, app/authentication/auth.py). */
#define NO_TOKEN   "Unauthorized: authentication token must be provided"
#define NOT_BEARER "Unauthorized: authentication bearer scheme must be used"
#define NO_ISS     "Invalid token: iss field not provided"
#define NO_SERVICE "Invalid token: service not found"
#define NO_KEYS    "Invalid token: service has no API keys"
#define BAD_KEY    "Invalid token: API key not found"
#define NO_IAT     "Invalid token: iat field not provided"
#define CLOCK      "Error: Your system clock must be accurate to within 30 seconds"

static sim_auth_result_t refuse(int status, const char *message)
{
    return (sim_auth_result_t){.status = status, .message = message};
}

sim_auth_result_t sim_notify_auth(const char *authorization, const char *service_id,
                                  const char *secret, int64_t now_s)
{
    jwt_t *jwt = NULL;
    sim_auth_result_t res = {0, NULL};
    const char *token, *iss;
    long iat;

    if (!authorization || !*authorization)
        return refuse(401, NO_TOKEN);
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return refuse(401, NOT_BEARER);
    token = authorization + 7;
    /* First read iss unverified, as Notify does, to find the service's keys. */
    if (jwt_decode(&jwt, token, NULL, 0) != 0)
        return refuse(403, BAD_KEY);
    iss = jwt_get_grant(jwt, "iss");
    if (!iss)
        res = refuse(403, NO_ISS);
    else if (!service_id[0] || strcmp(iss, service_id) != 0)
        res = refuse(403, NO_SERVICE);
    else if (!secret[0])
        res = refuse(403, NO_KEYS);
    jwt_free(jwt);
    jwt = NULL;
    if (res.status)
        return res;
    /* Then verify. libjwt skips the check for alg "none", so insist on HS256. */
    if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) != 0 ||
        jwt_get_alg(jwt) != JWT_ALG_HS256) {
        res = refuse(403, BAD_KEY);
        goto out;
    }
    errno = 0;
    iat = jwt_get_grant_int(jwt, "iat");
    if (errno == ENOENT)
        res = refuse(403, NO_IAT);
    else if (iat < now_s - SIM_NOTIFY_CLOCK_SKEW_S || iat > now_s + SIM_NOTIFY_CLOCK_SKEW_S)
        res = refuse(403, CLOCK);
out:
    jwt_free(jwt);
    return res;
}

int sim_twilio_auth(const char *authorization, const char *account_sid, const char *auth_token)
{
    unsigned char got[512];
    char want[512];
    size_t got_len = 0;
    int ok = 0;

    if (!authorization || !account_sid[0] || !auth_token[0] ||
        strncasecmp(authorization, "Basic ", 6) != 0)
        return 0;
    size_t want_len = (size_t)snprintf(want, sizeof want, "%s:%s", account_sid, auth_token);
    if (want_len < sizeof want &&
        sodium_base642bin(got, sizeof got, authorization + 6, strlen(authorization + 6), " ",
                          &got_len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0)
        ok = got_len == want_len && sodium_memcmp(got, want, want_len) == 0;
    sodium_memzero(want, sizeof want);
    sodium_memzero(got, sizeof got);
    return ok;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const sim_param_t *)a)->key, ((const sim_param_t *)b)->key);
}

int sim_twilio_signature(const char *auth_token, const char *url, const sim_param_t *params,
                         size_t n, char out[SIM_TWILIO_SIG_MAX])
{
    sim_param_t *sorted = NULL;
    char *data = NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t len = strlen(url), at;
    int rc = -1;

    sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        goto out;
    memcpy(sorted, params, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_key);
    for (size_t i = 0; i < n; i++)
        len += strlen(sorted[i].key) + strlen(sorted[i].value);
    data = malloc(len + 1);
    if (!data)
        goto out;
    at = strlen(url);
    memcpy(data, url, at);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(sorted[i].key), v = strlen(sorted[i].value);
        memcpy(data + at, sorted[i].key, k);
        memcpy(data + at + k, sorted[i].value, v);
        at += k + v;
    }
    if (!HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)data, at, mac,
              &mac_len))
        goto out;
    sodium_bin2base64(out, SIM_TWILIO_SIG_MAX, mac, mac_len, sodium_base64_VARIANT_ORIGINAL);
    rc = 0;
out:
    free(data);
    free(sorted);
    return rc;
}
