/*
 * Hexadecimal, both ways: digests and ids written as lower-case hex (ids.c,
 * trace ids, the services' key fingerprints), and the digit reader of every
 * parser of hex (percent-decoding, the secrets key, traceparent).
 */
#ifndef BW_HEX_H
#define BW_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes into out (size >= 2n+1, NUL-terminated). */
void bw_hex(const uint8_t *bytes, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int bw_hex_digit(int c);

#endif
