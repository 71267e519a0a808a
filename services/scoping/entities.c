/*
 * Legal entities of a tenant, stored in scoping.entities. Name, time zone and
 * parent are columns; the scoping facts are one serialized Entity message
 * (see migrations/0001_entities.sql). Lists are keyset pages in the orders
 * and with the filters of list.h; a deleted entity leaves a tombstone
 * (migrations/0003_lists.sql) that updatedSince readers see for 30 days.
 */
#include "entities.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "assess.h"
#include "facts.h"
#include "ids.h"
#include "list.h"
#include "outbox.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <string.h>

#define ENTITY_COLUMNS                                                                             \
    "entity_id::text, name, time_zone, parent_entity::text, facts, "                               \
    "bulwark.epoch_us(create_time), "                                                              \
    "bulwark.epoch_us(update_time), revision"

enum {
    COL_ID,
    COL_NAME,
    COL_TZ,
    COL_PARENT,
    COL_FACTS,
    COL_CREATE,
    COL_UPDATE,
    COL_REVISION,
    COL_DELETE /* lists only: the deletion of a tombstone, NULL for an entity */
};

static const bw_db_stmt_t stmt_insert = {
    "entities_insert",
    "INSERT INTO scoping.entities (tenant_id, entity_id, name, time_zone, parent_entity, facts) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, NULLIF($4, '')::uuid, $5) "
    "RETURNING " ENTITY_COLUMNS};
static const bw_db_stmt_t stmt_get = {
    "entities_get", "SELECT " ENTITY_COLUMNS " FROM scoping.entities WHERE entity_id = $1"};
static const bw_db_stmt_t stmt_get_for_update = {
    "entities_get_for_update",
    "SELECT " ENTITY_COLUMNS " FROM scoping.entities WHERE entity_id = $1 FOR UPDATE"};

/* Lists (list.h): $1 rows, $2 parentEntity ('' for none), $3 timeZone, then
 * the key and the id. The entity's columns, its deletion (NULL), the key and
 * the id. */
/* clang-format off */
#define US(col) "bulwark.epoch_us(" col ")"
#define LIST_SELECT(key)                                                                           \
    "SELECT " ENTITY_COLUMNS ", NULL::bigint, " key "::text AS list_key, "                         \
    "entity_id::text AS list_id FROM scoping.entities e WHERE "
#define LIST_FILTERS                                                                               \
    "($2::text IS NULL OR parent_entity IS NOT DISTINCT FROM NULLIF($2::text, '')::uuid) "         \
    "AND ($3::text IS NULL OR time_zone = $3::text)"
static const bw_db_stmt_t by_create[4] = BW_LIST_ORDER_STMTS(
    "entities_by_create", LIST_SELECT(US("create_time")) LIST_FILTERS, "e.create_time",
    "e.entity_id", "$4::timestamptz", "$5::uuid");
static const bw_db_stmt_t by_update[4] = BW_LIST_ORDER_STMTS(
    "entities_by_update", LIST_SELECT(US("update_time")) LIST_FILTERS, "e.update_time",
    "e.entity_id", "$4::timestamptz", "$5::uuid");
static const bw_db_stmt_t by_name[4] = BW_LIST_ORDER_STMTS(
    "entities_by_name", LIST_SELECT("name") LIST_FILTERS, "e.name", "e.entity_id", "$4::text",
    "$5::uuid");
/* updatedSince: the entities changed and the tombstones left after the key,
 * merged in (time, id) order. Each branch is one range scan of at most $1
 * rows; a tombstone matches every filter (it holds no field to filter on). */
static const bw_db_stmt_t stmt_since = {
    "entities_since",
    "SELECT * FROM ("
    " (" LIST_SELECT(US("update_time")) LIST_FILTERS
    "  AND (e.update_time, e.entity_id) > ($4::timestamptz, $5::uuid)"
    "  ORDER BY e.update_time, e.entity_id LIMIT $1::int)"
    " UNION ALL"
    " (SELECT entity_id::text, '', '', NULL::text, NULL::bytea, NULL::bigint, "
    US("delete_time") ", 0::bigint, " US("delete_time") ", " US("delete_time") "::text, "
    "entity_id::text FROM scoping.entity_tombstones t"
    "  WHERE (t.delete_time, t.entity_id) > ($4::timestamptz, $5::uuid)"
    "  ORDER BY t.delete_time, t.entity_id LIMIT $1::int)) x "
    "ORDER BY list_key::bigint, list_id::uuid LIMIT $1::int"};
/* clang-format on */
static const bw_db_stmt_t stmt_update = {
    "entities_update",
    "UPDATE scoping.entities SET name = $2, time_zone = $3, parent_entity = NULLIF($4, '')::uuid, "
    "facts = $5, update_time = now(), revision = revision + 1 "
    "WHERE entity_id = $1 RETURNING " ENTITY_COLUMNS};
/* Whether $2 is among the ancestors of $1 (bounded, in case of old cycles). */
static const bw_db_stmt_t stmt_ancestor = {
    "entities_ancestor",
    "WITH RECURSIVE up(id, depth) AS ("
    "  SELECT $1::uuid, 0"
    "  UNION ALL"
    "  SELECT e.parent_entity, up.depth + 1 FROM scoping.entities e JOIN up ON e.entity_id = up.id"
    "   WHERE e.parent_entity IS NOT NULL AND up.depth < 1000)"
    "SELECT 1 FROM up WHERE id = $2::uuid LIMIT 1"};
static const bw_db_stmt_t stmt_delete = {
    "entities_delete", "DELETE FROM scoping.entities WHERE entity_id = $1 RETURNING revision"};

const bw_db_stmt_t *const bw_entities_stmts[] = {
    &stmt_insert,  &stmt_get,     &stmt_get_for_update, &stmt_update,  &stmt_ancestor,
    &stmt_delete,  &by_create[0], &by_create[1],        &by_create[2], &by_create[3],
    &by_update[0], &by_update[1], &by_update[2],        &by_update[3], &by_name[0],
    &by_name[1],   &by_name[2],   &by_name[3],          &stmt_since,
};
const size_t bw_entities_n_stmts = sizeof(bw_entities_stmts) / sizeof(bw_entities_stmts[0]);

static const bw_list_order_t orders[] = {
    {"createTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_create)},
    {"updateTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_update)},
    {"name", BW_LIST_KEY_TEXT, BW_LIST_STMT_PTRS(by_name)},
};
static const bw_list_filter_t filters[] = {
    {"parentEntity", BW_LIST_UUID_OR_NONE, NULL, 0},
    {"timeZone", BW_LIST_TEXT, NULL, 64},
};
static const bw_list_spec_t list_spec = {
    .name = "entities",
    .id = BW_LIST_ID_UUID,
    BW_LIST_ORDERS(orders),
    .default_order = 0,
    .since_order = 1,
    .since_stmt = &stmt_since,
    .tombstone_days = 30,
    BW_LIST_FILTERS(filters),
};

/* The purge of tombstones older than 30 days, of every tenant. */
static const bw_db_stmt_t stmt_purge = {"entities_purge_tombstones",
                                        "SELECT scoping.purge_tombstones()"};
const bw_db_stmt_t *const bw_entities_purges[] = {&stmt_purge};
const size_t bw_entities_n_purges = 1;

/* The facts part of an entity, serialized as a bytea parameter. */
static char *facts_param(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e)
{
    Bulwark__Scoping__V1__Entity facts = BULWARK__SCOPING__V1__ENTITY__INIT;
    facts.n_activities = e->n_activities;
    facts.activities = e->activities;
    facts.size = e->size;
    facts.public_administration = e->public_administration;
    facts.member_state = e->member_state;
    size_t len = bulwark__scoping__v1__entity__get_packed_size(&facts);
    uint8_t *buf = bw_arena_alloc(call->arena, len ? len : 1);
    if (buf == NULL)
        return NULL;
    bulwark__scoping__v1__entity__pack(&facts, buf);
    return bw_store_bytea_param(call->arena, buf, len);
}

static int row_to_entity(bw_call_t *call, const PGresult *res, int row,
                         Bulwark__Scoping__V1__Entity **out)
{
    uint8_t *facts;
    size_t len;
    int err = bw_store_bytea(call->arena, res, row, COL_FACTS, &facts, &len);
    if (err != 0)
        return err;
    Bulwark__Scoping__V1__Entity *e =
        bulwark__scoping__v1__entity__unpack(bw_arena_protobuf_allocator(call->arena), len, facts);
    if (e == NULL)
        return bw_call_fail(call, BW_EINTERNAL, NULL, "stored facts of entity %s are corrupt",
                            bw_store_text(res, row, COL_ID));
    e->etag = bw_arena_alloc(call->arena, 17);
    if (BW_STORE_COLUMNS(call->arena, res, row, {COL_ID, &e->id}, {COL_NAME, &e->name},
                         {COL_TZ, &e->time_zone}, {COL_PARENT, &e->parent_entity},
                         {COL_CREATE, .time = &e->create_time},
                         {COL_UPDATE, .time = &e->update_time}) != 0 ||
        e->etag == NULL)
        return BW_ENOMEM;
    bw_etag(e->id, bw_store_int(res, row, COL_REVISION), e->etag);
    *out = e;
    return 0;
}

/* Maps a failed write to the field the client can fix. */
static int write_failed(bw_call_t *call, bw_db_t *db, int err)
{
    const char *constraint = bw_db_last_constraint(db);
    if (err == BW_EINVAL && strcmp(constraint, "entities_parent_fkey") == 0)
        return bw_call_violation(call, "parentEntity", "no entity with this id");
    if (err == BW_EINVAL && strstr(constraint, "check") != NULL)
        return bw_call_violation(call, "parentEntity", "an entity cannot be its own parent");
    return err;
}

/* ---- entity.classification_changed ------------------------------------- */

/* The applicability of e, or NULL (*out) when its facts no longer pass the
 * checks: a state, not a failure of the call, so the violations that
 * evaluation records are taken back. */
static int outcome_of(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e,
                      Bulwark__Scoping__V1__Applicability **out)
{
    size_t n_violations = call->n_violations;
    const char *reason = call->reason, *detail = call->detail;
    int err = bw_assess_applicability(call, e, out);
    if (err == BW_EPRECOND) {
        call->n_violations = n_violations;
        call->reason = reason;
        call->detail = detail;
        *out = NULL;
        return 0;
    }
    return err;
}

/* Whether the outcome of the classification differs: the classification
 * (essential, important, out of scope, domain registration only) or the
 * incident-reporting regime it leads to (NIS2, DORA, none); having one and
 * having none differ too. */
static int outcome_changed(const Bulwark__Scoping__V1__Applicability *before,
                           const Bulwark__Scoping__V1__Applicability *after)
{
    if (before == NULL || after == NULL)
        return before != after;
    return before->classification != after->classification ||
           before->incident_regime != after->incident_regime;
}

/* Appends entity.classification_changed for e with the applicability after
 * the write: the entity as GET /v1/entities/{id}?view=FULL returns it (the
 * reply of the write itself stays the basic view). */
static int announce_classification(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e,
                                   Bulwark__Scoping__V1__Applicability *after)
{
    Bulwark__Scoping__V1__Entity full = *e;
    full.applicability = after;
    const char *resource = bw_arena_printf(call->arena, "entities/%s", e->id);
    if (resource == NULL)
        return BW_ENOMEM;
    return bw_outbox_emit(call, bw_service_db(call), "entity.classification_changed", resource,
                          bw_call_origin(call), &full.base);
}

int bw_entities_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__CreateEntityRequest *req = (const void *)request;
    if (req->entity == NULL)
        return bw_call_violation(call, "name", "is required");
    int err = bw_scoping_validate_entity(call, req->entity, bw_service_data(call));
    if (err != 0)
        return err;
    char id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    const char *facts = facts_param(call, req->entity);
    if (facts == NULL)
        return BW_ENOMEM;
    const char *values[] = {id, req->entity->name, req->entity->time_zone,
                            req->entity->parent_entity, facts};
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    err = bw_db_exec1(db, call->arena, call->tenant_id, &stmt_insert, 5, values, &res);
    if (err != 0)
        return write_failed(call, db, err);
    Bulwark__Scoping__V1__Entity *e;
    Bulwark__Scoping__V1__Applicability *after;
    if ((err = row_to_entity(call, res, 0, &e)) != 0 || (err = outcome_of(call, e, &after)) != 0)
        return err;
    /* A new entity's classification changes from none to its own. */
    if (after != NULL &&
        after->classification !=
            BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__CLASSIFICATION_UNSPECIFIED &&
        (err = announce_classification(call, e, after)) != 0)
        return err;
    *resp = &e->base;
    return 0;
}

int bw_entities_load(bw_call_t *call, const char *id, Bulwark__Scoping__V1__Entity **out)
{
    PGresult *res;
    int err = bw_store_uuid_read(call, &stmt_get, call->tenant_id, id, &res);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", id);
    return err != 0 ? err : row_to_entity(call, res, 0, out);
}

int bw_entities_get_ahead(const bw_call_t *call, const ProtobufCMessage *request,
                          bw_db_ahead_t *out)
{
    const Bulwark__Scoping__V1__GetEntityRequest *req = (const void *)request;
    return bw_store_uuid_ahead(&stmt_get, call->tenant_id, req->id, out);
}

int bw_entities_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__GetEntityRequest *req = (const void *)request;
    Bulwark__Scoping__V1__Entity *e;
    int err = bw_entities_load(call, req->id, &e);
    if (err != 0)
        return err;
    if (req->view == BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__VIEW__FULL &&
        (err = bw_assess_applicability(call, e, &e->applicability)) != 0)
        return err;
    *resp = &e->base;
    return 0;
}

/* A row of a list: an entity, or the tombstone of a deleted one (its id,
 * and the deletion as updateTime and deleteTime). */
static int listed_entity(bw_call_t *call, const PGresult *res, int row,
                         Bulwark__Scoping__V1__Entity **out)
{
    if (PQgetisnull(res, row, COL_DELETE))
        return row_to_entity(call, res, row, out);
    Bulwark__Scoping__V1__Entity *e = bw_arena_alloc(call->arena, sizeof(*e));
    if (e == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__entity__init(e);
    e->id = bw_store_strdup(call->arena, res, row, COL_ID);
    int err;
    if ((err = bw_store_timestamp(call->arena, res, row, COL_DELETE, &e->update_time)) != 0 ||
        (err = bw_store_timestamp(call->arena, res, row, COL_DELETE, &e->delete_time)) != 0)
        return err;
    if (e->id == NULL)
        return BW_ENOMEM;
    *out = e;
    return 0;
}

int bw_entities_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__ListEntitiesRequest *req = (const void *)request;
    const bw_list_query_t q = BW_LIST_QUERY(req);
    bw_list_t list;
    PGresult *res;
    int err = bw_list_page(call, bw_service_db(call), &list_spec, &q, 0, NULL, 0, &list, &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    int shown = bw_list_shown(&list, n);
    Bulwark__Scoping__V1__ListEntitiesResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__list_entities_response__init(out);
    out->entities = bw_arena_calloc(call->arena, (size_t)shown + 1, sizeof(*out->entities));
    if (out->entities == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < shown; i++) {
        err = listed_entity(call, res, i, &out->entities[i]);
        if (err != 0)
            return err;
    }
    out->n_entities = (size_t)shown;
    if ((err = bw_list_next_token(call, &list, res, n, shown - 1, &out->next_page_token)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}

/* Copies the fields named by the mask from patch into e. */
static int merge(bw_call_t *call, Bulwark__Scoping__V1__Entity *e,
                 const Bulwark__Scoping__V1__Entity *patch, const Google__Protobuf__FieldMask *mask)
{
    for (size_t i = 0; mask != NULL && i < mask->n_paths; i++) {
        const char *p = mask->paths[i];
        if (strcmp(p, "name") == 0)
            e->name = patch->name;
        else if (strcmp(p, "time_zone") == 0)
            e->time_zone = patch->time_zone;
        else if (strcmp(p, "parent_entity") == 0)
            e->parent_entity = patch->parent_entity;
        else if (strcmp(p, "activities") == 0) {
            e->n_activities = patch->n_activities;
            e->activities = patch->activities;
        } else if (strcmp(p, "size") == 0)
            e->size = patch->size;
        else if (strcmp(p, "public_administration") == 0)
            e->public_administration = patch->public_administration;
        else if (strcmp(p, "member_state") == 0)
            e->member_state = patch->member_state;
        else if (strcmp(p, "id") != 0 && strcmp(p, "create_time") != 0 &&
                 strcmp(p, "update_time") != 0 && strcmp(p, "etag") != 0)
            return bw_call_violation(call, p, "cannot be changed");
    }
    return 0;
}

int bw_entities_update(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__UpdateEntityRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", req->id);
    bw_db_t *db = bw_service_db(call);
    const char *id = req->id;
    PGresult *res;
    Bulwark__Scoping__V1__Entity *e = NULL;
    int err = bw_store_begin_row(call, db, &stmt_get_for_update, 1, &id, id, COL_REVISION, &res);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", id);
    if (err != 0)
        return err;
    if ((err = row_to_entity(call, res, 0, &e)) != 0)
        goto out;
    Bulwark__Scoping__V1__Applicability *before, *after;
    if ((err = outcome_of(call, e, &before)) != 0)
        goto out;
    const char *old_parent = e->parent_entity;
    Bulwark__Scoping__V1__Entity empty = BULWARK__SCOPING__V1__ENTITY__INIT;
    err = merge(call, e, req->entity != NULL ? req->entity : &empty, req->update_mask);
    if (err != 0 || (err = bw_scoping_validate_entity(call, e, bw_service_data(call))) != 0)
        goto out;
    if (e->parent_entity[0] != '\0' && strcmp(e->parent_entity, old_parent) != 0) {
        if (strcmp(e->parent_entity, id) == 0) {
            err = bw_call_violation(call, "parentEntity", "an entity cannot be its own parent");
            goto out;
        }
        const char *values[] = {e->parent_entity, id};
        if ((err = bw_db_exec(db, call->arena, &stmt_ancestor, 2, values, &res)) != 0)
            goto out;
        if (PQntuples(res) > 0) {
            err = bw_call_violation(call, "parentEntity", "would make the entity its own ancestor");
            goto out;
        }
    }
    const char *facts = facts_param(call, e);
    if (facts == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    const char *values[] = {id, e->name, e->time_zone, e->parent_entity, facts};
    if ((err = bw_db_exec(db, call->arena, &stmt_update, 5, values, &res)) != 0) {
        err = write_failed(call, db, err);
        goto out;
    }
    if ((err = row_to_entity(call, res, 0, &e)) != 0 || (err = outcome_of(call, e, &after)) != 0)
        goto out;
    if (outcome_changed(before, after) && after != NULL)
        err = announce_classification(call, e, after);
out:
    if ((err = bw_store_end(db, err)) == 0)
        *resp = &e->base;
    return err;
}

int bw_entities_delete(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__DeleteEntityRequest *req = (const void *)request;
    int err = bw_store_uuid_delete(call, &stmt_delete, call->tenant_id, req->id, resp);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", req->id);
    return err;
}
