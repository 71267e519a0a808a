/*
 * Whether an incident is significant under Commission Implementing
 * Regulation (EU) 2024/2690: the general criteria of its Art 3(1) (with the
 * recurring incidents of Art 4 and the scheduled-maintenance exclusion of
 * Art 3(2)) and the entity-type criteria of Art 5-14, each fired criterion
 * named with its article. Pure computation on the request's facts.
 */
#ifndef BW_INCIDENTS_SIGNIFICANCE_H
#define BW_INCIDENTS_SIGNIFICANCE_H

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "rpc.h"

/* Entity types one assessment may name. */
#define BW_SIGNIFICANCE_MAX_TYPES 64

/* Checks the request (borrowed): entity-type codes well formed, amounts and
 * counts not negative and within bounds, user counts not above the users in
 * the Union. Adds one violation per problem; BW_EINVAL if any, else 0. */
int bw_significance_validate(bw_call_t *call,
                             const Bulwark__Incidents__V1__AssessSignificanceRequest *req);

/* The assessment of a validated request, allocated on arena (caller owns the
 * arena; *out lives as long). BW_ENOMEM. */
int bw_significance_assess(bw_arena_t *arena,
                           const Bulwark__Incidents__V1__AssessSignificanceRequest *req,
                           Bulwark__Incidents__V1__SignificanceAssessment **out);

/* Whether code is a relevant entity type of IR 2024/2690 Art 1 (the types
 * Art 5-14 cover). */
int bw_significance_relevant_type(const char *code);

/* The AssessSignificance handler: validate, then assess. */
int bw_significance_handle(bw_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **resp);

#endif
