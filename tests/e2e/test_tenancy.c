/*
 * Tenants and API keys over HTTP: the operator creates tenants, admins
 * manage keys, revocation takes effect at once, roles are enforced; keys
 * expire, rotate with a grace period for the old secret, and show when they
 * were last used.
 */
#include "e2e.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

START_TEST(operator_creates_tenant_with_admin_key)
{
    bw_test_resp_t r;
    const char *op = bw_test_env("BULWARK_TEST_OPERATOR_TOKEN");
    ck_assert_int_eq(bw_test_http("POST", "/v1/tenants", op, "{\"name\":\"Acme Group\"}", NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    json_t *tenant = json_object_get(r.json, "tenant");
    json_t *key = json_object_get(r.json, "apiKey");
    ck_assert_uint_eq(strlen(jstr(tenant, "id")), 36);
    ck_assert_str_eq(jstr(tenant, "name"), "Acme Group");
    ck_assert_str_ne(jstr(tenant, "createTime"), "");
    ck_assert_str_eq(jstr(key, "role"), "admin");
    ck_assert_str_eq(jstr(key, "name"), "admin");
    ck_assert_int_eq(strncmp(jstr(key, "secret"), "bwk_", 4), 0);

    /* The new key works at once, and sees its own tenant. */
    char *secret = strdup(jstr(key, "secret"));
    char path[128];
    snprintf(path, sizeof(path), "/v1/tenants/%s", jstr(tenant, "id"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", path, secret, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "name"), "Acme Group");
    bw_test_resp_free(&r);
    free(secret);
}
END_TEST

START_TEST(tenant_creation_needs_the_operator)
{
    bw_test_resp_t r;
    char *key = NULL;
    char *tenant = bw_test_create_tenant("Keyholder", &key);
    ck_assert_int_eq(bw_test_http("POST", "/v1/tenants", NULL, "{\"name\":\"x\"}", NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    ck_assert_ptr_nonnull(bw_test_header(&r, "WWW-Authenticate"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/tenants", key, "{\"name\":\"x\"}", NULL, &r), 0);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/tenants", "not-the-operator-token-at-all-xxxxx",
                                  "{\"name\":\"x\"}", NULL, &r),
                     0);
    ck_assert_int_ne(r.status, 201);
    bw_test_resp_free(&r);
    /* The operator token is not a tenant credential. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", bw_test_env("BULWARK_TEST_OPERATOR_TOKEN"),
                                  NULL, NULL, &r),
                     0);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    const char *op = bw_test_env("BULWARK_TEST_OPERATOR_TOKEN");
    ck_assert_int_eq(bw_test_http("POST", "/v1/tenants", op, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 400, "name");
    bw_test_resp_free(&r);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(another_tenant_is_invisible)
{
    bw_test_resp_t r;
    char *key_a = NULL, *key_b = NULL;
    char *a = bw_test_create_tenant("Tenant A", &key_a);
    char *b = bw_test_create_tenant("Tenant B", &key_b);
    char path[128];
    snprintf(path, sizeof(path), "/v1/tenants/%s", b);
    ck_assert_int_eq(bw_test_http("GET", path, key_a, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    free(a);
    free(b);
    free(key_a);
    free(key_b);
}
END_TEST

START_TEST(keys_roles_and_revocation)
{
    bw_test_resp_t r;
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Key Tenant", &admin);

    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"dashboard\",\"role\":\"viewer\"}", NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    char *viewer = strdup(jstr(r.json, "secret"));
    char *viewer_id = strdup(jstr(r.json, "id"));
    ck_assert_str_eq(jstr(r.json, "role"), "viewer");
    bw_test_resp_free(&r);

    /* Secrets are shown once: the list has none. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/api-keys", admin, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    json_t *keys = json_object_get(r.json, "apiKeys");
    ck_assert_uint_eq(json_array_size(keys), 2);
    for (size_t i = 0; i < 2; i++)
        ck_assert_str_eq(jstr(json_array_get(keys, i), "secret"), "");
    bw_test_resp_free(&r);

    /* The viewer reads but neither writes nor manages keys. */
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", viewer, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", viewer,
                                  "{\"name\":\"x\",\"timeZone\":\"UTC\"}", NULL, &r),
                     0);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/api-keys", viewer, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);

    /* Revocation takes effect at once, although the key is cached now. */
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", viewer_id);
    ck_assert_int_eq(bw_test_http("DELETE", path, admin, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", viewer, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("DELETE", path, admin, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);

    /* A tampered secret of a valid key id is refused. */
    char *tampered = strdup(admin);
    size_t n = strlen(tampered);
    tampered[n - 1] = tampered[n - 1] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", tampered, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);

    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"x\",\"role\":\"superuser\"}", NULL, &r),
                     0);
    ck_assert_problem(&r, 400, "role");
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"x\",\"role\":\"board_member\"}", NULL, &r),
                     0);
    ck_assert_problem(&r, 400, "boardMember");
    bw_test_resp_free(&r);
    free(tampered);
    free(viewer);
    free(viewer_id);
    free(tenant);
    free(admin);
}
END_TEST

START_TEST(malformed_credentials)
{
    bw_test_resp_t r;
    const char *tokens[] = {
        "bwk_", "bwk_zz", "Basic abc",
        "bwk_0193a2b4111172228333444455556666_abcdefghijklmnopqrstuvwxyzABCDEFG"};
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", tokens[i], NULL, NULL, &r), 0);
        ck_assert_problem(&r, 401, NULL);
        bw_test_resp_free(&r);
    }
}
END_TEST

/* The key's entry in the tenant's list (caller decrefs), NULL when absent. */
static json_t *listed_key(const char *admin, const char *id)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("GET", "/v1/api-keys?pageSize=500", admin, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    json_t *found = NULL, *keys = json_object_get(r.json, "apiKeys");
    for (size_t i = 0; i < json_array_size(keys); i++)
        if (strcmp(jstr(json_array_get(keys, i), "id"), id) == 0)
            found = json_incref(json_array_get(keys, i));
    bw_test_resp_free(&r);
    return found;
}

static void rfc3339_in(long offset, char out[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Moves a key's expiry (or its previous secret's) to at, in the past, as the
 * clock would after waiting, and tells the gateways as a revocation does
 * (the key cache's NOTIFY): a test does not sleep against the wall clock.
 * Done as a superuser. */
static void key_time_passes(const char *key_id, int previous_secret, const char *at)
{
    PGconn *conn = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(conn,
                 previous_secret ? "UPDATE tenancy.api_keys SET previous_secret_expire_time = "
                                   "$2::timestamptz WHERE key_id = $1::uuid"
                                 : "UPDATE tenancy.api_keys SET expire_time = $2::timestamptz "
                                   "WHERE key_id = $1::uuid",
                 key_id, at);
    bw_test_exec(conn, "SELECT pg_notify('bulwark_api_key_revoked', $1)", key_id);
    PQfinish(conn);
}

/* GET /v1/entities with token until the gateway has heard of the change and
 * refuses it (at most 10 s); r holds the refusal. */
static void await_refusal(const char *token, bw_test_resp_t *r)
{
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", token, NULL, NULL, r), 0);
        if (r->status != 200)
            return;
        bw_test_resp_free(r);
        usleep(50000);
    }
    ck_abort_msg("the gateway still takes the key after its time");
}

START_TEST(keys_expire)
{
    bw_test_resp_t r;
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Expiring keys", &admin);
    char body[160], at[32], past[32];
    rfc3339_in(3600, at);
    snprintf(body, sizeof(body), "{\"name\":\"temp\",\"role\":\"viewer\",\"expireTime\":\"%s\"}",
             at);
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin, body, NULL, &r), 0);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(jstr(r.json, "expireTime"), at);
    char *temp = strdup(jstr(r.json, "secret"));
    char *temp_id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", temp, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);
    json_t *k = listed_key(admin, temp_id);
    ck_assert_str_eq(jstr(k, "expireTime"), at);
    json_decref(k);
    /* Past its time: 401 with a reason of its own, and again from the cache. */
    rfc3339_in(-1, past);
    key_time_passes(temp_id, 0, past);
    await_refusal(temp, &r);
    for (int i = 0; i < 2; i++) {
        if (i > 0)
            ck_assert_int_eq(bw_test_http("GET", "/v1/entities", temp, NULL, NULL, &r), 0);
        ck_assert_problem(&r, 401, NULL);
        ck_assert_str_eq(jstr(r.json, "reason"), "API_KEY_EXPIRED");
        ck_assert_msg(strstr(jstr(r.json, "detail"), past) != NULL, "%s", r.body);
        bw_test_resp_free(&r);
    }
    /* A key without expireTime has none. */
    k = listed_key(admin, temp_id);
    ck_assert_ptr_nonnull(k);
    json_decref(k);
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"forever\","
                                  "\"role\":\"viewer\"}",
                                  NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    ck_assert_ptr_null(json_object_get(r.json, "expireTime"));
    bw_test_resp_free(&r);
    /* Bad expiries name the field. */
    const char *bad[] = {"2020-01-01T00:00:00Z", "2199-01-01T00:00:00Z", "tomorrow"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"x\",\"role\":\"viewer\",\"expireTime\":\"%s\"}",
                 bad[i]);
        ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin, body, NULL, &r), 0);
        ck_assert_problem(&r, 400, "expireTime");
        bw_test_resp_free(&r);
    }
    free(temp);
    free(temp_id);
    free(tenant);
    free(admin);
}
END_TEST

START_TEST(rotation_keeps_the_old_secret_for_its_grace_period)
{
    bw_test_resp_t r;
    char *admin = NULL, *other_admin = NULL;
    char *tenant = bw_test_create_tenant("Rotating keys", &admin);
    char *other = bw_test_create_tenant("Other tenant", &other_admin);
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"ci\",\"role\":\"editor\"}", NULL, &r),
                     0);
    char *old = strdup(jstr(r.json, "secret"));
    char *id = strdup(jstr(r.json, "id"));
    char *etag = strdup(jstr(r.json, "etag"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", old, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);

    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s:rotate", id);
    const char *once[] = {"Idempotency-Key: rotate-once", NULL};
    ck_assert_int_eq(bw_test_http("POST", path, admin, "{\"gracePeriodSeconds\":3600}", once, &r),
                     0);
    ck_assert_msg(r.status == 200, "%s", r.body);
    char *fresh = strdup(jstr(r.json, "secret"));
    ck_assert_str_eq(jstr(r.json, "id"), id);
    ck_assert_str_eq(jstr(r.json, "role"), "editor");
    ck_assert_str_ne(fresh, old);
    ck_assert_int_eq(strncmp(fresh, old, 37), 0); /* bwk_ and the same key id */
    ck_assert_str_ne(jstr(r.json, "etag"), etag);
    ck_assert_str_ne(jstr(r.json, "previousSecretExpireTime"), "");
    bw_test_resp_free(&r);
    /* The secret is shown once: a replay does not show it again. */
    ck_assert_int_eq(bw_test_http("POST", path, admin, "{\"gracePeriodSeconds\":3600}", once, &r),
                     0);
    ck_assert_problem(&r, 409, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "SECRET_SHOWN_ONCE");
    ck_assert_ptr_null(strstr(r.body, "bwk_"));
    bw_test_resp_free(&r);
    json_t *k = listed_key(admin, id);
    ck_assert_str_eq(jstr(k, "secret"), "");
    json_decref(k);

    /* Both work during the grace period; then only the new one. */
    const char *both[] = {old, fresh};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", both[i], NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        bw_test_resp_free(&r);
    }
    char past[32];
    rfc3339_in(-1, past);
    key_time_passes(id, 1, past);
    await_refusal(old, &r);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", fresh, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);

    /* Without a grace period the old secret stops at once. */
    ck_assert_int_eq(bw_test_http("POST", path, admin, "{}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *newest = strdup(jstr(r.json, "secret"));
    ck_assert_ptr_null(json_object_get(r.json, "previousSecretExpireTime"));
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", fresh, NULL, NULL, &r), 0);
    ck_assert_problem(&r, 401, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", newest, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);

    /* Bounded grace, another tenant's key, an unknown one, a role. */
    const char *grace[] = {"{\"gracePeriodSeconds\":-1}", "{\"gracePeriodSeconds\":604801}"};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(bw_test_http("POST", path, admin, grace[i], NULL, &r), 0);
        ck_assert_problem(&r, 400, "gracePeriodSeconds");
        bw_test_resp_free(&r);
    }
    ck_assert_int_eq(bw_test_http("POST", path, other_admin, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST",
                                  "/v1/api-keys/0193a2b4-0000-7000-8000-00000000dead:rotate", admin,
                                  "{}", NULL, &r),
                     0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    ck_assert_int_eq(bw_test_http("POST", path, newest, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 403, NULL);
    bw_test_resp_free(&r);
    /* A revoked key is not rotated back to life. */
    snprintf(path, sizeof(path), "/v1/api-keys/%s", id);
    ck_assert_int_eq(bw_test_http("DELETE", path, admin, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/api-keys/%s:rotate", id);
    ck_assert_int_eq(bw_test_http("POST", path, admin, "{}", NULL, &r), 0);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    free(newest);
    free(fresh);
    free(old);
    free(id);
    free(etag);
    free(tenant);
    free(other);
    free(admin);
    free(other_admin);
}
END_TEST

START_TEST(last_use_is_recorded_without_a_write_per_request)
{
    bw_test_resp_t r;
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Used keys", &admin);
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"idle\",\"role\":\"viewer\"}", NULL, &r),
                     0);
    char *key = strdup(jstr(r.json, "secret"));
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    json_t *k = listed_key(admin, id);
    ck_assert_ptr_null(json_object_get(k, "lastUseTime"));
    char etag[32];
    snprintf(etag, sizeof(etag), "%s", jstr(k, "etag"));
    json_decref(k);
    char before[32];
    rfc3339_in(-1, before);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        bw_test_resp_free(&r);
    }
    /* The test stack writes uses every second. */
    const char *used = "";
    for (int i = 0; i < 100; i++) {
        k = listed_key(admin, id);
        used = jstr(k, "lastUseTime");
        if (used[0] != '\0')
            break;
        json_decref(k);
        k = NULL;
        usleep(100000);
    }
    ck_assert_msg(used[0] != '\0', "lastUseTime is still unset after 10 s");
    ck_assert_msg(strcmp(used, before) >= 0, "lastUseTime %s is before the use (%s)", used, before);
    /* Recording a use is not a change of the key. */
    ck_assert_str_eq(jstr(k, "etag"), etag);
    json_decref(k);
    free(key);
    free(id);
    free(tenant);
    free(admin);
}
END_TEST

/* ---- revocation under load ------------------------------------------------ */

#define LOAD_THREADS 3
#define LOAD_MAX 4000

typedef struct load {
    const char *token;
    volatile int stop;
    pthread_mutex_t mu;
    size_t n;
    long long started[LOAD_MAX]; /* monotonic ns when each request was sent */
    long status[LOAD_MAX];
    char reason[LOAD_MAX][40];
} load_t;

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *load_main(void *arg)
{
    load_t *l = arg;
    while (!l->stop) {
        bw_test_resp_t r;
        long long t = mono_ns();
        if (bw_test_http("GET", "/v1/entities", l->token, NULL, NULL, &r) == 0) {
            pthread_mutex_lock(&l->mu);
            if (l->n < LOAD_MAX) {
                l->started[l->n] = t;
                l->status[l->n] = r.status;
                snprintf(l->reason[l->n], sizeof(l->reason[0]), "%s", jstr(r.json, "reason"));
                l->n++;
            }
            pthread_mutex_unlock(&l->mu);
        }
        bw_test_resp_free(&r);
        /* About 35 requests a second in all: under the test stack's rate
         * limit for the tenant, so that the revocation itself gets through. */
        usleep(85000);
    }
    return NULL;
}

START_TEST(revocation_holds_under_load)
{
    /* Requests with a key run on several threads, some of them missing the
     * gateway's key cache and resolving the key while it is revoked: once
     * DELETE has returned, no request sent after is accepted, whatever a
     * lookup in flight read. (The test stack limits each tenant to 50
     * requests a second, which bounds the load.) */
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("Revocation under load", &admin);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http("POST", "/v1/api-keys", admin,
                                  "{\"name\":\"busy\",\"role\":\"viewer\"}", NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    load_t *l = calloc(1, sizeof(*l));
    l->token = strdup(jstr(r.json, "secret"));
    char path[128];
    snprintf(path, sizeof(path), "/v1/api-keys/%s", jstr(r.json, "id"));
    bw_test_resp_free(&r);
    pthread_mutex_init(&l->mu, NULL);
    pthread_t threads[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, load_main, l), 0);
    usleep(300000);
    ck_assert_int_eq(bw_test_http("DELETE", path, admin, NULL, NULL, &r), 0);
    long long revoked = mono_ns();
    ck_assert_int_eq(r.status, 204);
    bw_test_resp_free(&r);
    usleep(700000);
    l->stop = 1;
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(threads[i], NULL);

    size_t before_ok = 0, after = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->started[i] < revoked) {
            before_ok += l->status[i] == 200;
            continue;
        }
        after++;
        /* 401, or the per-address limit on failed authentications: never
         * a reply that the key was accepted (a 2xx, or the tenant's rate
         * limit, which comes after authentication) */
        ck_assert_msg(l->status[i] == 401 ||
                          (l->status[i] == 429 &&
                           strcmp(l->reason[i], "TOO_MANY_FAILED_AUTHENTICATIONS") == 0),
                      "a request sent %lld us after the revocation answered %ld %s",
                      (l->started[i] - revoked) / 1000, l->status[i], l->reason[i]);
    }
    ck_assert_msg(before_ok > 0 && after > 0, "the load did not straddle the revocation (%zu, %zu)",
                  before_ok, after);
    pthread_mutex_destroy(&l->mu);
    free((char *)l->token);
    free(l);
    free(tenant);
    free(admin);
}
END_TEST

Suite *suite_tenancy(void)
{
    Suite *s = suite_create("tenancy");
    TCase *tc = tcase_create("tenancy");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, operator_creates_tenant_with_admin_key);
    tcase_add_test(tc, tenant_creation_needs_the_operator);
    tcase_add_test(tc, another_tenant_is_invisible);
    tcase_add_test(tc, keys_roles_and_revocation);
    tcase_add_test(tc, revocation_holds_under_load);
    tcase_add_test(tc, malformed_credentials);
    tcase_add_test(tc, keys_expire);
    tcase_add_test(tc, rotation_keeps_the_old_secret_for_its_grace_period);
    tcase_add_test(tc, last_use_is_recorded_without_a_write_per_request);
    suite_add_tcase(s, tc);
    return s;
}
