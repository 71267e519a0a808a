/*
 * The incidents client; see incidents_client.h. Its channels are a pool of
 * blocking channels (bw_rpc_pool_t), one per worker at most.
 */
#include "incidents_client.h"

#include "log.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

#define SERVICE "/bulwark.incidents.v1.IncidentsService/"

struct bw_incidents_client {
    bw_rpc_pool_t *pool;
    int timeout_ms;
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
    int err = bw_rpc_pool_open(tls, target, "incidents", pool_size, &c->pool);
    if (err != 0) {
        free(c);
        return err;
    }
    c->timeout_ms = timeout_ms;
    *out = c;
    return 0;
}

void bw_incidents_client_close(bw_incidents_client_t *c)
{
    if (c == NULL)
        return;
    bw_rpc_pool_close(c->pool);
    free(c);
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
    static const char *const paths[] = {SERVICE "CreateIncident", SERVICE "AppendEvent",
                                        SERVICE "SetExternalRef"};
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
    int err = bw_rpc_pool_call(c->pool, arena, path, buf, len, md, n, c->timeout_ms, reply);
    if (err == BW_ENOMEM)
        return err;
    if (err != 0) {
        bw_log(BW_LOG_WARN, log, "incidents service unavailable: %s", bw_strerror(err));
        return BW_EUNAVAIL;
    }
    return 0;
}
