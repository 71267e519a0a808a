/*
 * The gap analysis of an entity against a framework: one call to scoping
 * says what applies to the entity, one statement reads the entity's SoA rows
 * and the tenant's mapping rows together, the mappings are composed (or
 * taken from the catalogue's cache when the tenant has no rows of its own)
 * and rollup.c rates every requirement. Its time is logged at debug level,
 * split into the scoping call, the database round trip and the computation.
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

/* The NIS2 provision each top-level requirement of framework nis2 belongs
 * to, as scoping names it in an entity's applicability. */
static const struct {
    const char *article; /* the ref's first component */
    const char *provision;
} provisions[] = {
    {"3", "NIS2 Art 3(4)"}, {"20", "NIS2 Art 20"}, {"21", "NIS2 Art 21"},
    {"23", "NIS2 Art 23"},  {"24", "NIS2 Art 24"}, {"26", "NIS2 Art 26(3)"},
    {"27", "NIS2 Art 27"},  {"28", "NIS2 Art 28"}, {"32", "NIS2 Art 32"},
};

/* Whether and why requirement ref of nis2 binds the entity. */
static const Bulwark__Scoping__V1__Applicability__Provision *
provision_of(const Bulwark__Scoping__V1__Applicability *ap, const char *ref)
{
    size_t len = strcspn(ref, ".");
    for (size_t i = 0; i < sizeof(provisions) / sizeof(provisions[0]); i++) {
        if (strlen(provisions[i].article) != len || strncmp(ref, provisions[i].article, len) != 0)
            continue;
        for (size_t k = 0; k < ap->n_provisions; k++)
            if (strcmp(ap->provisions[k]->provision, provisions[i].provision) == 0)
                return ap->provisions[k];
    }
    return NULL;
}

/* What applies of framework fw: flags by global requirement index, with
 * the reasons and what displaces each (on the call's arena). */
typedef struct applies {
    unsigned char *flags;
    const char **reason, **displaced_by;
} applies_t;

static int applies_of(bw_call_t *call, const bw_cw_catalogue_t *cat, int fw,
                      const Bulwark__Scoping__V1__Applicability *ap, applies_t *out)
{
    const bw_cw_framework_t *f = &cat->frameworks[fw];
    out->flags = bw_arena_calloc(call->arena, cat->n_reqs + 1, 1);
    out->reason = bw_arena_calloc(call->arena, cat->n_reqs + 1, sizeof(char *));
    out->displaced_by = bw_arena_calloc(call->arena, cat->n_reqs + 1, sizeof(char *));
    if (out->flags == NULL || out->reason == NULL || out->displaced_by == NULL)
        return BW_ENOMEM;
    const char *ir_reason = NULL;
    if (fw != cat->nis2) {
        /* The Regulation's analysis runs only for an entity it covers. */
        const char *types = "";
        for (size_t i = 0; i < ap->n_implementing_regulation_types; i++)
            types = bw_arena_printf(call->arena, "%s%s%s", types, i ? ", " : "",
                                    ap->implementing_regulation_types[i]);
        ir_reason = bw_arena_printf(call->arena,
                                    "Implementing Regulation (EU) 2024/2690 applies to the "
                                    "entity's %s (its Art 1)",
                                    types);
        if (ir_reason == NULL)
            return BW_ENOMEM;
    }
    for (size_t i = f->first; i < f->first + f->count; i++) {
        out->reason[i] = ir_reason;
        out->displaced_by[i] = "";
        out->flags[i] = 1;
        if (ir_reason != NULL)
            continue;
        const Bulwark__Scoping__V1__Applicability__Provision *p =
            provision_of(ap, cat->reqs[i].ref);
        if (p == NULL) {
            out->reason[i] = "no provision limits it to some entities";
            continue;
        }
        out->flags[i] = p->applies != 0;
        out->reason[i] = bw_arena_printf(call->arena, "%s: %s", p->provision, p->reason);
        out->displaced_by[i] = p->displaced_by;
        if (out->reason[i] == NULL)
            return BW_ENOMEM;
    }
    return 0;
}

/* Why the Regulation does not cover the entity, for the 422. */
static const char *not_covered_why(const Bulwark__Scoping__V1__Applicability *ap)
{
    if (ap->dora_applies)
        return "DORA applies to the entity instead of NIS2 Art 21, which the Regulation "
               "implements (NIS2 Art 4)";
    if (ap->classification != BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__ESSENTIAL &&
        ap->classification != BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__IMPORTANT)
        return "the entity is neither essential nor important";
    return "none of the entity's activities is of a type the Regulation covers (DNS, TLD, "
           "cloud, data centre, CDN, managed and managed security services, online "
           "marketplaces, search engines, social networks, trust services: its Art 1)";
}

/* Why the requirement is rated as it is. */
static const char *coverage_reason(bw_call_t *call, const bw_cw_catalogue_t *cat,
                                   const bw_cw_req_cov_t *g)
{
    switch (g->coverage) {
    case BW_CW_NOT_COVERABLE:
        return "a duty no ISO/IEC 27001 control discharges: see obligation";
    case BW_CW_COVERED:
        return bw_arena_printf(call->arena,
                               "%s is implemented and mapped EQUAL to the requirement or as a "
                               "SUPERSET of it",
                               cat->reqs[g->covered_by].ref);
    case BW_CW_PARTIAL:
        return g->all_implemented
                   ? "mapped, evidence needed: every mapped control is implemented, but each "
                     "only intersects the requirement or is a subset of it (NIST OLIR), so they "
                     "do not show it is met; an EQUAL or SUPERSET mapping of the tenant's own "
                     "says when they do"
                   : "some mapped controls are implemented or partly implemented, not all";
    case BW_CW_GAP:
        return g->mapped ? "no mapped control is implemented"
                         : "no ISO/IEC 27001 control is mapped to it";
    default:
        return "";
    }
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
    m->not_applicable = t->not_applicable;
    return m;
}

static int reply(bw_call_t *call, const bw_cw_catalogue_t *cat, const char *entity, int fw,
                 const bw_cw_gap_t *gap, const applies_t *applies,
                 Bulwark__Crosswalk__V1__GapAnalysis *out)
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
        m->applies = g->applies;
        m->applies_reason = (char *)applies->reason[g->req];
        m->displaced_by = (char *)applies->displaced_by[g->req];
        m->coverage_reason = (char *)coverage_reason(call, cat, g);
        if (m->contributing_controls == NULL || m->missing_controls == NULL ||
            m->excluded_controls == NULL || m->points == NULL || m->coverage_reason == NULL)
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
        m->applies = g->applies;
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
    const Bulwark__Scoping__V1__Applicability *ap;
    int err = bw_cw_scoping_applicability(svc->scoping, call, req->entity, &ap);
    if (err != 0)
        return err;
    if (fw != cat->nis2 && !ap->implementing_regulation_applies)
        return bw_call_fail(call, BW_EPRECOND, "IMPLEMENTING_REGULATION_NOT_APPLICABLE",
                            "Implementing Regulation (EU) 2024/2690 does not cover entity %s: %s; "
                            "analyse nis2",
                            req->entity, not_covered_why(ap));
    applies_t applies;
    if ((err = applies_of(call, cat, fw, ap, &applies)) != 0)
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
                       fw != cat->nis2 && cat->nis2 >= 0 ? &point_rows : NULL, soa, applies.flags,
                       &gap);
    if (err != 0)
        return err;

    Bulwark__Crosswalk__V1__GapAnalysis *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__gap_analysis__init(out);
    if ((err = reply(call, cat, req->entity, fw, &gap, &applies, out)) != 0)
        return err;
    out->scoping_ruleset_version = ap->ruleset_version;
    out->soa_controls = (int32_t)n_soa;
    out->mapping_overrides = (int32_t)n_ov;
    bw_log(BW_LOG_DEBUG, &call->log,
           "gap analysis of entity %s against %s: %zu requirements, %zu SoA rows, %zu overrides; "
           "scoping %ld us, query %ld us, total %ld us",
           req->entity, req->framework, gap.n_reqs, n_soa, n_ov, check_us, query_us,
           elapsed_us(&start));
    *resp = &out->base;
    return 0;
}
