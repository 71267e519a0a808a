/*
 * Rotating BULWARK_SECRETS_KEY (integrations migration 0015,
 * services/integrations/reseal.c) against the real database, as the
 * integrations process's role, with the stack's own integrations service
 * as the witness:
 *   - values sealed under the previous key (a webhook endpoint's secret and
 *     previous secret, a connection's credentials and inbound token) are
 *     sealed again under the current one: the same plaintext, the current
 *     key's id, a fresh nonce; the running service, which has only the
 *     current key, takes the inbound token again (401 before, 200 after);
 *   - values under the current key are left as they are, other tenants'
 *     included (the sweep runs across tenants, as the service runs it);
 *   - a value marked as sealed under the previous key that does not open
 *     (here: sealed for another row) is counted and left;
 *   - the sweep goes a few rows at a time, from a cursor, to its end;
 *   - a value changed since the sweep read it is not overwritten.
 * The stack runs with BULWARK_SECRETS_KEY (the test reads it from
 * BULWARK_TEST_SECRETS_KEY): the test makes its rows' values as a process
 * with an older key would have left them, by sealing them under a key of
 * its own, and plays the process that has both.
 */
#include "connections.h"
#include "db.h"
#include "integrations.h"
#include "reseal.h"
#include "seal.h"
#include "status.h"
#include "store.h"
#include "testkit.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OLD_KEY "5a0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* The sealed value in column col of a row, as the admin role reads it. */
static size_t read_sealed(PGconn *admin, bw_arena_t *arena, const char *sql, const char *tenant,
                          const char *id, uint8_t **out)
{
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant);
    PGresult *res = bw_test_sql(admin, sql, id);
    ck_assert_int_eq(PQntuples(res), 1);
    size_t len = 0;
    ck_assert_int_eq(bw_store_bytea(arena, res, 0, 0, out, &len), 0);
    PQclear(res);
    return len;
}

/* Opens sealed (under key, for context) into a NUL-terminated string on arena. */
static char *open_with(bw_arena_t *arena, const bw_seal_key_t *key, const char *context,
                       const uint8_t *sealed, size_t len)
{
    ck_assert_uint_ge(len, BW_SEAL_OVERHEAD);
    char *plain = bw_arena_alloc(arena, len + 1);
    size_t n = 0;
    int err = bw_unseal(key, context, sealed, len, (uint8_t *)plain, len, &n);
    ck_assert_msg(err == 0, "%s does not open: %s", context, bw_strerror(err));
    plain[n] = '\0';
    return plain;
}

/* Seals plain (n bytes) under key for context, as a bytea parameter. */
static const char *seal_param(bw_arena_t *arena, const bw_seal_key_t *key, const char *context,
                              const void *plain, size_t n)
{
    uint8_t *out = bw_arena_alloc(arena, n + BW_SEAL_OVERHEAD);
    size_t len = 0;
    ck_assert_int_eq(bw_seal(key, context, plain, n, out, &len), 0);
    return bw_store_bytea_param(arena, out, len);
}

static void assert_key_id(const uint8_t *sealed, size_t len, const bw_seal_key_t *key,
                          const char *what)
{
    ck_assert_uint_ge(len, 5);
    ck_assert_msg(memcmp(sealed + 1, key->id, 4) == 0, "%s is not under the expected key", what);
}

static const char record[] =
    "{\"sys_id\":\"9e385017c611228701d22104cc95c3ee\",\"number\":\"INC0040001\","
    "\"short_description\":\"Door controller offline\",\"opened_at\":\"2025-06-10 07:15:00\","
    "\"state\":\"2\",\"sys_mod_count\":\"1\"}";

static long inbound_status(const char *conn, const char *token)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/integrations/servicenow/%s/events", conn);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", path, token, record, NULL, &r), 0);
    long status = r.status;
    bw_test_resp_free(&r);
    return status;
}

#define ENDPOINT_SECRET "SELECT secret FROM integrations.webhook_endpoints WHERE endpoint_id = $1"
#define ENDPOINT_PREVIOUS                                                                          \
    "SELECT previous_secret FROM integrations.webhook_endpoints WHERE endpoint_id = $1"
#define CONNECTION_CREDENTIALS                                                                     \
    "SELECT credentials FROM integrations.connections WHERE connection_id = $1"
#define CONNECTION_INBOUND                                                                         \
    "SELECT inbound_secret FROM integrations.connections WHERE connection_id = $1"

START_TEST(values_under_the_previous_key_are_sealed_again_under_the_current_one)
{
    bw_arena_t *arena = bw_arena_create(0);
    bw_seal_keyring_t ring = {0};
    ck_assert_int_eq(bw_seal_key_parse(bw_test_env("BULWARK_TEST_SECRETS_KEY"), &ring.current), 0);
    ck_assert_int_eq(bw_seal_key_parse(OLD_KEY, &ring.previous), 0);
    ring.has_previous = 1;

    /* Tenant A: an endpoint whose secret was rotated once (two secrets),
     * a ServiceNow connection; tenant B: an endpoint. All made by the API,
     * under the stack's key. */
    char *key_a = NULL, *key_b = NULL;
    char *tenant_a = bw_test_create_tenant("Reseal A AG", &key_a);
    char *tenant_b = bw_test_create_tenant("Reseal B AG", &key_b);
    json_t *ep_a = bw_test_parked_endpoint(key_a, "/reseal");
    json_t *ep_b = bw_test_parked_endpoint(key_b, "/reseal");
    const char *ep_a_id = json_string_value(json_object_get(ep_a, "id"));
    const char *ep_b_id = json_string_value(json_object_get(ep_b, "id"));
    char path[160];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s:rotate-secret", ep_a_id);
    json_t *rotated = bw_test_call(key_a, "POST", path, "{}", 200);
    json_t *entity = bw_test_call(key_a, "POST", "/v1/entities",
                                  "{\"name\":\"Reseal A AG\",\"timeZone\":\"Europe/Vienna\"}", 201);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"system\":\"SERVICENOW\",\"name\":\"reseal\",\"baseUrl\":\"http://%s:9\","
             "\"entity\":\"%s\",\"credentials\":{\"username\":\"svc-bulwark\",\"password\":"
             "\"pa55\"},\"createIssues\":false,\"stateMapping\":{}}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"),
             json_string_value(json_object_get(entity, "id")));
    json_t *conn = bw_test_call(key_a, "POST", "/v1/integrations/connections", body, 201);
    const char *conn_id = json_string_value(json_object_get(conn, "id"));
    const char *token = json_string_value(json_object_get(conn, "inboundToken"));

    /* Their plaintexts, opened with the stack's key. */
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    char ctx_a[BW_ENDPOINT_SEAL_CONTEXT_LEN], ctx_b[BW_ENDPOINT_SEAL_CONTEXT_LEN];
    char ctx_creds[BW_CONNECTION_SEAL_CONTEXT_LEN], ctx_inbound[BW_CONNECTION_SEAL_CONTEXT_LEN];
    bw_integrations_seal_context(tenant_a, ep_a_id, ctx_a);
    bw_integrations_seal_context(tenant_b, ep_b_id, ctx_b);
    bw_connections_seal_context(tenant_a, conn_id, "credentials", ctx_creds);
    bw_connections_seal_context(tenant_a, conn_id, "inbound", ctx_inbound);
    uint8_t *v;
    size_t len = read_sealed(admin, arena, ENDPOINT_SECRET, tenant_a, ep_a_id, &v);
    uint8_t secret_a[32], previous_a[32];
    ck_assert_uint_eq(len, 32 + BW_SEAL_OVERHEAD);
    memcpy(secret_a, open_with(arena, &ring.current, ctx_a, v, len), 32);
    len = read_sealed(admin, arena, ENDPOINT_PREVIOUS, tenant_a, ep_a_id, &v);
    ck_assert_uint_eq(len, 32 + BW_SEAL_OVERHEAD);
    memcpy(previous_a, open_with(arena, &ring.current, ctx_a, v, len), 32);
    len = read_sealed(admin, arena, CONNECTION_CREDENTIALS, tenant_a, conn_id, &v);
    char *creds = open_with(arena, &ring.current, ctx_creds, v, len);
    ck_assert_ptr_nonnull(strstr(creds, "svc-bulwark"));
    len = read_sealed(admin, arena, CONNECTION_INBOUND, tenant_a, conn_id, &v);
    char *inbound = open_with(arena, &ring.current, ctx_inbound, v, len);
    ck_assert_str_eq(inbound, token);
    uint8_t *b_before;
    size_t b_len = read_sealed(admin, arena, ENDPOINT_SECRET, tenant_b, ep_b_id, &b_before);

    /* Tenant A's values as a process with the older key left them; tenant
     * B's secret stays under the stack's key, and its previous secret is
     * one marked as the older key's that does not open (sealed for A's
     * endpoint). */
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant_a);
    bw_test_exec(admin,
                 "UPDATE integrations.webhook_endpoints SET secret = $2::bytea, "
                 "previous_secret = $3::bytea WHERE endpoint_id = $1",
                 ep_a_id, seal_param(arena, &ring.previous, ctx_a, secret_a, 32),
                 seal_param(arena, &ring.previous, ctx_a, previous_a, 32));
    bw_test_exec(admin,
                 "UPDATE integrations.connections SET credentials = $2::bytea, "
                 "inbound_secret = $3::bytea WHERE connection_id = $1",
                 conn_id, seal_param(arena, &ring.previous, ctx_creds, creds, strlen(creds)),
                 seal_param(arena, &ring.previous, ctx_inbound, inbound, strlen(inbound)));
    const char *stray = seal_param(arena, &ring.previous, ctx_a, secret_a, 32);
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant_b);
    bw_test_exec(admin,
                 "UPDATE integrations.webhook_endpoints SET previous_secret = $2::bytea "
                 "WHERE endpoint_id = $1",
                 ep_b_id, stray);
    /* The stack, with only the current key, cannot take the token now. */
    ck_assert_int_eq(inbound_status(conn_id, token), 401);

    /* The sweep, three rows a batch, across every tenant in the database. */
    bw_db_t *db = NULL;
    ck_assert_int_eq(bw_db_open(bw_test_env("BULWARK_TEST_INTEGRATIONS_DATABASE_URL"),
                                bw_reseal_stmts, bw_reseal_n_stmts, 0, &db),
                     0);
    bw_reseal_cursor_t cursor = {0};
    bw_reseal_counts_t counts = {0};
    PGconn *superuser = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    PGresult *res =
        bw_test_sql(superuser, "SELECT (SELECT count(*) FROM integrations.webhook_endpoints) + "
                               "(SELECT count(*) FROM integrations.connections)");
    long rows = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(superuser);
    int batches = 0;
    bw_arena_t *batch = bw_arena_create(0);
    while (cursor.table < 2) {
        bw_arena_reset(batch);
        int err = bw_reseal_run(db, batch, &ring, 3, &cursor, &counts);
        ck_assert_msg(err == 0, "reseal: %s", bw_strerror(err));
        batches++;
        ck_assert_int_le(batches, rows / 3 + 3);
    }
    bw_arena_destroy(batch);
    ck_assert_int_ge(batches, 2);
    ck_assert_int_eq(counts.resealed, 4);
    ck_assert_int_eq(counts.failed, 1);
    ck_assert_int_eq(counts.changed, 0);

    /* A's values: under the current key, the same plaintexts. */
    ring.has_previous = 0;
    len = read_sealed(admin, arena, ENDPOINT_SECRET, tenant_a, ep_a_id, &v);
    assert_key_id(v, len, &ring.current, "the secret");
    ck_assert_mem_eq(open_with(arena, &ring.current, ctx_a, v, len), secret_a, 32);
    len = read_sealed(admin, arena, ENDPOINT_PREVIOUS, tenant_a, ep_a_id, &v);
    assert_key_id(v, len, &ring.current, "the previous secret");
    ck_assert_mem_eq(open_with(arena, &ring.current, ctx_a, v, len), previous_a, 32);
    len = read_sealed(admin, arena, CONNECTION_CREDENTIALS, tenant_a, conn_id, &v);
    assert_key_id(v, len, &ring.current, "the credentials");
    ck_assert_str_eq(open_with(arena, &ring.current, ctx_creds, v, len), creds);
    len = read_sealed(admin, arena, CONNECTION_INBOUND, tenant_a, conn_id, &v);
    assert_key_id(v, len, &ring.current, "the inbound token");
    ck_assert_str_eq(open_with(arena, &ring.current, ctx_inbound, v, len), token);
    /* B's: the secret byte for byte as it was; the stray left as it is. */
    len = read_sealed(admin, arena, ENDPOINT_SECRET, tenant_b, ep_b_id, &v);
    ck_assert_uint_eq(len, b_len);
    ck_assert_mem_eq(v, b_before, len);
    len = read_sealed(admin, arena, ENDPOINT_PREVIOUS, tenant_b, ep_b_id, &v);
    ck_assert_str_eq(bw_store_bytea_param(arena, v, len), stray);
    /* The running service takes the token again; the endpoint's etag did
     * not move (a rotation of the key is not a change of the resource). */
    ck_assert_int_eq(inbound_status(conn_id, token), 200);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", ep_a_id);
    json_t *after = bw_test_call(key_a, "GET", path, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(after, "etag")),
                     json_string_value(json_object_get(rotated, "etag")));

    /* A value changed since it was read is not replaced. */
    len = read_sealed(admin, arena, CONNECTION_CREDENTIALS, tenant_a, conn_id, &v);
    const char *now_value = bw_store_bytea_param(arena, v, len);
    PGconn *service = bw_test_pg("BULWARK_TEST_INTEGRATIONS_DATABASE_URL");
    res = bw_test_sql(
        service,
        "SELECT integrations.reseal('connections', $1, $2, $3::bytea, $4::bytea, NULL, NULL)",
        tenant_a, conn_id, stray, stray);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    PQfinish(service);
    len = read_sealed(admin, arena, CONNECTION_CREDENTIALS, tenant_a, conn_id, &v);
    ck_assert_str_eq(bw_store_bytea_param(arena, v, len), now_value);

    bw_db_close(db);
    PQfinish(admin);
    json_decref(after);
    json_decref(conn);
    json_decref(entity);
    json_decref(rotated);
    json_decref(ep_b);
    json_decref(ep_a);
    free(tenant_a);
    free(tenant_b);
    free(key_a);
    free(key_b);
    bw_arena_destroy(arena);
}
END_TEST

Suite *suite_reseal(void)
{
    Suite *s = suite_create("reseal");
    TCase *tc = tcase_create("reseal");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, values_under_the_previous_key_are_sealed_again_under_the_current_one);
    suite_add_tcase(s, tc);
    return s;
}
