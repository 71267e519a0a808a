/*
 * Legal entities of a tenant, stored in scoping.entities. Name, time zone and
 * parent are columns; the scoping facts are one serialized Entity message
 * (see migrations/0001_entities.sql). Ids are UUIDv7, so listing by id is
 * listing by creation, and pages are keyset pages on the id.
 */
#include "entities.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "assess.h"
#include "facts.h"
#include "ids.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <string.h>

#define ENTITY_COLUMNS                                                                             \
    "entity_id::text, name, time_zone, parent_entity::text, facts, "                               \
    "(extract(epoch FROM create_time) * 1000000)::bigint, "                                        \
    "(extract(epoch FROM update_time) * 1000000)::bigint, revision"

enum { COL_ID, COL_NAME, COL_TZ, COL_PARENT, COL_FACTS, COL_CREATE, COL_UPDATE, COL_REVISION };

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
static const bw_db_stmt_t stmt_list = {
    "entities_list",
    "SELECT " ENTITY_COLUMNS " FROM scoping.entities "
    "WHERE entity_id > COALESCE(NULLIF($1, '')::uuid, '00000000-0000-0000-0000-000000000000') "
    "ORDER BY entity_id LIMIT $2::int"};
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
    &stmt_insert, &stmt_get, &stmt_get_for_update, &stmt_list,
    &stmt_update, &stmt_ancestor, &stmt_delete,
};
const size_t bw_entities_n_stmts = sizeof(bw_entities_stmts) / sizeof(bw_entities_stmts[0]);

#define LIST_SCOPE "entities"

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
    Bulwark__Scoping__V1__Entity *e = bulwark__scoping__v1__entity__unpack(
        bw_arena_protobuf_allocator(call->arena), len, facts);
    if (e == NULL)
        return bw_call_fail(call, BW_EINTERNAL, NULL, "stored facts of entity %s are corrupt",
                            bw_store_text(res, row, COL_ID));
    e->id = bw_store_strdup(call->arena, res, row, COL_ID);
    e->name = bw_store_strdup(call->arena, res, row, COL_NAME);
    e->time_zone = bw_store_strdup(call->arena, res, row, COL_TZ);
    e->parent_entity = bw_store_strdup(call->arena, res, row, COL_PARENT);
    e->create_time = bw_store_timestamp(call->arena, res, row, COL_CREATE);
    e->update_time = bw_store_timestamp(call->arena, res, row, COL_UPDATE);
    e->etag = bw_arena_alloc(call->arena, 17);
    if (e->id == NULL || e->name == NULL || e->time_zone == NULL || e->parent_entity == NULL ||
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
    err = row_to_entity(call, res, 0, &e);
    if (err != 0)
        return err;
    *resp = &e->base;
    return 0;
}

int bw_entities_load(bw_call_t *call, const char *id, Bulwark__Scoping__V1__Entity **out)
{
    if (!bw_uuid_valid(id))
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", id);
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_get, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", id);
    return row_to_entity(call, res, 0, out);
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

int bw_entities_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__ListEntitiesRequest *req = (const void *)request;
    bw_page_t page;
    int err = bw_store_page(call, LIST_SCOPE, req->page_size, req->page_token, &page);
    if (err != 0)
        return err;
    if (page.after[0] != '\0' && !bw_uuid_valid(page.after))
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    const char *values[] = {page.after, page.size_param};
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_list, 2, values,
                      &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    int shown = n > page.size ? page.size : n;
    Bulwark__Scoping__V1__ListEntitiesResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__list_entities_response__init(out);
    out->entities = bw_arena_calloc(call->arena, (size_t)shown + 1, sizeof(*out->entities));
    if (out->entities == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < shown; i++) {
        err = row_to_entity(call, res, i, &out->entities[i]);
        if (err != 0)
            return err;
    }
    out->n_entities = (size_t)shown;
    out->next_page_token =
        bw_store_next_token(call, LIST_SCOPE, &page, n,
                            shown > 0 ? out->entities[shown - 1]->id : "");
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
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found",
                            req->id);
    bw_db_t *db = bw_service_db(call);
    const char *id = req->id;
    PGresult *res;
    Bulwark__Scoping__V1__Entity *e;
    int err = bw_db_begin(db, call->tenant_id);
    if (err != 0)
        return err;
    err = bw_db_exec(db, call->arena, &stmt_get_for_update, 1, &id, &res);
    if (err != 0)
        goto out;
    if (PQntuples(res) == 0) {
        err = bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", id);
        goto out;
    }
    if ((err = row_to_entity(call, res, 0, &e)) != 0 ||
        (err = bw_store_check_etag(call, id, bw_store_int(res, 0, COL_REVISION))) != 0)
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
            err = bw_call_violation(call, "parentEntity",
                                    "would make the entity its own ancestor");
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
    if ((err = row_to_entity(call, res, 0, &e)) != 0)
        goto out;
    err = bw_db_commit(db);
out:
    if (err != 0) {
        bw_db_rollback(db);
        return err;
    }
    *resp = &e->base;
    return 0;
}

int bw_entities_delete(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__DeleteEntityRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found",
                            req->id);
    const char *id = req->id;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_delete, 1, &id,
                          &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", id);
    /* A mismatch fails the call, and the request transaction undoes the delete. */
    if ((err = bw_store_check_etag(call, id, bw_store_int(res, 0, 0))) != 0)
        return err;
    Google__Protobuf__Empty *empty = bw_arena_alloc(call->arena, sizeof(*empty));
    if (empty == NULL)
        return BW_ENOMEM;
    google__protobuf__empty__init(empty);
    *resp = &empty->base;
    return 0;
}
