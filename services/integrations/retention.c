/*
 * The retention batch; see retention.h.
 */
#include "retention.h"

#include "status.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1 now (epoch microseconds, or NULL for now()), $2 days, $3 limit, $4
 * tenant or NULL. */
static const bw_db_stmt_t stmt_prune = {
    "retention_prune",
    "SELECT p.n_log_entries, p.n_receipts, p.n_deliveries, p.n_ticket_jobs "
    "FROM integrations.prune_history(COALESCE(to_timestamp($1::bigint / 1e6), now()), $2::int, "
    "$3::int, $4::uuid) p"};

/* The same parameters and the cursor, $5 time, $6 tenant, $7 event (NULLs:
 * from the oldest): events of which no delivery and no job remains. */
static const bw_db_stmt_t stmt_prune_events = {
    "retention_prune_events",
    "SELECT p.n_events, p.next_time, p.next_tenant, p.next_event "
    "FROM integrations.prune_events(COALESCE(to_timestamp($1::bigint / 1e6), now()), $2::int, "
    "$3::int, $4::uuid, $5::timestamptz, $6::uuid, $7::uuid) p"};

const bw_db_stmt_t *const bw_retention_stmts[] = {&stmt_prune, &stmt_prune_events};
const size_t bw_retention_n_stmts = sizeof(bw_retention_stmts) / sizeof(bw_retention_stmts[0]);

static void copy_field(char *dst, size_t len, const PGresult *res, int col)
{
    if (PQgetisnull(res, 0, col) || (size_t)PQgetlength(res, 0, col) >= len)
        dst[0] = '\0';
    else
        memcpy(dst, PQgetvalue(res, 0, col), (size_t)PQgetlength(res, 0, col) + 1);
}

int bw_retention_prune(bw_db_t *db, bw_arena_t *arena, long long now_us, long days, int limit,
                       const char *tenant, bw_retention_cursor_t *cursor,
                       bw_retention_counts_t *out)
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
    out->more = out->log_entries >= limit || out->receipts >= limit || out->deliveries >= limit ||
                out->ticket_jobs >= limit;
    /* After the deliveries and jobs, in a transaction of its own: the next
     * events of the sweep, of which those whose last ones just went go. */
    int from_start =
        cursor->time[0] == '\0' || cursor->tenant[0] == '\0' || cursor->event[0] == '\0';
    const char *ev_values[] = {values[0],
                               values[1],
                               values[2],
                               values[3],
                               from_start ? NULL : cursor->time,
                               from_start ? NULL : cursor->tenant,
                               from_start ? NULL : cursor->event};
    err = bw_db_exec1(db, arena, NULL, &stmt_prune_events, 7, ev_values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) != 1 || PQnfields(res) != 4)
        return BW_EINTERNAL;
    out->events = (long)bw_store_int(res, 0, 0);
    copy_field(cursor->time, sizeof(cursor->time), res, 1);
    copy_field(cursor->tenant, sizeof(cursor->tenant), res, 2);
    copy_field(cursor->event, sizeof(cursor->event), res, 3);
    if (cursor->time[0] != '\0' && cursor->tenant[0] != '\0' && cursor->event[0] != '\0')
        out->more = 1;
    else
        memset(cursor, 0, sizeof(*cursor));
    return 0;
}
