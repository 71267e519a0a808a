/*
 * The gateway's HTTP side: evhttp request handling from route match through
 * authentication, JSON -> protobuf, the asynchronous gRPC call, and the JSON
 * or problem+json reply. Everything runs on the event loop thread; the only
 * waits are for backends, and those are callbacks, never blocking calls.
 */
#ifndef BW_GW_HTTP_H
#define BW_GW_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "jwt.h"
#include "rpc.h"

#define BW_GW_MAX_BACKENDS 8

typedef struct bw_gw_backend {
    const char *name; /* "scoping", as in route.backend */
    const char *addr;
    bw_rpc_channel_t *channel;
} bw_gw_backend_t;

typedef struct bw_gw {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *listener;
    bw_rpc_client_t *rpc;
    bw_gw_backend_t backends[BW_GW_MAX_BACKENDS];
    size_t n_backends;
    const char *operator_token; /* borrowed from the configuration */
    bw_jwt_verifier_t *jwt;     /* borrowed; NULL when OIDC tokens are off */
    size_t max_body;
    int backend_timeout_ms;
    const char *cors_origins;   /* comma-separated allowed origins, "*" for any, "" none */
    long inflight;  /* requests accepted and not yet answered */
    int draining;   /* no new connections; exit when inflight reaches 0 */
} bw_gw_t;

/* Registers the request handler on gw->http. */
void bw_gw_http_setup(bw_gw_t *gw);
/* Starts draining: called on SIGTERM. The loop exits when the last request
 * in flight has been answered. */
void bw_gw_http_drain(bw_gw_t *gw);

#endif
