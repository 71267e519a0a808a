/*
 * The gateway's own endpoints and conventions: health, readiness, metrics,
 * OpenAPI, request ids, unknown routes and methods, CORS, the rate limit and
 * its RateLimit fields, ETags.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>

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

START_TEST(reference_page_is_served_by_the_gateway)
{
    /* The page (tests/apidocs/ opens it in a browser): under its
     * Content-Security-Policy, with Scalar's bundle from this origin. */
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/docs", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.content_type, "text/html"));
    ck_assert_ptr_nonnull(
        strstr(bw_test_header(&r, "Content-Security-Policy"), "script-src 'self'"));
    ck_assert_ptr_nonnull(strstr(r.body, "src=\"/docs/scalar.js\""));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/docs/init.js", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "Scalar.createApiReference"));
    bw_test_resp_free(&r);
    /* Without Accept-Encoding, the plain bundle (about 5 MB). */
    ck_assert_int_eq(bw_test_http("GET", "/docs/scalar.js", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(bw_test_header(&r, "Content-Encoding"));
    ck_assert_uint_gt(r.body_len, 1000000);
    ck_assert_ptr_nonnull(strstr(r.body, "createApiReference"));
    size_t plain = r.body_len;
    char *etag = strdup(bw_test_header(&r, "ETag"));
    ck_assert_int_eq(strncmp(etag, "W/\"", 3), 0);
    bw_test_resp_free(&r);
    /* gzip-coded when the client takes it, with the same entity-tag. */
    const char *gzip[] = {"Accept-Encoding: br;q=1.0, gzip;q=0.8", NULL};
    ck_assert_int_eq(bw_test_http("GET", "/docs/scalar.js", NULL, NULL, gzip, &r), 0);
    ck_assert_str_eq(bw_test_header(&r, "Content-Encoding"), "gzip");
    ck_assert_str_eq(bw_test_header(&r, "Vary"), "Accept-Encoding");
    ck_assert_str_eq(bw_test_header(&r, "ETag"), etag);
    ck_assert_uint_lt(r.body_len, plain / 2);
    ck_assert_int_eq((unsigned char)r.body[0], 0x1f);
    ck_assert_int_eq((unsigned char)r.body[1], 0x8b);
    bw_test_resp_free(&r);
    /* A browser revalidates and gets nothing again. */
    char inm[128];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    const char *cond[] = {inm, NULL};
    ck_assert_int_eq(bw_test_http("GET", "/docs/scalar.js", NULL, NULL, cond, &r), 0);
    ck_assert_int_eq(r.status, 304);
    ck_assert_uint_eq(r.body_len, 0);
    bw_test_resp_free(&r);
    free(etag);
    /* Nothing else lives under /docs. */
    ck_assert_int_eq(bw_test_http("GET", "/docs/other.js", NULL, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
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
        r.body,
        "bulwark_http_requests_total{method=\"GET\",route=\"/v1/entities\",status=\"401\"}"));
    ck_assert_ptr_nonnull(strstr(r.body, "bulwark_http_request_duration_seconds_bucket"));
    bw_test_resp_free(&r);
}
END_TEST

START_TEST(cors_preflight_and_headers)
{
    bw_test_resp_t r;
    const char *pre[] = {"Origin: https://app.example.test", "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: authorization, content-type", NULL};
    ck_assert_int_eq(bw_test_http("OPTIONS", "/v1/entities", NULL, NULL, pre, &r), 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(bw_test_header(&r, "Access-Control-Allow-Origin"), "https://app.example.test");
    ck_assert_ptr_nonnull(strstr(bw_test_header(&r, "Access-Control-Allow-Methods"), "PATCH"));
    ck_assert_ptr_nonnull(
        strstr(bw_test_header(&r, "Access-Control-Allow-Headers"), "Authorization"));
    bw_test_resp_free(&r);
    /* A simple request from an allowed origin sees the exposed headers... */
    const char *simple[] = {"Origin: https://app.example.test", NULL};
    ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, simple, &r), 0);
    ck_assert_str_eq(bw_test_header(&r, "Access-Control-Allow-Origin"), "https://app.example.test");
    ck_assert_ptr_nonnull(
        strstr(bw_test_header(&r, "Access-Control-Expose-Headers"), "X-Request-Id"));
    /* A browser client may read the rate limit too. */
    ck_assert_ptr_nonnull(strstr(bw_test_header(&r, "Access-Control-Expose-Headers"), "RateLimit"));
    bw_test_resp_free(&r);
    /* ... and another origin gets no CORS header at all. */
    const char *evil[] = {"Origin: https://evil.example.test",
                          "Access-Control-Request-Method: POST", NULL};
    ck_assert_int_eq(bw_test_http("OPTIONS", "/v1/entities", NULL, NULL, evil, &r), 0);
    ck_assert_ptr_null(bw_test_header(&r, "Access-Control-Allow-Origin"));
    bw_test_resp_free(&r);
}
END_TEST

/* The RateLimit field of a reply: "tenant";r=<r>;t=<t>. */
static void rate_limit_field(const bw_test_resp_t *r, long *remaining, long *reset)
{
    const char *v = bw_test_header(r, "RateLimit");
    ck_assert_msg(v != NULL, "no RateLimit field on a %ld reply: %s", r->status, r->body);
    ck_assert_int_eq(sscanf(v, "\"tenant\";r=%ld;t=%ld", remaining, reset), 2);
    /* The test stack: 50 requests/s, a burst of 100. */
    ck_assert_str_eq(bw_test_header(r, "RateLimit-Policy"), "\"tenant\";q=100;w=2");
}

START_TEST(rate_limit_answers_429_with_retry_after)
{
    /* The test stack allows each tenant 50 requests/s with a burst of 100. */
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Busy", &key);
    bw_test_resp_t r;
    int limited = 0, ok = 0;
    for (int i = 0; i < 400 && !limited; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &r), 0);
        long remaining, reset;
        rate_limit_field(&r, &remaining, &reset);
        if (r.status == 429) {
            limited = 1;
            ck_assert_problem(&r, 429, NULL);
            long retry = strtol(bw_test_header(&r, "Retry-After"), NULL, 10);
            ck_assert_int_ge(retry, 1);
            /* Nothing left, and the same wait as Retry-After. */
            ck_assert_int_eq(remaining, 0);
            ck_assert_int_eq(reset, retry);
        } else {
            ck_assert_int_eq(r.status, 200);
            ok++;
        }
        bw_test_resp_free(&r);
    }
    ck_assert_msg(limited, "no 429 after %d requests", ok);
    ck_assert_int_ge(ok, 100);
    /* Another tenant is not affected. */
    char *other_key = NULL;
    char *other = bw_test_create_tenant("Quiet", &other_key);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", other_key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    free(tenant);
    free(key);
    free(other);
    free(other_key);
}
END_TEST

START_TEST(every_tenant_reply_carries_the_rate_limit_fields)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Counted", &key);
    bw_test_resp_t r;
    long remaining, reset, before;
    /* A success, and the count going down by one per request. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    rate_limit_field(&r, &before, &reset);
    ck_assert_int_ge(before, 90);
    ck_assert_int_le(before, 99);
    ck_assert_int_eq(reset, 1);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &r), 0);
    rate_limit_field(&r, &remaining, &reset);
    ck_assert_int_le(remaining, before);
    bw_test_resp_free(&r);
    /* Problems a service answers, bad input the gateway refuses, a write. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities/01907f3c-5a2b-7c1d-8e9f-0a1b2c3d4e5f", key,
                                  NULL, NULL, &r),
                     0);
    ck_assert_problem(&r, 404, NULL);
    rate_limit_field(&r, &remaining, &reset);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities?pageSize=-1", key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 400, "pageSize");
    rate_limit_field(&r, &remaining, &reset);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key,
                                  "{\"name\":\"R\",\"timeZone\":\"UTC\"}", NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    rate_limit_field(&r, &remaining, &reset);
    bw_test_resp_free(&r);
    /* A route the key's role may not call still counts. */
    ck_assert_int_eq(
        bw_test_http("POST", "/v1/api-keys", key, "{\"name\":\"v\",\"role\":\"viewer\"}", NULL, &r),
        0);
    ck_assert_int_eq(r.status, 201);
    char *viewer = strdup(jstr(r.json, "secret"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", viewer,
                                  "{\"name\":\"V\",\"timeZone\":\"UTC\"}", NULL, &r),
                     0);
    ck_assert_problem(&r, 403, NULL);
    rate_limit_field(&r, &remaining, &reset);
    bw_test_resp_free(&r);
    free(viewer);
    /* Replies that no tenant's limit counted carry none: a tenant key on an
     * operator route, no credential, the open endpoints. */
    ck_assert_int_eq(bw_test_http("POST", "/v1/tenants", key, "{\"name\":\"X\"}", NULL, &r), 0);
    ck_assert_problem(&r, 403, NULL);
    ck_assert_ptr_null(bw_test_header(&r, "RateLimit"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", NULL, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    ck_assert_ptr_null(bw_test_header(&r, "RateLimit"));
    ck_assert_ptr_null(bw_test_header(&r, "RateLimit-Policy"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, NULL, &r), 0);
    ck_assert_ptr_null(bw_test_header(&r, "RateLimit"));
    bw_test_resp_free(&r);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(etag_and_conditional_get)
{
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Etags", &key);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key,
                                  "{\"name\":\"E\",\"timeZone\":\"UTC\"}", NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    char path[128], inm[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", jstr(r.json, "id"));
    snprintf(inm, sizeof(inm), "If-None-Match: \"%s\"", jstr(r.json, "etag"));
    char *etag_header = strdup(bw_test_header(&r, "ETag"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, key, NULL, NULL, &r), 0);
    ck_assert_str_eq(bw_test_header(&r, "ETag"), etag_header);
    bw_test_resp_free(&r);
    const char *cond[] = {inm, NULL};
    ck_assert_int_eq(bw_test_http("GET", path, key, NULL, cond, &r), 0);
    ck_assert_int_eq(r.status, 304);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("PATCH", path, key, "{\"name\":\"F\"}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, key, NULL, cond, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_ne(bw_test_header(&r, "ETag"), etag_header);
    bw_test_resp_free(&r);
    free(etag_header);
    free(tenant);
    free(key);
}
END_TEST

Suite *suite_gateway(void)
{
    Suite *s = suite_create("gateway");
    TCase *tc = tcase_create("gateway");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, health_and_readiness);
    tcase_add_test(tc, openapi_document_lists_the_routes);
    tcase_add_test(tc, reference_page_is_served_by_the_gateway);
    tcase_add_test(tc, request_id_is_echoed_or_generated);
    tcase_add_test(tc, unknown_route_and_method);
    tcase_add_test(tc, metrics_count_requests_per_route);
    tcase_add_test(tc, cors_preflight_and_headers);
    tcase_add_test(tc, rate_limit_answers_429_with_retry_after);
    tcase_add_test(tc, every_tenant_reply_carries_the_rate_limit_fields);
    tcase_add_test(tc, etag_and_conditional_get);
    suite_add_tcase(s, tc);
    return s;
}
