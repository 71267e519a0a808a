/*
 * The checks on the request headers the gateway acts on: which values are
 * refused (naming the header), which are taken, and what reaches the
 * services.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "status.h"

/* Reads one header (name, value), or two when name2 is non-NULL. */
static int read2(const char *name, const char *value, const char *name2, const char *value2,
                 bw_headers_t *out, bw_headers_error_t *err)
{
    bw_httpparse_field_t f[2] = {
        {name, value, strlen(name), strlen(value)},
        {name2, value2, name2 ? strlen(name2) : 0, value2 ? strlen(value2) : 0}};
    return bw_headers_read(f, name2 != NULL ? 2 : 1, out, err);
}

static int read1(const char *name, const char *value, bw_headers_t *out, bw_headers_error_t *err)
{
    return read2(name, value, NULL, NULL, out, err);
}

#define ck_header_refused(name, value, want_header)                                                \
    do {                                                                                           \
        bw_headers_t h_;                                                                           \
        bw_headers_error_t e_;                                                                     \
        ck_assert_int_eq(read1((name), (value), &h_, &e_), BW_EINVAL);                             \
        ck_assert_str_eq(e_.header, (want_header));                                                \
        ck_assert_ptr_nonnull(e_.message);                                                         \
    } while (0)

START_TEST(idempotency_key)
{
    bw_headers_t h;
    bw_headers_error_t e;
    char key[300];
    memset(key, 'k', 255);
    key[255] = '\0';
    ck_assert_int_eq(read1("Idempotency-Key", key, &h, &e), 0);
    ck_assert_str_eq(h.idempotency_key, key);
    ck_assert_int_eq(read1("idempotency-key", "order 42 / retry #1", &h, &e), 0);
    ck_assert_str_eq(h.idempotency_key, "order 42 / retry #1");
    memset(key, 'k', 256);
    key[256] = '\0';
    ck_header_refused("Idempotency-Key", key, "Idempotency-Key");
    ck_header_refused("Idempotency-Key", "", "Idempotency-Key");
    ck_header_refused("Idempotency-Key", "a\tb", "Idempotency-Key");
    ck_header_refused("Idempotency-Key", "a\x7f", "Idempotency-Key");
    ck_header_refused("Idempotency-Key", "caf\xc3\xa9", "Idempotency-Key");
    ck_assert_int_eq(read2("Idempotency-Key", "a", "Idempotency-Key", "b", &h, &e), BW_EINVAL);
    ck_assert_str_eq(e.header, "Idempotency-Key");
    ck_assert_int_eq(read1("X-Other", "x", &h, &e), 0);
    ck_assert_ptr_null(h.idempotency_key);
}
END_TEST

START_TEST(if_match)
{
    bw_headers_t h;
    bw_headers_error_t e;
    ck_assert_int_eq(read1("If-Match", "\"8fd36ce5815a374c\"", &h, &e), 0);
    ck_assert_uint_eq(h.if_match_len, 16);
    ck_assert(strncmp(h.if_match, "8fd36ce5815a374c", 16) == 0);
    ck_assert_int_eq(read1("If-Match", "W/\"abc\"", &h, &e), 0);
    ck_assert_uint_eq(h.if_match_len, 3);
    ck_assert(strncmp(h.if_match, "abc", 3) == 0);
    ck_assert_int_eq(read1("If-Match", "*", &h, &e), 0);
    ck_assert_str_eq(h.if_match, "*");
    ck_header_refused("If-Match", "abc", "If-Match");
    ck_header_refused("If-Match", "\"abc", "If-Match");
    ck_header_refused("If-Match", "\"a\"b\"", "If-Match");
    ck_header_refused("If-Match", "\"a b\"", "If-Match");
    ck_header_refused("If-Match", "\"\xc3\xa9\"", "If-Match");
    ck_header_refused("If-Match", "\"a\", \"b\"", "If-Match");
    ck_header_refused("If-Match", "*, \"a\"", "If-Match");
    ck_header_refused("If-Match", "w/\"a\"", "If-Match");
    ck_header_refused("If-Match", "", "If-Match");
    ck_assert_int_eq(read2("If-Match", "\"a\"", "If-Match", "\"a\"", &h, &e), BW_EINVAL);
}
END_TEST

START_TEST(if_none_match)
{
    bw_headers_t h;
    bw_headers_error_t e;
    ck_assert_int_eq(read1("If-None-Match", "\"x\", W/\"abc\" ,\"y\"", &h, &e), 0);
    ck_assert(bw_headers_none_match(h.if_none_match, "abc"));
    ck_assert(bw_headers_none_match(h.if_none_match, "x"));
    ck_assert(!bw_headers_none_match(h.if_none_match, "ab"));
    ck_assert(!bw_headers_none_match(h.if_none_match, "abcd"));
    ck_assert(!bw_headers_none_match(NULL, "abc"));
    ck_assert(bw_headers_none_match("*", "anything"));
    ck_header_refused("If-None-Match", "abc", "If-None-Match");
    ck_header_refused("If-None-Match", "\"a\" \"b\"", "If-None-Match");
    ck_header_refused("If-None-Match", ",", "If-None-Match");
    ck_header_refused("If-None-Match", "\"a\",x", "If-None-Match");
}
END_TEST

START_TEST(accept_encoding_gzip)
{
    /* What browsers and curl send. */
    ck_assert(bw_headers_accepts_gzip("gzip, deflate, br, zstd"));
    ck_assert(bw_headers_accepts_gzip("GZIP"));
    ck_assert(bw_headers_accepts_gzip("x-gzip"));
    ck_assert(bw_headers_accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    ck_assert(bw_headers_accepts_gzip("*"));
    ck_assert(bw_headers_accepts_gzip("identity, * ; q=0.5"));
    ck_assert(bw_headers_accepts_gzip("gzip;q=0.001"));
    /* Absent, not listed, or refused with a zero weight. */
    ck_assert(!bw_headers_accepts_gzip(NULL));
    ck_assert(!bw_headers_accepts_gzip(""));
    ck_assert(!bw_headers_accepts_gzip("identity"));
    ck_assert(!bw_headers_accepts_gzip("br, deflate"));
    ck_assert(!bw_headers_accepts_gzip("gzip;q=0"));
    ck_assert(!bw_headers_accepts_gzip("gzip ; Q=0.000 , br"));
    ck_assert(!bw_headers_accepts_gzip("*;q=0"));
    /* gzip's own weight wins over the wildcard's, either way. */
    ck_assert(!bw_headers_accepts_gzip("gzip;q=0, *"));
    ck_assert(bw_headers_accepts_gzip("*;q=0, gzip"));
    /* Look-alikes are other codings. */
    ck_assert(!bw_headers_accepts_gzip("gzipx, xgzip"));
    ck_assert(!bw_headers_accepts_gzip(",,;q=1"));
}
END_TEST

START_TEST(accept_picks_a_representation)
{
    static const char *const types[] = {"application/json", "text/csv",
                                        "application/vnd.openxmlformats-officedocument."
                                        "spreadsheetml.sheet"};
    /* No Accept, or one that takes anything: the first, JSON. */
    ck_assert_int_eq(bw_headers_negotiate(NULL, types, 3), 0);
    ck_assert_int_eq(bw_headers_negotiate("", types, 3), 0);
    ck_assert_int_eq(bw_headers_negotiate("*/*", types, 3), 0);
    ck_assert_int_eq(bw_headers_negotiate("text/html,application/xhtml+xml,*/*;q=0.8", types, 3),
                     0);
    /* A named type, any case, with parameters. */
    ck_assert_int_eq(bw_headers_negotiate("text/csv", types, 3), 1);
    ck_assert_int_eq(bw_headers_negotiate("TEXT/CSV; charset=utf-8", types, 3), 1);
    ck_assert_int_eq(bw_headers_negotiate("text/*", types, 3), 1);
    ck_assert_int_eq(
        bw_headers_negotiate("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             types, 3),
        2);
    /* Weights decide; a tie goes to the earlier type. */
    ck_assert_int_eq(bw_headers_negotiate("text/csv;q=0.5, application/json", types, 3), 0);
    ck_assert_int_eq(bw_headers_negotiate("application/json;q=0.4, text/csv;q=0.5", types, 3), 1);
    ck_assert_int_eq(bw_headers_negotiate("text/csv, application/json", types, 3), 0);
    /* The most specific range weighs a type: a zero weight on any type
     * does not exclude text/csv named with a weight of its own. */
    ck_assert_int_eq(bw_headers_negotiate("*/*;q=0, text/csv;q=0.1", types, 3), 1);
    ck_assert_int_eq(bw_headers_negotiate("*/*, application/json;q=0", types, 3), 1);
    /* Nothing acceptable. */
    ck_assert_int_eq(bw_headers_negotiate("application/pdf", types, 3), -1);
    ck_assert_int_eq(bw_headers_negotiate("text/csv;q=0", types, 3), -1);
    ck_assert_int_eq(bw_headers_negotiate("image/*", types, 3), -1);
    ck_assert_int_eq(bw_headers_negotiate("text/csvx, text", types, 3), -1);
    /* A lone picture route. */
    static const char *const svg[] = {"image/svg+xml"};
    ck_assert_int_eq(bw_headers_negotiate("image/*", svg, 1), 0);
    ck_assert_int_eq(bw_headers_negotiate("application/json", svg, 1), -1);
}
END_TEST

START_TEST(content_type_names_a_type)
{
    ck_assert(bw_headers_is_type("text/csv", "text/csv"));
    ck_assert(bw_headers_is_type("Text/CSV ; charset=utf-8", "text/csv"));
    ck_assert(!bw_headers_is_type("text/csvx", "text/csv"));
    ck_assert(!bw_headers_is_type("text/cs", "text/csv"));
    ck_assert(!bw_headers_is_type(NULL, "text/csv"));
}
END_TEST

START_TEST(request_id_is_taken_or_replaced)
{
    bw_headers_t h;
    bw_headers_error_t e;
    ck_assert_int_eq(read1("X-Request-Id", "trace-42:a.b_c", &h, &e), 0);
    ck_assert_str_eq(h.request_id, "trace-42:a.b_c");
    /* Unsafe ids are not echoed, and not refused either. */
    ck_assert_int_eq(read1("X-Request-Id", "a b", &h, &e), 0);
    ck_assert_ptr_null(h.request_id);
    ck_assert_int_eq(read1("X-Request-Id", "", &h, &e), 0);
    ck_assert_ptr_null(h.request_id);
    char id[200];
    memset(id, 'a', 129);
    id[129] = '\0';
    ck_assert_int_eq(read1("X-Request-Id", id, &h, &e), 0);
    ck_assert_ptr_null(h.request_id);
    ck_assert_int_eq(read2("X-Request-Id", "a", "X-Request-Id", "b", &h, &e), 0);
    ck_assert_ptr_null(h.request_id);
}
END_TEST

START_TEST(authorization)
{
    bw_headers_t h;
    bw_headers_error_t e;
    ck_assert_int_eq(read1("Authorization", "Bearer bwk_0123_abc-._~+/==", &h, &e), 0);
    ck_assert_str_eq(h.bearer, "bwk_0123_abc-._~+/==");
    ck_assert_int_eq(read1("Authorization", "bearer   tok", &h, &e), 0);
    ck_assert_str_eq(h.bearer, "tok");
    ck_assert_int_eq(read1("Authorization", "Bearer a b", &h, &e), 0);
    ck_assert_ptr_null(h.bearer);
    ck_assert_str_eq(h.authorization, "Bearer a b");
    ck_assert_int_eq(read1("Authorization", "Bearer a=b", &h, &e), 0);
    ck_assert_ptr_null(h.bearer);
    ck_assert_int_eq(read1("Authorization", "Basic dXNlcjpwdw==", &h, &e), 0);
    ck_assert_ptr_null(h.bearer);
    ck_assert_int_eq(read2("Authorization", "Bearer a", "authorization", "Bearer b", &h, &e),
                     BW_EINVAL);
    ck_assert_str_eq(e.header, "Authorization");
}
END_TEST

START_TEST(content_type)
{
    ck_assert(bw_headers_is_json("application/json"));
    ck_assert(bw_headers_is_json("Application/JSON; charset=utf-8"));
    ck_assert(bw_headers_is_json("application/merge-patch+json"));
    ck_assert(!bw_headers_is_json("text/plain"));
    ck_assert(!bw_headers_is_json("application/jsonx"));
    ck_assert(!bw_headers_is_json(NULL));
    bw_headers_t h;
    bw_headers_error_t e;
    ck_assert_int_eq(
        read2("Content-Type", "application/json", "Content-Type", "text/plain", &h, &e), BW_EINVAL);
    ck_assert_str_eq(e.header, "Content-Type");
}
END_TEST

Suite *suite_headers(void)
{
    Suite *s = suite_create("headers");
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, idempotency_key);
    tcase_add_test(tc, if_match);
    tcase_add_test(tc, if_none_match);
    tcase_add_test(tc, accept_encoding_gzip);
    tcase_add_test(tc, accept_picks_a_representation);
    tcase_add_test(tc, content_type_names_a_type);
    tcase_add_test(tc, request_id_is_taken_or_replaced);
    tcase_add_test(tc, authorization);
    tcase_add_test(tc, content_type);
    suite_add_tcase(s, tc);
    return s;
}
