/*
 * Validation of the facts an entity carries (or an assessment is given):
 * activities, size figures, public administration, Member State, time zone.
 * Violations are reported on the call with the JSON path the client used.
 */
#ifndef BW_SCOPING_FACTS_H
#define BW_SCOPING_FACTS_H

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "rpc.h"

/* Whether tz is an IANA time zone id known to the system's zone data
 * (through ICU). "UTC" and "Etc/UTC" are valid; abbreviations like "CEST"
 * and custom offsets like "GMT+1" are not. */
int bw_scoping_valid_time_zone(const char *tz);
/* Whether code is an EU Member State (ISO 3166-1 alpha-2; Greece as EL or GR). */
int bw_scoping_valid_member_state(const char *code);

/* Checks every field of e (borrowed), the whole entity as it would be stored
 * (after merging a PATCH). Adds one violation per problem and returns
 * BW_EINVAL if there was any, else 0. */
int bw_scoping_validate_entity(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e);

#endif
