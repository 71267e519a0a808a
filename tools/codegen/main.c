/*
 * bw_codegen <descriptor_set.pb> <out_dir>: the build step that turns the
 * (bulwark.api.v1.http) bindings of proto/ into the gateway's route table
 * (routes.c) and the OpenAPI 3.1 document (openapi.c, openapi.json). It reads
 * protoc's descriptor set because protobuf-c's own descriptors carry neither
 * options nor comments. Outputs are written under temporary names and renamed
 * only once complete, and a contract mistake fails the build with the .proto
 * position it comes from.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen.h"

#define PROGRAM "bw_codegen"
/* The contracts' descriptor set is a few hundred KiB at most. */
#define MAX_DESCRIPTOR_SET (64u * 1024 * 1024)

static void vreport(const char *severity, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s: ", PROGRAM, severity);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static int n_errors;

int bw_cg_error_count(void)
{
    return n_errors;
}

void bw_cg_error(const char *fmt, ...)
{
    n_errors++;
    va_list ap;
    va_start(ap, fmt);
    vreport("error", fmt, ap);
    va_end(ap);
}

void bw_cg_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("detail", fmt, ap);
    va_end(ap);
}

void bw_cg_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("hint", fmt, ap);
    va_end(ap);
}

int bw_cg_output_open(bw_cg_output_t *out, const char *out_dir, const char *name)
{
    memset(out, 0, sizeof *out);
    out->path = bw_cg_printf("%s/%s", out_dir, name);
    out->tmp_path = bw_cg_printf("%s/.%s.tmp", out_dir, name);
    if (!out->path || !out->tmp_path) {
        bw_cg_error("out of memory");
        bw_cg_output_abort(out);
        return BW_ENOMEM;
    }
    out->fp = fopen(out->tmp_path, "w");
    if (!out->fp) {
        bw_cg_error("could not open \"%s\" for writing: %s", out->tmp_path, strerror(errno));
        bw_cg_output_abort(out);
        return BW_EUNAVAIL;
    }
    return 0;
}

int bw_cg_output_commit(bw_cg_output_t *out)
{
    int failed = ferror(out->fp);
    if (fclose(out->fp) != 0)
        failed = 1;
    out->fp = NULL;
    if (failed) {
        bw_cg_error("could not write \"%s\": %s", out->tmp_path, strerror(errno));
    } else if (rename(out->tmp_path, out->path) != 0) {
        bw_cg_error("could not rename \"%s\" to \"%s\": %s", out->tmp_path, out->path,
                    strerror(errno));
        failed = 1;
    }
    bw_cg_output_abort(out);
    return failed ? BW_EUNAVAIL : 0;
}

void bw_cg_output_abort(bw_cg_output_t *out)
{
    if (!out)
        return;
    if (out->fp) {
        fclose(out->fp);
        out->fp = NULL;
    }
    /* After a commit the temporary name is gone and this fails harmlessly. */
    if (out->tmp_path)
        unlink(out->tmp_path);
    free(out->path);
    free(out->tmp_path);
    out->path = NULL;
    out->tmp_path = NULL;
}

static int read_file(const char *path, uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        bw_cg_error("could not open \"%s\": %s", path, strerror(errno));
        return BW_EINVAL;
    }
    int rc = 0;
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_DESCRIPTOR_SET) {
                bw_cg_error("\"%s\" is larger than %u bytes", path, MAX_DESCRIPTOR_SET);
                rc = BW_EINVAL;
                goto out;
            }
            cap = cap ? 2 * cap : 64 * 1024;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                bw_cg_error("out of memory");
                rc = BW_ENOMEM;
                goto out;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp)) {
                bw_cg_error("could not read \"%s\": %s", path, strerror(errno));
                rc = BW_EINVAL;
                goto out;
            }
            break;
        }
    }
    *bytes = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(fp);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <descriptor_set.pb> <out_dir>\n", PROGRAM);
        return 2;
    }
    uint8_t *bytes;
    size_t len;
    if (read_file(argv[1], &bytes, &len))
        return 1;
    bw_cg_model_t model;
    int rc = bw_cg_model_load(&model, bytes, len);
    free(bytes);
    if (rc)
        return 1;
    rc = bw_cg_write_routes(&model, argv[2]);
    if (!rc)
        rc = bw_cg_write_openapi(&model, argv[2]);
    bw_cg_model_free(&model);
    return rc ? 1 : 0;
}
