/*
 * The model bw_codegen builds from a descriptor set, shared by its loader
 * (model.c), its naming helpers (names.c) and its two writers
 * (emit_routes.c, emit_openapi.c). The loader indexes every message and enum
 * of the set, reads the (bulwark.api.v1.http) option of every method and
 * validates each binding, so that the writers only format facts that are
 * already known to be consistent.
 */
#ifndef BW_CODEGEN_H
#define BW_CODEGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bulwark/api/v1/http.pb-c.h"
#include "roles.h"
#include "status.h"
#include "google/protobuf/descriptor.pb-c.h"

/* SourceCodeInfo path of the most deeply nested element we look up: a field
 * of a message nested BW_CG_MAX_NESTING levels deep. */
#define BW_CG_MAX_NESTING 12
#define BW_CG_MAX_PATH (2 * BW_CG_MAX_NESTING + 4)

typedef Google__Protobuf__FileDescriptorProto bw_cg_file_proto_t;
typedef Google__Protobuf__DescriptorProto bw_cg_msg_proto_t;
typedef Google__Protobuf__EnumDescriptorProto bw_cg_enum_proto_t;
typedef Google__Protobuf__FieldDescriptorProto bw_cg_field_proto_t;

/* A message or an enum of the set, under its full name. */
typedef struct bw_cg_type {
    char *full_name;                /* "bulwark.scoping.v1.Entity", caller owns (model) */
    const bw_cg_msg_proto_t *msg;   /* borrowed from the set; NULL for an enum */
    const bw_cg_enum_proto_t *enm;  /* borrowed from the set; NULL for a message */
    const bw_cg_file_proto_t *file; /* borrowed: the file declaring it */
    int32_t path[BW_CG_MAX_PATH];   /* SourceCodeInfo path of the declaration */
    size_t n_path;
    int in_schemas; /* set by the OpenAPI writer: has a component */
} bw_cg_type_t;

enum bw_cg_verb { BW_CG_GET, BW_CG_POST, BW_CG_PUT, BW_CG_PATCH, BW_CG_DELETE, BW_CG_N_VERBS };

/* BW_CG_SERVICE: a raw route, authenticated by its service (HttpRule.raw). */
enum bw_cg_access { BW_CG_TENANT, BW_CG_OPERATOR, BW_CG_PUBLIC, BW_CG_SERVICE };

/* Names of a verb: "GET", "BW_HTTP_GET", "get" (the OpenAPI operation key). */
const char *bw_cg_verb_name(int verb);
const char *bw_cg_verb_symbol(int verb);
const char *bw_cg_verb_key(int verb);

/* One path segment of a template: literal set, or field set, with verb set
 * when a custom method follows the variable in the same segment
 * ("{id}:rotate-secret": field "id", verb "rotate-secret"). All point into
 * the route's own copy of the template. */
typedef struct bw_cg_seg {
    const char *literal;
    const char *field;
    const char *verb;
} bw_cg_seg_t;

/* One RPC with an HTTP binding. Strings are borrowed from the set or the
 * rule unless marked as owned. */
typedef struct bw_cg_route {
    int verb;             /* BW_CG_* */
    const char *template; /* "/v1/entities/{id}", borrowed from rule */
    char *seg_text;       /* owned: template split in place */
    bw_cg_seg_t *segs;    /* owned */
    size_t n_segs;
    char *backend;                /* owned: "scoping" */
    char *rpc;                    /* owned: "/bulwark.scoping.v1.ScopingService/GetEntity" */
    const char *method_name;      /* "GetEntity" */
    const bw_cg_type_t *request;  /* borrowed from the model */
    const bw_cg_type_t *response; /* borrowed from the model */
    const char *body;             /* NULL, "*" or a field name */
    const bw_cg_field_proto_t *body_field; /* the field named by body, else NULL */
    int success_status;
    int if_match;        /* takes If-Match: PATCH, PUT, DELETE, or a POST whose rule says so */
    unsigned roles;      /* bit i is bw_roles[i] (services/gateway/roles.h) */
    int access;          /* BW_CG_TENANT, ... */
    const char *summary; /* "" when the option has none */
    char *description;   /* owned: the method's leading comment, or NULL */
    int deprecated;
    const bw_cg_file_proto_t *file; /* declaring the service */
    const char *service_name;
    char *service_description;        /* owned: the service's leading comment, or NULL */
    Bulwark__Api__V1__HttpRule *rule; /* owned (protobuf-c heap) */
    const bw_cg_type_t *list_item;    /* a list route's resource (rule->list set), borrowed */
    int is_file;                      /* the RPC returns bulwark.api.v1.HttpBody */
    char *file_rpc;                   /* owned: the rule's file_rpc as a gRPC path, or NULL */
    const bw_cg_type_t *file_request; /* borrowed: file_rpc's request type */
    const char *raw_body_field;       /* the rule's raw_body.field, or NULL */
} bw_cg_route_t;

typedef struct bw_cg_model {
    Google__Protobuf__FileDescriptorSet *set; /* owned (protobuf-c heap) */
    bw_cg_type_t *types;                      /* owned */
    size_t n_types;
    bw_cg_route_t *routes; /* owned, in declaration order */
    size_t n_routes;
} bw_cg_model_t;

/* model.c */

/* Unpacks the serialized FileDescriptorSet (borrowed bytes), indexes it and
 * validates every binding. Every problem found is reported on stderr; then
 * BW_EINVAL. BW_ENOMEM. On failure model is left empty. */
int bw_cg_model_load(bw_cg_model_t *model, const uint8_t *bytes, size_t len);
/* Frees everything the model owns. Accepts NULL and an empty model. */
void bw_cg_model_free(bw_cg_model_t *model);
/* The type named by a FieldDescriptorProto.type_name (with or without the
 * leading dot), borrowed; NULL when the set has no such type. */
const bw_cg_type_t *bw_cg_model_find(const bw_cg_model_t *model, const char *name);
/* Table order of two routes: by verb, then more specific templates first
 * (a literal segment before a variable at the same position). */
int bw_cg_route_cmp(const bw_cg_route_t *a, const bw_cg_route_t *b);
/* Leading comment of the element at path in file, tidied (caller owns), or
 * NULL when there is none; *oom is set when allocation failed. */
char *bw_cg_comment(const bw_cg_file_proto_t *file, const int32_t *path, size_t n_path, int *oom);

/* names.c */

/* Default proto3 JSON name of a field name (protoc's ToJsonName): caller
 * owns, NULL on OOM. */
char *bw_cg_json_name(const char *proto_name);
/* protobuf-c's C symbol of the descriptor of a full type name, e.g.
 * "bulwark__scoping__v1__get_entity_request__descriptor": caller owns, NULL
 * on OOM. */
char *bw_cg_c_descriptor(const char *full_name);
/* protobuf-c's header of a .proto file name: caller owns, NULL on OOM. */
char *bw_cg_c_header(const char *proto_file);
/* Writes s as the body of a C string literal (no quotes): escapes quotes,
 * backslashes, '?' (trigraphs), control characters and non-ASCII bytes. */
void bw_cg_put_c_string(FILE *out, const char *s, size_t len);
/* Tidies a raw protoc comment: drops the one space after "//", trailing
 * blanks and blank lines at either end. Caller owns, NULL on OOM. */
char *bw_cg_tidy_comment(const char *raw);
/* A malloc'd copy of printf output, NULL on OOM. */
char *bw_cg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* main.c */

/* "bw_codegen: error: <message>" on stderr. */
void bw_cg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Errors reported so far. */
int bw_cg_error_count(void);
/* "bw_codegen: detail: <sentence>" and "bw_codegen: hint: <sentence>". */
void bw_cg_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bw_cg_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A file written under a temporary name and renamed into place on commit, so
 * that a failed run never leaves a half-written output behind. */
typedef struct bw_cg_output {
    FILE *fp;
    char *path;     /* owned */
    char *tmp_path; /* owned */
} bw_cg_output_t;

/* Opens out_dir/name for writing. 0, BW_EUNAVAIL (the file system refused)
 * or BW_ENOMEM, reported. */
int bw_cg_output_open(bw_cg_output_t *out, const char *out_dir, const char *name);
/* Flushes, closes and renames into place. 0 or BW_EUNAVAIL (reported). The
 * output is closed either way. */
int bw_cg_output_commit(bw_cg_output_t *out);
/* Closes and removes an uncommitted output. Accepts a closed one. */
void bw_cg_output_abort(bw_cg_output_t *out);

/* emit_routes.c: writes out_dir/routes.c. 0, BW_EUNAVAIL, BW_ENOMEM. */
int bw_cg_write_routes(const bw_cg_model_t *model, const char *out_dir);

/* emit_openapi.c: writes out_dir/openapi.json and out_dir/openapi.c. The
 * model's in_schemas marks are updated. 0, BW_EUNAVAIL, BW_ENOMEM. */
int bw_cg_write_openapi(bw_cg_model_t *model, const char *out_dir);

#endif
