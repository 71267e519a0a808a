/*
 * Suite of clock.c, the reporting clock: the deadlines of NIS2 Art 23(4) as
 * services/incidents/README.md ("The NIS2 clock") sets them, across daylight
 * saving in two zones, month ends, leap years and the year boundary, for
 * trust service providers, early and late notifications, ongoing incidents,
 * intermediate reports and reclassifications; and every kind of event that
 * contradicts a timeline.
 */
#include "tests.h"

#include "clock.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

#define NOW "2030-01-01T00:00:00Z"

typedef struct scenario {
    bw_clock_incident_t inc;
    bw_clock_event_t events[64];
    size_t n;
    bw_clock_result_t r;
} scenario_t;

static void start(scenario_t *s, const char *zone, const char *aware, int significant, int tsp)
{
    memset(s, 0, sizeof(*s));
    s->inc.aware_at = t_at(aware);
    s->inc.significant = significant;
    s->inc.trust_service_derogation = tsp;
    s->inc.time_zone = zone;
    s->inc.reporting = BW_REPORTING_NIS2;
}

/* An incident of an entity under DORA, classified as major at classified
 * (NULL: not major at creation). */
static void start_dora(scenario_t *s, const char *zone, const char *aware, const char *classified)
{
    start(s, zone, aware, classified != NULL, 0);
    s->inc.reporting = BW_REPORTING_DORA;
    s->inc.has_classified_major = classified != NULL;
    s->inc.classified_major_at = classified != NULL ? t_at(classified) : 0;
}

/* The event as a client would send it (not yet checked). */
static bw_clock_event_t make(int type, const char *at)
{
    bw_clock_event_t e;
    memset(&e, 0, sizeof(e));
    e.type = type;
    e.at = t_at(at);
    return e;
}

/* Checks e against the scenario as the service does on append; returns the
 * refused field, or NULL when accepted (and then appended). */
static const char *try_append(scenario_t *s, bw_clock_event_t e, const char *now)
{
    bw_clock_problem_t p;
    if (bw_clock_check_event(&s->inc, &e, t_at(now), &p) != 0)
        return p.field;
    bw_clock_event_t sorted[65];
    memcpy(sorted, s->events, s->n * sizeof(*sorted));
    e.sequence = (int)s->n + 1;
    sorted[s->n] = e;
    bw_clock_sort(sorted, s->n + 1);
    if (bw_clock_check_timeline(&s->inc, sorted, s->n + 1, &p) != 0) {
        ck_assert_str_ne(p.message, "");
        return p.field;
    }
    s->events[s->n++] = e;
    return NULL;
}

static void append(scenario_t *s, bw_clock_event_t e)
{
    const char *field = try_append(s, e, NOW);
    ck_assert_msg(field == NULL, "event of type %d refused on %s", e.type, field);
}

static void event(scenario_t *s, int type, const char *at)
{
    append(s, make(type, at));
}

static void request(scenario_t *s, const char *at, const char *due)
{
    bw_clock_event_t e = make(BW_EV_INTERMEDIATE_REPORT_REQUESTED, at);
    e.has_due = 1;
    e.due = t_at(due);
    append(s, e);
}

static void reclassify(scenario_t *s, int significance, const char *at)
{
    bw_clock_event_t e = make(BW_EV_RECLASSIFIED, at);
    e.significance = significance;
    append(s, e);
}

static void refused(scenario_t *s, bw_clock_event_t e, const char *now, const char *field)
{
    const char *got = try_append(s, e, now);
    ck_assert_msg(got != NULL, "event of type %d accepted", e.type);
    ck_assert_str_eq(got, field);
}

static void compute(scenario_t *s)
{
    bw_clock_event_t sorted[64];
    memcpy(sorted, s->events, s->n * sizeof(*sorted));
    bw_clock_sort(sorted, s->n);
    ck_assert_int_eq(bw_clock_compute(&s->inc, sorted, s->n, &s->r), 0);
}

static const bw_clock_deadline_t *find(const scenario_t *s, int ordinal)
{
    for (size_t i = 0; i < s->r.n_deadlines; i++)
        if (s->r.deadlines[i].ordinal == ordinal)
            return &s->r.deadlines[i];
    return NULL;
}

/* Asserts the deadline with this ordinal: kind, due time as local text in
 * the incident's zone (NULL: no due time), stored status, first submission
 * (NULL: none), provisional, basis (NULL: not checked). */
static void expect(const scenario_t *s, int ordinal, int kind, const char *due_local, int status,
                   const char *met, int provisional, const char *basis)
{
    const bw_clock_deadline_t *d = find(s, ordinal);
    ck_assert_msg(d != NULL, "no deadline %d", ordinal);
    ck_assert_int_eq(d->kind, kind);
    if (due_local == NULL) {
        ck_assert_int_eq(d->has_due, 0);
        ck_assert_str_eq(d->due_local, "");
    } else {
        ck_assert_msg(d->has_due, "deadline %d has no due time", ordinal);
        ck_assert_str_eq(d->due_local, due_local);
        ck_assert_int_eq(d->due, t_at(due_local));
    }
    ck_assert_msg(d->status == status, "deadline %d: status %s, want %s", ordinal,
                  bw_clock_status_name(d->status), bw_clock_status_name(status));
    if (met == NULL) {
        ck_assert_int_eq(d->has_met, 0);
    } else {
        ck_assert_int_eq(d->has_met, 1);
        ck_assert_int_eq(d->met, t_at(met));
    }
    ck_assert_int_eq(d->provisional, provisional);
    if (basis != NULL)
        ck_assert_str_eq(d->basis, basis);
}

/* The ordinals of the deadlines that apply at `at`, as a string "1,2,91". */
static const char *shown_at(const scenario_t *s, const char *at)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < s->r.n_deadlines; i++) {
        if (!bw_clock_visible(&s->r.deadlines[i], t_at(at)))
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof(buf) - len, "%s%d", len ? "," : "", s->r.deadlines[i].ordinal);
    }
    return buf;
}

enum {
    EW = BW_CLOCK_ORD_EARLY_WARNING,
    IN = BW_CLOCK_ORD_INCIDENT_NOTIFICATION,
    IR1 = BW_CLOCK_ORD_INTERMEDIATE_FIRST,
    IR2 = BW_CLOCK_ORD_INTERMEDIATE_FIRST + 1,
    PR = BW_CLOCK_ORD_PROGRESS_REPORT,
    FR = BW_CLOCK_ORD_FINAL_REPORT,
    FH = BW_CLOCK_ORD_FINAL_AFTER_HANDLING,
    DI = BW_CLOCK_ORD_DORA_INITIAL,
    DM = BW_CLOCK_ORD_DORA_INTERMEDIATE,
    DF = BW_CLOCK_ORD_DORA_FINAL,
    GD = BW_CLOCK_ORD_GDPR,
};

/* Asserts the regime and that the note holds fragment ("" : empty note). */
static void expect_regime(const scenario_t *s, int ordinal, int regime, const char *fragment)
{
    const bw_clock_deadline_t *d = find(s, ordinal);
    ck_assert_msg(d != NULL, "no deadline %d", ordinal);
    ck_assert_int_eq(d->regime, regime);
    if (fragment[0] == '\0')
        ck_assert_str_eq(d->note, "");
    else
        ck_assert_msg(strstr(d->note, fragment) != NULL, "deadline %d: note \"%s\" lacks \"%s\"",
                      ordinal, d->note, fragment);
}

/* ---- elapsed hours and daylight saving ------------------------------------ */

START_TEST(spring_forward_moves_the_local_hour_on_berlin)
{
    /* The reference's example: aware 10:00 CET on 29 Mar 2025. */
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-03-29T10:00:00+01:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-03-30T11:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(a)");
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-04-01T11:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(b)");
    /* Provisional: one month after the notification deadline. */
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-05-01T11:00:00+02:00", BW_ST_PENDING, NULL, 1,
           "NIS2 Art 23(4)(d)");
    ck_assert_int_eq(s.r.significant, 1);
    ck_assert_int_eq(s.r.has_clock_start, 1);
    ck_assert_int_eq(s.r.clock_start, t_at("2025-03-29T09:00:00Z"));
    ck_assert_int_eq(s.r.closed, 0);
    ck_assert_str_eq(shown_at(&s, "2025-03-29T12:00:00Z"), "1,2,91");
}
END_TEST

START_TEST(fall_back_moves_the_local_hour_on_berlin)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-10-25T10:00:00+02:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-10-26T09:00:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-10-28T09:00:00+01:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-11-28T09:00:00+01:00", BW_ST_PENDING, NULL, 1, NULL);
}
END_TEST

START_TEST(both_transitions_on_new_york)
{
    scenario_t s;
    start(&s, "America/New_York", "2025-03-08T10:00:00-05:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-03-09T11:00:00-04:00", BW_ST_PENDING, NULL, 0, NULL);
    start(&s, "America/New_York", "2025-11-01T10:00:00-04:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-11-02T09:00:00-05:00", BW_ST_PENDING, NULL, 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-11-04T09:00:00-05:00", BW_ST_PENDING, NULL, 0,
           NULL);
}
END_TEST

START_TEST(aware_at_in_another_offset_than_the_zone)
{
    /* 05:00 in New York is 10:00 in Berlin: the same instant, the same clock. */
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-03-29T05:00:00-04:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-03-30T11:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
    ck_assert_int_eq(find(&s, EW)->due, t_at("2025-03-30T09:00:00Z"));
    start(&s, "Europe/Lisbon", "2025-06-10T09:15:00+02:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T08:15:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
}
END_TEST

/* ---- final report ---------------------------------------------------------- */

START_TEST(early_notification_brings_the_final_report_forward)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-11T16:40:00+02:00");
    compute(&s);
    /* The notification also serves as the early warning, late here. */
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+02:00", BW_ST_MISSED,
           "2025-06-11T16:40:00+02:00", 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_MET,
           "2025-06-11T16:40:00+02:00", 0, NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-11T16:40:00+02:00", BW_ST_PENDING, NULL, 0, NULL);

    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T13:00:00+02:00");
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-10T18:00:00+02:00");
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+02:00", BW_ST_MET,
           "2025-06-10T13:00:00+02:00", 0, NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-10T18:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
}
END_TEST

START_TEST(late_notification_pushes_the_final_report_and_stays_missed)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-11T10:00:00+02:00");
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-11T11:00:00+02:00");
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-14T09:00:00+02:00");
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-15T09:00:00+02:00");
    compute(&s);
    /* The first submission decides, for good. */
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+02:00", BW_ST_MISSED,
           "2025-06-11T10:00:00+02:00", 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_MISSED,
           "2025-06-14T09:00:00+02:00", 0, NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-14T09:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
    /* Exactly at the due time is in time. */
    start(&s, "UTC", "2025-06-10T09:15:00Z", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-11T09:15:00Z");
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+00:00", BW_ST_MET,
           "2025-06-11T09:15:00Z", 0, NULL);
}
END_TEST

START_TEST(final_report_clamps_to_the_month_end)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-01-29T10:00:00+01:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-01-31T10:00:00+01:00");
    compute(&s);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-02-28T10:00:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
    /* 2024 is a leap year. */
    start(&s, "Europe/Berlin", "2024-01-29T10:00:00+01:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2024-01-31T10:00:00+01:00");
    compute(&s);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2024-02-29T10:00:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
    /* The provisional date clamps too: notification due 31 Mar, final 30 Apr. */
    start(&s, "Europe/Berlin", "2025-03-28T12:00:00+01:00", 1, 0);
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-03-31T13:00:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-04-30T13:00:00+02:00", BW_ST_PENDING, NULL, 1, NULL);
}
END_TEST

START_TEST(final_report_in_a_gap_or_a_repeated_hour)
{
    scenario_t s;
    /* Notified 02:30 EST on 9 Feb; 02:30 on 9 Mar does not exist in New York. */
    start(&s, "America/New_York", "2025-02-08T08:00:00-05:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-02-09T02:30:00-05:00");
    compute(&s);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-03-09T03:30:00-04:00", BW_ST_PENDING, NULL, 0, NULL);
    /* Notified 02:30 CEST on 26 Sep; 02:30 on 26 Oct happens twice in Berlin. */
    start(&s, "Europe/Berlin", "2025-09-25T08:00:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-09-26T02:30:00+02:00");
    compute(&s);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-10-26T02:30:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
}
END_TEST

START_TEST(year_boundary)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2024-12-30T20:00:00+01:00", 1, 0);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2024-12-31T20:00:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-01-02T20:00:00+01:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-02-02T20:00:00+01:00", BW_ST_PENDING, NULL, 1, NULL);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2024-12-31T23:30:00+01:00");
    compute(&s);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-01-31T23:30:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
}
END_TEST

START_TEST(trust_service_derogation)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 1);
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(a)");
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-11T09:15:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4), second subparagraph");
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-11T09:15:00+02:00", BW_ST_PENDING, NULL, 1, NULL);
    /* A notification on day two is late for a trust service... */
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T09:00:00+02:00");
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-11T09:15:00+02:00", BW_ST_MISSED,
           "2025-06-12T09:00:00+02:00", 0, NULL);
    /* ... and in time for anything else. */
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T09:00:00+02:00");
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_MET,
           "2025-06-12T09:00:00+02:00", 0, "NIS2 Art 23(4)(b)");
}
END_TEST

/* ---- ongoing incidents ---------------------------------------------------- */

START_TEST(ongoing_incident_owes_a_progress_report)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T15:00:00+02:00");
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T10:00:00+02:00");
    compute(&s);
    /* Until the final report falls due, it is the final report... */
    ck_assert_str_eq(shown_at(&s, "2025-07-12T07:59:59Z"), "1,2,91");
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-12T10:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(d)");
    /* ... from then on, handling going on, a progress report due then and
     * the final report one month after handling ends, date unknown. */
    ck_assert_str_eq(shown_at(&s, "2025-07-12T08:00:00Z"), "1,2,90,92");
    expect(&s, PR, BW_DL_PROGRESS_REPORT, "2025-07-12T10:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(e)");
    expect(&s, FH, BW_DL_FINAL_REPORT, NULL, BW_ST_PENDING, NULL, 1, "NIS2 Art 23(4)(e)");
    ck_assert_int_eq(bw_clock_status_at(find(&s, PR)->status, 1, find(&s, PR)->due,
                                        t_at("2025-07-13T00:00:00Z")),
                     BW_ST_OVERDUE);

    event(&s, BW_EV_PROGRESS_REPORT_SUBMITTED, "2025-07-12T09:30:00+02:00");
    event(&s, BW_EV_HANDLING_ENDED, "2025-08-20T15:00:00+02:00");
    compute(&s);
    /* Handling ended after the due time: decided, whatever the time. */
    ck_assert_str_eq(shown_at(&s, "2025-06-11T00:00:00Z"), "1,2,90,92");
    expect(&s, PR, BW_DL_PROGRESS_REPORT, "2025-07-12T10:00:00+02:00", BW_ST_MET,
           "2025-07-12T09:30:00+02:00", 0, NULL);
    expect(&s, FH, BW_DL_FINAL_REPORT, "2025-09-20T15:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
    ck_assert_ptr_null(find(&s, FR));
    ck_assert_int_eq(s.r.closed, 0);
    ck_assert_int_eq(s.r.handling_ended, t_at("2025-08-20T13:00:00Z"));

    event(&s, BW_EV_FINAL_REPORT_SUBMITTED, "2025-09-19T12:00:00+02:00");
    compute(&s);
    expect(&s, FH, BW_DL_FINAL_REPORT, "2025-09-20T15:00:00+02:00", BW_ST_MET,
           "2025-09-19T12:00:00+02:00", 0, NULL);
    ck_assert_int_eq(s.r.closed, 1);
}
END_TEST

START_TEST(handling_ended_in_time_means_no_progress_report)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T10:00:00+02:00");
    event(&s, BW_EV_HANDLING_ENDED, "2025-07-01T10:00:00+02:00");
    compute(&s);
    ck_assert_str_eq(shown_at(&s, "2025-08-01T00:00:00Z"), "1,2,91");
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-12T10:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(d)");
    ck_assert_ptr_null(find(&s, PR));
    /* Handling ends exactly when the final report falls due: in time. */
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T10:00:00+02:00");
    event(&s, BW_EV_HANDLING_ENDED, "2025-07-12T10:00:00+02:00");
    compute(&s);
    ck_assert_ptr_null(find(&s, PR));
}
END_TEST

START_TEST(final_report_while_handling_goes_on)
{
    /* Submitted in time: it is the final report, no progress report. */
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T10:00:00+02:00");
    event(&s, BW_EV_FINAL_REPORT_SUBMITTED, "2025-07-10T10:00:00+02:00");
    compute(&s);
    ck_assert_str_eq(shown_at(&s, "2025-08-01T00:00:00Z"), "1,2,91");
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-12T10:00:00+02:00", BW_ST_MET,
           "2025-07-10T10:00:00+02:00", 0, NULL);
    /* Submitted late with no progress report: it was the progress report,
     * late; the final report is owed one month after handling ends. */
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T10:00:00+02:00");
    event(&s, BW_EV_FINAL_REPORT_SUBMITTED, "2025-07-15T10:00:00+02:00");
    compute(&s);
    ck_assert_str_eq(shown_at(&s, "2025-06-11T00:00:00Z"), "1,2,90,92");
    expect(&s, PR, BW_DL_PROGRESS_REPORT, "2025-07-12T10:00:00+02:00", BW_ST_MISSED,
           "2025-07-15T10:00:00+02:00", 0, NULL);
    expect(&s, FH, BW_DL_FINAL_REPORT, NULL, BW_ST_MET, "2025-07-15T10:00:00+02:00", 1, NULL);
}
END_TEST

START_TEST(ongoing_before_the_notification_is_provisional)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_HANDLING_ENDED, "2025-08-01T10:00:00+02:00");
    compute(&s);
    /* No notification yet: the progress report's date, one month after the
     * notification deadline, would move with it. */
    expect(&s, PR, BW_DL_PROGRESS_REPORT, "2025-07-13T09:15:00+02:00", BW_ST_PENDING, NULL, 1,
           NULL);
    expect(&s, FH, BW_DL_FINAL_REPORT, "2025-09-01T10:00:00+02:00", BW_ST_PENDING, NULL, 1, NULL);
}
END_TEST

/* ---- intermediate reports ------------------------------------------------- */

START_TEST(intermediate_reports_on_request)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T12:00:00+02:00");
    request(&s, "2025-06-10T14:00:00+02:00", "2025-06-11T12:00:00+02:00");
    request(&s, "2025-06-20T14:00:00+02:00", "2025-06-22T12:00:00+02:00");
    compute(&s);
    expect(&s, IR1, BW_DL_INTERMEDIATE_REPORT, "2025-06-11T12:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(c)");
    expect(&s, IR2, BW_DL_INTERMEDIATE_REPORT, "2025-06-22T12:00:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    /* Submissions answer the requests in order. */
    event(&s, BW_EV_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-11T11:00:00+02:00");
    event(&s, BW_EV_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-23T09:00:00+02:00");
    compute(&s);
    expect(&s, IR1, BW_DL_INTERMEDIATE_REPORT, "2025-06-11T12:00:00+02:00", BW_ST_MET,
           "2025-06-11T11:00:00+02:00", 0, NULL);
    expect(&s, IR2, BW_DL_INTERMEDIATE_REPORT, "2025-06-22T12:00:00+02:00", BW_ST_MISSED,
           "2025-06-23T09:00:00+02:00", 0, NULL);
    ck_assert_str_eq(shown_at(&s, "2025-06-30T00:00:00Z"), "1,2,10,11,91");
    /* A third report without a third request contradicts the timeline. */
    refused(&s, make(BW_EV_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-24T09:00:00+02:00"), NOW,
            "type");
}
END_TEST

/* ---- significance ---------------------------------------------------------- */

START_TEST(not_significant_owes_nothing)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 0, 0);
    compute(&s);
    ck_assert_int_eq(s.r.n_deadlines, 3);
    for (size_t i = 0; i < s.r.n_deadlines; i++) {
        ck_assert_int_eq(s.r.deadlines[i].status, BW_ST_NOT_REQUIRED);
        ck_assert_int_eq(s.r.deadlines[i].has_due, 0);
    }
    ck_assert_int_eq(s.r.significant, 0);
    ck_assert_int_eq(s.r.has_clock_start, 0);
    /* A voluntary notification is recorded, still not required. */
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-11T09:00:00+02:00");
    event(&s, BW_EV_HANDLING_ENDED, "2025-06-12T09:00:00+02:00");
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, NULL, BW_ST_NOT_REQUIRED,
           "2025-06-11T09:00:00+02:00", 0, NULL);
    ck_assert_int_eq(s.r.closed, 1);
}
END_TEST

START_TEST(reclassified_significant_starts_the_clock_then)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 0, 0);
    reclassify(&s, BW_SIG_SIGNIFICANT, "2025-06-12T08:00:00+02:00");
    compute(&s);
    ck_assert_int_eq(s.r.significant, 1);
    ck_assert_int_eq(s.r.clock_start, t_at("2025-06-12T08:00:00+02:00"));
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-13T08:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-15T08:00:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-15T08:00:00+02:00", BW_ST_PENDING, NULL, 1, NULL);
}
END_TEST

START_TEST(reclassified_not_significant_ends_what_is_not_yet_due)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T12:00:00+02:00");
    reclassify(&s, BW_SIG_NOT_SIGNIFICANT, "2025-06-12T12:00:00+02:00");
    compute(&s);
    ck_assert_int_eq(s.r.significant, 0);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+02:00", BW_ST_MET,
           "2025-06-10T12:00:00+02:00", 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_NOT_REQUIRED,
           NULL, 0, NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-13T09:15:00+02:00", BW_ST_NOT_REQUIRED, NULL, 1,
           NULL);
    expect(&s, PR, BW_DL_PROGRESS_REPORT, "2025-07-13T09:15:00+02:00", BW_ST_NOT_REQUIRED, NULL, 1,
           NULL);

    /* After the notification deadline: the missed notification stays missed. */
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    reclassify(&s, BW_SIG_NOT_SIGNIFICANT, "2025-06-14T12:00:00+02:00");
    event(&s, BW_EV_HANDLING_ENDED, "2025-06-15T12:00:00+02:00");
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, "2025-06-11T09:15:00+02:00", BW_ST_MISSED, NULL, 0, NULL);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_MISSED, NULL, 0,
           NULL);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-13T09:15:00+02:00", BW_ST_NOT_REQUIRED, NULL, 1,
           NULL);
    ck_assert_int_eq(s.r.closed, 1);
    /* Once declassified, never significant again. */
    bw_clock_event_t e = make(BW_EV_RECLASSIFIED, "2025-06-16T12:00:00+02:00");
    e.significance = BW_SIG_SIGNIFICANT;
    refused(&s, e, NOW, "significance");
}
END_TEST

/* ---- contradictions ---------------------------------------------------------- */

START_TEST(events_that_contradict_the_timeline_are_refused)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    refused(&s, make(BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T09:14:59+02:00"), NOW,
            "occurredAt");
    refused(&s, make(BW_EV_NOTE, "2025-06-10T12:00:00+02:00"), "2025-06-10T09:54:59Z",
            "occurredAt");
    ck_assert_ptr_null(
        try_append(&s, make(BW_EV_NOTE, "2025-06-10T12:00:00+02:00"), "2025-06-10T09:55:00Z"));
    refused(&s, make(0, "2025-06-10T12:00:00+02:00"), NOW, "type");
    refused(&s, make(42, "2025-06-10T12:00:00+02:00"), NOW, "type");
    refused(&s, make(BW_EV_FINAL_REPORT_SUBMITTED, "2025-06-11T12:00:00+02:00"), NOW, "type");
    refused(&s, make(BW_EV_PROGRESS_REPORT_SUBMITTED, "2025-06-11T12:00:00+02:00"), NOW, "type");
    refused(&s, make(BW_EV_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-11T12:00:00+02:00"), NOW,
            "type");
    /* A request needs a report the authority received, and a due time after it. */
    bw_clock_event_t req = make(BW_EV_INTERMEDIATE_REPORT_REQUESTED, "2025-06-11T12:00:00+02:00");
    req.has_due = 1;
    req.due = t_at("2025-06-12T12:00:00+02:00");
    refused(&s, req, NOW, "type");
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T20:00:00+02:00");
    req.has_due = 0;
    refused(&s, req, NOW, "dueAt");
    req.has_due = 1;
    req.due = req.at;
    refused(&s, req, NOW, "dueAt");
    bw_clock_event_t note = make(BW_EV_NOTE, "2025-06-11T12:00:00+02:00");
    note.has_due = 1;
    note.due = t_at("2025-06-12T12:00:00+02:00");
    refused(&s, note, NOW, "dueAt");
    note.has_due = 0;
    note.significance = BW_SIG_SIGNIFICANT;
    refused(&s, note, NOW, "significance");
    refused(&s, make(BW_EV_RECLASSIFIED, "2025-06-11T12:00:00+02:00"), NOW, "significance");
    bw_clock_event_t same = make(BW_EV_RECLASSIFIED, "2025-06-11T12:00:00+02:00");
    same.significance = BW_SIG_SIGNIFICANT;
    refused(&s, same, NOW, "significance");

    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T10:00:00+02:00");
    /* An early warning after the notification, even backdated into order. */
    refused(&s, make(BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-12T11:00:00+02:00"), NOW, "type");
    /* A notification backdated before the early warning already recorded. */
    refused(&s, make(BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-10T19:00:00+02:00"), NOW,
            "type");
    event(&s, BW_EV_HANDLING_ENDED, "2025-06-20T10:00:00+02:00");
    refused(&s, make(BW_EV_HANDLING_ENDED, "2025-06-21T10:00:00+02:00"), NOW, "type");
    refused(&s, make(BW_EV_HANDLING_ENDED, "2025-06-19T10:00:00+02:00"), NOW, "type");
    event(&s, BW_EV_FINAL_REPORT_SUBMITTED, "2025-07-01T10:00:00+02:00");
    refused(&s, make(BW_EV_FINAL_REPORT_SUBMITTED, "2025-07-02T10:00:00+02:00"), NOW, "type");
    refused(&s, make(BW_EV_PROGRESS_REPORT_SUBMITTED, "2025-07-02T10:00:00+02:00"), NOW, "type");
    refused(&s, make(BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-07-02T10:00:00+02:00"), NOW,
            "type");
    /* A progress report before the final report is fine, as are notes. */
    event(&s, BW_EV_PROGRESS_REPORT_SUBMITTED, "2025-06-30T10:00:00+02:00");
    bw_clock_event_t text = make(BW_EV_NOTE, "2025-07-03T10:00:00+02:00");
    append(&s, text);
    compute(&s);
    ck_assert_int_eq(s.r.closed, 1);
}
END_TEST

START_TEST(equal_times_keep_the_recording_order)
{
    scenario_t s;
    start(&s, "UTC", "2025-06-10T09:15:00Z", 1, 0);
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-10T10:00:00Z");
    event(&s, BW_EV_FINAL_REPORT_SUBMITTED, "2025-06-10T10:00:00Z");
    compute(&s);
    expect(&s, FR, BW_DL_FINAL_REPORT, "2025-07-10T10:00:00+00:00", BW_ST_MET,
           "2025-06-10T10:00:00Z", 0, NULL);
}
END_TEST

START_TEST(too_many_requests)
{
    scenario_t s;
    start(&s, "UTC", "2025-06-10T09:15:00Z", 1, 0);
    event(&s, BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T10:00:00Z");
    for (int i = 0; i < BW_CLOCK_MAX_REQUESTS; i++)
        request(&s, "2025-06-11T10:00:00Z", "2025-06-12T10:00:00Z");
    bw_clock_event_t req = make(BW_EV_INTERMEDIATE_REPORT_REQUESTED, "2025-06-11T10:00:00Z");
    req.has_due = 1;
    req.due = t_at("2025-06-12T10:00:00Z");
    refused(&s, req, NOW, "type");
    compute(&s);
    ck_assert_uint_le(s.r.n_deadlines, BW_CLOCK_MAX_DEADLINES);
}
END_TEST

/* ---- DORA Art 19(4) with Delegated Regulation (EU) 2025/301 Art 5 ----------- */

START_TEST(dora_initial_intermediate_final_art_19_4_rts_2025_301_art_5)
{
    scenario_t s;
    /* Aware at 09:00, classified as major at 10:00: the initial notification
     * is due four hours after the classification (Art 5(1)(a)); until it is
     * sent, the intermediate report 72 hours after that deadline and the
     * final report one month after the intermediate's, both provisional. */
    start_dora(&s, "Europe/Berlin", "2025-06-10T09:00:00+02:00", "2025-06-10T10:00:00+02:00");
    compute(&s);
    ck_assert_int_eq(s.r.n_deadlines, 3);
    ck_assert_int_eq(s.r.clock_start, t_at("2025-06-10T10:00:00+02:00"));
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-10T14:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(1)(a)");
    expect_regime(&s, DI, BW_RG_DORA, "");
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-06-13T14:00:00+02:00", BW_ST_PENDING, NULL, 1,
           "DORA Art 19(4)(b); Delegated Regulation (EU) 2025/301 Art 5(1)(b)");
    expect_regime(&s, DM, BW_RG_DORA, "regular activities have been recovered");
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-07-13T14:00:00+02:00", BW_ST_PENDING, NULL, 1,
           "DORA Art 19(4)(c); Delegated Regulation (EU) 2025/301 Art 5(1)(c)");
    expect_regime(&s, DF, BW_RG_DORA, "latest updated intermediate report");
    /* Sent at 12:30: the intermediate report is due 72 hours after it. */
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-06-10T12:30:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-10T14:00:00+02:00", BW_ST_MET,
           "2025-06-10T12:30:00+02:00", 0, NULL);
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-06-13T12:30:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-07-13T12:30:00+02:00", BW_ST_PENDING, NULL, 1, NULL);
    /* The intermediate report in time: the final report one month after it. */
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-13T10:00:00+02:00");
    compute(&s);
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-06-13T12:30:00+02:00", BW_ST_MET,
           "2025-06-13T10:00:00+02:00", 0, NULL);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-07-13T10:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
    /* An updated intermediate report (regular activities recovered) moves
     * the final report; the first still met the intermediate deadline. */
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-20T09:00:00+02:00");
    compute(&s);
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-06-13T12:30:00+02:00", BW_ST_MET,
           "2025-06-13T10:00:00+02:00", 0, NULL);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-07-20T09:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
    event(&s, BW_EV_HANDLING_ENDED, "2025-06-25T09:00:00+02:00");
    event(&s, BW_EV_DORA_FINAL_REPORT_SUBMITTED, "2025-07-15T09:00:00+02:00");
    compute(&s);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-07-20T09:00:00+02:00", BW_ST_MET,
           "2025-07-15T09:00:00+02:00", 0, NULL);
    ck_assert_int_eq(s.r.closed, 1);
}
END_TEST

START_TEST(dora_initial_4_hours_against_24_hours_rts_2025_301_art_5_1_a_and_5_2)
{
    scenario_t s;
    const char *aware = "2025-06-10T09:00:00+02:00";
    /* Classified 19 hours after awareness: four hours later, within 24. */
    start_dora(&s, "Europe/Berlin", aware, "2025-06-11T04:00:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T08:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(1)(a)");
    expect_regime(&s, DI, BW_RG_DORA, "");
    /* 20 hours: both limits end at the same instant. */
    start_dora(&s, "Europe/Berlin", aware, "2025-06-11T05:00:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T09:00:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect_regime(&s, DI, BW_RG_DORA, "");
    /* 22 hours: 24 hours after awareness comes first, two hours left. */
    start_dora(&s, "Europe/Berlin", aware, "2025-06-11T07:00:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T09:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(1)(a)");
    expect_regime(&s, DI, BW_RG_DORA, "24 hours after becoming aware");
    /* ... and the provisional intermediate report runs from that deadline. */
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-06-14T09:00:00+02:00", BW_ST_PENDING, NULL, 1,
           NULL);
    /* Exactly 24 hours: classified within them, so due at once (the literal
     * reading of Art 5(1)(a); Art 5(2) is for a later classification). */
    start_dora(&s, "Europe/Berlin", aware, "2025-06-11T09:00:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T09:00:00+02:00", BW_ST_PENDING, NULL, 0,
           "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(1)(a)");
    /* One second later: not classified within the 24 hours, so four hours
     * from the classification (Art 5(2)). */
    start_dora(&s, "Europe/Berlin", aware, "2025-06-11T09:00:01+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T13:00:01+02:00", BW_ST_PENDING, NULL, 0,
           "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(2)");
    expect_regime(&s, DI, BW_RG_DORA, "more than 24 hours");
    /* A notification sent within the 24 hours but after a cut-off already
     * passed is missed, and stays so. */
    start_dora(&s, "Europe/Berlin", aware, "2025-06-11T07:00:00+02:00");
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-06-11T10:00:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T09:00:00+02:00", BW_ST_MISSED,
           "2025-06-11T10:00:00+02:00", 0, NULL);
}
END_TEST

START_TEST(dora_hours_are_elapsed_across_daylight_saving)
{
    scenario_t s;
    /* Classified at 00:30 CET on 30 Mar 2025; the clocks go forward at 02:00:
     * four elapsed hours end at 05:30 CEST. */
    start_dora(&s, "Europe/Berlin", "2025-03-29T23:30:00+01:00", "2025-03-30T00:30:00+01:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-03-30T05:30:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-03-30T05:00:00+02:00");
    compute(&s);
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-04-02T05:00:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    /* Classified at 23:00 CEST on 25 Oct 2025; the clocks go back at 03:00:
     * four elapsed hours end at 02:00 CET. */
    start_dora(&s, "Europe/Berlin", "2025-10-25T22:00:00+02:00", "2025-10-25T23:00:00+02:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-10-26T02:00:00+01:00", BW_ST_PENDING, NULL, 0,
           NULL);
    /* 24 hours after awareness across the change: 21:00 CET, not 22:00. */
    start_dora(&s, "Europe/Berlin", "2025-10-25T22:00:00+02:00", "2025-10-26T20:00:00+01:00");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-10-26T21:00:00+01:00", BW_ST_PENDING, NULL, 0,
           NULL);
}
END_TEST

START_TEST(dora_final_report_at_month_ends_rts_2025_301_art_5_1_c)
{
    scenario_t s;
    start_dora(&s, "Europe/Berlin", "2025-01-27T09:00:00+01:00", "2025-01-27T10:00:00+01:00");
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-01-27T11:00:00+01:00");
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-01-30T11:00:00+01:00");
    /* The latest updated intermediate report on 31 Jan: 28 Feb. */
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-01-31T10:00:00+01:00");
    compute(&s);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-02-28T10:00:00+01:00", BW_ST_PENDING, NULL, 0, NULL);
    /* A leap year: 29 Feb, in New York. */
    start_dora(&s, "America/New_York", "2024-01-29T09:00:00-05:00", "2024-01-29T09:30:00-05:00");
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2024-01-29T11:00:00-05:00");
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2024-01-31T23:00:00-05:00");
    compute(&s);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2024-02-29T23:00:00-05:00", BW_ST_PENDING, NULL, 0, NULL);
    /* A month across the spring change keeps the local time. */
    start_dora(&s, "Europe/Berlin", "2025-03-01T09:00:00+01:00", "2025-03-01T10:00:00+01:00");
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-03-01T11:00:00+01:00");
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-03-03T09:00:00+01:00");
    compute(&s);
    expect(&s, DF, BW_DL_FINAL_REPORT, "2025-04-03T09:00:00+02:00", BW_ST_PENDING, NULL, 0, NULL);
}
END_TEST

START_TEST(dora_classified_later_or_never_art_18_and_rts_2025_301_art_5_2)
{
    scenario_t s;
    /* Not major when recorded: nothing is owed under DORA. */
    start_dora(&s, "UTC", "2025-06-10T09:00:00Z", NULL);
    compute(&s);
    ck_assert_int_eq(s.r.n_deadlines, 3);
    for (size_t i = 0; i < s.r.n_deadlines; i++) {
        ck_assert_int_eq(s.r.deadlines[i].status, BW_ST_NOT_REQUIRED);
        ck_assert_int_eq(s.r.deadlines[i].regime, BW_RG_DORA);
    }
    /* Classified as major 30 hours after awareness: four hours from then. */
    reclassify(&s, BW_SIG_SIGNIFICANT, "2025-06-11T15:00:00Z");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-11T19:00:00+00:00", BW_ST_PENDING, NULL, 0,
           "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(2)");
    /* Declassified before it fell due: not required; what fell due stays. */
    start_dora(&s, "UTC", "2025-06-10T09:00:00Z", "2025-06-10T10:00:00Z");
    reclassify(&s, BW_SIG_NOT_SIGNIFICANT, "2025-06-10T13:00:00Z");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-10T14:00:00+00:00", BW_ST_NOT_REQUIRED,
           NULL, 0, NULL);
    start_dora(&s, "UTC", "2025-06-10T09:00:00Z", "2025-06-10T10:00:00Z");
    reclassify(&s, BW_SIG_NOT_SIGNIFICANT, "2025-06-10T15:00:00Z");
    compute(&s);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-06-10T14:00:00+00:00", BW_ST_MISSED, NULL, 0,
           NULL);
    expect(&s, DM, BW_DL_INTERMEDIATE_REPORT, "2025-06-13T14:00:00+00:00", BW_ST_NOT_REQUIRED, NULL,
           1, NULL);
}
END_TEST

START_TEST(dora_timeline_contradictions_art_19_4)
{
    scenario_t s;
    start_dora(&s, "UTC", "2025-06-10T09:00:00Z", "2025-06-10T10:00:00Z");
    /* NIS2's reports are not DORA's (NIS2 Art 4). */
    refused(&s, make(BW_EV_EARLY_WARNING_SUBMITTED, "2025-06-10T11:00:00Z"), NOW, "type");
    refused(&s, make(BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-10T11:00:00Z"), NOW, "type");
    refused(&s, make(BW_EV_FINAL_REPORT_SUBMITTED, "2025-06-10T11:00:00Z"), NOW, "type");
    /* No intermediate report before the initial notification, no final
     * report before an intermediate one. */
    refused(&s, make(BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-10T11:00:00Z"), NOW,
            "type");
    refused(&s, make(BW_EV_DORA_FINAL_REPORT_SUBMITTED, "2025-06-10T11:00:00Z"), NOW, "type");
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-06-10T12:00:00Z");
    refused(&s, make(BW_EV_DORA_FINAL_REPORT_SUBMITTED, "2025-06-10T13:00:00Z"), NOW, "type");
    event(&s, BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-12T12:00:00Z");
    /* An initial notification after the intermediate report, even backdated
     * before an intermediate report already recorded. */
    refused(&s, make(BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-06-12T13:00:00Z"), NOW,
            "type");
    refused(&s, make(BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-06-10T11:00:00Z"), NOW,
            "type");
    event(&s, BW_EV_DORA_FINAL_REPORT_SUBMITTED, "2025-07-01T12:00:00Z");
    refused(&s, make(BW_EV_DORA_FINAL_REPORT_SUBMITTED, "2025-07-02T12:00:00Z"), NOW, "type");
    refused(&s, make(BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED, "2025-07-02T12:00:00Z"), NOW,
            "type");
    /* DORA's reports are not for an incident of a NIS2 entity. */
    start(&s, "UTC", "2025-06-10T09:00:00Z", 1, 0);
    refused(&s, make(BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-06-10T11:00:00Z"), NOW,
            "type");
}
END_TEST

START_TEST(no_regime_owes_no_nis2_report_art_3)
{
    scenario_t s;
    start(&s, "UTC", "2025-06-10T09:00:00Z", 1, 0);
    s.inc.reporting = BW_REPORTING_NONE;
    compute(&s);
    ck_assert_int_eq(s.r.n_deadlines, 3);
    for (size_t i = 0; i < s.r.n_deadlines; i++) {
        ck_assert_int_eq(s.r.deadlines[i].status, BW_ST_NOT_REQUIRED);
        ck_assert_int_eq(s.r.deadlines[i].regime, BW_RG_NIS2);
        ck_assert_ptr_nonnull(strstr(s.r.deadlines[i].note, "NIS2 Art 3"));
    }
    /* A voluntary notification (NIS2 Art 30) is recorded. */
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-11T09:00:00Z");
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, NULL, BW_ST_NOT_REQUIRED, "2025-06-11T09:00:00Z", 0,
           NULL);
}
END_TEST

/* ---- GDPR Art 33 beside the entity's regime ---------------------------------- */

START_TEST(gdpr_art_33_beside_nis2_on_the_same_incident)
{
    scenario_t s;
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    s.inc.personal_data_breach = 1;
    compute(&s);
    /* 72 hours after awareness for both, each under its own law. */
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_PENDING, NULL, 0,
           "NIS2 Art 23(4)(b)");
    expect_regime(&s, IN, BW_RG_NIS2, "");
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:15:00+02:00",
           BW_ST_PENDING, NULL, 0, "GDPR Art 33(1)");
    expect_regime(&s, GD, BW_RG_GDPR, "Art 34(1)");
    /* The CSIRT's notification does not notify the supervisory authority. */
    event(&s, BW_EV_INCIDENT_NOTIFICATION_SUBMITTED, "2025-06-12T09:00:00+02:00");
    event(&s, BW_EV_GDPR_NOTIFICATION_SUBMITTED, "2025-06-13T10:00:00+02:00");
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_MET,
           "2025-06-12T09:00:00+02:00", 0, NULL);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:15:00+02:00",
           BW_ST_MISSED, "2025-06-13T10:00:00+02:00", 0, NULL);
    /* Phased notifications (Art 33(4)) change nothing of the first. */
    event(&s, BW_EV_GDPR_NOTIFICATION_SUBMITTED, "2025-06-14T10:00:00+02:00");
    compute(&s);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:15:00+02:00",
           BW_ST_MISSED, "2025-06-13T10:00:00+02:00", 0, NULL);

    /* Not significant, or declassified: GDPR's deadline stays. */
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 0, 0);
    s.inc.personal_data_breach = 1;
    compute(&s);
    expect(&s, EW, BW_DL_EARLY_WARNING, NULL, BW_ST_NOT_REQUIRED, NULL, 0, NULL);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:15:00+02:00",
           BW_ST_PENDING, NULL, 0, NULL);
    start(&s, "Europe/Berlin", "2025-06-10T09:15:00+02:00", 1, 0);
    s.inc.personal_data_breach = 1;
    reclassify(&s, BW_SIG_NOT_SIGNIFICANT, "2025-06-10T12:00:00+02:00");
    event(&s, BW_EV_HANDLING_ENDED, "2025-06-11T12:00:00+02:00");
    compute(&s);
    expect(&s, IN, BW_DL_INCIDENT_NOTIFICATION, "2025-06-13T09:15:00+02:00", BW_ST_NOT_REQUIRED,
           NULL, 0, NULL);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:15:00+02:00",
           BW_ST_PENDING, NULL, 0, NULL);
    /* An open GDPR notification keeps the incident open. */
    ck_assert_int_eq(s.r.closed, 0);
    event(&s, BW_EV_GDPR_NOTIFICATION_SUBMITTED, "2025-06-12T12:00:00+02:00");
    compute(&s);
    ck_assert_int_eq(s.r.closed, 1);
}
END_TEST

START_TEST(gdpr_art_33_beside_dora_and_across_daylight_saving)
{
    scenario_t s;
    /* Aware at 12:00 CEST on Friday 24 Oct 2025: 72 elapsed hours end at
     * 11:00 CET on Monday, the clocks having gone back on Sunday. */
    start_dora(&s, "Europe/Berlin", "2025-10-24T12:00:00+02:00", "2025-10-24T13:00:00+02:00");
    s.inc.personal_data_breach = 1;
    compute(&s);
    ck_assert_int_eq(s.r.n_deadlines, 4);
    expect(&s, DI, BW_DL_INITIAL_NOTIFICATION, "2025-10-24T17:00:00+02:00", BW_ST_PENDING, NULL, 0,
           NULL);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-10-27T11:00:00+01:00",
           BW_ST_PENDING, NULL, 0, "GDPR Art 33(1)");
    /* The DORA reports do not notify the supervisory authority either. */
    event(&s, BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED, "2025-10-24T16:00:00+02:00");
    compute(&s);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-10-27T11:00:00+01:00",
           BW_ST_PENDING, NULL, 0, NULL);
}
END_TEST

START_TEST(gdpr_notification_not_required_art_33_1_and_33_5)
{
    scenario_t s;
    start(&s, "UTC", "2025-06-10T09:00:00Z", 1, 0);
    /* Without a personal data breach there is no GDPR deadline to meet. */
    compute(&s);
    ck_assert_ptr_null(find(&s, GD));
    refused(&s, make(BW_EV_GDPR_NOTIFICATION_SUBMITTED, "2025-06-10T10:00:00Z"), NOW, "type");
    refused(&s, make(BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED, "2025-06-10T10:00:00Z"), NOW, "type");
    /* The controller finds no risk: not required, even found late. */
    s.inc.personal_data_breach = 1;
    event(&s, BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED, "2025-06-14T10:00:00Z");
    compute(&s);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:00:00+00:00",
           BW_ST_NOT_REQUIRED, NULL, 0, NULL);
    refused(&s, make(BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED, "2025-06-15T10:00:00Z"), NOW, "type");
    /* Notifying after all: the notification decides. */
    event(&s, BW_EV_GDPR_NOTIFICATION_SUBMITTED, "2025-06-16T10:00:00Z");
    compute(&s);
    expect(&s, GD, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "2025-06-13T09:00:00+00:00",
           BW_ST_MISSED, "2025-06-16T10:00:00Z", 0, NULL);
    /* A finding after a notification contradicts it. */
    start(&s, "UTC", "2025-06-10T09:00:00Z", 1, 0);
    s.inc.personal_data_breach = 1;
    event(&s, BW_EV_GDPR_NOTIFICATION_SUBMITTED, "2025-06-11T10:00:00Z");
    refused(&s, make(BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED, "2025-06-12T10:00:00Z"), NOW, "type");
}
END_TEST

START_TEST(texts_fit_the_json_the_statements_read)
{
    /* records.c writes basis and note into JSON without escaping: no quote,
     * backslash or control character in any of them. */
    scenario_t s;
    const char *scenarios[][2] = {{"2025-06-10T09:00:00Z", "2025-06-10T10:00:00Z"},
                                  {"2025-06-10T09:00:00Z", "2025-06-10T07:00:00Z"},
                                  {"2025-06-10T09:00:00Z", "2025-06-12T10:00:00Z"}};
    for (int regime = BW_REPORTING_NIS2; regime <= BW_REPORTING_NONE; regime++)
        for (size_t k = 0; k < 3; k++) {
            if (regime == BW_REPORTING_DORA)
                start_dora(&s, "UTC", scenarios[k][0],
                           t_at(scenarios[k][1]) >= t_at(scenarios[k][0]) ? scenarios[k][1] : NULL);
            else
                start(&s, "UTC", scenarios[k][0], k != 1, k == 2);
            s.inc.reporting = regime;
            s.inc.personal_data_breach = 1;
            compute(&s);
            for (size_t i = 0; i < s.r.n_deadlines; i++) {
                const char *texts[] = {s.r.deadlines[i].basis, s.r.deadlines[i].note};
                for (size_t t = 0; t < 2; t++)
                    for (const char *c = texts[t]; *c; c++)
                        ck_assert_msg(*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20, "%s",
                                      texts[t]);
            }
        }
}
END_TEST

START_TEST(statuses_and_names)
{
    int64_t due = t_at("2025-06-10T09:15:00Z");
    ck_assert_int_eq(bw_clock_status_at(BW_ST_PENDING, 1, due, due), BW_ST_PENDING);
    ck_assert_int_eq(bw_clock_status_at(BW_ST_PENDING, 1, due, due + 1), BW_ST_OVERDUE);
    ck_assert_int_eq(bw_clock_status_at(BW_ST_PENDING, 0, 0, due), BW_ST_PENDING);
    ck_assert_int_eq(bw_clock_status_at(BW_ST_MET, 1, due, due + 1), BW_ST_MET);
    ck_assert_int_eq(bw_clock_status_at(BW_ST_NOT_REQUIRED, 1, due, due + 1), BW_ST_NOT_REQUIRED);
    for (int k = BW_DL_EARLY_WARNING; k <= BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION; k++)
        ck_assert_int_eq(bw_clock_kind_value(bw_clock_kind_name(k)), k);
    for (int g = BW_RG_NIS2; g <= BW_RG_GDPR; g++)
        ck_assert_int_eq(bw_clock_regime_value(bw_clock_regime_name(g)), g);
    for (int g = BW_REPORTING_NIS2; g <= BW_REPORTING_NONE; g++)
        ck_assert_int_eq(bw_clock_reporting_value(bw_clock_reporting_name(g)), g);
    ck_assert_str_eq(bw_clock_event_name(BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED),
                     "DORA_INITIAL_NOTIFICATION_SUBMITTED");
    ck_assert_str_eq(bw_clock_event_name(BW_EV_GDPR_NOTIFICATION_SUBMITTED),
                     "GDPR_NOTIFICATION_SUBMITTED");
    ck_assert_ptr_null(bw_clock_regime_name(4));
    for (int st = BW_ST_PENDING; st <= BW_ST_NOT_REQUIRED; st++)
        ck_assert_int_eq(bw_clock_status_value(bw_clock_status_name(st)), st);
    for (int e = 1; e <= BW_EV_TYPE_MAX; e++)
        ck_assert_int_eq(bw_clock_event_value(bw_clock_event_name(e)), e);
    ck_assert_ptr_null(bw_clock_kind_name(0));
    ck_assert_ptr_null(bw_clock_event_name(BW_EV_TYPE_MAX + 1));
    ck_assert_int_eq(bw_clock_event_value("BOGUS"), 0);
    ck_assert_int_eq(bw_clock_event_value(NULL), 0);

    bw_clock_incident_t inc = {t_at("2025-06-10T09:15:00Z"), 1, 0, "Mars/Olympus"};
    bw_clock_result_t r;
    ck_assert_int_eq(bw_clock_compute(&inc, NULL, 0, &r), BW_EINVAL);
}
END_TEST

Suite *suite_clock(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("deadlines");
    tcase_add_test(tc, spring_forward_moves_the_local_hour_on_berlin);
    tcase_add_test(tc, fall_back_moves_the_local_hour_on_berlin);
    tcase_add_test(tc, both_transitions_on_new_york);
    tcase_add_test(tc, aware_at_in_another_offset_than_the_zone);
    tcase_add_test(tc, early_notification_brings_the_final_report_forward);
    tcase_add_test(tc, late_notification_pushes_the_final_report_and_stays_missed);
    tcase_add_test(tc, final_report_clamps_to_the_month_end);
    tcase_add_test(tc, final_report_in_a_gap_or_a_repeated_hour);
    tcase_add_test(tc, year_boundary);
    tcase_add_test(tc, trust_service_derogation);
    tcase_add_test(tc, ongoing_incident_owes_a_progress_report);
    tcase_add_test(tc, handling_ended_in_time_means_no_progress_report);
    tcase_add_test(tc, final_report_while_handling_goes_on);
    tcase_add_test(tc, ongoing_before_the_notification_is_provisional);
    tcase_add_test(tc, intermediate_reports_on_request);
    tcase_add_test(tc, not_significant_owes_nothing);
    tcase_add_test(tc, reclassified_significant_starts_the_clock_then);
    tcase_add_test(tc, reclassified_not_significant_ends_what_is_not_yet_due);
    tcase_add_test(tc, events_that_contradict_the_timeline_are_refused);
    tcase_add_test(tc, equal_times_keep_the_recording_order);
    tcase_add_test(tc, too_many_requests);
    tcase_add_test(tc, dora_initial_intermediate_final_art_19_4_rts_2025_301_art_5);
    tcase_add_test(tc, dora_initial_4_hours_against_24_hours_rts_2025_301_art_5_1_a_and_5_2);
    tcase_add_test(tc, dora_hours_are_elapsed_across_daylight_saving);
    tcase_add_test(tc, dora_final_report_at_month_ends_rts_2025_301_art_5_1_c);
    tcase_add_test(tc, dora_classified_later_or_never_art_18_and_rts_2025_301_art_5_2);
    tcase_add_test(tc, dora_timeline_contradictions_art_19_4);
    tcase_add_test(tc, no_regime_owes_no_nis2_report_art_3);
    tcase_add_test(tc, gdpr_art_33_beside_nis2_on_the_same_incident);
    tcase_add_test(tc, gdpr_art_33_beside_dora_and_across_daylight_saving);
    tcase_add_test(tc, gdpr_notification_not_required_art_33_1_and_33_5);
    tcase_add_test(tc, texts_fit_the_json_the_statements_read);
    tcase_add_test(tc, statuses_and_names);
    suite_add_tcase(s, tc);
    return s;
}
