/*
 * The reference-data catalogue; see catalogue.h. Building it copies every
 * string onto the catalogue's own arena, sorts the requirements into
 * document order, resolves parents and mapping ends to indexes (so that a
 * contradiction in the data stops the service at start-up, not a request),
 * and composes the shipped mappings of every framework pair once.
 */
#include "catalogue.h"

#include "compose.h"
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rel_names[] = {"",         "EQUAL",     "SUBSET",
                                        "SUPERSET", "INTERSECT", "NOT_RELATED"};

const char *bw_cw_rel_name(bw_cw_rel_t rel)
{
    return (unsigned)rel < sizeof(rel_names) / sizeof(rel_names[0]) ? rel_names[rel] : "";
}

bw_cw_rel_t bw_cw_rel_parse(const char *s)
{
    for (size_t i = 1; i < sizeof(rel_names) / sizeof(rel_names[0]); i++)
        if (strcmp(s, rel_names[i]) == 0)
            return (bw_cw_rel_t)i;
    return BW_CW_REL_NONE;
}

static const bw_db_stmt_t stmt_sources = {
    "catalogue_sources",
    "SELECT source_id, title, publisher, version, locator, licence FROM crosswalk.sources"};
static const bw_db_stmt_t stmt_frameworks = {
    "catalogue_frameworks", "SELECT framework_id, position::text, title, version, source_id, "
                            "COALESCE(note, '') FROM crosswalk.frameworks"};
static const bw_db_stmt_t stmt_requirements = {
    "catalogue_requirements",
    "SELECT framework_id, ref, position::text, COALESCE(parent_ref, ''), kind, title, "
    "COALESCE(theme, ''), assessable::text, iso_coverable::text, COALESCE(obligation, ''), "
    "source_id FROM crosswalk.requirements"};
static const bw_db_stmt_t stmt_mappings = {
    "catalogue_mappings", "SELECT source_framework, source_ref, target_framework, target_ref, "
                          "relationship, rationale, source_id FROM crosswalk.mappings"};

const bw_db_stmt_t *const bw_cw_catalogue_stmts[] = {&stmt_sources, &stmt_frameworks,
                                                     &stmt_requirements, &stmt_mappings};
const size_t bw_cw_catalogue_n_stmts =
    sizeof(bw_cw_catalogue_stmts) / sizeof(bw_cw_catalogue_stmts[0]);

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return BW_EINVAL;
}

static int parse_bool(const char *s, int *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "t") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "f") == 0) {
        *out = 0;
        return 0;
    }
    return BW_EINVAL;
}

static int parse_position(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || v < 0 || v > 1000000)
        return BW_EINVAL;
    *out = v;
    return 0;
}

static const char *const *cell_row(const bw_cw_table_t *t, size_t row, size_t n_cols)
{
    return t->cells + row * n_cols;
}

/* A requirement row while sorting: its framework's rank and its position. */
typedef struct req_sort {
    long framework_rank;
    long position;
    size_t row;
} req_sort_t;

static int compare_req_sort(const void *a, const void *b)
{
    const req_sort_t *x = a, *y = b;
    if (x->framework_rank != y->framework_rank)
        return x->framework_rank < y->framework_rank ? -1 : 1;
    return (x->position > y->position) - (x->position < y->position);
}

/* A requirement while sorting the by-ref index. */
typedef struct ref_sort {
    int framework;
    const char *ref;
    int index;
} ref_sort_t;

static int compare_ref_sort(const void *a, const void *b)
{
    const ref_sort_t *x = a, *y = b;
    if (x->framework != y->framework)
        return x->framework < y->framework ? -1 : 1;
    return strcmp(x->ref, y->ref);
}

int bw_cw_framework_find(const bw_cw_catalogue_t *cat, const char *id)
{
    for (size_t i = 0; i < cat->n_frameworks; i++)
        if (strcmp(cat->frameworks[i].id, id) == 0)
            return (int)i;
    return -1;
}

int bw_cw_req_find(const bw_cw_catalogue_t *cat, int fw, const char *ref)
{
    size_t lo = 0, hi = cat->n_reqs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bw_cw_req_t *r = &cat->reqs[cat->by_ref[mid]];
        int c = r->framework != fw ? (r->framework < fw ? -1 : 1) : strcmp(r->ref, ref);
        if (c == 0)
            return cat->by_ref[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const bw_cw_source_t *bw_cw_source_find(const bw_cw_catalogue_t *cat, const char *id)
{
    for (size_t i = 0; i < cat->n_sources; i++)
        if (strcmp(cat->sources[i].id, id) == 0)
            return &cat->sources[i];
    return NULL;
}

static int copy_strings(bw_arena_t *arena, const char *const *row, const char **dst[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (dst[i] == NULL)
            continue;
        *dst[i] = bw_arena_strdup(arena, row[i]);
        if (*dst[i] == NULL)
            return BW_ENOMEM;
    }
    return 0;
}

static int build_sources(bw_cw_catalogue_t *cat, const bw_cw_table_t *t, char *err, size_t errlen)
{
    cat->sources = bw_arena_calloc(cat->arena, t->n_rows + 1, sizeof(*cat->sources));
    if (cat->sources == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *const *row = cell_row(t, i, BW_CW_SOURCES_COLS);
        bw_cw_source_t *s = &cat->sources[i];
        if (bw_cw_source_find(cat, row[0]) != NULL)
            return bad(err, errlen, "source %s is listed twice", row[0]);
        const char **dst[] = {&s->id,      &s->title,   &s->publisher,
                              &s->version, &s->locator, &s->licence};
        if (copy_strings(cat->arena, row, dst, BW_CW_SOURCES_COLS) != 0)
            return BW_ENOMEM;
        cat->n_sources++;
    }
    return 0;
}

static int build_frameworks(bw_cw_catalogue_t *cat, const bw_cw_table_t *t, long *positions,
                            char *err, size_t errlen)
{
    cat->frameworks = bw_arena_calloc(cat->arena, t->n_rows + 1, sizeof(*cat->frameworks));
    if (cat->frameworks == NULL)
        return BW_ENOMEM;
    /* Insertion by position keeps frameworks[] in their display order. */
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *const *row = cell_row(t, i, BW_CW_FRAMEWORKS_COLS);
        long pos;
        if (parse_position(row[1], &pos) != 0)
            return bad(err, errlen, "framework %s has position \"%s\"", row[0], row[1]);
        if (bw_cw_framework_find(cat, row[0]) >= 0)
            return bad(err, errlen, "framework %s is listed twice", row[0]);
        if (bw_cw_source_find(cat, row[4]) == NULL)
            return bad(err, errlen, "framework %s names unknown source %s", row[0], row[4]);
        size_t at = cat->n_frameworks;
        while (at > 0 && positions[at - 1] > pos) {
            cat->frameworks[at] = cat->frameworks[at - 1];
            positions[at] = positions[at - 1];
            at--;
        }
        bw_cw_framework_t *f = &cat->frameworks[at];
        memset(f, 0, sizeof(*f));
        positions[at] = pos;
        const char **dst[] = {&f->id, NULL, &f->title, &f->version, &f->source, &f->note};
        if (copy_strings(cat->arena, row, dst, BW_CW_FRAMEWORKS_COLS) != 0)
            return BW_ENOMEM;
        cat->n_frameworks++;
    }
    return 0;
}

static int build_requirements(bw_cw_catalogue_t *cat, const bw_cw_table_t *t, char *err,
                              size_t errlen)
{
    size_t n = t->n_rows;
    int rc = 0;
    ref_sort_t *refs = NULL;
    req_sort_t *order = calloc(n + 1, sizeof(*order));
    cat->reqs = bw_arena_calloc(cat->arena, n + 1, sizeof(*cat->reqs));
    cat->by_ref = bw_arena_calloc(cat->arena, n + 1, sizeof(*cat->by_ref));
    if (order == NULL || cat->reqs == NULL || cat->by_ref == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *const *row = cell_row(t, i, BW_CW_REQUIREMENTS_COLS);
        int fw = bw_cw_framework_find(cat, row[0]);
        if (fw < 0) {
            rc = bad(err, errlen, "requirement %s names unknown framework %s", row[1], row[0]);
            goto out;
        }
        if (parse_position(row[2], &order[i].position) != 0) {
            rc = bad(err, errlen, "requirement %s %s has position \"%s\"", row[0], row[1], row[2]);
            goto out;
        }
        order[i].framework_rank = fw;
        order[i].row = i;
    }
    qsort(order, n, sizeof(*order), compare_req_sort);
    for (size_t i = 0; i < n; i++) {
        const char *const *row = cell_row(t, order[i].row, BW_CW_REQUIREMENTS_COLS);
        bw_cw_req_t *r = &cat->reqs[i];
        r->framework = (int)order[i].framework_rank;
        r->parent = -1;
        if (i > 0 && order[i - 1].framework_rank == order[i].framework_rank &&
            order[i - 1].position == order[i].position) {
            rc = bad(err, errlen, "two requirements of %s share position %ld", row[0],
                     order[i].position);
            goto out;
        }
        if (parse_bool(row[7], &r->assessable) != 0 || parse_bool(row[8], &r->iso_coverable) != 0) {
            rc = bad(err, errlen, "requirement %s %s has a flag that is not a boolean", row[0],
                     row[1]);
            goto out;
        }
        if (bw_cw_source_find(cat, row[10]) == NULL) {
            rc = bad(err, errlen, "requirement %s %s names unknown source %s", row[0], row[1],
                     row[10]);
            goto out;
        }
        const char **dst[] = {NULL,      &r->ref, NULL, &r->parent_ref, &r->kind,  &r->title,
                              &r->theme, NULL,    NULL, &r->obligation, &r->source};
        if ((rc = copy_strings(cat->arena, row, dst, BW_CW_REQUIREMENTS_COLS)) != 0)
            goto out;
        bw_cw_framework_t *f = &cat->frameworks[r->framework];
        if (f->count == 0)
            f->first = i;
        f->count++;
        f->assessable += r->assessable;
    }
    cat->n_reqs = n;
    refs = calloc(n + 1, sizeof(*refs));
    if (refs == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        refs[i] = (ref_sort_t){cat->reqs[i].framework, cat->reqs[i].ref, (int)i};
    qsort(refs, n, sizeof(*refs), compare_ref_sort);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && compare_ref_sort(&refs[i - 1], &refs[i]) == 0) {
            rc = bad(err, errlen, "requirement %s %s is listed twice",
                     cat->frameworks[refs[i].framework].id, refs[i].ref);
            goto out;
        }
        cat->by_ref[i] = refs[i].index;
    }
    for (size_t i = 0; i < n; i++) {
        bw_cw_req_t *r = &cat->reqs[i];
        if (r->parent_ref[0] == '\0')
            continue;
        r->parent = bw_cw_req_find(cat, r->framework, r->parent_ref);
        if (r->parent < 0) {
            rc = bad(err, errlen, "requirement %s %s names unknown parent %s",
                     cat->frameworks[r->framework].id, r->ref, r->parent_ref);
            goto out;
        }
    }
out:
    free(refs);
    free(order);
    return rc;
}

static int build_mappings(bw_cw_catalogue_t *cat, const bw_cw_table_t *t, char *err, size_t errlen)
{
    cat->maps = bw_arena_calloc(cat->arena, t->n_rows + 1, sizeof(*cat->maps));
    if (cat->maps == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *const *row = cell_row(t, i, BW_CW_MAPPINGS_COLS);
        bw_cw_map_t *m = &cat->maps[i];
        int sfw = bw_cw_framework_find(cat, row[0]), tfw = bw_cw_framework_find(cat, row[2]);
        m->source = sfw < 0 ? -1 : bw_cw_req_find(cat, sfw, row[1]);
        m->target = tfw < 0 ? -1 : bw_cw_req_find(cat, tfw, row[3]);
        if (m->source < 0 || m->target < 0 || sfw == tfw)
            return bad(err, errlen, "mapping %s %s -> %s %s names an unknown requirement", row[0],
                       row[1], row[2], row[3]);
        m->rel = bw_cw_rel_parse(row[4]);
        if (m->rel == BW_CW_REL_NONE)
            return bad(err, errlen, "mapping %s %s -> %s %s has relationship \"%s\"", row[0],
                       row[1], row[2], row[3], row[4]);
        const bw_cw_source_t *src = bw_cw_source_find(cat, row[6]);
        if (src == NULL)
            return bad(err, errlen, "mapping %s %s -> %s %s names unknown source %s", row[0],
                       row[1], row[2], row[3], row[6]);
        m->origin = src->title;
        m->rationale = bw_arena_strdup(cat->arena, row[5]);
        if (m->rationale == NULL)
            return BW_ENOMEM;
        cat->n_maps++;
    }
    return 0;
}

int bw_cw_catalogue_build(const bw_cw_table_t *sources, const bw_cw_table_t *frameworks,
                          const bw_cw_table_t *requirements, const bw_cw_table_t *mappings,
                          bw_cw_catalogue_t **out, char *err, size_t errlen)
{
    int rc = 0;
    long *positions = NULL;
    bw_cw_catalogue_t *cat = calloc(1, sizeof(*cat));
    if (cat == NULL || (cat->arena = bw_arena_create(64 * 1024)) == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    positions = calloc(frameworks->n_rows + 1, sizeof(*positions));
    if (positions == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    if ((rc = build_sources(cat, sources, err, errlen)) != 0 ||
        (rc = build_frameworks(cat, frameworks, positions, err, errlen)) != 0 ||
        (rc = build_requirements(cat, requirements, err, errlen)) != 0 ||
        (rc = build_mappings(cat, mappings, err, errlen)) != 0)
        goto out;
    cat->iso = bw_cw_framework_find(cat, BW_CW_ISO);
    cat->nis2 = bw_cw_framework_find(cat, BW_CW_NIS2);

    /* The direct rows first: composing reads them from the cache. */
    size_t nf = cat->n_frameworks;
    bw_cw_rowset_t *direct = bw_arena_calloc(cat->arena, nf * nf + 1, sizeof(*direct));
    bw_cw_rowset_t *composed = bw_arena_calloc(cat->arena, nf * nf + 1, sizeof(*composed));
    if (direct == NULL || composed == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    for (size_t s = 0; s < nf; s++)
        for (size_t t = 0; t < nf; t++)
            if (s != t && (rc = bw_cw_direct(cat->arena, cat, NULL, 0, (int)s, (int)t,
                                             &direct[s * nf + t])) != 0)
                goto out;
    cat->direct = direct;
    for (size_t s = 0; s < nf; s++)
        for (size_t t = 0; t < nf; t++)
            if (s != t && (rc = bw_cw_compose(cat->arena, cat, NULL, 0, (int)s, (int)t,
                                              &composed[s * nf + t])) != 0)
                goto out;
    cat->composed = composed;
out:
    free(positions);
    if (rc == BW_ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc != 0) {
        bw_cw_catalogue_free(cat);
        return rc;
    }
    *out = cat;
    return 0;
}

/* The cells of a result, pointing into it (it must outlive the table). */
static int result_table(bw_arena_t *arena, const PGresult *res, size_t n_cols, bw_cw_table_t *t)
{
    size_t n = (size_t)PQntuples(res);
    if ((size_t)PQnfields(res) != n_cols)
        return BW_EINTERNAL;
    const char **cells = bw_arena_calloc(arena, n * n_cols + 1, sizeof(*cells));
    if (cells == NULL)
        return BW_ENOMEM;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n_cols; c++)
            cells[r * n_cols + c] = PQgetvalue(res, (int)r, (int)c);
    t->cells = cells;
    t->n_rows = n;
    return 0;
}

int bw_cw_catalogue_load(bw_db_t *db, bw_cw_catalogue_t **out, char *err, size_t errlen)
{
    static const size_t cols[] = {BW_CW_SOURCES_COLS, BW_CW_FRAMEWORKS_COLS,
                                  BW_CW_REQUIREMENTS_COLS, BW_CW_MAPPINGS_COLS};
    bw_cw_table_t tables[4];
    int rc = 0;
    bw_arena_t *arena = bw_arena_create(16 * 1024);
    if (arena == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < 4; i++) {
        PGresult *res;
        rc = bw_db_exec1(db, arena, NULL, bw_cw_catalogue_stmts[i], 0, NULL, &res);
        if (rc != 0) {
            snprintf(err, errlen, "could not read the reference data: %s", bw_strerror(rc));
            goto out;
        }
        if ((rc = result_table(arena, res, cols[i], &tables[i])) != 0) {
            snprintf(err, errlen, "could not read the reference data: %s", bw_strerror(rc));
            goto out;
        }
    }
    if (tables[1].n_rows == 0) {
        snprintf(err, errlen, "the crosswalk schema holds no frameworks: run the migrations");
        rc = BW_EINVAL;
        goto out;
    }
    rc = bw_cw_catalogue_build(&tables[0], &tables[1], &tables[2], &tables[3], out, err, errlen);
out:
    bw_arena_destroy(arena);
    return rc;
}

void bw_cw_catalogue_free(bw_cw_catalogue_t *cat)
{
    if (cat == NULL)
        return;
    bw_arena_destroy(cat->arena);
    free(cat);
}
