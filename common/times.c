/*
 * See times.h. The calendar arithmetic is H. Hinnant's days_from_civil and
 * civil_from_days (http://howardhinnant.github.io/date_algorithms.html),
 * exact for every int64 day count we can meet, with no call into the C
 * library's zone-aware functions.
 */
#include "times.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define SECONDS_PER_DAY 86400

int64_t bw_time_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * BW_US_PER_SEC + now.tv_nsec / 1000;
}

int64_t bw_time_mono_sec(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec;
}

int64_t bw_time_us(int64_t seconds, int32_t nanos)
{
    return seconds * BW_US_PER_SEC + nanos / 1000;
}

int bw_time_us_checked(int64_t seconds, int32_t nanos, int64_t *us)
{
    if (seconds < BW_TIME_MIN_SECONDS || seconds > BW_TIME_MAX_SECONDS || nanos < 0 ||
        nanos > 999999999)
        return -1;
    *us = bw_time_us(seconds, nanos);
    return 0;
}

void bw_time_split_us(int64_t us, int64_t *seconds, int32_t *nanos)
{
    int64_t sec = us / BW_US_PER_SEC, rem = us % BW_US_PER_SEC;
    if (rem < 0) {
        rem += BW_US_PER_SEC;
        sec -= 1;
    }
    *seconds = sec;
    *nanos = (int32_t)(rem * 1000);
}

static bool read_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9;
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bw_time_parse_result_t bw_time_parse_rfc3339(const char *s, size_t len, int64_t *seconds,
                                             int32_t *nanos)
{
    return bw_time_parse_lenient(s, len, 0, seconds, nanos);
}

bw_time_parse_result_t bw_time_parse_lenient(const char *s, size_t len, unsigned accept,
                                             int64_t *seconds, int32_t *nanos)
{
    int year, month, day, hour, minute, second, frac = 0;
    size_t shortest = accept & BW_TIME_ACCEPT_NO_ZONE ? 19 : 20;
    int space = (accept & BW_TIME_ACCEPT_SPACE) && len > 10 && s[10] == ' ';
    if (len < shortest || !read_digits(s, 4, &year) || s[4] != '-' ||
        !read_digits(s + 5, 2, &month) || s[7] != '-' || !read_digits(s + 8, 2, &day) ||
        (s[10] != 'T' && s[10] != 't' && !space) || !read_digits(s + 11, 2, &hour) ||
        s[13] != ':' || !read_digits(s + 14, 2, &minute) || s[16] != ':' ||
        !read_digits(s + 17, 2, &second))
        return BW_TIME_SYNTAX;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 9)
            frac = frac * 10 + (s[i++] - '0');
        size_t ndigits = i - start;
        if (ndigits == 0)
            return BW_TIME_SYNTAX;
        for (size_t k = ndigits; k < 9; k++)
            frac *= 10;
    }
    int offset = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        /* +hh:mm, or +hhmm (ISO 8601's basic form) when accepted. */
        size_t colon = len - i == 6 && s[i + 3] == ':';
        if (!(colon || (len - i == 5 && (accept & BW_TIME_ACCEPT_BASIC_OFFSET))) ||
            !read_digits(s + i + 1, 2, &oh) || !read_digits(s + i + 3 + colon, 2, &om))
            return BW_TIME_SYNTAX;
        if (oh > 23 || om > 59)
            return BW_TIME_NO_SUCH_TIME;
        offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        i += 5 + colon;
    } else if (i < len || !(accept & BW_TIME_ACCEPT_NO_ZONE)) {
        return BW_TIME_SYNTAX;
    }
    if (i != len)
        return BW_TIME_SYNTAX;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return BW_TIME_NO_SUCH_DATE;
    if (hour > 23 || minute > 59 || second > 59)
        return BW_TIME_NO_SUCH_TIME;
    int64_t secs = days_from_civil(year, (unsigned)month, (unsigned)day) * SECONDS_PER_DAY +
                   hour * 3600 + minute * 60 + second - offset;
    if (secs < BW_TIME_MIN_SECONDS || secs > BW_TIME_MAX_SECONDS)
        return BW_TIME_RANGE;
    *seconds = secs;
    *nanos = frac;
    return BW_TIME_OK;
}

bw_time_parse_result_t bw_time_parse_rfc3339_us(const char *s, int64_t *us)
{
    size_t len = 0;
    while (s[len] != '\0')
        len++;
    int64_t seconds;
    int32_t nanos;
    bw_time_parse_result_t res = bw_time_parse_rfc3339(s, len, &seconds, &nanos);
    if (res == BW_TIME_OK)
        *us = bw_time_us(seconds, nanos);
    return res;
}

/* Writes value as exactly width decimal digits at out. */
static char *put_digits(char *out, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

/* Written by hand for the years 0-9999 (snprintf was most of the cost of
 * a reply's timestamps); snprintf for the rest. */
size_t bw_time_format(int64_t seconds, int32_t nanos, bw_time_fraction_t fraction,
                      char out[BW_TIME_TEXT_MAX])
{
    int64_t days = seconds / SECONDS_PER_DAY, sod = seconds % SECONDS_PER_DAY;
    if (sod < 0) {
        sod += SECONDS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned frac = 0;
    int frac_digits = 0;
    if (fraction == BW_TIME_FRACTION_MICROS)
        frac = (unsigned)(nanos / 1000), frac_digits = 6;
    else if (fraction == BW_TIME_FRACTION_SHORTEST && nanos % 1000000 == 0 && nanos != 0)
        frac = (unsigned)(nanos / 1000000), frac_digits = 3;
    else if (fraction == BW_TIME_FRACTION_SHORTEST && nanos % 1000 == 0 && nanos != 0)
        frac = (unsigned)(nanos / 1000), frac_digits = 6;
    else if (fraction == BW_TIME_FRACTION_SHORTEST && nanos != 0)
        frac = (unsigned)nanos, frac_digits = 9;
    if (y < 0 || y > 9999 || nanos < 0 || nanos > 999999999) {
        char text[16] = "";
        if (frac_digits > 0)
            snprintf(text, sizeof(text), ".%0*" PRId32, frac_digits,
                     frac_digits == 3   ? nanos / 1000000
                     : frac_digits == 6 ? nanos / 1000
                                        : nanos);
        int n =
            snprintf(out, BW_TIME_TEXT_MAX, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u%sZ", y, m, d,
                     (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), text);
        return (size_t)n;
    }
    char *p = put_digits(out, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)(sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(sod % 60), 2);
    if (frac_digits > 0) {
        *p++ = '.';
        p = put_digits(p, frac, frac_digits);
    }
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

size_t bw_time_format_us(int64_t us, bw_time_fraction_t fraction, char out[BW_TIME_TEXT_MAX])
{
    int64_t seconds;
    int32_t nanos;
    bw_time_split_us(us, &seconds, &nanos);
    return bw_time_format(seconds, nanos, fraction, out);
}
