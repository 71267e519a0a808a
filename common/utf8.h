/*
 * UTF-8 as RFC 3629 defines it: the one check of valid text (no overlong
 * forms, no surrogates, nothing above U+10FFFF), the cut of text at a
 * character boundary for quoting it in a message, and the count of its
 * characters. Pure functions on borrowed bytes.
 */
#ifndef BW_UTF8_H
#define BW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid character at s, of which n bytes (n >= 1) may
 * be read; 0 when the bytes there are not one valid character. */
size_t bw_utf8_char_len(const unsigned char *s, size_t n);

/* Length of the longest valid UTF-8 prefix of the len bytes at s. */
size_t bw_utf8_valid_prefix(const char *s, size_t len);

/* Whether the len bytes at s are valid UTF-8. */
bool bw_utf8_valid(const char *s, size_t len);

/* The check of text that arrives as bytes (a CSV body, before it becomes a
 * protobuf string): valid UTF-8 and no NUL. 0, or BW_EINVAL with *bad_at
 * (may be NULL) the offset of the first byte that is not. */
int bw_utf8_check(const char *s, size_t len, size_t *bad_at);

/* The length of the len bytes at s cut to at most max bytes without
 * splitting a character: len when len <= max. */
size_t bw_utf8_cut(const char *s, size_t len, size_t max);

/* Makes NUL-terminated s valid UTF-8 in place: each byte that is not part
 * of a valid character (text from outside in another encoding, or cut by
 * bytes inside a character) becomes '?'. Its length does not change. */
void bw_utf8_scrub(char *s);

/* Whether NUL-terminated s starts with U+FFFE or U+FFFF (EF BF BE, EF BF
 * BF): valid UTF-8, but no XML 1.0 character, so text written into XML
 * (an SVG picture, an XLSX cell) leaves them out. */
bool bw_utf8_xml_nonchar(const char *s);

/* Characters in NUL-terminated text that is valid UTF-8 (counts the bytes
 * that start a character). */
size_t bw_utf8_count(const char *s);

#endif
