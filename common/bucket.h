/*
 * Token buckets keyed by short byte strings: the one table behind the
 * gateway's per-tenant limit (ratelimit.c), its failed-authentication limit
 * per client address (authfail.c) and the integrations service's limit per
 * inbound connection (inlimit.c).
 *
 * Each bucket holds up to burst tokens and regains rate tokens a second; a
 * new key starts full. A bucket that has refilled to its burst is the same
 * as none, so a table may forget it. What a table does with a new key when
 * it has no room is its policy:
 *   BW_BUCKETS_GROW     the table doubles; it holds every key it is given
 *                       (bounded by what the caller keys it by).
 *   BW_BUCKETS_REPLACE  a fixed number of slots: the new key takes an empty
 *                       slot of its probe sequence (8 slots) or the fullest
 *                       bucket there, so a flood of new keys cannot push out
 *                       an emptied one.
 *   BW_BUCKETS_SWEEP    at most max_keys: the full buckets are forgotten,
 *                       looked for at most once a second (a search visits
 *                       every bucket); a key still without room goes
 *                       uncounted (BW_ELIMIT is never its answer).
 * Not thread-safe: the caller locks, or uses a table from one thread only.
 * Times are monotonic clock readings in nanoseconds.
 */
#ifndef BW_BUCKET_H
#define BW_BUCKET_H

#include <stddef.h>

/* The longest key, in bytes. */
#define BW_BUCKET_KEY_MAX 64

typedef enum bw_buckets_policy {
    BW_BUCKETS_GROW,
    BW_BUCKETS_REPLACE,
    BW_BUCKETS_SWEEP
} bw_buckets_policy_t;

/* A bucket after a take or a peek. */
typedef struct bw_bucket_state {
    long remaining; /* whole tokens left */
    long wait_sec;  /* seconds until one more whole token, rounded up, >= 1 */
} bw_bucket_state_t;

typedef struct bw_buckets bw_buckets_t;

/* A table of buckets of rate tokens a second (> 0) up to burst (>= 1).
 * size: GROW, the first number of slots; REPLACE, the slots (a power of two,
 * at least 16); SWEEP, max_keys (at least 1). Caller owns *out (free with
 * bw_buckets_destroy). 0, BW_EINVAL or BW_ENOMEM. */
int bw_buckets_create(double rate, double burst, bw_buckets_policy_t policy, size_t size,
                      bw_buckets_t **out);
/* Accepts NULL. */
void bw_buckets_destroy(bw_buckets_t *t);

/* Takes a token of key's bucket (len bytes, 1 to BW_BUCKET_KEY_MAX, copied):
 * 0, or BW_ELIMIT when it has none. state (may be NULL) is the bucket
 * afterwards. BW_ENOMEM when the table had no room for a new key (out of
 * memory, or a full SWEEP table): the key is not counted and state is left
 * as it was; BW_EINVAL for a bad len. */
int bw_buckets_take(bw_buckets_t *t, const void *key, size_t len, long long now_ns,
                    bw_bucket_state_t *state);
/* Whether key's bucket has a token, without taking one or making a bucket:
 * 0 (also for an unknown key), or BW_ELIMIT with state (may be NULL) set. */
int bw_buckets_peek(bw_buckets_t *t, const void *key, size_t len, long long now_ns,
                    bw_bucket_state_t *state);
/* Takes a token if there is one; an empty bucket stays empty (the spending
 * is never refused). 0, or as bw_buckets_take for a new key without room. */
int bw_buckets_spend(bw_buckets_t *t, const void *key, size_t len, long long now_ns);

#endif
