/*
 * The API reference page served at /docs: its HTML and start-up script
 * (apidocs/index.html, apidocs/init.js) and Scalar's browser bundle
 * (installed from the npm registry at build time, as
 * apidocs/package-lock.json pins it), all embedded into the binary, so that
 * the page needs nothing but this process at run time.
 */
#ifndef BW_GW_APIDOCS_H
#define BW_GW_APIDOCS_H

#include <stddef.h>

typedef struct bw_apidocs_asset {
    const char *path; /* request path: "/docs", "/docs/scalar.js", ... */
    const char *content_type;
    const unsigned char *body; /* embedded, static */
    size_t len;
    const unsigned char *gzip; /* the gzip coding of body, NULL when there is none */
    size_t gzip_len;
    const char *etag; /* opaque part: a SHA-256 prefix of body, in hex */
} bw_apidocs_asset_t;

/* The Content-Security-Policy the page is served with: its scripts,
 * styles, fonts and requests come from this origin only. */
extern const char bw_apidocs_csp[];

/* Measures the embedded files; call once at start-up, before serving. */
void bw_apidocs_init(void);
/* The asset served at path, borrowed; NULL when none is. */
const bw_apidocs_asset_t *bw_apidocs_find(const char *path);

#endif
