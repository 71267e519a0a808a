/*
 * Mapping composition and the gap-analysis roll-up on a small hand-made
 * catalogue, where every expected answer can be checked by eye:
 *
 *   ISO controls A.1 .. A.4, clause 6.1.2
 *   IR requirements 1.1, 1.2 (section 1 -> Art 21(2)(a)), 2.1 and the
 *     unmapped 9.9 (-> Art 21(2)(b))
 *   NIS2 points 21.2.a, 21.2.b and the duty 23.4.a no ISO control covers
 *
 *   A.1 -> 1.1, A.2 -> 1.1, A.2 -> 1.2, A.3 -> 2.1 (ENISA-style INTERSECT),
 *   6.1.2 -> 1.2 INTERSECT, A.4 -> 23.4.a INTERSECT (a supporting control).
 */
#include <check.h>
#include <string.h>

#include "catalogue.h"
#include "compose.h"
#include "rollup.h"
#include "status.h"
#include "suites.h"

static const char *const sources[] = {
    "src", "Test source", "Tester", "1", "here", "none",
};
static const char *const frameworks[] = {
    "iso27001-2022",     "1", "ISO", "2022", "src", "", "nis2", "2", "NIS2", "2022", "src", "",
    "nis2-ir-2024-2690", "3", "IR",  "2024", "src", "",
};
#define REQ(fw, ref, pos, parent, kind, assessable, coverable, obligation)                         \
    fw, ref, pos, parent, kind, "Title of " ref, "", assessable, coverable, obligation, "src"
static const char *const requirements[] = {
    /* Listed out of order on purpose: the catalogue sorts by position. */
    REQ("iso27001-2022", "A.2", "4", "A", "annex_a_control", "true", "true", ""),
    REQ("iso27001-2022", "A", "2", "", "theme", "false", "true", ""),
    REQ("iso27001-2022", "A.1", "3", "A", "annex_a_control", "true", "true", ""),
    REQ("iso27001-2022", "A.3", "5", "A", "annex_a_control", "true", "true", ""),
    REQ("iso27001-2022", "A.4", "6", "A", "annex_a_control", "true", "true", ""),
    REQ("iso27001-2022", "6.1.2", "1", "", "clause", "true", "true", ""),
    REQ("nis2", "21.2", "1", "", "paragraph", "false", "true", ""),
    REQ("nis2", "21.2.a", "2", "21.2", "point", "true", "true", ""),
    REQ("nis2", "21.2.b", "3", "21.2", "point", "true", "true", ""),
    REQ("nis2", "23.4.a", "4", "", "duty", "true", "false", "Send the early warning."),
    REQ("nis2-ir-2024-2690", "1", "1", "", "section", "false", "true", ""),
    REQ("nis2-ir-2024-2690", "1.1", "2", "1", "requirement", "true", "true", ""),
    REQ("nis2-ir-2024-2690", "1.2", "3", "1", "requirement", "true", "true", ""),
    REQ("nis2-ir-2024-2690", "2", "4", "", "section", "false", "true", ""),
    REQ("nis2-ir-2024-2690", "2.1", "5", "2", "requirement", "true", "true", ""),
    REQ("nis2-ir-2024-2690", "9.9", "6", "2", "requirement", "true", "true", ""),
};
#define MAP(sfw, sref, tfw, tref, rel) sfw, sref, tfw, tref, rel, "because", "src"
static const char *const mappings[] = {
    MAP("iso27001-2022", "A.1", "nis2-ir-2024-2690", "1.1", "INTERSECT"),
    MAP("iso27001-2022", "A.2", "nis2-ir-2024-2690", "1.1", "INTERSECT"),
    MAP("iso27001-2022", "A.2", "nis2-ir-2024-2690", "1.2", "INTERSECT"),
    MAP("iso27001-2022", "6.1.2", "nis2-ir-2024-2690", "1.2", "INTERSECT"),
    MAP("iso27001-2022", "A.3", "nis2-ir-2024-2690", "2.1", "INTERSECT"),
    MAP("iso27001-2022", "A.4", "nis2", "23.4.a", "INTERSECT"),
    MAP("nis2-ir-2024-2690", "1.1", "nis2", "21.2.a", "SUBSET"),
    MAP("nis2-ir-2024-2690", "1.2", "nis2", "21.2.a", "SUBSET"),
    MAP("nis2-ir-2024-2690", "2.1", "nis2", "21.2.b", "SUBSET"),
    MAP("nis2-ir-2024-2690", "9.9", "nis2", "21.2.b", "SUBSET"),
};

#define ROWS(a, cols) (sizeof(a) / sizeof(a[0]) / (cols))

static bw_cw_catalogue_t *cat;
static bw_arena_t *arena;
static int iso, nis2, ir;
static bw_cw_soa_state_t soa[32];
static bw_cw_override_t ov[4];
static size_t n_ov;
static unsigned char *applies; /* NULL: everything applies */

static void setup(void)
{
    bw_cw_table_t s = {sources, ROWS(sources, BW_CW_SOURCES_COLS)};
    bw_cw_table_t f = {frameworks, ROWS(frameworks, BW_CW_FRAMEWORKS_COLS)};
    bw_cw_table_t r = {requirements, ROWS(requirements, BW_CW_REQUIREMENTS_COLS)};
    bw_cw_table_t m = {mappings, ROWS(mappings, BW_CW_MAPPINGS_COLS)};
    char err[256] = "";
    int rc = bw_cw_catalogue_build(&s, &f, &r, &m, &cat, err, sizeof(err));
    ck_assert_msg(rc == 0, "build failed: %s", err);
    arena = bw_arena_create(4096);
    iso = bw_cw_framework_find(cat, "iso27001-2022");
    nis2 = bw_cw_framework_find(cat, "nis2");
    ir = bw_cw_framework_find(cat, "nis2-ir-2024-2690");
    memset(soa, 0, sizeof(soa));
    n_ov = 0;
    applies = NULL;
}

static void teardown(void)
{
    bw_arena_destroy(arena);
    bw_cw_catalogue_free(cat);
}

static int req(int fw, const char *ref)
{
    int i = bw_cw_req_find(cat, fw, ref);
    ck_assert_msg(i >= 0, "no requirement %s", ref);
    return i;
}

static void record(const char *ref, int applicable, int status)
{
    int i = req(iso, ref);
    soa[i] = (bw_cw_soa_state_t){1, (unsigned char)applicable, (unsigned char)status};
}

static void override(const char *sref, int tfw, const char *tref, bw_cw_rel_t rel)
{
    ov[n_ov++] = (bw_cw_override_t){req(iso, sref), req(tfw, tref), rel, "auditor says so", "ov"};
}

static void analyse(int fw, bw_cw_gap_t *gap)
{
    bw_cw_rowset_t rows, points;
    ck_assert_int_eq(bw_cw_mappings(arena, cat, ov, n_ov, iso, fw, &rows), 0);
    if (fw != nis2)
        ck_assert_int_eq(bw_cw_direct(arena, cat, ov, n_ov, fw, nis2, &points), 0);
    ck_assert_int_eq(
        bw_cw_rollup(arena, cat, fw, &rows, fw != nis2 ? &points : NULL, soa, applies, gap), 0);
}

static const bw_cw_req_cov_t *find(const bw_cw_gap_t *gap, const char *ref)
{
    for (size_t i = 0; i < gap->n_reqs; i++)
        if (strcmp(cat->reqs[gap->reqs[i].req].ref, ref) == 0)
            return &gap->reqs[i];
    ck_abort_msg("requirement %s not rated", ref);
    return NULL;
}

/* The refs of a list, joined by blanks. */
static const char *list(const int *idx, size_t n)
{
    static char buf[256];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? " " : "",
                                 cat->reqs[idx[i]].ref);
    return buf;
}

START_TEST(relationship_algebra)
{
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_EQUAL, BW_CW_SUBSET), BW_CW_SUBSET);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_SUPERSET, BW_CW_EQUAL), BW_CW_SUPERSET);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_SUBSET, BW_CW_SUBSET), BW_CW_SUBSET);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_SUPERSET, BW_CW_SUPERSET), BW_CW_SUPERSET);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_INTERSECT, BW_CW_SUBSET), BW_CW_INTERSECT);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_SUBSET, BW_CW_SUPERSET), BW_CW_INTERSECT);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_NOT_RELATED, BW_CW_EQUAL), BW_CW_REL_NONE);
    ck_assert_int_eq(bw_cw_rel_compose(BW_CW_EQUAL, BW_CW_NOT_RELATED), BW_CW_REL_NONE);
    ck_assert_int_eq(bw_cw_rel_invert(BW_CW_SUBSET), BW_CW_SUPERSET);
    ck_assert_int_eq(bw_cw_rel_invert(BW_CW_INTERSECT), BW_CW_INTERSECT);
    ck_assert_int_eq(bw_cw_rel_combine(BW_CW_INTERSECT, BW_CW_SUBSET), BW_CW_SUBSET);
    ck_assert_int_eq(bw_cw_rel_combine(BW_CW_SUBSET, BW_CW_SUPERSET), BW_CW_EQUAL);
    ck_assert_int_eq(bw_cw_rel_combine(BW_CW_REL_NONE, BW_CW_INTERSECT), BW_CW_INTERSECT);
    ck_assert_str_eq(bw_cw_rel_name(BW_CW_NOT_RELATED), "NOT_RELATED");
    ck_assert_int_eq(bw_cw_rel_parse("SUPERSET"), BW_CW_SUPERSET);
    ck_assert_int_eq(bw_cw_rel_parse("superset"), BW_CW_REL_NONE);
}
END_TEST

START_TEST(catalogue_is_in_document_order)
{
    ck_assert_uint_eq(cat->n_frameworks, 3);
    ck_assert_uint_eq(cat->frameworks[iso].count, 6);
    ck_assert_int_eq(cat->frameworks[iso].assessable, 5);
    const bw_cw_req_t *first = &cat->reqs[cat->frameworks[iso].first];
    ck_assert_str_eq(first->ref, "6.1.2");
    ck_assert_int_lt(req(iso, "A.1"), req(iso, "A.2"));
    ck_assert_int_eq(cat->reqs[req(iso, "A.2")].parent, req(iso, "A"));
    ck_assert_int_eq(bw_cw_req_find(cat, iso, "A.9"), -1);
    ck_assert_int_eq(bw_cw_req_find(cat, nis2, "A.1"), -1);
}
END_TEST

START_TEST(contradictory_data_is_refused)
{
    static const char *const bad_map[] = {MAP("iso27001-2022", "A.7", "nis2", "21.2.a", "EQUAL")};
    static const char *const bad_rel[] = {MAP("iso27001-2022", "A.1", "nis2", "21.2.a", "SAME")};
    static const char *const orphan[] = {
        REQ("nis2", "21.2.z", "9", "21.9", "point", "true", "true", "")};
    bw_cw_table_t s = {sources, 1}, f = {frameworks, 3};
    bw_cw_table_t r = {requirements, ROWS(requirements, BW_CW_REQUIREMENTS_COLS)};
    bw_cw_table_t m1 = {bad_map, 1}, m2 = {bad_rel, 1}, none = {NULL, 0}, r2 = {orphan, 1};
    bw_cw_catalogue_t *c = NULL;
    char err[256];
    ck_assert_int_eq(bw_cw_catalogue_build(&s, &f, &r, &m1, &c, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "A.7"));
    ck_assert_int_eq(bw_cw_catalogue_build(&s, &f, &r, &m2, &c, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "SAME"));
    ck_assert_int_eq(bw_cw_catalogue_build(&s, &f, &r2, &none, &c, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "parent"));
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(composition_through_the_regulation)
{
    bw_cw_rowset_t rows;
    ck_assert_int_eq(bw_cw_mappings(arena, cat, NULL, 0, iso, nis2, &rows), 0);
    /* 6.1.2 -> 21.2.a, A.1 -> 21.2.a, A.2 -> 21.2.a, A.3 -> 21.2.b derived; A.4 direct. */
    ck_assert_uint_eq(rows.n, 5);
    const bw_cw_row_t *r = &rows.rows[0];
    ck_assert_str_eq(cat->reqs[r->source].ref, "6.1.2");
    r = &rows.rows[2];
    ck_assert_str_eq(cat->reqs[r->source].ref, "A.2");
    ck_assert_str_eq(cat->reqs[r->target].ref, "21.2.a");
    ck_assert_int_eq(r->via_framework, ir);
    ck_assert_int_eq(r->rel, BW_CW_INTERSECT);
    ck_assert_str_eq(list(r->via, r->n_via), "1.1 1.2");
    ck_assert_ptr_null(r->rationale);
    ck_assert_ptr_nonnull(strstr(bw_cw_row_rationale(arena, cat, r),
                                 "2 requirements of nis2-ir-2024-2690 (1.1, 1.2)"));
    ck_assert_str_eq(bw_cw_row_origin(arena, r), "Test source");
    r = &rows.rows[4];
    ck_assert_str_eq(cat->reqs[r->source].ref, "A.4");
    ck_assert_int_eq(r->via_framework, -1);
    ck_assert_str_eq(r->origin, "Test source");

    /* Backwards: NIS2 -> ISO reads the same rows inverted. */
    ck_assert_int_eq(bw_cw_mappings(arena, cat, NULL, 0, nis2, ir, &rows), 0);
    ck_assert_uint_eq(rows.n, 4);
    ck_assert_int_eq(rows.rows[0].rel, BW_CW_SUPERSET);
    ck_assert_str_eq(cat->reqs[rows.rows[0].source].ref, "21.2.a");
    ck_assert_str_eq(cat->reqs[rows.rows[0].target].ref, "1.1");
    ck_assert_int_eq(bw_cw_mappings(arena, cat, NULL, 0, nis2, iso, &rows), 0);
    ck_assert_uint_eq(rows.n, 5);
}
END_TEST

START_TEST(empty_soa_is_all_gaps)
{
    bw_cw_gap_t gap;
    analyse(nis2, &gap);
    ck_assert_uint_eq(gap.n_reqs, 3);
    const bw_cw_req_cov_t *a = find(&gap, "21.2.a");
    ck_assert_int_eq(a->coverage, BW_CW_GAP);
    ck_assert_str_eq(list(a->missing, a->n_missing), "6.1.2 A.1 A.2");
    ck_assert_uint_eq(a->n_contributing, 0);
    ck_assert_str_eq(list(a->points, a->n_points), "21.2.a");
    const bw_cw_req_cov_t *w = find(&gap, "23.4.a");
    ck_assert_int_eq(w->coverage, BW_CW_NOT_COVERABLE);
    ck_assert_str_eq(list(w->missing, w->n_missing), "A.4");
    ck_assert_int_eq(gap.totals.requirements, 3);
    ck_assert_int_eq(gap.totals.gap, 2);
    ck_assert_int_eq(gap.totals.not_coverable, 1);
    ck_assert_uint_eq(gap.n_points, 2);
    ck_assert_int_eq(gap.points[0].coverage, BW_CW_GAP);

    analyse(ir, &gap);
    ck_assert_uint_eq(gap.n_reqs, 4);
    ck_assert_int_eq(gap.totals.gap, 4);
    const bw_cw_req_cov_t *u = find(&gap, "9.9");
    ck_assert_int_eq(u->mapped, 0);
    ck_assert_str_eq(list(u->points, u->n_points), "21.2.b");
    ck_assert_int_eq(find(&gap, "1.1")->mapped, 1);
}
END_TEST

START_TEST(complete_soa_of_intersect_rows_is_partial_nist_olir)
{
    /* NIST OLIR: a control that only intersects a requirement does part of
     * it at most; however many are implemented, they do not show the
     * requirement met (mapped, evidence needed). This replaced an assertion
     * that every implemented INTERSECT control made the requirement
     * COVERED. */
    const char *all[] = {"6.1.2", "A.1", "A.2", "A.3", "A.4"};
    for (size_t i = 0; i < 5; i++)
        record(all[i], 1, BW_CW_STATUS_IMPLEMENTED);
    bw_cw_gap_t gap;
    analyse(nis2, &gap);
    ck_assert_int_eq(gap.totals.covered, 0);
    ck_assert_int_eq(gap.totals.partial, 2);
    ck_assert_int_eq(gap.totals.not_coverable, 1);
    ck_assert_int_eq(gap.totals.gap, 0);
    const bw_cw_req_cov_t *w = find(&gap, "23.4.a");
    ck_assert_int_eq(w->coverage, BW_CW_NOT_COVERABLE);
    ck_assert_str_eq(list(w->contributing, w->n_contributing), "A.4");
    const bw_cw_req_cov_t *a = find(&gap, "21.2.a");
    ck_assert_int_eq(a->coverage, BW_CW_PARTIAL);
    ck_assert(a->all_implemented);
    ck_assert_int_eq(a->covered_by, -1);
    ck_assert_str_eq(list(a->contributing, a->n_contributing), "6.1.2 A.1 A.2");
    ck_assert_uint_eq(a->n_missing, 0);
    ck_assert_int_eq(gap.points[0].coverage, BW_CW_PARTIAL);

    /* The Regulation's 9.9 has no ISO mapping: it stays a gap. */
    analyse(ir, &gap);
    ck_assert_int_eq(gap.totals.covered, 0);
    ck_assert_int_eq(gap.totals.partial, 3);
    ck_assert_int_eq(find(&gap, "9.9")->coverage, BW_CW_GAP);
    ck_assert_int_eq(gap.points[0].coverage, BW_CW_PARTIAL);
    ck_assert_int_eq(gap.points[0].totals.requirements, 2);
    ck_assert_int_eq(gap.points[1].coverage, BW_CW_PARTIAL);
    ck_assert_int_eq(gap.points[1].totals.gap, 1);
}
END_TEST

START_TEST(equal_or_superset_covers_subset_does_not_nist_olir)
{
    bw_cw_gap_t gap;
    /* A SUBSET control, implemented, does part of the requirement. */
    record("A.2", 1, BW_CW_STATUS_IMPLEMENTED);
    record("6.1.2", 1, BW_CW_STATUS_IMPLEMENTED);
    override("A.2", ir, "1.2", BW_CW_SUBSET);
    override("6.1.2", ir, "1.2", BW_CW_SUBSET);
    analyse(ir, &gap);
    const bw_cw_req_cov_t *r = find(&gap, "1.2");
    ck_assert_int_eq(r->coverage, BW_CW_PARTIAL);
    ck_assert(r->all_implemented);
    /* A SUPERSET one covers it, even beside a control not implemented. */
    n_ov = 0;
    record("A.1", 1, BW_CW_STATUS_NOT_IMPLEMENTED);
    override("A.2", ir, "1.1", BW_CW_SUPERSET);
    analyse(ir, &gap);
    r = find(&gap, "1.1");
    ck_assert_int_eq(r->coverage, BW_CW_COVERED);
    ck_assert_str_eq(cat->reqs[r->covered_by].ref, "A.2");
    ck_assert(!r->all_implemented);
    ck_assert_uint_eq(r->n_missing, 0);
    /* ... but not when it is itself only partly implemented. */
    record("A.2", 1, BW_CW_STATUS_PARTIAL);
    analyse(ir, &gap);
    ck_assert_int_eq(find(&gap, "1.1")->coverage, BW_CW_PARTIAL);
}
END_TEST

START_TEST(requirements_that_do_not_apply_are_counted_apart)
{
    /* What does not bind the entity (NIS2 Art 28 for a hospital, Art 23
     * under DORA) is still rated, and counted only as not applicable. */
    bw_cw_gap_t gap;
    record("A.4", 1, BW_CW_STATUS_IMPLEMENTED);
    applies = bw_arena_calloc(arena, cat->n_reqs, 1);
    for (size_t i = 0; i < cat->n_reqs; i++)
        applies[i] = 1;
    applies[req(nis2, "23.4.a")] = 0;
    analyse(nis2, &gap);
    const bw_cw_req_cov_t *w = find(&gap, "23.4.a");
    ck_assert(!w->applies);
    ck_assert_int_eq(w->coverage, BW_CW_NOT_COVERABLE);
    ck_assert_int_eq(gap.totals.requirements, 2);
    ck_assert_int_eq(gap.totals.not_coverable, 0);
    ck_assert_int_eq(gap.totals.not_applicable, 1);
    ck_assert(find(&gap, "21.2.a")->applies);
    /* A point none of whose requirements applies is rated on them all. */
    applies[req(nis2, "21.2.a")] = 0;
    record("6.1.2", 1, BW_CW_STATUS_IMPLEMENTED);
    analyse(nis2, &gap);
    ck_assert(!gap.points[0].applies);
    ck_assert_int_eq(gap.points[0].totals.requirements, 0);
    ck_assert_int_eq(gap.points[0].totals.not_applicable, 1);
    ck_assert_int_eq(gap.points[0].coverage, BW_CW_PARTIAL);
    ck_assert(gap.points[1].applies);
}
END_TEST

START_TEST(partial_statuses_roll_up)
{
    bw_cw_gap_t gap;
    record("6.1.2", 1, BW_CW_STATUS_IMPLEMENTED);
    record("A.1", 1, BW_CW_STATUS_IMPLEMENTED);
    record("A.2", 1, BW_CW_STATUS_PARTIAL);
    analyse(ir, &gap);
    const bw_cw_req_cov_t *r = find(&gap, "1.1");
    ck_assert_int_eq(r->coverage, BW_CW_PARTIAL);
    ck_assert_str_eq(list(r->contributing, r->n_contributing), "A.1 A.2");
    ck_assert_uint_eq(r->n_missing, 0);

    record("A.2", 1, BW_CW_STATUS_PLANNED);
    analyse(ir, &gap);
    r = find(&gap, "1.1");
    ck_assert_int_eq(r->coverage, BW_CW_PARTIAL);
    ck_assert_str_eq(list(r->missing, r->n_missing), "A.2");

    /* Only unimplemented or unrecorded controls: a gap. */
    record("A.1", 1, BW_CW_STATUS_NOT_IMPLEMENTED);
    analyse(ir, &gap);
    ck_assert_int_eq(find(&gap, "1.1")->coverage, BW_CW_GAP);
    ck_assert_int_eq(find(&gap, "1.2")->coverage, BW_CW_PARTIAL);
}
END_TEST

START_TEST(every_contributing_control_counts)
{
    /* A.2 feeds 1.1 and 1.2; 1.1 also needs A.1; 1.2 also needs 6.1.2. */
    bw_cw_gap_t gap;
    record("A.2", 1, BW_CW_STATUS_IMPLEMENTED);
    record("6.1.2", 1, BW_CW_STATUS_IMPLEMENTED);
    analyse(ir, &gap);
    ck_assert_int_eq(find(&gap, "1.1")->coverage, BW_CW_PARTIAL);
    ck_assert_str_eq(list(find(&gap, "1.1")->missing, find(&gap, "1.1")->n_missing), "A.1");
    /* Both of 1.2's controls implemented, both INTERSECT: mapped, evidence
     * needed (this asserted COVERED before the NIST OLIR rule). */
    ck_assert_int_eq(find(&gap, "1.2")->coverage, BW_CW_PARTIAL);
    ck_assert(find(&gap, "1.2")->all_implemented);
    ck_assert(!find(&gap, "1.1")->all_implemented);
    /* Through the Regulation, 21.2.a needs 6.1.2, A.1 and A.2. */
    analyse(nis2, &gap);
    ck_assert_int_eq(find(&gap, "21.2.a")->coverage, BW_CW_PARTIAL);
    ck_assert_int_eq(gap.points[0].coverage, BW_CW_PARTIAL);
}
END_TEST

START_TEST(excluded_controls_do_not_count)
{
    bw_cw_gap_t gap;
    record("A.1", 0, BW_CW_STATUS_IMPLEMENTED);
    record("A.2", 1, BW_CW_STATUS_IMPLEMENTED);
    analyse(ir, &gap);
    const bw_cw_req_cov_t *r = find(&gap, "1.1");
    ck_assert_int_eq(r->coverage, BW_CW_PARTIAL);
    ck_assert_str_eq(list(r->missing, r->n_missing), "A.1");
    ck_assert_str_eq(list(r->excluded, r->n_excluded), "A.1");
}
END_TEST

START_TEST(tenant_override_upgrades_an_intersect)
{
    bw_cw_gap_t gap;
    record("A.2", 1, BW_CW_STATUS_IMPLEMENTED);
    analyse(ir, &gap);
    ck_assert_int_eq(find(&gap, "1.1")->coverage, BW_CW_PARTIAL);

    /* The auditor judges A.2 to be all that 1.1 asks for. */
    override("A.2", ir, "1.1", BW_CW_EQUAL);
    analyse(ir, &gap);
    const bw_cw_req_cov_t *r = find(&gap, "1.1");
    ck_assert_int_eq(r->coverage, BW_CW_COVERED);
    ck_assert_uint_eq(r->n_missing, 0);

    /* The override shows in the mappings, in place of the shipped row. */
    bw_cw_rowset_t rows;
    ck_assert_int_eq(bw_cw_mappings(arena, cat, ov, n_ov, iso, ir, &rows), 0);
    ck_assert_uint_eq(rows.n, 5);
    int seen = 0;
    for (size_t i = 0; i < rows.n; i++) {
        if (rows.rows[i].source == req(iso, "A.2") && rows.rows[i].target == req(ir, "1.1")) {
            ck_assert_int_eq(rows.rows[i].rel, BW_CW_EQUAL);
            ck_assert_str_eq(rows.rows[i].origin, "tenant");
            ck_assert_str_eq(rows.rows[i].override_id, "ov");
            seen = 1;
        }
    }
    ck_assert(seen);
    /* Through the Regulation, A.2 is now a subset of 21.2.a: not enough alone. */
    ck_assert_int_eq(bw_cw_mappings(arena, cat, ov, n_ov, iso, nis2, &rows), 0);
    for (size_t i = 0; i < rows.n; i++)
        if (rows.rows[i].source == req(iso, "A.2"))
            ck_assert_int_eq(rows.rows[i].rel, BW_CW_SUBSET);
    analyse(nis2, &gap);
    ck_assert_int_eq(find(&gap, "21.2.a")->coverage, BW_CW_PARTIAL);

    /* The cached shipped composition is untouched. */
    ck_assert_int_eq(bw_cw_mappings(arena, cat, NULL, 0, iso, ir, &rows), 0);
    ck_assert_int_eq(rows.rows[2].source, req(iso, "A.2"));
    ck_assert_int_eq(rows.rows[2].rel, BW_CW_INTERSECT);
}
END_TEST

START_TEST(tenant_rows_remove_and_add_mappings)
{
    bw_cw_gap_t gap;
    record("A.2", 1, BW_CW_STATUS_IMPLEMENTED);
    record("A.3", 1, BW_CW_STATUS_IMPLEMENTED);
    override("A.1", ir, "1.1", BW_CW_NOT_RELATED);
    override("A.3", ir, "9.9", BW_CW_SUPERSET);
    analyse(ir, &gap);
    /* A.2 alone, INTERSECT: partial (this asserted COVERED before the NIST
     * OLIR rule); A.3 a SUPERSET of 9.9 by the tenant's row: covered. */
    ck_assert_int_eq(find(&gap, "1.1")->coverage, BW_CW_PARTIAL);
    const bw_cw_req_cov_t *u = find(&gap, "9.9");
    ck_assert_int_eq(u->mapped, 1);
    ck_assert_int_eq(u->coverage, BW_CW_COVERED);
    /* A NOT_RELATED row is still listed, so the tenant sees its judgement. */
    bw_cw_rowset_t rows;
    ck_assert_int_eq(bw_cw_mappings(arena, cat, ov, n_ov, iso, ir, &rows), 0);
    ck_assert_int_eq(rows.rows[1].rel, BW_CW_NOT_RELATED);
    /* ... but composes into nothing: A.1 no longer reaches 21.2.a. */
    ck_assert_int_eq(bw_cw_mappings(arena, cat, ov, n_ov, iso, nis2, &rows), 0);
    for (size_t i = 0; i < rows.n; i++)
        ck_assert_int_ne(rows.rows[i].source, req(iso, "A.1"));
}
END_TEST

/* New pairs a tenant adds come out once each, in order among the shipped
 * rows; of a pair stored both ways, the later override is the row. */
START_TEST(tenant_pairs_stored_both_ways_are_one_row)
{
    override("A.4", ir, "9.9", BW_CW_SUBSET);
    override("A.1", ir, "2.1", BW_CW_EQUAL);
    ov[n_ov++] =
        (bw_cw_override_t){req(ir, "9.9"), req(iso, "A.4"), BW_CW_SUBSET, "the other way", "ov2"};
    bw_cw_rowset_t rows;
    ck_assert_int_eq(bw_cw_direct(arena, cat, ov, n_ov, iso, ir, &rows), 0);
    ck_assert_uint_eq(rows.n, 7); /* five shipped, two added */
    size_t a4 = 0, a1 = 0;
    for (size_t i = 0; i < rows.n; i++) {
        if (i > 0)
            ck_assert(rows.rows[i - 1].source < rows.rows[i].source ||
                      (rows.rows[i - 1].source == rows.rows[i].source &&
                       rows.rows[i - 1].target < rows.rows[i].target));
        if (rows.rows[i].source == req(iso, "A.4") && rows.rows[i].target == req(ir, "9.9")) {
            a4++;
            /* The later, written from IR 9.9's side: its SUBSET seen from
             * A.4 is a SUPERSET. */
            ck_assert_int_eq(rows.rows[i].rel, BW_CW_SUPERSET);
            ck_assert_str_eq(rows.rows[i].rationale, "the other way");
        }
        a1 += rows.rows[i].source == req(iso, "A.1") && rows.rows[i].target == req(ir, "2.1");
    }
    ck_assert_uint_eq(a4, 1);
    ck_assert_uint_eq(a1, 1);
}
END_TEST

START_TEST(iso_cannot_be_rated_against_itself)
{
    bw_cw_rowset_t rows = {NULL, 0};
    bw_cw_gap_t gap;
    ck_assert_int_eq(bw_cw_rollup(arena, cat, iso, &rows, NULL, soa, NULL, &gap), BW_EINVAL);
    ck_assert_int_eq(bw_cw_rollup(arena, cat, 7, &rows, NULL, soa, NULL, &gap), BW_EINVAL);
}
END_TEST

Suite *suite_rollup(void)
{
    Suite *s = suite_create("crosswalk roll-up");
    TCase *tc = tcase_create("rollup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, relationship_algebra);
    tcase_add_test(tc, catalogue_is_in_document_order);
    tcase_add_test(tc, contradictory_data_is_refused);
    tcase_add_test(tc, composition_through_the_regulation);
    tcase_add_test(tc, empty_soa_is_all_gaps);
    tcase_add_test(tc, complete_soa_of_intersect_rows_is_partial_nist_olir);
    tcase_add_test(tc, equal_or_superset_covers_subset_does_not_nist_olir);
    tcase_add_test(tc, requirements_that_do_not_apply_are_counted_apart);
    tcase_add_test(tc, partial_statuses_roll_up);
    tcase_add_test(tc, every_contributing_control_counts);
    tcase_add_test(tc, excluded_controls_do_not_count);
    tcase_add_test(tc, tenant_override_upgrades_an_intersect);
    tcase_add_test(tc, tenant_rows_remove_and_add_mappings);
    tcase_add_test(tc, tenant_pairs_stored_both_ways_are_one_row);
    tcase_add_test(tc, iso_cannot_be_rated_against_itself);
    suite_add_tcase(s, tc);
    return s;
}
