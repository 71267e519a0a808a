/*
 * Writes routes.c, the gateway's route table (types in
 * services/gateway/route.h). Routes are sorted by verb and then with the
 * more specific template first (a literal segment before a variable at the
 * same position), so a router that takes the first match gets the right
 * one, and the output is byte-for-byte the same for the same contracts.
 */
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

static int cmp_route_ptr(const void *a, const void *b)
{
    return bw_cg_route_cmp(*(const bw_cg_route_t *const *)a, *(const bw_cg_route_t *const *)b);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("NULL", out);
        return;
    }
    fputc('"', out);
    bw_cg_put_c_string(out, s, strlen(s));
    fputc('"', out);
}

/* Distinct .proto files whose headers routes.c needs: those declaring a
 * bound service and those declaring its request and response types. */
static int collect_headers(const bw_cg_model_t *model, char ***headers, size_t *n_headers)
{
    size_t n = 0;
    const char **files = malloc((3 * model->n_routes + 1) * sizeof *files);
    if (!files)
        return BW_ENOMEM;
    for (size_t i = 0; i < model->n_routes; i++) {
        const bw_cg_route_t *route = &model->routes[i];
        files[n++] = route->file->name;
        files[n++] = route->request->file->name;
        files[n++] = route->response->file->name;
    }
    qsort(files, n, sizeof *files, cmp_str_ptr);
    char **out = calloc(n + 1, sizeof *out);
    size_t n_out = 0;
    int rc = out ? 0 : BW_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i > 0 && strcmp(files[i], files[i - 1]) == 0)
            continue;
        out[n_out] = bw_cg_c_header(files[i]);
        if (!out[n_out])
            rc = BW_ENOMEM;
        else
            n_out++;
    }
    free(files);
    if (rc) {
        for (size_t i = 0; out && i < n_out; i++)
            free(out[i]);
        free(out);
        return rc;
    }
    *headers = out;
    *n_headers = n_out;
    return 0;
}

static void put_roles(FILE *out, unsigned roles)
{
    if (!roles) {
        fputc('0', out);
        return;
    }
    const char *sep = "";
    for (size_t r = 0; r < bw_n_roles; r++) {
        if (roles & (1u << r)) {
            fprintf(out, "%s%s", sep, bw_roles[r].symbol);
            sep = " | ";
        }
    }
}

static int put_route(FILE *out, const bw_cg_route_t *route, size_t index)
{
    static const char *const access[] = {"BW_ACCESS_TENANT", "BW_ACCESS_OPERATOR",
                                         "BW_ACCESS_PUBLIC", "BW_ACCESS_SERVICE"};
    char *request = bw_cg_c_descriptor(route->request->full_name);
    char *response = bw_cg_c_descriptor(route->response->full_name);
    if (!request || !response) {
        free(request);
        free(response);
        return BW_ENOMEM;
    }
    fputs("    {\n", out);
    fprintf(out, "        .method = %s,\n", bw_cg_verb_symbol(route->verb));
    fputs("        .path = ", out);
    put_string(out, route->template);
    fprintf(out, ",\n        .segs = route%zu_segs,\n", index);
    fprintf(out, "        .n_segs = %zu,\n", route->n_segs);
    fputs("        .backend = ", out);
    put_string(out, route->backend);
    fputs(",\n        .rpc = ", out);
    put_string(out, route->rpc);
    fprintf(out, ",\n        .request = &%s,\n", request);
    fprintf(out, "        .response = &%s,\n", response);
    fputs("        .body = ", out);
    put_string(out, route->body);
    fprintf(out, ",\n        .success_status = %d,\n", route->success_status);
    fputs("        .roles = ", out);
    put_roles(out, route->roles);
    fprintf(out, ",\n        .access = %s,\n", access[route->access]);
    fputs("        .summary = ", out);
    put_string(out, route->summary);
    const Bulwark__Api__V1__HttpRule *rule = route->rule;
    if (rule->n_produces) {
        fprintf(out, ",\n        .produces = route%zu_produces,\n", index);
        fprintf(out, "        .n_produces = %zu", rule->n_produces);
    }
    if (route->file_rpc) {
        char *file_request = bw_cg_c_descriptor(route->file_request->full_name);
        if (!file_request) {
            free(request);
            free(response);
            return BW_ENOMEM;
        }
        fputs(",\n        .file_rpc = ", out);
        put_string(out, route->file_rpc);
        fprintf(out, ",\n        .file_request = &%s", file_request);
        free(file_request);
    }
    if (route->raw_body_field) {
        fputs(",\n        .raw_body_field = ", out);
        put_string(out, route->raw_body_field);
        fprintf(out, ",\n        .raw_body_types = route%zu_raw_body_types,\n", index);
        fprintf(out, "        .n_raw_body_types = %zu", rule->raw_body->n_media_types);
    }
    fputs(",\n    },\n", out);
    free(request);
    free(response);
    return 0;
}

/* A route's list of strings, as static const char *const route<i>_<what>[]. */
static void put_strings(FILE *out, char **items, size_t n, size_t index, const char *what)
{
    if (!n)
        return;
    fprintf(out, "static const char *const route%zu_%s[] = {", index, what);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        put_string(out, items[i]);
    }
    fputs("};\n", out);
}

static int put_table(FILE *out, const bw_cg_model_t *model, const bw_cg_route_t **sorted,
                     char **headers, size_t n_headers)
{
    fputs("/*\n"
          " * The gateway's route table, generated by tools/codegen from the\n"
          " * (bulwark.api.v1.http) options of proto/. Do not edit: change the .proto\n"
          " * files instead.\n"
          " */\n"
          "#include \"route.h\"\n\n",
          out);
    for (size_t i = 0; i < n_headers; i++) {
        fputs("#include ", out);
        put_string(out, headers[i]);
        fputc('\n', out);
    }
    if (n_headers)
        fputc('\n', out);

    for (size_t i = 0; i < model->n_routes; i++) {
        const bw_cg_route_t *route = sorted[i];
        fprintf(out, "static const bw_route_seg_t route%zu_segs[] = {\n", i);
        for (size_t s = 0; s < route->n_segs; s++) {
            fputs("    {", out);
            put_string(out, route->segs[s].literal);
            fputs(", ", out);
            put_string(out, route->segs[s].field);
            if (route->segs[s].verb) {
                fputs(", ", out);
                put_string(out, route->segs[s].verb);
            }
            fputs("},\n", out);
        }
        fputs("};\n", out);
        put_strings(out, route->rule->produces, route->rule->n_produces, i, "produces");
        if (route->raw_body_field)
            put_strings(out, route->rule->raw_body->media_types,
                        route->rule->raw_body->n_media_types, i, "raw_body_types");
    }
    if (model->n_routes)
        fputc('\n', out);

    if (model->n_routes == 0) {
        /* C has no empty arrays; the count says there is nothing in it. */
        fputs("const bw_route_t bw_routes[1];\n", out);
    } else {
        fputs("const bw_route_t bw_routes[] = {\n", out);
        for (size_t i = 0; i < model->n_routes; i++) {
            int rc = put_route(out, sorted[i], i);
            if (rc)
                return rc;
        }
        fputs("};\n", out);
    }
    fprintf(out, "const size_t bw_n_routes = %zu;\n", model->n_routes);
    return 0;
}

int bw_cg_write_routes(const bw_cg_model_t *model, const char *out_dir)
{
    const bw_cg_route_t **sorted = malloc((model->n_routes + 1) * sizeof *sorted);
    char **headers = NULL;
    size_t n_headers = 0;
    bw_cg_output_t output = {0};
    int rc = sorted ? 0 : BW_ENOMEM;
    if (rc)
        goto out;
    for (size_t i = 0; i < model->n_routes; i++)
        sorted[i] = &model->routes[i];
    qsort(sorted, model->n_routes, sizeof *sorted, cmp_route_ptr);
    rc = collect_headers(model, &headers, &n_headers);
    if (rc)
        goto out;
    rc = bw_cg_output_open(&output, out_dir, "routes.c");
    if (rc)
        goto out;
    rc = put_table(output.fp, model, sorted, headers, n_headers);
    if (rc)
        goto out;
    rc = bw_cg_output_commit(&output);
out:
    if (rc == BW_ENOMEM)
        bw_cg_error("out of memory");
    bw_cg_output_abort(&output);
    for (size_t i = 0; i < n_headers; i++)
        free(headers[i]);
    free(headers);
    free(sorted);
    return rc;
}
