/*
 * The status tables: BW_E* -> gRPC status and reason, gRPC status -> HTTP.
 * Keep them the only place where these mappings are written down.
 */
#include "status.h"

#include <stddef.h>
#include <string.h>

static const struct {
    int err;
    int grpc;
    const char *reason;
    const char *text;
} error_table[] = {
    {BW_OK, BW_GRPC_OK, "OK", "success"},
    {BW_EINVAL, BW_GRPC_INVALID_ARGUMENT, "INVALID_ARGUMENT", "invalid argument"},
    {BW_ENOTFOUND, BW_GRPC_NOT_FOUND, "NOT_FOUND", "not found"},
    {BW_EEXIST, BW_GRPC_ALREADY_EXISTS, "ALREADY_EXISTS", "already exists"},
    {BW_EPERM, BW_GRPC_PERMISSION_DENIED, "PERMISSION_DENIED", "permission denied"},
    {BW_EAUTH, BW_GRPC_UNAUTHENTICATED, "UNAUTHENTICATED", "not authenticated"},
    {BW_ECONFLICT, BW_GRPC_ABORTED, "CONFLICT", "conflicting change"},
    {BW_EPRECOND, BW_GRPC_FAILED_PRECONDITION, "FAILED_PRECONDITION", "precondition failed"},
    {BW_ELIMIT, BW_GRPC_RESOURCE_EXHAUSTED, "RATE_LIMITED", "limit exceeded"},
    {BW_EUNAVAIL, BW_GRPC_UNAVAILABLE, "UNAVAILABLE", "service unavailable"},
    {BW_ETIMEOUT, BW_GRPC_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", "deadline exceeded"},
    {BW_ENOMEM, BW_GRPC_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "out of memory"},
    {BW_EINTERNAL, BW_GRPC_INTERNAL, "INTERNAL", "internal error"},
    {BW_EUNIMPL, BW_GRPC_UNIMPLEMENTED, "UNIMPLEMENTED", "not implemented"},
    {BW_ETOOBIG, BW_GRPC_RESOURCE_EXHAUSTED, "BODY_TOO_LARGE", "too large"},
    {BW_ECANCELLED, BW_GRPC_CANCELLED, "CANCELLED", "cancelled"},
};

static const struct {
    const char *name;
    int http;
} grpc_table[] = {
    [BW_GRPC_OK] = {"OK", 200},
    [BW_GRPC_CANCELLED] = {"CANCELLED", 499},
    [BW_GRPC_UNKNOWN] = {"UNKNOWN", 500},
    [BW_GRPC_INVALID_ARGUMENT] = {"INVALID_ARGUMENT", 400},
    [BW_GRPC_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", 504},
    [BW_GRPC_NOT_FOUND] = {"NOT_FOUND", 404},
    [BW_GRPC_ALREADY_EXISTS] = {"ALREADY_EXISTS", 409},
    [BW_GRPC_PERMISSION_DENIED] = {"PERMISSION_DENIED", 403},
    [BW_GRPC_RESOURCE_EXHAUSTED] = {"RESOURCE_EXHAUSTED", 429},
    [BW_GRPC_FAILED_PRECONDITION] = {"FAILED_PRECONDITION", 400},
    [BW_GRPC_ABORTED] = {"ABORTED", 409},
    [BW_GRPC_OUT_OF_RANGE] = {"OUT_OF_RANGE", 400},
    [BW_GRPC_UNIMPLEMENTED] = {"UNIMPLEMENTED", 501},
    [BW_GRPC_INTERNAL] = {"INTERNAL", 500},
    [BW_GRPC_UNAVAILABLE] = {"UNAVAILABLE", 503},
    [BW_GRPC_DATA_LOSS] = {"DATA_LOSS", 500},
    [BW_GRPC_UNAUTHENTICATED] = {"UNAUTHENTICATED", 401},
};

/* Reasons whose HTTP status differs from their gRPC status's. */
static const struct {
    const char *reason;
    int http;
} reason_overrides[] = {
    {"ETAG_MISMATCH", 412},
    {"BODY_TOO_LARGE", 413},
    {"UNSUPPORTED_MEDIA_TYPE", 415},
    {"NOT_ACCEPTABLE", 406},
    {"IDEMPOTENCY_KEY_REUSED", 422},
    {"IMPLEMENTING_REGULATION_NOT_APPLICABLE", 422},
    {"TICKET_EVENT_UNPROCESSABLE", 422},
    {"METHOD_NOT_ALLOWED", 405},
};

static const struct {
    int status;
    const char *title;
} http_titles[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {409, "Conflict"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {499, "Client Closed Request"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int error_index(int err)
{
    for (size_t i = 0; i < COUNT(error_table); i++)
        if (error_table[i].err == err)
            return (int)i;
    return -1;
}

const char *bw_strerror(int err)
{
    int i = error_index(err);
    return i < 0 ? "unknown error" : error_table[i].text;
}

int bw_status_grpc_code(int err)
{
    int i = error_index(err);
    return i < 0 ? BW_GRPC_INTERNAL : error_table[i].grpc;
}

const char *bw_status_default_reason(int err)
{
    int i = error_index(err);
    return i < 0 ? "INTERNAL" : error_table[i].reason;
}

const char *bw_status_grpc_name(int grpc_code)
{
    if (grpc_code < 0 || (size_t)grpc_code >= COUNT(grpc_table))
        return "UNKNOWN";
    return grpc_table[grpc_code].name;
}

int bw_status_http(int grpc_code, const char *reason)
{
    if (reason != NULL)
        for (size_t i = 0; i < COUNT(reason_overrides); i++)
            if (strcmp(reason, reason_overrides[i].reason) == 0)
                return reason_overrides[i].http;
    if (grpc_code < 0 || (size_t)grpc_code >= COUNT(grpc_table))
        return 500;
    return grpc_table[grpc_code].http;
}

const char *bw_status_http_title(int http_status)
{
    for (size_t i = 0; i < COUNT(http_titles); i++)
        if (http_titles[i].status == http_status)
            return http_titles[i].title;
    return "Error";
}
