/*
 * Secrets at rest: AES-256-GCM through OpenSSL, with one deployment key
 * (BULWARK_SECRETS_KEY). A sealed value is
 *
 *   version (1 byte, 1) | key id (4 bytes) | nonce (12 random bytes) |
 *   ciphertext (as long as the plaintext) | tag (16 bytes)
 *
 * and the tag also covers a context string the caller chooses (the table,
 * tenant and row the value belongs to), so a sealed value copied into
 * another row, tenant or table does not open. The key id (the first bytes of
 * a hash of the key) tells a value sealed under another key from a tampered
 * one, so that a wrong key is reported as such. Webhook signing secrets and
 * ticket-system credentials are sealed this way; nothing here logs.
 */
#ifndef BW_SEAL_H
#define BW_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define BW_SEAL_KEY_LEN 32
/* Bytes a sealed value has beyond its plaintext. */
#define BW_SEAL_OVERHEAD (1 + 4 + 12 + 16)
/* The longest plaintext sealed: secrets and credentials, not documents. */
#define BW_SEAL_MAX_PLAINTEXT (64 * 1024)

typedef struct bw_seal_key {
    uint8_t bytes[BW_SEAL_KEY_LEN];
    uint8_t id[4];
} bw_seal_key_t;

/* The keys of a deployment: the one that seals (BULWARK_SECRETS_KEY) and,
 * while the key is being rotated, the one before it
 * (BULWARK_SECRETS_KEY_PREVIOUS), which still opens what it sealed until
 * every such value is sealed again under the new one. */
typedef struct bw_seal_keyring {
    bw_seal_key_t current;
    bw_seal_key_t previous;
    int has_previous;
} bw_seal_keyring_t;

/* Reads a key written as 64 hex digits or as the base64 of 32 bytes
 * (standard alphabet, padding optional). BW_EINVAL for anything else. */
int bw_seal_key_parse(const char *text, bw_seal_key_t *out);

/* Seals len bytes of plain (len <= BW_SEAL_MAX_PLAINTEXT) bound to context
 * (a NUL-terminated string, borrowed) into out, which has room for
 * len + BW_SEAL_OVERHEAD bytes; *out_len gets the length written. 0,
 * BW_EINVAL (too long) or BW_EINTERNAL (OpenSSL failed). */
int bw_seal(const bw_seal_key_t *key, const char *context, const uint8_t *plain, size_t len,
            uint8_t *out, size_t *out_len);

/* Opens a sealed value into out (room for cap bytes; len - BW_SEAL_OVERHEAD
 * are needed); *out_len gets the plaintext's length. BW_EPERM when the value
 * was sealed under another key; BW_EINVAL when it is malformed, was altered,
 * or belongs to another context; BW_ETOOBIG when out is too small. */
int bw_unseal(const bw_seal_key_t *key, const char *context, const uint8_t *sealed, size_t len,
              uint8_t *out, size_t cap, size_t *out_len);

/* bw_unseal with the ring's key that sealed the value, told by its key id:
 * BW_EPERM when neither did; otherwise as bw_unseal. */
int bw_unseal_ring(const bw_seal_keyring_t *ring, const char *context, const uint8_t *sealed,
                   size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
