/*
 * The entity-type catalogue: complete (every Annex I and II type of
 * Directive (EU) 2022/2555), unique codes, and the columns the rules rely on.
 */
#include <check.h>
#include <string.h>

#include "catalogue.h"
#include "suites.h"

#define ANNEX(x) BULWARK__SCOPING__V1__ENTITY_TYPE__ANNEX__##x
#define RULE(x) BULWARK__SCOPING__V1__JURISDICTION__RULE__##x

START_TEST(counts_per_annex)
{
    size_t n, annex_i = 0, annex_ii = 0, other = 0;
    const bw_catalogue_entry_t *e = bw_catalogue_entries(&n);
    for (size_t i = 0; i < n; i++) {
        annex_i += e[i].annex == ANNEX(I);
        annex_ii += e[i].annex == ANNEX(II);
        other += e[i].annex == ANNEX(NONE);
    }
    /* 53 Annex I types plus the two TSP variants. */
    ck_assert_uint_eq(annex_i, 55);
    ck_assert_uint_eq(annex_ii, 14);
    ck_assert_uint_eq(other, 3);
}
END_TEST

START_TEST(codes_are_unique_and_well_formed)
{
    size_t n;
    const bw_catalogue_entry_t *e = bw_catalogue_entries(&n);
    for (size_t i = 0; i < n; i++) {
        const char *code = e[i].code;
        ck_assert_msg(strchr(code, '.') != NULL, "%s has no sector prefix", code);
        for (const char *p = code; *p; p++)
            ck_assert_msg((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                              *p == '.',
                          "bad code %s", code);
        ck_assert_ptr_eq(bw_catalogue_find(code), &e[i]);
        for (size_t j = i + 1; j < n; j++)
            ck_assert_str_ne(code, e[j].code);
        ck_assert_str_ne(e[i].label, "");
        ck_assert_str_ne(e[i].sector, "");
        ck_assert_int_ne(e[i].jurisdiction, RULE(RULE_UNSPECIFIED));
        ck_assert_msg(e[i].annex == ANNEX(NONE) || e[i].annex_point[0] != '\0',
                      "%s has no Annex point", code);
    }
    ck_assert_ptr_null(bw_catalogue_find("digital_infra"));
    ck_assert_ptr_null(bw_catalogue_find("digital_infra.dns.x"));
    ck_assert_ptr_null(bw_catalogue_find(""));
}
END_TEST

START_TEST(columns_of_scope_md)
{
    const bw_catalogue_entry_t *dns = bw_catalogue_find("digital_infra.dns");
    ck_assert_uint_eq(dns->flags & (BW_CAT_SIZE_INDEPENDENT | BW_CAT_ALWAYS_ESSENTIAL | BW_CAT_IR),
                      BW_CAT_SIZE_INDEPENDENT | BW_CAT_ALWAYS_ESSENTIAL | BW_CAT_IR);
    ck_assert_int_eq(dns->jurisdiction, RULE(MAIN_ESTABLISHMENT));
    ck_assert_str_eq(dns->annex_point, "8");

    const bw_catalogue_entry_t *tsp = bw_catalogue_find("digital_infra.tsp");
    ck_assert(tsp->flags & BW_CAT_SIZE_INDEPENDENT);
    ck_assert(!(tsp->flags & BW_CAT_ALWAYS_ESSENTIAL));
    ck_assert_int_eq(tsp->jurisdiction, RULE(ESTABLISHMENT));
    ck_assert(bw_catalogue_find("digital_infra.tsp.qualified")->flags & BW_CAT_ALWAYS_ESSENTIAL);
    ck_assert(
        !(bw_catalogue_find("digital_infra.tsp.non_qualified")->flags & BW_CAT_ALWAYS_ESSENTIAL));

    const bw_catalogue_entry_t *pecn = bw_catalogue_find("digital_infra.pecn");
    ck_assert(pecn->flags & BW_CAT_SIZE_INDEPENDENT);
    ck_assert(!(pecn->flags & BW_CAT_IR));
    ck_assert_int_eq(pecn->jurisdiction, RULE(SERVICE_PROVISION));

    const bw_catalogue_entry_t *central = bw_catalogue_find("public_admin.central");
    ck_assert(central->flags & BW_CAT_ALWAYS_ESSENTIAL);
    ck_assert(!(central->flags & BW_CAT_SIZED));
    ck_assert_int_eq(central->jurisdiction, RULE(ESTABLISHING_STATE));

    ck_assert(bw_catalogue_find("banking.credit_institution")->flags & BW_CAT_DORA);
    ck_assert(bw_catalogue_find("fmi.ccp")->flags & BW_CAT_DORA);
    ck_assert(bw_catalogue_find("digital_providers.social_network")->flags & BW_CAT_IR);
    ck_assert_int_eq(bw_catalogue_find("digital_providers.social_network")->annex, ANNEX(II));
    ck_assert(!(bw_catalogue_find("digital_infra.ixp")->flags & BW_CAT_IR));

    const bw_catalogue_entry_t *domreg = bw_catalogue_find("domain_registration.service");
    ck_assert_int_eq(domreg->annex, ANNEX(NONE));
    ck_assert(domreg->flags & BW_CAT_SIZE_INDEPENDENT);
    ck_assert_int_eq(domreg->jurisdiction, RULE(MAIN_ESTABLISHMENT));
    ck_assert_int_eq(bw_catalogue_find("public_admin.local")->annex, ANNEX(NONE));
    ck_assert_int_eq(bw_catalogue_find("education.institution")->annex, ANNEX(NONE));
    ck_assert_str_eq(bw_catalogue_find("manufacturing.medical_devices")->annex_point, "5(a)");
}
END_TEST

START_TEST(main_establishment_list_is_art_26_1_b)
{
    static const char *const main_list[] = {
        "digital_infra.dns",
        "digital_infra.tld_registry",
        "domain_registration.service",
        "digital_infra.cloud",
        "digital_infra.data_centre",
        "digital_infra.cdn",
        "ict_b2b.msp",
        "ict_b2b.mssp",
        "digital_providers.online_marketplace",
        "digital_providers.search_engine",
        "digital_providers.social_network",
    };
    size_t n, seen = 0;
    const bw_catalogue_entry_t *e = bw_catalogue_entries(&n);
    for (size_t i = 0; i < n; i++)
        seen += e[i].jurisdiction == RULE(MAIN_ESTABLISHMENT);
    ck_assert_uint_eq(seen, sizeof(main_list) / sizeof(main_list[0]));
    for (size_t i = 0; i < sizeof(main_list) / sizeof(main_list[0]); i++)
        ck_assert_int_eq(bw_catalogue_find(main_list[i])->jurisdiction, RULE(MAIN_ESTABLISHMENT));
}
END_TEST

START_TEST(ir_articles_are_ir_2024_2690_art_5_to_14)
{
    /* IR 2024/2690 Art 5-14 give each relevant entity of its Art 1 its own
     * significant-incident criteria; the incidents service reads the article
     * from here (ListEntityTypes) instead of listing the types itself. */
    static const struct {
        const char *code;
        int article;
    } want[] = {
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
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_int_eq(bw_catalogue_find(want[i].code)->ir_article, want[i].article);
    /* Exactly the IR types have an article. */
    size_t n, with_article = 0;
    const bw_catalogue_entry_t *e = bw_catalogue_entries(&n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(e[i].ir_article != 0, (e[i].flags & BW_CAT_IR) != 0);
        with_article += e[i].ir_article != 0;
    }
    ck_assert_uint_eq(with_article, sizeof(want) / sizeof(want[0]));
    /* Domain name registration services are no relevant entity (IR Art 1). */
    ck_assert_int_eq(bw_catalogue_find("domain_registration.service")->ir_article, 0);
}
END_TEST

Suite *suite_catalogue(void)
{
    Suite *s = suite_create("scoping catalogue");
    TCase *tc = tcase_create("catalogue");
    tcase_add_test(tc, counts_per_annex);
    tcase_add_test(tc, codes_are_unique_and_well_formed);
    tcase_add_test(tc, columns_of_scope_md);
    tcase_add_test(tc, main_establishment_list_is_art_26_1_b);
    tcase_add_test(tc, ir_articles_are_ir_2024_2690_art_5_to_14);
    suite_add_tcase(s, tc);
    return s;
}
