/*
 * The common main of a gRPC service: read the configuration table, start the
 * RPC server whose workers each hold one database connection with the
 * service's statements prepared, run the periodic purge of expired
 * idempotency records, wait for SIGINT or SIGTERM, drain and stop.
 * A service supplies its methods, its statements and, if it needs them, its
 * own settings and start-up hook; everything else is shared, the internal
 * calls that export, erase and count a tenant's rows in the service's
 * schema (named as the service) included (lifecycle.h).
 */
#ifndef BW_SERVICE_H
#define BW_SERVICE_H

#include "config.h"
#include "db.h"
#include "rpc.h"

/* The settings of internal mutual TLS, in every process that speaks gRPC. */
typedef struct bw_service_tls_config {
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    long refresh_sec;
} bw_service_tls_config_t;

/* The settings every process reads alike, defined once: the rows of a
 * configuration table that fill TYPE's token_secret, and its log_level,
 * log_format and log_requests (REQUESTS_HELP says what one request line is
 * in that process). */
#define BW_SERVICE_TOKEN_SECRET_CONFIG_ITEM(TYPE)                                                  \
    {                                                                                              \
        "BULWARK_TOKEN_SECRET", BW_CFG_STRING, NULL, 0, 0, offsetof(TYPE, token_secret), 1,        \
            "secret (32 characters or more) that signs page tokens; the same on every process"     \
    }
#define BW_SERVICE_LOG_CONFIG_ITEMS(TYPE, REQUESTS_HELP)                                           \
    {"BULWARK_LOG_LEVEL",                                                                          \
     BW_CFG_LEVEL,                                                                                 \
     "info",                                                                                       \
     0,                                                                                            \
     0,                                                                                            \
     offsetof(TYPE, log_level),                                                                    \
     0,                                                                                            \
     "debug, info, warn, error or off"},                                                           \
        {"BULWARK_LOG_FORMAT",                                                                     \
         BW_CFG_LOG_FORMAT,                                                                        \
         "text",                                                                                   \
         0,                                                                                        \
         0,                                                                                        \
         offsetof(TYPE, log_format),                                                               \
         0,                                                                                        \
         "text (one line of key=value) or json (one JSON object a line)"},                         \
    {                                                                                              \
        "BULWARK_LOG_REQUESTS", BW_CFG_BOOL, "true", 0, 0, offsetof(TYPE, log_requests), 0,        \
            REQUESTS_HELP                                                                          \
    }

/* The rows of a configuration table that fill a bw_service_tls_config_t
 * member of TYPE named MEMBER. */
#define BW_SERVICE_TLS_CONFIG_ITEMS(TYPE, MEMBER)                                                  \
    {"BULWARK_TLS_CA_FILE",                                                                        \
     BW_CFG_STRING,                                                                                \
     NULL,                                                                                         \
     0,                                                                                            \
     0,                                                                                            \
     offsetof(TYPE, MEMBER.ca_file),                                                               \
     0,                                                                                            \
     "PEM file of the internal CA: peers must present a certificate it signed"},                   \
        {"BULWARK_TLS_CERT_FILE",                                                                  \
         BW_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         0,                                                                                        \
         0,                                                                                        \
         offsetof(TYPE, MEMBER.cert_file),                                                         \
         0,                                                                                        \
         "PEM certificate of this process; its common name is the process's identity"},            \
        {"BULWARK_TLS_KEY_FILE",                                                                   \
         BW_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         0,                                                                                        \
         0,                                                                                        \
         offsetof(TYPE, MEMBER.key_file),                                                          \
         0,                                                                                        \
         "PEM private key of that certificate"},                                                   \
    {                                                                                              \
        "BULWARK_TLS_REFRESH_SEC", BW_CFG_INT, "60", 1, 86400, offsetof(TYPE, MEMBER.refresh_sec), \
            0,                                                                                     \
            "how often the TLS files are re-read, in seconds (a rotated certificate serves new "   \
            "connections without a restart)"                                                       \
    }

/* Opens the TLS files of config, logging the reason on failure. */
int bw_service_tls_open(const bw_service_tls_config_t *config, bw_rpc_tls_t **out);

/* Settings every service has. */
typedef struct bw_service_config {
    const char *addr;         /* gRPC listen address */
    const char *database_url; /* the services' role, without BYPASSRLS */
    const char *token_secret; /* HMAC key of page tokens */
    long workers;
    long purge_period_sec; /* the purge every this many seconds; 0: never */
    int log_level;
    int log_format;           /* BW_LOG_TEXT or BW_LOG_JSON */
    int log_requests;         /* a line per call */
    const char *metrics_addr; /* /metrics listen address; "" for the gRPC port + 1000 */
    bw_service_tls_config_t tls_files;
    const bw_rpc_tls_t *tls; /* opened from tls_files before init runs */
} bw_service_config_t;

typedef struct bw_service_def {
    const char *name;     /* "scoping" */
    const char *summary;  /* one line for --help */
    const char *addr_env; /* "BULWARK_SCOPING_ADDR" */
    const char *addr_default;
    /* The contract (protoc-c's service descriptor) and a handler for each of
     * its methods: paths and types come from the contract. */
    const ProtobufCServiceDescriptor *contract;
    const bw_rpc_handler_t *handlers;
    size_t n_handlers;
    /* Who may call what, besides the gateway, which may call every method. */
    const bw_rpc_peer_t *peers;
    size_t n_peers;
    /* Each module's statements, prepared on every worker connection. */
    const bw_db_stmt_list_t *stmt_lists;
    size_t n_stmt_lists;
    /* Optional: what the periodic purge runs besides the expired idempotency
     * records, each "SELECT <function>()" answering how many rows went: a
     * SECURITY DEFINER function that crosses tenants, as the job runs
     * without one (e.g. scoping.purge_tombstones()). At most 7. */
    const bw_db_stmt_t *const *purges;
    size_t n_purges;
    /* Optional settings of the service's own, loaded into extra_config. */
    const bw_config_item_t *extra_items;
    size_t n_extra_items;
    void *extra_config;
    /* Optional: runs once after the settings are read; its *service_data is
     * returned to handlers by bw_service_data(call). Non-zero stops start-up. */
    int (*init)(const bw_service_config_t *config, void **service_data);
    /* Optional: runs at the end if init succeeded (or there is none), with
     * what init gave. */
    void (*fini)(void *service_data);
    /* Optional: adds the service's own metrics to /metrics (any thread). */
    void (*metrics)(void *service_data, bw_metrics_text_t *text);
} bw_service_def_t;

/* The members of a bw_service_def_t that name the process PROCESS (its
 * folder, binary and schema) and its gRPC address, the setting
 * BULWARK_<SCHEMA>_ADDR, whose default is the services table's
 * (bw_services.h): BW_SERVICE_PROCESS(scoping, SCOPING). */
#define BW_SERVICE_PROCESS(PROCESS, SCHEMA)                                                        \
    .name = #PROCESS, .addr_env = "BULWARK_" #SCHEMA "_ADDR",                                      \
    .addr_default = BW_##SCHEMA##_ADDR_DEFAULT
/* An array member of bw_service_def_t and its count, n_<MEMBER>, from the
 * array ARRAY itself: BW_SERVICE_ARRAY(handlers, handlers). */
#define BW_SERVICE_ARRAY(MEMBER, ARRAY)                                                            \
    .MEMBER = (ARRAY), .n_##MEMBER = sizeof(ARRAY) / sizeof((ARRAY)[0])
/* The service's own settings: the table ITEMS (an array) read into *CONFIG. */
#define BW_SERVICE_SETTINGS(ITEMS, CONFIG)                                                         \
    BW_SERVICE_ARRAY(extra_items, ITEMS), .extra_config = (CONFIG)

/* What each worker thread holds. */
typedef struct bw_service_worker {
    bw_db_t *db;
    const bw_db_stmt_t **stmts; /* what db prepared; owned, outlives db */
} bw_service_worker_t;

/* Runs the service until SIGINT/SIGTERM; returns the process exit status.
 * Besides gRPC it serves GET /metrics (Prometheus text) on
 * BULWARK_METRICS_ADDR: the calls by method, the database pool and
 * statements, and what def->metrics adds.
 * With the one argument --probe it instead calls the health check of the
 * service at its own address, over TLS with its own certificate, and exits 0
 * when it answers SERVING (for container probes, which cannot present a
 * client certificate themselves). */
int bw_service_main(const bw_service_def_t *def, int argc, char **argv);

/* The service's own data (what def->init returned). */
void *bw_service_data(const bw_call_t *call);
/* The worker's database connection, with the call's log context attached. */
bw_db_t *bw_service_db(bw_call_t *call);

/* Worker hooks for processes that run an RPC server of their own (the
 * gateway): service_data must point to a bw_service_db_opts_t. */
typedef struct bw_service_db_opts {
    const char *database_url;
    const bw_db_stmt_list_t *stmt_lists; /* the process's own modules */
    size_t n_stmt_lists;
    void *user; /* handed on as the service's own data */
    /* The schemas whose tenant rows the process exports and erases
     * (lifecycle.h): a service's own, named as the service. */
    const char *const *schemas;
    size_t n_schemas;
} bw_service_db_opts_t;
int bw_service_worker_init(void *service_data, void **worker_data);
void bw_service_worker_fini(void *service_data, void *worker_data);
int bw_service_health(void *service_data, void *worker_data);
/* The members of a bw_rpc_server_opts_t that give its workers a database
 * connection each from DB (a bw_service_db_opts_t *), answer health by it,
 * run every call through bw_request_intercept and the first reads of calls
 * taken together through bw_request_ahead (request.h). */
#define BW_SERVICE_DB_SERVER_OPTS(DB)                                                              \
    .service_data = (DB), .worker_init = bw_service_worker_init,                                   \
    .worker_fini = bw_service_worker_fini, .health = bw_service_health,                            \
    .intercept = bw_request_intercept, .ahead = bw_request_ahead

/* Blocks SIGINT and SIGTERM in the calling thread (call before starting
 * threads, so they inherit the mask) and waits for one of them. */
void bw_service_block_signals(void);
int bw_service_wait_signal(void);

#endif
