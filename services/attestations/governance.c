/*
 * The Art 20 status of an entity; see governance.h. An approval of the
 * measures counts once a majority of the expected members approved
 * (campaign_tallies.approved_at) and stays current for the campaign's
 * validForDays from that moment; a review of their implementation
 * (IMPLEMENTATION_OVERSIGHT, Art 20(1): the body oversees it) counts the
 * same way. A member's training counts from the member's own APPROVE in a
 * MANAGEMENT_TRAINING campaign, for that campaign's validForDays. Only
 * members in office now are listed.
 */
#include "governance.h"

#include "attest.h"
#include "ids.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

#define BASIS_APPROVAL "NIS2 Art 20(1)"
#define BASIS_TRAINING "NIS2 Art 20(2)"

/* clang-format off */
/* Every fact in one snapshot: rows tagged now, member, training, approval,
 * due and attestations, with two texts, two times and two counts. */
static const bw_db_stmt_t stmt_facts = {
    "governance_facts",
    "SELECT 'now', '', '', " BW_ATTEST_US("now()") ", NULL::bigint, 0, 0 "
    "UNION ALL "
    "SELECT 'member', member_id::text, name, NULL, NULL, 0, 0 FROM attestations.board_members "
    " WHERE entity_id = $1 AND since <= now() AND (until IS NULL OR until > now()) "
    "UNION ALL "
    "SELECT 'training', t.member_id::text, t.campaign_id::text, " BW_ATTEST_US("t.recorded_at")
    ", " BW_ATTEST_US("t.valid_until") ", t.on_behalf::int, 0 FROM ("
    " SELECT DISTINCT ON (r.member_id) r.member_id, r.campaign_id, r.recorded_at, r.on_behalf, "
    "  r.recorded_at + c.valid_for_days * interval '1 day' AS valid_until "
    " FROM attestations.records r JOIN attestations.campaigns c "
    "  ON c.tenant_id = r.tenant_id AND c.campaign_id = r.campaign_id "
    " WHERE r.entity_id = $1 AND r.kind = 'MANAGEMENT_TRAINING' AND r.decision = 'APPROVE' "
    " ORDER BY r.member_id, valid_until DESC) t "
    "UNION ALL "
    "(SELECT 'approval', '', t.campaign_id::text, " BW_ATTEST_US("t.approved_at") ", "
    BW_ATTEST_US("t.approved_at + t.valid_for_days * interval '1 day'") ", t.approvals, "
    " (SELECT count(*)::int FROM attestations.records r WHERE r.tenant_id = t.tenant_id "
    "  AND r.campaign_id = t.campaign_id AND r.decision = 'APPROVE' AND r.on_behalf) "
    " FROM attestations.campaign_tallies t "
    " WHERE t.entity_id = $1 AND t.kind = 'RISK_MEASURES_APPROVAL' AND t.approved_at IS NOT NULL "
    " ORDER BY t.approved_at DESC LIMIT 1) "
    "UNION ALL "
    "(SELECT 'oversight', '', t.campaign_id::text, " BW_ATTEST_US("t.approved_at") ", "
    BW_ATTEST_US("t.approved_at + t.valid_for_days * interval '1 day'") ", t.approvals, "
    " (SELECT count(*)::int FROM attestations.records r WHERE r.tenant_id = t.tenant_id "
    "  AND r.campaign_id = t.campaign_id AND r.decision = 'APPROVE' AND r.on_behalf) "
    " FROM attestations.campaign_tallies t "
    " WHERE t.entity_id = $1 AND t.kind = 'IMPLEMENTATION_OVERSIGHT' "
    " AND t.approved_at IS NOT NULL ORDER BY t.approved_at DESC LIMIT 1) "
    "UNION ALL "
    "SELECT 'due', kind, campaign_id::text, " BW_ATTEST_US("due_at") ", NULL, "
    " expected - approvals - rejections - abstentions, 0 FROM attestations.campaign_tallies "
    " WHERE entity_id = $1 AND due_at > now() AND expected > approvals + rejections + abstentions "
    "UNION ALL "
    "SELECT 'attestations', '', '', NULL, NULL, count(*)::int, "
    " (count(*) FILTER (WHERE on_behalf))::int FROM attestations.records WHERE entity_id = $1"};
/* clang-format on */

const bw_db_stmt_t *const bw_governance_stmts[] = {&stmt_facts};
const size_t bw_governance_n_stmts = sizeof(bw_governance_stmts) / sizeof(bw_governance_stmts[0]);

static int by_time(const void *a, const void *b)
{
    const Bulwark__Attestations__V1__GovernanceItem *x =
        *(Bulwark__Attestations__V1__GovernanceItem *const *)a;
    const Bulwark__Attestations__V1__GovernanceItem *y =
        *(Bulwark__Attestations__V1__GovernanceItem *const *)b;
    long long tx = bw_attest_us(x->at);
    long long ty = bw_attest_us(y->at);
    if (tx != ty)
        return (tx > ty) - (tx < ty);
    return (x->kind > y->kind) - (x->kind < y->kind);
}

static Bulwark__Attestations__V1__GovernanceItem *
new_item(bw_arena_t *arena, Bulwark__Attestations__V1__GovernanceItem__Kind kind, long long at,
         const char *campaign, const char *member, const char *summary)
{
    Bulwark__Attestations__V1__GovernanceItem *it = bw_arena_alloc(arena, sizeof(*it));
    if (it == NULL)
        return NULL;
    bulwark__attestations__v1__governance_item__init(it);
    it->kind = kind;
    it->at = bw_store_timestamp_us(arena, at);
    it->campaign = (char *)(campaign != NULL ? campaign : "");
    it->member = (char *)(member != NULL ? member : "");
    it->summary = (char *)summary;
    return it->at != NULL && summary != NULL ? it : NULL;
}

static const char *kind_label(const char *kind)
{
    if (strcmp(kind, "RISK_MEASURES_APPROVAL") == 0)
        return "approval of the risk-management measures (" BASIS_APPROVAL ")";
    if (strcmp(kind, "MANAGEMENT_TRAINING") == 0)
        return "management training (" BASIS_TRAINING ")";
    if (strcmp(kind, "IMPLEMENTATION_OVERSIGHT") == 0)
        return "review of the measures' implementation (" BASIS_APPROVAL ")";
    return "policy approval";
}

static int by_member(const void *a, const void *b)
{
    return strcmp((*(const bw_gov_training_t *const *)a)->member,
                  (*(const bw_gov_training_t *const *)b)->member);
}

/* The training of member in sorted (n of them, by member), or NULL: a
 * binary search, so a board of any size costs n log n, not members x
 * trainings. */
static const bw_gov_training_t *training_of(const bw_gov_training_t *const *sorted, size_t n,
                                            const char *member)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sorted[mid]->member, member) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(sorted[lo]->member, member) == 0 ? sorted[lo] : NULL;
}

int bw_governance_compute(bw_arena_t *arena, const char *entity, const bw_gov_input_t *in,
                          Bulwark__Attestations__V1__Governance **out)
{
    Bulwark__Attestations__V1__Governance *g = bw_arena_alloc(arena, sizeof(*g));
    Bulwark__Attestations__V1__MeasuresApproval *ma = bw_arena_alloc(arena, sizeof(*ma));
    Bulwark__Attestations__V1__ImplementationOversight *ov = bw_arena_alloc(arena, sizeof(*ov));
    size_t max_items = 2 + in->n_members + in->n_dues;
    Bulwark__Attestations__V1__GovernanceItem **items =
        bw_arena_calloc(arena, max_items, sizeof(*items));
    Bulwark__Attestations__V1__MemberTraining **training =
        bw_arena_calloc(arena, in->n_members + 1, sizeof(*training));
    if (g == NULL || ma == NULL || ov == NULL || items == NULL || training == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__governance__init(g);
    bulwark__attestations__v1__measures_approval__init(ma);
    bulwark__attestations__v1__implementation_oversight__init(ov);
    g->oversight = ov;
    g->entity = (char *)entity;
    g->as_of = bw_store_timestamp_us(arena, in->now_us);
    g->measures_approval = ma;
    g->members_in_office = (int32_t)in->n_members;
    g->attestations = in->attestations;
    g->on_behalf_attestations = in->on_behalf_attestations;
    size_t n_items = 0;

    ma->basis = BASIS_APPROVAL;
    if (in->approval_campaign != NULL) {
        ma->campaign = (char *)in->approval_campaign;
        ma->approved_at = bw_store_timestamp_us(arena, in->approval_at_us);
        ma->valid_until = bw_store_timestamp_us(arena, in->approval_until_us);
        ma->current = in->approval_until_us > in->now_us;
        ma->approvals = in->approvals;
        ma->on_behalf_approvals = in->on_behalf_approvals;
        if (ma->current &&
            (items[n_items++] = new_item(
                 arena, BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__MEASURES_APPROVAL_EXPIRES,
                 in->approval_until_us, in->approval_campaign, NULL,
                 "the approval of the risk-management measures expires (" BASIS_APPROVAL ")")) ==
                NULL)
            return BW_ENOMEM;
    }

    /* Art 20(1) also has the body oversee the implementation: approving the
     * measures once is not enough. */
    ov->basis = BASIS_APPROVAL;
    if (in->oversight_campaign != NULL) {
        ov->campaign = (char *)in->oversight_campaign;
        ov->reviewed_at = bw_store_timestamp_us(arena, in->oversight_at_us);
        ov->valid_until = bw_store_timestamp_us(arena, in->oversight_until_us);
        ov->current = in->oversight_until_us > in->now_us;
        ov->confirmations = in->oversight_confirmations;
        ov->on_behalf_confirmations = in->on_behalf_oversight_confirmations;
        if (ov->current &&
            (items[n_items++] = new_item(
                 arena, BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__OVERSIGHT_EXPIRES,
                 in->oversight_until_us, in->oversight_campaign, NULL,
                 "the management body's review of the measures' implementation expires "
                 "(" BASIS_APPROVAL ")")) == NULL)
            return BW_ENOMEM;
    }

    const bw_gov_training_t **sorted = bw_arena_calloc(arena, in->n_trainings + 1, sizeof(*sorted));
    if (sorted == NULL)
        return BW_ENOMEM;
    for (size_t j = 0; j < in->n_trainings; j++)
        sorted[j] = &in->trainings[j];
    qsort(sorted, in->n_trainings, sizeof(*sorted), by_member);
    int all_trained = 1;
    for (size_t i = 0; i < in->n_members; i++) {
        const bw_gov_member_t *m = &in->members[i];
        Bulwark__Attestations__V1__MemberTraining *t = bw_arena_alloc(arena, sizeof(*t));
        if (t == NULL)
            return BW_ENOMEM;
        bulwark__attestations__v1__member_training__init(t);
        t->member = (char *)m->id;
        t->name = (char *)m->name;
        const bw_gov_training_t *tr = training_of(sorted, in->n_trainings, m->id);
        if (tr != NULL) {
            t->campaign = (char *)tr->campaign;
            t->trained_at = bw_store_timestamp_us(arena, tr->at_us);
            t->valid_until = bw_store_timestamp_us(arena, tr->until_us);
            t->current = tr->until_us > in->now_us;
            t->on_behalf = tr->on_behalf;
            if (t->current) {
                char *summary = bw_arena_printf(
                    arena, "the training of %s expires (" BASIS_TRAINING ")", m->name);
                if ((items[n_items++] = new_item(
                         arena, BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__TRAINING_EXPIRES,
                         tr->until_us, tr->campaign, m->id, summary)) == NULL)
                    return BW_ENOMEM;
            }
        }
        all_trained &= t->current;
        training[i] = t;
    }
    g->training = training;
    g->n_training = in->n_members;
    g->training_current = all_trained;
    g->compliant = ma->current && ov->current && all_trained && in->n_members > 0;

    for (size_t i = 0; i < in->n_dues; i++) {
        const bw_gov_due_t *d = &in->dues[i];
        char *summary =
            bw_arena_printf(arena, "%s: %d member%s still to attest", kind_label(d->kind),
                            d->pending, d->pending == 1 ? "" : "s");
        if ((items[n_items++] =
                 new_item(arena, BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__CAMPAIGN_DUE,
                          d->at_us, d->campaign, NULL, summary)) == NULL)
            return BW_ENOMEM;
    }
    qsort(items, n_items, sizeof(*items), by_time);
    g->upcoming = items;
    g->n_upcoming = n_items;
    *out = g;
    return 0;
}

int bw_governance_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__GetGovernanceRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    if (!bw_uuid_valid(req->entity))
        return bw_attest_entity_check(call, req->entity, NULL);
    const char *entity = req->entity;
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_facts, 1, &entity,
                      &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res);
    bw_gov_member_t *members = bw_arena_calloc(call->arena, (size_t)rows + 1, sizeof(*members));
    bw_gov_training_t *trainings =
        bw_arena_calloc(call->arena, (size_t)rows + 1, sizeof(*trainings));
    bw_gov_due_t *dues = bw_arena_calloc(call->arena, (size_t)rows + 1, sizeof(*dues));
    if (members == NULL || trainings == NULL || dues == NULL)
        return BW_ENOMEM;
    bw_gov_input_t in = {.members = members, .trainings = trainings, .dues = dues};
    bw_arena_t *a = call->arena;
    for (int i = 0; i < rows; i++) {
        const char *tag = bw_store_text(res, i, 0);
        const char *t1 = bw_store_strdup(a, res, i, 1), *t2 = bw_store_strdup(a, res, i, 2);
        long long at = bw_store_int(res, i, 3), until = bw_store_int(res, i, 4);
        int count = (int)bw_store_int(res, i, 5), count2 = (int)bw_store_int(res, i, 6);
        if (t1 == NULL || t2 == NULL)
            return BW_ENOMEM;
        if (strcmp(tag, "now") == 0) {
            in.now_us = at;
        } else if (strcmp(tag, "member") == 0) {
            members[in.n_members++] = (bw_gov_member_t){t1, t2};
        } else if (strcmp(tag, "training") == 0) {
            trainings[in.n_trainings++] = (bw_gov_training_t){t1, t2, at, until, count != 0};
        } else if (strcmp(tag, "approval") == 0) {
            in.approval_campaign = t2;
            in.approval_at_us = at;
            in.approval_until_us = until;
            in.approvals = count;
            in.on_behalf_approvals = count2;
        } else if (strcmp(tag, "oversight") == 0) {
            in.oversight_campaign = t2;
            in.oversight_at_us = at;
            in.oversight_until_us = until;
            in.oversight_confirmations = count;
            in.on_behalf_oversight_confirmations = count2;
        } else if (strcmp(tag, "due") == 0) {
            dues[in.n_dues++] = (bw_gov_due_t){t2, t1, at, count};
        } else if (strcmp(tag, "attestations") == 0) {
            in.attestations = count;
            in.on_behalf_attestations = count2;
        }
    }
    /* Nothing at all recorded: scoping tells an empty entity from none. */
    if (in.n_members == 0 && in.n_trainings == 0 && in.approval_campaign == NULL &&
        in.oversight_campaign == NULL && in.n_dues == 0 && in.attestations == 0 &&
        (err = bw_attest_entity_check(call, entity, NULL)) != 0)
        return err;
    Bulwark__Attestations__V1__Governance *g;
    if ((err = bw_governance_compute(a, entity, &in, &g)) != 0)
        return err;
    *resp = &g->base;
    return 0;
}
