/*
 * Fuzzes bw_jwt_verify. A random token almost never carries a valid
 * signature, and everything after the signature check (the payload and
 * every claim) would stay unreached; so the first input byte picks a mode:
 *   bit 0 clear: the rest is the token, verified as is;
 *   bit 0 set:   the rest is "<header JSON>\0<payload JSON>" (without a NUL,
 *                all of it is the payload under a fixed header), which this
 *                target encodes and signs with its own key (bit 1: RSA,
 *                else P-256) before verifying, so the claims are reached;
 *   bit 2:       verify with claim names given as dotted paths;
 *   bit 3 (before all else): the rest is a JWKS document to build a
 *                verifier from.
 * The keys are made once at start-up; the JWKS the verifiers trust is built
 * from them, with a few unusable keys the parser must skip.
 */
#include "base64.h"
#include "ids.h"
#include "jwt.h"
#include "status.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1750000000LL
#define DEFAULT_HEADER "{\"alg\":\"ES256\",\"kid\":\"ec-1\"}"

static EVP_PKEY *rsa_key, *ec_key;
static bw_jwt_verifier_t *plain, *dotted;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_jwt: %s\n", what);
    abort();
}

/* The JWKS: the RSA and EC keys by kid, plus keys to be skipped. */
static char *make_jwks(void)
{
    static char doc[4096];
    uint8_t nb[256], eb[8], pub[65];
    char n64[400], e64[16], x64[48], y64[48];
    BIGNUM *n = NULL, *e = NULL;
    size_t len = 0;
    if (EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
        EVP_PKEY_get_octet_string_param(ec_key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len) !=
            1 ||
        len != sizeof(pub) || BN_num_bytes(n) > (int)sizeof(nb) ||
        BN_num_bytes(e) > (int)sizeof(eb))
        die("cannot read the test keys");
    bw_base64url_encode(nb, (size_t)BN_bn2bin(n, nb), n64);
    bw_base64url_encode(eb, (size_t)BN_bn2bin(e, eb), e64);
    bw_base64url_encode(pub + 1, 32, x64);
    bw_base64url_encode(pub + 33, 32, y64);
    BN_free(n);
    BN_free(e);
    snprintf(doc, sizeof(doc),
             "{\"keys\":["
             "{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\","
             "\"e\":\"%s\"},"
             "{\"kty\":\"EC\",\"kid\":\"ec-1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
             "{\"kty\":\"RSA\",\"kid\":\"enc-1\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"},"
             "{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0\"}]}",
             n64, e64, x64, y64, n64, e64);
    return doc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (rsa_key == NULL || ec_key == NULL)
        die("cannot make the test keys");
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = "https://idp.example.com";
    cfg.audience = "bulwark";
    cfg.jwks_json = make_jwks();
    /* Headers with and without typ reach the signature and the claims. */
    cfg.token_types = "at+jwt,jwt,none";
    if (bw_jwt_verifier_create(&cfg, &plain, err, sizeof(err)) != 0)
        die(err);
    cfg.tenant_claim = "org.tenant";
    cfg.roles_claim = "realm_access.roles";
    cfg.board_member_claim = "a.b.c";
    if (bw_jwt_verifier_create(&cfg, &dotted, err, sizeof(err)) != 0)
        die(err);
    return 0;
}

/* Encodes header and payload, signs them, and writes the token into out
 * (room for BW_JWT_MAX_TOKEN * 2). */
static void sign_token(const uint8_t *header, size_t hl, const uint8_t *payload, size_t pl,
                       int use_rsa, char *out)
{
    uint8_t sig[512], der[128];
    size_t o = bw_base64url_encode(header, hl, out);
    out[o++] = '.';
    o += bw_base64url_encode(payload, pl, out + o);
    size_t sl = use_rsa ? sizeof(sig) : sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL ||
        EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, use_rsa ? rsa_key : ec_key, NULL) !=
            1 ||
        EVP_DigestSign(ctx, use_rsa ? sig : der, &sl, (const uint8_t *)out, o) != 1)
        die("cannot sign");
    EVP_MD_CTX_free(ctx);
    if (!use_rsa) {
        const uint8_t *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
        if (es == NULL)
            die("cannot read the ECDSA signature");
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        sl = 64;
    }
    out[o++] = '.';
    bw_base64url_encode(sig, sl, out + o);
}

static void check(bw_jwt_verifier_t *v, const char *token)
{
    bw_jwt_claims_t claims;
    const char *reason = NULL;
    int rc = bw_jwt_verify(v, token, NOW, &claims, &reason);
    if (rc == 0) {
        /* What the gateway relies on when a token passes. */
        if (claims.roles == 0 || claims.roles > 0x1f || strlen(claims.tenant_id) != 36 ||
            strncmp(claims.principal, "jwt:https://idp.example.com:", 28) != 0 || reason != NULL)
            die("accepted a token without the promised claims");
    } else if (rc != BW_EAUTH || reason == NULL || claims.tenant_id[0] != '\0') {
        die("refusal without a reason, or with claims left behind");
    }
}

static void jwks_only(const uint8_t *data, size_t size)
{
    static char doc[BW_JWT_MAX_TOKEN + 1024];
    char err[256];
    if (size >= sizeof(doc))
        return;
    memcpy(doc, data, size);
    doc[size] = '\0';
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = "https://idp.example.com";
    cfg.audience = "bulwark";
    cfg.jwks_json = doc;
    bw_jwt_verifier_t *v = NULL;
    int rc = bw_jwt_verifier_create(&cfg, &v, err, sizeof(err));
    if ((rc == 0) != (v != NULL) || (rc == 0 && bw_jwt_verifier_key_count(v) == 0) ||
        (rc != 0 && memchr(err, '\0', sizeof(err)) == NULL))
        die("verifier creation broke its contract");
    bw_jwt_verifier_destroy(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char token[BW_JWT_MAX_TOKEN * 3];
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    if (mode & 8) {
        jwks_only(data, size);
        return 0;
    }
    if ((mode & 1) == 0) {
        size_t n = size < sizeof(token) - 1 ? size : sizeof(token) - 1;
        memcpy(token, data, n);
        token[n] = '\0';
    } else {
        /* Keep the encoded token within the buffer: 4/3 of the input. */
        if (size > BW_JWT_MAX_TOKEN + 1024)
            return 0;
        const uint8_t *nul = memchr(data, '\0', size);
        const uint8_t *header = (const uint8_t *)DEFAULT_HEADER, *payload = data;
        size_t hl = strlen(DEFAULT_HEADER), pl = size;
        if (nul != NULL) {
            header = data;
            hl = (size_t)(nul - data);
            payload = nul + 1;
            pl = size - hl - 1;
        }
        sign_token(header, hl, payload, pl, (mode & 2) != 0, token);
    }
    check((mode & 4) ? dotted : plain, token);
    return 0;
}
