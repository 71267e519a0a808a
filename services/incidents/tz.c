/*
 * ICU calendar wrappers of the reporting clock. A bw_tz_t is one Gregorian
 * UCalendar in the incident's zone, configured once with the wall-time rules
 * of the reporting clock (services/incidents/README.md, "The NIS2 clock"):
 * a repeated local time is
 * read as its first occurrence, a skipped one with the offset in force
 * before the gap (which moves it forward by the gap's length). UTC text is
 * common/times.c's, which involves no zone at all.
 */
#include "tz.h"

#include "status.h"
#include "times.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define ZONE_MAX 128

struct bw_tz {
    UCalendar *cal;
    char zone[ZONE_MAX]; /* as bw_tz_open was given it */
};

/*
 * Each thread keeps the last calendar it closed, and bw_tz_open hands it out
 * again for the same zone: a write computes one incident's clock, and opening
 * a calendar (the zone's rules read and checked) was 6-7 % of the incidents
 * process's CPU on a write. Every use of a calendar starts by
 * setting its time (local_fields), so nothing of an earlier use carries over;
 * the attributes set at open stay. A thread's calendar is closed when the
 * thread ends (the key's destructor).
 */
static _Thread_local bw_tz_t *kept;
static _Thread_local int kept_registered; /* the key's destructor runs for this thread */
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;
static int kept_ok;

static void free_tz(bw_tz_t *tz)
{
    if (tz == NULL)
        return;
    if (tz->cal != NULL)
        ucal_close(tz->cal);
    free(tz);
}

static void kept_free(void *unused)
{
    (void)unused;
    free_tz(kept);
    kept = NULL;
}

static void kept_init(void)
{
    kept_ok = pthread_key_create(&kept_key, kept_free) == 0;
}

/* Copies an ASCII zone id into id; 0 when it has a character no IANA id
 * has, or is too long. */
static int zone_to_uchars(const char *zone, UChar id[ZONE_MAX], int32_t *len)
{
    size_t n = strlen(zone);
    if (n == 0 || n >= ZONE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = zone[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '-'))
            return 0;
    }
    u_uastrcpy(id, zone);
    *len = (int32_t)n;
    return 1;
}

int bw_tz_valid(const char *zone)
{
    UChar id[ZONE_MAX], canonical[ZONE_MAX];
    int32_t n;
    if (zone != NULL && kept != NULL && strcmp(kept->zone, zone) == 0)
        return 1;
    if (zone == NULL || !zone_to_uchars(zone, id, &n))
        return 0;
    UErrorCode status = U_ZERO_ERROR;
    UBool system_id = 0;
    ucal_getCanonicalTimeZoneID(id, n, canonical, ZONE_MAX, &system_id, &status);
    if (U_FAILURE(status) || !system_id)
        return 0;
    /* Abbreviations (CET, EST) are ICU system ids too, but not locations. */
    return strchr(zone, '/') != NULL || strcmp(zone, "UTC") == 0;
}

int bw_tz_open(const char *zone, bw_tz_t **out)
{
    UChar id[ZONE_MAX];
    int32_t n;
    *out = NULL;
    if (zone != NULL && kept != NULL && strcmp(kept->zone, zone) == 0) {
        *out = kept;
        kept = NULL;
        return 0;
    }
    /* ucal_open falls back to GMT for an unknown zone instead of failing. */
    if (!bw_tz_valid(zone) || !zone_to_uchars(zone, id, &n))
        return BW_EINVAL;
    bw_tz_t *tz = calloc(1, sizeof(*tz));
    if (tz == NULL)
        return BW_ENOMEM;
    memcpy(tz->zone, zone, (size_t)n + 1);
    UErrorCode status = U_ZERO_ERROR;
    tz->cal = ucal_open(id, n, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_FAILURE(status) || tz->cal == NULL) {
        free_tz(tz);
        return status == U_MEMORY_ALLOCATION_ERROR ? BW_ENOMEM : BW_EINTERNAL;
    }
    /* Lenient, or ICU would refuse a skipped wall time instead of moving it. */
    ucal_setAttribute(tz->cal, UCAL_LENIENT, 1);
    ucal_setAttribute(tz->cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
    ucal_setAttribute(tz->cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_LAST);
    *out = tz;
    return 0;
}

void bw_tz_close(bw_tz_t *tz)
{
    if (tz == NULL)
        return;
    if (!kept_registered) {
        /* The key's value only makes its destructor run for this thread. */
        pthread_once(&kept_once, kept_init);
        if (!kept_ok || pthread_setspecific(kept_key, &kept) != 0) {
            free_tz(tz);
            return;
        }
        kept_registered = 1;
    }
    free_tz(kept);
    kept = tz;
}

/* Splits at into whole milliseconds (ICU's unit) and the microseconds left. */
static void split_us(int64_t at, int64_t *ms, int *sub_us)
{
    int64_t q = at / 1000, r = at % 1000;
    if (r < 0) {
        r += 1000;
        q -= 1;
    }
    *ms = q;
    *sub_us = (int)r;
}

typedef struct local_fields {
    int32_t year, month, day, hour, minute, second, millisecond;
    int32_t offset_ms; /* zone plus daylight offset */
    int sub_us;        /* microseconds below the millisecond */
} local_fields_t;

/* The local fields of the instant at (microseconds). */
static int local_fields(bw_tz_t *tz, int64_t at, local_fields_t *f)
{
    int64_t ms;
    split_us(at, &ms, &f->sub_us);
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis(tz->cal, (UDate)ms, &status);
    f->year = ucal_get(tz->cal, UCAL_EXTENDED_YEAR, &status);
    f->month = ucal_get(tz->cal, UCAL_MONTH, &status);
    f->day = ucal_get(tz->cal, UCAL_DATE, &status);
    f->hour = ucal_get(tz->cal, UCAL_HOUR_OF_DAY, &status);
    f->minute = ucal_get(tz->cal, UCAL_MINUTE, &status);
    f->second = ucal_get(tz->cal, UCAL_SECOND, &status);
    f->millisecond = ucal_get(tz->cal, UCAL_MILLISECOND, &status);
    f->offset_ms =
        ucal_get(tz->cal, UCAL_ZONE_OFFSET, &status) + ucal_get(tz->cal, UCAL_DST_OFFSET, &status);
    return U_FAILURE(status) ? BW_EINTERNAL : 0;
}

int bw_tz_add_month(bw_tz_t *tz, int64_t at, int64_t *out)
{
    local_fields_t f;
    int err = local_fields(tz, at, &f);
    if (err != 0)
        return err;
    int32_t year = f.year, month = f.month + 1;
    if (month > UCAL_DECEMBER) {
        month = UCAL_JANUARY;
        year++;
    }
    UErrorCode status = U_ZERO_ERROR;
    ucal_clear(tz->cal);
    ucal_setDate(tz->cal, year, month, 1, &status);
    int32_t last = ucal_getLimit(tz->cal, UCAL_DATE, UCAL_ACTUAL_MAXIMUM, &status);
    ucal_clear(tz->cal);
    ucal_setDateTime(tz->cal, year, month, f.day < last ? f.day : last, f.hour, f.minute, f.second,
                     &status);
    ucal_set(tz->cal, UCAL_MILLISECOND, f.millisecond);
    UDate result = ucal_getMillis(tz->cal, &status);
    if (U_FAILURE(status))
        return BW_EINTERNAL;
    *out = (int64_t)result * 1000 + f.sub_us;
    return 0;
}

/* ".fff" or ".ffffff" for us (0..999999) microseconds within the second. */
#define FRACTION_MAX 16
static void fraction(char buf[FRACTION_MAX], size_t len, int us)
{
    if (us <= 0 || us > 999999)
        buf[0] = '\0';
    else if (us % 1000 == 0)
        snprintf(buf, len, ".%03d", us / 1000);
    else
        snprintf(buf, len, ".%06d", us);
}

int bw_tz_format_local(bw_tz_t *tz, int64_t at, char *buf, size_t len)
{
    local_fields_t f;
    int err = local_fields(tz, at, &f);
    if (err != 0)
        return err;
    char frac[FRACTION_MAX];
    fraction(frac, sizeof(frac), f.millisecond * 1000 + f.sub_us);
    int32_t off_min = f.offset_ms / 60000;
    char sign = off_min < 0 ? '-' : '+';
    if (off_min < 0)
        off_min = -off_min;
    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", (int)f.year,
                     (int)f.month + 1, (int)f.day, (int)f.hour, (int)f.minute, (int)f.second, frac,
                     sign, (int)(off_min / 60), (int)(off_min % 60));
    return n < 0 || (size_t)n >= len ? BW_EINVAL : 0;
}

int bw_tz_format_utc(int64_t at, char *buf, size_t len)
{
    char text[BW_TIME_TEXT_MAX];
    size_t n = bw_time_format_us(at, BW_TIME_FRACTION_SHORTEST, text);
    if (n >= len)
        return BW_EINVAL;
    memcpy(buf, text, n + 1);
    return 0;
}

int bw_tz_parse_rfc3339(const char *s, int64_t *out)
{
    int64_t at;
    if (bw_time_parse_rfc3339_us(s, &at) != BW_TIME_OK || at < BW_TZ_MIN_US || at > BW_TZ_MAX_US)
        return BW_EINVAL;
    *out = at;
    return 0;
}

const char *bw_tz_data_version(void)
{
    UErrorCode status = U_ZERO_ERROR;
    const char *v = ucal_getTZDataVersion(&status);
    return U_FAILURE(status) || v == NULL ? "unknown" : v;
}
