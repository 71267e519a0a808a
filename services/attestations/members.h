/*
 * Members of an entity's management body: the BoardMember handlers of
 * AttestationService and their statements.
 */
#ifndef BW_ATTEST_MEMBERS_H
#define BW_ATTEST_MEMBERS_H

#include "bulwark/attestations/v1/attestations.pb-c.h"
#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_members_stmts[];
extern const size_t bw_members_n_stmts;

bw_rpc_handler_func_t bw_members_create, bw_members_list, bw_members_update;
/* The member of the caller's tenant by id, for the gateway's key checks
 * (internal). */
bw_rpc_handler_func_t bw_members_get;

/* Validates a member's fields (name, email, role, since, until) the way a
 * create does, naming each bad field. 0 or BW_EINVAL. */
int bw_members_validate(bw_call_t *call, const Bulwark__Attestations__V1__BoardMember *m);

#endif
