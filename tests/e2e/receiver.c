/*
 * The stand-in webhook receiver (tests/standins/webhook_receiver) for the
 * end-to-end suites that follow events to it; see receiver.h.
 */
#include "receiver.h"

#include "e2e.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BW_WEBHOOK_RECEIVER
#error "BW_WEBHOOK_RECEIVER names the stand-in receiver's binary"
#endif

pid_t receiver_pid;
char control[64]; /* http://127.0.0.1:<port> */
char hooks[64];   /* http://<host>:<port> */
int hooks_port;

void receiver_start(void)
{
    int out[2];
    if (pipe(out) != 0)
        ck_abort_msg("pipe: %s", strerror(errno));
    const char *host = bw_test_env("BULWARK_TEST_WEBHOOK_HOST");
    receiver_pid = fork();
    if (receiver_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(BW_WEBHOOK_RECEIVER, BW_WEBHOOK_RECEIVER, "--host", host, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[128] = "";
    FILE *f = fdopen(out[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL)
        ck_abort_msg("the webhook receiver did not start");
    fclose(f);
    int control_port = 0;
    if (sscanf(line, "hooks=%d control=%d", &hooks_port, &control_port) != 2)
        ck_abort_msg("unexpected first line from the receiver: %s", line);
    snprintf(control, sizeof(control), "http://127.0.0.1:%d", control_port);
    snprintf(hooks, sizeof(hooks), "http://%s:%d", host, hooks_port);
}

void receiver_stop(void)
{
    if (receiver_pid > 0) {
        kill(receiver_pid, SIGTERM);
        waitpid(receiver_pid, NULL, 0);
        receiver_pid = 0;
    }
}

json_t *receiver_call(const char *method, const char *path, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    bw_test_resp_t r;
    ck_assert_int_eq(bw_test_http_at(control, method, path, NULL, text, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "receiver %s %s: %ld %s", method, path, r.status, r.body);
    json_t *json = json_incref(r.json);
    bw_test_resp_free(&r);
    free(text);
    return json;
}

/* Tells the receiver how to answer deliveries to path (status 0: 204). */
void receiver_config(const char *path, const char *secret, const char *secret2, int status,
                     int times, const char *retry_after, const char *location)
{
    json_t *secrets = json_array();
    if (secret != NULL)
        json_array_append_new(secrets, json_string(secret));
    if (secret2 != NULL)
        json_array_append_new(secrets, json_string(secret2));
    json_t *doc = json_pack("{s:s, s:o}", "path", path, "secrets", secrets);
    if (status != 0) {
        json_object_set_new(doc, "status", json_integer(status));
        json_object_set_new(doc, "times", json_integer(times));
    }
    if (retry_after != NULL)
        json_object_set_new(doc, "retryAfter", json_string(retry_after));
    if (location != NULL)
        json_object_set_new(doc, "location", json_string(location));
    json_decref(receiver_call("POST", "/config", doc));
}

void receiver_config_delay(const char *path, const char *secret, int delay_ms)
{
    json_decref(receiver_call(
        "POST", "/config",
        json_pack("{s:s, s:[s], s:i}", "path", path, "secrets", secret, "delayMs", delay_ms)));
}

json_t *received(const char *path)
{
    char q[300];
    snprintf(q, sizeof(q), "/deliveries?path=%s", path);
    json_t *doc = receiver_call("GET", q, NULL);
    json_t *list = json_incref(json_object_get(doc, "deliveries"));
    json_decref(doc);
    return list;
}

/* Waits until at least n deliveries to path were answered 2xx. */
void wait_succeeded(const char *path, size_t n, int seconds)
{
    char q[300];
    snprintf(q, sizeof(q), "/count?path=%s", path);
    size_t got = 0;
    for (int i = 0; i < seconds * 10; i++) {
        json_t *doc = receiver_call("GET", q, NULL);
        got = (size_t)json_integer_value(json_object_get(doc, "succeeded"));
        json_decref(doc);
        if (got >= n)
            return;
        usleep(100 * 1000);
    }
    ck_abort_msg("%s: %zu deliveries succeeded within %d s, want %zu", path, got, seconds, n);
}
