/*
 * Per-tenant request rate limit: a token bucket per tenant (rate tokens per
 * second, up to burst), shared by every thread of the gateway under one
 * mutex. A request that finds the bucket empty is refused with the number
 * of seconds after which one token will be there (Retry-After).
 */
#ifndef BW_GW_RATELIMIT_H
#define BW_GW_RATELIMIT_H

/* rate 0 disables the limit. */
int bw_ratelimit_init(double rate, double burst);
void bw_ratelimit_free(void);
/* Takes one token of tenant's bucket: 0, or BW_ELIMIT with *retry_after_sec
 * set (at least 1). now_ns is a monotonic clock reading. */
int bw_ratelimit_take(const char *tenant_id, long long now_ns, int *retry_after_sec);

#endif
