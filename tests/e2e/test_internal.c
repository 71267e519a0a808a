/*
 * The internal trust boundary, tried against the running stack as an
 * attacker on the internal network would: the services' gRPC ports answer
 * only peers with a certificate of the deployment's CA, and each peer only
 * the methods it is allowed (the gateway everything; crosswalk, incidents and
 * attestations scoping's GetEntity, incidents also its ListEntityTypes;
 * integrations incidents' SetExternalRef, which not even the gateway may
 * call). Forged tenant metadata
 * from anyone else never reaches a handler, so nothing is read or written.
 *
 * Reads BULWARK_TEST_TLS_DIR (the stack's certificates) and
 * BULWARK_TEST_SCOPING_ADDR / BULWARK_TEST_ATTESTATIONS_ADDR besides the
 * HTTP settings.
 */
#include "e2e.h"

#include "bulwark/attestations/v1/attestations.pb-c.h"
#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "bulwark/lifecycle/v1/lifecycle.pb-c.h"
#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "rpc.h"
#include "status.h"
#include "tls_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SCOPING_SERVICE "/bulwark.scoping.v1.ScopingService/"
#define LIFECYCLE_SERVICE "/bulwark.lifecycle.v1.TenantDataService/"
#define ATTESTATION_SERVICE "/bulwark.attestations.v1.AttestationService/"
#define INCIDENTS_SERVICE "/bulwark.incidents.v1.IncidentsService/"

static char *tenant_id;
static char *admin_key;
static char entity_id[64];

/* A tenant with one entity, made over HTTP like any client would. */
static void setup(void)
{
    tenant_id = bw_test_create_tenant("internal trust", &admin_key);
    bw_test_resp_t resp;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", admin_key,
                                  "{\"name\":\"Grid Operator AG\",\"timeZone\":\"Europe/Berlin\"}",
                                  NULL, &resp),
                     0);
    ck_assert_int_eq(resp.status, 201);
    snprintf(entity_id, sizeof(entity_id), "%s", jstr(resp.json, "id"));
    bw_test_resp_free(&resp);
}

static void teardown(void)
{
    free(tenant_id);
    free(admin_key);
}

/* Calls method on the service at addr_env presenting tls's certificate, with
 * the forged metadata of the test's tenant; returns the gRPC status and, on
 * success, the reply in *payload (caller frees). */
static int call_as(bw_rpc_tls_t *tls, const char *addr_env, const char *peer, const char *method,
                   const ProtobufCMessage *request, uint8_t **payload, size_t *len)
{
    uint8_t buf[1024];
    size_t n = protobuf_c_message_pack(request, buf);
    bw_rpc_md_t md[] = {{"x-tenant-id", tenant_id},
                        {"x-roles", "admin"},
                        {"x-principal", "api-key:forged"},
                        {"x-board-member", "0193a2b4-1111-7222-8333-444455556666"}};
    bw_rpc_sync_t *sync = NULL;
    ck_assert_int_eq(bw_rpc_sync_open(tls, bw_test_env(addr_env), peer, &sync), 0);
    bw_arena_t *arena = bw_arena_create(1024);
    bw_rpc_reply_t reply;
    ck_assert_int_eq(bw_rpc_sync_call(sync, arena, method, buf, n, md, 4, 5000, &reply), 0);
    int status = reply.status;
    if (payload != NULL && status == BW_GRPC_OK) {
        *payload = malloc(reply.payload_len + 1);
        memcpy(*payload, reply.payload, reply.payload_len);
        *len = reply.payload_len;
    }
    if (status != BW_GRPC_OK && status != BW_GRPC_UNAVAILABLE)
        ck_assert_msg(reply.reason != NULL, "a refusal names its reason");
    bw_arena_destroy(arena);
    bw_rpc_sync_close(sync);
    return status;
}

static bw_rpc_tls_t *stack_tls(const char *name)
{
    return bw_test_tls_open_in(bw_test_env("BULWARK_TEST_TLS_DIR"), name, 60);
}

START_TEST(entity_lookup_is_all_crosswalk_may_ask)
{
    bw_rpc_tls_t *crosswalk = stack_tls("crosswalk");
    Bulwark__Scoping__V1__GetEntityRequest get = BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__INIT;
    get.id = entity_id;
    uint8_t *payload = NULL;
    size_t len = 0;
    ck_assert_int_eq(call_as(crosswalk, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             SCOPING_SERVICE "GetEntity", &get.base, &payload, &len),
                     BW_GRPC_OK);
    Bulwark__Scoping__V1__Entity *e = bulwark__scoping__v1__entity__unpack(NULL, len, payload);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "Grid Operator AG");
    bulwark__scoping__v1__entity__free_unpacked(e, NULL);
    free(payload);

    /* listing every entity of a tenant is the gateway's business only */
    Bulwark__Scoping__V1__ListEntitiesRequest list =
        BULWARK__SCOPING__V1__LIST_ENTITIES_REQUEST__INIT;
    ck_assert_int_eq(call_as(crosswalk, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             SCOPING_SERVICE "ListEntities", &list.base, NULL, NULL),
                     BW_GRPC_UNAUTHENTICATED);
    Bulwark__Scoping__V1__DeleteEntityRequest del =
        BULWARK__SCOPING__V1__DELETE_ENTITY_REQUEST__INIT;
    del.id = entity_id;
    ck_assert_int_eq(call_as(crosswalk, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             SCOPING_SERVICE "DeleteEntity", &del.base, NULL, NULL),
                     BW_GRPC_UNAUTHENTICATED);
    bw_rpc_tls_close(crosswalk);

    /* the entity is still there */
    char path[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", entity_id);
    bw_test_resp_t resp;
    ck_assert_int_eq(bw_test_http("GET", path, admin_key, NULL, NULL, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    bw_test_resp_free(&resp);
}
END_TEST

/* Every service answers the calls about a tenant's data (export, erasure,
 * counts), and only to the gateway: another service's certificate gets no
 * further than its identity, and the entity survives the attempt. */
START_TEST(a_tenants_data_is_the_gateways_business)
{
    Bulwark__Lifecycle__V1__EraseTenantDataRequest erase =
        BULWARK__LIFECYCLE__V1__ERASE_TENANT_DATA_REQUEST__INIT;
    Bulwark__Lifecycle__V1__ExportTenantDataRequest export =
        BULWARK__LIFECYCLE__V1__EXPORT_TENANT_DATA_REQUEST__INIT;
    const char *others[] = {"crosswalk", "incidents", "attestations"};
    for (size_t i = 0; i < 3; i++) {
        bw_rpc_tls_t *tls = stack_tls(others[i]);
        ck_assert_int_eq(call_as(tls, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                                 LIFECYCLE_SERVICE "EraseTenantData", &erase.base, NULL, NULL),
                         BW_GRPC_UNAUTHENTICATED);
        ck_assert_int_eq(call_as(tls, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                                 LIFECYCLE_SERVICE "ExportTenantData", &export.base, NULL, NULL),
                         BW_GRPC_UNAUTHENTICATED);
        bw_rpc_tls_close(tls);
    }
    /* The gateway's certificate reads the tenant's rows. */
    bw_rpc_tls_t *gateway = stack_tls("gateway");
    uint8_t *payload = NULL;
    size_t len = 0;
    ck_assert_int_eq(call_as(gateway, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             LIFECYCLE_SERVICE "ExportTenantData", &export.base, &payload, &len),
                     BW_GRPC_OK);
    Bulwark__Lifecycle__V1__ExportTenantDataResponse *page =
        bulwark__lifecycle__v1__export_tenant_data_response__unpack(NULL, len, payload);
    ck_assert_ptr_nonnull(page);
    /* one chunk per table of the schema (entities, their tombstones, ...) */
    const Bulwark__Lifecycle__V1__TableChunk *entities = NULL;
    for (size_t i = 0; i < page->n_chunks; i++)
        if (strcmp(page->chunks[i]->table, "scoping.entities") == 0)
            entities = page->chunks[i];
    ck_assert_ptr_nonnull(entities);
    ck_assert_int_eq(entities->rows, 1);
    ck_assert_ptr_nonnull(strstr(entities->content, entity_id));
    bulwark__lifecycle__v1__export_tenant_data_response__free_unpacked(page, NULL);
    free(payload);
    bw_rpc_tls_close(gateway);

    char path[128];
    snprintf(path, sizeof(path), "/v1/entities/%s", entity_id);
    bw_test_resp_t resp;
    ck_assert_int_eq(bw_test_http("GET", path, admin_key, NULL, NULL, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    bw_test_resp_free(&resp);
}
END_TEST

START_TEST(entity_types_are_for_incidents_only)
{
    /* incidents reads scoping's catalogue (which types IR 2024/2690
     * covers); crosswalk has no use for it and is refused. */
    Bulwark__Scoping__V1__ListEntityTypesRequest types =
        BULWARK__SCOPING__V1__LIST_ENTITY_TYPES_REQUEST__INIT;
    bw_rpc_tls_t *incidents = stack_tls("incidents");
    uint8_t *payload = NULL;
    size_t len = 0;
    ck_assert_int_eq(call_as(incidents, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             SCOPING_SERVICE "ListEntityTypes", &types.base, &payload, &len),
                     BW_GRPC_OK);
    Bulwark__Scoping__V1__ListEntityTypesResponse *r =
        bulwark__scoping__v1__list_entity_types_response__unpack(NULL, len, payload);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_gt(r->n_entity_types, 60);
    bulwark__scoping__v1__list_entity_types_response__free_unpacked(r, NULL);
    free(payload);
    bw_rpc_tls_close(incidents);
    bw_rpc_tls_t *crosswalk = stack_tls("crosswalk");
    ck_assert_int_eq(call_as(crosswalk, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             SCOPING_SERVICE "ListEntityTypes", &types.base, NULL, NULL),
                     BW_GRPC_UNAUTHENTICATED);
    bw_rpc_tls_close(crosswalk);
}
END_TEST

/* SetExternalRef records the ticket integrations opened; no other peer may
 * call it, not even the gateway (which may call every other method), and
 * it never replaces a reference the incident already has. */
START_TEST(external_refs_are_the_integrations_business)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"title\":\"Outage\",\"awareAt\":\"2025-06-10T09:15:00Z\"}",
             entity_id);
    bw_test_resp_t resp;
    ck_assert_int_eq(bw_test_http("POST", "/v1/incidents", admin_key, body, NULL, &resp), 0);
    ck_assert_msg(resp.status == 201, "%s", resp.body);
    char incident[64], path[128];
    snprintf(incident, sizeof(incident), "%s", jstr(resp.json, "id"));
    bw_test_resp_free(&resp);
    snprintf(path, sizeof(path), "/v1/incidents/%s", incident);

    Bulwark__Incidents__V1__SetExternalRefRequest set =
        BULWARK__INCIDENTS__V1__SET_EXTERNAL_REF_REQUEST__INIT;
    set.incident = incident;
    set.external_ref = "FORGED-1";
    const char *refused[] = {"gateway", "scoping", "attestations"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        bw_rpc_tls_t *tls = stack_tls(refused[i]);
        ck_assert_msg(call_as(tls, "BULWARK_TEST_INCIDENTS_ADDR", "incidents",
                              INCIDENTS_SERVICE "SetExternalRef", &set.base, NULL,
                              NULL) == BW_GRPC_UNAUTHENTICATED,
                      "%s may not set an external reference", refused[i]);
        bw_rpc_tls_close(tls);
    }
    ck_assert_int_eq(bw_test_http("GET", path, admin_key, NULL, NULL, &resp), 0);
    ck_assert_str_eq(jstr(resp.json, "externalRef"), "");
    char etag[128];
    snprintf(etag, sizeof(etag), "%s", jstr(resp.json, "etag"));
    bw_test_resp_free(&resp);

    bw_rpc_tls_t *integrations = stack_tls("integrations");
    set.external_ref = "SEC-9";
    ck_assert_int_eq(call_as(integrations, "BULWARK_TEST_INCIDENTS_ADDR", "incidents",
                             INCIDENTS_SERVICE "SetExternalRef", &set.base, NULL, NULL),
                     BW_GRPC_OK);
    ck_assert_int_eq(bw_test_http("GET", path, admin_key, NULL, NULL, &resp), 0);
    ck_assert_str_ne(jstr(resp.json, "etag"), etag);
    snprintf(etag, sizeof(etag), "%s", jstr(resp.json, "etag"));
    bw_test_resp_free(&resp);
    /* The same again changes nothing; another is refused, not replaced. */
    ck_assert_int_eq(call_as(integrations, "BULWARK_TEST_INCIDENTS_ADDR", "incidents",
                             INCIDENTS_SERVICE "SetExternalRef", &set.base, NULL, NULL),
                     BW_GRPC_OK);
    set.external_ref = "INC0099999";
    ck_assert_int_eq(call_as(integrations, "BULWARK_TEST_INCIDENTS_ADDR", "incidents",
                             INCIDENTS_SERVICE "SetExternalRef", &set.base, NULL, NULL),
                     BW_GRPC_FAILED_PRECONDITION);
    set.external_ref = "";
    ck_assert_int_eq(call_as(integrations, "BULWARK_TEST_INCIDENTS_ADDR", "incidents",
                             INCIDENTS_SERVICE "SetExternalRef", &set.base, NULL, NULL),
                     BW_GRPC_INVALID_ARGUMENT);
    bw_rpc_tls_close(integrations);
    ck_assert_int_eq(bw_test_http("GET", path, admin_key, NULL, NULL, &resp), 0);
    ck_assert_str_eq(jstr(resp.json, "externalRef"), "SEC-9");
    ck_assert_str_eq(jstr(resp.json, "etag"), etag);
    bw_test_resp_free(&resp);
}
END_TEST

START_TEST(no_attestation_in_another_name)
{
    /* The attack: anything reaching the attestations port records a
     * board member (then a signed attestation) in any tenant's name. */
    Bulwark__Attestations__V1__BoardMember member = BULWARK__ATTESTATIONS__V1__BOARD_MEMBER__INIT;
    member.name = "Mallory";
    member.email = "mallory@example.test";
    member.role = "CEO";
    Bulwark__Attestations__V1__CreateBoardMemberRequest req =
        BULWARK__ATTESTATIONS__V1__CREATE_BOARD_MEMBER_REQUEST__INIT;
    req.entity = entity_id;
    req.board_member = &member;
    const char *peers[] = {"crosswalk", "incidents", "scoping"};
    for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
        bw_rpc_tls_t *tls = stack_tls(peers[i]);
        ck_assert_int_eq(call_as(tls, "BULWARK_TEST_ATTESTATIONS_ADDR", "attestations",
                                 ATTESTATION_SERVICE "CreateBoardMember", &req.base, NULL, NULL),
                         BW_GRPC_UNAUTHENTICATED);
        bw_rpc_tls_close(tls);
    }
    char path[128];
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", entity_id);
    bw_test_resp_t resp;
    ck_assert_int_eq(bw_test_http("GET", path, admin_key, NULL, NULL, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(resp.json, "boardMembers")), 0);
    bw_test_resp_free(&resp);
}
END_TEST

START_TEST(a_certificate_of_another_ca_gets_no_call)
{
    /* Even named "gateway", a certificate the deployment's CA did not sign
     * fails the handshake: there is no call at all. */
    char dir[] = "/tmp/bw-e2e-forged.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *const names[] = {"gateway", NULL};
    bw_test_tls_make_in(dir, names, 0);
    bw_rpc_tls_t *forged = bw_test_tls_open_in(dir, "gateway", 60);
    Bulwark__Scoping__V1__GetEntityRequest get = BULWARK__SCOPING__V1__GET_ENTITY_REQUEST__INIT;
    get.id = entity_id;
    ck_assert_int_eq(call_as(forged, "BULWARK_TEST_SCOPING_ADDR", "scoping",
                             SCOPING_SERVICE "GetEntity", &get.base, NULL, NULL),
                     BW_GRPC_UNAVAILABLE);
    bw_rpc_tls_close(forged);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(plaintext_gets_no_http2)
{
    /* A plaintext HTTP/2 client gets no HTTP/2 frame back: at most a TLS
     * alert, then the connection closes. */
    const char *addr = bw_test_env("BULWARK_TEST_SCOPING_ADDR");
    const char *colon = strrchr(addr, ':');
    ck_assert_ptr_nonnull(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10))};
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    ck_assert_int_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                  "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    ck_assert_int_eq(send(fd, preface, sizeof(preface) - 1, MSG_NOSIGNAL),
                     (ssize_t)(sizeof(preface) - 1));
    unsigned char reply[64];
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    close(fd);
    /* nothing, or a TLS record of type alert (21); an HTTP/2 SETTINGS frame
     * would have type 4 in its fourth byte */
    ck_assert_msg(n <= 0 || reply[0] == 21, "the server answered plaintext (%zd bytes, first %u)",
                  n, n > 0 ? reply[0] : 0);
}
END_TEST

Suite *suite_internal(void)
{
    Suite *s = suite_create("internal");
    TCase *tc = tcase_create("internal");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, entity_lookup_is_all_crosswalk_may_ask);
    tcase_add_test(tc, entity_types_are_for_incidents_only);
    tcase_add_test(tc, a_tenants_data_is_the_gateways_business);
    tcase_add_test(tc, no_attestation_in_another_name);
    tcase_add_test(tc, external_refs_are_the_integrations_business);
    tcase_add_test(tc, a_certificate_of_another_ca_gets_no_call);
    tcase_add_test(tc, plaintext_gets_no_http2);
    suite_add_tcase(s, tc);
    return s;
}
