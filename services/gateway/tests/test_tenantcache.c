/*
 * The cache of tenants named by OIDC tokens.
 */
#include <check.h>
#include <stdio.h>

#include "status.h"
#include "tenantcache.h"

START_TEST(known_unknown_and_unseen)
{
    bw_tenantcache_t *c = NULL;
    ck_assert_int_eq(bw_tenantcache_create(16, &c), 0);
    const char *a = "0193a2b4-0000-7000-8000-000000000001";
    const char *b = "0193a2b4-0000-7000-8000-000000000002";
    ck_assert_int_eq(bw_tenantcache_get(c, a), BW_TENANT_UNSEEN);
    uint64_t g = bw_tenantcache_generation(c);
    bw_tenantcache_put(c, a, BW_TENANT_EXISTS, g);
    bw_tenantcache_put(c, b, BW_TENANT_MISSING, g);
    ck_assert_int_eq(bw_tenantcache_get(c, a), BW_TENANT_EXISTS);
    ck_assert_int_eq(bw_tenantcache_get(c, b), BW_TENANT_MISSING);
    /* a later answer replaces an earlier one */
    bw_tenantcache_put(c, b, BW_TENANT_SUSPENDED, g);
    ck_assert_int_eq(bw_tenantcache_get(c, b), BW_TENANT_SUSPENDED);
    bw_tenantcache_destroy(c);
}
END_TEST

START_TEST(a_change_is_forgotten_and_older_answers_are_not_kept)
{
    bw_tenantcache_t *c = NULL;
    ck_assert_int_eq(bw_tenantcache_create(16, &c), 0);
    const char *a = "0193a2b4-0000-7000-8000-000000000001";
    const char *b = "0193a2b4-0000-7000-8000-000000000002";
    uint64_t before = bw_tenantcache_generation(c);
    bw_tenantcache_put(c, a, BW_TENANT_EXISTS, before);
    bw_tenantcache_put(c, b, BW_TENANT_EXISTS, before);
    /* a is suspended: forgotten at once, b stays */
    bw_tenantcache_forget(c, a);
    ck_assert_int_eq(bw_tenantcache_get(c, a), BW_TENANT_UNSEEN);
    ck_assert_int_eq(bw_tenantcache_get(c, b), BW_TENANT_EXISTS);
    /* a lookup that began before the suspension read "active": not kept */
    bw_tenantcache_put(c, a, BW_TENANT_EXISTS, before);
    ck_assert_int_eq(bw_tenantcache_get(c, a), BW_TENANT_UNSEEN);
    bw_tenantcache_put(c, a, BW_TENANT_SUSPENDED, bw_tenantcache_generation(c));
    ck_assert_int_eq(bw_tenantcache_get(c, a), BW_TENANT_SUSPENDED);
    bw_tenantcache_clear(c);
    ck_assert_int_eq(bw_tenantcache_get(c, a), BW_TENANT_UNSEEN);
    ck_assert_int_eq(bw_tenantcache_get(c, b), BW_TENANT_UNSEEN);
    bw_tenantcache_clear(NULL);
    bw_tenantcache_destroy(c);
}
END_TEST

START_TEST(a_full_table_forgets_but_never_lies)
{
    bw_tenantcache_t *c = NULL;
    ck_assert_int_eq(bw_tenantcache_create(16, &c), 0);
    char id[64];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "0193a2b4-0000-7000-8000-%012d", i);
        bw_tenantcache_put(c, id, i % 2 ? BW_TENANT_EXISTS : BW_TENANT_MISSING, 0);
    }
    int kept = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "0193a2b4-0000-7000-8000-%012d", i);
        enum bw_tenant_known k = bw_tenantcache_get(c, id);
        if (k == BW_TENANT_UNSEEN)
            continue;
        kept++;
        ck_assert_int_eq(k, i % 2 ? BW_TENANT_EXISTS : BW_TENANT_MISSING);
    }
    ck_assert_int_gt(kept, 0);
    ck_assert_int_le(kept, 16);
    bw_tenantcache_destroy(c);
    ck_assert_int_eq(bw_tenantcache_create(10, &c), BW_EINVAL);
    ck_assert_ptr_null(c);
    bw_tenantcache_destroy(NULL);
}
END_TEST

Suite *suite_tenantcache(void)
{
    Suite *s = suite_create("tenantcache");
    TCase *tc = tcase_create("tenantcache");
    tcase_add_test(tc, known_unknown_and_unseen);
    tcase_add_test(tc, a_change_is_forgotten_and_older_answers_are_not_kept);
    tcase_add_test(tc, a_full_table_forgets_but_never_lies);
    suite_add_tcase(s, tc);
    return s;
}
