/*
 * The write path every service shares: a method flagged BW_RPC_WRITE runs
 * in one request transaction (see db.h) together with its audit row and,
 * when the client sent an Idempotency-Key, the reply stored for retries.
 * A retry with the same key and the same request gets the stored reply; the
 * same key with another request is refused (IDEMPOTENCY_KEY_REUSED, 422);
 * a key whose first request is still running is refused
 * (IDEMPOTENCY_KEY_IN_FLIGHT, 409). A method flagged BW_RPC_SECRET_REPLY
 * keeps no reply: its replay is refused (SECRET_SHOWN_ONCE, 409), so a
 * secret is never stored and never shown twice. Keys expire after 24 hours,
 * and the expired records go by bw_request_purge, which the services run
 * periodically (service.c). A failed
 * write leaves nothing but its audit row, written after the rollback.
 * Reads run their handler unchanged.
 */
#ifndef BW_REQUEST_H
#define BW_REQUEST_H

#include "db.h"
#include "rpc.h"

/* The statements this module runs; every worker connection prepares them. */
extern const bw_db_stmt_t *const bw_request_stmts[];
extern const size_t bw_request_n_stmts;

/* The interceptor for bw_rpc_server_opts_t.intercept. The call's worker
 * data must be a bw_service_worker_t (see service.h). */
int bw_request_intercept(bw_call_t *call, const bw_rpc_method_t *method,
                         const ProtobufCMessage *request, ProtobufCMessage **response);
/* For bw_rpc_server_opts_t.ahead: asks each method's ahead function for
 * its call's first read and runs them on the worker's connection in one
 * round trip (bw_db_ahead_run); bw_request_intercept then lets the call's
 * handler take its answer. */
void bw_request_ahead(void *worker_data, bw_call_t *const *calls,
                      const bw_rpc_method_t *const *methods,
                      const ProtobufCMessage *const *requests, int n);

/* Deletes the idempotency records of every tenant that are older than 24
 * hours, on a connection of its own to database_url (borrowed), opened for
 * this call and closed before it returns. The services' roles cannot delete
 * records themselves: the deletion runs in bulwark.purge_idempotency_keys(),
 * whose owner sees only expired records. Then runs each of the n_more
 * statements of more (borrowed; each "SELECT <function>()" of a service's
 * own cross-tenant purge, answering how many rows went, such as the
 * expired tombstones of its lists). *purged, when purged is not NULL, is set
 * to how many went in all. Returns 0 or a BW_E* code (the first failure;
 * the other purges still run). */
int bw_request_purge(const char *database_url, const bw_db_stmt_t *const *more, size_t n_more,
                     long *purged);

/* Runs fn(arg) once the call's effects are committed: after the request
 * transaction of a BW_RPC_WRITE method commits (never when it rolls back), or
 * when any other handler has returned successfully. For what must not happen
 * before others can see the change, such as evicting a revoked key from a
 * cache that a concurrent lookup would refill from the uncommitted row. Hooks
 * run in the order they were added, on the worker. 0 or BW_ENOMEM. */
int bw_request_after_commit(bw_call_t *call, void (*fn)(void *arg), void *arg);

/* "scoping.CreateEntity" for "/bulwark.scoping.v1.ScopingService/CreateEntity",
 * written into buf. */
void bw_request_action(const char *path, char *buf, size_t len);

#endif
