/*
 * Check suite of common/json.c, the proto3 JSON transcoder. The fixtures are
 * the real compiled contracts (scoping, tenancy, the well-known types, and
 * descriptor.proto for proto2 presence and a large enum), plus one message
 * descriptor written by hand below, because no contract carries every
 * scalar type, a oneof and a recursive field.
 */
#include "arena.h"
#include "json.h"
#include "jsontext.h"
#include "status.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "bulwark/tenancy/v1/tenancy.pb-c.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the hand-written fixture: bwtest.AllTypes ---- */

typedef struct AllTypes AllTypes;
struct AllTypes {
    ProtobufCMessage base;
    int32_t i32, s32, sf32;
    uint32_t u32, f32;
    int64_t i64, s64, sf64;
    uint64_t u64, f64;
    protobuf_c_boolean flag;
    float ratio;
    double amount;
    int color;
    char *text;
    ProtobufCBinaryData blob;
    size_t n_r_u64;
    uint64_t *r_u64;
    size_t n_r_ratio;
    float *r_ratio;
    size_t n_r_blob;
    ProtobufCBinaryData *r_blob;
    size_t n_r_color;
    int *r_color;
    size_t n_r_flag;
    protobuf_c_boolean *r_flag;
    uint32_t choice_case;
    union {
        char *choice_text;
        int64_t choice_number;
        AllTypes *choice_child;
    };
    AllTypes *child;
    size_t n_children;
    AllTypes **children;
    int32_t level_2_b;
    protobuf_c_boolean has_opt_i32;
    int32_t opt_i32;
};

enum { CHOICE_TEXT = 22, CHOICE_NUMBER = 23, CHOICE_CHILD = 24 };

/* clang-format off */
static const ProtobufCEnumValue color_values[] = {
    {"NEGATIVE", "NEGATIVE", -1},
    {"COLOR_UNSPECIFIED", "COLOR_UNSPECIFIED", 0},
    {"RED", "RED", 1},
    {"GREEN", "GREEN", 2},
};
static const ProtobufCEnumValueIndex color_by_name[] = {
    {"COLOR_UNSPECIFIED", 1}, {"GREEN", 3}, {"NEGATIVE", 0}, {"RED", 2},
};
static const ProtobufCIntRange color_ranges[] = {{-1, 0}, {0, 4}};
static const ProtobufCEnumDescriptor color_descriptor = {
    PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC, "bwtest.Color", "Color", "Color", "bwtest",
    4, color_values, 4, color_by_name, 1, color_ranges, NULL, NULL, NULL, NULL,
};

static const ProtobufCMessageDescriptor alltypes_descriptor;

#define ONE(name, id, type, desc)                                                                  \
    {#name, id, PROTOBUF_C_LABEL_NONE, type, 0, offsetof(AllTypes, name), desc, NULL, 0, 0,        \
     NULL, NULL}
#define MANY(name, id, type, desc)                                                                 \
    {#name, id, PROTOBUF_C_LABEL_REPEATED, type, offsetof(AllTypes, n_##name),                     \
     offsetof(AllTypes, name), desc, NULL, 0, 0, NULL, NULL}
#define CHOICE(name, id, type, desc)                                                               \
    {#name, id, PROTOBUF_C_LABEL_NONE, type, offsetof(AllTypes, choice_case),                      \
     offsetof(AllTypes, name), desc, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL}

static const ProtobufCFieldDescriptor alltypes_fields[] = {
    ONE(i32, 1, PROTOBUF_C_TYPE_INT32, NULL),
    ONE(s32, 2, PROTOBUF_C_TYPE_SINT32, NULL),
    ONE(sf32, 3, PROTOBUF_C_TYPE_SFIXED32, NULL),
    ONE(u32, 4, PROTOBUF_C_TYPE_UINT32, NULL),
    ONE(f32, 5, PROTOBUF_C_TYPE_FIXED32, NULL),
    ONE(i64, 6, PROTOBUF_C_TYPE_INT64, NULL),
    ONE(s64, 7, PROTOBUF_C_TYPE_SINT64, NULL),
    ONE(sf64, 8, PROTOBUF_C_TYPE_SFIXED64, NULL),
    ONE(u64, 9, PROTOBUF_C_TYPE_UINT64, NULL),
    ONE(f64, 10, PROTOBUF_C_TYPE_FIXED64, NULL),
    ONE(flag, 11, PROTOBUF_C_TYPE_BOOL, NULL),
    ONE(ratio, 12, PROTOBUF_C_TYPE_FLOAT, NULL),
    ONE(amount, 13, PROTOBUF_C_TYPE_DOUBLE, NULL),
    ONE(color, 14, PROTOBUF_C_TYPE_ENUM, &color_descriptor),
    ONE(text, 15, PROTOBUF_C_TYPE_STRING, NULL),
    ONE(blob, 16, PROTOBUF_C_TYPE_BYTES, NULL),
    MANY(r_u64, 17, PROTOBUF_C_TYPE_UINT64, NULL),
    MANY(r_ratio, 18, PROTOBUF_C_TYPE_FLOAT, NULL),
    MANY(r_blob, 19, PROTOBUF_C_TYPE_BYTES, NULL),
    MANY(r_color, 20, PROTOBUF_C_TYPE_ENUM, &color_descriptor),
    MANY(r_flag, 21, PROTOBUF_C_TYPE_BOOL, NULL),
    CHOICE(choice_text, CHOICE_TEXT, PROTOBUF_C_TYPE_STRING, NULL),
    CHOICE(choice_number, CHOICE_NUMBER, PROTOBUF_C_TYPE_INT64, NULL),
    CHOICE(choice_child, CHOICE_CHILD, PROTOBUF_C_TYPE_MESSAGE, &alltypes_descriptor),
    ONE(child, 25, PROTOBUF_C_TYPE_MESSAGE, &alltypes_descriptor),
    MANY(children, 26, PROTOBUF_C_TYPE_MESSAGE, &alltypes_descriptor),
    ONE(level_2_b, 27, PROTOBUF_C_TYPE_INT32, NULL),
    {"opt_i32", 28, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32,
     offsetof(AllTypes, has_opt_i32), offsetof(AllTypes, opt_i32), NULL, NULL, 0, 0, NULL, NULL},
};
/* clang-format on */
#define N_ALLTYPES_FIELDS (sizeof(alltypes_fields) / sizeof(alltypes_fields[0]))

static unsigned alltypes_by_name[N_ALLTYPES_FIELDS];
static const ProtobufCIntRange alltypes_ranges[] = {{1, 0}, {0, N_ALLTYPES_FIELDS}};

static void alltypes_init(ProtobufCMessage *m)
{
    AllTypes *t = (AllTypes *)m;
    memset(t, 0, sizeof(*t));
    t->base.descriptor = &alltypes_descriptor;
    t->text = (char *)protobuf_c_empty_string;
}

/* clang-format off */
static const ProtobufCMessageDescriptor alltypes_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "bwtest.AllTypes", "AllTypes", "AllTypes", "bwtest",
    sizeof(AllTypes), N_ALLTYPES_FIELDS, alltypes_fields, alltypes_by_name, 1, alltypes_ranges,
    alltypes_init, NULL, NULL, NULL,
};
/* clang-format on */

/* protobuf-c binary-searches fields_sorted_by_name; build it once. */
static void alltypes_sort_names(void)
{
    for (unsigned i = 0; i < N_ALLTYPES_FIELDS; i++) {
        unsigned j = i;
        while (j > 0 &&
               strcmp(alltypes_fields[alltypes_by_name[j - 1]].name, alltypes_fields[i].name) > 0) {
            alltypes_by_name[j] = alltypes_by_name[j - 1];
            j--;
        }
        alltypes_by_name[j] = i;
    }
}

/* ---- helpers ---- */

static bw_arena_t *arena;

static void setup(void)
{
    arena = bw_arena_create(4096);
    ck_assert_ptr_nonnull(arena);
}

static void teardown(void)
{
    bw_arena_destroy(arena);
    arena = NULL;
}

static void *parse_flags(const ProtobufCMessageDescriptor *desc, const char *text, int flags)
{
    json_error_t jerr;
    json_t *json = json_loads(text, 0, &jerr);
    ck_assert_msg(json != NULL, "fixture is not JSON: %s", jerr.text);
    ProtobufCMessage *msg = NULL;
    bw_json_error_t err;
    int rc = bw_json_to_pb(arena, desc, json, flags, &msg, &err);
    json_decref(json);
    ck_assert_msg(rc == 0, "%s: unexpected error at \"%s\": %s", text, err.field, err.message);
    ck_assert_ptr_nonnull(msg);
    ck_assert_ptr_eq(msg->descriptor, desc);
    return msg;
}

static void *parse(const ProtobufCMessageDescriptor *desc, const char *text)
{
    ProtobufCMessage *msg = NULL;
    bw_json_error_t err;
    int rc = bw_json_parse_pb(arena, desc, text, strlen(text), &msg, &err);
    ck_assert_msg(rc == 0, "%s: unexpected error at \"%s\": %s", text, err.field, err.message);
    ck_assert_ptr_nonnull(msg);
    return msg;
}

static void expect_error_flags(const ProtobufCMessageDescriptor *desc, const char *text, int flags,
                               const char *field, const char *message)
{
    json_error_t jerr;
    json_t *json = json_loads(text, 0, &jerr);
    ck_assert_msg(json != NULL, "fixture is not JSON: %s", jerr.text);
    ProtobufCMessage *msg = (ProtobufCMessage *)&msg;
    bw_json_error_t err;
    int rc = bw_json_to_pb(arena, desc, json, flags, &msg, &err);
    json_decref(json);
    ck_assert_msg(rc == BW_EINVAL, "%s: expected BW_EINVAL, got %d", text, rc);
    ck_assert_ptr_null(msg);
    ck_assert_str_eq(err.field, field);
    ck_assert_str_eq(err.message, message);
}

static void expect_error(const ProtobufCMessageDescriptor *desc, const char *text,
                         const char *field, const char *message)
{
    expect_error_flags(desc, text, 0, field, message);
}

/* The parse_pb entry point, for errors that need the text (malformed JSON). */
static void expect_text_error_len(const ProtobufCMessageDescriptor *desc, const char *text,
                                  size_t len, const char *field, const char *message)
{
    ProtobufCMessage *msg = NULL;
    bw_json_error_t err;
    int rc = bw_json_parse_pb(arena, desc, text, len, &msg, &err);
    ck_assert_int_eq(rc, BW_EINVAL);
    ck_assert_ptr_null(msg);
    ck_assert_str_eq(err.field, field);
    ck_assert_str_eq(err.message, message);
}

static void expect_text_error(const ProtobufCMessageDescriptor *desc, const char *text,
                              const char *field, const char *message)
{
    expect_text_error_len(desc, text, strlen(text), field, message);
}

/* bw_pb_write_json writes exactly what the gateway used to send: the tree
 * of bw_pb_to_json, dumped compactly with 15 significant digits. */
static void expect_same_text(const void *msg)
{
    json_t *tree = bw_pb_to_json(msg);
    ck_assert_ptr_nonnull(tree);
    char *want = json_dumps(tree, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(tree);
    bw_buf_t b;
    bw_buf_init(&b, 0);
    ck_assert_int_eq(bw_pb_write_json(msg, &b), 0);
    ck_assert_msg(strcmp(b.data, want) == 0, "direct writer differs\n got: %s\nwant: %s", b.data,
                  want);
    free(want);
    bw_buf_free(&b);
}

static void expect_json(const void *msg, const char *expected_text)
{
    expect_same_text(msg);
    json_t *got = bw_pb_to_json(msg);
    ck_assert_ptr_nonnull(got);
    json_error_t jerr;
    json_t *expected = json_loads(expected_text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(expected != NULL, "expected fixture is not JSON: %s", jerr.text);
    if (!json_equal(got, expected)) {
        char *dump = json_dumps(got, JSON_SORT_KEYS);
        ck_abort_msg("JSON mismatch\n got: %s\nwant: %s", dump, expected_text);
    }
    json_decref(expected);
    json_decref(got);
}

/* The value of one member of bw_pb_to_json(msg); caller owns. */
static json_t *render_member(const void *msg, const char *key)
{
    expect_same_text(msg);
    json_t *obj = bw_pb_to_json(msg);
    ck_assert_ptr_nonnull(obj);
    json_t *v = json_incref(json_object_get(obj, key));
    json_decref(obj);
    return v;
}

static void expect_member_str(const void *msg, const char *key, const char *want)
{
    json_t *v = render_member(msg, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    ck_assert_str_eq(json_string_value(v), want);
    json_decref(v);
}

/* Bounded concatenation for building fixtures. */
static void append(char *buf, size_t size, const char *s)
{
    size_t used = strlen(buf), n = strlen(s);
    ck_assert_msg(used + n < size, "fixture buffer too small");
    memcpy(buf + used, s, n + 1);
}

static bool valid_utf8(const char *s)
{
    json_t *v = json_string(s);
    json_decref(v);
    return v != NULL;
}

/* ---- names ---- */

START_TEST(test_json_name)
{
    char buf[64];
    bw_json_name("staff_headcount", buf, sizeof(buf));
    ck_assert_str_eq(buf, "staffHeadcount");
    bw_json_name("services_in", buf, sizeof(buf));
    ck_assert_str_eq(buf, "servicesIn");
    bw_json_name("id", buf, sizeof(buf));
    ck_assert_str_eq(buf, "id");
    bw_json_name("level_2_b", buf, sizeof(buf));
    ck_assert_str_eq(buf, "level2B");
    bw_json_name("foo__bar_", buf, sizeof(buf));
    ck_assert_str_eq(buf, "fooBar");
    bw_json_name("_leading", buf, sizeof(buf));
    ck_assert_str_eq(buf, "Leading");
    bw_json_name("annual_turnover_eur", buf, 7);
    ck_assert_str_eq(buf, "annual");
    bw_json_name("abc", buf, 0); /* must not write */
}
END_TEST

START_TEST(test_find_field)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__entity__descriptor;
    const ProtobufCFieldDescriptor *f = bw_json_find_field(d, "timeZone");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->name, "time_zone");
    ck_assert_ptr_eq(bw_json_find_field(d, "time_zone"), f);
    ck_assert_ptr_null(bw_json_find_field(d, "TimeZone"));
    ck_assert_ptr_null(bw_json_find_field(d, "time_Zone"));
    ck_assert_ptr_null(bw_json_find_field(d, "timezone"));
    ck_assert_ptr_null(bw_json_find_field(d, ""));
    ck_assert_ptr_null(bw_json_find_field(NULL, "id"));

    f = bw_json_find_field(&alltypes_descriptor, "level2B");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->name, "level_2_b");
    ck_assert_ptr_eq(bw_json_find_field(&alltypes_descriptor, "level_2_b"), f);
    ck_assert_ptr_null(bw_json_find_field(&alltypes_descriptor, "level2b"));
}
END_TEST

/* ---- round trips on the contracts ---- */

static const char *entity_json =
    "{\"id\": \"ent_1\", \"name\": \"Müller Energie GmbH\", \"timeZone\": \"Europe/Berlin\","
    " \"activities\": [{\"entityType\": \"energy.electricity.dso\", \"qualifiedTrustService\": "
    "false, \"principalActivity\": true, \"retailOnly\": false, \"nonEssentialPart\": false,"
    " \"rootNameServer\": false},"
    " {\"entityType\": \"digital_infra.dns\", \"qualifiedTrustService\": false,"
    " \"principalActivity\": false, \"retailOnly\": true, \"nonEssentialPart\": true,"
    " \"rootNameServer\": false}],"
    " \"size\": {\"staffHeadcount\": 251.5, \"annualTurnoverEur\": \"52000000\","
    " \"balanceSheetTotalEur\": \"-3\","
    " \"previousPeriod\": {\"staffHeadcount\": 240.0, \"annualTurnoverEur\": \"9007199254740993\","
    " \"balanceSheetTotalEur\": \"0\"}, \"newlyEstablished\": false,"
    " \"linkedEnterprises\": [], \"partnerEnterprises\": [{\"staffHeadcount\": 10.0,"
    " \"annualTurnoverEur\": \"1\", \"balanceSheetTotalEur\": \"2\", \"holdingPercent\": 25.0,"
    " \"investorException\": \"INVESTOR_EXCEPTION_UNSPECIFIED\","
    " \"businessAngelInvestmentEur\": \"0\", \"localAuthorityBudgetEur\": \"0\","
    " \"localAuthorityInhabitants\": 0}],"
    " \"undertakingWorldwideTurnoverEur\": \"0\", \"publicBodyControlled\": false,"
    " \"earlierPeriods\": []},"
    " \"publicAdministration\": {\"level\": \"REGIONAL\", \"body\": \"BODY_UNSPECIFIED\","
    " \"excludedDomain\": \"DEFENCE\", \"riskAssessmentPositive\": true},"
    " \"memberState\": {\"establishment\": \"DE\", \"mainEstablishment\": \"\","
    " \"servicesIn\": [\"DE\", \"AT\", \"EL\"], \"identifiedUnder\": \"ART_2_2_B\","
    " \"designation\": \"ESSENTIAL\", \"formerOesOptIn\": false, \"criticalEntityUnderCer\": true,"
    " \"coversLocalPublicAdministration\": false, \"coversEducation\": false,"
    " \"doraExempted\": false, \"securityExemption\": \"SECURITY_EXEMPTION_UNSPECIFIED\","
    " \"independentOfGroup\": false, \"representative\": \"\", \"noActivityInUnion\": false,"
    " \"cybersecurityDecisionsIn\": \"\", \"cyberOperationsIn\": \"\", \"largestWorkforceIn\": "
    "\"\","
    " \"formerOes\": false, \"profile\": \"\"},"
    " \"parentEntity\": \"\", \"createTime\": \"2024-02-29T12:00:00Z\","
    " \"updateTime\": \"2024-03-01T08:15:30.250Z\", \"etag\": \"W/\\\"3\\\"\"}";

START_TEST(test_entity_round_trip)
{
    Bulwark__Scoping__V1__Entity *e = parse(&bulwark__scoping__v1__entity__descriptor, entity_json);
    ck_assert_str_eq(e->id, "ent_1");
    ck_assert_str_eq(e->name, "Müller Energie GmbH");
    ck_assert_uint_eq(e->n_activities, 2);
    ck_assert_str_eq(e->activities[1]->entity_type, "digital_infra.dns");
    ck_assert(e->activities[1]->retail_only);
    ck_assert(e->activities[0]->principal_activity);
    ck_assert_double_eq(e->size->staff_headcount, 251.5);
    ck_assert_int_eq(e->size->annual_turnover_eur, 52000000);
    ck_assert_int_eq(e->size->balance_sheet_total_eur, -3);
    ck_assert_int_eq(e->size->previous_period->annual_turnover_eur, 9007199254740993LL);
    ck_assert_uint_eq(e->size->n_linked_enterprises, 0);
    ck_assert_double_eq(e->size->partner_enterprises[0]->holding_percent, 25.0);
    ck_assert_int_eq(e->public_administration->level,
                     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__REGIONAL);
    ck_assert_int_eq(e->member_state->identified_under,
                     BULWARK__SCOPING__V1__MEMBER_STATE__IDENTIFIED_UNDER__ART_2_2_B);
    ck_assert_uint_eq(e->member_state->n_services_in, 3);
    ck_assert_str_eq(e->member_state->services_in[2], "EL");
    ck_assert_int_eq(e->create_time->seconds, 1709208000);
    ck_assert_int_eq(e->create_time->nanos, 0);
    ck_assert_int_eq(e->update_time->nanos, 250000000);
    ck_assert_str_eq(e->etag, "W/\"3\"");

    expect_json(e, entity_json);

    /* What protobuf-c packs and unpacks renders the same: the parsed
     * message is a well-formed protobuf-c message. */
    size_t len = protobuf_c_message_get_packed_size(&e->base);
    uint8_t *wire = malloc(len);
    ck_assert_ptr_nonnull(wire);
    protobuf_c_message_pack(&e->base, wire);
    ProtobufCMessage *back = protobuf_c_message_unpack(
        &bulwark__scoping__v1__entity__descriptor, bw_arena_protobuf_allocator(arena), len, wire);
    free(wire);
    ck_assert_ptr_nonnull(back);
    expect_json(back, entity_json);
}
END_TEST

START_TEST(test_defaults_written)
{
    Bulwark__Scoping__V1__Entity *e = parse(&bulwark__scoping__v1__entity__descriptor, "{}");
    /* Absent strings keep protobuf-c's shared empty string, never NULL. */
    ck_assert_ptr_eq(e->id, protobuf_c_empty_string);
    ck_assert_ptr_eq(e->etag, protobuf_c_empty_string);
    ck_assert_ptr_null(e->size);
    expect_json(e, "{\"id\": \"\", \"name\": \"\", \"timeZone\": \"\", \"activities\": [],"
                   " \"parentEntity\": \"\", \"etag\": \"\"}");

    Bulwark__Scoping__V1__PublicAdministration pa =
        BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__INIT;
    expect_json(&pa, "{\"level\": \"LEVEL_UNSPECIFIED\", \"body\": \"BODY_UNSPECIFIED\","
                     " \"excludedDomain\": \"EXCLUDED_DOMAIN_UNSPECIFIED\","
                     " \"riskAssessmentPositive\": false}");

    Bulwark__Scoping__V1__Size size = BULWARK__SCOPING__V1__SIZE__INIT;
    expect_json(&size,
                "{\"staffHeadcount\": 0.0, \"annualTurnoverEur\": \"0\","
                " \"balanceSheetTotalEur\": \"0\", \"newlyEstablished\": false,"
                " \"linkedEnterprises\": [], \"partnerEnterprises\": [],"
                " \"undertakingWorldwideTurnoverEur\": \"0\", \"publicBodyControlled\": false,"
                " \"earlierPeriods\": []}");

    Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
    expect_json(&empty, "{}");
    ck_assert_ptr_null(bw_pb_to_json(NULL));
}
END_TEST

START_TEST(test_int64_as_string)
{
    Bulwark__Scoping__V1__SizeFigures f = BULWARK__SCOPING__V1__SIZE_FIGURES__INIT;
    f.annual_turnover_eur = INT64_MAX;
    f.balance_sheet_total_eur = INT64_MIN;
    expect_json(&f, "{\"staffHeadcount\": 0.0, \"annualTurnoverEur\": \"9223372036854775807\","
                    " \"balanceSheetTotalEur\": \"-9223372036854775808\"}");

    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__size_figures__descriptor;
    Bulwark__Scoping__V1__SizeFigures *p =
        parse(d, "{\"annualTurnoverEur\": 5000000000, \"balanceSheetTotalEur\": "
                 "\"-9223372036854775808\"}");
    ck_assert_int_eq(p->annual_turnover_eur, 5000000000LL);
    ck_assert_int_eq(p->balance_sheet_total_eur, INT64_MIN);

    expect_error(d, "{\"annualTurnoverEur\": \"9223372036854775808\"}", "annualTurnoverEur",
                 "out of range for int64 (-9223372036854775808 to 9223372036854775807)");
    expect_error(d, "{\"annualTurnoverEur\": \"99999999999999999999999\"}", "annualTurnoverEur",
                 "out of range for int64 (-9223372036854775808 to 9223372036854775807)");
    expect_error(d, "{\"annualTurnoverEur\": \"+5\"}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": \" 5\"}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": \"5 \"}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": \"5.0\"}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": \"\"}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": \"-\"}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": 1.5}", "annualTurnoverEur",
                 "expected an integer, got a fractional number");
    expect_error(d, "{\"annualTurnoverEur\": 1e3}", "annualTurnoverEur",
                 "expected an integer written without a fraction or exponent");
    expect_error(d, "{\"annualTurnoverEur\": 1e300}", "annualTurnoverEur",
                 "out of range for int64 (-9223372036854775808 to 9223372036854775807)");
    expect_error(d, "{\"annualTurnoverEur\": true}", "annualTurnoverEur", "expected an integer");
    expect_error(d, "{\"annualTurnoverEur\": {}}", "annualTurnoverEur", "expected an integer");
}
END_TEST

START_TEST(test_int32_fields)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__list_entities_request__descriptor;
    Bulwark__Scoping__V1__ListEntitiesRequest *r = parse(d, "{\"pageSize\": 25}");
    ck_assert_int_eq(r->page_size, 25);
    r = parse(d, "{\"pageSize\": \"-2147483648\"}");
    ck_assert_int_eq(r->page_size, INT32_MIN);
    r = parse(d, "{\"pageSize\": 1e2}");
    ck_assert_int_eq(r->page_size, 100);
    r = parse(d, "{\"pageSize\": 7.0}");
    ck_assert_int_eq(r->page_size, 7);
    /* Every scalar is written, defaults too; the unset updatedSince is not. */
    expect_json(r, "{\"pageSize\": 7, \"pageToken\": \"\", \"orderBy\": \"\", \"filter\": \"\"}");

    expect_error(d, "{\"pageSize\": 2147483648}", "pageSize",
                 "out of range for int32 (-2147483648 to 2147483647)");
    expect_error(d, "{\"pageSize\": -2147483649}", "pageSize",
                 "out of range for int32 (-2147483648 to 2147483647)");
    expect_error(d, "{\"pageSize\": \"2147483648\"}", "pageSize",
                 "out of range for int32 (-2147483648 to 2147483647)");
    expect_error(d, "{\"pageSize\": 1.5}", "pageSize",
                 "expected an integer, got a fractional number");
    expect_error(d, "{\"pageSize\": \"2.5\"}", "pageSize", "expected an integer");
    expect_error(d, "{\"pageSize\": \"ten\"}", "pageSize", "expected an integer");
    expect_error(d, "{\"pageSize\": false}", "pageSize", "expected an integer");
    expect_error(d, "{\"pageSize\": [1]}", "pageSize", "expected an integer");
}
END_TEST

START_TEST(test_tenancy_nested_and_timestamps)
{
    const char *text =
        "{\"tenant\": {\"id\": \"ten_1\", \"name\": \"Acme\", \"createTime\": "
        "\"2023-12-31T23:59:59.999999999Z\", \"updateTime\": \"2024-01-01T00:00:00Z\","
        " \"etag\": \"1\", \"state\": \"ACTIVE\", \"suspendReason\": \"\"}, \"apiKey\": {\"id\": "
        "\"key_1\", \"name\": \"admin\", \"role\": "
        "\"admin\", \"secret\": \"bwk_key_1_s3cr3t\", \"createTime\": \"2024-01-01T00:00:00.001Z\","
        " \"etag\": \"1\", \"boardMember\": \"\"}}";
    Bulwark__Tenancy__V1__CreateTenantResponse *r =
        parse(&bulwark__tenancy__v1__create_tenant_response__descriptor, text);
    ck_assert_str_eq(r->tenant->name, "Acme");
    ck_assert_int_eq(r->tenant->create_time->nanos, 999999999);
    ck_assert_ptr_null(r->api_key->update_time);
    ck_assert_int_eq(r->api_key->create_time->nanos, 1000000);
    expect_json(r, text);
}
END_TEST

START_TEST(test_bytes_base64)
{
    const ProtobufCMessageDescriptor *d =
        &bulwark__tenancy__v1__resolve_api_key_response__descriptor;
    Bulwark__Tenancy__V1__ResolveApiKeyResponse resp =
        BULWARK__TENANCY__V1__RESOLVE_API_KEY_RESPONSE__INIT;
    uint8_t digest[32];
    for (int i = 0; i < 32; i++)
        digest[i] = (uint8_t)i;
    resp.secret_sha256.data = digest;
    resp.secret_sha256.len = sizeof(digest);
    expect_member_str(&resp, "secretSha256", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");

    Bulwark__Tenancy__V1__ResolveApiKeyResponse *p =
        parse(d, "{\"secretSha256\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}");
    ck_assert_uint_eq(p->secret_sha256.len, 32);
    ck_assert_mem_eq(p->secret_sha256.data, digest, 32);

    /* URL-safe alphabet and missing padding are accepted too. */
    p = parse(d, "{\"secret_sha256\": \"-_-_\"}");
    ck_assert_uint_eq(p->secret_sha256.len, 3);
    ck_assert_mem_eq(p->secret_sha256.data, "\xfb\xff\xbf", 3);
    p = parse(d, "{\"secretSha256\": \"AAE\"}");
    ck_assert_uint_eq(p->secret_sha256.len, 2);
    p = parse(d, "{\"secretSha256\": \"\"}");
    ck_assert_uint_eq(p->secret_sha256.len, 0);
    expect_member_str(p, "secretSha256", "");

    expect_error(d, "{\"secretSha256\": \"A\"}", "secretSha256", "expected base64 data");
    expect_error(d, "{\"secretSha256\": \"AA=\"}", "secretSha256", "expected base64 data");
    expect_error(d, "{\"secretSha256\": \"====\"}", "secretSha256", "expected base64 data");
    expect_error(d, "{\"secretSha256\": \"AA AA\"}", "secretSha256", "expected base64 data");
    expect_error(d, "{\"secretSha256\": [1, 2]}", "secretSha256", "expected a string");
}
END_TEST

/* ---- errors and their paths ---- */

START_TEST(test_error_paths)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__entity__descriptor;
    expect_error(d, "{\"nope\": 1}", "nope", "unknown field");
    expect_error(d, "{\"size\": {\"bogus\": 1}}", "size.bogus", "unknown field");
    expect_error(d, "{\"name\": 5}", "name", "expected a string");
    expect_error(d, "{\"size\": {\"staffHeadcount\": \"x\"}}", "size.staffHeadcount",
                 "expected a number");
    expect_error(d, "{\"activities\": [{}, {}, {\"entityType\": 3}]}", "activities[2].entityType",
                 "expected a string");
    expect_error(d, "{\"activities\": [{}, null]}", "activities[1]", "expected an object");
    expect_error(d, "{\"activities\": {}}", "activities", "expected an array");
    expect_error(d, "{\"memberState\": {\"servicesIn\": [\"DE\", 3]}}", "memberState.servicesIn[1]",
                 "expected a string");
    expect_error(d, "{\"memberState\": {\"servicesIn\": \"DE\"}}", "memberState.servicesIn",
                 "expected an array");
    expect_error(d, "{\"size\": []}", "size", "expected an object");
    expect_error(d, "{\"size\": \"big\"}", "size", "expected an object");
    expect_error(d, "{\"activities\": [{\"retailOnly\": \"yes\"}]}", "activities[0].retailOnly",
                 "expected a boolean");
    expect_error(d, "{\"activities\": [{\"retailOnly\": 1}]}", "activities[0].retailOnly",
                 "expected a boolean");
    expect_error(d, "{\"size\": {\"partnerEnterprises\": [{\"holdingPercent\": true}]}}",
                 "size.partnerEnterprises[0].holdingPercent", "expected a number");
    expect_error(d, "{\"size\": {\"linkedEnterprises\": [{}, {\"annualTurnoverEur\": 0.5}]}}",
                 "size.linkedEnterprises[1].annualTurnoverEur",
                 "expected an integer, got a fractional number");
    expect_error(d, "{\"createTime\": 1700000000}", "createTime", "expected a string");

    /* The path uses JSON names even where the client wrote proto names. */
    expect_error(d, "{\"member_state\": {\"services_in\": [1]}}", "memberState.servicesIn[0]",
                 "expected a string");
    expect_error(d, "{\"size\": {\"previous_period\": {\"staff_headcount\": null, \"x_y\": 1}}}",
                 "size.previousPeriod.x_y", "unknown field");
}
END_TEST

START_TEST(test_enums)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__public_administration__descriptor;
    Bulwark__Scoping__V1__PublicAdministration *pa =
        parse(d, "{\"level\": \"LOCAL\", \"body\": 2, \"excludedDomain\": \"DEFENCE\"}");
    ck_assert_int_eq(pa->level, BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__LOCAL);
    ck_assert_int_eq(pa->body, BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__PARLIAMENT);
    expect_member_str(pa, "body", "PARLIAMENT");

    expect_error(d, "{\"level\": \"FOO\"}", "level",
                 "unknown value \"FOO\"; expected one of LEVEL_UNSPECIFIED, CENTRAL, REGIONAL, "
                 "LOCAL");
    expect_error(d, "{\"level\": \"local\"}", "level",
                 "unknown value \"local\"; expected one of LEVEL_UNSPECIFIED, CENTRAL, REGIONAL, "
                 "LOCAL");
    expect_error(d, "{\"body\": 9}", "body",
                 "unknown value 9; expected one of BODY_UNSPECIFIED, JUDICIARY, PARLIAMENT, "
                 "CENTRAL_BANK");
    expect_error(d, "{\"level\": true}", "level", "expected a string");
    expect_error(d, "{\"level\": 1.0}", "level", "expected a string");
    expect_error(&bulwark__scoping__v1__entity__descriptor,
                 "{\"memberState\": {\"designation\": \"CRITICAL\"}}", "memberState.designation",
                 "unknown value \"CRITICAL\"; expected one of DESIGNATION_UNSPECIFIED, ESSENTIAL, "
                 "IMPORTANT");

    /* More than 12 values: not listed. */
    expect_error(&google__protobuf__field_descriptor_proto__descriptor, "{\"type\": \"TYPE_FOO\"}",
                 "type", "unknown value \"TYPE_FOO\"");

    /* A number the enum does not know (a newer peer) is written as a number. */
    Bulwark__Scoping__V1__PublicAdministration out =
        BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__INIT;
    out.level = 42;
    json_t *v = render_member(&out, "level");
    ck_assert(json_is_integer(v));
    ck_assert_int_eq(json_integer_value(v), 42);
    json_decref(v);
}
END_TEST

START_TEST(test_null_is_absent)
{
    Bulwark__Scoping__V1__Entity *e =
        parse(&bulwark__scoping__v1__entity__descriptor,
              "{\"name\": null, \"size\": null, \"activities\": null, \"createTime\": null,"
              " \"memberState\": {\"servicesIn\": null, \"designation\": null}}");
    ck_assert_ptr_eq(e->name, protobuf_c_empty_string);
    ck_assert_ptr_null(e->size);
    ck_assert_ptr_null(e->create_time);
    ck_assert_uint_eq(e->n_activities, 0);
    ck_assert_ptr_nonnull(e->member_state);
    ck_assert_uint_eq(e->member_state->n_services_in, 0);
    ck_assert_int_eq(e->member_state->designation, 0);
}
END_TEST

START_TEST(test_proto_names_accepted)
{
    Bulwark__Scoping__V1__Entity *e =
        parse(&bulwark__scoping__v1__entity__descriptor,
              "{\"time_zone\": \"Europe/Vienna\", \"member_state\": {\"services_in\": [\"AT\"],"
              " \"main_establishment\": \"AT\"}, \"parent_entity\": \"ent_0\"}");
    ck_assert_str_eq(e->time_zone, "Europe/Vienna");
    ck_assert_str_eq(e->member_state->services_in[0], "AT");
    ck_assert_str_eq(e->member_state->main_establishment, "AT");
    ck_assert_str_eq(e->parent_entity, "ent_0");

    expect_error(&bulwark__scoping__v1__entity__descriptor,
                 "{\"timeZone\": \"a\", \"time_zone\": \"b\"}", "timeZone",
                 "field given twice, by its JSON name and by its proto name");
    /* null does not count as given. */
    e = parse(&bulwark__scoping__v1__entity__descriptor,
              "{\"timeZone\": null, \"time_zone\": \"b\"}");
    ck_assert_str_eq(e->time_zone, "b");
}
END_TEST

START_TEST(test_document_errors)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__entity__descriptor;
    expect_text_error(d, "[]", "", "expected a JSON object");
    expect_text_error(d, "\"x\"", "", "expected a JSON object");
    expect_text_error(d, "null", "", "expected a JSON object");
    expect_text_error(d, "{\"name\": tru}", "",
                      "malformed JSON at line 1, column 12: invalid token near 'tru'");
    expect_text_error(d, "{\"name\": \"a\",\n \"id\": }", "",
                      "malformed JSON at line 2, column 8: unexpected token near '}'");
    expect_text_error(d, "", "",
                      "malformed JSON at line 1, column 0: unexpected token near end "
                      "of file");
    expect_text_error(d, "{\"name\": \"a\xff\"}", "",
                      "malformed JSON at line 1, column 11: unable to decode byte 0xff near "
                      "'\"a'");
    expect_text_error(d, "{\"name\": \"a\", \"name\": \"b\"}", "",
                      "duplicate key \"name\" at line 1, column 20");
    expect_text_error(d, "{\"size\": {\"newlyEstablished\": true, \"newlyEstablished\": false}}",
                      "", "duplicate key \"newlyEstablished\" at line 1, column 54");
    expect_text_error(d, "{\"name\": \"\\u0000\"}", "",
                      "malformed JSON at line 1, column 17: a string may not hold \\u0000");
    expect_text_error(d, "{\"na\\u0000me\": \"a\"}", "",
                      "malformed JSON at line 1, column 13: a member name may not hold \\u0000");
    expect_text_error_len(d, "{\"name\": \"a\"}\0", 14, "",
                          "malformed JSON at line 1, column 14: a NUL byte, which JSON text never "
                          "holds");
    expect_text_error(d, "{\"name\": \"a\"} x", "",
                      "malformed JSON at line 1, column 15: end of file expected near 'x'");

    /* A tree built by the caller can carry what the parser refuses. */
    json_t *json = json_pack("{s:s#}", "name", "a\0b", (int)3);
    ck_assert_ptr_nonnull(json);
    ProtobufCMessage *msg = NULL;
    bw_json_error_t err;
    ck_assert_int_eq(bw_json_to_pb(arena, d, json, 0, &msg, &err), BW_EINVAL);
    ck_assert_str_eq(err.field, "name");
    ck_assert_str_eq(err.message, "string contains a NUL character");
    json_decref(json);

    json = json_array();
    ck_assert_int_eq(bw_json_to_pb(arena, d, json, 0, &msg, &err), BW_EINVAL);
    ck_assert_str_eq(err.message, "expected a JSON object");
    json_decref(json);
    ck_assert_int_eq(bw_json_to_pb(arena, d, NULL, 0, &msg, &err), BW_EINVAL);
    ck_assert_str_eq(err.field, "");

    /* A key with a NUL byte never matches a field. */
    json = json_object();
    json_object_setn_new(json, "name\0x", 6, json_string("a"));
    ck_assert_int_eq(bw_json_to_pb(arena, d, json, 0, &msg, &err), BW_EINVAL);
    ck_assert_str_eq(err.message, "unknown field");
    json_decref(json);
}
END_TEST

START_TEST(test_string_limit)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__entity__descriptor;
    size_t n = BW_JSON_MAX_STRING + 1;
    char *big = malloc(n + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', n);
    big[n] = '\0';

    json_t *json = json_pack("{s:s#}", "name", big, (int)(n - 1));
    ProtobufCMessage *msg = NULL;
    bw_json_error_t err;
    ck_assert_int_eq(bw_json_to_pb(arena, d, json, 0, &msg, &err), 0);
    ck_assert_uint_eq(strlen(((Bulwark__Scoping__V1__Entity *)msg)->name), BW_JSON_MAX_STRING);
    json_decref(json);

    json = json_pack("{s:{s:[s, s#]}}", "memberState", "servicesIn", "ok", big, (int)n);
    ck_assert_int_eq(bw_json_to_pb(arena, d, json, 0, &msg, &err), BW_EINVAL);
    ck_assert_str_eq(err.field, "memberState.servicesIn[1]");
    ck_assert_str_eq(err.message, "string longer than 65536 bytes");
    json_decref(json);

    /* The cap holds for strings that are numbers, enums and timestamps too. */
    json = json_pack("{s:{s:s#}}", "size", "annualTurnoverEur", big, (int)n);
    ck_assert_int_eq(bw_json_to_pb(arena, d, json, 0, &msg, &err), BW_EINVAL);
    ck_assert_str_eq(err.field, "size.annualTurnoverEur");
    ck_assert_str_eq(err.message, "string longer than 65536 bytes");
    json_decref(json);
    free(big);
}
END_TEST

START_TEST(test_depth_limit)
{
    /* {"child": {"child": ... {}}}: the top level is depth 1. */
    char text[1024];
    for (int levels = BW_JSON_MAX_DEPTH; levels <= BW_JSON_MAX_DEPTH + 1; levels++) {
        size_t o = 0;
        for (int i = 1; i < levels; i++)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "{\"child\": ");
        o += (size_t)snprintf(text + o, sizeof(text) - o, "{}");
        for (int i = 1; i < levels; i++)
            text[o++] = '}';
        text[o] = '\0';
        if (levels == BW_JSON_MAX_DEPTH) {
            AllTypes *t = parse(&alltypes_descriptor, text);
            int depth = 1;
            while (t->child != NULL) {
                t = t->child;
                depth++;
            }
            ck_assert_int_eq(depth, BW_JSON_MAX_DEPTH);
        } else {
            char path[512] = "child";
            for (int i = 2; i < levels; i++)
                append(path, sizeof(path), ".child");
            expect_text_error(&alltypes_descriptor, text, path, "nesting deeper than 32 levels");
        }
    }

    /* Arrays count as a level: 16 x {"children": [ ... ]} is 33 levels. */
    size_t o = 0;
    for (int i = 0; i < 16; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "{\"children\": [");
    o += (size_t)snprintf(text + o, sizeof(text) - o, "{}");
    for (int i = 0; i < 16; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "]}");
    char path[512] = "";
    for (int i = 0; i < 16; i++)
        append(path, sizeof(path), i == 0 ? "children[0]" : ".children[0]");
    expect_text_error(&alltypes_descriptor, text, path, "nesting deeper than 32 levels");
}
END_TEST

/* ---- well-known types ---- */

static void expect_timestamp(const char *in, int64_t seconds, int32_t nanos, const char *out)
{
    char text[256];
    snprintf(text, sizeof(text), "{\"createTime\": \"%s\"}", in);
    Bulwark__Tenancy__V1__Tenant *t = parse(&bulwark__tenancy__v1__tenant__descriptor, text);
    ck_assert_ptr_nonnull(t->create_time);
    ck_assert_msg(t->create_time->seconds == seconds, "%s: seconds %lld, want %lld", in,
                  (long long)t->create_time->seconds, (long long)seconds);
    ck_assert_msg(t->create_time->nanos == nanos, "%s: nanos %d, want %d", in,
                  (int)t->create_time->nanos, (int)nanos);
    expect_member_str(t, "createTime", out);
}

static void expect_bad_timestamp(const char *in, const char *why)
{
    char text[256], message[256];
    snprintf(text, sizeof(text), "{\"tenant\": {\"createTime\": \"%s\"}}", in);
    snprintf(message, sizeof(message), "invalid timestamp \"%s\": %s", in, why);
    expect_error(&bulwark__tenancy__v1__create_tenant_response__descriptor, text,
                 "tenant.createTime", message);
}

START_TEST(test_timestamp_parse)
{
    expect_timestamp("1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z");
    expect_timestamp("2024-02-29T12:00:00Z", 1709208000, 0, "2024-02-29T12:00:00Z");
    expect_timestamp("2000-02-29T00:00:00Z", 951782400, 0, "2000-02-29T00:00:00Z");
    expect_timestamp("1999-12-31T23:59:59Z", 946684799, 0, "1999-12-31T23:59:59Z");
    expect_timestamp("2024-01-01T10:00:00+14:00", 1704052800, 0, "2023-12-31T20:00:00Z");
    expect_timestamp("2024-12-31T20:00:00-12:00", 1735718400, 0, "2025-01-01T08:00:00Z");
    expect_timestamp("2024-12-31t20:00:00z", 1735675200, 0, "2024-12-31T20:00:00Z");
    expect_timestamp("2024-03-01T00:30:00+01:00", 1709249400, 0, "2024-02-29T23:30:00Z");
    expect_timestamp("0001-01-01T00:00:00Z", -62135596800, 0, "0001-01-01T00:00:00Z");
    expect_timestamp("9999-12-31T23:59:59.999999999Z", 253402300799, 999999999,
                     "9999-12-31T23:59:59.999999999Z");
    expect_timestamp("0001-01-01T01:00:00+01:00", -62135596800, 0, "0001-01-01T00:00:00Z");
    expect_timestamp("1969-12-31T23:59:59.5Z", -1, 500000000, "1969-12-31T23:59:59.500Z");
    expect_timestamp("2024-05-01T12:00:00.1Z", 1714564800, 100000000, "2024-05-01T12:00:00.100Z");
    expect_timestamp("2024-05-01T12:00:00.000Z", 1714564800, 0, "2024-05-01T12:00:00Z");
    expect_timestamp("2024-05-01T12:00:00.120000Z", 1714564800, 120000000,
                     "2024-05-01T12:00:00.120Z");
    expect_timestamp("2024-05-01T12:00:00.123456Z", 1714564800, 123456000,
                     "2024-05-01T12:00:00.123456Z");
    expect_timestamp("2024-05-01T12:00:00.000001Z", 1714564800, 1000,
                     "2024-05-01T12:00:00.000001Z");
    expect_timestamp("2024-05-01T12:00:00.000000001Z", 1714564800, 1,
                     "2024-05-01T12:00:00.000000001Z");
    expect_timestamp("2024-05-01T12:00:00.12345678+02:00", 1714557600, 123456780,
                     "2024-05-01T10:00:00.123456780Z");
}
END_TEST

START_TEST(test_timestamp_rejects)
{
    const char *syntax = "expected RFC 3339 such as \"2024-05-01T12:00:00Z\"";
    expect_bad_timestamp("2023-02-29T00:00:00Z", "no such date");
    expect_bad_timestamp("1900-02-29T00:00:00Z", "no such date");
    expect_bad_timestamp("2024-13-01T00:00:00Z", "no such date");
    expect_bad_timestamp("2024-00-10T00:00:00Z", "no such date");
    expect_bad_timestamp("2024-04-31T00:00:00Z", "no such date");
    expect_bad_timestamp("2024-04-00T00:00:00Z", "no such date");
    expect_bad_timestamp("2024-04-30T24:00:00Z", "no such time of day or offset");
    expect_bad_timestamp("2024-04-30T23:60:00Z", "no such time of day or offset");
    expect_bad_timestamp("2024-06-30T23:59:60Z", "no such time of day or offset");
    expect_bad_timestamp("2024-06-30T12:00:00+24:00", "no such time of day or offset");
    expect_bad_timestamp("0000-12-31T23:59:59Z", "outside 0001-01-01 to 9999-12-31");
    expect_bad_timestamp("0001-01-01T00:30:00+01:00", "outside 0001-01-01 to 9999-12-31");
    expect_bad_timestamp("9999-12-31T23:30:00-01:00", "outside 0001-01-01 to 9999-12-31");
    expect_bad_timestamp("2024-05-01T12:00:00", syntax);
    expect_bad_timestamp("2024-05-01 12:00:00Z", syntax);
    expect_bad_timestamp("2024-05-01T12:00Z", syntax);
    expect_bad_timestamp("2024-5-01T12:00:00Z", syntax);
    expect_bad_timestamp("2024-05-01T12:00:00.Z", syntax);
    expect_bad_timestamp("2024-05-01T12:00:00.1234567891Z", syntax);
    expect_bad_timestamp("2024-05-01T12:00:00+0100", syntax);
    expect_bad_timestamp("2024-05-01T12:00:00+01:00x", syntax);
    expect_bad_timestamp("2024-05-01T12:00:00ZZ", syntax);
    expect_bad_timestamp("+2024-05-01T12:00:00Z", syntax);
    expect_bad_timestamp("", syntax);
    expect_bad_timestamp("1714564800", syntax);
}
END_TEST

START_TEST(test_timestamp_render_out_of_range)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Bulwark__Tenancy__V1__Tenant t = BULWARK__TENANCY__V1__TENANT__INIT;
    t.create_time = &ts;
    ts.seconds = 253402300800; /* 10000-01-01 */
    json_t *v = render_member(&t, "createTime");
    ck_assert(json_is_null(v));
    json_decref(v);
    ts.seconds = 0;
    ts.nanos = -1;
    v = render_member(&t, "createTime");
    ck_assert(json_is_null(v));
    json_decref(v);
    ts.nanos = 1000000000;
    v = render_member(&t, "createTime");
    ck_assert(json_is_null(v));
    json_decref(v);

    /* Dates across the whole range, at odd times of day, render and parse back. */
    for (int64_t s = -62135596800; s < 253402300799; s += 86400 * 97 + 3607) {
        ts.seconds = s;
        ts.nanos = 0;
        json_t *rendered = render_member(&t, "createTime");
        ck_assert(json_is_string(rendered));
        char text[128];
        snprintf(text, sizeof(text), "{\"createTime\": \"%s\"}", json_string_value(rendered));
        json_decref(rendered);
        Bulwark__Tenancy__V1__Tenant *back = parse(&bulwark__tenancy__v1__tenant__descriptor, text);
        ck_assert_int_eq(back->create_time->seconds, s);
        bw_arena_reset(arena);
    }
}
END_TEST

START_TEST(test_field_mask)
{
    const ProtobufCMessageDescriptor *d = &bulwark__scoping__v1__update_entity_request__descriptor;
    Bulwark__Scoping__V1__UpdateEntityRequest *r =
        parse(d, "{\"id\": \"ent_1\", \"updateMask\": \"name,timeZone,size.staffHeadcount,"
                 "member_state.services_in\"}");
    ck_assert_ptr_nonnull(r->update_mask);
    ck_assert_uint_eq(r->update_mask->n_paths, 4);
    ck_assert_str_eq(r->update_mask->paths[0], "name");
    ck_assert_str_eq(r->update_mask->paths[1], "time_zone");
    ck_assert_str_eq(r->update_mask->paths[2], "size.staff_headcount");
    ck_assert_str_eq(r->update_mask->paths[3], "member_state.services_in");
    expect_member_str(r, "updateMask", "name,timeZone,size.staffHeadcount,memberState.servicesIn");

    r = parse(d, "{\"update_mask\": \"\"}");
    ck_assert_ptr_nonnull(r->update_mask);
    ck_assert_uint_eq(r->update_mask->n_paths, 0);
    expect_member_str(r, "updateMask", "");

    expect_error(d, "{\"updateMask\": \"name,,etag\"}", "updateMask",
                 "invalid field mask path \"\"");
    expect_error(d, "{\"updateMask\": \"name,\"}", "updateMask", "invalid field mask path \"\"");
    expect_error(d, "{\"updateMask\": \"name, etag\"}", "updateMask",
                 "invalid field mask path \" etag\"");
    expect_error(d, "{\"updateMask\": \"size..staffHeadcount\"}", "updateMask",
                 "invalid field mask path \"size..staffHeadcount\"");
    expect_error(d, "{\"updateMask\": \".name\"}", "updateMask",
                 "invalid field mask path \".name\"");
    /* A component of underscores only has no JSON name: refused, so that
     * every mask read can be written back (a fuzz_json finding). */
    expect_error(d, "{\"updateMask\": \"name,___\"}", "updateMask",
                 "invalid field mask path \"___\"");
    expect_error(d, "{\"updateMask\": \"size._\"}", "updateMask",
                 "invalid field mask path \"size._\"");
    expect_error(d, "{\"updateMask\": \"__.name\"}", "updateMask",
                 "invalid field mask path \"__.name\"");
    r = parse(d, "{\"updateMask\": \"_name,size.staff__headcount_\"}");
    expect_member_str(r, "updateMask", "Name,size.staffHeadcount");
    expect_error(d, "{\"updateMask\": [\"name\"]}", "updateMask", "expected a string");
    expect_error(d, "{\"updateMask\": {\"paths\": [\"name\"]}}", "updateMask", "expected a string");
}
END_TEST

START_TEST(test_empty)
{
    ProtobufCMessage *m = parse(&google__protobuf__empty__descriptor, "{}");
    ck_assert_ptr_eq(m->descriptor, &google__protobuf__empty__descriptor);
    expect_json(m, "{}");
    expect_error(&google__protobuf__empty__descriptor, "{\"x\": 1}", "x", "unknown field");
}
END_TEST

/* ---- flags and floating point ---- */

START_TEST(test_lenient_scalars)
{
    const ProtobufCMessageDescriptor *act = &bulwark__scoping__v1__activity__descriptor;
    expect_error(act, "{\"retailOnly\": \"true\"}", "retailOnly", "expected a boolean");
    Bulwark__Scoping__V1__Activity *a =
        parse_flags(act, "{\"retailOnly\": \"true\", \"principalActivity\": \"false\"}",
                    BW_JSON_LENIENT_SCALARS);
    ck_assert(a->retail_only);
    ck_assert(!a->principal_activity);
    expect_error_flags(act, "{\"retailOnly\": \"1\"}", BW_JSON_LENIENT_SCALARS, "retailOnly",
                       "expected a boolean");
    expect_error_flags(act, "{\"retailOnly\": \"TRUE\"}", BW_JSON_LENIENT_SCALARS, "retailOnly",
                       "expected a boolean");

    const ProtobufCMessageDescriptor *sz = &bulwark__scoping__v1__size_figures__descriptor;
    expect_error(sz, "{\"staffHeadcount\": \"12.5\"}", "staffHeadcount", "expected a number");
    Bulwark__Scoping__V1__SizeFigures *f =
        parse_flags(sz, "{\"staffHeadcount\": \"12.5\", \"annualTurnoverEur\": \"7\"}",
                    BW_JSON_LENIENT_SCALARS);
    ck_assert_double_eq(f->staff_headcount, 12.5);
    ck_assert_int_eq(f->annual_turnover_eur, 7);
    f = parse_flags(sz, "{\"staffHeadcount\": \"-1e2\"}", BW_JSON_LENIENT_SCALARS);
    ck_assert_double_eq(f->staff_headcount, -100.0);
    expect_error_flags(sz, "{\"staffHeadcount\": \" 12\"}", BW_JSON_LENIENT_SCALARS,
                       "staffHeadcount", "expected a number");
    expect_error_flags(sz, "{\"staffHeadcount\": \"0x10\"}", BW_JSON_LENIENT_SCALARS,
                       "staffHeadcount", "expected a number");
    expect_error_flags(sz, "{\"staffHeadcount\": \"inf\"}", BW_JSON_LENIENT_SCALARS,
                       "staffHeadcount", "expected a number");
    expect_error_flags(sz, "{\"staffHeadcount\": \"12abc\"}", BW_JSON_LENIENT_SCALARS,
                       "staffHeadcount", "expected a number");
    expect_error_flags(sz, "{\"staffHeadcount\": \"1e999\"}", BW_JSON_LENIENT_SCALARS,
                       "staffHeadcount", "out of range for double");

    const ProtobufCMessageDescriptor *list =
        &bulwark__scoping__v1__list_entities_request__descriptor;
    Bulwark__Scoping__V1__ListEntitiesRequest *r =
        parse_flags(list, "{\"pageSize\": \"50\"}", BW_JSON_LENIENT_SCALARS);
    ck_assert_int_eq(r->page_size, 50);
    expect_error_flags(list, "{\"pageSize\": \"5O\"}", BW_JSON_LENIENT_SCALARS, "pageSize",
                       "expected an integer");
}
END_TEST

START_TEST(test_non_finite_doubles)
{
    Bulwark__Scoping__V1__SizeFigures f = BULWARK__SCOPING__V1__SIZE_FIGURES__INIT;
    f.staff_headcount = NAN;
    expect_member_str(&f, "staffHeadcount", "NaN");
    f.staff_headcount = INFINITY;
    expect_member_str(&f, "staffHeadcount", "Infinity");
    f.staff_headcount = -INFINITY;
    expect_member_str(&f, "staffHeadcount", "-Infinity");

    const ProtobufCMessageDescriptor *sz = &bulwark__scoping__v1__size_figures__descriptor;
    Bulwark__Scoping__V1__SizeFigures *p = parse(sz, "{\"staffHeadcount\": \"NaN\"}");
    ck_assert(isnan(p->staff_headcount));
    p = parse(sz, "{\"staffHeadcount\": \"-Infinity\"}");
    ck_assert(isinf(p->staff_headcount) && p->staff_headcount < 0);
    p = parse(sz, "{\"staffHeadcount\": 3}");
    ck_assert_double_eq(p->staff_headcount, 3.0);
    expect_error(sz, "{\"staffHeadcount\": \"nan\"}", "staffHeadcount", "expected a number");
}
END_TEST

/* ---- every type, oneofs and proto2 presence on the fixtures ---- */

START_TEST(test_all_scalar_types)
{
    const char *text =
        "{\"i32\": -7, \"s32\": -2147483648, \"sf32\": 2147483647, \"u32\": 4294967295,"
        " \"f32\": \"12\", \"i64\": \"-9223372036854775808\", \"s64\": \"-1\","
        " \"sf64\": 9223372036854775807, \"u64\": \"18446744073709551615\", \"f64\": 1,"
        " \"flag\": true, \"ratio\": 0.5, \"amount\": -2.25, \"color\": \"NEGATIVE\","
        " \"text\": \"héllo\", \"blob\": \"AQID\", \"rU64\": [\"0\", 5],"
        " \"rRatio\": [1.5, \"Infinity\", \"NaN\"], \"rBlob\": [\"\", \"/w==\"],"
        " \"rColor\": [\"RED\", 2, \"COLOR_UNSPECIFIED\"], \"rFlag\": [false, true],"
        " \"level2B\": 3, \"optI32\": 0}";
    AllTypes *t = parse(&alltypes_descriptor, text);
    ck_assert_int_eq(t->s32, INT32_MIN);
    ck_assert_uint_eq(t->u32, UINT32_MAX);
    ck_assert_uint_eq(t->f32, 12);
    ck_assert_int_eq(t->i64, INT64_MIN);
    ck_assert_uint_eq(t->u64, UINT64_MAX);
    ck_assert_uint_eq(t->f64, 1);
    ck_assert_float_eq(t->ratio, 0.5f);
    ck_assert_int_eq(t->color, -1);
    ck_assert_uint_eq(t->blob.len, 3);
    ck_assert_uint_eq(t->n_r_u64, 2);
    ck_assert_uint_eq(t->r_u64[1], 5);
    ck_assert(isinf(t->r_ratio[1]) && isnan(t->r_ratio[2]));
    ck_assert_uint_eq(t->r_blob[1].len, 1);
    ck_assert_uint_eq(t->r_blob[1].data[0], 0xff);
    ck_assert_int_eq(t->r_color[1], 2);
    ck_assert(t->r_flag[1]);
    ck_assert_int_eq(t->level_2_b, 3);
    ck_assert(t->has_opt_i32);
    ck_assert_int_eq(t->choice_case, 0);

    expect_json(t, "{\"i32\": -7, \"s32\": -2147483648, \"sf32\": 2147483647, \"u32\": 4294967295,"
                   " \"f32\": 12, \"i64\": \"-9223372036854775808\", \"s64\": \"-1\","
                   " \"sf64\": \"9223372036854775807\", \"u64\": \"18446744073709551615\","
                   " \"f64\": \"1\", \"flag\": true, \"ratio\": 0.5, \"amount\": -2.25,"
                   " \"color\": \"NEGATIVE\", \"text\": \"héllo\", \"blob\": \"AQID\","
                   " \"rU64\": [\"0\", \"5\"], \"rRatio\": [1.5, \"Infinity\", \"NaN\"],"
                   " \"rBlob\": [\"\", \"/w==\"], \"rColor\": [\"RED\", \"GREEN\","
                   " \"COLOR_UNSPECIFIED\"], \"rFlag\": [false, true], \"level2B\": 3,"
                   " \"optI32\": 0, \"children\": []}");

    /* protobuf-c packs the hand-written fixture and reads it back the same. */
    size_t len = protobuf_c_message_get_packed_size(&t->base);
    uint8_t *wire = malloc(len);
    ck_assert_ptr_nonnull(wire);
    protobuf_c_message_pack(&t->base, wire);
    AllTypes *back = (AllTypes *)protobuf_c_message_unpack(
        &alltypes_descriptor, bw_arena_protobuf_allocator(arena), len, wire);
    free(wire);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->u64, UINT64_MAX);
    ck_assert_int_eq(back->r_color[0], 1);

    /* Unset: no optional member, repeated as []. */
    AllTypes *empty = parse(&alltypes_descriptor, "{}");
    json_t *obj = bw_pb_to_json(&empty->base);
    ck_assert_ptr_null(json_object_get(obj, "optI32"));
    ck_assert_ptr_null(json_object_get(obj, "child"));
    ck_assert_ptr_null(json_object_get(obj, "choiceText"));
    ck_assert_uint_eq(json_array_size(json_object_get(obj, "rBlob")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "color")), "COLOR_UNSPECIFIED");
    json_decref(obj);
}
END_TEST

START_TEST(test_integer_ranges)
{
    const ProtobufCMessageDescriptor *d = &alltypes_descriptor;
    expect_error(d, "{\"u32\": 4294967296}", "u32", "out of range for uint32 (0 to 4294967295)");
    expect_error(d, "{\"u32\": -1}", "u32", "out of range for uint32 (0 to 4294967295)");
    expect_error(d, "{\"f32\": \"-1\"}", "f32", "out of range for uint32 (0 to 4294967295)");
    expect_error(d, "{\"u64\": \"-1\"}", "u64",
                 "out of range for uint64 (0 to 18446744073709551615)");
    expect_error(d, "{\"u64\": -1}", "u64", "out of range for uint64 (0 to 18446744073709551615)");
    expect_error(d, "{\"f64\": \"18446744073709551616\"}", "f64",
                 "out of range for uint64 (0 to 18446744073709551615)");
    expect_error(d, "{\"sf32\": 2147483648}", "sf32",
                 "out of range for int32 (-2147483648 to 2147483647)");
    expect_error(d, "{\"s64\": 0.5}", "s64", "expected an integer, got a fractional number");
    expect_error(d, "{\"ratio\": 1e39}", "ratio", "out of range for float");
    expect_error(d, "{\"ratio\": \"1\"}", "ratio", "expected a number");
    expect_error(d, "{\"rU64\": [1, \"x\"]}", "rU64[1]", "expected an integer");
    expect_error(d, "{\"rColor\": [\"RED\", \"BLUE\"]}", "rColor[1]",
                 "unknown value \"BLUE\"; expected one of NEGATIVE, COLOR_UNSPECIFIED, RED, GREEN");
    expect_error(d, "{\"rFlag\": [true, null]}", "rFlag[1]", "expected a boolean");

    AllTypes *t = parse(d, "{\"u64\": \"-0\", \"i32\": \"007\", \"i64\": -0}");
    ck_assert_uint_eq(t->u64, 0);
    ck_assert_int_eq(t->i32, 7);
}
END_TEST

START_TEST(test_oneof)
{
    const ProtobufCMessageDescriptor *d = &alltypes_descriptor;
    AllTypes *t = parse(d, "{\"choiceText\": \"hello\"}");
    ck_assert_uint_eq(t->choice_case, CHOICE_TEXT);
    ck_assert_str_eq(t->choice_text, "hello");
    json_t *obj = bw_pb_to_json(&t->base);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "choiceText")), "hello");
    ck_assert_ptr_null(json_object_get(obj, "choiceNumber"));
    ck_assert_ptr_null(json_object_get(obj, "choiceChild"));
    json_decref(obj);

    t = parse(d, "{\"choice_number\": \"12\"}");
    ck_assert_uint_eq(t->choice_case, CHOICE_NUMBER);
    ck_assert_int_eq(t->choice_number, 12);
    expect_member_str(t, "choiceNumber", "12");

    t = parse(d, "{\"choiceChild\": {\"text\": \"inner\"}, \"choiceText\": null}");
    ck_assert_uint_eq(t->choice_case, CHOICE_CHILD);
    ck_assert_str_eq(t->choice_child->text, "inner");

    t = parse(d, "{\"choiceText\": null}");
    ck_assert_uint_eq(t->choice_case, 0);

    expect_error(d, "{\"choiceText\": \"a\", \"choiceNumber\": 1}", "choiceNumber",
                 "oneof already set by field \"choiceText\"");
    expect_error(d, "{\"child\": {\"choiceChild\": {}, \"choice_text\": \"a\"}}",
                 "child.choiceText", "oneof already set by field \"choiceChild\"");
}
END_TEST

START_TEST(test_proto2_presence)
{
    const ProtobufCMessageDescriptor *d = &google__protobuf__field_descriptor_proto__descriptor;
    Google__Protobuf__FieldDescriptorProto *f =
        parse(d, "{\"name\": \"x\", \"number\": 3, \"type\": \"TYPE_STRING\"}");
    ck_assert(f->has_number);
    ck_assert(f->has_type);
    ck_assert(!f->has_label);
    ck_assert_ptr_null(f->type_name);
    expect_json(f, "{\"name\": \"x\", \"number\": 3, \"type\": \"TYPE_STRING\"}");
}
END_TEST

/* ---- output robustness ---- */

START_TEST(test_output_sanitises_utf8)
{
    Bulwark__Scoping__V1__Activity a = BULWARK__SCOPING__V1__ACTIVITY__INIT;
    a.entity_type = "ok\xff\xc3(\xe2\x82\xac"
                    "end";
    expect_member_str(&a, "entityType",
                      "ok\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac"
                      "end");
    a.entity_type = NULL;
    expect_member_str(&a, "entityType", "");
}
END_TEST

START_TEST(test_direct_writer_edges)
{
    /* The numbers and strings where a hand-written writer could part from
     * jansson's dump. */
    Bulwark__Scoping__V1__SizeFigures f = BULWARK__SCOPING__V1__SIZE_FIGURES__INIT;
    const double values[] = {0.0,
                             -0.0,
                             1.0,
                             12.3,
                             0.1,
                             1e20,
                             1e21,
                             1.5e-5,
                             1e-7,
                             123456789012345678.0,
                             -2.5e-300,
                             1e300,
                             DBL_MAX,
                             DBL_MIN,
                             3.14159265358979323846,
                             100.0,
                             7e22,
                             420.0,
                             -3.0,
                             999999999999999.0,
                             -999999999999999.0,
                             1e15,
                             -1e15,
                             123456789012345.0,
                             -1.0,
                             4503599627370497.0,
                             0.5,
                             -0.5};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        f.staff_headcount = values[i];
        expect_same_text(&f);
    }
    Bulwark__Scoping__V1__Activity a = BULWARK__SCOPING__V1__ACTIVITY__INIT;
    const char *texts[] = {"",
                           "plain",
                           "quote \" and backslash \\ and slash /",
                           "\b\f\n\r\t\x01\x1f\x7f",
                           "é€😀",
                           "bad \xc0\x80 \xed\xa0\x80 \xf5",
                           "tail \xe2\x82"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        a.entity_type = (char *)texts[i];
        expect_same_text(&a);
    }
    /* each byte the writer must stop at, at every offset of a string
     * long enough for the eight-byte scan, and at its end */
    const char *specials[] = {"\"",   "\\",   "\n",       "\x01",         "\x1f",
                              " ",    "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                              "\xff", "\x80", "\xe2\x82"};
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (size_t at = 0; at <= 20; at++) {
            char text[40];
            memset(text, 'x', at);
            text[at] = '\0';
            append(text, sizeof(text), specials[k]);
            append(text, sizeof(text), at % 2 == 0 ? "" : "0123456789abc");
            a.entity_type = text;
            expect_same_text(&a);
        }
    }
    /* a buffer with a ceiling fails cleanly and keeps what it had */
    bw_buf_t b;
    bw_buf_init(&b, 8);
    ck_assert_int_eq(bw_buf_adds(&b, "keep"), 0);
    a.entity_type = "a long enough value";
    ck_assert_int_eq(bw_pb_write_json(&a.base, &b), BW_ETOOBIG);
    ck_assert_str_eq(b.data, "keep");
    bw_buf_free(&b);
}
END_TEST

/* The quick reader (jsontext.c) reads what jansson reads to the same tree,
 * and leaves to jansson whatever it is not sure of, so that every error
 * stays jansson's. */
static void expect_quick(const char *text, bool taken)
{
    size_t len = strlen(text);
    json_t *quick = bw_json_read_quick(text, len);
    json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    ck_assert_msg((quick != NULL) == taken, "quick reader %s %s", taken ? "refused" : "took", text);
    if (quick != NULL) {
        ck_assert_msg(ref != NULL, "jansson refuses %s", text);
        const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
        char *a = json_dumps(quick, flags), *b = json_dumps(ref, flags);
        ck_assert_msg(strcmp(a, b) == 0, "%s: quick %s, jansson %s", text, a, b);
        free(a);
        free(b);
    }
    json_decref(quick);
    json_decref(ref);
}

START_TEST(test_quick_reader)
{
    const char *taken[] = {
        "{}",
        " [ ] ",
        "\t{\"a\" : 1 ,\r\n\"b\":[true,false,null,\"x\"]}\n",
        "{\"z\":1,\"a\":2,\"m\":{\"k\":\"v\"}}",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\u20AC\\ud83d\\ude00 and \\u0001\"",
        "{\"k\\u00e9y\":\"v\",\"k\\u00e8y\":{\"k\\u00e9y\":1}}",
        "\"é€😀\"",
        "[0,-0,7,-12,123456789012345678,-123456789012345678]",
        "[0.5,-0.0,1e5,1E+2,2.5e-3,1e-400,123456789.123456789e10]",
        "[[[[[[[[[[]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        expect_quick(taken[i], true);
    const char *left[] = {
        "",
        "  ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "+1",
        "tru",
        "truex",
        "nul",
        "[1 2]",
        "{} {}",
        "\"\\u0000\"",
        "{\"\\u0000\":1}",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83d\\u0041\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"a\x01\"",
        "\"\xff\"",
        "\"\xc0\x80\"",
        "\"\xed\xa0\x80\"",
        "\"abc",
        "{\"a\":1,\"a\":2}",
        "{\"\\u0061\":1,\"a\":2}",
        "1234567890123456789",
        "99999999999999999999",
        "1e400",
        "-1e400",
        "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
        expect_quick(left[i], false);
    /* nesting deeper than the quick reader goes is still read, by jansson */
    char deep[1202];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    deep[1200] = '\0';
    expect_quick(deep, false);
    json_t *tree = NULL;
    bw_json_error_t err;
    ck_assert_int_eq(bw_json_load(deep, strlen(deep), &tree, &err), 0);
    json_decref(tree);
    /* errors are jansson's, as before */
    ck_assert_int_eq(bw_json_load("{\"a\":1,\"a\":2}", 13, &tree, &err), BW_EINVAL);
    ck_assert_str_eq(err.message, "duplicate key \"a\" at line 1, column 10");
    ck_assert_int_eq(bw_json_load("[1,]", 4, &tree, &err), BW_EINVAL);
    ck_assert_msg(strncmp(err.message, "malformed JSON at line 1, column 4: ", 36) == 0, "%s",
                  err.message);
}
END_TEST

START_TEST(test_too_many_values)
{
    /* The values: the object, "a"'s string, "b"'s array and its 1, 2 and
     * {}, "c"'s array and its [] and 3: nine. Commas, brackets and colons
     * inside a string (escaped quotes included) are text. */
    const char *text = "{\"a\":\"[,{:\\\",\",\"b\":[1, 2,{}],\"c\":[[],3]}";
    ck_assert_int_eq(bw_json_values_over(text, strlen(text), 9), 0);
    ck_assert_int_eq(bw_json_values_over(text, strlen(text), 8), 1);
    /* A text no longer than the limit is not read. */
    ck_assert_int_eq(bw_json_values_over("[[[", 3, 3), 0);
    /* BW_JSON_MAX_VALUES empty objects in an array, then one more. */
    size_t n = BW_JSON_MAX_VALUES;
    char *big = malloc(3 * n + 8);
    ck_assert_ptr_nonnull(big);
    size_t len = 0;
    big[len++] = '[';
    for (size_t i = 0; i < n - 1; i++) {
        memcpy(big + len, i > 0 ? ",{}" : "{}", i > 0 ? 3 : 2);
        len += i > 0 ? 3 : 2;
    }
    big[len++] = ']';
    json_t *tree = NULL;
    bw_json_error_t err;
    ck_assert_int_eq(bw_json_load(big, len, &tree, &err), 0); /* n values: taken */
    ck_assert_uint_eq(json_array_size(tree), n - 1);
    json_decref(tree);
    memcpy(big + len - 1, ",{}]", 4);
    len += 3;
    ck_assert_int_eq(bw_json_load(big, len, &tree, &err), BW_EINVAL);
    ck_assert_ptr_null(tree);
    ck_assert_str_eq(err.message, "the JSON text holds more than 100000 values");
    ck_assert_str_eq(err.field, "");
    free(big);
}
END_TEST

START_TEST(test_error_text_is_utf8)
{
    /* Client text quoted in messages and paths is cut on a character
     * boundary, so the gateway can always put it in problem+json. */
    char value[400] = "";
    for (int i = 0; i < 100; i++)
        append(value, sizeof(value), "\xc3\xa9"); /* é */
    char text[1024];
    snprintf(text, sizeof(text), "{\"memberState\": {\"designation\": \"%s\"}}", value);
    json_t *json = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(json);
    ProtobufCMessage *msg;
    bw_json_error_t err;
    ck_assert_int_eq(
        bw_json_to_pb(arena, &bulwark__scoping__v1__entity__descriptor, json, 0, &msg, &err),
        BW_EINVAL);
    json_decref(json);
    ck_assert(valid_utf8(err.message));
    ck_assert_ptr_nonnull(strstr(err.message, "\xc3\xa9...\"; expected one of"));

    char key[700] = "";
    append(key, sizeof(key), "a");
    for (int i = 0; i < 300; i++)
        append(key, sizeof(key), "\xc3\xa9");
    snprintf(text, sizeof(text), "{\"size\": {\"%s\": 1}}", key);
    json = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(
        bw_json_to_pb(arena, &bulwark__scoping__v1__entity__descriptor, json, 0, &msg, &err),
        BW_EINVAL);
    json_decref(json);
    ck_assert(valid_utf8(err.field));
    ck_assert_uint_eq(strlen(err.field), 254); /* "size.a" + 124 x 2 bytes */
    ck_assert_str_eq(err.message, "unknown field");

    /* jansson names a duplicate key only when it is short. */
    char long_key[256] = "";
    for (int i = 0; i < 100; i++)
        append(long_key, sizeof(long_key), "\xc3\xa9");
    snprintf(text, sizeof(text), "{\"%s\": 1, \"%s\": 2}", long_key, long_key);
    ck_assert_int_eq(bw_json_parse_pb(arena, &bulwark__scoping__v1__entity__descriptor, text,
                                      strlen(text), &msg, &err),
                     BW_EINVAL);
    ck_assert_str_eq(err.message, "duplicate key at line 1, column 210");
}
END_TEST

/* A tree read in a scope lives on the arena, reads as one read on the
 * heap, and is released for nothing; a value made before the scope is
 * freed for real inside it, and one made after lives on the heap again.
 * Under ASan a free() of arena memory, or a leak, fails the suite. */
START_TEST(test_trees_on_an_arena)
{
    static const char text[] = "{\"name\":\"Acme \\u00e9\",\"sizes\":[1,2.5,-3],"
                               "\"nested\":{\"deep\":{\"deeper\":[true,false,null]}}}";
    bw_json_use_arenas();
    json_t *before = json_string("made before");
    bw_arena_t *a = bw_arena_create(256);
    bw_json_error_t err;
    json_t *doc = NULL;

    bw_json_arena_begin(a);
    ck_assert_int_eq(bw_json_load(text, sizeof(text) - 1, &doc, &err), 0);
    ck_assert(bw_arena_owns(a, doc));
    json_t *name = json_object_get(doc, "name");
    ck_assert(bw_arena_owns(a, name) && bw_arena_owns(a, json_string_value(name)));
    ck_assert_str_eq(json_string_value(name), "Acme \xc3\xa9");
    ck_assert_int_eq(json_array_size(json_object_get(doc, "sizes")), 3);
    ck_assert(json_is_null(json_array_get(
        json_object_get(json_object_get(json_object_get(doc, "nested"), "deep"), "deeper"), 2)));
    json_decref(doc);
    /* jansson's own reader (a syntax error), its buffers on the arena too */
    ck_assert_int_eq(bw_json_load("{\"a\": [1, 2,", 12, &doc, &err), BW_EINVAL);
    json_decref(before);
    bw_json_arena_end();

    json_t *after = json_object();
    ck_assert(!bw_arena_owns(a, after));
    json_decref(after);
    bw_arena_destroy(a);
}
END_TEST

static Suite *suite_json(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_json_name);
    tcase_add_test(tc, test_find_field);
    suite_add_tcase(s, tc);

    tc = tcase_create("contracts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_entity_round_trip);
    tcase_add_test(tc, test_defaults_written);
    tcase_add_test(tc, test_int64_as_string);
    tcase_add_test(tc, test_int32_fields);
    tcase_add_test(tc, test_tenancy_nested_and_timestamps);
    tcase_add_test(tc, test_bytes_base64);
    tcase_add_test(tc, test_enums);
    tcase_add_test(tc, test_null_is_absent);
    tcase_add_test(tc, test_proto_names_accepted);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_error_paths);
    tcase_add_test(tc, test_document_errors);
    tcase_add_test(tc, test_string_limit);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_error_text_is_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("well_known_types");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_timestamp_parse);
    tcase_add_test(tc, test_timestamp_rejects);
    tcase_add_test(tc, test_timestamp_render_out_of_range);
    tcase_add_test(tc, test_field_mask);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("scalars");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lenient_scalars);
    tcase_add_test(tc, test_non_finite_doubles);
    tcase_add_test(tc, test_all_scalar_types);
    tcase_add_test(tc, test_integer_ranges);
    tcase_add_test(tc, test_oneof);
    tcase_add_test(tc, test_proto2_presence);
    tcase_add_test(tc, test_output_sanitises_utf8);
    tcase_add_test(tc, test_direct_writer_edges);
    tcase_add_test(tc, test_quick_reader);
    tcase_add_test(tc, test_too_many_values);
    tcase_add_test(tc, test_trees_on_an_arena);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    alltypes_sort_names();
    SRunner *sr = srunner_create(suite_json());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
