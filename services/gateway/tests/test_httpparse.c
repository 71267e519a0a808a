/*
 * The HTTP/1.1 request parser: what a client may send, what it is refused
 * with, and that the answer does not depend on how the bytes arrive.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpparse.h"
#include "status.h"

static const bw_httpparse_limits_t limits = {8192, 65536, 100};

typedef struct parsed {
    int rc; /* of find_head, then of bw_httpparse_head */
    char buf[200000];
    size_t len;
    bw_httpparse_scan_t scan;
    bw_httpparse_field_t fields[128];
    bw_httpparse_head_t head;
    bw_httpparse_error_t err;
} parsed_t;

/* Parses text whole; the result lives in a static buffer. */
static parsed_t *parse(const char *text)
{
    static parsed_t p;
    memset(&p.scan, 0, sizeof(p.scan));
    memset(&p.err, 0, sizeof(p.err));
    p.len = strlen(text);
    ck_assert_uint_lt(p.len, sizeof(p.buf));
    memcpy(p.buf, text, p.len);
    p.rc = bw_httpparse_find_head(p.buf, p.len, &limits, &p.scan, &p.err);
    if (p.rc == BW_HTTPPARSE_DONE)
        p.rc = bw_httpparse_head(p.buf, &p.scan, &limits, p.fields, 128, &p.head, &p.err);
    return &p;
}

#define ck_refused(text, want_status)                                                              \
    do {                                                                                           \
        parsed_t *p_ = parse(text);                                                                \
        ck_assert_msg(p_->rc == BW_EINVAL, "accepted (rc %d): %s", p_->rc, text);                  \
        ck_assert_int_eq(p_->err.status, (want_status));                                           \
        ck_assert_ptr_nonnull(p_->err.reason);                                                     \
        ck_assert_ptr_nonnull(p_->err.detail);                                                     \
    } while (0)

#define ck_accepted(text)                                                                          \
    do {                                                                                           \
        parsed_t *p_ = parse(text);                                                                \
        ck_assert_msg(p_->rc == 0, "refused %d (%s): %s", p_->err.status,                          \
                      p_->err.detail ? p_->err.detail : "incomplete", text);                       \
    } while (0)

START_TEST(a_simple_get)
{
    parsed_t *p = parse("GET /v1/entities?pageSize=2&x=%41 HTTP/1.1\r\n"
                        "Host: api.example\r\n"
                        "Authorization:   Bearer abc  \r\n"
                        "X-Empty:\r\n"
                        "\r\n"
                        "GET /next HTTP/1.1\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_uint_eq(p->scan.head_len, p->len - strlen("GET /next HTTP/1.1\r\n"));
    ck_assert_int_eq(p->head.method, BW_HTTPPARSE_GET);
    ck_assert_str_eq(p->head.method_name, "GET");
    ck_assert_str_eq(p->head.path, "/v1/entities");
    ck_assert_uint_eq(p->head.path_len, 12);
    ck_assert_str_eq(p->head.query, "pageSize=2&x=%41");
    ck_assert_int_eq(p->head.version, 11);
    ck_assert_uint_eq(p->head.n_fields, 3);
    ck_assert_str_eq(p->fields[1].name, "Authorization");
    ck_assert_str_eq(p->fields[1].value, "Bearer abc");
    ck_assert_uint_eq(p->fields[1].value_len, 10);
    ck_assert_str_eq(p->fields[2].value, "");
    ck_assert_str_eq(bw_httpparse_field(p->fields, p->head.n_fields, "authorization", NULL),
                     "Bearer abc");
    ck_assert_int_eq(p->head.content_length, -1);
    ck_assert_int_eq(p->head.keep_alive, 1);
    ck_assert_int_eq(p->head.chunked, 0);
    ck_assert_ptr_null(bw_httpparse_field(p->fields, p->head.n_fields, "Cookie", NULL));
}
END_TEST

START_TEST(byte_by_byte_gives_the_same_head)
{
    static const char req[] = "\r\nPOST /v1/entities HTTP/1.1\r\nHost: h\r\nContent-Length: "
                              "2\r\nExpect: 100-continue\r\n\r\n{}";
    char buf[sizeof(req)];
    memcpy(buf, req, sizeof(req));
    bw_httpparse_scan_t scan = {0};
    bw_httpparse_error_t err;
    size_t end = sizeof(req) - 1 - 2;
    for (size_t len = 0; len < end; len++)
        ck_assert_int_eq(bw_httpparse_find_head(buf, len, &limits, &scan, &err),
                         BW_HTTPPARSE_AGAIN);
    ck_assert_int_eq(bw_httpparse_find_head(buf, sizeof(req) - 1, &limits, &scan, &err), 0);
    ck_assert_uint_eq(scan.head_len, end);
    bw_httpparse_field_t fields[4];
    bw_httpparse_head_t head;
    ck_assert_int_eq(bw_httpparse_head(buf, &scan, &limits, fields, 4, &head, &err), 0);
    ck_assert_int_eq(head.method, BW_HTTPPARSE_POST);
    ck_assert_int_eq(head.content_length, 2);
    ck_assert_int_eq(head.expect_continue, 1);
    ck_assert_str_eq(head.path, "/v1/entities");
    ck_assert_ptr_null(head.query);
}
END_TEST

START_TEST(lines_end_in_crlf)
{
    ck_refused("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n", 400);
    /* Empty lines before the request line are skipped, a few of them. */
    ck_accepted("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_refused("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(header_fields_are_strict)
{
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\001b\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\177b\r\n\r\n", 400);
    /* A tab and bytes of UTF-8 (obs-text) are field content. */
    ck_accepted("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: a\tb \xc3\xa9\r\n\r\n");
}
END_TEST

START_TEST(request_line)
{
    ck_refused("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /\r\nHost: h\r\n\r\n", 400);
    ck_refused("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    ck_refused("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
    ck_refused("AVERYLONGMETHODNAMETHATNOBODYEVERUSES / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
    parsed_t *p = parse("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_int_eq(p->head.method, BW_HTTPPARSE_OTHER);
    ck_assert_str_eq(p->head.method_name, "BREW");
    p = parse("get / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(p->head.method, BW_HTTPPARSE_OTHER); /* methods are case-sensitive */
    p = parse("HEAD / HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_int_eq(p->head.method, BW_HTTPPARSE_HEAD);
    ck_assert_int_eq(p->head.version, 10);
    ck_assert_int_eq(p->head.keep_alive, 0);
}
END_TEST

START_TEST(request_targets)
{
    parsed_t *p = parse("GET http://api.example:8080/v1/x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_str_eq(p->head.path, "/v1/x");
    ck_assert_str_eq(p->head.query, "y=1");
    p = parse("GET https://api.example?y=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_str_eq(p->head.path, "/");
    ck_assert_str_eq(p->head.query, "y=1");
    p = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_str_eq(p->head.path, "*");
    p = parse("GET /a?b?c=/d HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_str_eq(p->head.path, "/a");
    ck_assert_str_eq(p->head.query, "b?c=/d");
    p = parse("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_str_eq(p->head.query, "");
    ck_refused("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET v1/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /a\"b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /a{b} HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_refused("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    ck_accepted("GET /a%2Fb/c;d=e/f:g@h!$&'()*+,= HTTP/1.1\r\nHost: h\r\n\r\n");
}
END_TEST

/* A request of prefix, n times the byte fill, then suffix (caller frees). */
static char *repeat(const char *prefix, char fill, size_t n, const char *suffix)
{
    size_t p = strlen(prefix), q = strlen(suffix);
    char *req = malloc(p + n + q + 1);
    ck_assert_ptr_nonnull(req);
    memcpy(req, prefix, p);
    memset(req + p, fill, n);
    memcpy(req + p + n, suffix, q + 1);
    return req;
}

START_TEST(absurd_targets_are_414_even_before_they_end)
{
    char *req = repeat("GET /", 'a', 9000, " HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_refused(req, 414);
    free(req);
    /* The line is still arriving: refused as soon as it is too long. */
    req = repeat("GET /", 'a', 9000, "");
    ck_refused(req, 414);
    free(req);
    /* Just under the limit is fine. */
    req = repeat("GET /", 'a', 8191, " HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_accepted(req);
    free(req);
}
END_TEST

/* A head with Host and n more fields. */
static char *many_fields(int n)
{
    size_t cap = 64 + (size_t)n * 16, o = 0;
    char *req = malloc(cap);
    ck_assert_ptr_nonnull(req);
    o += (size_t)snprintf(req, cap, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(req + o, cap - o, "X-%d: 1\r\n", i);
    snprintf(req + o, cap - o, "\r\n");
    return req;
}

START_TEST(oversized_heads_are_431_even_before_they_end)
{
    char *req = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", 'a', 70000, "\r\n\r\n");
    ck_refused(req, 431);
    free(req);
    req = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", 'a', 66000, "");
    ck_refused(req, 431);
    free(req);
    /* Many fields, each small: 101 besides Host is too many, 99 are fine. */
    req = many_fields(101);
    ck_refused(req, 431);
    free(req);
    req = many_fields(99);
    ck_accepted(req);
    free(req);
}
END_TEST

/* The status of a head fed whole, after checking that it is the same fed
 * one byte at a time (found by fuzz/fuzz_httpparse). */
static int status_either_way(const char *text)
{
    parsed_t *whole = parse(text);
    int want = whole->rc == BW_EINVAL ? whole->err.status : whole->rc;
    char *buf = strdup(text);
    size_t len = strlen(text);
    bw_httpparse_scan_t scan = {0};
    bw_httpparse_error_t err = {0, NULL, NULL};
    int rc = BW_HTTPPARSE_AGAIN;
    for (size_t n = 1; n <= len && rc == BW_HTTPPARSE_AGAIN; n++)
        rc = bw_httpparse_find_head(buf, n, &limits, &scan, &err);
    if (rc == BW_HTTPPARSE_DONE) {
        bw_httpparse_field_t fields[128];
        bw_httpparse_head_t head;
        rc = bw_httpparse_head(buf, &scan, &limits, fields, 128, &head, &err);
    }
    free(buf);
    ck_assert_int_eq(rc == BW_EINVAL ? err.status : rc, want);
    return want;
}

START_TEST(the_answer_does_not_depend_on_how_the_bytes_arrive)
{
    /* Too long, and ending in a bare LF: 414 either way. */
    char *req = repeat("GET /", 'a', 9000, " HTTP/1.1\nHost: h\r\n\r\n");
    ck_assert_int_eq(status_either_way(req), 414);
    free(req);
    /* The longest request line, its CR, then a bare LF: 400 either way. */
    req = repeat("GET /", 'a', 8192 + 32 - 5, " HTTP/1.1\r\nHost: h\n\r\n");
    ck_assert_int_eq(status_either_way(req), 400);
    free(req);
    req = repeat("GET / HTTP/1.1\r\nHost: h\r\nX: ", 'a', 66000, "\n\r\n");
    ck_assert_int_eq(status_either_way(req), 431);
    free(req);
    req = repeat("GET / HTTP/1.1\r\nHost: h\r\nX: ", 'a', 65000, "\n\r\n");
    ck_assert_int_eq(status_either_way(req), 400);
    free(req);
}
END_TEST

START_TEST(content_length)
{
    parsed_t *p = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0042\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_int_eq(p->head.content_length, 42);
    p = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_int_eq(p->head.content_length, LLONG_MAX);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400);
}
END_TEST

START_TEST(transfer_codings)
{
    parsed_t *p = parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_int_eq(p->head.chunked, 1);
    ck_refused(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
               "chunked\r\n\r\n",
               501);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", 400);
    ck_refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}
END_TEST

START_TEST(host_connection_and_expect)
{
    ck_refused("GET / HTTP/1.1\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    ck_refused("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    ck_accepted("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    ck_accepted("GET / HTTP/1.0\r\n\r\n");
    parsed_t *p = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n");
    ck_assert_int_eq(p->head.keep_alive, 0);
    p = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    ck_assert_int_eq(p->head.keep_alive, 1);
    p = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    ck_assert_int_eq(p->head.expect_continue, 1);
    p = parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    ck_assert_int_eq(p->rc, 0);
    ck_assert_int_eq(p->head.expect_continue, 0);
    ck_refused("POST / HTTP/1.1\r\nHost: h\r\nExpect: the-unexpected\r\n\r\n", 417);
}
END_TEST

/* Decodes a chunked body arriving step bytes at a time, as a server
 * would: after each arrival the decoder runs until it wants more. The
 * decoded body goes to out; *used_total is where the body ended. */
static int decode(const char *in, size_t len, size_t step, uint64_t max, char *out, size_t *out_len,
                  size_t *used_total, bw_httpparse_error_t *err)
{
    bw_httpparse_chunked_t c = {0};
    size_t pos = 0, avail = 0;
    *out_len = 0;
    *used_total = 0;
    for (;;) {
        for (;;) {
            size_t used;
            const char *data;
            size_t n;
            int rc = bw_httpparse_chunked(&c, in + pos, avail - pos, max, &used, &data, &n, err);
            if (n > 0) {
                memcpy(out + *out_len, data, n);
                *out_len += n;
            }
            pos += used;
            if (rc != BW_HTTPPARSE_AGAIN) {
                *used_total = pos;
                return rc;
            }
            if (n == 0 || pos == avail)
                break;
        }
        ck_assert_uint_eq(pos, avail);
        if (avail == len)
            return BW_HTTPPARSE_AGAIN;
        avail = avail + step < len ? avail + step : len;
    }
}

START_TEST(chunked_bodies)
{
    static const char body[] = "5;ext=\"x y\"\r\nhello\r\n"
                               "7\r\n, world\r\n"
                               "0\r\nX-Trailer: yes\r\n\r\n"
                               "GET /next";
    size_t len = strlen(body), body_end = len - strlen("GET /next");
    for (size_t step = 1; step <= len; step++) {
        char out[64];
        size_t out_len, used;
        bw_httpparse_error_t err;
        int rc = decode(body, len, step, 1024, out, &out_len, &used, &err);
        ck_assert_msg(rc == BW_HTTPPARSE_DONE, "step %zu: rc %d", step, rc);
        ck_assert_uint_eq(out_len, 12);
        ck_assert(memcmp(out, "hello, world", 12) == 0);
        ck_assert_uint_eq(used, body_end);
    }
}
END_TEST

static int chunked_status(const char *body, uint64_t max)
{
    char out[256];
    size_t out_len, used;
    bw_httpparse_error_t err = {0, NULL, NULL};
    int rc = decode(body, strlen(body), strlen(body), max, out, &out_len, &used, &err);
    return rc == BW_EINVAL ? err.status : rc;
}

START_TEST(chunked_refusals)
{
    ck_assert_int_eq(chunked_status("0\r\n\r\n", 10), BW_HTTPPARSE_DONE);
    ck_assert_int_eq(chunked_status("A\r\n0123456789\r\n0\r\n\r\n", 10), BW_HTTPPARSE_DONE);
    /* Over the limit is refused by the size line, before the data. */
    ck_assert_int_eq(chunked_status("B\r\n", 10), 413);
    ck_assert_int_eq(chunked_status("6\r\n012345\r\n5\r\n", 10), 413);
    ck_assert_int_eq(chunked_status("FFFFFFFFFFFFFFFFFFFF\r\n", 10), 413);
    ck_assert_int_eq(chunked_status("\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("x\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("-1\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("1 \r\n", 10), 400);
    ck_assert_int_eq(chunked_status("1\n", 10), 400);
    ck_assert_int_eq(chunked_status("1\r\nab\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("1\r\na\n", 10), 400);
    ck_assert_int_eq(chunked_status("1;a\001b\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("0\r\nNo colon\r\n\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("0\r\n folded: x\r\n\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("0\r\nX: a\001\r\n\r\n", 10), 400);
    ck_assert_int_eq(chunked_status("0\r\n\rx", 10), 400);
    char *big = repeat("0\r\nX: ", 'a', BW_HTTPPARSE_MAX_TRAILER, "\r\n\r\n");
    ck_assert_int_eq(chunked_status(big, 10), 431);
    free(big);
}
END_TEST

Suite *suite_httpparse(void)
{
    Suite *s = suite_create("httpparse");
    TCase *tc = tcase_create("head");
    tcase_add_test(tc, a_simple_get);
    tcase_add_test(tc, byte_by_byte_gives_the_same_head);
    tcase_add_test(tc, lines_end_in_crlf);
    tcase_add_test(tc, header_fields_are_strict);
    tcase_add_test(tc, request_line);
    tcase_add_test(tc, request_targets);
    tcase_add_test(tc, absurd_targets_are_414_even_before_they_end);
    tcase_add_test(tc, oversized_heads_are_431_even_before_they_end);
    tcase_add_test(tc, the_answer_does_not_depend_on_how_the_bytes_arrive);
    tcase_add_test(tc, content_length);
    tcase_add_test(tc, transfer_codings);
    tcase_add_test(tc, host_connection_and_expect);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("chunked");
    tcase_add_test(tb, chunked_bodies);
    tcase_add_test(tb, chunked_refusals);
    suite_add_tcase(s, tb);
    return s;
}
