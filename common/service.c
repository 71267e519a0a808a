/*
 * The shared main of the gRPC services; see service.h.
 */
#include "service.h"

#include "ids.h"
#include "lifecycle.h"
#include "log.h"
#include "outbox.h"
#include "request.h"
#include "status.h"

#include "grpc/health/v1/health.pb-c.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BW_SERVICE_GRACE_MS 5000
#define BW_SERVICE_PROBE_TIMEOUT_MS 3000
#define BW_SERVICE_MAX_PEERS 16

/*
 * The purge: a thread that calls bw_request_purge (the expired idempotency
 * records, then the service's own purges, such as its expired tombstones) at
 * start-up and then every period, on a connection opened for each run, so
 * that it holds nothing in between and never takes a worker's connection.
 * Every service runs it; the runs overlap harmlessly (each deletes what is
 * expired at that moment). Stopping wakes it at once, or waits for a run in
 * progress.
 */
typedef struct purge_job {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled on stop; waits use CLOCK_MONOTONIC */
    int stopping;
    const char *database_url;        /* borrowed */
    const bw_db_stmt_t *const *more; /* the service's own purges, borrowed */
    size_t n_more;
    long period_sec;
} purge_job_t;

static void *purge_main(void *arg)
{
    purge_job_t *job = arg;
    pthread_mutex_lock(&job->lock);
    while (!job->stopping) {
        pthread_mutex_unlock(&job->lock);
        long purged = 0;
        int err = bw_request_purge(job->database_url, job->more, job->n_more, &purged);
        if (err != 0)
            bw_log(BW_LOG_WARN, NULL, "could not purge expired records: %s", bw_strerror(err));
        else
            bw_log(purged > 0 ? BW_LOG_INFO : BW_LOG_DEBUG, NULL,
                   "purged %ld expired records (idempotency records, tombstones)", purged);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_sec += job->period_sec;
        pthread_mutex_lock(&job->lock);
        while (!job->stopping && pthread_cond_timedwait(&job->wake, &job->lock, &next) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

static int purge_start(purge_job_t *job, const char *database_url, const bw_db_stmt_t *const *more,
                       size_t n_more, long period_sec)
{
    pthread_condattr_t attr;
    job->stopping = 0;
    job->database_url = database_url;
    job->more = more;
    job->n_more = n_more;
    job->period_sec = period_sec;
    if (pthread_condattr_init(&attr) != 0)
        return BW_ENOMEM;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&job->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return BW_ENOMEM;
    if (pthread_mutex_init(&job->lock, NULL) != 0) {
        pthread_cond_destroy(&job->wake);
        return BW_ENOMEM;
    }
    if (pthread_create(&job->thread, NULL, purge_main, job) != 0) {
        pthread_mutex_destroy(&job->lock);
        pthread_cond_destroy(&job->wake);
        return BW_ENOMEM;
    }
    return 0;
}

static void purge_stop(purge_job_t *job)
{
    pthread_mutex_lock(&job->lock);
    job->stopping = 1;
    pthread_cond_signal(&job->wake);
    pthread_mutex_unlock(&job->lock);
    pthread_join(job->thread, NULL);
    pthread_mutex_destroy(&job->lock);
    pthread_cond_destroy(&job->wake);
}

int bw_service_worker_init(void *service_data, void **worker_data)
{
    const bw_service_db_opts_t *opts = service_data;
    bw_service_worker_t *w = calloc(1, sizeof(*w));
    /* The process's statements, then those of the shared write path, of the
     * outbox and of the tenant's data (export, erasure, counts). */
    const bw_db_stmt_list_t shared[] = {
        {bw_request_stmts, bw_request_n_stmts},
        {bw_outbox_stmts, bw_outbox_n_stmts},
        {bw_lifecycle_stmts, bw_lifecycle_n_stmts},
    };
    size_t n = 0;
    for (size_t l = 0; l < opts->n_stmt_lists; l++)
        n += opts->stmt_lists[l].n;
    for (size_t l = 0; l < sizeof(shared) / sizeof(shared[0]); l++)
        n += shared[l].n;
    const bw_db_stmt_t **stmts = calloc(n, sizeof(*stmts));
    if (w == NULL || stmts == NULL) {
        free(w);
        free(stmts);
        return BW_ENOMEM;
    }
    size_t k = 0;
    for (size_t l = 0; l < opts->n_stmt_lists; l++)
        for (size_t i = 0; i < opts->stmt_lists[l].n; i++)
            stmts[k++] = opts->stmt_lists[l].stmts[i];
    for (size_t l = 0; l < sizeof(shared) / sizeof(shared[0]); l++)
        for (size_t i = 0; i < shared[l].n; i++)
            stmts[k++] = shared[l].stmts[i];
    int err = bw_db_open(opts->database_url, stmts, n, 0, &w->db);
    if (err != 0) {
        free(stmts);
        free(w);
        return err;
    }
    w->stmts = stmts;
    *worker_data = w;
    return 0;
}

void bw_service_worker_fini(void *service_data, void *worker_data)
{
    (void)service_data;
    bw_service_worker_t *w = worker_data;
    if (w == NULL)
        return;
    bw_db_close(w->db);
    free(w->stmts);
    free(w);
}

int bw_service_health(void *service_data, void *worker_data)
{
    (void)service_data;
    bw_service_worker_t *w = worker_data;
    return bw_db_ping(w->db);
}

void *bw_service_data(const bw_call_t *call)
{
    const bw_service_db_opts_t *opts = call->service_data;
    return opts->user;
}

bw_db_t *bw_service_db(bw_call_t *call)
{
    bw_service_worker_t *w = call->worker_data;
    bw_db_set_log_ctx(w->db, &call->log);
    return w->db;
}

void bw_service_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int bw_service_wait_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigwait(&set, &sig);
    return sig;
}

int bw_service_tls_open(const bw_service_tls_config_t *config, bw_rpc_tls_t **out)
{
    char err[512] = "";
    int rc = bw_rpc_tls_open(config->ca_file, config->cert_file, config->key_file,
                             (unsigned)config->refresh_sec, err, sizeof(err), out);
    if (rc != 0)
        bw_log(BW_LOG_ERROR, NULL, "internal TLS: %s", err[0] ? err : bw_strerror(rc));
    return rc;
}

/* What GET /metrics shows of a service. */
typedef struct service_metrics {
    const bw_service_def_t *def;
    const bw_rpc_server_t *server;
    void *service_data;
} service_metrics_t;

static void render_metrics(void *arg, bw_metrics_text_t *text)
{
    const service_metrics_t *m = arg;
    bw_rpc_server_metrics(m->server, text);
    bw_db_metrics(text);
    if (m->def->metrics != NULL)
        m->def->metrics(m->service_data, text);
}

/* --probe: the health check of this service, as a peer would ask it. */
static int probe(const bw_service_config_t *cfg)
{
    char host[256], target[300];
    int port;
    if (bw_config_split_addr(cfg->addr, host, sizeof(host), &port) != 0)
        return 1;
    /* A wildcard listen address is reached on loopback. */
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "127.0.0.1");
    snprintf(target, sizeof(target), "%s:%d", host, port);
    bw_rpc_sync_t *sync = NULL;
    bw_arena_t *arena = bw_arena_create(1024);
    bw_rpc_reply_t reply;
    int status = 1;
    if (arena == NULL ||
        bw_rpc_sync_open(cfg->tls, target, bw_rpc_tls_identity(cfg->tls), &sync) != 0 ||
        bw_rpc_sync_call(sync, arena, "/grpc.health.v1.Health/Check", NULL, 0, NULL, 0,
                         BW_SERVICE_PROBE_TIMEOUT_MS, &reply) != 0) {
        fprintf(stderr, "probe: cannot call %s\n", target);
        goto out;
    }
    if (reply.status != BW_GRPC_OK) {
        fprintf(stderr, "probe: %s answered %s: %s\n", target, bw_status_grpc_name(reply.status),
                reply.message);
        goto out;
    }
    Grpc__Health__V1__HealthCheckResponse *h = grpc__health__v1__health_check_response__unpack(
        bw_arena_protobuf_allocator(arena), reply.payload_len, reply.payload);
    if (h == NULL ||
        h->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
        fprintf(stderr, "probe: %s is not serving\n", target);
        goto out;
    }
    status = 0;
out:
    bw_rpc_sync_close(sync);
    bw_arena_destroy(arena);
    return status;
}

int bw_service_main(const bw_service_def_t *def, int argc, char **argv)
{
    bw_service_config_t cfg;
    char default_database_url[128];
    snprintf(default_database_url, sizeof(default_database_url),
             "postgresql://bulwark_app_%s@127.0.0.1:55432/bulwark", def->name);
    const bw_config_item_t items[] = {
        {def->addr_env, BW_CFG_ADDR, def->addr_default, 0, 0, offsetof(bw_service_config_t, addr),
         0, "gRPC listen address (host:port)"},
        {"BULWARK_DATABASE_URL", BW_CFG_STRING, default_database_url, 0, 0,
         offsetof(bw_service_config_t, database_url), 1,
         "libpq connection string of this service's login role (no SUPERUSER, no BYPASSRLS)"},
        BW_SERVICE_TOKEN_SECRET_CONFIG_ITEM(bw_service_config_t),
        {"BULWARK_WORKERS", BW_CFG_INT, "2", 1, 256, offsetof(bw_service_config_t, workers), 0,
         "worker threads, each with one database connection"},
        {"BULWARK_IDEMPOTENCY_PURGE_SEC", BW_CFG_INT, "300", 0, 86400,
         offsetof(bw_service_config_t, purge_period_sec), 0,
         "seconds between purges of the idempotency records older than 24 hours and of the "
         "tombstones older than 30 days, of every tenant; 0 turns the purge off"},
        BW_SERVICE_LOG_CONFIG_ITEMS(bw_service_config_t,
                                    "one info line per gRPC call (method, status, duration); "
                                    "failures are logged anyway"),
        {"BULWARK_METRICS_ADDR", BW_CFG_STRING, "", 0, 0,
         offsetof(bw_service_config_t, metrics_addr), 0,
         "listen address (host:port) of GET /metrics (Prometheus); empty: 127.0.0.1 and the "
         "gRPC port + 1000"},
        BW_SERVICE_TLS_CONFIG_ITEMS(bw_service_config_t, tls_files),
    };
    char err[512];
    void *service_data = NULL;
    bw_rpc_server_t *server = NULL;
    bw_rpc_tls_t *tls = NULL;
    bw_rpc_method_t *methods = NULL, *own = NULL, *lifecycle = NULL;
    size_t n_methods = 0;
    bw_metrics_server_t *metrics = NULL;
    service_metrics_t exposed = {def, NULL, NULL};
    purge_job_t purge;
    int purging = 0;
    int started = 0; /* init succeeded: fini runs */
    int status = 1;
    int probing = argc == 2 && strcmp(argv[1], "--probe") == 0;

    int a = probing ? 0 : bw_config_args(argc, argv, def->summary, items, BW_CONFIG_COUNT(items));
    if (a == 1 && def->n_extra_items > 0)
        bw_config_print_help(stdout, argv[0], def->extra_items, def->n_extra_items);
    if (a == 1)
        printf("\n%s --probe calls the health check of the running service at its own address,\n"
               "with its own certificate, and exits 0 when it answers SERVING.\n",
               argv[0]);
    if (a != 0)
        return a == 1 ? 0 : 2;
    if (bw_config_load(items, BW_CONFIG_COUNT(items), &cfg, err, sizeof(err)) != 0 ||
        (def->n_extra_items > 0 && bw_config_load(def->extra_items, def->n_extra_items,
                                                  def->extra_config, err, sizeof(err)) != 0)) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    if (strlen(cfg.token_secret) < 32) {
        fprintf(stderr, "%s: invalid value for BULWARK_TOKEN_SECRET: needs 32 characters or more\n",
                argv[0]);
        return 2;
    }
    bw_log_init(def->name, cfg.log_level);
    bw_log_set_format(cfg.log_format);
    bw_log_requests = cfg.log_requests;
    char metrics_addr[300];
    if (cfg.metrics_addr[0] != '\0') {
        char host[256];
        int port;
        if (bw_config_split_addr(cfg.metrics_addr, host, sizeof(host), &port) != 0) {
            fprintf(stderr, "%s: invalid value for BULWARK_METRICS_ADDR: expected host:port\n",
                    argv[0]);
            return 2;
        }
        snprintf(metrics_addr, sizeof(metrics_addr), "%s", cfg.metrics_addr);
    } else if (bw_metrics_default_addr(cfg.addr, metrics_addr, sizeof(metrics_addr)) != 0) {
        fprintf(stderr, "%s: set BULWARK_METRICS_ADDR: the gRPC port + 1000 is no port\n", argv[0]);
        return 2;
    }
    if (bw_service_tls_open(&cfg.tls_files, &tls) != 0)
        return 2;
    cfg.tls = tls;
    if (probing) {
        status = probe(&cfg);
        bw_rpc_tls_close(tls);
        return status;
    }
    bw_page_token_set_secret(cfg.token_secret);
    bw_service_block_signals();

    /* The gateway may call every method; the service names the others. */
    bw_rpc_peer_t peers[BW_SERVICE_MAX_PEERS] = {{"gateway", NULL}};
    size_t n_peers = 1;
    for (size_t i = 0; i < def->n_peers && n_peers < BW_SERVICE_MAX_PEERS; i++)
        peers[n_peers++] = def->peers[i];
    if (def->n_peers >= BW_SERVICE_MAX_PEERS) {
        bw_log(BW_LOG_ERROR, NULL, "too many peers: at most %d", BW_SERVICE_MAX_PEERS - 1);
        goto out;
    }

    /* The service's methods, then the internal calls about a tenant's data
     * in its schema, which only the gateway may make (no other peer lists
     * them). */
    char why[256];
    if (bw_rpc_methods_bind(def->contract, def->handlers, def->n_handlers, &own, why,
                            sizeof(why)) != 0 ||
        bw_rpc_methods_bind(&bulwark__lifecycle__v1__tenant_data_service__descriptor,
                            bw_lifecycle_handlers, bw_lifecycle_n_handlers, &lifecycle, why,
                            sizeof(why)) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "the method table does not match the contract: %s", why);
        goto out;
    }
    n_methods = def->n_handlers + bw_lifecycle_n_handlers;
    methods = calloc(n_methods, sizeof(*methods));
    if (methods == NULL)
        goto out;
    memcpy(methods, own, def->n_handlers * sizeof(*methods));
    memcpy(methods + def->n_handlers, lifecycle, bw_lifecycle_n_handlers * sizeof(*methods));

    if (def->init != NULL && def->init(&cfg, &service_data) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not initialise the service");
        goto out;
    }
    started = 1;
    const char *const schemas[] = {def->name};
    bw_service_db_opts_t db = {.database_url = cfg.database_url,
                               .stmt_lists = def->stmt_lists,
                               .n_stmt_lists = def->n_stmt_lists,
                               .user = service_data,
                               .schemas = schemas,
                               .n_schemas = 1};
    bw_rpc_server_opts_t opts = {
        .name = def->name,
        .addr = cfg.addr,
        .tls = tls,
        .peers = peers,
        .n_peers = n_peers,
        .methods = methods,
        .n_methods = n_methods,
        .workers = (int)cfg.workers,
        BW_SERVICE_DB_SERVER_OPTS(&db),
    };
    int rc = bw_rpc_server_start(&opts, &server);
    if (rc != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not start the gRPC server on %s: %s", cfg.addr,
               bw_strerror(rc));
        goto out;
    }
    bw_log(BW_LOG_INFO, NULL, "serving on %s (mutual TLS as %s) with %ld workers", cfg.addr,
           bw_rpc_tls_identity(tls), cfg.workers);
    exposed.server = server;
    exposed.service_data = service_data;
    rc = bw_metrics_server_start(metrics_addr, render_metrics, &exposed, &metrics);
    if (rc != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not serve /metrics on %s: %s", metrics_addr,
               bw_strerror(rc));
        goto out;
    }
    bw_log(BW_LOG_INFO, NULL, "metrics on http://%s/metrics", metrics_addr);
    if (cfg.purge_period_sec > 0) {
        rc =
            purge_start(&purge, cfg.database_url, def->purges, def->n_purges, cfg.purge_period_sec);
        if (rc != 0) {
            bw_log(BW_LOG_ERROR, NULL, "could not start the idempotency purge: %s",
                   bw_strerror(rc));
            goto out;
        }
        purging = 1;
    }
    int sig = bw_service_wait_signal();
    bw_log(BW_LOG_INFO, NULL, "received signal %d, draining", sig);
    status = 0;
out:
    bw_metrics_server_stop(metrics);
    if (purging)
        purge_stop(&purge);
    bw_rpc_server_stop(server, BW_SERVICE_GRACE_MS);
    free(methods);
    free(own);
    free(lifecycle);
    if (started && def->fini != NULL)
        def->fini(service_data);
    bw_rpc_tls_close(tls);
    if (status == 0)
        bw_log(BW_LOG_INFO, NULL, "stopped");
    return status;
}
