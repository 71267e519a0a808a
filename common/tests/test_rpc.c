/*
 * Check suite of the gRPC runtime: real servers and clients over loopback
 * between threads of one process. The test service uses
 * bulwark.rpc.v1.ErrorDetail as request and response: the echo method returns
 * the reason it got and one violation per metadata entry it saw, the fail
 * method fails in the way the reason names, the sleep method sleeps for the
 * number of milliseconds in the reason before echoing, the read method
 * says whether its call's first read was run ahead (and for which request).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "db.h"
#include "metrics.h"
#include "rpc.h"
#include "status.h"
#include "tls_fixture.h"

#include "bulwark/lifecycle/v1/lifecycle.pb-c.h"
#include "bulwark/rpc/v1/error.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#define ECHO "/bulwark.test.v1.Echo/Echo"
#define FAIL "/bulwark.test.v1.Echo/Fail"
#define SLEEP "/bulwark.test.v1.Echo/Sleep"
#define READ "/bulwark.test.v1.Echo/Read"
#define HEALTH "/grpc.health.v1.Health/Check"
#define MAX_SEEN 16

/* ---- the test service -------------------------------------------------------- */

static atomic_int handlers_started;
static atomic_int handlers_finished;
static atomic_int inits;
static atomic_int finis;
static atomic_int health_down;
static atomic_int fail_second_init;

static char worker_label[] = "worker-data";

static Bulwark__Rpc__V1__ErrorDetail *new_detail(bw_call_t *call, const char *reason)
{
    Bulwark__Rpc__V1__ErrorDetail *d = bw_arena_calloc(call->arena, 1, sizeof(*d));
    bulwark__rpc__v1__error_detail__init(d);
    d->reason = bw_arena_strdup(call->arena, reason);
    d->errors = bw_arena_calloc(call->arena, MAX_SEEN, sizeof(*d->errors));
    return d;
}

static void add_seen(bw_call_t *call, Bulwark__Rpc__V1__ErrorDetail *d, const char *field,
                     const char *value)
{
    if (value == NULL || d->n_errors == MAX_SEEN)
        return;
    Bulwark__Rpc__V1__FieldViolation *v = bw_arena_calloc(call->arena, 1, sizeof(*v));
    bulwark__rpc__v1__field_violation__init(v);
    v->field = (char *)field;
    v->message = bw_arena_strdup(call->arena, value);
    d->errors[d->n_errors++] = v;
}

static int handle_echo(bw_call_t *call, const ProtobufCMessage *request,
                       ProtobufCMessage **response)
{
    const Bulwark__Rpc__V1__ErrorDetail *req = (const Bulwark__Rpc__V1__ErrorDetail *)request;
    Bulwark__Rpc__V1__ErrorDetail *d = new_detail(call, req->reason);
    add_seen(call, d, "peer", call->peer);
    add_seen(call, d, "x-tenant-id", call->tenant_id);
    add_seen(call, d, "x-principal", call->principal);
    add_seen(call, d, "x-roles", call->roles);
    add_seen(call, d, "x-request-id", call->request_id);
    add_seen(call, d, "idempotency-key", call->idempotency_key);
    add_seen(call, d, "log.request_id", call->log.request_id);
    add_seen(call, d, "log.tenant_id", call->log.tenant_id);
    add_seen(call, d, "worker_data", call->worker_data);
    add_seen(call, d, "service_data", call->service_data);
    if (bw_call_has_role(call, "auditor"))
        add_seen(call, d, "role", "auditor");
    *response = &d->base;
    return 0;
}

static int handle_fail(bw_call_t *call, const ProtobufCMessage *request,
                       ProtobufCMessage **response)
{
    const char *how = ((const Bulwark__Rpc__V1__ErrorDetail *)request)->reason;
    if (strcmp(how, "violations") == 0) {
        bw_call_violation(call, "timeZone", "must be an IANA time zone, got %s", "Mars/Olympus");
        return bw_call_violation(call, "activities[0].entityType", "is required");
    }
    if (strcmp(how, "notfound") == 0)
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s does not exist",
                            "e-42");
    if (strcmp(how, "null") == 0) {
        *response = NULL;
        return 0;
    }
    if (strcmp(how, "wrongtype") == 0) {
        Grpc__Health__V1__HealthCheckResponse *r = bw_arena_calloc(call->arena, 1, sizeof(*r));
        grpc__health__v1__health_check_response__init(r);
        *response = &r->base;
        return 0;
    }
    if (strcmp(how, "positive") == 0)
        return 7;
    return BW_EPERM; /* no reason, no detail: the defaults */
}

static int handle_sleep(bw_call_t *call, const ProtobufCMessage *request,
                        ProtobufCMessage **response)
{
    const char *reason = ((const Bulwark__Rpc__V1__ErrorDetail *)request)->reason;
    handlers_started++;
    long ms = strtol(reason, NULL, 10);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    handlers_finished++;
    *response = &new_detail(call, reason)->base;
    return 0;
}

/* The read's first statement, named ahead: its request's reason as the
 * value; a reason starting "skip" names none. */
static int read_ahead(const bw_call_t *call, const ProtobufCMessage *request, bw_db_ahead_t *out)
{
    const char *reason = ((const Bulwark__Rpc__V1__ErrorDetail *)request)->reason;
    if (strncmp(reason, "skip", 4) == 0)
        return 0;
    out->tenant_id = call->tenant_id;
    out->n_values = 1;
    out->values[0] = reason;
    return 1;
}

/* Echoes "ahead:<the value read ahead>" when the call's read went ahead,
 * else "alone:<reason>". */
static int handle_read(bw_call_t *call, const ProtobufCMessage *request,
                       ProtobufCMessage **response)
{
    const char *reason = ((const Bulwark__Rpc__V1__ErrorDetail *)request)->reason;
    char echoed[96];
    if (call->ahead != NULL)
        snprintf(echoed, sizeof(echoed), "ahead:%s", call->ahead->values[0]);
    else
        snprintf(echoed, sizeof(echoed), "alone:%s", reason);
    *response = &new_detail(call, echoed)->base;
    return 0;
}

/* opts.ahead of the test server: names each call's read as the service's
 * would and counts the batches. */
static atomic_int batch_max;
static atomic_int batches;
static void batch_reads(void *worker_data, bw_call_t *const *calls,
                        const bw_rpc_method_t *const *ms, const ProtobufCMessage *const *requests,
                        int n)
{
    ck_assert_ptr_eq(worker_data, worker_label);
    ck_assert_int_gt(n, 1);
    ck_assert_int_le(n, BW_RPC_BATCH_MAX);
    batches++;
    if (n > batch_max)
        batch_max = n;
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_eq(ms[i]->handler, handle_read);
        bw_db_ahead_t *item = bw_arena_calloc(calls[i]->arena, 1, sizeof(*item));
        if (ms[i]->ahead(calls[i], requests[i], item) == 1)
            calls[i]->ahead = item;
    }
}

/* methods[READ_METHOD] is the read. */
#define READ_METHOD 3
static const bw_rpc_method_t methods[] = {
    {ECHO, &bulwark__rpc__v1__error_detail__descriptor, &bulwark__rpc__v1__error_detail__descriptor,
     handle_echo},
    {FAIL, &bulwark__rpc__v1__error_detail__descriptor, &bulwark__rpc__v1__error_detail__descriptor,
     handle_fail},
    {SLEEP, &bulwark__rpc__v1__error_detail__descriptor,
     &bulwark__rpc__v1__error_detail__descriptor, handle_sleep},
    {READ, &bulwark__rpc__v1__error_detail__descriptor, &bulwark__rpc__v1__error_detail__descriptor,
     handle_read, 0, read_ahead},
};

static char service_label[] = "service-data";

/* The server is "scoping"; the tests call it as "gateway", which may call
 * every method, unless they say otherwise. "crosswalk" may call Echo only. */
static bw_rpc_tls_t *srv_tls;
static bw_rpc_tls_t *gw_tls;
static const char *const echo_only[] = {ECHO, NULL};
static const bw_rpc_peer_t peers[] = {{"gateway", NULL}, {"crosswalk", echo_only}};

static void tls_setup(void)
{
    srv_tls = bw_test_tls_open("scoping");
    gw_tls = bw_test_tls_open("gateway");
}

static void tls_teardown(void)
{
    bw_rpc_tls_close(gw_tls);
    bw_rpc_tls_close(srv_tls);
    gw_tls = srv_tls = NULL;
}

static int worker_init(void *service_data, void **worker_data)
{
    ck_assert_ptr_eq(service_data, service_label);
    int n = ++inits;
    if (fail_second_init && n == 2)
        return BW_EUNAVAIL; /* the second worker cannot connect */
    *worker_data = worker_label;
    return 0;
}

static void worker_fini(void *service_data, void *worker_data)
{
    ck_assert_ptr_eq(service_data, service_label);
    ck_assert_ptr_eq(worker_data, worker_label);
    finis++;
}

static int health(void *service_data, void *worker_data)
{
    ck_assert_ptr_eq(service_data, service_label);
    ck_assert_ptr_eq(worker_data, worker_label);
    return health_down ? BW_EUNAVAIL : 0;
}

static bw_rpc_server_opts_t server_opts(int workers)
{
    bw_rpc_server_opts_t opts = {
        .name = "test",
        .addr = "127.0.0.1:0",
        .tls = srv_tls,
        .peers = peers,
        .n_peers = sizeof(peers) / sizeof(peers[0]),
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .workers = workers,
        .service_data = service_label,
        .worker_init = worker_init,
        .worker_fini = worker_fini,
        .health = health,
    };
    return opts;
}

/* Starts a server with opts; its address into target. */
static bw_rpc_server_t *start_server_with(const bw_rpc_server_opts_t *opts, char *target,
                                          size_t len)
{
    bw_rpc_server_t *server = NULL;
    ck_assert_int_eq(bw_rpc_server_start(opts, &server), 0);
    ck_assert_ptr_nonnull(server);
    ck_assert_int_gt(bw_rpc_server_port(server), 0);
    snprintf(target, len, "127.0.0.1:%d", bw_rpc_server_port(server));
    return server;
}

static bw_rpc_server_t *start_server(int workers, char *target, size_t len)
{
    bw_rpc_server_opts_t opts = server_opts(workers);
    return start_server_with(&opts, target, len);
}

/* ---- client side helpers ---------------------------------------------------- */

/* What a test looks at after a call: a copy of the reply. */
typedef struct result {
    int done;
    int status;
    char message[256];
    char reason[64];
    size_t n_violations;
    char fields[MAX_SEEN][32];
    char values[MAX_SEEN][128];
    char echoed[64]; /* reason of the response message */
    int has_payload;
    size_t n_seen; /* violations of the response message: what the server saw */
    char seen_fields[MAX_SEEN][32];
    char seen_values[MAX_SEEN][128];
    pthread_t thread;
    double at; /* seconds since the epoch of the test's clock */
} result_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void record(result_t *r, const bw_rpc_reply_t *reply)
{
    r->done++;
    r->status = reply->status;
    r->thread = pthread_self();
    r->at = now_s();
    copy_str(r->message, sizeof(r->message), reply->message);
    copy_str(r->reason, sizeof(r->reason), reply->reason);
    r->n_violations = reply->n_violations;
    for (size_t i = 0; i < reply->n_violations && i < MAX_SEEN; i++) {
        copy_str(r->fields[i], sizeof(r->fields[i]), reply->violations[i].field);
        copy_str(r->values[i], sizeof(r->values[i]), reply->violations[i].message);
    }
    if (reply->status != BW_GRPC_OK)
        return;
    ck_assert_ptr_nonnull(reply->payload);
    Bulwark__Rpc__V1__ErrorDetail *d =
        bulwark__rpc__v1__error_detail__unpack(NULL, reply->payload_len, reply->payload);
    ck_assert_ptr_nonnull(d);
    r->has_payload = 1;
    copy_str(r->echoed, sizeof(r->echoed), d->reason);
    r->n_seen = d->n_errors;
    for (size_t i = 0; i < d->n_errors && i < MAX_SEEN; i++) {
        copy_str(r->seen_fields[i], sizeof(r->seen_fields[i]), d->errors[i]->field);
        copy_str(r->seen_values[i], sizeof(r->seen_values[i]), d->errors[i]->message);
    }
    bulwark__rpc__v1__error_detail__free_unpacked(d, NULL);
}

static const char *seen(const result_t *r, const char *field)
{
    for (size_t i = 0; i < r->n_seen; i++)
        if (strcmp(r->seen_fields[i], field) == 0)
            return r->seen_values[i];
    return NULL;
}

/* Packs an ErrorDetail carrying reason; returns its length. */
static size_t pack_request(const char *reason, uint8_t *buf, size_t len)
{
    Bulwark__Rpc__V1__ErrorDetail d = BULWARK__RPC__V1__ERROR_DETAIL__INIT;
    d.reason = (char *)reason;
    size_t n = bulwark__rpc__v1__error_detail__get_packed_size(&d);
    ck_assert_uint_le(n, len);
    return bulwark__rpc__v1__error_detail__pack(&d, buf);
}

/* A blocking call presenting tls's certificate to a server expected to be
 * named peer. */
static int sync_call_as(const bw_rpc_tls_t *tls, const char *peer, const char *target,
                        const char *method, const char *reason, const bw_rpc_md_t *md, size_t n_md,
                        int timeout_ms, result_t *r)
{
    uint8_t buf[512];
    size_t n = pack_request(reason, buf, sizeof(buf));
    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(bw_rpc_sync_open(tls, target, peer, &sync), 0);
    bw_arena_t *arena = bw_arena_create(1024);
    bw_rpc_reply_t reply;
    memset(r, 0, sizeof(*r));
    int rc = bw_rpc_sync_call(sync, arena, method, buf, n, md, n_md, timeout_ms, &reply);
    if (rc == 0)
        record(r, &reply);
    bw_arena_destroy(arena);
    bw_rpc_sync_close(sync);
    return rc;
}

static int sync_call(const char *target, const char *method, const char *reason,
                     const bw_rpc_md_t *md, size_t n_md, int timeout_ms, result_t *r)
{
    return sync_call_as(gw_tls, "scoping", target, method, reason, md, n_md, timeout_ms, r);
}

static void on_done(void *arg, const bw_rpc_reply_t *reply)
{
    record(arg, reply);
}

static void wait_handlers_started(int n)
{
    for (int i = 0; i < 500 && handlers_started < n; i++)
        usleep(10000);
    ck_assert_int_ge(handlers_started, n);
}

/* Occupies n workers: n SLEEP calls of ms milliseconds on channel, each
 * answered into r[i] within deadline_ms, and waits until n handlers run. */
static void occupy_workers(bw_rpc_channel_t *channel, const char *ms, int deadline_ms, result_t *r,
                           int n)
{
    uint8_t buf[32];
    size_t len = pack_request(ms, buf, sizeof(buf));
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(
            bw_rpc_call(channel, SLEEP, buf, len, NULL, 0, deadline_ms, on_done, &r[i]), 0);
    wait_handlers_started(n);
}

/* An asynchronous client on a new event base, as the gateway, and its
 * channel to the server at target (caller destroys the client and frees
 * the base). */
static bw_rpc_channel_t *open_client(const char *target, struct event_base **base,
                                     bw_rpc_client_t **client)
{
    bw_rpc_channel_t *channel = NULL;
    *base = event_base_new();
    *client = NULL;
    ck_assert_int_eq(bw_rpc_client_create(*base, gw_tls, client), 0);
    ck_assert_int_eq(bw_rpc_client_channel(*client, target, "scoping", &channel), 0);
    return channel;
}

/* ---- tests ------------------------------------------------------------------- */

START_TEST(test_echo_async)
{
    char target[64];
    bw_rpc_server_t *server = start_server(2, target, sizeof(target));
    struct event_base *base;
    bw_rpc_client_t *client;
    bw_rpc_channel_t *channel = open_client(target, &base, &client);

    bw_rpc_md_t md[] = {{"x-tenant-id", "t-1"},        {"x-principal", "alice"},
                        {"x-roles", "admin, auditor"}, {"x-request-id", "req-9"},
                        {"idempotency-key", "k-7"},    {"x-unrelated", "ignored"}};
    uint8_t buf[128];
    size_t n = pack_request("hello", buf, sizeof(buf));
    result_t r = {0};
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, buf, n, md, 6, 5000, on_done, &r), 0);
    ck_assert_int_eq(event_base_dispatch(base), 1); /* returns once the call is delivered */

    ck_assert_int_eq(r.done, 1);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    ck_assert(pthread_equal(r.thread, pthread_self()));
    ck_assert_str_eq(r.message, "");
    ck_assert_str_eq(r.reason, "");
    ck_assert_int_eq(r.n_violations, 0);
    ck_assert_str_eq(r.echoed, "hello");
    ck_assert_str_eq(seen(&r, "x-tenant-id"), "t-1");
    ck_assert_str_eq(seen(&r, "peer"), "gateway");
    ck_assert_str_eq(seen(&r, "x-principal"), "alice");
    ck_assert_str_eq(seen(&r, "x-roles"), "admin, auditor");
    ck_assert_str_eq(seen(&r, "x-request-id"), "req-9");
    ck_assert_str_eq(seen(&r, "idempotency-key"), "k-7");
    ck_assert_str_eq(seen(&r, "log.request_id"), "req-9");
    ck_assert_str_eq(seen(&r, "log.tenant_id"), "t-1");
    ck_assert_str_eq(seen(&r, "worker_data"), worker_label);
    ck_assert_str_eq(seen(&r, "service_data"), service_label);
    ck_assert_str_eq(seen(&r, "role"), "auditor");

    /* without metadata the handler sees none */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 0, NULL, 0, 5000, on_done, &r), 0);
    event_base_dispatch(base);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    ck_assert_str_eq(r.echoed, "");
    ck_assert_ptr_null(seen(&r, "x-tenant-id"));
    ck_assert_ptr_null(seen(&r, "log.request_id"));

    bw_rpc_client_destroy(client);
    event_base_free(base);
    bw_rpc_server_stop(server, 1000);
    ck_assert_int_eq(inits, 2);
    ck_assert_int_eq(finis, 2);
}
END_TEST

START_TEST(test_echo_sync)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    bw_rpc_md_t md[] = {{"x-tenant-id", "t-2"}, {"x-request-id", "req-2"}};
    result_t r;
    ck_assert_int_eq(sync_call(target, ECHO, "sync", md, 2, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    ck_assert_str_eq(r.echoed, "sync");
    ck_assert_str_eq(seen(&r, "x-tenant-id"), "t-2");
    ck_assert_str_eq(seen(&r, "x-request-id"), "req-2");

    /* several calls on one blocking channel, no deadline */
    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(bw_rpc_sync_open(gw_tls, target, "scoping", &sync), 0);
    for (int i = 0; i < 5; i++) {
        char reason[16];
        uint8_t buf[64];
        snprintf(reason, sizeof(reason), "n%d", i);
        size_t n = pack_request(reason, buf, sizeof(buf));
        bw_arena_t *arena = bw_arena_create(512);
        bw_rpc_reply_t reply;
        ck_assert_int_eq(bw_rpc_sync_call(sync, arena, ECHO, buf, n, NULL, 0, 0, &reply), 0);
        ck_assert_int_eq(reply.status, BW_GRPC_OK);
        Bulwark__Rpc__V1__ErrorDetail *d =
            bulwark__rpc__v1__error_detail__unpack(NULL, reply.payload_len, reply.payload);
        ck_assert_str_eq(d->reason, reason);
        bulwark__rpc__v1__error_detail__free_unpacked(d, NULL);
        bw_arena_destroy(arena);
    }
    bw_rpc_sync_close(sync);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

START_TEST(test_failures)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    result_t r;

    ck_assert_int_eq(sync_call(target, FAIL, "violations", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_INVALID_ARGUMENT);
    ck_assert_str_eq(r.reason, "VALIDATION_FAILED");
    ck_assert_str_eq(r.message, "must be an IANA time zone, got Mars/Olympus");
    ck_assert_int_eq(r.n_violations, 2);
    ck_assert_str_eq(r.fields[0], "timeZone");
    ck_assert_str_eq(r.values[0], "must be an IANA time zone, got Mars/Olympus");
    ck_assert_str_eq(r.fields[1], "activities[0].entityType");
    ck_assert_str_eq(r.values[1], "is required");
    ck_assert(!r.has_payload);

    ck_assert_int_eq(sync_call(target, FAIL, "notfound", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_NOT_FOUND);
    ck_assert_str_eq(r.reason, "ENTITY_NOT_FOUND");
    ck_assert_str_eq(r.message, "entity e-42 does not exist");
    ck_assert_int_eq(r.n_violations, 0);

    ck_assert_int_eq(sync_call(target, FAIL, "plain", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_PERMISSION_DENIED);
    ck_assert_str_eq(r.reason, "PERMISSION_DENIED");
    ck_assert_str_eq(r.message, "permission denied");

    /* handler bugs are INTERNAL, never a crash */
    ck_assert_int_eq(sync_call(target, FAIL, "null", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_INTERNAL);
    ck_assert_str_eq(r.reason, "INTERNAL");
    ck_assert_int_eq(sync_call(target, FAIL, "wrongtype", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_INTERNAL);
    ck_assert_int_eq(sync_call(target, FAIL, "positive", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_INTERNAL);

    /* the server still serves after all that */
    ck_assert_int_eq(sync_call(target, ECHO, "alive", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    ck_assert_str_eq(r.echoed, "alive");
    bw_rpc_server_stop(server, 1000);
}
END_TEST

START_TEST(test_bad_request)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(bw_rpc_sync_open(gw_tls, target, "scoping", &sync), 0);
    bw_arena_t *arena = bw_arena_create(512);
    bw_rpc_reply_t reply;
    /* field 1 as a length-delimited string whose length runs past the end */
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0x01, 'x'};
    ck_assert_int_eq(
        bw_rpc_sync_call(sync, arena, ECHO, garbage, sizeof(garbage), NULL, 0, 5000, &reply), 0);
    ck_assert_int_eq(reply.status, BW_GRPC_INVALID_ARGUMENT);
    ck_assert_str_eq(reply.reason, "INVALID_ARGUMENT");
    ck_assert_ptr_null(reply.payload);

    /* a message bigger than max_message is refused by gRPC itself */
    bw_rpc_sync_close(sync);
    bw_rpc_server_stop(server, 1000);
    bw_rpc_server_opts_t opts = server_opts(1);
    opts.max_message = 64;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), 0);
    char small_target[64];
    snprintf(small_target, sizeof(small_target), "127.0.0.1:%d", bw_rpc_server_port(server));
    ck_assert_int_eq(bw_rpc_sync_open(gw_tls, small_target, "scoping", &sync), 0);
    char big[200];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    uint8_t buf[256];
    size_t n = pack_request(big, buf, sizeof(buf));
    ck_assert_int_eq(bw_rpc_sync_call(sync, arena, ECHO, buf, n, NULL, 0, 5000, &reply), 0);
    ck_assert_int_eq(reply.status, BW_GRPC_RESOURCE_EXHAUSTED);
    n = pack_request("small", buf, sizeof(buf));
    ck_assert_int_eq(bw_rpc_sync_call(sync, arena, ECHO, buf, n, NULL, 0, 5000, &reply), 0);
    ck_assert_int_eq(reply.status, BW_GRPC_OK);

    bw_arena_destroy(arena);
    bw_rpc_sync_close(sync);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

static int health_call_as(const bw_rpc_tls_t *tls, const char *target, const char *service,
                          int *serving)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    uint8_t buf[128];
    size_t n = grpc__health__v1__health_check_request__pack(&req, buf);
    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(bw_rpc_sync_open(tls, target, "scoping", &sync), 0);
    bw_arena_t *arena = bw_arena_create(512);
    bw_rpc_reply_t reply;
    ck_assert_int_eq(bw_rpc_sync_call(sync, arena, HEALTH, buf, n, NULL, 0, 5000, &reply), 0);
    int status = reply.status;
    *serving = -1;
    if (status == BW_GRPC_OK) {
        Grpc__Health__V1__HealthCheckResponse *resp =
            grpc__health__v1__health_check_response__unpack(NULL, reply.payload_len, reply.payload);
        ck_assert_ptr_nonnull(resp);
        *serving = resp->status;
        grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    }
    bw_arena_destroy(arena);
    bw_rpc_sync_close(sync);
    return status;
}

static int health_call(const char *target, const char *service, int *serving)
{
    return health_call_as(gw_tls, target, service, serving);
}

START_TEST(test_health)
{
    char target[64];
    bw_rpc_server_t *server = start_server(2, target, sizeof(target));
    int serving;
    ck_assert_int_eq(health_call(target, "", &serving), BW_GRPC_OK);
    ck_assert_int_eq(serving, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    ck_assert_int_eq(health_call(target, "bulwark.test.v1.Echo", &serving), BW_GRPC_OK);
    ck_assert_int_eq(serving, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    ck_assert_int_eq(health_call(target, "bulwark.test.v1.Ech", &serving), BW_GRPC_NOT_FOUND);
    ck_assert_int_eq(health_call(target, "nope.v1.Service", &serving), BW_GRPC_NOT_FOUND);

    health_down = 1;
    ck_assert_int_eq(health_call(target, "", &serving), BW_GRPC_OK);
    ck_assert_int_eq(serving, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    bw_rpc_server_stop(server, 1000);

    /* without a health callback the server is serving */
    bw_rpc_server_opts_t opts = server_opts(1);
    opts.health = NULL;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), 0);
    snprintf(target, sizeof(target), "127.0.0.1:%d", bw_rpc_server_port(server));
    ck_assert_int_eq(health_call(target, "", &serving), BW_GRPC_OK);
    ck_assert_int_eq(serving, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

START_TEST(test_unimplemented)
{
    char target[64];
    bw_rpc_server_t *server = start_server(2, target, sizeof(target));
    result_t r;
    ck_assert_int_eq(sync_call(target, "/bulwark.test.v1.Echo/Nope", "x", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNIMPLEMENTED);
    ck_assert_ptr_nonnull(strstr(r.message, "/bulwark.test.v1.Echo/Nope"));
    /* more unknown calls than there are requested slots */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(sync_call(target, "/other.v1.Service/Get", "x", NULL, 0, 5000, &r), 0);
        ck_assert_int_eq(r.status, BW_GRPC_UNIMPLEMENTED);
    }
    ck_assert_int_eq(sync_call(target, ECHO, "still", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

START_TEST(test_deadline)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    result_t r;
    double start = now_s();
    ck_assert_int_eq(sync_call(target, SLEEP, "800", NULL, 0, 100, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_DEADLINE_EXCEEDED);
    ck_assert_double_lt(r.at - start, 0.6);
    ck_assert(!r.has_payload);

    /* async too; the server survives answering a call whose client is gone */
    struct event_base *base;
    bw_rpc_client_t *client;
    bw_rpc_channel_t *channel = open_client(target, &base, &client);
    uint8_t buf[32];
    size_t n = pack_request("500", buf, sizeof(buf));
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(bw_rpc_call(channel, SLEEP, buf, n, NULL, 0, 100, on_done, &r), 0);
    event_base_dispatch(base);
    ck_assert_int_eq(r.done, 1);
    ck_assert_int_eq(r.status, BW_GRPC_DEADLINE_EXCEEDED);
    bw_rpc_client_destroy(client);
    event_base_free(base);

    ck_assert_int_eq(sync_call(target, SLEEP, "1", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

#define MANY 200

static result_t many_results[MANY];
/* an ErrorDetail with reason "20", written by hand */
static const uint8_t sleep_20ms[] = {0x0a, 0x02, '2', '0'};
static int many_done;

static void on_many_done(void *arg, const bw_rpc_reply_t *reply)
{
    record(arg, reply);
    many_done++;
}

START_TEST(test_many_async)
{
    char target[64];
    bw_rpc_server_t *server = start_server(4, target, sizeof(target));
    struct event_base *base = event_base_new();
    bw_rpc_client_t *client = NULL;
    bw_rpc_channel_t *channels[2];
    ck_assert_int_eq(bw_rpc_client_create(base, gw_tls, &client), 0);
    ck_assert_int_eq(bw_rpc_client_channel(client, target, "scoping", &channels[0]), 0);
    ck_assert_int_eq(bw_rpc_client_channel(client, target, "scoping", &channels[1]), 0);
    for (int i = 0; i < MANY; i++) {
        char reason[32], rid[32];
        uint8_t buf[64];
        snprintf(reason, sizeof(reason), "call-%d", i);
        snprintf(rid, sizeof(rid), "req-%d", i);
        bw_rpc_md_t md[] = {{"x-request-id", rid}};
        size_t n = pack_request(reason, buf, sizeof(buf));
        ck_assert_int_eq(bw_rpc_call(channels[i % 2], i % 10 == 0 ? SLEEP : ECHO,
                                     i % 10 == 0 ? sleep_20ms : buf,
                                     i % 10 == 0 ? sizeof(sleep_20ms) : n, md, 1, 10000,
                                     on_many_done, &many_results[i]),
                         0);
    }
    ck_assert_int_eq(event_base_dispatch(base), 1);
    ck_assert_int_eq(many_done, MANY);
    for (int i = 0; i < MANY; i++) {
        char reason[32], rid[32];
        snprintf(reason, sizeof(reason), i % 10 == 0 ? "20" : "call-%d", i);
        snprintf(rid, sizeof(rid), "req-%d", i);
        ck_assert_int_eq(many_results[i].done, 1);
        ck_assert_int_eq(many_results[i].status, BW_GRPC_OK);
        ck_assert_str_eq(many_results[i].echoed, reason);
        if (i % 10 != 0)
            ck_assert_str_eq(seen(&many_results[i], "x-request-id"), rid);
        ck_assert(pthread_equal(many_results[i].thread, pthread_self()));
    }
    bw_rpc_client_destroy(client);
    event_base_free(base);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

/* Reads that wait while the workers are busy are taken together: each
 * batch holds only calls of methods with an ahead function, at most
 * BW_RPC_BATCH_MAX, and every call gets the answer read for its own
 * request; other calls among them are served too. Two workers: each frees
 * calls the other answered while that one still serves its batch. */
#define READS 100
static result_t read_results[READS];
static result_t echo_results[READS / 20];

START_TEST(test_reads_taken_together)
{
    char target[64];
    bw_rpc_server_opts_t opts = server_opts(2);
    opts.ahead = batch_reads;
    bw_rpc_server_t *server = start_server_with(&opts, target, sizeof(target));
    batch_max = batches = handlers_started = 0;
    memset(read_results, 0, sizeof(read_results));
    memset(echo_results, 0, sizeof(echo_results));

    struct event_base *base;
    bw_rpc_client_t *client;
    bw_rpc_channel_t *channel = open_client(target, &base, &client);
    result_t busy[2];
    memset(busy, 0, sizeof(busy));
    occupy_workers(channel, "300", 10000, busy, 2);
    uint8_t buf[64];
    size_t n;
    for (int i = 0; i < READS; i++) {
        char reason[32];
        snprintf(reason, sizeof(reason), i % 7 == 3 ? "skip-%d" : "read-%d", i);
        bw_rpc_md_t md[] = {{"x-tenant-id", i % 2 ? "tenant-odd" : "tenant-even"}};
        n = pack_request(reason, buf, sizeof(buf));
        ck_assert_int_eq(
            bw_rpc_call(channel, READ, buf, n, md, 1, 10000, on_done, &read_results[i]), 0);
        if (i % 20 == 10) {
            size_t m = pack_request("echo", buf, sizeof(buf));
            ck_assert_int_eq(
                bw_rpc_call(channel, ECHO, buf, m, NULL, 0, 10000, on_done, &echo_results[i / 20]),
                0);
        }
    }
    event_base_dispatch(base);
    ck_assert_int_eq(busy[0].status, BW_GRPC_OK);
    ck_assert_int_eq(busy[1].status, BW_GRPC_OK);
    int ahead = 0;
    for (int i = 0; i < READS; i++) {
        char mine[32], as_ahead[48], as_alone[48];
        snprintf(mine, sizeof(mine), i % 7 == 3 ? "skip-%d" : "read-%d", i);
        snprintf(as_ahead, sizeof(as_ahead), "ahead:%s", mine);
        snprintf(as_alone, sizeof(as_alone), "alone:%s", mine);
        ck_assert_int_eq(read_results[i].status, BW_GRPC_OK);
        ck_assert_msg(strcmp(read_results[i].echoed, as_ahead) == 0 ||
                          strcmp(read_results[i].echoed, as_alone) == 0,
                      "read %d answered %s", i, read_results[i].echoed);
        if (i % 7 == 3)
            ck_assert_str_eq(read_results[i].echoed, as_alone);
        ahead += strncmp(read_results[i].echoed, "ahead:", 6) == 0;
    }
    for (int i = 0; i < READS / 20; i++) {
        ck_assert_int_eq(echo_results[i].status, BW_GRPC_OK);
        ck_assert_str_eq(echo_results[i].echoed, "echo");
    }
    /* The worker was busy while the reads came: they waited, and went in
     * batches of more than one. */
    ck_assert_int_gt(batches, 0);
    ck_assert_int_gt(batch_max, 1);
    ck_assert_int_le(batch_max, BW_RPC_BATCH_MAX);
    ck_assert_int_gt(ahead, 1);
    bw_rpc_client_destroy(client);
    event_base_free(base);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

/* Calls from one connection must spread over the workers, whatever the method. */
START_TEST(test_workers_share_load)
{
    char target[64];
    bw_rpc_server_t *server = start_server(4, target, sizeof(target));
    struct event_base *base;
    bw_rpc_client_t *client;
    bw_rpc_channel_t *channel = open_client(target, &base, &client);
    result_t r[5];
    memset(r, 0, sizeof(r));
    uint8_t buf[32];
    size_t n = pack_request("500", buf, sizeof(buf));
    /* a first call, so that the connection is up before the measured ones */
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 0, NULL, 0, 5000, on_done, &r[4]), 0);
    event_base_dispatch(base);
    ck_assert_int_eq(r[4].status, BW_GRPC_OK);
    double start = now_s();
    occupy_workers(channel, "500", 5000, r, 3);
    /* one worker is left for other methods while three sleep */
    memset(&r[4], 0, sizeof(r[4]));
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 0, NULL, 0, 5000, on_done, &r[4]), 0);
    ck_assert_int_eq(bw_rpc_call(channel, SLEEP, buf, n, NULL, 0, 5000, on_done, &r[3]), 0);
    event_base_dispatch(base);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(r[i].status, BW_GRPC_OK);
    ck_assert_double_lt(r[4].at - start, 0.45);
    ck_assert_double_lt(now_s() - start, 1.4);
    bw_rpc_client_destroy(client);
    event_base_free(base);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

/* A server whose I/O an asynchronous client's poller thread does
 * (opts.io_client): calls are served and spread over the workers, and a
 * call in flight when the server stops is answered within the grace. */
START_TEST(test_io_client)
{
    struct event_base *base = event_base_new();
    bw_rpc_client_t *client = NULL;
    ck_assert_int_eq(bw_rpc_client_create(base, gw_tls, &client), 0);
    bw_rpc_server_opts_t opts = server_opts(2);
    opts.io_client = client;
    bw_rpc_server_t *server = NULL;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), 0);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", bw_rpc_server_port(server));
    bw_rpc_channel_t *channel = NULL;
    ck_assert_int_eq(bw_rpc_client_channel(client, target, "scoping", &channel), 0);

    result_t r[4];
    memset(r, 0, sizeof(r));
    uint8_t hello[32], slow[32];
    size_t n_hello = pack_request("hello", hello, sizeof(hello));
    size_t n_slow = pack_request("300", slow, sizeof(slow));
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, hello, n_hello, NULL, 0, 5000, on_done, &r[0]), 0);
    event_base_dispatch(base);
    ck_assert_int_eq(r[0].status, BW_GRPC_OK);
    ck_assert_str_eq(r[0].echoed, "hello");

    /* one worker sleeps, the other answers meanwhile */
    double start = now_s();
    ck_assert_int_eq(bw_rpc_call(channel, SLEEP, slow, n_slow, NULL, 0, 5000, on_done, &r[1]), 0);
    wait_handlers_started(1);
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, hello, n_hello, NULL, 0, 5000, on_done, &r[2]), 0);
    event_base_dispatch(base);
    ck_assert_int_eq(r[1].status, BW_GRPC_OK);
    ck_assert_int_eq(r[2].status, BW_GRPC_OK);
    ck_assert_double_lt(r[2].at - start, r[1].at - start);

    /* stopped with a call in flight, while the client still polls */
    ck_assert_int_eq(bw_rpc_call(channel, SLEEP, slow, n_slow, NULL, 0, 5000, on_done, &r[3]), 0);
    wait_handlers_started(2);
    bw_rpc_server_stop(server, 5000);
    event_base_dispatch(base);
    ck_assert_int_eq(r[3].status, BW_GRPC_OK);
    ck_assert_str_eq(r[3].echoed, "300");
    bw_rpc_client_destroy(client);
    event_base_free(base);
    ck_assert_int_eq(inits, 2);
    ck_assert_int_eq(finis, 2);
}
END_TEST

typedef struct sleeper {
    const char *target;
    const char *ms;
    result_t r;
    double started;
} sleeper_t;

static void *sleeper_main(void *arg)
{
    sleeper_t *s = arg;
    s->started = now_s();
    ck_assert_int_eq(sync_call(s->target, SLEEP, s->ms, NULL, 0, 10000, &s->r), 0);
    return NULL;
}

START_TEST(test_stop_within_grace)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    sleeper_t s = {target, "400", {0}, 0};
    pthread_t t;
    pthread_create(&t, NULL, sleeper_main, &s);
    wait_handlers_started(1);
    double start = now_s();
    bw_rpc_server_stop(server, 5000);
    double took = now_s() - start;
    pthread_join(t, NULL);
    ck_assert_int_eq(s.r.status, BW_GRPC_OK);
    ck_assert_str_eq(s.r.echoed, "400");
    ck_assert_int_eq(handlers_finished, 1);
    ck_assert_double_lt(took, 4.0);
    ck_assert_int_eq(finis, 1);

    /* a stopped server is not there any more */
    result_t r;
    ck_assert_int_eq(sync_call(target, ECHO, "gone", NULL, 0, 2000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAVAILABLE);
}
END_TEST

START_TEST(test_stop_past_grace)
{
    char target[64];
    bw_rpc_server_t *server = start_server(2, target, sizeof(target));
    sleeper_t s = {target, "1500", {0}, 0};
    pthread_t t;
    pthread_create(&t, NULL, sleeper_main, &s);
    wait_handlers_started(1);
    double start = now_s();
    bw_rpc_server_stop(server, 200);
    pthread_join(t, NULL);
    /* the client is told at the end of the grace period, not when the handler
     * returns, with a status it may retry on */
    ck_assert_int_eq(s.r.status, BW_GRPC_UNAVAILABLE);
    ck_assert_double_lt(s.r.at - start, 1.0);
    /* the handler itself ran to its end before stop returned */
    ck_assert_int_eq(handlers_finished, 1);
    ck_assert_int_eq(finis, 2);
}
END_TEST

START_TEST(test_stop_idle)
{
    char target[64];
    bw_rpc_server_t *server = start_server(3, target, sizeof(target));
    result_t r;
    ck_assert_int_eq(sync_call(target, ECHO, "once", NULL, 0, 5000, &r), 0);
    double start = now_s();
    bw_rpc_server_stop(server, 0);
    ck_assert_double_lt(now_s() - start, 2.0);
    ck_assert_int_eq(finis, 3);
    bw_rpc_server_stop(NULL, 100);
}
END_TEST

START_TEST(test_destroy_in_flight)
{
    char target[64];
    bw_rpc_server_t *server = start_server(4, target, sizeof(target));
    struct event_base *base;
    bw_rpc_client_t *client;
    bw_rpc_channel_t *channel = open_client(target, &base, &client);
    result_t r[4];
    memset(r, 0, sizeof(r));
    occupy_workers(channel, "1000", 10000, r, 4);
    double start = now_s();
    bw_rpc_client_destroy(client); /* the loop never ran */
    ck_assert_double_lt(now_s() - start, 0.8);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(r[i].done, 1);
        ck_assert_int_eq(r[i].status, BW_GRPC_CANCELLED);
        ck_assert(pthread_equal(r[i].thread, pthread_self()));
    }
    event_base_free(base);
    bw_rpc_server_stop(server, 2000);
    ck_assert_int_eq(handlers_finished, 4);
    bw_rpc_client_destroy(NULL);
    bw_rpc_sync_close(NULL);
}
END_TEST

START_TEST(test_client_errors)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    struct event_base *base = event_base_new();
    bw_rpc_client_t *client = NULL;
    bw_rpc_channel_t *channel = NULL;
    ck_assert_int_eq(bw_rpc_client_create(NULL, gw_tls, &client), BW_EINVAL);
    ck_assert_int_eq(bw_rpc_client_create(base, gw_tls, &client), 0);
    ck_assert_int_eq(bw_rpc_client_channel(client, "", "scoping", &channel), BW_EINVAL);
    ck_assert_int_eq(bw_rpc_client_channel(client, target, "scoping", &channel), 0);
    result_t r = {0};
    bw_rpc_md_t upper[] = {{"X-Tenant-Id", "t-1"}};
    bw_rpc_md_t bad_value[] = {{"x-tenant-id", "t\n1"}};
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 0, upper, 1, 1000, on_done, &r), BW_EINVAL);
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 0, bad_value, 1, 1000, on_done, &r),
                     BW_EINVAL);
    ck_assert_int_eq(bw_rpc_call(channel, NULL, NULL, 0, NULL, 0, 1000, on_done, &r), BW_EINVAL);
    ck_assert_int_eq(bw_rpc_call(channel, "Echo", NULL, 0, NULL, 0, 1000, on_done, &r), BW_EINVAL);
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 5, NULL, 0, 1000, on_done, &r), BW_EINVAL);
    ck_assert_int_eq(bw_rpc_call(channel, ECHO, NULL, 0, NULL, 0, 1000, NULL, &r), BW_EINVAL);
    event_base_dispatch(base); /* nothing in flight: returns at once */
    ck_assert_int_eq(r.done, 0);

    /* nobody listens there */
    bw_rpc_channel_t *nowhere = NULL;
    ck_assert_int_eq(bw_rpc_client_channel(client, "127.0.0.1:1", "scoping", &nowhere), 0);
    ck_assert_int_eq(bw_rpc_call(nowhere, ECHO, NULL, 0, NULL, 0, 2000, on_done, &r), 0);
    event_base_dispatch(base);
    ck_assert_int_eq(r.done, 1);
    ck_assert_int_eq(r.status, BW_GRPC_UNAVAILABLE);
    bw_rpc_client_destroy(client);
    event_base_free(base);

    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(bw_rpc_sync_open(gw_tls, target, "scoping", &sync), 0);
    bw_arena_t *arena = bw_arena_create(256);
    bw_rpc_reply_t reply;
    ck_assert_int_eq(bw_rpc_sync_call(sync, arena, ECHO, NULL, 0, upper, 1, 1000, &reply),
                     BW_EINVAL);
    ck_assert_int_eq(bw_rpc_sync_call(sync, NULL, ECHO, NULL, 0, NULL, 0, 1000, &reply), BW_EINVAL);
    bw_arena_destroy(arena);
    bw_rpc_sync_close(sync);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

START_TEST(test_start_errors)
{
    bw_rpc_server_opts_t opts = server_opts(1);
    bw_rpc_server_t *server = NULL;
    opts.addr = "not an address";
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), BW_EINVAL);
    ck_assert_ptr_null(server);

    opts = server_opts(0);
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), BW_EINVAL);

    bw_rpc_method_t dup[] = {methods[0], methods[0]};
    opts = server_opts(1);
    opts.methods = dup;
    opts.n_methods = 2;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), BW_EINVAL);

    /* a write that names a read to run ahead */
    bw_rpc_method_t write_ahead[] = {methods[READ_METHOD]};
    write_ahead[0].flags = BW_RPC_WRITE;
    opts = server_opts(1);
    opts.methods = write_ahead;
    opts.n_methods = 1;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), BW_EINVAL);
    ck_assert_ptr_null(server);

    /* a port in use */
    char target[64];
    bw_rpc_server_t *first = start_server(1, target, sizeof(target));
    opts = server_opts(1);
    opts.addr = target;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), BW_EINVAL);
    ck_assert_ptr_null(server);
    bw_rpc_server_stop(first, 1000);

    /* a worker that cannot initialise stops the start; the others are finalised */
    inits = 0;
    finis = 0;
    fail_second_init = 1;
    opts = server_opts(3);
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), BW_EUNAVAIL);
    ck_assert_ptr_null(server);
    ck_assert_int_eq(inits, 3);
    ck_assert_int_eq(finis, 2);
}
END_TEST

START_TEST(test_call_helpers)
{
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = bw_arena_create(256);
    ck_assert(!bw_call_has_role(&call, "admin"));
    call.roles = " admin, auditor ,viewer";
    ck_assert(bw_call_has_role(&call, "admin"));
    ck_assert(bw_call_has_role(&call, "auditor"));
    ck_assert(bw_call_has_role(&call, "viewer"));
    ck_assert(!bw_call_has_role(&call, "audit"));
    ck_assert(!bw_call_has_role(&call, "adm"));
    ck_assert(!bw_call_has_role(&call, ""));
    call.roles = "";
    ck_assert(!bw_call_has_role(&call, "admin"));

    ck_assert_int_eq(bw_call_fail(&call, BW_ECONFLICT, NULL, "row %d changed", 3), BW_ECONFLICT);
    ck_assert_ptr_null(call.reason);
    ck_assert_str_eq(call.detail, "row 3 changed");

    memset(&call.violations, 0, sizeof(call.violations));
    call.detail = NULL;
    for (int i = 0; i < BW_RPC_MAX_VIOLATIONS + 5; i++)
        ck_assert_int_eq(bw_call_violation(&call, "items", "bad item %d", i), BW_EINVAL);
    ck_assert_int_eq(call.n_violations, BW_RPC_MAX_VIOLATIONS);
    ck_assert_str_eq(call.reason, "VALIDATION_FAILED");
    ck_assert_str_eq(call.detail, "bad item 0");
    ck_assert_str_eq(call.violations[31].message, "bad item 31");
    bw_arena_destroy(call.arena);
}
END_TEST

/* ---- mutual TLS and peers ---------------------------------------------------- */

START_TEST(test_peer_methods)
{
    char target[64];
    bw_rpc_server_t *server = start_server(2, target, sizeof(target));
    bw_rpc_tls_t *crosswalk = bw_test_tls_open("crosswalk");
    bw_rpc_tls_t *stranger = bw_test_tls_open("stranger");
    bw_rpc_md_t md[] = {{"x-tenant-id", "t-1"}, {"x-roles", "admin"}};
    result_t r;

    /* crosswalk may call Echo, and its metadata reaches the handler */
    ck_assert_int_eq(sync_call_as(crosswalk, "scoping", target, ECHO, "hi", md, 2, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    ck_assert_str_eq(seen(&r, "x-tenant-id"), "t-1");
    ck_assert_str_eq(seen(&r, "peer"), "crosswalk");
    /* but not Sleep: refused before the handler runs */
    handlers_started = 0;
    ck_assert_int_eq(sync_call_as(crosswalk, "scoping", target, SLEEP, "1", md, 2, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAUTHENTICATED);
    ck_assert_str_eq(r.reason, "PEER_NOT_ALLOWED");
    ck_assert_int_eq(handlers_started, 0);
    /* a certificate of the CA with no entry in the table may call nothing */
    ck_assert_int_eq(sync_call_as(stranger, "scoping", target, ECHO, "hi", md, 2, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAUTHENTICATED);
    /* ... except the health check */
    int serving;
    ck_assert_int_eq(health_call_as(stranger, target, "", &serving), BW_GRPC_OK);
    ck_assert_int_eq(serving, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    /* the gateway may call everything */
    ck_assert_int_eq(sync_call(target, SLEEP, "1", md, 2, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    bw_rpc_tls_close(stranger);
    bw_rpc_tls_close(crosswalk);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

/* A method flagged BW_RPC_NAMED_PEERS is refused to a peer allowed every
 * method (the gateway) and open to one that names it. x-bulwark-origin
 * counts from "integrations" alone: from another peer it is ignored, and a
 * malformed one from integrations is refused and, like every refused call,
 * counted in the server's metrics. */
START_TEST(test_named_peers_and_origin)
{
    bw_rpc_method_t named[sizeof(methods) / sizeof(methods[0])];
    memcpy(named, methods, sizeof(methods));
    named[0].flags |= BW_RPC_NAMED_PEERS; /* Echo */
    static const bw_rpc_peer_t named_peers[] = {
        {"gateway", NULL}, {"crosswalk", echo_only}, {"integrations", echo_only}};
    bw_rpc_server_opts_t opts = server_opts(1);
    opts.methods = named;
    opts.peers = named_peers;
    opts.n_peers = sizeof(named_peers) / sizeof(named_peers[0]);
    bw_rpc_server_t *server = NULL;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), 0);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", bw_rpc_server_port(server));
    bw_rpc_tls_t *crosswalk = bw_test_tls_open("crosswalk");
    bw_rpc_tls_t *integrations = bw_test_tls_open("integrations");
    result_t r;

    ck_assert_int_eq(sync_call(target, ECHO, "hi", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAUTHENTICATED);
    ck_assert_str_eq(r.reason, "PEER_NOT_ALLOWED");
    ck_assert_int_eq(sync_call(target, SLEEP, "1", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    const bw_rpc_md_t bad[] = {{BW_RPC_ORIGIN_MD, "jira:not-a-uuid"}};
    ck_assert_int_eq(sync_call_as(crosswalk, "scoping", target, ECHO, "hi", bad, 1, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    ck_assert_int_eq(sync_call_as(integrations, "scoping", target, ECHO, "hi", bad, 1, 5000, &r),
                     0);
    ck_assert_int_eq(r.status, BW_GRPC_INVALID_ARGUMENT);
    ck_assert_str_eq(r.reason, "INVALID_ORIGIN");
    const bw_rpc_md_t good[] = {{BW_RPC_ORIGIN_MD, "jira:0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"}};
    ck_assert_int_eq(sync_call_as(integrations, "scoping", target, ECHO, "hi", good, 1, 5000, &r),
                     0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);

    bw_metrics_text_t t;
    bw_metrics_text_init(&t);
    bw_rpc_server_metrics(server, &t);
    size_t len;
    char *text = bw_metrics_text_finish(&t, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "{method=\"" ECHO "\",code=\"INVALID_ARGUMENT\"} 1\n") != NULL, "%s",
                  text);
    ck_assert_msg(strstr(text, "{method=\"" ECHO "\",code=\"OK\"} 2\n") != NULL, "%s", text);
    free(text);
    bw_rpc_tls_close(integrations);
    bw_rpc_tls_close(crosswalk);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

START_TEST(test_peer_certificates)
{
    char target[64];
    bw_rpc_server_t *server = start_server(1, target, sizeof(target));
    result_t r;
    /* the server must be the process the client meant: scoping is not crosswalk */
    ck_assert_int_eq(sync_call_as(gw_tls, "crosswalk", target, ECHO, "hi", NULL, 0, 3000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAVAILABLE);

    /* a certificate from another CA, even with an allowed name, gets no call */
    char other[] = "/tmp/bw-test-tls-other.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(other));
    const char *const names[] = {"gateway", NULL};
    bw_test_tls_make_in(other, names, 0);
    bw_rpc_tls_t *forged = bw_test_tls_open_in(other, "gateway", 60);
    ck_assert_int_eq(sync_call_as(forged, "scoping", target, ECHO, "hi", NULL, 0, 3000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAVAILABLE);
    bw_rpc_tls_close(forged);

    /* files that do not belong together are refused at start-up */
    char ca[128], cert[128], key[128], err[512];
    bw_rpc_tls_t *tls = NULL;
    snprintf(ca, sizeof(ca), "%s/ca.pem", other);
    snprintf(cert, sizeof(cert), "%s/gateway.pem", other);
    snprintf(key, sizeof(key), "%s/gateway.key", other);
    ck_assert_int_eq(bw_rpc_tls_open("/nonexistent/ca.pem", cert, key, 60, err, sizeof(err), &tls),
                     BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ca.pem"));
    snprintf(key, sizeof(key), "%s/ca.key", other);
    ck_assert_int_eq(bw_rpc_tls_open(ca, cert, key, 60, err, sizeof(err), &tls), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "does not belong"));
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", other);
    ck_assert_int_eq(system(cmd), 0);
    bw_rpc_server_stop(server, 1000);
}
END_TEST

typedef struct first_call {
    const bw_rpc_tls_t *tls;
    const char *target;
    pthread_barrier_t *start;
    result_t r;
} first_call_t;

static void *first_call_main(void *arg)
{
    first_call_t *c = arg;
    pthread_barrier_wait(c->start);
    sync_call_as(c->tls, "scoping", c->target, ECHO, "first", NULL, 0, 20000, &c->r);
    return NULL;
}

START_TEST(test_first_channels_at_once)
{
    /* Channels made on several threads at once from a TLS handle just
     * opened all find the certificates: none fails its handshake and backs
     * off (as happened when the first channels raced the provider). */
    char target[64];
    bw_rpc_server_t *server = start_server(2, target, sizeof(target));
    for (int round = 0; round < 4; round++) {
        bw_rpc_tls_t *tls = bw_test_tls_open("gateway");
        enum { N = 4 };
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, N);
        first_call_t calls[N];
        pthread_t threads[N];
        for (int i = 0; i < N; i++) {
            calls[i] = (first_call_t){tls, target, &start, {0}};
            ck_assert_int_eq(pthread_create(&threads[i], NULL, first_call_main, &calls[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(threads[i], NULL);
            ck_assert_msg(calls[i].r.status == BW_GRPC_OK, "round %d, thread %d: %s", round, i,
                          calls[i].r.message);
        }
        pthread_barrier_destroy(&start);
        bw_rpc_tls_close(tls);
    }
    bw_rpc_server_stop(server, 1000);
}
END_TEST

/* Sleeps in a call on its own thread, so that the main thread can rotate. */
typedef struct slow_call {
    const bw_rpc_tls_t *tls;
    const char *target;
    result_t r;
} slow_call_t;

static void *slow_call_main(void *arg)
{
    slow_call_t *c = arg;
    sync_call_as(c->tls, "scoping", c->target, SLEEP, "2500", NULL, 0, 10000, &c->r);
    return NULL;
}

START_TEST(test_rotation)
{
    /* The server and the old client read the certificates of one directory,
     * every second; the rotation replaces the CA and every certificate. */
    char dir[] = "/tmp/bw-test-tls-rot.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *const names[] = {"scoping", "gateway", NULL};
    bw_test_tls_make_in(dir, names, 0);
    bw_rpc_tls_t *server_tls = bw_test_tls_open_in(dir, "scoping", 1);
    bw_rpc_server_opts_t opts = server_opts(2);
    opts.tls = server_tls;
    bw_rpc_server_t *server = NULL;
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), 0);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", bw_rpc_server_port(server));

    /* a call in flight across the rotation */
    char copy[] = "/tmp/bw-test-tls-old.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(copy));
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cp -p '%s'/* '%s'/", dir, copy);
    ck_assert_int_eq(system(cmd), 0);
    bw_rpc_tls_t *old_tls = bw_test_tls_open_in(copy, "gateway", 60);
    slow_call_t slow = {old_tls, target, {0}};
    handlers_started = 0;
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, slow_call_main, &slow), 0);
    wait_handlers_started(1);

    bw_test_tls_make_in(dir, names, 1);
    sleep(3); /* two refresh periods */

    /* the call that was in flight completed */
    pthread_join(thread, NULL);
    ck_assert_int_eq(slow.r.status, BW_GRPC_OK);
    /* a client of the new CA only connects if the server took the new files */
    bw_rpc_tls_t *new_tls = bw_test_tls_open_in(dir, "gateway", 60);
    result_t r;
    ck_assert_int_eq(sync_call_as(new_tls, "scoping", target, ECHO, "new", NULL, 0, 5000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_OK);
    /* and a new connection with the old certificates no longer does */
    ck_assert_int_eq(sync_call_as(old_tls, "scoping", target, ECHO, "old", NULL, 0, 3000, &r), 0);
    ck_assert_int_eq(r.status, BW_GRPC_UNAVAILABLE);

    bw_rpc_tls_close(new_tls);
    bw_rpc_tls_close(old_tls);
    bw_rpc_server_stop(server, 1000);
    bw_rpc_tls_close(server_tls);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, copy);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- method tables from a contract ------------------------------------ */

static int no_handler(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    (void)call, (void)request, (void)response;
    return 0;
}

START_TEST(test_methods_bind)
{
    const ProtobufCServiceDescriptor *contract =
        &bulwark__lifecycle__v1__tenant_data_service__descriptor;
    char why[256];
    bw_rpc_method_t *m = NULL;
    const bw_rpc_handler_t good[] = {
        {"CountTenantRows", no_handler, 0},
        {"ExportTenantData", no_handler, 0},
        {"EraseTenantData", no_handler, BW_RPC_WRITE},
    };
    ck_assert_int_eq(bw_rpc_methods_bind(contract, good, 3, &m, why, sizeof(why)), 0);
    ck_assert_str_eq(m[0].path, "/bulwark.lifecycle.v1.TenantDataService/CountTenantRows");
    ck_assert_ptr_eq(m[0].request, &bulwark__lifecycle__v1__count_tenant_rows_request__descriptor);
    ck_assert_ptr_eq(m[0].response,
                     &bulwark__lifecycle__v1__count_tenant_rows_response__descriptor);
    ck_assert_str_eq(m[2].path, "/bulwark.lifecycle.v1.TenantDataService/EraseTenantData");
    ck_assert_uint_eq(m[2].flags, BW_RPC_WRITE);
    ck_assert_ptr_eq(m[2].handler, no_handler);
    free(m);

    /* A method without a handler, a handler without a method, two handlers. */
    ck_assert_int_eq(bw_rpc_methods_bind(contract, good, 2, &m, why, sizeof(why)), BW_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(why, "bulwark.lifecycle.v1.TenantDataService.EraseTenantData has no handler");
    const bw_rpc_handler_t unknown[] = {{"CountTenantRows", no_handler, 0},
                                        {"ExportTenantData", no_handler, 0},
                                        {"EraseTenantData", no_handler, 0},
                                        {"DropTenant", no_handler, 0}};
    ck_assert_int_eq(bw_rpc_methods_bind(contract, unknown, 4, &m, why, sizeof(why)), BW_EINVAL);
    ck_assert_str_eq(why, "bulwark.lifecycle.v1.TenantDataService has no method DropTenant");
    const bw_rpc_handler_t twice[] = {{"CountTenantRows", no_handler, 0},
                                      {"ExportTenantData", no_handler, 0},
                                      {"EraseTenantData", no_handler, 0},
                                      {"CountTenantRows", no_handler, 0}};
    ck_assert_int_eq(bw_rpc_methods_bind(contract, twice, 4, &m, why, sizeof(why)), BW_EINVAL);
    ck_assert_str_eq(why,
                     "bulwark.lifecycle.v1.TenantDataService.CountTenantRows has two handlers");
}
END_TEST

Suite *suite_rpc(void)
{
    Suite *s = suite_create("rpc");
    TCase *tc = tcase_create("rpc");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, tls_setup, tls_teardown);
    tcase_add_test(tc, test_call_helpers);
    tcase_add_test(tc, test_echo_async);
    tcase_add_test(tc, test_echo_sync);
    tcase_add_test(tc, test_failures);
    tcase_add_test(tc, test_bad_request);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_unimplemented);
    tcase_add_test(tc, test_deadline);
    tcase_add_test(tc, test_many_async);
    tcase_add_test(tc, test_workers_share_load);
    tcase_add_test(tc, test_reads_taken_together);
    tcase_add_test(tc, test_io_client);
    tcase_add_test(tc, test_stop_within_grace);
    tcase_add_test(tc, test_stop_past_grace);
    tcase_add_test(tc, test_stop_idle);
    tcase_add_test(tc, test_destroy_in_flight);
    tcase_add_test(tc, test_client_errors);
    tcase_add_test(tc, test_start_errors);
    tcase_add_test(tc, test_peer_methods);
    tcase_add_test(tc, test_named_peers_and_origin);
    tcase_add_test(tc, test_peer_certificates);
    tcase_add_test(tc, test_rotation);
    tcase_add_test(tc, test_first_channels_at_once);
    tcase_add_test(tc, test_methods_bind);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* the client's poller wakes the loop from its own thread */
    evthread_use_pthreads();
    const char *const names[] = {"scoping",      "gateway",  "crosswalk",
                                 "integrations", "stranger", NULL};
    bw_test_tls_make(names);
    SRunner *sr = srunner_create(suite_rpc());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
