/*
 * JWKS parsing, key selection and signature checks (jwks.h), without a
 * token or a verifier: documents made from keys generated here (idp.h),
 * good and bad, and signatures made with those keys.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "idp.h"
#include "jwks.h"
#include "status.h"

static EVP_PKEY *rsa_a, *rsa_b, *ec_a, *ec_b;
static char err[256];

static void make_keys(void)
{
    idp_keys(&rsa_a, &rsa_b, &ec_a, &ec_b);
}

/* The set text parses to; the test fails if it does not. */
static bw_jwks_t *parsed(const char *text)
{
    bw_jwks_t *ks = NULL;
    int rc = bw_jwks_parse(text, strlen(text), &ks, err, sizeof(err));
    ck_assert_msg(rc == 0, "parse: %d %s", rc, err);
    ck_assert_ptr_nonnull(ks);
    return ks;
}

/* The error text is refused with (BW_EINVAL); the message is in err. */
static int refused(const char *text)
{
    bw_jwks_t *ks = (bw_jwks_t *)&ks;
    int rc = bw_jwks_parse(text, strlen(text), &ks, err, sizeof(err));
    ck_assert_ptr_null(ks);
    return rc;
}

/* A document of the given keys (consumed), as text. */
static char *doc_of(json_t *keys)
{
    return idp_dump(json_pack("{s:o}", "keys", keys));
}

/* The JWK of key under kid with one member set (value consumed; NULL
 * removes it). */
static json_t *jwk_with(EVP_PKEY *key, const char *kid, const char *member, json_t *value)
{
    json_t *k = idp_jwk(key, kid);
    if (value != NULL)
        json_object_set_new(k, member, value);
    else
        json_object_del(k, member);
    return k;
}

/* Whether ks checks a JWS signature of input made by signer with alg, the
 * token naming kid. */
static int signature_ok(const bw_jwks_t *ks, bw_jws_alg_t alg, const char *kid, EVP_PKEY *signer)
{
    const char *input = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
    const bw_jwk_t *key = NULL;
    const char *why = NULL;
    uint8_t sig[512];
    int rc = bw_jwks_select(ks, alg, kid, &key, &why);
    ck_assert_msg(rc == 0, "select: %s", why);
    size_t len = idp_sign(signer, alg == BW_JWS_ES256 ? IDP_ES : IDP_RS, input, sig);
    rc = bw_jwks_check_signature(key, alg, input, strlen(input), sig, len);
    ck_assert(rc == 0 || rc == BW_EAUTH);
    return rc == 0;
}

/* The status and reason of selecting a key for alg and kid. */
static int select_fails(const bw_jwks_t *ks, bw_jws_alg_t alg, const char *kid, const char **why)
{
    const bw_jwk_t *key = (const bw_jwk_t *)&key;
    *why = NULL;
    int rc = bw_jwks_select(ks, alg, kid, &key, why);
    ck_assert_int_ne(rc, 0);
    ck_assert_ptr_null(key);
    ck_assert_ptr_nonnull(*why);
    return rc;
}

/* ---- documents ---------------------------------------------------------- */

START_TEST(good_document_parsed)
{
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", rsa_b, NULL));
    ck_assert_uint_eq(bw_jwks_count(ks), 3);
    ck_assert(signature_ok(ks, BW_JWS_RS256, "rsa-a", rsa_a));
    ck_assert(signature_ok(ks, BW_JWS_ES256, "ec-a", ec_a));
    ck_assert(signature_ok(ks, BW_JWS_ES256, NULL, ec_a));
    bw_jwks_release(ks);

    /* Members a key may carry besides its parameters. */
    json_t *k = idp_jwk(rsa_a, "rsa-a");
    json_object_set_new(k, "use", json_string("sig"));
    json_object_set_new(k, "alg", json_string("RS256"));
    json_object_set_new(k, "key_ops", json_pack("[s,s]", "sign", "verify"));
    json_object_set_new(k, "x5t#S256", json_string("ignored"));
    ks = parsed(idp_dump(json_pack("{s:[o], s:s}", "keys", k, "issuer", "ignored")));
    ck_assert_uint_eq(bw_jwks_count(ks), 1);
    bw_jwks_release(ks);
}
END_TEST

START_TEST(malformed_documents_refused)
{
    ck_assert_int_eq(refused("{\"keys\":["), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed JWKS"));
    ck_assert_int_eq(refused(""), BW_EINVAL);
    ck_assert_int_eq(refused("[]"), BW_EINVAL);
    ck_assert_str_eq(err, "malformed JWKS: expected an object with a \"keys\" array");
    ck_assert_int_eq(refused("{\"keys\":{}}"), BW_EINVAL);
    ck_assert_str_eq(err, "malformed JWKS: expected an object with a \"keys\" array");
    ck_assert_int_eq(refused("{\"keys\":[]}"), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS has no keys");
    /* A repeated member is refused, in the document or in a key. */
    ck_assert_int_eq(refused("{\"keys\":[],\"keys\":[]}"), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed JWKS"));
    char *one = idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL);
    char twice[4096];
    ck_assert_ptr_nonnull(strstr(one, "\"kid\":\"rsa-a\""));
    snprintf(twice, sizeof(twice), "%.*s\"kid\":\"other\",%s", (int)(strstr(one, "\"kid\"") - one),
             one, strstr(one, "\"kid\""));
    ck_assert_int_eq(refused(twice), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed JWKS"));
    /* The text ends where its length says, NUL or not. */
    bw_jwks_t *ks = NULL;
    ck_assert_int_eq(bw_jwks_parse(one, strlen(one) - 1, &ks, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_null(ks);
}
END_TEST

/* rsa_a's JWK with character i of n replaced by c (i past the end: c
 * appended). */
static json_t *rsa_n_changed(size_t i, char c)
{
    char n[1024];
    json_t *k = idp_jwk(rsa_a, "a");
    snprintf(n, sizeof(n) - 1, "%s", json_string_value(json_object_get(k, "n")));
    size_t len = strlen(n);
    n[i < len ? i : len] = c;
    n[i < len ? len : len + 1] = '\0';
    json_object_set_new(k, "n", json_string(n));
    return k;
}

/* ec_a's JWK with y on no curve point: another key's x. */
static json_t *ec_off_curve(void)
{
    json_t *other = idp_jwk(ec_b, NULL);
    json_t *k = jwk_with(ec_a, "a", "y", json_incref(json_object_get(other, "x")));
    json_decref(other);
    return k;
}

START_TEST(unusable_keys_skipped)
{
    char long_kid[BW_JWKS_MAX_KID + 2];
    memset(long_kid, 'k', sizeof(long_kid) - 1);
    long_kid[sizeof(long_kid) - 1] = '\0';
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    ck_assert_ptr_nonnull(small);
    const struct {
        json_t *key;
        const char *why;
    } cases[] = {
        /* RSA without n or e, or with a modulus or exponent no key has. */
        {jwk_with(rsa_a, "a", "n", NULL), "malformed RSA parameters"},
        {jwk_with(rsa_a, "a", "e", NULL), "malformed RSA parameters"},
        {jwk_with(rsa_a, "a", "n", json_string("")), "malformed RSA parameters"},
        {jwk_with(rsa_a, "a", "n", json_integer(65537)), "malformed RSA parameters"},
        {jwk_with(rsa_a, "a", "e", json_string("AQ")), "malformed RSA exponent"},   /* 1 */
        {jwk_with(rsa_a, "a", "e", json_string("AQAA")), "malformed RSA exponent"}, /* even */
        {idp_jwk(small, "small"), "RSA modulus shorter than 2048 bits or malformed"},
        /* EC without a point of P-256. */
        {jwk_with(ec_a, "a", "x", NULL), "malformed EC coordinates"},
        {jwk_with(ec_a, "a", "y", json_string("AAAA")), "malformed EC coordinates"},
        {jwk_with(ec_a, "a", "crv", json_string("P-384")), "curve not supported"},
        {jwk_with(ec_a, "a", "crv", NULL), "curve not supported"},
        {ec_off_curve(), "EC point not on P-256"},
        /* Not base64url: padding, the standard alphabet's + and /, white
         * space, a set bit left over after the last byte ("AQAB" is 65537). */
        {rsa_n_changed(SIZE_MAX, '='), "malformed RSA parameters"},
        {rsa_n_changed(10, '+'), "malformed RSA parameters"},
        {rsa_n_changed(10, '/'), "malformed RSA parameters"},
        {rsa_n_changed(10, ' '), "malformed RSA parameters"},
        {jwk_with(rsa_a, "a", "e", json_string("AQB")), "malformed RSA parameters"},
        {jwk_with(ec_a, "a", "x", json_string("AQAB=")), "malformed EC coordinates"},
        /* Another kty, none, or not an object at all. */
        {json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "hmac", "k", "c2VjcmV0"),
         "key type not supported"},
        {jwk_with(rsa_a, "a", "kty", json_string("rsa")), "key type not supported"},
        {jwk_with(ec_a, "a", "kty", json_string("OKP")), "key type not supported"},
        {jwk_with(rsa_a, "a", "kty", json_string("EC")), "curve not supported"},
        {jwk_with(rsa_a, "a", "kty", NULL), "not a JWK"},
        {json_string("RSA"), "not a JWK"},
        /* An alg of the other type, or one not supported. */
        {jwk_with(ec_a, "a", "alg", json_string("RS256")), "alg does not match kty"},
        {jwk_with(rsa_a, "a", "alg", json_string("ES256")), "alg does not match kty"},
        {jwk_with(rsa_a, "a", "alg", json_string("PS256")), "algorithm not supported"},
        {jwk_with(rsa_a, "a", "alg", json_integer(256)), "algorithm not supported"},
        /* Keys for another use. */
        {jwk_with(rsa_a, "a", "use", json_string("enc")), "not a signing key"},
        {jwk_with(rsa_a, "a", "use", json_null()), "not a signing key"},
        {jwk_with(rsa_a, "a", "key_ops", json_pack("[s]", "sign")), "not a verification key"},
        {jwk_with(rsa_a, "a", "key_ops", json_string("verify")), "not a verification key"},
        /* A kid that is not a string of at most BW_JWKS_MAX_KID bytes. */
        {idp_jwk(rsa_a, long_kid), "malformed kid"},
        {jwk_with(rsa_a, "a", "kid", json_integer(1)), "malformed kid"},
    };
    char want[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(want, sizeof(want), "the JWKS has no usable RS256 or ES256 key (key 0: %s)",
                 cases[i].why);
        ck_assert_int_eq(refused(doc_of(json_pack("[o]", cases[i].key))), BW_EINVAL);
        ck_assert_msg(strcmp(err, want) == 0, "case %zu: %s", i, err);
    }
    EVP_PKEY_free(small);

    /* The first skipped key is the one the message names. */
    json_t *keys = json_pack("[o,o]", jwk_with(ec_a, "a", "crv", json_string("P-521")),
                             jwk_with(rsa_a, "b", "use", json_null()));
    ck_assert_int_eq(refused(doc_of(keys)), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS has no usable RS256 or ES256 key (key 0: curve not supported)");
    /* A kid of BW_JWKS_MAX_KID bytes is one. */
    long_kid[BW_JWKS_MAX_KID] = '\0';
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, long_kid, NULL, NULL, NULL, NULL));
    ck_assert(signature_ok(ks, BW_JWS_RS256, long_kid, rsa_a));
    bw_jwks_release(ks);
}
END_TEST

START_TEST(duplicate_kid)
{
    /* Two keys of one type under one kid: the first is the one used. */
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, "k", rsa_b, "k", NULL, NULL));
    ck_assert_uint_eq(bw_jwks_count(ks), 2);
    ck_assert(signature_ok(ks, BW_JWS_RS256, "k", rsa_a));
    ck_assert(!signature_ok(ks, BW_JWS_RS256, "k", rsa_b));
    bw_jwks_release(ks);
    /* An RSA and an EC key under one kid: each algorithm finds its own. */
    ks = parsed(idp_jwks(rsa_a, "k", ec_a, "k", NULL, NULL));
    ck_assert(signature_ok(ks, BW_JWS_RS256, "k", rsa_a));
    ck_assert(signature_ok(ks, BW_JWS_ES256, "k", ec_a));
    bw_jwks_release(ks);
}
END_TEST

START_TEST(oversize_documents_refused)
{
    json_t *keys = json_array();
    for (int i = 0; i < BW_JWKS_MAX_KEYS; i++)
        json_array_append_new(keys, idp_jwk(ec_a, NULL));
    bw_jwks_t *ks = parsed(idp_dump(json_pack("{s:O}", "keys", keys)));
    ck_assert_uint_eq(bw_jwks_count(ks), BW_JWKS_MAX_KEYS);
    bw_jwks_release(ks);
    json_array_append_new(keys, idp_jwk(ec_a, NULL));
    ck_assert_int_eq(refused(doc_of(keys)), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS holds 65 keys, more than 64");

    /* A document of BW_JWKS_MAX_BYTES (one key and white space) parses;
     * one byte more is refused before it is read. */
    const char *one = idp_jwks(ec_a, "ec-a", NULL, NULL, NULL, NULL);
    size_t n = strlen(one);
    char *big = idp_keep(malloc(BW_JWKS_MAX_BYTES + 2));
    memcpy(big, one, n);
    memset(big + n, ' ', BW_JWKS_MAX_BYTES + 1 - n);
    big[BW_JWKS_MAX_BYTES] = '\0';
    ks = parsed(big);
    bw_jwks_release(ks);
    big[BW_JWKS_MAX_BYTES] = ' ';
    big[BW_JWKS_MAX_BYTES + 1] = '\0';
    ck_assert_int_eq(refused(big), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS is larger than 1048576 bytes");
}
END_TEST

START_TEST(usable_keys_kept_beside_skipped_ones)
{
    json_t *keys =
        json_pack("[o,o,o]", jwk_with(rsa_a, "enc", "use", json_string("enc")),
                  idp_jwk(ec_a, "ec-a"), jwk_with(rsa_b, "b", "alg", json_string("RS512")));
    bw_jwks_t *ks = parsed(doc_of(keys));
    ck_assert_uint_eq(bw_jwks_count(ks), 1);
    const char *why;
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, "enc", &why), BW_ENOTFOUND);
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, "b", &why), BW_ENOTFOUND);
    ck_assert(signature_ok(ks, BW_JWS_ES256, "ec-a", ec_a));
    bw_jwks_release(ks);
}
END_TEST

/* ---- selection ---------------------------------------------------------- */

START_TEST(kid_selects_the_key)
{
    const char *why;
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, "rsa-a", rsa_b, "rsa-b", ec_a, "ec-a"));
    ck_assert(signature_ok(ks, BW_JWS_RS256, "rsa-a", rsa_a));
    ck_assert(signature_ok(ks, BW_JWS_RS256, "rsa-b", rsa_b));
    ck_assert(!signature_ok(ks, BW_JWS_RS256, "rsa-a", rsa_b));
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, "rsa-c", &why), BW_ENOTFOUND);
    ck_assert_str_eq(why, "unknown key id");
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, "", &why), BW_ENOTFOUND);
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, "RSA-A", &why), BW_ENOTFOUND);
    /* A known kid of the other type is no rotation: nothing to reload. */
    ck_assert_int_eq(select_fails(ks, BW_JWS_ES256, "rsa-a", &why), BW_EAUTH);
    ck_assert_str_eq(why, "the algorithm does not match the key");
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, "ec-a", &why), BW_EAUTH);
    ck_assert_str_eq(why, "the algorithm does not match the key");
    bw_jwks_release(ks);
}
END_TEST

START_TEST(without_kid_the_only_key_of_the_type)
{
    const char *why;
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, "rsa-a", rsa_b, "rsa-b", ec_a, NULL));
    ck_assert(signature_ok(ks, BW_JWS_ES256, NULL, ec_a));
    ck_assert_int_eq(select_fails(ks, BW_JWS_RS256, NULL, &why), BW_EAUTH);
    ck_assert_str_eq(why, "the token names no key id");
    /* A key without a kid is never the one a kid names. */
    ck_assert_int_eq(select_fails(ks, BW_JWS_ES256, "ec-a", &why), BW_ENOTFOUND);
    bw_jwks_release(ks);

    ks = parsed(idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    ck_assert(signature_ok(ks, BW_JWS_RS256, NULL, rsa_a));
    ck_assert_int_eq(select_fails(ks, BW_JWS_ES256, NULL, &why), BW_EAUTH);
    ck_assert_str_eq(why, "no key for the token's algorithm");
    bw_jwks_release(ks);
}
END_TEST

START_TEST(pinned_alg_respected)
{
    json_t *keys = json_pack("[o,o]", jwk_with(rsa_a, "pinned", "alg", json_string("RS256")),
                             jwk_with(ec_a, "ec", "alg", json_string("ES256")));
    bw_jwks_t *ks = parsed(doc_of(keys));
    ck_assert(signature_ok(ks, BW_JWS_RS256, "pinned", rsa_a));
    ck_assert(signature_ok(ks, BW_JWS_ES256, NULL, ec_a));
    bw_jwks_release(ks);
}
END_TEST

/* ---- signatures --------------------------------------------------------- */

START_TEST(signatures_checked)
{
    const char *input = "header.payload";
    uint8_t sig[512], der[128];
    const bw_jwk_t *rsa, *ec;
    const char *why = NULL;
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", NULL, NULL));
    ck_assert_int_eq(bw_jwks_select(ks, BW_JWS_RS256, "rsa-a", &rsa, &why), 0);
    ck_assert_int_eq(bw_jwks_select(ks, BW_JWS_ES256, "ec-a", &ec, &why), 0);

    size_t len = idp_sign(rsa_a, IDP_RS, input, sig);
    ck_assert_int_eq(bw_jwks_check_signature(rsa, BW_JWS_RS256, input, strlen(input), sig, len), 0);
    /* Another input, a flipped bit, a short or long signature. */
    ck_assert_int_eq(bw_jwks_check_signature(rsa, BW_JWS_RS256, "header.payloaD", 14, sig, len),
                     BW_EAUTH);
    sig[len / 2] ^= 1;
    ck_assert_int_eq(bw_jwks_check_signature(rsa, BW_JWS_RS256, input, strlen(input), sig, len),
                     BW_EAUTH);
    sig[len / 2] ^= 1;
    ck_assert_int_eq(bw_jwks_check_signature(rsa, BW_JWS_RS256, input, strlen(input), sig, len - 1),
                     BW_EAUTH);
    ck_assert_int_eq(bw_jwks_check_signature(rsa, BW_JWS_RS256, input, strlen(input), sig, len + 1),
                     BW_EAUTH);
    /* The right signature checked as the other algorithm. */
    ck_assert_int_eq(bw_jwks_check_signature(rsa, BW_JWS_ES256, input, strlen(input), sig, len),
                     BW_EAUTH);

    len = idp_sign(ec_a, IDP_ES, input, sig);
    ck_assert_uint_eq(len, 64);
    ck_assert_int_eq(bw_jwks_check_signature(ec, BW_JWS_ES256, input, strlen(input), sig, len), 0);
    sig[63] ^= 1;
    ck_assert_int_eq(bw_jwks_check_signature(ec, BW_JWS_ES256, input, strlen(input), sig, len),
                     BW_EAUTH);
    ck_assert_int_eq(bw_jwks_check_signature(ec, BW_JWS_RS256, input, strlen(input), sig, len),
                     BW_EAUTH);
    /* ECDSA in DER, as OpenSSL writes it, is not the JWS form. */
    size_t dl = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, ec_a, NULL) == 1);
    ck_assert(EVP_DigestSign(ctx, der, &dl, (const uint8_t *)input, strlen(input)) == 1);
    EVP_MD_CTX_free(ctx);
    ck_assert_int_eq(bw_jwks_check_signature(ec, BW_JWS_ES256, input, strlen(input), der, dl),
                     BW_EAUTH);
    bw_jwks_release(ks);
}
END_TEST

START_TEST(algorithm_names_exact)
{
    ck_assert_int_eq(bw_jws_alg("RS256"), BW_JWS_RS256);
    ck_assert_int_eq(bw_jws_alg("ES256"), BW_JWS_ES256);
    static const char *const others[] = {"rs256", "RS256 ", "RS512", "PS256", "ES384",
                                         "HS256", "none",   "EdDSA", ""};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        ck_assert_int_eq(bw_jws_alg(others[i]), 0);
}
END_TEST

START_TEST(a_held_set_outlives_its_first_owner)
{
    bw_jwks_t *ks = parsed(idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwks_t *reader = bw_jwks_hold(ks);
    ck_assert_ptr_eq(reader, ks);
    bw_jwks_release(ks);
    ck_assert(signature_ok(reader, BW_JWS_RS256, "rsa-a", rsa_a));
    bw_jwks_release(reader);
    bw_jwks_release(NULL);
}
END_TEST

Suite *suite_jwks(void)
{
    Suite *s = suite_create("jwks");
    TCase *tc = idp_tcase("parse", make_keys, 30);
    tcase_add_test(tc, good_document_parsed);
    tcase_add_test(tc, malformed_documents_refused);
    tcase_add_test(tc, unusable_keys_skipped);
    tcase_add_test(tc, duplicate_kid);
    tcase_add_test(tc, oversize_documents_refused);
    tcase_add_test(tc, usable_keys_kept_beside_skipped_ones);
    tcase_add_test(tc, kid_selects_the_key);
    tcase_add_test(tc, without_kid_the_only_key_of_the_type);
    tcase_add_test(tc, pinned_alg_respected);
    tcase_add_test(tc, signatures_checked);
    tcase_add_test(tc, algorithm_names_exact);
    tcase_add_test(tc, a_held_set_outlives_its_first_owner);
    suite_add_tcase(s, tc);
    return s;
}
