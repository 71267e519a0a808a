/*
 * The crosswalk service end to end: the shipped frameworks and mappings
 * (composed through the Implementing Regulation), a tenant's own mapping
 * rows, an entity's Statement of Applicability (PUT, GET, CSV import and
 * export, history), the gap analysis of an empty and of a complete SoA,
 * every kind of bad input answered with a 4xx naming the field, roles, and
 * tenant isolation (another tenant's entity answers 404 everywhere).
 */
#include "e2e.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Sends a request to a path built with printf; the caller frees *r. */
static void request(bw_test_resp_t *r, const char *method, const char *token, const char *body,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void request(bw_test_resp_t *r, const char *method, const char *token, const char *body,
                    const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    ck_assert_int_eq(bw_test_http(method, path, token, body, NULL, r), 0);
}

#define ck_assert_status(r, want)                                                                  \
    ck_assert_msg((r)->status == (want), "status %ld, want %d: %s", (r)->status, (want), (r)->body)

/* A key of another role for tenant t (caller frees). */
static char *role_key(const tenant_t *t, const char *role)
{
    bw_test_resp_t r;
    char body[128];
    snprintf(body, sizeof(body), "{\"name\":\"%s key\",\"role\":\"%s\"}", role, role);
    request(&r, "POST", t->key, body, "/v1/api-keys");
    ck_assert_status(&r, 201);
    char *key = strdup(jstr(r.json, "secret"));
    bw_test_resp_free(&r);
    return key;
}

/* The element of array whose member key equals value, or NULL. */
static json_t *find_by(json_t *array, const char *key, const char *value)
{
    for (size_t i = 0; i < json_array_size(array); i++)
        if (strcmp(jstr(json_array_get(array, i), key), value) == 0)
            return json_array_get(array, i);
    return NULL;
}

static int array_has(json_t *array, const char *value)
{
    for (size_t i = 0; i < json_array_size(array); i++)
        if (strcmp(json_string_value(json_array_get(array, i)), value) == 0)
            return 1;
    return 0;
}

/* Whether a problem has a violation of field whose message contains text. */
static int has_error(json_t *problem, const char *field, const char *text)
{
    json_t *errs = json_object_get(problem, "errors");
    for (size_t i = 0; i < json_array_size(errs); i++) {
        json_t *e = json_array_get(errs, i);
        if (strcmp(jstr(e, "field"), field) == 0 && strstr(jstr(e, "message"), text) != NULL)
            return 1;
    }
    return 0;
}

/* A JSON body {"csv": text}; caller frees. */
static char *csv_body(const char *text)
{
    json_t *o = json_pack("{s:s}", "csv", text);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return body;
}

/* Imports a SoA recording every assessable ISO requirement with status. */
static void import_all(const tenant_t *t, const char *status)
{
    bw_test_resp_t r;
    request(&r, "GET", t->key, NULL, "/v1/frameworks/iso27001-2022/requirements?pageSize=500");
    ck_assert_status(&r, 200);
    json_t *reqs = json_object_get(r.json, "requirements");
    size_t cap = 64 * json_array_size(reqs) + 64, used = 0;
    char *csv = malloc(cap);
    used += (size_t)snprintf(csv, cap, "ref,applicable,status,justification\r\n");
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        json_t *q = json_array_get(reqs, i);
        if (json_is_true(json_object_get(q, "assessable")))
            used +=
                (size_t)snprintf(csv + used, cap - used, "%s,true,%s,\r\n", jstr(q, "ref"), status);
    }
    bw_test_resp_free(&r);
    char *body = csv_body(csv);
    request(&r, "POST", t->key, body, "/v1/entities/%s/controls:import", t->entity);
    ck_assert_status(&r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), 123);
    bw_test_resp_free(&r);
    free(body);
    free(csv);
}

START_TEST(frameworks_and_requirements)
{
    tenant_t t = new_tenant_with_entity("Frameworks", ACME_CLOUD);
    char *viewer = role_key(&t, "viewer");
    bw_test_resp_t r;
    request(&r, "GET", viewer, NULL, "/v1/frameworks");
    ck_assert_status(&r, 200);
    json_t *fws = json_object_get(r.json, "frameworks");
    ck_assert_uint_eq(json_array_size(fws), 3);
    json_t *iso = find_by(fws, "id", "iso27001-2022");
    ck_assert_ptr_nonnull(iso);
    ck_assert_str_eq(jstr(iso, "version"), "2022");
    ck_assert_int_eq(json_integer_value(json_object_get(iso, "assessableCount")), 123);
    ck_assert_ptr_nonnull(find_by(fws, "id", "nis2"));
    json_t *ir = find_by(fws, "id", "nis2-ir-2024-2690");
    ck_assert_ptr_nonnull(ir);
    /* Every framework names a source, with its version. */
    json_t *sources = json_object_get(r.json, "sources");
    json_t *src = find_by(sources, "id", jstr(ir, "source"));
    ck_assert_ptr_nonnull(src);
    ck_assert_str_ne(jstr(src, "version"), "");
    json_t *enisa = find_by(sources, "id", "enisa-tig-mapping");
    ck_assert_ptr_nonnull(enisa);
    ck_assert_ptr_nonnull(strstr(jstr(enisa, "version"), "656bb558"));
    bw_test_resp_free(&r);

    /* The 93 Annex A controls, paged. */
    int controls = 0, pages = 0;
    char token[512] = "";
    do {
        request(&r, "GET", viewer, NULL,
                "/v1/frameworks/iso27001-2022/requirements?pageSize=40%s%s",
                token[0] ? "&pageToken=" : "", token);
        ck_assert_status(&r, 200);
        json_t *reqs = json_object_get(r.json, "requirements");
        ck_assert_uint_le(json_array_size(reqs), 40);
        for (size_t i = 0; i < json_array_size(reqs); i++)
            controls += strcmp(jstr(json_array_get(reqs, i), "kind"), "annex_a_control") == 0;
        snprintf(token, sizeof(token), "%s", jstr(r.json, "nextPageToken"));
        bw_test_resp_free(&r);
        pages++;
    } while (token[0] != '\0' && pages < 10);
    ck_assert_int_eq(controls, 93);
    ck_assert_int_eq(pages, 4);

    request(&r, "GET", viewer, NULL, "/v1/frameworks/nis2/requirements?pageSize=500");
    json_t *reqs = json_object_get(r.json, "requirements");
    json_t *a = find_by(reqs, "ref", "21.2.a");
    ck_assert_str_eq(jstr(a, "parent"), "21.2");
    json_t *ew = find_by(reqs, "ref", "23.4.a");
    ck_assert(json_is_false(json_object_get(ew, "isoCoverable")));
    ck_assert_ptr_nonnull(strstr(jstr(ew, "obligation"), "24 hours"));
    bw_test_resp_free(&r);

    /* The Annex A controls the ENISA mapping never maps are listed, not dropped. */
    request(&r, "GET", viewer, NULL,
            "/v1/frameworks/iso27001-2022/requirements?unmappedIn=nis2-ir-2024-2690&pageSize=500");
    ck_assert_status(&r, 200);
    reqs = json_object_get(r.json, "requirements");
    int annex_a = 0;
    for (size_t i = 0; i < json_array_size(reqs); i++)
        annex_a += jstr(json_array_get(reqs, i), "ref")[0] == 'A';
    ck_assert_int_eq(annex_a, 24);
    ck_assert_ptr_nonnull(find_by(reqs, "ref", "A.8.28"));
    ck_assert_ptr_null(find_by(reqs, "ref", "A.5.1"));
    bw_test_resp_free(&r);
    request(&r, "GET", viewer, NULL,
            "/v1/frameworks/iso27001-2022/requirements?unmappedIn=nis2&pageSize=500");
    reqs = json_object_get(r.json, "requirements");
    annex_a = 0;
    for (size_t i = 0; i < json_array_size(reqs); i++)
        annex_a += jstr(json_array_get(reqs, i), "ref")[0] == 'A';
    ck_assert_int_eq(annex_a, 24);
    ck_assert_ptr_nonnull(find_by(reqs, "ref", "A.5.5"));
    ck_assert_ptr_null(find_by(reqs, "ref", "A.5.1"));
    bw_test_resp_free(&r);

    request(&r, "GET", viewer, NULL, "/v1/frameworks/iso27001-2013/requirements");
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    request(&r, "GET", viewer, NULL, "/v1/frameworks/nis2/requirements?unmappedIn=nis3");
    ck_assert_problem(&r, 400, "unmappedIn");
    bw_test_resp_free(&r);
    request(&r, "GET", viewer, NULL, "/v1/frameworks/nis2/requirements?pageToken=forged");
    ck_assert_problem(&r, 400, "pageToken");
    bw_test_resp_free(&r);
    request(&r, "GET", NULL, NULL, "/v1/frameworks");
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    free(viewer);
    free_tenant(&t);
}
END_TEST

START_TEST(mappings_compose_through_the_regulation)
{
    tenant_t t = new_tenant_with_entity("Mappings", ACME_CLOUD);
    bw_test_resp_t r;
    request(&r, "GET", t.key, NULL,
            "/v1/mappings?sourceFramework=iso27001-2022&targetFramework=nis2&sourceRef=A.5.1");
    ck_assert_status(&r, 200);
    json_t *maps = json_object_get(r.json, "mappings");
    json_t *m = find_by(maps, "targetRef", "21.2.a");
    ck_assert_ptr_nonnull(m);
    ck_assert(json_is_true(json_object_get(m, "derived")));
    ck_assert_str_eq(jstr(m, "viaFramework"), "nis2-ir-2024-2690");
    ck_assert(array_has(json_object_get(m, "via"), "1.1.1.a"));
    ck_assert_str_eq(jstr(m, "relationship"), "INTERSECT");
    ck_assert_str_ne(jstr(m, "rationale"), "");
    ck_assert_ptr_nonnull(strstr(jstr(m, "source"), "ENISA"));
    bw_test_resp_free(&r);

    /* A direct editorial row is not derived. */
    request(&r, "GET", t.key, NULL,
            "/v1/mappings?sourceFramework=iso27001-2022&targetFramework=nis2&sourceRef=5.1");
    m = find_by(json_object_get(r.json, "mappings"), "targetRef", "20.1.approve");
    ck_assert_ptr_nonnull(m);
    ck_assert(json_is_false(json_object_get(m, "derived")));
    bw_test_resp_free(&r);

    /* All 927 ISO -> Regulation rows across pages, none twice. */
    int rows = 0, pages = 0;
    char token[512] = "", last[64] = "";
    do {
        request(&r, "GET", t.key, NULL,
                "/v1/mappings?sourceFramework=iso27001-2022&targetFramework=nis2-ir-2024-2690"
                "&pageSize=500%s%s",
                token[0] ? "&pageToken=" : "", token);
        ck_assert_status(&r, 200);
        maps = json_object_get(r.json, "mappings");
        for (size_t i = 0; i < json_array_size(maps); i++) {
            json_t *row = json_array_get(maps, i);
            char key[64];
            snprintf(key, sizeof(key), "%s %s", jstr(row, "sourceRef"), jstr(row, "targetRef"));
            ck_assert_str_ne(key, last);
            snprintf(last, sizeof(last), "%s", key);
            rows++;
        }
        snprintf(token, sizeof(token), "%s", jstr(r.json, "nextPageToken"));
        bw_test_resp_free(&r);
    } while (token[0] != '\0' && ++pages < 10);
    ck_assert_int_eq(rows, 927);

    /* Read backwards, SUBSET becomes SUPERSET. */
    request(&r, "GET", t.key, NULL,
            "/v1/mappings?sourceFramework=nis2&targetFramework=nis2-ir-2024-2690&sourceRef=21.2.b");
    m = find_by(json_object_get(r.json, "mappings"), "targetRef", "3.2.1");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(jstr(m, "relationship"), "SUPERSET");
    bw_test_resp_free(&r);

    request(&r, "GET", t.key, NULL, "/v1/mappings?targetFramework=nis2");
    ck_assert_problem(&r, 400, "sourceFramework");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/mappings?sourceFramework=nis2&targetFramework=nis2");
    ck_assert_problem(&r, 400, "targetFramework");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL,
            "/v1/mappings?sourceFramework=iso27001-2022&targetFramework=nis2&sourceRef=A.9.99");
    ck_assert_problem(&r, 400, "sourceRef");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/mappings?sourceFramework=cobit&targetFramework=nis2");
    ck_assert_problem(&r, 400, "sourceFramework");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(tenant_mapping_rows_win_for_that_tenant_only)
{
    tenant_t a = new_tenant_with_entity("Override A", ACME_CLOUD),
             b = new_tenant_with_entity("Override B", ACME_CLOUD);
    bw_test_resp_t r;
    /* A.8.24 (cryptography) is mapped to no part of the Regulation's 9.2. */
    request(&r, "PUT", a.key,
            "{\"applicable\":true,\"status\":\"IMPLEMENTED\",\"justification\":\"KMS in place\"}",
            "/v1/entities/%s/controls/A.8.24", a.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    request(&r, "GET", a.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2-ir-2024-2690",
            a.entity);
    json_t *req = find_by(json_object_get(r.json, "requirements"), "ref", "9.2");
    ck_assert_str_eq(jstr(req, "coverage"), "GAP");
    ck_assert(json_is_false(json_object_get(req, "mapped")));
    bw_test_resp_free(&r);

    const char *body = "{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.8.24\","
                       "\"targetFramework\":\"nis2-ir-2024-2690\",\"targetRef\":\"9.2\","
                       "\"relationship\":\"EQUAL\",\"rationale\":\"our auditor: the key "
                       "management standard covers 9.2 whole\"}";
    request(&r, "POST", a.key, body, "/v1/mapping-overrides");
    ck_assert_status(&r, 201);
    char *id = strdup(jstr(r.json, "id"));
    ck_assert_str_eq(jstr(r.json, "relationship"), "EQUAL");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "author"), "api-key:"));
    ck_assert_str_ne(jstr(r.json, "createTime"), "");
    bw_test_resp_free(&r);
    request(&r, "POST", a.key, body, "/v1/mapping-overrides");
    ck_assert_problem(&r, 409, NULL);
    bw_test_resp_free(&r);

    /* The tenant's row shows in its mappings and upgrades its gap analysis. */
    request(&r, "GET", a.key, NULL,
            "/v1/mappings?sourceFramework=iso27001-2022&targetFramework=nis2-ir-2024-2690"
            "&sourceRef=A.8.24");
    json_t *m = find_by(json_object_get(r.json, "mappings"), "targetRef", "9.2");
    ck_assert_ptr_nonnull(m);
    ck_assert(json_is_true(json_object_get(m, "tenantOverride")));
    ck_assert_str_eq(jstr(m, "mappingOverride"), id);
    bw_test_resp_free(&r);
    request(&r, "GET", a.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2-ir-2024-2690",
            a.entity);
    req = find_by(json_object_get(r.json, "requirements"), "ref", "9.2");
    ck_assert_str_eq(jstr(req, "coverage"), "COVERED");
    ck_assert(array_has(json_object_get(req, "contributingControls"), "A.8.24"));
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "mappingOverrides")), 1);
    bw_test_resp_free(&r);
    request(&r, "GET", a.key, NULL, "/v1/mapping-overrides");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "mappingOverrides")), 1);
    bw_test_resp_free(&r);

    /* Tenant B sees neither the row nor its effect, and cannot delete it. */
    request(&r, "GET", b.key, NULL, "/v1/mapping-overrides");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "mappingOverrides")), 0);
    bw_test_resp_free(&r);
    request(&r, "GET", b.key, NULL,
            "/v1/mappings?sourceFramework=iso27001-2022&targetFramework=nis2-ir-2024-2690"
            "&sourceRef=A.8.24");
    ck_assert_ptr_null(find_by(json_object_get(r.json, "mappings"), "targetRef", "9.2"));
    bw_test_resp_free(&r);
    request(&r, "DELETE", b.key, NULL, "/v1/mapping-overrides/%s", id);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);

    /* A viewer may not add one; bad rows name their field. */
    char *viewer = role_key(&a, "viewer");
    request(&r, "POST", viewer, body, "/v1/mapping-overrides");
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    struct {
        const char *body, *field;
    } bad[] = {
        {"{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.5.1\",\"targetFramework\":"
         "\"nis2\",\"targetRef\":\"21.2.a\",\"rationale\":\"x\"}",
         "relationship"},
        {"{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.5.1\",\"targetFramework\":"
         "\"nis2\",\"targetRef\":\"21.2.a\",\"relationship\":\"EQUAL\"}",
         "rationale"},
        {"{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.5\",\"targetFramework\":"
         "\"nis2\",\"targetRef\":\"21.2.a\",\"relationship\":\"EQUAL\",\"rationale\":\"x\"}",
         "sourceRef"},
        {"{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.5.1\",\"targetFramework\":"
         "\"nis2\",\"targetRef\":\"21.9\",\"relationship\":\"EQUAL\",\"rationale\":\"x\"}",
         "targetRef"},
        {"{\"sourceFramework\":\"nis2\",\"sourceRef\":\"21.2.a\",\"targetFramework\":"
         "\"nis2\",\"targetRef\":\"21.2.b\",\"relationship\":\"EQUAL\",\"rationale\":\"x\"}",
         "targetFramework"},
        {"{\"sourceFramework\":\"iso27001-2022\",\"sourceRef\":\"A.5.1\",\"targetFramework\":"
         "\"nis2\",\"targetRef\":\"21.2.a\",\"relationship\":\"SAME\",\"rationale\":\"x\"}",
         "relationship"},
        {"{\"targetFramework\":\"nis2\",\"targetRef\":\"21.2.a\",\"relationship\":\"EQUAL\","
         "\"rationale\":\"x\"}",
         "sourceFramework"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        request(&r, "POST", a.key, bad[i].body, "/v1/mapping-overrides");
        ck_assert_problem(&r, 400, bad[i].field);
        bw_test_resp_free(&r);
    }

    request(&r, "DELETE", a.key, NULL, "/v1/mapping-overrides/%s", id);
    ck_assert_status(&r, 204);
    bw_test_resp_free(&r);
    request(&r, "DELETE", a.key, NULL, "/v1/mapping-overrides/%s", id);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    request(&r, "GET", a.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2-ir-2024-2690",
            a.entity);
    req = find_by(json_object_get(r.json, "requirements"), "ref", "9.2");
    ck_assert_str_eq(jstr(req, "coverage"), "GAP");
    bw_test_resp_free(&r);
    free(viewer);
    free(id);
    free_tenant(&a);
    free_tenant(&b);
}
END_TEST

START_TEST(statement_of_applicability_put_and_get)
{
    tenant_t t = new_tenant_with_entity("SoA", ACME_CLOUD);
    bw_test_resp_t r;
    char *editor = role_key(&t, "editor");
    request(
        &r, "PUT", editor,
        "{\"applicable\":true,\"status\":\"PARTIAL\",\"justification\":\"policy drafted\","
        "\"evidence\":[\"https://wiki.example/isms/policy\",\"urn:doc:42\"],\"owner\":\"CISO\"}",
        "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_str_eq(jstr(r.json, "ref"), "A.5.1");
    ck_assert_str_eq(jstr(r.json, "title"), "Policies for information security");
    ck_assert_str_eq(jstr(r.json, "status"), "PARTIAL");
    ck_assert(json_is_true(json_object_get(r.json, "applicable")));
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "evidence")), 2);
    ck_assert_str_eq(jstr(r.json, "owner"), "CISO");
    char *etag = strdup(jstr(r.json, "etag"));
    bw_test_resp_free(&r);

    /* The same values again change nothing, not even the etag. */
    request(
        &r, "PUT", editor,
        "{\"applicable\":true,\"status\":\"PARTIAL\",\"justification\":\"policy drafted\","
        "\"evidence\":[\"https://wiki.example/isms/policy\",\"urn:doc:42\"],\"owner\":\"CISO\"}",
        "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_str_eq(jstr(r.json, "etag"), etag);
    bw_test_resp_free(&r);

    /* An excluded control with its justification; clauses are recorded too. */
    request(&r, "PUT", t.key, "{\"applicable\":false,\"justification\":\"no development\"}",
            "/v1/entities/%s/controls/A.8.25", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "NOT_IMPLEMENTED");
    bw_test_resp_free(&r);
    request(&r, "PUT", t.key, "{\"applicable\":true,\"status\":\"IMPLEMENTED\"}",
            "/v1/entities/%s/controls/6.1.2", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);

    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_str_eq(jstr(r.json, "justification"), "policy drafted");
    ck_assert_str_eq(jstr(r.json, "etag"), etag);
    bw_test_resp_free(&r);

    /* The list is in the standard's order: clauses first, then Annex A. */
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls?pageSize=2", t.entity);
    ck_assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "controls");
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(jstr(json_array_get(list, 0), "ref"), "6.1.2");
    ck_assert_str_eq(jstr(json_array_get(list, 1), "ref"), "A.5.1");
    char token[512];
    snprintf(token, sizeof(token), "%s", jstr(r.json, "nextPageToken"));
    ck_assert_str_ne(token, "");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls?pageSize=2&pageToken=%s", t.entity,
            token);
    list = json_object_get(r.json, "controls");
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_str_eq(jstr(json_array_get(list, 0), "ref"), "A.8.25");
    ck_assert_str_eq(jstr(r.json, "nextPageToken"), "");
    bw_test_resp_free(&r);

    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.2", t.entity);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);

    /* The history holds each change, with who made it. */
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:history", t.entity);
    ck_assert_status(&r, 200);
    json_t *changes = json_object_get(r.json, "changes");
    ck_assert_uint_eq(json_array_size(changes), 3);
    json_t *c0 = json_array_get(changes, 0);
    ck_assert_str_eq(jstr(c0, "ref"), "A.5.1");
    ck_assert_str_eq(jstr(c0, "change"), "CREATED");
    ck_assert_str_eq(jstr(c0, "via"), "PUT");
    ck_assert_str_ne(jstr(c0, "principal"), "");
    ck_assert_str_ne(jstr(c0, "changeTime"), "");
    bw_test_resp_free(&r);
    request(&r, "PUT", t.key, "{\"applicable\":true,\"status\":\"IMPLEMENTED\"}",
            "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_str_ne(jstr(r.json, "etag"), etag);
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:history?ref=A.5.1", t.entity);
    changes = json_object_get(r.json, "changes");
    ck_assert_uint_eq(json_array_size(changes), 2);
    ck_assert_str_eq(jstr(json_array_get(changes, 1), "change"), "UPDATED");
    ck_assert_str_eq(jstr(json_array_get(changes, 1), "status"), "IMPLEMENTED");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:history?ref=Z.1", t.entity);
    ck_assert_problem(&r, 400, "ref");
    bw_test_resp_free(&r);
    free(etag);
    free(editor);
    free_tenant(&t);
}
END_TEST

START_TEST(bad_controls_name_the_field)
{
    tenant_t t = new_tenant_with_entity("Bad SoA", ACME_CLOUD);
    bw_test_resp_t r;
    struct {
        const char *ref, *body, *field;
        int status;
    } bad[] = {
        {"A.5.2", "{\"applicable\":false}", "justification", 400},
        {"A.5.2", "{\"status\":\"IMPLEMENTED\"}", "justification", 400},
        {"A.5.2", "{\"applicable\":true}", "status", 400},
        {"A.5.2", "{\"applicable\":true,\"status\":\"DONE\"}", "status", 400},
        {"A.5.2", "{\"applicable\":true,\"status\":\"PLANNED\",\"colour\":\"red\"}", "colour", 400},
        {"A.5.2", "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"not a uri\"]}",
         "evidence[0]", 400},
        /* Evidence links are https, http or urn; the index names the bad one. */
        {"A.5.2",
         "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"https://wiki.example/a\","
         "\"urn:isbn:0451450523\",\"javascript:alert(1)\"]}",
         "evidence[2]", 400},
        {"A.5.2",
         "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"file:///etc/passwd\"]}",
         "evidence[0]", 400},
        {"A.5.2",
         "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"data:text/html,<b>x</b>\"]}",
         "evidence[0]", 400},
        {"A.5.2",
         "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"ftp://files.example/x\"]}",
         "evidence[0]", 400},
        {"A.5.2", "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"http:///nohost\"]}",
         "evidence[0]", 400},
        {"A.5.2", "{\"applicable\":true,\"status\":\"PLANNED\",\"evidence\":[\"urn:isbn\"]}",
         "evidence[0]", 400},
        {"A.5.2", "{\"applicable\":\"yes\",\"status\":\"PLANNED\"}", "applicable", 400},
        {"6.1.2", "{\"applicable\":false,\"justification\":\"we skip it\"}", "applicable", 400},
        {"6.1", "{\"applicable\":true,\"status\":\"PLANNED\"}", "ref", 400},
        {"A.9.99", "{\"applicable\":true,\"status\":\"PLANNED\"}", NULL, 404},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        request(&r, "PUT", t.key, bad[i].body, "/v1/entities/%s/controls/%s", t.entity, bad[i].ref);
        ck_assert_problem(&r, bad[i].status, bad[i].field);
        bw_test_resp_free(&r);
    }
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.9.99", t.entity);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    /* Nothing of it was written. */
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls", t.entity);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "controls")), 0);
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:history", t.entity);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "changes")), 0);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(csv_import_is_all_or_nothing)
{
    tenant_t t = new_tenant_with_entity("Import", ACME_CLOUD);
    bw_test_resp_t r;
    char *body = csv_body("ref,applicable,status,justification\r\n"
                          "A.5.1,true,IMPLEMENTED,\r\n"
                          "A.5.2,true,partial,\"roles, partly assigned\"\r\n"
                          "A.5.3,false,,\"too small to segregate\"\r\n"
                          "A.5.4,yes,PLANNED,\r\n"
                          "A.5.5,true,NOT_IMPLEMENTED,\r\n"
                          "A.9.99,true,PLANNED,\r\n"
                          "A.5.1,true,PLANNED,\r\n"
                          "A.5.6,false,,\r\n"
                          "A.5.7,maybe,DONE,\r\n"
                          "A.5.8,true\r\n");
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 400, "csv");
    ck_assert(has_error(r.json, "csv", "line 7: unknown control A.9.99"));
    ck_assert(has_error(r.json, "csv", "line 8: A.5.1 already appears on line 2"));
    ck_assert(has_error(r.json, "csv", "line 9: justification is required"));
    ck_assert(has_error(r.json, "csv", "line 10: applicable must be true or false"));
    ck_assert(has_error(r.json, "csv", "line 10: unknown status \"DONE\""));
    ck_assert(has_error(r.json, "csv", "line 11: expected 4 fields, found 2"));
    bw_test_resp_free(&r);
    free(body);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls", t.entity);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "controls")), 0);
    bw_test_resp_free(&r);

    /* Broken CSV and a bad header. */
    body = csv_body("ref,applicable,status,justification\nA.5.1,true,\"IMPL\nEMENTED,\n");
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 400, "csv");
    ck_assert(has_error(r.json, "csv", "line 2: a quoted field is not closed"));
    bw_test_resp_free(&r);
    free(body);
    body = csv_body("ref,applicable,state\nA.5.1,true,IMPLEMENTED\n");
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert(has_error(r.json, "csv", "line 1: unknown column \"state\""));
    ck_assert(has_error(r.json, "csv", "line 1: missing column \"status\""));
    bw_test_resp_free(&r);
    free(body);
    request(&r, "POST", t.key, "{\"csv\":\"\"}", "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 400, "csv");
    bw_test_resp_free(&r);
    /* Forty bad lines: the first 31 are shown, then how many more there are. */
    char many[2048];
    size_t used = (size_t)snprintf(many, sizeof(many), "ref,applicable,status,justification\n");
    for (int i = 0; i < 40; i++)
        used += (size_t)snprintf(many + used, sizeof(many) - used, "A.9.%d,true,PLANNED,\n", i);
    body = csv_body(many);
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 400, "csv");
    ck_assert(has_error(r.json, "csv", "line 32: unknown control A.9.30"));
    ck_assert(has_error(r.json, "csv", "9 more problems not shown"));
    bw_test_resp_free(&r);
    free(body);

    /* An evidence cell of 100,000 links is one problem (split into the
     * first 21 at most, enough to say so). */
    {
        size_t cap = 64 + 100000 * 12;
        char *links = malloc(cap);
        ck_assert_ptr_nonnull(links);
        size_t o = (size_t)snprintf(links, cap,
                                    "ref,applicable,status,justification,evidence\nA.5.1,true,"
                                    "IMPLEMENTED,,");
        for (int i = 0; i < 100000; i++)
            o += (size_t)snprintf(links + o, cap - o, "%surn:x:%d", i ? " " : "", i % 10);
        snprintf(links + o, cap - o, "\n");
        body = csv_body(links);
        request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
        ck_assert_problem(&r, 400, "csv");
        ck_assert_msg(has_error(r.json, "csv", "line 2: evidence holds more than 20 links"), "%s",
                      r.body);
        bw_test_resp_free(&r);
        free(body);
        free(links);
    }

    /* A good file lands whole, then exports and imports back unchanged. */
    body = csv_body("Justification,Ref,Applicable,Status,Owner,Evidence\r\n"
                    ",A.5.1,true,IMPLEMENTED,CISO,https://wiki.example/a https://wiki.example/b\r\n"
                    "\"roles, \"\"partly\"\" assigned\",A.5.2,TRUE,partial,,\r\n"
                    "too small to segregate,A.5.3,false,,,\r\n");
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 3);
    bw_test_resp_free(&r);
    free(body);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.2", t.entity);
    ck_assert_str_eq(jstr(r.json, "justification"), "roles, \"partly\" assigned");
    ck_assert_str_eq(jstr(r.json, "status"), "PARTIAL");
    bw_test_resp_free(&r);

    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:export", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), 3);
    const char *csv = jstr(r.json, "csv");
    ck_assert_int_eq(strncmp(csv, "ref,applicable,status,justification,owner,evidence\r\n", 52), 0);
    ck_assert_ptr_nonnull(strstr(csv, "A.5.1,true,IMPLEMENTED,,CISO,"
                                      "https://wiki.example/a https://wiki.example/b\r\n"));
    ck_assert_ptr_nonnull(strstr(csv, "\"roles, \"\"partly\"\" assigned\""));
    body = csv_body(csv);
    bw_test_resp_free(&r);
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 0);
    bw_test_resp_free(&r);
    free(body);

    /* Without an owner column, owners stay; the history says IMPORT. */
    body = csv_body("ref,applicable,status,justification\nA.5.1,true,PARTIAL,\n");
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 1);
    bw_test_resp_free(&r);
    free(body);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_str_eq(jstr(r.json, "owner"), "CISO");
    ck_assert_str_eq(jstr(r.json, "status"), "PARTIAL");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:history?ref=A.5.1", t.entity);
    json_t *changes = json_object_get(r.json, "changes");
    ck_assert_uint_eq(json_array_size(changes), 2);
    ck_assert_str_eq(jstr(json_array_get(changes, 1), "via"), "IMPORT");
    bw_test_resp_free(&r);

    char *viewer = role_key(&t, "viewer");
    request(&r, "POST", viewer, "{\"csv\":\"ref,applicable,status,justification\\n\"}",
            "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    request(&r, "GET", viewer, NULL, "/v1/entities/%s/controls:export", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    free(viewer);
    free_tenant(&t);
}
END_TEST

/* Cells a spreadsheet would run as formulas leave the export behind a
 * quote (OWASP, CSV injection), and the export still imports back to the
 * same rows. */
START_TEST(csv_export_neutralises_formulas)
{
    tenant_t t = new_tenant_with_entity("Formulas", ACME_CLOUD);
    bw_test_resp_t r;
    request(&r, "PUT", t.key,
            "{\"applicable\":true,\"status\":\"PARTIAL\","
            "\"justification\":\"=HYPERLINK(\\\"https://evil.example\\\",\\\"click\\\")\","
            "\"owner\":\"@ops\",\"evidence\":[\"HTTPS://Wiki.Example/ISMS\",\"urn:doc:42\"]}",
            "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    request(&r, "PUT", t.key,
            "{\"applicable\":false,\"justification\":\"-1+2 people, so no segregation\","
            "\"owner\":\"+CISO\"}",
            "/v1/entities/%s/controls/A.5.3", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    request(&r, "PUT", t.key,
            "{\"applicable\":true,\"status\":\"PLANNED\",\"justification\":\"'=quoted already\","
            "\"owner\":\"-ops\"}",
            "/v1/entities/%s/controls/A.5.4", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);

    request(&r, "PUT", t.key,
            "{\"applicable\":true,\"status\":\"IMPLEMENTED\",\"justification\":\"\\tindented\"}",
            "/v1/entities/%s/controls/A.5.5", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);

    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls:export", t.entity);
    ck_assert_status(&r, 200);
    const char *csv = jstr(r.json, "csv");
    ck_assert_ptr_nonnull(strstr(
        csv, "A.5.1,true,PARTIAL,\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"click\"\")\","
             "'@ops,HTTPS://Wiki.Example/ISMS urn:doc:42\r\n"));
    ck_assert_ptr_nonnull(
        strstr(csv, "A.5.3,false,NOT_IMPLEMENTED,\"'-1+2 people, so no segregation\",'+CISO,\r\n"));
    ck_assert_ptr_nonnull(strstr(csv, "A.5.4,true,PLANNED,''=quoted already,'-ops,\r\n"));
    ck_assert_ptr_nonnull(strstr(csv, "A.5.5,true,IMPLEMENTED,'\tindented,,\r\n"));
    /* No cell of the file starts with a formula character. */
    for (const char *p = csv; *p != '\0'; p++)
        if (p == csv || p[-1] == ',' || p[-1] == '\n' ||
            (p[-1] == '"' && p >= csv + 2 && (p[-2] == ',' || p[-2] == '\n')))
            ck_assert_msg(strchr("=+-@", *p) == NULL, "a cell starts with %c: %.40s", *p, p);
    char *body = csv_body(csv);
    bw_test_resp_free(&r);
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 0);
    bw_test_resp_free(&r);
    free(body);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_str_eq(jstr(r.json, "justification"),
                     "=HYPERLINK(\"https://evil.example\",\"click\")");
    ck_assert_str_eq(jstr(r.json, "owner"), "@ops");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.4", t.entity);
    ck_assert_str_eq(jstr(r.json, "justification"), "'=quoted already");
    bw_test_resp_free(&r);

    /* An imported link with another scheme names its line and index. */
    body = csv_body("ref,applicable,status,justification,evidence\n"
                    "A.5.2,true,PLANNED,,https://ok.example javascript:alert(1)\n");
    request(&r, "POST", t.key, body, "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 400, "csv");
    ck_assert(has_error(r.json, "csv", "line 2: evidence[1] must be an https, http or urn URI"));
    bw_test_resp_free(&r);
    free(body);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.2", t.entity);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(gap_analysis_of_empty_and_complete_soa)
{
    tenant_t t = new_tenant_with_entity("Gaps", ACME_CLOUD);
    bw_test_resp_t r;
    /* Empty: every requirement ISO can cover is a gap. */
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2", t.entity);
    ck_assert_status(&r, 200);
    ck_assert_str_eq(jstr(r.json, "framework"), "nis2");
    json_t *totals = json_object_get(r.json, "totals");
    int coverable = (int)(json_integer_value(json_object_get(totals, "requirements")) -
                          json_integer_value(json_object_get(totals, "notCoverableByIso")));
    ck_assert_int_gt(coverable, 10);
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "gap")), coverable);
    json_t *reqs = json_object_get(r.json, "requirements");
    json_t *a = find_by(reqs, "ref", "21.2.a");
    ck_assert_str_eq(jstr(a, "coverage"), "GAP");
    ck_assert(array_has(json_object_get(a, "missingControls"), "A.5.1"));
    const char *duties[] = {"3.3",    "20.1.approve", "20.1.liability", "20.2.mgmt_training",
                            "23.4.a", "23.4.b",       "23.4.d"};
    for (size_t i = 0; i < sizeof(duties) / sizeof(duties[0]); i++) {
        json_t *d = find_by(reqs, "ref", duties[i]);
        ck_assert_msg(d != NULL, "%s missing", duties[i]);
        ck_assert_str_eq(jstr(d, "coverage"), "NOT_COVERABLE_BY_ISO");
        ck_assert_str_ne(jstr(d, "obligation"), "");
    }
    json_t *points = json_object_get(r.json, "points");
    ck_assert_uint_eq(json_array_size(points), 10);
    ck_assert_str_eq(jstr(json_array_get(points, 0), "point"), "21.2.a");
    ck_assert_str_eq(jstr(json_array_get(points, 0), "coverage"), "GAP");
    bw_test_resp_free(&r);

    /* Complete: every shipped row is an ENISA or editorial INTERSECT, so
     * every coverable requirement is mapped with evidence needed (NIST
     * OLIR), none COVERED; this asserted COVERED before. */
    import_all(&t, "IMPLEMENTED");
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2", t.entity);
    totals = json_object_get(r.json, "totals");
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "covered")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "gap")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "partial")), coverable);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "soaControls")), 123);
    reqs = json_object_get(r.json, "requirements");
    a = find_by(reqs, "ref", "21.2.a");
    ck_assert_str_eq(jstr(a, "coverage"), "PARTIAL");
    ck_assert_ptr_nonnull(strstr(jstr(a, "coverageReason"), "mapped, evidence needed"));
    ck_assert_uint_eq(json_array_size(json_object_get(a, "missingControls")), 0);
    /* Many-to-many: every control mapped to the point contributes. */
    ck_assert_uint_gt(json_array_size(json_object_get(a, "contributingControls")), 10);
    bw_test_resp_free(&r);

    /* Against the Regulation, per Annex requirement, with totals per point. */
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2-ir-2024-2690",
            t.entity);
    ck_assert_status(&r, 200);
    reqs = json_object_get(r.json, "requirements");
    json_t *q = find_by(reqs, "ref", "1.1.1.a");
    ck_assert_str_eq(jstr(q, "coverage"), "PARTIAL");
    ck_assert(json_is_true(json_object_get(q, "applies")));
    ck_assert_ptr_nonnull(strstr(jstr(q, "appliesReason"), "digital_infra.cloud"));
    ck_assert(array_has(json_object_get(q, "points"), "21.2.a"));
    ck_assert_str_eq(jstr(find_by(reqs, "ref", "9.2"), "coverage"), "GAP");
    points = json_object_get(r.json, "points");
    json_t *i_point = find_by(points, "point", "21.2.i");
    ck_assert_str_eq(jstr(i_point, "coverage"), "PARTIAL");
    ck_assert_int_gt(
        json_integer_value(json_object_get(json_object_get(i_point, "totals"), "requirements")),
        50);
    ck_assert_str_eq(jstr(find_by(points, "point", "21.2.h"), "coverage"), "PARTIAL");
    bw_test_resp_free(&r);

    /* One control excluded: the requirements it fed are partly covered. */
    request(&r, "PUT", t.key, "{\"applicable\":false,\"justification\":\"no crypto\"}",
            "/v1/entities/%s/controls/A.8.24", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2", t.entity);
    json_t *h = find_by(json_object_get(r.json, "requirements"), "ref", "21.2.h");
    ck_assert_str_eq(jstr(h, "coverage"), "PARTIAL");
    ck_assert(array_has(json_object_get(h, "excludedControls"), "A.8.24"));
    bw_test_resp_free(&r);

    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis", t.entity);
    ck_assert_problem(&r, 400, "framework");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=iso27001-2022",
            t.entity);
    ck_assert_problem(&r, 400, "framework");
    bw_test_resp_free(&r);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=dora", t.entity);
    ck_assert_problem(&r, 400, "framework");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

/* A gap analysis of an entity with these facts (the tenant's own entity is
 * replaced by it); returns the parsed reply of framework, asserting want. */
static json_t *analysis_of(tenant_t *t, const char *facts, const char *framework, int want)
{
    bw_test_resp_t r;
    request(&r, "POST", t->key, facts, "/v1/entities");
    ck_assert_status(&r, 201);
    free(t->entity);
    t->entity = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    request(&r, "GET", t->key, NULL, "/v1/entities/%s/gap-analysis?framework=%s", t->entity,
            framework);
    ck_assert_status(&r, want);
    json_t *json = json_incref(r.json);
    bw_test_resp_free(&r);
    return json;
}

static json_t *requirement(json_t *analysis, const char *ref)
{
    json_t *req = find_by(json_object_get(analysis, "requirements"), "ref", ref);
    ck_assert_msg(req != NULL, "no requirement %s", ref);
    return req;
}

static int applies(json_t *analysis, const char *ref)
{
    return json_is_true(json_object_get(requirement(analysis, ref), "applies"));
}

START_TEST(gap_analysis_scoped_to_what_applies_art_26_27_28_and_dora)
{
    tenant_t t = new_tenant_with_entity("Applies", ACME_CLOUD);
    /* A large hospital in Germany: Art 26(3), 27 and 28 do not bind it,
     * nor does IR 2024/2690 (422 for its analysis). */
    const char *hospital =
        "{\"name\":\"Klinikum\",\"timeZone\":\"Europe/Berlin\",\"activities\":[{\"entityType\":"
        "\"health.healthcare_provider\",\"principalActivity\":true}],\"size\":{\"staffHeadcount\":"
        "900,"
        "\"annualTurnoverEur\":\"90000000\",\"balanceSheetTotalEur\":\"90000000\"},"
        "\"memberState\":{\"establishment\":\"DE\"}}";
    json_t *g = analysis_of(&t, hospital, "nis2", 200);
    ck_assert(!applies(g, "28"));
    ck_assert_ptr_nonnull(strstr(jstr(requirement(g, "28"), "appliesReason"), "NIS2 Art 28"));
    ck_assert(!applies(g, "27.2"));
    ck_assert(!applies(g, "26.3"));
    ck_assert(applies(g, "3.3"));
    ck_assert(applies(g, "20.1.approve"));
    ck_assert(applies(g, "23.4.a"));
    ck_assert(applies(g, "21.2.a"));
    ck_assert_str_eq(jstr(requirement(g, "23.4.a"), "displacedBy"), "");
    json_t *totals = json_object_get(g, "totals");
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "notApplicable")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "requirements")), 29);
    ck_assert_str_ne(jstr(g, "scopingRulesetVersion"), "");
    json_decref(g);
    bw_test_resp_t r;
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2-ir-2024-2690",
            t.entity);
    ck_assert_problem(&r, 422, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "IMPLEMENTING_REGULATION_NOT_APPLICABLE");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "its Art 1"));
    bw_test_resp_free(&r);

    /* A registrar and cloud provider outside the Union serving Germany:
     * Art 26(3), 27 and 28 bind it. */
    g = analysis_of(
        &t,
        "{\"name\":\"Far Registrar\",\"timeZone\":\"UTC\",\"activities\":["
        "{\"entityType\":\"domain_registration.service\"},{\"entityType\":"
        "\"digital_infra.cloud\",\"principalActivity\":true}],\"size\":{"
        "\"staffHeadcount\":60,\"annualTurnoverEur\":\"12000000\","
        "\"balanceSheetTotalEur\":\"12000000\"},\"memberState\":{\"servicesIn\":[\"DE\"]}}",
        "nis2", 200);
    ck_assert(applies(g, "26.3"));
    ck_assert(applies(g, "27.2"));
    ck_assert(applies(g, "28"));
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(g, "totals"), "notApplicable")), 0);
    json_decref(g);

    /* A large bank: DORA displaces Art 20, 21, 23, 24 and supervision (NIS2
     * Art 4), each marked with what applies instead; it stays on the list
     * (Art 3(4)). */
    g = analysis_of(
        &t,
        "{\"name\":\"Bank AG\",\"timeZone\":\"Europe/Berlin\",\"activities\":[{"
        "\"entityType\":\"banking.credit_institution\",\"principalActivity\":true}],"
        "\"size\":{\"staffHeadcount\":900,\"annualTurnoverEur\":\"90000000\","
        "\"balanceSheetTotalEur\":\"90000000\"},\"memberState\":{\"establishment\":\"DE\"}}",
        "nis2", 200);
    ck_assert(applies(g, "3.3"));
    const struct {
        const char *ref, *instead;
    } displaced[] = {{"20.1.approve", "DORA Art 5"},
                     {"21.2.b", "DORA Art 5-16"},
                     {"23.4.a", "DORA Art 19"},
                     {"24", "DORA Art 5-16"},
                     {"32", "DORA Art 46"}};
    for (size_t i = 0; i < sizeof(displaced) / sizeof(displaced[0]); i++) {
        json_t *q = requirement(g, displaced[i].ref);
        ck_assert_msg(json_is_false(json_object_get(q, "applies")), "%s applies", displaced[i].ref);
        ck_assert_str_eq(jstr(q, "displacedBy"), displaced[i].instead);
        ck_assert_ptr_nonnull(strstr(jstr(q, "appliesReason"), "NIS2 Art 4"));
    }
    /* Its Art 21(2) points are rated for information, and say so. */
    json_t *p = find_by(json_object_get(g, "points"), "point", "21.2.a");
    ck_assert(json_is_false(json_object_get(p, "applies")));
    json_decref(g);
    request(&r, "GET", t.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2-ir-2024-2690",
            t.entity);
    ck_assert_problem(&r, 422, NULL);
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "DORA"));
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(other_tenants_entities_answer_404)
{
    tenant_t a = new_tenant_with_entity("Owner", ACME_CLOUD),
             b = new_tenant_with_entity("Intruder", ACME_CLOUD);
    bw_test_resp_t r;
    request(&r, "PUT", a.key, "{\"applicable\":true,\"status\":\"IMPLEMENTED\"}",
            "/v1/entities/%s/controls/A.5.1", a.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    const char *missing = "0193a2b4-1111-7222-8333-444455556666";
    const char *ids[] = {a.entity, missing, "not-a-uuid"};
    for (size_t i = 0; i < 3; i++) {
        const char *e = ids[i];
        request(&r, "GET", b.key, NULL, "/v1/entities/%s/controls", e);
        ck_assert_problem(&r, 404, NULL);
        ck_assert_str_eq(jstr(r.json, "reason"), "ENTITY_NOT_FOUND");
        bw_test_resp_free(&r);
        request(&r, "GET", b.key, NULL, "/v1/entities/%s/controls/A.5.1", e);
        ck_assert_problem(&r, 404, NULL);
        bw_test_resp_free(&r);
        request(&r, "PUT", b.key, "{\"applicable\":true,\"status\":\"PLANNED\"}",
                "/v1/entities/%s/controls/A.5.1", e);
        ck_assert_problem(&r, 404, NULL);
        bw_test_resp_free(&r);
        request(&r, "POST", b.key,
                "{\"csv\":\"ref,applicable,status,justification\\nA.5.1,true,"
                "PLANNED,\\n\"}",
                "/v1/entities/%s/controls:import", e);
        ck_assert_problem(&r, 404, NULL);
        bw_test_resp_free(&r);
        request(&r, "GET", b.key, NULL, "/v1/entities/%s/controls:export", e);
        ck_assert_problem(&r, 404, NULL);
        bw_test_resp_free(&r);
        request(&r, "GET", b.key, NULL, "/v1/entities/%s/controls:history", e);
        ck_assert_problem(&r, 404, NULL);
        bw_test_resp_free(&r);
        request(&r, "GET", b.key, NULL, "/v1/entities/%s/gap-analysis?framework=nis2", e);
        ck_assert_problem(&r, 404, NULL);
        bw_test_resp_free(&r);
    }
    /* A's SoA is as A left it. */
    request(&r, "GET", a.key, NULL, "/v1/entities/%s/controls/A.5.1", a.entity);
    ck_assert_status(&r, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "IMPLEMENTED");
    bw_test_resp_free(&r);
    /* A deleted entity's SoA answers 404 at once. */
    request(&r, "DELETE", a.key, NULL, "/v1/entities/%s", a.entity);
    ck_assert_status(&r, 204);
    bw_test_resp_free(&r);
    request(&r, "GET", a.key, NULL, "/v1/entities/%s/controls/A.5.1", a.entity);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    free_tenant(&a);
    free_tenant(&b);
}
END_TEST

/* The same PUT of a new control from several clients at once (a retry, a
 * double submit): every one answered 200 with the control as recorded.
 * One that waited for another's new row could not see it in its
 * statement's snapshot and was answered 500 (seen 2 of 60 here). */
START_TEST(the_same_new_control_put_at_once_is_200_for_all)
{
    enum { REFS = 20, RACERS = 3 };
    tenant_t t = new_tenant_with_entity("PUT at once", ACME_CLOUD);
    static const char body[] = "{\"applicable\":true,\"status\":\"IMPLEMENTED\","
                               "\"justification\":\"Reviewed in the race.\"}";
    char path[REFS][128];
    bw_test_async_t racers[REFS * RACERS];
    for (int i = 0; i < REFS; i++)
        snprintf(path[i], sizeof(path[i]), "/v1/entities/%s/controls/A.5.%d", t.entity, i + 1);
    for (int i = 0; i < REFS * RACERS; i++) {
        racers[i] = (bw_test_async_t){
            .method = "PUT", .path = path[i / RACERS], .token = t.key, .body = body};
        bw_test_http_start(&racers[i]);
    }
    for (int i = 0; i < REFS * RACERS; i++)
        bw_test_http_join(&racers[i]);
    for (int i = 0; i < REFS * RACERS; i++) {
        ck_assert_msg(racers[i].resp.status == 200, "%s: %ld %s", racers[i].path,
                      racers[i].resp.status, racers[i].resp.body);
        ck_assert_str_eq(jstr(racers[i].resp.json, "status"), "IMPLEMENTED");
        ck_assert_str_eq(jstr(racers[i].resp.json, "etag"),
                         jstr(racers[i - i % RACERS].resp.json, "etag"));
    }
    for (int i = 0; i < REFS * RACERS; i++)
        bw_test_resp_free(&racers[i].resp);
    free_tenant(&t);
}
END_TEST

START_TEST(imports_in_any_row_order_do_not_deadlock)
{
    /* An import upserts its rows; each upsert locks the control's row. It
     * took them in the file's order, so two imports listing the same
     * controls in other orders could each hold one and wait for the other:
     * a deadlock, 409 on a valid import. Here the other import is the
     * test's own transaction, locking A.5.1 and then A.5.2 while an import
     * listing A.5.2 first waits. They are now taken in the controls' order,
     * whatever the file's. */
    tenant_t t = new_tenant_with_entity("Import order", ACME_CLOUD);
    static const char body[] = "{\"applicable\":true,\"status\":\"PLANNED\"}";
    bw_test_resp_t r;
    request(&r, "PUT", t.key, body, "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    request(&r, "PUT", t.key, body, "/v1/entities/%s/controls/A.5.2", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    PGconn *admin = bw_test_begin_as(t.id);
    static const char lock[] = "SELECT 1 FROM crosswalk.soa_controls WHERE entity_id = $1::uuid "
                               "AND ref = $2 FOR UPDATE";
    bw_test_one_row(admin, lock, t.entity, "A.5.1");
    char *csv = csv_body("ref,applicable,status,justification\r\n"
                         "A.5.2,true,IMPLEMENTED,\r\n"
                         "A.5.1,true,IMPLEMENTED,\r\n");
    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s/controls:import", t.entity);
    bw_test_async_t import = {.method = "POST", .path = path, .token = t.key, .body = csv};
    bw_test_http_start(&import);
    usleep(500 * 1000); /* the import waits for A.5.1 */
    bw_test_one_row(admin, lock, t.entity, "A.5.2");
    bw_test_exec(admin, "COMMIT");
    PQfinish(admin);
    bw_test_http_join(&import);
    ck_assert_msg(import.resp.status == 200, "status %ld: %s", import.resp.status,
                  import.resp.body);
    bw_test_resp_free(&import.resp);
    free(csv);
    free_tenant(&t);
}
END_TEST

START_TEST(roles_read_and_write)
{
    tenant_t t = new_tenant_with_entity("Roles", ACME_CLOUD);
    char *viewer = role_key(&t, "viewer"), *auditor = role_key(&t, "auditor");
    char *editor = role_key(&t, "editor");
    bw_test_resp_t r;
    request(&r, "PUT", viewer, "{\"applicable\":true,\"status\":\"PLANNED\"}",
            "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    request(&r, "PUT", auditor, "{\"applicable\":true,\"status\":\"PLANNED\"}",
            "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    request(&r, "PUT", editor, "{\"applicable\":true,\"status\":\"PLANNED\"}",
            "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_status(&r, 200);
    bw_test_resp_free(&r);
    const char *reader[] = {viewer, auditor};
    for (size_t i = 0; i < 2; i++) {
        request(&r, "GET", reader[i], NULL, "/v1/entities/%s/controls", t.entity);
        ck_assert_status(&r, 200);
        bw_test_resp_free(&r);
        request(&r, "GET", reader[i], NULL, "/v1/entities/%s/gap-analysis?framework=nis2",
                t.entity);
        ck_assert_status(&r, 200);
        bw_test_resp_free(&r);
        request(&r, "GET", reader[i], NULL, "/v1/mapping-overrides");
        ck_assert_status(&r, 200);
        bw_test_resp_free(&r);
    }
    free(viewer);
    free(auditor);
    free(editor);
    free_tenant(&t);
}
END_TEST

Suite *suite_crosswalk(void)
{
    Suite *s = suite_create("crosswalk");
    TCase *tc = tcase_create("crosswalk");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, frameworks_and_requirements);
    tcase_add_test(tc, mappings_compose_through_the_regulation);
    tcase_add_test(tc, tenant_mapping_rows_win_for_that_tenant_only);
    tcase_add_test(tc, statement_of_applicability_put_and_get);
    tcase_add_test(tc, bad_controls_name_the_field);
    tcase_add_test(tc, csv_import_is_all_or_nothing);
    tcase_add_test(tc, csv_export_neutralises_formulas);
    tcase_add_test(tc, gap_analysis_of_empty_and_complete_soa);
    tcase_add_test(tc, gap_analysis_scoped_to_what_applies_art_26_27_28_and_dora);
    tcase_add_test(tc, other_tenants_entities_answer_404);
    tcase_add_test(tc, the_same_new_control_put_at_once_is_200_for_all);
    tcase_add_test(tc, imports_in_any_row_order_do_not_deadlock);
    tcase_add_test(tc, roles_read_and_write);
    suite_add_tcase(s, tc);
    return s;
}
