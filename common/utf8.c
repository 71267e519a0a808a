/*
 * See utf8.h. The table of well-formed byte sequences is RFC 3629's
 * section 4 (and the Unicode Standard's Table 3-7).
 */
#include "utf8.h"

#include "status.h"

#include <string.h>

static bool is_cont(unsigned char ch)
{
    return (ch & 0xC0) == 0x80;
}

size_t bw_utf8_char_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && is_cont(s[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || !is_cont(s[1]) || !is_cont(s[2]))
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0; /* overlong; a surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3]))
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0; /* overlong; above U+10FFFF */
        return 4;
    }
    return 0;
}

size_t bw_utf8_valid_prefix(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = bw_utf8_char_len((const unsigned char *)s + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

bool bw_utf8_valid(const char *s, size_t len)
{
    return bw_utf8_valid_prefix(s, len) == len;
}

size_t bw_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && is_cont((unsigned char)s[max]))
        max--;
    return max;
}

void bw_utf8_scrub(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = bw_utf8_char_len((const unsigned char *)s + i, len - i);
        if (n == 0) {
            s[i] = '?';
            n = 1;
        }
        i += n;
    }
}

bool bw_utf8_xml_nonchar(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    return p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF);
}

size_t bw_utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += !is_cont((unsigned char)*s);
    return n;
}

int bw_utf8_check(const char *s, size_t len, size_t *bad_at)
{
    size_t ok = bw_utf8_valid_prefix(s, len);
    const char *nul = ok > 0 ? memchr(s, '\0', ok) : NULL;
    if (nul != NULL)
        ok = (size_t)(nul - s);
    if (ok == len)
        return 0;
    if (bad_at != NULL)
        *bad_at = ok;
    return BW_EINVAL;
}
