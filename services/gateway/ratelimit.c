/*
 * Token buckets in an open-addressing table keyed by tenant id. The table
 * only grows (a tenant's bucket is a few dozen bytes); a bucket that has
 * refilled to its burst is indistinguishable from a new one, so nothing
 * needs expiring for correctness. The field values it reports follow the
 * mapping ratelimit.h describes.
 */
#include "ratelimit.h"

#include "ids.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket {
    char tenant[40];
    double tokens;
    long long last_ns;
} bucket_t;

struct bw_ratelimit {
    bucket_t *table;
    size_t cap, used;
    double rate_per_sec, burst_size;
    char policy[BW_RATELIMIT_FIELD_MAX];
};

int bw_ratelimit_create(double rate, double burst, bw_ratelimit_t **out)
{
    *out = NULL;
    bw_ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return BW_ENOMEM;
    rl->rate_per_sec = rate;
    rl->burst_size = burst < 1 ? 1 : burst;
    if (rate > 0) {
        /* The window the bucket takes to refill, and what it allows in any
         * such window: never more than a full bucket, never more than the
         * rate. */
        double window = fmax(1, ceil(rl->burst_size / rate));
        double quota = fmin(floor(rl->burst_size), floor(rate * window));
        snprintf(rl->policy, sizeof(rl->policy), "\"tenant\";q=%.0f;w=%.0f", fmax(quota, 1),
                 window);
        rl->cap = 1024;
        rl->table = calloc(rl->cap, sizeof(*rl->table));
    }
    if (rate > 0 && rl->table == NULL) {
        free(rl->table);
        free(rl);
        return BW_ENOMEM;
    }
    *out = rl;
    return 0;
}

void bw_ratelimit_destroy(bw_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    free(rl->table);
    free(rl);
}

int bw_ratelimit_enabled(const bw_ratelimit_t *rl)
{
    return rl->rate_per_sec > 0;
}

const char *bw_ratelimit_policy(const bw_ratelimit_t *rl)
{
    return rl->policy;
}

void bw_ratelimit_format(const bw_ratelimit_state_t *state, char *buf, size_t len)
{
    snprintf(buf, len, "\"tenant\";r=%ld;t=%ld", state->remaining, state->reset_sec);
}

static size_t slot_of(const bucket_t *t, size_t n, const char *tenant)
{
    size_t i = bw_fnv1a(tenant) & (n - 1);
    while (t[i].tenant[0] != '\0' && strcmp(t[i].tenant, tenant) != 0)
        i = (i + 1) & (n - 1);
    return i;
}

static int grow(bw_ratelimit_t *rl)
{
    size_t ncap = rl->cap * 2;
    bucket_t *n = calloc(ncap, sizeof(*n));
    if (n == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < rl->cap; i++)
        if (rl->table[i].tenant[0] != '\0')
            n[slot_of(n, ncap, rl->table[i].tenant)] = rl->table[i];
    free(rl->table);
    rl->table = n;
    rl->cap = ncap;
    return 0;
}

int bw_ratelimit_take(bw_ratelimit_t *rl, const char *tenant_id, long long now_ns,
                      bw_ratelimit_state_t *state)
{
    if (rl->rate_per_sec <= 0 || strlen(tenant_id) >= sizeof(rl->table[0].tenant))
        return 0;
    int err = 0;
    if (rl->used * 2 >= rl->cap && grow(rl) != 0)
        return 0; /* out of memory: fail open rather than refuse everyone */
    bucket_t *b = &rl->table[slot_of(rl->table, rl->cap, tenant_id)];
    if (b->tenant[0] == '\0') {
        memcpy(b->tenant, tenant_id, strlen(tenant_id) + 1);
        b->tokens = rl->burst_size;
        b->last_ns = now_ns;
        rl->used++;
    }
    double elapsed = (double)(now_ns - b->last_ns) / 1e9;
    if (elapsed > 0) {
        b->tokens = fmin(rl->burst_size, b->tokens + elapsed * rl->rate_per_sec);
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
        double wait = (whole + 1 - b->tokens) / rl->rate_per_sec;
        state->remaining = (long)whole;
        state->reset_sec = wait < 1 ? 1 : (long)ceil(wait);
    }
    return err;
}
