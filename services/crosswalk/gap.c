/*
 * The gap analysis of an entity against a framework: one statement reads the
 * entity's SoA rows and the tenant's mapping rows together, the mappings are
 * composed (or taken from the catalogue's cache when the tenant has no rows
 * of its own) and rollup.c rates every requirement. Its time is logged at
 * debug level, split into the database round trip and the computation.
 */
#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"

#include "crosswalk.h"
#include "log.h"
#include "rollup.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <string.h>
#include <time.h>

/* Both kinds of rows in one result: kind 'c' (a SoA row: ref, applicable,
 * status) or 'o' (an override row, in bw_cw_override_from_row's columns). */
static const bw_db_stmt_t stmt_inputs = {
    "gap_inputs",
    "SELECT 'c', ref, applicable::text, status, '', '', '', '' "
    "FROM crosswalk.soa_controls WHERE entity_id = $1::uuid "
    "UNION ALL "
    "SELECT 'o', override_id::text, source_framework, source_ref, target_framework, target_ref, "
    "relationship, rationale FROM crosswalk.mapping_overrides"};

const bw_db_stmt_t *const bw_cw_gap_stmts[] = {&stmt_inputs};
const size_t bw_cw_gap_n_stmts = sizeof(bw_cw_gap_stmts) / sizeof(bw_cw_gap_stmts[0]);

static long elapsed_us(const struct timespec *from)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - from->tv_sec) * 1000000L + (now.tv_nsec - from->tv_nsec) / 1000L;
}

static char **refs(bw_call_t *call, const bw_cw_catalogue_t *cat, const int *idx, size_t n)
{
    char **out = bw_arena_calloc(call->arena, n + 1, sizeof(char *));
    for (size_t i = 0; out != NULL && i < n; i++)
        out[i] = (char *)cat->reqs[idx[i]].ref;
    return out;
}

static Bulwark__Crosswalk__V1__CoverageTotals *totals_msg(bw_call_t *call, const bw_cw_totals_t *t)
{
    Bulwark__Crosswalk__V1__CoverageTotals *m = bw_arena_alloc(call->arena, sizeof(*m));
    if (m == NULL)
        return NULL;
    bulwark__crosswalk__v1__coverage_totals__init(m);
    m->requirements = t->requirements;
    m->covered = t->covered;
    m->partial = t->partial;
    m->gap = t->gap;
    m->not_coverable_by_iso = t->not_coverable;
    return m;
}

static int reply(bw_call_t *call, const bw_cw_catalogue_t *cat, const char *entity, int fw,
                 const bw_cw_gap_t *gap, Bulwark__Crosswalk__V1__GapAnalysis *out)
{
    out->entity = (char *)entity;
    out->framework = (char *)cat->frameworks[fw].id;
    out->requirements = bw_arena_calloc(call->arena, gap->n_reqs + 1, sizeof(void *));
    out->points = bw_arena_calloc(call->arena, gap->n_points + 1, sizeof(void *));
    out->totals = totals_msg(call, &gap->totals);
    if (out->requirements == NULL || out->points == NULL || out->totals == NULL)
        return BW_ENOMEM;
    Bulwark__Crosswalk__V1__RequirementCoverage *rcs =
        bw_arena_calloc(call->arena, gap->n_reqs + 1, sizeof(*rcs));
    if (rcs == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < gap->n_reqs; i++) {
        const bw_cw_req_cov_t *g = &gap->reqs[i];
        const bw_cw_req_t *r = &cat->reqs[g->req];
        Bulwark__Crosswalk__V1__RequirementCoverage *m = &rcs[i];
        bulwark__crosswalk__v1__requirement_coverage__init(m);
        m->ref = (char *)r->ref;
        m->title = (char *)r->title;
        m->coverage = (Bulwark__Crosswalk__V1__RequirementCoverage__Coverage)g->coverage;
        m->obligation = (char *)(g->coverage == BW_CW_NOT_COVERABLE ? r->obligation : "");
        m->mapped = g->mapped;
        m->contributing_controls = refs(call, cat, g->contributing, g->n_contributing);
        m->n_contributing_controls = g->n_contributing;
        m->missing_controls = refs(call, cat, g->missing, g->n_missing);
        m->n_missing_controls = g->n_missing;
        m->excluded_controls = refs(call, cat, g->excluded, g->n_excluded);
        m->n_excluded_controls = g->n_excluded;
        m->points = refs(call, cat, g->points, g->n_points);
        m->n_points = g->n_points;
        if (m->contributing_controls == NULL || m->missing_controls == NULL ||
            m->excluded_controls == NULL || m->points == NULL)
            return BW_ENOMEM;
        out->requirements[out->n_requirements++] = m;
    }
    for (size_t p = 0; p < gap->n_points; p++) {
        const bw_cw_point_cov_t *g = &gap->points[p];
        Bulwark__Crosswalk__V1__PointTotals *m = bw_arena_alloc(call->arena, sizeof(*m));
        if (m == NULL)
            return BW_ENOMEM;
        bulwark__crosswalk__v1__point_totals__init(m);
        m->point = (char *)cat->reqs[g->point].ref;
        m->title = (char *)cat->reqs[g->point].title;
        m->coverage = (Bulwark__Crosswalk__V1__RequirementCoverage__Coverage)g->coverage;
        if ((m->totals = totals_msg(call, &g->totals)) == NULL)
            return BW_ENOMEM;
        out->points[out->n_points++] = m;
    }
    return 0;
}

int bw_cw_gap_analysis(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__GetGapAnalysisRequest *req = (const void *)request;
    bw_cw_service_t *svc = bw_cw_service(call);
    const bw_cw_catalogue_t *cat = svc->cat;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    if (req->framework[0] == '\0')
        return bw_call_violation(call, "framework", "is required: nis2 or %s", BW_CW_IR);
    int fw = bw_cw_framework_find(cat, req->framework);
    if (fw < 0)
        return bw_call_violation(call, "framework", "no framework %s", req->framework);
    if (fw == cat->iso)
        return bw_call_violation(call, "framework",
                                 "the SoA is the ISO/IEC 27001 side: analyse nis2 or %s", BW_CW_IR);
    int err = bw_cw_scoping_check_entity(svc->scoping, call, req->entity);
    if (err != 0)
        return err;
    long check_us = elapsed_us(&start);

    const char *values[] = {req->entity};
    PGresult *res;
    err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_inputs, 1, values,
                      &res);
    if (err != 0)
        return err;
    long query_us = elapsed_us(&start) - check_us;

    int n = PQntuples(res);
    bw_cw_soa_state_t *soa = bw_arena_calloc(call->arena, cat->n_reqs + 1, sizeof(*soa));
    bw_cw_override_t *ov = bw_arena_alloc(call->arena, ((size_t)n + 1) * sizeof(*ov));
    if (soa == NULL || ov == NULL)
        return BW_ENOMEM;
    size_t n_ov = 0, n_soa = 0;
    for (int i = 0; i < n; i++) {
        if (bw_store_text(res, i, 0)[0] == 'o') {
            if (bw_cw_override_from_row(cat, res, i, 1, &ov[n_ov]) == 0)
                n_ov++;
            continue;
        }
        int c = bw_cw_req_find(cat, cat->iso, bw_store_text(res, i, 1));
        if (c < 0)
            continue;
        const char *status = bw_store_text(res, i, 3);
        soa[c].recorded = 1;
        soa[c].applicable = strcmp(bw_store_text(res, i, 2), "true") == 0;
        soa[c].status = strcmp(status, "IMPLEMENTED") == 0 ? BW_CW_STATUS_IMPLEMENTED
                        : strcmp(status, "PARTIAL") == 0   ? BW_CW_STATUS_PARTIAL
                        : strcmp(status, "PLANNED") == 0   ? BW_CW_STATUS_PLANNED
                                                           : BW_CW_STATUS_NOT_IMPLEMENTED;
        n_soa++;
    }

    bw_cw_rowset_t iso_rows, point_rows;
    bw_cw_gap_t gap;
    if ((err = bw_cw_mappings(call->arena, cat, ov, n_ov, cat->iso, fw, &iso_rows)) != 0)
        return err;
    if (fw != cat->nis2 && cat->nis2 >= 0 &&
        (err = bw_cw_direct(call->arena, cat, ov, n_ov, fw, cat->nis2, &point_rows)) != 0)
        return err;
    err = bw_cw_rollup(call->arena, cat, fw, &iso_rows,
                       fw != cat->nis2 && cat->nis2 >= 0 ? &point_rows : NULL, soa, &gap);
    if (err != 0)
        return err;

    Bulwark__Crosswalk__V1__GapAnalysis *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__gap_analysis__init(out);
    if ((err = reply(call, cat, req->entity, fw, &gap, out)) != 0)
        return err;
    out->soa_controls = (int32_t)n_soa;
    out->mapping_overrides = (int32_t)n_ov;
    bw_log(BW_LOG_DEBUG, &call->log,
           "gap analysis of entity %s against %s: %zu requirements, %zu SoA rows, %zu overrides; "
           "entity check %ld us, query %ld us, total %ld us",
           req->entity, req->framework, gap.n_reqs, n_soa, n_ov, check_us, query_us,
           elapsed_us(&start));
    *resp = &out->base;
    return 0;
}
