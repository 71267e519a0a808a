/*
 * common/db.c against the real database, as the services' role: tenant
 * isolation through exec1, error mapping and constraint names, transactions,
 * that the tenant setting never outlives its transaction, transparent
 * statements queued for the next round trip (bw_db_exec_later), transparent
 * reconnection after the backend is terminated, refusal of roles that
 * bypass row-level security, and reads run ahead (several requests' first
 * statements in one pipeline, each answering only its own request). The
 * suite owns a scratch schema, created like a service's (tenant_id first in
 * the key, RLS forced, granted to the group role of
 * BULWARK_TEST_DATABASE_URL, scoping's) and dropped when the suite ends.
 */
#include "db.h"
#include "status.h"
#include "testkit.h"
#include "times.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const scratch_ddl =
    "DROP SCHEMA IF EXISTS bw_itest_db CASCADE;"
    "CREATE SCHEMA bw_itest_db;"
    "CREATE TABLE bw_itest_db.items ("
    "  tenant_id uuid NOT NULL,"
    "  id text NOT NULL,"
    "  label text NOT NULL,"
    "  qty int NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (tenant_id, id),"
    "  CONSTRAINT items_label_key UNIQUE (tenant_id, label),"
    "  CONSTRAINT items_qty_nonneg CHECK (qty >= 0));"
    "ALTER TABLE bw_itest_db.items ENABLE ROW LEVEL SECURITY;"
    "ALTER TABLE bw_itest_db.items FORCE ROW LEVEL SECURITY;"
    "CREATE POLICY tenant_isolation ON bw_itest_db.items"
    "  USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);"
    "GRANT USAGE ON SCHEMA bw_itest_db TO bulwark_scoping;"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON bw_itest_db.items TO bulwark_scoping;";

static const bw_db_stmt_t st_insert = {
    "itest_insert",
    "INSERT INTO bw_itest_db.items (tenant_id, id, label, qty) VALUES ($1, $2, $3, $4)"};
static const bw_db_stmt_t st_list = {
    "itest_list", "SELECT tenant_id, id, label FROM bw_itest_db.items ORDER BY id"};
static const bw_db_stmt_t st_tenant = {"itest_tenant",
                                       "SELECT current_setting('bulwark.tenant_id', true)"};
static const bw_db_stmt_t st_pid = {"itest_pid", "SELECT pg_backend_pid()"};
static const bw_db_stmt_t st_is_null = {"itest_is_null", "SELECT $1::text IS NULL"};
static const bw_db_stmt_t st_suicide = {"itest_suicide",
                                        "SELECT pg_terminate_backend(pg_backend_pid())"};
static const bw_db_stmt_t st_get = {
    "itest_get", "SELECT tenant_id, id, label, qty FROM bw_itest_db.items WHERE id = $1"};
static const bw_db_stmt_t st_divide = {"itest_divide", "SELECT 1 / $1::int"};
/* Deliberately missing from the table below. */
static const bw_db_stmt_t st_unprepared = {"itest_unprepared", "SELECT 1"};

static const bw_db_stmt_t *const stmts[] = {&st_insert,  &st_list,    &st_tenant, &st_pid,
                                            &st_is_null, &st_suicide, &st_get,    &st_divide};
#define N_STMTS (sizeof(stmts) / sizeof(stmts[0]))

static void scratch_create(void)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SET client_min_messages = warning");
    bw_test_exec(admin, scratch_ddl);
    PQfinish(admin);
}

static void scratch_drop(void)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SET client_min_messages = warning");
    bw_test_exec(admin, "DROP SCHEMA IF EXISTS bw_itest_db CASCADE");
    PQfinish(admin);
}

static bw_db_t *open_app(void)
{
    bw_db_t *db = NULL;
    int err = bw_db_open(bw_test_env("BULWARK_TEST_DATABASE_URL"), stmts, N_STMTS, 0, &db);
    ck_assert_msg(err == 0, "bw_db_open as the services' role: %s", bw_strerror(err));
    ck_assert_ptr_nonnull(db);
    return db;
}

static int insert(bw_db_t *db, const char *tenant, const char *id, const char *label,
                  const char *qty)
{
    const char *values[4] = {tenant, id, label, qty};
    return bw_db_exec1(db, NULL, tenant, &st_insert, 4, values, NULL);
}

/* Rows of the list statement as the tenant sees them; every row must carry
 * that tenant's id. */
static int count_rows(bw_db_t *db, const char *tenant)
{
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    int err = bw_db_exec1(db, arena, tenant, &st_list, 0, NULL, &res);
    ck_assert_msg(err == 0, "list as %s: %s", tenant ? tenant : "no tenant", bw_strerror(err));
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(PQgetvalue(res, i, 0), tenant);
    bw_arena_destroy(arena);
    return n;
}

/* current_setting('bulwark.tenant_id') as seen by a statement with tenant. */
static char *seen_tenant(bw_db_t *db, const char *tenant)
{
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    int err = bw_db_exec1(db, arena, tenant, &st_tenant, 0, NULL, &res);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(PQntuples(res), 1);
    char *value = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    bw_arena_destroy(arena);
    return value;
}

static long backend_pid(bw_db_t *db)
{
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_pid, 0, NULL, &res), 0);
    long pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    bw_arena_destroy(arena);
    return pid;
}

static void terminate_backend(long pid)
{
    char pid_text[24];
    snprintf(pid_text, sizeof(pid_text), "%ld", pid);
    /* Another role's backend: a superuser's business. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    /* The timeout makes the call wait until the backend is gone. */
    PGresult *res = bw_test_sql(admin, "SELECT pg_terminate_backend($1::int, 5000)", pid_text);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    PQfinish(admin);
}

/* Waits until the connection counts as idle (BW_DB_PROBE_IDLE_MS). */
static void idle_past_probe(void)
{
    usleep((BW_DB_PROBE_IDLE_MS + 50) * 1000);
}

START_TEST(test_exec1_returns_only_the_tenants_rows)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str(), *c = bw_test_uuid_str();
    ck_assert_int_eq(insert(db, a, "1", "a-one", "1"), 0);
    ck_assert_int_eq(insert(db, a, "2", "a-two", "2"), 0);
    ck_assert_int_eq(insert(db, b, "1", "b-one", "3"), 0);

    ck_assert_int_eq(count_rows(db, a), 2);
    ck_assert_int_eq(count_rows(db, b), 1);
    ck_assert_int_eq(count_rows(db, c), 0);

    /* Without a tenant nothing is visible, not everything. */
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_list, 0, NULL, &res), 0);
    ck_assert_int_eq(PQntuples(res), 0);
    ck_assert_int_eq(bw_db_exec1(db, arena, "", &st_list, 0, NULL, &res), 0);
    ck_assert_int_eq(PQntuples(res), 0);
    bw_arena_destroy(arena);

    /* Inserting another tenant's row under one's own tenant is refused. */
    const char *values[4] = {b, "9", "sneaky", "1"};
    ck_assert_int_ne(bw_db_exec1(db, NULL, a, &st_insert, 4, values, NULL), 0);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "42501");
    ck_assert_int_eq(count_rows(db, b), 1);

    free(a);
    free(b);
    free(c);
    bw_db_close(db);
}
END_TEST

START_TEST(test_exec1_parameters_and_results)
{
    bw_db_t *db = open_app();
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    const char *null_value[1] = {NULL};
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_is_null, 1, null_value, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    const char *text_value[1] = {"x"};
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_is_null, 1, text_value, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "f");
    /* The result is not wanted: no arena needed. */
    ck_assert_int_eq(bw_db_exec1(db, NULL, NULL, &st_is_null, 1, text_value, NULL), 0);

    /* Many results on one arena are all released with it (ASan checks). */
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_pid, 0, NULL, &res), 0);
    bw_arena_reset(arena);

    /* Bad calls are refused before anything is sent. */
    ck_assert_int_eq(bw_db_exec1(db, NULL, NULL, &st_pid, 0, NULL, &res), BW_EINVAL);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_is_null, -1, NULL, &res), BW_EINVAL);
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_is_null, 1, NULL, &res), BW_EINVAL);
    ck_assert_int_eq(bw_db_exec1(NULL, arena, NULL, &st_pid, 0, NULL, &res), BW_EINVAL);
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, NULL, 0, NULL, &res), BW_EINVAL);

    /* A wrong parameter count is a bug, and the connection survives it. */
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_is_null, 0, NULL, &res), BW_EINTERNAL);
    ck_assert_ptr_null(res);
    /* So is a statement that was never prepared. */
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_unprepared, 0, NULL, &res), BW_EINTERNAL);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "26000");
    ck_assert_int_eq(bw_db_exec1(db, arena, NULL, &st_pid, 0, NULL, &res), 0);
    ck_assert_int_eq(PQntuples(res), 1);
    bw_arena_destroy(arena);
    bw_db_close(db);
}
END_TEST

START_TEST(test_unique_violation_is_eexist_and_connection_stays_usable)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    ck_assert_str_eq(bw_db_last_sqlstate(db), "");
    ck_assert_str_eq(bw_db_last_constraint(db), "");
    ck_assert_int_eq(insert(db, a, "1", "same", "1"), 0);

    ck_assert_int_eq(insert(db, a, "2", "same", "1"), BW_EEXIST);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "23505");
    ck_assert_str_eq(bw_db_last_constraint(db), "items_label_key");

    ck_assert_int_eq(insert(db, a, "1", "other", "1"), BW_EEXIST);
    ck_assert_str_eq(bw_db_last_constraint(db), "items_pkey");

    /* The failed inserts left nothing behind and the next call works. */
    ck_assert_int_eq(count_rows(db, a), 1);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "");
    ck_assert_str_eq(bw_db_last_constraint(db), "");
    /* Uniqueness is per tenant. */
    ck_assert_int_eq(insert(db, b, "1", "same", "1"), 0);
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    bw_db_rollback(db);
    free(a);
    free(b);
    bw_db_close(db);
}
END_TEST

START_TEST(test_bad_values_are_einval)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    ck_assert_int_eq(insert(db, a, "1", "negative", "-1"), BW_EINVAL);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "23514");
    ck_assert_str_eq(bw_db_last_constraint(db), "items_qty_nonneg");

    ck_assert_int_eq(insert(db, a, "1", "not a number", "abc"), BW_EINVAL);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "22P02");

    ck_assert_int_eq(insert(db, a, "1", "too big", "99999999999"), BW_EINVAL);
    ck_assert_int_eq(insert(db, a, "1", NULL, "1"), BW_EINVAL);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "23502");

    /* A malformed tenant id fails closed. */
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    ck_assert_int_eq(bw_db_exec1(db, arena, "not-a-uuid", &st_list, 0, NULL, &res), BW_EINVAL);
    ck_assert_ptr_null(res);
    bw_arena_destroy(arena);

    ck_assert_int_eq(count_rows(db, a), 0);
    ck_assert_int_eq(insert(db, a, "1", "fine", "0"), 0);
    ck_assert_int_eq(count_rows(db, a), 1);
    free(a);
    bw_db_close(db);
}
END_TEST

START_TEST(test_tenant_setting_does_not_leak)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    ck_assert_int_eq(insert(db, a, "1", "x", "1"), 0);

    char *seen = seen_tenant(db, a);
    ck_assert_str_eq(seen, a);
    free(seen);
    seen = seen_tenant(db, NULL);
    ck_assert_str_eq(seen, "");
    free(seen);

    /* After a committed transaction. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_commit(db), 0);
    seen = seen_tenant(db, NULL);
    ck_assert_str_eq(seen, "");
    free(seen);

    /* After a rolled-back one. */
    ck_assert_int_eq(bw_db_begin(db, b), 0);
    bw_db_rollback(db);
    seen = seen_tenant(db, NULL);
    ck_assert_str_eq(seen, "");
    free(seen);

    /* After a failed exec1. */
    ck_assert_int_eq(insert(db, a, "1", "x", "1"), BW_EEXIST);
    seen = seen_tenant(db, NULL);
    ck_assert_str_eq(seen, "");
    free(seen);

    /* Each transaction sees its own tenant, never the previous one's. */
    seen = seen_tenant(db, b);
    ck_assert_str_eq(seen, b);
    free(seen);
    ck_assert_int_eq(count_rows(db, b), 0);
    ck_assert_int_eq(count_rows(db, a), 1);
    free(a);
    free(b);
    bw_db_close(db);
}
END_TEST

START_TEST(test_begin_exec_commit)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    const char *row1[4] = {a, "1", "one", "1"};
    const char *row2[4] = {a, "2", "two", "2"};

    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, row1, NULL), 0);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_insert, 4, row2, &res), 0);
    ck_assert_str_eq(PQcmdTuples(res), "1");
    ck_assert_int_eq(bw_db_exec(db, arena, &st_list, 0, NULL, &res), 0);
    ck_assert_int_eq(PQntuples(res), 2);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_tenant, 0, NULL, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), a);
    ck_assert_int_eq(bw_db_commit(db), 0);

    ck_assert_int_eq(count_rows(db, a), 2);
    bw_arena_destroy(arena);
    free(a);
    bw_db_close(db);
}
END_TEST

START_TEST(test_rollback_discards)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    const char *row1[4] = {a, "1", "one", "1"};
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, row1, NULL), 0);
    bw_db_rollback(db);
    ck_assert_int_eq(count_rows(db, a), 0);

    /* A rollback with nothing to roll back is harmless. */
    bw_db_rollback(db);
    bw_db_rollback(NULL);
    ck_assert_int_eq(count_rows(db, a), 0);
    free(a);
    bw_db_close(db);
}
END_TEST

START_TEST(test_failed_exec_aborts_the_transaction)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    const char *row1[4] = {a, "1", "one", "1"};
    const char *dup[4] = {a, "2", "one", "1"};
    const char *row3[4] = {a, "3", "three", "1"};

    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, row1, NULL), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, dup, NULL), BW_EEXIST);
    ck_assert_str_eq(bw_db_last_constraint(db), "items_label_key");
    /* The transaction is aborted: further statements fail... */
    ck_assert_int_ne(bw_db_exec(db, NULL, &st_insert, 4, row3, NULL), 0);
    ck_assert_str_eq(bw_db_last_sqlstate(db), "25P02");
    /* ...and a commit reports the failure instead of pretending. */
    ck_assert_int_eq(bw_db_commit(db), BW_EEXIST);
    ck_assert_int_eq(count_rows(db, a), 0);

    /* The documented path: roll back; the constraint stays readable. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, row1, NULL), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, dup, NULL), BW_EEXIST);
    bw_db_rollback(db);
    ck_assert_str_eq(bw_db_last_constraint(db), "items_label_key");
    ck_assert_int_eq(count_rows(db, a), 0);
    ck_assert_int_eq(insert(db, a, "1", "one", "1"), 0);
    ck_assert_int_eq(count_rows(db, a), 1);
    free(a);
    bw_db_close(db);
}
END_TEST

/* bw_db_exec_later: a queued statement runs, in order, with the next
 * statement or the COMMIT; its failure fails that statement or the commit
 * and nothing is written; a rollback drops it. */
START_TEST(test_exec_later_goes_with_the_next_statement_or_the_commit)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    const char *row1[4] = {a, "1", "one", "1"};
    const char *row2[4] = {a, "2", "two", "2"};
    const char *dup[4] = {a, "9", "one", "1"};

    /* Outside a transaction there is nothing to go with. */
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row1), BW_EINTERNAL);

    /* The next statement sees what was queued before it. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row1), 0);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_list, 0, NULL, &res), 0);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row2), 0);
    ck_assert_int_eq(bw_db_commit(db), 0);
    ck_assert_int_eq(count_rows(db, a), 2);

    /* A queued failure fails the commit: nothing of the transaction stays. */
    const char *row3[4] = {a, "3", "three", "3"};
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_insert, 4, row3, NULL), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, dup), 0);
    ck_assert_int_eq(bw_db_commit(db), BW_EEXIST);
    ck_assert_str_eq(bw_db_last_constraint(db), "items_label_key");
    ck_assert_int_eq(count_rows(db, a), 2);

    /* ...or the next statement, whatever that statement is. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, dup), 0);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_list, 0, NULL, &res), BW_EEXIST);
    bw_db_rollback(db);
    ck_assert_int_eq(count_rows(db, a), 2);

    /* A rollback drops what has not gone yet. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row3), 0);
    bw_db_rollback(db);
    ck_assert_int_eq(count_rows(db, a), 2);

    /* More than one pipeline's worth (32) is all written. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    for (int i = 0; i < 40; i++) {
        char id[16], label[16];
        snprintf(id, sizeof(id), "m%02d", i);
        snprintf(label, sizeof(label), "many %02d", i);
        const char *row[4] = {a, id, label, "1"};
        ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row), 0);
    }
    ck_assert_int_eq(bw_db_commit(db), 0);
    ck_assert_int_eq(count_rows(db, a), 42);

    /* In a request transaction a queued failure fails the next exec1 (whose
     * savepoint never ran) without costing the session: the same backend
     * serves the next request. */
    long pid = backend_pid(db);
    const char *row4[4] = {a, "4", "four", "4"};
    const char *row5[4] = {a, "5", "five", "5"};
    ck_assert_int_eq(bw_db_request_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, dup), 0);
    ck_assert_int_eq(bw_db_exec1(db, NULL, a, &st_insert, 4, row4, NULL), BW_EEXIST);
    ck_assert_int_eq(bw_db_request_end(db, 0), 0);
    ck_assert_int_eq(backend_pid(db), pid);
    ck_assert_int_eq(count_rows(db, a), 42);
    ck_assert_int_eq(bw_db_request_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec1(db, NULL, a, &st_insert, 4, row4, NULL), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row5), 0);
    ck_assert_int_eq(bw_db_request_end(db, 1), 0);
    ck_assert_int_eq(count_rows(db, a), 44);

    /* The request transaction's BEGIN and tenant setting wait for its first
     * statement too: that statement runs under the tenant, its failure
     * undoes only itself, and a request that queued only a record commits
     * it with the COMMIT. */
    const char *dup6[4] = {a, "6", "one", "6"};
    const char *row6[4] = {a, "6", "six", "6"};
    const char *row7[4] = {a, "7", "seven", "7"};
    ck_assert_int_eq(bw_db_request_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec1(db, NULL, a, &st_insert, 4, dup6, NULL), BW_EEXIST);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_tenant, 0, NULL, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), a);
    ck_assert_int_eq(bw_db_exec1(db, NULL, a, &st_insert, 4, row6, NULL), 0);
    ck_assert_int_eq(bw_db_request_end(db, 1), 0);
    ck_assert_int_eq(count_rows(db, a), 45);
    ck_assert_int_eq(bw_db_request_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec_later(db, arena, &st_insert, 4, row7), 0);
    ck_assert_int_eq(bw_db_request_end(db, 1), 0);
    ck_assert_int_eq(count_rows(db, a), 46);
    ck_assert_int_eq(bw_db_request_begin(db, a), 0);
    ck_assert_int_eq(bw_db_request_end(db, 0), 0);
    ck_assert_int_eq(backend_pid(db), pid);

    /* A request whose first statement names another tenant (a tenant being
     * created sets its own id) runs it under that tenant, and the next one
     * under the request's tenant again. */
    char *b = bw_test_uuid_str();
    ck_assert_int_eq(bw_db_request_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec1(db, arena, b, &st_tenant, 0, NULL, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), b);
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_tenant, 0, NULL, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), a);
    ck_assert_int_eq(bw_db_request_end(db, 0), 0);
    free(b);

    bw_arena_destroy(arena);
    free(a);
    bw_db_close(db);
}
END_TEST

START_TEST(test_transaction_misuse_is_refused)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_pid, 0, NULL, NULL), BW_EINTERNAL);
    ck_assert_int_eq(bw_db_commit(db), BW_EINTERNAL);
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_begin(db, a), BW_EINTERNAL);
    ck_assert_int_eq(bw_db_exec1(db, NULL, a, &st_pid, 0, NULL, NULL), BW_EINTERNAL);
    /* The transaction begun first is still intact. */
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_pid, 0, NULL, NULL), 0);
    ck_assert_int_eq(bw_db_commit(db), 0);
    ck_assert_int_eq(bw_db_begin(NULL, a), BW_EINVAL);
    ck_assert_int_eq(bw_db_commit(NULL), BW_EINVAL);
    ck_assert_int_eq(bw_db_ping(NULL), BW_EINVAL);
    bw_db_close(NULL);
    free(a);
    bw_db_close(db);
}
END_TEST

START_TEST(test_terminated_connection_reconnects_transparently)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    ck_assert_int_eq(insert(db, a, "1", "before", "1"), 0);
    long pid = backend_pid(db);
    terminate_backend(pid);

    /* Used moments ago, the connection is not probed: the next call finds
     * it gone, and the one after reconnects. */
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_list, 0, NULL, &res), BW_EUNAVAIL);
    bw_arena_destroy(arena);
    ck_assert_int_eq(count_rows(db, a), 1);
    pid = backend_pid(db);
    terminate_backend(pid);
    idle_past_probe();

    /* Idle for a while, it is probed: the next call notices, reconnects,
     * prepares again and succeeds. */
    ck_assert_int_eq(count_rows(db, a), 1);
    long new_pid = backend_pid(db);
    ck_assert_int_ne(new_pid, pid);
    ck_assert_int_eq(insert(db, a, "2", "after", "1"), 0);

    /* Same through begin and ping. */
    terminate_backend(new_pid);
    idle_past_probe();
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, NULL, &st_list, 0, NULL, NULL), 0);
    ck_assert_int_eq(bw_db_commit(db), 0);
    terminate_backend(backend_pid(db));
    idle_past_probe();
    ck_assert_int_eq(bw_db_ping(db), 0);
    ck_assert_int_eq(count_rows(db, a), 2);
    free(a);
    bw_db_close(db);
}
END_TEST

/* Reads item "1" ahead for tenants first and second (either may be NULL)
 * in one batch; their answers in pair[0] and pair[1]. */
static void ahead_pair(bw_db_t *db, const char *first, const char *second, bw_db_ahead_t pair[2])
{
    pair[0] = (bw_db_ahead_t){.tenant_id = first, .stmt = &st_get, .n_values = 1, .values = {"1"}};
    pair[1] = (bw_db_ahead_t){.tenant_id = second, .stmt = &st_get, .n_values = 1, .values = {"1"}};
    bw_db_ahead_t *ptrs[] = {&pair[0], &pair[1]};
    bw_db_ahead_run(db, ptrs, 2);
}

/* Each item read ahead sees its own tenant only; a failing one leaves
 * itself and those after it without an answer; an item lacking a tenant is
 * not read, the others are; exec1 takes an item's answer only for the same
 * tenant, statement and values, once, and a statement run meanwhile
 * forgets it. */
START_TEST(test_reads_ahead_each_with_its_tenant)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    ck_assert_int_eq(insert(db, a, "1", "a-one", "1"), 0);
    ck_assert_int_eq(insert(db, b, "1", "b-one", "3"), 0);

    bw_db_ahead_t items[] = {
        {.tenant_id = a, .stmt = &st_get, .n_values = 1, .values = {"1"}},
        {.tenant_id = b, .stmt = &st_get, .n_values = 1, .values = {"1"}},
        {.tenant_id = b, .stmt = &st_tenant, .n_values = 0},
        {.tenant_id = a, .stmt = &st_get, .n_values = 1, .values = {"1"}},
        {.tenant_id = a, .stmt = &st_divide, .n_values = 1, .values = {"0"}},
        {.tenant_id = b, .stmt = &st_get, .n_values = 1, .values = {"1"}},
    };
    bw_db_ahead_t *ptrs[] = {&items[0], &items[1], &items[2], &items[3], &items[4], &items[5]};
    bw_db_ahead_run(db, ptrs, 6);
    ck_assert_ptr_nonnull(items[0].res);
    ck_assert_int_eq(PQntuples(items[0].res), 1);
    ck_assert_str_eq(PQgetvalue(items[0].res, 0, 2), "a-one");
    ck_assert_int_eq(PQntuples(items[1].res), 1);
    ck_assert_str_eq(PQgetvalue(items[1].res, 0, 2), "b-one");
    ck_assert_str_eq(PQgetvalue(items[2].res, 0, 0), b);
    ck_assert_str_eq(PQgetvalue(items[3].res, 0, 2), "a-one"); /* a again, after b */
    ck_assert_ptr_null(items[4].res);                          /* division by zero */
    ck_assert_ptr_null(items[5].res);                          /* aborted with it */
    ck_assert_int_eq(count_rows(db, a), 1);
    ck_assert_int_eq(count_rows(db, b), 1);
    /* The tenant setting did not outlive the batch. */
    char *after = seen_tenant(db, NULL);
    ck_assert_str_eq(after, "");
    free(after);

    /* An item lacking a tenant is not read (its statement would run under
     * the previous item's setting); the others are. */
    bw_db_ahead_t pair[2];
    ahead_pair(db, b, NULL, pair);
    ck_assert_str_eq(PQgetvalue(pair[0].res, 0, 2), "b-one");
    ck_assert_ptr_null(pair[1].res);
    PQclear(pair[0].res);
    ahead_pair(db, NULL, a, pair);
    ck_assert_ptr_null(pair[0].res);
    ck_assert_str_eq(PQgetvalue(pair[1].res, 0, 2), "a-one");
    PQclear(pair[1].res);

    /* The matching read takes the very answer, without a round trip. */
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL, *answer = items[0].res;
    const char *one[1] = {"1"};
    bw_db_ahead_use(db, &items[0]);
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_get, 1, one, &res), 0);
    ck_assert_ptr_eq(res, answer);
    ck_assert_ptr_null(items[0].res);
    /* Once: the same read again goes to the database. */
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_get, 1, one, &res), 0);
    ck_assert_ptr_ne(res, answer);
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "a-one");

    /* Another tenant's answer is never taken, nor one for other values. */
    bw_db_ahead_use(db, &items[1]);
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_get, 1, one, &res), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "a-one");
    ck_assert_ptr_nonnull(items[1].res);
    const char *two[1] = {"2"};
    bw_db_ahead_use(db, &items[3]);
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_get, 1, two, &res), 0);
    ck_assert_int_eq(PQntuples(res), 0);
    ck_assert_ptr_nonnull(items[3].res);
    /* That statement forgot the item: the matching read now goes out too,
     * and the item keeps its answer. */
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_get, 1, one, &res), 0);
    ck_assert_ptr_nonnull(items[3].res);
    ck_assert_ptr_ne(res, items[3].res);
    /* So does a transaction begun in between. */
    bw_db_ahead_use(db, &items[3]);
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_commit(db), 0);
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_get, 1, one, &res), 0);
    ck_assert_ptr_nonnull(items[3].res);
    ck_assert_ptr_ne(res, items[3].res);
    bw_arena_destroy(arena);
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        PQclear(items[i].res);

    /* A connection gone since its last answer: nothing is read ahead, and
     * the next request reconnects. */
    terminate_backend(backend_pid(db));
    ahead_pair(db, a, b, pair);
    ck_assert_ptr_null(pair[0].res);
    ck_assert_ptr_null(pair[1].res);
    ck_assert_int_eq(count_rows(db, a), 1);
    free(a);
    free(b);
    bw_db_close(db);
}
END_TEST

START_TEST(test_connection_lost_during_request_is_unavailable)
{
    bw_db_t *db = open_app();
    char *a = bw_test_uuid_str();
    bw_arena_t *arena = bw_arena_create(0);
    PGresult *res = NULL;

    /* A transaction does not survive its connection: no silent reconnect. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_pid, 0, NULL, &res), 0);
    terminate_backend(strtol(PQgetvalue(res, 0, 0), NULL, 10));
    ck_assert_int_eq(bw_db_exec(db, arena, &st_list, 0, NULL, &res), BW_EUNAVAIL);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_list, 0, NULL, &res), BW_EUNAVAIL);
    bw_db_rollback(db);
    ck_assert_int_eq(count_rows(db, a), 0);

    /* A commit whose connection died cannot claim success. */
    ck_assert_int_eq(bw_db_begin(db, a), 0);
    ck_assert_int_eq(bw_db_exec(db, arena, &st_pid, 0, NULL, &res), 0);
    terminate_backend(strtol(PQgetvalue(res, 0, 0), NULL, 10));
    ck_assert_int_eq(bw_db_commit(db), BW_EUNAVAIL);
    ck_assert_int_eq(count_rows(db, a), 0);

    /* The backend dies in the middle of exec1's pipeline. */
    ck_assert_int_eq(bw_db_exec1(db, arena, a, &st_suicide, 0, NULL, &res), BW_EUNAVAIL);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(count_rows(db, a), 0);
    ck_assert_int_eq(insert(db, a, "1", "after", "1"), 0);
    ck_assert_int_eq(count_rows(db, a), 1);

    bw_arena_destroy(arena);
    free(a);
    bw_db_close(db);
}
END_TEST

START_TEST(test_open_refuses_roles_that_bypass_rls)
{
    const char *super_url = bw_test_env("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    static char not_null;
    bw_db_t *db = (bw_db_t *)&not_null; /* a failed open must reset it */
    ck_assert_int_eq(bw_db_open(super_url, stmts, N_STMTS, 0, &db), BW_EPERM);
    ck_assert_ptr_null(db);
    ck_assert_int_eq(bw_db_open(super_url, stmts, N_STMTS, 1, &db), 0);
    ck_assert_int_eq(bw_db_ping(db), 0);
    bw_db_close(db);
}
END_TEST

START_TEST(test_open_rejects_bad_input)
{
    const char *url = bw_test_env("BULWARK_TEST_DATABASE_URL");
    bw_db_t *db = NULL;
    ck_assert_int_eq(bw_db_open("host=127.0.0.1 port=1 connect_timeout=2", NULL, 0, 0, &db),
                     BW_EUNAVAIL);
    ck_assert_ptr_null(db);
    ck_assert_int_eq(bw_db_open("this is not a connection string", NULL, 0, 0, &db), BW_EINVAL);
    ck_assert_int_eq(bw_db_open("postgresql://h/db?no_such_option=1", NULL, 0, 0, &db), BW_EINVAL);
    ck_assert_int_eq(bw_db_open(NULL, NULL, 0, 0, &db), BW_EINVAL);
    ck_assert_int_eq(bw_db_open(url, NULL, 1, 0, &db), BW_EINVAL);
    ck_assert_int_eq(bw_db_open(url, NULL, 0, 0, NULL), BW_EINVAL);

    static const bw_db_stmt_t reserved = {"bw_set_tenant", "SELECT 1"};
    static const bw_db_stmt_t *const reserved_table[] = {&reserved};
    ck_assert_int_eq(bw_db_open(url, reserved_table, 1, 0, &db), BW_EINVAL);

    static const bw_db_stmt_t broken = {"itest_broken", "SELEKT 1"};
    static const bw_db_stmt_t *const broken_table[] = {&st_pid, &broken};
    ck_assert_int_eq(bw_db_open(url, broken_table, 2, 0, &db), BW_EINTERNAL);
    ck_assert_ptr_null(db);
    ck_assert_str_eq(bw_db_last_sqlstate(NULL), "");

    /* An empty statement table is fine. */
    ck_assert_int_eq(bw_db_open(url, NULL, 0, 0, &db), 0);
    ck_assert_int_eq(bw_db_ping(db), 0);
    bw_db_close(db);
}
END_TEST

/* bulwark.epoch_us (common migration 0009) is exact to the microsecond at
 * the edges of the range, across a leap day and before 1970, agrees with
 * common/times, and every process's role may call it. */
START_TEST(test_epoch_us_is_exact_for_every_role)
{
    static const char *const times[] = {
        "0001-01-01T00:00:00Z",        "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z",
        "2024-02-29T23:59:59.999999Z", "2024-03-01T00:00:00.000001Z", "2025-06-10T09:15:00+02:00",
        "2038-01-19T03:14:08.123457Z", "9999-12-31T23:59:59.999999Z", "1900-03-01T12:00:00.5-05:00",
    };
    static const char *const roles[] = {"GATEWAY",   "SCOPING",      "CROSSWALK",
                                        "INCIDENTS", "ATTESTATIONS", "INTEGRATIONS"};
    for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
        char env[64];
        snprintf(env, sizeof(env), "BULWARK_TEST_%s_DATABASE_URL", roles[r]);
        PGconn *conn = bw_test_pg(env);
        /* A zone far from UTC: the result must not depend on it. */
        bw_test_exec(conn, "SET TIME ZONE 'Pacific/Chatham'");
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            int64_t expect;
            ck_assert_int_eq(bw_time_parse_rfc3339_us(times[i], &expect), BW_TIME_OK);
            PGresult *res =
                bw_test_sql(conn, "SELECT bulwark.epoch_us($1::timestamptz)::text", times[i]);
            char want[32];
            snprintf(want, sizeof(want), "%lld", (long long)expect);
            ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), want) == 0, "%s as %s: %s, not %s",
                          times[i], roles[r], PQgetvalue(res, 0, 0), want);
            PQclear(res);
        }
        PGresult *res = bw_test_sql(conn, "SELECT bulwark.epoch_us(NULL) IS NULL");
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
        PQclear(res);
        PQfinish(conn);
    }
}
END_TEST

Suite *suite_db(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");
    tcase_add_unchecked_fixture(tc, scratch_create, scratch_drop);
    tcase_add_test(tc, test_exec1_returns_only_the_tenants_rows);
    tcase_add_test(tc, test_exec1_parameters_and_results);
    tcase_add_test(tc, test_unique_violation_is_eexist_and_connection_stays_usable);
    tcase_add_test(tc, test_bad_values_are_einval);
    tcase_add_test(tc, test_tenant_setting_does_not_leak);
    tcase_add_test(tc, test_begin_exec_commit);
    tcase_add_test(tc, test_rollback_discards);
    tcase_add_test(tc, test_failed_exec_aborts_the_transaction);
    tcase_add_test(tc, test_exec_later_goes_with_the_next_statement_or_the_commit);
    tcase_add_test(tc, test_transaction_misuse_is_refused);
    tcase_add_test(tc, test_terminated_connection_reconnects_transparently);
    tcase_add_test(tc, test_connection_lost_during_request_is_unavailable);
    tcase_add_test(tc, test_reads_ahead_each_with_its_tenant);
    tcase_add_test(tc, test_open_refuses_roles_that_bypass_rls);
    tcase_add_test(tc, test_open_rejects_bad_input);
    tcase_add_test(tc, test_epoch_us_is_exact_for_every_role);
    suite_add_tcase(s, tc);
    return s;
}
