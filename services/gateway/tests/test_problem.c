/*
 * problem+json rendering and the status mapping a client sees.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>

#include "problem.h"
#include "status.h"

START_TEST(validation_problem_names_the_field)
{
    bw_problem_error_t e = {"timeZone", "\"Mars/Olympus\" is not an IANA time zone"};
    bw_problem_t p = {.grpc_code = BW_GRPC_INVALID_ARGUMENT,
                      .reason = "VALIDATION_FAILED",
                      .detail = "timeZone: bad",
                      .instance = "/v1/entities",
                      .request_id = "r1",
                      .errors = &e,
                      .n_errors = 1};
    ck_assert_int_eq(bw_problem_status(&p), 400);
    char *text = bw_problem_render(&p, NULL);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), 400);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "title")), "Bad Request");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "code")), "INVALID_ARGUMENT");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "reason")), "VALIDATION_FAILED");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "type")),
                     "urn:bulwark:problem:validation-failed");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "instance")), "/v1/entities");
    json_t *err0 = json_array_get(json_object_get(doc, "errors"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(err0, "field")), "timeZone");
    json_decref(doc);
    free(text);
}
END_TEST

START_TEST(status_table)
{
    ck_assert_int_eq(bw_status_http(BW_GRPC_NOT_FOUND, NULL), 404);
    ck_assert_int_eq(bw_status_http(BW_GRPC_UNAUTHENTICATED, NULL), 401);
    ck_assert_int_eq(bw_status_http(BW_GRPC_PERMISSION_DENIED, NULL), 403);
    ck_assert_int_eq(bw_status_http(BW_GRPC_ALREADY_EXISTS, NULL), 409);
    ck_assert_int_eq(bw_status_http(BW_GRPC_ABORTED, NULL), 409);
    ck_assert_int_eq(bw_status_http(BW_GRPC_RESOURCE_EXHAUSTED, NULL), 429);
    ck_assert_int_eq(bw_status_http(BW_GRPC_UNAVAILABLE, NULL), 503);
    ck_assert_int_eq(bw_status_http(BW_GRPC_DEADLINE_EXCEEDED, NULL), 504);
    ck_assert_int_eq(bw_status_http(BW_GRPC_FAILED_PRECONDITION, "ETAG_MISMATCH"), 412);
    ck_assert_int_eq(bw_status_http(BW_GRPC_INTERNAL, NULL), 500);
    ck_assert_int_eq(bw_status_http(99, NULL), 500);
    ck_assert_int_eq(bw_status_grpc_code(BW_EINVAL), BW_GRPC_INVALID_ARGUMENT);
    ck_assert_int_eq(bw_status_grpc_code(BW_ENOTFOUND), BW_GRPC_NOT_FOUND);
    ck_assert_int_eq(bw_status_grpc_code(-999), BW_GRPC_INTERNAL);
}
END_TEST

START_TEST(explicit_http_status_wins)
{
    bw_problem_t p = {
        .grpc_code = BW_GRPC_RESOURCE_EXHAUSTED, .http_status = 413, .reason = "BODY_TOO_LARGE"};
    ck_assert_int_eq(bw_problem_status(&p), 413);
    char *text = bw_problem_render(&p, NULL);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "title")), "Content Too Large");
    ck_assert_int_eq(json_array_size(json_object_get(doc, "errors")), 0);
    json_decref(doc);
    free(text);
}
END_TEST

START_TEST(client_text_that_is_not_utf8_is_repaired)
{
    /* A percent-decoded query parameter may be any bytes. */
    bw_problem_error_t e = {"caf\xe9", "is not a query parameter"};
    bw_problem_t p = {.grpc_code = BW_GRPC_INVALID_ARGUMENT,
                      .reason = "UNKNOWN_PARAMETER",
                      .detail = "caf\xe9 is not a query parameter of this route",
                      .instance = "/v1/x\xff",
                      .errors = &e,
                      .n_errors = 1};
    char *text = bw_problem_render(&p, NULL);
    ck_assert_ptr_nonnull(text);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "detail")),
                     "caf\xef\xbf\xbd is not a query parameter of this route");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "instance")), "/v1/x\xef\xbf\xbd");
    json_t *err0 = json_array_get(json_object_get(doc, "errors"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(err0, "field")), "caf\xef\xbf\xbd");
    json_decref(doc);
    free(text);
}
END_TEST

START_TEST(server_statuses_have_titles)
{
    bw_problem_t p = {
        .grpc_code = BW_GRPC_DEADLINE_EXCEEDED, .http_status = 408, .reason = "REQUEST_TIMEOUT"};
    char *text = bw_problem_render(&p, NULL);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "title")), "Request Timeout");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "type")),
                     "urn:bulwark:problem:request-timeout");
    json_decref(doc);
    free(text);
    ck_assert_str_eq(bw_problem_title(431), "Request Header Fields Too Large");
    ck_assert_str_eq(bw_problem_title(404), "Not Found");
}
END_TEST

Suite *suite_problem(void)
{
    Suite *s = suite_create("problem");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, validation_problem_names_the_field);
    tcase_add_test(tc, status_table);
    tcase_add_test(tc, explicit_http_status_wins);
    tcase_add_test(tc, client_text_that_is_not_utf8_is_repaired);
    tcase_add_test(tc, server_statuses_have_titles);
    suite_add_tcase(s, tc);
    return s;
}
