/*
 * The retention batch; see retention.h.
 */
#include "retention.h"

#include "status.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

/* $1 now (epoch microseconds, or NULL for now()), $2 days, $3 limit, $4
 * tenant or NULL. */
static const bw_db_stmt_t stmt_prune = {
    "retention_prune",
    "SELECT p.n_log_entries, p.n_receipts, p.n_deliveries, p.n_ticket_jobs "
    "FROM integrations.prune_history(COALESCE(to_timestamp($1::bigint / 1e6), now()), $2::int, "
    "$3::int, $4::uuid) p"};

/* The same parameters: events of which no delivery and no job remains. */
static const bw_db_stmt_t stmt_prune_events = {
    "retention_prune_events",
    "SELECT integrations.prune_events(COALESCE(to_timestamp($1::bigint / 1e6), now()), $2::int, "
    "$3::int, $4::uuid)"};

const bw_db_stmt_t *const bw_retention_stmts[] = {&stmt_prune, &stmt_prune_events};
const size_t bw_retention_n_stmts = sizeof(bw_retention_stmts) / sizeof(bw_retention_stmts[0]);

int bw_retention_prune(bw_db_t *db, bw_arena_t *arena, long long now_us, long days, int limit,
                       const char *tenant, bw_retention_counts_t *out)
{
    char now[24], d[24], n[24];
    snprintf(now, sizeof(now), "%lld", now_us);
    snprintf(d, sizeof(d), "%ld", days);
    snprintf(n, sizeof(n), "%d", limit);
    const char *values[] = {now_us > 0 ? now : NULL, d, n, tenant};
    PGresult *res;
    int err = bw_db_exec1(db, arena, NULL, &stmt_prune, 4, values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) != 1)
        return BW_EINTERNAL;
    out->log_entries = (long)bw_store_int(res, 0, 0);
    out->receipts = (long)bw_store_int(res, 0, 1);
    out->deliveries = (long)bw_store_int(res, 0, 2);
    out->ticket_jobs = (long)bw_store_int(res, 0, 3);
    /* After the deliveries and jobs, in a transaction of its own: the
     * events whose last ones just went go too. */
    err = bw_db_exec1(db, arena, NULL, &stmt_prune_events, 4, values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) != 1)
        return BW_EINTERNAL;
    out->events = (long)bw_store_int(res, 0, 0);
    return 0;
}
