/*
 * The tenant lifecycle over HTTP, as the platform operator sees it: the list
 * of tenants with their state and usage; suspension, which refuses the
 * tenant's keys (403 tenant-suspended) at once and keeps its data, and
 * resumption; the export of every row, each file's SHA-256 checked and every
 * tenant table of the database (read from the catalogue, as test_rls.c
 * does) present with as many rows as the database holds; and the deletion,
 * proven by counting the tenant's rows in every such table before and after,
 * with its certificate and its audit row in the operator's scope. A tenant
 * key on an operator route is a 403; bad input is a 4xx naming the field.
 */
#include "e2e.h"

#include "ids.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NIL "00000000-0000-0000-0000-000000000000"

/* Tables with a tenant_id column that hold no row of a tenant by design. */
static const struct {
    const char *table, *why;
} no_tenant_rows[] = {
    {"tenancy.deletion_certificates",
     "the operator's records: tenant_id is the nil UUID, the tenant is in deleted_tenant"},
};

static int has_no_tenant_rows(const char *table)
{
    for (size_t i = 0; i < sizeof(no_tenant_rows) / sizeof(no_tenant_rows[0]); i++)
        if (strcmp(no_tenant_rows[i].table, table) == 0)
            return 1;
    return 0;
}

static const char *op(void)
{
    return bw_test_env("BULWARK_TEST_OPERATOR_TOKEN");
}

/* One request, waiting out the test stack's rate limit; the reply in *r. */
static void http(bw_test_resp_t *r, const char *method, const char *key, const char *body,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void http(bw_test_resp_t *r, const char *method, const char *key, const char *body,
                 const char *fmt, ...)
{
    char path[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    for (int attempt = 0; attempt < 20; attempt++) {
        ck_assert_int_eq(bw_test_http(method, path, key, body, NULL, r), 0);
        if (r->status != 429)
            return;
        bw_test_resp_free(r);
        sleep(1);
    }
    ck_abort_msg("%s %s stayed rate limited", method, path);
}

/* POSTs and returns the new resource's id (caller frees). */
static char *create(const char *key, const char *path, const char *body)
{
    bw_test_resp_t r;
    http(&r, "POST", key, body, "%s", path);
    ck_assert_msg(r.status == 201 || r.status == 200, "POST %s: %ld %s", path, r.status, r.body);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    return id;
}

static void rfc3339(long offset, char out[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Every tenant table of the database, by the catalogue (caller clears). */
static PGresult *tenant_tables(PGconn *super)
{
    return bw_test_sql(super,
                       "SELECT format('%s.%s', n.nspname, c.relname) FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace"
                       " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
                       "   AND NOT a.attisdropped"
                       " WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^(pg_|bw_itest_)'"
                       "   AND n.nspname NOT IN ('information_schema', 'public') ORDER BY 1");
}

static long rows_of(PGconn *super, const char *table, const char *tenant)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = $1", table);
    PGresult *res = bw_test_sql(super, sql, tenant);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* Waits until the gateway has written the tenant's request counts (the test
 * stack flushes every second). */
static void wait_for_usage(PGconn *super, const char *tenant)
{
    for (int i = 0; i < 100; i++) {
        if (rows_of(super, "tenancy.request_counts", tenant) > 0)
            return;
        usleep(100000);
    }
    ck_abort_msg("the gateway wrote no request count of tenant %s in 10 s", tenant);
}

/* A tenant with a row in every table a tenant fills: keys, requests, audit
 * events and an idempotency record; an entity; a mapping override and a
 * Statement of Applicability row (with its history); an incident with an
 * event and its deadlines; board members, a campaign and an attestation
 * (its chain head); a webhook endpoint with a delivery; a Jira connection
 * with an issue received and a ticket job. The admin key into *key. */
static char *populated_tenant(const char *name, char **key)
{
    char *tenant = bw_test_create_tenant(name, key);
    char body[512], path[256], at[32];
    bw_test_resp_t r;
    free(create(*key, "/v1/api-keys", "{\"name\":\"reader\",\"role\":\"viewer\"}"));
    const char *headers[] = {"Idempotency-Key: lifecycle-populate", NULL};
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", *key,
                                  "{\"name\":\"Doomed Energy AG\",\"timeZone\":\"Europe/Berlin\"}",
                                  headers, &r),
                     0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *entity = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    /* An entity deleted through the API leaves a tombstone. */
    char *gone = create(*key, "/v1/entities", "{\"name\":\"Gone AG\",\"timeZone\":\"UTC\"}");
    http(&r, "DELETE", *key, NULL, "/v1/entities/%s", gone);
    ck_assert_msg(r.status == 204, "%s", r.body);
    bw_test_resp_free(&r);
    free(gone);
    free(create(*key, "/v1/mapping-overrides",
                "{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.8.24\","
                "\"targetFramework\":\"nis2-ir-2024-2690\",\"targetRef\":\"9.2\","
                "\"relationship\":\"EQUAL\",\"rationale\":\"key management covers 9.2\"}"));
    snprintf(path, sizeof(path), "/v1/entities/%s/controls/A.5.1", entity);
    http(&r, "PUT", *key, "{\"applicable\":true,\"status\":\"PLANNED\"}", "%s", path);
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
    http(&r, "PATCH", *key, "{\"deadlineAlertLeadSeconds\":[7200]}", "/v1/incident-settings");
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
    rfc3339(-3600, at);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Outage\",\"awareAt\":\"%s\",\"significant\":true,"
             "\"personalDataBreach\":true}",
             entity, at);
    /* The breach's GDPR notification is owed whatever the entity's regime:
     * a pending deadline, so deadline alerts are planned. */
    char *incident = create(*key, "/v1/incidents", body);
    rfc3339(-1800, at);
    snprintf(body, sizeof(body), "{\"type\":\"NOTE\",\"note\":\"contained\",\"occurredAt\":\"%s\"}",
             at);
    snprintf(path, sizeof(path), "/v1/incidents/%s/events", incident);
    free(create(*key, path, body));
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", entity);
    char *member = create(*key, path, "{\"name\":\"Ann\",\"since\":\"2020-01-01T00:00:00Z\"}");
    rfc3339(86400, at);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"Policy v2.\","
             "\"dueAt\":\"%s\",\"validForDays\":365}",
             entity, at);
    char *campaign = create(*key, "/v1/attestation-campaigns", body);
    snprintf(path, sizeof(path), "/v1/attestation-campaigns/%s/attestations", campaign);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", member);
    free(create(*key, path, body));
    /* Integrations: a webhook endpoint (a port where nobody listens, at the
     * address the test stack lets webhooks reach), an event in the outbox
     * and its delivery with a failed attempt. The writes above emitted
     * their events; once the relay has fanned them out (to nobody yet), the
     * endpoint is created and one more event appended as a producer would,
     * and the relay and the deliverer do the rest. Then the endpoint is
     * disabled, so that no retry adds a row while the tests count them. */
    bw_test_wait_relayed(tenant);
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    snprintf(body, sizeof(body),
             "{\"url\":\"http://%s:9/doomed\",\"eventTypes\":[\"incident.created\"]}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"));
    char *endpoint = create(*key, "/v1/webhook-endpoints", body);
    char *event_id = bw_test_uuid_str();
    snprintf(path, sizeof(path), "incidents/%s", incident);
    bw_test_exec(db,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "VALUES ($1, $2, 'incident.created', $3, '{}')",
                 tenant, event_id, path);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries", endpoint);
    /* Twice: the first attempt is kept on the delivery's row, the second
     * is a row of integrations.attempts. */
    int attempted = 0;
    for (int i = 0; i < 400 && !attempted; i++) {
        http(&r, "GET", *key, NULL, "%s", path);
        json_t *list = json_object_get(r.json, "deliveries");
        for (size_t k = 0; k < json_array_size(list); k++)
            attempted |= json_array_size(json_object_get(json_array_get(list, k), "attempts")) > 1;
        bw_test_resp_free(&r);
        if (!attempted)
            usleep(100000);
    }
    ck_assert_msg(attempted,
                  "the webhook delivery of the populated tenant was not attempted twice");
    /* Disabled, its delivery waits (PAUSED) instead of being attempted
     * every second, so that the tenant's row counts hold still; an attempt
     * in flight is let finish. */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", endpoint);
    http(&r, "PATCH", *key, "{\"disabled\":true}", "%s", path);
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries", endpoint);
    size_t last = 0;
    for (int i = 0, still = 0; i < 50 && still < 3; i++) {
        http(&r, "GET", *key, NULL, "%s", path);
        json_t *d = json_array_get(json_object_get(r.json, "deliveries"), 0);
        size_t n = json_array_size(json_object_get(d, "attempts"));
        still = n == last ? still + 1 : 0;
        last = n;
        bw_test_resp_free(&r);
        usleep(200000);
    }
    PQfinish(db);
    /* A Jira connection: an issue received (its incident, link, receipt and
     * log entry) and a ticket job, made from an event whose incident cannot
     * be read, so that it fails at once, logged, and adds no rows later. */
    snprintf(body, sizeof(body),
             "{\"system\":\"JIRA\",\"name\":\"Doomed Jira\",\"baseUrl\":\"http://%s:9\","
             "\"entity\":\"%s\",\"projectKey\":\"DOOM\",\"createIssues\":true,"
             "\"credentials\":{\"email\":\"a@example.com\",\"apiToken\":\"t\"}}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"), entity);
    http(&r, "POST", *key, body, "/v1/integrations/connections");
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *connection = strdup(jstr(r.json, "id"));
    char *inbound = strdup(jstr(r.json, "inboundSecret"));
    bw_test_resp_free(&r);
    const char *issue = "{\"webhookEvent\":\"jira:issue_created\",\"issue\":{\"id\":\"1\","
                        "\"key\":\"DOOM-1\",\"fields\":{\"summary\":\"Doom\"}}}";
    unsigned char mac[32];
    unsigned int mac_len = 0;
    char signature[96] = "X-Hub-Signature: sha256=";
    HMAC(EVP_sha256(), inbound, (int)strlen(inbound), (const unsigned char *)issue, strlen(issue),
         mac, &mac_len);
    for (int i = 0; i < 32; i++)
        snprintf(signature + 24 + 2 * i, 3, "%02x", mac[i]);
    const char *signed_headers[] = {signature, "X-Atlassian-Webhook-Identifier: doom-1", NULL};
    snprintf(path, sizeof(path), "/v1/integrations/jira/%s/events", connection);
    ck_assert_int_eq(bw_test_http("POST", path, NULL, issue, signed_headers, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
    db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    char *job_event = bw_test_uuid_str();
    snprintf(path, sizeof(path), "incidents/%s", incident);
    bw_test_exec(db,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "VALUES ($1, $2, 'incident.updated', $3, '[]')",
                 tenant, job_event, path);
    PQfinish(db);
    snprintf(path, sizeof(path), "/v1/integrations/connections/%s/log", connection);
    int failed = 0;
    for (int i = 0; i < 300 && !failed; i++) {
        http(&r, "GET", *key, NULL, "%s", path);
        json_t *entries = json_object_get(r.json, "entries");
        for (size_t k = 0; k < json_array_size(entries); k++)
            failed |= strcmp(jstr(json_array_get(entries, k), "direction"), "outbound") == 0;
        bw_test_resp_free(&r);
        if (!failed)
            usleep(100000);
    }
    ck_assert_msg(failed, "the ticket job of the populated tenant never ran");
    free(job_event);
    free(connection);
    free(inbound);
    free(endpoint);
    free(event_id);
    free(entity);
    free(incident);
    free(member);
    free(campaign);
    return tenant;
}

static void suspend(const char *tenant)
{
    bw_test_resp_t r;
    http(&r, "POST", op(), "{\"reason\":\"leaving\"}", "/v1/tenants/%s:suspend", tenant);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "state"), "SUSPENDED");
    bw_test_resp_free(&r);
}

/* The tenant's entry in the operator's list (caller decrefs), NULL when
 * absent: tenants are listed newest first, so a tenant this suite just made
 * is on the first page. */
static json_t *listed(const char *tenant)
{
    bw_test_resp_t r;
    http(&r, "GET", op(), NULL, "/v1/tenants?pageSize=500");
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *found = NULL, *items = json_object_get(r.json, "tenants");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(jstr(json_array_get(items, i), "id"), tenant) == 0)
            found = json_incref(json_array_get(items, i));
    bw_test_resp_free(&r);
    return found;
}

START_TEST(operator_routes_refuse_tenant_keys_and_bad_input)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Operator routes", &key);
    const char *routes[][2] = {{"GET", "/v1/tenants"},
                               {"POST", "/v1/tenants/%s:suspend"},
                               {"POST", "/v1/tenants/%s:resume"},
                               {"GET", "/v1/tenants/%s:export"},
                               {"DELETE", "/v1/tenants/%s"}};
    bw_test_resp_t r;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), routes[i][1], tenant);
        const char *body = strcmp(routes[i][0], "POST") == 0 ? "{}" : NULL;
        ck_assert_int_eq(bw_test_http(routes[i][0], path, key, body, NULL, &r), 0);
        ck_assert_problem(&r, 403, NULL);
        ck_assert_str_eq(jstr(r.json, "reason"), "OPERATOR_ONLY");
        bw_test_resp_free(&r);
        ck_assert_int_eq(bw_test_http(routes[i][0], path, NULL, body, NULL, &r), 0);
        ck_assert_problem(&r, 401, NULL);
        bw_test_resp_free(&r);
    }
    /* The tenant is untouched. */
    json_t *t = listed(tenant);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(jstr(t, "state"), "ACTIVE");
    json_decref(t);

    /* Bad input names the field. */
    http(&r, "POST", op(), "{}", "/v1/tenants/not-a-uuid:suspend");
    ck_assert_problem(&r, 400, "id");
    bw_test_resp_free(&r);
    http(&r, "DELETE", op(), NULL, "/v1/tenants/%s", "0193a2b4-zzzz-7000-8000-000000000000");
    ck_assert_problem(&r, 400, "id");
    bw_test_resp_free(&r);
    http(&r, "GET", op(), NULL, "/v1/tenants/%s:export", NIL);
    ck_assert_problem(&r, 400, "id");
    bw_test_resp_free(&r);
    char reason[700];
    snprintf(reason, sizeof(reason), "{\"reason\":\"%0600d\"}", 0);
    http(&r, "POST", op(), reason, "/v1/tenants/%s:suspend", tenant);
    ck_assert_problem(&r, 400, "reason");
    bw_test_resp_free(&r);
    http(&r, "POST", op(), "{\"reasons\":\"x\"}", "/v1/tenants/%s:suspend", tenant);
    ck_assert_problem(&r, 400, "reasons");
    bw_test_resp_free(&r);
    http(&r, "GET", op(), NULL, "/v1/tenants?pageSize=-1");
    ck_assert_problem(&r, 400, "pageSize");
    bw_test_resp_free(&r);
    http(&r, "GET", op(), NULL, "/v1/tenants?pageToken=forged");
    ck_assert_problem(&r, 400, "pageToken");
    bw_test_resp_free(&r);
    http(&r, "GET", op(), NULL, "/v1/tenants/%s:export?pageToken=forged", tenant);
    ck_assert_problem(&r, 400, "pageToken");
    bw_test_resp_free(&r);
    /* A tenant that does not exist. */
    char *ghost = bw_test_uuid_str();
    const char *missing[][2] = {{"POST", "/v1/tenants/%s:suspend"},
                                {"POST", "/v1/tenants/%s:resume"},
                                {"GET", "/v1/tenants/%s:export"},
                                {"DELETE", "/v1/tenants/%s"}};
    for (size_t i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof(path), missing[i][1], ghost);
        http(&r, missing[i][0], op(), strcmp(missing[i][0], "POST") == 0 ? "{}" : NULL, "%s", path);
        ck_assert_problem(&r, 404, NULL);
        ck_assert_str_eq(jstr(r.json, "reason"), "TENANT_NOT_FOUND");
        bw_test_resp_free(&r);
    }
    free(ghost);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(the_list_shows_state_and_usage)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Usage Co", &key);
    free(create(key, "/v1/entities", "{\"name\":\"One\",\"timeZone\":\"UTC\"}"));
    char *entity = create(key, "/v1/entities", "{\"name\":\"Two\",\"timeZone\":\"UTC\"}");
    char body[256], at[32];
    rfc3339(-600, at);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Leak\",\"awareAt\":\"%s\",\"significant\":false}",
             entity, at);
    free(create(key, "/v1/incidents", body));
    bw_test_resp_t r;
    for (int i = 0; i < 3; i++) {
        http(&r, "GET", key, NULL, "/v1/entities");
        bw_test_resp_free(&r);
    }
    /* 3 writes and 3 reads, counted by the gateway and written within a
     * second or so. */
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    json_t *t = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(t);
        t = listed(tenant);
        ck_assert_ptr_nonnull(t);
        if (strcmp(jstr(json_object_get(t, "usage"), "requestsLast24h"), "6") == 0)
            break;
        usleep(100000);
    }
    json_t *usage = json_object_get(t, "usage");
    ck_assert_str_eq(jstr(usage, "entities"), "2");
    ck_assert_str_eq(jstr(usage, "incidents"), "1");
    ck_assert_str_eq(jstr(usage, "requestsLast24h"), "6");
    ck_assert_str_eq(jstr(t, "name"), "Usage Co");
    ck_assert_str_eq(jstr(t, "state"), "ACTIVE");
    json_decref(t);
    PQfinish(super);

    /* Pages: newest first, keyset on the id. */
    http(&r, "GET", op(), NULL, "/v1/tenants?pageSize=1");
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "tenants")), 1);
    char *first = strdup(jstr(json_array_get(json_object_get(r.json, "tenants"), 0), "id"));
    char *token = strdup(jstr(r.json, "nextPageToken"));
    ck_assert_str_ne(token, "");
    bw_test_resp_free(&r);
    http(&r, "GET", op(), NULL, "/v1/tenants?pageSize=1&pageToken=%s", token);
    ck_assert_int_eq(r.status, 200);
    const char *second = jstr(json_array_get(json_object_get(r.json, "tenants"), 0), "id");
    ck_assert_msg(strcmp(second, first) < 0, "page 2 (%s) is not older than page 1 (%s)", second,
                  first);
    bw_test_resp_free(&r);
    free(first);
    free(token);
    free(entity);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(suspension_refuses_credentials_at_once_and_keeps_data)
{
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Suspended Co", &admin);
    char *viewer_id = NULL;
    bw_test_resp_t r;
    http(&r, "POST", admin, "{\"name\":\"reader\",\"role\":\"viewer\"}", "/v1/api-keys");
    ck_assert_int_eq(r.status, 201);
    char *viewer = strdup(jstr(r.json, "secret"));
    viewer_id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    char *entity = create(admin, "/v1/entities", "{\"name\":\"Kept\",\"timeZone\":\"UTC\"}");
    http(&r, "GET", viewer, NULL, "/v1/entities/%s", entity);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);

    /* Every gateway listens for changed tenants, as this connection does. */
    PGconn *listener = bw_test_pg(bw_test_process("gateway")->url_env);
    bw_test_exec(listener, "LISTEN bulwark_tenant_changed");
    http(&r, "POST", op(), "{\"reason\":\"invoice overdue\"}", "/v1/tenants/%s:suspend", tenant);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "state"), "SUSPENDED");
    ck_assert_str_eq(jstr(r.json, "suspendReason"), "invoice overdue");
    ck_assert_str_ne(jstr(r.json, "suspendTime"), "");
    char *etag = strdup(jstr(r.json, "etag"));
    bw_test_resp_free(&r);
    /* At once, reads and writes, with every key (both were cached). */
    const char *keys[] = {admin, viewer};
    for (size_t i = 0; i < 2; i++) {
        http(&r, "GET", keys[i], NULL, "/v1/entities/%s", entity);
        ck_assert_problem(&r, 403, NULL);
        ck_assert_str_eq(jstr(r.json, "type"), "urn:bulwark:problem:tenant-suspended");
        ck_assert_str_eq(jstr(r.json, "reason"), "TENANT_SUSPENDED");
        bw_test_resp_free(&r);
    }
    http(&r, "POST", admin, "{\"name\":\"New\",\"timeZone\":\"UTC\"}", "/v1/entities");
    ck_assert_problem(&r, 403, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "TENANT_SUSPENDED");
    bw_test_resp_free(&r);
    /* The other gateways were told, once the suspension was committed. */
    int told = 0;
    for (int i = 0; i < 50 && !told; i++) {
        ck_assert_int_eq(PQconsumeInput(listener), 1);
        PGnotify *note;
        while ((note = PQnotifies(listener)) != NULL) {
            told |= strcmp(note->extra, tenant) == 0;
            PQfreemem(note);
        }
        if (!told)
            usleep(20000);
    }
    ck_assert_msg(told, "no NOTIFY bulwark_tenant_changed for the suspended tenant");
    PQfinish(listener);
    http(&r, "DELETE", admin, NULL, "/v1/api-keys/%s", viewer_id);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    /* Suspending again changes nothing; the list says so. */
    http(&r, "POST", op(), "{}", "/v1/tenants/%s:suspend", tenant);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "etag"), etag);
    ck_assert_str_eq(jstr(r.json, "suspendReason"), "invoice overdue");
    bw_test_resp_free(&r);
    json_t *t = listed(tenant);
    ck_assert_str_eq(jstr(t, "state"), "SUSPENDED");
    json_decref(t);

    /* Resumed: the same keys work and the data is there. */
    http(&r, "POST", op(), "{}", "/v1/tenants/%s:resume", tenant);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "state"), "ACTIVE");
    ck_assert_ptr_null(json_object_get(r.json, "suspendTime"));
    ck_assert_str_eq(jstr(r.json, "suspendReason"), "");
    bw_test_resp_free(&r);
    for (size_t i = 0; i < 2; i++) {
        http(&r, "GET", keys[i], NULL, "/v1/entities/%s", entity);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(jstr(r.json, "name"), "Kept");
        bw_test_resp_free(&r);
    }
    /* Both changes are in the operator's audit trail, not the tenant's. */
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    PGresult *res = bw_test_sql(super,
                                "SELECT string_agg(action, ',' ORDER BY event_id) FROM "
                                "bulwark.audit_events WHERE tenant_id = $1 AND resource = $2",
                                NIL, tenant);
    ck_assert_str_eq(PQgetvalue(res, 0, 0),
                     "tenancy.SuspendTenant,tenancy.SuspendTenant,tenancy.ResumeTenant");
    PQclear(res);
    PQfinish(super);
    free(etag);
    free(entity);
    free(viewer);
    free(viewer_id);
    free(tenant);
    free(admin);
}
END_TEST

/* Every page of tenant's export into files (name -> content) and tables
 * (table -> rows); each file's checksum and lines checked on the way. */
static void export_all(const char *tenant, json_t *files, json_t *tables)
{
    char token[2048] = "";
    int pages = 0;
    do {
        bw_test_resp_t r;
        /* Tokens are base64url: nothing to escape. */
        http(&r, "GET", op(), NULL, "/v1/tenants/%s:export%s%s", tenant,
             token[0] != '\0' ? "?pageToken=" : "", token);
        ck_assert_msg(r.status == 200, "%s", r.body);
        ck_assert_str_eq(jstr(r.json, "tenant"), tenant);
        ck_assert_str_eq(jstr(r.json, "format"), "bulwark.tenant-export.v1");
        json_t *page_files = json_object_get(r.json, "files");
        for (size_t i = 0; i < json_array_size(page_files); i++) {
            json_t *f = json_array_get(page_files, i);
            const char *content = jstr(f, "content"), *table = jstr(f, "table");
            uint8_t digest[BW_SHA256_LEN];
            char hex[2 * BW_SHA256_LEN + 1];
            bw_sha256(content, strlen(content), digest);
            bw_hex(digest, sizeof(digest), hex);
            ck_assert_msg(strcmp(hex, jstr(f, "sha256")) == 0, "%s: checksum %s, content hashes %s",
                          jstr(f, "name"), jstr(f, "sha256"), hex);
            ck_assert_int_eq(strtol(jstr(f, "bytes"), NULL, 10), (long)strlen(content));
            char want[160];
            snprintf(want, sizeof(want), "%s.%04d.jsonl", table,
                     (int)json_integer_value(json_object_get(f, "part")));
            ck_assert_str_eq(jstr(f, "name"), want);
            ck_assert_ptr_null(json_object_get(files, want));
            /* One JSON object a line, each a row of this tenant. */
            long lines = 0;
            for (const char *p = content; *p != '\0'; lines++) {
                const char *end = strchr(p, '\n');
                ck_assert_ptr_nonnull(end);
                json_error_t e;
                json_t *row = json_loadb(p, (size_t)(end - p), 0, &e);
                ck_assert_msg(row != NULL, "%s line %ld: %s", want, lines + 1, e.text);
                ck_assert_str_eq(jstr(row, "tenant_id"), tenant);
                json_decref(row);
                p = end + 1;
            }
            ck_assert_int_eq(strtol(jstr(f, "rows"), NULL, 10), lines);
            json_object_set_new(files, want, json_string(content));
            json_int_t before = json_integer_value(json_object_get(tables, table));
            json_object_set_new(tables, table, json_integer(before + lines));
        }
        snprintf(token, sizeof(token), "%s", jstr(r.json, "nextPageToken"));
        bw_test_resp_free(&r);
        ck_assert_int_lt(++pages, 100);
    } while (token[0] != '\0');
}

START_TEST(the_export_holds_every_row_with_checksums)
{
    char *key = NULL;
    char *tenant = populated_tenant("Exported AG", &key);
    /* More audit events than one page holds, so that a table comes in parts. */
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(super,
                 "INSERT INTO bulwark.audit_events (tenant_id, event_id, service, action, "
                 "resource, principal, request_id, outcome) SELECT $1, gen_random_uuid(), 'test', "
                 "'test.Fill', '', 'test', 'r' || g, 'OK' FROM generate_series(1, 2500) g",
                 tenant);
    wait_for_usage(super, tenant);
    suspend(tenant);

    json_t *files = json_object(), *tables = json_object();
    export_all(tenant, files, tables);
    ck_assert_ptr_nonnull(json_object_get(files, "bulwark.audit_events.0002.jsonl"));
    /* Every tenant table of the database, with every row of the tenant. */
    PGresult *all = tenant_tables(super);
    for (int i = 0; i < PQntuples(all); i++) {
        const char *table = PQgetvalue(all, i, 0);
        json_t *exported = json_object_get(tables, table);
        ck_assert_msg(exported != NULL, "the export has no file of table %s", table);
        long want = rows_of(super, table, tenant);
        ck_assert_msg(json_integer_value(exported) == want,
                      "table %s: %lld rows exported, the database holds %ld", table,
                      (long long)json_integer_value(exported), want);
        ck_assert_msg(want > 0 || has_no_tenant_rows(table),
                      "table %s holds no row of the populated tenant: make populated_tenant() "
                      "write one, so that the export and the deletion of its rows are proven",
                      table);
    }
    ck_assert_int_eq(json_object_size(tables), PQntuples(all));
    PQclear(all);
    PQfinish(super);
    json_decref(files);
    json_decref(tables);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(deletion_removes_every_row_and_certifies_it)
{
    char *key = NULL;
    char *tenant = populated_tenant("Deleted GmbH", &key);
    char *other_key = NULL;
    char *other = populated_tenant("Bystander GmbH", &other_key);
    PGconn *super = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    wait_for_usage(super, tenant);
    wait_for_usage(super, other);

    /* Before: every tenant table, from the catalogue, holds rows of both. */
    PGresult *all = tenant_tables(super);
    int n_tables = PQntuples(all);
    long *before = calloc((size_t)n_tables, sizeof(*before));
    long *others = calloc((size_t)n_tables, sizeof(*others));
    for (int i = 0; i < n_tables; i++) {
        const char *table = PQgetvalue(all, i, 0);
        before[i] = rows_of(super, table, tenant);
        others[i] = rows_of(super, table, other);
        ck_assert_msg(before[i] > 0 || has_no_tenant_rows(table),
                      "table %s holds no row of the tenant to delete: make populated_tenant() "
                      "write one, so that its deletion is proven",
                      table);
    }

    /* Only a suspended tenant. */
    bw_test_resp_t r;
    http(&r, "DELETE", op(), NULL, "/v1/tenants/%s", tenant);
    ck_assert_problem(&r, 409, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "TENANT_NOT_SUSPENDED");
    bw_test_resp_free(&r);
    ck_assert_int_eq(rows_of(super, "tenancy.tenants", tenant), 1);
    suspend(tenant);
    http(&r, "DELETE", op(), NULL, "/v1/tenants/%s", tenant);
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *cert = json_incref(r.json);
    char *request_id = strdup(bw_test_header(&r, "X-Request-Id"));
    bw_test_resp_free(&r);

    /* After: no row of the tenant anywhere; the bystander keeps all of its. */
    long total = 0;
    for (int i = 0; i < n_tables; i++) {
        const char *table = PQgetvalue(all, i, 0);
        ck_assert_msg(rows_of(super, table, tenant) == 0, "%s kept %ld rows of the deleted tenant",
                      table, rows_of(super, table, tenant));
        ck_assert_msg(rows_of(super, table, other) >= others[i], "%s lost rows of another tenant",
                      table);
        total += before[i];
    }

    /* The certificate: every table, its count, when, by whom, its hash. */
    ck_assert_str_eq(jstr(cert, "format"), "bulwark.tenant-deletion.v1");
    ck_assert_str_eq(jstr(cert, "tenant"), tenant);
    ck_assert_str_eq(jstr(cert, "tenantName"), "Deleted GmbH");
    ck_assert_str_eq(jstr(cert, "deletedBy"), "operator");
    ck_assert_str_eq(jstr(cert, "requestId"), request_id);
    ck_assert_str_ne(jstr(cert, "deleteTime"), "");
    json_t *listed_tables = json_object_get(cert, "tables");
    ck_assert_int_eq(json_array_size(listed_tables), n_tables);
    for (int i = 0; i < n_tables; i++) {
        json_t *t = json_array_get(listed_tables, (size_t)i);
        /* Both in table order. */
        ck_assert_str_eq(jstr(t, "table"), PQgetvalue(all, i, 0));
        ck_assert_msg(strtol(jstr(t, "rows"), NULL, 10) == before[i], "%s: %s rows certified, %ld",
                      jstr(t, "table"), jstr(t, "rows"), before[i]);
    }
    ck_assert_int_eq(strtol(jstr(cert, "totalRows"), NULL, 10), total);
    const char *canonical = jstr(cert, "canonical");
    uint8_t digest[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    bw_sha256(canonical, strlen(canonical), digest);
    bw_hex(digest, sizeof(digest), hex);
    ck_assert_str_eq(jstr(cert, "sha256"), hex);
    json_t *signed_fields = json_loads(canonical, 0, NULL);
    ck_assert_ptr_nonnull(signed_fields);
    const char *fields[] = {"format",    "tenant",    "tenantName", "deleteTime",
                            "deletedBy", "requestId", NULL};
    for (int i = 0; fields[i] != NULL; i++)
        ck_assert_str_eq(jstr(signed_fields, fields[i]), jstr(cert, fields[i]));
    ck_assert_int_eq(json_integer_value(json_object_get(signed_fields, "totalRows")), total);
    ck_assert_int_eq(json_array_size(json_object_get(signed_fields, "tables")), n_tables);
    json_decref(signed_fields);

    /* Kept in the operator's scope, and audited there. */
    PGresult *res = bw_test_sql(super,
                                "SELECT tenant_id, sha256, tenant_name FROM "
                                "tenancy.deletion_certificates WHERE deleted_tenant = $1",
                                tenant);
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), NIL);
    ck_assert_str_eq(PQgetvalue(res, 0, 1), hex);
    PQclear(res);
    res = bw_test_sql(super,
                      "SELECT principal, outcome, request_id FROM bulwark.audit_events WHERE "
                      "tenant_id = $1 AND action = 'tenancy.DeleteTenant' AND resource = $2 "
                      "ORDER BY event_id",
                      NIL, tenant);
    ck_assert_int_eq(PQntuples(res), 2); /* the refusal, then the deletion */
    ck_assert_str_eq(PQgetvalue(res, 1, 0), "operator");
    ck_assert_str_eq(PQgetvalue(res, 1, 1), "OK");
    ck_assert_str_eq(PQgetvalue(res, 1, 2), request_id);
    PQclear(res);

    /* The tenant is gone for everyone. */
    http(&r, "GET", key, NULL, "/v1/entities");
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    http(&r, "DELETE", op(), NULL, "/v1/tenants/%s", tenant);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    http(&r, "GET", op(), NULL, "/v1/tenants/%s:export", tenant);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    json_t *gone = listed(tenant);
    ck_assert_ptr_null(gone);
    http(&r, "GET", other_key, NULL, "/v1/entities");
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "entities")), 1);
    bw_test_resp_free(&r);

    PQclear(all);
    PQfinish(super);
    json_decref(cert);
    free(before);
    free(others);
    free(request_id);
    free(tenant);
    free(key);
    free(other);
    free(other_key);
}
END_TEST

Suite *suite_lifecycle(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, operator_routes_refuse_tenant_keys_and_bad_input);
    tcase_add_test(tc, the_list_shows_state_and_usage);
    tcase_add_test(tc, suspension_refuses_credentials_at_once_and_keeps_data);
    tcase_add_test(tc, the_export_holds_every_row_with_checksums);
    tcase_add_test(tc, deletion_removes_every_row_and_certifies_it);
    suite_add_tcase(s, tc);
    return s;
}
