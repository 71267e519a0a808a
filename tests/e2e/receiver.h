/*
 * The stand-in webhook receiver, run by the end-to-end suites that follow
 * events to it (webhooks, events): it listens on BULWARK_TEST_WEBHOOK_HOST,
 * checks every signature with its own code, and is driven through its
 * control port.
 */
#ifndef BW_E2E_RECEIVER_H
#define BW_E2E_RECEIVER_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

extern pid_t receiver_pid;
extern char control[64]; /* http://127.0.0.1:<port> */
extern char hooks[64];   /* http://<host>:<port>: prefix of a webhook URL */
extern int hooks_port;

/* Starts the receiver (a child process) and fills the variables above. */
void receiver_start(void);
void receiver_stop(void);
/* A request to the control port; the reply's JSON (caller decrefs). body
 * is consumed. */
json_t *receiver_call(const char *method, const char *path, json_t *body);
/* Tells the receiver how to answer deliveries to path (status 0: 204) and
 * which secrets sign them. */
void receiver_config(const char *path, const char *secret, const char *secret2, int status,
                     int times, const char *retry_after, const char *location);
/* Tells the receiver to answer deliveries to path 204 after delay_ms, each
 * signed with secret ("maxHeld" in /count then says how many it held at
 * once). */
void receiver_config_delay(const char *path, const char *secret, int delay_ms);
/* Every delivery to path, in arrival order (caller decrefs): path, id,
 * timestamp, signature, body, valid, fresh, status, ... */
json_t *received(const char *path);
/* Waits until at least n deliveries to path were answered 2xx. */
void wait_succeeded(const char *path, size_t n, int seconds);

#endif
