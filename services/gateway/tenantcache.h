/*
 * What the gateway knows of tenants it has seen in OIDC tokens: whether the
 * tenant a token names exists, so that a token from the identity provider
 * for a tenant that was never created (or a typo in a claim mapping) is no
 * credential. Answers come from the tenancy RPCs and are kept for a while:
 * a known tenant for BW_TENANTCACHE_KNOWN_SEC, an unknown one for
 * BW_TENANTCACHE_UNKNOWN_SEC. A fixed-size table; when a probe sequence is
 * full its oldest entry goes, so the cache only ever costs a lookup, never a
 * wrong answer. Safe to use from any thread.
 */
#ifndef BW_GW_TENANTCACHE_H
#define BW_GW_TENANTCACHE_H

#include "ids.h"

#define BW_TENANTCACHE_KNOWN_SEC 60
#define BW_TENANTCACHE_UNKNOWN_SEC 10

typedef struct bw_tenantcache bw_tenantcache_t;

enum bw_tenant_known {
    BW_TENANT_UNSEEN = 0, /* ask the tenancy RPCs */
    BW_TENANT_EXISTS,
    BW_TENANT_MISSING,
};

/* capacity_pow2: a power of two, 16 or more. Caller owns *out. */
int bw_tenantcache_create(unsigned capacity_pow2, bw_tenantcache_t **out);
void bw_tenantcache_destroy(bw_tenantcache_t *cache); /* accepts NULL */
/* What is known of tenant_id (a canonical UUID) now. */
enum bw_tenant_known bw_tenantcache_get(bw_tenantcache_t *cache, const char *tenant_id);
/* Records the tenancy RPCs' answer. */
void bw_tenantcache_put(bw_tenantcache_t *cache, const char *tenant_id, int exists);

#endif
