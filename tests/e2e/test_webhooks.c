/*
 * Webhooks end to end: real HTTP from a client through the gateway to the
 * integrations service, and real HTTP from its deliverer to a stand-in
 * receiver (tests/standins/webhook_receiver), which checks every signature
 * with its own implementation of the Standard Webhooks algorithm.
 *
 * What produces the events: so that each test chooses its events, most
 * tests insert rows into bulwark.outbox directly, as the schema owner,
 * exactly as bw_outbox_emit would (with the tenant set, so that row-level
 * security applies). They prove everything from the outbox on: relay,
 * ordering, signing, retries, disabling, replay, SSRF. The services' own
 * producers are followed by test_events.c; here, disabling an endpoint
 * through the API emits webhook_endpoint.disabled through bw_outbox_emit's
 * path, and a test follows it to another endpoint.
 *
 * The stack runs with BULWARK_WEBHOOK_RETRY_SECONDS=1,1,1,1,1,1,1,1 (nine
 * attempts over about eight seconds) and allows plain http only to
 * BULWARK_TEST_WEBHOOK_HOST/32 (127.0.0.2), where the receiver listens.
 */
#include "e2e.h"
#include "log.h"
#include "receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Nine attempts a second apart, jittered, and some slack for ASan. */
#define EXHAUSTION_WAIT_SEC 40

/* ---- the API --------------------------------------------------------------- */

/* A unique receiver path for this test. */
static char *unique_path(const char *what)
{
    char *id = bw_test_uuid_str();
    char *path = malloc(256);
    snprintf(path, 256, "/hooks/%s/%s", what, id);
    free(id);
    return path;
}

/* Creates an endpoint at url for the types (a JSON array); returns the
 * reply, which holds id and secret. */
static json_t *create_endpoint(const tenant_t *t, const char *url, const char *types)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"url\":\"%s\",\"eventTypes\":%s,\"description\":\"e2e\"}", url,
             types);
    return call(t->key, "POST", "/v1/webhook-endpoints", body, 201);
}

/* An endpoint at path of the stand-in receiver. */
static json_t *create_endpoint_at(const tenant_t *t, const char *path, const char *types)
{
    char url[400];
    snprintf(url, sizeof(url), "%s%s", hooks, path);
    return create_endpoint(t, url, types);
}

/* Appends an event to tenant's outbox on db as a producer would (in db's
 * transaction, if one is open); returns its id (caller frees). */
static char *emit_on(PGconn *db, const tenant_t *t, const char *type, const char *resource,
                     const char *data)
{
    char *event_id = bw_test_uuid_str();
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, false)", t->id);
    bw_test_exec(db,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 t->id, event_id, type, resource, data);
    return event_id;
}

/* emit_on a connection of its own: the event is committed on return. */
static char *emit(const tenant_t *t, const char *type, const char *resource, const char *data)
{
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    char *event_id = emit_on(db, t, type, resource, data);
    PQfinish(db);
    return event_id;
}

/* Appends n events of type to tenant's outbox in one transaction (so that
 * one relay batch may take them all), event g (from 1) of resource
 * "incidents/<prefix><g>"; their ids in row order (caller PQclears). */
static PGresult *emit_many(const tenant_t *t, const char *type, const char *prefix, int n)
{
    char count[16];
    snprintf(count, sizeof(count), "%d", n);
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, false)", t->id);
    PGresult *ids =
        bw_test_sql(db,
                    "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                    "SELECT $1, gen_random_uuid(), $2, 'incidents/' || $3 || g, "
                    "json_build_object('id', $3 || g)::text FROM generate_series(1, $4::int) g "
                    "RETURNING event_id::text",
                    t->id, type, prefix, count);
    ck_assert_int_eq(PQntuples(ids), n);
    PQfinish(db);
    return ids;
}

/* Asserts that event id arrived exactly once over the n lists of arrivals
 * (received()), validly signed: signed when it went out, not when it was
 * claimed, so its timestamp is fresh and the signature over it valid. */
static void assert_arrived_once(json_t *const *lists, int n, const char *id)
{
    int seen = 0;
    for (int w = 0; w < n; w++)
        for (size_t k = 0; k < json_array_size(lists[w]); k++) {
            json_t *d = json_array_get(lists[w], k);
            if (strcmp(jstr(d, "id"), id) != 0)
                continue;
            seen++;
            ck_assert_msg(json_is_true(json_object_get(d, "valid")), "event %s: bad signature", id);
        }
    ck_assert_msg(seen == 1, "event %s arrived %d times", id, seen);
}

static json_t *deliveries_of(const tenant_t *t, const char *endpoint, const char *query)
{
    char path[1024];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries%s", endpoint, query);
    return call(t->key, "GET", path, NULL, 200);
}

/* Waits until the endpoint's delivery log, read with query, lists at least
 * n deliveries; returns that page (caller decrefs). */
static json_t *wait_listed(const tenant_t *t, const char *endpoint, const char *query, size_t n,
                           int seconds)
{
    size_t got = 0;
    for (int i = 0; i < seconds * 10; i++) {
        json_t *doc = deliveries_of(t, endpoint, query);
        got = json_array_size(json_object_get(doc, "deliveries"));
        if (got >= n)
            return doc;
        json_decref(doc);
        usleep(100 * 1000);
    }
    ck_abort_msg("endpoint %s: %zu deliveries listed by %s within %d s, want %zu", endpoint, got,
                 query, seconds, n);
    return NULL;
}

/* Waits until the endpoint's delivery log holds n SUCCEEDED deliveries. The
 * receiver counts an answer as it sends it; the deliverer records attempts
 * that end close together in one statement a little later (RECORD_DELAY_MS
 * in deliverer.c), so the log follows the receiver, never leads it. */
static void wait_recorded(const tenant_t *t, const char *endpoint, size_t n, int seconds)
{
    json_decref(wait_listed(t, endpoint, "?state=SUCCEEDED&pageSize=100", n, seconds));
}

/* Waits until the endpoint's delivery log holds a delivery whose latest
 * attempt's error contains text; returns that delivery (caller decrefs). */
static json_t *wait_attempt_error(const tenant_t *t, const char *endpoint, const char *text,
                                  int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        json_t *doc = deliveries_of(t, endpoint, "");
        json_t *list = json_object_get(doc, "deliveries");
        for (size_t k = 0; k < json_array_size(list); k++) {
            json_t *d = json_array_get(list, k);
            json_t *a = json_array_get(json_object_get(d, "attempts"), 0);
            if (a != NULL && strstr(jstr(a, "error"), text) != NULL) {
                json_incref(d);
                json_decref(doc);
                return d;
            }
        }
        json_decref(doc);
        usleep(100 * 1000);
    }
    ck_abort_msg("no attempt to %s failed with \"%s\" within %d s", endpoint, text, seconds);
    return NULL;
}

/* Asserts that the endpoint's latest FAILED delivery is event's, after n
 * attempts each answered status; its id into delivery unless NULL. */
static void assert_failed(const tenant_t *t, const char *endpoint, const char *event, int n,
                          int status, char delivery[64])
{
    json_t *log = deliveries_of(t, endpoint, "?state=FAILED");
    json_t *d = json_array_get(json_object_get(log, "deliveries"), 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(jstr(d, "eventId"), event);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attemptCount")), n);
    json_t *attempts = json_object_get(d, "attempts");
    ck_assert_uint_eq(json_array_size(attempts), (size_t)n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_array_get(attempts, i), "statusCode")), status);
    if (delivery != NULL)
        snprintf(delivery, 64, "%s", jstr(d, "id"));
    json_decref(log);
}

/* Asserts that event's delivery to the disabled endpoint appears within 30
 * s, PAUSED and never attempted. */
static void assert_paused(const tenant_t *t, const char *endpoint, const char *event)
{
    json_t *log = wait_listed(t, endpoint, "?state=PAUSED", 1, 30);
    json_t *paused = json_array_get(json_object_get(log, "deliveries"), 0);
    ck_assert_str_eq(jstr(paused, "eventId"), event);
    ck_assert_int_eq(json_integer_value(json_object_get(paused, "attemptCount")), 0);
    json_decref(log);
}

static json_t *wait_disabled(const tenant_t *t, const char *endpoint, int seconds)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", endpoint);
    for (int i = 0; i < seconds * 10; i++) {
        json_t *e = call(t->key, "GET", path, NULL, 200);
        if (json_is_true(json_object_get(e, "disabled")))
            return e;
        json_decref(e);
        usleep(100 * 1000);
    }
    ck_abort_msg("endpoint %s was not disabled within %d s", endpoint, seconds);
    return NULL;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(endpoints_are_managed_and_validated)
{
    tenant_t a = new_tenant("Webhooks A"), b = new_tenant("Webhooks B");
    char url[200];
    snprintf(url, sizeof(url), "%s/hooks/crud", hooks);
    json_t *e = create_endpoint(&a, url, "[\"incident.created\",\"incident.updated\"]");
    const char *id = jstr(e, "id");
    const char *secret = jstr(e, "secret");
    ck_assert_uint_eq(strlen(secret), 50);
    ck_assert_int_eq(strncmp(secret, "whsec_", 6), 0);
    ck_assert(json_is_false(json_object_get(e, "disabled")));
    ck_assert_uint_eq(json_array_size(json_object_get(e, "eventTypes")), 2);
    char path[200];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", id);

    /* The secret is never shown again. */
    json_t *got = call(a.key, "GET", path, NULL, 200);
    ck_assert_str_eq(jstr(got, "secret"), "");
    ck_assert_str_eq(jstr(got, "url"), url);
    json_decref(got);
    json_t *list = call(a.key, "GET", "/v1/webhook-endpoints", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "webhookEndpoints")), 1);
    char *dump = json_dumps(list, 0);
    ck_assert_ptr_null(strstr(dump, "whsec_"));
    free(dump);
    json_decref(list);

    /* PATCH changes what the body names; the etag moves. */
    json_t *patched = call(a.key, "PATCH", path, "{\"description\":\"billing\"}", 200);
    ck_assert_str_eq(jstr(patched, "description"), "billing");
    ck_assert_str_eq(jstr(patched, "url"), url);
    ck_assert_str_ne(jstr(patched, "etag"), jstr(e, "etag"));
    json_decref(patched);

    /* Bad input: 400 naming the field. */
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"eventTypes\":[\"incident.created\"]}", 400, "url");
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://hooks.example.com/x\",\"eventTypes\":[\"incident.created\","
                   "\"incident.exploded\"]}",
                   400, "eventTypes[1]");
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://hooks.example.com/x\",\"eventTypes\":[]}", 400,
                   "eventTypes");
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://hooks.example.com/x\",\"eventTypes\":[\"incident.created\","
                   "\"incident.created\"]}",
                   400, "eventTypes[1]");
    /* A list longer than the catalogue is refused as a whole: 40,000 of one
     * type then 40,000 of another made its items compared pairwise (1.6
     * billion comparisons) and a violation formatted for each. */
    {
        enum { HALF = 40000, ITEM = 20 };
        char *big = malloc((size_t)2 * HALF * ITEM + 128);
        ck_assert_ptr_nonnull(big);
        size_t n =
            (size_t)sprintf(big, "{\"url\":\"https://hooks.example.com/x\",\"eventTypes\":[");
        for (int i = 0; i < 2 * HALF; i++)
            n += (size_t)sprintf(big + n, "%s\"%s\"", i == 0 ? "" : ",",
                                 i < HALF ? "incident.updated" : "incident.created");
        strcpy(big + n, "]}");
        expect_problem(a.key, "POST", "/v1/webhook-endpoints", big, 400, "eventTypes");
        expect_problem(a.key, "PATCH", path, big, 400, "eventTypes");
        free(big);
    }
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"ftp://hooks.example.com/x\",\"eventTypes\":[\"incident.created\"]}",
                   400, "url");
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://hooks.example.com/x\",\"eventTypes\":[\"incident.created\"],"
                   "\"secret\":\"whsec_mine\"}",
                   400, "secret");
    expect_problem(a.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://hooks.example.com/x\",\"eventTypes\":[\"incident.created\"],"
                   "\"colour\":\"red\"}",
                   400, "colour");
    expect_problem(a.key, "PATCH", path, "{\"url\":\"not a url\"}", 400, "url");

    /* Roles: admin writes, auditor reads, nobody else. */
    char *auditor = NULL, *editor = NULL;
    json_t *k = call(a.key, "POST", "/v1/api-keys", "{\"name\":\"aud\",\"role\":\"auditor\"}", 201);
    auditor = strdup(jstr(k, "secret"));
    json_decref(k);
    k = call(a.key, "POST", "/v1/api-keys", "{\"name\":\"ed\",\"role\":\"editor\"}", 201);
    editor = strdup(jstr(k, "secret"));
    json_decref(k);
    json_decref(call(auditor, "GET", path, NULL, 200));
    expect_problem(auditor, "PATCH", path, "{\"description\":\"x\"}", 403, NULL);
    expect_problem(editor, "GET", path, NULL, 403, NULL);

    /* Another tenant's endpoint is a 404 on every route. */
    char sub[300];
    expect_problem(b.key, "GET", path, NULL, 404, NULL);
    expect_problem(b.key, "PATCH", path, "{\"description\":\"x\"}", 404, NULL);
    expect_problem(b.key, "DELETE", path, NULL, 404, NULL);
    snprintf(sub, sizeof(sub), "%s:rotate-secret", path);
    expect_problem(b.key, "POST", sub, "{}", 404, NULL);
    snprintf(sub, sizeof(sub), "%s/deliveries", path);
    expect_problem(b.key, "GET", sub, NULL, 404, NULL);
    snprintf(sub, sizeof(sub), "%s/deliveries/%s:replay", path, id);
    expect_problem(b.key, "POST", sub, "{}", 404, NULL);
    list = call(b.key, "GET", "/v1/webhook-endpoints", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "webhookEndpoints")), 0);
    json_decref(list);

    /* Delete, then it is gone. */
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("DELETE", path, a.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    expect_problem(a.key, "GET", path, NULL, 404, NULL);
    json_decref(e);
    free(auditor);
    free(editor);
    free_tenant(&a);
    free_tenant(&b);
}
END_TEST

START_TEST(create_secret_is_shown_once)
{
    tenant_t t = new_tenant("Webhooks idempotent");
    const char *hdr[] = {"Idempotency-Key: endpoint-1", NULL};
    const char *body =
        "{\"url\":\"https://hooks.example.com/a\",\"eventTypes\":[\"incident.created\"]}";
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/webhook-endpoints", t.key, body, hdr, &r), 0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_int_eq(strncmp(jstr(r.json, "secret"), "whsec_", 6), 0);
    bw_test_resp_free(&r);
    /* The retry learns the first call went through, and gets no secret. */
    ck_assert_int_eq(bw_test_http("POST", "/v1/webhook-endpoints", t.key, body, hdr, &r), 0);
    ck_assert_problem(&r, 409, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "SECRET_SHOWN_ONCE");
    ck_assert_ptr_null(strstr(r.body, "whsec_"));
    bw_test_resp_free(&r);
    json_t *list = call(t.key, "GET", "/v1/webhook-endpoints", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "webhookEndpoints")), 1);
    json_decref(list);
    free_tenant(&t);
}
END_TEST

START_TEST(events_are_delivered_signed_and_in_order)
{
    tenant_t t = new_tenant("Webhooks delivery");
    char *path = unique_path("order");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.created\",\"incident.updated\"]");
    receiver_config(path, jstr(e, "secret"), NULL, 0, 0, NULL, NULL);

    /* Five events of one incident, two of another, one of a type the
     * endpoint did not subscribe to. */
    char *ids[7];
    char data[200];
    for (int i = 0; i < 5; i++) {
        snprintf(data, sizeof(data), "{\"id\":\"r1\",\"title\":\"step %d\",\"n\":%d}", i, i);
        ids[i] = emit(&t, i == 0 ? "incident.created" : "incident.updated", "incidents/r1", data);
    }
    ids[5] = emit(&t, "incident.created", "incidents/r2", "{\"id\":\"r2\"}");
    ids[6] = emit(&t, "incident.updated", "incidents/r2", "{\"id\":\"r2\",\"title\":\"b\"}");
    free(emit(&t, "soa.control_changed", "entities/x/controls/A.5.1", "{\"ref\":\"A.5.1\"}"));
    wait_succeeded(path, 7, 30);
    wait_recorded(&t, jstr(e, "id"), 7, 10);

    json_t *got = received(path);
    ck_assert_uint_eq(json_array_size(got), 7);
    int next_r1 = 0, next_r2 = 5;
    for (size_t i = 0; i < 7; i++) {
        json_t *d = json_array_get(got, i);
        ck_assert_msg(json_is_true(json_object_get(d, "valid")), "signature of %s invalid",
                      jstr(d, "id"));
        /* The body: type, when it happened, and the resource as stored. */
        json_t *body = json_loads(jstr(d, "body"), 0, NULL);
        ck_assert_ptr_nonnull(body);
        const char *resource_id = jstr(json_object_get(body, "data"), "id");
        ck_assert(strlen(jstr(body, "timestamp")) == 27);
        /* Each incident's events arrive in the order they happened. */
        if (strcmp(resource_id, "r1") == 0) {
            ck_assert_str_eq(jstr(d, "id"), ids[next_r1]);
            ck_assert_str_eq(jstr(body, "type"),
                             next_r1 == 0 ? "incident.created" : "incident.updated");
            ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(body, "data"), "n")), next_r1);
            next_r1++;
        } else {
            ck_assert_str_eq(jstr(d, "id"), ids[next_r2]);
            next_r2++;
        }
        json_decref(body);
    }
    ck_assert_int_eq(next_r1, 5);
    ck_assert_int_eq(next_r2, 7);
    json_decref(got);

    /* The delivery log: newest first, each succeeded at its first attempt,
     * in pages. */
    json_t *log = deliveries_of(&t, jstr(e, "id"), "?pageSize=4");
    json_t *list = json_object_get(log, "deliveries");
    ck_assert_uint_eq(json_array_size(list), 4);
    json_t *first = json_array_get(list, 0);
    ck_assert_str_eq(jstr(first, "state"), "SUCCEEDED");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "attemptCount")), 1);
    json_t *attempt = json_array_get(json_object_get(first, "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(attempt, "statusCode")), 204);
    ck_assert_str_eq(jstr(attempt, "error"), "");
    ck_assert_str_eq(jstr(first, "eventId"), ids[6]);
    char q[600];
    snprintf(q, sizeof(q), "?pageSize=4&pageToken=%s", jstr(log, "nextPageToken"));
    json_t *page2 = deliveries_of(&t, jstr(e, "id"), q);
    ck_assert_uint_eq(json_array_size(json_object_get(page2, "deliveries")), 3);
    ck_assert_str_eq(jstr(page2, "nextPageToken"), "");
    ck_assert_str_eq(jstr(json_array_get(json_object_get(page2, "deliveries"), 2), "eventId"),
                     ids[0]);
    json_decref(page2);
    snprintf(q, sizeof(q), "/v1/webhook-endpoints/%s/deliveries?pageToken=forged", jstr(e, "id"));
    expect_problem(t.key, "GET", q, NULL, 400, "pageToken");
    json_t *failed = deliveries_of(&t, jstr(e, "id"), "?state=FAILED");
    ck_assert_uint_eq(json_array_size(json_object_get(failed, "deliveries")), 0);
    json_decref(failed);
    json_decref(log);
    for (int i = 0; i < 7; i++)
        free(ids[i]);
    json_decref(e);
    free(path);
    free_tenant(&t);
}
END_TEST

/* One relay batch with two tenants' events interleaved, and the same
 * resource names in both: the relay groups the batch by tenant and hands
 * over the first event of each tenant's resource at once (the rest wait
 * for it). Each endpoint gets its own tenant's events, once each, every
 * resource in the order its events happened. */
START_TEST(two_tenants_in_one_batch_keep_each_resource_in_order)
{
    tenant_t t[2] = {new_tenant("Webhooks batch A"), new_tenant("Webhooks batch B")};
    char *path[2];
    json_t *e[2];
    for (int k = 0; k < 2; k++) {
        path[k] = unique_path(k == 0 ? "batch-a" : "batch-b");
        e[k] = create_endpoint_at(&t[k], path[k], "[\"incident.updated\"]");
        receiver_config(path[k], jstr(e[k], "secret"), NULL, 0, 0, NULL, NULL);
    }
    /* A r1, B r1, A r2, B r2, A r1, B r1, ...: three of each resource per
     * tenant, committed together. */
    enum { PER = 3, N = 2 * 2 * PER };
    char *ids[N];
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "BEGIN");
    for (int i = 0; i < N; i++) {
        int k = i % 2, r = i / 2 % 2 + 1, n = i / 4;
        char resource[32], data[64];
        snprintf(resource, sizeof(resource), "incidents/r%d", r);
        snprintf(data, sizeof(data), "{\"id\":\"r%d\",\"n\":%d}", r, n);
        ids[i] = emit_on(db, &t[k], "incident.updated", resource, data);
    }
    bw_test_exec(db, "COMMIT");
    PQfinish(db);

    for (int k = 0; k < 2; k++) {
        wait_succeeded(path[k], N / 2, 30);
        json_t *got = received(path[k]);
        ck_assert_uint_eq(json_array_size(got), N / 2);
        for (int i = k; i < N; i += 2)
            assert_arrived_once(&got, 1, ids[i]);
        int next[3] = {0, 0, 0};
        for (size_t j = 0; j < json_array_size(got); j++) {
            json_t *body = json_loads(jstr(json_array_get(got, j), "body"), 0, NULL);
            ck_assert_ptr_nonnull(body);
            json_t *data = json_object_get(body, "data");
            int r = jstr(data, "id")[1] - '0';
            ck_assert(r == 1 || r == 2);
            ck_assert_int_eq(json_integer_value(json_object_get(data, "n")), next[r]);
            next[r]++;
            json_decref(body);
        }
        ck_assert_int_eq(next[1], PER);
        ck_assert_int_eq(next[2], PER);
        json_decref(got);
    }
    for (int i = 0; i < N; i++)
        free(ids[i]);
    for (int k = 0; k < 2; k++) {
        json_decref(e[k]);
        free(path[k]);
        free_tenant(&t[k]);
    }
}
END_TEST

START_TEST(receiver_down_then_up_loses_nothing)
{
    tenant_t t = new_tenant("Webhooks outage");
    char *path = unique_path("outage");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.updated\"]");
    receiver_config(path, jstr(e, "secret"), NULL, 0, 0, NULL, NULL);

    json_decref(receiver_call("POST", "/down", NULL));
    enum { RESOURCES = 4, PER = 5, N = RESOURCES * PER };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        char resource[64], data[128];
        snprintf(resource, sizeof(resource), "incidents/o%d", i % RESOURCES);
        snprintf(data, sizeof(data), "{\"id\":\"o%d\",\"n\":%d}", i % RESOURCES, i / RESOURCES);
        ids[i] = emit(&t, "incident.updated", resource, data);
    }
    /* While it is down the attempts fail, and say why. */
    json_decref(wait_attempt_error(&t, jstr(e, "id"), "onnect", 40));
    sleep(1);
    json_t *up = receiver_call("POST", "/up", NULL);
    ck_assert(json_is_true(json_object_get(up, "up")));
    json_decref(up);
    wait_succeeded(path, N, 60);
    wait_recorded(&t, jstr(e, "id"), N, 10);

    /* Every event exactly once by webhook-id, every signature valid, each
     * incident's events in order. */
    json_t *got = received(path);
    int seen[N] = {0}, last_n[RESOURCES] = {-1, -1, -1, -1};
    for (size_t i = 0; i < json_array_size(got); i++) {
        json_t *d = json_array_get(got, i);
        ck_assert(json_is_true(json_object_get(d, "valid")));
        int k = -1;
        for (int j = 0; j < N; j++)
            if (strcmp(jstr(d, "id"), ids[j]) == 0)
                k = j;
        ck_assert_msg(k >= 0, "unknown webhook-id %s", jstr(d, "id"));
        seen[k]++;
        ck_assert_msg(k / RESOURCES > last_n[k % RESOURCES],
                      "event %d of incident o%d arrived after event %d", k / RESOURCES,
                      k % RESOURCES, last_n[k % RESOURCES]);
        last_n[k % RESOURCES] = k / RESOURCES;
    }
    for (int j = 0; j < N; j++)
        ck_assert_msg(seen[j] == 1, "event %d arrived %d times", j, seen[j]);
    json_decref(got);
    json_t *pending = deliveries_of(&t, jstr(e, "id"), "?state=PENDING");
    ck_assert_uint_eq(json_array_size(json_object_get(pending, "deliveries")), 0);
    json_decref(pending);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    json_decref(e);
    free(path);
    free_tenant(&t);
}
END_TEST

/* A replay is tried at once, even while its endpoint is held: the receiver
 * answers 503 with Retry-After: 30, which holds the endpoint for 30 s (an
 * attempt that speaks for the endpoint, not the event); fixed, and the
 * delivery replayed, it arrives within seconds, not at the hold's end.
 * The operator sees it on the integrations process's /metrics: the hold,
 * the attempt that will be tried again, then the one that succeeded (other
 * suites may deliver meanwhile: the counts grow by at least as much). */
START_TEST(a_replay_is_tried_while_its_endpoint_is_held)
{
    static const char *const retrying = "bulwark_webhook_attempts_total{result=\"retrying\"}",
                             *const succeeded =
                                 "bulwark_webhook_attempts_total{result=\"succeeded\"}",
                             *const timed = "bulwark_webhook_attempt_duration_seconds_count",
                             *const held = "bulwark_webhook_endpoints_held";
    tenant_t t = new_tenant("Webhooks replay held");
    char *path = unique_path("held");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.created\"]");
    receiver_config(path, jstr(e, "secret"), NULL, 503, -1, "30", NULL);
    char *before = bw_test_scrape("integrations");
    char *id = emit(&t, "incident.created", "incidents/h1", "{\"id\":\"h1\"}");
    json_t *d = wait_attempt_error(&t, jstr(e, "id"), "HTTP 503", 40);
    ck_assert_str_eq(jstr(d, "eventId"), id);
    ck_assert_str_eq(jstr(d, "state"), "PENDING");
    char *during = bw_test_scrape("integrations");
    ck_assert(bw_test_sample(during, held) >= 1);
    ck_assert(bw_test_sample(during, retrying) >= bw_test_sample(before, retrying) + 1);
    ck_assert(bw_test_sample(during, timed) >= bw_test_sample(before, timed) + 1);

    receiver_config(path, jstr(e, "secret"), NULL, 204, -1, NULL, NULL);
    char replay[300];
    snprintf(replay, sizeof(replay), "/v1/webhook-endpoints/%s/deliveries/%s:replay", jstr(e, "id"),
             jstr(d, "id"));
    time_t asked = time(NULL);
    json_decref(call(t.key, "POST", replay, "{}", 200));
    wait_succeeded(path, 1, 10);
    ck_assert_msg(time(NULL) - asked < 10, "the replay waited %ld s", (long)(time(NULL) - asked));
    wait_recorded(&t, jstr(e, "id"), 1, 10);
    /* The 503 answers, then one 204, validly signed, with the event's id. */
    json_t *got = received(path);
    int ok = 0;
    for (size_t k = 0; k < json_array_size(got); k++) {
        json_t *g = json_array_get(got, k);
        ck_assert_str_eq(jstr(g, "id"), id);
        ck_assert(json_is_true(json_object_get(g, "valid")));
        ok += json_integer_value(json_object_get(g, "status")) == 204;
    }
    ck_assert_int_eq(ok, 1);
    json_decref(got);
    char *after = bw_test_scrape("integrations");
    ck_assert(bw_test_sample(after, succeeded) >= bw_test_sample(during, succeeded) + 1);
    free(before);
    free(during);
    free(after);
    json_decref(d);
    json_decref(e);
    free(id);
    free(path);
    free_tenant(&t);
}
END_TEST

/* The attempts the endpoint's delivery log shows, over its first 100
 * deliveries. */
static long attempts_made(const tenant_t *t, const char *endpoint)
{
    json_t *doc = deliveries_of(t, endpoint, "?pageSize=100");
    json_t *list = json_object_get(doc, "deliveries");
    long n = 0;
    for (size_t k = 0; k < json_array_size(list); k++)
        n += (long)json_integer_value(json_object_get(json_array_get(list, k), "attemptCount"));
    json_decref(doc);
    return n;
}

/* An endpoint that cannot be reached is not tried once for each delivery
 * waiting for it: an attempt that gets no answer holds the others back
 * for its own wait (about a second as the stack runs), so that 40 events,
 * each of its own incident, to an endpoint at a closed port see a few
 * attempts a second in all, where each would otherwise have had its own
 * at once and again every second. Another endpoint of the same events is
 * not held up: it gets all 40 meanwhile. A change of the endpoint ends its
 * hold: moved to the receiver, it gets every event exactly once, validly
 * signed, none given up. (receiver_down_then_up_loses_nothing sees a hold
 * end with its time.) */
START_TEST(an_unreachable_endpoint_is_not_tried_for_every_delivery)
{
    tenant_t t = new_tenant("Webhooks unreachable");
    char *path = unique_path("unreachable"), *other = unique_path("reachable");
    char closed[300];
    snprintf(closed, sizeof(closed), "http://%s:1%s", bw_test_env("BULWARK_TEST_WEBHOOK_HOST"),
             path);
    json_t *e = create_endpoint(&t, closed, "[\"incident.updated\"]");
    json_t *o = create_endpoint_at(&t, other, "[\"incident.updated\"]");
    receiver_config(path, jstr(e, "secret"), NULL, 0, 0, NULL, NULL);
    receiver_config(other, jstr(o, "secret"), NULL, 0, 0, NULL, NULL);
    enum { N = 40 };
    PGresult *ids = emit_many(&t, "incident.updated", "u", N);
    json_decref(wait_attempt_error(&t, jstr(e, "id"), "onnect", 40));
    wait_succeeded(other, N, 30);
    sleep(3);
    /* Without the hold: 40 at once, and about 40 more each second. */
    long attempts = attempts_made(&t, jstr(e, "id"));
    ck_assert_msg(attempts >= 1 && attempts < N, "%ld attempts in about 3 s", attempts);

    char ep[128], body[512];
    snprintf(ep, sizeof(ep), "/v1/webhook-endpoints/%s", jstr(e, "id"));
    snprintf(body, sizeof(body), "{\"url\":\"%s%s\"}", hooks, path);
    json_decref(call(t.key, "PATCH", ep, body, 200));
    wait_succeeded(path, N, 30);
    wait_recorded(&t, jstr(e, "id"), N, 10);
    json_t *got[2] = {received(path), received(other)};
    for (int i = 0; i < N; i++) {
        assert_arrived_once(&got[0], 1, PQgetvalue(ids, i, 0));
        assert_arrived_once(&got[1], 1, PQgetvalue(ids, i, 0));
    }
    json_decref(got[0]);
    json_decref(got[1]);
    PQclear(ids);
    json_decref(e);
    json_decref(o);
    free(path);
    free(other);
    free_tenant(&t);
}
END_TEST

/* A backlog of one endpoint, each event of its own incident: the deliverer
 * leases several times what it may send at once (PREFETCH in deliverer.c)
 * and starts the rest as attempts end, but the receiver never holds more
 * than BULWARK_WEBHOOK_ENDPOINT_CONCURRENCY (4, as the stack runs) at once,
 * and each event arrives once, validly signed. */
START_TEST(an_endpoint_gets_at_most_its_concurrency_at_once)
{
    tenant_t t = new_tenant("Webhooks concurrency");
    char *path = unique_path("concurrency");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.updated\"]");
    receiver_config_delay(path, jstr(e, "secret"), 200);
    enum { N = 24 };
    PGresult *ids = emit_many(&t, "incident.updated", "c", N);
    wait_succeeded(path, N, 60);
    sleep(1);
    char q[300];
    snprintf(q, sizeof(q), "/count?path=%s", path);
    json_t *count = receiver_call("GET", q, NULL);
    json_int_t held = json_integer_value(json_object_get(count, "maxHeld"));
    ck_assert_msg(held >= 2 && held <= 4, "the receiver held %lld replies at once",
                  (long long)held);
    ck_assert_int_eq(json_integer_value(json_object_get(count, "received")), N);
    json_decref(count);
    json_t *got = received(path);
    for (int i = 0; i < N; i++)
        assert_arrived_once(&got, 1, PQgetvalue(ids, i, 0));
    PQclear(ids);
    json_decref(got);
    json_decref(e);
    free(path);
    free_tenant(&t);
}
END_TEST

/* One tenant's endpoint answers slowly (1 s) while its events keep coming
 * (100 a second, each of its own incident): another tenant's event still
 * arrives within seconds. The relay handed the slow endpoint every place
 * its attempts freed, and no claim had room for anyone else. */
START_TEST(a_slow_endpoint_leaves_room_for_other_tenants)
{
    tenant_t slow = new_tenant("Webhooks slow"), other = new_tenant("Webhooks other");
    char *slow_path = unique_path("slow"), *other_path = unique_path("other");
    json_t *s = create_endpoint_at(&slow, slow_path, "[\"incident.updated\"]");
    json_t *o = create_endpoint_at(&other, other_path, "[\"incident.updated\"]");
    receiver_config_delay(slow_path, jstr(s, "secret"), 1000);
    PQclear(emit_many(&slow, "incident.updated", "s", 300));
    wait_succeeded(slow_path, 1, 30);
    PQclear(emit_many(&other, "incident.updated", "o", 1));
    int arrived = 0;
    for (int round = 0; round < 50 && !arrived; round++) {
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "s%d-", round);
        PQclear(emit_many(&slow, "incident.updated", prefix, 20));
        usleep(200 * 1000);
        json_t *got = received(other_path);
        arrived = json_array_size(got) > 0;
        json_decref(got);
    }
    ck_assert_msg(arrived, "the other tenant's event did not arrive within 10 s");
    char path[128];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", jstr(s, "id"));
    json_decref(call(slow.key, "DELETE", path, NULL, 204));
    json_decref(s);
    json_decref(o);
    free(slow_path);
    free(other_path);
    free_tenant(&slow);
    free_tenant(&other);
}
END_TEST

/* Deliveries waiting in the deliverer for a busy endpoint hold a copy of
 * its URL; when the endpoint changes they are given back and go where it
 * now points. 40 events to an endpoint answering after 500 ms, 4 at a time
 * (five seconds of work); once the first has arrived the URL moves
 * to a second path: at most the attempts in flight and those started
 * before the change was heard go to the first, the rest to the second,
 * every event exactly once in all, validly signed. */
START_TEST(a_changed_endpoint_gets_nothing_that_waited_for_the_old)
{
    tenant_t t = new_tenant("Webhooks change");
    char *before = unique_path("before"), *after = unique_path("after");
    json_t *e = create_endpoint_at(&t, before, "[\"incident.updated\"]");
    receiver_config_delay(before, jstr(e, "secret"), 500);
    receiver_config_delay(after, jstr(e, "secret"), 500);
    enum { N = 40 };
    PGresult *ids = emit_many(&t, "incident.updated", "m", N);
    wait_succeeded(before, 1, 30);
    char path[128], body[600];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", jstr(e, "id"));
    snprintf(body, sizeof(body), "{\"url\":\"%s%s\"}", hooks, after);
    json_decref(call(t.key, "PATCH", path, body, 200));

    json_t *lists[2] = {NULL, NULL};
    for (int i = 0; i < 300; i++) {
        json_decref(lists[0]);
        json_decref(lists[1]);
        lists[0] = received(before);
        lists[1] = received(after);
        if (json_array_size(lists[0]) + json_array_size(lists[1]) >= N)
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(json_array_size(lists[0]) <= 12, "%zu of %d went to the old URL after the change",
                  json_array_size(lists[0]), N);
    for (int i = 0; i < N; i++)
        assert_arrived_once(lists, 2, PQgetvalue(ids, i, 0));
    PQclear(ids);
    json_decref(lists[0]);
    json_decref(lists[1]);
    json_decref(e);
    free(before);
    free(after);
    free_tenant(&t);
}
END_TEST

/* Whether a session waits for a lock that holder's session holds, within
 * 30 s (as admin sees pg_blocking_pids). */
static int blocks_a_session(PGconn *admin, PGconn *holder)
{
    for (int i = 0; i < 300; i++) {
        PGresult *res = bw_test_sql(admin,
                                    "SELECT count(*) FROM pg_stat_activity "
                                    "WHERE $1::int = ANY (pg_blocking_pids(pid))",
                                    BW_TEST_INT(PQbackendPID(holder)));
        int waits = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
        PQclear(res);
        if (waits)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* The relay lists a tenant's endpoints, then makes the deliveries: an
 * endpoint deleted in between must be left out, not fail the batch (as it
 * did on the delivery's foreign key, before integrations 0019: the whole
 * batch rolled back and retried, an error in the log). The test holds the delete open while an
 * event waits, so that the relay's statement meets it, then commits it. */
START_TEST(an_endpoint_deleted_while_its_event_is_relayed_fails_nothing)
{
    tenant_t t = new_tenant("Webhooks deleted meanwhile");
    json_t *e = create_endpoint(&t, "https://hooks.example.com/deleted", "[\"incident.updated\"]");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char since[96];
    snprintf(since, sizeof(since), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);

    PGconn *svc = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(svc, "BEGIN");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, true)", t.id);
    bw_test_exec(svc, "DELETE FROM integrations.webhook_endpoints WHERE endpoint_id = $1",
                 jstr(e, "id"));
    char *event = emit(&t, "incident.updated", "incidents/deleted", "{\"id\":\"deleted\"}");
    /* The relay claims it and waits for the endpoint's row: seen as a
     * session that this one blocks. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    int waits = blocks_a_session(admin, svc);
    bw_test_exec(svc, "COMMIT");
    PQfinish(svc);
    ck_assert_msg(waits, "the relay never waited for the deleted endpoint's row within 30 s");

    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    int relayed = 0;
    for (int i = 0; i < 300 && !relayed; i++) {
        PGresult *res = bw_test_sql(admin,
                                    "SELECT (relay_time IS NOT NULL)::text FROM bulwark.outbox "
                                    "WHERE event_id = $1",
                                    event);
        relayed = strcmp(PQgetvalue(res, 0, 0), "true") == 0;
        PQclear(res);
        if (!relayed)
            usleep(100 * 1000);
    }
    PQfinish(admin);
    ck_assert_msg(relayed, "event %s was not relayed within 30 s", event);
    usleep(2 * BW_LOG_HOLD_MS * 1000);
    /* The log is one this test can read (JSON lines, as make test runs the
     * stack): the dispatcher's first line is in it. */
    json_t *started =
        log_line_since("integrations", "dispatcher: relaying the outbox", NULL, NULL, NULL);
    ck_assert_msg(started != NULL, "no JSON log of the integrations process to read");
    json_decref(started);
    json_t *failed =
        log_line_since("integrations", "could not relay the outbox", NULL, NULL, since);
    ck_assert_msg(failed == NULL, "the relay failed: %s",
                  failed != NULL ? jstr(failed, "message") : "");
    free(event);
    json_decref(e);
    free_tenant(&t);
}
END_TEST

/* An endpoint's deliveries (and their attempts) go with it, those a relay
 * commits while the delete waits for the endpoint's row included: a
 * delivery has no foreign key to its endpoint (integrations migration
 * 0019), so nothing else would take them. The deliveries are made as the
 * relay's fan-out makes them, the endpoint locked first, due in a day so
 * that no deliverer takes them meanwhile. */
START_TEST(a_deleted_endpoint_takes_its_deliveries_with_it)
{
    tenant_t t = new_tenant("Webhooks delete takes deliveries");
    json_t *e = create_endpoint(&t, "https://hooks.example.com/gone", "[\"campaign.completed\"]");
    const char *id = jstr(e, "id");
    static const char make[] =
        "WITH ep AS (SELECT endpoint_id FROM integrations.webhook_endpoints "
        "WHERE endpoint_id = $1 FOR KEY SHARE), "
        "ev AS (INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
        "origin, occur_time, data) VALUES (current_setting('bulwark.tenant_id')::uuid, $2, 0, "
        "'campaign.completed', 'campaigns/gone', '', now(), '{}')) "
        "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, event_id, seq, "
        "resource, state, next_attempt_time) SELECT current_setting('bulwark.tenant_id')::uuid, "
        "gen_random_uuid(), ep.endpoint_id, $2, 0, 'campaigns/gone', 'PENDING', "
        "now() + interval '1 day' FROM ep RETURNING delivery_id::text";
    PGconn *svc = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    bw_test_exec(svc, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    /* One delivery before the delete, with a second attempt on record. */
    char *event = bw_test_uuid_str();
    PGresult *made = bw_test_sql(svc, make, id, event);
    ck_assert_int_eq(PQntuples(made), 1);
    char *first = strdup(PQgetvalue(made, 0, 0));
    bw_test_exec(svc,
                 "INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, "
                 "attempt_time, status_code) VALUES (current_setting('bulwark.tenant_id')::uuid, "
                 "$1, 2, now(), 503)",
                 first);
    PQclear(made);
    free(event);

    /* One more in a transaction the delete has to wait for. */
    bw_test_exec(svc, "BEGIN");
    event = bw_test_uuid_str();
    made = bw_test_sql(svc, make, id, event);
    ck_assert_int_eq(PQntuples(made), 1);
    PQclear(made);
    free(event);
    /* The API's delete, from a thread of its own: it waits for the row. */
    char path[128];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", id);
    bw_test_async_t del = {.method = "DELETE", .path = path, .token = t.key};
    bw_test_http_start(&del);
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    int waits = blocks_a_session(admin, svc);
    bw_test_exec(svc, "COMMIT");
    PQfinish(svc);
    bw_test_http_join(&del);
    ck_assert_msg(waits, "the delete never waited for the endpoint's row within 30 s");
    ck_assert_int_eq(del.resp.status, 204);
    bw_test_resp_free(&del.resp);

    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    PGresult *left = bw_test_sql(
        admin,
        "SELECT (SELECT count(*) FROM integrations.deliveries WHERE endpoint_id = $1)::text, "
        "(SELECT count(*) FROM integrations.attempts WHERE delivery_id = $2)::text",
        id, first);
    ck_assert_msg(strcmp(PQgetvalue(left, 0, 0), "0") == 0,
                  "%s deliveries of the deleted endpoint are left", PQgetvalue(left, 0, 0));
    ck_assert_msg(strcmp(PQgetvalue(left, 0, 1), "0") == 0, "the attempt of delivery %s is left",
                  first);
    PQclear(left);
    free(first);
    PQfinish(admin);
    json_decref(e);
    free_tenant(&t);
}
END_TEST

START_TEST(retry_after_is_honoured)
{
    tenant_t t = new_tenant("Webhooks 429");
    char *path = unique_path("429");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.created\"]");
    /* Once 429 with Retry-After: 3, then 204. */
    receiver_config(path, jstr(e, "secret"), NULL, 429, 1, "3", NULL);
    char *id = emit(&t, "incident.created", "incidents/t1", "{\"id\":\"t1\"}");
    wait_succeeded(path, 1, 30);
    wait_recorded(&t, jstr(e, "id"), 1, 10);
    json_t *got = received(path);
    ck_assert_uint_eq(json_array_size(got), 2);
    json_t *a = json_array_get(got, 0), *b = json_array_get(got, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "status")), 429);
    ck_assert_str_eq(jstr(a, "id"), id);
    ck_assert_str_eq(jstr(b, "id"), id); /* the same webhook-id on the retry */
    ck_assert(json_is_true(json_object_get(b, "valid")));
    /* The schedule would have waited about a second; the receiver asked 3. */
    double gap = json_real_value(json_object_get(b, "received")) -
                 json_real_value(json_object_get(a, "received"));
    ck_assert_msg(gap >= 2.9, "retried after %.2f s", gap);
    json_decref(got);
    json_t *log = deliveries_of(&t, jstr(e, "id"), "");
    json_t *d = json_array_get(json_object_get(log, "deliveries"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attemptCount")), 2);
    json_t *older = json_array_get(json_object_get(d, "attempts"), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(older, "statusCode")), 429);
    ck_assert_str_eq(jstr(older, "error"), "HTTP 429");

    /* The first attempt is kept on the delivery's row (integrations
     * migration 0013); one recorded before that is a row of
     * integrations.attempts, like the later ones. Moved there as it would
     * have been, the log reads the same. */
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "BEGIN");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, true)", t.id);
    PGresult *moved = bw_test_sql(
        db,
        "INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, attempt_time, "
        "status_code, latency_ms, error) SELECT tenant_id, delivery_id, 1, first_attempt_time, "
        "first_status_code, first_latency_ms, first_error FROM integrations.deliveries "
        "WHERE delivery_id = $1::uuid AND first_attempt_time IS NOT NULL RETURNING attempt_no",
        jstr(d, "id"));
    ck_assert_int_eq(PQntuples(moved), 1);
    PQclear(moved);
    bw_test_exec(db,
                 "UPDATE integrations.deliveries SET first_attempt_time = NULL, "
                 "first_status_code = NULL, first_latency_ms = NULL, first_error = NULL "
                 "WHERE delivery_id = $1::uuid",
                 jstr(d, "id"));
    bw_test_exec(db, "COMMIT");
    PQfinish(db);
    json_t *again = deliveries_of(&t, jstr(e, "id"), "");
    ck_assert(json_equal(
        json_object_get(json_array_get(json_object_get(again, "deliveries"), 0), "attempts"),
        json_object_get(d, "attempts")));
    json_decref(again);
    json_decref(log);
    free(id);
    json_decref(e);
    free(path);
    free_tenant(&t);
}
END_TEST

START_TEST(exhausted_schedule_disables_and_says_so)
{
    tenant_t t = new_tenant("Webhooks exhausted");
    char *bad_path = unique_path("failing"), *watch_path = unique_path("watcher");
    json_t *bad = create_endpoint_at(&t, bad_path, "[\"incident.created\"]");
    json_t *watcher = create_endpoint_at(&t, watch_path, "[\"webhook_endpoint.disabled\"]");
    receiver_config(bad_path, jstr(bad, "secret"), NULL, 500, -1, NULL, NULL);
    receiver_config(watch_path, jstr(watcher, "secret"), NULL, 0, 0, NULL, NULL);
    const char *bad_id = jstr(bad, "id");

    char *event = emit(&t, "incident.created", "incidents/x1", "{\"id\":\"x1\"}");
    json_t *now = wait_disabled(&t, bad_id, EXHAUSTION_WAIT_SEC);
    ck_assert_ptr_nonnull(strstr(jstr(now, "disabledReason"), "failed 9 times"));
    ck_assert_ptr_nonnull(strstr(jstr(now, "disabledReason"), "HTTP 500"));
    json_decref(now);

    /* The delivery failed after nine attempts, each logged, and stays. */
    char delivery[64];
    assert_failed(&t, bad_id, event, 9, 500, delivery);

    /* The other endpoint heard of it, signed. */
    wait_succeeded(watch_path, 1, 30);
    json_t *got = received(watch_path);
    json_t *w = json_array_get(got, 0);
    ck_assert(json_is_true(json_object_get(w, "valid")));
    json_t *body = json_loads(jstr(w, "body"), 0, NULL);
    ck_assert_str_eq(jstr(body, "type"), "webhook_endpoint.disabled");
    json_t *data = json_object_get(body, "data");
    ck_assert_str_eq(jstr(data, "id"), bad_id);
    ck_assert(json_is_true(json_object_get(data, "disabled")));
    ck_assert_str_eq(jstr(data, "secret"), "");
    json_decref(body);
    json_decref(got);

    /* While disabled nothing is sent: a new event's delivery waits, PAUSED,
     * and a replay says why not. */
    char *later = emit(&t, "incident.created", "incidents/x2", "{\"id\":\"x2\"}");
    assert_paused(&t, bad_id, later);
    char replay[300];
    snprintf(replay, sizeof(replay), "/v1/webhook-endpoints/%s/deliveries/%s:replay", bad_id,
             delivery);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", replay, t.key, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 400, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "WEBHOOK_ENDPOINT_DISABLED");
    bw_test_resp_free(&r);

    /* Enabled and fixed, the failed delivery is replayed with the same id. */
    receiver_config(bad_path, jstr(bad, "secret"), NULL, 204, -1, NULL, NULL);
    char ep[128];
    snprintf(ep, sizeof(ep), "/v1/webhook-endpoints/%s", bad_id);
    json_t *enabled = call(t.key, "PATCH", ep, "{\"disabled\":false}", 200);
    ck_assert(json_is_false(json_object_get(enabled, "disabled")));
    ck_assert_str_eq(jstr(enabled, "disabledReason"), "");
    json_decref(enabled);
    json_t *replayed = call(t.key, "POST", replay, "{}", 200);
    ck_assert_str_eq(jstr(replayed, "state"), "PENDING");
    json_decref(replayed);
    /* Both go out, with their own webhook-ids: the paused one and the replay. */
    wait_succeeded(bad_path, 2, 30);
    wait_recorded(&t, bad_id, 2, 10);
    got = received(bad_path);
    int replayed_ok = 0, later_ok = 0;
    for (size_t i = 0; i < json_array_size(got); i++) {
        json_t *g = json_array_get(got, i);
        if (json_integer_value(json_object_get(g, "status")) != 204)
            continue;
        ck_assert(json_is_true(json_object_get(g, "valid")));
        replayed_ok += strcmp(jstr(g, "id"), event) == 0;
        later_ok += strcmp(jstr(g, "id"), later) == 0;
    }
    ck_assert_int_eq(replayed_ok, 1);
    ck_assert_int_eq(later_ok, 1);
    json_decref(got);
    json_t *log = deliveries_of(&t, bad_id, "");
    for (size_t i = 0; i < json_array_size(json_object_get(log, "deliveries")); i++) {
        json_t *d = json_array_get(json_object_get(log, "deliveries"), i);
        ck_assert_str_eq(jstr(d, "state"), "SUCCEEDED");
        if (strcmp(jstr(d, "eventId"), event) == 0)
            ck_assert_int_eq(json_integer_value(json_object_get(d, "attemptCount")), 10);
    }
    json_decref(log);
    free(later);
    free(event);
    json_decref(bad);
    json_decref(watcher);
    free(bad_path);
    free(watch_path);
    free_tenant(&t);
}
END_TEST

START_TEST(disabling_through_the_api_is_an_event)
{
    /* The one event Bulwark itself produces here: through bw_outbox_emit's
     * path, not a row the test inserted. */
    tenant_t t = new_tenant("Webhooks disable event");
    char *watch_path = unique_path("api-watch");
    json_t *watcher = create_endpoint_at(&t, watch_path, "[\"webhook_endpoint.disabled\"]");
    receiver_config(watch_path, jstr(watcher, "secret"), NULL, 0, 0, NULL, NULL);
    json_t *other =
        create_endpoint(&t, "https://hooks.example.com/other", "[\"incident.created\"]");
    char path[128];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", jstr(other, "id"));
    json_t *off = call(t.key, "PATCH", path, "{\"disabled\":true}", 200);
    ck_assert(json_is_true(json_object_get(off, "disabled")));
    ck_assert_str_eq(jstr(off, "disabledReason"), "disabled through the API");
    json_decref(off);
    wait_succeeded(watch_path, 1, 30);
    json_t *got = received(watch_path);
    json_t *body = json_loads(jstr(json_array_get(got, 0), "body"), 0, NULL);
    ck_assert_str_eq(jstr(body, "type"), "webhook_endpoint.disabled");
    ck_assert_str_eq(jstr(json_object_get(body, "data"), "id"), jstr(other, "id"));
    /* data is the resource exactly as GET returns it. */
    json_t *now = call(t.key, "GET", path, NULL, 200);
    ck_assert(json_equal(json_object_get(body, "data"), now));
    json_decref(now);
    json_decref(body);
    json_decref(got);
    json_decref(watcher);
    json_decref(other);
    free(watch_path);
    free_tenant(&t);
}
END_TEST

START_TEST(rotation_signs_with_both_secrets)
{
    tenant_t t = new_tenant("Webhooks rotation");
    char *path = unique_path("rotation");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.created\"]");
    char *old_secret = strdup(jstr(e, "secret"));
    char rotate[200];
    snprintf(rotate, sizeof(rotate), "/v1/webhook-endpoints/%s:rotate-secret", jstr(e, "id"));
    const char *hdr[] = {"Idempotency-Key: rotate-1", NULL};
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", rotate, t.key, "{}", hdr, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    char *new_secret = strdup(jstr(r.json, "secret"));
    ck_assert_int_eq(strncmp(new_secret, "whsec_", 6), 0);
    ck_assert_str_ne(new_secret, old_secret);
    /* The old one stays valid for 24 hours. */
    const char *until = jstr(r.json, "previousSecretExpireTime");
    ck_assert_uint_eq(strlen(until) > 0, 1);
    struct tm tm = {0};
    ck_assert_ptr_nonnull(strptime(until, "%Y-%m-%dT%H:%M:%S", &tm));
    double hours = difftime(timegm(&tm), time(NULL)) / 3600.0;
    ck_assert_msg(hours > 23.9 && hours <= 24.01, "previous secret valid for %.2f h", hours);
    char *first_until = strdup(until);
    bw_test_resp_free(&r);
    /* A replay of the rotation does not show the secret again. */
    ck_assert_int_eq(bw_test_http("POST", rotate, t.key, "{}", hdr, &r), 0);
    ck_assert_problem(&r, 409, NULL);
    ck_assert_ptr_null(strstr(r.body, "whsec_"));
    bw_test_resp_free(&r);

    /* The receiver knows both: each delivery carries a signature for each. */
    receiver_config(path, old_secret, new_secret, 0, 0, NULL, NULL);
    free(emit(&t, "incident.created", "incidents/k1", "{\"id\":\"k1\"}"));
    wait_succeeded(path, 1, 30);
    json_t *got = received(path);
    json_t *d = json_array_get(got, 0);
    ck_assert(json_is_true(json_object_get(d, "valid")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "matched")), 3);
    ck_assert_ptr_nonnull(strchr(jstr(d, "signature"), ' '));
    json_decref(got);
    /* A receiver still on the old secret, and one already on the new. */
    receiver_config(path, old_secret, NULL, 0, 0, NULL, NULL);
    free(emit(&t, "incident.created", "incidents/k2", "{\"id\":\"k2\"}"));
    wait_succeeded(path, 2, 30);
    receiver_config(path, new_secret, NULL, 0, 0, NULL, NULL);
    free(emit(&t, "incident.created", "incidents/k3", "{\"id\":\"k3\"}"));
    wait_succeeded(path, 3, 30);
    got = received(path);
    ck_assert(json_is_true(json_object_get(json_array_get(got, 1), "valid")));
    ck_assert(json_is_true(json_object_get(json_array_get(got, 2), "valid")));
    json_decref(got);
    /* A made-up secret verifies nothing: the check is real. */
    receiver_config(path, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL, 0, 0, NULL,
                    NULL);
    free(emit(&t, "incident.created", "incidents/k4", "{\"id\":\"k4\"}"));
    wait_succeeded(path, 4, 30);
    got = received(path);
    ck_assert(json_is_false(json_object_get(json_array_get(got, 3), "valid")));
    json_decref(got);
    /* Rotated again within the 24 hours: the oldest secret, which the
     * receivers most likely still run, keeps its place and its expiry; the
     * one made at the first rotation goes. */
    const char *hdr2[] = {"Idempotency-Key: rotate-2", NULL};
    ck_assert_int_eq(bw_test_http("POST", rotate, t.key, "{}", hdr2, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    char *third_secret = strdup(jstr(r.json, "secret"));
    ck_assert_str_eq(jstr(r.json, "previousSecretExpireTime"), first_until);
    bw_test_resp_free(&r);
    static const char *const secrets_then[][2] = {
        {"oldest", "valid"}, {"first rotation's", "not"}, {"newest", "valid"}};
    const char *secrets[] = {old_secret, new_secret, third_secret};
    for (int i = 0; i < 3; i++) {
        char ref[32], data[64];
        receiver_config(path, secrets[i], NULL, 0, 0, NULL, NULL);
        snprintf(ref, sizeof(ref), "incidents/k%d", 5 + i);
        snprintf(data, sizeof(data), "{\"id\":\"k%d\"}", 5 + i);
        free(emit(&t, "incident.created", ref, data));
        wait_succeeded(path, 5 + i, 30);
        got = received(path);
        ck_assert_msg(json_is_true(json_object_get(json_array_get(got, 4 + i), "valid")) ==
                          (strcmp(secrets_then[i][1], "valid") == 0),
                      "the %s secret: want %s", secrets_then[i][0], secrets_then[i][1]);
        json_decref(got);
    }
    free(third_secret);
    free(first_until);
    free(old_secret);
    free(new_secret);
    json_decref(e);
    free(path);
    free_tenant(&t);
}
END_TEST

/* This machine's own name (Debian's /etc/hosts: 127.0.1.1; a container's:
 * its private address): a name that passes the check at create, where
 * localhost does not, and that the check at connect must refuse. */
static void own_name(char *name, size_t len)
{
    ck_assert_int_eq(gethostname(name, len), 0);
    name[len - 1] = '\0';
}

/* Whether error is the refusal of one of the addresses name resolves to. */
static int refuses_an_address_of(const char *error, const char *name)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    ck_assert_msg(rc == 0, "this test needs the machine's name (%s) to resolve: %s", name,
                  gai_strerror(rc));
    int found = 0;
    for (struct addrinfo *ai = res; ai != NULL && !found; ai = ai->ai_next) {
        char addr[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN + 32];
        const void *at = ai->ai_family == AF_INET
                             ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                             : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        inet_ntop(ai->ai_family, at, addr, sizeof(addr));
        snprintf(want, sizeof(want), "address %s refused (", addr);
        found = strstr(error, want) != NULL;
    }
    freeaddrinfo(res);
    return found;
}

START_TEST(ssrf_is_refused)
{
    tenant_t t = new_tenant("Webhooks SSRF");
    /* Refused at create: the cloud metadata service, loopback outside the
     * allowance, plain http outside it. */
    expect_problem(t.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://169.254.169.254/latest/meta-data/\","
                   "\"eventTypes\":[\"incident.created\"]}",
                   400, "url");
    char body[400];
    snprintf(body, sizeof(body),
             "{\"url\":\"http://127.0.0.1:%d/hooks\",\"eventTypes\":[\"incident.created\"]}",
             hooks_port);
    expect_problem(t.key, "POST", "/v1/webhook-endpoints", body, 400, "url");
    expect_problem(t.key, "POST", "/v1/webhook-endpoints",
                   "{\"url\":\"https://[::ffff:169.254.169.254]/\",\"eventTypes\":[\"incident."
                   "created\"]}",
                   400, "url");

    /* localhost is the loopback address (RFC 6761) whatever resolves it:
     * refused at create. */
    snprintf(body, sizeof(body),
             "{\"url\":\"https://localhost:%d/hooks\",\"eventTypes\":[\"incident.created\"]}",
             hooks_port);
    expect_problem(t.key, "POST", "/v1/webhook-endpoints", body, 400, "url");

    /* Refused at connect: another name that resolves to loopback (or to a
     * private address), accepted at create since names are not resolved
     * there. */
    char name[256];
    own_name(name, sizeof(name));
    snprintf(body, sizeof(body), "https://%s:%d/hooks", name, hooks_port);
    json_t *e = create_endpoint(&t, body, "[\"incident.created\"]");
    free(emit(&t, "incident.created", "incidents/s1", "{\"id\":\"s1\"}"));
    json_t *d = wait_attempt_error(&t, jstr(e, "id"), " refused (", 40);
    json_t *a = json_array_get(json_object_get(d, "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "statusCode")), 0);
    ck_assert_msg(refuses_an_address_of(jstr(a, "error"), name), "%s", jstr(a, "error"));
    json_decref(d);
    json_decref(e);

    /* A redirect is not followed, wherever it points. */
    char *from = unique_path("redirect"), *to = unique_path("target");
    char url[400], location[400];
    snprintf(url, sizeof(url), "%s%s", hooks, from);
    snprintf(location, sizeof(location), "%s%s", hooks, to);
    e = create_endpoint(&t, url, "[\"incident.created\"]");
    receiver_config(from, jstr(e, "secret"), NULL, 302, -1, NULL, location);
    free(emit(&t, "incident.created", "incidents/s2", "{\"id\":\"s2\"}"));
    d = wait_attempt_error(&t, jstr(e, "id"), "redirects are not followed", 40);
    a = json_array_get(json_object_get(d, "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "statusCode")), 302);
    ck_assert_ptr_nonnull(strstr(jstr(a, "error"), to));
    json_decref(d);
    json_t *got = received(to);
    ck_assert_uint_eq(json_array_size(got), 0);
    json_decref(got);
    json_decref(e);
    free(from);
    free(to);
    free_tenant(&t);
}
END_TEST

/* 410 Gone fails a delivery at once, whatever is left of the schedule, and
 * disables its endpoint (Standard Webhooks: the receiver asks not to be
 * sent anything more), with the attempt in the log and sent only once. */
START_TEST(gone_at_the_first_attempt_disables_the_endpoint)
{
    tenant_t t = new_tenant("Webhooks gone");
    char *path = unique_path("gone");
    json_t *e = create_endpoint_at(&t, path, "[\"incident.created\"]");
    receiver_config(path, jstr(e, "secret"), NULL, 410, -1, NULL, NULL);
    char *event = emit(&t, "incident.created", "incidents/g1", "{\"id\":\"g1\"}");
    json_t *now = wait_disabled(&t, jstr(e, "id"), 30);
    ck_assert_ptr_nonnull(strstr(jstr(now, "disabledReason"), "410 Gone"));
    json_decref(now);
    json_t *got = received(path);
    assert_arrived_once(&got, 1, event);
    json_decref(got);
    assert_failed(&t, jstr(e, "id"), event, 1, 410, NULL);
    /* Nothing more is sent to it: the next event waits, PAUSED. */
    char *later = emit(&t, "incident.created", "incidents/g2", "{\"id\":\"g2\"}");
    assert_paused(&t, jstr(e, "id"), later);
    got = received(path);
    ck_assert_uint_eq(json_array_size(got), 1);
    json_decref(got);
    json_decref(e);
    free(later);
    free(event);
    free(path);
    free_tenant(&t);
}
END_TEST

START_TEST(the_cap_of_endpoints_holds_against_creates_at_once)
{
    /* A tenant has at most 100 endpoints. The cap was a count inside the
     * insert, and a create counted only what was committed when it began:
     * two at once with 99 made 101. Here the other create is the test's own
     * transaction, which takes the tenant's creation lock as a create does
     * (integrations_create_lock) and inserts the 100th endpoint; a POST
     * sent meanwhile waits for it, then counts it. */
    enum { CAP = 100 };
    tenant_t t = new_tenant("Webhooks cap");
    for (int i = 0; i < CAP - 1; i++) {
        json_decref(create_endpoint_at(&t, "/cap", "[\"incident.created\"]"));
        usleep(20 * 1000); /* within the test stack's rate limit per tenant */
    }
    PGconn *admin = bw_test_begin_as(t.id);
    bw_test_exec(admin,
                 "SELECT pg_advisory_xact_lock(hashtextextended("
                 "'integrations.webhook_endpoints ' || $1, 0))",
                 t.id);
    bw_test_exec(admin,
                 "INSERT INTO integrations.webhook_endpoints (tenant_id, endpoint_id, url, "
                 "event_types, secret) VALUES ($1::uuid, gen_random_uuid(), "
                 "'https://example.com/other', '{incident.created}', '\\x00')",
                 t.id);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"url\":\"%s/cap\",\"eventTypes\":[\"incident.created\"],\"description\":\"race\"}",
             hooks);
    bw_test_async_t post = {
        .method = "POST", .path = "/v1/webhook-endpoints", .token = t.key, .body = body};
    bw_test_http_start(&post);
    usleep(500 * 1000);
    bw_test_exec(admin, "COMMIT");
    PQfinish(admin);
    bw_test_http_join(&post);
    ck_assert_msg(post.resp.status != 201, "a 101st endpoint was made");
    ck_assert_str_eq(jstr(post.resp.json, "reason"), "TOO_MANY_WEBHOOK_ENDPOINTS");
    bw_test_resp_free(&post.resp);
    json_t *list = call(t.key, "GET", "/v1/webhook-endpoints?pageSize=500", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "webhookEndpoints")), CAP);
    json_decref(list);
    free_tenant(&t);
}
END_TEST

Suite *suite_webhooks(void)
{
    Suite *s = suite_create("webhooks");
    TCase *tc = tcase_create("webhooks");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, receiver_start, receiver_stop);
    tcase_add_test(tc, endpoints_are_managed_and_validated);
    tcase_add_test(tc, create_secret_is_shown_once);
    tcase_add_test(tc, events_are_delivered_signed_and_in_order);
    tcase_add_test(tc, two_tenants_in_one_batch_keep_each_resource_in_order);
    tcase_add_test(tc, a_changed_endpoint_gets_nothing_that_waited_for_the_old);
    tcase_add_test(tc, an_endpoint_deleted_while_its_event_is_relayed_fails_nothing);
    tcase_add_test(tc, a_deleted_endpoint_takes_its_deliveries_with_it);
    tcase_add_test(tc, receiver_down_then_up_loses_nothing);
    tcase_add_test(tc, an_unreachable_endpoint_is_not_tried_for_every_delivery);
    tcase_add_test(tc, an_endpoint_gets_at_most_its_concurrency_at_once);
    tcase_add_test(tc, a_slow_endpoint_leaves_room_for_other_tenants);
    tcase_add_test(tc, retry_after_is_honoured);
    tcase_add_test(tc, a_replay_is_tried_while_its_endpoint_is_held);
    tcase_add_test(tc, exhausted_schedule_disables_and_says_so);
    tcase_add_test(tc, gone_at_the_first_attempt_disables_the_endpoint);
    tcase_add_test(tc, disabling_through_the_api_is_an_event);
    tcase_add_test(tc, rotation_signs_with_both_secrets);
    tcase_add_test(tc, ssrf_is_refused);
    tcase_add_test(tc, the_cap_of_endpoints_holds_against_creates_at_once);
    suite_add_tcase(s, tc);
    return s;
}
