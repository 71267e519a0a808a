/*
 * Client address keys and the count of connections per address; see
 * peers.h. Linear probing in a power-of-two table at most half full;
 * removal shifts the entries after it back (no tombstones), so a probe
 * never walks further than the run its key hashes into.
 */
#include "peers.h"

#include "random.h"
#include "status.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint8_t key[BW_PEER_KEY_LEN];
    unsigned n; /* 0: free */
} slot_t;

struct bw_peers {
    slot_t *slots;
    size_t mask; /* slots - 1 */
    unsigned shift;
    size_t used, max_used;
    uint64_t mul_hi, mul_lo; /* random and odd */
};

int bw_peer_key(const struct sockaddr *addr, uint8_t key[BW_PEER_KEY_LEN])
{
    memset(key, 0, BW_PEER_KEY_LEN);
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
        return 0;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memcpy(key, &in6->sin6_addr, BW_PEER_KEY_LEN);
        else
            memcpy(key, &in6->sin6_addr, 8);
        return 0;
    }
    return -1;
}

int bw_peers_create(size_t max_addresses, bw_peers_t **out)
{
    *out = NULL;
    if (max_addresses < 1 || max_addresses > (SIZE_MAX / sizeof(slot_t)) / 4)
        return BW_EINVAL;
    bw_peers_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return BW_ENOMEM;
    size_t n = 16;
    unsigned bits = 4;
    while (n < 2 * max_addresses) {
        n *= 2;
        bits++;
    }
    p->slots = calloc(n, sizeof(slot_t));
    if (p->slots == NULL) {
        free(p);
        return BW_ENOMEM;
    }
    p->mask = n - 1;
    p->shift = 64 - bits;
    p->max_used = max_addresses;
    p->mul_hi = bw_random_u64() | 1;
    p->mul_lo = bw_random_u64() | 1;
    *out = p;
    return 0;
}

void bw_peers_free(bw_peers_t *p)
{
    if (p == NULL)
        return;
    free(p->slots);
    free(p);
}

/* Multiply-shift over the key's two halves, the top bits taken. */
static size_t home_of(const bw_peers_t *p, const uint8_t key[BW_PEER_KEY_LEN])
{
    uint64_t hi, lo;
    memcpy(&hi, key, 8);
    memcpy(&lo, key + 8, 8);
    return (size_t)((hi * p->mul_hi + lo * p->mul_lo) >> p->shift);
}

/* The slot holding key, or the free slot where it would go. */
static size_t find(const bw_peers_t *p, const uint8_t key[BW_PEER_KEY_LEN])
{
    size_t i = home_of(p, key);
    while (p->slots[i].n != 0 && memcmp(p->slots[i].key, key, BW_PEER_KEY_LEN) != 0)
        i = (i + 1) & p->mask;
    return i;
}

int bw_peers_take(bw_peers_t *p, const uint8_t key[BW_PEER_KEY_LEN])
{
    size_t i = find(p, key);
    slot_t *s = &p->slots[i];
    if (s->n == 0) {
        if (p->used >= p->max_used)
            return BW_ELIMIT;
        memcpy(s->key, key, BW_PEER_KEY_LEN);
        p->used++;
    }
    s->n++;
    return 0;
}

void bw_peers_give(bw_peers_t *p, const uint8_t key[BW_PEER_KEY_LEN])
{
    size_t i = find(p, key);
    if (p->slots[i].n == 0 || --p->slots[i].n > 0)
        return;
    p->used--;
    /* Shift back each later entry of the run that may sit at i. */
    for (size_t j = (i + 1) & p->mask; p->slots[j].n != 0; j = (j + 1) & p->mask) {
        size_t home = home_of(p, p->slots[j].key);
        /* Whether home lies cyclically in (i, j]: then the entry stays. */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        p->slots[i] = p->slots[j];
        p->slots[j].n = 0;
        i = j;
    }
}

unsigned bw_peers_count(const bw_peers_t *p, const uint8_t key[BW_PEER_KEY_LEN])
{
    return p->slots[find(p, key)].n;
}
