/*
 * Log lines are formatted into a stack buffer and written whole, so that
 * lines from several threads never interleave. The lines that report a
 * finished request or call (bw_log_done at info, one per request in every
 * process) are batched: appended to one process-wide buffer that is written
 * with one write(2) when the next line would take it past PIPE_BUF (so that
 * even a pipe shared with other processes gets whole lines), when any other
 * line is logged (which is written after them, in order), at exit, and at
 * the latest BW_LOG_HOLD_MS after the first line waited, by a thread of its
 * own. On this machine a system call is the costliest part of a request
 * (docs/DESIGN.md, "Performance as measured"); a process killed outright
 * loses at most the request lines of its last BW_LOG_HOLD_MS. The JSON format is
 * written by hand: the fields are few and fixed, and every string goes
 * through one escaper that also keeps the line valid UTF-8 whatever a
 * message quotes from a request.
 */
#include "log.h"

#include "hex.h"
#include "times.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_MESSAGE_MAX 2048
#define LOG_LINE_MAX 8192
#define LOG_BATCH_MAX PIPE_BUF

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

/* A decimal without printf: the request line's duration, once a request. */
static void put_decimal(line_t *l, int64_t v)
{
    char text[BW_DECIMAL_MAX + 1];
    text[BW_DECIMAL_MAX] = '\0';
    put_raw(l, bw_decimal(text + BW_DECIMAL_MAX, v < 0, bw_int64_magnitude(v)));
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

/* when: the line's time with six digits of fraction (bw_time_format). */
static void format_json(line_t *l, const char *when, int level, const bw_log_ctx_t *ctx,
                        const bw_log_outcome_t *outcome, const char *msg)
{
    put_raw(l, "{\"time\":\"");
    put_raw(l, when);
    put_raw(l, "\",\"level\":\"");
    put_raw(l, level_names[level]);
    put_raw(l, "\"");
    put_json_str(l, "service", log_process);
    if (ctx != NULL) {
        put_json_str(l, "request_id", ctx->request_id);
        put_json_str(l, "trace_id", ctx->trace_id);
        put_json_str(l, "tenant", ctx->tenant_id);
    }
    if (outcome != NULL) {
        put_json_str(l, "method", outcome->method);
        put_json_str(l, "status", outcome->status);
        put_raw(l, ",\"duration_us\":");
        put_decimal(l, outcome->duration_us);
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

/* when as for format_json; text lines show milliseconds. */
static void format_text(line_t *l, const char *when, int level, const bw_log_ctx_t *ctx,
                        const bw_log_outcome_t *outcome, const char *msg)
{
    char head[BW_TIME_TEXT_MAX];
    size_t n = strlen(when);
    memcpy(head, when, n + 1);
    if (n == sizeof("2025-06-10T07:15:00.000000Z") - 1)
        memcpy(head + n - 4, "Z", 2); /* ".000000Z" -> ".000Z" */
    put_raw(l, head);
    put_raw(l, " ");
    put_raw(l, level_names[level]);
    put_raw(l, " ");
    put_raw(l, log_process);
    if (ctx != NULL) {
        put_text_field(l, "request", ctx->request_id);
        put_text_field(l, "trace", ctx->trace_id);
        put_text_field(l, "tenant", ctx->tenant_id);
    }
    if (outcome != NULL) {
        put_text_field(l, "method", outcome->method);
        put_text_field(l, "status", outcome->status);
        put_raw(l, " duration_us=");
        put_decimal(l, outcome->duration_us);
    }
    put_raw(l, " ");
    put_raw(l, msg);
    for (size_t i = 0; i < l->len; i++)
        if (l->buf[i] == '\n' || l->buf[i] == '\r')
            l->buf[i] = ' ';
}

/* The batch of request lines; every field under batch_mu. The flusher
 * thread is started with the first batched line; "armed" means it is in its
 * timed wait and will flush without being signalled. */
static pthread_mutex_t batch_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t batch_cv = PTHREAD_COND_INITIALIZER;
static char batch[LOG_BATCH_MAX];
static size_t batch_len;
static int flusher_started, flusher_armed;

void bw_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report it */
        p += w;
        n -= (size_t)w;
    }
}

static void flush_locked(void)
{
    bw_write_all(STDERR_FILENO, batch, batch_len);
    batch_len = 0;
}

void bw_log_flush(void)
{
    pthread_mutex_lock(&batch_mu);
    flush_locked();
    pthread_mutex_unlock(&batch_mu);
}

static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&batch_mu);
    for (;;) {
        while (batch_len == 0) {
            flusher_armed = 0;
            pthread_cond_wait(&batch_cv, &batch_mu);
        }
        flusher_armed = 1;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += BW_LOG_HOLD_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (pthread_cond_timedwait(&batch_cv, &batch_mu, &until) != ETIMEDOUT)
            ;
        flush_locked();
    }
    return NULL;
}

/* A forked child has no flusher and may have inherited the lock held. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&batch_mu);
}
static void fork_parent(void)
{
    pthread_mutex_unlock(&batch_mu);
}
static void fork_child(void)
{
    pthread_mutex_init(&batch_mu, NULL);
    pthread_cond_init(&batch_cv, NULL);
    flusher_started = 0;
    flusher_armed = 0;
}

/* Under batch_mu. Without a flusher thread every line is written at once. */
static int flusher_start_locked(void)
{
    static int registered;
    if (!registered) {
        if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0 || atexit(bw_log_flush) != 0)
            return -1;
        registered = 1;
    }
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, flusher_main, NULL);
    pthread_attr_destroy(&attr);
    if (err != 0)
        return -1;
    flusher_started = 1;
    return 0;
}

static void emit(const char *line, size_t len, int batched)
{
    pthread_mutex_lock(&batch_mu);
    if (batched && !flusher_started && flusher_start_locked() != 0)
        batched = 0;
    if (batch_len + len > sizeof(batch))
        flush_locked();
    if (batched && len <= sizeof(batch)) {
        memcpy(batch + batch_len, line, len);
        batch_len += len;
        if (!flusher_armed) {
            flusher_armed = 1;
            pthread_cond_signal(&batch_cv);
        }
    } else {
        flush_locked();
        bw_write_all(STDERR_FILENO, line, len);
    }
    pthread_mutex_unlock(&batch_mu);
}

void bw_log_write(int level, const bw_log_ctx_t *ctx, const bw_log_outcome_t *outcome,
                  const char *fmt, ...)
{
    char msg[LOG_MESSAGE_MAX];
    line_t l;
    struct timespec ts;
    char when[BW_TIME_TEXT_MAX];
    if (level < BW_LOG_DEBUG || level >= BW_LOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    bw_time_format((int64_t)ts.tv_sec, (int32_t)ts.tv_nsec, BW_TIME_FRACTION_MICROS, when);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m < 0)
        msg[0] = '\0';
    l.len = 0;
    if (log_format == BW_LOG_JSON)
        format_json(&l, when, level, ctx, outcome, msg);
    else
        format_text(&l, when, level, ctx, outcome, msg);
    l.buf[l.len++] = '\n';
    emit(l.buf, l.len, outcome != NULL && level == BW_LOG_INFO);
}
