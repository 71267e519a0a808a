/*
 * Request handling of the gateway. A request goes through these steps, each
 * able to end it with a problem+json reply:
 *   0. the request headers the gateway acts on are read and checked
 *      (headers.c): a malformed one is a 400 naming it;
 *   1. open endpoints (/healthz, /readyz, /metrics, /v1/openapi.json, /docs);
 *   2. route match (404, or 405 with Allow);
 *   3. authentication: a client address with too many failed attempts is
 *      refused first (429, authfail.c); then the operator token, or an API
 *      key found in the key cache or, on a miss, resolved by an asynchronous
 *      call to the tenancy RPCs (a key id they did not know is not asked
 *      about again for a while); an expired key is a 401, a suspended
 *      tenant's credential a 403; then the tenant's rate limit (whose
 *      RateLimit fields every later reply carries) and the route's roles,
 *      and the request is counted for the tenant (usage.c);
 *   4. the request message built from path variables, the query string and
 *      the JSON body (for PATCH, the fields present become the update mask),
 *      by reqbuild.c, a pure function tested on its own; a raw route
 *      (BW_ACCESS_SERVICE: an inbound webhook that its service
 *      authenticates) skips step 3 and gets the body's bytes and the headers
 *      unparsed instead;
 *   5. the asynchronous gRPC call to the owning service, with the tenant,
 *      principal, roles and request id in metadata;
 *   6. the reply rendered as JSON, or the call's status as problem+json.
 * One gw_request_t lives on the request's arena (owned by httpd.c) from step
 * 0 until the reply. HEAD is served as GET without the body.
 */
#include "http.h"

#include "bulwark/api/v1/http.pb-c.h"
#include "bulwark/tenancy/v1/tenancy.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#include "apidocs.h"
#include "authfail.h"
#include "db.h"
#include "gw_metrics.h"
#include "headers.h"
#include "hex.h"
#include "ids.h"
#include "json.h"
#include "keycache.h"
#include "log.h"
#include "problem.h"
#include "ratelimit.h"
#include "reqbuild.h"
#include "roles.h"
#include "route.h"
#include "router.h"
#include "status.h"
#include "times.h"
#include "trace.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How long /readyz answers from the last round of health checks. */
#define READYZ_CACHE_NS 1000000000LL
#define RESOLVE_RPC "/bulwark.tenancy.v1.TenancyService/ResolveApiKey"
#define RESOLVE_TENANT_RPC "/bulwark.tenancy.v1.TenancyService/ResolveTenant"
#define HEALTH_RPC "/grpc.health.v1.Health/Check"

struct gw_request {
    bw_gw_t *gw;
    bw_httpd_req_t *req;
    bw_arena_t *arena; /* req->arena */
    const char *path;
    char request_id[BW_HEADERS_REQUEST_ID_MAX + 1];
    bw_trace_t trace; /* the client's valid traceparent, or a trace started here */
    /* What every service call carries: the trace with this request's own
     * span as the parent; "" when no trace could be made. */
    char traceparent[BW_TRACEPARENT_LEN + 1];
    struct timespec start;
    bw_headers_t hdr;
    bw_route_match_t match;
    /* The call made: match.route, or for a file it renders, file_route
     * (match.route with file_rpc's request and reply). */
    const bw_route_t *call;
    bw_route_t file_route;
    const char *media_type; /* a file's media type, from Accept; NULL for JSON */
    const char *token;
    bw_key_entry_t key;
    uint64_t key_generation; /* the key (or tenant) cache's, when the lookup began */
    unsigned token_roles;    /* an OIDC token's roles, while its tenant is looked up */
    const char *token_role_names;
    const char *principal;
    const char *roles;
    uint8_t *payload;
    size_t payload_len;
    struct timespec call_start;
    int method;                /* BW_HTTP_*; HEAD counts as GET */
    bw_ratelimit_state_t rate; /* the tenant's bucket, once the limit counted the request */
    int rate_counted;
    gw_request_t *next_waiter; /* /readyz: waiting for a round of health checks */
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static long long monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static bw_log_ctx_t log_ctx(const gw_request_t *r)
{
    bw_log_ctx_t ctx = {r->request_id, r->key.tenant_id[0] ? r->key.tenant_id : NULL,
                        r->trace.trace_id[0] ? r->trace.trace_id : NULL};
    return ctx;
}

/* Takes the client's trace when its traceparent is valid, else starts one
 * (W3C Trace Context: a malformed header restarts the trace, it never
 * fails the request), and names this request's span in r->traceparent. */
static void trace_begin(gw_request_t *r)
{
    const char *tp = r->hdr.traceparent;
    char span[BW_TRACE_SPAN_LEN + 1];
    int err;
    if (tp != NULL && bw_trace_parse(tp, strlen(tp), &r->trace) == 0) {
        err = bw_trace_new_span(span);
    } else {
        /* A new trace's first span is this request's. */
        err = bw_trace_start(&r->trace);
        memcpy(span, r->trace.parent_id, sizeof(span));
    }
    if (err != 0) {
        r->trace.trace_id[0] = '\0';
        r->traceparent[0] = '\0';
        return;
    }
    bw_trace_format(&r->trace, span, r->traceparent);
}

static void add_header(gw_request_t *r, const char *name, const char *value)
{
    if (value == NULL || bw_httpd_add_header(r->req, name, value) != 0)
        bw_log(BW_LOG_WARN, NULL, "reply header %s dropped", name);
}

/* Sends status with body (may be NULL) and ends r: r and its arena are
 * gone when it returns. */
static void respond(gw_request_t *r, int status, const char *content_type, const char *body,
                    size_t len)
{
    add_header(r, "X-Request-Id", r->request_id);
    if (r->trace.trace_id[0] != '\0')
        add_header(r, "Trace-Id", r->trace.trace_id);
    if (r->rate_counted) {
        char value[BW_RATELIMIT_FIELD_MAX];
        bw_ratelimit_format(&r->rate, value, sizeof(value));
        add_header(r, "RateLimit-Policy", bw_ratelimit_policy(r->gw->ratelimit));
        add_header(r, "RateLimit", value);
    }
    double seconds = seconds_since(&r->start);
    bw_gw_metrics_observe(r->gw->metrics, r->match.route, status, seconds);
    int level = status >= 500 ? BW_LOG_WARN : BW_LOG_INFO;
    if (level >= bw_log_min_level && (bw_log_requests || status >= 500)) {
        bw_log_ctx_t ctx = log_ctx(r);
        /* "GET /v1/entities/{id}" and "200", by hand: once a request. */
        char method[300], status_text[BW_DECIMAL_MAX + 1];
        const char *name = bw_router_method_name(r->method);
        const char *path = r->match.route != NULL ? r->match.route->path : "";
        size_t nl = strlen(name), pl = strlen(path);
        if (pl > sizeof(method) - nl - 2)
            pl = sizeof(method) - nl - 2;
        memcpy(method, name, nl);
        method[nl] = ' ';
        memcpy(method + nl + (pl > 0), path, pl);
        method[nl + (pl > 0) + pl] = '\0';
        status_text[BW_DECIMAL_MAX] = '\0';
        const char *code = bw_decimal(status_text + BW_DECIMAL_MAX, false, (uint64_t)status);
        bw_log_outcome_t outcome = {method, code, (long long)(seconds * 1e6)};
        bw_log_done(level, &ctx, &outcome, "%s answered %d", r->path, status);
    }
    r->gw->inflight--;
    bw_httpd_respond(r->req, status, body != NULL ? content_type : NULL, body,
                     body != NULL ? len : 0);
}

static void respond_problem(gw_request_t *r, const bw_problem_t *problem)
{
    bw_problem_t p = *problem;
    p.instance = r->path;
    p.request_id = r->request_id;
    size_t len = 0;
    char *body = bw_problem_render(&p, &len);
    int status = bw_problem_status(&p);
    if (status == 401)
        add_header(r, "WWW-Authenticate", "Bearer realm=\"bulwark\"");
    /* A service or the database is down (a restart, a failover): worth
     * trying again in a second. */
    if (status == 503)
        add_header(r, "Retry-After", "1");
    respond(r, status, "application/problem+json", body, len);
    free(body);
}

/* A problem with one optional field error. */
static void fail(gw_request_t *r, int grpc_code, int http_status, const char *reason,
                 const char *detail, const char *field)
{
    bw_problem_error_t e = {field, detail};
    bw_problem_t p = {.grpc_code = grpc_code,
                      .http_status = http_status,
                      .reason = reason,
                      .detail = detail,
                      .errors = field != NULL ? &e : NULL,
                      .n_errors = field != NULL ? 1 : 0};
    respond_problem(r, &p);
}

static void respond_json(gw_request_t *r, int status, json_t *doc)
{
    /* 15 significant digits print 12.3 as 12.3, not 12.300000000000001;
     * headcounts and percentages never need more. */
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    if (body == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "could not render the reply", NULL);
        return;
    }
    respond(r, status, "application/json", body, strlen(body));
    free(body);
}

/* The string field "etag" of a reply, when it has one. */
static const char *message_etag(const ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "etag");
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return *(char *const *)((const char *)msg + f->offset);
}

static const bw_gw_backend_t *find_backend(const bw_gw_t *gw, const char *name)
{
    for (size_t i = 0; i < gw->n_backends; i++)
        if (strcmp(gw->backends[i].name, name) == 0)
            return &gw->backends[i];
    return NULL;
}

/* ---- CORS -------------------------------------------------------------- */

#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id, "        \
    "traceparent"
#define CORS_EXPOSE_HEADERS                                                                        \
    "ETag, Retry-After, X-Request-Id, Trace-Id, WWW-Authenticate, RateLimit, RateLimit-Policy"

/* Whether origin is in the comma-separated allow-list. */
static int origin_allowed(const char *list, const char *origin)
{
    size_t n = strlen(origin);
    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if ((trimmed == 1 && p[0] == '*') || (trimmed == n && strncmp(p, origin, n) == 0))
            return trimmed > 0;
        p += len;
    }
    return 0;
}

/* Adds the CORS headers for an allowed Origin; answers a preflight (1) or
 * lets the request go on (0). */
static int handle_cors(gw_request_t *r)
{
    const char *origin = r->hdr.origin;
    int allowed = origin != NULL && origin_allowed(r->gw->cors_origins, origin);
    if (allowed) {
        add_header(r, "Access-Control-Allow-Origin", origin);
        add_header(r, "Vary", "Origin");
        add_header(r, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    if (r->req->method != BW_HTTPPARSE_OPTIONS)
        return 0;
    if (allowed && bw_httpd_header(r->req, "Access-Control-Request-Method") != NULL) {
        add_header(r, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
        add_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        add_header(r, "Access-Control-Max-Age", "600");
    }
    respond(r, 204, NULL, NULL, 0);
    return 1;
}

/* ---- open endpoints ---------------------------------------------------- */

/* /readyz answers from one round of health checks for READYZ_CACHE_NS, so
 * that many probes do not each ask every backend; requests that arrive
 * while a round is out wait for it. */
static void readyz_answer(gw_request_t *r)
{
    const bw_gw_readyz_t *z = &r->gw->readyz;
    int ok = z->ok && !r->gw->draining;
    respond_json(
        r, ok ? 200 : 503,
        json_pack("{s:s, s:O}", "status", ok ? "ready" : "not ready", "backends", z->checks));
}

static void readyz_round_done(bw_gw_t *gw)
{
    bw_gw_readyz_t *z = &gw->readyz;
    json_decref(z->checks);
    z->checks = z->probe;
    z->ok = z->probe_ok && z->checks != NULL;
    z->probe = NULL;
    z->at_ns = monotonic_ns();
    z->valid = 1;
    gw_request_t *w = z->waiters;
    z->waiters = z->waiters_tail = NULL;
    while (w != NULL) {
        gw_request_t *next = w->next_waiter;
        readyz_answer(w);
        w = next;
    }
}

static void readyz_checked(bw_gw_readyz_call_t *call, int serving)
{
    bw_gw_readyz_t *z = &call->gw->readyz;
    json_object_set_new(z->probe, call->backend, json_string(serving ? "SERVING" : "NOT_SERVING"));
    z->probe_ok &= serving;
    if (--z->pending == 0)
        readyz_round_done(call->gw);
}

static void readyz_call_done(void *arg, const bw_rpc_reply_t *reply)
{
    int serving = 0;
    if (reply->status == BW_GRPC_OK) {
        Grpc__Health__V1__HealthCheckResponse *h = grpc__health__v1__health_check_response__unpack(
            NULL, reply->payload_len, reply->payload);
        serving = h != NULL &&
                  h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        grpc__health__v1__health_check_response__free_unpacked(h, NULL);
    }
    readyz_checked(arg, serving);
}

/* Asks every backend's health check (which pings its database) at once,
 * unless a round less than READYZ_CACHE_NS old answers. */
static void handle_readyz(gw_request_t *r)
{
    bw_gw_t *gw = r->gw;
    bw_gw_readyz_t *z = &gw->readyz;
    if (gw->n_backends == 0) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "NOT_READY", "no backends", NULL);
        return;
    }
    if (z->valid && monotonic_ns() - z->at_ns < READYZ_CACHE_NS) {
        readyz_answer(r);
        return;
    }
    r->next_waiter = NULL;
    if (z->waiters_tail != NULL)
        z->waiters_tail->next_waiter = r;
    else
        z->waiters = r;
    z->waiters_tail = r;
    if (z->pending > 0)
        return;
    z->probe = json_object();
    z->probe_ok = 1;
    z->pending = gw->n_backends;
    bw_gw_metrics_readyz_round(gw->metrics);
    for (size_t i = 0; i < gw->n_backends; i++) {
        bw_gw_readyz_call_t *call = &z->calls[i];
        call->gw = gw;
        call->backend = gw->backends[i].name;
        if (bw_rpc_call(gw->backends[i].channel, HEALTH_RPC, NULL, 0, NULL, 0, 2000,
                        readyz_call_done, call) != 0)
            readyz_checked(call, 0);
    }
}

/* One file of the API reference page (apidocs.h): revalidated by its
 * entity-tag (no-cache: a new gateway's page is seen at once), gzip-coded
 * when the client takes it, the page under its Content-Security-Policy. */
static void serve_apidocs(gw_request_t *r, const bw_apidocs_asset_t *a)
{
    char etag[80];
    /* Weak: the gzip coding and the plain bytes are one representation. */
    snprintf(etag, sizeof(etag), "W/\"%s\"", a->etag);
    add_header(r, "ETag", etag);
    add_header(r, "Cache-Control", "no-cache");
    add_header(r, "X-Content-Type-Options", "nosniff");
    add_header(r, "Referrer-Policy", "no-referrer");
    add_header(r, "Content-Security-Policy", bw_apidocs_csp);
    if (a->gzip != NULL)
        add_header(r, "Vary", "Accept-Encoding");
    if (bw_headers_none_match(r->hdr.if_none_match, a->etag)) {
        respond(r, 304, NULL, NULL, 0);
        return;
    }
    if (a->gzip != NULL && bw_headers_accepts_gzip(bw_httpd_header(r->req, "Accept-Encoding"))) {
        add_header(r, "Content-Encoding", "gzip");
        respond(r, 200, a->content_type, (const char *)a->gzip, a->gzip_len);
        return;
    }
    respond(r, 200, a->content_type, (const char *)a->body, a->len);
}

/* Answers the endpoints that need no credential; 1 when it did. */
static int handle_open(gw_request_t *r, int method)
{
    const bw_apidocs_asset_t *asset;
    if (method != BW_HTTP_GET)
        return 0;
    if (strcmp(r->path, "/healthz") == 0) {
        respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(r->path, "/readyz") == 0) {
        handle_readyz(r);
    } else if (strcmp(r->path, "/metrics") == 0) {
        /* the gateway's HTTP side, the tenancy RPCs it serves, its pool */
        bw_metrics_text_t t;
        bw_metrics_text_init(&t);
        bw_gw_metrics_render(r->gw->metrics, &t);
        bw_rpc_server_metrics(r->gw->tenancy_server, &t);
        bw_db_metrics(&t);
        size_t len = 0;
        char *text = bw_metrics_text_finish(&t, &len);
        respond(r, text != NULL ? 200 : 503, "text/plain; version=0.0.4", text,
                text != NULL ? len : 0);
        free(text);
    } else if (strcmp(r->path, "/v1/openapi.json") == 0) {
        respond(r, 200, "application/json", bw_openapi_json, strlen(bw_openapi_json));
    } else if ((asset = bw_apidocs_find(r->path)) != NULL) {
        serve_apidocs(r, asset);
    } else {
        return 0;
    }
    return 1;
}

/* ---- the backend call -------------------------------------------------- */

/* A file name fit for Content-Disposition without quoting rules: letters,
 * digits, '.', '-', '_', 1 to 100 of them, not starting with a dot. */
static int safe_filename(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 100 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && strchr(".-_", name[i]) == NULL)
            return 0;
    return 1;
}

/* A file or a picture (bulwark.api.v1.HttpBody) as the body, with the media
 * type Accept chose. Nothing in it may run: nosniff, and a picture under a
 * policy without scripts, should it be opened on its own. */
static void respond_file(gw_request_t *r, const ProtobufCMessage *msg)
{
    const Bulwark__Api__V1__HttpBody *file = (const Bulwark__Api__V1__HttpBody *)msg;
    const char *type = r->media_type;
    if (strncmp(type, "text/", 5) == 0 || strcmp(type, "image/svg+xml") == 0)
        type = bw_arena_printf(r->arena, "%s; charset=utf-8", type);
    if (file->filename[0] != '\0') {
        if (!safe_filename(file->filename)) {
            fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "the service named the file badly", NULL);
            return;
        }
        add_header(r, "Content-Disposition",
                   bw_arena_printf(r->arena, "attachment; filename=\"%s\"", file->filename));
    }
    add_header(r, "X-Content-Type-Options", "nosniff");
    add_header(r, "Content-Security-Policy", "default-src 'none'; sandbox");
    respond(r, 200, type, (const char *)file->data.data, file->data.len);
}

static void retry_after(gw_request_t *r, int seconds);

static void call_done(void *arg, const bw_rpc_reply_t *reply)
{
    gw_request_t *r = arg;
    const bw_route_t *route = r->call;
    bw_gw_metrics_observe_backend(r->gw->metrics, route->backend, reply->status,
                                  seconds_since(&r->call_start));
    if (reply->status == BW_GRPC_UNAUTHENTICATED && route->access == BW_ACCESS_SERVICE)
        bw_authfail_record(r->gw->authfail, r->req->peer, monotonic_ns());
    if (reply->status != BW_GRPC_OK) {
        bw_problem_error_t errors[BW_RPC_MAX_VIOLATIONS];
        size_t n = reply->n_violations < BW_RPC_MAX_VIOLATIONS ? reply->n_violations
                                                               : BW_RPC_MAX_VIOLATIONS;
        for (size_t i = 0; i < n; i++) {
            errors[i].field = reply->violations[i].field;
            errors[i].message = reply->violations[i].message;
        }
        bw_problem_t p = {.grpc_code = reply->status,
                          .reason = reply->reason,
                          .detail = reply->message,
                          .errors = errors,
                          .n_errors = n};
        /* The gateway cancels no call while it serves: CANCELLED comes from
         * the service's side, a service stopping (SIGTERM) that refuses the
         * calls queued for a worker that none has started. Not run, so
         * worth retrying: 503 with Retry-After. */
        if (reply->status == BW_GRPC_CANCELLED) {
            p.grpc_code = BW_GRPC_UNAVAILABLE;
            p.reason = "UNAVAILABLE";
            p.errors = NULL;
            p.n_errors = 0;
        }
        /* A service's own limit (the inbound routes' per connection) says
         * when to try again. */
        if (reply->status == BW_GRPC_RESOURCE_EXHAUSTED && reply->retry_after_sec > 0)
            retry_after(r, reply->retry_after_sec > 86400 ? 86400 : reply->retry_after_sec);
        /* Never pass a backend's internal detail to the client. */
        if (reply->status == BW_GRPC_INTERNAL || reply->status == BW_GRPC_UNKNOWN)
            p.detail = "internal error; the request id identifies it in the logs";
        /* A service that cannot be reached, or one that says a service it
         * needs cannot (its own reason and detail): one problem type. */
        if (reply->status == BW_GRPC_UNAVAILABLE &&
            (reply->reason == NULL || reply->reason[0] == 0)) {
            p.reason = "SERVICE_UNAVAILABLE";
            p.detail = bw_arena_printf(r->arena, "the %s service is unavailable; retry later",
                                       route->backend);
        }
        respond_problem(r, &p);
        return;
    }
    if (route->response == &google__protobuf__empty__descriptor) {
        respond(r, 204, NULL, NULL, 0);
        return;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(
        route->response, bw_arena_protobuf_allocator(r->arena), reply->payload_len, reply->payload);
    if (msg == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "the service sent an unreadable reply", NULL);
        return;
    }
    if (route->response == &bulwark__api__v1__http_body__descriptor) {
        respond_file(r, msg);
        return;
    }
    /* A single resource carries its etag: as a header, and as the validator
     * of a conditional GET. */
    const char *etag = message_etag(msg);
    if (etag != NULL && *etag != '\0') {
        add_header(r, "ETag", bw_arena_printf(r->arena, "\"%s\"", etag));
        if (r->method == BW_HTTP_GET && bw_headers_none_match(r->hdr.if_none_match, etag)) {
            respond(r, 304, NULL, NULL, 0);
            return;
        }
    }
    /* Written straight from the message into the loop's one reply buffer:
     * no JSON tree, no allocation once the buffer has grown. */
    bw_buf_t *out = &r->gw->reply_buf;
    bw_buf_reset(out);
    if (bw_pb_write_json(msg, out) != 0) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "could not render the reply", NULL);
        return;
    }
    respond(r, route->success_status ? route->success_status : 200, "application/json", out->data,
            out->len);
}

static void call_backend(gw_request_t *r)
{
    const bw_route_t *route = r->call;
    const bw_gw_backend_t *backend = find_backend(r->gw, route->backend);
    if (backend == NULL) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "BACKEND_NOT_CONFIGURED",
             "the service behind this route is not configured", NULL);
        return;
    }
    bw_rpc_md_t md[8];
    size_t n = 0;
    md[n++] = (bw_rpc_md_t){"x-request-id", r->request_id};
    if (r->traceparent[0] != '\0')
        md[n++] = (bw_rpc_md_t){"traceparent", r->traceparent};
    if (r->key.tenant_id[0] != '\0')
        md[n++] = (bw_rpc_md_t){"x-tenant-id", r->key.tenant_id};
    md[n++] = (bw_rpc_md_t){"x-principal", r->principal};
    if (r->roles != NULL)
        md[n++] = (bw_rpc_md_t){"x-roles", r->roles};
    if (r->key.board_member[0] != '\0')
        md[n++] = (bw_rpc_md_t){"x-board-member", r->key.board_member};
    if (r->hdr.idempotency_key != NULL)
        md[n++] = (bw_rpc_md_t){"idempotency-key", r->hdr.idempotency_key};
    if (r->hdr.if_match != NULL) {
        const char *tag = bw_arena_strndup(r->arena, r->hdr.if_match, r->hdr.if_match_len);
        if (tag == NULL) {
            fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "out of memory", NULL);
            return;
        }
        md[n++] = (bw_rpc_md_t){"if-match", tag};
    }
    clock_gettime(CLOCK_MONOTONIC, &r->call_start);
    if (bw_rpc_call(backend->channel, route->rpc, r->payload, r->payload_len, md, n,
                    r->gw->backend_timeout_ms, call_done, r) != 0)
        fail(r, BW_GRPC_UNAVAILABLE, 0, "SERVICE_UNAVAILABLE", "the service is unavailable", NULL);
}

/* ---- the request message ----------------------------------------------- */

/* Builds and serializes the request message (reqbuild.c); on failure it has
 * answered. */
static int build_request(gw_request_t *r)
{
    const bw_httpd_req_t *req = r->req;
    bw_reqbuild_in_t in = {.call = r->call,
                           .match = &r->match,
                           .method = r->method,
                           .query = req->query,
                           .content_type = r->hdr.content_type,
                           .body = req->body,
                           .body_len = req->body_len,
                           .media_type = r->media_type,
                           .headers = req->fields,
                           .n_headers = req->n_fields};
    bw_reqbuild_out_t out;
    bw_problem_t problem;
    if (bw_reqbuild(r->arena, &in, &out, &problem) != 0) {
        respond_problem(r, &problem);
        return -1;
    }
    r->payload = out.payload;
    r->payload_len = out.payload_len;
    return 0;
}

/* ---- authentication ---------------------------------------------------- */

static void retry_after(gw_request_t *r, int seconds)
{
    char value[16];
    snprintf(value, sizeof(value), "%d", seconds);
    add_header(r, "Retry-After", value);
}

/* Takes a token of the tenant's bucket; answers 429 when there is none.
 * From here on every reply carries the RateLimit fields. */
static int rate_allowed(gw_request_t *r)
{
    if (!bw_ratelimit_enabled(r->gw->ratelimit))
        return 1;
    r->rate.reset_sec = 0;
    int err = bw_ratelimit_take(r->gw->ratelimit, r->key.tenant_id, monotonic_ns(), &r->rate);
    /* Set unless the table could not grow (then the limit fails open). */
    r->rate_counted = r->rate.reset_sec > 0;
    if (err == 0)
        return 1;
    int retry = (int)r->rate.reset_sec;
    retry_after(r, retry);
    fail(r, BW_GRPC_RESOURCE_EXHAUSTED, 429, "RATE_LIMITED",
         bw_arena_printf(r->arena, "the tenant's request rate is over its limit; retry in %d s",
                         retry),
         NULL);
    return 0;
}

/* A credential was presented and is wrong: counted against the client's
 * address, then 401. */
static void fail_credentials(gw_request_t *r, const char *detail)
{
    bw_authfail_record(r->gw->authfail, r->req->peer, monotonic_ns());
    fail(r, BW_GRPC_UNAUTHENTICATED, 0, "INVALID_CREDENTIALS", detail, NULL);
}

/* Whether the client's address may try a credential now; answers 429 when
 * it has failed too often. */
static int auth_allowed(gw_request_t *r)
{
    int retry = 1;
    if (bw_authfail_check(r->gw->authfail, r->req->peer, monotonic_ns(), &retry) == 0)
        return 1;
    retry_after(r, retry);
    fail(r, BW_GRPC_RESOURCE_EXHAUSTED, 429, "TOO_MANY_FAILED_AUTHENTICATIONS",
         bw_arena_printf(r->arena,
                         "too many failed authentications from this address; retry in %d s", retry),
         NULL);
    return 0;
}

/* The caller is known: its tenant must be under its rate (every request
 * of a tenant counts, refused or not), its roles must include one of the
 * route's; then the request goes to its service. */
static void admit(gw_request_t *r, unsigned roles, const char *role_names)
{
    if (!rate_allowed(r))
        return;
    if ((roles & r->match.route->roles) == 0) {
        fail(r, BW_GRPC_PERMISSION_DENIED, 0, "ROLE_NOT_ALLOWED",
             bw_arena_printf(r->arena, "the role %s may not call this route", role_names), NULL);
        return;
    }
    r->roles = role_names;
    /* Counted in memory; written once a minute (usage.c). */
    bw_usage_record(r->gw->usage, r->key.tenant_id, r->key.key_id);
    if (build_request(r) == 0)
        call_backend(r);
}

/* A suspended tenant's credentials are refused, with a type of their own. */
static void fail_suspended(gw_request_t *r)
{
    fail(r, BW_GRPC_PERMISSION_DENIED, 0, "TENANT_SUSPENDED",
         "the tenant is suspended: its API keys and tokens are refused until the operator "
         "resumes it",
         NULL);
}

/* The key is known and its token verified: an expired key is no
 * credential, a suspended tenant's key is refused. */
static void authorised(gw_request_t *r)
{
    if (r->key.expire_us != 0 && bw_time_now_us() >= r->key.expire_us) {
        char when[BW_TIME_TEXT_MAX];
        bw_time_format_us(r->key.expire_us, BW_TIME_FRACTION_NONE, when);
        bw_authfail_record(r->gw->authfail, r->req->peer, monotonic_ns());
        fail(
            r, BW_GRPC_UNAUTHENTICATED, 0, "API_KEY_EXPIRED",
            bw_arena_printf(r->arena, "the API key expired at %s; an admin issues a new one", when),
            NULL);
        return;
    }
    if (r->key.tenant_suspended) {
        fail_suspended(r);
        return;
    }
    r->principal = bw_arena_printf(r->arena, "api-key:%s", r->key.key_id);
    admit(r, bw_role_bit(r->key.role, strlen(r->key.role)), r->key.role);
}

/* The token is the key's current one, or the one a rotation replaced while
 * its grace period lasts. */
static int token_matches(const gw_request_t *r)
{
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(r->token, strlen(r->token), digest);
    int current = bw_ct_equal(digest, r->key.token_sha256, BW_SHA256_LEN);
    int previous = bw_ct_equal(digest, r->key.previous_sha256, BW_SHA256_LEN);
    return current || (previous && r->key.previous_until_us != 0 &&
                       bw_time_now_us() < r->key.previous_until_us);
}

/* Asks the tenancy RPC rpc with req, which names one key or tenant (its id
 * packs in a few dozen bytes), without blocking the loop; done completes
 * the request. generation is that cache's at the asking. */
static void ask_tenancy(gw_request_t *r, const char *rpc, const ProtobufCMessage *req,
                        uint64_t generation, bw_rpc_done_fn done)
{
    const bw_gw_backend_t *tenancy = find_backend(r->gw, "tenancy");
    bw_rpc_md_t md[2] = {{"x-request-id", r->request_id}, {"traceparent", r->traceparent}};
    uint8_t buf[64];
    size_t len = protobuf_c_message_get_packed_size(req);
    r->key_generation = generation;
    clock_gettime(CLOCK_MONOTONIC, &r->call_start);
    if (tenancy == NULL || len > sizeof(buf) ||
        bw_rpc_call(tenancy->channel, rpc, buf, protobuf_c_message_pack(req, buf), md,
                    r->traceparent[0] != '\0' ? 2 : 1, r->gw->backend_timeout_ms, done, r) != 0)
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now", NULL);
}

/* Microseconds of a Timestamp, 0 when unset. */
static long long timestamp_us(const Google__Protobuf__Timestamp *ts)
{
    return ts != NULL ? bw_time_us(ts->seconds, ts->nanos) : 0;
}

static void resolve_done(void *arg, const bw_rpc_reply_t *reply)
{
    gw_request_t *r = arg;
    bw_gw_metrics_observe_backend(r->gw->metrics, "tenancy", reply->status,
                                  seconds_since(&r->call_start));
    if (reply->status == BW_GRPC_NOT_FOUND) {
        bw_keycache_put_unknown(r->gw->keys, r->key.key_id);
        fail_credentials(r, "the API key is unknown or revoked");
        return;
    }
    Bulwark__Tenancy__V1__ResolveApiKeyResponse *k = NULL;
    if (reply->status == BW_GRPC_OK)
        k = bulwark__tenancy__v1__resolve_api_key_response__unpack(
            bw_arena_protobuf_allocator(r->arena), reply->payload_len, reply->payload);
    if (k == NULL || k->secret_sha256.len != BW_SHA256_LEN || strlen(k->tenant_id) != 36 ||
        strlen(k->role) >= sizeof(r->key.role) || strlen(k->board_member) > 36 ||
        (k->previous_secret_sha256.len != 0 && k->previous_secret_sha256.len != BW_SHA256_LEN)) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now", NULL);
        return;
    }
    /* Lengths were checked above. */
    memcpy(r->key.tenant_id, k->tenant_id, strlen(k->tenant_id) + 1);
    memcpy(r->key.role, k->role, strlen(k->role) + 1);
    memcpy(r->key.board_member, k->board_member, strlen(k->board_member) + 1);
    memcpy(r->key.token_sha256, k->secret_sha256.data, BW_SHA256_LEN);
    if (k->previous_secret_sha256.len == BW_SHA256_LEN) {
        memcpy(r->key.previous_sha256, k->previous_secret_sha256.data, BW_SHA256_LEN);
        r->key.previous_until_us = timestamp_us(k->previous_secret_expire_time);
    }
    r->key.expire_us = timestamp_us(k->expire_time);
    r->key.tenant_suspended = k->tenant_suspended;
    bw_keycache_put(r->gw->keys, &r->key, r->key_generation);
    if (!token_matches(r)) {
        fail_credentials(r, "the API key is unknown or revoked");
        return;
    }
    authorised(r);
}

static void tenant_done(void *arg, const bw_rpc_reply_t *reply)
{
    gw_request_t *r = arg;
    bw_gw_metrics_observe_backend(r->gw->metrics, "tenancy", reply->status,
                                  seconds_since(&r->call_start));
    if (reply->status == BW_GRPC_NOT_FOUND) {
        bw_tenantcache_put(r->gw->tenants, r->key.tenant_id, BW_TENANT_MISSING, r->key_generation);
        fail_credentials(r, "the bearer token's tenant does not exist");
        return;
    }
    Bulwark__Tenancy__V1__ResolveTenantResponse *t = NULL;
    if (reply->status == BW_GRPC_OK)
        t = bulwark__tenancy__v1__resolve_tenant_response__unpack(
            bw_arena_protobuf_allocator(r->arena), reply->payload_len, reply->payload);
    if (t == NULL) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now", NULL);
        return;
    }
    bw_tenantcache_put(r->gw->tenants, r->key.tenant_id,
                       t->suspended ? BW_TENANT_SUSPENDED : BW_TENANT_EXISTS, r->key_generation);
    if (t->suspended) {
        fail_suspended(r);
        return;
    }
    admit(r, r->token_roles, r->token_role_names);
}

/* An OIDC bearer token: its signature and claims verified here; the tenant
 * it names must exist (known from the tenant cache, or asked of the tenancy
 * RPCs without blocking the loop). */
static void authenticate_jwt(gw_request_t *r)
{
    bw_jwt_claims_t c;
    const char *why = NULL;
    int rc = bw_jwt_verify(r->gw->jwt, r->token, (long long)time(NULL), &c, &why);
    if (rc != 0) {
        if (rc == BW_EAUTH)
            fail_credentials(r,
                             bw_arena_printf(r->arena, "the bearer token is not valid: %s", why));
        else
            fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now",
                 NULL);
        return;
    }
    memcpy(r->key.tenant_id, c.tenant_id, sizeof(c.tenant_id));
    memcpy(r->key.board_member, c.board_member, sizeof(c.board_member));
    r->principal = bw_arena_strdup(r->arena, c.principal);
    r->token_roles = c.roles;
    r->token_role_names = bw_arena_strdup(r->arena, c.role_names);
    switch (bw_tenantcache_get(r->gw->tenants, r->key.tenant_id)) {
    case BW_TENANT_EXISTS:
        admit(r, r->token_roles, r->token_role_names);
        return;
    case BW_TENANT_SUSPENDED:
        fail_suspended(r);
        return;
    case BW_TENANT_MISSING:
        fail_credentials(r, "the bearer token's tenant does not exist");
        return;
    case BW_TENANT_UNSEEN:
        break;
    }
    Bulwark__Tenancy__V1__ResolveTenantRequest req =
        BULWARK__TENANCY__V1__RESOLVE_TENANT_REQUEST__INIT;
    req.tenant_id = r->key.tenant_id;
    ask_tenancy(r, RESOLVE_TENANT_RPC, &req.base, bw_tenantcache_generation(r->gw->tenants),
                tenant_done);
}

static void authenticate(gw_request_t *r)
{
    const bw_route_t *route = r->match.route;
    if (route->access == BW_ACCESS_SERVICE) {
        /* The service checks the signature or token; an address that failed
         * too often is refused here first, as for any credential. */
        if (!auth_allowed(r))
            return;
        r->principal = "anonymous";
        if (build_request(r) == 0)
            call_backend(r);
        return;
    }
    if (route->access == BW_ACCESS_PUBLIC) {
        r->principal = "anonymous";
        if (build_request(r) == 0)
            call_backend(r);
        return;
    }
    if (r->hdr.authorization == NULL || strncasecmp(r->hdr.authorization, "Bearer ", 7) != 0) {
        fail(r, BW_GRPC_UNAUTHENTICATED, 0, "MISSING_CREDENTIALS",
             "send Authorization: Bearer <API key or OIDC token>", NULL);
        return;
    }
    /* A credential is presented: an address that failed too often does not
     * get it looked at. */
    if (!auth_allowed(r))
        return;
    if (r->hdr.bearer == NULL) {
        fail_credentials(r, "the bearer token is malformed");
        return;
    }
    r->token = r->hdr.bearer;
    int is_operator = bw_ct_streq(r->token, r->gw->operator_token);
    if (route->access == BW_ACCESS_OPERATOR || is_operator) {
        if (is_operator && route->access != BW_ACCESS_OPERATOR) {
            fail(r, BW_GRPC_PERMISSION_DENIED, 0, "OPERATOR_NOT_A_TENANT",
                 "the operator token manages tenants; use a tenant API key", NULL);
            return;
        }
        if (!is_operator) {
            /* A tenant key is a credential, just not this one; anything else is none. */
            if (bw_token_key_id(r->token, r->key.key_id) == 0)
                fail(r, BW_GRPC_PERMISSION_DENIED, 0, "OPERATOR_ONLY",
                     "this route needs the platform operator token", NULL);
            else
                fail_credentials(r, "this route needs the platform operator token");
            return;
        }
        r->principal = "operator";
        r->roles = "operator";
        if (build_request(r) == 0)
            call_backend(r);
        return;
    }
    if (r->gw->jwt != NULL && bw_jwt_is_jws(r->token)) {
        authenticate_jwt(r);
        return;
    }
    if (bw_token_key_id(r->token, r->key.key_id) != 0) {
        fail_credentials(r, "the API key is unknown or revoked");
        return;
    }
    if (bw_keycache_get(r->gw->keys, r->key.key_id, &r->key) == 0) {
        if (!token_matches(r)) {
            fail_credentials(r, "the API key is unknown or revoked");
            return;
        }
        authorised(r);
        return;
    }
    if (bw_keycache_is_unknown(r->gw->keys, r->key.key_id)) {
        fail_credentials(r, "the API key is unknown or revoked");
        return;
    }
    /* Cache miss: ask the tenancy RPCs, without blocking the loop. */
    Bulwark__Tenancy__V1__ResolveApiKeyRequest req =
        BULWARK__TENANCY__V1__RESOLVE_API_KEY_REQUEST__INIT;
    req.key_id = r->key.key_id;
    ask_tenancy(r, RESOLVE_RPC, &req.base, bw_keycache_generation(r->gw->keys), resolve_done);
}

/* ---- representations --------------------------------------------------- */

#define MAX_REPRESENTATIONS 8

/* Picks the representation Accept asks for: JSON, or a file or picture of
 * the route's produces (then its call is the file RPC). 406 when Accept
 * takes none; problems are JSON whatever Accept says (RFC 9110 allows it). */
static int negotiate(gw_request_t *r)
{
    const bw_route_t *route = r->match.route;
    const char *types[MAX_REPRESENTATIONS];
    size_t n = 0;
    int json = route->n_produces == 0 || route->file_rpc != NULL;
    if (json)
        types[n++] = "application/json";
    for (size_t i = 0; i < route->n_produces && n < MAX_REPRESENTATIONS; i++)
        types[n++] = route->produces[i];
    r->call = route;
    if (n > 1)
        add_header(r, "Vary", "Accept");
    int chosen = bw_headers_negotiate(bw_httpd_header(r->req, "Accept"), types, n);
    if (chosen < 0) {
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", types[i]);
            if (w > 0 && (size_t)w < sizeof(list) - used)
                used += (size_t)w;
        }
        fail(r, BW_GRPC_INVALID_ARGUMENT, 406, "NOT_ACCEPTABLE",
             bw_arena_printf(r->arena, "Accept takes none of %s", list), "Accept");
        return -1;
    }
    if (json && chosen == 0)
        return 0;
    r->media_type = types[chosen];
    if (route->file_rpc != NULL) {
        r->file_route = *route;
        r->file_route.rpc = route->file_rpc;
        r->file_route.request = route->file_request;
        r->file_route.response = &bulwark__api__v1__http_body__descriptor;
        r->file_route.body = NULL;
        r->call = &r->file_route;
    }
    return 0;
}

/* ---- entry ------------------------------------------------------------- */

static int route_method(int method)
{
    switch (method) {
    case BW_HTTPPARSE_GET:
    case BW_HTTPPARSE_HEAD:
        return BW_HTTP_GET;
    case BW_HTTPPARSE_POST:
        return BW_HTTP_POST;
    case BW_HTTPPARSE_PUT:
        return BW_HTTP_PUT;
    case BW_HTTPPARSE_PATCH:
        return BW_HTTP_PATCH;
    case BW_HTTPPARSE_DELETE:
        return BW_HTTP_DELETE;
    default:
        return 0;
    }
}

static void on_request(bw_httpd_req_t *req, void *arg)
{
    bw_gw_t *gw = arg;
    gw_request_t *r = bw_arena_calloc(req->arena, 1, sizeof(*r));
    if (r == NULL) {
        bw_httpd_respond(req, 503, NULL, NULL, 0);
        return;
    }
    gw->inflight++;
    r->gw = gw;
    r->req = req;
    r->arena = req->arena;
    r->path = req->path;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    r->method = route_method(req->method);
    bw_headers_error_t herr;
    int bad_header = bw_headers_read(req->fields, req->n_fields, &r->hdr, &herr) != 0;
    if (r->hdr.request_id != NULL)
        memcpy(r->request_id, r->hdr.request_id, strlen(r->hdr.request_id) + 1);
    else
        bw_uuid_v7(r->request_id); /* left empty (r is zeroed) if the kernel refuses */
    trace_begin(r);
    if (bad_header) {
        fail(r, BW_GRPC_INVALID_ARGUMENT, 0, "INVALID_HEADER",
             bw_arena_printf(r->arena, "%s %s", herr.header, herr.message), herr.header);
        return;
    }

    int method = r->method;
    if (handle_cors(r) || handle_open(r, method))
        return;
    bw_router_match(bw_routes, bw_n_routes, method, r->path, r->arena, &r->match);
    if (r->match.route == NULL) {
        if (r->match.allowed_methods != 0) {
            char allow[64];
            bw_router_allow_header(r->match.allowed_methods, allow, sizeof(allow));
            add_header(r, "Allow", allow);
            fail(r, BW_GRPC_UNIMPLEMENTED, 405, "METHOD_NOT_ALLOWED",
                 bw_arena_printf(r->arena, "method not allowed on %s; allowed: %s", r->path, allow),
                 NULL);
        } else {
            fail(r, BW_GRPC_NOT_FOUND, 0, "ROUTE_NOT_FOUND",
                 bw_arena_printf(r->arena, "no route %s", r->path), NULL);
        }
        return;
    }
    if (negotiate(r) != 0)
        return;
    authenticate(r);
}

void bw_gw_http_setup(bw_gw_t *gw, bw_httpd_opts_t *opts)
{
    opts->handler = on_request;
    opts->handler_arg = gw;
    bw_buf_init(&gw->reply_buf, 0);
}

static void drained(void *arg)
{
    bw_gw_t *gw = arg;
    event_base_loopexit(gw->base, NULL);
}

void bw_gw_http_drain(bw_gw_t *gw)
{
    gw->draining = 1;
    bw_httpd_drain(gw->httpd, drained, gw);
}

void bw_gw_http_free(bw_gw_t *gw)
{
    json_decref(gw->readyz.checks);
    json_decref(gw->readyz.probe);
    gw->readyz.checks = gw->readyz.probe = NULL;
    bw_buf_free(&gw->reply_buf);
}
