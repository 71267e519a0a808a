/*
 * The deadline scheduler: fires incident.deadline.approaching and
 * incident.deadline.missed through the outbox, each exactly once however
 * many replicas run it, and catches up after a downtime.
 *
 * Each deadline row carries its alert state (incidents migration 0007):
 * next_alert_at, written by the statement that writes the deadline, and
 * alerted_lead, what has fired for its due time. A tick first re-plans a
 * batch of deadlines of a tenant whose lead times changed
 * (incidents.replan_deadline_alerts), then claims the deadlines due a look
 * across tenants through incidents.claim_deadline_alerts (FOR NO KEY UPDATE
 * SKIP LOCKED; it decides the alert with the tenant's lead times and
 * advances the state in the claiming transaction), checks each against the
 * deadline as it stands (applying at the alert's time), and appends its
 * event to the outbox in that same transaction, so an alert is fired and
 * announced together or not at all.
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

/* Deadlines claimed, and re-planned, by one tick at most. */
#define BW_SCHEDULER_BATCH 200

/*
 * One tick on db (from bw_scheduler_open, outside any transaction): re-plans up to limit deadlines
 * after a change of lead times, claims up to limit deadlines due a look at now (microseconds since
 * the epoch) and emits their events, in one transaction. *fired (when not NULL) gets the number of
 * events emitted, *claimed the deadlines claimed (emitted, or nothing to fire: woken early after a
 * change of lead times, or not applying at the alert's time). Results live on arena (borrowed). 0
 * or a BW_E* code, with nothing claimed. tenant (or NULL) limits the tick to one tenant.
 * *replanned (when not NULL) gets the deadlines re-planned: limit of them says more wait.
 */
int bw_scheduler_tick(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, int64_t now,
                      int limit, const char *tenant, int *claimed, int *fired, int *replanned);

typedef struct bw_scheduler bw_scheduler_t;

/* Starts the thread that ticks every interval_ms on a connection of its own
 * to database_url (borrowed; must outlive the scheduler), at once first: a
 * deadline missed while the service was down fires on start. A tick that
 * claimed a full batch is followed by the next at once. Caller owns *out. */
int bw_scheduler_start(const char *database_url, long interval_ms, bw_scheduler_t **out);
/* Stops and joins the thread. Accepts NULL. */
void bw_scheduler_stop(bw_scheduler_t *s);

#endif
