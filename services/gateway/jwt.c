/*
 * OIDC bearer-token verification; see jwt.h for what a token must satisfy.
 * The keys come from jwks_source.h, which keeps the current key set and
 * reloads it; jwks.h selects a key and checks a signature. What is left
 * here is the verifier's settings, the token's shape and header, and the
 * claims. The signature is checked before the payload is parsed, so claims
 * of a forged token are never even read. A verification allocates only
 * what jansson needs for two small objects and what OpenSSL needs for one
 * signature check.
 */
#include "jwt.h"

#include "base64.h"
#include "ids.h"
#include "jwks.h"
#include "jwks_source.h"
#include "roles.h"
#include "route.h"
#include "status.h"

#include <jansson.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LEEWAY_SEC 3600
/* Decoded parts of a token never exceed three quarters of its text. */
#define DECODED_MAX (BW_JWT_MAX_TOKEN / 4 * 3 + 3)

struct bw_jwt_verifier {
    char *issuer;
    char *audience;
    char *tenant_claim;
    char *roles_claim;
    char *board_member_claim;
    /* Accepted typ values, lower case, without "application/"; "none" is a
     * token without typ. */
    char token_types[BW_JWT_MAX_TOKEN_TYPES][32];
    size_t n_token_types;
    long leeway;
    bw_jwks_source_t *keys;
};

int bw_jwt_is_jws(const char *token)
{
    size_t dots = 0, run = 0;
    if (token == NULL)
        return 0;
    for (const char *p = token; *p != '\0'; p++) {
        if (*p == '.') {
            if (run == 0 || ++dots > 2)
                return 0;
            run = 0;
        } else if (bw_base64url_value((unsigned char)*p) < 0) {
            return 0;
        } else {
            run++;
        }
    }
    return dots == 2 && run > 0;
}

/* ---- creation ---------------------------------------------------------- */

static int dup_setting(const char *value, const char *def, char **out)
{
    if (value == NULL || *value == '\0')
        value = def;
    if (value == NULL) {
        *out = NULL;
        return 0;
    }
    *out = strdup(value);
    return *out != NULL ? 0 : BW_ENOMEM;
}

static int check_config(const bw_jwt_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->issuer == NULL || *cfg->issuer == '\0' || strlen(cfg->issuer) > BW_JWT_MAX_CLAIM)
        snprintf(err, errlen, "the OIDC issuer must be 1 to %d characters", BW_JWT_MAX_CLAIM);
    else if (cfg->audience == NULL || *cfg->audience == '\0')
        snprintf(err, errlen, "the OIDC audience is missing");
    else if (cfg->leeway_sec < 0 || cfg->leeway_sec > MAX_LEEWAY_SEC)
        snprintf(err, errlen, "the clock leeway must be 0 to %d seconds", MAX_LEEWAY_SEC);
    else
        return 0;
    return BW_EINVAL;
}

/* The media type of a typ value as compared: lower case, without the
 * "application/" prefix that RFC 7515 allows to omit. 0, or -1 when it does
 * not fit out. */
static int typ_normalise(const char *typ, size_t len, char *out, size_t outlen)
{
    if (len >= 12 && strncasecmp(typ, "application/", 12) == 0) {
        typ += 12;
        len -= 12;
    }
    if (len == 0 || len >= outlen)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)typ[i];
        if (ch <= ' ' || ch >= 0x7f)
            return -1;
        out[i] = (char)tolower(ch);
    }
    out[len] = '\0';
    return 0;
}

/* Fills v's accepted token types from a comma-separated list. */
static int token_types_parse(bw_jwt_verifier_t *v, const char *list, char *err, size_t errlen)
{
    if (list == NULL || list[0] == '\0')
        list = BW_JWT_DEFAULT_TOKEN_TYPES;
    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0) {
            if (v->n_token_types == BW_JWT_MAX_TOKEN_TYPES ||
                typ_normalise(p, len, v->token_types[v->n_token_types],
                              sizeof(v->token_types[0])) != 0) {
                snprintf(err, errlen, "the token types must be at most %d media types",
                         BW_JWT_MAX_TOKEN_TYPES);
                return BW_EINVAL;
            }
            v->n_token_types++;
        }
        p += strcspn(p, ",");
    }
    if (v->n_token_types == 0) {
        snprintf(err, errlen, "no token type is accepted");
        return BW_EINVAL;
    }
    return 0;
}

/* Whether the header's typ (NULL when absent) is an accepted token type. */
static int typ_accepted(const bw_jwt_verifier_t *v, json_t *typ)
{
    char want[32];
    if (typ == NULL)
        snprintf(want, sizeof(want), "none");
    else if (!json_is_string(typ) ||
             typ_normalise(json_string_value(typ), json_string_length(typ), want, sizeof(want)) !=
                 0 ||
             strcmp(want, "none") == 0)
        return 0;
    for (size_t i = 0; i < v->n_token_types; i++)
        if (strcmp(v->token_types[i], want) == 0)
            return 1;
    return 0;
}

int bw_jwt_verifier_create(const bw_jwt_config_t *cfg, bw_jwt_verifier_t **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    int rc = check_config(cfg, err, errlen);
    if (rc != 0)
        return rc;
    bw_jwt_verifier_t *v = calloc(1, sizeof(*v));
    rc = BW_ENOMEM;
    if (v == NULL || dup_setting(cfg->issuer, NULL, &v->issuer) != 0 ||
        dup_setting(cfg->audience, NULL, &v->audience) != 0 ||
        dup_setting(cfg->tenant_claim, BW_JWT_DEFAULT_TENANT_CLAIM, &v->tenant_claim) != 0 ||
        dup_setting(cfg->roles_claim, BW_JWT_DEFAULT_ROLES_CLAIM, &v->roles_claim) != 0 ||
        dup_setting(cfg->board_member_claim, BW_JWT_DEFAULT_BOARD_MEMBER_CLAIM,
                    &v->board_member_claim) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    v->leeway = cfg->leeway_sec;
    rc = token_types_parse(v, cfg->token_types, err, errlen);
    if (rc != 0)
        goto out;
    bw_jwks_source_config_t source = {
        .file = cfg->jwks_file,
        .url = cfg->jwks_url,
        .json = cfg->jwks_json,
        .refresh_sec = cfg->refresh_sec,
        .refresh_min_gap_sec = cfg->refresh_min_gap_sec,
        .fetch_timeout_sec = cfg->fetch_timeout_sec,
    };
    rc = bw_jwks_source_create(&source, &v->keys, err, errlen);
    if (rc != 0)
        goto out;
    *out = v;
    v = NULL;
out:
    bw_jwt_verifier_destroy(v);
    return rc;
}

void bw_jwt_verifier_destroy(bw_jwt_verifier_t *v)
{
    if (v == NULL)
        return;
    bw_jwks_source_destroy(v->keys);
    free(v->issuer);
    free(v->audience);
    free(v->tenant_claim);
    free(v->roles_claim);
    free(v->board_member_claim);
    free(v);
}

int bw_jwt_verifier_reload(bw_jwt_verifier_t *v, char *err, size_t errlen)
{
    return bw_jwks_source_reload(v->keys, err, errlen);
}

size_t bw_jwt_verifier_key_count(bw_jwt_verifier_t *v)
{
    return bw_jwks_source_key_count(v->keys);
}

/* ---- claims ------------------------------------------------------------ */

/* A claim by its full name, or else by a dotted path into nested objects. */
static json_t *claim_get(json_t *obj, const char *name)
{
    json_t *value = json_object_get(obj, name);
    const char *p = name;
    if (value != NULL || strchr(name, '.') == NULL)
        return value;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(obj))
            return NULL;
        obj = json_object_getn(obj, p, n);
        if (dot == NULL || obj == NULL)
            return obj;
        p = dot + 1;
    }
}

/* A NumericDate claim: 0 absent, 1 present in *out, -1 malformed. */
static int numeric_date(json_t *payload, const char *name, long long *out)
{
    json_t *value = json_object_get(payload, name);
    if (value == NULL)
        return 0;
    if (json_is_integer(value)) {
        *out = json_integer_value(value);
        return 1;
    }
    if (json_is_real(value)) {
        double d = json_real_value(value);
        /* Anything beyond +-2^62 is not a date, and would not convert. */
        if (!(d > -4.6e18 && d < 4.6e18))
            return -1;
        *out = (long long)d;
        return 1;
    }
    return -1;
}

static int audience_ok(json_t *aud, const char *audience)
{
    size_t i;
    json_t *one;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    json_array_foreach(aud, i, one)
    {
        if (json_is_string(one) && strcmp(json_string_value(one), audience) == 0)
            return 1;
    }
    return 0;
}

/* The role bits of a roles claim; -1 when it is neither a string nor an
 * array of strings. Unknown role names grant nothing. */
static int parse_roles(json_t *claim, unsigned *mask)
{
    *mask = 0;
    if (json_is_string(claim)) {
        const char *s = json_string_value(claim);
        size_t n = json_string_length(claim), i = 0;
        while (i < n) {
            size_t start = i;
            while (i < n && s[i] != ' ')
                i++;
            *mask |= bw_role_bit(s + start, i - start);
            i++;
        }
        return 0;
    }
    if (!json_is_array(claim))
        return -1;
    size_t i;
    json_t *one;
    json_array_foreach(claim, i, one)
    {
        if (!json_is_string(one))
            return -1;
        *mask |= bw_role_bit(json_string_value(one), json_string_length(one));
    }
    return 0;
}

/* A UUID claim copied in lower case; 0 or -1. */
static int uuid_claim(json_t *claim, char out[BW_UUID_STR_LEN + 1])
{
    if (!json_is_string(claim) || !bw_uuid_valid(json_string_value(claim)))
        return -1;
    const char *s = json_string_value(claim);
    for (size_t i = 0; i <= BW_UUID_STR_LEN; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return 0;
}

static int printable_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static const char *check_claims(const bw_jwt_verifier_t *v, json_t *payload, long long now,
                                bw_jwt_claims_t *c)
{
    json_t *iss = json_object_get(payload, "iss");
    json_t *aud = json_object_get(payload, "aud");
    json_t *sub = json_object_get(payload, "sub");
    long long exp = 0, nbf = 0, iat = 0;
    int has_exp, has_nbf, has_iat;

    if (!json_is_string(iss) || strcmp(json_string_value(iss), v->issuer) != 0)
        return "wrong issuer";
    if (aud == NULL)
        return "the token has no audience";
    if (!json_is_string(aud) && !json_is_array(aud))
        return "malformed aud claim";
    if (!audience_ok(aud, v->audience))
        return "wrong audience";
    has_exp = numeric_date(payload, "exp", &exp);
    has_nbf = numeric_date(payload, "nbf", &nbf);
    has_iat = numeric_date(payload, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        return "malformed time claim";
    if (has_exp == 0)
        return "the token has no expiry";
    /* Arithmetic on now only: claims may be anywhere in range. */
    if (exp <= now - v->leeway)
        return "token expired";
    if (has_nbf && nbf > now + v->leeway)
        return "token not yet valid";
    if (has_iat && iat > now + v->leeway)
        return "token issued in the future";
    if (!json_is_string(sub) || json_string_length(sub) == 0 ||
        json_string_length(sub) > BW_JWT_MAX_CLAIM ||
        !printable_ascii(json_string_value(sub), json_string_length(sub)))
        return "missing or malformed sub claim";
    snprintf(c->principal, sizeof(c->principal), "jwt:%s:%s", v->issuer, json_string_value(sub));

    json_t *tenant = claim_get(payload, v->tenant_claim);
    if (tenant == NULL)
        return "the token names no tenant";
    if (uuid_claim(tenant, c->tenant_id) != 0)
        return "malformed tenant claim";
    if (strcmp(c->tenant_id, "00000000-0000-0000-0000-000000000000") == 0)
        return "the tenant claim names no tenant";

    json_t *granted = claim_get(payload, v->roles_claim);
    if (granted == NULL)
        return "the token grants no role";
    if (parse_roles(granted, &c->roles) != 0)
        return "malformed roles claim";
    if (c->roles == 0)
        return "the token grants no role";
    bw_role_names(c->roles, c->role_names, sizeof(c->role_names));

    json_t *member = claim_get(payload, v->board_member_claim);
    if (member != NULL && !json_is_null(member) && uuid_claim(member, c->board_member) != 0)
        return "malformed board member claim";
    c->expires_at = exp;
    return NULL;
}

/* ---- verification ------------------------------------------------------ */

enum { HEADER, PAYLOAD, SIGNATURE };

/* A compact JWS: its three parts decoded, and the length of the signing
 * input (the text before the second dot). */
typedef struct jws {
    const uint8_t *part[3];
    size_t len[3];
    size_t signed_len;
} jws_t;

/* Splits token (len bytes) at its two dots and decodes each part into buf;
 * 0, or -1 unless there are exactly three non-empty base64url parts. */
static int jws_decode(const char *token, size_t len, uint8_t *buf, size_t cap, jws_t *t)
{
    const char *start = token, *end = token + len;
    size_t used = 0;
    for (int i = HEADER; i <= SIGNATURE; i++) {
        const char *dot = memchr(start, '.', (size_t)(end - start));
        if ((dot == NULL) != (i == SIGNATURE))
            return -1;
        const char *stop = dot != NULL ? dot : end;
        size_t n;
        if (bw_base64url_decode(start, (size_t)(stop - start), buf + used, cap - used, &n) != 0 ||
            n == 0)
            return -1;
        t->part[i] = buf + used;
        t->len[i] = n;
        used += n;
        if (i == PAYLOAD)
            t->signed_len = (size_t)(stop - token);
        if (dot != NULL)
            start = dot + 1;
    }
    return 0;
}

/* The header's algorithm and kid (borrowed from header; NULL: none), or
 * why it is refused. */
static const char *check_header(const bw_jwt_verifier_t *v, json_t *header, bw_jws_alg_t *alg,
                                const char **kid)
{
    json_t *alg_name = json_object_get(header, "alg");
    json_t *kid_value = json_object_get(header, "kid");
    if (!json_is_object(header) || !json_is_string(alg_name) ||
        (kid_value != NULL && !json_is_string(kid_value)))
        return "malformed token header";
    *alg = bw_jws_alg(json_string_value(alg_name));
    if (*alg == 0)
        return "unsupported algorithm";
    /* No extension is understood, so none that must be may be present. */
    if (json_object_get(header, "crit") != NULL)
        return "unsupported critical header";
    if (!typ_accepted(v, json_object_get(header, "typ")))
        return "not an access token (typ)";
    *kid = kid_value != NULL ? json_string_value(kid_value) : NULL;
    return NULL;
}

int bw_jwt_verify(bw_jwt_verifier_t *v, const char *token, long long now, bw_jwt_claims_t *claims,
                  const char **reason)
{
    uint8_t buf[DECODED_MAX];
    jws_t t = {.signed_len = 0};
    const char *why = "malformed token", *kid = NULL;
    bw_jws_alg_t alg = 0;
    const bw_jwk_t *key = NULL;
    json_t *header = NULL, *payload = NULL;
    bw_jwks_t *ks = NULL;
    int rc = BW_EAUTH;
    memset(claims, 0, sizeof(*claims));

    size_t len = strnlen(token, BW_JWT_MAX_TOKEN + 1);
    if (len > BW_JWT_MAX_TOKEN) {
        why = "token too large";
        goto out;
    }
    if (jws_decode(token, len, buf, sizeof(buf), &t) != 0)
        goto out;
    header = json_loadb((const char *)t.part[HEADER], t.len[HEADER], JSON_REJECT_DUPLICATES, NULL);
    why = check_header(v, header, &alg, &kid);
    if (why != NULL)
        goto out;
    ks = bw_jwks_source_acquire(v->keys);
    rc = bw_jwks_select(ks, alg, kid, &key, &why);
    if (rc != 0) {
        if (rc == BW_ENOTFOUND)
            bw_jwks_source_unknown_kid(v->keys);
        rc = BW_EAUTH;
        goto out;
    }
    rc =
        bw_jwks_check_signature(key, alg, token, t.signed_len, t.part[SIGNATURE], t.len[SIGNATURE]);
    if (rc != 0) {
        why = rc == BW_EAUTH ? "bad signature" : "out of memory";
        goto out;
    }
    rc = BW_EAUTH;
    why = "malformed token payload";
    payload =
        json_loadb((const char *)t.part[PAYLOAD], t.len[PAYLOAD], JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(payload))
        goto out;
    why = check_claims(v, payload, now, claims);
    if (why == NULL)
        rc = 0;
out:
    if (rc != 0)
        memset(claims, 0, sizeof(*claims));
    if (reason != NULL)
        *reason = rc == 0 ? NULL : why;
    json_decref(header);
    json_decref(payload);
    bw_jwks_release(ks);
    return rc;
}
