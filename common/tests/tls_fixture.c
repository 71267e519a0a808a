/*
 * See tls_fixture.h. BW_MAKE_CERTS, the path of deploy/tls/make-certs.sh, is
 * set by CMake.
 */
#include "tls_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char made_dir[64];
static pid_t made_by;

static void remove_dir(void)
{
    /* Forked test children inherit the handler: only the maker removes. */
    if (made_dir[0] == '\0' || getpid() != made_by)
        return;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", made_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", made_dir);
}

void bw_test_tls_make_in(const char *dir, const char *const *names, int rotate)
{
    char cmd[2048];
    int n = 0;
    if (rotate)
        n = snprintf(cmd, sizeof(cmd), "rm -f '%s'/ca.pem '%s'/ca.key && ", dir, dir);
    n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "bash '%s' '%s'", BW_MAKE_CERTS, dir);
    for (const char *const *name = names; *name != NULL; name++)
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " %s", *name);
    /* Without the old CA every certificate fails to verify and is made anew. */
    n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " >/dev/null");
    if ((size_t)n >= sizeof(cmd) || system(cmd) != 0) {
        fprintf(stderr, "could not make certificates: %s\n", cmd);
        abort();
    }
}

const char *bw_test_tls_make(const char *const *names)
{
    snprintf(made_dir, sizeof(made_dir), "/tmp/bw-test-tls.XXXXXX");
    if (mkdtemp(made_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    made_by = getpid();
    atexit(remove_dir);
    bw_test_tls_make_in(made_dir, names, 0);
    return made_dir;
}

bw_rpc_tls_t *bw_test_tls_open_in(const char *dir, const char *name, unsigned refresh_sec)
{
    char ca[512], cert[512], key[512], err[512] = "";
    if (dir == NULL)
        dir = made_dir;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
    snprintf(key, sizeof(key), "%s/%s.key", dir, name);
    bw_rpc_tls_t *tls = NULL;
    int rc = bw_rpc_tls_open(ca, cert, key, refresh_sec, err, sizeof(err), &tls);
    ck_assert_msg(rc == 0, "cannot open the TLS files of %s in %s: %s", name, dir, err);
    return tls;
}

bw_rpc_tls_t *bw_test_tls_open(const char *name)
{
    return bw_test_tls_open_in(NULL, name, 60);
}
