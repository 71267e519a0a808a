/*
 * Observability end to end: a client's W3C traceparent comes back in
 * Trace-Id, reaches the audit event (GET /v1/audit-events shows traceId)
 * and the JSON log lines of the gateway and of the service that did the
 * work; a malformed one starts a new trace and never fails the request;
 * every service's /metrics (its own listener) counts the calls it served.
 * The test stack runs with BULWARK_LOG_FORMAT=json (deploy/local/test.sh)
 * and tells where the logs are (BULWARK_TEST_LOG_DIR) and each service's
 * metrics address (BULWARK_TEST_<SERVICE>_METRICS_ADDR).
 */
#include "e2e.h"

#include "log.h"
#include "trace.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* POST /v1/entities with the extra header lines; returns the entity's id
 * (caller frees) and fills *r (caller frees). */
static char *create_entity(const tenant_t *t, const char *const *headers, bw_test_resp_t *r)
{
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t->key,
                                  "{\"name\":\"Traced SE\",\"timeZone\":\"Europe/Berlin\"}",
                                  headers, r),
                     0);
    ck_assert_msg(r->status == 201, "status %ld: %s", r->status, r->body);
    return strdup(jstr(r->json, "id"));
}

static int is_trace_id(const char *s)
{
    if (s == NULL || strlen(s) != 32 || strspn(s, "0123456789abcdef") != 32)
        return 0;
    return strspn(s, "0") != 32;
}

/* log_line, waiting for it: a process writes its request lines in batches,
 * at the latest BW_LOG_HOLD_MS after the request (common/log.c). */
static json_t *log_line(const char *process, const char *needle, const char *key, const char *value)
{
    json_t *found = NULL;
    for (int i = 0; i < 50 && found == NULL; i++) {
        if (i > 0)
            usleep(BW_LOG_HOLD_MS * 1000);
        found = log_line_since(process, needle, key, value, NULL);
    }
    return found;
}

START_TEST(traceparent_reaches_reply_audit_and_logs)
{
    tenant_t t = new_tenant("Traced");
    bw_trace_t trace;
    ck_assert_int_eq(bw_trace_start(&trace), 0);
    char header[128];
    snprintf(header, sizeof(header), "traceparent: 00-%s-%s-01", trace.trace_id, trace.parent_id);
    const char *headers[] = {header, NULL};
    bw_test_resp_t r;
    char *id = create_entity(&t, headers, &r);
    ck_assert_str_eq(bw_test_header(&r, "Trace-Id"), trace.trace_id);
    char *request_id = strdup(bw_test_header(&r, "X-Request-Id"));
    bw_test_resp_free(&r);

    /* the audit event of the write */
    char path[256];
    snprintf(path, sizeof(path), "/v1/audit-events?resource=%s", id);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *events = json_object_get(r.json, "auditEvents");
    ck_assert_uint_eq(json_array_size(events), 1);
    json_t *event = json_array_get(events, 0);
    ck_assert_str_eq(jstr(event, "action"), "scoping.CreateEntity");
    ck_assert_str_eq(jstr(event, "traceId"), trace.trace_id);
    ck_assert_str_eq(jstr(event, "requestId"), request_id);
    bw_test_resp_free(&r);

    /* the service's line about the call, and the gateway's about the request */
    json_t *line = log_line("scoping", trace.trace_id, "method",
                            "/bulwark.scoping.v1.ScopingService/CreateEntity");
    ck_assert_msg(line != NULL, "no scoping log line with trace %s", trace.trace_id);
    ck_assert_str_eq(jstr(line, "trace_id"), trace.trace_id);
    ck_assert_str_eq(jstr(line, "request_id"), request_id);
    ck_assert_str_eq(jstr(line, "tenant"), t.id);
    ck_assert_str_eq(jstr(line, "service"), "scoping");
    ck_assert_str_eq(jstr(line, "status"), "OK");
    ck_assert_str_eq(jstr(line, "level"), "info");
    ck_assert(json_is_integer(json_object_get(line, "duration_us")));
    ck_assert_int_ge(json_integer_value(json_object_get(line, "duration_us")), 0);
    ck_assert_uint_eq(strlen(jstr(line, "time")), 27); /* 2026-12-03T10:42:34.123456Z */
    json_decref(line);
    line = log_line("gateway", trace.trace_id, "method", "POST /v1/entities");
    ck_assert_msg(line != NULL, "no gateway log line with trace %s", trace.trace_id);
    ck_assert_str_eq(jstr(line, "status"), "201");
    ck_assert_str_eq(jstr(line, "request_id"), request_id);
    json_decref(line);

    free(request_id);
    free(id);
    free_tenant(&t);
}
END_TEST

START_TEST(malformed_traceparent_starts_a_new_trace)
{
    tenant_t t = new_tenant("Retraced");
    static const char *const bad[] = {
        "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "traceparent: ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "traceparent: garbage",
        NULL, /* none at all */
    };
    char seen[6][33];
    for (size_t i = 0; i < 6; i++) {
        const char *headers[] = {bad[i], NULL};
        bw_test_resp_t r;
        char *id = create_entity(&t, bad[i] != NULL ? headers : NULL, &r);
        const char *trace = bw_test_header(&r, "Trace-Id");
        ck_assert_msg(is_trace_id(trace), "Trace-Id %s for %s", trace ? trace : "(none)",
                      bad[i] ? bad[i] : "no traceparent");
        ck_assert_str_ne(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        snprintf(seen[i], sizeof(seen[i]), "%s", trace);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
        bw_test_resp_free(&r);
        free(id);
    }
    /* Two traceparent fields are no trace either. */
    const char *twice[] = {"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                           "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                           NULL};
    bw_test_resp_t r;
    char *id = create_entity(&t, twice, &r);
    ck_assert_str_ne(bw_test_header(&r, "Trace-Id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    bw_test_resp_free(&r);
    free(id);
    free_tenant(&t);
}
END_TEST

START_TEST(every_service_counts_its_calls)
{
    tenant_t t = new_tenant("Metered");
    static const struct {
        const char *service;
        const char *method, *path, *grpc;
    } calls[] = {
        {"scoping", "POST", "/v1/entities", "/bulwark.scoping.v1.ScopingService/CreateEntity"},
        {"crosswalk", "GET", "/v1/frameworks",
         "/bulwark.crosswalk.v1.CrosswalkService/ListFrameworks"},
        {"incidents", "GET", "/v1/incidents",
         "/bulwark.incidents.v1.IncidentsService/ListIncidents"},
        {"attestations", "GET", "/v1/attestation-campaigns",
         "/bulwark.attestations.v1.AttestationService/ListCampaigns"},
        {"integrations", "GET", "/v1/webhook-endpoints",
         "/bulwark.integrations.v1.IntegrationsService/ListWebhookEndpoints"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        char counter[300], count[300];
        snprintf(counter, sizeof(counter),
                 "bulwark_grpc_server_calls_total{method=\"%s\",code=\"OK\"}", calls[i].grpc);
        snprintf(count, sizeof(count),
                 "bulwark_grpc_server_call_duration_seconds_count{method=\"%s\"}", calls[i].grpc);
        char *before = bw_test_scrape(calls[i].service);
        bw_test_resp_t r;
        int post = strcmp(calls[i].method, "POST") == 0;
        ck_assert_int_eq(
            bw_test_http(calls[i].method, calls[i].path, t.key,
                         post ? "{\"name\":\"Metered SE\",\"timeZone\":\"UTC\"}" : NULL, NULL, &r),
            0);
        ck_assert_msg(r.status == 200 || r.status == 201, "%s %s: %ld %s", calls[i].method,
                      calls[i].path, r.status, r.body);
        bw_test_resp_free(&r);
        char *after = bw_test_scrape(calls[i].service);
        ck_assert_msg(bw_test_sample(after, counter) >= bw_test_sample(before, counter) + 1,
                      "%s did not grow: %s", counter, after);
        ck_assert_msg(bw_test_sample(after, count) >= bw_test_sample(before, count) + 1,
                      "%s did not grow", count);
        /* the pool and the statements */
        ck_assert_ptr_nonnull(strstr(after, "bulwark_db_connections{state=\"idle\"} "));
        ck_assert_ptr_nonnull(strstr(after, "bulwark_db_connections{state=\"in_use\"} "));
        ck_assert_msg(bw_test_sample(after, "bulwark_db_statement_duration_seconds_count") > 0,
                      "no statement timed by %s", calls[i].service);
        /* tenant ids never become labels */
        ck_assert_ptr_null(strstr(after, t.id));
        free(before);
        free(after);
    }
    char *integrations = bw_test_scrape("integrations");
    ck_assert_ptr_nonnull(strstr(integrations, "\nbulwark_outbox_unrelayed_events "));
    ck_assert_ptr_nonnull(strstr(integrations, "\nbulwark_outbox_oldest_unrelayed_age_seconds "));
    free(integrations);

    /* the gateway's own /metrics shows the tenancy RPCs it serves */
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/metrics", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(
        strstr(r.body, "bulwark_grpc_server_calls_total{method=\"/bulwark.tenancy.v1."));
    ck_assert_ptr_nonnull(strstr(r.body, "bulwark_http_requests_total{"));
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(metrics_listener_serves_nothing_else)
{
    char env[64], base[128];
    snprintf(env, sizeof(env), "BULWARK_TEST_SCOPING_METRICS_ADDR");
    snprintf(base, sizeof(base), "http://%s", bw_test_env(env));
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http_at(base, "GET", "/v1/entities", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 404);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http_at(base, "POST", "/metrics", NULL, "{}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 405);
    bw_test_resp_free(&r);
}
END_TEST

/* A process pinned to a CPU of its own (deploy/local/lib.sh, bw_cpu_pin)
 * runs every thread under SCHED_BATCH, so that a thread waking another of
 * its process does not preempt it; the others keep the default policy.
 * With two CPUs or more and pinning not off, the gateway is pinned. */
START_TEST(pinned_processes_run_their_threads_in_turn)
{
    const char *processes[] = {"gateway",   "scoping",      "crosswalk",
                               "incidents", "attestations", "integrations"};
    int gateway_pinned = 0;
    for (size_t i = 0; i < sizeof(processes) / sizeof(processes[0]); i++) {
        pid_t pid = process_pid(processes[i]);
        ck_assert_msg(pid > 0, "no pid of %s in BULWARK_TEST_RUN_DIR", processes[i]);
        cpu_set_t set;
        ck_assert_int_eq(sched_getaffinity(pid, sizeof(set), &set), 0);
        int pinned = CPU_COUNT(&set) == 1;
        if (i == 0)
            gateway_pinned = pinned;
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%ld/task", (long)pid);
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        int threads = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            int policy = sched_getscheduler((pid_t)atol(e->d_name));
            if (policy < 0)
                continue; /* the thread has ended */
            threads++;
            ck_assert_msg(policy == (pinned ? SCHED_BATCH : SCHED_OTHER),
                          "%s (%s) thread %s has policy %d", processes[i],
                          pinned ? "pinned" : "not pinned", e->d_name, policy);
        }
        closedir(d);
        ck_assert_int_gt(threads, 1);
    }
    cpu_set_t mine;
    ck_assert_int_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
    const char *pin = getenv("BULWARK_PIN_CPUS");
    if (CPU_COUNT(&mine) >= 2 && (pin == NULL || strcmp(pin, "off") != 0))
        ck_assert_msg(gateway_pinned, "the gateway is not on a CPU of its own");
}
END_TEST

Suite *suite_observe(void)
{
    Suite *s = suite_create("observe");
    TCase *tc = tcase_create("observe");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, traceparent_reaches_reply_audit_and_logs);
    tcase_add_test(tc, malformed_traceparent_starts_a_new_trace);
    tcase_add_test(tc, every_service_counts_its_calls);
    tcase_add_test(tc, metrics_listener_serves_nothing_else);
    tcase_add_test(tc, pinned_processes_run_their_threads_in_turn);
    suite_add_tcase(s, tc);
    return s;
}
