/*
 * The gateway against hostile and unusual clients, over raw sockets: bodies
 * refused by their Content-Length, a PATCH with 60,000 keys, a client that
 * trickles its head, idle connections by the hundred, the connection cap,
 * chunked bodies, Expect: 100-continue, pipelining, HEAD, malformed
 * requests and headers, the negative key cache, failed authentications per
 * address and the /readyz cache.
 *
 * deploy/local/test.sh starts the stack with the limits these tests rely on:
 * BULWARK_MAX_CONNECTIONS=256, BULWARK_MAX_CONNECTIONS_PER_ADDRESS=128,
 * BULWARK_HEADER_TIMEOUT_MS=1500, BULWARK_KEEPALIVE_TIMEOUT_MS=5000,
 * BULWARK_BODY_TIMEOUT_MS=3000, BULWARK_AUTH_FAILURE_BURST=50 and
 * BULWARK_AUTH_FAILURES_PER_MIN=600, and the default 8 MiB body limit.
 */
#include "e2e.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256
#define PER_ADDRESS 128
#define HEADER_TIMEOUT_MS 1500
#define AUTH_FAILURE_BURST 50
#define MAX_BODY (8 * 1024 * 1024)

/* ---- a raw HTTP/1.1 client --------------------------------------------- */

typedef struct raw {
    int fd;
    char buf[256 * 1024];
    size_t len;
} raw_t;

typedef struct reply {
    int status;
    char head[16384]; /* status line and header lines, NUL-terminated */
    char *body;
    size_t body_len;
    json_t *json;
} reply_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in gateway_addr(void)
{
    const char *url = bw_test_env("BULWARK_TEST_URL");
    char host[64];
    int port = 0;
    if (sscanf(url, "http://%63[^:]:%d", host, &port) != 2)
        ck_abort_msg("BULWARK_TEST_URL is not http://host:port: %s", url);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        ck_abort_msg("BULWARK_TEST_URL's host is not an IPv4 address: %s", url);
    return sa;
}

/* A connection to the gateway from source (an IPv4 address on loopback,
 * NULL for any). */
static raw_t *raw_connect_from(const char *source)
{
    raw_t *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(c->fd, 0);
    if (source != NULL) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        ck_assert_int_eq(inet_pton(AF_INET, source, &src.sin_addr), 1);
        ck_assert_int_eq(bind(c->fd, (struct sockaddr *)&src, sizeof(src)), 0);
    }
    struct sockaddr_in sa = gateway_addr();
    ck_assert_msg(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
                  strerror(errno));
    return c;
}

static raw_t *raw_connect(void)
{
    return raw_connect_from(NULL);
}

/* The i-th of many connections, each from a loopback address of its own
 * (127.0.1.1, 127.0.1.2, ...: 200 to a /24), so that none reaches the cap
 * per address and the gateway counts more addresses than it takes
 * connections. */
static raw_t *raw_connect_spread(int i)
{
    char source[32];
    snprintf(source, sizeof(source), "127.0.%d.%d", 1 + i / 200, 1 + i % 200);
    return raw_connect_from(source);
}

static void raw_close(raw_t *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c);
}

/* Sends n bytes; 0, or -1 when the gateway has closed the connection. */
static int raw_send(raw_t *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void raw_send_str(raw_t *c, const char *s)
{
    ck_assert_msg(raw_send(c, s, strlen(s)) == 0, "send failed: %s", strerror(errno));
}

/* Reads more into c->buf within timeout_ms: bytes read, 0 at EOF, -1 on a
 * reset, -2 on timeout. */
static int raw_fill(raw_t *c, int timeout_ms)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc == 0)
        return -2;
    if (c->len == sizeof(c->buf))
        ck_abort_msg("reply larger than the test's buffer");
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n < 0)
        return -1;
    c->len += (size_t)n;
    return (int)n;
}

static void reply_free(reply_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* The value of header name in r (case-insensitive), copied into a static
 * buffer; NULL when absent. */
static const char *reply_header(const reply_t *r, const char *name)
{
    static char value[1024];
    size_t n = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line != NULL && line[2] != '\0';
         line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            snprintf(value, sizeof(value), "%.*s", (int)len, v);
            return value;
        }
    }
    return NULL;
}

/* Reads one reply (an interim 100 counts as one) within timeout_ms. For a
 * reply to HEAD, head_only: no body follows. Fails the test on EOF or
 * timeout before a whole reply. */
static void raw_read_reply(raw_t *c, reply_t *r, int timeout_ms, int head_only)
{
    memset(r, 0, sizeof(*r));
    long long deadline = now_ms() + timeout_ms;
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL) {
        int n = raw_fill(c, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0));
        ck_assert_msg(n > 0, "no whole reply head (%d); got %zu bytes: %.*s", n, c->len,
                      (int)c->len, c->buf);
    }
    size_t head_len = (size_t)(end - c->buf) + 4;
    ck_assert_uint_lt(head_len, sizeof(r->head));
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = '\0';
    ck_assert_msg(sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1, "not a reply: %s", r->head);
    const char *cl = reply_header(r, "Content-Length");
    size_t body_len = 0;
    if (cl != NULL && !head_only)
        body_len = (size_t)strtoul(cl, NULL, 10);
    while (c->len < head_len + body_len) {
        int n = raw_fill(c, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0));
        ck_assert_msg(n > 0, "the reply body did not arrive whole (%d)", n);
    }
    r->body = malloc(body_len + 1);
    ck_assert_ptr_nonnull(r->body);
    memcpy(r->body, c->buf + head_len, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    if (body_len > 0)
        r->json = json_loadb(r->body, body_len, JSON_DECODE_ANY, NULL);
    memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
    c->len -= head_len + body_len;
}

/* Whether the gateway closes the connection within timeout_ms (EOF or a
 * reset), discarding anything it still sends. */
static int raw_closed_within(raw_t *c, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left < 0)
            return 0;
        c->len = 0;
        int n = raw_fill(c, (int)left);
        if (n == 0 || n == -1)
            return 1;
        if (n == -2)
            return 0;
    }
}

/* Asserts a problem+json reply with this status and reason. */
static void ck_raw_problem(const reply_t *r, int status, const char *reason)
{
    ck_assert_msg(r->status == status, "status %d, want %d: %s%s", r->status, status, r->head,
                  r->body);
    const char *ct = reply_header(r, "Content-Type");
    ck_assert_msg(ct != NULL && strcmp(ct, "application/problem+json") == 0, "content type %s: %s",
                  ct ? ct : "(none)", r->body);
    ck_assert_ptr_nonnull(r->json);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
    if (reason != NULL)
        ck_assert_str_eq(jstr(r->json, "reason"), reason);
}

/* Sends a whole request on a new connection and reads its reply. */
static void raw_request(const char *request, reply_t *r)
{
    raw_t *c = raw_connect();
    raw_send_str(c, request);
    raw_read_reply(c, r, 10000, 0);
    raw_close(c);
}

/* The value of a metric line (the text before the value given whole). */
static double metric(const char *series)
{
    bw_test_resp_t m;
    ck_assert_int_eq(bw_test_http("GET", "/metrics", NULL, NULL, NULL, &m), 0);
    ck_assert_int_eq(m.status, 200);
    double value = 0;
    size_t n = strlen(series);
    for (const char *p = m.body; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            value = strtod(p + n + 1, NULL);
            break;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    bw_test_resp_free(&m);
    return value;
}

/* Waits until the gateway holds at most n client connections besides the
 * one asking. */
static void wait_connections_at_most(double n)
{
    for (int i = 0; i < 100; i++) {
        if (metric("bulwark_http_connections") <= n + 1)
            return;
        usleep(50 * 1000);
    }
    ck_abort_msg("the gateway still holds more than %.0f connections", n);
}

/* The entity each tenant of these tests gets. */
#define LIMITS_GMBH "{\"name\":\"Limits GmbH\",\"timeZone\":\"UTC\"}"

/* ---- bodies ------------------------------------------------------------ */

START_TEST(oversized_content_length_is_413_before_the_body)
{
    /* Only the head is sent: the answer cannot wait for the body. */
    raw_t *c = raw_connect();
    char head[256];
    snprintf(head, sizeof(head),
             "POST /v1/entities HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n",
             MAX_BODY + 1);
    long long t0 = now_ms();
    raw_send_str(c, head);
    reply_t r;
    raw_read_reply(c, &r, 5000, 0);
    ck_raw_problem(&r, 413, "BODY_TOO_LARGE");
    ck_assert_int_lt(now_ms() - t0, 2000);
    ck_assert_str_eq(reply_header(&r, "Connection"), "close");
    ck_assert_ptr_nonnull(reply_header(&r, "X-Request-Id"));
    reply_free(&r);
    ck_assert(raw_closed_within(c, 5000));
    raw_close(c);

    /* With Expect: 100-continue the client is told 413, never 100. */
    c = raw_connect();
    snprintf(head, sizeof(head),
             "PUT /v1/entities/x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 99999999999\r\n\r\n");
    raw_send_str(c, head);
    raw_read_reply(c, &r, 5000, 0);
    ck_raw_problem(&r, 413, "BODY_TOO_LARGE");
    reply_free(&r);
    raw_close(c);
}
END_TEST

/* A new connection that has sent PATCH /v1/entities/{t's entity} with
 * body (len bytes, under MAX_BODY). */
static raw_t *patch_entity(const tenant_t *t, const char *body, size_t len)
{
    ck_assert_uint_lt(len, MAX_BODY);
    char head[512];
    snprintf(head, sizeof(head),
             "PATCH /v1/entities/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             t->entity, t->key, len);
    raw_t *c = raw_connect();
    raw_send_str(c, head);
    ck_assert_int_eq(raw_send(c, body, len), 0);
    return c;
}

START_TEST(patch_with_60000_keys_is_400_while_others_are_served)
{
    tenant_t t = new_tenant_with_entity("Many keys", LIMITS_GMBH);
    size_t cap = 64 + 60000 * 16;
    char *body = malloc(cap);
    size_t o = (size_t)snprintf(body, cap, "{");
    for (int i = 0; i < 60000; i++)
        o += (size_t)snprintf(body + o, cap - o, "%s\"k%d\":0", i ? "," : "", i);
    o += (size_t)snprintf(body + o, cap - o, "}");
    long long t0 = now_ms();
    raw_t *c = patch_entity(&t, body, o);

    /* Another client is served meanwhile. */
    bw_test_resp_t other;
    char path[96];
    snprintf(path, sizeof(path), "/v1/entities/%s", t.entity);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &other), 0);
    ck_assert_int_eq(other.status, 200);
    ck_assert_str_eq(jstr(other.json, "name"), "Limits GmbH");
    bw_test_resp_free(&other);

    reply_t r;
    raw_read_reply(c, &r, 10000, 0);
    ck_raw_problem(&r, 400, "TOO_MANY_FIELDS");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "the body has 60000 top-level keys"));
    ck_assert_int_lt(now_ms() - t0, 3000);
    reply_free(&r);
    raw_close(c);
    free(body);
    free_tenant(&t);
}
END_TEST

/* A body of many tiny values (a tree of about 70 times its size, kept on
 * the request's arena) is refused by its count before any is built. */
START_TEST(a_body_of_a_million_values_is_400_before_it_is_built)
{
    tenant_t t = new_tenant_with_entity("Many values", LIMITS_GMBH);
    enum { N = 1000000 };
    size_t cap = 64 + (size_t)N * 3;
    char *body = malloc(cap);
    size_t o = (size_t)snprintf(body, cap, "{\"name\":[");
    for (int i = 0; i < N; i++) {
        memcpy(body + o, i ? ",{}" : "{}", i ? 3 : 2);
        o += i ? 3 : 2;
    }
    o += (size_t)snprintf(body + o, cap - o, "]}");
    raw_t *c = patch_entity(&t, body, o);
    reply_t r;
    raw_read_reply(c, &r, 10000, 0);
    ck_raw_problem(&r, 400, NULL);
    ck_assert_msg(strstr(jstr(r.json, "detail"), "more than 100000 values") != NULL, "%s",
                  jstr(r.json, "detail"));
    reply_free(&r);
    raw_close(c);
    free(body);
    free_tenant(&t);
}
END_TEST

START_TEST(chunked_bodies)
{
    tenant_t t = new_tenant_with_entity("Chunked", LIMITS_GMBH);
    char req[1024];
    snprintf(req, sizeof(req),
             "POST /v1/entities HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "8\r\n{\"name\":\r\n"
             "D;note=split\r\n\"Chunky GmbH\"\r\n"
             "12\r\n,\"timeZone\":\"UTC\"}\r\n"
             "0\r\n\r\n",
             t.key);
    reply_t r;
    raw_request(req, &r);
    ck_assert_msg(r.status == 201, "%s%s", r.head, r.body);
    ck_assert_str_eq(jstr(r.json, "name"), "Chunky GmbH");
    reply_free(&r);

    /* A chunk larger than the body limit is refused by its size line. */
    raw_t *c = raw_connect();
    snprintf(req, sizeof(req),
             "POST /v1/entities HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "%x\r\n",
             MAX_BODY + 1);
    raw_send_str(c, req);
    raw_read_reply(c, &r, 5000, 0);
    ck_raw_problem(&r, 413, "BODY_TOO_LARGE");
    reply_free(&r);
    raw_close(c);

    /* Both framings at once, or a coding the server does not know. */
    raw_request("POST /v1/entities HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                "Content-Length: 5\r\n\r\n0\r\n\r\n",
                &r);
    ck_raw_problem(&r, 400, "MALFORMED_REQUEST");
    reply_free(&r);
    raw_request("POST /v1/entities HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                &r);
    ck_raw_problem(&r, 501, NULL);
    reply_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(expect_100_continue)
{
    tenant_t t = new_tenant_with_entity("Expecting", LIMITS_GMBH);
    const char *body = "{\"name\":\"Patient GmbH\",\"timeZone\":\"UTC\"}";
    char head[512];
    snprintf(head, sizeof(head),
             "POST /v1/entities HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nExpect: 100-continue\r\n"
             "Content-Length: %zu\r\n\r\n",
             t.key, strlen(body));
    raw_t *c = raw_connect();
    raw_send_str(c, head);
    reply_t r;
    raw_read_reply(c, &r, 5000, 0);
    ck_assert_int_eq(r.status, 100);
    reply_free(&r);
    raw_send_str(c, body);
    raw_read_reply(c, &r, 5000, 0);
    ck_assert_msg(r.status == 201, "%s%s", r.head, r.body);
    ck_assert_str_eq(jstr(r.json, "name"), "Patient GmbH");
    reply_free(&r);
    raw_close(c);
    free_tenant(&t);
}
END_TEST

/* ---- connections ------------------------------------------------------- */

START_TEST(pipelined_requests_are_answered_in_order)
{
    tenant_t t = new_tenant_with_entity("Pipelined", LIMITS_GMBH);
    const char *third = "{\"name\":\"Third\",\"timeZone\":\"UTC\"}";
    char req[2048];
    snprintf(req, sizeof(req),
             "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: pipe-1\r\n\r\n"
             "GET /v1/entities/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "X-Request-Id: pipe-2\r\n\r\n"
             "POST /v1/entities HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
             "X-Request-Id: pipe-3\r\n\r\n%s"
             "GET /nowhere HTTP/1.1\r\nHost: t\r\nX-Request-Id: pipe-4\r\n\r\n",
             t.entity, t.key, t.key, strlen(third), third);
    raw_t *c = raw_connect();
    raw_send_str(c, req);
    static const int want[] = {200, 200, 201, 404};
    for (int i = 0; i < 4; i++) {
        reply_t r;
        char id[16];
        raw_read_reply(c, &r, 10000, 0);
        snprintf(id, sizeof(id), "pipe-%d", i + 1);
        ck_assert_msg(r.status == want[i], "reply %d: %s%s", i + 1, r.head, r.body);
        ck_assert_str_eq(reply_header(&r, "X-Request-Id"), id);
        if (i == 1)
            ck_assert_str_eq(jstr(r.json, "id"), t.entity);
        if (i == 2)
            ck_assert_str_eq(jstr(r.json, "name"), "Third");
        reply_free(&r);
    }
    raw_close(c);
    free_tenant(&t);
}
END_TEST

/* Thousands of requests sent back to back on one connection, the buffer
 * grown by a large head first, each round's last request cut in two across
 * writes: every one answered, in order. (A served request is passed over
 * in the buffer, and what is left moved to its start when a read needs the
 * room; each served request used to move all that followed it.) */
START_TEST(thousands_of_pipelined_requests_across_refills)
{
    raw_t *c = raw_connect();
    enum { PAD = 20000, ROUNDS = 40, PER_ROUND = 100 };
    char *big = malloc(PAD + 256);
    ck_assert_ptr_nonnull(big);
    int n =
        snprintf(big, 256, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: pipe-big\r\nX-Pad: ");
    memset(big + n, 'p', PAD);
    snprintf(big + n + PAD, (size_t)(256 - n), "\r\n\r\n");
    raw_send_str(c, big);
    free(big);
    reply_t r;
    raw_read_reply(c, &r, 10000, 0);
    ck_assert_msg(r.status == 200, "%s%s", r.head, r.body);
    ck_assert_str_eq(reply_header(&r, "X-Request-Id"), "pipe-big");
    reply_free(&r);
    char *chunk = malloc((size_t)PER_ROUND * 96);
    ck_assert_ptr_nonnull(chunk);
    char carry[96] = "";
    int sent = 0, answered = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t o = (size_t)snprintf(chunk, 96, "%s", carry);
        char one[96];
        for (int i = 0; i < PER_ROUND; i++) {
            int len =
                snprintf(one, sizeof(one),
                         "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: p-%d\r\n\r\n", sent++);
            /* The round's last request: its first half now, the rest with
             * the next round (the last round sends it whole). */
            int cut = i == PER_ROUND - 1 && round < ROUNDS - 1 ? len / 2 : len;
            memcpy(chunk + o, one, (size_t)cut);
            o += (size_t)cut;
            snprintf(carry, sizeof(carry), "%s", one + cut);
        }
        ck_assert_int_eq(raw_send(c, chunk, o), 0);
        int complete = round < ROUNDS - 1 ? sent - 1 : sent;
        for (; answered < complete; answered++) {
            char id[32];
            snprintf(id, sizeof(id), "p-%d", answered);
            raw_read_reply(c, &r, 10000, 0);
            ck_assert_msg(r.status == 200, "reply %s: %s%s", id, r.head, r.body);
            ck_assert_str_eq(reply_header(&r, "X-Request-Id"), id);
            reply_free(&r);
        }
    }
    ck_assert_int_eq(answered, ROUNDS * PER_ROUND);
    free(chunk);
    raw_close(c);
}
END_TEST

START_TEST(head_and_http_1_0)
{
    raw_t *c = raw_connect();
    raw_send_str(
        c, "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    reply_t r;
    raw_read_reply(c, &r, 5000, 1);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(reply_header(&r, "Content-Length"), "15");
    reply_free(&r);
    /* No body followed the HEAD reply: the next bytes are the next reply. */
    raw_read_reply(c, &r, 5000, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "ok");
    reply_free(&r);
    raw_close(c);

    /* HTTP/1.0 closes after the reply unless asked to keep the connection. */
    c = raw_connect();
    raw_send_str(c, "GET /healthz HTTP/1.0\r\n\r\n");
    raw_read_reply(c, &r, 5000, 0);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    ck_assert(raw_closed_within(c, 2000));
    raw_close(c);
    c = raw_connect();
    raw_send_str(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    raw_read_reply(c, &r, 5000, 0);
    ck_assert_str_eq(reply_header(&r, "Connection"), "keep-alive");
    reply_free(&r);
    raw_send_str(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    raw_read_reply(c, &r, 5000, 0);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    raw_close(c);
}
END_TEST

START_TEST(trickling_client_is_cut_off_at_the_header_deadline)
{
    raw_t *c = raw_connect();
    raw_send_str(c, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    long long t0 = now_ms();
    int served = 0;
    reply_t r = {0};
    /* One byte every 100 ms, for as long as the gateway listens. */
    while (now_ms() - t0 < 4 * HEADER_TIMEOUT_MS) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) > 0)
            break;
        if (raw_send(c, "a", 1) != 0)
            break;
        if (!served && now_ms() - t0 > HEADER_TIMEOUT_MS / 3) {
            /* Meanwhile others are served. */
            bw_test_resp_t other;
            ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, NULL, &other), 0);
            ck_assert_int_eq(other.status, 200);
            bw_test_resp_free(&other);
            served = 1;
        }
    }
    long long cut = now_ms() - t0;
    ck_assert(served);
    ck_assert_msg(cut >= HEADER_TIMEOUT_MS - 100 && cut < HEADER_TIMEOUT_MS + 1500,
                  "cut after %lld ms", cut);
    raw_read_reply(c, &r, 2000, 0);
    ck_raw_problem(&r, 408, "REQUEST_TIMEOUT");
    ck_assert_str_eq(reply_header(&r, "Connection"), "close");
    reply_free(&r);
    ck_assert(raw_closed_within(c, 5000));
    raw_close(c);
}
END_TEST

START_TEST(idle_connections_do_not_starve_others)
{
    wait_connections_at_most(0);
    double evicted = metric("bulwark_http_connection_events_total{event=\"evicted\"}");
    enum { IDLE = 500 };
    raw_t **idle = calloc(IDLE, sizeof(*idle));
    for (int i = 0; i < IDLE; i++)
        idle[i] = raw_connect_spread(i);
    for (int i = 0; i < 20; i++) {
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        bw_test_resp_free(&r);
    }
    /* The cap held: the longest idle connections made room. */
    ck_assert_double_le(metric("bulwark_http_connections"), MAX_CONNECTIONS);
    ck_assert_double_ge(metric("bulwark_http_connection_events_total{event=\"evicted\"}") - evicted,
                        IDLE - MAX_CONNECTIONS);
    for (int i = 0; i < IDLE; i++)
        raw_close(idle[i]);
    free(idle);
}
END_TEST

START_TEST(the_connection_cap_refuses_busy_newcomers)
{
    wait_connections_at_most(0);
    enum { EXTRA = 10, ALL = MAX_CONNECTIONS + EXTRA };
    raw_t **conns = calloc(ALL, sizeof(*conns));
    /* Connections in the middle of a request are not idle: none can be
     * closed to make room. */
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        conns[i] = raw_connect_spread(i);
        raw_send_str(conns[i], "GET /healthz HTTP/1.1\r\n");
    }
    usleep(300 * 1000);
    for (int i = MAX_CONNECTIONS; i < ALL; i++) {
        conns[i] = raw_connect_spread(i);
        raw_send_str(conns[i], "GET /healthz HTTP/1.1\r\n");
    }
    int refused = 0;
    for (int i = MAX_CONNECTIONS; i < ALL; i++) {
        reply_t r;
        raw_read_reply(conns[i], &r, 1000, 0);
        ck_raw_problem(&r, 503, "TOO_MANY_CONNECTIONS");
        ck_assert_str_eq(reply_header(&r, "Retry-After"), "1");
        ck_assert_str_eq(reply_header(&r, "Connection"), "close");
        reply_free(&r);
        refused++;
    }
    ck_assert_int_eq(refused, EXTRA);
    /* The ones admitted are still being served: they finish their request. */
    raw_send_str(conns[0], "Host: t\r\n\r\n");
    reply_t r;
    raw_read_reply(conns[0], &r, 1000, 0);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    for (int i = 0; i < ALL; i++)
        raw_close(conns[i]);
    free(conns);
    wait_connections_at_most(0);
    bw_test_resp_t ok;
    ck_assert_int_eq(bw_test_http("GET", "/healthz", NULL, NULL, NULL, &ok), 0);
    ck_assert_int_eq(ok.status, 200);
    bw_test_resp_free(&ok);
}
END_TEST

START_TEST(one_address_holds_at_most_its_share_of_connections)
{
    /* Its own loopback address: the count is this test's alone. */
    const char *source = "127.0.0.79";
    wait_connections_at_most(0);
    double refused = metric("bulwark_http_connection_events_total{event=\"refused_address\"}");
    raw_t *conns[PER_ADDRESS];
    reply_t r;
    /* A client's pool: each connection served once, then kept alive. */
    for (int i = 0; i < PER_ADDRESS; i++) {
        conns[i] = raw_connect_from(source);
        raw_send_str(conns[i], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        raw_read_reply(conns[i], &r, 2000, 0);
        ck_assert_int_eq(r.status, 200);
        reply_free(&r);
    }
    /* One more from the address is refused, idle ones of its own or not. */
    raw_t *extra = raw_connect_from(source);
    raw_send_str(extra, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    raw_read_reply(extra, &r, 2000, 0);
    ck_raw_problem(&r, 429, "TOO_MANY_CONNECTIONS_FROM_ADDRESS");
    ck_assert_str_eq(reply_header(&r, "Retry-After"), "1");
    ck_assert_str_eq(reply_header(&r, "Connection"), "close");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "128 connections"));
    reply_free(&r);
    ck_assert(raw_closed_within(extra, 2000));
    raw_close(extra);
    ck_assert_double_eq(
        metric("bulwark_http_connection_events_total{event=\"refused_address\"}") - refused, 1);
    /* Another address is served meanwhile. */
    raw_t *other = raw_connect();
    raw_send_str(other, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    raw_read_reply(other, &r, 2000, 0);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    raw_close(other);
    /* The pool's connections still work, and closing one makes room for
     * one more from the address. */
    raw_send_str(conns[1], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    raw_read_reply(conns[1], &r, 2000, 0);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    raw_close(conns[0]);
    conns[0] = NULL;
    int status = 0;
    for (int attempt = 0; attempt < 40 && status != 200; attempt++) {
        raw_t *again = raw_connect_from(source);
        raw_send_str(again, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        raw_read_reply(again, &r, 2000, 0);
        status = r.status;
        reply_free(&r);
        if (status == 200)
            conns[0] = again; /* held: the address is at its cap again */
        else
            raw_close(again);
        if (status != 200)
            usleep(25 * 1000);
    }
    ck_assert_int_eq(status, 200);
    extra = raw_connect_from(source);
    raw_send_str(extra, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    raw_read_reply(extra, &r, 2000, 0);
    ck_raw_problem(&r, 429, "TOO_MANY_CONNECTIONS_FROM_ADDRESS");
    reply_free(&r);
    raw_close(extra);
    for (int i = 0; i < PER_ADDRESS; i++)
        raw_close(conns[i]);
    wait_connections_at_most(0);
}
END_TEST

/* ---- malformed requests and headers ------------------------------------ */

START_TEST(malformed_requests_are_400_problems)
{
    static const struct {
        const char *request;
        int status;
    } cases[] = {
        {"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GARBAGE\r\n\r\n", 400},
        {"GET / HTTP/1.1\nHost: t\n\n", 400},
        {"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\001b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -3\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505},
        {"BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n", 417},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_t *c = raw_connect();
        raw_send_str(c, cases[i].request);
        reply_t r;
        raw_read_reply(c, &r, 5000, 0);
        ck_raw_problem(&r, cases[i].status, NULL);
        ck_assert_str_eq(reply_header(&r, "Connection"), "close");
        reply_free(&r);
        ck_assert(raw_closed_within(c, 5000));
        raw_close(c);
    }
    /* An absurd URI is 414, an absurd head 431, both before they end. */
    char *big = malloc(100000);
    size_t n = (size_t)snprintf(big, 100000, "GET /");
    memset(big + n, 'a', 20000);
    big[n + 20000] = '\0';
    reply_t r;
    raw_request(big, &r);
    ck_raw_problem(&r, 414, "URI_TOO_LONG");
    reply_free(&r);
    n = (size_t)snprintf(big, 100000, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + n, 'a', 70000);
    big[n + 70000] = '\0';
    raw_request(big, &r);
    ck_raw_problem(&r, 431, "HEADERS_TOO_LARGE");
    reply_free(&r);
    free(big);
}
END_TEST

START_TEST(bad_idempotency_keys_are_400)
{
    tenant_t t = new_tenant_with_entity("Idempotent", LIMITS_GMBH);
    char key[310];
    memset(key, 'k', 300);
    key[300] = '\0';
    char header[400];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
    const char *hdr[] = {header, NULL};
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key,
                                  "{\"name\":\"Once\",\"timeZone\":\"UTC\"}", hdr, &r),
                     0);
    ck_assert_problem(&r, 400, "Idempotency-Key");
    ck_assert_str_eq(jstr(r.json, "reason"), "INVALID_HEADER");
    bw_test_resp_free(&r);

    /* A control byte, sent as is. */
    char req[1024];
    const char *body = "{\"name\":\"Once\",\"timeZone\":\"UTC\"}";
    snprintf(req, sizeof(req),
             "POST /v1/entities HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nIdempotency-Key: abc\tdef\x01\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             t.key, strlen(body), body);
    reply_t raw;
    raw_request(req, &raw);
    ck_raw_problem(&raw, 400, NULL);
    reply_free(&raw);
    /* Bytes outside ASCII. */
    const char *utf8[] = {"Idempotency-Key: caf\xc3\xa9", NULL};
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", t.key, body, utf8, &r), 0);
    ck_assert_problem(&r, 400, "Idempotency-Key");
    bw_test_resp_free(&r);

    /* Nothing was written. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", t.key, NULL, NULL, &r), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "entities")), 1);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(malformed_if_match_is_400)
{
    tenant_t t = new_tenant_with_entity("Conditional", LIMITS_GMBH);
    char path[96];
    snprintf(path, sizeof(path), "/v1/entities/%s", t.entity);
    static const char *const bad[] = {"If-Match: not-quoted", "If-Match: \"a\", \"b\"",
                                      "If-Match: \"open", "If-None-Match: W/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *hdr[] = {bad[i], NULL};
        char field[32];
        snprintf(field, sizeof(field), "%.*s", (int)strcspn(bad[i], ":"), bad[i]);
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("PATCH", path, t.key, "{\"name\":\"Changed\"}", hdr, &r), 0);
        ck_assert_problem(&r, 400, field);
        bw_test_resp_free(&r);
    }
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_str_eq(jstr(r.json, "name"), "Limits GmbH");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

/* ---- authentication ---------------------------------------------------- */

START_TEST(unknown_api_keys_are_not_asked_about_again)
{
    const char *series = "bulwark_grpc_calls_total{backend=\"tenancy\",code=\"NOT_FOUND\"}";
    char *id = bw_test_uuid_str();
    char key[128];
    /* A well-formed key whose id no tenant has. */
    snprintf(key, sizeof(key), "bwk_%.8s%.4s%.4s%.4s%.12s_%s", id, id + 9, id + 14, id + 19,
             id + 24, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG");
    double before = metric(series);
    for (int i = 0; i < 10; i++) {
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &r), 0);
        ck_assert_problem(&r, 401, NULL);
        ck_assert_str_eq(jstr(r.json, "reason"), "INVALID_CREDENTIALS");
        bw_test_resp_free(&r);
    }
    ck_assert_double_eq(metric(series) - before, 1);
    free(id);
}
END_TEST

/* Sends GET /v1/entities with token on c (kept alive) and reads the reply. */
static void get_entities(raw_t *c, const char *token, reply_t *r)
{
    char req[512];
    snprintf(req, sizeof(req),
             "GET /v1/entities HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n", token);
    raw_send_str(c, req);
    raw_read_reply(c, r, 10000, 0);
}

START_TEST(failed_authentications_are_limited_per_address)
{
    tenant_t t = new_tenant_with_entity("Guessed at", LIMITS_GMBH);
    /* Another loopback address than the other suites use, so that the
     * block it earns stays its own. */
    raw_t *c = raw_connect_from("127.0.0.77");
    int unauthorized = 0;
    reply_t r;
    for (;;) {
        get_entities(
            c, "bwk_00000000000000000000000000000000_guessguessguessguessguessguessguessguess", &r);
        if (r.status != 401)
            break;
        unauthorized++;
        reply_free(&r);
        ck_assert_int_le(unauthorized, AUTH_FAILURE_BURST + 10);
    }
    ck_raw_problem(&r, 429, "TOO_MANY_FAILED_AUTHENTICATIONS");
    ck_assert_int_ge(strtol(reply_header(&r, "Retry-After"), NULL, 10), 1);
    ck_assert_int_ge(unauthorized, AUTH_FAILURE_BURST);
    reply_free(&r);
    /* Its credentials are not even looked at now, good ones included. */
    get_entities(c, t.key, &r);
    ck_raw_problem(&r, 429, "TOO_MANY_FAILED_AUTHENTICATIONS");
    reply_free(&r);
    raw_close(c);
    /* Another address is served. */
    c = raw_connect();
    get_entities(c, t.key, &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    raw_close(c);
    free_tenant(&t);
}
END_TEST

/* ---- readiness --------------------------------------------------------- */

START_TEST(readyz_asks_the_backends_once_a_second)
{
    /* Let any earlier round age out. */
    usleep(1100 * 1000);
    double before = metric("bulwark_readyz_rounds_total");
    for (int i = 0; i < 20; i++) {
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("GET", "/readyz", NULL, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(jstr(json_object_get(r.json, "backends"), "scoping"), "SERVING");
        bw_test_resp_free(&r);
    }
    ck_assert_double_le(metric("bulwark_readyz_rounds_total") - before, 2);
    usleep(1100 * 1000);
    before = metric("bulwark_readyz_rounds_total");
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/readyz", NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_double_eq(metric("bulwark_readyz_rounds_total") - before, 1);
}
END_TEST

Suite *suite_limits(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, oversized_content_length_is_413_before_the_body);
    tcase_add_test(tc, patch_with_60000_keys_is_400_while_others_are_served);
    tcase_add_test(tc, a_body_of_a_million_values_is_400_before_it_is_built);
    tcase_add_test(tc, chunked_bodies);
    tcase_add_test(tc, expect_100_continue);
    tcase_add_test(tc, pipelined_requests_are_answered_in_order);
    tcase_add_test(tc, thousands_of_pipelined_requests_across_refills);
    tcase_add_test(tc, head_and_http_1_0);
    tcase_add_test(tc, trickling_client_is_cut_off_at_the_header_deadline);
    tcase_add_test(tc, idle_connections_do_not_starve_others);
    tcase_add_test(tc, the_connection_cap_refuses_busy_newcomers);
    tcase_add_test(tc, one_address_holds_at_most_its_share_of_connections);
    tcase_add_test(tc, malformed_requests_are_400_problems);
    tcase_add_test(tc, bad_idempotency_keys_are_400);
    tcase_add_test(tc, malformed_if_match_is_400);
    tcase_add_test(tc, unknown_api_keys_are_not_asked_about_again);
    tcase_add_test(tc, failed_authentications_are_limited_per_address);
    tcase_add_test(tc, readyz_asks_the_backends_once_a_second);
    suite_add_tcase(s, tc);
    return s;
}
