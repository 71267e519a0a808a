/*
 * libFuzzer target of the Statement of Applicability's CSV importer: the
 * input is an uploaded file. Every parse must end in records or a clean
 * error with a line number; every record it accepts must write back (as the
 * export does, cells neutralised against formulas) to text that parses to
 * cells that start with no formula character and give the same values.
 */
#include "csv.h"

#include "status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_arena_t *arena = bw_arena_create(8192);
    if (arena == NULL)
        return 0;
    bw_cw_csv_record_t *records = NULL, *again = NULL;
    size_t n = 0, n_again = 0;
    bw_cw_csv_error_t err;
    int rc = bw_cw_csv_parse(arena, (const char *)data, size, &records, &n, &err);
    if (rc == BW_EINVAL && err.line < 1)
        abort();
    if (rc == 0 && n > 0) {
        bw_buf_t buf;
        bw_buf_init(&buf, 0);
        for (size_t r = 0; r < n; r++) {
            for (size_t f = 0; f < records[r].n_fields; f++) {
                if (f > 0)
                    bw_buf_adds(&buf, ",");
                bw_cw_csv_cell(&buf, records[r].fields[f]);
            }
            bw_buf_adds(&buf, "\r\n");
        }
        if (buf.error == 0) {
            /* A record of one empty field writes back as an empty line,
             * which is no record: compare only what can round-trip. */
            if (bw_cw_csv_parse(arena, buf.data, buf.len, &again, &n_again, &err) != 0)
                abort();
            size_t j = 0;
            for (size_t r = 0; r < n; r++) {
                if (records[r].n_fields == 1 && records[r].fields[0][0] == '\0')
                    continue;
                if (j >= n_again || again[j].n_fields != records[r].n_fields)
                    abort();
                for (size_t f = 0; f < records[r].n_fields; f++) {
                    const char *cell = again[j].fields[f];
                    if (cell[0] != '\0' && strchr("=+-@\t\r", cell[0]) != NULL)
                        abort();
                    if (strcmp(bw_cw_csv_cell_value(cell), records[r].fields[f]) != 0)
                        abort();
                }
                j++;
            }
        }
        bw_buf_free(&buf);
    }
    bw_arena_destroy(arena);
    return 0;
}
