/*
 * If-Match on every write whose target carries an etag, proved by walking
 * the route table (GET /v1/openapi.json, generated from proto/). One
 * resource of each kind is created; every write route that changes an
 * existing resource gets a stale If-Match and must answer 412
 * ETAG_MISMATCH and leave the resource exactly as it was, then the current
 * etag and must go through. The routes that change no existing resource
 * are listed with the reason; a write route in neither list fails the test,
 * so a new route cannot go unguarded unnoticed. The OpenAPI document must
 * announce If-Match on exactly the guarded routes.
 */
#include "e2e.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Write routes that change no existing resource, and why. */
static const struct {
    const char *method, *template, *reason;
} skipped[] = {
    {"POST", "/v1/tenants", "operator route: creates a new tenant"},
    {"POST", "/v1/tenants/{id}:suspend",
     "operator route: sets a state, and suspending a suspended tenant changes nothing"},
    {"POST", "/v1/tenants/{id}:resume",
     "operator route: sets a state, and resuming an active tenant changes nothing"},
    {"POST", "/v1/api-keys", "creates a new key"},
    {"POST", "/v1/entities", "creates a new entity"},
    {"POST", "/v1/scoping:assess", "evaluates the request; stores nothing"},
    {"POST", "/v1/mapping-overrides", "creates a new override"},
    {"POST", "/v1/entities/{entity}/controls:import",
     "upserts rows of a Statement of Applicability, a collection without an etag; each "
     "control's own etag guards its PUT"},
    {"POST", "/v1/incidents", "creates a new incident"},
    {"POST", "/v1/incidents:assess-significance", "evaluates the request; stores nothing"},
    {"POST", "/v1/entities/{entity}/board-members",
     "creates a new member; the entity (scoping's) does not change"},
    {"POST", "/v1/attestation-campaigns", "creates a new campaign"},
    {"POST", "/v1/webhook-endpoints", "creates a new endpoint"},
    {"POST", "/v1/webhook-endpoints/{id}/deliveries/{delivery}:replay",
     "a delivery carries no etag: replaying it restarts its schedule, nothing a client edits; "
     "the endpoint does not change"},
    {"POST", "/v1/integrations/connections", "creates a new connection"},
    {"POST", "/v1/integrations/connections/{id}:test",
     "asks the ticket system; the connection does not change (its log gets an entry)"},
    {"POST", "/v1/integrations/jira/{connection}/events",
     "a ticket system's event, authenticated by its signature, not by a client holding an etag"},
    {"POST", "/v1/integrations/servicenow/{connection}/events",
     "a ticket system's event, authenticated by its token, not by a client holding an etag"},
};
#define N_SKIPPED (sizeof(skipped) / sizeof(skipped[0]))

/* What one tenant holds: one resource of each kind. */
typedef struct fixture {
    char *key;
    char *doomed_tenant; /* suspended, for its deletion */
    char entity[64], doomed_entity[64], api_key[64], rotated_key[64], override[64], incident[64],
        member[64], signer[64], campaign[64], endpoint[64], doomed_endpoint[64], connection[64],
        doomed_connection[64];
    char event[256], attestation[256];
} fixture_t;

/* A guarded write: the request, and where to read its target's etag (a
 * single resource, or the item with id `item` in the list member `list`). */
typedef struct guarded {
    const char *method, *template;
    char path[256];
    const char *body;
    char probe[256];
    const char *list, *item;
    int deletes;       /* the write removes the target */
    const char *token; /* whose route it is: NULL for the fixture's admin key */
} guarded_t;

/* One request, waiting out the test stack's rate limit. */
static void http(bw_test_resp_t *r, const char *method, const char *path, const char *key,
                 const char *body, const char *if_match)
{
    char header[160];
    const char *headers[] = {header, NULL};
    snprintf(header, sizeof(header), "If-Match: %s", if_match != NULL ? if_match : "");
    for (int attempt = 0; attempt < 20; attempt++) {
        ck_assert_int_eq(
            bw_test_http(method, path, key, body, if_match != NULL ? headers : NULL, r), 0);
        if (r->status != 429)
            return;
        long wait = strtol(
            bw_test_header(r, "Retry-After") ? bw_test_header(r, "Retry-After") : "1", NULL, 10);
        bw_test_resp_free(r);
        sleep((unsigned)(wait > 0 ? wait : 1));
    }
    ck_abort_msg("%s %s stayed rate limited", method, path);
}

/* POSTs and returns the new resource's id into out[64]. */
static void create(const fixture_t *f, const char *path, const char *body, char out[64])
{
    bw_test_resp_t r;
    http(&r, "POST", path, f->key, body, NULL);
    ck_assert_msg(r.status == 201, "POST %s: %ld %s", path, r.status, r.body);
    snprintf(out, 64, "%s", jstr(r.json, "id"));
    bw_test_resp_free(&r);
}

static void rfc3339(long offset, char out[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void setup_fixture(fixture_t *f)
{
    char body[512], path[256], at[32];
    char *tenant = bw_test_create_tenant("If-Match", &f->key);
    create(f, "/v1/entities", "{\"name\":\"Guarded Co\",\"timeZone\":\"Europe/Berlin\"}",
           f->entity);
    create(f, "/v1/entities", "{\"name\":\"Doomed Co\",\"timeZone\":\"UTC\"}", f->doomed_entity);
    create(f, "/v1/api-keys", "{\"name\":\"dashboard\",\"role\":\"viewer\"}", f->api_key);
    create(f, "/v1/api-keys", "{\"name\":\"rotated\",\"role\":\"viewer\"}", f->rotated_key);
    create(f, "/v1/mapping-overrides",
           "{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.8.24\","
           "\"targetFramework\":\"nis2-ir-2024-2690\",\"targetRef\":\"9.2\","
           "\"relationship\":\"EQUAL\",\"rationale\":\"key management covers 9.2\"}",
           f->override);
    bw_test_resp_t r;
    snprintf(path, sizeof(path), "/v1/entities/%s/controls/A.5.1", f->entity);
    http(&r, "PUT", path, f->key, "{\"applicable\":true,\"status\":\"PLANNED\"}", NULL);
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
    rfc3339(-3600, at);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Outage\",\"awareAt\":\"%s\",\"significant\":true}",
             f->entity, at);
    create(f, "/v1/incidents", body, f->incident);
    rfc3339(-1800, at);
    snprintf(f->event, sizeof(f->event),
             "{\"type\":\"NOTE\",\"note\":\"contained\",\"occurredAt\":\"%s\"}", at);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", f->entity);
    create(f, path, "{\"name\":\"Ann\",\"since\":\"2020-01-01T00:00:00Z\"}", f->member);
    create(f, path, "{\"name\":\"Bob\",\"since\":\"2020-01-01T00:00:00Z\"}", f->signer);
    rfc3339(86400, at);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"Policy v2.\","
             "\"dueAt\":\"%s\",\"validForDays\":365}",
             f->entity, at);
    create(f, "/v1/attestation-campaigns", body, f->campaign);
    snprintf(f->attestation, sizeof(f->attestation), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}",
             f->signer);
    /* The incident's own incident.created relayed first: delivered to the
     * endpoints below, it would fail there until their schedule ran out and
     * disabled them, changing them (and their etags) in the middle of the
     * walk. */
    bw_test_wait_relayed(tenant);
    free(tenant);
    create(f, "/v1/webhook-endpoints",
           "{\"url\":\"https://hooks.example.com/a\",\"eventTypes\":[\"incident.created\"]}",
           f->endpoint);
    create(f, "/v1/webhook-endpoints",
           "{\"url\":\"https://hooks.example.com/b\",\"eventTypes\":[\"incident.created\"]}",
           f->doomed_endpoint);
    snprintf(body, sizeof(body),
             "{\"system\":\"SERVICENOW\",\"name\":\"ITSM\",\"baseUrl\":"
             "\"https://example.service-now.com\",\"entity\":\"%s\",\"credentials\":"
             "{\"username\":\"u\",\"password\":\"p\"}}",
             f->entity);
    create(f, "/v1/integrations/connections", body, f->connection);
    create(f, "/v1/integrations/connections", body, f->doomed_connection);
    /* A tenant to delete, which must be suspended first. */
    f->doomed_tenant = bw_test_create_tenant("If-Match doomed", NULL);
    snprintf(path, sizeof(path), "/v1/tenants/%s:suspend", f->doomed_tenant);
    http(&r, "POST", path, bw_test_env("BULWARK_TEST_OPERATOR_TOKEN"), "{}", NULL);
    ck_assert_msg(r.status == 200, "%s", r.body);
    bw_test_resp_free(&r);
}

/* Fills the guarded writes for f; returns how many. */
static size_t guarded_writes(fixture_t *f, guarded_t *g)
{
    size_t n = 0;
#define GUARD(m, t, body_, list_, item_, deletes_, ...)                                            \
    do {                                                                                           \
        g[n] = (guarded_t){.method = m,                                                            \
                           .template = t,                                                          \
                           .body = body_,                                                          \
                           .list = list_,                                                          \
                           .item = item_,                                                          \
                           .deletes = deletes_,                                                    \
                           .token = NULL};                                                         \
        snprintf(g[n].path, sizeof(g[n].path), __VA_ARGS__);                                       \
        n++;                                                                                       \
    } while (0)
    GUARD("PATCH", "/v1/entities/{id}", "{\"name\":\"Renamed Co\"}", NULL, NULL, 0,
          "/v1/entities/%s", f->entity);
    GUARD("DELETE", "/v1/entities/{id}", NULL, NULL, NULL, 1, "/v1/entities/%s", f->doomed_entity);
    GUARD("DELETE", "/v1/api-keys/{id}", NULL, "apiKeys", f->api_key, 1, "/v1/api-keys/%s",
          f->api_key);
    GUARD("DELETE", "/v1/mapping-overrides/{id}", NULL, "mappingOverrides", f->override, 1,
          "/v1/mapping-overrides/%s", f->override);
    GUARD("PUT", "/v1/entities/{entity}/controls/{ref}",
          "{\"applicable\":true,\"status\":\"IMPLEMENTED\"}", NULL, NULL, 0,
          "/v1/entities/%s/controls/A.5.1", f->entity);
    GUARD("POST", "/v1/incidents/{incident}/events", f->event, NULL, NULL, 0,
          "/v1/incidents/%s/events", f->incident);
    GUARD("PATCH", "/v1/entities/{entity}/board-members/{id}", "{\"role\":\"Chair\"}",
          "boardMembers", f->member, 0, "/v1/entities/%s/board-members/%s", f->entity, f->member);
    GUARD("POST", "/v1/attestation-campaigns/{campaign}/attestations", f->attestation, NULL, NULL,
          0, "/v1/attestation-campaigns/%s/attestations", f->campaign);
    GUARD("PATCH", "/v1/webhook-endpoints/{id}", "{\"description\":\"billing\"}", NULL, NULL, 0,
          "/v1/webhook-endpoints/%s", f->endpoint);
    GUARD("POST", "/v1/webhook-endpoints/{id}:rotate-secret", "{}", NULL, NULL, 0,
          "/v1/webhook-endpoints/%s:rotate-secret", f->endpoint);
    GUARD("DELETE", "/v1/webhook-endpoints/{id}", NULL, NULL, NULL, 1, "/v1/webhook-endpoints/%s",
          f->doomed_endpoint);
    GUARD("POST", "/v1/api-keys/{id}:rotate", "{}", "apiKeys", f->rotated_key, 0,
          "/v1/api-keys/%s:rotate", f->rotated_key);
    GUARD("PATCH", "/v1/incident-settings", "{\"deadlineAlertLeadSeconds\":[7200]}", NULL, NULL, 0,
          "/v1/incident-settings");
    GUARD("PATCH", "/v1/integrations/connections/{id}", "{\"name\":\"ITSM (prod)\"}", NULL, NULL, 0,
          "/v1/integrations/connections/%s", f->connection);
    GUARD("DELETE", "/v1/integrations/connections/{id}", NULL, NULL, NULL, 1,
          "/v1/integrations/connections/%s", f->doomed_connection);
    GUARD("DELETE", "/v1/tenants/{id}", NULL, "tenants", f->doomed_tenant, 1, "/v1/tenants/%s",
          f->doomed_tenant);
    g[n - 1].token = bw_test_env("BULWARK_TEST_OPERATOR_TOKEN");
#undef GUARD
    /* Where each target is read back. */
    snprintf(g[0].probe, sizeof(g[0].probe), "/v1/entities/%s", f->entity);
    snprintf(g[1].probe, sizeof(g[1].probe), "/v1/entities/%s", f->doomed_entity);
    snprintf(g[2].probe, sizeof(g[2].probe), "/v1/api-keys");
    snprintf(g[3].probe, sizeof(g[3].probe), "/v1/mapping-overrides");
    snprintf(g[4].probe, sizeof(g[4].probe), "/v1/entities/%s/controls/A.5.1", f->entity);
    snprintf(g[5].probe, sizeof(g[5].probe), "/v1/incidents/%s", f->incident);
    snprintf(g[6].probe, sizeof(g[6].probe), "/v1/entities/%s/board-members", f->entity);
    snprintf(g[7].probe, sizeof(g[7].probe), "/v1/attestation-campaigns/%s", f->campaign);
    snprintf(g[8].probe, sizeof(g[8].probe), "/v1/webhook-endpoints/%s", f->endpoint);
    snprintf(g[9].probe, sizeof(g[9].probe), "/v1/webhook-endpoints/%s", f->endpoint);
    snprintf(g[10].probe, sizeof(g[10].probe), "/v1/webhook-endpoints/%s", f->doomed_endpoint);
    snprintf(g[11].probe, sizeof(g[11].probe), "/v1/api-keys");
    snprintf(g[12].probe, sizeof(g[12].probe), "/v1/incident-settings");
    snprintf(g[13].probe, sizeof(g[13].probe), "/v1/integrations/connections/%s", f->connection);
    snprintf(g[14].probe, sizeof(g[14].probe), "/v1/integrations/connections/%s",
             f->doomed_connection);
    /* Newest first: a tenant made for this test is on the first page. */
    snprintf(g[15].probe, sizeof(g[15].probe), "/v1/tenants?pageSize=500");
    return n;
}

/* The token g's requests go with. */
static const char *token_of(const fixture_t *f, const guarded_t *g)
{
    return g->token != NULL ? g->token : f->key;
}

/* Reads g's target: the target (the whole reply, or its item of a list:
 * the others may change meanwhile, a key's lastUseTime say) into *body
 * (caller frees) and its etag into etag (empty when it is gone). */
static void probe(const fixture_t *f, const guarded_t *g, char **body, char etag[64])
{
    bw_test_resp_t r;
    http(&r, "GET", g->probe, token_of(f, g), NULL, NULL);
    etag[0] = '\0';
    *body = NULL;
    if (r.status == 200) {
        json_t *target = r.json;
        if (g->list != NULL) {
            json_t *items = json_object_get(r.json, g->list), *found = NULL;
            for (size_t i = 0; i < json_array_size(items); i++)
                if (strcmp(jstr(json_array_get(items, i), "id"), g->item) == 0)
                    found = json_array_get(items, i);
            target = found;
            *body = target != NULL ? json_dumps(target, JSON_SORT_KEYS) : strdup("(gone)");
        }
        if (target != NULL)
            snprintf(etag, 64, "%s", jstr(target, "etag"));
    } else {
        ck_assert_msg(r.status == 404, "GET %s: %ld %s", g->probe, r.status, r.body);
    }
    if (*body == NULL)
        *body = strdup(r.body);
    bw_test_resp_free(&r);
}

/* Whether the OpenAPI operation lists the If-Match header parameter. */
static int declares_if_match(json_t *op)
{
    json_t *params = json_object_get(op, "parameters");
    for (size_t i = 0; i < json_array_size(params); i++) {
        const char *ref = jstr(json_array_get(params, i), "$ref");
        if (strcmp(ref, "#/components/parameters/IfMatch") == 0)
            return 1;
    }
    return 0;
}

static void check_guarded(const fixture_t *f, const guarded_t *g)
{
    char *before, *after, etag[64], now[64], quoted[80];
    probe(f, g, &before, etag);
    ck_assert_msg(etag[0] != '\0', "%s %s: the target has no etag to guard it", g->method,
                  g->template);
    /* A stale etag: the current one with its last digit changed. */
    char stale[64];
    snprintf(stale, sizeof(stale), "%s", etag);
    size_t n = strlen(stale);
    stale[n - 1] = stale[n - 1] == '0' ? '1' : '0';
    snprintf(quoted, sizeof(quoted), "\"%s\"", stale);
    bw_test_resp_t r;
    http(&r, g->method, g->path, token_of(f, g), g->body, quoted);
    ck_assert_msg(r.status == 412, "%s %s with a stale If-Match: %ld %s", g->method, g->template,
                  r.status, r.body);
    ck_assert_problem(&r, 412, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "ETAG_MISMATCH");
    bw_test_resp_free(&r);
    /* Nothing changed. */
    probe(f, g, &after, now);
    ck_assert_msg(strcmp(before, after) == 0, "%s %s changed its target on a 412:\n%s\n%s",
                  g->method, g->template, before, after);
    /* The current etag goes through, and the target changes. */
    snprintf(quoted, sizeof(quoted), "\"%s\"", etag);
    http(&r, g->method, g->path, token_of(f, g), g->body, quoted);
    ck_assert_msg(r.status >= 200 && r.status < 300, "%s %s with the current etag: %ld %s",
                  g->method, g->template, r.status, r.body);
    bw_test_resp_free(&r);
    free(after);
    probe(f, g, &after, now);
    if (g->deletes)
        ck_assert_msg(now[0] == '\0', "%s %s left its target", g->method, g->template);
    else
        ck_assert_msg(now[0] != '\0' && strcmp(now, etag) != 0,
                      "%s %s: the etag did not change with the write", g->method, g->template);
    free(before);
    free(after);
}

START_TEST(every_write_with_an_etag_honours_if_match)
{
    fixture_t f = {0};
    setup_fixture(&f);
    guarded_t guarded[24];
    size_t n_guarded = guarded_writes(&f, guarded);
    int seen_guarded[24] = {0}, seen_skipped[N_SKIPPED] = {0};

    bw_test_resp_t doc;
    http(&doc, "GET", "/v1/openapi.json", NULL, NULL, NULL);
    ck_assert_int_eq(doc.status, 200);
    const char *tpl;
    json_t *item;
    json_object_foreach(json_object_get(doc.json, "paths"), tpl, item)
    {
        const char *verb;
        json_t *op;
        json_object_foreach(item, verb, op)
        {
            char method[8];
            size_t i = 0;
            for (; verb[i] != '\0' && i + 1 < sizeof(method); i++)
                method[i] = (char)(verb[i] >= 'a' && verb[i] <= 'z' ? verb[i] - 32 : verb[i]);
            method[i] = '\0';
            if (strcmp(method, "GET") == 0)
                continue;
            int found = 0;
            for (size_t k = 0; k < n_guarded && !found; k++) {
                if (strcmp(guarded[k].method, method) != 0 || strcmp(guarded[k].template, tpl) != 0)
                    continue;
                found = 1;
                seen_guarded[k] = 1;
                ck_assert_msg(declares_if_match(op), "%s %s honours If-Match; OpenAPI omits it",
                              method, tpl);
                check_guarded(&f, &guarded[k]);
            }
            for (size_t k = 0; k < N_SKIPPED && !found; k++) {
                if (strcmp(skipped[k].method, method) != 0 || strcmp(skipped[k].template, tpl) != 0)
                    continue;
                found = 1;
                seen_skipped[k] = 1;
                ck_assert_msg(!declares_if_match(op),
                              "%s %s is skipped here (%s) but OpenAPI says it takes If-Match",
                              method, tpl, skipped[k].reason);
            }
            ck_assert_msg(found,
                          "write route %s %s is new: guard it with If-Match and add it to "
                          "guarded_writes(), or list it in skipped[] with the reason",
                          method, tpl);
        }
    }
    bw_test_resp_free(&doc);
    for (size_t k = 0; k < n_guarded; k++)
        ck_assert_msg(seen_guarded[k], "%s %s is not in the route table any more",
                      guarded[k].method, guarded[k].template);
    for (size_t k = 0; k < N_SKIPPED; k++)
        ck_assert_msg(seen_skipped[k], "%s %s is not in the route table any more",
                      skipped[k].method, skipped[k].template);
    free(f.key);
    free(f.doomed_tenant);
}
END_TEST

/* If-Match names a current representation: a control not recorded yet has
 * none, so even "*" fails and nothing is recorded. */
START_TEST(if_match_on_a_control_not_recorded_yet)
{
    fixture_t f = {0};
    free(bw_test_create_tenant("If-Match new control", &f.key));
    create(&f, "/v1/entities", "{\"name\":\"New Co\",\"timeZone\":\"UTC\"}", f.entity);
    char path[256];
    snprintf(path, sizeof(path), "/v1/entities/%s/controls/A.5.2", f.entity);
    const char *body = "{\"applicable\":true,\"status\":\"PLANNED\"}";
    const char *tags[] = {"*", "\"0123456789abcdef\""};
    bw_test_resp_t r;
    for (size_t i = 0; i < 2; i++) {
        http(&r, "PUT", path, f.key, body, tags[i]);
        ck_assert_problem(&r, 412, NULL);
        bw_test_resp_free(&r);
    }
    http(&r, "GET", path, f.key, NULL, NULL);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    /* Without If-Match it is recorded; then "*" matches it. */
    http(&r, "PUT", path, f.key, body, NULL);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    http(&r, "PUT", path, f.key, "{\"applicable\":true,\"status\":\"PARTIAL\"}", "*");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "PARTIAL");
    bw_test_resp_free(&r);
    free(f.key);
}
END_TEST

Suite *suite_if_match(void)
{
    Suite *s = suite_create("if_match");
    TCase *tc = tcase_create("if_match");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_write_with_an_etag_honours_if_match);
    tcase_add_test(tc, if_match_on_a_control_not_recorded_yet);
    suite_add_tcase(s, tc);
    return s;
}
