/*
 * The request builder (reqbuild.h): JSON body, query string, path values
 * and media type into the route's request message through common/json.c,
 * or a raw route's bytes and headers as they came. Every refusal is a
 * problem naming the field and the reason; nothing here writes a reply.
 */
#include "reqbuild.h"

#include "headers.h"
#include "json.h"
#include "status.h"
#include "utf8.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One build: its input, arena and the problem it fills on failure. */
typedef struct reqbuild {
    bw_arena_t *arena;
    const bw_reqbuild_in_t *in;
    bw_problem_t *problem;
} reqbuild_t;

/* Fills the problem, with one optional field error; returns -1. */
static int fail(reqbuild_t *b, int http_status, const char *reason, const char *detail,
                const char *field)
{
    bw_problem_error_t *e = NULL;
    if (field != NULL && (e = bw_arena_alloc(b->arena, sizeof(*e))) != NULL)
        *e = (bw_problem_error_t){field, detail};
    *b->problem = (bw_problem_t){.grpc_code = BW_GRPC_INVALID_ARGUMENT,
                                 .http_status = http_status,
                                 .reason = reason,
                                 .detail = detail,
                                 .errors = e,
                                 .n_errors = e != NULL};
    return -1;
}

static int fail_oom(reqbuild_t *b)
{
    *b->problem = (bw_problem_t){
        .grpc_code = BW_GRPC_INTERNAL, .reason = "INTERNAL", .detail = "out of memory"};
    return -1;
}

/* The JSON name of the top-level request field bound to a body, for
 * stripping it from field paths ("entity.timeZone" -> "timeZone"). */
static void body_prefix(const bw_route_t *route, char *buf, size_t len)
{
    buf[0] = '\0';
    if (route->body != NULL && strcmp(route->body, "*") != 0)
        bw_json_name(route->body, buf, len);
}

/* A refusal of common/json.c, its field named as the client wrote it. */
static int fail_json(reqbuild_t *b, const bw_json_error_t *err)
{
    char prefix[128];
    const char *field = err->field;
    body_prefix(b->in->call, prefix, sizeof(prefix));
    size_t pl = strlen(prefix);
    if (pl > 0 && strncmp(field, prefix, pl) == 0 && (field[pl] == '.' || field[pl] == '\0'))
        field = field[pl] == '.' ? field + pl + 1 : "";
    const char *detail =
        field[0] != '\0' ? bw_arena_printf(b->arena, "%s: %s", field, err->message) : err->message;
    if (field[0] == '\0') {
        *b->problem = (bw_problem_t){.grpc_code = BW_GRPC_INVALID_ARGUMENT,
                                     .reason = "MALFORMED_JSON",
                                     .detail = bw_arena_strdup(b->arena, detail)};
        return -1;
    }
    bw_problem_error_t *e = bw_arena_alloc(b->arena, sizeof(*e));
    if (e != NULL)
        *e = (bw_problem_error_t){bw_arena_strdup(b->arena, field),
                                  bw_arena_strdup(b->arena, err->message)};
    *b->problem = (bw_problem_t){.grpc_code = BW_GRPC_INVALID_ARGUMENT,
                                 .reason = "INVALID_FIELD",
                                 .detail = detail,
                                 .errors = e,
                                 .n_errors = e != NULL};
    return -1;
}

/* A query parameter or path value that jansson refuses (not UTF-8 once
 * percent-decoded) is the client's mistake, named. */
static int fail_not_utf8(reqbuild_t *b, const char *what)
{
    const char *field = bw_arena_strdup(b->arena, what);
    return fail(b, 0, "INVALID_FIELD",
                bw_arena_printf(b->arena, "%s: not valid UTF-8 once percent-decoded", what), field);
}

/* The query string libevent refused (a parameter without "=", an empty name
 * or an empty pair), answered naming the parameter where it has a name. */
static int fail_query(reqbuild_t *b, const char *query)
{
    for (const char *p = query; *p != '\0';) {
        size_t len = strcspn(p, "&");
        size_t name_len = strcspn(p, "=&");
        if (len > 0 && name_len == len) {
            char *field = bw_arena_strndup(b->arena, p, name_len < 64 ? name_len : 64);
            return fail(
                b, 0, "INVALID_QUERY",
                bw_arena_printf(b->arena, "%s has no value: give it as %s=value", field, field),
                field);
        }
        p += len + (p[len] == '&');
    }
    return fail(b, 0, "INVALID_QUERY",
                "the query string has a parameter without a name (\"=value\" or \"&&\")", NULL);
}

/* Adds the query parameters to root; routes with a body take none. */
static int add_query(reqbuild_t *b, json_t *root)
{
    const char *query = b->in->query;
    if (query == NULL || *query == '\0')
        return 0;
    struct evkeyvalq params = {NULL, &params.tqh_first};
    if (evhttp_parse_query_str(query, &params) != 0) {
        evhttp_clear_headers(&params);
        return fail_query(b, query);
    }
    const bw_route_t *route = b->in->call;
    const bw_route_match_t *match = b->in->match;
    int rc = 0;
    for (struct evkeyval *kv = params.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const ProtobufCFieldDescriptor *f = bw_json_find_field(route->request, kv->key);
        int bound = route->body != NULL;
        for (size_t i = 0; f != NULL && i < match->n_params; i++)
            bound |= strcmp(match->params[i].field, f->name) == 0;
        /* A time is a string on the query too; other messages are not parameters. */
        int message = f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                      strcmp(((const ProtobufCMessageDescriptor *)f->descriptor)->name,
                             "google.protobuf.Timestamp") != 0;
        /* The gateway fills a file's media type from Accept. */
        int media = b->in->media_type != NULL && f != NULL && strcmp(f->name, "media_type") == 0;
        if (f == NULL || bound || message || media) {
            char *field = bw_arena_strdup(b->arena, kv->key);
            rc = fail(b, 0, "UNKNOWN_PARAMETER",
                      bw_arena_printf(b->arena, "%s is not a query parameter of this route", field),
                      field);
            break;
        }
        char name[128];
        bw_json_name(f->name, name, sizeof(name));
        json_t *value = json_string(kv->value);
        if (value == NULL) {
            rc = fail_not_utf8(b, name);
            break;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            json_t *arr = json_object_get(root, name);
            if (arr == NULL) {
                arr = json_array();
                json_object_set_new(root, name, arr);
            }
            json_array_append_new(arr, value);
        } else {
            json_object_set_new(root, name, value);
        }
    }
    evhttp_clear_headers(&params);
    return rc;
}

/* The message a route's body is read into. */
static const ProtobufCMessageDescriptor *body_message(const bw_route_t *route)
{
    if (strcmp(route->body, "*") == 0)
        return route->request;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(route->request, route->body);
    return f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
}

/* The update mask of a PATCH: the body's top-level keys, comma-separated,
 * built in one pass. NULL on OOM. */
static const char *patch_mask(bw_arena_t *arena, json_t *body)
{
    size_t need = 1;
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) need += strlen(key) + 1;
    char *mask = bw_arena_alloc(arena, need);
    if (mask == NULL)
        return NULL;
    size_t o = 0;
    json_object_foreach(body, key, value)
    {
        size_t n = strlen(key);
        if (o > 0)
            mask[o++] = ',';
        memcpy(mask + o, key, n);
        o += n;
    }
    mask[o] = '\0';
    return mask;
}

/* Reads the JSON body of a route that takes one into *out. */
static int read_body(reqbuild_t *b, json_t **out)
{
    const bw_route_t *route = b->in->call;
    bw_json_error_t jerr = {{0}, {0}};
    json_t *body;
    if (b->in->body_len == 0) {
        body = json_object();
    } else {
        if (!bw_headers_is_json(b->in->content_type)) {
            const char *detail = "the body must be application/json";
            if (route->n_raw_body_types > 0)
                detail = bw_arena_printf(b->arena, "the body must be application/json or %s",
                                         route->raw_body_types[0]);
            return fail(b, 415, "UNSUPPORTED_MEDIA_TYPE", detail, NULL);
        }
        int rc = bw_json_load(b->in->body, b->in->body_len, &body, &jerr);
        if (rc == BW_ENOMEM)
            return fail_oom(b);
        if (rc != 0)
            return fail_json(b, &jerr);
    }
    if (body == NULL)
        return fail_oom(b);
    if (!json_is_object(body)) {
        json_decref(body);
        snprintf(jerr.message, sizeof(jerr.message), "the body must be a JSON object");
        return fail_json(b, &jerr);
    }
    /* Each key names a field, once: more keys than fields is refused before
     * any work per key. */
    const ProtobufCMessageDescriptor *desc = body_message(route);
    size_t keys = json_object_size(body);
    if (desc != NULL && keys > desc->n_fields) {
        json_decref(body);
        return fail(b, 0, "TOO_MANY_FIELDS",
                    bw_arena_printf(b->arena,
                                    "the body has %zu top-level keys; %s has only %u fields", keys,
                                    desc->name, desc->n_fields),
                    NULL);
    }
    *out = body;
    return 0;
}

/* The raw body's media type when the Content-Type is one of the route's
 * raw_body_types, else NULL. */
static const char *raw_body_type(const reqbuild_t *b)
{
    const bw_route_t *route = b->in->call;
    for (size_t i = 0; i < route->n_raw_body_types; i++)
        if (bw_headers_is_type(b->in->content_type, route->raw_body_types[i]))
            return route->raw_body_types[i];
    return NULL;
}

/* A body taken as it is (a CSV file): UTF-8 text, named "body" when it is
 * not, into the route's raw_body_field of a new *out. */
static int read_raw_body(reqbuild_t *b, const char *type, json_t **out)
{
    const char *charset = strchr(b->in->content_type, ';');
    if (charset != NULL) {
        charset += strspn(charset, "; \t");
        if (strncasecmp(charset, "charset=", 8) == 0 && strcasecmp(charset + 8, "utf-8") != 0 &&
            strcasecmp(charset + 8, "\"utf-8\"") != 0)
            return fail(
                b, 415, "UNSUPPORTED_MEDIA_TYPE",
                bw_arena_printf(b->arena, "a %s body must be UTF-8, not %.40s", type, charset + 8),
                NULL);
    }
    size_t bad = 0;
    if (bw_utf8_check(b->in->body, b->in->body_len, &bad) != 0) {
        long line = 1;
        for (size_t i = 0; i < bad; i++)
            line += b->in->body[i] == '\n';
        const char *why = bw_arena_printf(
            b->arena, "the %s body is not UTF-8 (line %ld, byte %zu); save the file as UTF-8", type,
            line, bad + 1);
        fail(b, 0, "INVALID_FIELD", why, "body");
        b->problem->detail = bw_arena_printf(b->arena, "body: %s", why);
        return -1;
    }
    char name[128];
    bw_json_name(b->in->call->raw_body_field, name, sizeof(name));
    json_t *root = json_object();
    /* Checked above: jansson need not look at every byte again. */
    if (root == NULL ||
        json_object_set_new(root, name, json_stringn_nocheck(b->in->body, b->in->body_len)) != 0) {
        json_decref(root);
        return fail_oom(b);
    }
    *out = root;
    return 0;
}

/* The JSON a JSON route's message is read from, the body and the path and
 * query values together, into *out; *flags the reading's. */
static int build_json(reqbuild_t *b, json_t **out, int *flags)
{
    const bw_reqbuild_in_t *in = b->in;
    const bw_route_t *route = in->call;
    json_t *root = NULL;
    const char *raw = route->body != NULL && in->body_len > 0 ? raw_body_type(b) : NULL;

    *flags = 0;
    if (raw != NULL) {
        if (read_raw_body(b, raw, &root) != 0)
            return -1;
    } else if (route->body != NULL) {
        json_t *body = NULL;
        if (read_body(b, &body) != 0)
            return -1;
        if (strcmp(route->body, "*") == 0) {
            root = body;
        } else {
            char name[128];
            bw_json_name(route->body, name, sizeof(name));
            root = json_object();
            if (root != NULL && in->method == BW_HTTP_PATCH &&
                protobuf_c_message_descriptor_get_field_by_name(route->request, "update_mask")) {
                /* The fields present in a PATCH body are the ones to change. */
                const char *mask = patch_mask(b->arena, body);
                json_object_set_new(root, "updateMask", mask != NULL ? json_string(mask) : NULL);
            }
            if (root != NULL)
                json_object_set_new(root, name, body);
            else
                json_decref(body);
        }
    } else {
        root = json_object();
        *flags = BW_JSON_LENIENT_SCALARS;
    }
    if (root == NULL)
        return fail_oom(b);
    if (add_query(b, root) != 0) {
        json_decref(root);
        return -1;
    }
    for (size_t i = 0; i < in->match->n_params; i++) {
        char name[128];
        bw_json_name(in->match->params[i].field, name, sizeof(name));
        json_t *value = json_string(in->match->params[i].value);
        if (value == NULL) {
            json_decref(root);
            return fail_not_utf8(b, name);
        }
        json_object_set_new(root, name, value);
    }
    if (in->media_type != NULL &&
        protobuf_c_message_descriptor_get_field_by_name(route->request, "media_type") != NULL)
        json_object_set_new(root, "mediaType", json_string(in->media_type));
    /* A file (a CSV import) is as long as the body may be. */
    if (route->raw_body_field != NULL)
        *flags |= BW_JSON_FILE_STRINGS;
    *out = root;
    return 0;
}

/* Sets the string field name of msg to value (borrowed); 0 or -1 when the
 * message has no such field. */
static int set_string_field(ProtobufCMessage *msg, const char *name, const char *value)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -1;
    *(const char **)((char *)msg + f->offset) = value;
    return 0;
}

static ProtobufCMessage *new_message(bw_arena_t *arena, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = bw_arena_alloc(arena, desc->sizeof_message);
    if (msg != NULL)
        protobuf_c_message_init(desc, msg);
    return msg;
}

/* The request of a raw route: path variables, the body's bytes as sent and
 * every header (name in lower case), no JSON read; codegen checked that the
 * request has the fields body (bytes) and headers (repeated name/value). The
 * service authenticates from exactly these bytes. */
static int build_raw(reqbuild_t *b, ProtobufCMessage **out)
{
    const bw_reqbuild_in_t *in = b->in;
    const bw_route_t *route = in->call;
    ProtobufCMessage *msg = new_message(b->arena, route->request);
    const ProtobufCFieldDescriptor *body =
        protobuf_c_message_descriptor_get_field_by_name(route->request, "body");
    const ProtobufCFieldDescriptor *headers =
        protobuf_c_message_descriptor_get_field_by_name(route->request, "headers");
    ProtobufCMessage **items =
        bw_arena_calloc(b->arena, in->n_headers + 1, sizeof(ProtobufCMessage *));
    if (msg == NULL || items == NULL || body == NULL || headers == NULL)
        return fail_oom(b);
    for (size_t i = 0; i < in->match->n_params; i++)
        set_string_field(msg, in->match->params[i].field, in->match->params[i].value);
    ProtobufCBinaryData *bytes = (ProtobufCBinaryData *)((char *)msg + body->offset);
    bytes->data = (uint8_t *)in->body;
    bytes->len = in->body_len;
    for (size_t i = 0; i < in->n_headers; i++) {
        ProtobufCMessage *h = new_message(b->arena, headers->descriptor);
        char *name = bw_arena_strdup(b->arena, in->headers[i].name);
        if (h == NULL || name == NULL)
            return fail_oom(b);
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        set_string_field(h, "name", name);
        set_string_field(h, "value", in->headers[i].value);
        items[i] = h;
    }
    *(size_t *)((char *)msg + headers->quantifier_offset) = in->n_headers;
    *(ProtobufCMessage ***)((char *)msg + headers->offset) = items;
    *out = msg;
    return 0;
}

/* The message of a request with path values only (no body, no query, no
 * media type; a GET or DELETE of one resource) when every value is a valid
 * UTF-8 singular string field: set directly, as build_json and
 * bw_json_to_pb would, without a jansson tree. Returns 1 with *out set, 0
 * when the request needs the general path (which also gives every error),
 * -1 when out of memory. */
static int build_path_only(reqbuild_t *b, ProtobufCMessage **out)
{
    const bw_reqbuild_in_t *in = b->in;
    const bw_route_t *route = in->call;
    if (route->body != NULL || route->raw_body_field != NULL ||
        (in->query != NULL && in->query[0] != '\0') ||
        (in->media_type != NULL &&
         protobuf_c_message_descriptor_get_field_by_name(route->request, "media_type") != NULL))
        return 0;
    for (size_t i = 0; i < in->match->n_params; i++) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
            route->request, in->match->params[i].field);
        const char *value = in->match->params[i].value;
        if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING ||
            f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            !bw_utf8_valid(value, strlen(value)))
            return 0;
    }
    ProtobufCMessage *msg = new_message(b->arena, route->request);
    if (msg == NULL)
        return fail_oom(b);
    for (size_t i = 0; i < in->match->n_params; i++)
        set_string_field(msg, in->match->params[i].field, in->match->params[i].value);
    *out = msg;
    return 1;
}

/* The message of a request read through its JSON (body, query and path
 * values together) into *out; 0 or -1 with the problem set. */
static int build_from_json(reqbuild_t *b, ProtobufCMessage **out)
{
    json_t *root = NULL;
    int flags = 0;
    if (build_json(b, &root, &flags) != 0)
        return -1;
    bw_json_error_t jerr = {{0}, {0}};
    int err = bw_json_to_pb(b->arena, b->in->call->request, root, flags, out, &jerr);
    json_decref(root);
    return err != 0 ? fail_json(b, &jerr) : 0;
}

int bw_reqbuild(bw_arena_t *arena, const bw_reqbuild_in_t *in, bw_reqbuild_out_t *out,
                bw_problem_t *problem)
{
    reqbuild_t b = {arena, in, problem};
    ProtobufCMessage *msg = NULL;
    int fast;
    *out = (bw_reqbuild_out_t){0};
    if (in->call->access == BW_ACCESS_SERVICE) {
        if (build_raw(&b, &msg) != 0)
            return -1;
    } else if ((fast = build_path_only(&b, &msg)) < 0) {
        return -1;
    } else if (fast == 0) {
        /* The tree lives on the request's arena, from the body's first
         * value to its last use here. */
        bw_json_arena_begin(arena);
        int rc = build_from_json(&b, &msg);
        bw_json_arena_end();
        if (rc != 0)
            return -1;
    }
    out->payload_len = protobuf_c_message_get_packed_size(msg);
    out->payload = bw_arena_alloc(arena, out->payload_len ? out->payload_len : 1);
    if (out->payload == NULL)
        return fail_oom(&b);
    protobuf_c_message_pack(msg, out->payload);
    out->message = msg;
    return 0;
}
