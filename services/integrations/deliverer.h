/*
 * The deliverer: POSTs due deliveries with libcurl's multi interface,
 * driven by the dispatcher's libevent loop (curl_multi_socket_action with
 * one event per socket and one timer), never a thread per delivery.
 *
 * It claims due deliveries (integrations.claim_deliveries: at most
 * BULWARK_WEBHOOK_CONCURRENCY in flight in this process, at most
 * BULWARK_WEBHOOK_ENDPOINT_CONCURRENCY per endpoint in this process, a
 * resource's deliveries to an endpoint one after another, endpoints served
 * side by side). A claim leases up to four times those bounds; what cannot
 * start at once waits in memory, leased, and starts as attempts end, so
 * that one claim serves several rounds of completions. It signs each
 * (signature.h) with the endpoint's secret and, within 24 hours of a
 * rotation, the previous one, and sends it with a timeout, without
 * following redirects, connecting only to addresses the network policy
 * allows (netpolicy.h, checked on every address libcurl is about to
 * connect to). Each attempt is recorded when it ends: 2xx succeeds; 410
 * Gone fails the delivery and disables the endpoint; anything else is
 * retried on the schedule (retry.h), Retry-After honoured, until the
 * schedule runs out: then the delivery fails and the endpoint is disabled,
 * which emits webhook_endpoint.disabled.
 */
#ifndef BW_DELIVERER_H
#define BW_DELIVERER_H

#include "db.h"
#include "integrations.h"
#include "metrics.h"

#include <curl/curl.h>

struct event_base;

typedef struct bw_deliverer bw_deliverer_t;

/* Where the database tells the deliverers of an endpoint: its id when it
 * changed (updated, disabled, rotated or deleted: integrations migration
 * 0012), BW_DELIVERER_REPLAY_NOTICE and its id when one of its deliveries
 * was replayed (deliveries.c), which ends a hold the deliverer has on it. */
#define BW_DELIVERER_ENDPOINTS_CHANNEL "bulwark_webhook_endpoints"
#define BW_DELIVERER_REPLAY_NOTICE "replay "
typedef struct bw_deliverer_stats bw_deliverer_stats_t;

extern const bw_db_stmt_t *const bw_deliverer_stmts[];
extern const size_t bw_deliverer_n_stmts;

/* A deliverer on base's loop using db (both borrowed, used only on the
 * loop's thread). curl_global_init must have run. Caller owns *out. */
int bw_deliverer_create(struct event_base *base, bw_db_t *db, const bw_integrations_t *svc,
                        bw_deliverer_stats_t *stats, bw_deliverer_t **out);
/* Claims as many due deliveries as there is room for and starts them.
 * Returns how many started, or a negative BW_E* code. */
int bw_deliverer_fill(bw_deliverer_t *dv);
/* An event as a delivery's body carries it: its type, its time in RFC
 * 3339 UTC with microseconds, its data (borrowed). */
typedef struct bw_deliverer_event {
    const char *type, *time, *data;
} bw_deliverer_event_t;
/* The relay's hand-over: deliveries it made and leased itself, in the
 * transaction that relayed their events, start without a claim.
 * bw_deliverer_room says how many more of endpoint's it may hand over now
 * (never more than the claim's total room; 0 when stopping) and sets
 * *ahead to how many of the endpoint's are in flight or queued here; with
 * endpoint NULL it returns the room in all and leaves ahead alone.
 * bw_deliverer_lease_seconds is the lease a delivery needs with ahead of
 * its endpoint's attempts before it. bw_deliverer_hand queues res's rows,
 * shaped as integrations.claim_deliveries returns them but for the event's
 * type, time and data, which the relay has already and gives in events
 * (one per row), committed, and starts what may start. */
int bw_deliverer_room(const bw_deliverer_t *dv, const char *endpoint, int *ahead);
long bw_deliverer_lease_seconds(const bw_deliverer_t *dv, int ahead);
void bw_deliverer_hand(bw_deliverer_t *dv, const PGresult *res, const bw_deliverer_event_t *events);
/* Attempts in flight. */
int bw_deliverer_in_flight(const bw_deliverer_t *dv);
/* Aborts what is in flight, giving the leases back (the deliveries are due
 * again at once, for this or another process), and frees everything.
 * Accepts NULL. Call on the loop's thread, before the base is freed. */
void bw_deliverer_destroy(bw_deliverer_t *dv);

/* A request of another kind on the deliverer's libcurl multi handle and
 * loop: the REST calls to Jira and ServiceNow (tickets.c), so that there is
 * one HTTP client. The caller embeds it, sets easy up
 * (bw_netpolicy_curl_setup and its own options), owns easy, and gets done
 * on the loop's thread when the transfer ends, with libcurl's result. */
typedef struct bw_deliverer_request bw_deliverer_request_t;
struct bw_deliverer_request {
    int kind; /* set by bw_deliverer_add_request */
    CURL *easy;
    void (*done)(bw_deliverer_request_t *req, CURLcode code);
    bw_deliverer_request_t *prev, *next; /* the deliverer's */
};
/* Starts req (its easy and done set). 0, or BW_EINTERNAL when libcurl
 * refused it (done does not run). */
int bw_deliverer_add_request(bw_deliverer_t *dv, bw_deliverer_request_t *req);
/* Stops req if it is in flight; done does not run. */
void bw_deliverer_cancel_request(bw_deliverer_t *dv, bw_deliverer_request_t *req);

/* The outcome of one attempt, as recorded; pure, for tests. */
typedef enum bw_attempt_outcome {
    BW_ATTEMPT_SUCCEEDED,
    BW_ATTEMPT_RETRY,
    BW_ATTEMPT_FAILED, /* schedule exhausted: the endpoint is disabled */
    BW_ATTEMPT_GONE,   /* 410: failed, and the endpoint is disabled */
} bw_attempt_outcome_t;

/* How the database records an outcome: "SUCCEEDED", "RETRY" or "FAILED"
 * (GONE too), the values of the outcome parameter of
 * integrations.record_attempts and of the ticket jobs' record (tickets.c). */
const char *bw_attempt_outcome_state(bw_attempt_outcome_t outcome);

/* Attempts counted by what they came to, for /metrics: counted on one
 * thread, read from another (relaxed atomics). Zeroed memory counts none. */
typedef struct bw_attempt_counts {
    atomic_ullong succeeded, retrying, failed; /* failed: FAILED or GONE */
} bw_attempt_counts_t;

void bw_attempt_counts_add(bw_attempt_counts_t *counts, bw_attempt_outcome_t outcome);
/* Renders counts as the counter family name, one series per result
 * ("succeeded", "retrying", "failed"). */
void bw_attempt_counts_render(const bw_attempt_counts_t *counts, const char *name, const char *help,
                              bw_metrics_text_t *text);

/* What a deliverer shows on /metrics: updated on its loop's thread, read
 * from the metrics thread (relaxed atomics). The caller owns it; it must
 * outlive the deliverer. Zeroed memory is a fresh one. */
struct bw_deliverer_stats {
    bw_attempt_counts_t attempts;
    bw_metrics_hist_t latency; /* of every attempt, answered or not */
    atomic_int in_flight, queued, held_endpoints;
};

/* Renders stats as the bulwark_webhook_* families. */
void bw_deliverer_stats_render(const bw_deliverer_stats_t *stats, bw_metrics_text_t *text);

/* Decides what an attempt's answer means: status the HTTP status (0 when
 * none came), attempts_made the attempts of the current schedule including
 * this one, retry_after_sec the receiver's Retry-After (429 or 503), random
 * 32 random bits. *wait_ms gets the wait before the next attempt for
 * BW_ATTEMPT_RETRY. */
bw_attempt_outcome_t bw_deliverer_outcome(const bw_retry_schedule_t *schedule, long status,
                                          int attempts_made, long retry_after_sec, uint32_t random,
                                          long long *wait_ms);

/* Whether an attempt's answer (status as above) says the endpoint as a
 * whole cannot take deliveries now: no answer at all, 429, 502, 503 or
 * 504. The deliverer then holds the endpoint's other deliveries back for
 * the attempt's wait (at most a minute) instead of trying each. */
int bw_deliverer_unreachable(long status);

#endif
