/*
 * traceparent parsing and making; see trace.h. Ids come from
 * bw_random_pooled (random.c): a trace and a span take 24 bytes of a
 * thread's buffer of 256, one system call per some ten requests.
 */
#include "trace.h"

#include "hex.h"
#include "random.h"
#include "status.h"

#include <string.h>

static int lower_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '0')
            return 0;
    return 1;
}

int bw_trace_parse(const char *value, size_t len, bw_trace_t *out)
{
    /* version "-" trace-id "-" parent-id "-" flags */
    if (value == NULL || len < BW_TRACEPARENT_LEN || !lower_hex(value, 2))
        return BW_EINVAL;
    if (strncmp(value, "ff", 2) == 0)
        return BW_EINVAL;
    int v00 = strncmp(value, "00", 2) == 0;
    if (v00 && len != BW_TRACEPARENT_LEN)
        return BW_EINVAL;
    if (!v00 && len > BW_TRACEPARENT_LEN && value[BW_TRACEPARENT_LEN] != '-')
        return BW_EINVAL;
    const char *trace = value + 3, *parent = trace + BW_TRACE_ID_LEN + 1,
               *flags = parent + BW_TRACE_SPAN_LEN + 1;
    if (value[2] != '-' || parent[-1] != '-' || flags[-1] != '-')
        return BW_EINVAL;
    if (!lower_hex(trace, BW_TRACE_ID_LEN) || all_zero(trace, BW_TRACE_ID_LEN) ||
        !lower_hex(parent, BW_TRACE_SPAN_LEN) || all_zero(parent, BW_TRACE_SPAN_LEN) ||
        !lower_hex(flags, 2))
        return BW_EINVAL;
    memcpy(out->trace_id, trace, BW_TRACE_ID_LEN);
    out->trace_id[BW_TRACE_ID_LEN] = '\0';
    memcpy(out->parent_id, parent, BW_TRACE_SPAN_LEN);
    out->parent_id[BW_TRACE_SPAN_LEN] = '\0';
    out->flags = (unsigned)(bw_hex_digit(flags[0]) << 4 | bw_hex_digit(flags[1]));
    return 0;
}

static int nonzero(const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bytes[i] != 0)
            return 1;
    return 0;
}

/* Fills bytes with randomness in which both parts (the first a bytes, the
 * rest) are non-zero, retried in the 2^-64 case. */
static int random_ids(unsigned char *bytes, size_t a, size_t n)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        if (bw_random_pooled(bytes, n) != 0)
            return BW_EINTERNAL;
        if (nonzero(bytes, a) && (a == n || nonzero(bytes + a, n - a)))
            return 0;
    }
    return BW_EINTERNAL;
}

int bw_trace_start(bw_trace_t *out)
{
    unsigned char bytes[BW_TRACE_ID_LEN / 2 + BW_TRACE_SPAN_LEN / 2];
    out->flags = 1;
    if (random_ids(bytes, BW_TRACE_ID_LEN / 2, sizeof(bytes)) != 0) {
        out->trace_id[0] = out->parent_id[0] = '\0';
        return BW_EINTERNAL;
    }
    bw_hex(bytes, BW_TRACE_ID_LEN / 2, out->trace_id);
    bw_hex(bytes + BW_TRACE_ID_LEN / 2, BW_TRACE_SPAN_LEN / 2, out->parent_id);
    return 0;
}

int bw_trace_new_span(char *span)
{
    unsigned char bytes[BW_TRACE_SPAN_LEN / 2];
    if (random_ids(bytes, sizeof(bytes), sizeof(bytes)) != 0)
        return BW_EINTERNAL;
    bw_hex(bytes, sizeof(bytes), span);
    return 0;
}

/* Written by hand: snprintf was about 0.7 % of the gateway's CPU per request. */
void bw_trace_format(const bw_trace_t *trace, const char *span, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    size_t id_len = strnlen(trace->trace_id, BW_TRACE_ID_LEN);
    size_t span_len = strnlen(span, BW_TRACE_SPAN_LEN);
    char *p = buf;
    memcpy(p, "00-", 3);
    p += 3;
    memcpy(p, trace->trace_id, id_len);
    p += id_len;
    *p++ = '-';
    memcpy(p, span, span_len);
    p += span_len;
    *p++ = '-';
    *p++ = digits[(trace->flags >> 4) & 15u];
    *p++ = digits[trace->flags & 15u];
    *p = '\0';
}
