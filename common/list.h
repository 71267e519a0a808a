/*
 * Lists for sync and screens: the orderBy, filter and updatedSince parameters
 * of a list request, their validation, and the page token that carries the
 * sort key and the id of a page's last item, signed and bound to the list,
 * the order, the filter and updatedSince (docs/DESIGN.md, "Ids and lists").
 *
 * A service describes each list once, as a bw_list_spec_t: the orders it
 * offers, each with four prepared statements (ascending or descending, first
 * page or after a key), the fields filter takes, and how updatedSince reads.
 * Every statement of a list takes the same parameters, in this order:
 *
 *   $1                    rows to return: the page size plus one
 *   $2 .. $(1+n_own)      the service's own (e.g. the entity of the path)
 *   then one per filter   in the spec's order; NULL when not asked for
 *   then key, id          only in the statements after a key: the sort key
 *                         of the last item (a time as RFC 3339 text with
 *                         microseconds, text, or an integer) and its id
 *
 * and returns, as its last two columns, the sort key of each row (a time as
 * microseconds since the epoch, text, or an integer) and its id, both as
 * text: what the next page token carries. Ties in the sort key are broken by
 * the id, in the same direction, so an order is total and a keyset page
 * (never OFFSET) costs one index range scan wherever it starts.
 *
 * Syntax (AIP-132 and a subset of AIP-160):
 *   orderBy       "<field>" or "<field> desc", one of the spec's fields
 *   filter        "<field>=<value>" terms joined by " AND "; a value with a
 *                 blank or a quote is written in double quotes, with \" and
 *                 \\ inside
 *   updatedSince  the items changed after that time, ordered by (update
 *                 time, id) ascending: with it, orderBy is the spec's
 *                 update field or empty
 * Every mistake adds a violation naming its parameter (orderBy, filter,
 * updatedSince, pageSize, pageToken) and the call fails with BW_EINVAL.
 */
#ifndef BW_LIST_H
#define BW_LIST_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "rpc.h"
#include "store.h"

#define BW_LIST_MAX_FILTERS 8
/* The longest filter a request may send, in bytes. */
#define BW_LIST_FILTER_MAX 2048

/* What a sort key is. */
typedef enum bw_list_key {
    BW_LIST_KEY_TIME, /* a timestamptz column; microseconds in the key column */
    BW_LIST_KEY_TEXT,
    BW_LIST_KEY_INT
} bw_list_key_t;

/* What an id is: a UUID, or text without blanks (a control's ref). */
typedef enum bw_list_id { BW_LIST_ID_UUID, BW_LIST_ID_TEXT } bw_list_id_t;

/* The statements of an order, by direction and page. */
enum { BW_LIST_ASC_FIRST, BW_LIST_ASC_AFTER, BW_LIST_DESC_FIRST, BW_LIST_DESC_AFTER };

typedef struct bw_list_order {
    const char *field; /* the name orderBy takes, e.g. "createTime"; NULL for an
                          unnamed order, which only a spec's default can be */
    bw_list_key_t key;
    const bw_db_stmt_t *stmts[4];
} bw_list_order_t;

/* What a filter field's values are. */
typedef enum bw_list_filter_type {
    BW_LIST_ENUM,         /* one of values */
    BW_LIST_UUID,         /* an id; sent lower-case */
    BW_LIST_UUID_OR_NONE, /* an id, or "" for none (sent as "") */
    BW_LIST_BOOL,         /* true or false */
    BW_LIST_TEXT          /* 1 to max_len bytes */
} bw_list_filter_type_t;

typedef struct bw_list_filter {
    const char *field; /* JSON name, e.g. "state" */
    bw_list_filter_type_t type;
    const char *const *values; /* BW_LIST_ENUM: the names, NULL-terminated */
    size_t max_len;            /* BW_LIST_TEXT */
} bw_list_filter_t;

/* A list, described once (static, borrowed for as long as it is used). */
typedef struct bw_list_spec {
    const char *name; /* binds the page token to the list: "entities" */
    bw_list_id_t id;
    const bw_list_order_t *orders;
    size_t n_orders;
    size_t default_order; /* without orderBy ... */
    int default_desc;     /* ... and its direction */
    /* updatedSince lists by orders[since_order] ascending, from just after
     * the time given; through since_stmt when set (same parameters and
     * columns as that order's statement after a key: e.g. one that adds
     * tombstones), else that order's own. */
    size_t since_order;
    const bw_db_stmt_t *since_stmt;
    /* Deletions leave tombstones for this many days (0: the list has none);
     * updatedSince further back is refused, as a reader would miss deletions. */
    int tombstone_days;
    const bw_list_filter_t *filters;
    size_t n_filters;
} bw_list_spec_t;

/* What the request asked. params[i], when not NULL, is the value of
 * filters[i] given as a parameter of its own (e.g. ?state=OPEN), already
 * validated by the service in the filter's value form; the same field in
 * filter too is refused. Everything borrowed. */
typedef struct bw_list_query {
    int32_t page_size;
    const char *page_token;
    const char *order_by;
    const char *filter;
    const Google__Protobuf__Timestamp *updated_since;
    const char *params[BW_LIST_MAX_FILTERS];
} bw_list_query_t;
/* The bw_list_query_t of a list request message req, whose fields have
 * these names; no params (the handler fills its own). */
#define BW_LIST_QUERY(req)                                                                         \
    {                                                                                              \
        (req)->page_size, (req)->page_token, (req)->order_by, (req)->filter, (req)->updated_since  \
    }

/* A parsed list request. Strings live on the call's arena. */
typedef struct bw_list {
    const bw_list_spec_t *spec;
    int size;            /* items per page */
    char size_param[16]; /* size + 1, for $1: one more row tells if more follow */
    size_t order;        /* index into spec->orders */
    int desc;            /* descending */
    int has_since;       /* updatedSince given */
    int64_t since_us;    /* its microseconds since the epoch */
    int after;           /* the page starts after key and id */
    const char *key;     /* the sort key as a statement parameter */
    const char *id;      /* the id as a statement parameter */
    const char *filters[BW_LIST_MAX_FILTERS]; /* values as statement parameters, NULL: not asked */
    const char *binding;                      /* what the page token is bound to */
} bw_list_t;

/*
 * Statement text for the common shape "<select> WHERE <conditions> [AND the
 * keyset] ORDER BY <key>, <id> LIMIT $1": the four statements of one order,
 * in the order of BW_LIST_ASC_FIRST .. BW_LIST_DESC_AFTER. name prefixes the
 * statements' names (unique per connection); select_where ends with the
 * conditions, "TRUE" when there are none; k and id are the key and id
 * columns; kp and ip the key and id parameters with their casts
 * ("$4::timestamptz", "$5::uuid").
 */
#define BW_LIST_ASC(k, id) " ORDER BY " k ", " id
#define BW_LIST_DESC(k, id) " ORDER BY " k " DESC, " id " DESC"
#define BW_LIST_AFTER(k, id, cmp, kp, ip) " AND (" k ", " id ") " cmp " (" kp ", " ip ")"
#define BW_LIST_ORDER_STMTS(name, select_where, k, id, kp, ip)                                     \
    {                                                                                              \
        {name "_asc", select_where BW_LIST_ASC(k, id) " LIMIT $1::int"},                           \
            {name "_asc_after",                                                                    \
             select_where BW_LIST_AFTER(k, id, ">", kp, ip) BW_LIST_ASC(k, id) " LIMIT $1::int"},  \
            {name "_desc", select_where BW_LIST_DESC(k, id) " LIMIT $1::int"},                     \
        {                                                                                          \
            name "_desc_after", select_where BW_LIST_AFTER(k, id, "<", kp, ip)                     \
                                    BW_LIST_DESC(k, id) " LIMIT $1::int"                           \
        }                                                                                          \
    }
/* The bw_list_order_t.stmts of such an array of four. */
#define BW_LIST_STMT_PTRS(a)                                                                       \
    {                                                                                              \
        &(a)[0], &(a)[1], &(a)[2], &(a)[3]                                                         \
    }

/* A bw_list_spec_t's orders or filters, a static array, with its count:
 * .orders = a, .n_orders = its length (likewise .filters, .n_filters). */
#define BW_LIST_ORDERS(a) .orders = (a), .n_orders = sizeof(a) / sizeof((a)[0])
#define BW_LIST_FILTERS(a) .filters = (a), .n_filters = sizeof(a) / sizeof((a)[0])

/* Validates q against spec into *out. Every problem adds a violation; then
 * BW_EINVAL. BW_ENOMEM. */
int bw_list_parse(bw_call_t *call, const bw_list_spec_t *spec, const bw_list_query_t *q,
                  bw_list_t *out);

/* The statement that reads the page (borrowed from the spec). */
const bw_db_stmt_t *bw_list_stmt(const bw_list_t *list);

/* The statement's parameters, on the arena: the size, own[0 .. n_own), the
 * filters, and the key and id when the statement takes them. *n_values gets
 * their number. NULL on OOM. */
const char **bw_list_values(bw_call_t *call, const bw_list_t *list, const char *const *own,
                            int n_own, int *n_values);

/* Runs the page's statement (bw_list_stmt, bw_list_values) on db in its own
 * transaction with the call's tenant; *res is owned by the call's arena. */
int bw_list_read(bw_call_t *call, bw_db_t *db, const bw_list_t *list, const char *const *own,
                 int n_own, PGresult **res);

/* Of n items read (at most size + 1), how many the page shows. */
int bw_list_shown(const bw_list_t *list, int n_items);

/* A list handler's parse and read: parses q against spec into *list
 * (bw_list_parse), then reads the page on db (bw_list_read, with own[0 ..
 * n_own)) into *res. invalid != 0 (the handler found a bad field of its own
 * and added its violation) makes it BW_EINVAL, after the parse has added
 * its violations too, without a read. */
int bw_list_page(bw_call_t *call, bw_db_t *db, const bw_list_spec_t *spec, const bw_list_query_t *q,
                 int invalid, const char *const *own, int n_own, bw_list_t *list, PGresult **res);

/* The next page token into *out, on the arena: "" unless more items follow
 * (n_items read > size). It carries the last two columns of row last_row of
 * res, the row of the last item shown. 0, BW_ENOMEM, or BW_EINTERNAL (the
 * call failed) for a key too long for a token. */
int bw_list_next_token(bw_call_t *call, const bw_list_t *list, const PGresult *res, int n_items,
                       int last_row, char **out);

/* A list handler's response for the n_items rows of res bw_list_read gave:
 * the message of bw_store_list_items (response, its repeated field items,
 * each shown row made by row_fn, then hook's work; NULL: none) into *resp,
 * with its next page token (bw_list_next_token). */
int bw_list_response(bw_call_t *call, const bw_list_t *list, const PGresult *res, int n_items,
                     const ProtobufCMessageDescriptor *response, const char *items,
                     bw_store_row_fn row_fn, const bw_store_list_hook_t *hook,
                     ProtobufCMessage **resp);

/* RFC 3339 UTC text with microseconds of us ("2025-06-10T07:15:00.000000Z")
 * into out (at least BW_LIST_TIME_TEXT bytes); BW_EINVAL outside years
 * 0001-9999. */
#define BW_LIST_TIME_TEXT 32
int bw_list_format_time(int64_t us, char *out, size_t outlen);

#endif
