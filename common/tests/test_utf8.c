/*
 * common/utf8: which bytes are valid UTF-8 (RFC 3629), where text is cut
 * for quoting, how many characters it has.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core_tests.h"
#include "utf8.h"

static bool valid(const char *s)
{
    return bw_utf8_valid(s, strlen(s));
}

START_TEST(valid_text_passes)
{
    ck_assert(valid(""));
    ck_assert(valid("plain ASCII"));
    ck_assert(valid("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80"));
    ck_assert(valid("\xc2\x80"));         /* U+0080, the first two-byte character */
    ck_assert(valid("\xdf\xbf"));         /* U+07FF */
    ck_assert(valid("\xe0\xa0\x80"));     /* U+0800 */
    ck_assert(valid("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
    ck_assert(valid("\xee\x80\x80"));     /* U+E000, just above them */
    ck_assert(valid("\xef\xbf\xbf"));     /* U+FFFF */
    ck_assert(valid("\xf0\x90\x80\x80")); /* U+10000 */
    ck_assert(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last */
    ck_assert(bw_utf8_valid("a\0b", 3));  /* NUL is a character */
}
END_TEST

START_TEST(invalid_text_fails)
{
    ck_assert(!valid("\xc3"));             /* truncated */
    ck_assert(!valid("\xe2\x82"));         /* truncated */
    ck_assert(!valid("\xf0\x9f\x98"));     /* truncated */
    ck_assert(!valid("\xc0\xaf"));         /* overlong */
    ck_assert(!valid("\xc1\xbf"));         /* overlong */
    ck_assert(!valid("\xe0\x80\xaf"));     /* overlong */
    ck_assert(!valid("\xe0\x9f\xbf"));     /* overlong */
    ck_assert(!valid("\xf0\x80\x80\xaf")); /* overlong */
    ck_assert(!valid("\xf0\x8f\xbf\xbf")); /* overlong */
    ck_assert(!valid("\xed\xa0\x80"));     /* surrogate U+D800 */
    ck_assert(!valid("\xed\xbf\xbf"));     /* surrogate U+DFFF */
    ck_assert(!valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
    ck_assert(!valid("\xf5\x80\x80\x80"));
    ck_assert(!valid("\xff"));
    ck_assert(!valid("\xfe"));
    ck_assert(!valid("a\x80"));               /* a lone continuation byte */
    ck_assert(!valid("\xc3\x28"));            /* a lead byte without its continuation */
    ck_assert(!bw_utf8_valid("\xc3\xab", 1)); /* cut by the length given */
}
END_TEST

START_TEST(valid_prefix_stops_at_the_first_bad_byte)
{
    ck_assert_uint_eq(bw_utf8_valid_prefix("Zo\xc3\xab\xff tail", 9), 4);
    ck_assert_uint_eq(bw_utf8_valid_prefix("\xe2\x82\xac\xe2\x82", 5), 3);
    ck_assert_uint_eq(bw_utf8_valid_prefix("\x80", 1), 0);
    ck_assert_uint_eq(bw_utf8_char_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
    ck_assert_uint_eq(bw_utf8_char_len((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
}
END_TEST

START_TEST(cut_never_splits_a_character)
{
    const char *s = "ab\xe2\x82\xac"
                    "cd"; /* "ab€cd", 7 bytes */
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 10), 7);
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 7), 7);
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 6), 6);
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 5), 5);
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 4), 2); /* inside the euro sign */
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 3), 2);
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 2), 2);
    ck_assert_uint_eq(bw_utf8_cut(s, 7, 0), 0);
}
END_TEST

START_TEST(scrub_marks_each_stray_byte)
{
    char cut[] = "ab\xe2\x82"; /* a euro sign cut after two of its bytes */
    bw_utf8_scrub(cut);
    ck_assert_str_eq(cut, "ab??");
    char latin1[] = "Caf\xe9 \xe2\x82\xac ok"; /* ISO 8859-1's e-acute, then a euro sign */
    bw_utf8_scrub(latin1);
    ck_assert_str_eq(latin1, "Caf? \xe2\x82\xac ok");
    char bad[] = "\xc0\xaf\xed\xa0\x80\xf0\x9f\x98\x80"; /* overlong, surrogate, emoji */
    bw_utf8_scrub(bad);
    ck_assert_str_eq(bad, "?????\xf0\x9f\x98\x80");
    char fine[] = "Zo\xc3\xab";
    bw_utf8_scrub(fine);
    ck_assert_str_eq(fine, "Zo\xc3\xab");
}
END_TEST

START_TEST(count_counts_characters_not_bytes)
{
    ck_assert_uint_eq(bw_utf8_count(""), 0);
    ck_assert_uint_eq(bw_utf8_count("abc"), 3);
    ck_assert_uint_eq(bw_utf8_count("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80"), 7);
}
END_TEST

/* The utf8 cases, run by test_core's suite. */
TCase *tcase_utf8(void)
{
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, valid_text_passes);
    tcase_add_test(tc, invalid_text_fails);
    tcase_add_test(tc, valid_prefix_stops_at_the_first_bad_byte);
    tcase_add_test(tc, cut_never_splits_a_character);
    tcase_add_test(tc, scrub_marks_each_stray_byte);
    tcase_add_test(tc, count_counts_characters_not_bytes);
    return tc;
}
