/*
 * The gap analysis as a file and as a picture: GetGapAnalysis' reply,
 * computed by gap.c as for JSON, rendered as an XLSX workbook (every
 * requirement, then the Art 21(2) points) or as an SVG of one bar per point
 * and one for the requirements outside the points, split by coverage.
 * Rendering runs on the service's worker, never on the gateway's loop.
 */
#include "bulwark/api/v1/http.pb-c.h"
#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"

#include "crosswalk.h"
#include "service.h"
#include "status.h"
#include "store.h"
#include "svg.h"
#include "xlsx.h"

#include <string.h>

typedef Bulwark__Crosswalk__V1__GapAnalysis gap_analysis_t;
typedef Bulwark__Crosswalk__V1__RequirementCoverage coverage_t;

static const char *coverage_name(int coverage)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &bulwark__crosswalk__v1__requirement_coverage__coverage__descriptor, coverage);
    return v != NULL ? v->name : "";
}

/* ---- the workbook ------------------------------------------------------- */

static int write_requirements(bw_call_t *call, bw_xlsx_t *x, const gap_analysis_t *ga)
{
    static const char *const headers[] = {"ref",
                                          "title",
                                          "points",
                                          "applies",
                                          "coverage",
                                          "why",
                                          "contributing controls",
                                          "missing controls",
                                          "obligation",
                                          "displaced by"};
    static const double widths[] = {12, 50, 10, 9, 22, 30, 30, 30, 40, 14};
    int err = bw_xlsx_sheet(x, "Requirements", headers, widths, 10);
    for (size_t i = 0; i < ga->n_requirements && err == 0; i++) {
        const coverage_t *r = ga->requirements[i];
        const char *points = bw_cw_join_blanks(call->arena, r->points, r->n_points);
        const char *contributing =
            bw_cw_join_blanks(call->arena, r->contributing_controls, r->n_contributing_controls);
        const char *missing =
            bw_cw_join_blanks(call->arena, r->missing_controls, r->n_missing_controls);
        if (points == NULL || contributing == NULL || missing == NULL)
            return BW_ENOMEM;
        err = bw_xlsx_text(x, r->ref);
        err = err ? err : bw_xlsx_text(x, r->title);
        err = err ? err : bw_xlsx_text(x, points);
        err = err ? err : bw_xlsx_text(x, r->applies ? "yes" : "no");
        err = err ? err : bw_xlsx_text(x, coverage_name(r->coverage));
        err = err ? err : bw_xlsx_text(x, r->coverage_reason);
        err = err ? err : bw_xlsx_text(x, contributing);
        err = err ? err : bw_xlsx_text(x, missing);
        err = err ? err : bw_xlsx_text(x, r->obligation);
        err = err ? err : bw_xlsx_text(x, r->displaced_by);
        err = err ? err : bw_xlsx_row_end(x);
    }
    return err;
}

static int write_points(bw_xlsx_t *x, const gap_analysis_t *ga)
{
    static const char *const headers[] = {"point",         "title",        "coverage",
                                          "applies",       "requirements", "covered",
                                          "partial",       "gap",          "not coverable by ISO",
                                          "not applicable"};
    static const double widths[] = {10, 50, 14, 9, 13, 9, 9, 9, 20, 15};
    int err = bw_xlsx_sheet(x, "Art 21(2) points", headers, widths, 10);
    for (size_t i = 0; i < ga->n_points && err == 0; i++) {
        const Bulwark__Crosswalk__V1__PointTotals *p = ga->points[i];
        const Bulwark__Crosswalk__V1__CoverageTotals *t = p->totals;
        err = bw_xlsx_text(x, p->point);
        err = err ? err : bw_xlsx_text(x, p->title);
        err = err ? err : bw_xlsx_text(x, coverage_name(p->coverage));
        err = err ? err : bw_xlsx_text(x, p->applies ? "yes" : "no");
        err = err ? err : bw_xlsx_number(x, t ? t->requirements : 0);
        err = err ? err : bw_xlsx_number(x, t ? t->covered : 0);
        err = err ? err : bw_xlsx_number(x, t ? t->partial : 0);
        err = err ? err : bw_xlsx_number(x, t ? t->gap : 0);
        err = err ? err : bw_xlsx_number(x, t ? t->not_coverable_by_iso : 0);
        err = err ? err : bw_xlsx_number(x, t ? t->not_applicable : 0);
        err = err ? err : bw_xlsx_row_end(x);
    }
    return err;
}

static int render_xlsx(bw_call_t *call, const gap_analysis_t *ga, uint8_t **data, size_t *len)
{
    bw_xlsx_t *x = NULL;
    int err = bw_xlsx_open(&x);
    if (err != 0)
        return err;
    err = write_requirements(call, x, ga);
    if (err == 0)
        err = write_points(x, ga);
    if (err != 0) {
        bw_xlsx_free(x);
        return err;
    }
    return bw_xlsx_finish(x, call->arena, data, len);
}

/* ---- the picture -------------------------------------------------------- */

enum { BAR_COVERED, BAR_PARTIAL, BAR_GAP, BAR_NOT_COVERABLE, N_BAR_PARTS };

static const struct {
    const char *label, *colour;
} bar_parts[N_BAR_PARTS] = {
    {"covered", "#2e7d32"},
    {"partial", "#f9a825"},
    {"gap", "#c62828"},
    {"not coverable by ISO/IEC 27001", "#607d8b"},
};

#define SVG_WIDTH 900
#define LABEL_WIDTH 430
#define BAR_WIDTH 360
#define ROW_HEIGHT 26
#define TOP 64

static void bar_row(bw_svg_t *svg, int y, const char *point, const char *title,
                    const int counts[N_BAR_PARTS])
{
    int total = 0;
    for (int k = 0; k < N_BAR_PARTS; k++)
        total += counts[k];
    bw_svg_markup(svg, "<g class=\"row\"><text x=\"16\" y=\"%d\" font-weight=\"bold\">", y + 17);
    bw_svg_text(svg, point, 12);
    bw_svg_markup(svg, "</text><text x=\"86\" y=\"%d\">", y + 17);
    bw_svg_text(svg, title, 46);
    bw_svg_markup(svg, "</text>");
    int x = LABEL_WIDTH;
    bw_svg_markup(svg, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"#eeeeee\"/>", x,
                  y + 4, BAR_WIDTH);
    for (int k = 0; k < N_BAR_PARTS && total > 0; k++) {
        int w = counts[k] * BAR_WIDTH / total;
        if (counts[k] == 0)
            continue;
        bw_svg_markup(svg,
                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\">"
                      "<title>%d %s</title></rect>",
                      x, y + 4, w > 0 ? w : 1, bar_parts[k].colour, counts[k], bar_parts[k].label);
        x += w;
    }
    if (total == 0)
        bw_svg_markup(svg, "<text x=\"%d\" y=\"%d\" fill=\"#555555\">does not apply</text>",
                      LABEL_WIDTH + 8, y + 17);
    else
        bw_svg_markup(svg, "<text x=\"%d\" y=\"%d\">%d/%d covered</text>",
                      LABEL_WIDTH + BAR_WIDTH + 10, y + 17, counts[BAR_COVERED], total);
    bw_svg_markup(svg, "</g>\n");
}

static void totals_counts(const Bulwark__Crosswalk__V1__CoverageTotals *t, int counts[N_BAR_PARTS])
{
    counts[BAR_COVERED] = t ? t->covered : 0;
    counts[BAR_PARTIAL] = t ? t->partial : 0;
    counts[BAR_GAP] = t ? t->gap : 0;
    counts[BAR_NOT_COVERABLE] = t ? t->not_coverable_by_iso : 0;
}

static int render_svg(bw_call_t *call, const gap_analysis_t *ga, uint8_t **data, size_t *len)
{
    /* The requirements that apply and belong to no Art 21(2) point. */
    int other[N_BAR_PARTS] = {0};
    for (size_t i = 0; i < ga->n_requirements; i++) {
        const coverage_t *r = ga->requirements[i];
        if (!r->applies || r->n_points > 0)
            continue;
        switch (r->coverage) {
        case BULWARK__CROSSWALK__V1__REQUIREMENT_COVERAGE__COVERAGE__COVERED:
            other[BAR_COVERED]++;
            break;
        case BULWARK__CROSSWALK__V1__REQUIREMENT_COVERAGE__COVERAGE__PARTIAL:
            other[BAR_PARTIAL]++;
            break;
        case BULWARK__CROSSWALK__V1__REQUIREMENT_COVERAGE__COVERAGE__NOT_COVERABLE_BY_ISO:
            other[BAR_NOT_COVERABLE]++;
            break;
        default:
            other[BAR_GAP]++;
        }
    }
    int rows = (int)ga->n_points + 1;
    int height = TOP + rows * ROW_HEIGHT + 70;
    bw_svg_t svg;
    bw_svg_begin(&svg, SVG_WIDTH, height);
    bw_svg_markup(&svg, "<title>Gap analysis of entity ");
    bw_svg_text(&svg, ga->entity, 0);
    bw_svg_markup(&svg, " against ");
    bw_svg_text(&svg, ga->framework, 0);
    bw_svg_markup(&svg, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    bw_svg_markup(&svg, "<text x=\"16\" y=\"28\" font-size=\"18\" font-weight=\"bold\">"
                        "Gap analysis: ");
    bw_svg_text(&svg, ga->framework, 40);
    bw_svg_markup(&svg,
                  "</text>\n<text x=\"16\" y=\"48\" fill=\"#555555\">"
                  "Requirements that apply to the entity, by coverage; %d of %d covered"
                  "</text>\n",
                  ga->totals ? ga->totals->covered : 0, ga->totals ? ga->totals->requirements : 0);
    int y = TOP;
    for (size_t i = 0; i < ga->n_points; i++, y += ROW_HEIGHT) {
        int counts[N_BAR_PARTS];
        totals_counts(ga->points[i]->totals, counts);
        bar_row(&svg, y, ga->points[i]->point, ga->points[i]->title, counts);
    }
    bar_row(&svg, y, "other", "Requirements outside Art 21(2)", other);
    y += ROW_HEIGHT + 24;
    int x = 16;
    bw_svg_markup(&svg, "<g class=\"legend\">");
    for (int k = 0; k < N_BAR_PARTS; k++) {
        bw_svg_markup(&svg,
                      "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>"
                      "<text x=\"%d\" y=\"%d\">%s</text>",
                      x, y, bar_parts[k].colour, x + 20, y + 12, bar_parts[k].label);
        x += 40 + (int)strlen(bar_parts[k].label) * 7;
    }
    bw_svg_markup(&svg, "</g>\n</svg>\n");
    return bw_svg_finish(&svg, call->arena, data, len);
}

int bw_cw_render_gap_analysis(bw_call_t *call, const ProtobufCMessage *request,
                              ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__RenderGapAnalysisRequest *req = (const void *)request;
    int svg = strcmp(req->media_type, BW_SVG_MEDIA_TYPE) == 0;
    if (!svg && strcmp(req->media_type, BW_XLSX_MEDIA_TYPE) != 0)
        return bw_call_violation(call, "mediaType", "must be %s or %s", BW_SVG_MEDIA_TYPE,
                                 BW_XLSX_MEDIA_TYPE);
    Bulwark__Crosswalk__V1__GetGapAnalysisRequest get =
        BULWARK__CROSSWALK__V1__GET_GAP_ANALYSIS_REQUEST__INIT;
    get.entity = req->entity;
    get.framework = req->framework[0] != '\0' ? req->framework : "nis2";
    ProtobufCMessage *msg = NULL;
    int err = bw_cw_gap_analysis(call, &get.base, &msg);
    if (err != 0)
        return err;
    const gap_analysis_t *ga = (const gap_analysis_t *)msg;
    Bulwark__Api__V1__HttpBody *out = bw_store_http_body(call);
    if (out == NULL)
        return BW_ENOMEM;
    if (svg) {
        err = render_svg(call, ga, &out->data.data, &out->data.len);
    } else {
        err = render_xlsx(call, ga, &out->data.data, &out->data.len);
        out->filename =
            bw_arena_printf(call->arena, "gap-analysis-%s-%s.xlsx", get.framework, req->entity);
        if (err == 0 && out->filename == NULL)
            err = BW_ENOMEM;
    }
    if (err != 0)
        return err;
    *resp = &out->base;
    return 0;
}
