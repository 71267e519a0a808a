/*
 * JSON Web Key Sets (RFC 7517) for checking JWS signatures (RFC 7515, 7518):
 * a JWKS document parsed into an immutable set of public keys (OpenSSL
 * EVP_PKEYs), the choice of a key for a token's alg and kid, and the check
 * of a signature with it. Pure: no I/O, no threads, nothing logged. Where
 * the document comes from and which set is current is jwks_source.h's job.
 *
 * Keys used from a document (at most BW_JWKS_MAX_KEYS, BW_JWKS_MAX_BYTES):
 * kty RSA of 2048 to 8192 bits and kty EC on P-256 (the point is
 * validated). Keys whose use is not "sig", whose key_ops lack "verify",
 * whose alg is neither RS256 nor ES256, and keys of other types (oct above
 * all: never a shared secret) are skipped; a set without one usable key is
 * an error. Two keys may share a kid; the first of the token's algorithm is
 * the one that kid selects.
 *
 * A set is reference-counted so that one holder can publish it to readers
 * on other threads: bw_jwks_hold and bw_jwks_release are thread-safe, and
 * nothing else changes a set once parsed.
 */
#ifndef BW_GW_JWKS_H
#define BW_GW_JWKS_H

#include <stddef.h>
#include <stdint.h>

#define BW_JWKS_MAX_BYTES (1024 * 1024)
#define BW_JWKS_MAX_KEYS 64
#define BW_JWKS_MAX_KID 255

/* The signature algorithms understood; 0 is none of them. */
typedef enum bw_jws_alg { BW_JWS_RS256 = 1, BW_JWS_ES256 } bw_jws_alg_t;

typedef struct bw_jwks bw_jwks_t;
typedef struct bw_jwk bw_jwk_t;

/* The algorithm a JWS header's or a JWK's alg value names, compared exactly
 * ("rs256" is not RS256); 0 for any other value. name is borrowed. */
bw_jws_alg_t bw_jws_alg(const char *name);

/* Parses a JWKS document (text: len bytes, borrowed, not necessarily
 * NUL-terminated) into a new set; the caller owns *out's one reference.
 * 0; BW_EINVAL with a message in err (larger than BW_JWKS_MAX_BYTES, not
 * JSON or a member repeated, no "keys" array, more than BW_JWKS_MAX_KEYS
 * keys, no usable key: the first skipped key's index and why); BW_ENOMEM. */
int bw_jwks_parse(const char *text, size_t len, bw_jwks_t **out, char *err, size_t errlen);

/* Adds a reference for another holder and returns ks. */
bw_jwks_t *bw_jwks_hold(bw_jwks_t *ks);
/* Drops a reference; the last one frees the set. Accepts NULL. */
void bw_jwks_release(bw_jwks_t *ks);

/* How many usable keys ks holds (at least one). */
size_t bw_jwks_count(const bw_jwks_t *ks);

/* The key for a token signed with alg that names kid (borrowed; NULL when
 * it names none): the first key with that kid of alg's type that does not
 * pin another alg; without a kid, the only key of alg's type. 0 with *key
 * (borrowed from ks); BW_ENOTFOUND when no key has that kid (the set may
 * predate a rotation); BW_EAUTH when there is no such key otherwise. *why
 * is then a fixed phrase that may be shown to a client. */
int bw_jwks_select(const bw_jwks_t *ks, bw_jws_alg_t alg, const char *kid, const bw_jwk_t **key,
                   const char **why);

/* Checks the JWS signature sig over input with key and alg, SHA-256 both:
 * RSASSA-PKCS1-v1_5 of the modulus' length for RS256, the raw r || s of
 * RFC 7518 3.4 for ES256. 0 when valid; BW_EAUTH when not (also for a key
 * of the other algorithm's type); BW_ENOMEM. */
int bw_jwks_check_signature(const bw_jwk_t *key, bw_jws_alg_t alg, const char *input,
                            size_t input_len, const uint8_t *sig, size_t sig_len);

#endif
