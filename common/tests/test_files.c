/*
 * The SVG writer's escaping and the XLSX writer's output: user text stays
 * text in a picture, and a workbook is a zip whose sheet holds the cells
 * written (read back with unzip -p, as a spreadsheet would unpack it).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "status.h"
#include "svg.h"
#include "xlsx.h"

static char *svg_of(bw_arena_t *arena, const char *text, size_t max)
{
    bw_svg_t svg;
    bw_svg_init(&svg);
    bw_svg_markup(&svg, "<text>");
    bw_svg_text(&svg, text, max);
    bw_svg_markup(&svg, "</text>");
    uint8_t *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(bw_svg_finish(&svg, arena, &data, &len), 0);
    return bw_arena_strndup(arena, (const char *)data, len);
}

START_TEST(svg_text_is_escaped_and_cut_at_a_character)
{
    bw_arena_t *arena = bw_arena_create(0);
    ck_assert_str_eq(svg_of(arena, "</text><script>alert('x')</script> & \"q\"", 0),
                     "<text>&lt;/text&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                     "&quot;q&quot;</text>");
    /* Controls XML 1.0 forbids are dropped; tab and line ends stay. */
    ck_assert_str_eq(svg_of(arena, "a\x01\x1f\tb\nc", 0), "<text>a\tb\nc</text>");
    /* Cut after 3 characters, never inside one: \u00e9 is two bytes. */
    ck_assert_str_eq(svg_of(arena,
                            "\xc3\xa9t\xc3\xa9"
                            "s",
                            3),
                     "<text>\xc3\xa9t\xc3\xa9"
                     "\xe2\x80\xa6</text>");
    ck_assert_str_eq(svg_of(arena, "abc", 3), "<text>abc</text>");
    bw_arena_destroy(arena);
}
END_TEST

/* The first sheet's XML of the workbook data into sheet (size bytes),
 * unpacked with unzip -p as a spreadsheet would. */
static void sheet_of(const uint8_t *data, size_t len, char *sheet, size_t size)
{
    char path[] = "/tmp/bulwark-test-xlsx-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "unzip -p %s xl/worksheets/sheet1.xml", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(sheet, 1, size - 1, p);
    sheet[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    unlink(path);
}

START_TEST(xlsx_cells_read_back)
{
    bw_arena_t *arena = bw_arena_create(0);
    static const char *const headers[] = {"ref", "count"};
    static const double widths[] = {10, 8};
    bw_xlsx_t *x = NULL;
    ck_assert_int_eq(bw_xlsx_open(&x), 0);
    ck_assert_int_eq(bw_xlsx_sheet(x, "Sheet & <one>", headers, widths, 2), 0);
    ck_assert_int_eq(bw_xlsx_text(x, "=HYPERLINK(\"http://evil\")"), 0);
    ck_assert_int_eq(bw_xlsx_number(x, 42), 0);
    ck_assert_int_eq(bw_xlsx_row_end(x), 0);
    /* U+FFFF and U+FFFE are valid UTF-8 but no XML character: left out
     * (written, the workbook was one Excel offers to repair). */
    ck_assert_int_eq(bw_xlsx_text(x, "Outage \xef\xbf\xbf of \xef\xbf\xbe mail"), 0);
    ck_assert_int_eq(bw_xlsx_row_end(x), 0);
    uint8_t *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(bw_xlsx_finish(x, arena, &data, &len), 0);
    ck_assert_uint_gt(len, 100);
    ck_assert_int_eq(memcmp(data, "PK\x03\x04", 4), 0);

    char sheet[8192];
    sheet_of(data, len, sheet, sizeof(sheet));
    ck_assert_ptr_nonnull(strstr(sheet, "<t>ref</t>"));
    /* A formula is written as text: no <f> element. */
    ck_assert_ptr_nonnull(strstr(sheet, "<t>=HYPERLINK(\"http://evil\")</t>"));
    ck_assert_ptr_null(strstr(sheet, "<f>"));
    ck_assert_ptr_nonnull(strstr(sheet, "<v>42</v>"));
    ck_assert_ptr_nonnull(strstr(sheet, "<t>Outage  of  mail</t>"));
    ck_assert_ptr_null(strstr(sheet, "\xef\xbf"));
    bw_arena_destroy(arena);
}
END_TEST

/* A cell takes at most BW_XLSX_MAX_CELL_BYTES (Excel's limit); longer text
 * is cut there, never inside a character. */
START_TEST(xlsx_long_text_is_cut_at_a_character)
{
    bw_arena_t *arena = bw_arena_create(0);
    static const char *const headers[] = {"text"};
    static const double widths[] = {10};
    /* 'a's up to one byte before the limit, then a two-byte \u00e9 that
     * straddles it, then more */
    size_t n_a = BW_XLSX_MAX_CELL_BYTES - 1;
    char *text = malloc(n_a + 8);
    ck_assert_ptr_nonnull(text);
    memset(text, 'a', n_a);
    memcpy(text + n_a, "\xc3\xa9zz", 5);
    bw_xlsx_t *x = NULL;
    ck_assert_int_eq(bw_xlsx_open(&x), 0);
    ck_assert_int_eq(bw_xlsx_sheet(x, "Long", headers, widths, 1), 0);
    ck_assert_int_eq(bw_xlsx_text(x, text), 0);
    ck_assert_int_eq(bw_xlsx_row_end(x), 0);
    uint8_t *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(bw_xlsx_finish(x, arena, &data, &len), 0);

    size_t size = 2 * BW_XLSX_MAX_CELL_BYTES;
    char *sheet = malloc(size);
    ck_assert_ptr_nonnull(sheet);
    sheet_of(data, len, sheet, size);
    memcpy(text + n_a, "</t>", 5); /* the 'a's, and the cell ends there */
    ck_assert_ptr_nonnull(strstr(sheet, text));
    ck_assert_ptr_null(strstr(sheet, "\xc3"));
    free(sheet);
    free(text);
    bw_arena_destroy(arena);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, svg_text_is_escaped_and_cut_at_a_character);
    tcase_add_test(tc, xlsx_cells_read_back);
    tcase_add_test(tc, xlsx_long_text_is_cut_at_a_character);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
