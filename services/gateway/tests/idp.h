/*
 * The identity provider's side, for the gateway's token tests: RSA 2048 and
 * P-256 key pairs made with OpenSSL, their JWKs and JWKS documents, JWS
 * signatures and tokens signed with EVP_DigestSign, and JWKS files.
 * Strings returned are the test's until idp_free_garbage, which a checked
 * teardown calls; a failure is a failed check.
 */
#ifndef BW_GW_TEST_IDP_H
#define BW_GW_TEST_IDP_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>

enum { IDP_RS, IDP_ES };

/* Two RSA and two EC keys, made on the first call and kept until
 * idp_keys_free. */
void idp_keys(EVP_PKEY **rsa_a, EVP_PKEY **rsa_b, EVP_PKEY **ec_a, EVP_PKEY **ec_b);
void idp_keys_free(void);

/* A test case of the token suites: setup (which takes the keys with
 * idp_keys) before its tests, the keys freed after them, the garbage after
 * each; timeout in seconds, 0 for Check's default. */
TCase *idp_tcase(const char *name, void (*setup)(void), int timeout);

/* Keeps p (malloc'd, not NULL) for idp_free_garbage; returns it. */
void *idp_keep(void *p);
void idp_free_garbage(void);

/* Unpadded base64url of n bytes, or of a string. */
char *idp_b64url(const uint8_t *in, size_t n);
char *idp_b64url_str(const char *s);
/* j as compact JSON text (j consumed). */
char *idp_dump(json_t *j);

/* The public JWK of key, with kid unless NULL (caller owns the value). */
json_t *idp_jwk(EVP_PKEY *key, const char *kid);
/* A JWKS document of up to three keys (a NULL key ends the list). */
char *idp_jwks(EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2, const char *kid2, EVP_PKEY *k3,
               const char *kid3);

/* The signature of input with key as JWS has it (raw r || s for IDP_ES);
 * returns its length. */
size_t idp_sign(EVP_PKEY *key, int alg, const char *input, uint8_t sig[512]);
/* header and payload (raw text) as a compact JWS signed by key with alg. */
char *idp_jws(const char *header, const char *payload, EVP_PKEY *key, int alg);

/* A new empty file under /tmp; its path. */
char *idp_temp_path(void);
/* Replaces the file at path with text atomically, so that a background
 * reload never reads half a file. */
void idp_write_file(const char *path, const char *text);

#endif
