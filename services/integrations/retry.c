/*
 * The retry schedule; see retry.h.
 */
#include "retry.h"

#include "status.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bw_retry_parse(const char *text, bw_retry_schedule_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *p = text != NULL ? text : "";
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        char *end;
        long v = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : -1;
        if (v < 0 || v > BW_RETRY_MAX_WAIT_SEC) {
            snprintf(err, errlen, "each wait must be a number of seconds from 0 to %ld",
                     BW_RETRY_MAX_WAIT_SEC);
            return BW_EINVAL;
        }
        if (out->n_waits == BW_RETRY_MAX_WAITS) {
            snprintf(err, errlen, "at most %d waits", BW_RETRY_MAX_WAITS);
            return BW_EINVAL;
        }
        out->waits[out->n_waits++] = v;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            return 0;
        if (*p != ',') {
            snprintf(err, errlen, "a comma-separated list of seconds, such as 5,300,1800");
            return BW_EINVAL;
        }
        p++;
    }
}

long long bw_retry_next_ms(const bw_retry_schedule_t *s, int attempts_made, uint32_t random,
                           long retry_after_sec)
{
    if (attempts_made < 1 || (size_t)attempts_made > s->n_waits)
        return -1;
    long long base = (long long)s->waits[attempts_made - 1] * 1000;
    /* Uniform in [0.8, 1.2) of the wait. */
    long long jittered =
        base * 4 / 5 + (long long)((double)random / 4294967296.0 * (double)base * 2 / 5);
    long long floor_ms = (long long)retry_after_sec * 1000;
    return jittered > floor_ms ? jittered : floor_ms;
}

long bw_retry_after_parse(const char *value, long long now)
{
    if (value == NULL)
        return 0;
    while (isspace((unsigned char)*value))
        value++;
    long long seconds;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long v = strtoll(value, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end != '\0' || v < 0)
            return 0;
        seconds = v;
    } else {
        time_t at = curl_getdate(value, NULL);
        if (at == (time_t)-1 || (long long)at <= now)
            return 0;
        seconds = (long long)at - now;
    }
    return seconds > BW_RETRY_MAX_RETRY_AFTER_SEC ? BW_RETRY_MAX_RETRY_AFTER_SEC : (long)seconds;
}
