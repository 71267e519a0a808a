/*
 * Assertions and helpers shared by the end-to-end suites (the functions are
 * in e2e.c, linked into every suite).
 */
#ifndef BW_E2E_H
#define BW_E2E_H

#include <check.h>
#include <jansson.h>
#include <sys/types.h>
#include <stdarg.h>
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

/* A medium-sized cloud provider established in Germany: important, and a
 * relevant entity of IR 2024/2690, so both analyses apply to it. */
#define ACME_CLOUD                                                                                 \
    "{\"name\":\"Acme Cloud SE\",\"timeZone\":\"Europe/Berlin\",\"activities\":[{\"entityType\":"  \
    "\"digital_infra.cloud\",\"principalActivity\":true}],\"size\":{\"staffHeadcount\":60,"        \
    "\"annualTurnoverEur\":\"12000000\",\"balanceSheetTotalEur\":\"12000000\"},"                   \
    "\"memberState\":{\"establishment\":\"DE\"}}"

/* A tenant made through the API: its id, an API key for it, and with
 * new_tenant_with_entity an entity's id (else NULL). free_tenant frees
 * them. */
typedef struct tenant {
    char *id, *key, *entity;
} tenant_t;

tenant_t new_tenant(const char *name);
/* Also creates an entity from the JSON body entity_json (asserting 201). */
tenant_t new_tenant_with_entity(const char *name, const char *entity_json);
void free_tenant(tenant_t *t);

/* bw_test_call (tests/testkit.h) under the name these suites use. */
json_t *call(const char *key, const char *method, const char *path, const char *body, long want);

/* Sends a request to a path built with printf and asserts its status (for a
 * 4xx or 5xx: a problem naming field; field NULL: any). Returns the JSON
 * body (caller decrefs; NULL when not JSON). */
json_t *vexpect(long status, const char *field, const char *method, const char *key,
                const char *body, const char *fmt, va_list ap);
/* vexpect with field NULL. */
json_t *expect(long status, const char *method, const char *key, const char *body, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* The pid of a process of the stack ("gateway", "scoping", ...), from
 * its pid file in BULWARK_TEST_RUN_DIR; 0 when there is none. */
pid_t process_pid(const char *process);

/* The first JSON line of the process's log (BULWARK_TEST_LOG_DIR) that
 * holds needle, whose member key equals value (key NULL: any) and whose
 * time is since or later (an RFC 3339 time as the logs write it, with
 * microseconds; NULL: any), or NULL (caller decrefs). Lines that are not
 * JSON are skipped. */
json_t *log_line_since(const char *process, const char *needle, const char *key, const char *value,
                       const char *since);

/* Expects a problem with this status naming field. */
void expect_problem(const char *key, const char *method, const char *path, const char *body,
                    int status, const char *field);

#endif
