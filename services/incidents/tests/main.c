/*
 * Runs the unit suites of the incidents service: no database, no other
 * process.
 */
#include "tests.h"

#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(suite_tz());
    srunner_add_suite(sr, suite_clock());
    srunner_add_suite(sr, suite_significance());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
