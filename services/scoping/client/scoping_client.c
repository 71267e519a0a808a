/*
 * The scoping client; see scoping_client.h. Its channels are a pool of
 * blocking channels (bw_rpc_pool_t in common/rpc.h): a call borrows one and
 * gives it back; should more threads than the pool's size ask at once, the
 * extra ones get a channel of their own for that call.
 */
#include "scoping_client.h"

#include "log.h"
#include "status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GET_ENTITY "/bulwark.scoping.v1.ScopingService/GetEntity"
#define LIST_ENTITY_TYPES "/bulwark.scoping.v1.ScopingService/ListEntityTypes"

/* One entity type of the cached catalogue. */
typedef struct type_entry {
    char *code;
    int ir_article;
} type_entry_t;

struct bw_scoping_client {
    bw_rpc_pool_t *pool;
    int timeout_ms;
    pthread_mutex_t mu; /* guards the catalogue */
    /* The entity-type catalogue, sorted by code (under mu). */
    type_entry_t *types;
    size_t n_types;
    time_t types_fetched; /* 0: never */
};

int bw_scoping_client_open(const bw_rpc_tls_t *tls, const char *target, int pool_size,
                           int timeout_ms, bw_scoping_client_t **out)
{
    *out = NULL;
    if (tls == NULL || target == NULL || target[0] == '\0' || pool_size < 1)
        return BW_EINVAL;
    bw_scoping_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return BW_ENOMEM;
    int err = bw_rpc_pool_open(tls, target, "scoping", pool_size, &c->pool);
    if (err != 0) {
        free(c);
        return err;
    }
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

static void free_types(type_entry_t *types, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(types[i].code);
    free(types);
}

void bw_scoping_client_close(bw_scoping_client_t *c)
{
    if (c == NULL)
        return;
    free_types(c->types, c->n_types);
    bw_rpc_pool_close(c->pool);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int unavailable(bw_call_t *call, const char *why)
{
    bw_log(BW_LOG_WARN, &call->log, "scoping service unavailable: %s", why);
    return BW_EUNAVAIL;
}

/* Calls method with the packed request and the caller's metadata; 0 with
 * *reply filled (any status), or BW_EUNAVAIL (logged) or BW_ENOMEM. */
static int call_scoping(bw_scoping_client_t *c, bw_call_t *call, const char *method,
                        const uint8_t *buf, size_t len, bw_rpc_reply_t *reply)
{
    bw_rpc_md_t md[5];
    size_t n_md = 0;
    char traceparent[BW_TRACEPARENT_LEN + 1];
    if (bw_call_traceparent(call, traceparent) == 0)
        md[n_md++] = (bw_rpc_md_t){"traceparent", traceparent};
    if (call->tenant_id != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-tenant-id", call->tenant_id};
    if (call->principal != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-principal", call->principal};
    if (call->roles != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-roles", call->roles};
    if (call->request_id != NULL)
        md[n_md++] = (bw_rpc_md_t){"x-request-id", call->request_id};

    int err =
        bw_rpc_pool_call(c->pool, call->arena, method, buf, len, md, n_md, c->timeout_ms, reply);
    if (err == BW_ENOMEM)
        return err;
    return err != 0 ? unavailable(call, bw_strerror(err)) : 0;
}

static int get_entity(bw_scoping_client_t *c, bw_call_t *call, const char *entity_id,
                      Bulwark__Scoping__V1__GetEntityRequest__View view, bw_entity_info_t *out)
{
    Bulwark__Scoping__V1__GetEntityRequest req = BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__INIT;
    req.id = (char *)entity_id;
    req.view = view;
    size_t len = bulwark__scoping__v1__get_entity_request__get_packed_size(&req);
    uint8_t *buf = bw_arena_alloc(call->arena, len ? len : 1);
    if (buf == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__get_entity_request__pack(&req, buf);

    bw_rpc_reply_t reply;
    int err = call_scoping(c, call, GET_ENTITY, buf, len, &reply);
    if (err != 0)
        return err;
    if (reply.status == BW_GRPC_NOT_FOUND || reply.status == BW_GRPC_INVALID_ARGUMENT)
        return BW_ENOTFOUND;
    if (reply.status == BW_GRPC_FAILED_PRECONDITION &&
        view == BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__VIEW__FULL)
        return BW_EPRECOND;
    if (reply.status != BW_GRPC_OK)
        return unavailable(call, bw_arena_printf(call->arena, "GetEntity answered %s: %s",
                                                 bw_status_grpc_name(reply.status), reply.message));
    Bulwark__Scoping__V1__Entity *e = bulwark__scoping__v1__entity__unpack(
        bw_arena_protobuf_allocator(call->arena), reply.payload_len, reply.payload);
    if (e == NULL)
        return unavailable(call, "GetEntity answered an entity that does not parse");
    if (view == BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__VIEW__FULL && e->applicability == NULL)
        return unavailable(call, "GetEntity answered no applicability for view FULL");
    out->entity = e;
    out->time_zone = e->time_zone;
    out->applicability = e->applicability;
    out->trust_service_provider =
        e->applicability != NULL && e->applicability->trust_service_provider;
    return 0;
}

int bw_scoping_client_entity(bw_scoping_client_t *c, bw_call_t *call, const char *entity_id,
                             bw_entity_info_t *out)
{
    return get_entity(c, call, entity_id, BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__VIEW__BASIC,
                      out);
}

int bw_scoping_client_entity_full(bw_scoping_client_t *c, bw_call_t *call, const char *entity_id,
                                  bw_entity_info_t *out)
{
    return get_entity(c, call, entity_id, BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__VIEW__FULL,
                      out);
}

/* ---- the entity-type catalogue ------------------------------------------ */

static int by_code(const void *a, const void *b)
{
    return strcmp(((const type_entry_t *)a)->code, ((const type_entry_t *)b)->code);
}

/* Asks scoping for the catalogue: *out (caller owns, sorted by code). */
static int fetch_types(bw_scoping_client_t *c, bw_call_t *call, type_entry_t **out, size_t *n_out)
{
    bw_rpc_reply_t reply;
    int err = call_scoping(c, call, LIST_ENTITY_TYPES, (const uint8_t *)"", 0, &reply);
    if (err != 0)
        return err;
    if (reply.status != BW_GRPC_OK)
        return unavailable(call, bw_arena_printf(call->arena, "ListEntityTypes answered %s: %s",
                                                 bw_status_grpc_name(reply.status), reply.message));
    Bulwark__Scoping__V1__ListEntityTypesResponse *r =
        bulwark__scoping__v1__list_entity_types_response__unpack(
            bw_arena_protobuf_allocator(call->arena), reply.payload_len, reply.payload);
    if (r == NULL || r->n_entity_types == 0)
        return unavailable(call, "ListEntityTypes answered no catalogue");
    type_entry_t *types = calloc(r->n_entity_types, sizeof(*types));
    if (types == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < r->n_entity_types; i++) {
        types[i].ir_article = r->entity_types[i]->implementing_regulation_article;
        if ((types[i].code = strdup(r->entity_types[i]->code)) == NULL) {
            free_types(types, i);
            return BW_ENOMEM;
        }
    }
    qsort(types, r->n_entity_types, sizeof(*types), by_code);
    *out = types;
    *n_out = r->n_entity_types;
    return 0;
}

int bw_scoping_client_entity_types(bw_scoping_client_t *c, bw_call_t *call,
                                   const char *const *codes, size_t n, bw_entity_type_info_t *out)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&c->mu);
    int stale = c->types_fetched == 0 || now - c->types_fetched >= BW_SCOPING_TYPES_TTL_SEC;
    pthread_mutex_unlock(&c->mu);
    if (stale) {
        /* Fetched without the lock (a call may take the whole timeout);
         * two workers refreshing at once both fetch, the later one wins. */
        type_entry_t *types;
        size_t n_types;
        int err = fetch_types(c, call, &types, &n_types);
        if (err == BW_ENOMEM)
            return err;
        pthread_mutex_lock(&c->mu);
        if (err == 0) {
            free_types(c->types, c->n_types);
            c->types = types;
            c->n_types = n_types;
            c->types_fetched = now;
        }
        int have = c->types != NULL;
        pthread_mutex_unlock(&c->mu);
        if (!have)
            return BW_EUNAVAIL;
        if (err != 0)
            bw_log(BW_LOG_WARN, &call->log,
                   "using the entity-type catalogue fetched before: scoping did not answer");
    }
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        type_entry_t key = {(char *)codes[i], 0};
        const type_entry_t *hit =
            c->types != NULL ? bsearch(&key, c->types, c->n_types, sizeof(key), by_code) : NULL;
        out[i].known = hit != NULL;
        out[i].ir_article = hit != NULL ? hit->ir_article : 0;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}
