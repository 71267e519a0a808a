/*
 * Secrets at rest (seal.c): the key formats BULWARK_SECRETS_KEY accepts, a
 * round trip, and that nothing but the right key with the right context
 * opens a sealed value: every byte flipped, another row's context, another
 * key, a truncated value; and a ring of two keys, as during a rotation of
 * BULWARK_SECRETS_KEY, opening what either sealed and nothing else.
 */
#include "seal.h"
#include "status.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define HEX_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* The same 32 bytes in base64. */
#define B64_KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

START_TEST(key_formats)
{
    bw_seal_key_t a, b;
    ck_assert_int_eq(bw_seal_key_parse(HEX_KEY, &a), 0);
    for (int i = 0; i < BW_SEAL_KEY_LEN; i++)
        ck_assert_uint_eq(a.bytes[i], (unsigned)i);
    ck_assert_int_eq(bw_seal_key_parse(B64_KEY, &b), 0);
    ck_assert_mem_eq(a.bytes, b.bytes, BW_SEAL_KEY_LEN);
    ck_assert_mem_eq(a.id, b.id, sizeof(a.id));
    /* Padding is optional; upper-case hex is fine. */
    ck_assert_int_eq(bw_seal_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", &b), 0);
    ck_assert_mem_eq(a.bytes, b.bytes, BW_SEAL_KEY_LEN);
    ck_assert_int_eq(
        bw_seal_key_parse("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", &b),
        0);
    ck_assert_mem_eq(a.bytes, b.bytes, BW_SEAL_KEY_LEN);

    const char *bad[] = {
        "",
        "short",
        /* 31 bytes of hex, 33 bytes of hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        /* a non-hex digit */
        "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
        /* base64url alphabet, non-zero trailing bits, 24 bytes */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-_",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(bw_seal_key_parse(bad[i], &b) == BW_EINVAL, "accepted \"%s\"", bad[i]);
    ck_assert_int_eq(bw_seal_key_parse(NULL, &b), BW_EINVAL);
}
END_TEST

START_TEST(round_trip_and_fresh_nonces)
{
    bw_seal_key_t key;
    ck_assert_int_eq(bw_seal_key_parse(HEX_KEY, &key), 0);
    const uint8_t secret[] = "whsec-like secret bytes";
    uint8_t a[sizeof(secret) + BW_SEAL_OVERHEAD], b[sizeof(secret) + BW_SEAL_OVERHEAD];
    size_t alen, blen;
    ck_assert_int_eq(bw_seal(&key, "t/1", secret, sizeof(secret), a, &alen), 0);
    ck_assert_int_eq(bw_seal(&key, "t/1", secret, sizeof(secret), b, &blen), 0);
    ck_assert_uint_eq(alen, sizeof(secret) + BW_SEAL_OVERHEAD);
    /* The same secret sealed twice looks different (a fresh nonce). */
    ck_assert(memcmp(a, b, alen) != 0);
    /* And the plaintext appears nowhere in it. */
    ck_assert_ptr_null(memmem(a, alen, "secret", 6));
    uint8_t out[64];
    size_t n;
    ck_assert_int_eq(bw_unseal(&key, "t/1", a, alen, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, sizeof(secret));
    ck_assert_mem_eq(out, secret, n);
    /* An empty value seals too. */
    ck_assert_int_eq(bw_seal(&key, "t/1", NULL, 0, a, &alen), 0);
    ck_assert_int_eq(bw_unseal(&key, "t/1", a, alen, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(only_the_right_key_and_context_open_it)
{
    bw_seal_key_t key, other;
    ck_assert_int_eq(bw_seal_key_parse(HEX_KEY, &key), 0);
    ck_assert_int_eq(
        bw_seal_key_parse("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                          &other),
        0);
    const uint8_t secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint8_t sealed[sizeof(secret) + BW_SEAL_OVERHEAD], out[64];
    size_t len, n;
    ck_assert_int_eq(bw_seal(&key, "webhook_endpoints/t1/e1", secret, sizeof(secret), sealed, &len),
                     0);
    /* Every byte flipped, one at a time: never opens. */
    for (size_t i = 0; i < len; i++) {
        sealed[i] ^= 0x01;
        int err = bw_unseal(&key, "webhook_endpoints/t1/e1", sealed, len, out, sizeof(out), &n);
        ck_assert_msg(err == BW_EINVAL || (i >= 1 && i < 5 && err == BW_EPERM),
                      "byte %zu flipped: %d", i, err);
        sealed[i] ^= 0x01;
    }
    /* Another row's or tenant's context. */
    ck_assert_int_eq(bw_unseal(&key, "webhook_endpoints/t1/e2", sealed, len, out, sizeof(out), &n),
                     BW_EINVAL);
    ck_assert_int_eq(bw_unseal(&key, "webhook_endpoints/t2/e1", sealed, len, out, sizeof(out), &n),
                     BW_EINVAL);
    /* Another key is told apart from tampering. */
    ck_assert_int_eq(
        bw_unseal(&other, "webhook_endpoints/t1/e1", sealed, len, out, sizeof(out), &n), BW_EPERM);
    /* Truncated, or too small a buffer. */
    ck_assert_int_eq(
        bw_unseal(&key, "webhook_endpoints/t1/e1", sealed, len - 1, out, sizeof(out), &n),
        BW_EINVAL);
    ck_assert_int_eq(bw_unseal(&key, "webhook_endpoints/t1/e1", sealed, 10, out, sizeof(out), &n),
                     BW_EINVAL);
    ck_assert_int_eq(bw_unseal(&key, "webhook_endpoints/t1/e1", sealed, len, out, 31, &n),
                     BW_ETOOBIG);
    /* Still intact after all that. */
    ck_assert_int_eq(bw_unseal(&key, "webhook_endpoints/t1/e1", sealed, len, out, sizeof(out), &n),
                     0);
    ck_assert_mem_eq(out, secret, sizeof(secret));
    /* Too long a plaintext is refused before anything is written. */
    uint8_t *big = calloc(1, BW_SEAL_MAX_PLAINTEXT + 1 + BW_SEAL_OVERHEAD);
    ck_assert_int_eq(bw_seal(&key, "x", big, BW_SEAL_MAX_PLAINTEXT + 1, big, &len), BW_EINVAL);
    free(big);
}
END_TEST

START_TEST(a_ring_opens_with_the_key_that_sealed)
{
    bw_seal_keyring_t ring = {0}, alone = {0};
    bw_seal_key_t other;
    ck_assert_int_eq(bw_seal_key_parse(HEX_KEY, &ring.previous), 0);
    ck_assert_int_eq(
        bw_seal_key_parse("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                          &ring.current),
        0);
    ck_assert_int_eq(
        bw_seal_key_parse("ee0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                          &other),
        0);
    ring.has_previous = 1;
    alone.current = ring.current;
    static const uint8_t secret[] = "api-token-1234";
    uint8_t old[64], fresh[64], stray[64], out[64];
    size_t old_len, fresh_len, stray_len, n = 0;
    ck_assert_int_eq(bw_seal(&ring.previous, "c/t1/x", secret, sizeof(secret), old, &old_len), 0);
    ck_assert_int_eq(bw_seal(&ring.current, "c/t1/x", secret, sizeof(secret), fresh, &fresh_len),
                     0);
    ck_assert_int_eq(bw_seal(&other, "c/t1/x", secret, sizeof(secret), stray, &stray_len), 0);
    /* Each key's values open, with their own key. */
    ck_assert_int_eq(bw_unseal_ring(&ring, "c/t1/x", old, old_len, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, sizeof(secret));
    ck_assert_mem_eq(out, secret, sizeof(secret));
    memset(out, 0, sizeof(out));
    ck_assert_int_eq(bw_unseal_ring(&ring, "c/t1/x", fresh, fresh_len, out, sizeof(out), &n), 0);
    ck_assert_mem_eq(out, secret, sizeof(secret));
    /* A third key's do not, and say so; nor does another row's context. */
    ck_assert_int_eq(bw_unseal_ring(&ring, "c/t1/x", stray, stray_len, out, sizeof(out), &n),
                     BW_EPERM);
    ck_assert_int_eq(bw_unseal_ring(&ring, "c/t1/y", old, old_len, out, sizeof(out), &n),
                     BW_EINVAL);
    /* An altered value under the previous key is refused like any other. */
    old[old_len - 1] ^= 1;
    ck_assert_int_eq(bw_unseal_ring(&ring, "c/t1/x", old, old_len, out, sizeof(out), &n),
                     BW_EINVAL);
    old[old_len - 1] ^= 1;
    /* Without the previous key (the rotation over), its values no longer open. */
    ck_assert_int_eq(bw_unseal_ring(&alone, "c/t1/x", old, old_len, out, sizeof(out), &n),
                     BW_EPERM);
    ck_assert_int_eq(bw_unseal_ring(&alone, "c/t1/x", fresh, fresh_len, out, sizeof(out), &n), 0);
    /* Too short to carry a key id: malformed, with either ring. */
    ck_assert_int_eq(bw_unseal_ring(&ring, "c/t1/x", old, 3, out, sizeof(out), &n), BW_EINVAL);
}
END_TEST

static Suite *suite_seal(void)
{
    Suite *s = suite_create("seal");
    TCase *tc = tcase_create("seal");
    tcase_add_test(tc, key_formats);
    tcase_add_test(tc, round_trip_and_fresh_nonces);
    tcase_add_test(tc, only_the_right_key_and_context_open_it);
    tcase_add_test(tc, a_ring_opens_with_the_key_that_sealed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite_seal());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
