/*
 * The platform operator's routes on tenants, served with the tenancy RPCs
 * (tenancy.c): the list with usage, suspension and resumption, the export
 * of every row and the deletion with its certificate. Every service holds
 * some of a tenant's rows; the export, the erasure and the counts go
 * through each over the internal calls of bulwark.lifecycle.v1 (blocking
 * calls from the tenancy worker, never the event loop), and through
 * common/lifecycle.c directly for the schemas the gateway owns (tenancy,
 * and the shared bulwark schema of audit events and idempotency records).
 * docs/DESIGN.md, "Tenant lifecycle", gives the decisions.
 */
#ifndef BW_GW_OPERATOR_H
#define BW_GW_OPERATOR_H

#include "db.h"
#include "rpc.h"

bw_rpc_handler_func_t bw_operator_list_tenants, bw_operator_suspend_tenant,
    bw_operator_resume_tenant, bw_operator_export_tenant, bw_operator_delete_tenant;

/* The statements of these routes, prepared with the tenancy statements
 * (listed in tenancy.c). */
extern const bw_db_stmt_t bw_operator_stmt_list;
extern const bw_db_stmt_t bw_operator_stmt_set_state;
extern const bw_db_stmt_t bw_operator_stmt_notify;
extern const bw_db_stmt_t bw_operator_stmt_certificate;

#endif
