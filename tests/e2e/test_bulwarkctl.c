/*
 * bulwarkctl against the live stack: the binary is run as an operator runs
 * it, with its settings in the environment, and what it prints and the
 * status it exits with are checked, for every command: --help; the tenants
 * commands with the operator token (an export whose SHA256SUMS `sha256sum
 * -c` accepts, a deletion that needs --yes and a suspended tenant); keys
 * and soa with a tenant's key; attestations verify offline on a real export
 * and a tampered one; migrate against the database. Refusals exit 1 with
 * the problem on stderr, bad arguments 2, an unreachable gateway 3, a
 * failed check 4. A fake gateway on a free port checks that what a hostile
 * one sends (page tokens, file names) stays data.
 */
#include "e2e.h"
#include "ids.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct run {
    int status;
    char *out, *err;
    json_t *json; /* stdout parsed, when it is JSON */
} run_t;

static char *slurp(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    lseek(fd, 0, SEEK_SET);
    while ((got = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    return buf;
}

/* Runs bulwarkctl with the arguments (NULL-terminated) and the stack's
 * settings in its environment (the test may have changed them). */
static run_t ctl(const char *arg, ...)
{
    const char *argv[32] = {BW_BULWARKCTL};
    int n = 1;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 31; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char out_path[] = "/tmp/bwctl-out.XXXXXX", err_path[] = "/tmp/bwctl-err.XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    ck_assert(out >= 0 && err >= 0);
    unlink(out_path);
    unlink(err_path);
    fflush(stdout);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    run_t r = {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err), NULL};
    r.json = json_loads(r.out, 0, NULL);
    close(out);
    close(err);
    return r;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
    json_decref(r->json);
}

#define ck_assert_run(r, want)                                                                     \
    ck_assert_msg((r).status == (want), "exit %d, want %d\nstdout: %s\nstderr: %s", (r).status,    \
                  (want), (r).out, (r).err)

/* The stack's settings for bulwarkctl. */
static void stack_env(void)
{
    setenv("BULWARK_URL", bw_test_env("BULWARK_TEST_URL"), 1);
    setenv("BULWARK_OPERATOR_TOKEN", bw_test_env("BULWARK_TEST_OPERATOR_TOKEN"), 1);
    setenv("BULWARK_ADMIN_DATABASE_URL", bw_test_env("BULWARK_TEST_ADMIN_DATABASE_URL"), 1);
    unsetenv("BULWARK_API_KEY");
}

static void rfc3339(long offset, char out[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/bwctl-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(every_command_answers_help)
{
    stack_env();
    run_t r = ctl("--help", NULL);
    ck_assert_run(r, 0);
    const char *commands[] = {"tenants list",        "tenants create", "tenants suspend",
                              "tenants resume",      "tenants export", "tenants delete",
                              "keys create",         "keys list",      "keys revoke",
                              "keys rotate",         "soa import",     "soa export",
                              "attestations verify", "migrate"};
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        ck_assert_msg(strstr(r.out, commands[i]) != NULL, "--help omits %s", commands[i]);
    ck_assert_ptr_nonnull(strstr(r.out, "exit status"));
    run_free(&r);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char group[32], name[32], want[80];
        int two = sscanf(commands[i], "%31s %31s", group, name) == 2;
        r = two ? ctl(group, name, "--help", NULL) : ctl(group, "--help", NULL);
        ck_assert_run(r, 0);
        snprintf(want, sizeof(want), "usage: bulwarkctl %s", commands[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s --help: %s", commands[i], r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "--output"));
        run_free(&r);
    }
    /* Usage errors: nothing is sent, exit 2. */
    const char *bad[][4] = {{"tenants", NULL},
                            {"nonsense", NULL},
                            {"tenants", "frobnicate", NULL},
                            {"--output", "yaml", "tenants", "list"},
                            {"tenants", "list", "--bogus", NULL},
                            {"tenants", "suspend", NULL},
                            {"keys", "list", "extra", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = ctl(bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL);
        ck_assert_run(r, 2);
        ck_assert_str_ne(r.err, "");
        run_free(&r);
    }
}
END_TEST

START_TEST(tenants_from_creation_to_deletion)
{
    stack_env();
    run_t r = ctl("--output", "json", "tenants", "create", "Command Line GmbH", NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(r.json);
    char *tenant = strdup(jstr(json_object_get(r.json, "tenant"), "id"));
    char *key = strdup(jstr(json_object_get(r.json, "apiKey"), "secret"));
    ck_assert_int_eq(strncmp(key, "bwk_", 4), 0);
    run_free(&r);
    bw_test_resp_t h;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", key,
                                  "{\"name\":\"CLI Energy\",\"timeZone\":\"UTC\"}", NULL, &h),
                     0);
    ck_assert_int_eq(h.status, 201);
    bw_test_resp_free(&h);

    /* The table has the tenant, with its columns. */
    r = ctl("tenants", "list", NULL);
    ck_assert_run(r, 0);
    ck_assert_int_eq(strncmp(r.out, "ID ", 3), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "REQUESTS_24H"));
    char *line = strstr(r.out, tenant);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_nonnull(strstr(line, "Command Line GmbH"));
    ck_assert_ptr_nonnull(strstr(line, "ACTIVE"));
    run_free(&r);
    /* One tenant a page: every page is read, this tenant's and a second
     * one's among them, whatever other suites made. */
    r = ctl("--output", "json", "tenants", "create", "Command Line Zwei GmbH", NULL);
    ck_assert_run(r, 0);
    char *second = strdup(jstr(json_object_get(r.json, "tenant"), "id"));
    run_free(&r);
    r = ctl("tenants", "list", "--page-size", "1", "--output", "json", NULL);
    ck_assert_run(r, 0);
    json_t *listed = json_object_get(r.json, "tenants");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(listed); i++) {
        const char *id = jstr(json_array_get(listed, i), "id");
        seen += strcmp(id, tenant) == 0 || strcmp(id, second) == 0;
    }
    ck_assert_int_eq(seen, 2);
    run_free(&r);
    free(second);

    /* Suspended: its key is refused; resumed: accepted. */
    r = ctl("--output", "json", "tenants", "suspend", tenant, "--reason", "audit", NULL);
    ck_assert_run(r, 0);
    ck_assert_str_eq(jstr(r.json, "state"), "SUSPENDED");
    ck_assert_str_eq(jstr(r.json, "suspendReason"), "audit");
    run_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &h), 0);
    ck_assert_int_eq(h.status, 403);
    bw_test_resp_free(&h);
    r = ctl("tenants", "resume", tenant, NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "ACTIVE"));
    run_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", key, NULL, NULL, &h), 0);
    ck_assert_int_eq(h.status, 200);
    bw_test_resp_free(&h);

    /* The export: files, manifest, and sums that sha256sum accepts. */
    char *tmp = temp_dir(), dir[600], cmd[1400];
    snprintf(dir, sizeof(dir), "%s/export", tmp);
    r = ctl("tenants", "export", tenant, "--dir", dir, NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "scoping.entities"));
    run_free(&r);
    snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum --quiet -c SHA256SUMS", dir);
    ck_assert_msg(system(cmd) == 0, "sha256sum -c SHA256SUMS failed in %s", dir);
    snprintf(cmd, sizeof(cmd), "%s/manifest.json", dir);
    json_t *manifest = json_load_file(cmd, 0, NULL);
    ck_assert_ptr_nonnull(manifest);
    ck_assert_str_eq(jstr(manifest, "tenant"), tenant);
    ck_assert_str_eq(jstr(manifest, "format"), "bulwark.tenant-export.v1");
    json_t *tables = json_object_get(manifest, "tables");
    int entities = 0;
    for (size_t i = 0; i < json_array_size(tables); i++)
        if (strcmp(jstr(json_array_get(tables, i), "table"), "scoping.entities") == 0)
            entities = (int)json_integer_value(json_object_get(json_array_get(tables, i), "rows"));
    ck_assert_int_eq(entities, 1);
    json_decref(manifest);
    snprintf(cmd, sizeof(cmd), "%s/scoping.entities.0001.jsonl", dir);
    struct stat st;
    ck_assert_int_eq(stat(cmd, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0); /* a tenant's data: the operator's alone */
    /* Not into a directory that exists. */
    r = ctl("tenants", "export", tenant, "--dir", dir, NULL);
    ck_assert_run(r, 2);
    run_free(&r);

    /* The deletion: --yes, and only once suspended. */
    r = ctl("tenants", "delete", tenant, NULL);
    ck_assert_run(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--yes"));
    run_free(&r);
    r = ctl("tenants", "delete", tenant, "--yes", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "TENANT_NOT_SUSPENDED"));
    run_free(&r);
    char cert_path[700];
    snprintf(cert_path, sizeof(cert_path), "%s/certificate.json", tmp);
    r = ctl("tenants", "delete", tenant, "--yes", "--suspend", "--certificate", cert_path, NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "scoping.entities"));
    run_free(&r);
    json_t *cert = json_load_file(cert_path, 0, NULL);
    ck_assert_ptr_nonnull(cert);
    ck_assert_str_eq(jstr(cert, "tenant"), tenant);
    ck_assert_uint_eq(strlen(jstr(cert, "sha256")), 64);
    json_decref(cert);
    r = ctl("tenants", "delete", tenant, "--yes", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "TENANT_NOT_FOUND"));
    run_free(&r);

    /* Refusals and failures. */
    r = ctl("tenants", "suspend", "not-a-tenant", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "  id: "));
    run_free(&r);
    setenv("BULWARK_OPERATOR_TOKEN", key, 1);
    r = ctl("tenants", "list", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "403"));
    run_free(&r);
    unsetenv("BULWARK_OPERATOR_TOKEN");
    r = ctl("tenants", "list", NULL);
    ck_assert_run(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "BULWARK_OPERATOR_TOKEN"));
    run_free(&r);
    stack_env();
    setenv("BULWARK_URL", "http://127.0.0.1:1", 1);
    r = ctl("tenants", "list", NULL);
    ck_assert_run(r, 3);
    run_free(&r);
    remove_dir(tmp);
    free(tmp);
    free(tenant);
    free(key);
}
END_TEST

START_TEST(keys_with_a_tenant_key)
{
    stack_env();
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("CLI keys", &admin);
    run_t r = ctl("keys", "list", NULL);
    ck_assert_run(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "BULWARK_API_KEY"));
    run_free(&r);
    setenv("BULWARK_API_KEY", admin, 1);
    char expire[32];
    rfc3339(400 * 86400L, expire);
    r = ctl("--output", "json", "keys", "create", "--name", "deploy", "--role", "editor",
            "--expire-time", expire, NULL);
    ck_assert_run(r, 0);
    char *id = strdup(jstr(r.json, "id"));
    char *old = strdup(jstr(r.json, "secret"));
    ck_assert_str_eq(jstr(r.json, "expireTime"), expire);
    run_free(&r);
    r = ctl("keys", "list", NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "LAST_USED"));
    ck_assert_ptr_nonnull(strstr(strstr(r.out, id), expire));
    run_free(&r);
    r = ctl("--output", "json", "keys", "rotate", id, "--grace-period", "60", NULL);
    ck_assert_run(r, 0);
    char *fresh = strdup(jstr(r.json, "secret"));
    ck_assert_str_ne(fresh, old);
    run_free(&r);
    bw_test_resp_t h;
    const char *both[] = {old, fresh};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(bw_test_http("GET", "/v1/entities", both[i], NULL, NULL, &h), 0);
        ck_assert_int_eq(h.status, 200);
        bw_test_resp_free(&h);
    }
    r = ctl("keys", "rotate", id, "--grace-period", "9999999", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "gracePeriodSeconds"));
    run_free(&r);
    r = ctl("keys", "create", "--name", "x", "--role", "superuser", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "  role: "));
    run_free(&r);
    r = ctl("keys", "create", "--role", "viewer", NULL);
    ck_assert_run(r, 2);
    run_free(&r);
    r = ctl("keys", "revoke", id, NULL);
    ck_assert_run(r, 0);
    run_free(&r);
    ck_assert_int_eq(bw_test_http("GET", "/v1/entities", fresh, NULL, NULL, &h), 0);
    ck_assert_int_eq(h.status, 401);
    bw_test_resp_free(&h);
    r = ctl("keys", "revoke", id, NULL);
    ck_assert_run(r, 1);
    run_free(&r);
    /* A viewer's key may not manage keys. */
    r = ctl("--output", "json", "keys", "create", "--name", "v", "--role", "viewer", NULL);
    ck_assert_run(r, 0);
    setenv("BULWARK_API_KEY", jstr(r.json, "secret"), 1);
    run_free(&r);
    r = ctl("keys", "list", NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "403"));
    run_free(&r);
    free(id);
    free(old);
    free(fresh);
    free(tenant);
    free(admin);
}
END_TEST

START_TEST(soa_in_and_out)
{
    stack_env();
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("CLI SoA", &admin);
    setenv("BULWARK_API_KEY", admin, 1);
    bw_test_resp_t h;
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", admin,
                                  "{\"name\":\"SoA Co\",\"timeZone\":\"UTC\"}", NULL, &h),
                     0);
    char *entity = strdup(jstr(h.json, "id"));
    bw_test_resp_free(&h);
    char *tmp = temp_dir(), csv[600], bad[600], out[600];
    snprintf(csv, sizeof(csv), "%s/soa.csv", tmp);
    snprintf(bad, sizeof(bad), "%s/bad.csv", tmp);
    snprintf(out, sizeof(out), "%s/out.csv", tmp);
    FILE *fp = fopen(csv, "w");
    fputs("ref,applicable,status,justification\r\nA.5.1,true,IMPLEMENTED,\r\n"
          "A.5.2,false,,not in scope\r\n",
          fp);
    fclose(fp);
    fp = fopen(bad, "w");
    fputs("ref,applicable,status,justification\r\nA.5.1,maybe,IMPLEMENTED,\r\n", fp);
    fclose(fp);
    run_t r = ctl("soa", "import", entity, csv, NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "rows:"));
    ck_assert_ptr_nonnull(strstr(r.out, "2"));
    run_free(&r);
    r = ctl("soa", "export", entity, NULL);
    ck_assert_run(r, 0);
    ck_assert_int_eq(strncmp(r.out, "ref,applicable,status,justification", 35), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "A.5.2,false,NOT_IMPLEMENTED,not in scope"));
    char *exported = strdup(r.out);
    run_free(&r);
    /* The file written is what standard output showed, and imports back
     * unchanged. */
    r = ctl("soa", "export", entity, "--file", out, NULL);
    ck_assert_run(r, 0);
    run_free(&r);
    int fd = open(out, O_RDONLY);
    char *written = slurp(fd);
    close(fd);
    ck_assert_str_eq(written, exported);
    r = ctl("--output", "json", "soa", "import", entity, out, NULL);
    ck_assert_run(r, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 0);
    run_free(&r);
    /* A bad line is named; a missing file is a usage error. */
    r = ctl("soa", "import", entity, bad, NULL);
    ck_assert_run(r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "line 2"));
    run_free(&r);
    r = ctl("soa", "import", entity, "/nonexistent/soa.csv", NULL);
    ck_assert_run(r, 2);
    run_free(&r);
    remove_dir(tmp);
    free(tmp);
    free(written);
    free(exported);
    free(entity);
    free(tenant);
    free(admin);
}
END_TEST

/* Writes body to path. */
static void write_text(const char *path, const char *body)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(body, fp);
    fclose(fp);
}

START_TEST(attestation_exports_verified_offline)
{
    stack_env();
    char *admin = NULL;
    char *tenant = bw_test_create_tenant("CLI attestations", &admin);
    bw_test_resp_t h;
    char path[256], body[512], due[32];
    ck_assert_int_eq(bw_test_http("POST", "/v1/entities", admin,
                                  "{\"name\":\"Board Co\",\"timeZone\":\"UTC\"}", NULL, &h),
                     0);
    char *entity = strdup(jstr(h.json, "id"));
    bw_test_resp_free(&h);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", entity);
    ck_assert_int_eq(bw_test_http("POST", path, admin,
                                  "{\"name\":\"Ann\",\"since\":\"2020-01-01T00:00:00Z\"}", NULL,
                                  &h),
                     0);
    char *member = strdup(jstr(h.json, "id"));
    bw_test_resp_free(&h);
    rfc3339(86400, due);
    snprintf(body, sizeof(body),
             "{\"entity\":\"%s\",\"kind\":\"POLICY_APPROVAL\",\"statement\":\"Policy v3.\","
             "\"dueAt\":\"%s\",\"validForDays\":365}",
             entity, due);
    ck_assert_int_eq(bw_test_http("POST", "/v1/attestation-campaigns", admin, body, NULL, &h), 0);
    snprintf(path, sizeof(path), "/v1/attestation-campaigns/%s/attestations", jstr(h.json, "id"));
    bw_test_resp_free(&h);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", member);
    ck_assert_int_eq(bw_test_http("POST", path, admin, body, NULL, &h), 0);
    ck_assert_int_eq(h.status, 201);
    bw_test_resp_free(&h);

    char *tmp = temp_dir(), export_path[600], forged[600], key_path[600];
    snprintf(export_path, sizeof(export_path), "%s/export.json", tmp);
    snprintf(forged, sizeof(forged), "%s/forged.json", tmp);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", tmp);
    snprintf(path, sizeof(path), "/v1/entities/%s/attestations:export", entity);
    ck_assert_int_eq(bw_test_http("GET", path, admin, NULL, NULL, &h), 0);
    ck_assert_int_eq(h.status, 200);
    write_text(export_path, h.body);
    /* A decision made REJECT by hand. */
    char *text = strdup(h.body), *at = strstr(text, "\"APPROVE\"");
    ck_assert_ptr_nonnull(at);
    bw_test_resp_free(&h);
    char *edited = malloc(strlen(text) + 8);
    snprintf(edited, strlen(text) + 8, "%.*s\"REJECT\"%s", (int)(at - text), text, at + 9);
    write_text(forged, edited);
    ck_assert_int_eq(bw_test_http("GET", "/v1/attestations:public-key", admin, NULL, NULL, &h), 0);
    write_text(key_path, jstr(h.json, "pem"));
    bw_test_resp_free(&h);

    run_t r = ctl("attestations", "verify", export_path, key_path, NULL);
    ck_assert_run(r, 0);
    ck_assert_int_eq(strncmp(r.out, "valid: 1 records, head ", 23), 0);
    run_free(&r);
    r = ctl("--output", "json", "attestations", "verify", export_path, key_path, NULL);
    ck_assert_run(r, 0);
    ck_assert(json_is_true(json_object_get(r.json, "valid")));
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "records")), 1);
    run_free(&r);
    r = ctl("attestations", "verify", forged, key_path, NULL);
    ck_assert_run(r, 4);
    ck_assert_ptr_nonnull(strstr(r.err, "INVALID at sequence 1"));
    run_free(&r);
    r = ctl("--output", "json", "attestations", "verify", forged, key_path, NULL);
    ck_assert_run(r, 4);
    ck_assert(json_is_false(json_object_get(r.json, "valid")));
    run_free(&r);
    r = ctl("attestations", "verify", export_path, NULL);
    ck_assert_run(r, 2);
    run_free(&r);
    r = ctl("attestations", "verify", export_path, "/nonexistent.pem", NULL);
    ck_assert_run(r, 2);
    run_free(&r);
    remove_dir(tmp);
    free(tmp);
    free(text);
    free(edited);
    free(member);
    free(entity);
    free(tenant);
    free(admin);
}
END_TEST

START_TEST(migrate_against_the_database)
{
    stack_env();
    char arg[512];
    snprintf(arg, sizeof(arg), "common=%s/common/migrations", BW_SOURCE_DIR);
    run_t r = ctl("migrate", arg, NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "no pending migrations"));
    run_free(&r);
    r = ctl("migrate", "common", NULL);
    ck_assert_run(r, 2);
    run_free(&r);
    r = ctl("migrate", NULL);
    ck_assert_run(r, 2);
    run_free(&r);
    setenv("BULWARK_ADMIN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/bulwark", 1);
    r = ctl("migrate", arg, NULL);
    ck_assert_run(r, 3);
    run_free(&r);
}
END_TEST

/* An applied migration whose file changed afterwards: migrate names it,
 * refuses, and applies nothing, not even a new file beside it. */
START_TEST(migrate_refuses_a_changed_migration)
{
    stack_env();
    char dir[] = "/tmp/bw-migrate-XXXXXX", cmd[1024], arg[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd),
             "cp '%s'/common/migrations/*.sql '%s'/ && for f in '%s'/0001_*.sql; do"
             " printf '\n-- changed\n' >> \"$f\"; done"
             " && printf 'CREATE TABLE public.bw_migrate_probe (x int);\n' > '%s'/9999_probe.sql",
             BW_SOURCE_DIR, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(arg, sizeof(arg), "common=%s", dir);
    run_t r = ctl("migrate", arg, NULL);
    ck_assert_msg(r.status != 0, "a changed migration was accepted: %s", r.out);
    ck_assert_msg(strstr(r.err, "migration common/0001 was changed after it was applied") != NULL,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "no migration was applied") != NULL, "%s", r.err);
    run_free(&r);
    PGconn *admin = bw_test_pg("BULWARK_TEST_ADMIN_DATABASE_URL");
    PGresult *res = bw_test_sql(admin, "SELECT to_regclass('public.bw_migrate_probe') IS NULL");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    PQfinish(admin);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/*
 * A gateway that answers what a broken or hostile one might, served from a
 * forked child on a free port: page tokens holding format directives and
 * longer than 1,024 bytes, export files with names near the file system's
 * limit, and names that try to leave the export's directory or break a line
 * of SHA256SUMS. Everything it sends is data to bulwarkctl.
 */
#define HOSTILE_PREFIX "%n%s%s%x&pageSize=1/+ "

/* The token both paged routes hand out: format directives, query syntax
 * and 1,500 more bytes. */
static const char *hostile_token(void)
{
    static char token[sizeof(HOSTILE_PREFIX) + 1500];
    if (token[0] == '\0') {
        memcpy(token, HOSTILE_PREFIX, sizeof(HOSTILE_PREFIX) - 1);
        memset(token + sizeof(HOSTILE_PREFIX) - 1, 'A', 1500);
    }
    return token;
}

/* The query's pageToken, percent-decoded into out (NULL when absent). */
static const char *page_token_of(const char *target, char *out, size_t cap)
{
    const char *p = strstr(target, "pageToken=");
    if (p == NULL)
        return NULL;
    size_t n = 0;
    for (p += strlen("pageToken="); *p != '\0' && *p != '&' && n + 1 < cap; p++) {
        unsigned c;
        if (*p == '%' && sscanf(p + 1, "%2x", &c) == 1) {
            out[n++] = (char)c;
            p += 2;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return out;
}

/* One export file entry, its checksum computed as the gateway does. */
static json_t *export_file(const char *name, const char *table, const char *content)
{
    uint8_t digest[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    bw_sha256(content, strlen(content), digest);
    bw_hex(digest, sizeof(digest), hex);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "name", name, "table", table, "content",
                     content, "sha256", hex, "rows", "1", "service", "scoping", "part", 1);
}

/* The reply of the fake gateway to a GET of target. */
static json_t *hostile_reply(const char *target)
{
    static char long_name[241];
    memset(long_name, 'n', sizeof(long_name) - 1);
    memcpy(long_name + sizeof(long_name) - 7, ".jsonl", 6);
    char token[2048];
    const char *asked = page_token_of(target, token, sizeof(token));
    int second = asked != NULL && strcmp(asked, hostile_token()) == 0;
    if (asked != NULL && !second)
        return NULL; /* the token came back changed */
    const char *next = second ? "" : hostile_token();
    if (strncmp(target, "/v1/tenants?pageSize=100", 24) == 0)
        return json_pack("{s:[{s:s, s:s, s:s}], s:s}", "tenants", "id", second ? "t-2" : "t-1",
                         "name", second ? "Second %s %n" : "First", "state", "ACTIVE",
                         "nextPageToken", next);
    const char *name = NULL;
    if (strncmp(target, "/v1/tenants/t-1:export", 22) == 0)
        name = second ? "incidents.incidents.0001.jsonl" : long_name;
    else if (strncmp(target, "/v1/tenants/t-up:export", 23) == 0)
        name = "../escaped.jsonl";
    else if (strncmp(target, "/v1/tenants/t-line:export", 25) == 0)
        name = "a\n0000  manifest.json";
    if (name == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:[o], s:s}", "format", "bulwark.tenant-export.v1", "tenant",
                     "t-1", "exportTime", "2026-12-03T10:00:00Z", "files",
                     export_file(name, "scoping.entities", "{\"id\":\"e-1\"}\n"), "nextPageToken",
                     next);
}

/* Serves one request a connection on fd until killed (or five minutes
 * have passed); 404 for what it does not know. */
static void serve_hostile(int fd)
{
    alarm(300); /* gone even if the test fails before it kills it */
    for (;;) {
        int conn = accept(fd, NULL, NULL);
        if (conn < 0)
            continue;
        char req[8192];
        size_t n = 0;
        ssize_t got;
        while (n + 1 < sizeof(req) && (got = read(conn, req + n, sizeof(req) - 1 - n)) > 0) {
            n += (size_t)got;
            req[n] = '\0';
            if (strstr(req, "\r\n\r\n") != NULL)
                break;
        }
        req[n] = '\0';
        char target[4096] = "";
        sscanf(req, "GET %4095s", target);
        json_t *reply = hostile_reply(target);
        char *body = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
        char head[256];
        int len = snprintf(head, sizeof(head),
                           "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                           body != NULL ? 200 : 404, body != NULL ? strlen(body) : 2);
        if (write(conn, head, (size_t)len) < 0 ||
            write(conn, body != NULL ? body : "{}", body != NULL ? strlen(body) : 2) < 0)
            perror("fake gateway");
        free(body);
        json_decref(reply);
        close(conn);
    }
}

START_TEST(a_hostile_gateway_is_data)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof(addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    pid_t server = fork();
    ck_assert_int_ge(server, 0);
    if (server == 0)
        serve_hostile(fd);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(addr.sin_port));
    stack_env();
    setenv("BULWARK_URL", url, 1);

    /* A token with %n and %s, 1,500 bytes long, comes back as it was sent,
     * and the second page's tenant name is printed as text. */
    run_t r = ctl("tenants", "list", NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "t-1"));
    ck_assert_ptr_nonnull(strstr(r.out, "Second %s %n"));
    run_free(&r);

    /* Two pages of an export, one file name 240 bytes long: SHA256SUMS
     * lists both files whole, and sha256sum accepts it. */
    char *tmp = temp_dir(), dir[600], cmd[1400];
    snprintf(dir, sizeof(dir), "%s/export", tmp);
    r = ctl("tenants", "export", "t-1", "--dir", dir, NULL);
    ck_assert_run(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "2 files"));
    run_free(&r);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && sha256sum --quiet -c SHA256SUMS && test $(wc -l < SHA256SUMS) -eq 3", dir);
    ck_assert_msg(system(cmd) == 0, "sha256sum -c SHA256SUMS failed in %s", dir);

    /* A name that leaves the directory, or that would forge a line of
     * SHA256SUMS: refused, exit 1, nothing written outside. */
    const char *hostile[] = {"t-up", "t-line"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(dir, sizeof(dir), "%s/%s", tmp, hostile[i]);
        r = ctl("tenants", "export", hostile[i], "--dir", dir, NULL);
        ck_assert_run(r, 1);
        ck_assert_msg(strstr(r.err, "refusing the file name") != NULL, "%s", r.err);
        run_free(&r);
    }
    snprintf(cmd, sizeof(cmd), "%s/escaped.jsonl", tmp);
    ck_assert_int_ne(access(cmd, F_OK), 0);

    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    remove_dir(tmp);
    free(tmp);
}
END_TEST

/* A data file whose header names a column twice is refused, however many
 * columns it has (the check is a set, not a search of the names so far). */
START_TEST(migrate_refuses_a_column_named_twice)
{
    stack_env();
    char dir[] = "/tmp/bw-migrate-XXXXXX", path[600], arg[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/0001_public.bw_probe.csv", dir);
    snprintf(arg, sizeof(arg), "common=%s", dir);
    const int widths[] = {3, 20000};
    for (int w = 0; w < 2; w++) {
        FILE *fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        for (int i = 0; i < widths[w]; i++)
            fprintf(fp, "c%d,", i);
        fprintf(fp, "\"c0\"\n");
        ck_assert_int_eq(fclose(fp), 0);
        run_t r = ctl("migrate", arg, NULL);
        ck_assert_msg(r.status != 0, "a column named twice was accepted: %s", r.out);
        ck_assert_msg(strstr(r.err, "names column \"c0\" twice") != NULL, "%s", r.err);
        run_free(&r);
    }
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *suite_bulwarkctl(void)
{
    Suite *s = suite_create("bulwarkctl");
    TCase *tc = tcase_create("bulwarkctl");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_command_answers_help);
    tcase_add_test(tc, tenants_from_creation_to_deletion);
    tcase_add_test(tc, keys_with_a_tenant_key);
    tcase_add_test(tc, soa_in_and_out);
    tcase_add_test(tc, attestation_exports_verified_offline);
    tcase_add_test(tc, migrate_against_the_database);
    tcase_add_test(tc, migrate_refuses_a_changed_migration);
    tcase_add_test(tc, a_hostile_gateway_is_data);
    tcase_add_test(tc, migrate_refuses_a_column_named_twice);
    suite_add_tcase(s, tc);
    return s;
}
