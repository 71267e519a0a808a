/*
 * The single error space of Bulwark.
 *
 * Functions return 0 or a negative BW_E* code. One table maps each code to a
 * gRPC status and a default reason; one table maps a gRPC status to an HTTP
 * status (the grpc-gateway mapping), with the ETAG_MISMATCH exception.
 * gRPC status numbers are the wire values, repeated here so that only
 * common/rpc* includes <grpc/grpc.h>.
 */
#ifndef BW_STATUS_H
#define BW_STATUS_H

enum bw_error {
    BW_OK = 0,
    BW_EINVAL = -1,     /* bad input: INVALID_ARGUMENT */
    BW_ENOTFOUND = -2,  /* NOT_FOUND (also another tenant's resource) */
    BW_EEXIST = -3,     /* ALREADY_EXISTS */
    BW_EPERM = -4,      /* PERMISSION_DENIED */
    BW_EAUTH = -5,      /* UNAUTHENTICATED */
    BW_ECONFLICT = -6,  /* ABORTED: concurrent change, key in flight */
    BW_EPRECOND = -7,   /* FAILED_PRECONDITION: etag mismatch and the like */
    BW_ELIMIT = -8,     /* RESOURCE_EXHAUSTED: rate limit, quota */
    BW_EUNAVAIL = -9,   /* UNAVAILABLE: database or backend down */
    BW_ETIMEOUT = -10,  /* DEADLINE_EXCEEDED */
    BW_ENOMEM = -11,    /* RESOURCE_EXHAUSTED: out of memory */
    BW_EINTERNAL = -12, /* INTERNAL: a bug */
    BW_EUNIMPL = -13,   /* UNIMPLEMENTED */
    BW_ETOOBIG = -14,   /* OUT_OF_RANGE is wrong here; RESOURCE_EXHAUSTED, HTTP 413 */
    BW_ECANCELLED = -15 /* CANCELLED */
};

enum bw_grpc_code {
    BW_GRPC_OK = 0,
    BW_GRPC_CANCELLED = 1,
    BW_GRPC_UNKNOWN = 2,
    BW_GRPC_INVALID_ARGUMENT = 3,
    BW_GRPC_DEADLINE_EXCEEDED = 4,
    BW_GRPC_NOT_FOUND = 5,
    BW_GRPC_ALREADY_EXISTS = 6,
    BW_GRPC_PERMISSION_DENIED = 7,
    BW_GRPC_RESOURCE_EXHAUSTED = 8,
    BW_GRPC_FAILED_PRECONDITION = 9,
    BW_GRPC_ABORTED = 10,
    BW_GRPC_OUT_OF_RANGE = 11,
    BW_GRPC_UNIMPLEMENTED = 12,
    BW_GRPC_INTERNAL = 13,
    BW_GRPC_UNAVAILABLE = 14,
    BW_GRPC_DATA_LOSS = 15,
    BW_GRPC_UNAUTHENTICATED = 16
};

/* Short lower-case description of a BW_E* code ("invalid argument"). */
const char *bw_strerror(int err);
/* gRPC status for a BW_E* code (0 for BW_OK). */
int bw_status_grpc_code(int err);
/* Default UPPER_SNAKE reason for a BW_E* code ("INVALID_ARGUMENT"). */
const char *bw_status_default_reason(int err);
/* Name of a gRPC status ("NOT_FOUND"); "UNKNOWN" for values out of range. */
const char *bw_status_grpc_name(int grpc_code);
/* HTTP status for a gRPC status and reason (reason may be NULL). */
int bw_status_http(int grpc_code, const char *reason);
/* HTTP reason phrase used as problem+json title ("Not Found"). */
const char *bw_status_http_title(int http_status);

#endif
