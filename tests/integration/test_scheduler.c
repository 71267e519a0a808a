/*
 * The deadline scheduler (services/incidents/scheduler.c, incidents migration
 * 0007) against the real database, as the incidents process's role, with a
 * "now" of the test's choosing. Incidents are recorded over HTTP through the
 * running stack, so their deadlines and alerts are what the service writes;
 * the ticks are the scheduler's own function, limited to the test's tenant
 * and run at times chosen around the deadlines:
 *   - a deadline already past at the first tick fires once, as missed, and
 *     never again; a met one does not fire;
 *   - approaching fires at each lead time (6 h and 1 h by default, or the
 *     tenant's), once each; after a downtime only the nearest lead fires;
 *   - a deadline that appears later (a reclassification) is planned then;
 *   - a change of the tenant's lead times applies to deadlines already
 *     pending, longer or shorter, re-planned in batches by the ticks;
 *   - the final report due one calendar month after the notification, in
 *     the incident's zone: approaching as the final report, then, handling
 *     not having ended, missed as the progress report that replaces it;
 *   - two schedulers on two connections racing over the same alerts fire
 *     each exactly once.
 * The stack's own scheduler ticks at the real time, long before any of
 * these deadlines, so it never claims them (it may re-plan them after a
 * change of lead times, as the test's ticks would).
 */
#include "db.h"
#include "scheduler.h"
#include "status.h"
#include "testkit.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR 3600LL
#define US 1000000LL

typedef struct tenant {
    char *id, *key, *entity;
} tenant_t;

/* A tenant with an important entity (a medium cloud provider in Berlin);
 * leads, when not NULL, are its approaching lead times in seconds ("{7200}"),
 * set before any incident. */
static tenant_t new_tenant(const char *name, const char *leads)
{
    tenant_t t;
    t.id = bw_test_create_tenant(name, &t.key);
    if (leads != NULL) {
        PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
        bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
        bw_test_exec(admin,
                     "INSERT INTO incidents.settings (tenant_id, alert_lead_seconds) "
                     "VALUES ($1::uuid, $2::int[])",
                     t.id, leads);
        PQfinish(admin);
    }
    json_t *e =
        bw_test_call(t.key, "POST", "/v1/entities",
                     "{\"name\":\"Cloud GmbH\",\"timeZone\":\"Europe/Berlin\",\"activities\":["
                     "{\"entityType\":\"digital_infra.cloud\",\"principalActivity\":true}],"
                     "\"size\":{\"staffHeadcount\":60,\"annualTurnoverEur\":\"12000000\","
                     "\"balanceSheetTotalEur\":\"12000000\"}}",
                     201);
    t.entity = strdup(json_string_value(json_object_get(e, "id")));
    json_decref(e);
    return t;
}

static void free_tenant(tenant_t *t)
{
    free(t->id);
    free(t->key);
    free(t->entity);
}

static void rfc3339(long long at, char out[32])
{
    time_t s = (time_t)at;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An incident the entity became aware of at aware (seconds since the
 * epoch), significant or not; its id (caller frees). */
static char *new_incident(const tenant_t *t, long long aware, int significant)
{
    char at[32], body[512];
    rfc3339(aware, at);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Outage\",\"awareAt\":\"%s\",\"significant\":%s}",
             t->entity, at, significant ? "true" : "false");
    json_t *i = bw_test_call(t->key, "POST", "/v1/incidents", body, 201);
    char *id = strdup(json_string_value(json_object_get(i, "id")));
    json_decref(i);
    return id;
}

static void append(const tenant_t *t, const char *incident, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", incident);
    json_decref(bw_test_call(t->key, "POST", path, body, 201));
}

/* "2026-01-02T03:04:05[.frac]Z" as seconds since the epoch. */
static long long parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    ck_assert_msg(rest != NULL, "not a time: %s", s);
    return (long long)timegm(&tm);
}

/* The due time of the incident's deadline of kind, as GET shows it. */
static long long due_of(const tenant_t *t, const char *incident, const char *kind)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/incidents/%s", incident);
    json_t *i = bw_test_call(t->key, "GET", path, NULL, 200);
    json_t *list = json_object_get(i, "deadlines");
    long long due = -1;
    for (size_t k = 0; k < json_array_size(list); k++) {
        json_t *d = json_array_get(list, k);
        if (strcmp(json_string_value(json_object_get(d, "kind")), kind) == 0)
            due = parse_time(json_string_value(json_object_get(d, "dueAt")));
    }
    json_decref(i);
    ck_assert_msg(due > 0, "incident %s has no %s with a due time", incident, kind);
    return due;
}

/* One tick at at (seconds) for the tenant; the events it emitted. */
static int tick(bw_db_t *db, const tenant_t *t, long long at)
{
    bw_arena_t *arena = bw_arena_create(0);
    int claimed = 0, fired = 0;
    int err = bw_scheduler_tick(db, arena, NULL, at * US, BW_SCHEDULER_BATCH, t->id, &claimed,
                                &fired, NULL);
    ck_assert_msg(err == 0, "tick: %s", bw_strerror(err));
    bw_arena_destroy(arena);
    return fired;
}

static bw_db_t *scheduler_db(void)
{
    bw_db_t *db = NULL;
    int err = bw_scheduler_open(bw_test_env("BULWARK_TEST_INCIDENTS_DATABASE_URL"), &db);
    ck_assert_msg(err == 0, "scheduler connection as incidents' role: %s", bw_strerror(err));
    return db;
}

/* The tenant's deadline events, oldest first: type, the incident's
 * resource, the deadline's kind, its status. */
static PGresult *alerts_of(const tenant_t *t)
{
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t->id);
    PGresult *res = bw_test_sql(
        admin, "SELECT type, resource, data::json->'deadline'->>'kind', "
               "data::json->'deadline'->>'status', data::json->>'incident' FROM bulwark.outbox "
               "WHERE type LIKE 'incident.deadline.%' ORDER BY seq");
    PQfinish(admin);
    return res;
}

/* Asserts that row of res is an alert of type for incident's deadline kind. */
static void assert_alert(PGresult *res, int row, const char *type, const char *incident,
                         const char *kind)
{
    ck_assert_int_gt(PQntuples(res), row);
    ck_assert_str_eq(PQgetvalue(res, row, 0), type);
    ck_assert_str_eq(PQgetvalue(res, row, 4), incident);
    ck_assert_str_eq(PQgetvalue(res, row, 2), kind);
}

START_TEST(catch_up_fires_what_was_missed_once_and_not_what_was_met)
{
    tenant_t t = new_tenant("Scheduler catch-up", NULL);
    long long aware = (long long)time(NULL) - HOUR;
    char *met = new_incident(&t, aware, 1), *missed = new_incident(&t, aware, 1);
    char now[32], body[256];
    rfc3339(time(NULL), now);
    snprintf(body, sizeof(body), "{\"type\":\"EARLY_WARNING_SUBMITTED\",\"occurredAt\":\"%s\"}",
             now);
    append(&t, met, body);
    bw_db_t *db = scheduler_db();

    /* Down for 80 hours: at the first tick the early warning (24 h) and the
     * notification (72 h) are past. The met early warning fires nothing;
     * the approaching alerts of past deadlines are dropped. */
    ck_assert_int_eq(tick(db, &t, aware + 80 * HOUR), 3);
    ck_assert_int_eq(tick(db, &t, aware + 80 * HOUR), 0);
    ck_assert_int_eq(tick(db, &t, aware + 90 * HOUR), 0);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 3);
    int ew = 0, in_met = 0, in_missed = 0;
    for (int r = 0; r < 3; r++) {
        ck_assert_str_eq(PQgetvalue(res, r, 0), "incident.deadline.missed");
        ck_assert_str_eq(PQgetvalue(res, r, 3), "OVERDUE");
        int of_met = strcmp(PQgetvalue(res, r, 4), met) == 0;
        ew += strcmp(PQgetvalue(res, r, 2), "EARLY_WARNING") == 0;
        ck_assert(!of_met || strcmp(PQgetvalue(res, r, 2), "INCIDENT_NOTIFICATION") == 0);
        in_met += of_met;
        in_missed += !of_met;
    }
    ck_assert_int_eq(ew, 1);
    ck_assert_int_eq(in_met, 1);
    ck_assert_int_eq(in_missed, 2);
    PQclear(res);
    bw_db_close(db);
    free(met);
    free(missed);
    free_tenant(&t);
}
END_TEST

START_TEST(approaching_at_each_lead_once)
{
    tenant_t t = new_tenant("Scheduler leads", NULL);
    long long aware = (long long)time(NULL) - HOUR;
    char *a = new_incident(&t, aware, 1);
    long long due = due_of(&t, a, "EARLY_WARNING");
    ck_assert_int_eq(due, aware + 24 * HOUR);
    bw_db_t *db = scheduler_db();
    ck_assert_int_eq(tick(db, &t, due - 6 * HOUR - 1), 0);
    ck_assert_int_eq(tick(db, &t, due - 6 * HOUR), 1);
    ck_assert_int_eq(tick(db, &t, due - 3 * HOUR), 0);
    ck_assert_int_eq(tick(db, &t, due - HOUR), 1);
    ck_assert_int_eq(tick(db, &t, due - 1), 0);
    ck_assert_int_eq(tick(db, &t, due), 1);
    ck_assert_int_eq(tick(db, &t, due + HOUR), 0);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 3);
    assert_alert(res, 0, "incident.deadline.approaching", a, "EARLY_WARNING");
    ck_assert_str_eq(PQgetvalue(res, 0, 3), "PENDING");
    assert_alert(res, 1, "incident.deadline.approaching", a, "EARLY_WARNING");
    assert_alert(res, 2, "incident.deadline.missed", a, "EARLY_WARNING");
    PQclear(res);

    /* Down across both leads: only the nearer one fires. */
    char *b = new_incident(&t, aware, 1);
    ck_assert_int_eq(tick(db, &t, due - HOUR / 2), 1);
    ck_assert_int_eq(tick(db, &t, due - HOUR / 2), 0);
    res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 4);
    assert_alert(res, 3, "incident.deadline.approaching", b, "EARLY_WARNING");
    PQclear(res);
    bw_db_close(db);
    free(a);
    free(b);
    free_tenant(&t);
}
END_TEST

typedef struct {
    long long before_due; /* seconds before the early warning is due */
    int fired;            /* alerts a tick then fires */
} lead_tick_t;

/* A tenant with lead times leads (a SQL array) and an incident aware an hour
 * ago: ticks at each moment of ticks fire what each says; then the tenant
 * has n_alerts alerts, the last of type last. */
static void check_leads(const char *leads, const lead_tick_t *ticks, size_t n_ticks, int n_alerts,
                        const char *last)
{
    tenant_t t = new_tenant("Scheduler lead times", leads);
    long long aware = (long long)time(NULL) - HOUR;
    char *a = new_incident(&t, aware, 1);
    long long due = aware + 24 * HOUR;
    bw_db_t *db = scheduler_db();
    for (size_t i = 0; i < n_ticks; i++)
        ck_assert_msg(tick(db, &t, due - ticks[i].before_due) == ticks[i].fired,
                      "lead times %s, %lld s before due: expected %d alert(s)", leads,
                      ticks[i].before_due, ticks[i].fired);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), n_alerts);
    if (n_alerts > 0)
        assert_alert(res, n_alerts - 1, last, a, "EARLY_WARNING");
    PQclear(res);
    bw_db_close(db);
    free(a);
    free_tenant(&t);
}

START_TEST(a_tenants_own_lead_times)
{
    static const lead_tick_t ticks[] = {{6 * HOUR, 0}, {2 * HOUR + 1, 0}, {2 * HOUR, 1}, {HOUR, 0}};
    check_leads("{7200}", ticks, sizeof(ticks) / sizeof(ticks[0]), 1,
                "incident.deadline.approaching");
}
END_TEST

/* Lead times in any order alert from the longest down, each once; no lead
 * times leave only the missed alert. */
START_TEST(lead_times_in_any_order_and_none)
{
    static const lead_tick_t unordered[] = {
        {6 * HOUR + 1, 0}, {6 * HOUR, 1}, {HOUR + 1, 0}, {HOUR, 1}, {0, 1}};
    check_leads("{3600,21600}", unordered, sizeof(unordered) / sizeof(unordered[0]), 3,
                "incident.deadline.missed");
    static const lead_tick_t none[] = {{HOUR, 0}, {1, 0}, {0, 1}};
    check_leads("{}", none, sizeof(none) / sizeof(none[0]), 1, "incident.deadline.missed");
}
END_TEST

START_TEST(deadlines_that_appear_later_are_planned_then)
{
    tenant_t t = new_tenant("Scheduler re-plan", NULL);
    long long aware = (long long)time(NULL) - 2 * HOUR;
    char *a = new_incident(&t, aware, 0);
    bw_db_t *db = scheduler_db();
    /* Not significant: no deadline, nothing to fire however late. */
    ck_assert_int_eq(tick(db, &t, aware + 100 * HOUR), 0);
    /* Reclassified an hour ago: the clock starts then. */
    char at[32], body[256];
    long long reclassified = (long long)time(NULL) - HOUR;
    rfc3339(reclassified, at);
    snprintf(body, sizeof(body),
             "{\"type\":\"RECLASSIFIED\",\"occurredAt\":\"%s\",\"significance\":\"SIGNIFICANT\"}",
             at);
    append(&t, a, body);
    ck_assert_int_eq(due_of(&t, a, "EARLY_WARNING"), reclassified + 24 * HOUR);
    ck_assert_int_eq(tick(db, &t, reclassified + 24 * HOUR - 1), 1); /* approaching, 1 h lead */
    ck_assert_int_eq(tick(db, &t, reclassified + 24 * HOUR), 1);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 2);
    assert_alert(res, 1, "incident.deadline.missed", a, "EARLY_WARNING");
    PQclear(res);
    bw_db_close(db);
    free(a);
    free_tenant(&t);
}
END_TEST

/* PATCH /v1/incident-settings with leads ("[43200]"). */
static void set_leads(const tenant_t *t, const char *leads)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"deadlineAlertLeadSeconds\":%s}", leads);
    json_decref(bw_test_call(t->key, "PATCH", "/v1/incident-settings", body, 200));
}

/* ticks ticks of limit deadlines (re-planned, then claimed) at at, as many
 * as re-planning the tenant takes; the events they emitted. */
static int ticks_at(bw_db_t *db, const tenant_t *t, long long at, int limit, int ticks)
{
    int total = 0;
    for (int i = 0; i < ticks; i++) {
        bw_arena_t *arena = bw_arena_create(0);
        int fired = 0;
        int err = bw_scheduler_tick(db, arena, NULL, at * US, limit, t->id, NULL, &fired, NULL);
        ck_assert_msg(err == 0, "tick: %s", bw_strerror(err));
        bw_arena_destroy(arena);
        total += fired;
    }
    return total;
}

START_TEST(a_change_of_lead_times_applies_to_pending_deadlines)
{
    enum { INCIDENTS = 8 };
    tenant_t t = new_tenant("Scheduler lead change", NULL);
    long long aware = (long long)time(NULL) - HOUR;
    char *ids[INCIDENTS];
    for (int i = 0; i < INCIDENTS; i++)
        ids[i] = new_incident(&t, aware, 1);
    long long due = aware + 24 * HOUR; /* the early warnings */
    bw_db_t *db = scheduler_db();

    /* Longer: 12 h instead of 6 h and 1 h, for the incidents already
     * recorded. Re-planned three deadlines a tick (each incident has five),
     * so the ticks before due - 12 h do the re-planning and fire nothing. */
    set_leads(&t, "[43200]");
    {
        /* A full batch re-planned says more wait: the scheduler's thread
         * ticks again at once instead of after its interval. */
        bw_arena_t *arena = bw_arena_create(0);
        int replanned = 0;
        ck_assert_int_eq(bw_scheduler_tick(db, arena, NULL, (due - 12 * HOUR - 1) * US, 3, t.id,
                                           NULL, NULL, &replanned),
                         0);
        ck_assert_int_eq(replanned, 3);
        bw_arena_destroy(arena);
    }
    ck_assert_int_eq(ticks_at(db, &t, due - 12 * HOUR - 1, 3, 30), 0);
    ck_assert_int_eq(ticks_at(db, &t, due - 12 * HOUR, 3, 10), INCIDENTS);
    ck_assert_int_eq(tick(db, &t, due - 6 * HOUR), 0);
    ck_assert_int_eq(tick(db, &t, due - HOUR), 0);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), INCIDENTS);
    for (int r = 0; r < INCIDENTS; r++) {
        ck_assert_str_eq(PQgetvalue(res, r, 0), "incident.deadline.approaching");
        ck_assert_str_eq(PQgetvalue(res, r, 2), "EARLY_WARNING");
    }
    PQclear(res);

    /* Shorter, after the 12 h alert fired: none at all. The early warnings
     * are still missed once each. */
    set_leads(&t, "[]");
    ck_assert_int_eq(ticks_at(db, &t, due - 1, 3, 30), 0);
    ck_assert_int_eq(ticks_at(db, &t, due, 3, 10), INCIDENTS);
    ck_assert_int_eq(tick(db, &t, due + HOUR), 0);
    res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 2 * INCIDENTS);
    for (int r = INCIDENTS; r < 2 * INCIDENTS; r++)
        assert_alert(res, r, "incident.deadline.missed", PQgetvalue(res, r, 4), "EARLY_WARNING");
    PQclear(res);
    bw_db_close(db);
    for (int i = 0; i < INCIDENTS; i++)
        free(ids[i]);
    free_tenant(&t);
}
END_TEST

START_TEST(the_final_report_a_calendar_month_later_then_the_progress_report)
{
    tenant_t t = new_tenant("Scheduler final report", NULL);
    long long aware = (long long)time(NULL) - 2 * HOUR;
    char *a = new_incident(&t, aware, 1);
    char now[32], body[256];
    rfc3339(time(NULL) - 60, now);
    snprintf(body, sizeof(body),
             "{\"type\":\"INCIDENT_NOTIFICATION_SUBMITTED\",\"occurredAt\":\"%s\"}", now);
    append(&t, a, body);
    /* One calendar month after the notification, in Europe/Berlin: 28 to
     * 31 days, and never the same UTC hour across a DST change. */
    long long final = due_of(&t, a, "FINAL_REPORT"), submitted = parse_time(now);
    ck_assert_msg(final - submitted >= 28 * 24 * HOUR - HOUR &&
                      final - submitted <= 31 * 24 * HOUR + HOUR,
                  "final report %lld s after the notification", final - submitted);
    bw_db_t *db = scheduler_db();
    /* The early warning was met by the notification; nothing fires for it. */
    ck_assert_int_eq(tick(db, &t, final - 6 * HOUR - 1), 0);
    ck_assert_int_eq(tick(db, &t, final - 6 * HOUR), 1);
    ck_assert_int_eq(tick(db, &t, final - HOUR), 1);
    /* Handling has not ended at F: the progress report replaces the final
     * report, and it is the one missed. */
    ck_assert_int_eq(tick(db, &t, final), 1);
    ck_assert_int_eq(tick(db, &t, final + 24 * HOUR), 0);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 3);
    assert_alert(res, 0, "incident.deadline.approaching", a, "FINAL_REPORT");
    assert_alert(res, 1, "incident.deadline.approaching", a, "FINAL_REPORT");
    assert_alert(res, 2, "incident.deadline.missed", a, "PROGRESS_REPORT");
    PQclear(res);
    bw_db_close(db);
    free(a);
    free_tenant(&t);
}
END_TEST

/* One of two racing schedulers: ticks of 3 alerts until none is left. */
typedef struct racer {
    const tenant_t *t;
    long long at;
    int fired, ticks, err;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    bw_db_t *db = NULL;
    r->err = bw_scheduler_open(bw_test_env("BULWARK_TEST_INCIDENTS_DATABASE_URL"), &db);
    for (int claimed = 1; r->err == 0 && claimed > 0; r->ticks++) {
        bw_arena_t *arena = bw_arena_create(0);
        int fired = 0;
        r->err =
            bw_scheduler_tick(db, arena, NULL, r->at * US, 3, r->t->id, &claimed, &fired, NULL);
        r->fired += fired;
        bw_arena_destroy(arena);
    }
    bw_db_close(db);
    return NULL;
}

START_TEST(racing_schedulers_fire_each_alert_once)
{
    enum { INCIDENTS = 30 };
    tenant_t t = new_tenant("Scheduler race", NULL);
    long long aware = (long long)time(NULL) - HOUR;
    char *ids[INCIDENTS];
    for (int i = 0; i < INCIDENTS; i++)
        ids[i] = new_incident(&t, aware, 1);
    racer_t racers[2] = {{&t, aware + 80 * HOUR, 0, 0, 0}, {&t, aware + 80 * HOUR, 0, 0, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(racers[i].err == 0, "racer %d: %s", i, bw_strerror(racers[i].err));
    /* Two deadlines missed per incident, each fired by one of them. */
    ck_assert_int_eq(racers[0].fired + racers[1].fired, 2 * INCIDENTS);
    PGresult *res = alerts_of(&t);
    ck_assert_int_eq(PQntuples(res), 2 * INCIDENTS);
    for (int i = 0; i < INCIDENTS; i++) {
        int ew = 0, in = 0;
        for (int r = 0; r < PQntuples(res); r++) {
            if (strcmp(PQgetvalue(res, r, 4), ids[i]) != 0)
                continue;
            ck_assert_str_eq(PQgetvalue(res, r, 0), "incident.deadline.missed");
            ew += strcmp(PQgetvalue(res, r, 2), "EARLY_WARNING") == 0;
            in += strcmp(PQgetvalue(res, r, 2), "INCIDENT_NOTIFICATION") == 0;
        }
        ck_assert_msg(ew == 1 && in == 1, "incident %d: %d early warnings, %d notifications", i, ew,
                      in);
        free(ids[i]);
    }
    PQclear(res);
    free_tenant(&t);
}
END_TEST

Suite *suite_scheduler(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("scheduler");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, catch_up_fires_what_was_missed_once_and_not_what_was_met);
    tcase_add_test(tc, approaching_at_each_lead_once);
    tcase_add_test(tc, a_tenants_own_lead_times);
    tcase_add_test(tc, lead_times_in_any_order_and_none);
    tcase_add_test(tc, deadlines_that_appear_later_are_planned_then);
    tcase_add_test(tc, a_change_of_lead_times_applies_to_pending_deadlines);
    tcase_add_test(tc, the_final_report_a_calendar_month_later_then_the_progress_report);
    tcase_add_test(tc, racing_schedulers_fire_each_alert_once);
    suite_add_tcase(s, tc);
    return s;
}
