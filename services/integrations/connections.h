/*
 * Connections to Jira and ServiceNow: the CRUD handlers, the credential
 * check (:test) and the connection's log, and what the inbound and outbound
 * sides share: the sealing of credentials and inbound secrets, and writing
 * a log entry.
 */
#ifndef BW_CONNECTIONS_H
#define BW_CONNECTIONS_H

#include "bulwark/integrations/v1/integrations.pb-c.h"
#include "db.h"
#include "integrations.h"
#include "rpc.h"

typedef Bulwark__Integrations__V1__Connection bw_connection_pb_t;

extern const bw_db_stmt_t *const bw_connections_stmts[];
extern const size_t bw_connections_n_stmts;

bw_rpc_handler_func_t bw_connections_create, bw_connections_get, bw_connections_list,
    bw_connections_update, bw_connections_delete, bw_connections_test, bw_connections_log_list;

/* The context a connection's secret is sealed for: what is "credentials"
 * or "inbound". */
#define BW_CONNECTION_SEAL_CONTEXT_LEN 160
void bw_connections_seal_context(const char *tenant_id, const char *connection_id, const char *what,
                                 char out[BW_CONNECTION_SEAL_CONTEXT_LEN]);

/* Opens a sealed secret (a bytea column) into a NUL-terminated string on
 * arena. 0, BW_EPERM (sealed under another key), BW_EINVAL (altered),
 * BW_ENOMEM. */
int bw_connections_unseal(const bw_integrations_t *svc, bw_arena_t *arena, const char *tenant_id,
                          const char *connection_id, const char *what, const PGresult *res, int row,
                          int col, char **out);

/* Opens the connection's sealed credentials (a bytea column of res) into
 * *user and *password on arena (Jira: email and apiToken; ServiceNow:
 * username and password); the caller cleanses both when done. 0, or
 * BW_EPERM (sealed under another key), BW_EINVAL (altered or unreadable),
 * BW_ENOMEM, with both NULL. */
int bw_connections_credentials(const bw_integrations_t *svc, bw_arena_t *arena,
                               const char *tenant_id, const char *connection_id, int jira,
                               const PGresult *res, int row, int col, char **user, char **password);

/* The URL of path (starting with "/") on the ticket system at base, whose
 * trailing slashes are dropped; on arena, NULL when out of memory. */
char *bw_connections_api_url(bw_arena_t *arena, const char *base, const char *path);

/* One entry of a connection's log, inside a transaction of its tenant.
 * ticket and incident may be "" or NULL. */
typedef struct bw_connection_log_entry {
    const char *connection_id;
    const char *direction; /* "inbound", "outbound" */
    const char *kind;
    int status_code;
    const char *ticket;
    const char *incident;
    const char *detail;
} bw_connection_log_entry_t;
int bw_connections_log(bw_db_t *db, bw_arena_t *arena, const bw_connection_log_entry_t *entry);

#endif
