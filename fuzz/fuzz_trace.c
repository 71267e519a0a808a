/*
 * Fuzzes what the processes read from strangers for observability: the
 * traceparent parser (common/trace.c) and the JSON escaper of log lines
 * (common/log.c). An accepted traceparent must name a trace and a span in
 * lower-case hex, neither all zeros, and survive being passed on; the
 * escaper's output, quoted, must be one valid JSON string for any input
 * and any room, never longer than the room.
 */
#include "log.h"
#include "trace.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "fuzz_trace: %s\n", what);
    abort();
}

static int lower_hex_nonzero(const char *s, size_t n)
{
    int nonzero = 0;
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_trace_t t;
    if (bw_trace_parse((const char *)data, size, &t) == 0) {
        if (!lower_hex_nonzero(t.trace_id, 32) || !lower_hex_nonzero(t.parent_id, 16) ||
            t.flags > 0xff)
            die("accepted a traceparent with a bad id");
        char header[BW_TRACEPARENT_LEN + 1];
        bw_trace_t again;
        bw_trace_format(&t, t.parent_id, header);
        if (bw_trace_parse(header, strlen(header), &again) != 0 ||
            strcmp(again.trace_id, t.trace_id) != 0 || again.flags != t.flags)
            die("a traceparent passed on does not read back");
    }

    /* the room: the first byte chooses it, up to the whole escape */
    size_t cap = size > 0 ? (size_t)data[0] * 8 + 1 : 1;
    char *out = malloc(cap + 2);
    if (out == NULL)
        die("out of memory");
    size_t n = bw_log_json_escape((const char *)data, size, out + 1, cap);
    if (n >= cap || strlen(out + 1) != n)
        die("the escape overran its room");
    out[0] = '"';
    out[n + 1] = '"';
    json_error_t err;
    json_t *s = json_loadb(out, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (s == NULL || !json_is_string(s))
        die("the escape is no JSON string");
    json_decref(s);
    free(out);
    return 0;
}
