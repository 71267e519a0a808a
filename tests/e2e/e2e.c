/*
 * The helpers e2e.h declares: tenants made through the API and requests
 * whose status is asserted.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>

tenant_t new_tenant(const char *name)
{
    tenant_t t = {0};
    t.id = bw_test_create_tenant(name, &t.key);
    ck_assert_ptr_nonnull(t.id);
    return t;
}

tenant_t new_tenant_with_entity(const char *name, const char *entity_json)
{
    tenant_t t = new_tenant(name);
    json_t *e = call(t.key, "POST", "/v1/entities", entity_json, 201);
    t.entity = strdup(jstr(e, "id"));
    json_decref(e);
    return t;
}

pid_t process_pid(const char *process)
{
    char file[512];
    snprintf(file, sizeof(file), "%s/%s.pid", bw_test_env("BULWARK_TEST_RUN_DIR"), process);
    FILE *f = fopen(file, "r");
    long pid = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

void free_tenant(tenant_t *t)
{
    free(t->id);
    free(t->key);
    free(t->entity);
}

json_t *call(const char *key, const char *method, const char *path, const char *body, long want)
{
    return bw_test_call(key, method, path, body, want);
}

json_t *vexpect(long status, const char *field, const char *method, const char *key,
                const char *body, const char *fmt, va_list ap)
{
    char path[4096];
    vsnprintf(path, sizeof(path), fmt, ap);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http(method, path, key, body, NULL, &r), 0);
    if (status >= 400)
        ck_assert_problem(&r, status, field);
    else
        ck_assert_msg(r.status == status, "%s %s: status %ld, want %ld: %s", method, path, r.status,
                      status, r.body);
    json_t *json = json_incref(r.json);
    bw_test_resp_free(&r);
    return json;
}

json_t *expect(long status, const char *method, const char *key, const char *body, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *json = vexpect(status, NULL, method, key, body, fmt, ap);
    va_end(ap);
    return json;
}

void expect_problem(const char *key, const char *method, const char *path, const char *body,
                    int status, const char *field)
{
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http(method, path, key, body, NULL, &r), 0);
    ck_assert_problem(&r, status, field);
    bw_test_resp_free(&r);
}

json_t *log_line_since(const char *process, const char *needle, const char *key, const char *value,
                       const char *since)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.log", bw_test_env("BULWARK_TEST_LOG_DIR"), process);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    char *buf = NULL;
    size_t cap = 0;
    json_t *found = NULL;
    while (found == NULL && getline(&buf, &cap, f) > 0) {
        /* lines of the start-up script ("=== start") are not JSON */
        if (buf[0] != '{' || strstr(buf, needle) == NULL)
            continue;
        json_error_t err;
        json_t *line = json_loads(buf, JSON_DISABLE_EOF_CHECK, &err);
        ck_assert_msg(line != NULL, "a log line of %s is not JSON: %s", process, buf);
        if ((key == NULL || strcmp(jstr(line, key), value) == 0) &&
            (since == NULL || strcmp(jstr(line, "time"), since) >= 0))
            found = line;
        else
            json_decref(line);
    }
    free(buf);
    fclose(f);
    return found;
}
