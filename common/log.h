/*
 * One-line structured logs: "time level service request=... tenant=... msg".
 * The level is checked before any formatting. Never pass a secret or token.
 */
#ifndef BW_LOG_H
#define BW_LOG_H

enum bw_log_level { BW_LOG_DEBUG = 0, BW_LOG_INFO, BW_LOG_WARN, BW_LOG_ERROR, BW_LOG_OFF };

/* The request context a line carries; both fields may be NULL. Borrowed. */
typedef struct bw_log_ctx {
    const char *request_id;
    const char *tenant_id;
} bw_log_ctx_t;

extern int bw_log_min_level;

/* Sets the process name shown on each line (borrowed, must outlive logging). */
void bw_log_init(const char *process_name, int min_level);
/* Parses "debug|info|warn|error|off"; returns the level or -1. */
int bw_log_parse_level(const char *name);

#define bw_log(level, ctx, ...)                                                                    \
    do {                                                                                           \
        if ((level) >= bw_log_min_level)                                                           \
            bw_log_write((level), (ctx), __VA_ARGS__);                                             \
    } while (0)

void bw_log_write(int level, const bw_log_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
