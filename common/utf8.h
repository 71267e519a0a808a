/*
 * UTF-8 validation (RFC 3629): the one check of text that arrives as bytes
 * (a CSV body, before it becomes a protobuf string).
 */
#ifndef BW_UTF8_H
#define BW_UTF8_H

#include <stddef.h>

/*
 * Whether the len bytes at s are well-formed UTF-8 without NUL: no
 * overlong forms, no surrogates, nothing above U+10FFFF. 0, or BW_EINVAL
 * with *bad_at (may be NULL) the offset of the first byte that is not.
 */
int bw_utf8_check(const char *s, size_t len, size_t *bad_at);

#endif
