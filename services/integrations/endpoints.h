/*
 * Webhook endpoints: the CRUD handlers, the secret rotation, and disabling
 * an endpoint (by a client, or by the deliverer when a delivery exhausts its
 * schedule), which pauses its deliveries and emits webhook_endpoint.disabled.
 */
#ifndef BW_ENDPOINTS_H
#define BW_ENDPOINTS_H

#include "bulwark/integrations/v1/integrations.pb-c.h"
#include "db.h"
#include "rpc.h"

typedef Bulwark__Integrations__V1__WebhookEndpoint bw_endpoint_pb_t;

/* Prepared on every connection that touches endpoints (workers and the
 * dispatcher). */
extern const bw_db_stmt_t *const bw_endpoints_stmts[];
extern const size_t bw_endpoints_n_stmts;

bw_rpc_handler_func_t bw_endpoints_create, bw_endpoints_get, bw_endpoints_list, bw_endpoints_update,
    bw_endpoints_delete, bw_endpoints_rotate_secret;

/* Inside an open transaction whose tenant is the endpoint's: disables the
 * endpoint with reason (unless it is disabled already: then nothing
 * changes), pauses its pending deliveries, and emits webhook_endpoint.disabled
 * through the outbox. *disabled (may be NULL) tells whether this call
 * disabled it. BW_ENOTFOUND when the endpoint is gone. */
int bw_endpoints_disable(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log,
                         const char *endpoint_id, const char *reason, int *disabled);

#endif
