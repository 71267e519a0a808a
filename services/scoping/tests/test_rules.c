/*
 * The NIS2 rules, one test per rule and per edge of the law: the size test
 * and its worked examples, each exclusion and carve-out, each letter of
 * Art 3(1), Art 3(2), several activities, domain registration, and the
 * consequences (supervision, fines at their boundary, jurisdiction,
 * registration, obligations, DORA, Member State options).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalogue.h"
#include "facts.h"
#include "profiles.h"
#include "rules.h"
#include "status.h"
#include "suites.h"

#define CLS(x) BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__##x
#define SIZE(x) BULWARK__SCOPING__V1__ASSESSMENT__SIZE_CLASS__##x
#define SUP(x) BULWARK__SCOPING__V1__ASSESSMENT__SUPERVISION__##x
#define JUR(x) BULWARK__SCOPING__V1__JURISDICTION__RULE__##x
#define LEVEL(x) BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__##x
#define BODY(x) BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__##x
#define DOMAIN(x) BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__EXCLUDED_DOMAIN__##x
#define GROUND(x) BULWARK__SCOPING__V1__MEMBER_STATE__IDENTIFIED_UNDER__##x
#define DESIGNATION(x) BULWARK__SCOPING__V1__MEMBER_STATE__DESIGNATION__##x
#define EXEMPTION(x) BULWARK__SCOPING__V1__MEMBER_STATE__SECURITY_EXEMPTION__##x
#define INVESTOR(x) BULWARK__SCOPING__V1__PARTNER_ENTERPRISE__INVESTOR_EXCEPTION__##x
#define REGIME(x) BULWARK__SCOPING__V1__INCIDENT_REGIME__##x

#define MAX_ACTS 8
#define MAX_GROUP 4

typedef Bulwark__Scoping__V1__Assessment assessment_t;

/* The facts of one test, built up by the helpers below. */
static struct {
    Bulwark__Scoping__V1__Activity acts[MAX_ACTS];
    Bulwark__Scoping__V1__Activity *act_ptrs[MAX_ACTS];
    Bulwark__Scoping__V1__Size size;
    Bulwark__Scoping__V1__SizeFigures prev;
    Bulwark__Scoping__V1__SizeFigures earlier[MAX_GROUP];
    Bulwark__Scoping__V1__SizeFigures *earlier_ptrs[MAX_GROUP];
    Bulwark__Scoping__V1__SizeFigures linked[MAX_GROUP];
    Bulwark__Scoping__V1__SizeFigures *linked_ptrs[MAX_GROUP];
    Bulwark__Scoping__V1__PartnerEnterprise partners[MAX_GROUP];
    Bulwark__Scoping__V1__PartnerEnterprise *partner_ptrs[MAX_GROUP];
    Bulwark__Scoping__V1__PublicAdministration pa;
    Bulwark__Scoping__V1__MemberState ms;
    bw_scoping_facts_t facts;
    bw_arena_t *arena;
} F;

static void setup(void)
{
    memset(&F, 0, sizeof(F));
    bulwark__scoping__v1__size__init(&F.size);
    bulwark__scoping__v1__size_figures__init(&F.prev);
    bulwark__scoping__v1__public_administration__init(&F.pa);
    bulwark__scoping__v1__member_state__init(&F.ms);
    F.facts.activities = F.act_ptrs;
    F.arena = bw_arena_create(16384);
}

static void teardown(void)
{
    bw_arena_destroy(F.arena);
}

static Bulwark__Scoping__V1__Activity *act(const char *code)
{
    ck_assert_uint_lt(F.facts.n_activities, MAX_ACTS);
    size_t i = F.facts.n_activities++;
    bulwark__scoping__v1__activity__init(&F.acts[i]);
    F.acts[i].entity_type = (char *)code;
    F.acts[i].principal_activity = 1;
    F.act_ptrs[i] = &F.acts[i];
    return &F.acts[i];
}

static void size(double staff, int64_t turnover, int64_t balance)
{
    F.size.staff_headcount = staff;
    F.size.annual_turnover_eur = turnover;
    F.size.balance_sheet_total_eur = balance;
    F.facts.size = &F.size;
}

static void previous(double staff, int64_t turnover, int64_t balance)
{
    F.prev.staff_headcount = staff;
    F.prev.annual_turnover_eur = turnover;
    F.prev.balance_sheet_total_eur = balance;
    F.size.previous_period = &F.prev;
}

static void linked(double staff, int64_t turnover, int64_t balance)
{
    size_t i = F.size.n_linked_enterprises++;
    bulwark__scoping__v1__size_figures__init(&F.linked[i]);
    F.linked[i].staff_headcount = staff;
    F.linked[i].annual_turnover_eur = turnover;
    F.linked[i].balance_sheet_total_eur = balance;
    F.linked_ptrs[i] = &F.linked[i];
    F.size.linked_enterprises = F.linked_ptrs;
}

/* An accounting period before the previous one, appended after the others
 * (so call it oldest first). */
static void earlier(double staff, int64_t turnover, int64_t balance)
{
    size_t i = F.size.n_earlier_periods++;
    bulwark__scoping__v1__size_figures__init(&F.earlier[i]);
    F.earlier[i].staff_headcount = staff;
    F.earlier[i].annual_turnover_eur = turnover;
    F.earlier[i].balance_sheet_total_eur = balance;
    F.earlier_ptrs[i] = &F.earlier[i];
    F.size.earlier_periods = F.earlier_ptrs;
}

static Bulwark__Scoping__V1__PartnerEnterprise *partner(double staff, int64_t turnover,
                                                        int64_t balance, double percent)
{
    size_t i = F.size.n_partner_enterprises++;
    bulwark__scoping__v1__partner_enterprise__init(&F.partners[i]);
    F.partners[i].staff_headcount = staff;
    F.partners[i].annual_turnover_eur = turnover;
    F.partners[i].balance_sheet_total_eur = balance;
    F.partners[i].holding_percent = percent;
    F.partner_ptrs[i] = &F.partners[i];
    F.size.partner_enterprises = F.partner_ptrs;
    return &F.partners[i];
}

static Bulwark__Scoping__V1__PublicAdministration *pa(void)
{
    F.facts.public_administration = &F.pa;
    return &F.pa;
}

static Bulwark__Scoping__V1__MemberState *ms(void)
{
    F.facts.member_state = &F.ms;
    return &F.ms;
}

/* Checks the facts pass validation, then assesses them. */
static const assessment_t *assess(void)
{
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = F.arena;
    int err = bw_scoping_validate_facts(&call, &F.facts);
    ck_assert_msg(err == 0, "facts rejected: %s: %s",
                  call.n_violations ? call.violations[0].field : "",
                  call.n_violations ? call.violations[0].message : "");
    assessment_t *a = NULL;
    ck_assert_int_eq(bw_rules_assess(F.arena, &F.facts, &a), 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->ruleset_version, BW_SCOPING_RULESET_VERSION);
    for (size_t i = 0; i < a->n_reasons; i++) {
        ck_assert_str_ne(a->reasons[i]->code, "");
        ck_assert_str_ne(a->reasons[i]->article, "");
        ck_assert_str_ne(a->reasons[i]->message, "");
    }
    return a;
}

static const Bulwark__Scoping__V1__Assessment__Reason *reason(const assessment_t *a,
                                                              const char *code)
{
    for (size_t i = 0; i < a->n_reasons; i++)
        if (strcmp(a->reasons[i]->code, code) == 0)
            return a->reasons[i];
    return NULL;
}

static int has_basis(const assessment_t *a, const char *article)
{
    for (size_t i = 0; i < a->n_basis; i++)
        if (strcmp(a->basis[i], article) == 0)
            return 1;
    return 0;
}

static const char *obligation(const assessment_t *a, const char *article)
{
    for (size_t i = 0; i < a->n_obligations; i++)
        if (strcmp(a->obligations[i]->article, article) == 0)
            return a->obligations[i]->summary;
    return NULL;
}

static const Bulwark__Scoping__V1__Assessment__RegistrationDuty *duty(const assessment_t *a,
                                                                      const char *article)
{
    for (size_t i = 0; i < a->n_registration_duties; i++)
        if (strcmp(a->registration_duties[i]->article, article) == 0)
            return a->registration_duties[i];
    return NULL;
}

static int has_option(const assessment_t *a, const char *prefix)
{
    for (size_t i = 0; i < a->n_member_state_options; i++)
        if (strncmp(a->member_state_options[i], prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

#define ck_assert_reason(a, code) ck_assert_msg(reason((a), (code)) != NULL, "no reason %s", (code))
#define ck_assert_basis(a, article)                                                                \
    ck_assert_msg(has_basis((a), (article)), "basis lacks %s", (article))
#define ck_assert_class(a, want)                                                                   \
    ck_assert_msg((a)->classification == CLS(want),                                                \
                  "classification %d, want %s (first reason %s)", (a)->classification, #want,      \
                  (a)->n_reasons ? (a)->reasons[0]->code : "none")

/* ---- size: Recommendation 2003/361 Annex Art 2 ----------------------------- */

static int size_of(double staff, int64_t turnover, int64_t balance)
{
    bw_size_figures_t f = {staff, turnover, balance};
    return bw_rules_size_class(&f);
}

/* Nothing is dropped however many activities an entity has: each of as many
 * catalogue types as the facts may carry gets at least one reason naming it. */
START_TEST(every_activity_keeps_its_reasons)
{
    size_t n_types = 0;
    const bw_catalogue_entry_t *types = bw_catalogue_entries(&n_types);
    static Bulwark__Scoping__V1__Activity acts[BW_SCOPING_MAX_ACTIVITIES];
    static Bulwark__Scoping__V1__Activity *ptrs[BW_SCOPING_MAX_ACTIVITIES];
    size_t n = 0;
    for (size_t i = 0; i < n_types && n < BW_SCOPING_MAX_ACTIVITIES; i++) {
        bulwark__scoping__v1__activity__init(&acts[n]);
        acts[n].entity_type = (char *)types[i].code;
        acts[n].principal_activity = n == 0;
        ptrs[n] = &acts[n];
        n++;
    }
    ck_assert_uint_ge(n, 40);
    F.facts.activities = ptrs;
    F.facts.n_activities = n;
    F.size.staff_headcount = 300;
    F.facts.size = &F.size;
    assessment_t *a = NULL;
    ck_assert_int_eq(bw_rules_assess(F.arena, &F.facts, &a), 0);
    for (size_t i = 0; i < n; i++) {
        size_t hits = 0;
        for (size_t r = 0; r < a->n_reasons; r++)
            hits += strstr(a->reasons[r]->message, acts[i].entity_type) != NULL;
        ck_assert_msg(hits > 0, "no reason names %s (%zu reasons)", acts[i].entity_type,
                      a->n_reasons);
    }
}
END_TEST

START_TEST(size_260_staff_is_large_on_headcount_alone)
{
    ck_assert_int_eq(size_of(260, 40000000, 30000000), SIZE(LARGE));
}
END_TEST

START_TEST(size_30_staff_over_both_ceilings_is_large)
{
    ck_assert_int_eq(size_of(30, 60000000, 50000000), SIZE(LARGE));
}
END_TEST

START_TEST(size_40_staff_12m_is_medium_9m_balance_small)
{
    ck_assert_int_eq(size_of(40, 12000000, 12000000), SIZE(MEDIUM));
    ck_assert_int_eq(size_of(40, 12000000, 9000000), SIZE(SMALL));
}
END_TEST

START_TEST(size_200_staff_balance_within_43m_is_medium)
{
    ck_assert_int_eq(size_of(200, 60000000, 40000000), SIZE(MEDIUM));
}
END_TEST

START_TEST(size_boundaries)
{
    ck_assert_int_eq(size_of(9.5, 2000000, 2000000), SIZE(MICRO));
    ck_assert_int_eq(size_of(9, 2000001, 2000000), SIZE(MICRO)); /* either ceiling */
    ck_assert_int_eq(size_of(9, 2000001, 2000001), SIZE(SMALL));
    ck_assert_int_eq(size_of(10, 0, 0), SIZE(SMALL));
    ck_assert_int_eq(size_of(49.9, 10000000, 99000000), SIZE(SMALL));
    ck_assert_int_eq(size_of(50, 0, 0), SIZE(MEDIUM));
    ck_assert_int_eq(size_of(249.5, 50000000, 99000000), SIZE(MEDIUM));
    ck_assert_int_eq(size_of(249, 50000001, 43000000), SIZE(MEDIUM));
    ck_assert_int_eq(size_of(249, 50000001, 43000001), SIZE(LARGE));
    ck_assert_int_eq(size_of(250, 0, 0), SIZE(LARGE));
}
END_TEST

START_TEST(size_is_reported_with_its_figures)
{
    act("energy.electricity.dso");
    size(260, 40000000, 30000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    const Bulwark__Scoping__V1__Assessment__Reason *r = reason(a, "SIZE_CLASS");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->article, "Recommendation 2003/361 Annex Art 2");
    ck_assert_ptr_nonnull(strstr(r->message, "260 staff"));
    ck_assert_ptr_nonnull(strstr(r->message, "EUR 40000000"));
}
END_TEST

START_TEST(size_partner_pro_rata)
{
    /* 30 staff, 8M/5M own + 30 % of 100 staff, 20M/20M = 60 staff, 14M/11M. */
    act("digital_infra.cloud");
    size(30, 8000000, 5000000);
    partner(100, 20000000, 20000000, 30);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(MEDIUM));
    ck_assert_reason(a, "SIZE_PARTNER_ENTERPRISES");
    ck_assert_ptr_nonnull(strstr(reason(a, "SIZE_CLASS")->message, "60 staff"));
    ck_assert_ptr_nonnull(strstr(reason(a, "SIZE_CLASS")->message, "EUR 14000000"));
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "Recommendation 2003/361 Annex Art 6(2)");
}
END_TEST

START_TEST(size_partner_below_25_percent_is_not_added)
{
    act("digital_infra.cloud");
    size(30, 8000000, 5000000);
    partner(100, 20000000, 20000000, 24.9);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(SMALL));
    ck_assert_reason(a, "SIZE_PARTNER_BELOW_25_PERCENT");
    ck_assert_class(a, OUT_OF_SCOPE);
}
END_TEST

START_TEST(size_linked_at_100_percent)
{
    act("digital_infra.cloud");
    size(40, 8000000, 8000000);
    linked(20, 5000000, 5000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(MEDIUM));
    ck_assert_reason(a, "SIZE_LINKED_ENTERPRISES");
    ck_assert_ptr_nonnull(strstr(reason(a, "SIZE_CLASS")->message, "60 staff"));
}
END_TEST

START_TEST(size_recital_16_independence_sizes_alone)
{
    act("digital_infra.cloud");
    size(40, 8000000, 8000000);
    linked(20, 5000000, 5000000);
    partner(100, 20000000, 20000000, 40);
    ms()->independent_of_group = 1;
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(SMALL));
    ck_assert_reason(a, "SIZE_INDEPENDENT_OF_GROUP");
    ck_assert_ptr_null(reason(a, "SIZE_LINKED_ENTERPRISES"));
    ck_assert(has_option(a, "memberState.independentOfGroup"));
}
END_TEST

START_TEST(size_public_control_disregarded)
{
    /* A municipal utility is sized on its own figures (NIS2 Art 2(1)). */
    act("drinking_water.supplier_distributor");
    size(60, 12000000, 30000000);
    F.size.public_body_controlled = 1;
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(MEDIUM));
    ck_assert_str_eq(reason(a, "SIZE_PUBLIC_CONTROL_DISREGARDED")->article, "NIS2 Art 2(1)");
    ck_assert_class(a, IMPORTANT);
}
END_TEST

START_TEST(size_two_period_rule_keeps_previous_class)
{
    /* Large this period, medium the one before: stays medium. */
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    previous(200, 40000000, 30000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(MEDIUM));
    ck_assert_reason(a, "SIZE_TWO_PERIOD_RULE");
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "Recommendation 2003/361 Annex Art 4(2)");
}
END_TEST

START_TEST(size_two_period_rule_keeps_large_when_falling)
{
    act("energy.electricity.dso");
    size(200, 40000000, 30000000);
    previous(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_class(a, ESSENTIAL);
}
END_TEST

START_TEST(size_two_periods_agreeing_change_nothing)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    previous(280, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_ptr_null(reason(a, "SIZE_TWO_PERIOD_RULE"));
}
END_TEST

START_TEST(size_two_period_rule_counts_the_group_in_both_periods)
{
    /* The previous period is sized with the same linked enterprises, so a
     * new large parent changes the status at once. */
    act("energy.electricity.dso");
    size(40, 8000000, 8000000);
    previous(40, 8000000, 8000000);
    linked(500, 900000000, 900000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_ptr_null(reason(a, "SIZE_TWO_PERIOD_RULE"));
}
END_TEST

START_TEST(size_newly_established_uses_estimates)
{
    act("energy.electricity.dso");
    size(300, 0, 0);
    F.size.newly_established = 1;
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_reason(a, "SIZE_NEWLY_ESTABLISHED");
    ck_assert_class(a, ESSENTIAL);
}
END_TEST

START_TEST(size_not_given)
{
    act("digital_infra.cloud");
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(NOT_APPLICABLE));
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_SIZE_NOT_GIVEN");
}
END_TEST

/* ---- exclusions (Art 2(6)-(10), Art 6(35)) -------------------------------- */

START_TEST(excluded_domains_of_art_2_7)
{
    static const struct {
        int domain;
        const char *code;
    } cases[] = {
        {DOMAIN(NATIONAL_SECURITY), "EXCLUDED_NATIONAL_SECURITY"},
        {DOMAIN(PUBLIC_SECURITY), "EXCLUDED_PUBLIC_SECURITY"},
        {DOMAIN(DEFENCE), "EXCLUDED_DEFENCE"},
        {DOMAIN(LAW_ENFORCEMENT), "EXCLUDED_LAW_ENFORCEMENT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        teardown();
        setup();
        pa()->level = LEVEL(CENTRAL);
        F.pa.excluded_domain = cases[i].domain;
        ms()->critical_entity_under_cer = 1;
        const assessment_t *a = assess();
        ck_assert_class(a, OUT_OF_SCOPE);
        ck_assert_reason(a, cases[i].code);
        ck_assert_uint_eq(a->n_basis, 1);
        ck_assert_str_eq(a->basis[0], "NIS2 Art 2(7)");
        ck_assert_int_eq(a->supervision, SUP(NONE));
        ck_assert_ptr_null(a->max_fine);
        ck_assert_uint_eq(a->n_obligations, 0);
        ck_assert_uint_eq(a->n_registration_duties, 0);
    }
}
END_TEST

START_TEST(national_security_mentions_art_2_6)
{
    pa()->level = LEVEL(CENTRAL);
    F.pa.excluded_domain = DOMAIN(NATIONAL_SECURITY);
    const assessment_t *a = assess();
    ck_assert_ptr_nonnull(strstr(reason(a, "EXCLUDED_NATIONAL_SECURITY")->message, "Art 2(6)"));
}
END_TEST

START_TEST(tsp_carve_back_art_2_9)
{
    pa()->level = LEVEL(CENTRAL);
    F.pa.excluded_domain = DOMAIN(LAW_ENFORCEMENT);
    act("digital_infra.tsp")->qualified_trust_service = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_reason(a, "EXCLUDED_LAW_ENFORCEMENT");
    ck_assert_reason(a, "TSP_CARVE_BACK");
    ck_assert_basis(a, "NIS2 Art 2(9)");
    ck_assert_basis(a, "NIS2 Art 3(1)(b)");
    /* The public administration itself stays excluded. */
    ck_assert_ptr_null(reason(a, "ESSENTIAL_CENTRAL_PUBLIC_ADMINISTRATION"));
}
END_TEST

START_TEST(member_state_exemption_whole_entity_art_2_8)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    ms()->security_exemption = EXEMPTION(WHOLE_ENTITY);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "EXEMPTED_WHOLE_ENTITY");
    ck_assert_basis(a, "NIS2 Art 2(8)");
    ck_assert(has_option(a, "memberState.securityExemption"));
    /* ... but never for trust services. */
    act("digital_infra.tsp.non_qualified");
    a = assess();
    ck_assert_class(a, ESSENTIAL); /* large non-qualified TSP: Art 3(1)(a) */
    ck_assert_reason(a, "TSP_CARVE_BACK");
}
END_TEST

START_TEST(member_state_exemption_from_art_21_23_keeps_class)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    ms()->security_exemption = EXEMPTION(RISK_MANAGEMENT_AND_REPORTING);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_reason(a, "EXEMPTED_RISK_MANAGEMENT_AND_REPORTING");
    ck_assert_ptr_nonnull(strstr(obligation(a, "NIS2 Art 21"), "Art 2(8)"));
    ck_assert_ptr_nonnull(strstr(obligation(a, "NIS2 Art 23"), "Art 2(8)"));
    ck_assert_ptr_null(strstr(obligation(a, "NIS2 Art 20"), "Art 2(8)"));
}
END_TEST

START_TEST(dora_exempted_art_2_10_has_no_carve_back)
{
    act("banking.credit_institution");
    act("digital_infra.tsp")->qualified_trust_service = 1;
    size(5000, 900000000, 900000000);
    ms()->dora_exempted = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "EXCLUDED_DORA_EXEMPTED");
    ck_assert_ptr_null(reason(a, "TSP_CARVE_BACK"));
    ck_assert_uint_eq(a->n_basis, 1);
    ck_assert_str_eq(a->basis[0], "NIS2 Art 2(10)");
}
END_TEST

START_TEST(judiciary_parliament_central_bank_are_not_public_administration)
{
    static const struct {
        int body;
        const char *code;
    } cases[] = {
        {BODY(JUDICIARY), "JUDICIARY_NOT_PUBLIC_ADMINISTRATION"},
        {BODY(PARLIAMENT), "PARLIAMENT_NOT_PUBLIC_ADMINISTRATION"},
        {BODY(CENTRAL_BANK), "CENTRAL_BANK_NOT_PUBLIC_ADMINISTRATION"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        teardown();
        setup();
        pa()->level = LEVEL(CENTRAL);
        F.pa.body = cases[i].body;
        act("public_admin.central");
        const assessment_t *a = assess();
        ck_assert_class(a, OUT_OF_SCOPE);
        ck_assert_reason(a, cases[i].code);
        ck_assert_basis(a, "NIS2 Art 6(35)");
    }
}
END_TEST

START_TEST(judiciary_other_activities_still_count)
{
    /* Art 2(7) does not reach a court (no public administration entity),
     * but its other activities are assessed. */
    pa()->body = BODY(JUDICIARY);
    F.pa.excluded_domain = DOMAIN(LAW_ENFORCEMENT);
    act("digital_infra.data_centre");
    size(300, 10000000, 10000000);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_ptr_null(reason(a, "EXCLUDED_LAW_ENFORCEMENT"));
}
END_TEST

/* ---- Annex carve-outs ------------------------------------------------------ */

START_TEST(root_name_servers_are_carved_out)
{
    act("digital_infra.dns")->root_name_server = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "ROOT_NAME_SERVER");
    ck_assert_basis(a, "NIS2 Annex I pt 8");
}
END_TEST

START_TEST(waste_management_not_principal_activity)
{
    act("waste_mgmt.operator")->principal_activity = 0;
    size(100, 20000000, 20000000);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "WASTE_MANAGEMENT_NOT_PRINCIPAL");
    ck_assert_basis(a, "NIS2 Annex II pt 2");
    F.acts[0].principal_activity = 1;
    a = assess();
    ck_assert_class(a, IMPORTANT);
}
END_TEST

START_TEST(food_retail_only)
{
    act("food.business")->retail_only = 1;
    size(100, 20000000, 20000000);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "FOOD_RETAIL_ONLY");
    F.acts[0].retail_only = 0;
    ck_assert_class(assess(), IMPORTANT);
}
END_TEST

START_TEST(non_essential_parts)
{
    static const struct {
        const char *type, *code, *article;
    } cases[] = {
        {"drinking_water.supplier_distributor", "NON_ESSENTIAL_WATER_DISTRIBUTION",
         "NIS2 Annex I pt 6"},
        {"waste_water.operator", "NON_ESSENTIAL_WASTE_WATER", "NIS2 Annex I pt 7"},
        {"transport.road.road_authority", "NON_ESSENTIAL_ROAD_TRAFFIC_MANAGEMENT",
         "NIS2 Annex I pt 2(d)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        teardown();
        setup();
        act(cases[i].type)->non_essential_part = 1;
        size(1000, 900000000, 900000000);
        const assessment_t *a = assess();
        ck_assert_class(a, OUT_OF_SCOPE);
        ck_assert_str_eq(reason(a, cases[i].code)->article, cases[i].article);
        ck_assert_basis(a, cases[i].article);
        F.acts[0].non_essential_part = 0;
        ck_assert_class(assess(), ESSENTIAL);
    }
}
END_TEST

START_TEST(critical_medical_devices_leave_annex_ii)
{
    act("manufacturing.medical_devices");
    act("health.critical_medical_device_manufacturer");
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_reason(a, "MEDICAL_DEVICES_IN_ANNEX_I");
    ck_assert_class(a, ESSENTIAL);
    ck_assert_ptr_null(reason(a, "SEVERAL_ACTIVITIES_HIGHEST_WINS"));
}
END_TEST

START_TEST(space_excludes_pecn_providers)
{
    act("space.ground_infrastructure_operator");
    act("digital_infra.pecn");
    size(5, 1000000, 1000000);
    const assessment_t *a = assess();
    ck_assert_reason(a, "SPACE_PECN_PROVIDER");
    ck_assert_class(a, IMPORTANT);
}
END_TEST

START_TEST(education_institutions_are_no_research_organisations)
{
    act("research.organisation");
    act("education.institution");
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_reason(a, "RESEARCH_EDUCATION_INSTITUTION");
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_EDUCATION_NOT_COVERED");
}
END_TEST

/* ---- Art 3(1): essential ---------------------------------------------------- */

START_TEST(art_3_1_a_large_annex_i)
{
    act("energy.electricity.dso");
    size(260, 40000000, 30000000);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_reason(a, "ESSENTIAL_LARGE_ANNEX_I");
    ck_assert_uint_eq(a->n_basis, 3);
    ck_assert_str_eq(a->basis[0], "Recommendation 2003/361 Annex Art 2");
    ck_assert_str_eq(a->basis[1], "NIS2 Art 2(1)");
    ck_assert_str_eq(a->basis[2], "NIS2 Art 3(1)(a)");
}
END_TEST

START_TEST(annex_i_medium_is_important_small_is_out)
{
    act("transport.rail.railway_undertaking");
    size(100, 20000000, 20000000);
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_reason(a, "IMPORTANT_BY_SIZE");
    ck_assert_basis(a, "NIS2 Art 3(2)");
    size(40, 9000000, 9000000);
    a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_BELOW_SIZE_CAP");
    ck_assert_basis(a, "NIS2 Art 2(1)");
}
END_TEST

START_TEST(annex_ii_large_is_important)
{
    act("postal.provider");
    size(5000, 900000000, 900000000);
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_reason(a, "IMPORTANT_BY_SIZE");
}
END_TEST

START_TEST(art_3_1_b_dns_tld_qualified_tsp_any_size)
{
    static const char *const codes[] = {"digital_infra.dns", "digital_infra.tld_registry",
                                        "digital_infra.tsp.qualified"};
    for (size_t i = 0; i < 3; i++) {
        teardown();
        setup();
        act(codes[i]);
        size(3, 100000, 100000);
        const assessment_t *a = assess();
        ck_assert_class(a, ESSENTIAL);
        ck_assert_int_eq(a->size_class, SIZE(MICRO));
        ck_assert_basis(a, "NIS2 Art 3(1)(b)");
    }
    teardown();
    setup();
    act("digital_infra.dns");
    const assessment_t *a = assess();
    ck_assert_uint_eq(a->n_basis, 2);
    ck_assert_str_eq(a->basis[0], "NIS2 Art 2(2)(a)(iii)");
    ck_assert_str_eq(a->basis[1], "NIS2 Art 3(1)(b)");
    ck_assert_str_eq(reason(a, "SIZE_INDEPENDENT_DNS")->article, "NIS2 Art 2(2)(a)(iii)");
}
END_TEST

START_TEST(tsp_qualified_flag_decides)
{
    act("digital_infra.tsp")->qualified_trust_service = 1;
    size(3, 100000, 100000);
    ck_assert_class(assess(), ESSENTIAL);
    F.acts[0].qualified_trust_service = 0;
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "NIS2 Art 2(2)(a)(ii)");
}
END_TEST

START_TEST(non_qualified_tsp_by_size)
{
    act("digital_infra.tsp.non_qualified");
    size(5, 1000000, 1000000);
    ck_assert_class(assess(), IMPORTANT);
    size(100, 20000000, 20000000);
    ck_assert_class(assess(), IMPORTANT);
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_basis(a, "NIS2 Art 3(1)(a)");
}
END_TEST

START_TEST(art_3_1_c_medium_ecn_is_essential)
{
    act("digital_infra.pecs");
    size(100, 20000000, 20000000);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_reason(a, "ESSENTIAL_MEDIUM_ECN");
    ck_assert_basis(a, "NIS2 Art 3(1)(c)");
    ck_assert_basis(a, "NIS2 Art 2(2)(a)(i)");
    size(5, 1000000, 1000000);
    a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_reason(a, "IMPORTANT_ECN");
    size(300, 60000000, 50000000);
    a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_basis(a, "NIS2 Art 3(1)(a)");
}
END_TEST

START_TEST(art_3_1_d_central_public_administration)
{
    act("public_admin.central");
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_basis(a, "NIS2 Art 2(2)(f)(i)");
    ck_assert_basis(a, "NIS2 Art 3(1)(d)");
    ck_assert_int_eq(a->jurisdiction->rule, JUR(ESTABLISHING_STATE));
    ck_assert_reason(a, "FINES_PUBLIC_ADMINISTRATION");
}
END_TEST

START_TEST(public_administration_level_implies_the_type)
{
    pa()->level = LEVEL(CENTRAL);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_reason(a, "ESSENTIAL_CENTRAL_PUBLIC_ADMINISTRATION");
}
END_TEST

START_TEST(art_3_1_e_member_state_designated_essential)
{
    act("chemicals.manufacture_distribution");
    size(5, 1000000, 1000000);
    ms()->identified_under = GROUND(ART_2_2_C);
    F.ms.designation = DESIGNATION(ESSENTIAL);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_basis(a, "NIS2 Art 2(2)(c)");
    ck_assert_basis(a, "NIS2 Art 3(1)(e)");
    ck_assert_reason(a, "MEMBER_STATE_IDENTIFIED_PUBLIC_SAFETY");
    ck_assert(has_option(a, "memberState.identifiedUnder"));
    ck_assert(has_option(a, "memberState.designation"));
}
END_TEST

START_TEST(art_3_2_member_state_identified_not_essential)
{
    act("chemicals.manufacture_distribution");
    size(5, 1000000, 1000000);
    ms()->identified_under = GROUND(ART_2_2_B);
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "NIS2 Art 2(2)(b)");
    ck_assert_reason(a, "IMPORTANT_MEMBER_STATE_IDENTIFIED");
    F.ms.designation = DESIGNATION(IMPORTANT);
    ck_assert_class(assess(), IMPORTANT);
}
END_TEST

START_TEST(identification_needs_an_annex_type)
{
    act("education.institution");
    ms()->identified_under = GROUND(ART_2_2_D);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "MEMBER_STATE_IDENTIFICATION_WITHOUT_ANNEX_TYPE");
}
END_TEST

START_TEST(art_3_1_f_cer_critical_entity)
{
    ms()->critical_entity_under_cer = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_uint_eq(a->n_basis, 2);
    ck_assert_str_eq(a->basis[0], "NIS2 Art 2(3)");
    ck_assert_str_eq(a->basis[1], "NIS2 Art 3(1)(f)");
    ck_assert_int_eq(a->jurisdiction->rule, JUR(ESTABLISHMENT));
}
END_TEST

START_TEST(art_3_1_g_former_oes_opt_in)
{
    act("energy.gas.dso");
    size(5, 1000000, 1000000);
    ms()->former_oes_opt_in = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_basis(a, "NIS2 Art 3(1)(g)");
    ck_assert(has_option(a, "memberState.formerOesOptIn"));
    ck_assert_reason(a, "SEVERAL_ACTIVITIES_HIGHEST_WINS");
}
END_TEST

START_TEST(regional_public_administration)
{
    act("public_admin.regional");
    pa()->level = LEVEL(REGIONAL);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_REGIONAL_PUBLIC_ADMINISTRATION_NOT_ASSESSED");
    ck_assert(has_option(a, "publicAdministration.riskAssessmentPositive"));
    F.pa.risk_assessment_positive = 1;
    a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "NIS2 Art 2(2)(f)(ii)");
    ck_assert_basis(a, "NIS2 Art 3(2)");
}
END_TEST

START_TEST(local_public_administration_per_national_law)
{
    act("public_admin.local");
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_LOCAL_PUBLIC_ADMINISTRATION_NOT_COVERED");
    ck_assert(has_option(a, "memberState.coversLocalPublicAdministration"));
    ms()->covers_local_public_administration = 1;
    a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "NIS2 Art 2(5)(a)");
}
END_TEST

START_TEST(education_per_national_law)
{
    act("education.institution");
    ck_assert_class(assess(), OUT_OF_SCOPE);
    ms()->covers_education = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_basis(a, "NIS2 Art 2(5)(b)");
    ck_assert(has_option(a, "memberState.coversEducation"));
}
END_TEST

START_TEST(domain_registration_only)
{
    act("domain_registration.service");
    size(3, 100000, 100000);
    ms()->main_establishment = "NL";
    const assessment_t *a = assess();
    ck_assert_class(a, DOMAIN_REGISTRATION_ONLY);
    ck_assert_basis(a, "NIS2 Art 2(4)");
    ck_assert_int_eq(a->supervision, SUP(NONE));
    ck_assert_ptr_null(a->max_fine);
    ck_assert_int_eq(a->jurisdiction->rule, JUR(MAIN_ESTABLISHMENT));
    ck_assert_str_eq(a->jurisdiction->member_states[0], "NL");
    ck_assert_ptr_nonnull(duty(a, "NIS2 Art 3(4)"));
    ck_assert_ptr_nonnull(duty(a, "NIS2 Art 27(2)"));
    ck_assert_uint_eq(a->n_obligations, 1);
    ck_assert_ptr_nonnull(obligation(a, "NIS2 Art 28"));
    ck_assert(!a->implementing_regulation_applies);
}
END_TEST

START_TEST(domain_registrar_with_dns_is_essential)
{
    act("domain_registration.service");
    act("digital_infra.dns");
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_ptr_nonnull(obligation(a, "NIS2 Art 28"));
}
END_TEST

START_TEST(several_activities_highest_wins)
{
    act("postal.provider");             /* Annex II, large: important */
    act("energy.electricity.producer"); /* Annex I, large: essential */
    act("public_admin.local");          /* not covered */
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_reason(a, "SEVERAL_ACTIVITIES_HIGHEST_WINS");
    ck_assert_reason(a, "IMPORTANT_BY_SIZE");
    ck_assert_reason(a, "ESSENTIAL_LARGE_ANNEX_I");
    ck_assert_basis(a, "NIS2 Art 3(1)(a)");
    ck_assert(!has_basis(a, "NIS2 Art 3(2)"));
}
END_TEST

START_TEST(no_activity_is_out_of_scope)
{
    size(5000, 900000000, 900000000);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_NOT_COVERED");
    ck_assert_basis(a, "NIS2 Art 2(1)");
    ck_assert_ptr_null(a->jurisdiction);
    ck_assert_uint_eq(a->n_obligations, 0);
}
END_TEST

/* ---- consequences ------------------------------------------------------------ */

START_TEST(supervision_follows_the_class)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    ck_assert_int_eq(assess()->supervision, SUP(EX_ANTE));
    size(100, 20000000, 20000000);
    ck_assert_int_eq(assess()->supervision, SUP(EX_POST));
    size(10, 2000000, 2000000);
    ck_assert_int_eq(assess()->supervision, SUP(NONE));
}
END_TEST

static int64_t fine(int cls, int64_t turnover)
{
    Bulwark__Scoping__V1__Assessment__MaxFine f;
    ck_assert_int_eq(bw_rules_max_fine(cls, turnover, &f), 0);
    return f.applicable_eur;
}

START_TEST(fines_essential_boundary)
{
    ck_assert_int_eq(fine(CLS(ESSENTIAL), 0), 10000000);
    ck_assert_int_eq(fine(CLS(ESSENTIAL), 400000000), 10000000);
    ck_assert_int_eq(fine(CLS(ESSENTIAL), 500000000), 10000000);
    ck_assert_int_eq(fine(CLS(ESSENTIAL), 500000050), 10000001);
    ck_assert_int_eq(fine(CLS(ESSENTIAL), 500000049), 10000000);
    ck_assert_int_eq(fine(CLS(ESSENTIAL), 1000000000), 20000000);
    Bulwark__Scoping__V1__Assessment__MaxFine f;
    ck_assert_int_eq(bw_rules_max_fine(CLS(ESSENTIAL), 1, &f), 0);
    ck_assert_int_eq(f.fixed_eur, 10000000);
    ck_assert(f.turnover_percent == 2.0);
}
END_TEST

START_TEST(fines_important_boundary)
{
    ck_assert_int_eq(fine(CLS(IMPORTANT), 500000000), 7000000);
    ck_assert_int_eq(fine(CLS(IMPORTANT), 500000100), 7000001);
    ck_assert_int_eq(fine(CLS(IMPORTANT), 1000000000), 14000000);
    Bulwark__Scoping__V1__Assessment__MaxFine f;
    ck_assert_int_eq(bw_rules_max_fine(CLS(IMPORTANT), 1, &f), 0);
    ck_assert(f.turnover_percent == 1.4);
    ck_assert_int_eq(bw_rules_max_fine(CLS(OUT_OF_SCOPE), 1, &f), BW_EINVAL);
    ck_assert_int_eq(bw_rules_max_fine(CLS(DOMAIN_REGISTRATION_ONLY), 1, &f), BW_EINVAL);
    ck_assert_int_eq(bw_rules_max_fine(CLS(ESSENTIAL), -1, &f), BW_EINVAL);
}
END_TEST

START_TEST(fines_do_not_overflow)
{
    __int128 want = (__int128)INT64_MAX * 20 / 1000;
    ck_assert(fine(CLS(ESSENTIAL), INT64_MAX) == (int64_t)want);
    want = (__int128)INT64_MAX * 14 / 1000;
    ck_assert(fine(CLS(IMPORTANT), INT64_MAX) == (int64_t)want);
}
END_TEST

START_TEST(fine_uses_the_undertaking_turnover)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->max_fine->turnover_eur, 60000000);
    ck_assert_int_eq(a->max_fine->applicable_eur, 10000000);
    F.size.undertaking_worldwide_turnover_eur = 2000000000;
    a = assess();
    ck_assert_int_eq(a->max_fine->applicable_eur, 40000000);
    ck_assert_str_eq(reason(a, "FINE_CEILING")->article, "NIS2 Art 34(4)");
    F.size.undertaking_worldwide_turnover_eur = 0;
    linked(100, 940000000, 10);
    a = assess();
    ck_assert_int_eq(a->max_fine->turnover_eur, 1000000000);
    ck_assert_int_eq(a->max_fine->applicable_eur, 20000000);
}
END_TEST

START_TEST(jurisdiction_establishment)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    ms()->establishment = "AT";
    const assessment_t *a = assess();
    ck_assert_int_eq(a->jurisdiction->rule, JUR(ESTABLISHMENT));
    ck_assert_uint_eq(a->jurisdiction->n_member_states, 1);
    ck_assert_str_eq(a->jurisdiction->member_states[0], "AT");
}
END_TEST

START_TEST(jurisdiction_main_establishment)
{
    act("digital_infra.cloud");
    size(300, 60000000, 50000000);
    ms()->establishment = "DE";
    F.ms.main_establishment = "IE";
    const assessment_t *a = assess();
    ck_assert_int_eq(a->jurisdiction->rule, JUR(MAIN_ESTABLISHMENT));
    ck_assert_str_eq(a->jurisdiction->member_states[0], "IE");
    ck_assert_str_eq(reason(a, "JURISDICTION_MAIN_ESTABLISHMENT")->article, "NIS2 Art 26(1)(b)");
    F.ms.main_establishment = "";
    a = assess();
    ck_assert_str_eq(a->jurisdiction->member_states[0], "DE");
    ck_assert_reason(a, "MAIN_ESTABLISHMENT_FROM_ESTABLISHMENT");
}
END_TEST

START_TEST(jurisdiction_non_eu_representative)
{
    char *services[] = {"FR", "IT"};
    act("digital_providers.search_engine");
    size(300, 60000000, 50000000);
    ms()->services_in = services;
    F.ms.n_services_in = 2;
    F.ms.representative = "IT";
    const assessment_t *a = assess();
    ck_assert_uint_eq(a->jurisdiction->n_member_states, 1);
    ck_assert_str_eq(a->jurisdiction->member_states[0], "IT");
    ck_assert_str_eq(reason(a, "NON_EU_REPRESENTATIVE")->article, "NIS2 Art 26(3)");
    F.ms.representative = "";
    a = assess();
    ck_assert_uint_eq(a->jurisdiction->n_member_states, 2);
    ck_assert_reason(a, "NON_EU_REPRESENTATIVE_MISSING");
}
END_TEST

START_TEST(jurisdiction_service_provision_for_ecn)
{
    char *services[] = {"DE", "FR"};
    act("digital_infra.pecn");
    size(5, 1000000, 1000000);
    ms()->establishment = "DE";
    F.ms.services_in = services;
    F.ms.n_services_in = 2;
    const assessment_t *a = assess();
    ck_assert_int_eq(a->jurisdiction->rule, JUR(SERVICE_PROVISION));
    ck_assert_uint_eq(a->jurisdiction->n_member_states, 2);
    ck_assert_str_eq(a->jurisdiction->member_states[1], "FR");
}
END_TEST

START_TEST(jurisdiction_tsp_follows_establishment)
{
    act("digital_infra.tsp.qualified");
    ms()->establishment = "EE";
    F.ms.main_establishment = "FI";
    const assessment_t *a = assess();
    ck_assert_int_eq(a->jurisdiction->rule, JUR(ESTABLISHMENT));
    ck_assert_str_eq(a->jurisdiction->member_states[0], "EE");
}
END_TEST

START_TEST(jurisdiction_several_rules_art_26_1)
{
    /* Art 26(1): an entity that is a cloud provider falls under point (b)
     * whatever else it does; the establishment rule covers the producer. */
    act("energy.electricity.producer");
    act("digital_infra.cloud");
    size(300, 60000000, 50000000);
    ms()->establishment = "ES";
    F.ms.main_establishment = "PT";
    const assessment_t *a = assess();
    ck_assert_int_eq(a->jurisdiction->rule, JUR(MAIN_ESTABLISHMENT));
    ck_assert_str_eq(a->jurisdiction->member_states[0], "PT");
    ck_assert_reason(a, "JURISDICTION_SEVERAL_RULES");
    ck_assert_uint_eq(a->n_jurisdictions, 2);
    ck_assert_ptr_eq(a->jurisdictions[0], a->jurisdiction);
    const Bulwark__Scoping__V1__Jurisdiction *est = a->jurisdictions[1];
    ck_assert_int_eq(est->rule, JUR(ESTABLISHMENT));
    ck_assert_str_eq(est->member_states[0], "ES");
    ck_assert_uint_eq(est->n_entity_types, 1);
    ck_assert_str_eq(est->entity_types[0], "energy.electricity.producer");
    ck_assert_str_eq(a->jurisdiction->entity_types[0], "digital_infra.cloud");
}
END_TEST

/* The packed bytes of the jurisdiction parts of an assessment. */
static size_t pack_jurisdictions(const assessment_t *a, uint8_t *buf, size_t cap)
{
    size_t at = 0;
    for (size_t i = 0; i < a->n_jurisdictions; i++) {
        size_t n = bulwark__scoping__v1__jurisdiction__get_packed_size(a->jurisdictions[i]);
        ck_assert_uint_le(at + n, cap);
        bulwark__scoping__v1__jurisdiction__pack(a->jurisdictions[i], buf + at);
        at += n;
    }
    return at;
}

START_TEST(jurisdiction_is_the_same_whatever_the_order)
{
    static const char *const codes[] = {"energy.electricity.producer", "digital_infra.pecs",
                                        "digital_infra.cloud", "public_admin.central"};
    char *services[] = {"DE", "FR"};
    uint8_t first[1024], again[1024];
    size_t first_len = 0;
    for (size_t rotation = 0; rotation < 4; rotation++) {
        teardown();
        setup();
        for (size_t i = 0; i < 4; i++)
            act(codes[(i + rotation) % 4]);
        size(300, 60000000, 50000000);
        ms()->establishment = "DE";
        F.ms.main_establishment = "IE";
        F.ms.services_in = services;
        F.ms.n_services_in = 2;
        const assessment_t *a = assess();
        ck_assert_int_eq(a->jurisdiction->rule, JUR(ESTABLISHING_STATE));
        ck_assert_uint_eq(a->n_jurisdictions, 4);
        ck_assert_int_eq(a->jurisdictions[1]->rule, JUR(SERVICE_PROVISION));
        ck_assert_int_eq(a->jurisdictions[2]->rule, JUR(MAIN_ESTABLISHMENT));
        ck_assert_int_eq(a->jurisdictions[3]->rule, JUR(ESTABLISHMENT));
        size_t len = pack_jurisdictions(a, rotation == 0 ? first : again, sizeof(first));
        if (rotation == 0)
            first_len = len;
        else
            ck_assert_msg(len == first_len && memcmp(first, again, len) == 0,
                          "rotation %zu changed the jurisdictions", rotation);
    }
}
END_TEST

START_TEST(registration_duties_and_deadlines)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_uint_eq(a->n_registration_duties, 1);
    ck_assert_ptr_nonnull(strstr(duty(a, "NIS2 Art 3(4)")->changes, "two weeks"));
    ck_assert_ptr_nonnull(strstr(duty(a, "NIS2 Art 3(4)")->summary, "IP ranges"));

    teardown();
    setup();
    act("ict_b2b.mssp");
    size(100, 20000000, 20000000);
    a = assess();
    const Bulwark__Scoping__V1__Assessment__RegistrationDuty *d = duty(a, "NIS2 Art 27(2)");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->due_date, "2025-01-17");
    ck_assert_ptr_nonnull(strstr(d->changes, "three months"));
    ck_assert_ptr_nonnull(duty(a, "NIS2 Art 3(4)"));
}
END_TEST

START_TEST(obligations_of_essential_and_important)
{
    act("digital_infra.cloud");
    size(100, 20000000, 20000000);
    const assessment_t *a = assess();
    ck_assert_ptr_nonnull(obligation(a, "NIS2 Art 20"));
    ck_assert_ptr_nonnull(obligation(a, "NIS2 Art 21"));
    ck_assert_ptr_nonnull(obligation(a, "NIS2 Art 23"));
    ck_assert_ptr_null(obligation(a, "NIS2 Art 28"));
    ck_assert(a->implementing_regulation_applies);
    ck_assert_ptr_nonnull(strstr(obligation(a, "NIS2 Art 21"), "2024/2690"));
    ck_assert_ptr_nonnull(strstr(obligation(a, "NIS2 Art 23"), "72 hours"));
    ck_assert_ptr_null(strstr(obligation(a, "NIS2 Art 23"), "trust service provider"));
}
END_TEST

START_TEST(art_23_obligation_names_the_progress_report_art_23_4_e)
{
    /* Art 23(4)(e): an incident still ongoing when the final report is due
     * gets a progress report then and the final report within one month of
     * the end of its handling; the text said nothing of it before. */
    act("digital_infra.cloud");
    size(100, 20000000, 20000000);
    const char *text = obligation(assess(), "NIS2 Art 23");
    ck_assert_ptr_nonnull(strstr(text, "progress report"));
    ck_assert_ptr_nonnull(strstr(text, "Art 23(4)(e)"));
    ck_assert_ptr_nonnull(strstr(text, "end of its handling"));
}
END_TEST

/* The applicability the other services act on, from the same facts. */
static const Bulwark__Scoping__V1__Applicability *applicability(void)
{
    assess();
    Bulwark__Scoping__V1__Applicability *ap = NULL;
    ck_assert_int_eq(bw_rules_applicability(F.arena, &F.facts, &ap), 0);
    ck_assert_ptr_nonnull(ap);
    ck_assert_str_eq(ap->ruleset_version, BW_SCOPING_RULESET_VERSION);
    ck_assert_uint_eq(ap->n_provisions, 9);
    for (size_t i = 0; i < ap->n_provisions; i++)
        ck_assert_str_ne(ap->provisions[i]->reason, "");
    return ap;
}

static const Bulwark__Scoping__V1__Applicability__Provision *
provision(const Bulwark__Scoping__V1__Applicability *ap, const char *name)
{
    for (size_t i = 0; i < ap->n_provisions; i++)
        if (strcmp(ap->provisions[i]->provision, name) == 0)
            return ap->provisions[i];
    ck_abort_msg("no provision %s", name);
    return NULL;
}

static int applies(const Bulwark__Scoping__V1__Applicability *ap, const char *name)
{
    return provision(ap, name)->applies;
}

START_TEST(applicability_of_a_hospital_art_27_28_26_3)
{
    /* A large hospital: Chapter IV binds it, but not the registry of Art 27
     * (not an Art 26(1)(b) type), not Art 28 (no domain registration), not
     * Art 26(3) (established in the Union); no IR 2024/2690 type. */
    act("health.healthcare_provider");
    size(800, 90000000, 80000000);
    ms()->establishment = "DE";
    const Bulwark__Scoping__V1__Applicability *ap = applicability();
    ck_assert_int_eq(ap->classification, CLS(ESSENTIAL));
    ck_assert_int_eq(ap->incident_regime, REGIME(NIS2));
    ck_assert(!ap->dora_applies);
    ck_assert(!ap->implementing_regulation_applies);
    ck_assert_uint_eq(ap->n_implementing_regulation_types, 0);
    ck_assert(applies(ap, "NIS2 Art 3(4)"));
    ck_assert(applies(ap, "NIS2 Art 20"));
    ck_assert(applies(ap, "NIS2 Art 21"));
    ck_assert(applies(ap, "NIS2 Art 23"));
    ck_assert(applies(ap, "NIS2 Art 32"));
    ck_assert_ptr_nonnull(strstr(provision(ap, "NIS2 Art 32")->reason, "Art 32"));
    ck_assert(!applies(ap, "NIS2 Art 27"));
    ck_assert(!applies(ap, "NIS2 Art 28"));
    ck_assert(!applies(ap, "NIS2 Art 26(3)"));
    ck_assert_ptr_nonnull(strstr(provision(ap, "NIS2 Art 26(3)")->reason, "Art 26(1)(b)"));
}
END_TEST

/* Whether the entity provides trust services, which the incidents service's
 * 24-hour notification (Art 23(4)(b)) depends on: scoping answers it. */
START_TEST(applicability_says_who_provides_trust_services)
{
    act("health.healthcare_provider");
    size(800, 90000000, 80000000);
    ms()->establishment = "DE";
    ck_assert(!applicability()->trust_service_provider);
    teardown();
    setup();
    act("digital_infra.tsp");
    size(20, 3000000, 2000000);
    ms()->establishment = "DE";
    ck_assert(applicability()->trust_service_provider);
}
END_TEST

START_TEST(applicability_of_a_non_eu_cloud_and_registrar_art_26_3_27_28)
{
    /* A cloud provider and registrar established outside the Union, serving
     * DE and FR: Art 26(3), Art 27 and Art 28 bind it, and IR 2024/2690
     * covers its cloud service (IR Art 1); the registrar type is none of
     * the IR's. */
    act("digital_infra.cloud");
    act("domain_registration.service");
    size(100, 20000000, 20000000);
    static char *served[] = {"DE", "FR"};
    ms()->services_in = served;
    ms()->n_services_in = 2;
    const Bulwark__Scoping__V1__Applicability *ap = applicability();
    ck_assert_int_eq(ap->classification, CLS(IMPORTANT));
    ck_assert(applies(ap, "NIS2 Art 26(3)"));
    ck_assert_ptr_nonnull(strstr(provision(ap, "NIS2 Art 26(3)")->reason, "no representative"));
    ck_assert(applies(ap, "NIS2 Art 27"));
    ck_assert(applies(ap, "NIS2 Art 28"));
    ck_assert(ap->implementing_regulation_applies);
    ck_assert_uint_eq(ap->n_implementing_regulation_types, 1);
    ck_assert_str_eq(ap->implementing_regulation_types[0], "digital_infra.cloud");

    /* With a representative designated, Art 26(3) still binds it (it is
     * met, not gone). */
    teardown();
    setup();
    act("digital_infra.cloud");
    size(100, 20000000, 20000000);
    ms()->services_in = served;
    ms()->n_services_in = 2;
    ms()->representative = "FR";
    ap = applicability();
    ck_assert(applies(ap, "NIS2 Art 26(3)"));
    ck_assert_ptr_nonnull(strstr(provision(ap, "NIS2 Art 26(3)")->reason, "representative"));
    ck_assert(!applies(ap, "NIS2 Art 28"));

    /* Established in the Union: Art 26(3) does not bind it. */
    teardown();
    setup();
    act("digital_infra.cloud");
    size(100, 20000000, 20000000);
    ms()->establishment = "NL";
    ap = applicability();
    ck_assert(!applies(ap, "NIS2 Art 26(3)"));
    ck_assert(applies(ap, "NIS2 Art 27"));
}
END_TEST

START_TEST(applicability_under_dora_art_4)
{
    /* A large credit institution: NIS2 Art 4 and Recital 28 put DORA's
     * provisions in place of Chapter IV and VII; the list and registration
     * (Art 3(4)) stay. */
    act("banking.credit_institution");
    size(800, 90000000, 80000000);
    ms()->establishment = "DE";
    const Bulwark__Scoping__V1__Applicability *ap = applicability();
    ck_assert_int_eq(ap->classification, CLS(ESSENTIAL));
    ck_assert_int_eq(ap->incident_regime, REGIME(DORA));
    ck_assert(ap->dora_applies);
    ck_assert(applies(ap, "NIS2 Art 3(4)"));
    ck_assert_str_eq(provision(ap, "NIS2 Art 3(4)")->displaced_by, "");
    static const struct {
        const char *nis2, *dora;
    } displaced[] = {{"NIS2 Art 20", "DORA Art 5"},
                     {"NIS2 Art 21", "DORA Art 5-16"},
                     {"NIS2 Art 23", "DORA Art 19"},
                     {"NIS2 Art 24", "DORA Art 5-16"},
                     {"NIS2 Art 32", "DORA Art 46"}};
    for (size_t i = 0; i < sizeof(displaced) / sizeof(displaced[0]); i++) {
        const Bulwark__Scoping__V1__Applicability__Provision *p = provision(ap, displaced[i].nis2);
        ck_assert_msg(!p->applies, "%s applies", displaced[i].nis2);
        ck_assert_str_eq(p->displaced_by, displaced[i].dora);
        ck_assert_ptr_nonnull(strstr(p->reason, "NIS2 Art 4"));
    }
}
END_TEST

START_TEST(applicability_out_of_scope_art_2_1)
{
    /* A small manufacturer is out of scope (Art 2(1)): nothing binds it. */
    act("manufacturing.machinery");
    size(20, 3000000, 3000000);
    const Bulwark__Scoping__V1__Applicability *ap = applicability();
    ck_assert_int_eq(ap->classification, CLS(OUT_OF_SCOPE));
    ck_assert_int_eq(ap->incident_regime, REGIME(NONE));
    for (size_t i = 0; i < ap->n_provisions; i++)
        ck_assert(!ap->provisions[i]->applies);
}
END_TEST

START_TEST(obligations_of_a_tsp_mention_24_hours)
{
    act("digital_infra.tsp.qualified");
    const assessment_t *a = assess();
    ck_assert_ptr_nonnull(strstr(obligation(a, "NIS2 Art 23"), "within 24 hours (Art 23(4)(b))"));
    ck_assert(a->implementing_regulation_applies);
}
END_TEST

START_TEST(energy_is_no_ir_entity)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert(!a->implementing_regulation_applies);
    ck_assert_ptr_null(strstr(obligation(a, "NIS2 Art 21"), "2024/2690"));
}
END_TEST

START_TEST(dora_displaces_nis2_art_4)
{
    /* NIS2 Art 4 and Recital 28: the classification stays, DORA's duties,
     * supervision and penalties replace NIS2's. */
    static const struct {
        const char *code;
        const char *authority;
    } cases[] = {
        {"banking.credit_institution", "Directive 2013/36/EU"},
        {"fmi.trading_venue_operator", "Directive 2014/65/EU"},
        {"fmi.ccp", "Regulation (EU) No 648/2012"},
    };
    for (size_t i = 0; i < 3; i++) {
        teardown();
        setup();
        act(cases[i].code);
        size(3000, 900000000, 900000000);
        const assessment_t *a = assess();
        ck_assert_class(a, ESSENTIAL);
        ck_assert(a->dora_applies);
        ck_assert_int_eq(a->incident_regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__DORA);
        ck_assert_int_eq(a->supervision, SUP(DORA));
        ck_assert_ptr_null(a->max_fine);
        ck_assert_ptr_nonnull(strstr(a->dora_note, "2022/2554"));
        ck_assert_str_eq(reason(a, "DORA_LEX_SPECIALIS")->article, "NIS2 Art 4");
        ck_assert_str_eq(reason(a, "FINE_DORA")->article, "DORA Art 50");
        ck_assert_ptr_null(reason(a, "SUPERVISION_EX_ANTE"));
        ck_assert_ptr_null(reason(a, "FINE_CEILING"));
        ck_assert_ptr_null(obligation(a, "NIS2 Art 20"));
        ck_assert_ptr_null(obligation(a, "NIS2 Art 21"));
        ck_assert_ptr_null(obligation(a, "NIS2 Art 23"));
        ck_assert_ptr_nonnull(obligation(a, "DORA Art 5-16"));
        ck_assert_ptr_nonnull(strstr(obligation(a, "DORA Art 19"), "4 hours"));
        ck_assert_ptr_nonnull(strstr(obligation(a, "DORA Art 19"), "2025/301"));
        ck_assert_ptr_nonnull(strstr(obligation(a, "DORA Art 28(3)"), "register of information"));
        for (size_t o = 0; o < a->n_obligations; o++)
            ck_assert_ptr_nonnull(strstr(a->obligations[o]->authority, cases[i].authority));
        /* Still listed and registered as a NIS2 entity (Art 3(3)-(4)). */
        ck_assert_ptr_nonnull(duty(a, "NIS2 Art 3(4)"));
    }
}
END_TEST

START_TEST(dora_applies_to_a_small_bank_outside_nis2)
{
    /* DORA has no size cap (DORA Art 2(1)): a micro credit institution is out
     * of NIS2 (Art 2(1)) but reports its incidents under DORA. This replaced
     * an assertion that such a bank had no DORA note at all. */
    act("banking.credit_institution");
    size(8, 1000000, 1000000);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert(a->dora_applies);
    ck_assert_int_eq(a->incident_regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__DORA);
    ck_assert_int_eq(a->supervision, SUP(DORA));
    ck_assert_str_eq(reason(a, "DORA_APPLIES")->article, "DORA Art 2(1)");
    ck_assert_ptr_nonnull(obligation(a, "DORA Art 19"));
    ck_assert_uint_eq(a->n_registration_duties, 0);
    ck_assert_ptr_null(a->jurisdiction);
}
END_TEST

START_TEST(dora_not_for_other_entities)
{
    act("digital_infra.cloud");
    size(3000, 900000000, 900000000);
    const assessment_t *a = assess();
    ck_assert_str_eq(a->dora_note, "");
    ck_assert(!a->dora_applies);
    ck_assert_int_eq(a->incident_regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__NIS2);
    ck_assert_int_eq(a->supervision, SUP(EX_ANTE));
    ck_assert_ptr_null(reason(a, "DORA_LEX_SPECIALIS"));
    ck_assert_ptr_nonnull(obligation(a, "NIS2 Art 23"));
    teardown();
    setup();
    act("energy.electricity.producer");
    size(5, 1000000, 1000000);
    ck_assert_int_eq(assess()->incident_regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__NONE);
}
END_TEST

START_TEST(dora_exempted_bank_has_no_regime)
{
    /* Art 2(10): out of NIS2, and out of DORA by DORA Art 2(4). */
    act("banking.credit_institution");
    size(3000, 900000000, 900000000);
    ms()->dora_exempted = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert(!a->dora_applies);
    ck_assert_int_eq(a->incident_regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__NONE);
    ck_assert_int_eq(a->supervision, SUP(NONE));
}
END_TEST

START_TEST(member_state_options_only_when_used)
{
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    const assessment_t *a = assess();
    ck_assert_uint_eq(a->n_member_state_options, 0);
    ms()->critical_entity_under_cer = 1;
    F.ms.covers_education = 1;
    a = assess();
    ck_assert_uint_eq(a->n_member_state_options, 2);
    ck_assert(has_option(a, "memberState.criticalEntityUnderCer"));
    ck_assert(has_option(a, "memberState.coversEducation"));
}
END_TEST

START_TEST(assessment_is_deterministic)
{
    act("digital_infra.tsp")->qualified_trust_service = 1;
    act("energy.gas.tso");
    size(120, 30000000, 20000000);
    partner(50, 10000000, 10000000, 40);
    const assessment_t *a = assess();
    const assessment_t *b = assess();
    ck_assert_int_eq(a->classification, b->classification);
    ck_assert_uint_eq(a->n_reasons, b->n_reasons);
    for (size_t i = 0; i < a->n_reasons; i++)
        ck_assert_str_eq(a->reasons[i]->message, b->reasons[i]->message);
    size_t len = bulwark__scoping__v1__assessment__get_packed_size(a);
    ck_assert_uint_eq(len, bulwark__scoping__v1__assessment__get_packed_size(b));
}
END_TEST

static const char *obligation_authority_of(const assessment_t *a, const char *article)
{
    for (size_t i = 0; i < a->n_obligations; i++)
        if (strcmp(a->obligations[i]->article, article) == 0)
            return a->obligations[i]->authority;
    return "(none)";
}

/* The authority of the Art 3(4) duty, "" when the duty has none. */
static const char *duty_or_empty(const assessment_t *a)
{
    for (size_t i = 0; i < a->n_registration_duties; i++)
        if (strcmp(a->registration_duties[i]->article, "NIS2 Art 3(4)") == 0)
            return a->registration_duties[i]->authority;
    return "";
}

/* ---- NIS2 at its edges (issue 12) ---------------------------------------- */

START_TEST(art_2_7_needs_a_public_administration_entity)
{
    /* A large private defence manufacturer: Art 2(7) reaches public
     * administration entities only, so it keeps its classification, and the
     * reason points to the Member State's Art 2(8) exemption. */
    act("manufacturing.other_transport");
    size(1200, 400000000, 300000000);
    pa()->excluded_domain = DOMAIN(DEFENCE);
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_ptr_null(reason(a, "EXCLUDED_DEFENCE"));
    const Bulwark__Scoping__V1__Assessment__Reason *r =
        reason(a, "EXCLUDED_DOMAIN_NOT_PUBLIC_ADMINISTRATION");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->article, "NIS2 Art 2(8)");
    ck_assert_ptr_nonnull(strstr(r->message, "memberState.securityExemption"));
    ck_assert(!has_basis(a, "NIS2 Art 2(7)"));
    /* With its Member State's whole-entity exemption it is out (Art 2(8)). */
    ms()->security_exemption = EXEMPTION(WHOLE_ENTITY);
    a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_basis(a, "NIS2 Art 2(8)");
}
END_TEST

START_TEST(art_2_7_with_a_public_administration_activity)
{
    /* The public_admin.* activity makes it a public administration entity
     * even without publicAdministration.level. */
    act("public_admin.central");
    pa()->excluded_domain = DOMAIN(PUBLIC_SECURITY);
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "EXCLUDED_PUBLIC_SECURITY");
    ck_assert_str_eq(a->basis[0], "NIS2 Art 2(7)");
    ck_assert_ptr_null(reason(a, "EXCLUDED_DOMAIN_NOT_PUBLIC_ADMINISTRATION"));
}
END_TEST

START_TEST(partner_above_50_percent_is_linked_annex_art_3_3_a)
{
    /* 40 staff of its own, a partner of 240 held at 60 %: at 100 % the group
     * has 280 staff (large); pro rata it would have had 184 (medium). */
    act("energy.electricity.dso");
    size(40, 8000000, 8000000);
    partner(240, 40000000, 30000000, 60);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_class(a, ESSENTIAL);
    ck_assert_str_eq(reason(a, "SIZE_PARTNER_MAJORITY_IS_LINKED")->article,
                     "Recommendation 2003/361 Annex Art 3(3)(a)");
    ck_assert_basis(a, "Recommendation 2003/361 Annex Art 3(3)(a)");
    ck_assert_ptr_null(reason(a, "SIZE_PARTNER_ENTERPRISES"));
    /* Exactly 50 % is no majority: pro rata, 40 + 120 = 160 staff. */
    F.partners[0].holding_percent = 50;
    a = assess();
    ck_assert_int_eq(a->size_class, SIZE(MEDIUM));
    ck_assert_reason(a, "SIZE_PARTNER_ENTERPRISES");
    ck_assert_ptr_null(reason(a, "SIZE_PARTNER_MAJORITY_IS_LINKED"));
}
END_TEST

START_TEST(investor_exception_annex_art_3_2)
{
    static const int categories[] = {
        INVESTOR(PUBLIC_INVESTMENT_CORPORATION), INVESTOR(VENTURE_CAPITAL_COMPANY),
        INVESTOR(UNIVERSITY_OR_RESEARCH_CENTRE), INVESTOR(INSTITUTIONAL_INVESTOR)};
    for (size_t i = 0; i < 4; i++) {
        teardown();
        setup();
        act("energy.electricity.dso");
        size(40, 8000000, 8000000);
        partner(600, 90000000, 90000000, 40)->investor_exception = categories[i];
        const assessment_t *a = assess();
        ck_assert_int_eq(a->size_class, SIZE(SMALL)); /* the investor's figures stay out */
        ck_assert_class(a, OUT_OF_SCOPE);
        ck_assert_str_eq(reason(a, "SIZE_INVESTOR_EXCEPTION")->article,
                         "Recommendation 2003/361 Annex Art 3(2)");
        ck_assert_basis(a, "Recommendation 2003/361 Annex Art 3(2)");
    }
}
END_TEST

START_TEST(investor_exception_thresholds_annex_art_3_2)
{
    /* Business angels: below EUR 1,250,000 in all. */
    act("energy.electricity.dso");
    size(40, 8000000, 8000000);
    Bulwark__Scoping__V1__PartnerEnterprise *p = partner(600, 90000000, 90000000, 40);
    p->investor_exception = INVESTOR(BUSINESS_ANGEL);
    p->business_angel_investment_eur = 1249999;
    ck_assert_int_eq(assess()->size_class, SIZE(SMALL));
    p->business_angel_investment_eur = 1250000;
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE)); /* 40 + 240 staff */
    ck_assert_reason(a, "SIZE_INVESTOR_EXCEPTION_NOT_MET");
    /* Autonomous local authorities: budget below EUR 10 million and fewer
     * than 5,000 inhabitants. */
    p->investor_exception = INVESTOR(AUTONOMOUS_LOCAL_AUTHORITY);
    p->business_angel_investment_eur = 0;
    p->local_authority_budget_eur = 9999999;
    p->local_authority_inhabitants = 4999;
    ck_assert_int_eq(assess()->size_class, SIZE(SMALL));
    p->local_authority_inhabitants = 5000;
    ck_assert_int_eq(assess()->size_class, SIZE(LARGE));
    p->local_authority_inhabitants = 4999;
    p->local_authority_budget_eur = 10000000;
    ck_assert_int_eq(assess()->size_class, SIZE(LARGE));
    /* An investor holding a majority is linked: no exception. */
    p->investor_exception = INVESTOR(VENTURE_CAPITAL_COMPANY);
    p->local_authority_budget_eur = 0;
    p->local_authority_inhabitants = 0;
    p->holding_percent = 51;
    a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_reason(a, "SIZE_INVESTOR_EXCEPTION_LINKED");
}
END_TEST

START_TEST(two_period_rule_over_the_whole_history_annex_art_4_2)
{
    /* 300, 240, 260 staff: large, then below the ceiling once, then above
     * again; the status never changed, so it stays large. The old rule,
     * which looked at two periods only, made it medium. */
    act("energy.electricity.dso");
    earlier(300, 40000000, 30000000);
    previous(240, 40000000, 30000000);
    size(260, 40000000, 30000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(LARGE));
    ck_assert_class(a, ESSENTIAL);
    ck_assert_ptr_null(reason(a, "SIZE_TWO_PERIOD_RULE")); /* the latest class stands */
}
END_TEST

START_TEST(two_period_rule_changes_after_two_periods)
{
    /* medium, large, large: crossed in two consecutive periods, so large. */
    act("energy.electricity.dso");
    earlier(200, 40000000, 30000000);
    previous(300, 40000000, 30000000);
    size(300, 40000000, 30000000);
    ck_assert_int_eq(assess()->size_class, SIZE(LARGE));
    /* large, small, micro: below the large and medium ceilings twice, below
     * the small ceiling once: it becomes small, not micro. */
    teardown();
    setup();
    act("energy.electricity.dso");
    earlier(300, 40000000, 30000000);
    previous(30, 5000000, 5000000);
    size(5, 1000000, 1000000);
    const assessment_t *a = assess();
    ck_assert_int_eq(a->size_class, SIZE(SMALL));
    const Bulwark__Scoping__V1__Assessment__Reason *r = reason(a, "SIZE_TWO_PERIOD_RULE");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(strstr(r->message, "large, small, micro"));
    ck_assert_basis(a, "Recommendation 2003/361 Annex Art 4(2)");
    /* medium, large, medium, large: never two consecutive, stays medium. */
    teardown();
    setup();
    act("energy.electricity.dso");
    earlier(200, 40000000, 30000000);
    earlier(300, 40000000, 30000000);
    previous(200, 40000000, 30000000);
    size(300, 40000000, 30000000);
    ck_assert_int_eq(assess()->size_class, SIZE(MEDIUM));
}
END_TEST

START_TEST(no_activity_in_the_union_art_2_1)
{
    act("digital_infra.dns");
    ms()->no_activity_in_union = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "OUT_NO_ACTIVITY_IN_UNION");
    ck_assert_uint_eq(a->n_basis, 1);
    ck_assert_str_eq(a->basis[0], "NIS2 Art 2(1)");
    ck_assert_uint_eq(a->n_obligations, 0);
    ck_assert_ptr_null(a->jurisdiction);
    /* Not even as a trust service provider, nor under DORA. */
    act("digital_infra.tsp.qualified");
    act("banking.credit_institution");
    a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert(!a->dora_applies);
}
END_TEST

START_TEST(non_eu_provider_without_representative_art_26_3_4)
{
    char *services[] = {"FR", "IT"};
    act("digital_providers.social_network");
    size(300, 60000000, 50000000);
    ms()->services_in = services;
    F.ms.n_services_in = 2;
    const assessment_t *a = assess();
    ck_assert_uint_eq(a->jurisdiction->n_member_states, 2);
    ck_assert_str_eq(reason(a, "NON_EU_REPRESENTATIVE_MISSING")->article, "NIS2 Art 26(3)");
    ck_assert_str_eq(reason(a, "REPRESENTATIVE_NO_SHIELD")->article, "NIS2 Art 26(4)");
    const char *duty_text = obligation(a, "NIS2 Art 26(3)");
    ck_assert_ptr_nonnull(duty_text);
    ck_assert_ptr_nonnull(strstr(duty_text, "representative"));
    ck_assert_ptr_nonnull(strstr(duty_text, "Art 26(4)"));
    /* Once designated, no such duty, but still no shield. */
    F.ms.representative = "IT";
    a = assess();
    ck_assert_ptr_null(obligation(a, "NIS2 Art 26(3)"));
    ck_assert_reason(a, "REPRESENTATIVE_NO_SHIELD");
    /* An entity established in the Union is told nothing of the kind. */
    F.ms.representative = "";
    F.ms.establishment = "FR";
    a = assess();
    ck_assert_ptr_null(obligation(a, "NIS2 Art 26(3)"));
    ck_assert_ptr_null(reason(a, "NON_EU_REPRESENTATIVE_MISSING"));
}
END_TEST

START_TEST(main_establishment_cascade_art_26_2)
{
    act("ict_b2b.msp");
    size(300, 60000000, 50000000);
    ms()->establishment = "DE";
    F.ms.largest_workforce_in = "PL";
    const assessment_t *a = assess();
    ck_assert_str_eq(a->jurisdiction->member_states[0], "PL");
    ck_assert_reason(a, "MAIN_ESTABLISHMENT_WORKFORCE");
    F.ms.cyber_operations_in = "CZ";
    a = assess();
    ck_assert_str_eq(a->jurisdiction->member_states[0], "CZ");
    ck_assert_str_eq(reason(a, "MAIN_ESTABLISHMENT_OPERATIONS")->article, "NIS2 Art 26(2)");
    F.ms.cybersecurity_decisions_in = "NL";
    a = assess();
    ck_assert_str_eq(a->jurisdiction->member_states[0], "NL");
    ck_assert_reason(a, "MAIN_ESTABLISHMENT_DECISIONS");
    ck_assert_ptr_null(reason(a, "MAIN_ESTABLISHMENT_FROM_ESTABLISHMENT"));
    /* A main establishment given wins, and a disagreement is said. */
    F.ms.main_establishment = "IE";
    a = assess();
    ck_assert_str_eq(a->jurisdiction->member_states[0], "IE");
    ck_assert_ptr_nonnull(
        strstr(reason(a, "MAIN_ESTABLISHMENT_DIFFERS_FROM_ART_26_2")->message, "NL"));
    /* Other rules ignore the cascade. */
    teardown();
    setup();
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    ms()->establishment = "AT";
    F.ms.cybersecurity_decisions_in = "DE";
    ck_assert_str_eq(assess()->jurisdiction->member_states[0], "AT");
}
END_TEST

START_TEST(registration_deadline_is_the_entitys_art_3_4_and_27_2)
{
    /* Art 3(4) sets no date for the entity: 17 April 2025 is the Member
     * States' list date (Art 3(3)), which the duty used to give as due. */
    act("ict_b2b.msp");
    size(100, 20000000, 20000000);
    const assessment_t *a = assess();
    const Bulwark__Scoping__V1__Assessment__RegistrationDuty *d = duty(a, "NIS2 Art 3(4)");
    ck_assert_str_eq(d->due_date, "");
    ck_assert_ptr_nonnull(strstr(d->deadline, "national law"));
    ck_assert_ptr_nonnull(strstr(d->deadline, "not the entity's"));
    ck_assert_ptr_null(strstr(d->summary, "17 April 2025"));
    d = duty(a, "NIS2 Art 27(2)");
    ck_assert_str_eq(d->due_date, "2025-01-17");
    ck_assert_ptr_nonnull(strstr(d->deadline, "17 January 2025"));
}
END_TEST

/* ---- Member State profiles ------------------------------------------------ */

/* A profile made for the tests: every answer the rules read is YES. */
static const char test_profile[] =
    "{\"code\":\"LU\",\"name\":\"Testland\",\"version\":\"2026.12.1\",\"status\":\"IN_FORCE\","
    "\"checkedOn\":\"2026-12-03\","
    "\"law\":{\"title\":\"Test law\",\"shortTitle\":\"TL\",\"reference\":\"Mem. A 1/2025\","
    "\"adoptedOn\":\"2025-01-01\",\"inForceFrom\":\"2025-02-01\"},"
    "\"localPublicAdministration\":{\"answer\":\"YES\",\"provision\":\"TL Art 5\"},"
    "\"education\":{\"answer\":\"YES\",\"provision\":\"TL Art 6\"},"
    "\"formerOesEssential\":{\"answer\":\"YES\",\"provision\":\"TL Art 7\"},"
    "\"identification\":{\"answer\":\"UNVERIFIED\",\"note\":\"not checked\"},"
    "\"cerCriticalEntities\":{\"answer\":\"NOT_ESTABLISHED\",\"note\":\"later\"},"
    "\"competentAuthority\":{\"name\":\"Test Authority\",\"provision\":\"TL Art 9\"},"
    "\"csirt\":{\"name\":\"Test CSIRT\"},"
    "\"registration\":{\"authority\":\"Test Authority\",\"portal\":\"https://portal.example\","
    "\"deadline\":\"within one month of qualifying\",\"changes\":\"within ten days\","
    "\"provision\":\"TL Art 10\"},"
    "\"reporting\":{\"earlyWarningHours\":12,\"notificationHours\":48,\"finalReportMonths\":1,"
    "\"differsFromDirective\":true,\"recipient\":\"Test CSIRT\",\"provision\":\"TL Art 11\"},"
    "\"sources\":[{\"title\":\"Test law\",\"reference\":\"Mem. A 1/2025\","
    "\"accessed\":\"2026-12-03\"}]}";

static bw_profiles_t *profiles_with(const char *name, const char *json)
{
    bw_profiles_t *p;
    char err[512] = "";
    ck_assert_int_eq(bw_profiles_load_builtin(&p, err, sizeof(err)), 0);
    if (json != NULL)
        ck_assert_msg(bw_profiles_add(p, name, json, strlen(json), err, sizeof(err)) == 0, "%s",
                      err);
    F.facts.profiles = p;
    return p;
}

static int has_answer(const assessment_t *a, const char *prefix)
{
    if (a->member_state_profile == NULL)
        return 0;
    for (size_t i = 0; i < a->member_state_profile->n_answers; i++)
        if (strncmp(a->member_state_profile->answers[i], prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

START_TEST(profile_of_establishment_answers_art_2_5)
{
    bw_profiles_t *p = profiles_with("LU.json", test_profile);
    act("public_admin.local");
    ms()->establishment = "LU";
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT); /* Art 2(5)(a) from the profile */
    ck_assert_str_eq(a->member_state_profile->code, "LU");
    ck_assert_str_eq(a->member_state_profile->selected_by, "memberState.establishment");
    ck_assert(has_answer(a, "memberState.coversLocalPublicAdministration = true (TL Art 5)"));
    ck_assert_str_eq(reason(a, "PROFILE_ANSWER")->article, "NIS2 Art 2(5)(a)");
    ck_assert_reason(a, "PROFILE_APPLIED");
    /* Without the profile the EU baseline leaves it out. */
    F.ms.profile = "NONE";
    a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_ptr_null(a->member_state_profile);
    ck_assert_reason(a, "PROFILE_NONE");
    bw_profiles_free(p);
}
END_TEST

START_TEST(profile_answers_former_oes_art_3_1_g)
{
    bw_profiles_t *p = profiles_with("LU.json", test_profile);
    act("postal.provider");
    size(100, 20000000, 20000000);
    ms()->establishment = "LU";
    ck_assert_class(assess(), IMPORTANT); /* not a former OES: the option is moot */
    F.ms.former_oes = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, ESSENTIAL);
    ck_assert_basis(a, "NIS2 Art 3(1)(g)");
    ck_assert(has_answer(a, "memberState.formerOesOptIn = true"));
    /* The German profile does not settle it: nothing is assumed. */
    F.ms.establishment = "DE";
    a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_str_eq(reason(a, "PROFILE_OPEN_QUESTION")->article, "NIS2 Art 3(1)(g)");
    bw_profiles_free(p);
}
END_TEST

START_TEST(explicit_profile_and_national_registration)
{
    bw_profiles_t *p = profiles_with("LU.json", test_profile);
    act("energy.electricity.dso");
    size(300, 60000000, 50000000);
    ms()->establishment = "BE";
    F.ms.profile = "LU";
    const assessment_t *a = assess();
    ck_assert_str_eq(a->member_state_profile->selected_by, "memberState.profile");
    const Bulwark__Scoping__V1__Assessment__RegistrationDuty *d = duty(a, "NIS2 Art 3(4)");
    ck_assert_ptr_nonnull(strstr(d->deadline, "within one month of qualifying (TL Art 10"));
    ck_assert_str_eq(d->authority, "Test Authority");
    ck_assert_str_eq(d->portal, "https://portal.example");
    ck_assert_str_eq(d->changes, "within ten days");
    ck_assert_str_eq(obligation_authority_of(a, "NIS2 Art 21"), "Test Authority");
    ck_assert_str_eq(obligation_authority_of(a, "NIS2 Art 23"), "Test CSIRT");
    ck_assert_ptr_nonnull(strstr(obligation(a, "NIS2 Art 23"), "early warning 12 hours"));
    ck_assert(has_answer(a, "registrationDuties[NIS2 Art 3(4)]"));
    /* The profile is not the law of the Member State with jurisdiction. */
    ck_assert_reason(a, "PROFILE_NOT_OF_JURISDICTION");
    bw_profiles_free(p);
}
END_TEST

START_TEST(profile_of_a_bill_is_not_applied)
{
    /* The Dutch and French transpositions are bills in the shipped data. */
    bw_profiles_t *p = profiles_with(NULL, NULL);
    act("public_admin.local");
    ms()->establishment = "NL";
    const assessment_t *a = assess();
    ck_assert_class(a, OUT_OF_SCOPE);
    ck_assert_reason(a, "PROFILE_NOT_IN_FORCE");
    ck_assert_int_eq(a->member_state_profile->status,
                     BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__STATUS__BILL);
    ck_assert_uint_eq(a->member_state_profile->n_answers, 0);
    ck_assert_str_eq(duty_or_empty(a), "");
    /* An explicit input is still honoured. */
    F.ms.covers_local_public_administration = 1;
    ck_assert_class(assess(), IMPORTANT);
    bw_profiles_free(p);
}
END_TEST

START_TEST(explicit_input_beats_the_profile)
{
    /* The German profile answers NO for local public administration (the
     * federal law leaves it to the Länder); a client that says a Land law
     * covers its entity keeps its answer, and is told of the difference. */
    bw_profiles_t *p = profiles_with(NULL, NULL);
    act("public_admin.local");
    ms()->establishment = "DE";
    F.ms.covers_local_public_administration = 1;
    const assessment_t *a = assess();
    ck_assert_class(a, IMPORTANT);
    ck_assert_str_eq(reason(a, "PROFILE_CONFLICT")->article, "NIS2 Art 2(5)(a)");
    ck_assert(!has_answer(a, "memberState.coversLocalPublicAdministration"));
    bw_profiles_free(p);
}
END_TEST

START_TEST(shipped_profile_registration_de)
{
    bw_profiles_t *p = profiles_with(NULL, NULL);
    act("digital_infra.cloud");
    size(300, 60000000, 50000000);
    ms()->establishment = "DE";
    const assessment_t *a = assess();
    ck_assert_str_eq(a->member_state_profile->code, "DE");
    ck_assert_ptr_nonnull(strstr(a->member_state_profile->law, "BGBl. 2025 I Nr. 301"));
    const Bulwark__Scoping__V1__Assessment__RegistrationDuty *d = duty(a, "NIS2 Art 3(4)");
    ck_assert_ptr_nonnull(strstr(d->deadline, "three months"));
    ck_assert_ptr_nonnull(strstr(d->deadline, "BSIG § 33(1)"));
    ck_assert_ptr_nonnull(strstr(d->authority, "BSI"));
    ck_assert_ptr_nonnull(strstr(duty(a, "NIS2 Art 27(2)")->deadline, "BSIG § 34(1)"));
    /* A Member State without a profile says so. */
    F.ms.establishment = "ES";
    a = assess();
    ck_assert_ptr_null(a->member_state_profile);
    ck_assert_reason(a, "PROFILE_NOT_AVAILABLE");
    bw_profiles_free(p);
}
END_TEST

Suite *suite_rules(void)
{
    Suite *s = suite_create("scoping rules");
    TCase *size_tc = tcase_create("size");
    tcase_add_checked_fixture(size_tc, setup, teardown);
    tcase_add_test(size_tc, size_260_staff_is_large_on_headcount_alone);
    tcase_add_test(size_tc, size_30_staff_over_both_ceilings_is_large);
    tcase_add_test(size_tc, size_40_staff_12m_is_medium_9m_balance_small);
    tcase_add_test(size_tc, size_200_staff_balance_within_43m_is_medium);
    tcase_add_test(size_tc, size_boundaries);
    tcase_add_test(size_tc, size_is_reported_with_its_figures);
    tcase_add_test(size_tc, size_partner_pro_rata);
    tcase_add_test(size_tc, size_partner_below_25_percent_is_not_added);
    tcase_add_test(size_tc, size_linked_at_100_percent);
    tcase_add_test(size_tc, size_recital_16_independence_sizes_alone);
    tcase_add_test(size_tc, size_public_control_disregarded);
    tcase_add_test(size_tc, size_two_period_rule_keeps_previous_class);
    tcase_add_test(size_tc, size_two_period_rule_keeps_large_when_falling);
    tcase_add_test(size_tc, size_two_periods_agreeing_change_nothing);
    tcase_add_test(size_tc, size_two_period_rule_counts_the_group_in_both_periods);
    tcase_add_test(size_tc, size_newly_established_uses_estimates);
    tcase_add_test(size_tc, size_not_given);
    suite_add_tcase(s, size_tc);

    TCase *excl = tcase_create("exclusions and carve-outs");
    tcase_add_checked_fixture(excl, setup, teardown);
    tcase_add_test(excl, excluded_domains_of_art_2_7);
    tcase_add_test(excl, national_security_mentions_art_2_6);
    tcase_add_test(excl, tsp_carve_back_art_2_9);
    tcase_add_test(excl, member_state_exemption_whole_entity_art_2_8);
    tcase_add_test(excl, member_state_exemption_from_art_21_23_keeps_class);
    tcase_add_test(excl, dora_exempted_art_2_10_has_no_carve_back);
    tcase_add_test(excl, judiciary_parliament_central_bank_are_not_public_administration);
    tcase_add_test(excl, judiciary_other_activities_still_count);
    tcase_add_test(excl, root_name_servers_are_carved_out);
    tcase_add_test(excl, waste_management_not_principal_activity);
    tcase_add_test(excl, food_retail_only);
    tcase_add_test(excl, non_essential_parts);
    tcase_add_test(excl, critical_medical_devices_leave_annex_ii);
    tcase_add_test(excl, space_excludes_pecn_providers);
    tcase_add_test(excl, education_institutions_are_no_research_organisations);
    suite_add_tcase(s, excl);

    TCase *cls = tcase_create("classification");
    tcase_add_checked_fixture(cls, setup, teardown);
    tcase_add_test(cls, art_3_1_a_large_annex_i);
    tcase_add_test(cls, annex_i_medium_is_important_small_is_out);
    tcase_add_test(cls, annex_ii_large_is_important);
    tcase_add_test(cls, art_3_1_b_dns_tld_qualified_tsp_any_size);
    tcase_add_test(cls, tsp_qualified_flag_decides);
    tcase_add_test(cls, non_qualified_tsp_by_size);
    tcase_add_test(cls, art_3_1_c_medium_ecn_is_essential);
    tcase_add_test(cls, art_3_1_d_central_public_administration);
    tcase_add_test(cls, public_administration_level_implies_the_type);
    tcase_add_test(cls, art_3_1_e_member_state_designated_essential);
    tcase_add_test(cls, art_3_2_member_state_identified_not_essential);
    tcase_add_test(cls, identification_needs_an_annex_type);
    tcase_add_test(cls, art_3_1_f_cer_critical_entity);
    tcase_add_test(cls, art_3_1_g_former_oes_opt_in);
    tcase_add_test(cls, regional_public_administration);
    tcase_add_test(cls, local_public_administration_per_national_law);
    tcase_add_test(cls, education_per_national_law);
    tcase_add_test(cls, domain_registration_only);
    tcase_add_test(cls, domain_registrar_with_dns_is_essential);
    tcase_add_test(cls, several_activities_highest_wins);
    tcase_add_test(cls, no_activity_is_out_of_scope);
    suite_add_tcase(s, cls);

    TCase *cons = tcase_create("consequences");
    tcase_add_checked_fixture(cons, setup, teardown);
    tcase_add_test(cons, supervision_follows_the_class);
    tcase_add_test(cons, fines_essential_boundary);
    tcase_add_test(cons, fines_important_boundary);
    tcase_add_test(cons, fines_do_not_overflow);
    tcase_add_test(cons, fine_uses_the_undertaking_turnover);
    tcase_add_test(cons, jurisdiction_establishment);
    tcase_add_test(cons, jurisdiction_main_establishment);
    tcase_add_test(cons, jurisdiction_non_eu_representative);
    tcase_add_test(cons, jurisdiction_service_provision_for_ecn);
    tcase_add_test(cons, jurisdiction_tsp_follows_establishment);
    tcase_add_test(cons, jurisdiction_several_rules_art_26_1);
    tcase_add_test(cons, jurisdiction_is_the_same_whatever_the_order);
    tcase_add_test(cons, registration_duties_and_deadlines);
    tcase_add_test(cons, obligations_of_essential_and_important);
    tcase_add_test(cons, obligations_of_a_tsp_mention_24_hours);
    tcase_add_test(cons, art_23_obligation_names_the_progress_report_art_23_4_e);
    tcase_add_test(cons, applicability_of_a_hospital_art_27_28_26_3);
    tcase_add_test(cons, applicability_says_who_provides_trust_services);
    tcase_add_test(cons, applicability_of_a_non_eu_cloud_and_registrar_art_26_3_27_28);
    tcase_add_test(cons, applicability_under_dora_art_4);
    tcase_add_test(cons, applicability_out_of_scope_art_2_1);
    tcase_add_test(cons, energy_is_no_ir_entity);
    tcase_add_test(cons, dora_displaces_nis2_art_4);
    tcase_add_test(cons, dora_applies_to_a_small_bank_outside_nis2);
    tcase_add_test(cons, dora_not_for_other_entities);
    tcase_add_test(cons, dora_exempted_bank_has_no_regime);
    tcase_add_test(cons, member_state_options_only_when_used);
    tcase_add_test(cons, assessment_is_deterministic);
    tcase_add_test(cons, registration_deadline_is_the_entitys_art_3_4_and_27_2);
    suite_add_tcase(s, cons);

    TCase *edges = tcase_create("NIS2 at its edges");
    tcase_add_checked_fixture(edges, setup, teardown);
    tcase_add_test(edges, art_2_7_needs_a_public_administration_entity);
    tcase_add_test(edges, art_2_7_with_a_public_administration_activity);
    tcase_add_test(edges, partner_above_50_percent_is_linked_annex_art_3_3_a);
    tcase_add_test(edges, investor_exception_annex_art_3_2);
    tcase_add_test(edges, investor_exception_thresholds_annex_art_3_2);
    tcase_add_test(edges, two_period_rule_over_the_whole_history_annex_art_4_2);
    tcase_add_test(edges, two_period_rule_changes_after_two_periods);
    tcase_add_test(edges, no_activity_in_the_union_art_2_1);
    tcase_add_test(edges, non_eu_provider_without_representative_art_26_3_4);
    tcase_add_test(edges, main_establishment_cascade_art_26_2);
    suite_add_tcase(s, edges);

    TCase *profiles = tcase_create("member state profiles");
    tcase_add_checked_fixture(profiles, setup, teardown);
    tcase_add_test(profiles, profile_of_establishment_answers_art_2_5);
    tcase_add_test(profiles, profile_answers_former_oes_art_3_1_g);
    tcase_add_test(profiles, explicit_profile_and_national_registration);
    tcase_add_test(profiles, profile_of_a_bill_is_not_applied);
    tcase_add_test(profiles, shipped_profile_registration_de);
    tcase_add_test(profiles, explicit_input_beats_the_profile);
    tcase_add_test(profiles, every_activity_keeps_its_reasons);
    suite_add_tcase(s, profiles);
    return s;
}
