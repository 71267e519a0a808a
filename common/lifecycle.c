/*
 * One tenant's rows in a process's schemas; see lifecycle.h. An export page
 * is what bulwark.export_tenant_rows returns for each schema in turn, cut
 * into one chunk per table: the rows' JSON lines joined by newlines and
 * their SHA-256. A table begun on the page comes first as a row without a
 * key (so an empty table still gets its chunk); a continued one does not.
 */
#include "lifecycle.h"

#include "ids.h"
#include "log.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const bw_db_stmt_t stmt_export = {
    "bw_lifecycle_export",
    "SELECT table_name, row_key, line FROM bulwark.export_tenant_rows($1, NULLIF($2, ''), "
    "NULLIF($3, ''), $4::int, $5::bigint)"};
static const bw_db_stmt_t stmt_erase = {
    "bw_lifecycle_erase", "SELECT table_name, rows FROM bulwark.erase_tenant_rows($1)"};
static const bw_db_stmt_t stmt_count = {
    "bw_lifecycle_count",
    "SELECT tenant_id::text, rows FROM bulwark.count_tenant_rows($1, $2, $3::uuid[])"};

const bw_db_stmt_t *const bw_lifecycle_stmts[] = {&stmt_export, &stmt_erase, &stmt_count};
const size_t bw_lifecycle_n_stmts = sizeof(bw_lifecycle_stmts) / sizeof(bw_lifecycle_stmts[0]);

#define MIN_PAGE_BYTES 4096
#define MAX_COUNT_TENANTS 500

typedef Bulwark__Lifecycle__V1__TableChunk chunk_t;

/* The chunks of a page, growing on the arena. */
typedef struct chunks {
    chunk_t **items;
    size_t n, cap;
} chunks_t;

static chunk_t *chunk_add(bw_arena_t *arena, chunks_t *c, const char *table, int part)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        chunk_t **items = bw_arena_calloc(arena, cap + 1, sizeof(*items));
        if (items == NULL)
            return NULL;
        if (c->n > 0)
            memcpy(items, c->items, c->n * sizeof(*items));
        c->items = items;
        c->cap = cap;
    }
    chunk_t *k = bw_arena_alloc(arena, sizeof(*k));
    if (k == NULL || (table = bw_arena_strdup(arena, table)) == NULL)
        return NULL;
    bulwark__lifecycle__v1__table_chunk__init(k);
    k->table = (char *)table;
    k->part = part;
    c->items[c->n++] = k;
    return k;
}

/* Joins rows [first, end) of res (column 2, the JSON lines) into the
 * chunk's content, each line ending in a newline, and hashes it. */
static int chunk_fill(bw_arena_t *arena, chunk_t *k, const PGresult *res, int first, int end)
{
    size_t len = 0;
    for (int i = first; i < end; i++)
        len += (size_t)PQgetlength(res, i, 2) + 1;
    char *content = bw_arena_alloc(arena, len + 1);
    if (content == NULL)
        return BW_ENOMEM;
    size_t o = 0;
    for (int i = first; i < end; i++) {
        size_t n = (size_t)PQgetlength(res, i, 2);
        memcpy(content + o, PQgetvalue(res, i, 2), n);
        o += n;
        content[o++] = '\n';
    }
    content[o] = '\0';
    uint8_t digest[BW_SHA256_LEN];
    char *hex = bw_arena_alloc(arena, 2 * BW_SHA256_LEN + 1);
    if (hex == NULL)
        return BW_ENOMEM;
    bw_sha256(content, len, digest);
    bw_hex(digest, sizeof(digest), hex);
    k->content = content;
    k->sha256 = hex;
    k->rows = end - first;
    return 0;
}

/* The index of the schema that table ("schema.table") belongs to in
 * schemas, and its table part; -1 when none. */
static int schema_of(const char *table, const char *const *schemas, size_t n, const char **rest)
{
    const char *dot = strchr(table, '.');
    if (dot == NULL || dot[1] == '\0')
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strlen(schemas[i]) == (size_t)(dot - table) &&
            strncmp(table, schemas[i], (size_t)(dot - table)) == 0) {
            *rest = dot + 1;
            return (int)i;
        }
    return -1;
}

int bw_lifecycle_export(bw_call_t *call, bw_db_t *db, const char *tenant,
                        const char *const *schemas, size_t n_schemas,
                        const Bulwark__Lifecycle__V1__ExportTenantDataRequest *req,
                        Bulwark__Lifecycle__V1__ExportTenantDataResponse **out)
{
    int max_rows = req->max_rows != 0 ? req->max_rows : BW_LIFECYCLE_PAGE_ROWS;
    int max_bytes = req->max_bytes != 0 ? req->max_bytes : BW_LIFECYCLE_PAGE_BYTES;
    int bad = 0;
    if (max_rows < 1 || max_rows > BW_LIFECYCLE_MAX_ROWS)
        bad |= bw_call_violation(call, "maxRows", "must be between 1 and %d",
                                 BW_LIFECYCLE_MAX_ROWS) != 0;
    if (max_bytes < MIN_PAGE_BYTES || max_bytes > BW_LIFECYCLE_MAX_BYTES)
        bad |= bw_call_violation(call, "maxBytes", "must be between %d and %d", MIN_PAGE_BYTES,
                                 BW_LIFECYCLE_MAX_BYTES) != 0;
    size_t first = 0;
    const char *after_table = "", *after_key = "";
    int part = 1;
    if (req->after_table[0] != '\0') {
        int i = schema_of(req->after_table, schemas, n_schemas, &after_table);
        if (i < 0)
            bad |= bw_call_violation(call, "afterTable", "is no table of this process's schemas");
        else
            first = (size_t)i;
        after_key = req->after_key;
        part = req->part;
        if (after_key[0] == '\0')
            bad |= bw_call_violation(call, "afterKey", "is required with afterTable") != 0;
        if (part < 2)
            bad |= bw_call_violation(call, "part", "a continued table is at part 2 or more") != 0;
    }
    if (bad)
        return BW_EINVAL;

    Bulwark__Lifecycle__V1__ExportTenantDataResponse *page =
        bw_arena_alloc(call->arena, sizeof(*page));
    if (page == NULL)
        return BW_ENOMEM;
    bulwark__lifecycle__v1__export_tenant_data_response__init(page);
    chunks_t chunks = {0};
    long long rows = 0, bytes = 0;
    int full = 0;
    for (size_t s = first; s < n_schemas && !full; s++) {
        char rows_left[24], bytes_left[24];
        snprintf(rows_left, sizeof(rows_left), "%lld", max_rows - rows);
        snprintf(bytes_left, sizeof(bytes_left), "%lld", max_bytes - bytes);
        const char *values[] = {schemas[s], s == first ? after_table : "",
                                s == first ? after_key : "", rows_left, bytes_left};
        PGresult *res;
        int err = bw_db_exec1(db, call->arena, tenant, &stmt_export, 5, values, &res);
        if (err == BW_EINVAL)
            return bw_call_violation(call, "afterKey", "is not a key of table %s",
                                     req->after_table);
        if (err != 0)
            return err;
        int n = PQntuples(res);
        chunk_t *current = NULL;
        int from = 0;
        for (int i = 0; i <= n; i++) {
            int ends = i == n || PQgetisnull(res, i, 1) ||
                       (current != NULL && strcmp(current->table, PQgetvalue(res, i, 0)) != 0);
            if (ends && current != NULL) {
                if ((err = chunk_fill(call->arena, current, res, from, i)) != 0)
                    return err;
                current = NULL;
            }
            if (i == n)
                break;
            if (PQgetisnull(res, i, 1)) {
                /* A table begun here: its part 1, rows (if any) follow. */
                if ((current = chunk_add(call->arena, &chunks, PQgetvalue(res, i, 0), 1)) == NULL)
                    return BW_ENOMEM;
                from = i + 1;
                continue;
            }
            if (current == NULL) {
                /* The table the last page stopped in. */
                if ((current = chunk_add(call->arena, &chunks, PQgetvalue(res, i, 0), part)) ==
                    NULL)
                    return BW_ENOMEM;
                from = i;
            }
            rows++;
            bytes += PQgetlength(res, i, 2) + 1;
            if (rows >= max_rows || bytes >= max_bytes) {
                full = 1;
                page->next_table = bw_store_strdup(call->arena, res, i, 0);
                page->next_key = bw_store_strdup(call->arena, res, i, 1);
                page->next_part = current->part + 1;
            }
        }
    }
    page->chunks = chunks.items;
    page->n_chunks = chunks.n;
    if (page->next_table == NULL || page->next_key == NULL)
        return BW_ENOMEM;
    *out = page;
    return 0;
}

int bw_lifecycle_erase(bw_call_t *call, bw_db_t *db, const char *tenant, const char *const *schemas,
                       size_t n_schemas, Bulwark__Lifecycle__V1__EraseTenantDataResponse **out)
{
    Bulwark__Lifecycle__V1__EraseTenantDataResponse *done =
        bw_arena_alloc(call->arena, sizeof(*done));
    if (done == NULL)
        return BW_ENOMEM;
    bulwark__lifecycle__v1__erase_tenant_data_response__init(done);
    PGresult *results[8];
    if (n_schemas > sizeof(results) / sizeof(results[0]))
        return BW_EINTERNAL;
    int err = bw_db_begin(db, tenant);
    if (err != 0)
        return err;
    size_t total = 0;
    for (size_t s = 0; s < n_schemas; s++) {
        if ((err = bw_db_exec(db, call->arena, &stmt_erase, 1, &schemas[s], &results[s])) != 0) {
            bw_db_rollback(db);
            return err;
        }
        total += (size_t)PQntuples(results[s]);
    }
    if ((err = bw_db_commit(db)) != 0)
        return err;
    done->tables = bw_arena_calloc(call->arena, total + 1, sizeof(*done->tables));
    if (done->tables == NULL)
        return BW_ENOMEM;
    for (size_t s = 0; s < n_schemas; s++) {
        for (int i = 0; i < PQntuples(results[s]); i++) {
            Bulwark__Lifecycle__V1__TableCount *t = bw_arena_alloc(call->arena, sizeof(*t));
            if (t == NULL)
                return BW_ENOMEM;
            bulwark__lifecycle__v1__table_count__init(t);
            t->table = bw_store_strdup(call->arena, results[s], i, 0);
            t->rows = bw_store_int(results[s], i, 1);
            done->tables[done->n_tables++] = t;
        }
    }
    bw_log(BW_LOG_INFO, &call->log, "erased every row of tenant %s (%zu tables)", tenant,
           done->n_tables);
    *out = done;
    return 0;
}

/* ---- the RPC handlers ---------------------------------------------------- */

static const bw_service_db_opts_t *opts_of(const bw_call_t *call)
{
    return call->service_data;
}

/* The tenant a call is about: its x-tenant-id, a tenant's UUID. */
static int call_tenant(bw_call_t *call)
{
    if (call->tenant_id == NULL || !bw_uuid_valid(call->tenant_id) ||
        strcmp(call->tenant_id, "00000000-0000-0000-0000-000000000000") == 0)
        return bw_call_fail(call, BW_EINVAL, "TENANT_REQUIRED",
                            "the call names no tenant (x-tenant-id)");
    return 0;
}

static int export_data(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const bw_service_db_opts_t *opts = opts_of(call);
    Bulwark__Lifecycle__V1__ExportTenantDataResponse *page;
    int err = call_tenant(call);
    if (err == 0)
        err = bw_lifecycle_export(call, bw_service_db(call), call->tenant_id, opts->schemas,
                                  opts->n_schemas, (const void *)request, &page);
    if (err == 0)
        *resp = &page->base;
    return err;
}

static int erase_data(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    (void)request;
    const bw_service_db_opts_t *opts = opts_of(call);
    Bulwark__Lifecycle__V1__EraseTenantDataResponse *done;
    int err = call_tenant(call);
    if (err == 0)
        err = bw_lifecycle_erase(call, bw_service_db(call), call->tenant_id, opts->schemas,
                                 opts->n_schemas, &done);
    if (err == 0)
        *resp = &done->base;
    return err;
}

static int count_rows(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Lifecycle__V1__CountTenantRowsRequest *req = (const void *)request;
    const bw_service_db_opts_t *opts = opts_of(call);
    const char *table = NULL;
    int bad = 0;
    int schema = schema_of(req->table, opts->schemas, opts->n_schemas, &table);
    if (schema < 0)
        bad |= bw_call_violation(call, "table", "is no table of this process's schemas") != 0;
    if (req->n_tenant_ids > MAX_COUNT_TENANTS)
        bad |= bw_call_violation(call, "tenantIds", "at most %d at once", MAX_COUNT_TENANTS) != 0;
    /* "{" + each id and a comma + "}" */
    char *list = bw_arena_alloc(call->arena, req->n_tenant_ids * (BW_UUID_STR_LEN + 1) + 3);
    if (list == NULL)
        return BW_ENOMEM;
    size_t o = 0;
    list[o++] = '{';
    for (size_t i = 0; i < req->n_tenant_ids && !bad; i++) {
        if (!bw_uuid_valid(req->tenant_ids[i])) {
            bad |= bw_call_violation(call, "tenantIds", "%s is not a tenant id",
                                     req->tenant_ids[i]) != 0;
            break;
        }
        if (i > 0)
            list[o++] = ',';
        memcpy(list + o, req->tenant_ids[i], BW_UUID_STR_LEN);
        o += BW_UUID_STR_LEN;
    }
    list[o++] = '}';
    list[o] = '\0';
    if (bad)
        return BW_EINVAL;
    const char *values[] = {opts->schemas[schema], table, list};
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, NULL, &stmt_count, 3, values, &res);
    if (err == BW_EINVAL)
        return bw_call_violation(call, "table", "%s holds no tenant rows", req->table);
    if (err != 0)
        return err;
    Bulwark__Lifecycle__V1__CountTenantRowsResponse *out =
        bw_arena_alloc(call->arena, sizeof(*out));
    int n = PQntuples(res);
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__lifecycle__v1__count_tenant_rows_response__init(out);
    out->counts = bw_arena_calloc(call->arena, (size_t)n + 1, sizeof(*out->counts));
    if (out->counts == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < n; i++) {
        Bulwark__Lifecycle__V1__TenantRowCount *c = bw_arena_alloc(call->arena, sizeof(*c));
        if (c == NULL)
            return BW_ENOMEM;
        bulwark__lifecycle__v1__tenant_row_count__init(c);
        c->tenant_id = bw_store_strdup(call->arena, res, i, 0);
        c->rows = bw_store_int(res, i, 1);
        out->counts[i] = c;
    }
    out->n_counts = (size_t)n;
    *resp = &out->base;
    return 0;
}

const bw_rpc_handler_t bw_lifecycle_handlers[] = {
    {"ExportTenantData", export_data},
    {"EraseTenantData", erase_data},
    {"CountTenantRows", count_rows},
};
const size_t bw_lifecycle_n_handlers =
    sizeof(bw_lifecycle_handlers) / sizeof(bw_lifecycle_handlers[0]);
