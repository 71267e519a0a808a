/*
 * bulwarkctl, the admin command line: a table of commands sharing one
 * declarative configuration table. The tenants commands talk to the
 * gateway with the platform operator's token, the keys and soa commands
 * with a tenant's key (the operator token manages tenants, not what is in
 * them), attestations verify works offline on an export, and migrate
 * connects to the database as the role that owns the schemas. Every command
 * answers --help; --output json|table (anywhere on the line) picks the
 * format of what it prints. The exit statuses are listed in usage() and in
 * README.md.
 */
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "migrate.h"
#include "status.h"

#include <curl/curl.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

typedef struct ctl_settings {
    const char *url;
    const char *operator_token;
    const char *api_key;
    const char *admin_database_url;
    long timeout_sec;
} ctl_settings_t;

static const bw_config_item_t ctl_items[] = {
    {"BULWARK_URL", BW_CFG_STRING, "http://127.0.0.1:8080", 0, 0, offsetof(ctl_settings_t, url), 0,
     "the gateway's base URL"},
    {"BULWARK_OPERATOR_TOKEN", BW_CFG_STRING, "", 0, 0, offsetof(ctl_settings_t, operator_token), 1,
     "the platform operator's token: the tenants commands"},
    {"BULWARK_API_KEY", BW_CFG_STRING, "", 0, 0, offsetof(ctl_settings_t, api_key), 1,
     "a tenant's API key (bwk_...): the keys commands (an admin key) and the soa commands"},
    {"BULWARK_ADMIN_DATABASE_URL", BW_CFG_STRING,
     "postgresql://bulwark_owner@127.0.0.1:55432/bulwark", 0, 0,
     offsetof(ctl_settings_t, admin_database_url), 0,
     "libpq connection string of the role that owns the database and schemas (bulwark_owner: "
     "CREATEROLE, no superuser needed): migrate"},
    {"BULWARK_CTL_TIMEOUT_SEC", BW_CFG_INT, "120", 1, 3600, offsetof(ctl_settings_t, timeout_sec),
     0, "how long one request to the gateway may take, in seconds"},
};

static int cmd_migrate(const ctl_t *ctl, int argc, char **argv)
{
    int err = 0;
    PGconn *conn = NULL;
    if (argc < 1) {
        fprintf(stderr, "bulwarkctl: migrate needs at least one COMPONENT=DIR\nTry --help.\n");
        return CTL_USAGE;
    }
    bw_migrate_dir_t *dirs = calloc((size_t)argc, sizeof(*dirs));
    if (dirs == NULL)
        return CTL_FAILED;
    for (int i = 0; i < argc; i++) {
        if (bw_migrate_parse_arg(argv[i], &dirs[i], stderr) != 0) {
            free(dirs);
            return CTL_USAGE;
        }
    }
    conn = PQconnectdb(ctl->admin_database_url);
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        fprintf(stderr, "bulwarkctl: could not connect to the database: %.*s\n",
                (int)strcspn(msg, "\n"), msg);
        err = CTL_UNAVAILABLE;
    } else {
        err = bw_migrate_run(conn, dirs, (size_t)argc, stdout, stderr) == 0 ? CTL_OK : CTL_FAILED;
    }
    PQfinish(conn);
    free(dirs);
    return err;
}

typedef struct ctl_command {
    const char *group; /* "tenants"; NULL for a command of its own */
    const char *name;
    const char *args;
    const char *help;    /* one line */
    const char *details; /* the options and what to know, for --help */
    int (*run)(const ctl_t *ctl, int argc, char **argv);
} ctl_command_t;

static const ctl_command_t commands[] = {
    {"tenants", "list", "[--page-size N]", "every tenant, newest first, with its state and usage",
     "  --page-size N  tenants asked per request (1-500, 100); every page is listed\n"
     "Usage: entities and incidents as counted now; requests in the current hour and the\n"
     "23 before it.\n",
     ctl_tenants_list},
    {"tenants", "create", "NAME [--admin-key-name NAME]",
     "create a tenant and its first admin key (the secret is shown once)",
     "  --admin-key-name NAME  the first key's name (admin)\n", ctl_tenants_create},
    {"tenants", "suspend", "ID [--reason TEXT]",
     "refuse the tenant's keys and tokens (403 TENANT_SUSPENDED); its data stays",
     "  --reason TEXT  why, shown in the list (at most 500 characters)\n", ctl_tenants_suspend},
    {"tenants", "resume", "ID", "let a suspended tenant's keys and tokens in again", "",
     ctl_tenants_resume},
    {"tenants", "export", "ID --dir DIR",
     "every row of the tenant, as JSON lines with checksums, into a new directory",
     "  --dir DIR  where the files go; it must not exist yet\n"
     "DIR holds one file per part of each table (<schema>.<table>.<part>.jsonl), each\n"
     "checked against the SHA-256 the gateway sent; manifest.json (tables, files, rows,\n"
     "checksums) and SHA256SUMS, for `sha256sum -c SHA256SUMS`. Suspend the tenant first\n"
     "for an export that no write changes while it is read. Exit 4 when a file does not\n"
     "match its checksum.\n",
     ctl_tenants_export},
    {"tenants", "delete", "ID --yes [--suspend] [--certificate FILE]",
     "delete every row of a suspended tenant, and print the certificate of deletion",
     "  --yes               say it: the rows of every service go, audit trail and\n"
     "                      attestations included, for good\n"
     "  --suspend           suspend the tenant first\n"
     "  --certificate FILE  also write the certificate (JSON) to FILE\n"
     "Exit 4 when the certificate's hash does not match its canonical text.\n",
     ctl_tenants_delete},
    {"keys", "create", "--name NAME --role ROLE [--board-member ID] [--expire-time TIME]",
     "issue an API key of the tenant (the secret is shown once)",
     "  --name NAME          what the key is for\n"
     "  --role ROLE          admin, editor, auditor, viewer or board_member\n"
     "  --board-member ID    the board member a board_member key signs as\n"
     "  --expire-time TIME   RFC 3339; the key is refused after it (401 API_KEY_EXPIRED)\n",
     ctl_keys_create},
    {"keys", "list", "", "the tenant's API keys, with expiry and last use", "", ctl_keys_list},
    {"keys", "revoke", "ID", "revoke a key, at once on every gateway", "", ctl_keys_revoke},
    {"keys", "rotate", "ID [--grace-period SECONDS]",
     "a new secret for the key (shown once); the old one works for the grace period",
     "  --grace-period SECONDS  how long the old secret still works (0-604800, 0)\n",
     ctl_keys_rotate},
    {"soa", "import", "ENTITY FILE.csv",
     "record an entity's Statement of Applicability from CSV (all rows or none)",
     "FILE.csv: RFC 4180 with a header row: ref, applicable, status, justification and\n"
     "optionally owner and evidence; - reads standard input. Each bad line is named.\n",
     ctl_soa_import},
    {"soa", "export", "ENTITY [--file FILE]", "an entity's Statement of Applicability as CSV",
     "  --file FILE  write the CSV there instead of to standard output\n", ctl_soa_export},
    {"attestations", "verify", "EXPORT.json PUBLIC-KEY.pem...",
     "check an attestation export offline, as services/attestations/verify-export.sh does",
     "EXPORT.json: GET /v1/entities/{entity}/attestations:export. PUBLIC-KEY.pem: the keys\n"
     "you trust (GET /v1/attestations:public-key, or from the operator). Runs the script\n"
     "itself, built into bulwarkctl; needs bash, jq, openssl, base64, sha256sum. Prints\n"
     "\"valid: N records, head HASH, entity ID, exported TIME\" (the entity and the time\n"
     "as the export's signed statement names them). Exit 4 and \"INVALID at sequence N:\n"
     "why\" when a record, the head or a campaign fails, \"INVALID: why\" when the export\n"
     "as a whole does (its statement: another entity, another time, other records).\n",
     ctl_attestations_verify},
    {NULL, "migrate", "COMPONENT=DIR [COMPONENT=DIR ...]",
     "apply the pending schema migrations of each component, in the order given",
     "e.g. common=common/migrations tenancy=services/gateway/migrations ...; see\n"
     "tools/bulwarkctl/README.md. Connects as BULWARK_ADMIN_DATABASE_URL.\n",
     cmd_migrate},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void command_line(FILE *fp, const ctl_command_t *c)
{
    fprintf(fp, "  %s%s%s%s%s\n      %s\n", c->group != NULL ? c->group : "",
            c->group != NULL ? " " : "", c->name, c->args[0] != '\0' ? " " : "", c->args, c->help);
}

static void usage(FILE *fp)
{
    fprintf(fp, "bulwarkctl: administer Bulwark\n\n"
                "usage: bulwarkctl [--output table|json] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        command_line(fp, &commands[i]);
    fprintf(fp, "\nEvery command answers --help. --output json prints the gateway's JSON.\n\n"
                "exit status:\n"
                "  0  done\n"
                "  1  the gateway refused the request (4xx), or the work failed\n"
                "  2  bad arguments or settings; nothing was sent\n"
                "  3  the gateway or database could not be reached, or answered 5xx\n"
                "  4  what was checked does not verify (a checksum, a signature)\n\n");
    bw_config_print_help(fp, "bulwarkctl", ctl_items, BW_CONFIG_COUNT(ctl_items));
}

static void command_help(FILE *fp, const ctl_command_t *c)
{
    fprintf(fp, "usage: bulwarkctl %s%s%s%s%s\n\n%s.\n", c->group != NULL ? c->group : "",
            c->group != NULL ? " " : "", c->name, c->args[0] != '\0' ? " " : "", c->args, c->help);
    fprintf(fp, "\n  --output table|json  the format of what is printed (table)\n%s", c->details);
}

static void group_help(FILE *fp, const char *group)
{
    fprintf(fp, "usage: bulwarkctl %s COMMAND\n\ncommands:\n", group);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].group != NULL && strcmp(commands[i].group, group) == 0)
            command_line(fp, &commands[i]);
}

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int main(int argc, char **argv)
{
    bw_log_init("bulwarkctl", BW_LOG_WARN);
    /* --output is taken wherever it stands; the rest keeps its order. */
    ctl_t ctl = {0};
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    int n = 0;
    if (args == NULL)
        return CTL_FAILED;
    for (int i = 1; i < argc; i++) {
        const char *format = NULL;
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strncmp(argv[i], "--output=", 9) == 0)
            format = argv[i] + 9;
        else if (strcmp(argv[i], "--output") == 0)
            format = "";
        if (format == NULL) {
            args[n++] = argv[i];
        } else if (strcmp(format, "json") == 0 || strcmp(format, "table") == 0) {
            ctl.json = strcmp(format, "json") == 0;
        } else {
            fprintf(stderr, "bulwarkctl: --output is table or json\n");
            free(args);
            return CTL_USAGE;
        }
    }
    int rc = CTL_USAGE;
    const ctl_command_t *cmd = NULL;
    int skip = 0;
    if (n == 0 || is_help(args[0])) {
        usage(n == 0 ? stderr : stdout);
        rc = n == 0 ? CTL_USAGE : CTL_OK;
        goto out;
    }
    for (size_t i = 0; i < N_COMMANDS && cmd == NULL; i++) {
        const ctl_command_t *c = &commands[i];
        if (c->group == NULL && strcmp(args[0], c->name) == 0) {
            cmd = c;
            skip = 1;
        } else if (c->group != NULL && strcmp(args[0], c->group) == 0 && n > 1 &&
                   strcmp(args[1], c->name) == 0) {
            cmd = c;
            skip = 2;
        }
    }
    if (cmd == NULL) {
        int group = 0;
        for (size_t i = 0; i < N_COMMANDS; i++)
            group |= commands[i].group != NULL && strcmp(commands[i].group, args[0]) == 0;
        if (group && (n == 1 || is_help(args[1]))) {
            group_help(n == 1 ? stderr : stdout, args[0]);
            rc = n == 1 ? CTL_USAGE : CTL_OK;
        } else {
            fprintf(stderr, "bulwarkctl: unknown command \"%s%s%s\"\nTry bulwarkctl --help.\n",
                    args[0], group ? " " : "", group ? args[1] : "");
        }
        goto out;
    }
    for (int i = skip; i < n; i++) {
        if (is_help(args[i]) && strcmp(args[i], "help") != 0) {
            command_help(stdout, cmd);
            rc = CTL_OK;
            goto out;
        }
    }
    ctl_settings_t s;
    char err[512];
    if (bw_config_load(ctl_items, BW_CONFIG_COUNT(ctl_items), &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "bulwarkctl: %s\n", err);
        goto out;
    }
    ctl.url = s.url;
    ctl.operator_token = s.operator_token;
    ctl.api_key = s.api_key;
    ctl.admin_database_url = s.admin_database_url;
    ctl.timeout_sec = s.timeout_sec;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        rc = CTL_FAILED;
        goto out;
    }
    rc = cmd->run(&ctl, n - skip, args + skip);
    curl_global_cleanup();
out:
    free(args);
    return rc;
}
