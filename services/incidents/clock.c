/*
 * The reporting clocks; see clock.h for the contract and README.md for the
 * rules with their interpretations. bw_clock_compute walks the sorted
 * timeline once to collect the instants that matter (when the incident
 * became significant or stopped being so, the first submission of each
 * report, the requests, the end of handling), then derives the deadlines of
 * the entity's regime from them (NIS2 Art 23(4), or DORA Art 19(4) with
 * Delegated Regulation (EU) 2025/301 Art 5), applies a declassification, if
 * any, and adds GDPR Art 33's for a personal data breach, which no
 * classification changes.
 */
#include "clock.h"

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOURS(n) ((int64_t)(n)*BW_US_PER_HOUR)

static const char *const kind_names[] = {NULL,
                                         "EARLY_WARNING",
                                         "INCIDENT_NOTIFICATION",
                                         "INTERMEDIATE_REPORT",
                                         "PROGRESS_REPORT",
                                         "FINAL_REPORT",
                                         "INITIAL_NOTIFICATION",
                                         "PERSONAL_DATA_BREACH_NOTIFICATION"};
static const char *const status_names[] = {NULL,     "PENDING", "MET",
                                           "MISSED", "OVERDUE", "NOT_REQUIRED"};
static const char *const event_names[] = {NULL,
                                          "EARLY_WARNING_SUBMITTED",
                                          "INCIDENT_NOTIFICATION_SUBMITTED",
                                          "INTERMEDIATE_REPORT_REQUESTED",
                                          "INTERMEDIATE_REPORT_SUBMITTED",
                                          "PROGRESS_REPORT_SUBMITTED",
                                          "FINAL_REPORT_SUBMITTED",
                                          "HANDLING_ENDED",
                                          "RECLASSIFIED",
                                          "NOTE",
                                          "DORA_INITIAL_NOTIFICATION_SUBMITTED",
                                          "DORA_INTERMEDIATE_REPORT_SUBMITTED",
                                          "DORA_FINAL_REPORT_SUBMITTED",
                                          "GDPR_NOTIFICATION_SUBMITTED",
                                          "GDPR_NOTIFICATION_NOT_REQUIRED"};
static const char *const regime_names[] = {NULL, "NIS2", "DORA", "GDPR"};
static const char *const reporting_names[] = {NULL, "NIS2", "DORA", "NONE"};

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, int n, int value)
{
    return value > 0 && value < n ? names[value] : NULL;
}

static int value_of(const char *const *names, int n, const char *name)
{
    for (int i = 1; name != NULL && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return 0;
}

const char *bw_clock_kind_name(int kind)
{
    return name_of(kind_names, COUNT(kind_names), kind);
}

const char *bw_clock_status_name(int status)
{
    return name_of(status_names, COUNT(status_names), status);
}

const char *bw_clock_event_name(int type)
{
    return name_of(event_names, COUNT(event_names), type);
}

const char *bw_clock_regime_name(int regime)
{
    return name_of(regime_names, COUNT(regime_names), regime);
}

const char *bw_clock_reporting_name(int reporting)
{
    return name_of(reporting_names, COUNT(reporting_names), reporting);
}

int bw_clock_regime_value(const char *name)
{
    return value_of(regime_names, COUNT(regime_names), name);
}

int bw_clock_reporting_value(const char *name)
{
    return value_of(reporting_names, COUNT(reporting_names), name);
}

int bw_clock_kind_value(const char *name)
{
    return value_of(kind_names, COUNT(kind_names), name);
}

int bw_clock_status_value(const char *name)
{
    return value_of(status_names, COUNT(status_names), name);
}

int bw_clock_event_value(const char *name)
{
    return value_of(event_names, COUNT(event_names), name);
}

static int compare_events(const void *a, const void *b)
{
    const bw_clock_event_t *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return (x->sequence > y->sequence) - (x->sequence < y->sequence);
}

void bw_clock_sort(bw_clock_event_t *events, size_t n)
{
    if (n > 1)
        qsort(events, n, sizeof(*events), compare_events);
}

static int reporting_of(const bw_clock_incident_t *inc)
{
    return inc->reporting == 0 ? BW_REPORTING_NIS2 : inc->reporting;
}

static int is_nis2_report(int type)
{
    return type >= BW_EV_EARLY_WARNING_SUBMITTED && type <= BW_EV_FINAL_REPORT_SUBMITTED;
}

static int is_dora_report(int type)
{
    return type >= BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED &&
           type <= BW_EV_DORA_FINAL_REPORT_SUBMITTED;
}

static int is_gdpr_event(int type)
{
    return type == BW_EV_GDPR_NOTIFICATION_SUBMITTED ||
           type == BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED;
}

static int refuse(bw_clock_problem_t *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(bw_clock_problem_t *p, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p->field = field;
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    return BW_EINVAL;
}

/* UTC text of at for messages (into a caller's buffer). */
static const char *utc(int64_t at, char buf[BW_TZ_TEXT_MAX])
{
    if (bw_tz_format_utc(at, buf, BW_TZ_TEXT_MAX) != 0)
        snprintf(buf, BW_TZ_TEXT_MAX, "?");
    return buf;
}

int bw_clock_check_event(const bw_clock_incident_t *inc, const bw_clock_event_t *ev, int64_t now,
                         bw_clock_problem_t *p)
{
    char t[BW_TZ_TEXT_MAX];
    if (ev->type == 0)
        return refuse(p, "type", "is required");
    if (bw_clock_event_name(ev->type) == NULL)
        return refuse(p, "type", "is not an event type");
    int reporting = reporting_of(inc);
    if (is_nis2_report(ev->type) && reporting == BW_REPORTING_DORA)
        return refuse(p, "type",
                      "the entity is under DORA, whose reports replace those of NIS2 Art 23 "
                      "(NIS2 Art 4): record DORA_INITIAL_NOTIFICATION_SUBMITTED, "
                      "DORA_INTERMEDIATE_REPORT_SUBMITTED or DORA_FINAL_REPORT_SUBMITTED");
    if (is_dora_report(ev->type) && reporting != BW_REPORTING_DORA)
        return refuse(p, "type",
                      "DORA reports are for an entity under DORA; this incident's reporting "
                      "regime is %s",
                      bw_clock_reporting_name(reporting));
    if (is_gdpr_event(ev->type) && !inc->personal_data_breach)
        return refuse(p, "type",
                      "the incident is not recorded as a personal data breach "
                      "(personalDataBreach), so GDPR Art 33 does not apply to it");
    if (ev->at < inc->aware_at)
        return refuse(p, "occurredAt", "is before the incident's awareAt (%s)",
                      utc(inc->aware_at, t));
    if (ev->at > now + BW_CLOCK_SKEW_US)
        return refuse(p, "occurredAt", "is in the future (now is %s)", utc(now, t));
    if (ev->type == BW_EV_INTERMEDIATE_REPORT_REQUESTED) {
        if (!ev->has_due)
            return refuse(p, "dueAt", "is required: when the requested report is due");
        if (ev->due <= ev->at)
            return refuse(p, "dueAt", "must be after occurredAt (%s)", utc(ev->at, t));
        if (ev->due > BW_TZ_MAX_US)
            return refuse(p, "dueAt", "is too far in the future");
    } else if (ev->has_due) {
        return refuse(p, "dueAt", "is only for an INTERMEDIATE_REPORT_REQUESTED event");
    }
    if (ev->type == BW_EV_RECLASSIFIED) {
        if (ev->significance != BW_SIG_SIGNIFICANT && ev->significance != BW_SIG_NOT_SIGNIFICANT)
            return refuse(p, "significance",
                          "is required on a RECLASSIFIED event: SIGNIFICANT or NOT_SIGNIFICANT");
    } else if (ev->significance != BW_SIG_UNSPECIFIED) {
        return refuse(p, "significance", "is only for a RECLASSIFIED event");
    }
    return 0;
}

/* The first time of a thing that may happen again (a report submitted
 * twice): kept in *at, with *has set, once it happened. */
static void first(int *has, int64_t *at, int64_t value)
{
    if (!*has) {
        *has = 1;
        *at = value;
    }
}

/* A thing an incident has once (a final report, the end of handling):
 * its time into *at, or a second one refused, what it says ("handling
 * already ended") followed by " at" and the time of the first. */
static int once(bw_clock_problem_t *p, int *has, int64_t *at, int64_t value, const char *what)
{
    char t[BW_TZ_TEXT_MAX];
    if (*has)
        return refuse(p, "type", "%s at %s", what, utc(*at, t));
    *has = 1;
    *at = value;
    return 0;
}

int bw_clock_check_timeline(const bw_clock_incident_t *inc, const bw_clock_event_t *events,
                            size_t n, bw_clock_problem_t *p)
{
    char t[BW_TZ_TEXT_MAX];
    int64_t notified = 0, finished = 0, handled = 0, declassified = 0;
    int has_notified = 0, has_final = 0, has_handled = 0, has_report = 0;
    int significant = inc->significant, ever_significant = inc->significant;
    int requests = 0, answered = 0;
    /* DORA and GDPR: the first intermediate report, the final report, the
     * first GDPR notification, the finding that none is needed. */
    int64_t dora_intermediate = 0, dora_final = 0, gdpr = 0, gdpr_none = 0;
    int has_dora_initial = 0, has_dora_intermediate = 0, has_dora_final = 0;
    int has_gdpr = 0, has_gdpr_none = 0;
    int err;
    for (size_t i = 0; i < n; i++) {
        const bw_clock_event_t *e = &events[i];
        switch (e->type) {
        case BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED:
            if (has_dora_intermediate)
                return refuse(p, "type",
                              "an initial notification cannot follow the intermediate report "
                              "submitted at %s",
                              utc(dora_intermediate, t));
            has_dora_initial = 1;
            break;
        case BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED:
            if (!has_dora_initial)
                return refuse(p, "type",
                              "an intermediate report cannot precede the initial notification "
                              "(DORA Art 19(4)(b))");
            if (has_dora_final)
                return refuse(p, "type",
                              "an intermediate report cannot follow the final report submitted "
                              "at %s",
                              utc(dora_final, t));
            first(&has_dora_intermediate, &dora_intermediate, e->at);
            break;
        case BW_EV_DORA_FINAL_REPORT_SUBMITTED:
            if (!has_dora_intermediate)
                return refuse(p, "type",
                              "the final report follows an intermediate report (DORA Art 19(4)(c); "
                              "Delegated Regulation (EU) 2025/301 Art 5(1)(c))");
            if ((err = once(p, &has_dora_final, &dora_final, e->at,
                            "the final report was already submitted")) != 0)
                return err;
            break;
        case BW_EV_GDPR_NOTIFICATION_SUBMITTED:
            first(&has_gdpr, &gdpr, e->at);
            break;
        case BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED:
            if (has_gdpr)
                return refuse(p, "type",
                              "the personal data breach was notified at %s; a finding that no "
                              "notification is needed cannot follow it",
                              utc(gdpr, t));
            if ((err = once(p, &has_gdpr_none, &gdpr_none, e->at,
                            "the finding that no notification is needed was recorded")) != 0)
                return err;
            break;
        case BW_EV_EARLY_WARNING_SUBMITTED:
            if (has_notified)
                return refuse(p, "type",
                              "an early warning cannot follow the incident notification "
                              "submitted at %s",
                              utc(notified, t));
            has_report = 1;
            break;
        case BW_EV_INCIDENT_NOTIFICATION_SUBMITTED:
            if (has_final)
                return refuse(p, "type",
                              "an incident notification cannot follow the final report "
                              "submitted at %s",
                              utc(finished, t));
            first(&has_notified, &notified, e->at);
            has_report = 1;
            break;
        case BW_EV_INTERMEDIATE_REPORT_REQUESTED:
            if (!has_report)
                return refuse(p, "type",
                              "no early warning or notification precedes it, so no authority "
                              "can have requested an intermediate report");
            if (requests == BW_CLOCK_MAX_REQUESTS)
                return refuse(p, "type",
                              "an incident can have at most %d intermediate report "
                              "requests",
                              BW_CLOCK_MAX_REQUESTS);
            requests++;
            break;
        case BW_EV_INTERMEDIATE_REPORT_SUBMITTED:
            if (answered == requests)
                return refuse(p, "type",
                              requests == 0 ? "no intermediate report was requested before it"
                                            : "every intermediate report requested before it "
                                              "was already submitted");
            answered++;
            break;
        case BW_EV_PROGRESS_REPORT_SUBMITTED:
            if (!has_notified)
                return refuse(p, "type",
                              "a progress report cannot precede the incident "
                              "notification");
            if (has_final)
                return refuse(p, "type",
                              "a progress report cannot follow the final report submitted at %s",
                              utc(finished, t));
            break;
        case BW_EV_FINAL_REPORT_SUBMITTED:
            if (!has_notified)
                return refuse(p, "type",
                              "a final report cannot precede the incident "
                              "notification");
            if ((err = once(p, &has_final, &finished, e->at,
                            "the final report was already submitted")) != 0)
                return err;
            break;
        case BW_EV_HANDLING_ENDED:
            if ((err = once(p, &has_handled, &handled, e->at, "handling already ended")) != 0)
                return err;
            break;
        case BW_EV_RECLASSIFIED:
            if ((e->significance == BW_SIG_SIGNIFICANT) == significant)
                return refuse(p, "significance", "the incident is already %s at that time",
                              significant ? "significant" : "not significant");
            if (e->significance == BW_SIG_SIGNIFICANT && ever_significant)
                return refuse(p, "significance",
                              "the incident was reclassified as not significant at %s and "
                              "cannot become significant again; record a new incident",
                              utc(declassified, t));
            significant = e->significance == BW_SIG_SIGNIFICANT;
            ever_significant |= significant;
            if (!significant)
                declassified = e->at;
            break;
        default:
            break;
        }
    }
    return 0;
}

int bw_clock_visible(const bw_clock_deadline_t *d, int64_t now)
{
    return (!d->has_shown_from || d->shown_from <= now) &&
           (!d->has_shown_until || now < d->shown_until);
}

int bw_clock_status_at(int status, int has_due, int64_t due, int64_t now)
{
    return status == BW_ST_PENDING && has_due && due < now ? BW_ST_OVERDUE : status;
}

/* What the timeline says, in one pass. */
typedef struct facts {
    int has_start, has_end, has_warned, has_notified, has_progress, has_final, has_handled;
    int64_t start, end, warned, notified, progress, final, handled;
    int n_requests, n_answers;
    int64_t request_due[BW_CLOCK_MAX_REQUESTS], answer_at[BW_CLOCK_MAX_REQUESTS];
    int significant;
    /* DORA: the first submission of each report, and the latest
     * intermediate report (the final report runs from it). */
    int has_dora_initial, has_dora_intermediate, has_dora_final;
    int64_t dora_initial, dora_intermediate, dora_intermediate_last, dora_final;
    /* GDPR: the first notification; the finding that none is needed. */
    int has_gdpr, has_gdpr_none;
    int64_t gdpr, gdpr_none;
} facts_t;

static void collect(const bw_clock_incident_t *inc, const bw_clock_event_t *events, size_t n,
                    facts_t *f)
{
    memset(f, 0, sizeof(*f));
    f->significant = inc->significant;
    /* Under DORA the clock starts when the incident is classified as major;
     * recorded as major without that time, it was classified on awareness. */
    if (inc->significant)
        first(&f->has_start, &f->start,
              reporting_of(inc) == BW_REPORTING_DORA && inc->has_classified_major
                  ? inc->classified_major_at
                  : inc->aware_at);
    for (size_t i = 0; i < n; i++) {
        const bw_clock_event_t *e = &events[i];
        switch (e->type) {
        case BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED:
            first(&f->has_dora_initial, &f->dora_initial, e->at);
            break;
        case BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED:
            first(&f->has_dora_intermediate, &f->dora_intermediate, e->at);
            f->dora_intermediate_last = e->at;
            break;
        case BW_EV_DORA_FINAL_REPORT_SUBMITTED:
            first(&f->has_dora_final, &f->dora_final, e->at);
            break;
        case BW_EV_GDPR_NOTIFICATION_SUBMITTED:
            first(&f->has_gdpr, &f->gdpr, e->at);
            break;
        case BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED:
            first(&f->has_gdpr_none, &f->gdpr_none, e->at);
            break;
        case BW_EV_EARLY_WARNING_SUBMITTED:
            first(&f->has_warned, &f->warned, e->at);
            break;
        case BW_EV_INCIDENT_NOTIFICATION_SUBMITTED:
            /* A notification carries everything an early warning must. */
            first(&f->has_warned, &f->warned, e->at);
            first(&f->has_notified, &f->notified, e->at);
            break;
        case BW_EV_INTERMEDIATE_REPORT_REQUESTED:
            if (f->n_requests < BW_CLOCK_MAX_REQUESTS)
                f->request_due[f->n_requests++] = e->due;
            break;
        case BW_EV_INTERMEDIATE_REPORT_SUBMITTED:
            if (f->n_answers < BW_CLOCK_MAX_REQUESTS)
                f->answer_at[f->n_answers++] = e->at;
            break;
        case BW_EV_PROGRESS_REPORT_SUBMITTED:
            first(&f->has_progress, &f->progress, e->at);
            break;
        case BW_EV_FINAL_REPORT_SUBMITTED:
            first(&f->has_final, &f->final, e->at);
            break;
        case BW_EV_HANDLING_ENDED:
            first(&f->has_handled, &f->handled, e->at);
            break;
        case BW_EV_RECLASSIFIED:
            f->significant = e->significance == BW_SIG_SIGNIFICANT;
            if (f->significant)
                first(&f->has_start, &f->start, e->at);
            else
                first(&f->has_end, &f->end, e->at);
            break;
        default:
            break;
        }
    }
}

static bw_clock_deadline_t *add(bw_clock_result_t *r, int ordinal, int kind, const char *basis)
{
    bw_clock_deadline_t *d = &r->deadlines[r->n_deadlines++];
    memset(d, 0, sizeof(*d));
    d->ordinal = ordinal;
    d->kind = kind;
    d->basis = basis;
    d->regime = BW_RG_NIS2;
    d->note = "";
    return d;
}

/* The DORA deadlines' bases and notes. */
#define DORA_INITIAL "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(1)(a)"
#define DORA_INITIAL_LATE "DORA Art 19(4)(a); Delegated Regulation (EU) 2025/301 Art 5(2)"
#define DORA_INTERMEDIATE "DORA Art 19(4)(b); Delegated Regulation (EU) 2025/301 Art 5(1)(b)"
#define DORA_FINAL "DORA Art 19(4)(c); Delegated Regulation (EU) 2025/301 Art 5(1)(c)"

static const char note_initial_cap[] =
    "due 24 hours after becoming aware of the incident: the four hours from its classification "
    "as major would end later (Delegated Regulation (EU) 2025/301 Art 5(1)(a))";
static const char note_initial_late[] =
    "classified as major more than 24 hours after becoming aware of the incident: due four hours "
    "after the classification (Delegated Regulation (EU) 2025/301 Art 5(2))";
static const char note_intermediate[] =
    "due 72 hours after the initial notification even if nothing changed; an updated report "
    "follows without undue delay whenever the status changes, and in any case once regular "
    "activities have been recovered (Delegated Regulation (EU) 2025/301 Art 5(1)(b))";
static const char note_final[] =
    "due one month after the latest updated intermediate report (Delegated Regulation (EU) "
    "2025/301 Art 5(1)(c)); a later intermediate report moves it";
static const char note_none[] =
    "the entity was neither essential nor important (NIS2 Art 3) nor under DORA when the "
    "incident was recorded: NIS2 Art 23 does not oblige it to report";
static const char note_gdpr[] =
    "notify the supervisory authority without undue delay and, where feasible, within 72 hours "
    "of becoming aware of the breach, unless it is unlikely to result in a risk to the rights "
    "and freedoms of natural persons (record that finding as GDPR_NOTIFICATION_NOT_REQUIRED, "
    "Art 33(5)); a later notification gives the reasons for the delay (Art 33(1)). Where the "
    "breach is likely to result in a high risk to them, also inform the data subjects without "
    "undue delay (Art 34(1)), unless Art 34(3) applies";

static void set_due(bw_clock_deadline_t *d, int64_t due, int provisional)
{
    d->has_due = 1;
    d->due = due;
    d->provisional = provisional;
}

static void set_met(bw_clock_deadline_t *d, int has, int64_t at)
{
    d->has_met = has;
    d->met = has ? at : 0;
}

/* MET or MISSED once submitted (the first submission decides, for good),
 * PENDING until then. */
static void settle(bw_clock_deadline_t *d)
{
    if (!d->has_met)
        d->status = BW_ST_PENDING;
    else
        d->status = d->has_due && d->met > d->due ? BW_ST_MISSED : BW_ST_MET;
}

/* NIS2 Art 23(4)(c): an intermediate report for each request of an
 * authority, due when it said, met by the reports submitted, in order. */
static void requested_reports(const facts_t *f, bw_clock_result_t *r)
{
    for (int k = 0; k < f->n_requests; k++) {
        bw_clock_deadline_t *d = add(r, BW_CLOCK_ORD_INTERMEDIATE_FIRST + k,
                                     BW_DL_INTERMEDIATE_REPORT, "NIS2 Art 23(4)(c)");
        set_due(d, f->request_due[k], 0);
        set_met(d, k < f->n_answers, k < f->n_answers ? f->answer_at[k] : 0);
    }
}

/* Deadlines of an incident that was never significant (or of an entity NIS2
 * Art 23 does not bind, note saying why): nothing is owed. */
static void never_significant(const facts_t *f, const char *note, bw_clock_result_t *r)
{
    bw_clock_deadline_t *d =
        add(r, BW_CLOCK_ORD_EARLY_WARNING, BW_DL_EARLY_WARNING, "NIS2 Art 23(4)(a)");
    set_met(d, f->has_warned, f->warned);
    d = add(r, BW_CLOCK_ORD_INCIDENT_NOTIFICATION, BW_DL_INCIDENT_NOTIFICATION,
            "NIS2 Art 23(4)(b)");
    set_met(d, f->has_notified, f->notified);
    requested_reports(f, r);
    d = add(r, BW_CLOCK_ORD_FINAL_REPORT, BW_DL_FINAL_REPORT, "NIS2 Art 23(4)(d)");
    set_met(d, f->has_final, f->final);
    for (size_t i = 0; i < r->n_deadlines; i++) {
        r->deadlines[i].status = BW_ST_NOT_REQUIRED;
        r->deadlines[i].note = note;
    }
}

/* DORA deadlines of an incident never classified as major: none is owed. */
static void never_major(const facts_t *f, bw_clock_result_t *r)
{
    bw_clock_deadline_t *d =
        add(r, BW_CLOCK_ORD_DORA_INITIAL, BW_DL_INITIAL_NOTIFICATION, DORA_INITIAL);
    set_met(d, f->has_dora_initial, f->dora_initial);
    d = add(r, BW_CLOCK_ORD_DORA_INTERMEDIATE, BW_DL_INTERMEDIATE_REPORT, DORA_INTERMEDIATE);
    set_met(d, f->has_dora_intermediate, f->dora_intermediate);
    d = add(r, BW_CLOCK_ORD_DORA_FINAL, BW_DL_FINAL_REPORT, DORA_FINAL);
    set_met(d, f->has_dora_final, f->dora_final);
    for (size_t i = 0; i < r->n_deadlines; i++) {
        r->deadlines[i].status = BW_ST_NOT_REQUIRED;
        r->deadlines[i].regime = BW_RG_DORA;
    }
}

/* DORA Art 19(4) with Delegated Regulation (EU) 2025/301 Art 5: the initial
 * notification four hours after the classification as major and no later
 * than 24 hours after awareness (the earlier), or four hours after a
 * classification made more than 24 hours after awareness (Art 5(2)); the
 * intermediate report 72 hours after the initial notification; the final
 * report one month after the latest intermediate report. Until the report a
 * deadline runs from is submitted, it runs from that report's deadline
 * (provisional). */
static int dora_deadlines(const bw_clock_incident_t *inc, const facts_t *f, bw_tz_t *tz,
                          bw_clock_result_t *r)
{
    int64_t aware_cap = inc->aware_at + HOURS(24), after_classification = f->start + HOURS(4);
    int late = f->start > aware_cap;
    int64_t initial_due =
        late || after_classification <= aware_cap ? after_classification : aware_cap;
    bw_clock_deadline_t *d = add(r, BW_CLOCK_ORD_DORA_INITIAL, BW_DL_INITIAL_NOTIFICATION,
                                 late ? DORA_INITIAL_LATE : DORA_INITIAL);
    d->note = late ? note_initial_late : after_classification > aware_cap ? note_initial_cap : "";
    set_due(d, initial_due, 0);
    set_met(d, f->has_dora_initial, f->dora_initial);

    int64_t intermediate_due = (f->has_dora_initial ? f->dora_initial : initial_due) + HOURS(72);
    d = add(r, BW_CLOCK_ORD_DORA_INTERMEDIATE, BW_DL_INTERMEDIATE_REPORT, DORA_INTERMEDIATE);
    d->note = note_intermediate;
    set_due(d, intermediate_due, !f->has_dora_initial);
    set_met(d, f->has_dora_intermediate, f->dora_intermediate);

    int64_t final_due;
    int err = bw_tz_add_month(
        tz, f->has_dora_intermediate ? f->dora_intermediate_last : intermediate_due, &final_due);
    if (err != 0)
        return err;
    d = add(r, BW_CLOCK_ORD_DORA_FINAL, BW_DL_FINAL_REPORT, DORA_FINAL);
    d->note = note_final;
    set_due(d, final_due, !f->has_dora_intermediate);
    set_met(d, f->has_dora_final, f->dora_final);
    for (size_t i = 0; i < r->n_deadlines; i++)
        r->deadlines[i].regime = BW_RG_DORA;
    return 0;
}

/* GDPR Art 33(1): 72 hours after becoming aware of the breach (the
 * incident's awareAt), whatever the incident's significance; not required
 * once the controller finds the breach unlikely to result in a risk, unless
 * it notified anyway (then the notification decides). */
static void gdpr_deadline(const bw_clock_incident_t *inc, const facts_t *f, bw_clock_result_t *r)
{
    bw_clock_deadline_t *d =
        add(r, BW_CLOCK_ORD_GDPR, BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION, "GDPR Art 33(1)");
    d->regime = BW_RG_GDPR;
    d->note = note_gdpr;
    set_due(d, inc->aware_at + HOURS(72), 0);
    set_met(d, f->has_gdpr, f->gdpr);
    settle(d);
    if (!f->has_gdpr && f->has_gdpr_none)
        d->status = BW_ST_NOT_REQUIRED;
}

static int significant_deadlines(const bw_clock_incident_t *inc, const facts_t *f, bw_tz_t *tz,
                                 bw_clock_result_t *r)
{
    bw_clock_deadline_t *d =
        add(r, BW_CLOCK_ORD_EARLY_WARNING, BW_DL_EARLY_WARNING, "NIS2 Art 23(4)(a)");
    set_due(d, f->start + HOURS(24), 0);
    set_met(d, f->has_warned, f->warned);

    int64_t notification_due = f->start + HOURS(inc->trust_service_derogation ? 24 : 72);
    d = add(r, BW_CLOCK_ORD_INCIDENT_NOTIFICATION, BW_DL_INCIDENT_NOTIFICATION,
            inc->trust_service_derogation ? "NIS2 Art 23(4), second subparagraph"
                                          : "NIS2 Art 23(4)(b)");
    set_due(d, notification_due, 0);
    set_met(d, f->has_notified, f->notified);

    requested_reports(f, r);

    /* The final report falls due one month after the notification was
     * actually submitted; until then, one month after its deadline. */
    int provisional = !f->has_notified;
    int64_t final_due;
    int err = bw_tz_add_month(tz, f->has_notified ? f->notified : notification_due, &final_due);
    if (err != 0)
        return err;
    int handled_by_then = f->has_handled && f->handled <= final_due;
    int final_by_then = f->has_final && f->final <= final_due;
    /* Handling ending after it, or the final report coming after it, shows
     * the incident was ongoing then; no such event leaves it open. */
    int decided = handled_by_then || final_by_then || f->has_handled || f->has_final;
    if (handled_by_then || final_by_then || !decided) {
        d = add(r, BW_CLOCK_ORD_FINAL_REPORT, BW_DL_FINAL_REPORT, "NIS2 Art 23(4)(d)");
        set_due(d, final_due, provisional);
        set_met(d, f->has_final, f->final);
        if (decided)
            return 0;
        d->has_shown_until = 1;
        d->shown_until = final_due;
    }
    /* Ongoing when the final report falls due: a progress report then, and
     * the final report one month after handling ends. A final report
     * submitted late serves as the progress report too. */
    d = add(r, BW_CLOCK_ORD_PROGRESS_REPORT, BW_DL_PROGRESS_REPORT, "NIS2 Art 23(4)(e)");
    set_due(d, final_due, provisional);
    if (f->has_progress || f->has_final)
        set_met(d, 1,
                f->has_progress && (!f->has_final || f->progress < f->final) ? f->progress
                                                                             : f->final);
    d->has_shown_from = !decided;
    d->shown_from = decided ? 0 : final_due;
    d = add(r, BW_CLOCK_ORD_FINAL_AFTER_HANDLING, BW_DL_FINAL_REPORT, "NIS2 Art 23(4)(e)");
    d->provisional = 1;
    d->has_shown_from = !decided;
    d->shown_from = decided ? 0 : final_due;
    if (f->has_handled) {
        int64_t due;
        if ((err = bw_tz_add_month(tz, f->handled, &due)) != 0)
            return err;
        set_due(d, due, provisional);
    }
    set_met(d, f->has_final, f->final);
    return 0;
}

/* After a reclassification as not significant at end: what fell due before
 * stays owed (unsubmitted, it is MISSED for good); what falls due after is
 * not required, unless it was met before. */
static void declassify(int64_t end, bw_clock_result_t *r)
{
    for (size_t i = 0; i < r->n_deadlines; i++) {
        bw_clock_deadline_t *d = &r->deadlines[i];
        if (d->has_due && d->due <= end) {
            if (d->status == BW_ST_PENDING)
                d->status = BW_ST_MISSED;
        } else if (!(d->has_met && d->met <= end)) {
            d->status = BW_ST_NOT_REQUIRED;
        }
    }
}

int bw_clock_compute(const bw_clock_incident_t *inc, const bw_clock_event_t *events, size_t n,
                     bw_clock_result_t *out)
{
    facts_t f;
    bw_tz_t *tz = NULL;
    memset(out, 0, sizeof(*out));
    collect(inc, events, n, &f);
    out->significant = f.significant;
    out->has_clock_start = f.has_start;
    out->clock_start = f.start;
    out->has_handling_ended = f.has_handled;
    out->handling_ended = f.handled;
    int err = bw_tz_open(inc->time_zone, &tz);
    if (err != 0)
        return err;
    int reporting = reporting_of(inc);
    if (reporting == BW_REPORTING_NONE) {
        never_significant(&f, note_none, out);
    } else if (!f.has_start) {
        if (reporting == BW_REPORTING_DORA)
            never_major(&f, out);
        else
            never_significant(&f, "", out);
    } else {
        err = reporting == BW_REPORTING_DORA ? dora_deadlines(inc, &f, tz, out)
                                             : significant_deadlines(inc, &f, tz, out);
        if (err != 0)
            goto out;
        for (size_t i = 0; i < out->n_deadlines; i++)
            settle(&out->deadlines[i]);
        if (f.has_end)
            declassify(f.end, out);
    }
    /* After the declassification: the significance of the incident changes
     * nothing of GDPR's. */
    if (inc->personal_data_breach)
        gdpr_deadline(inc, &f, out);
    int open = 0;
    for (size_t i = 0; i < out->n_deadlines; i++) {
        bw_clock_deadline_t *d = &out->deadlines[i];
        open |= d->status == BW_ST_PENDING;
        if (d->has_due &&
            (err = bw_tz_format_local(tz, d->due, d->due_local, sizeof(d->due_local))) != 0)
            goto out;
    }
    out->closed = f.has_handled && !open;
out:
    bw_tz_close(tz);
    return err;
}
