/*
 * PostgreSQL array literals; see pgarray.h. Every element is quoted, so
 * that spaces, commas and braces need no thought; inside the quotes only
 * the quote and the backslash are escaped.
 */
#include "pgarray.h"

#include "status.h"

#include <stdlib.h>
#include <string.h>

static int grow(bw_pgarray_t *a, size_t more)
{
    if (a->len + more + 1 <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more + 1)
        cap *= 2;
    char *text = realloc(a->text, cap);
    if (text == NULL)
        return BW_ENOMEM;
    a->text = text;
    a->cap = cap;
    return 0;
}

/* An event's data is most of what the relay adds, and a JSON document has
 * a quote every few bytes: the runs between escapes are copied whole. */
int bw_pgarray_add(bw_pgarray_t *a, const char *value)
{
    size_t n = strlen(value), extra = 0;
    for (const char *p = value; (p = strpbrk(p, "\"\\")) != NULL; p++)
        extra++;
    if (grow(a, n + extra + 4) != 0)
        return BW_ENOMEM;
    a->text[a->len++] = a->n++ > 0 ? ',' : '{';
    a->text[a->len++] = '"';
    for (const char *p = value;;) {
        size_t run = strcspn(p, "\"\\");
        memcpy(a->text + a->len, p, run);
        a->len += run;
        p += run;
        if (*p == '\0')
            break;
        a->text[a->len++] = '\\';
        a->text[a->len++] = *p++;
    }
    a->text[a->len++] = '"';
    a->text[a->len] = '\0';
    return 0;
}

const char *bw_pgarray_close(bw_pgarray_t *a)
{
    if (grow(a, 2) != 0)
        return NULL;
    if (a->n == 0)
        a->text[a->len++] = '{';
    a->text[a->len++] = '}';
    a->text[a->len] = '\0';
    return a->text;
}

void bw_pgarray_reset(bw_pgarray_t *a)
{
    a->len = 0;
    a->n = 0;
}

void bw_pgarray_free(bw_pgarray_t *a)
{
    free(a->text);
    a->text = NULL;
    a->len = a->cap = 0;
    a->n = 0;
}
