/*
 * Token buckets per connection; see inlimit.h. A common/bucket.h table that
 * sweeps (at most max_keys, full buckets forgotten, looked for at most once
 * a second: a sweep visits every bucket, and were it run for every new
 * connection while none is full, each of those takes would cost the whole
 * table under the mutex), behind one mutex: a take is a hash, a short probe
 * and a few additions, far below the cost of the event it admits.
 */
#include "inlimit.h"

#include "bucket.h"
#include "status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The longest Retry-After it reports, in seconds. */
#define RETRY_MAX 1000000

struct bw_inlimit {
    pthread_mutex_t lock;
    bw_buckets_t *buckets; /* NULL: no limit */
};

int bw_inlimit_create(double rate_per_sec, double burst, size_t max_keys, bw_inlimit_t **out)
{
    *out = NULL;
    if (rate_per_sec < 0 || (rate_per_sec > 0 && burst < 1) || max_keys == 0)
        return BW_EINVAL;
    bw_inlimit_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return BW_ENOMEM;
    int err = 0;
    if (rate_per_sec > 0)
        err = bw_buckets_create(rate_per_sec, burst, BW_BUCKETS_SWEEP, max_keys, &l->buckets);
    if (err == 0 && pthread_mutex_init(&l->lock, NULL) != 0)
        err = BW_ENOMEM;
    if (err != 0) {
        bw_buckets_destroy(l->buckets);
        free(l);
        return err;
    }
    *out = l;
    return 0;
}

void bw_inlimit_destroy(bw_inlimit_t *l)
{
    if (l == NULL)
        return;
    bw_buckets_destroy(l->buckets);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int bw_inlimit_take(bw_inlimit_t *l, const char *key, long long now_ns, int *retry_sec)
{
    size_t len = strlen(key);
    if (l == NULL || l->buckets == NULL || len == 0 || len >= BW_BUCKET_KEY_MAX)
        return 0;
    bw_bucket_state_t state;
    pthread_mutex_lock(&l->lock);
    int err = bw_buckets_take(l->buckets, key, len, now_ns, &state);
    pthread_mutex_unlock(&l->lock);
    if (err != BW_ELIMIT)
        return 0; /* counted, or no room to count it: open */
    *retry_sec = state.wait_sec > RETRY_MAX ? RETRY_MAX : (int)state.wait_sec;
    return BW_ELIMIT;
}
