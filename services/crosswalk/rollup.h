/*
 * The gap analysis roll-up: from an entity's Statement of Applicability and
 * the effective ISO -> framework mapping rows, the coverage of every
 * assessable requirement of the framework, the totals, and the totals per
 * Art 21(2) point. Pure computation on the catalogue; the rule is written
 * out in README.md ("The roll-up rule").
 */
#ifndef BW_CROSSWALK_ROLLUP_H
#define BW_CROSSWALK_ROLLUP_H

#include <stddef.h>

#include "arena.h"
#include "catalogue.h"
#include "compose.h"

/* Control.Status of the proto. */
enum {
    BW_CW_STATUS_NONE = 0,
    BW_CW_STATUS_IMPLEMENTED = 1,
    BW_CW_STATUS_PARTIAL = 2,
    BW_CW_STATUS_PLANNED = 3,
    BW_CW_STATUS_NOT_IMPLEMENTED = 4
};

/* One ISO requirement as the SoA records it; all zero when not recorded. */
typedef struct bw_cw_soa_state {
    unsigned char recorded;
    unsigned char applicable;
    unsigned char status; /* BW_CW_STATUS_* */
} bw_cw_soa_state_t;

/* RequirementCoverage.Coverage of the proto. */
typedef enum bw_cw_coverage {
    BW_CW_COVERAGE_NONE = 0,
    BW_CW_COVERED = 1,
    BW_CW_PARTIAL = 2,
    BW_CW_GAP = 3,
    BW_CW_NOT_COVERABLE = 4
} bw_cw_coverage_t;

/* Counts of the requirements that apply to the entity, by coverage; those
 * that do not apply are only counted, in not_applicable. */
typedef struct bw_cw_totals {
    int requirements, covered, partial, gap, not_coverable, not_applicable;
} bw_cw_totals_t;

typedef struct bw_cw_req_cov {
    int req; /* global requirement index */
    bw_cw_coverage_t coverage;
    int mapped;
    int applies;         /* to the entity (see bw_cw_rollup) */
    int covered_by;      /* the implemented EQUAL or SUPERSET control, or -1 */
    int all_implemented; /* every contributing control implemented */
    /* ISO requirement indexes, in document order. */
    int *contributing;
    size_t n_contributing;
    int *missing;
    size_t n_missing;
    int *excluded; /* the missing ones the SoA declares not applicable */
    size_t n_excluded;
    int *points; /* the nis2 Art 21(2) points it belongs to */
    size_t n_points;
} bw_cw_req_cov_t;

typedef struct bw_cw_point_cov {
    int point; /* global index of the nis2 requirement "21.2.x" */
    bw_cw_coverage_t coverage;
    bw_cw_totals_t totals;
    int applies; /* at least one of its requirements applies */
} bw_cw_point_cov_t;

typedef struct bw_cw_gap {
    bw_cw_req_cov_t *reqs; /* the framework's assessable requirements, in order */
    size_t n_reqs;
    bw_cw_totals_t totals;
    bw_cw_point_cov_t *points; /* Art 21(2)(a)-(j), in order */
    size_t n_points;
} bw_cw_gap_t;

/*
 * Rates framework fw (not ISO). iso_rows: the effective rows ISO -> fw;
 * point_rows: the direct rows fw -> nis2 (bw_cw_direct), which place a
 * requirement under an Art 21(2) point (NULL when fw is nis2 itself). soa
 * has cat->n_reqs entries indexed by global requirement index (only ISO
 * ones are read). applies, also by global index, says which of fw's
 * requirements apply to the entity (NULL: all): the others are rated all
 * the same, but counted only as not_applicable. Everything borrowed; the
 * result is on arena. 0, BW_EINVAL (fw is ISO or unknown) or BW_ENOMEM.
 *
 * Coverage follows the NIST OLIR relationship of each row: COVERED needs an
 * implemented control EQUAL to the requirement or a SUPERSET of it;
 * SUBSET and INTERSECT rows give at most PARTIAL, even when every one of
 * them is implemented (all_implemented: mapped, evidence needed).
 */
int bw_cw_rollup(bw_arena_t *arena, const bw_cw_catalogue_t *cat, int fw,
                 const bw_cw_rowset_t *iso_rows, const bw_cw_rowset_t *point_rows,
                 const bw_cw_soa_state_t *soa, const unsigned char *applies, bw_cw_gap_t *out);

#endif
