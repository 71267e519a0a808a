/*
 * Fuzzes the JSON -> protobuf transcoder with request bodies as the gateway
 * receives them, for a few messages with nested messages, enums, 32- and
 * 64-bit integers, timestamps, field masks and repeated fields. Each input is parsed strictly
 * (bw_json_parse_pb, as a body) and leniently (bw_json_to_pb with lenient
 * scalars, as a query string would be). A message that parses is written
 * back with bw_pb_to_json; that output must itself parse (the transcoder
 * reads what it writes) and must survive a protobuf pack and unpack, and
 * bw_pb_write_json must write it byte for byte. The quick reader
 * (jsontext.c) must read every text it accepts to the tree jansson reads,
 * and accept nothing jansson refuses. Read onto an arena (the gateway's
 * scope, bw_json_arena_begin) a text gives the same tree or the same error
 * as on the heap, and nothing of it is freed for real (ASan would say).
 */
#include "arena.h"
#include "json.h"
#include "jsontext.h"

#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "bulwark/tenancy/v1/tenancy.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ProtobufCMessageDescriptor *const messages[] = {
    &bulwark__scoping__v1__entity__descriptor,
    &bulwark__tenancy__v1__create_tenant_request__descriptor,
    &bulwark__scoping__v1__assess_request__descriptor,
    &bulwark__scoping__v1__update_entity_request__descriptor,
    &bulwark__scoping__v1__list_entities_request__descriptor,
};

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_json: %s: %s\n", what, detail);
    abort();
}

static void error_sane(const bw_json_error_t *err)
{
    if (memchr(err->field, '\0', sizeof(err->field)) == NULL ||
        memchr(err->message, '\0', sizeof(err->message)) == NULL || err->message[0] == '\0')
        die("error without a terminated message", "");
}

/* Writes msg back to JSON, reads that again, and packs both ways. */
static void round_trip(bw_arena_t *arena, const ProtobufCMessageDescriptor *desc,
                       const ProtobufCMessage *msg)
{
    json_t *doc = bw_pb_to_json(msg);
    if (doc == NULL)
        die("bw_pb_to_json failed", desc->name);
    char *text = json_dumps(doc, JSON_COMPACT);
    char *precise = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (text == NULL || precise == NULL)
        die("json_dumps failed", desc->name);
    /* The gateway's direct writer writes the same bytes as the tree. */
    bw_buf_t direct;
    bw_buf_init(&direct, 0);
    if (bw_pb_write_json(msg, &direct) != 0 || strcmp(direct.data, precise) != 0) {
        fprintf(stderr, "fuzz_json: tree %s\ndirect %s\n", precise, direct.data);
        die("bw_pb_write_json differs from bw_pb_to_json", desc->name);
    }
    bw_buf_free(&direct);
    free(precise);
    ProtobufCMessage *again = NULL;
    bw_json_error_t err;
    if (bw_json_parse_pb(arena, desc, text, strlen(text), &again, &err) != 0) {
        fprintf(stderr, "fuzz_json: %s at %s: %s\n", text, err.field, err.message);
        die("the transcoder cannot read its own output", desc->name);
    }
    free(text);
    size_t n = protobuf_c_message_get_packed_size(again);
    uint8_t *buf = bw_arena_alloc(arena, n + 1);
    if (buf == NULL)
        die("out of memory", desc->name);
    protobuf_c_message_pack(again, buf);
    ProtobufCMessage *unpacked =
        protobuf_c_message_unpack(desc, bw_arena_protobuf_allocator(arena), n, buf);
    if (unpacked == NULL)
        die("protobuf-c cannot unpack the message", desc->name);
}

/* The quick reader against jansson: the same tree, keys in the same
 * order, reals to the last bit, or NULL. */
static void same_as_jansson(const char *text, size_t size)
{
    json_t *quick = bw_json_read_quick(text, size);
    if (quick == NULL)
        return;
    json_t *ref = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (ref == NULL)
        die("the quick reader accepts what jansson refuses", "");
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    char *a = json_dumps(quick, flags), *b = json_dumps(ref, flags);
    if (a == NULL || b == NULL || strcmp(a, b) != 0 || !json_equal(quick, ref)) {
        fprintf(stderr, "fuzz_json: quick %s\njansson %s\n", a ? a : "?", b ? b : "?");
        die("the quick reader's tree differs from jansson's", "");
    }
    free(a);
    free(b);
    json_decref(quick);
    json_decref(ref);
}

/* The text read on the heap and onto an arena, as the gateway reads a
 * body: the same tree, or the same error. */
static void same_on_an_arena(const char *text, size_t size)
{
    static int installed;
    if (!installed) {
        bw_json_use_arenas();
        installed = 1;
    }
    json_t *heap = NULL, *scoped = NULL;
    bw_json_error_t heap_err, scoped_err;
    int heap_rc = bw_json_load(text, size, &heap, &heap_err);
    bw_arena_t *arena = bw_arena_create(256);
    if (arena == NULL) {
        json_decref(heap);
        return;
    }
    bw_json_arena_begin(arena);
    int scoped_rc = bw_json_load(text, size, &scoped, &scoped_err);
    int same =
        heap_rc == scoped_rc && (heap_rc != 0 ? strcmp(heap_err.message, scoped_err.message) == 0
                                              : json_equal(heap, scoped));
    json_decref(scoped);
    bw_json_arena_end();
    json_decref(heap);
    bw_arena_destroy(arena);
    if (!same)
        die("a text read onto an arena differs from the heap's", "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    same_as_jansson((const char *)data, size);
    same_on_an_arena((const char *)data, size);
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
        bw_arena_t *arena = bw_arena_create(4096);
        if (arena == NULL)
            return 0;
        ProtobufCMessage *msg = NULL;
        bw_json_error_t err;
        int rc = bw_json_parse_pb(arena, messages[i], (const char *)data, size, &msg, &err);
        if (rc == 0)
            round_trip(arena, messages[i], msg);
        else
            error_sane(&err);

        json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(doc)) {
            rc = bw_json_to_pb(arena, messages[i], doc, BW_JSON_LENIENT_SCALARS, &msg, &err);
            if (rc == 0)
                round_trip(arena, messages[i], msg);
            else
                error_sane(&err);
        }
        json_decref(doc);
        bw_arena_destroy(arena);
    }
    return 0;
}
