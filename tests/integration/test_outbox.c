/*
 * The outbox contract (common migration 0006, common/outbox.c) against the
 * real database, as the processes' roles (a producer's: scoping's; the
 * relay's: the integrations process's):
 *   - bw_outbox_emit writes the event in the caller's transaction (gone on
 *     rollback), in the transaction's tenant, with the data rendered as the
 *     gateway renders the message; unknown types are refused;
 *   - the services' role may append but not read the outbox, and row-level
 *     security binds an append to the transaction's tenant;
 *   - bulwark.outbox_claim, the relay's one way across tenants, runs as a
 *     role that is neither superuser nor BYPASSRLS; relays take turns, so
 *     while one holds events another gets none (never the same event, never
 *     a resource's later event before its earlier one), and a batch returns
 *     a resource's events in order;
 *   - claims start from a cursor (common migration 0012): an event whose
 *     transaction drew its seq first and committed after later ones were
 *     relayed is relayed too, the cursor moves on once that transaction has
 *     ended, and a claim reads a few pages of outbox_unrelayed however many
 *     events were relayed before it; producers cannot choose a seq or a
 *     relay time;
 *   - bulwark.outbox_prune deletes only events relayed more than a day ago.
 *
 * The running stack's own relay claims committed events too. The claim test
 * therefore repeats its scenario until its first relay wins the race for
 * the first event (nearly always the first time); the assertions hold in
 * every round it plays.
 */
#include "db.h"
#include "ids.h"
#include "json.h"
#include "outbox.h"
#include "status.h"
#include "testkit.h"

#include "bulwark/tenancy/v1/tenancy.pb-c.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const bw_db_stmt_t st_tenant_setting = {"itest_outbox_tenant",
                                               "SELECT current_setting('bulwark.tenant_id', true)"};
static const bw_db_stmt_t *stmts[2];

static bw_db_t *open_app(void)
{
    stmts[0] = bw_outbox_stmts[0];
    stmts[1] = &st_tenant_setting;
    bw_db_t *db = NULL;
    int err = bw_db_open(bw_test_env("BULWARK_TEST_DATABASE_URL"), stmts, 2, 0, &db);
    ck_assert_msg(err == 0, "bw_db_open as the services' role: %s", bw_strerror(err));
    return db;
}

/* The events of tenant, read as the schema owner with the tenant set. */
static PGresult *events_of(const char *tenant)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    PGresult *res =
        bw_test_sql(admin,
                    "SELECT event_id::text, type, resource, origin, data, tenant_id::text "
                    "FROM bulwark.outbox WHERE tenant_id = $1::uuid ORDER BY seq",
                    tenant);
    PQfinish(admin);
    return res;
}

START_TEST(emit_commits_and_rolls_back_with_the_write)
{
    char *tenant = bw_test_uuid_str();
    bw_db_t *db = open_app();
    bw_arena_t *arena = bw_arena_create(0);
    bw_call_t call = {.arena = arena, .tenant_id = tenant};
    Bulwark__Tenancy__V1__Tenant t = BULWARK__TENANCY__V1__TENANT__INIT;
    t.id = tenant;
    t.name = "Quote \" and \xc3\xa9";
    t.etag = "0123456789abcdef";

    /* Rolled back with the write: nothing. */
    ck_assert_int_eq(bw_db_request_begin(db, tenant), 0);
    ck_assert_int_eq(bw_outbox_emit(&call, db, "incident.created", "incidents/1", "", &t.base), 0);
    ck_assert_int_eq(bw_db_request_end(db, 0), 0);
    PGresult *res = events_of(tenant);
    ck_assert_int_eq(PQntuples(res), 0);
    PQclear(res);

    /* An unknown type fails the write before anything is sent. */
    ck_assert_int_eq(bw_db_request_begin(db, tenant), 0);
    ck_assert_int_eq(bw_outbox_emit(&call, db, "incident.exploded", "incidents/1", "", &t.base),
                     BW_EINVAL);
    ck_assert_int_eq(bw_outbox_emit(&call, db, "incident.created", "", "", &t.base), BW_EINVAL);

    /* Committed with the write: one row, in the transaction's tenant. */
    ck_assert_int_eq(
        bw_outbox_emit(&call, db, "incident.updated", "incidents/1", "jira:42", &t.base), 0);
    ck_assert_int_eq(bw_db_request_end(db, 1), 0);
    res = events_of(tenant);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert(bw_uuid_valid(PQgetvalue(res, 0, 0)));
    /* A version 7 UUID. */
    ck_assert_int_eq(PQgetvalue(res, 0, 0)[14], '7');
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "incident.updated");
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "incidents/1");
    ck_assert_str_eq(PQgetvalue(res, 0, 3), "jira:42");
    ck_assert_str_eq(PQgetvalue(res, 0, 5), tenant);
    /* The data is the message as the gateway renders it: every scalar,
     * UTF-8 kept, unset objects omitted. */
    ck_assert_str_eq(PQgetvalue(res, 0, 4), bw_outbox_render(arena, &t.base));
    json_t *data = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    ck_assert_ptr_nonnull(data);
    ck_assert_str_eq(json_string_value(json_object_get(data, "name")), "Quote \" and \xc3\xa9");
    ck_assert_str_eq(json_string_value(json_object_get(data, "etag")), "0123456789abcdef");
    ck_assert_ptr_null(json_object_get(data, "createTime"));
    json_decref(data);
    PQclear(res);
    bw_arena_destroy(arena);
    bw_db_close(db);
    free(tenant);
}
END_TEST

START_TEST(services_append_only_to_their_tenant_and_never_read)
{
    char *tenant = bw_test_uuid_str(), *other = bw_test_uuid_str(), *event = bw_test_uuid_str();
    PGconn *app = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    /* Into another tenant's outbox: refused by the policy. */
    ck_assert_str_eq(bw_test_sql_error(app,
                                       "INSERT INTO bulwark.outbox (tenant_id, event_id, type, "
                                       "resource, data) VALUES ($1, $2, 'incident.created', "
                                       "'incidents/1', '{}')",
                                       other, event),
                     "42501");
    /* Data that is not JSON: refused by the table. */
    ck_assert_str_eq(bw_test_sql_error(app,
                                       "INSERT INTO bulwark.outbox (tenant_id, event_id, type, "
                                       "resource, data) VALUES ($1, $2, 'incident.created', "
                                       "'incidents/1', '{not json')",
                                       tenant, event),
                     "22P02");
    /* A seq or a relay time of the producer's choosing: no privilege (the
     * relay's cursor counts on seqs drawn by the default, migration 0012). */
    ck_assert_str_eq(bw_test_sql_error(app,
                                       "INSERT INTO bulwark.outbox (tenant_id, seq, event_id, "
                                       "type, resource, data) VALUES ($1, 1, $2, "
                                       "'incident.created', 'incidents/1', '{}')",
                                       tenant, event),
                     "42501");
    ck_assert_str_eq(bw_test_sql_error(app,
                                       "INSERT INTO bulwark.outbox (tenant_id, event_id, type, "
                                       "resource, data, relay_time) VALUES ($1, $2, "
                                       "'incident.created', 'incidents/1', '{}', now())",
                                       tenant, event),
                     "42501");
    /* Reading the outbox directly: no privilege, whatever the tenant. */
    ck_assert_str_eq(bw_test_sql_error(app, "SELECT count(*) FROM bulwark.outbox"), "42501");
    PQfinish(app);

    /* The functions crossing tenants belong to a role that bypasses nothing. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(admin, "SELECT p.proname, r.rolname, r.rolsuper, r.rolbypassrls, "
                                       "r.rolcanlogin, p.prosecdef FROM pg_proc p "
                                       "JOIN pg_roles r ON r.oid = p.proowner "
                                       "JOIN pg_namespace n ON n.oid = p.pronamespace "
                                       "WHERE n.nspname = 'bulwark' AND p.proname LIKE 'outbox_%' "
                                       "ORDER BY 1");
    /* outbox_claim, outbox_lag (for /metrics), outbox_prune */
    ck_assert_int_eq(PQntuples(res), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(PQgetvalue(res, i, 1), "bulwark_outbox_relay");
        ck_assert_str_eq(PQgetvalue(res, i, 2), "f");
        ck_assert_str_eq(PQgetvalue(res, i, 3), "f");
        ck_assert_str_eq(PQgetvalue(res, i, 4), "f");
        ck_assert_str_eq(PQgetvalue(res, i, 5), "t");
    }
    PQclear(res);
    /* Nobody can become that role. */
    res = bw_test_sql(admin, "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r "
                             "ON r.oid = m.roleid WHERE r.rolname = 'bulwark_outbox_relay'");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    PQfinish(admin);
    free(tenant);
    free(other);
    free(event);
}
END_TEST

static void insert_event(PGconn *app, const char *tenant, const char *event_id,
                         const char *resource)
{
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    bw_test_exec(app,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "VALUES ($1, $2, 'incident.updated', $3, '{\"id\":\"x\"}')",
                 tenant, event_id, resource);
}

static int claimed(const PGresult *res, const char *event_id)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), event_id) == 0)
            return 1;
    return 0;
}

/* Whether the stack's own relay has relayed the tenant's event (and
 * committed). */
static int relayed(const char *tenant, const char *event_id)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    PGresult *res = bw_test_sql(admin,
                                "SELECT relay_time IS NOT NULL FROM bulwark.outbox "
                                "WHERE event_id = $1",
                                event_id);
    int done = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    PQfinish(admin);
    return done;
}

static PGresult *claim(PGconn *relay, const char *limit)
{
    return bw_test_sql(
        relay, "SELECT event_id::text, tenant_id::text, seq FROM bulwark.outbox_claim($1)", limit);
}

START_TEST(relays_take_turns_and_keep_resource_order)
{
    /* Events come from a producing service (scoping's role here); only the
     * integrations process's role may claim them. */
    PGconn *producer = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    PGconn *a = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    PGconn *b = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    ck_assert_str_eq(bw_test_sql_error(producer, "SELECT * FROM bulwark.outbox_claim(1)"), "42501");
    int played = 0;
    for (int round = 0; round < 20 && !played; round++) {
        char *tenant = bw_test_uuid_str();
        char *e1 = bw_test_uuid_str(), *e2 = bw_test_uuid_str(), *e3 = bw_test_uuid_str();
        /* Two events of one incident, then one of another. */
        insert_event(producer, tenant, e1, "incidents/r1");
        insert_event(producer, tenant, e2, "incidents/r1");
        insert_event(producer, tenant, e3, "incidents/r2");

        /* Relay A claims one event at a time until it holds e1 (older
         * events waiting in the outbox come first); it never gets e2 that
         * way, which waits behind e1. Everything is rolled back after. */
        bw_test_exec(a, "BEGIN");
        int holds_e1 = 0;
        for (int i = 0; i < 200 && !holds_e1; i++) {
            PGresult *ra = claim(a, "1");
            int n = PQntuples(ra);
            holds_e1 = claimed(ra, e1);
            /* e2 before e1 only once the stack's relay has relayed e1. */
            if (claimed(ra, e2))
                ck_assert_msg(relayed(tenant, e1),
                              "an incident's later event overtook the earlier one");
            PQclear(ra);
            if (n == 0)
                break;
        }
        if (!holds_e1) {
            /* The stack's relay was first: play again. */
            bw_test_exec(a, "ROLLBACK");
            free(tenant), free(e1), free(e2), free(e3);
            continue;
        }
        played = 1;
        /* Relay B, while A holds e1: it is A's turn, so B gets nothing:
         * not e1 (claimed), not e2 (its incident's earlier event is on its
         * way), not even e3. */
        bw_test_exec(b, "BEGIN");
        PGresult *rb = claim(b, "1000");
        ck_assert_msg(!claimed(rb, e1), "an event was claimed by two relays");
        ck_assert_msg(!claimed(rb, e2), "an incident's later event overtook the earlier one");
        ck_assert_int_eq(PQntuples(rb), 0);
        PQclear(rb);
        bw_test_exec(b, "ROLLBACK");

        /* A gives e1 back; one relay now gets both events of the incident,
         * in order, in one batch. */
        bw_test_exec(a, "ROLLBACK");
        bw_test_exec(b, "BEGIN");
        rb = claim(b, "1000");
        int i1 = -1, i2 = -1;
        for (int i = 0; i < PQntuples(rb); i++) {
            if (strcmp(PQgetvalue(rb, i, 0), e1) == 0)
                i1 = i;
            if (strcmp(PQgetvalue(rb, i, 0), e2) == 0)
                i2 = i;
        }
        /* Unless the stack's relay took e1 meanwhile, which is as good. */
        if (i1 >= 0 || i2 >= 0)
            ck_assert_msg(i1 >= 0 && i2 > i1, "e1 at %d, e2 at %d", i1, i2);
        PQclear(rb);
        bw_test_exec(b, "ROLLBACK");
        free(tenant), free(e1), free(e2), free(e3);
    }
    ck_assert_msg(played, "the stack's relay won every round; the scenario never ran");
    PQfinish(producer);
    PQfinish(a);
    PQfinish(b);
}
END_TEST

START_TEST(prune_keeps_a_day_of_relayed_events)
{
    char *tenant = bw_test_uuid_str(), *old = bw_test_uuid_str(), *recent = bw_test_uuid_str();
    PGconn *app = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    insert_event(app, tenant, old, "incidents/p1");
    insert_event(app, tenant, recent, "incidents/p2");
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    bw_test_exec(admin,
                 "UPDATE bulwark.outbox SET relay_time = now() - interval '3 days' "
                 "WHERE event_id = $1",
                 old);
    bw_test_exec(admin,
                 "UPDATE bulwark.outbox SET relay_time = now() - interval '1 hour' "
                 "WHERE event_id = $1",
                 recent);
    /* Asked to keep nothing, it still keeps a day. */
    PGconn *relay = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    PGresult *res = bw_test_sql(relay, "SELECT bulwark.outbox_prune(0)");
    PQfinish(relay);
    ck_assert_int_ge(strtol(PQgetvalue(res, 0, 0), NULL, 10), 1);
    PQclear(res);
    res = bw_test_sql(admin, "SELECT event_id::text FROM bulwark.outbox WHERE tenant_id = $1",
                      tenant);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), recent);
    PQclear(res);
    PQfinish(admin);
    PQfinish(app);
    free(tenant), free(old), free(recent);
}
END_TEST

/* The seq the connection's session drew last. */
static long long last_seq(PGconn *conn)
{
    PGresult *res = bw_test_sql(conn, "SELECT currval('bulwark.outbox_seq_seq')");
    long long seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return seq;
}

/* Waits up to 10 s for the stack's relay to relay the event. */
static int wait_relayed(const char *tenant, const char *event_id)
{
    for (int i = 0; i < 100; i++) {
        if (relayed(tenant, event_id))
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* Where the relay's claims start (common migration 0012): every event with
 * a smaller seq has been relayed or will never exist. */
static long long cursor_from(PGconn *admin)
{
    PGresult *res = bw_test_sql(admin, "SELECT from_seq FROM bulwark.outbox_cursor");
    long long from = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return from;
}

/* Waits up to seconds for the cursor to move past seq. */
static int wait_cursor_past(PGconn *admin, long long seq, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        if (cursor_from(admin) > seq)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* A transaction that drew its seq first and commits after later events
 * were relayed: its event is relayed all the same. The claims start from a
 * cursor, and the cursor waits for every transaction that could still
 * commit an event behind it; once that one has ended, it moves on. */
START_TEST(an_event_committed_late_is_relayed_and_the_cursor_moves_on)
{
    char *tenant = bw_test_uuid_str(), *late = bw_test_uuid_str(), *later = NULL;
    PGconn *slow = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    PGconn *app = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(slow, "BEGIN");
    insert_event(slow, tenant, late, "incidents/late");
    long long late_seq = last_seq(slow), later_seq = 0;
    /* Later events of another incident, committed and relayed meanwhile. */
    for (int i = 0; i < 5; i++) {
        free(later);
        later = bw_test_uuid_str();
        insert_event(app, tenant, later, "incidents/later");
        later_seq = last_seq(app);
        ck_assert_msg(wait_relayed(tenant, later), "a committed event was not relayed within 10 s");
    }
    ck_assert_int_le(cursor_from(admin), late_seq);

    bw_test_exec(slow, "COMMIT");
    ck_assert_msg(wait_relayed(tenant, late), "an event committed late was never relayed");
    /* Nothing is waiting behind the cursor any more: it moves on. */
    ck_assert_msg(wait_cursor_past(admin, later_seq, 10),
                  "the cursor stayed at %lld, behind event %lld, for 10 s", cursor_from(admin),
                  later_seq);
    PQfinish(slow);
    PQfinish(app);
    PQfinish(admin);
    free(tenant), free(late), free(later);
}
END_TEST

/* What a claim reads does not grow with what was relayed before it. A
 * relayed event's entry in outbox_unrelayed stays until the next vacuum
 * (autovacuum waits for a fifth of the table to change); a claim that
 * scanned the index from its head stepped over every one of them (20,000
 * events: 58 pages when it was measured). From the cursor, it reads a few. */
START_TEST(a_claim_does_not_step_over_what_was_relayed)
{
    char *tenant = bw_test_uuid_str();
    PGconn *app = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGconn *relay = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    bw_test_exec(app,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "SELECT $1, gen_random_uuid(), 'incident.updated', 'incidents/' || g, '{}' "
                 "FROM generate_series(1, 20000) g",
                 tenant);
    /* The stack's relay relays them (a batch of 200 at a time). */
    ck_assert_msg(wait_cursor_past(admin, last_seq(app), 30),
                  "20,000 events were not relayed within 30 s");

    /* A claim of its own, once it has the turn (it read the cursor). */
    PGresult *res;
    int played = 0;
    for (int i = 0; i < 100 && !played; i++) {
        bw_test_exec(relay, "BEGIN");
        PQclear(bw_test_sql(relay, "SELECT count(*) FROM bulwark.outbox_claim(1000)"));
        res = bw_test_sql(
            relay, "SELECT pg_stat_get_xact_blocks_fetched('bulwark.outbox_cursor'::regclass), "
                   "pg_stat_get_xact_blocks_fetched('bulwark.outbox_unrelayed'::regclass)");
        played = strtol(PQgetvalue(res, 0, 0), NULL, 10) > 0;
        if (played)
            ck_assert_msg(strtol(PQgetvalue(res, 0, 1), NULL, 10) <= 16,
                          "a claim read %s pages of outbox_unrelayed", PQgetvalue(res, 0, 1));
        PQclear(res);
        bw_test_exec(relay, "ROLLBACK");
        if (!played)
            usleep(20 * 1000);
    }
    ck_assert_msg(played, "the stack's relay had the turn in 100 tries");
    PQfinish(app);
    PQfinish(admin);
    PQfinish(relay);
    free(tenant);
}
END_TEST

/* What the integrations service's /metrics shows: the backlog, across
 * tenants, and the age of its oldest event. The running relay is held off
 * by taking its turn (the advisory lock of bulwark.outbox_claim). */
START_TEST(lag_counts_the_backlog_across_tenants)
{
    char *tenant = bw_test_uuid_str(), *other = bw_test_uuid_str();
    char *e1 = bw_test_uuid_str(), *e2 = bw_test_uuid_str();
    PGconn *holder = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    PGconn *lag = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    PGconn *app = bw_test_pg("BULWARK_TEST_DATABASE_URL");
    bw_test_exec(holder, "BEGIN");
    bw_test_exec(holder,
                 "SELECT pg_advisory_xact_lock(hashtextextended('bulwark.outbox relay', 0))");
    PGresult *res =
        bw_test_sql(lag, "SELECT unrelayed, oldest_age_seconds FROM bulwark.outbox_lag()");
    long before = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    /* One event an hour old in one tenant, one new in another. */
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    bw_test_exec(
        app,
        "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data, occur_time) "
        "VALUES ($1, $2, 'incident.updated', 'incidents/l1', '{}', now() - interval '1 hour')",
        tenant, e1);
    insert_event(app, other, e2, "incidents/l2");
    res = bw_test_sql(lag, "SELECT unrelayed, oldest_age_seconds FROM bulwark.outbox_lag()");
    ck_assert_int_eq(strtol(PQgetvalue(res, 0, 0), NULL, 10), before + 2);
    ck_assert_double_ge(strtod(PQgetvalue(res, 0, 1), NULL), 3599.0);
    PQclear(res);
    /* Only the integrations process may ask. */
    ck_assert_str_eq(bw_test_sql_error(app, "SELECT * FROM bulwark.outbox_lag()"), "42501");
    bw_test_exec(holder, "ROLLBACK");
    PQfinish(holder);
    PQfinish(lag);
    PQfinish(app);
    free(tenant), free(other), free(e1), free(e2);
}
END_TEST

Suite *suite_outbox(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("outbox");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, emit_commits_and_rolls_back_with_the_write);
    tcase_add_test(tc, services_append_only_to_their_tenant_and_never_read);
    tcase_add_test(tc, relays_take_turns_and_keep_resource_order);
    tcase_add_test(tc, prune_keeps_a_day_of_relayed_events);
    tcase_add_test(tc, lag_counts_the_backlog_across_tenants);
    tcase_add_test(tc, an_event_committed_late_is_relayed_and_the_cursor_moves_on);
    tcase_add_test(tc, a_claim_does_not_step_over_what_was_relayed);
    suite_add_tcase(s, tc);
    return s;
}
