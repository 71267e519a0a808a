/*
 * The relay; see relay.h. Per batch: one statement to claim, then per
 * tenant met in the batch one to switch the transaction's tenant and one
 * to read its enabled endpoints, then one statement per event with
 * subscribers, which copies the event and makes its deliveries.
 */
#include "relay.h"

#include "ids.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

static const bw_db_stmt_t stmt_claim = {
    "relay_claim", "SELECT tenant_id::text, seq, event_id::text, type, resource, origin, "
                   "occur_time, data FROM bulwark.outbox_claim($1::int)"};
static const bw_db_stmt_t stmt_set_tenant = {"relay_set_tenant",
                                             "SELECT set_config('bulwark.tenant_id', $1, true)"};
static const bw_db_stmt_t stmt_endpoints = {
    "relay_endpoints", "SELECT endpoint_id::text, array_to_string(event_types, ',') "
                       "FROM integrations.webhook_endpoints"};
static const bw_db_stmt_t stmt_fan_out = {
    "relay_fan_out",
    "WITH event AS (INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
    "origin, occur_time, data) VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, "
    "$5, $6, $7) ON CONFLICT DO NOTHING) "
    "INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, event_id, seq, "
    "resource, state, next_attempt_time) "
    "SELECT current_setting('bulwark.tenant_id')::uuid, x.delivery_id, x.endpoint_id, $1, $2, $4, "
    "CASE WHEN e.disabled THEN 'PAUSED' ELSE 'PENDING' END, now() "
    "FROM unnest($8::uuid[], $9::uuid[]) AS x(delivery_id, endpoint_id) "
    "JOIN integrations.webhook_endpoints e ON e.endpoint_id = x.endpoint_id"};
static const bw_db_stmt_t stmt_prune = {"relay_prune", "SELECT bulwark.outbox_prune($1::int)"};

const bw_db_stmt_t *const bw_relay_stmts[] = {&stmt_claim, &stmt_set_tenant, &stmt_endpoints,
                                              &stmt_fan_out, &stmt_prune};
const size_t bw_relay_n_stmts = sizeof(bw_relay_stmts) / sizeof(bw_relay_stmts[0]);

enum { EV_TENANT, EV_SEQ, EV_ID, EV_TYPE, EV_RESOURCE, EV_ORIGIN, EV_TIME, EV_DATA };

/* The endpoints of one tenant: ids and their subscribed types
 * (",type,type," so that ",<type>," finds one). */
typedef struct tenant_endpoints {
    const char *tenant;
    PGresult *res;
    char **types;
} tenant_endpoints_t;

static int load_endpoints(bw_db_t *db, bw_arena_t *arena, const char *tenant,
                          tenant_endpoints_t *out)
{
    int err = bw_db_exec(db, arena, &stmt_endpoints, 0, NULL, &out->res);
    if (err != 0)
        return err;
    int n = PQntuples(out->res);
    out->tenant = tenant;
    out->types = bw_arena_calloc(arena, (size_t)n + 1, sizeof(*out->types));
    if (out->types == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < n; i++)
        if ((out->types[i] = bw_arena_printf(arena, ",%s,", PQgetvalue(out->res, i, 1))) == NULL)
            return BW_ENOMEM;
    return 0;
}

/* The deliveries of one event: "{id,...}" arrays of new delivery ids and
 * their endpoints, for the endpoints subscribed to type. *n gets how many. */
static int subscribers(bw_arena_t *arena, const tenant_endpoints_t *te, const char *type,
                       char **delivery_ids, char **endpoint_ids, int *n)
{
    int rows = PQntuples(te->res);
    size_t cap = 3 + (size_t)rows * (BW_UUID_STR_LEN + 1);
    char *d = bw_arena_alloc(arena, cap), *e = bw_arena_alloc(arena, cap);
    char needle[128];
    if (d == NULL || e == NULL)
        return BW_ENOMEM;
    snprintf(needle, sizeof(needle), ",%s,", type);
    size_t od = 0, oe = 0;
    d[od++] = '{';
    e[oe++] = '{';
    *n = 0;
    for (int i = 0; i < rows; i++) {
        if (strstr(te->types[i], needle) == NULL)
            continue;
        char id[BW_UUID_STR_LEN + 1];
        if (bw_uuid_v7(id) != 0)
            return BW_EINTERNAL;
        od += (size_t)snprintf(d + od, cap - od, "%s%s", *n > 0 ? "," : "", id);
        oe += (size_t)snprintf(e + oe, cap - oe, "%s%s", *n > 0 ? "," : "",
                               PQgetvalue(te->res, i, 0));
        (*n)++;
    }
    snprintf(d + od, cap - od, "}");
    snprintf(e + oe, cap - oe, "}");
    *delivery_ids = d;
    *endpoint_ids = e;
    return 0;
}

int bw_relay_run(bw_db_t *db, bw_arena_t *arena, int batch, int *claimed, int *made)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", batch);
    const char *values[] = {limit};
    PGresult *res;
    *claimed = *made = 0;
    int err = bw_db_begin(db, NULL);
    if (err != 0)
        return err;
    if ((err = bw_db_exec(db, arena, &stmt_claim, 1, values, &res)) != 0)
        goto out;
    int n = PQntuples(res);
    /* The tenants of the batch with their endpoints, loaded once each. */
    tenant_endpoints_t *tenants = bw_arena_calloc(arena, (size_t)n + 1, sizeof(*tenants));
    if (tenants == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    size_t n_tenants = 0;
    const char *current = "";
    for (int row = 0; row < n; row++) {
        const char *tenant = PQgetvalue(res, row, EV_TENANT);
        if (strcmp(tenant, current) != 0) {
            const char *t[] = {tenant};
            if ((err = bw_db_exec(db, arena, &stmt_set_tenant, 1, t, NULL)) != 0)
                goto out;
            current = tenant;
        }
        tenant_endpoints_t *te = NULL;
        for (size_t i = 0; i < n_tenants && te == NULL; i++)
            if (strcmp(tenants[i].tenant, tenant) == 0)
                te = &tenants[i];
        if (te == NULL) {
            te = &tenants[n_tenants++];
            if ((err = load_endpoints(db, arena, tenant, te)) != 0)
                goto out;
        }
        char *delivery_ids, *endpoint_ids;
        int k;
        if ((err = subscribers(arena, te, PQgetvalue(res, row, EV_TYPE), &delivery_ids,
                               &endpoint_ids, &k)) != 0)
            goto out;
        if (k == 0)
            continue;
        const char *fan[] = {PQgetvalue(res, row, EV_ID),       PQgetvalue(res, row, EV_SEQ),
                             PQgetvalue(res, row, EV_TYPE),     PQgetvalue(res, row, EV_RESOURCE),
                             PQgetvalue(res, row, EV_ORIGIN),   PQgetvalue(res, row, EV_TIME),
                             PQgetvalue(res, row, EV_DATA),     delivery_ids,
                             endpoint_ids};
        if ((err = bw_db_exec(db, arena, &stmt_fan_out, 9, fan, NULL)) != 0)
            goto out;
        *made += k;
    }
    err = bw_db_commit(db);
    if (err == 0)
        *claimed = n;
out:
    if (err != 0) {
        bw_db_rollback(db);
        *made = 0;
    }
    return err;
}

int bw_relay_prune(bw_db_t *db, bw_arena_t *arena, long days, long *pruned)
{
    char text[24];
    snprintf(text, sizeof(text), "%ld", days);
    const char *values[] = {text};
    PGresult *res;
    int err = bw_db_exec1(db, arena, NULL, &stmt_prune, 1, values, &res);
    if (err == 0)
        *pruned = (long)bw_store_int(res, 0, 0);
    return err;
}
