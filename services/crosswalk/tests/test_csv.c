/*
 * The CSV parser behind the SoA import and the writer behind the export:
 * quoting, line ends, line numbers, the errors a user sees for a broken
 * file, and cells a spreadsheet would run as formulas.
 */
#include <check.h>
#include <string.h>

#include "csv.h"
#include "status.h"
#include "suites.h"

static bw_arena_t *arena;

static void setup(void)
{
    arena = bw_arena_create(4096);
}

static void teardown(void)
{
    bw_arena_destroy(arena);
}

static bw_cw_csv_record_t *parse_ok(const char *text, size_t *n)
{
    bw_cw_csv_record_t *recs = NULL;
    bw_cw_csv_error_t err;
    int rc = bw_cw_csv_parse(arena, text, strlen(text), &recs, n, &err);
    ck_assert_msg(rc == 0, "parse failed at line %ld: %s", err.line, err.message);
    return recs;
}

static void parse_fails(const char *text, long line, const char *words)
{
    bw_cw_csv_record_t *recs;
    size_t n;
    bw_cw_csv_error_t err;
    ck_assert_int_eq(bw_cw_csv_parse(arena, text, strlen(text), &recs, &n, &err), BW_EINVAL);
    ck_assert_int_eq(err.line, line);
    ck_assert_msg(strstr(err.message, words) != NULL, "message \"%s\" lacks \"%s\"", err.message,
                  words);
}

START_TEST(plain_records_with_either_line_end)
{
    size_t n;
    bw_cw_csv_record_t *r = parse_ok("ref,applicable\nA.5.1,true\r\nA.5.2,false", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(r[0].n_fields, 2);
    ck_assert_str_eq(r[0].fields[0], "ref");
    ck_assert_str_eq(r[1].fields[0], "A.5.1");
    ck_assert_str_eq(r[1].fields[1], "true");
    ck_assert_str_eq(r[2].fields[1], "false");
    ck_assert_int_eq(r[2].line, 3);
}
END_TEST

START_TEST(quoted_fields_hold_commas_quotes_and_line_breaks)
{
    size_t n;
    bw_cw_csv_record_t *r = parse_ok("a,b,c\r\n"
                                     "\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n"
                                     "\"\",plain,\"\"\"\"\n"
                                     "last,row,here\n",
                                     &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(r[1].fields[0], "x, y");
    ck_assert_str_eq(r[1].fields[1], "say \"hi\"");
    ck_assert_str_eq(r[1].fields[2], "two\r\nlines");
    ck_assert_int_eq(r[1].line, 2);
    ck_assert_str_eq(r[2].fields[0], "");
    ck_assert_str_eq(r[2].fields[2], "\"");
    /* The quoted line break moved the next records one line down. */
    ck_assert_int_eq(r[2].line, 4);
    ck_assert_int_eq(r[3].line, 5);
}
END_TEST

START_TEST(empty_lines_and_bom_are_skipped)
{
    size_t n;
    bw_cw_csv_record_t *r = parse_ok("\xEF\xBB\xBF"
                                     "ref,status\n\nA.5.1,PLANNED\r\n\r\n\nA.5.2,\n",
                                     &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(r[0].fields[0], "ref");
    ck_assert_int_eq(r[1].line, 3);
    ck_assert_int_eq(r[2].line, 6);
    ck_assert_uint_eq(r[2].n_fields, 2);
    ck_assert_str_eq(r[2].fields[1], "");
    r = parse_ok("", &n);
    ck_assert_uint_eq(n, 0);
    /* A lone CR ends a line too. */
    r = parse_ok("a\rb\r", &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(r[1].line, 2);
}
END_TEST

START_TEST(broken_files_name_the_line)
{
    parse_fails("ref,status\nA.5.1,PLAN\"NED\n", 2, "quote inside an unquoted field");
    parse_fails("ref,status\r\nA.5.1,\"PLANNED\"x\r\n", 2, "after the closing quote");
    parse_fails("ref,status\nA.5.1,ok\nA.5.2,\"never\nclosed\n", 3, "not closed");
    char nul[] = "a,b\nc,d";
    bw_cw_csv_record_t *recs;
    size_t n;
    bw_cw_csv_error_t err;
    nul[5] = '\0';
    ck_assert_int_eq(bw_cw_csv_parse(arena, nul, sizeof(nul) - 1, &recs, &n, &err), BW_EINVAL);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
}
END_TEST

START_TEST(too_many_fields_or_records)
{
    char line[4 * BW_CW_CSV_MAX_FIELDS + 8];
    size_t used = 0;
    for (int i = 0; i <= BW_CW_CSV_MAX_FIELDS; i++, used += 2)
        memcpy(line + used, "x,", 2);
    line[used] = '\0';
    parse_fails(line, 1, "fields");
    size_t len = 2 * (BW_CW_CSV_MAX_RECORDS + 1);
    char *many = bw_arena_alloc(arena, len + 1);
    for (size_t i = 0; i < len; i += 2)
        memcpy(many + i, "x\n", 2);
    many[len] = '\0';
    parse_fails(many, BW_CW_CSV_MAX_RECORDS + 1, "records");
}
END_TEST

START_TEST(writer_quotes_what_needs_it_and_round_trips)
{
    const char *values[] = {"A.5.1", "has, comma", "has \"quote\"", "two\nlines", " padded", ""};
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    for (size_t i = 0; i < 6; i++) {
        if (i > 0)
            bw_buf_adds(&buf, ",");
        bw_cw_csv_field(&buf, values[i]);
    }
    bw_buf_adds(&buf, "\r\n");
    ck_assert_int_eq(buf.error, 0);
    ck_assert_str_eq(buf.data,
                     "A.5.1,\"has, comma\",\"has \"\"quote\"\"\",\"two\nlines\",\" padded\",\r\n");
    size_t n;
    bw_cw_csv_record_t *r = parse_ok(buf.data, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(r[0].n_fields, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(r[0].fields[i], values[i]);
    bw_buf_free(&buf);
}
END_TEST

/* Found by fuzz/fuzz_csv: a first field that itself starts with a byte
 * order mark lost it on the way back. */
START_TEST(field_starting_with_a_bom_round_trips)
{
    const char *value = "\xEF\xBB\xBFpase";
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    bw_cw_csv_field(&buf, value);
    bw_buf_adds(&buf, "\r\n");
    size_t n;
    bw_cw_csv_record_t *r = parse_ok(buf.data, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(r[0].fields[0], value);
    bw_buf_free(&buf);
}
END_TEST

/* OWASP's CSV injection: no exported cell starts with what a spreadsheet
 * runs as a formula, and every value, quotes included, comes back as it
 * was. */
START_TEST(cells_are_neutralised_and_come_back_unchanged)
{
    const char *values[] = {"=HYPERLINK(\"http://x\",\"y\")",
                            "+1",
                            "-2+3",
                            "@SUM(A1)",
                            "\tindented",
                            "\rcr",
                            "'=already quoted",
                            "''",
                            "'plain quote",
                            "it's fine",
                            "'",
                            "A.5.1",
                            "",
                            "=",
                            "-"};
    size_t n_values = sizeof(values) / sizeof(values[0]);
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    for (size_t i = 0; i < n_values; i++) {
        if (i > 0)
            bw_buf_adds(&buf, ",");
        bw_cw_csv_cell(&buf, values[i]);
    }
    bw_buf_adds(&buf, "\r\n");
    ck_assert_int_eq(buf.error, 0);
    size_t n;
    bw_cw_csv_record_t *r = parse_ok(buf.data, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(r[0].n_fields, n_values);
    for (size_t i = 0; i < n_values; i++) {
        const char *cell = r[0].fields[i];
        ck_assert_msg(cell[0] == '\0' || strchr("=+-@\t\r", cell[0]) == NULL,
                      "cell %zu starts with a formula character: %s", i, cell);
        ck_assert_str_eq(bw_cw_csv_cell_value(cell), values[i]);
    }
    /* What the file holds, for a person reading it. */
    ck_assert_str_eq(r[0].fields[0], "'=HYPERLINK(\"http://x\",\"y\")");
    ck_assert_str_eq(r[0].fields[6], "''=already quoted");
    ck_assert_str_eq(r[0].fields[8], "'plain quote");
    ck_assert_str_eq(r[0].fields[11], "A.5.1");
    /* A hand-made file's leading quote before ordinary text stays. */
    ck_assert_str_eq(bw_cw_csv_cell_value("'abc"), "'abc");
    ck_assert_str_eq(bw_cw_csv_cell_value("'-1"), "-1");
    bw_buf_free(&buf);
}
END_TEST

START_TEST(buffer_grows)
{
    bw_buf_t buf;
    bw_buf_init(&buf, 0);
    for (int i = 0; i < 1000; i++)
        bw_buf_adds(&buf, "0123456789");
    ck_assert_uint_eq(buf.len, 10000);
    ck_assert_uint_eq(strlen(buf.data), 10000);
    bw_buf_free(&buf);
}
END_TEST

Suite *suite_csv(void)
{
    Suite *s = suite_create("crosswalk csv");
    TCase *tc = tcase_create("csv");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_records_with_either_line_end);
    tcase_add_test(tc, quoted_fields_hold_commas_quotes_and_line_breaks);
    tcase_add_test(tc, empty_lines_and_bom_are_skipped);
    tcase_add_test(tc, broken_files_name_the_line);
    tcase_add_test(tc, too_many_fields_or_records);
    tcase_add_test(tc, writer_quotes_what_needs_it_and_round_trips);
    tcase_add_test(tc, field_starting_with_a_bom_round_trips);
    tcase_add_test(tc, cells_are_neutralised_and_come_back_unchanged);
    tcase_add_test(tc, buffer_grows);
    suite_add_tcase(s, tc);
    return s;
}
