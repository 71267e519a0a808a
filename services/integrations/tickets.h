/*
 * Outbound ticket jobs: Bulwark's incidents opened and kept up to date in
 * Jira and ServiceNow. The relay makes a job per incident.created or
 * incident.updated event and connection with createIssues (not for the
 * connection the change came from); this module, on the dispatcher's loop,
 * claims due jobs (integrations.claim_ticket_jobs) and runs each as one or
 * more REST calls on the deliverer's libcurl multi handle
 * (bw_deliverer_add_request): one HTTP client, with the webhooks' network
 * policy, timeout and retry schedule.
 *
 *   Jira, no issue yet     POST /rest/api/3/issue (project, summary = title,
 *                          issuetype, description in Atlassian Document
 *                          Format with the deadlines); the issue is linked
 *                          to the incident
 *   Jira, then             GET /rest/api/3/issue/{key}/transitions and POST
 *                          the one whose name or target status is the
 *                          connection's stateMapping for the incident's
 *                          state (case-insensitive); an unmapped state or a
 *                          missing transition is logged, never guessed
 *   ServiceNow, no record  POST /api/now/table/incident (short_description,
 *                          description, impact, urgency, correlation_id =
 *                          the incident's id, state when mapped); linked
 *   ServiceNow, then       PATCH /api/now/table/incident/{sys_id}
 *
 * A 429 (after its Retry-After) or a 5xx or no answer is retried on
 * BULWARK_WEBHOOK_RETRY_SECONDS; another 4xx fails the job. Every call is
 * written to the connection's log. The ticket opened is linked at once,
 * then recorded as the incident's externalRef (SetExternalRef, an
 * asynchronous gRPC call); without an answer the job is tried again and
 * records the ref first.
 */
#ifndef BW_TICKETS_H
#define BW_TICKETS_H

#include "db.h"
#include "deliverer.h"
#include "integrations.h"

typedef struct bw_tickets bw_tickets_t;

extern const bw_db_stmt_t *const bw_tickets_stmts[];
extern const size_t bw_tickets_n_stmts;

/* Jobs on dv's loop, base, recorded through db (all borrowed, used on the
 * loop's thread only); SetExternalRef goes to svc->incidents without
 * blocking the loop (an asynchronous gRPC client on base, whose poller
 * thread hands the replies to the loop). Each job attempt is counted in
 * counts (for /metrics; the caller's, outliving the jobs). Caller owns
 * *out. */
int bw_tickets_create(bw_db_t *db, const bw_integrations_t *svc, bw_deliverer_t *dv,
                      struct event_base *base, bw_attempt_counts_t *counts, bw_tickets_t **out);
/* Claims due jobs up to the room left and starts them; how many, or a
 * negative BW_E* code. */
int bw_tickets_fill(bw_tickets_t *tk);
/* Stops the jobs in flight, giving their leases back. Accepts NULL. Call
 * on the loop's thread before the deliverer is destroyed. */
void bw_tickets_destroy(bw_tickets_t *tk);

#endif
