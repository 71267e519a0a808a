/*
 * The per-tenant token bucket.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "status.h"

#define SEC 1000000000LL

static bw_ratelimit_t *rl;

START_TEST(burst_then_refill)
{
    ck_assert_int_eq(bw_ratelimit_create(10, 5, &rl), 0);
    bw_ratelimit_state_t st;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-a", 100 * SEC, &st), 0);
        /* What is left is counted down with each request. */
        ck_assert_int_eq(st.remaining, 4 - i);
        ck_assert_int_eq(st.reset_sec, 1);
    }
    ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-a", 100 * SEC, &st), BW_ELIMIT);
    ck_assert_int_eq(st.remaining, 0);
    ck_assert_int_eq(st.reset_sec, 1);
    /* Another tenant has its own bucket. */
    ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-b", 100 * SEC, &st), 0);
    /* 0.1 s later one token (rate 10/s) is back, and only one. */
    ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-a", 100 * SEC + SEC / 10, &st), 0);
    ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-a", 100 * SEC + SEC / 10, &st), BW_ELIMIT);
    /* A long pause refills to the burst, not beyond. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-a", 200 * SEC, &st), 0);
    ck_assert_int_eq(bw_ratelimit_take(rl, "tenant-a", 200 * SEC, &st), BW_ELIMIT);
    bw_ratelimit_destroy(rl);
}
END_TEST

START_TEST(slow_rate_asks_to_wait_longer)
{
    ck_assert_int_eq(bw_ratelimit_create(0.25, 1, &rl), 0);
    bw_ratelimit_state_t st;
    ck_assert_int_eq(bw_ratelimit_take(rl, "t", 10 * SEC, &st), 0);
    ck_assert_int_eq(bw_ratelimit_take(rl, "t", 10 * SEC, &st), BW_ELIMIT);
    ck_assert_int_eq(st.reset_sec, 4);
    /* 3 s later the token is still a second away. */
    ck_assert_int_eq(bw_ratelimit_take(rl, "t", 13 * SEC, &st), BW_ELIMIT);
    ck_assert_int_eq(st.reset_sec, 1);
    ck_assert_int_eq(bw_ratelimit_take(rl, "t", 14 * SEC, &st), 0);
    ck_assert_int_eq(st.remaining, 0);
    ck_assert_int_eq(st.reset_sec, 4);
    bw_ratelimit_destroy(rl);
}
END_TEST

START_TEST(many_tenants_grow_the_table)
{
    ck_assert_int_eq(bw_ratelimit_create(1, 1, &rl), 0);
    char name[32];
    bw_ratelimit_state_t st;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "tenant-%d", i);
        ck_assert_int_eq(bw_ratelimit_take(rl, name, SEC, &st), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "tenant-%d", i);
        ck_assert_int_eq(bw_ratelimit_take(rl, name, SEC, &st), BW_ELIMIT);
    }
    bw_ratelimit_destroy(rl);
}
END_TEST

START_TEST(disabled_never_limits)
{
    ck_assert_int_eq(bw_ratelimit_create(0, 0, &rl), 0);
    bw_ratelimit_state_t st = {-1, -1};
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(bw_ratelimit_take(rl, "t", SEC, &st), 0);
    /* Nothing to advertise. */
    ck_assert(!bw_ratelimit_enabled(rl));
    ck_assert_str_eq(bw_ratelimit_policy(rl), "");
    ck_assert_int_eq(st.remaining, -1);
    bw_ratelimit_destroy(rl);
}
END_TEST

START_TEST(fields_of_the_ietf_draft)
{
    char value[BW_RATELIMIT_FIELD_MAX];
    bw_ratelimit_state_t st = {42, 3};
    bw_ratelimit_format(&st, value, sizeof(value));
    ck_assert_str_eq(value, "\"tenant\";r=42;t=3");
    /* The test stack's settings and the default burst (twice the rate):
     * the burst in the time it takes to refill. */
    ck_assert_int_eq(bw_ratelimit_create(50, 100, &rl), 0);
    ck_assert(bw_ratelimit_enabled(rl));
    ck_assert_str_eq(bw_ratelimit_policy(rl), "\"tenant\";q=100;w=2");
    bw_ratelimit_destroy(rl);
    /* A burst that is no whole number of seconds' refill: the window is
     * rounded up and the quota kept to the burst. */
    ck_assert_int_eq(bw_ratelimit_create(3, 5, &rl), 0);
    ck_assert_str_eq(bw_ratelimit_policy(rl), "\"tenant\";q=5;w=2");
    bw_ratelimit_destroy(rl);
    /* A burst below the rate: one second, and no more than the burst in it. */
    ck_assert_int_eq(bw_ratelimit_create(100, 10, &rl), 0);
    ck_assert_str_eq(bw_ratelimit_policy(rl), "\"tenant\";q=10;w=1");
    bw_ratelimit_destroy(rl);
    /* A slow rate: a long window. */
    ck_assert_int_eq(bw_ratelimit_create(0.25, 1, &rl), 0);
    ck_assert_str_eq(bw_ratelimit_policy(rl), "\"tenant\";q=1;w=4");
    bw_ratelimit_destroy(rl);
}
END_TEST

START_TEST(keeping_to_the_policy_is_never_refused)
{
    /* A client that sends q requests in every w seconds, all at once at
     * the start of each window, is never refused. */
    ck_assert_int_eq(bw_ratelimit_create(3, 5, &rl), 0);
    long q, w;
    ck_assert_int_eq(sscanf(bw_ratelimit_policy(rl), "\"tenant\";q=%ld;w=%ld", &q, &w), 2);
    bw_ratelimit_state_t st;
    for (long window = 0; window < 20; window++)
        for (long i = 0; i < q; i++)
            ck_assert_int_eq(bw_ratelimit_take(rl, "steady", (10 + window * w) * SEC, &st), 0);
    bw_ratelimit_destroy(rl);
}
END_TEST

/* Two limiters keep their own buckets and policies. */
START_TEST(two_limiters_are_apart)
{
    bw_ratelimit_t *other = NULL;
    ck_assert_int_eq(bw_ratelimit_create(1, 1, &rl), 0);
    ck_assert_int_eq(bw_ratelimit_create(1, 3, &other), 0);
    ck_assert_int_eq(bw_ratelimit_take(rl, "t1", 0, NULL), 0);
    ck_assert_int_eq(bw_ratelimit_take(rl, "t1", 0, NULL), BW_ELIMIT);
    ck_assert_int_eq(bw_ratelimit_take(other, "t1", 0, NULL), 0);
    ck_assert_int_eq(bw_ratelimit_take(other, "t1", 0, NULL), 0);
    ck_assert_str_eq(bw_ratelimit_policy(rl), "\"tenant\";q=1;w=1");
    ck_assert_str_eq(bw_ratelimit_policy(other), "\"tenant\";q=3;w=3");
    bw_ratelimit_destroy(other);
    bw_ratelimit_destroy(rl);
}
END_TEST

Suite *suite_ratelimit(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("bucket");
    tcase_add_test(tc, burst_then_refill);
    tcase_add_test(tc, slow_rate_asks_to_wait_longer);
    tcase_add_test(tc, many_tenants_grow_the_table);
    tcase_add_test(tc, disabled_never_limits);
    tcase_add_test(tc, fields_of_the_ietf_draft);
    tcase_add_test(tc, keeping_to_the_policy_is_never_refused);
    tcase_add_test(tc, two_limiters_are_apart);
    suite_add_tcase(s, tc);
    return s;
}
