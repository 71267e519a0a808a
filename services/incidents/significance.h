/*
 * Whether an incident is significant: for the entity types Commission
 * Implementing Regulation (EU) 2024/2690 covers, the general criteria of its
 * Art 3(1) (with the recurring incidents of Art 4 and the
 * scheduled-maintenance exclusion of Art 3(2)) and the entity-type criteria
 * of Art 5-14; for the others, NIS2 Art 23(3) itself, undetermined until its
 * questions are answered. Each fired criterion is named with its article.
 * Which types the Regulation covers, and which of its articles, is the
 * scoping service's catalogue's to say: the handler asks it, the
 * computation takes the answer as input.
 */
#ifndef BW_INCIDENTS_SIGNIFICANCE_H
#define BW_INCIDENTS_SIGNIFICANCE_H

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "rpc.h"
#include "scoping_client.h"

/* Entity types one assessment may name. */
#define BW_SIGNIFICANCE_MAX_TYPES 64

/* Checks the request (borrowed): entity-type codes well formed, amounts and
 * counts not negative and within bounds, user counts not above the users in
 * the Union, answers YES, NO or none. Adds one violation per problem;
 * BW_EINVAL if any, else 0. */
int bw_significance_validate(bw_call_t *call,
                             const Bulwark__Incidents__V1__AssessSignificanceRequest *req);

/* The assessment of a validated request whose entity types the catalogue
 * knows, allocated on arena (caller owns the arena; *out lives as long).
 * types[i] describes req->entity_types[i] (borrowed). BW_ENOMEM. */
int bw_significance_assess(bw_arena_t *arena,
                           const Bulwark__Incidents__V1__AssessSignificanceRequest *req,
                           const bw_entity_type_info_t *types,
                           Bulwark__Incidents__V1__SignificanceAssessment **out);

/* The AssessSignificance handler: validate, then assess. */
bw_rpc_handler_func_t bw_significance_handle;

#endif
