/*
 * Shared store helpers; see store.h.
 */
#include "store.h"

#include "google/protobuf/empty.pb-c.h"

#include "ids.h"
#include "service.h"
#include "status.h"
#include "times.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *bw_store_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
}

long long bw_store_int(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

char *bw_store_strdup(bw_arena_t *arena, const PGresult *res, int row, int col)
{
    return bw_arena_strdup(arena, bw_store_text(res, row, col));
}

int bw_store_timestamp(bw_arena_t *arena, const PGresult *res, int row, int col,
                       Google__Protobuf__Timestamp **out)
{
    *out = NULL;
    if (PQgetisnull(res, row, col))
        return 0;
    *out = bw_store_timestamp_us(arena, strtoll(PQgetvalue(res, row, col), NULL, 10));
    return *out != NULL ? 0 : BW_ENOMEM;
}

int bw_store_columns(bw_arena_t *arena, const PGresult *res, int row, const bw_store_column_t *cols,
                     size_t n)
{
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        const bw_store_column_t *c = &cols[i];
        if (c->time != NULL ? bw_store_timestamp(arena, res, row, c->col, c->time) != 0
                            : (*c->text = bw_store_strdup(arena, res, row, c->col)) == NULL)
            err = BW_ENOMEM;
    }
    return err;
}

Google__Protobuf__Timestamp *bw_store_timestamp_us(bw_arena_t *arena, int64_t us)
{
    Google__Protobuf__Timestamp *ts = bw_arena_alloc(arena, sizeof(*ts));
    if (ts == NULL)
        return NULL;
    google__protobuf__timestamp__init(ts);
    bw_time_split_us(us, &ts->seconds, &ts->nanos);
    return ts;
}

char *bw_store_bytea_param(bw_arena_t *arena, const uint8_t *bytes, size_t len)
{
    char *out = bw_arena_alloc(arena, 2 * len + 3);
    if (out == NULL)
        return NULL;
    out[0] = '\\';
    out[1] = 'x';
    bw_hex(bytes, len, out + 2);
    return out;
}

int bw_store_bytea(bw_arena_t *arena, const PGresult *res, int row, int col, uint8_t **out,
                   size_t *len)
{
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
    if (raw == NULL)
        return BW_EINTERNAL;
    uint8_t *copy = bw_arena_alloc(arena, n ? n : 1);
    if (copy == NULL) {
        PQfreemem(raw);
        return BW_ENOMEM;
    }
    memcpy(copy, raw, n);
    PQfreemem(raw);
    *out = copy;
    *len = n;
    return 0;
}

int bw_store_page(bw_call_t *call, const char *scope, int32_t page_size, const char *page_token,
                  bw_page_t *page)
{
    if (page_size < 0)
        return bw_call_violation(call, "pageSize", "must not be negative");
    page->size = page_size == 0                 ? BW_PAGE_SIZE_DEFAULT
                 : page_size > BW_PAGE_SIZE_MAX ? BW_PAGE_SIZE_MAX
                                                : page_size;
    snprintf(page->size_param, sizeof(page->size_param), "%d", page->size + 1);
    page->after[0] = '\0';
    if (page_token != NULL && page_token[0] != '\0' &&
        bw_page_token_decode(scope, page_token, page->after, sizeof(page->after)) != 0)
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    return 0;
}

int bw_store_uuid_page(bw_call_t *call, const char *scope, int32_t page_size,
                       const char *page_token, const bw_db_stmt_t *stmt, const char *tenant,
                       bw_page_t *page, PGresult **res, int *n_rows)
{
    int err = bw_store_page(call, scope, page_size, page_token, page);
    if (err != 0)
        return err;
    if (page->after[0] != '\0' && !bw_uuid_valid(page->after))
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    const char *values[] = {page->after, page->size_param};
    err = bw_db_exec1(bw_service_db(call), call->arena, tenant, stmt, 2, values, res);
    if (err != 0)
        return err;
    *n_rows = PQntuples(*res);
    return 0;
}

int bw_store_next_token(bw_call_t *call, const char *scope, const bw_page_t *page, int n_rows,
                        const char *last_key, char **token)
{
    *token = (char *)"";
    if (n_rows <= page->size)
        return 0;
    char *text = bw_arena_alloc(call->arena, BW_PAGE_TOKEN_MAX);
    if (text == NULL)
        return BW_ENOMEM;
    if (bw_page_token_encode(scope, last_key, text, BW_PAGE_TOKEN_MAX) != 0)
        return bw_call_fail(call, BW_EINTERNAL, NULL,
                            "a page key of %zu bytes does not fit a token", strlen(last_key));
    *token = text;
    return 0;
}

/* The field name of desc if it is of type and label (0: any label). */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *desc,
                                                const char *name, ProtobufCType type,
                                                ProtobufCLabel label)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    return f != NULL && f->type == type && f->label == label ? f : NULL;
}

/* The fields of a list response: its repeated message field items, its
 * next_page_token and the items' string field "id" (NULL when missing);
 * -1 when one of the three is missing. */
typedef struct list_fields {
    const ProtobufCFieldDescriptor *items, *next, *id;
} list_fields_t;

static int list_fields(const ProtobufCMessageDescriptor *response, const char *items,
                       list_fields_t *f)
{
    f->items = field_of(response, items, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_REPEATED);
    f->next = field_of(response, "next_page_token", PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_NONE);
    f->id = f->items != NULL ? field_of(f->items->descriptor, "id", PROTOBUF_C_TYPE_STRING,
                                        PROTOBUF_C_LABEL_NONE)
                             : NULL;
    return f->id != NULL && f->next != NULL ? 0 : -1;
}

/* bw_store_list_items with the response's fields looked up (f). */
static int list_items(bw_call_t *call, const ProtobufCMessageDescriptor *response,
                      const list_fields_t *f, const PGresult *res, int shown,
                      bw_store_row_fn row_fn, const bw_store_list_hook_t *hook,
                      ProtobufCMessage **out)
{
    ProtobufCMessage *msg = bw_arena_alloc(call->arena, response->sizeof_message);
    ProtobufCMessage **rows = bw_arena_calloc(call->arena, (size_t)shown + 1, sizeof(*rows));
    if (msg == NULL || rows == NULL)
        return BW_ENOMEM;
    protobuf_c_message_init(response, msg);
    int err;
    for (int i = 0; i < shown; i++)
        if ((err = row_fn(call->arena, res, i, &rows[i])) != 0)
            return err;
    *(size_t *)((char *)msg + f->items->quantifier_offset) = (size_t)shown;
    *(ProtobufCMessage ***)((char *)msg + f->items->offset) = rows;
    if (hook != NULL && (err = hook->fn(call, hook->data, res, rows, (size_t)shown)) != 0)
        return err;
    *out = msg;
    return 0;
}

int bw_store_list_items(bw_call_t *call, const ProtobufCMessageDescriptor *response,
                        const char *items, const PGresult *res, int shown, bw_store_row_fn row_fn,
                        const bw_store_list_hook_t *hook, ProtobufCMessage **out, char ***next)
{
    list_fields_t f;
    (void)list_fields(response, items, &f); /* no "id" needed: the caller makes the token */
    if (f.items == NULL || f.next == NULL)
        return BW_EINVAL;
    int err = list_items(call, response, &f, res, shown, row_fn, hook, out);
    if (err == 0)
        *next = (char **)((char *)*out + f.next->offset);
    return err;
}

/* bw_store_list_response with the response's fields looked up (f). */
static int list_response(bw_call_t *call, const char *scope, const bw_page_t *page,
                         const PGresult *res, int n_rows,
                         const ProtobufCMessageDescriptor *response, const list_fields_t *f,
                         bw_store_row_fn row_fn, const bw_store_list_hook_t *hook,
                         ProtobufCMessage **resp)
{
    int shown = n_rows > page->size ? page->size : n_rows;
    ProtobufCMessage *out;
    int err = list_items(call, response, f, res, shown, row_fn, hook, &out);
    if (err != 0)
        return err;
    ProtobufCMessage **rows = *(ProtobufCMessage ***)((char *)out + f->items->offset);
    const char *last = shown > 0 ? *(char **)((char *)rows[shown - 1] + f->id->offset) : "";
    char **next = (char **)((char *)out + f->next->offset);
    if ((err = bw_store_next_token(call, scope, page, n_rows, last, next)) != 0)
        return err;
    *resp = out;
    return 0;
}

int bw_store_list_response(bw_call_t *call, const char *scope, const bw_page_t *page,
                           const PGresult *res, int n_rows,
                           const ProtobufCMessageDescriptor *response, const char *items,
                           bw_store_row_fn row_fn, const bw_store_list_hook_t *hook,
                           ProtobufCMessage **resp)
{
    list_fields_t f;
    if (list_fields(response, items, &f) != 0)
        return BW_EINVAL;
    return list_response(call, scope, page, res, n_rows, response, &f, row_fn, hook, resp);
}

int bw_store_uuid_list(bw_call_t *call, const char *scope, int32_t page_size,
                       const char *page_token, const bw_db_stmt_t *stmt, const char *tenant,
                       const ProtobufCMessageDescriptor *response, const char *items,
                       bw_store_row_fn row_fn, ProtobufCMessage **resp)
{
    list_fields_t f;
    if (list_fields(response, items, &f) != 0)
        return BW_EINVAL;
    bw_page_t page;
    PGresult *res;
    int n = 0;
    int err = bw_store_uuid_page(call, scope, page_size, page_token, stmt, tenant, &page, &res, &n);
    if (err != 0)
        return err;
    return list_response(call, scope, &page, res, n, response, &f, row_fn, NULL, resp);
}

/* Runs stmt with $1 id for tenant: BW_ENOTFOUND when id is not a UUID or no
 * row came back. */
int bw_store_uuid_read(bw_call_t *call, const bw_db_stmt_t *stmt, const char *tenant,
                       const char *id, PGresult **res)
{
    if (!bw_uuid_valid(id))
        return BW_ENOTFOUND;
    int err = bw_db_exec1(bw_service_db(call), call->arena, tenant, stmt, 1, &id, res);
    if (err == 0 && PQntuples(*res) == 0)
        err = BW_ENOTFOUND;
    return err;
}

int bw_store_uuid_ahead(const bw_db_stmt_t *stmt, const char *tenant, const char *id,
                        bw_db_ahead_t *out)
{
    if (!bw_uuid_valid(id))
        return 0;
    *out = (bw_db_ahead_t){.tenant_id = tenant, .stmt = stmt, .n_values = 1, .values = {id}};
    return 1;
}

int bw_store_uuid_get(bw_call_t *call, const bw_db_stmt_t *stmt, const char *tenant, const char *id,
                      bw_store_row_fn row_fn, void *out)
{
    PGresult *res;
    int err = bw_store_uuid_read(call, stmt, tenant, id, &res);
    return err != 0 ? err : row_fn(call->arena, res, 0, out);
}

int bw_store_uuid_delete(bw_call_t *call, const bw_db_stmt_t *stmt, const char *tenant,
                         const char *id, ProtobufCMessage **resp)
{
    PGresult *res;
    int err = bw_store_uuid_read(call, stmt, tenant, id, &res);
    if (err != 0 || (err = bw_store_check_etag(call, id, bw_store_int(res, 0, 0))) != 0)
        return err;
    Google__Protobuf__Empty *empty = bw_arena_alloc(call->arena, sizeof(*empty));
    if (empty == NULL)
        return BW_ENOMEM;
    google__protobuf__empty__init(empty);
    *resp = &empty->base;
    return 0;
}

int bw_store_begin_row(bw_call_t *call, bw_db_t *db, const bw_db_stmt_t *stmt, int n_keys,
                       const char *const *keys, const char *etag_id, int rev_col, PGresult **res)
{
    int err = bw_db_begin(db, call->tenant_id);
    if (err != 0)
        return err;
    if ((err = bw_db_exec(db, call->arena, stmt, n_keys, keys, res)) == 0) {
        if (PQntuples(*res) == 0)
            err = BW_ENOTFOUND;
        else if (rev_col >= 0)
            err = bw_store_check_etag(call, etag_id != NULL ? etag_id : bw_store_text(*res, 0, 0),
                                      bw_store_int(*res, 0, rev_col));
    }
    if (err != 0)
        bw_db_rollback(db);
    return err;
}

int bw_store_end(bw_db_t *db, int err)
{
    if (err == 0)
        err = bw_db_commit(db);
    if (err != 0)
        bw_db_rollback(db);
    return err;
}

int bw_store_if_match_given(const bw_call_t *call)
{
    return call->if_match != NULL && strcmp(call->if_match, "*") != 0;
}

int bw_store_check_etag(bw_call_t *call, const char *id, long long revision)
{
    if (!bw_store_if_match_given(call))
        return 0;
    char etag[17];
    bw_etag(id, revision, etag);
    if (bw_ct_streq(etag, call->if_match))
        return 0;
    return bw_store_etag_mismatch(call);
}

int bw_store_etag_mismatch(bw_call_t *call)
{
    return bw_call_fail(call, BW_EPRECOND, "ETAG_MISMATCH",
                        "the resource changed since etag %s was read; read it again",
                        call->if_match != NULL ? call->if_match : "");
}

Bulwark__Api__V1__HttpBody *bw_store_http_body(bw_call_t *call)
{
    Bulwark__Api__V1__HttpBody *body = bw_arena_alloc(call->arena, sizeof(*body));
    if (body != NULL)
        bulwark__api__v1__http_body__init(body);
    return body;
}
