/* clang-format off */
/*
 * ticket_system: a stand-in for Jira Cloud and a ServiceNow instance, for
 * the end-to-end suites. One port answers the REST calls Bulwark makes, as
 * the vendors document them:
 *
 *   Jira Cloud platform REST API v3 (Basic auth: e-mail and API token)
 *     GET  /rest/api/3/myself
 *          200 {"accountId","emailAddress","displayName","active"}
 *     POST /rest/api/3/issue
 *          201 {"id","key","self"}; 400 {"errorMessages","errors"} without
 *          fields.project.key, summary or issuetype
 *     GET  /rest/api/3/issue/{key}/transitions
 *          200 {"transitions":[{"id","name","to":{"id","name"}}]}
 *     POST /rest/api/3/issue/{key}/transitions
 *          204; 400 for an unknown transition id
 *     an unknown issue
 *          404 {"errorMessages":["Issue does not exist or you do not have
 *          permission to see it."],"errors":{}}
 *   ServiceNow Table API (Basic auth)
 *     GET   /api/now/table/sys_user            200 {"result":[{"sys_id","user_name"}]}
 *     POST  /api/now/table/incident            201 {"result":{record}} (sys_mod_count "0")
 *     PATCH /api/now/table/incident/{sys_id}   200 {"result":{record}} (sys_mod_count one
 *                                              more); 404 {"error":
 *                                              {"message":"No Record found","detail"},
 *                                              "status":"failure"}
 *
 * Wrong credentials: 401 (Jira: a text body; ServiceNow: {"error":{"message":
 * "User Not Authenticated","detail":"Required to provide Auth information"},
 * "status":"failure"}). A control port (127.0.0.1) drives it:
 *
 *   POST /config   {"user", "password", "failStatus", "failTimes", "retryAfter",
 *                  "failLatin1"}
 *                  the credentials it accepts, and the next failTimes API
 *                  calls answered failStatus (429 or 5xx) with Retry-After;
 *                  with failLatin1, as a proxy in front of the system may
 *                  answer: an HTML page in ISO 8859-1 ("Servi\xe7o
 *                  indispon\xedvel"), not UTF-8
 *   GET  /requests every API call so far, in order: {"requests":[{"method",
 *                  "path", "body", "status", "authorized"}]}
 *
 *   ticket_system [--host 127.0.0.2]
 *
 * prints "api=<port> control=<port>" on its first line once listening and
 * runs until SIGTERM or SIGINT. It depends on libevent, jansson and OpenSSL
 * only, never on Bulwark's code.
 */
/* clang-format on */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_RECORDS 10000
#define MAX_ISSUES 10000

static char user[256] = "bulwark@example.com", password[256] = "secret-token";
static int fail_status, fail_times, fail_latin1;
static char retry_after[32];
static json_t *requests; /* array */
static json_t *issues;   /* object: key -> {"id", "status"} */
static json_t *records;  /* object: sys_id -> record */
static int next_issue = 1, next_record = 1;

static const char *const jira_transitions[][2] = {
    {"11", "To Do"}, {"21", "In Progress"}, {"31", "Done"}};

static void reply_json(struct evhttp_request *req, int status, json_t *doc)
{
    struct evbuffer *out = evbuffer_new();
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text != NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json;charset=UTF-8");
        evbuffer_add(out, text, strlen(text));
        free(text);
    }
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

static char *body_of(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    return body;
}

/* Whether the request carries Basic credentials user:password. */
static int authorized(struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    char plain[600], encoded[900];
    snprintf(plain, sizeof(plain), "%s:%s", user, password);
    EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)plain, (int)strlen(plain));
    return auth != NULL && strncmp(auth, "Basic ", 6) == 0 && strcmp(auth + 6, encoded) == 0;
}

static void record(struct evhttp_request *req, const char *path, const char *body, int status,
                   int ok)
{
    if (json_array_size(requests) >= MAX_RECORDS)
        return;
    static const char *const names[] = {"GET",     "POST",  "HEAD",    "PUT",  "DELETE",
                                        "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *method = "?";
    for (int i = 0; i < 9; i++)
        if (cmd == (enum evhttp_cmd_type)(1 << i))
            method = names[i];
    json_t *parsed = json_loads(body, 0, NULL);
    json_array_append_new(requests,
                          json_pack("{s:s, s:s, s:o, s:i, s:b}", "method", method, "path", path,
                                    "body", parsed != NULL ? parsed : json_string(body), "status",
                                    status, "authorized", ok));
}

static int jira(struct evhttp_request *req, enum evhttp_cmd_type cmd, const char *path, json_t *in)
{
    char key[64];
    if (strcmp(path, "/rest/api/3/myself") == 0 && cmd == EVHTTP_REQ_GET) {
        reply_json(req, 200,
                   json_pack("{s:s, s:s, s:s, s:b}", "accountId", "5b10ac8d82e05b22cc7d4ef5",
                             "emailAddress", user, "displayName", "Bulwark Integration", "active",
                             1));
        return 200;
    }
    if (strcmp(path, "/rest/api/3/issue") == 0 && cmd == EVHTTP_REQ_POST) {
        json_t *fields = json_object_get(in, "fields");
        const char *project =
            json_string_value(json_object_get(json_object_get(fields, "project"), "key"));
        const char *summary = json_string_value(json_object_get(fields, "summary"));
        json_t *type = json_object_get(fields, "issuetype");
        if (project == NULL || summary == NULL || summary[0] == '\0' || !json_is_object(type)) {
            json_t *errors = json_object();
            if (project == NULL)
                json_object_set_new(errors, "project",
                                    json_string("Specify a valid project ID or key"));
            if (summary == NULL || summary[0] == '\0')
                json_object_set_new(errors, "summary",
                                    json_string("You must specify a summary of the issue."));
            if (!json_is_object(type))
                json_object_set_new(errors, "issuetype", json_string("Specify an issue type"));
            reply_json(req, 400, json_pack("{s:[], s:o}", "errorMessages", "errors", errors));
            return 400;
        }
        int n = next_issue++;
        snprintf(key, sizeof(key), "%s-%d", project, n);
        char id[32], self[128];
        snprintf(id, sizeof(id), "%d", 10000 + n);
        snprintf(self, sizeof(self), "https://example.atlassian.net/rest/api/3/issue/%s", id);
        if (json_object_size(issues) < MAX_ISSUES)
            json_object_set_new(issues, key, json_pack("{s:s, s:s}", "id", id, "status", "To Do"));
        reply_json(req, 201, json_pack("{s:s, s:s, s:s}", "id", id, "key", key, "self", self));
        return 201;
    }
    const char *prefix = "/rest/api/3/issue/";
    size_t pl = strlen(prefix);
    const char *suffix = strstr(path, "/transitions");
    if (strncmp(path, prefix, pl) == 0 && suffix != NULL && strcmp(suffix, "/transitions") == 0 &&
        (size_t)(suffix - path - pl) < sizeof(key)) {
        snprintf(key, sizeof(key), "%.*s", (int)(suffix - path - pl), path + pl);
        json_t *issue = json_object_get(issues, key);
        if (issue == NULL) {
            reply_json(req, 404,
                       json_pack("{s:[s], s:{}}", "errorMessages",
                                 "Issue does not exist or you do not have permission "
                                 "to see it.",
                                 "errors"));
            return 404;
        }
        if (cmd == EVHTTP_REQ_GET) {
            json_t *list = json_array();
            for (int i = 0; i < 3; i++)
                json_array_append_new(
                    list, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", jira_transitions[i][0],
                                    "name", jira_transitions[i][1], "to", "id",
                                    jira_transitions[i][0], "name", jira_transitions[i][1]));
            reply_json(req, 200,
                       json_pack("{s:s, s:o}", "expand", "transitions", "transitions", list));
            return 200;
        }
        if (cmd == EVHTTP_REQ_POST) {
            const char *id =
                json_string_value(json_object_get(json_object_get(in, "transition"), "id"));
            for (int i = 0; id != NULL && i < 3; i++)
                if (strcmp(id, jira_transitions[i][0]) == 0) {
                    json_object_set_new(issue, "status", json_string(jira_transitions[i][1]));
                    reply_json(req, 204, NULL);
                    return 204;
                }
            reply_json(req, 400,
                       json_pack("{s:[s], s:{}}", "errorMessages",
                                 "Transition id is not valid for this issue.", "errors"));
            return 400;
        }
    }
    reply_json(req, 404, json_pack("{s:[s], s:{}}", "errorMessages", "Not found", "errors"));
    return 404;
}

static int servicenow(struct evhttp_request *req, enum evhttp_cmd_type cmd, const char *path,
                      json_t *in)
{
    if (strcmp(path, "/api/now/table/sys_user") == 0 && cmd == EVHTTP_REQ_GET) {
        reply_json(req, 200,
                   json_pack("{s:[{s:s, s:s}]}", "result", "sys_id",
                             "6816f79cc0a8016401c5a33be04be441", "user_name", user));
        return 200;
    }
    if (strcmp(path, "/api/now/table/incident") == 0 && cmd == EVHTTP_REQ_POST) {
        char sys_id[33], number[16];
        int n = next_record++;
        snprintf(sys_id, sizeof(sys_id), "%032x", 0x9d3850 + n);
        snprintf(number, sizeof(number), "INC%07d", 10000 + n);
        json_t *rec = json_is_object(in) ? json_deep_copy(in) : json_object();
        json_object_set_new(rec, "sys_id", json_string(sys_id));
        json_object_set_new(rec, "number", json_string(number));
        if (json_object_get(rec, "state") == NULL)
            json_object_set_new(rec, "state", json_string("1"));
        json_object_set_new(rec, "sys_mod_count", json_string("0"));
        json_object_set(records, sys_id, rec);
        reply_json(req, 201, json_pack("{s:o}", "result", rec));
        return 201;
    }
    const char *prefix = "/api/now/table/incident/";
    if (strncmp(path, prefix, strlen(prefix)) == 0 && cmd == EVHTTP_REQ_PATCH) {
        json_t *rec = json_object_get(records, path + strlen(prefix));
        if (rec == NULL) {
            reply_json(req, 404,
                       json_pack("{s:{s:s, s:s}, s:s}", "error", "message", "No Record found",
                                 "detail",
                                 "Record doesn't exist or ACL restricts the record "
                                 "retrieval",
                                 "status", "failure"));
            return 404;
        }
        if (json_is_object(in))
            json_object_update(rec, in);
        /* Each update is a new version of the record, as ServiceNow counts them. */
        const char *was = json_string_value(json_object_get(rec, "sys_mod_count"));
        char count[24];
        snprintf(count, sizeof(count), "%ld", (was != NULL ? strtol(was, NULL, 10) : 0) + 1);
        json_object_set_new(rec, "sys_mod_count", json_string(count));
        reply_json(req, 200, json_pack("{s:O}", "result", rec));
        return 200;
    }
    reply_json(req, 400,
               json_pack("{s:{s:s, s:s}, s:s}", "error", "message",
                         "Requested URI does not represent any resource", "detail", "", "status",
                         "failure"));
    return 400;
}

static void on_api(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char *body = body_of(req);
    int ok = authorized(req), status, is_jira = strncmp(path, "/rest/", 6) == 0;
    if (fail_times > 0) {
        fail_times--;
        status = fail_status;
        if (retry_after[0])
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", retry_after);
        if (fail_latin1) {
            struct evbuffer *out = evbuffer_new();
            evbuffer_add_printf(out, "<html><body>Servi\xe7o indispon\xedvel</body></html>");
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                              "text/html;charset=ISO-8859-1");
            evhttp_send_reply(req, status, NULL, out);
            evbuffer_free(out);
        } else {
            reply_json(
                req, status,
                is_jira
                    ? json_pack("{s:[s], s:{}}", "errorMessages", "Rate limit exceeded.", "errors")
                    : json_pack("{s:{s:s, s:s}, s:s}", "error", "message", "Service unavailable",
                                "detail", "", "status", "failure"));
        }
    } else if (!ok) {
        status = 401;
        if (is_jira) {
            struct evbuffer *out = evbuffer_new();
            evbuffer_add_printf(out, "Client must be authenticated to access this resource.");
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                              "text/html;charset=UTF-8");
            evhttp_send_reply(req, 401, NULL, out);
            evbuffer_free(out);
        } else {
            reply_json(req, 401,
                       json_pack("{s:{s:s, s:s}, s:s}", "error", "message",
                                 "User Not Authenticated", "detail",
                                 "Required to provide Auth information", "status", "failure"));
        }
    } else {
        json_t *in = json_loads(body, 0, NULL);
        status = is_jira ? jira(req, cmd, path, in) : servicenow(req, cmd, path, in);
        json_decref(in);
    }
    record(req, path, body, status, ok);
    free(body);
}

static void on_control(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (strcmp(path, "/requests") == 0) {
        reply_json(req, 200, json_pack("{s:O}", "requests", requests));
        return;
    }
    if (strcmp(path, "/config") == 0) {
        char *body = body_of(req);
        json_t *in = json_loads(body, 0, NULL);
        free(body);
        const char *u = json_string_value(json_object_get(in, "user"));
        const char *p = json_string_value(json_object_get(in, "password"));
        const char *ra = json_string_value(json_object_get(in, "retryAfter"));
        if (u != NULL)
            snprintf(user, sizeof(user), "%s", u);
        if (p != NULL)
            snprintf(password, sizeof(password), "%s", p);
        fail_status = (int)json_integer_value(json_object_get(in, "failStatus"));
        fail_times = (int)json_integer_value(json_object_get(in, "failTimes"));
        fail_latin1 = json_is_true(json_object_get(in, "failLatin1"));
        snprintf(retry_after, sizeof(retry_after), "%s", ra != NULL ? ra : "");
        json_decref(in);
        reply_json(req, 200, json_object());
        return;
    }
    reply_json(req, 404, json_object());
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static int bound_port(struct evhttp_bound_socket *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.2";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--host") == 0)
            host = argv[++i];
    signal(SIGPIPE, SIG_IGN);
    requests = json_array();
    issues = json_object();
    records = json_object();
    struct event_base *base = event_base_new();
    struct evhttp *api = evhttp_new(base), *control = evhttp_new(base);
    evhttp_set_allowed_methods(api, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(api, on_api, NULL);
    evhttp_set_gencb(control, on_control, NULL);
    struct evhttp_bound_socket *a = evhttp_bind_socket_with_handle(api, host, 0);
    struct evhttp_bound_socket *c = evhttp_bind_socket_with_handle(control, "127.0.0.1", 0);
    if (a == NULL || c == NULL) {
        fprintf(stderr, "ticket_system: cannot listen on %s\n", host);
        return 1;
    }
    printf("api=%d control=%d\n", bound_port(a), bound_port(c));
    fflush(stdout);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(api);
    evhttp_free(control);
    event_base_free(base);
    json_decref(requests);
    json_decref(issues);
    json_decref(records);
    return 0;
}
