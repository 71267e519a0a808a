/*
 * The producing side of the outbox; see outbox.h. One prepared INSERT per
 * event: the tenant comes from the transaction's setting, as for the audit
 * row, so a producer cannot emit into another tenant's outbox.
 */
#include "outbox.h"

#include "buf.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

const bw_outbox_event_type_t bw_outbox_event_types[] = {
    {"incident.created", "an incident was recorded"},
    {"incident.updated", "an incident changed (after every event appended: its revision, "
                         "deadlines, state)"},
    {"incident.event_appended", "an event was appended to an incident's timeline"},
    {"incident.deadline.approaching", "a reporting deadline is due within a lead time"},
    {"incident.deadline.missed", "a reporting deadline passed without its report"},
    {"entity.classification_changed",
     "an entity was created, or its NIS2 classification or incident-reporting regime changed"},
    {"soa.control_changed", "a control of a Statement of Applicability changed"},
    {"attestation.recorded", "a board member's attestation was recorded"},
    {"campaign.completed", "an attestation left no expected member of its campaign pending"},
    {"webhook_endpoint.disabled", "a webhook endpoint was disabled (its deliveries failed)"},
};
const size_t bw_outbox_n_event_types =
    sizeof(bw_outbox_event_types) / sizeof(bw_outbox_event_types[0]);

static const bw_db_stmt_t stmt_insert = {
    "bw_outbox_insert",
    "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, origin, data) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, $5)"};

const bw_db_stmt_t *const bw_outbox_stmts[] = {&stmt_insert};
const size_t bw_outbox_n_stmts = sizeof(bw_outbox_stmts) / sizeof(bw_outbox_stmts[0]);

int bw_outbox_event_type_known(const char *type)
{
    for (size_t i = 0; type != NULL && i < bw_outbox_n_event_types; i++)
        if (strcmp(bw_outbox_event_types[i].type, type) == 0)
            return 1;
    return 0;
}

char *bw_outbox_render(bw_arena_t *arena, const ProtobufCMessage *msg)
{
    /* The gateway's writer (services/gateway/http.c), so that an event's
     * data is byte for byte what GET returns. */
    bw_buf_t b;
    bw_buf_init(&b, 0);
    char *text = NULL;
    if (bw_pb_write_json(msg, &b) != 0 || bw_buf_to_arena(&b, arena, &text) != 0) {
        bw_buf_free(&b);
        return NULL;
    }
    return text;
}

/* bw_outbox_append; later: the INSERT goes with the transaction's next
 * statement or its COMMIT (bw_db_exec_later). */
static int append(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, const char *type,
                  const char *resource, const char *origin, const char *data_json, int later)
{
    if (!bw_outbox_event_type_known(type) || resource == NULL || resource[0] == '\0') {
        bw_log(BW_LOG_ERROR, log, "outbox: refused an event of type \"%s\" for resource \"%s\"",
               type != NULL ? type : "", resource != NULL ? resource : "");
        return BW_EINVAL;
    }
    if (strlen(data_json) > BW_OUTBOX_MAX_DATA) {
        bw_log(BW_LOG_ERROR, log, "outbox: the data of a %s event of %s is over %d bytes", type,
               resource, BW_OUTBOX_MAX_DATA);
        return BW_ETOOBIG;
    }
    char event_id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(event_id) != 0)
        return BW_EINTERNAL;
    const char *values[] = {event_id, type, resource, origin != NULL ? origin : "", data_json};
    return later ? bw_db_exec_later(db, arena, &stmt_insert, 5, values)
                 : bw_db_exec(db, arena, &stmt_insert, 5, values, NULL);
}

int bw_outbox_append(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, const char *type,
                     const char *resource, const char *origin, const char *data_json)
{
    return append(db, arena, log, type, resource, origin, data_json, 0);
}

int bw_outbox_emit(bw_call_t *call, bw_db_t *db, const char *type, const char *resource,
                   const char *origin, const ProtobufCMessage *resource_message)
{
    const char *data = bw_outbox_render(call->arena, resource_message);
    if (data == NULL)
        return BW_ENOMEM;
    /* The request's transaction commits on the call's arena, so the event
     * can wait for the COMMIT's round trip (common/request.c). */
    return append(db, call->arena, &call->log, type, resource, origin, data, 1);
}
