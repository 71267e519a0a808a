/*
 * The deadline scheduler: fires incident.deadline.approaching and
 * incident.deadline.missed through the outbox, each exactly once however
 * many replicas run it, and catches up after a downtime.
 *
 * The alerts are planned by the writes (bw_stmt_alerts_plan, records.h) into
 * incidents.deadline_alerts (migration 0006). A tick claims the due ones
 * across tenants through incidents.claim_deadline_alerts (FOR UPDATE SKIP
 * LOCKED, marked fired in the claiming transaction), checks each against
 * the deadline as it stands (still PENDING, same due time, applying at the
 * alert's time), and appends its event to the outbox in that same
 * transaction, so an alert is fired and announced together or not at all.
 * The data of an event is the deadline as GET /v1/deadlines lists it
 * ({"incident", "entity", "title", "deadline"}).
 *
 * The service runs ticks on a thread of its own with a connection of its
 * own, never on a request worker. docs/DESIGN.md, "Deadline alerts".
 */
#ifndef BW_INCIDENTS_SCHEDULER_H
#define BW_INCIDENTS_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "log.h"

/* A connection to database_url (borrowed) that prepared what a tick runs.
 * Caller owns *out (bw_db_close). */
int bw_scheduler_open(const char *database_url, bw_db_t **out);

/* Alerts claimed by one tick at most. */
#define BW_SCHEDULER_BATCH 200

/*
 * One tick on db (from bw_scheduler_open, outside any transaction): claims up to limit alerts due
 * at now (microseconds since the epoch) and emits their events, in one transaction. *fired (when
 * not NULL) gets the number of events emitted, *claimed the alerts claimed (emitted or dropped: met
 * meanwhile, superseded by a nearer one). Results live on arena (borrowed). 0 or a BW_E* code, with
 * nothing claimed.
 */
int bw_scheduler_tick(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, int64_t now,
                      int limit, const char *tenant, int *claimed, int *fired);

typedef struct bw_scheduler bw_scheduler_t;

/* Starts the thread that ticks every interval_ms on a connection of its own
 * to database_url (borrowed; must outlive the scheduler), at once first: a
 * deadline missed while the service was down fires on start. A tick that
 * claimed a full batch is followed by the next at once. Caller owns *out. */
int bw_scheduler_start(const char *database_url, long interval_ms, bw_scheduler_t **out);
/* Stops and joins the thread. Accepts NULL. */
void bw_scheduler_stop(bw_scheduler_t *s);

#endif
