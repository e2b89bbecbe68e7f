/* sim_auth.h - how the simulated gateways check their callers, and sign
 * their own callbacks: Notify's HS256 JWT, Twilio's basic auth and
 * X-Twilio-Signature. */
#ifndef ROLLCALL_SIM_AUTH_H
#define ROLLCALL_SIM_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define SIM_NOTIFY_CLOCK_SKEW_S 30 /* Notify refuses a token issued further from now */
#define SIM_TWILIO_SIG_MAX      64 /* base64 of a SHA-1 HMAC, with room */

/* Why a Notify call was refused: the HTTP status (401 or 403) and Notify's
 * message, a static string. status 0 means the token is good. */
typedef struct {
    int status;
    const char *message;
} sim_auth_result_t;

/* sim_notify_auth checks an Authorization header value (NULL when there was
 * none) as Notify does: "Bearer <JWT>", HS256, iss = service_id, iat within
 * SIM_NOTIFY_CLOCK_SKEW_S of now_s, signed with secret. An empty service_id
 * or secret (no API key configured) refuses every token. */
sim_auth_result_t sim_notify_auth(const char *authorization, const char *service_id,
                                  const char *secret, int64_t now_s);

/* sim_twilio_auth is true when authorization is "Basic base64(sid:token)"
 * for this account_sid and auth_token (both non-empty). */
int sim_twilio_auth(const char *authorization, const char *account_sid, const char *auth_token);

/* A form parameter, for signing. */
typedef struct {
    const char *key;
    const char *value;
} sim_param_t;

/* sim_twilio_signature writes the X-Twilio-Signature Twilio would send with
 * a POST of params (n of them, in any order; sorted here by key) to url,
 * signed with auth_token: base64(HMAC-SHA1(token, url + k1 + v1 + k2 + v2
 * ...)). Returns 0, or -1 when out of memory. */
int sim_twilio_signature(const char *auth_token, const char *url, const sim_param_t *params,
                         size_t n, char out[SIM_TWILIO_SIG_MAX]);

#endif
