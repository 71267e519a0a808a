/*
 * Base64 digits, the encoding and the decoding loop every user of base64
 * shares: page tokens and secrets (unpadded base64url, ids.c), the secrets
 * key (seal.c), proto3 JSON bytes (json.c: padded base64 out, either
 * alphabet in).
 */
#ifndef BW_BASE64_H
#define BW_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Unpadded base64url (RFC 4648 section 5). Encoding writes into out (size
 * >= 4*n/3+3) and returns the length. Decoding [in, in+n) into out (room for
 * cap bytes) refuses padding, other alphabets, impossible lengths and
 * non-zero trailing bits, so that every byte string has one accepted text:
 * 0 or BW_EINVAL. bw_base64url_value gives a character's value or -1. */
size_t bw_base64url_encode(const uint8_t *in, size_t n, char *out);
int bw_base64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);
int bw_base64url_value(unsigned char c);
/* Padded base64 (RFC 4648 section 4) of the n bytes at in into out (size >=
 * (n + 2) / 3 * 4, no NUL written): proto3 JSON bytes. Returns the length. */
size_t bw_base64_encode(const uint8_t *in, size_t n, char *out);
/* The value (0-63) of a base64 digit, the alphabet's 62nd and 63rd digits
 * given ('+' and '/' for RFC 4648 base64, '-' and '_' for base64url), or -1. */
int bw_base64_digit(unsigned char c, char digit62, char digit63);
/* Decodes the n base64 digits at in (unpadded; digit_of gives a
 * character's value or -1) into out, at most cap bytes: *outlen bytes,
 * and *spare the bits of the last digit left over (0 in a canonical
 * encoding). 0, or BW_EINVAL for a character that is not a digit or more
 * than cap bytes. */
int bw_base64_decode(const char *in, size_t n, int (*digit_of)(unsigned char c), uint8_t *out,
                     size_t cap, size_t *outlen, unsigned *spare);

#endif
