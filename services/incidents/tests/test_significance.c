/*
 * Suite of significance.c: the IR 2024/2690 Art 3 general criteria (with
 * Art 3(2) and Art 4), the Art 5-14 thresholds of each relevant entity
 * type just below and just above them, NIS2 Art 23(3) for the other entity
 * types with its three outcomes, and the validation of the request. The
 * entity types' articles come from the scoping service's catalogue in the
 * service; here from a stand-in with the catalogue's answers.
 */
#include "tests.h"

#include "significance.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

typedef Bulwark__Incidents__V1__AssessSignificanceRequest request_t;
typedef Bulwark__Incidents__V1__ServiceImpact impact_t;
typedef Bulwark__Incidents__V1__SignificanceAssessment assessment_t;

static bw_arena_t *arena;

static void setup(void)
{
    arena = bw_arena_create(4096);
}

static void teardown(void)
{
    bw_arena_destroy(arena);
}

/* What scoping's catalogue answers for the types these tests use. */
static const struct {
    const char *code;
    int ir_article;
} stand_in_catalogue[] = {
    {"digital_infra.dns", 5},
    {"digital_infra.tld_registry", 6},
    {"digital_infra.cloud", 7},
    {"digital_infra.data_centre", 8},
    {"digital_infra.cdn", 9},
    {"ict_b2b.msp", 10},
    {"ict_b2b.mssp", 10},
    {"digital_providers.online_marketplace", 11},
    {"digital_providers.search_engine", 12},
    {"digital_providers.social_network", 13},
    {"digital_infra.tsp", 14},
    {"digital_infra.tsp.qualified", 14},
    {"digital_infra.tsp.non_qualified", 14},
    {"health.healthcare_provider", 0},
    {"energy.electricity.dso", 0},
    {"digital_infra.ixp", 0},
};

static assessment_t *assess(const request_t *r)
{
    bw_entity_type_info_t types[8];
    ck_assert_uint_le(r->n_entity_types, 8);
    for (size_t i = 0; i < r->n_entity_types; i++) {
        types[i] = (bw_entity_type_info_t){0, 0};
        for (size_t k = 0; k < sizeof(stand_in_catalogue) / sizeof(stand_in_catalogue[0]); k++)
            if (strcmp(r->entity_types[i], stand_in_catalogue[k].code) == 0)
                types[i] = (bw_entity_type_info_t){1, stand_in_catalogue[k].ir_article};
        ck_assert_msg(types[i].known, "%s is not in the stand-in catalogue", r->entity_types[i]);
    }
    assessment_t *out = NULL;
    ck_assert_int_eq(bw_significance_assess(arena, r, types, &out), 0);
    ck_assert_int_eq(out->significant,
                     out->outcome ==
                         BULWARK__INCIDENTS__V1__SIGNIFICANCE_ASSESSMENT__OUTCOME__SIGNIFICANT);
    return out;
}

#define OUTCOME(x) BULWARK__INCIDENTS__V1__SIGNIFICANCE_ASSESSMENT__OUTCOME__##x
#define ANSWER(x) BULWARK__INCIDENTS__V1__ASSESS_SIGNIFICANCE_REQUEST__ANSWER__##x

static int missing(const assessment_t *a, const char *field)
{
    for (size_t i = 0; i < a->n_missing_facts; i++)
        if (strcmp(a->missing_facts[i], field) == 0)
            return 1;
    return 0;
}

/* Whether the assessment holds a criterion with this code (and entity type,
 * unless NULL). */
static int fired(const assessment_t *a, const char *code)
{
    for (size_t i = 0; i < a->n_criteria; i++)
        if (strcmp(a->criteria[i]->code, code) == 0)
            return 1;
    return 0;
}

static const char *criterion_article(const assessment_t *a, const char *code)
{
    for (size_t i = 0; i < a->n_criteria; i++)
        if (strcmp(a->criteria[i]->code, code) == 0)
            return a->criteria[i]->article;
    return "";
}

static int has_note(const assessment_t *a, const char *fragment)
{
    for (size_t i = 0; i < a->n_notes; i++)
        if (strstr(a->notes[i], fragment) != NULL)
            return 1;
    return 0;
}

/* A request for one entity type with the impact m. */
static request_t one(const char *type, impact_t *m)
{
    static char *types[1];
    request_t r = BULWARK__INCIDENTS__V1__ASSESS_SIGNIFICANCE_REQUEST__INIT;
    types[0] = (char *)type;
    r.n_entity_types = type != NULL ? 1 : 0;
    r.entity_types = types;
    r.impact = m;
    return r;
}

START_TEST(nothing_happened_is_not_significant)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.cloud", &m);
    assessment_t *a = assess(&r);
    ck_assert(!a->significant);
    /* IR 2024/2690 decides for its types: a plain no, nothing missing. */
    ck_assert_int_eq(a->outcome, OUTCOME(NOT_SIGNIFICANT));
    ck_assert_uint_eq(a->n_missing_facts, 0);
    ck_assert(a->implementing_regulation_applies);
    ck_assert_uint_eq(a->n_criteria, 0);
}
END_TEST

START_TEST(financial_loss_is_the_lower_of_500k_and_5_percent)
{
    request_t r = one("digital_infra.cloud", NULL);
    r.financial_loss_eur = 500000;
    ck_assert(!assess(&r)->significant); /* not above */
    r.financial_loss_eur = 500001;
    assessment_t *a = assess(&r);
    ck_assert(fired(a, "IR.3.1.a"));
    ck_assert_str_eq(criterion_article(a, "IR.3.1.a"), "IR 2024/2690 Art 3(1)(a)");
    ck_assert(has_note(a, "annualTurnoverEur not given"));
    /* 5 % of EUR 2 000 000 is 100 000, lower than 500 000. */
    r.annual_turnover_eur = 2000000;
    r.financial_loss_eur = 100000;
    ck_assert(!assess(&r)->significant);
    r.financial_loss_eur = 100001;
    ck_assert(fired(assess(&r), "IR.3.1.a"));
    /* 5 % of EUR 20 000 000 is 1 000 000: the 500 000 cap applies. */
    r.annual_turnover_eur = 20000000;
    r.financial_loss_eur = 600000;
    ck_assert(fired(assess(&r), "IR.3.1.a"));
}
END_TEST

START_TEST(general_criteria_each_suffice)
{
    request_t r = one("digital_infra.cdn", NULL);
    r.trade_secrets_exfiltrated = 1;
    ck_assert(fired(assess(&r), "IR.3.1.b"));
    r = one("digital_infra.cdn", NULL);
    r.death = 1;
    ck_assert(fired(assess(&r), "IR.3.1.c"));
    r = one("digital_infra.cdn", NULL);
    r.considerable_health_damage = 1;
    ck_assert(fired(assess(&r), "IR.3.1.d"));
    r = one("digital_infra.cdn", NULL);
    r.malicious_unauthorised_access = 1;
    assessment_t *a = assess(&r);
    ck_assert(a->significant);
    ck_assert(fired(a, "IR.3.1.e"));
    ck_assert_uint_eq(a->n_criteria, 1);
}
END_TEST

START_TEST(recurring_incidents_count_together)
{
    Bulwark__Incidents__V1__Recurrence rec = BULWARK__INCIDENTS__V1__RECURRENCE__INIT;
    request_t r = one("ict_b2b.msp", NULL);
    r.recurrence = &rec;
    rec.incidents_in_six_months = 2;
    rec.same_apparent_root_cause = 1;
    rec.combined_financial_loss_eur = 600000;
    assessment_t *a = assess(&r);
    ck_assert(fired(a, "IR.3.1.f"));
    ck_assert_str_eq(criterion_article(a, "IR.3.1.f"), "IR 2024/2690 Art 3(1)(f) and Art 4");
    rec.same_apparent_root_cause = 0;
    ck_assert(!assess(&r)->significant);
    rec.same_apparent_root_cause = 1;
    rec.incidents_in_six_months = 1;
    ck_assert(!assess(&r)->significant);
    rec.incidents_in_six_months = 3;
    rec.combined_financial_loss_eur = 400000;
    ck_assert(!assess(&r)->significant);
}
END_TEST

START_TEST(dns_thresholds)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.dns", &m);
    m.complete_unavailability_minutes = 30;
    m.slow_response_minutes = 60;
    ck_assert(!assess(&r)->significant);
    m.complete_unavailability_minutes = 31;
    ck_assert(fired(assess(&r), "IR.5.a"));
    m.complete_unavailability_minutes = 0;
    m.slow_response_minutes = 61;
    ck_assert(fired(assess(&r), "IR.5.b"));
    m.slow_response_minutes = 0;
    m.ica_compromised = 1;
    ck_assert(fired(assess(&r), "IR.5.c"));
    /* The misconfiguration exception: < 1 000 names and <= 1 % of those managed. */
    m.dns_misconfiguration = 1;
    m.incorrect_domain_names = 999;
    m.managed_domain_names = 99900;
    assessment_t *a = assess(&r);
    ck_assert(!a->significant);
    ck_assert(has_note(a, "Art 5(c) does not apply"));
    m.managed_domain_names = 99899;
    ck_assert(fired(assess(&r), "IR.5.c"));
    m.incorrect_domain_names = 1000;
    m.managed_domain_names = 1000000;
    ck_assert(fired(assess(&r), "IR.5.c"));
    m.managed_domain_names = 0;
    m.incorrect_domain_names = 10;
    a = assess(&r);
    ck_assert(fired(a, "IR.5.c"));
    ck_assert(has_note(a, "managedDomainNames not given"));
}
END_TEST

START_TEST(tld_registry_thresholds)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.tld_registry", &m);
    m.complete_unavailability_minutes = 1; /* any complete unavailability */
    ck_assert(fired(assess(&r), "IR.6.a"));
    m.complete_unavailability_minutes = 0;
    m.ica_compromised = 1;
    m.dns_misconfiguration = 1; /* no exception for registries */
    ck_assert(fired(assess(&r), "IR.6.c"));
}
END_TEST

START_TEST(cloud_cdn_msp_thresholds)
{
    const char *types[] = {"digital_infra.cloud", "digital_infra.cdn", "ict_b2b.mssp"};
    const char *codes[][4] = {{"IR.7.a", "IR.7.b", "IR.7.c", "IR.7.d"},
                              {"IR.9.a", "IR.9.b", "IR.9.c", "IR.9.d"},
                              {"IR.10.a", "IR.10.b", "IR.10.c", "IR.10.d"}};
    for (int t = 0; t < 3; t++) {
        impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
        request_t r = one(types[t], &m);
        m.complete_unavailability_minutes = 31;
        ck_assert(fired(assess(&r), codes[t][0]));
        m.complete_unavailability_minutes = 0;
        /* Limited for > 1 h for more than 5 % of 10 million users (500 000). */
        m.users_in_union = 10000000;
        m.limited_availability_minutes = 61;
        m.limited_availability_users = 500000;
        ck_assert(!assess(&r)->significant);
        m.limited_availability_users = 500001;
        ck_assert(fired(assess(&r), codes[t][1]));
        m.limited_availability_minutes = 60;
        ck_assert(!assess(&r)->significant);
        m.limited_availability_minutes = 0;
        m.ica_compromised = 1;
        ck_assert(!assess(&r)->significant);
        m.ica_suspected_malicious = 1;
        ck_assert(fired(assess(&r), codes[t][2]));
        m.ica_suspected_malicious = 0;
        /* 1 million is the smaller number for 100 million users. */
        m.users_in_union = 100000000;
        m.ica_affected_users = 1000001;
        ck_assert(fired(assess(&r), codes[t][3]));
        m.ica_affected_users = 1000000;
        ck_assert(!assess(&r)->significant);
    }
}
END_TEST

START_TEST(data_centre_thresholds)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.data_centre", &m);
    m.complete_unavailability_minutes = 1;
    ck_assert(fired(assess(&r), "IR.8.a"));
    m.complete_unavailability_minutes = 0;
    m.limited_availability_minutes = 61;
    ck_assert(fired(assess(&r), "IR.8.b"));
    m.limited_availability_minutes = 0;
    m.physical_access_compromised = 1;
    ck_assert(fired(assess(&r), "IR.8.d"));
}
END_TEST

START_TEST(platform_thresholds)
{
    const char *types[] = {"digital_providers.online_marketplace",
                           "digital_providers.search_engine", "digital_providers.social_network"};
    for (int t = 0; t < 3; t++) {
        impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
        request_t r = one(types[t], &m);
        char code[16];
        m.users_in_union = 1000;
        m.completely_unavailable_users = 51; /* more than 5 % of 1 000 */
        snprintf(code, sizeof(code), "IR.%d.a", 11 + t);
        ck_assert(fired(assess(&r), code));
        m.completely_unavailable_users = 50;
        ck_assert(!assess(&r)->significant);
        m.completely_unavailable_users = 0;
        m.limited_availability_users = 51; /* no duration threshold */
        snprintf(code, sizeof(code), "IR.%d.b", 11 + t);
        ck_assert(fired(assess(&r), code));
    }
}
END_TEST

START_TEST(trust_service_thresholds)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.tsp.qualified", &m);
    m.complete_unavailability_minutes = 20;
    ck_assert(!assess(&r)->significant);
    m.complete_unavailability_minutes = 21;
    ck_assert(fired(assess(&r), "IR.14.a"));
    m.complete_unavailability_minutes = 0;
    m.weekly_unavailability_minutes = 61;
    ck_assert(fired(assess(&r), "IR.14.b"));
    m.weekly_unavailability_minutes = 0;
    /* 1 % of 50 million is 500 000: 200 000 is the smaller number. */
    m.users_in_union = 50000000;
    m.limited_availability_users = 200001;
    ck_assert(fired(assess(&r), "IR.14.c"));
    m.limited_availability_users = 0;
    m.physical_access_compromised = 1;
    ck_assert(fired(assess(&r), "IR.14.d"));
    m.physical_access_compromised = 0;
    /* 0.1 % of 50 000 is 50, smaller than 100. */
    m.users_in_union = 50000;
    m.ica_compromised = 1;
    m.ica_affected_users = 50;
    ck_assert(!assess(&r)->significant);
    m.ica_affected_users = 51;
    assessment_t *a = assess(&r);
    ck_assert(fired(a, "IR.14.e"));
    ck_assert_str_eq(a->criteria[0]->entity_type, "digital_infra.tsp.qualified");
    ck_assert_str_eq(criterion_article(a, "IR.14.e"), "IR 2024/2690 Art 14(e)");
}
END_TEST

START_TEST(scheduled_maintenance_is_not_an_availability_incident)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.cloud", &m);
    r.scheduled_maintenance = 1;
    m.complete_unavailability_minutes = 240;
    assessment_t *a = assess(&r);
    ck_assert(!a->significant);
    ck_assert(has_note(a, "Art 3(2)"));
    /* A death during maintenance still counts. */
    r.death = 1;
    ck_assert(fired(assess(&r), "IR.3.1.c"));
}
END_TEST

START_TEST(other_entities_follow_nis2_art_23_3)
{
    /* A hospital is no relevant entity of IR 2024/2690 (its Art 1): NIS2 Art
     * 23(3) decides. This replaced an assertion that IR.3.1.c was a criterion
     * of its assessment: the Regulation's criteria bind only its own types,
     * and are shown as guidance for the others. A death is considerable
     * damage to a natural person (Art 23(3)(b)). */
    request_t r = one("health.healthcare_provider", NULL);
    r.death = 1;
    assessment_t *a = assess(&r);
    ck_assert(!a->implementing_regulation_applies);
    ck_assert_int_eq(a->outcome, OUTCOME(SIGNIFICANT));
    ck_assert(!fired(a, "IR.3.1.c"));
    ck_assert(fired(a, "NIS2.23.3.b"));
    ck_assert_str_eq(criterion_article(a, "NIS2.23.3.b"), "NIS2 Art 23(3)(b)");
    ck_assert(has_note(a, "guidance only: IR 2024/2690 Art 3(1)(c) would be met"));
    /* No type at all: Art 23(3) too. */
    r = one(NULL, NULL);
    ck_assert(!assess(&r)->implementing_regulation_applies);
    ck_assert(!fired(assess(&r), "IR.3.1.c"));
}
END_TEST

START_TEST(art_23_3_undetermined_without_its_answers)
{
    /* Nothing said about the incident of an energy DSO: never a bare no. */
    request_t r = one("energy.electricity.dso", NULL);
    assessment_t *a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(UNDETERMINED));
    ck_assert(!a->significant);
    ck_assert(missing(a, "severeOperationalDisruption"));
    ck_assert(missing(a, "considerableDamageToOthers"));
    ck_assert(missing(a, "financialLossEur"));
    ck_assert(missing(a, "annualTurnoverEur"));
    /* One answer still leaves it open. */
    r.severe_operational_disruption = ANSWER(NO);
    a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(UNDETERMINED));
    ck_assert(!missing(a, "severeOperationalDisruption"));
    /* A loss without the turnover to weigh it against. */
    r.considerable_damage_to_others = ANSWER(NO);
    r.financial_loss_eur = 40000;
    a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(UNDETERMINED));
    ck_assert_uint_eq(a->n_missing_facts, 1);
    ck_assert_str_eq(a->missing_facts[0], "annualTurnoverEur");
    /* Every question answered no: not significant. */
    r.annual_turnover_eur = 2000000;
    a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(NOT_SIGNIFICANT));
    ck_assert_uint_eq(a->n_missing_facts, 0);
    ck_assert(has_note(a, "sets no figure for a financial loss"));
}
END_TEST

START_TEST(art_23_3_a_and_b_each_suffice)
{
    /* (a) severe operational disruption. */
    request_t r = one("energy.electricity.dso", NULL);
    r.severe_operational_disruption = ANSWER(YES);
    assessment_t *a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(SIGNIFICANT));
    ck_assert(fired(a, "NIS2.23.3.a"));
    ck_assert_str_eq(criterion_article(a, "NIS2.23.3.a"), "NIS2 Art 23(3)(a)");
    ck_assert_uint_eq(a->n_missing_facts, 0);
    /* (a) financial loss for the entity: above 5 % of a EUR 2 000 000
     * turnover (the lower of that and EUR 500 000), and not at it. */
    r = one("energy.electricity.dso", NULL);
    r.annual_turnover_eur = 2000000;
    r.financial_loss_eur = 100001;
    ck_assert(fired(assess(&r), "NIS2.23.3.a"));
    r.financial_loss_eur = 100000;
    ck_assert_int_eq(assess(&r)->outcome, OUTCOME(UNDETERMINED));
    /* Above EUR 500 000 it exceeds whatever the turnover. */
    r.annual_turnover_eur = 0;
    r.financial_loss_eur = 500001;
    ck_assert_int_eq(assess(&r)->outcome, OUTCOME(SIGNIFICANT));
    /* (b) considerable damage to others. */
    r = one("energy.electricity.dso", NULL);
    r.considerable_damage_to_others = ANSWER(YES);
    a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(SIGNIFICANT));
    ck_assert(fired(a, "NIS2.23.3.b"));
    /* A suspectedly malicious access capable of severe operational
     * disruption is capable of it (Art 23(3)(a)). */
    r = one(NULL, NULL);
    r.malicious_unauthorised_access = 1;
    ck_assert(fired(assess(&r), "NIS2.23.3.a"));
}
END_TEST

START_TEST(ir_types_and_others_together)
{
    /* A cloud provider that also runs a DSO: the Regulation decides for the
     * cloud service, Art 23(3) for the rest; a no from the Regulation with
     * Art 23(3) unanswered is undetermined, a yes from either decides. */
    static char *both[] = {"digital_infra.cloud", "energy.electricity.dso"};
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = BULWARK__INCIDENTS__V1__ASSESS_SIGNIFICANCE_REQUEST__INIT;
    r.entity_types = both;
    r.n_entity_types = 2;
    r.impact = &m;
    assessment_t *a = assess(&r);
    ck_assert(a->implementing_regulation_applies);
    ck_assert_int_eq(a->outcome, OUTCOME(UNDETERMINED));
    m.complete_unavailability_minutes = 45;
    a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(SIGNIFICANT));
    ck_assert(fired(a, "IR.7.a"));
    m.complete_unavailability_minutes = 0;
    r.severe_operational_disruption = ANSWER(NO);
    r.considerable_damage_to_others = ANSWER(NO);
    r.annual_turnover_eur = 90000000;
    ck_assert_int_eq(assess(&r)->outcome, OUTCOME(NOT_SIGNIFICANT));
    /* The Regulation's types alone: Art 23(3) answers are not used. */
    r = one("digital_infra.cloud", NULL);
    r.severe_operational_disruption = ANSWER(YES);
    a = assess(&r);
    ck_assert_int_eq(a->outcome, OUTCOME(NOT_SIGNIFICANT));
    ck_assert(has_note(a, "NIS2 Art 23(11)"));
}
END_TEST

START_TEST(users_without_the_union_total)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.cloud", &m);
    m.ica_compromised = 1;
    m.ica_affected_users = 999999;
    assessment_t *a = assess(&r);
    ck_assert(!a->significant);
    ck_assert(has_note(a, "usersInUnion not given"));
}
END_TEST

/* Validates r on a fresh call; returns the first violated field or NULL. */
static const char *first_violation(const request_t *r)
{
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = arena;
    if (bw_significance_validate(&call, r) == 0)
        return NULL;
    ck_assert_uint_gt(call.n_violations, 0);
    return call.violations[0].field;
}

START_TEST(bad_input_names_the_field)
{
    impact_t m = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    request_t r = one("digital_infra.cloud", &m);
    ck_assert_ptr_null(first_violation(&r));
    r.financial_loss_eur = -1;
    ck_assert_str_eq(first_violation(&r), "financialLossEur");
    r.financial_loss_eur = 0;
    r.annual_turnover_eur = INT64_C(2000000000000000);
    ck_assert_str_eq(first_violation(&r), "annualTurnoverEur");
    r.annual_turnover_eur = 0;
    m.users_in_union = 100;
    m.ica_affected_users = 101;
    ck_assert_str_eq(first_violation(&r), "impact.icaAffectedUsers");
    m.ica_affected_users = 0;
    m.weekly_unavailability_minutes = 7 * 24 * 60 + 1;
    ck_assert_str_eq(first_violation(&r), "impact.weeklyUnavailabilityMinutes");
    m.weekly_unavailability_minutes = 0;
    m.complete_unavailability_minutes = -5;
    ck_assert_str_eq(first_violation(&r), "impact.completeUnavailabilityMinutes");
    m.complete_unavailability_minutes = 0;
    m.managed_domain_names = 10;
    m.incorrect_domain_names = 11;
    ck_assert_str_eq(first_violation(&r), "impact.incorrectDomainNames");
    m.incorrect_domain_names = 0;
    r = one("Digital Infra", NULL);
    ck_assert_str_eq(first_violation(&r), "entityTypes[0]");
    r = one("cloud", NULL);
    ck_assert_str_eq(first_violation(&r), "entityTypes[0]");
    Bulwark__Incidents__V1__Recurrence rec = BULWARK__INCIDENTS__V1__RECURRENCE__INIT;
    r = one("digital_infra.cloud", NULL);
    r.recurrence = &rec;
    rec.incidents_in_six_months = -1;
    ck_assert_str_eq(first_violation(&r), "recurrence.incidentsInSixMonths");
    r = one("digital_infra.cloud", NULL);
    r.severe_operational_disruption = 7;
    ck_assert_str_eq(first_violation(&r), "severeOperationalDisruption");
    r.severe_operational_disruption = ANSWER(YES);
    r.considerable_damage_to_others = -1;
    ck_assert_str_eq(first_violation(&r), "considerableDamageToOthers");
}
END_TEST

Suite *suite_significance(void)
{
    Suite *s = suite_create("significance");
    TCase *tc = tcase_create("significance");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, nothing_happened_is_not_significant);
    tcase_add_test(tc, financial_loss_is_the_lower_of_500k_and_5_percent);
    tcase_add_test(tc, general_criteria_each_suffice);
    tcase_add_test(tc, recurring_incidents_count_together);
    tcase_add_test(tc, dns_thresholds);
    tcase_add_test(tc, tld_registry_thresholds);
    tcase_add_test(tc, cloud_cdn_msp_thresholds);
    tcase_add_test(tc, data_centre_thresholds);
    tcase_add_test(tc, platform_thresholds);
    tcase_add_test(tc, trust_service_thresholds);
    tcase_add_test(tc, scheduled_maintenance_is_not_an_availability_incident);
    tcase_add_test(tc, other_entities_follow_nis2_art_23_3);
    tcase_add_test(tc, art_23_3_undetermined_without_its_answers);
    tcase_add_test(tc, art_23_3_a_and_b_each_suffice);
    tcase_add_test(tc, ir_types_and_others_together);
    tcase_add_test(tc, users_without_the_union_total);
    tcase_add_test(tc, bad_input_names_the_field);
    suite_add_tcase(s, tc);
    return s;
}
