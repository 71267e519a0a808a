/*
 * bulwark-floor: what one hop costs on this machine when nobody does any
 * work of their own, for `make bench` to print beside Bulwark's figures.
 *
 *   bulwark-floor back  ADDR PAYLOAD-FILE CA CERT KEY
 *   bulwark-floor front HTTP-PORT BACK-ADDR CA CERT KEY PEER-NAME
 *
 * The back end answers every call of /bulwark.floor.v1.Floor/Call with the
 * bytes of PAYLOAD-FILE. The front answers every HTTP/1.1 request on
 * 127.0.0.1:HTTP-PORT by one unary gRPC call to BACK-ADDR carrying the
 * request's body, and replies 200 with the call's reply as an
 * application/json body (502 if the call failed). In between, only what any
 * gateway on this stack must do: a request read from the socket and its
 * Content-Length found, the call started on gRPC core's asynchronous API, its
 * completion handed from a poller thread to the libevent loop, one writev.
 * No JSON, no protobuf, no authentication, no log, no database.
 *
 * Everything that is not a process's own work is Bulwark's: the same gRPC
 * start-up (common/rpc_tls.c: abseil's deadlock detection off, malloc's
 * thresholds), the same mutual TLS credentials from the same files, the same
 * channel and server settings that bear on throughput, a payload delivered
 * with the call as the services take it, and `make bench` pins the two on
 * the gateway's and scoping's CPUs as make run does. So the floor's requests
 * a second are about the most a gateway and a service could reach on this
 * host for a request of that shape; docs/DESIGN.md, "Performance as
 * measured", compares them.
 *
 * A tool for a benchmark on the loopback interface, not a server: one
 * request at a time per connection (no pipelining), requests of at most
 * 16 KiB (larger ones close the connection), SIGTERM ends it.
 */

#include "rpc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#define METHOD "/bulwark.floor.v1.Floor/Call"
#define REQUEST_MAX 16384
#define PENDING_CALLS 64

static void die(const char *what)
{
    fprintf(stderr, "bulwark-floor: %s\n", what);
    exit(1);
}

static bw_rpc_tls_t *tls_open(const char *ca, const char *cert, const char *key)
{
    char err[256];
    bw_rpc_tls_t *tls = NULL;
    if (bw_rpc_tls_open(ca, cert, key, 60, err, sizeof(err), &tls) != 0)
        die(err);
    return tls;
}

/* ---- the back end ----------------------------------------------------- */

typedef struct {
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_byte_buffer *request;
    int cancelled;
    int replied;
} back_call_t;

static grpc_slice read_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("cannot open the payload file");
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0)
        die("cannot read the payload file (empty, or over 64 KiB)");
    return grpc_slice_from_copied_buffer(buf, (size_t)n);
}

static void back_request(grpc_server *server, void *method, grpc_completion_queue *cq)
{
    back_call_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        die("out of memory");
    grpc_metadata_array_init(&c->metadata);
    if (grpc_server_request_registered_call(server, method, &c->call, &c->deadline, &c->metadata,
                                            &c->request, cq, cq, c) != GRPC_CALL_OK)
        die("cannot request a call");
}

_Noreturn static void back(char **argv)
{
    grpc_slice payload = read_file(argv[3]);
    bw_rpc_tls_t *tls = tls_open(argv[4], argv[5], argv[6]);
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}},
        {GRPC_ARG_STRING, GRPC_ARG_OPTIMIZATION_TARGET, {.string = "throughput"}},
    };
    grpc_channel_args set = {sizeof(args) / sizeof(args[0]), args};
    grpc_server *server = grpc_server_create(&set, NULL);
    void *method = grpc_server_register_method(server, METHOD, NULL,
                                               GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(server, cq, NULL);
    grpc_server_credentials *creds = bw_rpc_tls_server_creds(tls);
    if (grpc_server_add_http2_port(server, argv[2], creds) == 0)
        die("cannot listen on the back end's address");
    grpc_server_credentials_release(creds);
    grpc_server_start(server);
    for (int i = 0; i < PENDING_CALLS; i++)
        back_request(server, method, cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        back_call_t *c = ev.tag;
        if (!c->replied && ev.success) {
            back_request(server, method, cq);
            if (c->request != NULL)
                grpc_byte_buffer_destroy(c->request);
            grpc_byte_buffer *reply = grpc_raw_byte_buffer_create(&payload, 1);
            grpc_op ops[4];
            memset(ops, 0, sizeof(ops));
            ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
            ops[1].op = GRPC_OP_SEND_MESSAGE;
            ops[1].data.send_message.send_message = reply;
            ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
            ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
            ops[3].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
            ops[3].data.recv_close_on_server.cancelled = &c->cancelled;
            c->replied = 1;
            if (grpc_call_start_batch(c->call, ops, 4, c, NULL) != GRPC_CALL_OK)
                die("cannot reply");
            grpc_byte_buffer_destroy(reply);
            continue;
        }
        if (!c->replied)
            back_request(server, method, cq);
        if (c->call != NULL)
            grpc_call_unref(c->call);
        grpc_metadata_array_destroy(&c->metadata);
        free(c);
    }
}

/* ---- the front -------------------------------------------------------- */

typedef struct conn {
    int fd;
    struct event *ev;
    size_t len;      /* bytes in buf */
    size_t scanned;  /* of them searched for the head's end */
    size_t head_len; /* the request's head, once it is all in; else 0 */
    size_t body_len; /* its Content-Length */
    size_t out_done; /* of a reply the socket did not take at once */
    char *out;       /* that reply, head and body, or NULL */
    size_t out_len;
    char buf[REQUEST_MAX];
} conn_t;

typedef struct front_call {
    struct front_call *next;
    conn_t *conn;
    grpc_call *call;
    grpc_metadata_array initial, trailing;
    grpc_byte_buffer *reply;
    grpc_status_code status;
    grpc_slice details;
} front_call_t;

static struct event_base *base;
static grpc_channel *channel;
static grpc_completion_queue *front_cq;
static struct event *wake;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static front_call_t *done_head, *done_tail;

static void conn_close(conn_t *cn)
{
    event_free(cn->ev);
    close(cn->fd);
    free(cn->out);
    free(cn);
}

/* The poller: gRPC's queue has no descriptor, so a thread takes each
 * completion and wakes the loop once per batch, as the gateway's does. */
static void *poller(void *arg)
{
    (void)arg;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(front_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        front_call_t *c = ev.tag;
        c->next = NULL;
        pthread_mutex_lock(&done_lock);
        int was_empty = done_head == NULL;
        if (done_tail != NULL)
            done_tail->next = c;
        else
            done_head = c;
        done_tail = c;
        pthread_mutex_unlock(&done_lock);
        if (was_empty)
            event_active(wake, EV_READ, 0);
    }
    return NULL;
}

static void on_readable(evutil_socket_t fd, short what, void *arg);

/* Writes what is left of the connection's reply; 0 when it is all written,
 * 1 when the socket is full (the loop waits for it), -1 on an error. */
static int conn_flush(conn_t *cn)
{
    while (cn->out_done < cn->out_len) {
        ssize_t n = write(cn->fd, cn->out + cn->out_done, cn->out_len - cn->out_done);
        if (n < 0 && errno == EAGAIN)
            return 1;
        if (n <= 0)
            return -1;
        cn->out_done += (size_t)n;
    }
    free(cn->out);
    cn->out = NULL;
    return 0;
}

/* The request served and its reply written: the next one may already be
 * in the buffer. */
static void conn_next(conn_t *cn)
{
    size_t consumed = cn->head_len + cn->body_len;
    memmove(cn->buf, cn->buf + consumed, cn->len - consumed);
    cn->len -= consumed;
    cn->scanned = cn->head_len = cn->body_len = 0;
    event_assign(cn->ev, base, cn->fd, EV_READ | EV_PERSIST, on_readable, cn);
    event_add(cn->ev, NULL);
    if (cn->len > 0)
        on_readable(cn->fd, EV_READ, cn);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_t *cn = arg;
    int rc = conn_flush(cn);
    if (rc < 0) {
        conn_close(cn);
        return;
    }
    if (rc == 0) {
        event_del(cn->ev);
        conn_next(cn);
    }
}

static void reply(conn_t *cn, const char *body, size_t len, int code)
{
    char head[128];
    int h =
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 code, code == 200 ? "OK" : "Bad Gateway", len);
    struct iovec iov[2] = {{head, (size_t)h}, {(void *)body, len}};
    ssize_t n = writev(cn->fd, iov, 2);
    if (n < 0 && errno != EAGAIN) {
        conn_close(cn);
        return;
    }
    size_t total = (size_t)h + len, done = n > 0 ? (size_t)n : 0;
    if (done == total) {
        conn_next(cn);
        return;
    }
    /* The socket took part of it: keep the rest and wait until it takes more. */
    cn->out = malloc(total);
    if (cn->out == NULL) {
        conn_close(cn);
        return;
    }
    memcpy(cn->out, head, (size_t)h);
    memcpy(cn->out + h, body, len);
    cn->out_len = total;
    cn->out_done = done;
    event_assign(cn->ev, base, cn->fd, EV_WRITE | EV_PERSIST, on_writable, cn);
    event_add(cn->ev, NULL);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    pthread_mutex_lock(&done_lock);
    front_call_t *c = done_head;
    done_head = done_tail = NULL;
    pthread_mutex_unlock(&done_lock);
    while (c != NULL) {
        front_call_t *next = c->next;
        if (c->status == GRPC_STATUS_OK && c->reply != NULL) {
            grpc_byte_buffer_reader r;
            grpc_byte_buffer_reader_init(&r, c->reply);
            grpc_slice all = grpc_byte_buffer_reader_readall(&r);
            reply(c->conn, (const char *)GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), 200);
            grpc_slice_unref(all);
            grpc_byte_buffer_reader_destroy(&r);
        } else {
            reply(c->conn, "", 0, 502);
        }
        if (c->reply != NULL)
            grpc_byte_buffer_destroy(c->reply);
        grpc_metadata_array_destroy(&c->initial);
        grpc_metadata_array_destroy(&c->trailing);
        grpc_slice_unref(c->details);
        grpc_call_unref(c->call);
        free(c);
        c = next;
    }
}

/* One unary call carrying the request's body; the connection reads nothing
 * more until its reply is written. */
static void start_call(conn_t *cn)
{
    front_call_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        conn_close(cn);
        return;
    }
    c->conn = cn;
    event_del(cn->ev);
    grpc_metadata_array_init(&c->initial);
    grpc_metadata_array_init(&c->trailing);
    grpc_slice body = grpc_slice_from_copied_buffer(cn->buf + cn->head_len, cn->body_len);
    grpc_byte_buffer *request = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(10, GPR_TIMESPAN));
    c->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, front_cq,
                                       grpc_slice_from_static_string(METHOD), NULL, deadline, NULL);
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->reply;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing;
    ops[5].data.recv_status_on_client.status = &c->status;
    ops[5].data.recv_status_on_client.status_details = &c->details;
    if (grpc_call_start_batch(c->call, ops, 6, c, NULL) != GRPC_CALL_OK)
        die("cannot start a call");
    grpc_byte_buffer_destroy(request);
}

/* Finds the end of the head, searching only what arrived since the last
 * look, then its Content-Length (0 without one), once. Returns 0 when the
 * whole request is in the buffer, 1 when more is needed, -1 when it cannot
 * fit. */
static int request_complete(conn_t *cn)
{
    if (cn->head_len == 0) {
        size_t from = cn->scanned > 3 ? cn->scanned - 3 : 0;
        const char *end = memmem(cn->buf + from, cn->len - from, "\r\n\r\n", 4);
        cn->scanned = cn->len;
        if (end == NULL)
            return cn->len < sizeof(cn->buf) ? 1 : -1;
        cn->head_len = (size_t)(end - cn->buf) + 4;
        static const char name[] = "\r\nContent-Length:";
        for (const char *p = cn->buf; p + sizeof(name) - 1 <= end; p++) {
            if (p[0] == '\r' && strncasecmp(p, name, sizeof(name) - 1) == 0) {
                cn->body_len = strtoul(p + sizeof(name) - 1, NULL, 10);
                break;
            }
        }
        if (cn->body_len > sizeof(cn->buf) - cn->head_len)
            return -1;
    }
    return cn->len >= cn->head_len + cn->body_len ? 0 : 1;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    conn_t *cn = arg;
    int rc = request_complete(cn);
    if (rc == 1) {
        ssize_t n = read(fd, cn->buf + cn->len, sizeof(cn->buf) - cn->len);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            conn_close(cn);
            return;
        }
        cn->len += (size_t)n;
        rc = request_complete(cn);
    }
    if (rc < 0)
        conn_close(cn);
    else if (rc == 0)
        start_call(cn);
}

static void on_accept(evutil_socket_t listener, short what, void *arg)
{
    (void)what, (void)arg;
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_t *cn = calloc(1, sizeof(*cn));
        if (cn == NULL) {
            close(fd);
            continue;
        }
        cn->fd = fd;
        cn->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, cn);
        event_add(cn->ev, NULL);
    }
}

static int front(char **argv)
{
    evthread_use_pthreads();
    bw_rpc_tls_t *tls = tls_open(argv[4], argv[5], argv[6]);
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, GRPC_ARG_ENABLE_RETRIES, {.integer = 0}},
        {GRPC_ARG_STRING, GRPC_ARG_OPTIMIZATION_TARGET, {.string = "throughput"}},
        {GRPC_ARG_STRING, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, {.string = argv[7]}},
    };
    grpc_channel_args set = {sizeof(args) / sizeof(args[0]), args};
    grpc_channel_credentials *creds = bw_rpc_tls_channel_creds(tls);
    channel = grpc_channel_create(argv[3], creds, &set);
    grpc_channel_credentials_release(creds);
    front_cq = grpc_completion_queue_create_for_next(NULL);
    base = event_base_new();
    wake = event_new(base, -1, 0, on_done, NULL);
    pthread_t thread;
    if (base == NULL || wake == NULL || pthread_create(&thread, NULL, poller, NULL) != 0)
        die("cannot start the event loop");

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)atoi(argv[2])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listener, 1024) != 0)
        die("cannot listen on the HTTP port");
    struct event *accepting = event_new(base, listener, EV_READ | EV_PERSIST, on_accept, NULL);
    event_add(accepting, NULL);
    event_base_dispatch(base);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "back") == 0)
        back(argv);
    if (argc == 8 && strcmp(argv[1], "front") == 0)
        return front(argv);
    fprintf(stderr, "usage: bulwark-floor back ADDR PAYLOAD-FILE CA CERT KEY\n"
                    "       bulwark-floor front HTTP-PORT BACK-ADDR CA CERT KEY PEER-NAME\n");
    return 2;
}
