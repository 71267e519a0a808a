/*
 * The row-level-security proof. Structurally: every table in the database
 * with a tenant_id column has row-level security enabled and forced, no view
 * or other relation lets a service's role read tenant rows around it, no
 * policy but tenant_isolation applies to a role that can act outside a
 * SECURITY DEFINER function, and no process's login role can bypass it.
 * Behaviourally, for the login role of every process: on a table that holds
 * rows of two tenants, a session sees nothing without the tenant setting and
 * only its tenant's rows with it, and cannot write another tenant's rows. The
 * behavioural check runs on the suite's scratch table with real sessions
 * and, for every tenant table of the database, as each role that may read it,
 * with probe rows inserted by a superuser in a transaction that is rolled
 * back, so the check needs to know nothing of the tables' columns.
 */
#include "status.h"
#include "testkit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scratch_ddl =
    "DROP SCHEMA IF EXISTS bw_itest_rls CASCADE;"
    "CREATE SCHEMA bw_itest_rls;"
    "CREATE TABLE bw_itest_rls.notes ("
    "  tenant_id uuid NOT NULL,"
    "  id int NOT NULL,"
    "  body text NOT NULL,"
    "  kind text NOT NULL CONSTRAINT notes_kind_check CHECK (kind IN ('memo', 'task')),"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (tenant_id, id));"
    "ALTER TABLE bw_itest_rls.notes ENABLE ROW LEVEL SECURITY;"
    "ALTER TABLE bw_itest_rls.notes FORCE ROW LEVEL SECURITY;"
    "CREATE POLICY tenant_isolation ON bw_itest_rls.notes"
    "  USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);"
    "GRANT USAGE ON SCHEMA bw_itest_rls TO bulwark_tenancy, bulwark_scoping, bulwark_crosswalk,"
    "  bulwark_incidents, bulwark_attestations, bulwark_integrations;"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON bw_itest_rls.notes TO bulwark_tenancy,"
    "  bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations,"
    "  bulwark_integrations;";

/* Whether a role other than the superusers, the owner (current_user) and
 * PostgreSQL's own can read relation c. */
#define READABLE_BY_OTHERS                                                                         \
    "EXISTS (SELECT FROM pg_roles r WHERE NOT r.rolsuper AND r.rolname <> current_user"            \
    "        AND r.rolname !~ '^pg_' AND has_table_privilege(r.oid, c.oid, 'SELECT'))"

/* Relations holding a tenant_id column that break isolation, one row each
 * with the reason. Tables need RLS enabled and forced (forced so that the
 * owner, too, is filtered); a view must run with its caller's rights, or it
 * reads as its owner; anything else cannot carry policies, so no role but
 * the owner may be able to read it at all. */
static const char *const violations_sql =
    "SELECT format('%I.%I', n.nspname, c.relname),"
    "  CASE"
    "    WHEN c.relkind IN ('r', 'p') AND NOT c.relrowsecurity"
    "      THEN 'row-level security is not enabled'"
    "    WHEN c.relkind IN ('r', 'p') AND NOT c.relforcerowsecurity"
    "      THEN 'row-level security is not forced'"
    "    WHEN c.relkind = 'v' AND " READABLE_BY_OTHERS
    "         AND NOT EXISTS (SELECT FROM unnest(c.reloptions) o"
    "                         WHERE o ~* '^security_invoker=(true|on|yes|1)$')"
    "      THEN 'view readable by a service without security_invoker'"
    "    WHEN c.relkind IN ('m', 'f') AND " READABLE_BY_OTHERS
    "      THEN 'relation without row-level security readable by a service'"
    "  END AS reason "
    "FROM pg_attribute a "
    "JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped"
    "  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    "  AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    "  AND n.nspname !~ '^pg_(toast|temp)' "
    "ORDER BY 1";

/* Tenant tables the migrations create, every schema's: the checks below
 * discover tenant tables from the catalogue, so a table that a migration
 * failed to create would go unchecked without this list. Newer tables are
 * found and checked without being listed here. */
static const char *const expected_tables[] = {
    "attestations.board_members",
    "attestations.campaigns",
    "attestations.chain_heads",
    "attestations.records",
    "bulwark.audit_events",
    "bulwark.idempotency_keys",
    "bulwark.outbox",
    "crosswalk.mapping_overrides",
    "crosswalk.soa_controls",
    "crosswalk.soa_history",
    "incidents.deadlines",
    "incidents.events",
    "incidents.incidents",
    "integrations.deliveries",
    "integrations.webhook_endpoints",
    "scoping.entities",
    "scoping.entity_tombstones",
    "tenancy.api_keys",
    "tenancy.request_counts",
    "tenancy.tenants",
};

/* Fails naming every expected table that res (one table name a row, in
 * column col) does not hold. */
static void assert_expected_tables(PGresult *res, int col)
{
    for (size_t e = 0; e < sizeof(expected_tables) / sizeof(expected_tables[0]); e++) {
        int found = 0;
        for (int i = 0; i < PQntuples(res) && !found; i++)
            found = strcmp(PQgetvalue(res, i, col), expected_tables[e]) == 0;
        ck_assert_msg(found, "tenant table %s is missing: are the migrations applied?",
                      expected_tables[e]);
    }
}

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
    bw_test_exec(admin, "DROP SCHEMA IF EXISTS bw_itest_rls CASCADE");
    PQfinish(admin);
}

/* Runs sql in a transaction of conn with the tenant set (NULL: not set) and
 * returns its result; the transaction is rolled back. Caller owns. */
static PGresult *as_tenant(PGconn *conn, const char *tenant, const char *sql, const char *param)
{
    bw_test_exec(conn, "BEGIN");
    if (tenant != NULL)
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    PGresult *res = param != NULL ? bw_test_sql(conn, sql, param) : bw_test_sql(conn, sql);
    bw_test_exec(conn, "ROLLBACK");
    return res;
}

static long count_as(PGconn *conn, const char *tenant, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    PGresult *res = as_tenant(conn, tenant, sql, NULL);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

START_TEST(test_every_tenant_table_forces_rls)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(admin, violations_sql);
    char report[4096] = "";
    size_t used = 0;
    int tables = PQntuples(res), bad = 0;
    for (int i = 0; i < tables; i++) {
        if (PQgetisnull(res, i, 1))
            continue;
        bad++;
        int n = snprintf(report + used, sizeof(report) - used, "\n  %s: %s", PQgetvalue(res, i, 0),
                         PQgetvalue(res, i, 1));
        if (n > 0 && (size_t)n < sizeof(report) - used)
            used += (size_t)n;
    }
    assert_expected_tables(res, 0);
    ck_assert_msg(bad == 0, "%d of %d relations with tenant_id break tenant isolation:%s", bad,
                  tables, report);
    PQclear(res);
    PQfinish(admin);
}
END_TEST

/* A policy other than tenant_isolation widens what its roles see. Only
 * roles that cannot log in and have no members may have one: then only the
 * SECURITY DEFINER function they own acts with it. And tenant_isolation
 * itself must compare tenant_id with the setting. */
START_TEST(test_no_policy_widens_what_a_service_sees)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(
        admin,
        "SELECT format('%s on %s', p.polname, p.polrelid::regclass) FROM pg_policy p"
        " WHERE CASE WHEN p.polname = 'tenant_isolation'"
        "   THEN pg_get_expr(p.polqual, p.polrelid) <> $q$(tenant_id = (NULLIF(current_setting("
        "'bulwark.tenant_id'::text, true), ''::text))::uuid)$q$"
        "   ELSE 0 = ANY (p.polroles) OR EXISTS (SELECT FROM pg_roles r"
        "     WHERE r.oid = ANY (p.polroles) AND (r.rolcanlogin"
        "       OR EXISTS (SELECT FROM pg_auth_members m WHERE m.roleid = r.oid))) END");
    ck_assert_msg(PQntuples(res) == 0, "policy %s lets a role that can log in see more",
                  PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    PQfinish(admin);
}
END_TEST

START_TEST(test_no_login_role_can_bypass_rls)
{
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        PGconn *app = bw_test_pg(p->url_env);
        PGresult *res = bw_test_sql(app,
                                    "SELECT current_user, rolsuper, rolbypassrls, "
                                    "pg_has_role(current_user, $1, 'USAGE') FROM pg_roles "
                                    "WHERE rolname = current_user",
                                    p->group);
        ck_assert_int_eq(PQntuples(res), 1);
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 1), "f") == 0, "role %s is a superuser",
                      PQgetvalue(res, 0, 0));
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 2), "f") == 0, "role %s has BYPASSRLS",
                      PQgetvalue(res, 0, 0));
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 3), "t") == 0,
                      "role %s does not have the privileges of %s", PQgetvalue(res, 0, 0),
                      p->group);
        PQclear(res);
        /* Neither through any role it belongs to. */
        res = bw_test_sql(app, "SELECT string_agg(rolname, ',') FROM pg_roles"
                               " WHERE (rolsuper OR rolbypassrls)"
                               "   AND pg_has_role(current_user, oid, 'MEMBER')");
        ck_assert_msg(PQgetisnull(res, 0, 0), "%s belongs to %s", p->login, PQgetvalue(res, 0, 0));
        PQclear(res);

        /* It cannot create objects where nobody looks for them either. */
        ck_assert_str_eq(bw_test_sql_error(app, "CREATE TABLE public.bw_itest_sneaky (x int)"),
                         "42501");
        PQfinish(app);
    }
}
END_TEST

/* The scratch table's proof as one process's login role. */
static void two_tenants_as(const bw_test_process_t *p)
{
    const char *table = "bw_itest_rls.notes";
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str(), *c = bw_test_uuid_str();
    /* Rows of two tenants at once: past row-level security. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(admin,
                 "INSERT INTO bw_itest_rls.notes (tenant_id, id, body, kind) VALUES "
                 "($1, 1, 'a1', 'memo'), ($1, 2, 'a2', 'task'),"
                 "($2, 1, 'b1', 'memo'), ($2, 2, 'b2', 'memo'), ($2, 3, 'b3', 'task')",
                 a, b);
    PQfinish(admin);

    PGconn *app = bw_test_pg(p->url_env);
    /* No setting, an empty one, or an unknown tenant: nothing. */
    ck_assert_int_eq(count_as(app, NULL, table), 0);
    ck_assert_int_eq(count_as(app, "", table), 0);
    ck_assert_int_eq(count_as(app, c, table), 0);

    PGresult *res = as_tenant(app, a, "SELECT tenant_id, body FROM bw_itest_rls.notes", NULL);
    ck_assert_int_eq(PQntuples(res), 2);
    for (int i = 0; i < PQntuples(res); i++)
        ck_assert_str_eq(PQgetvalue(res, i, 0), a);
    PQclear(res);
    ck_assert_int_eq(count_as(app, b, table), 3);

    /* Asking for the other tenant's rows explicitly changes nothing. */
    res = as_tenant(app, a, "SELECT count(*) FROM bw_itest_rls.notes WHERE tenant_id = $1", b);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    res = as_tenant(app, a, "UPDATE bw_itest_rls.notes SET body = 'x' WHERE tenant_id = $1", b);
    ck_assert_str_eq(PQcmdTuples(res), "0");
    PQclear(res);
    res = as_tenant(app, a, "DELETE FROM bw_itest_rls.notes", NULL);
    ck_assert_str_eq(PQcmdTuples(res), "2");
    PQclear(res);

    /* Writing a row into another tenant, directly or by moving one, fails. */
    bw_test_exec(app, "BEGIN");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    ck_assert_str_eq(bw_test_sql_error(app,
                                       "INSERT INTO bw_itest_rls.notes (tenant_id, id, body, kind) "
                                       "VALUES ($1, 9, 'sneaky', 'memo')",
                                       b),
                     "42501");
    bw_test_exec(app, "ROLLBACK");
    bw_test_exec(app, "BEGIN");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    ck_assert_str_eq(bw_test_sql_error(app, "UPDATE bw_itest_rls.notes SET tenant_id = $1", b),
                     "42501");
    bw_test_exec(app, "ROLLBACK");

    /* A malformed setting fails closed rather than matching anything. */
    bw_test_exec(app, "BEGIN");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', 'garbage', true)");
    ck_assert_str_eq(bw_test_sql_error(app, "SELECT count(*) FROM bw_itest_rls.notes"), "22P02");
    bw_test_exec(app, "ROLLBACK");

    /* A transaction-local setting is gone after its transaction. */
    bw_test_exec(app, "BEGIN");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    bw_test_exec(app, "COMMIT");
    ck_assert_int_eq(count_as(app, NULL, table), 0);

    ck_assert_int_eq(count_as(app, a, table), 2);
    PQfinish(app);
    free(a);
    free(b);
    free(c);
}

START_TEST(test_two_tenants_on_the_scratch_table)
{
    for (int i = 0; i < bw_test_n_processes; i++)
        two_tenants_as(&bw_test_processes[i]);
}
END_TEST

/* Appends a value expression of the column's type for probe row k, or returns
 * -1 when the type is one this probe cannot make up. */
static int probe_value(char *dst, size_t len, const PGresult *cols, int row, int k)
{
    const char *type = PQgetvalue(cols, row, 1);
    char category = PQgetvalue(cols, row, 2)[0];
    const char *base = PQgetvalue(cols, row, 3);
    const char *base_oid = PQgetvalue(cols, row, 4);
    long maxlen = strtol(PQgetvalue(cols, row, 5), NULL, 10);
    int n;
    switch (category) {
    case 'S':
        n = snprintf(dst, len, "left('p%d' || md5(random()::text), %ld)::%s", k,
                     maxlen > 0 && maxlen < 24 ? maxlen : 24, type);
        break;
    case 'N':
        n = snprintf(dst, len, "%d::%s", k, type);
        break;
    case 'B':
        n = snprintf(dst, len, "false::%s", type);
        break;
    case 'D':
        n = snprintf(dst, len, "now()::%s", type);
        break;
    case 'T':
        n = snprintf(dst, len, "interval '1 hour'::%s", type);
        break;
    case 'A':
        n = snprintf(dst, len, "'{}'::%s", type);
        break;
    case 'I':
        n = snprintf(dst, len, "'127.0.0.1'::%s", type);
        break;
    case 'E':
        n = snprintf(dst, len,
                     "(SELECT enumlabel FROM pg_enum WHERE enumtypid = %s "
                     "ORDER BY enumsortorder LIMIT 1)::%s",
                     base_oid, type);
        break;
    case 'U':
        if (strcmp(base, "uuid") == 0)
            n = snprintf(dst, len, "gen_random_uuid()::%s", type);
        else if (strcmp(base, "jsonb") == 0 || strcmp(base, "json") == 0)
            n = snprintf(dst, len, "'{}'::%s", type);
        else if (strcmp(base, "bytea") == 0)
            n = snprintf(dst, len, "'\\x00'::%s", type);
        else
            return -1;
        break;
    default:
        return -1;
    }
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Builds "INSERT INTO table (tenant_id, required columns...) VALUES ($1, ...)"
 * for probe row k, filling every NOT NULL column without a default. */
static void probe_insert_sql(PGconn *admin, const char *table, int k, char *sql, size_t len)
{
    PGresult *cols = bw_test_sql(
        admin,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), bt.typcategory, bt.typname,"
        "  bt.oid, CASE WHEN bt.typcategory = 'S'"
        "    THEN greatest(coalesce(nullif(a.atttypmod, -1), t.typtypmod) - 4, 0) ELSE 0 END,"
        "  a.attname = 'tenant_id'"
        "  OR (a.attnotnull AND NOT a.atthasdef AND a.attgenerated = '' AND a.attidentity = '')"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
        " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attnum",
        table);
    char names[2048] = "", values[4096] = "";
    size_t nu = 0, vu = 0;
    for (int i = 0; i < PQntuples(cols); i++) {
        if (strcmp(PQgetvalue(cols, i, 6), "t") != 0)
            continue;
        const char *name = PQgetvalue(cols, i, 0);
        char value[512];
        if (strcmp(name, "tenant_id") == 0)
            snprintf(value, sizeof(value), "$1::%s", PQgetvalue(cols, i, 1));
        else if (probe_value(value, sizeof(value), cols, i, k) != 0)
            ck_abort_msg("cannot make up a value of type %s for %s.%s: extend probe_value",
                         PQgetvalue(cols, i, 1), table, name);
        char *ident = PQescapeIdentifier(admin, name, strlen(name));
        ck_assert_ptr_nonnull(ident);
        nu += (size_t)snprintf(names + nu, sizeof(names) - nu, "%s%s", nu ? ", " : "", ident);
        vu += (size_t)snprintf(values + vu, sizeof(values) - vu, "%s%s", vu ? ", " : "", value);
        PQfreemem(ident);
        ck_assert_msg(nu < sizeof(names) && vu < sizeof(values), "%s has too many columns", table);
    }
    PQclear(cols);
    int n = snprintf(sql, len, "INSERT INTO %s (%s) VALUES (%s)", table, names, values);
    ck_assert_msg(n > 0 && (size_t)n < len, "probe insert for %s is too long", table);
}

/* Runs one probe insert in a savepoint; returns 1 when the row went in. */
static int probe_insert(PGconn *conn, const char *sql, const char *tenant)
{
    bw_test_exec(conn, "SAVEPOINT probe_row");
    PGresult *res = PQexecParams(conn, sql, 1, NULL, (const char *const[]){tenant}, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    bw_test_exec(conn, ok ? "RELEASE SAVEPOINT probe_row" : "ROLLBACK TO SAVEPOINT probe_row");
    return ok;
}

/* Inserts two rows of tenant a and one of b into table as a superuser,
 * inside a transaction it rolls back, then switches to role in that
 * transaction and checks what each tenant sees. Foreign keys and triggers
 * are off during the probe (session_replication_role) and CHECK constraints
 * that reject made-up values are dropped in the same transaction, so any
 * tenant table can be probed without knowing its meaning. A table whose key
 * is tenant_id alone (tenancy.tenants) takes one row per tenant. */
static void probe_isolation(const char *table, const char *role)
{
    char *a = bw_test_uuid_str(), *b = bw_test_uuid_str();
    char insert_sql[3][8192];
    PGconn *admin = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    for (int k = 0; k < 3; k++)
        probe_insert_sql(admin, table, k + 1, insert_sql[k], sizeof(insert_sql[k]));

    bw_test_exec(admin, "BEGIN");
    bw_test_exec(admin, "SET LOCAL session_replication_role = replica");
    if (!probe_insert(admin, insert_sql[0], a)) {
        PGresult *res =
            bw_test_sql(admin,
                        "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', $1::text, conname) "
                        "FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'",
                        table);
        for (int i = 0; i < PQntuples(res); i++)
            bw_test_exec(admin, PQgetvalue(res, i, 0));
        PQclear(res);
        ck_assert_msg(probe_insert(admin, insert_sql[0], a), "%s: no probe row goes in", table);
    }
    int rows_a = 1 + probe_insert(admin, insert_sql[1], a);
    int rows_b = probe_insert(admin, insert_sql[2], b);
    ck_assert_msg(rows_b == 1, "%s: the probe row of the second tenant does not go in", table);

    bw_test_exec(admin, "SELECT set_config('role', $1, true)", role);
    char count_sql[512];
    snprintf(count_sql, sizeof(count_sql),
             "SELECT count(*), count(*) FILTER (WHERE tenant_id = $1::uuid) FROM %s", table);
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', '', true)");
    PGresult *res = bw_test_sql(admin, count_sql, a);
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "0") == 0, "%s: %s sees %s rows without a tenant",
                  table, role, PQgetvalue(res, 0, 0));
    PQclear(res);
    char want[16];
    snprintf(want, sizeof(want), "%d", rows_a);
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, true)", a);
    res = bw_test_sql(admin, count_sql, a);
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), want) == 0 &&
                      strcmp(PQgetvalue(res, 0, 1), want) == 0,
                  "%s: %s as tenant A sees %s rows, %s of them its own; expected %s and %s", table,
                  role, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), want, want);
    PQclear(res);
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, true)", b);
    res = bw_test_sql(admin, count_sql, b);
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "1") == 0 &&
                      strcmp(PQgetvalue(res, 0, 1), "1") == 0,
                  "%s: %s as tenant B sees %s rows, %s of them its own; expected 1 and 1", table,
                  role, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    PQclear(res);
    bw_test_exec(admin, "ROLLBACK");
    PQfinish(admin);
    free(a);
    free(b);
}

START_TEST(test_probe_on_the_scratch_table)
{
    for (int i = 0; i < bw_test_n_processes; i++)
        probe_isolation("bw_itest_rls.notes", bw_test_processes[i].login);
}
END_TEST

/* Every tenant table of the database, as every process's login role that
 * may read it. */
START_TEST(test_probe_on_every_tenant_table)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *tables =
        bw_test_sql(admin, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
                           " JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
                           "   AND NOT a.attisdropped"
                           " WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^(pg_|bw_itest_)'"
                           "   AND n.nspname <> 'information_schema' ORDER BY 1");
    assert_expected_tables(tables, 0);
    int probes = 0;
    for (int t = 0; t < PQntuples(tables); t++) {
        const char *table = PQgetvalue(tables, t, 0);
        for (int i = 0; i < bw_test_n_processes; i++) {
            const char *role = bw_test_processes[i].login;
            PGresult *can =
                bw_test_sql(admin, "SELECT has_table_privilege($1, $2, 'SELECT')", role, table);
            int readable = strcmp(PQgetvalue(can, 0, 0), "t") == 0;
            PQclear(can);
            if (readable) {
                probe_isolation(table, role);
                probes++;
            }
        }
    }
    /* Each process reads one tenant table at least, and some tables are
     * read by several (the idempotency records by all). */
    ck_assert_msg(probes >= PQntuples(tables) && probes >= bw_test_n_processes,
                  "only %d probes on %d tables: are the migrations applied?", probes,
                  PQntuples(tables));
    PQclear(tables);
    PQfinish(admin);
}
END_TEST

Suite *suite_rls(void)
{
    Suite *s = suite_create("rls");
    TCase *tc = tcase_create("rls");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, scratch_create, scratch_drop);
    tcase_add_test(tc, test_every_tenant_table_forces_rls);
    tcase_add_test(tc, test_no_policy_widens_what_a_service_sees);
    tcase_add_test(tc, test_no_login_role_can_bypass_rls);
    tcase_add_test(tc, test_two_tenants_on_the_scratch_table);
    tcase_add_test(tc, test_probe_on_the_scratch_table);
    tcase_add_test(tc, test_probe_on_every_tenant_table);
    suite_add_tcase(s, tc);
    return s;
}
