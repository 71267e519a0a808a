/*
 * SVG text for the pictures the services draw (an incident's timeline, a
 * gap analysis). Markup is written by the caller with bw_svg_markup, and
 * every text that came from a user only through bw_svg_text, which escapes
 * it: a title such as "</text><script>" stays text. The first failure
 * (out of memory, over the ceiling) sticks and is returned once at the end.
 */
#ifndef BW_SVG_H
#define BW_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

/* A picture larger than this is a bug, not a picture. */
#define BW_SVG_MAX_BYTES (4u * 1024 * 1024)
#define BW_SVG_MEDIA_TYPE "image/svg+xml"

typedef struct bw_svg {
    bw_buf_t buf; /* buf.error: the first failure, 0 while none */
} bw_svg_t;

void bw_svg_init(bw_svg_t *svg);
/* bw_svg_init, then the opening tag of a picture width by height pixels
 * (sans-serif, 13 px); the caller ends it with "</svg>". */
void bw_svg_begin(bw_svg_t *svg, int width, int height);
/* Appends markup of the caller's own (never text a user wrote). */
void bw_svg_markup(bw_svg_t *svg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends at most max_chars characters of UTF-8 text s (0: all), escaped
 * for an element's content or an attribute value: & < > " ' as character
 * references, and the characters XML 1.0 does not allow (the C0 controls
 * but tab and line ends, U+FFFE and U+FFFF) dropped. A text cut short ends
 * with an ellipsis. */
void bw_svg_text(bw_svg_t *svg, const char *s, size_t max_chars);
/*
 * Ends the picture: its bytes copied onto arena into *data (caller's
 * arena owns them) and the buffer freed. 0, or the first failure (the
 * buffer is freed all the same).
 */
int bw_svg_finish(bw_svg_t *svg, bw_arena_t *arena, uint8_t **data, size_t *len);

#endif
