/*
 * Test helpers; see testkit.h. Failures end the running test through Check's
 * ck_abort_msg with the reason, never the secret values of the environment
 * (connection strings and tokens stay out of messages). HTTP goes through one
 * libcurl easy handle per request: tests value isolation over speed.
 */
#include "testkit.h"

#include "status.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/* A response body larger than this is a bug in the server under test. */
#define BW_TEST_MAX_BODY (64u * 1024 * 1024)
#define BW_TEST_HTTP_TIMEOUT_MS 30000L

typedef struct buf {
    char *data;
    size_t len, cap;
} buf_t;

static int buf_append(buf_t *b, const char *p, size_t n)
{
    if (n > BW_TEST_MAX_BODY || b->len > BW_TEST_MAX_BODY - n)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 1024 : b->cap;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

const char *bw_test_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        ck_abort_msg("environment variable %s is not set; run the tests through "
                     "deploy/local/test.sh, which starts the stack and exports BULWARK_TEST_*",
                     name);
    return v;
}

PGconn *bw_test_pg(const char *which_env)
{
    PGconn *conn = PQconnectdb(bw_test_env(which_env));
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", conn != NULL ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        ck_abort_msg("could not connect to the database named by %s: %s", which_env, msg);
    }
    return conn;
}

void bw_test_one_row_params(PGconn *conn, const char *const *sql_and_values, int n_values)
{
    PGresult *res = bw_test_sql_params(conn, sql_and_values, n_values);
    int rows = PQntuples(res);
    PQclear(res);
    ck_assert_msg(rows == 1, "%d rows, want one: %s", rows, sql_and_values[0]);
}

PGconn *bw_test_begin_as(const char *tenant_id)
{
    PGconn *conn = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(conn, "BEGIN");
    bw_test_exec(conn, "SELECT set_config('bulwark.tenant_id', $1, true)", tenant_id);
    return conn;
}

const bw_test_process_t bw_test_processes[] = {
    {"gateway", "bulwark_app_gateway", "bulwark_tenancy", "tenancy",
     "BULWARK_TEST_GATEWAY_DATABASE_URL"},
    {"scoping", "bulwark_app_scoping", "bulwark_scoping", "scoping",
     "BULWARK_TEST_SCOPING_DATABASE_URL"},
    {"crosswalk", "bulwark_app_crosswalk", "bulwark_crosswalk", "crosswalk",
     "BULWARK_TEST_CROSSWALK_DATABASE_URL"},
    {"incidents", "bulwark_app_incidents", "bulwark_incidents", "incidents",
     "BULWARK_TEST_INCIDENTS_DATABASE_URL"},
    {"attestations", "bulwark_app_attestations", "bulwark_attestations", "attestations",
     "BULWARK_TEST_ATTESTATIONS_DATABASE_URL"},
    {"integrations", "bulwark_app_integrations", "bulwark_integrations", "integrations",
     "BULWARK_TEST_INTEGRATIONS_DATABASE_URL"},
};
const int bw_test_n_processes = (int)(sizeof(bw_test_processes) / sizeof(bw_test_processes[0]));

const bw_test_process_t *bw_test_process(const char *name)
{
    for (int i = 0; i < bw_test_n_processes; i++)
        if (strcmp(bw_test_processes[i].name, name) == 0)
            return &bw_test_processes[i];
    return NULL;
}

/* Without parameters the text goes through the simple protocol, so a setup
 * script may hold several statements. */
static PGresult *run_sql(PGconn *conn, const char *const *sql_and_values, int n_values)
{
    if (n_values == 0)
        return PQexec(conn, sql_and_values[0]);
    return PQexecParams(conn, sql_and_values[0], n_values, NULL, sql_and_values + 1, NULL, NULL, 0);
}

static int result_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

PGresult *bw_test_sql_params(PGconn *conn, const char *const *sql_and_values, int n_values)
{
    PGresult *res = run_sql(conn, sql_and_values, n_values);
    if (!result_ok(res)) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", res != NULL ? PQresultErrorMessage(res) : "no result");
        PQclear(res);
        ck_abort_msg("SQL failed: %s(statement: %s)", msg, sql_and_values[0]);
    }
    return res;
}

const char *bw_test_sql_error_params(PGconn *conn, const char *const *sql_and_values, int n_values)
{
    static char sqlstate[6];
    PGresult *res = run_sql(conn, sql_and_values, n_values);
    if (result_ok(res)) {
        PQclear(res);
        ck_abort_msg("statement succeeded but should have failed: %s", sql_and_values[0]);
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    snprintf(sqlstate, sizeof(sqlstate), "%s", state != NULL ? state : "");
    PQclear(res);
    return sqlstate;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return buf_append(userdata, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

/* Called once per header line; a status line starts a new response (after
 * a 100 Continue, say), whose headers replace the previous ones. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_t *b = userdata;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
        b->len = 0;
    return buf_append(b, ptr, n) == 0 ? n : 0;
}

/* "name\0value\0name\0value\0\0" from the raw header block. */
static char *index_headers(const char *raw)
{
    size_t len = strlen(raw);
    char *index = malloc(len + 2);
    if (index == NULL)
        return NULL;
    char *w = index;
    const char *line = raw;
    while (*line != '\0') {
        size_t n = strcspn(line, "\r\n");
        const char *colon = memchr(line, ':', n);
        if (colon != NULL && strncmp(line, "HTTP/", 5) != 0) {
            const char *v = colon + 1;
            const char *end = line + n;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            memcpy(w, line, (size_t)(colon - line));
            w += colon - line;
            *w++ = '\0';
            memcpy(w, v, (size_t)(end - v));
            w += end - v;
            *w++ = '\0';
        }
        line += n;
        while (*line == '\r' || *line == '\n')
            line++;
    }
    *w = '\0';
    return index;
}

const char *bw_test_header(const bw_test_resp_t *resp, const char *name)
{
    if (resp == NULL || resp->header_index == NULL)
        return NULL;
    const char *p = resp->header_index;
    while (*p != '\0') {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

void bw_test_resp_free(bw_test_resp_t *resp)
{
    if (resp == NULL)
        return;
    json_decref(resp->json);
    free(resp->body);
    free(resp->content_type);
    free(resp->headers);
    free(resp->header_index);
    memset(resp, 0, sizeof(*resp));
}

static void curl_init_once(void)
{
    static int done;
    if (done)
        return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        ck_abort_msg("curl_global_init failed");
    atexit(curl_global_cleanup);
    done = 1;
}

static int has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return 1;
    return 0;
}

int bw_test_http(const char *method, const char *path, const char *token, const char *body,
                 const char *const *extra_headers, bw_test_resp_t *out)
{
    return bw_test_http_at(bw_test_env("BULWARK_TEST_URL"), method, path, token, body,
                           extra_headers, out);
}

json_t *bw_test_call(const char *token, const char *method, const char *path, const char *body,
                     long want)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http(method, path, token, body, NULL, &r), 0);
    ck_assert_msg(r.status == want, "%s %s: status %ld, want %ld: %s", method, path, r.status, want,
                  r.body);
    json_t *json = json_incref(r.json);
    bw_test_resp_free(&r);
    return json;
}

json_t *bw_test_parked_endpoint(const char *token, const char *path)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"url\":\"http://%s:9%s\",\"eventTypes\":[\"campaign.completed\"]}",
             bw_test_env("BULWARK_TEST_WEBHOOK_HOST"), path);
    return bw_test_call(token, "POST", "/v1/webhook-endpoints", body, 201);
}

static void *http_thread(void *arg)
{
    bw_test_async_t *req = arg;
    bw_test_http(req->method, req->path, req->token, req->body, req->headers, &req->resp);
    return NULL;
}

void bw_test_http_start(bw_test_async_t *req)
{
    curl_init_once(); /* here, not in the threads: it is not thread-safe */
    memset(&req->resp, 0, sizeof(req->resp));
    ck_assert_msg(pthread_create(&req->thread, NULL, http_thread, req) == 0,
                  "could not start a thread for %s %s", req->method, req->path);
}

void bw_test_http_join(bw_test_async_t *req)
{
    pthread_join(req->thread, NULL);
}

void bw_test_wait_relayed(const char *tenant_id)
{
    PGconn *db = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    bw_test_exec(db, "SELECT set_config('bulwark.tenant_id', $1, false)", tenant_id);
    long waiting = -1;
    for (int i = 0; i < 1200 && waiting != 0; i++) {
        if (i > 0)
            usleep(50 * 1000);
        PGresult *r = bw_test_sql(
            db, "SELECT count(*) FROM bulwark.outbox WHERE tenant_id = $1 AND relay_time IS NULL",
            tenant_id);
        waiting = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    PQfinish(db);
    ck_assert_msg(waiting == 0, "%ld events of tenant %s not relayed within 60 s", waiting,
                  tenant_id);
}

char *bw_test_scrape(const char *service)
{
    char env[64], base[128];
    snprintf(env, sizeof(env), "BULWARK_TEST_%s_METRICS_ADDR", service);
    for (char *c = env; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    snprintf(base, sizeof(base), "http://%s", bw_test_env(env));
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http_at(base, "GET", "/metrics", NULL, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s /metrics: %ld", service, r.status);
    ck_assert_ptr_nonnull(r.content_type);
    ck_assert_ptr_nonnull(strstr(r.content_type, "text/plain; version=0.0.4"));
    char *text = strdup(r.body);
    bw_test_resp_free(&r);
    return text;
}

double bw_test_sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return 0;
}

int bw_test_http_at(const char *base, const char *method, const char *path, const char *token,
                    const char *body, const char *const *extra_headers, bw_test_resp_t *out)
{
    int err = 0;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    buf_t body_buf = {0}, header_buf = {0};
    char *url = NULL;
    char *auth = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";

    memset(out, 0, sizeof(*out));
    curl_init_once();
    size_t base_len = strlen(base);
    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    size_t url_len = base_len + strlen(path) + 1;
    url = malloc(url_len);
    curl = curl_easy_init();
    if (url == NULL || curl == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    snprintf(url, url_len, "%.*s%s", (int)base_len, base, path);

    if (token != NULL) {
        size_t n = strlen(token) + sizeof("Authorization: Bearer ");
        auth = malloc(n);
        if (auth == NULL) {
            err = BW_ENOMEM;
            goto out;
        }
        snprintf(auth, n, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    /* libcurl would otherwise label a POST as a form. */
    if (!has_header(extra_headers, "Content-Type"))
        headers = curl_slist_append(headers, body != NULL ? "Content-Type: application/json"
                                                          : "Content-Type:");
    headers = curl_slist_append(headers, "Expect:");
    for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++)
        headers = curl_slist_append(headers, extra_headers[i]);
    if (headers == NULL) {
        err = BW_ENOMEM;
        goto out;
    }

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body_buf);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &header_buf);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, BW_TEST_HTTP_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0 && body == NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL || strcmp(method, "POST") == 0) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(body != NULL ? strlen(body) : 0));
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        }
    }

    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "bw_test_http: %s %s failed: %s\n", method, path,
                *errbuf ? errbuf : curl_easy_strerror(rc));
        err = BW_EUNAVAIL;
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != NULL && (out->content_type = strdup(ct)) == NULL)
        err = BW_ENOMEM;
    out->headers = header_buf.data != NULL ? header_buf.data : strdup("");
    header_buf.data = NULL;
    out->header_index = out->headers != NULL ? index_headers(out->headers) : NULL;
    if (out->headers == NULL || out->header_index == NULL)
        err = BW_ENOMEM;
    if (body_buf.len > 0)
        out->json = json_loadb(body_buf.data, body_buf.len, JSON_DECODE_ANY, NULL);
out:
    out->body = body_buf.data != NULL ? body_buf.data : strdup("");
    out->body_len = body_buf.data != NULL ? body_buf.len : 0;
    if (err != 0 && err != BW_EUNAVAIL)
        out->status = 0;
    free(header_buf.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(auth);
    free(url);
    return err;
}

char *bw_test_create_tenant(const char *name, char **admin_key_out)
{
    bw_test_resp_t resp;
    json_t *req = json_pack("{s:s}", "name", name);
    char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        ck_abort_msg("could not encode the tenant request");
    int err = bw_test_http("POST", "/v1/tenants", bw_test_env("BULWARK_TEST_OPERATOR_TOKEN"), body,
                           NULL, &resp);
    free(body);
    if (err != 0)
        ck_abort_msg("POST /v1/tenants got no response: %s", bw_strerror(err));
    if (resp.status != 200 && resp.status != 201)
        ck_abort_msg("POST /v1/tenants answered %ld: %s", resp.status, resp.body);
    const char *id = json_string_value(json_object_get(json_object_get(resp.json, "tenant"), "id"));
    const char *secret =
        json_string_value(json_object_get(json_object_get(resp.json, "apiKey"), "secret"));
    if (id == NULL || secret == NULL)
        ck_abort_msg("POST /v1/tenants answered without tenant.id or apiKey.secret: %s", resp.body);
    char *id_copy = strdup(id);
    char *secret_copy = admin_key_out != NULL ? strdup(secret) : NULL;
    bw_test_resp_free(&resp);
    if (id_copy == NULL || (admin_key_out != NULL && secret_copy == NULL))
        ck_abort_msg("out of memory");
    if (admin_key_out != NULL)
        *admin_key_out = secret_copy;
    return id_copy;
}

char *bw_test_uuid_str(void)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n <= 0)
            ck_abort_msg("getrandom failed");
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *s = malloc(37);
    if (s == NULL)
        ck_abort_msg("out of memory");
    snprintf(s, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return s;
}

const char *bw_test_int_text(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

long bw_test_rows_read(PGconn *conn, const char *schema)
{
    PGresult *res = bw_test_sql(conn,
                                "SELECT COALESCE(sum(pg_stat_get_xact_tuples_returned(c.oid)), 0) "
                                "FROM pg_class c WHERE c.relnamespace = $1::regnamespace "
                                "AND c.relkind IN ('r', 'i')",
                                schema);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}
