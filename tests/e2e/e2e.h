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

/* Whether a problem's errors name field. */
static inline int has_field_error(json_t *problem, const char *field)
{
    json_t *errs = json_object_get(problem, "errors");
    for (size_t i = 0; i < json_array_size(errs); i++)
        if (strcmp(jstr(json_array_get(errs, i), "field"), field) == 0)
            return 1;
    return 0;
}

/* Asserts a problem+json reply with this status naming field (NULL: any). */
#define ck_assert_problem(resp, want_status, want_field)                                           \
    do {                                                                                           \
        const char *field_ = (want_field);                                                         \
        ck_assert_msg((resp)->status == (want_status), "status %ld, want %d: %s", (resp)->status,  \
                      (int)(want_status), (resp)->body);                                           \
        ck_assert_msg((resp)->content_type != NULL &&                                              \
                          strstr((resp)->content_type, "application/problem+json") != NULL,        \
                      "content type %s, body %s", (resp)->content_type, (resp)->body);             \
        ck_assert_ptr_nonnull((resp)->json);                                                       \
        ck_assert_int_eq(json_integer_value(json_object_get((resp)->json, "status")),              \
                         (want_status));                                                           \
        ck_assert_msg(jstr((resp)->json, "reason")[0] != '\0', "no reason in %s", (resp)->body);   \
        ck_assert_msg(field_ == NULL || has_field_error((resp)->json, field_),                     \
                      "no error for field %s in %s", field_ ? field_ : "", (resp)->body);          \
    } while (0)

#endif
