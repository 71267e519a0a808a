/*
 * The gateway's route table, generated at build time by tools/codegen from
 * the (bulwark.api.v1.http) options of proto/ into routes.c. One entry per
 * RPC with an HTTP binding.
 */
#ifndef BW_GW_ROUTE_H
#define BW_GW_ROUTE_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

enum bw_http_method {
    BW_HTTP_GET = 1,
    BW_HTTP_POST,
    BW_HTTP_PUT,
    BW_HTTP_PATCH,
    BW_HTTP_DELETE,
};

/* The API's roles (admin, editor, auditor, viewer, board_member) as bits. */
enum bw_role {
    BW_ROLE_ADMIN = 1 << 0,
    BW_ROLE_EDITOR = 1 << 1,
    BW_ROLE_AUDITOR = 1 << 2,
    BW_ROLE_VIEWER = 1 << 3,
    BW_ROLE_BOARD_MEMBER = 1 << 4,
};

enum bw_access {
    BW_ACCESS_TENANT = 0, /* a tenant credential with one of route.roles */
    BW_ACCESS_OPERATOR,   /* the platform operator token */
    BW_ACCESS_PUBLIC,     /* no credential */
    /* No credential: the service authenticates the request from its raw
     * body and headers (the request's fields body and headers), e.g. an
     * inbound webhook's signature (HttpRule.raw). */
    BW_ACCESS_SERVICE,
};

/* One path segment: a literal ("v1", "scoping:assess") or a variable bound
 * to a top-level string field of the request (field set, literal NULL). A
 * variable may carry a custom method ("{id}:rotate-secret": verb
 * "rotate-secret"): the segment must then end in ":" and the verb, and the
 * variable binds what comes before. */
typedef struct bw_route_seg {
    const char *literal;
    const char *field;
    const char *verb;
} bw_route_seg_t;

typedef struct bw_route {
    int method;                 /* BW_HTTP_* */
    const char *path;           /* template as written: "/v1/entities/{id}" */
    const bw_route_seg_t *segs; /* the template split on '/' */
    size_t n_segs;
    const char *backend; /* "scoping": from package bulwark.<backend>.v1 */
    const char *rpc;     /* "/bulwark.scoping.v1.ScopingService/GetEntity" */
    const ProtobufCMessageDescriptor *request;
    const ProtobufCMessageDescriptor *response;
    const char *body;   /* NULL: no body; "*": whole request; else a field name */
    int success_status; /* 200, 201, ...; 204 is used when the reply is Empty */
    unsigned roles;     /* BW_ROLE_* bits allowed for BW_ACCESS_TENANT */
    int access;         /* BW_ACCESS_* */
    const char *summary;
    /* Media types answered instead of JSON, by Accept (http.proto's
     * HttpRule.produces). When response is bulwark.api.v1.HttpBody they are
     * the route's only ones; otherwise file_rpc, taking file_request, renders
     * them. */
    const char *const *produces;
    size_t n_produces;
    const char *file_rpc;
    const ProtobufCMessageDescriptor *file_request;
    /* A body of one of raw_body_types fills this string field as it is. */
    const char *raw_body_field;
    const char *const *raw_body_types;
    size_t n_raw_body_types;
} bw_route_t;

extern const bw_route_t bw_routes[];
extern const size_t bw_n_routes;
/* The OpenAPI 3.1 document, served at GET /v1/openapi.json. */
extern const char bw_openapi_json[];

#endif
