/*
 * The NIS2 scoping slice end to end: the entity-type catalogue, the
 * stateless assessment (answers, consequences, 64-bit money as strings, bad
 * input named field by field, nothing stored) and the classification of a
 * stored entity, which follows every change of its facts and matches what
 * :assess says about the same facts.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct tenant {
    char *id;
    char *key;
} tenant_t;

static tenant_t new_tenant(const char *name)
{
    tenant_t t;
    t.id = bw_test_create_tenant(name, &t.key);
    ck_assert_ptr_nonnull(t.id);
    return t;
}

static void free_tenant(tenant_t *t)
{
    free(t->id);
    free(t->key);
}

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
    json_t *dso = entity_type(r.json, "energy.electricity.dso");
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

START_TEST(assess_dora_note)
{
    tenant_t t = new_tenant("Bank");
    bw_test_resp_t r =
        assess_ok(&t, "{\"activities\":[{\"entityType\":\"banking.credit_institution\"}],"
                      "\"size\":{\"staffHeadcount\":3000,\"annualTurnoverEur\":\"900000000\","
                      "\"balanceSheetTotalEur\":\"9000000000\"}}");
    ck_assert_str_eq(jstr(r.json, "classification"), "ESSENTIAL");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "doraNote"), "2022/2554"));
    ck_assert(has_reason(r.json, "DORA_LEX_SPECIALIS"));
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
    assess_400(&t, "{\"publicAdministration\":{\"level\":\"MUNICIPAL\"}}",
               "publicAdministration.level");
    assess_400(&t, "{\"activities\":[],\"colour\":\"red\"}", "colour");
    assess_400(&t, "{\"size\":{\"annualTurnoverEur\":\"12abc\"}}", "size.annualTurnoverEur");
    assess_400(&t, "{\"activities\":", NULL);

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
    tcase_add_test(tc, assess_dora_note);
    tcase_add_test(tc, assess_bad_input_names_the_field);
    tcase_add_test(tc, entity_with_unknown_type_is_refused);
    tcase_add_test(tc, stored_entity_classification_follows_its_facts);
    suite_add_tcase(s, tc);
    return s;
}
