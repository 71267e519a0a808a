/*
 * integrations.claim_deliveries (integrations migrations 0001, 0004)
 * against the real database, with a backlog:
 *   - it leases an endpoint's soonest due deliveries, at most the endpoint's
 *     free slots, and never a resource's delivery while an earlier one of the
 *     same resource to the same endpoint is still pending (even one that is
 *     not due yet);
 *   - the work of a claim does not grow with the backlog: it reads a few
 *     index entries per delivery it leases, not every pending delivery.
 *
 * As the integrations process's role (the only one that may call the
 * claim). Everything happens in one transaction that is rolled back, so the running
 * stack's dispatcher never sees the backlog. The claim works across tenants,
 * so it may also lease other tests' deliveries while the transaction lasts;
 * only this tenant's rows are looked at, and the rollback gives the others
 * back.
 */
#include "testkit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG 2000
#define RESOURCES 500

START_TEST(claim_keeps_order_and_does_not_scan_the_backlog)
{
    char *tenant = bw_test_uuid_str();
    char *endpoint = bw_test_uuid_str();
    char backlog[16], resources[16];
    snprintf(backlog, sizeof(backlog), "%d", BACKLOG);
    snprintf(resources, sizeof(resources), "%d", RESOURCES);
    PGconn *db = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(db, "BEGIN");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    bw_test_exec(db,
                 "INSERT INTO integrations.webhook_endpoints (tenant_id, endpoint_id, url, "
                 "event_types, secret) VALUES ($1, $2, 'https://hooks.example.com/x', "
                 "'{incident.created}', '\\x00')",
                 tenant, endpoint);
    /* BACKLOG deliveries of RESOURCES resources, due one a millisecond
     * from an hour ago, and one more: the first event of resource "held",
     * not due for an hour, ahead of its second event, due before all. */
    bw_test_exec(db,
                 "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
                 "origin, occur_time, data) SELECT $1, gen_random_uuid(), i, 'incident.created', "
                 "'incidents/' || CASE WHEN i <= 0 THEN 'held' ELSE (i % $3::int)::text END, '', "
                 "now(), '{}' FROM generate_series(-1, $2::int) i",
                 tenant, backlog, resources);
    bw_test_exec(db,
                 "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, "
                 "event_id, seq, resource, state, next_attempt_time) "
                 "SELECT $1, gen_random_uuid(), $2, v.event_id, v.seq, v.resource, 'PENDING', "
                 "CASE v.seq WHEN -1 THEN now() + interval '1 hour' "
                 "WHEN 0 THEN now() - interval '2 hours' "
                 "ELSE now() - interval '1 hour' + v.seq * interval '1 millisecond' END "
                 "FROM integrations.events v WHERE v.tenant_id = $1",
                 tenant, endpoint);
    PGresult *before = bw_test_sql(
        db, "SELECT idx_tup_fetch + coalesce(seq_tup_read, 0) FROM pg_stat_xact_user_tables "
            "WHERE relid = 'integrations.deliveries'::regclass");
    /* Two of the endpoint's four slots are busy here. */
    PGresult *res = bw_test_sql(db,
                                "SELECT delivery_id::text, lease_id IS NOT NULL "
                                "FROM integrations.claim_deliveries(64, 4, 75, ARRAY[$1::uuid], "
                                "'{2}') WHERE tenant_id = $2",
                                endpoint, tenant);
    PGresult *after = bw_test_sql(db, "SELECT idx_tup_fetch + coalesce(seq_tup_read, 0) FROM "
                                      "pg_stat_xact_user_tables "
                                      "WHERE relid = 'integrations.deliveries'::regclass");
    ck_assert_int_eq(PQntuples(res), 2);
    for (int r = 0; r < PQntuples(res); r++)
        ck_assert_str_eq(PQgetvalue(res, r, 1), "t");
    long read = atol(PQgetvalue(after, 0, 0)) - atol(PQgetvalue(before, 0, 0));
    ck_assert_msg(read < BACKLOG / 4, "a claim of 2 deliveries read %ld rows of a backlog of %d",
                  read, BACKLOG);
    /* The soonest due after the held resource's second event, in order. */
    PGresult *seqs = bw_test_sql(db,
                                 "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM "
                                 "integrations.deliveries WHERE tenant_id = $1 "
                                 "AND delivery_id IN ($2::uuid, $3::uuid)",
                                 tenant, PQgetvalue(res, 0, 0), PQgetvalue(res, 1, 0));
    ck_assert_str_eq(PQgetvalue(seqs, 0, 0), "1,2");
    PQclear(seqs);
    PQclear(res);
    /* The held resource's first event, once due, goes before its second. */
    bw_test_exec(
        db,
        "UPDATE integrations.deliveries SET next_attempt_time = now() - interval '3 hours' "
        "WHERE tenant_id = $1 AND seq = -1",
        tenant);
    res = bw_test_sql(db,
                      "SELECT d.seq FROM integrations.claim_deliveries(64, 4, 75, ARRAY[$1::uuid], "
                      "'{3}') c JOIN integrations.deliveries d "
                      "ON d.tenant_id = c.tenant_id AND d.delivery_id = c.delivery_id "
                      "WHERE c.tenant_id = $2",
                      endpoint, tenant);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "-1");
    PQclear(res);
    PQclear(before);
    PQclear(after);
    bw_test_exec(db, "ROLLBACK");
    PQfinish(db);
    free(tenant);
    free(endpoint);
}
END_TEST

Suite *suite_claim(void)
{
    Suite *s = suite_create("claim");
    TCase *tc = tcase_create("deliveries");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, claim_keeps_order_and_does_not_scan_the_backlog);
    suite_add_tcase(s, tc);
    return s;
}
