/*
 * Sealing secrets again under a new key; see reseal.h.
 */
#include "reseal.h"

#include "connections.h"
#include "integrations.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

/* $1 table, $2 key id, $3 limit, $4 tenant and $5 id of the cursor. */
static const bw_db_stmt_t stmt_scan = {
    "reseal_scan", "SELECT tenant_id::text, id::text, first, second "
                   "FROM integrations.sealed_under($1, $2::bytea, $3::int, $4::uuid, $5::uuid)"};
/* $1 table, $2 tenant, $3 id, then each column's value as read and anew. */
static const bw_db_stmt_t stmt_reseal = {
    "reseal_row", "SELECT integrations.reseal($1, $2::uuid, $3::uuid, $4::bytea, $5::bytea, "
                  "$6::bytea, $7::bytea)"};

const bw_db_stmt_t *const bw_reseal_stmts[] = {&stmt_scan, &stmt_reseal};
const size_t bw_reseal_n_stmts = sizeof(bw_reseal_stmts) / sizeof(bw_reseal_stmts[0]);

static const char *const tables[] = {"endpoints", "connections"};

/* One buffer holds either table's context. */
_Static_assert(BW_CONNECTION_SEAL_CONTEXT_LEN >= BW_ENDPOINT_SEAL_CONTEXT_LEN,
               "a connection's context buffer must hold an endpoint's");

/* The context a column of a row is sealed for (the same as its writers'). */
static void context_of(int table, const char *tenant, const char *id, int col, char *out)
{
    if (table == 0)
        bw_integrations_seal_context(tenant, id, out);
    else
        bw_connections_seal_context(tenant, id, col == 2 ? "credentials" : "inbound", out);
}

/* The value in column col of row, sealed again under keys->current, as a
 * bytea parameter in *fresh (NULL when the column holds nothing under the
 * previous key); *old gets the value as read. A value that does not open
 * is counted in failed and left. */
static int reseal_value(bw_arena_t *arena, const bw_seal_keyring_t *keys, int table,
                        const PGresult *res, int row, int col, const char **old, const char **fresh,
                        bw_reseal_counts_t *counts)
{
    *old = *fresh = NULL;
    if (PQgetisnull(res, row, col))
        return 0;
    const char *tenant = PQgetvalue(res, row, 0), *id = PQgetvalue(res, row, 1);
    uint8_t *sealed;
    size_t len, plain_len, out_len;
    int err = bw_store_bytea(arena, res, row, col, &sealed, &len);
    if (err != 0)
        return err;
    *old = bw_store_bytea_param(arena, sealed, len);
    uint8_t *plain = bw_arena_alloc(arena, len + 1);
    uint8_t *out = bw_arena_alloc(arena, len + BW_SEAL_OVERHEAD);
    if (*old == NULL || plain == NULL || out == NULL)
        return BW_ENOMEM;
    char context[BW_CONNECTION_SEAL_CONTEXT_LEN];
    context_of(table, tenant, id, col, context);
    err = bw_unseal(&keys->previous, context, sealed, len, plain, len, &plain_len);
    if (err == 0)
        err = bw_seal(&keys->current, context, plain, plain_len, out, &out_len);
    OPENSSL_cleanse(plain, len);
    if (err == BW_ENOMEM || err == BW_EINTERNAL)
        return err;
    if (err != 0) {
        counts->failed++;
        return 0;
    }
    *fresh = bw_store_bytea_param(arena, out, out_len);
    return *fresh != NULL ? 0 : BW_ENOMEM;
}

int bw_reseal_run(bw_db_t *db, bw_arena_t *arena, const bw_seal_keyring_t *keys, int limit,
                  bw_reseal_cursor_t *cursor, bw_reseal_counts_t *counts)
{
    if (!keys->has_previous || cursor->table >= 2)
        return 0;
    char n[16];
    snprintf(n, sizeof(n), "%d", limit);
    int from_start = cursor->tenant[0] == '\0' || cursor->id[0] == '\0';
    const char *values[] = {tables[cursor->table],
                            bw_store_bytea_param(arena, keys->previous.id, 4), n,
                            from_start ? NULL : cursor->tenant, from_start ? NULL : cursor->id};
    if (values[1] == NULL)
        return BW_ENOMEM;
    PGresult *res;
    int err = bw_db_exec1(db, arena, NULL, &stmt_scan, 5, values, &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res);
    for (int r = 0; r < rows && err == 0; r++) {
        const char *row[7] = {tables[cursor->table], PQgetvalue(res, r, 0), PQgetvalue(res, r, 1)};
        err = reseal_value(arena, keys, cursor->table, res, r, 2, &row[3], &row[4], counts);
        if (err == 0)
            err = reseal_value(arena, keys, cursor->table, res, r, 3, &row[5], &row[6], counts);
        if (err != 0 || (row[4] == NULL && row[6] == NULL))
            continue;
        PGresult *done;
        err = bw_db_exec1(db, arena, NULL, &stmt_reseal, 7, row, &done);
        if (err == 0) {
            long replaced = (long)bw_store_int(done, 0, 0);
            counts->resealed += replaced;
            counts->changed += (row[4] != NULL) + (row[6] != NULL) - replaced;
        }
    }
    if (err != 0)
        return err;
    if (rows < limit) {
        cursor->table++;
        cursor->tenant[0] = cursor->id[0] = '\0';
    } else {
        snprintf(cursor->tenant, sizeof(cursor->tenant), "%s", PQgetvalue(res, rows - 1, 0));
        snprintf(cursor->id, sizeof(cursor->id), "%s", PQgetvalue(res, rows - 1, 1));
    }
    return 0;
}
