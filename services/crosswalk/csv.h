/*
 * RFC 4180 CSV: the parser behind the SoA import (and the tests that read
 * the shipped data files), and a growing text buffer with the field writer
 * behind the export. Everything lives on a caller's arena.
 */
#ifndef BW_CROSSWALK_CSV_H
#define BW_CROSSWALK_CSV_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"

/* More records than this is an error, not a Statement of Applicability. */
#define BW_CW_CSV_MAX_RECORDS 100000
#define BW_CW_CSV_MAX_FIELDS 64

typedef struct bw_cw_csv_record {
    char **fields; /* NUL-terminated, on the arena */
    size_t n_fields;
    long line; /* physical line (from 1) where the record starts */
} bw_cw_csv_record_t;

typedef struct bw_cw_csv_error {
    long line;
    char message[160]; /* "a quoted field is not closed" */
} bw_cw_csv_error_t;

/*
 * Parses len bytes of text into records on the arena: fields separated by
 * commas; a field in double quotes may hold commas, line breaks and "" for a
 * quote; a record ends at CRLF, LF or CR outside quotes. A UTF-8 byte order
 * mark at the start is skipped, and empty lines are not records. A NUL byte,
 * a quote inside an unquoted field, text after a closing quote, an unclosed
 * quote, or too many records or fields is BW_EINVAL with *err set; BW_ENOMEM.
 */
int bw_cw_csv_parse(bw_arena_t *arena, const char *text, size_t len, bw_cw_csv_record_t **records,
                    size_t *n_records, bw_cw_csv_error_t *err);

/* Appends s as one CSV field, in quotes when it holds a comma, a quote, a
 * line break or leading or trailing blanks. A failed append is kept in
 * buf->error (common/buf.h). */
void bw_cw_csv_field(bw_buf_t *buf, const char *s);

/*
 * Cells of a file a person opens in a spreadsheet (OWASP, "CSV Injection"):
 * a cell starting with =, +, -, @, a tab or a carriage return would run as a
 * formula, so the export writes it behind a single quote, which spreadsheets
 * show as text. To keep the export importable unchanged, a cell that starts
 * with a quote followed by one of those characters or by another quote gets
 * a quote too; bw_cw_csv_cell_value removes exactly the quote
 * bw_cw_csv_cell added, so every value makes the round trip.
 */
/* Appends s as one exported cell: neutralised, then as bw_cw_csv_field. */
void bw_cw_csv_cell(bw_buf_t *buf, const char *s);
/* The value of an imported cell (borrowed from s): without the quote that
 * bw_cw_csv_cell put in front of it, if any. */
const char *bw_cw_csv_cell_value(const char *s);

#endif
