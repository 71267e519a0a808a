/*
 * bulwarkctl soa: an entity's Statement of Applicability as CSV, in and
 * out, with a tenant key (BULWARK_API_KEY, admin or editor to import). The
 * import is all rows or none; the gateway names each bad line.
 */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define API_KEY "BULWARK_API_KEY (a key of the tenant)"
/* The gateway takes bodies up to 8 MiB by default. */
#define MAX_CSV (8L * 1024 * 1024)

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "bulwarkctl: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *data = malloc(cap + 1);
    while (data != NULL) {
        size_t got = fread(data + n, 1, cap - n, fp);
        n += got;
        if (n < cap)
            break;
        if (cap >= (size_t)MAX_CSV) {
            fprintf(stderr, "bulwarkctl: %s is larger than %ld bytes\n", path, MAX_CSV);
            free(data);
            data = NULL;
            break;
        }
        char *more = realloc(data, 2 * cap + 1);
        if (more == NULL) {
            free(data);
            data = NULL;
        } else {
            data = more;
            cap *= 2;
        }
    }
    if (data != NULL && ferror(fp)) {
        fprintf(stderr, "bulwarkctl: cannot read %s\n", path);
        free(data);
        data = NULL;
    }
    if (fp != stdin)
        fclose(fp);
    if (data != NULL) {
        data[n] = '\0';
        *len = n;
    }
    return data;
}

int ctl_soa_import(const ctl_t *ctl, int argc, char **argv)
{
    const char *pos[2];
    int n_pos;
    int rc = ctl_args("soa import", argc, argv, NULL, 0, pos, 2, 2, &n_pos);
    if (rc == 0)
        rc = ctl_need("soa import", ctl->api_key, API_KEY);
    if (rc != 0)
        return rc;
    size_t len = 0;
    char *csv = read_file(pos[1], &len);
    if (csv == NULL)
        return CTL_USAGE;
    json_t *text = json_stringn(csv, len);
    json_t *req = text != NULL ? json_object() : NULL;
    free(csv);
    if (req == NULL || text == NULL) {
        fprintf(stderr, "bulwarkctl: %s is not UTF-8 text\n", pos[1]);
        json_decref(req);
        json_decref(text);
        return CTL_USAGE;
    }
    json_object_set_new(req, "csv", text);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *entity = ctl_escape(pos[0]);
    char path[512];
    snprintf(path, sizeof(path), "/v1/entities/%s/controls:import", entity != NULL ? entity : "");
    free(entity);
    ctl_resp_t r;
    rc = body != NULL ? ctl_http(ctl, "POST", path, ctl->api_key, body, &r) : CTL_FAILED;
    free(body);
    if (rc != 0)
        return rc;
    if (r.status >= 300 || r.json == NULL) {
        rc = ctl_problem(&r);
    } else if (ctl->json) {
        ctl_json(stdout, r.json);
    } else {
        static const ctl_column_t cols[] = {{"rows", "rows"}, {"changed", "changed"}};
        ctl_fields(stdout, r.json, cols, 2);
    }
    ctl_resp_free(&r);
    return rc;
}

int ctl_soa_export(const ctl_t *ctl, int argc, char **argv)
{
    const char *file = NULL, *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--file", &file, NULL}};
    int rc = ctl_args("soa export", argc, argv, opts, 1, pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need("soa export", ctl->api_key, API_KEY);
    if (rc != 0)
        return rc;
    char *entity = ctl_escape(pos[0]);
    char path[512];
    snprintf(path, sizeof(path), "/v1/entities/%s/controls:export", entity != NULL ? entity : "");
    free(entity);
    ctl_resp_t r;
    if ((rc = ctl_http(ctl, "GET", path, ctl->api_key, NULL, &r)) != 0)
        return rc;
    const char *csv = json_string_value(json_object_get(r.json, "csv"));
    if (r.status >= 300 || csv == NULL) {
        rc = ctl_problem(&r);
    } else if (file != NULL) {
        FILE *fp = fopen(file, "wb");
        if (fp == NULL || fputs(csv, fp) == EOF || fclose(fp) != 0) {
            fprintf(stderr, "bulwarkctl: cannot write %s\n", file);
            rc = CTL_FAILED;
        } else if (ctl->json) {
            ctl_json(stdout, r.json);
        } else {
            char buf[32];
            const char *rows = ctl_member(r.json, "rows", buf, sizeof(buf));
            printf("%s rows written to %s\n", rows != NULL ? rows : "0", file);
        }
    } else if (ctl->json) {
        ctl_json(stdout, r.json);
    } else {
        fputs(csv, stdout);
    }
    ctl_resp_free(&r);
    return rc;
}
