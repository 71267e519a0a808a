/*
 * JSON <-> protobuf-c messages, driven by the message descriptors, per the
 * proto3 JSON mapping:
 *   - field names are lowerCamelCase, derived from the proto field name (the
 *     contracts never set json_name; tools/codegen refuses one);
 *   - enums are their value names; unknown names are an error;
 *   - 64-bit integers are written as strings and read from strings or
 *     numbers; 32-bit integers read from numbers or numeric strings;
 *   - google.protobuf.Timestamp is an RFC 3339 string (any offset accepted,
 *     "Z" written, fractional seconds up to nanoseconds);
 *   - google.protobuf.FieldMask is a comma-separated list of lowerCamel paths;
 *   - google.protobuf.Empty is {}.
 * Output writes every scalar, enum and repeated field, defaults included (a
 * stable shape for front-ends), and omits unset message fields.
 * Input rejects unknown fields, wrong types, nesting deeper than
 * BW_JSON_MAX_DEPTH and strings longer than BW_JSON_MAX_STRING, naming the
 * field by its JSON path ("activities[1].entityType").
 */
#ifndef BW_JSON_H
#define BW_JSON_H

#include <jansson.h>

#include "buf.h"
#include <protobuf-c/protobuf-c.h>

#include "arena.h"

#define BW_JSON_MAX_DEPTH 32
#define BW_JSON_MAX_STRING (64 * 1024)
/* The most values (and members) a JSON text read by bw_json_load may hold. */
#define BW_JSON_MAX_VALUES 100000

typedef struct bw_json_error {
    char field[256];   /* JSON path of the offending field, "" for the document */
    char message[256]; /* "expected a string", "unknown field", ... */
} bw_json_error_t;

enum {
    /* Query-string values: accept "true"/"false" for booleans and numeric
     * strings for every number type. */
    BW_JSON_LENIENT_SCALARS = 1 << 0,
    /* Strings as long as the caller's input allows, not BW_JSON_MAX_STRING:
     * for a message that carries a file (the gateway's body limit bounds
     * it). */
    BW_JSON_FILE_STRINGS = 1 << 1,
};

/* Converts a JSON object into a new message of type desc allocated on arena
 * (borrowed json). 0, or BW_EINVAL with err filled; BW_ENOMEM. */
int bw_json_to_pb(bw_arena_t *arena, const ProtobufCMessageDescriptor *desc, json_t *json,
                  int flags, ProtobufCMessage **out, bw_json_error_t *err);
/* jansson's memory on an arena. bw_json_use_arenas installs the allocator
 * (once, before the process starts threads); then, on the calling thread,
 * every value jansson makes between bw_json_arena_begin(arena) and
 * bw_json_arena_end is carved from arena, and releasing it (json_decref)
 * costs nothing, so a request's tree is built and dropped without a malloc
 * or free per value. Outside such a scope, and on other threads, jansson
 * uses malloc and free as before. Whatever jansson makes in a scope dies
 * with the arena: it must not outlive the arena nor be given to free()
 * (no json_dumps in a scope). A scope does not nest. */
void bw_json_use_arenas(void);
void bw_json_arena_begin(bw_arena_t *arena);
void bw_json_arena_end(void);
/* Parses text (any JSON value, duplicate keys refused, at most
 * BW_JSON_MAX_VALUES values) into *out (caller owns the reference): 0;
 * BW_EINVAL with err's message giving line and column (field ""), or saying
 * the text holds too many values; BW_ENOMEM. */
int bw_json_load(const char *text, size_t len, json_t **out, bw_json_error_t *err);
/* Parses text and converts it; malformed JSON is BW_EINVAL with field "" and
 * a message giving line and column. */
int bw_json_parse_pb(bw_arena_t *arena, const ProtobufCMessageDescriptor *desc, const char *text,
                     size_t len, ProtobufCMessage **out, bw_json_error_t *err);
/* A new JSON object for msg (caller owns the reference), NULL on OOM. */
json_t *bw_pb_to_json(const ProtobufCMessage *msg);
/* A JSON string of s (a C string) in which each byte that is not part of
 * valid UTF-8 becomes U+FFFD, for text that quotes client input (caller
 * owns the reference); NULL on OOM. */
json_t *bw_json_string_lossy(const char *s);
/* Appends to out the JSON text of msg: exactly json_dumps(bw_pb_to_json(msg),
 * JSON_COMPACT | JSON_REAL_PRECISION(15)), without building the tree. 0, or
 * BW_ENOMEM / BW_ETOOBIG (out as it was). */
int bw_pb_write_json(const ProtobufCMessage *msg, bw_buf_t *out);
/* lowerCamelCase JSON name of a proto field name, written into buf. */
void bw_json_name(const char *proto_name, char *buf, size_t buflen);
/* Field of desc whose JSON name (or proto name) is name, or NULL. */
const ProtobufCFieldDescriptor *bw_json_find_field(const ProtobufCMessageDescriptor *desc,
                                                   const char *name);

#endif
