/*
 * RFC 9457 problem details, the body of every error the gateway answers:
 * {"type","title","status","detail","instance","code","reason","errors":[{"field","message"}]}.
 */
#ifndef BW_GW_PROBLEM_H
#define BW_GW_PROBLEM_H

#include <stddef.h>

typedef struct bw_problem_error {
    const char *field;
    const char *message;
} bw_problem_error_t;

typedef struct bw_problem {
    int grpc_code;        /* BW_GRPC_*: gives "code" and, unless http_status is set, the status */
    int http_status;      /* 0: derived from grpc_code and reason */
    const char *reason;   /* UPPER_SNAKE; NULL: the gRPC status name */
    const char *detail;   /* a sentence for humans; may be NULL */
    const char *instance; /* the request path */
    const char *request_id;
    const bw_problem_error_t *errors;
    size_t n_errors;
} bw_problem_t;

/* The reason phrase of an HTTP status ("Request Timeout"), "Error" when
 * unknown. */
const char *bw_problem_title(int http_status);
/* The HTTP status the problem answers with. */
int bw_problem_status(const bw_problem_t *p);
/* Renders the problem as JSON text (caller frees with free()); NULL on OOM
 * only: strings that are not valid UTF-8 are repaired, not refused. */
char *bw_problem_render(const bw_problem_t *p, size_t *len);

#endif
