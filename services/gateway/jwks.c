/*
 * JWKS parsing, key selection and signature checks; see jwks.h. Each usable
 * JWK becomes an OpenSSL 3 provider key built with EVP_PKEY_fromdata, so a
 * signature check costs one EVP_DigestVerify and no key parsing. A set is
 * one allocation with room for BW_JWKS_MAX_KEYS keys and its reference
 * count, which is all that ever changes in it after parsing.
 */
#include "jwks.h"

#include "base64.h"
#include "ids.h"
#include "status.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define P256_COORD 32
#define ECDSA_DER_MAX 80

enum { KTY_RSA = 1, KTY_EC };

struct bw_jwk {
    char *kid; /* NULL when the key has none */
    int kty;
    bw_jws_alg_t alg; /* 0 unless the key pins one */
    EVP_PKEY *pkey;
};

struct bw_jwks {
    atomic_long refs;
    size_t n;
    bw_jwk_t keys[BW_JWKS_MAX_KEYS];
};

bw_jws_alg_t bw_jws_alg(const char *name)
{
    if (strcmp(name, "RS256") == 0)
        return BW_JWS_RS256;
    if (strcmp(name, "ES256") == 0)
        return BW_JWS_ES256;
    return 0;
}

static void jwks_free(bw_jwks_t *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        EVP_PKEY_free(ks->keys[i].pkey);
        free(ks->keys[i].kid);
    }
    free(ks);
}

bw_jwks_t *bw_jwks_hold(bw_jwks_t *ks)
{
    atomic_fetch_add(&ks->refs, 1);
    return ks;
}

void bw_jwks_release(bw_jwks_t *ks)
{
    if (ks != NULL && atomic_fetch_sub(&ks->refs, 1) == 1)
        jwks_free(ks);
}

size_t bw_jwks_count(const bw_jwks_t *ks)
{
    return ks->n;
}

/* ---- parsing ----------------------------------------------------------- */

/* Decodes a base64url JWK member into buf; the decoded length, or -1. */
static long jwk_bytes(json_t *jwk, const char *name, uint8_t *buf, size_t cap)
{
    json_t *s = json_object_get(jwk, name);
    size_t n;
    if (!json_is_string(s) ||
        bw_base64url_decode(json_string_value(s), json_string_length(s), buf, cap, &n) != 0 ||
        n == 0)
        return -1;
    return (long)n;
}

/* An EVP_PKEY from provider parameters; 0, 1 (refused) or BW_ENOMEM.
 * check runs OpenSSL's public key validation: for EC it rejects points off
 * the curve; for RSA it would only test n for primality, at a cost of tens
 * of milliseconds per key and no gain against a key set we trust anyway. */
static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, int check_key, EVP_PKEY **out)
{
    int rc = BW_ENOMEM;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    if (params == NULL || ctx == NULL)
        goto out;
    rc = 1;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    if (!check_key) {
        rc = 0;
        goto out;
    }
    check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
    if (check != NULL && EVP_PKEY_public_check(check) == 1) {
        rc = 0;
    } else {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

static int rsa_key(json_t *jwk, EVP_PKEY **out, const char **why)
{
    uint8_t nb[RSA_MAX_BITS / 8 + 1], eb[16];
    long nl = jwk_bytes(jwk, "n", nb, sizeof(nb));
    long el = jwk_bytes(jwk, "e", eb, sizeof(eb));
    int rc = BW_ENOMEM;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    if (nl < 0 || el < 0) {
        *why = "malformed RSA parameters";
        return 1;
    }
    n = BN_bin2bn(nb, (int)nl, NULL);
    e = BN_bin2bn(eb, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (n == NULL || e == NULL || bld == NULL)
        goto out;
    if (BN_num_bits(n) < RSA_MIN_BITS || BN_num_bits(n) > RSA_MAX_BITS || !BN_is_odd(n)) {
        *why = "RSA modulus shorter than 2048 bits or malformed";
        rc = 1;
        goto out;
    }
    if (!BN_is_odd(e) || BN_is_one(e)) {
        *why = "malformed RSA exponent";
        rc = 1;
        goto out;
    }
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto out;
    rc = pkey_from_params("RSA", bld, 0, out);
    if (rc == 1)
        *why = "OpenSSL refused the RSA key";
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

static int ec_key(json_t *jwk, EVP_PKEY **out, const char **why)
{
    uint8_t point[1 + 2 * P256_COORD];
    json_t *crv = json_object_get(jwk, "crv");
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0) {
        *why = "curve not supported";
        return 1;
    }
    point[0] = 0x04; /* uncompressed: x then y */
    if (jwk_bytes(jwk, "x", point + 1, P256_COORD) != P256_COORD ||
        jwk_bytes(jwk, "y", point + 1 + P256_COORD, P256_COORD) != P256_COORD) {
        *why = "malformed EC coordinates";
        return 1;
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        return BW_ENOMEM;
    int rc = BW_ENOMEM;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) == 1)
        rc = pkey_from_params("EC", bld, 1, out);
    if (rc == 1)
        *why = "EC point not on P-256";
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

/* Whether a JWK's use and key_ops (either may be absent) allow checking
 * signatures; *why when not. */
static int for_verification(json_t *use, json_t *ops, const char **why)
{
    if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        *why = "not a signing key";
        return 0;
    }
    if (ops == NULL)
        return 1;
    int verify = 0;
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        verify |= json_is_string(op) && strcmp(json_string_value(op), "verify") == 0;
    }
    if (!verify)
        *why = "not a verification key";
    return verify;
}

/* Fills *k from one JWK: 0; 1 when the key is skipped (another use, type or
 * algorithm, or malformed), with *why; BW_ENOMEM. */
static int parse_jwk(json_t *jwk, bw_jwk_t *k, const char **why)
{
    json_t *kty = json_object_get(jwk, "kty");
    json_t *alg = json_object_get(jwk, "alg");
    json_t *kid = json_object_get(jwk, "kid");
    memset(k, 0, sizeof(*k));
    if (!json_is_object(jwk) || !json_is_string(kty)) {
        *why = "not a JWK";
        return 1;
    }
    if (!for_verification(json_object_get(jwk, "use"), json_object_get(jwk, "key_ops"), why))
        return 1;
    if (alg != NULL) {
        k->alg = json_is_string(alg) ? bw_jws_alg(json_string_value(alg)) : 0;
        if (k->alg == 0) {
            *why = "algorithm not supported";
            return 1;
        }
    }
    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) > BW_JWKS_MAX_KID ||
                        strlen(json_string_value(kid)) != json_string_length(kid))) {
        *why = "malformed kid";
        return 1;
    }
    int rc;
    if (strcmp(json_string_value(kty), "RSA") == 0) {
        k->kty = KTY_RSA;
        if (k->alg == BW_JWS_ES256) {
            *why = "alg does not match kty";
            return 1;
        }
        rc = rsa_key(jwk, &k->pkey, why);
    } else if (strcmp(json_string_value(kty), "EC") == 0) {
        k->kty = KTY_EC;
        if (k->alg == BW_JWS_RS256) {
            *why = "alg does not match kty";
            return 1;
        }
        rc = ec_key(jwk, &k->pkey, why);
    } else {
        *why = "key type not supported";
        return 1;
    }
    if (rc != 0)
        return rc;
    if (kid != NULL && (k->kid = strdup(json_string_value(kid))) == NULL) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        return BW_ENOMEM;
    }
    return 0;
}

int bw_jwks_parse(const char *text, size_t len, bw_jwks_t **out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = NULL, *keys, *jwk;
    bw_jwks_t *ks = NULL;
    const char *first_why = NULL;
    size_t first_skipped = 0, i;
    int rc = BW_EINVAL;
    *out = NULL;
    if (len > BW_JWKS_MAX_BYTES) {
        snprintf(err, errlen, "the JWKS is larger than %d bytes", BW_JWKS_MAX_BYTES);
        goto out;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    keys = json_object_get(doc, "keys");
    if (doc == NULL) {
        snprintf(err, errlen, "malformed JWKS: %s at line %d, column %d", je.text, je.line,
                 je.column);
        goto out;
    }
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "malformed JWKS: expected an object with a \"keys\" array");
        goto out;
    }
    if (json_array_size(keys) > BW_JWKS_MAX_KEYS) {
        snprintf(err, errlen, "the JWKS holds %zu keys, more than %d", json_array_size(keys),
                 BW_JWKS_MAX_KEYS);
        goto out;
    }
    rc = BW_ENOMEM;
    ks = calloc(1, sizeof(*ks));
    if (ks == NULL)
        goto out;
    atomic_init(&ks->refs, 1);
    json_array_foreach(keys, i, jwk)
    {
        const char *why = NULL;
        int r = parse_jwk(jwk, &ks->keys[ks->n], &why);
        if (r < 0)
            goto out;
        if (r == 0) {
            ks->n++;
        } else if (first_why == NULL) {
            first_why = why;
            first_skipped = i;
        }
    }
    if (ks->n == 0) {
        if (first_why != NULL)
            snprintf(err, errlen, "the JWKS has no usable RS256 or ES256 key (key %zu: %s)",
                     first_skipped, first_why);
        else
            snprintf(err, errlen, "the JWKS has no keys");
        rc = BW_EINVAL;
        goto out;
    }
    *out = ks;
    ks = NULL;
    rc = 0;
out:
    if (rc == BW_ENOMEM)
        snprintf(err, errlen, "out of memory");
    jwks_free(ks);
    json_decref(doc);
    return rc;
}

/* ---- use --------------------------------------------------------------- */

static int kty_of(bw_jws_alg_t alg)
{
    return alg == BW_JWS_RS256 ? KTY_RSA : KTY_EC;
}

int bw_jwks_select(const bw_jwks_t *ks, bw_jws_alg_t alg, const char *kid, const bw_jwk_t **key,
                   const char **why)
{
    const bw_jwk_t *found = NULL;
    size_t count = 0;
    int kid_known = 0;
    *key = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        const bw_jwk_t *k = &ks->keys[i];
        if (kid != NULL && (k->kid == NULL || strcmp(k->kid, kid) != 0))
            continue;
        kid_known = 1;
        if (k->kty != kty_of(alg) || (k->alg != 0 && k->alg != alg))
            continue;
        found = k;
        if (kid != NULL)
            break;
        count++;
    }
    if (kid != NULL) {
        if (found != NULL) {
            *key = found;
            return 0;
        }
        *why = kid_known ? "the algorithm does not match the key" : "unknown key id";
        return kid_known ? BW_EAUTH : BW_ENOTFOUND;
    }
    if (count == 1) {
        *key = found;
        return 0;
    }
    *why = count == 0 ? "no key for the token's algorithm" : "the token names no key id";
    return BW_EAUTH;
}

/* JWS ES256 signatures are r || s; OpenSSL verifies DER. */
static int es256_der(const uint8_t *sig, uint8_t *der, size_t cap, size_t *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, P256_COORD, NULL);
    BIGNUM *s = BN_bin2bn(sig + P256_COORD, P256_COORD, NULL);
    int rc = BW_ENOMEM;
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    int n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > cap)
        goto out;
    uint8_t *p = der;
    i2d_ECDSA_SIG(es, &p);
    *der_len = (size_t)n;
    rc = 0;
out:
    ECDSA_SIG_free(es);
    return rc;
}

int bw_jwks_check_signature(const bw_jwk_t *key, bw_jws_alg_t alg, const char *input,
                            size_t input_len, const uint8_t *sig, size_t sig_len)
{
    uint8_t der[ECDSA_DER_MAX];
    if (key->kty != kty_of(alg))
        return BW_EAUTH;
    if (alg == BW_JWS_ES256) {
        if (sig_len != 2 * P256_COORD)
            return BW_EAUTH;
        int rc = es256_der(sig, der, sizeof(der), &sig_len);
        if (rc != 0)
            return rc;
        sig = der;
    } else if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
        return BW_EAUTH;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return BW_ENOMEM;
    int ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key->pkey, NULL) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    /* A failed check leaves errors on this thread's queue. */
    ERR_clear_error();
    return ok ? 0 : BW_EAUTH;
}
