/*
 * The purge of expired idempotency records (24 hours): the function
 * bulwark.purge_idempotency_keys() removes the expired records of every
 * tenant and nothing younger, whichever service calls it, while no service
 * can delete a record itself; and the services run it on their own, every
 * BULWARK_IDEMPOTENCY_PURGE_SEC (1 s in the stack `make test` starts).
 * Likewise the tombstones of deleted entities (30 days), which only the
 * scoping service purges, through scoping.purge_tombstones().
 */
#include "testkit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Adds a record of tenant (already set in the transaction) made age ago. */
static void add_record(PGconn *conn, const char *tenant, const char *key, const char *age)
{
    bw_test_exec(conn,
                 "INSERT INTO bulwark.idempotency_keys (tenant_id, idem_key, method, fingerprint,"
                 " response, create_time) VALUES ($1, $2, '/test/Purge', '\\x00', '\\x00',"
                 " now() - $3::interval)",
                 tenant, key, age);
}

/* The keys of tenant's records, comma-separated, as tenant sees them. */
static char *keys_of(PGconn *conn, const char *tenant)
{
    bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    PGresult *res = bw_test_sql(conn, "SELECT coalesce(string_agg(idem_key, ',' ORDER BY "
                                      "idem_key), '') FROM bulwark.idempotency_keys");
    char *keys = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return keys;
}

START_TEST(test_the_function_purges_expired_records_of_every_tenant)
{
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        /* The gateway does not run the job, and may not call it. */
        int may_purge = strcmp(p->name, "gateway") != 0;
        char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
        PGconn *conn = bw_test_pg(p->url_env);
        /* No process deletes records itself, not even its tenant's. */
        ck_assert_str_eq(bw_test_sql_error(conn, "DELETE FROM bulwark.idempotency_keys"), "42501");
        /* Everything in one transaction that is rolled back: the services'
         * own purge job cannot see these rows, so only this call acts. */
        bw_test_exec(conn, "BEGIN");
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
        add_record(conn, a, "a-expired", "25 hours");
        add_record(conn, a, "a-just-expired", "24 hours 1 second");
        add_record(conn, a, "a-almost", "23 hours 59 minutes");
        add_record(conn, a, "a-fresh", "0 seconds");
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", b);
        add_record(conn, b, "b-expired", "3 days");
        add_record(conn, b, "b-fresh", "1 hour");
        /* No tenant set, as the job calls it. */
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', '', true)");
        if (!may_purge) {
            ck_assert_str_eq(bw_test_sql_error(conn, "SELECT bulwark.purge_idempotency_keys()"),
                             "42501");
            bw_test_exec(conn, "ROLLBACK");
            PQfinish(conn);
            free(a);
            free(b);
            continue;
        }
        PGresult *res = bw_test_sql(conn, "SELECT bulwark.purge_idempotency_keys()");
        long purged = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        /* At least these three; expired rows committed by others count too. */
        ck_assert_msg(purged >= 3, "%s purged %ld records, expected 3 or more", p->login, purged);
        char *left_a = keys_of(conn, a), *left_b = keys_of(conn, b);
        ck_assert_str_eq(left_a, "a-almost,a-fresh");
        ck_assert_str_eq(left_b, "b-fresh");
        bw_test_exec(conn, "ROLLBACK");
        PQfinish(conn);
        free(left_a);
        free(left_b);
        free(a);
        free(b);
    }
}
END_TEST

static long count_records(PGconn *super, const char *a, const char *b, const char *keys_like)
{
    PGresult *res = bw_test_sql(super,
                                "SELECT count(*) FROM bulwark.idempotency_keys"
                                " WHERE tenant_id IN ($1, $2) AND idem_key LIKE $3",
                                a, b, keys_like);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

START_TEST(test_the_services_purge_on_their_own)
{
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    /* Committed rows of two tenants, written past row-level security. */
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    add_record(super, a, "expired-1", "25 hours");
    add_record(super, a, "fresh-1", "1 minute");
    add_record(super, b, "expired-2", "2 days");
    add_record(super, b, "fresh-2", "23 hours");

    /* The stack runs the purge every second (it may have run already);
     * allow for slow sanitizer builds. Nothing else deletes these rows. */
    time_t deadline = time(NULL) + 60;
    while (count_records(super, a, b, "expired-%") > 0 && time(NULL) < deadline)
        usleep(200 * 1000);
    ck_assert_msg(count_records(super, a, b, "expired-%") == 0,
                  "the expired records are still there after 60 s: is the purge job running "
                  "(BULWARK_IDEMPOTENCY_PURGE_SEC)?");
    ck_assert_int_eq(count_records(super, a, b, "fresh-%"), 2);
    bw_test_exec(super, "DELETE FROM bulwark.idempotency_keys WHERE tenant_id IN ($1, $2)", a, b);
    PQfinish(super);
    free(a);
    free(b);
}
END_TEST

/* ---- tombstones (30 days) ----------------------------------------------- */

/* Adds a tombstone of tenant (set in the transaction, or not: a superuser
 * writes past row-level security) for a new entity id, deleted age ago;
 * returns the id (caller frees). */
static char *add_tombstone(PGconn *conn, const char *tenant, const char *age)
{
    char *id = bw_test_uuid_str();
    bw_test_exec(conn,
                 "INSERT INTO scoping.entity_tombstones (tenant_id, entity_id, delete_time)"
                 " VALUES ($1, $2, now() - $3::interval)",
                 tenant, id, age);
    return id;
}

static long count_tombstones(PGconn *super, const char *id)
{
    PGresult *res = bw_test_sql(
        super, "SELECT count(*) FROM scoping.entity_tombstones WHERE entity_id = $1", id);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

START_TEST(test_expired_tombstones_go_and_only_they)
{
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        PGconn *conn = bw_test_pg(p->url_env);
        if (strcmp(p->name, "scoping") != 0) {
            /* Only the scoping service may purge its tombstones. */
            ck_assert_str_eq(bw_test_sql_error(conn, "SELECT scoping.purge_tombstones()"), "42501");
            PQfinish(conn);
            continue;
        }
        /* Nor may it delete one itself, not even its tenant's. */
        ck_assert_str_eq(bw_test_sql_error(conn, "DELETE FROM scoping.entity_tombstones"), "42501");
        /* In a transaction rolled back: the service's own job cannot see
         * these rows, so only this call acts on them. */
        bw_test_exec(conn, "BEGIN");
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
        char *a_old = add_tombstone(conn, a, "31 days");
        char *a_new = add_tombstone(conn, a, "29 days 23 hours");
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", b);
        char *b_old = add_tombstone(conn, b, "400 days");
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', '', true)");
        PGresult *res = bw_test_sql(conn, "SELECT scoping.purge_tombstones()");
        ck_assert_int_ge(strtol(PQgetvalue(res, 0, 0), NULL, 10), 2);
        PQclear(res);
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
        res = bw_test_sql(conn,
                          "SELECT coalesce(string_agg(entity_id::text, ','), '')"
                          " FROM scoping.entity_tombstones WHERE entity_id IN ($1, $2)",
                          a_old, a_new);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), a_new);
        PQclear(res);
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", b);
        res = bw_test_sql(
            conn, "SELECT count(*) FROM scoping.entity_tombstones WHERE entity_id = $1", b_old);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
        PQclear(res);
        bw_test_exec(conn, "ROLLBACK");
        PQfinish(conn);
        free(a_old);
        free(a_new);
        free(b_old);
    }
    free(a);
    free(b);
}
END_TEST

START_TEST(test_the_scoping_service_purges_tombstones_on_its_own)
{
    char *a = bw_test_uuid_str();
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    char *old = add_tombstone(super, a, "30 days 1 minute");
    char *fresh = add_tombstone(super, a, "1 day");
    time_t deadline = time(NULL) + 60;
    while (count_tombstones(super, old) > 0 && time(NULL) < deadline)
        usleep(200 * 1000);
    ck_assert_msg(count_tombstones(super, old) == 0,
                  "the expired tombstone is still there after 60 s: does the scoping service "
                  "run scoping.purge_tombstones() in its purge job?");
    ck_assert_int_eq(count_tombstones(super, fresh), 1);
    bw_test_exec(super, "DELETE FROM scoping.entity_tombstones WHERE tenant_id = $1", a);
    PQfinish(super);
    free(old);
    free(fresh);
    free(a);
}
END_TEST

Suite *suite_purge(void)
{
    Suite *s = suite_create("purge");
    TCase *tc = tcase_create("purge");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_the_function_purges_expired_records_of_every_tenant);
    tcase_add_test(tc, test_the_services_purge_on_their_own);
    tcase_add_test(tc, test_expired_tombstones_go_and_only_they);
    tcase_add_test(tc, test_the_scoping_service_purges_tombstones_on_its_own);
    suite_add_tcase(s, tc);
    return s;
}
