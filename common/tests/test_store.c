/*
 * The row -> protobuf helpers of store.c on results built by hand (libpq's
 * PQsetResultAttrs and PQsetvalue), no database: a time column's SQL NULL
 * is no Timestamp and a success, a value is the instant it holds; a row's
 * columns copied into a message's fields (text, SQL NULL as "", and
 * times) in one call; a list
 * response without the fields the list helper fills is refused before any
 * query; a list's reply holds the rows its page shows, in order, runs its
 * hook over them once, and has a next token only when more rows follow.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/tenancy/v1/tenancy.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "ids.h"

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

START_TEST(a_rows_columns_are_copied_into_their_fields)
{
    bw_arena_t *arena = bw_arena_create(1024);
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    ck_assert_ptr_nonnull(res);
    PGresAttDesc cols[4] = {
        {.name = (char *)"id", .typid = 25, .typlen = -1, .atttypmod = -1},
        {.name = (char *)"note", .typid = 25, .typlen = -1, .atttypmod = -1},
        {.name = (char *)"created", .typid = 20, .typlen = 8, .atttypmod = -1},
        {.name = (char *)"ended", .typid = 20, .typlen = 8, .atttypmod = -1},
    };
    ck_assert_int_eq(PQsetResultAttrs(res, 4, cols), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 0, (char *)"k1", 2), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 1, NULL, -1), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 2, (char *)"1000001", 7), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 3, NULL, -1), 1);
    char *id = NULL, *note = NULL;
    Google__Protobuf__Timestamp *created = NULL, *ended = (void *)1;
    ck_assert_int_eq(BW_STORE_COLUMNS(arena, res, 0, {0, &id}, {1, &note}, {2, .time = &created},
                                      {3, .time = &ended}),
                     0);
    ck_assert_str_eq(id, "k1");
    ck_assert_str_eq(note, "");
    ck_assert_ptr_nonnull(created);
    ck_assert_int_eq(created->seconds, 1);
    ck_assert_int_eq(created->nanos, 1000);
    ck_assert_ptr_null(ended);
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

/* An API key with the id of a row's column 0 (a bw_store_row_fn). */
static int key_of_row(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Tenancy__V1__ApiKey *k = bw_arena_alloc(arena, sizeof(*k));
    if (k == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__api_key__init(k);
    if ((k->id = bw_store_strdup(arena, res, row, 0)) == NULL)
        return BW_ENOMEM;
    *(Bulwark__Tenancy__V1__ApiKey **)out = k;
    return 0;
}

typedef struct hook_seen {
    int calls;
    size_t n;
    int fail;
} hook_seen_t;

/* Names each key of the page after its row's column 0 and counts calls. */
static int name_keys(bw_call_t *call, void *data, const PGresult *res, ProtobufCMessage **items,
                     size_t n)
{
    hook_seen_t *seen = data;
    seen->calls++;
    seen->n = n;
    if (seen->fail)
        return BW_ECONFLICT;
    for (size_t i = 0; i < n; i++)
        ((Bulwark__Tenancy__V1__ApiKey *)items[i])->name =
            bw_store_strdup(call->arena, res, (int)i, 0);
    return 0;
}

#define KEY_A "0193a2b4-1111-7222-8333-444455556661"
#define KEY_B "0193a2b4-1111-7222-8333-444455556662"
#define KEY_C "0193a2b4-1111-7222-8333-444455556663"

START_TEST(a_list_reply_holds_the_shown_rows_runs_its_hook_and_says_if_more_follow)
{
    bw_call_t call = {0};
    call.arena = bw_arena_create(0);
    bw_page_token_set_secret("0123456789abcdef0123456789abcdef");
    const char *rows[] = {KEY_A, KEY_B, KEY_C};
    PGresult *res = times_result(rows, 3); /* the column's type does not matter here */
    bw_page_t page = {.size = 2, .after = "", .size_param = "3"};
    hook_seen_t seen = {0};
    const bw_store_list_hook_t hook = {name_keys, &seen};
    ProtobufCMessage *msg = NULL;
    /* Three rows for a page of two: two shown, and a token after the second. */
    ck_assert_int_eq(
        bw_store_list_response(&call, "keys", &page, res, 3,
                               &bulwark__tenancy__v1__list_api_keys_response__descriptor,
                               "api_keys", key_of_row, &hook, &msg),
        0);
    Bulwark__Tenancy__V1__ListApiKeysResponse *out = (void *)msg;
    ck_assert_uint_eq(out->n_api_keys, 2);
    ck_assert_str_eq(out->api_keys[0]->id, KEY_A);
    ck_assert_str_eq(out->api_keys[1]->id, KEY_B);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_str_eq(out->api_keys[1]->name, KEY_B);
    char key[64];
    ck_assert_int_eq(bw_page_token_decode("keys", out->next_page_token, key, sizeof(key)), 0);
    ck_assert_str_eq(key, KEY_B);
    /* Two rows for a page of two: the last page, no token. */
    ck_assert_int_eq(
        bw_store_list_response(&call, "keys", &page, res, 2,
                               &bulwark__tenancy__v1__list_api_keys_response__descriptor,
                               "api_keys", key_of_row, NULL, &msg),
        0);
    out = (void *)msg;
    ck_assert_uint_eq(out->n_api_keys, 2);
    ck_assert_str_eq(out->next_page_token, "");
    /* A hook's failure is the list's, with no reply. */
    seen.fail = 1;
    msg = NULL;
    ck_assert_int_eq(
        bw_store_list_response(&call, "keys", &page, res, 3,
                               &bulwark__tenancy__v1__list_api_keys_response__descriptor,
                               "api_keys", key_of_row, &hook, &msg),
        BW_ECONFLICT);
    ck_assert_ptr_null(msg);
    PQclear(res);
    bw_arena_destroy(call.arena);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, a_time_column_null_is_no_timestamp_and_no_error);
    tcase_add_test(tc, a_rows_columns_are_copied_into_their_fields);
    tcase_add_test(tc, a_list_response_without_its_fields_is_refused);
    tcase_add_test(tc, a_list_reply_holds_the_shown_rows_runs_its_hook_and_says_if_more_follow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
