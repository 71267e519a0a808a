/*
 * GetEntity over blocking gRPC from the worker threads; see scoping.h. A
 * blocking channel plucks its completions from a queue of its own, which
 * gRPC lets only a few threads wait on at once, so the channels form a pool:
 * a call takes an idle one (or opens one) and puts it back. Nothing about a
 * tenant or an entity is cached between calls: a deleted entity answers 404
 * at once.
 */
#include "scoping.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"

#include "ids.h"
#include "log.h"
#include "status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GET_ENTITY "/bulwark.scoping.v1.ScopingService/GetEntity"
#define POOL_MAX 64

struct bw_cw_scoping {
    char *addr;
    int timeout_ms;
    pthread_mutex_t mu;
    bw_rpc_sync_t *idle[POOL_MAX];
    size_t n_idle;
};

int bw_cw_scoping_open(const char *addr, int timeout_ms, bw_cw_scoping_t **out)
{
    bw_cw_scoping_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BW_ENOMEM;
    s->addr = strdup(addr);
    if (s->addr == NULL) {
        free(s);
        return BW_ENOMEM;
    }
    s->timeout_ms = timeout_ms;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void bw_cw_scoping_close(bw_cw_scoping_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_idle; i++)
        bw_rpc_sync_close(s->idle[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->addr);
    free(s);
}

static int take(bw_cw_scoping_t *s, bw_rpc_sync_t **out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->n_idle > 0 ? s->idle[--s->n_idle] : NULL;
    pthread_mutex_unlock(&s->mu);
    return *out != NULL ? 0 : bw_rpc_sync_open(s->addr, out);
}

static void give_back(bw_cw_scoping_t *s, bw_rpc_sync_t *sync)
{
    pthread_mutex_lock(&s->mu);
    if (s->n_idle < POOL_MAX) {
        s->idle[s->n_idle++] = sync;
        sync = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    bw_rpc_sync_close(sync);
}

static int not_found(bw_call_t *call, const char *entity)
{
    return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", entity);
}

int bw_cw_scoping_check_entity(bw_cw_scoping_t *s, bw_call_t *call, const char *entity)
{
    if (!bw_uuid_valid(entity) || call->tenant_id == NULL)
        return not_found(call, entity);
    Bulwark__Scoping__V1__GetEntityRequest req = BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__INIT;
    req.id = (char *)entity;
    uint8_t buf[64];
    size_t len = bulwark__scoping__v1__get_entity_request__get_packed_size(&req);
    if (len > sizeof(buf))
        return not_found(call, entity);
    bulwark__scoping__v1__get_entity_request__pack(&req, buf);

    bw_rpc_md_t md[4];
    size_t n_md = 0;
    md[n_md++] = (bw_rpc_md_t){"x-tenant-id", call->tenant_id};
    if (call->request_id != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-request-id", call->request_id};
    if (call->principal != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-principal", call->principal};
    if (call->roles != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-roles", call->roles};

    bw_rpc_sync_t *sync;
    int err = take(s, &sync);
    if (err != 0)
        return bw_call_fail(call, BW_EUNAVAIL, "BACKEND_UNAVAILABLE",
                            "could not reach the scoping service");
    bw_rpc_reply_t reply;
    err =
        bw_rpc_sync_call(sync, call->arena, GET_ENTITY, buf, len, md, n_md, s->timeout_ms, &reply);
    give_back(s, sync);
    if (err != 0) {
        bw_log(BW_LOG_ERROR, &call->log, "GetEntity on the scoping service failed: %s",
               bw_strerror(err));
        return bw_call_fail(call, BW_EUNAVAIL, "BACKEND_UNAVAILABLE",
                            "could not reach the scoping service");
    }
    switch (reply.status) {
    case BW_GRPC_OK:
        return 0;
    case BW_GRPC_NOT_FOUND:
        return not_found(call, entity);
    case BW_GRPC_UNAVAILABLE:
    case BW_GRPC_DEADLINE_EXCEEDED:
    case BW_GRPC_CANCELLED:
        return bw_call_fail(call, BW_EUNAVAIL, "BACKEND_UNAVAILABLE",
                            "the scoping service is unavailable");
    default:
        bw_log(BW_LOG_ERROR, &call->log, "GetEntity on the scoping service answered %s: %s",
               bw_status_grpc_name(reply.status), reply.message);
        return bw_call_fail(call, BW_EINTERNAL, NULL, "could not look up entity %s", entity);
    }
}
