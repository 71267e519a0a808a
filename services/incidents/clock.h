/*
 * The reporting clocks as a pure function: from an incident's facts and its
 * timeline of events to the deadlines of its reports, and the checks that
 * keep a timeline consistent. One timeline holds up to two regimes: the
 * entity's own (NIS2 Art 23(4), or for an entity under DORA its Art 19 with
 * Delegated Regulation (EU) 2025/301 Art 5) and, for a personal data breach,
 * GDPR Art 33. No database, no I/O, no clock of its own: the caller passes
 * "now" where it matters. README.md next to this file states the rules with
 * their sources and the interpretations this code makes.
 *
 * Instants are microseconds since the Unix epoch (UTC). Enum values equal
 * those of bulwark.incidents.v1 (Event.Type, Event.Significance,
 * Deadline.Kind, Deadline.Status, Deadline.Regime, Incident.IncidentRegime),
 * so the handlers convert by value.
 */
#ifndef BW_INCIDENTS_CLOCK_H
#define BW_INCIDENTS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

enum bw_clock_event_type {
    BW_EV_EARLY_WARNING_SUBMITTED = 1,
    BW_EV_INCIDENT_NOTIFICATION_SUBMITTED = 2,
    BW_EV_INTERMEDIATE_REPORT_REQUESTED = 3,
    BW_EV_INTERMEDIATE_REPORT_SUBMITTED = 4,
    BW_EV_PROGRESS_REPORT_SUBMITTED = 5,
    BW_EV_FINAL_REPORT_SUBMITTED = 6,
    BW_EV_HANDLING_ENDED = 7,
    BW_EV_RECLASSIFIED = 8,
    BW_EV_NOTE = 9,
    /* DORA Art 19(4)(a)-(c): the reports of an entity under DORA. */
    BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED = 10,
    BW_EV_DORA_INTERMEDIATE_REPORT_SUBMITTED = 11,
    BW_EV_DORA_FINAL_REPORT_SUBMITTED = 12,
    /* GDPR Art 33: the notification of a personal data breach, or the
     * controller's documented finding that none is needed. */
    BW_EV_GDPR_NOTIFICATION_SUBMITTED = 13,
    BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED = 14,
};
#define BW_EV_TYPE_MAX BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED

enum bw_clock_significance {
    BW_SIG_UNSPECIFIED = 0,
    BW_SIG_SIGNIFICANT = 1,
    BW_SIG_NOT_SIGNIFICANT = 2,
};

enum bw_clock_kind {
    BW_DL_EARLY_WARNING = 1,
    BW_DL_INCIDENT_NOTIFICATION = 2,
    BW_DL_INTERMEDIATE_REPORT = 3,
    BW_DL_PROGRESS_REPORT = 4,
    BW_DL_FINAL_REPORT = 5,
    BW_DL_INITIAL_NOTIFICATION = 6,              /* DORA */
    BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION = 7, /* GDPR */
};

/* Whose rules a deadline follows (Deadline.Regime). */
enum bw_clock_regime {
    BW_RG_NIS2 = 1,
    BW_RG_DORA = 2,
    BW_RG_GDPR = 3,
};

/* The entity's incident-reporting regime (Incident.IncidentRegime), as the
 * scoping service decided it when the incident was recorded. */
enum bw_clock_reporting {
    BW_REPORTING_NIS2 = 1, /* also what 0 means */
    BW_REPORTING_DORA = 2,
    BW_REPORTING_NONE = 3, /* neither essential nor important, not under DORA */
};

enum bw_clock_status {
    BW_ST_PENDING = 1,
    BW_ST_MET = 2,
    BW_ST_MISSED = 3,
    BW_ST_OVERDUE = 4, /* only from bw_clock_status_at: a PENDING one past due */
    BW_ST_NOT_REQUIRED = 5,
};

/* Intermediate reports one incident may be asked for. */
#define BW_CLOCK_MAX_REQUESTS 32
/* Events one incident may hold. */
#define BW_CLOCK_MAX_EVENTS 1000
/* How far in the future an event may lie (clients' clocks drift). */
#define BW_CLOCK_SKEW_US (5 * 60 * BW_US_PER_SEC)
/* EW, IN, progress, the two finals and the intermediate reports (NIS2, the
 * longest), and GDPR's. */
#define BW_CLOCK_MAX_DEADLINES (6 + BW_CLOCK_MAX_REQUESTS)

/* Stable ordinal of each deadline within its incident (the order shown). */
#define BW_CLOCK_ORD_EARLY_WARNING 1
#define BW_CLOCK_ORD_INCIDENT_NOTIFICATION 2
#define BW_CLOCK_ORD_INTERMEDIATE_FIRST 10 /* + request index */
#define BW_CLOCK_ORD_PROGRESS_REPORT 90
#define BW_CLOCK_ORD_FINAL_REPORT 91         /* one month after the notification */
#define BW_CLOCK_ORD_FINAL_AFTER_HANDLING 92 /* one month after handling ended */
#define BW_CLOCK_ORD_DORA_INITIAL 51
#define BW_CLOCK_ORD_DORA_INTERMEDIATE 52
#define BW_CLOCK_ORD_DORA_FINAL 53
#define BW_CLOCK_ORD_GDPR 100

typedef struct bw_clock_incident {
    int64_t aware_at;
    int significant;              /* as recorded at creation; under DORA: major */
    int trust_service_derogation; /* a trust service provider, its trust services affected */
    const char *time_zone;        /* IANA id (borrowed) */
    int reporting;                /* BW_REPORTING_* (0: NIS2) */
    /* DORA: when the incident was classified as major, if at creation (the
     * handler requires it with significant). */
    int has_classified_major;
    int64_t classified_major_at;
    int personal_data_breach; /* GDPR Art 33 runs beside the entity's regime */
} bw_clock_incident_t;

typedef struct bw_clock_event {
    int type;   /* BW_EV_* */
    int64_t at; /* occurredAt */
    int has_due;
    int64_t due;      /* INTERMEDIATE_REPORT_REQUESTED: the requested due time */
    int significance; /* RECLASSIFIED: BW_SIG_* */
    int sequence;     /* recording order: breaks ties between equal times */
} bw_clock_event_t;

typedef struct bw_clock_deadline {
    int ordinal;
    int kind;
    int has_due;
    int64_t due;
    char due_local[BW_TZ_TEXT_MAX]; /* "" without a due time */
    int provisional;
    int status; /* PENDING, MET, MISSED or NOT_REQUIRED; never OVERDUE */
    int has_met;
    int64_t met;       /* the first submission */
    const char *basis; /* static */
    int regime;        /* BW_RG_* */
    const char *note;  /* static; "" when the basis says it all */
    /* When the deadline applies: from shown_from on, and before shown_until
     * (each when set). Set only while it is open whether handling will have
     * ended when the final report falls due: see bw_clock_compute. */
    int has_shown_from, has_shown_until;
    int64_t shown_from, shown_until;
} bw_clock_deadline_t;

typedef struct bw_clock_result {
    bw_clock_deadline_t deadlines[BW_CLOCK_MAX_DEADLINES];
    size_t n_deadlines; /* in ordinal order */
    int significant;    /* after the last reclassification */
    int has_clock_start;
    int64_t clock_start;
    int has_handling_ended;
    int64_t handling_ended;
    int closed; /* handling ended and no deadline PENDING */
} bw_clock_result_t;

/* A refused event: the JSON field to blame and why, PostgreSQL style. */
typedef struct bw_clock_problem {
    const char *field; /* "occurredAt", "type", "dueAt" or "significance" (static) */
    char message[256];
} bw_clock_problem_t;

/* Sorts events by time, then sequence: the order every function here wants. */
void bw_clock_sort(bw_clock_event_t *events, size_t n);

/*
 * Checks one new event on its own: a known type of the incident's regimes
 * (no NIS2 report under DORA, no DORA report outside it, no GDPR event
 * without a personal data breach), occurredAt neither before the incident's
 * awareAt nor more than BW_CLOCK_SKEW_US after now, a dueAt after occurredAt
 * on an intermediate-report request and nowhere else, a significance on
 * RECLASSIFIED and nowhere else. Returns 0, or BW_EINVAL with *problem
 * filled.
 */
int bw_clock_check_event(const bw_clock_incident_t *inc, const bw_clock_event_t *ev, int64_t now,
                         bw_clock_problem_t *problem);

/*
 * Checks that a sorted timeline tells a possible story: no early warning
 * after the notification, no final report before the notification or twice,
 * no progress report before the notification or after the final report, no
 * intermediate report without an open request (nor a request before any
 * report reached the authority, nor more than BW_CLOCK_MAX_REQUESTS), one
 * HANDLING_ENDED, and reclassifications that change the classification and
 * never make a declassified incident significant again. Under DORA: no
 * intermediate report before the initial notification nor after the final
 * report, no initial notification after an intermediate report, one final
 * report, after an intermediate report. GDPR: no finding that no
 * notification is needed after a notification, and one such finding.
 * Returns 0, or BW_EINVAL with *problem describing the first contradiction.
 */
int bw_clock_check_timeline(const bw_clock_incident_t *inc, const bw_clock_event_t *events,
                            size_t n, bw_clock_problem_t *problem);

/*
 * The deadlines of an incident whose sorted timeline passed
 * bw_clock_check_timeline. BW_EINVAL for an unknown time zone, BW_EINTERNAL
 * when ICU fails, BW_ENOMEM.
 *
 * The result does not depend on the time it is computed at. The one rule
 * that depends on time passing (a progress report instead of the final
 * report when handling has not ended by the final report's due time F)
 * yields, while no event has decided it, both alternatives: the final report
 * due at F shown until F, and from F on the progress report due at F and the
 * final report due one month after handling ends. bw_clock_visible picks
 * the ones that apply at a given time.
 */
int bw_clock_compute(const bw_clock_incident_t *inc, const bw_clock_event_t *events, size_t n,
                     bw_clock_result_t *out);

/* Whether d applies at now. */
int bw_clock_visible(const bw_clock_deadline_t *d, int64_t now);

/* The status a client sees at now: PENDING past its due time is OVERDUE. */
int bw_clock_status_at(int status, int has_due, int64_t due, int64_t now);

/* Names as in the contract ("EARLY_WARNING", "PENDING", "HANDLING_ENDED",
 * "DORA", "NONE"); NULL for values out of range. */
const char *bw_clock_kind_name(int kind);
const char *bw_clock_status_name(int status);
const char *bw_clock_event_name(int type);
const char *bw_clock_regime_name(int regime);
const char *bw_clock_reporting_name(int reporting);
/* The value of a name, 0 when unknown. */
int bw_clock_kind_value(const char *name);
int bw_clock_status_value(const char *name);
int bw_clock_event_value(const char *name);
int bw_clock_regime_value(const char *name);
int bw_clock_reporting_value(const char *name);

#endif
