/*
 * bulwarkctl tenants: the platform operator's routes, with the operator
 * token. An export is fetched page by page and written as a directory: one
 * file per part of a table (JSON lines, each checked against the SHA-256
 * the gateway sent with it), manifest.json listing them with their rows and
 * checksums, and SHA256SUMS, which `sha256sum -c` checks. A deletion needs
 * --yes, and the tenant suspended (--suspend does it first); the
 * certificate's hash is checked against its canonical text.
 */
#include "ctl.h"

#include "buf.h"

#include "ids.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OPERATOR "BULWARK_OPERATOR_TOKEN (the platform operator's token)"

static const ctl_column_t tenant_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"STATE", "state"},
    {"ENTITIES", "usage.entities"},
    {"INCIDENTS", "usage.incidents"},
    {"REQUESTS_24H", "usage.requestsLast24h"},
    {"CREATED", "createTime"},
};
static const ctl_column_t tenant_fields[] = {
    {"id", "id"},
    {"name", "name"},
    {"state", "state"},
    {"suspended", "suspendTime"},
    {"reason", "suspendReason"},
    {"created", "createTime"},
    {"etag", "etag"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

int ctl_tenants_list(const ctl_t *ctl, int argc, char **argv)
{
    const char *page_size = "100", *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--page-size", &page_size, NULL}};
    int rc = ctl_args("tenants list", argc, argv, opts, N(opts), pos, 0, 0, &n_pos);
    if (rc == 0)
        rc = ctl_need("tenants list", ctl->operator_token, OPERATOR);
    if (rc != 0)
        return rc;
    char *end;
    long size = strtol(page_size, &end, 10);
    if (*end != '\0' || size < 1 || size > 500) {
        fprintf(stderr, "bulwarkctl: tenants list: --page-size is 1 to 500\n");
        return CTL_USAGE;
    }
    /* Every page, newest tenant first. */
    char path[64];
    snprintf(path, sizeof(path), "/v1/tenants?pageSize=%ld", size);
    return ctl_list_all(ctl, ctl->operator_token, path, "tenants", tenant_columns,
                        N(tenant_columns));
}

int ctl_tenants_create(const ctl_t *ctl, int argc, char **argv)
{
    const char *key_name = NULL, *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--admin-key-name", &key_name, NULL}};
    int rc = ctl_args("tenants create", argc, argv, opts, N(opts), pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need("tenants create", ctl->operator_token, OPERATOR);
    if (rc != 0)
        return rc;
    json_t *req = json_pack("{s:s}", "name", pos[0]);
    if (key_name != NULL)
        json_object_set_new(req, "adminKeyName", json_string(key_name));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    ctl_resp_t r;
    rc = body != NULL ? ctl_call(ctl, ctl->operator_token, "POST", "/v1/tenants%s", "", body, &r)
                      : CTL_FAILED;
    free(body);
    if (rc != 0)
        return rc;
    if (ctl->json) {
        ctl_json(stdout, r.json);
    } else {
        static const ctl_column_t created[] = {
            {"tenant", "tenant.id"},     {"name", "tenant.name"},
            {"admin key", "apiKey.id"},  {"admin key name", "apiKey.name"},
            {"secret", "apiKey.secret"},
        };
        ctl_fields(stdout, r.json, created, N(created));
        fprintf(stderr, "bulwarkctl: the secret is shown only now; keep it\n");
    }
    ctl_resp_free(&r);
    return CTL_OK;
}

static int set_state(const ctl_t *ctl, const char *command, const char *fmt, int argc, char **argv,
                     int with_reason)
{
    const char *reason = NULL, *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--reason", &reason, NULL}};
    int rc = ctl_args(command, argc, argv, opts, with_reason ? 1 : 0, pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need(command, ctl->operator_token, OPERATOR);
    if (rc != 0)
        return rc;
    json_t *req = json_object();
    if (reason != NULL)
        json_object_set_new(req, "reason", json_string(reason));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    ctl_resp_t r;
    rc = body != NULL ? ctl_call(ctl, ctl->operator_token, "POST", fmt, pos[0], body, &r)
                      : CTL_FAILED;
    free(body);
    if (rc != 0)
        return rc;
    if (ctl->json)
        ctl_json(stdout, r.json);
    else
        ctl_fields(stdout, r.json, tenant_fields, N(tenant_fields));
    ctl_resp_free(&r);
    return CTL_OK;
}

int ctl_tenants_suspend(const ctl_t *ctl, int argc, char **argv)
{
    return set_state(ctl, "tenants suspend", "/v1/tenants/%s:suspend", argc, argv, 1);
}

int ctl_tenants_resume(const ctl_t *ctl, int argc, char **argv)
{
    return set_state(ctl, "tenants resume", "/v1/tenants/%s:resume", argc, argv, 0);
}

static void sha256_hex(const char *data, size_t len, char hex[2 * BW_SHA256_LEN + 1])
{
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(data, len, digest);
    bw_hex(digest, sizeof(digest), hex);
}

/* Whether the gateway's file name may be written as it is: one path
 * component, not hidden, at most NAME_MAX bytes, and nothing that would
 * change a line of SHA256SUMS (a control character or a backslash). */
static int safe_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX || name[0] == '.')
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Writes data into dir/name, created new (mode 600: a tenant's data). */
static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    if (!safe_name(name)) {
        char shown[NAME_MAX + 1];
        size_t i = 0;
        for (; name[i] != '\0' && i < NAME_MAX; i++)
            shown[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
        shown[i] = '\0';
        fprintf(stderr, "bulwarkctl: refusing the file name \"%s\" the gateway sent\n", shown);
        return CTL_FAILED;
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        fprintf(stderr, "bulwarkctl: the path of %s is too long\n", name);
        return CTL_FAILED;
    }
    mode_t old = umask(077);
    FILE *fp = fopen(path, "wx");
    umask(old);
    if (fp == NULL) {
        fprintf(stderr, "bulwarkctl: cannot create %s: %s\n", path, strerror(errno));
        return CTL_FAILED;
    }
    int ok = fwrite(data, 1, len, fp) == len;
    ok &= fclose(fp) == 0;
    if (!ok)
        fprintf(stderr, "bulwarkctl: cannot write %s\n", path);
    return ok ? CTL_OK : CTL_FAILED;
}

/* Adds rows to table's total in tables (an array of {table, rows}). */
static void add_rows(json_t *tables, const char *table, json_int_t rows)
{
    for (size_t i = 0; i < json_array_size(tables); i++) {
        json_t *t = json_array_get(tables, i);
        if (strcmp(json_string_value(json_object_get(t, "table")), table) == 0) {
            json_int_t before = json_integer_value(json_object_get(t, "rows"));
            json_object_set_new(t, "rows", json_integer(before + rows));
            return;
        }
    }
    json_array_append_new(tables, json_pack("{s:s, s:I}", "table", table, "rows", rows));
}

/* One page's files into dir, each checked against its checksum; their
 * manifest entries appended to files, their rows to tables. */
static int write_page(const char *dir, json_t *page, json_t *files, json_t *tables, json_t *sums)
{
    json_t *page_files = json_object_get(page, "files");
    for (size_t i = 0; i < json_array_size(page_files); i++) {
        json_t *f = json_array_get(page_files, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *content = json_string_value(json_object_get(f, "content"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        const char *table = json_string_value(json_object_get(f, "table"));
        if (name == NULL || content == NULL || sha == NULL || table == NULL) {
            fprintf(stderr, "bulwarkctl: the export page lists a file without its content\n");
            return CTL_FAILED;
        }
        char hex[2 * BW_SHA256_LEN + 1];
        sha256_hex(content, strlen(content), hex);
        if (strcmp(hex, sha) != 0) {
            fprintf(stderr,
                    "bulwarkctl: %s does not match its checksum (%s, the content hashes to "
                    "%s): the export is not complete\n",
                    name, sha, hex);
            return CTL_INVALID;
        }
        int rc = write_file(dir, name, content, strlen(content));
        if (rc != 0)
            return rc;
        const char *rows_text = json_string_value(json_object_get(f, "rows"));
        json_int_t rows = rows_text != NULL ? strtoll(rows_text, NULL, 10) : 0;
        json_array_append_new(files,
                              json_pack("{s:s, s:s, s:O, s:O, s:I, s:I, s:s}", "name", name,
                                        "table", table, "service", json_object_get(f, "service"),
                                        "part", json_object_get(f, "part"), "rows", rows, "bytes",
                                        (json_int_t)strlen(content), "sha256", sha));
        add_rows(tables, table, rows);
        json_array_append_new(sums, json_pack("[s, s]", sha, name));
    }
    return CTL_OK;
}

int ctl_tenants_export(const ctl_t *ctl, int argc, char **argv)
{
    const char *dir = NULL, *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--dir", &dir, NULL}};
    int rc = ctl_args("tenants export", argc, argv, opts, N(opts), pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need("tenants export", ctl->operator_token, OPERATOR);
    if (rc == 0)
        rc = ctl_need("tenants export", dir, "--dir DIR (a directory that does not exist yet)");
    if (rc != 0)
        return rc;
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "bulwarkctl: tenants export: cannot create %s: %s\n", dir, strerror(errno));
        return errno == EEXIST ? CTL_USAGE : CTL_FAILED;
    }
    json_t *files = json_array(), *tables = json_array(), *sums = json_array();
    json_t *manifest = NULL;
    char *page = NULL; /* the next page's token */
    int pages = 0;
    do {
        ctl_resp_t r;
        if ((rc = ctl_get_page(ctl, ctl->operator_token, "/v1/tenants/%s:export", pos[0], page,
                               &r)) != 0)
            break;
        if (manifest == NULL)
            manifest = json_pack("{s:O, s:O, s:O}", "format", json_object_get(r.json, "format"),
                                 "tenant", json_object_get(r.json, "tenant"), "exportTime",
                                 json_object_get(r.json, "exportTime"));
        rc = write_page(dir, r.json, files, tables, sums);
        const char *next = json_string_value(json_object_get(r.json, "nextPageToken"));
        free(page);
        page = next != NULL && next[0] != '\0' ? strdup(next) : NULL;
        if (rc == 0 && next != NULL && next[0] != '\0' && page == NULL)
            rc = CTL_FAILED;
        ctl_resp_free(&r);
        pages++;
    } while (rc == 0 && page != NULL);
    free(page);
    if (rc == 0) {
        json_object_set(manifest, "files", files);
        json_object_set(manifest, "tables", tables);
        char *text = json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
        /* One line per file, as long as its name (the gateway's to choose). */
        bw_buf_t sums_text;
        bw_buf_init(&sums_text, 0);
        if (text == NULL) {
            rc = CTL_FAILED;
        } else {
            char hex[2 * BW_SHA256_LEN + 1];
            for (size_t i = 0; i < json_array_size(sums); i++) {
                json_t *s = json_array_get(sums, i);
                bw_buf_printf(&sums_text, "%s  %s\n", json_string_value(json_array_get(s, 0)),
                              json_string_value(json_array_get(s, 1)));
            }
            size_t text_len = strlen(text);
            text[text_len++] = '\n';
            sha256_hex(text, text_len, hex);
            bw_buf_printf(&sums_text, "%s  manifest.json\n", hex);
            rc = sums_text.error != 0 ? CTL_FAILED
                                      : write_file(dir, "manifest.json", text, text_len);
            if (rc == 0)
                rc = write_file(dir, "SHA256SUMS", sums_text.data, sums_text.len);
        }
        free(text);
        bw_buf_free(&sums_text);
    }
    if (rc == 0) {
        if (ctl->json) {
            ctl_json(stdout, manifest);
        } else {
            static const ctl_column_t cols[] = {{"TABLE", "table"}, {"ROWS", "rows"}};
            ctl_table(stdout, tables, cols, N(cols));
            fprintf(stdout,
                    "%zu files in %s (%d pages); check them with: cd %s && sha256sum -c "
                    "SHA256SUMS\n",
                    json_array_size(files), dir, pages, dir);
        }
    } else {
        fprintf(stderr, "bulwarkctl: the export in %s is incomplete\n", dir);
    }
    json_decref(manifest);
    json_decref(files);
    json_decref(tables);
    json_decref(sums);
    return rc;
}

int ctl_tenants_delete(const ctl_t *ctl, int argc, char **argv)
{
    const char *certificate = NULL, *pos[1];
    int yes = 0, suspend = 0, n_pos;
    ctl_opt_t opts[] = {{"--yes", NULL, &yes},
                        {"--suspend", NULL, &suspend},
                        {"--certificate", &certificate, NULL}};
    int rc = ctl_args("tenants delete", argc, argv, opts, N(opts), pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need("tenants delete", ctl->operator_token, OPERATOR);
    if (rc != 0)
        return rc;
    if (!yes) {
        fprintf(stderr,
                "bulwarkctl: tenants delete removes every row of tenant %s in every "
                "service, audit trail and attestations included, for good; say --yes\n",
                pos[0]);
        return CTL_USAGE;
    }
    ctl_resp_t r;
    if (suspend) {
        if ((rc = ctl_call(ctl, ctl->operator_token, "POST", "/v1/tenants/%s:suspend", pos[0],
                           "{\"reason\":\"deletion\"}", &r)) != 0)
            return rc;
        ctl_resp_free(&r);
    }
    if ((rc = ctl_call(ctl, ctl->operator_token, "DELETE", "/v1/tenants/%s", pos[0], NULL, &r)) !=
        0)
        return rc;
    /* The hash is the canonical text's: check it before handing it on. */
    const char *canonical = json_string_value(json_object_get(r.json, "canonical"));
    const char *sha = json_string_value(json_object_get(r.json, "sha256"));
    char hex[2 * BW_SHA256_LEN + 1] = "";
    if (canonical != NULL)
        sha256_hex(canonical, strlen(canonical), hex);
    if (sha == NULL || strcmp(hex, sha) != 0) {
        fprintf(stderr, "bulwarkctl: the tenant is deleted, but the certificate's hash does not "
                        "match its canonical text\n");
        rc = CTL_INVALID;
    }
    if (certificate != NULL) {
        char *text = json_dumps(r.json, JSON_INDENT(2));
        FILE *fp = text != NULL ? fopen(certificate, "w") : NULL;
        if (fp == NULL || fputs(text, fp) == EOF || fputc('\n', fp) == EOF) {
            fprintf(stderr, "bulwarkctl: cannot write the certificate to %s\n", certificate);
            rc = rc != 0 ? rc : CTL_FAILED;
        }
        if (fp != NULL && fclose(fp) != 0)
            rc = rc != 0 ? rc : CTL_FAILED;
        free(text);
    }
    if (ctl->json) {
        ctl_json(stdout, r.json);
    } else {
        static const ctl_column_t head[] = {
            {"tenant", "tenant"}, {"name", "tenantName"},   {"deleted", "deleteTime"},
            {"by", "deletedBy"},  {"request", "requestId"}, {"rows", "totalRows"},
            {"sha256", "sha256"},
        };
        static const ctl_column_t cols[] = {
            {"TABLE", "table"}, {"SERVICE", "service"}, {"ROWS", "rows"}};
        ctl_fields(stdout, r.json, head, N(head));
        fputc('\n', stdout);
        ctl_table(stdout, json_object_get(r.json, "tables"), cols, N(cols));
    }
    ctl_resp_free(&r);
    return rc;
}
