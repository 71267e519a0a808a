/*
 * Fuzzes the gateway's checks of the request headers it acts on
 * (services/gateway/headers.c). The input is header lines, "Name: value"
 * separated by '\n' (any bytes but NUL and '\n', as the checks are meant to
 * hold even for what the HTTP parser would have refused). Whatever is
 * accepted must be safe to pass on as gRPC metadata and to echo in a reply:
 * printable ASCII, within its length; a refusal must name its header.
 * Accept-Encoding's reading takes any value, and a gzip;q=0 at its end
 * refuses gzip.
 */
#include "headers.h"

#include "status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 32

static void die(const char *what)
{
    fprintf(stderr, "fuzz_headers: %s\n", what);
    abort();
}

static void printable(const char *s, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            die(what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        die("out of memory");
    memcpy(text, data, size);
    text[size] = '\0';

    /* Cut into fields at '\n' and at the first ':' of each line; a NUL ends
     * the input, as it ends a C string. */
    bw_httpparse_field_t fields[MAX_FIELDS];
    size_t n = 0;
    char *line = text;
    while (n < MAX_FIELDS && *line != '\0') {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        char *colon = strchr(line, ':');
        if (colon != NULL) {
            *colon = '\0';
            char *value = colon + 1;
            while (*value == ' ')
                value++;
            fields[n++] = (bw_httpparse_field_t){line, value, strlen(line), strlen(value)};
        }
        if (nl == NULL)
            break;
        line = nl + 1;
    }

    bw_headers_t h;
    bw_headers_error_t err;
    int rc = bw_headers_read(fields, n, &h, &err);
    if (rc != 0) {
        if (rc != BW_EINVAL || err.header == NULL || err.message == NULL)
            die("a refusal that names no header");
    } else {
        if (h.request_id != NULL) {
            size_t len = strlen(h.request_id);
            if (len == 0 || len > BW_HEADERS_REQUEST_ID_MAX ||
                strspn(h.request_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_.:") != len)
                die("an unsafe request id taken");
        }
        if (h.idempotency_key != NULL) {
            size_t len = strlen(h.idempotency_key);
            if (len == 0 || len > BW_HEADERS_IDEMPOTENCY_KEY_MAX)
                die("an Idempotency-Key of the wrong length taken");
            printable(h.idempotency_key, len, "an Idempotency-Key with a non-printable byte");
        }
        if (h.if_match != NULL) {
            printable(h.if_match, h.if_match_len, "an If-Match tag with a non-printable byte");
            if (memchr(h.if_match, '"', h.if_match_len) != NULL)
                die("an If-Match tag with a quote in it");
        }
        if (h.bearer != NULL &&
            strspn(h.bearer, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                             "-._~+/=") != strlen(h.bearer))
            die("a bearer token outside token68");
        if (h.if_none_match != NULL) {
            (void)bw_headers_none_match(h.if_none_match, "abc");
            if (!bw_headers_none_match(h.if_none_match, "") && strcmp(h.if_none_match, "*") == 0)
                die("* did not match");
        }
    }
    (void)bw_headers_is_json(n > 0 ? fields[0].value : NULL);
    /* Any value at all: an answer, and the same one for a refusing weight
     * appended (a later gzip;q=0 wins). */
    for (size_t i = 0; i < n; i++) {
        const char *ae = fields[i].value;
        (void)bw_headers_accepts_gzip(ae);
        size_t len = strlen(ae) + sizeof(",gzip;q=0");
        char *refused = malloc(len);
        if (refused == NULL)
            die("out of memory");
        snprintf(refused, len, "%s,gzip;q=0", ae);
        if (bw_headers_accepts_gzip(refused))
            die("gzip;q=0 at the end did not refuse gzip");
        free(refused);
        /* Any Accept: one of the types or none, never past them. */
        static const char *const types[] = {"application/json", "text/csv", "image/svg+xml"};
        int chosen = bw_headers_negotiate(ae, types, 3);
        if (chosen < -1 || chosen > 2)
            die("negotiation chose outside the types");
        (void)bw_headers_is_type(ae, "text/csv");
    }
    free(text);
    return 0;
}
