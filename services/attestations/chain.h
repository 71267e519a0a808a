/*
 * The per-entity hash chain of attestation records: the canonical encoding
 * of a record and of a chain head, their SHA-256, and the verification of a
 * whole chain (hashes, links, signatures, sequence, head). Pure: no
 * database, no RPC; the caller hands in rows and keys.
 *
 * The canonical encoding is RFC 8785 (JCS) JSON of a flat object whose
 * members are strings, one integer (sequence) and one boolean (onBehalf),
 * keys in code-point order, no whitespace. README.md specifies it. It is
 * versioned by its `format` member: a record keeps the version it was
 * signed in, so records made before a new version still verify. Version 2
 * adds the record's id.
 */
#ifndef BW_ATTEST_CHAIN_H
#define BW_ATTEST_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "keys.h"

/* Versions of the record encoding; new records use BW_CHAIN_VERSION. */
#define BW_CHAIN_V1 1
#define BW_CHAIN_V2 2
#define BW_CHAIN_VERSION BW_CHAIN_V2
#define BW_CHAIN_FORMAT_V1 "bulwark.attestation.v1"
#define BW_CHAIN_FORMAT_V2 "bulwark.attestation.v2"
#define BW_CHAIN_HEAD_FORMAT "bulwark.attestation-head.v1"
#define BW_CHAIN_HASH_HEX 64
/* The previous hash of the first record of a chain. */
#define BW_CHAIN_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* The fields of one record that its encoding covers (all borrowed). */
typedef struct bw_chain_record {
    int version;    /* BW_CHAIN_V1 or BW_CHAIN_V2 */
    const char *id; /* the record's id; encoded from version 2 on */
    const char *tenant;
    const char *entity;
    long long sequence;
    const char *campaign;
    const char *kind; /* "RISK_MEASURES_APPROVAL", ... */
    const char *member;
    const char *member_name;
    const char *decision; /* "APPROVE", "REJECT", "ABSTAIN" */
    const char *comment;
    const char *statement_sha256;
    long long recorded_at_us; /* microseconds since 1970-01-01T00:00:00Z */
    const char *recorded_by;
    int on_behalf;
    const char *key_id;
    const char *previous_hash;
} bw_chain_record_t;

/* The `format` member of a version ("bulwark.attestation.v2"), NULL for an
 * unknown version; and the version of a format name, 0 when unknown. */
const char *bw_chain_format_name(int version);
int bw_chain_format_version(const char *name);

/* The canonical encoding of rec in its version, on arena (NUL-terminated;
 * *len excludes the NUL). BW_EINVAL when the version is unknown or a string
 * is missing or not UTF-8. */
int bw_chain_encode(bw_arena_t *arena, const bw_chain_record_t *rec, char **out, size_t *len);
/* The canonical encoding of a chain head: the last record's sequence and
 * hash, signed by key_id. */
int bw_chain_encode_head(bw_arena_t *arena, const char *tenant, const char *entity,
                         long long sequence, const char *hash, const char *key_id, char **out,
                         size_t *len);
/* What an export's statement signs (all borrowed): the export's format,
 * whose chain, when it was exported, how many records it holds, the head
 * (sequence 0 and hash "" when the chain has none) and the signing key. */
typedef struct bw_chain_statement {
    const char *format;
    const char *tenant;
    const char *entity;
    long long export_time_us; /* written as recordedAt is, six fractional digits */
    long long records;
    long long head_sequence;
    const char *head_hash;
    const char *key_id;
} bw_chain_statement_t;

/* The canonical encoding of an export's statement: {"entity",
 * "exportTime","format","headHash","headSequence","keyId","records",
 * "tenant"}. BW_EINVAL when a string is missing or not UTF-8. */
int bw_chain_encode_statement(bw_arena_t *arena, const bw_chain_statement_t *st, char **out,
                              size_t *len);
/* Lower-case hex SHA-256 of data into out[65]. */
void bw_chain_hash(const void *data, size_t len, char out[BW_CHAIN_HASH_HEX + 1]);

/* A stored record as read back: its fields, its stored hash and signature,
 * and the SHA-256 (hex) of its campaign's statement as stored now (NULL
 * when the campaign is gone). */
typedef struct bw_chain_entry {
    bw_chain_record_t rec;
    const char *hash;
    const uint8_t *signature;
    size_t signature_len;
    const char *campaign_statement_sha256;
} bw_chain_entry_t;

/* A stored chain head. */
typedef struct bw_chain_head {
    long long sequence;
    const char *hash;
    const char *key_id;
    const uint8_t *signature;
    size_t signature_len;
} bw_chain_head_t;

typedef struct bw_chain_verdict {
    int valid;
    long long records;  /* entries examined */
    long long sequence; /* the first bad sequence when invalid */
    const char *reason; /* static: "HASH_MISMATCH", ... when invalid */
    char detail[192];
    char head_hash[BW_CHAIN_HASH_HEX + 1];
} bw_chain_verdict_t;

/* Verifies entries, which must be in ascending sequence order, of the chain
 * of (tenant, entity), and its head (NULL when there is none), with keys
 * (borrowed, looked up by key id). Checks in order, for each entry: the
 * sequence follows the previous one (else RECORD_MISSING at the missing
 * number), the stored hash is the hash of the encoding rebuilt from the
 * fields (HASH_MISMATCH), previousHash is the previous record's hash
 * (PREVIOUS_HASH_MISMATCH), the key is known (UNKNOWN_KEY), the signature
 * holds (SIGNATURE_INVALID), the campaign's statement still has the
 * recorded hash (STATEMENT_MISMATCH); then the head: present when there are
 * records (HEAD_MISSING), at the last record (RECORD_MISSING past the end,
 * HEAD_MISMATCH), correctly signed (HEAD_SIGNATURE_INVALID). Fills *out and
 * returns 0, or BW_ENOMEM. */
int bw_chain_verify(bw_arena_t *arena, const char *tenant, const char *entity,
                    const bw_chain_entry_t *entries, size_t n, const bw_chain_head_t *head,
                    const bw_key_t *const *keys, size_t n_keys, bw_chain_verdict_t *out);

#endif
