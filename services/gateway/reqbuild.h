/*
 * The request builder: the message the gateway sends a service, as a pure
 * function of the matched route and what the request says that matters to
 * it (method, path values, query string, Content-Type, body, the media type
 * Accept chose; a raw route's headers). No I/O and no event loop: http.c
 * calls it once a request is admitted, and its unit test calls it with
 * literal requests.
 *
 * A JSON route's message is built from, in this order: the body (routes
 * with a body; the whole request for body "*", else the named field, and
 * for a PATCH the body's top-level keys as its update_mask), or else
 * nothing with scalars read leniently; the query string (routes without a
 * body); the path values; the media type (file routes). A raw route
 * (BW_ACCESS_SERVICE, an inbound webhook its service authenticates) gets
 * the path values, the body's bytes as sent and every header, name in
 * lower case, unread.
 */
#ifndef BW_GW_REQBUILD_H
#define BW_GW_REQBUILD_H

#include "arena.h"
#include "httpparse.h"
#include "problem.h"
#include "router.h"

#include <protobuf-c/protobuf-c.h>

#include <stddef.h>
#include <stdint.h>

/* Everything borrowed, for the duration of the call. */
typedef struct bw_reqbuild_in {
    /* The RPC called: match->route, or its file route; the only route read. */
    const bw_route_t *call;
    const bw_route_match_t *match; /* its decoded path values */
    int method;                    /* BW_HTTP_*; HEAD counts as GET */
    const char *query;             /* after '?'; NULL or "" when none */
    const char *content_type;      /* the Content-Type header; NULL when none */
    const char *body;              /* the whole body; "" when none */
    size_t body_len;
    const char *media_type; /* a file's media type, chosen from Accept; NULL for JSON */
    const bw_httpparse_field_t *headers; /* every header: read for raw routes only */
    size_t n_headers;
} bw_reqbuild_in_t;

/* What was built; everything lives on the arena given. */
typedef struct bw_reqbuild_out {
    ProtobufCMessage *message; /* of in->call->request */
    uint8_t *payload;          /* the message packed */
    size_t payload_len;
} bw_reqbuild_out_t;

/* Builds the request message of in->call. Returns 0 and fills out, or -1
 * and fills problem (its strings and errors on the arena): 400
 * MALFORMED_JSON, INVALID_FIELD (naming the field, as the client wrote it
 * in the body), TOO_MANY_FIELDS, INVALID_QUERY, UNKNOWN_PARAMETER; 415
 * UNSUPPORTED_MEDIA_TYPE; 500 INTERNAL when the arena is exhausted. */
int bw_reqbuild(bw_arena_t *arena, const bw_reqbuild_in_t *in, bw_reqbuild_out_t *out,
                bw_problem_t *problem);

#endif
