/*
 * The entity check of the crosswalk service; see scoping.h.
 */
#include "scoping.h"

#include "ids.h"
#include "status.h"

/* GetEntity of entity, basic or full; *info filled on success. */
static int lookup(bw_scoping_client_t *scoping, bw_call_t *call, const char *entity, int full,
                  bw_entity_info_t *info)
{
    if (!bw_uuid_valid(entity) || call->tenant_id == NULL)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", entity);
    int err = full ? bw_scoping_client_entity_full(scoping, call, entity, info)
                   : bw_scoping_client_entity(scoping, call, entity, info);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", entity);
    if (err == BW_EUNAVAIL)
        return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                            "the scoping service is unavailable; retry later");
    if (err == BW_EPRECOND)
        return bw_call_fail(call, BW_EPRECOND, "ENTITY_FACTS_INVALID",
                            "the stored facts of entity %s no longer pass the scoping checks, so "
                            "what applies to it cannot be decided; its classification names the "
                            "fields to correct",
                            entity);
    return err;
}

int bw_cw_scoping_check_entity(bw_scoping_client_t *scoping, bw_call_t *call, const char *entity)
{
    bw_entity_info_t info;
    return lookup(scoping, call, entity, 0, &info);
}

int bw_cw_scoping_applicability(bw_scoping_client_t *scoping, bw_call_t *call, const char *entity,
                                const Bulwark__Scoping__V1__Applicability **out)
{
    bw_entity_info_t info;
    int err = lookup(scoping, call, entity, 1, &info);
    if (err == 0)
        *out = info.applicability;
    return err;
}
