/*
 * The deadline scheduler; see scheduler.h. A tick is one transaction: a
 * batch of re-planning after a change of lead times, the claim (which
 * advances each deadline's alert state), then per alert the tenant setting,
 * the incident with its deadlines (under the tenant's row-level security)
 * and the outbox event. A failure rolls the whole tick back, claim
 * included, and the next tick tries again.
 */
#include "scheduler.h"

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "clock.h"
#include "outbox.h"
#include "records.h"
#include "status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* $1 now, $2 limit, $3 tenant or NULL. An alert's time is its due time
 * less its lead. */
static const bw_db_stmt_t stmt_claim = {
    "scheduler_claim",
    "SELECT c.tenant_id::text, c.incident_id::text, c.ordinal, c.alert, "
    "bulwark.epoch_us(c.due_at), "
    "bulwark.epoch_us(c.due_at - make_interval(secs => COALESCE(c.lead_seconds, 0))) "
    "FROM incidents.claim_deadline_alerts($1::timestamptz, $2::int, $3::uuid, "
    "'{" BW_RECORDS_DEFAULT_LEADS "}'::int[]) c"};
enum { A_TENANT, A_INCIDENT, A_ORDINAL, A_ALERT, A_DUE, A_FIRE };

/* $1 limit, $2 tenant or NULL: one batch of re-planning after a change of
 * lead times (migration 0007); 0 when no tenant waits for one. */
static const bw_db_stmt_t stmt_replan = {
    "scheduler_replan", "SELECT incidents.replan_deadline_alerts($1::int, $2::uuid, "
                        "'{" BW_RECORDS_DEFAULT_LEADS "}'::int[])"};

/* $1 tenant, for the rest of the transaction. */
static const bw_db_stmt_t stmt_set_tenant = {"scheduler_set_tenant",
                                             "SELECT set_config('bulwark.tenant_id', $1, true)"};

/* What a scheduler connection prepares: the tick's own statements, the
 * incident's read, and the outbox's insert (bw_db_open borrows the table,
 * so it is built once and kept). */
#define OPEN_STMTS_MAX 12
static const bw_db_stmt_t *open_stmts[OPEN_STMTS_MAX];
static size_t n_open_stmts;
static pthread_once_t open_stmts_once = PTHREAD_ONCE_INIT;

static void open_stmts_init(void)
{
    const bw_db_stmt_t *own[] = {&stmt_replan, &stmt_claim, &stmt_set_tenant,
                                 &bw_stmt_incident_get};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        open_stmts[n_open_stmts++] = own[i];
    for (size_t i = 0; i < bw_outbox_n_stmts && n_open_stmts < OPEN_STMTS_MAX; i++)
        open_stmts[n_open_stmts++] = bw_outbox_stmts[i];
}

int bw_scheduler_open(const char *database_url, bw_db_t **out)
{
    pthread_once(&open_stmts_once, open_stmts_init);
    return bw_db_open(database_url, open_stmts, n_open_stmts, 0, out);
}

/* The row of ordinal among the incident's deadline rows, or -1. */
static int deadline_row(const PGresult *res, const char *ordinal)
{
    int col = BW_N_INCIDENT_COLS + BW_DCOL_ORDINAL;
    for (int r = 0; r < PQntuples(res); r++)
        if (!PQgetisnull(res, r, col) && strcmp(PQgetvalue(res, r, col), ordinal) == 0)
            return r;
    return -1;
}

/* Emits the event of the claimed alert in row of claim, if the deadline
 * still owes it: PENDING, at the due time claimed, applying at the alert's
 * time (of a final report and the progress report that replaces
 * it at the same time, only one applies). *fired is 1 when it emitted. */
static int fire(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, const PGresult *claim,
                int row, int64_t now, int *fired)
{
    *fired = 0;
    const char *tenant = PQgetvalue(claim, row, A_TENANT);
    const char *incident = PQgetvalue(claim, row, A_INCIDENT);
    int64_t due = strtoll(PQgetvalue(claim, row, A_DUE), NULL, 10);
    int64_t fire_at = strtoll(PQgetvalue(claim, row, A_FIRE), NULL, 10);
    PGresult *res;
    int err = bw_db_exec(db, arena, &stmt_set_tenant, 1, &tenant, NULL);
    if (err == 0)
        err = bw_db_exec(db, arena, &bw_stmt_incident_get, 1, &incident, &res);
    if (err != 0)
        return err;
    int r = deadline_row(res, PQgetvalue(claim, row, A_ORDINAL));
    if (r < 0)
        return 0;
    int first = BW_N_INCIDENT_COLS, has_due;
    int64_t stored_due = bw_records_col_us(res, r, first + BW_DCOL_DUE, &has_due);
    if (strcmp(PQgetvalue(res, r, first + BW_DCOL_STATUS), "PENDING") != 0 || !has_due ||
        stored_due != due || !bw_records_deadline_visible(res, r, first, fire_at))
        return 0;

    Bulwark__Incidents__V1__OpenDeadline *o = bw_arena_alloc(arena, sizeof(*o));
    if (o == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__open_deadline__init(o);
    o->incident = bw_arena_strdup(arena, PQgetvalue(res, r, BW_COL_ID));
    o->entity = bw_arena_strdup(arena, PQgetvalue(res, r, BW_COL_ENTITY));
    o->title = bw_arena_strdup(arena, PQgetvalue(res, r, BW_COL_TITLE));
    if (o->incident == NULL || o->entity == NULL || o->title == NULL)
        return BW_ENOMEM;
    if ((err = bw_records_deadline(arena, res, r, first, now, &o->deadline)) != 0)
        return err;
    const char *data = bw_outbox_render(arena, &o->base);
    const char *resource = bw_arena_printf(arena, "incidents/%s", incident);
    if (data == NULL || resource == NULL)
        return BW_ENOMEM;
    int missed = strcmp(PQgetvalue(claim, row, A_ALERT), "MISSED") == 0;
    err = bw_outbox_append(db, arena, log,
                           missed ? "incident.deadline.missed" : "incident.deadline.approaching",
                           resource, "", data);
    if (err == 0)
        *fired = 1;
    return err;
}

int bw_scheduler_tick(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, int64_t now,
                      int limit, const char *tenant, int *claimed, int *fired, int *replanned)
{
    int n_claimed = 0, n_fired = 0, n_replanned = 0;
    const char *values[] = {bw_records_param_time(arena, now), bw_arena_printf(arena, "%d", limit),
                            tenant};
    if (values[0] == NULL || values[1] == NULL)
        return BW_ENOMEM;
    PGresult *res;
    int err = bw_db_begin(db, NULL);
    if (err != 0)
        return err;
    /* Re-planning first, so that a lead made longer fires in this tick. */
    if ((err = bw_db_exec(db, arena, &stmt_replan, 2, values + 1, &res)) != 0)
        goto out;
    n_replanned = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    if ((err = bw_db_exec(db, arena, &stmt_claim, 3, values, &res)) != 0)
        goto out;
    n_claimed = PQntuples(res);
    for (int i = 0; i < n_claimed; i++) {
        /* Woken early (the lead times changed): nothing to fire. */
        if (PQgetisnull(res, i, A_ALERT))
            continue;
        int one;
        if ((err = fire(db, arena, log, res, i, now, &one)) != 0)
            goto out;
        n_fired += one;
    }
    err = bw_db_commit(db);
out:
    if (err != 0) {
        bw_db_rollback(db);
        n_claimed = n_fired = n_replanned = 0;
    }
    if (replanned != NULL)
        *replanned = n_replanned;
    if (claimed != NULL)
        *claimed = n_claimed;
    if (fired != NULL)
        *fired = n_fired;
    return err;
}

/* ---- the thread ------------------------------------------------------------ */

struct bw_scheduler {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled on stop; waits use CLOCK_MONOTONIC */
    int stopping;
    const char *database_url;
    long interval_ms;
};

static void *scheduler_main(void *arg)
{
    bw_scheduler_t *s = arg;
    bw_db_t *db = NULL;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        int claimed = 0, fired = 0, replanned = 0, err = 0;
        if (db == NULL)
            err = bw_scheduler_open(s->database_url, &db);
        bw_arena_t *arena = err == 0 ? bw_arena_create(0) : NULL;
        if (err == 0 && arena == NULL)
            err = BW_ENOMEM;
        if (err == 0)
            err = bw_scheduler_tick(db, arena, NULL, bw_records_now(), BW_SCHEDULER_BATCH, NULL,
                                    &claimed, &fired, &replanned);
        bw_arena_destroy(arena);
        if (err != 0)
            bw_log(BW_LOG_WARN, NULL, "deadline scheduler: tick failed: %s", bw_strerror(err));
        else if (claimed > 0)
            bw_log(BW_LOG_INFO, NULL, "deadline scheduler: %d alerts due, %d events emitted",
                   claimed, fired);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        /* A full batch: more may be due, or wait to be re-planned (a lead
         * made longer fires only once its deadline is re-planned: at one
         * batch an interval, a tenant of 400,000 deadline rows took hours
         * and its alerts of the new lead passed unsent), go on at once. */
        long wait_ms =
            claimed == BW_SCHEDULER_BATCH || replanned == BW_SCHEDULER_BATCH ? 0 : s->interval_ms;
        next.tv_sec += wait_ms / 1000;
        next.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &next) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    bw_db_close(db);
    return NULL;
}

int bw_scheduler_start(const char *database_url, long interval_ms, bw_scheduler_t **out)
{
    bw_scheduler_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BW_ENOMEM;
    s->database_url = database_url;
    s->interval_ms = interval_ms;
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&s->wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        free(s);
        return BW_ENOMEM;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->wake);
        free(s);
        return BW_ENOMEM;
    }
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        free(s);
        return BW_ENOMEM;
    }
    *out = s;
    return 0;
}

void bw_scheduler_stop(bw_scheduler_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
