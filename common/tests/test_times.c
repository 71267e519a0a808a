/*
 * common/times: RFC 3339 text both ways, Timestamp fields and microseconds.
 * The edges a user meets: leap days, month ends, the first and last
 * instants of years 0001 and 9999, offsets up to +-23:59, one to nine
 * fractional digits, and instants before 1970 (negative microseconds).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_tests.h"
#include "times.h"

/* Parses text that must be valid and returns its microseconds. */
static int64_t parse_us(const char *s)
{
    int64_t us = 0;
    ck_assert_int_eq(bw_time_parse_rfc3339_us(s, &us), BW_TIME_OK);
    return us;
}

static bw_time_parse_result_t parse_fails(const char *s)
{
    int64_t seconds = 42;
    int32_t nanos = 7;
    bw_time_parse_result_t res = bw_time_parse_rfc3339(s, strlen(s), &seconds, &nanos);
    ck_assert_int_ne(res, BW_TIME_OK);
    ck_assert_int_eq(seconds, 42); /* untouched */
    ck_assert_int_eq(nanos, 7);
    return res;
}

static const char *micros(int64_t us)
{
    static char out[BW_TIME_TEXT_MAX];
    bw_time_format_us(us, BW_TIME_FRACTION_MICROS, out);
    return out;
}

START_TEST(parse_reads_utc_and_offsets)
{
    ck_assert_int_eq(parse_us("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(parse_us("2025-06-10T07:15:00Z"), INT64_C(1749539700000000));
    ck_assert_int_eq(parse_us("2025-06-10t07:15:00z"), INT64_C(1749539700000000));
    ck_assert_int_eq(parse_us("2025-06-10T09:15:00+02:00"), INT64_C(1749539700000000));
    ck_assert_int_eq(parse_us("2025-06-09T23:45:00-07:30"), INT64_C(1749539700000000));
    /* The widest offsets move the instant across the date line. */
    ck_assert_int_eq(parse_us("2025-06-11T07:14:00+23:59"), INT64_C(1749539700000000));
    ck_assert_int_eq(parse_us("2025-06-09T07:16:00-23:59"), INT64_C(1749539700000000));
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00+24:00"), BW_TIME_NO_SUCH_TIME);
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00+23:60"), BW_TIME_NO_SUCH_TIME);
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00+0200"), BW_TIME_SYNTAX);
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00"), BW_TIME_SYNTAX);
    ck_assert_int_eq(parse_fails("2025-06-10 07:15:00Z"), BW_TIME_SYNTAX);
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00Z "), BW_TIME_SYNTAX);
    ck_assert_int_eq(parse_fails(""), BW_TIME_SYNTAX);
}
END_TEST

/* bw_time_parse_lenient: each form only when asked for, and the checks of
 * RFC 3339 still made. */
static bw_time_parse_result_t lenient(const char *s, unsigned accept, int64_t *seconds)
{
    int32_t nanos = 0;
    return bw_time_parse_lenient(s, strlen(s), accept, seconds, &nanos);
}

START_TEST(lenient_reads_what_asked_for)
{
    const unsigned all =
        BW_TIME_ACCEPT_SPACE | BW_TIME_ACCEPT_BASIC_OFFSET | BW_TIME_ACCEPT_NO_ZONE;
    int64_t sec = 0;
    /* Jira: +hhmm. 2025-06-10T07:15:00Z is 1749539700. */
    ck_assert_int_eq(lenient("2025-06-10T09:15:00.000+0200", BW_TIME_ACCEPT_BASIC_OFFSET, &sec),
                     BW_TIME_OK);
    ck_assert_int_eq(sec, 1749539700);
    ck_assert_int_eq(lenient("2025-06-10T01:15:00-0600", all, &sec), BW_TIME_OK);
    ck_assert_int_eq(sec, 1749539700);
    ck_assert_int_eq(lenient("2025-06-10T09:15:00+02:00", all, &sec), BW_TIME_OK);
    ck_assert_int_eq(sec, 1749539700);
    /* ServiceNow: a space, no zone: UTC. */
    ck_assert_int_eq(lenient("2025-06-10 07:15:00", all, &sec), BW_TIME_OK);
    ck_assert_int_eq(sec, 1749539700);
    ck_assert_int_eq(lenient("2025-06-10T07:15:00", BW_TIME_ACCEPT_NO_ZONE, &sec), BW_TIME_OK);
    ck_assert_int_eq(lenient("2025-06-10 07:15:00Z", BW_TIME_ACCEPT_SPACE, &sec), BW_TIME_OK);
    /* Each form is refused unless asked for. */
    ck_assert_int_eq(lenient("2025-06-10T09:15:00+0200", BW_TIME_ACCEPT_SPACE, &sec),
                     BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("2025-06-10 07:15:00Z", BW_TIME_ACCEPT_NO_ZONE, &sec), BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("2025-06-10 07:15:00", BW_TIME_ACCEPT_SPACE, &sec), BW_TIME_SYNTAX);
    /* The rest of RFC 3339 still holds. */
    ck_assert_int_eq(lenient("2025-06-10T09:15:00+2400", all, &sec), BW_TIME_NO_SUCH_TIME);
    ck_assert_int_eq(lenient("2025-06-10T09:15:00+02", all, &sec), BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("2025-06-10T09:15:00+020", all, &sec), BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("2025-06-10T09:15:00.+0200", all, &sec), BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("2025-06-10 07:15:00 x", all, &sec), BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("2025-02-29 12:00:00", all, &sec), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(lenient("2025-06-10", all, &sec), BW_TIME_SYNTAX);
    ck_assert_int_eq(lenient("", all, &sec), BW_TIME_SYNTAX);
}
END_TEST

START_TEST(parse_reads_one_to_nine_fractional_digits)
{
    static const struct {
        const char *text;
        int32_t nanos;
    } cases[] = {
        {"2025-06-10T07:15:00.1Z", 100000000},         {"2025-06-10T07:15:00.12Z", 120000000},
        {"2025-06-10T07:15:00.123Z", 123000000},       {"2025-06-10T07:15:00.1234Z", 123400000},
        {"2025-06-10T07:15:00.12345Z", 123450000},     {"2025-06-10T07:15:00.123456Z", 123456000},
        {"2025-06-10T07:15:00.1234567Z", 123456700},   {"2025-06-10T07:15:00.12345678Z", 123456780},
        {"2025-06-10T07:15:00.123456789Z", 123456789}, {"2025-06-10T07:15:00.000000001Z", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t seconds;
        int32_t nanos;
        ck_assert_int_eq(
            bw_time_parse_rfc3339(cases[i].text, strlen(cases[i].text), &seconds, &nanos),
            BW_TIME_OK);
        ck_assert_int_eq(seconds, INT64_C(1749539700));
        ck_assert_int_eq(nanos, cases[i].nanos);
    }
    /* Microseconds drop the digits beyond the sixth. */
    ck_assert_int_eq(parse_us("2025-06-10T07:15:00.999999999Z"), INT64_C(1749539700999999));
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00.1234567890Z"), BW_TIME_SYNTAX);
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00.Z"), BW_TIME_SYNTAX);
    ck_assert_int_eq(parse_fails("2025-06-10T07:15:00,5Z"), BW_TIME_SYNTAX);
}
END_TEST

START_TEST(parse_knows_the_calendar)
{
    ck_assert_int_eq(parse_us("2024-02-29T12:00:00Z"), INT64_C(1709208000000000));
    ck_assert_int_eq(parse_us("2000-02-29T00:00:00Z"), INT64_C(951782400000000));
    ck_assert_int_eq(parse_fails("2025-02-29T12:00:00Z"), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(parse_fails("1900-02-29T12:00:00Z"), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(parse_fails("2025-04-31T00:00:00Z"), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(parse_fails("2025-13-01T00:00:00Z"), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(parse_fails("2025-00-10T00:00:00Z"), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(parse_fails("2025-06-00T00:00:00Z"), BW_TIME_NO_SUCH_DATE);
    ck_assert_int_eq(parse_us("2025-12-31T23:59:59Z") + BW_US_PER_SEC,
                     parse_us("2026-01-01T00:00:00Z"));
    ck_assert_int_eq(parse_us("2025-04-30T23:59:59Z") + BW_US_PER_SEC,
                     parse_us("2025-05-01T00:00:00Z"));
    ck_assert_int_eq(parse_fails("2025-06-10T24:00:00Z"), BW_TIME_NO_SUCH_TIME);
    ck_assert_int_eq(parse_fails("2025-06-10T23:60:00Z"), BW_TIME_NO_SUCH_TIME);
    ck_assert_int_eq(parse_fails("2016-12-31T23:59:60Z"),
                     BW_TIME_NO_SUCH_TIME); /* no leap seconds */
}
END_TEST

START_TEST(parse_covers_years_0001_to_9999)
{
    ck_assert_int_eq(parse_us("0001-01-01T00:00:00Z"), BW_TIME_MIN_US);
    ck_assert_int_eq(parse_us("9999-12-31T23:59:59.999999Z"), BW_TIME_MAX_US);
    ck_assert_int_eq(parse_us("0001-01-01T23:59:00+23:59"), BW_TIME_MIN_US);
    ck_assert_int_eq(parse_us("9999-12-31T00:00:59-23:59"), BW_TIME_MAX_SECONDS * BW_US_PER_SEC);
    ck_assert_int_eq(parse_fails("0000-12-31T23:59:59Z"), BW_TIME_RANGE);
    ck_assert_int_eq(parse_fails("0001-01-01T00:00:00+00:01"), BW_TIME_RANGE);
    ck_assert_int_eq(parse_fails("9999-12-31T23:59:59-00:01"), BW_TIME_RANGE);
    ck_assert_int_eq(parse_fails("10000-01-01T00:00:00Z"), BW_TIME_SYNTAX);
}
END_TEST

START_TEST(format_writes_utc_with_microseconds)
{
    ck_assert_str_eq(micros(0), "1970-01-01T00:00:00.000000Z");
    ck_assert_str_eq(micros(INT64_C(1749539700000000)), "2025-06-10T07:15:00.000000Z");
    ck_assert_str_eq(micros(INT64_C(1718010900123456)), "2024-06-10T09:15:00.123456Z");
    ck_assert_str_eq(micros(-1), "1969-12-31T23:59:59.999999Z");
    ck_assert_str_eq(micros(-BW_US_PER_SEC), "1969-12-31T23:59:59.000000Z");
    ck_assert_str_eq(micros(INT64_C(-1000001)), "1969-12-31T23:59:58.999999Z");
    ck_assert_str_eq(micros(INT64_C(253402300799999999)), "9999-12-31T23:59:59.999999Z");
    ck_assert_str_eq(micros(BW_TIME_MIN_US), "0001-01-01T00:00:00.000000Z");
    ck_assert_str_eq(micros(INT64_C(1709251199999999)), "2024-02-29T23:59:59.999999Z");
    ck_assert_str_eq(micros(INT64_C(1709251200000000)), "2024-03-01T00:00:00.000000Z");
    /* Beyond 0001-9999 the text is gmtime_r's with "%04d" (five digits, a sign). */
    ck_assert_str_eq(micros(INT64_C(253402300800000000)), "10000-01-01T00:00:00.000000Z");
    ck_assert_str_eq(micros(BW_TIME_MIN_US - 1), "0000-12-31T23:59:59.999999Z");
    char out[BW_TIME_TEXT_MAX];
    ck_assert_uint_lt(bw_time_format_us(INT64_MIN, BW_TIME_FRACTION_MICROS, out), sizeof(out));
    ck_assert_uint_lt(bw_time_format_us(INT64_MAX, BW_TIME_FRACTION_MICROS, out), sizeof(out));
}
END_TEST

START_TEST(format_writes_the_fraction_asked_for)
{
    char out[BW_TIME_TEXT_MAX];
    ck_assert_uint_eq(bw_time_format(1749539700, 0, BW_TIME_FRACTION_SHORTEST, out), 20);
    ck_assert_str_eq(out, "2025-06-10T07:15:00Z");
    bw_time_format(1749539700, 120000000, BW_TIME_FRACTION_SHORTEST, out);
    ck_assert_str_eq(out, "2025-06-10T07:15:00.120Z");
    bw_time_format(1749539700, 123456000, BW_TIME_FRACTION_SHORTEST, out);
    ck_assert_str_eq(out, "2025-06-10T07:15:00.123456Z");
    bw_time_format(1749539700, 1, BW_TIME_FRACTION_SHORTEST, out);
    ck_assert_str_eq(out, "2025-06-10T07:15:00.000000001Z");
    bw_time_format(1749539700, 999999999, BW_TIME_FRACTION_NONE, out);
    ck_assert_str_eq(out, "2025-06-10T07:15:00Z");
    bw_time_format(1749539700, 999999999, BW_TIME_FRACTION_MICROS, out);
    ck_assert_str_eq(out, "2025-06-10T07:15:00.999999Z");
    bw_time_format_us(-1, BW_TIME_FRACTION_NONE, out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59Z");
}
END_TEST

/* Every day of four years around a leap day, and the first and last days
 * of the range: text -> microseconds -> text gives the text back, and
 * agrees with the C library's timegm. */
START_TEST(round_trips_agree_with_timegm)
{
    static const int64_t starts[] = {INT64_C(1704067200), BW_TIME_MIN_SECONDS,
                                     BW_TIME_MAX_SECONDS - 4 * 366 * 86400};
    for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
        for (int64_t day = 0; day < 4 * 366; day++) {
            int64_t sec = starts[k] + day * 86400 + 3723;
            int64_t us = sec * BW_US_PER_SEC + 456789;
            char text[BW_TIME_TEXT_MAX];
            bw_time_format_us(us, BW_TIME_FRACTION_MICROS, text);
            ck_assert_int_eq(parse_us(text), us);
            time_t t = (time_t)sec;
            struct tm tm;
            ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
            char expect[64];
            snprintf(expect, sizeof(expect), "%04d-%02d-%02dT%02d:%02d:%02d.456789Z",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
            ck_assert_str_eq(text, expect);
        }
    }
}
END_TEST

START_TEST(timestamps_and_microseconds)
{
    int64_t seconds;
    int32_t nanos;
    bw_time_split_us(-1, &seconds, &nanos);
    ck_assert_int_eq(seconds, -1);
    ck_assert_int_eq(nanos, 999999000);
    ck_assert_int_eq(bw_time_us(seconds, nanos), -1);
    bw_time_split_us(INT64_C(1749539700123456), &seconds, &nanos);
    ck_assert_int_eq(seconds, INT64_C(1749539700));
    ck_assert_int_eq(nanos, 123456000);
    ck_assert_int_eq(bw_time_us(INT64_C(1749539700), 123456789), INT64_C(1749539700123456));
    bw_time_split_us(BW_TIME_MIN_US, &seconds, &nanos);
    ck_assert_int_eq(seconds, BW_TIME_MIN_SECONDS);
    ck_assert_int_eq(nanos, 0);
    int64_t before = (int64_t)time(NULL) * BW_US_PER_SEC;
    int64_t now = bw_time_now_us();
    ck_assert_int_ge(now, before);
    ck_assert_int_lt(now, before + 5 * BW_US_PER_SEC);
}
END_TEST

START_TEST(times_from_outside_are_checked_before_conversion)
{
    int64_t us = 42;
    ck_assert_int_eq(bw_time_us_checked(INT64_C(1749539700), 123456789, &us), 0);
    ck_assert_int_eq(us, INT64_C(1749539700123456));
    ck_assert_int_eq(bw_time_us_checked(BW_TIME_MIN_SECONDS, 0, &us), 0);
    ck_assert_int_eq(us, BW_TIME_MIN_US);
    ck_assert_int_eq(bw_time_us_checked(BW_TIME_MAX_SECONDS, 999999999, &us), 0);
    ck_assert_int_eq(us, BW_TIME_MAX_US);
    /* Outside: refused, nothing written (the product would overflow for
     * the largest seconds). */
    us = 42;
    ck_assert_int_eq(bw_time_us_checked(BW_TIME_MIN_SECONDS - 1, 0, &us), -1);
    ck_assert_int_eq(bw_time_us_checked(BW_TIME_MAX_SECONDS + 1, 0, &us), -1);
    ck_assert_int_eq(bw_time_us_checked(INT64_C(9223372036855), 0, &us), -1);
    ck_assert_int_eq(bw_time_us_checked(INT64_MIN, 0, &us), -1);
    ck_assert_int_eq(bw_time_us_checked(INT64_MAX, 999999999, &us), -1);
    ck_assert_int_eq(bw_time_us_checked(0, -1, &us), -1);
    ck_assert_int_eq(bw_time_us_checked(0, 1000000000, &us), -1);
    ck_assert_int_eq(us, 42);
}
END_TEST

/* The times cases, run by test_core's suite. */
TCase *tcase_times(void)
{
    TCase *tc = tcase_create("times");
    tcase_add_test(tc, parse_reads_utc_and_offsets);
    tcase_add_test(tc, lenient_reads_what_asked_for);
    tcase_add_test(tc, parse_reads_one_to_nine_fractional_digits);
    tcase_add_test(tc, parse_knows_the_calendar);
    tcase_add_test(tc, parse_covers_years_0001_to_9999);
    tcase_add_test(tc, format_writes_utc_with_microseconds);
    tcase_add_test(tc, format_writes_the_fraction_asked_for);
    tcase_add_test(tc, round_trips_agree_with_timegm);
    tcase_add_test(tc, timestamps_and_microseconds);
    tcase_add_test(tc, times_from_outside_are_checked_before_conversion);
    return tc;
}
