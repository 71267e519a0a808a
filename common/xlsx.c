/*
 * XLSX through libxlsxwriter: a temporary file per workbook (mkstemp under
 * TMPDIR, private to the process's user), one sheet at a time, row by row.
 */
#include "xlsx.h"

#include "status.h"
#include "utf8.h"

#include <xlsxwriter.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bw_xlsx {
    lxw_workbook *book;
    lxw_worksheet *sheet;
    lxw_format *bold;
    lxw_row_t row;
    lxw_col_t col;
    char path[4096];
};

int bw_xlsx_open(bw_xlsx_t **out)
{
    bw_xlsx_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return BW_ENOMEM;
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    int n = snprintf(x->path, sizeof(x->path), "%s/bulwark-xlsx-XXXXXX", dir);
    int fd = n > 0 && (size_t)n < sizeof(x->path) ? mkstemp(x->path) : -1;
    if (fd < 0) {
        free(x);
        return BW_EUNAVAIL;
    }
    close(fd);
    lxw_workbook_options options = {.constant_memory = LXW_TRUE, .tmpdir = (char *)dir};
    x->book = workbook_new_opt(x->path, &options);
    if (x->book == NULL) {
        bw_xlsx_free(x);
        return BW_ENOMEM;
    }
    x->bold = workbook_add_format(x->book);
    if (x->bold == NULL) {
        bw_xlsx_free(x);
        return BW_ENOMEM;
    }
    format_set_bold(x->bold);
    *out = x;
    return 0;
}

static int status_of(lxw_error e)
{
    return e == LXW_NO_ERROR ? 0 : e == LXW_ERROR_MEMORY_MALLOC_FAILED ? BW_ENOMEM : BW_EINTERNAL;
}

int bw_xlsx_sheet(bw_xlsx_t *x, const char *name, const char *const *headers, const double *widths,
                  size_t n)
{
    x->sheet = workbook_add_worksheet(x->book, name);
    if (x->sheet == NULL)
        return BW_EINTERNAL;
    worksheet_freeze_panes(x->sheet, 1, 0);
    for (size_t c = 0; c < n; c++) {
        lxw_error e = worksheet_set_column(x->sheet, (lxw_col_t)c, (lxw_col_t)c, widths[c], NULL);
        if (e == LXW_NO_ERROR)
            e = worksheet_write_string(x->sheet, 0, (lxw_col_t)c, headers[c], x->bold);
        if (e != LXW_NO_ERROR)
            return status_of(e);
    }
    x->row = 1;
    x->col = 0;
    return 0;
}

int bw_xlsx_text(bw_xlsx_t *x, const char *text)
{
    lxw_col_t col = x->col++;
    if (text == NULL || *text == '\0')
        return 0;
    size_t whole = strlen(text), len = whole;
    if (len > BW_XLSX_MAX_CELL_BYTES)
        len = bw_utf8_cut(text, len, BW_XLSX_MAX_CELL_BYTES);
    /* A copy when the text is cut or holds U+FFFE or U+FFFF, which are left
     * out (written, the whole workbook was one Excel offers to repair and
     * XML parsers refuse). */
    size_t keep = 0;
    while (keep < len && !bw_utf8_xml_nonchar(text + keep))
        keep++;
    char *cut = NULL;
    if (keep < whole) {
        if ((cut = malloc(len + 1)) == NULL)
            return BW_ENOMEM;
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (bw_utf8_xml_nonchar(text + i))
                i += 2;
            else
                cut[o++] = text[i];
        }
        cut[o] = '\0';
        text = cut;
    }
    lxw_error e = worksheet_write_string(x->sheet, x->row, col, text, NULL);
    free(cut);
    return status_of(e);
}

int bw_xlsx_number(bw_xlsx_t *x, double value)
{
    return status_of(worksheet_write_number(x->sheet, x->row, x->col++, value, NULL));
}

int bw_xlsx_row_end(bw_xlsx_t *x)
{
    x->row++;
    x->col = 0;
    return x->row < LXW_ROW_MAX ? 0 : BW_EINTERNAL;
}

int bw_xlsx_finish(bw_xlsx_t *x, bw_arena_t *arena, uint8_t **data, size_t *len)
{
    lxw_error e = workbook_close(x->book);
    x->book = NULL;
    int err = status_of(e);
    FILE *f = err == 0 ? fopen(x->path, "rb") : NULL;
    if (err == 0 && f == NULL)
        err = BW_EUNAVAIL;
    long size = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (err == 0 && (size < 0 || fseek(f, 0, SEEK_SET) != 0))
        err = BW_EUNAVAIL;
    if (err == 0 && (*data = bw_arena_alloc(arena, (size_t)size + 1)) == NULL)
        err = BW_ENOMEM;
    if (err == 0 && fread(*data, 1, (size_t)size, f) != (size_t)size)
        err = BW_EUNAVAIL;
    if (err == 0)
        *len = (size_t)size;
    if (f != NULL)
        fclose(f);
    bw_xlsx_free(x);
    return err;
}

void bw_xlsx_free(bw_xlsx_t *x)
{
    if (x == NULL)
        return;
    if (x->book != NULL)
        lxw_workbook_free(x->book);
    unlink(x->path);
    free(x);
}
