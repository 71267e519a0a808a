/*
 * What the gateway knows of tenants it has seen in OIDC tokens: whether the
 * tenant a token names exists and is active, so that a token from the
 * identity provider for a tenant that was never created (or a typo in a
 * claim mapping) is no credential, and one for a suspended tenant is
 * refused. Answers come from the tenancy RPCs and are kept for a while: a
 * known tenant for BW_TENANTCACHE_KNOWN_SEC, an unknown one for
 * BW_TENANTCACHE_UNKNOWN_SEC. A suspension, resumption or deletion forgets
 * the tenant at once (on this gateway by the call that made it, on others by
 * the database's NOTIFY), and an answer that was asked for before it is not
 * kept (a generation, as in keycache.h). A fixed-size table; when a probe
 * sequence is full its oldest entry goes, so the cache only ever costs a
 * lookup, never a wrong answer. Safe to use from any thread.
 */
#ifndef BW_GW_TENANTCACHE_H
#define BW_GW_TENANTCACHE_H

#include <stdint.h>

#include "ids.h"

#define BW_TENANTCACHE_KNOWN_SEC 60
#define BW_TENANTCACHE_UNKNOWN_SEC 10

typedef struct bw_tenantcache bw_tenantcache_t;

enum bw_tenant_known {
    BW_TENANT_UNSEEN = 0, /* ask the tenancy RPCs */
    BW_TENANT_EXISTS,     /* and is active */
    BW_TENANT_SUSPENDED,
    BW_TENANT_MISSING,
};

/* capacity_pow2: a power of two, 16 or more. Caller owns *out. */
int bw_tenantcache_create(unsigned capacity_pow2, bw_tenantcache_t **out);
void bw_tenantcache_destroy(bw_tenantcache_t *cache); /* accepts NULL */
/* What is known of tenant_id (a canonical UUID) now. */
enum bw_tenant_known bw_tenantcache_get(bw_tenantcache_t *cache, const char *tenant_id);
/* The current generation: read it before asking the tenancy RPCs. */
uint64_t bw_tenantcache_generation(bw_tenantcache_t *cache);
/* Records the tenancy RPCs' answer (EXISTS, SUSPENDED or MISSING), unless
 * a tenant was forgotten since generation (then the answer may predate the
 * change: it serves the one request that asked, and is not kept). */
void bw_tenantcache_put(bw_tenantcache_t *cache, const char *tenant_id, enum bw_tenant_known known,
                        uint64_t generation);
/* Forgets tenant_id (its state changed) and advances the generation. */
void bw_tenantcache_forget(bw_tenantcache_t *cache, const char *tenant_id);
/* Forgets every tenant and advances the generation. Accepts NULL. */
void bw_tenantcache_clear(bw_tenantcache_t *cache);

#endif
