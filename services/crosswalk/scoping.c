/*
 * The entity check of the crosswalk service; see scoping.h.
 */
#include "scoping.h"

#include "ids.h"
#include "status.h"

int bw_cw_scoping_check_entity(bw_scoping_client_t *scoping, bw_call_t *call, const char *entity)
{
    if (!bw_uuid_valid(entity) || call->tenant_id == NULL)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", entity);
    bw_entity_info_t info;
    int err = bw_scoping_client_entity(scoping, call, entity, &info);
    if (err == BW_ENOTFOUND)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", entity);
    if (err == BW_EUNAVAIL)
        return bw_call_fail(call, BW_EUNAVAIL, "BACKEND_UNAVAILABLE",
                            "the scoping service is unavailable");
    return err;
}
