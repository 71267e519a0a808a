/*
 * Request handling of the gateway. A request goes through these steps, each
 * able to end it with a problem+json reply:
 *   1. open endpoints (/healthz, /readyz, /metrics, /v1/openapi.json, /docs);
 *   2. route match (404, or 405 with Allow);
 *   3. authentication: the operator token, or an API key found in the key
 *      cache or, on a miss, resolved by an asynchronous call to the tenancy
 *      RPCs; then the route's roles;
 *   4. the request message built from path variables, the query string and
 *      the JSON body (for PATCH, the fields present become the update mask);
 *   5. the asynchronous gRPC call to the owning service, with the tenant,
 *      principal, roles and request id in metadata;
 *   6. the reply rendered as JSON, or the call's status as problem+json.
 * One gw_request_t (with its arena) lives from step 1 until the reply.
 */
#include "http.h"

#include "bulwark/tenancy/v1/tenancy.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#include "ids.h"
#include "json.h"
#include "keycache.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "route.h"
#include "router.h"
#include "status.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define REQUEST_ID_MAX 128
#define RESOLVE_RPC "/bulwark.tenancy.v1.TenancyService/ResolveApiKey"
#define HEALTH_RPC "/grpc.health.v1.Health/Check"

typedef struct gw_request {
    bw_gw_t *gw;
    struct evhttp_request *req;
    bw_arena_t *arena;
    const char *path;
    char request_id[REQUEST_ID_MAX + 1];
    struct timespec start;
    bw_route_match_t match;
    const char *token;
    bw_key_entry_t key;
    const char *principal;
    const char *roles;
    uint8_t *payload;
    size_t payload_len;
    struct timespec call_start;
    int method;
} gw_request_t;

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void request_free(gw_request_t *r)
{
    r->gw->inflight--;
    if (r->gw->draining && r->gw->inflight == 0)
        event_base_loopexit(r->gw->base, NULL);
    bw_router_match_free(&r->match);
    bw_arena_destroy(r->arena);
    free(r);
}

/* Sends status with body (may be NULL), records metrics and frees r. */
static void respond(gw_request_t *r, int status, const char *content_type, const char *body,
                    size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(out, "X-Request-Id", r->request_id);
    struct evbuffer *buf = NULL;
    if (body != NULL) {
        evhttp_add_header(out, "Content-Type", content_type);
        buf = evbuffer_new();
        if (buf != NULL)
            evbuffer_add(buf, body, len);
    }
    evhttp_send_reply(r->req, status, bw_status_http_title(status), buf);
    if (buf != NULL)
        evbuffer_free(buf);
    bw_metrics_observe(r->match.route, status, seconds_since(&r->start));
    if (status >= 500) {
        bw_log_ctx_t ctx = {r->request_id, r->key.tenant_id[0] ? r->key.tenant_id : NULL};
        bw_log(BW_LOG_WARN, &ctx, "%s answered %d", r->path, status);
    }
    request_free(r);
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
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
                          "Bearer realm=\"bulwark\"");
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
    char *body = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (body == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "could not render the reply", NULL);
        return;
    }
    respond(r, status, "application/json", body, strlen(body));
    free(body);
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
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id"
#define CORS_EXPOSE_HEADERS "ETag, Retry-After, X-Request-Id, WWW-Authenticate"

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
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    const char *origin = evhttp_find_header(in, "Origin");
    int allowed = origin != NULL && origin_allowed(r->gw->cors_origins, origin);
    if (allowed) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(out, "Vary", "Origin");
        evhttp_add_header(out, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    if (evhttp_request_get_command(r->req) != EVHTTP_REQ_OPTIONS)
        return 0;
    if (allowed && evhttp_find_header(in, "Access-Control-Request-Method") != NULL) {
        evhttp_add_header(out, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
        evhttp_add_header(out, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        evhttp_add_header(out, "Access-Control-Max-Age", "600");
    }
    respond(r, 204, NULL, NULL, 0);
    return 1;
}

/* ---- open endpoints ---------------------------------------------------- */

typedef struct readyz {
    gw_request_t *r;
    size_t pending;
    json_t *checks;
    int ok;
} readyz_t;

static void readyz_done(void *arg, const bw_rpc_reply_t *reply, const char *backend)
{
    readyz_t *z = arg;
    int serving = 0;
    if (reply->status == BW_GRPC_OK) {
        Grpc__Health__V1__HealthCheckResponse *h =
            grpc__health__v1__health_check_response__unpack(NULL, reply->payload_len,
                                                            reply->payload);
        serving = h != NULL &&
                  h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        grpc__health__v1__health_check_response__free_unpacked(h, NULL);
    }
    json_object_set_new(z->checks, backend, json_string(serving ? "SERVING" : "NOT_SERVING"));
    z->ok &= serving;
    if (--z->pending > 0)
        return;
    json_t *doc = json_pack("{s:s, s:o}", "status", z->ok ? "ready" : "not ready", "backends",
                            z->checks);
    gw_request_t *r = z->r;
    int status = z->ok ? 200 : 503;
    free(z);
    respond_json(r, status, doc);
}

typedef struct readyz_call {
    readyz_t *z;
    const char *backend;
} readyz_call_t;

static void readyz_call_done(void *arg, const bw_rpc_reply_t *reply)
{
    readyz_call_t *c = arg;
    readyz_done(c->z, reply, c->backend);
}

/* Asks every backend's health check (which pings its database) at once. */
static void handle_readyz(gw_request_t *r)
{
    bw_gw_t *gw = r->gw;
    readyz_t *z = calloc(1, sizeof(*z));
    readyz_call_t *calls = bw_arena_calloc(r->arena, gw->n_backends, sizeof(*calls));
    if (z == NULL || calls == NULL || gw->n_backends == 0) {
        free(z);
        fail(r, BW_GRPC_UNAVAILABLE, 0, "NOT_READY", "no backends", NULL);
        return;
    }
    z->r = r;
    z->ok = !gw->draining;
    z->checks = json_object();
    z->pending = gw->n_backends;
    for (size_t i = 0; i < gw->n_backends; i++) {
        calls[i].z = z;
        calls[i].backend = gw->backends[i].name;
        if (bw_rpc_call(gw->backends[i].channel, HEALTH_RPC, NULL, 0, NULL, 0, 2000,
                        readyz_call_done, &calls[i]) != 0) {
            bw_rpc_reply_t down = {.status = BW_GRPC_UNAVAILABLE, .message = ""};
            readyz_done(z, &down, gw->backends[i].name);
        }
    }
}

static const char docs_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Bulwark API</title>"
    "<style>body{font:15px system-ui,sans-serif;margin:2em auto;max-width:60em}"
    "code{background:#eee;padding:0 .3em}.op{margin:1em 0;border-left:3px solid #36c;"
    "padding-left:1em}.m{font-weight:bold;display:inline-block;width:5em}</style></head>"
    "<body><h1>Bulwark API</h1><p>The OpenAPI 3.1 document is at "
    "<a href=\"/v1/openapi.json\"><code>/v1/openapi.json</code></a>. Authenticate with "
    "<code>Authorization: Bearer bwk_...</code>.</p><div id=\"ops\"></div><script>"
    "fetch('/v1/openapi.json').then(r=>r.json()).then(d=>{const o=document.getElementById('ops');"
    "for(const[p,item]of Object.entries(d.paths))for(const[m,op]of Object.entries(item)){"
    "const e=document.createElement('div');e.className='op';"
    "e.innerHTML='<span class=m>'+m.toUpperCase()+'</span><code></code><p></p>';"
    "e.querySelector('code').textContent=p;e.querySelector('p').textContent="
    "(op.summary||'')+(op.description?' \\u2014 '+op.description:'');o.appendChild(e);}});"
    "</script></body></html>";

/* Answers the endpoints that need no credential; 1 when it did. */
static int handle_open(gw_request_t *r, int method)
{
    if (method != BW_HTTP_GET)
        return 0;
    if (strcmp(r->path, "/healthz") == 0) {
        respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(r->path, "/readyz") == 0) {
        handle_readyz(r);
    } else if (strcmp(r->path, "/metrics") == 0) {
        size_t len;
        char *text = bw_metrics_render(&len);
        respond(r, 200, "text/plain; version=0.0.4", text, text ? len : 0);
        free(text);
    } else if (strcmp(r->path, "/v1/openapi.json") == 0) {
        respond(r, 200, "application/json", bw_openapi_json, strlen(bw_openapi_json));
    } else if (strcmp(r->path, "/docs") == 0) {
        respond(r, 200, "text/html; charset=utf-8", docs_html, sizeof(docs_html) - 1);
    } else {
        return 0;
    }
    return 1;
}

/* ---- the backend call -------------------------------------------------- */

static void call_done(void *arg, const bw_rpc_reply_t *reply)
{
    gw_request_t *r = arg;
    const bw_route_t *route = r->match.route;
    bw_metrics_observe_backend(route->backend, reply->status, seconds_since(&r->call_start));
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
        /* Never pass a backend's internal detail to the client. */
        if (reply->status == BW_GRPC_INTERNAL || reply->status == BW_GRPC_UNKNOWN)
            p.detail = "internal error; the request id identifies it in the logs";
        if (reply->status == BW_GRPC_UNAVAILABLE)
            p.detail = "the service is unavailable; retry later";
        respond_problem(r, &p);
        return;
    }
    if (route->response == &google__protobuf__empty__descriptor) {
        respond(r, 204, NULL, NULL, 0);
        return;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(
        route->response, bw_arena_protobuf_allocator(r->arena), reply->payload_len,
        reply->payload);
    if (msg == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "the service sent an unreadable reply", NULL);
        return;
    }
    json_t *doc = bw_pb_to_json(msg);
    if (doc == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "could not render the reply", NULL);
        return;
    }
    /* A single resource carries its etag: as a header, and as the validator
     * of a conditional GET. */
    const char *etag = json_string_value(json_object_get(doc, "etag"));
    if (etag != NULL && *etag != '\0') {
        char *quoted = bw_arena_printf(r->arena, "\"%s\"", etag);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "ETag", quoted);
        const char *inm = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                             "If-None-Match");
        if (r->method == BW_HTTP_GET && inm != NULL &&
            (strcmp(inm, "*") == 0 || strstr(inm, quoted) != NULL)) {
            json_decref(doc);
            respond(r, 304, NULL, NULL, 0);
            return;
        }
    }
    respond_json(r, route->success_status ? route->success_status : 200, doc);
}

/* The etag inside an If-Match value ("\"abc\"", W/"abc" or "*"), on the arena;
 * NULL when absent or not a single etag. */
static const char *unquote_etag(gw_request_t *r, const char *value)
{
    if (value == NULL)
        return NULL;
    if (strncmp(value, "W/", 2) == 0)
        value += 2;
    size_t n = strlen(value);
    if (n == 1 && value[0] == '*')
        return "*";
    if (n < 2 || value[0] != '"' || value[n - 1] != '"' || memchr(value + 1, '"', n - 2) != NULL)
        return NULL;
    return bw_arena_strndup(r->arena, value + 1, n - 2);
}

static void call_backend(gw_request_t *r)
{
    const bw_route_t *route = r->match.route;
    const bw_gw_backend_t *backend = find_backend(r->gw, route->backend);
    if (backend == NULL) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "BACKEND_NOT_CONFIGURED",
             "the service behind this route is not configured", NULL);
        return;
    }
    bw_rpc_md_t md[7];
    size_t n = 0;
    md[n++] = (bw_rpc_md_t){"x-request-id", r->request_id};
    if (r->key.tenant_id[0] != '\0')
        md[n++] = (bw_rpc_md_t){"x-tenant-id", r->key.tenant_id};
    md[n++] = (bw_rpc_md_t){"x-principal", r->principal};
    if (r->roles != NULL)
        md[n++] = (bw_rpc_md_t){"x-roles", r->roles};
    if (r->key.board_member[0] != '\0')
        md[n++] = (bw_rpc_md_t){"x-board-member", r->key.board_member};
    const char *idem = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                          "Idempotency-Key");
    if (idem != NULL && strlen(idem) <= 255)
        md[n++] = (bw_rpc_md_t){"idempotency-key", idem};
    const char *if_match = unquote_etag(
        r, evhttp_find_header(evhttp_request_get_input_headers(r->req), "If-Match"));
    if (if_match != NULL)
        md[n++] = (bw_rpc_md_t){"if-match", if_match};
    clock_gettime(CLOCK_MONOTONIC, &r->call_start);
    if (bw_rpc_call(backend->channel, route->rpc, r->payload, r->payload_len, md, n,
                    r->gw->backend_timeout_ms, call_done, r) != 0)
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "the service is unavailable", NULL);
}

/* ---- the request message ----------------------------------------------- */

static int is_json_type(const char *ct)
{
    if (ct == NULL)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n > 0 && isspace((unsigned char)ct[n - 1]))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* The JSON name of the top-level request field bound to a body, for
 * stripping it from field paths ("entity.timeZone" -> "timeZone"). */
static void body_prefix(const bw_route_t *route, char *buf, size_t len)
{
    buf[0] = '\0';
    if (route->body != NULL && strcmp(route->body, "*") != 0)
        bw_json_name(route->body, buf, len);
}

static void fail_json(gw_request_t *r, const bw_json_error_t *err)
{
    char prefix[128];
    const char *field = err->field;
    body_prefix(r->match.route, prefix, sizeof(prefix));
    size_t pl = strlen(prefix);
    if (pl > 0 && strncmp(field, prefix, pl) == 0 && (field[pl] == '.' || field[pl] == '\0'))
        field = field[pl] == '.' ? field + pl + 1 : "";
    const char *detail = field[0] != '\0'
                             ? bw_arena_printf(r->arena, "%s: %s", field, err->message)
                             : err->message;
    bw_problem_error_t e = {field, bw_arena_strdup(r->arena, err->message)};
    bw_problem_t p = {.grpc_code = BW_GRPC_INVALID_ARGUMENT,
                      .reason = field[0] ? "INVALID_FIELD" : "MALFORMED_JSON",
                      .detail = detail,
                      .errors = field[0] ? &e : NULL,
                      .n_errors = field[0] ? 1 : 0};
    respond_problem(r, &p);
}

/* Adds the query parameters to root; routes with a body take none. */
static int add_query(gw_request_t *r, json_t *root)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *query = evhttp_uri_get_query(uri);
    if (query == NULL || *query == '\0')
        return 0;
    struct evkeyvalq params = {NULL, &params.tqh_first};
    if (evhttp_parse_query_str(query, &params) != 0) {
        fail(r, BW_GRPC_INVALID_ARGUMENT, 0, "INVALID_QUERY", "the query string is malformed",
             NULL);
        return -1;
    }
    const bw_route_t *route = r->match.route;
    int rc = 0;
    for (struct evkeyval *kv = params.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const ProtobufCFieldDescriptor *f = bw_json_find_field(route->request, kv->key);
        int bound = route->body != NULL;
        for (size_t i = 0; f != NULL && i < r->match.n_params; i++)
            bound |= strcmp(r->match.params[i].field, f->name) == 0;
        /* A time is a string on the query too; other messages are not parameters. */
        int message = f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                      strcmp(((const ProtobufCMessageDescriptor *)f->descriptor)->name,
                             "google.protobuf.Timestamp") != 0;
        if (f == NULL || bound || message) {
            char *field = bw_arena_strdup(r->arena, kv->key);
            fail(r, BW_GRPC_INVALID_ARGUMENT, 0, "UNKNOWN_PARAMETER",
                 bw_arena_printf(r->arena, "%s is not a query parameter of this route", field),
                 field);
            rc = -1;
            break;
        }
        char name[128];
        bw_json_name(f->name, name, sizeof(name));
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            json_t *arr = json_object_get(root, name);
            if (arr == NULL) {
                arr = json_array();
                json_object_set_new(root, name, arr);
            }
            json_array_append_new(arr, json_string(kv->value));
        } else {
            json_object_set_new(root, name, json_string(kv->value));
        }
    }
    evhttp_clear_headers(&params);
    return rc;
}

/* Builds and serializes the request message; on failure it has answered. */
static int build_request(gw_request_t *r, int method)
{
    const bw_route_t *route = r->match.route;
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    json_t *root = NULL;
    int flags = 0;
    bw_json_error_t jerr = {{0}, {0}};

    if (len > r->gw->max_body) {
        fail(r, BW_GRPC_RESOURCE_EXHAUSTED, 413, "BODY_TOO_LARGE",
             bw_arena_printf(r->arena, "the body exceeds the limit of %zu bytes", r->gw->max_body),
             NULL);
        return -1;
    }
    if (route->body != NULL) {
        json_t *body;
        if (len == 0) {
            body = json_object();
        } else {
            const char *ct =
                evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
            if (!is_json_type(ct)) {
                fail(r, BW_GRPC_INVALID_ARGUMENT, 415, "UNSUPPORTED_MEDIA_TYPE",
                     "the body must be application/json", NULL);
                return -1;
            }
            json_error_t e;
            body = json_loadb((const char *)evbuffer_pullup(in, -1), len,
                              JSON_REJECT_DUPLICATES, &e);
            if (body == NULL) {
                snprintf(jerr.message, sizeof(jerr.message),
                         "malformed JSON at line %d, column %d: %s", e.line, e.column, e.text);
                fail_json(r, &jerr);
                return -1;
            }
        }
        if (!json_is_object(body)) {
            json_decref(body);
            snprintf(jerr.message, sizeof(jerr.message), "the body must be a JSON object");
            fail_json(r, &jerr);
            return -1;
        }
        if (strcmp(route->body, "*") == 0) {
            root = body;
        } else {
            char name[128];
            bw_json_name(route->body, name, sizeof(name));
            root = json_object();
            if (method == BW_HTTP_PATCH &&
                protobuf_c_message_descriptor_get_field_by_name(route->request, "update_mask")) {
                /* The fields present in a PATCH body are the ones to change. */
                char *mask = bw_arena_strdup(r->arena, "");
                const char *key;
                json_t *value;
                json_object_foreach(body, key, value)
                    mask = bw_arena_printf(r->arena, "%s%s%s", mask, *mask ? "," : "", key);
                json_object_set_new(root, "updateMask", json_string(mask));
            }
            json_object_set_new(root, name, body);
        }
    } else {
        root = json_object();
        flags = BW_JSON_LENIENT_SCALARS;
    }
    if (root == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "out of memory", NULL);
        return -1;
    }
    if (add_query(r, root) != 0) {
        json_decref(root);
        return -1;
    }
    for (size_t i = 0; i < r->match.n_params; i++) {
        char name[128];
        bw_json_name(r->match.params[i].field, name, sizeof(name));
        json_object_set_new(root, name, json_string(r->match.params[i].value));
    }
    ProtobufCMessage *msg = NULL;
    int err = bw_json_to_pb(r->arena, route->request, root, flags, &msg, &jerr);
    json_decref(root);
    if (err != 0) {
        fail_json(r, &jerr);
        return -1;
    }
    r->payload_len = protobuf_c_message_get_packed_size(msg);
    r->payload = bw_arena_alloc(r->arena, r->payload_len ? r->payload_len : 1);
    if (r->payload == NULL) {
        fail(r, BW_GRPC_INTERNAL, 0, "INTERNAL", "out of memory", NULL);
        return -1;
    }
    protobuf_c_message_pack(msg, r->payload);
    return 0;
}

/* ---- authentication ---------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
} role_bits[] = {
    {"admin", BW_ROLE_ADMIN},   {"editor", BW_ROLE_EDITOR},
    {"auditor", BW_ROLE_AUDITOR}, {"viewer", BW_ROLE_VIEWER},
    {"board_member", BW_ROLE_BOARD_MEMBER},
};

static unsigned role_bit(const char *role)
{
    for (size_t i = 0; i < sizeof(role_bits) / sizeof(role_bits[0]); i++)
        if (strcmp(role, role_bits[i].name) == 0)
            return role_bits[i].bit;
    return 0;
}

/* Takes a token of the tenant's bucket; answers 429 when there is none. */
static int rate_allowed(gw_request_t *r)
{
    struct timespec now;
    int retry = 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (bw_ratelimit_take(r->key.tenant_id, (long long)now.tv_sec * 1000000000LL + now.tv_nsec,
                          &retry) == 0)
        return 1;
    char value[16];
    snprintf(value, sizeof(value), "%d", retry);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", value);
    fail(r, BW_GRPC_RESOURCE_EXHAUSTED, 429, "RATE_LIMITED",
         bw_arena_printf(r->arena, "the tenant's request rate is over its limit; retry in %d s",
                         retry),
         NULL);
    return 0;
}

/* The caller is known: its roles must include one of the route's, its
 * tenant must be under its rate; then the request goes to its service. */
static void admit(gw_request_t *r, int method, unsigned roles, const char *role_names)
{
    if ((roles & r->match.route->roles) == 0) {
        fail(r, BW_GRPC_PERMISSION_DENIED, 0, "ROLE_NOT_ALLOWED",
             bw_arena_printf(r->arena, "the role %s may not call this route", role_names), NULL);
        return;
    }
    r->roles = role_names;
    if (!rate_allowed(r))
        return;
    if (build_request(r, method) == 0)
        call_backend(r);
}

/* The key is known and its token verified. */
static void authorised(gw_request_t *r, int method)
{
    r->principal = bw_arena_printf(r->arena, "api-key:%s", r->key.key_id);
    admit(r, method, role_bit(r->key.role), r->key.role);
}

static int token_matches(const gw_request_t *r)
{
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(r->token, strlen(r->token), digest);
    return bw_ct_equal(digest, r->key.token_sha256, BW_SHA256_LEN);
}

typedef struct resolve_ctx {
    gw_request_t *r;
    int method;
} resolve_ctx_t;

static void resolve_done(void *arg, const bw_rpc_reply_t *reply)
{
    resolve_ctx_t *ctx = arg;
    gw_request_t *r = ctx->r;
    if (reply->status == BW_GRPC_NOT_FOUND) {
        fail(r, BW_GRPC_UNAUTHENTICATED, 0, "INVALID_CREDENTIALS",
             "the API key is unknown or revoked", NULL);
        return;
    }
    Bulwark__Tenancy__V1__ResolveApiKeyResponse *k = NULL;
    if (reply->status == BW_GRPC_OK)
        k = bulwark__tenancy__v1__resolve_api_key_response__unpack(
            bw_arena_protobuf_allocator(r->arena), reply->payload_len, reply->payload);
    if (k == NULL || k->secret_sha256.len != BW_SHA256_LEN || strlen(k->tenant_id) != 36 ||
        strlen(k->role) >= sizeof(r->key.role) || strlen(k->board_member) > 36) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now",
             NULL);
        return;
    }
    /* Lengths were checked above. */
    memcpy(r->key.tenant_id, k->tenant_id, strlen(k->tenant_id) + 1);
    memcpy(r->key.role, k->role, strlen(k->role) + 1);
    memcpy(r->key.board_member, k->board_member, strlen(k->board_member) + 1);
    memcpy(r->key.token_sha256, k->secret_sha256.data, BW_SHA256_LEN);
    bw_keycache_put(&r->key);
    if (!token_matches(r)) {
        fail(r, BW_GRPC_UNAUTHENTICATED, 0, "INVALID_CREDENTIALS",
             "the API key is unknown or revoked", NULL);
        return;
    }
    authorised(r, ctx->method);
}

/* An OIDC bearer token: verified here, no backend involved. */
static void authenticate_jwt(gw_request_t *r, int method)
{
    bw_jwt_claims_t c;
    const char *why = NULL;
    int rc = bw_jwt_verify(r->gw->jwt, r->token, (long long)time(NULL), &c, &why);
    if (rc != 0) {
        if (rc == BW_EAUTH)
            fail(r, BW_GRPC_UNAUTHENTICATED, 0, "INVALID_CREDENTIALS",
                 bw_arena_printf(r->arena, "the bearer token is not valid: %s", why), NULL);
        else
            fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now",
                 NULL);
        return;
    }
    memcpy(r->key.tenant_id, c.tenant_id, sizeof(c.tenant_id));
    memcpy(r->key.board_member, c.board_member, sizeof(c.board_member));
    r->principal = bw_arena_strdup(r->arena, c.principal);
    admit(r, method, c.roles, bw_arena_strdup(r->arena, c.role_names));
}

static void authenticate(gw_request_t *r, int method)
{
    const bw_route_t *route = r->match.route;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                          "Authorization");
    if (route->access == BW_ACCESS_PUBLIC) {
        r->principal = "anonymous";
        if (build_request(r, method) == 0)
            call_backend(r);
        return;
    }
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
        fail(r, BW_GRPC_UNAUTHENTICATED, 0, "MISSING_CREDENTIALS",
             "send Authorization: Bearer <API key or OIDC token>", NULL);
        return;
    }
    r->token = bw_arena_strdup(r->arena, auth + 7);
    int is_operator = bw_ct_streq(r->token, r->gw->operator_token);
    if (route->access == BW_ACCESS_OPERATOR || is_operator) {
        if (is_operator && route->access != BW_ACCESS_OPERATOR) {
            fail(r, BW_GRPC_PERMISSION_DENIED, 0, "OPERATOR_NOT_A_TENANT",
                 "the operator token manages tenants; use a tenant API key", NULL);
            return;
        }
        if (!is_operator) {
            /* A tenant key is a credential, just not this one; anything else is none. */
            int tenant_key = bw_token_key_id(r->token, r->key.key_id) == 0;
            fail(r, tenant_key ? BW_GRPC_PERMISSION_DENIED : BW_GRPC_UNAUTHENTICATED, 0,
                 tenant_key ? "OPERATOR_ONLY" : "INVALID_CREDENTIALS",
                 "this route needs the platform operator token", NULL);
            return;
        }
        r->principal = "operator";
        r->roles = "operator";
        if (build_request(r, method) == 0)
            call_backend(r);
        return;
    }
    if (r->gw->jwt != NULL && bw_jwt_is_jws(r->token)) {
        authenticate_jwt(r, method);
        return;
    }
    if (bw_token_key_id(r->token, r->key.key_id) != 0) {
        fail(r, BW_GRPC_UNAUTHENTICATED, 0, "INVALID_CREDENTIALS",
             "the API key is unknown or revoked", NULL);
        return;
    }
    if (bw_keycache_get(r->key.key_id, &r->key) == 0) {
        if (!token_matches(r)) {
            fail(r, BW_GRPC_UNAUTHENTICATED, 0, "INVALID_CREDENTIALS",
                 "the API key is unknown or revoked", NULL);
            return;
        }
        authorised(r, method);
        return;
    }
    /* Cache miss: ask the tenancy RPCs, without blocking the loop. */
    const bw_gw_backend_t *tenancy = find_backend(r->gw, "tenancy");
    resolve_ctx_t *ctx = bw_arena_alloc(r->arena, sizeof(*ctx));
    Bulwark__Tenancy__V1__ResolveApiKeyRequest req =
        BULWARK__TENANCY__V1__RESOLVE_API_KEY_REQUEST__INIT;
    req.key_id = r->key.key_id;
    uint8_t buf[64];
    size_t len = bulwark__tenancy__v1__resolve_api_key_request__pack(&req, buf);
    if (tenancy == NULL || ctx == NULL) {
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now",
             NULL);
        return;
    }
    ctx->r = r;
    ctx->method = method;
    bw_rpc_md_t md = {"x-request-id", r->request_id};
    if (bw_rpc_call(tenancy->channel, RESOLVE_RPC, buf, len, &md, 1, r->gw->backend_timeout_ms,
                    resolve_done, ctx) != 0)
        fail(r, BW_GRPC_UNAVAILABLE, 0, "UNAVAILABLE", "cannot check credentials right now",
             NULL);
}

/* ---- entry ------------------------------------------------------------- */

static void set_request_id(gw_request_t *r)
{
    const char *given =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Request-Id");
    size_t n = given != NULL ? strlen(given) : 0;
    int ok = n > 0 && n <= REQUEST_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]) != NULL;
    if (ok)
        memcpy(r->request_id, given, n + 1);
    else
        bw_uuid_v7(r->request_id);
}

static int method_of(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        return BW_HTTP_GET;
    case EVHTTP_REQ_POST:
        return BW_HTTP_POST;
    case EVHTTP_REQ_PUT:
        return BW_HTTP_PUT;
    case EVHTTP_REQ_PATCH:
        return BW_HTTP_PATCH;
    case EVHTTP_REQ_DELETE:
        return BW_HTTP_DELETE;
    default:
        return 0;
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    bw_gw_t *gw = arg;
    gw_request_t *r = calloc(1, sizeof(*r));
    bw_arena_t *arena = bw_arena_create(8192);
    if (r == NULL || arena == NULL) {
        free(r);
        bw_arena_destroy(arena);
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    gw->inflight++;
    r->gw = gw;
    r->req = req;
    r->arena = arena;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    set_request_id(r);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    r->path = bw_arena_strdup(arena, path != NULL && *path ? path : "/");

    int method = method_of(req);
    r->method = method;
    if (handle_cors(r) || handle_open(r, method))
        return;
    bw_router_match(bw_routes, bw_n_routes, method, r->path, &r->match);
    if (r->match.route == NULL) {
        if (r->match.allowed_methods != 0) {
            char allow[64];
            bw_router_allow_header(r->match.allowed_methods, allow, sizeof(allow));
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
            fail(r, BW_GRPC_UNIMPLEMENTED, 405, "METHOD_NOT_ALLOWED",
                 bw_arena_printf(arena, "method not allowed on %s; allowed: %s", r->path, allow),
                 NULL);
        } else {
            fail(r, BW_GRPC_NOT_FOUND, 0, "ROUTE_NOT_FOUND",
                 bw_arena_printf(arena, "no route %s", r->path), NULL);
        }
        return;
    }
    authenticate(r, method);
}

void bw_gw_http_setup(bw_gw_t *gw)
{
    evhttp_set_gencb(gw->http, on_request, gw);
}

void bw_gw_http_drain(bw_gw_t *gw)
{
    gw->draining = 1;
    if (gw->listener != NULL) {
        evhttp_del_accept_socket(gw->http, gw->listener);
        gw->listener = NULL;
    }
    if (gw->inflight == 0)
        event_base_loopexit(gw->base, NULL);
}
