/*
 * The entities slice end to end: create, read, update, delete, list across
 * pages, tenant isolation, and every kind of bad input answered with a 400
 * (or 401, 413, 415) problem naming the field.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>

/* Creates an entity and returns its id (caller frees). */
static char *create_entity(const tenant_t *t, const char *body)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t->key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "status %ld: %s", r.status, r.body);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    return id;
}

static const char *full_entity =
    "{\"name\":\"Acme Cloud SE\",\"timeZone\":\"Europe/Berlin\","
    "\"activities\":[{\"entityType\":\"digital_infra.cloud\",\"principalActivity\":true}],"
    "\"size\":{\"staffHeadcount\":45,\"annualTurnoverEur\":\"8000000\","
    "\"balanceSheetTotalEur\":5000000,"
    "\"partnerEnterprises\":[{\"staffHeadcount\":10,\"holdingPercent\":30}]},"
    "\"publicAdministration\":{\"level\":\"REGIONAL\",\"riskAssessmentPositive\":true},"
    "\"memberState\":{\"establishment\":\"DE\",\"servicesIn\":[\"DE\",\"FR\"],"
    "\"identifiedUnder\":\"ART_2_2_B\",\"designation\":\"ESSENTIAL\"}}";

START_TEST(create_read_update_delete)
{
    tenant_t t = new_tenant("CRUD");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key, full_entity, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *id = strdup(jstr(r.json, "id"));
    char *etag = strdup(jstr(r.json, "etag"));
    ck_assert_uint_eq(strlen(id), 36);
    ck_assert_str_ne(etag, "");
    ck_assert_str_eq(jstr(r.json, "timeZone"), "Europe/Berlin");
    ck_assert(
        json_is_string(json_object_get(json_object_get(r.json, "size"), "annualTurnoverEur")));
    ck_assert_str_eq(jstr(json_object_get(r.json, "size"), "annualTurnoverEur"), "8000000");
    ck_assert_str_eq(jstr(json_object_get(r.json, "size"), "balanceSheetTotalEur"), "5000000");
    ck_assert_str_eq(jstr(json_object_get(r.json, "publicAdministration"), "level"), "REGIONAL");
    ck_assert_str_ne(jstr(r.json, "createTime"), "");
    bw_test_resp_free(&r);

    char path[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", id);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "Acme Cloud SE");
    ck_assert_str_eq(jstr(r.json, "etag"), etag);
    json_t *ms = json_object_get(r.json, "memberState");
    ck_assert_str_eq(jstr(ms, "designation"), "ESSENTIAL");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ms, "servicesIn"), 1)), "FR");
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r.json, "activities"), 0), "entityType"),
                     "digital_infra.cloud");
    bw_test_resp_free(&r);

    /* PATCH changes only the fields present. */
    ck_assert_int_eq(bw_test_http("PATCH", path, t.key, "{\"name\":\"Acme Cloud GmbH\"}", NULL, &r),
                     0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "name"), "Acme Cloud GmbH");
    ck_assert_str_eq(jstr(r.json, "timeZone"), "Europe/Berlin");
    ck_assert_str_eq(jstr(json_object_get(r.json, "memberState"), "establishment"), "DE");
    ck_assert_str_ne(jstr(r.json, "etag"), etag);
    bw_test_resp_free(&r);

    /* A bad PATCH changes nothing. */
    ck_assert_int_eq(bw_test_http("PATCH", path, t.key,
                                  "{\"name\":\"Renamed\",\"timeZone\":\"Mars/Olympus\"}", NULL, &r),
                     0);
    ck_assert_problem(&r, 400, "timeZone");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_str_eq(jstr(r.json, "name"), "Acme Cloud GmbH");
    bw_test_resp_free(&r);

    /* Removing a block: PATCH with null clears it. */
    ck_assert_int_eq(bw_test_http("PATCH", path, t.key, "{\"memberState\":null}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(json_object_get(r.json, "memberState"));
    bw_test_resp_free(&r);

    ck_assert_int_eq(bw_test_http("DELETE", path, t.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("DELETE", path, t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    free(id);
    free(etag);
    free_tenant(&t);
}
END_TEST

START_TEST(list_across_pages)
{
    tenant_t t = new_tenant("Pages");
    char *ids[7];
    for (int i = 0; i < 7; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"name\":\"Entity %d\",\"timeZone\":\"Europe/Paris\"}", i);
        ids[i] = create_entity(&t, body);
    }
    char path[1024] = "/v1/entities?pageSize=3";
    int seen = 0, pages = 0;
    for (;;) {
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
        ck_assert_msg(r.status == 200, "%s", r.body);
        json_t *items = json_object_get(r.json, "entities");
        ck_assert_uint_le(json_array_size(items), 3);
        for (size_t i = 0; i < json_array_size(items); i++) {
            ck_assert_int_lt(seen, 7);
            ck_assert_str_eq(jstr(json_array_get(items, i), "id"), ids[seen]);
            seen++;
        }
        pages++;
        const char *next = jstr(r.json, "nextPageToken");
        if (next[0] == '\0') {
            bw_test_resp_free(&r);
            break;
        }
        snprintf(path, sizeof(path), "/v1/entities?pageSize=3&pageToken=%s", next);
        bw_test_resp_free(&r);
        ck_assert_int_lt(pages, 10);
    }
    ck_assert_int_eq(seen, 7);
    ck_assert_int_eq(pages, 3);

    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities?pageSize=-1", t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 400, "pageSize");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities?pageToken=forged", t.key, NULL, NULL, &r),
                     0);
    ck_assert_problem(&r, 400, "pageToken");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities?pageSize=abc", t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 400, "pageSize");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities?colour=red", t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 400, "colour");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities?pageSize=100000", t.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "entities")), 7);
    bw_test_resp_free(&r);
    for (int i = 0; i < 7; i++)
        free(ids[i]);
    free_tenant(&t);
}
END_TEST

START_TEST(other_tenants_entities_answer_404)
{
    tenant_t a = new_tenant("Owner"), b = new_tenant("Intruder");
    char *id = create_entity(&a, "{\"name\":\"Private\",\"timeZone\":\"UTC\"}");
    char path[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", id);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", path, b.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("PATCH", path, b.key, "{\"name\":\"Mine\"}", NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("DELETE", path, b.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", b.key, NULL, NULL, &r), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "entities")), 0);
    bw_test_resp_free(&r);
    /* ... and B cannot hang its entity under A's either. */
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"Sub\",\"timeZone\":\"UTC\",\"parentEntity\":\"%s\"}",
             id);
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", b.key, body, NULL, &r), 0);
    ck_assert_problem(&r, 400, "parentEntity");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, a.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "Private");
    bw_test_resp_free(&r);
    free(id);
    free_tenant(&a);
    free_tenant(&b);
}
END_TEST

START_TEST(no_token_is_401)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", NULL, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    ck_assert_ptr_nonnull(strstr(bw_test_header(&r, "WWW-Authenticate"), "Bearer"));
    bw_test_resp_free(&r);
}
END_TEST

/* Posts body and expects a 400 naming field (or any field when NULL). */
static void expect_400(const tenant_t *t, const char *body, const char *field)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t->key, body, NULL, &r), 0);
    ck_assert_problem(&r, 400, field);
    bw_test_resp_free(&r);
}

START_TEST(bad_input_names_the_field)
{
    tenant_t t = new_tenant("Bad input");
    expect_400(&t, "{\"name\":\"x\",", NULL);
    expect_400(&t, "[1,2]", NULL);
    expect_400(&t, "{\"name\":\"x\",\"timeZone\":\"UTC\",\"colour\":\"red\"}", "colour");
    expect_400(&t, "{\"name\":5,\"timeZone\":\"UTC\"}", "name");
    expect_400(&t,
               "{\"name\":\"x\",\"timeZone\":\"UTC\",\"publicAdministration\":"
               "{\"level\":\"MUNICIPAL\"}}",
               "publicAdministration.level");
    expect_400(&t, "{\"name\":\"x\",\"timeZone\":\"Mars/Olympus\"}", "timeZone");
    expect_400(&t, "{\"name\":\"x\",\"timeZone\":\"CEST\"}", "timeZone");
    expect_400(&t, "{\"name\":\"x\"}", "timeZone");
    expect_400(&t, "{\"timeZone\":\"UTC\"}", "name");
    expect_400(&t, "{\"name\":\"x\",\"timeZone\":\"UTC\",\"activities\":[{\"entityType\":7}]}",
               "activities[0].entityType");
    expect_400(&t,
               "{\"name\":\"x\",\"timeZone\":\"UTC\",\"size\":{\"annualTurnoverEur\":\"12abc\"}}",
               "size.annualTurnoverEur");
    expect_400(&t, "{\"name\":\"x\",\"timeZone\":\"UTC\",\"size\":{\"staffHeadcount\":-3}}",
               "size.staffHeadcount");
    expect_400(&t,
               "{\"name\":\"x\",\"timeZone\":\"UTC\",\"size\":{\"partnerEnterprises\":"
               "[{\"holdingPercent\":101}]}}",
               "size.partnerEnterprises[0].holdingPercent");
    expect_400(&t,
               "{\"name\":\"x\",\"timeZone\":\"UTC\",\"memberState\":{\"establishment\":\"UK\"}}",
               "memberState.establishment");
    expect_400(&t, "{\"name\":\"x\",\"timeZone\":\"UTC\",\"parentEntity\":\"nope\"}",
               "parentEntity");
    expect_400(&t,
               "{\"name\":\"x\",\"timeZone\":\"UTC\",\"parentEntity\":"
               "\"0193a2b4-1111-7222-8333-444455556666\"}",
               "parentEntity");

    bw_test_resp_t r;
    const char *text[] = {"Content-Type: text/plain", NULL};
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key, "{\"name\":\"x\"}", text, &r), 0);
    ck_assert_problem(&r, 415, NULL);
    bw_test_resp_free(&r);

    /* Nothing of the above was written. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", t.key, NULL, NULL, &r), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "entities")), 0);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(oversized_body_is_413)
{
    tenant_t t = new_tenant("Big");
    /* Over the default BULWARK_MAX_BODY_BYTES, 8 MiB. */
    size_t n = 8 * 1024 * 1024 + 100;
    char *body = malloc(n + 64);
    int head = snprintf(body, 64, "{\"name\":\"");
    memset(body + head, 'a', n);
    memcpy(body + head + n, "\",\"timeZone\":\"UTC\"}", 20);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key, body, NULL, &r), 0);
    ck_assert_problem(&r, 413, NULL);
    bw_test_resp_free(&r);
    free(body);
    free_tenant(&t);
}
END_TEST

START_TEST(parent_entities_form_no_cycles)
{
    tenant_t t = new_tenant("Groups");
    char *parent = create_entity(&t, "{\"name\":\"Holding\",\"timeZone\":\"UTC\"}");
    char body[256], path[128];
    snprintf(body, sizeof(body),
             "{\"name\":\"Subsidiary\",\"timeZone\":\"Europe/Rome\",\"parentEntity\":\"%s\"}",
             parent);
    char *child = create_entity(&t, body);
    bw_test_resp_t r;
    snprintf(path, sizeof(path), "/v1/entities/%s", parent);
    snprintf(body, sizeof(body), "{\"parentEntity\":\"%s\"}", child);
    ck_assert_int_eq(bw_test_http("PATCH", path, t.key, body, NULL, &r), 0);
    ck_assert_problem(&r, 400, "parentEntity");
    bw_test_resp_free(&r);
    snprintf(body, sizeof(body), "{\"parentEntity\":\"%s\"}", parent);
    ck_assert_int_eq(bw_test_http("PATCH", path, t.key, body, NULL, &r), 0);
    ck_assert_problem(&r, 400, "parentEntity");
    bw_test_resp_free(&r);
    /* Deleting the parent detaches the child. */
    ck_assert_int_eq(bw_test_http("DELETE", path, t.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/entities/%s", child);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_str_eq(jstr(r.json, "parentEntity"), "");
    bw_test_resp_free(&r);
    free(parent);
    free(child);
    free_tenant(&t);
}
END_TEST

Suite *suite_entities(void)
{
    Suite *s = suite_create("entities");
    TCase *tc = tcase_create("entities");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_read_update_delete);
    tcase_add_test(tc, list_across_pages);
    tcase_add_test(tc, other_tenants_entities_answer_404);
    tcase_add_test(tc, no_token_is_401);
    tcase_add_test(tc, bad_input_names_the_field);
    tcase_add_test(tc, oversized_body_is_413);
    tcase_add_test(tc, parent_entities_form_no_cycles);
    suite_add_tcase(s, tc);
    return s;
}
