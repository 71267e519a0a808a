/*
 * The RPC handlers of IncidentsService that touch the database: incidents,
 * their events and timelines, and the tenant's open deadlines. Validation
 * names the JSON field at fault; the reporting clock (clock.c) decides the
 * deadlines, which are written in the same transaction as the change that
 * moved them.
 */
#ifndef BW_INCIDENTS_HANDLERS_H
#define BW_INCIDENTS_HANDLERS_H

#include "rpc.h"
#include "scoping_client.h"

/* The service's own data (bw_service_data). */
typedef struct bw_incidents_service {
    bw_scoping_client_t *scoping;
    struct bw_scheduler *scheduler; /* NULL when this process runs none */
} bw_incidents_service_t;

/* Longest title and external reference, in characters. */
#define BW_INCIDENT_TITLE_MAX 500
#define BW_INCIDENT_REF_MAX 200
#define BW_EVENT_NOTE_MAX 10000

bw_rpc_handler_func_t bw_incidents_create, bw_incidents_get, bw_incidents_list,
    bw_incidents_append_event, bw_incidents_timeline, bw_incidents_list_deadlines;
/* GetIncident's read by id, named ahead of its handler (bw_rpc_ahead_func_t). */
bw_rpc_ahead_func_t bw_incidents_get_ahead;
/* Internal: the integrations service's record of the ticket it opened. */
bw_rpc_handler_func_t bw_incidents_set_external_ref;

#endif
