/*
 * A growable byte buffer with a ceiling, in the spirit of curl's dynbuf:
 * appends double the capacity as needed, never past max, and a failed
 * append (out of memory, or over the ceiling) leaves the buffer as it was
 * and says so, and keeps the first such failure in error, so that a writer
 * may append many pieces and check once. The bytes are kept NUL-terminated
 * for convenience; len does not count the NUL. Not thread-safe; the owner
 * decides.
 */
#ifndef BW_BUF_H
#define BW_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "arena.h"

typedef struct bw_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* ceiling of len; 0: no ceiling but SIZE_MAX / 2 */
    int error;  /* the first failed append's BW_ENOMEM or BW_ETOOBIG; 0 if none */
} bw_buf_t;

/* An empty buffer that may grow to max bytes (0: unbounded). */
void bw_buf_init(bw_buf_t *b, size_t max);
/* Frees the bytes and empties b. Accepts NULL. */
void bw_buf_free(bw_buf_t *b);
/* Empties b (and forgets a failure) and keeps its memory for reuse. */
void bw_buf_reset(bw_buf_t *b);
/* Appends n bytes: 0, or BW_ENOMEM (no memory) or BW_ETOOBIG (over max). */
int bw_buf_add(bw_buf_t *b, const void *bytes, size_t n);
/* One byte; inline, for writers that append byte by byte. */
static inline int bw_buf_addc(bw_buf_t *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return bw_buf_add(b, &c, 1);
}
int bw_buf_adds(bw_buf_t *b, const char *s);
int bw_buf_printf(bw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bw_buf_vprintf(bw_buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Makes room for n more bytes and returns where they go (the caller then
 * calls bw_buf_commit with how many it wrote), or NULL as bw_buf_add fails. */
char *bw_buf_reserve(bw_buf_t *b, size_t n);
void bw_buf_commit(bw_buf_t *b, size_t n);
/* After bw_buf_reserve(b, n) returned NULL: why, as bw_buf_add would say
 * (BW_ETOOBIG over max, else BW_ENOMEM), kept in b->error as a failed
 * append keeps it. */
int bw_buf_reserve_failed(bw_buf_t *b, size_t n);

/* Hands the text to arena, which frees it when reset or destroyed: *out is
 * the NUL-terminated text ("" when empty) and b is left empty. Returns
 * b->error when an append had failed, BW_ENOMEM when the arena cannot take
 * the text; either way the text is freed and *out is NULL. */
int bw_buf_to_arena(bw_buf_t *b, bw_arena_t *arena, char **out);

#endif
