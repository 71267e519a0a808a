/*
 * What the attestations service's handlers share: its own settings, the
 * state made once at start-up (the signing key, recorded in
 * attestations.signing_keys; a pool of blocking gRPC channels to scoping),
 * the check that an entity exists (asked of scoping, whose tables this
 * service never reads), the key ring for verification, and small helpers
 * for text fields and times.
 */
#ifndef BW_ATTEST_H
#define BW_ATTEST_H

#include <stddef.h>

#include "google/protobuf/timestamp.pb-c.h"

#include "config.h"
#include "db.h"
#include "keys.h"
#include "rpc.h"
#include "service.h"
#include "store.h"
#include "times.h"

/* The service's own settings (bw_attest_config_items). */
typedef struct bw_attest_config {
    const char *signing_key_file;
    const char *scoping_addr;
    long scoping_timeout_ms;
} bw_attest_config_t;

extern bw_attest_config_t bw_attest_config;
extern const bw_config_item_t bw_attest_config_items[];
extern const size_t bw_attest_n_config_items;

/* Statements of this module (signing keys). */
extern const bw_db_stmt_t *const bw_attest_stmts[];
extern const size_t bw_attest_n_stmts;

/* bw_service_def_t.init and .fini: load the key named by
 * BULWARK_SIGNING_KEY_FILE, record its public half in
 * attestations.signing_keys (refusing to start when that key id is recorded
 * with other bytes), prepare the channel pool. */
int bw_attest_init(const bw_service_config_t *config, void **service_data);
void bw_attest_fini(void *service_data);

/* The signing key (borrowed from the service state). */
const bw_key_t *bw_attest_signing_key(bw_call_t *call);
/* The signing key's public PEM (borrowed). */
const char *bw_attest_signing_pem(bw_call_t *call);

/* Fails the call with PERMISSION_DENIED unless it carries a tenant id. */
int bw_attest_need_tenant(bw_call_t *call);

/* Asks scoping (GetEntity, with the call's tenant) whether entity exists.
 * 0 when it does. When it does not: with field NULL, NOT_FOUND
 * (ENTITY_NOT_FOUND), else a violation on field (400). BW_EUNAVAIL when
 * scoping does not answer. */
int bw_attest_entity_check(bw_call_t *call, const char *entity, const char *field);

/* Every key of attestations.signing_keys, as verify-only keys freed with the
 * call's arena. *keys is an array of *n pointers on the arena. When
 * with_rows is non-NULL it receives the result rows too (key_id, algorithm,
 * public_key, create_time in microseconds), in the keys' order. */
int bw_attest_load_keys(bw_call_t *call, bw_key_t ***keys, size_t *n, PGresult **with_rows);

/* Checks a text field: UTF-8, at most max bytes, not blank when required.
 * Adds a violation naming field and returns BW_EINVAL when bad, else 0. */
int bw_attest_check_text(bw_call_t *call, const char *field, const char *value, size_t max,
                         int required);

/* Microseconds since the epoch of a Timestamp (sub-microseconds dropped),
 * unchecked: for one read from the database, or one bw_attest_time passed. */
long long bw_attest_us(const Google__Protobuf__Timestamp *ts);
/* Microseconds of a Timestamp the caller sent, into *us: 0, or a violation
 * naming field (BW_EINVAL) when it is outside the years 0001-9999 or its
 * nanos outside 0..999999999 (bw_time_us_checked). */
int bw_attest_time(bw_call_t *call, const char *field, const Google__Protobuf__Timestamp *ts,
                   long long *us);
/* A time as an RFC 3339 text parameter (for a timestamptz), on the arena. */
char *bw_attest_time_param(bw_arena_t *arena, long long us);
/* An integer as a text parameter, on the arena. */
char *bw_attest_int_param(bw_arena_t *arena, long long value);

/* Campaign kinds and decisions as stored (their proto enum names): the
 * name of an enum value, NULL when out of range; the value of a name, 0
 * (the *_UNSPECIFIED value) when unknown. */
const char *bw_attest_kind_name(int kind);
int bw_attest_kind_value(const char *name);
const char *bw_attest_decision_name(int decision);
int bw_attest_decision_value(const char *name);

/* SQL for a timestamptz column as microseconds since the epoch (bigint),
 * the form bw_store_timestamp reads. */
#define BW_ATTEST_US(col) "bulwark.epoch_us(" col ")"

#endif
