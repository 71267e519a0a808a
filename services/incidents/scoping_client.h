/*
 * What the incidents service asks the scoping service: an entity's time
 * zone and whether it provides trust services, through ScopingService/GetEntity
 * on blocking gRPC channels. The caller's tenant, principal, roles and
 * request id travel as metadata, so scoping answers for the caller's tenant
 * only (another tenant's entity is not found, exactly as a missing one).
 */
#ifndef BW_INCIDENTS_SCOPING_CLIENT_H
#define BW_INCIDENTS_SCOPING_CLIENT_H

#include "rpc.h"

typedef struct bw_scoping_client bw_scoping_client_t;

/* What an incident needs to know of its entity. Strings live in the call's
 * arena. */
typedef struct bw_entity_info {
    const char *time_zone;
    int trust_service_provider; /* an activity of type digital_infra.tsp* */
} bw_entity_info_t;

/* A client for target ("host:port", borrowed during the call) that keeps up
 * to pool_size idle channels, one per worker thread that used it (a blocking
 * channel serves one call at a time). Caller owns *out. */
int bw_scoping_client_open(const char *target, int pool_size, int timeout_ms,
                           bw_scoping_client_t **out);
/* Accepts NULL. */
void bw_scoping_client_close(bw_scoping_client_t *client);

/* Looks up entity_id for call's tenant. 0 with *out filled; BW_ENOTFOUND
 * when scoping has no such entity for the tenant; BW_EUNAVAIL when scoping
 * cannot answer (down, timed out, failing), logged; BW_ENOMEM. */
int bw_scoping_client_entity(bw_scoping_client_t *client, bw_call_t *call, const char *entity_id,
                             bw_entity_info_t *out);

/* Whether an entity-type code is a trust service provider's. */
int bw_scoping_is_tsp_type(const char *entity_type);

#endif
