/*
 * verify-export.sh, the auditor's offline check, run on exports made the
 * way the service makes them: records signed by chain.c and keys.c, the
 * readable view of export.c, rendered to JSON by the gateway's own
 * common/json.c. An intact export verifies; every readable field of every
 * record, of the head and of the campaigns, changed in turn, makes it
 * INVALID at the sequence concerned; so do records removed, reordered or
 * added to, fields added, a key the auditor does not trust, and a key given
 * twice in one object (the reader and the check would see different
 * values). The chain mixes a version 1 record (signed before record ids
 * were) with version 2 ones, and two signing keys, as after an upgrade and
 * a rotation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/attestations/v1/attestations.pb-c.h"

#include "attest.h"
#include "base64.h"
#include "chain.h"
#include "export.h"
#include "json.h"
#include "keys.h"
#include "status.h"

#ifndef BW_VERIFY_EXPORT
#error "BW_VERIFY_EXPORT must name services/attestations/verify-export.sh"
#endif

#define N_RECORDS 3

static const char *const tenant = "0190f3a0-0000-7000-8000-0000000000aa";
static const char *const entity = "0190f3a0-0000-7000-8000-0000000000bb";
static const char *const campaign_ids[2] = {"0190f3a0-0000-7000-8000-0000000000c1",
                                            "0190f3a0-0000-7000-8000-0000000000c2"};
static const char *const statements[2] = {"We approve the measures.", "Policy v3, as circulated."};

/* RFC 8032 test keys 1 and 2: the older key signed record 1, the newer one
 * the rest and the head. */
static const uint8_t seed_a[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                   0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                   0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const uint8_t seed_b[32] = {0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3,
                                   0x46, 0xec, 0x11, 0x4e, 0x0f, 0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab,
                                   0xa6, 0x24, 0xb8, 0x7c, 0xcd, 0xab, 0x8d, 0x0d, 0xec, 0x1a};

static char dir[64];
static char pem_a[96], pem_b[96];
static json_t *intact, *empty;
static char key_id_b[17];

/* What the statements sign as the export time, and as the verdict shows it. */
#define EXPORT_TIME_US 1718020000000000LL
#define EXPORT_TIME "2024-06-10T11:46:40.000000Z"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    fclose(f);
}

/* Builds the export of a three-record chain, as JSON (caller decrefs). */
static json_t *build_export(bw_arena_t *arena, bw_key_t *a, bw_key_t *b)
{
    static char hashes[N_RECORDS][65], sha[2][65];
    static uint8_t sigs[N_RECORDS][64], head_sig[64];
    bw_chain_entry_t e[N_RECORDS];
    memset(e, 0, sizeof(e));
    for (int c = 0; c < 2; c++)
        bw_chain_hash(statements[c], strlen(statements[c]), sha[c]);
    static const char *const ids[N_RECORDS] = {"0190f3a0-0000-7000-8000-0000000000e1",
                                               "0190f3a0-0000-7000-8000-0000000000e2",
                                               "0190f3a0-0000-7000-8000-0000000000e3"};
    static const char *const names[N_RECORDS] = {"Ann \"the Chair\" \xc3\x89mile", "Bob", "Cy"};
    static const char *const decisions[N_RECORDS] = {"APPROVE", "APPROVE", "REJECT"};
    static const int campaign_of[N_RECORDS] = {0, 1, 0};
    const bw_key_t *signer[N_RECORDS] = {a, b, b};
    for (int i = 0; i < N_RECORDS; i++) {
        bw_chain_record_t *r = &e[i].rec;
        r->version = i == 0 ? BW_CHAIN_V1 : BW_CHAIN_V2;
        r->id = ids[i];
        r->tenant = tenant;
        r->entity = entity;
        r->sequence = i + 1;
        r->campaign = campaign_ids[campaign_of[i]];
        r->kind = campaign_of[i] == 0 ? "RISK_MEASURES_APPROVAL" : "POLICY_APPROVAL";
        r->member = ids[i]; /* any id will do */
        r->member_name = names[i];
        r->decision = decisions[i];
        r->comment = i == 1 ? "Seen the plan;\napproved \"as is\"" : "";
        r->statement_sha256 = sha[campaign_of[i]];
        r->recorded_at_us = 1718010900123456LL + i * 1000000LL + (i == 2 ? -123456 : 0);
        r->recorded_by = i == 1 ? "api-key:0190f3a0-0000-7000-8000-0000000000f1" : "jwt:idp:ann";
        r->on_behalf = i == 1;
        r->key_id = bw_keys_id(signer[i]);
        r->previous_hash = i == 0 ? BW_CHAIN_GENESIS : hashes[i - 1];
        char *enc;
        size_t len;
        ck_assert_int_eq(bw_chain_encode(arena, r, &enc, &len), 0);
        bw_chain_hash(enc, len, hashes[i]);
        ck_assert_int_eq(bw_keys_sign(signer[i], enc, len, sigs[i]), 0);
        e[i].hash = hashes[i];
        e[i].signature = sigs[i];
        e[i].signature_len = 64;
        e[i].campaign_statement_sha256 = sha[campaign_of[i]];
    }
    bw_chain_head_t head = {N_RECORDS, hashes[N_RECORDS - 1], bw_keys_id(b), head_sig, 64};
    char *enc;
    size_t len;
    ck_assert_int_eq(bw_chain_encode_head(arena, tenant, entity, head.sequence, head.hash,
                                          head.key_id, &enc, &len),
                     0);
    ck_assert_int_eq(bw_keys_sign(b, enc, len, head_sig), 0);

    Bulwark__Attestations__V1__ChainExport x = BULWARK__ATTESTATIONS__V1__CHAIN_EXPORT__INIT;
    x.format = BW_EXPORT_FORMAT;
    x.tenant = (char *)tenant;
    x.entity = (char *)entity;
    x.export_time = bw_store_timestamp_us(arena, EXPORT_TIME_US);
    Bulwark__Attestations__V1__Attestation *records[N_RECORDS];
    for (int i = 0; i < N_RECORDS; i++)
        ck_assert_int_eq(bw_export_record(arena, &e[i], &records[i]), 0);
    x.records = records;
    x.n_records = N_RECORDS;
    ck_assert_int_eq(bw_export_head(arena, tenant, entity, &head, &x.head), 0);
    Bulwark__Attestations__V1__ExportedCampaign campaigns[2], *campaign_list[2];
    for (int c = 0; c < 2; c++) {
        bulwark__attestations__v1__exported_campaign__init(&campaigns[c]);
        campaigns[c].id = (char *)campaign_ids[c];
        campaigns[c].entity = (char *)entity;
        campaigns[c].kind = c == 0
                                ? BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__RISK_MEASURES_APPROVAL
                                : BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__POLICY_APPROVAL;
        campaigns[c].statement = (char *)statements[c];
        campaigns[c].statement_sha256 = sha[c];
        campaign_list[c] = &campaigns[c];
    }
    x.campaigns = campaign_list;
    x.n_campaigns = 2;
    Bulwark__Attestations__V1__PublicKey keys[2], *key_list[2];
    const bw_key_t *pair[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        bulwark__attestations__v1__public_key__init(&keys[k]);
        keys[k].key_id = (char *)bw_keys_id(pair[k]);
        keys[k].algorithm = BW_KEYS_ALGORITHM;
        ck_assert_int_eq(bw_keys_public_pem(pair[k], arena, &keys[k].pem), 0);
        keys[k].raw.data = (uint8_t *)bw_keys_public(pair[k]);
        keys[k].raw.len = BW_KEYS_RAW_LEN;
        keys[k].current = k == 1;
        keys[k].create_time = bw_store_timestamp_us(arena, 1700000000000000LL + k);
        key_list[k] = &keys[k];
    }
    x.keys = key_list;
    x.n_keys = 2;
    const bw_key_t *ring[2] = {a, b};
    bw_chain_verdict_t verdict;
    ck_assert_int_eq(bw_chain_verify(arena, tenant, entity, e, N_RECORDS, &head, ring, 2, &verdict),
                     0);
    ck_assert_msg(verdict.valid, "%s", verdict.detail);
    Bulwark__Attestations__V1__ChainVerification v =
        BULWARK__ATTESTATIONS__V1__CHAIN_VERIFICATION__INIT;
    v.valid = 1;
    v.records = N_RECORDS;
    v.head_hash = verdict.head_hash;
    v.reason = "";
    v.detail = "";
    x.verification = &v;
    ck_assert_int_eq(bw_export_sign(arena, b, &x), 0);
    json_t *doc = bw_pb_to_json(&x.base);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* The export of an entity without records, as the service makes it: no
 * head, no campaigns, the current key (b), which signs the statement. */
static json_t *build_empty_export(bw_arena_t *arena, bw_key_t *b)
{
    Bulwark__Attestations__V1__ChainExport x = BULWARK__ATTESTATIONS__V1__CHAIN_EXPORT__INIT;
    x.format = BW_EXPORT_FORMAT;
    x.tenant = (char *)tenant;
    x.entity = (char *)entity;
    x.export_time = bw_store_timestamp_us(arena, EXPORT_TIME_US);
    Bulwark__Attestations__V1__PublicKey key, *key_list[1] = {&key};
    bulwark__attestations__v1__public_key__init(&key);
    key.key_id = (char *)bw_keys_id(b);
    key.algorithm = BW_KEYS_ALGORITHM;
    ck_assert_int_eq(bw_keys_public_pem(b, arena, &key.pem), 0);
    key.raw.data = (uint8_t *)bw_keys_public(b);
    key.raw.len = BW_KEYS_RAW_LEN;
    key.current = 1;
    x.keys = key_list;
    x.n_keys = 1;
    Bulwark__Attestations__V1__ChainVerification v =
        BULWARK__ATTESTATIONS__V1__CHAIN_VERIFICATION__INIT;
    v.valid = 1;
    v.head_hash = BW_CHAIN_GENESIS;
    v.reason = "";
    v.detail = "";
    x.verification = &v;
    ck_assert_int_eq(bw_export_sign(arena, b, &x), 0);
    json_t *doc = bw_pb_to_json(&x.base);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/bw-verify-export-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    bw_arena_t *arena = bw_arena_create(16384);
    bw_key_t *a, *b;
    ck_assert_int_eq(bw_keys_from_seed(seed_a, &a), 0);
    ck_assert_int_eq(bw_keys_from_seed(seed_b, &b), 0);
    char *pem;
    snprintf(pem_a, sizeof(pem_a), "%s/a.pem", dir);
    snprintf(pem_b, sizeof(pem_b), "%s/b.pem", dir);
    ck_assert_int_eq(bw_keys_public_pem(a, arena, &pem), 0);
    write_text(pem_a, pem);
    ck_assert_int_eq(bw_keys_public_pem(b, arena, &pem), 0);
    write_text(pem_b, pem);
    intact = build_export(arena, a, b);
    empty = build_empty_export(arena, b);
    snprintf(key_id_b, sizeof(key_id_b), "%s", bw_keys_id(b));
    bw_keys_free(a);
    bw_keys_free(b);
    bw_arena_destroy(arena);
}

static void teardown(void)
{
    json_decref(intact);
    json_decref(empty);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs the script on the file at path with the given keys; returns its
 * exit status and its output in out. */
static int run_file(const char *path, const char *keys, char *out, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "bash '%s' '%s' %s 2>&1", BW_VERIFY_EXPORT, path, keys);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* run_file on doc, written as the gateway writes it. */
static int run(json_t *doc, const char *keys, char *out, size_t size)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/export.json", dir);
    ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(2) | JSON_ENCODE_ANY), 0);
    return run_file(path, keys, out, size);
}

static char both_keys[256];

static const char *trusted(void)
{
    snprintf(both_keys, sizeof(both_keys), "'%s' '%s'", pem_a, pem_b);
    return both_keys;
}

/* Asserts that doc is INVALID at sequence seq (0: "INVALID:" without one). */
static void expect_invalid(json_t *doc, int seq, const char *what)
{
    char out[1024], want[64];
    int rc = run(doc, trusted(), out, sizeof(out));
    if (seq > 0)
        snprintf(want, sizeof(want), "INVALID at sequence %d:", seq);
    else
        snprintf(want, sizeof(want), "INVALID:");
    ck_assert_msg(rc == 1 && strstr(out, want) != NULL, "%s: want \"%s\", got %d: %s", what, want,
                  rc, out);
}

START_TEST(an_intact_export_verifies)
{
    char out[1024];
    int rc = run(intact, trusted(), out, sizeof(out));
    ck_assert_msg(rc == 0, "%s", out);
    const char *head = json_string_value(json_object_get(json_object_get(intact, "head"), "hash"));
    char want[256];
    snprintf(want, sizeof(want), "valid: 3 records, head %s, entity %s, exported %s\n", head,
             entity, EXPORT_TIME);
    ck_assert_str_eq(out, want);
    /* The version 1 record shows no id: its signature does not cover one. */
    json_t *records = json_object_get(intact, "records");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(records, 0), "id")), "");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(records, 1), "id")),
                     "0190f3a0-0000-7000-8000-0000000000e2");
}
END_TEST

/* A different value of the same JSON type: a flipped boolean, another
 * decision or kind, a time one second off, a base64 text changed in its
 * middle, an id for an empty text, else the last letter or digit changed. */
static json_t *changed(const char *key, json_t *value)
{
    if (json_is_boolean(value))
        return json_boolean(!json_is_true(value));
    if (json_is_integer(value))
        return json_integer(json_integer_value(value) + 1);
    const char *s = json_string_value(value);
    ck_assert_ptr_nonnull(s);
    if (strcmp(key, "decision") == 0)
        return json_string(strcmp(s, "APPROVE") == 0 ? "REJECT" : "APPROVE");
    if (strcmp(key, "kind") == 0)
        return json_string(strcmp(s, "MANAGEMENT_TRAINING") == 0 ? "POLICY_APPROVAL"
                                                                 : "MANAGEMENT_TRAINING");
    if (s[0] == '\0')
        return json_string("0190f3a0-0000-7000-8000-0000000000ee");
    char *copy = strdup(s);
    size_t n = strlen(copy);
    size_t at = n - 1;
    if (strcmp(key, "canonical") == 0 || strcmp(key, "signature") == 0 || strcmp(key, "raw") == 0 ||
        strcmp(key, "pem") == 0)
        at = n / 2;
    else if (strcmp(key, "recordedAt") == 0)
        at = 18; /* the last digit of the seconds */
    while (at > 0 && !(copy[at] >= '0' && copy[at] <= '9') &&
           !((copy[at] | 0x20) >= 'a' && (copy[at] | 0x20) <= 'z'))
        at--;
    char c = copy[at];
    copy[at] = c == '9' ? '0' : c == 'z' ? 'a' : c == 'Z' ? 'A' : (char)(c + 1);
    json_t *out = json_string(copy);
    free(copy);
    return out;
}

/* Changes member key of the object at obj in a copy of the export, in
 * turn for every key, and expects INVALID at seq. skip lists keys left
 * alone (NULL-terminated). */
static void each_field(json_t *(*locate)(json_t *doc, size_t i), size_t i, int seq,
                       const char *const *skip)
{
    json_t *probe = locate(intact, i);
    const char *key;
    json_t *value;
    int changed_fields = 0;
    json_object_foreach(probe, key, value)
    {
        int skipped = 0;
        for (size_t k = 0; skip != NULL && skip[k] != NULL; k++)
            skipped |= strcmp(skip[k], key) == 0;
        if (skipped)
            continue;
        json_t *doc = json_deep_copy(intact);
        json_object_set_new(locate(doc, i), key, changed(key, value));
        char what[160];
        snprintf(what, sizeof(what), "item %zu, field %s", i, key);
        expect_invalid(doc, seq, what);
        json_decref(doc);
        changed_fields++;
    }
    ck_assert_int_gt(changed_fields, 3);
}

static json_t *record_at(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "records"), i);
}

static json_t *head_of(json_t *doc, size_t i)
{
    (void)i;
    return json_object_get(doc, "head");
}

static json_t *campaign_at(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "campaigns"), i);
}

static json_t *key_at(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "keys"), i);
}

static json_t *verification_of(json_t *doc, size_t i)
{
    (void)i;
    return json_object_get(doc, "verification");
}

static json_t *statement_of(json_t *doc, size_t i)
{
    (void)i;
    return json_object_get(doc, "statement");
}

START_TEST(every_readable_field_of_every_record_is_checked)
{
    for (size_t i = 0; i < N_RECORDS; i++)
        each_field(record_at, i, (int)i + 1, NULL);
    /* The case of the issue: APPROVE made REJECT in the readable record. */
    json_t *doc = json_deep_copy(intact);
    json_object_set_new(record_at(doc, 1), "decision", json_string("REJECT"));
    expect_invalid(doc, 2, "decision APPROVE -> REJECT");
    json_decref(doc);
}
END_TEST

static int base64_value(unsigned char c)
{
    return bw_base64_digit(c, '+', '/');
}

/* A record whose signed bytes name no key (keyId "") is invalid, and the
 * script says so on its line: it stopped on bash's "bad array subscript"
 * without its INVALID line. */
START_TEST(a_record_naming_no_key_is_invalid_and_said)
{
    json_t *doc = json_deep_copy(intact);
    json_t *rec = record_at(doc, 0);
    const char *b64 = json_string_value(json_object_get(rec, "canonical"));
    size_t n = strlen(b64), len = 0;
    while (n > 0 && b64[n - 1] == '=')
        n--;
    uint8_t bytes[4096];
    unsigned spare = 0;
    ck_assert_int_eq(bw_base64_decode(b64, n, base64_value, bytes, sizeof(bytes), &len, &spare), 0);
    json_t *canonical = json_loadb((const char *)bytes, len, 0, NULL);
    ck_assert_ptr_nonnull(canonical);
    json_object_set_new(canonical, "keyId", json_string(""));
    char *text = json_dumps(canonical, JSON_COMPACT | JSON_SORT_KEYS);
    char encoded[8192];
    size_t m = bw_base64_encode((const uint8_t *)text, strlen(text), encoded);
    encoded[m] = '\0';
    json_object_set_new(rec, "canonical", json_string(encoded));
    expect_invalid(doc, 1, "keyId \"\"");
    free(text);
    json_decref(canonical);
    json_decref(doc);
}
END_TEST

START_TEST(the_head_and_the_campaigns_are_checked)
{
    each_field(head_of, 0, N_RECORDS, NULL);
    /* Campaign 1 is first signed by record 1, campaign 2 by record 2. */
    each_field(campaign_at, 0, 1, NULL);
    each_field(campaign_at, 1, 2, NULL);
    /* A listed key must be the key its PEM holds and sign something here,
     * reported at the end of the chain; whether the service calls it
     * current, and since when, is the service's own statement. */
    static const char *const key_statements[] = {"current", "createTime", NULL};
    each_field(key_at, 0, N_RECORDS, key_statements);
    each_field(key_at, 1, N_RECORDS, key_statements);
    /* The service's verdict must agree. */
    ck_assert_ptr_nonnull(verification_of(intact, 0));
    each_field(verification_of, 0, N_RECORDS, NULL);
    /* The envelope: tenant and entity are those every record signs. */
    json_t *doc = json_deep_copy(intact);
    json_object_set_new(doc, "tenant", json_string("0190f3a0-0000-7000-8000-0000000000ab"));
    expect_invalid(doc, 1, "tenant");
    json_decref(doc);
    doc = json_deep_copy(intact);
    json_object_set_new(doc, "entity", json_string("0190f3a0-0000-7000-8000-0000000000bc"));
    expect_invalid(doc, 1, "entity");
    json_decref(doc);
    doc = json_deep_copy(intact);
    json_object_set_new(doc, "format", json_string("bulwark.attestation-export.v1"));
    expect_invalid(doc, 0, "format");
    json_decref(doc);
}
END_TEST

START_TEST(records_removed_reordered_or_added_to)
{
    /* The last record gone: the head still vouches for it. */
    json_t *doc = json_deep_copy(intact);
    json_array_remove(json_object_get(doc, "records"), 2);
    expect_invalid(doc, 3, "last record removed");
    json_decref(doc);
    /* The middle one gone. */
    doc = json_deep_copy(intact);
    json_array_remove(json_object_get(doc, "records"), 1);
    expect_invalid(doc, 2, "middle record removed");
    json_decref(doc);
    /* Every record gone, the head kept. */
    doc = json_deep_copy(intact);
    json_array_clear(json_object_get(doc, "records"));
    expect_invalid(doc, 1, "all records removed");
    json_decref(doc);
    /* The head gone. */
    doc = json_deep_copy(intact);
    json_object_del(doc, "head");
    expect_invalid(doc, 3, "head removed");
    json_decref(doc);
    /* Two records swapped. */
    doc = json_deep_copy(intact);
    json_t *records = json_object_get(doc, "records");
    json_t *first = json_incref(json_array_get(records, 0));
    json_array_set(records, 0, json_array_get(records, 1));
    json_array_set_new(records, 1, first);
    expect_invalid(doc, 1, "records swapped");
    json_decref(doc);
    /* A field no signature covers, on a record, the head, a campaign. */
    doc = json_deep_copy(intact);
    json_object_set_new(record_at(doc, 1), "note", json_string("approved after all"));
    expect_invalid(doc, 2, "extra record field");
    json_decref(doc);
    doc = json_deep_copy(intact);
    json_object_set_new(campaign_at(doc, 1), "dueAt", json_string("2024-01-01T00:00:00Z"));
    expect_invalid(doc, 2, "extra campaign field");
    json_decref(doc);
    /* A campaign gone, or one no record signs. */
    doc = json_deep_copy(intact);
    json_array_remove(json_object_get(doc, "campaigns"), 0);
    expect_invalid(doc, 1, "campaign removed");
    json_decref(doc);
    doc = json_deep_copy(intact);
    json_t *extra = json_deep_copy(campaign_at(doc, 1));
    json_object_set_new(extra, "id", json_string("0190f3a0-0000-7000-8000-0000000000c9"));
    json_array_append_new(json_object_get(doc, "campaigns"), extra);
    expect_invalid(doc, N_RECORDS, "campaign nobody signed");
    json_decref(doc);
    /* The records of the newer key, without that key trusted. */
    char out[1024], only_a[128];
    snprintf(only_a, sizeof(only_a), "'%s'", pem_a);
    ck_assert_int_eq(run(intact, only_a, out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, "INVALID at sequence 2: signed by key") != NULL, "%s", out);
    /* Not an export at all. */
    doc = json_string("nothing");
    expect_invalid(doc, 0, "not an object");
    json_decref(doc);
}
END_TEST

/* The intact export as text with insert put before the first occurrence of
 * at (caller frees). A parsed document cannot hold a key twice: the text
 * can. */
static char *text_with(const char *at, const char *insert)
{
    char *text = json_dumps(intact, JSON_INDENT(2));
    ck_assert_ptr_nonnull(text);
    char *where = strstr(text, at);
    ck_assert_msg(where != NULL, "no %s in the export", at);
    size_t size = strlen(text) + strlen(insert) + 1;
    char *out = malloc(size);
    snprintf(out, size, "%.*s%s%s", (int)(where - text), text, insert, where);
    free(text);
    return out;
}

/* Runs the script on text and expects "INVALID: the key <path> appears
 * twice". */
static void expect_duplicate(const char *text, const char *path)
{
    char file[128], out[1024], want[128];
    snprintf(file, sizeof(file), "%s/export.json", dir);
    write_text(file, text);
    int rc = run_file(file, trusted(), out, sizeof(out));
    snprintf(want, sizeof(want), "INVALID: the key %s appears twice in one object", path);
    ck_assert_msg(rc == 1 && strstr(out, want) != NULL, "want \"%s\", got %d: %s", want, rc, out);
}

/* jq keeps the last of a key given twice: record 3 signs REJECT, and read as
 * "decision": "APPROVE", "decision": "REJECT" it showed a person APPROVE
 * while the script checked REJECT and printed valid. Any key twice in any
 * object is refused, naming its path. */
START_TEST(a_key_twice_in_one_object_is_refused)
{
    char *text = text_with("\"decision\": \"REJECT\"", "\"decision\": \"APPROVE\",\n");
    expect_duplicate(text, ".records[2].decision");
    free(text);
    /* The same value twice, at the top. */
    char insert[128];
    snprintf(insert, sizeof(insert), "\"tenant\": \"%s\", ", tenant);
    text = text_with("\"tenant\": ", insert);
    expect_duplicate(text, ".tenant");
    free(text);
    /* An object given twice: its first value ended before the second began. */
    text = text_with("\"head\": {", "\"head\": {\"sequence\": \"9\"}, ");
    expect_duplicate(text, ".head");
    free(text);
    /* Deep inside, in a field no signature covers. */
    text = text_with("\"current\": true", "\"current\": false, ");
    expect_duplicate(text, ".keys[1].current");
    free(text);
    /* The same keys in different objects are no duplicate. */
    text = text_with("\"tenant\": ", "");
    char file[128], out[1024];
    snprintf(file, sizeof(file), "%s/export.json", dir);
    write_text(file, text);
    ck_assert_msg(run_file(file, trusted(), out, sizeof(out)) == 0, "%s", out);
    free(text);
}
END_TEST

/* Runs the script on doc with both keys trusted and expects its output to
 * hold want, exiting with rc. */
static void expect_output(json_t *doc, int rc, const char *want, const char *what)
{
    char out[1024];
    int got = run(doc, trusted(), out, sizeof(out));
    ck_assert_msg(got == rc && strstr(out, want) != NULL, "%s: want %d \"%s\", got %d: %s", what,
                  rc, want, got, out);
}

/* The statement the service signs binds what nothing else did: the export
 * time, and the tenant, the entity and the number of records of an export
 * whatever records it holds. The script said "valid" for an export re-dated
 * by hand, and "valid: 0 records" for one emptied of its records, head and
 * keys. */
START_TEST(the_statement_binds_the_export_as_a_whole)
{
    /* Each of its readable fields, changed, is caught. */
    each_field(statement_of, 0, 0, NULL);
    /* Re-dated: an old export handed over as today's. */
    json_t *doc = json_deep_copy(intact);
    json_object_set_new(doc, "exportTime", json_string("2026-12-07T10:00:00Z"));
    expect_output(doc, 1,
                  "INVALID: the exportTime 2026-12-07T10:00:00Z is not the one the statement "
                  "signs, " EXPORT_TIME,
                  "re-dated");
    /* ... with the statement's readable time changed to match. */
    json_object_set_new(statement_of(doc, 0), "exportTime", json_string("2026-12-07T10:00:00Z"));
    expect_output(doc, 1, "INVALID: the readable exportTime of the statement is not what it signs",
                  "re-dated with its statement");
    json_decref(doc);
    /* The time as the statement signs it, at another precision, is the
     * same time. */
    doc = json_deep_copy(intact);
    json_object_set_new(doc, "exportTime", json_string("2024-06-10T11:46:40Z"));
    expect_output(doc, 0, "exported " EXPORT_TIME, "the time without its fraction");
    json_decref(doc);
    /* Emptied: no records, no head, no campaigns, only the key that signs
     * the statement, and the service's verdict made to fit. */
    doc = json_deep_copy(intact);
    json_array_clear(json_object_get(doc, "records"));
    json_array_clear(json_object_get(doc, "campaigns"));
    json_object_del(doc, "head");
    json_array_remove(json_object_get(doc, "keys"), 0);
    json_object_set_new(verification_of(doc, 0), "records", json_string("0"));
    json_object_set_new(verification_of(doc, 0), "headHash", json_string(BW_CHAIN_GENESIS));
    expect_output(doc, 1, "INVALID: the export holds 0 records; its statement signs 3", "emptied");
    json_decref(doc);
    /* No statement at all. */
    doc = json_deep_copy(intact);
    json_object_del(doc, "statement");
    expect_output(doc, 1, "INVALID: the export carries no signed statement", "no statement");
    json_decref(doc);
    /* The statement of an earlier export of this entity, made before any
     * record, put on this one: signed, but of no records and no head. */
    doc = json_deep_copy(intact);
    json_object_set(doc, "statement", json_object_get(empty, "statement"));
    expect_output(doc, 1, "INVALID: the export holds 3 records; its statement signs 0",
                  "another statement");
    json_decref(doc);
}
END_TEST

/* An entity without records: the statement is all that names it. */
START_TEST(an_export_without_records_is_bound_by_its_statement)
{
    char want[256];
    snprintf(want, sizeof(want), "valid: 0 records, head %s, entity %s, exported " EXPORT_TIME "\n",
             BW_CHAIN_GENESIS, entity);
    expect_output(empty, 0, want, "empty export");
    json_t *doc = json_deep_copy(empty);
    json_object_set_new(doc, "entity", json_string("0190f3a0-0000-7000-8000-0000000000bc"));
    expect_output(doc, 1, "INVALID: the export names another tenant or entity than its statement",
                  "another entity");
    json_object_set_new(statement_of(doc, 0), "entity",
                        json_string("0190f3a0-0000-7000-8000-0000000000bc"));
    expect_output(doc, 1, "INVALID: the readable entity of the statement is not what it signs",
                  "another entity, statement too");
    json_decref(doc);
    doc = json_deep_copy(empty);
    json_object_set_new(doc, "exportTime", json_string("2026-12-07T10:00:00Z"));
    expect_output(doc, 1, "INVALID: the exportTime", "re-dated");
    json_decref(doc);
    /* The signature, by a key the auditor does not trust. */
    char out[1024], only_a[128];
    snprintf(only_a, sizeof(only_a), "'%s'", pem_a);
    ck_assert_int_eq(run(empty, only_a, out, sizeof(out)), 1);
    char untrusted[160];
    snprintf(untrusted, sizeof(untrusted),
             "INVALID: the statement is signed by key %s, which is not among the trusted keys",
             key_id_b);
    ck_assert_msg(strstr(out, untrusted) != NULL, "%s", out);
    /* Its bytes changed under the signature. */
    doc = json_deep_copy(empty);
    json_t *st = statement_of(doc, 0);
    json_t *sig = changed("signature", json_object_get(st, "signature"));
    json_object_set_new(st, "signature", sig);
    expect_output(doc, 1, "INVALID: the signature of the statement does not verify", "signature");
    json_decref(doc);
}
END_TEST

Suite *suite_verify_export(void)
{
    Suite *s = suite_create("verify-export.sh");
    TCase *tc = tcase_create("offline check");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, an_intact_export_verifies);
    tcase_add_test(tc, every_readable_field_of_every_record_is_checked);
    tcase_add_test(tc, a_record_naming_no_key_is_invalid_and_said);
    tcase_add_test(tc, the_head_and_the_campaigns_are_checked);
    tcase_add_test(tc, records_removed_reordered_or_added_to);
    tcase_add_test(tc, a_key_twice_in_one_object_is_refused);
    tcase_add_test(tc, the_statement_binds_the_export_as_a_whole);
    tcase_add_test(tc, an_export_without_records_is_bound_by_its_statement);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite_verify_export());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
