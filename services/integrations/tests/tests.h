/* The unit suites of the integrations service. */
#ifndef BW_INTEGRATIONS_TESTS_H
#define BW_INTEGRATIONS_TESTS_H

#include <check.h>

Suite *suite_netpolicy(void);
Suite *suite_retry(void);
Suite *suite_signature(void);
Suite *suite_inbound(void);
Suite *suite_inlimit(void);
Suite *suite_pgarray(void);

#endif
