/*
 * Random bytes for ids; see random.h.
 *
 * Every id used to cost a call of OpenSSL's RAND_bytes, about 2.3 us here
 * whatever its size (its check for a fork alone is a getpid system call):
 * a write makes three ids, a webhook delivery one, and in the
 * integrations process those calls were a tenth of its CPU. getrandom(2)
 * of 256 bytes costs about 1.5 us, so 8 bytes from the buffer cost about
 * 0.05. A forked child never hands out its parent's bytes: pthread_atfork
 * moves the generation on in the child, and a buffer of an older
 * generation is refilled before use.
 */
#include "random.h"

#include "status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

/* getrandom(2) returns up to 256 bytes whole, never cut short or failed
 * with EINTR by a signal. */
#define POOL 256

static atomic_uint generation;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static void forked(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_relaxed);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, forked);
}

int bw_random_pooled(uint8_t *buf, size_t n)
{
    static _Thread_local uint8_t pool[POOL];
    static _Thread_local size_t left;
    static _Thread_local unsigned pool_generation;
    if (n > POOL)
        return BW_EINVAL;
    pthread_once(&watch_once, watch_forks);
    unsigned now = atomic_load_explicit(&generation, memory_order_relaxed);
    if (left < n || pool_generation != now) {
        if (getrandom(pool, POOL, 0) != (ssize_t)POOL) {
            left = 0;
            return BW_EINTERNAL;
        }
        left = POOL;
        pool_generation = now;
    }
    uint8_t *from = pool + POOL - left;
    memcpy(buf, from, n);
    memset(from, 0, n);
    left -= n;
    return 0;
}

uint64_t bw_random_u64(void)
{
    uint64_t v;
    return bw_random_pooled((uint8_t *)&v, sizeof(v)) == 0 ? v : 0;
}
