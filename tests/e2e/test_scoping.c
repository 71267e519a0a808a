/*
 * The NIS2 scoping slice end to end: the entity-type catalogue, the
 * stateless assessment (answers, consequences, 64-bit money as strings, bad
 * input named field by field, nothing stored), NIS2 at its edges (Art 2(1),
 * 2(7), the SME partner and period rules, Art 26), DORA displacement, the
 * Member State profiles and their routes, and the classification of a
 * stored entity, which follows every change of its facts and matches what
 * :assess says about the same facts.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>

/* POST /v1/scoping:assess; expects 200 and returns the response (caller frees). */
static bw_test_resp_t assess_ok(const tenant_t *t, const char *body)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/scoping:assess", t->key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
    ck_assert_ptr_nonnull(r.json);
    ck_assert_str_ne(jstr(r.json, "rulesetVersion"), "");
    return r;
}

static void assess_400(const tenant_t *t, const char *body, const char *field)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/scoping:assess", t->key, body, NULL, &r), 0);
    ck_assert_problem(&r, 400, field);
    bw_test_resp_free(&r);
}

static int has_string(json_t *array, const char *want)
{
    for (size_t i = 0; i < json_array_size(array); i++)
        if (strcmp(json_string_value(json_array_get(array, i)), want) == 0)
            return 1;
    return 0;
}

static int has_reason(json_t *resp, const char *code)
{
    json_t *reasons = json_object_get(resp, "reasons");
    for (size_t i = 0; i < json_array_size(reasons); i++)
        if (strcmp(jstr(json_array_get(reasons, i), "code"), code) == 0)
            return 1;
    return 0;
}

static json_t *entity_type(json_t *list, const char *code)
{
    json_t *types = json_object_get(list, "entityTypes");
    for (size_t i = 0; i < json_array_size(types); i++)
        if (strcmp(jstr(json_array_get(types, i), "code"), code) == 0)
            return json_array_get(types, i);
    return NULL;
}

START_TEST(entity_type_catalogue)
{
    tenant_t t = new_tenant("Catalogue");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entity-types", t.key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *types = json_object_get(r.json, "entityTypes");
    size_t annex_i = 0, annex_ii = 0, other = 0;
    for (size_t i = 0; i < json_array_size(types); i++) {
        const char *annex = jstr(json_array_get(types, i), "annex");
        annex_i += strcmp(annex, "I") == 0;
        annex_ii += strcmp(annex, "II") == 0;
        other += strcmp(annex, "NONE") == 0;
    }
    ck_assert_uint_ge(annex_i, 53);
    ck_assert_uint_eq(annex_ii, 14);
    ck_assert_uint_eq(other, 3);

    json_t *dns = entity_type(r.json, "digital_infra.dns");
    ck_assert_ptr_nonnull(dns);
    ck_assert_str_eq(jstr(dns, "sector"), "Digital infrastructure");
    ck_assert(json_is_true(json_object_get(dns, "sizeIndependent")));
    ck_assert(json_is_true(json_object_get(dns, "alwaysEssential")));
    ck_assert(json_is_true(json_object_get(dns, "implementingRegulation")));
    ck_assert_str_eq(jstr(dns, "jurisdictionRule"), "MAIN_ESTABLISHMENT");
    /* IR 2024/2690 Art 5 sets a DNS provider's incident criteria, Art 14 a
     * trust service provider's; none for a DSO. */
    ck_assert_int_eq(json_integer_value(json_object_get(dns, "implementingRegulationArticle")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(entity_type(r.json, "digital_infra.tsp"),
                                                        "implementingRegulationArticle")),
                     14);
    json_t *dso = entity_type(r.json, "energy.electricity.dso");
    ck_assert_int_eq(json_integer_value(json_object_get(dso, "implementingRegulationArticle")), 0);
    ck_assert_str_eq(jstr(dso, "subsector"), "Electricity");
    ck_assert(json_is_false(json_object_get(dso, "sizeIndependent")));
    ck_assert_str_eq(jstr(dso, "jurisdictionRule"), "ESTABLISHMENT");
    ck_assert_str_eq(jstr(entity_type(r.json, "digital_infra.pecs"), "jurisdictionRule"),
                     "SERVICE_PROVISION");
    ck_assert_str_eq(jstr(entity_type(r.json, "public_admin.central"), "jurisdictionRule"),
                     "ESTABLISHING_STATE");
    ck_assert_str_eq(jstr(entity_type(r.json, "domain_registration.service"), "annex"), "NONE");
    ck_assert_ptr_nonnull(entity_type(r.json, "education.institution"));
    ck_assert_ptr_nonnull(entity_type(r.json, "public_admin.local"));
    bw_test_resp_free(&r);

    ck_assert_int_eq(bw_test_http("GET", "/v1/entity-types", NULL, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_dns_provider)
{
    tenant_t t = new_tenant("DNS");
    bw_test_resp_t r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"digital_infra.dns\"}],"
                                     "\"memberState\":{\"mainEstablishment\":\"DE\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "NOT_APPLICABLE");
    json_t *basis = json_object_get(r.json, "basis");
    ck_assert_uint_eq(json_array_size(basis), 2);
    ck_assert_str_eq(json_string_value(json_array_get(basis, 0)), "NIS2 Art 2(2)(a)(iii)");
    ck_assert_str_eq(json_string_value(json_array_get(basis, 1)), "NIS2 Art 3(1)(b)");
    ck_assert(has_reason(r.json, "SIZE_INDEPENDENT_DNS"));
    ck_assert_str_eq(jstr(r.json, "supervision"), "EX_ANTE");
    json_t *fine = json_object_get(r.json, "maxFine");
    ck_assert(json_is_string(json_object_get(fine, "fixedEur")));
    ck_assert_str_eq(jstr(fine, "fixedEur"), "10000000");
    ck_assert_str_eq(jstr(fine, "applicableEur"), "10000000");
    ck_assert(json_real_value(json_object_get(fine, "turnoverPercent")) == 2.0);
    json_t *j = json_object_get(r.json, "jurisdiction");
    ck_assert_str_eq(jstr(j, "rule"), "MAIN_ESTABLISHMENT");
    ck_assert(has_string(json_object_get(j, "memberStates"), "DE"));
    ck_assert(json_is_true(json_object_get(r.json, "implementingRegulationApplies")));
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "obligations")), 3);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "registrationDuties")), 2);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_the_api_example)
{
    tenant_t t = new_tenant("API example");
    bw_test_resp_t r = assess_ok(
        &t, "{\"activities\":[{\"entityType\":\"digital_infra.tsp\",\"qualifiedTrustService\":true,"
            "\"principalActivity\":true,\"retailOnly\":false,\"nonEssentialPart\":false}],"
            "\"size\":{\"staffHeadcount\":45,\"annualTurnoverEur\":\"8000000\","
            "\"balanceSheetTotalEur\":\"5000000\",\"newlyEstablished\":false,"
            "\"partnerEnterprises\":[{\"staffHeadcount\":10,\"annualTurnoverEur\":\"1000000\","
            "\"balanceSheetTotalEur\":\"1000000\",\"holdingPercent\":30}]},"
            "\"memberState\":{\"establishment\":\"DE\",\"servicesIn\":[\"DE\",\"FR\"]}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "SMALL");
    ck_assert(has_string(json_object_get(r.json, "basis"), "NIS2 Art 3(1)(b)"));
    ck_assert(has_reason(r.json, "SIZE_PARTNER_ENTERPRISES"));
    ck_assert_str_eq(jstr(json_object_get(r.json, "jurisdiction"), "rule"), "ESTABLISHMENT");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_fine_above_the_fixed_amount)
{
    tenant_t t = new_tenant("Fines");
    bw_test_resp_t r =
        assess_ok(&t, "{\"activities\":[{\"entityType\":\"energy.electricity.tso\"}],"
                      "\"size\":{\"staffHeadcount\":900,\"annualTurnoverEur\":\"600000000\","
                      "\"balanceSheetTotalEur\":\"700000000\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "LARGE");
    ck_assert(has_string(json_object_get(r.json, "basis"), "NIS2 Art 3(1)(a)"));
    ck_assert_str_eq(jstr(json_object_get(r.json, "maxFine"), "applicableEur"), "12000000");
    bw_test_resp_free(&r);

    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"postal.provider\"}],"
                      "\"size\":{\"staffHeadcount\":900,\"annualTurnoverEur\":\"600000000\","
                      "\"balanceSheetTotalEur\":\"700000000\","
                      "\"undertakingWorldwideTurnoverEur\":\"1000000000\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "IMPORTANT");
    ck_assert_str_eq(jstr(r.json, "supervision"), "EX_POST");
    json_t *fine = json_object_get(r.json, "maxFine");
    ck_assert_str_eq(jstr(fine, "fixedEur"), "7000000");
    ck_assert_str_eq(jstr(fine, "applicableEur"), "14000000");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_out_of_scope_and_exclusions)
{
    tenant_t t = new_tenant("Out of scope");
    bw_test_resp_t r =
        assess_ok(&t, "{\"activities\":[{\"entityType\":\"energy.electricity.producer\"}],"
                      "\"size\":{\"staffHeadcount\":5,\"annualTurnoverEur\":1000000,"
                      "\"balanceSheetTotalEur\":1000000}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "OUT_OF_SCOPE");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "MICRO");
    ck_assert_str_eq(jstr(r.json, "supervision"), "NONE");
    ck_assert_ptr_null(json_object_get(r.json, "maxFine"));
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "obligations")), 0);
    ck_assert(has_reason(r.json, "OUT_BELOW_SIZE_CAP"));
    bw_test_resp_free(&r);

    r = assess_ok(&t, "{\"publicAdministration\":{\"level\":\"CENTRAL\","
                      "\"excludedDomain\":\"DEFENCE\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "OUT_OF_SCOPE");
    ck_assert(has_string(json_object_get(r.json, "basis"), "NIS2 Art 2(7)"));
    bw_test_resp_free(&r);

    /* ... except for its trust services (Art 2(9)). */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"digital_infra.tsp.qualified\"}],"
                      "\"publicAdministration\":{\"level\":\"CENTRAL\","
                      "\"excludedDomain\":\"DEFENCE\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert(has_string(json_object_get(r.json, "basis"), "NIS2 Art 2(9)"));
    bw_test_resp_free(&r);

    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"domain_registration.service\"}]}");
    ck_assert_str_eq(jstr(r.json, "classification"), "DOMAIN_REGISTRATION_ONLY");
    ck_assert_str_eq(jstr(r.json, "supervision"), "NONE");
    bw_test_resp_free(&r);

    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"public_admin.local\"}],"
                      "\"memberState\":{\"coversLocalPublicAdministration\":true}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "IMPORTANT");
    ck_assert_uint_ge(json_array_size(json_object_get(r.json, "memberStateOptions")), 1);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

static json_t *obligation(json_t *resp, const char *article)
{
    json_t *list = json_object_get(resp, "obligations");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(jstr(json_array_get(list, i), "article"), article) == 0)
            return json_array_get(list, i);
    return NULL;
}

static json_t *registration_duty(json_t *resp, const char *article)
{
    json_t *list = json_object_get(resp, "registrationDuties");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(jstr(json_array_get(list, i), "article"), article) == 0)
            return json_array_get(list, i);
    return NULL;
}

START_TEST(assess_dora_displaces_nis2)
{
    /* NIS2 Art 4 and Recital 28: classification kept, DORA's supervision,
     * duties and incident regime instead of NIS2's, no NIS2 fine ceiling. */
    tenant_t t = new_tenant("Bank");
    bw_test_resp_t r =
        assess_ok(&t, "{\"activities\":[{\"entityType\":\"banking.credit_institution\"}],"
                      "\"size\":{\"staffHeadcount\":3000,\"annualTurnoverEur\":\"900000000\","
                      "\"balanceSheetTotalEur\":\"9000000000\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "doraNote"), "2022/2554"));
    ck_assert(has_reason(r.json, "DORA_LEX_SPECIALIS"));
    ck_assert_str_eq(jstr(r.json, "supervision"), "DORA");
    ck_assert_ptr_null(json_object_get(r.json, "maxFine"));
    ck_assert(json_is_true(json_object_get(r.json, "doraApplies")));
    ck_assert_str_eq(jstr(r.json, "incidentRegime"), "DORA");
    ck_assert_ptr_null(obligation(r.json, "NIS2 Art 23"));
    json_t *report = obligation(r.json, "DORA Art 19");
    ck_assert_ptr_nonnull(report);
    ck_assert_ptr_nonnull(strstr(jstr(report, "authority"), "Directive 2013/36/EU"));
    ck_assert_ptr_nonnull(obligation(r.json, "DORA Art 5-16"));
    ck_assert_ptr_nonnull(obligation(r.json, "DORA Art 28(3)"));
    ck_assert_ptr_nonnull(registration_duty(r.json, "NIS2 Art 3(4)"));
    bw_test_resp_free(&r);

    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"digital_infra.cloud\"}],"
                      "\"size\":{\"staffHeadcount\":3000}}");
    ck_assert(json_is_false(json_object_get(r.json, "doraApplies")));
    ck_assert_str_eq(jstr(r.json, "incidentRegime"), "NIS2");
    ck_assert_str_eq(jstr(r.json, "supervision"), "EX_ANTE");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_nis2_at_its_edges)
{
    tenant_t t = new_tenant("Edges");
    /* Art 2(7) is for public administration only: a private defence maker
     * keeps its classification, pointed to Art 2(8). */
    bw_test_resp_t r =
        assess_ok(&t, "{\"activities\":[{\"entityType\":\"manufacturing.other_transport\"}],"
                      "\"size\":{\"staffHeadcount\":1200},"
                      "\"publicAdministration\":{\"excludedDomain\":\"DEFENCE\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "IMPORTANT");
    ck_assert(has_reason(r.json, "EXCLUDED_DOMAIN_NOT_PUBLIC_ADMINISTRATION"));
    bw_test_resp_free(&r);

    /* A partner held above 50 % is linked (Annex Art 3(3)(a)); an Annex
     * Art 3(2) investor within its threshold is not counted. */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"energy.electricity.dso\"}],"
                      "\"size\":{\"staffHeadcount\":40,\"annualTurnoverEur\":\"8000000\","
                      "\"balanceSheetTotalEur\":\"8000000\",\"partnerEnterprises\":"
                      "[{\"staffHeadcount\":240,\"holdingPercent\":60}]}}");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "LARGE");
    ck_assert(has_reason(r.json, "SIZE_PARTNER_MAJORITY_IS_LINKED"));
    ck_assert(
        has_string(json_object_get(r.json, "basis"), "Recommendation 2003/361 Annex Art 3(3)(a)"));
    bw_test_resp_free(&r);
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"energy.electricity.dso\"}],"
                      "\"size\":{\"staffHeadcount\":40,\"annualTurnoverEur\":\"8000000\","
                      "\"balanceSheetTotalEur\":\"8000000\",\"partnerEnterprises\":"
                      "[{\"staffHeadcount\":600,\"holdingPercent\":40,"
                      "\"investorException\":\"BUSINESS_ANGEL\","
                      "\"businessAngelInvestmentEur\":\"900000\"}]}}");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "SMALL");
    ck_assert(has_reason(r.json, "SIZE_INVESTOR_EXCEPTION"));
    bw_test_resp_free(&r);

    /* Annex Art 4(2) over the whole history: 300, 240, 260 staff stays large. */
    r = assess_ok(&t,
                  "{\"activities\":[{\"entityType\":\"energy.electricity.dso\"}],"
                  "\"size\":{\"staffHeadcount\":260,\"previousPeriod\":{\"staffHeadcount\":240},"
                  "\"earlierPeriods\":[{\"staffHeadcount\":300}]}}");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "LARGE");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    bw_test_resp_free(&r);

    /* Art 2(1): no activity in the Union. */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"digital_infra.dns\"}],"
                      "\"memberState\":{\"noActivityInUnion\":true}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "OUT_OF_SCOPE");
    ck_assert(has_string(json_object_get(r.json, "basis"), "NIS2 Art 2(1)"));
    ck_assert_str_eq(jstr(r.json, "incidentRegime"), "NONE");
    bw_test_resp_free(&r);

    /* Art 26(3)-(4): a non-EU provider serving the Union without a representative. */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"digital_providers.search_engine\"}],"
                      "\"size\":{\"staffHeadcount\":900},"
                      "\"memberState\":{\"servicesIn\":[\"FR\",\"IT\"]}}");
    ck_assert_ptr_nonnull(obligation(r.json, "NIS2 Art 26(3)"));
    ck_assert(has_reason(r.json, "REPRESENTATIVE_NO_SHIELD"));
    bw_test_resp_free(&r);

    /* Art 26(2): the main establishment from where decisions are taken. */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"ict_b2b.mssp\"}],"
                      "\"size\":{\"staffHeadcount\":900},\"memberState\":{\"establishment\":\"DE\","
                      "\"cybersecurityDecisionsIn\":\"NL\",\"largestWorkforceIn\":\"PL\"}}");
    json_t *j = json_object_get(r.json, "jurisdiction");
    ck_assert_str_eq(jstr(j, "rule"), "MAIN_ESTABLISHMENT");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "memberStates"), 0)),
                     "NL");
    ck_assert(has_reason(r.json, "MAIN_ESTABLISHMENT_DECISIONS"));
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_jurisdictions_whatever_the_order)
{
    tenant_t t = new_tenant("Jurisdictions");
    static const char head[] = "{\"size\":{\"staffHeadcount\":900},\"memberState\":"
                               "{\"establishment\":\"ES\",\"mainEstablishment\":\"PT\"},"
                               "\"activities\":";
    char body[512];
    snprintf(body, sizeof(body),
             "%s[{\"entityType\":\"energy.electricity.producer\"},"
             "{\"entityType\":\"digital_infra.cloud\"}]}",
             head);
    bw_test_resp_t a = assess_ok(&t, body);
    snprintf(body, sizeof(body),
             "%s[{\"entityType\":\"digital_infra.cloud\"},"
             "{\"entityType\":\"energy.electricity.producer\"}]}",
             head);
    bw_test_resp_t b = assess_ok(&t, body);
    json_t *list = json_object_get(a.json, "jurisdictions");
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(jstr(json_array_get(list, 0), "rule"), "MAIN_ESTABLISHMENT");
    ck_assert_str_eq(jstr(json_array_get(list, 1), "rule"), "ESTABLISHMENT");
    ck_assert(has_string(json_object_get(json_array_get(list, 1), "entityTypes"),
                         "energy.electricity.producer"));
    const char *keys[] = {"jurisdiction", "jurisdictions"};
    for (size_t i = 0; i < 2; i++) {
        char *x = json_dumps(json_object_get(a.json, keys[i]), JSON_SORT_KEYS | JSON_COMPACT);
        char *y = json_dumps(json_object_get(b.json, keys[i]), JSON_SORT_KEYS | JSON_COMPACT);
        ck_assert_str_eq(x, y);
        free(x);
        free(y);
    }
    bw_test_resp_free(&a);
    bw_test_resp_free(&b);
    free_tenant(&t);
}
END_TEST

START_TEST(member_state_profiles_routes)
{
    tenant_t t = new_tenant("Profiles");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/member-state-profiles", t.key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *list = json_object_get(r.json, "memberStateProfiles");
    static const char *const codes[] = {"AT", "BE", "DE", "FR", "IT", "NL"};
    ck_assert_uint_eq(json_array_size(list), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *p = json_array_get(list, i);
        ck_assert_str_eq(jstr(p, "code"), codes[i]);
        ck_assert_str_ne(jstr(json_object_get(p, "law"), "title"), "");
        ck_assert_uint_ge(json_array_size(json_object_get(p, "sources")), 1);
        ck_assert_str_ne(jstr(json_object_get(p, "registration"), "deadline"), "");
    }
    bw_test_resp_free(&r);

    ck_assert_int_eq(bw_test_http("GET", "/v1/member-state-profiles/DE", t.key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "status"), "IN_FORCE");
    ck_assert_str_eq(jstr(json_object_get(r.json, "law"), "reference"), "BGBl. 2025 I Nr. 301");
    ck_assert_str_eq(jstr(json_object_get(r.json, "law"), "inForceFrom"), "2025-12-06");
    ck_assert_str_eq(jstr(json_object_get(r.json, "localPublicAdministration"), "answer"), "NO");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "reporting"),
                                                        "notificationHours")),
                     72);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/member-state-profiles/NL", t.key, NULL, NULL, &r), 0);
    ck_assert_str_eq(jstr(r.json, "status"), "BILL");
    bw_test_resp_free(&r);

    const char *missing[] = {"/v1/member-state-profiles/ES", "/v1/member-state-profiles/de",
                             "/v1/member-state-profiles/XXXXXXXXXXXXXXXX"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(bw_test_http("GET", missing[i], t.key, NULL, NULL, &r), 0);
        ck_assert_problem(&r, 404, NULL);
        ck_assert_str_eq(jstr(r.json, "reason"), "PROFILE_NOT_FOUND");
        bw_test_resp_free(&r);
    }
    ck_assert_int_eq(bw_test_http("GET", "/v1/member-state-profiles", NULL, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_applies_the_profile)
{
    tenant_t t = new_tenant("Profile applied");
    /* The profile of establishment, in force: the answers it gave are listed. */
    bw_test_resp_t r = assess_ok(
        &t, "{\"activities\":[{\"entityType\":\"digital_infra.data_centre\"}],"
            "\"size\":{\"staffHeadcount\":400},\"memberState\":{\"establishment\":\"DE\"}}");
    json_t *p = json_object_get(r.json, "memberStateProfile");
    ck_assert_str_eq(jstr(p, "code"), "DE");
    ck_assert_str_eq(jstr(p, "selectedBy"), "memberState.establishment");
    ck_assert_str_eq(jstr(p, "status"), "IN_FORCE");
    ck_assert_uint_ge(json_array_size(json_object_get(p, "answers")), 1);
    json_t *duty = registration_duty(r.json, "NIS2 Art 3(4)");
    ck_assert_ptr_nonnull(strstr(jstr(duty, "deadline"), "BSIG § 33(1)"));
    ck_assert_ptr_nonnull(strstr(jstr(duty, "authority"), "BSI"));
    ck_assert_ptr_nonnull(strstr(jstr(obligation(r.json, "NIS2 Art 23"), "authority"), "BSI"));
    ck_assert(has_reason(r.json, "PROFILE_APPLIED"));
    bw_test_resp_free(&r);

    /* Without a profile: the entity's own deadline is national law's, not
     * the Member States' list date of 17 April 2025. */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"digital_infra.data_centre\"}],"
                      "\"size\":{\"staffHeadcount\":400},"
                      "\"memberState\":{\"establishment\":\"DE\",\"profile\":\"NONE\"}}");
    ck_assert_ptr_null(json_object_get(r.json, "memberStateProfile"));
    duty = registration_duty(r.json, "NIS2 Art 3(4)");
    ck_assert_str_eq(jstr(duty, "dueDate"), "");
    ck_assert_ptr_nonnull(strstr(jstr(duty, "deadline"), "national law"));
    ck_assert_str_eq(jstr(registration_duty(r.json, "NIS2 Art 27(2)"), "dueDate"), "2025-01-17");
    bw_test_resp_free(&r);

    /* A bill is shown, not applied. */
    r = assess_ok(&t, "{\"activities\":[{\"entityType\":\"public_admin.local\"}],"
                      "\"memberState\":{\"establishment\":\"NL\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "OUT_OF_SCOPE");
    ck_assert_str_eq(jstr(json_object_get(r.json, "memberStateProfile"), "status"), "BILL");
    ck_assert(has_reason(r.json, "PROFILE_NOT_IN_FORCE"));
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(assess_bad_input_names_the_field)
{
    tenant_t t = new_tenant("Assess bad input");
    assess_400(&t, "{\"activities\":[{\"entityType\":\"energy.nuclear\"}]}",
               "activities[0].entityType");
    assess_400(&t, "{\"activities\":[{\"entityType\":\"digital_infra.dns\"},{\"entityType\":5}]}",
               "activities[1].entityType");
    assess_400(&t, "{\"size\":{\"annualTurnoverEur\":\"-1\"}}", "size.annualTurnoverEur");
    assess_400(&t, "{\"size\":{\"balanceSheetTotalEur\":-3}}", "size.balanceSheetTotalEur");
    assess_400(&t, "{\"size\":{\"staffHeadcount\":-1}}", "size.staffHeadcount");
    assess_400(&t, "{\"size\":{\"partnerEnterprises\":[{\"holdingPercent\":150}]}}",
               "size.partnerEnterprises[0].holdingPercent");
    assess_400(&t, "{\"size\":{\"partnerEnterprises\":[{\"holdingPercent\":-1}]}}",
               "size.partnerEnterprises[0].holdingPercent");
    assess_400(&t, "{\"size\":{\"linkedEnterprises\":[{\"annualTurnoverEur\":\"-5\"}]}}",
               "size.linkedEnterprises[0].annualTurnoverEur");
    assess_400(&t, "{\"size\":{\"newlyEstablished\":true,\"previousPeriod\":{}}}",
               "size.previousPeriod");
    assess_400(&t,
               "{\"activities\":[{\"entityType\":\"energy.gas.tso\","
               "\"qualifiedTrustService\":true}]}",
               "activities[0].qualifiedTrustService");
    assess_400(&t, "{\"activities\":[{\"entityType\":\"postal.provider\",\"retailOnly\":true}]}",
               "activities[0].retailOnly");
    assess_400(&t,
               "{\"activities\":[{\"entityType\":\"digital_infra.cloud\","
               "\"rootNameServer\":true}]}",
               "activities[0].rootNameServer");
    assess_400(&t,
               "{\"publicAdministration\":{\"level\":\"CENTRAL\",\"riskAssessmentPositive\":true}}",
               "publicAdministration.riskAssessmentPositive");
    assess_400(&t,
               "{\"activities\":[{\"entityType\":\"public_admin.central\"}],"
               "\"publicAdministration\":{\"level\":\"LOCAL\"}}",
               "activities[0].entityType");
    assess_400(&t,
               "{\"activities\":[{\"entityType\":\"digital_infra.cloud\"}],"
               "\"memberState\":{\"doraExempted\":true}}",
               "memberState.doraExempted");
    assess_400(&t, "{\"memberState\":{\"designation\":\"ESSENTIAL\"}}", "memberState.designation");
    assess_400(&t, "{\"memberState\":{\"servicesIn\":[\"DE\",\"UK\"]}}",
               "memberState.servicesIn[1]");
    assess_400(&t, "{\"memberState\":{\"servicesIn\":[\"DE\",\"FR\",\"DE\"]}}",
               "memberState.servicesIn[2]");
    {
        /* More than there are Member States: refused as a whole (it was
         * stored, and copied into each jurisdiction, however long). */
        char many[512];
        size_t o = (size_t)snprintf(many, sizeof(many), "{\"memberState\":{\"servicesIn\":[");
        for (int i = 0; i < 40; i++)
            o += (size_t)snprintf(many + o, sizeof(many) - o, "%s\"DE\"", i ? "," : "");
        snprintf(many + o, sizeof(many) - o, "]}}");
        assess_400(&t, many, "memberState.servicesIn");
    }
    assess_400(&t, "{\"publicAdministration\":{\"level\":\"MUNICIPAL\"}}",
               "publicAdministration.level");
    assess_400(&t, "{\"activities\":[],\"colour\":\"red\"}", "colour");
    assess_400(&t, "{\"size\":{\"annualTurnoverEur\":\"12abc\"}}", "size.annualTurnoverEur");
    assess_400(&t, "{\"activities\":", NULL);
    /* Issue 12's inputs. */
    assess_400(&t,
               "{\"activities\":[{\"entityType\":\"fmi.ccp\"}],"
               "\"memberState\":{\"doraExempted\":true}}",
               "memberState.doraExempted");
    assess_400(&t,
               "{\"size\":{\"partnerEnterprises\":[{\"holdingPercent\":30,"
               "\"investorException\":\"ANGEL\"}]}}",
               "size.partnerEnterprises[0].investorException");
    assess_400(&t,
               "{\"size\":{\"partnerEnterprises\":[{\"holdingPercent\":30,"
               "\"investorException\":\"BUSINESS_ANGEL\"}]}}",
               "size.partnerEnterprises[0].businessAngelInvestmentEur");
    assess_400(&t,
               "{\"size\":{\"partnerEnterprises\":[{\"holdingPercent\":30,"
               "\"localAuthorityInhabitants\":300}]}}",
               "size.partnerEnterprises[0].localAuthorityInhabitants");
    assess_400(&t, "{\"size\":{\"earlierPeriods\":[{\"staffHeadcount\":10}]}}",
               "size.earlierPeriods");
    assess_400(&t,
               "{\"size\":{\"previousPeriod\":{},\"earlierPeriods\":[{\"staffHeadcount\":-1}]}}",
               "size.earlierPeriods[0].staffHeadcount");
    assess_400(&t, "{\"memberState\":{\"noActivityInUnion\":true,\"establishment\":\"DE\"}}",
               "memberState.noActivityInUnion");
    assess_400(&t, "{\"memberState\":{\"cybersecurityDecisionsIn\":\"US\"}}",
               "memberState.cybersecurityDecisionsIn");
    assess_400(&t, "{\"memberState\":{\"largestWorkforceIn\":\"CH\"}}",
               "memberState.largestWorkforceIn");
    assess_400(&t, "{\"memberState\":{\"profile\":\"ES\"}}", "memberState.profile");

    /* An assessment stores nothing. */
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", t.key, NULL, NULL, &r), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "entities")), 0);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/scoping:assess", NULL, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(entity_with_unknown_type_is_refused)
{
    tenant_t t = new_tenant("Entity codes");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key,
                                  "{\"name\":\"x\",\"timeZone\":\"UTC\",\"activities\":"
                                  "[{\"entityType\":\"digital_infra.cloud\"},"
                                  "{\"entityType\":\"digital_infra.quantum\"}]}",
                                  NULL, &r),
                     0);
    ck_assert_problem(&r, 400, "activities[1].entityType");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

/* GET the classification of entity id; expects 200 (caller frees). */
static bw_test_resp_t classification(const tenant_t *t, const char *id)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s/classification", id);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", path, t->key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
    return r;
}

static void patch(const tenant_t *t, const char *id, const char *body)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s", id);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("PATCH", path, t->key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
    bw_test_resp_free(&r);
}

START_TEST(stored_entity_classification_follows_its_facts)
{
    tenant_t t = new_tenant("Classification");
    static const char facts[] =
        "\"activities\":[{\"entityType\":\"digital_infra.cloud\"}],"
        "\"size\":{\"staffHeadcount\":20,\"annualTurnoverEur\":\"3000000\","
        "\"balanceSheetTotalEur\":\"3000000\"},"
        "\"memberState\":{\"establishment\":\"DE\",\"mainEstablishment\":\"IE\"}";
    char body[1024];
    snprintf(body, sizeof(body), "{\"name\":\"Acme Cloud\",\"timeZone\":\"Europe/Dublin\",%s}",
             facts);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);

    r = classification(&t, id);
    ck_assert_str_eq(jstr(r.json, "classification"), "OUT_OF_SCOPE");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "SMALL");
    /* The same facts through :assess give the same answer. */
    snprintf(body, sizeof(body), "{%s}", facts);
    bw_test_resp_t same = assess_ok(&t, body);
    char *stored = json_dumps(r.json, JSON_SORT_KEYS | JSON_COMPACT);
    char *stateless = json_dumps(same.json, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(stored, stateless);
    free(stored);
    free(stateless);
    bw_test_resp_free(&same);
    bw_test_resp_free(&r);

    patch(&t, id,
          "{\"size\":{\"staffHeadcount\":120,\"annualTurnoverEur\":\"30000000\","
          "\"balanceSheetTotalEur\":\"20000000\"}}");
    r = classification(&t, id);
    ck_assert_str_eq(jstr(r.json, "classification"), "IMPORTANT");
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "MEDIUM");
    ck_assert_str_eq(jstr(json_object_get(r.json, "jurisdiction"), "rule"), "MAIN_ESTABLISHMENT");
    ck_assert(
        has_string(json_object_get(json_object_get(r.json, "jurisdiction"), "memberStates"), "IE"));
    bw_test_resp_free(&r);

    patch(&t, id, "{\"activities\":[{\"entityType\":\"digital_infra.dns\"}]}");
    r = classification(&t, id);
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert(has_string(json_object_get(r.json, "basis"), "NIS2 Art 3(1)(b)"));
    bw_test_resp_free(&r);

    patch(&t, id,
          "{\"activities\":[{\"entityType\":\"digital_infra.dns\",\"rootNameServer\":true}]}");
    r = classification(&t, id);
    ck_assert_str_eq(jstr(r.json, "classification"), "OUT_OF_SCOPE");
    ck_assert(has_reason(r.json, "ROOT_NAME_SERVER"));
    bw_test_resp_free(&r);

    /* Another tenant sees no such entity, and a deleted one is gone. */
    tenant_t other = new_tenant("Classification intruder");
    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s/classification", id);
    ck_assert_int_eq(bw_test_http("GET", path, other.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/entities/%s", id);
    ck_assert_int_eq(bw_test_http("DELETE", path, t.key, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/entities/%s/classification", id);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(
        bw_test_http("GET", "/v1/entities/not-a-uuid/classification", t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    free(id);
    free_tenant(&other);
    free_tenant(&t);
}
END_TEST

START_TEST(entity_applicability_with_view_full)
{
    /* GET /v1/entities/{id}?view=FULL adds what follows from the
     * classification, as the other services ask for it; without the view
     * nothing is evaluated and nothing is added. */
    tenant_t t = new_tenant("Applicability");
    bw_test_resp_t r;
    ck_assert_int_eq(
        bw_test_http(
            "POST", "/v1/entities", t.key,
            "{\"name\":\"Bank AG\",\"timeZone\":\"Europe/Berlin\",\"activities\":[{"
            "\"entityType\":\"banking.credit_institution\"}],\"size\":{\"staffHeadcount\":"
            "900,\"annualTurnoverEur\":\"90000000\",\"balanceSheetTotalEur\":\"90000000\"},"
            "\"memberState\":{\"establishment\":\"DE\"}}",
            NULL, &r),
        0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s", id);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_ptr_null(json_object_get(r.json, "applicability"));
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/entities/%s?view=FULL", id);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    json_t *ap = json_object_get(r.json, "applicability");
    ck_assert_ptr_nonnull(ap);
    ck_assert_str_eq(jstr(ap, "classification"), "ESSENTIAL");
    ck_assert_str_eq(jstr(ap, "incidentRegime"), "DORA");
    ck_assert(json_is_true(json_object_get(ap, "doraApplies")));
    ck_assert(json_is_false(json_object_get(ap, "implementingRegulationApplies")));
    json_t *provisions = json_object_get(ap, "provisions");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(provisions); i++) {
        json_t *p = json_array_get(provisions, i);
        if (strcmp(jstr(p, "provision"), "NIS2 Art 23") == 0) {
            ck_assert(json_is_false(json_object_get(p, "applies")));
            ck_assert_str_eq(jstr(p, "displacedBy"), "DORA Art 19");
            seen = 1;
        }
    }
    ck_assert(seen);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/entities/%s?view=EVERYTHING", id);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 400, "view");
    bw_test_resp_free(&r);
    free(id);
    free_tenant(&t);
}
END_TEST

START_TEST(stored_entity_keeps_the_new_facts)
{
    /* Every new input is stored with the entity, and its classification is
     * the same evaluation as :assess on the same facts. */
    tenant_t t = new_tenant("New facts");
    static const char facts[] =
        "\"activities\":[{\"entityType\":\"ict_b2b.msp\"},"
        "{\"entityType\":\"energy.electricity.producer\"}],"
        "\"size\":{\"staffHeadcount\":260,\"previousPeriod\":{\"staffHeadcount\":240},"
        "\"earlierPeriods\":[{\"staffHeadcount\":300}],\"partnerEnterprises\":[{"
        "\"staffHeadcount\":50,\"holdingPercent\":30,\"investorException\":"
        "\"AUTONOMOUS_LOCAL_AUTHORITY\",\"localAuthorityBudgetEur\":\"4000000\","
        "\"localAuthorityInhabitants\":3000}]},"
        "\"memberState\":{\"establishment\":\"BE\",\"cyberOperationsIn\":\"LU\","
        "\"profile\":\"BE\",\"formerOes\":true}";
    char body[2048];
    snprintf(body, sizeof(body), "{\"name\":\"Acme MSP\",\"timeZone\":\"Europe/Brussels\",%s}",
             facts);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key, body, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "%s", r.body);
    char *id = strdup(jstr(r.json, "id"));
    json_t *ms = json_object_get(r.json, "memberState");
    ck_assert_str_eq(jstr(ms, "cyberOperationsIn"), "LU");
    ck_assert(json_is_true(json_object_get(ms, "formerOes")));
    ck_assert_uint_eq(
        json_array_size(json_object_get(json_object_get(r.json, "size"), "earlierPeriods")), 1);
    bw_test_resp_free(&r);

    r = classification(&t, id);
    ck_assert_str_eq(jstr(r.json, "sizeClass"), "LARGE");
    ck_assert_str_eq(jstr(json_object_get(r.json, "jurisdiction"), "rule"), "MAIN_ESTABLISHMENT");
    ck_assert_str_eq(jstr(json_object_get(r.json, "memberStateProfile"), "code"), "BE");
    snprintf(body, sizeof(body), "{%s}", facts);
    bw_test_resp_t same = assess_ok(&t, body);
    char *stored = json_dumps(r.json, JSON_SORT_KEYS | JSON_COMPACT);
    char *stateless = json_dumps(same.json, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(stored, stateless);
    free(stored);
    free(stateless);
    bw_test_resp_free(&same);
    bw_test_resp_free(&r);

    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s", id);
    ck_assert_int_eq(bw_test_http("PATCH", path, t.key,
                                  "{\"memberState\":{\"noActivityInUnion\":true,"
                                  "\"establishment\":\"BE\"}}",
                                  NULL, &r),
                     0);
    ck_assert_problem(&r, 400, "memberState.noActivityInUnion");
    bw_test_resp_free(&r);
    ck_assert_int_eq(
        bw_test_http("PATCH", path, t.key, "{\"memberState\":{\"profile\":\"XX\"}}", NULL, &r), 0);
    ck_assert_problem(&r, 400, "memberState.profile");
    bw_test_resp_free(&r);
    free(id);
    free_tenant(&t);
}
END_TEST

Suite *suite_scoping(void)
{
    Suite *s = suite_create("scoping");
    TCase *tc = tcase_create("scoping");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, entity_type_catalogue);
    tcase_add_test(tc, assess_dns_provider);
    tcase_add_test(tc, assess_the_api_example);
    tcase_add_test(tc, assess_fine_above_the_fixed_amount);
    tcase_add_test(tc, assess_out_of_scope_and_exclusions);
    tcase_add_test(tc, assess_dora_displaces_nis2);
    tcase_add_test(tc, assess_nis2_at_its_edges);
    tcase_add_test(tc, assess_jurisdictions_whatever_the_order);
    tcase_add_test(tc, member_state_profiles_routes);
    tcase_add_test(tc, assess_applies_the_profile);
    tcase_add_test(tc, assess_bad_input_names_the_field);
    tcase_add_test(tc, entity_with_unknown_type_is_refused);
    tcase_add_test(tc, stored_entity_classification_follows_its_facts);
    tcase_add_test(tc, entity_applicability_with_view_full);
    tcase_add_test(tc, stored_entity_keeps_the_new_facts);
    suite_add_tcase(s, tc);
    return s;
}
