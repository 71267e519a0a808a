/*
 * Prometheus metrics of the gateway: requests per route and status, request
 * latency histograms per route, gRPC call latency per backend. Counters are
 * updated on the event loop thread only, so plain ones suffice; histograms
 * and the text are common/metrics.h's. main.c makes the gateway's one set
 * and hands it to the HTTP server and the request handling.
 */
#ifndef BW_GW_METRICS_H
#define BW_GW_METRICS_H

#include <stddef.h>

#include "metrics.h"
#include "route.h"

typedef struct bw_gw_metrics bw_gw_metrics_t;

/* Counters for the route table (borrowed, must outlive them; caller owns
 * *out, freed with bw_gw_metrics_destroy): 0 or BW_ENOMEM. */
int bw_gw_metrics_create(const bw_route_t *routes, size_t n_routes, bw_gw_metrics_t **out);
/* Accepts NULL. The recording functions below take a NULL m too, and then
 * count nothing (an HTTP server without metrics, in a test). */
void bw_gw_metrics_destroy(bw_gw_metrics_t *m);
/* Records one HTTP request; route NULL for requests that matched no route. */
void bw_gw_metrics_observe(bw_gw_metrics_t *m, const bw_route_t *route, int http_status,
                           double seconds);
/* Records one gRPC call to a backend. */
void bw_gw_metrics_observe_backend(bw_gw_metrics_t *m, const char *backend, int grpc_status,
                                   double seconds);
/* What happened to client connections (httpd.c). */
typedef enum bw_gw_metrics_conn_event {
    BW_GW_METRICS_CONN_ACCEPTED,
    BW_GW_METRICS_CONN_REFUSED,         /* at the cap with none idle: 503 */
    BW_GW_METRICS_CONN_REFUSED_ADDRESS, /* its address at its own cap: 429 */
    BW_GW_METRICS_CONN_EVICTED,         /* idle, closed at the cap to admit another */
    BW_GW_METRICS_CONN_HEADER_TIMEOUT,  /* 408 */
    BW_GW_METRICS_CONN_BODY_TIMEOUT,    /* 408 */
    BW_GW_METRICS_CONN_WRITE_TIMEOUT,
    BW_GW_METRICS_CONN_IDLE_TIMEOUT,
    BW_GW_METRICS_CONN_EVENTS
} bw_gw_metrics_conn_event_t;

/* Counts one connection event. */
void bw_gw_metrics_conn_event(bw_gw_metrics_t *m, bw_gw_metrics_conn_event_t event);
/* Counts one round of /readyz health checks (one call per backend). */
void bw_gw_metrics_readyz_round(bw_gw_metrics_t *m);
/* Sets the gauge of open client connections. */
void bw_gw_metrics_conn_open(bw_gw_metrics_t *m, size_t open);
/* Renders the gateway's own metrics into text. */
void bw_gw_metrics_render(const bw_gw_metrics_t *m, bw_metrics_text_t *text);

#endif
