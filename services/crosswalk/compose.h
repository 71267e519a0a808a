/*
 * Effective mappings between two frameworks as one tenant sees them: the
 * shipped rows (either direction; a row read backwards has its relationship
 * inverted), the tenant's override rows in place of the shipped row of the
 * same pair, and the rows derived by composing through an intermediate
 * framework (ISO -> IR 2024/2690 Annex requirement -> Art 21(2) point). A
 * direct row wins over a derived one for the same pair. The relationship
 * algebra is in README.md ("Composing mappings").
 */
#ifndef BW_CROSSWALK_COMPOSE_H
#define BW_CROSSWALK_COMPOSE_H

#include <stddef.h>

#include "arena.h"
#include "catalogue.h"

typedef struct bw_cw_row {
    int source, target; /* global requirement indexes */
    bw_cw_rel_t rel;
    const char *rationale;   /* NULL for a derived row: see bw_cw_row_rationale */
    const char *origin;      /* the source's title; "tenant" for an override */
    const char *origin2;     /* derived: the source of the second leg */
    const char *override_id; /* the override's id, or NULL */
    int via_framework;       /* -1 for a direct row */
    const int *via;          /* intermediate requirements, in document order */
    size_t n_via;
} bw_cw_row_t;

typedef struct bw_cw_rowset {
    bw_cw_row_t *rows; /* sorted by (source, target) */
    size_t n;
} bw_cw_rowset_t;

/* A tenant's mapping row, resolved against the catalogue. Strings borrowed. */
typedef struct bw_cw_override {
    int source, target;
    bw_cw_rel_t rel;
    const char *rationale;
    const char *id;
} bw_cw_override_t;

/* The relationship of A to C, given A to B and B to C. NOT_RELATED or NONE
 * on either side gives NONE: nothing can be derived. */
bw_cw_rel_t bw_cw_rel_compose(bw_cw_rel_t a_b, bw_cw_rel_t b_c);
/* What two derivations of the same pair establish together. */
bw_cw_rel_t bw_cw_rel_combine(bw_cw_rel_t x, bw_cw_rel_t y);
/* The relationship of B to A, given A to B. */
bw_cw_rel_t bw_cw_rel_invert(bw_cw_rel_t rel);

/* The effective rows from framework src to framework tgt (src != tgt), on
 * arena (rows may point into the catalogue and into ov, which must outlive
 * them). With no overrides the shipped composition cached in the catalogue
 * is returned as it is. 0 or BW_ENOMEM. */
int bw_cw_mappings(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                   size_t n_ov, int src, int tgt, bw_cw_rowset_t *out);
/* Only the direct rows (shipped and the tenant's), no derived ones. */
int bw_cw_direct(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                 size_t n_ov, int src, int tgt, bw_cw_rowset_t *out);
/* Computes the effective rows, using the catalogue's cache of shipped direct
 * rows when it has one (the catalogue calls it to fill its caches). */
int bw_cw_compose(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                  size_t n_ov, int src, int tgt, bw_cw_rowset_t *out);

/* A row's rationale and source as a reader sees them: a derived row names
 * its intermediate framework and refs, and both legs' sources. On arena. */
const char *bw_cw_row_rationale(bw_arena_t *arena, const bw_cw_catalogue_t *cat,
                                const bw_cw_row_t *row);
const char *bw_cw_row_origin(bw_arena_t *arena, const bw_cw_row_t *row);

#endif
