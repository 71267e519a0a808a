/*
 * The tenants' buckets in a common/bucket.h table that grows (a tenant's
 * bucket is a few dozen bytes); a bucket that has refilled to its burst is
 * indistinguishable from a new one, so nothing needs expiring for
 * correctness. The field values it reports follow the mapping ratelimit.h
 * describes.
 */
#include "ratelimit.h"

#include "bucket.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longer tenant ids (there are none: they are UUIDs) go uncounted. */
#define TENANT_MAX 40

struct bw_ratelimit {
    bw_buckets_t *buckets; /* NULL: the limit is off */
    char policy[BW_RATELIMIT_FIELD_MAX];
};

int bw_ratelimit_create(double rate, double burst, bw_ratelimit_t **out)
{
    *out = NULL;
    bw_ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return BW_ENOMEM;
    burst = burst < 1 ? 1 : burst;
    if (rate > 0) {
        /* The window the bucket takes to refill, and what it allows in any
         * such window: never more than a full bucket, never more than the
         * rate. */
        double window = fmax(1, ceil(burst / rate));
        double quota = fmin(floor(burst), floor(rate * window));
        snprintf(rl->policy, sizeof(rl->policy), "\"tenant\";q=%.0f;w=%.0f", fmax(quota, 1),
                 window);
        if (bw_buckets_create(rate, burst, BW_BUCKETS_GROW, 1024, &rl->buckets) != 0) {
            free(rl);
            return BW_ENOMEM;
        }
    }
    *out = rl;
    return 0;
}

void bw_ratelimit_destroy(bw_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    bw_buckets_destroy(rl->buckets);
    free(rl);
}

int bw_ratelimit_enabled(const bw_ratelimit_t *rl)
{
    return rl->buckets != NULL;
}

const char *bw_ratelimit_policy(const bw_ratelimit_t *rl)
{
    return rl->policy;
}

void bw_ratelimit_format(const bw_ratelimit_state_t *state, char *buf, size_t len)
{
    snprintf(buf, len, "\"tenant\";r=%ld;t=%ld", state->remaining, state->reset_sec);
}

int bw_ratelimit_take(bw_ratelimit_t *rl, const char *tenant_id, long long now_ns,
                      bw_ratelimit_state_t *state)
{
    size_t len = strlen(tenant_id);
    if (rl->buckets == NULL || len == 0 || len >= TENANT_MAX)
        return 0;
    bw_bucket_state_t bucket;
    int err = bw_buckets_take(rl->buckets, tenant_id, len, now_ns, &bucket);
    if (err != 0 && err != BW_ELIMIT)
        return 0; /* out of memory: fail open rather than refuse everyone */
    if (state != NULL) {
        state->remaining = bucket.remaining;
        state->reset_sec = bucket.wait_sec;
    }
    return err;
}
