/*
 * Campaigns, stored in attestations.campaigns, which nobody may change
 * once written (migrations/0001_attestations.sql): the statement and its
 * SHA-256 are frozen at creation. GetCampaign lists the expected members
 * (in office at the end of the campaign's window: now, or the due date once
 * past) and every member who attested, with where each stands; lists use
 * the campaign_tallies view, which counts the same way.
 */
#include "campaigns.h"

#include "attest.h"
#include "chain.h"
#include "ids.h"
#include "list.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* clang-format off */
#define CAMPAIGN_COLUMNS                                                                           \
    "campaign_id::text, entity_id::text, kind, statement, statement_sha256, "                      \
    BW_ATTEST_US("due_at") ", valid_for_days, (due_at > now()), created_by, "                      \
    BW_ATTEST_US("create_time")
/* clang-format on */

enum {
    COL_ID,
    COL_ENTITY,
    COL_KIND,
    COL_STATEMENT,
    COL_SHA,
    COL_DUE,
    COL_VALID_DAYS,
    COL_OPEN,
    COL_CREATED_BY,
    COL_CREATE,
    COL_UPDATE, /* the campaign's creation or its latest attestation (campaign_updates) */
    /* lists only: the tally of campaign_tallies */
    COL_EXPECTED,
    COL_APPROVALS,
    COL_REJECTIONS,
    COL_ABSTENTIONS,
    COL_APPROVED_AT
};

/* clang-format off */
static const bw_db_stmt_t stmt_insert = {
    "campaigns_insert",
    "INSERT INTO attestations.campaigns (tenant_id, campaign_id, entity_id, kind, statement, "
    "statement_sha256, due_at, valid_for_days, created_by) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, $5, $6::timestamptz, "
    "$7::int, $8) RETURNING " CAMPAIGN_COLUMNS ", " BW_ATTEST_US("create_time")};
static const bw_db_stmt_t stmt_get = {
    "campaigns_get",
    "SELECT " CAMPAIGN_COLUMNS ", (SELECT " BW_ATTEST_US("u.update_time")
    " FROM attestations.campaign_updates u WHERE u.tenant_id = c.tenant_id"
    " AND u.campaign_id = c.campaign_id) FROM attestations.campaigns c WHERE campaign_id = $1"};
/* Must agree with the view campaign_tallies on who is expected. */
static const bw_db_stmt_t stmt_statuses = {
    "campaigns_statuses",
    "SELECT m.member_id::text, m.name, COALESCE(r.decision, ''), " BW_ATTEST_US("r.recorded_at")
    ", COALESCE(r.sequence, 0), (m.since <= now() AND (m.until IS NULL OR m.until > now())) "
    "FROM attestations.campaigns c "
    "JOIN attestations.board_members m ON m.tenant_id = c.tenant_id AND m.entity_id = c.entity_id "
    "LEFT JOIN attestations.records r ON r.tenant_id = m.tenant_id "
    " AND r.campaign_id = c.campaign_id AND r.member_id = m.member_id "
    "WHERE c.campaign_id = $1 AND (r.member_id IS NOT NULL "
    " OR (m.since <= LEAST(now(), c.due_at) "
    "     AND (m.until IS NULL OR m.until > LEAST(now(), c.due_at)))) "
    "ORDER BY m.name, m.member_id"};
/* ListCampaigns (list.h): $1 rows, $2 entity, $3 kind, $4 state, then the
 * key and the id. The columns of a campaign without its statement, its
 * update time, its tally, then the key and the id. Like the incidents' list,
 * a branch per index: the tenant's, or one entity's, the other skipped at
 * the start by a one-time filter on $2. */
#define LIST_FILTERS                                                                               \
    " AND ($3::text IS NULL OR t.kind = $3::text)"                                                 \
    " AND ($4::text IS NULL OR (t.due_at > now()) = ($4::text = 'OPEN'))"
#define LIST_BRANCH(gate, key, id, after, order)                                                   \
    "(SELECT t.*, u.update_time AS u_time, " BW_ATTEST_US(key) "::text AS list_key, "              \
    id "::text AS list_id FROM attestations.campaign_tallies t "                                   \
    "JOIN attestations.campaign_updates u "                                                        \
    "ON u.tenant_id = t.tenant_id AND u.campaign_id = t.campaign_id WHERE " gate LIST_FILTERS      \
    after order " LIMIT $1::int)"
#define LIST_STMT(name, key, id, entity, after, order, outer)                                      \
    {name,                                                                                         \
     "SELECT x.campaign_id::text, x.entity_id::text, x.kind, '', x.statement_sha256, "             \
     BW_ATTEST_US("x.due_at") ", x.valid_for_days, (x.due_at > now()), x.created_by, "             \
     BW_ATTEST_US("x.create_time") ", " BW_ATTEST_US("x.u_time") ", x.expected, x.approvals, "     \
     "x.rejections, x.abstentions, " BW_ATTEST_US("x.approved_at") ", x.list_key, x.list_id "      \
     "FROM (" LIST_BRANCH("$2::uuid IS NULL", key, id, after, order) " UNION ALL "                 \
     LIST_BRANCH(entity " = $2::uuid", key, id, after, order) ") x" outer}
#define LIST_ORDER(name, key, id, entity, outer_key)                                               \
    {LIST_STMT(name "_asc", key, id, entity, "", BW_LIST_ASC(key, id),                            \
               BW_LIST_ASC(outer_key, "x.campaign_id")),                                           \
     LIST_STMT(name "_asc_after", key, id, entity,                                                 \
               BW_LIST_AFTER(key, id, ">", "$5::timestamptz", "$6::uuid"), BW_LIST_ASC(key, id),   \
               BW_LIST_ASC(outer_key, "x.campaign_id")),                                           \
     LIST_STMT(name "_desc", key, id, entity, "", BW_LIST_DESC(key, id),                          \
               BW_LIST_DESC(outer_key, "x.campaign_id")),                                          \
     LIST_STMT(name "_desc_after", key, id, entity,                                                \
               BW_LIST_AFTER(key, id, "<", "$5::timestamptz", "$6::uuid"), BW_LIST_DESC(key, id),  \
               BW_LIST_DESC(outer_key, "x.campaign_id"))}
static const bw_db_stmt_t by_create[4] =
    LIST_ORDER("campaigns_by_create", "t.create_time", "t.campaign_id", "t.entity_id",
               "x.create_time");
static const bw_db_stmt_t by_update[4] =
    LIST_ORDER("campaigns_by_update", "u.update_time", "u.campaign_id", "u.entity_id", "x.u_time");
static const bw_db_stmt_t by_due[4] =
    LIST_ORDER("campaigns_by_due", "t.due_at", "t.campaign_id", "t.entity_id", "x.due_at");
/* The campaigns an entity's records refer to, for its export. */
static const bw_db_stmt_t stmt_exported = {
    "campaigns_exported",
    "SELECT campaign_id::text, entity_id::text, kind, statement, statement_sha256 "
    "FROM attestations.campaigns WHERE campaign_id IN "
    "(SELECT campaign_id FROM attestations.records WHERE entity_id = $1) ORDER BY campaign_id"};
/* clang-format on */

const bw_db_stmt_t *const bw_campaigns_stmts[] = {
    &stmt_insert,  &stmt_get,     &stmt_statuses, &stmt_exported, &by_create[0], &by_create[1],
    &by_create[2], &by_create[3], &by_update[0],  &by_update[1],  &by_update[2], &by_update[3],
    &by_due[0],    &by_due[1],    &by_due[2],     &by_due[3],
};
const size_t bw_campaigns_n_stmts = sizeof(bw_campaigns_stmts) / sizeof(bw_campaigns_stmts[0]);

/* Every kind of attest.c's kind_names, which campaigns are created with. */
static const char *const kind_values[] = {"RISK_MEASURES_APPROVAL", "MANAGEMENT_TRAINING",
                                          "POLICY_APPROVAL", "IMPLEMENTATION_OVERSIGHT", NULL};
static const char *const state_values[] = {"OPEN", "CLOSED", NULL};
enum { FILTER_ENTITY, FILTER_KIND, FILTER_STATE };
static const bw_list_filter_t list_filters[] = {
    {"entity", BW_LIST_UUID, NULL, 0},
    {"kind", BW_LIST_ENUM, kind_values, 0},
    {"state", BW_LIST_ENUM, state_values, 0},
};
static const bw_list_order_t list_orders[] = {
    {"createTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_create)},
    {"updateTime", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_update)},
    {"dueAt", BW_LIST_KEY_TIME, BW_LIST_STMT_PTRS(by_due)},
};
static const bw_list_spec_t list_spec = {
    .name = "attestation-campaigns",
    .id = BW_LIST_ID_UUID,
    BW_LIST_ORDERS(list_orders),
    .since_order = 1,
    BW_LIST_FILTERS(list_filters),
};

int bw_campaigns_majority(int expected, int n_approvals)
{
    int needed = expected / 2 + 1;
    return expected > 0 && n_approvals >= needed ? needed - 1 : -1;
}

long long bw_campaigns_revision(long long n_attestations)
{
    return 1 + n_attestations;
}

/* The etag of c once its tally is known. */
static void set_etag(Bulwark__Attestations__V1__Campaign *c)
{
    bw_etag(c->id, bw_campaigns_revision((long long)c->approvals + c->rejections + c->abstentions),
            c->etag);
}

static int is_approval_kind(int kind)
{
    return kind == BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__RISK_MEASURES_APPROVAL ||
           kind == BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__POLICY_APPROVAL ||
           kind == BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__IMPLEMENTATION_OVERSIGHT;
}

static int by_sequence(const void *a, const void *b)
{
    const Bulwark__Attestations__V1__MemberStatus *x =
        *(Bulwark__Attestations__V1__MemberStatus *const *)a;
    const Bulwark__Attestations__V1__MemberStatus *y =
        *(Bulwark__Attestations__V1__MemberStatus *const *)b;
    return (x->sequence > y->sequence) - (x->sequence < y->sequence);
}

void bw_campaigns_tally(bw_arena_t *arena, Bulwark__Attestations__V1__Campaign *c)
{
    Bulwark__Attestations__V1__MemberStatus **approved =
        bw_arena_calloc(arena, c->n_members + 1, sizeof(*approved));
    int n_approved = 0;
    c->expected = (int32_t)c->n_members;
    c->approvals = c->rejections = c->abstentions = c->pending = 0;
    for (size_t i = 0; i < c->n_members; i++) {
        switch (c->members[i]->status) {
        case BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__APPROVED:
            c->approvals++;
            if (approved != NULL)
                approved[n_approved++] = c->members[i];
            break;
        case BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__REJECTED:
            c->rejections++;
            break;
        case BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__ABSTAINED:
            c->abstentions++;
            break;
        default:
            c->pending++;
            break;
        }
    }
    c->approved = 0;
    c->approved_at = NULL;
    int k = bw_campaigns_majority(c->expected, n_approved);
    if (is_approval_kind(c->kind) && k >= 0) {
        qsort(approved, (size_t)n_approved, sizeof(*approved), by_sequence);
        c->approved = 1;
        c->approved_at = approved[k]->attested_at;
    }
}

/* A campaign from row of res, on arena, into *(Campaign **)out (a
 * bw_store_row_fn). */
static int row_to_campaign(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Attestations__V1__Campaign *c = bw_arena_alloc(arena, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__campaign__init(c);
    c->kind = bw_attest_kind_value(bw_store_text(res, row, COL_KIND));
    c->valid_for_days = (int32_t)bw_store_int(res, row, COL_VALID_DAYS);
    c->state = strcmp(bw_store_text(res, row, COL_OPEN), "t") == 0
                   ? BULWARK__ATTESTATIONS__V1__CAMPAIGN__STATE__OPEN
                   : BULWARK__ATTESTATIONS__V1__CAMPAIGN__STATE__CLOSED;
    c->etag = bw_arena_alloc(arena, 17);
    if (BW_STORE_COLUMNS(arena, res, row, {COL_ID, &c->id}, {COL_ENTITY, &c->entity},
                         {COL_STATEMENT, &c->statement}, {COL_SHA, &c->statement_sha256},
                         {COL_CREATED_BY, &c->created_by}, {COL_DUE, .time = &c->due_at},
                         {COL_CREATE, .time = &c->create_time},
                         {COL_UPDATE, .time = &c->update_time}) != 0 ||
        c->etag == NULL)
        return BW_ENOMEM;
    set_etag(c);
    *(Bulwark__Attestations__V1__Campaign **)out = c;
    return 0;
}

/* A campaign of a list, with its tally from the list's columns (a
 * bw_store_row_fn). */
static int listed_campaign(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Attestations__V1__Campaign *c;
    int err = row_to_campaign(arena, res, row, &c);
    if (err != 0)
        return err;
    c->expected = (int32_t)bw_store_int(res, row, COL_EXPECTED);
    c->approvals = (int32_t)bw_store_int(res, row, COL_APPROVALS);
    c->rejections = (int32_t)bw_store_int(res, row, COL_REJECTIONS);
    c->abstentions = (int32_t)bw_store_int(res, row, COL_ABSTENTIONS);
    c->pending = c->expected - c->approvals - c->rejections - c->abstentions;
    set_etag(c);
    if (is_approval_kind(c->kind) && !PQgetisnull(res, row, COL_APPROVED_AT)) {
        c->approved = 1;
        if ((err = bw_store_timestamp(arena, res, row, COL_APPROVED_AT, &c->approved_at)) != 0)
            return err;
    }
    *(Bulwark__Attestations__V1__Campaign **)out = c;
    return 0;
}

static Bulwark__Attestations__V1__MemberStatus__Status status_of(const char *decision)
{
    switch (bw_attest_decision_value(decision)) {
    case BULWARK__ATTESTATIONS__V1__ATTESTATION__DECISION__APPROVE:
        return BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__APPROVED;
    case BULWARK__ATTESTATIONS__V1__ATTESTATION__DECISION__REJECT:
        return BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__REJECTED;
    case BULWARK__ATTESTATIONS__V1__ATTESTATION__DECISION__ABSTAIN:
        return BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__ABSTAINED;
    default:
        return BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__PENDING;
    }
}

/* Loads the members' statuses of c and tallies them. */
static int load_statuses(bw_call_t *call, Bulwark__Attestations__V1__Campaign *c)
{
    PGresult *res;
    const char *id = c->id;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_statuses, 1, &id,
                          &res);
    if (err != 0)
        return err;
    int n = PQntuples(res);
    c->members = bw_arena_calloc(call->arena, (size_t)n + 1, sizeof(*c->members));
    if (c->members == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < n; i++) {
        Bulwark__Attestations__V1__MemberStatus *s = bw_arena_alloc(call->arena, sizeof(*s));
        if (s == NULL)
            return BW_ENOMEM;
        bulwark__attestations__v1__member_status__init(s);
        s->member = bw_store_strdup(call->arena, res, i, 0);
        s->name = bw_store_strdup(call->arena, res, i, 1);
        s->status = status_of(bw_store_text(res, i, 2));
        if ((err = bw_store_timestamp(call->arena, res, i, 3, &s->attested_at)) != 0)
            return err;
        s->sequence = bw_store_int(res, i, 4);
        s->in_office = strcmp(bw_store_text(res, i, 5), "t") == 0;
        if (s->member == NULL || s->name == NULL)
            return BW_ENOMEM;
        c->members[i] = s;
    }
    c->n_members = (size_t)n;
    bw_campaigns_tally(call->arena, c);
    set_etag(c);
    return 0;
}

static int validate(bw_call_t *call, const Bulwark__Attestations__V1__Campaign *c)
{
    int bad = 0;
    if (c->entity == NULL || c->entity[0] == '\0')
        bad |= bw_call_violation(call, "entity", "is required");
    else if (!bw_uuid_valid(c->entity))
        bad |= bw_call_violation(call, "entity", "no entity with this id");
    if (bw_attest_kind_name(c->kind) == NULL)
        bad |= bw_call_violation(call, "kind",
                                 "is required: RISK_MEASURES_APPROVAL, "
                                 "IMPLEMENTATION_OVERSIGHT, MANAGEMENT_TRAINING or "
                                 "POLICY_APPROVAL");
    bad |= bw_attest_check_text(call, "statement", c->statement, 65536, 1);
    long long due;
    if (c->due_at == NULL)
        bad |= bw_call_violation(call, "dueAt", "is required");
    else if (bw_attest_time(call, "dueAt", c->due_at, &due) != 0)
        bad = 1;
    else if (due <= bw_time_now_us())
        bad |= bw_call_violation(call, "dueAt", "must be in the future");
    if (c->valid_for_days <= 0)
        bad |= bw_call_violation(call, "validForDays", "must be at least 1");
    else if (c->valid_for_days > 3660)
        bad |= bw_call_violation(call, "validForDays", "must be at most 3660 (ten years)");
    return bad ? BW_EINVAL : 0;
}

int bw_campaigns_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__CreateCampaignRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    Bulwark__Attestations__V1__Campaign empty = BULWARK__ATTESTATIONS__V1__CAMPAIGN__INIT;
    const Bulwark__Attestations__V1__Campaign *in = req->campaign != NULL ? req->campaign : &empty;
    if ((err = validate(call, in)) != 0)
        return err;
    if ((err = bw_attest_entity_check(call, in->entity, "entity")) != 0)
        return err;
    char id[BW_UUID_STR_LEN + 1];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    char sha[BW_CHAIN_HASH_HEX + 1];
    bw_chain_hash(in->statement, strlen(in->statement), sha);
    const char *values[] = {id,
                            in->entity,
                            bw_attest_kind_name(in->kind),
                            in->statement,
                            sha,
                            bw_attest_time_param(call->arena, bw_attest_us(in->due_at)),
                            bw_attest_int_param(call->arena, in->valid_for_days),
                            call->principal != NULL ? call->principal : ""};
    if (values[5] == NULL || values[6] == NULL)
        return BW_ENOMEM;
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_insert, 8, values,
                      &res);
    if (err != 0)
        return err;
    Bulwark__Attestations__V1__Campaign *c;
    if ((err = row_to_campaign(call->arena, res, 0, &c)) != 0 ||
        (err = load_statuses(call, c)) != 0)
        return err;
    *resp = &c->base;
    return 0;
}

int bw_campaigns_load(bw_call_t *call, const char *id, Bulwark__Attestations__V1__Campaign **out)
{
    Bulwark__Attestations__V1__Campaign *c;
    int err = bw_store_uuid_get(call, &stmt_get, call->tenant_id, id, row_to_campaign, &c);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "CAMPAIGN_NOT_FOUND", "campaign %s not found", id);
    if (err != 0 || (err = load_statuses(call, c)) != 0)
        return err;
    *out = c;
    return 0;
}

int bw_campaigns_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__GetCampaignRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    Bulwark__Attestations__V1__Campaign *c = NULL;
    if ((err = bw_campaigns_load(call, req->id, &c)) != 0)
        return err;
    *resp = &c->base;
    return 0;
}

int bw_campaigns_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__ListCampaignsRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    bw_list_query_t q = BW_LIST_QUERY(req);
    int bad = 0;
    if (req->entity[0] != '\0' && !bw_uuid_valid(req->entity))
        bad = bw_call_violation(call, "entity", "is not an entity id") != 0;
    else if (req->entity[0] != '\0')
        q.params[FILTER_ENTITY] = req->entity;
    bw_list_t list;
    PGresult *res;
    if ((err = bw_list_page(call, bw_service_db(call), &list_spec, &q, bad, NULL, 0, &list,
                            &res)) != 0)
        return err;
    return bw_list_response(call, &list, res, PQntuples(res),
                            &bulwark__attestations__v1__list_campaigns_response__descriptor,
                            "campaigns", listed_campaign, NULL, resp);
}

int bw_campaigns_exported(bw_call_t *call, const char *entity,
                          Bulwark__Attestations__V1__ExportedCampaign ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_exported, 1,
                          &entity, &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res);
    Bulwark__Attestations__V1__ExportedCampaign **list =
        bw_arena_calloc(call->arena, (size_t)rows + 1, sizeof(*list));
    if (list == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < rows; i++) {
        Bulwark__Attestations__V1__ExportedCampaign *c = bw_arena_alloc(call->arena, sizeof(*c));
        if (c == NULL)
            return BW_ENOMEM;
        bulwark__attestations__v1__exported_campaign__init(c);
        c->id = bw_store_strdup(call->arena, res, i, 0);
        c->entity = bw_store_strdup(call->arena, res, i, 1);
        c->kind = bw_attest_kind_value(bw_store_text(res, i, 2));
        c->statement = bw_store_strdup(call->arena, res, i, 3);
        c->statement_sha256 = bw_store_strdup(call->arena, res, i, 4);
        if (c->id == NULL || c->entity == NULL || c->statement == NULL ||
            c->statement_sha256 == NULL)
            return BW_ENOMEM;
        list[i] = c;
    }
    *out = list;
    *n = (size_t)rows;
    return 0;
}
