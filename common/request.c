/*
 * The shared write path; see request.h. The order inside the request
 * transaction is: the tenant setting, the idempotency lock and lookup (only
 * with a key), the handler, the audit row, the idempotency record, COMMIT.
 * The idempotency lock is a transaction-scoped advisory lock on the tenant
 * and key, so a second request with the same key learns at once that the
 * first is in flight instead of waiting for it.
 */
#include "request.h"

#include "ids.h"
#include "log.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Operator calls (no tenant yet) scope their keys and audit rows here. */
#define OPERATOR_SCOPE "00000000-0000-0000-0000-000000000000"
#define IDEMPOTENCY_TTL "24 hours"

static const bw_db_stmt_t stmt_idem_lock = {
    "bw_idem_lock", "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7130))"};
static const bw_db_stmt_t stmt_idem_get = {
    "bw_idem_get", "SELECT method, fingerprint, response FROM bulwark.idempotency_keys "
                   "WHERE tenant_id = $1::uuid AND idem_key = $2 "
                   "AND create_time > now() - interval '" IDEMPOTENCY_TTL "'"};
static const bw_db_stmt_t stmt_idem_put = {
    "bw_idem_put",
    "INSERT INTO bulwark.idempotency_keys (tenant_id, idem_key, method, fingerprint, response) "
    "VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT (tenant_id, idem_key) DO UPDATE "
    "SET method = EXCLUDED.method, fingerprint = EXCLUDED.fingerprint, "
    "response = EXCLUDED.response, create_time = now() "
    "WHERE bulwark.idempotency_keys.create_time <= now() - interval '" IDEMPOTENCY_TTL "'"};
/* Expired records of every tenant; bulwark.purge_idempotency_keys (common
 * migration 0003) holds the same TTL. */
static const bw_db_stmt_t stmt_idem_purge = {"bw_idem_purge",
                                             "SELECT bulwark.purge_idempotency_keys()"};
static const bw_db_stmt_t stmt_audit = {
    "bw_audit",
    "INSERT INTO bulwark.audit_events (tenant_id, event_id, service, action, resource, "
    "principal, request_id, outcome, reason, trace_id) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, $5, $6, $7, $8, $9)"};

const bw_db_stmt_t *const bw_request_stmts[] = {
    &stmt_idem_lock,
    &stmt_idem_get,
    &stmt_idem_put,
    &stmt_audit,
};
const size_t bw_request_n_stmts = sizeof(bw_request_stmts) / sizeof(bw_request_stmts[0]);

struct bw_call_hook {
    void (*fn)(void *arg);
    void *arg;
    struct bw_call_hook *next;
};

int bw_request_after_commit(bw_call_t *call, void (*fn)(void *arg), void *arg)
{
    struct bw_call_hook *h = bw_arena_alloc(call->arena, sizeof(*h));
    if (h == NULL)
        return BW_ENOMEM;
    h->fn = fn;
    h->arg = arg;
    h->next = NULL;
    struct bw_call_hook **tail = &call->after_commit;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = h;
    return 0;
}

static void run_after_commit(bw_call_t *call)
{
    for (struct bw_call_hook *h = call->after_commit; h != NULL; h = h->next)
        h->fn(h->arg);
    call->after_commit = NULL;
}

void bw_request_action(const char *path, char *buf, size_t len)
{
    /* "/bulwark.<service>.v1.<Service>/<Method>" */
    const char *svc = strncmp(path, "/bulwark.", 9) == 0 ? path + 9 : path;
    size_t svc_len = strcspn(svc, ".");
    const char *method = strrchr(path, '/');
    snprintf(buf, len, "%.*s.%s", (int)svc_len, svc, method != NULL ? method + 1 : path);
}

/* The resource a write concerns: the reply's id, else the request's id, else
 * the first id-looking string field of the request (an entity, an incident). */
static const char *resource_of(const ProtobufCMessage *request, const ProtobufCMessage *response)
{
    const ProtobufCMessage *msgs[2] = {response, request};
    for (int m = 0; m < 2; m++) {
        if (msgs[m] == NULL)
            continue;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(msgs[m]->descriptor, "id");
        if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
            f->label != PROTOBUF_C_LABEL_REPEATED) {
            const char *id = *(char *const *)((const char *)msgs[m] + f->offset);
            if (id != NULL && *id != '\0')
                return id;
        }
    }
    const ProtobufCMessageDescriptor *d = request->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        const char *v = *(char *const *)((const char *)request + f->offset);
        if (v != NULL && bw_uuid_valid(v))
            return v;
    }
    return "";
}

static int audit(bw_call_t *call, bw_db_t *db, const char *action, const char *resource, int err)
{
    char event_id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(event_id) != 0)
        return BW_EINTERNAL;
    const char *outcome = err == 0 ? "OK" : bw_status_grpc_name(bw_status_grpc_code(err));
    const char *reason = err == 0               ? ""
                         : call->reason != NULL ? call->reason
                                                : bw_status_default_reason(err);
    const char *service = bw_arena_strndup(call->arena, action, strcspn(action, "."));
    if (service == NULL)
        return BW_ENOMEM;
    const char *values[] = {event_id,
                            service,
                            action,
                            resource,
                            call->principal != NULL ? call->principal : "",
                            call->request_id != NULL ? call->request_id : "",
                            outcome,
                            reason,
                            call->trace.trace_id};
    /* Nothing reads the row back: it goes with the COMMIT's round trip. */
    return bw_db_exec_later(db, call->arena, &stmt_audit, 9, values);
}

/* Records a failed write on its own, after the rollback; an operator's
 * in the operator's scope. */
static void audit_failure(bw_call_t *call, bw_db_t *db, const char *action,
                          const ProtobufCMessage *request, int err)
{
    const char *tenant = call->tenant_id != NULL ? call->tenant_id : OPERATOR_SCOPE;
    if (bw_db_request_begin(db, tenant) != 0)
        return;
    int rc = audit(call, db, action, resource_of(request, NULL), err);
    if (bw_db_request_end(db, rc == 0) != 0 || rc != 0)
        bw_log(BW_LOG_WARN, &call->log, "could not record the failed %s in the audit trail",
               action);
}

/* The fingerprint of a request: SHA-256 over the method and the request's
 * canonical serialization. */
static int fingerprint(bw_call_t *call, const bw_rpc_method_t *method,
                       const ProtobufCMessage *request, char **hex_param)
{
    size_t path_len = strlen(method->path);
    size_t len = protobuf_c_message_get_packed_size(request);
    uint8_t *buf = bw_arena_alloc(call->arena, path_len + 1 + len);
    if (buf == NULL)
        return BW_ENOMEM;
    memcpy(buf, method->path, path_len + 1);
    protobuf_c_message_pack(request, buf + path_len + 1);
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(buf, path_len + 1 + len, digest);
    *hex_param = bw_store_bytea_param(call->arena, digest, sizeof(digest));
    return *hex_param != NULL ? 0 : BW_ENOMEM;
}

/* Looks the key up. Returns 0 to go on (nothing stored), 1 with *response
 * set to the stored reply, or a BW_E* failure. */
static int idempotency_check(bw_call_t *call, bw_db_t *db, const bw_rpc_method_t *method,
                             const char *scope, const char *fp, ProtobufCMessage **response)
{
    const char *values[] = {scope, call->idempotency_key};
    PGresult *res;
    int err = bw_db_exec(db, call->arena, &stmt_idem_lock, 2, values, &res);
    if (err != 0)
        return err;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        return bw_call_fail(call, BW_ECONFLICT, "IDEMPOTENCY_KEY_IN_FLIGHT",
                            "a request with this Idempotency-Key is still in flight");
    if ((err = bw_db_exec(db, call->arena, &stmt_idem_get, 2, values, &res)) != 0)
        return err;
    if (PQntuples(res) == 0)
        return 0;
    uint8_t *stored_fp, *stored;
    size_t fp_len, stored_len;
    if ((err = bw_store_bytea(call->arena, res, 0, 1, &stored_fp, &fp_len)) != 0 ||
        (err = bw_store_bytea(call->arena, res, 0, 2, &stored, &stored_len)) != 0)
        return err;
    char fp_hex[2 * BW_SHA256_LEN + 1];
    bw_hex(stored_fp, fp_len < BW_SHA256_LEN ? fp_len : BW_SHA256_LEN, fp_hex);
    if (strcmp(PQgetvalue(res, 0, 0), method->path) != 0 || fp_len != BW_SHA256_LEN ||
        strcmp(fp + 2, fp_hex) != 0)
        return bw_call_fail(call, BW_EINVAL, "IDEMPOTENCY_KEY_REUSED",
                            "this Idempotency-Key was used with another request in the last 24 "
                            "hours");
    /* Whatever the row holds, a secret is never handed out twice (rows
     * written before the method was flagged included). */
    if (method->flags & BW_RPC_SECRET_REPLY)
        return bw_call_fail(call, BW_EEXIST, "SECRET_SHOWN_ONCE",
                            "the first request with this Idempotency-Key succeeded; the secret "
                            "in its reply was shown only once and is not kept for replays. Look "
                            "the created resource up, or send a new Idempotency-Key to create "
                            "another");
    *response = protobuf_c_message_unpack(
        method->response, bw_arena_protobuf_allocator(call->arena), stored_len, stored);
    if (*response == NULL)
        return bw_call_fail(call, BW_EINTERNAL, NULL, "stored reply of %s cannot be read",
                            method->path);
    return 1;
}

/* Stores the reply for replays; a reply holding a secret is not stored
 * (an empty record marks the key as used). */
static int store_reply(bw_call_t *call, bw_db_t *db, const bw_rpc_method_t *method,
                       const char *scope, const char *fp, const ProtobufCMessage *response)
{
    size_t len =
        method->flags & BW_RPC_SECRET_REPLY ? 0 : protobuf_c_message_get_packed_size(response);
    uint8_t *buf = bw_arena_alloc(call->arena, len ? len : 1);
    if (buf == NULL)
        return BW_ENOMEM;
    if (len > 0)
        protobuf_c_message_pack(response, buf);
    const char *packed = bw_store_bytea_param(call->arena, buf, len);
    if (packed == NULL)
        return BW_ENOMEM;
    const char *values[] = {scope, call->idempotency_key, method->path, fp, packed};
    return bw_db_exec(db, call->arena, &stmt_idem_put, 5, values, NULL);
}

#define PURGES_MAX 8

int bw_request_purge(const char *database_url, const bw_db_stmt_t *const *more, size_t n_more,
                     long *purged)
{
    const bw_db_stmt_t *stmts[PURGES_MAX] = {&stmt_idem_purge};
    size_t n = 1;
    for (size_t i = 0; i < n_more && n < PURGES_MAX; i++)
        stmts[n++] = more[i];
    bw_db_t *db = NULL;
    bw_arena_t *arena = NULL;
    long total = 0;
    int err = n_more < PURGES_MAX ? bw_db_open(database_url, stmts, n, 0, &db) : BW_EINVAL;
    if (err != 0)
        goto out;
    if ((arena = bw_arena_create(0)) == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    /* Each in its own transaction: one that fails leaves the others done. */
    for (size_t i = 0; i < n; i++) {
        PGresult *res = NULL;
        int rc = bw_db_exec1(db, arena, NULL, stmts[i], 0, NULL, &res);
        if (rc == 0)
            total += strtol(PQgetvalue(res, 0, 0), NULL, 10);
        else if (err == 0)
            err = rc;
    }
out:
    if (purged != NULL)
        *purged = total;
    bw_arena_destroy(arena);
    bw_db_close(db);
    return err;
}

/* Clears an answer read ahead that its call did not take. */
static void ahead_clear(void *item)
{
    bw_db_ahead_t *a = item;
    PQclear(a->res);
    a->res = NULL;
}

void bw_request_ahead(void *worker_data, bw_call_t *const *calls,
                      const bw_rpc_method_t *const *methods,
                      const ProtobufCMessage *const *requests, int n)
{
    bw_db_ahead_t *items[BW_RPC_BATCH_MAX];
    int k = 0;
    for (int i = 0; i < n && i < BW_RPC_BATCH_MAX; i++) {
        bw_db_ahead_t *a = bw_arena_calloc(calls[i]->arena, 1, sizeof(*a));
        if (a == NULL || methods[i]->ahead(calls[i], requests[i], a) != 1 ||
            bw_arena_on_cleanup(calls[i]->arena, ahead_clear, a) != 0)
            continue;
        calls[i]->ahead = a;
        items[k++] = a;
    }
    /* One read gains nothing from going ahead of its handler. */
    if (k > 1) {
        bw_service_worker_t *w = worker_data;
        bw_db_ahead_run(w->db, items, k);
    }
}

int bw_request_intercept(bw_call_t *call, const bw_rpc_method_t *method,
                         const ProtobufCMessage *request, ProtobufCMessage **response)
{
    if (!(method->flags & BW_RPC_WRITE)) {
        bw_db_t *db = call->ahead != NULL ? bw_service_db(call) : NULL;
        bw_db_ahead_use(db, call->ahead);
        int rc = method->handler(call, request, response);
        bw_db_ahead_use(db, NULL);
        if (rc == 0)
            run_after_commit(call);
        return rc;
    }
    bw_db_t *db = bw_service_db(call);
    char action[128];
    bw_request_action(method->path, action, sizeof(action));
    const char *scope = call->tenant_id != NULL ? call->tenant_id : OPERATOR_SCOPE;
    int keyed = call->idempotency_key != NULL && call->idempotency_key[0] != '\0';
    char *fp = NULL;
    int err = keyed ? fingerprint(call, method, request, &fp) : 0;
    if (err == 0)
        err = bw_db_request_begin(db, scope);
    if (err != 0)
        return err;
    if (keyed) {
        err = idempotency_check(call, db, method, scope, fp, response);
        if (err != 0) {
            bw_db_request_end(db, 0);
            return err == 1 ? 0 : err;
        }
    }
    err = method->handler(call, request, response);
    if (err == 0 && *response != NULL) {
        /* The row goes to the scope the transaction ends in: a tenant being
         * created has switched it to itself (its trail starts with its
         * creation); the operator's other writes end in the operator's
         * scope (a deleted tenant's trail goes with it). */
        const char *tenant = bw_db_request_tenant(db);
        if (tenant != NULL)
            err = audit(call, db, action, resource_of(request, *response), 0);
        if (err == 0 && keyed) {
            /* The key belongs to the caller's scope, not to a tenant just created. */
            if ((err = bw_db_begin(db, scope)) == 0 &&
                (err = store_reply(call, db, method, scope, fp, *response)) == 0)
                err = bw_db_commit(db);
            else if (err != 0)
                bw_db_rollback(db);
        }
        int committing = err == 0;
        if (err == 0)
            err = bw_db_request_end(db, 1);
        else
            bw_db_request_end(db, 0);
        if (err == 0)
            run_after_commit(call);
        else if (committing)
            /* The event or the audit row, which go with the COMMIT, failed
             * (or the COMMIT did): nothing was written. */
            audit_failure(call, db, action, request, err);
        if (err == BW_EEXIST)
            err = bw_call_fail(call, BW_ECONFLICT, "IDEMPOTENCY_KEY_IN_FLIGHT",
                               "a request with this Idempotency-Key completed meanwhile; retry");
        return err;
    }
    bw_db_request_end(db, 0);
    audit_failure(call, db, action, request, err != 0 ? err : BW_EINTERNAL);
    return err;
}
