/*
 * Statements and row conversions of the incidents service; see records.h.
 *
 * Writes are single statements where they can be: recording an incident
 * inserts it and its deadlines in one statement (one round trip with
 * bw_db_exec1); appending an event inserts the event, updates the incident's
 * derived columns, upserts the deadlines that changed and deletes those that
 * no longer apply, in one statement after the incident row is locked. The
 * deadlines arrive as one JSON array parameter, written by this file from
 * the clock's output (no client text in it), read with jsonb_to_recordset.
 */
#include "records.h"

#include "buf.h"
#include "ids.h"
#include "list.h"
#include "status.h"
#include "store.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The statements are SQL text assembled from macros; clang-format cannot
 * lay them out. */
/* clang-format off */
#define US(col) "bulwark.epoch_us(" col ")"

#define INC_COLS                                                                                   \
    "i.incident_id::text, i.entity_id::text, i.title, "                                            \
    US("i.aware_at") ", " US("i.detected_at") ", "                                                 \
    "i.time_zone, i.significant, i.trust_service_impact, i.external_ref, i.state, "                \
    "i.trust_service_provider, "                                                                   \
    US("i.clock_start") ", " US("i.handling_ended_at") ", "                                        \
    US("i.create_time") ", " US("i.update_time") ", "                                              \
    "i.revision, i.significant_at_creation, i.event_count, i.incident_regime, "                   \
    US("i.classified_major_at") ", i.personal_data_breach"

#define DL_COLS                                                                                    \
    "d.ordinal, d.kind, " US("d.due_at") ", d.due_at_local, d.provisional, d.status, "             \
    US("d.met_at") ", d.basis, " US("d.shown_from") ", " US("d.shown_until") ", d.regime, d.note"

#define EV_COLS                                                                                    \
    "e.sequence, e.event_id::text, e.type, " US("e.occurred_at") ", " US("e.due_at") ", "          \
    "e.significance, e.note, e.recorded_by, " US("e.create_time")

#define JOIN_DEADLINES                                                                             \
    " LEFT JOIN incidents.deadlines d ON d.tenant_id = i.tenant_id "                               \
    "AND d.incident_id = i.incident_id "

/* The tenant's lead times of incident.deadline.approaching (6 h and 1 h
 * without a row). */
#define LEADS                                                                                      \
    "COALESCE((SELECT s.alert_lead_seconds FROM incidents.settings s), "                           \
    "'{" BW_RECORDS_DEFAULT_LEADS "}'::int[])"

/* Upserts the deadlines of JSON array $N for incident $1, leaving rows that
 * did not change untouched (no dead tuple, no index churn). Each row's
 * alert state comes with it (migration 0007, scheduler.h): next_alert_at
 * from its status, due time and the tenant's lead times; a due time that
 * moves forgets what fired for the old one, so it alerts again. Each row
 * carries its incident's entity and title (migration 0011), from the
 * statement's CTE i, the incident as written; the rows of an incident
 * written before 0011 get them at the incident's next write, whether it
 * changes them or not (OR d.title IS NULL). */
#define UPSERT_DEADLINES(n)                                                                        \
    "INSERT INTO incidents.deadlines AS d (tenant_id, incident_id, ordinal, kind, due_at, "        \
    "due_at_local, provisional, status, met_at, basis, shown_from, shown_until, regime, note, "    \
    "next_alert_at, entity_id, title) "                                                            \
    "SELECT current_setting('bulwark.tenant_id')::uuid, $1::uuid, x.ordinal, x.kind, x.due_at, "   \
    "x.due_at_local, x.provisional, x.status, x.met_at, x.basis, x.shown_from, x.shown_until, "    \
    "x.regime, x.note, incidents.next_alert_at(x.status, x.due_at, NULL, " LEADS "), "             \
    "inc.entity_id, inc.title "                                                                    \
    "FROM jsonb_to_recordset($" n "::jsonb) AS x(ordinal int, kind text, due_at timestamptz, "     \
    "due_at_local text, provisional boolean, status text, met_at timestamptz, basis text, "        \
    "shown_from timestamptz, shown_until timestamptz, regime text, note text) CROSS JOIN i inc "   \
    "ON CONFLICT (tenant_id, incident_id, ordinal) DO UPDATE SET kind = EXCLUDED.kind, "           \
    "due_at = EXCLUDED.due_at, due_at_local = EXCLUDED.due_at_local, "                             \
    "provisional = EXCLUDED.provisional, status = EXCLUDED.status, met_at = EXCLUDED.met_at, "     \
    "basis = EXCLUDED.basis, shown_from = EXCLUDED.shown_from, "                                   \
    "shown_until = EXCLUDED.shown_until, regime = EXCLUDED.regime, note = EXCLUDED.note, "         \
    "entity_id = EXCLUDED.entity_id, title = EXCLUDED.title, "                                     \
    "alerted_lead = CASE WHEN d.due_at = EXCLUDED.due_at THEN d.alerted_lead END, "                \
    "next_alert_at = CASE WHEN d.due_at = EXCLUDED.due_at AND d.alerted_lead IS NOT NULL "         \
    "THEN incidents.next_alert_at(EXCLUDED.status, EXCLUDED.due_at, d.alerted_lead, " LEADS ") "   \
    "ELSE EXCLUDED.next_alert_at END "                                                             \
    "WHERE (d.kind, d.due_at, d.due_at_local, d.provisional, d.status, d.met_at, d.basis, "        \
    "d.shown_from, d.shown_until, d.regime, d.note) IS DISTINCT FROM (EXCLUDED.kind, "             \
    "EXCLUDED.due_at, EXCLUDED.due_at_local, EXCLUDED.provisional, EXCLUDED.status, "              \
    "EXCLUDED.met_at, EXCLUDED.basis, EXCLUDED.shown_from, EXCLUDED.shown_until, "                 \
    "EXCLUDED.regime, EXCLUDED.note) OR d.title IS NULL"

/* $1 id, $2 entity, $3 title, $4 aware_at, $5 detected_at or '', $6 zone,
 * $7 significant at creation, $8 trust-service impact, $9 trust-service
 * provider, $10 external ref, $11 significant, $12 state, $13 clock start or
 * '', $14 deadlines, $15 incident regime, $16 classified as major or '', $17
 * personal data breach. */
const bw_db_stmt_t bw_stmt_incident_insert = {
    "incidents_insert",
    "WITH i AS (INSERT INTO incidents.incidents AS i (tenant_id, incident_id, entity_id, title, "
    "aware_at, detected_at, time_zone, significant_at_creation, trust_service_impact, "
    "trust_service_provider, external_ref, significant, state, clock_start, incident_regime, "
    "classified_major_at, personal_data_breach) VALUES "
    "(current_setting('bulwark.tenant_id')::uuid, $1::uuid, $2::uuid, $3, $4::timestamptz, "
    "NULLIF($5, '')::timestamptz, $6, $7::boolean, $8::boolean, $9::boolean, $10, $11::boolean, "
    "$12, NULLIF($13, '')::timestamptz, $15, NULLIF($16, '')::timestamptz, $17::boolean) "
    "RETURNING i.*), "
    "dl AS (" UPSERT_DEADLINES("14") ") "
    "SELECT " INC_COLS " FROM i"};

/* $1 id. */
const bw_db_stmt_t bw_stmt_incident_get = {
    "incidents_get",
    "SELECT " INC_COLS ", " DL_COLS " FROM incidents.incidents i" JOIN_DEADLINES
    "WHERE i.incident_id = $1::uuid ORDER BY d.ordinal"};

/* $1 id: the row lock that serialises appends to one incident. */
const bw_db_stmt_t bw_stmt_incident_lock = {
    "incidents_lock",
    "SELECT " INC_COLS " FROM incidents.incidents i WHERE i.incident_id = $1::uuid FOR UPDATE"};

/* $1 id: the same lock for an append, which writes the incident's
 * deadlines too. They are locked first, all of them, in key order, the
 * order the scheduler's re-planning takes them in
 * (incidents.replan_deadline_alerts): the upsert that follows takes them in
 * the clock's order (the final report, 91, before the progress report, 90)
 * and the removal of gone ones after it, and against a re-planning batch on
 * the same incident either could close a cycle of waits, a deadlock, 409 on
 * a valid append. The condition on d is a one-time filter, evaluated before
 * the incident's row is read. */
const bw_db_stmt_t bw_stmt_incident_lock_all = {
    "incidents_lock_all",
    "WITH d AS MATERIALIZED (SELECT 1 FROM incidents.deadlines d WHERE d.incident_id = $1::uuid "
    "ORDER BY d.ordinal FOR UPDATE) "
    "SELECT " INC_COLS " FROM incidents.incidents i WHERE i.incident_id = $1::uuid "
    "AND (SELECT count(*) FROM d) >= 0 FOR UPDATE OF i"};

/* $1 id, $2 external ref: the ref of SetExternalRef, for an incident whose
 * row the caller locked. */
const bw_db_stmt_t bw_stmt_incident_set_ref = {
    "incidents_set_ref",
    "UPDATE incidents.incidents i SET external_ref = $2, update_time = now(), "
    "revision = i.revision + 1 WHERE i.incident_id = $1::uuid"};

/* ListIncidents (list.h): $1 rows, $2 entity, $3 state, $4 significant,
 * $5 regime, then the key and the id. The incident's columns and its deadlines' (a row
 * per deadline), then the key and the id. The page of incidents is read
 * first (at most $1), then joined with their deadlines. An entity filter
 * reads an index of its own: of the two branches exactly one can return
 * rows, and a generic plan skips the other at its start (a one-time
 * filter), so a page of one entity's incidents never scans the others'. */
#define LIST_FILTERS                                                                               \
    " AND ($3::text IS NULL OR n.state = $3::text)"                                                \
    " AND ($4::boolean IS NULL OR n.significant = $4::boolean)"                                    \
    " AND ($5::text IS NULL OR n.incident_regime = $5::text)"
#define LIST_BRANCH(gate, key, after, order)                                                       \
    "(SELECT n.*, " US(key) "::text AS list_key, n.incident_id::text AS list_id "                  \
    "FROM incidents.incidents n WHERE " gate LIST_FILTERS after order " LIMIT $1::int)"
#define LIST_STMT(name, key, after, order, outer)                                                  \
    {name,                                                                                         \
     "SELECT " INC_COLS ", " DL_COLS ", i.list_key, i.list_id FROM ("                             \
     LIST_BRANCH("$2::uuid IS NULL", key, after, order) " UNION ALL "                              \
     LIST_BRANCH("n.entity_id = $2::uuid", key, after, order) ") i" JOIN_DEADLINES outer}
#define LIST_ORDER(name, col)                                                                      \
    {LIST_STMT(name "_asc", "n." col, "", BW_LIST_ASC("n." col, "n.incident_id"),                 \
               BW_LIST_ASC("i." col, "i.incident_id") ", d.ordinal"),                              \
     LIST_STMT(name "_asc_after", "n." col,                                                        \
               BW_LIST_AFTER("n." col, "n.incident_id", ">", "$6::timestamptz", "$7::uuid"),       \
               BW_LIST_ASC("n." col, "n.incident_id"),                                             \
               BW_LIST_ASC("i." col, "i.incident_id") ", d.ordinal"),                              \
     LIST_STMT(name "_desc", "n." col, "", BW_LIST_DESC("n." col, "n.incident_id"),               \
               BW_LIST_DESC("i." col, "i.incident_id") ", d.ordinal"),                             \
     LIST_STMT(name "_desc_after", "n." col,                                                       \
               BW_LIST_AFTER("n." col, "n.incident_id", "<", "$6::timestamptz", "$7::uuid"),       \
               BW_LIST_DESC("n." col, "n.incident_id"),                                            \
               BW_LIST_DESC("i." col, "i.incident_id") ", d.ordinal")}
const bw_db_stmt_t bw_stmt_incidents_by_create[4] =
    LIST_ORDER("incidents_by_create", "create_time");
const bw_db_stmt_t bw_stmt_incidents_by_update[4] =
    LIST_ORDER("incidents_by_update", "update_time");
const bw_db_stmt_t bw_stmt_incidents_by_aware[4] = LIST_ORDER("incidents_by_aware", "aware_at");

/* $1 incident: its events as the clock reads them (bw_records_clock_event),
 * in EV_COLS' places but without the texts the clock does not read, so an
 * append does not carry every earlier note (up to 10,000 characters each)
 * back from the database. */
const bw_db_stmt_t bw_stmt_events_of = {
    "events_of",
    "SELECT e.sequence, '', e.type, " US("e.occurred_at") ", " US("e.due_at") ", "
    "e.significance, '', '', NULL FROM incidents.events e WHERE e.incident_id = $1::uuid "
    "ORDER BY e.sequence"};

/* $1 incident, $2 sequence, $3 event id, $4 type, $5 occurred_at, $6 due_at
 * or '', $7 significance or '', $8 note, $9 recorded by, $10 request id,
 * $11 significant, $12 state, $13 clock start or '', $14 handling ended or
 * '', $15 deadlines. Returns the incident's columns, then the event's. */
const bw_db_stmt_t bw_stmt_event_append = {
    "events_append",
    "WITH e AS (INSERT INTO incidents.events AS e (tenant_id, incident_id, sequence, event_id, "
    "type, occurred_at, due_at, significance, note, recorded_by, request_id) VALUES "
    "(current_setting('bulwark.tenant_id')::uuid, $1::uuid, $2::int, $3::uuid, $4, "
    "$5::timestamptz, NULLIF($6, '')::timestamptz, NULLIF($7, ''), $8, $9, $10) RETURNING e.*), "
    "i AS (UPDATE incidents.incidents AS i SET significant = $11::boolean, state = $12, "
    "clock_start = NULLIF($13, '')::timestamptz, handling_ended_at = NULLIF($14, '')::timestamptz, "
    "event_count = i.event_count + 1, update_time = now(), revision = i.revision + 1 "
    "WHERE i.incident_id = $1::uuid RETURNING i.*), "
    "up AS (" UPSERT_DEADLINES("15") "), "
    "gone AS (DELETE FROM incidents.deadlines d WHERE d.incident_id = $1::uuid AND d.ordinal <> "
    "ALL (SELECT (x->>'ordinal')::int FROM jsonb_array_elements($15::jsonb) x)) "
    "SELECT " INC_COLS ", " EV_COLS " FROM i, e"};

/* $1 incident: the incident and its events, one row per event (one row with
 * NULL event columns when it has none). */
const bw_db_stmt_t bw_stmt_timeline = {
    "incidents_timeline",
    "SELECT " INC_COLS ", " EV_COLS " FROM incidents.incidents i LEFT JOIN incidents.events e "
    "ON e.tenant_id = i.tenant_id AND e.incident_id = i.incident_id "
    "WHERE i.incident_id = $1::uuid ORDER BY e.sequence"};

/* $1 due before, ($2, $3, $4) the key after which the page starts, $5
 * rows, $6 now (which alternative applies). One range scan of
 * deadlines_open_by_due from the key to $1, in incidents.open_deadlines
 * (migration 0009: planned once per session; as a statement of its own it
 * was planned at every call). The key is also the lower bound of a status
 * filter: a second lower bound on due_at would not be combined with the row
 * comparison, and the scan would start at the tenant's first open deadline
 * instead. */
#define DEADLINES_OPEN(name, regime)                                                               \
    {name, "SELECT d.incident_id::text, d.entity_id::text, d.title, " DL_COLS " "                  \
           "FROM incidents.open_deadlines($1::timestamptz, $2::timestamptz, $3::uuid, $4::int, "   \
           "$5::int, $6::timestamptz, " regime ") d"}
const bw_db_stmt_t bw_stmt_deadlines_open = DEADLINES_OPEN("deadlines_open", "NULL");
/* The same with $7 a regime: a range scan of deadlines_open_by_regime. */
const bw_db_stmt_t bw_stmt_deadlines_open_regime =
    DEADLINES_OPEN("deadlines_open_regime", "$7");

/* clang-format on */

const bw_db_stmt_t *const bw_records_stmts[] = {
    &bw_stmt_incident_insert,        &bw_stmt_incident_get,
    &bw_stmt_incident_lock,          &bw_stmt_incident_lock_all,
    &bw_stmt_incident_set_ref,       &bw_stmt_events_of,
    &bw_stmt_event_append,           &bw_stmt_timeline,
    &bw_stmt_deadlines_open,         &bw_stmt_incidents_by_create[0],
    &bw_stmt_incidents_by_create[1], &bw_stmt_incidents_by_create[2],
    &bw_stmt_incidents_by_create[3], &bw_stmt_incidents_by_update[0],
    &bw_stmt_incidents_by_update[1], &bw_stmt_incidents_by_update[2],
    &bw_stmt_incidents_by_update[3], &bw_stmt_incidents_by_aware[0],
    &bw_stmt_incidents_by_aware[1],  &bw_stmt_incidents_by_aware[2],
    &bw_stmt_incidents_by_aware[3],  &bw_stmt_deadlines_open_regime,
};
const size_t bw_records_n_stmts = sizeof(bw_records_stmts) / sizeof(bw_records_stmts[0]);

/* ---- times --------------------------------------------------------------- */

int64_t bw_records_now(void)
{
    return bw_time_now_us();
}

int bw_records_us(const Google__Protobuf__Timestamp *ts, int64_t *out)
{
    if (ts->nanos < 0 || ts->nanos > 999999999 || ts->seconds < BW_TZ_MIN_US / BW_US_PER_SEC ||
        ts->seconds > BW_TZ_MAX_US / BW_US_PER_SEC)
        return BW_EINVAL;
    *out = bw_time_us(ts->seconds, ts->nanos);
    return 0;
}

Google__Protobuf__Timestamp *bw_records_timestamp(bw_arena_t *arena, int64_t at)
{
    return bw_store_timestamp_us(arena, at);
}

char *bw_records_param_time(bw_arena_t *arena, int64_t at)
{
    char *buf = bw_arena_alloc(arena, BW_TZ_TEXT_MAX);
    if (buf == NULL || bw_tz_format_utc(at, buf, BW_TZ_TEXT_MAX) != 0)
        return NULL;
    return buf;
}

int64_t bw_records_col_us(const PGresult *res, int row, int col, int *has)
{
    *has = !PQgetisnull(res, row, col);
    return *has ? strtoll(PQgetvalue(res, row, col), NULL, 10) : 0;
}

int bw_records_col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* ---- rows ---------------------------------------------------------------- */

void bw_records_clock_incident(const PGresult *res, int row, bw_clock_incident_t *out)
{
    int has;
    memset(out, 0, sizeof(*out));
    out->aware_at = bw_records_col_us(res, row, BW_COL_AWARE, &has);
    out->significant = bw_records_col_bool(res, row, BW_COL_SIGNIFICANT_AT_CREATION);
    out->trust_service_derogation =
        bw_records_col_bool(res, row, BW_COL_TSP) && bw_records_col_bool(res, row, BW_COL_TSI);
    out->time_zone = PQgetvalue(res, row, BW_COL_TZ);
    out->reporting = bw_clock_reporting_value(PQgetvalue(res, row, BW_COL_REGIME));
    out->classified_major_at =
        bw_records_col_us(res, row, BW_COL_CLASSIFIED_MAJOR, &out->has_classified_major);
    out->personal_data_breach = bw_records_col_bool(res, row, BW_COL_PERSONAL_DATA_BREACH);
}

int bw_records_incident(bw_arena_t *arena, const PGresult *res, int row, bw_incident_pb_t **out)
{
    bw_incident_pb_t *inc = bw_arena_alloc(arena, sizeof(*inc));
    if (inc == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__incident__init(inc);
    inc->significant = bw_records_col_bool(res, row, BW_COL_SIGNIFICANT);
    inc->trust_service_impact = bw_records_col_bool(res, row, BW_COL_TSI);
    inc->trust_service_provider = bw_records_col_bool(res, row, BW_COL_TSP);
    inc->personal_data_breach = bw_records_col_bool(res, row, BW_COL_PERSONAL_DATA_BREACH);
    inc->incident_regime =
        (Bulwark__Incidents__V1__Incident__IncidentRegime)bw_clock_reporting_value(
            PQgetvalue(res, row, BW_COL_REGIME));
    inc->state = strcmp(PQgetvalue(res, row, BW_COL_STATE), "CLOSED") == 0
                     ? BULWARK__INCIDENTS__V1__INCIDENT__STATE__CLOSED
                     : BULWARK__INCIDENTS__V1__INCIDENT__STATE__OPEN;
    inc->etag = bw_arena_alloc(arena, 17);
    if (BW_STORE_COLUMNS(
            arena, res, row, {BW_COL_ID, &inc->id}, {BW_COL_ENTITY, &inc->entity},
            {BW_COL_TITLE, &inc->title}, {BW_COL_TZ, &inc->time_zone},
            {BW_COL_EXTERNAL_REF, &inc->external_ref}, {BW_COL_AWARE, .time = &inc->aware_at},
            {BW_COL_DETECTED, .time = &inc->detected_at},
            {BW_COL_CLOCK_START, .time = &inc->clock_start},
            {BW_COL_HANDLING_ENDED, .time = &inc->handling_ended_at},
            {BW_COL_CREATE, .time = &inc->create_time}, {BW_COL_UPDATE, .time = &inc->update_time},
            {BW_COL_CLASSIFIED_MAJOR, .time = &inc->classified_major_at}) != 0 ||
        inc->etag == NULL)
        return BW_ENOMEM;
    bw_etag(inc->id, strtoll(PQgetvalue(res, row, BW_COL_REVISION), NULL, 10), inc->etag);
    *out = inc;
    return 0;
}

int bw_records_deadline_visible(const PGresult *res, int row, int first, int64_t now)
{
    bw_clock_deadline_t d;
    memset(&d, 0, sizeof(d));
    d.shown_from = bw_records_col_us(res, row, first + BW_DCOL_SHOWN_FROM, &d.has_shown_from);
    d.shown_until = bw_records_col_us(res, row, first + BW_DCOL_SHOWN_UNTIL, &d.has_shown_until);
    return bw_clock_visible(&d, now);
}

int bw_records_deadline(bw_arena_t *arena, const PGresult *res, int row, int first, int64_t now,
                        bw_deadline_pb_t **out)
{
    bw_deadline_pb_t *d = bw_arena_alloc(arena, sizeof(*d));
    if (d == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__deadline__init(d);
    d->kind = (Bulwark__Incidents__V1__Deadline__Kind)bw_clock_kind_value(
        PQgetvalue(res, row, first + BW_DCOL_KIND));
    int has_due;
    int64_t due = bw_records_col_us(res, row, first + BW_DCOL_DUE, &has_due);
    d->status = (Bulwark__Incidents__V1__Deadline__Status)bw_clock_status_at(
        bw_clock_status_value(PQgetvalue(res, row, first + BW_DCOL_STATUS)), has_due, due, now);
    d->provisional = bw_records_col_bool(res, row, first + BW_DCOL_PROVISIONAL);
    d->regime = (Bulwark__Incidents__V1__Deadline__Regime)bw_clock_regime_value(
        PQgetvalue(res, row, first + BW_DCOL_REGIME));
    if (BW_STORE_COLUMNS(arena, res, row, {first + BW_DCOL_DUE_LOCAL, &d->due_at_local},
                         {first + BW_DCOL_BASIS, &d->basis}, {first + BW_DCOL_NOTE, &d->note},
                         {first + BW_DCOL_DUE, .time = &d->due_at},
                         {first + BW_DCOL_MET, .time = &d->met_at}) != 0)
        return BW_ENOMEM;
    *out = d;
    return 0;
}

int bw_records_event(bw_arena_t *arena, const PGresult *res, int row, int first,
                     bw_event_pb_t **out)
{
    bw_event_pb_t *e = bw_arena_alloc(arena, sizeof(*e));
    if (e == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__event__init(e);
    e->sequence = (int32_t)strtol(PQgetvalue(res, row, first + BW_ECOL_SEQUENCE), NULL, 10);
    e->type = (Bulwark__Incidents__V1__Event__Type)bw_clock_event_value(
        PQgetvalue(res, row, first + BW_ECOL_TYPE));
    const char *sig = PQgetvalue(res, row, first + BW_ECOL_SIGNIFICANCE);
    e->significance = strcmp(sig, "SIGNIFICANT") == 0
                          ? BULWARK__INCIDENTS__V1__EVENT__SIGNIFICANCE__SIGNIFICANT
                      : strcmp(sig, "NOT_SIGNIFICANT") == 0
                          ? BULWARK__INCIDENTS__V1__EVENT__SIGNIFICANCE__NOT_SIGNIFICANT
                          : BULWARK__INCIDENTS__V1__EVENT__SIGNIFICANCE__SIGNIFICANCE_UNSPECIFIED;
    if (BW_STORE_COLUMNS(arena, res, row, {first + BW_ECOL_ID, &e->id},
                         {first + BW_ECOL_NOTE, &e->note},
                         {first + BW_ECOL_RECORDED_BY, &e->recorded_by},
                         {first + BW_ECOL_OCCURRED, .time = &e->occurred_at},
                         {first + BW_ECOL_DUE, .time = &e->due_at},
                         {first + BW_ECOL_CREATE, .time = &e->create_time}) != 0)
        return BW_ENOMEM;
    *out = e;
    return 0;
}

void bw_records_clock_event(const PGresult *res, int row, int first, bw_clock_event_t *out)
{
    memset(out, 0, sizeof(*out));
    out->sequence = (int)strtol(PQgetvalue(res, row, first + BW_ECOL_SEQUENCE), NULL, 10);
    out->type = bw_clock_event_value(PQgetvalue(res, row, first + BW_ECOL_TYPE));
    int has;
    out->at = bw_records_col_us(res, row, first + BW_ECOL_OCCURRED, &has);
    out->due = bw_records_col_us(res, row, first + BW_ECOL_DUE, &out->has_due);
    const char *sig = PQgetvalue(res, row, first + BW_ECOL_SIGNIFICANCE);
    out->significance = strcmp(sig, "SIGNIFICANT") == 0       ? BW_SIG_SIGNIFICANT
                        : strcmp(sig, "NOT_SIGNIFICANT") == 0 ? BW_SIG_NOT_SIGNIFICANT
                                                              : BW_SIG_UNSPECIFIED;
}

/* ---- computed deadlines --------------------------------------------------- */

int bw_records_deadlines_pb(bw_arena_t *arena, const bw_clock_result_t *r, int64_t now,
                            bw_incident_pb_t *inc, size_t *index)
{
    inc->deadlines = bw_arena_calloc(arena, r->n_deadlines + 1, sizeof(*inc->deadlines));
    if (inc->deadlines == NULL)
        return BW_ENOMEM;
    inc->n_deadlines = 0;
    for (size_t i = 0; i < r->n_deadlines; i++) {
        const bw_clock_deadline_t *c = &r->deadlines[i];
        if (!bw_clock_visible(c, now))
            continue;
        bw_deadline_pb_t *d = bw_arena_alloc(arena, sizeof(*d));
        if (d == NULL)
            return BW_ENOMEM;
        bulwark__incidents__v1__deadline__init(d);
        d->kind = (Bulwark__Incidents__V1__Deadline__Kind)c->kind;
        d->status = (Bulwark__Incidents__V1__Deadline__Status)bw_clock_status_at(
            c->status, c->has_due, c->due, now);
        d->provisional = c->provisional;
        d->due_at_local = bw_arena_strdup(arena, c->due_local);
        d->basis = (char *)c->basis;
        d->regime = (Bulwark__Incidents__V1__Deadline__Regime)c->regime;
        d->note = (char *)c->note;
        if (d->due_at_local == NULL ||
            (c->has_due && !(d->due_at = bw_records_timestamp(arena, c->due))) ||
            (c->has_met && !(d->met_at = bw_records_timestamp(arena, c->met))))
            return BW_ENOMEM;
        if (index != NULL)
            index[inc->n_deadlines] = i;
        inc->deadlines[inc->n_deadlines++] = d;
    }
    return 0;
}

/* A JSON string of at's UTC text, or null. */
static void json_time(char out[BW_TZ_TEXT_MAX + 2], int has, int64_t at)
{
    char t[BW_TZ_TEXT_MAX];
    if (has && bw_tz_format_utc(at, t, sizeof(t)) == 0)
        snprintf(out, BW_TZ_TEXT_MAX + 2, "\"%s\"", t);
    else
        snprintf(out, BW_TZ_TEXT_MAX + 2, "null");
}

char *bw_records_deadlines_param(bw_arena_t *arena, const bw_clock_result_t *r)
{
    /* One buffer for the whole text: appending each deadline to a copy of
     * the text so far copied it once per deadline. */
    bw_buf_t b;
    bw_buf_init(&b, 0);
    int err = bw_buf_adds(&b, "[");
    for (size_t i = 0; err == 0 && i < r->n_deadlines; i++) {
        const bw_clock_deadline_t *d = &r->deadlines[i];
        char due[BW_TZ_TEXT_MAX + 2], met[BW_TZ_TEXT_MAX + 2], from[BW_TZ_TEXT_MAX + 2],
            until[BW_TZ_TEXT_MAX + 2];
        json_time(due, d->has_due, d->due);
        json_time(met, d->has_met, d->met);
        json_time(from, d->has_shown_from, d->shown_from);
        json_time(until, d->has_shown_until, d->shown_until);
        /* basis and note are this service's static texts: no quote or
         * backslash in them, and the unit tests check it. */
        err =
            bw_buf_printf(&b,
                          "%s{\"ordinal\":%d,\"kind\":\"%s\",\"due_at\":%s,"
                          "\"due_at_local\":\"%s\",\"provisional\":%s,\"status\":\"%s\","
                          "\"met_at\":%s,\"basis\":\"%s\",\"shown_from\":%s,\"shown_until\":%s,"
                          "\"regime\":\"%s\",\"note\":\"%s\"}",
                          i ? "," : "", d->ordinal, bw_clock_kind_name(d->kind), due, d->due_local,
                          d->provisional ? "true" : "false", bw_clock_status_name(d->status), met,
                          d->basis, from, until, bw_clock_regime_name(d->regime), d->note);
    }
    char *json = NULL;
    if (err != 0 || bw_buf_adds(&b, "]") != 0 || bw_buf_to_arena(&b, arena, &json) != 0)
        json = NULL;
    bw_buf_free(&b);
    return json;
}

const char *bw_records_state(const bw_clock_result_t *r)
{
    return r->closed ? "CLOSED" : "OPEN";
}
