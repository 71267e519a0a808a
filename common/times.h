/*
 * Times as Bulwark keeps them: instants in microseconds since the Unix epoch
 * (UTC, the precision PostgreSQL keeps) or as a protobuf Timestamp's seconds
 * and nanoseconds, and RFC 3339 text both ways. Pure arithmetic on the
 * proleptic Gregorian calendar: no time zone, no TZ variable, no locale.
 * Local-zone text is the incidents service's business (its tz.c, on ICU).
 *
 * Named times.h, as nginx names ngx_times.h, so that it never shadows the C
 * library's <time.h> on the include path.
 */
#ifndef BW_TIMES_H
#define BW_TIMES_H

#include <stddef.h>
#include <stdint.h>

#define BW_US_PER_SEC INT64_C(1000000)

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range of a proto3
 * Timestamp in JSON, and of the text bw_time_parse_rfc3339 reads. */
#define BW_TIME_MIN_SECONDS INT64_C(-62135596800)
#define BW_TIME_MAX_SECONDS INT64_C(253402300799)
#define BW_TIME_MIN_US (BW_TIME_MIN_SECONDS * BW_US_PER_SEC)
#define BW_TIME_MAX_US (BW_TIME_MAX_SECONDS * BW_US_PER_SEC + 999999)

/* Room for any text bw_time_format writes, with its NUL (the widest is an
 * instant near the ends of int64 microseconds, "-290308-12-21T19:59:05.224192Z"). */
#define BW_TIME_TEXT_MAX 40

/* Why text is not an RFC 3339 time; BW_TIME_OK (0) when it is one. */
typedef enum bw_time_parse_result {
    BW_TIME_OK = 0,
    BW_TIME_SYNTAX,       /* not "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)" */
    BW_TIME_NO_SUCH_DATE, /* 2025-02-29, month 13 */
    BW_TIME_NO_SUCH_TIME, /* 24:00:00, second 60, offset +24:00 */
    BW_TIME_RANGE,        /* before 0001-01-01T00:00:00Z or after 9999-12-31T23:59:59.999999999Z */
} bw_time_parse_result_t;

/* How many fractional digits bw_time_format writes. */
typedef enum bw_time_fraction {
    BW_TIME_FRACTION_NONE,     /* "2025-06-10T07:15:00Z", the fraction dropped */
    BW_TIME_FRACTION_MICROS,   /* "2025-06-10T07:15:00.000000Z", always six digits */
    BW_TIME_FRACTION_SHORTEST, /* none when zero, else 3, 6 or 9 digits, as proto3 JSON writes */
} bw_time_fraction_t;

/* The wall clock (CLOCK_REALTIME) in microseconds since the epoch. */
int64_t bw_time_now_us(void);
/* The monotonic clock (CLOCK_MONOTONIC) in whole seconds, for ages and
 * expiries that no change of the wall clock may move. */
int64_t bw_time_mono_sec(void);

/* Microseconds of a Timestamp's seconds and nanos (nanos in 0..999999999;
 * sub-microsecond digits are dropped). Unchecked: for a Timestamp this
 * process made or read from the database; one a caller sent goes through
 * bw_time_us_checked. */
int64_t bw_time_us(int64_t seconds, int32_t nanos);

/* bw_time_us of a Timestamp from outside (a raw gRPC caller can send any
 * seconds and nanos): 0 with *us set when seconds is in
 * [BW_TIME_MIN_SECONDS, BW_TIME_MAX_SECONDS] and nanos in 0..999999999,
 * else -1 with *us untouched (a larger seconds overflows the product). */
int bw_time_us_checked(int64_t seconds, int32_t nanos, int64_t *us);

/* The Timestamp fields of us: nanos always in 0..999999999, so an instant
 * before 1970 has negative seconds and positive nanos. */
void bw_time_split_us(int64_t us, int64_t *seconds, int32_t *nanos);

/*
 * Parses the len bytes at s (borrowed; no NUL needed) as
 * "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)", T and Z in either case,
 * an offset up to +-23:59. On BW_TIME_OK, *seconds and *nanos hold the
 * instant (in [BW_TIME_MIN_SECONDS, BW_TIME_MAX_SECONDS]); otherwise they
 * are untouched.
 */
bw_time_parse_result_t bw_time_parse_rfc3339(const char *s, size_t len, int64_t *seconds,
                                             int32_t *nanos);

/* What bw_time_parse_lenient accepts beyond RFC 3339 (flags, or'd). */
enum {
    BW_TIME_ACCEPT_SPACE = 1,        /* a space for the T ("2025-06-10 07:15:00") */
    BW_TIME_ACCEPT_BASIC_OFFSET = 2, /* +hhmm offsets as well as +hh:mm (ISO 8601 basic) */
    BW_TIME_ACCEPT_NO_ZONE = 4,      /* no Z or offset: the time is UTC */
};

/* bw_time_parse_rfc3339, accepting also the forms accept names (0: the
 * same). For times other systems send: Jira's "2025-06-10T09:15:00.000+0200",
 * ServiceNow's "2025-06-10 07:15:00" (UTC). */
bw_time_parse_result_t bw_time_parse_lenient(const char *s, size_t len, unsigned accept,
                                             int64_t *seconds, int32_t *nanos);

/* The same for NUL-terminated text, to microseconds (digits beyond the
 * sixth of the fraction dropped). */
bw_time_parse_result_t bw_time_parse_rfc3339_us(const char *s, int64_t *us);

/*
 * Writes the instant seconds + nanos (nanos in 0..999999999) as UTC RFC 3339
 * text into out (BW_TIME_TEXT_MAX bytes), with the fraction as asked, and
 * returns its length. Any int64 seconds a bw_time_split_us can give is
 * written (years beyond 9999 with more digits, before 0001 with a sign, as
 * gmtime_r and "%04d" would); callers that promise years 0001-9999 check
 * the range first.
 */
size_t bw_time_format(int64_t seconds, int32_t nanos, bw_time_fraction_t fraction,
                      char out[BW_TIME_TEXT_MAX]);

/* bw_time_format of microseconds. */
size_t bw_time_format_us(int64_t us, bw_time_fraction_t fraction, char out[BW_TIME_TEXT_MAX]);

#endif
