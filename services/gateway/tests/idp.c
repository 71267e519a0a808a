/*
 * The test identity provider; see idp.h.
 */
#include "idp.h"

#include "base64.h"
#include "ids.h"

#include <check.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Allocations of one test, freed by the checked teardown. */
static void *garbage[512];
static size_t n_garbage;

void *idp_keep(void *p)
{
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_lt(n_garbage, sizeof(garbage) / sizeof(garbage[0]));
    garbage[n_garbage++] = p;
    return p;
}

void idp_free_garbage(void)
{
    for (size_t i = 0; i < n_garbage; i++)
        free(garbage[i]);
    n_garbage = 0;
}

static EVP_PKEY *pairs[4];

void idp_keys(EVP_PKEY **rsa_a, EVP_PKEY **rsa_b, EVP_PKEY **ec_a, EVP_PKEY **ec_b)
{
    if (pairs[0] == NULL) {
        pairs[0] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        pairs[1] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        pairs[2] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        pairs[3] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        ck_assert(pairs[0] && pairs[1] && pairs[2] && pairs[3]);
    }
    *rsa_a = pairs[0];
    *rsa_b = pairs[1];
    *ec_a = pairs[2];
    *ec_b = pairs[3];
}

void idp_keys_free(void)
{
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        EVP_PKEY_free(pairs[i]);
        pairs[i] = NULL;
    }
}

TCase *idp_tcase(const char *name, void (*setup)(void), int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, setup, idp_keys_free);
    tcase_add_checked_fixture(tc, NULL, idp_free_garbage);
    if (timeout > 0)
        tcase_set_timeout(tc, timeout);
    return tc;
}

char *idp_b64url(const uint8_t *in, size_t n)
{
    char *out = idp_keep(malloc(n / 3 * 4 + 5));
    bw_base64url_encode(in, n, out);
    return out;
}

char *idp_b64url_str(const char *s)
{
    return idp_b64url((const uint8_t *)s, strlen(s));
}

json_t *idp_jwk(EVP_PKEY *key, const char *kid)
{
    json_t *j;
    if (EVP_PKEY_is_a(key, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        uint8_t nb[1024], eb[16];
        ck_assert(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
        ck_assert(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1);
        int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
        j = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", idp_b64url(nb, (size_t)nl), "e",
                      idp_b64url(eb, (size_t)el));
        BN_free(n);
        BN_free(e);
    } else {
        uint8_t pub[133];
        size_t len = 0;
        ck_assert(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                                  &len) == 1);
        size_t coord = (len - 1) / 2;
        j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", coord == 32 ? "P-256" : "P-384",
                      "x", idp_b64url(pub + 1, coord), "y", idp_b64url(pub + 1 + coord, coord));
    }
    if (kid != NULL)
        json_object_set_new(j, "kid", json_string(kid));
    return j;
}

char *idp_jwks(EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2, const char *kid2, EVP_PKEY *k3,
               const char *kid3)
{
    json_t *keys = json_array();
    EVP_PKEY *k[] = {k1, k2, k3};
    const char *kid[] = {kid1, kid2, kid3};
    for (int i = 0; i < 3 && k[i] != NULL; i++)
        json_array_append_new(keys, idp_jwk(k[i], kid[i]));
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = idp_keep(json_dumps(doc, JSON_COMPACT));
    json_decref(doc);
    return text;
}

size_t idp_sign(EVP_PKEY *key, int alg, const char *input, uint8_t sig[512])
{
    uint8_t der[512];
    size_t len = 512;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) == 1);
    ck_assert(EVP_DigestSign(ctx, alg == IDP_ES ? der : sig, &len, (const uint8_t *)input,
                             strlen(input)) == 1);
    EVP_MD_CTX_free(ctx);
    if (alg == IDP_ES) {
        const uint8_t *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        ck_assert_ptr_nonnull(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        len = 64;
    }
    return len;
}

char *idp_jws(const char *header, const char *payload, EVP_PKEY *key, int alg)
{
    const char *h = idp_b64url_str(header), *p = idp_b64url_str(payload);
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = idp_keep(malloc(n));
    snprintf(input, n, "%s.%s", h, p);
    uint8_t sig[512];
    size_t sl = idp_sign(key, alg, input, sig);
    const char *s = idp_b64url(sig, sl);
    n += strlen(s) + 1;
    char *token = idp_keep(malloc(n));
    snprintf(token, n, "%s.%s", input, s);
    return token;
}

char *idp_dump(json_t *j)
{
    char *text = idp_keep(json_dumps(j, JSON_COMPACT));
    json_decref(j);
    return text;
}

void idp_write_file(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
    /* Atomic, so that a background reload never reads half a file. */
    ck_assert_int_eq(rename(tmp, path), 0);
}

char *idp_temp_path(void)
{
    char *path = idp_keep(strdup("/tmp/bw-test-jwks-XXXXXX"));
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return path;
}
