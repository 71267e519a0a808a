/*
 * Unit tests of the attestations service's pure parts: Ed25519 against the
 * RFC 8032 vectors, the canonical encoding and its hash and signature
 * against vectors computed independently (Python's json.dumps with sorted
 * keys, compact separators and ensure_ascii=False, which coincides with
 * RFC 8785 for strings, integers and booleans; hashlib; the cryptography
 * package), chain verification under every kind of tampering, key
 * rotation, the majority rule and the governance status; and the times a
 * caller sends, refused out of range before anything converts them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaigns.h"
#include "chain.h"
#include "export.h"
#include "governance.h"
#include "keys.h"
#include "members.h"
#include "status.h"
#include "store.h"
#include "times.h"

/* RFC 8032 section 7.1, TEST 1 and TEST 2. */
static const char *const seed1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *const pub1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char *const sig1 =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
    "b46bd25bf5f0595bbe24655141438e7a100b";
static const char *const seed2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
static const char *const pub2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
static const char *const sig2 =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
    "1d8c387b2eaeb4302aeeb00d291612bb0c00";

/* TEST 1's key as `openssl pkey` writes it. */
static const char *const pem1 = "-----BEGIN PRIVATE KEY-----\n"
                                "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                                "-----END PRIVATE KEY-----\n";
static const char *const pem_p256 =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnmTNxQOCGRBgcv6N\n"
    "CaWcNwlRWPWGj4vo7VnIwhsSaTihRANCAAQPXghrlt1ZXtsuzT2+pWUj+yKypgRo\n"
    "SB4Av4SnaTsDKow0QkJN/rTB5lcxaUTiQXscR9p8zEXjuDZotJr6LiEi\n"
    "-----END PRIVATE KEY-----\n";

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    ck_assert_uint_eq(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void tohex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static bw_key_t *key_from_seed(const char *seed_hex)
{
    uint8_t seed[32];
    unhex(seed_hex, seed, 32);
    bw_key_t *key;
    ck_assert_int_eq(bw_keys_from_seed(seed, &key), 0);
    return key;
}

/* Writes text to a new temporary file; returns its path (caller frees and
 * unlinks). */
static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/bw-attest-test-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(rfc8032_vectors)
{
    const char *seeds[] = {seed1, seed2}, *pubs[] = {pub1, pub2}, *sigs[] = {sig1, sig2};
    const uint8_t msg2[] = {0x72};
    const uint8_t *msgs[] = {(const uint8_t *)"", msg2};
    size_t lens[] = {0, 1};
    for (int i = 0; i < 2; i++) {
        bw_key_t *key = key_from_seed(seeds[i]);
        char hex[129];
        tohex(bw_keys_public(key), 32, hex);
        ck_assert_str_eq(hex, pubs[i]);
        uint8_t sig[64];
        ck_assert_int_eq(bw_keys_sign(key, msgs[i], lens[i], sig), 0);
        tohex(sig, 64, hex);
        ck_assert_str_eq(hex, sigs[i]);
        ck_assert_int_eq(bw_keys_verify(key, msgs[i], lens[i], sig, 64), 1);
        sig[10] ^= 0x01;
        ck_assert_int_eq(bw_keys_verify(key, msgs[i], lens[i], sig, 64), 0);
        ck_assert_int_eq(bw_keys_verify(key, msgs[i], lens[i], sig, 63), 0);
        bw_keys_free(key);
    }
}
END_TEST

START_TEST(key_ids_and_public_keys)
{
    bw_key_t *key = key_from_seed(seed1);
    /* hashlib.sha256(bytes.fromhex(pub1)).hexdigest()[:16] */
    ck_assert_str_eq(bw_keys_id(key), "21fe31dfa154a261");
    uint8_t raw[32];
    unhex(pub1, raw, 32);
    bw_key_t *pub;
    ck_assert_int_eq(bw_keys_from_public(raw, 32, &pub), 0);
    ck_assert_str_eq(bw_keys_id(pub), "21fe31dfa154a261");
    ck_assert(!bw_keys_can_sign(pub));
    uint8_t sig[64];
    ck_assert_int_eq(bw_keys_sign(pub, "x", 1, sig), BW_EINVAL);
    ck_assert_int_eq(bw_keys_sign(key, "x", 1, sig), 0);
    ck_assert_int_eq(bw_keys_verify(pub, "x", 1, sig, 64), 1);
    bw_key_t *none;
    ck_assert_int_eq(bw_keys_from_public(raw, 31, &none), BW_EINVAL);
    ck_assert_ptr_null(none);

    bw_arena_t *arena = bw_arena_create(1024);
    char *pem;
    ck_assert_int_eq(bw_keys_public_pem(pub, arena, &pem), 0);
    ck_assert_str_eq(pem, "-----BEGIN PUBLIC KEY-----\n"
                          "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                          "-----END PUBLIC KEY-----\n");
    bw_arena_destroy(arena);
    bw_keys_free(pub);
    bw_keys_free(key);
}
END_TEST

START_TEST(pem_files)
{
    char err[256];
    bw_key_t *key;
    char *path = temp_file(pem1);
    ck_assert_int_eq(bw_keys_load_private(path, &key, err, sizeof(err)), 0);
    ck_assert_str_eq(bw_keys_id(key), "21fe31dfa154a261");
    ck_assert(bw_keys_can_sign(key));
    bw_keys_free(key);
    unlink(path);
    free(path);

    path = temp_file(pem_p256);
    ck_assert_int_eq(bw_keys_load_private(path, &key, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_null(key);
    ck_assert_ptr_nonnull(strstr(err, "not an Ed25519 key"));
    unlink(path);
    free(path);

    /* A key file its group or others may read is refused, whatever it holds. */
    static const mode_t loose[] = {0640, 0604, 0620, 0610, 0666};
    path = temp_file(pem1);
    for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
        ck_assert_int_eq(chmod(path, loose[i]), 0);
        ck_assert_int_eq(bw_keys_load_private(path, &key, err, sizeof(err)), BW_EINVAL);
        ck_assert_ptr_null(key);
        ck_assert_msg(strstr(err, "accessible to its group or to others") != NULL &&
                          strstr(err, "chmod 600") != NULL,
                      "%s", err);
    }
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_int_eq(bw_keys_load_private(path, &key, err, sizeof(err)), 0);
    bw_keys_free(key);
    unlink(path);
    free(path);
    /* A directory is no key file. */
    ck_assert_int_eq(bw_keys_load_private("/tmp", &key, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));

    path = temp_file("not a key\n");
    ck_assert_int_eq(bw_keys_load_private(path, &key, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "no PEM private key"));
    unlink(path);
    ck_assert_int_eq(bw_keys_load_private(path, &key, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "could not open"));
    free(path);
}
END_TEST

/* The record of the encoding vector. */
static bw_chain_record_t vector_record(void)
{
    bw_chain_record_t r = {
        .version = BW_CHAIN_V1,
        .id = "0190f3a0-0000-7000-8000-000000000005",
        .tenant = "0190f3a0-0000-7000-8000-000000000001",
        .entity = "0190f3a0-0000-7000-8000-000000000002",
        .sequence = 1,
        .campaign = "0190f3a0-0000-7000-8000-000000000003",
        .kind = "RISK_MEASURES_APPROVAL",
        .member = "0190f3a0-0000-7000-8000-000000000004",
        .member_name = "Zo\xc3\xab \"Z\" O'Neil",
        .decision = "APPROVE",
        .comment = "Approved.\nSee minutes\t\xc2\xa7"
                   "4 \\ ok\x01\x7f \xe2\x82\xac\r\b\f/",
        .statement_sha256 = "3ef678f01ff05bdd58a0fbea2b5ec3cd47b4d0753ed8305f9ca5f8c84875a9fa",
        .recorded_at_us = 1718010900123456LL,
        .recorded_by = "api-key:0190f3a0-0000-7000-8000-000000000009",
        .on_behalf = 1,
        .key_id = "21fe31dfa154a261",
        .previous_hash = BW_CHAIN_GENESIS,
    };
    return r;
}

START_TEST(canonical_encoding_vector)
{
    bw_arena_t *arena = bw_arena_create(1024);
    bw_chain_record_t r = vector_record();
    char *enc;
    size_t len;
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), 0);
    const char *want =
        "{\"campaign\":\"0190f3a0-0000-7000-8000-000000000003\","
        "\"comment\":\"Approved.\\nSee minutes\\t\xc2\xa7"
        "4 \\\\ ok\\u0001\x7f \xe2\x82\xac\\r\\b\\f/\","
        "\"decision\":\"APPROVE\",\"entity\":\"0190f3a0-0000-7000-8000-000000000002\","
        "\"format\":\"bulwark.attestation.v1\",\"keyId\":\"21fe31dfa154a261\","
        "\"kind\":\"RISK_MEASURES_APPROVAL\",\"member\":\"0190f3a0-0000-7000-8000-000000000004\","
        "\"memberName\":\"Zo\xc3\xab \\\"Z\\\" O'Neil\",\"onBehalf\":true,"
        "\"previousHash\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"recordedAt\":\"2024-06-10T09:15:00.123456Z\","
        "\"recordedBy\":\"api-key:0190f3a0-0000-7000-8000-000000000009\",\"sequence\":1,"
        "\"statementSha256\":\"3ef678f01ff05bdd58a0fbea2b5ec3cd47b4d0753ed8305f9ca5f8c84875a9fa\","
        "\"tenant\":\"0190f3a0-0000-7000-8000-000000000001\"}";
    ck_assert_str_eq(enc, want);
    ck_assert_uint_eq(len, strlen(want));

    char hash[65];
    bw_chain_hash(enc, len, hash);
    ck_assert_str_eq(hash, "d1fc69f61915c7887cccece30912cb909108db4bf59e3531f5d9e23f04c32875");
    bw_key_t *key = key_from_seed(seed1);
    uint8_t sig[64];
    char sig_hex[129];
    ck_assert_int_eq(bw_keys_sign(key, enc, len, sig), 0);
    tohex(sig, 64, sig_hex);
    ck_assert_str_eq(sig_hex, "506d9478a5f6f745f28d23ed90bc0d481f93f2b3f1c2f798b39262013d905b13"
                              "6a4e4366b6aee20591baedd45de3c71ede301dccdce0746ce3b023d4d9cd6e0f");

    ck_assert_int_eq(
        bw_chain_encode_head(arena, r.tenant, r.entity, 1, hash, "21fe31dfa154a261", &enc, &len),
        0);
    ck_assert_str_eq(
        enc, "{\"entity\":\"0190f3a0-0000-7000-8000-000000000002\","
             "\"format\":\"bulwark.attestation-head.v1\","
             "\"hash\":\"d1fc69f61915c7887cccece30912cb909108db4bf59e3531f5d9e23f04c32875\","
             "\"keyId\":\"21fe31dfa154a261\",\"sequence\":1,"
             "\"tenant\":\"0190f3a0-0000-7000-8000-000000000001\"}");
    ck_assert_int_eq(bw_keys_sign(key, enc, len, sig), 0);
    tohex(sig, 64, sig_hex);
    ck_assert_str_eq(sig_hex, "dca1156cd9e3c0c8f9a91f2bf5269a40afc6143e419f0a21686c207cd42844d9"
                              "4031fb41d5e7ff2ecf2529781ae0504ba16663c2af68e6b7bc8bdbd7d015c704");
    bw_keys_free(key);
    bw_arena_destroy(arena);
}
END_TEST

/* Version 2: the same members plus the record's id, between format and
 * keyId in code-point order. */
START_TEST(canonical_encoding_v2)
{
    bw_arena_t *arena = bw_arena_create(1024);
    bw_chain_record_t r = vector_record();
    r.version = BW_CHAIN_V2;
    r.comment = "Approved.";
    char *enc;
    size_t len;
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), 0);
    ck_assert_str_eq(
        enc,
        "{\"campaign\":\"0190f3a0-0000-7000-8000-000000000003\",\"comment\":\"Approved.\","
        "\"decision\":\"APPROVE\",\"entity\":\"0190f3a0-0000-7000-8000-000000000002\","
        "\"format\":\"bulwark.attestation.v2\",\"id\":\"0190f3a0-0000-7000-8000-000000000005\","
        "\"keyId\":\"21fe31dfa154a261\",\"kind\":\"RISK_MEASURES_APPROVAL\","
        "\"member\":\"0190f3a0-0000-7000-8000-000000000004\","
        "\"memberName\":\"Zo\xc3\xab \\\"Z\\\" O'Neil\",\"onBehalf\":true,"
        "\"previousHash\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"recordedAt\":\"2024-06-10T09:15:00.123456Z\","
        "\"recordedBy\":\"api-key:0190f3a0-0000-7000-8000-000000000009\",\"sequence\":1,"
        "\"statementSha256\":\"3ef678f01ff05bdd58a0fbea2b5ec3cd47b4d0753ed8305f9ca5f8c84875a9fa\","
        "\"tenant\":\"0190f3a0-0000-7000-8000-000000000001\"}");
    ck_assert_str_eq(bw_chain_format_name(BW_CHAIN_V2), "bulwark.attestation.v2");
    ck_assert_int_eq(bw_chain_format_version("bulwark.attestation.v1"), BW_CHAIN_V1);
    ck_assert_int_eq(bw_chain_format_version("bulwark.attestation.v3"), 0);
    /* An unknown version, or a version 2 record without its id, encodes to
     * nothing. */
    r.version = 3;
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), BW_EINVAL);
    r.version = BW_CHAIN_V2;
    r.id = NULL;
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), BW_EINVAL);
    bw_arena_destroy(arena);
}
END_TEST

/* The examples of README.md: the record in version 2, and the same record
 * as version 1 signed it, which must keep verifying. */
START_TEST(readme_example)
{
    bw_arena_t *arena = bw_arena_create(1024);
    bw_chain_record_t r = vector_record();
    r.member_name = "Ann Example";
    r.comment = "Approved as presented.";
    r.on_behalf = 0;
    static const struct {
        int version;
        const char *hash, *sig;
    } examples[] = {
        {BW_CHAIN_V2, "2a74d27bfee4f771566d5a19d8ad1149bd1735f15033f982f2b0863eca842b9c",
         "78e511fcc39ccd3cd58dd46cb2881d81c1f70a6afccf681da01cca16ff8329a1"
         "dc926acaf4bc7a8ceda23b3cd18dcfca3dd73ed672f66a7ad723dba8b560cf06"},
        {BW_CHAIN_V1, "4b7c8c439afa5644b16818ca7f28cdd8c29c58bc6f141063cf96c4c679504f98",
         "0f39fa5f231b4dc84ce056b4f8c14e83f87917e924b5e92edce0a7d928e20ba9"
         "e6852d66a235231bca8ebcec396298fd62399d2c1730fcb19aa4d6c95e0f1c09"},
    };
    bw_key_t *key = key_from_seed(seed1);
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        r.version = examples[i].version;
        char *enc;
        size_t len;
        ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), 0);
        char hash[65], sig_hex[129];
        bw_chain_hash(enc, len, hash);
        ck_assert_str_eq(hash, examples[i].hash);
        uint8_t sig[64];
        ck_assert_int_eq(bw_keys_sign(key, enc, len, sig), 0);
        tohex(sig, 64, sig_hex);
        ck_assert_str_eq(sig_hex, examples[i].sig);
    }
    bw_keys_free(key);
    bw_arena_destroy(arena);
}
END_TEST

/* An export's statement: its encoding, and bw_export_sign, which the
 * service calls on every export, signing exactly those bytes with the
 * export's own fields. */
START_TEST(export_statement_encoding_and_signature)
{
    bw_arena_t *arena = bw_arena_create(4096);
    bw_chain_statement_t st = {
        .format = BW_EXPORT_FORMAT,
        .tenant = "0190f3a0-0000-7000-8000-000000000001",
        .entity = "0190f3a0-0000-7000-8000-000000000002",
        .export_time_us = 1718020000123456LL,
        .records = 12,
        .head_sequence = 12,
        .head_hash = "d1fc69f61915c7887cccece30912cb909108db4bf59e3531f5d9e23f04c32875",
        .key_id = "21fe31dfa154a261",
    };
    char *enc;
    size_t len;
    ck_assert_int_eq(bw_chain_encode_statement(arena, &st, &enc, &len), 0);
    ck_assert_str_eq(
        enc, "{\"entity\":\"0190f3a0-0000-7000-8000-000000000002\","
             "\"exportTime\":\"2024-06-10T11:46:40.123456Z\","
             "\"format\":\"bulwark.attestation-export.v3\","
             "\"headHash\":\"d1fc69f61915c7887cccece30912cb909108db4bf59e3531f5d9e23f04c32875\","
             "\"headSequence\":12,\"keyId\":\"21fe31dfa154a261\",\"records\":12,"
             "\"tenant\":\"0190f3a0-0000-7000-8000-000000000001\"}");
    ck_assert_uint_eq(len, strlen(enc));
    st.entity = "bad \xff";
    ck_assert_int_eq(bw_chain_encode_statement(arena, &st, &enc, &len), BW_EINVAL);

    /* An export of no records and no head: 0 and "". */
    bw_key_t *key = key_from_seed(seed1);
    Bulwark__Attestations__V1__ChainExport x = BULWARK__ATTESTATIONS__V1__CHAIN_EXPORT__INIT;
    x.format = BW_EXPORT_FORMAT;
    x.tenant = "0190f3a0-0000-7000-8000-000000000001";
    x.entity = "0190f3a0-0000-7000-8000-000000000002";
    x.export_time = bw_store_timestamp_us(arena, 1718020000123456LL);
    ck_assert_int_eq(bw_export_sign(arena, key, &x), 0);
    const Bulwark__Attestations__V1__ExportStatement *s = x.statement;
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq((const char *)s->canonical.data,
                     "{\"entity\":\"0190f3a0-0000-7000-8000-000000000002\","
                     "\"exportTime\":\"2024-06-10T11:46:40.123456Z\","
                     "\"format\":\"bulwark.attestation-export.v3\",\"headHash\":\"\","
                     "\"headSequence\":0,\"keyId\":\"21fe31dfa154a261\",\"records\":0,"
                     "\"tenant\":\"0190f3a0-0000-7000-8000-000000000001\"}");
    ck_assert_int_eq(bw_keys_verify(key, s->canonical.data, s->canonical.len, s->signature.data,
                                    s->signature.len),
                     1);
    ck_assert_str_eq(s->key_id, "21fe31dfa154a261");
    ck_assert_int_eq(s->records, 0);
    ck_assert_int_eq(s->head_sequence, 0);
    ck_assert_str_eq(s->head_hash, "");
    ck_assert_int_eq(s->export_time->seconds, 1718020000);
    ck_assert_int_eq(s->export_time->nanos, 123456000);

    /* With records and a head, their count and the head's place. */
    Bulwark__Attestations__V1__ChainHead head = BULWARK__ATTESTATIONS__V1__CHAIN_HEAD__INIT;
    head.sequence = 12;
    head.hash = (char *)st.head_hash;
    Bulwark__Attestations__V1__Attestation *records[12] = {0};
    x.head = &head;
    x.records = records;
    x.n_records = 12;
    ck_assert_int_eq(bw_export_sign(arena, key, &x), 0);
    s = x.statement;
    ck_assert_ptr_nonnull(strstr((const char *)s->canonical.data, "\"headSequence\":12,"));
    ck_assert_ptr_nonnull(strstr((const char *)s->canonical.data, "\"records\":12,"));
    ck_assert_str_eq(s->head_hash, st.head_hash);
    ck_assert_int_eq(bw_keys_verify(key, s->canonical.data, s->canonical.len, s->signature.data,
                                    s->signature.len),
                     1);
    /* A key that cannot sign signs no statement. */
    bw_key_t *pub;
    ck_assert_int_eq(bw_keys_from_public(bw_keys_public(key), 32, &pub), 0);
    ck_assert_int_eq(bw_export_sign(arena, pub, &x), BW_EINVAL);
    bw_keys_free(pub);
    bw_keys_free(key);
    bw_arena_destroy(arena);
}
END_TEST

START_TEST(encoding_refuses_bad_strings)
{
    bw_arena_t *arena = bw_arena_create(1024);
    bw_chain_record_t r = vector_record();
    char *enc;
    size_t len;
    r.comment = "bad \xff byte";
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), BW_EINVAL);
    r = vector_record();
    r.member_name = NULL;
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), BW_EINVAL);
    /* The worst case fits: every byte a control character. */
    char worst[600];
    memset(worst, 0x01, sizeof(worst) - 1);
    worst[sizeof(worst) - 1] = '\0';
    r = vector_record();
    r.comment = worst;
    ck_assert_int_eq(bw_chain_encode(arena, &r, &enc, &len), 0);
    ck_assert_ptr_nonnull(strstr(enc, "\\u0001\\u0001"));
    bw_arena_destroy(arena);
}
END_TEST

/* ---- chains --------------------------------------------------------------- */

#define N 6

/* A chain of N records of one entity; records from `rotate_at` on (and the
 * head) are signed by key b, the others by key a. Everything lives in the
 * arena or in the struct. */
typedef struct test_chain {
    bw_arena_t *arena;
    bw_key_t *a, *b;
    char ids[N][40], names[N][32], comments[N][32], statements[N][65];
    bw_chain_entry_t e[N];
    bw_chain_head_t head;
    uint8_t sigs[N][64];
    uint8_t head_sig[64];
    char hashes[N][65];
} test_chain_t;

static const char *const tenant = "0190f3a0-0000-7000-8000-0000000000aa";
static const char *const entity = "0190f3a0-0000-7000-8000-0000000000bb";

static const bw_key_t *signer(const test_chain_t *c, int i, int rotate_at)
{
    return i >= rotate_at ? c->b : c->a;
}

/* Re-signs records from index from onward and the head, as the service would
 * have made them (used to build chains and to model an attacker without the
 * key, who can only recompute hashes). */
static void seal(test_chain_t *c, int from, int rotate_at, int sign)
{
    for (int i = from; i < N; i++) {
        bw_chain_entry_t *e = &c->e[i];
        e->rec.previous_hash = i == 0 ? BW_CHAIN_GENESIS : c->hashes[i - 1];
        e->rec.key_id = bw_keys_id(signer(c, i, rotate_at));
        char *enc;
        size_t len;
        ck_assert_int_eq(bw_chain_encode(c->arena, &e->rec, &enc, &len), 0);
        bw_chain_hash(enc, len, c->hashes[i]);
        e->hash = c->hashes[i];
        if (sign)
            ck_assert_int_eq(bw_keys_sign(signer(c, i, rotate_at), enc, len, c->sigs[i]), 0);
        e->signature = c->sigs[i];
        e->signature_len = 64;
    }
    c->head.sequence = N;
    c->head.hash = c->hashes[N - 1];
    c->head.key_id = bw_keys_id(c->b);
    char *enc;
    size_t len;
    ck_assert_int_eq(
        bw_chain_encode_head(c->arena, tenant, entity, N, c->head.hash, c->head.key_id, &enc, &len),
        0);
    if (sign)
        ck_assert_int_eq(bw_keys_sign(c->b, enc, len, c->head_sig), 0);
    c->head.signature = c->head_sig;
    c->head.signature_len = 64;
}

static test_chain_t *chain_new(int rotate_at)
{
    test_chain_t *c = calloc(1, sizeof(*c));
    c->arena = bw_arena_create(16384);
    c->a = key_from_seed(seed1);
    c->b = key_from_seed(seed2);
    for (int i = 0; i < N; i++) {
        bw_chain_record_t *r = &c->e[i].rec;
        /* The first half was signed before version 2, as after an upgrade. */
        r->version = i < N / 2 ? BW_CHAIN_V1 : BW_CHAIN_V2;
        snprintf(c->ids[i], sizeof(c->ids[i]), "0190f3a0-0000-7000-8000-00000000010%d", i);
        r->id = c->ids[i];
        snprintf(c->names[i], sizeof(c->names[i]), "Member %d", i);
        snprintf(c->comments[i], sizeof(c->comments[i]), "comment %d", i);
        bw_chain_hash(c->comments[i], strlen(c->comments[i]), c->statements[i]);
        r->tenant = tenant;
        r->entity = entity;
        r->sequence = i + 1;
        r->campaign = "0190f3a0-0000-7000-8000-0000000000cc";
        r->kind = i % 2 ? "MANAGEMENT_TRAINING" : "RISK_MEASURES_APPROVAL";
        r->member = "0190f3a0-0000-7000-8000-0000000000dd";
        r->member_name = c->names[i];
        r->decision = i == 3 ? "REJECT" : "APPROVE";
        r->comment = c->comments[i];
        r->statement_sha256 = c->statements[i];
        r->recorded_at_us = 1718010900000000LL + i * 1000003LL;
        r->recorded_by = i % 2 ? "api-key:one" : "api-key:two";
        r->on_behalf = i % 2;
        c->e[i].campaign_statement_sha256 = c->statements[i];
    }
    seal(c, 0, rotate_at, 1);
    return c;
}

static void chain_free(test_chain_t *c)
{
    bw_keys_free(c->a);
    bw_keys_free(c->b);
    bw_arena_destroy(c->arena);
    free(c);
}

static bw_chain_verdict_t verify(test_chain_t *c, const bw_chain_entry_t *e, size_t n,
                                 const bw_chain_head_t *head, int with_a, int with_b)
{
    const bw_key_t *keys[2];
    size_t n_keys = 0;
    if (with_a)
        keys[n_keys++] = c->a;
    if (with_b)
        keys[n_keys++] = c->b;
    bw_chain_verdict_t v;
    /* The chain's own data is outside the arena: only encodings pile up. */
    bw_arena_reset(c->arena);
    ck_assert_int_eq(bw_chain_verify(c->arena, tenant, entity, e, n, head, keys, n_keys, &v), 0);
    return v;
}

#define ck_assert_bad(v, seq, why)                                                                 \
    do {                                                                                           \
        ck_assert_msg(!(v).valid, "chain verified, want %s at %d", (why), (int)(seq));             \
        ck_assert_int_eq((v).sequence, (seq));                                                     \
        ck_assert_str_eq((v).reason, (why));                                                       \
    } while (0)

START_TEST(intact_chain_verifies)
{
    test_chain_t *c = chain_new(N);
    bw_chain_verdict_t v = verify(c, c->e, N, &c->head, 1, 1);
    ck_assert_msg(v.valid, "%s: %s", v.reason, v.detail);
    ck_assert_int_eq(v.records, N);
    ck_assert_str_eq(v.head_hash, c->hashes[N - 1]);

    /* An empty chain, with or without its head at 0. */
    bw_chain_head_t empty = {0, BW_CHAIN_GENESIS, "", NULL, 0};
    v = verify(c, c->e, 0, NULL, 1, 1);
    ck_assert(v.valid);
    ck_assert_int_eq(v.records, 0);
    ck_assert_str_eq(v.head_hash, BW_CHAIN_GENESIS);
    v = verify(c, c->e, 0, &empty, 1, 1);
    ck_assert(v.valid);
    chain_free(c);
}
END_TEST

/* Flips one bit of every byte of every text field of every record in turn:
 * each change is reported at that record's sequence. */
START_TEST(tampering_any_byte_is_caught_at_its_sequence)
{
    test_chain_t *c = chain_new(N);
    for (int i = 0; i < N; i++) {
        bw_chain_record_t *r = &c->e[i].rec;
        const char **fields[] = {&r->campaign,    &r->kind,          &r->member,
                                 &r->member_name, &r->decision,      &r->comment,
                                 &r->recorded_by, &r->previous_hash, &r->statement_sha256,
                                 &r->tenant,      &r->entity,        &r->id};
        size_t n_fields = sizeof(fields) / sizeof(fields[0]);
        /* Version 1 does not sign the id: changing it changes nothing. */
        if (r->version == BW_CHAIN_V1) {
            n_fields--;
            const char *id = r->id;
            r->id = "0190f3a0-0000-7000-8000-0000000000ff";
            ck_assert(verify(c, c->e, N, &c->head, 1, 1).valid);
            r->id = id;
        }
        /* The version a record claims is part of what it signed. */
        r->version = r->version == BW_CHAIN_V1 ? BW_CHAIN_V2 : BW_CHAIN_V1;
        ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "HASH_MISMATCH");
        r->version = r->version == BW_CHAIN_V1 ? BW_CHAIN_V2 : BW_CHAIN_V1;
        r->version += 10;
        ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "HASH_MISMATCH");
        r->version -= 10;
        for (size_t f = 0; f < n_fields; f++) {
            const char *orig = *fields[f];
            size_t len = strlen(orig);
            for (size_t b = 0; b < len; b++) {
                char *copy = strdup(orig);
                copy[b] ^= 0x01;
                *fields[f] = copy;
                bw_chain_verdict_t v = verify(c, c->e, N, &c->head, 1, 1);
                ck_assert_bad(v, i + 1, "HASH_MISMATCH");
                *fields[f] = orig;
                free(copy);
            }
        }
        /* The numbers and the flag. */
        r->recorded_at_us++;
        ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "HASH_MISMATCH");
        r->recorded_at_us--;
        r->on_behalf = !r->on_behalf;
        ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "HASH_MISMATCH");
        r->on_behalf = !r->on_behalf;
        /* The stored hash itself. */
        char *hash = c->hashes[i];
        for (size_t b = 0; b < 64; b++) {
            char saved = hash[b];
            hash[b] = saved == '0' ? '1' : '0';
            ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "HASH_MISMATCH");
            hash[b] = saved;
        }
        /* Every byte of the signature. */
        for (size_t b = 0; b < 64; b++) {
            c->sigs[i][b] ^= 0x80;
            ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "SIGNATURE_INVALID");
            c->sigs[i][b] ^= 0x80;
        }
        c->e[i].signature_len = 63;
        ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), i + 1, "SIGNATURE_INVALID");
        c->e[i].signature_len = 64;
    }
    ck_assert(verify(c, c->e, N, &c->head, 1, 1).valid);
    chain_free(c);
}
END_TEST

START_TEST(recomputed_hashes_without_the_key_fail_the_signature)
{
    test_chain_t *c = chain_new(N);
    /* An attacker changes record 3's decision and recomputes every hash
     * after it, keeping the old signatures. */
    c->e[2].rec.decision = "REJECT";
    seal(c, 2, N, 0);
    ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), 3, "SIGNATURE_INVALID");
    chain_free(c);
}
END_TEST

START_TEST(removed_records_are_caught_at_the_gap)
{
    test_chain_t *c = chain_new(N);
    bw_chain_entry_t holed[N];
    for (int gone = 0; gone < N - 1; gone++) {
        size_t n = 0;
        for (int i = 0; i < N; i++)
            if (i != gone)
                holed[n++] = c->e[i];
        ck_assert_bad(verify(c, holed, n, &c->head, 1, 1), gone + 1, "RECORD_MISSING");
    }
    /* The last record: the head still vouches for it. */
    ck_assert_bad(verify(c, c->e, N - 1, &c->head, 1, 1), N, "RECORD_MISSING");
    /* Several at the end. */
    ck_assert_bad(verify(c, c->e, 2, &c->head, 1, 1), 3, "RECORD_MISSING");
    /* The head too. */
    ck_assert_bad(verify(c, c->e, N, NULL, 1, 1), N, "HEAD_MISSING");
    /* A head moved back to record N - 1 keeps a signature that does not fit. */
    bw_chain_head_t back = c->head;
    back.sequence = N - 1;
    back.hash = c->hashes[N - 2];
    ck_assert_bad(verify(c, c->e, N - 1, &back, 1, 1), N - 1, "HEAD_SIGNATURE_INVALID");
    /* ... and with every record still there, the last one is unvouched. */
    ck_assert_bad(verify(c, c->e, N, &back, 1, 1), N, "HEAD_MISMATCH");
    bw_chain_head_t wrong = c->head;
    wrong.hash = c->hashes[0];
    ck_assert_bad(verify(c, c->e, N, &wrong, 1, 1), N, "HEAD_MISMATCH");
    chain_free(c);
}
END_TEST

START_TEST(a_changed_statement_is_caught)
{
    test_chain_t *c = chain_new(N);
    c->e[4].campaign_statement_sha256 = c->statements[0];
    ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), 5, "STATEMENT_MISMATCH");
    c->e[4].campaign_statement_sha256 = NULL;
    ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), 5, "STATEMENT_MISMATCH");
    chain_free(c);
}
END_TEST

START_TEST(rotation_keeps_old_records_verifiable)
{
    test_chain_t *c = chain_new(3); /* records 1-3 by key a, 4-6 and the head by key b */
    ck_assert_str_ne(c->e[0].rec.key_id, c->e[5].rec.key_id);
    bw_chain_verdict_t v = verify(c, c->e, N, &c->head, 1, 1);
    ck_assert_msg(v.valid, "%s: %s", v.reason, v.detail);
    /* Without the old key the old records cannot be checked. */
    ck_assert_bad(verify(c, c->e, N, &c->head, 0, 1), 1, "UNKNOWN_KEY");
    ck_assert_bad(verify(c, c->e, N, &c->head, 1, 0), 4, "UNKNOWN_KEY");
    /* A record naming the other key fails even though that key is known. */
    c->e[1].rec.key_id = bw_keys_id(c->b);
    seal(c, 2, 3, 1);
    ck_assert_bad(verify(c, c->e, N, &c->head, 1, 1), 2, "HASH_MISMATCH");
    chain_free(c);
}
END_TEST

START_TEST(majority_rule)
{
    ck_assert_int_eq(bw_campaigns_majority(0, 0), -1);
    ck_assert_int_eq(bw_campaigns_majority(1, 0), -1);
    ck_assert_int_eq(bw_campaigns_majority(1, 1), 0);
    ck_assert_int_eq(bw_campaigns_majority(2, 1), -1);
    ck_assert_int_eq(bw_campaigns_majority(2, 2), 1);
    ck_assert_int_eq(bw_campaigns_majority(3, 2), 1);
    ck_assert_int_eq(bw_campaigns_majority(4, 2), -1);
    ck_assert_int_eq(bw_campaigns_majority(4, 3), 2);
    ck_assert_int_eq(bw_campaigns_majority(5, 3), 2);
    ck_assert_int_eq(bw_campaigns_majority(5, 5), 2);
}
END_TEST

START_TEST(tally_counts_and_finds_the_deciding_approval)
{
    bw_arena_t *arena = bw_arena_create(4096);
    Bulwark__Attestations__V1__Campaign c = BULWARK__ATTESTATIONS__V1__CAMPAIGN__INIT;
    Bulwark__Attestations__V1__MemberStatus s[5];
    Bulwark__Attestations__V1__MemberStatus *list[5];
    Google__Protobuf__Timestamp at[5];
    const Bulwark__Attestations__V1__MemberStatus__Status st[5] = {
        BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__APPROVED,
        BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__PENDING,
        BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__APPROVED,
        BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__REJECTED,
        BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__APPROVED};
    const int64_t seqs[5] = {9, 0, 4, 5, 7}; /* listed by name, not in chain order */
    for (int i = 0; i < 5; i++) {
        bulwark__attestations__v1__member_status__init(&s[i]);
        google__protobuf__timestamp__init(&at[i]);
        at[i].seconds = 1000 + seqs[i];
        s[i].status = st[i];
        s[i].sequence = seqs[i];
        s[i].attested_at = seqs[i] != 0 ? &at[i] : NULL;
        list[i] = &s[i];
    }
    c.members = list;
    c.n_members = 5;
    c.kind = BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__RISK_MEASURES_APPROVAL;
    bw_campaigns_tally(arena, &c);
    ck_assert_int_eq(c.expected, 5);
    ck_assert_int_eq(c.approvals, 3);
    ck_assert_int_eq(c.rejections, 1);
    ck_assert_int_eq(c.pending, 1);
    ck_assert(c.approved);
    /* approvals in chain order are 4, 7, 9: the third (9) makes 3 of 5 */
    ck_assert_int_eq(c.approved_at->seconds, 1009);

    s[4].status = BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__ABSTAINED;
    bw_campaigns_tally(arena, &c);
    ck_assert(!c.approved);
    ck_assert_ptr_null(c.approved_at);
    ck_assert_int_eq(c.abstentions, 1);

    /* Training campaigns are never "approved". */
    s[4].status = BULWARK__ATTESTATIONS__V1__MEMBER_STATUS__STATUS__APPROVED;
    c.kind = BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__MANAGEMENT_TRAINING;
    bw_campaigns_tally(arena, &c);
    ck_assert(!c.approved);
    bw_arena_destroy(arena);
}
END_TEST

#define DAY_US (86400LL * 1000000)

START_TEST(governance_status_art_20_1_approval_and_oversight_20_2_training)
{
    bw_arena_t *arena = bw_arena_create(4096);
    long long now = 1750000000LL * 1000000;
    bw_gov_member_t members[] = {{"m-ann", "Ann"}, {"m-bob", "Bob"}};
    bw_gov_training_t trainings[] = {
        {"m-gone", "c-t1", now - 10 * DAY_US, now + 300 * DAY_US, 0}, /* not in office */
        {"m-bob", "c-t1", now - 400 * DAY_US, now - 35 * DAY_US, 0},  /* expired */
        {"m-ann", "c-t2", now - 20 * DAY_US, now + 345 * DAY_US, 1},  /* on her behalf */
    };
    bw_gov_due_t dues[] = {{"c-p", "POLICY_APPROVAL", now + 3 * DAY_US, 2}};
    bw_gov_input_t in = {
        .now_us = now,
        .members = members,
        .n_members = 2,
        .trainings = trainings,
        .n_trainings = 3,
        .approval_campaign = "c-r",
        .approval_at_us = now - 300 * DAY_US,
        .approval_until_us = now + 65 * DAY_US,
        .approvals = 3,
        .on_behalf_approvals = 2,
        .oversight_campaign = "c-o",
        .oversight_at_us = now - 30 * DAY_US,
        .oversight_until_us = now + 150 * DAY_US,
        .oversight_confirmations = 2,
        .on_behalf_oversight_confirmations = 1,
        .attestations = 7,
        .on_behalf_attestations = 4,
        .dues = dues,
        .n_dues = 1,
    };
    Bulwark__Attestations__V1__Governance *g;
    ck_assert_int_eq(bw_governance_compute(arena, "e-1", &in, &g), 0);
    ck_assert(g->measures_approval->current);
    ck_assert_str_eq(g->measures_approval->campaign, "c-r");
    ck_assert_str_eq(g->measures_approval->basis, "NIS2 Art 20(1)");
    /* Decisions made on a member's behalf are counted apart. */
    ck_assert_int_eq(g->measures_approval->approvals, 3);
    ck_assert_int_eq(g->measures_approval->on_behalf_approvals, 2);
    ck_assert(g->oversight->current);
    ck_assert_str_eq(g->oversight->campaign, "c-o");
    ck_assert_str_eq(g->oversight->basis, "NIS2 Art 20(1)");
    ck_assert_int_eq(g->oversight->confirmations, 2);
    ck_assert_int_eq(g->oversight->on_behalf_confirmations, 1);
    ck_assert_int_eq(g->attestations, 7);
    ck_assert_int_eq(g->on_behalf_attestations, 4);
    ck_assert_int_eq(g->members_in_office, 2);
    ck_assert_uint_eq(g->n_training, 2);
    ck_assert_str_eq(g->training[0]->name, "Ann");
    ck_assert(g->training[0]->current);
    ck_assert_str_eq(g->training[0]->campaign, "c-t2");
    ck_assert(g->training[0]->on_behalf);
    ck_assert_str_eq(g->training[1]->name, "Bob");
    ck_assert(!g->training[1]->on_behalf);
    ck_assert(!g->training[1]->current);
    ck_assert_ptr_nonnull(g->training[1]->valid_until);
    ck_assert(!g->training_current);
    ck_assert(!g->compliant);
    /* Soonest first: the campaign due in 3 days, then the approval (65),
     * the review (150), then Ann's training (345). Bob's expired training
     * is not upcoming. */
    ck_assert_uint_eq(g->n_upcoming, 4);
    ck_assert_int_eq(g->upcoming[0]->kind,
                     BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__CAMPAIGN_DUE);
    ck_assert_ptr_nonnull(strstr(g->upcoming[0]->summary, "2 members still to attest"));
    ck_assert_int_eq(g->upcoming[1]->kind,
                     BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__MEASURES_APPROVAL_EXPIRES);
    ck_assert_int_eq(g->upcoming[2]->kind,
                     BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__OVERSIGHT_EXPIRES);
    ck_assert_int_eq(g->upcoming[3]->kind,
                     BULWARK__ATTESTATIONS__V1__GOVERNANCE_ITEM__KIND__TRAINING_EXPIRES);
    ck_assert_str_eq(g->upcoming[3]->member, "m-ann");

    /* Bob trains: compliant. */
    trainings[1].until_us = now + DAY_US;
    ck_assert_int_eq(bw_governance_compute(arena, "e-1", &in, &g), 0);
    ck_assert(g->training_current);
    ck_assert(g->compliant);
    ck_assert_str_eq(g->upcoming[0]->member, "m-bob");

    /* Art 20(1): approving the measures is not overseeing their
     * implementation. Without a current review the body is not compliant,
     * whatever the approval (this was compliant before oversight counted). */
    in.oversight_until_us = now;
    ck_assert_int_eq(bw_governance_compute(arena, "e-1", &in, &g), 0);
    ck_assert(g->measures_approval->current);
    ck_assert(g->training_current);
    ck_assert(!g->oversight->current);
    ck_assert(!g->compliant);
    in.oversight_campaign = NULL;
    ck_assert_int_eq(bw_governance_compute(arena, "e-1", &in, &g), 0);
    ck_assert_str_eq(g->oversight->campaign, "");
    ck_assert(!g->compliant);
    in.oversight_campaign = "c-o";
    in.oversight_until_us = now + 150 * DAY_US;

    /* The approval expires: not compliant, and it is no longer upcoming. */
    in.approval_until_us = now;
    ck_assert_int_eq(bw_governance_compute(arena, "e-1", &in, &g), 0);
    ck_assert(!g->measures_approval->current);
    ck_assert(g->oversight->current);
    ck_assert(!g->compliant);
    ck_assert_uint_eq(g->n_upcoming, 4);

    /* Nothing recorded at all. */
    bw_gov_input_t none = {.now_us = now};
    ck_assert_int_eq(bw_governance_compute(arena, "e-2", &none, &g), 0);
    ck_assert(!g->measures_approval->current);
    ck_assert_str_eq(g->measures_approval->campaign, "");
    ck_assert_int_eq(g->measures_approval->approvals, 0);
    ck_assert_ptr_nonnull(g->oversight);
    ck_assert(!g->oversight->current);
    ck_assert_int_eq(g->on_behalf_attestations, 0);
    ck_assert(g->training_current);
    ck_assert(!g->compliant);
    ck_assert_uint_eq(g->n_upcoming, 0);
    bw_arena_destroy(arena);
}
END_TEST

/* ---- times a caller sends ------------------------------------------------ */

/* The gateway writes only RFC 3339 text of the years 0001-9999, but a raw
 * gRPC caller sends any seconds and nanos: these overflowed the conversion
 * to microseconds (signed overflow, which aborts the service under UBSan),
 * or were stored (a campaign due in the year 200000 never closed). */
#define OVERFLOWING_SECONDS INT64_C(9223372036855)
#define YEAR_200000_SECONDS INT64_C(6249223180800) /* 200000-01-01T00:00:00Z */

static bw_arena_t *call_arena;

static bw_call_t *new_call(void)
{
    static bw_call_t call;
    memset(&call, 0, sizeof(call));
    call.arena = call_arena;
    call.tenant_id = "0190f3a0-0000-7000-8000-000000000001";
    return &call;
}

/* The message of call's violation on field, NULL when there is none. */
static const char *violation_on(const bw_call_t *call, const char *field)
{
    for (size_t i = 0; i < call->n_violations; i++)
        if (strcmp(call->violations[i].field, field) == 0)
            return call->violations[i].message;
    return NULL;
}

static void times_setup(void)
{
    call_arena = bw_arena_create(4096);
}

static void times_teardown(void)
{
    bw_arena_destroy(call_arena);
}

START_TEST(board_member_times_out_of_range_name_the_field)
{
    static const struct {
        int64_t seconds;
        int32_t nanos;
    } bad[] = {
        {OVERFLOWING_SECONDS, 0},
        {-OVERFLOWING_SECONDS, 0},
        {YEAR_200000_SECONDS, 0},
        {BW_TIME_MAX_SECONDS + 1, 0},
        {BW_TIME_MIN_SECONDS - 1, 0},
        {1718010900, -1},
        {1718010900, 1000000000},
        {INT64_MAX, 0},
        {INT64_MIN, 0},
    };
    Google__Protobuf__Timestamp since = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp until = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Bulwark__Attestations__V1__BoardMember m = BULWARK__ATTESTATIONS__V1__BOARD_MEMBER__INIT;
    m.name = "Ann";
    m.since = &since;
    m.until = &until;
    since.seconds = 1718010900;
    until.seconds = 1718010901;
    bw_call_t *call = new_call();
    ck_assert_int_eq(bw_members_validate(call, &m), 0);
    /* The ends of the range pass. */
    since.seconds = BW_TIME_MIN_SECONDS;
    until.seconds = BW_TIME_MAX_SECONDS;
    until.nanos = 999999999;
    ck_assert_int_eq(bw_members_validate(call, &m), 0);
    ck_assert_uint_eq(call->n_violations, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* As since (with until in range, and without until), then as until. */
        for (int as_until = 0; as_until < 2; as_until++) {
            for (int with_until = 0; with_until < 2; with_until++) {
                Google__Protobuf__Timestamp *t = as_until ? &until : &since;
                since.seconds = 1718010900;
                until.seconds = 1718010901;
                since.nanos = until.nanos = 0;
                t->seconds = bad[i].seconds;
                t->nanos = bad[i].nanos;
                m.until = as_until || with_until ? &until : NULL;
                call = new_call();
                ck_assert_int_eq(bw_members_validate(call, &m), BW_EINVAL);
                ck_assert_msg(call->n_violations == 1, "case %zu: %zu violations", i,
                              call->n_violations);
                const char *field = as_until ? "until" : "since";
                ck_assert_msg(violation_on(call, field) != NULL, "case %zu names %s, not %s", i,
                              call->violations[0].field, field);
                ck_assert_str_eq(violation_on(call, field),
                                 "must be an RFC 3339 time between years 0001 and 9999");
            }
        }
    }
}
END_TEST

/* CreateCampaign validates before it asks scoping about the entity: with no
 * entity given the call fails on that too, and reaches nothing else. */
START_TEST(a_campaign_due_out_of_range_names_due_at)
{
    Google__Protobuf__Timestamp due = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Bulwark__Attestations__V1__Campaign c = BULWARK__ATTESTATIONS__V1__CAMPAIGN__INIT;
    c.entity = "";
    c.kind = BULWARK__ATTESTATIONS__V1__CAMPAIGN__KIND__POLICY_APPROVAL;
    c.statement = "Policy v3.";
    c.valid_for_days = 365;
    c.due_at = &due;
    Bulwark__Attestations__V1__CreateCampaignRequest req =
        BULWARK__ATTESTATIONS__V1__CREATE_CAMPAIGN_REQUEST__INIT;
    req.campaign = &c;
    static const struct {
        int64_t seconds;
        int32_t nanos;
    } bad[] = {{OVERFLOWING_SECONDS, 0},          {YEAR_200000_SECONDS, 0},
               {BW_TIME_MAX_SECONDS + 1, 0},      {INT64_MAX, 999999999},
               {BW_TIME_MAX_SECONDS - 86400, -1}, {BW_TIME_MAX_SECONDS - 86400, 1000000000}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        due.seconds = bad[i].seconds;
        due.nanos = bad[i].nanos;
        bw_call_t *call = new_call();
        ProtobufCMessage *resp = NULL;
        ck_assert_int_eq(bw_campaigns_create(call, &req.base, &resp), BW_EINVAL);
        ck_assert_ptr_null(resp);
        ck_assert_msg(violation_on(call, "dueAt") != NULL, "case %zu: no violation on dueAt", i);
        ck_assert_str_eq(violation_on(call, "dueAt"),
                         "must be an RFC 3339 time between years 0001 and 9999");
        ck_assert_ptr_nonnull(violation_on(call, "entity"));
        ck_assert_uint_eq(call->n_violations, 2);
    }
    /* The last instant of 9999 is a due date like any other. */
    due.seconds = BW_TIME_MAX_SECONDS;
    due.nanos = 999999999;
    bw_call_t *call = new_call();
    ProtobufCMessage *resp = NULL;
    ck_assert_int_eq(bw_campaigns_create(call, &req.base, &resp), BW_EINVAL);
    ck_assert_ptr_null(violation_on(call, "dueAt"));
    ck_assert_uint_eq(call->n_violations, 1);
    /* One in the past is still refused as such. */
    due.seconds = 1718010900;
    due.nanos = 0;
    call = new_call();
    ck_assert_int_eq(bw_campaigns_create(call, &req.base, &resp), BW_EINVAL);
    ck_assert_str_eq(violation_on(call, "dueAt"), "must be in the future");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attestations");
    TCase *keys = tcase_create("keys");
    tcase_add_test(keys, rfc8032_vectors);
    tcase_add_test(keys, key_ids_and_public_keys);
    tcase_add_test(keys, pem_files);
    suite_add_tcase(s, keys);
    TCase *enc = tcase_create("encoding");
    tcase_add_test(enc, canonical_encoding_vector);
    tcase_add_test(enc, canonical_encoding_v2);
    tcase_add_test(enc, readme_example);
    tcase_add_test(enc, encoding_refuses_bad_strings);
    tcase_add_test(enc, export_statement_encoding_and_signature);
    suite_add_tcase(s, enc);
    TCase *chain = tcase_create("chain");
    tcase_set_timeout(chain, 120);
    tcase_add_test(chain, intact_chain_verifies);
    tcase_add_test(chain, tampering_any_byte_is_caught_at_its_sequence);
    tcase_add_test(chain, recomputed_hashes_without_the_key_fail_the_signature);
    tcase_add_test(chain, removed_records_are_caught_at_the_gap);
    tcase_add_test(chain, a_changed_statement_is_caught);
    tcase_add_test(chain, rotation_keeps_old_records_verifiable);
    suite_add_tcase(s, chain);
    TCase *gov = tcase_create("governance");
    tcase_add_test(gov, majority_rule);
    tcase_add_test(gov, tally_counts_and_finds_the_deciding_approval);
    tcase_add_test(gov, governance_status_art_20_1_approval_and_oversight_20_2_training);
    suite_add_tcase(s, gov);
    TCase *times = tcase_create("times");
    tcase_add_checked_fixture(times, times_setup, times_teardown);
    tcase_add_test(times, board_member_times_out_of_range_name_the_field);
    tcase_add_test(times, a_campaign_due_out_of_range_names_due_at);
    suite_add_tcase(s, times);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
