/*
 * The common main of a gRPC service: read the configuration table, start the
 * RPC server whose workers each hold one database connection with the
 * service's statements prepared, run the periodic purge of expired
 * idempotency records, wait for SIGINT or SIGTERM, drain and stop.
 * A service supplies its methods, its statements and, if it needs them, its
 * own settings and start-up hook; everything else is shared.
 */
#ifndef BW_SERVICE_H
#define BW_SERVICE_H

#include "config.h"
#include "db.h"
#include "rpc.h"

/* Settings every service has. */
typedef struct bw_service_config {
    const char *addr;         /* gRPC listen address */
    const char *database_url; /* the services' role, without BYPASSRLS */
    const char *token_secret; /* HMAC key of page tokens */
    long workers;
    long purge_period_sec; /* idempotency purge every this many seconds; 0: never */
    int log_level;
} bw_service_config_t;

typedef struct bw_service_def {
    const char *name;     /* "scoping" */
    const char *summary;  /* one line for --help */
    const char *addr_env; /* "BULWARK_SCOPING_ADDR" */
    const char *addr_default;
    const bw_rpc_method_t *methods;
    size_t n_methods;
    const bw_db_stmt_t *const *stmts; /* prepared on every worker connection */
    size_t n_stmts;
    /* Optional settings of the service's own, loaded into extra_config. */
    const bw_config_item_t *extra_items;
    size_t n_extra_items;
    void *extra_config;
    /* Optional: runs once after the settings are read; its *service_data is
     * returned to handlers by bw_service_data(call). Non-zero stops start-up. */
    int (*init)(const bw_service_config_t *config, void **service_data);
    void (*fini)(void *service_data);
} bw_service_def_t;

/* What each worker thread holds. */
typedef struct bw_service_worker {
    bw_db_t *db;
    const bw_db_stmt_t **stmts; /* what db prepared; owned, outlives db */
} bw_service_worker_t;

/* Runs the service until SIGINT/SIGTERM; returns the process exit status. */
int bw_service_main(const bw_service_def_t *def, int argc, char **argv);

/* The service's own data (what def->init returned). */
void *bw_service_data(const bw_call_t *call);
/* The worker's database connection, with the call's log context attached. */
bw_db_t *bw_service_db(bw_call_t *call);

/* Worker hooks for processes that run an RPC server of their own (the
 * gateway): service_data must point to a bw_service_db_opts_t. */
typedef struct bw_service_db_opts {
    const char *database_url;
    const bw_db_stmt_t *const *stmts;
    size_t n_stmts;
    void *user; /* handed on as the service's own data */
} bw_service_db_opts_t;
int bw_service_worker_init(void *service_data, void **worker_data);
void bw_service_worker_fini(void *service_data, void *worker_data);
int bw_service_health(void *service_data, void *worker_data);

/* Blocks SIGINT and SIGTERM in the calling thread (call before starting
 * threads, so they inherit the mask) and waits for one of them. */
void bw_service_block_signals(void);
int bw_service_wait_signal(void);

#endif
