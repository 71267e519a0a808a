/*
 * Checks of entity facts. Each check names the offending field by the JSON
 * path the client wrote, so the gateway can answer 400 naming it. The same
 * checks serve a stored entity and a stateless assessment, so that the rules
 * only ever see facts that make sense together: codes of the catalogue,
 * figures in range, and no flag set where the law gives it no meaning.
 */
#include "facts.h"

#include "catalogue.h"
#include "ids.h"
#include "profiles.h"
#include "status.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define NAME_MAX_LEN 200

static const char *const member_states[] = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "GR", "HU",
    "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
};

int bw_scoping_valid_member_state(const char *code)
{
    for (size_t i = 0; i < sizeof(member_states) / sizeof(member_states[0]); i++)
        if (strcmp(code, member_states[i]) == 0)
            return 1;
    return 0;
}

int bw_scoping_valid_time_zone(const char *tz)
{
    UChar id[128], canonical[128];
    size_t n = strlen(tz);
    if (n == 0 || n >= sizeof(id) / sizeof(id[0]))
        return 0;
    /* ICU also knows abbreviations and custom "GMT+1" ids; IANA ids are
     * ASCII letters, digits and "/_+-" with no spaces. */
    for (size_t i = 0; i < n; i++) {
        char c = tz[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '-'))
            return 0;
    }
    u_uastrcpy(id, tz);
    UErrorCode status = U_ZERO_ERROR;
    UBool system_id = 0;
    ucal_getCanonicalTimeZoneID(id, (int32_t)n, canonical, 128, &system_id, &status);
    if (U_FAILURE(status) || !system_id)
        return 0;
    /* Three- and four-letter abbreviations (CET, EST, CEST) are ICU system
     * ids but not locations; accept only ids with a region, and UTC. */
    return strchr(tz, '/') != NULL || strcmp(tz, "UTC") == 0;
}

static int check_figures(bw_call_t *call, const char *path, double staff, int64_t turnover,
                         int64_t balance)
{
    int bad = 0;
    if (!isfinite(staff) || staff < 0)
        bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sstaffHeadcount", path),
                                 "must be zero or more annual work units") != 0;
    if (turnover < 0)
        bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sannualTurnoverEur", path),
                                 "must not be negative") != 0;
    if (balance < 0)
        bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sbalanceSheetTotalEur", path),
                                 "must not be negative") != 0;
    return bad;
}

#define INVESTOR(x) BULWARK__SCOPING__V1__PARTNER_ENTERPRISE__INVESTOR_EXCEPTION__##x

/* One figure an Annex Art 3(2) threshold needs: only with its category
 * (owner), required there, never negative. */
static int check_investor_figure(bw_call_t *call, const char *path, const char *name, int64_t value,
                                 int owner, const char *category, const char *required)
{
    const char *field = bw_arena_printf(call->arena, "%s%s", path, name);
    if (value < 0)
        return bw_call_violation(call, field, "must not be negative") != 0;
    if (!owner && value != 0)
        return bw_call_violation(call, field, "applies only with investorException %s", category) !=
               0;
    if (owner && value == 0)
        return bw_call_violation(call, field, "is required with investorException %s: %s", category,
                                 required) != 0;
    return 0;
}

/* The Annex Art 3(2) investor exception and the figures its thresholds need. */
static int check_investor(bw_call_t *call, const char *path,
                          const Bulwark__Scoping__V1__PartnerEnterprise *p)
{
    if ((unsigned)p->investor_exception > INVESTOR(AUTONOMOUS_LOCAL_AUTHORITY))
        return bw_call_violation(call, bw_arena_printf(call->arena, "%sinvestorException", path),
                                 "is not an investor category") != 0;
    int angel = p->investor_exception == INVESTOR(BUSINESS_ANGEL);
    int local = p->investor_exception == INVESTOR(AUTONOMOUS_LOCAL_AUTHORITY);
    int bad = check_investor_figure(call, path, "businessAngelInvestmentEur",
                                    p->business_angel_investment_eur, angel, "BUSINESS_ANGEL",
                                    "the exception holds only while the business angels' total "
                                    "investment is below EUR 1,250,000 (Recommendation 2003/361 "
                                    "Annex Art 3(2)(a))");
    bad |= check_investor_figure(call, path, "localAuthorityBudgetEur",
                                 p->local_authority_budget_eur, local, "AUTONOMOUS_LOCAL_AUTHORITY",
                                 "the exception holds only below EUR 10 million a year "
                                 "(Recommendation 2003/361 Annex Art 3(2)(d))");
    bad |=
        check_investor_figure(call, path, "localAuthorityInhabitants",
                              p->local_authority_inhabitants, local, "AUTONOMOUS_LOCAL_AUTHORITY",
                              "the exception holds only below 5,000 inhabitants "
                              "(Recommendation 2003/361 Annex Art 3(2)(d))");
    return bad;
}

/* The accounting periods before the previous one (Annex Art 4(2)). */
static int check_earlier_periods(bw_call_t *call, const Bulwark__Scoping__V1__Size *s)
{
    int bad = 0;
    if (s->n_earlier_periods > BW_SCOPING_MAX_EARLIER_PERIODS)
        return bw_call_violation(call, "size.earlierPeriods", "must have at most %d entries",
                                 BW_SCOPING_MAX_EARLIER_PERIODS) != 0;
    if (s->newly_established)
        bad |=
            bw_call_violation(call, "size.earlierPeriods",
                              "a newly established enterprise has no earlier accounting periods: "
                              "it is sized on its estimates (Recommendation 2003/361 Annex Art "
                              "4(3))") != 0;
    else if (s->previous_period == NULL)
        bad |= bw_call_violation(call, "size.earlierPeriods",
                                 "come before size.previousPeriod, oldest first: give the "
                                 "previous period too") != 0;
    for (size_t i = 0; i < s->n_earlier_periods; i++) {
        const Bulwark__Scoping__V1__SizeFigures *f = s->earlier_periods[i];
        const char *path = bw_arena_printf(call->arena, "size.earlierPeriods[%zu].", i);
        bad |= check_figures(call, path, f->staff_headcount, f->annual_turnover_eur,
                             f->balance_sheet_total_eur);
    }
    return bad;
}

static int check_size(bw_call_t *call, const Bulwark__Scoping__V1__Size *s)
{
    int bad = check_figures(call, "size.", s->staff_headcount, s->annual_turnover_eur,
                            s->balance_sheet_total_eur);
    if (s->previous_period != NULL) {
        bad |= check_figures(call, "size.previousPeriod.", s->previous_period->staff_headcount,
                             s->previous_period->annual_turnover_eur,
                             s->previous_period->balance_sheet_total_eur);
        if (s->newly_established)
            bad |= bw_call_violation(call, "size.previousPeriod",
                                     "a newly established enterprise has no previous accounting "
                                     "period: it is sized on its estimates (Recommendation "
                                     "2003/361 Annex Art 4(3))") != 0;
    }
    if (s->undertaking_worldwide_turnover_eur < 0)
        bad |= bw_call_violation(call, "size.undertakingWorldwideTurnoverEur",
                                 "must not be negative") != 0;
    if (s->n_linked_enterprises > BW_SCOPING_MAX_ENTERPRISES)
        bad |= bw_call_violation(call, "size.linkedEnterprises", "must have at most %d entries",
                                 BW_SCOPING_MAX_ENTERPRISES) != 0;
    if (s->n_partner_enterprises > BW_SCOPING_MAX_ENTERPRISES)
        bad |= bw_call_violation(call, "size.partnerEnterprises", "must have at most %d entries",
                                 BW_SCOPING_MAX_ENTERPRISES) != 0;
    for (size_t i = 0; i < s->n_linked_enterprises && i < BW_SCOPING_MAX_ENTERPRISES; i++) {
        const Bulwark__Scoping__V1__SizeFigures *f = s->linked_enterprises[i];
        const char *path = bw_arena_printf(call->arena, "size.linkedEnterprises[%zu].", i);
        bad |= check_figures(call, path, f->staff_headcount, f->annual_turnover_eur,
                             f->balance_sheet_total_eur);
    }
    for (size_t i = 0; i < s->n_partner_enterprises && i < BW_SCOPING_MAX_ENTERPRISES; i++) {
        const Bulwark__Scoping__V1__PartnerEnterprise *p = s->partner_enterprises[i];
        const char *path = bw_arena_printf(call->arena, "size.partnerEnterprises[%zu].", i);
        bad |= check_figures(call, path, p->staff_headcount, p->annual_turnover_eur,
                             p->balance_sheet_total_eur);
        if (!isfinite(p->holding_percent) || p->holding_percent < 0 || p->holding_percent > 100)
            bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sholdingPercent", path),
                                     "must be between 0 and 100") != 0;
        bad |= check_investor(call, path, p);
    }
    if (s->n_earlier_periods > 0)
        bad |= check_earlier_periods(call, s);
    return bad;
}

static const char *level_name(int level)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &bulwark__scoping__v1__public_administration__level__descriptor, level);
    return v != NULL ? v->name : "?";
}

/* The publicAdministration.level a public-administration entity type stands for. */
static int type_level(const bw_catalogue_entry_t *type)
{
    switch (type->kind) {
    case BW_CAT_PA_CENTRAL:
        return BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__CENTRAL;
    case BW_CAT_PA_REGIONAL:
        return BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__REGIONAL;
    case BW_CAT_PA_LOCAL:
        return BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__LOCAL;
    default:
        return BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__LEVEL_UNSPECIFIED;
    }
}

/* The flags of one activity that only make sense on some entity types. */
static int check_activity_flags(bw_call_t *call, size_t i, const Bulwark__Scoping__V1__Activity *a,
                                const bw_catalogue_entry_t *type)
{
    int bad = 0;
    if (a->qualified_trust_service && type->kind == BW_CAT_TSP_NON_QUALIFIED)
        bad |= bw_call_violation(
                   call, bw_arena_printf(call->arena, "activities[%zu].qualifiedTrustService", i),
                   "contradicts entityType %s; use digital_infra.tsp.qualified", type->code) != 0;
    else if (a->qualified_trust_service && !bw_catalogue_is_tsp(type))
        bad |= bw_call_violation(
                   call, bw_arena_printf(call->arena, "activities[%zu].qualifiedTrustService", i),
                   "applies only to trust service providers (digital_infra.tsp), not to %s",
                   type->code) != 0;
    if (a->retail_only && type->kind != BW_CAT_FOOD)
        bad |= bw_call_violation(
                   call, bw_arena_printf(call->arena, "activities[%zu].retailOnly", i),
                   "applies only to food.business (Annex II pt 4), not to %s", type->code) != 0;
    if (a->non_essential_part && !(type->flags & BW_CAT_NON_ESSENTIAL_PART))
        bad |= bw_call_violation(
                   call, bw_arena_printf(call->arena, "activities[%zu].nonEssentialPart", i),
                   "applies only to drinking_water.supplier_distributor, waste_water.operator and "
                   "transport.road.road_authority (Annex I pts 6, 7 and 2(d)), not to %s",
                   type->code) != 0;
    if (a->root_name_server && type->kind != BW_CAT_DNS)
        bad |= bw_call_violation(
                   call, bw_arena_printf(call->arena, "activities[%zu].rootNameServer", i),
                   "applies only to digital_infra.dns (Annex I pt 8), not to %s", type->code) != 0;
    return bad;
}

static int check_activities(bw_call_t *call, const bw_scoping_facts_t *f)
{
    int bad = 0;
    if (f->n_activities > BW_SCOPING_MAX_ACTIVITIES)
        return bw_call_violation(call, "activities", "must have at most %d entries",
                                 BW_SCOPING_MAX_ACTIVITIES) != 0;
    const Bulwark__Scoping__V1__PublicAdministration *pa = f->public_administration;
    int block_level = pa != NULL ? (int)pa->level : 0;
    int seen_level = 0;
    for (size_t i = 0; i < f->n_activities; i++) {
        const Bulwark__Scoping__V1__Activity *a = f->activities[i];
        const bw_catalogue_entry_t *type = bw_catalogue_find(a->entity_type);
        if (type == NULL) {
            bad |= bw_call_violation(
                       call, bw_arena_printf(call->arena, "activities[%zu].entityType", i),
                       "\"%.100s\" is not an entity type of the catalogue (GET /v1/entity-types), "
                       "such as digital_infra.dns",
                       a->entity_type) != 0;
            continue;
        }
        bad |= check_activity_flags(call, i, a, type);
        /* An entity is public administration at one level, whichever way it says so. */
        int level = type_level(type);
        if (level == 0)
            continue;
        if (block_level != 0 && level != block_level)
            bad |= bw_call_violation(call,
                                     bw_arena_printf(call->arena, "activities[%zu].entityType", i),
                                     "%s contradicts publicAdministration.level %s", type->code,
                                     level_name(block_level)) != 0;
        else if (seen_level != 0 && level != seen_level)
            bad |= bw_call_violation(
                       call, bw_arena_printf(call->arena, "activities[%zu].entityType", i),
                       "%s contradicts another activity: an entity is public administration at "
                       "one level only",
                       type->code) != 0;
        if (seen_level == 0)
            seen_level = level;
    }
    return bad;
}

static int check_public_administration(bw_call_t *call,
                                       const Bulwark__Scoping__V1__PublicAdministration *pa)
{
    int bad = 0;
    /* Binary clients can send any number; the JSON gateway only names. */
    if ((unsigned)pa->level > BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__LOCAL)
        bad |= bw_call_violation(call, "publicAdministration.level", "is not a level") != 0;
    if ((unsigned)pa->body > BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__CENTRAL_BANK)
        bad |= bw_call_violation(call, "publicAdministration.body", "is not a body") != 0;
    if ((unsigned)pa->excluded_domain >
        BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__EXCLUDED_DOMAIN__LAW_ENFORCEMENT)
        bad |=
            bw_call_violation(call, "publicAdministration.excludedDomain", "is not a domain") != 0;
    if (pa->risk_assessment_positive &&
        pa->level != BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__REGIONAL)
        bad |= bw_call_violation(call, "publicAdministration.riskAssessmentPositive",
                                 "applies only to level REGIONAL: the risk-based assessment of "
                                 "NIS2 Art 2(2)(f)(ii) is for regional public administration") != 0;
    return bad;
}

static int has_activity_of_kind(const bw_scoping_facts_t *f,
                                int (*pred)(const bw_catalogue_entry_t *))
{
    for (size_t i = 0; i < f->n_activities; i++) {
        const bw_catalogue_entry_t *type = bw_catalogue_find(f->activities[i]->entity_type);
        if (type != NULL && pred(type))
            return 1;
    }
    return 0;
}

static int is_credit_institution(const bw_catalogue_entry_t *t)
{
    return strcmp(t->code, "banking.credit_institution") == 0;
}

/* Whether m says the entity has an establishment in the Union. */
static int established_in_union(const Bulwark__Scoping__V1__MemberState *m)
{
    return m->establishment[0] != '\0' || m->main_establishment[0] != '\0' ||
           m->cybersecurity_decisions_in[0] != '\0' || m->cyber_operations_in[0] != '\0' ||
           m->largest_workforce_in[0] != '\0';
}

static int check_representative(bw_call_t *call, const Bulwark__Scoping__V1__MemberState *m)
{
    if (!bw_scoping_valid_member_state(m->representative))
        return bw_call_violation(call, "memberState.representative",
                                 "\"%s\" is not an EU Member State code", m->representative) != 0;
    if (established_in_union(m))
        return bw_call_violation(call, "memberState.representative",
                                 "only an entity without an establishment in the Union designates "
                                 "a representative (NIS2 Art 26(3)); the Member State facts name "
                                 "one") != 0;
    if (m->n_services_in == 0)
        return 0;
    for (size_t i = 0; i < m->n_services_in; i++)
        if (strcmp(m->services_in[i], m->representative) == 0)
            return 0;
    return bw_call_violation(call, "memberState.representative",
                             "must be established in one of the Member States of "
                             "memberState.servicesIn (NIS2 Art 26(3))") != 0;
}

static int check_member_state(bw_call_t *call, const bw_scoping_facts_t *f)
{
    const Bulwark__Scoping__V1__MemberState *m = f->member_state;
    int bad = 0;
    if (m->establishment[0] != '\0' && !bw_scoping_valid_member_state(m->establishment))
        bad |= bw_call_violation(call, "memberState.establishment",
                                 "\"%s\" is not an EU Member State code", m->establishment) != 0;
    if (m->main_establishment[0] != '\0' && !bw_scoping_valid_member_state(m->main_establishment))
        bad |=
            bw_call_violation(call, "memberState.mainEstablishment",
                              "\"%s\" is not an EU Member State code", m->main_establishment) != 0;
    /* Each Member State once: a list longer than there are is refused
     * before its items are compared with each other. */
    size_t n_states = sizeof(member_states) / sizeof(member_states[0]);
    if (m->n_services_in > n_states)
        bad |= bw_call_violation(call, "memberState.servicesIn",
                                 "lists %zu Member States: there are %zu, each to be listed once",
                                 m->n_services_in, n_states) != 0;
    for (size_t i = 0; i < m->n_services_in && m->n_services_in <= n_states; i++) {
        const char *field = bw_arena_printf(call->arena, "memberState.servicesIn[%zu]", i);
        if (!bw_scoping_valid_member_state(m->services_in[i])) {
            bad |= bw_call_violation(call, field, "\"%s\" is not an EU Member State code",
                                     m->services_in[i]) != 0;
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->services_in[k], m->services_in[i]) == 0) {
                bad |= bw_call_violation(call, field, "\"%s\" is listed twice",
                                         m->services_in[i]) != 0;
                break;
            }
    }
    if ((unsigned)m->identified_under >
        BULWARK__SCOPING__V1__MEMBER_STATE__IDENTIFIED_UNDER__ART_2_2_E)
        bad |= bw_call_violation(call, "memberState.identifiedUnder", "is not a ground") != 0;
    if ((unsigned)m->designation > BULWARK__SCOPING__V1__MEMBER_STATE__DESIGNATION__IMPORTANT)
        bad |= bw_call_violation(call, "memberState.designation", "is not a designation") != 0;
    else if (m->designation !=
                 BULWARK__SCOPING__V1__MEMBER_STATE__DESIGNATION__DESIGNATION_UNSPECIFIED &&
             m->identified_under ==
                 BULWARK__SCOPING__V1__MEMBER_STATE__IDENTIFIED_UNDER__IDENTIFIED_UNDER_UNSPECIFIED)
        bad |= bw_call_violation(call, "memberState.designation",
                                 "a designation needs identifiedUnder, the Art 2(2) ground") != 0;
    if ((unsigned)m->security_exemption >
        BULWARK__SCOPING__V1__MEMBER_STATE__SECURITY_EXEMPTION__WHOLE_ENTITY)
        bad |= bw_call_violation(call, "memberState.securityExemption", "is not an exemption") != 0;
    if (m->dora_exempted && !has_activity_of_kind(f, is_credit_institution))
        bad |= bw_call_violation(call, "memberState.doraExempted",
                                 "applies only to a credit institution (an activity "
                                 "banking.credit_institution): DORA Art 2(4) lets a Member State "
                                 "exempt only the institutions of Directive 2013/36/EU Art 2(5), "
                                 "points (4) to (23) (NIS2 Art 2(10))") != 0;
    static const struct {
        const char *field;
        size_t offset;
    } cascade[] = {
        {"memberState.cybersecurityDecisionsIn",
         offsetof(Bulwark__Scoping__V1__MemberState, cybersecurity_decisions_in)},
        {"memberState.cyberOperationsIn",
         offsetof(Bulwark__Scoping__V1__MemberState, cyber_operations_in)},
        {"memberState.largestWorkforceIn",
         offsetof(Bulwark__Scoping__V1__MemberState, largest_workforce_in)},
    };
    for (size_t i = 0; i < sizeof(cascade) / sizeof(cascade[0]); i++) {
        const char *code = *(char *const *)((const char *)m + cascade[i].offset);
        if (code[0] != '\0' && !bw_scoping_valid_member_state(code))
            bad |= bw_call_violation(call, cascade[i].field,
                                     "\"%s\" is not an EU Member State code (leave it empty when "
                                     "it is not in the Union or cannot be determined)",
                                     code) != 0;
    }
    if (m->representative[0] != '\0')
        bad |= check_representative(call, m);
    if (m->no_activity_in_union &&
        (established_in_union(m) || m->n_services_in > 0 || m->representative[0] != '\0'))
        bad |= bw_call_violation(call, "memberState.noActivityInUnion",
                                 "contradicts the Member State facts given: an establishment, "
                                 "services or a representative in the Union") != 0;
    if (m->no_activity_in_union &&
        ((f->public_administration != NULL && f->public_administration->level != 0) ||
         has_activity_of_kind(f, bw_catalogue_is_public_admin)))
        bad |= bw_call_violation(call, "memberState.noActivityInUnion",
                                 "contradicts a public administration entity, which a Member "
                                 "State established") != 0;
    if (m->profile[0] != '\0' && strcmp(m->profile, "NONE") != 0 &&
        bw_profiles_find(f->profiles, m->profile) == NULL)
        bad |= bw_call_violation(call, "memberState.profile",
                                 "\"%.8s\" is not a Member State profile (GET "
                                 "/v1/member-state-profiles: %s), nor NONE for the EU baseline",
                                 m->profile, bw_profiles_codes(f->profiles)) != 0;
    return bad;
}

void bw_scoping_facts_of_entity(const Bulwark__Scoping__V1__Entity *e,
                                const struct bw_profiles *profiles, bw_scoping_facts_t *out)
{
    out->activities = e->activities;
    out->n_activities = e->n_activities;
    out->size = e->size;
    out->public_administration = e->public_administration;
    out->member_state = e->member_state;
    out->profiles = profiles;
}

void bw_scoping_facts_of_request(const Bulwark__Scoping__V1__AssessRequest *r,
                                 const struct bw_profiles *profiles, bw_scoping_facts_t *out)
{
    out->activities = r->activities;
    out->n_activities = r->n_activities;
    out->size = r->size;
    out->public_administration = r->public_administration;
    out->member_state = r->member_state;
    out->profiles = profiles;
}

int bw_scoping_validate_facts(bw_call_t *call, const bw_scoping_facts_t *f)
{
    int bad = check_activities(call, f);
    if (f->size != NULL)
        bad |= check_size(call, f->size);
    if (f->public_administration != NULL)
        bad |= check_public_administration(call, f->public_administration);
    if (f->member_state != NULL)
        bad |= check_member_state(call, f);
    return bad ? BW_EINVAL : 0;
}

int bw_scoping_validate_entity(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e,
                               const struct bw_profiles *profiles)
{
    int bad = 0;
    size_t name_len = strlen(e->name);
    if (name_len == 0)
        bad |= bw_call_violation(call, "name", "is required") != 0;
    else if (name_len > NAME_MAX_LEN)
        bad |= bw_call_violation(call, "name", "must be at most %d characters", NAME_MAX_LEN) != 0;
    if (e->time_zone[0] == '\0')
        bad |= bw_call_violation(call, "timeZone",
                                 "is required, an IANA time zone such as "
                                 "Europe/Berlin") != 0;
    else if (!bw_scoping_valid_time_zone(e->time_zone))
        bad |= bw_call_violation(call, "timeZone",
                                 "\"%s\" is not an IANA time zone such as Europe/Berlin",
                                 e->time_zone) != 0;
    bw_scoping_facts_t facts;
    bw_scoping_facts_of_entity(e, profiles, &facts);
    bad |= bw_scoping_validate_facts(call, &facts) != 0;
    if (e->parent_entity[0] != '\0' && !bw_uuid_valid(e->parent_entity))
        bad |= bw_call_violation(call, "parentEntity", "must be the id of an entity") != 0;
    return bad ? BW_EINVAL : 0;
}
