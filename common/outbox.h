/*
 * The outbox (common migration 0006, bulwark.outbox): how a write tells the
 * world that a resource changed. A producer calls bw_outbox_emit inside the
 * request transaction of the write (a method flagged BW_RPC_WRITE, see
 * request.h), after the change and with the resource as the reply carries
 * it; the event then commits or rolls back with the change and its audit
 * row. The integrations service's relay fans committed events out to
 * webhook endpoints (docs/DESIGN.md, "The outbox").
 *
 * Every worker connection of a service prepares bw_outbox_stmts (see
 * service.c), so any handler may emit.
 */
#ifndef BW_OUTBOX_H
#define BW_OUTBOX_H

#include <stddef.h>

#include "db.h"
#include "rpc.h"

/* One kind of event: its type as it appears in webhooks and a sentence
 * saying when it happens. */
typedef struct bw_outbox_event_type {
    const char *type;
    const char *summary;
} bw_outbox_event_type_t;

/* The catalogue of event types; a producer emits only these and a webhook
 * endpoint subscribes to these. */
extern const bw_outbox_event_type_t bw_outbox_event_types[];
extern const size_t bw_outbox_n_event_types;
/* Whether type is in the catalogue. */
int bw_outbox_event_type_known(const char *type);

/* The statements of this module, prepared on every worker connection. */
extern const bw_db_stmt_t *const bw_outbox_stmts[];
extern const size_t bw_outbox_n_stmts;

/* The longest data an event carries (the table's CHECK says the same). */
#define BW_OUTBOX_MAX_DATA (1024 * 1024)

/*
 * Appends an event to the outbox of the transaction's tenant, inside the
 * caller's open transaction on db (the request transaction, or one begun
 * with bw_db_begin): type from the catalogue ("incident.updated"), resource
 * the ordering key ("incidents/<id>": the events of one resource are
 * delivered in the order their writes committed), origin "" or where the
 * change came from ("jira:<connection id>", so that it is not sent back
 * there), resource_message the resource as the REST API returns it (the
 * reply message, borrowed), rendered to proto3 JSON exactly as the gateway
 * renders it. The event id (the webhook-id) is a new UUIDv7. BW_EINVAL for
 * an unknown type or an empty resource (a bug in the producer: logged),
 * BW_ETOOBIG for data over BW_OUTBOX_MAX_DATA. The INSERT itself goes to
 * the server with the transaction's next statement or its COMMIT
 * (bw_db_exec_later): its failure fails that statement or the commit, and
 * so the write. On failure the caller fails its write.
 */
int bw_outbox_emit(bw_call_t *call, bw_db_t *db, const char *type, const char *resource,
                   const char *origin, const ProtobufCMessage *resource_message);

/* The same for code outside a call (a background job) with the data already
 * rendered (data_json borrowed; arena owns any result). */
int bw_outbox_append(bw_db_t *db, bw_arena_t *arena, const bw_log_ctx_t *log, const char *type,
                     const char *resource, const char *origin, const char *data_json);

/* msg as the gateway renders a reply: proto3 JSON (common/json.h), compact,
 * doubles with 15 significant digits. The text lives on arena; NULL on OOM. */
char *bw_outbox_render(bw_arena_t *arena, const ProtobufCMessage *msg);

#endif
