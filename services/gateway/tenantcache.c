/*
 * Open addressing under a reader-writer lock, as keycache.c.
 */
#include "tenantcache.h"

#include "ids.h"
#include "status.h"
#include "times.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBES 8

typedef struct tenant_entry {
    char tenant_id[BW_UUID_STR_LEN + 1];
    enum bw_tenant_known known;
    long long at; /* monotonic seconds */
} tenant_entry_t;

struct bw_tenantcache {
    pthread_rwlock_t lock;
    tenant_entry_t *slots;
    unsigned mask;
    uint64_t generation; /* advanced by every forget and clear */
};

int bw_tenantcache_create(unsigned capacity_pow2, bw_tenantcache_t **out)
{
    *out = NULL;
    if (capacity_pow2 < 16 || (capacity_pow2 & (capacity_pow2 - 1)) != 0)
        return BW_EINVAL;
    bw_tenantcache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    c->slots = calloc(capacity_pow2, sizeof(*c->slots));
    if (c->slots == NULL) {
        free(c);
        return BW_ENOMEM;
    }
    c->mask = capacity_pow2 - 1;
    pthread_rwlock_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void bw_tenantcache_destroy(bw_tenantcache_t *c)
{
    if (c == NULL)
        return;
    pthread_rwlock_destroy(&c->lock);
    free(c->slots);
    free(c);
}

enum bw_tenant_known bw_tenantcache_get(bw_tenantcache_t *c, const char *tenant_id)
{
    enum bw_tenant_known known = BW_TENANT_UNSEEN;
    long long now = (long long)bw_time_mono_sec();
    unsigned h = bw_fnv1a(tenant_id);
    pthread_rwlock_rdlock(&c->lock);
    for (unsigned i = 0; i < PROBES; i++) {
        const tenant_entry_t *e = &c->slots[(h + i) & c->mask];
        if (strcmp(e->tenant_id, tenant_id) == 0) {
            long long ttl = e->known == BW_TENANT_MISSING ? BW_TENANTCACHE_UNKNOWN_SEC
                                                          : BW_TENANTCACHE_KNOWN_SEC;
            if (now - e->at < ttl)
                known = e->known;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return known;
}

uint64_t bw_tenantcache_generation(bw_tenantcache_t *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t g = c->generation;
    pthread_rwlock_unlock(&c->lock);
    return g;
}

void bw_tenantcache_put(bw_tenantcache_t *c, const char *tenant_id, enum bw_tenant_known known,
                        uint64_t generation)
{
    if (strlen(tenant_id) > BW_UUID_STR_LEN || known == BW_TENANT_UNSEEN)
        return;
    unsigned h = bw_fnv1a(tenant_id);
    long long now = (long long)bw_time_mono_sec();
    pthread_rwlock_wrlock(&c->lock);
    if (c->generation != generation) {
        pthread_rwlock_unlock(&c->lock);
        return;
    }
    tenant_entry_t *victim = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        tenant_entry_t *e = &c->slots[(h + i) & c->mask];
        if (e->tenant_id[0] == '\0' || strcmp(e->tenant_id, tenant_id) == 0) {
            victim = e;
            break;
        }
        if (victim == NULL || e->at < victim->at)
            victim = e;
    }
    memcpy(victim->tenant_id, tenant_id, strlen(tenant_id) + 1);
    victim->known = known;
    victim->at = now;
    pthread_rwlock_unlock(&c->lock);
}

void bw_tenantcache_forget(bw_tenantcache_t *c, const char *tenant_id)
{
    unsigned h = bw_fnv1a(tenant_id);
    pthread_rwlock_wrlock(&c->lock);
    c->generation++;
    for (unsigned i = 0; i < PROBES; i++) {
        tenant_entry_t *e = &c->slots[(h + i) & c->mask];
        /* The slot stays taken, expired, so later probes stay reachable. */
        if (strcmp(e->tenant_id, tenant_id) == 0)
            e->known = BW_TENANT_UNSEEN;
    }
    pthread_rwlock_unlock(&c->lock);
}

void bw_tenantcache_clear(bw_tenantcache_t *c)
{
    if (c == NULL)
        return;
    pthread_rwlock_wrlock(&c->lock);
    c->generation++;
    memset(c->slots, 0, sizeof(*c->slots) * ((size_t)c->mask + 1));
    pthread_rwlock_unlock(&c->lock);
}
