/*
 * Suite of tz.c: zone ids, local times with their offsets, one calendar
 * month later in a zone (month ends, leap years, both daylight-saving
 * transitions in three zones), RFC 3339 text both ways, and the calendar
 * each thread keeps for its next use in the same zone.
 */
#include "tests.h"

#include "status.h"
#include "tz.h"

#include <pthread.h>
#include <string.h>

/* Parses s, failing the test when it does not parse. */
int64_t t_at(const char *s)
{
    int64_t at;
    ck_assert_msg(bw_tz_parse_rfc3339(s, &at) == 0, "%s does not parse", s);
    return at;
}

/* at in zone as local text (static buffer). */
static const char *local(const char *zone, int64_t at)
{
    static char buf[BW_TZ_TEXT_MAX];
    bw_tz_t *tz;
    ck_assert_int_eq(bw_tz_open(zone, &tz), 0);
    ck_assert_int_eq(bw_tz_format_local(tz, at, buf, sizeof(buf)), 0);
    bw_tz_close(tz);
    return buf;
}

/* One month after from (RFC 3339) in zone, as local text. */
static const char *month_after(const char *zone, const char *from)
{
    bw_tz_t *tz;
    int64_t out;
    ck_assert_int_eq(bw_tz_open(zone, &tz), 0);
    ck_assert_int_eq(bw_tz_add_month(tz, t_at(from), &out), 0);
    bw_tz_close(tz);
    return local(zone, out);
}

START_TEST(zone_ids)
{
    ck_assert(bw_tz_valid("Europe/Berlin"));
    ck_assert(bw_tz_valid("America/New_York"));
    ck_assert(bw_tz_valid("Europe/Lisbon"));
    ck_assert(bw_tz_valid("UTC"));
    ck_assert(bw_tz_valid("Etc/UTC"));
    ck_assert(!bw_tz_valid("CEST"));
    ck_assert(!bw_tz_valid("CET"));
    ck_assert(!bw_tz_valid("GMT+1"));
    ck_assert(!bw_tz_valid("Mars/Olympus"));
    ck_assert(!bw_tz_valid(""));
    ck_assert(!bw_tz_valid("Europe/Berlin "));
    ck_assert(!bw_tz_valid("Europe/Berlin\n"));
    bw_tz_t *tz = (bw_tz_t *)1;
    ck_assert_int_eq(bw_tz_open("Mars/Olympus", &tz), BW_EINVAL);
    ck_assert_ptr_null(tz);
    bw_tz_close(NULL);
    ck_assert_str_ne(bw_tz_data_version(), "unknown");
}
END_TEST

START_TEST(local_times_carry_the_offset_in_force)
{
    /* The reference's example: 10:00 CET on 29 Mar 2025 + 24 h is 11:00 CEST. */
    int64_t aware = t_at("2025-03-29T10:00:00+01:00");
    ck_assert_str_eq(local("Europe/Berlin", aware + 24 * BW_US_PER_HOUR),
                     "2025-03-30T11:00:00+02:00");
    ck_assert_str_eq(local("Europe/Berlin", t_at("2025-10-26T00:30:00Z")),
                     "2025-10-26T02:30:00+02:00");
    ck_assert_str_eq(local("Europe/Berlin", t_at("2025-10-26T01:30:00Z")),
                     "2025-10-26T02:30:00+01:00");
    ck_assert_str_eq(local("America/New_York", t_at("2025-03-09T07:00:00Z")),
                     "2025-03-09T03:00:00-04:00");
    ck_assert_str_eq(local("America/New_York", t_at("2025-03-09T06:59:59Z")),
                     "2025-03-09T01:59:59-05:00");
    ck_assert_str_eq(local("Europe/Lisbon", t_at("2025-01-15T12:00:00Z")),
                     "2025-01-15T12:00:00+00:00");
    ck_assert_str_eq(local("Asia/Kolkata", t_at("2025-01-15T12:00:00Z")),
                     "2025-01-15T17:30:00+05:30");
    ck_assert_str_eq(local("America/St_Johns", t_at("2025-01-15T12:00:00Z")),
                     "2025-01-15T08:30:00-03:30");
    ck_assert_str_eq(local("UTC", t_at("2025-01-15T12:00:00.5Z")), "2025-01-15T12:00:00.500+00:00");
    ck_assert_str_eq(local("UTC", t_at("2025-01-15T12:00:00.123456789Z")),
                     "2025-01-15T12:00:00.123456+00:00");
}
END_TEST

START_TEST(month_end_clamps_and_leap_years)
{
    ck_assert_str_eq(month_after("Europe/Berlin", "2025-01-31T10:00:00+01:00"),
                     "2025-02-28T10:00:00+01:00");
    ck_assert_str_eq(month_after("Europe/Berlin", "2024-01-31T10:00:00+01:00"),
                     "2024-02-29T10:00:00+01:00");
    ck_assert_str_eq(month_after("Europe/Berlin", "2024-02-29T10:00:00+01:00"),
                     "2024-03-29T10:00:00+01:00");
    ck_assert_str_eq(month_after("Europe/Berlin", "2025-03-31T10:00:00+02:00"),
                     "2025-04-30T10:00:00+02:00");
    ck_assert_str_eq(month_after("Europe/Berlin", "2025-05-31T23:59:59+02:00"),
                     "2025-06-30T23:59:59+02:00");
    /* Century years are leap years only every 400 years. */
    ck_assert_str_eq(month_after("UTC", "2100-01-31T08:00:00Z"), "2100-02-28T08:00:00+00:00");
    ck_assert_str_eq(month_after("UTC", "2000-01-31T08:00:00Z"), "2000-02-29T08:00:00+00:00");
    ck_assert_str_eq(month_after("UTC", "2025-01-30T08:00:00Z"), "2025-02-28T08:00:00+00:00");
    ck_assert_str_eq(month_after("UTC", "2025-01-28T08:00:00Z"), "2025-02-28T08:00:00+00:00");
}
END_TEST

START_TEST(month_after_crosses_the_year)
{
    ck_assert_str_eq(month_after("Europe/Berlin", "2024-12-31T23:30:00+01:00"),
                     "2025-01-31T23:30:00+01:00");
    ck_assert_str_eq(month_after("America/New_York", "2025-12-15T19:00:00-05:00"),
                     "2026-01-15T19:00:00-05:00");
    /* 23:30 local on 31 Dec is already next year in UTC: the local date decides. */
    ck_assert_str_eq(month_after("America/New_York", "2025-12-31T23:30:00-05:00"),
                     "2026-01-31T23:30:00-05:00");
}
END_TEST

START_TEST(month_after_keeps_the_wall_clock_across_dst)
{
    /* Across the spring change the elapsed time is one hour short. */
    bw_tz_t *tz;
    int64_t out;
    ck_assert_int_eq(bw_tz_open("Europe/Berlin", &tz), 0);
    ck_assert_int_eq(bw_tz_add_month(tz, t_at("2025-03-15T12:00:00+01:00"), &out), 0);
    ck_assert_int_eq(out - t_at("2025-03-15T12:00:00+01:00"), (31 * 24 - 1) * BW_US_PER_HOUR);
    bw_tz_close(tz);
    ck_assert_str_eq(month_after("Europe/Berlin", "2025-10-15T12:00:00+02:00"),
                     "2025-11-15T12:00:00+01:00");
    ck_assert_str_eq(month_after("America/New_York", "2025-02-20T08:00:00-05:00"),
                     "2025-03-20T08:00:00-04:00");
    ck_assert_str_eq(month_after("Europe/Lisbon", "2025-10-10T08:00:00+01:00"),
                     "2025-11-10T08:00:00+00:00");
}
END_TEST

START_TEST(month_after_lands_in_a_gap_and_moves_forward)
{
    /* New York, 9 Mar 2025: 02:00 EST jumps to 03:00 EDT. */
    ck_assert_str_eq(month_after("America/New_York", "2025-02-09T02:30:00-05:00"),
                     "2025-03-09T03:30:00-04:00");
    /* Berlin, 28 Mar 2027: 02:00 CET jumps to 03:00 CEST. */
    ck_assert_str_eq(month_after("Europe/Berlin", "2027-02-28T02:30:00+01:00"),
                     "2027-03-28T03:30:00+02:00");
    /* Lisbon, 28 Mar 2027: 01:00 WET jumps to 02:00 WEST. */
    ck_assert_str_eq(month_after("Europe/Lisbon", "2027-02-28T01:30:00+00:00"),
                     "2027-03-28T02:30:00+01:00");
    /* The gap's first instant is not in it. */
    ck_assert_str_eq(month_after("Europe/Berlin", "2027-02-28T03:00:00+01:00"),
                     "2027-03-28T03:00:00+02:00");
}
END_TEST

START_TEST(month_after_lands_on_a_repeated_hour_and_takes_the_first)
{
    /* Berlin, 26 Oct 2025: 03:00 CEST goes back to 02:00 CET. */
    ck_assert_str_eq(month_after("Europe/Berlin", "2025-09-26T02:30:00+02:00"),
                     "2025-10-26T02:30:00+02:00");
    /* New York, 2 Nov 2025: 02:00 EDT goes back to 01:00 EST. */
    ck_assert_str_eq(month_after("America/New_York", "2025-10-02T01:30:00-04:00"),
                     "2025-11-02T01:30:00-04:00");
    /* Lisbon, 26 Oct 2025: 02:00 WEST goes back to 01:00 WET. */
    ck_assert_str_eq(month_after("Europe/Lisbon", "2025-09-26T01:30:00+01:00"),
                     "2025-10-26T01:30:00+01:00");
    /* From the second occurrence, a month later is plain winter time. */
    ck_assert_str_eq(month_after("Europe/Berlin", "2025-10-26T02:30:00+01:00"),
                     "2025-11-26T02:30:00+01:00");
}
END_TEST

START_TEST(month_after_keeps_sub_seconds)
{
    bw_tz_t *tz;
    int64_t out;
    ck_assert_int_eq(bw_tz_open("Europe/Berlin", &tz), 0);
    ck_assert_int_eq(bw_tz_add_month(tz, t_at("2025-01-15T10:00:00.123456Z"), &out), 0);
    ck_assert_int_eq(out, t_at("2025-02-15T10:00:00.123456Z"));
    bw_tz_close(tz);
}
END_TEST

START_TEST(rfc3339_both_ways)
{
    ck_assert_int_eq(t_at("2025-06-10T09:15:00+02:00"), t_at("2025-06-10T07:15:00Z"));
    ck_assert_int_eq(t_at("2025-06-10t07:15:00z"), t_at("2025-06-10T07:15:00Z"));
    ck_assert_int_eq(t_at("2025-06-10T02:15:00-05:00"), t_at("2025-06-10T07:15:00Z"));
    ck_assert_int_eq(t_at("2000-01-01T00:00:00Z"), BW_TZ_MIN_US);
    int64_t at;
    const char *bad[] = {"",
                         "2025-06-10",
                         "2025-06-10T07:15:00",
                         "2025-06-10 07:15:00Z",
                         "2025-02-29T00:00:00Z",
                         "2025-13-01T00:00:00Z",
                         "2025-06-10T24:00:00Z",
                         "2025-06-10T07:15:00+2:00",
                         "2025-06-10T07:15:00.Z",
                         "2025-06-10T07:15:00.1234567890Z",
                         "1999-12-31T23:59:59Z",
                         "9999-01-01T00:00:00Z",
                         "2025-06-10T07:15:00Zjunk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(bw_tz_parse_rfc3339(bad[i], &at) == BW_EINVAL, "%s parsed", bad[i]);
    char buf[BW_TZ_TEXT_MAX];
    ck_assert_int_eq(bw_tz_format_utc(t_at("2025-06-10T09:15:00+02:00"), buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2025-06-10T07:15:00Z");
    ck_assert_int_eq(bw_tz_format_utc(t_at("2025-06-10T07:15:00.000250Z"), buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2025-06-10T07:15:00.000250Z");
}
END_TEST

/* A thread keeps its last calendar (tz.c): whatever zone it was last in and
 * whatever was asked of it, the next answer is the zone's own. */
START_TEST(a_kept_calendar_answers_for_its_zone_only)
{
    const char *at = "2025-10-26T00:30:00Z";
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(local("Europe/Berlin", t_at(at)), "2025-10-26T02:30:00+02:00");
        ck_assert_str_eq(local("America/New_York", t_at(at)), "2025-10-25T20:30:00-04:00");
        /* After a month's arithmetic (which clears the calendar's fields). */
        ck_assert_str_eq(month_after("Europe/Berlin", "2025-01-31T10:00:00+01:00"),
                         "2025-02-28T10:00:00+01:00");
        ck_assert_str_eq(local("Europe/Berlin", t_at(at)), "2025-10-26T02:30:00+02:00");
        ck_assert_str_eq(local("UTC", t_at(at)), "2025-10-26T00:30:00+00:00");
    }
    /* Kept or not, a zone ICU does not know is refused. */
    bw_tz_t *tz = NULL;
    ck_assert_int_eq(bw_tz_open("Europe/Berlinx", &tz), BW_EINVAL);
    ck_assert_ptr_null(tz);
    ck_assert(bw_tz_valid("UTC"));
    ck_assert(!bw_tz_valid("Utc"));
    /* Two open at once in one zone are two calendars. */
    bw_tz_t *a, *b;
    ck_assert_int_eq(bw_tz_open("Asia/Kolkata", &a), 0);
    ck_assert_int_eq(bw_tz_open("Asia/Kolkata", &b), 0);
    ck_assert_ptr_ne(a, b);
    char ta[BW_TZ_TEXT_MAX], tb[BW_TZ_TEXT_MAX];
    ck_assert_int_eq(bw_tz_format_local(a, t_at(at), ta, sizeof(ta)), 0);
    ck_assert_int_eq(bw_tz_format_local(b, t_at("2025-01-01T00:00:00Z"), tb, sizeof(tb)), 0);
    ck_assert_str_eq(ta, "2025-10-26T06:00:00+05:30");
    ck_assert_str_eq(tb, "2025-01-01T05:30:00+05:30");
    bw_tz_close(a);
    bw_tz_close(b);
}
END_TEST

typedef struct zone_run {
    const char *zone, *expected;
    int wrong;
} zone_run_t;

static void *in_one_zone(void *arg)
{
    zone_run_t *r = arg;
    int64_t at;
    bw_tz_parse_rfc3339("2025-03-30T01:30:00Z", &at);
    for (int i = 0; i < 2000; i++) {
        bw_tz_t *tz;
        char buf[BW_TZ_TEXT_MAX];
        if (bw_tz_open(r->zone, &tz) != 0 || bw_tz_format_local(tz, at, buf, sizeof(buf)) != 0 ||
            strcmp(buf, r->expected) != 0)
            r->wrong++;
        bw_tz_close(tz);
    }
    return NULL;
}

/* Threads keep calendars of their own: each answers for its own zone while
 * the other works in another. */
START_TEST(threads_keep_calendars_of_their_own)
{
    zone_run_t runs[] = {{"Europe/Berlin", "2025-03-30T03:30:00+02:00", 0},
                         {"America/Sao_Paulo", "2025-03-29T22:30:00-03:00", 0},
                         {"Australia/Lord_Howe", "2025-03-30T12:30:00+11:00", 0}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, in_one_zone, &runs[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_msg(runs[i].wrong == 0, "%s: %d wrong answers", runs[i].zone, runs[i].wrong);
    }
}
END_TEST

Suite *suite_tz(void)
{
    Suite *s = suite_create("tz");
    TCase *tc = tcase_create("tz");
    tcase_add_test(tc, zone_ids);
    tcase_add_test(tc, local_times_carry_the_offset_in_force);
    tcase_add_test(tc, month_end_clamps_and_leap_years);
    tcase_add_test(tc, month_after_crosses_the_year);
    tcase_add_test(tc, month_after_keeps_the_wall_clock_across_dst);
    tcase_add_test(tc, month_after_lands_in_a_gap_and_moves_forward);
    tcase_add_test(tc, month_after_lands_on_a_repeated_hour_and_takes_the_first);
    tcase_add_test(tc, month_after_keeps_sub_seconds);
    tcase_add_test(tc, rfc3339_both_ways);
    tcase_add_test(tc, a_kept_calendar_answers_for_its_zone_only);
    tcase_add_test(tc, threads_keep_calendars_of_their_own);
    suite_add_tcase(s, tc);
    return s;
}
