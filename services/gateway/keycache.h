/*
 * The gateway's cache of resolved API keys, so that an authenticated request
 * costs no database round trip. Entries hold the SHA-256 of the token, never
 * the token. Revocation, rotation and a change of the tenant's state evict
 * at once (the gateway that made the change directly, every other gateway
 * through the database's NOTIFY); entries also expire after a
 * few minutes as a backstop. A lookup that started before an eviction
 * cannot put the evicted key back: every eviction advances a generation, and
 * an entry is stored only if no eviction happened since the generation its
 * lookup began with. Safe to use from any thread. The gateway makes one
 * cache in main.c and hands it to the request handling and the tenancy
 * RPCs; a test may make several.
 *
 * Token format: "bwk_" + the key id as 32 hex digits + "_" + the secret.
 */
#ifndef BW_GW_KEYCACHE_H
#define BW_GW_KEYCACHE_H

#include <stdint.h>

#include "ids.h"

#define BW_KEYCACHE_MAX_AGE_SEC 300
/* How long a key id the tenancy RPCs did not know is answered 401 without
 * asking them again. A new key's id is fresh random, so no real key waits. */
#define BW_KEYCACHE_UNKNOWN_SEC 10

typedef struct bw_key_entry {
    char key_id[BW_UUID_STR_LEN + 1];
    char tenant_id[BW_UUID_STR_LEN + 1];
    char role[16];
    char board_member[BW_UUID_STR_LEN + 1];
    uint8_t token_sha256[BW_SHA256_LEN];
    /* After a rotation: the previous token's hash, valid until
     * previous_until_us (microseconds since the epoch; 0: none). */
    uint8_t previous_sha256[BW_SHA256_LEN];
    long long previous_until_us;
    long long expire_us;  /* microseconds since the epoch; 0: never expires */
    int tenant_suspended; /* the tenant's credentials are refused */
    long long loaded_at;  /* monotonic seconds */
} bw_key_entry_t;

typedef struct bw_keycache bw_keycache_t;

/* A cache of capacity_pow2 keys (a power of two, 16 or more) and as many
 * unknown ids (caller owns; free with bw_keycache_destroy): 0, BW_EINVAL or
 * BW_ENOMEM. */
int bw_keycache_create(unsigned capacity_pow2, bw_keycache_t **out);
/* Accepts NULL. */
void bw_keycache_destroy(bw_keycache_t *cache);
/* Copies the entry of key_id into *out: 0, or BW_ENOTFOUND (absent or expired). */
int bw_keycache_get(bw_keycache_t *cache, const char *key_id, bw_key_entry_t *out);
/* The current generation: read it before asking the tenancy RPCs. */
uint64_t bw_keycache_generation(bw_keycache_t *cache);
/* Stores entry unless a key was evicted (or the cache cleared) since
 * generation: 0 when stored, BW_ECONFLICT when not (the answer may predate a
 * revocation, so it serves the one request that asked, and is not kept). */
int bw_keycache_put(bw_keycache_t *cache, const bw_key_entry_t *entry, uint64_t generation);
/* Evicts key_id and advances the generation. */
void bw_keycache_evict(bw_keycache_t *cache, const char *key_id);
/* Evicts every key of tenant_id (suspended, resumed or deleted) and
 * advances the generation. A scan of the table: rare, and cheap at its size. */
void bw_keycache_evict_tenant(bw_keycache_t *cache, const char *tenant_id);
/* Forgets every entry, known and unknown, and advances the generation. */
void bw_keycache_clear(bw_keycache_t *cache);
/* Remembers that key_id is unknown (the negative cache), for
 * BW_KEYCACHE_UNKNOWN_SEC seconds. */
void bw_keycache_put_unknown(bw_keycache_t *cache, const char *key_id);
/* Whether key_id was found unknown less than BW_KEYCACHE_UNKNOWN_SEC ago. */
int bw_keycache_is_unknown(bw_keycache_t *cache, const char *key_id);

/* Extracts the key id (canonical UUID text) of a bwk_ token; 0 or BW_EAUTH. */
int bw_token_key_id(const char *token, char key_id[BW_UUID_STR_LEN + 1]);
/* Builds a token from a key id (canonical UUID) and a secret into out. */
int bw_token_format(const char *key_id, const char *secret, char *out, size_t outlen);

#endif
