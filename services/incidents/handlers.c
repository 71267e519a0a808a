/*
 * IncidentsService handlers; see handlers.h. Each handler validates what the
 * client sent (naming the JSON field), runs its statements (records.c) and
 * builds the reply on the call's arena.
 *
 * Appending an event is the one multi-statement transaction: it locks the
 * incident row first and reads the events only then, in a statement of its
 * own, so that of two appends to one incident the second waits and then
 * validates against a timeline that includes the first (in READ COMMITTED a
 * statement that waits for a row lock still reads other tables as of its
 * start, hence the separate read).
 */
#include "handlers.h"

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "clock.h"
#include "ids.h"
#include "list.h"
#include "outbox.h"
#include "records.h"
#include "service.h"
#include "status.h"
#include "store.h"
#include "tz.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* clock.h's enums carry the contract's values, so conversion is a cast. */
#define SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " equals " #b)
SAME(BULWARK__INCIDENTS__V1__EVENT__TYPE__EARLY_WARNING_SUBMITTED, BW_EV_EARLY_WARNING_SUBMITTED);
SAME(BULWARK__INCIDENTS__V1__EVENT__TYPE__NOTE, BW_EV_NOTE);
SAME(BULWARK__INCIDENTS__V1__EVENT__TYPE__RECLASSIFIED, BW_EV_RECLASSIFIED);
SAME(BULWARK__INCIDENTS__V1__EVENT__SIGNIFICANCE__SIGNIFICANT, BW_SIG_SIGNIFICANT);
SAME(BULWARK__INCIDENTS__V1__EVENT__SIGNIFICANCE__NOT_SIGNIFICANT, BW_SIG_NOT_SIGNIFICANT);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__KIND__EARLY_WARNING, BW_DL_EARLY_WARNING);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__KIND__FINAL_REPORT, BW_DL_FINAL_REPORT);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__STATUS__PENDING, BW_ST_PENDING);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__STATUS__OVERDUE, BW_ST_OVERDUE);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__STATUS__NOT_REQUIRED, BW_ST_NOT_REQUIRED);
SAME(BULWARK__INCIDENTS__V1__EVENT__TYPE__DORA_INITIAL_NOTIFICATION_SUBMITTED,
     BW_EV_DORA_INITIAL_NOTIFICATION_SUBMITTED);
SAME(BULWARK__INCIDENTS__V1__EVENT__TYPE__GDPR_NOTIFICATION_NOT_REQUIRED,
     BW_EV_GDPR_NOTIFICATION_NOT_REQUIRED);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__KIND__PERSONAL_DATA_BREACH_NOTIFICATION,
     BW_DL_PERSONAL_DATA_BREACH_NOTIFICATION);
SAME(BULWARK__INCIDENTS__V1__DEADLINE__REGIME__GDPR, BW_RG_GDPR);
SAME(BULWARK__INCIDENTS__V1__INCIDENT__INCIDENT_REGIME__NONE, BW_REPORTING_NONE);
SAME(BULWARK__SCOPING__V1__INCIDENT_REGIME__NIS2, BW_REPORTING_NIS2);
SAME(BULWARK__SCOPING__V1__INCIDENT_REGIME__DORA, BW_REPORTING_DORA);
SAME(BULWARK__SCOPING__V1__INCIDENT_REGIME__NONE, BW_REPORTING_NONE);

#define INCIDENTS_SCOPE "incidents"
#define DEADLINES_SCOPE "deadlines"
#define ZERO_UUID "00000000-0000-0000-0000-000000000000"

typedef Bulwark__Incidents__V1__Incident incident_t;
typedef Bulwark__Incidents__V1__Event event_t;

static int not_found(bw_call_t *call, const char *id)
{
    return bw_call_fail(call, BW_ENOTFOUND, "INCIDENT_NOT_FOUND", "incident %s not found", id);
}

static const char *bool_param(int b)
{
    return b ? "t" : "f";
}

/* An optional instant as a parameter: '' for none. */
static const char *time_param(bw_call_t *call, int has, int64_t at)
{
    return has ? bw_records_param_time(call->arena, at) : "";
}

/* ---- events --------------------------------------------------- */

/* Appends an event about the incident to the outbox, in the request
 * transaction, with the origin the caller declared (bw_call_origin). */
static int announce(bw_call_t *call, const char *incident, const char *type,
                    const ProtobufCMessage *data)
{
    const char *resource = bw_arena_printf(call->arena, "incidents/%s", incident);
    if (resource == NULL)
        return BW_ENOMEM;
    return bw_outbox_emit(call, bw_service_db(call), type, resource, bw_call_origin(call), data);
}

/* ---- create ---------------------------------------------------------------- */

/* The times a client sends with a new incident, as microseconds. */
typedef struct new_times {
    int64_t aware, detected, classified;
    int has_detected, has_classified;
} new_times_t;

/* Checks the fields a client sets; adds a violation per problem. */
static int check_new_incident(bw_call_t *call, const incident_t *in, int64_t now, new_times_t *t)
{
    int64_t *aware = &t->aware, *detected = &t->detected;
    int *has_detected = &t->has_detected;
    int bad = 0;
    if (in->entity[0] == '\0')
        bad |= bw_call_violation(call, "entity", "is required") != 0;
    else if (!bw_uuid_valid(in->entity))
        bad |= bw_call_violation(call, "entity", "must be the id of an entity (a UUID)") != 0;
    size_t title = bw_utf8_count(in->title);
    if (title == 0)
        bad |= bw_call_violation(call, "title", "is required") != 0;
    else if (title > BW_INCIDENT_TITLE_MAX)
        bad |= bw_call_violation(call, "title", "must be at most %d characters",
                                 BW_INCIDENT_TITLE_MAX) != 0;
    int aware_ok = 0;
    if (in->aware_at == NULL)
        bad |= bw_call_violation(call, "awareAt",
                                 "is required: when the entity became aware of the incident") != 0;
    else if (bw_records_us(in->aware_at, aware) != 0)
        bad |= bw_call_violation(call, "awareAt", "must be between 2000 and 9000") != 0;
    else if (*aware > now + BW_CLOCK_SKEW_US)
        bad |= bw_call_violation(call, "awareAt", "is in the future") != 0;
    else
        aware_ok = 1;
    *has_detected = in->detected_at != NULL;
    if (*has_detected) {
        if (bw_records_us(in->detected_at, detected) != 0)
            bad |= bw_call_violation(call, "detectedAt", "must be between 2000 and 9000") != 0;
        else if (aware_ok && *detected > *aware)
            bad |= bw_call_violation(call, "detectedAt",
                                     "must not be after awareAt: an incident is detected before "
                                     "or when the entity becomes aware of it") != 0;
    }
    t->has_classified = in->classified_major_at != NULL;
    if (t->has_classified) {
        if (bw_records_us(in->classified_major_at, &t->classified) != 0)
            bad |=
                bw_call_violation(call, "classifiedMajorAt", "must be between 2000 and 9000") != 0;
        else if (aware_ok && t->classified < *aware)
            bad |= bw_call_violation(call, "classifiedMajorAt",
                                     "must not be before awareAt: an incident is classified once "
                                     "the entity is aware of it") != 0;
        else if (t->classified > now + BW_CLOCK_SKEW_US)
            bad |= bw_call_violation(call, "classifiedMajorAt", "is in the future") != 0;
    }
    if (in->time_zone[0] != '\0' && !bw_tz_valid(in->time_zone))
        bad |= bw_call_violation(call, "timeZone",
                                 "must be an IANA time zone such as \"Europe/Berlin\"") != 0;
    if (bw_utf8_count(in->external_ref) > BW_INCIDENT_REF_MAX)
        bad |= bw_call_violation(call, "externalRef", "must be at most %d characters",
                                 BW_INCIDENT_REF_MAX) != 0;
    return bad ? BW_EINVAL : 0;
}

int bw_incidents_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__CreateIncidentRequest *req = (const void *)request;
    static const incident_t empty = BULWARK__INCIDENTS__V1__INCIDENT__INIT;
    const incident_t *in = req->incident != NULL ? req->incident : &empty;
    const bw_incidents_service_t *svc = bw_service_data(call);
    int64_t now = bw_records_now();
    new_times_t t;
    memset(&t, 0, sizeof(t));
    int err = check_new_incident(call, in, now, &t);
    if (err != 0)
        return err;

    /* Before any write: a 503 here leaves nothing behind. One call gives the
     * entity and its reporting regime. */
    bw_entity_info_t entity;
    err = bw_scoping_client_entity_full(svc->scoping, call, in->entity, &entity);
    if (err == BW_ENOTFOUND)
        return bw_call_violation(call, "entity", "no entity with this id");
    if (err == BW_EUNAVAIL)
        return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                            "the scoping service is unavailable; nothing was recorded");
    if (err == BW_EPRECOND)
        return bw_call_violation(call, "entity",
                                 "its stored scoping facts no longer pass the scoping checks, so "
                                 "its reporting regime cannot be decided; correct them first (its "
                                 "classification names the fields)");
    if (err != 0)
        return err;
    int reporting = (int)entity.applicability->incident_regime;
    if (bw_clock_reporting_name(reporting) == NULL)
        return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                            "the scoping service gave no reporting regime; nothing was recorded");
    int significant = in->significant || t.has_classified;
    if (t.has_classified && reporting != BW_REPORTING_DORA)
        return bw_call_violation(call, "classifiedMajorAt",
                                 "is only for an entity under DORA (its major incidents, DORA "
                                 "Art 18-19); this entity's reporting regime is %s",
                                 bw_clock_reporting_name(reporting));
    if (significant && reporting == BW_REPORTING_DORA && !t.has_classified)
        return bw_call_violation(call, "classifiedMajorAt",
                                 "is required for a significant incident of an entity under "
                                 "DORA: the initial notification runs from the classification "
                                 "as major (Delegated Regulation (EU) 2025/301 Art 5)");
    if (in->trust_service_impact && !entity.trust_service_provider)
        return bw_call_violation(call, "trustServiceImpact",
                                 "the entity provides no trust service (no activity of type "
                                 "digital_infra.tsp)");
    const char *zone = in->time_zone[0] != '\0' ? in->time_zone : entity.time_zone;
    if (!bw_tz_valid(zone))
        return bw_call_violation(call, "timeZone",
                                 "is required: the entity's time zone \"%s\" is not usable", zone);

    bw_clock_incident_t ci = {.aware_at = t.aware,
                              .significant = significant,
                              .trust_service_derogation =
                                  in->trust_service_impact && entity.trust_service_provider,
                              .time_zone = zone,
                              .reporting = reporting,
                              .has_classified_major = t.has_classified,
                              .classified_major_at = t.classified,
                              .personal_data_breach = in->personal_data_breach};
    bw_clock_result_t *r = bw_arena_alloc(call->arena, sizeof(*r));
    if (r == NULL)
        return BW_ENOMEM;
    if ((err = bw_clock_compute(&ci, NULL, 0, r)) != 0)
        return err;
    char id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    const char *values[] = {id,
                            in->entity,
                            in->title,
                            bw_records_param_time(call->arena, t.aware),
                            time_param(call, t.has_detected, t.detected),
                            zone,
                            bool_param(significant),
                            bool_param(in->trust_service_impact),
                            bool_param(entity.trust_service_provider),
                            in->external_ref,
                            bool_param(r->significant),
                            bw_records_state(r),
                            time_param(call, r->has_clock_start, r->clock_start),
                            bw_records_deadlines_param(call->arena, r),
                            bw_clock_reporting_name(reporting),
                            time_param(call, t.has_classified, t.classified),
                            bool_param(in->personal_data_breach)};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if (values[i] == NULL)
            return BW_ENOMEM;
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &bw_stmt_incident_insert,
                      17, values, &res);
    if (err != 0)
        return err;
    incident_t *out;
    if ((err = bw_records_incident(call->arena, res, 0, &out)) != 0 ||
        (err = bw_records_deadlines_pb(call->arena, r, now, out, NULL)) != 0 ||
        (err = announce(call, out->id, "incident.created", &out->base)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}

/* ---- get and list ---------------------------------------------------------- */

/* Appends the deadline of row (if the row has one) to inc. */
static int add_deadline_row(bw_call_t *call, const PGresult *res, int row, int64_t now,
                            incident_t *inc, size_t cap)
{
    if (PQgetisnull(res, row, BW_N_INCIDENT_COLS + BW_DCOL_ORDINAL) || inc->n_deadlines == cap ||
        !bw_records_deadline_visible(res, row, BW_N_INCIDENT_COLS, now))
        return 0;
    Bulwark__Incidents__V1__Deadline *d;
    int err = bw_records_deadline(call->arena, res, row, BW_N_INCIDENT_COLS, now, &d);
    if (err != 0)
        return err;
    inc->deadlines[inc->n_deadlines++] = d;
    return 0;
}

/* The incident of a bw_stmt_incident_get result with its deadlines as of
 * now; NOT_FOUND for no row. */
static int incident_of(bw_call_t *call, PGresult *res, const char *id, incident_t **out)
{
    int n = PQntuples(res);
    if (n == 0)
        return not_found(call, id);
    incident_t *inc;
    int err = bw_records_incident(call->arena, res, 0, &inc);
    if (err != 0)
        return err;
    inc->deadlines = bw_arena_calloc(call->arena, (size_t)n, sizeof(*inc->deadlines));
    if (inc->deadlines == NULL)
        return BW_ENOMEM;
    int64_t now = bw_records_now();
    for (int i = 0; i < n; i++)
        if ((err = add_deadline_row(call, res, i, now, inc, (size_t)n)) != 0)
            return err;
    *out = inc;
    return 0;
}

int bw_incidents_get_ahead(const bw_call_t *call, const ProtobufCMessage *request,
                           bw_db_ahead_t *out)
{
    const Bulwark__Incidents__V1__GetIncidentRequest *req = (const void *)request;
    return bw_store_uuid_ahead(&bw_stmt_incident_get, call->tenant_id, req->id, out);
}

int bw_incidents_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__GetIncidentRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return not_found(call, req->id);
    const char *id = req->id;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &bw_stmt_incident_get,
                          1, &id, &res);
    incident_t *inc;
    if (err != 0 || (err = incident_of(call, res, id, &inc)) != 0)
        return err;
    *resp = &inc->base;
    return 0;
}

/* SetExternalRef (internal: the integrations service, for the ticket it
 * opened). Sets an empty externalRef, leaves the same one as it is, and
 * refuses to replace another: the incident may already name a ticket of
 * another system, set by a user or another connection, and overwriting it
 * silently would lose that link. A change bumps the revision and is
 * announced as incident.updated with the caller's origin, which keeps it
 * from going back to the ticket system it came from. */
int bw_incidents_set_external_ref(bw_call_t *call, const ProtobufCMessage *request,
                                  ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__SetExternalRefRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->incident))
        return not_found(call, req->incident);
    if (req->external_ref[0] == '\0')
        return bw_call_violation(call, "externalRef", "must not be empty");
    if (bw_utf8_count(req->external_ref) > BW_INCIDENT_REF_MAX)
        return bw_call_violation(call, "externalRef", "must be at most %d characters",
                                 BW_INCIDENT_REF_MAX);
    bw_db_t *db = bw_service_db(call);
    const char *id = req->incident;
    PGresult *locked, *res;
    int err = bw_db_exec(db, call->arena, &bw_stmt_incident_lock, 1, &id, &locked);
    if (err != 0)
        return err;
    if (PQntuples(locked) == 0)
        return not_found(call, id);
    const char *current = PQgetvalue(locked, 0, BW_COL_EXTERNAL_REF);
    int change = current[0] == '\0';
    if (!change && strcmp(current, req->external_ref) != 0)
        return bw_call_fail(call, BW_EPRECOND, "EXTERNAL_REF_SET",
                            "incident %s already refers to \"%s\": left as it is", id, current);
    const char *values[] = {id, req->external_ref};
    if (change &&
        (err = bw_db_exec(db, call->arena, &bw_stmt_incident_set_ref, 2, values, NULL)) != 0)
        return err;
    incident_t *inc;
    if ((err = bw_db_exec(db, call->arena, &bw_stmt_incident_get, 1, &id, &res)) != 0 ||
        (err = incident_of(call, res, id, &inc)) != 0)
        return err;
    if (change && (err = announce(call, id, "incident.updated", &inc->base)) != 0)
        return err;
    *resp = &inc->base;
    return 0;
}

/* ListIncidents: orders, filters and updatedSince of list.h. */
static const char *const state_values[] = {"OPEN", "CLOSED", NULL};
/* The reporting regime the incident runs under (incidentRegime). */
static const char *const regime_values[] = {"NIS2", "DORA", "NONE", NULL};
enum { FILTER_ENTITY, FILTER_STATE, FILTER_SIGNIFICANT, FILTER_REGIME };
static const bw_list_filter_t list_filters[] = {
    {"entity", BW_LIST_UUID, NULL, 0},
    {"state", BW_LIST_ENUM, state_values, 0},
    {"significant", BW_LIST_BOOL, NULL, 0},
    {"incidentRegime", BW_LIST_ENUM, regime_values, 0},
};
static const bw_list_order_t list_orders[] = {
    {"createTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(bw_stmt_incidents_by_create)},
    {"updateTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(bw_stmt_incidents_by_update)},
    {"awareAt", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(bw_stmt_incidents_by_aware)},
};
static const bw_list_spec_t list_spec = {
    .name = INCIDENTS_SCOPE,
    .id = BW_LIST_ID_UUID,
    BW_LIST_ORDERS(list_orders),
    .since_order = 1,
    BW_LIST_FILTERS(list_filters),
};

int bw_incidents_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__ListIncidentsRequest *req = (const void *)request;
    bw_list_query_t q = BW_LIST_QUERY(req);
    int bad = 0;
    if (req->entity[0] != '\0' && !bw_uuid_valid(req->entity))
        bad |= bw_call_violation(call, "entity", "must be the id of an entity (a UUID)") != 0;
    else if (req->entity[0] != '\0')
        q.params[FILTER_ENTITY] = req->entity;
    if (req->state == BULWARK__INCIDENTS__V1__INCIDENT__STATE__OPEN)
        q.params[FILTER_STATE] = "OPEN";
    else if (req->state == BULWARK__INCIDENTS__V1__INCIDENT__STATE__CLOSED)
        q.params[FILTER_STATE] = "CLOSED";
    else if (req->state != BULWARK__INCIDENTS__V1__INCIDENT__STATE__STATE_UNSPECIFIED)
        bad |= bw_call_violation(call, "state", "must be OPEN or CLOSED") != 0;
    bw_list_t list;
    PGresult *res;
    int err = bw_list_page(call, bw_service_db(call), &list_spec, &q, bad, NULL, 0, &list, &res);
    if (err != 0)
        return err;

    int n = PQntuples(res);
    Bulwark__Incidents__V1__ListIncidentsResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__list_incidents_response__init(out);
    out->incidents = bw_arena_calloc(call->arena, (size_t)list.size + 1, sizeof(*out->incidents));
    if (out->incidents == NULL)
        return BW_ENOMEM;
    /* Rows come grouped by incident, a row per deadline: one more incident
     * than the page holds means more follow. */
    int64_t now = bw_records_now();
    int seen = 0, last_row = -1;
    const char *last = "";
    incident_t *inc = NULL;
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, BW_COL_ID);
        if (inc == NULL || strcmp(id, last) != 0) {
            if (++seen > list.size)
                break;
            if ((err = bw_records_incident(call->arena, res, i, &inc)) != 0)
                return err;
            inc->deadlines =
                bw_arena_calloc(call->arena, BW_CLOCK_MAX_DEADLINES, sizeof(*inc->deadlines));
            if (inc->deadlines == NULL)
                return BW_ENOMEM;
            out->incidents[out->n_incidents++] = inc;
            last = id;
        }
        last_row = i;
        if ((err = add_deadline_row(call, res, i, now, inc, BW_CLOCK_MAX_DEADLINES)) != 0)
            return err;
    }
    if ((err = bw_list_next_token(call, &list, res, seen, last_row, &out->next_page_token)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}

/* ---- events ------------------------------------------------------------------ */

/* The new event as the clock sees it; violations for fields out of range. */
static int new_event(bw_call_t *call, const event_t *in, int64_t now, bw_clock_event_t *ev)
{
    int bad = 0;
    memset(ev, 0, sizeof(*ev));
    ev->type = (int)in->type;
    ev->significance = (int)in->significance;
    ev->at = now;
    if (in->occurred_at != NULL && bw_records_us(in->occurred_at, &ev->at) != 0)
        bad |= bw_call_violation(call, "occurredAt", "must be between 2000 and 9000") != 0;
    ev->has_due = in->due_at != NULL;
    if (ev->has_due && bw_records_us(in->due_at, &ev->due) != 0)
        bad |= bw_call_violation(call, "dueAt", "must be between 2000 and 9000") != 0;
    size_t note = bw_utf8_count(in->note);
    if (note > BW_EVENT_NOTE_MAX)
        bad |= bw_call_violation(call, "note", "must be at most %d characters",
                                 BW_EVENT_NOTE_MAX) != 0;
    else if (note == 0 && in->type == BULWARK__INCIDENTS__V1__EVENT__TYPE__NOTE)
        bad |= bw_call_violation(call, "note", "is required on a NOTE event") != 0;
    else if (note == 0 &&
             in->type == BULWARK__INCIDENTS__V1__EVENT__TYPE__GDPR_NOTIFICATION_NOT_REQUIRED)
        bad |= bw_call_violation(call, "note",
                                 "is required: why the breach is unlikely to result in a risk to "
                                 "the rights and freedoms of natural persons (GDPR Art 33(5) has "
                                 "the controller document it)") != 0;
    return bad ? BW_EINVAL : 0;
}

static const char *significance_param(int s)
{
    return s == BW_SIG_SIGNIFICANT       ? "SIGNIFICANT"
           : s == BW_SIG_NOT_SIGNIFICANT ? "NOT_SIGNIFICANT"
                                         : "";
}

/* Inside the append transaction: validate against the stored timeline,
 * recompute, write. *now is read again once the incident is locked: an
 * event without a time of its own happens when it is recorded, after any
 * append it waited for, not when its request arrived. *res gets the
 * incident's and the event's columns. */
static int append_locked(bw_call_t *call, bw_db_t *db, const char *incident, const event_t *in,
                         bw_clock_event_t *ev, int64_t *now_io, bw_clock_result_t *r,
                         PGresult **res)
{
    PGresult *locked, *stored;
    int err = bw_db_exec(db, call->arena, &bw_stmt_incident_lock_all, 1, &incident, &locked);
    if (err != 0)
        return err;
    if (PQntuples(locked) == 0)
        return not_found(call, incident);
    int64_t now = *now_io = bw_records_now();
    if (in->occurred_at == NULL)
        ev->at = now;
    /* An event changes the incident (its revision, deadlines and state):
     * If-Match is compared with the locked row, before anything is read. */
    if ((err = bw_store_check_etag(call, PQgetvalue(locked, 0, BW_COL_ID),
                                   strtoll(PQgetvalue(locked, 0, BW_COL_REVISION), NULL, 10))) != 0)
        return err;
    bw_clock_incident_t ci;
    bw_records_clock_incident(locked, 0, &ci);
    bw_clock_problem_t problem;
    if (bw_clock_check_event(&ci, ev, now, &problem) != 0)
        return bw_call_violation(call, problem.field, "%s", problem.message);
    if (strtol(PQgetvalue(locked, 0, BW_COL_EVENT_COUNT), NULL, 10) >= BW_CLOCK_MAX_EVENTS)
        return bw_call_fail(call, BW_EPRECOND, "TOO_MANY_EVENTS",
                            "incident %s already holds %d events, the most one may", incident,
                            BW_CLOCK_MAX_EVENTS);
    if ((err = bw_db_exec(db, call->arena, &bw_stmt_events_of, 1, &incident, &stored)) != 0)
        return err;
    int n = PQntuples(stored);
    bw_clock_event_t *events = bw_arena_calloc(call->arena, (size_t)n + 1, sizeof(*events));
    if (events == NULL)
        return BW_ENOMEM;
    int sequence = 0;
    for (int i = 0; i < n; i++) {
        bw_records_clock_event(stored, i, 0, &events[i]);
        if (events[i].sequence > sequence)
            sequence = events[i].sequence;
    }
    ev->sequence = sequence + 1;
    events[n] = *ev;
    bw_clock_sort(events, (size_t)n + 1);
    if (bw_clock_check_timeline(&ci, events, (size_t)n + 1, &problem) != 0)
        return bw_call_violation(call, problem.field, "%s", problem.message);
    if ((err = bw_clock_compute(&ci, events, (size_t)n + 1, r)) != 0)
        return err;

    char id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    const char *values[] = {incident,
                            bw_arena_printf(call->arena, "%d", ev->sequence),
                            id,
                            bw_clock_event_name(ev->type),
                            bw_records_param_time(call->arena, ev->at),
                            time_param(call, ev->has_due, ev->due),
                            significance_param(ev->significance),
                            in->note,
                            call->principal != NULL ? call->principal : "",
                            call->request_id != NULL ? call->request_id : "",
                            bool_param(r->significant),
                            bw_records_state(r),
                            time_param(call, r->has_clock_start, r->clock_start),
                            time_param(call, r->has_handling_ended, r->handling_ended),
                            bw_records_deadlines_param(call->arena, r)};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if (values[i] == NULL)
            return BW_ENOMEM;
    return bw_db_exec(db, call->arena, &bw_stmt_event_append, 15, values, res);
}

int bw_incidents_append_event(bw_call_t *call, const ProtobufCMessage *request,
                              ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__AppendEventRequest *req = (const void *)request;
    static const event_t empty = BULWARK__INCIDENTS__V1__EVENT__INIT;
    const event_t *in = req->event != NULL ? req->event : &empty;
    if (!bw_uuid_valid(req->incident))
        return not_found(call, req->incident);
    int64_t now = bw_records_now();
    bw_clock_event_t ev;
    int err = new_event(call, in, now, &ev);
    if (err != 0)
        return err;
    bw_clock_result_t *r = bw_arena_alloc(call->arena, sizeof(*r));
    if (r == NULL)
        return BW_ENOMEM;

    bw_db_t *db = bw_service_db(call);
    PGresult *res = NULL;
    if ((err = bw_db_begin(db, call->tenant_id)) != 0)
        return err;
    err = append_locked(call, db, req->incident, in, &ev, &now, r, &res);
    if (err == 0)
        err = bw_db_commit(db);
    if (err != 0) {
        bw_db_rollback(db);
        return err;
    }

    Bulwark__Incidents__V1__AppendEventResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__append_event_response__init(out);
    if ((err = bw_records_incident(call->arena, res, 0, &out->incident)) != 0 ||
        (err = bw_records_deadlines_pb(call->arena, r, now, out->incident, NULL)) != 0 ||
        (err = bw_records_event(call->arena, res, 0, BW_N_INCIDENT_COLS, &out->event)) != 0)
        return err;
    /* Still in the request transaction (the append above was a savepoint):
     * the event, then the incident it changed (revision, deadlines, state),
     * in the order a receiver should see them. The alerts of its new
     * deadlines were planned with them (records.c). */
    if ((err = announce(call, out->incident->id, "incident.event_appended", &out->base)) != 0 ||
        (err = announce(call, out->incident->id, "incident.updated", &out->incident->base)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}

/* ---- timeline ---------------------------------------------------------------- */

typedef Bulwark__Incidents__V1__Timeline__Entry entry_t;

/* Entries by time; undated deadlines last; at equal times events first, in
 * recording order, then deadlines in their order. */
typedef struct sort_entry {
    entry_t *entry;
    int has_time;
    int64_t at;
    int rank; /* events 0, deadlines 1 */
    int order;
} sort_entry_t;

static int compare_entries(const void *a, const void *b)
{
    const sort_entry_t *x = a, *y = b;
    if (x->has_time != y->has_time)
        return y->has_time - x->has_time;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return x->order - y->order;
}

int bw_incidents_timeline(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__GetTimelineRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->incident))
        return not_found(call, req->incident);
    const char *id = req->incident;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &bw_stmt_timeline, 1,
                          &id, &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res);
    if (rows == 0)
        return not_found(call, id);

    /* The deadlines are recomputed from the events read in this same
     * snapshot: the function that wrote the stored ones, so they agree. */
    int first = BW_N_INCIDENT_COLS;
    int n = PQgetisnull(res, 0, first + BW_ECOL_SEQUENCE) ? 0 : rows;
    bw_clock_event_t *events = bw_arena_calloc(call->arena, (size_t)n + 1, sizeof(*events));
    sort_entry_t *sorted =
        bw_arena_calloc(call->arena, (size_t)n + BW_CLOCK_MAX_DEADLINES, sizeof(*sorted));
    bw_clock_result_t *r = bw_arena_alloc(call->arena, sizeof(*r));
    Bulwark__Incidents__V1__Timeline *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (events == NULL || sorted == NULL || r == NULL || out == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__timeline__init(out);
    out->incident = (char *)id;
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        bw_records_clock_event(res, i, first, &events[i]);
        entry_t *e = bw_arena_alloc(call->arena, sizeof(*e));
        if (e == NULL)
            return BW_ENOMEM;
        bulwark__incidents__v1__timeline__entry__init(e);
        e->item_case = BULWARK__INCIDENTS__V1__TIMELINE__ENTRY__ITEM_EVENT;
        if ((err = bw_records_event(call->arena, res, i, first, &e->event)) != 0)
            return err;
        e->time = e->event->occurred_at;
        sorted[count++] = (sort_entry_t){e, 1, events[i].at, 0, events[i].sequence};
    }
    bw_clock_incident_t ci;
    bw_records_clock_incident(res, 0, &ci);
    bw_clock_sort(events, (size_t)n);
    if ((err = bw_clock_compute(&ci, events, (size_t)n, r)) != 0)
        return err;
    incident_t holder = BULWARK__INCIDENTS__V1__INCIDENT__INIT;
    size_t index[BW_CLOCK_MAX_DEADLINES];
    if ((err = bw_records_deadlines_pb(call->arena, r, bw_records_now(), &holder, index)) != 0)
        return err;
    for (size_t i = 0; i < holder.n_deadlines; i++) {
        const bw_clock_deadline_t *c = &r->deadlines[index[i]];
        entry_t *e = bw_arena_alloc(call->arena, sizeof(*e));
        if (e == NULL)
            return BW_ENOMEM;
        bulwark__incidents__v1__timeline__entry__init(e);
        e->item_case = BULWARK__INCIDENTS__V1__TIMELINE__ENTRY__ITEM_DEADLINE;
        e->deadline = holder.deadlines[i];
        e->time = e->deadline->due_at;
        sorted[count++] = (sort_entry_t){e, c->has_due, c->due, 1, (int)i};
    }
    qsort(sorted, count, sizeof(*sorted), compare_entries);
    out->entries = bw_arena_calloc(call->arena, count + 1, sizeof(*out->entries));
    if (out->entries == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < count; i++)
        out->entries[i] = sorted[i].entry;
    out->n_entries = count;
    *resp = &out->base;
    return 0;
}

/* ---- the tenant's open deadlines ------------------------------------------ */

/* Page keys are "<due µs>,<incident>,<ordinal>". */
static int parse_key(const char *key, int64_t *due, char incident[BW_UUID_STR_LEN + 1],
                     long *ordinal)
{
    char *end;
    *due = strtoll(key, &end, 10);
    if (end == key || *end != ',' || strlen(end + 1) < BW_UUID_STR_LEN + 2 || *due < BW_TZ_MIN_US ||
        *due > BW_TZ_MAX_US)
        return BW_EINVAL;
    memcpy(incident, end + 1, BW_UUID_STR_LEN);
    incident[BW_UUID_STR_LEN] = '\0';
    const char *rest = end + 1 + BW_UUID_STR_LEN;
    if (*rest != ',' || !bw_uuid_valid(incident))
        return BW_EINVAL;
    *ordinal = strtol(rest + 1, &end, 10);
    return end == rest + 1 || *end != '\0' ? BW_EINVAL : 0;
}

int bw_incidents_list_deadlines(bw_call_t *call, const ProtobufCMessage *request,
                                ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__ListDeadlinesRequest *req = (const void *)request;
    int bad = 0, has_before = req->due_before != NULL;
    int64_t before = 0, now = bw_records_now();
    if (has_before && bw_records_us(req->due_before, &before) != 0)
        bad |= bw_call_violation(call, "dueBefore",
                                 "must be an RFC 3339 time such as \"2025-06-30T00:00:00Z\"") != 0;
    int status = (int)req->status;
    if (status != 0 && status != BW_ST_PENDING && status != BW_ST_OVERDUE)
        bad |= bw_call_violation(call, "status",
                                 "must be PENDING or OVERDUE: the list holds open deadlines") != 0;
    const char *regime = bw_clock_regime_name((int)req->regime);
    if (req->regime != 0 && regime == NULL)
        bad |= bw_call_violation(call, "regime", "must be NIS2, DORA or GDPR") != 0;
    bw_page_t page;
    int err = bw_store_page(call, DEADLINES_SCOPE, req->page_size, req->page_token, &page);
    if (err != 0)
        return err;
    int64_t key_due = 0;
    long key_ordinal = 0;
    char key_incident[BW_UUID_STR_LEN + 1] = ZERO_UUID;
    if (page.after[0] != '\0' && parse_key(page.after, &key_due, key_incident, &key_ordinal) != 0)
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    if (bad)
        return BW_EINVAL;

    /* PENDING is due at now or later, OVERDUE before now (as
     * bw_clock_status_at decides), both before dueBefore. PENDING's lower
     * bound, now, becomes the key when the page token's key is earlier
     * (ZERO_UUID sorts before every id, so due_at = now is in). */
    int has_key = page.after[0] != '\0';
    if (status == BW_ST_PENDING && (!has_key || key_due < now)) {
        has_key = 1;
        key_due = now;
        snprintf(key_incident, sizeof(key_incident), "%s", ZERO_UUID);
        key_ordinal = 0;
    }
    int has_to = has_before || status == BW_ST_OVERDUE;
    int64_t to_at = status == BW_ST_OVERDUE && (!has_before || now < before) ? now : before;
    const char *values[] = {has_to ? bw_records_param_time(call->arena, to_at) : "infinity",
                            has_key ? bw_records_param_time(call->arena, key_due) : "-infinity",
                            key_incident,
                            bw_arena_printf(call->arena, "%ld", key_ordinal),
                            page.size_param,
                            bw_records_param_time(call->arena, now),
                            regime};
    int n_values = regime != NULL ? 7 : 6;
    for (int i = 0; i < n_values; i++)
        if (values[i] == NULL)
            return BW_ENOMEM;
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id,
                      regime != NULL ? &bw_stmt_deadlines_open_regime : &bw_stmt_deadlines_open,
                      n_values, values, &res);
    if (err != 0)
        return err;

    int n = PQntuples(res), shown = n > page.size ? page.size : n;
    Bulwark__Incidents__V1__ListDeadlinesResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__list_deadlines_response__init(out);
    out->deadlines = bw_arena_calloc(call->arena, (size_t)shown + 1, sizeof(*out->deadlines));
    if (out->deadlines == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < shown; i++) {
        Bulwark__Incidents__V1__OpenDeadline *o = bw_arena_alloc(call->arena, sizeof(*o));
        if (o == NULL)
            return BW_ENOMEM;
        bulwark__incidents__v1__open_deadline__init(o);
        o->incident = bw_store_strdup(call->arena, res, i, 0);
        o->entity = bw_store_strdup(call->arena, res, i, 1);
        o->title = bw_store_strdup(call->arena, res, i, 2);
        if (o->incident == NULL || o->entity == NULL || o->title == NULL)
            return BW_ENOMEM;
        if ((err = bw_records_deadline(call->arena, res, i, 3, now, &o->deadline)) != 0)
            return err;
        out->deadlines[i] = o;
    }
    out->n_deadlines = (size_t)shown;
    const char *last = "";
    if (shown > 0) {
        int has;
        last = bw_arena_printf(call->arena, "%lld,%s,%s",
                               (long long)bw_records_col_us(res, shown - 1, 3 + BW_DCOL_DUE, &has),
                               PQgetvalue(res, shown - 1, 0),
                               PQgetvalue(res, shown - 1, 3 + BW_DCOL_ORDINAL));
        if (last == NULL)
            return BW_ENOMEM;
    }
    err = bw_store_next_token(call, DEADLINES_SCOPE, &page, n, last, &out->next_page_token);
    if (err != 0)
        return err;
    *resp = &out->base;
    return 0;
}
