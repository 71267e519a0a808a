/*
 * PostgreSQL access for the services; see db.h. A bw_db_t wraps one libpq
 * connection and remembers the statement table so that a reconnection can
 * prepare everything again. bw_db_exec1 sends the tenant setting and the
 * statement as one pipeline ending in one Sync, which makes them one implicit
 * transaction, so the common single-statement request costs one network
 * round trip and two statements. A dead
 * idle connection is noticed before sending (a server that went away leaves
 * EOF on the socket) and reset transparently; a connection that dies during a
 * request fails that request with BW_EUNAVAIL and is reset by the next one.
 * Connecting is bounded (connect_timeout, TCP keepalives and
 * tcp_user_timeout default to a few seconds unless the URL says otherwise),
 * so that a database host that vanishes without a word costs a request
 * seconds, not minutes. With a multi-host URL and
 * target_session_attrs=read-write, a reconnection finds the new primary after
 * a failover; a session that finds itself read-only (SQLSTATE 25006: it
 * reached a standby) is reset too.
 * Parameter values never reach a log line: they may hold secrets.
 */
#include "db.h"
#include "metrics.h"
#include "status.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Statements every connection prepares before the service's own. Their names
 * are reserved. */
enum {
    INTERNAL_BEGIN,
    INTERNAL_COMMIT,
    INTERNAL_SET_TENANT,
    INTERNAL_SAVEPOINT,
    INTERNAL_RELEASE,
    INTERNAL_ROLLBACK_TO,
    INTERNAL_ROLLBACK,
    INTERNAL_COUNT
};
static const bw_db_stmt_t internal_stmts[INTERNAL_COUNT] = {
    [INTERNAL_BEGIN] = {"bw_begin", "BEGIN"},
    [INTERNAL_COMMIT] = {"bw_commit", "COMMIT"},
    [INTERNAL_SET_TENANT] = {"bw_set_tenant", "SELECT set_config('bulwark.tenant_id', $1, true)"},
    [INTERNAL_SAVEPOINT] = {"bw_savepoint", "SAVEPOINT bw_sp"},
    [INTERNAL_RELEASE] = {"bw_release", "RELEASE SAVEPOINT bw_sp"},
    [INTERNAL_ROLLBACK_TO] = {"bw_rollback_to", "ROLLBACK TO SAVEPOINT bw_sp"},
    [INTERNAL_ROLLBACK] = {"bw_rollback", "ROLLBACK"},
};

/* An idle connection has nothing to read. When it does, its input is read at
 * most this many times looking for EOF: a server that shuts down sends a FATAL
 * message first and the EOF may only show on the next read. */
#define BW_DB_PROBE_READS 4
/* BW_DB_PROBE_IDLE_MS (db.h): under load the probe was one system call per
 * request, and on these machines system calls are the costliest part of a
 * request (docs/DESIGN.md, "Performance as measured"). */
#define BW_DB_PROBE_IDLE_NS (BW_DB_PROBE_IDLE_MS * 1000LL * 1000)
/* The wire protocol counts parameters in 16 bits. */
#define BW_DB_MAX_PARAMS 65535
/* bw_db_exec_later's queue; a full one is sent on its own. Small, so that
 * a pipeline never holds more answers than the socket buffers take. */
#define BW_DB_LATER_MAX 32
/* The most steps a pipeline folds the queue into; longer ones (the reads
 * taken together, outside any transaction) send it first. */
#define BW_DB_FOLD_MAX 4
/* The most values a queued statement may carry (records, not batches). */
#define BW_DB_LATER_VALUES_MAX 64

struct bw_db {
    PGconn *conn;
    const bw_db_stmt_t *const *stmts; /* borrowed */
    size_t n_stmts;
    int allow_bypassrls;
    /* The session is unusable (a pipeline was left half-read, or setting up
     * the session failed): the next call that may reconnect resets it. */
    int broken;
    int in_tx; /* between a successful bw_db_begin and commit/rollback */
    /* Inside a request transaction (bw_db_request_begin): the service's own
     * begin/commit/rollback and exec1 become savepoints inside it. */
    int request_tx;
    char tenant[64];             /* the tenant set in the request transaction, "" none */
    int tx_err;                  /* first failure inside the current transaction */
    const bw_log_ctx_t *log_ctx; /* borrowed */
    char sqlstate[6];
    char constraint[64];   /* NAMEDATALEN */
    int counted_open;      /* counted in db_open */
    int counted_busy;      /* counted in db_busy */
    long long answered_ns; /* CLOCK_MONOTONIC of the last pipeline answered, 0 none */
    const char *listen;    /* the channel listened on (borrowed), NULL none */
    int missed;            /* reconnected since: notifications may be lost */
    bw_db_ahead_t *ahead;  /* what the next exec1 may answer from (bw_db_ahead_use) */
    /* Statements queued by bw_db_exec_later, sent ahead of the next
     * statement or the COMMIT; later_failed: one of them failed in the last
     * pipeline. */
    struct later_step {
        const char *name;
        int n_values;
        const char *const *values;
    } later[BW_DB_LATER_MAX];
    int n_later;
    int later_failed;
    /* The queued tenant setting's one value: tenant itself (set at open),
     * read when the queue is sent. tenant stays set until the next request
     * begins (a request that ran no statement sends the queue with its
     * COMMIT, after request_end), and request_set_tenant changes it only
     * after its own statement has sent the queue. */
    const char *tenant_values[1];
};

/* The process's connections and how long statements take, for /metrics:
 * connections open, those in a transaction or running a statement (in
 * use), and one latency histogram of every round trip that runs a
 * statement. */
static atomic_llong db_open;
static atomic_llong db_busy;
static bw_metrics_hist_t db_statement_latency;

/* Counts db as in use while it is in a transaction (or busy is set). */
static void count_busy(bw_db_t *db, int busy)
{
    busy = busy || db->in_tx || db->request_tx;
    if (busy != db->counted_busy)
        atomic_fetch_add_explicit(&db_busy, busy ? 1 : -1, memory_order_relaxed);
    db->counted_busy = busy;
}

static long long monotonic_ns(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* Observes the latency of a round trip begun at t0; returns the time now. */
static long long statement_timed(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    bw_metrics_hist_observe(&db_statement_latency, (double)(now.tv_sec - t0->tv_sec) +
                                                       (double)(now.tv_nsec - t0->tv_nsec) / 1e9);
    return monotonic_ns(&now);
}

void bw_db_metrics(bw_metrics_text_t *t)
{
    long long open = atomic_load_explicit(&db_open, memory_order_relaxed);
    long long busy = atomic_load_explicit(&db_busy, memory_order_relaxed);
    if (busy > open)
        busy = open;
    bw_metrics_family(t, "bulwark_db_connections", "gauge",
                      "Database connections of this process: in use (in a transaction or running "
                      "a statement) or idle.");
    bw_metrics_printf(t, "bulwark_db_connections{state=\"in_use\"} %lld\n", busy);
    bw_metrics_printf(t, "bulwark_db_connections{state=\"idle\"} %lld\n", open - busy);
    bw_metrics_family(t, "bulwark_db_statement_duration_seconds", "histogram",
                      "Round trips that run statements (a pipeline counts once).");
    bw_metrics_put_hist(t, "bulwark_db_statement_duration_seconds", "", &db_statement_latency);
}

/* One statement of a pipeline and, once read, its result (caller clears). */
typedef struct pipe_step {
    const char *name;
    int n_values;
    const char *const *values;
    PGresult *res;
} pipe_step_t;

/* SQLSTATEs that are not bugs. A two-character code matches its whole
 * class; the first match wins, so exceptions to a class come first. */
static const struct {
    const char *code;
    int err;
} sqlstate_map[] = {
    {"23505", BW_EEXIST},    /* unique_violation */
    {"23503", BW_EINVAL},    /* foreign_key_violation */
    {"23514", BW_EINVAL},    /* check_violation */
    {"23502", BW_EINVAL},    /* not_null_violation */
    {"22012", BW_EINTERNAL}, /* division_by_zero: arithmetic in our SQL, not input */
    {"22", BW_EINVAL},       /* data exceptions: a value that does not parse or fit */
    {"40001", BW_ECONFLICT}, /* serialization_failure */
    {"40P01", BW_ECONFLICT}, /* deadlock_detected */
    {"57014", BW_ETIMEOUT},  /* query_canceled: statement_timeout */
    {"55P03", BW_ETIMEOUT},  /* lock_not_available: lock_timeout */
    {"08P01", BW_EINTERNAL}, /* protocol_violation: wrong parameter count */
    {"08", BW_EUNAVAIL},     /* connection exceptions */
    {"57P01", BW_EUNAVAIL},  /* admin_shutdown */
    {"57P02", BW_EUNAVAIL},  /* crash_shutdown */
    {"57P03", BW_EUNAVAIL},  /* cannot_connect_now */
    {"25006", BW_EUNAVAIL},  /* read_only_sql_transaction: a standby, after a failover */
    {"53300", BW_EUNAVAIL},  /* too_many_connections */
};

static int map_sqlstate(const char *code)
{
    for (size_t i = 0; i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++) {
        size_t len = strlen(sqlstate_map[i].code);
        if (strncmp(code, sqlstate_map[i].code, len) == 0)
            return sqlstate_map[i].err;
    }
    return BW_EINTERNAL;
}

static void clear_result(void *res)
{
    PQclear(res);
}

/* libpq's messages end in a newline and may span lines; keep the first. */
static void first_line(char *dst, size_t len, const char *msg)
{
    if (msg == NULL)
        msg = "";
    size_t n = strcspn(msg, "\r\n");
    if (n >= len)
        n = len - 1;
    memcpy(dst, msg, n);
    dst[n] = '\0';
}

/* Records a failed result (res may be NULL when libpq ran out of memory),
 * logs it and returns its BW_E* code. */
static int fail(bw_db_t *db, const PGresult *res, const char *stmt_name)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *constraint = res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state != NULL ? state : "");
    snprintf(db->constraint, sizeof(db->constraint), "%s", constraint != NULL ? constraint : "");

    int err;
    if (PQstatus(db->conn) == CONNECTION_BAD)
        err = BW_EUNAVAIL;
    else if (state != NULL && strcmp(state, "25006") == 0) {
        /* Connected to a server that is (now) a standby: reconnect. */
        db->broken = 1;
        err = BW_EUNAVAIL;
    } else if (state == NULL)
        err = res == NULL ? BW_ENOMEM : BW_EINTERNAL;
    else
        err = map_sqlstate(state);

    char msg[256];
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    first_line(msg, sizeof(msg), primary != NULL ? primary : PQerrorMessage(db->conn));
    switch (err) {
    case BW_EEXIST:
    case BW_EINVAL:
    case BW_ECONFLICT:
    case BW_ETIMEOUT:
        /* The primary message of these may quote the offending value. */
        bw_log(BW_LOG_DEBUG, db->log_ctx, "statement \"%s\" failed with SQLSTATE %s%s%s%s",
               stmt_name, db->sqlstate, *db->constraint ? " (constraint \"" : "", db->constraint,
               *db->constraint ? "\")" : "");
        break;
    case BW_EUNAVAIL:
        bw_log(BW_LOG_WARN, db->log_ctx, "lost the database connection during statement \"%s\": %s",
               stmt_name, msg);
        break;
    default:
        bw_log(BW_LOG_ERROR, db->log_ctx, "statement \"%s\" failed with SQLSTATE %s: %s", stmt_name,
               *db->sqlstate ? db->sqlstate : "(none)", msg);
        break;
    }
    return err;
}

static void notice_receiver(void *arg, const PGresult *res)
{
    const bw_db_t *db = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char msg[256];
    first_line(msg, sizeof(msg), PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    int level = severity != NULL && strcmp(severity, "WARNING") == 0 ? BW_LOG_WARN : BW_LOG_DEBUG;
    bw_log(level, db->log_ctx, "database %s: %s", severity != NULL ? severity : "NOTICE", msg);
}

static int check_role(bw_db_t *db)
{
    PGresult *res = PQexec(db->conn, "SELECT current_user, rolbypassrls OR rolsuper "
                                     "FROM pg_roles WHERE rolname = current_user");
    int err = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        err = fail(db, res, "role check");
        if (err == 0)
            err = BW_EINTERNAL;
    } else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        bw_log(BW_LOG_ERROR, db->log_ctx,
               "role %s bypasses row-level security; connect the services as a role without "
               "SUPERUSER or BYPASSRLS",
               PQgetvalue(res, 0, 0));
        err = BW_EPERM;
    }
    PQclear(res);
    return err;
}

static int prepare_one(bw_db_t *db, const bw_db_stmt_t *stmt)
{
    PGresult *res = PQprepare(db->conn, stmt->name, stmt->sql, 0, NULL);
    int err = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = fail(db, res, stmt->name);
        /* A statement that does not prepare is a bug even when its SQLSTATE
         * would map to bad input. */
        if (err != BW_EUNAVAIL && err != BW_ENOMEM)
            err = BW_EINTERNAL;
    }
    PQclear(res);
    return err;
}

/* LISTEN on db->listen. */
static int listen_on(bw_db_t *db)
{
    char *name = PQescapeIdentifier(db->conn, db->listen, strlen(db->listen));
    if (name == NULL)
        return BW_ENOMEM;
    char sql[160];
    int n = snprintf(sql, sizeof(sql), "LISTEN %s", name);
    PQfreemem(name);
    if (n < 0 || (size_t)n >= sizeof(sql))
        return BW_EINVAL;
    PGresult *res = PQexec(db->conn, sql);
    int err = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : fail(db, res, "listen");
    PQclear(res);
    return err;
}

/* Checks the role, prepares every statement and listens on a fresh
 * session. */
static int session_setup(bw_db_t *db)
{
    int err = 0;
    if (!db->allow_bypassrls) {
        err = check_role(db);
        if (err != 0)
            return err;
    }
    /* Every statement is a short index lookup. JIT compilation pays off for
     * long analytic queries only, and a plan whose estimate crosses
     * jit_above_cost (a list joining a view whose statistics are skewed) would
     * spend hundreds of milliseconds compiling it on the request's path. */
    PGresult *res = PQexec(db->conn, "SET jit = off");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        err = fail(db, res, "session set-up");
    PQclear(res);
    if (err != 0)
        return err;
    for (size_t i = 0; i < INTERNAL_COUNT && err == 0; i++)
        err = prepare_one(db, &internal_stmts[i]);
    for (size_t i = 0; i < db->n_stmts && err == 0; i++)
        err = prepare_one(db, db->stmts[i]);
    return err != 0 || db->listen == NULL ? err : listen_on(db);
}

/* An idle connection normally has nothing to read; input on it is either a
 * harmless asynchronous message or the server's goodbye followed by EOF. */
static int connection_dead(PGconn *conn)
{
    for (int i = 0; i < BW_DB_PROBE_READS; i++) {
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if (pfd.fd < 0)
            return 1;
        int n = poll(&pfd, 1, 0);
        if (n < 0)
            return errno == EINTR ? 0 : 1;
        if (n == 0)
            return 0;
        if (pfd.revents & (POLLERR | POLLNVAL))
            return 1;
        if (!PQconsumeInput(conn) || PQstatus(conn) == CONNECTION_BAD)
            return 1;
    }
    return 0;
}

/* Makes sure the connection is usable before a request, reconnecting when
 * the server went away. Never called inside a transaction: a transaction
 * does not survive its connection. */
static int ensure_alive(bw_db_t *db)
{
    if (!db->broken && PQstatus(db->conn) == CONNECTION_OK) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (db->answered_ns != 0 && monotonic_ns(&now) - db->answered_ns < BW_DB_PROBE_IDLE_NS)
            return 0;
        if (!connection_dead(db->conn))
            return 0;
    }
    bw_log(BW_LOG_WARN, db->log_ctx, "database connection lost, reconnecting");
    PQreset(db->conn);
    db->broken = 0;
    if (PQstatus(db->conn) != CONNECTION_OK) {
        char msg[256];
        first_line(msg, sizeof(msg), PQerrorMessage(db->conn));
        bw_log(BW_LOG_WARN, db->log_ctx, "could not reconnect to the database: %s", msg);
        db->broken = 1;
        return BW_EUNAVAIL;
    }
    int err = session_setup(db);
    if (err != 0) {
        db->broken = 1;
        return err;
    }
    bw_log(BW_LOG_WARN, db->log_ctx, "reconnected to the database");
    db->missed = db->listen != NULL;
    return 0;
}

/* Forgets what bw_db_exec_later queued: the transaction ends without it. */
static void later_drop(bw_db_t *db)
{
    db->n_later = 0;
}

/* Leaves the connection outside any transaction. */
static void rollback_if_needed(bw_db_t *db)
{
    later_drop(db);
    if (db->broken || PQstatus(db->conn) != CONNECTION_OK)
        return;
    PGTransactionStatusType ts = PQtransactionStatus(db->conn);
    if (ts == PQTRANS_IDLE)
        return;
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) {
        db->broken = 1;
        return;
    }
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        db->broken = 1;
    PQclear(res);
}

/* Sends the steps as one pipeline closed by one Sync and reads every result
 * into steps[i].res (the caller clears them). Returns 0 when every step
 * succeeded, else the code of the first failure. */
static int pipeline_send(bw_db_t *db, pipe_step_t *steps, int n)
{
    PGconn *conn = db->conn;
    int err = 0;
    int synced = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (!PQenterPipelineMode(conn)) {
        bw_log(BW_LOG_ERROR, db->log_ctx, "could not enter pipeline mode: the connection is busy");
        db->broken = 1;
        return BW_EINTERNAL;
    }
    for (int i = 0; i < n; i++) {
        if (!PQsendQueryPrepared(conn, steps[i].name, steps[i].n_values, steps[i].values, NULL,
                                 NULL, 0)) {
            db->broken = 1;
            return fail(db, NULL, steps[i].name);
        }
    }
    if (!PQpipelineSync(conn)) {
        db->broken = 1;
        return fail(db, NULL, "sync");
    }

    /* Each step yields its result then NULL; the Sync yields PIPELINE_SYNC.
     * The bound only stops a confused connection from spinning. */
    int idx = 0;
    for (int guard = 0; guard < 4 * n + 8; guard++) {
        PGresult *res = PQgetResult(conn);
        if (res == NULL) {
            if (PQstatus(conn) == CONNECTION_BAD)
                break;
            idx++;
            continue;
        }
        if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            synced = 1;
            break;
        }
        if (idx < n && steps[idx].res == NULL)
            steps[idx].res = res;
        else
            PQclear(res);
    }
    if (!synced || !PQexitPipelineMode(conn))
        db->broken = 1;
    long long answered = statement_timed(&t0);
    db->answered_ns = db->broken ? 0 : answered;

    for (int i = 0; i < n && err == 0; i++) {
        ExecStatusType st = PQresultStatus(steps[i].res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            continue;
        /* An aborted step is the echo of an earlier failure. */
        if (st == PGRES_PIPELINE_ABORTED)
            continue;
        if (steps[i].res == NULL && PQstatus(conn) != CONNECTION_BAD)
            continue;
        err = fail(db, steps[i].res, steps[i].name);
    }
    if (err == 0 && db->broken) {
        err = PQstatus(conn) == CONNECTION_BAD ? BW_EUNAVAIL : BW_EINTERNAL;
        if (err == BW_EUNAVAIL)
            bw_log(BW_LOG_WARN, db->log_ctx, "lost the database connection during a pipeline");
        else
            bw_log(BW_LOG_ERROR, db->log_ctx, "the database pipeline ended in an unexpected state");
    }
    return err;
}

static void clear_steps(pipe_step_t *steps, int n)
{
    for (int i = 0; i < n; i++) {
        PQclear(steps[i].res);
        steps[i].res = NULL;
    }
}

/* pipeline_send, after the statements bw_db_exec_later queued: in the same
 * round trip when the steps are few, else in one of their own first. A
 * failure among the queued ones is returned (and sets later_failed); the
 * steps after it come back aborted. */
static int pipeline_run(bw_db_t *db, pipe_step_t *steps, int n)
{
    db->later_failed = 0;
    int k = db->n_later;
    if (k <= 0 || k > BW_DB_LATER_MAX)
        return pipeline_send(db, steps, n);
    pipe_step_t all[BW_DB_LATER_MAX + BW_DB_FOLD_MAX];
    int fold = n >= 0 && n <= BW_DB_FOLD_MAX ? n : 0;
    for (int i = 0; i < k; i++)
        all[i] = (pipe_step_t){db->later[i].name, db->later[i].n_values, db->later[i].values, NULL};
    for (int i = 0; i < fold; i++)
        all[k + i] = steps[i];
    db->n_later = 0;
    int err = pipeline_send(db, all, k + fold);
    for (int i = 0; i < k; i++) {
        ExecStatusType st = PQresultStatus(all[i].res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            db->later_failed = 1;
    }
    clear_steps(all, k);
    for (int i = 0; i < fold; i++)
        steps[i].res = all[k + i].res;
    if (err != 0 || fold == n)
        return err;
    return pipeline_send(db, steps, n);
}

/* Runs one prepared statement (after the queued ones, in its round trip)
 * into *out, which the caller clears, even on failure. Returns 0 or the
 * code of the first failure, logged. */
static int exec_prepared(bw_db_t *db, const char *name, int n_values, const char *const *values,
                         PGresult **out)
{
    if (db->n_later > 0) {
        pipe_step_t step = {name, n_values, values, NULL};
        int err = pipeline_run(db, &step, 1);
        *out = step.res;
        return err;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *out = PQexecPrepared(db->conn, name, n_values, values, NULL, NULL, 0);
    long long answered = statement_timed(&t0);
    ExecStatusType st = PQresultStatus(*out);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail(db, *out, name);
    db->answered_ns = answered;
    return 0;
}

static void forget_error(bw_db_t *db)
{
    db->sqlstate[0] = '\0';
    db->constraint[0] = '\0';
}

static int check_call(const bw_db_t *db, bw_arena_t *arena, const bw_db_stmt_t *stmt, int n_values,
                      const char *const *values, PGresult **res)
{
    if (db == NULL || stmt == NULL || stmt->name == NULL || n_values < 0 ||
        n_values > BW_DB_MAX_PARAMS || (n_values > 0 && values == NULL) ||
        (res != NULL && arena == NULL))
        return BW_EINVAL;
    return 0;
}

/* Hands the statement's result to the arena, or clears it when not wanted. */
static int deliver(bw_arena_t *arena, PGresult *result, PGresult **res)
{
    if (res == NULL) {
        PQclear(result);
        return 0;
    }
    int err = bw_arena_on_cleanup(arena, clear_result, result);
    if (err != 0)
        return err;
    *res = result;
    return 0;
}

PGconn *bw_db_pq_connect(const char *conninfo)
{
    /* Defaults first: the URL's own settings, expanded from dbname, win. */
    static const char *const keys[] = {"connect_timeout",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "tcp_user_timeout",
                                       "dbname",
                                       NULL};
    const char *const values[] = {
        BW_DB_CONNECT_TIMEOUT_SEC, "10", "2", "3", "15000", conninfo, NULL};
    return PQconnectdbParams(keys, values, 1);
}

int bw_db_open(const char *conninfo, const bw_db_stmt_t *const *stmts, size_t n_stmts,
               int allow_bypassrls, bw_db_t **out)
{
    if (out == NULL)
        return BW_EINVAL;
    *out = NULL;
    if (conninfo == NULL || (n_stmts > 0 && stmts == NULL))
        return BW_EINVAL;
    for (size_t i = 0; i < n_stmts; i++) {
        if (stmts[i] == NULL || stmts[i]->name == NULL || stmts[i]->sql == NULL)
            return BW_EINVAL;
        for (size_t j = 0; j < INTERNAL_COUNT; j++) {
            if (strcmp(stmts[i]->name, internal_stmts[j].name) == 0) {
                bw_log(BW_LOG_ERROR, NULL, "statement name \"%s\" is reserved", stmts[i]->name);
                return BW_EINVAL;
            }
        }
    }
    /* Parse first so that a malformed string is bad input, not an outage;
     * libpq's parse error is not shown because it may quote the password. */
    char *parse_err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_err);
    if (opts == NULL) {
        bw_log(BW_LOG_ERROR, NULL, "invalid database connection string");
        PQfreemem(parse_err);
        return parse_err != NULL ? BW_EINVAL : BW_ENOMEM;
    }
    PQconninfoFree(opts);

    bw_db_t *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return BW_ENOMEM;
    db->stmts = stmts;
    db->n_stmts = n_stmts;
    db->tenant_values[0] = db->tenant;
    db->allow_bypassrls = allow_bypassrls;
    db->conn = bw_db_pq_connect(conninfo);
    if (db->conn == NULL) {
        free(db);
        return BW_ENOMEM;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        char msg[256];
        first_line(msg, sizeof(msg), PQerrorMessage(db->conn));
        bw_log(BW_LOG_ERROR, NULL, "could not connect to the database: %s", msg);
        bw_db_close(db);
        return BW_EUNAVAIL;
    }
    /* Survives PQreset, like the rest of the connection's settings. */
    PQsetNoticeReceiver(db->conn, notice_receiver, db);
    atomic_fetch_add_explicit(&db_open, 1, memory_order_relaxed);
    db->counted_open = 1;
    int err = session_setup(db);
    if (err != 0) {
        bw_db_close(db);
        return err;
    }
    *out = db;
    return 0;
}

void bw_db_close(bw_db_t *db)
{
    if (db == NULL)
        return;
    if (db->counted_busy)
        atomic_fetch_sub_explicit(&db_busy, 1, memory_order_relaxed);
    if (db->counted_open)
        atomic_fetch_sub_explicit(&db_open, 1, memory_order_relaxed);
    PQfinish(db->conn);
    free(db);
}

int bw_db_listen(bw_db_t *db, const char *channel)
{
    if (db == NULL || channel == NULL || db->listen != NULL)
        return BW_EINVAL;
    db->listen = channel;
    int err = listen_on(db);
    if (err != 0)
        db->listen = NULL;
    return err;
}

int bw_db_notification(bw_db_t *db, char *payload, size_t len)
{
    if (db->missed) {
        db->missed = 0;
        return -1;
    }
    PGnotify *n = PQnotifies(db->conn);
    if (n == NULL)
        return 0;
    snprintf(payload, len, "%s", n->extra);
    PQfreemem(n);
    return 1;
}

void bw_db_set_log_ctx(bw_db_t *db, const bw_log_ctx_t *ctx)
{
    if (db != NULL)
        db->log_ctx = ctx;
}

int bw_db_ping(bw_db_t *db)
{
    if (db == NULL)
        return BW_EINVAL;
    if (!db->in_tx) {
        int err = ensure_alive(db);
        if (err != 0)
            return err;
    }
    PGresult *res = PQexec(db->conn, "SELECT 1");
    int err = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        err = fail(db, res, "ping");
    PQclear(res);
    return err;
}

/* Runs one internal statement in the open transaction. */
static int exec_internal(bw_db_t *db, int which, int n_values, const char *const *values)
{
    if (db->broken || PQstatus(db->conn) != CONNECTION_OK)
        return BW_EUNAVAIL;
    PGresult *res;
    int err = exec_prepared(db, internal_stmts[which].name, n_values, values, &res);
    PQclear(res);
    return err;
}

/* Switches the request transaction to another tenant (a tenant being
 * created sets its own id). */
static int request_set_tenant(bw_db_t *db, const char *tenant_id)
{
    if (tenant_id == NULL || strcmp(tenant_id, db->tenant) == 0)
        return 0;
    if (strlen(tenant_id) >= sizeof(db->tenant))
        return BW_EINVAL;
    const char *values[1] = {tenant_id};
    int err = exec_internal(db, INTERNAL_SET_TENANT, 1, values);
    if (err == 0)
        snprintf(db->tenant, sizeof(db->tenant), "%s", tenant_id);
    return err;
}

/* exec1 inside a request transaction: the statement under a savepoint, in
 * one round trip, so that its failure undoes only itself, as it would on
 * its own. */
static int exec_in_request(bw_db_t *db, bw_arena_t *arena, const char *tenant_id,
                           const bw_db_stmt_t *stmt, int n_values, const char *const *values,
                           PGresult **res)
{
    int err = request_set_tenant(db, tenant_id);
    if (err != 0)
        return err;
    pipe_step_t steps[3] = {{internal_stmts[INTERNAL_SAVEPOINT].name, 0, NULL, NULL},
                            {stmt->name, n_values, values, NULL},
                            {internal_stmts[INTERNAL_RELEASE].name, 0, NULL, NULL}};
    err = pipeline_run(db, steps, 3);
    if (err != 0) {
        clear_steps(steps, 3);
        /* A queued statement that failed before the savepoint was set
         * leaves the whole transaction to the rollback. */
        if (!db->broken && !db->later_failed &&
            exec_internal(db, INTERNAL_ROLLBACK_TO, 0, NULL) != 0)
            db->broken = 1;
        return err;
    }
    PGresult *result = steps[1].res;
    steps[1].res = NULL;
    clear_steps(steps, 3);
    return deliver(arena, result, res);
}

/* BEGIN and the tenant setting are queued: they go with the transaction's
 * first statement (or its COMMIT), and a request refused before any
 * statement costs no round trip. */
static int request_begin(bw_db_t *db, const char *tenant_id)
{
    if (db == NULL || db->request_tx || db->in_tx)
        return BW_EINTERNAL;
    if (tenant_id != NULL && strlen(tenant_id) >= sizeof(db->tenant))
        return BW_EINVAL;
    forget_error(db);
    db->ahead = NULL;
    later_drop(db);
    int err = ensure_alive(db);
    if (err != 0)
        return err;
    db->later[db->n_later++] = (struct later_step){internal_stmts[INTERNAL_BEGIN].name, 0, NULL};
    if (tenant_id != NULL)
        db->later[db->n_later++] =
            (struct later_step){internal_stmts[INTERNAL_SET_TENANT].name, 1, db->tenant_values};
    db->in_tx = 0;
    db->tx_err = 0;
    db->request_tx = 1;
    snprintf(db->tenant, sizeof(db->tenant), "%s", tenant_id != NULL ? tenant_id : "");
    return 0;
}

static int request_end(bw_db_t *db, int commit)
{
    if (db == NULL || !db->request_tx)
        return BW_EINTERNAL;
    db->request_tx = 0; /* tenant stays: a queued tenant setting may still read it */
    if (db->in_tx) {
        bw_log(BW_LOG_ERROR, db->log_ctx, "a transaction was left open inside a request");
        commit = 0;
    }
    db->in_tx = 1;
    if (commit)
        return bw_db_commit(db);
    bw_db_rollback(db);
    return 0;
}

const char *bw_db_request_tenant(const bw_db_t *db)
{
    return db != NULL && db->request_tx && db->tenant[0] != '\0' ? db->tenant : NULL;
}

/* Whether item answers this statement: an answer read for the same
 * tenant, statement and values. */
static int ahead_matches(const bw_db_ahead_t *item, const char *tenant_id, const bw_db_stmt_t *stmt,
                         int n_values, const char *const *values)
{
    if (item == NULL || item->res == NULL || item->stmt != stmt || item->n_values != n_values)
        return 0;
    if ((item->tenant_id == NULL) != (tenant_id == NULL) ||
        (tenant_id != NULL && strcmp(item->tenant_id, tenant_id) != 0))
        return 0;
    for (int i = 0; i < n_values; i++)
        if ((item->values[i] == NULL) != (values[i] == NULL) ||
            (values[i] != NULL && strcmp(item->values[i], values[i]) != 0))
            return 0;
    return 1;
}

/* Whether an item goes out: it has a tenant (its statement would otherwise
 * run under the previous item's setting), a statement and values within
 * bounds. The others are left without an answer. */
static int ahead_sent(const bw_db_ahead_t *a)
{
    return a->tenant_id != NULL && a->stmt != NULL && a->stmt->name != NULL && a->n_values >= 0 &&
           a->n_values <= BW_DB_AHEAD_MAX_VALUES;
}

/* Reads the answers of the items sent in one pipeline closed by one Sync:
 * per item the tenant setting's result and the statement's, each followed
 * by NULL (after a failure, the rest are PIPELINE_ABORTED), then
 * PIPELINE_SYNC. Returns 0, or -1 when the pipeline did not end as sent. */
static int ahead_read(PGconn *conn, bw_db_ahead_t *const *items, int n)
{
    for (int i = 0; i < n; i++) {
        if (!ahead_sent(items[i]))
            continue;
        for (int step = 0; step < 2; step++) {
            PGresult *r = PQgetResult(conn);
            if (r == NULL)
                return -1;
            if (step == 1 && PQresultStatus(r) == PGRES_TUPLES_OK)
                items[i]->res = r;
            else
                PQclear(r);
            if (PQgetResult(conn) != NULL)
                return -1;
        }
    }
    PGresult *sync = PQgetResult(conn);
    int ok = sync != NULL && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    return ok ? 0 : -1;
}

void bw_db_ahead_run(bw_db_t *db, bw_db_ahead_t *const *items, int n)
{
    int sent = 0;
    for (int i = 0; i < n; i++)
        sent += ahead_sent(items[i]);
    if (db == NULL || sent == 0 || db->in_tx || db->request_tx)
        return;
    count_busy(db, 1);
    forget_error(db);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ensure_alive(db) != 0 || !PQenterPipelineMode(db->conn)) {
        count_busy(db, 0);
        return;
    }
    /* One Sync for all (libpq 15 sends at every PQpipelineSync): one
     * implicit transaction in which each statement runs after its own
     * tenant setting. A failure aborts the statements after it, whose
     * requests then run their own. */
    PGconn *conn = db->conn;
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const bw_db_ahead_t *a = items[i];
        const char *tenant_values[1] = {a->tenant_id};
        ok = !ahead_sent(a) ||
             (PQsendQueryPrepared(conn, internal_stmts[INTERNAL_SET_TENANT].name, 1, tenant_values,
                                  NULL, NULL, 0) &&
              PQsendQueryPrepared(conn, a->stmt->name, a->n_values, a->values, NULL, NULL, 0));
    }
    if (!ok || !PQpipelineSync(conn) || ahead_read(conn, items, n) != 0 ||
        !PQexitPipelineMode(conn)) {
        db->broken = 1;
        for (int i = 0; i < n; i++) {
            PQclear(items[i]->res);
            items[i]->res = NULL;
        }
    }
    long long answered = statement_timed(&t0);
    db->answered_ns = db->broken ? 0 : answered;
    count_busy(db, 0);
}

void bw_db_ahead_use(bw_db_t *db, bw_db_ahead_t *item)
{
    if (db != NULL)
        db->ahead = item;
}

static int exec1(bw_db_t *db, bw_arena_t *arena, const char *tenant_id, const bw_db_stmt_t *stmt,
                 int n_values, const char *const *values, PGresult **res)
{
    if (res != NULL)
        *res = NULL;
    int err = check_call(db, arena, stmt, n_values, values, res);
    if (err != 0)
        return err;
    forget_error(db);
    if (db->in_tx) {
        bw_log(BW_LOG_ERROR, db->log_ctx, "statement \"%s\" run on its own inside a transaction",
               stmt->name);
        return BW_EINTERNAL;
    }
    if (db->request_tx)
        return exec_in_request(db, arena, tenant_id, stmt, n_values, values, res);
    bw_db_ahead_t *ahead = db->ahead;
    db->ahead = NULL;
    if (ahead_matches(ahead, tenant_id, stmt, n_values, values)) {
        PGresult *result = ahead->res;
        ahead->res = NULL;
        return deliver(arena, result, res);
    }
    err = ensure_alive(db);
    if (err != 0)
        return err;

    /* The statements between two Syncs of the extended protocol form one
     * implicit transaction: the tenant setting (local to it) and the
     * statement commit together at the Sync, or not at all. */
    const char *tenant_values[1] = {tenant_id};
    pipe_step_t steps[2];
    int n = 0;
    if (tenant_id != NULL)
        steps[n++] =
            (pipe_step_t){internal_stmts[INTERNAL_SET_TENANT].name, 1, tenant_values, NULL};
    int stmt_idx = n;
    steps[n++] = (pipe_step_t){stmt->name, n_values, values, NULL};

    err = pipeline_run(db, steps, n);
    if (err != 0) {
        rollback_if_needed(db);
        clear_steps(steps, n);
        return err;
    }
    PGresult *result = steps[stmt_idx].res;
    steps[stmt_idx].res = NULL;
    clear_steps(steps, n);
    return deliver(arena, result, res);
}

static int begin_tx(bw_db_t *db, const char *tenant_id)
{
    if (db == NULL)
        return BW_EINVAL;
    forget_error(db);
    db->ahead = NULL;
    if (db->in_tx) {
        bw_log(BW_LOG_ERROR, db->log_ctx, "transaction begun inside a transaction");
        return BW_EINTERNAL;
    }
    if (db->request_tx) {
        int err = request_set_tenant(db, tenant_id);
        if (err == 0)
            err = exec_internal(db, INTERNAL_SAVEPOINT, 0, NULL);
        if (err != 0)
            return err;
        db->in_tx = 1;
        db->tx_err = 0;
        return 0;
    }
    int err = ensure_alive(db);
    if (err != 0)
        return err;
    const char *tenant_values[1] = {tenant_id};
    pipe_step_t steps[2] = {{internal_stmts[INTERNAL_BEGIN].name, 0, NULL, NULL},
                            {internal_stmts[INTERNAL_SET_TENANT].name, 1, tenant_values, NULL}};
    err = pipeline_run(db, steps, tenant_id != NULL ? 2 : 1);
    clear_steps(steps, 2);
    if (err != 0) {
        rollback_if_needed(db);
        return err;
    }
    db->in_tx = 1;
    db->tx_err = 0;
    return 0;
}

int bw_db_exec(bw_db_t *db, bw_arena_t *arena, const bw_db_stmt_t *stmt, int n_values,
               const char *const *values, PGresult **res)
{
    if (res != NULL)
        *res = NULL;
    int err = check_call(db, arena, stmt, n_values, values, res);
    if (err != 0)
        return err;
    if (!db->in_tx && !db->request_tx) {
        bw_log(BW_LOG_ERROR, db->log_ctx, "statement \"%s\" run outside a transaction", stmt->name);
        return BW_EINTERNAL;
    }
    if (db->broken || PQstatus(db->conn) != CONNECTION_OK) {
        db->tx_err = db->tx_err != 0 ? db->tx_err : BW_EUNAVAIL;
        return BW_EUNAVAIL;
    }
    PGresult *result;
    if ((err = exec_prepared(db, stmt->name, n_values, values, &result)) != 0) {
        PQclear(result);
        if (db->tx_err == 0)
            db->tx_err = err;
        return err;
    }
    return deliver(arena, result, res);
}

int bw_db_exec_later(bw_db_t *db, bw_arena_t *arena, const bw_db_stmt_t *stmt, int n_values,
                     const char *const *values)
{
    int err = check_call(db, arena, stmt, n_values, values, NULL);
    if (err != 0)
        return err;
    if (arena == NULL || n_values > BW_DB_LATER_VALUES_MAX || (!db->in_tx && !db->request_tx)) {
        bw_log(BW_LOG_ERROR, db->log_ctx,
               "statement \"%s\" cannot wait for the next round trip (no transaction, no arena "
               "or over %d values)",
               stmt->name, BW_DB_LATER_VALUES_MAX);
        return BW_EINTERNAL;
    }
    if (db->broken || PQstatus(db->conn) != CONNECTION_OK) {
        db->tx_err = db->tx_err != 0 ? db->tx_err : BW_EUNAVAIL;
        return BW_EUNAVAIL;
    }
    if (db->n_later == BW_DB_LATER_MAX && (err = pipeline_run(db, NULL, 0)) != 0) {
        if (db->tx_err == 0)
            db->tx_err = err;
        return err;
    }
    const char **copy =
        bw_arena_alloc(arena, (size_t)(n_values > 0 ? n_values : 1) * sizeof(*copy));
    if (copy == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < n_values; i++) {
        copy[i] = values[i] != NULL ? bw_arena_strdup(arena, values[i]) : NULL;
        if (values[i] != NULL && copy[i] == NULL)
            return BW_ENOMEM;
    }
    db->later[db->n_later++] = (struct later_step){stmt->name, n_values, copy};
    return 0;
}

static int commit_tx(bw_db_t *db)
{
    if (db == NULL)
        return BW_EINVAL;
    if (!db->in_tx) {
        bw_log(BW_LOG_ERROR, db->log_ctx, "commit outside a transaction");
        return BW_EINTERNAL;
    }
    int tx_err = db->tx_err;
    db->in_tx = 0;
    db->tx_err = 0;
    if (db->broken || PQstatus(db->conn) != CONNECTION_OK) {
        later_drop(db);
        return BW_EUNAVAIL;
    }
    if (db->request_tx) {
        /* The request transaction commits later, with its audit row. */
        if (tx_err != 0) {
            exec_internal(db, INTERNAL_ROLLBACK_TO, 0, NULL);
            return tx_err;
        }
        return exec_internal(db, INTERNAL_RELEASE, 0, NULL);
    }

    /* The statements queued by bw_db_exec_later go with the COMMIT. */
    PGresult *res;
    int err = exec_prepared(db, internal_stmts[INTERNAL_COMMIT].name, 0, NULL, &res);
    if (err == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        /* The server answers ROLLBACK to the COMMIT of a failed transaction. */
        bw_log(BW_LOG_ERROR, db->log_ctx, "commit of a failed transaction rolled it back");
        err = tx_err != 0 ? tx_err : BW_EINTERNAL;
    }
    PQclear(res);
    if (err != 0)
        rollback_if_needed(db);
    return err;
}

static void rollback_tx(bw_db_t *db)
{
    if (db == NULL)
        return;
    int inner = db->in_tx && db->request_tx;
    db->in_tx = 0;
    db->tx_err = 0;
    if (inner) {
        if ((exec_internal(db, INTERNAL_ROLLBACK_TO, 0, NULL) != 0 ||
             exec_internal(db, INTERNAL_RELEASE, 0, NULL) != 0) &&
            !db->later_failed)
            db->broken = 1;
        return;
    }
    if (db->request_tx)
        return; /* the request transaction rolls back as a whole */
    rollback_if_needed(db);
}

/* The public entry points that change whether a connection is in use. */
int bw_db_request_begin(bw_db_t *db, const char *tenant_id)
{
    int err = request_begin(db, tenant_id);
    if (db != NULL)
        count_busy(db, 0);
    return err;
}

int bw_db_request_end(bw_db_t *db, int commit)
{
    int err = request_end(db, commit);
    if (db != NULL)
        count_busy(db, 0);
    return err;
}

int bw_db_exec1(bw_db_t *db, bw_arena_t *arena, const char *tenant_id, const bw_db_stmt_t *stmt,
                int n_values, const char *const *values, PGresult **res)
{
    if (db != NULL)
        count_busy(db, 1);
    int err = exec1(db, arena, tenant_id, stmt, n_values, values, res);
    if (db != NULL)
        count_busy(db, 0);
    return err;
}

int bw_db_begin(bw_db_t *db, const char *tenant_id)
{
    int err = begin_tx(db, tenant_id);
    if (db != NULL)
        count_busy(db, 0);
    return err;
}

int bw_db_commit(bw_db_t *db)
{
    int err = commit_tx(db);
    if (db != NULL)
        count_busy(db, 0);
    return err;
}

void bw_db_rollback(bw_db_t *db)
{
    rollback_tx(db);
    if (db != NULL)
        count_busy(db, 0);
}

const char *bw_db_last_sqlstate(const bw_db_t *db)
{
    return db != NULL ? db->sqlstate : "";
}

const char *bw_db_last_constraint(const bw_db_t *db)
{
    return db != NULL ? db->constraint : "";
}
