/*
 * Retention of the integrations' history (integrations migration 0003,
 * services/integrations/retention.c) against the real database, as the
 * integrations process's role, with a "now" of the test's choosing (the
 * function's clock is a parameter; nothing is back-dated, nothing sleeps):
 *   - nothing younger than BULWARK_INTEGRATIONS_RETENTION_DAYS goes, so a
 *     ticket system's redelivery within the window is still a duplicate;
 *   - past it, the connection log, the inbound receipts, finished
 *     deliveries with their attempts and finished ticket jobs go, in
 *     batches; pending and paused deliveries and pending jobs stay;
 *   - an event goes once no delivery and no ticket job of it remains (one
 *     that never had one, one whose last delivery went), and one with a
 *     pending delivery stays;
 *   - a redelivery after its receipt went makes no second incident (the
 *     ticket's link is kept);
 *   - while another replica holds the turn, a batch prunes nothing and
 *     waits for nothing;
 *   - events kept by a pending or paused delivery cost a batch nothing
 *     beyond its limit, however many they are: it reads about as many rows
 *     as its limit (PostgreSQL's counters of the transaction say), and the
 *     sweep gets past them to the events behind that may go.
 * The data is made through the API where the API makes it (a ServiceNow
 * connection and its inbound events, a webhook endpoint), and the rest as
 * the relay and the deliverer would write it.
 */
#include "db.h"
#include "retention.h"
#include "status.h"
#include "testkit.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_US (86400LL * 1000000LL)

static long count(PGconn *admin, const char *sql, const char *tenant)
{
    PGresult *res = bw_test_sql(admin, sql, tenant);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* One batch, as the dispatcher runs it: the sweep of events goes on from
 * *cursor. */
static bw_retention_counts_t prune(bw_db_t *db, long long now_us, int limit, const char *tenant,
                                   bw_retention_cursor_t *cursor)
{
    bw_arena_t *arena = bw_arena_create(0);
    bw_retention_counts_t c = {0};
    int err = bw_retention_prune(db, arena, now_us, 30, limit, tenant, cursor, &c);
    ck_assert_msg(err == 0, "prune: %s", bw_strerror(err));
    bw_arena_destroy(arena);
    return c;
}

static const char record[] =
    "{\"sys_id\":\"7e385017c611228701d22104cc95c3ee\",\"number\":\"INC0030001\","
    "\"short_description\":\"Badge reader down\",\"opened_at\":\"2025-06-10 07:15:00\","
    "\"state\":\"2\",\"sys_mod_count\":\"1\"}";

static const char *servicenow_outcome(const char *conn, const char *token, char *out, size_t len)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/integrations/servicenow/%s/events", conn);
    json_t *r = bw_test_call(token, "POST", path, record, 200);
    snprintf(out, len, "%s", json_string_value(json_object_get(r, "outcome")));
    json_decref(r);
    return out;
}

START_TEST(history_goes_after_the_window_and_only_then)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Retention AG", &key);
    json_t *e = bw_test_call(key, "POST", "/v1/entities",
                             "{\"name\":\"Retention AG\",\"timeZone\":\"Europe/Berlin\"}", 201);
    char body[1024], outcome[32];
    snprintf(body, sizeof(body),
             "{\"system\":\"SERVICENOW\",\"name\":\"retention\",\"baseUrl\":\"http://%s:9\","
             "\"entity\":\"%s\",\"credentials\":{\"username\":\"u\",\"password\":\"p\"},"
             "\"createIssues\":false,\"stateMapping\":{}}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"), json_string_value(json_object_get(e, "id")));
    json_t *conn = bw_test_call(key, "POST", "/v1/integrations/connections", body, 201);
    const char *conn_id = json_string_value(json_object_get(conn, "id"));
    const char *token = json_string_value(json_object_get(conn, "inboundToken"));
    ck_assert_str_eq(servicenow_outcome(conn_id, token, outcome, sizeof(outcome)), "created");
    /* Subscribed to an event nothing here emits: its only deliveries are
     * the test's. */
    json_t *endpoint = bw_test_parked_endpoint(key, "/retention");
    const char *endpoint_id = json_string_value(json_object_get(endpoint, "id"));

    /* An event, and deliveries in every state, and two ticket jobs, as the
     * relay and the deliverer write them; the pending ones are due in a
     * day, so the stack's own deliverer leaves them alone. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    char *event = bw_test_uuid_str();
    bw_test_exec(admin,
                 "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
                 "origin, occur_time, data) VALUES ($1, $2, 1, 'incident.created', "
                 "'incidents/x', '', now(), '{}')",
                 tenant, event);
    const char *states[] = {"SUCCEEDED", "FAILED", "PENDING", "PAUSED"};
    for (int i = 0; i < 4; i++) {
        char *delivery = bw_test_uuid_str();
        bw_test_exec(admin,
                     "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, "
                     "event_id, seq, resource, state, attempt_count, next_attempt_time) VALUES "
                     "($1, $2, $3, $4, 1, 'incidents/x', $5, 1, CASE WHEN $5 = 'PENDING' "
                     "THEN now() + interval '1 day' END)",
                     tenant, delivery, endpoint_id, event, states[i]);
        bw_test_exec(admin,
                     "INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, "
                     "attempt_time, status_code) VALUES ($1, $2, 1, now(), 500)",
                     tenant, delivery);
        free(delivery);
    }
    for (int i = 0; i < 2; i++) {
        char *job = bw_test_uuid_str(), *incident = bw_test_uuid_str();
        bw_test_exec(admin,
                     "INSERT INTO integrations.ticket_jobs (tenant_id, job_id, connection_id, "
                     "event_id, seq, incident_id, state, next_attempt_time) VALUES ($1, $2, $3, "
                     "$4, 1, $5, $6, CASE WHEN $6 = 'PENDING' THEN now() + interval '1 day' END)",
                     tenant, job, conn_id, event, incident, i == 0 ? "SUCCEEDED" : "PENDING");
        free(job);
        free(incident);
    }
    /* A second event, whose only delivery succeeded, and a third without
     * any. */
    char *event_done = bw_test_uuid_str(), *event_alone = bw_test_uuid_str();
    const char *more[] = {event_done, event_alone};
    for (int i = 0; i < 2; i++)
        bw_test_exec(admin,
                     "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
                     "origin, occur_time, data) VALUES ($1, $2, 2, 'incident.updated', "
                     "'incidents/x', '', now(), '{}')",
                     tenant, more[i]);
    char *delivery_done = bw_test_uuid_str();
    bw_test_exec(admin,
                 "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, "
                 "event_id, seq, resource, state, attempt_count) VALUES ($1, $2, $3, $4, 2, "
                 "'incidents/x', 'SUCCEEDED', 1)",
                 tenant, delivery_done, endpoint_id, event_done);
    free(delivery_done);

    const bw_db_stmt_t *const *stmts = bw_retention_stmts;
    bw_db_t *db = NULL;
    ck_assert_int_eq(bw_db_open(bw_test_env("BULWARK_TEST_INTEGRATIONS_DATABASE_URL"), stmts,
                                bw_retention_n_stmts, 0, &db),
                     0);
    long long now = (long long)time(NULL) * 1000000LL;
    bw_retention_cursor_t cursor = {0};

    /* 29 days on: inside the window, nothing goes, and ServiceNow's
     * redelivery is still recognised. */
    bw_retention_counts_t c = prune(db, now + 29 * DAY_US, 1000, tenant, &cursor);
    ck_assert_int_eq(c.log_entries + c.receipts + c.deliveries + c.ticket_jobs + c.events, 0);
    ck_assert_str_eq(servicenow_outcome(conn_id, token, outcome, sizeof(outcome)), "duplicate");

    /* Another replica holds the turn: nothing, at once. */
    PGconn *other = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(other, "BEGIN");
    bw_test_exec(other,
                 "SELECT pg_advisory_xact_lock(hashtextextended('integrations.prune_history', 0))");
    c = prune(db, now + 31 * DAY_US, 1000, tenant, &cursor);
    ck_assert_int_eq(c.log_entries + c.receipts + c.deliveries + c.ticket_jobs + c.events, 0);
    bw_test_exec(other, "COMMIT");
    PQfinish(other);

    /* 31 days on, a batch of one: one of each. */
    PGresult *res0;
    long log_before = count(admin,
                            "SELECT count(*) FROM integrations.connection_log "
                            "WHERE tenant_id = $1::uuid",
                            tenant);
    ck_assert_int_ge(log_before, 2);
    c = prune(db, now + 31 * DAY_US, 1, tenant, &cursor);
    ck_assert_int_eq(c.log_entries, 1);
    ck_assert_int_eq(c.receipts, 1);
    ck_assert_int_eq(c.deliveries, 1);
    ck_assert_int_eq(c.ticket_jobs, 1);
    ck_assert(c.more);
    /* The sweep looked at one event, the oldest, which a pending delivery
     * keeps. */
    ck_assert_int_eq(c.events, 0);
    ck_assert_str_eq(cursor.event, event);
    /* Then the rest: the sweep goes on after it. */
    c = prune(db, now + 31 * DAY_US, 1000, tenant, &cursor);
    ck_assert_int_eq(c.log_entries, log_before - 1);
    ck_assert_int_eq(c.receipts, 0);
    ck_assert_int_eq(c.deliveries, 2);
    ck_assert_int_eq(c.ticket_jobs, 0);
    ck_assert_int_eq(c.events, 2);
    /* It came to the end: the next batch starts from the oldest again. */
    ck_assert(!c.more);
    ck_assert_str_eq(cursor.time, "");
    c = prune(db, now + 31 * DAY_US, 1000, tenant, &cursor);
    ck_assert_int_eq(c.log_entries + c.receipts + c.deliveries + c.ticket_jobs + c.events, 0);
    /* The events without deliveries went; the one with a pending
     * delivery (and job) stays. */
    res0 = bw_test_sql(admin,
                       "SELECT string_agg(event_id::text, ',') FROM integrations.events "
                       "WHERE tenant_id = $1::uuid",
                       tenant);
    ck_assert_str_eq(PQgetvalue(res0, 0, 0), event);
    PQclear(res0);

    /* What is still to be sent stays, with its attempts. */
    PGresult *res = bw_test_sql(admin,
                                "SELECT string_agg(state, ',' ORDER BY state) FROM "
                                "integrations.deliveries WHERE tenant_id = $1::uuid",
                                tenant);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "PAUSED,PENDING");
    PQclear(res);
    ck_assert_int_eq(count(admin,
                           "SELECT count(*) FROM integrations.attempts WHERE tenant_id = $1::uuid",
                           tenant),
                     2);
    res = bw_test_sql(admin,
                      "SELECT string_agg(state, ',') FROM integrations.ticket_jobs "
                      "WHERE tenant_id = $1::uuid",
                      tenant);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "PENDING");
    PQclear(res);
    ck_assert_int_eq(count(admin,
                           "SELECT count(*) FROM integrations.ticket_links "
                           "WHERE tenant_id = $1::uuid",
                           tenant),
                     1);

    /* The receipt went: the same delivery is taken as an update of the
     * ticket's incident, never as a second incident. */
    ck_assert_str_eq(servicenow_outcome(conn_id, token, outcome, sizeof(outcome)), "updated");
    json_t *list = bw_test_call(key, "GET", "/v1/incidents", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "incidents")), 1);
    json_decref(list);

    bw_db_close(db);
    PQfinish(admin);
    free(event);
    free(event_done);
    free(event_alone);
    json_decref(endpoint);
    json_decref(conn);
    json_decref(e);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(stuck_events_cost_a_batch_no_more_than_its_limit)
{
    enum { STUCK = 3000, DONE = 40, ALONE = 40, LIMIT = 100 };
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Backlog GmbH", &key);
    json_t *endpoint = bw_test_parked_endpoint(key, "/backlog");
    const char *endpoint_id = json_string_value(json_object_get(endpoint, "id"));

    /* A disabled endpoint's backlog: STUCK events a day older than the
     * rest, each kept by a paused delivery. Behind them, DONE events whose
     * only delivery succeeded and ALONE events without any. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    bw_test_exec(admin,
                 "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
                 "origin, occur_time, data) SELECT $1, gen_random_uuid(), g, "
                 "'campaign.completed', 'campaigns/backlog', '', "
                 "now() - interval '1 day' + g * interval '1 ms', '{}' "
                 "FROM generate_series(1, $2::int) g",
                 tenant, BW_TEST_INT(STUCK));
    bw_test_exec(admin,
                 "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, "
                 "event_id, seq, resource, state) SELECT tenant_id, gen_random_uuid(), $2, "
                 "event_id, seq, resource, 'PAUSED' FROM integrations.events "
                 "WHERE tenant_id = $1::uuid",
                 tenant, endpoint_id);
    bw_test_exec(admin,
                 "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
                 "origin, occur_time, data) SELECT $1, gen_random_uuid(), 100000 + g, "
                 "'campaign.completed', 'campaigns/behind', '', now(), '{}' "
                 "FROM generate_series(1, $2::int) g",
                 tenant, BW_TEST_INT(DONE + ALONE));
    bw_test_exec(admin,
                 "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, "
                 "event_id, seq, resource, state, attempt_count) SELECT tenant_id, "
                 "gen_random_uuid(), $2, event_id, seq, resource, 'SUCCEEDED', 1 "
                 "FROM integrations.events WHERE tenant_id = $1::uuid "
                 "AND resource = 'campaigns/behind' ORDER BY seq LIMIT $3::int",
                 tenant, endpoint_id, BW_TEST_INT(DONE));
    /* The statistics autovacuum would gather. */
    bw_test_exec(admin, "ANALYZE integrations.events");
    bw_test_exec(admin, "ANALYZE integrations.deliveries");
    bw_test_exec(admin, "ANALYZE integrations.ticket_jobs");

    /* 31 days on, the first batch of a sweep looks at LIMIT events, all of
     * them kept, and reads about that many rows: not the STUCK events
     * (0005's function read every one of them, at every batch). */
    PGconn *svc = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(svc, "BEGIN");
    long before = bw_test_rows_read(svc, "integrations");
    PGresult *res = bw_test_sql(svc,
                                "SELECT n_events, next_event IS NOT NULL FROM "
                                "integrations.prune_events(now() + interval '31 days', 30, "
                                "$1::int, $2::uuid, NULL, NULL, NULL)",
                                BW_TEST_INT(LIMIT), tenant);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "t");
    PQclear(res);
    long read = bw_test_rows_read(svc, "integrations") - before;
    bw_test_exec(svc, "COMMIT");
    PQfinish(svc);
    /* Each event: its entry of events_by_time_key and its delivery's entry
     * of deliveries_by_event. */
    ck_assert_msg(read <= 2 * LIMIT + 10, "a batch of %d read %ld rows", LIMIT, read);

    /* The dispatcher's batches, from the start of a sweep: each goes on
     * where the last stopped, and the sweep gets past the backlog to the
     * events behind it in about STUCK / LIMIT batches. */
    bw_db_t *db = NULL;
    ck_assert_int_eq(bw_db_open(bw_test_env("BULWARK_TEST_INTEGRATIONS_DATABASE_URL"),
                                bw_retention_stmts, bw_retention_n_stmts, 0, &db),
                     0);
    long long now = (long long)time(NULL) * 1000000LL;
    bw_retention_cursor_t cursor = {0};
    long deliveries = 0, events = 0;
    int batches = 0;
    bw_retention_counts_t c;
    do {
        c = prune(db, now + 31 * DAY_US, LIMIT, tenant, &cursor);
        deliveries += c.deliveries;
        events += c.events;
        batches++;
        ck_assert_int_le(batches, STUCK / LIMIT + 5);
    } while (c.more);
    ck_assert_int_ge(batches, STUCK / LIMIT);
    ck_assert_int_eq(deliveries, DONE);
    ck_assert_int_eq(events, DONE + ALONE);
    /* The backlog stays, every event and delivery of it. */
    ck_assert_int_eq(
        count(admin, "SELECT count(*) FROM integrations.events WHERE tenant_id = $1::uuid", tenant),
        STUCK);
    ck_assert_int_eq(count(admin,
                           "SELECT count(*) FROM integrations.deliveries "
                           "WHERE tenant_id = $1::uuid AND state = 'PAUSED'",
                           tenant),
                     STUCK);

    bw_db_close(db);
    PQfinish(admin);
    json_decref(endpoint);
    free(tenant);
    free(key);
}
END_TEST

Suite *suite_retention(void)
{
    Suite *s = suite_create("retention");
    TCase *tc = tcase_create("retention");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, history_goes_after_the_window_and_only_then);
    tcase_add_test(tc, stuck_events_cost_a_batch_no_more_than_its_limit);
    suite_add_tcase(s, tc);
    return s;
}
