/*
 * Readable views of signed records and heads; see export.h.
 */
#include "export.h"

#include "attest.h"
#include "status.h"

static ProtobufCBinaryData binary(const void *data, size_t len)
{
    ProtobufCBinaryData b = {len, (uint8_t *)data};
    return b;
}

int bw_export_record(bw_arena_t *arena, const bw_chain_entry_t *e,
                     Bulwark__Attestations__V1__Attestation **out)
{
    const bw_chain_record_t *r = &e->rec;
    Bulwark__Attestations__V1__Attestation *a = bw_arena_alloc(arena, sizeof(*a));
    if (a == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__attestation__init(a);
    char *enc = NULL;
    size_t len = 0;
    int err = bw_chain_encode(arena, r, &enc, &len);
    if (err == BW_ENOMEM)
        return err;
    a->id = (char *)(r->version >= BW_CHAIN_V2 && r->id != NULL ? r->id : "");
    a->tenant = (char *)r->tenant;
    a->entity = (char *)r->entity;
    a->campaign = (char *)r->campaign;
    a->kind = bw_attest_kind_value(r->kind);
    a->member = (char *)r->member;
    a->member_name = (char *)r->member_name;
    a->decision = bw_attest_decision_value(r->decision);
    a->comment = (char *)r->comment;
    a->statement_sha256 = (char *)r->statement_sha256;
    a->sequence = r->sequence;
    a->recorded_at = bw_store_timestamp_us(arena, r->recorded_at_us);
    a->recorded_by = (char *)r->recorded_by;
    a->on_behalf = r->on_behalf;
    a->key_id = (char *)r->key_id;
    a->previous_hash = (char *)r->previous_hash;
    a->hash = (char *)e->hash;
    a->signature = binary(e->signature, e->signature_len);
    if (err == 0)
        a->canonical = binary(enc, len);
    if (a->recorded_at == NULL)
        return BW_ENOMEM;
    *out = a;
    return 0;
}

int bw_export_head(bw_arena_t *arena, const char *tenant, const char *entity,
                   const bw_chain_head_t *head, Bulwark__Attestations__V1__ChainHead **out)
{
    Bulwark__Attestations__V1__ChainHead *h = bw_arena_alloc(arena, sizeof(*h));
    if (h == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__chain_head__init(h);
    h->sequence = head->sequence;
    h->hash = (char *)(head->hash != NULL ? head->hash : "");
    h->key_id = (char *)(head->key_id != NULL ? head->key_id : "");
    h->signature = binary(head->signature, head->signature_len);
    char *enc;
    size_t len;
    int err =
        bw_chain_encode_head(arena, tenant, entity, h->sequence, h->hash, h->key_id, &enc, &len);
    if (err == BW_ENOMEM)
        return err;
    if (err == 0)
        h->canonical = binary(enc, len);
    *out = h;
    return 0;
}

int bw_export_sign(bw_arena_t *arena, const bw_key_t *key,
                   Bulwark__Attestations__V1__ChainExport *x)
{
    Bulwark__Attestations__V1__ExportStatement *st = bw_arena_alloc(arena, sizeof(*st));
    uint8_t *sig = bw_arena_alloc(arena, BW_KEYS_SIG_LEN);
    if (st == NULL || sig == NULL || x->export_time == NULL)
        return BW_ENOMEM;
    bulwark__attestations__v1__export_statement__init(st);
    const Bulwark__Attestations__V1__ChainHead *h = x->head;
    bw_chain_statement_t signed_st = {
        .format = x->format,
        .tenant = x->tenant,
        .entity = x->entity,
        .export_time_us = bw_attest_us(x->export_time),
        .records = (long long)x->n_records,
        .head_sequence = h != NULL ? h->sequence : 0,
        .head_hash = h != NULL ? h->hash : "",
        .key_id = bw_keys_id(key),
    };
    char *enc;
    size_t len;
    int err = bw_chain_encode_statement(arena, &signed_st, &enc, &len);
    if (err != 0 || (err = bw_keys_sign(key, enc, len, sig)) != 0)
        return err;
    st->format = x->format;
    st->tenant = x->tenant;
    st->entity = x->entity;
    st->export_time = bw_store_timestamp_us(arena, signed_st.export_time_us);
    st->records = signed_st.records;
    st->head_sequence = signed_st.head_sequence;
    st->head_hash = (char *)signed_st.head_hash;
    st->key_id = (char *)signed_st.key_id;
    st->signature = binary(sig, BW_KEYS_SIG_LEN);
    st->canonical = binary(enc, len);
    if (st->export_time == NULL)
        return BW_ENOMEM;
    x->statement = st;
    return 0;
}
