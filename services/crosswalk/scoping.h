/*
 * The crosswalk service's client of the scoping service: whether an entity
 * exists for the calling tenant. Entities are scoping's; this service reads
 * none of its tables and asks GetEntity instead, passing the caller's tenant
 * so that scoping's row-level security decides (docs/DESIGN.md, "The SoA and
 * the scoping service's entities").
 */
#ifndef BW_CROSSWALK_SCOPING_H
#define BW_CROSSWALK_SCOPING_H

#include "rpc.h"

typedef struct bw_cw_scoping bw_cw_scoping_t;

/* A client for the scoping service at addr ("host:port", copied); each call
 * waits at most timeout_ms. Caller owns *out (bw_cw_scoping_close). */
int bw_cw_scoping_open(const char *addr, int timeout_ms, bw_cw_scoping_t **out);
/* Closes every channel. Accepts NULL. */
void bw_cw_scoping_close(bw_cw_scoping_t *scoping);

/* 0 when entity is an entity of the call's tenant. Otherwise fails the call:
 * BW_ENOTFOUND (reason ENTITY_NOT_FOUND) for a malformed id, a missing one or
 * another tenant's, BW_EUNAVAIL when scoping cannot answer, BW_EINTERNAL for
 * anything else. Safe from any worker thread. */
int bw_cw_scoping_check_entity(bw_cw_scoping_t *scoping, bw_call_t *call, const char *entity);

#endif
