/*
 * Validation of entity facts: the 400s a client gets, field by field.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "profiles.h"
#include "status.h"
#include "suites.h"

static bw_call_t *new_call(void)
{
    bw_call_t *call = calloc(1, sizeof(*call));
    call->arena = bw_arena_create(4096);
    return call;
}

static void free_call(bw_call_t *call)
{
    bw_arena_destroy(call->arena);
    free(call);
}

static int has_violation(const bw_call_t *call, const char *field)
{
    for (size_t i = 0; i < call->n_violations; i++)
        if (strcmp(call->violations[i].field, field) == 0)
            return 1;
    return 0;
}

START_TEST(time_zones)
{
    const char *good[] = {"Europe/Berlin", "Europe/Lisbon", "America/Argentina/Buenos_Aires",
                          "UTC",           "Etc/UTC",       "Asia/Kolkata",
                          "Etc/GMT+1"};
    const char *bad[] = {"",
                         "Mars/Olympus",
                         "CEST",
                         "CET",
                         "GMT+1",
                         "+02:00",
                         "Europe/Berlin ",
                         "europe/berlin",
                         "Europe//Berlin",
                         "../etc/passwd"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(bw_scoping_valid_time_zone(good[i]), "rejected %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!bw_scoping_valid_time_zone(bad[i]), "accepted %s", bad[i]);
}
END_TEST

START_TEST(member_states)
{
    ck_assert(bw_scoping_valid_member_state("DE"));
    ck_assert(bw_scoping_valid_member_state("EL"));
    ck_assert(bw_scoping_valid_member_state("GR"));
    ck_assert(!bw_scoping_valid_member_state("UK"));
    ck_assert(!bw_scoping_valid_member_state("CH"));
    ck_assert(!bw_scoping_valid_member_state("de"));
    ck_assert(!bw_scoping_valid_member_state(""));
}
END_TEST

START_TEST(valid_entity_passes)
{
    bw_call_t *call = new_call();
    Bulwark__Scoping__V1__Entity e = BULWARK__SCOPING__V1__ENTITY__INIT;
    e.name = "Acme Energy GmbH";
    e.time_zone = "Europe/Berlin";
    ck_assert_int_eq(bw_scoping_validate_entity(call, &e, NULL), 0);
    ck_assert_uint_eq(call->n_violations, 0);
    free_call(call);
}
END_TEST

START_TEST(each_bad_field_is_named)
{
    bw_call_t *call = new_call();
    Bulwark__Scoping__V1__Entity e = BULWARK__SCOPING__V1__ENTITY__INIT;
    Bulwark__Scoping__V1__Activity act = BULWARK__SCOPING__V1__ACTIVITY__INIT;
    Bulwark__Scoping__V1__Activity *acts[] = {&act};
    Bulwark__Scoping__V1__Size size = BULWARK__SCOPING__V1__SIZE__INIT;
    Bulwark__Scoping__V1__PartnerEnterprise partner =
        BULWARK__SCOPING__V1__PARTNER_ENTERPRISE__INIT;
    Bulwark__Scoping__V1__PartnerEnterprise *partners[] = {&partner};
    Bulwark__Scoping__V1__MemberState ms = BULWARK__SCOPING__V1__MEMBER_STATE__INIT;
    char *services[] = {"FR", "XX"};
    e.time_zone = "Mars/Olympus";
    act.entity_type = "Not A Code";
    e.n_activities = 1;
    e.activities = acts;
    size.staff_headcount = -1;
    size.annual_turnover_eur = -5;
    partner.holding_percent = 120;
    size.n_partner_enterprises = 1;
    size.partner_enterprises = partners;
    e.size = &size;
    ms.establishment = "UK";
    ms.n_services_in = 2;
    ms.services_in = services;
    e.member_state = &ms;
    e.parent_entity = "not-a-uuid";
    ck_assert_int_eq(bw_scoping_validate_entity(call, &e, NULL), BW_EINVAL);
    const char *fields[] = {"name",
                            "timeZone",
                            "activities[0].entityType",
                            "size.staffHeadcount",
                            "size.annualTurnoverEur",
                            "size.partnerEnterprises[0].holdingPercent",
                            "memberState.establishment",
                            "memberState.servicesIn[1]",
                            "parentEntity"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        ck_assert_msg(has_violation(call, fields[i]), "no violation for %s", fields[i]);
    ck_assert(!has_violation(call, "memberState.servicesIn[0]"));
    ck_assert_str_eq(call->reason, "VALIDATION_FAILED");
    free_call(call);
}
END_TEST

START_TEST(designation_needs_a_ground)
{
    bw_call_t *call = new_call();
    Bulwark__Scoping__V1__Entity e = BULWARK__SCOPING__V1__ENTITY__INIT;
    Bulwark__Scoping__V1__MemberState ms = BULWARK__SCOPING__V1__MEMBER_STATE__INIT;
    e.name = "x";
    e.time_zone = "UTC";
    ms.designation = BULWARK__SCOPING__V1__MEMBER_STATE__DESIGNATION__ESSENTIAL;
    e.member_state = &ms;
    ck_assert_int_eq(bw_scoping_validate_entity(call, &e, NULL), BW_EINVAL);
    ck_assert(has_violation(call, "memberState.designation"));
    free_call(call);
}
END_TEST

/* ---- facts only an assessment reads: codes, flags, contradictions ---- */

typedef struct facts_fixture {
    Bulwark__Scoping__V1__Activity acts[BW_SCOPING_MAX_ACTIVITIES + 1];
    Bulwark__Scoping__V1__Activity *act_ptrs[BW_SCOPING_MAX_ACTIVITIES + 1];
    Bulwark__Scoping__V1__Size size;
    Bulwark__Scoping__V1__SizeFigures prev;
    Bulwark__Scoping__V1__SizeFigures earlier[BW_SCOPING_MAX_EARLIER_PERIODS + 1];
    Bulwark__Scoping__V1__SizeFigures *earlier_ptrs[BW_SCOPING_MAX_EARLIER_PERIODS + 1];
    Bulwark__Scoping__V1__PartnerEnterprise partner;
    Bulwark__Scoping__V1__PartnerEnterprise *partner_ptrs[1];
    Bulwark__Scoping__V1__PublicAdministration pa;
    Bulwark__Scoping__V1__MemberState ms;
    bw_scoping_facts_t facts;
} facts_fixture_t;

static facts_fixture_t fx;

static void fx_reset(void)
{
    memset(&fx, 0, sizeof(fx));
    bulwark__scoping__v1__size__init(&fx.size);
    bulwark__scoping__v1__size_figures__init(&fx.prev);
    bulwark__scoping__v1__public_administration__init(&fx.pa);
    bulwark__scoping__v1__member_state__init(&fx.ms);
    bulwark__scoping__v1__partner_enterprise__init(&fx.partner);
    for (size_t i = 0; i <= BW_SCOPING_MAX_EARLIER_PERIODS; i++) {
        bulwark__scoping__v1__size_figures__init(&fx.earlier[i]);
        fx.earlier_ptrs[i] = &fx.earlier[i];
    }
    fx.partner_ptrs[0] = &fx.partner;
    fx.facts.activities = fx.act_ptrs;
}

/* One partner enterprise held at percent, for the investor checks. */
static Bulwark__Scoping__V1__PartnerEnterprise *add_partner(double percent)
{
    fx.facts.size = &fx.size;
    fx.size.partner_enterprises = fx.partner_ptrs;
    fx.size.n_partner_enterprises = 1;
    fx.partner.holding_percent = percent;
    return &fx.partner;
}

static Bulwark__Scoping__V1__Activity *add_act(const char *code)
{
    size_t i = fx.facts.n_activities++;
    bulwark__scoping__v1__activity__init(&fx.acts[i]);
    fx.acts[i].entity_type = (char *)code;
    fx.act_ptrs[i] = &fx.acts[i];
    return &fx.acts[i];
}

/* Validates the fixture's facts; returns the call (caller frees). */
static bw_call_t *check_facts(int want_err)
{
    bw_call_t *call = new_call();
    ck_assert_int_eq(bw_scoping_validate_facts(call, &fx.facts), want_err);
    if (want_err == 0)
        ck_assert_msg(call->n_violations == 0, "unexpected violation %s: %s",
                      call->violations[0].field, call->violations[0].message);
    return call;
}

static void expect_violation(const char *field)
{
    bw_call_t *call = check_facts(BW_EINVAL);
    ck_assert_msg(has_violation(call, field), "no violation for %s (first: %s)", field,
                  call->n_violations > 0 ? call->violations[0].field : "none");
    free_call(call);
}

static void expect_valid(void)
{
    free_call(check_facts(0));
}

START_TEST(unknown_entity_type_is_named)
{
    fx_reset();
    add_act("energy.electricity.dso");
    add_act("energy.nuclear.reactor");
    expect_violation("activities[1].entityType");
    fx_reset();
    add_act("cer.critical_entity");
    expect_violation("activities[0].entityType");
}
END_TEST

START_TEST(catalogue_codes_pass)
{
    fx_reset();
    add_act("digital_infra.tsp")->qualified_trust_service = 1;
    add_act("digital_infra.tsp.qualified")->qualified_trust_service = 1;
    add_act("food.business")->retail_only = 1;
    add_act("waste_water.operator")->non_essential_part = 1;
    add_act("digital_infra.dns")->root_name_server = 1;
    add_act("domain_registration.service");
    add_act("education.institution");
    expect_valid();
}
END_TEST

START_TEST(flags_on_the_wrong_type_are_named)
{
    fx_reset();
    add_act("energy.electricity.dso")->qualified_trust_service = 1;
    expect_violation("activities[0].qualifiedTrustService");
    fx_reset();
    add_act("digital_infra.tsp.non_qualified")->qualified_trust_service = 1;
    expect_violation("activities[0].qualifiedTrustService");
    fx_reset();
    add_act("postal.provider")->retail_only = 1;
    expect_violation("activities[0].retailOnly");
    fx_reset();
    add_act("digital_infra.cloud")->non_essential_part = 1;
    expect_violation("activities[0].nonEssentialPart");
    fx_reset();
    add_act("digital_infra.tld_registry")->root_name_server = 1;
    expect_violation("activities[0].rootNameServer");
}
END_TEST

START_TEST(too_many_activities)
{
    fx_reset();
    for (int i = 0; i <= BW_SCOPING_MAX_ACTIVITIES; i++)
        add_act("postal.provider");
    expect_violation("activities");
}
END_TEST

START_TEST(size_contradictions)
{
    fx_reset();
    fx.facts.size = &fx.size;
    fx.size.newly_established = 1;
    fx.size.previous_period = &fx.prev;
    expect_violation("size.previousPeriod");
    fx_reset();
    fx.facts.size = &fx.size;
    fx.size.undertaking_worldwide_turnover_eur = -1;
    expect_violation("size.undertakingWorldwideTurnoverEur");
    fx_reset();
    fx.facts.size = &fx.size;
    fx.size.previous_period = &fx.prev;
    fx.prev.balance_sheet_total_eur = -1;
    expect_violation("size.previousPeriod.balanceSheetTotalEur");
}
END_TEST

START_TEST(public_administration_contradictions)
{
    fx_reset();
    fx.facts.public_administration = &fx.pa;
    fx.pa.level = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__CENTRAL;
    fx.pa.risk_assessment_positive = 1;
    expect_violation("publicAdministration.riskAssessmentPositive");
    fx_reset();
    fx.facts.public_administration = &fx.pa;
    fx.pa.level = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__REGIONAL;
    add_act("public_admin.central");
    expect_violation("activities[0].entityType");
    fx_reset();
    add_act("public_admin.central");
    add_act("public_admin.local");
    expect_violation("activities[1].entityType");
    fx_reset();
    fx.facts.public_administration = &fx.pa;
    fx.pa.level = 9;
    expect_violation("publicAdministration.level");
}
END_TEST

START_TEST(public_administration_combinations_that_pass)
{
    /* A court at central level is no contradiction: Art 6(35) decides. */
    fx_reset();
    fx.facts.public_administration = &fx.pa;
    fx.pa.level = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__CENTRAL;
    fx.pa.body = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__JUDICIARY;
    add_act("public_admin.central");
    expect_valid();
    fx_reset();
    fx.facts.public_administration = &fx.pa;
    fx.pa.level = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__REGIONAL;
    fx.pa.risk_assessment_positive = 1;
    add_act("digital_infra.cloud");
    expect_valid();
}
END_TEST

START_TEST(member_state_contradictions)
{
    char *services[] = {"DE", "FR"};
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.dora_exempted = 1;
    add_act("digital_infra.cloud");
    expect_violation("memberState.doraExempted");
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.dora_exempted = 1;
    add_act("banking.credit_institution");
    expect_valid();
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.establishment = "DE";
    fx.ms.representative = "DE";
    expect_violation("memberState.representative");
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.services_in = services;
    fx.ms.n_services_in = 2;
    fx.ms.representative = "IT";
    expect_violation("memberState.representative");
    fx.ms.representative = "FR";
    expect_valid();
    fx.ms.representative = "US";
    expect_violation("memberState.representative");
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.security_exemption = 7;
    expect_violation("memberState.securityExemption");
}
END_TEST

START_TEST(dora_exemption_only_for_credit_institutions)
{
    /* DORA Art 2(4) lets a Member State exempt only the credit institutions
     * of Directive 2013/36/EU Art 2(5)(4)-(23); NIS2 Art 2(10) follows it. */
    static const char *const not_banks[] = {"fmi.ccp", "fmi.trading_venue_operator",
                                            "digital_infra.cloud"};
    for (size_t i = 0; i < 3; i++) {
        fx_reset();
        fx.facts.member_state = &fx.ms;
        fx.ms.dora_exempted = 1;
        add_act(not_banks[i]);
        expect_violation("memberState.doraExempted");
    }
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.dora_exempted = 1;
    add_act("fmi.ccp");
    add_act("banking.credit_institution");
    expect_valid();
}
END_TEST

#define INVESTOR(x) BULWARK__SCOPING__V1__PARTNER_ENTERPRISE__INVESTOR_EXCEPTION__##x

START_TEST(investor_exception_figures_annex_art_3_2)
{
    fx_reset();
    add_partner(30)->investor_exception = INVESTOR(BUSINESS_ANGEL);
    expect_violation("size.partnerEnterprises[0].businessAngelInvestmentEur");
    fx.partner.business_angel_investment_eur = 900000;
    expect_valid();
    fx.partner.business_angel_investment_eur = -1;
    expect_violation("size.partnerEnterprises[0].businessAngelInvestmentEur");
    fx_reset();
    add_partner(30)->investor_exception = INVESTOR(VENTURE_CAPITAL_COMPANY);
    expect_valid();
    fx.partner.business_angel_investment_eur = 900000;
    expect_violation("size.partnerEnterprises[0].businessAngelInvestmentEur");
    fx_reset();
    add_partner(30)->investor_exception = INVESTOR(AUTONOMOUS_LOCAL_AUTHORITY);
    expect_violation("size.partnerEnterprises[0].localAuthorityBudgetEur");
    expect_violation("size.partnerEnterprises[0].localAuthorityInhabitants");
    fx.partner.local_authority_budget_eur = 8000000;
    fx.partner.local_authority_inhabitants = 4000;
    expect_valid();
    fx.partner.investor_exception = INVESTOR(INSTITUTIONAL_INVESTOR);
    expect_violation("size.partnerEnterprises[0].localAuthorityBudgetEur");
    expect_violation("size.partnerEnterprises[0].localAuthorityInhabitants");
    fx_reset();
    add_partner(30)->investor_exception = 42;
    expect_violation("size.partnerEnterprises[0].investorException");
}
END_TEST

START_TEST(earlier_periods_annex_art_4_2)
{
    fx_reset();
    fx.facts.size = &fx.size;
    fx.size.earlier_periods = fx.earlier_ptrs;
    fx.size.n_earlier_periods = 1;
    expect_violation("size.earlierPeriods"); /* no previousPeriod */
    fx.size.previous_period = &fx.prev;
    expect_valid();
    fx.earlier[0].staff_headcount = -3;
    expect_violation("size.earlierPeriods[0].staffHeadcount");
    fx.earlier[0].staff_headcount = 3;
    fx.size.newly_established = 1;
    fx.size.previous_period = NULL;
    expect_violation("size.earlierPeriods");
    fx.size.newly_established = 0;
    fx.size.previous_period = &fx.prev;
    fx.size.n_earlier_periods = BW_SCOPING_MAX_EARLIER_PERIODS + 1;
    expect_violation("size.earlierPeriods");
    fx.size.n_earlier_periods = BW_SCOPING_MAX_EARLIER_PERIODS;
    expect_valid();
}
END_TEST

START_TEST(territory_and_main_establishment_inputs)
{
    char *services[] = {"DE"};
    /* Art 2(1): no activity in the Union contradicts every Union fact. */
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.no_activity_in_union = 1;
    add_act("digital_infra.cloud");
    expect_valid();
    fx.ms.services_in = services;
    fx.ms.n_services_in = 1;
    expect_violation("memberState.noActivityInUnion");
    fx.ms.n_services_in = 0;
    fx.ms.largest_workforce_in = "AT";
    expect_violation("memberState.noActivityInUnion");
    fx.ms.largest_workforce_in = "";
    add_act("public_admin.central");
    expect_violation("memberState.noActivityInUnion");
    /* Art 26(2): Member State codes, and no representative beside them. */
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.cybersecurity_decisions_in = "US";
    expect_violation("memberState.cybersecurityDecisionsIn");
    fx.ms.cybersecurity_decisions_in = "";
    fx.ms.cyber_operations_in = "de";
    expect_violation("memberState.cyberOperationsIn");
    fx.ms.cyber_operations_in = "DE";
    expect_valid();
    fx.ms.representative = "DE";
    expect_violation("memberState.representative");
}
END_TEST

START_TEST(profile_must_exist)
{
    bw_profiles_t *profiles;
    char err[256];
    ck_assert_int_eq(bw_profiles_load_builtin(&profiles, err, sizeof(err)), 0);
    fx_reset();
    fx.facts.member_state = &fx.ms;
    fx.ms.profile = "DE";
    expect_violation("memberState.profile"); /* no profiles known */
    fx.facts.profiles = profiles;
    expect_valid();
    fx.ms.profile = "NONE";
    expect_valid();
    fx.ms.profile = "ES";
    bw_call_t *call = check_facts(BW_EINVAL);
    ck_assert(has_violation(call, "memberState.profile"));
    ck_assert_ptr_nonnull(strstr(call->violations[0].message, "AT, BE, DE"));
    free_call(call);
    bw_profiles_free(profiles);
}
END_TEST

Suite *suite_facts(void)
{
    Suite *s = suite_create("scoping facts");
    TCase *tc = tcase_create("validate");
    tcase_add_test(tc, time_zones);
    tcase_add_test(tc, member_states);
    tcase_add_test(tc, valid_entity_passes);
    tcase_add_test(tc, each_bad_field_is_named);
    tcase_add_test(tc, designation_needs_a_ground);
    tcase_add_test(tc, unknown_entity_type_is_named);
    tcase_add_test(tc, catalogue_codes_pass);
    tcase_add_test(tc, flags_on_the_wrong_type_are_named);
    tcase_add_test(tc, too_many_activities);
    tcase_add_test(tc, size_contradictions);
    tcase_add_test(tc, public_administration_contradictions);
    tcase_add_test(tc, public_administration_combinations_that_pass);
    tcase_add_test(tc, member_state_contradictions);
    tcase_add_test(tc, dora_exemption_only_for_credit_institutions);
    tcase_add_test(tc, investor_exception_figures_annex_art_3_2);
    tcase_add_test(tc, earlier_periods_annex_art_4_2);
    tcase_add_test(tc, territory_and_main_establishment_inputs);
    tcase_add_test(tc, profile_must_exist);
    suite_add_tcase(s, tc);
    return s;
}
