/*
 * What the other services ask the scoping service about an entity (whether
 * it exists for the caller's tenant, its time zone, whether it provides
 * trust services, and on request what follows from its classification),
 * through ScopingService/GetEntity on blocking gRPC channels, and what they
 * ask of its entity-type catalogue (ListEntityTypes, cached). The caller's tenant, principal, roles
 * and request id travel as metadata, so scoping answers for the caller's tenant only (another
 * tenant's entity is not found, exactly as a missing one).
 */
#ifndef BW_SCOPING_CLIENT_H
#define BW_SCOPING_CLIENT_H

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "bw_services.h"
#include "config.h"
#include "rpc.h"

#include <stddef.h>

typedef struct bw_scoping_client bw_scoping_client_t;

/* The two settings of every service that asks scoping, defined once: give
 * the config items of a service's own settings struct TYPE, whose fields
 * scoping_addr (const char *) and scoping_timeout_ms (long) receive them. */
#define BW_SCOPING_CLIENT_CONFIG_ITEMS(type)                                                       \
    {"BULWARK_SCOPING_ADDR",       BW_CFG_ADDR, BW_SCOPING_ADDR_DEFAULT, 0, 0,                     \
     offsetof(type, scoping_addr), 0,           "the scoping service"},                            \
    {                                                                                              \
        "BULWARK_SCOPING_TIMEOUT_MS", BW_CFG_INT, "3000", 100, 60000,                              \
            offsetof(type, scoping_timeout_ms), 0,                                                 \
            "deadline of each call to the scoping service, in milliseconds"                        \
    }

/* What the callers need to know of an entity. Everything lives in the
 * call's arena. */
typedef struct bw_entity_info {
    const Bulwark__Scoping__V1__Entity *entity;
    const char *time_zone;
    /* bw_scoping_client_entity_full only: scoping's answer (its
     * Applicability.trust_service_provider); 0 otherwise. */
    int trust_service_provider;
    /* bw_scoping_client_entity_full only: what follows from the entity's
     * classification (never NULL there); NULL otherwise. */
    const Bulwark__Scoping__V1__Applicability *applicability;
} bw_entity_info_t;

/* What the callers need to know of an entity type of scoping's catalogue. */
typedef struct bw_entity_type_info {
    int known;      /* the catalogue has the code */
    int ir_article; /* the article of IR 2024/2690 (5-14) with its incident criteria, or 0 */
} bw_entity_type_info_t;

/* How long a fetched catalogue of entity types is used before it is asked
 * for again (a scoping upgrade may change it; nothing else does). */
#define BW_SCOPING_TYPES_TTL_SEC 300

/* A client for target ("host:port", copied) that keeps up to pool_size idle
 * channels, one per worker thread that used it (a blocking channel serves one
 * call at a time). Its channels present tls's certificate and accept only
 * scoping's (tls borrowed, must outlive the client). Caller owns *out. */
int bw_scoping_client_open(const bw_rpc_tls_t *tls, const char *target, int pool_size,
                           int timeout_ms, bw_scoping_client_t **out);
/* Accepts NULL. */
void bw_scoping_client_close(bw_scoping_client_t *client);

/* Looks up entity_id for call's tenant. 0 with *out filled; BW_ENOTFOUND
 * when scoping has no such entity for the tenant; BW_EUNAVAIL when scoping
 * cannot answer (down, timed out, failing), logged; BW_ENOMEM. */
int bw_scoping_client_entity(bw_scoping_client_t *client, bw_call_t *call, const char *entity_id,
                             bw_entity_info_t *out);

/* As bw_scoping_client_entity, with the entity's applicability (GetEntity
 * with view FULL: scoping evaluates its rules on the stored facts). Also
 * BW_EPRECOND when the stored facts no longer pass scoping's checks, so
 * nothing follows from them until they are corrected. */
int bw_scoping_client_entity_full(bw_scoping_client_t *client, bw_call_t *call,
                                  const char *entity_id, bw_entity_info_t *out);

/* Looks up n entity-type codes (borrowed) in scoping's catalogue: out[i]
 * for codes[i]. The catalogue is fetched with ListEntityTypes on first use
 * and again once older than BW_SCOPING_TYPES_TTL_SEC; a failed refresh keeps
 * the copy it has (logged). BW_EUNAVAIL when there is no copy and scoping
 * cannot answer; BW_ENOMEM. Safe from any thread. */
int bw_scoping_client_entity_types(bw_scoping_client_t *client, bw_call_t *call,
                                   const char *const *codes, size_t n, bw_entity_type_info_t *out);

#endif
