/*
 * RFC 4180 CSV on arenas; see csv.h. The parser is a single pass over the
 * text with one state per position (start of field, in a quoted field, after
 * a closing quote, in an unquoted field); fields are copied into a buffer
 * that grows on the arena, records into an array that does the same.
 */
#include "csv.h"

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Growing arrays on an arena: old blocks stay in the arena until it goes. */
static int grow(bw_arena_t *arena, void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap == 0 ? 16 : *cap * 2;
    void *bigger = bw_arena_alloc(arena, ncap * size);
    if (bigger == NULL)
        return BW_ENOMEM;
    if (n > 0)
        memcpy(bigger, *items, n * size);
    *items = bigger;
    *cap = ncap;
    return 0;
}

static int fail(bw_cw_csv_error_t *err, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(bw_cw_csv_error_t *err, long line, const char *fmt, ...)
{
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return BW_EINVAL;
}

static void free_field(void *field)
{
    bw_buf_free(field);
}

typedef struct parser {
    bw_arena_t *arena;
    bw_buf_t *field; /* on the arena; its bytes freed by an arena cleanup */
    char **fields;
    size_t n_fields, cap_fields;
    bw_cw_csv_record_t *records;
    size_t n_records, cap_records;
} parser_t;

static int end_field(parser_t *p, bw_cw_csv_error_t *err, long line)
{
    if (p->field->error != 0)
        return BW_ENOMEM;
    if (p->n_fields == BW_CW_CSV_MAX_FIELDS)
        return fail(err, line, "more than %d fields", BW_CW_CSV_MAX_FIELDS);
    if (grow(p->arena, (void **)&p->fields, &p->cap_fields, p->n_fields, sizeof(char *)) != 0)
        return BW_ENOMEM;
    char *copy = bw_arena_strndup(p->arena, p->field->len > 0 ? p->field->data : "", p->field->len);
    if (copy == NULL)
        return BW_ENOMEM;
    p->fields[p->n_fields++] = copy;
    bw_buf_reset(p->field);
    return 0;
}

static int end_record(parser_t *p, bw_cw_csv_error_t *err, long line)
{
    /* An empty line is one empty unquoted field: not a record. */
    if (p->n_fields == 1 && p->fields[0][0] == '\0' && p->field->len == 0) {
        p->n_fields = 0;
        return 0;
    }
    if (p->n_records == BW_CW_CSV_MAX_RECORDS)
        return fail(err, line, "more than %d records", BW_CW_CSV_MAX_RECORDS);
    if (grow(p->arena, (void **)&p->records, &p->cap_records, p->n_records,
             sizeof(bw_cw_csv_record_t)) != 0)
        return BW_ENOMEM;
    char **fields = bw_arena_alloc(p->arena, p->n_fields * sizeof(char *));
    if (fields == NULL)
        return BW_ENOMEM;
    memcpy(fields, p->fields, p->n_fields * sizeof(char *));
    p->records[p->n_records++] = (bw_cw_csv_record_t){fields, p->n_fields, line};
    p->n_fields = 0;
    return 0;
}

int bw_cw_csv_parse(bw_arena_t *arena, const char *text, size_t len, bw_cw_csv_record_t **records,
                    size_t *n_records, bw_cw_csv_error_t *err)
{
    enum { FIELD_START, QUOTED, AFTER_QUOTE, UNQUOTED } state = FIELD_START;
    parser_t p = {.arena = arena};
    long line = 1, record_line = 1, quote_line = 1;
    size_t i = 0;
    int rc;

    err->line = 0;
    err->message[0] = '\0';
    p.field = bw_arena_alloc(arena, sizeof(*p.field));
    if (p.field == NULL)
        return BW_ENOMEM;
    bw_buf_init(p.field, 0);
    if (bw_arena_on_cleanup(arena, free_field, p.field) != 0)
        return BW_ENOMEM;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return fail(err, line, "contains a NUL byte");
        int newline = c == '\n' || c == '\r';
        switch (state) {
        case FIELD_START:
        case UNQUOTED:
            if (c == '"' && state == FIELD_START) {
                state = QUOTED;
                quote_line = line;
                continue;
            }
            if (c == '"')
                return fail(err, line,
                            "a quote inside an unquoted field; put the field in quotes "
                            "and double the quote");
            if (c != ',' && !newline) {
                bw_buf_addc(p.field, c);
                state = UNQUOTED;
                continue;
            }
            break;
        case QUOTED:
            if (c == '"') {
                state = AFTER_QUOTE;
                continue;
            }
            if (c == '\n' || (c == '\r' && (i + 1 == len || text[i + 1] != '\n')))
                line++;
            bw_buf_addc(p.field, c);
            continue;
        case AFTER_QUOTE:
            if (c == '"') {
                bw_buf_addc(p.field, c);
                state = QUOTED;
                continue;
            }
            if (c != ',' && !newline)
                return fail(err, line, "text after the closing quote of a field");
            break;
        }
        /* c ends a field (comma) or a record (line break). */
        if ((rc = end_field(&p, err, line)) != 0)
            return rc;
        state = FIELD_START;
        if (c == ',')
            continue;
        if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
            i++;
        if ((rc = end_record(&p, err, record_line)) != 0)
            return rc;
        line++;
        record_line = line;
    }
    if (state == QUOTED)
        return fail(err, quote_line, "a quoted field is not closed");
    /* The last record may lack its line break. */
    if (state != FIELD_START || p.n_fields > 0) {
        if ((rc = end_field(&p, err, line)) != 0 || (rc = end_record(&p, err, record_line)) != 0)
            return rc;
    }
    *records = p.records;
    *n_records = p.n_records;
    return 0;
}

void bw_cw_csv_field(bw_buf_t *buf, const char *s)
{
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    quote = quote || strpbrk(s, ",\"\r\n") != NULL;
    /* A leading byte order mark would be skipped when the text is read
     * back, were the field the first of the file: quoted, it stays. */
    quote = quote || strncmp(s, "\xEF\xBB\xBF", 3) == 0;
    if (!quote) {
        bw_buf_add(buf, s, n);
        return;
    }
    bw_buf_add(buf, "\"", 1);
    for (const char *q = s; *q != '\0'; q++) {
        const char *next = strchr(q, '"');
        if (next == NULL) {
            bw_buf_adds(buf, q);
            break;
        }
        bw_buf_add(buf, q, (size_t)(next - q) + 1);
        bw_buf_add(buf, "\"", 1);
        q = next;
    }
    bw_buf_add(buf, "\"", 1);
}

/* The first characters that make a spreadsheet read a cell as a formula. */
static int formula_start(char c)
{
    return c != '\0' && strchr("=+-@\t\r", c) != NULL;
}

/* Whether s, read back from a file, starts with a quote the export added. */
static int added_quote(const char *s)
{
    return s[0] == '\'' && (formula_start(s[1]) || s[1] == '\'');
}

void bw_cw_csv_cell(bw_buf_t *buf, const char *s)
{
    if (!formula_start(s[0]) && !added_quote(s)) {
        bw_cw_csv_field(buf, s);
        return;
    }
    bw_buf_t quoted;
    bw_buf_init(&quoted, 0);
    if (bw_buf_addc(&quoted, '\'') != 0 || bw_buf_adds(&quoted, s) != 0) {
        if (buf->error == 0)
            buf->error = BW_ENOMEM;
    } else {
        bw_cw_csv_field(buf, quoted.data);
    }
    bw_buf_free(&quoted);
}

const char *bw_cw_csv_cell_value(const char *s)
{
    return added_quote(s) ? s + 1 : s;
}
