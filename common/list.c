/*
 * orderBy, filter and updatedSince, and the page token of a list; see list.h.
 */
#include "list.h"

#include "ids.h"
#include "status.h"
#include "store.h"
#include "times.h"
#include "utf8.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZERO_UUID "00000000-0000-0000-0000-000000000000"
#define DAY_US (86400LL * BW_US_PER_SEC)
/* How much of a client's text a message quotes. */
#define QUOTE_MAX 40

int bw_list_format_time(int64_t us, char *out, size_t outlen)
{
    if (us < BW_TIME_MIN_US || us > BW_TIME_MAX_US || outlen < BW_LIST_TIME_TEXT)
        return BW_EINVAL;
    char text[BW_TIME_TEXT_MAX];
    size_t n = bw_time_format_us(us, BW_TIME_FRACTION_MICROS, text);
    memcpy(out, text, n + 1);
    return 0;
}

/* The length of s cut to at most max bytes without splitting a UTF-8
 * sequence, for quoting client text in a message. */
static int quote_len(const char *s, size_t max)
{
    return (int)bw_utf8_cut(s, strlen(s), max);
}

/* ---- orderBy ------------------------------------------------------------ */

/* "createTime, updateTime or name (each optionally followed by \" desc\")" */
static const char *order_choices(bw_call_t *call, const bw_list_spec_t *spec)
{
    const char *text = "";
    size_t named = 0;
    for (size_t i = 0; i < spec->n_orders; i++)
        named += spec->orders[i].field != NULL;
    size_t k = 0;
    for (size_t i = 0; i < spec->n_orders && text != NULL; i++) {
        if (spec->orders[i].field == NULL)
            continue;
        k++;
        text = bw_arena_printf(call->arena, "%s%s%s", text,
                               k == 1       ? ""
                               : k == named ? " or "
                                            : ", ",
                               spec->orders[i].field);
    }
    return text != NULL ? text : "";
}

/* Splits orderBy into a field and a direction. 0, or a violation. */
static int parse_order(bw_call_t *call, const bw_list_spec_t *spec, const char *text, size_t *order,
                       int *desc)
{
    *order = spec->default_order;
    *desc = spec->default_desc;
    const char *p = text != NULL ? text : "";
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 0;
    const char *field = p;
    while (*p != '\0' && !isspace((unsigned char)*p) && *p != ',')
        p++;
    size_t field_len = (size_t)(p - field);
    while (isspace((unsigned char)*p))
        p++;
    int want_desc = 0;
    if (strncmp(p, "desc", 4) == 0 && (p[4] == '\0' || isspace((unsigned char)p[4]))) {
        want_desc = 1;
        p += 4;
        while (isspace((unsigned char)*p))
            p++;
    }
    size_t found = spec->n_orders;
    for (size_t i = 0; i < spec->n_orders; i++) {
        const char *f = spec->orders[i].field;
        if (f != NULL && strlen(f) == field_len && strncmp(f, field, field_len) == 0)
            found = i;
    }
    if (*p != '\0' || found == spec->n_orders) {
        if (strchr(text, ',') != NULL)
            return bw_call_violation(call, "orderBy",
                                     "takes one field: %s, optionally followed by \" desc\"",
                                     order_choices(call, spec));
        return bw_call_violation(call, "orderBy",
                                 "must be %s, optionally followed by \" desc\"; not \"%.*s\"",
                                 order_choices(call, spec), quote_len(text, QUOTE_MAX), text);
    }
    *order = found;
    *desc = want_desc;
    return 0;
}

/* ---- filter -------------------------------------------------------------- */

static const char *filter_fields(bw_call_t *call, const bw_list_spec_t *spec)
{
    const char *text = "";
    for (size_t i = 0; i < spec->n_filters && text != NULL; i++)
        text = bw_arena_printf(call->arena, "%s%s%s", text,
                               i == 0                     ? ""
                               : i + 1 == spec->n_filters ? " and "
                                                          : ", ",
                               spec->filters[i].field);
    return text != NULL ? text : "";
}

static const char *enum_choices(bw_call_t *call, const bw_list_filter_t *f)
{
    const char *text = "";
    for (size_t i = 0; f->values[i] != NULL && text != NULL; i++)
        text = bw_arena_printf(call->arena, "%s%s%s", text,
                               i == 0                     ? ""
                               : f->values[i + 1] == NULL ? " or "
                                                          : ", ",
                               f->values[i]);
    return text != NULL ? text : "";
}

/* Checks value against the field's type; *out gets the parameter form. */
static int filter_value(bw_call_t *call, const bw_list_filter_t *f, const char *value,
                        const char **out)
{
    switch (f->type) {
    case BW_LIST_ENUM:
        for (size_t i = 0; f->values[i] != NULL; i++)
            if (strcmp(f->values[i], value) == 0) {
                *out = f->values[i];
                return 0;
            }
        return bw_call_violation(call, "filter", "%s must be %s, not \"%.*s\"", f->field,
                                 enum_choices(call, f), quote_len(value, QUOTE_MAX), value);
    case BW_LIST_UUID_OR_NONE:
        if (value[0] == '\0') {
            *out = "";
            return 0;
        }
        /* fall through */
    case BW_LIST_UUID: {
        if (!bw_uuid_valid(value))
            return bw_call_violation(call, "filter", "%s must be an id (a UUID)%s, not \"%.*s\"",
                                     f->field, f->type == BW_LIST_UUID_OR_NONE ? " or \"\"" : "",
                                     quote_len(value, QUOTE_MAX), value);
        char *lower = bw_arena_strdup(call->arena, value);
        if (lower == NULL)
            return BW_ENOMEM;
        for (char *c = lower; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        *out = lower;
        return 0;
    }
    case BW_LIST_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            *out = value[0] == 't' ? "true" : "false";
            return 0;
        }
        return bw_call_violation(call, "filter", "%s must be true or false, not \"%.*s\"", f->field,
                                 quote_len(value, QUOTE_MAX), value);
    case BW_LIST_TEXT:
        if (value[0] == '\0' || strlen(value) > f->max_len)
            return bw_call_violation(call, "filter", "%s must be 1 to %zu bytes", f->field,
                                     f->max_len);
        *out = value;
        return 0;
    }
    return BW_EINTERNAL;
}

/* A value given as a parameter of its own, which the service has checked,
 * in the form filter gives it: ids lower-case, so that both ways bind a page
 * token alike. */
static const char *canonical_param(bw_call_t *call, const bw_list_filter_t *f, const char *value)
{
    if (f->type != BW_LIST_UUID && f->type != BW_LIST_UUID_OR_NONE)
        return value;
    char *lower = bw_arena_strdup(call->arena, value);
    for (char *c = lower; c != NULL && *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return lower;
}

/* The syntax error at p of the filter. */
static int filter_syntax(bw_call_t *call, const char *what, const char *p)
{
    if (*p == '\0')
        return bw_call_violation(call, "filter",
                                 "%s at the end; the syntax is field=value terms joined by "
                                 "\" AND \"",
                                 what);
    return bw_call_violation(call, "filter",
                             "%s at \"%.*s\"; the syntax is field=value terms joined by \" AND \"",
                             what, quote_len(p, QUOTE_MAX), p);
}

/* Reads one value at *pp (bare up to a blank, or double-quoted) onto the
 * arena. */
static int read_value(bw_call_t *call, const char **pp, char **out)
{
    const char *p = *pp;
    size_t cap = strlen(p) + 1, n = 0;
    char *v = bw_arena_alloc(call->arena, cap);
    if (v == NULL)
        return BW_ENOMEM;
    if (*p == '"') {
        p++;
        for (;;) {
            if (*p == '\0')
                return filter_syntax(call, "a quoted value is not closed", *pp);
            if (*p == '"')
                break;
            if (*p == '\\') {
                if (p[1] != '"' && p[1] != '\\')
                    return filter_syntax(call, "only \\\" and \\\\ may be escaped", p);
                p++;
            }
            v[n++] = *p++;
        }
        p++;
    } else {
        while (*p != '\0' && !isspace((unsigned char)*p)) {
            if (*p == '"' || *p == '\\')
                return filter_syntax(call, "a value with a quote or a backslash must be quoted",
                                     *pp);
            v[n++] = *p++;
        }
        if (n == 0)
            return filter_syntax(call, "a value is missing", *pp);
    }
    v[n] = '\0';
    *pp = p;
    *out = v;
    return 0;
}

/* Parses filter into values[i] (parameter form) for spec->filters[i]. */
static int parse_filter(bw_call_t *call, const bw_list_spec_t *spec, const char *text,
                        const char **values)
{
    if (text == NULL)
        return 0;
    if (strlen(text) > BW_LIST_FILTER_MAX)
        return bw_call_violation(call, "filter", "is longer than %d bytes", BW_LIST_FILTER_MAX);
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 0;
    int bad = 0;
    for (;;) {
        const char *field = p;
        while (isalnum((unsigned char)*p))
            p++;
        size_t field_len = (size_t)(p - field);
        if (field_len == 0 || !isalpha((unsigned char)field[0]))
            return filter_syntax(call, "a field name is expected", field);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=' || p[1] == '=')
            return filter_syntax(call, "only field=value is supported", p);
        p++;
        while (isspace((unsigned char)*p))
            p++;
        char *value = NULL;
        int err = read_value(call, &p, &value);
        if (err != 0)
            return err;
        size_t i = 0;
        while (i < spec->n_filters && (strlen(spec->filters[i].field) != field_len ||
                                       strncmp(spec->filters[i].field, field, field_len) != 0))
            i++;
        if (i == spec->n_filters) {
            bad |= bw_call_violation(call, "filter", "unknown field \"%.*s\"; filter takes %s",
                                     (int)(field_len > QUOTE_MAX ? QUOTE_MAX : field_len), field,
                                     filter_fields(call, spec)) != 0;
        } else if (values[i] != NULL) {
            bad |=
                bw_call_violation(call, "filter", "%s appears twice", spec->filters[i].field) != 0;
        } else {
            err = filter_value(call, &spec->filters[i], value, &values[i]);
            if (err == BW_ENOMEM)
                return err;
            bad |= err != 0;
        }
        const char *end = p;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        if (p == end || strncmp(p, "AND", 3) != 0 ||
            (p[3] != '\0' && !isspace((unsigned char)p[3])))
            return filter_syntax(call, "expected \" AND \"", p);
        p += 3;
        while (isspace((unsigned char)*p))
            p++;
    }
    return bad ? BW_EINVAL : 0;
}

/* ---- the token ------------------------------------------------------------ */

/* What the token is bound to: the list, the order, updatedSince and the
 * filter's values, each length-prefixed so no two requests share a text. */
static const char *binding(bw_call_t *call, const bw_list_t *l)
{
    const bw_list_spec_t *spec = l->spec;
    const char *field = spec->orders[l->order].field;
    const char *text =
        bw_arena_printf(call->arena, "%s|o=%s|d=%d|u=%s", spec->name, field != NULL ? field : "",
                        l->desc, l->has_since ? "" : "-");
    if (text != NULL && l->has_since)
        text = bw_arena_printf(call->arena, "%s%" PRId64, text, l->since_us);
    for (size_t i = 0; i < spec->n_filters && text != NULL; i++)
        if (l->filters[i] != NULL)
            text = bw_arena_printf(call->arena, "%s|f%zu=%zu:%s", text, i, strlen(l->filters[i]),
                                   l->filters[i]);
    return text;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    if (*s == '\0' || isspace((unsigned char)*s))
        return BW_EINVAL;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return BW_EINVAL;
    *out = v;
    return 0;
}

/* The token's "<id>\n<key>" into l->id and l->key (parameter forms). */
static int read_token(bw_call_t *call, bw_list_t *l, const char *token)
{
    char payload[BW_PAGE_KEY_MAX + 1];
    if (bw_page_token_decode(l->binding, token, payload, sizeof(payload)) != 0)
        return BW_EINVAL;
    char *nl = strchr(payload, '\n');
    if (nl == NULL)
        return BW_EINVAL;
    *nl = '\0';
    const char *id = payload, *key = nl + 1;
    if (l->spec->id == BW_LIST_ID_UUID ? !bw_uuid_valid(id) : id[0] == '\0')
        return BW_EINVAL;
    int64_t v;
    switch (l->spec->orders[l->has_since ? l->spec->since_order : l->order].key) {
    case BW_LIST_KEY_TIME: {
        char text[BW_LIST_TIME_TEXT];
        if (parse_int(key, &v) != 0 || bw_list_format_time(v, text, sizeof(text)) != 0)
            return BW_EINVAL;
        l->key = bw_arena_strdup(call->arena, text);
        break;
    }
    case BW_LIST_KEY_INT:
        if (parse_int(key, &v) != 0)
            return BW_EINVAL;
        l->key = bw_arena_strdup(call->arena, key);
        break;
    case BW_LIST_KEY_TEXT:
        l->key = bw_arena_strdup(call->arena, key);
        break;
    }
    l->id = bw_arena_strdup(call->arena, id);
    if (l->key == NULL || l->id == NULL)
        return BW_ENOMEM;
    l->after = 1;
    return 0;
}

/* ---- the request ---------------------------------------------------------- */

int bw_list_parse(bw_call_t *call, const bw_list_spec_t *spec, const bw_list_query_t *q,
                  bw_list_t *out)
{
    memset(out, 0, sizeof(*out));
    out->spec = spec;
    int bad = 0, err;
    if (q->page_size < 0)
        bad |= bw_call_violation(call, "pageSize", "must not be negative") != 0;
    out->size = q->page_size == 0                 ? BW_PAGE_SIZE_DEFAULT
                : q->page_size > BW_PAGE_SIZE_MAX ? BW_PAGE_SIZE_MAX
                                                  : q->page_size;
    snprintf(out->size_param, sizeof(out->size_param), "%d", out->size + 1);

    bad |= parse_order(call, spec, q->order_by, &out->order, &out->desc) != 0;

    if ((err = parse_filter(call, spec, q->filter, out->filters)) == BW_ENOMEM)
        return err;
    bad |= err != 0;
    for (size_t i = 0; i < spec->n_filters && i < BW_LIST_MAX_FILTERS; i++) {
        if (q->params[i] == NULL)
            continue;
        if (out->filters[i] != NULL && err == 0)
            bad |= bw_call_violation(call, "filter", "%s is given as a parameter too; give it once",
                                     spec->filters[i].field) != 0;
        /* As long as filter= allows: a longer one cannot be bound into a
         * page token (which a list of it needed, and failed). */
        if (spec->filters[i].type == BW_LIST_TEXT &&
            strlen(q->params[i]) > spec->filters[i].max_len) {
            bad |= bw_call_violation(call, spec->filters[i].field, "must be at most %zu bytes",
                                     spec->filters[i].max_len) != 0;
            continue;
        }
        if ((out->filters[i] = canonical_param(call, &spec->filters[i], q->params[i])) == NULL)
            return BW_ENOMEM;
    }

    const Google__Protobuf__Timestamp *since = q->updated_since;
    if (since != NULL) {
        int64_t now = (int64_t)time(NULL) * BW_US_PER_SEC;
        int64_t us = 0;
        if (bw_time_us_checked(since->seconds, since->nanos, &us) != 0) {
            bad |= bw_call_violation(call, "updatedSince",
                                     "must be an RFC 3339 time between years 0001 and 9999") != 0;
        } else if (spec->tombstone_days > 0 && us < now - spec->tombstone_days * DAY_US) {
            bad |= bw_call_violation(call, "updatedSince",
                                     "is more than %d days ago: deletions are kept that long "
                                     "only; list without updatedSince to start again",
                                     spec->tombstone_days) != 0;
        } else {
            out->has_since = 1;
            out->since_us = us;
        }
        const char *update_field = spec->orders[spec->since_order].field;
        if (q->order_by != NULL && q->order_by[0] != '\0' &&
            (out->order != spec->since_order || out->desc))
            bad |= bw_call_violation(call, "orderBy",
                                     "must be %s or empty with updatedSince: changes are listed "
                                     "oldest first",
                                     update_field) != 0;
        out->order = spec->since_order;
        out->desc = 0;
    }
    if (bad)
        return BW_EINVAL;

    if ((out->binding = binding(call, out)) == NULL)
        return BW_ENOMEM;
    if (q->page_token != NULL && q->page_token[0] != '\0') {
        err = read_token(call, out, q->page_token);
        if (err == BW_ENOMEM)
            return err;
        if (err != 0)
            return bw_call_violation(call, "pageToken",
                                     "is not a token this list returned for these orderBy, "
                                     "filter and updatedSince");
    } else if (out->has_since) {
        /* Strictly after the time: from the next microsecond, before every id. */
        char text[BW_LIST_TIME_TEXT];
        if (bw_list_format_time(out->since_us + 1, text, sizeof(text)) != 0)
            return bw_call_violation(call, "updatedSince",
                                     "must be an RFC 3339 time between years 0001 and 9999");
        out->key = bw_arena_strdup(call->arena, text);
        out->id = spec->id == BW_LIST_ID_UUID ? ZERO_UUID : "";
        if (out->key == NULL)
            return BW_ENOMEM;
        out->after = 1;
    }
    return 0;
}

const bw_db_stmt_t *bw_list_stmt(const bw_list_t *list)
{
    const bw_list_spec_t *spec = list->spec;
    if (list->has_since && spec->since_stmt != NULL)
        return spec->since_stmt;
    return spec->orders[list->order]
        .stmts[(list->desc ? BW_LIST_DESC_FIRST : BW_LIST_ASC_FIRST) + (list->after ? 1 : 0)];
}

const char **bw_list_values(bw_call_t *call, const bw_list_t *list, const char *const *own,
                            int n_own, int *n_values)
{
    int n = 1 + n_own + (int)list->spec->n_filters + (list->after ? 2 : 0);
    const char **values = bw_arena_calloc(call->arena, (size_t)n, sizeof(*values));
    if (values == NULL)
        return NULL;
    int k = 0;
    values[k++] = list->size_param;
    for (int i = 0; i < n_own; i++)
        values[k++] = own[i];
    for (size_t i = 0; i < list->spec->n_filters; i++)
        values[k++] = list->filters[i];
    if (list->after) {
        values[k++] = list->key;
        values[k++] = list->id;
    }
    *n_values = k;
    return values;
}

int bw_list_read(bw_call_t *call, bw_db_t *db, const bw_list_t *list, const char *const *own,
                 int n_own, PGresult **res)
{
    int n_values;
    const char **values = bw_list_values(call, list, own, n_own, &n_values);
    if (values == NULL)
        return BW_ENOMEM;
    return bw_db_exec1(db, call->arena, call->tenant_id, bw_list_stmt(list), n_values, values, res);
}

int bw_list_page(bw_call_t *call, bw_db_t *db, const bw_list_spec_t *spec, const bw_list_query_t *q,
                 int invalid, const char *const *own, int n_own, bw_list_t *list, PGresult **res)
{
    int err = bw_list_parse(call, spec, q, list);
    if (err != 0 || invalid)
        return err != 0 ? err : BW_EINVAL;
    return bw_list_read(call, db, list, own, n_own, res);
}

int bw_list_shown(const bw_list_t *list, int n_items)
{
    return n_items > list->size ? list->size : n_items;
}

int bw_list_next_token(bw_call_t *call, const bw_list_t *list, const PGresult *res, int n_items,
                       int last_row, char **out)
{
    *out = (char *)"";
    if (n_items <= list->size || last_row < 0)
        return 0;
    int cols = PQnfields(res);
    const char *key = PQgetvalue(res, last_row, cols - 2);
    const char *id = PQgetvalue(res, last_row, cols - 1);
    char *payload = bw_arena_printf(call->arena, "%s\n%s", id, key);
    char *token = bw_arena_alloc(call->arena, BW_PAGE_TOKEN_MAX);
    if (payload == NULL || token == NULL)
        return BW_ENOMEM;
    /* Keys are bounded by their columns (a name of 200 four-byte characters
     * fits); one that does not fit must not end the list early unnoticed. */
    if (bw_page_token_encode(list->binding, payload, token, BW_PAGE_TOKEN_MAX) != 0)
        return bw_call_fail(call, BW_EINTERNAL, NULL,
                            "a page key of %zu bytes does not fit a token", strlen(payload));
    *out = token;
    return 0;
}

int bw_list_response(bw_call_t *call, const bw_list_t *list, const PGresult *res, int n_items,
                     const ProtobufCMessageDescriptor *response, const char *items,
                     bw_store_row_fn row_fn, const bw_store_list_hook_t *hook,
                     ProtobufCMessage **resp)
{
    int shown = bw_list_shown(list, n_items);
    ProtobufCMessage *out;
    char **next;
    int err = bw_store_list_items(call, response, items, res, shown, row_fn, hook, &out, &next);
    if (err != 0 || (err = bw_list_next_token(call, list, res, n_items, shown - 1, next)) != 0)
        return err;
    *resp = out;
    return 0;
}
