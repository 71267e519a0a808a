/*
 * What the gateway counts of its traffic, cheaply: authenticated requests
 * per tenant and hour (for the operator's list of tenants) and the last use
 * of each API key (lastUseTime). A request costs a hash-table update under
 * a mutex on the event loop, no database write. A thread writes what was
 * counted every flush period on a connection of its own: per tenant, one
 * transaction that adds the hour's count to tenancy.request_counts (so
 * several gateways add up), moves each used key's last_use_time forward,
 * and drops the tenant's counts older than two days. A key's last use is
 * thus written at most once per period per gateway, and is late by at most
 * one period. What could not be written (the database away) is dropped
 * with a warning: usage is a figure for the operator, not a bill.
 */
#ifndef BW_GW_USAGE_H
#define BW_GW_USAGE_H

typedef struct bw_usage bw_usage_t;

/* Tenants and keys held between two flushes; beyond, a request's use is
 * dropped (and counted as dropped in the log) until the next flush. */
#define BW_USAGE_CAPACITY 8192

/* Starts the flushing thread, which connects to database_url (borrowed;
 * must outlive the counter) as the gateway's role. Caller owns *out. */
int bw_usage_start(const char *database_url, long flush_sec, bw_usage_t **out);
/* Counts one request of tenant_id, made with key_id (NULL or "" for an
 * OIDC token). Any thread. Accepts a NULL counter (counting off). */
void bw_usage_record(bw_usage_t *usage, const char *tenant_id, const char *key_id);
/* Writes what is left, stops the thread, frees. Accepts NULL. */
void bw_usage_stop(bw_usage_t *usage);

#endif
