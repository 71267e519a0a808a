/*
 * See buf.h.
 */
#include "buf.h"

#include "arena.h"
#include "status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 256

void bw_buf_init(bw_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max > 0 ? max : SIZE_MAX / 2;
    b->error = 0;
}

void bw_buf_free(bw_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void bw_buf_reset(bw_buf_t *b)
{
    b->len = 0;
    b->error = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *bw_buf_reserve(bw_buf_t *b, size_t n)
{
    if (n > b->max - b->len)
        return NULL;
    size_t need = b->len + n + 1; /* and the NUL */
    if (need > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : BUF_MIN_CAP;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *data = realloc(b->data, cap);
        if (data == NULL)
            return NULL;
        b->data = data;
        b->cap = cap;
    }
    return b->data + b->len;
}

void bw_buf_commit(bw_buf_t *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

int bw_buf_reserve_failed(bw_buf_t *b, size_t n)
{
    int err = n > b->max - b->len ? BW_ETOOBIG : BW_ENOMEM;
    if (b->error == 0)
        b->error = err;
    return err;
}

int bw_buf_add(bw_buf_t *b, const void *bytes, size_t n)
{
    char *at = bw_buf_reserve(b, n);
    if (at == NULL)
        return bw_buf_reserve_failed(b, n);
    if (n > 0)
        memcpy(at, bytes, n);
    bw_buf_commit(b, n);
    return 0;
}

int bw_buf_adds(bw_buf_t *b, const char *s)
{
    return bw_buf_add(b, s, strlen(s));
}

int bw_buf_vprintf(bw_buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    int err = 0;
    char *at = NULL;
    if (n < 0) {
        if (b->error == 0)
            b->error = BW_EINVAL;
        err = BW_EINVAL;
    } else if ((at = bw_buf_reserve(b, (size_t)n)) == NULL) {
        err = bw_buf_reserve_failed(b, (size_t)n);
    } else {
        vsnprintf(at, (size_t)n + 1, fmt, again);
        bw_buf_commit(b, (size_t)n);
    }
    va_end(again);
    return err;
}

int bw_buf_printf(bw_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int err = bw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

static void free_text(void *text)
{
    free(text);
}

int bw_buf_to_arena(bw_buf_t *b, bw_arena_t *arena, char **out)
{
    *out = NULL;
    int err = b->error;
    if (err == 0 && b->data == NULL) {
        if (bw_buf_reserve(b, 0) == NULL)
            err = BW_ENOMEM;
        else
            bw_buf_commit(b, 0);
    }
    char *text = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    b->error = 0;
    if (err != 0) {
        free(text);
        return err;
    }
    err = bw_arena_on_cleanup(arena, free_text, text); /* frees it on failure */
    if (err == 0)
        *out = text;
    return err;
}
