/*
 * The retry schedule: the setting, the waits with their jitter, Retry-After
 * (seconds and HTTP dates) lengthening a wait but never shortening it, and
 * what each answer means for a delivery (deliverer.h).
 */
#include "deliverer.h"
#include "retry.h"
#include "status.h"
#include "tests.h"

#include <stdint.h>
#include <string.h>

static bw_retry_schedule_t schedule(const char *text)
{
    bw_retry_schedule_t s;
    char err[128];
    ck_assert_msg(bw_retry_parse(text, &s, err, sizeof(err)) == 0, "%s: %s", text, err);
    return s;
}

START_TEST(the_setting)
{
    bw_retry_schedule_t s = schedule(BW_RETRY_DEFAULT);
    ck_assert_uint_eq(s.n_waits, 9);
    long total = 0;
    for (size_t i = 0; i < s.n_waits; i++)
        total += s.waits[i];
    /* Ten attempts over about three days, as the issue asks. */
    ck_assert_int_ge(total, 3 * 86400);
    ck_assert_int_lt(total, 4 * 86400);
    s = schedule(" 1, 2 ,3");
    ck_assert_uint_eq(s.n_waits, 3);
    ck_assert_int_eq(s.waits[2], 3);
    ck_assert_uint_eq(schedule("").n_waits, 0);
    const char *bad[] = {"1,,2", "1;2", "-1", "x", "1,", "604801", "1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        ck_assert_msg(bw_retry_parse(bad[i], &s, err, sizeof(err)) == BW_EINVAL, "%s", bad[i]);
        ck_assert(err[0] != '\0');
    }
}
END_TEST

START_TEST(waits_with_jitter)
{
    bw_retry_schedule_t s = schedule("5,300");
    /* The first attempt failed: the wait is 5 s, give or take a fifth. */
    ck_assert_int_eq(bw_retry_next_ms(&s, 1, 0, 0), 4000);
    ck_assert_int_eq(bw_retry_next_ms(&s, 1, UINT32_MAX, 0), 5999);
    ck_assert_int_eq(bw_retry_next_ms(&s, 1, UINT32_MAX / 2, 0), 4999);
    ck_assert_int_eq(bw_retry_next_ms(&s, 2, 0, 0), 240000);
    /* After the attempt that followed the last wait: exhausted. */
    ck_assert_int_eq(bw_retry_next_ms(&s, 3, 0, 0), -1);
    ck_assert_int_eq(bw_retry_next_ms(&s, 0, 0, 0), -1);
    /* Retry-After lengthens a wait, never shortens it. */
    ck_assert_int_eq(bw_retry_next_ms(&s, 1, 0, 120), 120000);
    ck_assert_int_eq(bw_retry_next_ms(&s, 2, 0, 1), 240000);
}
END_TEST

START_TEST(retry_after_values)
{
    long long now = 1700000000; /* 2023-11-14T22:13:20Z */
    ck_assert_int_eq(bw_retry_after_parse("120", now), 120);
    ck_assert_int_eq(bw_retry_after_parse(" 7 ", now), 7);
    ck_assert_int_eq(bw_retry_after_parse("0", now), 0);
    ck_assert_int_eq(bw_retry_after_parse("Tue, 14 Nov 2023 22:15:20 GMT", now), 120);
    /* A date in the past, garbage, absence: no floor. */
    ck_assert_int_eq(bw_retry_after_parse("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
    ck_assert_int_eq(bw_retry_after_parse("soon", now), 0);
    ck_assert_int_eq(bw_retry_after_parse("12abc", now), 0);
    ck_assert_int_eq(bw_retry_after_parse("-5", now), 0);
    ck_assert_int_eq(bw_retry_after_parse(NULL, now), 0);
    ck_assert_int_eq(bw_retry_after_parse("", now), 0);
    /* Capped at a day. */
    ck_assert_int_eq(bw_retry_after_parse("9999999999999", now), 86400);
}
END_TEST

START_TEST(what_an_answer_means)
{
    bw_retry_schedule_t s = schedule("1,1");
    long long wait = -2;
    ck_assert_int_eq(bw_deliverer_outcome(&s, 200, 1, 0, 0, &wait), BW_ATTEMPT_SUCCEEDED);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 204, 3, 0, 0, &wait), BW_ATTEMPT_SUCCEEDED);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 410, 1, 0, 0, &wait), BW_ATTEMPT_GONE);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 500, 1, 0, 0, &wait), BW_ATTEMPT_RETRY);
    ck_assert_int_eq(wait, 800);
    /* No answer at all, a redirect: retried the same. */
    ck_assert_int_eq(bw_deliverer_outcome(&s, 0, 2, 0, 0, &wait), BW_ATTEMPT_RETRY);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 302, 1, 0, 0, &wait), BW_ATTEMPT_RETRY);
    /* 429 and 503 honour Retry-After; other statuses do not. */
    ck_assert_int_eq(bw_deliverer_outcome(&s, 429, 1, 30, 0, &wait), BW_ATTEMPT_RETRY);
    ck_assert_int_eq(wait, 30000);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 503, 1, 30, 0, &wait), BW_ATTEMPT_RETRY);
    ck_assert_int_eq(wait, 30000);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 500, 1, 30, 0, &wait), BW_ATTEMPT_RETRY);
    ck_assert_int_eq(wait, 800);
    /* The third attempt of "1,1" was the last. */
    ck_assert_int_eq(bw_deliverer_outcome(&s, 500, 3, 0, 0, &wait), BW_ATTEMPT_FAILED);
    ck_assert_int_eq(bw_deliverer_outcome(&s, 429, 3, 5, 0, &wait), BW_ATTEMPT_FAILED);
}
END_TEST

/* Which failures hold back the endpoint's other deliveries: those that say
 * nothing about the one event (no answer, overloaded, down), not an answer
 * about this event (400, 500) or a redirect. */
START_TEST(which_failures_speak_for_the_endpoint)
{
    long whole[] = {0, 429, 502, 503, 504};
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
        ck_assert_msg(bw_deliverer_unreachable(whole[i]), "%ld", whole[i]);
    long one[] = {200, 204, 302, 400, 404, 409, 410, 413, 500, 501};
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
        ck_assert_msg(!bw_deliverer_unreachable(one[i]), "%ld", one[i]);
}
END_TEST

Suite *suite_retry(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("retry");
    tcase_add_test(tc, the_setting);
    tcase_add_test(tc, waits_with_jitter);
    tcase_add_test(tc, retry_after_values);
    tcase_add_test(tc, what_an_answer_means);
    tcase_add_test(tc, which_failures_speak_for_the_endpoint);
    suite_add_tcase(s, tc);
    return s;
}
