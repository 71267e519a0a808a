/*
 * The row -> protobuf helpers of store.c on results built by hand (libpq's
 * PQsetResultAttrs and PQsetvalue), no database: a time column's SQL NULL
 * is no Timestamp and a success, a value is the instant it holds; a list
 * response without the fields the list helper fills is refused before any
 * query.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/empty.pb-c.h"

#include "status.h"
#include "store.h"

/* One bigint column, "time", with rows (NULL: SQL NULL). */
static PGresult *times_result(const char *const *rows, int n)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    ck_assert_ptr_nonnull(res);
    PGresAttDesc col = {.name = (char *)"time", .typid = 20, .typlen = 8, .atttypmod = -1};
    ck_assert_int_eq(PQsetResultAttrs(res, 1, &col), 1);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(
            PQsetvalue(res, i, 0, (char *)rows[i], rows[i] ? (int)strlen(rows[i]) : -1), 1);
    return res;
}

START_TEST(a_time_column_null_is_no_timestamp_and_no_error)
{
    bw_arena_t *arena = bw_arena_create(1024);
    const char *rows[] = {NULL, "1774744200123456", "-1"};
    PGresult *res = times_result(rows, 3);
    Google__Protobuf__Timestamp *ts = (void *)1;
    ck_assert_int_eq(bw_store_timestamp(arena, res, 0, 0, &ts), 0);
    ck_assert_ptr_null(ts);
    ck_assert_int_eq(bw_store_timestamp(arena, res, 1, 0, &ts), 0);
    ck_assert_ptr_nonnull(ts);
    ck_assert_int_eq(ts->seconds, 1774744200);
    ck_assert_int_eq(ts->nanos, 123456000);
    /* Before the epoch: nanos stay positive, as Timestamp wants. */
    ck_assert_int_eq(bw_store_timestamp(arena, res, 2, 0, &ts), 0);
    ck_assert_int_eq(ts->seconds, -1);
    ck_assert_int_eq(ts->nanos, 999999000);
    PQclear(res);
    bw_arena_destroy(arena);
}
END_TEST

START_TEST(a_list_response_without_its_fields_is_refused)
{
    ProtobufCMessage *resp = NULL;
    /* Empty has neither the repeated field nor next_page_token. */
    ck_assert_int_eq(bw_store_uuid_list(NULL, "x", 10, "", NULL, NULL,
                                        &google__protobuf__empty__descriptor, "items", NULL, &resp),
                     BW_EINVAL);
    ck_assert_ptr_null(resp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, a_time_column_null_is_no_timestamp_and_no_error);
    tcase_add_test(tc, a_list_response_without_its_fields_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
