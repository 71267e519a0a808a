/*
 * Tenants and API keys. A tenant is created together with its first admin
 * key in one transaction. A key's token is "bwk_<id>_<secret>"; only its
 * SHA-256 is stored, and the token is returned once, in the reply that
 * creates it (or rotates it: the new secret replaces the old, which stays
 * valid for the grace period the call gives). Revocation and rotation mark
 * the row, evict this gateway's cache entry once committed and notify the
 * other gateways through PostgreSQL's NOTIFY, delivered when the transaction
 * commits; a change of a tenant's state does the same for all its keys
 * (operator.c). The operator's routes on tenants are in operator.c.
 */
#include "tenancy.h"

#include "bulwark/attestations/v1/attestations.pb-c.h"
#include "bulwark/tenancy/v1/tenancy.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "ids.h"
#include "keycache.h"
#include "list.h"
#include "log.h"
#include "operator.h"
#include "request.h"
#include "roles.h"
#include "service.h"
#include "status.h"
#include "store.h"
#include "times.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_COLUMNS                                                                                \
    "key_id::text, name, role, COALESCE(board_member::text, ''), "                                 \
    "bulwark.epoch_us(create_time), "                                                              \
    "bulwark.epoch_us(update_time), revision, "                                                    \
    "bulwark.epoch_us(expire_time), "                                                              \
    "bulwark.epoch_us(last_use_time), "                                                            \
    "bulwark.epoch_us(previous_secret_expire_time)"

static const bw_db_stmt_t stmt_tenant_insert = {
    "tenancy_tenant_insert", "INSERT INTO tenancy.tenants (tenant_id, name) VALUES ($1, $2) "
                             "RETURNING " BW_TENANCY_TENANT_COLUMNS};
static const bw_db_stmt_t stmt_tenant_get = {"tenancy_tenant_get",
                                             "SELECT " BW_TENANCY_TENANT_COLUMNS
                                             " FROM tenancy.tenants WHERE tenant_id = $1"};
const bw_db_stmt_t bw_tenancy_stmt_tenant_get = {
    "tenancy_tenant_get_locked", "SELECT " BW_TENANCY_TENANT_COLUMNS ", bulwark.epoch_us(now()) "
                                 "FROM tenancy.tenants WHERE tenant_id = $1 FOR UPDATE"};
static const bw_db_stmt_t stmt_key_insert = {
    "tenancy_key_insert",
    "INSERT INTO tenancy.api_keys (tenant_id, key_id, name, role, secret_sha256, board_member, "
    "expire_time) VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, "
    "NULLIF($5, '')::uuid, 'epoch'::timestamptz + NULLIF($6, '')::bigint * interval '1 "
    "microsecond') "
    "RETURNING " KEY_COLUMNS};
/* A new secret; the old one, with a grace period, becomes the previous. */
static const bw_db_stmt_t stmt_key_rotate = {
    "tenancy_key_rotate",
    "UPDATE tenancy.api_keys SET "
    "previous_secret_sha256 = CASE WHEN $3::int > 0 THEN secret_sha256 END, "
    "previous_secret_expire_time = CASE WHEN $3::int > 0 "
    "THEN now() + make_interval(secs => $3::int) END, "
    "secret_sha256 = $2, update_time = now(), revision = revision + 1 "
    "WHERE key_id = $1 AND revoke_time IS NULL "
    "RETURNING " KEY_COLUMNS ", pg_notify('" BW_TENANCY_REVOKE_CHANNEL "', key_id::text)"};
static const bw_db_stmt_t stmt_key_list = {
    "tenancy_key_list",
    "SELECT " KEY_COLUMNS " FROM tenancy.api_keys WHERE revoke_time IS NULL "
    "AND key_id > COALESCE(NULLIF($1, '')::uuid, '00000000-0000-0000-0000-000000000000') "
    "ORDER BY key_id LIMIT $2::int"};
static const bw_db_stmt_t stmt_key_revoke = {
    "tenancy_key_revoke",
    "WITH k AS (UPDATE tenancy.api_keys SET revoke_time = now(), update_time = now(), "
    "revision = revision + 1 WHERE key_id = $1 AND revoke_time IS NULL RETURNING key_id, revision) "
    "SELECT key_id::text, pg_notify('" BW_TENANCY_REVOKE_CHANNEL "', key_id::text), "
    "revision - 1 FROM k"};
static const bw_db_stmt_t stmt_key_resolve = {
    "tenancy_key_resolve",
    "SELECT tenant_id::text, role, secret_sha256, COALESCE(board_member::text, ''), "
    "bulwark.epoch_us(expire_time), previous_secret_sha256, "
    "bulwark.epoch_us(previous_secret_expire_time), tenant_state "
    "FROM tenancy.resolve_api_key($1::uuid)"};

/* ListAuditEvents (list.h): $1 rows, $2 since, $3 until ('-infinity' and
 * 'infinity' when not given: plain bounds are index conditions, where a
 * COALESCE left a generic plan to a bitmap scan and a sort),
 * $4 action, $5 outcome, $6 service, $7 principal, $8 resource, $9 request
 * id, then the key and the id. since and until bound the range scan of
 * audit_events_time itself, so a window far back costs what a recent one does. */
#define AUDIT_SELECT                                                                               \
    "SELECT event_id::text, bulwark.epoch_us(occur_time), service, action, "                       \
    "resource, principal, request_id, outcome, reason, trace_id, "                                 \
    "bulwark.epoch_us(occur_time)::text AS list_key, "                                             \
    "event_id::text AS list_id FROM bulwark.audit_events a "                                       \
    "WHERE a.occur_time >= $2::timestamptz AND a.occur_time < $3::timestamptz "                    \
    "AND ($4::text IS NULL OR a.action = $4::text) AND ($5::text IS NULL OR a.outcome = "          \
    "$5::text) "                                                                                   \
    "AND ($6::text IS NULL OR a.service = $6::text) "                                              \
    "AND ($7::text IS NULL OR a.principal = $7::text) "                                            \
    "AND ($8::text IS NULL OR a.resource = $8::text) "                                             \
    "AND ($9::text IS NULL OR a.request_id = $9::text)"
static const bw_db_stmt_t audit_by_time[4] =
    BW_LIST_ORDER_STMTS("tenancy_audit_by_time", AUDIT_SELECT, "a.occur_time", "a.event_id",
                        "$10::timestamptz", "$11::uuid");

const bw_db_stmt_t *const bw_tenancy_stmts[] = {
    &stmt_tenant_insert,
    &stmt_tenant_get,
    &stmt_key_insert,
    &stmt_key_list,
    &stmt_key_rotate,
    &stmt_key_revoke,
    &stmt_key_resolve,
    &audit_by_time[0],
    &audit_by_time[1],
    &audit_by_time[2],
    &audit_by_time[3],
    &bw_tenancy_stmt_tenant_get,
    /* The operator's routes (operator.c). */
    &bw_operator_stmt_list,
    &bw_operator_stmt_set_state,
    &bw_operator_stmt_notify,
    &bw_operator_stmt_certificate,
};
const size_t bw_tenancy_n_stmts = sizeof(bw_tenancy_stmts) / sizeof(bw_tenancy_stmts[0]);

#define KEYS_SCOPE "api-keys"
#define NAME_MAX_LEN 200
/* An expiry at most 10 years ahead; a rotation's grace period at most 7 days. */
#define KEY_MAX_LIFETIME_SEC (3653LL * 86400)
#define ROTATION_GRACE_MAX_SEC (7 * 86400)

int bw_tenancy_row_to_tenant(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Tenancy__V1__Tenant *t = bw_arena_alloc(arena, sizeof(*t));
    char *etag = bw_arena_alloc(arena, 17);
    if (t == NULL || etag == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__tenant__init(t);
    if (BW_STORE_COLUMNS(arena, res, row, {0, &t->id}, {1, &t->name}, {7, &t->suspend_reason},
                         {2, .time = &t->create_time}, {3, .time = &t->update_time},
                         {6, .time = &t->suspend_time}) != 0)
        return BW_ENOMEM;
    bw_etag(t->id, bw_store_int(res, row, 4), etag);
    t->etag = etag;
    t->state = strcmp(bw_store_text(res, row, 5), "SUSPENDED") == 0
                   ? BULWARK__TENANCY__V1__TENANT__STATE__SUSPENDED
                   : BULWARK__TENANCY__V1__TENANT__STATE__ACTIVE;
    *(Bulwark__Tenancy__V1__Tenant **)out = t;
    return 0;
}

/* The key of a row, without its secret, on arena, into
 * *(Bulwark__Tenancy__V1__ApiKey **)out (a bw_store_row_fn). */
static int row_to_key(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Tenancy__V1__ApiKey *k = bw_arena_alloc(arena, sizeof(*k));
    char *etag = bw_arena_alloc(arena, 17);
    if (k == NULL || etag == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__api_key__init(k);
    if (BW_STORE_COLUMNS(arena, res, row, {0, &k->id}, {1, &k->name}, {2, &k->role},
                         {3, &k->board_member}, {4, .time = &k->create_time},
                         {5, .time = &k->update_time}, {7, .time = &k->expire_time},
                         {8, .time = &k->last_use_time},
                         {9, .time = &k->previous_secret_expire_time}) != 0)
        return BW_ENOMEM;
    bw_etag(k->id, bw_store_int(res, row, 6), etag);
    k->etag = etag;
    *(Bulwark__Tenancy__V1__ApiKey **)out = k;
    return 0;
}

static int check_name(bw_call_t *call, const char *field, const char *name)
{
    if (name[0] == '\0')
        return bw_call_violation(call, field, "is required");
    if (strlen(name) > NAME_MAX_LEN)
        return bw_call_violation(call, field, "must be at most %d characters", NAME_MAX_LEN);
    return 0;
}

/* Inserts a new key inside the open transaction and returns it with its
 * token, which exists only in this reply. */
/* A new token for key_id: the token (on the arena) and its SHA-256 as a
 * bytea parameter. */
static int new_token(bw_call_t *call, const char *key_id, char **token, char **digest_param)
{
    char secret[64], digest_hex[2 * BW_SHA256_LEN + 1];
    uint8_t digest[BW_SHA256_LEN];
    *token = bw_arena_alloc(call->arena, 160);
    if (*token == NULL)
        return BW_ENOMEM;
    if (bw_random_token(secret, sizeof(secret), 32) != 0 ||
        bw_token_format(key_id, secret, *token, 160) != 0)
        return BW_EINTERNAL;
    bw_sha256(*token, strlen(*token), digest);
    bw_hex(digest, sizeof(digest), digest_hex);
    *digest_param = bw_arena_printf(call->arena, "\\x%s", digest_hex);
    return *digest_param != NULL ? 0 : BW_ENOMEM;
}

/* Microseconds of a Timestamp as text, "" when unset. */
static const char *micros_param(bw_call_t *call, const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL)
        return "";
    return bw_arena_printf(call->arena, "%lld", (long long)bw_time_us(ts->seconds, ts->nanos));
}

static int insert_key(bw_call_t *call, bw_db_t *db, const char *name, const char *role,
                      const char *board_member, const Google__Protobuf__Timestamp *expire,
                      Bulwark__Tenancy__V1__ApiKey **out)
{
    char key_id[BW_UUID_STR_LEN + 1];
    char *token, *digest_param;
    if (bw_uuid_v7(key_id) != 0)
        return BW_EINTERNAL;
    int err = new_token(call, key_id, &token, &digest_param);
    if (err != 0)
        return err;
    const char *values[] = {key_id,       name,         role,
                            digest_param, board_member, micros_param(call, expire)};
    PGresult *res;
    err = bw_db_exec(db, call->arena, &stmt_key_insert, 6, values, &res);
    if (err != 0)
        return err;
    if ((err = row_to_key(call->arena, res, 0, out)) != 0)
        return err;
    (*out)->secret = token;
    return 0;
}

static int create_tenant(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__CreateTenantRequest *req = (const void *)request;
    const char *key_name = req->admin_key_name[0] ? req->admin_key_name : "admin";
    int bad = check_name(call, "name", req->name) != 0;
    bad |= check_name(call, "adminKeyName", key_name) != 0;
    if (bad)
        return BW_EINVAL;
    char tenant_id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(tenant_id) != 0)
        return BW_EINTERNAL;
    Bulwark__Tenancy__V1__CreateTenantResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__create_tenant_response__init(out);
    bw_db_t *db = bw_service_db(call);
    int err = bw_db_begin(db, tenant_id);
    if (err != 0)
        return err;
    const char *values[] = {tenant_id, req->name};
    PGresult *res;
    if ((err = bw_db_exec(db, call->arena, &stmt_tenant_insert, 2, values, &res)) != 0 ||
        (err = bw_tenancy_row_to_tenant(call->arena, res, 0, &out->tenant)) != 0 ||
        (err = insert_key(call, db, key_name, "admin", "", NULL, &out->api_key)) != 0 ||
        (err = bw_db_commit(db)) != 0) {
        bw_db_rollback(db);
        return err;
    }
    bw_log(BW_LOG_INFO, &call->log, "created tenant %s", tenant_id);
    *resp = &out->base;
    return 0;
}

static int get_tenant(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__GetTenantRequest *req = (const void *)request;
    /* A tenant sees only itself: another id answers exactly as a missing one. */
    if (!bw_uuid_valid(req->id) || call->tenant_id == NULL)
        return bw_call_fail(call, BW_ENOTFOUND, "TENANT_NOT_FOUND", "tenant %s not found", req->id);
    const char *id = req->id;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_tenant_get, 1,
                          &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "TENANT_NOT_FOUND", "tenant %s not found", id);
    Bulwark__Tenancy__V1__Tenant *t;
    if ((err = bw_tenancy_row_to_tenant(call->arena, res, 0, &t)) != 0)
        return err;
    *resp = &t->base;
    return 0;
}

#define GET_BOARD_MEMBER "/bulwark.attestations.v1.AttestationService/GetBoardMember"

/* Whether board_member names a member of the caller's tenant now in office,
 * asked of the attestations service, which keeps the board members: 0, or
 * the call's failure (a violation of boardMember, or unavailable). */
static int check_board_member(bw_call_t *call, const char *board_member)
{
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    Bulwark__Attestations__V1__GetBoardMemberRequest req =
        BULWARK__ATTESTATIONS__V1__GET_BOARD_MEMBER_REQUEST__INIT;
    req.id = (char *)board_member;
    uint8_t buf[128];
    size_t len = bulwark__attestations__v1__get_board_member_request__pack(&req, buf);
    char traceparent[BW_TRACEPARENT_LEN + 1];
    bw_rpc_md_t md[] = {{"x-tenant-id", call->tenant_id},
                        {"x-request-id", call->request_id != NULL ? call->request_id : ""},
                        {"x-principal", call->principal != NULL ? call->principal : ""},
                        {"x-roles", "admin"},
                        {"traceparent", traceparent}};
    size_t n_md = bw_call_traceparent(call, traceparent) == 0 ? 5 : 4;
    bw_rpc_reply_t reply;
    int err = bw_rpc_pool_call(cfg->attestations, call->arena, GET_BOARD_MEMBER, buf, len, md, n_md,
                               cfg->timeout_ms, &reply);
    if (err == 0 && reply.status == BW_GRPC_NOT_FOUND)
        return bw_call_violation(call, "boardMember", "no board member %s in this tenant",
                                 board_member);
    Bulwark__Attestations__V1__BoardMember *m = NULL;
    if (err == 0 && reply.status == BW_GRPC_OK)
        m = bulwark__attestations__v1__board_member__unpack(
            bw_arena_protobuf_allocator(call->arena), reply.payload_len, reply.payload);
    if (m == NULL)
        return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                            "the attestations service cannot check the board member right now; "
                            "retry later");
    if (!m->in_office)
        return bw_call_violation(call, "boardMember",
                                 "board member %s is not in office: their tenure does not cover "
                                 "now",
                                 board_member);
    return 0;
}

static int create_api_key(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__CreateApiKeyRequest *req = (const void *)request;
    int bad = check_name(call, "name", req->name) != 0;
    if (bw_role_bit(req->role, strlen(req->role)) == 0)
        bad |= bw_call_violation(call, "role",
                                 "\"%s\" is not a role; expected admin, editor, auditor, viewer "
                                 "or board_member",
                                 req->role) != 0;
    int is_member = strcmp(req->role, "board_member") == 0;
    if (is_member && !bw_uuid_valid(req->board_member))
        bad |= bw_call_violation(call, "boardMember",
                                 "a board_member key needs the id of the board member it signs "
                                 "as") != 0;
    if (!is_member && req->board_member[0] != '\0')
        bad |= bw_call_violation(call, "boardMember",
                                 "only a board_member key names a board "
                                 "member") != 0;
    if (req->expire_time != NULL) {
        long long now = (long long)time(NULL), at = (long long)req->expire_time->seconds;
        if (at <= now)
            bad |= bw_call_violation(call, "expireTime", "must be in the future") != 0;
        else if (at - now > KEY_MAX_LIFETIME_SEC)
            bad |= bw_call_violation(call, "expireTime", "must be at most 10 years ahead") != 0;
    }
    if (bad)
        return BW_EINVAL;
    int err;
    if (is_member && (err = check_board_member(call, req->board_member)) != 0)
        return err;
    bw_db_t *db = bw_service_db(call);
    Bulwark__Tenancy__V1__ApiKey *key;
    err = bw_db_begin(db, call->tenant_id);
    if (err != 0)
        return err;
    if ((err = insert_key(call, db, req->name, req->role, req->board_member, req->expire_time,
                          &key)) != 0 ||
        (err = bw_db_commit(db)) != 0) {
        bw_db_rollback(db);
        return err;
    }
    *resp = &key->base;
    return 0;
}

static int list_api_keys(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ListApiKeysRequest *req = (const void *)request;
    return bw_store_uuid_list(
        call, KEYS_SCOPE, req->page_size, req->page_token, &stmt_key_list, call->tenant_id,
        &bulwark__tenancy__v1__list_api_keys_response__descriptor, "api_keys", row_to_key, resp);
}

/* A key to evict from this gateway's cache once the change is committed. */
typedef struct eviction {
    bw_keycache_t *keys;
    const char *key_id;
} eviction_t;

static void evict_key(void *arg)
{
    const eviction_t *e = arg;
    bw_keycache_evict(e->keys, e->key_id);
}

/* Evicted once committed: evicted before, a lookup in flight could still
 * read the row as valid and put the key back. */
static int evict_after_commit(bw_call_t *call, const char *key_id)
{
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    eviction_t *e = bw_arena_alloc(call->arena, sizeof(*e));
    if (e == NULL || (e->key_id = bw_arena_strdup(call->arena, key_id)) == NULL)
        return BW_ENOMEM;
    e->keys = cfg->keys;
    return bw_request_after_commit(call, evict_key, e) != 0 ? BW_ENOMEM : 0;
}

static int delete_api_key(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__DeleteApiKeyRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return bw_call_fail(call, BW_ENOTFOUND, "API_KEY_NOT_FOUND", "API key %s not found",
                            req->id);
    const char *id = req->id;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_key_revoke, 1,
                          &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "API_KEY_NOT_FOUND", "API key %s not found", id);
    if ((err = bw_store_check_etag(call, id, bw_store_int(res, 0, 2))) != 0)
        return err;
    if (evict_after_commit(call, PQgetvalue(res, 0, 0)) != 0)
        return BW_ENOMEM;
    bw_log(BW_LOG_INFO, &call->log, "revoked API key %s", id);
    Google__Protobuf__Empty *empty = bw_arena_alloc(call->arena, sizeof(*empty));
    if (empty == NULL)
        return BW_ENOMEM;
    google__protobuf__empty__init(empty);
    *resp = &empty->base;
    return 0;
}

static int rotate_api_key(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__RotateApiKeyRequest *req = (const void *)request;
    if (req->grace_period_seconds < 0 || req->grace_period_seconds > ROTATION_GRACE_MAX_SEC)
        return bw_call_violation(call, "gracePeriodSeconds",
                                 "must be between 0 (the old secret stops at once) and %d (7 days)",
                                 ROTATION_GRACE_MAX_SEC);
    if (!bw_uuid_valid(req->id))
        return bw_call_fail(call, BW_ENOTFOUND, "API_KEY_NOT_FOUND", "API key %s not found",
                            req->id);
    char *token, *digest_param;
    int err = new_token(call, req->id, &token, &digest_param);
    if (err != 0)
        return err;
    char grace[16];
    snprintf(grace, sizeof(grace), "%d", req->grace_period_seconds);
    const char *values[] = {req->id, digest_param, grace};
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_key_rotate, 3,
                      values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "API_KEY_NOT_FOUND", "API key %s not found",
                            req->id);
    /* If-Match names the revision before this one. */
    if ((err = bw_store_check_etag(call, req->id, bw_store_int(res, 0, 6) - 1)) != 0)
        return err;
    Bulwark__Tenancy__V1__ApiKey *key;
    if ((err = row_to_key(call->arena, res, 0, &key)) != 0)
        return err;
    key->secret = token;
    /* Evicted once committed, as a revocation is: the next request with
     * either secret resolves the key again. */
    if (evict_after_commit(call, key->id) != 0)
        return BW_ENOMEM;
    bw_log(BW_LOG_INFO, &call->log, "rotated API key %s (old secret valid for %d s)", key->id,
           req->grace_period_seconds);
    *resp = &key->base;
    return 0;
}

static int resolve_api_key(bw_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ResolveApiKeyRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->key_id))
        return bw_call_fail(call, BW_ENOTFOUND, "API_KEY_NOT_FOUND", "no such API key");
    const char *id = req->key_id;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, NULL, &stmt_key_resolve, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "API_KEY_NOT_FOUND", "no such API key");
    Bulwark__Tenancy__V1__ResolveApiKeyResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__resolve_api_key_response__init(out);
    out->tenant_id = bw_store_strdup(call->arena, res, 0, 0);
    out->key_id = bw_arena_strdup(call->arena, id);
    out->role = bw_store_strdup(call->arena, res, 0, 1);
    out->board_member = bw_store_strdup(call->arena, res, 0, 3);
    if ((err = bw_store_bytea(call->arena, res, 0, 2, &out->secret_sha256.data,
                              &out->secret_sha256.len)) != 0)
        return err;
    if ((err = bw_store_timestamp(call->arena, res, 0, 4, &out->expire_time)) != 0)
        return err;
    if (!PQgetisnull(res, 0, 5) &&
        (err = bw_store_bytea(call->arena, res, 0, 5, &out->previous_secret_sha256.data,
                              &out->previous_secret_sha256.len)) != 0)
        return err;
    if ((err = bw_store_timestamp(call->arena, res, 0, 6, &out->previous_secret_expire_time)) != 0)
        return err;
    out->tenant_suspended = strcmp(bw_store_text(res, 0, 7), "SUSPENDED") == 0;
    *resp = &out->base;
    return 0;
}

static int resolve_tenant(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ResolveTenantRequest *req = (const void *)request;
    /* The tenant's own row, read with the tenant set: row-level security
     * shows it only to itself. */
    if (!bw_uuid_valid(req->tenant_id) ||
        strcmp(req->tenant_id, "00000000-0000-0000-0000-000000000000") == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "TENANT_NOT_FOUND", "no such tenant");
    const char *id = req->tenant_id;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, id, &stmt_tenant_get, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "TENANT_NOT_FOUND", "no such tenant");
    Bulwark__Tenancy__V1__ResolveTenantResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__resolve_tenant_response__init(out);
    out->tenant_id = bw_store_strdup(call->arena, res, 0, 0);
    out->suspended = strcmp(bw_store_text(res, 0, 5), "SUSPENDED") == 0;
    *resp = &out->base;
    return 0;
}

/* The filter fields, in the order of the statement's parameters $4..$9. */
enum {
    AUDIT_ACTION,
    AUDIT_OUTCOME,
    AUDIT_SERVICE,
    AUDIT_PRINCIPAL,
    AUDIT_RESOURCE,
    AUDIT_REQUEST_ID
};
static const bw_list_filter_t audit_filters[] = {
    {"action", BW_LIST_TEXT, NULL, 512},   {"outcome", BW_LIST_TEXT, NULL, 512},
    {"service", BW_LIST_TEXT, NULL, 512},  {"principal", BW_LIST_TEXT, NULL, 512},
    {"resource", BW_LIST_TEXT, NULL, 512}, {"requestId", BW_LIST_TEXT, NULL, 512},
};
static const bw_list_order_t audit_orders[] = {
    {"time", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(audit_by_time)},
};
static const bw_list_spec_t audit_spec = {
    .name = "audit-events",
    .id = BW_LIST_ID_UUID,
    .orders = audit_orders,
    .n_orders = 1,
    .default_order = 0,
    .default_desc = 1, /* newest first */
    .since_order = 0,
    .filters = audit_filters,
    .n_filters = sizeof(audit_filters) / sizeof(audit_filters[0]),
};

/* A Timestamp as RFC 3339 text with microseconds, unset when unset; a
 * violation of field when it has no such text. */
static int time_param(bw_call_t *call, const char *field, const Google__Protobuf__Timestamp *ts,
                      const char *unset, const char **out)
{
    *out = unset;
    if (ts == NULL)
        return 0;
    char *text = bw_arena_alloc(call->arena, BW_LIST_TIME_TEXT);
    if (text == NULL)
        return BW_ENOMEM;
    int64_t us;
    if (bw_time_us_checked(ts->seconds, ts->nanos, &us) != 0 ||
        bw_list_format_time(us, text, BW_LIST_TIME_TEXT) != 0)
        return bw_call_violation(call, field,
                                 "must be an RFC 3339 time between years 0001 and 9999");
    *out = text;
    return 0;
}

/* An audit event from row of res (AUDIT_SELECT's columns), on arena, into
 * *(Bulwark__Tenancy__V1__AuditEvent **)out (a bw_store_row_fn). */
static int row_to_audit_event(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Tenancy__V1__AuditEvent *e = bw_arena_alloc(arena, sizeof(*e));
    if (e == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__audit_event__init(e);
    if (BW_STORE_COLUMNS(arena, res, row, {0, &e->id}, {1, .time = &e->time}, {2, &e->service},
                         {3, &e->action}, {4, &e->resource}, {5, &e->principal},
                         {6, &e->request_id}, {7, &e->outcome}, {8, &e->reason},
                         {9, &e->trace_id}) != 0)
        return BW_ENOMEM;
    *(Bulwark__Tenancy__V1__AuditEvent **)out = e;
    return 0;
}

static int list_audit_events(bw_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ListAuditEventsRequest *req = (const void *)request;
    bw_list_query_t q = {req->page_size, req->page_token, req->order_by, req->filter,
                         req->updated_since};
    /* The filters that are parameters of their own too ("" is not given). */
    const char *given[] = {[AUDIT_ACTION] = req->action,
                           [AUDIT_OUTCOME] = req->outcome,
                           [AUDIT_SERVICE] = "",
                           [AUDIT_PRINCIPAL] = req->principal,
                           [AUDIT_RESOURCE] = req->resource,
                           [AUDIT_REQUEST_ID] = req->request_id};
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
        q.params[i] = given[i][0] != '\0' ? given[i] : NULL;
    const char *window[2];
    int bad = 0, err;
    for (int i = 0; i < 2; i++) {
        err = time_param(call, i == 0 ? "since" : "until", i == 0 ? req->since : req->until,
                         i == 0 ? "-infinity" : "infinity", &window[i]);
        if (err == BW_ENOMEM)
            return err;
        bad |= err != 0;
    }
    bw_list_t list;
    if ((err = bw_list_parse(call, &audit_spec, &q, &list)) != 0 || bad)
        return err != 0 ? err : BW_EINVAL;
    PGresult *res;
    err = bw_list_read(call, bw_service_db(call), &list, window, 2, &res);
    if (err != 0)
        return err;
    return bw_list_response(call, &list, res, PQntuples(res),
                            &bulwark__tenancy__v1__list_audit_events_response__descriptor,
                            "audit_events", row_to_audit_event, NULL, resp);
}

const bw_rpc_handler_t bw_tenancy_handlers[] = {
    {"CreateTenant", create_tenant, BW_RPC_WRITE | BW_RPC_SECRET_REPLY},
    {"ListTenants", bw_operator_list_tenants},
    {"SuspendTenant", bw_operator_suspend_tenant, BW_RPC_WRITE},
    {"ResumeTenant", bw_operator_resume_tenant, BW_RPC_WRITE},
    {"ExportTenant", bw_operator_export_tenant},
    {"DeleteTenant", bw_operator_delete_tenant, BW_RPC_WRITE},
    {"RotateApiKey", rotate_api_key, BW_RPC_WRITE | BW_RPC_SECRET_REPLY},
    {"GetTenant", get_tenant},
    {"CreateApiKey", create_api_key, BW_RPC_WRITE | BW_RPC_SECRET_REPLY},
    {"ListApiKeys", list_api_keys},
    {"DeleteApiKey", delete_api_key, BW_RPC_WRITE},
    {"ListAuditEvents", list_audit_events},
    {"ResolveApiKey", resolve_api_key},
    {"ResolveTenant", resolve_tenant},
};
const size_t bw_tenancy_n_handlers = sizeof(bw_tenancy_handlers) / sizeof(bw_tenancy_handlers[0]);

/* ---- revocation listener ---------------------------------------------- */

struct bw_tenancy_listener {
    const char *database_url;
    bw_keycache_t *keys;
    bw_tenantcache_t *tenants;
    pthread_t thread;
    atomic_int stop;
};

static PGconn *listen_connect(const char *url)
{
    PGconn *conn = bw_db_pq_connect(url);
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, "LISTEN " BW_TENANCY_REVOKE_CHANNEL "; "
                                     "LISTEN " BW_TENANCY_TENANT_CHANNEL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (ok)
            return conn;
    }
    PQfinish(conn);
    return NULL;
}

static void *listener_main(void *arg)
{
    bw_tenancy_listener_t *l = arg;
    PGconn *conn = NULL;
    while (!atomic_load(&l->stop)) {
        if (conn == NULL) {
            conn = listen_connect(l->database_url);
            /* Revocations and suspensions may have been missed while
             * disconnected. */
            bw_keycache_clear(l->keys);
            bw_tenantcache_clear(l->tenants);
            if (conn == NULL) {
                bw_log(BW_LOG_WARN, NULL, "revocation listener cannot connect, retrying");
                for (int i = 0; i < 10 && !atomic_load(&l->stop); i++)
                    usleep(100000);
                continue;
            }
        }
        struct pollfd pfd = {PQsocket(conn), POLLIN, 0};
        int n = poll(&pfd, 1, 200);
        if (n <= 0)
            continue;
        if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = NULL;
            continue;
        }
        PGnotify *note;
        while ((note = PQnotifies(conn)) != NULL) {
            if (strcmp(note->relname, BW_TENANCY_TENANT_CHANNEL) == 0)
                bw_tenancy_forget_tenant(l->keys, l->tenants, note->extra);
            else
                bw_keycache_evict(l->keys, note->extra);
            PQfreemem(note);
        }
    }
    PQfinish(conn);
    return NULL;
}

void bw_tenancy_forget_tenant(bw_keycache_t *keys, bw_tenantcache_t *tenants, const char *tenant_id)
{
    bw_keycache_evict_tenant(keys, tenant_id);
    if (tenants != NULL)
        bw_tenantcache_forget(tenants, tenant_id);
}

int bw_tenancy_listener_start(const char *database_url, bw_keycache_t *keys,
                              bw_tenantcache_t *tenants, bw_tenancy_listener_t **out)
{
    bw_tenancy_listener_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return BW_ENOMEM;
    l->database_url = database_url;
    l->keys = keys;
    l->tenants = tenants;
    atomic_init(&l->stop, 0);
    if (pthread_create(&l->thread, NULL, listener_main, l) != 0) {
        free(l);
        return BW_EINTERNAL;
    }
    *out = l;
    return 0;
}

void bw_tenancy_listener_stop(bw_tenancy_listener_t *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    free(l);
}
