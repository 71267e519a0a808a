/*
 * One line per event, in one of two formats chosen once per process
 * (BULWARK_LOG_FORMAT): text, "time level service request=... trace=...
 * tenant=... msg", or json, one object a line (docs/DESIGN.md,
 * "Observability"). The level is checked before any formatting. Never pass
 * a secret or token.
 */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stddef.h>

enum bw_log_level { BW_LOG_DEBUG = 0, BW_LOG_INFO, BW_LOG_WARN, BW_LOG_ERROR, BW_LOG_OFF };
enum bw_log_format { BW_LOG_TEXT = 0, BW_LOG_JSON };

/* The request context a line carries; every field may be NULL. Borrowed. */
typedef struct bw_log_ctx {
    const char *request_id;
    const char *tenant_id;
    const char *trace_id; /* 32 hex digits (trace.h) */
} bw_log_ctx_t;

/* The outcome of a request or call, on the one line that reports it. */
typedef struct bw_log_outcome {
    const char *method; /* "/bulwark.scoping.v1.ScopingService/GetEntity", "POST /v1/entities" */
    const char *status; /* "OK", "NOT_FOUND"; "201" at the gateway */
    long long duration_us;
} bw_log_outcome_t;

extern int bw_log_min_level;
/* Whether a finished request (gateway) or call (service) makes its line at
 * info (BULWARK_LOG_REQUESTS, on by default): the lines that carry method,
 * status and duration. Failures are logged either way. */
extern int bw_log_requests;

/* How long a request line may wait in the batch before it is written
 * (log.c says which lines are batched and why). */
#define BW_LOG_HOLD_MS 100

/* Writes n bytes of p to fd, again after EINTR and short writes; gives up
 * silently on an error (a log or a /metrics answer has nowhere to report
 * it). */
void bw_write_all(int fd, const char *p, size_t n);

/* Writes the batched request lines now (at shutdown; exit does it too). */
void bw_log_flush(void);

/* Sets the process name shown on each line (borrowed, must outlive logging). */
void bw_log_init(const char *process_name, int min_level);
/* Chooses the format (BW_LOG_TEXT by default). */
void bw_log_set_format(int format);
/* Parses "debug|info|warn|error|off"; returns the level or -1. */
int bw_log_parse_level(const char *name);
/* Parses "text|json"; returns the format or -1. */
int bw_log_parse_format(const char *name);

#define bw_log(level, ctx, ...)                                                                    \
    do {                                                                                           \
        if ((level) >= bw_log_min_level)                                                           \
            bw_log_write((level), (ctx), NULL, __VA_ARGS__);                                       \
    } while (0)

/* A line that reports a finished request or call. */
#define bw_log_done(level, ctx, outcome, ...)                                                      \
    do {                                                                                           \
        if ((level) >= bw_log_min_level)                                                           \
            bw_log_write((level), (ctx), (outcome), __VA_ARGS__);                                  \
    } while (0)

void bw_log_write(int level, const bw_log_ctx_t *ctx, const bw_log_outcome_t *outcome,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes src (len bytes) into dst as the inside of a JSON string: quote,
 * backslash and control characters escaped, bytes that are not UTF-8
 * replaced by U+FFFD, never a character cut in half. Stops before dst
 * would hold more than cap - 1 bytes, and terminates it. Returns the bytes
 * written. */
size_t bw_log_json_escape(const char *src, size_t len, char *dst, size_t cap);

#endif
