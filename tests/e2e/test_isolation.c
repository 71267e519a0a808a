/*
 * Proof of tenant isolation across every service: tenant A gets data in each
 * of them (an entity, a Statement of Applicability row, a mapping override,
 * an incident, a board member, a campaign, a webhook endpoint and a delivery
 * to it, a Jira connection), then tenant B's admin calls
 * every tenant route of /v1/openapi.json with A's ids in the path and in the
 * body. No call may succeed on A's ids, and no reply may carry any of A's
 * ids: B gets 403, 404 or a 400 naming the id, never A's data. And reads
 * from two tenants at once, which scoping serves in batches read in one
 * pipeline, each read under its own tenant: each gets its own tenant's
 * entity, never the other's.
 */
#include "e2e.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct ids {
    char tenant[64], key[64], entity[64], override[64], incident[64], member[64], campaign[64],
        endpoint[64], delivery[64], connection[64];
} ids_t;

/* POSTs body and returns the new resource's id (caller frees). */
static char *create(const char *key, const char *path, const char *body)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", path, key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "POST %s: %ld %s", path, r.status, r.body);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    return id;
}

static void copy(char *dst, char *src)
{
    snprintf(dst, 64, "%s", src);
    free(src);
}

/* The id of A's resource a path variable names, by the variable and the
 * collection before it. */
static const char *id_for(const ids_t *a, const char *collection, const char *var)
{
    if (strcmp(var, "entity") == 0)
        return a->entity;
    if (strcmp(var, "incident") == 0)
        return a->incident;
    if (strcmp(var, "campaign") == 0)
        return a->campaign;
    if (strcmp(var, "delivery") == 0)
        return a->delivery;
    if (strcmp(var, "ref") == 0)
        return "A.5.1";
    if (strcmp(var, "framework") == 0)
        return "nis2";
    if (strcmp(var, "code") == 0) /* a Member State profile: shared data, no tenant's */
        return "DE";
    static const struct {
        const char *collection;
        size_t offset;
    } by_collection[] = {
        {"entities", offsetof(ids_t, entity)},
        {"incidents", offsetof(ids_t, incident)},
        {"api-keys", offsetof(ids_t, key)},
        {"tenants", offsetof(ids_t, tenant)},
        {"mapping-overrides", offsetof(ids_t, override)},
        {"attestation-campaigns", offsetof(ids_t, campaign)},
        {"board-members", offsetof(ids_t, member)},
        {"webhook-endpoints", offsetof(ids_t, endpoint)},
        {"deliveries", offsetof(ids_t, delivery)},
        {"connections", offsetof(ids_t, connection)},
    };
    for (size_t i = 0; i < sizeof(by_collection) / sizeof(by_collection[0]); i++)
        if (strcmp(collection, by_collection[i].collection) == 0)
            return (const char *)a + by_collection[i].offset;
    ck_abort_msg("no id of A for {%s} after %s", var, collection);
    return NULL;
}

/* The template with A's ids in place of its variables; *uses_a says whether
 * any was put in. */
static void fill(const ids_t *a, const char *tpl, char *out, size_t len, int *uses_a)
{
    char collection[64] = "";
    size_t o = 0;
    *uses_a = 0;
    for (const char *p = tpl; *p != '\0' && o + 1 < len;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            char var[64];
            snprintf(var, sizeof(var), "%.*s", (int)(end - p - 1), p + 1);
            const char *id = id_for(a, collection, var);
            o += (size_t)snprintf(out + o, len - o, "%s", id);
            *uses_a |= strcmp(var, "ref") != 0 && strcmp(var, "framework") != 0 &&
                       strcmp(var, "code") != 0;
            p = end + 1;
            continue;
        }
        if (*p == '/' && p[1] != '{') {
            const char *next = strchr(p + 1, '/');
            size_t n = next != NULL ? (size_t)(next - p - 1) : strlen(p + 1);
            snprintf(collection, sizeof(collection), "%.*s", (int)n, p + 1);
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

/* No id of A's may show in the reply, except the ones B itself sent, in
 * this request or an earlier one (a 404's detail names the id it could not
 * find; B's own audit trail records what B asked for). */
static void assert_no_ids_of_a(const ids_t *a, const char *what, const char *sent,
                               const bw_test_resp_t *r)
{
    const char *mine[] = {a->tenant,   a->entity, a->override, a->incident, a->member,
                          a->campaign, a->key,    a->endpoint, a->delivery};
    for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
        if (mine[i][0] == '\0' || strstr(sent, mine[i]) != NULL)
            continue;
        ck_assert_msg(r->body == NULL || strstr(r->body, mine[i]) == NULL,
                      "%s showed tenant A's id %s: %s", what, mine[i], r->body);
    }
}

START_TEST(tenant_b_never_sees_tenant_a)
{
    ids_t a;
    memset(&a, 0, sizeof(a));
    char *key_a = NULL, *key_b = NULL;
    copy(a.tenant, bw_test_create_tenant("Isolated A", &key_a));
    char *tenant_b = bw_test_create_tenant("Isolated B", &key_b);

    /* A's data, one piece in every service. */
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/api-keys", key_a, NULL, NULL, &r), 0);
    snprintf(a.key, sizeof(a.key), "%s",
             jstr(json_array_get(json_object_get(r.json, "apiKeys"), 0), "id"));
    bw_test_resp_free(&r);
    copy(a.entity,
         create(key_a, "/v1/entities", "{\"name\":\"A Energy\",\"timeZone\":\"Europe/Berlin\"}"));
    char path[512], body[1024];
    snprintf(path, sizeof(path), "/v1/entities/%s/controls/A.5.1", a.entity);
    ck_assert_int_eq(bw_test_http("PUT", path, key_a,
                                  "{\"applicable\":true,\"status\":\"IMPLEMENTED\"}", NULL, &r),
                     0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
    copy(a.override, create(key_a, "/v1/mapping-overrides",
                            "{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.8.24\","
                            "\"targetFramework\":\"nis2-ir-2024-2690\",\"targetRef\":\"9.2\","
                            "\"relationship\":\"EQUAL\",\"rationale\":\"tenant A's auditor\"}"));
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"A's incident\",\"awareAt\":\"2026-01-05T10:00:00Z\","
             "\"significant\":true}",
             a.entity);
    copy(a.incident, create(key_a, "/v1/incidents", body));
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", a.entity);
    copy(a.member, create(key_a, path, "{\"name\":\"Ann Example\"}"));
    char due[32];
    time_t soon = time(NULL) + 30 * 86400;
    strftime(due, sizeof(due), "%Y-%m-%dT%H:%M:%SZ", gmtime(&soon));
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"RISK_MEASURES_APPROVAL\",\"statement\":\"We approve "
             "the measures.\",\"dueAt\":\"%s\",\"validForDays\":365}",
             a.entity, due);
    copy(a.campaign, create(key_a, "/v1/attestation-campaigns", body));
    /* A webhook endpoint, and a delivery to it of an event put in A's
     * outbox (its attempts fail: nothing listens there). */
    snprintf(body, sizeof(body),
             "{\"url\":\"http://%s:9/a\",\"eventTypes\":[\"incident.created\"]}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"));
    copy(a.endpoint, create(key_a, "/v1/webhook-endpoints", body));
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", a.tenant);
    bw_test_exec(admin,
                 "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data) "
                 "VALUES ($1, gen_random_uuid(), 'incident.created', 'incidents/a', '{}')",
                 a.tenant);
    PQfinish(admin);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries", a.endpoint);
    for (int i = 0; i < 300 && a.delivery[0] == '\0'; i++) {
        ck_assert_int_eq(bw_test_http("GET", path, key_a, NULL, NULL, &r), 0);
        json_t *first = json_array_get(json_object_get(r.json, "deliveries"), 0);
        if (first != NULL)
            snprintf(a.delivery, sizeof(a.delivery), "%s", jstr(first, "id"));
        bw_test_resp_free(&r);
        if (a.delivery[0] == '\0')
            usleep(100 * 1000);
    }
    ck_assert_msg(a.delivery[0] != '\0', "no delivery for tenant A's event");
    snprintf(body, sizeof(body),
             "{\"system\":\"JIRA\",\"name\":\"A's Jira\",\"baseUrl\":\"https://a.example\","
             "\"entity\":\"%s\",\"projectKey\":\"A\",\"credentials\":{\"email\":"
             "\"a@example.com\",\"apiToken\":\"t\"}}",
             a.entity);
    copy(a.connection, create(key_a, "/v1/integrations/connections", body));

    /* Every tenant route, called by B with A's ids. */
    bw_test_resp_t doc;
    ck_assert_int_eq(bw_test_http("GET", "/v1/openapi.json", NULL, NULL, NULL, &doc), 0);
    const char *tpl;
    json_t *item;
    int calls = 0;
    static char sent[256 * 1024];
    sent[0] = '\0';
    json_object_foreach(json_object_get(doc.json, "paths"), tpl, item)
    {
        const char *verb;
        json_t *op;
        json_object_foreach(item, verb, op)
        {
            if (strcmp(jstr(op, "x-bulwark-access"), "tenant") != 0)
                continue;
            char method[8];
            size_t n = strlen(verb);
            for (size_t i = 0; i <= n && i < sizeof(method); i++)
                method[i] = (char)(verb[i] >= 'a' && verb[i] <= 'z' ? verb[i] - 32 : verb[i]);
            int uses_a = 0;
            fill(&a, tpl, path, sizeof(path), &uses_a);
            /* A body that names A's entity wherever a body can. */
            const char *send = NULL;
            if (json_object_get(op, "requestBody") != NULL) {
                snprintf(body, sizeof(body), "{\"entity\":\"%s\"}", a.entity);
                send = body;
            }
            /* Lists filtered by A's entity, where the route filters by entity. */
            json_t *params = json_object_get(op, "parameters");
            for (size_t i = 0; i < json_array_size(params); i++)
                if (strcmp(jstr(json_array_get(params, i), "name"), "entity") == 0 &&
                    strcmp(jstr(json_array_get(params, i), "in"), "query") == 0) {
                    /* A filter is not an access: B may get its own (empty) list. */
                    snprintf(path + strlen(path), sizeof(path) - strlen(path), "?entity=%s",
                             a.entity);
                }
            bw_test_resp_t res;
            for (int attempt = 0;; attempt++) {
                ck_assert_int_eq(bw_test_http(method, path, key_b, send, NULL, &res), 0);
                if (res.status != 429 || attempt > 20)
                    break;
                bw_test_resp_free(&res);
                sleep(1);
            }
            char what[600];
            snprintf(what, sizeof(what), "%s %s", method, tpl);
            size_t used = strlen(sent);
            snprintf(sent + used, sizeof(sent) - used, " %s %s", path, send != NULL ? send : "");
            assert_no_ids_of_a(&a, what, sent, &res);
            if (uses_a || send != NULL)
                ck_assert_msg(res.status == 400 || res.status == 403 || res.status == 404,
                              "%s with A's ids answered %ld: %s", what, res.status, res.body);
            bw_test_resp_free(&res);
            calls++;
        }
    }
    ck_assert_int_gt(calls, 40);
    bw_test_resp_free(&doc);

    /* And A still has everything. */
    snprintf(path, sizeof(path), "/v1/incidents/%s", a.incident);
    ck_assert_int_eq(bw_test_http("GET", path, key_a, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    free(key_a);
    free(key_b);
    free(tenant_b);
}
END_TEST

/* Readers at once, each a mix of four reads: A's key on A's entity and B's
 * on B's (200, that entity), each key on the other's (404). Within both
 * tenants' burst of the gateway's rate limit (test.sh: 100 each). */
#define READERS 16
#define READS_EACH 12

typedef struct reader {
    const tenant_t *a, *b;
    int first;          /* which of the four reads comes first */
    int right, limited; /* answers as expected; 429s */
    char wrong[512];    /* the first unexpected answer, "" none */
} reader_t;

static void *read_mix(void *arg)
{
    reader_t *rd = arg;
    for (int i = 0; i < READS_EACH && rd->wrong[0] == '\0'; i++) {
        int kind = (rd->first + i) % 4;
        const tenant_t *who = kind == 0 || kind == 3 ? rd->a : rd->b;
        const tenant_t *whose = kind == 0 || kind == 2 ? rd->a : rd->b;
        char path[128];
        snprintf(path, sizeof(path), "/v1/entities/%s", whose->entity);
        bw_test_resp_t r;
        if (bw_test_http("GET", path, who->key, NULL, NULL, &r) != 0) {
            snprintf(rd->wrong, sizeof(rd->wrong), "GET %s: no answer", path);
            break;
        }
        long want = who == whose ? 200 : 404;
        const char *id = r.json != NULL ? jstr(r.json, "id") : "";
        if (r.status == 429)
            rd->limited++;
        else if (r.status == want && (want == 404 || strcmp(id, whose->entity) == 0))
            rd->right++;
        else
            snprintf(rd->wrong, sizeof(rd->wrong), "GET %s as %s: %ld %.300s", path,
                     who == rd->a ? "A" : "B", r.status, r.body);
        bw_test_resp_free(&r);
    }
    return NULL;
}

START_TEST(reads_at_once_stay_in_their_tenant)
{
    tenant_t a = new_tenant_with_entity("Concurrent A", ACME_CLOUD);
    tenant_t b = new_tenant_with_entity("Concurrent B", ACME_CLOUD);
    reader_t readers[READERS];
    pthread_t th[READERS];
    memset(readers, 0, sizeof(readers));
    for (int i = 0; i < READERS; i++) {
        readers[i].a = &a;
        readers[i].b = &b;
        readers[i].first = i % 4;
        ck_assert_int_eq(pthread_create(&th[i], NULL, read_mix, &readers[i]), 0);
    }
    int right = 0, limited = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(readers[i].wrong[0] == '\0', "reader %d: %s", i, readers[i].wrong);
        right += readers[i].right;
        limited += readers[i].limited;
    }
    ck_assert_int_eq(right + limited, READERS * READS_EACH);
    ck_assert_int_ge(right, READERS * READS_EACH / 2);
    free_tenant(&a);
    free_tenant(&b);
}
END_TEST

Suite *suite_isolation(void)
{
    Suite *s = suite_create("isolation");
    TCase *tc = tcase_create("isolation");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, tenant_b_never_sees_tenant_a);
    tcase_add_test(tc, reads_at_once_stay_in_their_tenant);
    suite_add_tcase(s, tc);
    return s;
}
