/*
 * The Check suites of the scoping service's unit tests, run by main.c.
 */
#ifndef BW_SCOPING_TEST_SUITES_H
#define BW_SCOPING_TEST_SUITES_H

#include <check.h>

Suite *suite_facts(void);
Suite *suite_catalogue(void);
Suite *suite_rules(void);
Suite *suite_profiles(void);

#endif
