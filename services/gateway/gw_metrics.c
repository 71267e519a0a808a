/*
 * Fixed-size counters: statuses and buckets are known in advance, so each
 * observation is a few array increments and rendering walks the arrays.
 */
#include "gw_metrics.h"

#include "metrics.h"
#include "router.h"
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 408, 409, 412, 413,
                               414, 415, 417, 422, 429, 431, 499, 500, 501, 503, 504, 505, 0};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))
#define MAX_BACKENDS 8

typedef struct route_metrics {
    unsigned long long by_status[N_STATUSES];
    bw_metrics_hist_t latency;
} route_metrics_t;

typedef struct backend_metrics {
    const char *name;
    unsigned long long by_code[17];
    bw_metrics_hist_t latency;
} backend_metrics_t;

struct bw_gw_metrics {
    const bw_route_t *table;
    size_t n_table;
    backend_metrics_t backends[MAX_BACKENDS];
    unsigned long long conn_events[BW_GW_METRICS_CONN_EVENTS];
    size_t conn_open;
    unsigned long long readyz_rounds;
    route_metrics_t per_route[]; /* n_table + 1: the last is "unmatched" */
};
static const char *const conn_event_names[BW_GW_METRICS_CONN_EVENTS] = {
    [BW_GW_METRICS_CONN_ACCEPTED] = "accepted",
    [BW_GW_METRICS_CONN_REFUSED] = "refused",
    [BW_GW_METRICS_CONN_REFUSED_ADDRESS] = "refused_address",
    [BW_GW_METRICS_CONN_EVICTED] = "evicted",
    [BW_GW_METRICS_CONN_HEADER_TIMEOUT] = "header_timeout",
    [BW_GW_METRICS_CONN_BODY_TIMEOUT] = "body_timeout",
    [BW_GW_METRICS_CONN_WRITE_TIMEOUT] = "write_timeout",
    [BW_GW_METRICS_CONN_IDLE_TIMEOUT] = "idle_timeout",
};

int bw_gw_metrics_create(const bw_route_t *routes, size_t n_routes, bw_gw_metrics_t **out)
{
    /* One allocation: the counters and, after them, those of each route. */
    bw_gw_metrics_t *m = calloc(1, sizeof(*m) + (n_routes + 1) * sizeof(m->per_route[0]));
    *out = m;
    if (m == NULL)
        return BW_ENOMEM;
    m->table = routes;
    m->n_table = n_routes;
    return 0;
}

void bw_gw_metrics_destroy(bw_gw_metrics_t *m)
{
    free(m);
}

void bw_gw_metrics_observe(bw_gw_metrics_t *g, const bw_route_t *route, int http_status,
                           double seconds)
{
    if (g == NULL)
        return;
    route_metrics_t *m = &g->per_route[route != NULL ? (size_t)(route - g->table) : g->n_table];
    size_t s = 0;
    while (statuses[s] != 0 && statuses[s] != http_status)
        s++;
    m->by_status[s]++;
    bw_metrics_hist_observe(&m->latency, seconds);
}

void bw_gw_metrics_observe_backend(bw_gw_metrics_t *m, const char *backend, int grpc_status,
                                   double seconds)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < MAX_BACKENDS; i++) {
        backend_metrics_t *b = &m->backends[i];
        if (b->name == NULL)
            b->name = backend;
        if (strcmp(b->name, backend) == 0) {
            b->by_code[grpc_status >= 0 && grpc_status <= 16 ? grpc_status : 2]++;
            bw_metrics_hist_observe(&b->latency, seconds);
            return;
        }
    }
}

void bw_gw_metrics_conn_event(bw_gw_metrics_t *m, bw_gw_metrics_conn_event_t event)
{
    if (m != NULL && event < BW_GW_METRICS_CONN_EVENTS)
        m->conn_events[event]++;
}

void bw_gw_metrics_readyz_round(bw_gw_metrics_t *m)
{
    if (m != NULL)
        m->readyz_rounds++;
}

void bw_gw_metrics_conn_open(bw_gw_metrics_t *m, size_t open)
{
    if (m != NULL)
        m->conn_open = open;
}

/* The labels of route r of the table, the last one being "unmatched". */
static void route_labels(const bw_gw_metrics_t *m, size_t r, char *buf, size_t len)
{
    if (r < m->n_table)
        snprintf(buf, len, "method=\"%s\",route=\"%s\"", bw_router_method_name(m->table[r].method),
                 m->table[r].path);
    else
        snprintf(buf, len, "method=\"\",route=\"unmatched\"");
}

void bw_gw_metrics_render(const bw_gw_metrics_t *m, bw_metrics_text_t *t)
{
    char labels[512];
    bw_metrics_printf(t, "# HELP bulwark_http_requests_total HTTP requests by route and status.\n"
                         "# TYPE bulwark_http_requests_total counter\n");
    for (size_t r = 0; r <= m->n_table; r++)
        for (size_t s = 0; s < N_STATUSES; s++) {
            if (m->per_route[r].by_status[s] == 0)
                continue;
            route_labels(m, r, labels, sizeof(labels));
            char code[8] = "other";
            if (statuses[s] != 0)
                snprintf(code, sizeof(code), "%d", statuses[s]);
            bw_metrics_printf(t, "bulwark_http_requests_total{%s,status=\"%s\"} %llu\n", labels,
                              code, m->per_route[r].by_status[s]);
        }
    bw_metrics_printf(
        t, "# HELP bulwark_http_request_duration_seconds HTTP request latency by route.\n"
           "# TYPE bulwark_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= m->n_table; r++) {
        if (bw_metrics_hist_count(&m->per_route[r].latency) == 0)
            continue;
        route_labels(m, r, labels, sizeof(labels));
        bw_metrics_put_hist(t, "bulwark_http_request_duration_seconds", labels,
                            &m->per_route[r].latency);
    }
    bw_metrics_printf(t, "# HELP bulwark_grpc_calls_total gRPC calls to backends by status.\n"
                         "# TYPE bulwark_grpc_calls_total counter\n");
    for (size_t i = 0; i < MAX_BACKENDS && m->backends[i].name != NULL; i++)
        for (int c = 0; c <= 16; c++)
            if (m->backends[i].by_code[c] != 0)
                bw_metrics_printf(t, "bulwark_grpc_calls_total{backend=\"%s\",code=\"%s\"} %llu\n",
                                  m->backends[i].name, bw_status_grpc_name(c),
                                  m->backends[i].by_code[c]);
    bw_metrics_printf(t, "# HELP bulwark_grpc_call_duration_seconds gRPC call latency by backend.\n"
                         "# TYPE bulwark_grpc_call_duration_seconds histogram\n");
    for (size_t i = 0; i < MAX_BACKENDS && m->backends[i].name != NULL; i++) {
        snprintf(labels, sizeof(labels), "backend=\"%s\"", m->backends[i].name);
        bw_metrics_put_hist(t, "bulwark_grpc_call_duration_seconds", labels,
                            &m->backends[i].latency);
    }
    bw_metrics_printf(t,
                      "# HELP bulwark_http_connections Open client connections.\n"
                      "# TYPE bulwark_http_connections gauge\n"
                      "bulwark_http_connections %zu\n",
                      m->conn_open);
    bw_metrics_printf(
        t, "# HELP bulwark_http_connection_events_total Client connections accepted, refused "
           "at the cap or at their address's cap, evicted while idle, and cut at a "
           "deadline.\n"
           "# TYPE bulwark_http_connection_events_total counter\n");
    for (size_t i = 0; i < BW_GW_METRICS_CONN_EVENTS; i++)
        bw_metrics_printf(t, "bulwark_http_connection_events_total{event=\"%s\"} %llu\n",
                          conn_event_names[i], m->conn_events[i]);
    bw_metrics_printf(
        t,
        "# HELP bulwark_readyz_rounds_total Rounds of backend health checks made for /readyz.\n"
        "# TYPE bulwark_readyz_rounds_total counter\n"
        "bulwark_readyz_rounds_total %llu\n",
        m->readyz_rounds);
}
