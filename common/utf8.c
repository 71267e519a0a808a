/*
 * UTF-8 validation by the table of well-formed byte sequences of The
 * Unicode Standard, section 3.9 (table 3-7): one pass, no allocation.
 */
#include "utf8.h"

#include "status.h"

int bw_utf8_check(const char *text, size_t len, size_t *bad_at)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0x01 && c <= 0x7F) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            goto bad;
        }
        if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
            goto bad;
        for (size_t k = 2; k < n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                goto bad;
        i += n;
    }
    return 0;
bad:
    if (bad_at != NULL)
        *bad_at = i;
    return BW_EINVAL;
}
