/*
 * Suite of services/scoping/client/scoping_client.c against a stand-in scoping server in this
 * process (common/rpc): an entity of the caller's tenant is found with its
 * time zone and trust-service status, another tenant's entity or an unknown
 * one is not found, a failing or absent scoping service is unavailable, and
 * concurrent callers share the channel pool safely.
 */
#include <check.h>
#include <stdlib.h>

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "scoping_client.h"
#include "status.h"
#include "tls_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TENANT "0193a2b4-0000-7000-8000-000000000001"
#define OTHER_TENANT "0193a2b4-0000-7000-8000-000000000002"
#define TSP_ENTITY "0193a2b4-1111-7222-8333-444455556666"
#define PLAIN_ENTITY "0193a2b4-1111-7222-8333-444455557777"
#define FAILING_ENTITY "0193a2b4-1111-7222-8333-444455558888"
#define STALE_ENTITY "0193a2b4-1111-7222-8333-444455559999"

/* ListEntityTypes calls the stand-in answered. */
static int types_calls;

/* GetEntity of the stand-in: two entities of TENANT. */
static int get_entity(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Scoping__V1__GetEntityRequest *req = (const void *)request;
    int full = req->view == BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__VIEW__FULL;
    if (strcmp(req->id, FAILING_ENTITY) == 0)
        return bw_call_fail(call, BW_EINTERNAL, NULL, "stand-in failure");
    /* Stored facts that no longer pass scoping's checks: nothing follows
     * from them, so only the full view fails. */
    if (strcmp(req->id, STALE_ENTITY) == 0 && full)
        return bw_call_fail(call, BW_EPRECOND, "ENTITY_FACTS_INVALID", "stale facts");
    int tsp = strcmp(req->id, TSP_ENTITY) == 0;
    if (call->tenant_id == NULL || strcmp(call->tenant_id, TENANT) != 0 ||
        (!tsp && strcmp(req->id, PLAIN_ENTITY) != 0 && strcmp(req->id, STALE_ENTITY) != 0))
        return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", req->id);
    Bulwark__Scoping__V1__Entity *e = bw_arena_alloc(call->arena, sizeof(*e));
    bulwark__scoping__v1__entity__init(e);
    e->id = req->id;
    e->time_zone = tsp ? "Europe/Berlin" : "America/New_York";
    Bulwark__Scoping__V1__Activity *a = bw_arena_alloc(call->arena, sizeof(*a));
    bulwark__scoping__v1__activity__init(a);
    a->entity_type = tsp ? "digital_infra.tsp.qualified" : "digital_infra.cloud";
    e->activities = bw_arena_alloc(call->arena, sizeof(*e->activities));
    e->activities[0] = a;
    e->n_activities = 1;
    if (full) {
        Bulwark__Scoping__V1__Applicability *ap = bw_arena_alloc(call->arena, sizeof(*ap));
        bulwark__scoping__v1__applicability__init(ap);
        ap->incident_regime = tsp ? BULWARK__SCOPING__V1__INCIDENT_REGIME__NIS2
                                  : BULWARK__SCOPING__V1__INCIDENT_REGIME__DORA;
        ap->dora_applies = !tsp;
        ap->trust_service_provider = tsp;
        e->applicability = ap;
    }
    *resp = &e->base;
    return 0;
}

/* ListEntityTypes of the stand-in: three types. */
static int list_entity_types(bw_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **resp)
{
    (void)request;
    static const struct {
        const char *code;
        int article;
    } types[] = {
        {"health.healthcare_provider", 0}, {"digital_infra.cloud", 7}, {"digital_infra.dns", 5}};
    __atomic_add_fetch(&types_calls, 1, __ATOMIC_SEQ_CST);
    Bulwark__Scoping__V1__ListEntityTypesResponse *r = bw_arena_alloc(call->arena, sizeof(*r));
    bulwark__scoping__v1__list_entity_types_response__init(r);
    r->entity_types = bw_arena_calloc(call->arena, 3, sizeof(*r->entity_types));
    for (size_t i = 0; i < 3; i++) {
        Bulwark__Scoping__V1__EntityType *t = bw_arena_alloc(call->arena, sizeof(*t));
        bulwark__scoping__v1__entity_type__init(t);
        t->code = (char *)types[i].code;
        t->implementing_regulation_article = types[i].article;
        r->entity_types[r->n_entity_types++] = t;
    }
    *resp = &r->base;
    return 0;
}

static const bw_rpc_method_t methods[] = {
    {"/bulwark.scoping.v1.ScopingService/GetEntity",
     &bulwark__scoping__v1__get_entity_request__descriptor,
     &bulwark__scoping__v1__entity__descriptor, get_entity},
    {"/bulwark.scoping.v1.ScopingService/ListEntityTypes",
     &bulwark__scoping__v1__list_entity_types_request__descriptor,
     &bulwark__scoping__v1__list_entity_types_response__descriptor, list_entity_types},
};

static bw_rpc_server_t *server;
static char target[64];
static bw_rpc_tls_t *server_tls;
static bw_rpc_tls_t *client_tls;
static const bw_rpc_peer_t peers[] = {{"incidents", NULL}};

static void setup(void)
{
    server_tls = bw_test_tls_open("scoping");
    client_tls = bw_test_tls_open("incidents");
    bw_rpc_server_opts_t opts = {
        .name = "scoping-stand-in",
        .addr = "127.0.0.1:0",
        .tls = server_tls,
        .peers = peers,
        .n_peers = 1,
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .workers = 2,
    };
    ck_assert_int_eq(bw_rpc_server_start(&opts, &server), 0);
    snprintf(target, sizeof(target), "127.0.0.1:%d", bw_rpc_server_port(server));
}

static void teardown(void)
{
    bw_rpc_server_stop(server, 1000);
    server = NULL;
    bw_rpc_tls_close(client_tls);
    bw_rpc_tls_close(server_tls);
}

/* Looks up id as tenant; returns the client's result. */
static int lookup(bw_scoping_client_t *c, const char *tenant, const char *id,
                  bw_entity_info_t *info, char *zone, size_t zone_len)
{
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = bw_arena_create(4096);
    call.tenant_id = tenant;
    call.request_id = "req-1";
    call.log.tenant_id = tenant;
    int err = bw_scoping_client_entity(c, &call, id, info);
    if (err == 0 && zone != NULL)
        snprintf(zone, zone_len, "%s", info->time_zone);
    bw_arena_destroy(call.arena);
    return err;
}

START_TEST(entity_of_the_callers_tenant)
{
    bw_scoping_client_t *c;
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 2, 2000, &c), 0);
    bw_entity_info_t info;
    char zone[64];
    ck_assert_int_eq(lookup(c, TENANT, TSP_ENTITY, &info, zone, sizeof(zone)), 0);
    ck_assert_str_eq(zone, "Europe/Berlin");
    /* Trust services are scoping's answer, which only the full view asks. */
    ck_assert_int_eq(info.trust_service_provider, 0);
    ck_assert_int_eq(lookup(c, TENANT, PLAIN_ENTITY, &info, zone, sizeof(zone)), 0);
    ck_assert_str_eq(zone, "America/New_York");
    ck_assert_int_eq(info.trust_service_provider, 0);
    bw_scoping_client_close(c);
}
END_TEST

START_TEST(other_tenant_or_unknown_is_not_found)
{
    bw_scoping_client_t *c;
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 1, 2000, &c), 0);
    bw_entity_info_t info;
    ck_assert_int_eq(lookup(c, OTHER_TENANT, TSP_ENTITY, &info, NULL, 0), BW_ENOTFOUND);
    ck_assert_int_eq(lookup(c, TENANT, "0193a2b4-1111-7222-8333-000000000000", &info, NULL, 0),
                     BW_ENOTFOUND);
    ck_assert_int_eq(lookup(c, NULL, TSP_ENTITY, &info, NULL, 0), BW_ENOTFOUND);
    bw_scoping_client_close(c);
}
END_TEST

START_TEST(failing_or_absent_scoping_is_unavailable)
{
    bw_scoping_client_t *c;
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 1, 2000, &c), 0);
    bw_entity_info_t info;
    ck_assert_int_eq(lookup(c, TENANT, FAILING_ENTITY, &info, NULL, 0), BW_EUNAVAIL);
    bw_rpc_server_stop(server, 1000);
    server = NULL;
    ck_assert_int_eq(lookup(c, TENANT, TSP_ENTITY, &info, NULL, 0), BW_EUNAVAIL);
    bw_scoping_client_close(c);
    ck_assert_int_eq(bw_scoping_client_open(client_tls, "", 1, 2000, &c), BW_EINVAL);
    bw_scoping_client_close(NULL);
}
END_TEST

/* As lookup, with the entity's applicability; *regime gets its incident regime. */
static int lookup_full(bw_scoping_client_t *c, const char *id, int *regime, int *dora, int *tsp)
{
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = bw_arena_create(4096);
    call.tenant_id = TENANT;
    bw_entity_info_t info;
    int err = bw_scoping_client_entity_full(c, &call, id, &info);
    if (err == 0) {
        *regime = info.applicability->incident_regime;
        *dora = info.applicability->dora_applies;
        *tsp = info.trust_service_provider;
    }
    bw_arena_destroy(call.arena);
    return err;
}

START_TEST(entity_with_its_applicability)
{
    bw_scoping_client_t *c;
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 1, 2000, &c), 0);
    int regime = 0, dora = 0, tsp = 0;
    ck_assert_int_eq(lookup_full(c, PLAIN_ENTITY, &regime, &dora, &tsp), 0);
    ck_assert_int_eq(regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__DORA);
    ck_assert(dora);
    ck_assert(!tsp);
    ck_assert_int_eq(lookup_full(c, TSP_ENTITY, &regime, &dora, &tsp), 0);
    ck_assert_int_eq(regime, BULWARK__SCOPING__V1__INCIDENT_REGIME__NIS2);
    ck_assert(tsp);
    /* Without the view no applicability is asked for or given. */
    bw_entity_info_t info;
    ck_assert_int_eq(lookup(c, TENANT, TSP_ENTITY, &info, NULL, 0), 0);
    /* Stale stored facts: the entity exists, nothing follows from them. */
    ck_assert_int_eq(lookup(c, TENANT, STALE_ENTITY, &info, NULL, 0), 0);
    ck_assert_int_eq(lookup_full(c, STALE_ENTITY, &regime, &dora, &tsp), BW_EPRECOND);
    ck_assert_int_eq(lookup_full(c, FAILING_ENTITY, &regime, &dora, &tsp), BW_EUNAVAIL);
    bw_scoping_client_close(c);
}
END_TEST

static int types_lookup(bw_scoping_client_t *c, bw_entity_type_info_t out[3])
{
    static const char *const codes[] = {"digital_infra.dns", "health.healthcare_provider",
                                        "no.such_type"};
    bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = bw_arena_create(4096);
    call.tenant_id = TENANT;
    int err = bw_scoping_client_entity_types(c, &call, codes, 3, out);
    bw_arena_destroy(call.arena);
    return err;
}

START_TEST(entity_types_fetched_once_and_kept)
{
    bw_scoping_client_t *c;
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 1, 2000, &c), 0);
    __atomic_store_n(&types_calls, 0, __ATOMIC_SEQ_CST);
    bw_entity_type_info_t out[3];
    ck_assert_int_eq(types_lookup(c, out), 0);
    ck_assert(out[0].known);
    ck_assert_int_eq(out[0].ir_article, 5);
    ck_assert(out[1].known);
    ck_assert_int_eq(out[1].ir_article, 0);
    ck_assert(!out[2].known);
    ck_assert_int_eq(types_lookup(c, out), 0);
    ck_assert_int_eq(__atomic_load_n(&types_calls, __ATOMIC_SEQ_CST), 1);
    /* Scoping gone: the copy fetched before still answers. */
    bw_rpc_server_stop(server, 1000);
    server = NULL;
    ck_assert_int_eq(types_lookup(c, out), 0);
    ck_assert_int_eq(out[0].ir_article, 5);
    bw_scoping_client_close(c);
    /* A client that never got a copy cannot answer. */
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 1, 2000, &c), 0);
    ck_assert_int_eq(types_lookup(c, out), BW_EUNAVAIL);
    bw_scoping_client_close(c);
}
END_TEST

typedef struct worker {
    bw_scoping_client_t *client;
    int failures;
} worker_t;

static void *hammer(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 25; i++) {
        bw_entity_info_t info;
        char zone[64];
        if (lookup(w->client, TENANT, i % 2 ? TSP_ENTITY : PLAIN_ENTITY, &info, zone,
                   sizeof(zone)) != 0 ||
            strcmp(zone, i % 2 ? "Europe/Berlin" : "America/New_York") != 0)
            w->failures++;
    }
    return NULL;
}

START_TEST(concurrent_callers_share_the_pool)
{
    bw_scoping_client_t *c;
    ck_assert_int_eq(bw_scoping_client_open(client_tls, target, 2, 5000, &c), 0);
    pthread_t threads[4];
    worker_t workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker_t){c, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hammer, &workers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(workers[i].failures, 0);
    }
    bw_scoping_client_close(c);
}
END_TEST

static Suite *suite_scoping_client(void)
{
    Suite *s = suite_create("scoping_client");
    TCase *tc = tcase_create("scoping_client");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, entity_of_the_callers_tenant);
    tcase_add_test(tc, other_tenant_or_unknown_is_not_found);
    tcase_add_test(tc, failing_or_absent_scoping_is_unavailable);
    tcase_add_test(tc, concurrent_callers_share_the_pool);
    tcase_add_test(tc, entity_with_its_applicability);
    tcase_add_test(tc, entity_types_fetched_once_and_kept);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *const names[] = {"scoping", "incidents", NULL};
    bw_test_tls_make(names);
    SRunner *sr = srunner_create(suite_scoping_client());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
