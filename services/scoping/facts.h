/*
 * Validation of the facts an entity carries (or an assessment is given):
 * activities, size figures, public administration, Member State, time zone.
 * Violations are reported on the call with the JSON path the client used.
 */
#ifndef BW_SCOPING_FACTS_H
#define BW_SCOPING_FACTS_H

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "rpc.h"

struct bw_profiles;

/* At most this many activities per entity or assessment. */
#define BW_SCOPING_MAX_ACTIVITIES 64
/* At most this many linked, and this many partner, enterprises. */
#define BW_SCOPING_MAX_ENTERPRISES 1000
/* At most this many accounting periods before the previous one. */
#define BW_SCOPING_MAX_EARLIER_PERIODS 20

/* The facts the scoping rules read, whether they come from a stored Entity or
 * an AssessRequest, and the Member State profiles they may name. Every
 * pointer is borrowed from the message it was taken from; the blocks are
 * NULL when absent, and profiles is NULL when none are known. */
typedef struct bw_scoping_facts {
    Bulwark__Scoping__V1__Activity *const *activities;
    size_t n_activities;
    const Bulwark__Scoping__V1__Size *size;
    const Bulwark__Scoping__V1__PublicAdministration *public_administration;
    const Bulwark__Scoping__V1__MemberState *member_state;
    const struct bw_profiles *profiles;
} bw_scoping_facts_t;

/* Fill *out with the facts of e or r and the profiles (all borrowed; profiles
 * may be NULL). */
void bw_scoping_facts_of_entity(const Bulwark__Scoping__V1__Entity *e,
                                const struct bw_profiles *profiles, bw_scoping_facts_t *out);
void bw_scoping_facts_of_request(const Bulwark__Scoping__V1__AssessRequest *r,
                                 const struct bw_profiles *profiles, bw_scoping_facts_t *out);

/* Whether tz is an IANA time zone id known to the system's zone data
 * (through ICU). "UTC" and "Etc/UTC" are valid; abbreviations like "CEST"
 * and custom offsets like "GMT+1" are not. */
int bw_scoping_valid_time_zone(const char *tz);
/* Whether code is an EU Member State (ISO 3166-1 alpha-2; Greece as EL or GR). */
int bw_scoping_valid_member_state(const char *code);

/* Checks the facts f (borrowed): entity-type codes of the catalogue, figures
 * and holdings in range, and flags that do not contradict each other or the
 * entity type they are set on. Adds one violation per problem and returns
 * BW_EINVAL if there was any, else 0. */
int bw_scoping_validate_facts(bw_call_t *call, const bw_scoping_facts_t *f);

/* Checks every field of e (borrowed), the whole entity as it would be stored
 * (after merging a PATCH): name, time zone, parent and the facts, with the
 * profiles known (borrowed, may be NULL). Adds one violation per problem and
 * returns BW_EINVAL if there was any, else 0. */
int bw_scoping_validate_entity(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e,
                               const struct bw_profiles *profiles);

#endif
