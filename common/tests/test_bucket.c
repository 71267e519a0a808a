/*
 * common/bucket: the burst, the refill and the wait; what each policy does
 * with a new key when the table has no room.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bucket.h"
#include "core_tests.h"
#include "status.h"

#define SEC 1000000000LL

static int take(bw_buckets_t *t, const char *key, long long now, bw_bucket_state_t *st)
{
    return bw_buckets_take(t, key, strlen(key), now, st);
}

START_TEST(a_burst_then_the_rate_with_the_wait)
{
    bw_buckets_t *t = NULL;
    /* One token every 2 s, three at once. */
    ck_assert_int_eq(bw_buckets_create(0.5, 3, BW_BUCKETS_GROW, 16, &t), 0);
    bw_bucket_state_t st = {0};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(take(t, "a", 10 * SEC, &st), 0);
        ck_assert_int_eq(st.remaining, 2 - i);
    }
    ck_assert_int_eq(take(t, "a", 10 * SEC, &st), BW_ELIMIT);
    ck_assert_int_eq(st.remaining, 0);
    ck_assert_int_eq(st.wait_sec, 2);
    /* Half a token later the wait is rounded up to a whole second. */
    ck_assert_int_eq(take(t, "a", 11 * SEC, &st), BW_ELIMIT);
    ck_assert_int_eq(st.wait_sec, 1);
    ck_assert_int_eq(take(t, "a", 12 * SEC, &st), 0);
    /* Another key has its own bucket, full. */
    ck_assert_int_eq(take(t, "b", 12 * SEC, &st), 0);
    ck_assert_int_eq(st.remaining, 2);
    /* A long pause refills to the burst, not beyond. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(take(t, "a", 1000 * SEC, NULL), 0);
    ck_assert_int_eq(take(t, "a", 1000 * SEC, NULL), BW_ELIMIT);
    bw_buckets_destroy(t);
}
END_TEST

START_TEST(peek_and_spend)
{
    bw_buckets_t *t = NULL;
    ck_assert_int_eq(bw_buckets_create(1, 2, BW_BUCKETS_GROW, 16, &t), 0);
    bw_bucket_state_t st = {0};
    /* An unknown key has a token, and peeking makes no bucket. */
    ck_assert_int_eq(bw_buckets_peek(t, "k", 1, 0, &st), 0);
    ck_assert_int_eq(bw_buckets_spend(t, "k", 1, 0), 0);
    ck_assert_int_eq(bw_buckets_peek(t, "k", 1, 0, &st), 0);
    ck_assert_int_eq(bw_buckets_spend(t, "k", 1, 0), 0);
    ck_assert_int_eq(bw_buckets_peek(t, "k", 1, 0, &st), BW_ELIMIT);
    ck_assert_int_eq(st.wait_sec, 1);
    /* Spending an empty bucket is not refused and leaves it empty, not in
     * debt: a second later there is a token again. */
    ck_assert_int_eq(bw_buckets_spend(t, "k", 1, 0), 0);
    ck_assert_int_eq(bw_buckets_spend(t, "k", 1, 0), 0);
    ck_assert_int_eq(bw_buckets_peek(t, "k", 1, SEC, &st), 0);
    /* Keys are bytes, not strings: "k\0" is another key. */
    ck_assert_int_eq(bw_buckets_peek(t, "k\0", 2, 0, &st), 0);
    bw_buckets_destroy(t);
}
END_TEST

START_TEST(bad_settings_and_keys)
{
    bw_buckets_t *t = NULL;
    ck_assert_int_eq(bw_buckets_create(0, 1, BW_BUCKETS_GROW, 16, &t), BW_EINVAL);
    ck_assert_int_eq(bw_buckets_create(1, 0.5, BW_BUCKETS_GROW, 16, &t), BW_EINVAL);
    ck_assert_int_eq(bw_buckets_create(1, 1, BW_BUCKETS_REPLACE, 100, &t), BW_EINVAL);
    ck_assert_int_eq(bw_buckets_create(1, 1, BW_BUCKETS_REPLACE, 8, &t), BW_EINVAL);
    ck_assert_int_eq(bw_buckets_create(1, 1, BW_BUCKETS_SWEEP, 0, &t), BW_EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(bw_buckets_create(1, 1, BW_BUCKETS_GROW, 16, &t), 0);
    char key[BW_BUCKET_KEY_MAX + 1];
    memset(key, 'x', sizeof(key));
    ck_assert_int_eq(bw_buckets_take(t, key, sizeof(key), 0, NULL), BW_EINVAL);
    ck_assert_int_eq(bw_buckets_take(t, key, 0, 0, NULL), BW_EINVAL);
    ck_assert_int_eq(bw_buckets_take(t, key, BW_BUCKET_KEY_MAX, 0, NULL), 0);
    ck_assert_int_eq(bw_buckets_take(t, key, BW_BUCKET_KEY_MAX, 0, NULL), BW_ELIMIT);
    bw_buckets_destroy(t);
    bw_buckets_destroy(NULL);
}
END_TEST

START_TEST(a_grown_table_keeps_every_bucket)
{
    bw_buckets_t *t = NULL;
    ck_assert_int_eq(bw_buckets_create(0.001, 1, BW_BUCKETS_GROW, 16, &t), 0);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "tenant-%d", i);
        ck_assert_int_eq(take(t, key, 0, NULL), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "tenant-%d", i);
        ck_assert_int_eq(take(t, key, 0, NULL), BW_ELIMIT);
    }
    bw_buckets_destroy(t);
}
END_TEST

START_TEST(replace_keeps_an_emptied_bucket_through_a_flood)
{
    bw_buckets_t *t = NULL;
    ck_assert_int_eq(bw_buckets_create(0.01, 2, BW_BUCKETS_REPLACE, 16, &t), 0);
    ck_assert_int_eq(take(t, "blocked", 0, NULL), 0);
    ck_assert_int_eq(take(t, "blocked", 0, NULL), 0);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "flood-%d", i);
        ck_assert_int_eq(bw_buckets_spend(t, key, strlen(key), 0), 0);
    }
    ck_assert_int_eq(take(t, "blocked", 0, NULL), BW_ELIMIT);
    bw_buckets_destroy(t);
}
END_TEST

START_TEST(sweep_forgets_full_buckets_once_a_second)
{
    bw_buckets_t *t = NULL;
    ck_assert_int_eq(bw_buckets_create(10, 1, BW_BUCKETS_SWEEP, 2, &t), 0);
    ck_assert_int_eq(take(t, "a", 0, NULL), 0);
    ck_assert_int_eq(take(t, "b", 0, NULL), 0);
    /* Full, neither bucket full: c has no room and is not counted. */
    ck_assert_int_eq(take(t, "c", 0, NULL), BW_ENOMEM);
    /* a and b are full again at 0.1 s, but the next search is due at 1 s. */
    ck_assert_int_eq(take(t, "c", SEC / 5, NULL), BW_ENOMEM);
    /* a, still counted, is refused until it refills. */
    ck_assert_int_eq(take(t, "a", SEC / 50, NULL), BW_ELIMIT);
    ck_assert_int_eq(take(t, "c", SEC, NULL), 0);
    ck_assert_int_eq(take(t, "c", SEC, NULL), BW_ELIMIT);
    ck_assert_int_eq(take(t, "d", SEC, NULL), 0);
    bw_buckets_destroy(t);
}
END_TEST

TCase *tcase_bucket(void)
{
    TCase *tc = tcase_create("bucket");
    tcase_add_test(tc, a_burst_then_the_rate_with_the_wait);
    tcase_add_test(tc, peek_and_spend);
    tcase_add_test(tc, bad_settings_and_keys);
    tcase_add_test(tc, a_grown_table_keeps_every_bucket);
    tcase_add_test(tc, replace_keeps_an_emptied_bucket_through_a_flood);
    tcase_add_test(tc, sweep_forgets_full_buckets_once_a_second);
    return tc;
}
