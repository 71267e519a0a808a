/*
 * Histograms, exposition text and the /metrics listener; see metrics.h.
 * The listener is deliberately small: scrapers send one short GET every few
 * seconds, so one thread that serves one connection at a time, with a read
 * and a write timeout, is enough, and a slow client holds nothing but the
 * next scrape.
 */
#include "metrics.h"

#include "config.h"
#include "log.h"
#include "status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define METRICS_REQUEST_MAX 4096
#define METRICS_IO_TIMEOUT_SEC 2
#define METRICS_TEXT_INITIAL 16384
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

const double bw_metrics_buckets[BW_METRICS_N_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

void bw_metrics_hist_observe(bw_metrics_hist_t *h, double seconds)
{
    size_t i = 0;
    while (i < BW_METRICS_N_BUCKETS && seconds > bw_metrics_buckets[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    unsigned long long us = seconds > 0 ? (unsigned long long)(seconds * 1e6 + 0.5) : 0;
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

unsigned long long bw_metrics_hist_count(const bw_metrics_hist_t *h)
{
    unsigned long long n = 0;
    for (size_t i = 0; i <= BW_METRICS_N_BUCKETS; i++)
        n += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
    return n;
}

/* ---- text ----------------------------------------------------------------- */

void bw_metrics_text_init(bw_metrics_text_t *t)
{
    t->buf = malloc(METRICS_TEXT_INITIAL);
    t->len = 0;
    t->cap = t->buf != NULL ? METRICS_TEXT_INITIAL : 0;
    t->failed = t->buf == NULL;
}

void bw_metrics_printf(bw_metrics_text_t *t, const char *fmt, ...)
{
    while (!t->failed) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

void bw_metrics_family(bw_metrics_text_t *t, const char *name, const char *type, const char *help)
{
    bw_metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void bw_metrics_put_hist(bw_metrics_text_t *t, const char *name, const char *labels,
                         const bw_metrics_hist_t *h)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    unsigned long long cumulative = 0;
    for (size_t i = 0; i < BW_METRICS_N_BUCKETS; i++) {
        cumulative += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        bw_metrics_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                          bw_metrics_buckets[i], cumulative);
    }
    cumulative += atomic_load_explicit(&h->bucket[BW_METRICS_N_BUCKETS], memory_order_relaxed);
    bw_metrics_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cumulative);
    unsigned long long sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
    const char *open = labels[0] != '\0' ? "{" : "", *close = labels[0] != '\0' ? "}" : "";
    bw_metrics_printf(t, "%s_sum%s%s%s %llu.%06llu\n", name, open, labels, close, sum_us / 1000000,
                      sum_us % 1000000);
    bw_metrics_printf(t, "%s_count%s%s%s %llu\n", name, open, labels, close, cumulative);
}

char *bw_metrics_text_finish(bw_metrics_text_t *t, size_t *len)
{
    if (t->failed) {
        free(t->buf);
        t->buf = NULL;
        return NULL;
    }
    *len = t->len;
    char *out = t->buf;
    t->buf = NULL;
    return out;
}

/* ---- the listener ------------------------------------------------------- */

struct bw_metrics_server {
    int fd;
    int wake[2]; /* written to on stop */
    int port;
    pthread_t thread;
    bw_metrics_render_fn render;
    void *arg;
};

static void answer(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    bw_write_all(fd, head, (size_t)n);
    bw_write_all(fd, body, len);
}

/* Reads the request head and answers it. */
static void serve_one(bw_metrics_server_t *s, int fd)
{
    char req[METRICS_REQUEST_MAX + 1];
    size_t got = 0;
    while (got < METRICS_REQUEST_MAX) {
        ssize_t r = read(fd, req + got, METRICS_REQUEST_MAX - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    if (got == 0)
        return;
    req[got] = '\0';
    const char *target = strchr(req, ' ');
    if (target == NULL) {
        answer(fd, "400 Bad Request", "text/plain", "bad request\n", 12);
        return;
    }
    target++;
    size_t path_len = strcspn(target, " ?\r\n");
    int is_get = strncmp(req, "GET ", 4) == 0 || strncmp(req, "HEAD ", 5) == 0;
    if (path_len != 8 || strncmp(target, "/metrics", 8) != 0) {
        answer(fd, "404 Not Found", "text/plain", "not found\n", 10);
        return;
    }
    if (!is_get) {
        answer(fd, "405 Method Not Allowed", "text/plain", "use GET\n", 8);
        return;
    }
    bw_metrics_text_t t;
    bw_metrics_text_init(&t);
    s->render(s->arg, &t);
    size_t len = 0;
    char *body = bw_metrics_text_finish(&t, &len);
    if (body == NULL) {
        answer(fd, "503 Service Unavailable", "text/plain", "out of memory\n", 14);
        return;
    }
    answer(fd, "200 OK", METRICS_CONTENT_TYPE, body, strncmp(req, "HEAD ", 5) == 0 ? 0 : len);
    free(body);
}

static void *serve_main(void *arg)
{
    bw_metrics_server_t *s = arg;
    struct pollfd fds[2] = {{s->fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents != 0)
            break;
        if ((fds[0].revents & POLLIN) == 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {METRICS_IO_TIMEOUT_SEC, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

static int listen_on(const char *addr, int *port_out)
{
    char host[256], port_text[16];
    int port;
    if (bw_config_split_addr(addr, host, sizeof(host), &port) != 0)
        return -1;
    snprintf(port_text, sizeof(port_text), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host[0] != '\0' ? host : NULL, port_text, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    *port_out = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int bw_metrics_server_start(const char *addr, bw_metrics_render_fn render, void *arg,
                            bw_metrics_server_t **out)
{
    bw_metrics_server_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BW_ENOMEM;
    s->render = render;
    s->arg = arg;
    s->fd = listen_on(addr, &s->port);
    if (s->fd < 0) {
        free(s);
        return BW_EINVAL;
    }
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        close(s->fd);
        free(s);
        return BW_ENOMEM;
    }
    if (pthread_create(&s->thread, NULL, serve_main, s) != 0) {
        close(s->fd);
        close(s->wake[0]);
        close(s->wake[1]);
        free(s);
        return BW_ENOMEM;
    }
    *out = s;
    return 0;
}

int bw_metrics_server_port(const bw_metrics_server_t *server)
{
    return server != NULL ? server->port : 0;
}

void bw_metrics_server_stop(bw_metrics_server_t *s)
{
    if (s == NULL)
        return;
    char byte = 1;
    ssize_t w = write(s->wake[1], &byte, 1);
    (void)w;
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s);
}

int bw_metrics_default_addr(const char *grpc_addr, char *buf, size_t len)
{
    char host[256];
    int port;
    if (bw_config_split_addr(grpc_addr, host, sizeof(host), &port) != 0 || port + 1000 > 65535)
        return BW_EINVAL;
    snprintf(buf, len, "127.0.0.1:%d", port + 1000);
    return 0;
}
