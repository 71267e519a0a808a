/*
 * Prometheus metrics of the gateway: requests per route and status, request
 * latency histograms per route, gRPC call latency per backend. Updated and
 * rendered on the event loop thread only, so plain counters suffice.
 */
#ifndef BW_GW_METRICS_H
#define BW_GW_METRICS_H

#include <stddef.h>

#include "route.h"

/* Prepares counters for the route table (borrowed, must outlive metrics). */
int bw_metrics_init(const bw_route_t *routes, size_t n_routes);
void bw_metrics_free(void);
/* Records one HTTP request; route NULL for requests that matched no route. */
void bw_metrics_observe(const bw_route_t *route, int http_status, double seconds);
/* Records one gRPC call to a backend. */
void bw_metrics_observe_backend(const char *backend, int grpc_status, double seconds);
/* What happened to client connections (httpd.c). */
typedef enum bw_metrics_conn_event {
    BW_METRICS_CONN_ACCEPTED,
    BW_METRICS_CONN_REFUSED,        /* at the cap with none idle: 503 */
    BW_METRICS_CONN_EVICTED,        /* idle, closed at the cap to admit another */
    BW_METRICS_CONN_HEADER_TIMEOUT, /* 408 */
    BW_METRICS_CONN_BODY_TIMEOUT,   /* 408 */
    BW_METRICS_CONN_WRITE_TIMEOUT,
    BW_METRICS_CONN_IDLE_TIMEOUT,
    BW_METRICS_CONN_EVENTS
} bw_metrics_conn_event_t;

/* Counts one connection event. */
void bw_metrics_conn_event(bw_metrics_conn_event_t event);
/* Counts one round of /readyz health checks (one call per backend). */
void bw_metrics_readyz_round(void);
/* Sets the gauge of open client connections. */
void bw_metrics_conn_open(size_t open);
/* The exposition text (caller frees with free()). */
char *bw_metrics_render(size_t *len);

#endif
