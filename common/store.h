/*
 * Helpers the services' stores share: turning result columns into protobuf
 * fields, bytea parameters, and keyset pagination (page size rules and
 * signed page tokens of README, "Conventions of the API").
 */
#ifndef BW_STORE_H
#define BW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "bulwark/api/v1/http.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "db.h"
#include "rpc.h"

#define BW_PAGE_SIZE_DEFAULT 50
#define BW_PAGE_SIZE_MAX 500

/* The text of a column, "" for NULL (borrowed from res). */
const char *bw_store_text(const PGresult *res, int row, int col);
/* A column holding microseconds since the epoch (bigint) as a Timestamp on
 * the arena, into *out: 0 (*out NULL for SQL NULL) or BW_ENOMEM. */
int bw_store_timestamp(bw_arena_t *arena, const PGresult *res, int row, int col,
                       Google__Protobuf__Timestamp **out);
/* us microseconds since the epoch as a Timestamp on the arena; NULL when out
 * of memory. */
Google__Protobuf__Timestamp *bw_store_timestamp_us(bw_arena_t *arena, int64_t us);
long long bw_store_int(const PGresult *res, int row, int col);
/* Copy of a column on the arena. */
char *bw_store_strdup(bw_arena_t *arena, const PGresult *res, int row, int col);
/* A column of a row copied into a message field: text (bw_store_strdup)
 * into *text, or, when time is set, a Timestamp (bw_store_timestamp) into
 * *time. Written {COL_NAME, &m->name} or {COL_CREATE, .time = &m->create_time}. */
typedef struct bw_store_column {
    int col;
    char **text;
    Google__Protobuf__Timestamp **time;
} bw_store_column_t;
/* Copies the n columns of cols of row, on the arena, each tried: 0, or
 * BW_ENOMEM when any copy failed (its field is then NULL). */
int bw_store_columns(bw_arena_t *arena, const PGresult *res, int row, const bw_store_column_t *cols,
                     size_t n);
/* bw_store_columns over the columns written as its last arguments:
 * BW_STORE_COLUMNS(arena, res, row, {COL_ID, &m->id}, {COL_NAME, &m->name}). */
#define BW_STORE_COLUMNS(arena, res, row, ...)                                                     \
    bw_store_columns((arena), (res), (row), (const bw_store_column_t[]){__VA_ARGS__},              \
                     sizeof((const bw_store_column_t[]){__VA_ARGS__}) / sizeof(bw_store_column_t))
/* Hex text "\x..." of bytes, as a bytea parameter, on the arena. */
char *bw_store_bytea_param(bw_arena_t *arena, const uint8_t *bytes, size_t len);
/* Unescapes a bytea column onto the arena; BW_EINTERNAL when malformed. */
int bw_store_bytea(bw_arena_t *arena, const PGresult *res, int row, int col, uint8_t **out,
                   size_t *len);

/* The start of a transaction on one row (a read-modify-write, or a list
 * below a parent): begins the tenant's transaction and reads the row of keys
 * (n_keys of them, stmt's parameters) with stmt into *res (a write's stmt
 * locks it: FOR UPDATE); when rev_col >= 0, checks If-Match with etag_id
 * (NULL: the row's column 0) and the revision in column rev_col.
 * BW_ENOTFOUND when no row came back: the caller names the resource in its
 * 404. On any failure the transaction is rolled back; on success the caller
 * ends it with bw_store_end. */
int bw_store_begin_row(bw_call_t *call, bw_db_t *db, const bw_db_stmt_t *stmt, int n_keys,
                       const char *const *keys, const char *etag_id, int rev_col, PGresult **res);

/* The end of a transaction begun with bw_db_begin (or bw_store_begin_row): when
 * err is 0 commits, and when err is not (or the commit fails) rolls back.
 * Returns err, or the commit's failure. */
int bw_store_end(bw_db_t *db, int err);

/* If-Match: when the call carries an etag other than "*" and it is not the
 * etag of (id, revision), fails the call with ETAG_MISMATCH (HTTP 412). */
int bw_store_check_etag(bw_call_t *call, const char *id, long long revision);
/* Whether the call carries an etag to compare (If-Match other than "*"). */
int bw_store_if_match_given(const bw_call_t *call);
/* Fails the call with ETAG_MISMATCH: for a write that finds, in the same
 * statement that writes, that the row changed after its If-Match was
 * compared. */
int bw_store_etag_mismatch(bw_call_t *call);

/* A list request's page: the clamped size and the key after which the page
 * starts ("" for the first page). A negative size or a forged token adds a
 * violation (pageSize / pageToken) and returns BW_EINVAL. scope binds the
 * token to its list. */
typedef struct bw_page {
    int size;
    char after[160];
    char size_param[16]; /* size + 1 as text: one extra row tells if more follow */
} bw_page_t;
int bw_store_page(bw_call_t *call, const char *scope, int32_t page_size, const char *page_token,
                  bw_page_t *page);
/* One page of a list ordered by a UUID key, the common case: parses the
 * page as bw_store_page does (a key that is no UUID is a forged token: 400
 * naming pageToken), runs stmt with $1 the key after which the page starts
 * ("" first) and $2 the size plus one, for tenant (NULL: the operator's
 * lists, across tenants), into *res and *n_rows (a row beyond the page's
 * size only says that more follow). */
int bw_store_uuid_page(bw_call_t *call, const char *scope, int32_t page_size,
                       const char *page_token, const bw_db_stmt_t *stmt, const char *tenant,
                       bw_page_t *page, PGresult **res, int *n_rows);

/* Makes row of res a message on the arena, into *out, a pointer to the
 * caller's pointer of the message's own type: 0 or a BW_E* code. */
typedef int (*bw_store_row_fn)(bw_arena_t *arena, const PGresult *res, int row, void *out);

/* What a list does with a whole page once its items are made, before the
 * next page's token: fn gets data, the page's result and its items (n of
 * them, each a pointer to the item's message), e.g. to add what other
 * queries know of them. 0 or a BW_E* code, which fails the list. */
typedef struct bw_store_list_hook {
    int (*fn)(bw_call_t *call, void *data, const PGresult *res, ProtobufCMessage **items, size_t n);
    void *data;
} bw_store_list_hook_t;

/* An empty reply of bytes (bulwark.api.v1.HttpBody: a file or a picture),
 * on the call's arena; NULL when out of memory. */
Bulwark__Api__V1__HttpBody *bw_store_http_body(bw_call_t *call);

/* The message of a list response, on the call's arena, into *out: of
 * response, whose repeated message field items holds the first shown rows
 * of res, each made by row_fn, then hook's work (NULL: none); *next gets the
 * address of its next_page_token for the caller to fill. BW_EINVAL when
 * response has no such fields. */
int bw_store_list_items(bw_call_t *call, const ProtobufCMessageDescriptor *response,
                        const char *items, const PGresult *res, int shown, bw_store_row_fn row_fn,
                        const bw_store_list_hook_t *hook, ProtobufCMessage **out, char ***next);

/* The response of one page of a list ordered by a UUID key, from its result
 * (n_rows rows for page, as bw_store_uuid_page reads them): the message
 * of bw_store_list_items into *resp, whose next_page_token follows the last
 * item's string field "id" (bw_store_next_token).
 * BW_EINVAL when response has no such fields. */
int bw_store_list_response(bw_call_t *call, const char *scope, const bw_page_t *page,
                           const PGresult *res, int n_rows,
                           const ProtobufCMessageDescriptor *response, const char *items,
                           bw_store_row_fn row_fn, const bw_store_list_hook_t *hook,
                           ProtobufCMessage **resp);

/* A list handler for a list ordered by a UUID key, whole: one page
 * (bw_store_uuid_page, with the same arguments), then its response
 * (bw_store_list_response, without a hook). BW_EINVAL, before any query,
 * when response has no such fields. */
int bw_store_uuid_list(bw_call_t *call, const char *scope, int32_t page_size,
                       const char *page_token, const bw_db_stmt_t *stmt, const char *tenant,
                       const ProtobufCMessageDescriptor *response, const char *items,
                       bw_store_row_fn row_fn, ProtobufCMessage **resp);

/* A read by id: runs stmt with $1 id for tenant into *res. BW_ENOTFOUND
 * when id is not a UUID or no row came back: the caller names the resource
 * in its 404. */
int bw_store_uuid_read(bw_call_t *call, const bw_db_stmt_t *stmt, const char *tenant,
                       const char *id, PGresult **res);
/* The same read named ahead of its handler (bw_rpc_ahead_func_t): fills out
 * with what bw_store_uuid_read will run for tenant and id; 0 when id is not a
 * UUID, which runs nothing. */
int bw_store_uuid_ahead(const bw_db_stmt_t *stmt, const char *tenant, const char *id,
                        bw_db_ahead_t *out);

/* A get handler's read by id: runs stmt with $1 id for tenant, and makes its
 * first row a message with row_fn into *out. BW_ENOTFOUND when id is not a
 * UUID or no row came back: the caller names the resource in its 404. */
int bw_store_uuid_get(bw_call_t *call, const bw_db_stmt_t *stmt, const char *tenant, const char *id,
                      bw_store_row_fn row_fn, void *out);

/* A delete handler's work: runs stmt with $1 id for tenant, which returns
 * the deleted row's revision in its first column, checks If-Match against
 * it (a mismatch fails the call, and the request's transaction undoes the
 * delete), and sets *resp to an Empty. BW_ENOTFOUND when id is not a UUID
 * or nothing was deleted: the caller names the resource in its 404. */
int bw_store_uuid_delete(bw_call_t *call, const bw_db_stmt_t *stmt, const char *tenant,
                         const char *id, ProtobufCMessage **resp);

/* Sets *token to the next page's token for a page that returned n_rows rows
 * (size + 1 rows mean more follow, and last_key is the key of row size - 1),
 * on the arena, or to "" when this was the last page. BW_ENOMEM, or
 * BW_EINTERNAL when the token cannot be made: a failure is never a silent
 * last page. */
int bw_store_next_token(bw_call_t *call, const char *scope, const bw_page_t *page, int n_rows,
                        const char *last_key, char **token);

#endif
