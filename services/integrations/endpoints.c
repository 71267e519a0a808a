/*
 * Webhook endpoints, stored in integrations.webhook_endpoints; see
 * endpoints.h. The signing key is 32 random bytes, sealed before it is
 * stored (common/seal.c) for a context naming the tenant and the endpoint,
 * and shown to the client once, as "whsec_<base64>", in the reply that made
 * it. Ids are UUIDv7, so listing by id lists by creation.
 */
#include "endpoints.h"

#include "google/protobuf/empty.pb-c.h"

#include "ids.h"
#include "integrations.h"
#include "outbox.h"
#include "seal.h"
#include "service.h"
#include "signature.h"
#include "status.h"
#include "store.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define LIST_SCOPE "webhook-endpoints"
#define MAX_ENDPOINTS_PER_TENANT "100"
#define DESCRIPTION_MAX 1000
#define SECRET_OVERLAP "24 hours"

#define US(col) "bulwark.epoch_us(" col ")"
#define ENDPOINT_COLUMNS                                                                           \
    "endpoint_id::text, url, array_to_string(event_types, ','), description, disabled, "           \
    "disabled_reason, "                                                                            \
    "CASE WHEN previous_secret_expire_time > now() THEN " US(                                      \
        "previous_secret_expire_time") " END, " US("create_time") ", " US("update_time") ", "      \
                                                                                         "revisio" \
                                                                                         "n"

enum {
    COL_ID,
    COL_URL,
    COL_TYPES,
    COL_DESCRIPTION,
    COL_DISABLED,
    COL_REASON,
    COL_PREVIOUS_EXPIRE,
    COL_CREATE,
    COL_UPDATE,
    COL_REVISION
};

/* $1 a kind of resource: the tenant's creations of that kind, one at a
 * time until the request transaction ends. A cap checked by counting in
 * the insert's own statement is otherwise passed by every concurrent
 * create (each counts only what was committed when it began): with 99
 * endpoints, two POSTs at once made 101. Sent in the insert's round trip
 * (bw_db_exec_later), so it costs no extra one; the insert's statement
 * begins after the lock, and counts what the creator before committed. */
const bw_db_stmt_t bw_integrations_stmt_create_lock = {
    "integrations_create_lock",
    "SELECT pg_advisory_xact_lock(hashtextextended('integrations.' || $1 || ' ' || "
    "current_setting('bulwark.tenant_id'), 0))"};

/* At most MAX_ENDPOINTS_PER_TENANT per tenant: no row comes back beyond. */
static const bw_db_stmt_t stmt_insert = {
    "endpoints_insert",
    "INSERT INTO integrations.webhook_endpoints (tenant_id, endpoint_id, url, event_types, "
    "description, disabled, secret) "
    "SELECT current_setting('bulwark.tenant_id')::uuid, $1, $2, string_to_array($3, ','), $4, $5, "
    "$6 WHERE (SELECT count(*) FROM integrations.webhook_endpoints) < " MAX_ENDPOINTS_PER_TENANT
    " RETURNING " ENDPOINT_COLUMNS};
static const bw_db_stmt_t stmt_get = {
    "endpoints_get",
    "SELECT " ENDPOINT_COLUMNS " FROM integrations.webhook_endpoints WHERE endpoint_id = $1"};
static const bw_db_stmt_t stmt_get_for_update = {
    "endpoints_get_for_update",
    "SELECT " ENDPOINT_COLUMNS " FROM integrations.webhook_endpoints WHERE endpoint_id = $1 "
    "FOR UPDATE"};
static const bw_db_stmt_t stmt_list = {
    "endpoints_list",
    "SELECT " ENDPOINT_COLUMNS " FROM integrations.webhook_endpoints "
    "WHERE endpoint_id > COALESCE(NULLIF($1, '')::uuid, '00000000-0000-0000-0000-000000000000') "
    "ORDER BY endpoint_id LIMIT $2::int"};
static const bw_db_stmt_t stmt_update = {
    "endpoints_update",
    "UPDATE integrations.webhook_endpoints SET url = $2, event_types = string_to_array($3, ','), "
    "description = $4, disabled = $5, disabled_reason = CASE WHEN $5 THEN disabled_reason ELSE '' "
    "END, update_time = now(), revision = revision + 1 WHERE endpoint_id = $1 "
    "RETURNING " ENDPOINT_COLUMNS};
static const bw_db_stmt_t stmt_disable = {
    "endpoints_disable",
    "UPDATE integrations.webhook_endpoints SET disabled = true, disabled_reason = $2, "
    "update_time = now(), revision = revision + 1 WHERE endpoint_id = $1 AND NOT disabled "
    "RETURNING " ENDPOINT_COLUMNS};
static const bw_db_stmt_t stmt_pause = {
    "endpoints_pause", "UPDATE integrations.deliveries SET state = 'PAUSED', update_time = now() "
                       "WHERE endpoint_id = $1 AND state = 'PENDING'"};
static const bw_db_stmt_t stmt_resume = {
    "endpoints_resume",
    "UPDATE integrations.deliveries SET state = 'PENDING', "
    "next_attempt_time = COALESCE(next_attempt_time, now()), update_time = now() "
    "WHERE endpoint_id = $1 AND state = 'PAUSED'"};
static const bw_db_stmt_t stmt_delete = {
    "endpoints_delete",
    "DELETE FROM integrations.webhook_endpoints WHERE endpoint_id = $1 RETURNING revision"};
/* The current secret becomes the previous one, valid SECRET_OVERLAP more.
 * A rotation while a previous secret is still valid keeps that one and its
 * expiry, and drops the current one: the secret receivers run is the one
 * that was current for long, not one made minutes ago (a double submit,
 * or a secret replaced at once because it leaked). Before, the second
 * rotation made the minutes-old secret the previous one and dropped the
 * older within its 24 hours, and receivers still on it refused every
 * delivery. */
static const bw_db_stmt_t stmt_rotate = {
    "endpoints_rotate",
    "UPDATE integrations.webhook_endpoints SET "
    "previous_secret = CASE WHEN previous_secret_expire_time > now() THEN previous_secret "
    "ELSE secret END, "
    "previous_secret_expire_time = CASE WHEN previous_secret_expire_time > now() "
    "THEN previous_secret_expire_time ELSE now() + interval '" SECRET_OVERLAP "' END, "
    "secret = $2, update_time = now(), revision = revision + 1 WHERE endpoint_id = $1 "
    "RETURNING " ENDPOINT_COLUMNS};

const bw_db_stmt_t *const bw_endpoints_stmts[] = {
    &bw_integrations_stmt_create_lock,
    &stmt_insert,
    &stmt_get,
    &stmt_get_for_update,
    &stmt_list,
    &stmt_update,
    &stmt_disable,
    &stmt_pause,
    &stmt_resume,
    &stmt_delete,
    &stmt_rotate,
};
const size_t bw_endpoints_n_stmts = sizeof(bw_endpoints_stmts) / sizeof(bw_endpoints_stmts[0]);

void bw_integrations_seal_context(const char *tenant_id, const char *endpoint_id,
                                  char out[BW_ENDPOINT_SEAL_CONTEXT_LEN])
{
    snprintf(out, BW_ENDPOINT_SEAL_CONTEXT_LEN, "integrations.webhook_endpoints/%s/%s", tenant_id,
             endpoint_id);
}

static int not_found(bw_call_t *call, const char *id)
{
    return bw_call_fail(call, BW_ENOTFOUND, "WEBHOOK_ENDPOINT_NOT_FOUND",
                        "webhook endpoint %s not found", id);
}

/* The endpoint of a row, without a secret, on arena, into *(bw_endpoint_pb_t **)out (a
 * bw_store_row_fn). */
static int from_row(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    bw_endpoint_pb_t *e = bw_arena_alloc(arena, sizeof(*e));
    if (e == NULL)
        return BW_ENOMEM;
    bulwark__integrations__v1__webhook_endpoint__init(e);
    e->disabled = strcmp(bw_store_text(res, row, COL_DISABLED), "t") == 0;
    e->etag = bw_arena_alloc(arena, 17);
    char *types = NULL;
    if (BW_STORE_COLUMNS(
            arena, res, row, {COL_ID, &e->id}, {COL_URL, &e->url},
            {COL_DESCRIPTION, &e->description}, {COL_REASON, &e->disabled_reason},
            {COL_TYPES, &types}, {COL_PREVIOUS_EXPIRE, .time = &e->previous_secret_expire_time},
            {COL_CREATE, .time = &e->create_time}, {COL_UPDATE, .time = &e->update_time}) != 0 ||
        e->etag == NULL)
        return BW_ENOMEM;
    bw_etag(e->id, bw_store_int(res, row, COL_REVISION), e->etag);
    /* The types are catalogue names: no commas inside. */
    size_t n = types[0] != '\0';
    for (const char *p = types; *p; p++)
        n += *p == ',';
    e->event_types = bw_arena_calloc(arena, n + 1, sizeof(*e->event_types));
    if (e->event_types == NULL)
        return BW_ENOMEM;
    for (char *p = types; n > 0 && p != NULL;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        e->event_types[e->n_event_types++] = p;
        p = comma != NULL ? comma + 1 : NULL;
    }
    *(bw_endpoint_pb_t **)out = e;
    return 0;
}

/* Checks what a client sets; adds a violation per problem. *types gets the
 * event types joined by commas, for string_to_array. */
static int validate(bw_call_t *call, const bw_integrations_t *svc, const bw_endpoint_pb_t *e,
                    const char **types)
{
    int bad = 0, https;
    char why[256];
    if (bw_netpolicy_check_url(&svc->netpolicy, e->url, &https, why, sizeof(why)) != 0)
        bad |= bw_call_violation(call, "url", "%s", why) != 0;
    if (e->n_event_types == 0)
        bad |= bw_call_violation(call, "eventTypes",
                                 "is required: name at least one event type, such as "
                                 "incident.created") != 0;
    /* Each type once, so no list is longer than the catalogue: a longer one
     * is refused before its items are compared with each other. */
    size_t len = 0, n_types = e->n_event_types;
    if (n_types > bw_outbox_n_event_types) {
        bad |= bw_call_violation(call, "eventTypes",
                                 "lists %zu types: there are %zu, each to be listed once", n_types,
                                 bw_outbox_n_event_types) != 0;
        n_types = 0;
    }
    for (size_t i = 0; i < n_types; i++) {
        char field[48];
        snprintf(field, sizeof(field), "eventTypes[%zu]", i);
        if (!bw_outbox_event_type_known(e->event_types[i])) {
            bad |= bw_call_violation(call, field,
                                     "\"%.100s\" is not an event type; the types are "
                                     "incident.created, incident.updated, "
                                     "incident.event_appended, incident.deadline.approaching, "
                                     "incident.deadline.missed, entity.classification_changed, "
                                     "soa.control_changed, attestation.recorded, "
                                     "campaign.completed and webhook_endpoint.disabled",
                                     e->event_types[i]) != 0;
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->event_types[i], e->event_types[j]) == 0) {
                bad |= bw_call_violation(call, field, "\"%s\" is listed twice",
                                         e->event_types[i]) != 0;
                break;
            }
        len += strlen(e->event_types[i]) + 1;
    }
    if (bw_utf8_count(e->description) > DESCRIPTION_MAX)
        bad |= bw_call_violation(call, "description", "must be at most %d characters",
                                 DESCRIPTION_MAX) != 0;
    if (e->secret[0] != '\0')
        bad |= bw_call_violation(call, "secret",
                                 "is made by the service: it is in the reply to create, and "
                                 "POST /v1/webhook-endpoints/{id}:rotate-secret makes a new "
                                 "one") != 0;
    if (bad)
        return BW_EINVAL;
    char *joined = bw_arena_alloc(call->arena, len + 1);
    if (joined == NULL)
        return BW_ENOMEM;
    joined[0] = '\0';
    for (size_t i = 0, o = 0; i < e->n_event_types; i++) {
        size_t n = strlen(e->event_types[i]);
        if (o > 0)
            joined[o++] = ',';
        memcpy(joined + o, e->event_types[i], n + 1);
        o += n;
    }
    *types = joined;
    return 0;
}

/* A new signing key, sealed for the endpoint as a bytea parameter; the
 * secret's text goes to text. */
static int new_secret(bw_call_t *call, const bw_integrations_t *svc, const char *endpoint_id,
                      const char **sealed_param, char text[BW_WEBHOOK_SECRET_TEXT])
{
    uint8_t key[BW_WEBHOOK_KEY_LEN], sealed[BW_WEBHOOK_KEY_LEN + BW_SEAL_OVERHEAD];
    char context[BW_ENDPOINT_SEAL_CONTEXT_LEN];
    size_t len;
    bw_integrations_seal_context(call->tenant_id, endpoint_id, context);
    int err = bw_webhook_secret_new(key, text);
    if (err == 0)
        err = bw_seal(&svc->seal_keys.current, context, key, sizeof(key), sealed, &len);
    OPENSSL_cleanse(key, sizeof(key));
    if (err != 0)
        return err;
    *sealed_param = bw_store_bytea_param(call->arena, sealed, len);
    return *sealed_param != NULL ? 0 : BW_ENOMEM;
}

int bw_integrations_insert_capped(bw_call_t *call, const char *kind, const bw_db_stmt_t *insert,
                                  int n_values, const char *const *values, PGresult **res)
{
    bw_db_t *db = bw_service_db(call);
    int err = bw_db_begin(db, call->tenant_id);
    if (err != 0)
        return err;
    err = bw_db_exec_later(db, call->arena, &bw_integrations_stmt_create_lock, 1, &kind);
    if (err == 0)
        err = bw_db_exec(db, call->arena, insert, n_values, values, res);
    return bw_store_end(db, err);
}

int bw_endpoints_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__CreateWebhookEndpointRequest *req = (const void *)request;
    static const bw_endpoint_pb_t empty = BULWARK__INTEGRATIONS__V1__WEBHOOK_ENDPOINT__INIT;
    const bw_endpoint_pb_t *in = req->webhook_endpoint != NULL ? req->webhook_endpoint : &empty;
    const bw_integrations_t *svc = bw_service_data(call);
    const char *types, *sealed;
    char id[BW_UUID_STR_LEN + 1], text[BW_WEBHOOK_SECRET_TEXT] = "";
    PGresult *res;
    bw_endpoint_pb_t *e = NULL;
    int err = validate(call, svc, in, &types);
    if (err != 0)
        return err;
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    if ((err = new_secret(call, svc, id, &sealed, text)) != 0)
        goto out;
    const char *values[] = {id, in->url, types, in->description, in->disabled ? "t" : "f", sealed};
    err = bw_integrations_insert_capped(call, "webhook_endpoints", &stmt_insert, 6, values, &res);
    if (err != 0)
        goto out;
    if (PQntuples(res) == 0) {
        err = bw_call_fail(call, BW_EPRECOND, "TOO_MANY_WEBHOOK_ENDPOINTS",
                           "a tenant has at most " MAX_ENDPOINTS_PER_TENANT
                           " webhook endpoints; delete one first");
        goto out;
    }
    if ((err = from_row(call->arena, res, 0, &e)) != 0)
        goto out;
    if ((e->secret = bw_arena_strdup(call->arena, text)) == NULL)
        err = BW_ENOMEM;
out:
    OPENSSL_cleanse(text, sizeof(text));
    if (err == 0)
        *resp = &e->base;
    return err;
}

/* The endpoint id, or a 404 for anything that cannot be one. */
static int check_id(bw_call_t *call, const char *id)
{
    return bw_uuid_valid(id) ? 0 : not_found(call, id);
}

int bw_endpoints_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__GetWebhookEndpointRequest *req = (const void *)request;
    bw_endpoint_pb_t *e;
    int err = bw_store_uuid_get(call, &stmt_get, call->tenant_id, req->id, from_row, &e);
    if (err == 0)
        *resp = &e->base;
    return err == BW_ENOTFOUND ? not_found(call, req->id) : err;
}

int bw_endpoints_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__ListWebhookEndpointsRequest *req = (const void *)request;
    return bw_store_uuid_list(
        call, LIST_SCOPE, req->page_size, req->page_token, &stmt_list, call->tenant_id,
        &bulwark__integrations__v1__list_webhook_endpoints_response__descriptor,
        "webhook_endpoints", from_row, resp);
}

/* Copies the fields named by the mask from patch into e. */
static int merge(bw_call_t *call, bw_endpoint_pb_t *e, const bw_endpoint_pb_t *patch,
                 const Google__Protobuf__FieldMask *mask)
{
    for (size_t i = 0; mask != NULL && i < mask->n_paths; i++) {
        const char *p = mask->paths[i];
        if (strcmp(p, "url") == 0)
            e->url = patch->url;
        else if (strcmp(p, "event_types") == 0) {
            e->n_event_types = patch->n_event_types;
            e->event_types = patch->event_types;
        } else if (strcmp(p, "description") == 0)
            e->description = patch->description;
        else if (strcmp(p, "disabled") == 0)
            e->disabled = patch->disabled;
        else if (strcmp(p, "secret") == 0)
            e->secret = patch->secret;
        /* Output-only fields in a body are ignored (docs/DESIGN.md). */
        else if (strcmp(p, "id") != 0 && strcmp(p, "create_time") != 0 &&
                 strcmp(p, "update_time") != 0 && strcmp(p, "etag") != 0 &&
                 strcmp(p, "disabled_reason") != 0 && strcmp(p, "previous_secret_expire_time") != 0)
            return bw_call_violation(call, p, "cannot be changed");
    }
    return 0;
}

int bw_endpoints_update(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__UpdateWebhookEndpointRequest *req = (const void *)request;
    const bw_integrations_t *svc = bw_service_data(call);
    int err = check_id(call, req->id);
    if (err != 0)
        return err;
    bw_db_t *db = bw_service_db(call);
    const char *id = req->id, *types;
    PGresult *res;
    bw_endpoint_pb_t *e = NULL;
    if ((err = bw_store_begin_row(call, db, &stmt_get_for_update, 1, &id, id, COL_REVISION,
                                  &res)) != 0)
        return err == BW_ENOTFOUND ? not_found(call, id) : err;
    if ((err = from_row(call->arena, res, 0, &e)) != 0)
        goto out;
    int was_disabled = e->disabled;
    static const bw_endpoint_pb_t empty = BULWARK__INTEGRATIONS__V1__WEBHOOK_ENDPOINT__INIT;
    e->secret = "";
    if ((err = merge(call, e, req->webhook_endpoint != NULL ? req->webhook_endpoint : &empty,
                     req->update_mask)) != 0 ||
        (err = validate(call, svc, e, &types)) != 0)
        goto out;
    if (e->disabled && !was_disabled) {
        /* As when the service disables it: deliveries pause, and the
         * endpoints subscribed to webhook_endpoint.disabled hear of it. */
        const char *values[] = {id, e->url, types, e->description, "f"};
        if ((err = bw_db_exec(db, call->arena, &stmt_update, 5, values, NULL)) != 0 ||
            (err = bw_endpoints_disable(db, call->arena, &call->log, id, "disabled through the API",
                                        NULL)) != 0)
            goto out;
        err = bw_db_exec(db, call->arena, &stmt_get, 1, &id, &res);
    } else {
        const char *values[] = {id, e->url, types, e->description, e->disabled ? "t" : "f"};
        err = bw_db_exec(db, call->arena, &stmt_update, 5, values, &res);
        if (err == 0 && was_disabled && !e->disabled)
            err = bw_db_exec(db, call->arena, &stmt_resume, 1, &id, NULL);
    }
    if (err == 0)
        err = from_row(call->arena, res, 0, &e);
out:
    if ((err = bw_store_end(db, err)) == 0)
        *resp = &e->base;
    return err;
}

int bw_endpoints_delete(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__DeleteWebhookEndpointRequest *req = (const void *)request;
    int err = bw_store_uuid_delete(call, &stmt_delete, call->tenant_id, req->id, resp);
    return err == BW_ENOTFOUND ? not_found(call, req->id) : err;
}

int bw_endpoints_rotate_secret(bw_call_t *call, const ProtobufCMessage *request,
                               ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__RotateWebhookEndpointSecretRequest *req =
        (const void *)request;
    const bw_integrations_t *svc = bw_service_data(call);
    int err = check_id(call, req->id);
    if (err != 0)
        return err;
    bw_db_t *db = bw_service_db(call);
    const char *id = req->id, *sealed;
    char text[BW_WEBHOOK_SECRET_TEXT];
    PGresult *res;
    bw_endpoint_pb_t *e = NULL;
    if ((err = bw_store_begin_row(call, db, &stmt_get_for_update, 1, &id, id, COL_REVISION,
                                  &res)) != 0)
        return err == BW_ENOTFOUND ? not_found(call, id) : err;
    if ((err = new_secret(call, svc, id, &sealed, text)) != 0)
        goto out;
    const char *values[] = {id, sealed};
    if ((err = bw_db_exec(db, call->arena, &stmt_rotate, 2, values, &res)) != 0 ||
        (err = from_row(call->arena, res, 0, &e)) != 0)
        goto out;
    if ((e->secret = bw_arena_strdup(call->arena, text)) == NULL)
        err = BW_ENOMEM;
out:
    OPENSSL_cleanse(text, sizeof(text));
    if ((err = bw_store_end(db, err)) == 0)
        *resp = &e->base;
    return err;
}

int bw_endpoints_disable(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log,
                         const char *endpoint_id, const char *reason, int *disabled)
{
    PGresult *res;
    const char *values[] = {endpoint_id, reason};
    if (disabled != NULL)
        *disabled = 0;
    int err = bw_db_exec(db, arena, &stmt_disable, 2, values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0) {
        /* Already disabled, or gone. */
        err = bw_db_exec(db, arena, &stmt_get, 1, values, &res);
        if (err == 0 && PQntuples(res) == 0)
            err = BW_ENOTFOUND;
        return err;
    }
    bw_endpoint_pb_t *e;
    if ((err = from_row(arena, res, 0, &e)) != 0 ||
        (err = bw_db_exec(db, arena, &stmt_pause, 1, values, NULL)) != 0)
        return err;
    char resource[64];
    snprintf(resource, sizeof(resource), "webhook-endpoints/%s", endpoint_id);
    const char *data = bw_outbox_render(arena, &e->base);
    if (data == NULL)
        return BW_ENOMEM;
    err = bw_outbox_append(db, arena, log, "webhook_endpoint.disabled", resource, "", data);
    if (err == 0 && disabled != NULL)
        *disabled = 1;
    return err;
}
