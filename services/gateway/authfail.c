/*
 * The failure buckets of authfail.h in a common/bucket.h table of fixed
 * size (a new address replaces the fullest bucket of its probe sequence),
 * keyed by the client address key of peers.h.
 */
#include "authfail.h"

#include "bucket.h"
#include "peers.h"
#include "status.h"

#include <stdint.h>
#include <stdlib.h>

struct bw_authfail {
    bw_buckets_t *buckets; /* NULL: the limit is off */
};

int bw_authfail_create(double per_sec, double burst, unsigned capacity_pow2, bw_authfail_t **out)
{
    *out = NULL;
    bw_authfail_t *af = calloc(1, sizeof(*af));
    if (af == NULL)
        return BW_ENOMEM;
    if (per_sec > 0) {
        int err = bw_buckets_create(per_sec, burst < 1 ? 1 : burst, BW_BUCKETS_REPLACE,
                                    capacity_pow2, &af->buckets);
        if (err != 0) {
            free(af);
            return err;
        }
    }
    *out = af;
    return 0;
}

void bw_authfail_destroy(bw_authfail_t *af)
{
    if (af == NULL)
        return;
    bw_buckets_destroy(af->buckets);
    free(af);
}

int bw_authfail_check(bw_authfail_t *af, const struct sockaddr *addr, long long now_ns,
                      int *retry_after_sec)
{
    uint8_t key[BW_PEER_KEY_LEN];
    if (af == NULL || af->buckets == NULL || bw_peer_key(addr, key) != 0)
        return 0;
    bw_bucket_state_t state;
    if (bw_buckets_peek(af->buckets, key, sizeof(key), now_ns, &state) != BW_ELIMIT)
        return 0;
    *retry_after_sec = (int)state.wait_sec; /* at most about 31 years */
    return BW_ELIMIT;
}

void bw_authfail_record(bw_authfail_t *af, const struct sockaddr *addr, long long now_ns)
{
    uint8_t key[BW_PEER_KEY_LEN];
    if (af == NULL || af->buckets == NULL || bw_peer_key(addr, key) != 0)
        return;
    /* A REPLACE table always has room: nothing to fail. */
    (void)bw_buckets_spend(af->buckets, key, sizeof(key), now_ns);
}
