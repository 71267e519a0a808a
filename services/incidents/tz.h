/*
 * Time zones and times for the reporting clock, on ICU's calendar (ucal) and
 * its zone data: the local wall-clock time of an instant with its offset,
 * one calendar month later at the same local time, and RFC 3339 text. No
 * TZ environment variable and no localtime(): every zone is an explicit
 * ICU calendar. Instants are microseconds since the Unix epoch (UTC), the
 * precision PostgreSQL keeps.
 */
#ifndef BW_INCIDENTS_TZ_H
#define BW_INCIDENTS_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "times.h"

#define BW_US_PER_HOUR (3600 * BW_US_PER_SEC)

/* Room for "2025-03-30T11:00:00.123456+02:00" and its NUL. */
#define BW_TZ_TEXT_MAX 40

/* The earliest and latest instants the clock accepts: 2000-01-01T00:00:00Z
 * and 9000-01-01T00:00:00Z (far from any edge of the arithmetic). */
#define BW_TZ_MIN_US (INT64_C(946684800) * BW_US_PER_SEC)
#define BW_TZ_MAX_US (INT64_C(221845392000) * BW_US_PER_SEC)

typedef struct bw_tz bw_tz_t;

/* Whether zone is an IANA time zone id that ICU's zone data knows ("UTC" and
 * "Etc/UTC" are; abbreviations like "CEST" and custom ids like "GMT+1" are
 * not). */
int bw_tz_valid(const char *zone);

/* A calendar in zone (borrowed during the call). Caller owns *out; close it
 * with bw_tz_close. BW_EINVAL for a zone bw_tz_valid refuses, BW_ENOMEM.
 * The calling thread's last closed calendar is handed out again when its
 * zone is the same. */
int bw_tz_open(const char *zone, bw_tz_t **out);
/* Accepts NULL. The thread keeps the calendar for its next bw_tz_open (and
 * closes the one it kept before); it is freed when the thread ends. */
void bw_tz_close(bw_tz_t *tz);

/*
 * One calendar month after at, at the same local wall-clock time in the
 * zone: the same day number in the next month, clamped to that month's last
 * day (31 Jan -> 28 or 29 Feb); a local time that occurs twice (the clocks
 * go back) is the earlier instant; a local time that does not exist (the
 * clocks go forward) moves forward by the length of the gap (02:30 in a
 * 02:00 -> 03:00 gap is 03:30). BW_EINTERNAL when ICU fails.
 */
int bw_tz_add_month(bw_tz_t *tz, int64_t at, int64_t *out);

/* at as local RFC 3339 text with the zone's offset at that instant,
 * "2025-03-30T11:00:00+02:00", fractional seconds only when not zero (3 or 6
 * digits). buf needs BW_TZ_TEXT_MAX bytes. */
int bw_tz_format_local(bw_tz_t *tz, int64_t at, char *buf, size_t len);

/* at as UTC RFC 3339 text, "2025-03-30T09:00:00Z" (fraction as above). */
int bw_tz_format_utc(int64_t at, char *buf, size_t len);

/* Parses "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)" (T and Z in either
 * case; digits beyond microseconds are dropped). BW_EINVAL when malformed,
 * when the date or time does not exist, or outside [BW_TZ_MIN_US,
 * BW_TZ_MAX_US]. */
int bw_tz_parse_rfc3339(const char *s, int64_t *out);

/* The version of the zone data ICU uses, e.g. "2022e" (static string). */
const char *bw_tz_data_version(void);

#endif
