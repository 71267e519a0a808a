/*
 * Option parsing and the two output formats of bulwarkctl. A table shows
 * the columns a command names, aligned on the widest value; JSON is the
 * gateway's document as it came, indented.
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

int ctl_args(const char *command, int argc, char **argv, const ctl_opt_t *opts, size_t n_opts,
             const char **pos, int min_pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (*n_pos == max_pos) {
                fprintf(stderr,
                        "bulwarkctl: %s: unexpected argument \"%s\"\nTry bulwarkctl %s --help.\n",
                        command, arg, command);
                return CTL_USAGE;
            }
            pos[(*n_pos)++] = arg;
            continue;
        }
        /* "--name=value" or "--name value" */
        const char *eq = strchr(arg, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        const ctl_opt_t *o = NULL;
        for (size_t k = 0; k < n_opts; k++)
            if (strlen(opts[k].name) == name_len && strncmp(opts[k].name, arg, name_len) == 0)
                o = &opts[k];
        if (o == NULL) {
            fprintf(stderr, "bulwarkctl: %s: unknown option \"%.*s\"\nTry bulwarkctl %s --help.\n",
                    command, (int)name_len, arg, command);
            return CTL_USAGE;
        }
        if (o->flag != NULL) {
            if (eq != NULL) {
                fprintf(stderr, "bulwarkctl: %s: %s takes no value\n", command, o->name);
                return CTL_USAGE;
            }
            *o->flag = 1;
        } else if (eq != NULL) {
            *o->value = eq + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            fprintf(stderr, "bulwarkctl: %s: %s needs a value\n", command, o->name);
            return CTL_USAGE;
        }
    }
    if (*n_pos < min_pos) {
        fprintf(stderr, "bulwarkctl: %s: missing arguments\nTry bulwarkctl %s --help.\n", command,
                command);
        return CTL_USAGE;
    }
    return CTL_OK;
}

int ctl_need(const char *command, const char *value, const char *variable)
{
    if (value != NULL && value[0] != '\0')
        return CTL_OK;
    fprintf(stderr, "bulwarkctl: %s needs %s\n", command, variable);
    return CTL_USAGE;
}

const char *ctl_member(json_t *obj, const char *member, char *buf, size_t len)
{
    json_t *v = obj;
    const char *p = member;
    while (v != NULL && *p != '\0') {
        size_t n = strcspn(p, ".");
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)n, p);
        v = json_object_get(v, name);
        p += n + (p[n] == '.');
    }
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", text != NULL ? text : "?");
    free(text);
    return buf;
}

void ctl_table(FILE *out, json_t *rows, const ctl_column_t *cols, size_t n_cols)
{
    size_t *width = calloc(n_cols, sizeof(*width));
    char buf[256];
    if (width == NULL)
        return;
    for (size_t c = 0; c < n_cols; c++) {
        width[c] = strlen(cols[c].header);
        for (size_t r = 0; r < json_array_size(rows); r++) {
            const char *v = ctl_member(json_array_get(rows, r), cols[c].member, buf, sizeof(buf));
            size_t n = v != NULL ? strlen(v) : 1;
            if (n > width[c])
                width[c] = n;
        }
    }
    /* The last column is not padded: no trailing blanks. */
    for (size_t c = 0; c < n_cols; c++)
        fprintf(out, "%-*s%s", c + 1 < n_cols ? (int)width[c] : 0, cols[c].header,
                c + 1 < n_cols ? "  " : "\n");
    for (size_t r = 0; r < json_array_size(rows); r++)
        for (size_t c = 0; c < n_cols; c++) {
            const char *v = ctl_member(json_array_get(rows, r), cols[c].member, buf, sizeof(buf));
            fprintf(out, "%-*s%s", c + 1 < n_cols ? (int)width[c] : 0, v != NULL ? v : "-",
                    c + 1 < n_cols ? "  " : "\n");
        }
    free(width);
}

void ctl_fields(FILE *out, json_t *obj, const ctl_column_t *cols, size_t n_cols)
{
    size_t width = 0;
    char buf[256];
    for (size_t c = 0; c < n_cols; c++)
        if (strlen(cols[c].header) > width)
            width = strlen(cols[c].header);
    for (size_t c = 0; c < n_cols; c++) {
        const char *v = ctl_member(obj, cols[c].member, buf, sizeof(buf));
        char label[64];
        snprintf(label, sizeof(label), "%s:", cols[c].header);
        fprintf(out, "%-*s %s\n", (int)width + 1, label, v != NULL ? v : "-");
    }
}

void ctl_json(FILE *out, json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (text != NULL)
        fprintf(out, "%s\n", text);
    free(text);
}
