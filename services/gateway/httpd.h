/*
 * The gateway's HTTP/1.1 server on libevent: connections, deadlines and
 * replies, over the parser of httpparse.h. It replaces evhttp, which cannot
 * refuse a body by its Content-Length, cap connections, or bound the time a
 * client takes to send a request (its timeouts restart with every byte).
 *
 * What it guarantees a client cannot do:
 *   - send a body over max_body: refused by its Content-Length before a byte
 *     of it is read, or while a chunked body is decoded (413);
 *   - hold a connection by trickling bytes: a request head must arrive
 *     within header_timeout_ms of its first byte and a body within
 *     body_timeout_ms of the head (408, then close); a reply that cannot be
 *     written within write_timeout_ms ends the connection;
 *   - starve others with idle connections: at max_connections the idle
 *     connection that has waited longest is closed to admit a new one, and
 *     only when none is idle is the newcomer refused (503);
 *   - get an answer that is not problem+json: every error the server itself
 *     answers (400, 408, 413, 414, 417, 431, 501, 503, 505) is one, and the
 *     connection is closed after it, lingering so that the reply is read.
 *
 * Requests on a connection are handled one at a time, so pipelined requests
 * are answered in order. In steady state a request costs one read and one
 * write system call: the read event stays armed, replies are written at
 * once, and a write event is armed only when the socket would block.
 * Buffers and arenas are pooled across requests.
 *
 * Single-threaded: every function runs on the loop thread of the base.
 */
#ifndef BW_GW_HTTPD_H
#define BW_GW_HTTPD_H

#include <stddef.h>
#include <sys/socket.h>

#include "arena.h"
#include "gw_metrics.h"
#include "httpparse.h"

struct event_base;
typedef struct bw_httpd bw_httpd_t;
typedef struct bw_httpd_conn bw_httpd_conn_t;

/* One request, from its dispatch to the handler until bw_httpd_respond.
 * The handler reads the public members; every pointer in them is borrowed
 * and valid until it responds. */
typedef struct bw_httpd_req {
    int method;              /* BW_HTTPPARSE_*; never OTHER */
    const char *method_name; /* as sent */
    const char *path;        /* raw (percent-encoded) path, without the query */
    const char *query;       /* after '?', NULL when none */
    const bw_httpparse_field_t *fields;
    size_t n_fields;
    const char *body; /* the whole body (chunked coding removed); "" when none */
    size_t body_len;
    bw_arena_t *arena;           /* for the handler's allocations, freed after the reply */
    const struct sockaddr *peer; /* the client's address */

    /* private */
    bw_httpd_conn_t *conn;
    char *headers; /* reply header lines added so far, on the arena */
    size_t headers_len, headers_cap;
} bw_httpd_req_t;

/* Called once per request; the handler answers with bw_httpd_respond, at
 * once or later from any callback on the same loop. */
typedef void (*bw_httpd_handler_fn)(bw_httpd_req_t *req, void *arg);

typedef struct bw_httpd_opts {
    bw_httpd_handler_fn handler;
    void *handler_arg;
    size_t max_body;
    long max_connections;
    long max_per_address;     /* connections one client address (peers.h) may hold; 0: any */
    long header_timeout_ms;   /* a request head, from its first byte */
    long body_timeout_ms;     /* a request body, from the end of its head */
    long idle_timeout_ms;     /* between requests on a kept-alive connection */
    long write_timeout_ms;    /* a reply, from when the socket first would block */
    bw_gw_metrics_t *metrics; /* borrowed: counts connections and its own replies; may be NULL */
} bw_httpd_opts_t;

/* A server on base (caller owns; free with bw_httpd_free). opts is copied.
 * Raises the process's soft limit on open files to fit max_connections
 * when the hard limit allows, and otherwise lowers the cap (with a log
 * line). 0, BW_EINVAL or BW_ENOMEM. */
int bw_httpd_create(struct event_base *base, const bw_httpd_opts_t *opts, bw_httpd_t **out);
/* Listens on host:port (a numeric address or a name). 0 or BW_EINVAL. */
int bw_httpd_listen(bw_httpd_t *httpd, const char *host, int port);
/* Graceful stop: no new connections, idle ones closed after half a second
 * (a request that arrives meanwhile is answered), the others closed after
 * the reply to their current request. done(arg) runs once the last
 * connection has gone. */
void bw_httpd_drain(bw_httpd_t *httpd, void (*done)(void *arg), void *arg);
/* Closes everything and frees the server. No request may be with the
 * handler any more (the gateway answers them all first). Accepts NULL. */
void bw_httpd_free(bw_httpd_t *httpd);
/* Open client connections. */
size_t bw_httpd_connections(const bw_httpd_t *httpd);

/* Adds a reply header; name must be a token and value free of CR, LF and
 * other controls (BW_EINVAL otherwise, and nothing is added). Copied. */
int bw_httpd_add_header(bw_httpd_req_t *req, const char *name, const char *value);
/* Sends the reply and ends the request: req and everything on its arena
 * are gone when it returns. body (may be NULL) is copied when it cannot be
 * written at once; HEAD requests get the headers only. content_type NULL
 * means no Content-Type. */
void bw_httpd_respond(bw_httpd_req_t *req, int status, const char *content_type, const char *body,
                      size_t len);
/* The first request header called name, case-insensitive, or NULL. */
const char *bw_httpd_header(const bw_httpd_req_t *req, const char *name);

#endif
