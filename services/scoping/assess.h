/*
 * The scoping RPCs: the entity-type catalogue, the stateless assessment of
 * facts, and the classification of a stored entity.
 */
#ifndef BW_SCOPING_ASSESS_H
#define BW_SCOPING_ASSESS_H

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "rpc.h"

/* ListEntityTypes: the whole catalogue, no database. */
bw_rpc_handler_func_t bw_assess_list_entity_types;
/* Assess: validates the facts of an AssessRequest and evaluates them; pure
 * computation, no database. */
bw_rpc_handler_func_t bw_assess_assess;
/* GetEntityClassification: loads the entity (bw_entities_load) and evaluates
 * its facts exactly as Assess would. Stored facts that no longer pass the
 * checks (say, a code from before the catalogue) answer FAILED_PRECONDITION
 * with reason ENTITY_FACTS_INVALID and the violations. */
bw_rpc_handler_func_t bw_assess_get_entity_classification;

/* The applicability of a stored entity (GetEntity with view FULL): its facts
 * evaluated as GetEntityClassification evaluates them, *out on the call's
 * arena. Facts that no longer pass the checks fail the call as there
 * (FAILED_PRECONDITION, ENTITY_FACTS_INVALID). */
int bw_assess_applicability(bw_call_t *call, const Bulwark__Scoping__V1__Entity *entity,
                            Bulwark__Scoping__V1__Applicability **out);

/* ListMemberStateProfiles: every profile loaded, in order of code. */
bw_rpc_handler_func_t bw_assess_list_member_state_profiles;
/* GetMemberStateProfile: one profile by code; NOT_FOUND (PROFILE_NOT_FOUND)
 * for a code without one. */
bw_rpc_handler_func_t bw_assess_get_member_state_profile;

#endif
