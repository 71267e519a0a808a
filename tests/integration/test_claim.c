/*
 * The deliverer's claim (integrations.claim_deliveries, migrations 0001 and
 * 0007) against the real database, as the integrations process calls it,
 * inside one transaction of the test that is rolled back (the stack's own
 * deliverer never sees the rows):
 *   - of a backlog of 2,000 pending deliveries to one endpoint, across 300
 *     resources, a claim leases the endpoint's free slots, soonest first,
 *     and only the first pending delivery of each resource;
 *   - it reads about as many rows as it leases, not the backlog
 *     (PostgreSQL's counters of the transaction): 0001's claim, planned on
 *     an empty table, read the endpoint's backlog per candidate and the
 *     tenant's per leased row;
 *   - the record of an attempt (integrations.record_attempts, migrations
 *     0008, 0013 and 0018) finds the leased row by the address the claim
 *     returned, and by its key when the row has moved since; a lease no
 *     longer held records nothing; the first attempt is kept on the
 *     delivery's row, later ones in integrations.attempts; recorded
 *     together (migrations 0014 and 0018), each row is found so
 *     too, in one UPDATE for those at their address;
 *     a batch of first attempts reads about its own rows, not the
 *     backlog, under a generic plan. (For later attempts how many rows it
 *     reads is not asserted: the foreign key check of an attempt row, a
 *     plan of PostgreSQL's own, may search deliveries by tenant only;
 *     docs/DESIGN.md, "The cost of announcing a write".)
 * And the two other claims of the dispatcher, each over a backlog:
 *   - the relay's (bulwark.outbox_claim, common migrations 0006 and 0011)
 *     claims 200 of 5,000 events not yet relayed, oldest first, reading
 *     about as many rows as it claims. 0006's read the whole backlog per
 *     claimed row when its plan was made while the statistics showed no
 *     event waiting (the usual state); this test's session plans it with
 *     the statistics of the day, so it guards the shape (0011's cannot
 *     scan the backlog under any statistics), not that failure;
 *   - the ticket jobs' (integrations.claim_ticket_jobs, migrations 0009 and
 *     0010) leases 16 of 2,000 pending jobs over 300 incidents, only the
 *     first pending job of each incident, reading about as many rows as it
 *     leases (0009's read 3,892).
 * And the relay's probe before it hands a delivery over at birth (in its
 * fan-out statement, relay.c): one resource's first pending delivery, not
 * the endpoint's backlog.
 */
#include "relay.h"
#include "testkit.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new tenant with one webhook endpoint and a backlog of events pending
 * deliveries to it, as the relay writes them, all due: event i (from 1) is
 * of resource "campaigns/<i % resources>". Returns the integrations
 * service's connection inside a transaction of that tenant, which the
 * caller rolls back (the stack's own deliverer never sees the rows). */
static PGconn *backlog(const char *name, int events, int resources, char **tenant, char **key)
{
    *tenant = bw_test_create_tenant(name, key);
    json_t *made = bw_test_parked_endpoint(*key, "/claim");
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "%s", json_string_value(json_object_get(made, "id")));
    json_decref(made);

    PGconn *svc = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(svc, "BEGIN");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, true)", *tenant);
    bw_test_exec(svc,
                 "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
                 "origin, occur_time, data) SELECT $1, gen_random_uuid(), g, "
                 "'campaign.completed', 'campaigns/' || (g % $3::int), '', now(), '{}' "
                 "FROM generate_series(1, $2::int) g",
                 *tenant, BW_TEST_INT(events), BW_TEST_INT(resources));
    bw_test_exec(svc,
                 "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, "
                 "event_id, seq, resource, state, next_attempt_time) SELECT tenant_id, "
                 "gen_random_uuid(), $2, event_id, seq, resource, 'PENDING', "
                 "now() - interval '1 minute' FROM integrations.events WHERE tenant_id = $1::uuid",
                 *tenant, endpoint);
    return svc;
}

/* Rolls back what backlog() made and frees what it returned. */
static void end_backlog(PGconn *svc, char *tenant, char *key)
{
    bw_test_exec(svc, "ROLLBACK");
    PQfinish(svc);
    free(tenant);
    free(key);
}

START_TEST(a_claim_reads_what_it_leases_not_the_backlog)
{
    enum { BACKLOG = 2000, RESOURCES = 300, PER_ENDPOINT = 4 };
    char *key = NULL, *tenant = NULL;
    /* Resources 1-4 lead with seqs 1-4. */
    PGconn *svc = backlog("Claim KG", BACKLOG, RESOURCES, &tenant, &key);

    /* The endpoint's free slots, the soonest (all due alike: lowest seq
     * first), each the first of its resource; then, with those leased (the
     * first of their resources still pending), the next resources'. The
     * first claim of a session also plans it (once): the second is
     * measured. */
    static const char claim[] = "SELECT COALESCE(string_agg(x.delivery_id::text, ','), '') "
                                "FROM integrations.claim_deliveries(64, $1::int, 75, '{}', "
                                "'{}') x WHERE x.tenant_id = $2::uuid";
    static const char leased[] = "SELECT string_agg(d.resource, ',' ORDER BY d.seq) "
                                 "FROM integrations.deliveries d "
                                 "WHERE d.delivery_id = ANY (string_to_array($1, ',')::uuid[])";
    const char *n = BW_TEST_INT(PER_ENDPOINT);
    PGresult *res = bw_test_sql(svc, claim, n, tenant);
    PGresult *what = bw_test_sql(svc, leased, PQgetvalue(res, 0, 0));
    ck_assert_str_eq(PQgetvalue(what, 0, 0), "campaigns/1,campaigns/2,campaigns/3,campaigns/4");
    PQclear(what);
    PQclear(res);
    long before = bw_test_rows_read(svc, "integrations");
    res = bw_test_sql(svc, claim, n, tenant);
    long read = bw_test_rows_read(svc, "integrations") - before;
    what = bw_test_sql(svc, leased, PQgetvalue(res, 0, 0));
    ck_assert_str_eq(PQgetvalue(what, 0, 0), "campaigns/5,campaigns/6,campaigns/7,campaigns/8");
    PQclear(what);
    PQclear(res);
    /* Per leased delivery: its entry of deliveries_due, the probe of its
     * resource, the lease, the join with its event and endpoint; and the
     * endpoints listed with pending deliveries (the stack's others, few). */
    ck_assert_msg(read <= 200, "a claim of %d read %ld rows", PER_ENDPOINT, read);
    end_backlog(svc, tenant, key);
}
END_TEST

/* Records an attempt of the delivery leased as lease, at row address at,
 * as the deliverer records a single attempt (integrations.record_attempts
 * with one of each): answered 204 (outcome SUCCEEDED) or 503 (RETRY, due
 * again at once); returns the delivery's new state, or "" when nothing was
 * recorded, the lease not being held (caller frees). */
static char *record(PGconn *svc, const char *delivery, const char *lease, const char *at,
                    const char *outcome)
{
    PGresult *before = bw_test_sql(
        svc, "SELECT attempt_count FROM integrations.deliveries WHERE delivery_id = $1::uuid",
        delivery);
    int count = atoi(PQgetvalue(before, 0, 0));
    PQclear(before);
    bw_test_exec(svc,
                 "SELECT integrations.record_attempts(ARRAY[$1::uuid], ARRAY[$2::uuid], "
                 "ARRAY[1.7e15::float8], ARRAY[CASE WHEN $4 = 'RETRY' THEN 503 ELSE 204 END], "
                 "ARRAY[3], ARRAY[''], ARRAY[$4], ARRAY[0::float8], ARRAY[$3::tid])",
                 delivery, lease, at, outcome);
    PGresult *res = bw_test_sql(svc,
                                "SELECT CASE WHEN attempt_count = $2::int THEN '' ELSE state END "
                                "FROM integrations.deliveries WHERE delivery_id = $1::uuid",
                                delivery, BW_TEST_INT(count));
    char *state = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return state;
}

/* Asserts what the deliveries ids (comma-separated) hold, in id order,
 * each as "STATE attempts lease-given-back first CODE then N:CODE,..." (its
 * first attempt on its row, the later ones in integrations.attempts),
 * joined by "; ". */
static void assert_deliveries(PGconn *svc, const char *ids, const char *want)
{
    PGresult *res = bw_test_sql(
        svc,
        "SELECT string_agg(d.state || ' ' || d.attempt_count || ' ' || (d.lease_id IS NULL) || "
        "' first ' || coalesce(d.first_status_code::text, '-') || ' then ' || coalesce((SELECT "
        "string_agg(a.attempt_no || ':' || a.status_code, ',' ORDER BY a.attempt_no) FROM "
        "integrations.attempts a WHERE a.delivery_id = d.delivery_id), '-'), '; ' ORDER BY "
        "d.delivery_id) FROM integrations.deliveries d "
        "WHERE d.delivery_id = ANY (string_to_array($1, ',')::uuid[])",
        ids);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), want);
    PQclear(res);
}

/* Claims up to per_endpoint deliveries of the backlog's endpoint as the
 * deliverer does and asserts it got that many; the tenant's rows
 * (delivery, lease, address) in id order (caller clears). */
static PGresult *claim(PGconn *svc, const char *tenant, int per_endpoint)
{
    PGresult *claimed = bw_test_sql(svc,
                                    "SELECT x.delivery_id::text, x.lease_id::text, x.at::text "
                                    "FROM integrations.claim_deliveries(64, $2::int, 75, '{}', "
                                    "'{}') x WHERE x.tenant_id = $1::uuid ORDER BY x.delivery_id",
                                    tenant, BW_TEST_INT(per_endpoint));
    ck_assert_int_eq(PQntuples(claimed), per_endpoint);
    return claimed;
}

/* Leases the delivery again, as a later claim would: its new lease and
 * address (caller clears). */
static PGresult *lease_again(PGconn *svc, const char *delivery)
{
    return bw_test_sql(svc,
                       "UPDATE integrations.deliveries SET lease_id = gen_random_uuid(), "
                       "lease_until = now() + interval '1 minute' WHERE delivery_id = $1::uuid "
                       "RETURNING lease_id::text, ctid::text",
                       delivery);
}

START_TEST(a_record_finds_the_leased_row_by_its_address)
{
    char *key = NULL, *tenant = NULL;
    PGconn *svc = backlog("Record KG", 1000, 1000, &tenant, &key);
    PGresult *claimed = claim(svc, tenant, 2);

    /* By its address: the first attempt, failed, is kept on the
     * delivery's row, which waits for its next attempt. */
    const char *delivery = PQgetvalue(claimed, 0, 0);
    char *state =
        record(svc, delivery, PQgetvalue(claimed, 0, 1), PQgetvalue(claimed, 0, 2), "RETRY");
    ck_assert_str_eq(state, "PENDING");
    free(state);
    assert_deliveries(svc, delivery, "PENDING 1 true first 503 then -");

    /* The same lease again: it is no longer held, nothing is written. */
    state =
        record(svc, delivery, PQgetvalue(claimed, 0, 1), PQgetvalue(claimed, 0, 2), "SUCCEEDED");
    ck_assert_str_eq(state, "");
    free(state);

    /* Leased again, its second attempt is a row of integrations.attempts
     * and the first stays as it was. */
    PGresult *lease = lease_again(svc, delivery);
    state = record(svc, delivery, PQgetvalue(lease, 0, 0), PQgetvalue(lease, 0, 1), "SUCCEEDED");
    ck_assert_str_eq(state, "SUCCEEDED");
    free(state);
    PQclear(lease);
    assert_deliveries(svc, delivery, "SUCCEEDED 2 true first 503 then 2:204");

    /* A row that moved since the claim (any update gives it a new address)
     * is found by its key. */
    bw_test_exec(svc,
                 "UPDATE integrations.deliveries SET update_time = now() "
                 "WHERE delivery_id = $1::uuid",
                 PQgetvalue(claimed, 1, 0));
    state = record(svc, PQgetvalue(claimed, 1, 0), PQgetvalue(claimed, 1, 1),
                   PQgetvalue(claimed, 1, 2), "SUCCEEDED");
    ck_assert_str_eq(state, "SUCCEEDED");
    free(state);
    PQclear(claimed);
    end_backlog(svc, tenant, key);
}
END_TEST

/* Records attempts as the deliverer records those that end together
 * (integrations.record_attempts, migration 0018): one UPDATE for
 * the rows at the addresses the claim returned, a second for the rest at
 * the addresses their keys give.
 * deliveries, leases and outcomes are comma-separated, ats
 * semicolon-separated, as many of each. Returns what the record says: how
 * many of them finished a delivery whose resource has a later one
 * pending. */
static int record_batch(PGconn *svc, const char *deliveries, const char *leases,
                        const char *outcomes, const char *ats)
{
    PGresult *res = bw_test_sql(
        svc,
        "WITH n AS (SELECT cardinality(string_to_array($1, ',')) AS n) "
        "SELECT integrations.record_attempts(string_to_array($1, ',')::uuid[], "
        "string_to_array($2, ',')::uuid[], array_fill(1.7e15::float8, ARRAY[n]), "
        "ARRAY(SELECT CASE WHEN o = 'RETRY' THEN 503 ELSE 204 END FROM "
        "unnest(string_to_array($3, ',')) o), array_fill(3, ARRAY[n]), array_fill(''::text, "
        "ARRAY[n]), string_to_array($3, ','), array_fill(0::float8, ARRAY[n]), "
        "string_to_array($4, ';')::tid[]) FROM n",
        deliveries, leases, outcomes, ats);
    int freed = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return freed;
}

START_TEST(records_of_attempts_together_find_each_row)
{
    char *key = NULL, *tenant = NULL;
    /* Every resource has three or four events: each delivery claimed has
     * later ones waiting behind it. */
    PGconn *svc = backlog("Records KG", 1000, 300, &tenant, &key);
    PGresult *claimed = claim(svc, tenant, 4);
    const char *id[4], *lease[4], *at[4];
    for (int i = 0; i < 4; i++) {
        id[i] = PQgetvalue(claimed, i, 0);
        lease[i] = PQgetvalue(claimed, i, 1);
        at[i] = PQgetvalue(claimed, i, 2);
    }
    /* A retry frees nothing: the delivery still waits, before the others. */
    ck_assert_int_eq(record_batch(svc, id[2], lease[2], "RETRY", at[2]), 0);

    /* The second has moved since the claim; the fourth's lease is not the
     * one held. The first is found at its address and frees the next of
     * its resource; the second is found by its key and does too; the
     * fourth is not found, nothing is recorded for it, and it frees
     * nothing. */
    bw_test_exec(svc,
                 "UPDATE integrations.deliveries SET update_time = now() "
                 "WHERE delivery_id = $1::uuid",
                 id[1]);
    char ids[4 * 40], leases[4 * 40], ats[4 * 24];
    snprintf(ids, sizeof(ids), "%s,%s,%s", id[0], id[1], id[3]);
    snprintf(leases, sizeof(leases), "%s,%s,%s", lease[0], lease[1],
             "00000000-0000-4000-8000-000000000000");
    snprintf(ats, sizeof(ats), "%s;%s;%s", at[0], at[1], at[3]);
    ck_assert_int_eq(record_batch(svc, ids, leases, "SUCCEEDED,SUCCEEDED,SUCCEEDED", ats), 2);

    snprintf(ids, sizeof(ids), "%s,%s,%s,%s", id[0], id[1], id[2], id[3]);
    assert_deliveries(svc, ids,
                      "SUCCEEDED 1 true first 204 then -; SUCCEEDED 1 true first 204 then -; "
                      "PENDING 1 true first 503 then -; PENDING 0 false first - then -");

    /* The one that waits, leased again: its second attempt is a row of
     * integrations.attempts, its first stays. Leases recorded already are
     * not held any more: nothing is written twice, and they free nothing
     * again. */
    PGresult *again = lease_again(svc, id[2]);
    snprintf(ids, sizeof(ids), "%s,%s,%s", id[2], id[0], id[1]);
    snprintf(leases, sizeof(leases), "%s,%s,%s", PQgetvalue(again, 0, 0), lease[0], lease[1]);
    snprintf(ats, sizeof(ats), "%s;(0,0);(0,0)", PQgetvalue(again, 0, 1));
    ck_assert_int_eq(record_batch(svc, ids, leases, "SUCCEEDED,SUCCEEDED,SUCCEEDED", ats), 1);
    PQclear(again);
    snprintf(ids, sizeof(ids), "%s,%s,%s,%s", id[0], id[1], id[2], id[3]);
    assert_deliveries(svc, ids,
                      "SUCCEEDED 1 true first 204 then -; SUCCEEDED 1 true first 204 then -; "
                      "SUCCEEDED 2 true first 503 then 2:204; PENDING 0 false first - then -");

    /* The last waiting delivery of its resource frees nothing. */
    bw_test_exec(svc,
                 "UPDATE integrations.deliveries SET state = 'SUCCEEDED', next_attempt_time = NULL "
                 "WHERE resource = (SELECT resource FROM integrations.deliveries "
                 "WHERE delivery_id = $1::uuid) AND delivery_id <> $1::uuid",
                 id[3]);
    ck_assert_int_eq(record_batch(svc, id[3], lease[3], "SUCCEEDED", at[3]), 0);
    assert_deliveries(svc, id[3], "SUCCEEDED 1 true first 204 then -");
    PQclear(claimed);
    end_backlog(svc, tenant, key);
}
END_TEST

/* Recorded together, each row is found by its address and only there
 * (integrations migration 0018: one UPDATE for the batch, a TID scan per
 * attempt), a row that moved by its key: the rows read are about
 * the batch's, not the tenant's deliveries, under the generic plan a
 * session settles on. Planned with index scans allowed, the same UPDATE
 * read the tenant's deliveries by the primary key and filtered them by
 * address. */
START_TEST(a_record_of_many_reads_the_batch_not_the_backlog)
{
    enum { BACKLOG = 1000, RESOURCES = 300, BATCH = 16 };
    char *key = NULL, *tenant = NULL;
    PGconn *svc = backlog("Batch KG", BACKLOG, RESOURCES, &tenant, &key);
    bw_test_exec(svc, "SET LOCAL plan_cache_mode = force_generic_plan");
    PGresult *claimed = claim(svc, tenant, BATCH);
    ck_assert_int_eq(PQntuples(claimed), BATCH);
    char ids[BATCH * 40] = "", leases[BATCH * 40] = "", ats[BATCH * 24] = "",
                     outcomes[BATCH * 12] = "";
    for (int i = 0; i < BATCH; i++) {
        const char *sep = i > 0 ? "," : "";
        snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s", sep,
                 PQgetvalue(claimed, i, 0));
        snprintf(leases + strlen(leases), sizeof(leases) - strlen(leases), "%s%s", sep,
                 PQgetvalue(claimed, i, 1));
        snprintf(ats + strlen(ats), sizeof(ats) - strlen(ats), "%s%s", i > 0 ? ";" : "",
                 PQgetvalue(claimed, i, 2));
        snprintf(outcomes + strlen(outcomes), sizeof(outcomes) - strlen(outcomes), "%s%s", sep,
                 "SUCCEEDED");
    }
    /* Every other row has moved since the claim: those are found by their
     * key, in the record's second pass. */
    for (int i = 1; i < BATCH; i += 2)
        bw_test_exec(svc,
                     "UPDATE integrations.deliveries SET update_time = now() "
                     "WHERE delivery_id = $1::uuid",
                     PQgetvalue(claimed, i, 0));
    long before = bw_test_rows_read(svc, "integrations");
    /* Every resource has later deliveries waiting: each one recorded
     * frees one. */
    ck_assert_int_eq(record_batch(svc, ids, leases, outcomes, ats), BATCH);
    long read = bw_test_rows_read(svc, "integrations") - before;
    /* Per attempt: its row by address or, for a moved one, by its key
     * (two index entries: the version the claim leased and the moved
     * one); the probe of its resource's next. Looked up by an equality
     * under this plan, the moved rows read the tenant's backlog: 1,077
     * rows, and 8,248 as a lateral lookup each. */
    ck_assert_msg(read <= 6 * BATCH, "a record of %d over a backlog of %d read %ld rows", BATCH,
                  BACKLOG, read);
    PGresult *done = bw_test_sql(svc,
                                 "SELECT count(*) FROM integrations.deliveries WHERE delivery_id = "
                                 "ANY (string_to_array($1, ',')::uuid[]) AND state = 'SUCCEEDED' "
                                 "AND first_status_code = 204 AND lease_id IS NULL",
                                 ids);
    ck_assert_str_eq(PQgetvalue(done, 0, 0), BW_TEST_INT(BATCH));
    PQclear(done);
    PQclear(claimed);
    end_backlog(svc, tenant, key);
}
END_TEST

/* Claims up to 200 events of the outbox as the relay does, retrying while
 * the stack's own relay holds its turn (it gives it back within
 * milliseconds, or seconds while it relays a backlog under ASan); returns
 * the claim's rows. */
static PGresult *outbox_claim(PGconn *svc, const char *tenant)
{
    for (int i = 0; i < 1500; i++) {
        PGresult *res =
            bw_test_sql(svc,
                        "SELECT count(*), count(*) FILTER (WHERE tenant_id = $1::uuid), "
                        "min(seq) FILTER (WHERE tenant_id = $1::uuid), "
                        "max(seq) FILTER (WHERE tenant_id = $1::uuid) "
                        "FROM bulwark.outbox_claim(200)",
                        tenant);
        if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
            return res;
        PQclear(res);
        usleep(20 * 1000);
    }
    ck_abort_msg("the outbox claim got nothing in 30 s");
    return NULL;
}

START_TEST(the_relays_claim_reads_what_it_claims_not_the_backlog)
{
    enum { BACKLOG = 5000 };
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Outbox claim KG", &key);
    PGconn *svc = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(svc, "BEGIN");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    bw_test_exec(svc,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "SELECT $1::uuid, gen_random_uuid(), 'campaign.completed', "
                 "'campaigns/' || (g % 300), '{}' FROM generate_series(1, $2::int) g",
                 tenant, BW_TEST_INT(BACKLOG));

    /* The first claim of a session also plans it (and may take events of
     * other tests not yet relayed first): the second is measured. */
    PGresult *res = outbox_claim(svc, tenant);
    long first = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    long before = bw_test_rows_read(svc, "bulwark");
    res = outbox_claim(svc, tenant);
    long read = bw_test_rows_read(svc, "bulwark") - before;
    /* Oldest first: 200 of ours, after the first claim's. */
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "200");
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "200");
    long lo = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    ck_assert_msg(lo > first, "claimed from seq %ld after the first claim's %ld", lo, first);
    PQclear(res);
    /* Per claimed event: its entry of outbox_unrelayed (and the first
     * claim's, now claimed), the row by its address, the update. 0006's
     * read every event not yet relayed, twice. */
    ck_assert_msg(read <= 1000, "a claim of 200 of %d read %ld rows", BACKLOG, read);
    end_backlog(svc, tenant, key);
}
END_TEST

START_TEST(a_ticket_claim_reads_what_it_leases_not_the_backlog)
{
    enum { BACKLOG = 2000, INCIDENTS = 300, LIMIT = 16 };
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Ticket claim KG", &key);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key,
                                  "{\"name\":\"Acme Cloud SE\",\"timeZone\":\"Europe/Berlin\"}",
                                  NULL, &r),
                     0);
    ck_assert_msg(r.status == 201, "%ld: %s", r.status, r.body);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"system\":\"JIRA\",\"name\":\"claim\",\"baseUrl\":\"http://%s:9\","
             "\"entity\":\"%s\",\"projectKey\":\"SEC\",\"credentials\":{\"email\":"
             "\"bulwark@example.com\",\"apiToken\":\"t\"},\"createIssues\":false}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"),
             json_string_value(json_object_get(r.json, "id")));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/integrations/connections", key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "%ld: %s", r.status, r.body);
    char connection[64];
    snprintf(connection, sizeof(connection), "%s",
             json_string_value(json_object_get(r.json, "id")));
    bw_test_resp_free(&r);

    /* Job g (from 1) is of incident g % INCIDENTS, all due alike: the
     * first jobs of incidents 1-16 lead with seqs 1-16. */
    PGconn *svc = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(svc, "BEGIN");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant);
    bw_test_exec(
        svc,
        "INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
        "origin, occur_time, data) SELECT $1, gen_random_uuid(), g, 'incident.updated', "
        "'incidents/' || (g % $3::int), '', now(), '{}' FROM generate_series(1, $2::int) g",
        tenant, BW_TEST_INT(BACKLOG), BW_TEST_INT(INCIDENTS));
    bw_test_exec(
        svc,
        "INSERT INTO integrations.ticket_jobs (tenant_id, job_id, connection_id, event_id, "
        "seq, incident_id, state, next_attempt_time) SELECT tenant_id, gen_random_uuid(), "
        "$2, event_id, seq, md5(resource)::uuid, 'PENDING', now() - interval '1 minute' "
        "FROM integrations.events WHERE tenant_id = $1::uuid ORDER BY seq",
        tenant, connection);

    static const char claim[] = "SELECT coalesce(string_agg(x.job_id::text, ','), '') "
                                "FROM integrations.claim_ticket_jobs($1::int, 75) x "
                                "WHERE x.tenant_id = $2::uuid";
    static const char leased[] = "SELECT string_agg(j.seq::text, ',' ORDER BY j.seq) "
                                 "FROM integrations.ticket_jobs j "
                                 "WHERE j.job_id = ANY (string_to_array($1, ',')::uuid[])";
    const char *limit = BW_TEST_INT(LIMIT);
    PGresult *res = bw_test_sql(svc, claim, limit, tenant);
    PGresult *what = bw_test_sql(svc, leased, PQgetvalue(res, 0, 0));
    ck_assert_str_eq(PQgetvalue(what, 0, 0), "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16");
    PQclear(what);
    PQclear(res);
    /* Those leased, the next incidents' first jobs; none of incidents 1-16
     * (their first job is still pending). The second claim is measured. */
    long before = bw_test_rows_read(svc, "integrations");
    res = bw_test_sql(svc, claim, limit, tenant);
    long read = bw_test_rows_read(svc, "integrations") - before;
    what = bw_test_sql(svc, leased, PQgetvalue(res, 0, 0));
    ck_assert_str_eq(PQgetvalue(what, 0, 0), "17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32");
    PQclear(what);
    PQclear(res);
    /* Per leased job: its entry of ticket_jobs_due (and the 16 leased
     * before), the probe of its incident, the lease, the joins with its
     * connection, event and link. 0009's read the
     * pending backlog for every candidate. */
    ck_assert_msg(read <= 300, "a claim of %d of %d read %ld rows", LIMIT, BACKLOG, read);
    end_backlog(svc, tenant, key);
}
END_TEST

/* The relay's probe (its fan-out statement, relay.c; a function of its own
 * in migration 0011, inline since 0017): before it hands a delivery
 * straight to the deliverer, leased, it asks whether an earlier delivery of
 * the resource to the endpoint is still pending. It answers by the
 * resource's first pending delivery, reading about one row whatever the
 * backlog: asked as NOT EXISTS, or as EXISTS (PostgreSQL then drops the
 * ORDER BY and the LIMIT), the plan read the tenant's deliveries, or the
 * endpoint's pending ones filtered by resource. The statement runs here as
 * the relay runs it, after the relay's switch of tenant (which turns sorts
 * off); this session plans it with the statistics of the day: the test
 * guards the shape. */
static const char *relay_sql(const char *name)
{
    for (size_t i = 0; i < bw_relay_n_stmts; i++)
        if (strcmp(bw_relay_stmts[i]->name, name) == 0)
            return bw_relay_stmts[i]->sql;
    ck_abort_msg("no relay statement %s", name);
    return NULL;
}

/* Makes an event of resource and its delivery to endpoint, offered leased;
 * returns the seqs of the deliveries leased, comma-separated. */
static char *fan_out(PGconn *svc, const char *endpoint, const char *seq, const char *resource)
{
    char ids[80], endpoints[48], seqs[32], resources[64];
    PGresult *id = bw_test_sql(svc, "SELECT gen_random_uuid()::text, gen_random_uuid()::text");
    snprintf(ids, sizeof(ids), "{%s}", PQgetvalue(id, 0, 0));
    snprintf(endpoints, sizeof(endpoints), "{%s}", endpoint);
    snprintf(seqs, sizeof(seqs), "{%s}", seq);
    snprintf(resources, sizeof(resources), "{\"%s\"}", resource);
    char deliveries[48];
    snprintf(deliveries, sizeof(deliveries), "{%s}", PQgetvalue(id, 0, 1));
    PQclear(id);
    const char *q[] = {relay_sql("relay_fan_out"),
                       ids,
                       seqs,
                       "{campaign.completed}",
                       resources,
                       "{\"\"}",
                       "{2026-12-05T00:00:00Z}",
                       "{\"{}\"}",
                       deliveries,
                       endpoints,
                       ids,
                       seqs,
                       resources,
                       "{60}"};
    PGresult *res = bw_test_sql_params(svc, q, 13);
    char *leased = calloc(1, 256);
    ck_assert_ptr_nonnull(leased);
    for (int row = 0; row < PQntuples(res); row++)
        snprintf(leased + strlen(leased), 256 - strlen(leased), "%s%s", row > 0 ? "," : "",
                 PQgetvalue(res, row, PQnfields(res) - 1));
    PQclear(res);
    return leased;
}

START_TEST(the_relays_probe_reads_one_resource_not_the_backlog)
{
    enum { BACKLOG = 2000, RESOURCES = 300 };
    char *key = NULL, *tenant = NULL;
    PGconn *svc = backlog("Probe KG", BACKLOG, RESOURCES, &tenant, &key);
    PGresult *ep = bw_test_sql(svc, "SELECT endpoint_id::text FROM integrations.webhook_endpoints");
    ck_assert_int_eq(PQntuples(ep), 1);
    const char *endpoint = PQgetvalue(ep, 0, 0);
    const char *set_tenant[] = {relay_sql("relay_set_tenant"), tenant};
    PQclear(bw_test_sql_params(svc, set_tenant, 1));
    /* The plan the relay's session runs, prepared once: generic. */
    bw_test_exec(svc, "SET LOCAL plan_cache_mode = force_generic_plan");

    char *leased = fan_out(svc, endpoint, "5001", "campaigns/7"); /* plans it */
    ck_assert_str_eq(leased, "");
    free(leased);

    long before = bw_test_rows_read(svc, "integrations");
    leased = fan_out(svc, endpoint, "5002", "campaigns/8");
    ck_assert_str_eq(leased, "");
    free(leased);
    leased = fan_out(svc, endpoint, "5003", "campaigns/none");
    ck_assert_str_eq(leased, "5003");
    free(leased);
    long read = bw_test_rows_read(svc, "integrations") - before;
    /* Per fan-out: the endpoint, the probe, the foreign key checks. */
    ck_assert_msg(read <= 20, "two fan-outs over a backlog of %d read %ld rows", BACKLOG, read);

    /* Delivered (or failed for good): nothing of the resource waits, and
     * its next event's delivery is handed over. */
    bw_test_exec(svc, "UPDATE integrations.deliveries SET state = 'SUCCEEDED', "
                      "next_attempt_time = NULL WHERE resource = 'campaigns/9'");
    leased = fan_out(svc, endpoint, "5004", "campaigns/9");
    ck_assert_str_eq(leased, "5004");
    free(leased);
    PQclear(ep);
    end_backlog(svc, tenant, key);
}
END_TEST

Suite *suite_claim(void)
{
    Suite *s = suite_create("claim");
    TCase *tc = tcase_create("claim");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_claim_reads_what_it_leases_not_the_backlog);
    tcase_add_test(tc, a_record_finds_the_leased_row_by_its_address);
    tcase_add_test(tc, records_of_attempts_together_find_each_row);
    tcase_add_test(tc, a_record_of_many_reads_the_batch_not_the_backlog);
    tcase_add_test(tc, the_relays_claim_reads_what_it_claims_not_the_backlog);
    tcase_add_test(tc, a_ticket_claim_reads_what_it_leases_not_the_backlog);
    tcase_add_test(tc, the_relays_probe_reads_one_resource_not_the_backlog);
    suite_add_tcase(s, tc);
    return s;
}
