/*
 * The SVG writer: a growing buffer (whose first failure sticks, in
 * buf.error), and the one escape of user text in markup.
 */
#include "svg.h"

#include "status.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bw_svg_init(bw_svg_t *svg)
{
    bw_buf_init(&svg->buf, BW_SVG_MAX_BYTES);
}

void bw_svg_begin(bw_svg_t *svg, int width, int height)
{
    bw_svg_init(svg);
    bw_svg_markup(svg,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n",
                  width, height, width, height);
}

void bw_svg_markup(bw_svg_t *svg, const char *fmt, ...)
{
    if (svg->buf.error != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    bw_buf_vprintf(&svg->buf, fmt, ap);
    va_end(ap);
}

void bw_svg_text(bw_svg_t *svg, const char *s, size_t max_chars)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && svg->buf.error == 0;
         p++) {
        /* A parser would refuse the whole picture. */
        if (bw_utf8_xml_nonchar((const char *)p)) {
            p += 2;
            continue;
        }
        /* Count characters at their first byte; cut before one too many. */
        if ((*p & 0xC0) != 0x80 && max_chars > 0 && chars++ == max_chars) {
            bw_buf_adds(&svg->buf, "\xE2\x80\xA6");
            return;
        }
        switch (*p) {
        case '&':
            bw_buf_adds(&svg->buf, "&amp;");
            break;
        case '<':
            bw_buf_adds(&svg->buf, "&lt;");
            break;
        case '>':
            bw_buf_adds(&svg->buf, "&gt;");
            break;
        case '"':
            bw_buf_adds(&svg->buf, "&quot;");
            break;
        case '\'':
            bw_buf_adds(&svg->buf, "&#39;");
            break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                break;
            bw_buf_addc(&svg->buf, (char)*p);
        }
    }
}

int bw_svg_finish(bw_svg_t *svg, bw_arena_t *arena, uint8_t **data, size_t *len)
{
    int err = svg->buf.error;
    if (err == 0) {
        *data = bw_arena_alloc(arena, svg->buf.len + 1);
        if (*data == NULL)
            err = BW_ENOMEM;
        else
            memcpy(*data, svg->buf.data, svg->buf.len);
        *len = svg->buf.len;
    }
    bw_buf_free(&svg->buf);
    return err;
}
