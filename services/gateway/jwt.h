/*
 * OIDC bearer tokens: verification of compact JWS tokens (RS256 and ES256)
 * against a JSON Web Key Set, and the tenant, roles and principal they carry.
 * A verifier is built once at start-up from a JWKS given as a file, a URL
 * (fetched with libcurl) or inline JSON, which jwks_source.h keeps current:
 * reloaded every refresh_sec seconds, and sooner when a token names a key
 * id the set lacks (a key rotation at the identity provider), but at most
 * once per refresh_min_gap_sec; a verification never waits for a reload and
 * never sees half of one. Which keys of a JWKS are used: jwks.h.
 *
 * What a token must satisfy: three base64url parts, at most
 * BW_JWT_MAX_TOKEN bytes; a header with alg RS256 or ES256 (never none, HS*
 * or anything else), no "crit", and a typ among the accepted token types
 * (access tokens only: RFC 9068's "at+jwt" by default, so that an ID token or
 * another JWT of the same issuer is not taken for one); a key of the set selected by kid (without
 * kid, the only key of the algorithm's type), of the algorithm's type and,
 * when the key names an alg, that alg; a valid signature; then the claims:
 * iss equal to the issuer, aud (string or array) containing the audience,
 * exp in the future and nbf, iat not in the future (each with leeway_sec of
 * clock skew), sub a printable ASCII string, the tenant claim a UUID other
 * than the nil UUID, the
 * roles claim (an array of strings or a space-separated string) granting at
 * least one of admin, editor, auditor, viewer, board_member (other names are
 * ignored), and the board member claim, when present, a UUID.
 * A claim name is looked up as a top-level member first and, failing that,
 * as a dotted path ("realm_access.roles").
 *
 * Safe for concurrent bw_jwt_verify calls from any thread. Nothing here
 * logs a token or a part of one; reasons are fixed strings.
 */
#ifndef BW_GW_JWT_H
#define BW_GW_JWT_H

#include <stddef.h>

#include "ids.h"

#define BW_JWT_MAX_TOKEN 8192
#define BW_JWT_MAX_CLAIM 255 /* longest iss and sub accepted */
#define BW_JWT_PRINCIPAL_MAX (4 + BW_JWT_MAX_CLAIM + 1 + BW_JWT_MAX_CLAIM + 1)
#define BW_JWT_ROLE_NAMES_MAX 48

#define BW_JWT_DEFAULT_TENANT_CLAIM "bulwark_tenant"
#define BW_JWT_DEFAULT_ROLES_CLAIM "bulwark_roles"
#define BW_JWT_DEFAULT_BOARD_MEMBER_CLAIM "bulwark_board_member"
#define BW_JWT_DEFAULT_TOKEN_TYPES "at+jwt"
#define BW_JWT_MAX_TOKEN_TYPES 8

typedef struct bw_jwt_config {
    const char *issuer;   /* required; compared exactly with "iss" */
    const char *audience; /* required; must be one of "aud" */
    /* Exactly one source of keys. A URL must be https, or http on a
     * loopback host (tests, a sidecar). */
    const char *jwks_file;
    const char *jwks_url;
    const char *jwks_json;
    /* Claim names; NULL or "" selects the BW_JWT_DEFAULT_* name. */
    const char *tenant_claim;
    const char *roles_claim;
    const char *board_member_claim;
    /* Accepted values of the header's typ, comma-separated, compared without
     * case and without an "application/" prefix (RFC 7515 4.1.9); "none"
     * accepts a token without typ. NULL or "": BW_JWT_DEFAULT_TOKEN_TYPES. */
    const char *token_types;
    long leeway_sec;          /* clock skew allowed on exp, nbf and iat, 0..3600 */
    long refresh_sec;         /* periodic reload of the JWKS; 0: none */
    long refresh_min_gap_sec; /* least time between reloads prompted by an
                                 unknown kid; negative: unknown kids never
                                 prompt one */
    long fetch_timeout_sec;   /* whole JWKS download, URL only */
} bw_jwt_config_t;

/* The gateway's defaults; set issuer, audience and one source on top. */
#define BW_JWT_CONFIG_INIT                                                                         \
    {                                                                                              \
        .leeway_sec = 60, .refresh_sec = 300, .refresh_min_gap_sec = 60, .fetch_timeout_sec = 10   \
    }

typedef struct bw_jwt_claims {
    char tenant_id[BW_UUID_STR_LEN + 1];    /* lower case */
    unsigned roles;                         /* BW_ROLE_* bits of route.h, never 0 */
    char role_names[BW_JWT_ROLE_NAMES_MAX]; /* "admin,viewer": the x-roles value */
    char principal[BW_JWT_PRINCIPAL_MAX];   /* "jwt:<iss>:<sub>" */
    char board_member[BW_UUID_STR_LEN + 1]; /* lower case; "" without the claim */
    long long expires_at;                   /* exp, Unix seconds */
} bw_jwt_claims_t;

typedef struct bw_jwt_verifier bw_jwt_verifier_t;

/* Builds a verifier (caller owns *out; free with bw_jwt_verifier_destroy).
 * cfg and its strings are borrowed for the call only. Reads the file or
 * fetches the URL now, blocking. 0; BW_EINVAL with a message in err (a bad
 * setting, an unreadable or malformed JWKS, no usable signing key);
 * BW_EUNAVAIL when the URL cannot be fetched; BW_ENOMEM. */
int bw_jwt_verifier_create(const bw_jwt_config_t *cfg, bw_jwt_verifier_t **out, char *err,
                           size_t errlen);
/* Stops the background thread and frees the verifier. Accepts NULL. */
void bw_jwt_verifier_destroy(bw_jwt_verifier_t *v);

/* Verifies token (borrowed, NUL-terminated) at now (Unix seconds) and fills
 * *claims. 0; BW_EAUTH with *reason set to a fixed lower-case phrase that
 * may be shown to the client ("token expired"); BW_ENOMEM. reason may be
 * NULL. Never blocks on I/O. */
int bw_jwt_verify(bw_jwt_verifier_t *v, const char *token, long long now, bw_jwt_claims_t *claims,
                  const char **reason);

/* Re-reads the file or re-fetches the URL now, blocking, and swaps the new
 * key set in. On failure the current set stays and err says why (BW_EINVAL,
 * BW_EUNAVAIL, BW_ENOMEM). */
int bw_jwt_verifier_reload(bw_jwt_verifier_t *v, char *err, size_t errlen);
/* How many usable keys the current set holds. */
size_t bw_jwt_verifier_key_count(bw_jwt_verifier_t *v);

/* Whether token has the shape of a compact JWS (three non-empty parts of
 * base64url characters): how the gateway tells a JWT from other tokens. */
int bw_jwt_is_jws(const char *token);

#endif
