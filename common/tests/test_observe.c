/*
 * Unit tests of what makes a process observable: the W3C traceparent
 * parser (https://www.w3.org/TR/trace-context/, section 3.2, and the
 * specification's own examples), JSON log lines (escaping, UTF-8, every
 * field), and the Prometheus histograms and /metrics listener.
 */
#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "trace.h"

static int parse(const char *value, bw_trace_t *t)
{
    return bw_trace_parse(value, strlen(value), t);
}

START_TEST(traceparent_of_the_specification_is_read)
{
    bw_trace_t t;
    /* The example of section 3.2.2.4 of the specification. */
    ck_assert_int_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
    ck_assert_str_eq(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    ck_assert_str_eq(t.parent_id, "00f067aa0ba902b7");
    ck_assert_uint_eq(t.flags, 1);
    ck_assert_int_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t), 0);
    ck_assert_uint_eq(t.flags, 0);
    /* Flags not defined yet are kept (they are passed on). */
    ck_assert_int_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", &t), 0);
    ck_assert_uint_eq(t.flags, 0xff);
}
END_TEST

START_TEST(traceparent_malformed_is_refused)
{
    static const char *const bad[] = {
        "",
        "00",
        /* upper-case hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        /* all-zero trace id, all-zero parent id */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* version ff is invalid, and a version is two hex digits */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* version 00 is exactly 55 characters */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701",
        /* separators */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        /* flags */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        /* a later version longer than 55 characters without a dash */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bw_trace_t t;
        ck_assert_msg(parse(bad[i], &t) != 0, "accepted \"%s\"", bad[i]);
    }
    bw_trace_t t;
    ck_assert_int_ne(bw_trace_parse(NULL, 0, &t), 0);
    /* len counts, not the terminator: a value cut short is refused */
    ck_assert_int_ne(
        bw_trace_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 54, &t), 0);
}
END_TEST

START_TEST(traceparent_of_a_later_version_is_read_as_00)
{
    bw_trace_t t;
    /* Section 4.3: a higher version is parsed as 00 when what follows the
     * flags, if anything, starts with a dash. */
    ck_assert_int_eq(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
    ck_assert_int_eq(
        parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", &t),
        0);
    ck_assert_str_eq(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}
END_TEST

START_TEST(trace_started_and_passed_on)
{
    bw_trace_t a, b, back;
    ck_assert_int_eq(bw_trace_start(&a), 0);
    ck_assert_int_eq(bw_trace_start(&b), 0);
    ck_assert_str_ne(a.trace_id, b.trace_id);
    ck_assert_uint_eq(strlen(a.trace_id), 32);
    ck_assert_uint_eq(strlen(a.parent_id), 16);
    char span[BW_TRACE_SPAN_LEN + 1], header[BW_TRACEPARENT_LEN + 1];
    ck_assert_int_eq(bw_trace_new_span(span), 0);
    bw_trace_format(&a, span, header);
    ck_assert_uint_eq(strlen(header), 55);
    /* what the gateway sends a service is a valid traceparent of the same
     * trace, naming the new span as the parent */
    ck_assert_int_eq(parse(header, &back), 0);
    ck_assert_str_eq(back.trace_id, a.trace_id);
    ck_assert_str_eq(back.parent_id, span);
    ck_assert_uint_eq(back.flags, 1);
}
END_TEST

/* Ids come from a per-thread buffer of random bytes, refilled when it runs
 * short: over several refills no byte is handed out twice, so no two
 * traces or spans share an id. */
START_TEST(trace_ids_stay_distinct_across_refills)
{
    enum { N = 64 }; /* 64 traces of 24 bytes: six refills of 256 */
    static bw_trace_t t[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(bw_trace_start(&t[i]), 0);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            ck_assert_str_ne(t[i].trace_id, t[j].trace_id);
            ck_assert_str_ne(t[i].parent_id, t[j].parent_id);
        }
}
END_TEST

static const char *escape(const char *src, size_t len, size_t cap)
{
    static char out[512];
    ck_assert_uint_le(cap, sizeof(out));
    size_t n = bw_log_json_escape(src, len, out, cap);
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_uint_lt(n, cap);
    return out;
}
#define ESC(s) escape((s), sizeof(s) - 1, 512)

START_TEST(json_escape_quotes_controls_and_utf8)
{
    ck_assert_str_eq(ESC("plain text"), "plain text");
    ck_assert_str_eq(ESC("say \"hi\" \\ bye"), "say \\\"hi\\\" \\\\ bye");
    ck_assert_str_eq(ESC("a\nb\rc\td\be\ff"), "a\\nb\\rc\\td\\be\\ff");
    ck_assert_str_eq(ESC("\x01\x1f\x7f"), "\\u0001\\u001f\\u007f");
    ck_assert_str_eq(escape("a\0b", 3, 512), "a\\u0000b");
    /* valid UTF-8 passes as it is: é, €, 😀 */
    ck_assert_str_eq(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* anything else becomes U+FFFD, one per byte that starts no character */
    ck_assert_str_eq(ESC("\xff"), "\\ufffd");
    ck_assert_str_eq(ESC("\xc0\xaf"), "\\ufffd\\ufffd");                       /* overlong '/' */
    ck_assert_str_eq(ESC("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");            /* a surrogate */
    ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
    ck_assert_str_eq(ESC("ab\xe2\x82"), "ab\\ufffd\\ufffd");                   /* cut short */
}
END_TEST

START_TEST(json_escape_never_cuts_a_character)
{
    /* cap 5 leaves 4 bytes: "ab" then the 2-byte escape of the quote */
    ck_assert_str_eq(escape("ab\"cd", 5, 5), "ab\\\"");
    ck_assert_str_eq(escape("abc\"d", 5, 5), "abc");
    ck_assert_str_eq(escape("abc\x01", 4, 8), "abc");
    ck_assert_str_eq(escape("ab\xe2\x82\xac", 5, 5), "ab");
    ck_assert_str_eq(escape("ab\xe2\x82\xac", 5, 6), "ab\xe2\x82\xac");
    ck_assert_str_eq(escape("abc", 3, 1), "");
}
END_TEST

/* Runs fn with stderr redirected into a pipe, and returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    static char buf[65536];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    buf[got] = '\0';
    return buf;
}

static void log_two_json_lines(void)
{
    bw_log_init("scoping", BW_LOG_DEBUG);
    bw_log_set_format(BW_LOG_JSON);
    bw_log_ctx_t ctx = {"req-1", "0190a7c2-0000-7000-8000-000000000001",
                        "4bf92f3577b34da6a3ce929d0e0e4736"};
    bw_log_outcome_t outcome = {"/bulwark.scoping.v1.ScopingService/CreateEntity", "OK", 1234};
    bw_log_done(BW_LOG_INFO, &ctx, &outcome, "entity \"%s\"\nsaved \xff", "Acme");
    bw_log(BW_LOG_WARN, NULL, "no context");
    bw_log(BW_LOG_DEBUG, NULL, "%s", "debug too");
    bw_log_set_format(BW_LOG_TEXT);
}

static void log_a_text_request_line(void)
{
    bw_log_init("gateway", BW_LOG_DEBUG);
    bw_log_set_format(BW_LOG_TEXT);
    bw_log_ctx_t ctx = {"req-2", "0190a7c2-0000-7000-8000-000000000002",
                        "4bf92f3577b34da6a3ce929d0e0e4736"};
    bw_log_outcome_t outcome = {"GET /v1/entities/{id}", "200", 987654321};
    bw_log_done(BW_LOG_INFO, &ctx, &outcome, "%s answered %d", "/v1/entities/x", 200);
    bw_log(BW_LOG_WARN, NULL, "and a warning"); /* writes the batch before it */
}

/* The default format, as an operator greps it: the time in UTC to the
 * millisecond, the level, the process, then key=value fields and the
 * message; the next line without context. */
START_TEST(text_log_lines_read_as_key_value)
{
    char *out = capture_stderr(log_a_text_request_line);
    regex_t re;
    ck_assert_int_eq(
        regcomp(&re,
                "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z info gateway "
                "request=req-2 trace=4bf92f3577b34da6a3ce929d0e0e4736 "
                "tenant=0190a7c2-0000-7000-8000-000000000002 method=GET /v1/entities/\\{id\\} "
                "status=200 duration_us=987654321 /v1/entities/x answered 200\n"
                "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z warn gateway and a warning\n$",
                REG_EXTENDED),
        0);
    ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "the lines read:\n%s", out);
    regfree(&re);
}
END_TEST

START_TEST(json_log_lines_carry_every_field)
{
    char *out = capture_stderr(log_two_json_lines);
    char *second = strchr(out, '\n');
    ck_assert_ptr_nonnull(second);
    *second++ = '\0';
    json_error_t err;
    json_t *line = json_loads(out, 0, &err);
    ck_assert_msg(line != NULL, "not JSON: %s (%s)", out, err.text);
    const char *time = json_string_value(json_object_get(line, "time"));
    /* RFC 3339 in UTC with microseconds: 2026-12-03T10:42:34.123456Z */
    ck_assert_ptr_nonnull(time);
    ck_assert_uint_eq(strlen(time), 27);
    ck_assert_int_eq(time[10], 'T');
    ck_assert_int_eq(time[19], '.');
    ck_assert_int_eq(time[26], 'Z');
    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "info");
    ck_assert_str_eq(json_string_value(json_object_get(line, "service")), "scoping");
    ck_assert_str_eq(json_string_value(json_object_get(line, "request_id")), "req-1");
    ck_assert_str_eq(json_string_value(json_object_get(line, "trace_id")),
                     "4bf92f3577b34da6a3ce929d0e0e4736");
    ck_assert_str_eq(json_string_value(json_object_get(line, "tenant")),
                     "0190a7c2-0000-7000-8000-000000000001");
    ck_assert_str_eq(json_string_value(json_object_get(line, "method")),
                     "/bulwark.scoping.v1.ScopingService/CreateEntity");
    ck_assert_str_eq(json_string_value(json_object_get(line, "status")), "OK");
    ck_assert_int_eq(json_integer_value(json_object_get(line, "duration_us")), 1234);
    ck_assert_str_eq(json_string_value(json_object_get(line, "message")),
                     "entity \"Acme\"\nsaved \xef\xbf\xbd");
    json_decref(line);

    char *third = strchr(second, '\n');
    ck_assert_ptr_nonnull(third);
    *third++ = '\0';
    line = json_loads(second, 0, &err);
    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "warn");
    ck_assert_ptr_null(json_object_get(line, "request_id"));
    ck_assert_ptr_null(json_object_get(line, "duration_us"));
    json_decref(line);
    line = json_loads(third, JSON_DISABLE_EOF_CHECK, &err);
    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(json_string_value(json_object_get(line, "message")), "debug too");
    json_decref(line);
}
END_TEST

static void log_a_huge_line(void)
{
    char big[5000];
    memset(big, '\x01', sizeof(big) - 1); /* each becomes six bytes */
    big[sizeof(big) - 1] = '\0';
    bw_log_init("gateway", BW_LOG_INFO);
    bw_log_set_format(BW_LOG_JSON);
    bw_log(BW_LOG_ERROR, NULL, "%s", big);
    bw_log_set_format(BW_LOG_TEXT);
}

START_TEST(json_log_line_cut_short_stays_json)
{
    char *out = capture_stderr(log_a_huge_line);
    size_t n = strlen(out);
    ck_assert_uint_gt(n, 1000);
    ck_assert_int_eq(out[n - 1], '\n');
    ck_assert_ptr_null(memchr(out, '\n', n - 1));
    json_error_t err;
    json_t *line = json_loads(out, JSON_DISABLE_EOF_CHECK, &err);
    ck_assert_msg(line != NULL, "not JSON: %.80s... (%s)", out, err.text);
    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "error");
    json_decref(line);
}
END_TEST

/* Reads what the pipe holds within ms milliseconds (at least one read). */
static size_t read_within(int fd, char *buf, size_t cap, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    size_t got = 0;
    while (got + 1 < cap && poll(&p, 1, got == 0 ? ms : 0) == 1) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    return got;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(request_lines_are_written_in_order_and_soon)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    bw_log_init("scoping", BW_LOG_INFO);
    bw_log_outcome_t outcome = {"/bulwark.scoping.v1.ScopingService/GetEntity", "OK", 12};
    static char buf[60000];

    /* A request line alone reaches the log within the hold, with no other
     * line to push it out. */
    long long t0 = now_ms();
    bw_log_done(BW_LOG_INFO, NULL, &outcome, "first");
    ck_assert_uint_gt(read_within(fds[0], buf, sizeof(buf), 2000), 0);
    ck_assert_int_le(now_ms() - t0, 2 * BW_LOG_HOLD_MS + 500);
    ck_assert_ptr_nonnull(strstr(buf, " first\n"));

    /* Request lines, then a warning: all of them at once, in that order. */
    for (int i = 0; i < 3; i++)
        bw_log_done(BW_LOG_INFO, NULL, &outcome, "call %d", i);
    bw_log(BW_LOG_WARN, NULL, "then a warning");
    ck_assert_uint_gt(read_within(fds[0], buf, sizeof(buf), 0), 0);
    const char *c0 = strstr(buf, "call 0\n"), *c2 = strstr(buf, "call 2\n");
    const char *w = strstr(buf, "then a warning\n");
    ck_assert_msg(c0 != NULL && c2 != NULL && w != NULL && c0 < c2 && c2 < w, "%s", buf);

    /* More lines than one write holds: every line arrives whole, once, in
     * order, and nothing else does. */
    for (int i = 0; i < 100; i++)
        bw_log_done(BW_LOG_INFO, NULL, &outcome, "line %03d %0200d", i, 0);
    bw_log_flush();
    size_t got = read_within(fds[0], buf, sizeof(buf), 0);
    ck_assert_int_eq(buf[got - 1], '\n');
    int lines = 0;
    for (char *line = buf, *end; (end = strchr(line, '\n')) != NULL; line = end + 1) {
        *end = '\0';
        char want[32];
        snprintf(want, sizeof(want), " line %03d 0", lines);
        const char *at = strstr(line, want);
        ck_assert_msg(at != NULL, "line %d is \"%.60s...\"", lines, line);
        at += strlen(want); /* the rest of the 200 zeros, and the line's end */
        ck_assert_uint_eq(strlen(at), 199);
        ck_assert_uint_eq(strspn(at, "0"), 199);
        lines++;
    }
    ck_assert_int_eq(lines, 100);

    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(log_format_names)
{
    ck_assert_int_eq(bw_log_parse_format("json"), BW_LOG_JSON);
    ck_assert_int_eq(bw_log_parse_format("TEXT"), BW_LOG_TEXT);
    ck_assert_int_eq(bw_log_parse_format("yaml"), -1);
}
END_TEST

START_TEST(histogram_renders_cumulative_buckets)
{
    static bw_metrics_hist_t h;
    bw_metrics_hist_observe(&h, 0.0002); /* first bucket */
    bw_metrics_hist_observe(&h, 0.003);  /* le 0.005 */
    bw_metrics_hist_observe(&h, 60);     /* only +Inf */
    ck_assert_uint_eq(bw_metrics_hist_count(&h), 3);
    bw_metrics_text_t t;
    bw_metrics_text_init(&t);
    bw_metrics_put_hist(&t, "x_seconds", "method=\"m\"", &h);
    size_t len;
    char *text = bw_metrics_text_finish(&t, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{method=\"m\",le=\"0.0005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{method=\"m\",le=\"0.0025\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{method=\"m\",le=\"0.005\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{method=\"m\",le=\"5\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{method=\"m\",le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_sum{method=\"m\"} 60.003200\n"));
    ck_assert_ptr_nonnull(strstr(text, "x_seconds_count{method=\"m\"} 3\n"));
    free(text);
}
END_TEST

static void render_counter(void *arg, bw_metrics_text_t *t)
{
    bw_metrics_family(t, "test_total", "counter", "A test counter.");
    bw_metrics_printf(t, "test_total %d\n", *(int *)arg);
}

/* GETs path from 127.0.0.1:port and returns the whole answer. */
static char *http_get(int port, const char *request)
{
    static char buf[8192];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = '\0';
    return buf;
}

START_TEST(metrics_listener_answers_get_metrics)
{
    int value = 41;
    bw_metrics_server_t *server = NULL;
    srand((unsigned)getpid());
    char addr[32];
    /* a free port in the range the project's guide leaves for tests */
    for (int attempt = 0; attempt < 50 && server == NULL; attempt++) {
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", 30000 + rand() % 2768);
        if (bw_metrics_server_start(addr, render_counter, &value, &server) != 0)
            server = NULL;
    }
    ck_assert_ptr_nonnull(server);
    int port = bw_metrics_server_port(server);
    value = 42;
    char *reply = http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_msg(strncmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", reply);
    ck_assert_ptr_nonnull(strstr(reply, "Content-Type: text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull(strstr(reply, "\r\n\r\n# HELP test_total A test counter.\n"
                                        "# TYPE test_total counter\ntest_total 42\n"));
    reply = http_get(port, "GET /other HTTP/1.1\r\n\r\n");
    ck_assert_msg(strncmp(reply, "HTTP/1.1 404", 12) == 0, "%s", reply);
    reply = http_get(port, "POST /metrics HTTP/1.1\r\n\r\n");
    ck_assert_msg(strncmp(reply, "HTTP/1.1 405", 12) == 0, "%s", reply);
    reply = http_get(port, "garbage");
    ck_assert_msg(strncmp(reply, "HTTP/1.1 400", 12) == 0, "%s", reply);
    bw_metrics_server_stop(server);

    char def[64];
    ck_assert_int_eq(bw_metrics_default_addr("0.0.0.0:50051", def, sizeof(def)), 0);
    ck_assert_str_eq(def, "127.0.0.1:51051");
    ck_assert_int_ne(bw_metrics_default_addr("127.0.0.1:65000", def, sizeof(def)), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("observe");
    TCase *tc = tcase_create("observe");
    tcase_add_test(tc, traceparent_of_the_specification_is_read);
    tcase_add_test(tc, traceparent_malformed_is_refused);
    tcase_add_test(tc, traceparent_of_a_later_version_is_read_as_00);
    tcase_add_test(tc, trace_started_and_passed_on);
    tcase_add_test(tc, trace_ids_stay_distinct_across_refills);
    tcase_add_test(tc, json_escape_quotes_controls_and_utf8);
    tcase_add_test(tc, json_escape_never_cuts_a_character);
    tcase_add_test(tc, json_log_lines_carry_every_field);
    tcase_add_test(tc, text_log_lines_read_as_key_value);
    tcase_add_test(tc, json_log_line_cut_short_stays_json);
    tcase_add_test(tc, log_format_names);
    tcase_add_test(tc, request_lines_are_written_in_order_and_soon);
    tcase_add_test(tc, histogram_renders_cumulative_buckets);
    tcase_add_test(tc, metrics_listener_answers_get_metrics);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
