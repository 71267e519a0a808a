/*
 * Ed25519 keys on OpenSSL's EVP interface: the service's private key loaded
 * from a PEM file, public keys rebuilt from their raw 32 bytes (as stored in
 * attestations.signing_keys), signing and verifying, and the key id that
 * names a key in every record. A key is read-only once made, so one key may
 * sign on several threads at once. Nothing here logs or touches the
 * database.
 */
#ifndef BW_ATTEST_KEYS_H
#define BW_ATTEST_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define BW_KEYS_RAW_LEN 32
#define BW_KEYS_SIG_LEN 64
#define BW_KEYS_ID_LEN 16
#define BW_KEYS_ALGORITHM "Ed25519"

typedef struct bw_key bw_key_t;

/* Reads an Ed25519 private key from a PEM file (PKCS#8, as written by
 * `openssl genpkey -algorithm ed25519`). Caller owns *out (bw_keys_free).
 * On failure returns BW_EINVAL (unreadable, not a regular file, accessible
 * to its group or to others, not PEM, not Ed25519) and writes a message
 * into err. */
int bw_keys_load_private(const char *path, bw_key_t **out, char *err, size_t errlen);
/* A private key from its 32-byte seed (RFC 8032 test vectors). Caller owns. */
int bw_keys_from_seed(const uint8_t seed[BW_KEYS_RAW_LEN], bw_key_t **out);
/* A verify-only key from its raw 32-byte public key. Caller owns. */
int bw_keys_from_public(const uint8_t *raw, size_t len, bw_key_t **out);
/* Accepts NULL. */
void bw_keys_free(bw_key_t *key);

/* The key id: the first 16 hex digits of SHA-256 over the raw public key
 * (borrowed from key, NUL-terminated). */
const char *bw_keys_id(const bw_key_t *key);
/* The raw public key (borrowed, BW_KEYS_RAW_LEN bytes). */
const uint8_t *bw_keys_public(const bw_key_t *key);
/* Whether key can sign (holds the private half). */
int bw_keys_can_sign(const bw_key_t *key);
/* The id of a raw public key, into out[BW_KEYS_ID_LEN + 1]. */
void bw_keys_id_of(const uint8_t raw[BW_KEYS_RAW_LEN], char out[BW_KEYS_ID_LEN + 1]);
/* The public key as SubjectPublicKeyInfo PEM, NUL-terminated, on arena. */
int bw_keys_public_pem(const bw_key_t *key, bw_arena_t *arena, char **out);

/* Signs msg (Ed25519, pure: the message itself, no pre-hash). BW_EINVAL for
 * a verify-only key. */
int bw_keys_sign(const bw_key_t *key, const void *msg, size_t len, uint8_t sig[BW_KEYS_SIG_LEN]);
/* 1 when sig is key's valid signature of msg, 0 otherwise. */
int bw_keys_verify(const bw_key_t *key, const void *msg, size_t len, const uint8_t *sig,
                   size_t sig_len);

#endif
