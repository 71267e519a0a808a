/*
 * Token buckets per connection; see inlimit.h. A chained hash table keyed by
 * the connection id, under one mutex: a take is a hash, a short chain walk
 * and a few additions, far below the cost of the event it admits. A full
 * table is swept for full buckets at most once a second: a sweep visits
 * every bucket, and were it run for every new connection while none is
 * full, each of those takes would cost the whole table under the mutex.
 */
#include "inlimit.h"

#include "status.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_HEADS 1024
#define KEY_MAX 64
#define SWEEP_PERIOD_NS 1000000000LL

typedef struct bucket {
    struct bucket *next;
    char key[KEY_MAX];
    double tokens;
    long long at_ns; /* when tokens was right */
} bucket_t;

struct bw_inlimit {
    pthread_mutex_t lock;
    double rate, burst;
    size_t max_keys, n_keys;
    long long next_sweep_ns; /* a full table is not swept again before */
    int swept;               /* next_sweep_ns is set */
    bucket_t *heads[N_HEADS];
};

int bw_inlimit_create(double rate_per_sec, double burst, size_t max_keys, bw_inlimit_t **out)
{
    *out = NULL;
    if (rate_per_sec < 0 || (rate_per_sec > 0 && burst < 1) || max_keys == 0)
        return BW_EINVAL;
    bw_inlimit_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return BW_ENOMEM;
    if (pthread_mutex_init(&l->lock, NULL) != 0) {
        free(l);
        return BW_ENOMEM;
    }
    l->rate = rate_per_sec;
    l->burst = burst;
    l->max_keys = max_keys;
    *out = l;
    return 0;
}

void bw_inlimit_destroy(bw_inlimit_t *l)
{
    if (l == NULL)
        return;
    for (size_t h = 0; h < N_HEADS; h++)
        for (bucket_t *b = l->heads[h], *next; b != NULL; b = next) {
            next = b->next;
            free(b);
        }
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static size_t head_of(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h % N_HEADS;
}

/* The bucket's tokens at now_ns, at most burst. */
static double refilled(const bw_inlimit_t *l, const bucket_t *b, long long now_ns)
{
    double t = b->tokens + (double)(now_ns - b->at_ns) / 1e9 * l->rate;
    return t > l->burst ? l->burst : t;
}

/* Drops the buckets that are full again: forgetting them changes nothing. */
static void drop_full(bw_inlimit_t *l, long long now_ns)
{
    for (size_t h = 0; h < N_HEADS; h++)
        for (bucket_t **p = &l->heads[h]; *p != NULL;) {
            bucket_t *b = *p;
            if (refilled(l, b, now_ns) >= l->burst) {
                *p = b->next;
                free(b);
                l->n_keys--;
            } else {
                p = &b->next;
            }
        }
}

int bw_inlimit_take(bw_inlimit_t *l, const char *key, long long now_ns, int *retry_sec)
{
    if (l == NULL || l->rate <= 0 || strlen(key) >= KEY_MAX)
        return 0;
    int err = 0;
    pthread_mutex_lock(&l->lock);
    size_t h = head_of(key);
    bucket_t *b = l->heads[h];
    while (b != NULL && strcmp(b->key, key) != 0)
        b = b->next;
    if (b == NULL) {
        if (l->n_keys >= l->max_keys && (!l->swept || now_ns >= l->next_sweep_ns)) {
            drop_full(l, now_ns);
            l->swept = 1;
            l->next_sweep_ns = now_ns + SWEEP_PERIOD_NS;
        }
        if (l->n_keys >= l->max_keys || (b = calloc(1, sizeof(*b))) == NULL)
            goto out; /* no room to count it: open */
        memcpy(b->key, key, strlen(key) + 1);
        b->tokens = l->burst;
        b->at_ns = now_ns;
        b->next = l->heads[h];
        l->heads[h] = b;
        l->n_keys++;
    }
    b->tokens = refilled(l, b, now_ns);
    b->at_ns = now_ns;
    if (b->tokens >= 1) {
        b->tokens -= 1;
    } else {
        /* Whole seconds, rounded up (no libm for one ceil). */
        double wait = (1 - b->tokens) / l->rate;
        int whole = wait < 1e6 ? (int)wait : 1000000;
        *retry_sec = whole < 1 ? 1 : whole + (whole < wait);
        err = BW_ELIMIT;
    }
out:
    pthread_mutex_unlock(&l->lock);
    return err;
}
