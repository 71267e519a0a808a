/*
 * Service-wide state and shared helpers of the attestations service; see
 * attest.h. Entities are checked with scoping through the shared client
 * (services/scoping/client/scoping_client.h).
 */
#include "attest.h"

#include "bulwark/attestations/v1/attestations.pb-c.h"

#include "chain.h"
#include "ids.h"
#include "log.h"
#include "scoping_client.h"
#include "status.h"
#include "store.h"
#include "times.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bw_attest_config_t bw_attest_config;

const bw_config_item_t bw_attest_config_items[] = {
    {"BULWARK_SIGNING_KEY_FILE", BW_CFG_STRING, NULL, 0, 0,
     offsetof(bw_attest_config_t, signing_key_file), 0,
     "PEM file of the Ed25519 private key that signs attestations "
     "(openssl genpkey -algorithm ed25519)"},
    BW_SCOPING_CLIENT_CONFIG_ITEMS(bw_attest_config_t),
};
const size_t bw_attest_n_config_items = BW_CONFIG_COUNT(bw_attest_config_items);

/* clang-format off */
/* Records the key's public half once; returns the bytes stored under its id,
 * which differ from the key's own only if something else wrote them. */
static const bw_db_stmt_t stmt_key_record = {
    "attest_key_record",
    "WITH ins AS (INSERT INTO attestations.signing_keys (key_id, algorithm, public_key) "
    "VALUES ($1, 'Ed25519', $2) ON CONFLICT (key_id) DO NOTHING RETURNING public_key) "
    "SELECT public_key FROM ins "
    "UNION ALL SELECT public_key FROM attestations.signing_keys WHERE key_id = $1"};
static const bw_db_stmt_t stmt_key_list = {
    "attest_key_list",
    "SELECT key_id, algorithm, public_key, " BW_ATTEST_US("create_time") " "
    "FROM attestations.signing_keys ORDER BY create_time, key_id"};
/* clang-format on */

const bw_db_stmt_t *const bw_attest_stmts[] = {&stmt_key_record, &stmt_key_list};
const size_t bw_attest_n_stmts = sizeof(bw_attest_stmts) / sizeof(bw_attest_stmts[0]);

typedef struct attest_state {
    bw_arena_t *arena; /* lives as long as the service */
    bw_key_t *key;
    char *pem;
    bw_scoping_client_t *scoping;
} attest_state_t;

/* ---- start-up ------------------------------------------------------------ */

static int record_key(const char *database_url, const bw_key_t *key, bw_arena_t *arena)
{
    bw_db_t *db = NULL;
    int err = bw_db_open(database_url, bw_attest_stmts, bw_attest_n_stmts, 0, &db);
    if (err != 0) {
        bw_log(BW_LOG_ERROR, NULL,
               "could not connect to the database to record the signing key: %s", bw_strerror(err));
        return err;
    }
    PGresult *res = NULL;
    const char *raw = bw_store_bytea_param(arena, bw_keys_public(key), BW_KEYS_RAW_LEN);
    const char *values[] = {bw_keys_id(key), raw};
    err = raw == NULL ? BW_ENOMEM : bw_db_exec1(db, arena, NULL, &stmt_key_record, 2, values, &res);
    if (err == 0) {
        uint8_t *stored = NULL;
        size_t len = 0;
        if (PQntuples(res) != 1 || bw_store_bytea(arena, res, 0, 0, &stored, &len) != 0 ||
            len != BW_KEYS_RAW_LEN || memcmp(stored, bw_keys_public(key), len) != 0) {
            bw_log(BW_LOG_ERROR, NULL,
                   "key id %s is recorded in attestations.signing_keys with another public key; "
                   "refusing to sign with it",
                   bw_keys_id(key));
            err = BW_EINVAL;
        }
    } else {
        bw_log(BW_LOG_ERROR, NULL, "could not record the signing key: %s", bw_strerror(err));
    }
    bw_db_close(db);
    return err;
}

void bw_attest_fini(void *service_data)
{
    attest_state_t *s = service_data;
    if (s == NULL)
        return;
    bw_scoping_client_close(s->scoping);
    bw_keys_free(s->key);
    bw_arena_destroy(s->arena);
    free(s);
}

int bw_attest_init(const bw_service_config_t *config, void **service_data)
{
    *service_data = NULL;
    attest_state_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BW_ENOMEM;
    s->arena = bw_arena_create(4096);
    int err = s->arena == NULL
                  ? BW_ENOMEM
                  : bw_scoping_client_open(config->tls, bw_attest_config.scoping_addr,
                                           (int)config->workers,
                                           (int)bw_attest_config.scoping_timeout_ms, &s->scoping);
    if (err != 0) {
        bw_attest_fini(s);
        return err;
    }
    char msg[512];
    const char *path = bw_attest_config.signing_key_file;
    err = bw_keys_load_private(path, &s->key, msg, sizeof(msg));
    if (err != 0) {
        bw_log(BW_LOG_ERROR, NULL, "%s", msg);
        bw_attest_fini(s);
        return err;
    }
    if ((err = bw_keys_public_pem(s->key, s->arena, &s->pem)) != 0 ||
        (err = record_key(config->database_url, s->key, s->arena)) != 0) {
        bw_attest_fini(s);
        return err;
    }
    bw_log(BW_LOG_INFO, NULL, "signing with Ed25519 key %s", bw_keys_id(s->key));
    *service_data = s;
    return 0;
}

const bw_key_t *bw_attest_signing_key(bw_call_t *call)
{
    const attest_state_t *s = bw_service_data(call);
    return s->key;
}

const char *bw_attest_signing_pem(bw_call_t *call)
{
    const attest_state_t *s = bw_service_data(call);
    return s->pem;
}

/* ---- scoping ------------------------------------------------------------- */

int bw_attest_need_tenant(bw_call_t *call)
{
    if (call->tenant_id == NULL || !bw_uuid_valid(call->tenant_id))
        return bw_call_fail(call, BW_EPERM, "TENANT_REQUIRED", "this call needs a tenant");
    return 0;
}

static int entity_missing(bw_call_t *call, const char *entity, const char *field)
{
    if (field != NULL)
        return bw_call_violation(call, field, "no entity with this id");
    return bw_call_fail(call, BW_ENOTFOUND, "ENTITY_NOT_FOUND", "entity %s not found", entity);
}

int bw_attest_entity_check(bw_call_t *call, const char *entity, const char *field)
{
    if (entity == NULL || !bw_uuid_valid(entity))
        return entity_missing(call, entity != NULL ? entity : "", field);
    attest_state_t *s = bw_service_data(call);
    bw_entity_info_t info;
    int err = bw_scoping_client_entity(s->scoping, call, entity, &info);
    if (err == BW_ENOTFOUND)
        return entity_missing(call, entity, field);
    if (err == BW_EUNAVAIL)
        return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                            "the scoping service is unavailable; retry later");
    return err;
}

/* ---- keys ---------------------------------------------------------------- */

static void free_key(void *key)
{
    bw_keys_free(key);
}

int bw_attest_load_keys(bw_call_t *call, bw_key_t ***keys, size_t *n, PGresult **with_rows)
{
    *keys = NULL;
    *n = 0;
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, NULL, &stmt_key_list, 0, NULL, &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res);
    bw_key_t **out = bw_arena_calloc(call->arena, (size_t)rows + 1, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < rows; i++) {
        uint8_t *raw;
        size_t len;
        if ((err = bw_store_bytea(call->arena, res, i, 2, &raw, &len)) != 0)
            return err;
        /* A malformed stored key stays NULL: the records it signed then show
         * as UNKNOWN_KEY rather than failing the whole verification. */
        if (bw_keys_from_public(raw, len, &out[i]) == 0 &&
            (err = bw_arena_on_cleanup(call->arena, free_key, out[i])) != 0)
            return err;
    }
    *keys = out;
    *n = (size_t)rows;
    if (with_rows != NULL)
        *with_rows = res;
    return 0;
}

/* ---- small helpers ------------------------------------------------------- */

int bw_attest_check_text(bw_call_t *call, const char *field, const char *value, size_t max,
                         int required)
{
    if (value == NULL)
        value = "";
    if (!bw_utf8_valid(value, strlen(value)))
        return bw_call_violation(call, field, "is not valid UTF-8");
    if (strlen(value) > max)
        return bw_call_violation(call, field, "is longer than %zu bytes", max);
    if (required && value[strspn(value, " \t\r\n")] == '\0')
        return bw_call_violation(call, field, "is required");
    return 0;
}

long long bw_attest_us(const Google__Protobuf__Timestamp *ts)
{
    return bw_time_us(ts->seconds, ts->nanos);
}

int bw_attest_time(bw_call_t *call, const char *field, const Google__Protobuf__Timestamp *ts,
                   long long *us)
{
    int64_t at;
    if (bw_time_us_checked(ts->seconds, ts->nanos, &at) != 0)
        return bw_call_violation(call, field,
                                 "must be an RFC 3339 time between years 0001 and 9999");
    *us = at;
    return 0;
}

char *bw_attest_time_param(bw_arena_t *arena, long long us)
{
    char text[BW_TIME_TEXT_MAX];
    bw_time_format_us(us, BW_TIME_FRACTION_MICROS, text);
    return bw_arena_strdup(arena, text);
}

char *bw_attest_int_param(bw_arena_t *arena, long long value)
{
    return bw_arena_printf(arena, "%lld", value);
}

static const char *const kind_names[] = {
    [BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__RISK_MEASURES_APPROVAL] = "RISK_MEASURES_APPROVAL",
    [BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__MANAGEMENT_TRAINING] = "MANAGEMENT_TRAINING",
    [BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__POLICY_APPROVAL] = "POLICY_APPROVAL",
    [BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__IMPLEMENTATION_OVERSIGHT] =
        "IMPLEMENTATION_OVERSIGHT",
};
static const char *const decision_names[] = {
    [BULWARK__ATTESTATIONS__V1__ATTESTATION__DECISION__APPROVE] = "APPROVE",
    [BULWARK__ATTESTATIONS__V1__ATTESTATION__DECISION__REJECT] = "REJECT",
    [BULWARK__ATTESTATIONS__V1__ATTESTATION__DECISION__ABSTAIN] = "ABSTAIN",
};

static const char *enum_name(const char *const *names, size_t n, int value)
{
    return value > 0 && (size_t)value < n ? names[value] : NULL;
}

static int enum_value(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 1; name != NULL && i < n; i++)
        if (names[i] != NULL && strcmp(names[i], name) == 0)
            return (int)i;
    return 0;
}

const char *bw_attest_kind_name(int kind)
{
    return enum_name(kind_names, sizeof(kind_names) / sizeof(kind_names[0]), kind);
}

int bw_attest_kind_value(const char *name)
{
    return enum_value(kind_names, sizeof(kind_names) / sizeof(kind_names[0]), name);
}

const char *bw_attest_decision_name(int decision)
{
    return enum_name(decision_names, sizeof(decision_names) / sizeof(decision_names[0]), decision);
}

int bw_attest_decision_value(const char *name)
{
    return enum_value(decision_names, sizeof(decision_names) / sizeof(decision_names[0]), name);
}
