/*
 * The HTTP/1.1 server of httpd.h. Each connection is one state (conn_state_t)
 * and one timer whose meaning follows the state:
 *
 *   IDLE ----first byte----> HEAD --head--> BODY --body--> HANDLER
 *    ^  (fresh: header deadline;  (header      (body         | bw_httpd_respond
 *    |   kept alive: idle)         deadline)    deadline)    v
 *    +-------------- reply written, keep-alive ---------- WRITING (write deadline,
 *                                                          only if it would block)
 *   an error reply, or a reply with Connection: close --> LINGER --> CLOSED
 *
 * A request's head and, when it fits, its body stay in the connection's
 * input buffer, where the parser NUL-terminates the strings it hands out;
 * the buffer is never moved while they are in use. A larger body is read
 * straight into memory on the request's arena (Content-Length) or decoded
 * into a growing heap buffer (chunked). Input that arrives while a request
 * is with the handler waits in the buffer (pipelining); a full buffer stops
 * reading until the reply is out.
 *
 * A callback that may close its connection holds it (busy) so that the
 * connection is freed only when the outermost one returns. A connection
 * whose client vanished while its request is with the handler stays, with
 * its socket closed, until the handler responds.
 */
#include "httpd.h"

#include "buf.h"
#include "ids.h"
#include "log.h"
#include "gw_metrics.h"
#include "hex.h"
#include "peers.h"
#include "problem.h"
#include "status.h"

#include <event2/event.h>
#include <event2/event_struct.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IN_BUF_SIZE 16384    /* a connection's input buffer, pooled */
#define IN_BUF_MIN_ROOM 4096 /* input room kept after a head for the body */
#define ARENA_FIRST_CHUNK 8192
#define POOL_MAX 64         /* free buffers and arenas kept for reuse */
#define ACCEPT_BATCH 64     /* connections accepted per wake-up */
#define ACCEPT_PAUSE_MS 100 /* after running out of file descriptors */
#define REFUSED_MAX 64      /* refused connections lingering at once */
#define LINGER_MS 2000      /* how long unread input is drained before closing */
#define DRAIN_IDLE_MS 500   /* how long an idle connection stays open in a drain */
#define LINGER_MAX_BYTES (16u * 1024 * 1024)
#define FD_RESERVE 128     /* descriptors kept for gRPC, the database, logs */
#define REPLY_HEAD_MAX 512 /* status line and the server's own header lines */

typedef enum conn_state {
    CONN_IDLE,    /* no byte of the next request yet */
    CONN_HEAD,    /* reading a request head */
    CONN_BODY,    /* reading a request body */
    CONN_HANDLER, /* the request is with the handler */
    CONN_WRITING, /* the reply is queued; the socket would block */
    CONN_LINGER,  /* reply sent, write side shut: input drained until EOF */
    CONN_CLOSED,  /* socket closed; freed when no callback holds it */
} conn_state_t;

/* What the connection's one timer means when it fires. */
typedef enum conn_timer {
    T_NONE,
    T_FRESH,  /* a new connection's first byte (header deadline) */
    T_IDLE,   /* the next request on a kept-alive connection */
    T_HEADER, /* the rest of the head */
    T_BODY,   /* the rest of the body */
    T_WRITE,  /* the rest of the reply */
    T_LINGER, /* the end of draining */
    T_DRAIN,  /* an idle connection's end in a graceful stop */
    T_COUNT
} conn_timer_t;

struct bw_httpd_conn {
    bw_httpd_t *h;
    int fd;
    conn_state_t state;
    conn_timer_t timer_kind;
    struct event rd, wr, timer;
    int reading; /* rd is added */
    int busy;    /* callbacks on the stack holding this connection */
    int advancing;
    struct sockaddr_storage peer;
    bw_httpd_conn_t *prev, *next;           /* every connection */
    bw_httpd_conn_t *idle_prev, *idle_next; /* idle ones, oldest first */
    int idle;

    /* The input buffer, in_base (in_cap bytes). The current request starts
     * at in, in_len bytes of input from there: a served request is passed
     * over, not moved out (moving what follows it, for each of many
     * requests sent at once, cost their number times the buffer), and what
     * is left is moved to in_base when a read needs the room. */
    char *in_base, *in;
    size_t in_len, in_cap;
    bw_httpparse_scan_t scan;
    size_t req_end; /* bytes of in that belong to the current request */
    size_t in_pos;  /* chunked: next undecoded input byte */

    /* The current request. */
    int parsed; /* head is valid */
    bw_httpparse_head_t head;
    bw_httpd_req_t req;
    char *body; /* a Content-Length body not in place (arena) */
    size_t body_len, body_cap;
    int body_in_place;
    bw_httpparse_chunked_t chunked;
    bw_buf_t chunked_body;

    /* Output that could not be written at once, from out_off on. */
    bw_buf_t out;
    size_t out_off;
    int close_after; /* close once the reply is out */
    int linger;      /* ... draining unread input first */
    int eof;         /* the client closed its side */
    int refused;     /* admitted only to be told 503 or 429 */
    int counted;     /* counted in h->peers under peer_key */
    uint8_t peer_key[BW_PEER_KEY_LEN];
    size_t lingered;
};

struct bw_httpd {
    struct event_base *base;
    bw_httpd_opts_t opts;
    bw_httpparse_limits_t limits;
    size_t in_max; /* the largest input buffer a head may need */
    const struct timeval *timeouts[T_COUNT];
    int listen_fd;
    struct event listen_ev, accept_resume;
    int accepting;
    bw_httpd_conn_t *conns;
    bw_httpd_conn_t *idle_head, *idle_tail;
    size_t n_open;     /* admitted connections with a socket */
    size_t n_refused;  /* refused ones still lingering */
    size_t n_all;      /* every connection struct alive */
    bw_peers_t *peers; /* connections per client address; NULL: no cap */
    char *bufs[POOL_MAX];
    size_t n_bufs;
    bw_arena_t *arenas[POOL_MAX];
    size_t n_arenas;
    time_t date_at;
    char date[40];
    int draining;
    void (*drain_done)(void *arg);
    void *drain_arg;
    char scratch[16384]; /* lingering reads land here */
};

static void conn_advance(bw_httpd_conn_t *c);

/* ---- pools ------------------------------------------------------------- */

static char *buf_take(bw_httpd_t *h)
{
    return h->n_bufs > 0 ? h->bufs[--h->n_bufs] : malloc(IN_BUF_SIZE);
}

static void buf_give(bw_httpd_t *h, char *buf, size_t cap)
{
    if (buf != NULL && cap == IN_BUF_SIZE && h->n_bufs < POOL_MAX)
        h->bufs[h->n_bufs++] = buf;
    else
        free(buf);
}

static bw_arena_t *arena_take(bw_httpd_t *h)
{
    return h->n_arenas > 0 ? h->arenas[--h->n_arenas] : bw_arena_create(ARENA_FIRST_CHUNK);
}

static void arena_give(bw_httpd_t *h, bw_arena_t *a)
{
    if (a == NULL)
        return;
    bw_arena_reset(a);
    if (h->n_arenas < POOL_MAX)
        h->arenas[h->n_arenas++] = a;
    else
        bw_arena_destroy(a);
}

/* ---- timers and lists -------------------------------------------------- */

static void timer_set(bw_httpd_conn_t *c, conn_timer_t kind)
{
    if (c->timer_kind == kind)
        return;
    c->timer_kind = kind;
    evtimer_add(&c->timer, c->h->timeouts[kind]);
}

static void timer_clear(bw_httpd_conn_t *c)
{
    if (c->timer_kind == T_NONE)
        return;
    c->timer_kind = T_NONE;
    evtimer_del(&c->timer);
}

static void idle_enter(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    if (c->idle)
        return;
    c->idle = 1;
    c->idle_next = NULL;
    c->idle_prev = h->idle_tail;
    if (h->idle_tail != NULL)
        h->idle_tail->idle_next = c;
    else
        h->idle_head = c;
    h->idle_tail = c;
}

static void idle_leave(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    if (!c->idle)
        return;
    c->idle = 0;
    if (c->idle_prev != NULL)
        c->idle_prev->idle_next = c->idle_next;
    else
        h->idle_head = c->idle_next;
    if (c->idle_next != NULL)
        c->idle_next->idle_prev = c->idle_prev;
    else
        h->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

static void reading_on(bw_httpd_conn_t *c)
{
    if (!c->reading && c->fd >= 0 && !c->eof) {
        event_add(&c->rd, NULL);
        c->reading = 1;
    }
}

static void reading_off(bw_httpd_conn_t *c)
{
    if (c->reading) {
        event_del(&c->rd);
        c->reading = 0;
    }
}

/* ---- connection life --------------------------------------------------- */

/* Forgets the current request: its arena, body and parse state. */
static void request_reset(bw_httpd_conn_t *c)
{
    arena_give(c->h, c->req.arena);
    bw_buf_free(&c->chunked_body);
    memset(&c->req, 0, sizeof(c->req));
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->body_in_place = 0;
    c->parsed = 0;
    memset(&c->scan, 0, sizeof(c->scan));
}

static void conn_free(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    request_reset(c);
    buf_give(h, c->in_base, c->in_cap);
    bw_buf_free(&c->out);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
    h->n_all--;
    if (h->draining && h->n_all == 0 && h->drain_done != NULL) {
        void (*done)(void *) = h->drain_done;
        h->drain_done = NULL;
        done(h->drain_arg);
    }
}

/* Closes the socket. The struct goes when no callback holds it, and, when
 * its request is with the handler, once the handler has responded. */
static void conn_close(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    if (c->fd >= 0) {
        reading_off(c);
        event_del(&c->wr);
        timer_clear(c);
        idle_leave(c);
        close(c->fd);
        c->fd = -1;
        if (c->refused)
            h->n_refused--;
        else
            h->n_open--;
        if (c->counted)
            bw_peers_give(h->peers, c->peer_key);
        c->counted = 0;
        bw_gw_metrics_conn_open(h->opts.metrics, h->n_open);
    }
    if (c->state == CONN_HANDLER)
        return;
    c->state = CONN_CLOSED;
    if (c->busy == 0)
        conn_free(c);
}

static void conn_hold(bw_httpd_conn_t *c)
{
    c->busy++;
}

static void conn_release(bw_httpd_conn_t *c)
{
    if (--c->busy == 0 && c->state == CONN_CLOSED)
        conn_free(c);
}

/* ---- writing ----------------------------------------------------------- */

static const char *http_date(bw_httpd_t *h)
{
    time_t now = time(NULL);
    if (now != h->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(h->date, sizeof(h->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        h->date_at = now;
    }
    return h->date;
}

static void reply_done(bw_httpd_conn_t *c);

/* Writes iov out, now if the socket takes it, else queued behind a write
 * event. final: the iov ends the reply to the current request. */
static void send_iov(bw_httpd_conn_t *c, struct iovec *iov, int n, int final)
{
    size_t total = 0, written = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (c->out_off == c->out.len) {
        ssize_t w;
        do
            w = writev(c->fd, iov, n);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_close(c);
            return;
        }
        written = w > 0 ? (size_t)w : 0;
        if (written == total) {
            if (final)
                reply_done(c);
            return;
        }
    }
    for (int i = 0; i < n; i++) {
        size_t len = iov[i].iov_len, skip = written < len ? written : len;
        written -= skip;
        if (len > skip &&
            bw_buf_add(&c->out, (const char *)iov[i].iov_base + skip, len - skip) != 0) {
            conn_close(c);
            return;
        }
    }
    event_add(&c->wr, NULL);
    if (final)
        timer_set(c, T_WRITE);
}

static void on_write(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    bw_httpd_conn_t *c = arg;
    conn_hold(c);
    ssize_t w = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        conn_close(c);
    } else if (w > 0 && (c->out_off += (size_t)w) == c->out.len) {
        c->out_off = c->out.len = 0;
        if (c->out.cap > IN_BUF_SIZE) {
            /* A large reply's copy is not kept for the connection's life. */
            bw_buf_free(&c->out);
        }
        event_del(&c->wr);
        if (c->state == CONN_WRITING)
            reply_done(c);
    }
    conn_release(c);
}

/* Appends n bytes of s at p (NULL once out of room). */
static char *put(char *p, const char *end, const char *s, size_t n)
{
    if (p == NULL || (size_t)(end - p) < n)
        return NULL;
    memcpy(p, s, n);
    return p + n;
}

static char *put_str(char *p, const char *end, const char *s)
{
    return put(p, end, s, strlen(s));
}

static char *put_size(char *p, const char *end, size_t v)
{
    char digits[BW_DECIMAL_MAX];
    const char *d = bw_decimal(digits + sizeof(digits), false, v);
    return put(p, end, d, (size_t)(digits + sizeof(digits) - d));
}

/* Writes a status line and headers, then extra (header lines, may be
 * empty) and the body unless the request was HEAD or the status has none. */
static void write_reply(bw_httpd_conn_t *c, int status, const char *content_type, const char *extra,
                        size_t extra_len, const char *body, size_t len)
{
    char head[REPLY_HEAD_MAX];
    const char *end = head + sizeof(head);
    int bodiless = status == 204 || status == 304 || status < 200;
    if (c->fd < 0)
        return;
    char *p = put_str(head, end, "HTTP/1.1 ");
    p = put_size(p, end, (size_t)status);
    p = put_str(p, end, " ");
    p = put_str(p, end, bw_problem_title(status));
    p = put_str(p, end, "\r\nDate: ");
    p = put_str(p, end, http_date(c->h));
    p = put_str(p, end, "\r\n");
    if (content_type != NULL) {
        p = put_str(p, end, "Content-Type: ");
        p = put_str(p, end, content_type);
        p = put_str(p, end, "\r\n");
    }
    if (!bodiless) {
        p = put_str(p, end, "Content-Length: ");
        p = put_size(p, end, len);
        p = put_str(p, end, "\r\n");
    }
    if (c->close_after)
        p = put_str(p, end, "Connection: close\r\n");
    else if (c->parsed && c->head.version == 10)
        p = put_str(p, end, "Connection: keep-alive\r\n");
    if (p == NULL) {
        /* Only an absurd content type gets here; the server wrote it. */
        bw_log(BW_LOG_ERROR, NULL, "reply head too long for status %d", status);
        conn_close(c);
        return;
    }
    int send_body = !bodiless && !(c->parsed && c->head.method == BW_HTTPPARSE_HEAD) && len > 0;
    struct iovec iov[4] = {
        {head, (size_t)(p - head)},
        {(void *)extra, extra_len},
        {"\r\n", 2},
        {(void *)body, send_body ? len : 0},
    };
    c->state = CONN_WRITING;
    send_iov(c, iov, 4, 1);
}

/* Answers a request the server itself refuses (or a connection it cannot
 * take) with problem+json, and closes the connection after it. */
static void reply_error(bw_httpd_conn_t *c, int status, const char *reason, const char *detail)
{
    static const struct {
        int status, grpc;
    } codes[] = {
        {400, BW_GRPC_INVALID_ARGUMENT},    {408, BW_GRPC_DEADLINE_EXCEEDED},
        {413, BW_GRPC_RESOURCE_EXHAUSTED},  {414, BW_GRPC_INVALID_ARGUMENT},
        {417, BW_GRPC_FAILED_PRECONDITION}, {431, BW_GRPC_INVALID_ARGUMENT},
        {429, BW_GRPC_RESOURCE_EXHAUSTED},  {501, BW_GRPC_UNIMPLEMENTED},
        {503, BW_GRPC_UNAVAILABLE},         {505, BW_GRPC_UNIMPLEMENTED},
    };
    int grpc = BW_GRPC_INVALID_ARGUMENT;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].status == status)
            grpc = codes[i].grpc;
    char request_id[BW_UUID_STR_LEN + 1] = ""; /* stays empty if the kernel refuses */
    bw_uuid_v7(request_id);
    bw_problem_t p = {.grpc_code = grpc,
                      .http_status = status,
                      .reason = reason,
                      .detail = detail,
                      .instance = c->parsed ? c->head.path : NULL,
                      .request_id = request_id};
    size_t len = 0;
    char *body = bw_problem_render(&p, &len);
    char extra[128];
    int n = snprintf(extra, sizeof(extra), "X-Request-Id: %s\r\n%s", request_id,
                     status == 503 || status == 429 ? "Retry-After: 1\r\n" : "");
    bw_gw_metrics_observe(c->h->opts.metrics, NULL, status, 0);
    timer_clear(c);
    c->close_after = 1;
    c->linger = 1;
    write_reply(c, status, body != NULL ? "application/problem+json" : NULL, extra, (size_t)n, body,
                body != NULL ? len : 0);
    free(body);
}

static void reply_parse_error(bw_httpd_conn_t *c, const bw_httpparse_error_t *err)
{
    reply_error(c, err->status, err->reason, err->detail);
}

static void linger_start(bw_httpd_conn_t *c)
{
    if (c->eof) {
        conn_close(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->lingered = 0;
    buf_give(c->h, c->in_base, c->in_cap);
    c->in = c->in_base = NULL;
    c->in_len = c->in_cap = 0;
    reading_on(c);
    timer_set(c, T_LINGER);
}

/* The reply to the current request is out: on to the next request, if any. */
static void reply_done(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    size_t rest = c->in_len - c->req_end;
    if (c->in != NULL)
        c->in += c->req_end;
    c->in_len = rest;
    c->req_end = 0;
    request_reset(c);
    timer_clear(c);
    if (c->close_after || h->draining) {
        if (c->linger || rest > 0)
            linger_start(c);
        else
            conn_close(c);
        return;
    }
    if (rest == 0) {
        if (c->eof) {
            conn_close(c);
            return;
        }
        c->state = CONN_IDLE;
        buf_give(h, c->in_base, c->in_cap);
        c->in = c->in_base = NULL;
        c->in_cap = 0;
        idle_enter(c);
        timer_set(c, T_IDLE);
        reading_on(c);
        return;
    }
    c->state = CONN_HEAD;
    reading_on(c);
    if (!c->advancing)
        conn_advance(c);
}

/* ---- requests ---------------------------------------------------------- */

static void dispatch(bw_httpd_conn_t *c)
{
    bw_httpd_req_t *r = &c->req;
    timer_clear(c);
    c->state = CONN_HANDLER;
    r->method = c->head.method;
    r->method_name = c->head.method_name;
    r->path = c->head.path;
    r->query = c->head.query;
    r->fields = c->head.fields;
    r->n_fields = c->head.n_fields;
    r->peer = (const struct sockaddr *)&c->peer;
    r->conn = c;
    if (r->body == NULL)
        r->body = "";
    c->h->opts.handler(r, c->h->opts.handler_arg);
}

/* The room from where the current request starts to the buffer's end. */
static size_t in_room(const bw_httpd_conn_t *c)
{
    return c->in_cap - (size_t)(c->in - c->in_base);
}

/* Moves the current request's input to the buffer's start. Only while a
 * head is still being read: nothing points into the buffer then. */
static void compact_in(bw_httpd_conn_t *c)
{
    if (c->in != c->in_base && c->in_len > 0)
        memmove(c->in_base, c->in, c->in_len);
    c->in = c->in_base;
}

/* A buffer of cap bytes with the current request's input at its start
 * (moved, as compact_in). */
static int grow_in(bw_httpd_conn_t *c, size_t cap)
{
    if (c->in_cap != IN_BUF_SIZE)
        compact_in(c);
    char *grown = c->in_cap == IN_BUF_SIZE ? malloc(cap) : realloc(c->in_base, cap);
    if (grown == NULL)
        return BW_ENOMEM;
    if (c->in_cap == IN_BUF_SIZE) {
        memcpy(grown, c->in, c->in_len);
        buf_give(c->h, c->in_base, c->in_cap);
    }
    c->in = c->in_base = grown;
    c->in_cap = cap;
    return 0;
}

/* Sets up reading the body announced by the head; 0, or -1 when it has
 * answered. */
static int body_start(bw_httpd_conn_t *c)
{
    size_t head_len = c->scan.head_len;
    c->in_pos = head_len;
    if (c->head.chunked) {
        memset(&c->chunked, 0, sizeof(c->chunked));
        return 0;
    }
    size_t want = (size_t)c->head.content_length;
    if (head_len + want <= in_room(c)) {
        c->body_in_place = 1;
        return 0;
    }
    /* What arrived after the head is all body: the rest is larger. */
    c->body = bw_arena_alloc(c->req.arena, want);
    if (c->body == NULL) {
        reply_error(c, 503, "OUT_OF_MEMORY", "the server is out of memory; retry later");
        return -1;
    }
    c->body_len = c->in_len - head_len;
    c->body_cap = want;
    memcpy(c->body, c->in + head_len, c->body_len);
    c->in_len = head_len;
    return 0;
}

/* Reads the body as far as input allows; 1 when the request went to the
 * handler (or was answered), 0 to wait for more. */
static int step_body(bw_httpd_conn_t *c)
{
    size_t head_len = c->scan.head_len;
    if (!c->head.chunked) {
        size_t want = (size_t)c->head.content_length;
        if (c->body_in_place && c->in_len - head_len >= want) {
            c->req.body = c->in + head_len;
            c->req.body_len = want;
            c->req_end = head_len + want;
            dispatch(c);
            return 1;
        }
        if (!c->body_in_place && c->body_len == c->body_cap) {
            c->req.body = c->body;
            c->req.body_len = c->body_len;
            c->req_end = head_len;
            dispatch(c);
            return 1;
        }
        timer_set(c, T_BODY);
        return 0;
    }
    for (;;) {
        size_t used;
        const char *data;
        size_t n;
        bw_httpparse_error_t err;
        int rc = bw_httpparse_chunked(&c->chunked, c->in + c->in_pos, c->in_len - c->in_pos,
                                      c->h->opts.max_body, &used, &data, &n, &err);
        if (rc == BW_EINVAL) {
            reply_parse_error(c, &err);
            return 1;
        }
        if (n > 0 && bw_buf_add(&c->chunked_body, data, n) != 0) {
            reply_error(c, 503, "OUT_OF_MEMORY", "the server is out of memory; retry later");
            return 1;
        }
        c->in_pos += used;
        if (rc == BW_HTTPPARSE_DONE)
            break;
        if (c->in_pos == c->in_len) {
            /* Everything decoded: make room for more after the head. */
            c->in_len = c->in_pos = head_len;
            timer_set(c, T_BODY);
            return 0;
        }
    }
    /* Whatever follows the body is the next request. */
    size_t rest = c->in_len - c->in_pos;
    memmove(c->in + head_len, c->in + c->in_pos, rest);
    c->in_len = head_len + rest;
    c->in_pos = c->req_end = head_len;
    c->req.body = c->chunked_body.data;
    c->req.body_len = c->chunked_body.len;
    dispatch(c);
    return 1;
}

static void send_continue(bw_httpd_conn_t *c)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct iovec iov = {(void *)line, sizeof(line) - 1};
    send_iov(c, &iov, 1, 0);
}

/* Looks for a complete head; 1 when the request moved on (to its body, the
 * handler, or an error reply), 0 to wait for more. */
static int step_head(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    bw_httpparse_error_t err;
    int rc = bw_httpparse_find_head(c->in, c->in_len, &h->limits, &c->scan, &err);
    if (rc == BW_HTTPPARSE_AGAIN) {
        timer_set(c, T_HEADER);
        return 0;
    }
    if (rc != 0) {
        reply_parse_error(c, &err);
        return 1;
    }
    if (in_room(c) - c->scan.head_len < IN_BUF_MIN_ROOM)
        compact_in(c); /* the head is not parsed yet: nothing points into it */
    if (in_room(c) - c->scan.head_len < IN_BUF_MIN_ROOM &&
        grow_in(c, c->scan.head_len + IN_BUF_SIZE) != 0) {
        reply_error(c, 503, "OUT_OF_MEMORY", "the server is out of memory; retry later");
        return 1;
    }
    size_t max_fields = c->scan.lines > 1 ? c->scan.lines - 1 : 1;
    c->req.arena = arena_take(h);
    bw_httpparse_field_t *fields =
        c->req.arena != NULL ? bw_arena_alloc(c->req.arena, max_fields * sizeof(*fields)) : NULL;
    if (fields == NULL) {
        reply_error(c, 503, "OUT_OF_MEMORY", "the server is out of memory; retry later");
        return 1;
    }
    rc = bw_httpparse_head(c->in, &c->scan, &h->limits, fields, max_fields, &c->head, &err);
    if (rc != 0) {
        reply_parse_error(c, &err);
        return 1;
    }
    c->parsed = 1;
    c->req_end = c->scan.head_len;
    if (!c->head.keep_alive)
        c->close_after = 1;
    if (c->head.method == BW_HTTPPARSE_OTHER) {
        reply_error(c, 501, "METHOD_NOT_IMPLEMENTED",
                    "the method is not implemented; use GET, HEAD, POST, PUT, PATCH, DELETE "
                    "or OPTIONS");
        return 1;
    }
    if (c->head.content_length > (long long)h->opts.max_body) {
        char detail[96];
        snprintf(detail, sizeof(detail), "the body exceeds the limit of %zu bytes",
                 h->opts.max_body);
        reply_error(c, 413, "BODY_TOO_LARGE", detail);
        return 1;
    }
    if (!c->head.chunked && c->head.content_length <= 0) {
        dispatch(c);
        return 1;
    }
    if (body_start(c) != 0)
        return 1;
    c->state = CONN_BODY;
    /* 100 Continue only for a body that will be read, and only when the
     * client is still waiting for it. */
    if (c->head.expect_continue && c->in_len == c->scan.head_len && c->body_len == 0)
        send_continue(c);
    return 1;
}

/* Moves the connection's request on as far as its input allows. */
static void conn_advance(bw_httpd_conn_t *c)
{
    c->advancing = 1;
    for (;;) {
        int moved = 0;
        if (c->fd < 0)
            break;
        if (c->state == CONN_HEAD)
            moved = step_head(c);
        else if (c->state == CONN_BODY)
            moved = step_body(c);
        if (!moved)
            break;
    }
    c->advancing = 0;
    /* A client that closed its side will send no more of this request. */
    if (c->eof && c->fd >= 0 && (c->state == CONN_HEAD || c->state == CONN_BODY))
        conn_close(c);
}

/* ---- reading ----------------------------------------------------------- */

static void on_eof(bw_httpd_conn_t *c)
{
    c->eof = 1;
    reading_off(c);
    /* With a request at the handler or a reply going out, what was sent is
     * still answered; otherwise there is nothing left to do. */
    if (c->state != CONN_HANDLER && c->state != CONN_WRITING)
        conn_close(c);
}

static void linger_read(bw_httpd_conn_t *c)
{
    ssize_t n = read(c->fd, c->h->scratch, sizeof(c->h->scratch));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0 || (c->lingered += (size_t)n) > LINGER_MAX_BYTES)
        conn_close(c);
}

static void read_input(bw_httpd_conn_t *c)
{
    bw_httpd_t *h = c->h;
    char *dst;
    size_t room;
    int into_body = c->state == CONN_BODY && !c->head.chunked && !c->body_in_place;
    if (into_body) {
        dst = c->body + c->body_len;
        room = c->body_cap - c->body_len;
    } else {
        if (c->in == NULL) {
            c->in = c->in_base = buf_take(h);
            if (c->in == NULL) {
                conn_close(c);
                return;
            }
            c->in_cap = IN_BUF_SIZE;
            c->in_len = 0;
        }
        if (c->in_len == in_room(c)) {
            /* Only a head still being read may move the buffer. */
            int head = c->state == CONN_IDLE || c->state == CONN_HEAD;
            if (head && c->in != c->in_base) {
                compact_in(c);
            } else if (head && c->in_cap < h->in_max) {
                if (grow_in(c, h->in_max) != 0) {
                    conn_close(c);
                    return;
                }
            } else {
                reading_off(c);
                return;
            }
        }
        dst = c->in + c->in_len;
        room = in_room(c) - c->in_len;
    }
    ssize_t n = read(c->fd, dst, room);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_close(c);
        return;
    }
    if (n == 0) {
        on_eof(c);
        return;
    }
    if (into_body)
        c->body_len += (size_t)n;
    else
        c->in_len += (size_t)n;
    if (c->state == CONN_IDLE) {
        idle_leave(c);
        timer_clear(c);
        c->state = CONN_HEAD;
    }
    if (c->state == CONN_HEAD || c->state == CONN_BODY)
        conn_advance(c);
}

static void on_read(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    bw_httpd_conn_t *c = arg;
    conn_hold(c);
    if (c->state == CONN_LINGER)
        linger_read(c);
    else
        read_input(c);
    conn_release(c);
}

static void on_timer(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    bw_httpd_conn_t *c = arg;
    conn_timer_t kind = c->timer_kind;
    c->timer_kind = T_NONE;
    conn_hold(c);
    switch (kind) {
    case T_FRESH:
    case T_IDLE:
        bw_gw_metrics_conn_event(c->h->opts.metrics, BW_GW_METRICS_CONN_IDLE_TIMEOUT);
        conn_close(c);
        break;
    case T_HEADER:
        bw_gw_metrics_conn_event(c->h->opts.metrics, BW_GW_METRICS_CONN_HEADER_TIMEOUT);
        reply_error(c, 408, "REQUEST_TIMEOUT", "the request head did not arrive in time");
        break;
    case T_BODY:
        bw_gw_metrics_conn_event(c->h->opts.metrics, BW_GW_METRICS_CONN_BODY_TIMEOUT);
        reply_error(c, 408, "REQUEST_TIMEOUT", "the request body did not arrive in time");
        break;
    case T_WRITE:
        bw_gw_metrics_conn_event(c->h->opts.metrics, BW_GW_METRICS_CONN_WRITE_TIMEOUT);
        conn_close(c);
        break;
    default:
        conn_close(c);
        break;
    }
    conn_release(c);
}

/* ---- accepting --------------------------------------------------------- */

static void admit(bw_httpd_t *h, int fd, const struct sockaddr_storage *peer)
{
    uint8_t key[BW_PEER_KEY_LEN];
    int keyed = h->peers != NULL && bw_peer_key((const struct sockaddr *)peer, key) == 0;
    int refused = 0; /* or the status the newcomer is answered with */
    /* An address at its own cap is refused before it can make room for
     * itself by closing another client's idle connection. */
    if (keyed && bw_peers_count(h->peers, key) >= (unsigned)h->opts.max_per_address) {
        refused = 429;
    } else if (h->n_open >= (size_t)h->opts.max_connections) {
        if (h->idle_head != NULL) {
            bw_gw_metrics_conn_event(h->opts.metrics, BW_GW_METRICS_CONN_EVICTED);
            conn_close(h->idle_head);
        } else {
            refused = 503;
        }
    }
    if (refused && h->n_refused >= REFUSED_MAX) {
        bw_gw_metrics_conn_event(h->opts.metrics, refused == 429
                                                      ? BW_GW_METRICS_CONN_REFUSED_ADDRESS
                                                      : BW_GW_METRICS_CONN_REFUSED);
        close(fd);
        return;
    }
    bw_httpd_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    bw_buf_init(&c->out, 0);
    bw_buf_init(&c->chunked_body, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->h = h;
    c->fd = fd;
    c->peer = *peer;
    c->refused = refused != 0;
    event_assign(&c->rd, h->base, fd, EV_READ | EV_PERSIST, on_read, c);
    event_assign(&c->wr, h->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    evtimer_assign(&c->timer, h->base, on_timer, c);
    c->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = c;
    h->conns = c;
    h->n_all++;
    if (refused) {
        h->n_refused++;
        conn_hold(c);
        if (refused == 429) {
            char detail[128];
            snprintf(detail, sizeof(detail),
                     "this client address holds %ld connections, as many as one address may; "
                     "close one or retry later",
                     h->opts.max_per_address);
            bw_gw_metrics_conn_event(h->opts.metrics, BW_GW_METRICS_CONN_REFUSED_ADDRESS);
            reply_error(c, 429, "TOO_MANY_CONNECTIONS_FROM_ADDRESS", detail);
        } else {
            bw_gw_metrics_conn_event(h->opts.metrics, BW_GW_METRICS_CONN_REFUSED);
            reply_error(c, 503, "TOO_MANY_CONNECTIONS",
                        "the server has as many connections as it takes; retry later");
        }
        conn_release(c);
        return;
    }
    /* Counted once admitted: the table holds as many addresses as there
     * may be connections, and there is room for this one now. */
    if (keyed && bw_peers_take(h->peers, key) == 0) {
        c->counted = 1;
        memcpy(c->peer_key, key, BW_PEER_KEY_LEN);
    }
    h->n_open++;
    bw_gw_metrics_conn_event(h->opts.metrics, BW_GW_METRICS_CONN_ACCEPTED);
    bw_gw_metrics_conn_open(h->opts.metrics, h->n_open);
    c->state = CONN_IDLE;
    idle_enter(c);
    timer_set(c, T_FRESH);
    reading_on(c);
}

static void on_accept_resume(evutil_socket_t fd, short events, void *arg)
{
    (void)fd;
    (void)events;
    bw_httpd_t *h = arg;
    if (h->listen_fd >= 0 && !h->accepting) {
        event_add(&h->listen_ev, NULL);
        h->accepting = 1;
    }
}

static void on_accept(evutil_socket_t fd, short events, void *arg)
{
    (void)events;
    bw_httpd_t *h = arg;
    for (int i = 0; i < ACCEPT_BATCH && h->listen_fd >= 0; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        int cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            admit(h, cfd, &peer);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The socket stays readable: pause, or the loop would spin. */
            bw_log(BW_LOG_WARN, NULL, "cannot accept connections: %s; pausing %d ms",
                   strerror(errno), ACCEPT_PAUSE_MS);
            event_del(&h->listen_ev);
            h->accepting = 0;
            struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
            evtimer_add(&h->accept_resume, &tv);
        }
        return;
    }
}

/* ---- the server -------------------------------------------------------- */

/* Makes room for max_connections open files, or lowers the cap to fit. */
static void fit_fd_limit(bw_httpd_opts_t *opts)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)opts->max_connections + REFUSED_MAX + FD_RESERVE;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        long fit = (long)rl.rlim_cur - REFUSED_MAX - FD_RESERVE;
        if (fit < 16)
            fit = 16;
        bw_log(BW_LOG_WARN, NULL,
               "the open file limit (%lu) cannot hold %ld connections; taking %ld",
               (unsigned long)rl.rlim_cur, opts->max_connections, fit);
        opts->max_connections = fit;
    }
}

int bw_httpd_create(struct event_base *base, const bw_httpd_opts_t *opts, bw_httpd_t **out)
{
    *out = NULL;
    if (base == NULL || opts == NULL || opts->handler == NULL || opts->max_connections < 1)
        return BW_EINVAL;
    bw_httpd_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return BW_ENOMEM;
    h->base = base;
    h->opts = *opts;
    h->listen_fd = -1;
    h->limits = (bw_httpparse_limits_t){8192, 64 * 1024, 100};
    h->in_max =
        h->limits.max_target + BW_HTTPPARSE_MAX_METHOD + 16 + h->limits.max_head + IN_BUF_SIZE;
    fit_fd_limit(&h->opts);
    if (opts->max_per_address > 0 && opts->max_per_address < h->opts.max_connections &&
        bw_peers_create((size_t)h->opts.max_connections, &h->peers) != 0) {
        free(h);
        return BW_ENOMEM;
    }
    long ms[T_COUNT] = {
        [T_FRESH] = opts->header_timeout_ms,
        [T_IDLE] = opts->idle_timeout_ms,
        [T_HEADER] = opts->header_timeout_ms,
        [T_BODY] = opts->body_timeout_ms,
        [T_WRITE] = opts->write_timeout_ms,
        [T_LINGER] = LINGER_MS,
        [T_DRAIN] = DRAIN_IDLE_MS,
    };
    for (int i = T_FRESH; i < T_COUNT; i++) {
        /* One queue per duration: arming and disarming cost O(1). */
        struct timeval tv = {ms[i] / 1000, (ms[i] % 1000) * 1000};
        h->timeouts[i] = event_base_init_common_timeout(base, &tv);
        if (h->timeouts[i] == NULL) {
            bw_peers_free(h->peers);
            free(h);
            return BW_ENOMEM;
        }
    }
    evtimer_assign(&h->accept_resume, base, on_accept_resume, h);
    *out = h;
    return 0;
}

int bw_httpd_listen(bw_httpd_t *h, const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL)
        return BW_EINVAL;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    int ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
             bind(fd, res->ai_addr, res->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
    freeaddrinfo(res);
    if (!ok) {
        if (fd >= 0)
            close(fd);
        return BW_EINVAL;
    }
    h->listen_fd = fd;
    event_assign(&h->listen_ev, h->base, fd, EV_READ | EV_PERSIST, on_accept, h);
    event_add(&h->listen_ev, NULL);
    h->accepting = 1;
    return 0;
}

static void stop_listening(bw_httpd_t *h)
{
    if (h->listen_fd < 0)
        return;
    if (h->accepting)
        event_del(&h->listen_ev);
    evtimer_del(&h->accept_resume);
    h->accepting = 0;
    close(h->listen_fd);
    h->listen_fd = -1;
}

void bw_httpd_drain(bw_httpd_t *h, void (*done)(void *arg), void *arg)
{
    h->draining = 1;
    h->drain_done = done;
    h->drain_arg = arg;
    stop_listening(h);
    /* Idle connections are not closed at once: a request a client sent on
     * one just before or as the drain began would be reset, not answered
     * (make faults saw a write lost so). Each stays open DRAIN_IDLE_MS;
     * a request that comes meanwhile is answered with Connection: close. */
    for (bw_httpd_conn_t *c = h->idle_head; c != NULL; c = c->idle_next)
        timer_set(c, T_DRAIN);
    if (h->n_all == 0 && h->drain_done != NULL) {
        h->drain_done = NULL;
        done(arg);
    }
}

void bw_httpd_free(bw_httpd_t *h)
{
    if (h == NULL)
        return;
    stop_listening(h);
    h->drain_done = NULL;
    while (h->conns != NULL) {
        bw_httpd_conn_t *c = h->conns;
        if (c->state == CONN_HANDLER)
            bw_log(BW_LOG_WARN, NULL, "a request was still with the handler at shutdown");
        c->state = CONN_CLOSED;
        c->busy = 0;
        if (c->fd >= 0) {
            reading_off(c);
            event_del(&c->wr);
            timer_clear(c);
            close(c->fd);
        }
        conn_free(c);
    }
    for (size_t i = 0; i < h->n_bufs; i++)
        free(h->bufs[i]);
    for (size_t i = 0; i < h->n_arenas; i++)
        bw_arena_destroy(h->arenas[i]);
    bw_peers_free(h->peers);
    free(h);
}

size_t bw_httpd_connections(const bw_httpd_t *h)
{
    return h->n_open;
}

/* ---- the handler's side ------------------------------------------------ */

int bw_httpd_add_header(bw_httpd_req_t *r, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl == 0)
        return BW_EINVAL;
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)name[i] <= ' ' || name[i] == ':' || name[i] == 0x7f)
            return BW_EINVAL;
    for (size_t i = 0; i < vl; i++)
        if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
            return BW_EINVAL;
    size_t need = r->headers_len + nl + vl + 4;
    if (need > r->headers_cap) {
        size_t cap = r->headers_cap ? r->headers_cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        char *grown = bw_arena_alloc(r->arena, cap);
        if (grown == NULL)
            return BW_ENOMEM;
        if (r->headers_len > 0)
            memcpy(grown, r->headers, r->headers_len);
        r->headers = grown;
        r->headers_cap = cap;
    }
    char *p = r->headers + r->headers_len;
    memcpy(p, name, nl);
    p[nl] = ':';
    p[nl + 1] = ' ';
    memcpy(p + nl + 2, value, vl);
    p[nl + 2 + vl] = '\r';
    p[nl + 3 + vl] = '\n';
    r->headers_len = need;
    return 0;
}

void bw_httpd_respond(bw_httpd_req_t *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    bw_httpd_conn_t *c = r->conn;
    conn_hold(c);
    if (c->fd < 0) {
        /* The client went away while the handler worked. */
        c->state = CONN_CLOSED;
        request_reset(c);
    } else {
        if (c->h->draining)
            c->close_after = 1;
        write_reply(c, status, content_type, r->headers, r->headers_len, body, len);
    }
    conn_release(c);
}

const char *bw_httpd_header(const bw_httpd_req_t *r, const char *name)
{
    return bw_httpparse_field(r->fields, r->n_fields, name, NULL);
}
