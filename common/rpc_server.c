/*
 * The gRPC server runtime on the core C API; see rpc.h. Every method is
 * registered before the server starts. The worker threads share one completion
 * queue, on which the server keeps one requested call per method and worker
 * (plus as many for unregistered methods, answered UNIMPLEMENTED); whichever
 * worker is free takes the next event. A method with an ahead function has
 * BW_RPC_BATCH_MAX requested calls per worker, so that a burst of its calls
 * waits in the queue to be taken together (worker_serve). (One queue per
 * worker would pin every call of a connection to the worker that accepted
 * it: gRPC hands a new call to the first queue with a request outstanding,
 * starting from the connection's own, so a busy worker would keep receiving
 * calls while others idle.) A slot is the tag of every event about its call:
 * requested, then answering, then freed when the one batch that answers the
 * call completes, so a worker never blocks on its own batch. Shutdown counts
 * the calls that workers have accepted so that no batch is started on the
 * queue after it was shut down. In a process whose asynchronous client
 * already polls (the gateway), the workers' queue does not poll: the
 * client's poller thread does the server's network I/O as well
 * (opts.io_client).
 */
#include "rpc.h"
#include "rpc_internal.h"
#include "status.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "bulwark/rpc/v1/error.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#define RPC_HEALTH_PATH "/grpc.health.v1.Health/Check"
#define RPC_HEALTH_SERVICE "grpc.health.v1.Health"
#define RPC_ERROR_MD_KEY "bulwark-error-bin"
#define RPC_CALL_ARENA_SIZE 4096
/* Method index of calls to methods nobody registered. */
#define RPC_UNREGISTERED (-1)
/* Connections are closed gracefully after this long (calls in flight get the
 * grace period), so that a rotated certificate reaches every connection and
 * clients spread over new replicas. */
#define RPC_MAX_CONNECTION_AGE_MS (30 * 60 * 1000)
#define RPC_MAX_CONNECTION_AGE_GRACE_MS (5 * 60 * 1000)

typedef struct rpc_worker rpc_worker_t;

/* What the server counts per method: calls by status code (0-16) and their
 * latency. Atomics: every worker updates them, a scrape reads them. */
typedef struct rpc_method_metrics {
    atomic_ullong by_code[17];
    bw_metrics_hist_t latency;
} rpc_method_metrics_t;

enum slot_state { SLOT_REQUESTED, SLOT_ANSWERING };

/* One call from the moment it is requested until its answer is sent. */
typedef struct rpc_slot {
    bw_rpc_server_t *server;
    int method; /* index in server->methods, n_methods for health, or RPC_UNREGISTERED */
    enum slot_state state;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md_in;
    grpc_call_details details; /* unregistered calls only */
    grpc_byte_buffer *payload_in;
    grpc_byte_buffer *payload_out;
    grpc_metadata trailer;
    int retry_after_sec; /* of a failed call: bw_call_t.retry_after_sec */
    size_t n_trailer;
    grpc_slice status_text;
    int has_status_text;
    int cancelled; /* the client went away before the answer (RECV_CLOSE_ON_SERVER) */
    bw_arena_t *arena;
} rpc_slot_t;

struct rpc_worker {
    bw_rpc_server_t *server;
    pthread_t thread;
    int thread_started;
    int init_rc;
    void *data;
};

struct bw_rpc_server {
    bw_rpc_server_opts_t opts;
    bw_rpc_method_t *methods;      /* copy of opts.methods */
    bw_rpc_peer_t *peers;          /* copy of opts.peers */
    unsigned char *allows;         /* allows[p * n_methods + m]: peer p may call method m */
    void **handles;                /* grpc registered methods; the last one is health */
    rpc_method_metrics_t *metrics; /* one per method */
    grpc_server *server;
    grpc_completion_queue *cq; /* shared by the workers */
    rpc_worker_t *workers;
    int n_workers;
    int port;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n_initialised; /* workers whose worker_init returned */
    int released;      /* workers may start serving */
    int stopping;      /* no more requested calls */
    int shutdown_done; /* the server's shutdown tag arrived */
    int queue_shut;    /* the completion queue is shut down: start nothing on it */
    size_t in_flight;  /* calls accepted and not yet freed */
    char shutdown_tag; /* its address is the tag */
};

/* ---- call context helpers ----------------------------------------------- */

int bw_call_fail(bw_call_t *call, int err, const char *reason, const char *fmt, ...)
{
    if (reason != NULL)
        call->reason = bw_arena_strdup(call->arena, reason);
    if (fmt != NULL) {
        char text[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        call->detail = bw_arena_strdup(call->arena, text);
    }
    return err;
}

int bw_call_violation(bw_call_t *call, const char *field, const char *fmt, ...)
{
    if (call->reason == NULL)
        call->reason = "VALIDATION_FAILED";
    /* A violation past the ones kept costs nothing: a request listing a
     * million bad items gets the first BW_RPC_MAX_VIOLATIONS, and neither
     * their formatting nor their copies on the arena grow with it. */
    if (call->n_violations >= BW_RPC_MAX_VIOLATIONS && call->detail != NULL)
        return BW_EINVAL;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    const char *message = bw_arena_strdup(call->arena, text);
    if (call->n_violations < BW_RPC_MAX_VIOLATIONS && message != NULL) {
        const char *copy = bw_arena_strdup(call->arena, field != NULL ? field : "");
        if (copy != NULL) {
            call->violations[call->n_violations].field = copy;
            call->violations[call->n_violations].message = message;
            call->n_violations++;
        }
    }
    if (call->detail == NULL)
        call->detail = message;
    return BW_EINVAL;
}

const char *bw_call_origin(const bw_call_t *call)
{
    return call->origin != NULL ? call->origin : "";
}

/* "<system>:<uuid>": system 1-32 lower-case letters, the uuid in its
 * canonical text (36 characters, hyphens at 8, 13, 18 and 23). */
static int origin_valid(const char *origin)
{
    size_t system = strspn(origin, "abcdefghijklmnopqrstuvwxyz");
    if (system == 0 || system > 32 || origin[system] != ':')
        return 0;
    const char *id = origin + system + 1;
    if (strlen(id) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? id[i] != '-' : strchr("0123456789abcdefABCDEF", id[i]) == NULL || id[i] == 0)
            return 0;
    }
    return 1;
}

/* Keeps x-bulwark-origin only from the one peer trusted to declare it (see
 * bw_call_origin); BW_EINVAL for a malformed one from that peer. */
static int origin_check(bw_call_t *call)
{
    if (call->origin == NULL)
        return 0;
    if (strcmp(call->peer, BW_RPC_ORIGIN_PEER) != 0) {
        bw_log(BW_LOG_DEBUG, &call->log, "ignored " BW_RPC_ORIGIN_MD " from peer %s", call->peer);
        call->origin = NULL;
        return 0;
    }
    if (!origin_valid(call->origin))
        return bw_call_fail(call, BW_EINVAL, "INVALID_ORIGIN",
                            BW_RPC_ORIGIN_MD " must be \"<system>:<uuid>\", such as "
                                             "\"jira:0193a1b2-...\"");
    return 0;
}

int bw_call_has_role(const bw_call_t *call, const char *role)
{
    if (call->roles == NULL || role == NULL || role[0] == '\0')
        return 0;
    size_t want = strlen(role);
    const char *p = call->roles;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if ((size_t)(end - start) == want && memcmp(start, role, want) == 0)
            return 1;
    }
    return 0;
}

/* ---- slots ---------------------------------------------------------------- */

static void slot_free(rpc_slot_t *slot)
{
    grpc_metadata_array_destroy(&slot->md_in);
    grpc_call_details_destroy(&slot->details);
    grpc_byte_buffer_destroy(slot->payload_in);
    grpc_byte_buffer_destroy(slot->payload_out);
    if (slot->n_trailer > 0) {
        grpc_slice_unref(slot->trailer.key);
        grpc_slice_unref(slot->trailer.value);
    }
    if (slot->has_status_text)
        grpc_slice_unref(slot->status_text);
    if (slot->call != NULL)
        grpc_call_unref(slot->call);
    bw_arena_destroy(slot->arena);
    free(slot);
}

/* Frees an accepted call and lets a stopping server know when none is left. */
static void slot_finish(rpc_slot_t *slot)
{
    bw_rpc_server_t *s = slot->server;
    slot_free(slot);
    pthread_mutex_lock(&s->mu);
    if (--s->in_flight == 0)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Asks for the next call to method. */
static void slot_request(bw_rpc_server_t *s, int method)
{
    rpc_slot_t *slot = calloc(1, sizeof(*slot));
    if (slot == NULL) {
        bw_log(BW_LOG_ERROR, NULL, "%s: out of memory requesting a call", s->opts.name);
        return;
    }
    slot->server = s;
    slot->method = method;
    slot->state = SLOT_REQUESTED;
    grpc_metadata_array_init(&slot->md_in);
    grpc_call_details_init(&slot->details);
    grpc_call_error rc;
    if (method == RPC_UNREGISTERED)
        rc = grpc_server_request_call(s->server, &slot->call, &slot->details, &slot->md_in, s->cq,
                                      s->cq, slot);
    else
        rc = grpc_server_request_registered_call(s->server, s->handles[method], &slot->call,
                                                 &slot->deadline, &slot->md_in, &slot->payload_in,
                                                 s->cq, s->cq, slot);
    if (rc != GRPC_CALL_OK) {
        bw_log(BW_LOG_ERROR, NULL, "%s: could not request a call: %s", s->opts.name,
               grpc_call_error_to_string(rc));
        slot_free(slot);
    }
}

/* Packs msg into a byte buffer (gpr allocations abort rather than fail). */
static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

/* The bulwark-error-bin value of a failed call. */
static grpc_slice pack_error_detail(const char *reason, const bw_rpc_violation_t *violations,
                                    size_t n_violations, int retry_after_sec)
{
    Bulwark__Rpc__V1__ErrorDetail detail = BULWARK__RPC__V1__ERROR_DETAIL__INIT;
    detail.retry_after_seconds = retry_after_sec > 0 ? retry_after_sec : 0;
    Bulwark__Rpc__V1__FieldViolation items[BW_RPC_MAX_VIOLATIONS];
    Bulwark__Rpc__V1__FieldViolation *ptrs[BW_RPC_MAX_VIOLATIONS];
    if (n_violations > BW_RPC_MAX_VIOLATIONS)
        n_violations = BW_RPC_MAX_VIOLATIONS;
    /* protobuf-c never writes through these pointers when packing */
    detail.reason = (char *)(reason != NULL ? reason : "");
    for (size_t i = 0; i < n_violations; i++) {
        bulwark__rpc__v1__field_violation__init(&items[i]);
        items[i].field = (char *)(violations[i].field != NULL ? violations[i].field : "");
        items[i].message = (char *)(violations[i].message != NULL ? violations[i].message : "");
        ptrs[i] = &items[i];
    }
    detail.n_errors = n_violations;
    detail.errors = n_violations > 0 ? ptrs : NULL;
    size_t len = protobuf_c_message_get_packed_size(&detail.base);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(&detail.base, GRPC_SLICE_START_PTR(slice));
    return slice;
}

/*
 * Starts the one batch that answers the call. On success response is sent;
 * otherwise the status, its text and the error detail. The slot is freed when
 * the batch completes (or at once when it cannot start).
 */
static void slot_answer(rpc_slot_t *slot, int grpc_status, const char *text,
                        const ProtobufCMessage *response, const char *reason,
                        const bw_rpc_violation_t *violations, size_t n_violations)
{
    bw_rpc_server_t *s = slot->server;
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));

    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = 0;
    n++;
    if (grpc_status == BW_GRPC_OK && response != NULL) {
        slot->payload_out = pack_message(response);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = slot->payload_out;
        n++;
    }
    if (grpc_status != BW_GRPC_OK) {
        slot->trailer.key = grpc_slice_from_static_string(RPC_ERROR_MD_KEY);
        slot->trailer.value =
            pack_error_detail(reason, violations, n_violations, slot->retry_after_sec);
        slot->n_trailer = 1;
        slot->status_text = grpc_slice_from_copied_string(text != NULL ? text : "");
        slot->has_status_text = 1;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)grpc_status;
    ops[n].data.send_status_from_server.status_details =
        slot->has_status_text ? &slot->status_text : NULL;
    ops[n].data.send_status_from_server.trailing_metadata_count = slot->n_trailer;
    ops[n].data.send_status_from_server.trailing_metadata = slot->n_trailer ? &slot->trailer : NULL;
    n++;
    /* Without it the call is cancelled when it is released: a RST_STREAM
     * for every call, and work on both ends. */
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &slot->cancelled;
    n++;

    slot->state = SLOT_ANSWERING;
    grpc_call_error rc = grpc_call_start_batch(slot->call, ops, n, slot, NULL);
    if (rc != GRPC_CALL_OK) {
        bw_log(BW_LOG_ERROR, NULL, "%s: could not send a reply: %s", s->opts.name,
               grpc_call_error_to_string(rc));
        slot_finish(slot);
    }
}

/* Answers a failed call from the handler's error and the call's detail. */
static void slot_answer_error(rpc_slot_t *slot, const bw_call_t *call, int err)
{
    const char *reason = call->reason != NULL ? call->reason : bw_status_default_reason(err);
    const char *text = call->detail != NULL ? call->detail : bw_strerror(err);
    slot->retry_after_sec = err == BW_ELIMIT ? call->retry_after_sec : 0;
    slot_answer(slot, bw_status_grpc_code(err), text, NULL, reason, call->violations,
                call->n_violations);
}

/* Copies a metadata value (not NUL-terminated) into the call's arena. */
static const char *md_value(bw_arena_t *arena, grpc_slice value)
{
    return bw_arena_strndup(arena, (const char *)GRPC_SLICE_START_PTR(value),
                            GRPC_SLICE_LENGTH(value));
}

static void read_metadata(const grpc_metadata_array *md, bw_call_t *call)
{
    int traced = 0;
    for (size_t i = 0; i < md->count; i++) {
        grpc_slice key = md->metadata[i].key;
        const char **dst = NULL;
        if (grpc_slice_str_cmp(key, "x-tenant-id") == 0)
            dst = &call->tenant_id;
        else if (grpc_slice_str_cmp(key, "x-principal") == 0)
            dst = &call->principal;
        else if (grpc_slice_str_cmp(key, "x-roles") == 0)
            dst = &call->roles;
        else if (grpc_slice_str_cmp(key, "x-request-id") == 0)
            dst = &call->request_id;
        else if (grpc_slice_str_cmp(key, "idempotency-key") == 0)
            dst = &call->idempotency_key;
        else if (grpc_slice_str_cmp(key, "x-board-member") == 0)
            dst = &call->board_member;
        else if (grpc_slice_str_cmp(key, "if-match") == 0)
            dst = &call->if_match;
        else if (grpc_slice_str_cmp(key, "traceparent") == 0)
            traced = bw_trace_parse((const char *)GRPC_SLICE_START_PTR(md->metadata[i].value),
                                    GRPC_SLICE_LENGTH(md->metadata[i].value), &call->trace) == 0;
        else if (grpc_slice_str_cmp(key, BW_RPC_ORIGIN_MD) == 0)
            dst = &call->origin;
        if (dst != NULL)
            *dst = md_value(call->arena, md->metadata[i].value);
    }
    /* A call without a usable trace starts one here, as the specification
     * asks of a malformed traceparent: every line and audit row has one. */
    if (!traced && bw_trace_start(&call->trace) != 0)
        call->trace.trace_id[0] = '\0';
    call->log.request_id = call->request_id;
    call->log.tenant_id = call->tenant_id;
    call->log.trace_id = call->trace.trace_id[0] != '\0' ? call->trace.trace_id : NULL;
}

int bw_call_traceparent(const bw_call_t *call, char *buf)
{
    char span[BW_TRACE_SPAN_LEN + 1];
    if (call->trace.trace_id[0] == '\0' || bw_trace_new_span(span) != 0)
        return BW_EINTERNAL;
    bw_trace_format(&call->trace, span, buf);
    return 0;
}

/* Unpacks the request through the call's arena; BW_EINVAL when malformed. */
static int read_request(rpc_slot_t *slot, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **out)
{
    if (slot->payload_in == NULL)
        return BW_EINVAL;
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, slot->payload_in))
        return BW_EINVAL;
    grpc_slice flat = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    *out = protobuf_c_message_unpack(desc, bw_arena_protobuf_allocator(slot->arena),
                                     GRPC_SLICE_LENGTH(flat), GRPC_SLICE_START_PTR(flat));
    grpc_slice_unref(flat);
    return *out == NULL ? BW_EINVAL : 0;
}

/* Whether service ("bulwark.scoping.v1.ScopingService") has a registered method. */
static int service_known(const bw_rpc_server_t *s, const char *service)
{
    size_t len = strlen(service);
    if (strcmp(service, RPC_HEALTH_SERVICE) == 0)
        return 1;
    for (size_t i = 0; i < s->opts.n_methods; i++) {
        const char *path = s->methods[i].path;
        if (path[0] == '/' && strncmp(path + 1, service, len) == 0 && path[len + 1] == '/')
            return 1;
    }
    return 0;
}

static void serve_health(rpc_slot_t *slot, bw_call_t *call,
                         const Grpc__Health__V1__HealthCheckRequest *req)
{
    bw_rpc_server_t *s = slot->server;
    if (req->service != NULL && req->service[0] != '\0' && !service_known(s, req->service)) {
        slot_answer(slot, BW_GRPC_NOT_FOUND, "unknown service", NULL, "NOT_FOUND", NULL, 0);
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    int down = s->opts.health != NULL && s->opts.health(s->opts.service_data, call->worker_data);
    resp.status = down ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
                       : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    slot_answer(slot, BW_GRPC_OK, NULL, &resp.base, NULL, NULL, 0);
}

static void serve_unregistered(rpc_slot_t *slot)
{
    char text[512];
    char *path = grpc_slice_to_c_string(slot->details.method);
    snprintf(text, sizeof(text), "method %s is not implemented", path);
    gpr_free(path);
    slot_answer(slot, BW_GRPC_UNIMPLEMENTED, text, NULL, bw_status_default_reason(BW_EUNIMPL), NULL,
                0);
}

/* Whether the call's peer may call its method. The health check is open to
 * every peer the CA vouches for. The peer's identity is copied into peer
 * ("" when the peer has none). */
static int peer_may_call(bw_rpc_server_t *s, rpc_slot_t *slot, int health, char *peer)
{
    int known = bw_rpc_peer_identity(slot->call, peer, BW_RPC_IDENTITY_MAX + 1) == 0;
    if (!known)
        peer[0] = '\0';
    int ok = known && health;
    for (size_t p = 0; known && !ok && p < s->opts.n_peers; p++)
        ok = strcmp(s->peers[p].identity, peer) == 0 &&
             s->allows[p * s->opts.n_methods + (size_t)slot->method];
    return ok;
}

/* Answers a call whose peer may not make it UNAUTHENTICATED. */
static void refuse_peer(rpc_slot_t *slot, int health, const char *peer)
{
    bw_rpc_server_t *s = slot->server;
    bw_log(BW_LOG_WARN, NULL, "%s: refused a call to %s from %s", s->opts.name,
           health ? RPC_HEALTH_PATH : s->methods[slot->method].path,
           peer[0] != '\0' ? peer : "an unidentified peer");
    slot_answer(slot, BW_GRPC_UNAUTHENTICATED, "this peer may not call this method", NULL,
                "PEER_NOT_ALLOWED", NULL, 0);
}

static long long elapsed_us(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - t0->tv_sec) * 1000000LL + (now.tv_nsec - t0->tv_nsec) / 1000;
}

/* Counts a call to a registered method and, with its context read, logs
 * the line that reports it. Runs before the answer is started: once it is,
 * the slot and its arena may be freed by another worker. */
static void call_finished(rpc_slot_t *slot, const bw_call_t *call, int grpc_status,
                          const struct timespec *start)
{
    bw_rpc_server_t *s = slot->server;
    long long us = elapsed_us(start);
    rpc_method_metrics_t *mm = &s->metrics[slot->method];
    bw_metrics_inc(&mm->by_code[grpc_status >= 0 && grpc_status <= 16 ? grpc_status : 2]);
    bw_metrics_hist_observe(&mm->latency, (double)us / 1e6);
    if (call == NULL || !bw_log_requests)
        return;
    bw_log_outcome_t outcome = {s->methods[slot->method].path, bw_status_grpc_name(grpc_status),
                                us};
    bw_log_done(BW_LOG_INFO, &call->log, &outcome, "%s call from %s", s->opts.name,
                call->peer != NULL ? call->peer : "?");
}

/* A call between its acceptance and its answer. */
typedef struct rpc_served {
    rpc_slot_t *slot;
    struct timespec start;
    bw_call_t call;
    char peer[BW_RPC_IDENTITY_MAX + 1];
    ProtobufCMessage *request;
} rpc_served_t;

/* Reads an accepted call on worker w up to its handler: 1 when the handler
 * is to run (serve_handler), 0 when the call was answered here (refused,
 * malformed, a health check, an unregistered method). */
static int serve_open(rpc_worker_t *w, rpc_served_t *c)
{
    rpc_slot_t *slot = c->slot;
    bw_rpc_server_t *s = slot->server;
    clock_gettime(CLOCK_MONOTONIC, &c->start);
    if (slot->method == RPC_UNREGISTERED) {
        serve_unregistered(slot);
        return 0;
    }
    int health = (size_t)slot->method == s->opts.n_methods;
    slot->arena = bw_arena_create(RPC_CALL_ARENA_SIZE);
    if (slot->arena == NULL) {
        if (!health)
            call_finished(slot, NULL, bw_status_grpc_code(BW_ENOMEM), &c->start);
        slot_answer(slot, bw_status_grpc_code(BW_ENOMEM), bw_strerror(BW_ENOMEM), NULL,
                    bw_status_default_reason(BW_ENOMEM), NULL, 0);
        return 0;
    }
    if (!peer_may_call(s, slot, health, c->peer)) {
        if (!health)
            call_finished(slot, NULL, BW_GRPC_UNAUTHENTICATED, &c->start);
        refuse_peer(slot, health, c->peer);
        return 0;
    }
    bw_call_t *call = &c->call;
    memset(call, 0, sizeof(*call));
    call->arena = slot->arena;
    call->service_data = s->opts.service_data;
    call->worker_data = w->data;
    call->peer = c->peer;
    read_metadata(&slot->md_in, call);
    if (origin_check(call) != 0) {
        if (!health)
            call_finished(slot, call, bw_status_grpc_code(BW_EINVAL), &c->start);
        slot_answer_error(slot, call, BW_EINVAL);
        return 0;
    }

    const ProtobufCMessageDescriptor *desc =
        health ? &grpc__health__v1__health_check_request__descriptor
               : s->methods[slot->method].request;
    c->request = NULL;
    if (read_request(slot, desc, &c->request) != 0) {
        if (!health)
            call_finished(slot, call, BW_GRPC_INVALID_ARGUMENT, &c->start);
        slot_answer(slot, BW_GRPC_INVALID_ARGUMENT, "could not decode the request message", NULL,
                    bw_status_default_reason(BW_EINVAL), NULL, 0);
        return 0;
    }
    if (health) {
        serve_health(slot, call, (const Grpc__Health__V1__HealthCheckRequest *)c->request);
        return 0;
    }
    return 1;
}

/* Runs the handler of a call serve_open read and answers it. */
static void serve_handler(rpc_served_t *c)
{
    rpc_slot_t *slot = c->slot;
    bw_rpc_server_t *s = slot->server;
    bw_call_t *call = &c->call;
    const bw_rpc_method_t *m = &s->methods[slot->method];
    ProtobufCMessage *response = NULL;
    int err = s->opts.intercept != NULL ? s->opts.intercept(call, m, c->request, &response)
                                        : m->handler(call, c->request, &response);
    if (err == 0 && response != NULL && response->descriptor == m->response) {
        call_finished(slot, call, BW_GRPC_OK, &c->start);
        slot_answer(slot, BW_GRPC_OK, NULL, response, NULL, NULL, 0);
        return;
    }
    if (err >= 0) {
        /* a bug in the handler: the client gets a plain INTERNAL */
        if (err == 0)
            bw_log(BW_LOG_ERROR, &call->log, "%s: handler of %s returned %s", s->opts.name, m->path,
                   response == NULL ? "no response" : "a response of the wrong type");
        else
            bw_log(BW_LOG_ERROR, &call->log, "%s: handler of %s returned %d, not a BW_E* code",
                   s->opts.name, m->path, err);
        call->n_violations = 0;
        call->reason = NULL;
        call->detail = NULL;
        err = BW_EINTERNAL;
    } else if (bw_status_grpc_code(err) == BW_GRPC_INTERNAL) {
        bw_log(BW_LOG_ERROR, &call->log, "%s: %s failed: %s", s->opts.name, m->path,
               call->detail != NULL ? call->detail : bw_strerror(err));
    }
    call_finished(slot, call, bw_status_grpc_code(err), &c->start);
    slot_answer_error(slot, call, err);
}

/* Serves calls accepted together: reads each, runs the first reads of those
 * that have one in one go (opts.ahead), then handles them in order. */
static void serve_batch(rpc_worker_t *w, rpc_slot_t *const *slots, int n)
{
    bw_rpc_server_t *s = w->server;
    rpc_served_t served[BW_RPC_BATCH_MAX];
    bw_call_t *calls[BW_RPC_BATCH_MAX];
    const bw_rpc_method_t *methods[BW_RPC_BATCH_MAX];
    const ProtobufCMessage *requests[BW_RPC_BATCH_MAX];
    int open = 0;
    for (int i = 0; i < n; i++) {
        served[open].slot = slots[i];
        if (serve_open(w, &served[open])) {
            calls[open] = &served[open].call;
            methods[open] = &s->methods[slots[i]->method];
            requests[open] = served[open].request;
            open++;
        }
    }
    if (open > 1 && s->opts.ahead != NULL)
        s->opts.ahead(w->data, calls, methods, requests, open);
    for (int i = 0; i < open; i++)
        serve_handler(&served[i]);
}

/* A requested call arrived: ask for the next one; 1 when the call is
 * accepted and is to be served, 0 when it was dropped. */
static int slot_accept(rpc_slot_t *slot)
{
    bw_rpc_server_t *s = slot->server;
    int drop, rearm;
    pthread_mutex_lock(&s->mu);
    drop = s->queue_shut;
    rearm = !s->stopping;
    if (!drop)
        s->in_flight++;
    pthread_mutex_unlock(&s->mu);
    if (drop) {
        /* the queue is shut down: a batch cannot be started on it */
        grpc_call_cancel(slot->call, NULL);
        slot_free(slot);
        return 0;
    }
    if (rearm)
        slot_request(s, slot->method);
    return 1;
}

/* ---- workers -------------------------------------------------------------- */

/* Whether calls of method (an index, RPC_UNREGISTERED or the health
 * check's) are taken in batches: it names its first read and the server
 * runs such reads (opts.ahead). */
static int method_batched(const bw_rpc_server_t *s, int method)
{
    return s->opts.ahead != NULL && method >= 0 && (size_t)method < s->opts.n_methods &&
           s->methods[method].ahead != NULL;
}

/* Takes events from the queue. A call of a method with an ahead function
 * starts a batch: the worker goes on taking what the queue already holds,
 * without waiting, while it is more of such calls (up to
 * BW_RPC_BATCH_MAX), and serves them together; any other call is served at
 * once, after the batch it ended, so that a slow call never holds a batch
 * back while another worker idles. */
static void worker_serve(rpc_worker_t *w)
{
    bw_rpc_server_t *s = w->server;
    rpc_slot_t *batch[BW_RPC_BATCH_MAX];
    int n = 0;
    for (;;) {
        gpr_timespec wait =
            n > 0 ? gpr_inf_past(GPR_CLOCK_MONOTONIC) : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_event ev = grpc_completion_queue_next(s->cq, wait, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT || ev.type == GRPC_QUEUE_SHUTDOWN) {
            serve_batch(w, batch, n);
            n = 0;
            if (ev.type == GRPC_QUEUE_SHUTDOWN)
                return;
            continue;
        }
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &s->shutdown_tag) {
            pthread_mutex_lock(&s->mu);
            s->shutdown_done = 1;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        rpc_slot_t *slot = ev.tag;
        if (slot->state == SLOT_ANSWERING)
            slot_finish(slot);
        else if (!ev.success)
            slot_free(slot); /* the server is shutting down */
        else if (slot_accept(slot)) {
            /* Decided before serving: once answered, a slot may be freed by
             * another worker at any moment. */
            int batched = method_batched(s, slot->method);
            if (batched) {
                batch[n++] = slot;
                if (n < BW_RPC_BATCH_MAX)
                    continue;
            }
            serve_batch(w, batch, n);
            n = 0;
            if (!batched)
                serve_batch(w, &slot, 1);
        }
    }
}

static void *worker_main(void *arg)
{
    rpc_worker_t *w = arg;
    bw_rpc_server_t *s = w->server;
    int rc = 0;
    if (s->opts.worker_init != NULL)
        rc = s->opts.worker_init(s->opts.service_data, &w->data);
    pthread_mutex_lock(&s->mu);
    w->init_rc = rc;
    s->n_initialised++;
    pthread_cond_broadcast(&s->cv);
    while (!s->released)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    /* when start fails, the queue is shut down at once and this only drains it */
    worker_serve(w);
    if (rc == 0 && s->opts.worker_fini != NULL)
        s->opts.worker_fini(s->opts.service_data, w->data);
    return NULL;
}

/* ---- start and stop -------------------------------------------------------- */

/* Lets the workers drain the shut down queue and exit, joins them and frees. */
static void server_release(bw_rpc_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    s->queue_shut = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    int joined = 0;
    if (s->cq != NULL)
        grpc_completion_queue_shutdown(s->cq);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].thread_started) {
            pthread_join(s->workers[i].thread, NULL);
            joined++;
        }
    if (s->cq != NULL) {
        if (joined == 0) {
            /* nobody drained it */
            grpc_event ev;
            do
                ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            while (ev.type != GRPC_QUEUE_SHUTDOWN);
        }
        grpc_completion_queue_destroy(s->cq);
    }
    if (s->server != NULL)
        grpc_server_destroy(s->server);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->workers);
    free(s->handles);
    free(s->metrics);
    free(s->methods);
    free(s->peers);
    free(s->allows);
    free(s);
    grpc_shutdown();
}

static int opts_valid(const bw_rpc_server_opts_t *opts)
{
    if (opts == NULL || opts->addr == NULL || opts->tls == NULL || opts->workers < 1 ||
        (opts->n_methods > 0 && opts->methods == NULL) ||
        (opts->n_peers > 0 && opts->peers == NULL))
        return 0;
    for (size_t p = 0; p < opts->n_peers; p++)
        if (opts->peers[p].identity == NULL || opts->peers[p].identity[0] == '\0')
            return 0;
    if (opts->max_message > (size_t)INT32_MAX)
        return 0;
    for (size_t i = 0; i < opts->n_methods; i++) {
        const bw_rpc_method_t *m = &opts->methods[i];
        /* A write is never batched: it names no read to run ahead. */
        if (m->path == NULL || m->path[0] != '/' || m->request == NULL || m->response == NULL ||
            m->handler == NULL || strcmp(m->path, RPC_HEALTH_PATH) == 0 ||
            (m->ahead != NULL && (m->flags & BW_RPC_WRITE)))
            return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->path, opts->methods[j].path) == 0)
                return 0;
    }
    return 1;
}

/* Resolves each peer's method paths to the allows table; BW_EINVAL when a
 * path names no method of this server. */
static int peers_resolve(bw_rpc_server_t *s)
{
    size_t nm = s->opts.n_methods;
    for (size_t p = 0; p < s->opts.n_peers; p++) {
        const char *const *paths = s->peers[p].methods;
        if (paths == NULL) {
            for (size_t m = 0; m < nm; m++)
                s->allows[p * nm + m] = !(s->methods[m].flags & BW_RPC_NAMED_PEERS);
            continue;
        }
        for (; *paths != NULL; paths++) {
            size_t m = 0;
            while (m < nm && strcmp(s->methods[m].path, *paths) != 0)
                m++;
            if (m == nm) {
                bw_log(BW_LOG_ERROR, NULL, "%s: peer %s is allowed %s, which is not a method",
                       s->opts.name, s->peers[p].identity, *paths);
                return BW_EINVAL;
            }
            s->allows[p * nm + m] = 1;
        }
    }
    return 0;
}

static int server_create_core(bw_rpc_server_t *s)
{
    grpc_arg args[5];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = s->opts.max_message > 0 ? (int)s->opts.max_message : BW_RPC_MAX_MESSAGE;
    /* without this a second server silently shares a port that is in use */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[1].value.integer = 0;
    args[2].type = GRPC_ARG_STRING;
    args[2].key = GRPC_ARG_OPTIMIZATION_TARGET;
    args[2].value.string = "throughput";
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_MAX_CONNECTION_AGE_MS;
    args[3].value.integer = RPC_MAX_CONNECTION_AGE_MS;
    args[4].type = GRPC_ARG_INTEGER;
    args[4].key = GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS;
    args[4].value.integer = RPC_MAX_CONNECTION_AGE_GRACE_MS;
    grpc_channel_args channel_args = {5, args};

    s->server = grpc_server_create(&channel_args, NULL);
    if (s->server == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i <= s->opts.n_methods; i++) {
        const char *path = i < s->opts.n_methods ? s->methods[i].path : RPC_HEALTH_PATH;
        s->handles[i] = grpc_server_register_method(s->server, path, NULL,
                                                    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (s->handles[i] == NULL)
            return BW_EINVAL;
    }
    for (int i = 0; i < s->n_workers; i++)
        s->workers[i].server = s;
    if (s->opts.io_client == NULL) {
        s->cq = grpc_completion_queue_create_for_next(NULL);
    } else {
        /* The workers' queue does not poll; the client's, which its poller
         * thread polls, is registered too as the server's polling queue
         * (gRPC binds each new connection to one). */
        grpc_completion_queue_attributes attr = {GRPC_CQ_CURRENT_VERSION, GRPC_CQ_NEXT,
                                                 GRPC_CQ_NON_POLLING, NULL};
        s->cq =
            grpc_completion_queue_create(grpc_completion_queue_factory_lookup(&attr), &attr, NULL);
    }
    if (s->cq == NULL)
        return BW_ENOMEM;
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    if (s->opts.io_client != NULL)
        grpc_server_register_completion_queue(s->server, bw_rpc_client_queue(s->opts.io_client),
                                              NULL);
    return 0;
}

/* Starts the worker threads and waits for each worker_init. */
static int workers_init(bw_rpc_server_t *s)
{
    int rc = 0;
    int started = 0;
    for (int i = 0; i < s->n_workers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            rc = BW_ENOMEM;
            break;
        }
        s->workers[i].thread_started = 1;
        started++;
    }
    pthread_mutex_lock(&s->mu);
    while (s->n_initialised < started)
        pthread_cond_wait(&s->cv, &s->mu);
    for (int i = 0; i < started; i++)
        if (s->workers[i].init_rc != 0 && rc == 0)
            rc = BW_EUNAVAIL;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int bw_rpc_methods_bind(const ProtobufCServiceDescriptor *contract,
                        const bw_rpc_handler_t *handlers, size_t n, bw_rpc_method_t **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    /* One block: the table, then each path. */
    size_t size = n * sizeof(bw_rpc_method_t);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(contract, handlers[i].method);
        if (m == NULL) {
            snprintf(err, errlen, "%s has no method %s", contract->name, handlers[i].method);
            return BW_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(handlers[j].method, handlers[i].method) == 0) {
                snprintf(err, errlen, "%s.%s has two handlers", contract->name, m->name);
                return BW_EINVAL;
            }
        size += strlen(contract->name) + strlen(m->name) + 3;
    }
    for (unsigned k = 0; k < contract->n_methods; k++) {
        size_t i = 0;
        while (i < n && strcmp(handlers[i].method, contract->methods[k].name) != 0)
            i++;
        if (i == n) {
            snprintf(err, errlen, "%s.%s has no handler", contract->name,
                     contract->methods[k].name);
            return BW_EINVAL;
        }
    }
    bw_rpc_method_t *methods = malloc(size > 0 ? size : 1);
    if (methods == NULL) {
        snprintf(err, errlen, "out of memory");
        return BW_ENOMEM;
    }
    char *paths = (char *)(methods + n);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(contract, handlers[i].method);
        int len = sprintf(paths, "/%s/%s", contract->name, m->name);
        methods[i] = (bw_rpc_method_t){paths,          m->input,          m->output,
                                       handlers[i].fn, handlers[i].flags, handlers[i].ahead};
        paths += len + 1;
    }
    *out = methods;
    return 0;
}

int bw_rpc_server_start(const bw_rpc_server_opts_t *opts, bw_rpc_server_t **out)
{
    *out = NULL;
    if (!opts_valid(opts))
        return BW_EINVAL;
    bw_rpc_grpc_init();
    bw_rpc_server_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        grpc_shutdown();
        return BW_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);
    s->opts = *opts;
    if (s->opts.name == NULL)
        s->opts.name = "rpc";
    s->methods = calloc(opts->n_methods + 1, sizeof(*s->methods));
    s->handles = calloc(opts->n_methods + 1, sizeof(*s->handles));
    s->workers = calloc((size_t)opts->workers, sizeof(*s->workers));
    s->peers = calloc(opts->n_peers + 1, sizeof(*s->peers));
    s->allows = calloc(opts->n_peers * opts->n_methods + 1, 1);
    s->metrics = calloc(opts->n_methods + 1, sizeof(*s->metrics));
    if (s->methods == NULL || s->handles == NULL || s->workers == NULL || s->peers == NULL ||
        s->allows == NULL || s->metrics == NULL) {
        server_release(s);
        return BW_ENOMEM;
    }
    s->n_workers = opts->workers;
    if (opts->n_methods > 0)
        memcpy(s->methods, opts->methods, opts->n_methods * sizeof(*s->methods));
    s->opts.methods = s->methods;
    if (opts->n_peers > 0)
        memcpy(s->peers, opts->peers, opts->n_peers * sizeof(*s->peers));
    s->opts.peers = s->peers;

    int rc = peers_resolve(s);
    if (rc == 0)
        rc = server_create_core(s);
    if (rc == 0)
        rc = workers_init(s);
    if (rc == 0) {
        grpc_server_credentials *creds = bw_rpc_tls_server_creds(opts->tls);
        s->port = grpc_server_add_http2_port(s->server, opts->addr, creds);
        grpc_server_credentials_release(creds);
        if (s->port == 0)
            rc = BW_EINVAL;
    }
    if (rc != 0) {
        /* never started and no listener: the server can be destroyed as is */
        server_release(s);
        return rc;
    }

    grpc_server_start(s->server);
    /* one request per method and worker, so that a burst reaches every
     * worker at once, and a batch's worth per worker of those that batch */
    for (int i = 0; i < s->n_workers; i++) {
        for (size_t m = 0; m <= opts->n_methods; m++)
            for (int k = method_batched(s, (int)m) ? BW_RPC_BATCH_MAX : 1; k > 0; k--)
                slot_request(s, (int)m);
        slot_request(s, RPC_UNREGISTERED);
    }
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    *out = s;
    return 0;
}

int bw_rpc_server_port(const bw_rpc_server_t *server)
{
    return server != NULL ? server->port : 0;
}

void bw_rpc_server_metrics(const bw_rpc_server_t *s, bw_metrics_text_t *t)
{
    if (s == NULL)
        return;
    char labels[300];
    bw_metrics_family(t, "bulwark_grpc_server_calls_total", "counter",
                      "gRPC calls served, by method and status code (health checks not counted).");
    for (size_t m = 0; m < s->opts.n_methods; m++)
        for (int c = 0; c <= 16; c++) {
            unsigned long long n = bw_metrics_get(&s->metrics[m].by_code[c]);
            if (n != 0)
                bw_metrics_printf(
                    t, "bulwark_grpc_server_calls_total{method=\"%s\",code=\"%s\"} %llu\n",
                    s->methods[m].path, bw_status_grpc_name(c), n);
        }
    bw_metrics_family(t, "bulwark_grpc_server_call_duration_seconds", "histogram",
                      "Time from taking a call to starting its answer, by method.");
    for (size_t m = 0; m < s->opts.n_methods; m++) {
        if (bw_metrics_hist_count(&s->metrics[m].latency) == 0)
            continue;
        snprintf(labels, sizeof(labels), "method=\"%s\"", s->methods[m].path);
        bw_metrics_put_hist(t, "bulwark_grpc_server_call_duration_seconds", labels,
                            &s->metrics[m].latency);
    }
}

/* Waits until cond holds or deadline (CLOCK_MONOTONIC) passes; NULL waits forever. */
static int wait_flag(bw_rpc_server_t *s, const int *flag, const struct timespec *deadline)
{
    pthread_mutex_lock(&s->mu);
    while (!*flag) {
        if (deadline == NULL)
            pthread_cond_wait(&s->cv, &s->mu);
        else if (pthread_cond_timedwait(&s->cv, &s->mu, deadline) == ETIMEDOUT)
            break;
    }
    int done = *flag;
    pthread_mutex_unlock(&s->mu);
    return done;
}

void bw_rpc_server_stop(bw_rpc_server_t *s, int grace_ms)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);

    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (grace_ms < 0)
        grace_ms = 0;
    deadline.tv_sec += grace_ms / 1000;
    deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    if (!wait_flag(s, &s->shutdown_done, &deadline)) {
        pthread_mutex_lock(&s->mu);
        size_t running = s->in_flight;
        pthread_mutex_unlock(&s->mu);
        if (running > 0)
            bw_log(BW_LOG_WARN, NULL, "%s: cancelling %zu calls still running after %d ms",
                   s->opts.name, running, grace_ms);
        grpc_server_cancel_all_calls(s->server);
        wait_flag(s, &s->shutdown_done, NULL);
    }
    /* handlers of cancelled calls still run to their end and answer */
    pthread_mutex_lock(&s->mu);
    while (s->in_flight > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    server_release(s);
}
