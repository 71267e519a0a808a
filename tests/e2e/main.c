/*
 * End-to-end tests: real HTTP against the running gateway, which calls the
 * real services over gRPC, which use the real database. The runner
 * (deploy/local/test.sh) starts the stack and exports BULWARK_TEST_*.
 * CMake builds this file once per suite file, naming its suite in
 * BW_E2E_SUITE.
 */
#include <check.h>
#include <stdlib.h>

Suite *BW_E2E_SUITE(void);

int main(void)
{
    SRunner *sr = srunner_create(BW_E2E_SUITE());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
