/*
 * The incidents service's statements and its conversions between database
 * rows, clock structures and protobuf messages. Times travel as microseconds
 * since the epoch: bigint columns out of PostgreSQL, RFC 3339 UTC text in.
 */
#ifndef BW_INCIDENTS_RECORDS_H
#define BW_INCIDENTS_RECORDS_H

#include <stdint.h>

#include <libpq-fe.h>

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "clock.h"
#include "db.h"
#include "rpc.h"

typedef Bulwark__Incidents__V1__Incident bw_incident_pb_t;
typedef Bulwark__Incidents__V1__Deadline bw_deadline_pb_t;
typedef Bulwark__Incidents__V1__Event bw_event_pb_t;

extern const bw_db_stmt_t *const bw_records_stmts[];
extern const size_t bw_records_n_stmts;

/* Statements (see records.c for their parameters and columns). */
extern const bw_db_stmt_t bw_stmt_incident_insert;
extern const bw_db_stmt_t bw_stmt_incident_get;
extern const bw_db_stmt_t bw_stmt_incident_lock;
extern const bw_db_stmt_t bw_stmt_incident_lock_all;
/* ListIncidents by createTime, updateTime, awareAt (list.h: BW_LIST_ASC_FIRST ...) */
extern const bw_db_stmt_t bw_stmt_incidents_by_create[4];
extern const bw_db_stmt_t bw_stmt_incidents_by_update[4];
extern const bw_db_stmt_t bw_stmt_incidents_by_aware[4];
extern const bw_db_stmt_t bw_stmt_incident_set_ref; /* $1 id, $2 external ref */
extern const bw_db_stmt_t bw_stmt_events_of;
extern const bw_db_stmt_t bw_stmt_event_append;
extern const bw_db_stmt_t bw_stmt_timeline;
extern const bw_db_stmt_t bw_stmt_deadlines_open;
extern const bw_db_stmt_t bw_stmt_deadlines_open_regime; /* of one regime ($7) */
/* The lead times of incident.deadline.approaching of a tenant without
 * settings, in seconds: 6 h and 1 h. */
#define BW_RECORDS_DEFAULT_LEADS "21600,3600"

/* Columns of an incident row, first in every statement that returns one. */
enum {
    BW_COL_ID,
    BW_COL_ENTITY,
    BW_COL_TITLE,
    BW_COL_AWARE,
    BW_COL_DETECTED,
    BW_COL_TZ,
    BW_COL_SIGNIFICANT,
    BW_COL_TSI,
    BW_COL_EXTERNAL_REF,
    BW_COL_STATE,
    BW_COL_TSP,
    BW_COL_CLOCK_START,
    BW_COL_HANDLING_ENDED,
    BW_COL_CREATE,
    BW_COL_UPDATE,
    BW_COL_REVISION,
    BW_COL_SIGNIFICANT_AT_CREATION,
    BW_COL_EVENT_COUNT,
    BW_COL_REGIME,
    BW_COL_CLASSIFIED_MAJOR,
    BW_COL_PERSONAL_DATA_BREACH,
    BW_N_INCIDENT_COLS
};
/* Columns of a deadline, from `first` on. */
enum {
    BW_DCOL_ORDINAL,
    BW_DCOL_KIND,
    BW_DCOL_DUE,
    BW_DCOL_DUE_LOCAL,
    BW_DCOL_PROVISIONAL,
    BW_DCOL_STATUS,
    BW_DCOL_MET,
    BW_DCOL_BASIS,
    BW_DCOL_SHOWN_FROM,
    BW_DCOL_SHOWN_UNTIL,
    BW_DCOL_REGIME,
    BW_DCOL_NOTE,
    BW_N_DEADLINE_COLS
};
/* Columns of an event, from `first` on. */
enum {
    BW_ECOL_SEQUENCE,
    BW_ECOL_ID,
    BW_ECOL_TYPE,
    BW_ECOL_OCCURRED,
    BW_ECOL_DUE,
    BW_ECOL_SIGNIFICANCE,
    BW_ECOL_NOTE,
    BW_ECOL_RECORDED_BY,
    BW_ECOL_CREATE,
    BW_N_EVENT_COLS
};

/* The system clock in microseconds since the epoch. */
int64_t bw_records_now(void);
/* A Timestamp as microseconds (nanoseconds truncated): BW_EINVAL when it is
 * out of [BW_TZ_MIN_US, BW_TZ_MAX_US] or its nanos are out of range. */
int bw_records_us(const Google__Protobuf__Timestamp *ts, int64_t *out);
/* A Timestamp on the arena for at; NULL on OOM. */
Google__Protobuf__Timestamp *bw_records_timestamp(bw_arena_t *arena, int64_t at);
/* RFC 3339 UTC text of at on the arena (a timestamptz parameter); NULL on OOM. */
char *bw_records_param_time(bw_arena_t *arena, int64_t at);
/* A bigint column holding microseconds: *has is 0 for NULL. */
int64_t bw_records_col_us(const PGresult *res, int row, int col, int *has);
int bw_records_col_bool(const PGresult *res, int row, int col);

/* The clock's view of an incident row (strings borrowed from res). */
void bw_records_clock_incident(const PGresult *res, int row, bw_clock_incident_t *out);
/* The incident of row (its deadlines not filled). BW_ENOMEM. */
int bw_records_incident(bw_arena_t *arena, const PGresult *res, int row, bw_incident_pb_t **out);
/* Whether the deadline whose columns start at first in row applies at now
 * (bw_clock_visible). */
int bw_records_deadline_visible(const PGresult *res, int row, int first, int64_t now);
/* The deadline whose columns start at first in row, with its status as
 * seen at now. BW_ENOMEM. */
int bw_records_deadline(bw_arena_t *arena, const PGresult *res, int row, int first, int64_t now,
                        bw_deadline_pb_t **out);
/* The event whose columns start at first in row. BW_ENOMEM. */
int bw_records_event(bw_arena_t *arena, const PGresult *res, int row, int first,
                     bw_event_pb_t **out);
/* The event of row as the clock sees it. */
void bw_records_clock_event(const PGresult *res, int row, int first, bw_clock_event_t *out);

/* The computed deadlines that apply at now as messages, statuses as seen at
 * now; index[i] (when index is not NULL) receives the position in r of the
 * i-th message. BW_ENOMEM. */
int bw_records_deadlines_pb(bw_arena_t *arena, const bw_clock_result_t *r, int64_t now,
                            bw_incident_pb_t *inc, size_t *index);
/* The computed deadlines as the JSON array the write statements read. */
char *bw_records_deadlines_param(bw_arena_t *arena, const bw_clock_result_t *r);
/* "OPEN" or "CLOSED" for a computed result. */
const char *bw_records_state(const bw_clock_result_t *r);

#endif
