/*
 * PostgreSQL array literals (pgarray.c), as the relay's fan-out carries an
 * event's data in them: every element quoted, quotes and backslashes
 * escaped, runs between them kept whole, an empty element and an empty
 * array written as PostgreSQL reads them, the buffer grown across many.
 */
#include "pgarray.h"
#include "tests.h"

#include <stdio.h>
#include <string.h>

START_TEST(elements_are_quoted_and_escaped)
{
    bw_pgarray_t a = {0};
    ck_assert_str_eq(bw_pgarray_close(&a), "{}");
    bw_pgarray_reset(&a);
    ck_assert_int_eq(bw_pgarray_add(&a, "plain"), 0);
    ck_assert_int_eq(bw_pgarray_add(&a, ""), 0);
    ck_assert_int_eq(bw_pgarray_add(&a, "{\"title\":\"a \\\"b\\\" c\"}"), 0);
    ck_assert_int_eq(bw_pgarray_add(&a, "\\"), 0);
    ck_assert_int_eq(bw_pgarray_add(&a, "a,b}"), 0);
    ck_assert_str_eq(bw_pgarray_close(&a),
                     "{\"plain\",\"\",\"{\\\"title\\\":\\\"a \\\\\\\"b\\\\\\\" "
                     "c\\\"}\",\"\\\\\",\"a,b}\"}");
    bw_pgarray_free(&a);
}
END_TEST

START_TEST(many_elements_grow_the_buffer)
{
    enum { N = 3000 };
    bw_pgarray_t a = {0};
    char value[32];
    for (int i = 0; i < N; i++) {
        snprintf(value, sizeof(value), "\"%d\"", i);
        ck_assert_int_eq(bw_pgarray_add(&a, value), 0);
    }
    const char *text = bw_pgarray_close(&a);
    ck_assert_int_eq(a.n, N);
    static const char head[] = "{\"\\\"0\\\"\",\"\\\"1\\\"\",";
    ck_assert(strncmp(text, head, strlen(head)) == 0);
    ck_assert_str_eq(text + strlen(text) - 11, "\"\\\"2999\\\"\"}");
    /* Reset keeps the memory and starts again. */
    bw_pgarray_reset(&a);
    ck_assert_int_eq(bw_pgarray_add(&a, "x"), 0);
    ck_assert_str_eq(bw_pgarray_close(&a), "{\"x\"}");
    bw_pgarray_free(&a);
}
END_TEST

Suite *suite_pgarray(void)
{
    Suite *s = suite_create("pgarray");
    TCase *tc = tcase_create("pgarray");
    tcase_add_test(tc, elements_are_quoted_and_escaped);
    tcase_add_test(tc, many_elements_grow_the_buffer);
    suite_add_tcase(s, tc);
    return s;
}
