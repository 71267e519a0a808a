/*
 * The API's roles enforced on every route, from the one table: the
 * route table's roles are published in /v1/openapi.json
 * (x-bulwark-roles, x-bulwark-access); this suite calls every tenant route
 * with a key of every role and checks that exactly the listed roles get
 * past authorisation (any answer but 403), and that every other role gets a
 * 403. Operator routes refuse every tenant key.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const all_roles[] = {"admin", "editor", "auditor", "viewer", "board_member"};
#define N_ROLES (sizeof(all_roles) / sizeof(all_roles[0]))

/* Fills {var} segments with a well-formed id that exists nowhere. */
static void concrete_path(const char *tpl, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = tpl; *p != '\0' && o + 40 < len;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            o += (size_t)snprintf(out + o, len - o, "0193a2b4-0000-7000-8000-00000000beef");
            p = end != NULL ? end + 1 : p + 1;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* One call, waiting out the rate limit when it strikes. */
static long status_of(const char *method, const char *path, const char *key)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        bw_test_resp_t r;
        int has_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                       strcmp(method, "PATCH") == 0;
        ck_assert_int_eq(bw_test_http(method, path, key, has_body ? "{}" : NULL, NULL, &r), 0);
        long status = r.status;
        const char *retry = bw_test_header(&r, "Retry-After");
        long wait = status == 429 ? strtol(retry, NULL, 10) : 0;
        bw_test_resp_free(&r);
        if (status != 429)
            return status;
        sleep((unsigned)(wait > 0 ? wait : 1));
    }
    ck_abort_msg("%s %s stayed rate limited", method, path);
    return 0;
}

START_TEST(every_route_enforces_its_roles)
{
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Roles", &admin);
    /* A board_member key signs as a member in office of the tenant. */
    bw_test_resp_t made;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", admin,
                                  "{\"name\":\"Roles Co\",\"timeZone\":\"UTC\"}", NULL, &made),
                     0);
    char member_path[128], member[64];
    snprintf(member_path, sizeof(member_path), "/v1/entities/%s/board-members",
             jstr(made.json, "id"));
    bw_test_resp_free(&made);
    ck_assert_int_eq(
        bw_test_http("POST", member_path, admin,
                     "{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"role\":\"CEO\"}", NULL,
                     &made),
        0);
    ck_assert_msg(made.status == 201, "%s", made.body);
    snprintf(member, sizeof(member), "%s", jstr(made.json, "id"));
    bw_test_resp_free(&made);
    char *keys[N_ROLES];
    for (size_t i = 0; i < N_ROLES; i++) {
        char body[256];
        char member_field[96] = "";
        if (strcmp(all_roles[i], "board_member") == 0)
            snprintf(member_field, sizeof(member_field), ",\"boardMember\":\"%s\"", member);
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"%s\"%s}", all_roles[i],
                 all_roles[i], member_field);
        bw_test_resp_t r;
        ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin, body, NULL, &r), 0);
        ck_assert_msg(r.status == 201, "%s", r.body);
        keys[i] = strdup(jstr(r.json, "secret"));
        bw_test_resp_free(&r);
    }
    bw_test_resp_t doc;
    ck_assert_int_eq(bw_test_http("GET", "/v1/openapi.json", NULL, NULL, NULL, &doc), 0);
    json_t *paths = json_object_get(doc.json, "paths");
    const char *tpl;
    json_t *item;
    int checked = 0;
    json_object_foreach(paths, tpl, item)
    {
        const char *verb;
        json_t *op;
        json_object_foreach(item, verb, op)
        {
            char method[8], path[512];
            size_t n = strlen(verb);
            for (size_t i = 0; i <= n && i < sizeof(method); i++)
                method[i] = (char)(verb[i] >= 'a' && verb[i] <= 'z' ? verb[i] - 32 : verb[i]);
            concrete_path(tpl, path, sizeof(path));
            const char *access = jstr(op, "x-bulwark-access");
            json_t *allowed = json_object_get(op, "x-bulwark-roles");
            for (size_t i = 0; i < N_ROLES; i++) {
                int may = 0;
                for (size_t j = 0; j < json_array_size(allowed); j++)
                    may |= strcmp(json_string_value(json_array_get(allowed, j)), all_roles[i]) == 0;
                if (strcmp(access, "tenant") != 0)
                    may = strcmp(access, "public") == 0;
                long status = status_of(method, path, keys[i]);
                if (strcmp(access, "service") == 0) {
                    /* Its service authenticates it: an API key is no
                     * signature, whatever its role. */
                    ck_assert_msg(status == 401, "%s %s gave role %s status %ld", method, tpl,
                                  all_roles[i], status);
                    checked++;
                    continue;
                }
                if (may)
                    ck_assert_msg(status != 403, "%s %s refused role %s", method, tpl,
                                  all_roles[i]);
                else
                    ck_assert_msg(status == 403, "%s %s gave role %s status %ld", method, tpl,
                                  all_roles[i], status);
                checked++;
            }
        }
    }
    ck_assert_int_gt(checked, 40);
    bw_test_resp_free(&doc);
    for (size_t i = 0; i < N_ROLES; i++)
        free(keys[i]);
    free(tenant);
    free(admin);
}
END_TEST

Suite *suite_roles(void)
{
    Suite *s = suite_create("roles");
    TCase *tc = tcase_create("roles");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, every_route_enforces_its_roles);
    suite_add_tcase(s, tc);
    return s;
}
