/*
 * A strict HTTP/1.1 request parser (RFC 9112) for the gateway's own server
 * (httpd.c): the request head and the chunked transfer coding. It does no
 * I/O, allocates nothing and keeps no global state; the server hands it the
 * bytes read so far. Work is linear in the input however it arrives: the
 * search for the end of a head resumes where the previous call stopped.
 *
 * Strict on purpose, so that no two readers of a request can disagree on
 * where it ends: lines end in CRLF (a bare CR or LF is a 400); no obs-fold;
 * no control characters; exactly one SP between the parts of the request
 * line; field names are tokens with nothing between name and colon; one
 * Content-Length of digits only, never together with Transfer-Encoding; the
 * only transfer coding is chunked (another is a 501); Transfer-Encoding
 * needs HTTP/1.1; HTTP/1.1 needs exactly one Host. Limits: a request-target
 * longer than max_target is a 414, a header section larger than max_head
 * bytes or with more than max_fields fields a 431.
 *
 * Functions return BW_HTTPPARSE_DONE (0), BW_HTTPPARSE_AGAIN (more input
 * needed), or BW_EINVAL with *err saying which HTTP status to answer and why.
 */
#ifndef BW_GW_HTTPPARSE_H
#define BW_GW_HTTPPARSE_H

#include <stddef.h>
#include <stdint.h>

enum {
    BW_HTTPPARSE_DONE = 0,
    BW_HTTPPARSE_AGAIN = 1,
};

typedef enum bw_httpparse_method {
    BW_HTTPPARSE_OTHER = 0, /* a valid token this server does not implement */
    BW_HTTPPARSE_GET,
    BW_HTTPPARSE_HEAD,
    BW_HTTPPARSE_POST,
    BW_HTTPPARSE_PUT,
    BW_HTTPPARSE_PATCH,
    BW_HTTPPARSE_DELETE,
    BW_HTTPPARSE_OPTIONS,
} bw_httpparse_method_t;

typedef struct bw_httpparse_limits {
    size_t max_target; /* bytes of the request-target */
    size_t max_head;   /* bytes of the header section (after the request line) */
    size_t max_fields; /* header fields */
} bw_httpparse_limits_t;

#define BW_HTTPPARSE_MAX_METHOD 32
/* Longest chunk-size line (size and extensions) and trailer section. */
#define BW_HTTPPARSE_MAX_CHUNK_LINE 4096
#define BW_HTTPPARSE_MAX_TRAILER 8192

/* Why a request is refused: the status to answer, a stable UPPER_SNAKE
 * reason and a sentence for humans (both static strings). */
typedef struct bw_httpparse_error {
    int status;
    const char *reason;
    const char *detail;
} bw_httpparse_error_t;

/* Where the search for the end of a head stands between calls. Zero it
 * before the first call for each request. */
typedef struct bw_httpparse_scan {
    size_t scanned;      /* bytes searched */
    size_t line_start;   /* offset of the line being read */
    size_t head_start;   /* offset of the request line (empty lines before it are skipped) */
    size_t fields_start; /* offset of the first field line, 0 until the request line ended */
    size_t lines;        /* complete lines so far, the request line included */
    size_t head_len;     /* when done: bytes of the head, final empty line included */
} bw_httpparse_scan_t;

typedef struct bw_httpparse_field {
    const char *name;  /* as sent (a token), NUL-terminated */
    const char *value; /* without surrounding blanks, NUL-terminated */
    size_t name_len, value_len;
} bw_httpparse_field_t;

typedef struct bw_httpparse_head {
    int method;              /* bw_httpparse_method_t */
    const char *method_name; /* the token as sent */
    const char *path;        /* origin-form path, "/..." (raw, percent-encoded); "*" */
    size_t path_len;
    const char *query;            /* after '?', NULL when the target has none */
    int version;                  /* 10 or 11 */
    bw_httpparse_field_t *fields; /* the caller's array */
    size_t n_fields;
    long long content_length; /* -1: none; LLONG_MAX when too large to represent */
    int chunked;              /* Transfer-Encoding: chunked */
    int keep_alive;           /* the connection persists after this request */
    int expect_continue;      /* Expect: 100-continue on HTTP/1.1 */
} bw_httpparse_head_t;

/* Searches buf[0..len) for the end of a request head, resuming from *scan.
 * DONE: scan->head_len and scan->lines are set; AGAIN: no end yet (limits
 * already checked on what arrived, so a head that can only grow too large
 * is refused early); BW_EINVAL: *err. */
int bw_httpparse_find_head(const char *buf, size_t len, const bw_httpparse_limits_t *limits,
                           bw_httpparse_scan_t *scan, bw_httpparse_error_t *err);

/* Parses the head that find_head delimited (buf[0..scan->head_len)) into
 * *head. The strings of *head point into buf, which is why it is not const:
 * each is NUL-terminated in place (over the delimiter that followed it).
 * fields has room for max_fields entries (at least scan->lines - 1 are
 * needed). 0 or BW_EINVAL with *err. */
int bw_httpparse_head(char *buf, const bw_httpparse_scan_t *scan,
                      const bw_httpparse_limits_t *limits, bw_httpparse_field_t *fields,
                      size_t max_fields, bw_httpparse_head_t *head, bw_httpparse_error_t *err);

/* The value of the first field called name (case-insensitive), or NULL;
 * *count (may be NULL) gets how many fields have that name. */
const char *bw_httpparse_field(const bw_httpparse_field_t *fields, size_t n, const char *name,
                               size_t *count);

/* A chunked body being decoded. Zero it before the body. */
typedef struct bw_httpparse_chunked {
    int state;
    uint64_t size;      /* the chunk size being read, then the data left in it */
    size_t digits;      /* hex digits of the chunk size read */
    size_t line_len;    /* bytes of the current size or trailer line */
    size_t trailer_len; /* bytes of the trailer section */
    int colon;          /* the current trailer line has its colon */
    uint64_t total;     /* body bytes so far */
} bw_httpparse_chunked_t;

/* Decodes in[0..len) until it meets a piece of chunk data, the end of the
 * body, or the end of the input; *consumed bytes were used. A piece of data
 * is returned through *data and *data_len (pointing into in; 0 when none),
 * with AGAIN: handle it and call again with the rest. DONE: the body and its
 * trailer section ended (trailer fields are checked and dropped). A body
 * over max_body bytes is refused with 413 as soon as a chunk size says so. */
int bw_httpparse_chunked(bw_httpparse_chunked_t *c, const char *in, size_t len, uint64_t max_body,
                         size_t *consumed, const char **data, size_t *data_len,
                         bw_httpparse_error_t *err);

#endif
