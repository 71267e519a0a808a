/*
 * Retention of the integrations' history: the connection log, the inbound
 * receipts (the ids that de-duplicate Jira's and ServiceNow's deliveries),
 * finished webhook deliveries with their attempts and finished ticket jobs
 * are deleted BULWARK_INTEGRATIONS_RETENTION_DAYS after their last change,
 * a batch at a time, through integrations.prune_history (migration 0003, a
 * SECURITY DEFINER function whose role may delete only those rows); then
 * the events fanned out (integrations.events) older than that of which no
 * delivery and no ticket job remains, through integrations.prune_events
 * (migration 0006), a sweep from a cursor the caller keeps, so that events
 * still referred to are read once per sweep, not once per batch. The
 * dispatcher calls it; replicas take turns (an advisory lock: one that
 * finds it taken prunes nothing), so they never wait on each other. Nothing
 * still to be sent is pruned. docs/DESIGN.md, "Retention of the
 * integrations' history".
 */
#ifndef BW_RETENTION_H
#define BW_RETENTION_H

#include "db.h"

/* Days kept by default, and at least: Jira Cloud retries a delivery for up
 * to about 30 minutes and lists a failed one for 72 hours, so a receipt
 * kept 3 days outlives every redelivery Jira makes. */
#define BW_RETENTION_DEFAULT_DAYS "30"
#define BW_RETENTION_MIN_DAYS 3
/* Rows of each kind deleted by one batch at most. */
#define BW_RETENTION_BATCH 1000

extern const bw_db_stmt_t *const bw_retention_stmts[];
extern const size_t bw_retention_n_stmts;

typedef struct bw_retention_counts {
    long log_entries, receipts, deliveries, ticket_jobs, events;
    /* A kind came back full, or the sweep of events has not come to the
     * end: call again soon. */
    int more;
} bw_retention_counts_t;

/* Where the sweep of events stopped: the last event looked at (its time
 * as PostgreSQL writes a timestamptz, its tenant and id); time empty: from
 * the oldest. Zero it to start. */
typedef struct bw_retention_cursor {
    char time[64];
    char tenant[40];
    char event[40];
} bw_retention_cursor_t;

/*
 * One batch on db (outside a transaction; two calls, each one): deletes up to
 * limit rows of each kind older than days before now_us (microseconds
 * since the epoch; 0: the database's now()), of tenant only when not NULL,
 * and looks at up to limit events after *cursor, which it advances (back
 * to the start at the end of the sweep). *out gets how many of each; all
 * zero when another replica held the turn (the cursor stays). Results live
 * on arena (borrowed).
 */
int bw_retention_prune(bw_db_t *db, bw_arena_t *arena, long long now_us, long days, int limit,
                       const char *tenant, bw_retention_cursor_t *cursor,
                       bw_retention_counts_t *out);

#endif
