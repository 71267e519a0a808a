/*
 * The incidents service end to end: recording incidents (time zone and
 * reporting regime from the entity, asked of the scoping service), the
 * reporting deadlines a client sees across daylight saving and month ends
 * under NIS2, DORA and GDPR, events moving them, refused contradictions,
 * timelines, lists, the tenant's open deadlines across pages and by regime,
 * the significance assessment, roles, tenant isolation, the append-only
 * events table in the database, and concurrent appends.
 */
#include "e2e.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An entity in zone with one activity and figures; returns its id. */
static char *create_entity_of(const tenant_t *t, const char *zone, const char *type,
                              const char *size)
{
    char body[768];
    snprintf(body, sizeof(body),
             "{\"name\":\"Entity in %s\",\"timeZone\":\"%s\",\"activities\":[{\"entityType\":"
             "\"%s\",\"principalActivity\":true}]%s%s}",
             zone, zone, type, size[0] ? ",\"size\":" : "", size);
    json_t *e = call(t->key, "POST", "/v1/entities", body, 201);
    char *id = strdup(jstr(e, "id"));
    json_decref(e);
    return id;
}

#define MEDIUM                                                                                     \
    "{\"staffHeadcount\":60,\"annualTurnoverEur\":\"12000000\",\"balanceSheetTotalEur\":"          \
    "\"12000000\"}"
#define LARGE                                                                                      \
    "{\"staffHeadcount\":900,\"annualTurnoverEur\":\"90000000\",\"balanceSheetTotalEur\":"         \
    "\"90000000\"}"

/* An entity NIS2 Art 23 binds, in zone: a qualified trust service provider
 * when tsp (essential whatever its size), else a medium-sized cloud
 * provider (important). Without figures a cloud provider is out of scope
 * (Art 2(1)), and NIS2 Art 23 would not bind it. */
static char *create_entity(const tenant_t *t, const char *zone, int tsp)
{
    return tsp ? create_entity_of(t, zone, "digital_infra.tsp.qualified", "")
               : create_entity_of(t, zone, "digital_infra.cloud", MEDIUM);
}

/* Records an incident and returns the reply (caller decrefs). */
static json_t *create_incident(const tenant_t *t, const char *body)
{
    return call(t->key, "POST", "/v1/incidents", body, 201);
}

static json_t *append_event(const tenant_t *t, const char *incident, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", incident);
    return call(t->key, "POST", path, body, 201);
}

static json_t *get_incident(const tenant_t *t, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s", id);
    return call(t->key, "GET", path, NULL, 200);
}

/* The deadline of this kind (the first one) in an incident, or NULL. */
static json_t *deadline(json_t *incident, const char *kind)
{
    json_t *list = json_object_get(incident, "deadlines");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(jstr(json_array_get(list, i), "kind"), kind) == 0)
            return json_array_get(list, i);
    return NULL;
}

/* Asserts a deadline's fields; due NULL means no dueAt, met NULL no metAt. */
static void expect_deadline(json_t *incident, const char *kind, const char *due,
                            const char *due_local, const char *status, const char *met,
                            int provisional, const char *basis)
{
    json_t *d = deadline(incident, kind);
    ck_assert_msg(d != NULL, "no %s deadline in %s", kind, json_dumps(incident, 0));
    if (due != NULL)
        ck_assert_str_eq(jstr(d, "dueAt"), due);
    else
        ck_assert_ptr_null(json_object_get(d, "dueAt"));
    if (due_local != NULL)
        ck_assert_str_eq(jstr(d, "dueAtLocal"), due_local);
    ck_assert_str_eq(jstr(d, "status"), status);
    if (met != NULL)
        ck_assert_str_eq(jstr(d, "metAt"), met);
    else
        ck_assert_ptr_null(json_object_get(d, "metAt"));
    ck_assert(json_is_boolean(json_object_get(d, "provisional")));
    ck_assert_int_eq(json_is_true(json_object_get(d, "provisional")), provisional);
    if (basis != NULL)
        ck_assert_str_eq(jstr(d, "basis"), basis);
    /* Every deadline says whose rules it follows (its `regime`);
     * these are the NIS2 ones. */
    ck_assert_str_eq(jstr(d, "regime"), "NIS2");
    /* Exactly the fields of the contract, with regime and note. */
    const char *key;
    json_t *value;
    json_object_foreach(d, key, value)
    {
        (void)value;
        ck_assert_msg(strcmp(key, "kind") == 0 || strcmp(key, "dueAt") == 0 ||
                          strcmp(key, "dueAtLocal") == 0 || strcmp(key, "provisional") == 0 ||
                          strcmp(key, "status") == 0 || strcmp(key, "metAt") == 0 ||
                          strcmp(key, "basis") == 0 || strcmp(key, "regime") == 0 ||
                          strcmp(key, "note") == 0,
                      "unexpected deadline field %s", key);
    }
}

/* RFC 3339 UTC text of a Unix time, into buf. */
static const char *iso(char buf[32], long long unix_seconds)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* ---- recording incidents ------------------------------------------------ */

START_TEST(create_and_read_a_recent_incident)
{
    tenant_t t = new_tenant("Incidents");
    char *entity = create_entity(&t, "Europe/Berlin", 0);
    long long now = (long long)time(NULL);
    char aware[32], detected[32], body[1024], want[32];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Ransomware on file servers\",\"awareAt\":\"%s\","
             "\"detectedAt\":\"%s\",\"significant\":true,\"externalRef\":\"JIRA-42\"}",
             entity, iso(aware, now - 7200), iso(detected, now - 9000));
    json_t *inc = create_incident(&t, body);
    const char *id = jstr(inc, "id");
    ck_assert_uint_eq(strlen(id), 36);
    ck_assert_str_eq(jstr(inc, "entity"), entity);
    ck_assert_str_eq(jstr(inc, "timeZone"), "Europe/Berlin");
    ck_assert_str_eq(jstr(inc, "awareAt"), aware);
    ck_assert_str_eq(jstr(inc, "detectedAt"), detected);
    ck_assert_str_eq(jstr(inc, "externalRef"), "JIRA-42");
    ck_assert_str_eq(jstr(inc, "state"), "OPEN");
    ck_assert(json_is_true(json_object_get(inc, "significant")));
    ck_assert(json_is_false(json_object_get(inc, "trustServiceProvider")));
    ck_assert_str_eq(jstr(inc, "clockStart"), aware);
    ck_assert_str_ne(jstr(inc, "etag"), "");
    ck_assert_uint_eq(json_array_size(json_object_get(inc, "deadlines")), 3);
    expect_deadline(inc, "EARLY_WARNING", iso(want, now - 7200 + 24 * 3600), NULL, "PENDING", NULL,
                    0, "NIS2 Art 23(4)(a)");
    expect_deadline(inc, "INCIDENT_NOTIFICATION", iso(want, now - 7200 + 72 * 3600), NULL,
                    "PENDING", NULL, 0, "NIS2 Art 23(4)(b)");
    /* One calendar month after the notification deadline, until it is sent. */
    json_t *fin = deadline(inc, "FINAL_REPORT");
    ck_assert(json_is_true(json_object_get(fin, "provisional")));
    ck_assert_str_eq(jstr(fin, "status"), "PENDING");
    ck_assert_str_eq(jstr(fin, "basis"), "NIS2 Art 23(4)(d)");
    const char *local = jstr(deadline(inc, "EARLY_WARNING"), "dueAtLocal");
    ck_assert_msg(strstr(local, "+01:00") != NULL || strstr(local, "+02:00") != NULL, "%s", local);

    json_t *again = get_incident(&t, id);
    ck_assert_str_eq(jstr(again, "title"), "Ransomware on file servers");
    ck_assert_str_eq(jstr(again, "etag"), jstr(inc, "etag"));
    ck_assert(json_equal(json_object_get(again, "deadlines"), json_object_get(inc, "deadlines")));
    json_decref(again);
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(deadlines_across_dst_in_the_entitys_zone)
{
    tenant_t t = new_tenant("DST");
    char *entity = create_entity(&t, "Europe/Berlin", 0);
    char body[1024];
    /* Aware at 05:00 in New York, 10:00 CET on 29 Mar 2025: the early
     * warning is due 24 h later, 11:00 CEST after the clocks went forward. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"DST\",\"awareAt\":\"2025-03-29T05:00:00-04:00\","
             "\"significant\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    ck_assert_str_eq(jstr(inc, "awareAt"), "2025-03-29T09:00:00Z");
    expect_deadline(inc, "EARLY_WARNING", "2025-03-30T09:00:00Z", "2025-03-30T11:00:00+02:00",
                    "OVERDUE", NULL, 0, NULL);
    expect_deadline(inc, "INCIDENT_NOTIFICATION", "2025-04-01T09:00:00Z",
                    "2025-04-01T11:00:00+02:00", "OVERDUE", NULL, 0, NULL);
    /* Long past the provisional final-report date with handling going on:
     * a progress report was due then, the final report's date is open. */
    expect_deadline(inc, "PROGRESS_REPORT", "2025-05-01T09:00:00Z", "2025-05-01T11:00:00+02:00",
                    "OVERDUE", NULL, 1, "NIS2 Art 23(4)(e)");
    expect_deadline(inc, "FINAL_REPORT", NULL, "", "PENDING", NULL, 1, "NIS2 Art 23(4)(e)");
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);

    /* Notified on 31 Mar, in time: the final report is due on 30 Apr (there
     * is no 31st) at the same local time, handling having ended before. */
    inc = append_event(&t, id,
                       "{\"type\":\"INCIDENT_NOTIFICATION_SUBMITTED\","
                       "\"occurredAt\":\"2025-03-31T23:30:00+02:00\",\"note\":\"via portal\"}");
    json_t *ev = json_object_get(inc, "event");
    ck_assert_str_eq(jstr(ev, "type"), "INCIDENT_NOTIFICATION_SUBMITTED");
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "sequence")), 1);
    ck_assert_str_eq(jstr(ev, "occurredAt"), "2025-03-31T21:30:00Z");
    ck_assert_str_eq(jstr(ev, "note"), "via portal");
    json_t *i2 = json_object_get(inc, "incident");
    expect_deadline(i2, "EARLY_WARNING", "2025-03-30T09:00:00Z", NULL, "MISSED",
                    "2025-03-31T21:30:00Z", 0, NULL);
    expect_deadline(i2, "INCIDENT_NOTIFICATION", "2025-04-01T09:00:00Z", NULL, "MET",
                    "2025-03-31T21:30:00Z", 0, NULL);
    json_decref(inc);
    json_decref(append_event(&t, id,
                             "{\"type\":\"HANDLING_ENDED\","
                             "\"occurredAt\":\"2025-04-10T12:00:00+02:00\"}"));
    inc = get_incident(&t, id);
    expect_deadline(inc, "FINAL_REPORT", "2025-04-30T21:30:00Z", "2025-04-30T23:30:00+02:00",
                    "OVERDUE", NULL, 0, "NIS2 Art 23(4)(d)");
    ck_assert_ptr_null(deadline(inc, "PROGRESS_REPORT"));
    ck_assert_str_eq(jstr(inc, "handlingEndedAt"), "2025-04-10T10:00:00Z");
    ck_assert_str_eq(jstr(inc, "state"), "OPEN");
    json_decref(inc);
    inc = append_event(&t, id,
                       "{\"type\":\"FINAL_REPORT_SUBMITTED\","
                       "\"occurredAt\":\"2025-04-29T09:00:00+02:00\"}");
    i2 = json_object_get(inc, "incident");
    expect_deadline(i2, "FINAL_REPORT", "2025-04-30T21:30:00Z", NULL, "MET", "2025-04-29T07:00:00Z",
                    0, NULL);
    ck_assert_str_eq(jstr(i2, "state"), "CLOSED");
    json_decref(inc);
    free(id);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(time_zone_given_and_month_end_in_new_york)
{
    tenant_t t = new_tenant("Zones");
    char *entity = create_entity(&t, "Europe/Berlin", 0);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"NY\",\"awareAt\":\"2024-01-29T10:00:00-05:00\","
             "\"timeZone\":\"America/New_York\",\"significant\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    ck_assert_str_eq(jstr(inc, "timeZone"), "America/New_York");
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);
    json_decref(append_event(&t, id,
                             "{\"type\":\"INCIDENT_NOTIFICATION_SUBMITTED\","
                             "\"occurredAt\":\"2024-01-31T22:00:00-05:00\"}"));
    inc = append_event(&t, id,
                       "{\"type\":\"HANDLING_ENDED\",\"occurredAt\":\"2024-02-01T10:00:00Z\"}");
    /* 31 Jan 2024 22:00 in New York: 29 Feb 22:00, a leap year. */
    expect_deadline(json_object_get(inc, "incident"), "FINAL_REPORT", "2024-03-01T03:00:00Z",
                    "2024-02-29T22:00:00-05:00", "OVERDUE", NULL, 0, NULL);
    json_decref(inc);
    free(id);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(trust_service_derogation)
{
    tenant_t t = new_tenant("TSP");
    char *tsp = create_entity(&t, "Europe/Vienna", 1), *cloud = create_entity(&t, "UTC", 0);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Signing down\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true,\"trustServiceImpact\":true}",
             tsp);
    json_t *inc = create_incident(&t, body);
    ck_assert(json_is_true(json_object_get(inc, "trustServiceProvider")));
    expect_deadline(inc, "INCIDENT_NOTIFICATION", "2025-06-11T09:15:00Z",
                    "2025-06-11T11:15:00+02:00", "OVERDUE", NULL, 0,
                    "NIS2 Art 23(4), second subparagraph");
    json_decref(inc);
    /* The same provider, trust services not affected: 72 hours. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"HR laptop\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true}",
             tsp);
    inc = create_incident(&t, body);
    expect_deadline(inc, "INCIDENT_NOTIFICATION", "2025-06-13T09:15:00Z", NULL, "OVERDUE", NULL, 0,
                    "NIS2 Art 23(4)(b)");
    json_decref(inc);
    /* Not a trust service provider: no trust services to affect. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true,\"trustServiceImpact\":true}",
             cloud);
    expect_problem(t.key, "POST", "/v1/incidents", body, 400, "trustServiceImpact");
    free(tsp);
    free(cloud);
    free_tenant(&t);
}
END_TEST

START_TEST(not_significant_then_reclassified)
{
    tenant_t t = new_tenant("Reclassified");
    char *entity = create_entity(&t, "UTC", 0);
    long long now = (long long)time(NULL);
    char aware[32], at[32], body[1024], want[32];
    snprintf(body, sizeof(body), "{\"entity\":\"%s\",\"title\":\"Phishing\",\"awareAt\":\"%s\"}",
             entity, iso(aware, now - 3 * 3600));
    json_t *inc = create_incident(&t, body);
    ck_assert(json_is_false(json_object_get(inc, "significant")));
    ck_assert_ptr_null(json_object_get(inc, "clockStart"));
    json_t *list = json_object_get(inc, "deadlines");
    ck_assert_uint_eq(json_array_size(list), 3);
    for (size_t i = 0; i < json_array_size(list); i++) {
        ck_assert_str_eq(jstr(json_array_get(list, i), "status"), "NOT_REQUIRED");
        ck_assert_ptr_null(json_object_get(json_array_get(list, i), "dueAt"));
    }
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);
    snprintf(body, sizeof(body),
             "{\"type\":\"RECLASSIFIED\",\"significance\":\"SIGNIFICANT\",\"occurredAt\":\"%s\","
             "\"note\":\"customer data affected\"}",
             iso(at, now - 3600));
    inc = append_event(&t, id, body);
    json_t *i2 = json_object_get(inc, "incident");
    ck_assert(json_is_true(json_object_get(i2, "significant")));
    ck_assert_str_eq(jstr(i2, "clockStart"), at);
    expect_deadline(i2, "EARLY_WARNING", iso(want, now - 3600 + 24 * 3600), NULL, "PENDING", NULL,
                    0, NULL);
    json_decref(inc);
    /* The same classification again contradicts the timeline. */
    snprintf(body, sizeof(body), "{\"type\":\"RECLASSIFIED\",\"significance\":\"SIGNIFICANT\"}");
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", id);
    expect_problem(t.key, "POST", path, body, 400, "significance");
    free(id);
    free(entity);
    free_tenant(&t);
}
END_TEST

/* ---- refused input --------------------------------------------------------- */

START_TEST(bad_incidents_name_the_field)
{
    tenant_t t = new_tenant("Bad incidents");
    char *entity = create_entity(&t, "UTC", 0);
    char body[1024];
    const char *p = "/v1/incidents";
    expect_problem(t.key, "POST", p, "{\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\"}", 400,
                   "entity");
    expect_problem(t.key, "POST", p,
                   "{\"entity\":\"nope\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\"}",
                   400, "entity");
    /* An entity that does not exist (or is another tenant's). */
    expect_problem(t.key, "POST", p,
                   "{\"entity\":\"0193a2b4-1111-7222-8333-444455556666\",\"title\":\"x\","
                   "\"awareAt\":\"2025-06-10T09:15:00Z\"}",
                   400, "entity");
    snprintf(body, sizeof(body), "{\"entity\":\"%s\",\"awareAt\":\"2025-06-10T09:15:00Z\"}",
             entity);
    expect_problem(t.key, "POST", p, body, 400, "title");
    snprintf(body, sizeof(body), "{\"entity\":\"%s\",\"title\":\"x\"}", entity);
    expect_problem(t.key, "POST", p, body, 400, "awareAt");
    snprintf(body, sizeof(body), "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"yesterday\"}",
             entity);
    expect_problem(t.key, "POST", p, body, 400, "awareAt");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2999-01-01T00:00:00Z\"}", entity);
    expect_problem(t.key, "POST", p, body, 400, "awareAt");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"1990-01-01T00:00:00Z\"}", entity);
    expect_problem(t.key, "POST", p, body, 400, "awareAt");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"detectedAt\":\"2025-06-10T09:16:00Z\"}",
             entity);
    expect_problem(t.key, "POST", p, body, 400, "detectedAt");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"timeZone\":\"CEST\"}",
             entity);
    expect_problem(t.key, "POST", p, body, 400, "timeZone");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"severity\":\"high\"}",
             entity);
    expect_problem(t.key, "POST", p, body, 400, "severity");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":\"yes\"}",
             entity);
    expect_problem(t.key, "POST", p, body, 400, "significant");
    expect_problem(t.key, "POST", p, "{\"entity\":", 400, NULL);
    /* Nothing of the above was recorded. */
    json_t *list = call(t.key, "GET", "/v1/incidents", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "incidents")), 0);
    json_decref(list);
    expect_problem(t.key, "GET", "/v1/incidents/not-a-uuid", NULL, 404, NULL);
    expect_problem(t.key, "GET", "/v1/incidents/0193a2b4-1111-7222-8333-444455556666", NULL, 404,
                   NULL);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(events_that_contradict_the_timeline_are_400)
{
    tenant_t t = new_tenant("Bad events");
    char *entity = create_entity(&t, "UTC", 0);
    char body[1024], path[128], soon[32];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", jstr(inc, "id"));
    const char *k = t.key;
    expect_problem(k, "POST", path,
                   "{\"type\":\"EARLY_WARNING_SUBMITTED\",\"occurredAt\":\"2025-06-10T09:00:00Z\"}",
                   400, "occurredAt");
    snprintf(body, sizeof(body), "{\"type\":\"NOTE\",\"note\":\"x\",\"occurredAt\":\"%s\"}",
             iso(soon, (long long)time(NULL) + 3600));
    expect_problem(k, "POST", path, body, 400, "occurredAt");
    expect_problem(k, "POST", path,
                   "{\"type\":\"FINAL_REPORT_SUBMITTED\",\"occurredAt\":\"2025-06-11T09:00:00Z\"}",
                   400, "type");
    expect_problem(k, "POST", path,
                   "{\"type\":\"INTERMEDIATE_REPORT_SUBMITTED\","
                   "\"occurredAt\":\"2025-06-11T09:00:00Z\"}",
                   400, "type");
    expect_problem(k, "POST", path, "{\"occurredAt\":\"2025-06-11T09:00:00Z\"}", 400, "type");
    expect_problem(k, "POST", path, "{\"type\":\"ESCALATED\"}", 400, "type");
    expect_problem(k, "POST", path, "{\"type\":\"NOTE\"}", 400, "note");
    expect_problem(k, "POST", path, "{\"type\":\"RECLASSIFIED\"}", 400, "significance");
    expect_problem(k, "POST", path,
                   "{\"type\":\"NOTE\",\"note\":\"x\",\"dueAt\":\"2025-06-12T09:00:00Z\"}", 400,
                   "dueAt");
    json_decref(
        append_event(&t, jstr(inc, "id"),
                     "{\"type\":\"HANDLING_ENDED\",\"occurredAt\":\"2025-06-12T09:00:00Z\"}"));
    expect_problem(k, "POST", path,
                   "{\"type\":\"HANDLING_ENDED\",\"occurredAt\":\"2025-06-13T09:00:00Z\"}", 400,
                   "type");
    expect_problem(k, "POST", "/v1/incidents/0193a2b4-1111-7222-8333-444455556666/events",
                   "{\"type\":\"NOTE\",\"note\":\"x\"}", 404, NULL);
    /* Only the one event was recorded. */
    snprintf(path, sizeof(path), "/v1/incidents/%s/timeline", jstr(inc, "id"));
    json_t *tl = call(k, "GET", path, NULL, 200);
    int events = 0;
    json_t *entries = json_object_get(tl, "entries");
    for (size_t i = 0; i < json_array_size(entries); i++)
        events += json_object_get(json_array_get(entries, i), "event") != NULL;
    ck_assert_int_eq(events, 1);
    json_decref(tl);
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

/* ---- timeline and lists ---------------------------------------------------- */

START_TEST(timeline_in_time_order)
{
    tenant_t t = new_tenant("Timeline");
    char *entity = create_entity(&t, "Europe/Paris", 0);
    char body[1024], path[128];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);
    json_decref(append_event(&t, id,
                             "{\"type\":\"EARLY_WARNING_SUBMITTED\","
                             "\"occurredAt\":\"2025-06-10T20:00:00Z\"}"));
    json_decref(append_event(&t, id,
                             "{\"type\":\"INTERMEDIATE_REPORT_REQUESTED\","
                             "\"occurredAt\":\"2025-06-11T08:00:00Z\","
                             "\"dueAt\":\"2025-06-12T08:00:00Z\"}"));
    /* Recorded later, happened earlier: sorted by when it happened. */
    json_decref(append_event(&t, id,
                             "{\"type\":\"NOTE\",\"note\":\"containment started\","
                             "\"occurredAt\":\"2025-06-10T10:00:00Z\"}"));
    json_t *r = append_event(&t, id,
                             "{\"type\":\"INTERMEDIATE_REPORT_SUBMITTED\","
                             "\"occurredAt\":\"2025-06-12T09:00:00Z\"}");
    expect_deadline(json_object_get(r, "incident"), "INTERMEDIATE_REPORT", "2025-06-12T08:00:00Z",
                    "2025-06-12T10:00:00+02:00", "MISSED", "2025-06-12T09:00:00Z", 0,
                    "NIS2 Art 23(4)(c)");
    json_decref(r);

    snprintf(path, sizeof(path), "/v1/incidents/%s/timeline", id);
    json_t *tl = call(t.key, "GET", path, NULL, 200);
    ck_assert_str_eq(jstr(tl, "incident"), id);
    json_t *entries = json_object_get(tl, "entries");
    const char *want[] = {"NOTE",
                          "EARLY_WARNING_SUBMITTED",
                          "INTERMEDIATE_REPORT_REQUESTED",
                          "EARLY_WARNING",
                          "INTERMEDIATE_REPORT",
                          "INTERMEDIATE_REPORT_SUBMITTED",
                          "INCIDENT_NOTIFICATION"};
    ck_assert_uint_ge(json_array_size(entries), 7);
    const char *previous = "";
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        json_t *ev = json_object_get(e, "event"), *dl = json_object_get(e, "deadline");
        ck_assert((ev != NULL) != (dl != NULL));
        const char *name = ev != NULL ? jstr(ev, "type") : jstr(dl, "kind");
        if (i < 7)
            ck_assert_msg(strcmp(name, want[i]) == 0, "entry %zu is %s, want %s", i, name, want[i]);
        const char *time = jstr(e, "time");
        if (time[0] != '\0') {
            ck_assert_msg(strcmp(previous, time) <= 0, "%s after %s", time, previous);
            previous = time;
        }
    }
    json_decref(tl);
    expect_problem(t.key, "GET", "/v1/incidents/0193a2b4-1111-7222-8333-444455556666/timeline",
                   NULL, 404, NULL);
    free(id);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(list_incidents_by_entity_and_state)
{
    tenant_t t = new_tenant("Lists");
    char *a = create_entity(&t, "UTC", 0), *b = create_entity(&t, "UTC", 0);
    char body[1024], path[256];
    char *ids[3];
    for (int i = 0; i < 3; i++) {
        snprintf(
            body, sizeof(body),
            "{\"entity\":\"%s\",\"title\":\"incident %d\",\"awareAt\":\"2025-06-1%dT09:15:00Z\","
            "\"significant\":true}",
            i < 2 ? a : b, i, i);
        json_t *inc = create_incident(&t, body);
        ids[i] = strdup(jstr(inc, "id"));
        json_decref(inc);
    }
    /* Close the first: handled, notified, final report in. */
    json_decref(append_event(&t, ids[0],
                             "{\"type\":\"INCIDENT_NOTIFICATION_SUBMITTED\","
                             "\"occurredAt\":\"2025-06-10T12:00:00Z\"}"));
    json_decref(append_event(
        &t, ids[0], "{\"type\":\"HANDLING_ENDED\",\"occurredAt\":\"2025-06-11T12:00:00Z\"}"));
    json_decref(append_event(&t, ids[0],
                             "{\"type\":\"FINAL_REPORT_SUBMITTED\","
                             "\"occurredAt\":\"2025-06-20T12:00:00Z\"}"));

    snprintf(path, sizeof(path), "/v1/incidents?entity=%s", a);
    json_t *l = call(t.key, "GET", path, NULL, 200);
    json_t *items = json_object_get(l, "incidents");
    ck_assert_uint_eq(json_array_size(items), 2);
    ck_assert_str_eq(jstr(json_array_get(items, 0), "id"), ids[0]);
    ck_assert_str_eq(jstr(json_array_get(items, 1), "id"), ids[1]);
    ck_assert_uint_ge(json_array_size(json_object_get(json_array_get(items, 1), "deadlines")), 3);
    json_decref(l);
    l = call(t.key, "GET", "/v1/incidents?state=CLOSED", NULL, 200);
    items = json_object_get(l, "incidents");
    ck_assert_uint_eq(json_array_size(items), 1);
    ck_assert_str_eq(jstr(json_array_get(items, 0), "state"), "CLOSED");
    json_decref(l);
    snprintf(path, sizeof(path), "/v1/incidents?entity=%s&state=OPEN", a);
    l = call(t.key, "GET", path, NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "incidents")), 1);
    json_decref(l);

    /* Pages of one, oldest first, every incident once. */
    char url[1024] = "/v1/incidents?pageSize=1";
    int seen = 0;
    for (int page = 0; page < 5; page++) {
        l = call(t.key, "GET", url, NULL, 200);
        items = json_object_get(l, "incidents");
        ck_assert_uint_le(json_array_size(items), 1);
        if (json_array_size(items) == 1) {
            ck_assert_int_lt(seen, 3);
            ck_assert_str_eq(jstr(json_array_get(items, 0), "id"), ids[seen]);
            seen++;
        }
        const char *next = jstr(l, "nextPageToken");
        int last = next[0] == '\0';
        snprintf(url, sizeof(url), "/v1/incidents?pageSize=1&pageToken=%s", next);
        json_decref(l);
        if (last)
            break;
    }
    ck_assert_int_eq(seen, 3);
    expect_problem(t.key, "GET", "/v1/incidents?entity=abc", NULL, 400, "entity");
    expect_problem(t.key, "GET", "/v1/incidents?state=SLEEPING", NULL, 400, "state");
    expect_problem(t.key, "GET", "/v1/incidents?pageToken=forged", NULL, 400, "pageToken");
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    free(a);
    free(b);
    free_tenant(&t);
}
END_TEST

/* ---- the tenant's open deadlines ------------------------------------------- */

START_TEST(tenant_deadlines_soonest_first_across_pages)
{
    tenant_t t = new_tenant("Deadlines");
    char *entity = create_entity(&t, "Europe/Madrid", 0);
    long long now = (long long)time(NULL);
    char body[1024], aware[32];
    /* Four recent incidents (open, not yet due) and one old (overdue). */
    const long long ago[] = {3600, 7200, 600, 5000};
    for (int i = 0; i < 4; i++) {
        snprintf(body, sizeof(body),
                 "{\"entity\":\"%s\",\"title\":\"recent %d\",\"awareAt\":\"%s\","
                 "\"significant\":true}",
                 entity, i, iso(aware, now - ago[i]));
        json_decref(create_incident(&t, body));
    }
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"old\",\"awareAt\":\"2025-01-10T09:00:00Z\","
             "\"significant\":true}",
             entity);
    json_decref(create_incident(&t, body));
    /* Not significant: nothing open. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"minor\",\"awareAt\":\"2025-01-10T09:00:00Z\"}",
             entity);
    json_decref(create_incident(&t, body));

    /* All open deadlines: 4 x (EW, IN, FINAL) + old (EW, IN, PROGRESS). */
    char url[1024] = "/v1/deadlines?pageSize=4";
    char previous[64] = "";
    int seen = 0, pages = 0, overdue = 0;
    for (;;) {
        json_t *l = call(t.key, "GET", url, NULL, 200);
        json_t *items = json_object_get(l, "deadlines");
        ck_assert_uint_le(json_array_size(items), 4);
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *o = json_array_get(items, i), *d = json_object_get(o, "deadline");
            ck_assert_uint_eq(strlen(jstr(o, "incident")), 36);
            ck_assert_str_eq(jstr(o, "entity"), entity);
            ck_assert_str_ne(jstr(o, "title"), "minor");
            const char *due = jstr(d, "dueAt");
            ck_assert_msg(strcmp(previous, due) <= 0, "%s after %s", due, previous);
            snprintf(previous, sizeof(previous), "%s", due);
            overdue += strcmp(jstr(d, "status"), "OVERDUE") == 0;
            ck_assert(strcmp(jstr(d, "status"), "OVERDUE") == 0 ||
                      strcmp(jstr(d, "status"), "PENDING") == 0);
            seen++;
        }
        pages++;
        const char *next = jstr(l, "nextPageToken");
        int last = next[0] == '\0';
        snprintf(url, sizeof(url), "/v1/deadlines?pageSize=4&pageToken=%s", next);
        json_decref(l);
        if (last)
            break;
        ck_assert_int_lt(pages, 10);
    }
    ck_assert_int_eq(seen, 15);
    ck_assert_int_eq(overdue, 3);
    ck_assert_int_eq(pages, 4);

    json_t *l = call(t.key, "GET", "/v1/deadlines?status=OVERDUE", NULL, 200);
    json_t *items = json_object_get(l, "deadlines");
    ck_assert_uint_eq(json_array_size(items), 3);
    ck_assert_str_eq(jstr(json_object_get(json_array_get(items, 0), "deadline"), "kind"),
                     "EARLY_WARNING");
    ck_assert_str_eq(jstr(json_object_get(json_array_get(items, 2), "deadline"), "kind"),
                     "PROGRESS_REPORT");
    json_decref(l);
    l = call(t.key, "GET", "/v1/deadlines?status=PENDING", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 12);
    json_decref(l);
    /* Due within two days from now: the four early warnings, the overdue three. */
    char before[32], url2[128];
    snprintf(url2, sizeof(url2), "/v1/deadlines?dueBefore=%s", iso(before, now + 48 * 3600));
    l = call(t.key, "GET", url2, NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 7);
    json_decref(l);
    snprintf(url2, sizeof(url2), "/v1/deadlines?status=PENDING&dueBefore=%s",
             iso(before, now + 48 * 3600));
    l = call(t.key, "GET", url2, NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 4);
    json_decref(l);

    expect_problem(t.key, "GET", "/v1/deadlines?status=MET", NULL, 400, "status");
    expect_problem(t.key, "GET", "/v1/deadlines?dueBefore=tomorrow", NULL, 400, "dueBefore");
    expect_problem(t.key, "GET", "/v1/deadlines?pageToken=forged", NULL, 400, "pageToken");
    expect_problem(t.key, "GET", "/v1/deadlines?pageSize=-2", NULL, 400, "pageSize");
    free(entity);
    free_tenant(&t);
}
END_TEST

/* ---- isolation, roles, significance ---------------------------------------- */

START_TEST(other_tenants_incidents_answer_404)
{
    tenant_t a = new_tenant("Owner"), b = new_tenant("Intruder");
    char *entity = create_entity(&a, "UTC", 0);
    char body[1024], path[128];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"secret\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true}",
             entity);
    json_t *inc = create_incident(&a, body);
    const char *id = jstr(inc, "id");
    snprintf(path, sizeof(path), "/v1/incidents/%s", id);
    expect_problem(b.key, "GET", path, NULL, 404, NULL);
    snprintf(path, sizeof(path), "/v1/incidents/%s/timeline", id);
    expect_problem(b.key, "GET", path, NULL, 404, NULL);
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", id);
    expect_problem(b.key, "POST", path, "{\"type\":\"HANDLING_ENDED\"}", 404, NULL);
    /* B cannot record an incident on A's entity either. */
    expect_problem(b.key, "POST", "/v1/incidents", body, 400, "entity");
    json_t *l = call(b.key, "GET", "/v1/incidents", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "incidents")), 0);
    json_decref(l);
    l = call(b.key, "GET", "/v1/deadlines", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 0);
    json_decref(l);
    /* A still sees it, untouched. */
    json_t *again = get_incident(&a, id);
    ck_assert_str_eq(jstr(again, "handlingEndedAt"), "");
    json_decref(again);
    json_decref(inc);
    free(entity);
    free_tenant(&a);
    free_tenant(&b);
}
END_TEST

START_TEST(readers_read_and_editors_write)
{
    tenant_t t = new_tenant("Roles");
    char *entity = create_entity(&t, "UTC", 0);
    json_t *k =
        call(t.key, "POST", "/v1/api-keys", "{\"name\":\"reader\",\"role\":\"viewer\"}", 201);
    char *viewer = strdup(jstr(k, "secret"));
    json_decref(k);
    char body[1024], path[128];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\"}", entity);
    expect_problem(viewer, "POST", "/v1/incidents", body, 403, NULL);
    json_t *inc = create_incident(&t, body);
    snprintf(path, sizeof(path), "/v1/incidents/%s", jstr(inc, "id"));
    json_decref(call(viewer, "GET", path, NULL, 200));
    json_decref(call(viewer, "GET", "/v1/deadlines", NULL, 200));
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", jstr(inc, "id"));
    expect_problem(viewer, "POST", path, "{\"type\":\"HANDLING_ENDED\"}", 403, NULL);
    json_decref(call(viewer, "POST", "/v1/incidents:assess-significance",
                     "{\"entityTypes\":[\"digital_infra.cloud\"]}", 200));
    expect_problem(NULL, "GET", "/v1/deadlines", NULL, 401, NULL);
    json_decref(inc);
    free(viewer);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_significance)
{
    tenant_t t = new_tenant("Significance");
    json_t *a = call(t.key, "POST", "/v1/incidents:assess-significance",
                     "{\"entityTypes\":[\"digital_infra.cloud\"],\"impact\":"
                     "{\"completeUnavailabilityMinutes\":45}}",
                     200);
    ck_assert(json_is_true(json_object_get(a, "significant")));
    ck_assert(json_is_true(json_object_get(a, "implementingRegulationApplies")));
    json_t *c = json_array_get(json_object_get(a, "criteria"), 0);
    ck_assert_str_eq(jstr(c, "code"), "IR.7.a");
    ck_assert_str_eq(jstr(c, "article"), "IR 2024/2690 Art 7(a)");
    ck_assert_str_eq(jstr(c, "entityType"), "digital_infra.cloud");
    json_decref(a);
    a = call(t.key, "POST", "/v1/incidents:assess-significance",
             "{\"entityTypes\":[\"digital_infra.tsp\"],\"financialLossEur\":\"120000\","
             "\"annualTurnoverEur\":\"2000000\"}",
             200);
    c = json_array_get(json_object_get(a, "criteria"), 0);
    ck_assert_str_eq(jstr(c, "code"), "IR.3.1.a");
    json_decref(a);
    a = call(t.key, "POST", "/v1/incidents:assess-significance", "{}", 200);
    ck_assert(json_is_false(json_object_get(a, "significant")));
    ck_assert_uint_gt(json_array_size(json_object_get(a, "notes")), 0);
    json_decref(a);
    expect_problem(t.key, "POST", "/v1/incidents:assess-significance", "{\"financialLossEur\":-5}",
                   400, "financialLossEur");
    expect_problem(t.key, "POST", "/v1/incidents:assess-significance",
                   "{\"impact\":{\"usersInUnion\":\"10\",\"icaAffectedUsers\":\"11\"}}", 400,
                   "impact.icaAffectedUsers");
    expect_problem(t.key, "POST", "/v1/incidents:assess-significance",
                   "{\"entityTypes\":[\"Cloud!\"]}", 400, "entityTypes[0]");
    free_tenant(&t);
}
END_TEST

/* ---- regimes: DORA, GDPR, none ---------------------------------------------- */

/* The deadline of this kind and regime in an incident, or NULL. */
static json_t *deadline_of(json_t *incident, const char *kind, const char *regime)
{
    json_t *list = json_object_get(incident, "deadlines");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *d = json_array_get(list, i);
        if (strcmp(jstr(d, "kind"), kind) == 0 && strcmp(jstr(d, "regime"), regime) == 0)
            return d;
    }
    return NULL;
}

START_TEST(dora_clock_for_a_bank_art_19_and_rts_2025_301)
{
    tenant_t t = new_tenant("Bank");
    char *bank = create_entity_of(&t, "Europe/Berlin", "banking.credit_institution", LARGE);
    char *cloud = create_entity(&t, "UTC", 0);
    char body[1024];
    /* Aware at 09:00 CEST, classified as major at 07:00 the next day (22
     * hours on): 24 hours after awareness comes before four hours after
     * the classification (Art 5(1)(a)). */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Core banking down\","
             "\"awareAt\":\"2025-06-10T09:00:00+02:00\","
             "\"classifiedMajorAt\":\"2025-06-11T07:00:00+02:00\"}",
             bank);
    json_t *inc = create_incident(&t, body);
    ck_assert_str_eq(jstr(inc, "incidentRegime"), "DORA");
    ck_assert(json_is_true(json_object_get(inc, "significant")));
    ck_assert_str_eq(jstr(inc, "classifiedMajorAt"), "2025-06-11T05:00:00Z");
    ck_assert_str_eq(jstr(inc, "clockStart"), "2025-06-11T05:00:00Z");
    ck_assert_uint_eq(json_array_size(json_object_get(inc, "deadlines")), 3);
    ck_assert_ptr_null(deadline(inc, "EARLY_WARNING"));
    json_t *d = deadline_of(inc, "INITIAL_NOTIFICATION", "DORA");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(jstr(d, "dueAt"), "2025-06-11T07:00:00Z");
    ck_assert_str_eq(jstr(d, "dueAtLocal"), "2025-06-11T09:00:00+02:00");
    ck_assert_str_eq(jstr(d, "basis"),
                     "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(1)(a)");
    ck_assert_ptr_nonnull(strstr(jstr(d, "note"), "24 hours after becoming aware"));
    d = deadline_of(inc, "INTERMEDIATE_REPORT", "DORA");
    ck_assert_str_eq(jstr(d, "dueAt"), "2025-06-14T07:00:00Z");
    ck_assert(json_is_true(json_object_get(d, "provisional")));
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);
    /* DORA's events move DORA's deadlines; NIS2's are refused. */
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", id);
    expect_problem(t.key, "POST", path,
                   "{\"type\":\"EARLY_WARNING_SUBMITTED\","
                   "\"occurredAt\":\"2025-06-11T08:00:00+02:00\"}",
                   400, "type");
    expect_problem(t.key, "POST", path,
                   "{\"type\":\"DORA_FINAL_REPORT_SUBMITTED\","
                   "\"occurredAt\":\"2025-06-11T08:00:00+02:00\"}",
                   400, "type");
    json_decref(append_event(&t, id,
                             "{\"type\":\"DORA_INITIAL_NOTIFICATION_SUBMITTED\","
                             "\"occurredAt\":\"2025-06-11T08:30:00+02:00\"}"));
    inc = append_event(&t, id,
                       "{\"type\":\"DORA_INTERMEDIATE_REPORT_SUBMITTED\","
                       "\"occurredAt\":\"2025-06-30T11:00:00+02:00\"}");
    json_t *i2 = json_object_get(inc, "incident");
    d = deadline_of(i2, "INITIAL_NOTIFICATION", "DORA");
    ck_assert_str_eq(jstr(d, "status"), "MET");
    d = deadline_of(i2, "INTERMEDIATE_REPORT", "DORA");
    ck_assert_str_eq(jstr(d, "dueAt"), "2025-06-14T06:30:00Z");
    ck_assert_str_eq(jstr(d, "status"), "MISSED");
    /* One month after the intermediate report of 30 Jun: 30 Jul. */
    d = deadline_of(i2, "FINAL_REPORT", "DORA");
    ck_assert_str_eq(jstr(d, "dueAtLocal"), "2025-07-30T11:00:00+02:00");
    ck_assert(json_is_false(json_object_get(d, "provisional")));
    json_decref(inc);

    /* A significant incident of a bank needs its classification as major;
     * one before awareness, or for an entity outside DORA, is refused. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:00:00Z\","
             "\"significant\":true}",
             bank);
    expect_problem(t.key, "POST", "/v1/incidents", body, 400, "classifiedMajorAt");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:00:00Z\","
             "\"classifiedMajorAt\":\"2025-06-10T08:59:59Z\"}",
             bank);
    expect_problem(t.key, "POST", "/v1/incidents", body, 400, "classifiedMajorAt");
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:00:00Z\","
             "\"classifiedMajorAt\":\"2025-06-10T10:00:00Z\"}",
             cloud);
    expect_problem(t.key, "POST", "/v1/incidents", body, 400, "classifiedMajorAt");
    /* Not major when recorded: nothing owed under DORA yet. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"minor\",\"awareAt\":\"2025-06-10T09:00:00Z\"}", bank);
    inc = create_incident(&t, body);
    ck_assert_str_eq(jstr(inc, "incidentRegime"), "DORA");
    ck_assert_str_eq(jstr(deadline_of(inc, "INITIAL_NOTIFICATION", "DORA"), "status"),
                     "NOT_REQUIRED");
    json_decref(inc);
    free(id);
    free(bank);
    free(cloud);
    free_tenant(&t);
}
END_TEST

START_TEST(gdpr_beside_nis2_on_one_incident_art_33_34)
{
    tenant_t t = new_tenant("Breach");
    char *entity = create_entity(&t, "Europe/Berlin", 0);
    char body[1024];
    /* Aware at 12:00 CEST on Friday 24 Oct 2025: NIS2's notification and
     * GDPR's both 72 elapsed hours later, 11:00 CET after the change. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Customer database leaked\","
             "\"awareAt\":\"2025-10-24T12:00:00+02:00\",\"significant\":true,"
             "\"personalDataBreach\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    ck_assert_str_eq(jstr(inc, "incidentRegime"), "NIS2");
    ck_assert(json_is_true(json_object_get(inc, "personalDataBreach")));
    json_t *n = deadline_of(inc, "INCIDENT_NOTIFICATION", "NIS2");
    json_t *g = deadline_of(inc, "PERSONAL_DATA_BREACH_NOTIFICATION", "GDPR");
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(jstr(n, "dueAtLocal"), "2025-10-27T11:00:00+01:00");
    ck_assert_str_eq(jstr(g, "dueAtLocal"), "2025-10-27T11:00:00+01:00");
    ck_assert_str_eq(jstr(g, "basis"), "GDPR Art 33(1)");
    ck_assert_ptr_nonnull(strstr(jstr(g, "note"), "Art 34(1)"));
    ck_assert_str_eq(jstr(n, "note"), "");
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", id);
    /* The finding that no notification is needed must say why. */
    expect_problem(t.key, "POST", path, "{\"type\":\"GDPR_NOTIFICATION_NOT_REQUIRED\"}", 400,
                   "note");
    inc = append_event(&t, id,
                       "{\"type\":\"GDPR_NOTIFICATION_SUBMITTED\","
                       "\"occurredAt\":\"2025-10-26T10:00:00+01:00\",\"note\":\"to the BfDI\"}");
    json_t *i2 = json_object_get(inc, "incident");
    ck_assert_str_eq(jstr(deadline_of(i2, "PERSONAL_DATA_BREACH_NOTIFICATION", "GDPR"), "status"),
                     "MET");
    /* NIS2's notification is still owed: one is not the other. */
    ck_assert_str_ne(jstr(deadline_of(i2, "INCIDENT_NOTIFICATION", "NIS2"), "status"), "MET");
    json_decref(inc);
    expect_problem(t.key, "POST", path,
                   "{\"type\":\"GDPR_NOTIFICATION_NOT_REQUIRED\",\"note\":\"encrypted\"}", 400,
                   "type");
    /* No personal data breach: no GDPR deadline, no GDPR event. */
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-10-24T12:00:00Z\","
             "\"significant\":true}",
             entity);
    inc = create_incident(&t, body);
    ck_assert_ptr_null(deadline(inc, "PERSONAL_DATA_BREACH_NOTIFICATION"));
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", jstr(inc, "id"));
    expect_problem(t.key, "POST", path, "{\"type\":\"GDPR_NOTIFICATION_SUBMITTED\"}", 400, "type");
    json_decref(inc);
    expect_problem(t.key, "POST", "/v1/incidents", "{\"personalDataBreach\":\"yes\"}", 400,
                   "personalDataBreach");
    free(id);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(no_regime_for_an_entity_out_of_scope_art_3)
{
    tenant_t t = new_tenant("Out of scope");
    /* A small machinery maker: out of scope (Art 2(1)), nothing to report
     * under NIS2, though GDPR still asks for its breach. */
    char *entity = create_entity_of(&t, "UTC", "manufacturing.machinery",
                                    "{\"staffHeadcount\":20,\"annualTurnoverEur\":\"3000000\","
                                    "\"balanceSheetTotalEur\":\"3000000\"}");
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:00:00Z\","
             "\"significant\":true,\"personalDataBreach\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    ck_assert_str_eq(jstr(inc, "incidentRegime"), "NONE");
    json_t *ew = deadline_of(inc, "EARLY_WARNING", "NIS2");
    ck_assert_str_eq(jstr(ew, "status"), "NOT_REQUIRED");
    ck_assert_ptr_nonnull(strstr(jstr(ew, "note"), "NIS2 Art 3"));
    ck_assert_str_eq(jstr(deadline_of(inc, "PERSONAL_DATA_BREACH_NOTIFICATION", "GDPR"), "status"),
                     "OVERDUE");
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(deadlines_queue_by_regime)
{
    tenant_t t = new_tenant("Regimes queue");
    char *nis2 = create_entity(&t, "UTC", 0);
    char *bank = create_entity_of(&t, "UTC", "banking.credit_institution", LARGE);
    long long now = (long long)time(NULL);
    char body[1024], aware[32], classified[32];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"n\",\"awareAt\":\"%s\",\"significant\":true,"
             "\"personalDataBreach\":true}",
             nis2, iso(aware, now - 600));
    json_decref(create_incident(&t, body));
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"d\",\"awareAt\":\"%s\",\"classifiedMajorAt\":\"%s\"}",
             bank, iso(aware, now - 600), iso(classified, now - 300));
    json_decref(create_incident(&t, body));
    /* Every regime: NIS2 (EW, IN, FINAL), GDPR (1), DORA (3). */
    json_t *l = call(t.key, "GET", "/v1/deadlines", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 7);
    /* The DORA initial notification is due first, four hours after its
     * classification. */
    json_t *first = json_object_get(json_array_get(json_object_get(l, "deadlines"), 0), "deadline");
    ck_assert_str_eq(jstr(first, "kind"), "INITIAL_NOTIFICATION");
    ck_assert_str_eq(jstr(first, "regime"), "DORA");
    json_decref(l);
    const struct {
        const char *regime;
        size_t n;
    } want[] = {{"NIS2", 3}, {"DORA", 3}, {"GDPR", 1}};
    for (size_t k = 0; k < 3; k++) {
        char url[128];
        snprintf(url, sizeof(url), "/v1/deadlines?regime=%s", want[k].regime);
        l = call(t.key, "GET", url, NULL, 200);
        json_t *items = json_object_get(l, "deadlines");
        ck_assert_uint_eq(json_array_size(items), want[k].n);
        for (size_t i = 0; i < json_array_size(items); i++)
            ck_assert_str_eq(jstr(json_object_get(json_array_get(items, i), "deadline"), "regime"),
                             want[k].regime);
        json_decref(l);
    }
    /* Pages of one regime. */
    l = call(t.key, "GET", "/v1/deadlines?regime=NIS2&pageSize=2", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 2);
    char url[512];
    snprintf(url, sizeof(url), "/v1/deadlines?regime=NIS2&pageSize=2&pageToken=%s",
             jstr(l, "nextPageToken"));
    json_decref(l);
    l = call(t.key, "GET", url, NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 1);
    ck_assert_str_eq(jstr(l, "nextPageToken"), "");
    json_decref(l);
    l = call(t.key, "GET", "/v1/deadlines?regime=GDPR&status=OVERDUE", NULL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(l, "deadlines")), 0);
    json_decref(l);
    expect_problem(t.key, "GET", "/v1/deadlines?regime=HIPAA", NULL, 400, "regime");
    free(nis2);
    free(bank);
    free_tenant(&t);
}
END_TEST

START_TEST(significance_outcome_art_23_3)
{
    tenant_t t = new_tenant("Outcome");
    const char *p = "/v1/incidents:assess-significance";
    /* A hospital is no IR 2024/2690 type: Art 23(3), undetermined until its
     * questions are answered, never a bare no. */
    json_t *a = call(t.key, "POST", p, "{\"entityTypes\":[\"health.healthcare_provider\"]}", 200);
    ck_assert_str_eq(jstr(a, "outcome"), "UNDETERMINED");
    ck_assert(json_is_false(json_object_get(a, "significant")));
    ck_assert(json_is_false(json_object_get(a, "implementingRegulationApplies")));
    json_t *missing = json_object_get(a, "missingFacts");
    ck_assert_uint_eq(json_array_size(missing), 4);
    ck_assert_str_eq(json_string_value(json_array_get(missing, 0)), "severeOperationalDisruption");
    json_decref(a);
    a = call(t.key, "POST", p,
             "{\"entityTypes\":[\"health.healthcare_provider\"],"
             "\"severeOperationalDisruption\":\"YES\"}",
             200);
    ck_assert_str_eq(jstr(a, "outcome"), "SIGNIFICANT");
    ck_assert(json_is_true(json_object_get(a, "significant")));
    ck_assert_str_eq(jstr(json_array_get(json_object_get(a, "criteria"), 0), "article"),
                     "NIS2 Art 23(3)(a)");
    ck_assert_uint_eq(json_array_size(json_object_get(a, "missingFacts")), 0);
    json_decref(a);
    a = call(t.key, "POST", p,
             "{\"entityTypes\":[\"health.healthcare_provider\"],"
             "\"severeOperationalDisruption\":\"NO\",\"considerableDamageToOthers\":\"NO\","
             "\"financialLossEur\":\"10000\",\"annualTurnoverEur\":\"50000000\"}",
             200);
    ck_assert_str_eq(jstr(a, "outcome"), "NOT_SIGNIFICANT");
    json_decref(a);
    /* A cloud provider: IR 2024/2690 decides, a plain no when nothing met. */
    a = call(t.key, "POST", p, "{\"entityTypes\":[\"digital_infra.cloud\"]}", 200);
    ck_assert_str_eq(jstr(a, "outcome"), "NOT_SIGNIFICANT");
    ck_assert(json_is_true(json_object_get(a, "implementingRegulationApplies")));
    json_decref(a);
    expect_problem(t.key, "POST", p, "{\"entityTypes\":[\"digital_infra.nosuch\"]}", 400,
                   "entityTypes[0]");
    expect_problem(t.key, "POST", p, "{\"severeOperationalDisruption\":\"MAYBE\"}", 400,
                   "severeOperationalDisruption");
    expect_problem(t.key, "POST", p, "{\"considerableDamageToOthers\":true}", 400,
                   "considerableDamageToOthers");
    free_tenant(&t);
}
END_TEST

/* ---- the database refuses to rewrite history -------------------------------- */

/* Each deadline row carries its incident's entity and title (incidents
 * migration 0011) as the service writes it; a row written before that
 * migration (NULL there) is listed with its incident's, and gets them at
 * the incident's next write, even one that changes no deadline. */
static long carried(PGconn *admin, const char *incident, const char *entity, const char *title)
{
    PGresult *res =
        bw_test_sql(admin,
                    "SELECT count(*) FILTER (WHERE entity_id = $2::uuid AND title = $3), "
                    "count(*) FROM incidents.deadlines WHERE incident_id = $1::uuid",
                    incident, entity, title);
    long with = atol(PQgetvalue(res, 0, 0)), all = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    ck_assert_int_gt(all, 0);
    return all - with;
}

/* Every open deadline of the tenant is listed with incident's entity and title. */
static void assert_listed(const tenant_t *t, const char *incident, const char *entity,
                          const char *title)
{
    json_t *l = call(t->key, "GET", "/v1/deadlines", NULL, 200);
    json_t *items = json_object_get(l, "deadlines");
    ck_assert_uint_ge(json_array_size(items), 2);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *o = json_array_get(items, i);
        ck_assert_str_eq(jstr(o, "incident"), incident);
        ck_assert_str_eq(jstr(o, "entity"), entity);
        ck_assert_str_eq(jstr(o, "title"), title);
    }
    json_decref(l);
}

START_TEST(deadlines_carry_their_incident)
{
    tenant_t t = new_tenant("Carried");
    char *entity = create_entity(&t, "UTC", 0);
    long long now = (long long)time(NULL);
    char aware[32], at[32], body[1024];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Carried over\",\"awareAt\":\"%s\","
             "\"significant\":true}",
             entity, iso(aware, now - 3 * 3600));
    json_t *inc = create_incident(&t, body);
    char *id = strdup(jstr(inc, "id"));
    json_decref(inc);
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    ck_assert_int_eq(carried(admin, id, entity, "Carried over"), 0);
    assert_listed(&t, id, entity, "Carried over");

    /* As written before 0011: listed with the incident's all the same. */
    bw_test_exec(admin,
                 "UPDATE incidents.deadlines SET entity_id = NULL, title = NULL "
                 "WHERE incident_id = $1::uuid",
                 id);
    assert_listed(&t, id, entity, "Carried over");
    /* A note changes no deadline, and still writes them into every row. */
    snprintf(body, sizeof(body), "{\"type\":\"NOTE\",\"note\":\"contained\",\"occurredAt\":\"%s\"}",
             iso(at, now - 3600));
    json_decref(append_event(&t, id, body));
    ck_assert_int_eq(carried(admin, id, entity, "Carried over"), 0);
    assert_listed(&t, id, entity, "Carried over");

    PQfinish(admin);
    free(id);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(events_are_append_only_in_the_database)
{
    tenant_t t = new_tenant("Append only");
    char *entity = create_entity(&t, "UTC", 0);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    json_decref(
        append_event(&t, jstr(inc, "id"),
                     "{\"type\":\"HANDLING_ENDED\",\"occurredAt\":\"2025-06-12T09:00:00Z\"}"));
    /* The service's own role: no privilege. */
    PGconn *app = bw_test_pg("BULWARK_TEST_INCIDENTS_DATABASE_URL");
    bw_test_exec(app, "BEGIN");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, true)", t.id);
    ck_assert_str_eq(bw_test_sql_error(app, "UPDATE incidents.events SET note = 'rewritten'"),
                     "42501");
    bw_test_exec(app, "ROLLBACK");
    ck_assert_str_eq(bw_test_sql_error(app, "DELETE FROM incidents.events"), "42501");
    PQfinish(app);
    /* Even the owner of the table: the trigger refuses. Row-level security
     * is forced, so the owner sees the tenant's rows only with it set. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    ck_assert_str_eq(bw_test_sql_error(admin,
                                       "UPDATE incidents.events SET note = 'rewritten' "
                                       "WHERE incident_id = $1",
                                       jstr(inc, "id")),
                     "42501");
    ck_assert_str_eq(bw_test_sql_error(admin, "DELETE FROM incidents.events WHERE incident_id = $1",
                                       jstr(inc, "id")),
                     "42501");
    ck_assert_str_eq(bw_test_sql_error(admin, "TRUNCATE incidents.events CASCADE"), "42501");
    PGresult *res = bw_test_sql(
        admin, "SELECT count(*) FROM incidents.events WHERE incident_id = $1", jstr(inc, "id"));
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
    PQfinish(admin);
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

/* ---- concurrency ----------------------------------------------------------- */

START_TEST(concurrent_appends_see_each_other)
{
    tenant_t t = new_tenant("Race");
    char *entity = create_entity(&t, "UTC", 0);
    char body[1024], path[128];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"2025-06-10T09:15:00Z\","
             "\"significant\":true}",
             entity);
    json_t *inc = create_incident(&t, body);
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", jstr(inc, "id"));
    enum { N = 6 };
    bw_test_async_t racers[N];
    for (int i = 0; i < N; i++) {
        racers[i] = (bw_test_async_t){
            .method = "POST",
            .path = path,
            .token = t.key,
            .body = "{\"type\":\"HANDLING_ENDED\",\"occurredAt\":\"2025-06-12T09:00:00Z\"}"};
        bw_test_http_start(&racers[i]);
    }
    int created = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        bw_test_http_join(&racers[i]);
        created += racers[i].resp.status == 201;
        refused += racers[i].resp.status == 400;
        bw_test_resp_free(&racers[i].resp);
    }
    /* A second HANDLING_ENDED contradicts the timeline: exactly one wins. */
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(refused, N - 1);
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

/* A significant incident of t at a new entity, aware an hour ago; its
 * events' path goes to path (128 bytes). Returns the reply (caller
 * decrefs). */
static json_t *recent_incident(const tenant_t *t, char **entity, char path[128])
{
    char aware[32], body[1024];
    *entity = create_entity(t, "UTC", 0);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"x\",\"awareAt\":\"%s\",\"significant\":true}", *entity,
             iso(aware, (long long)time(NULL) - 3600));
    json_t *inc = create_incident(t, body);
    snprintf(path, 128, "/v1/incidents/%s/events", jstr(inc, "id"));
    return inc;
}

START_TEST(an_event_without_a_time_happens_when_it_is_recorded)
{
    /* An append waits for the incident while another write holds it (here
     * the test's own transaction). An event given no occurredAt is stamped
     * when it is recorded, after the wait: stamped when its request came,
     * it sorted before the write it waited for, and a notification that
     * waited for an early warning was refused as preceding it. */
    tenant_t t = new_tenant("Stamped when recorded");
    char *entity, path[128];
    json_t *inc = recent_incident(&t, &entity, path);
    PGconn *admin = bw_test_begin_as(t.id);
    bw_test_one_row(admin, "SELECT 1 FROM incidents.incidents WHERE incident_id = $1 FOR UPDATE",
                    jstr(inc, "id"));
    bw_test_async_t note = {.method = "POST",
                            .path = path,
                            .token = t.key,
                            .body = "{\"type\":\"NOTE\",\"note\":\"waited\"}"};
    bw_test_http_start(&note);
    sleep(2);
    char released[32];
    iso(released, (long long)time(NULL));
    bw_test_exec(admin, "COMMIT");
    PQfinish(admin);
    bw_test_http_join(&note);
    ck_assert_msg(note.resp.status == 201, "status %ld: %s", note.resp.status, note.resp.body);
    const char *at = jstr(json_object_get(note.resp.json, "event"), "occurredAt");
    ck_assert_msg(strncmp(at, released, 19) >= 0, "stamped %s, before the wait ended at %s", at,
                  released);
    bw_test_resp_free(&note.resp);
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

START_TEST(an_append_and_the_re_planning_do_not_deadlock)
{
    /* The scheduler's re-planning after a change of lead times locks an
     * incident's deadlines in key order (incidents.replan_deadline_alerts);
     * here the test's own transaction does the same. An append that writes
     * the incident's deadlines takes them in the same order, all at once,
     * before anything else: it waits, and nobody waits for it. Before, its
     * upsert took them in the clock's order (the final report, 91, before
     * the progress report, 90), and the two deadlocked: the append answered
     * 409. */
    tenant_t t = new_tenant("No deadlock");
    char *entity, path[128];
    json_t *inc = recent_incident(&t, &entity, path);
    const char *id = jstr(inc, "id");
    PGconn *admin = bw_test_begin_as(t.id);
    bw_test_one_row(admin,
                    "SELECT 1 FROM incidents.deadlines WHERE incident_id = $1 "
                    "AND ordinal = 90 FOR NO KEY UPDATE",
                    id);
    bw_test_async_t append = {.method = "POST",
                              .path = path,
                              .token = t.key,
                              .body = "{\"type\":\"EARLY_WARNING_SUBMITTED\"}"};
    bw_test_http_start(&append);
    usleep(500 * 1000); /* the append waits for ordinal 90 */
    bw_test_one_row(admin,
                    "SELECT 1 FROM incidents.deadlines WHERE incident_id = $1 "
                    "AND ordinal = 91 FOR NO KEY UPDATE",
                    id);
    bw_test_exec(admin, "COMMIT");
    PQfinish(admin);
    bw_test_http_join(&append);
    ck_assert_msg(append.resp.status == 201, "status %ld: %s", append.resp.status,
                  append.resp.body);
    bw_test_resp_free(&append.resp);
    json_decref(inc);
    free(entity);
    free_tenant(&t);
}
END_TEST

Suite *suite_incidents(void)
{
    Suite *s = suite_create("incidents");
    TCase *tc = tcase_create("incidents");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_and_read_a_recent_incident);
    tcase_add_test(tc, deadlines_across_dst_in_the_entitys_zone);
    tcase_add_test(tc, time_zone_given_and_month_end_in_new_york);
    tcase_add_test(tc, trust_service_derogation);
    tcase_add_test(tc, not_significant_then_reclassified);
    tcase_add_test(tc, bad_incidents_name_the_field);
    tcase_add_test(tc, events_that_contradict_the_timeline_are_400);
    tcase_add_test(tc, timeline_in_time_order);
    tcase_add_test(tc, list_incidents_by_entity_and_state);
    tcase_add_test(tc, tenant_deadlines_soonest_first_across_pages);
    tcase_add_test(tc, other_tenants_incidents_answer_404);
    tcase_add_test(tc, readers_read_and_editors_write);
    tcase_add_test(tc, assess_significance);
    tcase_add_test(tc, dora_clock_for_a_bank_art_19_and_rts_2025_301);
    tcase_add_test(tc, gdpr_beside_nis2_on_one_incident_art_33_34);
    tcase_add_test(tc, no_regime_for_an_entity_out_of_scope_art_3);
    tcase_add_test(tc, deadlines_queue_by_regime);
    tcase_add_test(tc, significance_outcome_art_23_3);
    tcase_add_test(tc, deadlines_carry_their_incident);
    tcase_add_test(tc, events_are_append_only_in_the_database);
    tcase_add_test(tc, concurrent_appends_see_each_other);
    tcase_add_test(tc, an_event_without_a_time_happens_when_it_is_recorded);
    tcase_add_test(tc, an_append_and_the_re_planning_do_not_deadlock);
    suite_add_tcase(s, tc);
    return s;
}
