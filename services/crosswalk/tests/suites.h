/*
 * The unit suites of the crosswalk service, run by main.c.
 */
#ifndef BW_CROSSWALK_TEST_SUITES_H
#define BW_CROSSWALK_TEST_SUITES_H

#include <check.h>

Suite *suite_csv(void);
Suite *suite_rollup(void);
Suite *suite_data(void);

#endif
