/*
 * Reads a binary's configuration table from the environment; see config.h.
 */
#include "config.h"
#include "log.h"
#include "status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int bw_config_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= hostlen)
        return BW_EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 || p > 65535)
        return BW_EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    *port = (int)p;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return BW_EINVAL;
}

int bw_config_load(const bw_config_item_t *items, size_t n, void *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const bw_config_item_t *it = &items[i];
        const char *v = getenv(it->env);
        if (v == NULL || *v == '\0')
            v = it->def;
        if (v == NULL) {
            snprintf(err, errlen, "missing setting %s: %s", it->env, it->help);
            return BW_EINVAL;
        }
        char *field = (char *)out + it->offset;
        switch (it->type) {
        case BW_CFG_STRING:
            *(const char **)field = v;
            break;
        case BW_CFG_ADDR: {
            char host[256];
            int port;
            if (bw_config_split_addr(v, host, sizeof(host), &port) != 0) {
                snprintf(err, errlen, "invalid value for %s: expected host:port, got \"%s\"",
                         it->env, it->secret ? "***" : v);
                return BW_EINVAL;
            }
            *(const char **)field = v;
            break;
        }
        case BW_CFG_INT: {
            char *end;
            errno = 0;
            long x = strtol(v, &end, 10);
            if (errno != 0 || *end != '\0' || end == v || x < it->min || x > it->max) {
                snprintf(err, errlen, "invalid value for %s: expected an integer in %ld..%ld",
                         it->env, it->min, it->max);
                return BW_EINVAL;
            }
            *(long *)field = x;
            break;
        }
        case BW_CFG_BOOL:
            if (parse_bool(v, (int *)field) != 0) {
                snprintf(err, errlen, "invalid value for %s: expected true or false", it->env);
                return BW_EINVAL;
            }
            break;
        case BW_CFG_LEVEL: {
            int level = bw_log_parse_level(v);
            if (level < 0) {
                snprintf(err, errlen,
                         "invalid value for %s: expected debug, info, warn, error or off", it->env);
                return BW_EINVAL;
            }
            *(int *)field = level;
            break;
        }
        case BW_CFG_LOG_FORMAT: {
            int format = bw_log_parse_format(v);
            if (format < 0) {
                snprintf(err, errlen, "invalid value for %s: expected text or json", it->env);
                return BW_EINVAL;
            }
            *(int *)field = format;
            break;
        }
        }
    }
    return 0;
}

void bw_config_print_help(FILE *fp, const char *prog, const bw_config_item_t *items, size_t n)
{
    fprintf(fp, "%s reads its settings from the environment:\n\n", prog);
    for (size_t i = 0; i < n; i++) {
        const bw_config_item_t *it = &items[i];
        fprintf(fp, "  %-32s %s\n", it->env, it->help);
        if (it->def == NULL)
            fprintf(fp, "  %-32s (required)\n", "");
        else if (it->secret)
            fprintf(fp, "  %-32s default: (hidden)\n", "");
        else
            fprintf(fp, "  %-32s default: %s\n", "", *it->def ? it->def : "(empty)");
    }
}

int bw_config_args(int argc, char **argv, const char *summary, const bw_config_item_t *items,
                   size_t n)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s: %s\n\n", argv[0], summary);
            bw_config_print_help(stdout, argv[0], items, n);
            return 1;
        }
        fprintf(stderr, "%s: unknown argument \"%s\"\nTry --help.\n", argv[0], argv[i]);
        return -1;
    }
    return 0;
}
