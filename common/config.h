/*
 * Declarative configuration: each binary describes its settings in one table
 * (name, environment variable, type, default, bounds, help), reads them once
 * at start-up, refuses to start on a bad value, and prints the table on
 * --help. Values land in a struct of the binary's own at the given offsets.
 */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum bw_config_type {
    BW_CFG_STRING,    /* const char * (borrowed from the environment or the table) */
    BW_CFG_INT,       /* long, within [min, max] */
    BW_CFG_ADDR,      /* const char *, "host:port" with a port in 1..65535 */
    BW_CFG_BOOL,      /* int, from true/false/1/0/yes/no/on/off */
    BW_CFG_LEVEL,     /* int, a log level name */
    BW_CFG_LOG_FORMAT /* int, a log format name: text or json */
} bw_config_type_t;

typedef struct bw_config_item {
    const char *env; /* e.g. "BULWARK_HTTP_ADDR" */
    bw_config_type_t type;
    const char *def; /* default as text; NULL means required */
    long min, max;   /* bounds for BW_CFG_INT */
    size_t offset;   /* offsetof(your_config, field) */
    int secret;      /* never echoed, not even in errors */
    const char *help;
} bw_config_item_t;

#define BW_CONFIG_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* Fills *out from the environment. On a bad or missing value returns BW_EINVAL
 * and writes "invalid value for BULWARK_X: reason" into err. */
int bw_config_load(const bw_config_item_t *items, size_t n, void *out, char *err, size_t errlen);
/* Prints one line per setting: variable, default, help. */
void bw_config_print_help(FILE *fp, const char *prog, const bw_config_item_t *items, size_t n);
/* Handles argv: --help prints the table and returns 1; an unknown argument
 * prints usage and returns -1; otherwise 0. */
int bw_config_args(int argc, char **argv, const char *summary, const bw_config_item_t *items,
                   size_t n);
/* Splits "host:port" into host (copied into buf) and port. 0 or BW_EINVAL. */
int bw_config_split_addr(const char *addr, char *host, size_t hostlen, int *port);

#endif
