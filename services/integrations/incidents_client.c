/*
 * The incidents client; see incidents_client.h. A blocking channel plucks
 * its own completion queue, so a channel serves one thread at a time:
 * workers borrow one from the pool for a call and give it back.
 */
#include "incidents_client.h"

#include "log.h"
#include "status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE "/bulwark.incidents.v1.IncidentsService/"

struct bw_incidents_client {
    const bw_rpc_tls_t *tls;
    char *target;
    int timeout_ms;
    pthread_mutex_t mu;
    bw_rpc_sync_t **idle;
    int n_idle, cap;
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
    c->idle = calloc((size_t)pool_size, sizeof(*c->idle));
    if (c->target == NULL || c->idle == NULL) {
        free(c->target);
        free(c->idle);
        free(c);
        return BW_ENOMEM;
    }
    c->tls = tls;
    c->cap = pool_size;
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

void bw_incidents_client_close(bw_incidents_client_t *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->n_idle; i++)
        bw_rpc_sync_close(c->idle[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->idle);
    free(c->target);
    free(c);
}

static int borrow(bw_incidents_client_t *c, bw_rpc_sync_t **out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->n_idle > 0 ? c->idle[--c->n_idle] : NULL;
    pthread_mutex_unlock(&c->mu);
    return *out != NULL ? 0 : bw_rpc_sync_open(c->tls, c->target, "incidents", out);
}

static void give_back(bw_incidents_client_t *c, bw_rpc_sync_t *sync)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_idle < c->cap) {
        c->idle[c->n_idle++] = sync;
        sync = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    bw_rpc_sync_close(sync);
}

int bw_incidents_client_call(bw_incidents_client_t *c, bw_arena_t *arena, const bw_log_ctx_t *log,
                             const char *method, const ProtobufCMessage *request,
                             const bw_incidents_caller_t *who, bw_rpc_reply_t *reply)
{
    bw_rpc_md_t md[7];
    size_t n = 0;
    md[n++] = (bw_rpc_md_t){"x-tenant-id", who->tenant_id};
    md[n++] = (bw_rpc_md_t){"x-principal", who->principal};
    md[n++] = (bw_rpc_md_t){"x-roles", "editor"};
    md[n++] = (bw_rpc_md_t){"x-bulwark-origin", who->origin};
    if (who->request_id != NULL)
        md[n++] = (bw_rpc_md_t){"x-request-id", who->request_id};
    if (who->idempotency_key != NULL)
        md[n++] = (bw_rpc_md_t){"idempotency-key", who->idempotency_key};
    /* gRPC keeps the method's slice as static (its header compressor
     * remembers it across calls on the channel): the path must outlive
     * the channel, so it comes from this table, never from the arena. */
    static const char *const paths[] = {SERVICE "CreateIncident", SERVICE "AppendEvent"};
    const char *path = NULL;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(paths[i] + strlen(SERVICE), method) == 0)
            path = paths[i];
    if (path == NULL)
        return BW_EINVAL;
    size_t len = protobuf_c_message_get_packed_size(request);
    uint8_t *buf = bw_arena_alloc(arena, len ? len : 1);
    if (buf == NULL)
        return BW_ENOMEM;
    protobuf_c_message_pack(request, buf);
    bw_rpc_sync_t *sync;
    int err = borrow(c, &sync);
    if (err == 0) {
        err = bw_rpc_sync_call(sync, arena, path, buf, len, md, n, c->timeout_ms, reply);
        give_back(c, sync);
    }
    if (err == BW_ENOMEM)
        return err;
    if (err != 0) {
        bw_log(BW_LOG_WARN, log, "incidents service unavailable: %s", bw_strerror(err));
        return BW_EUNAVAIL;
    }
    return 0;
}
