/*
 * Mapping composition; see compose.h. The shipped direct rows of each
 * framework pair are gathered once (read forwards or backwards, sorted by
 * pair, one per pair) and cached in the catalogue; a tenant's rows are
 * merged into a copy of them per request. Derived rows join the direct rows
 * src -> M with M -> tgt on the intermediate requirement, source by source,
 * so they come out in order without a global sort; the paths of one pair
 * become one row whose relationship combines theirs. Texts for readers are
 * only made when a row is shown (bw_cw_row_rationale), never for a gap
 * analysis. Results live on the caller's arena, scratch on the heap.
 */
#include "compose.h"

#include "status.h"

#include <stdlib.h>
#include <string.h>

#define TENANT_ORIGIN "tenant"
/* A derived row's rationale names at most this many intermediate refs. */
#define RATIONALE_VIA_MAX 6

bw_cw_rel_t bw_cw_rel_invert(bw_cw_rel_t rel)
{
    return rel == BW_CW_SUBSET ? BW_CW_SUPERSET : rel == BW_CW_SUPERSET ? BW_CW_SUBSET : rel;
}

bw_cw_rel_t bw_cw_rel_compose(bw_cw_rel_t a_b, bw_cw_rel_t b_c)
{
    if (a_b == BW_CW_REL_NONE || a_b == BW_CW_NOT_RELATED || b_c == BW_CW_REL_NONE ||
        b_c == BW_CW_NOT_RELATED)
        return BW_CW_REL_NONE;
    if (a_b == BW_CW_EQUAL)
        return b_c;
    if (b_c == BW_CW_EQUAL)
        return a_b;
    if (a_b == b_c && (a_b == BW_CW_SUBSET || a_b == BW_CW_SUPERSET))
        return a_b;
    /* A shared intermediate requirement is taken as evidence of overlap
     * even where set algebra alone would not imply it (README.md). */
    return BW_CW_INTERSECT;
}

bw_cw_rel_t bw_cw_rel_combine(bw_cw_rel_t x, bw_cw_rel_t y)
{
    if (x == BW_CW_REL_NONE || x == y)
        return y;
    if (y == BW_CW_REL_NONE)
        return x;
    if (x == BW_CW_EQUAL || y == BW_CW_EQUAL)
        return BW_CW_EQUAL;
    /* A within C and C within A. */
    if ((x == BW_CW_SUBSET && y == BW_CW_SUPERSET) || (x == BW_CW_SUPERSET && y == BW_CW_SUBSET))
        return BW_CW_EQUAL;
    return x == BW_CW_INTERSECT ? y : x;
}

static int pair_cmp(int s1, int t1, int s2, int t2)
{
    if (s1 != s2)
        return s1 < s2 ? -1 : 1;
    return (t1 > t2) - (t1 < t2);
}

static int compare_row(const void *a, const void *b)
{
    const bw_cw_row_t *x = a, *y = b;
    return pair_cmp(x->source, x->target, y->source, y->target);
}

static bw_cw_row_t direct_row(int source, int target, bw_cw_rel_t rel, const char *rationale,
                              const char *origin, const char *override_id)
{
    return (bw_cw_row_t){source, target, rel, rationale, origin, NULL, override_id, -1, NULL, 0};
}

/* Index of the row of pair (source, target) in sorted rows, or -1. */
static long find_pair(const bw_cw_row_t *rows, size_t n, int source, int target)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = pair_cmp(rows[mid].source, rows[mid].target, source, target);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The shipped direct rows of a -> b, gathered from the catalogue's maps: a
 * row read forwards wins over one of the same pair read backwards. */
static int shipped_direct(bw_arena_t *arena, const bw_cw_catalogue_t *cat, int a, int b,
                          bw_cw_rowset_t *out)
{
    size_t n = 0;
    bw_cw_row_t *rows = bw_arena_alloc(arena, (cat->n_maps + 1) * sizeof(*rows));
    unsigned char *forward = malloc(cat->n_maps + 1);
    if (rows == NULL || forward == NULL) {
        free(forward);
        return BW_ENOMEM;
    }
    for (size_t i = 0; i < cat->n_maps; i++) {
        const bw_cw_map_t *m = &cat->maps[i];
        int sf = cat->reqs[m->source].framework, tf = cat->reqs[m->target].framework;
        if (sf == a && tf == b) {
            forward[n] = 1;
            rows[n++] = direct_row(m->source, m->target, m->rel, m->rationale, m->origin, NULL);
        } else if (sf == b && tf == a) {
            forward[n] = 0;
            rows[n++] = direct_row(m->target, m->source, bw_cw_rel_invert(m->rel), m->rationale,
                                   m->origin, NULL);
        }
    }
    /* While sorting, n_via holds a row's rank (forwards first, then the
     * catalogue's order), so that the winner of a pair is the same whatever
     * order qsort leaves equal pairs in. */
    for (size_t i = 0; i < n; i++)
        rows[i].n_via = (size_t)!forward[i] + 2 * i;
    free(forward);
    qsort(rows, n, sizeof(*rows), compare_row);
    size_t kept = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, best = i;
        for (; j < n && rows[j].source == rows[i].source && rows[j].target == rows[i].target; j++)
            if (rows[j].n_via < rows[best].n_via)
                best = j;
        rows[kept] = rows[best];
        rows[kept++].n_via = 0;
        i = j;
    }
    out->rows = rows;
    out->n = kept;
    return 0;
}

/* A tenant's row for a pair the shipped rows lack, with its place among the
 * overrides: of two for one pair (both directions stored), the later wins. */
typedef struct added_row {
    bw_cw_row_t row;
    size_t order;
} added_row_t;

static int compare_added(const void *a, const void *b)
{
    const added_row_t *x = a, *y = b;
    int c = compare_row(&x->row, &y->row);
    return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

int bw_cw_direct(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                 size_t n_ov, int a, int b, bw_cw_rowset_t *out)
{
    bw_cw_rowset_t base;
    int rc;
    if (cat->direct != NULL)
        base = cat->direct[(size_t)a * cat->n_frameworks + (size_t)b];
    else if ((rc = shipped_direct(arena, cat, a, b, &base)) != 0)
        return rc;
    size_t relevant = 0;
    for (size_t i = 0; i < n_ov; i++) {
        int sf = cat->reqs[ov[i].source].framework, tf = cat->reqs[ov[i].target].framework;
        relevant += (sf == a && tf == b) || (sf == b && tf == a);
    }
    if (relevant == 0) {
        *out = base;
        return 0;
    }
    /* A copy of the shipped rows with the tenant's in place, and the
     * tenant's new pairs merged in. */
    bw_cw_row_t *rows = bw_arena_alloc(arena, (base.n + relevant + 1) * sizeof(*rows));
    added_row_t *added = bw_arena_alloc(arena, (relevant + 1) * sizeof(*added));
    if (rows == NULL || added == NULL)
        return BW_ENOMEM;
    memcpy(rows, base.rows, base.n * sizeof(*rows));
    size_t n_added = 0;
    for (size_t i = 0; i < n_ov; i++) {
        const bw_cw_override_t *o = &ov[i];
        int sf = cat->reqs[o->source].framework, tf = cat->reqs[o->target].framework;
        bw_cw_row_t row;
        if (sf == a && tf == b)
            row = direct_row(o->source, o->target, o->rel, o->rationale, TENANT_ORIGIN, o->id);
        else if (sf == b && tf == a)
            row = direct_row(o->target, o->source, bw_cw_rel_invert(o->rel), o->rationale,
                             TENANT_ORIGIN, o->id);
        else
            continue;
        long at = find_pair(rows, base.n, row.source, row.target);
        if (at >= 0) {
            rows[at] = row;
            continue;
        }
        added[n_added] = (added_row_t){row, i};
        n_added++;
    }
    /* Sorted once, the last of each pair kept (a scan of those added so
     * far, per override, cost overrides squared: a tenant keeps any number). */
    qsort(added, n_added, sizeof(*added), compare_added);
    size_t kept = 0;
    for (size_t i = 0; i < n_added; i++) {
        if (i + 1 < n_added && compare_row(&added[i].row, &added[i + 1].row) == 0)
            continue;
        added[kept++] = added[i];
    }
    n_added = kept;
    if (n_added > 0) {
        /* Merge from the back, in place. */
        size_t i = base.n, k = n_added, w = base.n + n_added;
        while (k > 0) {
            if (i > 0 && compare_row(&rows[i - 1], &added[k - 1].row) > 0)
                rows[--w] = rows[--i];
            else
                rows[--w] = added[--k].row;
        }
    }
    out->rows = rows;
    out->n = base.n + n_added;
    return 0;
}

/* First index of sorted rows whose source is >= source. */
static size_t lower_bound(const bw_cw_row_t *rows, size_t n, int source)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].source < source)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct path {
    int target, via;
    bw_cw_rel_t rel;
    const char *origin1, *origin2;
} path_t;

static int compare_path(const void *a, const void *b)
{
    const path_t *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return (x->via > y->via) - (x->via < y->via);
}

/* Growing heap arrays of scratch. */
static int reserve(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap == 0 ? 64 : *cap;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*items, ncap * size);
    if (grown == NULL)
        return BW_ENOMEM;
    *items = grown;
    *cap = ncap;
    return 0;
}

/* Derives the rows src -> tgt through framework m and appends those whose
 * pair has no direct row to *derived (heap). */
static int derive(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                  size_t n_ov, int src, int m, int tgt, const bw_cw_rowset_t *dir,
                  bw_cw_row_t **derived, size_t *n_derived, size_t *cap_derived)
{
    bw_cw_rowset_t d1, d2;
    int rc = bw_cw_direct(arena, cat, ov, n_ov, src, m, &d1);
    if (rc == 0)
        rc = bw_cw_direct(arena, cat, ov, n_ov, m, tgt, &d2);
    if (rc != 0)
        return rc;
    path_t *paths = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < d1.n && rc == 0;) {
        /* The rows of one source: collect its paths, sort, group. */
        int source = d1.rows[i].source;
        size_t n_paths = 0;
        for (; i < d1.n && d1.rows[i].source == source; i++) {
            const bw_cw_row_t *r1 = &d1.rows[i];
            for (size_t k = lower_bound(d2.rows, d2.n, r1->target);
                 k < d2.n && d2.rows[k].source == r1->target; k++) {
                bw_cw_rel_t rel = bw_cw_rel_compose(r1->rel, d2.rows[k].rel);
                if (rel == BW_CW_REL_NONE)
                    continue;
                if ((rc = reserve((void **)&paths, &cap, n_paths + 1, sizeof(*paths))) != 0)
                    break;
                paths[n_paths++] =
                    (path_t){d2.rows[k].target, r1->target, rel, r1->origin, d2.rows[k].origin};
            }
        }
        if (rc != 0 || n_paths == 0)
            continue;
        qsort(paths, n_paths, sizeof(*paths), compare_path);
        for (size_t p = 0; p < n_paths;) {
            size_t q = p;
            bw_cw_rel_t rel = BW_CW_REL_NONE;
            for (; q < n_paths && paths[q].target == paths[p].target; q++)
                rel = bw_cw_rel_combine(rel, paths[q].rel);
            if (find_pair(dir->rows, dir->n, source, paths[p].target) < 0) {
                int *via = bw_arena_alloc(arena, (q - p) * sizeof(*via));
                if (via == NULL || (rc = reserve((void **)derived, cap_derived, *n_derived + 1,
                                                 sizeof(**derived))) != 0) {
                    rc = BW_ENOMEM;
                    break;
                }
                size_t n_via = 0;
                for (size_t k = p; k < q; k++)
                    if (n_via == 0 || via[n_via - 1] != paths[k].via)
                        via[n_via++] = paths[k].via;
                (*derived)[(*n_derived)++] = (bw_cw_row_t){source,
                                                           paths[p].target,
                                                           rel,
                                                           NULL,
                                                           paths[p].origin1,
                                                           paths[p].origin2,
                                                           NULL,
                                                           m,
                                                           via,
                                                           n_via};
            }
            p = q;
        }
    }
    free(paths);
    return rc;
}

int bw_cw_compose(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                  size_t n_ov, int src, int tgt, bw_cw_rowset_t *out)
{
    bw_cw_rowset_t dir;
    bw_cw_row_t *derived = NULL;
    size_t n_derived = 0, cap = 0;
    int intermediates = 0;
    int rc = bw_cw_direct(arena, cat, ov, n_ov, src, tgt, &dir);
    if (rc != 0)
        return rc;
    for (size_t m = 0; m < cat->n_frameworks; m++) {
        if ((int)m == src || (int)m == tgt)
            continue;
        size_t before = n_derived;
        if ((rc = derive(arena, cat, ov, n_ov, src, (int)m, tgt, &dir, &derived, &n_derived,
                         &cap)) != 0)
            goto out;
        intermediates += n_derived > before;
    }
    if (intermediates > 1) {
        /* Several intermediates: the first (in display order) that links a
         * pair names it. A stable order by pair, then drop repeats. */
        qsort(derived, n_derived, sizeof(*derived), compare_row);
        size_t kept = 0;
        for (size_t i = 0; i < n_derived; i++) {
            if (kept > 0 && compare_row(&derived[kept - 1], &derived[i]) == 0) {
                if (derived[i].via_framework < derived[kept - 1].via_framework)
                    derived[kept - 1] = derived[i];
                continue;
            }
            derived[kept++] = derived[i];
        }
        n_derived = kept;
    }
    bw_cw_row_t *rows = bw_arena_alloc(arena, (dir.n + n_derived + 1) * sizeof(*rows));
    if (rows == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    size_t i = 0, k = 0, n = 0;
    while (i < dir.n || k < n_derived) {
        if (k == n_derived || (i < dir.n && compare_row(&dir.rows[i], &derived[k]) < 0))
            rows[n++] = dir.rows[i++];
        else
            rows[n++] = derived[k++];
    }
    out->rows = rows;
    out->n = n;
out:
    free(derived);
    return rc;
}

int bw_cw_mappings(bw_arena_t *arena, const bw_cw_catalogue_t *cat, const bw_cw_override_t *ov,
                   size_t n_ov, int src, int tgt, bw_cw_rowset_t *out)
{
    if (n_ov == 0 && cat->composed != NULL) {
        *out = cat->composed[(size_t)src * cat->n_frameworks + (size_t)tgt];
        return 0;
    }
    return bw_cw_compose(arena, cat, ov, n_ov, src, tgt, out);
}

const char *bw_cw_row_rationale(bw_arena_t *arena, const bw_cw_catalogue_t *cat,
                                const bw_cw_row_t *row)
{
    if (row->via_framework < 0)
        return row->rationale;
    char refs[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < row->n_via && i < RATIONALE_VIA_MAX; i++) {
        int w = snprintf(refs + used, sizeof(refs) - used, "%s%s", i > 0 ? ", " : "",
                         cat->reqs[row->via[i]].ref);
        if (w < 0 || (size_t)w >= sizeof(refs) - used)
            break;
        used += (size_t)w;
    }
    return bw_arena_printf(arena, "Derived through %zu requirement%s of %s (%s%s).", row->n_via,
                           row->n_via == 1 ? "" : "s", cat->frameworks[row->via_framework].id, refs,
                           row->n_via > RATIONALE_VIA_MAX ? ", ..." : "");
}

const char *bw_cw_row_origin(bw_arena_t *arena, const bw_cw_row_t *row)
{
    if (row->origin2 == NULL || strcmp(row->origin, row->origin2) == 0)
        return row->origin;
    return bw_arena_printf(arena, "%s; %s", row->origin, row->origin2);
}
