/*
 * Runs the integration suites against the database named by the
 * BULWARK_TEST_* environment (see tests/README.md); exits non-zero when any
 * test fails. Log lines of the code under test are off unless
 * BULWARK_LOG_LEVEL asks for them.
 */
#include "log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

Suite *suite_db(void);
Suite *suite_rls(void);
Suite *suite_roles(void);
Suite *suite_purge(void);
Suite *suite_outbox(void);
Suite *suite_erasure(void);
Suite *suite_scheduler(void);
Suite *suite_retention(void);
Suite *suite_claim(void);
Suite *suite_lists(void);
Suite *suite_reseal(void);

int main(void)
{
    const char *level_name = getenv("BULWARK_LOG_LEVEL");
    int level = level_name != NULL ? bw_log_parse_level(level_name) : BW_LOG_OFF;
    if (level < 0) {
        fprintf(stderr, "test_integration: invalid BULWARK_LOG_LEVEL\n");
        return EXIT_FAILURE;
    }
    bw_log_init("test_integration", level);

    SRunner *sr = srunner_create(suite_db());
    srunner_add_suite(sr, suite_rls());
    srunner_add_suite(sr, suite_roles());
    srunner_add_suite(sr, suite_purge());
    srunner_add_suite(sr, suite_outbox());
    srunner_add_suite(sr, suite_erasure());
    srunner_add_suite(sr, suite_scheduler());
    srunner_add_suite(sr, suite_retention());
    srunner_add_suite(sr, suite_claim());
    srunner_add_suite(sr, suite_lists());
    srunner_add_suite(sr, suite_reseal());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
