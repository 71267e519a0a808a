/*
 * The scoping RPC handlers. They only adapt: check the facts with facts.c,
 * run rules.c and hand back what it built on the call's arena. Assess,
 * ListEntityTypes and the Member State profiles never touch the database, so
 * they cost a few microseconds and no connection. The profiles are the
 * service's data (bw_service_data), loaded once at start-up.
 */
#include "assess.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"

#include "catalogue.h"
#include "entities.h"
#include "facts.h"
#include "profiles.h"
#include "rules.h"
#include "service.h"
#include "status.h"

#include <string.h>

static const bw_profiles_t *profiles_of(const bw_call_t *call)
{
    return bw_service_data(call);
}

int bw_assess_list_entity_types(bw_call_t *call, const ProtobufCMessage *request,
                                ProtobufCMessage **resp)
{
    (void)request;
    size_t n;
    const bw_catalogue_entry_t *entries = bw_catalogue_entries(&n);
    Bulwark__Scoping__V1__ListEntityTypesResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    Bulwark__Scoping__V1__EntityType *types = bw_arena_calloc(call->arena, n, sizeof(*types));
    Bulwark__Scoping__V1__EntityType **ptrs = bw_arena_calloc(call->arena, n, sizeof(*ptrs));
    if (out == NULL || types == NULL || ptrs == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__list_entity_types_response__init(out);
    for (size_t i = 0; i < n; i++) {
        const bw_catalogue_entry_t *e = &entries[i];
        Bulwark__Scoping__V1__EntityType *t = &types[i];
        bulwark__scoping__v1__entity_type__init(t);
        /* The strings are static and only read while the reply is packed. */
        t->code = (char *)e->code;
        t->annex = e->annex;
        t->annex_point = (char *)e->annex_point;
        t->sector = (char *)e->sector;
        t->subsector = (char *)e->subsector;
        t->label = (char *)e->label;
        t->size_independent = (e->flags & BW_CAT_SIZE_INDEPENDENT) != 0;
        t->always_essential = (e->flags & BW_CAT_ALWAYS_ESSENTIAL) != 0;
        t->jurisdiction_rule = e->jurisdiction;
        t->implementing_regulation = (e->flags & BW_CAT_IR) != 0;
        t->implementing_regulation_article = e->ir_article;
        t->note = (char *)e->note;
        ptrs[i] = t;
    }
    out->entity_types = ptrs;
    out->n_entity_types = n;
    *resp = &out->base;
    return 0;
}

static int evaluate(bw_call_t *call, const bw_scoping_facts_t *facts, ProtobufCMessage **resp)
{
    Bulwark__Scoping__V1__Assessment *assessment;
    int err = bw_rules_assess(call->arena, facts, &assessment);
    if (err != 0)
        return err;
    *resp = &assessment->base;
    return 0;
}

int bw_assess_assess(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__AssessRequest *req = (const void *)request;
    bw_scoping_facts_t facts;
    bw_scoping_facts_of_request(req, profiles_of(call), &facts);
    int err = bw_scoping_validate_facts(call, &facts);
    if (err != 0)
        return err;
    return evaluate(call, &facts, resp);
}

/* The stored facts of entity, checked: a failure fails the call. */
static int stored_facts(bw_call_t *call, const Bulwark__Scoping__V1__Entity *entity,
                        bw_scoping_facts_t *facts)
{
    bw_scoping_facts_of_entity(entity, profiles_of(call), facts);
    if (bw_scoping_validate_facts(call, facts) != 0)
        return bw_call_fail(call, BW_EPRECOND, "ENTITY_FACTS_INVALID",
                            "the stored facts of entity %s no longer pass the checks; update "
                            "the fields named",
                            entity->id);
    return 0;
}

int bw_assess_applicability(bw_call_t *call, const Bulwark__Scoping__V1__Entity *entity,
                            Bulwark__Scoping__V1__Applicability **out)
{
    bw_scoping_facts_t facts;
    int err = stored_facts(call, entity, &facts);
    return err != 0 ? err : bw_rules_applicability(call->arena, &facts, out);
}

int bw_assess_get_entity_classification(bw_call_t *call, const ProtobufCMessage *request,
                                        ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__GetEntityClassificationRequest *req = (const void *)request;
    Bulwark__Scoping__V1__Entity *entity;
    int err = bw_entities_load(call, req->entity, &entity);
    if (err != 0)
        return err;
    bw_scoping_facts_t facts;
    if ((err = stored_facts(call, entity, &facts)) != 0)
        return err;
    return evaluate(call, &facts, resp);
}

int bw_assess_list_member_state_profiles(bw_call_t *call, const ProtobufCMessage *request,
                                         ProtobufCMessage **resp)
{
    (void)request;
    const bw_profiles_t *profiles = profiles_of(call);
    size_t n = bw_profiles_count(profiles);
    Bulwark__Scoping__V1__ListMemberStateProfilesResponse *out =
        bw_arena_alloc(call->arena, sizeof(*out));
    Bulwark__Scoping__V1__MemberStateProfile **items =
        bw_arena_calloc(call->arena, n + 1, sizeof(*items));
    if (out == NULL || items == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__list_member_state_profiles_response__init(out);
    /* The profiles are immutable and outlive the call; packing only reads. */
    for (size_t i = 0; i < n; i++)
        items[i] = (Bulwark__Scoping__V1__MemberStateProfile *)bw_profiles_at(profiles, i);
    out->member_state_profiles = items;
    out->n_member_state_profiles = n;
    *resp = &out->base;
    return 0;
}

int bw_assess_get_member_state_profile(bw_call_t *call, const ProtobufCMessage *request,
                                       ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__GetMemberStateProfileRequest *req = (const void *)request;
    const bw_profiles_t *profiles = profiles_of(call);
    const bw_profile_t *p = bw_profiles_find(profiles, req->code);
    if (p == NULL)
        return bw_call_fail(call, BW_ENOTFOUND, "PROFILE_NOT_FOUND",
                            "no Member State profile \"%.8s\"; profiles exist for %s", req->code,
                            bw_profiles_codes(profiles));
    *resp = (ProtobufCMessage *)&p->base;
    return 0;
}
