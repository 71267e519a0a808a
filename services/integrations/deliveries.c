/*
 * The delivery log and replays; see deliveries.h. A page of deliveries is
 * one statement on the endpoint's index (newest first, keyset on the
 * delivery id) and one for their latest attempts, in one transaction so
 * both see the same moment.
 */
#include "deliveries.h"

#include "deliverer.h"

#include "bulwark/integrations/v1/integrations.pb-c.h"

#include "ids.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define ATTEMPTS_SHOWN "50"

typedef Bulwark__Integrations__V1__WebhookDelivery delivery_t;
typedef Bulwark__Integrations__V1__WebhookAttempt attempt_t;

/* clang-format off */
#define US(col) "bulwark.epoch_us(" col ")"
#define DELIVERY_FROM                                                                              \
    "SELECT d.delivery_id::text, d.event_id::text, v.type, d.resource, " US("v.occur_time")       \
    ", d.state, d.attempt_count, " US("d.next_attempt_time") ", " US("d.create_time") ", "         \
    US("d.update_time") " FROM integrations.deliveries d JOIN integrations.events v "              \
    "ON v.tenant_id = d.tenant_id AND v.event_id = d.event_id "

enum {
    COL_ID,
    COL_EVENT,
    COL_TYPE,
    COL_RESOURCE,
    COL_EVENT_TIME,
    COL_STATE,
    COL_ATTEMPTS,
    COL_NEXT,
    COL_CREATE,
    COL_UPDATE
};

static const bw_db_stmt_t stmt_endpoint_exists = {
    "deliveries_endpoint_exists",
    "SELECT 1 FROM integrations.webhook_endpoints WHERE endpoint_id = $1"};
static const bw_db_stmt_t stmt_list = {
    "deliveries_list",
    DELIVERY_FROM "WHERE d.endpoint_id = $1 AND d.delivery_id < "
                  "COALESCE(NULLIF($2, '')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff') "
                  "AND ($4 = '' OR d.state = $4) ORDER BY d.delivery_id DESC LIMIT $3::int"};
static const bw_db_stmt_t stmt_get = {
    "deliveries_get", DELIVERY_FROM "WHERE d.endpoint_id = $1 AND d.delivery_id = $2"};
/* A delivery's first attempt is on its own row, unless it was recorded
 * before integrations migration 0013; the later ones are rows of
 * integrations.attempts. */
static const bw_db_stmt_t stmt_attempts = {
    "deliveries_attempts",
    "SELECT delivery_id::text, " US("attempt_time") ", status_code, latency_ms, error FROM ("
    "  SELECT x.*, row_number() OVER (PARTITION BY x.delivery_id ORDER BY x.attempt_no DESC) "
    "    AS rank FROM ("
    "      SELECT a.delivery_id, a.attempt_no, a.attempt_time, a.status_code, a.latency_ms, "
    "             a.error FROM integrations.attempts a WHERE a.delivery_id = ANY($1::uuid[]) "
    "      UNION ALL "
    "      SELECT d.delivery_id, 1, d.first_attempt_time, d.first_status_code, "
    "             d.first_latency_ms, d.first_error FROM integrations.deliveries d "
    "       WHERE d.delivery_id = ANY($1::uuid[]) AND d.first_attempt_time IS NOT NULL) x) y "
    "WHERE rank <= " ATTEMPTS_SHOWN " ORDER BY delivery_id, attempt_no DESC"};
/* clang-format on */
static const bw_db_stmt_t stmt_lock = {
    "deliveries_lock",
    "SELECT d.lease_until > now(), e.disabled FROM integrations.deliveries d "
    "JOIN integrations.webhook_endpoints e ON e.tenant_id = d.tenant_id "
    "AND e.endpoint_id = d.endpoint_id WHERE d.endpoint_id = $1 AND d.delivery_id = $2 "
    "FOR UPDATE OF d"};
/* A replay is worth trying at once: its notice ends a hold the deliverers
 * may have on the endpoint after attempts that got no answer
 * (deliverer.c). */
static const bw_db_stmt_t stmt_replay = {
    "deliveries_replay",
    "UPDATE integrations.deliveries SET state = 'PENDING', cycle_attempts = 0, "
    "next_attempt_time = now(), update_time = now() WHERE delivery_id = $1 "
    "RETURNING pg_notify('" BW_DELIVERER_ENDPOINTS_CHANNEL "', '" BW_DELIVERER_REPLAY_NOTICE
    "' || endpoint_id::text)"};

const bw_db_stmt_t *const bw_deliveries_stmts[] = {
    &stmt_endpoint_exists, &stmt_list, &stmt_get, &stmt_attempts, &stmt_lock, &stmt_replay,
};
const size_t bw_deliveries_n_stmts = sizeof(bw_deliveries_stmts) / sizeof(bw_deliveries_stmts[0]);

static int endpoint_not_found(bw_call_t *call, const char *id)
{
    return bw_call_fail(call, BW_ENOTFOUND, "WEBHOOK_ENDPOINT_NOT_FOUND",
                        "webhook endpoint %s not found", id);
}

static int delivery_not_found(bw_call_t *call, const char *id)
{
    return bw_call_fail(call, BW_ENOTFOUND, "WEBHOOK_DELIVERY_NOT_FOUND",
                        "delivery %s of this webhook endpoint not found", id);
}

static int from_row(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    delivery_t *d = bw_arena_alloc(arena, sizeof(*d));
    if (d == NULL)
        return BW_ENOMEM;
    bulwark__integrations__v1__webhook_delivery__init(d);
    d->attempt_count = (int32_t)bw_store_int(res, row, COL_ATTEMPTS);
    if (BW_STORE_COLUMNS(
            arena, res, row, {COL_ID, &d->id}, {COL_EVENT, &d->event_id},
            {COL_TYPE, &d->event_type}, {COL_RESOURCE, &d->resource},
            {COL_EVENT_TIME, .time = &d->event_time}, {COL_NEXT, .time = &d->next_attempt_time},
            {COL_CREATE, .time = &d->create_time}, {COL_UPDATE, .time = &d->update_time}) != 0)
        return BW_ENOMEM;
    const ProtobufCEnumValue *state = protobuf_c_enum_descriptor_get_value_by_name(
        &bulwark__integrations__v1__webhook_delivery__state__descriptor,
        bw_store_text(res, row, COL_STATE));
    d->state = state != NULL
                   ? state->value
                   : BULWARK__INTEGRATIONS__V1__WEBHOOK_DELIVERY__STATE__STATE_UNSPECIFIED;
    *(delivery_t **)out = d;
    return 0;
}

/* Reads the latest attempts of the n deliveries (in one statement) into
 * each one. */
static int attach_attempts(bw_call_t *call, bw_db_t *db, delivery_t **deliveries, size_t n)
{
    if (n == 0)
        return 0;
    size_t len = 3 + n * (BW_UUID_STR_LEN + 1);
    char *ids = bw_arena_alloc(call->arena, len);
    if (ids == NULL)
        return BW_ENOMEM;
    size_t o = 0;
    ids[o++] = '{';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(ids + o, len - o, "%s%s", i > 0 ? "," : "", deliveries[i]->id);
    snprintf(ids + o, len - o, "}");
    PGresult *res;
    const char *values[] = {ids};
    int err = bw_db_exec(db, call->arena, &stmt_attempts, 1, values, &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res), r = 0;
    /* Rows come by delivery id, ascending; the deliveries are in descending
     * order (the list) or alone (a replay): one pass over both. */
    for (size_t k = n; k-- > 0;) {
        delivery_t *d = deliveries[k];
        while (r < rows && strcmp(PQgetvalue(res, r, 0), d->id) < 0)
            r++;
        int first = r;
        while (r < rows && strcmp(PQgetvalue(res, r, 0), d->id) == 0)
            r++;
        if (r == first)
            continue;
        d->attempts = bw_arena_calloc(call->arena, (size_t)(r - first), sizeof(*d->attempts));
        if (d->attempts == NULL)
            return BW_ENOMEM;
        for (int i = first; i < r; i++) {
            attempt_t *a = bw_arena_alloc(call->arena, sizeof(*a));
            if (a == NULL)
                return BW_ENOMEM;
            bulwark__integrations__v1__webhook_attempt__init(a);
            if ((err = bw_store_timestamp(call->arena, res, i, 1, &a->time)) != 0)
                return err;
            a->status_code = (int32_t)bw_store_int(res, i, 2);
            a->latency_ms = (int32_t)bw_store_int(res, i, 3);
            if ((a->error = bw_store_strdup(call->arena, res, i, 4)) == NULL)
                return BW_ENOMEM;
            d->attempts[d->n_attempts++] = a;
        }
    }
    return 0;
}

/* attach_attempts for a page of the list (a bw_store_list_hook_t): data is
 * the connection of the list's transaction. */
static int attempts_of_page(bw_call_t *call, void *data, const PGresult *res,
                            ProtobufCMessage **items, size_t n)
{
    (void)res;
    return attach_attempts(call, data, (delivery_t **)items, n);
}

int bw_deliveries_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__ListWebhookDeliveriesRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return endpoint_not_found(call, req->id);
    char scope[64];
    snprintf(scope, sizeof(scope), "webhook-deliveries/%s", req->id);
    bw_page_t page;
    int err = bw_store_page(call, scope, req->page_size, req->page_token, &page);
    if (err != 0)
        return err;
    if (page.after[0] != '\0' && !bw_uuid_valid(page.after))
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    const char *state = "";
    if (req->state != BULWARK__INTEGRATIONS__V1__WEBHOOK_DELIVERY__STATE__STATE_UNSPECIFIED) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &bulwark__integrations__v1__webhook_delivery__state__descriptor, req->state);
        if (v == NULL)
            return bw_call_violation(call, "state", "is not a delivery state");
        state = v->name;
    }
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    ProtobufCMessage *out = NULL;
    const char *id = req->id;
    if ((err = bw_store_begin_row(call, db, &stmt_endpoint_exists, 1, &id, NULL, -1, &res)) != 0)
        return err == BW_ENOTFOUND ? endpoint_not_found(call, id) : err;
    const char *values[] = {id, page.after, page.size_param, state};
    const bw_store_list_hook_t attempts = {attempts_of_page, db};
    if ((err = bw_db_exec(db, call->arena, &stmt_list, 4, values, &res)) == 0)
        err = bw_store_list_response(
            call, scope, &page, res, PQntuples(res),
            &bulwark__integrations__v1__list_webhook_deliveries_response__descriptor, "deliveries",
            from_row, &attempts, &out);
    if ((err = bw_store_end(db, err)) == 0)
        *resp = out;
    return err;
}

int bw_deliveries_replay(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__ReplayWebhookDeliveryRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return endpoint_not_found(call, req->id);
    if (!bw_uuid_valid(req->delivery))
        return delivery_not_found(call, req->delivery);
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    delivery_t *d = NULL;
    const char *keys[] = {req->id, req->delivery};
    int err = bw_db_begin(db, call->tenant_id);
    if (err != 0)
        return err;
    if ((err = bw_db_exec(db, call->arena, &stmt_lock, 2, keys, &res)) != 0)
        goto out;
    if (PQntuples(res) == 0) {
        err = bw_db_exec(db, call->arena, &stmt_endpoint_exists, 1, keys, &res);
        if (err == 0)
            err = PQntuples(res) == 0 ? endpoint_not_found(call, req->id)
                                      : delivery_not_found(call, req->delivery);
        goto out;
    }
    if (strcmp(bw_store_text(res, 0, 0), "t") == 0) {
        err = bw_call_fail(call, BW_ECONFLICT, "WEBHOOK_DELIVERY_IN_FLIGHT",
                           "an attempt of this delivery is in flight; replay it when it has "
                           "finished");
        goto out;
    }
    if (strcmp(bw_store_text(res, 0, 1), "t") == 0) {
        err = bw_call_fail(call, BW_EPRECOND, "WEBHOOK_ENDPOINT_DISABLED",
                           "the webhook endpoint is disabled: enable it (PATCH with "
                           "{\"disabled\": false}), then replay; its paused deliveries resume "
                           "by themselves");
        goto out;
    }
    if ((err = bw_db_exec(db, call->arena, &stmt_replay, 1, keys + 1, NULL)) == 0 &&
        (err = bw_db_exec(db, call->arena, &stmt_get, 2, keys, &res)) == 0 &&
        (err = from_row(call->arena, res, 0, &d)) == 0)
        err = attach_attempts(call, db, &d, 1);
out:
    if ((err = bw_store_end(db, err)) == 0)
        *resp = &d->base;
    return err;
}
