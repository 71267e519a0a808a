/*
 * One tenant's rows in the schemas a process owns: an export page, the
 * erasure of every row, row counts. The work is done by the SQL functions
 * of common/migrations/0005_tenant_data.sql, which find the tables with a
 * tenant_id column themselves, so a table added to a schema is covered
 * without a change here. Every service answers these as the internal RPCs
 * of bulwark.lifecycle.v1.TenantDataService (bw_lifecycle_handlers, which
 * common/service.c adds to every service's method table; only the gateway
 * may call them); the gateway's tenancy RPCs call the functions directly
 * for the schemas it owns (tenancy, and the shared bulwark schema).
 */
#ifndef BW_LIFECYCLE_H
#define BW_LIFECYCLE_H

#include "bulwark/lifecycle/v1/lifecycle.pb-c.h"

#include "db.h"
#include "rpc.h"

/* Bounds of an export page, and what a page holds unless asked otherwise. */
#define BW_LIFECYCLE_MAX_ROWS 10000
#define BW_LIFECYCLE_MAX_BYTES (2 * 1024 * 1024)
#define BW_LIFECYCLE_PAGE_ROWS 2000
#define BW_LIFECYCLE_PAGE_BYTES (1024 * 1024)

/* The statements of this module: every worker connection prepares them. */
extern const bw_db_stmt_t *const bw_lifecycle_stmts[];
extern const size_t bw_lifecycle_n_stmts;

/* The RPC methods (ExportTenantData, EraseTenantData, CountTenantRows).
 * Their handlers need the call's service data to be a bw_service_db_opts_t
 * naming the process's schemas (service.h). */
extern const bw_rpc_handler_t bw_lifecycle_handlers[];
extern const size_t bw_lifecycle_n_handlers;

/* One export page of tenant's rows in schemas (in that order), from where
 * req says (its after_table "schema.table", after_key and part), bounded by
 * its max_rows and max_bytes. Each table begun on the page is a chunk, its
 * part 1 even when empty; a table continued from the last page is the
 * part req->part. *out lives on call->arena. BW_EINVAL with a violation
 * for a req that names no table of schemas. */
int bw_lifecycle_export(bw_call_t *call, bw_db_t *db, const char *tenant,
                        const char *const *schemas, size_t n_schemas,
                        const Bulwark__Lifecycle__V1__ExportTenantDataRequest *req,
                        Bulwark__Lifecycle__V1__ExportTenantDataResponse **out);

/* Deletes every row of tenant in schemas, in one transaction (inside a
 * request transaction, a savepoint of it). *out (on call->arena) lists
 * each table with the rows deleted. */
int bw_lifecycle_erase(bw_call_t *call, bw_db_t *db, const char *tenant, const char *const *schemas,
                       size_t n_schemas, Bulwark__Lifecycle__V1__EraseTenantDataResponse **out);

#endif
