/*
 * OIDC bearer tokens through the real gateway. The test runner gives the
 * gateway a JWKS file holding the public half of an RSA key and gives this
 * suite the private half (BULWARK_TEST_OIDC_KEY), so the suite signs its
 * own RS256 tokens: a valid one acts for its tenant with its roles; an
 * expired one, one for another audience or with a tampered payload is a
 * 401; a token's tenant sees nothing of another tenant's.
 */
#include "e2e.h"

#include "ids.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* An RS256 token for tenant with roles (a JSON array text) and the given
 * audience and expiry offset; caller frees. */
static char *token(const char *tenant, const char *roles, const char *audience, long exp_offset)
{
    const char *key_path = bw_test_env("BULWARK_TEST_OIDC_KEY");
    FILE *fp = fopen(key_path, "r");
    ck_assert_ptr_nonnull(fp);
    EVP_PKEY *key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    ck_assert_ptr_nonnull(key);
    char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"bulwark-test-1\"}";
    char payload[1024];
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\",\"iat\":%ld,\"nbf\":%ld,"
             "\"exp\":%ld,\"bulwark_tenant\":\"%s\",\"bulwark_roles\":%s}",
             bw_test_env("BULWARK_TEST_OIDC_ISSUER"), audience, now - 5, now - 5,
             now + exp_offset, tenant, roles);
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
                                  "{\"name\":\"Made with a token\",\"timeZone\":\"UTC\"}", NULL, &r),
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
                                  NULL, NULL, &r), 0);
    ck_assert_int_eq(strncmp(jstr(json_array_get(json_object_get(r.json, "auditEvents"), 0),
                                  "principal"),
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

Suite *suite_oidc(void)
{
    Suite *s = suite_create("oidc");
    TCase *tc = tcase_create("oidc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tokens_act_for_their_tenant_and_roles);
    suite_add_tcase(s, tc);
    return s;
}
