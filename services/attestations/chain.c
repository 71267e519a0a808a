/*
 * Canonical encoding, hashing and verification of the attestation chain;
 * see chain.h. The encoding is written straight into an arena buffer sized
 * for the worst case (every byte escaped as \u00XX), which keeps it
 * allocation-free apart from that one buffer.
 */
#include "chain.h"

#include "ids.h"
#include "status.h"
#include "times.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void bw_chain_hash(const void *data, size_t len, char out[BW_CHAIN_HASH_HEX + 1])
{
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(data, len, digest);
    bw_hex(digest, BW_SHA256_LEN, out);
}

/* ---- RFC 8785 writer ---------------------------------------------------- */

typedef struct jcs {
    char *buf;
    size_t len;
    size_t cap;
    int first;
} jcs_t;

/* Worst case of one string member: the key, quotes, colon, comma and every
 * value byte as a six-byte \u00XX escape. */
static size_t string_bound(const char *key, const char *value)
{
    return strlen(key) + 6 + 6 * strlen(value);
}

static void put(jcs_t *w, const char *s, size_t n)
{
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* A JSON string as ECMAScript's JSON.stringify writes it (RFC 8785 3.2.2.2):
 * only '"', '\\' and control characters are escaped. */
static void put_string(jcs_t *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char c = *p;
        switch (c) {
        case '"':
            put(w, "\\\"", 2);
            break;
        case '\\':
            put(w, "\\\\", 2);
            break;
        case '\b':
            put(w, "\\b", 2);
            break;
        case '\t':
            put(w, "\\t", 2);
            break;
        case '\n':
            put(w, "\\n", 2);
            break;
        case '\f':
            put(w, "\\f", 2);
            break;
        case '\r':
            put(w, "\\r", 2);
            break;
        default:
            if (c < 0x20) {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                put(w, esc, 6);
            } else {
                put(w, (const char *)p, 1);
            }
        }
    }
    put(w, "\"", 1);
}

static void put_key(jcs_t *w, const char *key)
{
    put(w, w->first ? "{" : ",", 1);
    w->first = 0;
    put_string(w, key);
    put(w, ":", 1);
}

static void member_string(jcs_t *w, const char *key, const char *value)
{
    put_key(w, key);
    put_string(w, value);
}

static void member_int(jcs_t *w, const char *key, long long value)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", value);
    put_key(w, key);
    put(w, num, (size_t)n);
}

static void member_bool(jcs_t *w, const char *key, int value)
{
    put_key(w, key);
    put(w, value ? "true" : "false", value ? 4 : 5);
}

static int jcs_open(jcs_t *w, bw_arena_t *arena, size_t bound)
{
    w->cap = bound + 2;
    w->len = 0;
    w->first = 1;
    w->buf = bw_arena_alloc(arena, w->cap);
    return w->buf != NULL ? 0 : BW_ENOMEM;
}

static void jcs_close(jcs_t *w, char **out, size_t *len)
{
    put(w, "}", 1);
    w->buf[w->len] = '\0';
    *out = w->buf;
    *len = w->len;
}

/* Every string must be present and UTF-8: an encoding that silently wrote ""
 * for a missing field could hash two different records alike. */
static int strings_ok(const char *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == NULL || !bw_utf8_valid(s[i], strlen(s[i])))
            return 0;
    return 1;
}

const char *bw_chain_format_name(int version)
{
    return version == BW_CHAIN_V1   ? BW_CHAIN_FORMAT_V1
           : version == BW_CHAIN_V2 ? BW_CHAIN_FORMAT_V2
                                    : NULL;
}

int bw_chain_format_version(const char *name)
{
    for (int v = BW_CHAIN_V1; v <= BW_CHAIN_V2; v++)
        if (name != NULL && strcmp(name, bw_chain_format_name(v)) == 0)
            return v;
    return 0;
}

int bw_chain_encode(bw_arena_t *arena, const bw_chain_record_t *rec, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const char *format = bw_chain_format_name(rec->version);
    int with_id = rec->version >= BW_CHAIN_V2;
    const char *strings[] = {
        rec->tenant,           rec->entity,      rec->campaign, rec->kind,
        rec->member,           rec->member_name, rec->decision, rec->comment,
        rec->statement_sha256, rec->recorded_by, rec->key_id,   rec->previous_hash,
        with_id ? rec->id : ""};
    if (format == NULL || !strings_ok(strings, sizeof(strings) / sizeof(strings[0])))
        return BW_EINVAL;
    char recorded_at[BW_TIME_TEXT_MAX];
    bw_time_format_us(rec->recorded_at_us, BW_TIME_FRACTION_MICROS, recorded_at);

    /* Keys in code-point order (RFC 8785 3.2.3); all are ASCII. */
    size_t bound =
        string_bound("campaign", rec->campaign) + string_bound("comment", rec->comment) +
        string_bound("decision", rec->decision) + string_bound("entity", rec->entity) +
        string_bound("format", format) + (with_id ? string_bound("id", rec->id) : 0) +
        string_bound("keyId", rec->key_id) + string_bound("kind", rec->kind) +
        string_bound("member", rec->member) + string_bound("memberName", rec->member_name) +
        string_bound("onBehalf", "false") + string_bound("previousHash", rec->previous_hash) +
        string_bound("recordedAt", recorded_at) + string_bound("recordedBy", rec->recorded_by) +
        string_bound("sequence", "") + 24 + string_bound("statementSha256", rec->statement_sha256) +
        string_bound("tenant", rec->tenant);
    jcs_t w;
    if (jcs_open(&w, arena, bound) != 0)
        return BW_ENOMEM;
    member_string(&w, "campaign", rec->campaign);
    member_string(&w, "comment", rec->comment);
    member_string(&w, "decision", rec->decision);
    member_string(&w, "entity", rec->entity);
    member_string(&w, "format", format);
    if (with_id)
        member_string(&w, "id", rec->id);
    member_string(&w, "keyId", rec->key_id);
    member_string(&w, "kind", rec->kind);
    member_string(&w, "member", rec->member);
    member_string(&w, "memberName", rec->member_name);
    member_bool(&w, "onBehalf", rec->on_behalf);
    member_string(&w, "previousHash", rec->previous_hash);
    member_string(&w, "recordedAt", recorded_at);
    member_string(&w, "recordedBy", rec->recorded_by);
    member_int(&w, "sequence", rec->sequence);
    member_string(&w, "statementSha256", rec->statement_sha256);
    member_string(&w, "tenant", rec->tenant);
    jcs_close(&w, out, len);
    return 0;
}

int bw_chain_encode_head(bw_arena_t *arena, const char *tenant, const char *entity,
                         long long sequence, const char *hash, const char *key_id, char **out,
                         size_t *len)
{
    *out = NULL;
    *len = 0;
    const char *strings[] = {tenant, entity, hash, key_id};
    if (!strings_ok(strings, sizeof(strings) / sizeof(strings[0])))
        return BW_EINVAL;
    size_t bound = string_bound("entity", entity) + string_bound("format", BW_CHAIN_HEAD_FORMAT) +
                   string_bound("hash", hash) + string_bound("keyId", key_id) +
                   string_bound("sequence", "") + 24 + string_bound("tenant", tenant);
    jcs_t w;
    if (jcs_open(&w, arena, bound) != 0)
        return BW_ENOMEM;
    member_string(&w, "entity", entity);
    member_string(&w, "format", BW_CHAIN_HEAD_FORMAT);
    member_string(&w, "hash", hash);
    member_string(&w, "keyId", key_id);
    member_int(&w, "sequence", sequence);
    member_string(&w, "tenant", tenant);
    jcs_close(&w, out, len);
    return 0;
}

int bw_chain_encode_statement(bw_arena_t *arena, const bw_chain_statement_t *st, char **out,
                              size_t *len)
{
    *out = NULL;
    *len = 0;
    const char *strings[] = {st->format, st->tenant, st->entity, st->head_hash, st->key_id};
    if (!strings_ok(strings, sizeof(strings) / sizeof(strings[0])))
        return BW_EINVAL;
    char export_time[BW_TIME_TEXT_MAX];
    bw_time_format_us(st->export_time_us, BW_TIME_FRACTION_MICROS, export_time);
    size_t bound = string_bound("entity", st->entity) + string_bound("exportTime", export_time) +
                   string_bound("format", st->format) + string_bound("headHash", st->head_hash) +
                   string_bound("headSequence", "") + 24 + string_bound("keyId", st->key_id) +
                   string_bound("records", "") + 24 + string_bound("tenant", st->tenant);
    jcs_t w;
    if (jcs_open(&w, arena, bound) != 0)
        return BW_ENOMEM;
    member_string(&w, "entity", st->entity);
    member_string(&w, "exportTime", export_time);
    member_string(&w, "format", st->format);
    member_string(&w, "headHash", st->head_hash);
    member_int(&w, "headSequence", st->head_sequence);
    member_string(&w, "keyId", st->key_id);
    member_int(&w, "records", st->records);
    member_string(&w, "tenant", st->tenant);
    jcs_close(&w, out, len);
    return 0;
}

/* ---- verification -------------------------------------------------------- */

static const bw_key_t *find_key(const bw_key_t *const *keys, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i] != NULL && strcmp(bw_keys_id(keys[i]), id) == 0)
            return keys[i];
    return NULL;
}

static int hex_equal(const char *stored, const char *computed)
{
    return stored != NULL && strlen(stored) == BW_CHAIN_HASH_HEX &&
           bw_ct_equal(stored, computed, BW_CHAIN_HASH_HEX);
}

static void bad(bw_chain_verdict_t *v, long long sequence, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void bad(bw_chain_verdict_t *v, long long sequence, const char *reason, const char *fmt, ...)
{
    v->valid = 0;
    v->sequence = sequence;
    v->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
    va_end(ap);
}

int bw_chain_verify(bw_arena_t *arena, const char *tenant, const char *entity,
                    const bw_chain_entry_t *entries, size_t n, const bw_chain_head_t *head,
                    const bw_key_t *const *keys, size_t n_keys, bw_chain_verdict_t *out)
{
    memset(out, 0, sizeof(*out));
    out->valid = 1;
    memcpy(out->head_hash, BW_CHAIN_GENESIS, sizeof(out->head_hash));
    const char *previous = BW_CHAIN_GENESIS;
    long long expected = 1;

    for (size_t i = 0; i < n; i++, expected++) {
        const bw_chain_entry_t *e = &entries[i];
        const bw_chain_record_t *r = &e->rec;
        long long seq = r->sequence;
        out->records = (long long)i + 1;
        if (seq != expected) {
            bad(out, expected, "RECORD_MISSING", "record %lld is missing from the chain", expected);
            return 0;
        }
        char *enc;
        size_t len;
        char computed[BW_CHAIN_HASH_HEX + 1];
        int err = bw_chain_encode(arena, r, &enc, &len);
        if (err == BW_ENOMEM)
            return err;
        if (err == 0)
            bw_chain_hash(enc, len, computed);
        if (err != 0 || !hex_equal(e->hash, computed)) {
            bad(out, seq, "HASH_MISMATCH",
                "record %lld does not hash to its stored hash: a field was changed", seq);
            return 0;
        }
        if (r->previous_hash == NULL || strcmp(r->previous_hash, previous) != 0) {
            bad(out, seq, "PREVIOUS_HASH_MISMATCH",
                "record %lld does not link to the record before it", seq);
            return 0;
        }
        const bw_key_t *key = find_key(keys, n_keys, r->key_id);
        if (key == NULL) {
            bad(out, seq, "UNKNOWN_KEY", "record %lld names a signing key that is not known", seq);
            return 0;
        }
        if (!bw_keys_verify(key, enc, len, e->signature, e->signature_len)) {
            bad(out, seq, "SIGNATURE_INVALID", "the signature of record %lld does not verify", seq);
            return 0;
        }
        if (e->campaign_statement_sha256 == NULL ||
            strcmp(e->campaign_statement_sha256, r->statement_sha256) != 0) {
            bad(out, seq, "STATEMENT_MISMATCH",
                "the campaign statement of record %lld is no longer the one attested", seq);
            return 0;
        }
        previous = e->hash;
    }

    long long last = (long long)n;
    if (head == NULL) {
        if (n > 0) {
            bad(out, last, "HEAD_MISSING", "the chain head vouching for record %lld is missing",
                last);
            return 0;
        }
        return 0;
    }
    if (head->sequence > last) {
        bad(out, last + 1, "RECORD_MISSING", "record %lld is missing from the end of the chain",
            last + 1);
        return 0;
    }
    if (head->sequence < last || head->hash == NULL || strcmp(head->hash, previous) != 0) {
        long long seq = head->sequence < last ? head->sequence + 1 : last;
        bad(out, seq, "HEAD_MISMATCH", "the chain head does not vouch for record %lld", seq);
        return 0;
    }
    if (last > 0) {
        const bw_key_t *key = find_key(keys, n_keys, head->key_id != NULL ? head->key_id : "");
        char *enc;
        size_t len;
        int err = bw_chain_encode_head(arena, tenant, entity, head->sequence, head->hash,
                                       head->key_id != NULL ? head->key_id : "", &enc, &len);
        if (err == BW_ENOMEM)
            return err;
        if (err != 0 || key == NULL ||
            !bw_keys_verify(key, enc, len, head->signature, head->signature_len)) {
            bad(out, last, "HEAD_SIGNATURE_INVALID",
                "the signature of the chain head at record %lld does not verify", last);
            return 0;
        }
    }
    memcpy(out->head_hash, previous, sizeof(out->head_hash));
    return 0;
}
