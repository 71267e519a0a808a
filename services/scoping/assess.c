/*
 * The scoping RPC handlers. They only adapt: check the facts with facts.c,
 * run rules.c and hand back what it built on the call's arena. Assess and
 * ListEntityTypes never touch the database, so they cost a few microseconds
 * and no connection.
 */
#include "assess.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"

#include "catalogue.h"
#include "entities.h"
#include "facts.h"
#include "rules.h"
#include "status.h"

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
    bw_scoping_facts_of_request(req, &facts);
    int err = bw_scoping_validate_facts(call, &facts);
    if (err != 0)
        return err;
    return evaluate(call, &facts, resp);
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
    bw_scoping_facts_of_entity(entity, &facts);
    if (bw_scoping_validate_facts(call, &facts) != 0)
        return bw_call_fail(call, BW_EPRECOND, "ENTITY_FACTS_INVALID",
                            "the stored facts of entity %s no longer pass the checks; update "
                            "the fields named",
                            req->entity);
    return evaluate(call, &facts, resp);
}
