/*
 * Whether an entity exists for the calling tenant, and what applies to it.
 * Entities are scoping's; this service reads none of its tables and asks
 * GetEntity through scoping's client (services/scoping/client/), passing
 * the caller's tenant so that scoping's row-level security decides (docs/DESIGN.md, "The SoA and
 * the scoping service's entities"). Nothing is cached: a deleted entity
 * answers 404 at once.
 */
#ifndef BW_CROSSWALK_SCOPING_H
#define BW_CROSSWALK_SCOPING_H

#include "rpc.h"
#include "scoping_client.h"

/* 0 when entity is an entity of the call's tenant. Otherwise fails the call:
 * BW_ENOTFOUND (reason ENTITY_NOT_FOUND) for a malformed id, a missing one or
 * another tenant's, BW_EUNAVAIL when scoping cannot answer. Safe from any
 * worker thread. */
int bw_cw_scoping_check_entity(bw_scoping_client_t *scoping, bw_call_t *call, const char *entity);

/* As bw_cw_scoping_check_entity, in the same one call, with what applies to
 * the entity (GetEntity, view FULL; *out on the call's arena). Also fails
 * the call with FAILED_PRECONDITION, reason ENTITY_FACTS_INVALID, when the
 * entity's stored facts no longer pass scoping's checks. */
int bw_cw_scoping_applicability(bw_scoping_client_t *scoping, bw_call_t *call, const char *entity,
                                const Bulwark__Scoping__V1__Applicability **out);

#endif
