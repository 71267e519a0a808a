/*
 * What the commands of bulwarkctl share: the settings, the exit statuses,
 * option parsing, the HTTP client (libcurl) that talks to the gateway, and
 * the two output formats (a table for people, the gateway's JSON for
 * scripts). A command writes its result on stdout and any complaint on
 * stderr, and returns one of the exit statuses.
 */
#ifndef BW_CTL_H
#define BW_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Exit statuses (README.md lists them). */
enum {
    CTL_OK = 0,
    CTL_FAILED = 1,      /* the gateway refused the request (4xx), or the work failed */
    CTL_USAGE = 2,       /* bad arguments or settings: nothing was sent */
    CTL_UNAVAILABLE = 3, /* the gateway or database could not be reached, or answered 5xx */
    CTL_INVALID = 4,     /* what was checked does not verify (a checksum, a signature) */
};

typedef struct ctl {
    const char *url;                /* the gateway, "http://127.0.0.1:8080" */
    const char *operator_token;     /* for the tenants commands */
    const char *api_key;            /* a tenant's key, for keys and soa */
    const char *admin_database_url; /* for migrate */
    long timeout_sec;
    int json; /* --output json */
} ctl_t;

/* ---- options -------------------------------------------------------------- */

/* One option of a command: "--name VALUE" (value set) or "--name" (flag set). */
typedef struct ctl_opt {
    const char *name;
    const char **value;
    int *flag;
} ctl_opt_t;

/* Splits argv into options (as opts says) and up to max_pos positional
 * arguments (into pos, count into *n_pos, which must reach min_pos).
 * CTL_USAGE with a message naming the command otherwise. */
int ctl_args(const char *command, int argc, char **argv, const ctl_opt_t *opts, size_t n_opts,
             const char **pos, int min_pos, int max_pos, int *n_pos);
/* The value of a setting a command needs, or a usage error naming it. */
int ctl_need(const char *command, const char *value, const char *variable);

/* ---- HTTP ----------------------------------------------------------------- */

typedef struct ctl_resp {
    long status;  /* 0 when no response came */
    json_t *json; /* the body parsed, NULL when it is not JSON */
    char *body;   /* NUL-terminated */
    size_t len;
} ctl_resp_t;

/* Sends method path (already escaped) with the bearer token and the JSON
 * body (or NULL) to the gateway; a 429 is retried after its Retry-After (a
 * few times). 0 when a response came (whatever its status; *out filled,
 * free with ctl_resp_free), else CTL_UNAVAILABLE after saying why. */
int ctl_http(const ctl_t *ctl, const char *method, const char *path, const char *token,
             const char *body, ctl_resp_t *out);
void ctl_resp_free(ctl_resp_t *resp);
/* Prints a failed reply's problem (status, reason, detail, the fields) on
 * stderr; returns CTL_FAILED for a 4xx, CTL_UNAVAILABLE for anything else. */
int ctl_problem(const ctl_resp_t *resp);
/* A path segment percent-escaped (caller frees), NULL on OOM. */
char *ctl_escape(const char *segment);
/* ctl_http on fmt with its one %s the escaped id (with id NULL, fmt is the
 * path as it is), with token; a reply that is no success is printed
 * (ctl_problem) and freed, and its exit code returned. */
int ctl_call(const ctl_t *ctl, const char *token, const char *method, const char *fmt,
             const char *id, const char *body, ctl_resp_t *r);
/* ctl_call of a GET for one page of a list: page_token (from the previous
 * page's nextPageToken; NULL or "" for the first) is escaped into the
 * query, never read as a format. */
int ctl_get_page(const ctl_t *ctl, const char *token, const char *fmt, const char *id,
                 const char *page_token, ctl_resp_t *r);

/* ---- output --------------------------------------------------------------- */

/* A column of a table: its header and the member shown ("a.b" walks into
 * objects). */
typedef struct ctl_column {
    const char *header;
    const char *member;
} ctl_column_t;

/* rows (an array of objects) as a table: a header line and one line per
 * row, columns aligned, "-" for an absent member. */
void ctl_table(FILE *out, json_t *rows, const ctl_column_t *cols, size_t n_cols);
/* Every page of the list at path ("/v1/tenants?pageSize=500"), its items in
 * member, printed as JSON ({member: [...]}) or as a table of cols. */
int ctl_list_all(const ctl_t *ctl, const char *token, const char *path, const char *member,
                 const ctl_column_t *cols, size_t n_cols);
/* One object as "header: value" lines. */
void ctl_fields(FILE *out, json_t *obj, const ctl_column_t *cols, size_t n_cols);
/* A document as indented JSON and a newline. */
void ctl_json(FILE *out, json_t *doc);
/* The text of member ("a.b") of obj: strings as they are, numbers and
 * booleans as JSON, NULL when absent. Borrowed, or in buf. */
const char *ctl_member(json_t *obj, const char *member, char *buf, size_t len);

/* ---- commands ------------------------------------------------------------- */

int ctl_tenants_list(const ctl_t *ctl, int argc, char **argv);
int ctl_tenants_create(const ctl_t *ctl, int argc, char **argv);
int ctl_tenants_suspend(const ctl_t *ctl, int argc, char **argv);
int ctl_tenants_resume(const ctl_t *ctl, int argc, char **argv);
int ctl_tenants_export(const ctl_t *ctl, int argc, char **argv);
int ctl_tenants_delete(const ctl_t *ctl, int argc, char **argv);
int ctl_keys_create(const ctl_t *ctl, int argc, char **argv);
int ctl_keys_list(const ctl_t *ctl, int argc, char **argv);
int ctl_keys_revoke(const ctl_t *ctl, int argc, char **argv);
int ctl_keys_rotate(const ctl_t *ctl, int argc, char **argv);
int ctl_soa_import(const ctl_t *ctl, int argc, char **argv);
int ctl_soa_export(const ctl_t *ctl, int argc, char **argv);
int ctl_attestations_verify(const ctl_t *ctl, int argc, char **argv);

#endif
