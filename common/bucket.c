/*
 * The buckets of bucket.h in one open-addressing table (linear probing,
 * FNV-1a). GROW and SWEEP tables keep at most half their slots in use, so a
 * probe sequence always ends at an empty slot; a REPLACE table looks at 8
 * slots and never deletes. A SWEEP drops the full buckets by moving the
 * others into a fresh array of the same size: it visits every slot anyway,
 * and the probe sequences stay whole without tombstones.
 */
#include "bucket.h"

#include "status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 8
#define SWEEP_PERIOD_NS 1000000000LL
/* Longer than any wait a caller reports (about 31 years). */
#define WAIT_MAX_SEC 1000000000L

typedef struct slot {
    uint8_t key[BW_BUCKET_KEY_MAX];
    uint8_t len; /* 0: empty */
    double tokens;
    long long last_ns; /* when tokens was right */
} slot_t;

struct bw_buckets {
    slot_t *slots;
    size_t cap, used;
    double rate, burst;
    bw_buckets_policy_t policy;
    size_t max_keys;         /* SWEEP */
    long long next_sweep_ns; /* SWEEP: a full table is not searched again before */
    int swept;               /* next_sweep_ns is set */
};

int bw_buckets_create(double rate, double burst, bw_buckets_policy_t policy, size_t size,
                      bw_buckets_t **out)
{
    *out = NULL;
    if (!(rate > 0) || !(burst >= 1) || size == 0)
        return BW_EINVAL;
    size_t cap = size;
    if (policy == BW_BUCKETS_REPLACE && (size < 16 || (size & (size - 1)) != 0))
        return BW_EINVAL;
    if (policy != BW_BUCKETS_REPLACE) {
        /* GROW: size slots rounded up to a power of two; SWEEP: grown as
         * keys come, up to twice max_keys. */
        size_t want = policy == BW_BUCKETS_GROW ? size : 16;
        for (cap = 16; cap < want; cap *= 2)
            if (cap > SIZE_MAX / 4)
                return BW_EINVAL;
    }
    bw_buckets_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return BW_ENOMEM;
    t->slots = calloc(cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return BW_ENOMEM;
    }
    t->cap = cap;
    t->rate = rate;
    t->burst = burst;
    t->policy = policy;
    t->max_keys = policy == BW_BUCKETS_SWEEP ? size : 0;
    *out = t;
    return 0;
}

void bw_buckets_destroy(bw_buckets_t *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t);
}

static size_t hash(const void *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (const uint8_t *p = key, *end = p + len; p < end; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static int same_key(const slot_t *s, const void *key, size_t len)
{
    return s->len == len && memcmp(s->key, key, len) == 0;
}

/* The bucket's tokens at now_ns, at most burst. */
static double refilled(const bw_buckets_t *t, const slot_t *s, long long now_ns)
{
    double elapsed = (double)(now_ns - s->last_ns) / 1e9;
    if (elapsed <= 0)
        return s->tokens;
    double tokens = s->tokens + elapsed * t->rate;
    return tokens > t->burst ? t->burst : tokens;
}

static void refill(const bw_buckets_t *t, slot_t *s, long long now_ns)
{
    if (now_ns > s->last_ns) {
        s->tokens = refilled(t, s, now_ns);
        s->last_ns = now_ns;
    }
}

/* GROW and SWEEP: key's slot, or the empty slot where it belongs. */
static slot_t *probe(slot_t *slots, size_t cap, const void *key, size_t len)
{
    size_t i = hash(key, len) & (cap - 1);
    while (slots[i].len != 0 && !same_key(&slots[i], key, len))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Moves the buckets into a new array of cap slots, leaving out the full
 * ones when drop_full (forgetting them changes nothing). */
static int rehash(bw_buckets_t *t, size_t cap, int drop_full, long long now_ns)
{
    slot_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return BW_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const slot_t *s = &t->slots[i];
        if (s->len == 0 || (drop_full && refilled(t, s, now_ns) >= t->burst))
            continue;
        *probe(slots, cap, s->key, s->len) = *s;
        used++;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->used = used;
    return 0;
}

/* REPLACE: key's slot, or NULL; with create, a new key takes the first
 * empty slot of its probe sequence, else the fullest bucket there. */
static slot_t *probe_replace(bw_buckets_t *t, const void *key, size_t len, long long now_ns,
                             int create)
{
    size_t h = hash(key, len);
    slot_t *victim = NULL;
    for (size_t i = 0; i < PROBES; i++) {
        slot_t *s = &t->slots[(h + i) & (t->cap - 1)];
        if (same_key(s, key, len))
            return s;
        if (!create)
            continue;
        if (s->len == 0) {
            if (victim == NULL || victim->len != 0)
                victim = s;
            continue;
        }
        refill(t, s, now_ns);
        if (victim == NULL || (victim->len != 0 && s->tokens > victim->tokens))
            victim = s;
    }
    if (victim != NULL)
        victim->len = 0; /* made anew by the caller */
    return victim;
}

/* Key's bucket, or NULL (for an unknown key without create, or a new one
 * without room). */
static slot_t *lookup(bw_buckets_t *t, const void *key, size_t len, long long now_ns, int create)
{
    slot_t *s;
    if (t->policy == BW_BUCKETS_REPLACE) {
        s = probe_replace(t, key, len, now_ns, create);
    } else {
        s = probe(t->slots, t->cap, key, len);
        if (s->len != 0 || !create)
            return s->len != 0 ? s : NULL;
        if (t->policy == BW_BUCKETS_SWEEP && t->used >= t->max_keys &&
            (!t->swept || now_ns >= t->next_sweep_ns)) {
            t->swept = 1;
            t->next_sweep_ns = now_ns + SWEEP_PERIOD_NS;
            if (rehash(t, t->cap, 1, now_ns) != 0)
                return NULL;
        }
        if (t->policy == BW_BUCKETS_SWEEP && t->used >= t->max_keys)
            return NULL;
        if ((t->used + 1) * 2 > t->cap && rehash(t, t->cap * 2, 0, now_ns) != 0)
            return NULL;
        s = probe(t->slots, t->cap, key, len);
        t->used++;
    }
    if (s == NULL || s->len != 0)
        return s;
    memcpy(s->key, key, len);
    s->len = (uint8_t)len;
    s->tokens = t->burst;
    s->last_ns = now_ns;
    return s;
}

/* Whole seconds, rounded up, at least 1 (no libm for one ceil). */
static long whole_seconds(double sec)
{
    if (sec >= (double)WAIT_MAX_SEC)
        return WAIT_MAX_SEC;
    long whole = (long)sec;
    whole += whole < sec;
    return whole < 1 ? 1 : whole;
}

static void describe(const bw_buckets_t *t, const slot_t *s, bw_bucket_state_t *state)
{
    if (state == NULL)
        return;
    /* The wait for the next whole token; after a refusal, the Retry-After. */
    long whole = s->tokens >= (double)WAIT_MAX_SEC ? WAIT_MAX_SEC : (long)s->tokens;
    state->remaining = whole;
    state->wait_sec = whole_seconds(((double)whole + 1 - s->tokens) / t->rate);
}

/* Key's bucket, made when new, refilled to now_ns, into *out: 0, BW_EINVAL
 * for a bad len, or BW_ENOMEM when a new key has no room. */
static int counted(bw_buckets_t *t, const void *key, size_t len, long long now_ns, slot_t **out)
{
    if (len == 0 || len > BW_BUCKET_KEY_MAX)
        return BW_EINVAL;
    slot_t *s = lookup(t, key, len, now_ns, 1);
    if (s == NULL)
        return BW_ENOMEM;
    refill(t, s, now_ns);
    *out = s;
    return 0;
}

int bw_buckets_take(bw_buckets_t *t, const void *key, size_t len, long long now_ns,
                    bw_bucket_state_t *state)
{
    slot_t *s;
    int err = counted(t, key, len, now_ns, &s);
    if (err != 0)
        return err;
    if (s->tokens >= 1)
        s->tokens -= 1;
    else
        err = BW_ELIMIT;
    describe(t, s, state);
    return err;
}

int bw_buckets_peek(bw_buckets_t *t, const void *key, size_t len, long long now_ns,
                    bw_bucket_state_t *state)
{
    if (len == 0 || len > BW_BUCKET_KEY_MAX)
        return BW_EINVAL;
    slot_t *s = lookup(t, key, len, now_ns, 0);
    if (s == NULL)
        return 0;
    refill(t, s, now_ns);
    if (s->tokens >= 1)
        return 0;
    describe(t, s, state);
    return BW_ELIMIT;
}

int bw_buckets_spend(bw_buckets_t *t, const void *key, size_t len, long long now_ns)
{
    slot_t *s;
    int err = counted(t, key, len, now_ns, &s);
    if (err != 0)
        return err;
    /* Spending after the bucket ran dry (several failures in flight at once)
     * does not dig it deeper than empty. */
    s->tokens = s->tokens >= 1 ? s->tokens - 1 : 0;
    return 0;
}
