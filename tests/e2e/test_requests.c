/*
 * The shared write path seen from a client: Idempotency-Key replays, 422 on
 * a reused key, replies holding a secret never replayed (nor stored),
 * If-Match with 412, and the audit trail of every write.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>

START_TEST(idempotency_key_replays_the_first_reply)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Idempotent", &key);
    const char *hdr[] = {"Idempotency-Key: create-acme-1", NULL};
    const char *body = "{\"name\":\"Acme\",\"timeZone\":\"Europe/Vienna\"}";
    bw_test_resp_t a, b, c;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key, body, hdr, &a), 0);
    ck_assert_int_eq(a.status, 201);
    /* The retry gets the same entity, and nothing new was created. */
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key, body, hdr, &b), 0);
    ck_assert_int_eq(b.status, 201);
    ck_assert_str_eq(jstr(b.json, "id"), jstr(a.json, "id"));
    ck_assert_str_eq(jstr(b.json, "createTime"), jstr(a.json, "createTime"));
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &c), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(c.json, "entities")), 1);
    bw_test_resp_free(&b);
    bw_test_resp_free(&c);
    /* The same key with another body is refused, and creates nothing. */
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key,
                                  "{\"name\":\"Other\",\"timeZone\":\"UTC\"}", hdr, &b),
                     0);
    ck_assert_problem(&b, 422, NULL);
    ck_assert_str_eq(jstr(b.json, "reason"), "IDEMPOTENCY_KEY_REUSED");
    bw_test_resp_free(&b);
    /* Keys belong to their tenant: another tenant may use the same one. */
    char *other_key = NULL;
    char *other = bw_test_create_tenant("Idempotent too", &other_key);
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", other_key, body, hdr, &b), 0);
    ck_assert_int_eq(b.status, 201);
    ck_assert_str_ne(jstr(b.json, "id"), jstr(a.json, "id"));
    bw_test_resp_free(&b);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &c), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(c.json, "entities")), 1);
    bw_test_resp_free(&c);
    bw_test_resp_free(&a);
    free(tenant);
    free(key);
    free(other);
    free(other_key);
}
END_TEST

START_TEST(failed_write_with_a_key_can_be_retried)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Retry", &key);
    const char *hdr[] = {"Idempotency-Key: k-2", NULL};
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key, "{\"name\":\"x\"}", hdr, &r), 0);
    ck_assert_problem(&r, 400, "timeZone");
    bw_test_resp_free(&r);
    /* Nothing was stored for the failure: the corrected request goes through. */
    ck_assert_int_eq(
        bw_test_http("POST", "/v1/entities", key, "{\"name\":\"x\",\"timeZone\":\"UTC\"}", hdr, &r),
        0);
    ck_assert_int_eq(r.status, 201);
    bw_test_resp_free(&r);
    free(tenant);
    free(key);
}
END_TEST

/* The idempotency record of tenant (or of the operator's nil scope): its
 * reply's length, and whether the reply holds text (an API key's "bwk_"
 * prefix). Read as the schema owner, with the tenant set, so that forced
 * row-level security shows the row whoever the owner is. */
static void stored_reply(const char *tenant, const char *idem_key, const char *text, long *len,
                         int *holds_text)
{
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    PGresult *res = bw_test_sql(db,
                                "SELECT length(response), "
                                "position(convert_to($3, 'UTF8') IN response) > 0 "
                                "FROM bulwark.idempotency_keys "
                                "WHERE tenant_id = $1::uuid AND idem_key = $2",
                                tenant, idem_key, text);
    ck_assert_int_eq(PQntuples(res), 1);
    *len = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    *holds_text = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    PQfinish(db);
}

START_TEST(secrets_are_never_replayed)
{
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Secrets", &admin);
    const char *hdr[] = {"Idempotency-Key: issue-ci-key", NULL};
    const char *body = "{\"name\":\"ci\",\"role\":\"editor\"}";
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin, body, hdr, &r), 0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *secret = strdup(jstr(r.json, "secret"));
    ck_assert_int_eq(strncmp(secret, "bwk_", 4), 0);
    bw_test_resp_free(&r);

    /* The retry learns that the first call went through, and no secret. */
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin, body, hdr, &r), 0);
    ck_assert_problem(&r, 409, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "SECRET_SHOWN_ONCE");
    ck_assert_ptr_null(strstr(r.body, "bwk_"));
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "succeeded"));
    bw_test_resp_free(&r);
    /* The same key with another body is still a reuse. */
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"other\",\"role\":\"viewer\"}", hdr, &r),
                     0);
    ck_assert_problem(&r, 422, NULL);
    bw_test_resp_free(&r);
    /* One key was made, and it works. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/api-keys", admin, NULL, NULL, &r), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "apiKeys")), 2);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", secret, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    /* The database row marks the key as used and holds nothing else. */
    long len;
    int holds;
    stored_reply(tenant, "issue-ci-key", "bwk_", &len, &holds);
    ck_assert_int_eq(len, 0);
    ck_assert(!holds);

    /* The operator's tenant creation, whose reply holds the first admin key. */
    char *idem = bw_test_uuid_str();
    char line[96];
    snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
    const char *op_hdr[] = {line, NULL};
    const char *op = bw_test_env("BULWARK_TEST_OPERATOR_TOKEN");
    ck_assert_int_eq(
        bw_test_http("POST", "/v1/tenants", op, "{\"name\":\"Replayed Co\"}", op_hdr, &r), 0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_int_eq(strncmp(jstr(json_object_get(r.json, "apiKey"), "secret"), "bwk_", 4), 0);
    bw_test_resp_free(&r);
    ck_assert_int_eq(
        bw_test_http("POST", "/v1/tenants", op, "{\"name\":\"Replayed Co\"}", op_hdr, &r), 0);
    ck_assert_problem(&r, 409, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "SECRET_SHOWN_ONCE");
    ck_assert_ptr_null(strstr(r.body, "bwk_"));
    bw_test_resp_free(&r);
    stored_reply("00000000-0000-0000-0000-000000000000", idem, "bwk_", &len, &holds);
    ck_assert_int_eq(len, 0);
    ck_assert(!holds);
    free(idem);
    free(secret);
    free(tenant);
    free(admin);
}
END_TEST

START_TEST(if_match_guards_patch_and_delete)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("IfMatch", &key);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key,
                                  "{\"name\":\"E\",\"timeZone\":\"UTC\"}", NULL, &r),
                     0);
    char path[128], stale[128], fresh[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", jstr(r.json, "id"));
    snprintf(stale, sizeof(stale), "If-Match: \"%s\"", jstr(r.json, "etag"));
    bw_test_resp_free(&r);
    const char *h_stale[] = {stale, NULL};
    ck_assert_int_eq(bw_test_http("PATCH", path, key, "{\"name\":\"F\"}", h_stale, &r), 0);
    ck_assert_int_eq(r.status, 200);
    snprintf(fresh, sizeof(fresh), "If-Match: \"%s\"", jstr(r.json, "etag"));
    bw_test_resp_free(&r);
    /* The etag it sent is stale now. */
    ck_assert_int_eq(bw_test_http("PATCH", path, key, "{\"name\":\"G\"}", h_stale, &r), 0);
    ck_assert_problem(&r, 412, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "ETAG_MISMATCH");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("DELETE", path, key, NULL, h_stale, &r), 0);
    ck_assert_problem(&r, 412, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "F");
    bw_test_resp_free(&r);
    const char *h_fresh[] = {fresh, NULL};
    ck_assert_int_eq(bw_test_http("DELETE", path, key, NULL, h_fresh, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(audit_trail_records_writes)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Audited", &key);
    bw_test_resp_t r;
    const char *rid[] = {"X-Request-Id: audit-create-1", NULL};
    ck_assert_int_eq(
        bw_test_http("POST", "/v1/entities", key, "{\"name\":\"A\",\"timeZone\":\"UTC\"}", rid, &r),
        0);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    const char *bad[] = {"X-Request-Id: audit-create-2", NULL};
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key, "{\"name\":\"B\"}", bad, &r), 0);
    ck_assert_int_eq(r.status, 400);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/audit-events", key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *events = json_object_get(r.json, "auditEvents");
    /* Newest first: the failed create, the create, the tenant's creation. */
    ck_assert_uint_eq(json_array_size(events), 3);
    json_t *failed = json_array_get(events, 0), *created = json_array_get(events, 1);
    ck_assert_str_eq(jstr(failed, "outcome"), "INVALID_ARGUMENT");
    ck_assert_str_eq(jstr(failed, "reason"), "VALIDATION_FAILED");
    ck_assert_str_eq(jstr(failed, "requestId"), "audit-create-2");
    ck_assert_str_eq(jstr(created, "outcome"), "OK");
    ck_assert_str_eq(jstr(created, "action"), "scoping.CreateEntity");
    ck_assert_str_eq(jstr(created, "resource"), id);
    ck_assert_str_eq(jstr(created, "requestId"), "audit-create-1");
    ck_assert_int_eq(strncmp(jstr(created, "principal"), "api-key:", 8), 0);
    ck_assert_str_eq(jstr(json_array_get(events, 2), "action"), "tenancy.CreateTenant");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/audit-events?outcome=OK&action=scoping.CreateEntity",
                                  key, NULL, NULL, &r),
                     0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "auditEvents")), 1);
    bw_test_resp_free(&r);
    ck_assert_int_eq(
        bw_test_http("GET", "/v1/audit-events?since=2999-01-01T00:00:00Z", key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "auditEvents")), 0);
    bw_test_resp_free(&r);
    /* Reads leave no trace, and another tenant sees none of this. */
    char *other_key = NULL;
    char *other = bw_test_create_tenant("Other", &other_key);
    ck_assert_int_eq(bw_test_http("GET", "/v1/audit-events", other_key, NULL, NULL, &r), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "auditEvents")), 1);
    bw_test_resp_free(&r);
    free(id);
    free(tenant);
    free(key);
    free(other);
    free(other_key);
}
END_TEST

Suite *suite_requests(void)
{
    Suite *s = suite_create("requests");
    TCase *tc = tcase_create("requests");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, idempotency_key_replays_the_first_reply);
    tcase_add_test(tc, failed_write_with_a_key_can_be_retried);
    tcase_add_test(tc, secrets_are_never_replayed);
    tcase_add_test(tc, if_match_guards_patch_and_delete);
    tcase_add_test(tc, audit_trail_records_writes);
    suite_add_tcase(s, tc);
    return s;
}
