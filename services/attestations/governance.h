/*
 * NIS2 Art 20 status of an entity: whether a current approval of the
 * risk-management measures exists and a current review by which the
 * management body oversees their implementation (both Art 20(1)), whether
 * each member in office has current training (Art 20(2)), and what falls
 * due or expires next. The handler reads the facts in one statement; bw_governance_compute
 * turns them into the reply and is pure, for the unit tests. Decisions
 * recorded on a member's behalf (by an admin or editor, not with the
 * member's own credential) count like the others, and are counted apart.
 */
#ifndef BW_ATTEST_GOVERNANCE_H
#define BW_ATTEST_GOVERNANCE_H

#include "bulwark/attestations/v1/attestations.pb-c.h"
#include "arena.h"
#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_governance_stmts[];
extern const size_t bw_governance_n_stmts;

bw_rpc_handler_func_t bw_governance_get;

/* A member in office. */
typedef struct bw_gov_member {
    const char *id;
    const char *name;
} bw_gov_member_t;

/* A member's latest confirmed training (the one valid longest). */
typedef struct bw_gov_training {
    const char *member;
    const char *campaign;
    long long at_us;
    long long until_us;
    int on_behalf; /* recorded on the member's behalf */
} bw_gov_training_t;

/* An open campaign with members still to attest. */
typedef struct bw_gov_due {
    const char *campaign;
    const char *kind;
    long long at_us;
    int pending;
} bw_gov_due_t;

typedef struct bw_gov_input {
    long long now_us;
    const bw_gov_member_t *members;
    size_t n_members;
    const bw_gov_training_t *trainings; /* any order, members not in office included */
    size_t n_trainings;
    /* The latest approved RISK_MEASURES_APPROVAL campaign; campaign NULL when
     * none was ever approved. */
    const char *approval_campaign;
    long long approval_at_us;
    long long approval_until_us;
    int approvals;           /* in the approval campaign */
    int on_behalf_approvals; /* of those, recorded on a member's behalf */
    /* The latest confirmed IMPLEMENTATION_OVERSIGHT campaign, likewise. */
    const char *oversight_campaign;
    long long oversight_at_us;
    long long oversight_until_us;
    int oversight_confirmations;
    int on_behalf_oversight_confirmations;
    int attestations; /* every record of the entity */
    int on_behalf_attestations;
    const bw_gov_due_t *dues;
    size_t n_dues;
} bw_gov_input_t;

/* Builds the Governance reply of entity on arena (strings of in are
 * borrowed by it). 0 or BW_ENOMEM. */
int bw_governance_compute(bw_arena_t *arena, const char *entity, const bw_gov_input_t *in,
                          Bulwark__Attestations__V1__Governance **out);

#endif
