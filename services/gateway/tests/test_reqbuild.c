/*
 * The request builder (reqbuild.c) on the generated route table, without a
 * network: each case is a request as a client sends it (method, path,
 * query, Content-Type, body) and either the message the service would get
 * or the problem the client would read.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"
#include "bulwark/integrations/v1/integrations.pb-c.h"
#include "bulwark/scoping/v1/scoping.pb-c.h"

#include "reqbuild.h"
#include "status.h"

#define ENTITY "0193a2b4-0000-7000-8000-000000000001"

typedef struct built {
    bw_arena_t *arena;
    bw_route_match_t match;
    bw_reqbuild_out_t out;
    bw_problem_t problem;
    int rc;
} built_t;

static built_t b;

static void setup(void)
{
    memset(&b, 0, sizeof(b));
    b.arena = bw_arena_create(4096);
    ck_assert_ptr_nonnull(b.arena);
}

static void teardown(void)
{
    bw_arena_destroy(b.arena);
}

/* Routes the request and builds its message into b; returns bw_reqbuild's. */
static int build_with(int method, const char *path, const char *query, const char *content_type,
                      const char *body, size_t body_len, const bw_httpparse_field_t *headers,
                      size_t n_headers)
{
    ck_assert_int_eq(bw_router_match(bw_routes, bw_n_routes, method, path, b.arena, &b.match), 0);
    ck_assert_msg(b.match.route != NULL, "no route for %s", path);
    bw_reqbuild_in_t in = {.call = b.match.route,
                           .match = &b.match,
                           .method = method,
                           .query = query,
                           .content_type = content_type,
                           .body = body,
                           .body_len = body_len,
                           .headers = headers,
                           .n_headers = n_headers};
    b.rc = bw_reqbuild(b.arena, &in, &b.out, &b.problem);
    return b.rc;
}

static int build(int method, const char *path, const char *query, const char *body)
{
    return build_with(method, path, query, body[0] ? "application/json" : NULL, body, strlen(body),
                      NULL, 0);
}

/* The problem's reason, status and (when field is not NULL) its one field. */
static void assert_problem(const char *reason, int status, const char *field)
{
    ck_assert_int_eq(b.rc, -1);
    ck_assert_str_eq(b.problem.reason, reason);
    ck_assert_int_eq(bw_problem_status(&b.problem), status);
    ck_assert_ptr_nonnull(b.problem.detail);
    if (field == NULL) {
        ck_assert_uint_eq(b.problem.n_errors, 0);
        return;
    }
    ck_assert_uint_eq(b.problem.n_errors, 1);
    ck_assert_str_eq(b.problem.errors[0].field, field);
    ck_assert_ptr_nonnull(b.problem.errors[0].message);
}

/* The payload is what the service unpacks. */
#define UNPACK(type, fn)                                                                           \
    ((type *)protobuf_c_message_unpack(&fn##__descriptor, bw_arena_protobuf_allocator(b.arena),    \
                                       b.out.payload_len, b.out.payload))

START_TEST(body_into_its_field)
{
    ck_assert_int_eq(build(BW_HTTP_POST, "/v1/entities", NULL,
                           "{\"name\":\"Acme Cloud SE\",\"timeZone\":\"Europe/Berlin\"}"),
                     0);
    Bulwark__Scoping__V1__CreateEntityRequest *req = UNPACK(
        Bulwark__Scoping__V1__CreateEntityRequest, bulwark__scoping__v1__create_entity_request);
    ck_assert_ptr_nonnull(req);
    ck_assert_ptr_nonnull(req->entity);
    ck_assert_str_eq(req->entity->name, "Acme Cloud SE");
    ck_assert_str_eq(req->entity->time_zone, "Europe/Berlin");
    ck_assert_ptr_eq(b.out.message->descriptor,
                     &bulwark__scoping__v1__create_entity_request__descriptor);
}
END_TEST

START_TEST(empty_body_is_an_empty_object)
{
    ck_assert_int_eq(build(BW_HTTP_POST, "/v1/entities", NULL, ""), 0);
    Bulwark__Scoping__V1__CreateEntityRequest *req = UNPACK(
        Bulwark__Scoping__V1__CreateEntityRequest, bulwark__scoping__v1__create_entity_request);
    ck_assert_ptr_nonnull(req);
}
END_TEST

START_TEST(bad_json)
{
    build(BW_HTTP_POST, "/v1/entities", NULL, "{\"name\":");
    assert_problem("MALFORMED_JSON", 400, NULL);
    ck_assert_ptr_nonnull(strstr(b.problem.detail, "malformed JSON at line 1"));
    build(BW_HTTP_POST, "/v1/entities", NULL, "[\"Acme\"]");
    assert_problem("MALFORMED_JSON", 400, NULL);
    ck_assert_str_eq(b.problem.detail, "the body must be a JSON object");
    /* A key twice is ambiguous, not the last one wins. */
    build(BW_HTTP_POST, "/v1/entities", NULL, "{\"name\":\"a\",\"name\":\"b\"}");
    assert_problem("MALFORMED_JSON", 400, NULL);
    ck_assert_str_eq(b.problem.detail, "duplicate key \"name\" at line 1, column 18");
    /* A bare value is JSON, but not a body. */
    build(BW_HTTP_POST, "/v1/entities", NULL, "42");
    assert_problem("MALFORMED_JSON", 400, NULL);
    ck_assert_str_eq(b.problem.detail, "the body must be a JSON object");
}
END_TEST

START_TEST(unknown_field_named_as_written)
{
    /* The body is the request's entity field: the client reads "nmae", not
     * "entity.nmae". */
    build(BW_HTTP_POST, "/v1/entities", NULL, "{\"nmae\":\"Acme\"}");
    assert_problem("INVALID_FIELD", 400, "nmae");
    ck_assert_ptr_nonnull(strstr(b.problem.detail, "nmae: "));
    build(BW_HTTP_POST, "/v1/entities", NULL,
          "{\"name\":\"Acme\",\"activities\":[{\"entityType\":\"x\"},{\"color\":1}]}");
    assert_problem("INVALID_FIELD", 400, "activities[1].color");
}
END_TEST

START_TEST(wrong_types)
{
    build(BW_HTTP_POST, "/v1/entities", NULL, "{\"name\":5}");
    assert_problem("INVALID_FIELD", 400, "name");
    build(BW_HTTP_POST, "/v1/entities", NULL, "{\"activities\":{}}");
    assert_problem("INVALID_FIELD", 400, "activities");
    /* A body's numbers are JSON numbers: no lenient strings there. */
    build(BW_HTTP_POST, "/v1/entities", NULL, "{\"size\":{\"staffHeadcount\":\"12\"}}");
    assert_problem("INVALID_FIELD", 400, "size.staffHeadcount");
}
END_TEST

START_TEST(not_json_is_415)
{
    build_with(BW_HTTP_POST, "/v1/entities", NULL, "text/plain", "name=Acme", 9, NULL, 0);
    assert_problem("UNSUPPORTED_MEDIA_TYPE", 415, NULL);
    build_with(BW_HTTP_POST, "/v1/entities", NULL, NULL, "{}", 2, NULL, 0);
    assert_problem("UNSUPPORTED_MEDIA_TYPE", 415, NULL);
    /* A route that also takes a file says which. */
    build_with(BW_HTTP_POST, "/v1/entities/" ENTITY "/controls:import", NULL, "text/plain", "x", 1,
               NULL, 0);
    assert_problem("UNSUPPORTED_MEDIA_TYPE", 415, NULL);
    ck_assert_str_eq(b.problem.detail, "the body must be application/json or text/csv");
}
END_TEST

START_TEST(path_values)
{
    ck_assert_int_eq(build(BW_HTTP_DELETE, "/v1/entities/" ENTITY, NULL, ""), 0);
    Bulwark__Scoping__V1__DeleteEntityRequest *req = UNPACK(
        Bulwark__Scoping__V1__DeleteEntityRequest, bulwark__scoping__v1__delete_entity_request);
    ck_assert_str_eq(req->id, ENTITY);
    /* Percent-decoded, and refused by name when that is not UTF-8. */
    ck_assert_int_eq(build(BW_HTTP_DELETE, "/v1/entities/a%20b", NULL, ""), 0);
    req = UNPACK(Bulwark__Scoping__V1__DeleteEntityRequest,
                 bulwark__scoping__v1__delete_entity_request);
    ck_assert_str_eq(req->id, "a b");
    build(BW_HTTP_DELETE, "/v1/entities/%FF", NULL, "");
    assert_problem("INVALID_FIELD", 400, "id");
    ck_assert_str_eq(b.problem.detail, "id: not valid UTF-8 once percent-decoded");
}
END_TEST

START_TEST(patch_update_mask_from_the_body)
{
    ck_assert_int_eq(build(BW_HTTP_PATCH, "/v1/entities/" ENTITY, NULL,
                           "{\"name\":\"Acme\",\"timeZone\":\"UTC\",\"parentEntity\":\"\"}"),
                     0);
    Bulwark__Scoping__V1__UpdateEntityRequest *req = UNPACK(
        Bulwark__Scoping__V1__UpdateEntityRequest, bulwark__scoping__v1__update_entity_request);
    ck_assert_str_eq(req->id, ENTITY);
    ck_assert_str_eq(req->entity->name, "Acme");
    ck_assert_ptr_nonnull(req->update_mask);
    ck_assert_uint_eq(req->update_mask->n_paths, 3);
    ck_assert_str_eq(req->update_mask->paths[0], "name");
    ck_assert_str_eq(req->update_mask->paths[1], "time_zone");
    /* A field set to its empty value is still a field to change. */
    ck_assert_str_eq(req->update_mask->paths[2], "parent_entity");
    /* An empty body changes nothing. */
    ck_assert_int_eq(build(BW_HTTP_PATCH, "/v1/entities/" ENTITY, NULL, "{}"), 0);
    req = UNPACK(Bulwark__Scoping__V1__UpdateEntityRequest,
                 bulwark__scoping__v1__update_entity_request);
    ck_assert(req->update_mask == NULL || req->update_mask->n_paths == 0);
    /* The mask is the gateway's to set: a body that names it is refused. */
    build(BW_HTTP_PATCH, "/v1/entities/" ENTITY, NULL, "{\"updateMask\":\"name\"}");
    assert_problem("INVALID_FIELD", 400, "updateMask");
}
END_TEST

START_TEST(query_parameters)
{
    ck_assert_int_eq(build(BW_HTTP_GET, "/v1/entities", "pageSize=10&orderBy=name%20desc", ""), 0);
    Bulwark__Scoping__V1__ListEntitiesRequest *req = UNPACK(
        Bulwark__Scoping__V1__ListEntitiesRequest, bulwark__scoping__v1__list_entities_request);
    ck_assert_int_eq(req->page_size, 10);
    ck_assert_str_eq(req->order_by, "name desc");
    /* A time on the query is an RFC 3339 string. */
    ck_assert_int_eq(
        build(BW_HTTP_GET, "/v1/entities", "updatedSince=2026-03-29T01:30:00%2B01:00", ""), 0);
    req = UNPACK(Bulwark__Scoping__V1__ListEntitiesRequest,
                 bulwark__scoping__v1__list_entities_request);
    ck_assert_ptr_nonnull(req->updated_since);
    ck_assert_int_eq(req->updated_since->seconds, 1774744200);

    build(BW_HTTP_GET, "/v1/entities", "pageSize=ten", "");
    assert_problem("INVALID_FIELD", 400, "pageSize");
    build(BW_HTTP_GET, "/v1/entities", "pageSiz=10", "");
    assert_problem("UNKNOWN_PARAMETER", 400, "pageSiz");
    build(BW_HTTP_GET, "/v1/entities", "filter=%FF", "");
    assert_problem("INVALID_FIELD", 400, "filter");
    /* A path value is not a query parameter too, nor is a body's field. */
    build(BW_HTTP_GET, "/v1/entities/" ENTITY, "id=other", "");
    assert_problem("UNKNOWN_PARAMETER", 400, "id");
    build(BW_HTTP_POST, "/v1/entities", "name=Acme", "{}");
    assert_problem("UNKNOWN_PARAMETER", 400, "name");
}
END_TEST

START_TEST(oversized_inputs)
{
    /* More keys than the message has fields: refused before any per-key
     * work, whatever the keys. */
    size_t n = bulwark__scoping__v1__entity__descriptor.n_fields + 1;
    char *body = malloc(n * 16 + 8);
    size_t o = 0;
    body[o++] = '{';
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(body + o, "%s\"k%zu\":1", i ? "," : "", i);
    body[o++] = '}';
    body[o] = '\0';
    build(BW_HTTP_POST, "/v1/entities", NULL, body);
    assert_problem("TOO_MANY_FIELDS", 400, NULL);
    free(body);

    /* A string beyond BW_JSON_MAX_STRING, named. */
    size_t len = 70 * 1024;
    body = malloc(len + 32);
    o = (size_t)sprintf(body, "{\"name\":\"");
    memset(body + o, 'a', len);
    o += len;
    strcpy(body + o, "\"}");
    build(BW_HTTP_POST, "/v1/entities", NULL, body);
    assert_problem("INVALID_FIELD", 400, "name");
    free(body);

    /* Nesting beyond BW_JSON_MAX_DEPTH. */
    char deep[4096];
    o = (size_t)sprintf(deep, "{\"name\":");
    for (int i = 0; i < 200; i++)
        deep[o++] = '[';
    for (int i = 0; i < 200; i++)
        deep[o++] = ']';
    strcpy(deep + o, "}");
    build(BW_HTTP_POST, "/v1/entities", NULL, deep);
    ck_assert_int_eq(b.rc, -1);
    ck_assert_int_eq(bw_problem_status(&b.problem), 400);
}
END_TEST

START_TEST(csv_body_taken_as_sent)
{
    const char *csv = "ref,applicable,status\nA.5.1,true,IMPLEMENTED\n";
    ck_assert_int_eq(build_with(BW_HTTP_POST, "/v1/entities/" ENTITY "/controls:import", NULL,
                                "text/csv; charset=utf-8", csv, strlen(csv), NULL, 0),
                     0);
    Bulwark__Crosswalk__V1__ImportControlsRequest *req =
        UNPACK(Bulwark__Crosswalk__V1__ImportControlsRequest,
               bulwark__crosswalk__v1__import_controls_request);
    ck_assert_str_eq(req->entity, ENTITY);
    ck_assert_str_eq(req->csv, csv);

    const char latin1[] = "ref,justification\nA.5.1,Gesch\xe4"
                          "ftsf\xfchrung\n";
    build_with(BW_HTTP_POST, "/v1/entities/" ENTITY "/controls:import", NULL, "text/csv", latin1,
               sizeof(latin1) - 1, NULL, 0);
    assert_problem("INVALID_FIELD", 400, "body");
    ck_assert_ptr_nonnull(strstr(b.problem.detail, "(line 2, byte 30)"));
    build_with(BW_HTTP_POST, "/v1/entities/" ENTITY "/controls:import", NULL,
               "text/csv; charset=iso-8859-1", csv, strlen(csv), NULL, 0);
    assert_problem("UNSUPPORTED_MEDIA_TYPE", 415, NULL);
}
END_TEST

START_TEST(raw_route_bytes_and_headers)
{
    const char body[] = "{\"webhookEvent\":\"jira:issue_updated\"}\n";
    bw_httpparse_field_t headers[] = {
        {"Content-Type", "application/json", 12, 16},
        {"X-Hub-Signature", "sha256=00", 15, 9},
    };
    ck_assert_int_eq(build_with(BW_HTTP_POST, "/v1/integrations/jira/conn-1/events", NULL,
                                "application/json", body, sizeof(body) - 1, headers, 2),
                     0);
    Bulwark__Integrations__V1__ReceiveTicketEventRequest *req =
        UNPACK(Bulwark__Integrations__V1__ReceiveTicketEventRequest,
               bulwark__integrations__v1__receive_ticket_event_request);
    ck_assert_str_eq(req->connection, "conn-1");
    ck_assert_uint_eq(req->body.len, sizeof(body) - 1);
    ck_assert_mem_eq(req->body.data, body, sizeof(body) - 1);
    ck_assert_uint_eq(req->n_headers, 2);
    ck_assert_str_eq(req->headers[0]->name, "content-type");
    ck_assert_str_eq(req->headers[0]->value, "application/json");
    ck_assert_str_eq(req->headers[1]->name, "x-hub-signature");
    ck_assert_str_eq(req->headers[1]->value, "sha256=00");
    /* Not JSON, not even UTF-8: the service judges the bytes it signed,
     * every one of them, a NUL included. */
    const char bytes[] = "\xff\x00\x01";
    ck_assert_int_eq(build_with(BW_HTTP_POST, "/v1/integrations/jira/conn-1/events", NULL,
                                "application/octet-stream", bytes, 3, NULL, 0),
                     0);
    req = UNPACK(Bulwark__Integrations__V1__ReceiveTicketEventRequest,
                 bulwark__integrations__v1__receive_ticket_event_request);
    ck_assert_ptr_nonnull(req);
    ck_assert_uint_eq(req->body.len, 3);
    ck_assert_mem_eq(req->body.data, bytes, 3);
    ck_assert_uint_eq(req->n_headers, 0);
}
END_TEST

Suite *suite_reqbuild(void)
{
    Suite *s = suite_create("reqbuild");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, body_into_its_field);
    tcase_add_test(tc, empty_body_is_an_empty_object);
    tcase_add_test(tc, bad_json);
    tcase_add_test(tc, unknown_field_named_as_written);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, not_json_is_415);
    tcase_add_test(tc, path_values);
    tcase_add_test(tc, patch_update_mask_from_the_body);
    tcase_add_test(tc, query_parameters);
    tcase_add_test(tc, oversized_inputs);
    tcase_add_test(tc, csv_body_taken_as_sent);
    tcase_add_test(tc, raw_route_bytes_and_headers);
    suite_add_tcase(s, tc);
    return s;
}
