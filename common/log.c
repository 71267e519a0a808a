/*
 * Log lines are formatted into a stack buffer and written with one write(2)
 * so that lines from several threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int bw_log_min_level = BW_LOG_INFO;
static const char *log_process = "bulwark";

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void bw_log_init(const char *process_name, int min_level)
{
    log_process = process_name;
    bw_log_min_level = min_level;
}

int bw_log_parse_level(const char *name)
{
    for (int i = 0; i <= BW_LOG_OFF; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void bw_log_write(int level, const bw_log_ctx_t *ctx, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], log_process);
    if (ctx != NULL && ctx->request_id != NULL && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, " request=%s", ctx->request_id);
    if (ctx != NULL && ctx->tenant_id != NULL && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, " tenant=%s", ctx->tenant_id);
    if (n < (int)sizeof(line) - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
