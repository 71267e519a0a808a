/*
 * The incidents client; see incidents_client.h. Its channels are a pool of
 * blocking channels (bw_rpc_pool_t), one per worker at most, and, for the
 * dispatcher, one channel of an asynchronous client (bw_rpc_client_t).
 */
#include "incidents_client.h"

#include "log.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

#define SERVICE "/bulwark.incidents.v1.IncidentsService/"

struct bw_incidents_client {
    bw_rpc_pool_t *pool;
    const bw_rpc_tls_t *tls;
    char *target;
    int timeout_ms;
};

struct bw_incidents_async {
    const bw_incidents_client_t *client;
    bw_rpc_client_t *rpc;
    bw_rpc_channel_t *channel;
};

int bw_incidents_client_open(const bw_rpc_tls_t *tls, const char *target, int pool_size,
                             int timeout_ms, bw_incidents_client_t **out)
{
    *out = NULL;
    if (tls == NULL || target == NULL || target[0] == '\0' || pool_size < 1)
        return BW_EINVAL;
    bw_incidents_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    c->target = strdup(target);
    int err = c->target != NULL ? bw_rpc_pool_open(tls, target, "incidents", pool_size, &c->pool)
                                : BW_ENOMEM;
    if (err != 0) {
        free(c->target);
        free(c);
        return err;
    }
    c->tls = tls;
    c->timeout_ms = timeout_ms;
    *out = c;
    return 0;
}

void bw_incidents_client_close(bw_incidents_client_t *c)
{
    if (c == NULL)
        return;
    bw_rpc_pool_close(c->pool);
    free(c->target);
    free(c);
}

/* The call's metadata into md (7 entries), how many. */
static size_t caller_md(const bw_incidents_caller_t *who, bw_rpc_md_t *md)
{
    size_t n = 0;
    md[n++] = (bw_rpc_md_t){"x-tenant-id", who->tenant_id};
    md[n++] = (bw_rpc_md_t){"x-principal", who->principal};
    md[n++] = (bw_rpc_md_t){"x-roles", "editor"};
    md[n++] = (bw_rpc_md_t){"x-bulwark-origin", who->origin};
    if (who->request_id != NULL)
        md[n++] = (bw_rpc_md_t){"x-request-id", who->request_id};
    if (who->idempotency_key != NULL)
        md[n++] = (bw_rpc_md_t){"idempotency-key", who->idempotency_key};
    return n;
}

/* The method's path, or NULL for another method. gRPC keeps the method's
 * slice as static (its header compressor remembers it across calls on the
 * channel): the path must outlive the channel, so it comes from this
 * table, never from an arena. */
static const char *method_path(const char *method)
{
    static const char *const paths[] = {SERVICE "CreateIncident", SERVICE "AppendEvent",
                                        SERVICE "SetExternalRef", SERVICE "GetIncident"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(paths[i] + strlen(SERVICE), method) == 0)
            return paths[i];
    return NULL;
}

/* What a call sends, the same for both kinds. */
typedef struct outgoing {
    const char *path;
    bw_rpc_md_t md[7];
    size_t n_md;
    uint8_t *buf; /* the packed request: on arena, or malloc'd when arena is NULL */
    size_t len;
} outgoing_t;

/* The method's path, who's metadata and the packed request into *out:
 * BW_EINVAL for another method, BW_ENOMEM. */
static int outgoing(const char *method, const ProtobufCMessage *request,
                    const bw_incidents_caller_t *who, bw_arena_t *arena, outgoing_t *out)
{
    out->n_md = caller_md(who, out->md);
    if ((out->path = method_path(method)) == NULL)
        return BW_EINVAL;
    out->len = protobuf_c_message_get_packed_size(request);
    size_t size = out->len ? out->len : 1;
    out->buf = arena != NULL ? bw_arena_alloc(arena, size) : malloc(size);
    if (out->buf == NULL)
        return BW_ENOMEM;
    protobuf_c_message_pack(request, out->buf);
    return 0;
}

int bw_incidents_client_call(bw_incidents_client_t *c, bw_arena_t *arena, const bw_log_ctx_t *log,
                             const char *method, const ProtobufCMessage *request,
                             const bw_incidents_caller_t *who, bw_rpc_reply_t *reply)
{
    outgoing_t o;
    int err = outgoing(method, request, who, arena, &o);
    if (err != 0)
        return err;
    err =
        bw_rpc_pool_call(c->pool, arena, o.path, o.buf, o.len, o.md, o.n_md, c->timeout_ms, reply);
    if (err == BW_ENOMEM)
        return err;
    if (err != 0) {
        bw_log(BW_LOG_WARN, log, "incidents service unavailable: %s", bw_strerror(err));
        return BW_EUNAVAIL;
    }
    return 0;
}

/* ---- asynchronous ------------------------------------------------------- */

int bw_incidents_async_open(const bw_incidents_client_t *client, struct event_base *base,
                            bw_incidents_async_t **out)
{
    *out = NULL;
    bw_incidents_async_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return BW_ENOMEM;
    a->client = client;
    int err = bw_rpc_client_create(base, client->tls, &a->rpc);
    if (err == 0)
        err = bw_rpc_client_channel(a->rpc, client->target, "incidents", &a->channel);
    if (err != 0) {
        bw_incidents_async_close(a);
        return err;
    }
    *out = a;
    return 0;
}

void bw_incidents_async_close(bw_incidents_async_t *a)
{
    if (a == NULL)
        return;
    bw_rpc_client_destroy(a->rpc);
    free(a);
}

int bw_incidents_async_call(bw_incidents_async_t *a, const char *method,
                            const ProtobufCMessage *request, const bw_incidents_caller_t *who,
                            bw_rpc_done_fn done, void *arg)
{
    outgoing_t o;
    int err = outgoing(method, request, who, NULL, &o);
    if (err != 0)
        return err;
    /* request and metadata are copied by the call */
    err = bw_rpc_call(a->channel, o.path, o.buf, o.len, o.md, o.n_md, a->client->timeout_ms, done,
                      arg);
    free(o.buf);
    return err;
}
