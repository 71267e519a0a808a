/*
 * When a failed delivery is tried again. The schedule is a list of waits in
 * seconds (BULWARK_WEBHOOK_RETRY_SECONDS): after the first attempt fails,
 * the next comes after the first wait, and so on; when the attempt after
 * the last wait fails, the delivery has exhausted its schedule. The default
 * follows the Standard Webhooks example: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 14 h, 20 h, 24 h, ten attempts over about three days. Each wait is
 * stretched or shrunk at random by up to a fifth (jitter), so that retries
 * of many deliveries that failed together do not arrive together. A
 * receiver's Retry-After (on 429 or 503) lengthens a wait, never shortens it.
 */
#ifndef BW_RETRY_H
#define BW_RETRY_H

#include <stddef.h>
#include <stdint.h>

#define BW_RETRY_DEFAULT "5,300,1800,7200,18000,36000,50400,72000,86400"
#define BW_RETRY_MAX_WAITS 64
/* One wait at most a week; a Retry-After beyond a day counts as a day. */
#define BW_RETRY_MAX_WAIT_SEC (7L * 86400)
#define BW_RETRY_MAX_RETRY_AFTER_SEC 86400L

typedef struct bw_retry_schedule {
    long waits[BW_RETRY_MAX_WAITS]; /* seconds */
    size_t n_waits;
} bw_retry_schedule_t;

/* Parses "5,300,1800" (blanks around items ignored; "" means no retry).
 * BW_EINVAL with a message in err. */
int bw_retry_parse(const char *text, bw_retry_schedule_t *out, char *err, size_t errlen);

/* After attempts_made attempts of the current schedule (1 after the first),
 * the wait before the next one in milliseconds, jittered with the 32 random
 * bits given, and lengthened to retry_after_sec (0 when none); -1 when the
 * schedule is exhausted. */
long long bw_retry_next_ms(const bw_retry_schedule_t *s, int attempts_made, uint32_t random,
                           long retry_after_sec);

/* A Retry-After header's value in seconds from now (delay-seconds or an
 * HTTP-date, now being the current Unix time), capped at
 * BW_RETRY_MAX_RETRY_AFTER_SEC; 0 when absent, unparsable or past. */
long bw_retry_after_parse(const char *value, long long now);

#endif
