/*
 * Writes the OpenAPI 3.1 document of the bound RPCs, as openapi.json and as
 * the C string bw_openapi_json in openapi.c (served at GET /v1/openapi.json).
 * Schemas follow the proto3 JSON mapping the gateway's transcoder applies:
 * lowerCamelCase names, enums as value names, 64-bit integers as strings,
 * Timestamp as an RFC 3339 string, FieldMask as a string, Empty as {}.
 * Components hold one schema per message reachable from a request body or a
 * reply, named by its full proto name. Everything is emitted in a fixed
 * order (paths in declaration order, schemas by name) so that the same
 * contracts give the same bytes.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codegen.h"

#define WKT_EMPTY "google.protobuf.Empty"
#define WKT_TIMESTAMP "google.protobuf.Timestamp"
#define WKT_FIELD_MASK "google.protobuf.FieldMask"
#define SCHEMA_REF "#/components/schemas/"
#define PROBLEM "Problem"
#define EXAMPLE_MARK "Example:"

/* The document under construction; rc keeps the first failure so that
 * building code need not check every jansson call. */
typedef struct doc {
    bw_cg_model_t *model;
    int rc;
} doc_t;

static void fail(doc_t *doc, int rc)
{
    if (!doc->rc)
        doc->rc = rc;
}

static json_t *new_object(doc_t *doc)
{
    json_t *v = json_object();
    if (!v)
        fail(doc, BW_ENOMEM);
    return v;
}

static json_t *new_array(doc_t *doc)
{
    json_t *v = json_array();
    if (!v)
        fail(doc, BW_ENOMEM);
    return v;
}

/* jansson refuses invalid UTF-8; say so rather than blame memory. */
static json_t *new_string(doc_t *doc, const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    v = json_string_nocheck(s);
    if (v) {
        json_decref(v);
        bw_cg_error("text is not valid UTF-8: \"%.60s\"", s);
        fail(doc, BW_EINVAL);
    } else {
        fail(doc, BW_ENOMEM);
    }
    return NULL;
}

/* Whether value and the object or array it goes into were both made; a
 * NULL one is an earlier failure: value (consumed) is dropped and the
 * failure recorded. */
static bool made(doc_t *doc, json_t *container, json_t *value)
{
    if (value && container)
        return true;
    json_decref(value);
    fail(doc, BW_ENOMEM);
    return false;
}

/* Sets key of obj to value (consumed). A NULL value or object means an
 * earlier failure, already recorded. */
static void set(doc_t *doc, json_t *obj, const char *key, json_t *value)
{
    if (made(doc, obj, value) && json_object_set_new(obj, key, value))
        fail(doc, BW_ENOMEM);
}

static void set_string(doc_t *doc, json_t *obj, const char *key, const char *value)
{
    set(doc, obj, key, new_string(doc, value));
}

/* set_string of text made on the heap, which it frees; NULL (the text
 * could not be made) is out of memory. */
static void set_made_string(doc_t *doc, json_t *obj, const char *key, char *made)
{
    if (!made)
        fail(doc, BW_ENOMEM);
    else
        set_string(doc, obj, key, made);
    free(made);
}

static void append(doc_t *doc, json_t *array, json_t *value)
{
    if (made(doc, array, value) && json_array_append_new(array, value))
        fail(doc, BW_ENOMEM);
}

static json_t *typed(doc_t *doc, const char *type, const char *format)
{
    json_t *schema = new_object(doc);
    set_string(doc, schema, "type", type);
    if (format)
        set_string(doc, schema, "format", format);
    return schema;
}

static json_t *schema_ref(doc_t *doc, const char *name)
{
    json_t *schema = new_object(doc);
    char *ref = bw_cg_printf(SCHEMA_REF "%s", name);
    if (!ref) {
        fail(doc, BW_ENOMEM);
        json_decref(schema);
        return NULL;
    }
    set_string(doc, schema, "$ref", ref);
    free(ref);
    return schema;
}

static int is_repeated(const bw_cg_field_proto_t *field)
{
    return field->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
}

static int is_message_field(const bw_cg_field_proto_t *field)
{
    return field->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
           field->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP;
}

static int is_map_entry(const bw_cg_type_t *type)
{
    return type->msg && type->msg->options && type->msg->options->map_entry;
}

/* Well-known types the transcoder writes as plain JSON values: no component. */
static int is_inline_wkt(const bw_cg_type_t *type)
{
    return strcmp(type->full_name, WKT_TIMESTAMP) == 0 ||
           strcmp(type->full_name, WKT_FIELD_MASK) == 0 || strcmp(type->full_name, WKT_EMPTY) == 0;
}

static const bw_cg_type_t *field_type(doc_t *doc, const bw_cg_field_proto_t *field)
{
    const bw_cg_type_t *type = bw_cg_model_find(doc->model, field->type_name);
    if (!type) {
        bw_cg_error("type \"%s\" of field \"%s\" is missing from the descriptor set",
                    field->type_name ? field->type_name : "", field->name);
        fail(doc, BW_EINVAL);
    }
    return type;
}

static const bw_cg_field_proto_t *map_value(const bw_cg_type_t *entry)
{
    for (size_t i = 0; i < entry->msg->n_field; i++)
        if (entry->msg->field[i]->number == 2)
            return entry->msg->field[i];
    return NULL;
}

/* Marks type and every message its fields reach as needing a component. */
static void mark(doc_t *doc, const bw_cg_type_t *type)
{
    if (!type->msg || type->in_schemas || is_inline_wkt(type))
        return;
    if (!is_map_entry(type))
        doc->model->types[type - doc->model->types].in_schemas = 1;
    for (size_t i = 0; i < type->msg->n_field && !doc->rc; i++) {
        const bw_cg_field_proto_t *field = type->msg->field[i];
        if (!is_message_field(field))
            continue;
        const bw_cg_type_t *child = field_type(doc, field);
        if (child)
            mark(doc, child);
    }
}

/* A message value: inline for the well-known types, else a reference to
 * its component. */
static json_t *message_value_schema(doc_t *doc, const bw_cg_type_t *type)
{
    if (strcmp(type->full_name, WKT_TIMESTAMP) == 0)
        return typed(doc, "string", "date-time");
    if (strcmp(type->full_name, WKT_FIELD_MASK) == 0)
        return typed(doc, "string", NULL);
    if (strcmp(type->full_name, WKT_EMPTY) == 0)
        return typed(doc, "object", NULL);
    return schema_ref(doc, type->full_name);
}

static json_t *enum_schema(doc_t *doc, const bw_cg_field_proto_t *field)
{
    const bw_cg_type_t *type = field_type(doc, field);
    if (!type || !type->enm) {
        fail(doc, BW_EINVAL);
        return NULL;
    }
    json_t *schema = typed(doc, "string", NULL);
    json_t *values = new_array(doc);
    for (size_t i = 0; i < type->enm->n_value; i++)
        append(doc, values, new_string(doc, type->enm->value[i]->name));
    set(doc, schema, "enum", values);
    return schema;
}

#define TYPE(name) GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_##name

/* The JSON type and format of each scalar field type: proto3 JSON writes
 * 64-bit integers as strings; an unsigned 32-bit integer gets its bounds
 * and bytes their encoding besides (single_schema). */
static const struct scalar_schema {
    const char *type, *format;
} scalar_schemas[] = {
    [TYPE(DOUBLE)] = {"number", "double"},  [TYPE(FLOAT)] = {"number", "float"},
    [TYPE(INT64)] = {"string", "int64"},    [TYPE(SINT64)] = {"string", "int64"},
    [TYPE(SFIXED64)] = {"string", "int64"}, [TYPE(UINT64)] = {"string", "uint64"},
    [TYPE(FIXED64)] = {"string", "uint64"}, [TYPE(INT32)] = {"integer", "int32"},
    [TYPE(SINT32)] = {"integer", "int32"},  [TYPE(SFIXED32)] = {"integer", "int32"},
    [TYPE(UINT32)] = {"integer", NULL},     [TYPE(FIXED32)] = {"integer", NULL},
    [TYPE(BOOL)] = {"boolean", NULL},       [TYPE(STRING)] = {"string", NULL},
    [TYPE(BYTES)] = {"string", NULL},
};

/* The schema of one value of the field, repetition aside. */
static json_t *single_schema(doc_t *doc, const bw_cg_field_proto_t *field)
{
    if (!is_message_field(field) &&
        field->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM &&
        (field->type < GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE ||
         field->type > GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64)) {
        bw_cg_error("field \"%s\" has unknown type %d", field->name, (int)field->type);
        fail(doc, BW_EINVAL);
        return NULL;
    }
    if (field->type == TYPE(ENUM))
        return enum_schema(doc, field);
    if (!is_message_field(field)) {
        json_t *schema =
            typed(doc, scalar_schemas[field->type].type, scalar_schemas[field->type].format);
        if (field->type == TYPE(UINT32) || field->type == TYPE(FIXED32)) {
            set(doc, schema, "minimum", json_integer(0));
            set(doc, schema, "maximum", json_integer(4294967295LL));
        } else if (field->type == TYPE(BYTES)) {
            set_string(doc, schema, "contentEncoding", "base64");
        }
        return schema;
    }
    const bw_cg_type_t *type = field_type(doc, field);
    if (!type || !type->msg) {
        fail(doc, BW_EINVAL);
        return NULL;
    }
    return message_value_schema(doc, type);
}

/* The schema of the field's JSON value: a map is an object keyed by the map
 * key, a repeated field an array. */
static json_t *value_schema(doc_t *doc, const bw_cg_field_proto_t *field)
{
    if (is_message_field(field) && is_repeated(field)) {
        const bw_cg_type_t *type = field_type(doc, field);
        if (type && is_map_entry(type)) {
            const bw_cg_field_proto_t *value = map_value(type);
            if (!value) {
                bw_cg_error("map entry %s has no value field", type->full_name);
                fail(doc, BW_EINVAL);
                return NULL;
            }
            json_t *schema = typed(doc, "object", NULL);
            set(doc, schema, "additionalProperties", value_schema(doc, value));
            return schema;
        }
    }
    if (!is_repeated(field))
        return single_schema(doc, field);
    json_t *schema = typed(doc, "array", NULL);
    set(doc, schema, "items", single_schema(doc, field));
    return schema;
}

static json_t *message_schema(doc_t *doc, const bw_cg_type_t *type)
{
    json_t *schema = typed(doc, "object", NULL);
    int oom = 0;
    char *description = bw_cg_comment(type->file, type->path, type->n_path, &oom);
    if (oom)
        fail(doc, BW_ENOMEM);
    if (description)
        set_string(doc, schema, "description", description);
    free(description);
    if (type->msg->options && type->msg->options->deprecated)
        set(doc, schema, "deprecated", json_true());

    json_t *properties = new_object(doc);
    int32_t path[BW_CG_MAX_PATH];
    memcpy(path, type->path, type->n_path * sizeof *path);
    path[type->n_path] = 2; /* DescriptorProto.field */
    for (size_t i = 0; i < type->msg->n_field && !doc->rc; i++) {
        const bw_cg_field_proto_t *field = type->msg->field[i];
        json_t *property = value_schema(doc, field);
        path[type->n_path + 1] = (int32_t)i;
        description = bw_cg_comment(type->file, path, type->n_path + 2, &oom);
        if (oom)
            fail(doc, BW_ENOMEM);
        if (description)
            set_string(doc, property, "description", description);
        free(description);
        if (field->options && field->options->deprecated)
            set(doc, property, "deprecated", json_true());
        char *name = bw_cg_json_name(field->name);
        if (!name) {
            json_decref(property);
            fail(doc, BW_ENOMEM);
            break;
        }
        set(doc, properties, name, property);
        free(name);
    }
    set(doc, schema, "properties", properties);
    return schema;
}

static json_t *problem_schema(doc_t *doc)
{
    static const struct {
        const char *name, *type, *format, *description;
    } members[] = {
        {"type", "string", "uri-reference", "URI reference identifying the problem type."},
        {"title", "string", NULL, "Short summary of the problem type: the HTTP reason phrase."},
        {"status", "integer", "int32", "HTTP status code of this occurrence."},
        {"detail", "string", NULL, "Explanation specific to this occurrence."},
        {"instance", "string", "uri-reference", "The request path of this occurrence."},
        {"code", "string", NULL, "gRPC status name, e.g. NOT_FOUND."},
        {"reason", "string", NULL, "Stable UPPER_SNAKE reason, e.g. ETAG_MISMATCH."},
        {"requestId", "string", NULL, "The request id (X-Request-Id) that finds it in the logs."},
    };
    json_t *schema = typed(doc, "object", NULL);
    set_string(doc, schema, "description", "RFC 9457 problem details.");
    json_t *properties = new_object(doc);
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        json_t *member = typed(doc, members[i].type, members[i].format);
        set_string(doc, member, "description", members[i].description);
        set(doc, properties, members[i].name, member);
    }
    json_t *violation = typed(doc, "object", NULL);
    json_t *violation_properties = new_object(doc);
    json_t *field = typed(doc, "string", NULL);
    set_string(doc, field, "description",
               "JSON path of the offending field, e.g. activities[1].entityType.");
    set(doc, violation_properties, "field", field);
    set(doc, violation_properties, "message", typed(doc, "string", NULL));
    set(doc, violation, "properties", violation_properties);
    json_t *errors = typed(doc, "array", NULL);
    set_string(doc, errors, "description", "One entry per invalid field.");
    set(doc, errors, "items", violation);
    set(doc, properties, "errors", errors);
    set(doc, schema, "properties", properties);
    json_t *required = new_array(doc);
    static const char *const always[] = {"type", "title", "status", "code", "reason"};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        append(doc, required, new_string(doc, always[i]));
    set(doc, schema, "required", required);
    return schema;
}

static int cmp_type_ptr(const void *a, const void *b)
{
    return strcmp((*(const bw_cg_type_t *const *)a)->full_name,
                  (*(const bw_cg_type_t *const *)b)->full_name);
}

/* Roots of the schema graph: bodies and replies of the bound RPCs. */
static void mark_roots(doc_t *doc)
{
    for (size_t i = 0; i < doc->model->n_routes && !doc->rc; i++) {
        const bw_cg_route_t *route = &doc->model->routes[i];
        /* A file's reply is its bytes, not the HttpBody message. */
        if (!route->is_file)
            mark(doc, route->response);
        if (route->body_field) {
            const bw_cg_type_t *type = field_type(doc, route->body_field);
            if (type)
                mark(doc, type);
        } else if (route->body) {
            mark(doc, route->request);
        }
    }
}

static json_t *schemas(doc_t *doc)
{
    json_t *out = new_object(doc);
    mark_roots(doc);
    size_t n = 0;
    for (size_t i = 0; i < doc->model->n_types; i++)
        n += doc->model->types[i].in_schemas;
    const bw_cg_type_t **sorted = malloc((n + 1) * sizeof *sorted);
    if (!sorted) {
        fail(doc, BW_ENOMEM);
        return out;
    }
    n = 0;
    for (size_t i = 0; i < doc->model->n_types; i++)
        if (doc->model->types[i].in_schemas)
            sorted[n++] = &doc->model->types[i];
    qsort(sorted, n, sizeof *sorted, cmp_type_ptr);
    for (size_t i = 0; i < n && !doc->rc; i++) {
        if (strcmp(sorted[i]->full_name, PROBLEM) == 0) {
            bw_cg_error("message \"%s\" would shadow the error schema of the same name", PROBLEM);
            bw_cg_hint("Declare the message in a package.");
            fail(doc, BW_EINVAL);
            break;
        }
        set(doc, out, sorted[i]->full_name, message_schema(doc, sorted[i]));
    }
    free(sorted);
    set(doc, out, PROBLEM, problem_schema(doc));
    return out;
}

static json_t *parameter(doc_t *doc, const char *name, const char *in, int required,
                         const char *description, json_t *schema)
{
    json_t *param = new_object(doc);
    set_string(doc, param, "name", name);
    set_string(doc, param, "in", in);
    if (description)
        set_string(doc, param, "description", description);
    if (required)
        set(doc, param, "required", json_true());
    set(doc, param, "schema", schema);
    return param;
}

static json_t *ref_object(doc_t *doc, const char *ref)
{
    json_t *obj = new_object(doc);
    set_string(doc, obj, "$ref", ref);
    return obj;
}

static int bound_to_path(const bw_cg_route_t *route, const char *name)
{
    for (size_t i = 0; i < route->n_segs; i++)
        if (route->segs[i].field && strcmp(route->segs[i].field, name) == 0)
            return 1;
    return 0;
}

static const bw_cg_field_proto_t *request_field(const bw_cg_type_t *req, const char *name,
                                                size_t *index)
{
    for (size_t i = 0; i < req->msg->n_field; i++) {
        if (strcmp(req->msg->field[i]->name, name) == 0) {
            *index = i;
            return req->msg->field[i];
        }
    }
    return NULL;
}

/* "createTime", "createTime desc", ... for the orderBy of a list route. */
static json_t *order_by_schema(doc_t *doc, const Bulwark__Api__V1__ListRule *list)
{
    json_t *schema = typed(doc, "string", NULL);
    json_t *values = new_array(doc);
    for (size_t i = 0; i < list->n_order_by; i++) {
        char *desc = bw_cg_printf("%s desc", list->order_by[i]);
        if (!desc)
            fail(doc, BW_ENOMEM);
        append(doc, values, new_string(doc, list->order_by[i]));
        if (desc)
            append(doc, values, new_string(doc, desc));
        free(desc);
    }
    set(doc, schema, "enum", values);
    return schema;
}

/* The field of the listed resource whose JSON name is name. */
static const bw_cg_field_proto_t *item_field(doc_t *doc, const bw_cg_type_t *item, const char *name)
{
    for (size_t i = 0; i < item->msg->n_field; i++) {
        char *json = bw_cg_json_name(item->msg->field[i]->name);
        if (!json) {
            fail(doc, BW_ENOMEM);
            return NULL;
        }
        int same = strcmp(json, name) == 0;
        free(json);
        if (same)
            return item->msg->field[i];
    }
    return NULL;
}

/* What a filter field takes, as a schema: an enum's names (without the
 * zero value, which says "not set"), true or false, an id or text. */
static json_t *filter_value_schema(doc_t *doc, const bw_cg_field_proto_t *field)
{
    json_t *schema = single_schema(doc, field);
    json_t *values = schema ? json_object_get(schema, "enum") : NULL;
    if (values && json_array_size(values) > 1)
        json_array_remove(values, 0);
    return schema;
}

/* The filter of a list route: its fields and what each takes, in words for
 * people and as x-filter-fields for tools. */
static void describe_filter(doc_t *doc, json_t *param, const bw_cg_route_t *route)
{
    const Bulwark__Api__V1__ListRule *list = route->rule->list;
    json_t *fields = new_object(doc);
    char *text = bw_cg_printf("%s", "Terms field=value joined by \" AND \" (a value with a "
                                    "blank or a quote in double quotes), on:");
    for (size_t i = 0; i < list->n_filter && text && !doc->rc; i++) {
        const bw_cg_field_proto_t *field = item_field(doc, route->list_item, list->filter[i]);
        if (!field)
            continue;
        json_t *schema = filter_value_schema(doc, field);
        json_t *values = schema ? json_object_get(schema, "enum") : NULL;
        const char *type = schema ? json_string_value(json_object_get(schema, "type")) : NULL;
        char *choices = bw_cg_printf("%s", "");
        for (size_t v = 0; v < json_array_size(values) && choices; v++) {
            char *more = bw_cg_printf("%s%s%s", choices, v ? ", " : "",
                                      json_string_value(json_array_get(values, v)));
            free(choices);
            choices = more;
        }
        char *more = bw_cg_printf("%s%s %s (%s)", text, i ? "," : "", list->filter[i],
                                  !choices                               ? ""
                                  : *choices                             ? choices
                                  : type && strcmp(type, "boolean") == 0 ? "true, false"
                                                                         : "text");
        free(choices);
        free(text);
        text = more;
        set(doc, fields, list->filter[i], schema);
    }
    if (!text) {
        fail(doc, BW_ENOMEM);
        json_decref(fields);
        return;
    }
    const char *before = json_string_value(json_object_get(param, "description"));
    char *description =
        before ? bw_cg_printf("%s\n\n%s.", before, text) : bw_cg_printf("%s.", text);
    free(text);
    set_made_string(doc, param, "description", description);
    set(doc, param, "x-filter-fields", fields);
}

static void describe_order_by(doc_t *doc, json_t *param, const bw_cg_route_t *route)
{
    const char *dflt = route->rule->list->default_order;
    if (!dflt || !*dflt)
        return;
    const char *before = json_string_value(json_object_get(param, "description"));
    char *description = before ? bw_cg_printf("%s\n\nWithout orderBy: %s.", before, dflt)
                               : bw_cg_printf("Without orderBy: %s.", dflt);
    set_made_string(doc, param, "description", description);
}

static void append_field_parameter(doc_t *doc, json_t *params, const bw_cg_route_t *route,
                                   size_t index, int in_path)
{
    const bw_cg_type_t *req = route->request;
    const bw_cg_field_proto_t *field = req->msg->field[index];
    int32_t path[BW_CG_MAX_PATH];
    memcpy(path, req->path, req->n_path * sizeof *path);
    path[req->n_path] = 2; /* DescriptorProto.field */
    path[req->n_path + 1] = (int32_t)index;
    int oom = 0;
    char *description = bw_cg_comment(req->file, path, req->n_path + 2, &oom);
    /* A path parameter is named as in the template, a query one by JSON name. */
    char *name = in_path ? bw_cg_printf("%s", field->name) : bw_cg_json_name(field->name);
    if (oom || !name) {
        fail(doc, BW_ENOMEM);
    } else {
        const Bulwark__Api__V1__ListRule *list = route->rule->list;
        int order_by = list && !in_path && strcmp(field->name, "order_by") == 0;
        json_t *param = parameter(doc, name, in_path ? "path" : "query", in_path, description,
                                  order_by ? order_by_schema(doc, list) : value_schema(doc, field));
        if (order_by)
            describe_order_by(doc, param, route);
        if (list && !in_path && strcmp(field->name, "filter") == 0)
            describe_filter(doc, param, route);
        append(doc, params, param);
    }
    free(name);
    free(description);
}

/* A request field that travels on the query string: a scalar, an enum, a
 * repeated scalar, or a Timestamp (an RFC 3339 string there too). */
static int is_query_field(doc_t *doc, const bw_cg_field_proto_t *field)
{
    if (!is_message_field(field))
        return 1;
    const bw_cg_type_t *type = field_type(doc, field);
    return type && !is_repeated(field) && strcmp(type->full_name, WKT_TIMESTAMP) == 0;
}

/* Path variables in template order; then, unless the body is the whole
 * request, the request's other top-level query fields (is_query_field) as
 * query parameters; then the headers of writes. */
static json_t *parameters(doc_t *doc, const bw_cg_route_t *route)
{
    json_t *params = new_array(doc);
    const bw_cg_type_t *req = route->request;
    for (size_t s = 0; s < route->n_segs && !doc->rc; s++) {
        size_t index;
        if (route->segs[s].field && request_field(req, route->segs[s].field, &index))
            append_field_parameter(doc, params, route, index, 1);
    }
    /* A raw route's other fields are filled from the body and the headers. */
    int whole_body =
        (route->body && strcmp(route->body, "*") == 0) || route->access == BW_CG_SERVICE;
    for (size_t i = 0; i < req->msg->n_field && !whole_body && !doc->rc; i++) {
        const bw_cg_field_proto_t *field = req->msg->field[i];
        if (!is_query_field(doc, field) || field == route->body_field ||
            bound_to_path(route, field->name) ||
            (route->is_file && strcmp(field->name, "media_type") == 0))
            continue;
        append_field_parameter(doc, params, route, i, 0);
    }
    if (route->verb == BW_CG_POST && route->access != BW_CG_SERVICE)
        append(doc, params, ref_object(doc, "#/components/parameters/IdempotencyKey"));
    if (route->if_match)
        append(doc, params, ref_object(doc, "#/components/parameters/IfMatch"));
    return params;
}

static json_t *json_content(doc_t *doc, const char *media_type, json_t *schema)
{
    json_t *content = new_object(doc);
    json_t *media = new_object(doc);
    set(doc, media, "schema", schema);
    set(doc, content, media_type, media);
    return content;
}

static const char *status_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    default:
        return "Success";
    }
}

/* When a problem response applies to an operation. */
enum {
    WHEN_ALWAYS = 1 << 0,     /* every route: bad input, a backend down or slow */
    WHEN_CREDENTIAL = 1 << 1, /* the route takes a credential (tenant or operator) */
    WHEN_RESOURCE = 1 << 2,   /* the path names a resource (it has a variable) */
    WHEN_WRITE = 1 << 3,      /* POST, PUT, PATCH, DELETE */
    WHEN_IF_MATCH = 1 << 4,   /* the route honours If-Match */
    WHEN_BODY = 1 << 5,       /* the route reads a body */
    WHEN_IDEMPOTENT = 1 << 6, /* the route takes Idempotency-Key (POST) */
    WHEN_PRODUCES = 1 << 7,   /* the route answers media types other than JSON */
};

/* The problem responses an operation may list, each a component of
 * components.responses. The status is never written here: it comes from
 * the status table (common/status.c) for the gRPC status and reason the
 * gateway answers with, so the document cannot drift from the gateway. */
static const struct problem_response {
    const char *name;
    int grpc;
    const char *reason; /* NULL: the status's own mapping */
    unsigned when;
    const char *description;
    const char *example_reason, *example_detail; /* of the response's example */
} problem_responses[] = {
    {"BadRequest", BW_GRPC_INVALID_ARGUMENT, NULL, WHEN_ALWAYS,
     "The request is malformed, or a field, parameter or header is invalid: `errors` names "
     "each one and says why.",
     "INVALID_FIELD", "timeZone: not an IANA time zone"},
    {"Unauthorized", BW_GRPC_UNAUTHENTICATED, NULL, WHEN_CREDENTIAL,
     "No credential, or one that is unknown, revoked, expired or malformed.", "MISSING_CREDENTIALS",
     "send Authorization: Bearer <API key or OIDC token>"},
    {"Forbidden", BW_GRPC_PERMISSION_DENIED, NULL, WHEN_CREDENTIAL,
     "The credential may not call this route: its role is not among the route's, or it is "
     "the operator token on a tenant route (or a tenant key on an operator route).",
     "ROLE_NOT_ALLOWED", "the role viewer may not call this route"},
    {"NotFound", BW_GRPC_NOT_FOUND, NULL, WHEN_RESOURCE,
     "A resource the path names does not exist. Another tenant's resource answers the same.",
     "ENTITY_NOT_FOUND", "no entity 01907f3c-5a2b-7c1d-8e9f-0a1b2c3d4e5f"},
    {"Conflict", BW_GRPC_ABORTED, NULL, WHEN_WRITE,
     "The write conflicts: the resource already exists, a concurrent change won, or a request "
     "with the same Idempotency-Key is still in flight. Nothing was written.",
     "IDEMPOTENCY_KEY_IN_FLIGHT", "a request with this Idempotency-Key is still in flight"},
    {"PreconditionFailed", BW_GRPC_FAILED_PRECONDITION, "ETAG_MISMATCH", WHEN_IF_MATCH,
     "If-Match names an etag that is no longer current (reason `ETAG_MISMATCH`): nothing was "
     "written. Read the resource again and retry with its etag.",
     "ETAG_MISMATCH", "the resource has changed since the etag given"},
    {"ContentTooLarge", BW_GRPC_RESOURCE_EXHAUSTED, "BODY_TOO_LARGE", WHEN_BODY,
     "The body is larger than the gateway accepts (`BULWARK_MAX_BODY_BYTES`, 8 MiB by "
     "default); refused by its Content-Length before it is read.",
     "BODY_TOO_LARGE", "the body is larger than 8388608 bytes"},
    {"NotAcceptable", BW_GRPC_INVALID_ARGUMENT, "NOT_ACCEPTABLE", WHEN_PRODUCES,
     "The Accept header takes none of the media types the route answers; `detail` lists "
     "them.",
     "NOT_ACCEPTABLE", "Accept takes none of application/json, text/csv"},
    {"UnsupportedMediaType", BW_GRPC_INVALID_ARGUMENT, "UNSUPPORTED_MEDIA_TYPE", WHEN_BODY,
     "The body is not of a media type the route reads: `application/json`, and for a route "
     "that says so `text/csv` (UTF-8).",
     "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json"},
    {"UnprocessableContent", BW_GRPC_INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED", WHEN_IDEMPOTENT,
     "The Idempotency-Key was used in the last 24 hours with another body "
     "(reason `IDEMPOTENCY_KEY_REUSED`).",
     "IDEMPOTENCY_KEY_REUSED", "the Idempotency-Key was used with another body"},
    {"TooManyRequests", BW_GRPC_RESOURCE_EXHAUSTED, NULL, WHEN_CREDENTIAL,
     "Over a limit: the tenant's request rate (reason `RATE_LIMITED`), or too many failed "
     "authentications from the client's address (`TOO_MANY_FAILED_AUTHENTICATIONS`). "
     "Retry after the seconds `Retry-After` gives.",
     "RATE_LIMITED", "the tenant's request rate is over its limit; retry in 1 s"},
    {"ServiceUnavailable", BW_GRPC_UNAVAILABLE, NULL, WHEN_ALWAYS,
     "The service behind the route, a service it needs, or its database cannot be reached "
     "now (reason `SERVICE_UNAVAILABLE`, the detail names the service); nothing was written. "
     "Retry later.",
     "SERVICE_UNAVAILABLE", "the scoping service is unavailable; retry later"},
    {"GatewayTimeout", BW_GRPC_DEADLINE_EXCEEDED, NULL, WHEN_ALWAYS,
     "The service behind the route did not answer in time (`BULWARK_BACKEND_TIMEOUT_MS`). "
     "A write may or may not have been committed: retry it with the same Idempotency-Key.",
     "DEADLINE_EXCEEDED", "the service did not answer in time"},
};

#define N_PROBLEM_RESPONSES (sizeof problem_responses / sizeof problem_responses[0])

static int problem_status(const struct problem_response *pr)
{
    return bw_status_http(pr->grpc, pr->reason);
}

static unsigned route_conditions(const bw_cg_route_t *route)
{
    unsigned when = WHEN_ALWAYS;
    if (route->access != BW_CG_PUBLIC)
        when |= WHEN_CREDENTIAL;
    for (size_t i = 0; i < route->n_segs; i++)
        if (route->segs[i].field)
            when |= WHEN_RESOURCE;
    if (route->verb != BW_CG_GET)
        when |= WHEN_WRITE;
    if (route->if_match)
        when |= WHEN_IF_MATCH;
    if (route->body || route->access == BW_CG_SERVICE)
        when |= WHEN_BODY;
    if (route->verb == BW_CG_POST && route->access != BW_CG_SERVICE)
        when |= WHEN_IDEMPOTENT;
    if (route->rule->n_produces)
        when |= WHEN_PRODUCES;
    return when;
}

/* The RateLimit fields a tenant's replies carry when the limit is on. */
static void add_rate_limit_headers(doc_t *doc, json_t *headers)
{
    set(doc, headers, "RateLimit-Policy", ref_object(doc, "#/components/headers/RateLimitPolicy"));
    set(doc, headers, "RateLimit", ref_object(doc, "#/components/headers/RateLimit"));
}

static json_t *string_header(doc_t *doc, const char *description, const char *example);

/* Adds the media types of produces to a 200 reply's content: text as a
 * string, a workbook as binary. */
static void add_file_content(doc_t *doc, json_t *content, const bw_cg_route_t *route)
{
    for (size_t i = 0; i < route->rule->n_produces; i++) {
        const char *type = route->rule->produces[i];
        int text = strncmp(type, "text/", 5) == 0 || strcmp(type, "image/svg+xml") == 0;
        json_t *schema = typed(doc, "string", NULL);
        if (!text)
            set_string(doc, schema, "contentEncoding", "binary");
        set_string(doc, schema, "contentMediaType", type);
        json_t *media = new_object(doc);
        set(doc, media, "schema", schema);
        set(doc, content, type, media);
    }
}

static json_t *responses(doc_t *doc, const bw_cg_route_t *route)
{
    json_t *out = new_object(doc);
    json_t *success = new_object(doc);
    set_string(doc, success, "description", status_phrase(route->success_status));
    if (route->access == BW_CG_TENANT) {
        json_t *headers = new_object(doc);
        add_rate_limit_headers(doc, headers);
        set(doc, success, "headers", headers);
    }
    if (route->success_status != 204) {
        json_t *content = route->is_file ? new_object(doc)
                                         : json_content(doc, "application/json",
                                                        message_value_schema(doc, route->response));
        add_file_content(doc, content, route);
        set(doc, success, "content", content);
    }
    if (route->rule->n_produces) {
        json_t *headers = json_object_get(success, "headers");
        if (!headers) {
            headers = new_object(doc);
            set(doc, success, "headers", headers);
        }
        set(doc, headers, "Content-Disposition",
            string_header(doc,
                          "On a file (CSV, XLSX): `attachment` with the file's name; a picture "
                          "has none.",
                          "attachment; filename=\"soa.csv\""));
    }
    char status[16];
    snprintf(status, sizeof status, "%d", route->success_status);
    set(doc, out, status, success);
    unsigned when = route_conditions(route);
    for (size_t i = 0; i < N_PROBLEM_RESPONSES; i++) {
        const struct problem_response *pr = &problem_responses[i];
        if (!(pr->when & when))
            continue;
        char *ref = bw_cg_printf("#/components/responses/%s", pr->name);
        if (!ref) {
            fail(doc, BW_ENOMEM);
            break;
        }
        snprintf(status, sizeof status, "%d", problem_status(pr));
        set(doc, out, status, ref_object(doc, ref));
        free(ref);
    }
    set(doc, out, "default", ref_object(doc, "#/components/responses/Problem"));
    return out;
}

/* The leading comment (without its example), then who may call the route. */
static char *operation_description(const bw_cg_route_t *route, const char *comment)
{
    char roles[256] = "";
    size_t used = 0;
    for (size_t r = 0; r < bw_n_roles; r++) {
        if (route->roles & (1u << r)) {
            int n = snprintf(roles + used, sizeof roles - used, "%s%s", used ? ", " : "",
                             bw_roles[r].name);
            if (n > 0 && (size_t)n < sizeof roles - used)
                used += (size_t)n;
        }
    }
    char *access;
    if (route->access == BW_CG_OPERATOR)
        access = bw_cg_printf("Requires the platform operator token.");
    else if (route->access == BW_CG_PUBLIC)
        access = bw_cg_printf("No credential needed.");
    else if (route->access == BW_CG_SERVICE)
        access = bw_cg_printf("No API key: the service authenticates the request by the "
                              "signature or token its connection agreed with the sender "
                              "(401 otherwise, and nothing is written).");
    else
        access = bw_cg_printf("Roles: %s.", roles);
    if (!access || !comment || !*comment)
        return access;
    char *text = bw_cg_printf("%s\n\n%s", comment, access);
    free(access);
    return text;
}

/* A method's leading comment may end with a paragraph that starts with
 * EXAMPLE_MARK, followed by the JSON of a request body. Sets *comment to
 * the text before it and *example to the parsed body (both caller owns,
 * NULL when absent). The example must be an object whose keys are fields
 * of the body, on a route that takes one. 0, BW_EINVAL (reported),
 * BW_ENOMEM. */
static int split_example(const bw_cg_route_t *route, const bw_cg_type_t *body_type, char **comment,
                         json_t **example)
{
    *comment = NULL;
    *example = NULL;
    const char *text = route->description ? route->description : "";
    const char *mark = NULL;
    for (const char *p = text; (p = strstr(p, EXAMPLE_MARK)) != NULL; p++)
        if (p == text || (p - text >= 2 && p[-1] == '\n' && p[-2] == '\n'))
            mark = p;
    size_t keep = mark ? (size_t)(mark - text) : strlen(text);
    while (keep > 0 && (text[keep - 1] == '\n' || text[keep - 1] == ' '))
        keep--;
    *comment = bw_cg_printf("%.*s", (int)keep, text);
    if (!*comment)
        return BW_ENOMEM;
    if (!mark)
        return 0;
    if (!route->body && route->access != BW_CG_SERVICE) {
        bw_cg_error("%s: an example of a request body, but the route takes none",
                    route->method_name);
        return BW_EINVAL;
    }
    json_error_t jerr;
    *example = json_loads(mark + strlen(EXAMPLE_MARK), JSON_REJECT_DUPLICATES, &jerr);
    if (!*example || !json_is_object(*example)) {
        bw_cg_error("%s: the example of its comment is not a JSON object: %s", route->method_name,
                    *example ? "another JSON value" : jerr.text);
        bw_cg_hint("Write \"" EXAMPLE_MARK "\" and then the body as JSON, as the last paragraph "
                   "of the method's comment.");
        json_decref(*example);
        *example = NULL;
        return BW_EINVAL;
    }
    const char *key;
    json_t *value;
    int rc = 0;
    if (!body_type) /* a raw route: the sender's own payload, an open schema */
        return 0;
    json_object_foreach(*example, key, value)
    {
        int found = 0;
        for (size_t i = 0; i < body_type->msg->n_field && !found; i++) {
            char *name = bw_cg_json_name(body_type->msg->field[i]->name);
            if (!name)
                return BW_ENOMEM;
            found = strcmp(name, key) == 0;
            free(name);
        }
        if (!found) {
            bw_cg_error("%s: the example's \"%s\" is no field of %s", route->method_name, key,
                        body_type->full_name);
            rc = BW_EINVAL;
        }
    }
    return rc;
}

static json_t *operation(doc_t *doc, const bw_cg_route_t *route)
{
    json_t *op = new_object(doc);
    set_string(doc, op, "operationId", route->method_name);
    if (*route->summary)
        set_string(doc, op, "summary", route->summary);
    const bw_cg_type_t *body_type = NULL;
    if (route->body_field)
        body_type = field_type(doc, route->body_field);
    else if (route->body)
        body_type = route->request;
    char *comment = NULL;
    json_t *example = NULL;
    int rc =
        body_type || !route->body ? split_example(route, body_type, &comment, &example) : BW_EINVAL;
    if (rc)
        fail(doc, rc);
    char *description = comment ? operation_description(route, comment) : NULL;
    if (!description && !rc)
        fail(doc, BW_ENOMEM);
    else if (description)
        set_string(doc, op, "description", description);
    free(description);
    free(comment);
    json_t *tags = new_array(doc);
    append(doc, tags, new_string(doc, route->backend));
    set(doc, op, "tags", tags);
    json_t *params = parameters(doc, route);
    if (params && json_array_size(params) == 0)
        json_decref(params);
    else
        set(doc, op, "parameters", params);
    if (route->body) {
        json_t *schema = route->body_field ? value_schema(doc, route->body_field)
                                           : message_value_schema(doc, route->request);
        json_t *body = new_object(doc);
        set(doc, body, "required", json_true());
        json_t *content = json_content(doc, "application/json", schema);
        if (example) {
            set(doc, json_object_get(content, "application/json"), "example", example);
            example = NULL;
        }
        for (size_t i = 0; route->raw_body_field && i < route->rule->raw_body->n_media_types; i++) {
            json_t *media = new_object(doc);
            json_t *text = typed(doc, "string", NULL);
            set_made_string(doc, text, "description",
                            bw_cg_printf("UTF-8 text, the same as the JSON body's `%s` field.",
                                         route->raw_body_field));
            set(doc, media, "schema", text);
            set(doc, content, route->rule->raw_body->media_types[i], media);
        }
        set(doc, body, "content", content);
        set(doc, op, "requestBody", body);
    }
    if (route->access == BW_CG_SERVICE) {
        /* The sender's own JSON, passed on unparsed: an open schema. */
        json_t *schema = new_object(doc);
        set_string(doc, schema, "type", "object");
        set_string(doc, schema, "description",
                   "The ticket system's payload as it sends it; fields Bulwark does not use "
                   "are ignored.");
        json_t *body = new_object(doc);
        json_t *content = json_content(doc, "application/json", schema);
        if (example) {
            set(doc, json_object_get(content, "application/json"), "example", example);
            example = NULL;
        }
        set(doc, body, "required", json_true());
        set(doc, body, "content", content);
        set(doc, op, "requestBody", body);
    }
    json_decref(example);
    set(doc, op, "responses", responses(doc, route));
    /* Machine-readable access rule, for clients and the per-route role tests. */
    json_t *roles = new_array(doc);
    for (size_t r = 0; r < bw_n_roles; r++)
        if (route->roles & (1u << r))
            append(doc, roles, new_string(doc, bw_roles[r].name));
    set(doc, op, "x-bulwark-roles", roles);
    set_string(doc, op, "x-bulwark-access",
               route->access == BW_CG_OPERATOR  ? "operator"
               : route->access == BW_CG_PUBLIC  ? "public"
               : route->access == BW_CG_SERVICE ? "service"
                                                : "tenant");
    if (route->access == BW_CG_PUBLIC || route->access == BW_CG_SERVICE)
        set(doc, op, "security", new_array(doc));
    if (route->deprecated)
        set(doc, op, "deprecated", json_true());
    return op;
}

/* One path item per template, in declaration order of its first RPC, with
 * its operations in verb order. */
static json_t *paths(doc_t *doc)
{
    json_t *out = new_object(doc);
    const bw_cg_model_t *model = doc->model;
    for (size_t i = 0; i < model->n_routes && !doc->rc; i++) {
        const char *tpl = model->routes[i].template;
        if (json_object_get(out, tpl))
            continue;
        json_t *item = new_object(doc);
        for (int verb = 0; verb < BW_CG_N_VERBS; verb++) {
            for (size_t j = i; j < model->n_routes; j++) {
                const bw_cg_route_t *route = &model->routes[j];
                if (route->verb == verb && strcmp(route->template, tpl) == 0)
                    set(doc, item, bw_cg_verb_key(verb), operation(doc, route));
            }
        }
        set(doc, out, tpl, item);
    }
    return out;
}

/* One tag per backend, in declaration order, described by the first
 * comment found on one of its services. */
static json_t *tags(doc_t *doc)
{
    json_t *out = new_array(doc);
    const bw_cg_model_t *model = doc->model;
    for (size_t i = 0; i < model->n_routes; i++) {
        const char *backend = model->routes[i].backend;
        size_t j = 0;
        while (j < i && strcmp(model->routes[j].backend, backend) != 0)
            j++;
        if (j < i)
            continue;
        json_t *tag = new_object(doc);
        set_string(doc, tag, "name", backend);
        for (j = i; j < model->n_routes; j++) {
            const bw_cg_route_t *route = &model->routes[j];
            if (route->service_description && strcmp(route->backend, backend) == 0) {
                set_string(doc, tag, "description", route->service_description);
                break;
            }
        }
        append(doc, out, tag);
    }
    return out;
}

static json_t *header_parameter(doc_t *doc, const char *name, const char *description)
{
    return parameter(doc, name, "header", 0, description, typed(doc, "string", NULL));
}

/* A problem response component: its status's title, when it happens, the
 * headers that come with it, and an example. */
static json_t *problem_response(doc_t *doc, const struct problem_response *pr)
{
    int status = problem_status(pr);
    json_t *response = new_object(doc);
    char *description = bw_cg_printf("%s: %s", bw_status_http_title(status), pr->description);
    if (!description) {
        fail(doc, BW_ENOMEM);
        return response;
    }
    set_string(doc, response, "description", description);
    free(description);
    json_t *headers = new_object(doc);
    if (pr->grpc == BW_GRPC_UNAUTHENTICATED)
        set(doc, headers, "WWW-Authenticate",
            ref_object(doc, "#/components/headers/WWWAuthenticate"));
    else
        add_rate_limit_headers(doc, headers);
    if (pr->grpc == BW_GRPC_RESOURCE_EXHAUSTED && !pr->reason)
        set(doc, headers, "Retry-After", ref_object(doc, "#/components/headers/RetryAfter"));
    set(doc, response, "headers", headers);

    json_t *example = new_object(doc);
    char type[128] = "urn:bulwark:problem:";
    size_t o = strlen(type);
    for (const char *r = pr->example_reason; *r && o < sizeof type - 1; r++)
        type[o++] = *r == '_' ? '-' : (char)(*r >= 'A' && *r <= 'Z' ? *r - 'A' + 'a' : *r);
    type[o] = '\0';
    set_string(doc, example, "type", type);
    set_string(doc, example, "title", bw_status_http_title(status));
    set(doc, example, "status", json_integer(status));
    set_string(doc, example, "detail", pr->example_detail);
    set_string(doc, example, "instance", "/v1/entities");
    set_string(doc, example, "code", bw_status_grpc_name(pr->grpc));
    set_string(doc, example, "reason", pr->example_reason);
    set_string(doc, example, "requestId", "01907f3c-5a2b-7c1d-8e9f-0a1b2c3d4e5f");
    json_t *errors = new_array(doc);
    if (pr->grpc == BW_GRPC_INVALID_ARGUMENT && !pr->reason) {
        json_t *violation = new_object(doc);
        set_string(doc, violation, "field", "timeZone");
        set_string(doc, violation, "message", "not an IANA time zone");
        append(doc, errors, violation);
    }
    set(doc, example, "errors", errors);
    json_t *content = json_content(doc, "application/problem+json", schema_ref(doc, PROBLEM));
    set(doc, json_object_get(content, "application/problem+json"), "example", example);
    set(doc, response, "content", content);
    return response;
}

static json_t *string_header(doc_t *doc, const char *description, const char *example)
{
    json_t *header = new_object(doc);
    set_string(doc, header, "description", description);
    set(doc, header, "schema", typed(doc, "string", NULL));
    set_string(doc, header, "example", example);
    return header;
}

/* The response headers the gateway sends beside the body. */
static json_t *header_components(doc_t *doc)
{
    json_t *out = new_object(doc);
    set(doc, out, "RateLimitPolicy",
        string_header(doc,
                      "The tenant's request rate limit (IETF httpapi draft "
                      "draft-ietf-httpapi-ratelimit-headers-11), sent on every reply to a "
                      "tenant's credential while the limit is on: no more than `q` requests in "
                      "any `w` seconds is never refused.",
                      "\"tenant\";q=100;w=2"));
    set(doc, out, "RateLimit",
        string_header(doc,
                      "What is left of the tenant's limit after this request (same draft): `r` "
                      "requests may be made now, and one more in `t` seconds.",
                      "\"tenant\";r=42;t=1"));
    json_t *retry = new_object(doc);
    set_string(doc, retry, "description", "Seconds to wait before trying again.");
    set(doc, retry, "schema", typed(doc, "integer", "int32"));
    set(doc, retry, "example", json_integer(1));
    set(doc, out, "RetryAfter", retry);
    set(doc, out, "WWWAuthenticate",
        string_header(doc, "The authentication scheme to use.", "Bearer realm=\"bulwark\""));
    return out;
}

static json_t *components(doc_t *doc)
{
    json_t *out = new_object(doc);

    json_t *bearer = new_object(doc);
    set_string(doc, bearer, "type", "http");
    set_string(doc, bearer, "scheme", "bearer");
    set_string(doc, bearer, "description",
               "A tenant API key (`bwk_<id>_<secret>`, shown once when it is created) or an "
               "OIDC access token (JWT) from the configured issuer. Routes that create tenants "
               "take the platform operator token instead.");
    json_t *schemes = new_object(doc);
    set(doc, schemes, "bearerAuth", bearer);
    set(doc, out, "securitySchemes", schemes);

    json_t *params = new_object(doc);
    set(doc, params, "IdempotencyKey",
        header_parameter(doc, "Idempotency-Key",
                         "Makes a retried POST safe: the same key with the same body within 24 "
                         "hours returns the stored response; with another body it is a 422."));
    set(doc, params, "IfMatch",
        header_parameter(doc, "If-Match",
                         "The etag the change is based on; a stale one answers 412."));
    set(doc, out, "parameters", params);

    json_t *problem = new_object(doc);
    set_string(doc, problem, "description",
               "Any other error, as RFC 9457 problem details (500 is a bug: the request id "
               "finds it in the logs).");
    set(doc, problem, "content",
        json_content(doc, "application/problem+json", schema_ref(doc, PROBLEM)));
    json_t *responses_obj = new_object(doc);
    unsigned used = 0;
    for (size_t i = 0; i < doc->model->n_routes; i++)
        used |= route_conditions(&doc->model->routes[i]);
    for (size_t i = 0; i < N_PROBLEM_RESPONSES; i++)
        if (problem_responses[i].when & used)
            set(doc, responses_obj, problem_responses[i].name,
                problem_response(doc, &problem_responses[i]));
    set(doc, responses_obj, PROBLEM, problem);
    set(doc, out, "responses", responses_obj);
    set(doc, out, "headers", header_components(doc));

    set(doc, out, "schemas", schemas(doc));
    return out;
}

static json_t *document(doc_t *doc)
{
    json_t *root = new_object(doc);
    set_string(doc, root, "openapi", "3.1.0");
    json_t *info = new_object(doc);
    set_string(doc, info, "title", "Bulwark API");
    set_string(doc, info, "version", "v1");
    set_string(doc, info, "description",
               "REST/JSON API of Bulwark, generated from the gRPC contracts in proto/. "
               "Field names are lowerCamelCase, enums are their value names, 64-bit integers "
               "are strings, timestamps are RFC 3339. Authenticate with `Authorization: Bearer "
               "<API key>`.\n\n"
               "Errors are RFC 9457 problem details (`application/problem+json`) with a stable "
               "`reason` and the invalid fields in `errors`; each operation lists the statuses "
               "it can answer. Lists come in pages: pass a reply's `nextPageToken` back as "
               "`pageToken` until it is empty.\n\n"
               "While the gateway's rate limit is on, every reply to a request made with a "
               "tenant's credential carries `RateLimit-Policy` and `RateLimit` "
               "(draft-ietf-httpapi-ratelimit-headers-11), and a 429 carries `Retry-After`.");
    /* The repository has no LICENSE file yet: say so rather than invent a
     * license (SPDX's LicenseRef- names a license outside its list). Once it
     * has one, name it here with its SPDX identifier. */
    json_t *license = new_object(doc);
    set_string(doc, license, "name",
               "No license chosen yet: all rights reserved until the repository has a LICENSE "
               "file");
    set_string(doc, license, "identifier", "LicenseRef-Bulwark-No-License-Yet");
    set(doc, info, "license", license);
    set(doc, root, "info", info);
    json_t *servers = new_array(doc);
    json_t *server = new_object(doc);
    set_string(doc, server, "url", "http://127.0.0.1:8080");
    append(doc, servers, server);
    set(doc, root, "servers", servers);
    json_t *requirement = new_object(doc);
    set(doc, requirement, "bearerAuth", new_array(doc));
    json_t *security = new_array(doc);
    append(doc, security, requirement);
    set(doc, root, "security", security);
    set(doc, root, "tags", tags(doc));
    set(doc, root, "paths", paths(doc));
    set(doc, root, "components", components(doc));
    return root;
}

static int write_json(const char *text, const char *out_dir)
{
    bw_cg_output_t out;
    int rc = bw_cg_output_open(&out, out_dir, "openapi.json");
    if (rc)
        return rc;
    fputs(text, out.fp);
    fputc('\n', out.fp);
    return bw_cg_output_commit(&out);
}

/* One string literal per line of the pretty-printed document keeps the
 * generated file readable and its diffs small. */
static int write_c(const char *text, const char *out_dir)
{
    bw_cg_output_t out;
    int rc = bw_cg_output_open(&out, out_dir, "openapi.c");
    if (rc)
        return rc;
    fputs("/*\n"
          " * The OpenAPI 3.1 document of the gateway, generated by tools/codegen from\n"
          " * proto/ (the same bytes as openapi.json). Do not edit: change the .proto\n"
          " * files instead.\n"
          " */\n"
          "#include \"route.h\"\n\n"
          "const char bw_openapi_json[] =\n",
          out.fp);
    const char *line = text;
    for (;;) {
        size_t len = strcspn(line, "\n");
        fputs("    \"", out.fp);
        bw_cg_put_c_string(out.fp, line, len);
        fputs("\\n\"", out.fp);
        if (line[len] == '\0')
            break;
        fputc('\n', out.fp);
        line += len + 1;
    }
    fputs(";\n", out.fp);
    return bw_cg_output_commit(&out);
}

int bw_cg_write_openapi(bw_cg_model_t *model, const char *out_dir)
{
    doc_t doc = {model, 0};
    json_t *root = document(&doc);
    char *text = NULL;
    int rc = doc.rc;
    if (!rc) {
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
            rc = BW_ENOMEM;
    }
    if (!rc)
        rc = write_json(text, out_dir);
    if (!rc)
        rc = write_c(text, out_dir);
    if (rc == BW_ENOMEM)
        bw_cg_error("out of memory");
    free(text);
    json_decref(root);
    return rc;
}
