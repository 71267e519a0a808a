/*
 * Runs the gateway's unit suites.
 */
#include <check.h>
#include <stdlib.h>

Suite *suite_router(void);
Suite *suite_problem(void);
Suite *suite_keycache(void);
Suite *suite_ratelimit(void);
Suite *suite_jwks(void);
Suite *suite_jwks_source(void);
Suite *suite_jwt(void);
Suite *suite_httpparse(void);
Suite *suite_headers(void);
Suite *suite_peers(void);
Suite *suite_authfail(void);
Suite *suite_tenantcache(void);
Suite *suite_reqbuild(void);
Suite *suite_gw_metrics(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_router());
    srunner_add_suite(sr, suite_problem());
    srunner_add_suite(sr, suite_keycache());
    srunner_add_suite(sr, suite_ratelimit());
    srunner_add_suite(sr, suite_jwks());
    srunner_add_suite(sr, suite_jwks_source());
    srunner_add_suite(sr, suite_jwt());
    srunner_add_suite(sr, suite_httpparse());
    srunner_add_suite(sr, suite_headers());
    srunner_add_suite(sr, suite_peers());
    srunner_add_suite(sr, suite_authfail());
    srunner_add_suite(sr, suite_tenantcache());
    srunner_add_suite(sr, suite_reqbuild());
    srunner_add_suite(sr, suite_gw_metrics());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
