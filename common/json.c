/*
 * Transcodes between jansson values and protobuf-c messages by walking the
 * message descriptors, following the proto3 JSON mapping (see json.h). Input
 * is strict: every rejection names the offending field by the JSON path the
 * client wrote, built only when an error happens from a chain of path
 * segments kept on the C stack, so the success path copies no names. Parsed
 * messages, repeated arrays and strings live on the request arena and never
 * point into the JSON tree, which the caller may release at once. Output
 * builds a fresh jansson tree; JSON names are derived into stack buffers.
 */
#include "json.h"

#include "base64.h"
#include "hex.h"
#include "jsontext.h"
#include "status.h"
#include "times.h"
#include "utf8.h"

#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WKT_TIMESTAMP "google.protobuf.Timestamp"
#define WKT_FIELD_MASK "google.protobuf.FieldMask"

/* Longest piece of client input quoted back in an error message. */
#define QUOTE_MAX 64

/* Field names up to this length are converted without touching the heap. */
#define NAME_BUF 128

/* One step of the JSON path: a field, an unknown key, or an array index. */
typedef struct path_seg {
    const struct path_seg *parent;
    const ProtobufCFieldDescriptor *field;
    const char *key; /* the client's key when field is NULL and this is no index */
    size_t key_len;
    size_t index;
} path_seg_t;

typedef struct parse_ctx {
    bw_arena_t *arena;
    ProtobufCAllocator *alloc;
    int flags;
    bw_json_error_t *err;
} parse_ctx_t;

/* A fixed buffer that truncates on a UTF-8 boundary: error texts end up in
 * problem+json, and jansson refuses strings that are not valid UTF-8. */
typedef struct textbuf {
    char *buf;
    size_t size;
    size_t len;
    bool full;
} textbuf_t;

static void tb_append(textbuf_t *t, const char *s, size_t n)
{
    if (t->full)
        return;
    size_t room = t->size - 1 - t->len;
    if (n > room) {
        n = bw_utf8_cut(s, n, room);
        t->full = true;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static size_t quote_len(const char *s, size_t n)
{
    return bw_utf8_cut(s, n, QUOTE_MAX);
}

static const char *quote_tail(size_t n)
{
    return n <= QUOTE_MAX ? "" : "...";
}

/* protoc's rule: drop each '_' and capitalise the letter after it. Returns
 * the length written; the result is cut to fit buflen (> 0). */
static size_t json_name_into(const char *proto_name, char *buf, size_t buflen)
{
    size_t n = 0;
    bool upper_next = false;
    for (const char *p = proto_name; *p != '\0' && n + 1 < buflen; p++) {
        if (*p == '_') {
            upper_next = true;
        } else if (upper_next) {
            buf[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
            upper_next = false;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
    return n;
}

void bw_json_name(const char *proto_name, char *buf, size_t buflen)
{
    if (buflen > 0)
        json_name_into(proto_name, buf, buflen);
}

/* Whether json_name is the JSON name of proto_name, without a buffer. */
static bool json_name_equals(const char *proto_name, const char *json_name)
{
    bool upper_next = false;
    const char *j = json_name;
    for (const char *p = proto_name; *p != '\0'; p++) {
        if (*p == '_') {
            upper_next = true;
            continue;
        }
        char want = (upper_next && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        upper_next = false;
        if (*j++ != want)
            return false;
    }
    return *j == '\0';
}

const ProtobufCFieldDescriptor *bw_json_find_field(const ProtobufCMessageDescriptor *desc,
                                                   const char *name)
{
    if (desc == NULL || name == NULL)
        return NULL;

    /* One binary search in the common cases: a JSON name maps back to its
     * proto name by turning each capital into "_" + lower case, and a key
     * without capitals is looked up as written. */
    char snake[NAME_BUF];
    size_t n = 0;
    bool fits = true, capitals = false, underscores = false;
    for (const char *p = name; *p != '\0'; p++) {
        if (n + 3 > sizeof(snake)) {
            fits = false;
            break;
        }
        if (*p >= 'A' && *p <= 'Z') {
            snake[n++] = '_';
            snake[n++] = (char)(*p - 'A' + 'a');
            capitals = true;
        } else {
            underscores |= *p == '_';
            snake[n++] = *p;
        }
    }
    const ProtobufCFieldDescriptor *f;
    if (fits && capitals) {
        snake[n] = '\0';
        f = protobuf_c_message_descriptor_get_field_by_name(desc, snake);
        /* Only a key mixing "_" and capitals ("foo_Bar" -> "foo__bar") can
         * hit a field whose JSON name it is not. */
        if (f != NULL && (!underscores || json_name_equals(f->name, name)))
            return f;
    }
    f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    if (f != NULL)
        return f;

    /* Names like "level_2_b" ("level2B") do not invert; scan. */
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (json_name_equals(desc->fields[i].name, name))
            return &desc->fields[i];
    return NULL;
}

/* ---- errors ---- */

static void path_write(textbuf_t *t, const path_seg_t *seg)
{
    if (seg == NULL)
        return;
    path_write(t, seg->parent);
    if (seg->field == NULL && seg->key == NULL) {
        char idx[32];
        int n = snprintf(idx, sizeof(idx), "[%zu]", seg->index);
        tb_append(t, idx, (size_t)n);
        return;
    }
    if (seg->parent != NULL)
        tb_append(t, ".", 1);
    if (seg->field != NULL) {
        char name[sizeof(((bw_json_error_t *)0)->field)];
        bw_json_name(seg->field->name, name, sizeof(name));
        tb_append(t, name, strlen(name));
    } else {
        tb_append(t, seg->key, seg->key_len);
    }
}

static void set_error_va(bw_json_error_t *err, const path_seg_t *at, const char *fmt, va_list ap)
{
    textbuf_t field = {err->field, sizeof(err->field), 0, false};
    err->field[0] = '\0';
    path_write(&field, at);
    if (vsnprintf(err->message, sizeof(err->message), fmt, ap) < 0)
        err->message[0] = '\0';
    /* Both end up in problem+json: whatever a truncation or a caller-built
     * key left behind, keep only valid UTF-8. */
    err->field[bw_utf8_valid_prefix(err->field, strlen(err->field))] = '\0';
    err->message[bw_utf8_valid_prefix(err->message, strlen(err->message))] = '\0';
}

static int fail(parse_ctx_t *c, const path_seg_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parse_ctx_t *c, const path_seg_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error_va(c->err, at, fmt, ap);
    va_end(ap);
    return BW_EINVAL;
}

static int out_of_memory(parse_ctx_t *c, const path_seg_t *at)
{
    fail(c, at, "out of memory");
    return BW_ENOMEM;
}

/* ---- JSON -> protobuf ---- */

static int parse_object(parse_ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *json,
                        const path_seg_t *at, int depth, ProtobufCMessage **out);

static bool is_wkt(const ProtobufCMessageDescriptor *desc, const char *full_name)
{
    /* the first letters first: called for every message field written */
    return desc->name[0] == full_name[0] && strcmp(desc->name, full_name) == 0;
}

static ProtobufCMessage *new_message(parse_ctx_t *c, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = c->alloc->alloc(c->alloc->allocator_data, desc->sizeof_message);
    if (m != NULL)
        desc->message_init(m);
    return m;
}

/* Every string the client sends passes here: one place for the size cap. */
static int get_string(parse_ctx_t *c, const path_seg_t *at, json_t *v, const char **s, size_t *len)
{
    if (!json_is_string(v))
        return fail(c, at, "expected a string");
    *len = json_string_length(v);
    if (*len > BW_JSON_MAX_STRING && !(c->flags & BW_JSON_FILE_STRINGS))
        return fail(c, at, "string longer than %d bytes", BW_JSON_MAX_STRING);
    *s = json_string_value(v);
    return 0;
}

typedef struct int_kind {
    const char *name;
    int64_t min;
    uint64_t max;
    bool wide; /* 64-bit: a JSON real cannot carry every value exactly */
} int_kind_t;

static const int_kind_t kind_int32 = {"int32", INT32_MIN, INT32_MAX, false};
static const int_kind_t kind_uint32 = {"uint32", 0, UINT32_MAX, false};
static const int_kind_t kind_int64 = {"int64", INT64_MIN, INT64_MAX, true};
static const int_kind_t kind_uint64 = {"uint64", 0, UINT64_MAX, true};

/* The integer kind of a field type; NULL for a type that is not an integer.
 * The one place that maps them, for reading and writing alike. */
static const int_kind_t *int_kind_of(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return &kind_int32;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return &kind_uint32;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return &kind_int64;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return &kind_uint64;
    default:
        return NULL;
    }
}

/* A decimal integer: optional '-', then digits only (no '+', no spaces).
 * Returns false on bad syntax; *overflow when the magnitude exceeds 64 bits. */
static bool parse_decimal(const char *s, size_t len, bool *neg, uint64_t *mag, bool *overflow)
{
    size_t i = 0;
    *neg = false;
    *mag = 0;
    *overflow = false;
    if (len > 0 && s[0] == '-') {
        *neg = true;
        i = 1;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (*mag > (UINT64_MAX - digit) / 10)
            *overflow = true;
        else
            *mag = *mag * 10 + digit;
    }
    return true;
}

/* A number as proto3 JSON writes it: a JSON integer, a JSON real, or a
 * string holding one (its text checked by get_string). */
typedef struct number {
    enum { NUMBER_INTEGER, NUMBER_REAL, NUMBER_STRING } form;
    json_int_t i;
    double d;
    const char *s;
    size_t len;
} number_t;

/* Reads v as a number into *n; anything else fails with expected. */
static int get_number(parse_ctx_t *c, const path_seg_t *at, json_t *v, const char *expected,
                      number_t *n)
{
    if (json_is_integer(v)) {
        n->form = NUMBER_INTEGER;
        n->i = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        n->form = NUMBER_REAL;
        n->d = json_real_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return fail(c, at, "%s", expected);
    n->form = NUMBER_STRING;
    return get_string(c, at, v, &n->s, &n->len);
}

static int parse_integer(parse_ctx_t *c, const path_seg_t *at, json_t *v, const int_kind_t *kind,
                         bool *neg_out, uint64_t *mag_out)
{
    bool neg = false, overflow = false;
    uint64_t mag = 0;
    number_t n = {0};
    int rc = get_number(c, at, v, "expected an integer", &n);
    if (rc)
        return rc;
    if (n.form == NUMBER_INTEGER) {
        neg = n.i < 0;
        mag = bw_int64_magnitude(n.i);
    } else if (n.form == NUMBER_REAL) {
        /* Outside (-2^63, 2^63) no cast to an integer is defined. */
        if (!(n.d > -9223372036854775808.0 && n.d < 9223372036854775808.0)) {
            overflow = true;
        } else {
            long long i = (long long)n.d;
            if ((double)i != n.d)
                return fail(c, at, "expected an integer, got a fractional number");
            if (kind->wide)
                return fail(c, at, "expected an integer written without a fraction or exponent");
            neg = i < 0;
            mag = bw_int64_magnitude(i);
        }
    } else if (!parse_decimal(n.s, n.len, &neg, &mag, &overflow)) {
        return fail(c, at, "expected an integer");
    }

    uint64_t min_mag = kind->min < 0 ? bw_int64_magnitude(kind->min) : 0;
    if (overflow || (neg && mag > min_mag) || (!neg && mag > kind->max))
        return fail(c, at, "out of range for %s (%" PRId64 " to %" PRIu64 ")", kind->name,
                    kind->min, kind->max);
    *neg_out = neg;
    *mag_out = mag;
    return 0;
}

static int64_t to_signed(bool neg, uint64_t mag)
{
    if (!neg)
        return (int64_t)mag;
    return mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
}

/* Parses an integer of kind into slot, the field's storage of that width. */
static int parse_integer_into(parse_ctx_t *c, const path_seg_t *at, json_t *v,
                              const int_kind_t *kind, void *slot)
{
    bool neg = false;
    uint64_t mag = 0;
    int rc = parse_integer(c, at, v, kind, &neg, &mag);
    if (rc)
        return rc;
    if (kind == &kind_int32)
        *(int32_t *)slot = (int32_t)to_signed(neg, mag);
    else if (kind == &kind_uint32)
        *(uint32_t *)slot = (uint32_t)mag;
    else if (kind == &kind_int64)
        *(int64_t *)slot = to_signed(neg, mag);
    else
        *(uint64_t *)slot = mag;
    return 0;
}

/* The characters of a JSON number, so that strtod's extras (hex, "inf",
 * leading spaces) stay out. */
static bool looks_numeric(const char *s, size_t len)
{
    if (len == 0 || !(s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
              ch == '-'))
            return false;
    }
    return true;
}

static int parse_double(parse_ctx_t *c, const path_seg_t *at, json_t *v, bool is_float, double *out)
{
    const char *type = is_float ? "float" : "double";
    number_t n = {0};
    int rc = get_number(c, at, v, "expected a number", &n);
    if (rc)
        return rc;
    double d = n.form == NUMBER_INTEGER ? (double)n.i : n.d;
    if (n.form == NUMBER_STRING) {
        if (strcmp(n.s, "NaN") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(n.s, "Infinity") == 0 || strcmp(n.s, "-Infinity") == 0) {
            *out = n.s[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        if (!(c->flags & BW_JSON_LENIENT_SCALARS))
            return fail(c, at, "expected a number");
        char *end;
        if (!looks_numeric(n.s, n.len))
            return fail(c, at, "expected a number");
        d = strtod(n.s, &end);
        if (end != n.s + n.len)
            return fail(c, at, "expected a number");
        if (isinf(d))
            return fail(c, at, "out of range for %s", type);
    }
    if (is_float && (d > FLT_MAX || d < -FLT_MAX))
        return fail(c, at, "out of range for %s", type);
    *out = d;
    return 0;
}

static int parse_bool(parse_ctx_t *c, const path_seg_t *at, json_t *v, protobuf_c_boolean *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && (c->flags & BW_JSON_LENIENT_SCALARS)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            *out = s[0] == 't';
            return 0;
        }
    }
    return fail(c, at, "expected a boolean");
}

static int unknown_enum_value(parse_ctx_t *c, const path_seg_t *at,
                              const ProtobufCEnumDescriptor *ed, const char *shown,
                              size_t shown_len, bool quoted)
{
    char text[sizeof(((bw_json_error_t *)0)->message)];
    textbuf_t t = {text, sizeof(text), 0, false};
    tb_append(&t, "unknown value ", 14);
    if (quoted)
        tb_append(&t, "\"", 1);
    size_t q = quote_len(shown, shown_len);
    tb_append(&t, shown, q);
    tb_append(&t, quote_tail(shown_len), strlen(quote_tail(shown_len)));
    if (quoted)
        tb_append(&t, "\"", 1);
    if (ed->n_values <= 12) {
        tb_append(&t, "; expected one of ", 18);
        for (unsigned i = 0; i < ed->n_values; i++) {
            if (i > 0)
                tb_append(&t, ", ", 2);
            tb_append(&t, ed->values[i].name, strlen(ed->values[i].name));
        }
    }
    return fail(c, at, "%s", text);
}

static int parse_enum(parse_ctx_t *c, const path_seg_t *at, const ProtobufCEnumDescriptor *ed,
                      json_t *v, int32_t *out)
{
    if (json_is_string(v)) {
        const char *s = NULL;
        size_t len = 0;
        int rc = get_string(c, at, v, &s, &len);
        if (rc)
            return rc;
        const ProtobufCEnumValue *ev = NULL;
        if (memchr(s, '\0', len) == NULL)
            ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
        if (ev == NULL)
            return unknown_enum_value(c, at, ed, s, len, true);
        *out = ev->value;
        return 0;
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i >= INT32_MIN && i <= INT32_MAX &&
            protobuf_c_enum_descriptor_get_value(ed, (int)i) != NULL) {
            *out = (int32_t)i;
            return 0;
        }
        char num[32];
        int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, i);
        return unknown_enum_value(c, at, ed, num, (size_t)n, false);
    }
    return fail(c, at, "expected a string");
}

static int parse_string(parse_ctx_t *c, const path_seg_t *at, json_t *v, char **out)
{
    const char *s = NULL;
    size_t len = 0;
    int rc = get_string(c, at, v, &s, &len);
    if (rc)
        return rc;
    if (memchr(s, '\0', len) != NULL)
        return fail(c, at, "string contains a NUL character");
    char *copy = bw_arena_strndup(c->arena, s, len);
    if (copy == NULL)
        return out_of_memory(c, at);
    *out = copy;
    return 0;
}

/* A digit of either base64 alphabet (standard or URL-safe), or -1. */
static int base64_value(unsigned char ch)
{
    int v = bw_base64_digit(ch, '+', '/');
    return v >= 0 ? v : bw_base64_digit(ch, '-', '_');
}

/* Standard or URL-safe alphabet, padding optional, as the proto3 mapping
 * asks parsers to accept. */
static int parse_bytes(parse_ctx_t *c, const path_seg_t *at, json_t *v, ProtobufCBinaryData *out)
{
    const char *s = NULL;
    size_t len = 0;
    int rc = get_string(c, at, v, &s, &len);
    if (rc)
        return rc;
    size_t n = len;
    if (n > 0 && s[n - 1] == '=') {
        if (len % 4 != 0)
            return fail(c, at, "expected base64 data");
        n--;
        if (s[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return fail(c, at, "expected base64 data");
    size_t out_len = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    out->len = 0;
    out->data = NULL;
    if (out_len == 0)
        return 0;
    uint8_t *data = bw_arena_alloc(c->arena, out_len);
    if (data == NULL)
        return out_of_memory(c, at);
    size_t o;
    unsigned spare; /* not checked: proto3 JSON parsers accept any */
    if (bw_base64_decode(s, n, base64_value, data, out_len, &o, &spare) != 0)
        return fail(c, at, "expected base64 data");
    out->len = o;
    out->data = data;
    return 0;
}

/* The well-known types written as a string: s, len (from get_string). */
static int parse_timestamp(parse_ctx_t *c, const path_seg_t *at, const char *s, size_t len,
                           ProtobufCMessage *msg)
{
    Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)msg;
    static const char *const why[] = {
        [BW_TIME_SYNTAX] = "expected RFC 3339 such as \"2024-05-01T12:00:00Z\"",
        [BW_TIME_NO_SUCH_DATE] = "no such date",
        [BW_TIME_NO_SUCH_TIME] = "no such time of day or offset",
        [BW_TIME_RANGE] = "outside 0001-01-01 to 9999-12-31",
    };
    bw_time_parse_result_t res = bw_time_parse_rfc3339(s, len, &ts->seconds, &ts->nanos);
    if (res != BW_TIME_OK)
        return fail(c, at, "invalid timestamp \"%.*s%s\": %s", (int)quote_len(s, len), s,
                    quote_tail(len), why[res]);
    return 0;
}

/* Each dot-separated component needs a character other than '_': one of
 * underscores only has an empty JSON name, and a mask written with it could
 * not be read back (found by fuzz/fuzz_json). */
static bool mask_path_valid(const char *s, size_t len)
{
    bool named = false;
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || (ch == '.' && s[i + 1] != '.' && named);
        if (!ok)
            return false;
        named = ch != '.' && (named || ch != '_');
    }
    return named;
}

/* "a,bC.dE" -> {"a", "b_c.d_e"}; snake_case paths pass through unchanged. */
static int parse_field_mask(parse_ctx_t *c, const path_seg_t *at, const char *s, size_t len,
                            ProtobufCMessage *msg)
{
    Google__Protobuf__FieldMask *mask = (Google__Protobuf__FieldMask *)msg;
    if (len == 0)
        return 0;
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ',';
    char **paths = bw_arena_alloc(c->arena, n * sizeof(*paths));
    if (paths == NULL)
        return out_of_memory(c, at);
    const char *p = s, *end = s + len;
    for (size_t k = 0; k < n; k++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t plen = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);
        if (!mask_path_valid(p, plen))
            return fail(c, at, "invalid field mask path \"%.*s%s\"", (int)quote_len(p, plen), p,
                        quote_tail(plen));
        char *snake = bw_arena_alloc(c->arena, plen * 2 + 1);
        if (snake == NULL)
            return out_of_memory(c, at);
        size_t o = 0;
        for (size_t i = 0; i < plen; i++) {
            if (p[i] >= 'A' && p[i] <= 'Z') {
                snake[o++] = '_';
                snake[o++] = (char)(p[i] - 'A' + 'a');
            } else {
                snake[o++] = p[i];
            }
        }
        snake[o] = '\0';
        paths[k] = snake;
        p += plen + 1;
    }
    mask->n_paths = n;
    mask->paths = paths;
    return 0;
}

static int parse_message(parse_ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *v,
                         const path_seg_t *at, int depth, ProtobufCMessage **out)
{
    bool ts = is_wkt(desc, WKT_TIMESTAMP), fm = !ts && is_wkt(desc, WKT_FIELD_MASK);
    if (!ts && !fm)
        return parse_object(c, desc, v, at, depth, out);
    ProtobufCMessage *msg = new_message(c, desc);
    if (msg == NULL)
        return out_of_memory(c, at);
    const char *s = NULL;
    size_t len = 0;
    int rc = get_string(c, at, v, &s, &len);
    if (rc == 0)
        rc = ts ? parse_timestamp(c, at, s, len, msg) : parse_field_mask(c, at, s, len, msg);
    if (rc)
        return rc;
    *out = msg;
    return 0;
}

/* Converts one value into slot, the storage of a singular field or of one
 * element of a repeated one. depth is the value's own nesting level. */
static int parse_value(parse_ctx_t *c, const ProtobufCFieldDescriptor *f, json_t *v,
                       const path_seg_t *at, int depth, void *slot)
{
    double d;
    int rc;
    const int_kind_t *kind = int_kind_of(f->type);
    if (kind != NULL)
        return parse_integer_into(c, at, v, kind, slot);
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return parse_bool(c, at, v, slot);
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = parse_double(c, at, v, true, &d)) == 0)
            *(float *)slot = (float)d;
        return rc;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = parse_double(c, at, v, false, &d)) == 0)
            *(double *)slot = d;
        return rc;
    case PROTOBUF_C_TYPE_ENUM:
        return parse_enum(c, at, f->descriptor, v, slot);
    case PROTOBUF_C_TYPE_STRING:
        return parse_string(c, at, v, slot);
    case PROTOBUF_C_TYPE_BYTES:
        return parse_bytes(c, at, v, slot);
    case PROTOBUF_C_TYPE_MESSAGE:
        return parse_message(c, f->descriptor, v, at, depth, slot);
    default: /* the integers, above */
        break;
    }
    return fail(c, at, "unsupported field type");
}

static size_t slot_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4; /* 32-bit integers, enums, float */
    }
}

static int parse_repeated(parse_ctx_t *c, const ProtobufCFieldDescriptor *f, json_t *v,
                          const path_seg_t *at, int depth, ProtobufCMessage *msg)
{
    if (!json_is_array(v))
        return fail(c, at, "expected an array");
    if (depth > BW_JSON_MAX_DEPTH)
        return fail(c, at, "nesting deeper than %d levels", BW_JSON_MAX_DEPTH);
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    size_t size = slot_size(f->type);
    char *array = bw_arena_calloc(c->arena, n, size);
    if (array == NULL)
        return out_of_memory(c, at);
    for (size_t i = 0; i < n; i++) {
        path_seg_t seg = {at, NULL, NULL, 0, i};
        int rc = parse_value(c, f, json_array_get(v, i), &seg, depth + 1, array + i * size);
        if (rc)
            return rc;
    }
    *(size_t *)((char *)msg + f->quantifier_offset) = n;
    *(void **)((char *)msg + f->offset) = array;
    return 0;
}

static int parse_field(parse_ctx_t *c, const ProtobufCMessageDescriptor *desc,
                       const ProtobufCFieldDescriptor *f, json_t *v, const path_seg_t *at,
                       int depth, ProtobufCMessage *msg)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return parse_repeated(c, f, v, at, depth, msg);

    char *base = (char *)msg;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t set = *(uint32_t *)(base + f->quantifier_offset);
        if (set != 0 && set != f->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(desc, set);
            char name[NAME_BUF];
            bw_json_name(other != NULL ? other->name : "?", name, sizeof(name));
            return fail(c, at, "oneof already set by field \"%s\"", name);
        }
    }
    int rc = parse_value(c, f, v, at, depth, base + f->offset);
    if (rc)
        return rc;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return 0;
}

static int parse_object(parse_ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *json,
                        const path_seg_t *at, int depth, ProtobufCMessage **out)
{
    if (!json_is_object(json))
        return fail(c, at, "expected an object");
    if (depth > BW_JSON_MAX_DEPTH)
        return fail(c, at, "nesting deeper than %d levels", BW_JSON_MAX_DEPTH);
    ProtobufCMessage *msg = new_message(c, desc);
    if (msg == NULL)
        return out_of_memory(c, at);

    /* Which fields were set, to catch one given by both its JSON and its
     * proto name (jansson already keeps keys unique). */
    uint64_t seen_small[2] = {0, 0};
    uint64_t *seen = seen_small;
    if (desc->n_fields > 128) {
        seen = bw_arena_calloc(c->arena, (desc->n_fields + 63) / 64, sizeof(*seen));
        if (seen == NULL)
            return out_of_memory(c, at);
    }

    for (void *it = json_object_iter(json); it != NULL; it = json_object_iter_next(json, it)) {
        const char *key = json_object_iter_key(it);
        size_t key_len = json_object_iter_key_len(it);
        json_t *value = json_object_iter_value(it);
        const ProtobufCFieldDescriptor *f = NULL;
        if (strlen(key) == key_len)
            f = bw_json_find_field(desc, key);
        path_seg_t seg = {at, f, key, key_len, 0};
        if (f == NULL)
            return fail(c, &seg, "unknown field");
        if (json_is_null(value))
            continue;
        size_t idx = (size_t)(f - desc->fields);
        if (seen[idx / 64] & (UINT64_C(1) << (idx % 64)))
            return fail(c, &seg, "field given twice, by its JSON name and by its proto name");
        seen[idx / 64] |= UINT64_C(1) << (idx % 64);
        int rc = parse_field(c, desc, f, value, &seg, depth + 1, msg);
        if (rc)
            return rc;
    }
    *out = msg;
    return 0;
}

int bw_json_to_pb(bw_arena_t *arena, const ProtobufCMessageDescriptor *desc, json_t *json,
                  int flags, ProtobufCMessage **out, bw_json_error_t *err)
{
    bw_json_error_t scratch;
    if (err == NULL)
        err = &scratch;
    err->field[0] = '\0';
    err->message[0] = '\0';
    if (out != NULL)
        *out = NULL;
    parse_ctx_t c = {arena, NULL, flags, err};
    if (arena == NULL || desc == NULL || out == NULL)
        return fail(&c, NULL, "missing argument");
    if (!json_is_object(json))
        return fail(&c, NULL, "expected a JSON object");
    c.alloc = bw_arena_protobuf_allocator(arena);
    ProtobufCMessage *msg = NULL;
    int rc = parse_object(&c, desc, json, NULL, 1, &msg);
    if (rc)
        return rc;
    *out = msg;
    return 0;
}

/* The arena of the open scope on this thread, or NULL. */
static _Thread_local bw_arena_t *scope_arena;

static void *scoped_malloc(size_t size)
{
    bw_arena_t *a = scope_arena;
    return a != NULL ? bw_arena_alloc(a, size) : malloc(size);
}

/* A value made outside the scope is freed as ever, also inside one. */
static void scoped_free(void *ptr)
{
    bw_arena_t *a = scope_arena;
    if (ptr != NULL && !(a != NULL && bw_arena_owns(a, ptr)))
        free(ptr);
}

void bw_json_use_arenas(void)
{
    json_set_alloc_funcs(scoped_malloc, scoped_free);
}

void bw_json_arena_begin(bw_arena_t *arena)
{
    scope_arena = arena;
}

void bw_json_arena_end(void)
{
    scope_arena = NULL;
}

int bw_json_load(const char *text, size_t len, json_t **out, bw_json_error_t *err)
{
    *out = NULL;
    err->field[0] = '\0';
    err->message[0] = '\0';
    if (text != NULL && bw_json_values_over(text, len, BW_JSON_MAX_VALUES)) {
        parse_ctx_t c = {NULL, NULL, 0, err};
        return fail(&c, NULL, "the JSON text holds more than %d values", BW_JSON_MAX_VALUES);
    }
    json_t *json = bw_json_read_quick(text, len);
    if (json != NULL) {
        *out = json;
        return 0;
    }
    json_error_t jerr;
    json = json_loadb(text != NULL ? text : "", text != NULL ? len : 0,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (json != NULL) {
        *out = json;
        return 0;
    }
    parse_ctx_t c = {NULL, NULL, 0, err};
    switch (json_error_code(&jerr)) {
    case json_error_out_of_memory:
        return out_of_memory(&c, NULL);
    case json_error_duplicate_key: {
        /* jansson ends the text with "near '<key as written>'" when the key
         * is short, and leaves it out otherwise. */
        const char *near = strstr(jerr.text, " near '");
        if (near == NULL)
            return fail(&c, NULL, "duplicate key at line %d, column %d", jerr.line, jerr.column);
        const char *key = near + 7;
        size_t key_len = strlen(key);
        if (key_len > 0 && key[key_len - 1] == '\'')
            key_len--;
        return fail(&c, NULL, "duplicate key %.*s at line %d, column %d", (int)key_len, key,
                    jerr.line, jerr.column);
    }
    case json_error_null_character:
        /* jansson's text names its own flag (JSON_ALLOW_NUL), which a caller
         * cannot set. */
        return fail(&c, NULL, "malformed JSON at line %d, column %d: a string may not hold \\u0000",
                    jerr.line, jerr.column);
    case json_error_null_byte_in_key:
        return fail(&c, NULL,
                    "malformed JSON at line %d, column %d: a member name may not hold \\u0000",
                    jerr.line, jerr.column);
    case json_error_end_of_input_expected:
        /* A NUL byte after the document: jansson says "end of file expected
         * near end of file", as if the text had ended. */
        if (text != NULL && jerr.position > 0 && (size_t)jerr.position <= len &&
            text[jerr.position - 1] == '\0')
            return fail(&c, NULL,
                        "malformed JSON at line %d, column %d: a NUL byte, which JSON text never "
                        "holds",
                        jerr.line, jerr.column);
        /* fall through */
    default:
        return fail(&c, NULL, "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    }
}

int bw_json_parse_pb(bw_arena_t *arena, const ProtobufCMessageDescriptor *desc, const char *text,
                     size_t len, ProtobufCMessage **out, bw_json_error_t *err)
{
    bw_json_error_t scratch;
    if (err == NULL)
        err = &scratch;
    if (out != NULL)
        *out = NULL;
    json_t *json;
    int rc = bw_json_load(text, len, &json, err);
    if (rc)
        return rc;
    rc = bw_json_to_pb(arena, desc, json, 0, out, err);
    json_decref(json);
    return rc;
}

/* ---- protobuf -> JSON ---- */

static json_t *message_to_json(const ProtobufCMessage *msg);

static json_t *double_to_json(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* A proto3 string is UTF-8, but a buggy producer must not turn a reply
 * into a 500: invalid bytes become U+FFFD. */
static json_t *string_to_json(const char *s)
{
    if (s == NULL)
        return json_string("");
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    size_t len = strlen(s);
    char *clean = malloc(len * 3 + 1);
    if (clean == NULL)
        return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = bw_utf8_char_len(p + i, len - i);
        if (n == 0) {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, p + i, n);
            o += n;
            i += n;
        }
    }
    v = json_stringn_nocheck(clean, o);
    free(clean);
    return v;
}

json_t *bw_json_string_lossy(const char *s)
{
    return string_to_json(s);
}

static json_t *bytes_to_json(const ProtobufCBinaryData *b)
{
    if (b->len == 0 || b->data == NULL)
        return json_string("");
    size_t out_len = (b->len + 2) / 3 * 4;
    char stack[256];
    char *buf = out_len <= sizeof(stack) ? stack : malloc(out_len);
    if (buf == NULL)
        return NULL;
    json_t *v = json_stringn_nocheck(buf, bw_base64_encode(b->data, b->len, buf));
    if (buf != stack)
        free(buf);
    return v;
}

/* A Timestamp outside the proto3 range has no RFC 3339 form; it is written
 * as null (absent) rather than failing the whole reply. */
static json_t *timestamp_to_json(const Google__Protobuf__Timestamp *ts)
{
    if (ts->seconds < BW_TIME_MIN_SECONDS || ts->seconds > BW_TIME_MAX_SECONDS || ts->nanos < 0 ||
        ts->nanos > 999999999)
        return json_null();
    char buf[BW_TIME_TEXT_MAX];
    size_t n = bw_time_format(ts->seconds, ts->nanos, BW_TIME_FRACTION_SHORTEST, buf);
    return json_stringn_nocheck(buf, n);
}

static json_t *field_mask_to_json(const Google__Protobuf__FieldMask *mask)
{
    size_t need = 1;
    for (size_t i = 0; i < mask->n_paths; i++)
        need += (mask->paths[i] != NULL ? strlen(mask->paths[i]) : 0) + 1;
    char stack[512];
    char *buf = need <= sizeof(stack) ? stack : malloc(need);
    if (buf == NULL)
        return NULL;
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < mask->n_paths; i++) {
        if (i > 0)
            buf[o++] = ',';
        bw_json_name(mask->paths[i] != NULL ? mask->paths[i] : "", buf + o, need - o);
        o += strlen(buf + o);
    }
    json_t *v = string_to_json(buf);
    if (buf != stack)
        free(buf);
    return v;
}

/* 64-bit integers are JSON strings; printf costs more than the rest of a
 * field's rendering. */
static json_t *decimal_to_json(bool neg, uint64_t mag)
{
    char buf[BW_DECIMAL_MAX];
    const char *p = bw_decimal(buf + sizeof(buf), neg, mag);
    return json_stringn_nocheck(p, (size_t)(buf + sizeof(buf) - p));
}

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *slot)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return decimal_to_json(*(const int64_t *)slot < 0,
                               bw_int64_magnitude(*(const int64_t *)slot));
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return decimal_to_json(false, *(const uint64_t *)slot);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_FLOAT:
        return double_to_json(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
        return double_to_json(*(const double *)slot);
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t value = *(const int32_t *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, value);
        /* Enum value names are ASCII identifiers. */
        return ev != NULL ? json_string_nocheck(ev->name) : json_integer(value);
    }
    case PROTOBUF_C_TYPE_STRING:
        return string_to_json(*(char *const *)slot);
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_to_json(slot);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        return sub != NULL ? message_to_json(sub) : json_null();
    }
    }
    return json_null();
}

/* Repeated fields are always written; see json.h for the rest. */
static bool field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)msg;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + f->quantifier_offset) != f->id)
        return false;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(const void *const *)(base + f->offset) != NULL;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->label != PROTOBUF_C_LABEL_OPTIONAL)
        return true;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const void *ptr = *(const void *const *)(base + f->offset);
        return ptr != NULL && ptr != f->default_value;
    }
    return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

static int set_member(json_t *obj, const char *proto_name, json_t *value)
{
    if (value == NULL)
        return -1;
    char stack[NAME_BUF];
    char *key = stack;
    size_t len = json_name_into(proto_name, stack, sizeof(stack));
    if (len == sizeof(stack) - 1) {
        /* Possibly cut: redo at full size. */
        size_t need = strlen(proto_name) + 1;
        key = malloc(need);
        if (key == NULL) {
            json_decref(value);
            return -1;
        }
        len = json_name_into(proto_name, key, need);
    }
    int rc = json_object_setn_new_nocheck(obj, key, len, value);
    if (key != stack)
        free(key);
    return rc;
}

static json_t *object_to_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        json_t *value;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *array = *(const char *const *)(base + f->offset);
            size_t size = slot_size(f->type);
            value = json_array();
            for (size_t k = 0; value != NULL && k < n; k++) {
                if (json_array_append_new(value, value_to_json(f, array + k * size)) != 0) {
                    json_decref(value);
                    value = NULL;
                }
            }
        } else if (field_present(msg, f)) {
            value = value_to_json(f, base + f->offset);
        } else {
            continue;
        }
        if (set_member(obj, f->name, value) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static json_t *message_to_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (is_wkt(desc, WKT_TIMESTAMP))
        return timestamp_to_json((const Google__Protobuf__Timestamp *)msg);
    if (is_wkt(desc, WKT_FIELD_MASK))
        return field_mask_to_json((const Google__Protobuf__FieldMask *)msg);
    return object_to_json(msg);
}

json_t *bw_pb_to_json(const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    return object_to_json(msg);
}

/* ---- protobuf -> JSON text, written straight into a buffer ----
 *
 * The same document as bw_pb_to_json followed by json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(15)), byte for byte (a test checks it on every
 * message of the suite and the fuzzer on every input), without building
 * a tree: the gateway renders every reply this way. */

typedef struct jw {
    bw_buf_t *b;
    int err;
} jw_t;

static void jw_add(jw_t *w, const char *s, size_t n)
{
    if (w->err == 0)
        w->err = bw_buf_add(w->b, s, n);
}

static void jw_char(jw_t *w, char c)
{
    if (w->err == 0)
        w->err = bw_buf_addc(w->b, c);
}

/* Room for n bytes written in place (then bw_buf_commit), or NULL with the
 * failure in w->err. */
static char *jw_reserve(jw_t *w, size_t n)
{
    if (w->err != 0)
        return NULL;
    char *out = bw_buf_reserve(w->b, n);
    if (out == NULL)
        w->err = bw_buf_reserve_failed(w->b, n);
    return out;
}

/* How many bytes at the start of s (at most len) go into a JSON string as
 * they are: printable ASCII but '"' and '\\'. Eight bytes at a time: a
 * byte's high bit in the mask is set if the byte is below 0x20 (the
 * subtraction borrows), is '"' or '\\' (its XOR is 0 and borrows), or is
 * above 0x7F. A borrow can also mark a byte above a marked one, never
 * below, so the lowest mark is the first byte to stop at. */
static size_t plain_run(const unsigned char *s, size_t len)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u;
    const uint64_t highs = 0x8080808080808080u;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t m =
            (x - ones * 0x20) | ((x ^ (ones * '"')) - ones) | ((x ^ (ones * '\\')) - ones) | x;
        m &= highs;
        if (m != 0)
            return i + (size_t)__builtin_ctzll(m) / 8;
    }
#endif
    while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* A JSON string as jansson dumps it: '"' and '\\' escaped, control
 * characters as \b \f \n \r \t or \u00XX, everything else as it is;
 * invalid UTF-8 becomes U+FFFD (as string_to_json). Runs of bytes kept as
 * they are go in with one copy each. */
static void jw_string(jw_t *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char short_escape[0x80] = {['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
                                            ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't'};
    const unsigned char *p = (const unsigned char *)s;
    jw_char(w, '"');
    size_t start = 0; /* of the bytes copied as they are, pending */
    size_t i = 0;
    for (;;) {
        i += plain_run(p + i, len - i);
        if (i == len)
            break;
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = bw_utf8_char_len(p + i, len - i);
            if (n > 0) {
                i += n;
                continue;
            }
        }
        jw_add(w, s + start, i - start);
        i++;
        start = i;
        if (c >= 0x80) { /* invalid UTF-8 */
            jw_add(w, "\xEF\xBF\xBD", 3);
            continue;
        }
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (short_escape[c] != 0) {
            esc[1] = short_escape[c];
            jw_add(w, esc, 2);
        } else {
            jw_add(w, esc, 6);
        }
    }
    jw_add(w, s + start, len - start);
    jw_char(w, '"');
}

/* Members' keys, '"jsonName":', made at a field's first use and kept for
 * the process's life (a descriptor is static data, so its key never
 * changes): the reply writer copies them instead of measuring and
 * converting each name in each reply. Open addressing by the descriptor's
 * address; a slot, once filled by compare-and-swap, never changes, so
 * readers take no lock. More fields than slots (every message of every
 * service has far fewer) are written as before. */
typedef struct {
    const ProtobufCFieldDescriptor *field;
    size_t len;
    char text[];
} member_key_t;

#define MEMBER_KEYS 4096 /* a power of 2 */
static _Atomic(member_key_t *) member_keys[MEMBER_KEYS];

/* '"jsonName":' of proto_name (n bytes long) into out, which has room for
 * n + 3 bytes and a NUL (the JSON name is never longer); its length.
 * Protobuf field names are identifiers: nothing in them needs escaping. */
static size_t member_key_text(const char *proto_name, size_t n, char *out)
{
    out[0] = '"';
    size_t len = 1 + json_name_into(proto_name, out + 1, n + 1);
    out[len++] = '"';
    out[len++] = ':';
    out[len] = '\0';
    return len;
}

static member_key_t *member_key_make(const ProtobufCFieldDescriptor *f)
{
    size_t n = strlen(f->name);
    member_key_t *k = malloc(sizeof(*k) + n + 4);
    if (k == NULL)
        return NULL;
    k->field = f;
    k->len = member_key_text(f->name, n, k->text);
    return k;
}

/* f's key, or NULL (out of memory, or the table full). */
static const member_key_t *member_key(const ProtobufCFieldDescriptor *f)
{
    size_t i =
        (size_t)(((uintptr_t)f >> 3) * UINT64_C(0x9E3779B97F4A7C15) >> 52) & (MEMBER_KEYS - 1);
    member_key_t *made = NULL;
    for (size_t probe = 0; probe < MEMBER_KEYS; probe++, i = (i + 1) & (MEMBER_KEYS - 1)) {
        member_key_t *k = atomic_load_explicit(&member_keys[i], memory_order_acquire);
        if (k == NULL) {
            if (made == NULL && (made = member_key_make(f)) == NULL)
                return NULL;
            if (atomic_compare_exchange_strong_explicit(&member_keys[i], &k, made,
                                                        memory_order_acq_rel, memory_order_acquire))
                return made;
            /* Another thread filled the slot first: k is its key. */
        }
        if (k->field == f) {
            free(made);
            return k;
        }
    }
    free(made);
    return NULL;
}

/* A member's key and colon, '"jsonName":', kept (member_key) or, when the
 * table cannot keep it, made in place. */
static void jw_key(jw_t *w, const ProtobufCFieldDescriptor *f)
{
    const member_key_t *key = member_key(f);
    if (key != NULL) {
        jw_add(w, key->text, key->len);
        return;
    }
    size_t n = strlen(f->name);
    char *out = jw_reserve(w, n + 4);
    if (out != NULL)
        bw_buf_commit(w->b, member_key_text(f->name, n, out));
}

static void jw_decimal(jw_t *w, bool neg, uint64_t mag, bool quoted)
{
    char buf[BW_DECIMAL_MAX + 2];
    char *end = buf + sizeof(buf) - quoted;
    char *p = bw_decimal(end, neg, mag);
    if (quoted) {
        *--p = '"';
        *end++ = '"';
    }
    jw_add(w, p, (size_t)(end - p));
}

/* jansson's real: %.15g, with ".0" when it would read back as an integer,
 * and the exponent without '+' or leading zeros. */
static void jw_double(jw_t *w, double d)
{
    if (isnan(d)) {
        jw_add(w, "\"NaN\"", 5);
        return;
    }
    if (isinf(d)) {
        if (d > 0)
            jw_add(w, "\"Infinity\"", 10);
        else
            jw_add(w, "\"-Infinity\"", 11);
        return;
    }
    /* Whole numbers (a headcount) below 10^15 by hand: what "%.15g" prints
     * for them, and ".0". -0 keeps its sign through printf. */
    if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
        int64_t v = (int64_t)d;
        jw_decimal(w, v < 0, bw_int64_magnitude(v), false);
        jw_add(w, ".0", 2);
        return;
    }
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "%.15g", d);
    if (n < 0 || (size_t)n >= sizeof(buf) - 3) {
        w->err = BW_EINTERNAL;
        return;
    }
    size_t len = (size_t)n;
    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(buf, 'e');
    if (start != NULL) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    jw_add(w, buf, len);
}

static void jw_message(jw_t *w, const ProtobufCMessage *msg);

static void jw_bytes(jw_t *w, const ProtobufCBinaryData *b)
{
    size_t n = b->data != NULL ? b->len : 0;
    char *out = jw_reserve(w, (n + 2) / 3 * 4 + 2);
    if (out == NULL)
        return;
    out[0] = '"';
    size_t o = 1 + bw_base64_encode(b->data, n, out + 1);
    out[o++] = '"';
    bw_buf_commit(w->b, o);
}

static void jw_json_string(jw_t *w, json_t *v)
{
    if (v == NULL) {
        w->err = BW_ENOMEM;
        return;
    }
    if (json_is_null(v))
        jw_add(w, "null", 4);
    else
        jw_string(w, json_string_value(v), json_string_length(v));
    json_decref(v);
}

/* Writes the integer of kind stored at slot (parse_integer_into's mirror). */
static void jw_integer(jw_t *w, const int_kind_t *kind, const void *slot)
{
    int64_t v;
    if (kind == &kind_int32)
        v = *(const int32_t *)slot;
    else if (kind == &kind_int64)
        v = *(const int64_t *)slot;
    else if (kind == &kind_uint32)
        v = *(const uint32_t *)slot;
    else {
        jw_decimal(w, false, *(const uint64_t *)slot, true);
        return;
    }
    jw_decimal(w, v < 0, bw_int64_magnitude(v), kind->wide);
}

static void jw_value(jw_t *w, const ProtobufCFieldDescriptor *f, const void *slot)
{
    const int_kind_t *kind = int_kind_of(f->type);
    if (kind != NULL) {
        jw_integer(w, kind, slot);
        return;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        if (*(const protobuf_c_boolean *)slot)
            jw_add(w, "true", 4);
        else
            jw_add(w, "false", 5);
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        jw_double(w, *(const float *)slot);
        return;
    case PROTOBUF_C_TYPE_DOUBLE:
        jw_double(w, *(const double *)slot);
        return;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t value = *(const int32_t *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, value);
        if (ev != NULL)
            jw_string(w, ev->name, strlen(ev->name));
        else
            jw_decimal(w, value < 0, bw_int64_magnitude(value), false);
        return;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)slot;
        if (str == NULL)
            str = "";
        jw_string(w, str, strlen(str));
        return;
    }
    case PROTOBUF_C_TYPE_BYTES:
        jw_bytes(w, slot);
        return;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (sub == NULL)
            jw_add(w, "null", 4);
        else
            jw_message(w, sub);
        return;
    }
    default: /* the integers, above */
        break;
    }
    jw_add(w, "null", 4);
}

static void jw_object(jw_t *w, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    int first = 1;
    jw_char(w, '{');
    for (unsigned i = 0; i < desc->n_fields && w->err == 0; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        int repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        if (!repeated && !field_present(msg, f))
            continue;
        if (!first)
            jw_char(w, ',');
        first = 0;
        jw_key(w, f);
        if (!repeated) {
            jw_value(w, f, base + f->offset);
            continue;
        }
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        const char *array = *(const char *const *)(base + f->offset);
        size_t size = slot_size(f->type);
        jw_char(w, '[');
        for (size_t k = 0; k < n; k++) {
            if (k > 0)
                jw_char(w, ',');
            jw_value(w, f, array + k * size);
        }
        jw_char(w, ']');
    }
    jw_char(w, '}');
}

static void jw_message(jw_t *w, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (is_wkt(desc, WKT_TIMESTAMP))
        jw_json_string(w, timestamp_to_json((const Google__Protobuf__Timestamp *)msg));
    else if (is_wkt(desc, WKT_FIELD_MASK))
        jw_json_string(w, field_mask_to_json((const Google__Protobuf__FieldMask *)msg));
    else
        jw_object(w, msg);
}

int bw_pb_write_json(const ProtobufCMessage *msg, bw_buf_t *out)
{
    if (msg == NULL)
        return BW_EINVAL;
    jw_t w = {out, 0};
    size_t start = out->len;
    jw_object(&w, msg);
    if (w.err != 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return w.err;
}
