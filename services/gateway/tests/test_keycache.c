/*
 * The API key cache and the token format.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "keycache.h"
#include "status.h"

static bw_keycache_t *kc;

static bw_key_entry_t entry(const char *key_id, const char *tenant)
{
    bw_key_entry_t e;
    memset(&e, 0, sizeof(e));
    snprintf(e.key_id, sizeof(e.key_id), "%s", key_id);
    snprintf(e.tenant_id, sizeof(e.tenant_id), "%s", tenant);
    snprintf(e.role, sizeof(e.role), "admin");
    e.token_sha256[0] = 7;
    return e;
}

START_TEST(put_get_evict)
{
    ck_assert_int_eq(bw_keycache_create(16, &kc), 0);
    bw_key_entry_t e = entry("0193a2b4-0000-7000-8000-000000000001", "t1"), out;
    ck_assert_int_ne(bw_keycache_get(kc, e.key_id, &out), 0);
    ck_assert_int_eq(bw_keycache_put(kc, &e, bw_keycache_generation(kc)), 0);
    ck_assert_int_eq(bw_keycache_get(kc, e.key_id, &out), 0);
    ck_assert_str_eq(out.tenant_id, "t1");
    ck_assert_int_eq(out.token_sha256[0], 7);
    bw_keycache_evict(kc, e.key_id);
    ck_assert_int_ne(bw_keycache_get(kc, e.key_id, &out), 0);
    /* A fresh put after revocation (a key re-resolved) is visible again. */
    ck_assert_int_eq(bw_keycache_put(kc, &e, bw_keycache_generation(kc)), 0);
    ck_assert_int_eq(bw_keycache_get(kc, e.key_id, &out), 0);
    bw_keycache_clear(kc);
    ck_assert_int_ne(bw_keycache_get(kc, e.key_id, &out), 0);
    bw_keycache_destroy(kc);
}
END_TEST

START_TEST(a_lookup_older_than_a_revocation_is_not_kept)
{
    /* A lookup reads the key as valid, the key is revoked and evicted, then
     * the lookup's answer arrives: it must not put the key back. */
    ck_assert_int_eq(bw_keycache_create(16, &kc), 0);
    bw_key_entry_t e = entry("0193a2b4-0000-7000-8000-000000000001", "t1"), out;
    uint64_t before = bw_keycache_generation(kc);
    bw_keycache_evict(kc, e.key_id);
    ck_assert_int_eq(bw_keycache_put(kc, &e, before), BW_ECONFLICT);
    ck_assert_int_ne(bw_keycache_get(kc, e.key_id, &out), 0);
    /* the same after a clear (a listener reconnecting) */
    before = bw_keycache_generation(kc);
    bw_keycache_clear(kc);
    ck_assert_int_eq(bw_keycache_put(kc, &e, before), BW_ECONFLICT);
    ck_assert_int_ne(bw_keycache_get(kc, e.key_id, &out), 0);
    /* a lookup that began after the revocation is kept */
    ck_assert_int_eq(bw_keycache_put(kc, &e, bw_keycache_generation(kc)), 0);
    ck_assert_int_eq(bw_keycache_get(kc, e.key_id, &out), 0);
    bw_keycache_destroy(kc);
}
END_TEST

START_TEST(full_table_replaces_but_stays_correct)
{
    ck_assert_int_eq(bw_keycache_create(16, &kc), 0);
    char id[64];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "0193a2b4-0000-7000-8000-%012d", i);
        bw_key_entry_t e = entry(id, "t");
        bw_keycache_put(kc, &e, bw_keycache_generation(kc));
    }
    int found = 0;
    for (int i = 0; i < 100; i++) {
        bw_key_entry_t out;
        snprintf(id, sizeof(id), "0193a2b4-0000-7000-8000-%012d", i);
        if (bw_keycache_get(kc, id, &out) == 0) {
            ck_assert_str_eq(out.key_id, id);
            found++;
        }
    }
    ck_assert_int_le(found, 16);
    ck_assert_int_gt(found, 0);
    bw_keycache_destroy(kc);
}
END_TEST

START_TEST(unknown_keys_are_remembered_apart)
{
    ck_assert_int_eq(bw_keycache_create(16, &kc), 0);
    const char *ghost = "0193a2b4-0000-7000-8000-0000000000ff";
    ck_assert(!bw_keycache_is_unknown(kc, ghost));
    bw_keycache_put_unknown(kc, ghost);
    ck_assert(bw_keycache_is_unknown(kc, ghost));
    ck_assert(!bw_keycache_is_unknown(kc, "0193a2b4-0000-7000-8000-0000000000fe"));
    /* A flood of unknown ids does not push a known key out. */
    bw_key_entry_t e = entry("0193a2b4-0000-7000-8000-000000000001", "t1"), out;
    bw_keycache_put(kc, &e, bw_keycache_generation(kc));
    char id[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "0193a2b4-0000-7000-9000-%012d", i);
        bw_keycache_put_unknown(kc, id);
    }
    ck_assert_int_eq(bw_keycache_get(kc, e.key_id, &out), 0);
    ck_assert(!bw_keycache_is_unknown(kc, e.key_id));
    bw_keycache_clear(kc);
    ck_assert(!bw_keycache_is_unknown(kc, id));
    bw_keycache_destroy(kc);
}
END_TEST

START_TEST(a_tenant_is_evicted_whole)
{
    ck_assert_int_eq(bw_keycache_create(16, &kc), 0);
    bw_key_entry_t a1 = entry("0193a2b4-0000-7000-8000-000000000001", "ta"), out;
    bw_key_entry_t a2 = entry("0193a2b4-0000-7000-8000-000000000002", "ta");
    bw_key_entry_t b1 = entry("0193a2b4-0000-7000-8000-000000000003", "tb");
    uint64_t before = bw_keycache_generation(kc);
    ck_assert_int_eq(bw_keycache_put(kc, &a1, before), 0);
    ck_assert_int_eq(bw_keycache_put(kc, &a2, before), 0);
    ck_assert_int_eq(bw_keycache_put(kc, &b1, before), 0);
    bw_keycache_evict_tenant(kc, "ta");
    ck_assert_int_ne(bw_keycache_get(kc, a1.key_id, &out), 0);
    ck_assert_int_ne(bw_keycache_get(kc, a2.key_id, &out), 0);
    ck_assert_int_eq(bw_keycache_get(kc, b1.key_id, &out), 0);
    /* A lookup that began before the tenant changed is not kept. */
    ck_assert_int_eq(bw_keycache_put(kc, &a1, before), BW_ECONFLICT);
    ck_assert_int_ne(bw_keycache_get(kc, a1.key_id, &out), 0);
    bw_keycache_destroy(kc);
}
END_TEST

/* Two caches share nothing: a revocation in one leaves the other's keys
 * and generation alone. */
START_TEST(two_caches_are_apart)
{
    bw_keycache_t *other = NULL;
    ck_assert_int_eq(bw_keycache_create(16, &kc), 0);
    ck_assert_int_eq(bw_keycache_create(16, &other), 0);
    bw_key_entry_t e = entry("11111111-1111-1111-1111-111111111111", "t1");
    ck_assert_int_eq(bw_keycache_put(kc, &e, bw_keycache_generation(kc)), 0);
    ck_assert_int_eq(bw_keycache_put(other, &e, bw_keycache_generation(other)), 0);
    uint64_t before = bw_keycache_generation(other);
    bw_keycache_evict(kc, e.key_id);
    bw_key_entry_t out;
    ck_assert_int_eq(bw_keycache_get(kc, e.key_id, &out), BW_ENOTFOUND);
    ck_assert_int_eq(bw_keycache_get(other, e.key_id, &out), 0);
    ck_assert_uint_eq(bw_keycache_generation(other), before);
    bw_keycache_put_unknown(kc, "22222222-2222-2222-2222-222222222222");
    ck_assert(!bw_keycache_is_unknown(other, "22222222-2222-2222-2222-222222222222"));
    bw_keycache_destroy(other);
    bw_keycache_destroy(kc);
}
END_TEST

START_TEST(token_format_round_trip)
{
    char token[160], key_id[40];
    const char *secret = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
    ck_assert_int_eq(
        bw_token_format("0193a2b4-1111-7222-8333-444455556666", secret, token, sizeof(token)), 0);
    ck_assert_str_eq(token, "bwk_0193a2b411117222833344445555666"
                            "6_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ");
    ck_assert_int_eq(bw_token_key_id(token, key_id), 0);
    ck_assert_str_eq(key_id, "0193a2b4-1111-7222-8333-444455556666");
}
END_TEST

START_TEST(bad_tokens)
{
    char key_id[40];
    const char *bad[] = {"",
                         "bwk_",
                         "Bearer x",
                         "bwk_0193a2b4111172228333444455556666",
                         "bwk_0193a2b4111172228333444455556666_short",
                         "bwk_0193A2B4111172228333444455556666_abcdefghijklmnopqrstuvwxyzABCDEFG",
                         "bwk_0193a2b411117222833344445555666_abcdefghijklmnopqrstuvwxyzABCDEFGH",
                         "xwk_0193a2b4111172228333444455556666_abcdefghijklmnopqrstuvwxyzABCDEFG"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(bw_token_key_id(bad[i], key_id) != 0, "accepted %s", bad[i]);
}
END_TEST

Suite *suite_keycache(void)
{
    Suite *s = suite_create("keycache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, put_get_evict);
    tcase_add_test(tc, a_lookup_older_than_a_revocation_is_not_kept);
    tcase_add_test(tc, full_table_replaces_but_stays_correct);
    tcase_add_test(tc, unknown_keys_are_remembered_apart);
    tcase_add_test(tc, a_tenant_is_evicted_whole);
    tcase_add_test(tc, two_caches_are_apart);
    tcase_add_test(tc, token_format_round_trip);
    tcase_add_test(tc, bad_tokens);
    suite_add_tcase(s, tc);
    return s;
}
