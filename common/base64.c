/*
 * The base64 of base64.h: RFC 4648 digits, and one bit accumulator.
 */
#include "base64.h"

#include "status.h"

/* The digits of the n bytes at in, of alphabet, padded with '=' to a
 * multiple of four characters if pad, into out; returns the length. */
static size_t encode(const uint8_t *in, size_t n, const char *alphabet, int pad, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t rest = n - i;
        uint32_t v = (uint32_t)in[i] << 16 | (rest > 1 ? (uint32_t)in[i + 1] << 8 : 0) |
                     (rest > 2 ? in[i + 2] : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (rest > 1)
            out[o++] = alphabet[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (rest > 2)
            out[o++] = alphabet[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    return o;
}

size_t bw_base64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o =
        encode(in, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 0, out);
    out[o] = '\0';
    return o;
}

size_t bw_base64_encode(const uint8_t *in, size_t n, char *out)
{
    return encode(in, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 1,
                  out);
}

int bw_base64_digit(unsigned char c, char digit62, char digit63)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (unsigned char)digit62)
        return 62;
    if (c == (unsigned char)digit63)
        return 63;
    return -1;
}

int bw_base64url_value(unsigned char c)
{
    return bw_base64_digit(c, '-', '_');
}

int bw_base64_decode(const char *in, size_t n, int (*digit_of)(unsigned char c), uint8_t *out,
                     size_t cap, size_t *outlen, unsigned *spare)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int val = digit_of((unsigned char)in[i]);
        if (val < 0)
            return BW_EINVAL;
        acc = (acc << 6) | (uint32_t)val;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return BW_EINVAL;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    *outlen = o;
    *spare = acc;
    return 0;
}

int bw_base64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    unsigned spare;
    size_t o;
    if (n % 4 == 1 || bw_base64_decode(in, n, bw_base64url_value, out, cap, &o, &spare) != 0 ||
        spare != 0)
        return BW_EINVAL;
    *outlen = o;
    return 0;
}
