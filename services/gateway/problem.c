/*
 * Problem details rendering. The type URI is derived from the reason
 * ("urn:bulwark:problem:validation-failed") so that clients can switch on
 * either; the title is the HTTP status phrase. Details and field errors may
 * quote what a client sent (a path, a query parameter), so every string is
 * made valid UTF-8 (invalid bytes become U+FFFD) rather than dropped: a
 * problem always renders.
 */
#include "problem.h"

#include "json.h"
#include "status.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int bw_problem_status(const bw_problem_t *p)
{
    if (p->http_status != 0)
        return p->http_status;
    return bw_status_http(p->grpc_code, p->reason);
}

const char *bw_problem_title(int http_status)
{
    /* Statuses only the gateway's HTTP server answers; the rest are in
     * common/status.c. */
    static const struct {
        int status;
        const char *title;
    } titles[] = {
        {100, "Continue"},
        {408, "Request Timeout"},
        {414, "URI Too Long"},
        {417, "Expectation Failed"},
        {431, "Request Header Fields Too Large"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
        if (titles[i].status == http_status)
            return titles[i].title;
    return bw_status_http_title(http_status);
}

static json_t *text(const char *s)
{
    return bw_json_string_lossy(s != NULL ? s : "");
}

char *bw_problem_render(const bw_problem_t *p, size_t *len)
{
    int status = bw_problem_status(p);
    const char *reason = p->reason != NULL ? p->reason : bw_status_grpc_name(p->grpc_code);
    char type[160] = "urn:bulwark:problem:";
    size_t o = strlen(type);
    for (const char *r = reason; *r != '\0' && o < sizeof(type) - 1; r++)
        type[o++] = *r == '_' ? '-' : (char)tolower((unsigned char)*r);
    type[o] = '\0';

    json_t *doc = json_object();
    json_t *errors = json_array();
    char *out = NULL;
    if (doc == NULL || errors == NULL)
        goto out;
    for (size_t i = 0; i < p->n_errors; i++) {
        json_t *e = json_object();
        if (e == NULL || json_array_append_new(errors, e) != 0 ||
            json_object_set_new(e, "field", text(p->errors[i].field)) != 0 ||
            json_object_set_new(e, "message", text(p->errors[i].message)) != 0)
            goto out;
    }
    const char *title = bw_problem_title(status);
    if (json_object_set_new(doc, "type", json_string(type)) != 0 ||
        json_object_set_new(doc, "title", json_string(title)) != 0 ||
        json_object_set_new(doc, "status", json_integer(status)) != 0 ||
        json_object_set_new(doc, "detail", text(p->detail && *p->detail ? p->detail : title)) !=
            0 ||
        (p->instance != NULL && json_object_set_new(doc, "instance", text(p->instance)) != 0) ||
        json_object_set_new(doc, "code", json_string(bw_status_grpc_name(p->grpc_code))) != 0 ||
        json_object_set_new(doc, "reason", text(reason)) != 0 ||
        (p->request_id != NULL &&
         json_object_set_new(doc, "requestId", text(p->request_id)) != 0) ||
        json_object_set(doc, "errors", errors) != 0)
        goto out;
    out = json_dumps(doc, JSON_COMPACT);
    if (out != NULL && len != NULL)
        *len = strlen(out);
out:
    json_decref(errors);
    json_decref(doc);
    return out;
}
