/*
 * gRPC clients on the core C API; see rpc.h. A unary call is one batch of six
 * operations (an exchange). The asynchronous client shares one completion
 * queue per client: its poller thread moves each finished call to a list and
 * activates an event on the caller's libevent loop, which decodes the reply
 * and runs the done callback there. While calls are undelivered a long
 * persistent timer is kept on the loop, so that event_base_dispatch does not
 * return under them. The blocking client plucks its batch from a queue of
 * its own.
 */
#include "rpc.h"
#include "rpc_internal.h"
#include "status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#include "bulwark/rpc/v1/error.pb-c.h"

#define RPC_ERROR_MD_KEY "bulwark-error-bin"
/* The first chunk of the arena replies are decoded onto, kept between
 * replies: room for the largest common ones (an assessment, about 10 KB
 * on the wire and as much decoded). */
#define RPC_REPLY_ARENA_SIZE 32768
/* Long enough never to fire; the timer only keeps the loop from returning. */
#define RPC_KEEPALIVE_SECONDS 3600

/* What one unary call holds from its start until its reply is decoded. */
typedef struct rpc_exchange {
    grpc_call *call;
    grpc_metadata *md_out;
    size_t n_md_out;
    grpc_byte_buffer *payload_out;
    grpc_metadata_array md_in;
    grpc_metadata_array trailer;
    grpc_byte_buffer *payload_in;
    grpc_status_code status;
    grpc_slice status_text;
} rpc_exchange_t;

/* An asynchronous call: in client->active until it completes, then in
 * client->finished until its done callback has run. */
typedef struct rpc_pending {
    rpc_exchange_t x;
    bw_rpc_done_fn done;
    void *arg;
    struct rpc_pending *prev;
    struct rpc_pending *next;
} rpc_pending_t;

struct bw_rpc_channel {
    bw_rpc_client_t *client;
    grpc_channel *channel;
    bw_rpc_channel_t *next;
};

struct bw_rpc_client {
    struct event_base *base;
    const bw_rpc_tls_t *tls;
    struct event *wake;
    struct event *keepalive;
    grpc_completion_queue *cq;
    pthread_t poller;
    int poller_started;
    bw_rpc_channel_t *channels;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    rpc_pending_t *active;   /* doubly linked */
    rpc_pending_t *finished; /* singly linked through next, oldest first */
    rpc_pending_t *finished_tail;
    size_t n_active;
    size_t n_undelivered; /* active + finished */
    int closing;
    bw_arena_t *reply_arena; /* the loop's; replies are decoded onto it */
};

struct bw_rpc_sync {
    grpc_channel *channel;
    grpc_completion_queue *cq;
};

/* ---- exchange -------------------------------------------------------------- */

static void exchange_init(rpc_exchange_t *x)
{
    memset(x, 0, sizeof(*x));
    grpc_metadata_array_init(&x->md_in);
    grpc_metadata_array_init(&x->trailer);
    x->status_text = grpc_empty_slice();
}

static void exchange_free(rpc_exchange_t *x)
{
    for (size_t i = 0; i < x->n_md_out; i++) {
        grpc_slice_unref(x->md_out[i].key);
        grpc_slice_unref(x->md_out[i].value);
    }
    free(x->md_out);
    grpc_byte_buffer_destroy(x->payload_out);
    grpc_metadata_array_destroy(&x->md_in);
    grpc_metadata_array_destroy(&x->trailer);
    grpc_byte_buffer_destroy(x->payload_in);
    grpc_slice_unref(x->status_text);
    if (x->call != NULL)
        grpc_call_unref(x->call);
}

/* Creates the call and copies what it sends; nothing is started yet. */
static int exchange_prepare(rpc_exchange_t *x, grpc_channel *channel, grpc_completion_queue *cq,
                            const char *method, const uint8_t *request, size_t request_len,
                            const bw_rpc_md_t *md, size_t n_md, int timeout_ms)
{
    exchange_init(x);
    if (method == NULL || method[0] != '/' || (request == NULL && request_len > 0) ||
        (md == NULL && n_md > 0))
        return BW_EINVAL;
    for (size_t i = 0; i < n_md; i++)
        if (md[i].key == NULL || md[i].value == NULL)
            return BW_EINVAL;

    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (timeout_ms > 0)
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    x->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                       grpc_slice_from_static_string(method), NULL, deadline, NULL);
    if (x->call == NULL)
        return BW_ENOMEM;
    if (n_md > 0) {
        x->md_out = calloc(n_md, sizeof(*x->md_out));
        if (x->md_out == NULL)
            return BW_ENOMEM;
        for (size_t i = 0; i < n_md; i++) {
            x->md_out[i].key = grpc_slice_from_copied_string(md[i].key);
            x->md_out[i].value = grpc_slice_from_copied_string(md[i].value);
            x->n_md_out++;
        }
    }
    grpc_slice body = grpc_slice_from_copied_buffer((const char *)request, request_len);
    x->payload_out = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    return x->payload_out == NULL ? BW_ENOMEM : 0;
}

/* Starts the one batch of the call; its completion is posted with tag. */
static int exchange_send(rpc_exchange_t *x, void *tag)
{
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = x->n_md_out;
    ops[0].data.send_initial_metadata.metadata = x->md_out;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = x->payload_out;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &x->md_in;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &x->payload_in;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &x->trailer;
    ops[5].data.recv_status_on_client.status = &x->status;
    ops[5].data.recv_status_on_client.status_details = &x->status_text;
    grpc_call_error rc = grpc_call_start_batch(x->call, ops, 6, tag, NULL);
    if (rc == GRPC_CALL_OK)
        return 0;
    /* upper-case or otherwise illegal metadata keys and values land here */
    return rc == GRPC_CALL_ERROR_INVALID_METADATA ? BW_EINVAL : BW_EINTERNAL;
}

/* Decodes bulwark-error-bin into reply->reason and reply->violations. */
static int decode_error_detail(bw_arena_t *arena, grpc_slice value, bw_rpc_reply_t *reply)
{
    Bulwark__Rpc__V1__ErrorDetail *detail = bulwark__rpc__v1__error_detail__unpack(
        bw_arena_protobuf_allocator(arena), GRPC_SLICE_LENGTH(value), GRPC_SLICE_START_PTR(value));
    if (detail == NULL)
        return 0; /* a malformed detail is ignored: the status still stands */
    if (detail->reason != NULL && detail->reason[0] != '\0')
        reply->reason = detail->reason;
    if (detail->retry_after_seconds > 0)
        reply->retry_after_sec = detail->retry_after_seconds;
    if (detail->n_errors == 0)
        return 0;
    bw_rpc_violation_t *v = bw_arena_calloc(arena, detail->n_errors, sizeof(*v));
    if (v == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < detail->n_errors; i++) {
        v[i].field = detail->errors[i]->field != NULL ? detail->errors[i]->field : "";
        v[i].message = detail->errors[i]->message != NULL ? detail->errors[i]->message : "";
    }
    reply->violations = v;
    reply->n_violations = detail->n_errors;
    return 0;
}

/* Fills reply from a completed exchange; everything it points to is in arena. */
static int exchange_reply(rpc_exchange_t *x, bw_arena_t *arena, bw_rpc_reply_t *reply)
{
    memset(reply, 0, sizeof(*reply));
    reply->status = (int)x->status;
    reply->message = bw_arena_strndup(arena, (const char *)GRPC_SLICE_START_PTR(x->status_text),
                                      GRPC_SLICE_LENGTH(x->status_text));
    if (reply->message == NULL)
        return BW_ENOMEM;
    if (reply->status == BW_GRPC_OK) {
        if (x->payload_in == NULL) {
            reply->status = BW_GRPC_INTERNAL;
            reply->message = "the server sent no message for a unary call";
            return 0;
        }
        grpc_byte_buffer_reader reader;
        if (!grpc_byte_buffer_reader_init(&reader, x->payload_in)) {
            reply->status = BW_GRPC_INTERNAL;
            reply->message = "could not read the reply message";
            return 0;
        }
        grpc_slice flat = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        uint8_t *payload = bw_arena_alloc(arena, GRPC_SLICE_LENGTH(flat) + 1);
        if (payload != NULL)
            memcpy(payload, GRPC_SLICE_START_PTR(flat), GRPC_SLICE_LENGTH(flat));
        reply->payload_len = GRPC_SLICE_LENGTH(flat);
        grpc_slice_unref(flat);
        if (payload == NULL)
            return BW_ENOMEM;
        reply->payload = payload;
        return 0;
    }
    for (size_t i = 0; i < x->trailer.count; i++)
        if (grpc_slice_str_cmp(x->trailer.metadata[i].key, RPC_ERROR_MD_KEY) == 0)
            return decode_error_detail(arena, x->trailer.metadata[i].value, reply);
    return 0;
}

/* ---- asynchronous client ----------------------------------------------------- */

static void active_unlink(bw_rpc_client_t *c, rpc_pending_t *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        c->active = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* Called with c->mu held. */
static void undelivered_add(bw_rpc_client_t *c, int delta)
{
    size_t before = c->n_undelivered;
    c->n_undelivered = delta > 0 ? before + (size_t)delta : before - (size_t)-delta;
    if (before == 0 && c->n_undelivered > 0) {
        struct timeval tv = {RPC_KEEPALIVE_SECONDS, 0};
        event_add(c->keepalive, &tv);
    } else if (before > 0 && c->n_undelivered == 0) {
        event_del(c->keepalive);
    }
}

/* Decodes the reply onto arena, runs the done callback, frees the call and
 * empties the arena for the next reply. */
static void pending_deliver(rpc_pending_t *p, bw_arena_t *arena)
{
    bw_rpc_reply_t reply;
    if (arena == NULL || exchange_reply(&p->x, arena, &reply) != 0) {
        memset(&reply, 0, sizeof(reply));
        reply.status = bw_status_grpc_code(BW_ENOMEM);
        reply.message = bw_strerror(BW_ENOMEM);
    }
    p->done(p->arg, &reply);
    bw_arena_reset(arena);
    exchange_free(&p->x);
    free(p);
}

/* Runs the done callbacks of every finished call, oldest first. The replies
 * are decoded one after the other onto the client's one arena (taken while
 * in use, in case a callback delivers too), so that a reply costs no arena
 * of its own. */
static void deliver_finished(bw_rpc_client_t *c)
{
    pthread_mutex_lock(&c->mu);
    rpc_pending_t *list = c->finished;
    c->finished = c->finished_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    if (list == NULL)
        return;
    bw_arena_t *arena =
        c->reply_arena != NULL ? c->reply_arena : bw_arena_create(RPC_REPLY_ARENA_SIZE);
    c->reply_arena = NULL;
    int n = 0;
    while (list != NULL) {
        rpc_pending_t *next = list->next;
        pending_deliver(list, arena);
        list = next;
        n++;
    }
    if (c->reply_arena == NULL)
        c->reply_arena = arena;
    else
        bw_arena_destroy(arena);
    pthread_mutex_lock(&c->mu);
    undelivered_add(c, -n);
    pthread_mutex_unlock(&c->mu);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deliver_finished(arg);
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void *poller_main(void *arg)
{
    bw_rpc_client_t *c = arg;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        rpc_pending_t *p = ev.tag;
        pthread_mutex_lock(&c->mu);
        active_unlink(c, p);
        if (c->finished_tail != NULL)
            c->finished_tail->next = p;
        else
            c->finished = p;
        c->finished_tail = p;
        if (--c->n_active == 0)
            pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        event_active(c->wake, 0, 0);
    }
    return NULL;
}

int bw_rpc_client_create(struct event_base *base, const bw_rpc_tls_t *tls, bw_rpc_client_t **out)
{
    *out = NULL;
    if (base == NULL || tls == NULL)
        return BW_EINVAL;
    bw_rpc_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    bw_rpc_grpc_init();
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->base = base;
    c->tls = tls;
    c->cq = grpc_completion_queue_create_for_next(NULL);
    c->wake = event_new(base, -1, 0, on_wake, c);
    c->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, c);
    if (c->cq == NULL || c->wake == NULL || c->keepalive == NULL ||
        pthread_create(&c->poller, NULL, poller_main, c) != 0) {
        bw_rpc_client_destroy(c);
        return BW_ENOMEM;
    }
    c->poller_started = 1;
    *out = c;
    return 0;
}

grpc_completion_queue *bw_rpc_client_queue(const bw_rpc_client_t *client)
{
    return client->cq;
}

/* A channel to target over mutual TLS, with the settings of every Bulwark
 * client. The server's certificate must name peer: its name, not the host in
 * target, is what the certificate is checked against, so a certificate of
 * another Bulwark process on the same host is refused. Retries are off: the
 * gateway never retries a call on its own (a write may not be repeated
 * without the client's Idempotency-Key), and the retry filter copies every
 * call's metadata even when no retry happens. A peer that went away is
 * dialled again within BW_RPC_MAX_RECONNECT_MS at the latest (gRPC's
 * default backoff grows to two minutes), so that calls succeed again soon
 * after a restarted service listens; meanwhile they fail at once
 * (UNAVAILABLE), never waiting for it. (The minimum backoff stays gRPC's:
 * it is also the time a connection attempt, TLS handshake included, may
 * take.) */
#define BW_RPC_MAX_RECONNECT_MS 1000
static grpc_channel *channel_open(const bw_rpc_tls_t *tls, const char *target, const char *peer)
{
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, GRPC_ARG_ENABLE_RETRIES, {.integer = 0}},
        {GRPC_ARG_INTEGER, GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, {.integer = 100}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, {.integer = BW_RPC_MAX_RECONNECT_MS}},
        {GRPC_ARG_STRING, GRPC_ARG_OPTIMIZATION_TARGET, {.string = "throughput"}},
        {GRPC_ARG_STRING, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, {.string = (char *)peer}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = BW_RPC_MAX_MESSAGE}},
    };
    const grpc_channel_args set = {sizeof(args) / sizeof(args[0]), args};
    grpc_channel_credentials *creds = bw_rpc_tls_channel_creds(tls);
    grpc_channel *channel = grpc_channel_create(target, creds, &set);
    grpc_channel_credentials_release(creds);
    return channel;
}

int bw_rpc_client_channel(bw_rpc_client_t *client, const char *target, const char *peer,
                          bw_rpc_channel_t **out)
{
    *out = NULL;
    if (client == NULL || target == NULL || target[0] == '\0' || peer == NULL || peer[0] == '\0')
        return BW_EINVAL;
    bw_rpc_channel_t *ch = calloc(1, sizeof(*ch));
    if (ch == NULL)
        return BW_ENOMEM;
    ch->channel = channel_open(client->tls, target, peer);
    if (ch->channel == NULL) {
        free(ch);
        return BW_EINVAL;
    }
    ch->client = client;
    pthread_mutex_lock(&client->mu);
    ch->next = client->channels;
    client->channels = ch;
    pthread_mutex_unlock(&client->mu);
    *out = ch;
    return 0;
}

int bw_rpc_call(bw_rpc_channel_t *channel, const char *method, const uint8_t *request,
                size_t request_len, const bw_rpc_md_t *md, size_t n_md, int timeout_ms,
                bw_rpc_done_fn done, void *arg)
{
    if (channel == NULL || done == NULL)
        return BW_EINVAL;
    bw_rpc_client_t *c = channel->client;
    rpc_pending_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return BW_ENOMEM;
    p->done = done;
    p->arg = arg;
    int rc = exchange_prepare(&p->x, channel->channel, c->cq, method, request, request_len, md,
                              n_md, timeout_ms);
    if (rc != 0)
        goto fail;

    /* linked before the batch starts: the poller may see it complete at once */
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        rc = BW_EUNAVAIL;
        goto fail;
    }
    p->next = c->active;
    if (c->active != NULL)
        c->active->prev = p;
    c->active = p;
    c->n_active++;
    undelivered_add(c, 1);
    pthread_mutex_unlock(&c->mu);

    rc = exchange_send(&p->x, p);
    if (rc == 0)
        return 0;
    pthread_mutex_lock(&c->mu);
    active_unlink(c, p);
    if (--c->n_active == 0)
        pthread_cond_broadcast(&c->cv);
    undelivered_add(c, -1);
    pthread_mutex_unlock(&c->mu);
fail:
    exchange_free(&p->x);
    free(p);
    return rc;
}

void bw_rpc_client_destroy(bw_rpc_client_t *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = 1;
    for (rpc_pending_t *p = c->active; p != NULL; p = p->next)
        grpc_call_cancel(p->x.call, NULL);
    while (c->n_active > 0 && c->poller_started)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    /* the loop has stopped: the callbacks run here */
    deliver_finished(c);

    if (c->cq != NULL) {
        grpc_completion_queue_shutdown(c->cq);
        if (c->poller_started)
            pthread_join(c->poller, NULL);
        else
            while (
                grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
                GRPC_QUEUE_SHUTDOWN)
                ;
        grpc_completion_queue_destroy(c->cq);
    }
    while (c->channels != NULL) {
        bw_rpc_channel_t *next = c->channels->next;
        grpc_channel_destroy(c->channels->channel);
        free(c->channels);
        c->channels = next;
    }
    if (c->wake != NULL)
        event_free(c->wake);
    if (c->keepalive != NULL)
        event_free(c->keepalive);
    bw_arena_destroy(c->reply_arena);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    grpc_shutdown();
}

/* ---- blocking client --------------------------------------------------------- */

int bw_rpc_sync_open(const bw_rpc_tls_t *tls, const char *target, const char *peer,
                     bw_rpc_sync_t **out)
{
    *out = NULL;
    if (tls == NULL || target == NULL || target[0] == '\0' || peer == NULL || peer[0] == '\0')
        return BW_EINVAL;
    bw_rpc_sync_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BW_ENOMEM;
    bw_rpc_grpc_init();
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    s->channel = channel_open(tls, target, peer);
    if (s->cq == NULL || s->channel == NULL) {
        bw_rpc_sync_close(s);
        return BW_ENOMEM;
    }
    *out = s;
    return 0;
}

void bw_rpc_sync_close(bw_rpc_sync_t *s)
{
    if (s == NULL)
        return;
    if (s->channel != NULL)
        grpc_channel_destroy(s->channel);
    if (s->cq != NULL) {
        /* every call plucked its own completion: the queue is empty */
        grpc_completion_queue_shutdown(s->cq);
        while (grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
                   .type != GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(s->cq);
    }
    free(s);
    grpc_shutdown();
}

int bw_rpc_sync_call(bw_rpc_sync_t *sync, bw_arena_t *arena, const char *method,
                     const uint8_t *request, size_t request_len, const bw_rpc_md_t *md, size_t n_md,
                     int timeout_ms, bw_rpc_reply_t *reply)
{
    if (sync == NULL || arena == NULL || reply == NULL)
        return BW_EINVAL;
    memset(reply, 0, sizeof(*reply));
    rpc_exchange_t x;
    int rc = exchange_prepare(&x, sync->channel, sync->cq, method, request, request_len, md, n_md,
                              timeout_ms);
    if (rc == 0)
        rc = exchange_send(&x, &x);
    if (rc == 0) {
        /* the call's deadline bounds this wait */
        grpc_event ev =
            grpc_completion_queue_pluck(sync->cq, &x, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            rc = BW_EINTERNAL;
        else
            rc = exchange_reply(&x, arena, reply);
    }
    exchange_free(&x);
    return rc;
}

/* ---- a pool of blocking channels ---------------------------------------- */

struct bw_rpc_pool {
    const bw_rpc_tls_t *tls;
    char *target, *peer;
    pthread_mutex_t mu;
    bw_rpc_sync_t **idle;
    int n_idle, cap;
};

int bw_rpc_pool_open(const bw_rpc_tls_t *tls, const char *target, const char *peer, int size,
                     bw_rpc_pool_t **out)
{
    *out = NULL;
    if (tls == NULL || target == NULL || target[0] == '\0' || peer == NULL || size < 1)
        return BW_EINVAL;
    bw_rpc_pool_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return BW_ENOMEM;
    p->target = strdup(target);
    p->peer = strdup(peer);
    p->idle = calloc((size_t)size, sizeof(*p->idle));
    if (p->target == NULL || p->peer == NULL || p->idle == NULL) {
        free(p->target);
        free(p->peer);
        free(p->idle);
        free(p);
        return BW_ENOMEM;
    }
    p->tls = tls;
    p->cap = size;
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return 0;
}

void bw_rpc_pool_close(bw_rpc_pool_t *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n_idle; i++)
        bw_rpc_sync_close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p->target);
    free(p->peer);
    free(p);
}

int bw_rpc_pool_call(bw_rpc_pool_t *p, bw_arena_t *arena, const char *method,
                     const uint8_t *request, size_t request_len, const bw_rpc_md_t *md, size_t n_md,
                     int timeout_ms, bw_rpc_reply_t *reply)
{
    pthread_mutex_lock(&p->mu);
    bw_rpc_sync_t *sync = p->n_idle > 0 ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->mu);
    int err = sync != NULL ? 0 : bw_rpc_sync_open(p->tls, p->target, p->peer, &sync);
    if (err != 0)
        return err;
    err = bw_rpc_sync_call(sync, arena, method, request, request_len, md, n_md, timeout_ms, reply);
    pthread_mutex_lock(&p->mu);
    if (p->n_idle < p->cap) {
        p->idle[p->n_idle++] = sync;
        sync = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    bw_rpc_sync_close(sync);
    return err;
}
