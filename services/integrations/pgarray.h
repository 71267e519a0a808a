/*
 * PostgreSQL array literals built in C ({"a","b\"c"}), so that one
 * statement can carry many rows (unnest($1::uuid[], ...)): the relay's
 * fan-out and the deliverer's records of finished attempts.
 */
#ifndef BW_PGARRAY_H
#define BW_PGARRAY_H

#include <stddef.h>

typedef struct bw_pgarray {
    char *text; /* owned; free with bw_pgarray_free */
    size_t len, cap;
    int n; /* elements so far */
} bw_pgarray_t;

/* Appends value (borrowed) as one element, quoted and escaped. 0 or
 * BW_ENOMEM. */
int bw_pgarray_add(bw_pgarray_t *a, const char *value);
/* The literal, closed ("{}" when empty), valid until the next change; add
 * nothing more before bw_pgarray_reset. NULL on OOM. */
const char *bw_pgarray_close(bw_pgarray_t *a);
/* Empties it, keeping the memory. */
void bw_pgarray_reset(bw_pgarray_t *a);
/* Frees the memory. */
void bw_pgarray_free(bw_pgarray_t *a);

#endif
