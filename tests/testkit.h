/*
 * Helpers shared by the integration and end-to-end suites. They read the
 * environment the test runner (deploy/local/test.sh) exports:
 *
 *   BULWARK_TEST_<PROCESS>_DATABASE_URL  each process's login role
 *                                        (bulwark_app_gateway, ..._scoping, ...)
 *   BULWARK_TEST_DATABASE_URL            one of them (scoping's)
 *   BULWARK_TEST_ADMIN_DATABASE_URL      the owner of the database and schemas
 *                                        (NOSUPERUSER NOBYPASSRLS CREATEROLE)
 *   BULWARK_TEST_SUPERUSER_DATABASE_URL  a superuser: for what the owner cannot
 *                                        do (disable triggers, read across tenants)
 *   BULWARK_TEST_URL                     the gateway's base URL, http://127.0.0.1:18080
 *   BULWARK_TEST_OPERATOR_TOKEN          the operator's bearer token
 *
 * Every helper that cannot do its job fails the running Check test with a
 * message saying what went wrong, so tests stay free of plumbing checks.
 * They are meant for Check's default fork mode: a failure ends the test's
 * process, so what the test held is not freed and does not need to be.
 */
#ifndef BW_TESTKIT_H
#define BW_TESTKIT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>

/* The value of an environment variable (borrowed from the environment); fails
 * the test when it is unset or empty. */
const char *bw_test_env(const char *name);

/* Connects with the connection string held by the environment variable
 * which_env (e.g. "BULWARK_TEST_ADMIN_DATABASE_URL"). Caller owns the result
 * (PQfinish). Fails the test when the connection fails. */
PGconn *bw_test_pg(const char *which_env);

/* A process that connects to the database, its roles and its schema. */
typedef struct bw_test_process {
    const char *name;    /* "gateway" */
    const char *login;   /* its login role, "bulwark_app_gateway" */
    const char *group;   /* the group role it belongs to, "bulwark_tenancy" */
    const char *schema;  /* the schema it owns alone, "tenancy" */
    const char *url_env; /* "BULWARK_TEST_GATEWAY_DATABASE_URL" */
} bw_test_process_t;

/* Every such process: gateway, scoping, crosswalk, incidents, attestations,
 * integrations. */
extern const bw_test_process_t bw_test_processes[];
extern const int bw_test_n_processes;

/* The process called name, or NULL. Borrowed (static). */
const bw_test_process_t *bw_test_process(const char *name);

/* Runs sql with text parameters $1, $2, ... given after it (const char *, NULL
 * for SQL NULL), e.g. bw_test_sql(conn, "SELECT $1::int + 1", "41").
 * Caller owns the result (PQclear). Fails the test when the statement fails. */
#define bw_test_sql(conn, ...)                                                                     \
    bw_test_sql_params((conn), (const char *const[]){__VA_ARGS__},                                 \
                       (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)) -  \
                           1)
/* The decimal text of an integer, for a parameter of bw_test_sql:
 * bw_test_sql(conn, "SELECT $1::int", BW_TEST_INT(n)). The text lives until
 * the end of the enclosing block. */
#define BW_TEST_INT(v) bw_test_int_text((char[24]){0}, (long long)(v))
const char *bw_test_int_text(char buf[24], long long v);
/* Like bw_test_sql but frees the result: for statements run for their effect. */
#define bw_test_exec(conn, ...) PQclear(bw_test_sql((conn), __VA_ARGS__))
/* Runs a statement that must fail; returns its SQLSTATE (borrowed, valid until
 * the next call). Fails the test when the statement succeeds. */
#define bw_test_sql_error(conn, ...)                                                               \
    bw_test_sql_error_params(                                                                      \
        (conn), (const char *const[]){__VA_ARGS__},                                                \
        (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)) - 1)

/* Runs a statement that must return exactly one row (a row lock taken, a
 * row found), parameters as bw_test_sql; fails the test otherwise. */
#define bw_test_one_row(conn, ...)                                                                 \
    bw_test_one_row_params(                                                                        \
        (conn), (const char *const[]){__VA_ARGS__},                                                \
        (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)) - 1)
void bw_test_one_row_params(PGconn *conn, const char *const *sql_and_values, int n_values);

/* A transaction of the test's own, as another writer of tenant_id would
 * have: the admin role's connection, BEGIN, the tenant set for the
 * transaction. For tests of requests that meet a writer's locks: the test
 * takes them (bw_test_one_row), sends its request from a thread
 * (bw_test_async_t), then COMMITs and PQfinishes. */
PGconn *bw_test_begin_as(const char *tenant_id);

/* Rows of schema read so far in conn's current transaction: tuples returned
 * by sequential scans of its tables and by its indexes
 * (pg_stat_get_xact_tuples_returned). What a statement read is the
 * difference of two calls around it, in one transaction. */
long bw_test_rows_read(PGconn *conn, const char *schema);

/* What the macros call: sql_and_values[0] is the SQL, then n_values values
 * (all borrowed). */
PGresult *bw_test_sql_params(PGconn *conn, const char *const *sql_and_values, int n_values);
const char *bw_test_sql_error_params(PGconn *conn, const char *const *sql_and_values, int n_values);

/* An HTTP response. All members are owned by the struct; free it with
 * bw_test_resp_free. */
typedef struct bw_test_resp {
    long status;        /* HTTP status, 0 when no response arrived */
    json_t *json;       /* the body parsed as JSON, NULL when it is not JSON */
    char *body;         /* the body, NUL-terminated ("" when empty) */
    char *content_type; /* the Content-Type header, NULL when absent */
    char *headers;      /* raw header lines of the final response, CRLF-separated */
    size_t body_len;    /* bytes in body, not counting the NUL */
    char *header_index; /* private to bw_test_header: "name\0value\0...\0" */
} bw_test_resp_t;

/* Sends method (GET, POST, PUT, PATCH, DELETE, HEAD, ...) to BULWARK_TEST_URL
 * + path (path starts with '/', borrowed). token, when non-NULL, goes out as
 * "Authorization: Bearer <token>"; body, when non-NULL, as the request body
 * with "Content-Type: application/json" (an extra header replaces it).
 * extra_headers is a NULL-terminated array of "Name: value" lines, or NULL.
 * Fills *out (initialised here; free with bw_test_resp_free even on failure).
 * Returns 0 when a response arrived, whatever its status, or BW_EUNAVAIL
 * when none did (connection refused, timeout; the reason goes to stderr).
 * Redirects are not followed: a test sees the 3xx. */
int bw_test_http(const char *method, const char *path, const char *token, const char *body,
                 const char *const *extra_headers, bw_test_resp_t *out);

/* The same against another server: base is its URL without the path
 * ("http://127.0.0.1:20500"), e.g. a stand-in of tests/standins/. */
int bw_test_http_at(const char *base, const char *method, const char *path, const char *token,
                    const char *body, const char *const *extra_headers, bw_test_resp_t *out);

/* bw_test_http with the checks every caller makes: a response came and its
 * status is want (the test fails otherwise, naming the request and the
 * body). Returns the JSON body (caller decrefs; NULL when there is none). */
json_t *bw_test_call(const char *token, const char *method, const char *path, const char *body,
                     long want);

/* A request sent from a thread of its own, for tests of requests that meet
 * each other or a lock: fill method, path, token and body (borrowed until
 * the join), call bw_test_http_start, then bw_test_http_join, after which
 * resp is as bw_test_http left it (status 0 when no response came; free it
 * with bw_test_resp_free). */
typedef struct bw_test_async {
    const char *method, *path, *token, *body;
    const char *const *headers; /* extra header lines as bw_test_http takes them, or NULL */
    bw_test_resp_t resp;
    pthread_t thread;
} bw_test_async_t;

/* Starts req's request; the test fails if its thread cannot start. */
void bw_test_http_start(bw_test_async_t *req);

/* Waits until req's request has its response or has failed. */
void bw_test_http_join(bw_test_async_t *req);

/* A webhook endpoint of token's tenant at http://<BULWARK_TEST_WEBHOOK_HOST>:9
 * + path, where nothing listens, subscribed to campaign.completed, which
 * nothing in the stack emits: its only deliveries are those the test makes.
 * Returns the reply to create (caller decrefs). */
json_t *bw_test_parked_endpoint(const char *token, const char *path);

/* Waits (up to 60 s) until the relay has taken every event of the tenant
 * (its id) from the outbox, so that a webhook endpoint or ticket connection
 * made afterwards gets none of them; fails the test otherwise. The relay runs
 * every 200 ms, but under ASan with other suites beside it, seconds late. */
void bw_test_wait_relayed(const char *tenant_id);

/* GET /metrics of service ("scoping", "integrations", ...) at its metrics
 * address (BULWARK_TEST_<SERVICE>_METRICS_ADDR); the test fails unless it
 * answers 200 with the Prometheus text format. Returns the text (caller
 * frees). */
char *bw_test_scrape(const char *service);

/* The value of the sample series ("name{labels}") in a scrape, 0 when
 * absent. */
double bw_test_sample(const char *text, const char *series);

/* The value of the response header name, case-insensitive, surrounding
 * blanks trimmed; the first when it repeats; NULL when absent. Borrowed from
 * resp. */
const char *bw_test_header(const bw_test_resp_t *resp, const char *name);

/* Frees what *resp holds and zeroes it. Accepts NULL. */
void bw_test_resp_free(bw_test_resp_t *resp);

/* Creates a tenant: POST /v1/tenants {"name": name} with the operator token.
 * Returns its id and, when admin_key_out is non-NULL, stores the secret of the
 * tenant's first admin API key ("bwk_...") there; caller owns (frees) both.
 * Fails the test unless the gateway answers 200 or 201 with both values. */
char *bw_test_create_tenant(const char *name, char **admin_key_out);

/* A random (version 4) UUID in lower-case text form. Caller owns (free). */
char *bw_test_uuid_str(void);

#endif
