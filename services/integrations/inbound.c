/*
 * Events from Jira and ServiceNow; see inbound.h. An event arrives through
 * a raw route of the gateway (no API key): the connection named in the path
 * is found across tenants (integrations.inbound_connection, a SECURITY
 * DEFINER function that shows only a connection's tenant, system and sealed
 * inbound secret), the signature or token is checked against that secret,
 * and only then does anything run under the tenant's row-level security.
 * A refused event writes nothing.
 *
 * Then, in one transaction of the tenant: the delivery's receipt (a
 * delivery seen before is answered "duplicate" and changes nothing), the
 * link between ticket and incident (inserted, then locked, so that two
 * deliveries about one new ticket make one incident), the call to the
 * incidents service, the link's incident, and an entry of the connection's
 * log. The incidents call carries an Idempotency-Key derived from the event,
 * so that when this transaction fails after the incident was made, the
 * sender's retry gets the same incident back rather than a second one.
 */
#include "inbound.h"

#include "bulwark/incidents/v1/incidents.pb-c.h"

#include "connections.h"
#include "ids.h"
#include "incidents_client.h"
#include "inlimit.h"
#include "integrations.h"
#include "json.h"
#include "jsontext.h"
#include "log.h"
#include "service.h"
#include "signature.h"
#include "status.h"
#include "store.h"
#include "times.h"
#include "utf8.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#define NOTE_MAX 1000
/* Bytes of a title kept: the incidents service takes 500 characters. */
#define TITLE_MAX 500
#define UNPROCESSABLE "TICKET_EVENT_UNPROCESSABLE"

typedef Bulwark__Integrations__V1__ReceiveTicketEventRequest event_req_t;
typedef Bulwark__Integrations__V1__ReceiveTicketEventResponse event_resp_t;

static const bw_db_stmt_t stmt_find = {"inbound_find",
                                       "SELECT tenant_id::text, system, inbound_secret "
                                       "FROM integrations.inbound_connection($1::uuid)"};
static const bw_db_stmt_t stmt_settings = {"inbound_settings",
                                           "SELECT entity_id::text, state_closed, aware_at_field "
                                           "FROM integrations.connections "
                                           "WHERE connection_id = $1"};
static const bw_db_stmt_t stmt_receipt = {"inbound_receipt", BW_INBOUND_RECEIPT_SQL};
static const bw_db_stmt_t stmt_link = {
    "inbound_link",
    "INSERT INTO integrations.ticket_links (tenant_id, connection_id, ticket_id, ticket_key) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3) ON CONFLICT DO NOTHING"};
static const bw_db_stmt_t stmt_link_lock = {
    "inbound_link_lock", "SELECT COALESCE(incident_id::text, '') FROM integrations.ticket_links "
                         "WHERE connection_id = $1 AND ticket_id = $2 FOR UPDATE"};
static const bw_db_stmt_t stmt_link_set = {
    "inbound_link_set",
    "UPDATE integrations.ticket_links SET incident_id = $3::uuid, ticket_key = $4, "
    "update_time = now() WHERE connection_id = $1 AND ticket_id = $2"};

/* $1 connection, $2 the incident a ticket says it was opened for: a row
 * when Bulwark has a ticket job for that incident on the connection and the
 * incident has no ticket there yet. */
static const bw_db_stmt_t stmt_opened_for = {
    "inbound_opened_for",
    "SELECT 1 FROM integrations.ticket_jobs j WHERE j.connection_id = $1 "
    "AND j.incident_id = $2::uuid AND NOT EXISTS (SELECT 1 FROM integrations.ticket_links l "
    "WHERE l.connection_id = $1 AND l.incident_id = $2::uuid) LIMIT 1"};

const bw_db_stmt_t *const bw_inbound_stmts[] = {
    &stmt_find,      &stmt_settings, &stmt_receipt,    &stmt_link,
    &stmt_link_lock, &stmt_link_set, &stmt_opened_for,
};
const size_t bw_inbound_n_stmts = sizeof(bw_inbound_stmts) / sizeof(bw_inbound_stmts[0]);

/* What an event asks for, read from the sender's payload. */
typedef struct ticket_event {
    const char *system;       /* "jira", "servicenow": the origin's prefix */
    const char *kind;         /* "jira:issue_created", "servicenow:incident" */
    const char *delivery_key; /* the sender's delivery id; NULL when it has none */
    const char *ticket_id;    /* Jira's issue id, ServiceNow's sys_id */
    const char *ticket_key;   /* the issue key, the incident number */
    const char *title;
    long long aware_sec; /* 0: now */
    int aware_nanos;
    int may_create;    /* jira:issue_updated and ServiceNow create what is missing too */
    int may_update;    /* jira:issue_created for a known issue changes nothing */
    const char *state; /* the ticket's status or state now; NULL when not said */
    const char *note;  /* what changed, for the incident's timeline */
    /* The ticket was opened by Bulwark for this incident (tickets.c names it
     * in the issue's description and the record's correlation_id): it is
     * linked, not made a second time, even when its event overtakes the
     * answer that opened it. */
    const char *opened_for;
    /* The ticket's fields (a Jira issue's fields, a ServiceNow record),
     * borrowed from the payload while the event is applied: where the
     * connection's fieldMapping.awareAt is looked up; fields_at names them
     * in messages ("issue.fields."). */
    json_t *fields;
    const char *fields_at;
} ticket_event_t;

/* The connection an event was authenticated for. */
typedef struct inbound_conn {
    const char *id;
    char tenant[BW_UUID_STR_LEN + 1];
    char origin[64];
} inbound_conn_t;

static const char *header(const event_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i]->name, name) == 0)
            return req->headers[i]->value;
    return NULL;
}

/* The same answer for every failure, so that the reply tells nothing about
 * which connections exist. */
static int refuse(bw_call_t *call, const char *conn, const char *why)
{
    bw_log(BW_LOG_WARN, &call->log, "inbound event for connection %.36s refused: %s", conn, why);
    return bw_call_fail(call, BW_EAUTH, "INVALID_SIGNATURE",
                        "the event's signature or token does not match the connection's");
}

/* Finds the connection and checks the signature (Jira) or token
 * (ServiceNow); on success the call runs for the connection's tenant. */
static int authenticate(bw_call_t *call, const event_req_t *req, const char *system,
                        inbound_conn_t *conn)
{
    const bw_integrations_t *svc = bw_service_data(call);
    PGresult *res;
    char *secret = NULL;
    int jira = strcmp(system, "JIRA") == 0;
    if (!bw_uuid_valid(req->connection))
        return refuse(call, "", "not a connection id");
    const char *id = req->connection;
    int err = bw_db_exec1(bw_service_db(call), call->arena, NULL, &stmt_find, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return refuse(call, id, "no such connection");
    if (strcmp(bw_store_text(res, 0, 1), system) != 0)
        return refuse(call, id, "the connection is of the other system");
    snprintf(conn->tenant, sizeof(conn->tenant), "%s", bw_store_text(res, 0, 0));
    err = bw_connections_unseal(svc, call->arena, conn->tenant, id, "inbound", res, 0, 2, &secret);
    if (err == BW_ENOMEM)
        return err;
    if (err != 0)
        return refuse(call, id, "its inbound secret cannot be opened (BULWARK_SECRETS_KEY?)");
    int ok;
    if (jira) {
        ok = bw_hub_signature_valid(secret, req->body.data, req->body.len,
                                    header(req, "x-hub-signature"));
    } else {
        const char *auth = header(req, "authorization");
        ok = auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 && bw_ct_streq(auth + 7, secret);
    }
    OPENSSL_cleanse(secret, strlen(secret));
    if (!ok)
        return refuse(call, id,
                      jira ? "X-Hub-Signature missing or wrong" : "bearer token missing or wrong");
    /* Authenticated: it counts against the connection's rate (inlimit.h). */
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int retry = 1;
    if (bw_inlimit_take(svc->inbound_limit, id,
                        (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec, &retry) != 0) {
        call->retry_after_sec = retry;
        bw_log(BW_LOG_INFO, &call->log, "inbound event for connection %s over its rate", id);
        return bw_call_fail(call, BW_ELIMIT, "CONNECTION_RATE_LIMITED",
                            "connection %s sends more than %ld events a minute; retry in %d s", id,
                            svc->inbound_per_min, retry);
    }
    conn->id = id;
    snprintf(conn->origin, sizeof(conn->origin), "%s:%s", jira ? "jira" : "servicenow", id);
    /* On the call's arena, not in conn: the call outlives the handler's
     * frame (its log line is written after the reply). */
    call->tenant_id = bw_arena_strdup(call->arena, conn->tenant);
    call->principal = bw_arena_strdup(call->arena, conn->origin);
    if (call->tenant_id == NULL || call->principal == NULL)
        return BW_ENOMEM;
    call->log.tenant_id = call->tenant_id;
    return 0;
}

/* ---- times -------------------------------------------------------------- */

/* Reads the times the ticket systems send: Jira's "2025-06-10T09:15:00.000+0200"
 * (ISO 8601 with an offset, with or without its colon, or Z) and
 * ServiceNow's "2025-06-10 07:15:00" (UTC, as its REST API gives them).
 * 0 or -1. */
int bw_inbound_parse_time(const char *s, long long *sec, int *nanos)
{
    int64_t seconds;
    int32_t ns;
    if (bw_time_parse_lenient(s, strlen(s),
                              BW_TIME_ACCEPT_SPACE | BW_TIME_ACCEPT_BASIC_OFFSET |
                                  BW_TIME_ACCEPT_NO_ZONE,
                              &seconds, &ns) != BW_TIME_OK)
        return -1;
    *sec = (long long)seconds;
    *nanos = (int)ns;
    return 0;
}

/* ---- the change --------------------------------------------------------- */

/* An Idempotency-Key for the incidents call: the connection, what is
 * asked and a digest of the event, so the sender's retry of this event
 * (the same bytes) asks for the same change. */
static const char *idempotency_key(bw_arena_t *arena, const inbound_conn_t *conn, const char *what,
                                   const event_req_t *req)
{
    uint8_t digest[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    bw_sha256(req->body.data, req->body.len, digest);
    bw_hex(digest, 16, hex);
    return bw_arena_printf(arena, "%s:%s:%s", conn->origin, what, hex);
}

/* The incidents service's refusal, as the detail of a 422. */
static const char *refusal(bw_arena_t *arena, const bw_rpc_reply_t *reply)
{
    if (reply->n_violations > 0)
        return bw_arena_printf(arena, "the incidents service refused it: %s: %s",
                               reply->violations[0].field, reply->violations[0].message);
    return bw_arena_printf(arena, "the incidents service refused it: %s", reply->message);
}

static int status_is_client_error(int status)
{
    return status == BW_GRPC_INVALID_ARGUMENT || status == BW_GRPC_FAILED_PRECONDITION ||
           status == BW_GRPC_NOT_FOUND || status == BW_GRPC_OUT_OF_RANGE ||
           status == BW_GRPC_ALREADY_EXISTS;
}

/* Outcome of one incidents call: 0 done (*incident set to the incident the
 * reply holds, when incident is not NULL), 1 refused (detail set), or a
 * BW_E* code. */
static int call_incidents(bw_call_t *call, const inbound_conn_t *conn, const char *method,
                          const ProtobufCMessage *msg, const char *key,
                          Bulwark__Incidents__V1__Incident **incident, const char **detail)
{
    const bw_integrations_t *svc = bw_service_data(call);
    bw_incidents_caller_t who = {conn->tenant, conn->origin, conn->origin, call->request_id, key};
    bw_rpc_reply_t reply;
    int err = bw_incidents_client_call(svc->incidents, call->arena, &call->log, method, msg, &who,
                                       &reply);
    if (err != 0)
        return err;
    if (status_is_client_error(reply.status)) {
        *detail = refusal(call->arena, &reply);
        return *detail != NULL ? 1 : BW_ENOMEM;
    }
    if (reply.status != BW_GRPC_OK) {
        bw_log(BW_LOG_WARN, &call->log, "incidents service answered %s to %s: %s",
               bw_status_grpc_name(reply.status), method, reply.message);
        return bw_call_fail(call, BW_EUNAVAIL, NULL, "the incidents service is unavailable");
    }
    if (incident != NULL) {
        Bulwark__Incidents__V1__Incident *inc = bulwark__incidents__v1__incident__unpack(
            bw_arena_protobuf_allocator(call->arena), reply.payload_len, reply.payload);
        if (inc == NULL || !bw_uuid_valid(inc->id))
            return bw_call_fail(call, BW_EUNAVAIL, NULL,
                                "the incidents service answered an unreadable incident");
        *incident = inc;
    }
    return 0;
}

static int create_incident(bw_call_t *call, const inbound_conn_t *conn, const event_req_t *req,
                           const ticket_event_t *ev, const char *entity, const char **incident_id,
                           const char **detail)
{
    Bulwark__Incidents__V1__Incident inc = BULWARK__INCIDENTS__V1__INCIDENT__INIT;
    Bulwark__Incidents__V1__CreateIncidentRequest create =
        BULWARK__INCIDENTS__V1__CREATE_INCIDENT_REQUEST__INIT;
    Google__Protobuf__Timestamp aware = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    aware.seconds = ev->aware_sec != 0 ? ev->aware_sec : (long long)time(NULL);
    aware.nanos = ev->aware_sec != 0 ? ev->aware_nanos : 0;
    inc.entity = (char *)entity;
    inc.title = (char *)ev->title;
    inc.aware_at = &aware;
    inc.external_ref = (char *)ev->ticket_key;
    create.incident = &inc;
    const char *key = idempotency_key(call->arena, conn, "create", req);
    if (key == NULL)
        return BW_ENOMEM;
    Bulwark__Incidents__V1__Incident *made = NULL;
    int err = call_incidents(call, conn, "CreateIncident", &create.base, key, &made, detail);
    if (err == 0)
        *incident_id = made->id;
    return err;
}

/* Whether the incident's handling has ended (*ended), as the incidents
 * service has it now. A ticket closed after its incident's handling ended
 * in Bulwark, or edited again once closed, is noted on the incident instead
 * of ending its handling a second time, which the incidents service refuses
 * (an update answered 422, and its change lost). Returns as call_incidents. */
static int handling_ended(bw_call_t *call, const inbound_conn_t *conn, const char *incident_id,
                          int *ended, const char **detail)
{
    Bulwark__Incidents__V1__GetIncidentRequest get =
        BULWARK__INCIDENTS__V1__GET_INCIDENT_REQUEST__INIT;
    get.id = (char *)incident_id;
    Bulwark__Incidents__V1__Incident *inc = NULL;
    int err = call_incidents(call, conn, "GetIncident", &get.base, NULL, &inc, detail);
    if (err == 0)
        *ended = inc->handling_ended_at != NULL;
    return err;
}

static int append_event(bw_call_t *call, const inbound_conn_t *conn, const event_req_t *req,
                        const char *incident_id, int closed, const char *note, const char **detail)
{
    Bulwark__Incidents__V1__Event event = BULWARK__INCIDENTS__V1__EVENT__INIT;
    Bulwark__Incidents__V1__AppendEventRequest append =
        BULWARK__INCIDENTS__V1__APPEND_EVENT_REQUEST__INIT;
    event.type = closed ? BULWARK__INCIDENTS__V1__EVENT__TYPE__HANDLING_ENDED
                        : BULWARK__INCIDENTS__V1__EVENT__TYPE__NOTE;
    event.note = (char *)note;
    append.incident = (char *)incident_id;
    append.event = &event;
    const char *key = idempotency_key(call->arena, conn, "append", req);
    if (key == NULL)
        return BW_ENOMEM;
    return call_incidents(call, conn, "AppendEvent", &append.base, key, NULL, detail);
}

/* Writes the log entry of a refused event in a transaction of its own and
 * fails the call with 422. */
static int unprocessable(bw_call_t *call, const inbound_conn_t *conn, const char *kind,
                         const char *ticket, const char *detail)
{
    bw_db_t *db = bw_service_db(call);
    bw_connection_log_entry_t entry = {conn->id, "inbound", kind, 422, ticket, "", detail};
    int err = bw_db_begin(db, conn->tenant);
    if (err == 0 && (err = bw_connections_log(db, call->arena, &entry)) == 0)
        err = bw_db_commit(db);
    if (err != 0) {
        bw_db_rollback(db);
        return err;
    }
    return bw_call_fail(call, BW_EINVAL, UNPROCESSABLE, "%s", detail);
}

static int reply(bw_call_t *call, const char *incident, const char *outcome,
                 ProtobufCMessage **resp)
{
    event_resp_t *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__integrations__v1__receive_ticket_event_response__init(out);
    out->incident = (char *)incident;
    out->outcome = (char *)outcome;
    *resp = &out->base;
    return 0;
}

/* The awareAt of an incident made from ev, when the connection maps it to
 * a field (fieldMapping.awareAt, field) and the ticket has a value there:
 * ev's time is set from it. No mapping or no value: ev keeps the ticket's
 * creation time. A value that is not a time: *problem says so (on arena),
 * and no incident may be made from a guess (Art 23's deadlines run from
 * it). */
static int mapped_aware_at(bw_arena_t *arena, const char *field, ticket_event_t *ev,
                           const char **problem)
{
    *problem = NULL;
    json_t *v = field[0] != '\0' ? json_object_get(ev->fields, field) : NULL;
    if (json_is_object(v)) /* ServiceNow's {"value", "display_value"} */
        v = json_object_get(v, "value");
    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    const char *text = json_string_value(v);
    if (text != NULL && bw_inbound_parse_time(text, &ev->aware_sec, &ev->aware_nanos) == 0)
        return 0;
    *problem = bw_arena_printf(arena, "%s%s, which fieldMapping.awareAt names, is not a time",
                               ev->fields_at, field);
    return *problem != NULL ? 0 : BW_ENOMEM;
}

/* Applies an authenticated, parsed event; see the file's comment. */
static int apply(bw_call_t *call, const inbound_conn_t *conn, const event_req_t *req,
                 ticket_event_t *ev, ProtobufCMessage **resp)
{
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    const char *incident = "", *outcome, *detail = NULL, *log_detail;
    const char *id = conn->id;
    int err = bw_db_begin(db, conn->tenant), refused = 0;
    if (err != 0)
        return err;
    if ((err = bw_db_exec(db, call->arena, &stmt_settings, 1, &id, &res)) != 0)
        goto out;
    if (PQntuples(res) == 0) { /* deleted since it was found */
        err = refuse(call, id, "the connection was deleted");
        goto out;
    }
    const char *entity = bw_store_strdup(call->arena, res, 0, 0);
    const char *state_closed = bw_store_strdup(call->arena, res, 0, 1);
    const char *aware_field = bw_store_strdup(call->arena, res, 0, 2);
    if (entity == NULL || state_closed == NULL || aware_field == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    /* A delivery seen before changes nothing: it is answered "duplicate"
     * with the incident its ticket has, read as every event reads it. */
    int seen = 0;
    if (ev->delivery_key != NULL) {
        const char *values[] = {id, ev->delivery_key};
        if ((err = bw_db_exec(db, call->arena, &stmt_receipt, 2, values, &res)) != 0)
            goto out;
        seen = PQntuples(res) == 0;
    }
    const char *link[] = {id, ev->ticket_id, ev->ticket_key};
    if ((!seen && ev->may_create &&
         (err = bw_db_exec(db, call->arena, &stmt_link, 3, link, NULL)) != 0) ||
        (err = bw_db_exec(db, call->arena, &stmt_link_lock, 2, link, &res)) != 0)
        goto out;
    incident = PQntuples(res) > 0 ? bw_store_strdup(call->arena, res, 0, 0) : "";
    if (incident == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    if (seen) {
        bw_connection_log_entry_t entry = {
            id,
            "inbound",
            ev->kind,
            200,
            ev->ticket_key,
            "",
            bw_arena_printf(call->arena, "delivery %s received before: nothing changed",
                            ev->delivery_key)};
        if ((err = bw_connections_log(db, call->arena, &entry)) != 0 ||
            (err = bw_db_commit(db)) != 0)
            goto out;
        return reply(call, incident, "duplicate", resp);
    }
    /* The incident a ticket names is taken only if Bulwark opens a ticket
     * for it here and has none yet: a cloned Jira issue (its description
     * copied) or a record given another's correlation_id is a ticket of its
     * own. */
    int opened_here = 0;
    if (incident[0] == '\0' && ev->opened_for != NULL) {
        const char *values[] = {id, ev->opened_for};
        if ((err = bw_db_exec(db, call->arena, &stmt_opened_for, 2, values, &res)) != 0)
            goto out;
        opened_here = PQntuples(res) > 0;
    }
    if (opened_here) {
        incident = ev->opened_for;
        outcome = "linked";
        log_detail = "the ticket Bulwark opened for this incident";
    } else if (incident[0] == '\0') {
        if (!ev->may_create) {
            outcome = "ignored";
            log_detail = "no incident for this ticket, and this event does not make one";
        } else {
            if ((err = mapped_aware_at(call->arena, aware_field, ev, &detail)) != 0)
                goto out;
            err = detail == NULL ? create_incident(call, conn, req, ev, entity, &incident, &detail)
                                 : 1;
            if (err < 0)
                goto out;
            refused = err == 1;
            outcome = "created";
            log_detail = bw_arena_printf(call->arena, "incident created: %s", ev->title);
        }
    } else if (!ev->may_create && !ev->may_update) { /* a comment, a deleted issue */
        outcome = "ignored";
        log_detail = "this event changes nothing in Bulwark";
    } else if (!ev->may_update) { /* issue_created again, under a new delivery id */
        outcome = "duplicate";
        log_detail = "the ticket has its incident already: nothing changed";
    } else {
        int closed = ev->state != NULL && state_closed[0] != '\0' &&
                     strcasecmp(ev->state, state_closed) == 0;
        int ended = 0;
        err = closed ? handling_ended(call, conn, incident, &ended, &detail) : 0;
        if (err == 0)
            err = append_event(call, conn, req, incident, closed && !ended, ev->note, &detail);
        /* Refused: handling may have ended since it was read (in Bulwark, or
         * by another connection's ticket). Then it is noted instead, as when
         * it had ended before; a failure to ask is the sender's to retry. */
        if (err == 1 && closed && !ended) {
            const char *unused = NULL;
            int asked = handling_ended(call, conn, incident, &ended, &unused);
            if (asked < 0)
                err = asked;
            else if (asked == 0 && ended)
                err = append_event(call, conn, req, incident, 0, ev->note, &detail);
        }
        if (err < 0)
            goto out;
        refused = err == 1;
        outcome = "updated";
        if (closed && !ended)
            log_detail = bw_arena_printf(call->arena, "handling ended (%s)", ev->state);
        else if (closed)
            log_detail = bw_arena_printf(call->arena, "%s (handling had ended already)", ev->note);
        else
            log_detail = ev->note;
    }
    if (refused) {
        bw_db_rollback(db);
        return unprocessable(call, conn, ev->kind, ev->ticket_key, detail);
    }
    const char *set[] = {id, ev->ticket_id, incident, ev->ticket_key};
    bw_connection_log_entry_t entry = {id,       "inbound", ev->kind, 200, ev->ticket_key,
                                       incident, log_detail};
    if (incident[0] != '\0' &&
        (err = bw_db_exec(db, call->arena, &stmt_link_set, 4, set, NULL)) != 0)
        goto out;
    if ((err = bw_connections_log(db, call->arena, &entry)) != 0 || (err = bw_db_commit(db)) != 0)
        goto out;
    return reply(call, incident, outcome, resp);
out:
    bw_db_rollback(db);
    return err;
}

/* ---- payloads ----------------------------------------------------------- */

const char *bw_inbound_text(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_object(v))
        v = json_object_get(v, "value");
    return json_string_value(v);
}

/* Keeps a copy on the arena of a text from the payload (which is freed
 * before the reply), cut to max bytes on a UTF-8 boundary. */
static const char *keep(bw_arena_t *arena, const char *s, size_t max)
{
    if (s == NULL)
        return NULL;
    return bw_arena_strndup(arena, s, bw_utf8_cut(s, strlen(s), max));
}

/* A delivery's id as a header carries it, kept as text (a byte that is not
 * UTF-8 becomes '?', the same each time the header comes again); NULL when
 * there is none, or it is empty: such a delivery is taken without the
 * check for one received before. */
static const char *delivery_key(bw_arena_t *arena, const char *value)
{
    char *key = value != NULL && value[0] != '\0' ? (char *)keep(arena, value, 200) : NULL;
    if (key != NULL)
        bw_utf8_scrub(key);
    return key;
}

/* Text made from the payload's texts with cuts counted in bytes (a note, a
 * key), made valid again where a cut fell inside a character: NULL on
 * NULL. */
static const char *scrubbed(char *text)
{
    if (text != NULL)
        bw_utf8_scrub(text);
    return text;
}

/* The body as a JSON object, or NULL with *problem saying why. */
static json_t *parse_body(bw_arena_t *arena, const event_req_t *req, const char **problem)
{
    const char *text = (const char *)req->body.data;
    if (bw_json_values_over(text, req->body.len, BW_JSON_MAX_VALUES)) {
        *problem =
            bw_arena_printf(arena, "the body holds more than %d JSON values", BW_JSON_MAX_VALUES);
        return NULL;
    }
    json_t *doc = json_loadb(text, req->body.len, 0, NULL);
    if (doc != NULL && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    if (doc == NULL)
        *problem = "the body is not a JSON object";
    return doc;
}

/* The incident a description written by tickets.c names ("Bulwark
 * incident <uuid>"), looked for in the description however it is encoded
 * (Atlassian Document Format or text); NULL when none. */
static const char *opened_for(bw_arena_t *arena, json_t *description)
{
    static const char mark[] = "Bulwark incident ";
    char *text = description != NULL ? json_dumps(description, JSON_ENCODE_ANY) : NULL;
    const char *at = text != NULL ? strstr(text, mark) : NULL;
    char id[BW_UUID_STR_LEN + 1] = "";
    if (at != NULL && strlen(at) >= sizeof(mark) - 1 + BW_UUID_STR_LEN) {
        memcpy(id, at + sizeof(mark) - 1, BW_UUID_STR_LEN);
        id[BW_UUID_STR_LEN] = '\0';
    }
    free(text);
    return bw_uuid_valid(id) ? bw_arena_strdup(arena, id) : NULL;
}

/* What a Jira changelog says changed, for the timeline. */
static const char *jira_note(bw_arena_t *arena, const char *key, json_t *changelog)
{
    char note[NOTE_MAX + 1];
    int n = snprintf(note, sizeof(note), "Jira %s updated", key);
    json_t *items = json_object_get(changelog, "items");
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *field = json_string_value(json_object_get(item, "field"));
        const char *to = json_string_value(json_object_get(item, "toString"));
        if (field == NULL || n < 0 || (size_t)n >= sizeof(note) - 1)
            break;
        n += snprintf(note + n, sizeof(note) - (size_t)n, "%s %s: %s", i == 0 ? ":" : ";", field,
                      to != NULL ? to : "(none)");
    }
    return keep(arena, scrubbed(note), NOTE_MAX);
}

int bw_inbound_jira(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const event_req_t *req = (const void *)request;
    inbound_conn_t conn;
    int err = authenticate(call, req, "JIRA", &conn);
    if (err != 0)
        return err;
    const char *problem = NULL;
    json_t *doc = parse_body(call->arena, req, &problem);
    const char *event =
        doc != NULL ? json_string_value(json_object_get(doc, "webhookEvent")) : NULL;
    json_t *issue = doc != NULL ? json_object_get(doc, "issue") : NULL;
    json_t *fields = json_object_get(issue, "fields");
    ticket_event_t ev = {.system = "jira"};
    ev.kind = keep(call->arena, event != NULL ? event : "unknown", 100);
    ev.ticket_id = keep(call->arena, json_string_value(json_object_get(issue, "id")), 100);
    ev.ticket_key = keep(call->arena, json_string_value(json_object_get(issue, "key")), 100);
    ev.title = keep(call->arena, json_string_value(json_object_get(fields, "summary")), TITLE_MAX);
    ev.state =
        keep(call->arena,
             json_string_value(json_object_get(json_object_get(fields, "status"), "name")), 100);
    ev.delivery_key = delivery_key(call->arena, header(req, "x-atlassian-webhook-identifier"));
    const char *created = json_string_value(json_object_get(fields, "created"));
    ev.opened_for = opened_for(call->arena, json_object_get(fields, "description"));
    if (problem == NULL && !json_is_object(issue))
        problem = "the payload has no issue";
    if (problem == NULL &&
        (ev.ticket_id == NULL || ev.ticket_id[0] == '\0' || ev.ticket_key == NULL))
        problem = "the issue has no id or key";
    if (problem == NULL && created != NULL &&
        bw_inbound_parse_time(created, &ev.aware_sec, &ev.aware_nanos) != 0)
        problem = "issue.fields.created is not a time";
    if (problem == NULL && event != NULL && strcmp(event, "jira:issue_created") == 0) {
        ev.may_create = 1;
    } else if (problem == NULL && event != NULL && strcmp(event, "jira:issue_updated") == 0) {
        ev.may_create = ev.may_update = 1;
        ev.note = jira_note(call->arena, ev.ticket_key, json_object_get(doc, "changelog"));
    } else if (problem == NULL) {
        /* Another event (a comment, a deleted issue): taken, and only logged. */
        ev.may_create = ev.may_update = 0;
    }
    if (problem == NULL && ev.may_create && (ev.title == NULL || ev.title[0] == '\0'))
        problem = "issue.fields.summary is missing or empty";
    ev.fields = fields;
    ev.fields_at = "issue.fields.";
    if (problem != NULL)
        err = unprocessable(call, &conn, ev.kind, ev.ticket_key, problem);
    else if (ev.kind == NULL || ev.ticket_id == NULL || ev.ticket_key == NULL)
        err = BW_ENOMEM;
    else
        err = apply(call, &conn, req, &ev, resp);
    json_decref(doc);
    return err;
}

char *bw_inbound_servicenow_key(bw_arena_t *arena, const char *sys_id, const char *version)
{
    return (char *)scrubbed(bw_arena_printf(arena, "%.100s:%.50s", sys_id, version));
}

int bw_inbound_servicenow(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const event_req_t *req = (const void *)request;
    inbound_conn_t conn;
    int err = authenticate(call, req, "SERVICENOW", &conn);
    if (err != 0)
        return err;
    const char *problem = NULL;
    json_t *doc = parse_body(call->arena, req, &problem);
    json_t *record =
        json_is_object(json_object_get(doc, "result")) ? json_object_get(doc, "result") : doc;
    ticket_event_t ev = {
        .system = "servicenow", .kind = "servicenow:incident", .may_create = 1, .may_update = 1};
    ev.ticket_id = keep(call->arena, bw_inbound_text(record, "sys_id"), 100);
    ev.ticket_key = keep(call->arena, bw_inbound_text(record, "number"), 100);
    const char *summary = bw_inbound_text(record, "short_description");
    ev.state = keep(call->arena, bw_inbound_text(record, "state"), 100);
    const char *opened = bw_inbound_text(record, "opened_at");
    const char *mod = bw_inbound_text(record, "sys_mod_count");
    const char *correlation = bw_inbound_text(record, "correlation_id");
    if (correlation != NULL && bw_uuid_valid(correlation))
        ev.opened_for = keep(call->arena, correlation, BW_UUID_STR_LEN);
    const char *updated_on = bw_inbound_text(record, "sys_updated_on");
    if (ev.ticket_key == NULL)
        ev.ticket_key = ev.ticket_id;
    if (problem == NULL && (ev.ticket_id == NULL || ev.ticket_id[0] == '\0'))
        problem = "the record has no sys_id";
    if (problem == NULL && opened != NULL && opened[0] != '\0' &&
        bw_inbound_parse_time(opened, &ev.aware_sec, &ev.aware_nanos) != 0)
        problem = "opened_at is not a time";
    ev.fields = record;
    ev.fields_at = "";
    if (problem == NULL) {
        ev.title =
            keep(call->arena, summary != NULL && summary[0] ? summary : ev.ticket_key, TITLE_MAX);
        const char *impact = bw_inbound_text(record, "impact"),
                   *urgency = bw_inbound_text(record, "urgency");
        ev.note = scrubbed(bw_arena_printf(call->arena,
                                           "ServiceNow %.100s updated: state %.100s, impact "
                                           "%.20s, urgency %.20s",
                                           ev.ticket_key, ev.state ? ev.state : "-",
                                           impact ? impact : "-", urgency ? urgency : "-"));
        if (mod != NULL || updated_on != NULL)
            ev.delivery_key = bw_inbound_servicenow_key(call->arena, ev.ticket_id,
                                                        mod != NULL ? mod : updated_on);
    }
    if (problem != NULL)
        err = unprocessable(call, &conn, ev.kind, ev.ticket_key, problem);
    else if (ev.title == NULL || ev.note == NULL)
        err = BW_ENOMEM;
    else
        err = apply(call, &conn, req, &ev, resp);
    json_decref(doc);
    return err;
}
