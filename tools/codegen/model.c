/*
 * Loads a FileDescriptorSet into bw_codegen's model: indexes every message
 * and enum by full name, decodes the (bulwark.api.v1.http) option of each
 * method (protobuf-c has no extensions, so it arrives among the unknown
 * fields of MethodOptions) and checks each binding against the request
 * message and against the other bindings. Every violation is reported with
 * the .proto position it comes from before the load fails, so one run shows
 * all the mistakes of a contract change.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

#define WKT_EMPTY "google.protobuf.Empty"
#define HTTP_PACKAGE "bulwark.api.v1"
#define HTTP_EXTENSION "http"
#define HTTP_PROTO "bulwark/api/v1/http.proto"
#define HTTP_BODY "bulwark.api.v1.HttpBody"

/* SourceCodeInfo path components of descriptor.proto. */
enum {
    PATH_FILE_MESSAGE = 4,
    PATH_FILE_ENUM = 5,
    PATH_FILE_SERVICE = 6,
    PATH_MESSAGE_FIELD = 2,
    PATH_MESSAGE_NESTED = 3,
    PATH_MESSAGE_ENUM = 4,
    PATH_SERVICE_METHOD = 2,
};

static const char *const verb_names[BW_CG_N_VERBS] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
static const char *const verb_symbols[BW_CG_N_VERBS] = {
    "BW_HTTP_GET", "BW_HTTP_POST", "BW_HTTP_PUT", "BW_HTTP_PATCH", "BW_HTTP_DELETE"};
static const char *const verb_keys[BW_CG_N_VERBS] = {"get", "post", "put", "patch", "delete"};

const char *bw_cg_verb_name(int verb)
{
    return verb_names[verb];
}

const char *bw_cg_verb_symbol(int verb)
{
    return verb_symbols[verb];
}

const char *bw_cg_verb_key(int verb)
{
    return verb_keys[verb];
}

static int is_set(const char *s)
{
    return s && *s;
}

static const Google__Protobuf__SourceCodeInfo__Location *
find_location(const bw_cg_file_proto_t *file, const int32_t *path, size_t n_path)
{
    const Google__Protobuf__SourceCodeInfo *info = file->source_code_info;
    if (!info)
        return NULL;
    for (size_t i = 0; i < info->n_location; i++) {
        const Google__Protobuf__SourceCodeInfo__Location *loc = info->location[i];
        if (loc->n_path == n_path &&
            (n_path == 0 || memcmp(loc->path, path, n_path * sizeof *path) == 0))
            return loc;
    }
    return NULL;
}

/* Reports an error at the position of the element at path in file. */
static void report(const bw_cg_file_proto_t *file, const int32_t *path, size_t n_path,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(const bw_cg_file_proto_t *file, const int32_t *path, size_t n_path,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Google__Protobuf__SourceCodeInfo__Location *loc = find_location(file, path, n_path);
    if (loc && loc->n_span >= 3)
        bw_cg_error("%s:%d:%d: %s", file->name, loc->span[0] + 1, loc->span[1] + 1, msg);
    else
        bw_cg_error("%s: %s", file->name, msg);
}

char *bw_cg_comment(const bw_cg_file_proto_t *file, const int32_t *path, size_t n_path, int *oom)
{
    const Google__Protobuf__SourceCodeInfo__Location *loc = find_location(file, path, n_path);
    if (!loc || !is_set(loc->leading_comments))
        return NULL;
    char *text = bw_cg_tidy_comment(loc->leading_comments);
    if (!text) {
        *oom = 1;
        return NULL;
    }
    if (!*text) {
        free(text);
        return NULL;
    }
    return text;
}

const bw_cg_type_t *bw_cg_model_find(const bw_cg_model_t *model, const char *name)
{
    if (!name)
        return NULL;
    if (*name == '.')
        name++;
    for (size_t i = 0; i < model->n_types; i++)
        if (strcmp(model->types[i].full_name, name) == 0)
            return &model->types[i];
    return NULL;
}

static int add_type(bw_cg_model_t *model, size_t *cap, const bw_cg_file_proto_t *file,
                    const char *scope, const char *name, const int32_t *path, size_t n_path,
                    bw_cg_type_t **added)
{
    if (model->n_types == *cap) {
        size_t new_cap = *cap ? 2 * *cap : 64;
        bw_cg_type_t *types = realloc(model->types, new_cap * sizeof *types);
        if (!types)
            return BW_ENOMEM;
        model->types = types;
        *cap = new_cap;
    }
    bw_cg_type_t *type = &model->types[model->n_types];
    memset(type, 0, sizeof *type);
    type->full_name = *scope ? bw_cg_printf("%s.%s", scope, name) : bw_cg_printf("%s", name);
    if (!type->full_name)
        return BW_ENOMEM;
    type->file = file;
    memcpy(type->path, path, n_path * sizeof *path);
    type->n_path = n_path;
    model->n_types++;
    *added = type;
    return 0;
}

static int index_enum(bw_cg_model_t *model, size_t *cap, const bw_cg_file_proto_t *file,
                      const char *scope, const bw_cg_enum_proto_t *enm, const int32_t *path,
                      size_t n_path)
{
    bw_cg_type_t *type;
    int rc = add_type(model, cap, file, scope, enm->name, path, n_path, &type);
    if (rc)
        return rc;
    type->enm = enm;
    return 0;
}

/* Indexes msg and, depth first, its nested messages and enums. Type pointers
 * are not kept across calls: the array may move while it grows. */
static int index_message(bw_cg_model_t *model, size_t *cap, const bw_cg_file_proto_t *file,
                         const char *scope, const bw_cg_msg_proto_t *msg, int32_t *path,
                         size_t n_path)
{
    if (n_path + 4 > BW_CG_MAX_PATH) {
        report(file, path, n_path, "message \"%s\" is nested more than %d levels deep", msg->name,
               BW_CG_MAX_NESTING);
        return BW_EINVAL;
    }
    bw_cg_type_t *type;
    int rc = add_type(model, cap, file, scope, msg->name, path, n_path, &type);
    if (rc)
        return rc;
    type->msg = msg;
    /* The copy outlives realloc of model->types. */
    char *full_name = bw_cg_printf("%s", type->full_name);
    if (!full_name)
        return BW_ENOMEM;
    path[n_path] = PATH_MESSAGE_NESTED;
    for (size_t i = 0; i < msg->n_nested_type && !rc; i++) {
        path[n_path + 1] = (int32_t)i;
        rc = index_message(model, cap, file, full_name, msg->nested_type[i], path, n_path + 2);
    }
    path[n_path] = PATH_MESSAGE_ENUM;
    for (size_t i = 0; i < msg->n_enum_type && !rc; i++) {
        path[n_path + 1] = (int32_t)i;
        rc = index_enum(model, cap, file, full_name, msg->enum_type[i], path, n_path + 2);
    }
    free(full_name);
    return rc;
}

static int index_types(bw_cg_model_t *model)
{
    size_t cap = 0;
    int32_t path[BW_CG_MAX_PATH];
    for (size_t f = 0; f < model->set->n_file; f++) {
        const bw_cg_file_proto_t *file = model->set->file[f];
        const char *package = file->package ? file->package : "";
        path[0] = PATH_FILE_MESSAGE;
        for (size_t i = 0; i < file->n_message_type; i++) {
            path[1] = (int32_t)i;
            int rc = index_message(model, &cap, file, package, file->message_type[i], path, 2);
            if (rc)
                return rc;
        }
        path[0] = PATH_FILE_ENUM;
        for (size_t i = 0; i < file->n_enum_type; i++) {
            path[1] = (int32_t)i;
            int rc = index_enum(model, &cap, file, package, file->enum_type[i], path, 2);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The gateway derives JSON names from field names at run time (protobuf-c
 * descriptors carry no json_name), so a custom one would silently not
 * apply. protoc fills json_name for every field; compare it with ours. */
static int check_json_names(const bw_cg_model_t *model, int *errors)
{
    for (size_t t = 0; t < model->n_types; t++) {
        const bw_cg_type_t *type = &model->types[t];
        if (!type->msg)
            continue;
        int32_t path[BW_CG_MAX_PATH];
        memcpy(path, type->path, type->n_path * sizeof *path);
        path[type->n_path] = PATH_MESSAGE_FIELD;
        for (size_t i = 0; i < type->msg->n_field; i++) {
            const bw_cg_field_proto_t *field = type->msg->field[i];
            if (!is_set(field->json_name))
                continue;
            char *expected = bw_cg_json_name(field->name);
            if (!expected)
                return BW_ENOMEM;
            if (strcmp(expected, field->json_name) != 0) {
                path[type->n_path + 1] = (int32_t)i;
                report(type->file, path, type->n_path + 2,
                       "field \"%s\" of %s sets json_name \"%s\"", field->name, type->full_name,
                       field->json_name);
                bw_cg_detail("The gateway always uses the lowerCamelCase name \"%s\".", expected);
                bw_cg_hint("Remove the json_name option; rename the field instead.");
                (*errors)++;
            }
            free(expected);
        }
    }
    return 0;
}

static const bw_cg_field_proto_t *find_field(const bw_cg_msg_proto_t *msg, const char *name)
{
    for (size_t i = 0; i < msg->n_field; i++)
        if (strcmp(msg->field[i]->name, name) == 0)
            return msg->field[i];
    return NULL;
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

/* protobuf-c keeps a length-delimited unknown field as its length varint
 * followed by the bytes; finds the bytes. 0, or -1 when they disagree. */
static int unknown_payload(const ProtobufCMessageUnknownField *uf, const uint8_t **payload,
                           size_t *len)
{
    uint64_t value = 0;
    size_t i = 0;
    for (;; i++) {
        if (i >= uf->len || i >= 10)
            return -1;
        value |= (uint64_t)(uf->data[i] & 0x7f) << (7 * i);
        if (!(uf->data[i] & 0x80))
            break;
    }
    i++;
    if (value != uf->len - i)
        return -1;
    *payload = uf->data + i;
    *len = (size_t)value;
    return 0;
}

/* The option's payload: every occurrence of field 50701, concatenated, which
 * is how protobuf merges a message field seen more than once. *rule is NULL
 * when the method has no binding. */
static int decode_rule(const Google__Protobuf__MethodOptions *options, uint32_t number,
                       Bulwark__Api__V1__HttpRule **rule, int *malformed)
{
    *rule = NULL;
    if (!options || !number)
        return 0;
    size_t total = 0, found = 0;
    for (unsigned i = 0; i < options->base.n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *uf = &options->base.unknown_fields[i];
        if (uf->tag != number)
            continue;
        const uint8_t *bytes;
        size_t len;
        if (uf->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED ||
            unknown_payload(uf, &bytes, &len)) {
            *malformed = 1;
            return 0;
        }
        total += len;
        found++;
    }
    if (!found)
        return 0;
    uint8_t *payload = malloc(total ? total : 1);
    if (!payload)
        return BW_ENOMEM;
    size_t n = 0;
    for (unsigned i = 0; i < options->base.n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *uf = &options->base.unknown_fields[i];
        const uint8_t *bytes;
        size_t len;
        if (uf->tag == number && unknown_payload(uf, &bytes, &len) == 0) {
            memcpy(payload + n, bytes, len);
            n += len;
        }
    }
    *rule = bulwark__api__v1__http_rule__unpack(NULL, total, payload);
    free(payload);
    if (!*rule)
        *malformed = 1;
    return 0;
}

static void route_free(bw_cg_route_t *route)
{
    free(route->seg_text);
    free(route->segs);
    free(route->backend);
    free(route->rpc);
    free(route->file_rpc);
    free(route->description);
    free(route->service_description);
    if (route->rule)
        bulwark__api__v1__http_rule__free_unpacked(route->rule, NULL);
    memset(route, 0, sizeof *route);
}

/* Where a method's binding is reported: the method's declaration. */
typedef struct site {
    const bw_cg_file_proto_t *file;
    int32_t path[4];
    const char *what; /* "rpc GetEntity" */
} site_t;

#define REPORT(site, ...) report((site)->file, (site)->path, 4, __VA_ARGS__)

static int pick_verb(const site_t *site, bw_cg_route_t *route)
{
    const Bulwark__Api__V1__HttpRule *rule = route->rule;
    const char *templates[BW_CG_N_VERBS] = {rule->get, rule->post, rule->put, rule->patch,
                                            rule->delete_};
    int n = 0;
    for (int v = 0; v < BW_CG_N_VERBS; v++) {
        if (is_set(templates[v])) {
            route->verb = v;
            route->template = templates[v];
            n++;
        }
    }
    if (n == 0) {
        REPORT(site, "%s: the http option sets no verb", site->what);
        bw_cg_hint("Set exactly one of get, post, put, patch or delete to the path template.");
        return BW_EINVAL;
    }
    if (n > 1) {
        REPORT(site, "%s: the http option sets %d verbs", site->what, n);
        bw_cg_hint("Bind one verb per RPC; declare another RPC for another verb.");
        return BW_EINVAL;
    }
    return 0;
}

static int is_ident(const char *s)
{
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* RFC 3986 unreserved characters plus ':' for custom methods: what a literal
 * segment may hold without percent-encoding. */
static int is_literal(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-._~:", *s)))
            return 0;
    return *s == '\0';
}

/* The custom method after a variable: letters, digits and "-._~". */
static int is_verb(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-._~", *s)))
            return 0;
    return 1;
}

/* Splits the template into segments and binds each variable to a top-level
 * singular string field of the request. */
static int parse_template(const site_t *site, bw_cg_route_t *route)
{
    const char *tpl = route->template;
    if (strncmp(tpl, "/v1/", 4) != 0) {
        REPORT(site, "%s: path template \"%s\" does not start with \"/v1/\"", site->what, tpl);
        bw_cg_detail("Every resource of the API lives under /v1.");
        return BW_EINVAL;
    }
    if (tpl[4] == '\0') {
        REPORT(site, "%s: path template \"%s\" names no resource", site->what, tpl);
        return BW_EINVAL;
    }
    route->seg_text = bw_cg_printf("%s", tpl + 1);
    if (!route->seg_text)
        return BW_ENOMEM;
    size_t n = 1;
    for (const char *p = route->seg_text; *p; p++)
        n += *p == '/';
    route->segs = calloc(n, sizeof *route->segs);
    if (!route->segs)
        return BW_ENOMEM;
    route->n_segs = n;

    const bw_cg_msg_proto_t *req = route->request->msg;
    char *seg = route->seg_text;
    for (size_t i = 0; i < n; i++) {
        char *slash = strchr(seg, '/');
        if (slash)
            *slash = '\0';
        size_t len = strlen(seg);
        if (len == 0) {
            REPORT(site, "%s: path template \"%s\" has an empty segment", site->what, tpl);
            return BW_EINVAL;
        }
        /* "{field}" or "{field}:verb", a custom method on one resource. */
        char *close = seg[0] == '{' ? strchr(seg, '}') : NULL;
        if (close && close[1] == ':' && close[2] != '\0' && is_verb(close + 2)) {
            route->segs[i].verb = close + 2;
            close[1] = '\0';
            len = (size_t)(close - seg) + 1;
        }
        if (seg[0] == '{' && seg[len - 1] == '}') {
            seg[len - 1] = '\0';
            const char *name = seg + 1;
            if (!is_ident(name)) {
                REPORT(site, "%s: path variable \"{%s}\" of \"%s\" is not a field name", site->what,
                       name, tpl);
                bw_cg_detail("A variable binds one whole segment to one field, as in {id}; "
                             "patterns such as {id=*} are not supported.");
                return BW_EINVAL;
            }
            const bw_cg_field_proto_t *field = find_field(req, name);
            if (!field || is_repeated(field) ||
                field->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING) {
                REPORT(site, "%s: path variable \"{%s}\" is not a top-level string field of %s",
                       site->what, name, route->request->full_name);
                if (field)
                    bw_cg_detail("Field \"%s\" is %s.", name,
                                 is_repeated(field) ? "repeated" : "not a string");
                return BW_EINVAL;
            }
            for (size_t j = 0; j < i; j++) {
                if (route->segs[j].field && strcmp(route->segs[j].field, name) == 0) {
                    REPORT(site, "%s: path variable \"{%s}\" appears twice in \"%s\"", site->what,
                           name, tpl);
                    return BW_EINVAL;
                }
            }
            route->segs[i].field = name;
        } else if (!is_literal(seg)) {
            REPORT(site,
                   "%s: segment \"%s\" of path template \"%s\" is neither a literal nor "
                   "a variable",
                   site->what, seg, tpl);
            bw_cg_detail("A literal segment holds letters, digits and \"-._~:\"; a variable is "
                         "a whole segment {field}, or {field}:verb for a custom method.");
            return BW_EINVAL;
        } else {
            route->segs[i].literal = seg;
        }
        seg = slash ? slash + 1 : seg + len;
    }
    return 0;
}

static int check_if_match(const site_t *site, bw_cg_route_t *route)
{
    int always =
        route->verb == BW_CG_PATCH || route->verb == BW_CG_PUT || route->verb == BW_CG_DELETE;
    if (route->rule->if_match && route->verb == BW_CG_GET) {
        REPORT(site, "%s: a GET route cannot take If-Match", site->what);
        bw_cg_detail("If-Match guards a change; a conditional read uses If-None-Match.");
        return BW_EINVAL;
    }
    route->if_match = always || route->rule->if_match;
    return 0;
}

/* A raw route (HttpRule.raw): a POST without a parsed body, whose request
 * has the bytes field body and the repeated message field headers. */
static int check_raw(const site_t *site, bw_cg_route_t *route)
{
    const bw_cg_field_proto_t *body = find_field(route->request->msg, "body");
    const bw_cg_field_proto_t *headers = find_field(route->request->msg, "headers");
    if (route->verb != BW_CG_POST || is_set(route->rule->body)) {
        REPORT(site, "%s: a raw route is a POST without body:", site->what);
        bw_cg_detail("The gateway passes its body unparsed, in the request's field body.");
        return BW_EINVAL;
    }
    if (!body || is_repeated(body) ||
        body->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES || !headers ||
        !is_repeated(headers) || !is_message_field(headers)) {
        REPORT(site,
               "%s: a raw route's request needs the fields bytes body and repeated "
               "HttpHeader headers",
               site->what);
        return BW_EINVAL;
    }
    return 0;
}

static int check_body(const site_t *site, bw_cg_route_t *route)
{
    const char *body = route->rule->body;
    if (route->rule->raw)
        return check_raw(site, route);
    if (!is_set(body))
        return 0;
    if (route->verb == BW_CG_GET || route->verb == BW_CG_DELETE) {
        REPORT(site, "%s: a %s route cannot take a body", site->what, bw_cg_verb_name(route->verb));
        bw_cg_hint("Read the fields from the path and the query string instead.");
        return BW_EINVAL;
    }
    route->body = body;
    if (strcmp(body, "*") == 0)
        return 0;
    const bw_cg_field_proto_t *field = find_field(route->request->msg, body);
    if (!field || !is_message_field(field) || is_repeated(field)) {
        REPORT(site, "%s: body \"%s\" is not a message field of %s", site->what, body,
               route->request->full_name);
        bw_cg_hint("Name a singular message field of the request, or \"*\" for the whole "
                   "request.");
        return BW_EINVAL;
    }
    route->body_field = field;
    return 0;
}

/* "text/csv": a type and a subtype of token characters, lower case, no
 * parameters (the gateway adds charset where it applies). */
static int is_media_type(const char *s)
{
    int slashes = 0;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        if (*p == '/')
            slashes++;
        else if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("+-.", *p)))
            return 0;
    }
    return n >= 3 && slashes == 1 && s[0] != '/' && s[n - 1] != '/';
}

static int is_string_field(const bw_cg_field_proto_t *field)
{
    return field && !is_repeated(field) &&
           field->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING;
}

/* produces, file_rpc and raw_body: a route that answers files, or one that
 * takes a body other than JSON (http.proto says how). */
static int check_files(const bw_cg_model_t *model, const site_t *site,
                       const Google__Protobuf__ServiceDescriptorProto *service, const char *package,
                       bw_cg_route_t *route)
{
    const Bulwark__Api__V1__HttpRule *rule = route->rule;
    route->is_file = strcmp(route->response->full_name, HTTP_BODY) == 0;
    for (size_t i = 0; i < rule->n_produces; i++) {
        if (!is_media_type(rule->produces[i]) ||
            strcmp(rule->produces[i], "application/json") == 0) {
            REPORT(site, "%s: produces \"%s\" is not a media type other than JSON", site->what,
                   rule->produces[i]);
            return BW_EINVAL;
        }
    }
    if (route->is_file && (rule->n_produces == 0 || is_set(rule->file_rpc))) {
        REPORT(site, "%s: the RPC returns %s: list its media types in produces, without file_rpc",
               site->what, HTTP_BODY);
        return BW_EINVAL;
    }
    if (!route->is_file && (rule->n_produces > 0) != is_set(rule->file_rpc)) {
        REPORT(site, "%s: produces and file_rpc go together on a JSON route", site->what);
        return BW_EINVAL;
    }
    if (is_set(rule->file_rpc)) {
        const Google__Protobuf__MethodDescriptorProto *method = NULL;
        for (size_t m = 0; m < service->n_method && !method; m++)
            if (strcmp(service->method[m]->name, rule->file_rpc) == 0)
                method = service->method[m];
        const bw_cg_type_t *out = method ? bw_cg_model_find(model, method->output_type) : NULL;
        route->file_request = method ? bw_cg_model_find(model, method->input_type) : NULL;
        if (!method || !out || strcmp(out->full_name, HTTP_BODY) != 0 || !route->file_request ||
            !route->file_request->msg ||
            !is_string_field(find_field(route->file_request->msg, "media_type"))) {
            REPORT(site, "%s: file_rpc \"%s\" is not an RPC of the service that returns %s",
                   site->what, rule->file_rpc, HTTP_BODY);
            bw_cg_detail("Its request must have the string field media_type.");
            return BW_EINVAL;
        }
        for (size_t i = 0; i < route->file_request->msg->n_field; i++) {
            const bw_cg_field_proto_t *f = route->file_request->msg->field[i];
            if (strcmp(f->name, "media_type") != 0 && !find_field(route->request->msg, f->name)) {
                REPORT(site, "%s: field %s of file_rpc's request is no field of %s", site->what,
                       f->name, route->request->full_name);
                return BW_EINVAL;
            }
        }
        route->file_rpc = package
                              ? bw_cg_printf("/%s.%s/%s", package, service->name, rule->file_rpc)
                              : bw_cg_printf("/%s/%s", service->name, rule->file_rpc);
        if (!route->file_rpc)
            return BW_ENOMEM;
    }
    if (rule->raw_body) {
        const bw_cg_field_proto_t *field = find_field(route->request->msg, rule->raw_body->field);
        int typed = rule->raw_body->n_media_types > 0;
        for (size_t i = 0; i < rule->raw_body->n_media_types; i++)
            typed &= is_media_type(rule->raw_body->media_types[i]);
        if (!route->body || !is_string_field(field) || !typed) {
            REPORT(site, "%s: raw_body must name a string field of %s and its media types",
                   site->what, route->request->full_name);
            bw_cg_detail("The route must also take a JSON body.");
            return BW_EINVAL;
        }
        route->raw_body_field = field->name;
    }
    return 0;
}

/* Whether msg has a field whose JSON name is json_name. */
static int has_json_field(const bw_cg_msg_proto_t *msg, const char *json_name, int *oom)
{
    for (size_t i = 0; i < msg->n_field; i++) {
        char *name = bw_cg_json_name(msg->field[i]->name);
        if (!name) {
            *oom = 1;
            return 0;
        }
        int same = strcmp(name, json_name) == 0;
        free(name);
        if (same)
            return 1;
    }
    return 0;
}

/* A field of the request that a list route must have, of the given type
 * (a TYPE_* value; for a message, its full name). */
static int check_list_field(const site_t *site, const bw_cg_route_t *route, const char *name,
                            int type, const char *type_name, int required)
{
    const bw_cg_field_proto_t *field = find_field(route->request->msg, name);
    if (!field && !required)
        return 0;
    if (!field || is_repeated(field) || (int)field->type != type ||
        (type_name && (!field->type_name || strcmp(field->type_name + 1, type_name) != 0))) {
        REPORT(site, "%s: a list route needs the %s field %s in %s", site->what,
               type_name ? type_name : "string", name, route->request->full_name);
        return BW_EINVAL;
    }
    return 0;
}

/* A list route: the request has order_by and filter (and may have
 * updated_since), the reply one repeated message field, whose message has a
 * field of every name orderBy and filter take. A request with order_by or
 * filter needs the rule, so that the document lists what they take. */
static int check_list(const bw_cg_model_t *model, const site_t *site, bw_cg_route_t *route)
{
    const Bulwark__Api__V1__ListRule *list = route->rule->list;
    const bw_cg_msg_proto_t *req = route->request->msg;
    if (!list) {
        if (find_field(req, "order_by") || find_field(req, "filter")) {
            REPORT(site, "%s: %s has order_by or filter but the binding declares no list",
                   site->what, route->request->full_name);
            bw_cg_hint("Add list: { order_by: [...] filter: [...] } to the binding.");
            return BW_EINVAL;
        }
        return 0;
    }
    int rc = 0;
    rc |= check_list_field(site, route, "order_by",
                           GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING, NULL, 1);
    rc |= check_list_field(site, route, "filter",
                           GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING, NULL, 1);
    rc |= check_list_field(site, route, "updated_since",
                           GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE,
                           "google.protobuf.Timestamp", 0);
    const bw_cg_field_proto_t *items = NULL;
    for (size_t i = 0; i < route->response->msg->n_field; i++) {
        const bw_cg_field_proto_t *f = route->response->msg->field[i];
        if (is_repeated(f) && is_message_field(f)) {
            if (items) {
                items = NULL;
                break;
            }
            items = f;
        }
    }
    const bw_cg_type_t *item = items ? bw_cg_model_find(model, items->type_name) : NULL;
    if (!item || !item->msg) {
        REPORT(site, "%s: a list route's reply needs exactly one repeated message field",
               site->what);
        return BW_EINVAL;
    }
    route->list_item = item;
    int oom = 0;
    for (size_t i = 0; i < list->n_order_by + list->n_filter; i++) {
        int ordering = i < list->n_order_by;
        const char *name = ordering ? list->order_by[i] : list->filter[i - list->n_order_by];
        if (!has_json_field(item->msg, name, &oom) && !oom) {
            REPORT(site, "%s: list %s \"%s\" is not a field of %s", site->what,
                   ordering ? "order_by" : "filter", name, item->full_name);
            bw_cg_detail("Name fields by their JSON names, e.g. createTime.");
            rc = BW_EINVAL;
        }
    }
    if (oom)
        return BW_ENOMEM;
    return rc ? BW_EINVAL : 0;
}

static int check_access(const site_t *site, bw_cg_route_t *route)
{
    const Bulwark__Api__V1__HttpRule *rule = route->rule;
    int rc = 0;
    for (size_t i = 0; i < rule->n_roles; i++) {
        size_t r = 0;
        while (r < bw_n_roles && strcmp(bw_roles[r].name, rule->roles[i]) != 0)
            r++;
        if (r == bw_n_roles) {
            REPORT(site, "%s: unknown role \"%s\"", site->what, rule->roles[i]);
            bw_cg_hint("Roles are admin, editor, auditor, viewer and board_member.");
            rc = BW_EINVAL;
            continue;
        }
        route->roles |= 1u << r;
    }
    if (rule->operator_ + rule->public_ + rule->raw > 1) {
        REPORT(site, "%s: a route is at most one of operator-only, public and raw", site->what);
        return BW_EINVAL;
    }
    route->access = rule->operator_ ? BW_CG_OPERATOR
                    : rule->public_ ? BW_CG_PUBLIC
                    : rule->raw     ? BW_CG_SERVICE
                                    : BW_CG_TENANT;
    if (route->access == BW_CG_TENANT && rule->n_roles == 0) {
        REPORT(site, "%s: the route allows no role", site->what);
        bw_cg_hint("List the roles that may call it, or set operator or public.");
        return BW_EINVAL;
    }
    if (route->access != BW_CG_TENANT && rule->n_roles > 0) {
        REPORT(site, "%s: %s route cannot list roles", site->what,
               rule->operator_ ? "an operator-only"
               : rule->raw     ? "a raw"
                               : "a public");
        bw_cg_detail("Roles belong to tenant credentials, which such a route does not take.");
        return BW_EINVAL;
    }
    return rc;
}

static int check_status(const site_t *site, bw_cg_route_t *route)
{
    int32_t status = route->rule->success_status;
    int empty = strcmp(route->response->full_name, WKT_EMPTY) == 0;
    if (status == 0) {
        route->success_status = empty ? 204 : 200;
        return 0;
    }
    if (status < 200 || status > 299) {
        REPORT(site, "%s: success_status %d is not a 2xx status", site->what, (int)status);
        return BW_EINVAL;
    }
    if (status == 204 && !empty) {
        REPORT(site, "%s: success_status 204 but the RPC returns %s", site->what,
               route->response->full_name);
        bw_cg_detail("A 204 reply has no body; only google.protobuf.Empty fits it.");
        return BW_EINVAL;
    }
    route->success_status = status;
    return 0;
}

/* "scoping" from "bulwark.scoping.v1". */
static int derive_backend(const site_t *site, const char *package, bw_cg_route_t *route)
{
    const char *first_dot = package ? strchr(package, '.') : NULL;
    const char *second_dot = first_dot ? strchr(first_dot + 1, '.') : NULL;
    if (!second_dot || strncmp(package, "bulwark.", 8) != 0 || second_dot == first_dot + 1) {
        REPORT(site, "%s: package \"%s\" of a bound service is not \"bulwark.<backend>.<version>\"",
               site->what, package ? package : "");
        bw_cg_detail("The gateway picks the backend that serves a route from its package.");
        return BW_EINVAL;
    }
    route->backend = bw_cg_printf("%.*s", (int)(second_dot - first_dot - 1), first_dot + 1);
    return route->backend ? 0 : BW_ENOMEM;
}

static int resolve_types(const site_t *site, const bw_cg_model_t *model,
                         const Google__Protobuf__MethodDescriptorProto *method,
                         bw_cg_route_t *route)
{
    route->request = bw_cg_model_find(model, method->input_type);
    route->response = bw_cg_model_find(model, method->output_type);
    if (!route->request || !route->request->msg || !route->response || !route->response->msg) {
        REPORT(site, "%s: request or response type is missing from the descriptor set", site->what);
        bw_cg_hint("Run protoc with --include_imports.");
        return BW_EINVAL;
    }
    if (method->client_streaming || method->server_streaming) {
        REPORT(site, "%s: a streaming RPC cannot have an HTTP binding", site->what);
        return BW_EINVAL;
    }
    return 0;
}

/* The field number of the (bulwark.api.v1.http) extension, read from its
 * declaration in the set rather than assumed; 0 when the set does not
 * declare it, so no method can carry it. */
static uint32_t http_extension_number(const bw_cg_model_t *model)
{
    for (size_t f = 0; f < model->set->n_file; f++) {
        const bw_cg_file_proto_t *file = model->set->file[f];
        if (!file->package || strcmp(file->package, HTTP_PACKAGE) != 0)
            continue;
        for (size_t i = 0; i < file->n_extension; i++) {
            const bw_cg_field_proto_t *ext = file->extension[i];
            if (strcmp(ext->name, HTTP_EXTENSION) == 0 && ext->extendee &&
                strcmp(ext->extendee, ".google.protobuf.MethodOptions") == 0 && ext->type_name &&
                strcmp(ext->type_name, "." HTTP_PACKAGE ".HttpRule") == 0 && ext->number > 0)
                return (uint32_t)ext->number;
        }
    }
    return 0;
}

/* Builds route from the binding of method m of service s, if it has one.
 * *bound tells whether it had; errors are reported and counted. */
static int load_route(const bw_cg_model_t *model, uint32_t number, const bw_cg_file_proto_t *file,
                      size_t s, size_t m, bw_cg_route_t *route, int *bound, int *errors)
{
    const Google__Protobuf__ServiceDescriptorProto *service = file->service[s];
    const Google__Protobuf__MethodDescriptorProto *method = service->method[m];
    site_t site = {file, {PATH_FILE_SERVICE, (int32_t)s, PATH_SERVICE_METHOD, (int32_t)m}, NULL};
    char what[512];
    snprintf(what, sizeof what, "rpc %s.%s", service->name, method->name);
    site.what = what;

    memset(route, 0, sizeof *route);
    *bound = 0;
    int malformed = 0;
    int rc = decode_rule(method->options, number, &route->rule, &malformed);
    if (rc)
        return rc;
    if (malformed) {
        REPORT(&site, "%s: cannot decode the (bulwark.api.v1.http) option", what);
        (*errors)++;
        return 0;
    }
    if (!route->rule)
        return 0;
    *bound = 1;

    route->method_name = method->name;
    route->service_name = service->name;
    route->file = file;
    route->summary = route->rule->summary ? route->rule->summary : "";
    route->deprecated = method->options->has_deprecated && method->options->deprecated;
    const char *package = is_set(file->package) ? file->package : NULL;
    route->rpc = package ? bw_cg_printf("/%s.%s/%s", package, service->name, method->name)
                         : bw_cg_printf("/%s/%s", service->name, method->name);
    if (!route->rpc)
        return BW_ENOMEM;
    int oom = 0;
    route->description = bw_cg_comment(file, site.path, 4, &oom);
    route->service_description = bw_cg_comment(file, site.path, 2, &oom);
    if (oom)
        return BW_ENOMEM;

    /* Checks that depend on nothing else run whatever the others found, so
     * that one run lists every mistake of the binding. */
    int failed = 0;
    rc = derive_backend(&site, package, route);
    if (rc == BW_ENOMEM)
        return rc;
    failed |= rc != 0;
    rc = check_access(&site, route);
    failed |= rc != 0;
    rc = resolve_types(&site, model, method, route);
    failed |= rc != 0;
    if (rc == 0) {
        rc = check_status(&site, route);
        failed |= rc != 0;
        rc = pick_verb(&site, route);
        failed |= rc != 0;
        if (rc == 0) {
            rc = parse_template(&site, route);
            if (rc == BW_ENOMEM)
                return rc;
            if (rc) {
                /* Half-parsed segments would only add noise to the checks
                 * between routes. */
                free(route->segs);
                route->segs = NULL;
                route->n_segs = 0;
                failed = 1;
            }
            rc = check_body(&site, route);
            failed |= rc != 0;
            rc = check_if_match(&site, route);
            failed |= rc != 0;
            rc = check_list(model, &site, route);
            if (rc == BW_ENOMEM)
                return rc;
            failed |= rc != 0;
            rc = check_files(model, &site, service, package, route);
            if (rc == BW_ENOMEM)
                return rc;
            failed |= rc != 0;
        }
    }
    if (failed)
        (*errors)++;
    return 0;
}

/* Order of templates with the same verb: segment by segment, a literal
 * before a variable (it is more specific), a variable with a custom method
 * before a bare one, literals and methods alphabetically, then the shorter
 * template. Variable names do not take part: two templates equal here match
 * the same requests. */
static int shape_cmp(const bw_cg_route_t *a, const bw_cg_route_t *b)
{
    size_t n = a->n_segs < b->n_segs ? a->n_segs : b->n_segs;
    for (size_t i = 0; i < n; i++) {
        const char *la = a->segs[i].literal, *lb = b->segs[i].literal;
        const char *va = a->segs[i].verb, *vb = b->segs[i].verb;
        if (la && lb) {
            int c = strcmp(la, lb);
            if (c)
                return c;
        } else if (la || lb) {
            return la ? -1 : 1;
        } else if (va && vb) {
            int c = strcmp(va, vb);
            if (c)
                return c;
        } else if (va || vb) {
            return va ? -1 : 1;
        }
    }
    return (a->n_segs > b->n_segs) - (a->n_segs < b->n_segs);
}

int bw_cg_route_cmp(const bw_cg_route_t *a, const bw_cg_route_t *b)
{
    if (a->verb != b->verb)
        return a->verb < b->verb ? -1 : 1;
    int c = shape_cmp(a, b);
    return c ? c : strcmp(a->template, b->template);
}

static void report_route(const bw_cg_route_t *route, const char *fmt, const char *arg)
{
    /* Find the method again for its position; bindings are few. */
    for (size_t s = 0; s < route->file->n_service; s++) {
        const Google__Protobuf__ServiceDescriptorProto *service = route->file->service[s];
        if (strcmp(service->name, route->service_name) != 0)
            continue;
        for (size_t m = 0; m < service->n_method; m++) {
            if (strcmp(service->method[m]->name, route->method_name) != 0)
                continue;
            int32_t path[4] = {PATH_FILE_SERVICE, (int32_t)s, PATH_SERVICE_METHOD, (int32_t)m};
            report(route->file, path, 4, fmt, route->service_name, route->method_name, arg);
            return;
        }
    }
}

/* Checks between bindings: one route per verb and request shape, one spelling
 * of a templated path (OpenAPI treats /a/{x} and /a/{y} as the same path),
 * one RPC per operationId. */
static void check_routes(const bw_cg_model_t *model, int *errors)
{
    for (size_t i = 0; i < model->n_routes; i++) {
        const bw_cg_route_t *a = &model->routes[i];
        if (!a->segs)
            continue;
        for (size_t j = 0; j < i; j++) {
            const bw_cg_route_t *b = &model->routes[j];
            if (!b->segs)
                continue;
            char other[512];
            snprintf(other, sizeof other, "%s %s (rpc %s.%s)", bw_cg_verb_name(b->verb),
                     b->template, b->service_name, b->method_name);
            if (a->verb == b->verb && shape_cmp(a, b) == 0) {
                report_route(a, "rpc %s.%s: duplicate route, already bound by %s", other);
                (*errors)++;
            } else if (shape_cmp(a, b) == 0 && strcmp(a->template, b->template) != 0) {
                report_route(a,
                             "rpc %s.%s: path template differs only in variable names "
                             "from %s",
                             other);
                bw_cg_hint("Spell the variables of one path the same way on every verb.");
                (*errors)++;
            }
            if (strcmp(a->method_name, b->method_name) == 0) {
                report_route(a, "rpc %s.%s: operationId %s is taken by another bound RPC",
                             a->method_name);
                bw_cg_detail("The other is %s.", other);
                bw_cg_hint("Give bound RPCs distinct names across services.");
                (*errors)++;
            }
        }
    }
}

static int load_routes(bw_cg_model_t *model, int *errors)
{
    size_t cap = 0;
    uint32_t number = http_extension_number(model);
    /* Without --include_imports the bindings would be dropped in silence. */
    for (size_t f = 0; f < model->set->n_file && !number; f++) {
        const bw_cg_file_proto_t *file = model->set->file[f];
        for (size_t i = 0; i < file->n_dependency; i++) {
            if (strcmp(file->dependency[i], HTTP_PROTO) == 0) {
                bw_cg_error("%s imports %s, which the descriptor set lacks", file->name,
                            HTTP_PROTO);
                bw_cg_hint("Run protoc with --include_imports.");
                (*errors)++;
                return 0;
            }
        }
    }
    for (size_t f = 0; f < model->set->n_file; f++) {
        const bw_cg_file_proto_t *file = model->set->file[f];
        for (size_t s = 0; s < file->n_service; s++) {
            for (size_t m = 0; m < file->service[s]->n_method; m++) {
                bw_cg_route_t route;
                int bound;
                int rc = load_route(model, number, file, s, m, &route, &bound, errors);
                if (rc || !bound) {
                    route_free(&route);
                    if (rc)
                        return rc;
                    continue;
                }
                if (model->n_routes == cap) {
                    size_t new_cap = cap ? 2 * cap : 16;
                    bw_cg_route_t *routes = realloc(model->routes, new_cap * sizeof *routes);
                    if (!routes) {
                        route_free(&route);
                        return BW_ENOMEM;
                    }
                    model->routes = routes;
                    cap = new_cap;
                }
                model->routes[model->n_routes++] = route;
            }
        }
    }
    check_routes(model, errors);
    return 0;
}

int bw_cg_model_load(bw_cg_model_t *model, const uint8_t *bytes, size_t len)
{
    memset(model, 0, sizeof *model);
    model->set = google__protobuf__file_descriptor_set__unpack(NULL, len, bytes);
    if (!model->set) {
        bw_cg_error("input is not a serialized FileDescriptorSet");
        bw_cg_hint("Write it with protoc --include_imports --include_source_info "
                   "--descriptor_set_out.");
        return BW_EINVAL;
    }
    int errors = 0;
    int rc = index_types(model);
    if (!rc)
        rc = check_json_names(model, &errors);
    if (!rc)
        rc = load_routes(model, &errors);
    if (rc == BW_ENOMEM)
        bw_cg_error("out of memory");
    if (!rc && errors) {
        int n = bw_cg_error_count();
        bw_cg_error("%d error%s in the contracts; nothing was written", n, n == 1 ? "" : "s");
        rc = BW_EINVAL;
    }
    if (rc)
        bw_cg_model_free(model);
    return rc;
}

void bw_cg_model_free(bw_cg_model_t *model)
{
    if (!model)
        return;
    for (size_t i = 0; i < model->n_routes; i++)
        route_free(&model->routes[i]);
    free(model->routes);
    for (size_t i = 0; i < model->n_types; i++)
        free(model->types[i].full_name);
    free(model->types);
    if (model->set)
        google__protobuf__file_descriptor_set__free_unpacked(model->set, NULL);
    memset(model, 0, sizeof *model);
}
