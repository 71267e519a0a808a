/*
 * The inbound routes' limit per connection (inlimit.c): a burst, then the
 * rate, with the wait until the next token as Retry-After; connections do
 * not share buckets; a full table forgets full buckets first, and looks for
 * them once a second at most.
 */
#include "inlimit.h"
#include "status.h"
#include "tests.h"

#define SEC 1000000000LL

START_TEST(a_burst_then_the_rate)
{
    bw_inlimit_t *l = NULL;
    /* 30 a minute (one every 2 s), 5 at once. */
    ck_assert_int_eq(bw_inlimit_create(0.5, 5, 100, &l), 0);
    int retry = 0;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 10 * SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 10 * SEC, &retry), BW_ELIMIT);
    ck_assert_int_eq(retry, 2);
    /* Another connection has its own bucket. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-b", 10 * SEC, &retry), 0);
    /* Half a token back after a second: still 1 s to wait. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 11 * SEC, &retry), BW_ELIMIT);
    ck_assert_int_eq(retry, 1);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 12 * SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 12 * SEC, &retry), BW_ELIMIT);
    /* A long pause refills to the burst, not beyond. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 1000 * SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 1000 * SEC, &retry), BW_ELIMIT);
    bw_inlimit_destroy(l);
}
END_TEST

START_TEST(no_rate_no_limit_and_bad_settings)
{
    bw_inlimit_t *l = NULL;
    int retry = 0;
    ck_assert_int_eq(bw_inlimit_create(0, 0, 10, &l), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(bw_inlimit_take(l, "conn-a", SEC, &retry), 0);
    bw_inlimit_destroy(l);
    ck_assert_int_eq(bw_inlimit_take(NULL, "conn-a", SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_create(-1, 5, 10, &l), BW_EINVAL);
    ck_assert_int_eq(bw_inlimit_create(1, 0.5, 10, &l), BW_EINVAL);
    ck_assert_ptr_null(l);
    bw_inlimit_destroy(NULL);
}
END_TEST

START_TEST(a_full_table_forgets_full_buckets_first)
{
    bw_inlimit_t *l = NULL;
    int retry = 0;
    ck_assert_int_eq(bw_inlimit_create(1, 2, 2, &l), 0);
    /* Two connections fill the table; a's bucket is empty. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-b", SEC, &retry), 0);
    /* A third while neither is full: no room to count it, let through. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-c", SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-c", SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-c", SEC, &retry), 0);
    /* a is still counted: empty. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", SEC, &retry), BW_ELIMIT);
    /* Later both are full again and are forgotten for c, which is then
     * counted. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-c", 10 * SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-c", 10 * SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-c", 10 * SEC, &retry), BW_ELIMIT);
    bw_inlimit_destroy(l);
}
END_TEST

/* A full table is searched for full buckets once a second at most: a new
 * connection in between is let through uncounted, even when a bucket has
 * filled up meanwhile, rather than pay a search of the whole table. */
START_TEST(a_full_table_is_searched_once_a_second)
{
    bw_inlimit_t *l = NULL;
    int retry = 0;
    ck_assert_int_eq(bw_inlimit_create(10, 1, 1, &l), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-a", 0, &retry), 0);
    /* The search finds a empty: b goes uncounted. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-b", 0, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-b", 0, &retry), 0);
    /* a is full again after 0.1 s, but the next search is due at 1 s. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(bw_inlimit_take(l, "conn-b", SEC / 5, &retry), 0);
    /* At 1 s a is forgotten and b counted: one token, then the limit. */
    ck_assert_int_eq(bw_inlimit_take(l, "conn-b", SEC, &retry), 0);
    ck_assert_int_eq(bw_inlimit_take(l, "conn-b", SEC, &retry), BW_ELIMIT);
    bw_inlimit_destroy(l);
}
END_TEST

Suite *suite_inlimit(void)
{
    Suite *s = suite_create("inlimit");
    TCase *tc = tcase_create("inlimit");
    tcase_add_test(tc, a_burst_then_the_rate);
    tcase_add_test(tc, no_rate_no_limit_and_bad_settings);
    tcase_add_test(tc, a_full_table_forgets_full_buckets_first);
    tcase_add_test(tc, a_full_table_is_searched_once_a_second);
    suite_add_tcase(s, tc);
    return s;
}
