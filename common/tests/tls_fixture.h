/*
 * Certificates for the suites that run gRPC servers and clients: the
 * project's own deploy/tls/make-certs.sh makes a CA and one certificate per
 * name in a directory of its own, removed when the program exits.
 */
#ifndef BW_TEST_TLS_FIXTURE_H
#define BW_TEST_TLS_FIXTURE_H

#include "rpc.h"

/* Makes a CA and a certificate for each of the NULL-terminated names in a
 * new temporary directory; call it once in main(), before the suite forks.
 * Aborts the program when it cannot. Returns the directory (borrowed). */
const char *bw_test_tls_make(const char *const *names);
/* Like bw_test_tls_make, in dir (created when missing); with rotate, the CA
 * and every certificate are made anew even when they exist. */
void bw_test_tls_make_in(const char *dir, const char *const *names, int rotate);
/* Opens the files of name in dir (the directory of bw_test_tls_make when
 * NULL), re-read every refresh_sec seconds; the test fails if it cannot.
 * Caller owns the result. */
bw_rpc_tls_t *bw_test_tls_open_in(const char *dir, const char *name, unsigned refresh_sec);
bw_rpc_tls_t *bw_test_tls_open(const char *name);

#endif
