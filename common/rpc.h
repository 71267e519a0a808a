/*
 * gRPC on the gRPC core C API: a server runtime for the services and an
 * asynchronous client for the gateway (plus a blocking one for workers and
 * tools). This header, rpc_server.c and rpc_client.c are the only places
 * that include <grpc/grpc.h>.
 *
 * Server: methods are registered up front (grpc_server_register_method); N
 * worker threads share one completion queue and each owns whatever
 * worker_init gives it (a database connection); a call is read, handled and
 * answered on one worker (the next free one), with one arena per call. Calls
 * of methods that name their first read (bw_rpc_ahead_func_t) that are
 * already waiting when a worker takes one are taken with it, up to
 * BW_RPC_BATCH_MAX, so that opts.ahead can run their reads in one round
 * trip before their handlers run one by one. A
 * failed call carries its reason and field violations in the trailing
 * metadata "bulwark-error-bin" (a serialized bulwark.rpc.v1.ErrorDetail).
 * Every server also answers /grpc.health.v1.Health/Check. Shutdown stops
 * accepting, lets calls in flight finish within a grace period, cancels the
 * rest (their clients see UNAVAILABLE), waits for their handlers to return
 * and drains the completion queue before destroying it.
 *
 * Client: the completion queue has no file descriptor, so one poller thread
 * waits on it and hands each finished call to the libevent loop that started
 * it. The application must call evthread_use_pthreads() before it creates that
 * event_base, because the poller activates an event on it from another thread.
 * The done callback runs on that loop's thread, never on the poller. While
 * calls are in flight the client keeps an event pending on the loop, so
 * event_base_dispatch() does not return under them.
 */
#ifndef BW_RPC_H
#define BW_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"

struct event_base;

/* ---- mutual TLS ---------------------------------------------------------- */

/*
 * Every internal channel is mutual TLS: each process has a certificate from
 * the deployment's private CA, whose common name is its identity (the process
 * name: "gateway", "scoping", ...). A server accepts only peers with such a
 * certificate and lets each identity call only the methods its table allows
 * (bw_rpc_peer_t); a client checks that the server's certificate names the
 * process it meant to reach.
 */
typedef struct bw_rpc_tls bw_rpc_tls_t;

/* Loads the CA bundle, this process's certificate (chain) and its private key
 * (PEM files), and checks that they belong together: the key matches, the CA
 * signed the certificate, which is valid now and has a common name. The files
 * are re-read every refresh_sec seconds: a rotated certificate, key or CA
 * serves new connections without a restart, and open connections carry on.
 * BW_EINVAL with the reason in err. Caller owns *out; it must outlive every
 * server and client made with it. */
int bw_rpc_tls_open(const char *ca_file, const char *cert_file, const char *key_file,
                    unsigned refresh_sec, char *err, size_t errlen, bw_rpc_tls_t **out);
/* Accepts NULL. */
void bw_rpc_tls_close(bw_rpc_tls_t *tls);
/* The common name of this process's certificate (borrowed). */
const char *bw_rpc_tls_identity(const bw_rpc_tls_t *tls);

/* ---- server ------------------------------------------------------------ */

typedef struct bw_rpc_server bw_rpc_server_t;
typedef struct bw_rpc_client bw_rpc_client_t;

/* One field violation of a failed call. Strings live in the call's arena. */
typedef struct bw_rpc_violation {
    const char *field; /* JSON path as the client wrote it: "timeZone" */
    const char *message;
} bw_rpc_violation_t;

#define BW_RPC_MAX_VIOLATIONS 32

/* The largest message a server takes and a client channel receives: 16
 * MiB, both ways alike. Above the gateway's largest body
 * (BULWARK_MAX_BODY_BYTES, at most 15 MiB), so a CSV import travels in one
 * message; and a reply may be as large (under gRPC's default receive limit
 * of 4 MiB, an entity's attestation export could grow past what the
 * gateway took, RESOURCE_EXHAUSTED for good). */
#define BW_RPC_MAX_MESSAGE (16 * 1024 * 1024)

/* The context of one call, valid until the handler returns. */
typedef struct bw_call {
    bw_arena_t *arena;           /* per call; freed after the reply is sent */
    bw_log_ctx_t log;            /* request id and tenant, for bw_log */
    const char *tenant_id;       /* metadata x-tenant-id, or NULL */
    const char *principal;       /* x-principal, or NULL */
    const char *roles;           /* x-roles, comma separated, or NULL */
    const char *request_id;      /* x-request-id, or NULL */
    const char *idempotency_key; /* idempotency-key, or NULL */
    const char *board_member;    /* x-board-member (whom a board_member key signs as), or NULL */
    const char *if_match;        /* if-match: the etag a write expects ("*" any), or NULL */
    const char *peer;            /* the caller's identity (its certificate's common name) */
    /* traceparent: the caller's trace, or one started here when the caller
     * sent none or a malformed one; trace.parent_id is the caller's span. */
    bw_trace_t trace;
    const char *origin; /* x-bulwark-origin as accepted: see bw_call_origin, or NULL */
    void *service_data; /* bw_rpc_server_opts_t.service_data (borrowed) */
    void *worker_data;  /* what worker_init returned for this thread (borrowed) */
    struct bw_call_hook *after_commit; /* see bw_request_after_commit (request.h) */
    struct bw_db_ahead *ahead; /* the call's first read, run ahead (bw_rpc_server_opts_t.ahead) */

    /* Failure detail, set through bw_call_fail / bw_call_violation. */
    int retry_after_sec; /* with BW_ELIMIT: when to try again (0: not said) */
    const char *reason;
    const char *detail;
    bw_rpc_violation_t violations[BW_RPC_MAX_VIOLATIONS];
    size_t n_violations;
} bw_call_t;

/*
 * A handler returns 0 and sets *response to a message allocated on
 * call->arena (or static), or returns a negative BW_E* code, usually through
 * bw_call_fail / bw_call_violation. The request is borrowed.
 */
typedef int bw_rpc_handler_func_t(bw_call_t *call, const ProtobufCMessage *request,
                                  ProtobufCMessage **response);
typedef bw_rpc_handler_func_t *bw_rpc_handler_fn;
/* A service's header declares its handlers by name with the function type,
 *     bw_rpc_handler_func_t bw_entities_create, bw_entities_get;
 * each definition spells the signature out, and the compiler holds it to
 * this one. */

/* bw_rpc_method_t.flags */
enum {
    /* The method changes state: the service runs it in one transaction with
     * its audit row and, given an Idempotency-Key, its stored reply. */
    BW_RPC_WRITE = 1 << 0,
    /* The reply holds a secret shown only once (an API key's token, a
     * webhook's signing secret): its idempotency record keeps no reply, and
     * a replay of the same request answers 409 SECRET_SHOWN_ONCE instead of
     * handing the secret out again. Only meaningful with BW_RPC_WRITE. */
    BW_RPC_SECRET_REPLY = 1 << 1,
    /* Only a peer that names the method may call it: a peer allowed every
     * method (the gateway) is not. For internal methods that one other
     * service makes (incidents' SetExternalRef, for integrations). */
    BW_RPC_NAMED_PEERS = 1 << 2,
};

struct bw_db_ahead;
/* For a read whose handler starts with one statement (bw_db_exec1): fills
 * out with that statement, its tenant and values, as the handler will run
 * it, and returns 1; 0 when the handler will not (a malformed id). Runs
 * before the handler, on the same call; it must not fail the call. */
typedef int bw_rpc_ahead_func_t(const bw_call_t *call, const ProtobufCMessage *request,
                                struct bw_db_ahead *out);

typedef struct bw_rpc_method {
    const char *path; /* "/bulwark.scoping.v1.ScopingService/GetEntity" */
    const ProtobufCMessageDescriptor *request;
    const ProtobufCMessageDescriptor *response;
    bw_rpc_handler_fn handler;
    unsigned flags;             /* BW_RPC_* */
    bw_rpc_ahead_func_t *ahead; /* optional: the handler's first read */
} bw_rpc_method_t;

/* What serves one RPC of a contract: the method's name as in the .proto
 * ("GetEntity"), its handler and flags. The path and the request and reply
 * types come from the contract (bw_rpc_methods_bind). */
typedef struct bw_rpc_handler {
    const char *method;
    bw_rpc_handler_fn fn;
    unsigned flags;             /* BW_RPC_* */
    bw_rpc_ahead_func_t *ahead; /* optional: see bw_rpc_ahead_func_t */
} bw_rpc_handler_t;

/* The method table of a service from its contract (protoc-c's service
 * descriptor, e.g. &bulwark__scoping__v1__scoping_service__descriptor) and
 * its handlers: each method's path is "/<package>.<Service>/<Method>" and its
 * types are the contract's, so nothing is paired by hand. Every handler must
 * name a method of the contract, once, and every method must have a handler;
 * otherwise BW_EINVAL with err saying which. On success *out (n entries, the
 * handlers' order) is one malloc'ed block the caller frees with free(). */
int bw_rpc_methods_bind(const ProtobufCServiceDescriptor *contract,
                        const bw_rpc_handler_t *handlers, size_t n, bw_rpc_method_t **out,
                        char *err, size_t errlen);

/* Who may call what. A peer is known by its certificate's common name; it
 * may call the methods listed, or every method when methods is NULL (but
 * those flagged BW_RPC_NAMED_PEERS). The
 * health check is open to every peer with a certificate from the CA. Any
 * other call is answered UNAUTHENTICATED before its metadata is read or its
 * handler runs. */
typedef struct bw_rpc_peer {
    const char *identity;       /* "gateway" */
    const char *const *methods; /* NULL-terminated method paths, or NULL for all */
} bw_rpc_peer_t;

typedef struct bw_rpc_server_opts {
    const char *name;           /* for log lines: "scoping" */
    const char *addr;           /* listen address "127.0.0.1:50051" */
    const bw_rpc_tls_t *tls;    /* required: the server's certificate and CA (borrowed) */
    const bw_rpc_peer_t *peers; /* who may call what (copied; strings borrowed) */
    size_t n_peers;
    const bw_rpc_method_t *methods;
    size_t n_methods;
    int workers;        /* worker threads, >= 1 */
    size_t max_message; /* max request size in bytes; 0 means BW_RPC_MAX_MESSAGE */
    void *service_data;
    /* Optional: runs on each worker thread before it serves; sets *worker_data.
     * A non-zero return stops the server from starting. */
    int (*worker_init)(void *service_data, void **worker_data);
    /* Optional: runs on each worker thread when it stops. */
    void (*worker_fini)(void *service_data, void *worker_data);
    /* Optional: answers the health check on a worker; 0 means SERVING. */
    int (*health)(void *service_data, void *worker_data);
    /* Optional: runs each call in place of the method's handler, and calls
     * the handler itself (the services wrap writes in their transaction,
     * audit row and idempotency record this way). Same contract as a
     * handler. */
    int (*intercept)(bw_call_t *call, const bw_rpc_method_t *method,
                     const ProtobufCMessage *request, ProtobufCMessage **response);
    /* Optional: an asynchronous client of this process whose poller thread
     * also does this server's network I/O; the workers then only take calls
     * from their queue and never take a turn at polling. Without it, every
     * idle worker of a process that also has a client's poller joins the
     * turns, and a reply read on a worker is handed to the poller (two
     * wake-ups more per call). The client must outlive the server. */
    bw_rpc_client_t *io_client;
    /* Optional: given the calls a worker took from the queue together (at
     * most BW_RPC_BATCH_MAX, each of a method with an ahead function and
     * each past its peer's check, before any of their handlers runs), runs
     * their first reads in one go and sets each call's ahead. The calls
     * are then handled one by one, in the order they came. */
    void (*ahead)(void *worker_data, bw_call_t *const *calls, const bw_rpc_method_t *const *methods,
                  const ProtobufCMessage *const *requests, int n);
} bw_rpc_server_opts_t;

/* The most calls a worker takes from its queue at once for opts.ahead. */
#define BW_RPC_BATCH_MAX 32

/* Binds, starts the workers and returns the server (caller owns; release
 * with bw_rpc_server_stop). opts and its methods and peers arrays are copied;
 * method paths, descriptors, identities and service_data are borrowed.
 * BW_EINVAL on bad options (no TLS, a peer naming an unknown method, a write
 * method with an ahead function), a bad address or a port in use; BW_EUNAVAIL when a worker_init
 * fails (the workers whose worker_init succeeded get their worker_fini). */
int bw_rpc_server_start(const bw_rpc_server_opts_t *opts, bw_rpc_server_t **out);
/* Graceful stop: no new calls, calls in flight get grace_ms to finish, then
 * are cancelled (clients see UNAVAILABLE) while their handlers run to their
 * end; queue drained, workers joined, everything freed. Accepts NULL. */
void bw_rpc_server_stop(bw_rpc_server_t *server, int grace_ms);
/* The port the server listens on: the one chosen by the system when opts->addr
 * ended in ":0" (tests). */
int bw_rpc_server_port(const bw_rpc_server_t *server);
/* Renders the server's per-method metrics: bulwark_grpc_server_calls_total
 * by method and status code, bulwark_grpc_server_call_duration_seconds by
 * method (health checks not counted). Safe from any thread while the
 * server runs. */
void bw_rpc_server_metrics(const bw_rpc_server_t *server, bw_metrics_text_t *text);
/* The traceparent to send on a call made while serving call: the call's
 * trace, with a new span as the parent, into buf (BW_TRACEPARENT_LEN + 1). */
int bw_call_traceparent(const bw_call_t *call, char *buf);

/* Records a failure: err is a BW_E* code, reason an UPPER_SNAKE string (NULL
 * for the code's default) and detail a message in PostgreSQL style. Returns err
 * so that a handler can write `return bw_call_fail(...)`. */
int bw_call_fail(bw_call_t *call, int err, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a field violation; sets the reason to VALIDATION_FAILED and the detail
 * to the first message if none is set. Returns BW_EINVAL. */
int bw_call_violation(bw_call_t *call, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether call->roles contains role. */
int bw_call_has_role(const bw_call_t *call, const char *role);

/*
 * Where the change a call makes came from, when not from Bulwark's own API:
 * the metadata x-bulwark-origin ("jira:<connection uuid>"), which the
 * producers of events pass on as the outbox event's origin (outbox.h), so
 * that the change is not sent back where it came from. Only the peer
 * BW_RPC_ORIGIN_PEER may declare one: from any other peer (the gateway
 * included, which never forwards it) the metadata is ignored, and from that
 * peer a value that is not "<system>:<uuid>" (system in lower-case letters,
 * at most 32 of them) fails the call before its handler runs
 * (INVALID_ARGUMENT, reason INVALID_ORIGIN). "" when none (never NULL).
 */
const char *bw_call_origin(const bw_call_t *call);
/* The one identity whose x-bulwark-origin is trusted. */
#define BW_RPC_ORIGIN_PEER "integrations"
#define BW_RPC_ORIGIN_MD "x-bulwark-origin"

/* ---- client ------------------------------------------------------------ */

typedef struct bw_rpc_channel bw_rpc_channel_t;

typedef struct bw_rpc_md {
    const char *key; /* lower-case */
    const char *value;
} bw_rpc_md_t;

/* The outcome of a call; everything in it is borrowed for the duration of the
 * done callback. */
typedef struct bw_rpc_reply {
    int status;             /* gRPC status code, 0 on success */
    const char *message;    /* status message ("" when none) */
    const uint8_t *payload; /* serialized response on success */
    size_t payload_len;
    const char *reason; /* from bulwark-error-bin, or NULL */
    const bw_rpc_violation_t *violations;
    size_t n_violations;
    int retry_after_sec; /* from bulwark-error-bin: the service's limit, or 0 */
} bw_rpc_reply_t;

typedef void (*bw_rpc_done_fn)(void *arg, const bw_rpc_reply_t *reply);

/* Creates a client whose completions are delivered on base's loop (caller
 * owns; release with bw_rpc_client_destroy). Starts the poller thread. Its
 * channels present tls's certificate (borrowed; must outlive the client). */
int bw_rpc_client_create(struct event_base *base, const bw_rpc_tls_t *tls, bw_rpc_client_t **out);
/* A channel to "host:port", owned by the client, that accepts only a server
 * whose certificate names peer (its process name, e.g. "scoping"). */
int bw_rpc_client_channel(bw_rpc_client_t *client, const char *target, const char *peer,
                          bw_rpc_channel_t **out);
/* Starts a unary call. request and md are copied; method is not, and must
 * outlive the channel (a string literal): gRPC keeps it as a static slice,
 * which its header compressor compares on later calls. timeout_ms <= 0 means no
 * deadline. done(arg, reply) runs exactly once on the loop thread; not at all
 * when this returns an error (BW_EINVAL for an illegal or upper-case metadata
 * key). */
int bw_rpc_call(bw_rpc_channel_t *channel, const char *method, const uint8_t *request,
                size_t request_len, const bw_rpc_md_t *md, size_t n_md, int timeout_ms,
                bw_rpc_done_fn done, void *arg);
/* Cancels calls in flight (their done runs, with CANCELLED, on the calling
 * thread), drains the queue, joins the poller, frees channels. Call it after
 * the loop has stopped. Accepts NULL. */
void bw_rpc_client_destroy(bw_rpc_client_t *client);

/* ---- blocking client (worker threads, tools, tests) -------------------- */

typedef struct bw_rpc_sync bw_rpc_sync_t;

/* A channel for blocking calls to target, accepting only a server whose
 * certificate names peer (caller owns; close with bw_rpc_sync_close; tls is
 * borrowed and must outlive it). */
int bw_rpc_sync_open(const bw_rpc_tls_t *tls, const char *target, const char *peer,
                     bw_rpc_sync_t **out);
void bw_rpc_sync_close(bw_rpc_sync_t *sync);
/* Performs a unary call and waits (timeout_ms and method as for bw_rpc_call). reply's
 * strings and payload live in arena (borrowed: caller owns the arena).
 * Returns 0 when the call completed (look at reply->status), BW_E* otherwise. */
int bw_rpc_sync_call(bw_rpc_sync_t *sync, bw_arena_t *arena, const char *method,
                     const uint8_t *request, size_t request_len, const bw_rpc_md_t *md, size_t n_md,
                     int timeout_ms, bw_rpc_reply_t *reply);

/* Blocking channels to one peer for worker threads: a blocking channel
 * plucks its own completion queue, so it serves one thread at a time; a call
 * borrows an idle channel (or opens one) and gives it back, and at most size
 * idle channels are kept. */
typedef struct bw_rpc_pool bw_rpc_pool_t;
/* target copied; tls borrowed (must outlive the pool). BW_EINVAL, BW_ENOMEM. */
int bw_rpc_pool_open(const bw_rpc_tls_t *tls, const char *target, const char *peer, int size,
                     bw_rpc_pool_t **out);
void bw_rpc_pool_close(bw_rpc_pool_t *pool);
/* bw_rpc_sync_call on a channel of the pool; also the error of opening one. */
int bw_rpc_pool_call(bw_rpc_pool_t *pool, bw_arena_t *arena, const char *method,
                     const uint8_t *request, size_t request_len, const bw_rpc_md_t *md, size_t n_md,
                     int timeout_ms, bw_rpc_reply_t *reply);

#endif
