/*
 * Board members, stored in attestations.board_members: who sits on an
 * entity's management body and for which tenure (since, until). Lists are
 * keyset pages in the orders and with the filters of list.h. Members are
 * never deleted: a tenure ends by setting `until`, and the records a member
 * signed keep pointing at the row.
 */
#include "members.h"

#include "attest.h"
#include "ids.h"
#include "list.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <string.h>

/* clang-format off */
#define MEMBER_COLUMNS                                                                             \
    "member_id::text, entity_id::text, name, email, role, " BW_ATTEST_US("since") ", "             \
    BW_ATTEST_US("until") ", (since <= now() AND (until IS NULL OR until > now())), "              \
    BW_ATTEST_US("create_time") ", " BW_ATTEST_US("update_time") ", revision"
/* clang-format on */

enum {
    COL_ID,
    COL_ENTITY,
    COL_NAME,
    COL_EMAIL,
    COL_ROLE,
    COL_SINCE,
    COL_UNTIL,
    COL_IN_OFFICE,
    COL_CREATE,
    COL_UPDATE,
    COL_REVISION
};

/* clang-format off */
static const bw_db_stmt_t stmt_insert = {
    "members_insert",
    "INSERT INTO attestations.board_members "
    "(tenant_id, member_id, entity_id, name, email, role, since, until) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, $5, "
    "COALESCE(NULLIF($6, '')::timestamptz, now()), NULLIF($7, '')::timestamptz) "
    "RETURNING " MEMBER_COLUMNS};
/* ListBoardMembers (list.h): $1 rows, $2 entity, $3 inOffice, then the key
 * and the id. The member's columns, then the key and the id. */
#define LIST_SELECT(key)                                                                           \
    "SELECT " MEMBER_COLUMNS ", " key "::text AS list_key, member_id::text AS list_id "            \
    "FROM attestations.board_members m WHERE m.entity_id = $2::uuid "                              \
    "AND ($3::boolean IS NULL OR "                                                                 \
    "(m.since <= now() AND (m.until IS NULL OR m.until > now())) = $3::boolean)"
static const bw_db_stmt_t by_create[4] = BW_LIST_ORDER_STMTS(
    "members_by_create", LIST_SELECT(BW_ATTEST_US("m.create_time")), "m.create_time",
    "m.member_id", "$4::timestamptz", "$5::uuid");
static const bw_db_stmt_t by_update[4] = BW_LIST_ORDER_STMTS(
    "members_by_update", LIST_SELECT(BW_ATTEST_US("m.update_time")), "m.update_time",
    "m.member_id", "$4::timestamptz", "$5::uuid");
static const bw_db_stmt_t by_name[4] = BW_LIST_ORDER_STMTS(
    "members_by_name", LIST_SELECT("m.name"), "m.name", "m.member_id", "$4::text", "$5::uuid");
static const bw_db_stmt_t stmt_get_for_update = {
    "members_get_for_update",
    "SELECT " MEMBER_COLUMNS " FROM attestations.board_members "
    "WHERE entity_id = $1 AND member_id = $2 FOR UPDATE"};
static const bw_db_stmt_t stmt_get = {
    "members_get",
    "SELECT " MEMBER_COLUMNS " FROM attestations.board_members WHERE member_id = $1"};
static const bw_db_stmt_t stmt_update = {
    "members_update",
    "UPDATE attestations.board_members SET name = $3, email = $4, role = $5, "
    "since = $6::timestamptz, until = NULLIF($7, '')::timestamptz, update_time = now(), "
    "revision = revision + 1 WHERE entity_id = $1 AND member_id = $2 RETURNING " MEMBER_COLUMNS};
/* clang-format on */

const bw_db_stmt_t *const bw_members_stmts[] = {
    &stmt_insert,  &stmt_get_for_update, &stmt_update,  &by_create[0], &by_create[1], &by_create[2],
    &by_create[3], &by_update[0],        &by_update[1], &by_update[2], &by_update[3], &by_name[0],
    &by_name[1],   &by_name[2],          &by_name[3],   &stmt_get,
};
const size_t bw_members_n_stmts = sizeof(bw_members_stmts) / sizeof(bw_members_stmts[0]);

static const bw_list_filter_t list_filters[] = {{"inOffice", BW_LIST_BOOL, NULL, 0}};
static const bw_list_order_t list_orders[] = {
    {"createTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_create)},
    {"updateTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_update)},
    {"name", BW_LIST_KEY_TEXT, BW_LIST_STMT_PTRS(by_name)},
};
static const bw_list_spec_t list_spec = {
    .name = "board-members",
    .id = BW_LIST_ID_UUID,
    BW_LIST_ORDERS(list_orders),
    .since_order = 1,
    BW_LIST_FILTERS(list_filters),
};

/* A board member from row of res, on arena, into
 * *(Bulwark__Attestations__V1__BoardMember **)out (a bw_store_row_fn). */
static int row_to_member(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Attestations__V1__BoardMember *m = bw_arena_alloc(arena, sizeof(*m));
    if (m == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__board_member__init(m);
    m->in_office = strcmp(bw_store_text(res, row, COL_IN_OFFICE), "t") == 0;
    m->etag = bw_arena_alloc(arena, 17);
    if (BW_STORE_COLUMNS(arena, res, row, {COL_ID, &m->id}, {COL_ENTITY, &m->entity},
                         {COL_NAME, &m->name}, {COL_EMAIL, &m->email}, {COL_ROLE, &m->role},
                         {COL_SINCE, .time = &m->since}, {COL_UNTIL, .time = &m->until},
                         {COL_CREATE, .time = &m->create_time},
                         {COL_UPDATE, .time = &m->update_time}) != 0 ||
        m->etag == NULL)
        return BW_ENOMEM;
    bw_etag(m->id, bw_store_int(res, row, COL_REVISION), m->etag);
    *(Bulwark__Attestations__V1__BoardMember **)out = m;
    return 0;
}

/* A plausible address: one '@' between a non-empty local part and a domain
 * with a dot, no blanks or control characters. Deliverability is not ours
 * to judge. */
static int email_plausible(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return 0;
    const char *dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= ' ' || *p == 0x7F)
            return 0;
    return 1;
}

int bw_members_validate(bw_call_t *call, const Bulwark__Attestations__V1__BoardMember *m)
{
    int bad = 0;
    bad |= bw_attest_check_text(call, "name", m->name, 200, 1);
    bad |= bw_attest_check_text(call, "role", m->role, 200, 0);
    if (bw_attest_check_text(call, "email", m->email, 254, 0) != 0)
        bad = 1;
    else if (m->email != NULL && m->email[0] != '\0' && !email_plausible(m->email))
        bad |= bw_call_violation(call, "email", "is not an email address");
    /* Both checked before either is converted: a raw gRPC caller's seconds
     * could overflow the product, or give a year the gateway cannot show. */
    long long since = bw_time_now_us(), until = 0;
    int since_bad = m->since != NULL && bw_attest_time(call, "since", m->since, &since) != 0;
    int until_bad = m->until != NULL && bw_attest_time(call, "until", m->until, &until) != 0;
    bad |= since_bad || until_bad;
    if (m->until != NULL && !since_bad && !until_bad && until <= since)
        bad |= bw_call_violation(call, "until", "must be after since");
    return bad ? BW_EINVAL : 0;
}

/* A failed write the client can fix: the tenure check. */
static int write_failed(bw_call_t *call, bw_db_t *db, int err)
{
    if (err == BW_EINVAL && strcmp(bw_db_last_constraint(db), "board_members_tenure_check") == 0)
        return bw_call_violation(call, "until", "must be after since");
    return err;
}

/* A time bw_members_validate passed, or one read from the row. */
static const char *time_or_empty(bw_call_t *call, const Google__Protobuf__Timestamp *ts)
{
    return ts != NULL ? bw_attest_time_param(call->arena, bw_attest_us(ts)) : "";
}

int bw_members_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__CreateBoardMemberRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    Bulwark__Attestations__V1__BoardMember empty = BULWARK__ATTESTATIONS__V1__BOARD_MEMBER__INIT;
    const Bulwark__Attestations__V1__BoardMember *m =
        req->board_member != NULL ? req->board_member : &empty;
    if ((err = bw_members_validate(call, m)) != 0)
        return err;
    if ((err = bw_attest_entity_check(call, req->entity, NULL)) != 0)
        return err;
    char id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    const char *since = time_or_empty(call, m->since);
    const char *until = time_or_empty(call, m->until);
    if (since == NULL || until == NULL)
        return BW_ENOMEM;
    const char *values[] = {id, req->entity, m->name, m->email, m->role, since, until};
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    if ((err = bw_db_exec1(db, call->arena, call->tenant_id, &stmt_insert, 7, values, &res)) != 0)
        return write_failed(call, db, err);
    Bulwark__Attestations__V1__BoardMember *out;
    if ((err = row_to_member(call->arena, res, 0, &out)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}

int bw_members_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__GetBoardMemberRequest *req = (const void *)request;
    if (!bw_uuid_valid(req->id))
        return bw_call_fail(call, BW_ENOTFOUND, "BOARD_MEMBER_NOT_FOUND",
                            "board member %s not found", req->id);
    const char *id = req->id;
    PGresult *res;
    int err =
        bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_get, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "BOARD_MEMBER_NOT_FOUND",
                            "board member %s not found", id);
    Bulwark__Attestations__V1__BoardMember *m;
    if ((err = row_to_member(call->arena, res, 0, &m)) != 0)
        return err;
    *resp = &m->base;
    return 0;
}

int bw_members_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__ListBoardMembersRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    if (!bw_uuid_valid(req->entity))
        return bw_attest_entity_check(call, req->entity, NULL);
    const bw_list_query_t q = BW_LIST_QUERY(req);
    const char *own[] = {req->entity};
    bw_list_t list;
    PGresult *res;
    err = bw_list_page(call, bw_service_db(call), &list_spec, &q, 0, own, 1, &list, &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    /* An empty first page may mean an unknown entity: only scoping knows. */
    if (n == 0 && req->page_token[0] == '\0' &&
        (err = bw_attest_entity_check(call, req->entity, NULL)) != 0)
        return err;
    return bw_list_response(call, &list, res, n,
                            &bulwark__attestations__v1__list_board_members_response__descriptor,
                            "board_members", row_to_member, NULL, resp);
}

/* Copies the fields named by the mask from patch into m. */
static int merge(bw_call_t *call, Bulwark__Attestations__V1__BoardMember *m,
                 const Bulwark__Attestations__V1__BoardMember *patch,
                 const Google__Protobuf__FieldMask *mask)
{
    int bad = 0;
    for (size_t i = 0; mask != NULL && i < mask->n_paths; i++) {
        const char *p = mask->paths[i];
        if (strcmp(p, "name") == 0)
            m->name = patch->name;
        else if (strcmp(p, "email") == 0)
            m->email = patch->email;
        else if (strcmp(p, "role") == 0)
            m->role = patch->role;
        else if (strcmp(p, "since") == 0) {
            m->since = patch->since;
            if (m->since == NULL)
                bad |= bw_call_violation(call, "since", "cannot be cleared");
        } else if (strcmp(p, "until") == 0)
            m->until = patch->until;
        else if (strcmp(p, "id") != 0 && strcmp(p, "entity") != 0 &&
                 strcmp(p, "create_time") != 0 && strcmp(p, "update_time") != 0 &&
                 strcmp(p, "etag") != 0 && strcmp(p, "in_office") != 0)
            bad |= bw_call_violation(call, p, "cannot be changed");
    }
    return bad ? BW_EINVAL : 0;
}

int bw_members_update(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__UpdateBoardMemberRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    if (!bw_uuid_valid(req->entity) || !bw_uuid_valid(req->id))
        return bw_call_fail(call, BW_ENOTFOUND, "BOARD_MEMBER_NOT_FOUND",
                            "board member %s not found", req->id);
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    Bulwark__Attestations__V1__BoardMember *m = NULL;
    const char *key[] = {req->entity, req->id};
    err = bw_store_begin_row(call, db, &stmt_get_for_update, 2, key, NULL, COL_REVISION, &res);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "BOARD_MEMBER_NOT_FOUND",
                            "board member %s not found", req->id);
    if (err != 0)
        return err;
    if ((err = row_to_member(call->arena, res, 0, &m)) != 0)
        goto out;
    Bulwark__Attestations__V1__BoardMember empty = BULWARK__ATTESTATIONS__V1__BOARD_MEMBER__INIT;
    if ((err = merge(call, m, req->board_member != NULL ? req->board_member : &empty,
                     req->update_mask)) != 0 ||
        (err = bw_members_validate(call, m)) != 0)
        goto out;
    const char *since = time_or_empty(call, m->since);
    const char *until = time_or_empty(call, m->until);
    if (since == NULL || until == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    const char *values[] = {req->entity, req->id, m->name, m->email, m->role, since, until};
    if ((err = bw_db_exec(db, call->arena, &stmt_update, 7, values, &res)) != 0) {
        err = write_failed(call, db, err);
        goto out;
    }
    err = row_to_member(call->arena, res, 0, &m);
out:
    if ((err = bw_store_end(db, err)) == 0)
        *resp = &m->base;
    return err;
}
