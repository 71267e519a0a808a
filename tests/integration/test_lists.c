/* Lists whose cost follows the page, not the tenant (docs/DESIGN.md,
 * "Performance as measured"):
 *   - a page of open deadlines (incidents.open_deadlines, incidents
 *     migration 0009, planned once per session) reads about as many rows
 *     as it returns, in due order, from the start or from a page's key;
 *     with a regime it reads that regime's index, not every open deadline
 *     up to the page's last (its second branch); rows that carry their
 *     incident's entity and title (migration 0011) read no incident;
 *   - the services' sessions run no parallel query (common migration
 *     0010): ListIncidents started two parallel workers for a branch that
 *     returns nothing.
 * (That the deadlines' plan is made once per session is not asserted: a
 * test cannot see PostgreSQL's planning.)
 */
#include "testkit.h"

#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Titles of the page in order and the rows of schema incidents read for it
 * in the transaction; the caller frees the titles. */
static char *page(PGconn *svc, const char *sql, long *read)
{
    long before = bw_test_rows_read(svc, "incidents");
    PGresult *res = bw_test_sql(svc, sql);
    *read = bw_test_rows_read(svc, "incidents") - before;
    char *titles = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return titles;
}

/* Rows of table incidents.incidents read in the transaction, by any of
 * its indexes or by a scan. */
static long incident_rows_read(PGconn *svc)
{
    PGresult *res = bw_test_sql(
        svc, "SELECT COALESCE(sum(pg_stat_get_xact_tuples_returned(i.indexrelid)), 0) + "
             "pg_stat_get_xact_tuples_returned('incidents.incidents'::regclass) "
             "FROM pg_index i WHERE i.indrelid = 'incidents.incidents'::regclass");
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

START_TEST(a_page_of_open_deadlines_reads_its_rows_not_the_tenants)
{
    enum { INCIDENTS = 3000 };
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Deadlines KG", &key);
    PGconn *svc = bw_test_pg("BULWARK_TEST_INCIDENTS_DATABASE_URL");
    bw_test_exec(svc, "BEGIN");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    /* Incident g is aware g minutes after the first, its early warning due
     * a day later; every 100th is DORA's. */
    bw_test_exec(svc,
                 "INSERT INTO incidents.incidents (tenant_id, incident_id, entity_id, title, "
                 "aware_at, time_zone, significant_at_creation, trust_service_impact, "
                 "trust_service_provider, significant, state, incident_regime) "
                 "SELECT $1::uuid, gen_random_uuid(), gen_random_uuid(), 'Load ' || g, "
                 "now() - interval '10 days' + g * interval '1 minute', 'UTC', true, false, "
                 "false, true, 'OPEN', CASE WHEN g % 100 = 0 THEN 'DORA' ELSE 'NIS2' END "
                 "FROM generate_series(1, $2::int) g",
                 tenant, BW_TEST_INT(INCIDENTS));
    bw_test_exec(svc,
                 "INSERT INTO incidents.deadlines (tenant_id, incident_id, ordinal, kind, due_at, "
                 "provisional, status, basis, regime) SELECT tenant_id, incident_id, 1, "
                 "'EARLY_WARNING', aware_at + interval '1 day', false, 'PENDING', 'test', "
                 "incident_regime FROM incidents.incidents WHERE tenant_id = $1::uuid",
                 tenant);

    static const char first[] = "SELECT string_agg(x.title, ',') FROM incidents.open_deadlines("
                                "'infinity', '-infinity', '00000000-0000-0000-0000-000000000000', "
                                "0, 5, now(), NULL) x";
    long read;
    free(page(svc, first, &read)); /* the session's first call plans */
    char *titles = page(svc, first, &read);
    ck_assert_str_eq(titles, "Load 1,Load 2,Load 3,Load 4,Load 5");
    ck_assert_msg(read <= 50, "a page of 5 read %ld rows", read);
    free(titles);

    /* From the key of Load 5's deadline. */
    PGresult *at = bw_test_sql(svc, "SELECT d.due_at::text, d.incident_id::text "
                                    "FROM incidents.deadlines d JOIN incidents.incidents i "
                                    "USING (tenant_id, incident_id) WHERE i.title = 'Load 5'");
    char next[512];
    snprintf(next, sizeof(next),
             "SELECT string_agg(x.title, ',') FROM incidents.open_deadlines('infinity', "
             "'%s', '%s', 1, 3, now(), NULL) x",
             PQgetvalue(at, 0, 0), PQgetvalue(at, 0, 1));
    PQclear(at);
    titles = page(svc, next, &read);
    ck_assert_str_eq(titles, "Load 6,Load 7,Load 8");
    ck_assert_msg(read <= 50, "a page of 3 read %ld rows", read);
    free(titles);

    /* DORA's: one in a hundred. Filtered on the deadlines in due order, the
     * page would read the 500 before its last. */
    static const char dora[] = "SELECT string_agg(x.title, ',') FROM incidents.open_deadlines("
                               "'infinity', '-infinity', '00000000-0000-0000-0000-000000000000', "
                               "0, 5, now(), 'DORA') x";
    free(page(svc, dora, &read));
    titles = page(svc, dora, &read);
    ck_assert_str_eq(titles, "Load 100,Load 200,Load 300,Load 400,Load 500");
    ck_assert_msg(read <= 50, "a page of 5 of DORA's read %ld rows", read);
    free(titles);

    /* These rows were written without their incident's entity and title
     * (as before incidents migration 0011): the page looks each incident
     * up. Rows that carry them (as the service writes them since) are
     * listed with their own, and no incident is read. */
    long before = incident_rows_read(svc);
    free(page(svc, first, &read));
    ck_assert_int_ge(incident_rows_read(svc) - before, 5);
    bw_test_exec(svc, "UPDATE incidents.deadlines d SET entity_id = i.entity_id, "
                      "title = 'Carried ' || substr(i.title, 6) FROM incidents.incidents i "
                      "WHERE i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id");
    before = incident_rows_read(svc);
    titles = page(svc, first, &read);
    ck_assert_str_eq(titles, "Carried 1,Carried 2,Carried 3,Carried 4,Carried 5");
    ck_assert_int_eq(incident_rows_read(svc) - before, 0);
    free(titles);

    bw_test_exec(svc, "ROLLBACK");
    PQfinish(svc);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(the_services_sessions_run_no_parallel_query)
{
    static const char *const urls[] = {"BULWARK_TEST_GATEWAY_DATABASE_URL",
                                       "BULWARK_TEST_SCOPING_DATABASE_URL",
                                       "BULWARK_TEST_INCIDENTS_DATABASE_URL"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        PGconn *conn = bw_test_pg(urls[i]);
        PGresult *res = bw_test_sql(conn, "SHOW max_parallel_workers_per_gather");
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "0") == 0, "%s: %s", urls[i],
                      PQgetvalue(res, 0, 0));
        PQclear(res);
        PQfinish(conn);
    }
}
END_TEST

Suite *suite_lists(void)
{
    Suite *s = suite_create("lists");
    TCase *tc = tcase_create("lists");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_page_of_open_deadlines_reads_its_rows_not_the_tenants);
    tcase_add_test(tc, the_services_sessions_run_no_parallel_query);
    suite_add_tcase(s, tc);
    return s;
}
