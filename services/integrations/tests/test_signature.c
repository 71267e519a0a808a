/*
 * Standard Webhooks signing: the specification's own test vector (from the
 * reference libraries' tests, standard-webhooks/standard-webhooks,
 * libraries/python/tests/test_webhooks.py), the shape of a new secret, and
 * that the signature covers the id, the timestamp and every byte of the
 * body. The body a delivery carries, built from what the outbox stored.
 */
#include "signature.h"
#include "tests.h"

#include <openssl/evp.h>
#include <string.h>

START_TEST(specification_test_vector)
{
    /* whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw: the key is the base64 after
     * the prefix (24 bytes here). */
    uint8_t key[32];
    int n = EVP_DecodeBlock(key, (const unsigned char *)"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32);
    ck_assert_int_eq(n, 24);
    char sig[BW_WEBHOOK_SIGNATURE_LEN];
    const char *body = "{\"test\": 2432232314}";
    bw_webhook_sign(key, 24, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), sig);
    ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}
END_TEST

START_TEST(signature_covers_everything)
{
    uint8_t key[BW_WEBHOOK_KEY_LEN];
    char text[BW_WEBHOOK_SECRET_TEXT], base[BW_WEBHOOK_SIGNATURE_LEN],
        other[BW_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(bw_webhook_secret_new(key, text), 0);
    const char *id = "0193a2b4-0000-7000-8000-000000000001";
    char body[] = "{\"type\":\"incident.created\",\"timestamp\":\"2025-06-10T07:15:00.000000Z\","
                  "\"data\":{\"id\":\"x\"}}";
    size_t len = strlen(body);
    bw_webhook_sign(key, sizeof(key), id, 1749539700, body, len, base);
    ck_assert_uint_eq(strlen(base), 47);
    bw_webhook_sign(key, sizeof(key), id, 1749539700, body, len, other);
    ck_assert_str_eq(base, other);
    bw_webhook_sign(key, sizeof(key), "0193a2b4-0000-7000-8000-000000000002", 1749539700, body, len,
                    other);
    ck_assert_str_ne(base, other);
    bw_webhook_sign(key, sizeof(key), id, 1749539701, body, len, other);
    ck_assert_str_ne(base, other);
    for (size_t i = 0; i < len; i++) {
        body[i] ^= 0x20;
        bw_webhook_sign(key, sizeof(key), id, 1749539700, body, len, other);
        ck_assert_msg(strcmp(base, other) != 0, "byte %zu of the body is not signed", i);
        body[i] ^= 0x20;
    }
    key[0] ^= 1;
    bw_webhook_sign(key, sizeof(key), id, 1749539700, body, len, other);
    ck_assert_str_ne(base, other);
}
END_TEST

START_TEST(new_secrets)
{
    uint8_t a[BW_WEBHOOK_KEY_LEN], b[BW_WEBHOOK_KEY_LEN], back[48];
    char ta[BW_WEBHOOK_SECRET_TEXT], tb[BW_WEBHOOK_SECRET_TEXT];
    ck_assert_int_eq(bw_webhook_secret_new(a, ta), 0);
    ck_assert_int_eq(bw_webhook_secret_new(b, tb), 0);
    /* whsec_ and the base64 of 32 bytes: 44 characters with one '='. */
    ck_assert_uint_eq(strlen(ta), 50);
    ck_assert_int_eq(strncmp(ta, "whsec_", 6), 0);
    ck_assert_int_eq(ta[49], '=');
    ck_assert_str_ne(ta, tb);
    ck_assert_int_eq(EVP_DecodeBlock(back, (const unsigned char *)ta + 6, 44), 33);
    ck_assert_mem_eq(back, a, sizeof(a));
}
END_TEST

START_TEST(delivery_body)
{
    bw_arena_t *arena = bw_arena_create(0);
    ck_assert_str_eq(bw_webhook_body(arena, "incident.created", "2025-06-10T07:15:00.123456Z",
                                     "{\"id\":\"1\",\"title\":\"A \\\"quoted\\\" one\"}"),
                     "{\"type\":\"incident.created\",\"timestamp\":\"2025-06-10T07:15:00.123456Z\","
                     "\"data\":{\"id\":\"1\",\"title\":\"A \\\"quoted\\\" one\"}}");
    /* Never a type that would need escaping: the outbox cannot hold one. */
    ck_assert_ptr_null(bw_webhook_body(arena, "a\"b", "t", "{}"));
    ck_assert_ptr_null(bw_webhook_body(arena, "a", "t\n", "{}"));
    bw_arena_destroy(arena);
}
END_TEST

Suite *suite_signature(void)
{
    Suite *s = suite_create("signature");
    TCase *tc = tcase_create("signature");
    tcase_add_test(tc, specification_test_vector);
    tcase_add_test(tc, signature_covers_everything);
    tcase_add_test(tc, new_secrets);
    tcase_add_test(tc, delivery_body);
    suite_add_tcase(s, tc);
    return s;
}
