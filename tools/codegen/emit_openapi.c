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
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codegen.h"

#define WKT_EMPTY "google.protobuf.Empty"
#define WKT_TIMESTAMP "google.protobuf.Timestamp"
#define WKT_FIELD_MASK "google.protobuf.FieldMask"
#define SCHEMA_REF "#/components/schemas/"
#define PROBLEM "Problem"

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

/* Sets key of obj to value (consumed). A NULL value or object means an
 * earlier failure, already recorded. */
static void set(doc_t *doc, json_t *obj, const char *key, json_t *value)
{
    if (!value) {
        fail(doc, BW_ENOMEM);
        return;
    }
    if (!obj) {
        json_decref(value);
        fail(doc, BW_ENOMEM);
        return;
    }
    if (json_object_set_new(obj, key, value))
        fail(doc, BW_ENOMEM);
}

static void set_string(doc_t *doc, json_t *obj, const char *key, const char *value)
{
    set(doc, obj, key, new_string(doc, value));
}

static void append(doc_t *doc, json_t *array, json_t *value)
{
    if (!value) {
        fail(doc, BW_ENOMEM);
        return;
    }
    if (!array) {
        json_decref(value);
        fail(doc, BW_ENOMEM);
        return;
    }
    if (json_array_append_new(array, value))
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
    switch (field->type) {
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:
        return typed(doc, "number", "double");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:
        return typed(doc, "number", "float");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
        return typed(doc, "string", "int64");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
        return typed(doc, "string", "uint64");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
        return typed(doc, "integer", "int32");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32: {
        json_t *schema = typed(doc, "integer", NULL);
        set(doc, schema, "minimum", json_integer(0));
        set(doc, schema, "maximum", json_integer(4294967295LL));
        return schema;
    }
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:
        return typed(doc, "boolean", NULL);
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
        return typed(doc, "string", NULL);
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES: {
        json_t *schema = typed(doc, "string", NULL);
        set_string(doc, schema, "contentEncoding", "base64");
        return schema;
    }
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM:
        return enum_schema(doc, field);
    default:
        break;
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
    if (!description)
        fail(doc, BW_ENOMEM);
    else
        set_string(doc, param, "description", description);
    free(description);
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
    if (!description)
        fail(doc, BW_ENOMEM);
    else
        set_string(doc, param, "description", description);
    free(description);
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
    int whole_body = route->body && strcmp(route->body, "*") == 0;
    for (size_t i = 0; i < req->msg->n_field && !whole_body && !doc->rc; i++) {
        const bw_cg_field_proto_t *field = req->msg->field[i];
        if (!is_query_field(doc, field) || field == route->body_field ||
            bound_to_path(route, field->name))
            continue;
        append_field_parameter(doc, params, route, i, 0);
    }
    if (route->verb == BW_CG_POST)
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

static json_t *responses(doc_t *doc, const bw_cg_route_t *route)
{
    json_t *out = new_object(doc);
    json_t *success = new_object(doc);
    set_string(doc, success, "description", status_phrase(route->success_status));
    if (route->success_status != 204) {
        json_t *schema = message_value_schema(doc, route->response);
        set(doc, success, "content", json_content(doc, "application/json", schema));
    }
    char status[16];
    snprintf(status, sizeof status, "%d", route->success_status);
    set(doc, out, status, success);
    set(doc, out, "default", ref_object(doc, "#/components/responses/Problem"));
    return out;
}

/* The leading comment, then who may call the route. */
static char *operation_description(const bw_cg_route_t *route)
{
    char roles[256] = "";
    size_t used = 0;
    for (size_t r = 0; r < bw_cg_n_roles; r++) {
        if (route->roles & (1u << r)) {
            int n = snprintf(roles + used, sizeof roles - used, "%s%s", used ? ", " : "",
                             bw_cg_roles[r].name);
            if (n > 0 && (size_t)n < sizeof roles - used)
                used += (size_t)n;
        }
    }
    char *access;
    if (route->access == BW_CG_OPERATOR)
        access = bw_cg_printf("Requires the platform operator token.");
    else if (route->access == BW_CG_PUBLIC)
        access = bw_cg_printf("No credential needed.");
    else
        access = bw_cg_printf("Roles: %s.", roles);
    if (!access || !route->description)
        return access;
    char *text = bw_cg_printf("%s\n\n%s", route->description, access);
    free(access);
    return text;
}

static json_t *operation(doc_t *doc, const bw_cg_route_t *route)
{
    json_t *op = new_object(doc);
    set_string(doc, op, "operationId", route->method_name);
    if (*route->summary)
        set_string(doc, op, "summary", route->summary);
    char *description = operation_description(route);
    if (!description)
        fail(doc, BW_ENOMEM);
    else
        set_string(doc, op, "description", description);
    free(description);
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
        set(doc, body, "content", json_content(doc, "application/json", schema));
        set(doc, op, "requestBody", body);
    }
    set(doc, op, "responses", responses(doc, route));
    /* Machine-readable access rule, for clients and the per-route role tests. */
    json_t *roles = new_array(doc);
    for (size_t r = 0; r < bw_cg_n_roles; r++)
        if (route->roles & (1u << r))
            append(doc, roles, new_string(doc, bw_cg_roles[r].name));
    set(doc, op, "x-bulwark-roles", roles);
    set_string(doc, op, "x-bulwark-access",
               route->access == BW_CG_OPERATOR ? "operator"
               : route->access == BW_CG_PUBLIC ? "public"
                                               : "tenant");
    if (route->access == BW_CG_PUBLIC)
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

static json_t *components(doc_t *doc)
{
    json_t *out = new_object(doc);

    json_t *bearer = new_object(doc);
    set_string(doc, bearer, "type", "http");
    set_string(doc, bearer, "scheme", "bearer");
    set_string(doc, bearer, "description",
               "A tenant API key (bwk_<id>_<secret>, shown once when it is created) or an "
               "OIDC JWT from the configured issuer. Routes that create tenants take the "
               "platform operator token instead.");
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
    set_string(doc, problem, "description", "An error, as RFC 9457 problem details.");
    set(doc, problem, "content",
        json_content(doc, "application/problem+json", schema_ref(doc, PROBLEM)));
    json_t *responses_obj = new_object(doc);
    set(doc, responses_obj, PROBLEM, problem);
    set(doc, out, "responses", responses_obj);

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
               "are strings, timestamps are RFC 3339. Errors are RFC 9457 problem details.");
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
