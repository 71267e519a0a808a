/*
 * Token buckets in an open-addressing table keyed by tenant id. The table
 * only grows (a tenant's bucket is a few dozen bytes); a bucket that has
 * refilled to its burst is indistinguishable from a new one, so nothing
 * needs expiring for correctness. The field values it reports follow the
 * mapping ratelimit.h describes.
 */
#include "ratelimit.h"

#include "status.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket {
    char tenant[40];
    double tokens;
    long long last_ns;
} bucket_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bucket_t *table;
static size_t cap, used;
static double rate_per_sec, burst_size;
static char policy[BW_RATELIMIT_FIELD_MAX];

int bw_ratelimit_init(double rate, double burst)
{
    rate_per_sec = rate;
    burst_size = burst < 1 ? 1 : burst;
    policy[0] = '\0';
    if (rate <= 0)
        return 0;
    /* The window the bucket takes to refill, and what it allows in any
     * such window: never more than a full bucket, never more than the rate. */
    double window = fmax(1, ceil(burst_size / rate));
    double quota = fmin(floor(burst_size), floor(rate * window));
    snprintf(policy, sizeof(policy), "\"tenant\";q=%.0f;w=%.0f", fmax(quota, 1), window);
    cap = 1024;
    used = 0;
    table = calloc(cap, sizeof(*table));
    return table == NULL ? BW_ENOMEM : 0;
}

void bw_ratelimit_free(void)
{
    free(table);
    table = NULL;
    policy[0] = '\0';
}

int bw_ratelimit_enabled(void)
{
    return rate_per_sec > 0;
}

const char *bw_ratelimit_policy(void)
{
    return policy;
}

void bw_ratelimit_format(const bw_ratelimit_state_t *state, char *buf, size_t len)
{
    snprintf(buf, len, "\"tenant\";r=%ld;t=%ld", state->remaining, state->reset_sec);
}

static size_t slot_of(const bucket_t *t, size_t n, const char *tenant)
{
    unsigned h = 2166136261u;
    for (const char *p = tenant; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    size_t i = h & (n - 1);
    while (t[i].tenant[0] != '\0' && strcmp(t[i].tenant, tenant) != 0)
        i = (i + 1) & (n - 1);
    return i;
}

static int grow(void)
{
    size_t ncap = cap * 2;
    bucket_t *n = calloc(ncap, sizeof(*n));
    if (n == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        if (table[i].tenant[0] != '\0')
            n[slot_of(n, ncap, table[i].tenant)] = table[i];
    free(table);
    table = n;
    cap = ncap;
    return 0;
}

int bw_ratelimit_take(const char *tenant_id, long long now_ns, bw_ratelimit_state_t *state)
{
    if (rate_per_sec <= 0 || strlen(tenant_id) >= sizeof(table[0].tenant))
        return 0;
    int err = 0;
    pthread_mutex_lock(&lock);
    if (used * 2 >= cap && grow() != 0) {
        pthread_mutex_unlock(&lock);
        return 0; /* out of memory: fail open rather than refuse everyone */
    }
    bucket_t *b = &table[slot_of(table, cap, tenant_id)];
    if (b->tenant[0] == '\0') {
        memcpy(b->tenant, tenant_id, strlen(tenant_id) + 1);
        b->tokens = burst_size;
        b->last_ns = now_ns;
        used++;
    }
    double elapsed = (double)(now_ns - b->last_ns) / 1e9;
    if (elapsed > 0) {
        b->tokens = fmin(burst_size, b->tokens + elapsed * rate_per_sec);
        b->last_ns = now_ns;
    }
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        err = BW_ELIMIT;
    if (state != NULL) {
        /* After a refusal there is less than one token: the wait for the
         * next one is the Retry-After. */
        double whole = floor(b->tokens);
        double wait = (whole + 1 - b->tokens) / rate_per_sec;
        state->remaining = (long)whole;
        state->reset_sec = wait < 1 ? 1 : (long)ceil(wait);
    }
    pthread_mutex_unlock(&lock);
    return err;
}
