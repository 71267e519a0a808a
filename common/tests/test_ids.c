/*
 * Ids (and the random bytes they are made of), secrets, constant-time
 * comparison and page tokens.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "hex.h"
#include "ids.h"
#include "random.h"
#include "status.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

START_TEST(uuid_v7_is_valid_and_ordered)
{
    char a[37], b[37];
    ck_assert_int_eq(bw_uuid_v7(a), 0);
    ck_assert(bw_uuid_valid(a));
    ck_assert_int_eq(a[14], '7');
    ck_assert(strchr("89ab", a[19]) != NULL);
    for (int i = 0; i < 50; i++) {
        struct timespec ts = {0, 1100000};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(bw_uuid_v7(b), 0);
        ck_assert_msg(strcmp(a, b) < 0, "%s not before %s", a, b);
        memcpy(a, b, sizeof(a));
    }
}
END_TEST

START_TEST(uuid_v7_increases_within_a_millisecond)
{
    char prev[37], next[37];
    ck_assert_int_eq(bw_uuid_v7(prev), 0);
    for (int i = 0; i < 10000; i++) {
        ck_assert_int_eq(bw_uuid_v7(next), 0);
        ck_assert(bw_uuid_valid(next));
        ck_assert_int_eq(next[14], '7');
        ck_assert_msg(strcmp(prev, next) < 0, "%s not before %s", prev, next);
        memcpy(prev, next, sizeof(prev));
    }
}
END_TEST

/* The first draw of the calling thread. */
static void *first_draw(void *out)
{
    *(uint64_t *)out = bw_random_u64();
    return NULL;
}

START_TEST(random_u64_varies_per_draw_and_per_thread)
{
    /* 256 draws: all different, every bit seen both set and clear. */
    enum { DRAWS = 256 };
    uint64_t v[DRAWS], set = 0, clear = 0;
    for (int i = 0; i < DRAWS; i++) {
        v[i] = bw_random_u64();
        set |= v[i];
        clear |= ~v[i];
        for (int j = 0; j < i; j++)
            ck_assert_msg(v[i] != v[j], "draws %d and %d are equal", j, i);
    }
    ck_assert_uint_eq(set, UINT64_MAX);
    ck_assert_uint_eq(clear, UINT64_MAX);
    /* Each thread has a buffer of its own: two new threads start apart. */
    uint64_t first[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, first_draw, &first[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_ne(first[0], first[1]);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(pooled_bytes_are_handed_out_once_even_across_a_fork)
{
    /* 2,000 draws of 8 bytes, some sixty fills of the buffer: all
     * different, every bit seen both set and clear. */
    enum { DRAWS = 2000 };
    static uint64_t v[DRAWS];
    uint64_t set = 0, clear = 0;
    for (int i = 0; i < DRAWS; i++) {
        ck_assert_int_eq(bw_random_pooled((uint8_t *)&v[i], sizeof(v[i])), 0);
        set |= v[i];
        clear |= ~v[i];
    }
    qsort(v, DRAWS, sizeof(v[0]), cmp_u64);
    int repeats = 0;
    for (int i = 1; i < DRAWS; i++)
        repeats += v[i] == v[i - 1];
    ck_assert_int_eq(repeats, 0);
    ck_assert_uint_eq(set, UINT64_MAX);
    ck_assert_uint_eq(clear, UINT64_MAX);
    /* More than the buffer holds is refused, not served short. */
    uint8_t big[300];
    ck_assert_int_eq(bw_random_pooled(big, sizeof(big)), BW_EINVAL);
    /* A forked child does not hand out the bytes its parent will: the
     * buffer is half used here, and both draw next. */
    uint64_t mine, childs = 0;
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint64_t x = 0;
        int ok = bw_random_pooled((uint8_t *)&x, sizeof(x)) == 0 &&
                 write(fds[1], &x, sizeof(x)) == (ssize_t)sizeof(x);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(bw_random_pooled((uint8_t *)&mine, sizeof(mine)), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(read(fds[0], &childs, sizeof(childs)), (ssize_t)sizeof(childs));
    close(fds[0]);
    close(fds[1]);
    ck_assert_msg(mine != childs, "the child drew the parent's next bytes");
}
END_TEST

START_TEST(uuid_validation)
{
    ck_assert(bw_uuid_valid("0193A2B4-1111-7222-8333-444455556666"));
    ck_assert(!bw_uuid_valid("0193a2b4-1111-7222-8333-44445555666"));
    ck_assert(!bw_uuid_valid("0193a2b4-1111-7222-8333-4444555566667"));
    ck_assert(!bw_uuid_valid("0193a2b4x1111-7222-8333-444455556666"));
    ck_assert(!bw_uuid_valid("g193a2b4-1111-7222-8333-444455556666"));
    ck_assert(!bw_uuid_valid(""));
}
END_TEST

START_TEST(sha256_and_hex)
{
    uint8_t d[32];
    char hex[65];
    bw_sha256("abc", 3, d);
    bw_hex(d, 32, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

static int std_digit(unsigned char c)
{
    return bw_base64_digit(c, '+', '/');
}

START_TEST(base64_decoding_reports_its_spare_bits)
{
    uint8_t out[8];
    size_t n = 0;
    unsigned spare = 9;
    /* "Zm9v" is "foo"; "Zm8" is "fo" with two spare bits, zero. */
    ck_assert_int_eq(bw_base64_decode("Zm9v", 4, std_digit, out, sizeof(out), &n, &spare), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(memcmp(out, "foo", 3), 0);
    ck_assert_int_eq(spare, 0);
    ck_assert_int_eq(bw_base64_decode("Zm8", 3, std_digit, out, sizeof(out), &n, &spare), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(spare, 0);
    /* "Zm9" leaves non-zero bits over: a reader that wants one spelling
     * refuses it (bw_base64url_decode does). */
    ck_assert_int_eq(bw_base64_decode("Zm9", 3, std_digit, out, sizeof(out), &n, &spare), 0);
    ck_assert_uint_ne(spare, 0);
    ck_assert_int_eq(bw_base64url_decode("Zm9", 3, out, sizeof(out), &n), BW_EINVAL);
    /* Not a digit of this alphabet; more bytes than room. */
    ck_assert_int_eq(bw_base64_decode("Zm-v", 4, std_digit, out, sizeof(out), &n, &spare),
                     BW_EINVAL);
    ck_assert_int_eq(bw_base64_decode("Zm9v", 4, std_digit, out, 2, &n, &spare), BW_EINVAL);
}
END_TEST

START_TEST(hex_digits_either_case)
{
    const char *digits = "0123456789abcdef", *upper = "ABCDEF";
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(bw_hex_digit(digits[i]), i);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(bw_hex_digit(upper[i]), 10 + i);
    ck_assert_int_eq(bw_hex_digit('g'), -1);
    ck_assert_int_eq(bw_hex_digit('/'), -1);
    ck_assert_int_eq(bw_hex_digit(':'), -1);
    ck_assert_int_eq(bw_hex_digit(0xc3), -1);
    ck_assert_int_eq(bw_hex_digit(-61), -1);
}
END_TEST

/* Decimals as printf writes them, at the edges: 0, a carry, the widest
 * magnitude with a sign, ending where asked and nothing after. */
START_TEST(decimals_end_where_asked)
{
    static const struct {
        bool neg;
        uint64_t mag;
        const char *want;
    } cases[] = {{false, 0, "0"},
                 {false, 9, "9"},
                 {false, 10, "10"},
                 {true, 404, "-404"},
                 {false, UINT64_MAX, "18446744073709551615"},
                 {true, UINT64_MAX, "-18446744073709551615"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[BW_DECIMAL_MAX + 2];
        memset(buf, 'x', sizeof(buf));
        char *end = buf + sizeof(buf) - 1;
        const char *p = bw_decimal(end, cases[i].neg, cases[i].mag);
        ck_assert(p >= buf);
        ck_assert_int_eq(*end, 'x');
        ck_assert_int_eq(end - p, (long)strlen(cases[i].want));
        ck_assert(memcmp(p, cases[i].want, strlen(cases[i].want)) == 0);
    }
    /* A signed value's magnitude, the most negative one included. */
    ck_assert_uint_eq(bw_int64_magnitude(-404), 404);
    ck_assert_uint_eq(bw_int64_magnitude(INT64_MAX), (uint64_t)INT64_MAX);
    ck_assert_uint_eq(bw_int64_magnitude(INT64_MIN), (uint64_t)INT64_MAX + 1);
}
END_TEST

START_TEST(constant_time_compare)
{
    ck_assert(bw_ct_streq("secret-token", "secret-token"));
    ck_assert(!bw_ct_streq("secret-token", "secret-tokex"));
    ck_assert(!bw_ct_streq("secret-token", "secret-toke"));
    ck_assert(!bw_ct_streq("", "x"));
    ck_assert(bw_ct_equal("ab", "ab", 2));
}
END_TEST

START_TEST(random_tokens_differ)
{
    char a[64], b[64];
    ck_assert_int_eq(bw_random_token(a, sizeof(a), 32), 0);
    ck_assert_int_eq(bw_random_token(b, sizeof(b), 32), 0);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(bw_random_token(a, 10, 32), BW_EINVAL);
}
END_TEST

START_TEST(page_tokens_round_trip_and_resist_forgery)
{
    char token[BW_PAGE_TOKEN_MAX], key[160];
    bw_page_token_set_secret("0123456789abcdef0123456789abcdef");
    ck_assert_int_eq(bw_page_token_encode("entities", "0193a2b4-1111-7222-8333-444455556666", token,
                                          sizeof(token)),
                     0);
    ck_assert_int_eq(bw_page_token_decode("entities", token, key, sizeof(key)), 0);
    ck_assert_str_eq(key, "0193a2b4-1111-7222-8333-444455556666");
    /* Another list, a changed character, a truncation, another secret: refused. */
    ck_assert_int_eq(bw_page_token_decode("api-keys", token, key, sizeof(key)), BW_EINVAL);
    char forged[BW_PAGE_TOKEN_MAX];
    memcpy(forged, token, sizeof(forged));
    size_t n = strlen(forged);
    forged[n - 3] = forged[n - 3] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(bw_page_token_decode("entities", forged, key, sizeof(key)), BW_EINVAL);
    forged[0] = '\0';
    ck_assert_int_eq(bw_page_token_decode("entities", forged, key, sizeof(key)), BW_EINVAL);
    ck_assert_int_eq(bw_page_token_decode("entities", "!!!", key, sizeof(key)), BW_EINVAL);
    ck_assert_int_eq(bw_page_token_decode("entities", "abc", key, sizeof(key)), BW_EINVAL);
    bw_page_token_set_secret("another-secret-another-secret-xx");
    ck_assert_int_eq(bw_page_token_decode("entities", token, key, sizeof(key)), BW_EINVAL);
}
END_TEST

/* RFC 4231, test case 2, in parts; and a page token's MAC is the one it
 * always was (tokens handed out before a restart stay valid): the first 16
 * bytes of HMAC-SHA256(secret, scope NUL key), computed here by OpenSSL's
 * one-shot HMAC. */
START_TEST(hmac_sha256_in_parts)
{
    const bw_mac_part_t parts[] = {{"what do ya", 10}, {"", 0}, {" want for nothing?", 18}};
    uint8_t mac[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    ck_assert_int_eq(bw_hmac_sha256("Jefe", 4, parts, 3, mac), 0);
    bw_hex(mac, sizeof(mac), hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    static const char secret[] = "0123456789abcdef0123456789abcdef", key[] = "k-42";
    bw_page_token_set_secret(secret);
    char token[BW_PAGE_TOKEN_MAX];
    ck_assert_int_eq(bw_page_token_encode("entities", key, token, sizeof(token)), 0);
    uint8_t raw[64], want[EVP_MAX_MD_SIZE];
    size_t n = 0;
    ck_assert_int_eq(bw_base64url_decode(token, strlen(token), raw, sizeof(raw), &n), 0);
    ck_assert_uint_eq(n, 16 + strlen(key));
    unsigned int want_len = 0;
    static const char msg[] = "entities\0k-42";
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)msg, sizeof(msg) - 1, want,
         &want_len);
    ck_assert_mem_eq(raw, want, 16);
    ck_assert_mem_eq(raw + 16, key, strlen(key));
}
END_TEST

START_TEST(etags_change_with_revision)
{
    char a[17], b[17], c[17];
    bw_etag("id-1", 1, a);
    bw_etag("id-1", 2, b);
    bw_etag("id-2", 1, c);
    ck_assert_uint_eq(strlen(a), 16);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, c);
    bw_etag("id-1", 1, b);
    ck_assert_str_eq(a, b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("ids");
    tcase_add_test(tc, uuid_v7_is_valid_and_ordered);
    tcase_add_test(tc, decimals_end_where_asked);
    tcase_add_test(tc, uuid_v7_increases_within_a_millisecond);
    tcase_add_test(tc, random_u64_varies_per_draw_and_per_thread);
    tcase_add_test(tc, pooled_bytes_are_handed_out_once_even_across_a_fork);
    tcase_add_test(tc, uuid_validation);
    tcase_add_test(tc, sha256_and_hex);
    tcase_add_test(tc, base64_decoding_reports_its_spare_bits);
    tcase_add_test(tc, hex_digits_either_case);
    tcase_add_test(tc, constant_time_compare);
    tcase_add_test(tc, random_tokens_differ);
    tcase_add_test(tc, page_tokens_round_trip_and_resist_forgery);
    tcase_add_test(tc, hmac_sha256_in_parts);
    tcase_add_test(tc, etags_change_with_revision);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
