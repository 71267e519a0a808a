/*
 * Attestation records: appending one to its entity's signed hash chain,
 * verifying a chain, exporting it for an auditor, and the public keys.
 */
#ifndef BW_ATTEST_RECORDS_H
#define BW_ATTEST_RECORDS_H

#include "db.h"
#include "rpc.h"

extern const bw_db_stmt_t *const bw_records_stmts[];
extern const size_t bw_records_n_stmts;

bw_rpc_handler_func_t bw_records_create, bw_records_verify, bw_records_export,
    bw_records_public_keys;

#endif
