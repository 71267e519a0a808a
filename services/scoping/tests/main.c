/*
 * The scoping service's unit tests: fact validation, the entity-type
 * catalogue, the NIS2 rules and the Member State profiles. No database, no
 * network.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(suite_facts());
    srunner_add_suite(sr, suite_catalogue());
    srunner_add_suite(sr, suite_rules());
    srunner_add_suite(sr, suite_profiles());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
