/*
 * What the integrations service's handlers and its dispatcher share: the
 * settings read at start-up, parsed once. Immutable after start-up, so the
 * worker threads and the dispatcher thread read it without locks.
 */
#ifndef BW_INTEGRATIONS_H
#define BW_INTEGRATIONS_H

#include "db.h"
#include "netpolicy.h"
#include "rpc.h"
#include "retry.h"
#include "seal.h"

struct bw_dispatcher;
struct bw_incidents_client;
struct bw_inlimit;

typedef struct bw_integrations {
    bw_seal_keyring_t seal_keys; /* BULWARK_SECRETS_KEY and _PREVIOUS */
    bw_netpolicy_t netpolicy;    /* BULWARK_WEBHOOK_ALLOWED_CIDRS */
    bw_retry_schedule_t retry;   /* BULWARK_WEBHOOK_RETRY_SECONDS */
    long timeout_ms;             /* one attempt, connection included */
    long concurrency;            /* attempts in flight in this process */
    long endpoint_concurrency;   /* attempts in flight per endpoint */
    long poll_ms;                /* how often the outbox and due deliveries are looked at */
    long outbox_retention_days;  /* relayed events kept in bulwark.outbox */
    long retention_days;         /* the history kept (retention.h) */
    const char *database_url;    /* borrowed from the environment */
    struct bw_dispatcher *dispatcher;
    struct bw_incidents_client *incidents; /* where tickets become incidents */
    struct bw_inlimit *inbound_limit;      /* per connection (internally locked) */
    long inbound_per_min;                  /* its rate, for messages */
    long test_concurrency;                 /* connection tests in flight at most */
} bw_integrations_t;

/* Runs insert (values as its parameters, *res its rows) after taking the
 * tenant's lock on creating kind ("webhook_endpoints", "connections"), in
 * a transaction of its own within the request's: an insert that checks a
 * cap per tenant by counting sees every earlier creator's row. One round
 * trip. Returns as bw_db_exec. Defined in endpoints.c, with its statement
 * (bw_integrations_stmt_create_lock, prepared with the endpoints'). */
int bw_integrations_insert_capped(bw_call_t *call, const char *kind, const bw_db_stmt_t *insert,
                                  int n_values, const char *const *values, PGresult **res);
extern const bw_db_stmt_t bw_integrations_stmt_create_lock;

/* The context a webhook endpoint's secrets are sealed for. */
#define BW_ENDPOINT_SEAL_CONTEXT_LEN 128
void bw_integrations_seal_context(const char *tenant_id, const char *endpoint_id,
                                  char out[BW_ENDPOINT_SEAL_CONTEXT_LEN]);

#endif
