/*
 * Mappings as a tenant sees them (composed in compose.c from the catalogue
 * and the tenant's rows) and the tenant's own rows, stored in
 * crosswalk.mapping_overrides. A mapping page's key is the last row's
 * "sourceRef targetRef" (refs hold no blank), so a page boundary survives a
 * restart with the same data.
 */
#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "crosswalk.h"
#include "ids.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <string.h>

#define OVERRIDE_COLUMNS                                                                           \
    "override_id::text, source_framework, source_ref, target_framework, target_ref, "              \
    "relationship, rationale, author, bulwark.epoch_us(create_time)"

enum { OV_ID, OV_SFW, OV_SREF, OV_TFW, OV_TREF, OV_REL, OV_RATIONALE, OV_AUTHOR, OV_CREATE };

#define OVERRIDES_SCOPE "mapping-overrides"
#define MAX_RATIONALE 2000

static const bw_db_stmt_t stmt_all = {"overrides_all", "SELECT " OVERRIDE_COLUMNS
                                                       " FROM crosswalk.mapping_overrides "
                                                       "ORDER BY override_id"};
static const bw_db_stmt_t stmt_insert = {
    "overrides_insert",
    "INSERT INTO crosswalk.mapping_overrides (tenant_id, override_id, source_framework, "
    "source_ref, target_framework, target_ref, relationship, rationale, author) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, $5, $6, $7, $8) "
    "RETURNING " OVERRIDE_COLUMNS};
static const bw_db_stmt_t stmt_list = {
    "overrides_list",
    "SELECT " OVERRIDE_COLUMNS " FROM crosswalk.mapping_overrides "
    "WHERE override_id > COALESCE(NULLIF($1, '')::uuid, '00000000-0000-0000-0000-000000000000') "
    "ORDER BY override_id LIMIT $2::int"};
static const bw_db_stmt_t stmt_delete = {
    "overrides_delete",
    "DELETE FROM crosswalk.mapping_overrides WHERE override_id = $1 RETURNING 1"};

const bw_db_stmt_t *const bw_cw_mappings_stmts[] = {&stmt_all, &stmt_insert, &stmt_list,
                                                    &stmt_delete};
const size_t bw_cw_mappings_n_stmts =
    sizeof(bw_cw_mappings_stmts) / sizeof(bw_cw_mappings_stmts[0]);

int bw_cw_override_from_row(const bw_cw_catalogue_t *cat, const PGresult *res, int row, int col,
                            bw_cw_override_t *o)
{
    int sfw = bw_cw_framework_find(cat, bw_store_text(res, row, col + 1));
    int tfw = bw_cw_framework_find(cat, bw_store_text(res, row, col + 3));
    o->id = bw_store_text(res, row, col);
    o->source = sfw < 0 ? -1 : bw_cw_req_find(cat, sfw, bw_store_text(res, row, col + 2));
    o->target = tfw < 0 ? -1 : bw_cw_req_find(cat, tfw, bw_store_text(res, row, col + 4));
    o->rel = bw_cw_rel_parse(bw_store_text(res, row, col + 5));
    o->rationale = bw_store_text(res, row, col + 6);
    /* The foreign keys make this impossible unless the data shrank. */
    return o->source < 0 || o->target < 0 || o->rel == BW_CW_REL_NONE;
}

int bw_cw_load_overrides(bw_call_t *call, bw_cw_override_t **out, size_t *n_out)
{
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    PGresult *res;
    int err =
        bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_all, 0, NULL, &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    bw_cw_override_t *ov = bw_arena_alloc(call->arena, ((size_t)n + 1) * sizeof(*ov));
    if (ov == NULL)
        return BW_ENOMEM;
    size_t kept = 0;
    for (int i = 0; i < n; i++)
        if (bw_cw_override_from_row(cat, res, i, 0, &ov[kept]) == 0)
            kept++;
    *out = ov;
    *n_out = kept;
    return 0;
}

static Bulwark__Crosswalk__V1__Mapping *mapping_msg(bw_call_t *call, const bw_cw_catalogue_t *cat,
                                                    const bw_cw_row_t *r)
{
    Bulwark__Crosswalk__V1__Mapping *m = bw_arena_alloc(call->arena, sizeof(*m));
    if (m == NULL)
        return NULL;
    bulwark__crosswalk__v1__mapping__init(m);
    const bw_cw_req_t *s = &cat->reqs[r->source], *t = &cat->reqs[r->target];
    m->source_framework = (char *)cat->frameworks[s->framework].id;
    m->source_ref = (char *)s->ref;
    m->target_framework = (char *)cat->frameworks[t->framework].id;
    m->target_ref = (char *)t->ref;
    m->relationship = (Bulwark__Crosswalk__V1__Mapping__Relationship)r->rel;
    m->rationale = (char *)bw_cw_row_rationale(call->arena, cat, r);
    m->source = (char *)bw_cw_row_origin(call->arena, r);
    if (m->rationale == NULL || m->source == NULL)
        return NULL;
    m->derived = r->via_framework >= 0;
    m->tenant_override = r->override_id != NULL;
    m->mapping_override = (char *)(r->override_id != NULL ? r->override_id : "");
    if (r->via_framework >= 0) {
        m->via_framework = (char *)cat->frameworks[r->via_framework].id;
        m->via = bw_arena_calloc(call->arena, r->n_via + 1, sizeof(char *));
        if (m->via == NULL)
            return NULL;
        for (size_t i = 0; i < r->n_via; i++)
            m->via[i] = (char *)cat->reqs[r->via[i]].ref;
        m->n_via = r->n_via;
    }
    return m;
}

/* Resolves a framework named by a request field; adds a violation. */
static int framework_param(bw_call_t *call, const bw_cw_catalogue_t *cat, const char *field,
                           const char *value, int *fw)
{
    if (value[0] == '\0')
        return bw_call_violation(call, field, "is required");
    *fw = bw_cw_framework_find(cat, value);
    if (*fw < 0)
        return bw_call_violation(call, field, "no framework %s", value);
    return 0;
}

/* Resolves a ref filter; -1 when empty. */
static int ref_param(bw_call_t *call, const bw_cw_catalogue_t *cat, int fw, const char *field,
                     const char *value, int *req)
{
    *req = -1;
    if (value[0] == '\0')
        return 0;
    *req = bw_cw_req_find(cat, fw, value);
    if (*req < 0)
        return bw_call_violation(call, field, "%s has no requirement %s", cat->frameworks[fw].id,
                                 value);
    return 0;
}

int bw_cw_list_mappings(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ListMappingsRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    int sfw = -1, tfw = -1, sref = -1, tref = -1;
    int bad = framework_param(call, cat, "sourceFramework", req->source_framework, &sfw);
    bad |= framework_param(call, cat, "targetFramework", req->target_framework, &tfw);
    if (bad)
        return BW_EINVAL;
    if (sfw == tfw)
        return bw_call_violation(call, "targetFramework", "must differ from sourceFramework");
    bad = ref_param(call, cat, sfw, "sourceRef", req->source_ref, &sref);
    bad |= ref_param(call, cat, tfw, "targetRef", req->target_ref, &tref);
    if (bad)
        return BW_EINVAL;

    char scope[128];
    snprintf(scope, sizeof(scope), "mappings:%s:%s:%s:%s", req->source_framework,
             req->target_framework, req->source_ref, req->target_ref);
    bw_page_t page;
    int err = bw_store_page(call, scope, req->page_size, req->page_token, &page);
    if (err != 0)
        return err;
    int after_s = -1, after_t = -1;
    if (page.after[0] != '\0') {
        char *blank = strchr(page.after, ' ');
        if (blank != NULL) {
            *blank = '\0';
            after_s = bw_cw_req_find(cat, sfw, page.after);
            after_t = bw_cw_req_find(cat, tfw, blank + 1);
        }
        if (after_s < 0 || after_t < 0)
            return bw_call_violation(call, "pageToken", "is not a token this list returned");
    }

    bw_cw_override_t *ov;
    size_t n_ov;
    bw_cw_rowset_t rows;
    if ((err = bw_cw_load_overrides(call, &ov, &n_ov)) != 0 ||
        (err = bw_cw_mappings(call->arena, cat, ov, n_ov, sfw, tfw, &rows)) != 0)
        return err;

    Bulwark__Crosswalk__V1__ListMappingsResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__list_mappings_response__init(out);
    out->mappings = bw_arena_calloc(call->arena, (size_t)page.size + 1, sizeof(void *));
    if (out->mappings == NULL)
        return BW_ENOMEM;
    int found = 0;
    const bw_cw_row_t *last = NULL;
    for (size_t i = 0; i < rows.n; i++) {
        const bw_cw_row_t *r = &rows.rows[i];
        if ((sref >= 0 && r->source != sref) || (tref >= 0 && r->target != tref))
            continue;
        if (after_s >= 0 && (r->source < after_s || (r->source == after_s && r->target <= after_t)))
            continue;
        if (found++ == page.size)
            break;
        if ((out->mappings[out->n_mappings++] = mapping_msg(call, cat, r)) == NULL)
            return BW_ENOMEM;
        last = r;
    }
    const char *key = last == NULL
                          ? ""
                          : bw_arena_printf(call->arena, "%s %s", cat->reqs[last->source].ref,
                                            cat->reqs[last->target].ref);
    if (key == NULL)
        return BW_ENOMEM;
    err = bw_store_next_token(call, scope, &page, found, key, &out->next_page_token);
    if (err != 0)
        return err;
    *resp = &out->base;
    return 0;
}

static int override_msg(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Crosswalk__V1__MappingOverride *m = bw_arena_alloc(arena, sizeof(*m));
    if (m == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__mapping_override__init(m);
    char **fields[] = {
        &m->id, &m->source_framework, &m->source_ref, &m->target_framework, &m->target_ref,
        NULL,   &m->rationale,        &m->author};
    for (int c = 0; c < (int)(sizeof(fields) / sizeof(fields[0])); c++) {
        if (fields[c] == NULL)
            continue;
        if ((*fields[c] = bw_store_strdup(arena, res, row, c)) == NULL)
            return BW_ENOMEM;
    }
    m->relationship = (Bulwark__Crosswalk__V1__Mapping__Relationship)bw_cw_rel_parse(
        bw_store_text(res, row, OV_REL));
    int err;
    if ((err = bw_store_timestamp(arena, res, row, OV_CREATE, &m->create_time)) != 0)
        return err;
    m->etag = bw_arena_alloc(arena, 17);
    if (m->etag == NULL)
        return BW_ENOMEM;
    bw_etag(m->id, 1, m->etag);
    *(Bulwark__Crosswalk__V1__MappingOverride **)out = m;
    return 0;
}

int bw_cw_create_override(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__CreateMappingOverrideRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    Bulwark__Crosswalk__V1__MappingOverride empty = BULWARK__CROSSWALK__V1__MAPPING_OVERRIDE__INIT;
    const Bulwark__Crosswalk__V1__MappingOverride *o =
        req->mapping_override != NULL ? req->mapping_override : &empty;
    int sfw = -1, tfw = -1, s = -1, t = -1, bad = 0;
    bad |= framework_param(call, cat, "sourceFramework", o->source_framework, &sfw);
    bad |= framework_param(call, cat, "targetFramework", o->target_framework, &tfw);
    if (sfw >= 0 && sfw == tfw)
        bad |= bw_call_violation(call, "targetFramework", "must differ from sourceFramework");
    if (sfw >= 0) {
        if (o->source_ref[0] == '\0')
            bad |= bw_call_violation(call, "sourceRef", "is required");
        else if (ref_param(call, cat, sfw, "sourceRef", o->source_ref, &s) != 0)
            bad |= BW_EINVAL;
        else if (!cat->reqs[s].assessable)
            bad |= bw_call_violation(call, "sourceRef", "%s is a heading, not a requirement",
                                     o->source_ref);
    }
    if (tfw >= 0) {
        if (o->target_ref[0] == '\0')
            bad |= bw_call_violation(call, "targetRef", "is required");
        else if (ref_param(call, cat, tfw, "targetRef", o->target_ref, &t) != 0)
            bad |= BW_EINVAL;
        else if (!cat->reqs[t].assessable)
            bad |= bw_call_violation(call, "targetRef", "%s is a heading, not a requirement",
                                     o->target_ref);
    }
    if (o->relationship == BULWARK__CROSSWALK__V1__MAPPING__RELATIONSHIP__RELATIONSHIP_UNSPECIFIED)
        bad |= bw_call_violation(call, "relationship",
                                 "is required: EQUAL, SUBSET, SUPERSET, INTERSECT or NOT_RELATED");
    if (o->rationale[0] == '\0')
        bad |= bw_call_violation(call, "rationale", "is required: say why the mapping holds");
    else if (strlen(o->rationale) > MAX_RATIONALE)
        bad |= bw_call_violation(call, "rationale", "is longer than %d bytes", MAX_RATIONALE);
    if (bad)
        return BW_EINVAL;

    char id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    const char *values[] = {id,
                            o->source_framework,
                            o->source_ref,
                            o->target_framework,
                            o->target_ref,
                            bw_cw_rel_name((bw_cw_rel_t)o->relationship),
                            o->rationale,
                            call->principal != NULL ? call->principal : ""};
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    int err = bw_db_exec1(db, call->arena, call->tenant_id, &stmt_insert, 8, values, &res);
    if (err == BW_EEXIST)
        return bw_call_fail(call, BW_EEXIST, "MAPPING_OVERRIDE_EXISTS",
                            "the tenant already has a mapping row %s %s -> %s %s; delete it first",
                            o->source_framework, o->source_ref, o->target_framework, o->target_ref);
    if (err != 0)
        return err;
    Bulwark__Crosswalk__V1__MappingOverride *m;
    if ((err = override_msg(call->arena, res, 0, &m)) != 0)
        return err;
    *resp = &m->base;
    return 0;
}

int bw_cw_list_overrides(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ListMappingOverridesRequest *req = (const void *)request;
    return bw_store_uuid_list(call, OVERRIDES_SCOPE, req->page_size, req->page_token, &stmt_list,
                              call->tenant_id,
                              &bulwark__crosswalk__v1__list_mapping_overrides_response__descriptor,
                              "mapping_overrides", override_msg, resp);
}

int bw_cw_delete_override(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__DeleteMappingOverrideRequest *req = (const void *)request;
    /* An override is never changed: its revision is always 1. */
    int err = bw_store_uuid_delete(call, &stmt_delete, call->tenant_id, req->id, resp);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "MAPPING_OVERRIDE_NOT_FOUND",
                            "mapping override %s not found", req->id);
    return err;
}
