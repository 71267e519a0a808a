/*
 * Assertions shared by the end-to-end suites.
 */
#ifndef BW_E2E_H
#define BW_E2E_H

#include <check.h>
#include <jansson.h>
#include <string.h>

#include "testkit.h"

/* The string member key of obj, "" when absent. */
static inline const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

/* Asserts a problem+json reply with this status naming field (NULL: any). */
#define ck_assert_problem(resp, want_status, want_field)                                           \
    do {                                                                                           \
        ck_assert_int_eq((resp)->status, (want_status));                                           \
        ck_assert_msg((resp)->content_type != NULL &&                                              \
                          strstr((resp)->content_type, "application/problem+json") != NULL,       \
                      "content type %s, body %s", (resp)->content_type, (resp)->body);             \
        ck_assert_ptr_nonnull((resp)->json);                                                       \
        ck_assert_int_eq(json_integer_value(json_object_get((resp)->json, "status")),             \
                         (want_status));                                                           \
        ck_assert_msg(jstr((resp)->json, "reason")[0] != '\0', "no reason in %s", (resp)->body);  \
        if ((want_field) != NULL) {                                                                \
            json_t *errs_ = json_object_get((resp)->json, "errors");                               \
            int found_ = 0;                                                                        \
            for (size_t i_ = 0; i_ < json_array_size(errs_); i_++)                                 \
                found_ |= strcmp(jstr(json_array_get(errs_, i_), "field"),                         \
                                 (const char *)(want_field)) == 0;                                 \
            ck_assert_msg(found_, "no error for field %s in %s", (const char *)(want_field),       \
                          (resp)->body);                                                           \
        }                                                                                          \
    } while (0)

#endif
