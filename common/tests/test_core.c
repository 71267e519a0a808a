/*
 * Unit tests of the small shared modules: arena, status tables, config.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "core_tests.h"
#include "log.h"
#include "status.h"
#include "utf8.h"

static int cleanups;
static void count_cleanup(void *p)
{
    (void)p;
    cleanups++;
}

START_TEST(arena_allocates_aligned_and_grows)
{
    bw_arena_t *a = bw_arena_create(256);
    ck_assert_ptr_nonnull(a);
    for (int i = 0; i < 1000; i++) {
        void *p = bw_arena_alloc(a, (size_t)(i % 37) + 1);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    void *big = bw_arena_alloc(a, 1 << 20);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 1 << 20);
    char *s = bw_arena_printf(a, "%s-%d", "x", 42);
    ck_assert_str_eq(s, "x-42");
    ck_assert_str_eq(bw_arena_strndup(a, "abcdef", 3), "abc");
    int *z = bw_arena_calloc(a, 10, sizeof(int));
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(z[i], 0);
    ck_assert_ptr_null(bw_arena_calloc(a, SIZE_MAX / 2, 4));
    bw_arena_destroy(a);
    bw_arena_destroy(NULL);
}
END_TEST

/* A formatted text is whole wherever it falls: in the room the newest chunk
 * has left, exactly filling it, or past it (a new chunk), and nothing
 * allocated before or after it overlaps it. An odd first chunk size leaves
 * room that is not a multiple of the alignment. */
START_TEST(arena_printf_is_whole_at_every_edge_of_a_chunk)
{
    for (size_t first = 256; first < 256 + 48; first += 7) {
        bw_arena_t *a = bw_arena_create(first);
        ck_assert_ptr_nonnull(a);
        char want[700];
        for (size_t len = 0; len < sizeof(want) - 1; len += 13) {
            memset(want, 'a' + (int)(len % 26), len);
            want[len] = '\0';
            char *s = bw_arena_printf(a, "%s", want);
            ck_assert_ptr_nonnull(s);
            ck_assert_uint_eq((uintptr_t)s % 16, 0);
            ck_assert(bw_arena_owns(a, s) && bw_arena_owns(a, s + len));
            char *after = bw_arena_alloc(a, 16);
            memset(after, 0xff, 16);
            ck_assert_str_eq(s, want);
        }
        int on_stack = 0;
        ck_assert(!bw_arena_owns(a, &on_stack));
        bw_arena_destroy(a);
    }
}
END_TEST

START_TEST(arena_runs_cleanups_on_reset_and_destroy)
{
    bw_arena_t *a = bw_arena_create(0);
    cleanups = 0;
    bw_arena_on_cleanup(a, count_cleanup, NULL);
    bw_arena_on_cleanup(a, count_cleanup, NULL);
    bw_arena_reset(a);
    ck_assert_int_eq(cleanups, 2);
    bw_arena_on_cleanup(a, free, malloc(10));
    bw_arena_on_cleanup(a, count_cleanup, NULL);
    bw_arena_destroy(a);
    ck_assert_int_eq(cleanups, 3);
}
END_TEST

START_TEST(status_codes_map_once)
{
    ck_assert_str_eq(bw_strerror(BW_EINVAL), "invalid argument");
    ck_assert_str_eq(bw_strerror(12345), "unknown error");
    ck_assert_str_eq(bw_status_default_reason(BW_ENOTFOUND), "NOT_FOUND");
    ck_assert_str_eq(bw_status_grpc_name(BW_GRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
    ck_assert_str_eq(bw_status_grpc_name(-1), "UNKNOWN");
    ck_assert_int_eq(bw_status_http(bw_status_grpc_code(BW_ETOOBIG), "BODY_TOO_LARGE"), 413);
    ck_assert_int_eq(bw_status_http(bw_status_grpc_code(BW_EAUTH), NULL), 401);
}
END_TEST

typedef struct test_cfg {
    const char *addr;
    long n;
    int flag;
    int level;
    const char *s;
} test_cfg_t;

static const bw_config_item_t items[] = {
    {"BWT_ADDR", BW_CFG_ADDR, "127.0.0.1:8080", 0, 0, offsetof(test_cfg_t, addr), 0, "addr"},
    {"BWT_N", BW_CFG_INT, "5", 1, 10, offsetof(test_cfg_t, n), 0, "n"},
    {"BWT_FLAG", BW_CFG_BOOL, "false", 0, 0, offsetof(test_cfg_t, flag), 0, "flag"},
    {"BWT_LEVEL", BW_CFG_LEVEL, "info", 0, 0, offsetof(test_cfg_t, level), 0, "level"},
    {"BWT_S", BW_CFG_STRING, NULL, 0, 0, offsetof(test_cfg_t, s), 1, "required secret"},
};

START_TEST(config_defaults_and_bounds)
{
    test_cfg_t c;
    char err[256];
    unsetenv("BWT_ADDR");
    unsetenv("BWT_N");
    unsetenv("BWT_FLAG");
    unsetenv("BWT_LEVEL");
    unsetenv("BWT_S");
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "BWT_S"));
    setenv("BWT_S", "hunter2", 1);
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.addr, "127.0.0.1:8080");
    ck_assert_int_eq(c.n, 5);
    ck_assert_int_eq(c.flag, 0);
    ck_assert_int_eq(c.level, BW_LOG_INFO);
    setenv("BWT_N", "11", 1);
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "BWT_N"));
    setenv("BWT_N", "7x", 1);
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), BW_EINVAL);
    setenv("BWT_N", "7", 1);
    setenv("BWT_FLAG", "yes", 1);
    setenv("BWT_ADDR", "localhost:99999", 1);
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), BW_EINVAL);
    setenv("BWT_ADDR", "0.0.0.0:9", 1);
    setenv("BWT_LEVEL", "loud", 1);
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), BW_EINVAL);
    setenv("BWT_LEVEL", "debug", 1);
    ck_assert_int_eq(bw_config_load(items, 5, &c, err, sizeof(err)), 0);
    ck_assert_int_eq(c.flag, 1);
    ck_assert_int_eq(c.n, 7);
    ck_assert_int_eq(c.level, BW_LOG_DEBUG);
}
END_TEST

START_TEST(utf8_is_checked_to_the_byte)
{
    size_t at = 99;
    const char ok[] = "ref,Genehmigt \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92";
    ck_assert_int_eq(bw_utf8_check(ok, sizeof(ok) - 1, &at), 0);
    ck_assert_int_eq(bw_utf8_check("", 0, &at), 0);
    static const struct {
        const char *bytes;
        size_t len, at;
    } bad[] = {
        {"ab\xe9"
         "cd",
         5, 2},                     /* Latin-1 e acute */
        {"a\0b", 3, 1},             /* NUL */
        {"\xc0\xaf", 2, 0},         /* overlong slash */
        {"\xe0\x80\xaf", 3, 0},     /* overlong, three bytes */
        {"\xed\xa0\x80", 3, 0},     /* a surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"ok\xe2\x82", 4, 2},       /* cut short at the end */
        {"\xe2(\xa1", 3, 0},        /* a bad continuation byte */
        {"\x80", 1, 0},             /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at = 99;
        ck_assert_int_eq(bw_utf8_check(bad[i].bytes, bad[i].len, &at), BW_EINVAL);
        ck_assert_uint_eq(at, bad[i].at);
    }
}
END_TEST

START_TEST(config_split_addr)
{
    char host[64];
    int port;
    ck_assert_int_eq(bw_config_split_addr("127.0.0.1:8080", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(bw_config_split_addr("[::1]:80", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "[::1]");
    ck_assert_int_ne(bw_config_split_addr(":80", host, sizeof(host), &port), 0);
    ck_assert_int_ne(bw_config_split_addr("host", host, sizeof(host), &port), 0);
    ck_assert_int_ne(bw_config_split_addr("host:0", host, sizeof(host), &port), 0);
    ck_assert_int_ne(bw_config_split_addr("host:", host, sizeof(host), &port), 0);
}
END_TEST

/* A writer appends many pieces and checks once; the text moves to the arena. */
START_TEST(buf_keeps_the_first_failure_and_hands_its_text_to_an_arena)
{
    bw_buf_t b;
    bw_buf_init(&b, 8);
    ck_assert_int_eq(bw_buf_adds(&b, "12345"), 0);
    ck_assert_int_eq(bw_buf_adds(&b, "6789"), BW_ETOOBIG);
    ck_assert_int_eq(bw_buf_addc(&b, '6'), 0);
    ck_assert_str_eq(b.data, "123456");
    ck_assert_int_eq(b.error, BW_ETOOBIG);
    bw_arena_t *arena = bw_arena_create(0);
    char *text = (char *)"unchanged";
    ck_assert_int_eq(bw_buf_to_arena(&b, arena, &text), BW_ETOOBIG);
    ck_assert_ptr_null(text);
    ck_assert_ptr_null(b.data);
    bw_buf_init(&b, 0);
    ck_assert_int_eq(bw_buf_to_arena(&b, arena, &text), 0);
    ck_assert_str_eq(text, "");
    ck_assert_int_eq(bw_buf_printf(&b, "%s-%d", "page", 2), 0);
    ck_assert_int_eq(bw_buf_to_arena(&b, arena, &text), 0);
    ck_assert_str_eq(text, "page-2");
    ck_assert_uint_eq(b.len, 0);
    bw_arena_destroy(arena); /* frees both texts: ASan finds no leak */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, arena_allocates_aligned_and_grows);
    tcase_add_test(tc, arena_printf_is_whole_at_every_edge_of_a_chunk);
    tcase_add_test(tc, arena_runs_cleanups_on_reset_and_destroy);
    tcase_add_test(tc, status_codes_map_once);
    tcase_add_test(tc, config_defaults_and_bounds);
    tcase_add_test(tc, config_split_addr);
    tcase_add_test(tc, buf_keeps_the_first_failure_and_hands_its_text_to_an_arena);
    tcase_add_test(tc, utf8_is_checked_to_the_byte);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tcase_times());
    suite_add_tcase(s, tcase_utf8());
    suite_add_tcase(s, tcase_bucket());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
