/*
 * The reporting clock; see clock.h for the contract and README.md for the
 * rules with their interpretations. bw_clock_compute walks the sorted
 * timeline once to collect the instants that matter (when the incident
 * became significant or stopped being so, the first submission of each
 * report, the requests, the end of handling), then derives each deadline
 * from them, then applies a declassification, if any.
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
                                         "FINAL_REPORT"};
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
                                          "NOTE"};

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

int bw_clock_check_timeline(const bw_clock_incident_t *inc, const bw_clock_event_t *events,
                            size_t n, bw_clock_problem_t *p)
{
    char t[BW_TZ_TEXT_MAX];
    int64_t notified = 0, finished = 0, handled = 0, declassified = 0;
    int has_notified = 0, has_final = 0, has_handled = 0, has_report = 0;
    int significant = inc->significant, ever_significant = inc->significant;
    int requests = 0, answered = 0;
    for (size_t i = 0; i < n; i++) {
        const bw_clock_event_t *e = &events[i];
        switch (e->type) {
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
            if (!has_notified)
                notified = e->at;
            has_notified = has_report = 1;
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
            if (has_final)
                return refuse(p, "type", "the final report was already submitted at %s",
                              utc(finished, t));
            has_final = 1;
            finished = e->at;
            break;
        case BW_EV_HANDLING_ENDED:
            if (has_handled)
                return refuse(p, "type", "handling already ended at %s", utc(handled, t));
            has_handled = 1;
            handled = e->at;
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
} facts_t;

static void first(int *has, int64_t *at, int64_t value)
{
    if (!*has) {
        *has = 1;
        *at = value;
    }
}

static void collect(const bw_clock_incident_t *inc, const bw_clock_event_t *events, size_t n,
                    facts_t *f)
{
    memset(f, 0, sizeof(*f));
    f->significant = inc->significant;
    if (inc->significant)
        first(&f->has_start, &f->start, inc->aware_at);
    for (size_t i = 0; i < n; i++) {
        const bw_clock_event_t *e = &events[i];
        switch (e->type) {
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
    return d;
}

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

/* Deadlines of an incident that was never significant: nothing is owed. */
static void never_significant(const facts_t *f, bw_clock_result_t *r)
{
    bw_clock_deadline_t *d =
        add(r, BW_CLOCK_ORD_EARLY_WARNING, BW_DL_EARLY_WARNING, "NIS2 Art 23(4)(a)");
    set_met(d, f->has_warned, f->warned);
    d = add(r, BW_CLOCK_ORD_INCIDENT_NOTIFICATION, BW_DL_INCIDENT_NOTIFICATION,
            "NIS2 Art 23(4)(b)");
    set_met(d, f->has_notified, f->notified);
    for (int k = 0; k < f->n_requests; k++) {
        d = add(r, BW_CLOCK_ORD_INTERMEDIATE_FIRST + k, BW_DL_INTERMEDIATE_REPORT,
                "NIS2 Art 23(4)(c)");
        set_due(d, f->request_due[k], 0);
        set_met(d, k < f->n_answers, k < f->n_answers ? f->answer_at[k] : 0);
    }
    d = add(r, BW_CLOCK_ORD_FINAL_REPORT, BW_DL_FINAL_REPORT, "NIS2 Art 23(4)(d)");
    set_met(d, f->has_final, f->final);
    for (size_t i = 0; i < r->n_deadlines; i++)
        r->deadlines[i].status = BW_ST_NOT_REQUIRED;
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

    for (int k = 0; k < f->n_requests; k++) {
        d = add(r, BW_CLOCK_ORD_INTERMEDIATE_FIRST + k, BW_DL_INTERMEDIATE_REPORT,
                "NIS2 Art 23(4)(c)");
        set_due(d, f->request_due[k], 0);
        set_met(d, k < f->n_answers, k < f->n_answers ? f->answer_at[k] : 0);
    }

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
    if (!f.has_start) {
        never_significant(&f, out);
    } else {
        if ((err = significant_deadlines(inc, &f, tz, out)) != 0)
            goto out;
        for (size_t i = 0; i < out->n_deadlines; i++)
            settle(&out->deadlines[i]);
        if (f.has_end)
            declassify(f.end, out);
    }
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
