/*
 * The HTTP client of bulwarkctl, on libcurl: one request at a time to the
 * gateway with a bearer token, the reply read whole (up to a bound) and
 * parsed as JSON. A 429 waits for its Retry-After and tries again a few
 * times: the gateway limits each tenant's rate, and a script should not
 * fail for it. Failures are said on stderr in the words of the problem+json
 * the gateway answered.
 */
#include "ctl.h"

#include "buf.h"
#include "status.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* No reply of the gateway comes near this (an export page is about 1 MiB). */
#define MAX_REPLY (64L * 1024 * 1024)
#define MAX_RETRIES 5
#define MAX_RETRY_WAIT_SEC 10

/* Keeps the reply in a bw_buf_t of at most MAX_REPLY bytes; a refused
 * append stops the transfer. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    size_t n = size * nmemb;
    return bw_buf_add(arg, ptr, n) == 0 ? n : 0;
}

/* The seconds a 429 asks to wait, from its Retry-After header. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
    long *retry_after = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
        *retry_after = strtol(ptr + 12, NULL, 10);
    return n;
}

char *ctl_escape(const char *segment)
{
    char *escaped = curl_easy_escape(NULL, segment, 0);
    char *copy = escaped != NULL ? strdup(escaped) : NULL;
    curl_free(escaped);
    return copy;
}

static int request_once(const ctl_t *ctl, const char *method, const char *url, const char *token,
                        const char *body, ctl_resp_t *out, long *retry_after)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    bw_buf_t buf;
    bw_buf_init(&buf, (size_t)MAX_REPLY - 1);
    char auth[1024];
    int rc = CTL_UNAVAILABLE;
    if (curl == NULL)
        goto out;
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body != NULL)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, ctl->timeout_sec);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    CURLcode res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        fprintf(stderr, "bulwarkctl: cannot reach the gateway at %s: %s\n", ctl->url,
                buf.error == BW_ETOOBIG ? "the reply is too large" : curl_easy_strerror(res));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = buf.data != NULL ? buf.data : strdup("");
    out->len = buf.len;
    buf.data = NULL;
    if (out->body == NULL)
        goto out;
    out->json = out->len > 0 ? json_loadb(out->body, out->len, 0, NULL) : NULL;
    rc = 0;
out:
    bw_buf_free(&buf);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

int ctl_http(const ctl_t *ctl, const char *method, const char *path, const char *token,
             const char *body, ctl_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t base = strlen(ctl->url);
    while (base > 0 && ctl->url[base - 1] == '/')
        base--;
    char *url = malloc(base + strlen(path) + 1);
    if (url == NULL)
        return CTL_UNAVAILABLE;
    memcpy(url, ctl->url, base);
    strcpy(url + base, path);
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        long retry_after = 1;
        rc = request_once(ctl, method, url, token, body, out, &retry_after);
        if (rc != 0 || out->status != 429 || attempt == MAX_RETRIES)
            break;
        ctl_resp_free(out);
        sleep((unsigned)(retry_after < 1                    ? 1
                         : retry_after > MAX_RETRY_WAIT_SEC ? MAX_RETRY_WAIT_SEC
                                                            : retry_after));
    }
    free(url);
    return rc;
}

void ctl_resp_free(ctl_resp_t *resp)
{
    if (resp == NULL)
        return;
    json_decref(resp->json);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

int ctl_problem(const ctl_resp_t *resp)
{
    json_t *p = resp->json;
    const char *reason = json_string_value(json_object_get(p, "reason"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    if (detail != NULL)
        fprintf(stderr, "bulwarkctl: %ld %s: %s\n", resp->status, reason != NULL ? reason : "",
                detail);
    else
        fprintf(stderr, "bulwarkctl: the gateway answered %ld: %.200s\n", resp->status,
                resp->body != NULL ? resp->body : "");
    json_t *errors = json_object_get(p, "errors");
    for (size_t i = 0; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "field")),
                json_string_value(json_object_get(e, "message")));
    }
    return resp->status >= 400 && resp->status < 500 ? CTL_FAILED : CTL_UNAVAILABLE;
}

/* The path of a request: fmt with its one %s the escaped id (with id NULL,
 * fmt is the path as it is), then the page token, escaped, as the query's
 * pageToken (none when NULL or ""). Caller frees; NULL on OOM. Neither
 * value is read as a format. */
static char *request_path(const char *fmt, const char *id, const char *page_token)
{
    int paged = page_token != NULL && page_token[0] != '\0';
    char *escaped_id = id != NULL ? ctl_escape(id) : NULL;
    char *escaped_token = paged ? ctl_escape(page_token) : NULL;
    bw_buf_t path;
    bw_buf_init(&path, 0);
    if ((id == NULL || escaped_id != NULL) && (!paged || escaped_token != NULL)) {
        if (id != NULL)
            bw_buf_printf(&path, fmt, escaped_id);
        else
            bw_buf_adds(&path, fmt);
        if (paged)
            bw_buf_printf(&path, "%cpageToken=%s", strchr(fmt, '?') != NULL ? '&' : '?',
                          escaped_token);
    }
    free(escaped_id);
    free(escaped_token);
    if (path.error != 0 || path.data == NULL) {
        bw_buf_free(&path);
        return NULL;
    }
    return path.data;
}

static int call(const ctl_t *ctl, const char *token, const char *method, const char *fmt,
                const char *id, const char *page_token, const char *body, ctl_resp_t *r)
{
    char *path = request_path(fmt, id, page_token);
    if (path == NULL) {
        fprintf(stderr, "bulwarkctl: out of memory\n");
        return CTL_FAILED;
    }
    int rc = ctl_http(ctl, method, path, token, body, r);
    free(path);
    if (rc != 0)
        return rc;
    if (r->status >= 300 || (r->json == NULL && r->status != 204)) {
        rc = ctl_problem(r);
        ctl_resp_free(r);
    }
    return rc;
}

int ctl_call(const ctl_t *ctl, const char *token, const char *method, const char *fmt,
             const char *id, const char *body, ctl_resp_t *r)
{
    return call(ctl, token, method, fmt, id, NULL, body, r);
}

int ctl_get_page(const ctl_t *ctl, const char *token, const char *fmt, const char *id,
                 const char *page_token, ctl_resp_t *r)
{
    return call(ctl, token, "GET", fmt, id, page_token, NULL, r);
}

int ctl_list_all(const ctl_t *ctl, const char *token, const char *path, const char *member,
                 const ctl_column_t *cols, size_t n_cols)
{
    int rc = 0;
    json_t *all = json_array();
    char *page = NULL; /* the next page's token */
    do {
        ctl_resp_t r;
        if ((rc = ctl_get_page(ctl, token, path, NULL, page, &r)) != 0)
            break;
        json_array_extend(all, json_object_get(r.json, member));
        const char *next = json_string_value(json_object_get(r.json, "nextPageToken"));
        free(page);
        page = next != NULL && next[0] != '\0' ? strdup(next) : NULL;
        if (next != NULL && next[0] != '\0' && page == NULL)
            rc = CTL_FAILED;
        ctl_resp_free(&r);
    } while (page != NULL);
    free(page);
    if (rc == 0) {
        if (ctl->json) {
            json_t *doc = json_pack("{s:O}", member, all);
            ctl_json(stdout, doc);
            json_decref(doc);
        } else {
            ctl_table(stdout, all, cols, n_cols);
        }
    }
    json_decref(all);
    return rc;
}
