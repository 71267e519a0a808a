/*
 * Runs the crosswalk service's unit suites: the CSV parser and writer, the
 * composition and roll-up on hand-made catalogues, and the shipped data.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(suite_csv());
    srunner_add_suite(sr, suite_rollup());
    srunner_add_suite(sr, suite_data());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
