/*
 * The roll-up; see rollup.h and README.md. The mapping rows are bucketed by
 * target requirement in one counting pass, so a requirement sees all of its
 * contributing controls (many-to-many: every control counts, not the first)
 * and the whole analysis is linear in rows plus requirements.
 */
#include "rollup.h"

#include "status.h"

#include <string.h>

static int usable(bw_cw_rel_t rel)
{
    return rel != BW_CW_REL_NONE && rel != BW_CW_NOT_RELATED;
}

enum { STATE_MISSING, STATE_IMPLEMENTED, STATE_PARTIAL };

static int control_state(const bw_cw_soa_state_t *s)
{
    if (!s->recorded || !s->applicable)
        return STATE_MISSING;
    if (s->status == BW_CW_STATUS_IMPLEMENTED)
        return STATE_IMPLEMENTED;
    return s->status == BW_CW_STATUS_PARTIAL ? STATE_PARTIAL : STATE_MISSING;
}

static void count(bw_cw_totals_t *t, bw_cw_coverage_t c, int applies)
{
    if (!applies) {
        t->not_applicable++;
        return;
    }
    t->requirements++;
    t->covered += c == BW_CW_COVERED;
    t->partial += c == BW_CW_PARTIAL;
    t->gap += c == BW_CW_GAP;
    t->not_coverable += c == BW_CW_NOT_COVERABLE;
}

/* Rates one requirement from its contributing rows. */
static int rate(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_soa_state_t *soa,
                const bw_cw_row_t *const *rows, size_t n, bw_cw_req_cov_t *rc)
{
    const bw_cw_req_t *req = &cat->reqs[rc->req];
    int all = 1, any = 0;
    rc->covered_by = -1;
    rc->contributing = bw_arena_alloc(arena, (n + 1) * sizeof(int));
    rc->missing = bw_arena_alloc(arena, (n + 1) * sizeof(int));
    rc->excluded = bw_arena_alloc(arena, (n + 1) * sizeof(int));
    if (rc->contributing == NULL || rc->missing == NULL || rc->excluded == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int c = rows[i]->source;
        int state = control_state(&soa[c]);
        if (state == STATE_IMPLEMENTED && rc->covered_by < 0 &&
            (rows[i]->rel == BW_CW_EQUAL || rows[i]->rel == BW_CW_SUPERSET))
            rc->covered_by = c;
        all = all && state == STATE_IMPLEMENTED;
        any = any || state != STATE_MISSING;
        if (state != STATE_MISSING) {
            rc->contributing[rc->n_contributing++] = c;
        } else {
            rc->missing[rc->n_missing++] = c;
            if (soa[c].recorded && !soa[c].applicable)
                rc->excluded[rc->n_excluded++] = c;
        }
    }
    rc->mapped = n > 0;
    rc->all_implemented = n > 0 && all;
    /* Implemented SUBSET or INTERSECT controls, however many, do not show
     * that everything the requirement asks for is done: at most PARTIAL. */
    if (!req->iso_coverable)
        rc->coverage = BW_CW_NOT_COVERABLE;
    else if (n == 0)
        rc->coverage = BW_CW_GAP;
    else if (rc->covered_by >= 0)
        rc->coverage = BW_CW_COVERED;
    else
        rc->coverage = any ? BW_CW_PARTIAL : BW_CW_GAP;
    /* Nothing is missing from a covered requirement. */
    if (rc->coverage == BW_CW_COVERED)
        rc->n_missing = rc->n_excluded = 0;
    return 0;
}

/* Indexes of the Art 21(2) points: nis2 requirements under "21.2". */
static size_t find_points(const bw_cw_catalogue_t *cat, int *points)
{
    size_t n = 0;
    if (cat->nis2 < 0)
        return 0;
    const bw_cw_framework_t *f = &cat->frameworks[cat->nis2];
    for (size_t i = f->first; i < f->first + f->count; i++)
        if (cat->reqs[i].assessable && strcmp(cat->reqs[i].parent_ref, BW_CW_ART_21_2) == 0)
            points[n++] = (int)i;
    return n;
}

int bw_cw_rollup(bw_arena_t *arena, const bw_cw_catalogue_t *cat, int fw,
                 const bw_cw_rowset_t *iso_rows, const bw_cw_rowset_t *point_rows,
                 const bw_cw_soa_state_t *soa, const unsigned char *applies, bw_cw_gap_t *out)
{
    memset(out, 0, sizeof(*out));
    if (fw < 0 || (size_t)fw >= cat->n_frameworks || fw == cat->iso)
        return BW_EINVAL;
    const bw_cw_framework_t *f = &cat->frameworks[fw];
    size_t n_all = cat->n_reqs;

    /* Bucket the usable ISO rows by target: start[t] .. start[t + 1). */
    size_t *start = bw_arena_calloc(arena, n_all + 2, sizeof(*start));
    const bw_cw_row_t **bucket = bw_arena_alloc(arena, (iso_rows->n + 1) * sizeof(*bucket));
    int *point_of = bw_arena_alloc(arena, (n_all + 1) * sizeof(*point_of));
    int *points = bw_arena_alloc(arena, (n_all + 1) * sizeof(*points));
    out->reqs = bw_arena_calloc(arena, (size_t)f->assessable + 1, sizeof(*out->reqs));
    if (start == NULL || bucket == NULL || point_of == NULL || points == NULL || out->reqs == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < iso_rows->n; i++) {
        const bw_cw_row_t *r = &iso_rows->rows[i];
        if (usable(r->rel) && cat->reqs[r->source].framework == cat->iso)
            start[r->target + 2]++;
    }
    for (size_t t = 2; t < n_all + 2; t++)
        start[t] += start[t - 1];
    for (size_t i = 0; i < iso_rows->n; i++) {
        const bw_cw_row_t *r = &iso_rows->rows[i];
        if (usable(r->rel) && cat->reqs[r->source].framework == cat->iso)
            bucket[start[r->target + 1]++] = r;
    }

    size_t n_points = find_points(cat, points);
    for (size_t i = 0; i < n_all; i++)
        point_of[i] = -1;
    for (size_t p = 0; p < n_points; p++)
        point_of[points[p]] = (int)p;
    out->points = bw_arena_calloc(arena, n_points + 1, sizeof(*out->points));
    if (out->points == NULL)
        return BW_ENOMEM;
    for (size_t p = 0; p < n_points; p++)
        out->points[p].point = points[p];
    out->n_points = n_points;

    for (size_t i = f->first; i < f->first + f->count; i++) {
        if (!cat->reqs[i].assessable)
            continue;
        bw_cw_req_cov_t *rc = &out->reqs[out->n_reqs++];
        rc->req = (int)i;
        rc->applies = applies == NULL || applies[i];
        int err = rate(arena, cat, soa, bucket + start[i], start[i + 1] - start[i], rc);
        if (err != 0)
            return err;
        count(&out->totals, rc->coverage, rc->applies);

        rc->points = bw_arena_alloc(arena, (n_points + 1) * sizeof(int));
        if (rc->points == NULL)
            return BW_ENOMEM;
        if (fw == cat->nis2) {
            if (point_of[i] >= 0)
                rc->points[rc->n_points++] = (int)i;
        } else if (point_rows != NULL) {
            /* point_rows is sorted by source: find this requirement's run. */
            size_t lo = 0, hi = point_rows->n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (point_rows->rows[mid].source < (int)i)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (; lo < point_rows->n && point_rows->rows[lo].source == (int)i; lo++) {
                const bw_cw_row_t *r = &point_rows->rows[lo];
                if (usable(r->rel) && point_of[r->target] >= 0 && rc->n_points < n_points)
                    rc->points[rc->n_points++] = r->target;
            }
        }
        for (size_t p = 0; p < rc->n_points; p++) {
            bw_cw_point_cov_t *pc = &out->points[point_of[rc->points[p]]];
            count(&pc->totals, rc->coverage, rc->applies);
            pc->applies |= rc->applies;
        }
    }

    /* A point is rated on its requirements that apply; one none of whose
     * requirements applies (under DORA, say) on them all, for information. */
    bw_cw_totals_t *every = bw_arena_calloc(arena, n_points + 1, sizeof(*every));
    if (every == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < out->n_reqs; i++)
        for (size_t p = 0; p < out->reqs[i].n_points; p++)
            count(&every[point_of[out->reqs[i].points[p]]], out->reqs[i].coverage, 1);
    for (size_t p = 0; p < n_points; p++) {
        bw_cw_point_cov_t *pc = &out->points[p];
        const bw_cw_totals_t *t = pc->applies ? &pc->totals : &every[p];
        if (t->requirements > 0 && t->not_coverable == t->requirements)
            pc->coverage = BW_CW_NOT_COVERABLE;
        else if (t->requirements > 0 && t->covered + t->not_coverable == t->requirements)
            pc->coverage = BW_CW_COVERED;
        else if (t->covered + t->partial == 0)
            pc->coverage = BW_CW_GAP;
        else
            pc->coverage = BW_CW_PARTIAL;
    }
    return 0;
}
