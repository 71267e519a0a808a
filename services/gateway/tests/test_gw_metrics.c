/*
 * The gateway's Prometheus text as a scrape reads it: requests by route and
 * status, calls by backend and code, each counted by the set that saw it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gw_metrics.h"
#include "status.h"

static const bw_route_seg_t segs[] = {{"v1", NULL, NULL}, {"entities", NULL, NULL}};
static const bw_route_t table[] = {
    {.method = BW_HTTP_GET, .path = "/v1/entities", .segs = segs, .n_segs = 2},
};

/* The exposition text of m; caller frees. */
static char *render(const bw_gw_metrics_t *m)
{
    bw_metrics_text_t t;
    bw_metrics_text_init(&t);
    bw_gw_metrics_render(m, &t);
    size_t len = 0;
    char *text = bw_metrics_text_finish(&t, &len);
    ck_assert_ptr_nonnull(text);
    return text;
}

START_TEST(requests_and_calls_read_as_a_scrape_reads_them)
{
    bw_gw_metrics_t *m = NULL;
    ck_assert_int_eq(bw_gw_metrics_create(table, 1, &m), 0);
    bw_gw_metrics_observe(m, &table[0], 200, 0.01);
    bw_gw_metrics_observe(m, &table[0], 200, 0.01);
    bw_gw_metrics_observe(m, NULL, 404, 0.001);
    bw_gw_metrics_observe_backend(m, "scoping", BW_GRPC_OK, 0.005);
    char *text = render(m);
    ck_assert_ptr_nonnull(strstr(
        text,
        "bulwark_http_requests_total{method=\"GET\",route=\"/v1/entities\",status=\"200\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "bulwark_http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "bulwark_grpc_calls_total{backend=\"scoping\",code=\"OK\"} 1\n"));
    /* The help a person reads on the dashboard, in words. */
    ck_assert_ptr_nonnull(
        strstr(text, "# HELP bulwark_grpc_calls_total gRPC calls to backends by status.\n"));
    ck_assert_ptr_null(strstr(text, "->"));
    free(text);
    bw_gw_metrics_destroy(m);
}
END_TEST

START_TEST(two_sets_keep_their_own_counts)
{
    bw_gw_metrics_t *a = NULL, *b = NULL;
    ck_assert_int_eq(bw_gw_metrics_create(table, 1, &a), 0);
    ck_assert_int_eq(bw_gw_metrics_create(table, 1, &b), 0);
    bw_gw_metrics_observe(a, &table[0], 201, 0.01);
    bw_gw_metrics_conn_event(a, BW_GW_METRICS_CONN_ACCEPTED);
    char *ta = render(a), *tb = render(b);
    ck_assert_ptr_nonnull(strstr(ta, "status=\"201\"} 1\n"));
    ck_assert_ptr_null(strstr(tb, "status=\"201\""));
    ck_assert_ptr_nonnull(
        strstr(ta, "bulwark_http_connection_events_total{event=\"accepted\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(tb, "bulwark_http_connection_events_total{event=\"accepted\"} 0\n"));
    free(ta);
    free(tb);
    bw_gw_metrics_destroy(a);
    bw_gw_metrics_destroy(b);
}
END_TEST

Suite *suite_gw_metrics(void)
{
    Suite *s = suite_create("gw_metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, requests_and_calls_read_as_a_scrape_reads_them);
    tcase_add_test(tc, two_sets_keep_their_own_counts);
    suite_add_tcase(s, tc);
    return s;
}
