/*
 * The relay; see relay.h. Per batch: one statement to claim, then for each
 * tenant met in the batch one to switch the transaction's tenant, one to
 * read its endpoints, one its ticket connections, one that copies the
 * tenant's events with subscribers and makes all their deliveries (arrays
 * unnested) and, when there are any, one for its ticket jobs, so a batch
 * costs a few statements whatever its size. The fan-out leases the first
 * delivery of each resource as it makes it, when the deliverer has room,
 * and the run hands those to the deliverer after the commit: they start
 * without a claim (docs/DESIGN.md, "The relay and the order of a
 * resource's events").
 */
#include "relay.h"

#include "deliverer.h"
#include "ids.h"
#include "pgarray.h"
#include "status.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch's events of one tenant go out in statements of at most this much
 * data. */
#define FAN_OUT_MAX_BYTES (8 * 1024 * 1024)

/* The events in seq order; the last column is the time as a delivery's
 * body writes it (integrations.claim_deliveries writes it so too). */
static const bw_db_stmt_t stmt_claim = {
    "relay_claim",
    "SELECT tenant_id::text, seq, event_id::text, type, resource, origin, occur_time, data, "
    "to_char(occur_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM bulwark.outbox_claim($1::int)"};
/* Also turns sorts and JIT off for the transaction, for the fan-out's
 * probe (below); nothing the relay asks needs either. */
static const bw_db_stmt_t stmt_set_tenant = {
    "relay_set_tenant", "SELECT set_config('bulwark.tenant_id', $1, true), "
                        "set_config('enable_sort', 'off', true), set_config('jit', 'off', true)"};
static const bw_db_stmt_t stmt_endpoints = {
    "relay_endpoints", "SELECT endpoint_id::text, array_to_string(event_types, ',') "
                       "FROM integrations.webhook_endpoints"};
/* $1-$7 the events, $8-$13 the deliveries (id, endpoint, event, seq,
 * resource, lease in seconds). A delivery with a lease of more than 0 is
 * leased at birth, for the relay to hand to the deliverer, unless its
 * endpoint is disabled or an earlier delivery of its resource to its
 * endpoint is still pending (the relay offers only the first of a resource's
 * events in a batch, so none in the same statement can be). The probe is the
 * resource's first pending delivery, ORDER BY seq LIMIT 1 as a scalar
 * subquery: with sorts off (stmt_set_tenant) only the whole key of
 * deliveries_pending_by_resource gives that order, so it reads one index
 * page whatever the statistics say when the session plans it (as EXISTS,
 * PostgreSQL drops the ORDER BY and the LIMIT and scanned the endpoint's
 * pending deliveries; as NOT EXISTS it hashed the tenant's). It was a
 * function with settings of its own (migration 0011), whose call cost about
 * 7-10 us a delivery more than the subquery (migration 0017). The leased
 * ones come back shaped as integrations.claim_deliveries returns them, but
 * for the event's type, time and data (NULL: the relay has them, in the
 * batch it claimed) and with the event's seq after the claim's columns
 * (LEASED_SEQ) to find them by. The endpoints are locked (FOR KEY SHARE)
 * before the deliveries are made: one deleted since the relay listed it is
 * left out, and a delete that comes later waits for the batch, whose
 * deliveries its trigger then deletes (a delivery has no foreign key to its
 * endpoint, integrations migration 0019). The ticket jobs' connections are
 * locked likewise, instead of failing the batch on the jobs' foreign key. */
static const bw_db_stmt_t stmt_fan_out = {
    "relay_fan_out",
    "WITH event AS (INSERT INTO integrations.events (tenant_id, event_id, seq, type, resource, "
    "origin, occur_time, data) SELECT current_setting('bulwark.tenant_id')::uuid, v.* "
    "FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], "
    "$6::timestamptz[], $7::text[]) AS v ON CONFLICT DO NOTHING), "
    "ep AS (SELECT endpoint_id, disabled, url, secret, CASE WHEN previous_secret_expire_time "
    "> now() THEN previous_secret END AS previous FROM integrations.webhook_endpoints "
    "WHERE endpoint_id = ANY ($9::uuid[]) FOR KEY SHARE), "
    "made AS (INSERT INTO integrations.deliveries (tenant_id, delivery_id, endpoint_id, event_id, "
    "seq, resource, state, next_attempt_time, lease_id, lease_until) "
    "SELECT c.tenant_id, c.delivery_id, c.endpoint_id, c.event_id, c.seq, c.resource, c.state, "
    "now(), c.lease_id, CASE WHEN c.lease_id IS NOT NULL "
    "THEN now() + make_interval(secs => c.lease_seconds) END "
    "FROM (SELECT current_setting('bulwark.tenant_id')::uuid AS tenant_id, x.*, "
    "CASE WHEN e.disabled THEN 'PAUSED' ELSE 'PENDING' END AS state, "
    "CASE WHEN x.lease_seconds > 0 AND NOT e.disabled "
    "AND (SELECT p.seq FROM integrations.deliveries p "
    "WHERE p.tenant_id = current_setting('bulwark.tenant_id')::uuid "
    "AND p.endpoint_id = x.endpoint_id AND p.resource = x.resource AND p.state = 'PENDING' "
    "ORDER BY p.seq LIMIT 1) IS NULL "
    "THEN gen_random_uuid() END AS lease_id "
    "FROM unnest($8::uuid[], $9::uuid[], $10::uuid[], $11::bigint[], $12::text[], $13::int[]) "
    "AS x(delivery_id, endpoint_id, event_id, seq, resource, lease_seconds) "
    "JOIN ep e ON e.endpoint_id = x.endpoint_id) c "
    "RETURNING tenant_id, delivery_id, lease_id, endpoint_id, event_id, seq, ctid AS at) "
    "SELECT m.tenant_id::text, m.delivery_id::text, m.lease_id::text, m.endpoint_id::text, e.url, "
    "e.secret, e.previous, m.event_id::text, NULL, NULL, NULL, 0, m.at::text, m.seq "
    "FROM made m JOIN ep e ON e.endpoint_id = m.endpoint_id WHERE m.lease_id IS NOT NULL"};
/* The column of a leased row that holds its event's seq. */
#define LEASED_SEQ 13
/* The connections that open tickets, with the origin their own changes carry. */
static const bw_db_stmt_t stmt_connections = {
    "relay_connections", "SELECT connection_id::text, lower(system) || ':' || connection_id "
                         "FROM integrations.connections WHERE create_issues"};
/* $1-$5 the ticket jobs (id, connection, event, seq, incident); their
 * events went in with the fan-out. */
static const bw_db_stmt_t stmt_jobs = {
    "relay_jobs",
    "INSERT INTO integrations.ticket_jobs (tenant_id, job_id, connection_id, event_id, seq, "
    "incident_id, state, next_attempt_time) "
    "SELECT current_setting('bulwark.tenant_id')::uuid, x.*, 'PENDING', now() "
    "FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[]) "
    "AS x(job_id, connection_id, event_id, seq, incident_id) "
    "WHERE x.connection_id IN (SELECT connection_id FROM integrations.connections "
    "WHERE connection_id = ANY ($2::uuid[]) FOR KEY SHARE)"};
static const bw_db_stmt_t stmt_prune = {"relay_prune", "SELECT bulwark.outbox_prune($1::int)"};
static const bw_db_stmt_t stmt_lag = {
    "relay_lag", "SELECT unrelayed, oldest_age_seconds FROM bulwark.outbox_lag()"};

const bw_db_stmt_t *const bw_relay_stmts[] = {&stmt_claim,   &stmt_set_tenant,  &stmt_endpoints,
                                              &stmt_fan_out, &stmt_connections, &stmt_jobs,
                                              &stmt_prune,   &stmt_lag};
const size_t bw_relay_n_stmts = sizeof(bw_relay_stmts) / sizeof(bw_relay_stmts[0]);

enum { EV_TENANT, EV_SEQ, EV_ID, EV_TYPE, EV_RESOURCE, EV_ORIGIN, EV_TIME, EV_DATA, EV_STAMP };
enum {
    A_EV_ID,
    A_EV_SEQ,
    A_EV_TYPE,
    A_EV_RESOURCE,
    A_EV_ORIGIN,
    A_EV_TIME,
    A_EV_DATA,
    A_D_ID,
    A_D_ENDPOINT,
    A_D_EVENT,
    A_D_SEQ,
    A_D_RESOURCE,
    A_D_LEASE,
    N_FAN_OUT,
    A_J_ID = N_FAN_OUT,
    A_J_CONNECTION,
    A_J_EVENT,
    A_J_SEQ,
    A_J_INCIDENT,
    N_ARRAYS
};

/* One run's state: the arrays of the statement being filled, and what
 * goes to the deliverer once the run has committed. */
typedef struct leased leased_t;
struct leased {
    PGresult *rows;               /* the arena's */
    bw_deliverer_event_t *events; /* each row's event, from the batch */
    leased_t *next;
};
typedef struct run {
    bw_db_t *db;
    bw_arena_t *arena;
    const PGresult *batch; /* the claimed events, in seq order */
    bw_deliverer_t *dv;    /* NULL: nothing is handed over */
    int room;              /* deliveries the deliverer may still take, in all */
    bw_pgarray_t arrays[N_ARRAYS];
    leased_t *leased, **leased_tail;
} run_t;

static void arrays_reset(bw_pgarray_t *arrays)
{
    for (int i = 0; i < N_ARRAYS; i++)
        bw_pgarray_reset(&arrays[i]);
}

/* The batch's row of the event with seq (rows in seq order), or -1. */
static int row_of_seq(const PGresult *batch, long long seq)
{
    int lo = 0, hi = PQntuples(batch) - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        long long at = strtoll(PQgetvalue(batch, mid, EV_SEQ), NULL, 10);
        if (at == seq)
            return mid;
        if (at < seq)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Keeps the fan-out's leased rows, with their events from the batch, to
 * hand over once the run has committed. */
static int keep_leased(run_t *r, PGresult *rows)
{
    int n = PQntuples(rows);
    leased_t *l = bw_arena_calloc(r->arena, 1, sizeof(*l));
    bw_deliverer_event_t *events = bw_arena_calloc(r->arena, (size_t)n, sizeof(*events));
    if (l == NULL || events == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < n; i++) {
        int row = row_of_seq(r->batch, strtoll(PQgetvalue(rows, i, LEASED_SEQ), NULL, 10));
        if (row < 0)
            return BW_EINTERNAL; /* made from the batch: cannot be */
        events[i] = (bw_deliverer_event_t){PQgetvalue(r->batch, row, EV_TYPE),
                                           PQgetvalue(r->batch, row, EV_STAMP),
                                           PQgetvalue(r->batch, row, EV_DATA)};
    }
    l->rows = rows;
    l->events = events;
    *r->leased_tail = l;
    r->leased_tail = &l->next;
    return 0;
}

/* Sends what the arrays hold, if anything. */
static int flush(run_t *r)
{
    bw_pgarray_t *arrays = r->arrays;
    if (arrays[A_EV_ID].n == 0)
        return 0;
    const char *values[N_ARRAYS];
    for (int i = 0; i < N_ARRAYS; i++)
        if ((values[i] = bw_pgarray_close(&arrays[i])) == NULL)
            return BW_ENOMEM;
    PGresult *leased = NULL;
    int err = bw_db_exec(r->db, r->arena, &stmt_fan_out, N_FAN_OUT, values, &leased);
    if (err == 0 && PQntuples(leased) > 0)
        err = keep_leased(r, leased);
    if (err == 0 && arrays[A_J_ID].n > 0)
        err =
            bw_db_exec(r->db, r->arena, &stmt_jobs, N_ARRAYS - N_FAN_OUT, values + N_FAN_OUT, NULL);
    arrays_reset(arrays);
    return err;
}

/* Adds the ticket jobs an event makes: an incident.created or
 * incident.updated event, for each connection that opens tickets except
 * the one the change came from. Returns how many, or a BW_E* code. */
static int add_jobs(const PGresult *res, int row, const PGresult *connections, bw_pgarray_t *arrays)
{
    const char *type = PQgetvalue(res, row, EV_TYPE);
    const char *resource = PQgetvalue(res, row, EV_RESOURCE);
    if ((strcmp(type, "incident.created") != 0 && strcmp(type, "incident.updated") != 0) ||
        strncmp(resource, "incidents/", 10) != 0 || !bw_uuid_valid(resource + 10))
        return 0;
    int made = 0;
    for (int i = 0; i < PQntuples(connections); i++) {
        if (strcmp(PQgetvalue(res, row, EV_ORIGIN), PQgetvalue(connections, i, 1)) == 0)
            continue; /* it came from there */
        char id[BW_UUID_STR_LEN + 1];
        if (bw_uuid_v7(id) != 0)
            return BW_EINTERNAL;
        if (bw_pgarray_add(&arrays[A_J_ID], id) != 0 ||
            bw_pgarray_add(&arrays[A_J_CONNECTION], PQgetvalue(connections, i, 0)) != 0 ||
            bw_pgarray_add(&arrays[A_J_EVENT], PQgetvalue(res, row, EV_ID)) != 0 ||
            bw_pgarray_add(&arrays[A_J_SEQ], PQgetvalue(res, row, EV_SEQ)) != 0 ||
            bw_pgarray_add(&arrays[A_J_INCIDENT], resource + 10) != 0)
            return BW_ENOMEM;
        made++;
    }
    return made;
}

/* A row of the batch by its tenant and resource, to sort. */
typedef struct row_key {
    const char *tenant;
    const char *resource;
    int row;
} row_key_t;

static int by_tenant_then_row(const void *a, const void *b)
{
    const row_key_t *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

static int by_resource_then_row(const void *a, const void *b)
{
    const row_key_t *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    if (c == 0)
        c = strcmp(x->resource, y->resource);
    return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

/* One tenant's rows: order[start] to order[start + n - 1]. */
typedef struct tenant_rows {
    int first_row; /* where the batch meets the tenant first */
    int start, n;
} tenant_rows_t;

static int by_first_row(const void *a, const void *b)
{
    const tenant_rows_t *x = a, *y = b;
    return (x->first_row > y->first_row) - (x->first_row < y->first_row);
}

/* The batch arranged by two sorts, not by comparing each row with every
 * earlier one: order holds the row numbers of each tenant in seq order,
 * tenant after tenant, and tenants[] the tenants in the order the batch
 * meets them; first[row] says whether the row is the first event of its
 * tenant's resource in the batch. */
typedef struct batch_plan {
    int *order;
    tenant_rows_t *tenants;
    int n_tenants;
    unsigned char *first;
} batch_plan_t;

static int plan_batch(bw_arena_t *arena, const PGresult *res, batch_plan_t *plan)
{
    int n = PQntuples(res);
    row_key_t *keys = bw_arena_calloc(arena, (size_t)n + 1, sizeof(*keys));
    plan->order = bw_arena_calloc(arena, (size_t)n + 1, sizeof(*plan->order));
    plan->tenants = bw_arena_calloc(arena, (size_t)n + 1, sizeof(*plan->tenants));
    plan->first = bw_arena_calloc(arena, (size_t)n + 1, 1);
    plan->n_tenants = 0;
    if (keys == NULL || plan->order == NULL || plan->tenants == NULL || plan->first == NULL)
        return BW_ENOMEM;
    for (int row = 0; row < n; row++)
        keys[row] =
            (row_key_t){PQgetvalue(res, row, EV_TENANT), PQgetvalue(res, row, EV_RESOURCE), row};
    qsort(keys, (size_t)n, sizeof(*keys), by_resource_then_row);
    for (int i = 0; i < n; i++)
        plan->first[keys[i].row] = i == 0 || strcmp(keys[i].tenant, keys[i - 1].tenant) != 0 ||
                                   strcmp(keys[i].resource, keys[i - 1].resource) != 0;
    qsort(keys, (size_t)n, sizeof(*keys), by_tenant_then_row);
    for (int i = 0; i < n; i++) {
        plan->order[i] = keys[i].row;
        if (i == 0 || strcmp(keys[i].tenant, keys[i - 1].tenant) != 0)
            plan->tenants[plan->n_tenants++] = (tenant_rows_t){keys[i].row, i, 0};
        plan->tenants[plan->n_tenants - 1].n++;
    }
    qsort(plan->tenants, (size_t)plan->n_tenants, sizeof(*plan->tenants), by_first_row);
    return 0;
}

/* Relays the batch's events of one tenant: rows, n of them, in seq order. */
static int relay_tenant(run_t *r, const PGresult *res, const batch_plan_t *plan, const int *rows,
                        int n, int *made)
{
    const char *tenant = PQgetvalue(res, rows[0], EV_TENANT);
    bw_arena_t *arena = r->arena;
    bw_pgarray_t *arrays = r->arrays;
    const char *t[] = {tenant};
    PGresult *endpoints, *connections;
    int err = bw_db_exec(r->db, arena, &stmt_set_tenant, 1, t, NULL);
    if (err == 0)
        err = bw_db_exec(r->db, arena, &stmt_endpoints, 0, NULL, &endpoints);
    if (err == 0)
        err = bw_db_exec(r->db, arena, &stmt_connections, 0, NULL, &connections);
    if (err != 0)
        return err;
    int n_endpoints = PQntuples(endpoints);
    /* Each endpoint's types as ",type,type," so that ",<type>," finds one;
     * what the deliverer may take of it, and how many of its are ahead. */
    char **types = bw_arena_calloc(arena, (size_t)n_endpoints + 1, sizeof(*types));
    int *room = bw_arena_calloc(arena, (size_t)n_endpoints + 1, sizeof(*room));
    int *ahead = bw_arena_calloc(arena, (size_t)n_endpoints + 1, sizeof(*ahead));
    if (types == NULL || room == NULL || ahead == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < n_endpoints; i++) {
        if ((types[i] = bw_arena_printf(arena, ",%s,", PQgetvalue(endpoints, i, 1))) == NULL)
            return BW_ENOMEM;
        if (r->dv != NULL)
            room[i] = bw_deliverer_room(r->dv, PQgetvalue(endpoints, i, 0), &ahead[i]);
    }
    size_t bytes = 0;
    for (int k = 0; k < n && err == 0; k++) {
        int row = rows[k];
        char needle[128];
        snprintf(needle, sizeof(needle), ",%s,", PQgetvalue(res, row, EV_TYPE));
        /* A resource's later event waits for its earlier one: claimed. */
        int first = r->dv != NULL && plan->first[row];
        int subscribed = 0;
        for (int i = 0; i < n_endpoints && err == 0; i++) {
            if (strstr(types[i], needle) == NULL)
                continue;
            char id[BW_UUID_STR_LEN + 1], lease[24] = "0";
            if (bw_uuid_v7(id) != 0)
                return BW_EINTERNAL;
            if (first && room[i] > 0 && r->room > 0) {
                snprintf(lease, sizeof(lease), "%ld", bw_deliverer_lease_seconds(r->dv, ahead[i]));
                room[i]--;
                ahead[i]++;
                r->room--;
            }
            if (bw_pgarray_add(&arrays[A_D_ID], id) != 0 ||
                bw_pgarray_add(&arrays[A_D_ENDPOINT], PQgetvalue(endpoints, i, 0)) != 0 ||
                bw_pgarray_add(&arrays[A_D_EVENT], PQgetvalue(res, row, EV_ID)) != 0 ||
                bw_pgarray_add(&arrays[A_D_SEQ], PQgetvalue(res, row, EV_SEQ)) != 0 ||
                bw_pgarray_add(&arrays[A_D_RESOURCE], PQgetvalue(res, row, EV_RESOURCE)) != 0 ||
                bw_pgarray_add(&arrays[A_D_LEASE], lease) != 0)
                return BW_ENOMEM;
            subscribed++;
        }
        int jobs = add_jobs(res, row, connections, arrays);
        if (jobs < 0)
            return jobs;
        subscribed += jobs;
        if (subscribed == 0)
            continue;
        static const int columns[] = {EV_ID,     EV_SEQ,  EV_TYPE, EV_RESOURCE,
                                      EV_ORIGIN, EV_TIME, EV_DATA};
        for (int c = 0; c < 7; c++)
            if (bw_pgarray_add(&arrays[A_EV_ID + c], PQgetvalue(res, row, columns[c])) != 0)
                return BW_ENOMEM;
        *made += subscribed;
        bytes += (size_t)PQgetlength(res, row, EV_DATA);
        if (bytes > FAN_OUT_MAX_BYTES) {
            err = flush(r);
            bytes = 0;
        }
    }
    return err != 0 ? err : flush(r);
}

int bw_relay_run(bw_db_t *db, bw_arena_t *arena, bw_deliverer_t *dv, int batch, int *claimed,
                 int *made)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", batch);
    const char *values[] = {limit};
    PGresult *res;
    run_t r = {.db = db, .arena = arena, .dv = dv, .room = bw_deliverer_room(dv, NULL, NULL)};
    r.leased_tail = &r.leased;
    *claimed = *made = 0;
    int err = bw_db_begin(db, NULL);
    if (err != 0)
        return err;
    if ((err = bw_db_exec(db, arena, &stmt_claim, 1, values, &res)) != 0)
        goto out;
    r.batch = res;
    int n = PQntuples(res);
    batch_plan_t plan;
    if ((err = plan_batch(arena, res, &plan)) != 0)
        goto out;
    /* Each tenant once, in the order the batch meets them. */
    for (int t = 0; t < plan.n_tenants && err == 0; t++)
        err = relay_tenant(&r, res, &plan, plan.order + plan.tenants[t].start, plan.tenants[t].n,
                           made);
    if (err == 0)
        err = bw_db_commit(db);
    if (err == 0) {
        *claimed = n;
        /* Committed: what was leased at birth starts now. */
        for (leased_t *l = r.leased; l != NULL; l = l->next)
            bw_deliverer_hand(dv, l->rows, l->events);
    }
out:
    for (int i = 0; i < N_ARRAYS; i++)
        bw_pgarray_free(&r.arrays[i]);
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

int bw_relay_lag(bw_db_t *db, bw_arena_t *arena, long long *unrelayed, double *oldest_age_sec)
{
    PGresult *res;
    int err = bw_db_exec1(db, arena, NULL, &stmt_lag, 0, NULL, &res);
    if (err != 0)
        return err;
    *unrelayed = (long long)bw_store_int(res, 0, 0);
    *oldest_age_sec = strtod(PQgetvalue(res, 0, 1), NULL);
    return 0;
}
