/*
 * Failed authentications per client address: the burst, the refill, and
 * which addresses share a bucket.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "authfail.h"
#include "status.h"

#define SEC 1000000000LL

static int allowed(bw_authfail_t *af, const char *text, long long now)
{
    struct sockaddr_storage ss = test_addr(text);
    int retry = 0;
    return bw_authfail_check(af, (struct sockaddr *)&ss, now, &retry) == 0;
}

static void failure(bw_authfail_t *af, const char *text, long long now)
{
    struct sockaddr_storage ss = test_addr(text);
    bw_authfail_record(af, (struct sockaddr *)&ss, now);
}

START_TEST(burst_then_refused_then_refilled)
{
    /* 60 a minute (one a second), three at once. */
    bw_authfail_t *af = NULL;
    ck_assert_int_eq(bw_authfail_create(1.0, 3, 1024, &af), 0);
    long long t = 100 * SEC;
    for (int i = 0; i < 3; i++) {
        ck_assert(allowed(af, "192.0.2.7", t));
        failure(af, "192.0.2.7", t);
    }
    ck_assert(!allowed(af, "192.0.2.7", t));
    struct sockaddr_storage ss = test_addr("192.0.2.7");
    int retry = 0;
    ck_assert_int_eq(bw_authfail_check(af, (struct sockaddr *)&ss, t, &retry), BW_ELIMIT);
    ck_assert_int_eq(retry, 1);
    /* Another address is not affected. */
    ck_assert(allowed(af, "192.0.2.8", t));
    /* A second later one more attempt is allowed. */
    ck_assert(allowed(af, "192.0.2.7", t + SEC));
    failure(af, "192.0.2.7", t + SEC);
    ck_assert(!allowed(af, "192.0.2.7", t + SEC));
    bw_authfail_destroy(af);
}
END_TEST

/* The Retry-After of a refusal: the whole seconds until the next attempt
 * is allowed, rounded up; failures while refused do not push it further
 * (several in flight at once end in one wait, not one each). */
static int retry_after(bw_authfail_t *af, const char *text, long long now)
{
    struct sockaddr_storage ss = test_addr(text);
    int retry = 0;
    ck_assert_int_eq(bw_authfail_check(af, (struct sockaddr *)&ss, now, &retry), BW_ELIMIT);
    return retry;
}

START_TEST(retry_after_is_the_wait_for_the_next_attempt)
{
    /* Six a minute, one at once: a failure costs ten seconds. */
    bw_authfail_t *af = NULL;
    ck_assert_int_eq(bw_authfail_create(0.1, 1, 1024, &af), 0);
    failure(af, "192.0.2.20", 0);
    ck_assert_int_eq(retry_after(af, "192.0.2.20", 0), 10);
    failure(af, "192.0.2.20", 0);
    failure(af, "192.0.2.20", 0);
    ck_assert_int_eq(retry_after(af, "192.0.2.20", 0), 10);
    ck_assert_int_eq(retry_after(af, "192.0.2.20", 4 * SEC + SEC / 2), 6);
    ck_assert(!allowed(af, "192.0.2.20", 10 * SEC - 1));
    ck_assert(allowed(af, "192.0.2.20", 10 * SEC));
    bw_authfail_destroy(af);
}
END_TEST

START_TEST(ipv6_clients_share_their_64)
{
    bw_authfail_t *af = NULL;
    ck_assert_int_eq(bw_authfail_create(0.1, 1, 1024, &af), 0);
    failure(af, "2001:db8:1:2::1", 0);
    ck_assert(!allowed(af, "2001:db8:1:2::ffff", 0));
    ck_assert(allowed(af, "2001:db8:1:3::1", 0));
    /* An IPv4-mapped address is that IPv4 address. */
    failure(af, "::ffff:198.51.100.1", 0);
    ck_assert(!allowed(af, "198.51.100.1", 0));
    bw_authfail_destroy(af);
}
END_TEST

START_TEST(a_flood_of_other_addresses_does_not_free_a_blocked_one)
{
    bw_authfail_t *af = NULL;
    ck_assert_int_eq(bw_authfail_create(0.01, 2, 16, &af), 0);
    failure(af, "203.0.113.9", 0);
    failure(af, "203.0.113.9", 0);
    ck_assert(!allowed(af, "203.0.113.9", 0));
    char text[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(text, sizeof(text), "10.%d.%d.1", i / 250, i % 250);
        failure(af, text, 0);
    }
    ck_assert(!allowed(af, "203.0.113.9", 0));
    bw_authfail_destroy(af);
}
END_TEST

START_TEST(off_allows_everything)
{
    bw_authfail_t *af = NULL;
    ck_assert_int_eq(bw_authfail_create(0, 1, 1024, &af), 0);
    for (int i = 0; i < 100; i++)
        failure(af, "192.0.2.1", 0);
    ck_assert(allowed(af, "192.0.2.1", 0));
    bw_authfail_destroy(af);
}
END_TEST

START_TEST(two_limiters_keep_their_own_counts)
{
    /* Two gateways' handles in one process: a failure counted by one is
     * not counted by the other. */
    bw_authfail_t *a = NULL, *b = NULL;
    ck_assert_int_eq(bw_authfail_create(0.1, 1, 64, &a), 0);
    ck_assert_int_eq(bw_authfail_create(0.1, 1, 64, &b), 0);
    failure(a, "192.0.2.9", 0);
    ck_assert(!allowed(a, "192.0.2.9", 0));
    ck_assert(allowed(b, "192.0.2.9", 0));
    /* A capacity that is not a power of two is refused. */
    bw_authfail_t *c = NULL;
    ck_assert_int_eq(bw_authfail_create(1.0, 1, 100, &c), BW_EINVAL);
    ck_assert_ptr_null(c);
    bw_authfail_destroy(a);
    bw_authfail_destroy(b);
}
END_TEST

Suite *suite_authfail(void)
{
    Suite *s = suite_create("authfail");
    TCase *tc = tcase_create("buckets");
    tcase_add_test(tc, burst_then_refused_then_refilled);
    tcase_add_test(tc, retry_after_is_the_wait_for_the_next_attempt);
    tcase_add_test(tc, ipv6_clients_share_their_64);
    tcase_add_test(tc, a_flood_of_other_addresses_does_not_free_a_blocked_one);
    tcase_add_test(tc, off_allows_everything);
    tcase_add_test(tc, two_limiters_keep_their_own_counts);
    suite_add_tcase(s, tc);
    return s;
}
