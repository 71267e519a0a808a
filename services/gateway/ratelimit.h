/*
 * Per-tenant request rate limit: a token bucket per tenant (rate tokens per
 * second, up to burst). main.c makes the gateway's one limiter; it is used
 * from the event loop thread only, so it takes no lock. A request that
 * finds the bucket empty is refused with the number of seconds after which
 * one token will be there (Retry-After).
 *
 * The limit is advertised with the RateLimit-Policy and RateLimit fields of
 * the IETF httpapi draft (draft-ietf-httpapi-ratelimit-headers-11), under
 * the policy name "tenant" (the partition is the credential's tenant):
 *   RateLimit-Policy: "tenant";q=<quota>;w=<window seconds>
 *   RateLimit: "tenant";r=<requests available now>;t=<seconds>
 * The policy describes the bucket as a window a client can keep to without
 * ever being refused: w is the time the bucket takes to refill from empty
 * (at least 1 s), q the requests it allows in any w seconds (the burst, or
 * rate * w when that is less). r is the whole tokens left after this
 * request; t the seconds until the next token comes back (at least 1, and
 * on a refusal the same as Retry-After).
 */
#ifndef BW_GW_RATELIMIT_H
#define BW_GW_RATELIMIT_H

#include <stddef.h>

/* Room for a RateLimit or RateLimit-Policy field value. */
#define BW_RATELIMIT_FIELD_MAX 64

/* A tenant's bucket after bw_ratelimit_take. */
typedef struct bw_ratelimit_state {
    long remaining; /* r: whole tokens left */
    long reset_sec; /* t: seconds until one more token is there, >= 1 */
} bw_ratelimit_state_t;

typedef struct bw_ratelimit bw_ratelimit_t;

/* A limiter of rate tokens per second up to burst for each tenant (caller
 * owns; free with bw_ratelimit_destroy); rate 0 disables the limit. 0 or
 * BW_ENOMEM. */
int bw_ratelimit_create(double rate, double burst, bw_ratelimit_t **out);
/* Accepts NULL. */
void bw_ratelimit_destroy(bw_ratelimit_t *rl);
/* Whether the limit is on. */
int bw_ratelimit_enabled(const bw_ratelimit_t *rl);
/* Takes one token of tenant's bucket: 0, or BW_ELIMIT when there is none
 * (the state's reset_sec is then the Retry-After). state may be NULL; it is
 * left untouched when the limit is off. now_ns is a monotonic clock
 * reading. */
int bw_ratelimit_take(bw_ratelimit_t *rl, const char *tenant_id, long long now_ns,
                      bw_ratelimit_state_t *state);
/* The RateLimit-Policy field value, "" when the limit is off. Borrowed,
 * valid until bw_ratelimit_destroy. */
const char *bw_ratelimit_policy(const bw_ratelimit_t *rl);
/* Writes the RateLimit field value of state into buf (at least
 * BW_RATELIMIT_FIELD_MAX bytes). */
void bw_ratelimit_format(const bw_ratelimit_state_t *state, char *buf, size_t len);

#endif
