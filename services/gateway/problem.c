/*
 * Problem details rendering. The type URI is derived from the reason
 * ("urn:bulwark:problem:validation-failed") so that clients can switch on
 * either; the title is the HTTP status phrase.
 */
#include "problem.h"

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
        json_t *e = json_pack("{s:s, s:s}", "field", p->errors[i].field ? p->errors[i].field : "",
                              "message", p->errors[i].message ? p->errors[i].message : "");
        if (e == NULL || json_array_append_new(errors, e) != 0)
            goto out;
    }
    json_object_set_new(doc, "type", json_string(type));
    json_object_set_new(doc, "title", json_string(bw_status_http_title(status)));
    json_object_set_new(doc, "status", json_integer(status));
    json_object_set_new(doc, "detail",
                        json_string(p->detail && *p->detail ? p->detail
                                                           : bw_status_http_title(status)));
    if (p->instance != NULL)
        json_object_set_new(doc, "instance", json_string(p->instance));
    json_object_set_new(doc, "code", json_string(bw_status_grpc_name(p->grpc_code)));
    json_object_set_new(doc, "reason", json_string(reason));
    if (p->request_id != NULL)
        json_object_set_new(doc, "requestId", json_string(p->request_id));
    json_object_set(doc, "errors", errors);
    out = json_dumps(doc, JSON_COMPACT);
    if (out != NULL && len != NULL)
        *len = strlen(out);
out:
    json_decref(errors);
    json_decref(doc);
    return out;
}
