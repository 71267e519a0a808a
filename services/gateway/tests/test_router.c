/*
 * Route matching on a small hand-made table, and the generated table's
 * invariants (every route reachable by its own template).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "roles.h"
#include "router.h"

static const bw_route_seg_t s_entities[] = {{"v1", NULL}, {"entities", NULL}};
static const bw_route_seg_t s_entity[] = {{"v1", NULL}, {"entities", NULL}, {NULL, "id"}};
static const bw_route_seg_t s_assess[] = {{"v1", NULL}, {"scoping:assess", NULL}};
static const bw_route_seg_t s_class[] = {
    {"v1", NULL}, {"entities", NULL}, {NULL, "entity"}, {"classification", NULL}};
static const bw_route_seg_t s_rotate[] = {{"v1", NULL}, {"entities", NULL}, {NULL, "id", "rotate"}};

static const bw_route_t table[] = {
    {BW_HTTP_GET, "/v1/entities", s_entities, 2, "scoping", "/x/List", NULL, NULL, NULL, 200, 0, 0,
     ""},
    {BW_HTTP_POST, "/v1/entities", s_entities, 2, "scoping", "/x/Create", NULL, NULL, "*", 201, 0,
     0, ""},
    {BW_HTTP_GET, "/v1/entities/{id}", s_entity, 3, "scoping", "/x/Get", NULL, NULL, NULL, 200, 0,
     0, ""},
    {BW_HTTP_DELETE, "/v1/entities/{id}", s_entity, 3, "scoping", "/x/Delete", NULL, NULL, NULL,
     204, 0, 0, ""},
    {BW_HTTP_POST, "/v1/scoping:assess", s_assess, 2, "scoping", "/x/Assess", NULL, NULL, "*", 200,
     0, 0, ""},
    {BW_HTTP_GET, "/v1/entities/{entity}/classification", s_class, 4, "scoping", "/x/Classify",
     NULL, NULL, NULL, 200, 0, 0, ""},
    {BW_HTTP_POST, "/v1/entities/{id}:rotate", s_rotate, 3, "scoping", "/x/Rotate", NULL, NULL, "*",
     200, 0, 0, ""},
};
#define N (sizeof(table) / sizeof(table[0]))

/* The bound values' arena, one per test. */
static bw_arena_t *arena;

static void arena_setup(void)
{
    arena = bw_arena_create(1024);
    ck_assert_ptr_nonnull(arena);
}

static void arena_teardown(void)
{
    bw_arena_destroy(arena);
}

START_TEST(literal_and_variable)
{
    bw_route_match_t m;
    bw_router_match(table, N, BW_HTTP_GET, "/v1/entities", arena, &m);
    ck_assert_ptr_eq(m.route, &table[0]);
    bw_router_match(table, N, BW_HTTP_GET, "/v1/entities/0193a2b4-0000-7000-8000-000000000001",
                    arena, &m);
    ck_assert_ptr_eq(m.route, &table[2]);
    ck_assert_uint_eq(m.n_params, 1);
    ck_assert_str_eq(m.params[0].field, "id");
    ck_assert_str_eq(m.params[0].value, "0193a2b4-0000-7000-8000-000000000001");
    bw_router_match(table, N, BW_HTTP_GET, "/v1/entities/abc/classification", arena, &m);
    ck_assert_ptr_eq(m.route, &table[5]);
    ck_assert_str_eq(m.params[0].field, "entity");
}
END_TEST

START_TEST(custom_verb)
{
    bw_route_match_t m;
    bw_router_match(table, N, BW_HTTP_POST, "/v1/scoping:assess", arena, &m);
    ck_assert_ptr_eq(m.route, &table[4]);
    bw_router_match(table, N, BW_HTTP_POST, "/v1/scoping:assessx", arena, &m);
    ck_assert_ptr_null(m.route);
    ck_assert_uint_eq(m.allowed_methods, 0);
}
END_TEST

START_TEST(custom_verb_on_a_variable)
{
    bw_route_match_t m;
    bw_router_match(table, N, BW_HTTP_POST, "/v1/entities/ab%3Ac:rotate", arena, &m);
    ck_assert_ptr_eq(m.route, &table[6]);
    ck_assert_uint_eq(m.n_params, 1);
    ck_assert_str_eq(m.params[0].field, "id");
    ck_assert_str_eq(m.params[0].value, "ab:c");
    /* The verb is required, whole, after a non-empty value. */
    const char *bad[] = {"/v1/entities/:rotate", "/v1/entities/x:rotat", "/v1/entities/x:rotatex",
                         "/v1/entities/xrotate", "/v1/entities/x%3Arotate"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bw_router_match(table, N, BW_HTTP_POST, bad[i], arena, &m);
        ck_assert_msg(m.route == NULL, "%s matched", bad[i]);
    }
    /* The bare variable route of another method makes it a 405, not a 404. */
    bw_router_match(table, N, BW_HTTP_POST, "/v1/entities/x", arena, &m);
    ck_assert_ptr_null(m.route);
    ck_assert_uint_ne(m.allowed_methods, 0);
}
END_TEST

START_TEST(method_not_allowed_lists_methods)
{
    bw_route_match_t m;
    char allow[64];
    bw_router_match(table, N, BW_HTTP_PATCH, "/v1/entities/x", arena, &m);
    ck_assert_ptr_null(m.route);
    bw_router_allow_header(m.allowed_methods, allow, sizeof(allow));
    ck_assert_str_eq(allow, "GET, DELETE");
    bw_router_match(table, N, BW_HTTP_DELETE, "/v1/entities", arena, &m);
    bw_router_allow_header(m.allowed_methods, allow, sizeof(allow));
    ck_assert_str_eq(allow, "GET, POST");
}
END_TEST

START_TEST(no_match)
{
    bw_route_match_t m;
    const char *paths[] = {"/",
                           "",
                           "v1/entities",
                           "/v1/entities/",
                           "/v1/entities//x",
                           "/v1/entities/a/b",
                           "/v2/entities",
                           "/v1/Entities"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        bw_router_match(table, N, BW_HTTP_GET, paths[i], arena, &m);
        ck_assert_msg(m.route == NULL, "%s matched", paths[i]);
    }
}
END_TEST

START_TEST(percent_decoding)
{
    bw_route_match_t m;
    bw_router_match(table, N, BW_HTTP_GET, "/v1/entities/a%20b%2Dc", arena, &m);
    ck_assert_ptr_eq(m.route, &table[2]);
    ck_assert_str_eq(m.params[0].value, "a b-c");
    /* An encoded slash or NUL, or a broken escape, is no valid id. */
    const char *bad[] = {"/v1/entities/a%2Fb", "/v1/entities/a%00", "/v1/entities/a%4",
                         "/v1/entities/%zz"};
    for (size_t i = 0; i < 4; i++) {
        bw_router_match(table, N, BW_HTTP_GET, bad[i], arena, &m);
        ck_assert_msg(m.route == NULL, "%s matched", bad[i]);
    }
}
END_TEST

START_TEST(generated_table_is_consistent)
{
    /* Every generated route must be the one its own template reaches. */
    ck_assert_uint_gt(bw_n_routes, 5);
    for (size_t i = 0; i < bw_n_routes; i++) {
        const bw_route_t *r = &bw_routes[i];
        char path[256] = "";
        size_t o = 0;
        for (size_t s = 0; s < r->n_segs; s++)
            o += (size_t)snprintf(
                path + o, sizeof(path) - o, "/%s%s%s",
                r->segs[s].literal ? r->segs[s].literal : "0193a2b4-aaaa-7bbb-8ccc-1234567890ab",
                r->segs[s].verb ? ":" : "", r->segs[s].verb ? r->segs[s].verb : "");
        bw_route_match_t m;
        bw_router_match(bw_routes, bw_n_routes, r->method, path, arena, &m);
        ck_assert_msg(m.route == r, "%s does not reach its own route", r->path);
        ck_assert_msg(r->request != NULL && r->response != NULL, "%s lacks descriptors", r->path);
        ck_assert_msg(r->access != BW_ACCESS_TENANT || r->roles != 0, "%s has no roles", r->path);
    }
}
END_TEST

START_TEST(method_names)
{
    ck_assert_int_eq(bw_router_method("PATCH"), BW_HTTP_PATCH);
    ck_assert_int_eq(bw_router_method("patch"), 0);
    ck_assert_int_eq(bw_router_method("TRACE"), 0);
}
END_TEST

/* The one roles table: names to bits and back, unknown names grant nothing. */
START_TEST(roles_table)
{
    ck_assert_uint_eq(bw_role_bit("board_member", 12), BW_ROLE_BOARD_MEMBER);
    ck_assert_uint_eq(bw_role_bit("admin,editor", 5), BW_ROLE_ADMIN);
    ck_assert_uint_eq(bw_role_bit("Admin", 5), 0);
    ck_assert_uint_eq(bw_role_bit("admi", 4), 0);
    ck_assert_uint_eq(bw_role_bit("", 0), 0);
    unsigned all = 0;
    for (size_t i = 0; i < bw_n_roles; i++) {
        ck_assert_uint_eq(all & bw_roles[i].bit, 0);
        all |= bw_roles[i].bit;
    }
    char names[64];
    bw_role_names(BW_ROLE_VIEWER | BW_ROLE_ADMIN, names, sizeof(names));
    ck_assert_str_eq(names, "admin,viewer");
    bw_role_names(all, names, 13); /* room for two names: the third is cut */
    ck_assert_str_eq(names, "admin,editor");
    bw_role_names(0, names, sizeof(names));
    ck_assert_str_eq(names, "");
}
END_TEST

Suite *suite_router(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
    tcase_add_test(tc, literal_and_variable);
    tcase_add_test(tc, custom_verb);
    tcase_add_test(tc, custom_verb_on_a_variable);
    tcase_add_test(tc, method_not_allowed_lists_methods);
    tcase_add_test(tc, no_match);
    tcase_add_test(tc, percent_decoding);
    tcase_add_test(tc, generated_table_is_consistent);
    tcase_add_test(tc, method_names);
    tcase_add_test(tc, roles_table);
    suite_add_tcase(s, tc);
    return s;
}
