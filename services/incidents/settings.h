/*
 * A tenant's settings of incident handling (incidents.settings, migration
 * 0006): the lead times of incident.deadline.approaching. A tenant without
 * a row has the defaults (BW_RECORDS_DEFAULT_LEADS); the statements that
 * write deadlines read the row themselves (records.c), and a change marks
 * the tenant's deadlines for re-planning by the scheduler (migration 0007).
 */
#ifndef BW_INCIDENTS_SETTINGS_H
#define BW_INCIDENTS_SETTINGS_H

#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_settings_stmts[];
extern const size_t bw_settings_n_stmts;

/* Lead times a tenant may set, and their bounds in seconds. */
#define BW_SETTINGS_MAX_LEADS 5
#define BW_SETTINGS_LEAD_MIN 60
#define BW_SETTINGS_LEAD_MAX 2592000

/* GET /v1/incident-settings. */
bw_rpc_handler_func_t bw_settings_get;
/* PATCH /v1/incident-settings: If-Match against the settings' etag (that of
 * the defaults until first changed). */
bw_rpc_handler_func_t bw_settings_update;

#endif
