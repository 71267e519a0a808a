/*
 * Request counts and key uses in memory, written once per period; see
 * usage.h. Two sets of tables: requests fill the active one; a flush swaps
 * them under the mutex and writes the other without holding it, so the
 * event loop never waits on the database. Each table is open addressing
 * with linear probing, filled to three quarters at most. The tables are
 * mappings of their own, emptied by giving their pages back: they hold only
 * the pages the tenants and keys of one period touched (see tables_new).
 */
#include "usage.h"

#include "arena.h"
#include "db.h"
#include "ids.h"
#include "log.h"
#include "status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Only for a tenant that still exists, whose row it locks against a
 * deletion in progress (which locks it for update): counts of a tenant
 * deleted since its requests were counted are dropped, not written back
 * after its erasure. */
static const bw_db_stmt_t stmt_add_requests = {
    "usage_add_requests",
    "INSERT INTO tenancy.request_counts (tenant_id, hour, requests) "
    "SELECT t.tenant_id, to_timestamp($1::bigint), $2::bigint FROM tenancy.tenants t "
    "WHERE t.tenant_id = current_setting('bulwark.tenant_id')::uuid FOR KEY SHARE "
    "ON CONFLICT (tenant_id, hour) DO UPDATE "
    "SET requests = tenancy.request_counts.requests + EXCLUDED.requests"};
static const bw_db_stmt_t stmt_keys_used = {
    "usage_keys_used",
    "UPDATE tenancy.api_keys k SET last_use_time = to_timestamp(u.at) "
    "FROM unnest($1::uuid[], $2::bigint[]) AS u(key_id, at) "
    "WHERE k.key_id = u.key_id AND (k.last_use_time IS NULL OR k.last_use_time < "
    "to_timestamp(u.at))"};
static const bw_db_stmt_t stmt_drop_old = {
    "usage_drop_old",
    "DELETE FROM tenancy.request_counts WHERE hour < now() - interval '48 hours'"};
static const bw_db_stmt_t *const usage_stmts[] = {&stmt_add_requests, &stmt_keys_used,
                                                  &stmt_drop_old};

typedef struct count_slot {
    char tenant_id[BW_UUID_STR_LEN + 1]; /* "" when free */
    long long hour;                      /* epoch seconds of the hour's start */
    long long requests;
} count_slot_t;

typedef struct key_slot {
    char key_id[BW_UUID_STR_LEN + 1]; /* "" when free */
    char tenant_id[BW_UUID_STR_LEN + 1];
    long long last_use; /* epoch seconds */
} key_slot_t;

typedef struct tables {
    count_slot_t counts[BW_USAGE_CAPACITY];
    key_slot_t keys[BW_USAGE_CAPACITY];
    size_t n_counts, n_keys;
} tables_t;

struct bw_usage {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled on stop and when a table fills */
    int stopping;
    int full;
    const char *database_url; /* borrowed */
    long period_sec;
    tables_t *active, *spare; /* active: what requests fill, under lock */
    long long dropped;        /* uses not counted since the last flush, under lock */
};

#define FILL_MAX (BW_USAGE_CAPACITY * 3 / 4)

/* A set of tables (1.1 MiB) is an anonymous mapping of its own, not a
 * calloc: its pages are the zero page until a slot on them is written, and
 * tables_empty gives them back rather than writing zeros over all of them.
 * Cleared by memset, both sets became resident at their first flushes, and
 * the gateway's RSS rose twice by 1.1 MiB one and two periods after its
 * start (make faults' soak, docs/DESIGN.md "Faults"). */
static tables_t *tables_new(void)
{
    void *p =
        mmap(NULL, sizeof(tables_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void tables_empty(tables_t *t)
{
    /* A private anonymous page given back reads as zeros again. */
    if (madvise(t, sizeof(*t), MADV_DONTNEED) != 0)
        memset(t, 0, sizeof(*t));
}

static void tables_free(tables_t *t)
{
    if (t != NULL)
        munmap(t, sizeof(*t));
}

static void count_request(bw_usage_t *u, const char *tenant_id, long long hour)
{
    tables_t *t = u->active;
    for (unsigned i = bw_fnv1a(tenant_id) % BW_USAGE_CAPACITY;; i = (i + 1) % BW_USAGE_CAPACITY) {
        count_slot_t *s = &t->counts[i];
        if (s->tenant_id[0] == '\0') {
            if (t->n_counts >= FILL_MAX) {
                u->dropped++;
                u->full = 1;
                return;
            }
            memcpy(s->tenant_id, tenant_id, BW_UUID_STR_LEN + 1);
            s->hour = hour;
            t->n_counts++;
        } else if (s->hour != hour || strcmp(s->tenant_id, tenant_id) != 0) {
            continue;
        }
        s->requests++;
        return;
    }
}

static void note_key(bw_usage_t *u, const char *key_id, const char *tenant_id, long long now)
{
    tables_t *t = u->active;
    for (unsigned i = bw_fnv1a(key_id) % BW_USAGE_CAPACITY;; i = (i + 1) % BW_USAGE_CAPACITY) {
        key_slot_t *s = &t->keys[i];
        if (s->key_id[0] == '\0') {
            if (t->n_keys >= FILL_MAX) {
                u->dropped++;
                u->full = 1;
                return;
            }
            memcpy(s->key_id, key_id, BW_UUID_STR_LEN + 1);
            memcpy(s->tenant_id, tenant_id, BW_UUID_STR_LEN + 1);
            t->n_keys++;
        } else if (strcmp(s->key_id, key_id) != 0) {
            continue;
        }
        if (now > s->last_use)
            s->last_use = now;
        return;
    }
}

void bw_usage_record(bw_usage_t *u, const char *tenant_id, const char *key_id)
{
    if (u == NULL || strlen(tenant_id) != BW_UUID_STR_LEN)
        return;
    long long now = (long long)time(NULL);
    int has_key = key_id != NULL && strlen(key_id) == BW_UUID_STR_LEN;
    pthread_mutex_lock(&u->lock);
    count_request(u, tenant_id, now - now % 3600);
    if (has_key)
        note_key(u, key_id, tenant_id, now);
    if (u->full)
        pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
}

/* ---- writing ----------------------------------------------------------- */

static int count_by_tenant(const void *a, const void *b)
{
    return strcmp((*(const count_slot_t *const *)a)->tenant_id,
                  (*(const count_slot_t *const *)b)->tenant_id);
}

static int key_by_tenant(const void *a, const void *b)
{
    return strcmp((*(const key_slot_t *const *)a)->tenant_id,
                  (*(const key_slot_t *const *)b)->tenant_id);
}

/* Writes one tenant's counts and key uses (both sorted runs of that
 * tenant) in one transaction. */
static int write_tenant(bw_db_t *db, bw_arena_t *arena, const char *tenant,
                        count_slot_t *const *counts, size_t n_counts, key_slot_t *const *keys,
                        size_t n_keys)
{
    int err = bw_db_begin(db, tenant);
    if (err != 0)
        return err;
    for (size_t i = 0; i < n_counts && err == 0; i++) {
        char hour[24], requests[24];
        snprintf(hour, sizeof(hour), "%lld", counts[i]->hour);
        snprintf(requests, sizeof(requests), "%lld", counts[i]->requests);
        const char *values[] = {hour, requests};
        err = bw_db_exec(db, arena, &stmt_add_requests, 2, values, NULL);
    }
    if (err == 0 && n_keys > 0) {
        /* Two array literals: "{id,...}" and "{at,...}". */
        char *ids = bw_arena_alloc(arena, n_keys * (BW_UUID_STR_LEN + 1) + 2);
        char *ats = bw_arena_alloc(arena, n_keys * 21 + 2);
        if (ids == NULL || ats == NULL) {
            err = BW_ENOMEM;
        } else {
            size_t oi = 0, oa = 0;
            ids[oi++] = '{';
            ats[oa++] = '{';
            for (size_t i = 0; i < n_keys; i++) {
                if (i > 0) {
                    ids[oi++] = ',';
                    ats[oa++] = ',';
                }
                memcpy(ids + oi, keys[i]->key_id, BW_UUID_STR_LEN);
                oi += BW_UUID_STR_LEN;
                oa += (size_t)snprintf(ats + oa, 21, "%lld", keys[i]->last_use);
            }
            memcpy(ids + oi, "}", 2);
            memcpy(ats + oa, "}", 2);
            const char *values[] = {ids, ats};
            err = bw_db_exec(db, arena, &stmt_keys_used, 2, values, NULL);
        }
    }
    if (err == 0)
        err = bw_db_exec(db, arena, &stmt_drop_old, 0, NULL, NULL);
    if (err != 0) {
        bw_db_rollback(db);
        return err;
    }
    return bw_db_commit(db);
}

/* Writes everything t holds, tenant by tenant (the counts and the keys
 * sorted by tenant, walked side by side), and empties it. */
static void write_tables(bw_usage_t *u, bw_db_t **db, tables_t *t, long long dropped)
{
    count_slot_t **counts = calloc(t->n_counts + 1, sizeof(*counts));
    key_slot_t **keys = calloc(t->n_keys + 1, sizeof(*keys));
    bw_arena_t *arena = bw_arena_create(4096);
    size_t nc = 0, nk = 0, failed = 0, tenants = 0;
    int err = counts != NULL && keys != NULL && arena != NULL ? 0 : BW_ENOMEM;
    if (err == 0 && *db == NULL && (t->n_counts > 0 || t->n_keys > 0))
        err = bw_db_open(u->database_url, usage_stmts, sizeof(usage_stmts) / sizeof(usage_stmts[0]),
                         0, db);
    for (size_t i = 0; err == 0 && i < BW_USAGE_CAPACITY; i++) {
        if (t->counts[i].tenant_id[0] != '\0')
            counts[nc++] = &t->counts[i];
        if (t->keys[i].key_id[0] != '\0')
            keys[nk++] = &t->keys[i];
    }
    if (err == 0) {
        qsort(counts, nc, sizeof(*counts), count_by_tenant);
        qsort(keys, nk, sizeof(*keys), key_by_tenant);
    }
    size_t ic = 0, ik = 0;
    while (err == 0 && (ic < nc || ik < nk)) {
        /* The next tenant in order, and its run in each list. */
        const char *tenant =
            ik == nk || (ic < nc && strcmp(counts[ic]->tenant_id, keys[ik]->tenant_id) <= 0)
                ? counts[ic]->tenant_id
                : keys[ik]->tenant_id;
        size_t ec = ic, ek = ik;
        while (ec < nc && strcmp(counts[ec]->tenant_id, tenant) == 0)
            ec++;
        while (ek < nk && strcmp(keys[ek]->tenant_id, tenant) == 0)
            ek++;
        tenants++;
        if (write_tenant(*db, arena, tenant, counts + ic, ec - ic, keys + ik, ek - ik) != 0)
            failed++;
        bw_arena_reset(arena);
        ic = ec;
        ik = ek;
    }
    /* Before any tenant was written (no connection, no memory), the whole
     * period is lost; else the tenants whose transaction failed. */
    if (err != 0)
        bw_log(BW_LOG_WARN, NULL,
               "could not write the usage of the last period (%s): its request counts and key "
               "uses are lost",
               bw_strerror(err));
    else if (failed > 0)
        bw_log(BW_LOG_WARN, NULL,
               "could not write the usage of %zu tenants (database error): their request counts "
               "and key uses of the last period are lost",
               failed);
    if (dropped > 0)
        bw_log(BW_LOG_WARN, NULL,
               "%lld requests were not counted: more than %d tenants or keys in one period",
               dropped, FILL_MAX);
    bw_log(BW_LOG_DEBUG, NULL, "usage of %zu tenants written", tenants - failed);
    tables_empty(t);
    free(counts);
    free(keys);
    bw_arena_destroy(arena);
}

/* Swaps the tables and writes the full ones. */
static void flush(bw_usage_t *u, bw_db_t **db)
{
    pthread_mutex_lock(&u->lock);
    tables_t *t = u->active;
    u->active = u->spare;
    u->spare = t;
    long long dropped = u->dropped;
    u->dropped = 0;
    u->full = 0;
    pthread_mutex_unlock(&u->lock);
    write_tables(u, db, t, dropped);
}

static void *usage_main(void *arg)
{
    bw_usage_t *u = arg;
    bw_db_t *db = NULL;
    pthread_mutex_lock(&u->lock);
    while (!u->stopping) {
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_sec += u->period_sec;
        while (!u->stopping && !u->full &&
               pthread_cond_timedwait(&u->wake, &u->lock, &next) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&u->lock);
        flush(u, &db);
        pthread_mutex_lock(&u->lock);
    }
    pthread_mutex_unlock(&u->lock);
    /* What came in while the last flush ran. */
    flush(u, &db);
    bw_db_close(db);
    return NULL;
}

int bw_usage_start(const char *database_url, long flush_sec, bw_usage_t **out)
{
    *out = NULL;
    if (flush_sec < 1)
        return BW_EINVAL;
    bw_usage_t *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return BW_ENOMEM;
    u->active = tables_new();
    u->spare = tables_new();
    u->database_url = database_url;
    u->period_sec = flush_sec;
    pthread_condattr_t attr;
    int ok = u->active != NULL && u->spare != NULL && pthread_condattr_init(&attr) == 0;
    if (ok) {
        ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&u->wake, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!ok) {
        tables_free(u->active);
        tables_free(u->spare);
        free(u);
        return BW_ENOMEM;
    }
    pthread_mutex_init(&u->lock, NULL);
    if (pthread_create(&u->thread, NULL, usage_main, u) != 0) {
        pthread_mutex_destroy(&u->lock);
        pthread_cond_destroy(&u->wake);
        tables_free(u->active);
        tables_free(u->spare);
        free(u);
        return BW_ENOMEM;
    }
    *out = u;
    return 0;
}

void bw_usage_stop(bw_usage_t *u)
{
    if (u == NULL)
        return;
    pthread_mutex_lock(&u->lock);
    u->stopping = 1;
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->thread, NULL);
    pthread_mutex_destroy(&u->lock);
    pthread_cond_destroy(&u->wake);
    tables_free(u->active);
    tables_free(u->spare);
    free(u);
}
