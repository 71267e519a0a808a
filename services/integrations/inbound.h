/*
 * Events from ticket systems, received through the gateway's raw routes
 * (the body's bytes and the headers, unparsed; no API key):
 *
 *   POST /v1/integrations/jira/{connection}/events        X-Hub-Signature
 *   POST /v1/integrations/servicenow/{connection}/events  Authorization: Bearer
 *
 * Jira's jira:issue_created makes an incident (title fields.summary, awareAt
 * fields.created, externalRef the issue key); jira:issue_updated appends to
 * its timeline (HANDLING_ENDED when the status is the connection's
 * stateMapping.closed, else a NOTE of what changed), or makes it when it is
 * missing. ServiceNow's incident record is upserted by sys_id the same way.
 * Deliveries are de-duplicated (X-Atlassian-Webhook-Identifier; ServiceNow's
 * sys_id and sys_mod_count); a ticket has one incident per connection. A
 * bad signature or token is a 401 and writes nothing; a payload without a
 * ticket is a 422 recorded in the connection's log.
 */
#ifndef BW_INBOUND_H
#define BW_INBOUND_H

#include "db.h"
#include "rpc.h"

#include <jansson.h>

extern const bw_db_stmt_t *const bw_inbound_stmts[];
extern const size_t bw_inbound_n_stmts;

bw_rpc_handler_func_t bw_inbound_jira, bw_inbound_servicenow;

/* Records a delivery key as received ($1 the connection, $2 the key; the
 * tenant set): a later delivery under that key is answered "duplicate". */
#define BW_INBOUND_RECEIPT_SQL                                                                     \
    "INSERT INTO integrations.inbound_receipts (tenant_id, connection_id, delivery_key) "          \
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, left($2, 200)) "                      \
    "ON CONFLICT DO NOTHING RETURNING 1"

/* A string member of obj, or the "value" of a ServiceNow field given as
 * {"value", "display_value"}; NULL when absent or of another type. */
const char *bw_inbound_text(json_t *obj, const char *key);

/* The delivery key of a ServiceNow record: its sys_id and its version
 * (sys_mod_count, else sys_updated_on), "sys_id:version", on arena. */
char *bw_inbound_servicenow_key(bw_arena_t *arena, const char *sys_id, const char *version);

/* Reads a ticket system's time (Jira "2025-06-10T09:15:00.000+0200",
 * ServiceNow "2025-06-10 07:15:00", UTC) into Unix seconds and nanoseconds.
 * 0, or -1 when it is none. Pure, for tests. */
int bw_inbound_parse_time(const char *text, long long *sec, int *nanos);

#endif
