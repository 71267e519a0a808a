/*
 * Validation of entity facts: the 400s a client gets, field by field.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "status.h"

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
                          "UTC", "Etc/UTC", "Asia/Kolkata", "Etc/GMT+1"};
    const char *bad[] = {"", "Mars/Olympus", "CEST", "CET", "GMT+1", "+02:00", "Europe/Berlin ",
                         "europe/berlin", "Europe//Berlin", "../etc/passwd"};
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
    ck_assert_int_eq(bw_scoping_validate_entity(call, &e), 0);
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
    ck_assert_int_eq(bw_scoping_validate_entity(call, &e), BW_EINVAL);
    const char *fields[] = {"name", "timeZone", "activities[0].entityType",
                            "size.staffHeadcount", "size.annualTurnoverEur",
                            "size.partnerEnterprises[0].holdingPercent",
                            "memberState.establishment", "memberState.servicesIn[1]",
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
    ck_assert_int_eq(bw_scoping_validate_entity(call, &e), BW_EINVAL);
    ck_assert(has_violation(call, "memberState.designation"));
    free_call(call);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scoping facts");
    TCase *tc = tcase_create("validate");
    tcase_add_test(tc, time_zones);
    tcase_add_test(tc, member_states);
    tcase_add_test(tc, valid_entity_passes);
    tcase_add_test(tc, each_bad_field_is_named);
    tcase_add_test(tc, designation_needs_a_ground);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
