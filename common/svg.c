/*
 * The SVG writer: a growing buffer with a sticky error, and the one escape
 * of user text in markup.
 */
#include "svg.h"

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bw_svg_init(bw_svg_t *svg)
{
    bw_buf_init(&svg->buf, BW_SVG_MAX_BYTES);
    svg->err = 0;
}

void bw_svg_markup(bw_svg_t *svg, const char *fmt, ...)
{
    if (svg->err != 0)
        return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small)) {
        svg->err = BW_EINTERNAL; /* markup lines are short; a long one is a bug */
        return;
    }
    svg->err = bw_buf_add(&svg->buf, small, (size_t)n);
}

void bw_svg_text(bw_svg_t *svg, const char *s, size_t max_chars)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && svg->err == 0; p++) {
        /* Count characters at their first byte; cut before one too many. */
        if ((*p & 0xC0) != 0x80 && max_chars > 0 && chars++ == max_chars) {
            svg->err = bw_buf_adds(&svg->buf, "\xE2\x80\xA6");
            return;
        }
        switch (*p) {
        case '&':
            svg->err = bw_buf_adds(&svg->buf, "&amp;");
            break;
        case '<':
            svg->err = bw_buf_adds(&svg->buf, "&lt;");
            break;
        case '>':
            svg->err = bw_buf_adds(&svg->buf, "&gt;");
            break;
        case '"':
            svg->err = bw_buf_adds(&svg->buf, "&quot;");
            break;
        case '\'':
            svg->err = bw_buf_adds(&svg->buf, "&#39;");
            break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                break;
            svg->err = bw_buf_addc(&svg->buf, (char)*p);
        }
    }
}

int bw_svg_finish(bw_svg_t *svg, bw_arena_t *arena, uint8_t **data, size_t *len)
{
    int err = svg->err;
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
