/*
 * End-to-end tests: real HTTP against the running gateway, which calls the
 * real services over gRPC, which use the real database. The runner
 * (deploy/local/test.sh) starts the stack and exports BULWARK_TEST_*.
 */
#include <check.h>
#include <stdlib.h>

Suite *suite_gateway(void);
Suite *suite_tenancy(void);
Suite *suite_entities(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_gateway());
    srunner_add_suite(sr, suite_tenancy());
    srunner_add_suite(sr, suite_entities());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
