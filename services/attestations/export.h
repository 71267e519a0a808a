/*
 * The readable view of signed records, as the reply of CreateAttestation
 * and as an export shows them: each field is exactly the value its
 * canonical encoding signs, so that an auditor's offline check
 * (verify-export.sh) can prove every one of them; and the signed statement
 * of an export as a whole. Pure: messages on an arena from chain entries,
 * no database.
 */
#ifndef BW_ATTEST_EXPORT_H
#define BW_ATTEST_EXPORT_H

#include "bulwark/attestations/v1/attestations.pb-c.h"

#include "arena.h"
#include "chain.h"
#include "keys.h"

/* ChainExport.format (v2 had no statement). */
#define BW_EXPORT_FORMAT "bulwark.attestation-export.v3"

/* The record of entry e with its canonical bytes, hash and signature (all
 * borrowed from e or made on arena). A version 1 record leaves `id` empty:
 * its signature does not cover it. A record whose fields no longer encode
 * (a stored value that is not UTF-8) gets no canonical bytes, so that no
 * check can pass it. 0 or BW_ENOMEM. */
int bw_export_record(bw_arena_t *arena, const bw_chain_entry_t *e,
                     Bulwark__Attestations__V1__Attestation **out);

/* The signed head of the chain of (tenant, entity), with the canonical
 * bytes its signature covers. 0 or BW_ENOMEM. */
int bw_export_head(bw_arena_t *arena, const char *tenant, const char *entity,
                   const bw_chain_head_t *head, Bulwark__Attestations__V1__ChainHead **out);

/* Signs the statement of export x with key and sets x->statement: x's
 * format, tenant, entity and export time, its number of records and its
 * head's sequence and hash (0 and "" without a head), with the canonical
 * bytes the signature covers. Call it once x holds all of these. 0,
 * BW_EINVAL when a field does not encode or the key cannot sign, or
 * BW_ENOMEM. */
int bw_export_sign(bw_arena_t *arena, const bw_key_t *key,
                   Bulwark__Attestations__V1__ChainExport *x);

#endif
