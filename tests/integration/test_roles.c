/*
 * One database role per process. Each process logs in as its own role
 * (bulwark_app_<process>), a member of its group role only, neither
 * superuser nor BYPASSRLS; it reaches its own schema and, in the shared
 * bulwark schema, only what the write path needs; only the gateway's role
 * can insert API keys. The owner that migrates is no superuser either, as on
 * managed PostgreSQL, and tenancy.resolve_api_key still finds a key across
 * tenants there, through a role that owns nothing but that function.
 *
 * The checks are both read from the catalog (every relation of every
 * Bulwark schema, every privilege) and tried for real, as each login role.
 */
#include "testkit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schemas of the processes, and the shared one. */
#define BULWARK_SCHEMAS                                                                            \
    "'tenancy', 'scoping', 'crosswalk', 'incidents', 'attestations', 'integrations', 'bulwark'"

/* The roles that own a cross-tenant SECURITY DEFINER function, and nothing else. */
static const char *const definer_roles[] = {
    "bulwark_key_resolver",   "bulwark_idempotency_purger", "bulwark_tombstone_purger",
    "bulwark_outbox_relay",   "bulwark_webhook_dispatcher", "bulwark_deadline_scheduler",
    "bulwark_history_pruner", "bulwark_ticket_inbound",     "bulwark_tenant_lister",
    "bulwark_tenant_eraser",  "bulwark_secrets_resealer"};
#define N_DEFINER_ROLES (int)(sizeof(definer_roles) / sizeof(definer_roles[0]))

/* definer_roles as a PostgreSQL array literal, "{a,b}". */
static const char *definer_roles_array(void)
{
    static char out[512];
    size_t n = 0;
    out[n++] = '{';
    for (int i = 0; i < N_DEFINER_ROLES; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "", definer_roles[i]);
    ck_assert_uint_lt(n + 1, sizeof(out));
    out[n++] = '}';
    out[n] = '\0';
    return out;
}

static int is_true(const PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

START_TEST(test_login_roles_are_plain_members_of_their_group)
{
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        PGconn *conn = bw_test_pg(p->url_env);
        PGresult *res = bw_test_sql(
            conn, "SELECT current_user, rolsuper, rolbypassrls, rolreplication, rolcreaterole,"
                  "  rolcreatedb, rolcanlogin,"
                  "  (SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_roles g"
                  "    WHERE g.oid <> r.oid AND pg_has_role(r.oid, g.oid, 'MEMBER'))"
                  " FROM pg_roles r WHERE rolname = current_user");
        ck_assert_int_eq(PQntuples(res), 1);
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), p->login) == 0,
                      "%s connects as %s, expected %s", p->url_env, PQgetvalue(res, 0, 0),
                      p->login);
        ck_assert_msg(!is_true(res, 0, 1), "%s is a superuser", p->login);
        ck_assert_msg(!is_true(res, 0, 2), "%s has BYPASSRLS", p->login);
        ck_assert_msg(!is_true(res, 0, 3), "%s has REPLICATION", p->login);
        ck_assert_msg(!is_true(res, 0, 4) && !is_true(res, 0, 5),
                      "%s can create roles or databases", p->login);
        ck_assert(is_true(res, 0, 6));
        /* Directly or not: no pg_write_all_data, no other service's group. */
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 7), p->group) == 0,
                      "%s is a member of \"%s\", expected \"%s\" only", p->login,
                      PQgetvalue(res, 0, 7), p->group);
        PQclear(res);
        PQfinish(conn);
    }
}
END_TEST

START_TEST(test_group_roles_cannot_log_in_or_bypass_rls)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    for (int i = 0; i < bw_test_n_processes + N_DEFINER_ROLES; i++) {
        const char *role = i < bw_test_n_processes ? bw_test_processes[i].group
                                                   : definer_roles[i - bw_test_n_processes];
        /* A group's one member is its process's login role; the definer
         * roles have none, so nobody can act as them outside their function. */
        const char *member = i < bw_test_n_processes ? bw_test_processes[i].login : "";
        PGresult *res =
            bw_test_sql(admin,
                        "SELECT rolcanlogin, rolsuper, rolbypassrls, rolreplication, rolcreaterole,"
                        "  rolcreatedb,"
                        "  coalesce((SELECT string_agg(u.rolname, ',' ORDER BY u.rolname)"
                        "     FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member"
                        "    WHERE m.roleid = r.oid), '')"
                        " FROM pg_roles r WHERE rolname = $1",
                        role);
        ck_assert_msg(PQntuples(res) == 1, "role %s is missing: run the migrations", role);
        for (int col = 0; col < 6; col++)
            ck_assert_msg(!is_true(res, 0, col), "role %s has attribute %s", role,
                          PQfname(res, col));
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 6), member) == 0,
                      "role %s has the members \"%s\", expected \"%s\"", role,
                      PQgetvalue(res, 0, 6), member);
        PQclear(res);
    }
    /* What every process shared before is gone: bulwark_service, and
     * bulwark_app, which may only survive without the right to log in. */
    PGresult *res = bw_test_sql(admin, "SELECT count(*) FROM pg_roles WHERE rolname = "
                                       "'bulwark_service' OR (rolname = 'bulwark_app' AND "
                                       "rolcanlogin)");
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "0") == 0,
                  "bulwark_service exists, or bulwark_app can still log in");
    PQclear(res);
    PQfinish(admin);
}
END_TEST

START_TEST(test_the_owner_is_no_superuser)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(admin, "SELECT current_user, rolsuper, rolbypassrls, rolcreaterole,"
                                       "  (SELECT pg_get_userbyid(datdba) FROM pg_database"
                                       "    WHERE datname = current_database())"
                                       " FROM pg_roles WHERE rolname = current_user");
    const char *owner = PQgetvalue(res, 0, 0);
    ck_assert_msg(!is_true(res, 0, 1), "the owner %s is a superuser", owner);
    ck_assert_msg(!is_true(res, 0, 2), "the owner %s has BYPASSRLS", owner);
    ck_assert_msg(is_true(res, 0, 3), "the owner %s cannot create roles", owner);
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 4), owner) == 0, "the database belongs to %s, not %s",
                  PQgetvalue(res, 0, 4), owner);
    PQclear(res);
    /* It made everything: every schema, relation and function is its own,
     * but for the functions of the definer roles. */
    res = bw_test_sql(
        admin,
        "SELECT 'schema ' || nspname || ' of ' || pg_get_userbyid(nspowner) FROM pg_namespace"
        " WHERE nspname IN (" BULWARK_SCHEMAS ") AND nspowner <> current_user::regrole"
        " UNION ALL"
        " SELECT format('%s of %s', c.oid::regclass, pg_get_userbyid(c.relowner)) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN (" BULWARK_SCHEMAS ") AND c.relowner <> current_user::regrole"
        " UNION ALL"
        " SELECT format('%s of %s', p.oid::regprocedure, pg_get_userbyid(p.proowner))"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname IN (" BULWARK_SCHEMAS ") AND p.proowner <> current_user::regrole"
        "   AND pg_get_userbyid(p.proowner) <> ALL ($1::text[])",
        definer_roles_array());
    ck_assert_msg(PQntuples(res) == 0, "not owned by the owner: %s",
                  PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    PQfinish(admin);
}
END_TEST

/* Every privilege of login on every relation of the Bulwark schemas, as
 * "schema.table PRIVILEGE", and what is allowed of them. */
static const char *const privileges_sql =
    "SELECT format('%I.%I %s', n.nspname, c.relname, p.priv), n.nspname, c.relname, p.priv"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',"
    "                         'TRIGGER']) p(priv)"
    " WHERE n.nspname IN (" BULWARK_SCHEMAS ") AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    "   AND CASE WHEN p.priv IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')"
    "            THEN has_any_column_privilege($1, c.oid, p.priv)"
    "            ELSE has_table_privilege($1, c.oid, p.priv) END"
    " ORDER BY 1";

static int privilege_allowed(const bw_test_process_t *p, const char *schema, const char *table,
                             const char *priv)
{
    if (strcmp(priv, "TRUNCATE") == 0 || strcmp(priv, "REFERENCES") == 0 ||
        strcmp(priv, "TRIGGER") == 0)
        return 0;
    if (strcmp(schema, p->schema) == 0)
        return 1;
    if (strcmp(schema, "bulwark") != 0)
        return 0;
    if (strcmp(table, "audit_events") == 0)
        return strcmp(priv, "INSERT") == 0 ||
               (strcmp(priv, "SELECT") == 0 && strcmp(p->name, "gateway") == 0);
    if (strcmp(table, "idempotency_keys") == 0)
        return strcmp(priv, "DELETE") != 0;
    /* Every process that writes resources appends events; none reads them
     * but through the relay's function, and the gateway, which exports a
     * tenant's rows of the shared schema (under row-level security). */
    if (strcmp(table, "outbox") == 0)
        return strcmp(p->name, "gateway") == 0 ? strcmp(priv, "SELECT") == 0
                                               : strcmp(priv, "INSERT") == 0;
    return 0;
}

START_TEST(test_each_role_holds_privileges_on_its_own_schema_only)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        PGresult *res = bw_test_sql(admin, privileges_sql, p->login);
        int own = 0;
        for (int r = 0; r < PQntuples(res); r++) {
            ck_assert_msg(privilege_allowed(p, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
                                            PQgetvalue(res, r, 3)),
                          "%s holds %s", p->login, PQgetvalue(res, r, 0));
            own += strcmp(PQgetvalue(res, r, 1), p->schema) == 0;
        }
        ck_assert_msg(own > 0, "%s holds no privilege on its own schema %s", p->login, p->schema);
        PQclear(res);

        /* Schemas: usage of its own and the shared one; it creates nothing,
         * anywhere, not even a schema of its own. */
        res = bw_test_sql(admin,
                          "SELECT nspname || ' ' || priv FROM pg_namespace"
                          " CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) priv"
                          " WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
                          "   AND has_schema_privilege($1, oid, priv)"
                          "   AND NOT (priv = 'USAGE' AND nspname IN ($2, 'bulwark', 'public'))"
                          " UNION ALL SELECT 'database CREATE' WHERE has_database_privilege($1,"
                          "   current_database(), 'CREATE')",
                          p->login, p->schema);
        ck_assert_msg(PQntuples(res) == 0, "%s holds %s", p->login,
                      PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
        PQclear(res);
    }
    PQfinish(admin);
}
END_TEST

START_TEST(test_each_role_is_refused_other_schemas)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *tables =
        bw_test_sql(admin, "SELECT n.nspname, format('%I.%I', n.nspname, c.relname) FROM pg_class c"
                           " JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " WHERE n.nspname IN ('tenancy', 'scoping', 'crosswalk', 'incidents',"
                           "   'attestations') AND c.relkind IN ('r', 'p', 'v')"
                           " ORDER BY 2");
    PQfinish(admin);
    ck_assert_msg(PQntuples(tables) >= 5, "too few tables found: are the migrations applied?");
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        PGconn *conn = bw_test_pg(p->url_env);
        for (int t = 0; t < PQntuples(tables); t++) {
            const char *table = PQgetvalue(tables, t, 1);
            char sql[256];
            snprintf(sql, sizeof(sql), "SELECT 1 FROM %s LIMIT 0", table);
            if (strcmp(PQgetvalue(tables, t, 0), p->schema) == 0) {
                /* Its own tables it reads (rows or not). */
                PQclear(bw_test_sql(conn, sql));
                continue;
            }
            PGresult *res = PQexec(conn, sql);
            ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR &&
                              strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501") == 0,
                          "%s: %s was not refused", p->login, sql);
            PQclear(res);
            snprintf(sql, sizeof(sql), "DELETE FROM %s", table);
            ck_assert_str_eq(bw_test_sql_error(conn, sql), "42501");
        }
        /* The shared schema: the audit trail is read by the gateway only,
         * and no process deletes an idempotency record itself. */
        if (strcmp(p->name, "gateway") != 0)
            ck_assert_str_eq(bw_test_sql_error(conn, "SELECT 1 FROM bulwark.audit_events"),
                             "42501");
        ck_assert_str_eq(bw_test_sql_error(conn, "DELETE FROM bulwark.audit_events"), "42501");
        ck_assert_str_eq(bw_test_sql_error(conn, "DELETE FROM bulwark.idempotency_keys"), "42501");
        PQfinish(conn);
    }
    PQclear(tables);
}
END_TEST

/* The examples the issue names, one by one. */
START_TEST(test_named_cross_service_refusals)
{
    PGconn *scoping = bw_test_pg(bw_test_process("scoping")->url_env);
    ck_assert_str_eq(bw_test_sql_error(scoping, "SELECT * FROM crosswalk.soa_controls"), "42501");
    ck_assert_str_eq(bw_test_sql_error(scoping, "SELECT * FROM crosswalk.mappings"), "42501");
    PQfinish(scoping);

    char *tenant = bw_test_uuid_str();
    PGconn *incidents = bw_test_pg(bw_test_process("incidents")->url_env);
    bw_test_exec(incidents, "BEGIN");
    bw_test_exec(incidents, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    ck_assert_str_eq(bw_test_sql_error(incidents,
                                       "INSERT INTO tenancy.api_keys (tenant_id, key_id, name, "
                                       "role, secret_sha256) VALUES ($1, gen_random_uuid(), "
                                       "'sneaky', 'admin', sha256('x'))",
                                       tenant),
                     "42501");
    bw_test_exec(incidents, "ROLLBACK");
    PQfinish(incidents);

    PGconn *attestations = bw_test_pg(bw_test_process("attestations")->url_env);
    ck_assert_str_eq(bw_test_sql_error(attestations, "SELECT * FROM scoping.entities"), "42501");
    ck_assert_str_eq(
        bw_test_sql_error(attestations, "SELECT * FROM tenancy.resolve_api_key(gen_random_uuid())"),
        "42501");
    PQfinish(attestations);
    free(tenant);
}
END_TEST

START_TEST(test_only_the_gateway_inserts_api_keys)
{
    /* Of every role of the cluster but the superusers, the owner and
     * PostgreSQL's own (pg_write_all_data, which nobody here is granted). */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(
        admin, "SELECT coalesce(string_agg(rolname, ',' ORDER BY rolname), '') FROM pg_roles"
               " WHERE NOT rolsuper AND rolname <> current_user AND rolname !~ '^pg_'"
               "   AND has_any_column_privilege(oid, 'tenancy.api_keys', 'INSERT')");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "bulwark_app_gateway,bulwark_tenancy");
    PQclear(res);
    PQfinish(admin);

    char *tenant = bw_test_uuid_str();
    for (int i = 0; i < bw_test_n_processes; i++) {
        const bw_test_process_t *p = &bw_test_processes[i];
        PGconn *conn = bw_test_pg(p->url_env);
        bw_test_exec(conn, "BEGIN");
        bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
        const char *insert_key = "INSERT INTO tenancy.api_keys (tenant_id, key_id, name, role, "
                                 "secret_sha256) VALUES ($1, gen_random_uuid(), 'k', 'viewer', "
                                 "sha256('x'))";
        if (strcmp(p->name, "gateway") == 0) {
            bw_test_exec(conn, "INSERT INTO tenancy.tenants (tenant_id, name) VALUES ($1, 'k')",
                         tenant);
            bw_test_exec(conn, insert_key, tenant);
        } else {
            ck_assert_str_eq(bw_test_sql_error(conn, insert_key, tenant), "42501");
        }
        bw_test_exec(conn, "ROLLBACK");
        PQfinish(conn);
    }
    free(tenant);
}
END_TEST

/* The SECURITY DEFINER functions, which cross tenants: who owns them, who
 * may call them. A new one fails here until it is added. */
START_TEST(test_cross_tenant_functions_and_their_callers)
{
    static const struct {
        const char *function;
        const char *owner;
        const char *callers; /* process names, comma-separated */
    } expected[] = {
        {"tenancy.resolve_api_key(uuid)", "bulwark_key_resolver", "gateway"},
        {"bulwark.purge_idempotency_keys()", "bulwark_idempotency_purger",
         "scoping,crosswalk,incidents,attestations,integrations"},
        {"scoping.purge_tombstones()", "bulwark_tombstone_purger", "scoping"},
        {"bulwark.outbox_claim(integer)", "bulwark_outbox_relay", "integrations"},
        {"bulwark.outbox_prune(integer)", "bulwark_outbox_relay", "integrations"},
        {"bulwark.outbox_lag()", "bulwark_outbox_relay", "integrations"},
        {"integrations.claim_deliveries(integer,integer,integer,uuid[],integer[])",
         "bulwark_webhook_dispatcher", "integrations"},
        {"integrations.claim_ticket_jobs(integer,integer)", "bulwark_webhook_dispatcher",
         "integrations"},
        {"integrations.inbound_connection(uuid)", "bulwark_ticket_inbound", "integrations"},
        {"integrations.prune_history(timestamp with time zone,integer,integer,uuid)",
         "bulwark_history_pruner", "integrations"},
        {"integrations.prune_events(timestamp with time zone,integer,integer,uuid,timestamp "
         "with time zone,uuid,uuid)",
         "bulwark_history_pruner", "integrations"},
        {"integrations.sealed_under(text,bytea,integer,uuid,uuid)", "bulwark_secrets_resealer",
         "integrations"},
        {"integrations.reseal(text,uuid,uuid,bytea,bytea,bytea,bytea)", "bulwark_secrets_resealer",
         "integrations"},
        {"tenancy.list_tenants(uuid,integer)", "bulwark_tenant_lister", "gateway"},
        {"incidents.claim_deadline_alerts(timestamp with time zone,integer,uuid,integer[])",
         "bulwark_deadline_scheduler", "incidents"},
        {"incidents.replan_deadline_alerts(integer,uuid,integer[])", "bulwark_deadline_scheduler",
         "incidents"},
        /* Every process, for its own schemas only (the function checks). */
        {"bulwark.erase_tenant_rows(text)", "bulwark_tenant_eraser",
         "gateway,scoping,crosswalk,incidents,attestations,integrations"},
    };
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(admin, "SELECT p.oid::regprocedure::text, "
                                       "pg_get_userbyid(p.proowner) FROM pg_proc p"
                                       " JOIN pg_namespace n ON n.oid = p.pronamespace"
                                       " WHERE p.prosecdef AND n.nspname !~ '^pg_'"
                                       "   AND n.nspname <> 'information_schema' ORDER BY 1");
    ck_assert_int_eq(PQntuples(res), (int)(sizeof(expected) / sizeof(expected[0])));
    for (int r = 0; r < PQntuples(res); r++) {
        int found = -1;
        for (size_t e = 0; e < sizeof(expected) / sizeof(expected[0]); e++)
            if (strcmp(PQgetvalue(res, r, 0), expected[e].function) == 0)
                found = (int)e;
        ck_assert_msg(found >= 0, "SECURITY DEFINER function %s is unknown to this test",
                      PQgetvalue(res, r, 0));
        ck_assert_str_eq(PQgetvalue(res, r, 1), expected[found].owner);
        for (int i = 0; i < bw_test_n_processes; i++) {
            const bw_test_process_t *p = &bw_test_processes[i];
            PGresult *can = bw_test_sql(admin, "SELECT has_function_privilege($1, $2, 'EXECUTE')",
                                        p->login, expected[found].function);
            char callers[128];
            snprintf(callers, sizeof(callers), ",%s,", expected[found].callers);
            char me[64];
            snprintf(me, sizeof(me), ",%s,", p->name);
            int should = strstr(callers, me) != NULL;
            ck_assert_msg(is_true(can, 0, 0) == should, "%s %s execute %s", p->login,
                          should ? "cannot" : "can", expected[found].function);
            PQclear(can);
        }
    }
    PQclear(res);
    PQfinish(admin);
}
END_TEST

/* An inbound ticket event names its connection only: the function that
 * finds it across tenants shows its tenant, system and sealed secret, and
 * its owner can read nothing else of the table. */
START_TEST(test_inbound_connection_shows_only_what_authentication_needs)
{
    char *tenant = bw_test_uuid_str(), *connection = bw_test_uuid_str(),
         *other = bw_test_uuid_str();
    PGconn *svc = bw_test_pg(bw_test_process("integrations")->url_env);
    bw_test_exec(svc, "BEGIN");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    bw_test_exec(svc,
                 "INSERT INTO integrations.connections (tenant_id, connection_id, system, name, "
                 "base_url, entity_id, credentials, inbound_secret) VALUES ($1, $2, 'JIRA', 'j', "
                 "'https://x.example', $1, '\\x01', '\\x02')",
                 tenant, connection);
    bw_test_exec(svc, "COMMIT");
    PGresult *res = bw_test_sql(svc, "SELECT count(*) FROM integrations.connections");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    res = bw_test_sql(svc, "SELECT * FROM integrations.inbound_connection($1)", connection);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_int_eq(PQnfields(res), 3);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), tenant);
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "JIRA");
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "\\x02");
    PQclear(res);
    res = bw_test_sql(svc, "SELECT * FROM integrations.inbound_connection($1)", other);
    ck_assert_int_eq(PQntuples(res), 0);
    PQclear(res);
    PQfinish(svc);
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    res = bw_test_sql(admin,
                      "SELECT has_column_privilege('bulwark_ticket_inbound', "
                      "'integrations.connections', 'credentials', 'SELECT'), "
                      "has_table_privilege('bulwark_ticket_inbound', 'integrations.connections', "
                      "'UPDATE'), rolcanlogin, rolbypassrls FROM pg_roles "
                      "WHERE rolname = 'bulwark_ticket_inbound'");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "f");
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "f");
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "f");
    ck_assert_str_eq(PQgetvalue(res, 0, 3), "f");
    PQclear(res);
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    bw_test_exec(admin, "DELETE FROM integrations.connections WHERE connection_id = $1",
                 connection);
    PQfinish(admin);
    free(tenant);
    free(connection);
    free(other);
}
END_TEST

START_TEST(test_resolve_api_key_with_a_non_superuser_owner)
{
    char *tenant = bw_test_uuid_str(), *key = bw_test_uuid_str(), *other = bw_test_uuid_str();
    PGconn *gateway = bw_test_pg(bw_test_process("gateway")->url_env);
    bw_test_exec(gateway, "BEGIN");
    bw_test_exec(gateway, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    bw_test_exec(gateway, "INSERT INTO tenancy.tenants (tenant_id, name) VALUES ($1, 'Resolve')",
                 tenant);
    bw_test_exec(gateway,
                 "INSERT INTO tenancy.api_keys (tenant_id, key_id, name, role, secret_sha256) "
                 "VALUES ($1, $2, 'k', 'auditor', sha256('token'))",
                 tenant, key);
    bw_test_exec(gateway, "COMMIT");

    /* Without a tenant the table shows nothing, the function the key. */
    PGresult *res = bw_test_sql(gateway, "SELECT count(*) FROM tenancy.api_keys");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    res = bw_test_sql(gateway,
                      "SELECT tenant_id, role, secret_sha256 = sha256('token') "
                      "FROM tenancy.resolve_api_key($1)",
                      key);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), tenant);
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "auditor");
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "t");
    PQclear(res);
    /* An unknown key is no row; a revoked one neither. */
    res = bw_test_sql(gateway, "SELECT * FROM tenancy.resolve_api_key($1)", other);
    ck_assert_int_eq(PQntuples(res), 0);
    PQclear(res);
    bw_test_exec(gateway, "BEGIN");
    bw_test_exec(gateway, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    bw_test_exec(gateway, "UPDATE tenancy.api_keys SET revoke_time = now() WHERE key_id = $1", key);
    bw_test_exec(gateway, "COMMIT");
    res = bw_test_sql(gateway, "SELECT * FROM tenancy.resolve_api_key($1)", key);
    ck_assert_int_eq(PQntuples(res), 0);
    PQclear(res);
    PQfinish(gateway);

    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(super, "DELETE FROM tenancy.api_keys WHERE tenant_id = $1", tenant);
    bw_test_exec(super, "DELETE FROM tenancy.tenants WHERE tenant_id = $1", tenant);
    PQfinish(super);

    /* And through the running gateway: a key issued now authenticates. */
    char *admin_key = NULL;
    char *id = bw_test_create_tenant("Resolve over HTTP", &admin_key);
    bw_test_resp_t resp;
    ck_assert_int_eq(bw_test_http("GET", "/v1/api-keys", admin_key, NULL, NULL, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    bw_test_resp_free(&resp);
    free(id);
    free(admin_key);
    free(tenant);
    free(key);
    free(other);
}
END_TEST

Suite *suite_roles(void)
{
    Suite *s = suite_create("roles");
    TCase *tc = tcase_create("roles");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_login_roles_are_plain_members_of_their_group);
    tcase_add_test(tc, test_group_roles_cannot_log_in_or_bypass_rls);
    tcase_add_test(tc, test_the_owner_is_no_superuser);
    tcase_add_test(tc, test_each_role_holds_privileges_on_its_own_schema_only);
    tcase_add_test(tc, test_each_role_is_refused_other_schemas);
    tcase_add_test(tc, test_named_cross_service_refusals);
    tcase_add_test(tc, test_only_the_gateway_inserts_api_keys);
    tcase_add_test(tc, test_cross_tenant_functions_and_their_callers);
    tcase_add_test(tc, test_resolve_api_key_with_a_non_superuser_owner);
    tcase_add_test(tc, test_inbound_connection_shows_only_what_authentication_needs);
    suite_add_tcase(s, tc);
    return s;
}
