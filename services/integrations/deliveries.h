/*
 * The delivery log of an endpoint (GET /v1/webhook-endpoints/{id}/deliveries)
 * and replays (POST .../deliveries/{delivery}:replay).
 */
#ifndef BW_DELIVERIES_H
#define BW_DELIVERIES_H

#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_deliveries_stmts[];
extern const size_t bw_deliveries_n_stmts;

bw_rpc_handler_func_t bw_deliveries_list, bw_deliveries_replay;

#endif
