/*
 * The unit suites of the incidents service, run by main.c.
 */
#ifndef BW_INCIDENTS_TESTS_H
#define BW_INCIDENTS_TESTS_H

#include <check.h>
#include <stdint.h>

Suite *suite_tz(void);
Suite *suite_clock(void);
Suite *suite_significance(void);

/* An RFC 3339 time as microseconds; fails the test when it does not parse. */
int64_t t_at(const char *s);

#endif
