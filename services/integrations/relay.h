/*
 * The relay: from the outbox to deliveries. One run claims a batch of
 * events (bulwark.outbox_claim: across tenants, in seq order, never an event
 * another relay holds, never a resource's event before its earlier ones)
 * and, in the same transaction, makes one delivery per enabled endpoint of
 * the event's tenant subscribed to its type, and one ticket job per Jira or
 * ServiceNow connection that opens tickets for an incident.created or
 * incident.updated event (except the connection the change came from),
 * keeping a copy of the event (integrations.events) when it has any of
 * either. A failure rolls the batch back:
 * the events stay in the outbox for the next run.
 */
#ifndef BW_RELAY_H
#define BW_RELAY_H

#include "arena.h"
#include "db.h"
#include "deliverer.h"
#include "log.h"

extern const bw_db_stmt_t *const bw_relay_stmts[];
extern const size_t bw_relay_n_stmts;

/* Relays up to batch events. *claimed gets how many events were claimed,
 * *made how many deliveries and ticket jobs were made. With dv, the first
 * delivery of each resource in the batch, while dv has room for its
 * endpoint, is leased as it is made and handed to dv once the batch has
 * committed, so that it starts without a claim; the rest are claimed. */
int bw_relay_run(bw_db_t *db, bw_arena_t *arena, bw_deliverer_t *dv, int batch, int *claimed,
                 int *made);

/* Deletes events relayed more than days ago; *pruned gets how many. */
int bw_relay_prune(bw_db_t *db, bw_arena_t *arena, long days, long *pruned);

/* How many events wait in the outbox (at most a million are counted) and
 * the age of the oldest, in seconds (0 when none waits). */
int bw_relay_lag(bw_db_t *db, bw_arena_t *arena, long long *unrelayed, double *oldest_age_sec);

#endif
