/*
 * OIDC bearer tokens through the real gateway. The test runner gives the
 * gateway a JWKS file holding the public half of an RSA key and gives this
 * suite the private half (BULWARK_TEST_OIDC_KEY), so the suite signs its
 * own RS256 tokens: a valid one acts for its tenant with its roles; an
 * expired one, one for another audience or with a tampered payload is a
 * 401; a token's tenant sees nothing of another tenant's; a board-member
 * claim attests as that member; a suspended tenant's tokens are a 403.
 */
#include "e2e.h"

#include "base64.h"
#include "ids.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* An RS256 token for tenant with roles (a JSON array text), the given
 * audience and expiry offset, and extra claims (JSON members after a comma,
 * or ""); caller frees. */
static char *token_typed(const char *typ, const char *tenant, const char *roles,
                         const char *audience, long exp_offset, const char *extra)
{
    const char *key_path = bw_test_env("BULWARK_TEST_OIDC_KEY");
    FILE *fp = fopen(key_path, "r");
    ck_assert_ptr_nonnull(fp);
    EVP_PKEY *key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    ck_assert_ptr_nonnull(key);
    char header[128];
    snprintf(header, sizeof(header),
             "{\"alg\":\"RS256\",\"typ\":\"%s\",\"kid\":\"bulwark-test-1\"}", typ);
    char payload[1024];
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\",\"iat\":%ld,\"nbf\":%ld,"
             "\"exp\":%ld,\"bulwark_tenant\":\"%s\",\"bulwark_roles\":%s%s}",
             bw_test_env("BULWARK_TEST_OIDC_ISSUER"), audience, now - 5, now - 5, now + exp_offset,
             tenant, roles, extra);
    char *out = malloc(4096);
    size_t o = bw_base64url_encode((const uint8_t *)header, strlen(header), out);
    out[o++] = '.';
    o += bw_base64url_encode((const uint8_t *)payload, strlen(payload), out + o);
    uint8_t sig[512];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)out, o), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    out[o++] = '.';
    bw_base64url_encode(sig, sig_len, out + o);
    return out;
}

/* An access token (typ at+jwt, RFC 9068). */
static char *token_claims(const char *tenant, const char *roles, const char *audience,
                          long exp_offset, const char *extra)
{
    return token_typed("at+jwt", tenant, roles, audience, exp_offset, extra);
}

static char *token(const char *tenant, const char *roles, const char *audience, long exp_offset)
{
    return token_claims(tenant, roles, audience, exp_offset, "");
}

START_TEST(tokens_act_for_their_tenant_and_roles)
{
    char *admin_a = NULL, *admin_b = NULL;
    char *tenant_a = bw_test_create_tenant("OIDC A", &admin_a);
    char *tenant_b = bw_test_create_tenant("OIDC B", &admin_b);
    const char *aud = bw_test_env("BULWARK_TEST_OIDC_AUDIENCE");
    char *editor = token(tenant_a, "[\"editor\"]", aud, 300);
    char *viewer = token(tenant_a, "\"viewer\"", aud, 300);
    bw_test_resp_t r;

    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", editor,
                                  "{\"name\":\"Made with a token\",\"timeZone\":\"UTC\"}", NULL,
                                  &r),
                     0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char path[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", jstr(r.json, "id"));
    bw_test_resp_free(&r);
    /* The same tenant's API key sees it; the viewer token reads but may not write. */
    ck_assert_int_eq(bw_test_http("GET", path, admin_a, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, viewer, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("DELETE", path, viewer, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    /* The audit trail names the token's subject. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/audit-events?action=scoping.CreateEntity", admin_a,
                                  NULL, NULL, &r),
                     0);
    ck_assert_int_eq(
        strncmp(jstr(json_array_get(json_object_get(r.json, "auditEvents"), 0), "principal"),
                "jwt:", 4),
        0);
    bw_test_resp_free(&r);

    /* Another tenant's token: as if the entity did not exist. */
    char *other = token(tenant_b, "[\"admin\"]", aud, 300);
    ck_assert_int_eq(bw_test_http("GET", path, other, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);

    /* Expired, another audience, or tampered: not credentials at all. */
    char *expired = token(tenant_a, "[\"admin\"]", aud, -600);
    char *elsewhere = token(tenant_a, "[\"admin\"]", "someone-else", 300);
    char *tampered = token(tenant_a, "[\"viewer\"]", aud, 300);
    char *dot = strchr(tampered, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    const char *bad[] = {expired, elsewhere, tampered};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", bad[i], NULL, NULL, &r), 0);
        ck_assert_problem(&r, 401, NULL);
        /* The refusal never echoes the token. */
        ck_assert_ptr_null(strstr(r.body, bad[i]));
        bw_test_resp_free(&r);
    }
    free(expired);
    free(elsewhere);
    free(tampered);
    free(other);
    free(editor);
    free(viewer);
    free(tenant_a);
    free(tenant_b);
    free(admin_a);
    free(admin_b);
}
END_TEST

/* POSTs body to path with token; returns the JSON reply (caller decrefs)
 * after asserting the status. */
static json_t *post(const char *path, const char *token_text, const char *body, long status)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", path, token_text, body, NULL, &r), 0);
    ck_assert_msg(r.status == status, "POST %s: %ld, want %ld: %s", path, r.status, status, r.body);
    json_t *json = json_incref(r.json);
    bw_test_resp_free(&r);
    return json;
}

/* A token whose board-member claim names a member attests as that member
 * (its own decision); the same token acting as admin for another member
 * records on that member's behalf; a claim naming no member is refused. */
START_TEST(board_member_claims_sign_as_the_member)
{
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("OIDC board", &admin);
    const char *aud = bw_test_env("BULWARK_TEST_OIDC_AUDIENCE");
    char path[256], body[512], ann[64], bob[64], campaign[64];
    json_t *j = post("/v1/entities", admin, "{\"name\":\"Board Co\",\"timeZone\":\"UTC\"}", 201);
    char entity[64];
    snprintf(entity, sizeof(entity), "%s", jstr(j, "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", entity);
    j = post(path, admin, "{\"name\":\"Ann\",\"since\":\"2020-01-01T00:00:00Z\"}", 201);
    snprintf(ann, sizeof(ann), "%s", jstr(j, "id"));
    json_decref(j);
    j = post(path, admin, "{\"name\":\"Bob\",\"since\":\"2020-01-01T00:00:00Z\"}", 201);
    snprintf(bob, sizeof(bob), "%s", jstr(j, "id"));
    json_decref(j);
    time_t due = time(NULL) + 86400;
    struct tm tm;
    gmtime_r(&due, &tm);
    char due_text[32];
    strftime(due_text, sizeof(due_text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"Policy v1.\","
             "\"dueAt\":\"%s\",\"validForDays\":365}",
             entity, due_text);
    j = post("/v1/attestation-campaigns", admin, body, 201);
    snprintf(campaign, sizeof(campaign), "%s", jstr(j, "id"));
    json_decref(j);

    char claim[128];
    snprintf(claim, sizeof(claim), ",\"bulwark_board_member\":\"%s\"", ann);
    char *ann_token = token_claims(tenant, "[\"admin\",\"board_member\"]", aud, 300, claim);
    snprintf(path, sizeof(path), "/v1/attestation-campaigns/%s/attestations", campaign);
    j = post(path, ann_token, "{\"decision\":\"APPROVE\"}", 201);
    ck_assert_str_eq(jstr(j, "member"), ann);
    ck_assert(json_is_false(json_object_get(j, "onBehalf")));
    json_decref(j);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"REJECT\"}", bob);
    j = post(path, ann_token, body, 201);
    ck_assert(json_is_true(json_object_get(j, "onBehalf")));
    json_decref(j);

    /* A claim naming nobody of this tenant. */
    char *nobody =
        token_claims(tenant, "[\"board_member\"]", aud, 300,
                     ",\"bulwark_board_member\":\"0190f3a0-0000-7000-8000-00000000beef\"");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", path, nobody, "{\"decision\":\"APPROVE\"}", NULL, &r), 0);
    ck_assert_problem(&r, 403, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "BOARD_MEMBER_UNKNOWN");
    bw_test_resp_free(&r);

    snprintf(path, sizeof(path), "/v1/entities/%s/governance", entity);
    ck_assert_int_eq(bw_test_http("GET", path, admin, NULL, NULL, &r), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "attestations")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "onBehalfAttestations")), 1);
    bw_test_resp_free(&r);
    free(nobody);
    free(ann_token);
    free(tenant);
    free(admin);
}
END_TEST

START_TEST(id_tokens_and_unknown_tenants_are_refused)
{
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("OIDC typ", &admin);
    const char *aud = bw_test_env("BULWARK_TEST_OIDC_AUDIENCE");
    /* Signed by the trusted key, for a real tenant, but an ID token (or any
     * JWT that does not say it is an access token) is no credential. */
    char *id_token = token_typed("JWT", tenant, "[\"admin\"]", aud, 300, "");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", id_token, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "not an access token"));
    bw_test_resp_free(&r);
    /* A tenant that was never created, twice (the second answer comes from
     * the gateway's tenant cache). */
    char *ghost_tenant = bw_test_uuid_str();
    char *ghost = token(ghost_tenant, "[\"admin\"]", aud, 300);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", ghost, NULL, NULL, &r), 0);
        ck_assert_problem(&r, 401, NULL);
        ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "tenant does not exist"));
        bw_test_resp_free(&r);
    }
    free(ghost);
    free(ghost_tenant);
    /* The nil UUID is the operator's scope, never a tenant. */
    char *nil = token("00000000-0000-0000-0000-000000000000", "[\"admin\"]", aud, 300);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", nil, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    free(nil);
    free(id_token);
    free(tenant);
    free(admin);
}
END_TEST

/* A suspended tenant's tokens are refused at once (the gateway had its
 * state cached), with the problem type tenant-suspended; resumed, they act
 * again. */
START_TEST(a_suspended_tenants_tokens_are_refused)
{
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("OIDC suspended", &admin);
    const char *op = bw_test_env("BULWARK_TEST_OPERATOR_TOKEN");
    char *t = token(tenant, "[\"viewer\"]", bw_test_env("BULWARK_TEST_OIDC_AUDIENCE"), 300);
    char path[128];
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", t, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/tenants/%s:suspend", tenant);
    ck_assert_int_eq(bw_test_http("POST", path, op, "{}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", t, NULL, NULL, &r), 0);
        ck_assert_problem(&r, 403, NULL);
        ck_assert_str_eq(jstr(r.json, "type"), "urn:bulwark:problem:tenant-suspended");
        bw_test_resp_free(&r);
    }
    snprintf(path, sizeof(path), "/v1/tenants/%s:resume", tenant);
    ck_assert_int_eq(bw_test_http("POST", path, op, "{}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", t, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    free(t);
    free(tenant);
    free(admin);
}
END_TEST

Suite *suite_oidc(void)
{
    Suite *s = suite_create("oidc");
    TCase *tc = tcase_create("oidc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tokens_act_for_their_tenant_and_roles);
    tcase_add_test(tc, id_tokens_and_unknown_tenants_are_refused);
    tcase_add_test(tc, board_member_claims_sign_as_the_member);
    tcase_add_test(tc, a_suspended_tenants_tokens_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
