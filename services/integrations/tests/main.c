/*
 * Runs the unit suites of the integrations service: no database, no other
 * process (the network policy's tests open local sockets).
 */
#include "tests.h"

#include <curl/curl.h>
#include <stdlib.h>

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite_netpolicy());
    srunner_add_suite(sr, suite_retry());
    srunner_add_suite(sr, suite_signature());
    srunner_add_suite(sr, suite_inbound());
    srunner_add_suite(sr, suite_inlimit());
    srunner_add_suite(sr, suite_pgarray());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
