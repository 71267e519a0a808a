/*
 * Prometheus metrics, shared by every process: latency histograms and
 * counters that any thread may update without a lock (relaxed atomics: a
 * scrape may see a count and its sum a moment apart, which Prometheus
 * tolerates), the text exposition format 0.0.4, and a small HTTP listener
 * that answers GET /metrics on an address of its own.
 *
 * The gateway renders these on its HTTP port (services/gateway/metrics.c);
 * every service serves them on BULWARK_METRICS_ADDR (common/service.c).
 */
#ifndef BW_METRICS_H
#define BW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

/* Upper bounds of the latency buckets, in seconds (the last is +Inf). */
#define BW_METRICS_N_BUCKETS 13
extern const double bw_metrics_buckets[BW_METRICS_N_BUCKETS];

/* A latency histogram. Zero-initialised memory is an empty histogram. Each
 * observation adds to one bucket (cumulated when rendered), the count and
 * the sum in microseconds. */
typedef struct bw_metrics_hist {
    atomic_ullong bucket[BW_METRICS_N_BUCKETS + 1]; /* the last: above every bound */
    atomic_ullong sum_us;
} bw_metrics_hist_t;

void bw_metrics_hist_observe(bw_metrics_hist_t *h, double seconds);
/* How many observations h holds. */
unsigned long long bw_metrics_hist_count(const bw_metrics_hist_t *h);

/* Adds one to a counter. */
static inline void bw_metrics_inc(atomic_ullong *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static inline unsigned long long bw_metrics_get(const atomic_ullong *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* A growing exposition text. Out of memory sets failed and stops growing;
 * bw_metrics_text_finish then answers NULL. */
typedef struct bw_metrics_text {
    char *buf;
    size_t len, cap;
    int failed;
} bw_metrics_text_t;

void bw_metrics_text_init(bw_metrics_text_t *t);
void bw_metrics_printf(bw_metrics_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The "# HELP" and "# TYPE" lines of a metric family. */
void bw_metrics_family(bw_metrics_text_t *t, const char *name, const char *type, const char *help);
/* The _bucket, _sum and _count lines of h; labels ("a=\"b\"") may be "". */
void bw_metrics_put_hist(bw_metrics_text_t *t, const char *name, const char *labels,
                         const bw_metrics_hist_t *h);
/* Hands the text over (caller frees with free()) and its length; NULL when
 * memory ran out. */
char *bw_metrics_text_finish(bw_metrics_text_t *t, size_t *len);

/* Renders what the process exposes into t. */
typedef void (*bw_metrics_render_fn)(void *arg, bw_metrics_text_t *t);

typedef struct bw_metrics_server bw_metrics_server_t;

/* Listens on addr ("127.0.0.1:51051") and answers GET /metrics with what
 * render writes (on the listener's own thread, one connection at a time,
 * each bounded by short timeouts), anything else with 404 or 405. Caller
 * owns *out (stop with bw_metrics_server_stop). BW_EINVAL on a bad address
 * or a port in use. */
int bw_metrics_server_start(const char *addr, bw_metrics_render_fn render, void *arg,
                            bw_metrics_server_t **out);
/* The port it listens on (tests ask for ":0"). */
int bw_metrics_server_port(const bw_metrics_server_t *server);
/* Stops listening and joins the thread. Accepts NULL. */
void bw_metrics_server_stop(bw_metrics_server_t *server);

/* The default metrics address of a service listening on grpc_addr: its port
 * plus 1000 on 127.0.0.1. BW_EINVAL when that is no port. */
int bw_metrics_default_addr(const char *grpc_addr, char *buf, size_t len);

#endif
