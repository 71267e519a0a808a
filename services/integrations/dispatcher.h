/*
 * The dispatcher: a thread of its own with a libevent loop, one database
 * connection, the relay and the deliverer. Every BULWARK_WEBHOOK_POLL_MS it
 * relays what the outbox holds (batch after batch while batches come back
 * full) and fills the deliverer with due deliveries; finished attempts
 * refill it at once. Once an hour it prunes relayed events older than
 * BULWARK_OUTBOX_RETENTION_DAYS. Several processes may run one each: the
 * database decides who takes what (see relay.h, deliverer.h).
 */
#ifndef BW_DISPATCHER_H
#define BW_DISPATCHER_H

#include "integrations.h"
#include "metrics.h"

typedef struct bw_dispatcher bw_dispatcher_t;

/* Connects, then starts the thread. svc is borrowed and must outlive the
 * dispatcher. evthread_use_pthreads and curl_global_init must have run.
 * Caller owns *out (bw_dispatcher_stop). */
int bw_dispatcher_start(const bw_integrations_t *svc, bw_dispatcher_t **out);
/* Stops the loop (attempts in flight are aborted and their deliveries are
 * due again at once), joins the thread and frees everything. Accepts NULL. */
void bw_dispatcher_stop(bw_dispatcher_t *d);
/* The outbox's lag as last measured (once a second): for /metrics, from
 * any thread. */
void bw_dispatcher_metrics(const bw_dispatcher_t *d, bw_metrics_text_t *text);

#endif
