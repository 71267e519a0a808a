/*
 * Log lines are formatted into a stack buffer and written with one write(2)
 * so that lines from several threads never interleave. The JSON format is
 * written by hand: the fields are few and fixed, and every string goes
 * through one escaper that also keeps the line valid UTF-8 whatever a
 * message quotes from a request.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_MESSAGE_MAX 2048
#define LOG_LINE_MAX 8192

int bw_log_min_level = BW_LOG_INFO;
int bw_log_requests = 1;
static const char *log_process = "bulwark";
static int log_format = BW_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};
static const char *const format_names[] = {"text", "json"};

void bw_log_init(const char *process_name, int min_level)
{
    log_process = process_name;
    bw_log_min_level = min_level;
}

void bw_log_set_format(int format)
{
    log_format = format == BW_LOG_JSON ? BW_LOG_JSON : BW_LOG_TEXT;
}

int bw_log_parse_level(const char *name)
{
    for (int i = 0; i <= BW_LOG_OFF; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

int bw_log_parse_format(const char *name)
{
    for (int i = 0; i <= BW_LOG_JSON; i++)
        if (strcasecmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

/* The length of the UTF-8 character at p (at most n bytes), or 0 when the
 * bytes there are not one (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_char_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return need;
}

/* The two-character escapes JSON has for control characters (RFC 8259). */
static const char short_escapes[0x20] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};

size_t bw_log_json_escape(const char *src, size_t len, char *dst, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t out = 0, i = 0;
    if (cap == 0)
        return 0;
    while (i < len) {
        char piece[8];
        size_t plen = 0, take = 1;
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            piece[plen++] = '\\';
            piece[plen++] = (char)c;
        } else if (c < 0x20 && short_escapes[c] != 0) {
            piece[plen++] = '\\';
            piece[plen++] = short_escapes[c];
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(piece, "\\u00", 4);
            piece[4] = hex[c >> 4];
            piece[5] = hex[c & 15];
            plen = 6;
        } else if (c < 0x80) {
            piece[plen++] = (char)c;
        } else {
            take = utf8_char_len(s + i, len - i);
            if (take == 0) {
                memcpy(piece, "\\ufffd", 6);
                plen = 6;
                take = 1;
            } else {
                memcpy(piece, s + i, take);
                plen = take;
            }
        }
        if (out + plen > cap - 1)
            break;
        memcpy(dst + out, piece, plen);
        out += plen;
        i += take;
    }
    dst[out] = '\0';
    return out;
}

typedef struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
} line_t;

static void put_raw(line_t *l, const char *text)
{
    size_t n = strlen(text);
    if (n > sizeof(l->buf) - 2 - l->len)
        n = sizeof(l->buf) - 2 - l->len;
    memcpy(l->buf + l->len, text, n);
    l->len += n;
}

/* ,"key":"escaped value" */
static void put_json_str(line_t *l, const char *key, const char *value)
{
    if (value == NULL)
        return;
    put_raw(l, ",\"");
    put_raw(l, key);
    put_raw(l, "\":\"");
    /* room for the closing quote, the brace and the newline */
    size_t room = sizeof(l->buf) - l->len;
    if (room > 4)
        l->len += bw_log_json_escape(value, strlen(value), l->buf + l->len, room - 3);
    put_raw(l, "\"");
}

static void format_json(line_t *l, const struct timespec *ts, const struct tm *tm, int level,
                        const bw_log_ctx_t *ctx, const bw_log_outcome_t *outcome, const char *msg)
{
    char head[128];
    snprintf(head, sizeof(head),
             "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"level\":\"%s\"",
             tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec,
             ts->tv_nsec / 1000, level_names[level]);
    put_raw(l, head);
    put_json_str(l, "service", log_process);
    if (ctx != NULL) {
        put_json_str(l, "request_id", ctx->request_id);
        put_json_str(l, "trace_id", ctx->trace_id);
        put_json_str(l, "tenant", ctx->tenant_id);
    }
    if (outcome != NULL) {
        put_json_str(l, "method", outcome->method);
        put_json_str(l, "status", outcome->status);
        char duration[48];
        snprintf(duration, sizeof(duration), ",\"duration_us\":%lld", outcome->duration_us);
        put_raw(l, duration);
    }
    put_json_str(l, "message", msg);
    /* put_raw always leaves two bytes: the brace and the newline */
    l->buf[l->len++] = '}';
}

static void put_text_field(line_t *l, const char *key, const char *value)
{
    if (value == NULL)
        return;
    put_raw(l, " ");
    put_raw(l, key);
    put_raw(l, "=");
    put_raw(l, value);
}

static void format_text(line_t *l, const struct timespec *ts, const struct tm *tm, int level,
                        const bw_log_ctx_t *ctx, const bw_log_outcome_t *outcome, const char *msg)
{
    char head[96];
    snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm->tm_year + 1900,
             tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec,
             ts->tv_nsec / 1000000, level_names[level]);
    put_raw(l, head);
    put_raw(l, log_process);
    if (ctx != NULL) {
        put_text_field(l, "request", ctx->request_id);
        put_text_field(l, "trace", ctx->trace_id);
        put_text_field(l, "tenant", ctx->tenant_id);
    }
    if (outcome != NULL) {
        char duration[32];
        snprintf(duration, sizeof(duration), "%lld", outcome->duration_us);
        put_text_field(l, "method", outcome->method);
        put_text_field(l, "status", outcome->status);
        put_text_field(l, "duration_us", duration);
    }
    put_raw(l, " ");
    put_raw(l, msg);
    for (size_t i = 0; i < l->len; i++)
        if (l->buf[i] == '\n' || l->buf[i] == '\r')
            l->buf[i] = ' ';
}

void bw_log_write(int level, const bw_log_ctx_t *ctx, const bw_log_outcome_t *outcome,
                  const char *fmt, ...)
{
    char msg[LOG_MESSAGE_MAX];
    line_t l;
    struct timespec ts;
    struct tm tm;
    if (level < BW_LOG_DEBUG || level >= BW_LOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m < 0)
        msg[0] = '\0';
    l.len = 0;
    if (log_format == BW_LOG_JSON)
        format_json(&l, &ts, &tm, level, ctx, outcome, msg);
    else
        format_text(&l, &ts, &tm, level, ctx, outcome, msg);
    l.buf[l.len++] = '\n';
    ssize_t w = write(STDERR_FILENO, l.buf, l.len);
    (void)w;
}
