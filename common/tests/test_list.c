/*
 * orderBy, filter and updatedSince of a list request, and its page tokens:
 * what a client may write, what each mistake answers (the parameter it
 * names), and that a token only works with the parameters it was issued
 * for. The results a page token is read from are built with libpq's own
 * result constructors, so no database is needed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ids.h"
#include "list.h"
#include "status.h"

/* The statements only need distinct addresses here. */
static const bw_db_stmt_t stmts[12] = {
    {"c_af", ""}, {"c_aa", ""}, {"c_df", ""}, {"c_da", ""}, {"u_af", ""}, {"u_aa", ""},
    {"u_df", ""}, {"u_da", ""}, {"n_af", ""}, {"n_aa", ""}, {"n_df", ""}, {"n_da", ""},
};
static const bw_db_stmt_t since_stmt = {"since", ""};

static const bw_list_order_t orders[] = {
    {"createTime", BW_LIST_KEY_TIME, {&stmts[0], &stmts[1], &stmts[2], &stmts[3]}},
    {"updateTime", BW_LIST_KEY_TIME, {&stmts[4], &stmts[5], &stmts[6], &stmts[7]}},
    {"name", BW_LIST_KEY_TEXT, {&stmts[8], &stmts[9], &stmts[10], &stmts[11]}},
};
static const char *const states[] = {"OPEN", "CLOSED", NULL};
enum { F_STATE, F_ENTITY, F_PARENT, F_SIGNIFICANT, F_ACTION };
static const bw_list_filter_t filters[] = {
    {"state", BW_LIST_ENUM, states, 0},
    {"entity", BW_LIST_UUID, NULL, 0},
    {"parentEntity", BW_LIST_UUID_OR_NONE, NULL, 0},
    {"significant", BW_LIST_BOOL, NULL, 0},
    {"action", BW_LIST_TEXT, NULL, 10},
};
static const bw_list_spec_t spec = {
    .name = "things",
    .id = BW_LIST_ID_UUID,
    .orders = orders,
    .n_orders = 3,
    .default_order = 0,
    .since_order = 1,
    .filters = filters,
    .n_filters = 5,
};

/* A list whose deletions leave tombstones for 30 days, read by its own
 * updatedSince statement. */
static const bw_list_spec_t spec_tombstones = {
    .name = "things",
    .id = BW_LIST_ID_UUID,
    .orders = orders,
    .n_orders = 3,
    .since_order = 1,
    .since_stmt = &since_stmt,
    .tombstone_days = 30,
    .filters = filters,
    .n_filters = 5,
};

static bw_call_t call;

static void setup(void)
{
    memset(&call, 0, sizeof(call));
    call.arena = bw_arena_create(0);
    ck_assert_ptr_nonnull(call.arena);
    bw_page_token_set_secret("0123456789abcdef0123456789abcdef");
}

static void teardown(void)
{
    bw_arena_destroy(call.arena);
}

/* Parses q; on failure the call holds exactly one violation, of field. */
static int parse(const bw_list_spec_t *s, const bw_list_query_t *q, bw_list_t *l)
{
    call.n_violations = 0;
    return bw_list_parse(&call, s, q, l);
}

static void assert_refused(const bw_list_query_t *q, const char *field, const char *says)
{
    bw_list_t l;
    ck_assert_int_eq(parse(&spec, q, &l), BW_EINVAL);
    ck_assert_uint_ge(call.n_violations, 1);
    ck_assert_str_eq(call.violations[0].field, field);
    ck_assert_msg(says == NULL || strstr(call.violations[0].message, says) != NULL,
                  "message \"%s\" does not say \"%s\"", call.violations[0].message, says);
}

static void assert_filter_refused(const char *filter, const char *says)
{
    bw_list_query_t q = {.filter = filter};
    assert_refused(&q, "filter", says);
}

/* A result of one row whose last two columns are key and id, as a list
 * statement returns them. */
static PGresult *row_of(const char *key, const char *id)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc cols[3] = {
        {"name", 0, 0, 0, 25, -1, 0}, {"key", 0, 0, 0, 25, -1, 0}, {"id", 0, 0, 0, 25, -1, 0}};
    ck_assert_int_eq(PQsetResultAttrs(res, 3, cols), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 0, (char *)"x", 1), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 1, (char *)key, (int)strlen(key)), 1);
    ck_assert_int_eq(PQsetvalue(res, 0, 2, (char *)id, (int)strlen(id)), 1);
    return res;
}

/* The token after a page of size 1 that read 2 rows, the last shown one
 * with key and id. */
static char *token_after(const bw_list_spec_t *s, const bw_list_query_t *q, const char *key,
                         const char *id)
{
    bw_list_query_t first = *q;
    first.page_size = 1;
    first.page_token = NULL;
    bw_list_t l;
    ck_assert_int_eq(parse(s, &first, &l), 0);
    PGresult *res = row_of(key, id);
    char *token;
    ck_assert_int_eq(bw_list_next_token(&call, &l, res, 2, 0, &token), 0);
    PQclear(res);
    ck_assert_str_ne(token, "");
    return token;
}

#define ID_A "0193a2b4-1111-7222-8333-444455556666"

START_TEST(defaults_and_page_size)
{
    bw_list_query_t q = {0};
    bw_list_t l;
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_int_eq(l.size, 50);
    ck_assert_str_eq(l.size_param, "51");
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[0]);
    ck_assert_int_eq(l.after, 0);
    q.page_size = 1000;
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_int_eq(l.size, 500);
    q.page_size = 7;
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_int_eq(l.size, 7);
    ck_assert_int_eq(bw_list_shown(&l, 8), 7);
    ck_assert_int_eq(bw_list_shown(&l, 3), 3);
    q.page_size = -1;
    assert_refused(&q, "pageSize", "negative");
}
END_TEST

START_TEST(order_by_takes_a_listed_field_either_way)
{
    bw_list_t l;
    bw_list_query_t q = {.order_by = "name"};
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[8]);
    q.order_by = "  name   desc ";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[10]);
    q.order_by = "updateTime desc";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[6]);
    q.order_by = "";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[0]);

    q.order_by = "title";
    assert_refused(&q, "orderBy", "must be createTime, updateTime or name");
    q.order_by = "name asc";
    assert_refused(&q, "orderBy", "not \"name asc\"");
    q.order_by = "Name";
    assert_refused(&q, "orderBy", NULL);
    q.order_by = "desc";
    assert_refused(&q, "orderBy", NULL);
    q.order_by = "name desc desc";
    assert_refused(&q, "orderBy", NULL);
    q.order_by = "name,createTime";
    assert_refused(&q, "orderBy", "one field");
    q.order_by = "name desc, createTime";
    assert_refused(&q, "orderBy", "one field");
}
END_TEST

START_TEST(filter_terms_are_checked_field_by_field)
{
    bw_list_t l;
    bw_list_query_t q = {.filter = "state=OPEN AND entity = 0193A2B4-1111-7222-8333-444455556666"
                                   "  AND   significant=false AND action=\"a \\\"b\\\" \\\\\""};
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.filters[F_STATE], "OPEN");
    ck_assert_str_eq(l.filters[F_ENTITY], ID_A);
    ck_assert_str_eq(l.filters[F_SIGNIFICANT], "false");
    ck_assert_str_eq(l.filters[F_ACTION], "a \"b\" \\");
    ck_assert_ptr_null(l.filters[F_PARENT]);
    /* "" means none for an id that may be absent. */
    q.filter = "parentEntity=\"\"";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.filters[F_PARENT], "");
    q.filter = "   ";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_ptr_null(l.filters[F_STATE]);

    assert_filter_refused("colour=red", "unknown field \"colour\"; filter takes state, entity, "
                                        "parentEntity, significant and action");
    assert_filter_refused("state=open", "state must be OPEN or CLOSED, not \"open\"");
    assert_filter_refused("entity=42", "entity must be an id");
    assert_filter_refused("parentEntity=none", "parentEntity must be an id (a UUID) or \"\"");
    assert_filter_refused("significant=yes", "true or false");
    assert_filter_refused("action=\"\"", "1 to 10 bytes");
    assert_filter_refused("action=abcdefghijk", "1 to 10 bytes");
    assert_filter_refused("state=OPEN AND state=CLOSED", "state appears twice");
    assert_filter_refused("state!=OPEN", "only field=value");
    assert_filter_refused("state==OPEN", "only field=value");
    assert_filter_refused("state:OPEN", "only field=value");
    assert_filter_refused("state=OPEN OR state=CLOSED", "expected \" AND \"");
    assert_filter_refused("state=OPEN and significant=true", "expected \" AND \"");
    assert_filter_refused("state=OPEN AND", "a field name is expected at the end");
    assert_filter_refused("state=OPEN ANDsignificant=true", "expected \" AND \"");
    assert_filter_refused("state=", "a value is missing");
    assert_filter_refused("action=\"open", "not closed");
    assert_filter_refused("action=\"a\\nb\"", "escaped");
    assert_filter_refused("action=a\"b", "must be quoted");
    assert_filter_refused("(state=OPEN)", "a field name is expected");
    assert_filter_refused("NOT state=OPEN", "only field=value");
    char *long_filter = calloc(1, BW_LIST_FILTER_MAX + 2);
    memset(long_filter, 'a', BW_LIST_FILTER_MAX + 1);
    assert_filter_refused(long_filter, "longer than");
    free(long_filter);
    /* Every bad term is reported, not only the first. */
    q.filter = "state=open AND colour=red";
    ck_assert_int_eq(parse(&spec, &q, &l), BW_EINVAL);
    ck_assert_uint_eq(call.n_violations, 2);
}
END_TEST

START_TEST(a_field_given_as_a_parameter_and_in_filter_is_refused)
{
    bw_list_t l;
    bw_list_query_t q = {0};
    q.params[F_STATE] = "CLOSED";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.filters[F_STATE], "CLOSED");
    q.filter = "significant=true";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.filters[F_STATE], "CLOSED");
    ck_assert_str_eq(l.filters[F_SIGNIFICANT], "true");
    q.filter = "state=CLOSED";
    assert_refused(&q, "filter", "given as a parameter too");
}
END_TEST

START_TEST(updated_since_lists_changes_oldest_first)
{
    bw_list_t l;
    Google__Protobuf__Timestamp since = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    since.seconds = time(NULL) - 3600;
    since.nanos = 250000999; /* nanoseconds below a microsecond are dropped */
    bw_list_query_t q = {.updated_since = &since};
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[5]); /* updateTime, ascending, after a key */
    ck_assert_int_eq(l.after, 1);
    /* Strictly after: from the next microsecond on, before every id. */
    char want[BW_LIST_TIME_TEXT];
    ck_assert_int_eq(bw_list_format_time(since.seconds * 1000000LL + 250001, want, sizeof(want)),
                     0);
    ck_assert_str_eq(l.key, want);
    ck_assert_str_eq(l.id, "00000000-0000-0000-0000-000000000000");
    q.order_by = "updateTime";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    q.order_by = "updateTime desc";
    assert_refused(&q, "orderBy", "must be updateTime or empty with updatedSince");
    q.order_by = "name";
    assert_refused(&q, "orderBy", "must be updateTime or empty with updatedSince");

    /* With tombstones: the list's own statement, and no further back than
     * they are kept. */
    q.order_by = NULL;
    ck_assert_int_eq(parse(&spec_tombstones, &q, &l), 0);
    ck_assert_ptr_eq(bw_list_stmt(&l), &since_stmt);
    since.seconds = time(NULL) - 31 * 86400;
    ck_assert_int_eq(parse(&spec_tombstones, &q, &l), BW_EINVAL);
    ck_assert_str_eq(call.violations[0].field, "updatedSince");
    ck_assert_ptr_nonnull(strstr(call.violations[0].message, "more than 30 days ago"));
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    since.seconds = -62135596801LL; /* before year 1 */
    assert_refused(&q, "updatedSince", "RFC 3339");
    since.seconds = 0;
    since.nanos = -1;
    assert_refused(&q, "updatedSince", "RFC 3339");
}
END_TEST

START_TEST(values_come_in_the_documented_order)
{
    bw_list_t l;
    bw_list_query_t q = {.page_size = 10, .filter = "significant=true"};
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    const char *own[] = {"ENTITY"};
    int n;
    const char **v = bw_list_values(&call, &l, own, 1, &n);
    ck_assert_int_eq(n, 1 + 1 + 5);
    ck_assert_str_eq(v[0], "11");
    ck_assert_str_eq(v[1], "ENTITY");
    ck_assert_ptr_null(v[2]);
    ck_assert_ptr_null(v[3]);
    ck_assert_ptr_null(v[4]);
    ck_assert_str_eq(v[5], "true");
    ck_assert_ptr_null(v[6]);

    q.page_token = token_after(&spec, &q, "1700000000123456", ID_A);
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    v = bw_list_values(&call, &l, own, 1, &n);
    ck_assert_int_eq(n, 1 + 1 + 5 + 2);
    ck_assert_str_eq(v[7], "2023-11-14T22:13:20.123456Z");
    ck_assert_str_eq(v[8], ID_A);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[1]);
}
END_TEST

START_TEST(a_token_carries_the_sort_key_and_the_id)
{
    bw_list_t l;
    bw_list_query_t q = {.order_by = "name desc"};
    /* Any text: blanks, a newline, non-ASCII. */
    const char *name = "Acme \"Cloud\"\nGmbH \xc3\xa4";
    q.page_token = token_after(&spec, &q, name, ID_A);
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_int_eq(l.after, 1);
    ck_assert_str_eq(l.key, name);
    ck_assert_str_eq(l.id, ID_A);
    ck_assert_ptr_eq(bw_list_stmt(&l), &stmts[11]);

    /* The longest name a column holds (200 four-byte characters) fits. */
    char longest[801];
    for (int i = 0; i < 200; i++)
        memcpy(longest + 4 * i, "\xf0\x9f\x98\x80", 4);
    longest[800] = '\0';
    q.page_token = token_after(&spec, &q, longest, ID_A);
    ck_assert_uint_lt(strlen(q.page_token), BW_PAGE_TOKEN_MAX);
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.key, longest);

    /* No more rows than the page holds: no token. */
    bw_list_query_t first = {.page_size = 1};
    ck_assert_int_eq(parse(&spec, &first, &l), 0);
    PGresult *res = row_of("k", ID_A);
    char *token;
    ck_assert_int_eq(bw_list_next_token(&call, &l, res, 1, 0, &token), 0);
    ck_assert_str_eq(token, "");
    PQclear(res);
}
END_TEST

START_TEST(a_token_works_only_with_its_own_parameters)
{
    bw_list_t l;
    Google__Protobuf__Timestamp since = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    since.seconds = time(NULL) - 60;
    bw_list_query_t base = {.order_by = "createTime", .filter = "state=OPEN"};
    char *token = token_after(&spec, &base, "1700000000000000", ID_A);
    bw_list_query_t q = base;
    q.page_token = token;
    ck_assert_int_eq(parse(&spec, &q, &l), 0);

    /* Another order, direction, filter, filter value, updatedSince, list: 400
     * naming pageToken. */
    const char *other_orders[] = {"createTime desc", "updateTime", "name"};
    for (size_t i = 0; i < 3; i++) {
        q = base;
        q.page_token = token;
        q.order_by = other_orders[i];
        assert_refused(&q, "pageToken", "these orderBy, filter and updatedSince");
    }
    const char *other_filters[] = {"", "state=CLOSED", "state=OPEN AND significant=true",
                                   "significant=true"};
    for (size_t i = 0; i < 4; i++) {
        q = base;
        q.page_token = token;
        q.filter = other_filters[i];
        assert_refused(&q, "pageToken", NULL);
    }
    /* The same filter written differently is the same filter. */
    q = base;
    q.page_token = token;
    q.filter = "  state = OPEN ";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    /* ... and given as a parameter too. */
    q.filter = NULL;
    q.params[F_STATE] = "OPEN";
    ck_assert_int_eq(parse(&spec, &q, &l), 0);

    q = base;
    q.page_token = token;
    q.order_by = NULL;
    q.updated_since = &since;
    assert_refused(&q, "pageToken", NULL);
    bw_list_spec_t renamed = spec;
    renamed.name = "other-things";
    q = base;
    q.page_token = token;
    ck_assert_int_eq(parse(&renamed, &q, &l), BW_EINVAL);
    ck_assert_str_eq(call.violations[0].field, "pageToken");

    /* A token of one updatedSince does not serve another. */
    bw_list_query_t sync = {.updated_since = &since};
    q = sync;
    q.page_token = token_after(&spec, &sync, "1700000000000000", ID_A);
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.key, "2023-11-14T22:13:20.000000Z");
    Google__Protobuf__Timestamp later = since;
    later.seconds += 1;
    q.updated_since = &later;
    assert_refused(&q, "pageToken", NULL);

    /* Altered, truncated, garbage, another secret. */
    char *forged = strdup(token);
    size_t n = strlen(forged);
    forged[n - 2] = forged[n - 2] == 'A' ? 'B' : 'A';
    q = base;
    q.page_token = forged;
    assert_refused(&q, "pageToken", NULL);
    forged[n / 2] = '\0';
    assert_refused(&q, "pageToken", NULL);
    q.page_token = "not a token";
    assert_refused(&q, "pageToken", NULL);
    free(forged);
    bw_page_token_set_secret("another-secret-another-secret-xx");
    q.page_token = token;
    assert_refused(&q, "pageToken", NULL);
}
END_TEST

START_TEST(a_signed_token_with_a_bad_key_is_refused)
{
    /* What the statement returned is checked too, as the parameter it becomes. */
    bw_list_query_t q = {0};
    bw_list_t l;
    q.page_token = token_after(&spec, &q, "not a time", ID_A);
    assert_refused(&q, "pageToken", NULL);
    q.page_token = token_after(&spec, &q, "1700000000000000", "not-a-uuid");
    assert_refused(&q, "pageToken", NULL);
    q.page_token = token_after(&spec, &q, "999999999999999999", ID_A); /* after year 9999 */
    assert_refused(&q, "pageToken", NULL);
    q.page_token = token_after(&spec, &q, "-1", ID_A);
    ck_assert_int_eq(parse(&spec, &q, &l), 0);
    ck_assert_str_eq(l.key, "1969-12-31T23:59:59.999999Z");
}
END_TEST

START_TEST(times_format_as_rfc3339_with_microseconds)
{
    char t[BW_LIST_TIME_TEXT];
    ck_assert_int_eq(bw_list_format_time(0, t, sizeof(t)), 0);
    ck_assert_str_eq(t, "1970-01-01T00:00:00.000000Z");
    ck_assert_int_eq(bw_list_format_time(951782400000001LL, t, sizeof(t)), 0); /* leap day */
    ck_assert_str_eq(t, "2000-02-29T00:00:00.000001Z");
    ck_assert_int_eq(bw_list_format_time(-62135596800000000LL, t, sizeof(t)), 0);
    ck_assert_str_eq(t, "0001-01-01T00:00:00.000000Z");
    ck_assert_int_eq(bw_list_format_time(253402300799999999LL, t, sizeof(t)), 0);
    ck_assert_str_eq(t, "9999-12-31T23:59:59.999999Z");
    ck_assert_int_eq(bw_list_format_time(253402300800000000LL, t, sizeof(t)), BW_EINVAL);
    ck_assert_int_eq(bw_list_format_time(-62135596800000001LL, t, sizeof(t)), BW_EINVAL);
    ck_assert_int_eq(bw_list_format_time(0, t, 10), BW_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("list");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_and_page_size);
    tcase_add_test(tc, order_by_takes_a_listed_field_either_way);
    tcase_add_test(tc, filter_terms_are_checked_field_by_field);
    tcase_add_test(tc, a_field_given_as_a_parameter_and_in_filter_is_refused);
    tcase_add_test(tc, updated_since_lists_changes_oldest_first);
    tcase_add_test(tc, values_come_in_the_documented_order);
    tcase_add_test(tc, a_token_carries_the_sort_key_and_the_id);
    tcase_add_test(tc, a_token_works_only_with_its_own_parameters);
    tcase_add_test(tc, a_signed_token_with_a_bad_key_is_refused);
    tcase_add_test(tc, times_format_as_rfc3339_with_microseconds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
