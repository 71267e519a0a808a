/*
 * The request header fields the gateway acts on, read and checked in one
 * place before anything uses them: X-Request-Id, traceparent, Idempotency-Key, If-Match,
 * If-None-Match, Authorization, Content-Type and Origin. Pure functions over
 * the parsed fields (httpparse.h), so they are unit-tested and fuzzed
 * (fuzz/fuzz_headers.c) apart from the server.
 *
 * What is refused, with the header named: an Idempotency-Key that is empty,
 * longer than 255 characters or holds a byte outside printable ASCII; an
 * If-Match that is not "*" or one entity-tag; an If-None-Match that is not
 * "*" or a list of entity-tags; any of these, Authorization or Content-Type
 * sent twice. Entity-tags are restricted to printable ASCII (no obs-text),
 * as gRPC metadata, where they travel, requires. An X-Request-Id that is
 * not 1 to 128 of [A-Za-z0-9-_.:] is not refused but replaced, and a
 * malformed or repeated traceparent starts a new trace (never refused).
 */
#ifndef BW_GW_HEADERS_H
#define BW_GW_HEADERS_H

#include <stddef.h>

#include "httpparse.h"

#define BW_HEADERS_REQUEST_ID_MAX 128
#define BW_HEADERS_IDEMPOTENCY_KEY_MAX 255

/* Every pointer is borrowed from the fields' values. */
typedef struct bw_headers {
    const char *request_id;      /* X-Request-Id when safe to echo, else NULL */
    const char *traceparent;     /* sent once, not yet checked; NULL otherwise */
    const char *idempotency_key; /* NULL when absent */
    const char *if_match;        /* the entity-tag's opaque part (no quotes, no W/), or "*" */
    size_t if_match_len;         /* 0 with if_match NULL when absent */
    const char *if_none_match;   /* the checked value, NULL when absent */
    const char *authorization;   /* the raw value, NULL when absent */
    const char *bearer;          /* the token of "Bearer <token68>", NULL otherwise */
    const char *content_type;    /* NULL when absent */
    const char *origin;          /* NULL when absent */
} bw_headers_t;

/* Which header was refused, and why (static strings). */
typedef struct bw_headers_error {
    const char *header;
    const char *message;
} bw_headers_error_t;

/* Reads and checks the fields into *out: 0, or BW_EINVAL with *err. */
int bw_headers_read(const bw_httpparse_field_t *fields, size_t n, bw_headers_t *out,
                    bw_headers_error_t *err);

/* Whether a checked If-None-Match value matches etag (the opaque part) by
 * the weak comparison of RFC 9110 section 13.1.2: "*", or any listed tag,
 * W/ or not, with the same opaque part. */
int bw_headers_none_match(const char *if_none_match, const char *etag);

/* Whether a reply may be gzip-coded by an Accept-Encoding value (NULL when
 * the header is absent): gzip or x-gzip listed, or else "*", with a weight
 * above 0 (RFC 9110 section 12.5.3). */
int bw_headers_accepts_gzip(const char *accept_encoding);

/*
 * Content negotiation by an Accept value (RFC 9110 section 12.5.1; NULL
 * when the header is absent): the index of the first of the n media types
 * with the highest weight, each weighed by the most specific range that
 * matches it (type/subtype, then type/star, then star/star; other
 * parameters ignored), or -1 when every weight is 0. Without Accept, 0.
 */
int bw_headers_negotiate(const char *accept, const char *const *types, size_t n);

/* Whether a Content-Type names media_type, parameters ignored,
 * case-insensitive. */
int bw_headers_is_type(const char *content_type, const char *media_type);

/* Whether a Content-Type is JSON: application/json or any +json type,
 * parameters ignored, case-insensitive. */
int bw_headers_is_json(const char *content_type);

#endif
