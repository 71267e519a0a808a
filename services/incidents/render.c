/*
 * Incidents as a file and as a picture: the register (ListIncidents, every
 * page) as an XLSX workbook with each deadline, and an incident's timeline
 * (GetIncident and GetTimeline) as an SVG on a time axis labelled in the
 * incident's time zone. The handlers reuse the JSON handlers' replies, so
 * the file says what the API says; rendering runs on the service's worker.
 */
#include "bulwark/api/v1/http.pb-c.h"
#include "bulwark/incidents/v1/incidents.pb-c.h"

#include "handlers.h"
#include "render.h"
#include "status.h"
#include "store.h"
#include "svg.h"
#include "times.h"
#include "tz.h"
#include "xlsx.h"

#include <stdio.h>
#include <string.h>

typedef Bulwark__Incidents__V1__Incident incident_t;
typedef Bulwark__Incidents__V1__Deadline deadline_t;
typedef Bulwark__Incidents__V1__Timeline__Entry entry_t;

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v != NULL ? v->name : "";
}

/* The microseconds of a time, 0 for an unset one. */
static int64_t ts_us(const Google__Protobuf__Timestamp *ts)
{
    return ts != NULL ? bw_time_us(ts->seconds, ts->nanos) : 0;
}

/* at in the zone, "2025-06-10 09:15" (with the offset when long), on the
 * arena; "" for an unset time. NULL on OOM. */
static const char *local_text(bw_arena_t *arena, bw_tz_t *tz, const Google__Protobuf__Timestamp *ts,
                              int with_offset)
{
    char buf[BW_TZ_TEXT_MAX];
    if (ts == NULL)
        return "";
    if (tz == NULL || bw_tz_format_local(tz, ts_us(ts), buf, sizeof(buf)) != 0)
        return bw_arena_strdup(arena, "");
    buf[10] = ' ';
    if (!with_offset)
        buf[16] = '\0';
    return bw_arena_strdup(arena, buf);
}

/* ---- the register ------------------------------------------------------- */

/* The calendar of an incident's zone, NULL when it cannot be opened (its
 * local times are then left empty). A register is usually of one entity,
 * hence one zone: tz.c hands the thread's last calendar out again, so the
 * rows open one between them. */
static bw_tz_t *zone_of(const char *zone)
{
    bw_tz_t *tz;
    return bw_tz_open(zone, &tz) == 0 ? tz : NULL;
}

static int register_row(bw_call_t *call, bw_xlsx_t *x, const incident_t *inc, bw_tz_t *tz)
{
    const char *aware = local_text(call->arena, tz, inc->aware_at, 1);
    const char *detected = local_text(call->arena, tz, inc->detected_at, 1);
    if (aware == NULL || detected == NULL)
        return BW_ENOMEM;
    int err = bw_xlsx_text(x, inc->id);
    err = err ? err : bw_xlsx_text(x, inc->title);
    err = err ? err : bw_xlsx_text(x, inc->entity);
    err = err ? err
              : bw_xlsx_text(
                    x, enum_name(&bulwark__incidents__v1__incident__state__descriptor, inc->state));
    err = err ? err : bw_xlsx_text(x, inc->significant ? "yes" : "no");
    err = err ? err
              : bw_xlsx_text(
                    x, enum_name(&bulwark__incidents__v1__incident__incident_regime__descriptor,
                                 inc->incident_regime));
    err = err ? err : bw_xlsx_text(x, aware);
    err = err ? err : bw_xlsx_text(x, detected);
    err = err ? err : bw_xlsx_text(x, inc->time_zone);
    err = err ? err : bw_xlsx_text(x, inc->external_ref);
    return err ? err : bw_xlsx_row_end(x);
}

static int deadline_row(bw_call_t *call, bw_xlsx_t *x, const incident_t *inc, const deadline_t *d,
                        bw_tz_t *tz)
{
    const char *met = local_text(call->arena, tz, d->met_at, 1);
    if (met == NULL)
        return BW_ENOMEM;
    int err = bw_xlsx_text(x, inc->id);
    err = err ? err : bw_xlsx_text(x, inc->title);
    err = err ? err
              : bw_xlsx_text(
                    x, enum_name(&bulwark__incidents__v1__deadline__regime__descriptor, d->regime));
    err = err ? err
              : bw_xlsx_text(
                    x, enum_name(&bulwark__incidents__v1__deadline__kind__descriptor, d->kind));
    err = err ? err : bw_xlsx_text(x, d->due_at_local);
    err = err ? err : bw_xlsx_text(x, d->provisional ? "yes" : "no");
    err = err ? err
              : bw_xlsx_text(
                    x, enum_name(&bulwark__incidents__v1__deadline__status__descriptor, d->status));
    err = err ? err : bw_xlsx_text(x, met);
    err = err ? err : bw_xlsx_text(x, d->basis);
    return err ? err : bw_xlsx_row_end(x);
}

/* Every page of the list, in its order, at most BW_REGISTER_MAX incidents. */
static int read_register(bw_call_t *call,
                         const Bulwark__Incidents__V1__RenderIncidentRegisterRequest *req,
                         incident_t ***out, size_t *n_out)
{
    size_t cap = BW_PAGE_SIZE_MAX, n = 0;
    incident_t **all = bw_arena_calloc(call->arena, cap, sizeof(*all));
    if (all == NULL)
        return BW_ENOMEM;
    Bulwark__Incidents__V1__ListIncidentsRequest list =
        BULWARK__INCIDENTS__V1__LIST_INCIDENTS_REQUEST__INIT;
    list.entity = req->entity;
    list.state = req->state;
    list.page_size = BW_PAGE_SIZE_MAX;
    do {
        ProtobufCMessage *msg = NULL;
        int err = bw_incidents_list(call, &list.base, &msg);
        if (err != 0)
            return err;
        const Bulwark__Incidents__V1__ListIncidentsResponse *page = (const void *)msg;
        if (n + page->n_incidents > BW_REGISTER_MAX)
            return bw_call_fail(call, BW_EINVAL, "REGISTER_TOO_LARGE",
                                "the register has more than %d incidents: ask for one entity "
                                "(entity) or one state (state)",
                                BW_REGISTER_MAX);
        if (n + page->n_incidents > cap) {
            size_t grown = 2 * cap;
            incident_t **more = bw_arena_calloc(call->arena, grown, sizeof(*more));
            if (more == NULL)
                return BW_ENOMEM;
            memcpy(more, all, n * sizeof(*all));
            all = more;
            cap = grown;
        }
        for (size_t i = 0; i < page->n_incidents; i++)
            all[n++] = page->incidents[i];
        list.page_token = page->next_page_token;
    } while (list.page_token[0] != '\0');
    *out = all;
    *n_out = n;
    return 0;
}

static int render_register(bw_call_t *call, incident_t **incidents, size_t n, uint8_t **data,
                           size_t *len)
{
    static const char *const inc_headers[] = {
        "id",     "title",    "entity",      "state",     "significant",
        "regime", "aware at", "detected at", "time zone", "external ref"};
    static const double inc_widths[] = {38, 40, 38, 9, 12, 12, 26, 26, 18, 16};
    static const char *const dl_headers[] = {"incident", "title",          "regime",
                                             "report",   "due (local)",    "provisional",
                                             "status",   "met at (local)", "basis"};
    static const double dl_widths[] = {38, 40, 8, 34, 26, 12, 13, 26, 50};
    bw_xlsx_t *x = NULL;
    int err = bw_xlsx_open(&x);
    if (err != 0)
        return err;
    err = bw_xlsx_sheet(x, "Incidents", inc_headers, inc_widths, 10);
    for (size_t i = 0; i < n && err == 0; i++) {
        bw_tz_t *tz = zone_of(incidents[i]->time_zone);
        err = register_row(call, x, incidents[i], tz);
        bw_tz_close(tz);
    }
    if (err == 0)
        err = bw_xlsx_sheet(x, "Deadlines", dl_headers, dl_widths, 9);
    for (size_t i = 0; i < n && err == 0; i++) {
        bw_tz_t *tz = zone_of(incidents[i]->time_zone);
        for (size_t k = 0; k < incidents[i]->n_deadlines && err == 0; k++)
            err = deadline_row(call, x, incidents[i], incidents[i]->deadlines[k], tz);
        bw_tz_close(tz);
    }
    if (err != 0) {
        bw_xlsx_free(x);
        return err;
    }
    return bw_xlsx_finish(x, call->arena, data, len);
}

int bw_incidents_render_register(bw_call_t *call, const ProtobufCMessage *request,
                                 ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__RenderIncidentRegisterRequest *req = (const void *)request;
    if (strcmp(req->media_type, BW_XLSX_MEDIA_TYPE) != 0)
        return bw_call_violation(call, "mediaType", "must be %s", BW_XLSX_MEDIA_TYPE);
    incident_t **incidents = NULL;
    size_t n = 0;
    int err = read_register(call, req, &incidents, &n);
    if (err != 0)
        return err;
    Bulwark__Api__V1__HttpBody *out = bw_store_http_body(call);
    if (out == NULL)
        return BW_ENOMEM;
    if ((err = render_register(call, incidents, n, &out->data.data, &out->data.len)) != 0)
        return err;
    out->filename = "incident-register.xlsx";
    *resp = &out->base;
    return 0;
}

/* ---- the timeline ------------------------------------------------------- */

/* The labels take the left; the plot the right, with room for the last
 * tick's label. */
#define SVG_WIDTH 1120
#define PLOT_LEFT 500
#define PLOT_RIGHT 1050
#define ROW_HEIGHT 24
#define TOP 92
#define N_TICKS 6

enum mark { MARK_EVENT, MARK_MET, MARK_PENDING, MARK_LATE, MARK_NOT_REQUIRED, N_MARKS };

static const struct {
    const char *label, *colour;
} marks[N_MARKS] = {
    {"event", "#1565c0"},
    {"deadline met", "#2e7d32"},
    {"deadline pending", "#ef6c00"},
    {"deadline late (missed or overdue)", "#c62828"},
    {"deadline not required", "#9e9e9e"},
};

static enum mark deadline_mark(const deadline_t *d)
{
    switch (d->status) {
    case BULWARK__INCIDENTS__V1__DEADLINE__STATUS__MET:
        return MARK_MET;
    case BULWARK__INCIDENTS__V1__DEADLINE__STATUS__MISSED:
    case BULWARK__INCIDENTS__V1__DEADLINE__STATUS__OVERDUE:
        return MARK_LATE;
    case BULWARK__INCIDENTS__V1__DEADLINE__STATUS__NOT_REQUIRED:
        return MARK_NOT_REQUIRED;
    default:
        return MARK_PENDING;
    }
}

typedef struct axis {
    int64_t from, to; /* microseconds */
} axis_t;

static int x_of(const axis_t *a, int64_t at)
{
    return PLOT_LEFT +
           (int)((double)(at - a->from) * (PLOT_RIGHT - PLOT_LEFT) / (double)(a->to - a->from));
}

static void widen(axis_t *a, int64_t at)
{
    if (at == 0)
        return;
    if (a->from == 0 || at < a->from)
        a->from = at;
    if (a->to == 0 || at > a->to)
        a->to = at;
}

static void draw_marker(bw_svg_t *svg, enum mark m, int x, int y)
{
    if (m == MARK_EVENT)
        bw_svg_markup(svg, "<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\"/>", x, y,
                      marks[m].colour);
    else
        bw_svg_markup(svg, "<path d=\"M%d %dl7 7l-7 7l-7 -7z\" fill=\"%s\"/>", x, y - 7,
                      marks[m].colour);
}

static void draw_axis(bw_svg_t *svg, bw_arena_t *arena, const axis_t *a, bw_tz_t *tz, int bottom)
{
    for (int i = 0; i < N_TICKS; i++) {
        int64_t at = a->from + (a->to - a->from) * i / (N_TICKS - 1);
        int x = x_of(a, at);
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = at / BW_US_PER_SEC;
        const char *label = local_text(arena, tz, &ts, 0);
        bw_svg_markup(svg,
                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#dddddd\"/>"
                      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">",
                      x, TOP - 8, x, bottom, x, TOP - 14);
        bw_svg_text(svg, label != NULL ? label : "", 0);
        bw_svg_markup(svg, "</text>\n");
    }
}

static int render_timeline(bw_call_t *call, const incident_t *inc,
                           const Bulwark__Incidents__V1__Timeline *tl, uint8_t **data, size_t *len)
{
    axis_t a = {0, 0};
    widen(&a, ts_us(inc->aware_at));
    for (size_t i = 0; i < tl->n_entries; i++) {
        const entry_t *e = tl->entries[i];
        widen(&a, ts_us(e->time));
        if (e->item_case == BULWARK__INCIDENTS__V1__TIMELINE__ENTRY__ITEM_DEADLINE)
            widen(&a, ts_us(e->deadline->met_at));
    }
    if (a.to - a.from < BW_US_PER_HOUR) {
        a.from -= BW_US_PER_HOUR / 2;
        a.to += BW_US_PER_HOUR / 2;
    }
    int64_t pad = (a.to - a.from) / 20;
    a.from -= pad;
    a.to += pad;

    bw_tz_t *tz = NULL;
    if (bw_tz_open(inc->time_zone, &tz) != 0)
        tz = NULL;
    int rows = (int)tl->n_entries + 1;
    int bottom = TOP + rows * ROW_HEIGHT;
    int height = bottom + 60;
    bw_svg_t svg;
    bw_svg_begin(&svg, SVG_WIDTH, height);
    bw_svg_markup(&svg, "<title>Timeline of incident ");
    bw_svg_text(&svg, inc->title, 200);
    bw_svg_markup(&svg, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
                        "<text x=\"16\" y=\"28\" font-size=\"18\" font-weight=\"bold\">");
    bw_svg_text(&svg, inc->title, 90);
    bw_svg_markup(&svg, "</text>\n<text x=\"16\" y=\"50\" fill=\"#555555\">Times in ");
    bw_svg_text(&svg, inc->time_zone, 64);
    bw_svg_markup(&svg, "</text>\n");
    draw_axis(&svg, call->arena, &a, tz, bottom);

    int y = TOP + ROW_HEIGHT / 2;
    const char *aware = local_text(call->arena, tz, inc->aware_at, 0);
    bw_svg_markup(&svg, "<g class=\"aware\"><text x=\"16\" y=\"%d\">Became aware, ", y + 4);
    bw_svg_text(&svg, aware != NULL ? aware : "", 0);
    bw_svg_markup(&svg,
                  "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000000\" "
                  "stroke-width=\"2\"/></g>\n",
                  x_of(&a, ts_us(inc->aware_at)), TOP, x_of(&a, ts_us(inc->aware_at)), bottom);
    for (size_t i = 0; i < tl->n_entries; i++) {
        const entry_t *e = tl->entries[i];
        y += ROW_HEIGHT;
        if (e->item_case == BULWARK__INCIDENTS__V1__TIMELINE__ENTRY__ITEM_EVENT) {
            const Bulwark__Incidents__V1__Event *ev = e->event;
            int x = x_of(&a, ts_us(ev->occurred_at));
            bw_svg_markup(&svg, "<g class=\"event\"><title>");
            bw_svg_text(&svg, ev->note, 300);
            bw_svg_markup(&svg, "</title><text x=\"16\" y=\"%d\">", y + 4);
            bw_svg_text(&svg, enum_name(&bulwark__incidents__v1__event__type__descriptor, ev->type),
                        0);
            bw_svg_markup(&svg, "</text>");
            draw_marker(&svg, MARK_EVENT, x, y);
            bw_svg_markup(&svg, "</g>\n");
            continue;
        }
        const deadline_t *d = e->deadline;
        enum mark m = deadline_mark(d);
        bw_svg_markup(&svg, "<g class=\"deadline%s\"><text x=\"16\" y=\"%d\"%s>",
                      m == MARK_LATE ? " late" : "", y + 4,
                      m == MARK_LATE ? " fill=\"#c62828\" font-weight=\"bold\"" : "");
        bw_svg_text(&svg,
                    enum_name(&bulwark__incidents__v1__deadline__regime__descriptor, d->regime), 0);
        bw_svg_markup(&svg, " ");
        bw_svg_text(&svg, enum_name(&bulwark__incidents__v1__deadline__kind__descriptor, d->kind),
                    0);
        bw_svg_markup(&svg, ": ");
        bw_svg_text(&svg,
                    enum_name(&bulwark__incidents__v1__deadline__status__descriptor, d->status), 0);
        if (d->due_at != NULL) {
            const char *due = local_text(call->arena, tz, d->due_at, 0);
            bw_svg_markup(&svg, ", due ");
            bw_svg_text(&svg, due != NULL ? due : "", 0);
        }
        bw_svg_markup(&svg, "</text>");
        if (d->due_at != NULL) {
            int due = x_of(&a, ts_us(d->due_at));
            if (d->met_at != NULL) {
                int met = x_of(&a, ts_us(d->met_at));
                bw_svg_markup(
                    &svg,
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                    "stroke-width=\"2\"/><circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"%s\"/>",
                    due, y, met, y, marks[m].colour, met, y, marks[m].colour);
            }
            draw_marker(&svg, m, due, y);
        } else {
            bw_svg_markup(&svg, "<text x=\"%d\" y=\"%d\" fill=\"#555555\">no due time yet</text>",
                          PLOT_LEFT, y + 4);
        }
        bw_svg_markup(&svg, "</g>\n");
    }
    bw_tz_close(tz);
    int x = 16;
    y = bottom + 30;
    bw_svg_markup(&svg, "<g class=\"legend\">");
    for (int k = 0; k < N_MARKS; k++) {
        draw_marker(&svg, (enum mark)k, x + 7, y);
        bw_svg_markup(&svg, "<text x=\"%d\" y=\"%d\">%s</text>", x + 18, y + 4, marks[k].label);
        x += 40 + (int)strlen(marks[k].label) * 7;
    }
    bw_svg_markup(&svg, "</g>\n</svg>\n");
    return bw_svg_finish(&svg, call->arena, data, len);
}

int bw_incidents_render_timeline(bw_call_t *call, const ProtobufCMessage *request,
                                 ProtobufCMessage **resp)
{
    const Bulwark__Incidents__V1__GetTimelineRequest *req = (const void *)request;
    Bulwark__Incidents__V1__GetIncidentRequest get =
        BULWARK__INCIDENTS__V1__GET_INCIDENT_REQUEST__INIT;
    get.id = req->incident;
    ProtobufCMessage *inc = NULL, *tl = NULL;
    int err = bw_incidents_get(call, &get.base, &inc);
    if (err == 0)
        err = bw_incidents_timeline(call, request, &tl);
    if (err != 0)
        return err;
    Bulwark__Api__V1__HttpBody *out = bw_store_http_body(call);
    if (out == NULL)
        return BW_ENOMEM;
    err = render_timeline(call, (const incident_t *)inc, (const void *)tl, &out->data.data,
                          &out->data.len);
    if (err != 0)
        return err;
    *resp = &out->base;
    return 0;
}
