/*
 * PostgreSQL access for the services: one connection per worker thread,
 * statements prepared once per connection, one transaction per request with
 * the tenant set by set_config('bulwark.tenant_id', $1, true), and
 * reconnection after the database restarts.
 *
 * A single-statement request costs one network round trip: the tenant
 * setting and the statement go out together in libpq's pipeline mode and,
 * closed by one Sync, form one implicit transaction.
 * Longer transactions use bw_db_begin / bw_db_exec / bw_db_commit.
 *
 * Errors map to BW_E* codes: unique violation BW_EEXIST, foreign-key or check
 * violation and bad text representation BW_EINVAL, serialization failure or
 * deadlock BW_ECONFLICT, connection loss BW_EUNAVAIL, anything else
 * BW_EINTERNAL (logged with the SQLSTATE and message).
 */
#ifndef BW_DB_H
#define BW_DB_H

#include <libpq-fe.h>

#include "arena.h"
#include "log.h"

typedef struct bw_db bw_db_t;

/* A statement, declared statically by a service. name must be unique within
 * the connection's statement table. */
typedef struct bw_db_stmt {
    const char *name;
    const char *sql;
} bw_db_stmt_t;

/* A module's statements: a table and its length. A process prepares the
 * lists of every module it runs (service.h). */
typedef struct bw_db_stmt_list {
    const bw_db_stmt_t *const *stmts;
    size_t n;
} bw_db_stmt_list_t;

/* Seconds a connection attempt may take, per host, unless the URL's
 * connect_timeout says otherwise. */
#define BW_DB_CONNECT_TIMEOUT_SEC "3"

/* PQconnectdb with Bulwark's defaults for what the URL leaves unsaid: a
 * bounded connect (BW_DB_CONNECT_TIMEOUT_SEC per host), TCP keepalives and
 * tcp_user_timeout, so that a host that vanishes is noticed in seconds.
 * For connections outside bw_db_t (a LISTEN thread). Caller PQfinishes. */
PGconn *bw_db_pq_connect(const char *conninfo);

/* Connects and prepares every statement of the table (borrowed; must outlive
 * the connection). Refuses a role that bypasses row-level security unless
 * allow_bypassrls is set (tools that migrate). Caller owns *out. */

int bw_db_open(const char *conninfo, const bw_db_stmt_t *const *stmts, size_t n_stmts,
               int allow_bypassrls, bw_db_t **out);
/* Closes the connection. Accepts NULL. */
void bw_db_close(bw_db_t *db);
/* Before a call outside a transaction, a connection idle for this long or
 * longer is probed (one poll, no round trip) and reconnected when the server
 * went away. One that answered more recently is not: a server gone within
 * this time fails that connection's next call with BW_EUNAVAIL, and the call
 * after it reconnects. */
#define BW_DB_PROBE_IDLE_MS 250

/* Round trip "SELECT 1", reconnecting first if needed; 0 when the database answers. */
int bw_db_ping(bw_db_t *db);
/* Context for log lines (borrowed until replaced). */
void bw_db_set_log_ctx(bw_db_t *db, const bw_log_ctx_t *ctx);
/* LISTENs on channel (borrowed: a fixed name), now and after every
 * reconnection; one channel per connection. */
int bw_db_listen(bw_db_t *db, const char *channel);
/* The next notification the connection has received, reading nothing from
 * the socket (libpq takes them in with every answer): 1 with its payload
 * copied into payload (cut to len), 0 when none waits, and -1 once after a
 * reconnection, when some may have been missed. */
int bw_db_notification(bw_db_t *db, char *payload, size_t len);

/* Runs one prepared statement in its own transaction with the tenant set
 * (tenant_id may be NULL for statements outside tenancy). The result is
 * owned by arena (PQclear on cleanup); *res may be NULL when not wanted.
 * values are text parameters, NULL for SQL NULL. */
int bw_db_exec1(bw_db_t *db, bw_arena_t *arena, const char *tenant_id, const bw_db_stmt_t *stmt,
                int n_values, const char *const *values, PGresult **res);

/*
 * Reads ahead: the first statement of each of several requests served
 * together, each run after its own tenant setting, all sent in one
 * pipeline closed by one Sync (one round trip, one send each way and one
 * wake-up of the server for them all instead of one each). An item then
 * answers the first
 * bw_db_exec1 of its request when that names the same tenant, statement and
 * values (bw_db_ahead_use); anything else runs as usual. Reads only: the
 * answer is taken when the batch is sent, a moment before the request's
 * handler runs, which is within the request's lifetime.
 */
#define BW_DB_AHEAD_MAX_VALUES 4
typedef struct bw_db_ahead {
    const char *tenant_id; /* borrowed; NULL: not read ahead */
    const bw_db_stmt_t *stmt;
    int n_values;
    const char *values[BW_DB_AHEAD_MAX_VALUES]; /* borrowed */
    PGresult *res; /* the answer until taken; NULL when not read or failed */
} bw_db_ahead_t;

/* Runs the items outside any transaction; an item without a tenant (or a
 * statement, or with more than BW_DB_AHEAD_MAX_VALUES values) is not sent
 * and keeps no answer. The items sent share one implicit transaction: a
 * failing statement leaves itself and the items after it without an
 * answer, and their requests run their statements themselves (meeting the
 * failure there). The caller clears what no request took
 * (PQclear(item->res)). */
void bw_db_ahead_run(bw_db_t *db, bw_db_ahead_t *const *items, int n);
/* The item the next bw_db_exec1 answers from when it matches (once); NULL
 * for none. Any statement run meanwhile forgets it. */
void bw_db_ahead_use(bw_db_t *db, bw_db_ahead_t *item);

/* Multi-statement transaction: begin (sets the tenant), exec any number of
 * statements, then commit or rollback. A failed exec leaves the transaction
 * aborted: the caller must roll back. */
int bw_db_begin(bw_db_t *db, const char *tenant_id);
int bw_db_exec(bw_db_t *db, bw_arena_t *arena, const bw_db_stmt_t *stmt, int n_values,
               const char *const *values, PGresult **res);
int bw_db_commit(bw_db_t *db);
void bw_db_rollback(bw_db_t *db);
/* A statement of the open transaction whose answer nobody reads (an
 * INSERT of a record): it goes to the server with the next statement or
 * the COMMIT, in their round trip, in the order queued. Its failure is
 * the failure of that statement or of the commit, which then does not
 * happen; a rollback drops what has not gone yet. The values are copied
 * onto arena, which must outlive the transaction. */
int bw_db_exec_later(bw_db_t *db, bw_arena_t *arena, const bw_db_stmt_t *stmt, int n_values,
                     const char *const *values);

/*
 * The request transaction: a service wraps a whole write in one transaction
 * so that its effect, its audit row and its idempotency record commit
 * together. Inside it, bw_db_exec1 and bw_db_begin/commit/rollback work as
 * usual but become savepoints (a failed statement undoes only itself), and
 * bw_db_exec may run directly. bw_db_request_end commits (commit != 0) or
 * rolls back everything. A different tenant_id given inside it (a tenant
 * being created) switches the transaction's tenant setting.
 */
int bw_db_request_begin(bw_db_t *db, const char *tenant_id);
int bw_db_request_end(bw_db_t *db, int commit);
/* The tenant the request transaction is set to, or NULL. */
const char *bw_db_request_tenant(const bw_db_t *db);

/* SQLSTATE and constraint name of the last failed statement ("" if none). */
const char *bw_db_last_sqlstate(const bw_db_t *db);
const char *bw_db_last_constraint(const bw_db_t *db);

struct bw_metrics_text;
/* Renders the process's database metrics: bulwark_db_connections by state
 * (in_use, idle) and bulwark_db_statement_duration_seconds. Any thread. */
void bw_db_metrics(struct bw_metrics_text *text);

#endif
