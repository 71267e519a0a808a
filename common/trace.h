/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the traceparent
 * header: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lower-case
 * hex, neither id all zeros. The gateway accepts a client's valid header or
 * starts a trace, and hands every service a traceparent naming its own span;
 * the services log the trace id on every line of the call and record it in
 * the audit row.
 */
#ifndef BW_TRACE_H
#define BW_TRACE_H

#include <stddef.h>

#define BW_TRACE_ID_LEN 32
#define BW_TRACE_SPAN_LEN 16
/* "00-" trace "-" span "-" flags */
#define BW_TRACEPARENT_LEN 55

typedef struct bw_trace {
    char trace_id[BW_TRACE_ID_LEN + 1]; /* lower-case hex */
    char parent_id[BW_TRACE_SPAN_LEN + 1];
    unsigned flags;
} bw_trace_t;

/* Parses a traceparent value of len bytes (value need not be terminated).
 * Version 00 must be exactly 55 characters; a later version (01-fe) may be
 * longer when a '-' follows the flags, and is read as version 00, as the
 * specification asks. Returns 0, or BW_EINVAL for anything else: upper-case
 * hex, version ff, an all-zero id, a wrong length. */
int bw_trace_parse(const char *value, size_t len, bw_trace_t *out);
/* A new trace: random trace and parent ids, flags 01 (sampled: every line
 * is logged). 0, or BW_EINTERNAL when no randomness is available. */
int bw_trace_start(bw_trace_t *out);
/* A new span id of 16 hex digits into span (BW_TRACE_SPAN_LEN + 1 bytes). */
int bw_trace_new_span(char *span);
/* Writes the traceparent that names span as the parent under trace's id
 * and flags into buf (BW_TRACEPARENT_LEN + 1 bytes). */
void bw_trace_format(const bw_trace_t *trace, const char *span, char *buf);

#endif
