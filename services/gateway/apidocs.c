/*
 * The embedded files of the API reference page (apidocs.h). The build puts
 * them into the read-only data of the binary with the assembler's .incbin:
 * a 5 MB bundle as a C array would cost the compiler far more than the
 * assembler's copy. Their paths and entity-tags come from embed.h, which
 * apidocs/bundle.sh writes at build time; a browser revalidates with one
 * If-None-Match and gets a 304 instead of the bundle again.
 */
#include "apidocs.h"

#include "embed.h"

#include <string.h>

/* Embeds file as sym[] (NUL-terminated, which text needs) up to sym_end. */
#define BW_EMBED(sym, file)                                                                        \
    __asm__(".pushsection .rodata." #sym ",\"a\",@progbits\n"                                      \
            ".global " #sym "\n"                                                                   \
            ".type " #sym ",@object\n"                                                             \
            ".balign 16\n" #sym ":\n"                                                              \
            ".incbin \"" file "\"\n"                                                               \
            ".global " #sym "_end\n" #sym "_end:\n"                                                \
            ".byte 0\n"                                                                            \
            ".popsection\n");                                                                      \
    extern const unsigned char sym[], sym##_end[]

BW_EMBED(bw_apidocs_index_html, BW_APIDOCS_INDEX_HTML);
BW_EMBED(bw_apidocs_init_js, BW_APIDOCS_INIT_JS);
BW_EMBED(bw_apidocs_scalar_js, BW_APIDOCS_SCALAR_JS);
BW_EMBED(bw_apidocs_scalar_js_gz, BW_APIDOCS_SCALAR_JS_GZ);

/* Scalar injects its styles (style-src needs 'unsafe-inline'; styles run no
 * code) and shows images as data: URLs; scripts and requests stay on this
 * origin, and the page may not be framed. */
const char bw_apidocs_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#define JS "text/javascript; charset=utf-8"

static bw_apidocs_asset_t assets[] = {
    {"/docs", "text/html; charset=utf-8", bw_apidocs_index_html, 0, NULL, 0,
     BW_APIDOCS_INDEX_HTML_ETAG},
    {"/docs/init.js", JS, bw_apidocs_init_js, 0, NULL, 0, BW_APIDOCS_INIT_JS_ETAG},
    {"/docs/scalar.js", JS, bw_apidocs_scalar_js, 0, bw_apidocs_scalar_js_gz, 0,
     BW_APIDOCS_SCALAR_JS_ETAG},
};

/* Where each asset's body and gzip coding end, in the order of assets[]. */
static const unsigned char *const ends[][2] = {
    {bw_apidocs_index_html_end, NULL},
    {bw_apidocs_init_js_end, NULL},
    {bw_apidocs_scalar_js_end, bw_apidocs_scalar_js_gz_end},
};

void bw_apidocs_init(void)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        bw_apidocs_asset_t *a = &assets[i];
        a->len = (size_t)(ends[i][0] - a->body);
        if (a->gzip != NULL)
            a->gzip_len = (size_t)(ends[i][1] - a->gzip);
    }
}

const bw_apidocs_asset_t *bw_apidocs_find(const char *path)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        if (strcmp(assets[i].path, path) == 0)
            return &assets[i];
    return NULL;
}
