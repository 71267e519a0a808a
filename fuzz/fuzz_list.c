/*
 * libFuzzer target of a list's parameters (common/list.c): orderBy, filter
 * and pageToken as a client sends them, parsed against a list with every
 * kind of order and filter field. Every request must either parse or fail
 * with violations naming a parameter of the list, and never anything else;
 * what parses holds only values its fields take; and a page token made from
 * any key and id reads back to the same key and id with the same parameters
 * and to a 400 with others.
 */
#include "ids.h"
#include "list.h"
#include "status.h"
#include "store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const bw_db_stmt_t stmts[8] = {{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""},
                                      {"e", ""}, {"f", ""}, {"g", ""}, {"h", ""}};
static const bw_list_order_t orders[] = {
    {NULL, BW_LIST_KEY_INT, {&stmts[0], &stmts[1], &stmts[2], &stmts[3]}},
    {"updateTime", BW_LIST_KEY_TIME, {&stmts[4], &stmts[5], &stmts[6], &stmts[7]}},
    {"name", BW_LIST_KEY_TEXT, {&stmts[0], &stmts[1], &stmts[2], &stmts[3]}},
};
static const char *const states[] = {"OPEN", "CLOSED", NULL};
static const bw_list_filter_t filters[] = {
    {"state", BW_LIST_ENUM, states, 0},        {"entity", BW_LIST_UUID, NULL, 0},
    {"parent", BW_LIST_UUID_OR_NONE, NULL, 0}, {"flag", BW_LIST_BOOL, NULL, 0},
    {"owner", BW_LIST_TEXT, NULL, 16},
};
static const bw_list_spec_t spec = {
    .name = "fuzz",
    .id = BW_LIST_ID_UUID,
    .orders = orders,
    .n_orders = 3,
    .since_order = 1,
    .filters = filters,
    .n_filters = 5,
};

static int named_parameter(const char *field)
{
    static const char *const names[] = {"orderBy", "filter", "pageToken", "pageSize",
                                        "updatedSince"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(field, names[i]) == 0)
            return 1;
    return 0;
}

/* The filter values a parse accepted are values of their fields. */
static void check_values(const bw_list_t *l)
{
    for (size_t i = 0; i < spec.n_filters; i++) {
        const char *v = l->filters[i];
        if (v == NULL)
            continue;
        switch (filters[i].type) {
        case BW_LIST_ENUM:
            if (strcmp(v, "OPEN") != 0 && strcmp(v, "CLOSED") != 0)
                abort();
            break;
        case BW_LIST_UUID_OR_NONE:
            if (v[0] == '\0')
                break;
            /* fall through */
        case BW_LIST_UUID:
            if (!bw_uuid_valid(v))
                abort();
            break;
        case BW_LIST_BOOL:
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
                abort();
            break;
        case BW_LIST_TEXT:
            if (v[0] == '\0' || strlen(v) > filters[i].max_len)
                abort();
            break;
        }
    }
}

/* A token made for key and id (the last row of a page that read one more
 * row) must read back to them, and only with its own parameters. */
static void check_token(bw_call_t *call, const char *key)
{
    bw_list_query_t q = {.page_size = 1, .order_by = "name desc", .filter = "state=OPEN"};
    bw_list_t l;
    if (bw_list_parse(call, &spec, &q, &l) != 0)
        abort();
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc cols[2] = {{"key", 0, 0, 0, 25, -1, 0}, {"id", 0, 0, 0, 25, -1, 0}};
    const char *id = "0193a2b4-1111-7222-8333-444455556666";
    if (res == NULL || !PQsetResultAttrs(res, 2, cols) ||
        !PQsetvalue(res, 0, 0, (char *)key, (int)strlen(key)) ||
        !PQsetvalue(res, 0, 1, (char *)id, (int)strlen(id)))
        abort();
    char *token;
    int rc = bw_list_next_token(call, &l, res, 2, 0, &token);
    PQclear(res);
    if (rc != 0) /* only a key too long for a token fails, and says so */
        return;
    q.page_token = token;
    if (bw_list_parse(call, &spec, &q, &l) != 0 || strcmp(l.key, key) != 0 || strcmp(l.id, id) != 0)
        abort();
    q.filter = "state=CLOSED";
    call->n_violations = 0;
    if (bw_list_parse(call, &spec, &q, &l) != BW_EINVAL || call->n_violations != 1 ||
        strcmp(call->violations[0].field, "pageToken") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        bw_page_token_set_secret("fuzz-secret-fuzz-secret-fuzz-secret");
        ready = 1;
    }
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = bw_arena_create(4096);
    if (call.arena == NULL) {
        free(text);
        return 0;
    }
    /* Byte 0 says where the text goes. */
    bw_list_query_t q = {.page_size = (int32_t)(data[0] >> 2) - 8};
    switch (data[0] & 3) {
    case 0:
        q.filter = text;
        break;
    case 1:
        q.order_by = text;
        break;
    case 2:
        q.page_token = text;
        break;
    default:
        check_token(&call, text);
        goto out;
    }
    bw_list_t l;
    int rc = bw_list_parse(&call, &spec, &q, &l);
    if (rc == 0) {
        if (call.n_violations != 0 || l.size < 1 || l.size > BW_PAGE_SIZE_MAX)
            abort();
        check_values(&l);
    } else {
        if (rc != BW_EINVAL || call.n_violations == 0)
            abort();
        for (size_t i = 0; i < call.n_violations; i++)
            if (!named_parameter(call.violations[i].field))
                abort();
    }
out:
    bw_arena_destroy(call.arena);
    free(text);
    return 0;
}
