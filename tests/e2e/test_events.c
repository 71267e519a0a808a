/*
 * The events the services produce, end to end: writes over HTTP through the
 * gateway to each service, which appends the event in its request
 * transaction; the integrations service relays it and delivers it to the
 * stand-in receiver (tests/standins/webhook_receiver), which checks every
 * signature. Each test subscribes one endpoint of a new tenant to the types
 * it expects and checks what arrives: each event exactly once (by
 * webhook-id), in order per resource, its data the resource as GET returns
 * it, and nothing for a write that changed nothing; a write whose event
 * cannot be recorded fails whole.
 *
 * The deadline alerts come from the incidents service's scheduler, which
 * the stack runs every 200 ms (BULWARK_SCHEDULER_INTERVAL_MS): incidents
 * recorded with an awareAt far enough back have deadlines due or passed at
 * once, so nothing waits for a wall-clock deadline. Exactly-once under
 * racing schedulers and the catch-up with a chosen "now" are in
 * tests/integration/test_scheduler.c.
 *
 * The origin: the integrations service's certificate may declare
 * x-bulwark-origin on its calls to incidents, which lands on the event;
 * the gateway's is ignored, and a malformed one refused.
 */
#include "e2e.h"
#include "receiver.h"

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "rpc.h"
#include "status.h"
#include "tls_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long after the last expected event a test listens for extras: many
 * scheduler and relay rounds. */
#define QUIET_MS 1500

/* A request with the tenant's key; the reply's JSON (caller decrefs). */
static json_t *tenant_call(const tenant_t *t, long want, const char *method, const char *body,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static json_t *tenant_call(const tenant_t *t, long want, const char *method, const char *body,
                           const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http(method, path, t->key, body, NULL, &r), 0);
    ck_assert_msg(r.status == want, "%s %s: %ld, want %ld: %s", method, path, r.status, want,
                  r.body);
    json_t *json = json_incref(r.json);
    bw_test_resp_free(&r);
    return json;
}

/* An RFC 3339 UTC time seconds from now. */
static void time_from_now(long seconds, char out[32])
{
    time_t at = time(NULL) + seconds;
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Subscribes a new endpoint of t at a receiver path of its own to types (a
 * JSON array); returns the path (caller frees). */
static char *subscribe(const tenant_t *t, const char *types)
{
    char *id = bw_test_uuid_str();
    char *path = malloc(256), url[400], body[1024];
    snprintf(path, 256, "/hooks/events/%s", id);
    free(id);
    snprintf(url, sizeof(url), "%s%s", hooks, path);
    snprintf(body, sizeof(body), "{\"url\":\"%s\",\"eventTypes\":%s,\"description\":\"events\"}",
             url, types);
    json_t *e = tenant_call(t, 201, "POST", body, "/v1/webhook-endpoints");
    receiver_config(path, jstr(e, "secret"), NULL, 0, 0, NULL, NULL);
    json_decref(e);
    return path;
}

/* Waits for n valid deliveries to path, then QUIET_MS more, and returns
 * their bodies ({"type","timestamp","data"}) in arrival order, each
 * delivered once by webhook-id (caller decrefs). */
static json_t *events_at(const char *path, size_t n)
{
    wait_succeeded(path, n, 60);
    usleep(QUIET_MS * 1000);
    json_t *got = received(path);
    json_t *bodies = json_array();
    for (size_t i = 0; i < json_array_size(got); i++) {
        json_t *d = json_array_get(got, i);
        ck_assert_msg(json_is_true(json_object_get(d, "valid")), "bad signature on %s",
                      jstr(d, "body"));
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(jstr(json_array_get(got, j), "id"), jstr(d, "id")) != 0,
                          "webhook-id %s delivered twice", jstr(d, "id"));
        json_error_t err;
        json_t *body = json_loads(jstr(d, "body"), 0, &err);
        ck_assert_ptr_nonnull(body);
        json_array_append_new(bodies, body);
    }
    ck_assert_msg(json_array_size(bodies) == n, "%zu events arrived, want %zu",
                  json_array_size(bodies), n);
    json_decref(got);
    return bodies;
}

static const char *type_of(json_t *events, size_t i)
{
    return jstr(json_array_get(events, i), "type");
}

static json_t *data_of(json_t *events, size_t i)
{
    return json_object_get(json_array_get(events, i), "data");
}

/* Whether the event's data is, field for field, what GET path returns now. */
static void assert_data_is(const tenant_t *t, json_t *data, const char *path)
{
    json_t *now = tenant_call(t, 200, "GET", NULL, "%s", path);
    char *a = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
    char *b = json_dumps(now, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(strcmp(a, b) == 0, "event data\n%s\nis not GET %s\n%s", a, path, b);
    free(a);
    free(b);
    json_decref(now);
}

#define MEDIUM                                                                                     \
    "{\"staffHeadcount\":60,\"annualTurnoverEur\":\"12000000\",\"balanceSheetTotalEur\":"          \
    "\"12000000\"}"
#define LARGE                                                                                      \
    "{\"staffHeadcount\":900,\"annualTurnoverEur\":\"90000000\",\"balanceSheetTotalEur\":"         \
    "\"90000000\"}"

/* A medium-sized cloud provider in Berlin (important under NIS2); its id. */
static char *new_entity(const tenant_t *t)
{
    json_t *e =
        tenant_call(t, 201, "POST",
                    "{\"name\":\"Cloud GmbH\",\"timeZone\":\"Europe/Berlin\",\"activities\":["
                    "{\"entityType\":\"digital_infra.cloud\",\"principalActivity\":true}],"
                    "\"size\":" MEDIUM "}",
                    "/v1/entities");
    char *id = strdup(jstr(e, "id"));
    json_decref(e);
    return id;
}

/* A significant incident of entity that the entity became aware of
 * aware_ago seconds ago; its id. */
static char *new_incident(const tenant_t *t, const char *entity, long aware_ago, const char *title)
{
    char aware[32], body[512];
    time_from_now(-aware_ago, aware);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"%s\",\"awareAt\":\"%s\",\"significant\":true}", entity,
             title, aware);
    json_t *i = tenant_call(t, 201, "POST", body, "/v1/incidents");
    char *id = strdup(jstr(i, "id"));
    json_decref(i);
    return id;
}

START_TEST(incident_writes_announce_themselves)
{
    tenant_t t = new_tenant("Events incidents");
    char *path = subscribe(&t, "[\"incident.created\",\"incident.updated\","
                               "\"incident.event_appended\"]");
    char *entity = new_entity(&t);
    char *incident = new_incident(&t, entity, 3600, "Ransomware on the file servers");
    char now[32], body[256];
    time_from_now(0, now);
    snprintf(body, sizeof(body), "{\"type\":\"NOTE\",\"occurredAt\":\"%s\",\"note\":\"seen\"}",
             now);
    json_t *appended = tenant_call(&t, 201, "POST", body, "/v1/incidents/%s/events", incident);
    json_decref(appended);
    snprintf(body, sizeof(body),
             "{\"type\":\"EARLY_WARNING_SUBMITTED\",\"occurredAt\":\"%s\",\"note\":\"CSIRT\"}",
             now);
    appended = tenant_call(&t, 201, "POST", body, "/v1/incidents/%s/events", incident);

    /* Created, then each append's event and the incident it changed. */
    json_t *got = events_at(path, 5);
    ck_assert_str_eq(type_of(got, 0), "incident.created");
    ck_assert_str_eq(jstr(data_of(got, 0), "id"), incident);
    ck_assert_str_eq(jstr(data_of(got, 0), "title"), "Ransomware on the file servers");
    ck_assert_str_eq(type_of(got, 1), "incident.event_appended");
    ck_assert_str_eq(type_of(got, 2), "incident.updated");
    ck_assert_str_eq(type_of(got, 3), "incident.event_appended");
    ck_assert_str_eq(type_of(got, 4), "incident.updated");
    /* The appended event as POST .../events answered it, and the incident
     * as GET answers it after the last change. */
    json_t *last_append = data_of(got, 3);
    ck_assert_str_eq(jstr(json_object_get(last_append, "event"), "type"),
                     "EARLY_WARNING_SUBMITTED");
    ck_assert_str_eq(jstr(json_object_get(last_append, "event"), "id"),
                     jstr(json_object_get(appended, "event"), "id"));
    char get[128];
    snprintf(get, sizeof(get), "/v1/incidents/%s", incident);
    assert_data_is(&t, data_of(got, 4), get);
    ck_assert_str_ne(jstr(data_of(got, 2), "etag"), jstr(data_of(got, 4), "etag"));
    /* The event's "timestamp" is when the change happened. */
    ck_assert(strlen(jstr(json_array_get(got, 0), "timestamp")) >= 20);

    /* A refused append writes nothing, and announces nothing. */
    json_decref(tenant_call(&t, 400, "POST",
                            "{\"type\":\"NOTE\",\"occurredAt\":\"1999-01-01T00:00:00Z\"}",
                            "/v1/incidents/%s/events", incident));
    usleep(QUIET_MS * 1000);
    json_t *again = received(path);
    ck_assert_uint_eq(json_array_size(again), 5);
    json_decref(again);
    json_decref(got);
    json_decref(appended);
    free(incident);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

START_TEST(classification_changes_are_announced_when_the_outcome_changes)
{
    tenant_t t = new_tenant("Events classification");
    char *path = subscribe(&t, "[\"entity.classification_changed\"]");
    /* Created with a classification: important. */
    char *entity = new_entity(&t);
    /* Renamed, same facts: no change of the outcome, no event. */
    json_decref(tenant_call(&t, 200, "PATCH", "{\"name\":\"Cloud Holding GmbH\"}",
                            "/v1/entities/%s", entity));
    /* Larger: essential. */
    json_decref(tenant_call(&t, 200, "PATCH", "{\"size\":" LARGE "}", "/v1/entities/%s", entity));
    /* Another large figure, still essential: no event. */
    json_decref(tenant_call(&t, 200, "PATCH",
                            "{\"size\":{\"staffHeadcount\":950,\"annualTurnoverEur\":\"90000000\","
                            "\"balanceSheetTotalEur\":\"90000000\"}}",
                            "/v1/entities/%s", entity));
    json_t *got = events_at(path, 2);
    ck_assert_str_eq(type_of(got, 0), "entity.classification_changed");
    json_t *first = json_object_get(data_of(got, 0), "applicability");
    json_t *second = json_object_get(data_of(got, 1), "applicability");
    ck_assert_str_eq(jstr(first, "classification"), "IMPORTANT");
    ck_assert_str_eq(jstr(data_of(got, 0), "name"), "Cloud GmbH");
    ck_assert_str_eq(jstr(second, "classification"), "ESSENTIAL");
    ck_assert_str_eq(jstr(data_of(got, 1), "name"), "Cloud Holding GmbH");
    ck_assert_str_eq(jstr(data_of(got, 1), "id"), entity);
    json_decref(got);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

START_TEST(controls_announce_each_change_once)
{
    tenant_t t = new_tenant("Events SoA");
    char *path = subscribe(&t, "[\"soa.control_changed\"]");
    char *entity = new_entity(&t);
    const char *put = "{\"applicable\":true,\"status\":\"PARTIAL\",\"justification\":\"drafted\"}";
    json_decref(tenant_call(&t, 200, "PUT", put, "/v1/entities/%s/controls/A.5.1", entity));
    /* The same values again: nothing changed, nothing announced. */
    json_decref(tenant_call(&t, 200, "PUT", put, "/v1/entities/%s/controls/A.5.1", entity));
    /* An import of three rows: A.5.1 as it is, A.5.2 and A.8.1 new. */
    json_t *imported =
        tenant_call(&t, 200, "POST",
                    "{\"csv\":\"ref,applicable,status,justification\\r\\n"
                    "A.5.1,true,PARTIAL,drafted\\r\\nA.8.1,true,IMPLEMENTED,MDM\\r\\n"
                    "A.5.2,true,PLANNED,Q3\\r\\n\"}",
                    "/v1/entities/%s/controls:import", entity);
    ck_assert_int_eq(json_integer_value(json_object_get(imported, "changed")), 2);
    json_decref(imported);
    json_t *got = events_at(path, 3);
    ck_assert_str_eq(jstr(data_of(got, 0), "ref"), "A.5.1");
    ck_assert_str_eq(jstr(data_of(got, 0), "status"), "PARTIAL");
    /* The import's, in the standard's order. */
    ck_assert_str_eq(jstr(data_of(got, 1), "ref"), "A.5.2");
    ck_assert_str_eq(jstr(data_of(got, 2), "ref"), "A.8.1");
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(type_of(got, i), "soa.control_changed");
    char get[256];
    snprintf(get, sizeof(get), "/v1/entities/%s/controls/A.8.1", entity);
    assert_data_is(&t, data_of(got, 2), get);
    json_decref(got);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

/* A board member of entity in office since yesterday; its id. */
static char *new_member(const tenant_t *t, const char *entity, const char *name)
{
    char since[32], body[256];
    time_from_now(-86400, since);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"Director\",\"since\":\"%s\"}", name,
             since);
    json_t *m = tenant_call(t, 201, "POST", body, "/v1/entities/%s/board-members", entity);
    char *id = strdup(jstr(m, "id"));
    json_decref(m);
    return id;
}

START_TEST(attestations_and_a_completed_campaign)
{
    tenant_t t = new_tenant("Events attestations");
    char *path = subscribe(&t, "[\"attestation.recorded\",\"campaign.completed\"]");
    char *entity = new_entity(&t);
    char *a = new_member(&t, entity, "Ada"), *b = new_member(&t, entity, "Bea");
    char due[32], body[512];
    time_from_now(7 * 86400, due);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"RISK_MEASURES_APPROVAL\",\"statement\":\"We approve "
             "the measures.\",\"dueAt\":\"%s\",\"validForDays\":365}",
             entity, due);
    json_t *c = tenant_call(&t, 201, "POST", body, "/v1/attestation-campaigns");
    char *campaign = strdup(jstr(c, "id"));
    json_decref(c);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", a);
    json_decref(
        tenant_call(&t, 201, "POST", body, "/v1/attestation-campaigns/%s/attestations", campaign));
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"REJECT\"}", b);
    json_t *last =
        tenant_call(&t, 201, "POST", body, "/v1/attestation-campaigns/%s/attestations", campaign);

    /* Two records, then the campaign completed by the second. */
    json_t *got = events_at(path, 3);
    ck_assert_str_eq(type_of(got, 0), "attestation.recorded");
    ck_assert_str_eq(jstr(data_of(got, 0), "member"), a);
    ck_assert_str_eq(type_of(got, 1), "attestation.recorded");
    char *a_json = json_dumps(data_of(got, 1), JSON_COMPACT | JSON_SORT_KEYS);
    char *b_json = json_dumps(last, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(a_json, b_json); /* the record as the reply carried it */
    free(a_json);
    free(b_json);
    ck_assert_str_eq(type_of(got, 2), "campaign.completed");
    json_t *done = data_of(got, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(done, "pending")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(done, "expected")), 2);
    char get[128];
    snprintf(get, sizeof(get), "/v1/attestation-campaigns/%s", campaign);
    assert_data_is(&t, done, get);
    json_decref(got);
    json_decref(last);
    free(campaign);
    free(a);
    free(b);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

/* The deadline of kind in an alert's data. */
static const char *alert_kind(json_t *events, size_t i)
{
    return jstr(json_object_get(data_of(events, i), "deadline"), "kind");
}

START_TEST(deadlines_missed_while_away_and_approaching)
{
    tenant_t t = new_tenant("Events deadlines");
    char *path = subscribe(&t, "[\"incident.deadline.approaching\",\"incident.deadline.missed\"]");
    char *entity = new_entity(&t);
    /* Aware 80 hours ago: the early warning (24 h) and the notification
     * (72 h) are past, each missed once; the final report is a month away. */
    char *late = new_incident(&t, entity, 80 * 3600, "Found late");
    json_t *got = events_at(path, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(type_of(got, i), "incident.deadline.missed");
        ck_assert_str_eq(jstr(data_of(got, i), "incident"), late);
        ck_assert_str_eq(jstr(data_of(got, i), "entity"), entity);
        ck_assert_str_eq(jstr(json_object_get(data_of(got, i), "deadline"), "status"), "OVERDUE");
    }
    ck_assert_str_eq(alert_kind(got, 0), "EARLY_WARNING");
    ck_assert_str_eq(alert_kind(got, 1), "INCIDENT_NOTIFICATION");
    json_decref(got);

    /* Aware 20 hours ago: the early warning is due in 4 hours, inside the
     * 6-hour lead: approaching, once; the 1-hour lead is still ahead. */
    char *soon = new_incident(&t, entity, 20 * 3600, "Found today");
    got = events_at(path, 3);
    ck_assert_str_eq(type_of(got, 2), "incident.deadline.approaching");
    ck_assert_str_eq(jstr(data_of(got, 2), "incident"), soon);
    ck_assert_str_eq(alert_kind(got, 2), "EARLY_WARNING");
    ck_assert_str_eq(jstr(json_object_get(data_of(got, 2), "deadline"), "status"), "PENDING");
    json_decref(got);

    /* Submitted: met, and nothing more comes of it. */
    char now[32], body[256];
    time_from_now(0, now);
    snprintf(body, sizeof(body), "{\"type\":\"EARLY_WARNING_SUBMITTED\",\"occurredAt\":\"%s\"}",
             now);
    json_decref(tenant_call(&t, 201, "POST", body, "/v1/incidents/%s/events", soon));
    usleep(QUIET_MS * 1000);
    got = received(path);
    ck_assert_uint_eq(json_array_size(got), 3);
    json_decref(got);
    free(soon);
    free(late);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

START_TEST(the_first_change_of_lead_times_keeps_to_its_if_match)
{
    /* A tenant still on the defaults has no settings row to lock. Another
     * write makes the row (here the test, in a transaction of its own: the
     * same INSERT a concurrent PATCH makes) while a PATCH sent with the
     * defaults' etag waits on it: that PATCH must answer 412, not write
     * over a change it never saw. */
    tenant_t t = new_tenant("Events first settings");
    json_t *s = tenant_call(&t, 200, "GET", NULL, "/v1/incident-settings");
    char if_match[64];
    snprintf(if_match, sizeof(if_match), "If-Match: \"%s\"", jstr(s, "etag"));
    json_decref(s);
    PGconn *admin = bw_test_begin_as(t.id);
    bw_test_exec(admin,
                 "INSERT INTO incidents.settings (tenant_id, alert_lead_seconds) "
                 "VALUES ($1::uuid, '{7200}')",
                 t.id);
    const char *headers[] = {if_match, NULL};
    bw_test_async_t patch = {.method = "PATCH",
                             .path = "/v1/incident-settings",
                             .token = t.key,
                             .body = "{\"deadlineAlertLeadSeconds\":[3600]}",
                             .headers = headers};
    bw_test_http_start(&patch);
    usleep(500 * 1000); /* the PATCH reaches the row and waits for it */
    bw_test_exec(admin, "COMMIT");
    PQfinish(admin);
    bw_test_http_join(&patch);
    ck_assert_problem(&patch.resp, 412, NULL);
    ck_assert_str_eq(jstr(patch.resp.json, "reason"), "ETAG_MISMATCH");
    bw_test_resp_free(&patch.resp);
    /* The other write stands. */
    s = tenant_call(&t, 200, "GET", NULL, "/v1/incident-settings");
    json_t *leads = json_object_get(s, "deadlineAlertLeadSeconds");
    ck_assert_uint_eq(json_array_size(leads), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(leads, 0)), 7200);
    json_decref(s);
    free_tenant(&t);
}
END_TEST

START_TEST(a_tenants_own_lead_times)
{
    tenant_t t = new_tenant("Events settings");
    /* The defaults until changed, with an etag of their own. */
    json_t *s = tenant_call(&t, 200, "GET", NULL, "/v1/incident-settings");
    json_t *leads = json_object_get(s, "deadlineAlertLeadSeconds");
    ck_assert_uint_eq(json_array_size(leads), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(leads, 0)), 21600);
    ck_assert_int_eq(json_integer_value(json_array_get(leads, 1)), 3600);
    char stale[64];
    snprintf(stale, sizeof(stale), "If-Match: \"%s\"", jstr(s, "etag"));
    json_decref(s);

    /* Bad lead times name the field; nothing changes. */
    const char *bad[] = {"{\"deadlineAlertLeadSeconds\":[59]}",
                         "{\"deadlineAlertLeadSeconds\":[2592001]}",
                         "{\"deadlineAlertLeadSeconds\":[3600,3600]}",
                         "{\"deadlineAlertLeadSeconds\":[60,120,180,240,300,360]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("PATCH", "/v1/incident-settings", t.key, bad[i], NULL, &r),
                         0);
        ck_assert_problem(&r, 400, "deadlineAlertLeadSeconds");
        bw_test_resp_free(&r);
    }
    /* 23.5 hours ahead: a deadline a day after awareness is inside it as
     * soon as the incident is an hour old. */
    s = tenant_call(&t, 200, "PATCH", "{\"deadlineAlertLeadSeconds\":[84600]}",
                    "/v1/incident-settings");
    ck_assert_int_eq(
        json_integer_value(json_array_get(json_object_get(s, "deadlineAlertLeadSeconds"), 0)),
        84600);
    ck_assert(json_object_get(s, "updateTime") != NULL);
    json_decref(s);
    /* The etag of the defaults no longer matches. */
    const char *headers[] = {stale, NULL};
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("PATCH", "/v1/incident-settings", t.key,
                                  "{\"deadlineAlertLeadSeconds\":[]}", headers, &r),
                     0);
    ck_assert_problem(&r, 412, NULL);
    bw_test_resp_free(&r);

    char *path = subscribe(&t, "[\"incident.deadline.approaching\"]");
    char *entity = new_entity(&t);
    char *incident = new_incident(&t, entity, 3600, "Seen an hour ago");
    json_t *got = events_at(path, 1);
    ck_assert_str_eq(jstr(data_of(got, 0), "incident"), incident);
    ck_assert_str_eq(alert_kind(got, 0), "EARLY_WARNING");
    json_decref(got);
    free(incident);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

/* CreateIncident straight on the incidents service's port with name's
 * certificate and the metadata given (origin NULL: none); the gRPC status,
 * and the new incident's id in id. */
static int create_as(const char *name, const tenant_t *t, const char *entity, const char *origin,
                     char id[64])
{
    bw_rpc_tls_t *tls = bw_test_tls_open_in(bw_test_env("BULWARK_TEST_TLS_DIR"), name, 60);
    Bulwark__Incidents__V1__Incident in = BULWARK__INCIDENTS__V1__INCIDENT__INIT;
    Google__Protobuf__Timestamp aware = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    aware.seconds = time(NULL) - 600;
    in.entity = (char *)entity;
    in.title = "From a ticket";
    in.aware_at = &aware;
    in.external_ref = "SEC-42";
    Bulwark__Incidents__V1__CreateIncidentRequest req =
        BULWARK__INCIDENTS__V1__CREATE_INCIDENT_REQUEST__INIT;
    req.incident = &in;
    uint8_t buf[1024];
    size_t n = protobuf_c_message_pack(&req.base, buf);
    bw_rpc_md_t md[] = {{"x-tenant-id", t->id},
                        {"x-roles", "editor"},
                        {"x-principal", "integration:test"},
                        {"x-bulwark-origin", origin}};
    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(
        bw_rpc_sync_open(tls, bw_test_env("BULWARK_TEST_INCIDENTS_ADDR"), "incidents", &sync), 0);
    bw_arena_t *arena = bw_arena_create(1024);
    bw_rpc_reply_t reply;
    ck_assert_int_eq(bw_rpc_sync_call(sync, arena,
                                      "/bulwark.incidents.v1.IncidentsService/CreateIncident", buf,
                                      n, md, origin != NULL ? 4 : 3, 5000, &reply),
                     0);
    int status = reply.status;
    id[0] = '\0';
    if (status == BW_GRPC_OK) {
        Bulwark__Incidents__V1__Incident *out =
            bulwark__incidents__v1__incident__unpack(NULL, reply.payload_len, reply.payload);
        ck_assert_ptr_nonnull(out);
        snprintf(id, 64, "%s", out->id);
        bulwark__incidents__v1__incident__free_unpacked(out, NULL);
    }
    bw_arena_destroy(arena);
    bw_rpc_sync_close(sync);
    bw_rpc_tls_close(tls);
    return status;
}

START_TEST(origin_only_from_the_integrations_service)
{
    tenant_t t = new_tenant("Events origin");
    char *path = subscribe(&t, "[\"incident.created\"]");
    char *entity = new_entity(&t);
    char *connection = bw_test_uuid_str();
    char origin[128], from_jira[64], from_gateway[64], none[64];
    snprintf(origin, sizeof(origin), "jira:%s", connection);
    ck_assert_int_eq(create_as("integrations", &t, entity, origin, from_jira), BW_GRPC_OK);
    /* The gateway may call CreateIncident, but declares no origin. */
    ck_assert_int_eq(create_as("gateway", &t, entity, origin, from_gateway), BW_GRPC_OK);
    /* A malformed origin from the integrations service is refused. */
    ck_assert_int_eq(create_as("integrations", &t, entity, "jira:not-a-uuid", none),
                     BW_GRPC_INVALID_ARGUMENT);
    ck_assert_int_eq(create_as("integrations", &t, entity, "Jira:x", none),
                     BW_GRPC_INVALID_ARGUMENT);
    /* Nor may another service write incidents at all. */
    ck_assert_int_eq(create_as("crosswalk", &t, entity, origin, none), BW_GRPC_UNAUTHENTICATED);

    json_t *got = events_at(path, 2);
    json_decref(got);
    /* Where each came from, as the outbox recorded it. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    PGresult *res = bw_test_sql(admin, "SELECT resource, origin FROM bulwark.outbox "
                                       "WHERE type = 'incident.created' ORDER BY seq");
    ck_assert_int_eq(PQntuples(res), 2);
    char want[128];
    snprintf(want, sizeof(want), "incidents/%s", from_jira);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), want);
    ck_assert_str_eq(PQgetvalue(res, 0, 1), origin);
    snprintf(want, sizeof(want), "incidents/%s", from_gateway);
    ck_assert_str_eq(PQgetvalue(res, 1, 0), want);
    ck_assert_str_eq(PQgetvalue(res, 1, 1), "");
    PQclear(res);
    PQfinish(admin);
    free(connection);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

/* An event that cannot be recorded fails its write whole. The event goes
 * to the database with the write's COMMIT (bw_db_exec_later), so that is
 * where its failure shows: the incident must not stay behind, the refusal
 * is in the audit trail, nothing is announced, and the next write of the
 * same kind goes through. */
START_TEST(a_write_whose_event_cannot_be_recorded_writes_nothing)
{
    tenant_t t = new_tenant("Events refused");
    char *path = subscribe(&t, "[\"incident.created\"]");
    char *entity = new_entity(&t);
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    char sql[1024];
    bw_test_exec(admin, "CREATE OR REPLACE FUNCTION bulwark.e2e_refuse_event() RETURNS trigger "
                        "LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'refused by the test'; END$$");
    snprintf(sql, sizeof(sql),
             "CREATE TRIGGER e2e_refuse_event BEFORE INSERT ON bulwark.outbox FOR EACH ROW "
             "WHEN (NEW.tenant_id = '%s') EXECUTE FUNCTION bulwark.e2e_refuse_event()",
             t.id);
    bw_test_exec(admin, sql);

    char aware[32], body[512];
    time_from_now(-3600, aware);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Refused\",\"awareAt\":\"%s\",\"significant\":true}",
             entity, aware);
    json_decref(tenant_call(&t, 500, "POST", body, "/v1/incidents"));
    json_t *list = tenant_call(&t, 200, "GET", NULL, "/v1/incidents");
    ck_assert_uint_eq(json_array_size(json_object_get(list, "incidents")), 0);
    json_decref(list);
    json_t *audit = tenant_call(&t, 200, "GET", NULL, "/v1/audit-events?pageSize=1");
    json_t *last = json_array_get(json_object_get(audit, "auditEvents"), 0);
    ck_assert_str_eq(jstr(last, "action"), "incidents.CreateIncident");
    ck_assert_str_eq(jstr(last, "outcome"), "INTERNAL");
    json_decref(audit);

    bw_test_exec(admin, "DROP TRIGGER e2e_refuse_event ON bulwark.outbox");
    bw_test_exec(admin, "DROP FUNCTION bulwark.e2e_refuse_event()");
    PQfinish(admin);
    char *id = new_incident(&t, entity, 3600, "Recorded");
    json_t *got = events_at(path, 1);
    ck_assert_str_eq(jstr(data_of(got, 0), "id"), id);
    ck_assert_str_eq(jstr(data_of(got, 0), "title"), "Recorded");
    json_decref(got);
    free(id);
    free(entity);
    free(path);
    free_tenant(&t);
}
END_TEST

static void setup(void)
{
    receiver_start();
}

static void teardown(void)
{
    receiver_stop();
}

Suite *suite_events(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("events");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, incident_writes_announce_themselves);
    tcase_add_test(tc, classification_changes_are_announced_when_the_outcome_changes);
    tcase_add_test(tc, controls_announce_each_change_once);
    tcase_add_test(tc, attestations_and_a_completed_campaign);
    tcase_add_test(tc, deadlines_missed_while_away_and_approaching);
    tcase_add_test(tc, a_tenants_own_lead_times);
    tcase_add_test(tc, the_first_change_of_lead_times_keeps_to_its_if_match);
    tcase_add_test(tc, origin_only_from_the_integrations_service);
    tcase_add_test(tc, a_write_whose_event_cannot_be_recorded_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
