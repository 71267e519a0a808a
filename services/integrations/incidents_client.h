/*
 * What the integrations service asks the incidents service when a ticket
 * system reports a change (CreateIncident and AppendEvent), and the ticket
 * it opened for an incident (SetExternalRef). The workers call on blocking
 * gRPC channels (one per worker at a time, from a small pool, as
 * services/scoping/client/scoping_client.c does); the dispatcher calls
 * without blocking its loop, on the asynchronous client of common/rpc.h
 * (bw_incidents_async_t: a poller thread hands each reply to the loop, as
 * in the gateway). The call carries the
 * connection's tenant, a principal naming the connection, the role editor,
 * an Idempotency-Key (so that a retried event finds the incident its first
 * try made) and x-bulwark-origin (the connection, "jira:<id>"), which the
 * incidents service trusts from this process's identity only and stores
 * with the outbox event, so that the change is not sent back to where it
 * came from.
 */
#ifndef BW_INCIDENTS_CLIENT_H
#define BW_INCIDENTS_CLIENT_H

#include "rpc.h"

typedef struct bw_incidents_client bw_incidents_client_t;

/* A client for target ("host:port", copied) keeping up to pool_size idle
 * channels; tls borrowed, must outlive it. Caller owns *out. */
int bw_incidents_client_open(const bw_rpc_tls_t *tls, const char *target, int pool_size,
                             int timeout_ms, bw_incidents_client_t **out);
/* Accepts NULL. */
void bw_incidents_client_close(bw_incidents_client_t *client);

/* Who a call is made for. All borrowed. */
typedef struct bw_incidents_caller {
    const char *tenant_id;
    const char *principal;       /* "jira:<connection id>" */
    const char *origin;          /* the same: x-bulwark-origin */
    const char *request_id;      /* may be NULL */
    const char *idempotency_key; /* may be NULL */
} bw_incidents_caller_t;

/* Calls method ("CreateIncident", "AppendEvent", "SetExternalRef" or
 * "GetIncident") with request; 0 with *reply filled (any status; strings
 * and payload on arena), BW_EINVAL for another method, BW_EUNAVAIL when the
 * call could not be made (logged), BW_ENOMEM. */
int bw_incidents_client_call(bw_incidents_client_t *client, bw_arena_t *arena,
                             const bw_log_ctx_t *log, const char *method,
                             const ProtobufCMessage *request, const bw_incidents_caller_t *who,
                             bw_rpc_reply_t *reply);

/* Asynchronous calls on base's loop, to the client's target with its TLS
 * and timeout (client borrowed; must outlive it). The base must have been
 * made after evthread_use_pthreads(). Caller owns *out; close it on the
 * loop's thread, with the loop not running anything else. */
typedef struct bw_incidents_async bw_incidents_async_t;
int bw_incidents_async_open(const bw_incidents_client_t *client, struct event_base *base,
                            bw_incidents_async_t **out);
/* Cancels the calls in flight (their done runs here, with CANCELLED) and
 * frees everything. Accepts NULL. */
void bw_incidents_async_close(bw_incidents_async_t *async);
/* Starts method with request for who (copied); done(arg, reply) runs once
 * on the loop's thread, with any status (UNAVAILABLE when no answer came,
 * DEADLINE_EXCEEDED after the timeout). Not at all when this returns an
 * error: BW_EINVAL for another method, BW_ENOMEM, BW_EUNAVAIL. */
int bw_incidents_async_call(bw_incidents_async_t *async, const char *method,
                            const ProtobufCMessage *request, const bw_incidents_caller_t *who,
                            bw_rpc_done_fn done, void *arg);

#endif
