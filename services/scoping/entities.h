/*
 * Legal entities: the CRUD handlers of ScopingService and their statements.
 */
#ifndef BW_SCOPING_ENTITIES_H
#define BW_SCOPING_ENTITIES_H

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_entities_stmts[];
extern const size_t bw_entities_n_stmts;
/* The periodic purge of expired tombstones (bw_service_def_t.purges). */
extern const bw_db_stmt_t *const bw_entities_purges[];
extern const size_t bw_entities_n_purges;

bw_rpc_handler_func_t bw_entities_create, bw_entities_get, bw_entities_list, bw_entities_update,
    bw_entities_delete;
/* GetEntity's read by id, named ahead of its handler (bw_rpc_ahead_func_t). */
bw_rpc_ahead_func_t bw_entities_get_ahead;

/* Loads one entity of the call's tenant; BW_ENOTFOUND when absent. Used by
 * the classification of a stored entity. */
int bw_entities_load(bw_call_t *call, const char *id, Bulwark__Scoping__V1__Entity **out);

#endif
