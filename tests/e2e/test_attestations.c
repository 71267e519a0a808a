/*
 * Governance attestations end to end: board members, campaigns, signed
 * attestations on a per-entity hash chain, the Art 20 status, verification
 * and export (checked offline with the openssl command line, as the
 * service's README tells an auditor to), board_member keys that sign only as
 * themselves, tenant isolation, concurrent appends, and rows altered or
 * removed directly in SQL being reported at the right sequence.
 */
#include "e2e.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Asserts a problem with this status naming field (NULL: any). */
static void expect_problemf(long status, const char *field, const char *method, const char *key,
                            const char *body, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void expect_problemf(long status, const char *field, const char *method, const char *key,
                            const char *body, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_decref(vexpect(status, field, method, key, body, fmt, ap));
    va_end(ap);
}

/* RFC 3339 UTC for now + offset seconds, into out[32]. */
static void time_from_now(long offset, char out[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fills out with a copy of obj's string member key (at most 127 chars). */
static void copy_str(char *out, size_t size, json_t *obj, const char *key)
{
    snprintf(out, size, "%s", jstr(obj, key));
}

static void new_entity(const tenant_t *t, const char *name, char out[64])
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"timeZone\":\"Europe/Berlin\"}", name);
    json_t *e = expect(201, "POST", t->key, body, "/v1/entities");
    copy_str(out, 64, e, "id");
    json_decref(e);
}

/* Adds a board member; since/until are offsets from now in days (until 0:
 * open-ended). */
static void new_member(const tenant_t *t, const char *entity, const char *name, int since_days,
                       int until_days, char out[64])
{
    char since[32], until[32], body[512];
    time_from_now(since_days * 86400L, since);
    time_from_now(until_days * 86400L, until);
    if (until_days != 0)
        snprintf(body, sizeof(body),
                 "{\"name\":\"%s\",\"email\":\"x@example.com\",\"role\":\"Director\","
                 "\"since\":\"%s\",\"until\":\"%s\"}",
                 name, since, until);
    else
        snprintf(body, sizeof(body),
                 "{\"name\":\"%s\",\"email\":\"x@example.com\",\"role\":\"Director\","
                 "\"since\":\"%s\"}",
                 name, since);
    json_t *m = expect(201, "POST", t->key, body, "/v1/entities/%s/board-members", entity);
    copy_str(out, 64, m, "id");
    json_decref(m);
}

static void new_campaign(const tenant_t *t, const char *entity, const char *kind,
                         const char *statement, long due_in_seconds, int valid_days, char out[64])
{
    char due[32], body[1024];
    time_from_now(due_in_seconds, due);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"%s\",\"statement\":\"%s\",\"dueAt\":\"%s\","
             "\"validForDays\":%d}",
             entity, kind, statement, due, valid_days);
    json_t *c = expect(201, "POST", t->key, body, "/v1/attestation-campaigns");
    copy_str(out, 64, c, "id");
    json_decref(c);
}

/* Moves a campaign's due date one second into the past, as the clock would
 * after waiting: a campaign cannot be created already due, and a test does
 * not sleep against the wall clock. Done as a superuser with triggers off
 * (campaigns are append-only). */
static void make_campaign_due(const char *campaign)
{
    PGconn *conn = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(conn, "SET session_replication_role = replica");
    bw_test_exec(conn,
                 "UPDATE attestations.campaigns SET due_at = now() - interval '1 second'"
                 " WHERE campaign_id = $1::uuid",
                 campaign);
    PQfinish(conn);
}

/* Records an attestation with key and returns the record (caller decrefs). */
static json_t *attest(const char *key, const char *campaign, const char *member,
                      const char *decision)
{
    char body[256];
    if (member != NULL)
        snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"%s\"}", member, decision);
    else
        snprintf(body, sizeof(body), "{\"decision\":\"%s\"}", decision);
    return expect(201, "POST", key, body, "/v1/attestation-campaigns/%s/attestations", campaign);
}

static void attest_ok(const char *key, const char *campaign, const char *member,
                      const char *decision)
{
    json_decref(attest(key, campaign, member, decision));
}

/* Issues an API key of role for tenant t; returns its secret (caller frees). */
static char *new_key(const tenant_t *t, const char *role, const char *board_member)
{
    char body[256];
    if (board_member != NULL)
        snprintf(body, sizeof(body), "{\"name\":\"k\",\"role\":\"%s\",\"boardMember\":\"%s\"}",
                 role, board_member);
    else
        snprintf(body, sizeof(body), "{\"name\":\"k\",\"role\":\"%s\"}", role);
    json_t *k = expect(201, "POST", t->key, body, "/v1/api-keys");
    char *secret = strdup(jstr(k, "secret"));
    json_decref(k);
    return secret;
}

static void expect_valid(const char *key, const char *entity, const char *records)
{
    json_t *v = expect(200, "GET", key, NULL, "/v1/entities/%s/attestations:verify", entity);
    ck_assert_msg(json_is_true(json_object_get(v, "valid")), "chain invalid: %s %s",
                  jstr(v, "reason"), jstr(v, "detail"));
    ck_assert_str_eq(jstr(v, "records"), records);
    json_decref(v);
}

static void expect_invalid(const char *key, const char *entity, const char *sequence,
                           const char *reason)
{
    json_t *v = expect(200, "GET", key, NULL, "/v1/entities/%s/attestations:verify", entity);
    ck_assert_msg(json_is_false(json_object_get(v, "valid")), "chain still verifies");
    ck_assert_str_eq(jstr(v, "sequence"), sequence);
    ck_assert_str_eq(jstr(v, "reason"), reason);
    json_decref(v);
}

/* ---- base64, for checking signatures and encodings ----------------------- */

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes standard base64 (padded) into a new buffer (caller frees). */
static unsigned char *b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 1);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64_value((unsigned char)s[i]);
        ck_assert_int_ge(v, 0);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(board_members)
{
    tenant_t t = new_tenant("Board");
    char entity[64], a[64], b[64], c[64];
    new_entity(&t, "Board Co", entity);

    /* An entity without members lists none. */
    json_t *list = expect(200, "GET", t.key, NULL, "/v1/entities/%s/board-members", entity);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "boardMembers")), 0);
    json_decref(list);

    json_t *m = expect(201, "POST", t.key,
                       "{\"name\":\"Ann Example\",\"email\":\"ann@example.com\",\"role\":\"CEO\","
                       "\"since\":\"2020-01-01T00:00:00+01:00\"}",
                       "/v1/entities/%s/board-members", entity);
    copy_str(a, sizeof(a), m, "id");
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_str_eq(jstr(m, "entity"), entity);
    ck_assert_str_eq(jstr(m, "role"), "CEO");
    ck_assert_str_eq(jstr(m, "since"), "2019-12-31T23:00:00Z");
    ck_assert_ptr_null(json_object_get(m, "until"));
    ck_assert(json_is_true(json_object_get(m, "inOffice")));
    ck_assert_str_ne(jstr(m, "etag"), "");
    json_decref(m);
    /* since defaults to now */
    m = expect(201, "POST", t.key, "{\"name\":\"Bob\"}", "/v1/entities/%s/board-members", entity);
    copy_str(b, sizeof(b), m, "id");
    ck_assert_str_ne(jstr(m, "since"), "");
    ck_assert(json_is_true(json_object_get(m, "inOffice")));
    json_decref(m);
    new_member(&t, entity, "Cleo", -30, 0, c);

    /* Ending a tenure. */
    json_t *u = expect(200, "PATCH", t.key, "{\"until\":\"2021-06-30T00:00:00Z\"}",
                       "/v1/entities/%s/board-members/%s", entity, a);
    ck_assert_str_eq(jstr(u, "until"), "2021-06-30T00:00:00Z");
    ck_assert_str_eq(jstr(u, "name"), "Ann Example");
    ck_assert(json_is_false(json_object_get(u, "inOffice")));
    json_decref(u);
    expect_problemf(400, "until", "PATCH", t.key, "{\"until\":\"2019-01-01T00:00:00Z\"}",
                    "/v1/entities/%s/board-members/%s", entity, a);
    expect_problemf(400, "name", "PATCH", t.key, "{\"name\":\"  \"}",
                    "/v1/entities/%s/board-members/%s", entity, a);
    expect_problemf(404, NULL, "PATCH", t.key, "{\"name\":\"X\"}",
                    "/v1/entities/%s/board-members/%s", entity,
                    "0190f3a0-0000-7000-8000-000000000000");

    /* Pages of one, in creation order. */
    const char *ids[] = {a, b, c};
    char path[1024];
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?pageSize=1", entity);
    for (int i = 0; i < 3; i++) {
        json_t *page = expect(200, "GET", t.key, NULL, "%s", path);
        json_t *items = json_object_get(page, "boardMembers");
        ck_assert_uint_eq(json_array_size(items), 1);
        ck_assert_str_eq(jstr(json_array_get(items, 0), "id"), ids[i]);
        const char *next = jstr(page, "nextPageToken");
        ck_assert(i < 2 ? next[0] != '\0' : next[0] == '\0');
        snprintf(path, sizeof(path), "/v1/entities/%s/board-members?pageSize=1&pageToken=%s",
                 entity, next);
        json_decref(page);
    }

    /* Bad input names the field. */
    const char *base = "/v1/entities/%s/board-members";
    expect_problemf(400, "name", "POST", t.key, "{\"email\":\"a@b.example\"}", base, entity);
    expect_problemf(400, "email", "POST", t.key, "{\"name\":\"X\",\"email\":\"not an address\"}",
                    base, entity);
    expect_problemf(400, "until", "POST", t.key,
                    "{\"name\":\"X\",\"since\":\"2024-01-01T00:00:00Z\","
                    "\"until\":\"2023-01-01T00:00:00Z\"}",
                    base, entity);
    expect_problemf(400, "since", "POST", t.key, "{\"name\":\"X\",\"since\":\"yesterday\"}", base,
                    entity);
    expect_problemf(400, "colour", "POST", t.key, "{\"name\":\"X\",\"colour\":\"red\"}", base,
                    entity);
    expect_problemf(400, "pageSize", "GET", t.key, NULL,
                    "/v1/entities/%s/board-members?pageSize=-1", entity);
    /* An entity scoping does not know. */
    expect_problemf(404, NULL, "POST", t.key, "{\"name\":\"X\"}", base,
                    "0190f3a0-0000-7000-8000-000000000000");
    expect_problemf(404, NULL, "GET", t.key, NULL, base, "0190f3a0-0000-7000-8000-000000000000");
    expect_problemf(404, NULL, "GET", t.key, NULL, base, "not-a-uuid");
    free_tenant(&t);
}
END_TEST

/* SHA-256 of "We approve the measures." */
#define STATEMENT "We approve the measures."
#define STATEMENT_SHA256 "3ef678f01ff05bdd58a0fbea2b5ec3cd47b4d0753ed8305f9ca5f8c84875a9fa"

START_TEST(campaigns)
{
    tenant_t t = new_tenant("Campaigns");
    char entity[64], other[64], a[64], b[64], gone[64], campaign[64];
    new_entity(&t, "Campaign Co", entity);
    new_entity(&t, "Other Co", other);
    new_member(&t, entity, "Ann", -10, 0, a);
    new_member(&t, entity, "Bob", -10, 0, b);
    new_member(&t, entity, "Gone", -100, -50, gone);

    char due[32], body[1024];
    time_from_now(7 * 86400, due);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"RISK_MEASURES_APPROVAL\",\"statement\":\"" STATEMENT
             "\",\"dueAt\":\"%s\",\"validForDays\":365}",
             entity, due);
    json_t *c = expect(201, "POST", t.key, body, "/v1/attestation-campaigns");
    copy_str(campaign, sizeof(campaign), c, "id");
    ck_assert_str_eq(jstr(c, "statementSha256"), STATEMENT_SHA256);
    ck_assert_str_eq(jstr(c, "kind"), "RISK_MEASURES_APPROVAL");
    ck_assert_str_eq(jstr(c, "state"), "OPEN");
    ck_assert_str_eq(jstr(c, "statement"), STATEMENT);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "expected")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "pending")), 2);
    ck_assert(json_is_false(json_object_get(c, "approved")));
    ck_assert_str_ne(jstr(c, "createdBy"), "");
    json_decref(c);

    /* Who has attested and who has not. */
    attest_ok(t.key, campaign, a, "APPROVE");
    c = expect(200, "GET", t.key, NULL, "/v1/attestation-campaigns/%s", campaign);
    json_t *members = json_object_get(c, "members");
    ck_assert_uint_eq(json_array_size(members), 2);
    ck_assert_str_eq(jstr(json_array_get(members, 0), "name"), "Ann");
    ck_assert_str_eq(jstr(json_array_get(members, 0), "status"), "APPROVED");
    ck_assert_str_eq(jstr(json_array_get(members, 0), "sequence"), "1");
    ck_assert_str_eq(jstr(json_array_get(members, 1), "name"), "Bob");
    ck_assert_str_eq(jstr(json_array_get(members, 1), "status"), "PENDING");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "approvals")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "pending")), 1);
    ck_assert(json_is_false(json_object_get(c, "approved")));
    json_decref(c);
    attest_ok(t.key, campaign, b, "APPROVE");
    c = expect(200, "GET", t.key, NULL, "/v1/attestation-campaigns/%s", campaign);
    ck_assert(json_is_true(json_object_get(c, "approved")));
    ck_assert_str_ne(jstr(c, "approvedAt"), "");
    json_decref(c);

    /* Lists, all or by entity. */
    char other_campaign[64];
    new_campaign(&t, other, "POLICY_APPROVAL", "The ISMS policy v2.", 86400, 30, other_campaign);
    json_t *l = expect(200, "GET", t.key, NULL, "/v1/attestation-campaigns?entity=%s", entity);
    json_t *items = json_object_get(l, "campaigns");
    ck_assert_uint_eq(json_array_size(items), 1);
    ck_assert_str_eq(jstr(json_array_get(items, 0), "id"), campaign);
    ck_assert(json_is_true(json_object_get(json_array_get(items, 0), "approved")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "approvals")), 2);
    json_decref(l);
    l = expect(200, "GET", t.key, NULL, "/v1/attestation-campaigns");
    ck_assert_uint_eq(json_array_size(json_object_get(l, "campaigns")), 2);
    json_decref(l);
    expect_problemf(400, "entity", "GET", t.key, NULL, "/v1/attestation-campaigns?entity=nope");

    /* Bad input. */
    const char *path = "/v1/attestation-campaigns";
    char past[32];
    time_from_now(-60, past);
    struct {
        const char *field;
        char body[512];
    } bad[8];
    snprintf(bad[0].body, sizeof(bad[0].body),
             "{\"entity\":\"%s\",\"statement\":\"s\",\"dueAt\":\"%s\",\"validForDays\":1}", entity,
             due);
    bad[0].field = "kind";
    snprintf(bad[1].body, sizeof(bad[1].body),
             "{\"entity\":\"%s\",\"kind\":\"BOARD_PICNIC\",\"statement\":\"s\",\"dueAt\":\"%s\","
             "\"validForDays\":1}",
             entity, due);
    bad[1].field = "kind";
    snprintf(bad[2].body, sizeof(bad[2].body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\" \",\"dueAt\":\"%s\","
             "\"validForDays\":1}",
             entity, due);
    bad[2].field = "statement";
    snprintf(bad[3].body, sizeof(bad[3].body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"s\",\"dueAt\":\"%s\","
             "\"validForDays\":0}",
             entity, due);
    bad[3].field = "validForDays";
    snprintf(bad[4].body, sizeof(bad[4].body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"s\",\"dueAt\":\"%s\","
             "\"validForDays\":-5}",
             entity, due);
    bad[4].field = "validForDays";
    snprintf(bad[5].body, sizeof(bad[5].body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"s\",\"dueAt\":\"%s\","
             "\"validForDays\":1}",
             entity, past);
    bad[5].field = "dueAt";
    snprintf(bad[6].body, sizeof(bad[6].body),
             "{\"entity\":\"0190f3a0-0000-7000-8000-000000000000\",\"kind\":\"POLICY_APPROVAL\","
             "\"statement\":\"s\",\"dueAt\":\"%s\",\"validForDays\":1}",
             due);
    bad[6].field = "entity";
    snprintf(bad[7].body, sizeof(bad[7].body),
             "{\"kind\":\"POLICY_APPROVAL\",\"statement\":\"s\",\"dueAt\":\"%s\","
             "\"validForDays\":1}",
             due);
    bad[7].field = "entity";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_problemf(400, bad[i].field, "POST", t.key, bad[i].body, "%s", path);
    expect_problemf(404, NULL, "GET", t.key, NULL, "/v1/attestation-campaigns/%s",
                    "0190f3a0-0000-7000-8000-000000000000");
    expect_problemf(404, NULL, "GET", t.key, NULL, "/v1/attestation-campaigns/bogus");
    free_tenant(&t);
}
END_TEST

START_TEST(attestations_bad_input)
{
    tenant_t t = new_tenant("Bad attestations");
    char entity[64], other[64], a[64], gone[64], future[64], stranger[64], campaign[64];
    new_entity(&t, "Attest Co", entity);
    new_entity(&t, "Else Co", other);
    new_member(&t, entity, "Ann", -10, 0, a);
    new_member(&t, entity, "Gone", -100, -50, gone);
    new_member(&t, entity, "Future", 10, 0, future);
    new_member(&t, other, "Stranger", -10, 0, stranger);
    new_campaign(&t, entity, "RISK_MEASURES_APPROVAL", STATEMENT, 86400, 365, campaign);
    const char *path = "/v1/attestation-campaigns/%s/attestations";
    char body[256];

    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", gone);
    expect_problemf(400, "member", "POST", t.key, body, path, campaign);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", future);
    expect_problemf(400, "member", "POST", t.key, body, path, campaign);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", stranger);
    expect_problemf(400, "member", "POST", t.key, body, path, campaign);
    expect_problemf(
        400, "member", "POST", t.key,
        "{\"member\":\"0190f3a0-0000-7000-8000-000000000000\",\"decision\":\"APPROVE\"}", path,
        campaign);
    expect_problemf(400, "member", "POST", t.key, "{\"member\":\"ann\",\"decision\":\"APPROVE\"}",
                    path, campaign);
    expect_problemf(400, "member", "POST", t.key, "{\"decision\":\"APPROVE\"}", path, campaign);
    snprintf(body, sizeof(body), "{\"member\":\"%s\"}", a);
    expect_problemf(400, "decision", "POST", t.key, body, path, campaign);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"MAYBE\"}", a);
    expect_problemf(400, "decision", "POST", t.key, body, path, campaign);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", a);
    expect_problemf(404, NULL, "POST", t.key, body, path, "0190f3a0-0000-7000-8000-000000000000");
    expect_problemf(404, NULL, "POST", t.key, body, path, "nope");
    /* Nothing of that reached the chain. */
    expect_valid(t.key, entity, "0");

    /* A second attestation by the same member: 409. */
    json_t *rec = attest(t.key, campaign, a, "ABSTAIN");
    ck_assert_str_eq(jstr(rec, "sequence"), "1");
    json_decref(rec);
    expect_problemf(409, NULL, "POST", t.key, body, path, campaign);

    /* A campaign past its due date takes no more attestations. */
    char closing[64], b[64];
    new_member(&t, entity, "Bob", -10, 0, b);
    new_campaign(&t, entity, "POLICY_APPROVAL", "Closes soon.", 3600, 30, closing);
    make_campaign_due(closing);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", b);
    expect_problemf(400, "campaign", "POST", t.key, body, path, closing);
    json_t *c = expect(200, "GET", t.key, NULL, "/v1/attestation-campaigns/%s", closing);
    ck_assert_str_eq(jstr(c, "state"), "CLOSED");
    json_decref(c);
    expect_valid(t.key, entity, "1");
    free_tenant(&t);
}
END_TEST

/* Runs verify-export.sh on the export x with the key at pem_path, in dir;
 * 0 when its output (stdout and stderr) matches the basic regular
 * expression want. */
static int offline_check(const char *dir, json_t *x, const char *pem_path, const char *want)
{
    char export_path[128], cmd[1024];
    snprintf(export_path, sizeof(export_path), "%s/export.json", dir);
    ck_assert_int_eq(json_dump_file(x, export_path, 0), 0);
    snprintf(cmd, sizeof(cmd),
             "bash '%s/services/attestations/verify-export.sh' '%s' '%s' 2>&1 | grep -q '%s'",
             BW_SOURCE_DIR, export_path, pem_path, want);
    int rc = system(cmd);
    unlink(export_path);
    return rc;
}

/* The signed statement of export x, decoded (caller decrefs); asserts that
 * its readable fields are the export's and what it signs. */
static json_t *export_statement(json_t *x, const char *key_id, const char *records,
                                const char *head_sequence, const char *head_hash)
{
    json_t *st = json_object_get(x, "statement");
    ck_assert_ptr_nonnull(st);
    size_t len;
    unsigned char *bytes = b64_decode(jstr(st, "canonical"), &len);
    json_t *doc = json_loadb((const char *)bytes, len, 0, NULL);
    free(bytes);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(json_object_size(doc), 8);
    static const char *const same[] = {"format", "tenant", "entity"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        ck_assert_str_eq(jstr(doc, same[i]), jstr(x, same[i]));
        ck_assert_str_eq(jstr(st, same[i]), jstr(x, same[i]));
    }
    ck_assert_str_eq(jstr(doc, "keyId"), key_id);
    ck_assert_str_eq(jstr(st, "keyId"), key_id);
    ck_assert_str_eq(jstr(doc, "headHash"), head_hash);
    ck_assert_str_eq(jstr(st, "headHash"), head_hash);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "records")), atoll(records));
    ck_assert_str_eq(jstr(st, "records"), records);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "headSequence")),
                     atoll(head_sequence));
    ck_assert_str_eq(jstr(st, "headSequence"), head_sequence);
    /* The time signed to the microsecond, shown as proto3 JSON shows it. */
    const char *signed_time = jstr(doc, "exportTime");
    ck_assert_uint_eq(strlen(signed_time), 27);
    ck_assert_str_eq(jstr(st, "exportTime"), jstr(x, "exportTime"));
    ck_assert_int_eq(strncmp(signed_time, jstr(x, "exportTime"), 19), 0);
    return doc;
}

START_TEST(chain_verify_export_and_offline_check)
{
    tenant_t t = new_tenant("Chain");
    char entity[64], a[64], b[64], campaign[64];
    new_entity(&t, "Chain Co", entity);
    new_member(&t, entity, "Ann \\\"the Chair\\\" Émile", -10, 0, a);
    new_member(&t, entity, "Bob", -10, 0, b);
    new_campaign(&t, entity, "RISK_MEASURES_APPROVAL", STATEMENT, 86400, 365, campaign);

    /* Verifying an entity that has no record yet. */
    json_t *v = expect(200, "GET", t.key, NULL, "/v1/entities/%s/attestations:verify", entity);
    ck_assert(json_is_true(json_object_get(v, "valid")));
    ck_assert_str_eq(jstr(v, "records"), "0");
    json_decref(v);

    /* Its export: no records, no head, the current key, and the statement
     * that alone binds the entity and the time. */
    char dir[] = "/tmp/bw-e2e-attest-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char pem_path[128], bin_path[128], sig_path[128], cmd[1024], want[512];
    json_t *pk = expect(200, "GET", t.key, NULL, "/v1/attestations:public-key");
    snprintf(pem_path, sizeof(pem_path), "%s/public.pem", dir);
    write_file(pem_path, jstr(pk, "pem"), strlen(jstr(pk, "pem")));
    json_t *x0 = expect(200, "GET", t.key, NULL, "/v1/entities/%s/attestations:export", entity);
    ck_assert_uint_eq(json_array_size(json_object_get(x0, "records")), 0);
    ck_assert_ptr_null(json_object_get(x0, "head"));
    ck_assert_uint_eq(json_array_size(json_object_get(x0, "keys")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(x0, "keys"), 0), "keyId"),
                     jstr(pk, "keyId"));
    json_t *st0 = export_statement(x0, jstr(pk, "keyId"), "0", "0", "");
    snprintf(want, sizeof(want), "^valid: 0 records, head 0\\{64\\}, entity %s, exported %s$",
             entity, jstr(st0, "exportTime"));
    ck_assert_msg(offline_check(dir, x0, pem_path, want) == 0, "the empty export: %s", want);
    /* Another entity's name on it: refused. */
    json_object_set_new(x0, "entity", json_string("0190f3a0-0000-7000-8000-000000000000"));
    ck_assert(offline_check(dir, x0, pem_path, "^INVALID: the export names another") == 0);
    json_decref(st0);
    json_decref(x0);

    char body[512];
    snprintf(body, sizeof(body),
             "{\"member\":\"%s\",\"decision\":\"APPROVE\",\"comment\":\"Seen the plan;\\n"
             "approved \\\"as is\\\" \\u00e9\"}",
             a);
    json_t *r1 =
        expect(201, "POST", t.key, body, "/v1/attestation-campaigns/%s/attestations", campaign);
    ck_assert_str_eq(jstr(r1, "sequence"), "1");
    ck_assert_str_eq(jstr(r1, "previousHash"),
                     "0000000000000000000000000000000000000000000000000000000000000000");
    ck_assert_uint_eq(strlen(jstr(r1, "hash")), 64);
    ck_assert_uint_eq(strlen(jstr(r1, "keyId")), 16);
    ck_assert_uint_eq(strlen(jstr(r1, "signature")), 88); /* 64 bytes in base64 */
    ck_assert_str_eq(jstr(r1, "statementSha256"), STATEMENT_SHA256);
    ck_assert_str_eq(jstr(r1, "decision"), "APPROVE");
    ck_assert_str_eq(jstr(r1, "member"), a);
    ck_assert_str_eq(jstr(r1, "tenant"), t.id);
    ck_assert_str_eq(jstr(r1, "entity"), entity);
    ck_assert(json_is_true(json_object_get(r1, "onBehalf")));
    ck_assert_ptr_nonnull(strstr(jstr(r1, "recordedBy"), "api-key:"));
    /* The canonical bytes are the record. */
    size_t len;
    unsigned char *canonical = b64_decode(jstr(r1, "canonical"), &len);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)canonical, len, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(jstr(doc, "format"), "bulwark.attestation.v2");
    ck_assert_str_eq(jstr(doc, "id"), jstr(r1, "id"));
    ck_assert_str_eq(jstr(doc, "comment"), "Seen the plan;\napproved \"as is\" \xc3\xa9");
    ck_assert_str_eq(jstr(doc, "memberName"), "Ann \"the Chair\" \xc3\x89mile");
    ck_assert_str_eq(jstr(doc, "previousHash"), jstr(r1, "previousHash"));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "sequence")), 1);
    json_decref(doc);
    free(canonical);

    json_t *r2 = attest(t.key, campaign, b, "REJECT");
    ck_assert_str_eq(jstr(r2, "sequence"), "2");
    ck_assert_str_eq(jstr(r2, "previousHash"), jstr(r1, "hash"));

    v = expect(200, "GET", t.key, NULL, "/v1/entities/%s/attestations:verify", entity);
    ck_assert(json_is_true(json_object_get(v, "valid")));
    ck_assert_str_eq(jstr(v, "records"), "2");
    ck_assert_str_eq(jstr(v, "headHash"), jstr(r2, "hash"));
    json_decref(v);

    /* The public key, and the export checked with it offline. */
    ck_assert_str_eq(jstr(pk, "keyId"), jstr(r1, "keyId"));
    ck_assert_str_eq(jstr(pk, "algorithm"), "Ed25519");
    ck_assert_ptr_nonnull(strstr(jstr(pk, "pem"), "-----BEGIN PUBLIC KEY-----"));
    ck_assert_uint_ge(json_array_size(json_object_get(pk, "keys")), 1);

    json_t *x = expect(200, "GET", t.key, NULL, "/v1/entities/%s/attestations:export", entity);
    ck_assert_str_eq(jstr(x, "format"), "bulwark.attestation-export.v3");
    ck_assert(json_is_true(json_object_get(json_object_get(x, "verification"), "valid")));
    json_t *records = json_object_get(x, "records");
    ck_assert_uint_eq(json_array_size(records), 2);
    ck_assert_str_eq(jstr(json_object_get(x, "head"), "hash"), jstr(r2, "hash"));
    ck_assert_str_eq(jstr(json_object_get(x, "head"), "sequence"), "2");
    ck_assert_uint_eq(json_array_size(json_object_get(x, "campaigns")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(x, "campaigns"), 0), "statement"),
                     STATEMENT);
    ck_assert_uint_eq(json_array_size(json_object_get(x, "keys")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(x, "keys"), 0), "pem"), jstr(pk, "pem"));
    json_t *st = export_statement(x, jstr(pk, "keyId"), "2", "2", jstr(r2, "hash"));

    /* The records, then the head, then the statement. */
    json_t *head = json_object_get(x, "head");
    size_t n_records = json_array_size(records);
    for (size_t i = 0; i <= n_records + 1; i++) {
        json_t *item = i < n_records    ? json_array_get(records, i)
                       : i == n_records ? head
                                        : json_object_get(x, "statement");
        size_t clen, slen;
        unsigned char *bytes = b64_decode(jstr(item, "canonical"), &clen);
        unsigned char *sig = b64_decode(jstr(item, "signature"), &slen);
        ck_assert_uint_eq(slen, 64);
        snprintf(bin_path, sizeof(bin_path), "%s/%zu.json", dir, i);
        snprintf(sig_path, sizeof(sig_path), "%s/%zu.sig", dir, i);
        write_file(bin_path, bytes, clen);
        write_file(sig_path, sig, slen);
        /* As README.md tells an auditor: the hash, then the signature. */
        snprintf(cmd, sizeof(cmd),
                 "test \"$(openssl dgst -sha256 -r '%s' | cut -d' ' -f1)\" = '%s' && "
                 "openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' "
                 ">/dev/null",
                 bin_path, i < n_records ? jstr(item, "hash") : "skip", pem_path, bin_path,
                 sig_path);
        if (i >= n_records) /* the head and the statement have no hash of their own */
            snprintf(cmd, sizeof(cmd),
                     "openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' "
                     ">/dev/null",
                     pem_path, bin_path, sig_path);
        ck_assert_msg(system(cmd) == 0, "offline check of item %zu failed: %s", i, cmd);
        /* One flipped byte and openssl refuses it. */
        bytes[clen / 2] ^= 0x01;
        write_file(bin_path, bytes, clen);
        snprintf(cmd, sizeof(cmd),
                 "openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' "
                 ">/dev/null 2>&1",
                 pem_path, bin_path, sig_path);
        ck_assert_msg(system(cmd) != 0, "openssl accepted an altered record");
        unlink(bin_path);
        unlink(sig_path);
        free(bytes);
        free(sig);
    }

    /* The whole export through the auditor's script: valid as exported,
     * naming the entity and the time the statement signs; a readable
     * decision changed from APPROVE to REJECT is caught at its sequence,
     * although the signed bytes are untouched; the export re-dated is
     * caught by its statement. */
    snprintf(want, sizeof(want), "^valid: 2 records, head %s, entity %s, exported %s$",
             jstr(r2, "hash"), entity, jstr(st, "exportTime"));
    ck_assert_msg(offline_check(dir, x, pem_path, want) == 0, "verify-export.sh refused: %s", want);
    /* bulwarkctl runs the same script and gives its verdict as JSON. */
    char export_path[128];
    snprintf(export_path, sizeof(export_path), "%s/export.json", dir);
    ck_assert_int_eq(json_dump_file(x, export_path, 0), 0);
    snprintf(cmd, sizeof(cmd), "'%s' --output json attestations verify '%s' '%s'", BW_BULWARKCTL,
             export_path, pem_path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    json_t *verdict = json_loadf(p, 0, NULL);
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_ptr_nonnull(verdict);
    ck_assert(json_is_true(json_object_get(verdict, "valid")));
    ck_assert_int_eq(json_integer_value(json_object_get(verdict, "records")), 2);
    ck_assert_str_eq(jstr(verdict, "headHash"), jstr(r2, "hash"));
    ck_assert_str_eq(jstr(verdict, "entity"), entity);
    ck_assert_str_eq(jstr(verdict, "exportTime"), jstr(st, "exportTime"));
    json_decref(verdict);
    unlink(export_path);
    json_t *forged = json_deep_copy(x);
    json_object_set_new(json_array_get(json_object_get(forged, "records"), 0), "decision",
                        json_string("REJECT"));
    ck_assert_msg(
        offline_check(dir, forged, pem_path, "^INVALID at sequence 1: the readable decision") == 0,
        "verify-export.sh passed a forged decision");
    json_decref(forged);
    forged = json_deep_copy(x);
    json_object_set_new(forged, "exportTime", json_string("2099-01-01T00:00:00Z"));
    ck_assert_msg(offline_check(dir, forged, pem_path,
                                "^INVALID: the exportTime 2099-01-01T00:00:00Z is not") == 0,
                  "verify-export.sh passed a re-dated export");
    json_decref(forged);
    json_decref(st);
    unlink(pem_path);
    rmdir(dir);

    /* Only admin and auditor verify and export; everyone reads the key. */
    char *auditor = new_key(&t, "auditor", NULL);
    char *viewer = new_key(&t, "viewer", NULL);
    char *editor = new_key(&t, "editor", NULL);
    expect_valid(auditor, entity, "2");
    json_decref(expect(200, "GET", auditor, NULL, "/v1/entities/%s/attestations:export", entity));
    expect_problemf(403, NULL, "GET", viewer, NULL, "/v1/entities/%s/attestations:verify", entity);
    expect_problemf(403, NULL, "GET", editor, NULL, "/v1/entities/%s/attestations:export", entity);
    json_decref(expect(200, "GET", viewer, NULL, "/v1/attestations:public-key"));
    expect_problemf(404, NULL, "GET", t.key, NULL, "/v1/entities/%s/attestations:verify",
                    "0190f3a0-0000-7000-8000-000000000000");
    expect_problemf(404, NULL, "GET", t.key, NULL, "/v1/entities/%s/attestations:export",
                    "0190f3a0-0000-7000-8000-000000000000");
    free(auditor);
    free(viewer);
    free(editor);
    json_decref(x);
    json_decref(pk);
    json_decref(r1);
    json_decref(r2);
    free_tenant(&t);
}
END_TEST

START_TEST(board_member_keys_sign_only_as_themselves)
{
    tenant_t t = new_tenant("Board keys");
    char entity[64], a[64], b[64], c1[64], c2[64];
    new_entity(&t, "Keys Co", entity);
    new_member(&t, entity, "Ann", -10, 0, a);
    new_member(&t, entity, "Bob", -10, 0, b);
    new_campaign(&t, entity, "MANAGEMENT_TRAINING", "I followed the 2025 course.", 86400, 365, c1);
    new_campaign(&t, entity, "POLICY_APPROVAL", "Policy v3.", 86400, 365, c2);
    char *ann = new_key(&t, "board_member", a);
    char *viewer = new_key(&t, "viewer", NULL);

    /* Ann's key attests as Ann, with or without naming her. */
    json_t *r = attest(ann, c1, NULL, "APPROVE");
    ck_assert_str_eq(jstr(r, "member"), a);
    ck_assert(json_is_false(json_object_get(r, "onBehalf")));
    json_decref(r);
    r = attest(ann, c2, a, "APPROVE");
    ck_assert(json_is_false(json_object_get(r, "onBehalf")));
    json_decref(r);
    /* ... never as Bob. */
    char body[256];
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", b);
    expect_problemf(403, NULL, "POST", ann, body, "/v1/attestation-campaigns/%s/attestations", c1);
    /* A key is issued only for a member of the tenant in office: one naming
     * nobody, or a member whose tenure is over or has not begun, is refused
     * when asked for. */
    char other_entity[64], gone[64], future[64], elsewhere[64], carl[64];
    new_entity(&t, "Other Co", other_entity);
    new_member(&t, entity, "Gone", -400, -10, gone);
    new_member(&t, entity, "Future", 10, 0, future);
    new_member(&t, other_entity, "Elsewhere", -10, 0, elsewhere);
    new_member(&t, entity, "Carl", -10, 0, carl);
    const char *unfit[] = {"0190f3a0-0000-7000-8000-000000000000", gone, future};
    for (size_t i = 0; i < sizeof(unfit) / sizeof(unfit[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"name\":\"k\",\"role\":\"board_member\",\"boardMember\":\"%s\"}", unfit[i]);
        expect_problemf(400, "boardMember", "POST", t.key, body, "/v1/api-keys");
    }
    /* At use, a key whose member left office since, or who sits on another
     * entity's board: refused, whatever the campaign. */
    char *carl_key = new_key(&t, "board_member", carl);
    char *elsewhere_key = new_key(&t, "board_member", elsewhere);
    char ended[32];
    time_from_now(-60, ended);
    snprintf(body, sizeof(body), "{\"until\":\"%s\"}", ended);
    json_decref(
        expect(200, "PATCH", t.key, body, "/v1/entities/%s/board-members/%s", entity, carl));
    struct {
        const char *key, *campaign, *reason;
    } refused[] = {
        {carl_key, c1, "BOARD_MEMBER_NOT_CURRENT"},
        {carl_key, "0190f3a0-0000-7000-8000-00000000dead", "BOARD_MEMBER_NOT_CURRENT"},
        {elsewhere_key, c1, "NOT_ON_THIS_BOARD"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        bw_test_resp_t resp;
        snprintf(body, sizeof(body), "/v1/attestation-campaigns/%s/attestations",
                 refused[i].campaign);
        ck_assert_int_eq(
            bw_test_http("POST", body, refused[i].key, "{\"decision\":\"APPROVE\"}", NULL, &resp),
            0);
        ck_assert_problem(&resp, 403, NULL);
        ck_assert_str_eq(jstr(resp.json, "reason"), refused[i].reason);
        bw_test_resp_free(&resp);
    }
    /* An admin naming the same members gets a 400 naming the field. */
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", gone);
    expect_problemf(400, "member", "POST", t.key, body, "/v1/attestation-campaigns/%s/attestations",
                    c1);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", elsewhere);
    expect_problemf(400, "member", "POST", t.key, body, "/v1/attestation-campaigns/%s/attestations",
                    c1);
    expect_valid(t.key, entity, "2");
    /* The admin records Bob's on his behalf. */
    r = attest(t.key, c1, b, "APPROVE");
    ck_assert(json_is_true(json_object_get(r, "onBehalf")));
    json_decref(r);

    /* Governance counts what was decided on a member's behalf apart. */
    json_t *g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "attestations")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "onBehalfAttestations")), 1);
    json_t *tr = json_object_get(g, "training");
    for (size_t i = 0; i < json_array_size(tr); i++) {
        json_t *m = json_array_get(tr, i);
        ck_assert(json_is_true(json_object_get(m, "current")));
        ck_assert(json_is_boolean(json_object_get(m, "onBehalf")));
        ck_assert_int_eq(json_is_true(json_object_get(m, "onBehalf")),
                         strcmp(jstr(m, "member"), b) == 0);
    }
    ck_assert_uint_eq(json_array_size(tr), 2);
    json_decref(g);

    /* Board members read but do not manage or audit; viewers do not attest. */
    json_decref(expect(200, "GET", ann, NULL, "/v1/attestation-campaigns/%s", c1));
    json_decref(expect(200, "GET", ann, NULL, "/v1/entities/%s/governance", entity));
    json_decref(expect(200, "GET", ann, NULL, "/v1/entities/%s/board-members", entity));
    expect_problemf(403, NULL, "POST", ann, "{\"name\":\"Mallory\"}",
                    "/v1/entities/%s/board-members", entity);
    expect_problemf(403, NULL, "GET", ann, NULL, "/v1/entities/%s/attestations:verify", entity);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", a);
    expect_problemf(403, NULL, "POST", viewer, body, "/v1/attestation-campaigns/%s/attestations",
                    c2);
    expect_valid(t.key, entity, "3");
    free(carl_key);
    free(elsewhere_key);
    free(ann);
    free(viewer);
    free_tenant(&t);
}
END_TEST

START_TEST(other_tenants_see_404)
{
    tenant_t t = new_tenant("Owner"), o = new_tenant("Intruder");
    char entity[64], a[64], campaign[64];
    new_entity(&t, "Private Co", entity);
    new_member(&t, entity, "Ann", -10, 0, a);
    new_campaign(&t, entity, "RISK_MEASURES_APPROVAL", STATEMENT, 86400, 365, campaign);
    attest_ok(t.key, campaign, a, "APPROVE");

    char body[256];
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", a);
    expect_problemf(404, NULL, "GET", o.key, NULL, "/v1/attestation-campaigns/%s", campaign);
    expect_problemf(404, NULL, "POST", o.key, body, "/v1/attestation-campaigns/%s/attestations",
                    campaign);
    expect_problemf(404, NULL, "GET", o.key, NULL, "/v1/entities/%s/board-members", entity);
    expect_problemf(404, NULL, "POST", o.key, "{\"name\":\"X\"}", "/v1/entities/%s/board-members",
                    entity);
    expect_problemf(404, NULL, "PATCH", o.key, "{\"name\":\"X\"}",
                    "/v1/entities/%s/board-members/%s", entity, a);
    expect_problemf(404, NULL, "GET", o.key, NULL, "/v1/entities/%s/governance", entity);
    expect_problemf(404, NULL, "GET", o.key, NULL, "/v1/entities/%s/attestations:verify", entity);
    expect_problemf(404, NULL, "GET", o.key, NULL, "/v1/entities/%s/attestations:export", entity);
    char due[32];
    time_from_now(86400, due);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"s\",\"dueAt\":\"%s\","
             "\"validForDays\":1}",
             entity, due);
    expect_problemf(400, "entity", "POST", o.key, body, "/v1/attestation-campaigns");
    json_t *l = expect(200, "GET", o.key, NULL, "/v1/attestation-campaigns");
    ck_assert_uint_eq(json_array_size(json_object_get(l, "campaigns")), 0);
    json_decref(l);
    /* The owner's chain is untouched. */
    expect_valid(t.key, entity, "1");
    free_tenant(&t);
    free_tenant(&o);
}
END_TEST

/* An entity with four attestations, by four members in one campaign. */
static void four_records(const tenant_t *t, char entity[64])
{
    char m[4][64], campaign[64];
    new_entity(t, "Tamper Co", entity);
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "Member %d", i);
        new_member(t, entity, name, -10, 0, m[i]);
    }
    new_campaign(t, entity, "RISK_MEASURES_APPROVAL", STATEMENT, 86400, 365, campaign);
    for (int i = 0; i < 4; i++)
        attest_ok(t->key, campaign, m[i], i == 1 ? "REJECT" : "APPROVE");
    expect_valid(t->key, entity, "4");
}

/* A superuser session in which triggers do not fire: how an attacker with
 * the database's keys would go about it. */
static PGconn *tamperer(void)
{
    PGconn *conn = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(conn, "SET session_replication_role = replica");
    return conn;
}

START_TEST(the_database_refuses_changes)
{
    tenant_t t = new_tenant("Refusal");
    char entity[64];
    four_records(&t, entity);
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    /* Even the owner, with the triggers on (and the tenant set: row-level
     * security is forced, so the owner sees only the tenant's rows). */
    bw_test_exec(admin, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    ck_assert_str_eq(bw_test_sql_error(admin,
                                       "UPDATE attestations.records SET decision = 'APPROVE' "
                                       "WHERE entity_id = $1",
                                       entity),
                     "42501");
    ck_assert_str_eq(
        bw_test_sql_error(admin, "DELETE FROM attestations.records WHERE entity_id = $1", entity),
        "42501");
    ck_assert_str_eq(bw_test_sql_error(admin, "TRUNCATE attestations.records CASCADE"), "42501");
    ck_assert_str_eq(bw_test_sql_error(admin,
                                       "UPDATE attestations.campaigns SET statement = 'other' "
                                       "WHERE entity_id = $1",
                                       entity),
                     "42501");
    ck_assert_str_eq(bw_test_sql_error(admin,
                                       "UPDATE attestations.chain_heads SET sequence = 3 "
                                       "WHERE entity_id = $1",
                                       entity),
                     "42501");
    ck_assert_str_eq(bw_test_sql_error(admin,
                                       "DELETE FROM attestations.chain_heads WHERE entity_id = $1",
                                       entity),
                     "42501");
    ck_assert_str_eq(bw_test_sql_error(admin, "DELETE FROM attestations.signing_keys"), "42501");
    PQfinish(admin);
    /* The service's own role has no such privilege at all. */
    PGconn *app = bw_test_pg("BULWARK_TEST_ATTESTATIONS_DATABASE_URL");
    bw_test_exec(app, "SELECT set_config('bulwark.tenant_id', $1, false)", t.id);
    ck_assert_str_eq(
        bw_test_sql_error(app, "UPDATE attestations.records SET comment = 'x' WHERE entity_id = $1",
                          entity),
        "42501");
    ck_assert_str_eq(
        bw_test_sql_error(app, "DELETE FROM attestations.records WHERE entity_id = $1", entity),
        "42501");
    PQfinish(app);
    expect_valid(t.key, entity, "4");
    free_tenant(&t);
}
END_TEST

START_TEST(altered_rows_are_reported_at_their_sequence)
{
    tenant_t t = new_tenant("Altered");
    char entity[64];
    four_records(&t, entity);
    PGconn *db = tamperer();
    const char *set_approve = "UPDATE attestations.records SET decision = 'APPROVE' "
                              "WHERE entity_id = $1 AND sequence = 2";
    const char *set_reject = "UPDATE attestations.records SET decision = 'REJECT' "
                             "WHERE entity_id = $1 AND sequence = 2";
    bw_test_exec(db, set_approve, entity);
    expect_invalid(t.key, entity, "2", "HASH_MISMATCH");
    /* Put back, it verifies again: the check is about content, not history. */
    bw_test_exec(db, set_reject, entity);
    expect_valid(t.key, entity, "4");

    bw_test_exec(db,
                 "UPDATE attestations.records SET comment = comment || ' ' "
                 "WHERE entity_id = $1 AND sequence = 3",
                 entity);
    expect_invalid(t.key, entity, "3", "HASH_MISMATCH");
    bw_test_exec(db,
                 "UPDATE attestations.records SET comment = rtrim(comment) "
                 "WHERE entity_id = $1 AND sequence = 3",
                 entity);
    expect_valid(t.key, entity, "4");

    bw_test_exec(db,
                 "UPDATE attestations.records SET recorded_at = recorded_at - interval '1 day' "
                 "WHERE entity_id = $1 AND sequence = 4",
                 entity);
    expect_invalid(t.key, entity, "4", "HASH_MISMATCH");
    bw_test_exec(db,
                 "UPDATE attestations.records SET recorded_at = recorded_at + interval '1 day' "
                 "WHERE entity_id = $1 AND sequence = 4",
                 entity);
    bw_test_exec(db,
                 "UPDATE attestations.records SET signature = "
                 "set_byte(signature, 7, get_byte(signature, 7) # 1) "
                 "WHERE entity_id = $1 AND sequence = 4",
                 entity);
    expect_invalid(t.key, entity, "4", "SIGNATURE_INVALID");
    bw_test_exec(db,
                 "UPDATE attestations.records SET signature = "
                 "set_byte(signature, 7, get_byte(signature, 7) # 1) "
                 "WHERE entity_id = $1 AND sequence = 4",
                 entity);
    expect_valid(t.key, entity, "4");

    /* The statement attested, rewritten with a matching hash of its own. */
    bw_test_exec(db,
                 "UPDATE attestations.campaigns SET statement = statement || ' Not.', "
                 "statement_sha256 = encode(sha256(convert_to(statement || ' Not.', 'UTF8')), "
                 "'hex') WHERE entity_id = $1",
                 entity);
    expect_invalid(t.key, entity, "1", "STATEMENT_MISMATCH");
    PQfinish(db);
    free_tenant(&t);
}
END_TEST

START_TEST(removed_rows_are_reported_at_the_gap)
{
    tenant_t t = new_tenant("Removed");
    char middle[64], last[64];
    four_records(&t, middle);
    four_records(&t, last);
    PGconn *db = tamperer();
    bw_test_exec(db, "DELETE FROM attestations.records WHERE entity_id = $1 AND sequence = 2",
                 middle);
    expect_invalid(t.key, middle, "2", "RECORD_MISSING");

    /* The last record: the signed head still vouches for it. */
    bw_test_exec(db, "DELETE FROM attestations.records WHERE entity_id = $1 AND sequence = 4",
                 last);
    expect_invalid(t.key, last, "4", "RECORD_MISSING");
    /* Moving the head back needs a signature the attacker does not have. */
    bw_test_exec(db,
                 "UPDATE attestations.chain_heads h SET sequence = 3, hash = r.hash "
                 "FROM attestations.records r WHERE h.entity_id = $1 "
                 "AND r.entity_id = h.entity_id AND r.sequence = 3",
                 last);
    expect_invalid(t.key, last, "3", "HEAD_SIGNATURE_INVALID");
    /* Removing the head as well. */
    bw_test_exec(db, "DELETE FROM attestations.chain_heads WHERE entity_id = $1", last);
    expect_invalid(t.key, last, "3", "HEAD_MISSING");
    PQfinish(db);
    free_tenant(&t);
}
END_TEST

START_TEST(governance_status_art_20)
{
    tenant_t t = new_tenant("Governance");
    char entity[64], a[64], b[64], gone[64], approval[64], training[64];
    new_entity(&t, "Gov Co", entity);

    /* Nothing recorded yet. */
    json_t *g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert(json_is_false(json_object_get(json_object_get(g, "measuresApproval"), "current")));
    ck_assert(json_is_false(json_object_get(g, "compliant")));
    ck_assert_int_eq(json_integer_value(json_object_get(g, "membersInOffice")), 0);
    json_decref(g);

    new_member(&t, entity, "Ann", -10, 0, a);
    new_member(&t, entity, "Bob", -10, 0, b);
    new_member(&t, entity, "Gone", -400, -200, gone);
    new_campaign(&t, entity, "RISK_MEASURES_APPROVAL", STATEMENT, 5 * 86400, 365, approval);
    new_campaign(&t, entity, "MANAGEMENT_TRAINING", "Completed the 2025 board course.", 2 * 86400,
                 730, training);

    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "membersInOffice")), 2);
    ck_assert(json_is_false(json_object_get(json_object_get(g, "measuresApproval"), "current")));
    ck_assert_str_eq(jstr(json_object_get(g, "measuresApproval"), "basis"), "NIS2 Art 20(1)");
    json_t *up = json_object_get(g, "upcoming");
    ck_assert_uint_eq(json_array_size(up), 2);
    /* The training campaign is due first. */
    ck_assert_str_eq(jstr(json_array_get(up, 0), "kind"), "CAMPAIGN_DUE");
    ck_assert_str_eq(jstr(json_array_get(up, 0), "campaign"), training);
    ck_assert_str_eq(jstr(json_array_get(up, 1), "campaign"), approval);
    json_decref(g);

    /* One approval of two is no majority; two are. */
    attest_ok(t.key, approval, a, "APPROVE");
    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert(json_is_false(json_object_get(json_object_get(g, "measuresApproval"), "current")));
    json_decref(g);
    attest_ok(t.key, approval, b, "APPROVE");
    attest_ok(t.key, training, a, "APPROVE");
    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    json_t *ma = json_object_get(g, "measuresApproval");
    ck_assert(json_is_true(json_object_get(ma, "current")));
    ck_assert_str_eq(jstr(ma, "campaign"), approval);
    ck_assert_str_ne(jstr(ma, "validUntil"), "");
    json_t *tr = json_object_get(g, "training");
    ck_assert_uint_eq(json_array_size(tr), 2);
    ck_assert_str_eq(jstr(json_array_get(tr, 0), "name"), "Ann");
    ck_assert(json_is_true(json_object_get(json_array_get(tr, 0), "current")));
    ck_assert(json_is_false(json_object_get(json_array_get(tr, 1), "current")));
    ck_assert(json_is_false(json_object_get(g, "trainingCurrent")));
    ck_assert(json_is_false(json_object_get(g, "compliant")));
    json_decref(g);

    /* Bob declines the training confirmation: still not trained. */
    attest_ok(t.key, training, b, "REJECT");
    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert(json_is_false(json_object_get(g, "compliant")));
    json_decref(g);

    /* A second training campaign that Bob confirms: every member trained
     * and the measures approved, but the body has not yet overseen their
     * implementation (Art 20(1)): not compliant (it was, before oversight
     * counted). */
    char retraining[64];
    new_campaign(&t, entity, "MANAGEMENT_TRAINING", "Completed the catch-up course.", 86400, 365,
                 retraining);
    attest_ok(t.key, retraining, b, "APPROVE");
    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert(json_is_true(json_object_get(g, "trainingCurrent")));
    ck_assert(json_is_true(json_object_get(json_object_get(g, "measuresApproval"), "current")));
    json_t *ov = json_object_get(g, "oversight");
    ck_assert_ptr_nonnull(ov);
    ck_assert(json_is_false(json_object_get(ov, "current")));
    ck_assert_str_eq(jstr(ov, "basis"), "NIS2 Art 20(1)");
    ck_assert(json_is_false(json_object_get(g, "compliant")));
    json_decref(g);

    /* The body reviews the implementation report, by majority: compliant. */
    char oversight[64];
    new_campaign(&t, entity, "IMPLEMENTATION_OVERSIGHT",
                 "We reviewed the Q3 report on the implementation of the measures.", 3 * 86400, 180,
                 oversight);
    attest_ok(t.key, oversight, a, "APPROVE");
    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ck_assert(json_is_false(json_object_get(json_object_get(g, "oversight"), "current")));
    json_decref(g);
    attest_ok(t.key, oversight, b, "APPROVE");
    g = expect(200, "GET", t.key, NULL, "/v1/entities/%s/governance", entity);
    ov = json_object_get(g, "oversight");
    ck_assert(json_is_true(json_object_get(ov, "current")));
    ck_assert_str_eq(jstr(ov, "campaign"), oversight);
    ck_assert_int_eq(json_integer_value(json_object_get(ov, "confirmations")), 2);
    ck_assert_str_ne(jstr(ov, "reviewedAt"), "");
    ck_assert(json_is_true(json_object_get(g, "compliant")));
    up = json_object_get(g, "upcoming");
    /* Soonest first: Ann still has the retraining campaign open (1 day),
     * then the review (180 days), Bob's training (365 days) and the
     * approval (365 days), then Ann's training (730 days). */
    ck_assert_uint_eq(json_array_size(up), 5);
    ck_assert_str_eq(jstr(json_array_get(up, 0), "kind"), "CAMPAIGN_DUE");
    ck_assert_str_eq(jstr(json_array_get(up, 1), "kind"), "OVERSIGHT_EXPIRES");
    ck_assert_str_eq(jstr(json_array_get(up, 4), "kind"), "TRAINING_EXPIRES");
    ck_assert_str_eq(jstr(json_array_get(up, 4), "member"), a);
    for (size_t i = 1; i < json_array_size(up); i++)
        ck_assert_str_le(jstr(json_array_get(up, i - 1), "at"), jstr(json_array_get(up, i), "at"));
    json_decref(g);

    expect_problemf(404, NULL, "GET", t.key, NULL, "/v1/entities/%s/governance",
                    "0190f3a0-0000-7000-8000-000000000000");
    free_tenant(&t);
}
END_TEST

#define PARALLEL 8

START_TEST(concurrent_attestations_share_one_chain)
{
    tenant_t t = new_tenant("Race");
    char entity[64], campaign[64];
    new_entity(&t, "Race Co", entity);
    char member[PARALLEL][64];
    for (int i = 0; i < PARALLEL; i++) {
        char name[16];
        snprintf(name, sizeof(name), "Racer %d", i);
        new_member(&t, entity, name, -10, 0, member[i]);
    }
    new_campaign(&t, entity, "POLICY_APPROVAL", "Race policy.", 86400, 365, campaign);
    char path[256], body[PARALLEL][256];
    snprintf(path, sizeof(path), "/v1/attestation-campaigns/%s/attestations", campaign);
    for (int i = 0; i < PARALLEL; i++)
        snprintf(body[i], sizeof(body[i]), "{\"member\":\"%.63s\",\"decision\":\"APPROVE\"}",
                 member[i]);
    /* The same member twice at once (the last racer sends the first's
     * body): one wins, the other gets 409. */
    bw_test_async_t racers[PARALLEL + 1];
    for (int i = 0; i <= PARALLEL; i++) {
        racers[i] = (bw_test_async_t){
            .method = "POST", .path = path, .token = t.key, .body = body[i % PARALLEL]};
        bw_test_http_start(&racers[i]);
    }
    for (int i = 0; i <= PARALLEL; i++)
        bw_test_http_join(&racers[i]);
    int seen[PARALLEL + 1] = {0}, created = 0, conflicts = 0;
    for (int i = 0; i <= PARALLEL; i++) {
        if (racers[i].resp.status == 409) {
            conflicts++;
            continue;
        }
        ck_assert_int_eq(racers[i].resp.status, 201);
        created++;
        int seq = (int)strtol(jstr(racers[i].resp.json, "sequence"), NULL, 10);
        ck_assert(seq >= 1 && seq <= PARALLEL);
        ck_assert_int_eq(seen[seq], 0);
        seen[seq] = 1;
    }
    for (int i = 0; i <= PARALLEL; i++)
        bw_test_resp_free(&racers[i].resp);
    ck_assert_int_eq(created, PARALLEL);
    ck_assert_int_eq(conflicts, 1);
    expect_valid(t.key, entity, "8");
    free_tenant(&t);
}
END_TEST

START_TEST(an_export_larger_than_4_mib_is_served)
{
    /* Campaign statements of up to 64 KiB travel whole in an export, for
     * the offline check. Past gRPC's default reply limit of 4 MiB the
     * gateway refused the reply (RESOURCE_EXHAUSTED, a 429), and since
     * records are never removed, the entity could never be exported
     * again. */
    enum { CAMPAIGNS = 70, STATEMENT_LEN = 64000 };
    tenant_t t = new_tenant("Large export");
    char entity[64], member[64], campaign[64], due[32];
    new_entity(&t, "Large Co", entity);
    new_member(&t, entity, "Ann", -10, 0, member);
    time_from_now(86400, due);
    char *body = malloc(STATEMENT_LEN + 512);
    ck_assert_ptr_nonnull(body);
    for (int i = 0; i < CAMPAIGNS; i++) {
        int n = snprintf(body, 512,
                         "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\","
                         "\"dueAt\":\"%s\",\"validForDays\":365,\"statement\":\"%d ",
                         entity, due, i);
        memset(body + n, 'x', STATEMENT_LEN);
        snprintf(body + n + STATEMENT_LEN, 512, "\"}");
        json_t *c = expect(201, "POST", t.key, body, "/v1/attestation-campaigns");
        copy_str(campaign, sizeof(campaign), c, "id");
        json_decref(c);
        attest_ok(t.key, campaign, member, "APPROVE");
        usleep(25 * 1000); /* within the test stack's rate limit per tenant */
    }
    free(body);
    bw_test_resp_t r;
    char path[160];
    snprintf(path, sizeof(path), "/v1/entities/%s/attestations:export", entity);
    ck_assert_int_eq(bw_test_http("GET", path, t.key, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "status %ld: %.300s", r.status, r.body);
    ck_assert_uint_gt(r.body_len, 4u * 1024 * 1024);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "records")), CAMPAIGNS);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "campaigns")), CAMPAIGNS);
    bw_test_resp_free(&r);
    expect_valid(t.key, entity, "70");
    free_tenant(&t);
}
END_TEST

Suite *suite_attestations(void)
{
    Suite *s = suite_create("attestations");
    TCase *tc = tcase_create("attestations");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, board_members);
    tcase_add_test(tc, campaigns);
    tcase_add_test(tc, attestations_bad_input);
    tcase_add_test(tc, chain_verify_export_and_offline_check);
    tcase_add_test(tc, board_member_keys_sign_only_as_themselves);
    tcase_add_test(tc, other_tenants_see_404);
    tcase_add_test(tc, the_database_refuses_changes);
    tcase_add_test(tc, altered_rows_are_reported_at_their_sequence);
    tcase_add_test(tc, removed_rows_are_reported_at_the_gap);
    tcase_add_test(tc, governance_status_art_20);
    tcase_add_test(tc, concurrent_attestations_share_one_chain);
    tcase_add_test(tc, an_export_larger_than_4_mib_is_served);
    suite_add_tcase(s, tc);
    return s;
}
