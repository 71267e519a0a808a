/*
 * The tenant's incident settings; see settings.h. The lead times travel as
 * comma-separated text both ways (an int[] column), so no array is parsed
 * but this one list of at most five numbers.
 */
#include "settings.h"

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "ids.h"
#include "records.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The etag's id: one settings resource per tenant. */
#define SETTINGS_ID "incident-settings"

/* The tenant's row, if any: leads, update time (µs), revision. */
static const bw_db_stmt_t stmt_get = {"settings_get",
                                      "SELECT array_to_string(alert_lead_seconds, ','), "
                                      "bulwark.epoch_us(update_time), revision "
                                      "FROM incidents.settings"};
/* The same, locked until the write commits (If-Match compares with it). */
static const bw_db_stmt_t stmt_lock = {"settings_lock",
                                       "SELECT array_to_string(alert_lead_seconds, ','), "
                                       "bulwark.epoch_us(update_time), revision "
                                       "FROM incidents.settings FOR UPDATE"};
/* $1 leads, comma-separated ('' for none); $2 the revision If-Match was
 * compared with ('' when none was given). Marks the tenant's pending
 * deadlines for re-planning with the new leads, which the scheduler does
 * in batches (scheduler.h): the request's work does not grow with them.
 * A tenant without a row had nothing to lock: when another write made the
 * row meanwhile, the insert meets it here and, with an If-Match of the
 * defaults (revision 0), updates nothing and returns no row. */
static const bw_db_stmt_t stmt_put = {
    "settings_put",
    "INSERT INTO incidents.settings AS s (tenant_id, alert_lead_seconds, replan_pending) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, string_to_array($1, ',')::int[], true) "
    "ON CONFLICT (tenant_id) DO UPDATE SET alert_lead_seconds = EXCLUDED.alert_lead_seconds, "
    "update_time = now(), revision = s.revision + 1, replan_pending = true, "
    "replan_incident = NULL, replan_ordinal = NULL "
    "WHERE $2 = '' OR s.revision = $2::bigint "
    "RETURNING array_to_string(s.alert_lead_seconds, ','), "
    "bulwark.epoch_us(s.update_time), s.revision"};

const bw_db_stmt_t *const bw_settings_stmts[] = {&stmt_get, &stmt_lock, &stmt_put};
const size_t bw_settings_n_stmts = sizeof(bw_settings_stmts) / sizeof(bw_settings_stmts[0]);

typedef Bulwark__Incidents__V1__IncidentSettings settings_t;

/* The settings of res's row, or the defaults when res holds none. */
static int to_settings(bw_call_t *call, const PGresult *res, settings_t **out)
{
    settings_t *s = bw_arena_alloc(call->arena, sizeof(*s));
    int32_t *leads = bw_arena_calloc(call->arena, BW_SETTINGS_MAX_LEADS + 1, sizeof(*leads));
    char *etag = bw_arena_alloc(call->arena, 17);
    if (s == NULL || leads == NULL || etag == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__incident_settings__init(s);
    int stored = PQntuples(res) > 0;
    const char *text = stored ? bw_store_text(res, 0, 0) : BW_RECORDS_DEFAULT_LEADS;
    size_t n = 0;
    for (const char *p = text; *p != '\0' && n < BW_SETTINGS_MAX_LEADS;) {
        char *end;
        long lead = strtol(p, &end, 10);
        if (end == p)
            break;
        leads[n++] = (int32_t)lead;
        p = *end == ',' ? end + 1 : end;
    }
    s->deadline_alert_lead_seconds = leads;
    s->n_deadline_alert_lead_seconds = n;
    int err;
    if (stored && (err = bw_store_timestamp(call->arena, res, 0, 1, &s->update_time)) != 0)
        return err;
    bw_etag(SETTINGS_ID, stored ? bw_store_int(res, 0, 2) : 0, etag);
    s->etag = etag;
    *out = s;
    return 0;
}

int bw_settings_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    (void)request;
    PGresult *res;
    int err =
        bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_get, 0, NULL, &res);
    settings_t *s;
    if (err != 0 || (err = to_settings(call, res, &s)) != 0)
        return err;
    *resp = &s->base;
    return 0;
}

/* The lead times as the statement's parameter; a violation per problem. */
static int leads_param(bw_call_t *call, const settings_t *in, const char **out)
{
    if (in->n_deadline_alert_lead_seconds > BW_SETTINGS_MAX_LEADS)
        return bw_call_violation(call, "deadlineAlertLeadSeconds",
                                 "must hold at most %d lead times", BW_SETTINGS_MAX_LEADS);
    char *text = bw_arena_alloc(call->arena, BW_SETTINGS_MAX_LEADS * 12 + 1);
    if (text == NULL)
        return BW_ENOMEM;
    text[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < in->n_deadline_alert_lead_seconds; i++) {
        int32_t lead = in->deadline_alert_lead_seconds[i];
        if (lead < BW_SETTINGS_LEAD_MIN || lead > BW_SETTINGS_LEAD_MAX)
            return bw_call_violation(call, "deadlineAlertLeadSeconds",
                                     "each lead time must be from %d seconds (a minute) to %d "
                                     "(30 days); %d is not",
                                     BW_SETTINGS_LEAD_MIN, BW_SETTINGS_LEAD_MAX, (int)lead);
        for (size_t j = 0; j < i; j++)
            if (in->deadline_alert_lead_seconds[j] == lead)
                return bw_call_violation(call, "deadlineAlertLeadSeconds",
                                         "holds %d twice; each lead time fires once", (int)lead);
        used += (size_t)snprintf(text + used, 13, "%s%d", i > 0 ? "," : "", (int)lead);
    }
    *out = text;
    return 0;
}

int bw_settings_update(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__UpdateIncidentSettingsRequest *req = (const void *)request;
    static const settings_t empty = BULWARK__INCIDENTS__V1__INCIDENT_SETTINGS__INIT;
    const settings_t *in = req->settings != NULL ? req->settings : &empty;
    int change = 0;
    for (size_t i = 0; req->update_mask != NULL && i < req->update_mask->n_paths; i++) {
        const char *p = req->update_mask->paths[i];
        if (strcmp(p, "deadline_alert_lead_seconds") == 0)
            change = 1;
        else if (strcmp(p, "update_time") != 0 && strcmp(p, "etag") != 0)
            return bw_call_violation(call, p, "cannot be changed");
    }
    const char *leads = NULL;
    int err = change ? leads_param(call, in, &leads) : 0;
    if (err != 0)
        return err;
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    if ((err = bw_db_exec(db, call->arena, &stmt_lock, 0, NULL, &res)) != 0)
        return err;
    long long revision = PQntuples(res) > 0 ? bw_store_int(res, 0, 2) : 0;
    if ((err = bw_store_check_etag(call, SETTINGS_ID, revision)) != 0)
        return err;
    const char *put[] = {
        leads, bw_store_if_match_given(call) ? bw_arena_printf(call->arena, "%lld", revision) : ""};
    if (put[1] == NULL)
        return BW_ENOMEM;
    if (change && (err = bw_db_exec(db, call->arena, &stmt_put, 2, put, &res)) != 0)
        return err;
    if (change && PQntuples(res) == 0)
        return bw_store_etag_mismatch(call);
    settings_t *s;
    if ((err = to_settings(call, res, &s)) != 0)
        return err;
    *resp = &s->base;
    return 0;
}
