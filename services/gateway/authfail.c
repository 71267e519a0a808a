/*
 * The failure buckets of authfail.h in one open-addressing table keyed by
 * 16 bytes (IPv4 as an IPv4-mapped IPv6 address, IPv6 cut to its /64).
 */
#include "authfail.h"

#include "status.h"

#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 8

typedef struct bucket {
    uint8_t key[16];
    int used;
    double tokens;
    long long last_ns;
} bucket_t;

struct bw_authfail {
    bucket_t *table; /* NULL: the limit is off */
    unsigned mask;
    double rate_per_sec, burst_size;
};

int bw_authfail_create(double per_sec, double burst, unsigned capacity_pow2, bw_authfail_t **out)
{
    *out = NULL;
    if (per_sec > 0 && (capacity_pow2 < 16 || (capacity_pow2 & (capacity_pow2 - 1)) != 0))
        return BW_EINVAL;
    bw_authfail_t *af = calloc(1, sizeof(*af));
    if (af == NULL)
        return BW_ENOMEM;
    af->rate_per_sec = per_sec;
    af->burst_size = burst < 1 ? 1 : burst;
    if (per_sec > 0) {
        af->table = calloc(capacity_pow2, sizeof(*af->table));
        if (af->table == NULL) {
            free(af);
            return BW_ENOMEM;
        }
        af->mask = capacity_pow2 - 1;
    }
    *out = af;
    return 0;
}

void bw_authfail_destroy(bw_authfail_t *af)
{
    if (af == NULL)
        return;
    free(af->table);
    free(af);
}

/* The bucket key of addr; 0, or -1 for a family without one. */
static int key_of(const struct sockaddr *addr, uint8_t key[16])
{
    memset(key, 0, 16);
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
        return 0;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memcpy(key, &in6->sin6_addr, 16);
        else
            memcpy(key, &in6->sin6_addr, 8);
        return 0;
    }
    return -1;
}

static unsigned hash(const uint8_t key[16])
{
    unsigned h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

static void refill(const bw_authfail_t *af, bucket_t *b, long long now_ns)
{
    double elapsed = (double)(now_ns - b->last_ns) / 1e9;
    if (elapsed > 0) {
        b->tokens = fmin(af->burst_size, b->tokens + elapsed * af->rate_per_sec);
        b->last_ns = now_ns;
    }
}

/* The bucket of key, or NULL; with create, a new full one, replacing the
 * fullest bucket of the probe sequence when it has no room. */
static bucket_t *find(bw_authfail_t *af, const uint8_t key[16], long long now_ns, int create)
{
    unsigned h = hash(key);
    bucket_t *victim = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        bucket_t *b = &af->table[(h + i) & af->mask];
        if (b->used && memcmp(b->key, key, 16) == 0)
            return b;
        if (!create)
            continue;
        if (!b->used) {
            if (victim == NULL || victim->used)
                victim = b;
            continue;
        }
        refill(af, b, now_ns);
        if (victim == NULL || (victim->used && b->tokens > victim->tokens))
            victim = b;
    }
    if (victim == NULL)
        return NULL;
    memcpy(victim->key, key, 16);
    victim->used = 1;
    victim->tokens = af->burst_size;
    victim->last_ns = now_ns;
    return victim;
}

int bw_authfail_check(bw_authfail_t *af, const struct sockaddr *addr, long long now_ns,
                      int *retry_after_sec)
{
    uint8_t key[16];
    if (af == NULL || af->table == NULL || key_of(addr, key) != 0)
        return 0;
    bucket_t *b = find(af, key, now_ns, 0);
    if (b == NULL)
        return 0;
    refill(af, b, now_ns);
    if (b->tokens >= 1)
        return 0;
    double wait = (1 - b->tokens) / af->rate_per_sec;
    *retry_after_sec = wait < 1 ? 1 : (int)ceil(wait);
    return BW_ELIMIT;
}

void bw_authfail_record(bw_authfail_t *af, const struct sockaddr *addr, long long now_ns)
{
    uint8_t key[16];
    if (af == NULL || af->table == NULL || key_of(addr, key) != 0)
        return;
    bucket_t *b = find(af, key, now_ns, 1);
    refill(af, b, now_ns);
    /* Failures resolved after the bucket ran dry (several in flight at
     * once) do not dig it deeper than empty. */
    b->tokens = b->tokens >= 1 ? b->tokens - 1 : 0;
}
