/*
 * The Statement of Applicability of an entity (crosswalk.soa_controls) and
 * its history (crosswalk.soa_history). Every handler first asks the scoping
 * service whether the entity is the tenant's (scoping.c). A write is one
 * statement: the upsert and its history rows in one data-modifying WITH, so
 * a change never lands without its history and an import lands whole or not
 * at all. A row whose values do not change is left alone and leaves no
 * history. Evidence URIs hold no blank (they are validated), so they travel
 * as one blank-separated text both ways. The CSV export neutralises cells a
 * spreadsheet would run as formulas, and the import undoes it (csv.h).
 */
#include "bulwark/api/v1/http.pb-c.h"
#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"

#include "crosswalk.h"
#include "csv.h"
#include "ids.h"
#include "list.h"
#include "outbox.h"
#include "rollup.h"
#include "service.h"
#include "status.h"
#include "store.h"
#include "utf8.h"
#include "xlsx.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MAX_JUSTIFICATION 4000
#define MAX_OWNER 200
#define MAX_EVIDENCE 20
#define MAX_URI 2048
#define CONTROLS_SCOPE "controls"
#define HISTORY_SCOPE "control-history"

#define CONTROL_COLUMNS(p)                                                                         \
    p "ref, " p "applicable::text, " p "status, " p "justification, "                              \
      "array_to_string(" p "evidence, ' '), " p "owner, "                                          \
      "bulwark.epoch_us(" p "create_time), "                                                       \
      "bulwark.epoch_us(" p "update_time), " p "revision"

enum {
    C_REF,
    C_APPLICABLE,
    C_STATUS,
    C_JUSTIFICATION,
    C_EVIDENCE,
    C_OWNER,
    C_CREATE,
    C_UPDATE,
    C_REVISION
};

/* The unchanged-row test of both upserts. */
#define CHANGED                                                                                    \
    "(s.applicable, s.status, s.justification, s.evidence, s.owner) IS DISTINCT FROM "             \
    "(EXCLUDED.applicable, EXCLUDED.status, EXCLUDED.justification, EXCLUDED.evidence, "           \
    "EXCLUDED.owner)"

#define HISTORY_INSERT                                                                             \
    "INSERT INTO crosswalk.soa_history (tenant_id, entity_id, ref, change, via, applicable, "      \
    "status, justification, evidence, owner, principal, request_id) "

static const bw_db_stmt_t stmt_get = {
    "soa_get", "SELECT " CONTROL_COLUMNS("") " FROM crosswalk.soa_controls "
                                             "WHERE entity_id = $1::uuid AND ref = $2"};
/* If-Match on PUT: the row's revision, locked until the write commits. */
static const bw_db_stmt_t stmt_lock = {"soa_lock",
                                       "SELECT revision FROM crosswalk.soa_controls "
                                       "WHERE entity_id = $1::uuid AND ref = $2 FOR UPDATE"};
/* ListControls (list.h): $1 rows, $2 entity, $3 status, $4 applicable, $5
 * owner, then the key and the ref. The control's columns, then the key and
 * the ref. The standard's order is the requirements' position; an entity's
 * SoA holds at most the 123 clauses and controls, so even a filtered page
 * reads no more than that. */
/* clang-format off */
#define LIST_WHERE                                                                                 \
    " WHERE s.entity_id = $2::uuid AND ($3::text IS NULL OR s.status = $3::text)"                  \
    " AND ($4::boolean IS NULL OR s.applicable = $4::boolean)"                                     \
    " AND ($5::text IS NULL OR s.owner = $5::text)"
#define LIST_SELECT(key)                                                                           \
    "SELECT " CONTROL_COLUMNS("s.") ", " key "::text AS list_key, s.ref AS list_id "
static const bw_db_stmt_t by_position[4] = BW_LIST_ORDER_STMTS(
    "soa_list", LIST_SELECT("r.position") "FROM crosswalk.soa_controls s "
    "JOIN crosswalk.requirements r ON r.framework_id = 'iso27001-2022' "
    "AND r.ref = s.ref" LIST_WHERE,
    "r.position", "s.ref", "$6::int", "$7::text");
static const bw_db_stmt_t by_create[4] = BW_LIST_ORDER_STMTS(
    "soa_list_by_create",
    LIST_SELECT("bulwark.epoch_us(s.create_time)")
    "FROM crosswalk.soa_controls s" LIST_WHERE,
    "s.create_time", "s.ref", "$6::timestamptz", "$7::text");
static const bw_db_stmt_t by_update[4] = BW_LIST_ORDER_STMTS(
    "soa_list_by_update",
    LIST_SELECT("bulwark.epoch_us(s.update_time)")
    "FROM crosswalk.soa_controls s" LIST_WHERE,
    "s.update_time", "s.ref", "$6::timestamptz", "$7::text");
/* clang-format on */
static const bw_db_stmt_t stmt_export = {
    "soa_export",
    "SELECT " CONTROL_COLUMNS(
        "s.") " FROM crosswalk.soa_controls s "
              "JOIN crosswalk.requirements r ON r.framework_id = 'iso27001-2022' AND r.ref = s.ref "
              "WHERE s.entity_id = $1::uuid ORDER BY r.position"};
static const bw_db_stmt_t stmt_put = {
    "soa_put",
    "WITH up AS ("
    " INSERT INTO crosswalk.soa_controls AS s (tenant_id, entity_id, ref, applicable, status,"
    "  justification, evidence, owner)"
    " VALUES (current_setting('bulwark.tenant_id')::uuid, $1::uuid, $2, $3::boolean, $4, $5,"
    "  string_to_array($6, ' '), $7)"
    " ON CONFLICT (tenant_id, entity_id, ref) DO UPDATE SET applicable = EXCLUDED.applicable,"
    "  status = EXCLUDED.status, justification = EXCLUDED.justification,"
    "  evidence = EXCLUDED.evidence, owner = EXCLUDED.owner, update_time = now(),"
    "  revision = s.revision + 1"
    " WHERE " CHANGED " RETURNING s.*, (s.xmax = 0) AS created),"
    " history AS (" HISTORY_INSERT
    " SELECT tenant_id, entity_id, ref, CASE WHEN created THEN 'CREATED' ELSE 'UPDATED' END,"
    "  'PUT', applicable, status, justification, evidence, owner, $8, $9 FROM up) "
    "SELECT " CONTROL_COLUMNS(
        "") ", true FROM up "
            "UNION ALL "
            "SELECT " CONTROL_COLUMNS(
                "") ", false FROM crosswalk.soa_controls "
                    "WHERE entity_id = $1::uuid AND ref = $2 AND NOT EXISTS (SELECT FROM up)"};
/* The column of stmt_put after the control's: whether the PUT changed it. */
#define C_CHANGED (C_REVISION + 1)
/* $8/$9: whether the file has an evidence / owner column; without one, the
 * stored value stays. The rows are upserted in the controls' order, not
 * the file's: each locks its control's row (ON CONFLICT locks it even when
 * nothing changes), and two imports taking the same rows in other orders
 * could each hold one and wait for the other (a deadlock, 409). */
static const bw_db_stmt_t stmt_import = {
    "soa_import",
    "WITH input AS ("
    " SELECT * FROM unnest($2::text[], $3::boolean[], $4::text[], $5::text[], $6::text[],"
    "  $7::text[]) AS i(ref, applicable, status, justification, evidence, owner)),"
    " up AS ("
    " INSERT INTO crosswalk.soa_controls AS s (tenant_id, entity_id, ref, applicable, status,"
    "  justification, evidence, owner)"
    " SELECT current_setting('bulwark.tenant_id')::uuid, $1::uuid, ref, applicable, status,"
    "  justification, string_to_array(evidence, ' '), owner FROM input ORDER BY ref"
    " ON CONFLICT (tenant_id, entity_id, ref) DO UPDATE SET applicable = EXCLUDED.applicable,"
    "  status = EXCLUDED.status, justification = EXCLUDED.justification,"
    "  evidence = CASE WHEN $8::boolean THEN EXCLUDED.evidence ELSE s.evidence END,"
    "  owner = CASE WHEN $9::boolean THEN EXCLUDED.owner ELSE s.owner END,"
    "  update_time = now(), revision = s.revision + 1"
    " WHERE (s.applicable, s.status, s.justification, s.evidence, s.owner) IS DISTINCT FROM"
    "  (EXCLUDED.applicable, EXCLUDED.status, EXCLUDED.justification,"
    "   CASE WHEN $8::boolean THEN EXCLUDED.evidence ELSE s.evidence END,"
    "   CASE WHEN $9::boolean THEN EXCLUDED.owner ELSE s.owner END)"
    " RETURNING s.*, (s.xmax = 0) AS created),"
    " history AS (" HISTORY_INSERT
    " SELECT tenant_id, entity_id, ref, CASE WHEN created THEN 'CREATED' ELSE 'UPDATED' END,"
    "  'IMPORT', applicable, status, justification, evidence, owner, $10, $11 FROM up) "
    "SELECT " CONTROL_COLUMNS(
        "u.") " FROM up u "
              "JOIN crosswalk.requirements r ON r.framework_id = 'iso27001-2022' AND r.ref = u.ref "
              "ORDER BY r.position"};
/* ORDER BY names the table's column: the output column "seq" is its text,
 * which sorts 10 before 8. */
static const bw_db_stmt_t stmt_history = {
    "soa_history", "SELECT seq::text, ref, change, via, applicable::text, status, justification,"
                   " array_to_string(evidence, ' '), owner, principal, request_id,"
                   " bulwark.epoch_us(change_time) "
                   "FROM crosswalk.soa_history WHERE entity_id = $1::uuid AND ($2 = '' OR ref = $2)"
                   " AND seq > $3::bigint ORDER BY soa_history.seq LIMIT $4::int"};

const bw_db_stmt_t *const bw_cw_soa_stmts[] = {
    &stmt_get,     &stmt_lock,      &stmt_export,    &stmt_put,       &stmt_import,
    &stmt_history, &by_position[0], &by_position[1], &by_position[2], &by_position[3],
    &by_create[0], &by_create[1],   &by_create[2],   &by_create[3],   &by_update[0],
    &by_update[1], &by_update[2],   &by_update[3],
};
const size_t bw_cw_soa_n_stmts = sizeof(bw_cw_soa_stmts) / sizeof(bw_cw_soa_stmts[0]);

static const char *const status_names[] = {"", "IMPLEMENTED", "PARTIAL", "PLANNED",
                                           "NOT_IMPLEMENTED"};

static int status_from_text(const char *s)
{
    for (int i = 1; i < (int)(sizeof(status_names) / sizeof(status_names[0])); i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return BW_CW_STATUS_NONE;
}

/* ---- validation, shared by PUT and import ------------------------------- */

/* Where problems go: a field violation each (PUT), or one violation of
 * field "csv" per problem, its message starting with the line (import). */
typedef struct reporter {
    bw_call_t *call;
    long line; /* 0 for PUT */
    int problems;
} reporter_t;

static void report(reporter_t *rep, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(reporter_t *rep, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rep->problems++;
    if (rep->line == 0) {
        bw_call_violation(rep->call, field, "%s", msg);
        return;
    }
    /* Keep the last slot for the count of what did not fit. A message about
     * a column names it first. */
    if (rep->call->n_violations < BW_RPC_MAX_VIOLATIONS - 1)
        bw_call_violation(rep->call, "csv", "line %ld: %s%s%s", rep->line,
                          strcmp(field, "csv") != 0 ? field : "",
                          strcmp(field, "csv") != 0 ? " " : "", msg);
}

/* The length of s cut to at most max bytes without splitting a UTF-8
 * sequence, for quoting a value in a message. */
static int utf8_cut(const char *s, size_t max)
{
    return (int)bw_utf8_cut(s, strlen(s), max);
}

/* An evidence link: an https or http URL with a host, or a URN (RFC 8141:
 * "urn:", a namespace identifier, ":", a namespace-specific string). Other
 * schemes are refused: a javascript:, data: or file: link shown to an
 * auditor is an attack, not evidence. Printable characters RFC 3986 allows
 * (non-ASCII bytes pass, as in an IRI). */
static int valid_uri(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_URI)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr("\"<>\\^`{|}", c) != NULL)
            return 0;
    }
    const char *host = strncasecmp(s, "https://", 8) == 0  ? s + 8
                       : strncasecmp(s, "http://", 7) == 0 ? s + 7
                                                           : NULL;
    if (host != NULL)
        return *host != '\0' && strchr("/?#@:", *host) == NULL;
    if (strncasecmp(s, "urn:", 4) != 0)
        return 0;
    const char *nid = s + 4;
    size_t len = 0;
    while (isalnum((unsigned char)nid[len]) || (len > 0 && nid[len] == '-'))
        len++;
    return len >= 1 && len <= 32 && nid[len] == ':' && nid[len + 1] != '\0';
}

/* Checks one control's values; *status may be filled in (NOT_IMPLEMENTED
 * for an excluded control without one). Problems go to rep. */
static void check_control(reporter_t *rep, const bw_cw_req_t *req, int applicable, int *status,
                          const char *justification, char *const *evidence, size_t n_evidence,
                          const char *owner)
{
    if (!applicable && strcmp(req->kind, "clause") == 0)
        report(rep, "applicable",
               "cannot be false for clause %s: the clauses of ISO/IEC 27001 are mandatory",
               req->ref);
    if (applicable && *status == BW_CW_STATUS_NONE)
        report(rep, "status",
               "is required when applicable is true: IMPLEMENTED, PARTIAL, PLANNED or "
               "NOT_IMPLEMENTED");
    if (!applicable && *status == BW_CW_STATUS_NONE)
        *status = BW_CW_STATUS_NOT_IMPLEMENTED;
    if (!applicable && justification[0] == '\0')
        report(rep, "justification",
               "is required when applicable is false: say why %s is excluded (or set applicable "
               "to true)",
               req->ref);
    if (strlen(justification) > MAX_JUSTIFICATION)
        report(rep, "justification", "is longer than %d bytes", MAX_JUSTIFICATION);
    if (strlen(owner) > MAX_OWNER)
        report(rep, "owner", "is longer than %d bytes", MAX_OWNER);
    if (n_evidence > MAX_EVIDENCE)
        report(rep, "evidence", "holds more than %d links", MAX_EVIDENCE);
    for (size_t i = 0; i < n_evidence; i++) {
        if (valid_uri(evidence[i]))
            continue;
        char field[32];
        snprintf(field, sizeof(field), "evidence[%zu]", i);
        report(rep, field, "must be an https, http or urn URI, not \"%.*s\"",
               utf8_cut(evidence[i], 80), evidence[i]);
    }
}

/* The ISO clause or control ref names: 404 when unknown, 400 for a heading. */
static int iso_control(bw_call_t *call, const bw_cw_catalogue_t *cat, const char *ref, int *idx)
{
    *idx = bw_cw_req_find(cat, cat->iso, ref);
    if (*idx < 0)
        return bw_call_fail(call, BW_ENOTFOUND, "CONTROL_NOT_FOUND",
                            "ISO/IEC 27001:2022 has no clause or control %s", ref);
    if (!cat->reqs[*idx].assessable)
        return bw_call_violation(call, "ref", "%s is a heading; record its clauses or controls",
                                 ref);
    return 0;
}

/* ---- replies ------------------------------------------------------------ */

/* Splits blank-separated text into a NULL-terminated array on the arena:
 * its first max items (a file's text holding more has an error of its own,
 * which needs no more of them; what is stored is read whole, SIZE_MAX). */
static int split_blanks(bw_arena_t *arena, const char *text, size_t max, char ***out, size_t *n_out)
{
    size_t n = 0, words = 0;
    for (const char *p = text; *p != '\0'; p++)
        words += !isspace((unsigned char)*p) && (p == text || isspace((unsigned char)p[-1]));
    char **items = bw_arena_calloc(arena, (words < max ? words : max) + 1, sizeof(char *));
    if (items == NULL)
        return BW_ENOMEM;
    const char *p = text;
    while (*p != '\0' && n < max) {
        while (isspace((unsigned char)*p))
            p++;
        size_t len = 0;
        while (p[len] != '\0' && !isspace((unsigned char)p[len]))
            len++;
        if (len == 0)
            break;
        if ((items[n++] = bw_arena_strndup(arena, p, len)) == NULL)
            return BW_ENOMEM;
        p += len;
    }
    *out = items;
    *n_out = n;
    return 0;
}

static int row_to_control(bw_call_t *call, const bw_cw_catalogue_t *cat, const PGresult *res,
                          int row, const char *entity, Bulwark__Crosswalk__V1__Control **out)
{
    Bulwark__Crosswalk__V1__Control *c = bw_arena_alloc(call->arena, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__control__init(c);
    c->entity = (char *)entity;
    int idx = bw_cw_req_find(cat, cat->iso, bw_store_text(res, row, C_REF));
    c->title = (char *)(idx >= 0 ? cat->reqs[idx].title : "");
    c->applicable = strcmp(bw_store_text(res, row, C_APPLICABLE), "true") == 0;
    c->status = (Bulwark__Crosswalk__V1__Control__Status)status_from_text(
        bw_store_text(res, row, C_STATUS));
    c->etag = bw_arena_alloc(call->arena, 17);
    const char *key = bw_arena_printf(call->arena, "%s/%s", entity, bw_store_text(res, row, C_REF));
    if (BW_STORE_COLUMNS(call->arena, res, row, {C_REF, &c->ref},
                         {C_JUSTIFICATION, &c->justification}, {C_OWNER, &c->owner},
                         {C_CREATE, .time = &c->create_time},
                         {C_UPDATE, .time = &c->update_time}) != 0 ||
        c->etag == NULL || key == NULL)
        return BW_ENOMEM;
    int err;
    bw_etag(key, bw_store_int(res, row, C_REVISION), c->etag);
    if ((err = split_blanks(call->arena, bw_store_text(res, row, C_EVIDENCE), SIZE_MAX,
                            &c->evidence, &c->n_evidence)) != 0)
        return err;
    *out = c;
    return 0;
}

static int check_entity(bw_call_t *call, const char *entity)
{
    return bw_cw_scoping_check_entity(bw_cw_service(call)->scoping, call, entity);
}

/* ---- handlers ----------------------------------------------------------- */

static const char *const status_values[] = {"IMPLEMENTED", "PARTIAL", "PLANNED", "NOT_IMPLEMENTED",
                                            NULL};
static const bw_list_filter_t list_filters[] = {
    {"status", BW_LIST_ENUM, status_values, 0},
    {"applicable", BW_LIST_BOOL, NULL, 0},
    {"owner", BW_LIST_TEXT, NULL, MAX_OWNER},
};
static const bw_list_order_t list_orders[] = {
    {NULL, BW_LIST_KEY_INT, BW_LIST_STMT_PTRS(by_position)},
    {"createTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_create)},
    {"updateTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_update)},
};
static const bw_list_spec_t list_spec = {
    .name = CONTROLS_SCOPE,
    .id = BW_LIST_ID_TEXT,
    BW_LIST_ORDERS(list_orders),
    .default_order = 0,
    .since_order = 2,
    BW_LIST_FILTERS(list_filters),
};

int bw_cw_list_controls(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ListControlsRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    const bw_list_query_t q = BW_LIST_QUERY(req);
    bw_list_t list;
    int err = bw_list_parse(call, &list_spec, &q, &list);
    if (err != 0)
        return err;
    if ((err = check_entity(call, req->entity)) != 0)
        return err;
    const char *own[] = {req->entity};
    PGresult *res;
    err = bw_list_read(call, bw_service_db(call), &list, own, 1, &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    int shown = bw_list_shown(&list, n);
    Bulwark__Crosswalk__V1__ListControlsResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__list_controls_response__init(out);
    out->controls = bw_arena_calloc(call->arena, (size_t)shown + 1, sizeof(void *));
    if (out->controls == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < shown; i++)
        if ((err = row_to_control(call, cat, res, i, req->entity, &out->controls[i])) != 0)
            return err;
    out->n_controls = (size_t)shown;
    if ((err = bw_list_next_token(call, &list, res, n, shown - 1, &out->next_page_token)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}

int bw_cw_get_control(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__GetControlRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    int idx;
    int err = iso_control(call, cat, req->ref, &idx);
    if (err != 0 || (err = check_entity(call, req->entity)) != 0)
        return err;
    const char *values[] = {req->entity, req->ref};
    PGresult *res;
    err =
        bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_get, 2, values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "CONTROL_NOT_RECORDED",
                            "the Statement of Applicability of entity %s does not record %s",
                            req->entity, req->ref);
    Bulwark__Crosswalk__V1__Control *c;
    if ((err = row_to_control(call, cat, res, 0, req->entity, &c)) != 0)
        return err;
    *resp = &c->base;
    return 0;
}

/* Appends soa.control_changed for c, as written, in the request
 * transaction. */
static int announce(bw_call_t *call, const Bulwark__Crosswalk__V1__Control *c)
{
    char *resource = bw_arena_printf(call->arena, "entities/%s/controls/%s", c->entity, c->ref);
    if (resource == NULL)
        return BW_ENOMEM;
    /* The ordering key names the entity as the database does: a client may
     * write its id in capitals. */
    for (char *p = resource + strlen("entities/"); *p != '/' && *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return bw_outbox_emit(call, bw_service_db(call), "soa.control_changed", resource,
                          bw_call_origin(call), &c->base);
}

const char *bw_cw_join_blanks(bw_arena_t *arena, char *const *items, size_t n)
{
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            bw_buf_addc(&buf, ' ');
        bw_buf_adds(&buf, items[i]);
    }
    char *text;
    return bw_buf_to_arena(&buf, arena, &text) == 0 ? text : NULL;
}

/* If-Match of a PUT, compared with the recorded control, which stays locked
 * until the write commits. A control not recorded yet has no etag to match
 * (RFC 9110 13.1.1): only a PUT without If-Match creates it. */
static int check_if_match(bw_call_t *call, const char *entity, const char *ref)
{
    const char *values[] = {entity, ref};
    PGresult *res;
    int err =
        bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_lock, 2, values, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_EPRECOND, "ETAG_MISMATCH",
                            "the Statement of Applicability of entity %s does not record %s yet, "
                            "so no etag matches; send the PUT without If-Match to record it",
                            entity, ref);
    const char *key = bw_arena_printf(call->arena, "%s/%s", entity, ref);
    if (key == NULL)
        return BW_ENOMEM;
    return bw_store_check_etag(call, key, bw_store_int(res, 0, 0));
}

int bw_cw_put_control(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__PutControlRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    int idx;
    int err = iso_control(call, cat, req->ref, &idx);
    if (err != 0)
        return err;
    Bulwark__Crosswalk__V1__Control empty = BULWARK__CROSSWALK__V1__CONTROL__INIT;
    const Bulwark__Crosswalk__V1__Control *in = req->control != NULL ? req->control : &empty;
    int status = (int)in->status;
    reporter_t rep = {call, 0, 0};
    check_control(&rep, &cat->reqs[idx], in->applicable, &status, in->justification, in->evidence,
                  in->n_evidence, in->owner);
    if (rep.problems > 0)
        return BW_EINVAL;
    if ((err = check_entity(call, req->entity)) != 0)
        return err;
    if (call->if_match != NULL && (err = check_if_match(call, req->entity, req->ref)) != 0)
        return err;
    const char *evidence = bw_cw_join_blanks(call->arena, in->evidence, in->n_evidence);
    if (evidence == NULL)
        return BW_ENOMEM;
    const char *values[] = {req->entity,
                            req->ref,
                            in->applicable ? "true" : "false",
                            status_names[status],
                            in->justification,
                            evidence,
                            in->owner,
                            call->principal != NULL ? call->principal : "",
                            call->request_id != NULL ? call->request_id : ""};
    PGresult *res;
    err =
        bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_put, 9, values, &res);
    if (err != 0)
        return err;
    /* The same PUT of a new control, at once from two requests: the second
     * waits for the first's row, finds it unchanged, and its statement's
     * snapshot, taken before the first committed, does not show it. A
     * statement of its own does: the control is as this PUT would make it. */
    int changed = PQntuples(res) == 1 && strcmp(bw_store_text(res, 0, C_CHANGED), "t") == 0;
    if (PQntuples(res) == 0 && (err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id,
                                                  &stmt_get, 2, values, &res)) != 0)
        return err;
    if (PQntuples(res) != 1)
        return bw_call_fail(call, BW_EINTERNAL, NULL, "recording %s returned %d rows", req->ref,
                            PQntuples(res));
    Bulwark__Crosswalk__V1__Control *c;
    if ((err = row_to_control(call, cat, res, 0, req->entity, &c)) != 0)
        return err;
    if (changed && (err = announce(call, c)) != 0)
        return err;
    *resp = &c->base;
    return 0;
}

/* ---- import ------------------------------------------------------------- */

enum { COL_REF, COL_APPLICABLE, COL_STATUS, COL_JUSTIFICATION, COL_OWNER, COL_EVIDENCE, N_COLS };
static const char *const column_names[N_COLS] = {"ref",           "applicable", "status",
                                                 "justification", "owner",      "evidence"};

/* s without surrounding blanks, on the arena. */
static char *trimmed(bw_arena_t *arena, const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return bw_arena_strndup(arena, s, n);
}

static int parse_applicable(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "y", "1", "t"};
    static const char *const no[] = {"false", "no", "n", "0", "f"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return BW_EINVAL;
}

/* A status name, any case, blanks or hyphens for underscores; "" is NONE. */
static int parse_status(const char *s, int *out)
{
    char name[32];
    size_t n = strlen(s);
    if (n >= sizeof(name))
        return BW_EINVAL;
    for (size_t i = 0; i <= n; i++)
        name[i] = s[i] == ' ' || s[i] == '-' ? '_' : (char)toupper((unsigned char)s[i]);
    *out = n == 0 ? BW_CW_STATUS_NONE : status_from_text(name);
    return n == 0 || *out != BW_CW_STATUS_NONE ? 0 : BW_EINVAL;
}

/* Maps the header's names to columns; problems reported on line 1. */
static int read_header(reporter_t *rep, const bw_cw_csv_record_t *header, int *col_of)
{
    int where[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        where[c] = -1;
    for (size_t i = 0; i < header->n_fields; i++) {
        char *name = trimmed(rep->call->arena, header->fields[i]);
        if (name == NULL)
            return BW_ENOMEM;
        int c = 0;
        while (c < N_COLS && strcasecmp(name, column_names[c]) != 0)
            c++;
        col_of[i] = c;
        if (c == N_COLS)
            report(rep, "csv",
                   "unknown column \"%.60s\"; the columns are ref, applicable, status, "
                   "justification, owner and evidence",
                   name);
        else if (where[c] >= 0)
            report(rep, "csv", "column \"%s\" appears twice", column_names[c]);
        else
            where[c] = (int)i;
    }
    for (int c = 0; c <= COL_JUSTIFICATION; c++)
        if (where[c] < 0)
            report(rep, "csv", "missing column \"%s\"", column_names[c]);
    return 0;
}

/* A PostgreSQL array literal of texts, on the arena. */
static const char *text_array(bw_arena_t *arena, const char *const *items, size_t n)
{
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    bw_buf_addc(&buf, '{');
    for (size_t i = 0; i < n; i++) {
        bw_buf_adds(&buf, i > 0 ? ",\"" : "\"");
        for (const char *p = items[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                bw_buf_addc(&buf, '\\');
            bw_buf_addc(&buf, *p);
        }
        bw_buf_addc(&buf, '"');
    }
    bw_buf_addc(&buf, '}');
    char *text;
    return bw_buf_to_arena(&buf, arena, &text) == 0 ? text : NULL;
}

/* The parsed rows of an import, as parallel arrays. */
typedef struct import_rows {
    const char **ref, **applicable, **status, **justification, **evidence, **owner;
    size_t n;
} import_rows_t;

static int import_alloc(bw_arena_t *arena, import_rows_t *rows, size_t n)
{
    const char ***arrays[] = {&rows->ref,           &rows->applicable, &rows->status,
                              &rows->justification, &rows->evidence,   &rows->owner};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        if ((*arrays[i] = bw_arena_calloc(arena, n + 1, sizeof(char *))) == NULL)
            return BW_ENOMEM;
    rows->n = 0;
    return 0;
}

/* Validates one data record into rows; problems reported on its line. */
static int import_record(reporter_t *rep, const bw_cw_catalogue_t *cat,
                         const bw_cw_csv_record_t *rec, const int *col_of, size_t n_cols,
                         long *seen, import_rows_t *rows)
{
    bw_arena_t *arena = rep->call->arena;
    const char *val[N_COLS] = {"", "", "", "", "", ""};
    if (rec->n_fields != n_cols) {
        report(rep, "csv", "expected %zu fields, found %zu", n_cols, rec->n_fields);
        return 0;
    }
    for (size_t i = 0; i < n_cols; i++)
        val[col_of[i]] = bw_cw_csv_cell_value(rec->fields[i]);
    char *ref = trimmed(arena, val[COL_REF]);
    char *applicable_text = trimmed(arena, val[COL_APPLICABLE]);
    char *status_text = trimmed(arena, val[COL_STATUS]);
    char *owner = trimmed(arena, val[COL_OWNER]);
    char **evidence;
    size_t n_evidence;
    if (ref == NULL || applicable_text == NULL || status_text == NULL || owner == NULL ||
        split_blanks(arena, val[COL_EVIDENCE], MAX_EVIDENCE + 1, &evidence, &n_evidence) != 0)
        return BW_ENOMEM;
    int before = rep->problems;
    int idx = bw_cw_req_find(cat, cat->iso, ref);
    if (ref[0] == '\0') {
        report(rep, "csv", "ref is empty");
    } else if (idx < 0) {
        report(rep, "csv", "unknown control %.40s", ref);
    } else if (!cat->reqs[idx].assessable) {
        report(rep, "csv", "%s is a heading; record its clauses or controls", ref);
    } else if (seen[idx] > 0) {
        report(rep, "csv", "%s already appears on line %ld", ref, seen[idx]);
    } else {
        seen[idx] = rec->line;
    }
    int applicable = 0, status = BW_CW_STATUS_NONE;
    if (parse_applicable(applicable_text, &applicable) != 0)
        report(rep, "csv", "applicable must be true or false, not \"%.20s\"", applicable_text);
    if (parse_status(status_text, &status) != 0)
        report(rep, "csv",
               "unknown status \"%.30s\"; use IMPLEMENTED, PARTIAL, PLANNED or NOT_IMPLEMENTED",
               status_text);
    if (rep->problems > before || idx < 0)
        return 0;
    check_control(rep, &cat->reqs[idx], applicable, &status, val[COL_JUSTIFICATION], evidence,
                  n_evidence, owner);
    if (rep->problems > before)
        return 0;
    size_t k = rows->n++;
    rows->ref[k] = ref;
    rows->applicable[k] = applicable ? "t" : "f";
    rows->status[k] = status_names[status];
    rows->justification[k] = val[COL_JUSTIFICATION];
    rows->evidence[k] = bw_cw_join_blanks(arena, evidence, n_evidence);
    rows->owner[k] = owner;
    return rows->evidence[k] == NULL ? BW_ENOMEM : 0;
}

int bw_cw_import_controls(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ImportControlsRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    bw_cw_csv_record_t *recs;
    size_t n_recs;
    bw_cw_csv_error_t cerr;
    int err = bw_cw_csv_parse(call->arena, req->csv, strlen(req->csv), &recs, &n_recs, &cerr);
    if (err == BW_EINVAL)
        return bw_call_violation(call, "csv", "line %ld: %s", cerr.line, cerr.message);
    if (err != 0)
        return err;
    if (n_recs == 0)
        return bw_call_violation(call, "csv",
                                 "is empty; the first line names the columns: "
                                 "ref,applicable,status,justification");

    reporter_t rep = {call, recs[0].line, 0};
    int *col_of = bw_arena_calloc(call->arena, recs[0].n_fields + 1, sizeof(int));
    long *seen = bw_arena_calloc(call->arena, cat->n_reqs + 1, sizeof(long));
    import_rows_t rows;
    if (col_of == NULL || seen == NULL || import_alloc(call->arena, &rows, n_recs) != 0)
        return BW_ENOMEM;
    if ((err = read_header(&rep, &recs[0], col_of)) != 0)
        return err;
    int has_owner = 0, has_evidence = 0;
    for (size_t i = 0; i < recs[0].n_fields; i++) {
        has_owner |= col_of[i] == COL_OWNER;
        has_evidence |= col_of[i] == COL_EVIDENCE;
    }
    /* Rows under a header that does not say what they hold are not read. */
    int header_problems = rep.problems;
    for (size_t r = 1; header_problems == 0 && r < n_recs; r++) {
        rep.line = recs[r].line;
        if ((err = import_record(&rep, cat, &recs[r], col_of, recs[0].n_fields, seen, &rows)) != 0)
            return err;
    }
    if (rep.problems > 0) {
        int shown = (int)call->n_violations;
        if (rep.problems > shown)
            bw_call_violation(call, "csv", "%d more problems not shown; nothing was imported",
                              rep.problems - shown);
        return BW_EINVAL;
    }
    if ((err = check_entity(call, req->entity)) != 0)
        return err;
    const char *values[11] = {
        req->entity,
        text_array(call->arena, rows.ref, rows.n),
        text_array(call->arena, rows.applicable, rows.n),
        text_array(call->arena, rows.status, rows.n),
        text_array(call->arena, rows.justification, rows.n),
        text_array(call->arena, rows.evidence, rows.n),
        text_array(call->arena, rows.owner, rows.n),
        has_evidence ? "true" : "false",
        has_owner ? "true" : "false",
        call->principal != NULL ? call->principal : "",
        call->request_id != NULL ? call->request_id : "",
    };
    for (int i = 1; i < 7; i++)
        if (values[i] == NULL)
            return BW_ENOMEM;
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_import, 11, values,
                      &res);
    if (err != 0)
        return err;
    Bulwark__Crosswalk__V1__ImportControlsResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__import_controls_response__init(out);
    out->rows = (int32_t)rows.n;
    out->changed = PQntuples(res);
    /* One event per control the import changed, in the standard's order. */
    for (int i = 0; i < out->changed; i++) {
        Bulwark__Crosswalk__V1__Control *c;
        if ((err = row_to_control(call, cat, res, i, req->entity, &c)) != 0 ||
            (err = announce(call, c)) != 0)
            return err;
    }
    *resp = &out->base;
    return 0;
}

/* ---- export and history ------------------------------------------------- */

/* The entity's SoA rows in the standard's order. */
static int export_rows(bw_call_t *call, const char *entity, PGresult **res)
{
    int err = check_entity(call, entity);
    if (err != 0)
        return err;
    const char *values[] = {entity};
    return bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_export, 1, values,
                       res);
}

/* The rows as the CSV that ImportControls reads back, on the call's arena. */
static int export_csv(bw_call_t *call, PGresult *res, char **csv, size_t *len)
{
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    bw_buf_adds(&buf, "ref,applicable,status,justification,owner,evidence\r\n");
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        bw_cw_csv_cell(&buf, bw_store_text(res, i, C_REF));
        bw_buf_adds(&buf, ",");
        bw_buf_adds(&buf, bw_store_text(res, i, C_APPLICABLE));
        bw_buf_adds(&buf, ",");
        bw_cw_csv_cell(&buf, bw_store_text(res, i, C_STATUS));
        bw_buf_adds(&buf, ",");
        bw_cw_csv_cell(&buf, bw_store_text(res, i, C_JUSTIFICATION));
        bw_buf_adds(&buf, ",");
        bw_cw_csv_cell(&buf, bw_store_text(res, i, C_OWNER));
        bw_buf_adds(&buf, ",");
        bw_cw_csv_cell(&buf, bw_store_text(res, i, C_EVIDENCE));
        bw_buf_adds(&buf, "\r\n");
    }
    *len = buf.len;
    return bw_buf_to_arena(&buf, call->arena, csv);
}

int bw_cw_export_controls(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ExportControlsRequest *req = (const void *)request;
    PGresult *res;
    char *csv = NULL;
    size_t len = 0;
    int err = export_rows(call, req->entity, &res);
    if (err == 0)
        err = export_csv(call, res, &csv, &len);
    if (err != 0)
        return err;
    Bulwark__Crosswalk__V1__ExportControlsResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__export_controls_response__init(out);
    out->csv = csv;
    out->rows = PQntuples(res);
    *resp = &out->base;
    return 0;
}

/* The rows as a workbook: the CSV's columns and each control's title.
 * Cells are text, so nothing needs the CSV's formula guard. */
static int export_xlsx(bw_call_t *call, PGresult *res, uint8_t **data, size_t *len)
{
    static const char *const headers[] = {"ref",           "title", "applicable", "status",
                                          "justification", "owner", "evidence"};
    static const double widths[] = {10, 48, 11, 18, 60, 20, 48};
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    bw_xlsx_t *x = NULL;
    int err = bw_xlsx_open(&x);
    if (err == 0)
        err = bw_xlsx_sheet(x, "Statement of Applicability", headers, widths, 7);
    int n = PQntuples(res);
    for (int i = 0; i < n && err == 0; i++) {
        const char *ref = bw_store_text(res, i, C_REF);
        int idx = bw_cw_req_find(cat, cat->iso, ref);
        err = bw_xlsx_text(x, ref);
        err = err ? err : bw_xlsx_text(x, idx >= 0 ? cat->reqs[idx].title : "");
        err = err ? err : bw_xlsx_text(x, bw_store_text(res, i, C_APPLICABLE));
        err = err ? err : bw_xlsx_text(x, bw_store_text(res, i, C_STATUS));
        err = err ? err : bw_xlsx_text(x, bw_store_text(res, i, C_JUSTIFICATION));
        err = err ? err : bw_xlsx_text(x, bw_store_text(res, i, C_OWNER));
        err = err ? err : bw_xlsx_text(x, bw_store_text(res, i, C_EVIDENCE));
        err = err ? err : bw_xlsx_row_end(x);
    }
    if (err != 0) {
        bw_xlsx_free(x);
        return err;
    }
    return bw_xlsx_finish(x, call->arena, data, len);
}

int bw_cw_render_controls(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__RenderControlsRequest *req = (const void *)request;
    int csv = strcmp(req->media_type, "text/csv") == 0;
    if (!csv && strcmp(req->media_type, BW_XLSX_MEDIA_TYPE) != 0)
        return bw_call_violation(call, "mediaType", "must be text/csv or %s", BW_XLSX_MEDIA_TYPE);
    Bulwark__Api__V1__HttpBody *out = bw_store_http_body(call);
    if (out == NULL)
        return BW_ENOMEM;
    PGresult *res;
    int err = export_rows(call, req->entity, &res);
    if (err != 0)
        return err;
    if (csv) {
        char *text;
        if ((err = export_csv(call, res, &text, &out->data.len)) != 0)
            return err;
        out->data.data = (uint8_t *)text;
    } else if ((err = export_xlsx(call, res, &out->data.data, &out->data.len)) != 0) {
        return err;
    }
    out->filename = bw_arena_printf(call->arena, "soa-%s.%s", req->entity, csv ? "csv" : "xlsx");
    if (out->filename == NULL)
        return BW_ENOMEM;
    *resp = &out->base;
    return 0;
}

enum {
    H_SEQ,
    H_REF,
    H_CHANGE,
    H_VIA,
    H_APPLICABLE,
    H_STATUS,
    H_JUSTIFICATION,
    H_EVIDENCE,
    H_OWNER,
    H_PRINCIPAL,
    H_REQUEST_ID,
    H_TIME
};

static int row_to_change(bw_call_t *call, const PGresult *res, int row,
                         Bulwark__Crosswalk__V1__ControlChange **out)
{
    Bulwark__Crosswalk__V1__ControlChange *c = bw_arena_alloc(call->arena, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__control_change__init(c);
    c->change = strcmp(bw_store_text(res, row, H_CHANGE), "CREATED") == 0
                    ? BULWARK__CROSSWALK__V1__CONTROL_CHANGE__CHANGE__CREATED
                    : BULWARK__CROSSWALK__V1__CONTROL_CHANGE__CHANGE__UPDATED;
    c->via = strcmp(bw_store_text(res, row, H_VIA), "IMPORT") == 0
                 ? BULWARK__CROSSWALK__V1__CONTROL_CHANGE__VIA__IMPORT
                 : BULWARK__CROSSWALK__V1__CONTROL_CHANGE__VIA__PUT;
    c->applicable = strcmp(bw_store_text(res, row, H_APPLICABLE), "true") == 0;
    c->status = (Bulwark__Crosswalk__V1__Control__Status)status_from_text(
        bw_store_text(res, row, H_STATUS));
    if (BW_STORE_COLUMNS(call->arena, res, row, {H_REF, &c->ref},
                         {H_JUSTIFICATION, &c->justification}, {H_OWNER, &c->owner},
                         {H_PRINCIPAL, &c->principal}, {H_REQUEST_ID, &c->request_id},
                         {H_TIME, .time = &c->change_time}) != 0)
        return BW_ENOMEM;
    int err;
    if ((err = split_blanks(call->arena, bw_store_text(res, row, H_EVIDENCE), SIZE_MAX,
                            &c->evidence, &c->n_evidence)) != 0)
        return err;
    *out = c;
    return 0;
}

int bw_cw_list_history(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ListControlHistoryRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    bw_page_t page;
    int err = bw_store_page(call, HISTORY_SCOPE, req->page_size, req->page_token, &page);
    if (err != 0)
        return err;
    if (page.after[0] != '\0' && strspn(page.after, "0123456789") != strlen(page.after))
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    if (req->ref[0] != '\0' && bw_cw_req_find(cat, cat->iso, req->ref) < 0)
        return bw_call_violation(call, "ref", "ISO/IEC 27001:2022 has no clause or control %s",
                                 req->ref);
    if ((err = check_entity(call, req->entity)) != 0)
        return err;
    const char *values[] = {req->entity, req->ref, page.after[0] != '\0' ? page.after : "0",
                            page.size_param};
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_history, 4, values,
                      &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    int shown = n > page.size ? page.size : n;
    Bulwark__Crosswalk__V1__ListControlHistoryResponse *out =
        bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__list_control_history_response__init(out);
    out->changes = bw_arena_calloc(call->arena, (size_t)shown + 1, sizeof(void *));
    if (out->changes == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < shown; i++)
        if ((err = row_to_change(call, res, i, &out->changes[i])) != 0)
            return err;
    out->n_changes = (size_t)shown;
    err = bw_store_next_token(call, HISTORY_SCOPE, &page, n,
                              shown > 0 ? bw_store_text(res, shown - 1, H_SEQ) : "",
                              &out->next_page_token);
    if (err != 0)
        return err;
    *resp = &out->base;
    return 0;
}
