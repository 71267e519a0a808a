/*
 * The tenancy RPCs (tenants, API keys), served by the gateway process on its
 * internal gRPC port, and the listener that evicts revoked keys from this
 * gateway's cache when any gateway revokes one.
 */
#ifndef BW_GW_TENANCY_H
#define BW_GW_TENANCY_H

#include <stddef.h>

#include "db.h"
#include "rpc.h"

/* What the tenancy RPCs need besides their database: how to reach the
 * attestations service, which knows the board members that board_member
 * keys sign as. Given as bw_service_db_opts_t.user (borrowed). */
typedef struct bw_tenancy_config {
    const bw_rpc_tls_t *tls;
    const char *attestations_addr;
    int timeout_ms;
} bw_tenancy_config_t;

extern const bw_rpc_method_t bw_tenancy_methods[];
extern const size_t bw_tenancy_n_methods;
extern const bw_db_stmt_t *const bw_tenancy_stmts[];
extern const size_t bw_tenancy_n_stmts;

/* The NOTIFY channel a revocation is announced on; the payload is the key id. */
#define BW_TENANCY_REVOKE_CHANNEL "bulwark_api_key_revoked"

typedef struct bw_tenancy_listener bw_tenancy_listener_t;
/* Starts the listener thread on its own connection (database_url borrowed,
 * must outlive the listener). */
int bw_tenancy_listener_start(const char *database_url, bw_tenancy_listener_t **out);
/* Stops and joins it. Accepts NULL. */
void bw_tenancy_listener_stop(bw_tenancy_listener_t *listener);

#endif
