/*
 * Campaigns: a statement put to an entity's management body, and where
 * each member stands on it. The Campaign handlers of AttestationService and
 * their statements.
 */
#ifndef BW_ATTEST_CAMPAIGNS_H
#define BW_ATTEST_CAMPAIGNS_H

#include "bulwark/attestations/v1/attestations.pb-c.h"
#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_campaigns_stmts[];
extern const size_t bw_campaigns_n_stmts;

bw_rpc_handler_func_t bw_campaigns_create, bw_campaigns_get, bw_campaigns_list;

/* The campaign as GetCampaign returns it (members and tally), read in the
 * caller's transaction when one is open; NOT_FOUND (CAMPAIGN_NOT_FOUND)
 * fails the call. *out on the call's arena. */
int bw_campaigns_load(bw_call_t *call, const char *id, Bulwark__Attestations__V1__Campaign **out);

/* The majority rule of approval campaigns: more than half of the expected
 * members approve. With n_approvals approvals so far, returns the index (in
 * chain order) of the approval that made the majority, or -1 while there is
 * none. */
int bw_campaigns_majority(int expected, int n_approvals);

/* The revision behind a campaign's etag: the campaign itself never
 * changes, but every attestation recorded in it changes where it stands, so
 * the etag moves with their number. */
long long bw_campaigns_revision(long long n_attestations);

/* Fills the tally of c (expected, approvals, ..., approved, approvedAt) from
 * its members' statuses, as GetCampaign shows them. */
void bw_campaigns_tally(bw_arena_t *arena, Bulwark__Attestations__V1__Campaign *c);

/* The campaigns an entity's records refer to, for its export: only what
 * the records' signatures prove, and the statement. *out is an array on the
 * arena. */
int bw_campaigns_exported(bw_call_t *call, const char *entity,
                          Bulwark__Attestations__V1__ExportedCampaign ***out, size_t *n);

#endif
