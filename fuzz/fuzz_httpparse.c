/*
 * Fuzzes the gateway's HTTP/1.1 request parser (services/gateway/httpparse.c).
 * The first input byte picks the size of the pieces the rest arrives in (as
 * a server reading a socket would see it); the rest is what a client sent.
 * The answer must not depend on the pieces: the head found, its fields, the
 * error status, and for a chunked body the bytes decoded and where the body
 * ended. Whatever is accepted must be what the grammar allows: tokens for
 * names, no control bytes in values, a path that starts with '/', one
 * framing.
 */
#include "httpparse.h"

#include "status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 100
#define MAX_BODY 4096

static const bw_httpparse_limits_t limits = {512, 2048, MAX_FIELDS};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_httpparse: %s\n", what);
    abort();
}

typedef struct outcome {
    int rc;
    int status;
    size_t head_len;
} outcome_t;

/* Finds the head of buf[0..len), the bytes arriving step at a time. */
static outcome_t find(const char *buf, size_t len, size_t step, bw_httpparse_scan_t *scan)
{
    bw_httpparse_error_t err = {0, NULL, NULL};
    outcome_t o = {BW_HTTPPARSE_AGAIN, 0, 0};
    memset(scan, 0, sizeof(*scan));
    for (size_t avail = step < len ? step : len;; avail = avail + step < len ? avail + step : len) {
        o.rc = bw_httpparse_find_head(buf, avail, &limits, scan, &err);
        if (o.rc != BW_HTTPPARSE_AGAIN || avail == len)
            break;
    }
    if (o.rc == BW_EINVAL) {
        if (err.status < 400 || err.status > 505 || err.reason == NULL || err.detail == NULL)
            die("a refusal without a status, reason or detail");
        o.status = err.status;
    }
    if (o.rc == BW_HTTPPARSE_DONE)
        o.head_len = scan->head_len;
    return o;
}

static int is_tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static void check_head(const bw_httpparse_head_t *h)
{
    if (h->method < BW_HTTPPARSE_OTHER || h->method > BW_HTTPPARSE_OPTIONS ||
        (h->version != 10 && h->version != 11))
        die("a method or version out of range");
    if (!(h->path[0] == '/' || strcmp(h->path, "*") == 0) || strlen(h->path) != h->path_len)
        die("a path that is not one");
    if (h->chunked && h->content_length != -1)
        die("two framings at once");
    if (h->n_fields > MAX_FIELDS)
        die("more fields than allowed");
    for (size_t i = 0; i < h->n_fields; i++) {
        const bw_httpparse_field_t *f = &h->fields[i];
        if (f->name_len == 0 || strlen(f->name) != f->name_len || strlen(f->value) != f->value_len)
            die("a field whose lengths do not match its strings");
        for (size_t k = 0; k < f->name_len; k++)
            if (!is_tchar((unsigned char)f->name[k]))
                die("a field name that is not a token");
        for (size_t k = 0; k < f->value_len; k++) {
            unsigned char c = (unsigned char)f->value[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                die("a control byte in a field value");
        }
        if (f->value_len > 0 && (f->value[0] == ' ' || f->value[f->value_len - 1] == ' '))
            die("a field value with blanks around it");
    }
}

/* Decodes a chunked body from in, step bytes at a time. */
static int dechunk(const char *in, size_t len, size_t step, char *out, size_t *out_len, size_t *end,
                   int *status)
{
    bw_httpparse_chunked_t c = {0};
    bw_httpparse_error_t err = {0, NULL, NULL};
    size_t pos = 0, avail = 0;
    *out_len = 0;
    for (;;) {
        avail = avail + step < len ? avail + step : len;
        for (;;) {
            size_t used, n;
            const char *data;
            int rc =
                bw_httpparse_chunked(&c, in + pos, avail - pos, MAX_BODY, &used, &data, &n, &err);
            if (used > avail - pos || n > used || (n > 0 && data < in + pos))
                die("the decoder read past its input");
            if (*out_len + n > MAX_BODY)
                die("a body over the limit");
            if (n > 0)
                memcpy(out + *out_len, data, n);
            *out_len += n;
            pos += used;
            if (rc != BW_HTTPPARSE_AGAIN) {
                *end = pos;
                *status = rc == BW_EINVAL ? err.status : 0;
                return rc;
            }
            if (n == 0 || pos == avail)
                break;
        }
        if (avail == len) {
            *end = pos;
            *status = 0;
            return BW_HTTPPARSE_AGAIN;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    size_t len = size - 1;
    char *whole = malloc(len + 1), *pieces = malloc(len + 1);
    if (whole == NULL || pieces == NULL)
        die("out of memory");
    memcpy(whole, data + 1, len);
    memcpy(pieces, data + 1, len);

    bw_httpparse_scan_t scan_whole, scan_pieces;
    outcome_t a = find(whole, len, len > 0 ? len : 1, &scan_whole);
    outcome_t b = find(pieces, len, step, &scan_pieces);
    if (a.rc != b.rc || a.status != b.status || a.head_len != b.head_len)
        die("the head depends on how the bytes arrived");

    if (a.rc == BW_HTTPPARSE_DONE) {
        static bw_httpparse_field_t fields[MAX_FIELDS];
        bw_httpparse_head_t head;
        bw_httpparse_error_t err = {0, NULL, NULL};
        int rc = bw_httpparse_head(whole, &scan_whole, &limits, fields, MAX_FIELDS, &head, &err);
        if (rc == BW_EINVAL && (err.status < 400 || err.reason == NULL || err.detail == NULL))
            die("a refusal without a status, reason or detail");
        (void)bw_httpparse_field(fields, rc == 0 ? head.n_fields : 0, "Host", NULL);
        if (rc == 0) {
            check_head(&head);
            if (head.chunked) {
                static char out_a[MAX_BODY], out_b[MAX_BODY];
                size_t la, lb, ea, eb;
                int sa, sb;
                const char *body = pieces + a.head_len;
                size_t body_len = len - a.head_len;
                int ra = dechunk(body, body_len, body_len > 0 ? body_len : 1, out_a, &la, &ea, &sa);
                int rb = dechunk(body, body_len, step, out_b, &lb, &eb, &sb);
                if (ra != rb || sa != sb || (ra != BW_EINVAL && (la != lb || ea != eb)) ||
                    (ra != BW_EINVAL && memcmp(out_a, out_b, la) != 0))
                    die("the body depends on how the bytes arrived");
            }
        }
    }
    free(whole);
    free(pieces);
    return 0;
}
