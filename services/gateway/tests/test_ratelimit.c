/*
 * The per-tenant token bucket.
 */
#include <check.h>
#include <stdio.h>

#include "ratelimit.h"
#include "status.h"

#define SEC 1000000000LL

START_TEST(burst_then_refill)
{
    ck_assert_int_eq(bw_ratelimit_init(10, 5), 0);
    int retry = 0;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(bw_ratelimit_take("tenant-a", 100 * SEC, &retry), 0);
    ck_assert_int_eq(bw_ratelimit_take("tenant-a", 100 * SEC, &retry), BW_ELIMIT);
    ck_assert_int_eq(retry, 1);
    /* Another tenant has its own bucket. */
    ck_assert_int_eq(bw_ratelimit_take("tenant-b", 100 * SEC, &retry), 0);
    /* 0.1 s later one token (rate 10/s) is back, and only one. */
    ck_assert_int_eq(bw_ratelimit_take("tenant-a", 100 * SEC + SEC / 10, &retry), 0);
    ck_assert_int_eq(bw_ratelimit_take("tenant-a", 100 * SEC + SEC / 10, &retry), BW_ELIMIT);
    /* A long pause refills to the burst, not beyond. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(bw_ratelimit_take("tenant-a", 200 * SEC, &retry), 0);
    ck_assert_int_eq(bw_ratelimit_take("tenant-a", 200 * SEC, &retry), BW_ELIMIT);
    bw_ratelimit_free();
}
END_TEST

START_TEST(slow_rate_asks_to_wait_longer)
{
    ck_assert_int_eq(bw_ratelimit_init(0.25, 1), 0);
    int retry = 0;
    ck_assert_int_eq(bw_ratelimit_take("t", 10 * SEC, &retry), 0);
    ck_assert_int_eq(bw_ratelimit_take("t", 10 * SEC, &retry), BW_ELIMIT);
    ck_assert_int_eq(retry, 4);
    bw_ratelimit_free();
}
END_TEST

START_TEST(many_tenants_grow_the_table)
{
    ck_assert_int_eq(bw_ratelimit_init(1, 1), 0);
    char name[32];
    int retry;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "tenant-%d", i);
        ck_assert_int_eq(bw_ratelimit_take(name, SEC, &retry), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "tenant-%d", i);
        ck_assert_int_eq(bw_ratelimit_take(name, SEC, &retry), BW_ELIMIT);
    }
    bw_ratelimit_free();
}
END_TEST

START_TEST(disabled_never_limits)
{
    ck_assert_int_eq(bw_ratelimit_init(0, 0), 0);
    int retry;
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(bw_ratelimit_take("t", SEC, &retry), 0);
    bw_ratelimit_free();
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
    suite_add_tcase(s, tc);
    return s;
}
