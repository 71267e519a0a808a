/*
 * Fixed-size counters: statuses and buckets are known in advance, so each
 * observation is a few array increments and rendering walks the arrays.
 */
#include "gw_metrics.h"

#include "metrics.h"
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 408, 409, 412, 413,
                               414, 415, 417, 422, 429, 431, 499, 500, 501, 503, 504, 505, 0};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))
#define MAX_BACKENDS 8

typedef bw_metrics_hist_t histogram_t;

typedef struct route_metrics {
    unsigned long long by_status[N_STATUSES];
    histogram_t latency;
} route_metrics_t;

typedef struct backend_metrics {
    const char *name;
    unsigned long long by_code[17];
    histogram_t latency;
} backend_metrics_t;

static const bw_route_t *table;
static size_t n_table;
static route_metrics_t *per_route; /* n_table + 1: the last is "unmatched" */
static backend_metrics_t backends[MAX_BACKENDS];
static unsigned long long conn_events[BW_GW_METRICS_CONN_EVENTS];
static size_t conn_open;
static unsigned long long readyz_rounds;
static const char *const conn_event_names[BW_GW_METRICS_CONN_EVENTS] = {
    [BW_GW_METRICS_CONN_ACCEPTED] = "accepted",
    [BW_GW_METRICS_CONN_REFUSED] = "refused",
    [BW_GW_METRICS_CONN_EVICTED] = "evicted",
    [BW_GW_METRICS_CONN_HEADER_TIMEOUT] = "header_timeout",
    [BW_GW_METRICS_CONN_BODY_TIMEOUT] = "body_timeout",
    [BW_GW_METRICS_CONN_WRITE_TIMEOUT] = "write_timeout",
    [BW_GW_METRICS_CONN_IDLE_TIMEOUT] = "idle_timeout",
};

int bw_gw_metrics_init(const bw_route_t *routes, size_t n_routes)
{
    table = routes;
    n_table = n_routes;
    per_route = calloc(n_routes + 1, sizeof(*per_route));
    return per_route == NULL ? -1 : 0;
}

void bw_gw_metrics_free(void)
{
    free(per_route);
    per_route = NULL;
}

void bw_gw_metrics_observe(const bw_route_t *route, int http_status, double seconds)
{
    if (per_route == NULL)
        return;
    route_metrics_t *m = &per_route[route != NULL ? (size_t)(route - table) : n_table];
    size_t s = 0;
    while (statuses[s] != 0 && statuses[s] != http_status)
        s++;
    m->by_status[s]++;
    bw_metrics_hist_observe(&m->latency, seconds);
}

void bw_gw_metrics_observe_backend(const char *backend, int grpc_status, double seconds)
{
    for (size_t i = 0; i < MAX_BACKENDS; i++) {
        backend_metrics_t *b = &backends[i];
        if (b->name == NULL)
            b->name = backend;
        if (strcmp(b->name, backend) == 0) {
            b->by_code[grpc_status >= 0 && grpc_status <= 16 ? grpc_status : 2]++;
            bw_metrics_hist_observe(&b->latency, seconds);
            return;
        }
    }
}

void bw_gw_metrics_conn_event(bw_gw_metrics_conn_event_t event)
{
    if (event < BW_GW_METRICS_CONN_EVENTS)
        conn_events[event]++;
}

void bw_gw_metrics_readyz_round(void)
{
    readyz_rounds++;
}

void bw_gw_metrics_conn_open(size_t open)
{
    conn_open = open;
}

static const char *method_name(int m)
{
    static const char *const names[] = {"", "GET", "POST", "PUT", "PATCH", "DELETE"};
    return m >= 1 && m <= 5 ? names[m] : "OTHER";
}

void bw_gw_metrics_render(bw_metrics_text_t *text)
{
    bw_metrics_text_t *t = text;
    char labels[512];
    bw_metrics_printf(t, "# HELP bulwark_http_requests_total HTTP requests by route and status.\n"
                         "# TYPE bulwark_http_requests_total counter\n");
    for (size_t r = 0; r <= n_table; r++)
        for (size_t s = 0; s < N_STATUSES; s++) {
            if (per_route[r].by_status[s] == 0)
                continue;
            if (r < n_table)
                snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"",
                         method_name(table[r].method), table[r].path);
            else
                snprintf(labels, sizeof(labels), "method=\"\",route=\"unmatched\"");
            char code[8] = "other";
            if (statuses[s] != 0)
                snprintf(code, sizeof(code), "%d", statuses[s]);
            bw_metrics_printf(t, "bulwark_http_requests_total{%s,status=\"%s\"} %llu\n", labels,
                              code, per_route[r].by_status[s]);
        }
    bw_metrics_printf(
        t, "# HELP bulwark_http_request_duration_seconds HTTP request latency by route.\n"
           "# TYPE bulwark_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= n_table; r++) {
        if (bw_metrics_hist_count(&per_route[r].latency) == 0)
            continue;
        if (r < n_table)
            snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"",
                     method_name(table[r].method), table[r].path);
        else
            snprintf(labels, sizeof(labels), "method=\"\",route=\"unmatched\"");
        bw_metrics_put_hist(t, "bulwark_http_request_duration_seconds", labels,
                            &per_route[r].latency);
    }
    bw_metrics_printf(t, "# HELP bulwark_grpc_calls_total gRPC calls to backends by status.\n"
                         "# TYPE bulwark_grpc_calls_total counter\n");
    for (size_t i = 0; i < MAX_BACKENDS && backends[i].name != NULL; i++)
        for (int c = 0; c <= 16; c++)
            if (backends[i].by_code[c] != 0)
                bw_metrics_printf(t, "bulwark_grpc_calls_total{backend=\"%s\",code=\"%s\"} %llu\n",
                                  backends[i].name, bw_status_grpc_name(c), backends[i].by_code[c]);
    bw_metrics_printf(t, "# HELP bulwark_grpc_call_duration_seconds gRPC call latency by backend.\n"
                         "# TYPE bulwark_grpc_call_duration_seconds histogram\n");
    for (size_t i = 0; i < MAX_BACKENDS && backends[i].name != NULL; i++) {
        snprintf(labels, sizeof(labels), "backend=\"%s\"", backends[i].name);
        bw_metrics_put_hist(t, "bulwark_grpc_call_duration_seconds", labels, &backends[i].latency);
    }
    bw_metrics_printf(t,
                      "# HELP bulwark_http_connections Open client connections.\n"
                      "# TYPE bulwark_http_connections gauge\n"
                      "bulwark_http_connections %zu\n",
                      conn_open);
    bw_metrics_printf(
        t, "# HELP bulwark_http_connection_events_total Client connections accepted, refused "
           "at the cap, evicted while idle, and cut at a deadline.\n"
           "# TYPE bulwark_http_connection_events_total counter\n");
    for (size_t i = 0; i < BW_GW_METRICS_CONN_EVENTS; i++)
        bw_metrics_printf(t, "bulwark_http_connection_events_total{event=\"%s\"} %llu\n",
                          conn_event_names[i], conn_events[i]);
    bw_metrics_printf(
        t,
        "# HELP bulwark_readyz_rounds_total Rounds of backend health checks made for /readyz.\n"
        "# TYPE bulwark_readyz_rounds_total counter\n"
        "bulwark_readyz_rounds_total %llu\n",
        readyz_rounds);
}
