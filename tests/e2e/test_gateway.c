/*
 * The gateway's own endpoints and conventions: health, readiness, metrics,
 * OpenAPI, request ids, unknown routes and methods.
 */
#include "e2e.h"

START_TEST(health_and_readiness)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/readyz", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "ready");
    ck_assert_str_eq(jstr(json_object_get(r.json, "backends"), "scoping"), "SERVING");
    ck_assert_str_eq(jstr(json_object_get(r.json, "backends"), "tenancy"), "SERVING");
    bw_test_resp_free(&r);
}
END_TEST

START_TEST(openapi_document_lists_the_routes)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/openapi.json", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "openapi"), "3.1.0");
    json_t *paths = json_object_get(r.json, "paths");
    ck_assert_ptr_nonnull(json_object_get(paths, "/v1/entities"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(paths, "/v1/entities/{id}"), "patch"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(paths, "/v1/tenants"), "post"));
    ck_assert_ptr_null(json_object_get(paths, "/v1/api-keys:resolve"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/docs", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "/v1/openapi.json"));
    bw_test_resp_free(&r);
}
END_TEST

START_TEST(request_id_is_echoed_or_generated)
{
    bw_test_resp_t r;
    const char *hdr[] = {"X-Request-Id: e2e-trace-42", NULL};
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", NULL, NULL, hdr, &r), 0);
    ck_assert_str_eq(bw_test_header(&r, "X-Request-Id"), "e2e-trace-42");
    ck_assert_str_eq(jstr(r.json, "requestId"), "e2e-trace-42");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, NULL, &r), 0);
    ck_assert_uint_eq(strlen(bw_test_header(&r, "X-Request-Id")), 36);
    bw_test_resp_free(&r);
    /* An unsafe id (spaces, too long) is replaced, not echoed. */
    const char *bad[] = {"X-Request-Id: a b c", NULL};
    ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, bad, &r), 0);
    ck_assert_str_ne(bw_test_header(&r, "X-Request-Id"), "a b c");
    bw_test_resp_free(&r);
}
END_TEST

START_TEST(unknown_route_and_method)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/nothing-here", NULL, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("PUT", "/v1/entities", NULL, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 405, NULL);
    ck_assert_str_eq(bw_test_header(&r, "Allow"), "GET, POST");
    bw_test_resp_free(&r);
}
END_TEST

START_TEST(metrics_count_requests_per_route)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", NULL, NULL, NULL, &r), 0);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/metrics", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(
        r.body, "bulwark_http_requests_total{method=\"GET\",route=\"/v1/entities\",status=\"401\"}"));
    ck_assert_ptr_nonnull(strstr(r.body, "bulwark_http_request_duration_seconds_bucket"));
    bw_test_resp_free(&r);
}
END_TEST

Suite *suite_gateway(void)
{
    Suite *s = suite_create("gateway");
    TCase *tc = tcase_create("gateway");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, health_and_readiness);
    tcase_add_test(tc, openapi_document_lists_the_routes);
    tcase_add_test(tc, request_id_is_echoed_or_generated);
    tcase_add_test(tc, unknown_route_and_method);
    tcase_add_test(tc, metrics_count_requests_per_route);
    suite_add_tcase(s, tc);
    return s;
}
