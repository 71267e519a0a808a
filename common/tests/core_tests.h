/*
 * The test cases of bw::core kept in files of their own (one per module),
 * which test_core.c's suite runs.
 */
#ifndef BW_CORE_TESTS_H
#define BW_CORE_TESTS_H

#include <check.h>

TCase *tcase_bucket(void);
TCase *tcase_times(void);
TCase *tcase_utf8(void);

#endif
