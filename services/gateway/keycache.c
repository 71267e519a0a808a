/*
 * Open-addressing hash tables under a reader-writer lock. Lookups copy the
 * entry out so no pointer into the table escapes the lock. When a probe
 * sequence is full the oldest entry in it is replaced: the cache only ever
 * costs a database lookup, never a wrong answer. Key ids found unknown live
 * in a table of their own, so a flood of made-up ids cannot push real keys
 * out.
 */
#include "keycache.h"

#include "ids.h"
#include "status.h"
#include "times.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBES 8

typedef struct unknown_entry {
    char key_id[BW_UUID_STR_LEN + 1];
    long long at; /* monotonic seconds */
} unknown_entry_t;

struct bw_keycache {
    bw_key_entry_t *slots;
    unknown_entry_t *unknown;
    unsigned mask;
    pthread_rwlock_t lock;
    /* Advanced by every eviction and clear, under the write lock. */
    uint64_t generation;
};

int bw_keycache_create(unsigned capacity_pow2, bw_keycache_t **out)
{
    *out = NULL;
    if (capacity_pow2 < 16 || (capacity_pow2 & (capacity_pow2 - 1)) != 0)
        return BW_EINVAL;
    bw_keycache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    c->slots = calloc(capacity_pow2, sizeof(*c->slots));
    c->unknown = calloc(capacity_pow2, sizeof(*c->unknown));
    if (c->slots == NULL || c->unknown == NULL || pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c->slots);
        free(c->unknown);
        free(c);
        return BW_ENOMEM;
    }
    c->mask = capacity_pow2 - 1;
    *out = c;
    return 0;
}

void bw_keycache_destroy(bw_keycache_t *c)
{
    if (c == NULL)
        return;
    pthread_rwlock_destroy(&c->lock);
    free(c->slots);
    free(c->unknown);
    free(c);
}

int bw_keycache_get(bw_keycache_t *c, const char *key_id, bw_key_entry_t *out)
{
    int err = BW_ENOTFOUND;
    long long now = (long long)bw_time_mono_sec();
    unsigned h = bw_fnv1a(key_id);
    pthread_rwlock_rdlock(&c->lock);
    for (unsigned i = 0; i < PROBES; i++) {
        const bw_key_entry_t *e = &c->slots[(h + i) & c->mask];
        if (strcmp(e->key_id, key_id) == 0) {
            if (now - e->loaded_at < BW_KEYCACHE_MAX_AGE_SEC) {
                *out = *e;
                err = 0;
            }
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return err;
}

uint64_t bw_keycache_generation(bw_keycache_t *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t g = c->generation;
    pthread_rwlock_unlock(&c->lock);
    return g;
}

int bw_keycache_put(bw_keycache_t *c, const bw_key_entry_t *entry, uint64_t since)
{
    unsigned h = bw_fnv1a(entry->key_id);
    pthread_rwlock_wrlock(&c->lock);
    if (c->generation != since) {
        pthread_rwlock_unlock(&c->lock);
        return BW_ECONFLICT;
    }
    bw_key_entry_t *victim = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        bw_key_entry_t *e = &c->slots[(h + i) & c->mask];
        if (e->key_id[0] == '\0' || strcmp(e->key_id, entry->key_id) == 0) {
            victim = e;
            break;
        }
        if (victim == NULL || e->loaded_at < victim->loaded_at)
            victim = e;
    }
    *victim = *entry;
    victim->loaded_at = (long long)bw_time_mono_sec();
    pthread_rwlock_unlock(&c->lock);
    return 0;
}

void bw_keycache_evict(bw_keycache_t *c, const char *key_id)
{
    unsigned h = bw_fnv1a(key_id);
    pthread_rwlock_wrlock(&c->lock);
    c->generation++;
    for (unsigned i = 0; i < PROBES; i++) {
        bw_key_entry_t *e = &c->slots[(h + i) & c->mask];
        if (strcmp(e->key_id, key_id) == 0) {
            /* Keep the slot occupied by an expired entry so later probes
             * in the sequence stay reachable. */
            e->loaded_at = -BW_KEYCACHE_MAX_AGE_SEC;
            memset(e->token_sha256, 0, sizeof(e->token_sha256));
            memset(e->previous_sha256, 0, sizeof(e->previous_sha256));
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

void bw_keycache_evict_tenant(bw_keycache_t *c, const char *tenant_id)
{
    pthread_rwlock_wrlock(&c->lock);
    c->generation++;
    for (unsigned i = 0; i <= c->mask; i++) {
        bw_key_entry_t *e = &c->slots[i];
        if (e->key_id[0] != '\0' && strcmp(e->tenant_id, tenant_id) == 0) {
            e->loaded_at = -BW_KEYCACHE_MAX_AGE_SEC;
            memset(e->token_sha256, 0, sizeof(e->token_sha256));
            memset(e->previous_sha256, 0, sizeof(e->previous_sha256));
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

void bw_keycache_clear(bw_keycache_t *c)
{
    pthread_rwlock_wrlock(&c->lock);
    c->generation++;
    memset(c->slots, 0, sizeof(*c->slots) * ((size_t)c->mask + 1));
    memset(c->unknown, 0, sizeof(*c->unknown) * ((size_t)c->mask + 1));
    pthread_rwlock_unlock(&c->lock);
}

void bw_keycache_put_unknown(bw_keycache_t *c, const char *key_id)
{
    if (strlen(key_id) > BW_UUID_STR_LEN)
        return;
    unsigned h = bw_fnv1a(key_id);
    long long now = (long long)bw_time_mono_sec();
    pthread_rwlock_wrlock(&c->lock);
    unknown_entry_t *victim = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        unknown_entry_t *e = &c->unknown[(h + i) & c->mask];
        if (e->key_id[0] == '\0' || strcmp(e->key_id, key_id) == 0) {
            victim = e;
            break;
        }
        if (victim == NULL || e->at < victim->at)
            victim = e;
    }
    memcpy(victim->key_id, key_id, strlen(key_id) + 1);
    victim->at = now;
    pthread_rwlock_unlock(&c->lock);
}

int bw_keycache_is_unknown(bw_keycache_t *c, const char *key_id)
{
    int found = 0;
    long long now = (long long)bw_time_mono_sec();
    unsigned h = bw_fnv1a(key_id);
    pthread_rwlock_rdlock(&c->lock);
    for (unsigned i = 0; i < PROBES; i++) {
        const unknown_entry_t *e = &c->unknown[(h + i) & c->mask];
        if (strcmp(e->key_id, key_id) == 0) {
            found = now - e->at < BW_KEYCACHE_UNKNOWN_SEC;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return found;
}

int bw_token_key_id(const char *token, char key_id[BW_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    if (strncmp(token, "bwk_", 4) != 0)
        return BW_EAUTH;
    const char *p = token + 4;
    size_t o = 0;
    for (int i = 0; i < 32; i++) {
        if (strchr(hex, p[i]) == NULL || p[i] == '\0')
            return BW_EAUTH;
        if (i == 8 || i == 12 || i == 16 || i == 20)
            key_id[o++] = '-';
        key_id[o++] = p[i];
    }
    key_id[o] = '\0';
    if (p[32] != '_' || strlen(p + 33) < 32)
        return BW_EAUTH;
    return 0;
}

int bw_token_format(const char *key_id, const char *secret, char *out, size_t outlen)
{
    char compact[33];
    size_t o = 0;
    for (const char *k = key_id; *k && o < 32; k++)
        if (*k != '-')
            compact[o++] = *k;
    compact[o] = '\0';
    int n = snprintf(out, outlen, "bwk_%s_%s", compact, secret);
    return n < 0 || (size_t)n >= outlen || o != 32 ? BW_EINVAL : 0;
}
