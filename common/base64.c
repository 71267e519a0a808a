/*
 * The base64 of base64.h: RFC 4648 digits, and one bit accumulator.
 */
#include "base64.h"

#include "status.h"

size_t bw_base64url_encode(const uint8_t *in, size_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = al[v >> 18];
        out[o++] = al[(v >> 12) & 63];
        out[o++] = al[(v >> 6) & 63];
        out[o++] = al[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = al[v >> 18];
        out[o++] = al[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = al[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
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
