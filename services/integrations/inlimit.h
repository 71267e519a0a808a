/*
 * The rate limit of the inbound routes (POST /v1/integrations/jira/{id}/events
 * and .../servicenow/...): a token bucket per connection, in this process's
 * memory. The routes take no API key, so the gateway's per-tenant limit does
 * not apply to them; a connection belongs to one tenant, so a limit per
 * connection bounds what a tenant's ticket system (or a leaked secret) can
 * make Bulwark do. Only requests whose signature or token matched take a
 * token: a stranger without the secret cannot spend a connection's budget
 * (the gateway limits its failed attempts per address instead).
 *
 * Each bucket holds up to burst tokens and regains rate_per_sec a second.
 * With several integrations processes, each has its own buckets: the limit
 * a connection sees is the sum over the replicas its traffic reaches.
 * Thread-safe (one mutex); at most max_keys buckets (a common/bucket.h
 * table), full ones dropped first when the table is full (looked for at
 * most once a second: a search visits every bucket, so a full table costs
 * one search a second at most, not one per new connection), and the limit
 * fails open beyond that rather than refuse a connection it has no room to
 * count.
 */
#ifndef BW_INLIMIT_H
#define BW_INLIMIT_H

#include <stddef.h>

typedef struct bw_inlimit bw_inlimit_t;

/* rate_per_sec 0: no limit (every take succeeds). Caller owns *out. BW_EINVAL
 * for a negative rate or a burst below 1 with a rate, BW_ENOMEM. */
int bw_inlimit_create(double rate_per_sec, double burst, size_t max_keys, bw_inlimit_t **out);
/* Accepts NULL. */
void bw_inlimit_destroy(bw_inlimit_t *limit);

/* Takes a token of key's bucket (a connection id, copied) at now_ns (a
 * monotonic clock): 0, or BW_ELIMIT with *retry_sec, the whole seconds until
 * a token is back (at least 1). A NULL limit allows everything. */
int bw_inlimit_take(bw_inlimit_t *limit, const char *key, long long now_ns, int *retry_sec);

#endif
