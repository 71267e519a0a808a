/*
 * The operator's routes on tenants; see operator.h.
 *
 * The writes (suspend, resume, delete) run in the request transaction of
 * common/request.c, which the operator's calls open in the operator's
 * scope (the nil UUID). Their statements on the tenant switch the
 * transaction to that tenant, and each ends with a statement in the
 * operator's scope again (the NOTIFY that tells every gateway, or the
 * certificate of deletion), so that the audit row the write path adds is
 * the operator's, not the tenant's: a deleted tenant's trail is gone with
 * it. A deletion asks every service to erase its rows (one transaction
 * each) before it erases the gateway's own, then writes the certificate;
 * a service that fails stops it with nothing of the gateway's deleted, and
 * the same call completes it later.
 */
#include "operator.h"

#include "bulwark/lifecycle/v1/lifecycle.pb-c.h"
#include "bulwark/tenancy/v1/tenancy.pb-c.h"

#include "ids.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "service.h"
#include "status.h"
#include "store.h"
#include "tenancy.h"
#include "times.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPERATOR_SCOPE "00000000-0000-0000-0000-000000000000"
#define TENANTS_SCOPE "tenants"
#define EXPORT_SCOPE "tenant-export"
#define EXPORT_FORMAT "bulwark.tenant-export.v1"
#define DELETION_FORMAT "bulwark.tenant-deletion.v1"
#define REASON_MAX_LEN 500
#define LIFECYCLE_RPC(name) "/bulwark.lifecycle.v1.TenantDataService/" name

const bw_db_stmt_t bw_operator_stmt_list = {
    "operator_tenant_list", "SELECT tenant_id::text, name, bulwark.epoch_us(create_time), "
                            "bulwark.epoch_us(update_time), revision, state, "
                            "bulwark.epoch_us(suspend_time), suspend_reason, requests_last_24h "
                            "FROM tenancy.list_tenants(NULLIF($1, '')::uuid, $2::int)"};
/* Only a change of state is a change: no new revision for the same state. */
const bw_db_stmt_t bw_operator_stmt_set_state = {
    "operator_tenant_set_state",
    "UPDATE tenancy.tenants SET state = $2, "
    "suspend_time = CASE WHEN $2 = 'SUSPENDED' THEN now() END, suspend_reason = $3, "
    "update_time = now(), revision = revision + 1 "
    "WHERE tenant_id = $1 AND state <> $2 RETURNING " BW_TENANCY_TENANT_COLUMNS};
const bw_db_stmt_t bw_operator_stmt_notify = {
    "operator_tenant_notify", "SELECT pg_notify('" BW_TENANCY_TENANT_CHANNEL "', $1)"};
const bw_db_stmt_t bw_operator_stmt_certificate = {
    "operator_tenant_certificate",
    "WITH c AS (INSERT INTO tenancy.deletion_certificates (tenant_id, deleted_tenant, "
    "tenant_name, delete_time, deleted_by, request_id, canonical, sha256) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, "
    "'epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4, $5, $6, $7) "
    "RETURNING deleted_tenant) "
    "SELECT pg_notify('" BW_TENANCY_TENANT_CHANNEL "', deleted_tenant::text) FROM c"};

/* The schemas this process exports and erases itself. */
static const char *const own_schemas[] = {"tenancy", "bulwark"};
#define N_OWN_SCHEMAS (sizeof(own_schemas) / sizeof(own_schemas[0]))
#define OWN_SERVICE "tenancy"

static int check_id(bw_call_t *call, const char *id)
{
    if (!bw_uuid_valid(id) || strcmp(id, OPERATOR_SCOPE) == 0)
        return bw_call_violation(call, "id", "\"%s\" is not a tenant id (a UUID)", id);
    return 0;
}

static int not_found(bw_call_t *call, const char *id)
{
    return bw_call_fail(call, BW_ENOTFOUND, "TENANT_NOT_FOUND", "tenant %s not found", id);
}

/* Calls method of svc about tenant (NULL: none) and unpacks its reply;
 * any failure is the service being unavailable for what (a phrase). */
static int call_service(bw_call_t *call, const bw_tenancy_service_t *svc, const char *method,
                        const char *tenant, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *reply_desc, const char *what,
                        ProtobufCMessage **out)
{
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = bw_arena_alloc(call->arena, len ? len : 1);
    if (buf == NULL)
        return BW_ENOMEM;
    protobuf_c_message_pack(req, buf);
    char traceparent[BW_TRACEPARENT_LEN + 1];
    bw_rpc_md_t md[4] = {{"x-request-id", call->request_id != NULL ? call->request_id : ""},
                         {"x-principal", call->principal != NULL ? call->principal : ""}};
    size_t n_md = 2;
    if (tenant != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-tenant-id", tenant};
    if (bw_call_traceparent(call, traceparent) == 0)
        md[n_md++] = (bw_rpc_md_t){"traceparent", traceparent};
    bw_rpc_reply_t reply;
    int err = bw_rpc_pool_call(svc->pool, call->arena, method, buf, len, md, n_md, cfg->timeout_ms,
                               &reply);
    if (err == 0 && reply.status == BW_GRPC_OK)
        *out = protobuf_c_message_unpack(reply_desc, bw_arena_protobuf_allocator(call->arena),
                                         reply.payload_len, reply.payload);
    if (err != 0 || reply.status != BW_GRPC_OK || *out == NULL) {
        const char *why = err != 0                     ? bw_strerror(err)
                          : reply.status != BW_GRPC_OK ? reply.message
                                                       : "an unreadable reply";
        bw_log(BW_LOG_WARN, &call->log, "%s could not %s: %s", svc->name, what, why);
        return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                            "the %s service could not %s right now; retry later", svc->name, what);
    }
    return 0;
}

static const bw_tenancy_service_t *find_service(const bw_tenancy_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_services; i++)
        if (strcmp(cfg->services[i].name, name) == 0)
            return &cfg->services[i];
    return NULL;
}

/* Forgets the tenant on this gateway once the change is committed. */
typedef struct forget {
    bw_keycache_t *keys;
    bw_tenantcache_t *tenants;
    char tenant_id[BW_UUID_STR_LEN + 1];
} forget_t;

static void forget_now(void *arg)
{
    forget_t *f = arg;
    bw_tenancy_forget_tenant(f->keys, f->tenants, f->tenant_id);
}

static int forget_after_commit(bw_call_t *call, const char *tenant_id)
{
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    forget_t *f = bw_arena_alloc(call->arena, sizeof(*f));
    if (f == NULL)
        return BW_ENOMEM;
    f->keys = cfg->keys;
    f->tenants = cfg->tenants;
    snprintf(f->tenant_id, sizeof(f->tenant_id), "%s", tenant_id);
    return bw_request_after_commit(call, forget_now, f);
}

/* ---- the list ------------------------------------------------------------ */

/* What the list counts in the services: their tables and where it goes. */
static const struct {
    const char *service;
    const char *table;
    size_t offset; /* of the int64 in TenantUsage */
} usage_counts[] = {
    {"scoping", "scoping.entities", offsetof(Bulwark__Tenancy__V1__TenantUsage, entities)},
    {"incidents", "incidents.incidents", offsetof(Bulwark__Tenancy__V1__TenantUsage, incidents)},
};

/* Asks each service for its counts of the tenants listed, in one call each. */
static int count_usage(bw_call_t *call, Bulwark__Tenancy__V1__Tenant **tenants, size_t n)
{
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    if (n == 0)
        return 0;
    char **ids = bw_arena_calloc(call->arena, n, sizeof(*ids));
    if (ids == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = tenants[i]->id;
    for (size_t u = 0; u < sizeof(usage_counts) / sizeof(usage_counts[0]); u++) {
        const bw_tenancy_service_t *svc = find_service(cfg, usage_counts[u].service);
        if (svc == NULL)
            continue;
        Bulwark__Lifecycle__V1__CountTenantRowsRequest req =
            BULWARK__LIFECYCLE__V1__COUNT_TENANT_ROWS_REQUEST__INIT;
        req.table = (char *)usage_counts[u].table;
        req.tenant_ids = ids;
        req.n_tenant_ids = n;
        ProtobufCMessage *msg = NULL;
        int err = call_service(call, svc, LIFECYCLE_RPC("CountTenantRows"), NULL, &req.base,
                               &bulwark__lifecycle__v1__count_tenant_rows_response__descriptor,
                               "count the tenants' rows", &msg);
        if (err != 0)
            return err;
        const Bulwark__Lifecycle__V1__CountTenantRowsResponse *counts = (const void *)msg;
        /* In the order asked; matched by id all the same. */
        for (size_t c = 0; c < counts->n_counts; c++) {
            size_t i = c < n && strcmp(ids[c], counts->counts[c]->tenant_id) == 0 ? c : n;
            for (size_t j = 0; i == n && j < n; j++)
                if (strcmp(ids[j], counts->counts[c]->tenant_id) == 0)
                    i = j;
            if (i < n)
                *(int64_t *)((char *)tenants[i]->usage + usage_counts[u].offset) =
                    counts->counts[c]->rows;
        }
    }
    return 0;
}

/* The usage of each tenant of a page (a bw_store_list_hook_t): its requests
 * of the last 24 hours, the list's column 8, and its rows in each service. */
static int add_usage(bw_call_t *call, void *data, const PGresult *res, ProtobufCMessage **items,
                     size_t n)
{
    (void)data;
    Bulwark__Tenancy__V1__Tenant **tenants = (Bulwark__Tenancy__V1__Tenant **)items;
    for (size_t i = 0; i < n; i++) {
        Bulwark__Tenancy__V1__TenantUsage *usage = bw_arena_alloc(call->arena, sizeof(*usage));
        if (usage == NULL)
            return BW_ENOMEM;
        bulwark__tenancy__v1__tenant_usage__init(usage);
        usage->requests_last_24h = bw_store_int(res, (int)i, 8);
        tenants[i]->usage = usage;
    }
    return count_usage(call, tenants, n);
}

int bw_operator_list_tenants(bw_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ListTenantsRequest *req = (const void *)request;
    bw_page_t page;
    PGresult *res;
    int n;
    int err = bw_store_uuid_page(call, TENANTS_SCOPE, req->page_size, req->page_token,
                                 &bw_operator_stmt_list, NULL, &page, &res, &n);
    if (err != 0)
        return err;
    const bw_store_list_hook_t usage = {add_usage, NULL};
    return bw_store_list_response(call, TENANTS_SCOPE, &page, res, n,
                                  &bulwark__tenancy__v1__list_tenants_response__descriptor,
                                  "tenants", bw_tenancy_row_to_tenant, &usage, resp);
}

/* ---- suspend and resume -------------------------------------------------- */

static int set_state(bw_call_t *call, const char *id, const char *state, const char *reason,
                     ProtobufCMessage **resp)
{
    int bad = check_id(call, id) != 0;
    if (strlen(reason) > REASON_MAX_LEN)
        bad |=
            bw_call_violation(call, "reason", "must be at most %d characters", REASON_MAX_LEN) != 0;
    if (bad)
        return BW_EINVAL;
    bw_db_t *db = bw_service_db(call);
    const char *values[] = {id, state, reason};
    PGresult *res;
    int err = bw_db_exec1(db, call->arena, id, &bw_operator_stmt_set_state, 3, values, &res);
    if (err == 0 && PQntuples(res) == 0)
        /* Already so, or no such tenant. */
        err = bw_db_exec1(db, call->arena, id, &bw_tenancy_stmt_tenant_get, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return not_found(call, id);
    Bulwark__Tenancy__V1__Tenant *t;
    if ((err = bw_tenancy_row_to_tenant(call->arena, res, 0, &t)) != 0)
        return err;
    /* Every gateway forgets the tenant's keys and state when this commits;
     * the statement ends the transaction in the operator's scope. */
    if ((err = bw_db_exec1(db, call->arena, OPERATOR_SCOPE, &bw_operator_stmt_notify, 1, &id,
                           NULL)) != 0 ||
        (err = forget_after_commit(call, id)) != 0)
        return err;
    bw_log(BW_LOG_INFO, &call->log, "tenant %s is %s", id,
           strcmp(state, "SUSPENDED") == 0 ? "suspended" : "active");
    *resp = &t->base;
    return 0;
}

int bw_operator_suspend_tenant(bw_call_t *call, const ProtobufCMessage *request,
                               ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__SuspendTenantRequest *req = (const void *)request;
    return set_state(call, req->id, "SUSPENDED", req->reason, resp);
}

int bw_operator_resume_tenant(bw_call_t *call, const ProtobufCMessage *request,
                              ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ResumeTenantRequest *req = (const void *)request;
    return set_state(call, req->id, "ACTIVE", "", resp);
}

/* ---- export -------------------------------------------------------------- */

/* Where an export continues, as its page token says: the tenant, which
 * process (0 this one, i the i-th service) and where in it. */
typedef struct export_place {
    size_t process;
    int part;
    char *after_table;
    char *after_key;
} export_place_t;

static int place_decode(bw_call_t *call, const char *tenant, const char *token, export_place_t *at)
{
    char key[BW_PAGE_KEY_MAX + 1];
    memset(at, 0, sizeof(*at));
    at->after_table = at->after_key = "";
    if (token[0] == '\0')
        return 0;
    if (bw_page_token_decode(EXPORT_SCOPE, token, key, sizeof(key)) != 0)
        return bw_call_violation(call, "pageToken", "is not a token this export returned");
    /* "<tenant>\n<process>\n<part>\n<table>\n<key>" */
    char *fields[5], *p = key;
    for (int i = 0; i < 5; i++) {
        fields[i] = p;
        p = i < 4 ? strchr(p, '\n') : NULL;
        if (i < 4 && p == NULL)
            return bw_call_violation(call, "pageToken", "is not a token this export returned");
        if (p != NULL)
            *p++ = '\0';
    }
    if (strcmp(fields[0], tenant) != 0)
        return bw_call_violation(call, "pageToken", "belongs to the export of another tenant");
    at->process = strtoul(fields[1], NULL, 10);
    at->part = (int)strtol(fields[2], NULL, 10);
    at->after_table = bw_arena_strdup(call->arena, fields[3]);
    at->after_key = bw_arena_strdup(call->arena, fields[4]);
    return at->after_table != NULL && at->after_key != NULL ? 0 : BW_ENOMEM;
}

static char *place_encode(bw_call_t *call, const char *tenant, size_t process, int part,
                          const char *table, const char *key)
{
    char *plain =
        bw_arena_printf(call->arena, "%s\n%zu\n%d\n%s\n%s", tenant, process, part, table, key);
    char *token = bw_arena_alloc(call->arena, BW_PAGE_TOKEN_MAX);
    if (plain == NULL || token == NULL ||
        bw_page_token_encode(EXPORT_SCOPE, plain, token, BW_PAGE_TOKEN_MAX) != 0)
        return NULL;
    return token;
}

int bw_operator_export_tenant(bw_call_t *call, const ProtobufCMessage *request,
                              ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__ExportTenantRequest *req = (const void *)request;
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    int err = check_id(call, req->id);
    export_place_t at;
    if (err == 0)
        err = place_decode(call, req->id, req->page_token, &at);
    if (err != 0)
        return err;
    if (at.process > cfg->n_services)
        return bw_call_violation(call, "pageToken", "is not a token this export returned");
    bw_db_t *db = bw_service_db(call);
    const char *id = req->id;
    PGresult *res;
    if ((err = bw_db_exec1(db, call->arena, id, &bw_tenancy_stmt_tenant_get, 1, &id, &res)) != 0)
        return err;
    if (PQntuples(res) == 0)
        return not_found(call, id);

    Bulwark__Lifecycle__V1__ExportTenantDataRequest part =
        BULWARK__LIFECYCLE__V1__EXPORT_TENANT_DATA_REQUEST__INIT;
    part.after_table = at.after_table;
    part.after_key = at.after_key;
    part.part = at.part;
    Bulwark__Lifecycle__V1__ExportTenantDataResponse *chunks = NULL;
    const char *service = OWN_SERVICE;
    if (at.process == 0) {
        err = bw_lifecycle_export(call, db, id, own_schemas, N_OWN_SCHEMAS, &part, &chunks);
    } else {
        const bw_tenancy_service_t *svc = &cfg->services[at.process - 1];
        ProtobufCMessage *msg = NULL;
        service = svc->name;
        err = call_service(call, svc, LIFECYCLE_RPC("ExportTenantData"), id, &part.base,
                           &bulwark__lifecycle__v1__export_tenant_data_response__descriptor,
                           "export the tenant's rows", &msg);
        chunks = (void *)msg;
    }
    if (err == BW_EINVAL && call->n_violations > 0) {
        /* The place the token names is no longer there (a table dropped). */
        call->n_violations = 0;
        call->detail = NULL;
        return bw_call_violation(call, "pageToken", "names a place the export cannot find now");
    }
    if (err != 0)
        return err;

    Bulwark__Tenancy__V1__TenantExportPage *page = bw_arena_alloc(call->arena, sizeof(*page));
    Google__Protobuf__Timestamp *now = bw_arena_alloc(call->arena, sizeof(*now));
    if (page == NULL || now == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__tenant_export_page__init(page);
    google__protobuf__timestamp__init(now);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now->seconds = ts.tv_sec;
    now->nanos = (int32_t)(ts.tv_nsec / 1000 * 1000);
    page->tenant = (char *)id;
    page->format = EXPORT_FORMAT;
    page->export_time = now;
    page->files = bw_arena_calloc(call->arena, chunks->n_chunks + 1, sizeof(*page->files));
    if (page->files == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < chunks->n_chunks; i++) {
        const Bulwark__Lifecycle__V1__TableChunk *c = chunks->chunks[i];
        Bulwark__Tenancy__V1__TenantExportFile *f = bw_arena_alloc(call->arena, sizeof(*f));
        if (f == NULL)
            return BW_ENOMEM;
        bulwark__tenancy__v1__tenant_export_file__init(f);
        f->name = bw_arena_printf(call->arena, "%s.%04d.jsonl", c->table, c->part);
        f->table = c->table;
        f->service = (char *)service;
        f->part = c->part;
        f->rows = c->rows;
        f->bytes = (int64_t)strlen(c->content);
        f->sha256 = c->sha256;
        f->content = c->content;
        if (f->name == NULL)
            return BW_ENOMEM;
        page->files[page->n_files++] = f;
    }
    /* The rest of this process, or the next one from its start. */
    if (chunks->next_table[0] != '\0')
        page->next_page_token = place_encode(call, id, at.process, chunks->next_part,
                                             chunks->next_table, chunks->next_key);
    else if (at.process < cfg->n_services)
        page->next_page_token = place_encode(call, id, at.process + 1, 1, "", "");
    if (page->next_page_token == NULL)
        return bw_call_fail(call, BW_EINTERNAL, NULL,
                            "the export cannot continue after a key of table %s: too long for a "
                            "page token",
                            chunks->next_table);
    *resp = &page->base;
    return 0;
}

/* ---- delete -------------------------------------------------------------- */

typedef struct deleted {
    const char *table;
    const char *service;
    int64_t rows;
} deleted_t;

static int by_table(const void *a, const void *b)
{
    return strcmp(((const deleted_t *)a)->table, ((const deleted_t *)b)->table);
}

/* "2026-01-05T10:00:00.123456Z" for microseconds since the epoch. */
static char *rfc3339_micros(bw_arena_t *arena, long long us)
{
    char text[BW_TIME_TEXT_MAX];
    bw_time_format_us(us, BW_TIME_FRACTION_MICROS, text);
    return bw_arena_strdup(arena, text);
}

/* The certificate's canonical text: compact JSON with sorted keys of every
 * field but itself and its hash, as docs/DESIGN.md specifies. */
static char *canonical_text(bw_arena_t *arena,
                            const Bulwark__Tenancy__V1__TenantDeletionCertificate *c,
                            const char *delete_time)
{
    json_t *tables = json_array();
    json_t *doc = NULL;
    char *text = NULL, *out = NULL;
    for (size_t i = 0; tables != NULL && i < c->n_tables; i++)
        if (json_array_append_new(tables, json_pack("{s:s, s:s, s:I}", "table", c->tables[i]->table,
                                                    "service", c->tables[i]->service, "rows",
                                                    (json_int_t)c->tables[i]->rows)) != 0)
            goto out;
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:I}", "format", c->format, "tenant",
                    c->tenant, "tenantName", c->tenant_name, "deleteTime", delete_time, "deletedBy",
                    c->deleted_by, "requestId", c->request_id, "tables", tables, "totalRows",
                    (json_int_t)c->total_rows);
    if (doc != NULL)
        text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (text != NULL)
        out = bw_arena_strdup(arena, text);
out:
    free(text);
    json_decref(doc);
    json_decref(tables);
    return out;
}

int bw_operator_delete_tenant(bw_call_t *call, const ProtobufCMessage *request,
                              ProtobufCMessage **resp)
{
    const Bulwark__Tenancy__V1__DeleteTenantRequest *req = (const void *)request;
    const bw_tenancy_config_t *cfg = bw_service_data(call);
    const char *id = req->id;
    int err = check_id(call, id);
    if (err != 0)
        return err;
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    if ((err = bw_db_exec1(db, call->arena, id, &bw_tenancy_stmt_tenant_get, 1, &id, &res)) != 0)
        return err;
    if (PQntuples(res) == 0)
        return not_found(call, id);
    if ((err = bw_store_check_etag(call, id, bw_store_int(res, 0, 4))) != 0)
        return err;
    if (strcmp(bw_store_text(res, 0, 5), "SUSPENDED") != 0)
        return bw_call_fail(call, BW_ECONFLICT, "TENANT_NOT_SUSPENDED",
                            "suspend tenant %s first (POST /v1/tenants/%s:suspend), so that no "
                            "request of its races the deletion",
                            id, id);
    const char *name = bw_store_strdup(call->arena, res, 0, 1);
    long long now_us = bw_store_int(res, 0, 8);

    /* Every service's rows, then the gateway's own. */
    size_t cap = 64, n = 0;
    deleted_t *tables = bw_arena_calloc(call->arena, cap, sizeof(*tables));
    if (tables == NULL || name == NULL)
        return BW_ENOMEM;
    for (size_t s = 0; s <= cfg->n_services; s++) {
        Bulwark__Lifecycle__V1__EraseTenantDataResponse *done = NULL;
        const char *service = s < cfg->n_services ? cfg->services[s].name : OWN_SERVICE;
        if (s < cfg->n_services) {
            Bulwark__Lifecycle__V1__EraseTenantDataRequest erase =
                BULWARK__LIFECYCLE__V1__ERASE_TENANT_DATA_REQUEST__INIT;
            ProtobufCMessage *msg = NULL;
            err = call_service(call, &cfg->services[s], LIFECYCLE_RPC("EraseTenantData"), id,
                               &erase.base,
                               &bulwark__lifecycle__v1__erase_tenant_data_response__descriptor,
                               "erase the tenant's rows", &msg);
            done = (void *)msg;
        } else {
            err = bw_lifecycle_erase(call, db, id, own_schemas, N_OWN_SCHEMAS, &done);
        }
        if (err != 0)
            return err;
        for (size_t i = 0; i < done->n_tables; i++) {
            if (n == cap) {
                deleted_t *more = bw_arena_calloc(call->arena, 2 * cap, sizeof(*more));
                if (more == NULL)
                    return BW_ENOMEM;
                memcpy(more, tables, n * sizeof(*tables));
                tables = more;
                cap *= 2;
            }
            tables[n++] = (deleted_t){done->tables[i]->table, service, done->tables[i]->rows};
        }
    }
    qsort(tables, n, sizeof(*tables), by_table);

    Bulwark__Tenancy__V1__TenantDeletionCertificate *c = bw_arena_alloc(call->arena, sizeof(*c));
    Google__Protobuf__Timestamp *when = bw_arena_alloc(call->arena, sizeof(*when));
    if (c == NULL || when == NULL)
        return BW_ENOMEM;
    bulwark__tenancy__v1__tenant_deletion_certificate__init(c);
    google__protobuf__timestamp__init(when);
    bw_time_split_us(now_us, &when->seconds, &when->nanos);
    c->format = DELETION_FORMAT;
    c->tenant = (char *)id;
    c->tenant_name = (char *)name;
    c->delete_time = when;
    c->deleted_by = call->principal != NULL ? (char *)call->principal : "operator";
    c->request_id = call->request_id != NULL ? (char *)call->request_id : "";
    c->tables = bw_arena_calloc(call->arena, n + 1, sizeof(*c->tables));
    if (c->tables == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        Bulwark__Tenancy__V1__DeletedTable *t = bw_arena_alloc(call->arena, sizeof(*t));
        if (t == NULL)
            return BW_ENOMEM;
        bulwark__tenancy__v1__deleted_table__init(t);
        t->table = (char *)tables[i].table;
        t->service = (char *)tables[i].service;
        t->rows = tables[i].rows;
        c->tables[c->n_tables++] = t;
        c->total_rows += t->rows;
    }
    const char *delete_time = rfc3339_micros(call->arena, now_us);
    char *hex = bw_arena_alloc(call->arena, 2 * BW_SHA256_LEN + 1);
    if (delete_time == NULL || hex == NULL ||
        (c->canonical = canonical_text(call->arena, c, delete_time)) == NULL)
        return BW_ENOMEM;
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(c->canonical, strlen(c->canonical), digest);
    bw_hex(digest, sizeof(digest), hex);
    c->sha256 = hex;

    /* The certificate is kept in the operator's scope; the transaction ends
     * there, with the audit row of this call. */
    char micros[24];
    snprintf(micros, sizeof(micros), "%lld", now_us);
    const char *values[] = {id, name, micros, c->deleted_by, c->request_id, c->canonical, hex};
    if ((err = bw_db_exec1(db, call->arena, OPERATOR_SCOPE, &bw_operator_stmt_certificate, 7,
                           values, NULL)) != 0 ||
        (err = forget_after_commit(call, id)) != 0)
        return err;
    bw_log(BW_LOG_INFO, &call->log, "deleted tenant %s: %lld rows in %zu tables, certificate %s",
           id, (long long)c->total_rows, c->n_tables, hex);
    *resp = &c->base;
    return 0;
}
