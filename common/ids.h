/*
 * Identifiers, secrets and tokens: UUIDv7 resource ids (time-ordered, so a
 * keyset list ordered by id is ordered by creation), random secrets, SHA-256,
 * constant-time comparison, and HMAC-signed page tokens.
 */
#ifndef BW_IDS_H
#define BW_IDS_H

#include "hex.h" /* bw_hex, in which digests are written */

#include <stddef.h>
#include <stdint.h>

#define BW_UUID_STR_LEN 36
#define BW_SHA256_LEN 32

/* Writes a new UUIDv7 as 36 lower-case characters plus NUL into out[37]; its
 * random bits from random.h's per-thread buffer (no system call most of the
 * time). */
int bw_uuid_v7(char out[BW_UUID_STR_LEN + 1]);
/* Whether s is a canonical UUID text (8-4-4-4-12 hex digits, any case). */
int bw_uuid_valid(const char *s);
/* n random bytes from the system CSPRNG. */
int bw_random_bytes(uint8_t *buf, size_t n);
/* n random bytes encoded as unpadded base64url into out (size >= 4*n/3+2). */
int bw_random_token(char *out, size_t outlen, size_t n_bytes);
/* FNV-1a (32 bits) of a NUL-terminated string: the hash of in-memory tables
 * keyed by ids, not for anything an attacker's choice of key could hurt
 * beyond a longer probe. */
unsigned bw_fnv1a(const char *s);
/* SHA-256 of data. */
void bw_sha256(const void *data, size_t len, uint8_t out[BW_SHA256_LEN]);
/* One part of a message to authenticate. */
typedef struct bw_mac_part {
    const void *data;
    size_t len;
} bw_mac_part_t;
/* HMAC-SHA256 under key of the n parts one after the other, into mac: 0, or
 * BW_EINTERNAL when OpenSSL fails. */
int bw_hmac_sha256(const void *key, size_t key_len, const bw_mac_part_t *parts, size_t n,
                   uint8_t mac[BW_SHA256_LEN]);
/* Constant-time equality of two buffers of length n: 1 if equal. */
int bw_ct_equal(const void *a, const void *b, size_t n);
/* Constant-time equality of two strings (length leaks, content does not). */
int bw_ct_streq(const char *a, const char *b);

/* The etag of a resource revision: 16 hex digits derived from its id and
 * revision number, written into out[17]. Opaque to clients. */
void bw_etag(const char *id, long long revision, char out[17]);

/*
 * Page tokens carry the last key of a page (e.g. a UUID, or a sort key and
 * an id) and an HMAC-SHA256 over it with the process's token secret, so a
 * client can neither forge nor alter one. The secret is set once at
 * start-up (borrowed, must outlive use). scope binds a token to what it was
 * issued for: one list (e.g. "entities"), and, for lists with orderBy and
 * filter (list.h), the order, the filter and updatedSince as well, so that
 * it cannot be replayed with other parameters. The scope is signed, not
 * carried: a token holds 16 bytes of MAC and the key, unpadded base64url.
 */
void bw_page_token_set_secret(const char *secret);
#define BW_PAGE_KEY_MAX 1024
#define BW_PAGE_SCOPE_MAX 4096
/* Room for a token of the longest key, with its NUL. */
#define BW_PAGE_TOKEN_MAX 1400
/* Encodes key (at most BW_PAGE_KEY_MAX bytes) for scope (at most
 * BW_PAGE_SCOPE_MAX) into out (size >= BW_PAGE_TOKEN_MAX). */
int bw_page_token_encode(const char *scope, const char *key, char *out, size_t outlen);
/* Decodes token into key (size keylen); BW_EINVAL when malformed, forged, or
 * issued for another scope. */
int bw_page_token_decode(const char *scope, const char *token, char *key, size_t keylen);

#endif
