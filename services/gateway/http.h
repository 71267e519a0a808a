/*
 * The gateway's request handling, on its HTTP server (httpd.h): route
 * match, authentication, JSON -> protobuf, the asynchronous gRPC call, and
 * the JSON or problem+json reply. Everything runs on the event loop thread;
 * the only waits are for backends, and those are callbacks, never blocking
 * calls.
 */
#ifndef BW_GW_HTTP_H
#define BW_GW_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "httpd.h"
#include "buf.h"
#include "gw_metrics.h"
#include "jwt.h"
#include "keycache.h"
#include "authfail.h"
#include "ratelimit.h"
#include "tenantcache.h"
#include "rpc.h"
#include "usage.h"

#define BW_GW_MAX_BACKENDS 8

typedef struct bw_gw bw_gw_t;
typedef struct gw_request gw_request_t;

typedef struct bw_gw_backend {
    const char *name; /* "scoping", as in route.backend */
    const char *addr;
    bw_rpc_channel_t *channel;
} bw_gw_backend_t;

/* One backend's health check in a /readyz round. */
typedef struct bw_gw_readyz_call {
    bw_gw_t *gw;
    const char *backend;
} bw_gw_readyz_call_t;

/* The last round of backend health checks, answered for a second. */
typedef struct bw_gw_readyz {
    int valid;
    int ok;
    long long at_ns; /* monotonic time of the last round's end */
    json_t *checks;  /* backend -> "SERVING" | "NOT_SERVING" (owned) */
    json_t *probe;   /* the round in progress (owned) */
    int probe_ok;
    size_t pending; /* health checks of the round still out */
    bw_gw_readyz_call_t calls[BW_GW_MAX_BACKENDS];
    gw_request_t *waiters, *waiters_tail;
} bw_gw_readyz_t;

struct bw_gw {
    struct event_base *base;
    bw_httpd_t *httpd;
    bw_rpc_client_t *rpc;
    bw_gw_backend_t backends[BW_GW_MAX_BACKENDS];
    size_t n_backends;
    const char *operator_token; /* borrowed from the configuration */
    bw_jwt_verifier_t *jwt;     /* borrowed; NULL when OIDC tokens are off */
    bw_tenantcache_t *tenants;  /* borrowed: the tenants OIDC tokens named */
    bw_usage_t *usage;          /* borrowed: requests per tenant, keys' last use */
    bw_keycache_t *keys;        /* borrowed: resolved API keys (and unknown key ids) */
    bw_ratelimit_t *ratelimit;  /* borrowed: the tenants' token buckets */
    bw_authfail_t *authfail;    /* borrowed: failed authentications per address */
    bw_gw_metrics_t *metrics;   /* borrowed: the gateway's Prometheus counters */
    int backend_timeout_ms;
    const char *cors_origins; /* comma-separated allowed origins, "*" for any, "" none */
    bw_gw_readyz_t readyz;
    bw_buf_t reply_buf; /* JSON replies are rendered here, one at a time, on the loop */
    const bw_rpc_server_t *tenancy_server; /* borrowed: its calls show in /metrics */
    long inflight;                         /* requests accepted and not yet answered */
    int draining;                          /* no new connections; exit when the last one has gone */
};

/* Sets the request handler in opts, for bw_httpd_create. */
void bw_gw_http_setup(bw_gw_t *gw, bw_httpd_opts_t *opts);
/* Starts draining: called on SIGTERM. The loop exits when the last
 * connection has been answered and closed. */
void bw_gw_http_drain(bw_gw_t *gw);
/* Frees what request handling keeps between requests (call after the
 * loop and the gRPC client have stopped). */
void bw_gw_http_free(bw_gw_t *gw);

#endif
