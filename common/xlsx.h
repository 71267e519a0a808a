/*
 * XLSX workbooks (Office Open XML spreadsheets, ECMA-376) of tables: the
 * Statement of Applicability, a gap analysis, the incident register. A thin
 * layer over libxlsxwriter, which writes only to a file in the version
 * Debian 12 ships (1.1.4): the workbook goes to a private temporary file
 * that is read back into the caller's arena and removed. Rows stream
 * (libxlsxwriter's constant-memory mode), so memory does not grow with the
 * rows. Cells are written as text or numbers, never as formulas, so a cell
 * starting with "=" is shown, not run.
 */
#ifndef BW_XLSX_H
#define BW_XLSX_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define BW_XLSX_MEDIA_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
/* Text longer than a cell holds (Excel's limit) is cut at a character. */
#define BW_XLSX_MAX_CELL_BYTES 32767

typedef struct bw_xlsx bw_xlsx_t;

/* A new workbook: 0, BW_ENOMEM, or BW_EUNAVAIL (no temporary file). */
int bw_xlsx_open(bw_xlsx_t **out);
/* Starts a worksheet (name up to 31 characters, no []:*?/\) whose first row,
 * in bold and frozen, names the n columns; widths in characters. */
int bw_xlsx_sheet(bw_xlsx_t *x, const char *name, const char *const *headers, const double *widths,
                  size_t n);
/* The next cell of the current row: text (NULL is an empty cell), or a
 * number. */
int bw_xlsx_text(bw_xlsx_t *x, const char *text);
int bw_xlsx_number(bw_xlsx_t *x, double value);
/* Ends the current row. */
int bw_xlsx_row_end(bw_xlsx_t *x);
/*
 * Writes the workbook and copies its bytes onto arena (caller's arena owns
 * them); the workbook is freed either way. 0, BW_ENOMEM, BW_EUNAVAIL.
 */
int bw_xlsx_finish(bw_xlsx_t *x, bw_arena_t *arena, uint8_t **data, size_t *len);
/* Frees an unfinished workbook and its file. Accepts NULL. */
void bw_xlsx_free(bw_xlsx_t *x);

#endif
