/*
 * bulwarkctl, the admin command line: a table of subcommands sharing one
 * declarative configuration table. It connects with the administrative role
 * (which owns the schemas), never the services' role. Exit status is 0 on
 * success and 1 on any failure, usage errors included.
 */
#include "config.h"
#include "log.h"
#include "migrate.h"
#include "status.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

typedef struct ctl_config {
    const char *admin_database_url;
} ctl_config_t;

static const bw_config_item_t ctl_items[] = {
    {"BULWARK_ADMIN_DATABASE_URL", BW_CFG_STRING,
     "postgresql://bulwark_owner@127.0.0.1:55432/bulwark", 0, 0,
     offsetof(ctl_config_t, admin_database_url), 0,
     "libpq connection string of the role that owns the database and schemas (bulwark_owner: "
     "CREATEROLE, no superuser needed)"},
};

typedef struct ctl_command {
    const char *name;
    const char *args;
    const char *help;
    int (*run)(const ctl_config_t *cfg, int argc, char **argv);
} ctl_command_t;

static int cmd_migrate(const ctl_config_t *cfg, int argc, char **argv)
{
    int err = 0;
    PGconn *conn = NULL;
    if (argc < 1) {
        fprintf(stderr, "bulwarkctl: migrate needs at least one COMPONENT=DIR\nTry --help.\n");
        return BW_EINVAL;
    }
    bw_migrate_dir_t *dirs = calloc((size_t)argc, sizeof(*dirs));
    if (dirs == NULL)
        return BW_ENOMEM;
    for (int i = 0; i < argc; i++) {
        err = bw_migrate_parse_arg(argv[i], &dirs[i], stderr);
        if (err != 0)
            goto out;
    }
    conn = PQconnectdb(cfg->admin_database_url);
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        fprintf(stderr, "bulwarkctl: could not connect to the database: %.*s\n",
                (int)strcspn(msg, "\n"), msg);
        err = BW_EUNAVAIL;
        goto out;
    }
    err = bw_migrate_run(conn, dirs, (size_t)argc, stdout, stderr);
out:
    PQfinish(conn);
    free(dirs);
    return err;
}

static const ctl_command_t commands[] = {
    {"migrate", "COMPONENT=DIR [COMPONENT=DIR ...]",
     "apply the pending schema migrations of each component, in the order given "
     "(e.g. common=common/migrations)",
     cmd_migrate},
};

static void usage(FILE *fp)
{
    fprintf(fp, "bulwarkctl: administer a Bulwark database\n\n"
                "usage: bulwarkctl COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(fp, "  %s %s\n      %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(fp, "\n");
    bw_config_print_help(fp, "bulwarkctl", ctl_items, BW_CONFIG_COUNT(ctl_items));
}

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int main(int argc, char **argv)
{
    bw_log_init("bulwarkctl", BW_LOG_WARN);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    const ctl_command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "bulwarkctl: unknown command \"%s\"\nTry --help.\n", argv[1]);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
    }
    ctl_config_t cfg;
    char err[512];
    if (bw_config_load(ctl_items, BW_CONFIG_COUNT(ctl_items), &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "bulwarkctl: %s\n", err);
        return 1;
    }
    return cmd->run(&cfg, argc - 2, argv + 2) == 0 ? 0 : 1;
}
