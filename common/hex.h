/*
 * Hexadecimal, both ways: digests and ids written as lower-case hex (ids.c,
 * trace ids, the services' key fingerprints), and the digit reader of every
 * parser of hex (percent-decoding, the secrets key, traceparent). And the
 * one decimal writer of the hot paths (JSON integers, HTTP status lines
 * and lengths, log durations), where printf cost more than the rest.
 */
#ifndef BW_HEX_H
#define BW_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes bw_decimal writes: a sign and 20 digits. */
#define BW_DECIMAL_MAX 21

/* Lower-case hex of n bytes into out (size >= 2n+1, NUL-terminated). */
void bw_hex(const uint8_t *bytes, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int bw_hex_digit(int c);
/* The decimal digits of mag, '-' before them when neg, written so that they
 * end just before end (no NUL); returns where they start, at most
 * BW_DECIMAL_MAX bytes before end. */
char *bw_decimal(char *end, bool neg, uint64_t mag);
/* |v| as unsigned, INT64_MIN included: bw_decimal's mag of a signed value. */
static inline uint64_t bw_int64_magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
}

#endif
