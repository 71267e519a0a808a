/*
 * The attestation records of attestations.records, one hash chain per
 * entity (chain.h has the encoding and the checks).
 *
 * Appending runs one transaction: check the campaign and the member, lock
 * the entity's chain head (an upsert, so the first record of an entity
 * needs no special case), build and sign the record from the head's
 * sequence and hash, then insert the record and move the head in one
 * statement. The head's row lock serialises the appends of one entity, so
 * two attestations at once get consecutive sequences on one chain; a
 * rolled-back append moves nothing, so sequences have no gaps.
 *
 * Verification and export read the records and the head in one statement,
 * hence from one snapshot, and rebuild every record's encoding from its
 * columns rather than trusting anything stored about it.
 */
#include "records.h"

#include "bulwark/attestations/v1/attestations.pb-c.h"

#include "attest.h"
#include "campaigns.h"
#include "chain.h"
#include "export.h"
#include "ids.h"
#include "outbox.h"
#include "service.h"
#include "status.h"
#include "store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COMMENT 4000

/* clang-format off */
/* The campaign and the member of a new attestation, and whether the member
 * already attested in it; one row even when neither exists, so that the
 * member a credential names is judged whether or not the campaign is. */
static const bw_db_stmt_t stmt_precheck = {
    "records_precheck",
    "SELECT c.campaign_id::text, c.entity_id::text, c.kind, c.statement_sha256, "
    "(c.due_at > clock_timestamp()), m.member_id::text, COALESCE(m.name, ''), "
    "COALESCE(m.entity_id = c.entity_id, false), "
    "COALESCE(m.since <= clock_timestamp() AND (m.until IS NULL OR m.until > clock_timestamp()), "
    "false), "
    "EXISTS (SELECT 1 FROM attestations.records r WHERE r.tenant_id = c.tenant_id "
    " AND r.campaign_id = c.campaign_id AND r.member_id = $2::uuid), "
    "c.campaign_id IS NOT NULL "
    "FROM (SELECT 1) AS one "
    "LEFT JOIN attestations.campaigns c ON c.campaign_id = $1::uuid "
    "LEFT JOIN attestations.board_members m ON m.member_id = $2::uuid"};
/* If-Match of an attestation: the campaign's etag counts its records. Run
 * after the head lock, which serialises the appends of the entity. */
static const bw_db_stmt_t stmt_campaign_records = {
    "records_campaign_count",
    "SELECT count(*) FROM attestations.records WHERE campaign_id = $1::uuid"};
/* Locks the entity's head, creating it at sequence 0 on first use. The time
 * is taken after the lock, so it grows along the chain. */
static const bw_db_stmt_t stmt_head_lock = {
    "records_head_lock",
    "INSERT INTO attestations.chain_heads (tenant_id, entity_id) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1) "
    "ON CONFLICT (tenant_id, entity_id) DO UPDATE SET sequence = attestations.chain_heads.sequence "
    "RETURNING sequence, hash, " BW_ATTEST_US("clock_timestamp()")};
static const bw_db_stmt_t stmt_append = {
    "records_append",
    "WITH ins AS (INSERT INTO attestations.records (tenant_id, entity_id, sequence, record_id, "
    " campaign_id, kind, member_id, member_name, decision, comment, statement_sha256, recorded_at, "
    " recorded_by, on_behalf, key_id, previous_hash, hash, signature, format) "
    " VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2::bigint, $3, $4, $5, $6, $7, $8, "
    " $9, $10, $11::timestamptz, $12, $13::boolean, $14, $15, $16, $17::bytea, $19) "
    " RETURNING tenant_id, entity_id, sequence) "
    "UPDATE attestations.chain_heads h SET sequence = ins.sequence, hash = $16, key_id = $14, "
    "signature = $18::bytea, update_time = clock_timestamp() FROM ins "
    "WHERE h.tenant_id = ins.tenant_id AND h.entity_id = ins.entity_id "
    "AND h.sequence = ins.sequence - 1 RETURNING h.sequence"};
/* The whole chain and its head, in one snapshot; one row with NULL record
 * columns when there is no record. Each statement is hashed once, not once
 * per record. */
static const bw_db_stmt_t stmt_chain = {
    "records_chain",
    "WITH c AS MATERIALIZED (SELECT tenant_id, campaign_id, "
    "  encode(sha256(convert_to(statement, 'UTF8')), 'hex') AS sha "
    "  FROM attestations.campaigns WHERE entity_id = $1) "
    "SELECT r.sequence, r.record_id::text, r.campaign_id::text, r.kind, r.member_id::text, "
    "r.member_name, r.decision, r.comment, r.statement_sha256, " BW_ATTEST_US("r.recorded_at") ", "
    "r.recorded_by, r.on_behalf, r.key_id, r.previous_hash, r.hash, r.signature, c.sha, "
    "r.tenant_id::text, r.entity_id::text, h.sequence, h.hash, h.key_id, h.signature, r.format "
    "FROM (SELECT 1) AS one "
    "LEFT JOIN attestations.chain_heads h ON h.entity_id = $1 "
    "LEFT JOIN attestations.records r ON r.entity_id = $1 "
    "LEFT JOIN c ON c.tenant_id = r.tenant_id AND c.campaign_id = r.campaign_id "
    "ORDER BY r.sequence"};
/* clang-format on */

const bw_db_stmt_t *const bw_records_stmts[] = {&stmt_precheck, &stmt_campaign_records,
                                                &stmt_head_lock, &stmt_append, &stmt_chain};
const size_t bw_records_n_stmts = sizeof(bw_records_stmts) / sizeof(bw_records_stmts[0]);

enum {
    CH_SEQ,
    CH_ID,
    CH_CAMPAIGN,
    CH_KIND,
    CH_MEMBER,
    CH_MEMBER_NAME,
    CH_DECISION,
    CH_COMMENT,
    CH_STATEMENT_SHA,
    CH_RECORDED_AT,
    CH_RECORDED_BY,
    CH_ON_BEHALF,
    CH_KEY_ID,
    CH_PREVIOUS,
    CH_HASH,
    CH_SIGNATURE,
    CH_CAMPAIGN_SHA,
    CH_TENANT,
    CH_ENTITY,
    CH_HEAD_SEQ,
    CH_HEAD_HASH,
    CH_HEAD_KEY,
    CH_HEAD_SIG,
    CH_FORMAT
};

static char *lower_dup(bw_arena_t *arena, const char *s)
{
    char *out = bw_arena_strdup(arena, s);
    for (char *p = out; p != NULL && *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

/* ---- appending ------------------------------------------------------------ */

/* Who the attestation is for, and with which credential. A credential that
 * names a board member (a board_member key, or a token whose board-member
 * claim names one; the gateway passes it as x-board-member) attests as that
 * member: `member` may be left out, and the record is the member's own
 * (*own set, onBehalf false). Admin and editor credentials record for any
 * member, on the member's behalf. */
static int resolve_member(bw_call_t *call, const char *requested, const char **member, int *own)
{
    int writer = bw_call_has_role(call, "admin") || bw_call_has_role(call, "editor");
    int signer = bw_call_has_role(call, "board_member");
    const char *mine = signer && call->board_member != NULL && bw_uuid_valid(call->board_member)
                           ? call->board_member
                           : NULL;
    *member = requested != NULL ? requested : "";
    *own = 0;
    if (mine != NULL && ((*member)[0] == '\0' || strcasecmp(*member, mine) == 0)) {
        *member = mine;
        *own = 1;
        return 0;
    }
    if (writer)
        return (*member)[0] == '\0' ? bw_call_violation(call, "member", "is required") : 0;
    if (!signer)
        return bw_call_fail(call, BW_EPERM, "PERMISSION_DENIED",
                            "only admin, editor and board_member credentials record attestations");
    if (mine == NULL)
        return bw_call_fail(call, BW_EPERM, "NO_BOARD_MEMBER",
                            "this board_member credential names no board member");
    return bw_call_fail(call, BW_EPERM, "NOT_OWN_MEMBER",
                        "a board_member credential attests only as its own board member");
}

static int validate(bw_call_t *call, const Bulwark__Attestations__V1__Attestation *in,
                    const char *member)
{
    int bad = 0;
    if (!bw_uuid_valid(member))
        bad |= bw_call_violation(call, "member", "no board member with this id");
    if (bw_attest_decision_name(in->decision) == NULL)
        bad |= bw_call_violation(call, "decision", "is required: APPROVE, REJECT or ABSTAIN");
    bad |= bw_attest_check_text(call, "comment", in->comment, MAX_COMMENT, 0);
    return bad ? BW_EINVAL : 0;
}

/* Checks the precheck row; fails the call as the client should see it. A
 * member named by the caller's own credential that does not exist, is not
 * in office or does not sit on the campaign's board is a 403: the
 * credential may not sign here. A member named by an admin or editor is a
 * field of the request (400). */
static int check_precheck(bw_call_t *call, const PGresult *res, const char *campaign, int own)
{
    int member_found = !PQgetisnull(res, 0, 5);
    int in_office = strcmp(bw_store_text(res, 0, 8), "t") == 0;
    int on_board = strcmp(bw_store_text(res, 0, 7), "t") == 0;
    if (own && !member_found)
        return bw_call_fail(call, BW_EPERM, "BOARD_MEMBER_UNKNOWN",
                            "the board member this credential signs as does not exist in this "
                            "tenant; an admin must issue a key naming an existing member");
    if (own && !in_office)
        return bw_call_fail(call, BW_EPERM, "BOARD_MEMBER_NOT_CURRENT",
                            "the board member this credential signs as is not in office now: "
                            "their tenure (since, until) does not cover this moment");
    if (strcmp(bw_store_text(res, 0, 10), "t") != 0)
        return bw_call_fail(call, BW_ENOTFOUND, "CAMPAIGN_NOT_FOUND", "campaign %s not found",
                            campaign);
    if (own && !on_board)
        return bw_call_fail(call, BW_EPERM, "NOT_ON_THIS_BOARD",
                            "the board member this credential signs as does not sit on the "
                            "management body of the campaign's entity");
    if (!member_found || !on_board)
        return bw_call_violation(call, "member", "is not a board member of the campaign's entity");
    if (!in_office)
        return bw_call_violation(call, "member", "the member's tenure does not cover now");
    if (strcmp(bw_store_text(res, 0, 9), "t") == 0)
        return bw_call_fail(call, BW_EEXIST, "ALREADY_ATTESTED",
                            "the member has already attested in this campaign");
    if (strcmp(bw_store_text(res, 0, 4), "t") != 0) {
        bw_call_fail(call, BW_EPRECOND, "CAMPAIGN_CLOSED",
                     "the campaign is past its due date; open a new campaign");
        bw_call_violation(call, "campaign", "is past its due date");
        return BW_EPRECOND;
    }
    return 0;
}

/* If-Match: the campaign's etag before this attestation. */
static int check_campaign_etag(bw_call_t *call, bw_db_t *db, const char *campaign)
{
    if (call->if_match == NULL)
        return 0;
    PGresult *res;
    int err = bw_db_exec(db, call->arena, &stmt_campaign_records, 1, &campaign, &res);
    if (err != 0)
        return err;
    return bw_store_check_etag(call, campaign, bw_campaigns_revision(bw_store_int(res, 0, 0)));
}

static ProtobufCBinaryData binary(void *data, size_t len)
{
    ProtobufCBinaryData b = {len, data};
    return b;
}

/* Still in the request transaction: attestation.recorded, then, when this
 * attestation left no expected member pending, campaign.completed with the
 * campaign as GetCampaign returns it. Both under the campaign's resource, so
 * a receiver gets them in this order. */
static int announce(bw_call_t *call, const char *campaign,
                    const Bulwark__Attestations__V1__Attestation *recorded)
{
    bw_db_t *db = bw_service_db(call);
    const char *origin = bw_call_origin(call);
    const char *resource = bw_arena_printf(call->arena, "attestation-campaigns/%s", campaign);
    if (resource == NULL)
        return BW_ENOMEM;
    int err = bw_outbox_emit(call, db, "attestation.recorded", resource, origin, &recorded->base);
    Bulwark__Attestations__V1__Campaign *c;
    if (err != 0 || (err = bw_campaigns_load(call, campaign, &c)) != 0)
        return err;
    if (c->expected > 0 && c->pending == 0)
        err = bw_outbox_emit(call, db, "campaign.completed", resource, origin, &c->base);
    return err;
}

int bw_records_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__CreateAttestationRequest *req = (const void *)request;
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    if (!bw_uuid_valid(req->campaign))
        return bw_call_fail(call, BW_ENOTFOUND, "CAMPAIGN_NOT_FOUND", "campaign %s not found",
                            req->campaign);
    Bulwark__Attestations__V1__Attestation empty = BULWARK__ATTESTATIONS__V1__ATTESTATION__INIT;
    const Bulwark__Attestations__V1__Attestation *in =
        req->attestation != NULL ? req->attestation : &empty;
    const char *member;
    int own;
    if ((err = resolve_member(call, in->member, &member, &own)) != 0 ||
        (err = validate(call, in, member)) != 0)
        return err;
    int on_behalf = !own;

    const bw_key_t *key = bw_attest_signing_key(call);
    bw_arena_t *arena = call->arena;
    bw_db_t *db = bw_service_db(call);
    char *tenant = lower_dup(arena, call->tenant_id);
    char *record_id = bw_arena_alloc(arena, BW_UUID_STR_LEN + 1);
    if (record_id == NULL || tenant == NULL)
        return BW_ENOMEM;
    if (bw_uuid_v7(record_id) != 0)
        return BW_EINTERNAL;

    PGresult *res;
    if ((err = bw_db_begin(db, call->tenant_id)) != 0)
        return err;
    const char *check[] = {req->campaign, member};
    if ((err = bw_db_exec(db, arena, &stmt_precheck, 2, check, &res)) != 0 ||
        (err = check_precheck(call, res, req->campaign, own)) != 0)
        goto out;
    bw_chain_record_t rec = {
        .version = BW_CHAIN_VERSION,
        .id = record_id,
        .tenant = tenant,
        .entity = bw_store_strdup(arena, res, 0, 1),
        .campaign = bw_store_strdup(arena, res, 0, 0),
        .kind = bw_store_strdup(arena, res, 0, 2),
        .member = bw_store_strdup(arena, res, 0, 5),
        .member_name = bw_store_strdup(arena, res, 0, 6),
        .decision = bw_attest_decision_name(in->decision),
        .comment = in->comment != NULL ? in->comment : "",
        .statement_sha256 = bw_store_strdup(arena, res, 0, 3),
        .recorded_by = call->principal != NULL ? call->principal : "",
        .on_behalf = on_behalf,
        .key_id = bw_keys_id(key),
    };
    const char *head_key[] = {rec.entity};
    if ((err = bw_db_exec(db, arena, &stmt_head_lock, 1, head_key, &res)) != 0)
        goto out;
    if ((err = check_campaign_etag(call, db, rec.campaign)) != 0)
        goto out;
    rec.sequence = bw_store_int(res, 0, 0) + 1;
    rec.previous_hash = bw_store_strdup(arena, res, 0, 1);
    rec.recorded_at_us = bw_store_int(res, 0, 2);

    char *enc, *head_enc;
    size_t enc_len, head_len;
    char hash[BW_CHAIN_HASH_HEX + 1];
    uint8_t *sig = bw_arena_alloc(arena, BW_KEYS_SIG_LEN);
    uint8_t head_sig[BW_KEYS_SIG_LEN];
    if (sig == NULL || rec.previous_hash == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    if ((err = bw_chain_encode(arena, &rec, &enc, &enc_len)) != 0)
        goto out;
    bw_chain_hash(enc, enc_len, hash);
    if ((err = bw_keys_sign(key, enc, enc_len, sig)) != 0 ||
        (err = bw_chain_encode_head(arena, tenant, rec.entity, rec.sequence, hash, rec.key_id,
                                    &head_enc, &head_len)) != 0 ||
        (err = bw_keys_sign(key, head_enc, head_len, head_sig)) != 0)
        goto out;
    const char *values[] = {rec.entity,
                            bw_attest_int_param(arena, rec.sequence),
                            record_id,
                            rec.campaign,
                            rec.kind,
                            rec.member,
                            rec.member_name,
                            rec.decision,
                            rec.comment,
                            rec.statement_sha256,
                            bw_attest_time_param(arena, rec.recorded_at_us),
                            rec.recorded_by,
                            on_behalf ? "true" : "false",
                            rec.key_id,
                            rec.previous_hash,
                            hash,
                            bw_store_bytea_param(arena, sig, BW_KEYS_SIG_LEN),
                            bw_store_bytea_param(arena, head_sig, BW_KEYS_SIG_LEN),
                            bw_chain_format_name(rec.version)};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if (values[i] == NULL) {
            err = BW_ENOMEM;
            goto out;
        }
    err = bw_db_exec(db, arena, &stmt_append, 19, values, &res);
    if (err == BW_EEXIST) {
        err = bw_call_fail(call, BW_EEXIST, "ALREADY_ATTESTED",
                           "the member has already attested in this campaign");
        goto out;
    }
    if (err != 0)
        goto out;
    if (PQntuples(res) != 1) {
        err = bw_call_fail(call, BW_ECONFLICT, "CHAIN_CONFLICT",
                           "the chain moved during the append; retry");
        goto out;
    }
    if ((err = bw_db_commit(db)) != 0)
        goto out;

    /* The reply is the record as an export shows it. */
    char *hash_copy = bw_arena_strdup(arena, hash);
    if (hash_copy == NULL)
        return BW_ENOMEM;
    bw_chain_entry_t entry = {
        .rec = rec, .hash = hash_copy, .signature = sig, .signature_len = BW_KEYS_SIG_LEN};
    Bulwark__Attestations__V1__Attestation *out;
    if ((err = bw_export_record(arena, &entry, &out)) != 0)
        return err;
    bw_log(BW_LOG_INFO, &call->log, "attestation %lld of entity %s recorded: %s by member %s",
           rec.sequence, rec.entity, rec.decision, rec.member);
    if ((err = announce(call, rec.campaign, out)) != 0)
        return err;
    *resp = &out->base;
    return 0;
out:
    bw_db_rollback(db);
    return err;
}

/* ---- reading the chain ---------------------------------------------------- */

typedef struct chain {
    bw_chain_entry_t *entries;
    size_t n;
    bw_chain_head_t head;
    int has_head;
} chain_t;

/* Reads an entity's chain into *c (everything on the call's arena). */
static int read_chain(bw_call_t *call, const char *entity, chain_t *c)
{
    memset(c, 0, sizeof(*c));
    PGresult *res;
    int err = bw_db_exec1(bw_service_db(call), call->arena, call->tenant_id, &stmt_chain, 1,
                          &entity, &res);
    if (err != 0)
        return err;
    int rows = PQntuples(res);
    c->entries = bw_arena_calloc(call->arena, (size_t)rows + 1, sizeof(*c->entries));
    if (c->entries == NULL)
        return BW_ENOMEM;
    bw_arena_t *a = call->arena;
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, CH_SEQ))
            continue;
        bw_chain_entry_t *e = &c->entries[c->n];
        bw_chain_record_t *r = &e->rec;
        /* An unknown format stays version 0, which no encoding matches:
         * the record shows as HASH_MISMATCH. */
        r->version = bw_chain_format_version(bw_store_text(res, i, CH_FORMAT));
        r->id = bw_store_strdup(a, res, i, CH_ID);
        r->tenant = bw_store_strdup(a, res, i, CH_TENANT);
        r->entity = bw_store_strdup(a, res, i, CH_ENTITY);
        r->sequence = bw_store_int(res, i, CH_SEQ);
        r->campaign = bw_store_strdup(a, res, i, CH_CAMPAIGN);
        r->kind = bw_store_strdup(a, res, i, CH_KIND);
        r->member = bw_store_strdup(a, res, i, CH_MEMBER);
        r->member_name = bw_store_strdup(a, res, i, CH_MEMBER_NAME);
        r->decision = bw_store_strdup(a, res, i, CH_DECISION);
        r->comment = bw_store_strdup(a, res, i, CH_COMMENT);
        r->statement_sha256 = bw_store_strdup(a, res, i, CH_STATEMENT_SHA);
        r->recorded_at_us = bw_store_int(res, i, CH_RECORDED_AT);
        r->recorded_by = bw_store_strdup(a, res, i, CH_RECORDED_BY);
        r->on_behalf = strcmp(bw_store_text(res, i, CH_ON_BEHALF), "t") == 0;
        r->key_id = bw_store_strdup(a, res, i, CH_KEY_ID);
        r->previous_hash = bw_store_strdup(a, res, i, CH_PREVIOUS);
        e->hash = bw_store_strdup(a, res, i, CH_HASH);
        uint8_t *sig;
        if ((err = bw_store_bytea(a, res, i, CH_SIGNATURE, &sig, &e->signature_len)) != 0)
            return err;
        e->signature = sig;
        e->campaign_statement_sha256 = PQgetisnull(res, i, CH_CAMPAIGN_SHA)
                                           ? NULL
                                           : bw_store_strdup(a, res, i, CH_CAMPAIGN_SHA);
        if (e->hash == NULL || r->previous_hash == NULL || r->key_id == NULL || r->id == NULL)
            return BW_ENOMEM;
        c->n++;
    }
    if (rows > 0 && !PQgetisnull(res, 0, CH_HEAD_SEQ)) {
        c->has_head = 1;
        c->head.sequence = bw_store_int(res, 0, CH_HEAD_SEQ);
        c->head.hash = bw_store_strdup(a, res, 0, CH_HEAD_HASH);
        c->head.key_id = bw_store_strdup(a, res, 0, CH_HEAD_KEY);
        if (!PQgetisnull(res, 0, CH_HEAD_SIG)) {
            uint8_t *sig;
            if ((err = bw_store_bytea(a, res, 0, CH_HEAD_SIG, &sig, &c->head.signature_len)) != 0)
                return err;
            c->head.signature = sig;
        }
    }
    return 0;
}

/* Reads and verifies the chain of entity; 404 for an entity without any
 * record that scoping does not know either. */
static int verify_entity(bw_call_t *call, const char *entity, chain_t *c, bw_key_t ***keys,
                         size_t *n_keys, PGresult **key_rows,
                         Bulwark__Attestations__V1__ChainVerification **out)
{
    int err = bw_attest_need_tenant(call);
    if (err != 0)
        return err;
    if (!bw_uuid_valid(entity))
        return bw_attest_entity_check(call, entity, NULL);
    if ((err = read_chain(call, entity, c)) != 0)
        return err;
    if (c->n == 0 && !c->has_head && (err = bw_attest_entity_check(call, entity, NULL)) != 0)
        return err;
    if ((err = bw_attest_load_keys(call, keys, n_keys, key_rows)) != 0)
        return err;
    char *tenant = lower_dup(call->arena, call->tenant_id);
    char *ent = lower_dup(call->arena, entity);
    Bulwark__Attestations__V1__ChainVerification *v = bw_arena_alloc(call->arena, sizeof(*v));
    if (tenant == NULL || ent == NULL || v == NULL)
        return BW_ENOMEM;
    bw_chain_verdict_t verdict;
    err = bw_chain_verify(call->arena, tenant, ent, c->entries, c->n, c->has_head ? &c->head : NULL,
                          (const bw_key_t *const *)*keys, *n_keys, &verdict);
    if (err != 0)
        return err;
    bulwark__attestations__v1__chain_verification__init(v);
    v->valid = verdict.valid;
    v->records = (int64_t)c->n;
    v->head_hash = bw_arena_strdup(call->arena, verdict.valid ? verdict.head_hash : "");
    v->sequence = verdict.valid ? 0 : verdict.sequence;
    v->reason = (char *)(verdict.valid ? "" : verdict.reason);
    v->detail = bw_arena_strdup(call->arena, verdict.valid ? "" : verdict.detail);
    if (v->head_hash == NULL || v->detail == NULL)
        return BW_ENOMEM;
    if (!verdict.valid)
        bw_log(BW_LOG_WARN, &call->log, "chain of entity %s does not verify: %s at sequence %lld",
               entity, verdict.reason, verdict.sequence);
    *out = v;
    return 0;
}

int bw_records_verify(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__VerifyChainRequest *req = (const void *)request;
    chain_t c;
    bw_key_t **keys;
    size_t n_keys;
    Bulwark__Attestations__V1__ChainVerification *v;
    int err = verify_entity(call, req->entity, &c, &keys, &n_keys, NULL, &v);
    if (err != 0)
        return err;
    *resp = &v->base;
    return 0;
}

/* ---- export and keys ------------------------------------------------------ */

static int public_key_msg(bw_call_t *call, const bw_key_t *key, const PGresult *rows, int row,
                          Bulwark__Attestations__V1__PublicKey **out)
{
    Bulwark__Attestations__V1__PublicKey *k = bw_arena_alloc(call->arena, sizeof(*k));
    if (k == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__public_key__init(k);
    k->key_id = bw_store_strdup(call->arena, rows, row, 0);
    k->algorithm = bw_store_strdup(call->arena, rows, row, 1);
    int err;
    if ((err = bw_store_timestamp(call->arena, rows, row, 3, &k->create_time)) != 0)
        return err;
    if (k->key_id == NULL || k->algorithm == NULL)
        return BW_ENOMEM;
    if (key != NULL) {
        if ((err = bw_keys_public_pem(key, call->arena, &k->pem)) != 0)
            return err;
        k->raw = binary((void *)bw_keys_public(key), BW_KEYS_RAW_LEN);
        k->current = strcmp(bw_keys_id(key), bw_keys_id(bw_attest_signing_key(call))) == 0;
    }
    *out = k;
    return 0;
}

/* Whether the export of c lists key id: a key its records or its head name,
 * or the current one, which signs the export's statement. */
static int key_named(bw_call_t *call, const chain_t *c, const char *id)
{
    if (strcmp(bw_keys_id(bw_attest_signing_key(call)), id) == 0)
        return 1;
    if (c->has_head && c->head.key_id != NULL && strcmp(c->head.key_id, id) == 0)
        return 1;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].rec.key_id, id) == 0)
            return 1;
    return 0;
}

int bw_records_export(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Attestations__V1__ExportChainRequest *req = (const void *)request;
    chain_t c;
    bw_key_t **keys;
    size_t n_keys;
    PGresult *key_rows = NULL;
    Bulwark__Attestations__V1__ChainVerification *v;
    int err = verify_entity(call, req->entity, &c, &keys, &n_keys, &key_rows, &v);
    if (err != 0)
        return err;
    bw_arena_t *a = call->arena;
    Bulwark__Attestations__V1__ChainExport *x = bw_arena_alloc(a, sizeof(*x));
    if (x == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__chain_export__init(x);
    x->format = BW_EXPORT_FORMAT;
    x->tenant = lower_dup(a, call->tenant_id);
    x->entity = lower_dup(a, req->entity);
    x->export_time = bw_store_timestamp_us(a, bw_time_now_us()); /* the statement signs it */
    x->verification = v;
    x->records = bw_arena_calloc(a, c.n + 1, sizeof(*x->records));
    x->keys = bw_arena_calloc(a, n_keys + 1, sizeof(*x->keys));
    if (x->tenant == NULL || x->entity == NULL || x->export_time == NULL || x->records == NULL ||
        x->keys == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < c.n; i++)
        if ((err = bw_export_record(a, &c.entries[i], &x->records[i])) != 0)
            return err;
    x->n_records = c.n;
    if (c.has_head && (err = bw_export_head(a, x->tenant, x->entity, &c.head, &x->head)) != 0)
        return err;
    for (size_t i = 0; i < n_keys; i++) {
        const char *id = bw_store_text(key_rows, (int)i, 0);
        if (!key_named(call, &c, id))
            continue;
        if ((err = public_key_msg(call, keys[i], key_rows, (int)i, &x->keys[x->n_keys])) != 0)
            return err;
        x->n_keys++;
    }
    if ((err = bw_campaigns_exported(call, x->entity, &x->campaigns, &x->n_campaigns)) != 0 ||
        (err = bw_export_sign(a, bw_attest_signing_key(call), x)) != 0)
        return err;
    *resp = &x->base;
    return 0;
}

int bw_records_public_keys(bw_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **resp)
{
    (void)request;
    bw_key_t **keys;
    size_t n;
    PGresult *rows;
    int err = bw_attest_load_keys(call, &keys, &n, &rows);
    if (err != 0)
        return err;
    const bw_key_t *current = bw_attest_signing_key(call);
    Bulwark__Attestations__V1__PublicKeys *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__public_keys__init(out);
    out->key_id = (char *)bw_keys_id(current);
    out->algorithm = BW_KEYS_ALGORITHM;
    out->pem = (char *)bw_attest_signing_pem(call);
    out->raw = binary((void *)bw_keys_public(current), BW_KEYS_RAW_LEN);
    out->keys = bw_arena_calloc(call->arena, n + 1, sizeof(*out->keys));
    if (out->keys == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if ((err = public_key_msg(call, keys[i], rows, (int)i, &out->keys[out->n_keys++])) != 0)
            return err;
    *resp = &out->base;
    return 0;
}
