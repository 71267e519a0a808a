/*
 * The one path past the append-only rules: bulwark.erase_tenant_rows
 * (common/migrations/0005). With an owner that is neither superuser nor
 * BYPASSRLS, as on managed PostgreSQL, a process's role erases every row of
 * the tenant it sets in its own schemas, the append-only audit trail,
 * incident events and attestations included, and nothing of another
 * tenant's; it cannot erase another process's schema, nor without a tenant
 * (or with the operator's scope); and outside that function the append-only
 * tables still refuse a delete to everyone, the owner included. The export
 * and count functions serve their caller's own schemas only, too.
 */
#include "testkit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIL "00000000-0000-0000-0000-000000000000"

/* Rows of tenant in table, counted by the superuser. */
static long rows_of(PGconn *super, const char *table, const char *tenant)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = $1", table);
    PGresult *res = bw_test_sql(super, sql, tenant);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* Rows in append-only tables of the incidents and attestations schemas and
 * the audit trail, for tenant, as the superuser writes them (foreign keys
 * and triggers aside: the rows only need to be there). */
static void seed(PGconn *super, const char *tenant)
{
    bw_test_exec(super, "BEGIN");
    bw_test_exec(super, "SET LOCAL session_replication_role = replica");
    bw_test_exec(super,
                 "INSERT INTO bulwark.audit_events (tenant_id, event_id, service, action, resource,"
                 " principal, request_id, outcome) VALUES ($1, gen_random_uuid(), 'x', 'x.Y', '',"
                 " 'p', 'r', 'OK')",
                 tenant);
    bw_test_exec(super,
                 "INSERT INTO incidents.incidents (tenant_id, incident_id, entity_id, title,"
                 " aware_at, time_zone, significant_at_creation, trust_service_impact,"
                 " trust_service_provider, significant, state) VALUES ($1,"
                 " '0193a2b4-0000-7000-8000-000000000001', gen_random_uuid(), 't', now(), 'UTC',"
                 " true, false, false, true, 'OPEN')",
                 tenant);
    bw_test_exec(super,
                 "INSERT INTO incidents.events (tenant_id, incident_id, sequence, event_id, type,"
                 " occurred_at) VALUES ($1, '0193a2b4-0000-7000-8000-000000000001', 1,"
                 " gen_random_uuid(), 'NOTE', now())",
                 tenant);
    bw_test_exec(super,
                 "INSERT INTO attestations.chain_heads (tenant_id, entity_id) VALUES ($1,"
                 " gen_random_uuid())",
                 tenant);
    bw_test_exec(super, "COMMIT");
}

/* Runs sql as conn's role with tenant set (NULL: not set), in a transaction
 * it commits; returns the result (caller clears). */
static PGresult *as_tenant(PGconn *conn, const char *tenant, const char *sql, const char *param)
{
    bw_test_exec(conn, "BEGIN");
    if (tenant != NULL)
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    PGresult *res = param != NULL ? bw_test_sql(conn, sql, param) : bw_test_sql(conn, sql);
    bw_test_exec(conn, "COMMIT");
    return res;
}

static const char *error_as_tenant(PGconn *conn, const char *tenant, const char *sql,
                                   const char *param)
{
    static char state[6];
    bw_test_exec(conn, "BEGIN");
    if (tenant != NULL)
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    snprintf(state, sizeof(state), "%s",
             param != NULL ? bw_test_sql_error(conn, sql, param) : bw_test_sql_error(conn, sql));
    bw_test_exec(conn, "ROLLBACK");
    return state;
}

START_TEST(each_process_erases_its_tenant_and_no_other)
{
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    seed(super, a);
    seed(super, b);
    const char *tables[] = {"bulwark.audit_events", "incidents.incidents", "incidents.events",
                            "attestations.chain_heads"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(rows_of(super, tables[i], a), 1);

    const char *erasers[][2] = {
        {"incidents", "incidents"}, {"attestations", "attestations"}, {"gateway", "bulwark"}};
    for (size_t i = 0; i < 3; i++) {
        PGconn *conn = bw_test_pg(bw_test_process(erasers[i][0])->url_env);
        PGresult *res = as_tenant(
            conn, a, "SELECT table_name, rows FROM bulwark.erase_tenant_rows($1)", erasers[i][1]);
        ck_assert_int_gt(PQntuples(res), 0);
        for (int r = 0; r < PQntuples(res); r++)
            ck_assert_msg(strncmp(PQgetvalue(res, r, 0), erasers[i][1], strlen(erasers[i][1])) == 0,
                          "%s erased %s", erasers[i][0], PQgetvalue(res, r, 0));
        PQclear(res);
        PQfinish(conn);
    }
    for (size_t i = 0; i < 4; i++) {
        ck_assert_msg(rows_of(super, tables[i], a) == 0, "%s kept rows of the erased tenant",
                      tables[i]);
        ck_assert_msg(rows_of(super, tables[i], b) == 1, "%s lost rows of another tenant",
                      tables[i]);
    }
    PQfinish(super);
    free(a);
    free(b);
}
END_TEST

START_TEST(erasure_is_confined)
{
    char *a = bw_test_uuid_str();
    PGconn *scoping = bw_test_pg(bw_test_process("scoping")->url_env);
    PGconn *gateway = bw_test_pg(bw_test_process("gateway")->url_env);
    const char *erase = "SELECT * FROM bulwark.erase_tenant_rows($1)";
    /* Another process's schema, or one that does not exist. */
    ck_assert_str_eq(error_as_tenant(scoping, a, erase, "crosswalk"), "42501");
    ck_assert_str_eq(error_as_tenant(scoping, a, erase, "bulwark"), "42501");
    ck_assert_str_eq(error_as_tenant(gateway, a, erase, "scoping"), "42501");
    ck_assert_str_eq(error_as_tenant(gateway, a, erase, "nowhere"), "42501");
    /* No tenant, an empty one, or the operator's scope. */
    ck_assert_str_eq(error_as_tenant(scoping, NULL, erase, "scoping"), "22023");
    ck_assert_str_eq(error_as_tenant(scoping, "", erase, "scoping"), "22023");
    ck_assert_str_eq(error_as_tenant(gateway, NIL, erase, "tenancy"), "22023");
    /* The export and the counts: the caller's own schemas only. */
    ck_assert_str_eq(error_as_tenant(scoping, a,
                                     "SELECT * FROM bulwark.export_tenant_rows($1, NULL, NULL, "
                                     "10, 100000)",
                                     "tenancy"),
                     "42501");
    ck_assert_str_eq(error_as_tenant(gateway, NULL,
                                     "SELECT * FROM bulwark.count_tenant_rows('scoping', "
                                     "'entities', ARRAY[$1::uuid])",
                                     a),
                     "42501");
    PQfinish(scoping);
    PQfinish(gateway);
    free(a);
}
END_TEST

START_TEST(append_only_tables_still_refuse_deletes)
{
    char *a = bw_test_uuid_str();
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    seed(super, a);
    PQfinish(super);
    /* The owner owns the tables, yet the triggers refuse it. */
    PGconn *owner = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    const char *deletes[] = {"DELETE FROM bulwark.audit_events", "DELETE FROM incidents.events",
                             "DELETE FROM attestations.chain_heads"};
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(error_as_tenant(owner, a, deletes[i], NULL), "42501");
    PQfinish(owner);
    /* The services' roles have no such privilege in the first place. */
    PGconn *incidents = bw_test_pg(bw_test_process("incidents")->url_env);
    ck_assert_str_eq(error_as_tenant(incidents, a, "DELETE FROM incidents.events", NULL), "42501");
    PQfinish(incidents);
    /* Erased by the eraser, through its function, with the tenant set. */
    PGconn *gateway = bw_test_pg(bw_test_process("gateway")->url_env);
    PGresult *res = as_tenant(gateway, a,
                              "SELECT rows FROM bulwark.erase_tenant_rows($1)"
                              " WHERE table_name = 'bulwark.audit_events'",
                              "bulwark");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
    PQfinish(gateway);
    free(a);
}
END_TEST

START_TEST(export_pages_by_primary_key)
{
    char *a = bw_test_uuid_str();
    PGconn *gateway = bw_test_pg(bw_test_process("gateway")->url_env);
    bw_test_exec(gateway, "BEGIN");
    bw_test_exec(gateway, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    bw_test_exec(gateway, "INSERT INTO tenancy.tenants (tenant_id, name) VALUES ($1, 'Paged')", a);
    for (int i = 1; i <= 5; i++) {
        char key[40];
        snprintf(key, sizeof(key), "0193a2b4-0000-7000-8000-00000000000%d", i);
        bw_test_exec(gateway,
                     "INSERT INTO tenancy.api_keys (tenant_id, key_id, name, role, secret_sha256)"
                     " VALUES ($1, $2, 'k', 'viewer', sha256(convert_to($3, 'UTF8')))",
                     a, key, BW_TEST_INT(i));
    }
    bw_test_exec(gateway, "COMMIT");
    /* Two rows a page: the table first (its heading row, then rows), then
     * where the last page stopped. */
    const char *page =
        "SELECT table_name, row_key, line IS NOT NULL FROM bulwark.export_tenant_rows("
        "'tenancy', NULLIF($1, ''), NULLIF($2, ''), 2, 1000000)";
    bw_test_exec(gateway, "BEGIN");
    bw_test_exec(gateway, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    PGresult *res = bw_test_sql(gateway, page, "", "");
    ck_assert_int_eq(PQntuples(res), 3);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "tenancy.api_keys");
    ck_assert(PQgetisnull(res, 0, 1));
    ck_assert_str_eq(PQgetvalue(res, 2, 1), "[\"0193a2b4-0000-7000-8000-000000000002\"]");
    PQclear(res);
    res = bw_test_sql(gateway, page, "api_keys", "[\"0193a2b4-0000-7000-8000-000000000002\"]");
    ck_assert_int_eq(PQntuples(res), 2);
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "[\"0193a2b4-0000-7000-8000-000000000003\"]");
    PQclear(res);
    res = bw_test_sql(gateway, page, "api_keys", "[\"0193a2b4-0000-7000-8000-000000000005\"]");
    /* The rest: the other tables' headings, and the tenant's one row. */
    int tenants_rows = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        ck_assert_str_ne(PQgetvalue(res, r, 0), "tenancy.api_keys");
        tenants_rows += strcmp(PQgetvalue(res, r, 0), "tenancy.tenants") == 0 &&
                        strcmp(PQgetvalue(res, r, 2), "t") == 0;
    }
    ck_assert_int_eq(tenants_rows, 1);
    PQclear(res);
    /* Nothing of another tenant's. */
    char *b = bw_test_uuid_str();
    bw_test_exec(gateway, "SELECT set_config('bulwark.tenant_id', $1, true)", b);
    res = bw_test_sql(gateway, page, "", "");
    for (int r = 0; r < PQntuples(res); r++)
        ck_assert(PQgetisnull(res, r, 1));
    PQclear(res);
    bw_test_exec(gateway, "ROLLBACK");
    bw_test_exec(gateway, "BEGIN");
    bw_test_exec(gateway, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    bw_test_exec(gateway, "SELECT * FROM bulwark.erase_tenant_rows('tenancy')");
    bw_test_exec(gateway, "COMMIT");
    PQfinish(gateway);
    free(a);
    free(b);
}
END_TEST

Suite *suite_erasure(void)
{
    Suite *s = suite_create("erasure");
    TCase *tc = tcase_create("erasure");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, each_process_erases_its_tenant_and_no_other);
    tcase_add_test(tc, erasure_is_confined);
    tcase_add_test(tc, append_only_tables_still_refuse_deletes);
    tcase_add_test(tc, export_pages_by_primary_key);
    suite_add_tcase(s, tc);
    return s;
}
