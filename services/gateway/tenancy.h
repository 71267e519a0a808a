/*
 * The tenancy RPCs (tenants, API keys, and the operator's routes on tenants
 * in operator.c), served by the gateway process on its internal gRPC port,
 * and the listener that evicts revoked and rotated keys and changed tenants
 * from this gateway's caches when any gateway makes such a change.
 */
#ifndef BW_GW_TENANCY_H
#define BW_GW_TENANCY_H

#include <stddef.h>

#include "bulwark/tenancy/v1/tenancy.pb-c.h"

#include "db.h"
#include "keycache.h"
#include "rpc.h"
#include "tenantcache.h"

/* A service that holds tenant rows, as the operator's routes reach it. */
typedef struct bw_tenancy_service {
    const char *name; /* "scoping": also its certificate's name and its schema */
    const char *addr;
    bw_rpc_pool_t *pool; /* blocking channels to it, kept between calls */
} bw_tenancy_service_t;

/* What the tenancy RPCs need besides their database: how to reach the
 * attestations service, which knows the board members that board_member
 * keys sign as, and every service that holds tenant rows (the tenant's
 * export, deletion and usage go through each); the OIDC tenants this
 * gateway has seen, forgotten when a tenant's state changes. Given as
 * bw_service_db_opts_t.user (borrowed). The channels are kept open
 * between calls: a TLS handshake per call made each usage count of a
 * tenant list five handshakes. */
typedef struct bw_tenancy_config {
    bw_rpc_pool_t *attestations; /* blocking channels to attestations */
    int timeout_ms;
    const bw_tenancy_service_t *services;
    size_t n_services;
    bw_tenantcache_t *tenants;
    bw_keycache_t *keys; /* this gateway's resolved keys, evicted after a revocation */
} bw_tenancy_config_t;

/* The handlers of bulwark.tenancy.v1.TenancyService, one per method. */
extern const bw_rpc_handler_t bw_tenancy_handlers[];
extern const size_t bw_tenancy_n_handlers;
extern const bw_db_stmt_t *const bw_tenancy_stmts[];
extern const size_t bw_tenancy_n_stmts;

/* The NOTIFY channel on which a revocation or a rotation is announced; the
 * payload is the key id. */
#define BW_TENANCY_REVOKE_CHANNEL "bulwark_api_key_revoked"
/* The NOTIFY channel on which a tenant's suspension, resumption or deletion
 * is announced; the payload is the tenant id. */
#define BW_TENANCY_TENANT_CHANNEL "bulwark_tenant_changed"

/* The columns of a tenant that bw_tenancy_row_to_tenant reads, in order. */
#define BW_TENANCY_TENANT_COLUMNS                                                                  \
    "tenant_id::text, name, bulwark.epoch_us(create_time), "                                       \
    "bulwark.epoch_us(update_time), revision, state, "                                             \
    "bulwark.epoch_us(suspend_time), suspend_reason"
/* A tenant's row, locked for the transaction, and then the transaction's
 * time (microseconds): $1 the tenant id, with that tenant set. */
extern const bw_db_stmt_t bw_tenancy_stmt_tenant_get;
/* A tenant from row of res (BW_TENANCY_TENANT_COLUMNS first), on arena,
 * into *(Bulwark__Tenancy__V1__Tenant **)out (a bw_store_row_fn). */
int bw_tenancy_row_to_tenant(bw_arena_t *arena, const PGresult *res, int row, void *out);
/* Forgets what this gateway cached of tenant_id's keys and state (tenants
 * may be NULL). */
void bw_tenancy_forget_tenant(bw_keycache_t *keys, bw_tenantcache_t *tenants,
                              const char *tenant_id);

typedef struct bw_tenancy_listener bw_tenancy_listener_t;
/* Starts the listener thread on its own connection (database_url borrowed,
 * must outlive the listener). A revoked or rotated key is evicted from the
 * key cache, a tenant whose state changed from both caches (keys and
 * tenants borrowed, tenants may be NULL). */
int bw_tenancy_listener_start(const char *database_url, bw_keycache_t *keys,
                              bw_tenantcache_t *tenants, bw_tenancy_listener_t **out);
/* Stops and joins it. Accepts NULL. */
void bw_tenancy_listener_stop(bw_tenancy_listener_t *listener);

#endif
