/*
 * bulwark-gateway: the only public port. Starts, in this order, the tenancy
 * RPC server (the gateway owns the tenancy schema), the listener that hears
 * of revoked keys and changed tenants, the usage counter, the gRPC client
 * and its channels, and the HTTP server (httpd.c); on SIGINT
 * or SIGTERM it stops accepting, answers the requests in flight, closes the
 * connections, and tears everything down in reverse order.
 */
#include "apidocs.h"
#include "authfail.h"
#include "http.h"
#include "jwt.h"
#include "keycache.h"
#include "gw_metrics.h"
#include "ratelimit.h"
#include "route.h"
#include "tenancy.h"
#include "usage.h"

#include "bw_services.h"
#include "config.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "request.h"
#include "service.h"
#include "status.h"

#include <event2/thread.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DRAIN_TIMEOUT_SEC 10
/* Client addresses whose failed authentications are counted at once. */
#define AUTHFAIL_ADDRESSES 65536

typedef struct gw_config {
    const char *http_addr;
    const char *tenancy_addr;
    /* scoping_addr, ...: one for each service the gateway dials (services.tsv). */
#define GW_DIAL_FIELD(name, NAME) const char *name##_addr;
    BW_GATEWAY_DIALS(GW_DIAL_FIELD)
#undef GW_DIAL_FIELD
    const char *database_url;
    const char *operator_token;
    const char *token_secret;
    long max_body;
    long max_connections;
    long max_per_address;
    long header_timeout_ms;
    long body_timeout_ms;
    long keepalive_timeout_ms;
    long write_timeout_ms;
    long auth_failures_per_min;
    long auth_failure_burst;
    long backend_timeout_ms;
    long workers;
    long rate_limit_rps;
    long rate_limit_burst;
    long replicas;
    const char *cors_origins;
    /* BULWARK_OIDC_*: read into the verifier's configuration itself, whose
     * fields no setting fills keep BW_JWT_CONFIG_INIT's values. */
    bw_jwt_config_t oidc;
    long usage_flush_sec;
    int log_level;
    int log_format;
    int log_requests;
    bw_service_tls_config_t tls;
} gw_config_t;

static const bw_config_item_t config_items[] = {
    {"BULWARK_HTTP_ADDR", BW_CFG_ADDR, "127.0.0.1:8080", 0, 0, offsetof(gw_config_t, http_addr), 0,
     "HTTP listen address (host:port)"},
    {"BULWARK_TENANCY_ADDR", BW_CFG_ADDR, BW_TENANCY_ADDR_DEFAULT, 0, 0,
     offsetof(gw_config_t, tenancy_addr), 0,
     "internal gRPC address where this gateway serves the tenancy RPCs"},
/* Each service the gateway dials (services.tsv), in the table's order. */
/* clang-format off */
#define GW_DIAL_ITEM(name, NAME)                                                                   \
    {"BULWARK_" #NAME "_ADDR", BW_CFG_ADDR, BW_##NAME##_ADDR_DEFAULT, 0, 0,                        \
     offsetof(gw_config_t, name##_addr), 0, "gRPC address of the " #name " service"},
    BW_GATEWAY_DIALS(GW_DIAL_ITEM)
#undef GW_DIAL_ITEM
    /* clang-format on */
    {"BULWARK_DATABASE_URL", BW_CFG_STRING,
     "postgresql://bulwark_app_gateway@127.0.0.1:55432/bulwark", 0, 0,
     offsetof(gw_config_t, database_url), 1,
     "libpq connection string of the services' role (no BYPASSRLS)"},
    {"BULWARK_OPERATOR_TOKEN", BW_CFG_STRING, NULL, 0, 0, offsetof(gw_config_t, operator_token), 1,
     "platform operator token (32 characters or more); it creates tenants"},
    BW_SERVICE_TOKEN_SECRET_CONFIG_ITEM(gw_config_t),
    /* At most 15 MiB: a body, with the path's fields, must fit in one
     * request message of the services (16 MiB, common/rpc_server.c). */
    {"BULWARK_MAX_BODY_BYTES", BW_CFG_INT, "8388608", 1024, 15L * 1024 * 1024,
     offsetof(gw_config_t, max_body), 0,
     "largest request body accepted, in bytes (413 above, refused by its Content-Length)"},
    {"BULWARK_MAX_CONNECTIONS", BW_CFG_INT, "4096", 16, 1000000,
     offsetof(gw_config_t, max_connections), 0,
     "client connections held at once; at the cap the longest idle one is closed for a new "
     "one, and with none idle the new one gets 503"},
    {"BULWARK_MAX_CONNECTIONS_PER_ADDRESS", BW_CFG_INT, "256", 0, 1000000,
     offsetof(gw_config_t, max_per_address), 0,
     "client connections one address (IPv4, or IPv6 /64) may hold at once; beyond, 429; 0 "
     "turns the cap off (behind a reverse proxy every client has its address)"},
    {"BULWARK_HEADER_TIMEOUT_MS", BW_CFG_INT, "10000", 100, 600000,
     offsetof(gw_config_t, header_timeout_ms), 0,
     "time a client has to send a whole request head, from its first byte (408 after)"},
    {"BULWARK_BODY_TIMEOUT_MS", BW_CFG_INT, "60000", 100, 3600000,
     offsetof(gw_config_t, body_timeout_ms), 0,
     "time a client has to send a whole request body, from the end of its head (408 after)"},
    {"BULWARK_KEEPALIVE_TIMEOUT_MS", BW_CFG_INT, "60000", 100, 3600000,
     offsetof(gw_config_t, keepalive_timeout_ms), 0,
     "how long an idle kept-alive connection waits for its next request"},
    {"BULWARK_WRITE_TIMEOUT_MS", BW_CFG_INT, "30000", 100, 3600000,
     offsetof(gw_config_t, write_timeout_ms), 0,
     "time a client has to read a reply once the connection would block"},
    {"BULWARK_AUTH_FAILURES_PER_MIN", BW_CFG_INT, "30", 0, 1000000,
     offsetof(gw_config_t, auth_failures_per_min), 0,
     "failed authentications a client address may make per minute (429 beyond); 0 turns the "
     "limit off"},
    {"BULWARK_AUTH_FAILURE_BURST", BW_CFG_INT, "20", 1, 1000000,
     offsetof(gw_config_t, auth_failure_burst), 0,
     "failed authentications a client address may make at once, above the rate"},
    {"BULWARK_BACKEND_TIMEOUT_MS", BW_CFG_INT, "10000", 10, 600000,
     offsetof(gw_config_t, backend_timeout_ms), 0, "deadline of each gRPC call, in milliseconds"},
    {"BULWARK_WORKERS", BW_CFG_INT, "2", 1, 256, offsetof(gw_config_t, workers), 0,
     "worker threads of the tenancy RPC server"},
    {"BULWARK_RATE_LIMIT_RPS", BW_CFG_INT, "0", 0, 1000000, offsetof(gw_config_t, rate_limit_rps),
     0, "requests per second allowed to each tenant (token bucket); 0 turns the limit off"},
    {"BULWARK_RATE_LIMIT_BURST", BW_CFG_INT, "0", 0, 10000000,
     offsetof(gw_config_t, rate_limit_burst), 0,
     "requests a tenant may make at once above the rate; 0 means twice the rate"},
    {"BULWARK_GATEWAY_REPLICAS", BW_CFG_INT, "1", 1, 1000, offsetof(gw_config_t, replicas), 0,
     "gateways sharing the traffic: each enforces its share of the rate limit (rate and burst "
     "divided by this), so that together they allow the configured limit"},
    {"BULWARK_CORS_ORIGINS", BW_CFG_STRING, "", 0, 0, offsetof(gw_config_t, cors_origins), 0,
     "comma-separated origins allowed to call the API from a browser, \"*\" for any"},
    {"BULWARK_OIDC_ISSUER", BW_CFG_STRING, "", 0, 0, offsetof(gw_config_t, oidc.issuer), 0,
     "OIDC issuer, compared exactly with a token's iss; empty: no OIDC bearer tokens"},
    {"BULWARK_OIDC_AUDIENCE", BW_CFG_STRING, "", 0, 0, offsetof(gw_config_t, oidc.audience), 0,
     "audience a token's aud must contain (needed with BULWARK_OIDC_ISSUER)"},
    {"BULWARK_OIDC_JWKS_FILE", BW_CFG_STRING, "", 0, 0, offsetof(gw_config_t, oidc.jwks_file), 0,
     "file holding the issuer's JWKS (this or BULWARK_OIDC_JWKS_URL)"},
    {"BULWARK_OIDC_JWKS_URL", BW_CFG_STRING, "", 0, 0, offsetof(gw_config_t, oidc.jwks_url), 0,
     "https URL of the issuer's JWKS (this or BULWARK_OIDC_JWKS_FILE)"},
    {"BULWARK_OIDC_TENANT_CLAIM", BW_CFG_STRING, BW_JWT_DEFAULT_TENANT_CLAIM, 0, 0,
     offsetof(gw_config_t, oidc.tenant_claim), 0,
     "claim holding the tenant id (a UUID); a dotted name walks nested objects"},
    {"BULWARK_OIDC_ROLES_CLAIM", BW_CFG_STRING, BW_JWT_DEFAULT_ROLES_CLAIM, 0, 0,
     offsetof(gw_config_t, oidc.roles_claim), 0,
     "claim holding the roles (array or space-separated), e.g. realm_access.roles"},
    {"BULWARK_OIDC_BOARD_MEMBER_CLAIM", BW_CFG_STRING, BW_JWT_DEFAULT_BOARD_MEMBER_CLAIM, 0, 0,
     offsetof(gw_config_t, oidc.board_member_claim), 0,
     "optional claim holding the caller's board member id (a UUID)"},
    {"BULWARK_OIDC_TOKEN_TYPES", BW_CFG_STRING, BW_JWT_DEFAULT_TOKEN_TYPES, 0, 0,
     offsetof(gw_config_t, oidc.token_types), 0,
     "accepted typ values of an access token's header, comma-separated (\"none\": no typ); "
     "an ID token is not an access token"},
    {"BULWARK_OIDC_LEEWAY_SEC", BW_CFG_INT, "60", 0, 3600, offsetof(gw_config_t, oidc.leeway_sec),
     0, "clock skew allowed on exp, nbf and iat, in seconds"},
    {"BULWARK_OIDC_JWKS_REFRESH_SEC", BW_CFG_INT, "300", 0, 86400,
     offsetof(gw_config_t, oidc.refresh_sec), 0,
     "period of the background JWKS reload, in seconds (0: only on an unknown kid)"},
    {"BULWARK_USAGE_FLUSH_SEC", BW_CFG_INT, "60", 1, 3600, offsetof(gw_config_t, usage_flush_sec),
     0,
     "seconds between writes of the requests counted per tenant and the API keys' last use "
     "(lastUseTime is late by at most this)"},
    BW_SERVICE_LOG_CONFIG_ITEMS(gw_config_t, "one info line per request (route, status, duration); "
                                             "5xx are logged anyway"),
    BW_SERVICE_TLS_CONFIG_ITEMS(gw_config_t, tls),
};

/* Only this process calls its own tenancy RPCs. */
static const bw_rpc_peer_t tenancy_peers[] = {{"gateway", NULL}};

/* Closes the tenancy's channels to the services (those opened so far). */
static void close_pools(bw_tenancy_config_t *tc)
{
    bw_rpc_pool_close(tc->attestations);
    for (size_t i = 0; i < tc->n_services; i++)
        bw_rpc_pool_close(tc->services[i].pool);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    (void)events;
    bw_gw_t *gw = arg;
    if (gw->draining) {
        bw_log(BW_LOG_WARN, NULL, "second signal %d, exiting now", (int)sig);
        event_base_loopexit(gw->base, NULL);
        return;
    }
    bw_log(BW_LOG_INFO, NULL, "received signal %d, draining %zu connections (%ld requests)",
           (int)sig, bw_httpd_connections(gw->httpd), gw->inflight);
    bw_gw_http_drain(gw);
    struct timeval limit = {DRAIN_TIMEOUT_SEC, 0};
    event_base_loopexit(gw->base, &limit);
}

static int listen_http(bw_gw_t *gw, const char *addr)
{
    char host[256];
    int port;
    if (bw_config_split_addr(addr, host, sizeof(host), &port) != 0)
        return BW_EINVAL;
    return bw_httpd_listen(gw->httpd, host, port);
}

int main(int argc, char **argv)
{
    gw_config_t cfg = {.oidc = BW_JWT_CONFIG_INIT};
    char err[512];
    int a = bw_config_args(argc, argv, "the Bulwark REST gateway", config_items,
                           BW_CONFIG_COUNT(config_items));
    if (a != 0)
        return a == 1 ? 0 : 2;
    if (bw_config_load(config_items, BW_CONFIG_COUNT(config_items), &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    if (strlen(cfg.operator_token) < 32 || strlen(cfg.token_secret) < 32) {
        fprintf(stderr,
                "%s: BULWARK_OPERATOR_TOKEN and BULWARK_TOKEN_SECRET need 32 characters "
                "or more\n",
                argv[0]);
        return 2;
    }
    bw_log_init("gateway", cfg.log_level);
    bw_log_set_format(cfg.log_format);
    bw_log_requests = cfg.log_requests;
    bw_page_token_set_secret(cfg.token_secret);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    /* Before any thread uses jansson: request bodies are read onto their
     * request's arena (reqbuild.c). */
    bw_json_use_arenas();

    int status = 1;
    bw_gw_t gw = {0};
    bw_rpc_tls_t *tls = NULL;
    bw_rpc_server_t *tenancy = NULL;
    bw_tenancy_listener_t *listener = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    /* The backends: the tenancy RPCs (this process's own, behind its own
     * certificate, which resolve keys too) and every service the route
     * table uses; /readyz checks exactly these. Each service holds tenant
     * rows, which the operator's routes export, erase and count there. */
#define GW_DIAL_NAME(name, NAME) #name,
#define GW_DIAL_ADDR(name, NAME) cfg.name##_addr,
    const char *names[] = {"tenancy", BW_GATEWAY_DIALS(GW_DIAL_NAME)};
    const char *addrs[] = {cfg.tenancy_addr, BW_GATEWAY_DIALS(GW_DIAL_ADDR)};
#undef GW_DIAL_NAME
#undef GW_DIAL_ADDR
    bw_tenancy_service_t services[sizeof(names) / sizeof(names[0])];
    size_t n_services = 0;
    for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
        for (size_t r = 0; r < bw_n_routes; r++)
            if (strcmp(bw_routes[r].backend, names[i]) == 0) {
                services[n_services++] = (bw_tenancy_service_t){names[i], addrs[i]};
                break;
            }
    bw_tenancy_config_t tenancy_cfg = {
        NULL, (int)cfg.backend_timeout_ms, services, n_services, NULL, NULL};
    const bw_db_stmt_list_t tenancy_stmts = {bw_tenancy_stmts, bw_tenancy_n_stmts};
    bw_service_db_opts_t db = {cfg.database_url, &tenancy_stmts, 1, &tenancy_cfg, NULL, 0};
    if (bw_service_tls_open(&cfg.tls, &tls) != 0)
        return 2;
    /* One idle channel a tenancy worker to each service it calls. */
    int pool_err = bw_rpc_pool_open(tls, cfg.attestations_addr, "attestations", (int)cfg.workers,
                                    &tenancy_cfg.attestations);
    for (size_t i = 0; pool_err == 0 && i < n_services; i++)
        pool_err = bw_rpc_pool_open(tls, services[i].addr, services[i].name, (int)cfg.workers,
                                    &services[i].pool);
    if (pool_err != 0) {
        bw_log(BW_LOG_ERROR, NULL, "cannot set up the tenancy's channels: %s",
               bw_strerror(pool_err));
        close_pools(&tenancy_cfg);
        bw_rpc_tls_close(tls);
        return 2;
    }
    bw_rpc_method_t *tenancy_methods = NULL;
    char why[256];
    if (bw_rpc_methods_bind(&bulwark__tenancy__v1__tenancy_service__descriptor, bw_tenancy_handlers,
                            bw_tenancy_n_handlers, &tenancy_methods, why, sizeof(why)) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "the tenancy method table does not match the contract: %s", why);
        close_pools(&tenancy_cfg);
        bw_rpc_tls_close(tls);
        return 2;
    }
    bw_rpc_server_opts_t server_opts = {
        .name = "tenancy",
        .addr = cfg.tenancy_addr,
        .tls = tls,
        .peers = tenancy_peers,
        .n_peers = sizeof(tenancy_peers) / sizeof(tenancy_peers[0]),
        .methods = tenancy_methods,
        .n_methods = bw_tenancy_n_handlers,
        .workers = (int)cfg.workers,
        BW_SERVICE_DB_SERVER_OPTS(&db),
    };

    bw_apidocs_init();
    /* The tenant limit is global; each of the replicas enforces its share
     * (a load balancer spreads a tenant's requests evenly enough). */
    double share = 1.0 / (double)cfg.replicas;
    double burst =
        cfg.rate_limit_burst > 0 ? (double)cfg.rate_limit_burst : 2.0 * (double)cfg.rate_limit_rps;
    burst *= share;
    if (bw_keycache_create(4096, &gw.keys) != 0 || bw_tenantcache_create(1024, &gw.tenants) != 0 ||
        bw_gw_metrics_create(bw_routes, bw_n_routes, &gw.metrics) != 0 ||
        bw_ratelimit_create((double)cfg.rate_limit_rps * share, burst, &gw.ratelimit) != 0 ||
        bw_authfail_create((double)cfg.auth_failures_per_min / 60.0, (double)cfg.auth_failure_burst,
                           AUTHFAIL_ADDRESSES, &gw.authfail) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not make the key cache, limits and metrics: %s",
               bw_strerror(BW_ENOMEM));
        goto out;
    }
    tenancy_cfg.tenants = gw.tenants;
    tenancy_cfg.keys = gw.keys;
    if (cfg.oidc.issuer[0] != '\0') {
        char jerr[512];
        if (bw_jwt_verifier_create(&cfg.oidc, &gw.jwt, jerr, sizeof(jerr)) != 0) {
            bw_log(BW_LOG_ERROR, NULL, "could not set up OIDC bearer tokens: %s", jerr);
            goto out;
        }
        bw_log(BW_LOG_INFO, NULL, "accepting OIDC bearer tokens of %s (%zu signing keys)",
               cfg.oidc.issuer, bw_jwt_verifier_key_count(gw.jwt));
    }
    /* The client first: its poller thread does the tenancy server's I/O
     * too, so it is destroyed after the server stops. */
    gw.base = event_base_new();
    if (gw.base == NULL || bw_rpc_client_create(gw.base, tls, &gw.rpc) != 0)
        goto out;
    server_opts.io_client = gw.rpc;
    int rc = bw_rpc_server_start(&server_opts, &tenancy);
    if (rc != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not start the tenancy RPC server on %s: %s",
               cfg.tenancy_addr, bw_strerror(rc));
        goto out;
    }
    gw.tenancy_server = tenancy;
    if (bw_tenancy_listener_start(cfg.database_url, gw.keys, gw.tenants, &listener) != 0 ||
        bw_usage_start(cfg.database_url, cfg.usage_flush_sec, &gw.usage) != 0)
        goto out;

    for (size_t i = 0; i <= n_services; i++) {
        bw_gw_backend_t *b = &gw.backends[gw.n_backends++];
        b->name = i == 0 ? names[0] : services[i - 1].name;
        b->addr = i == 0 ? addrs[0] : services[i - 1].addr;
        const char *peer = i == 0 ? "gateway" : b->name;
        if (bw_rpc_client_channel(gw.rpc, b->addr, peer, &b->channel) != 0)
            goto out;
    }
    gw.operator_token = cfg.operator_token;
    gw.cors_origins = cfg.cors_origins;
    gw.backend_timeout_ms = (int)cfg.backend_timeout_ms;
    bw_httpd_opts_t http_opts = {
        .max_body = (size_t)cfg.max_body,
        .max_connections = cfg.max_connections,
        .max_per_address = cfg.max_per_address,
        .header_timeout_ms = cfg.header_timeout_ms,
        .body_timeout_ms = cfg.body_timeout_ms,
        .idle_timeout_ms = cfg.keepalive_timeout_ms,
        .write_timeout_ms = cfg.write_timeout_ms,
        .metrics = gw.metrics,
    };
    bw_gw_http_setup(&gw, &http_opts);
    if (bw_httpd_create(gw.base, &http_opts, &gw.httpd) != 0)
        goto out;
    if (listen_http(&gw, cfg.http_addr) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not listen on %s", cfg.http_addr);
        goto out;
    }
    sigint = evsignal_new(gw.base, SIGINT, on_signal, &gw);
    sigterm = evsignal_new(gw.base, SIGTERM, on_signal, &gw);
    if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) != 0 ||
        event_add(sigterm, NULL) != 0)
        goto out;
    bw_log(BW_LOG_INFO, NULL, "listening on http://%s with %zu routes", cfg.http_addr, bw_n_routes);
    event_base_dispatch(gw.base);
    status = 0;
out:
    /* The tenancy server stops while the client's poller still does its
     * I/O. Then the calls still in flight are cancelled: their callbacks
     * answer while the HTTP server still exists. */
    bw_rpc_server_stop(tenancy, 5000);
    bw_rpc_client_destroy(gw.rpc);
    bw_httpd_free(gw.httpd);
    bw_gw_http_free(&gw);
    if (sigint != NULL)
        event_free(sigint);
    if (sigterm != NULL)
        event_free(sigterm);
    if (gw.base != NULL)
        event_base_free(gw.base);
    bw_tenancy_listener_stop(listener);
    bw_usage_stop(gw.usage);
    free(tenancy_methods);
    bw_gw_metrics_destroy(gw.metrics);
    bw_ratelimit_destroy(gw.ratelimit);
    bw_authfail_destroy(gw.authfail);
    bw_jwt_verifier_destroy(gw.jwt);
    bw_keycache_destroy(gw.keys);
    bw_tenantcache_destroy(gw.tenants);
    close_pools(&tenancy_cfg);
    bw_rpc_tls_close(tls);
    bw_log(BW_LOG_INFO, NULL, "stopped");
    return status;
}
