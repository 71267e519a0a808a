/*
 * bulwarkctl attestations verify: an attestation export checked offline,
 * by services/attestations/verify-export.sh itself (built into this binary
 * at compile time and run with bash), so that the operator's tool and the
 * auditor's script apply the same rules, byte for byte. It needs what the
 * script needs: bash, jq, openssl, base64 and sha256sum.
 */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* verify-export.sh, NUL-terminated (generated from the script by the build). */
extern const char bw_ctl_verify_export_sh[];

#define MAX_KEYS 32
#define MAX_OUTPUT 65536

int ctl_attestations_verify(const ctl_t *ctl, int argc, char **argv)
{
    const char *pos[1 + MAX_KEYS];
    int n_pos;
    int rc = ctl_args("attestations verify", argc, argv, NULL, 0, pos, 2, 1 + MAX_KEYS, &n_pos);
    if (rc != 0)
        return rc;
    const char *args[4 + 1 + MAX_KEYS + 1] = {"bash", "-c", bw_ctl_verify_export_sh,
                                              "verify-export.sh"};
    for (int i = 0; i < n_pos; i++)
        args[4 + i] = pos[i];
    args[4 + n_pos] = NULL;
    /* In JSON the script's words are caught and given as a verdict. */
    int out[2] = {-1, -1};
    if (ctl->json && pipe(out) != 0)
        return CTL_FAILED;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bulwarkctl: cannot start bash: %s\n", strerror(errno));
        return CTL_FAILED;
    }
    if (pid == 0) {
        if (ctl->json) {
            dup2(out[1], STDOUT_FILENO);
            dup2(out[1], STDERR_FILENO);
            close(out[0]);
            close(out[1]);
        }
        execvp("bash", (char *const *)args);
        fprintf(stderr, "bulwarkctl: cannot run bash: %s\n", strerror(errno));
        _exit(127);
    }
    char *text = NULL;
    size_t len = 0;
    if (ctl->json) {
        close(out[1]);
        text = malloc(MAX_OUTPUT + 1);
        ssize_t n;
        while (text != NULL && len < MAX_OUTPUT &&
               (n = read(out[0], text + len, MAX_OUTPUT - len)) > 0)
            len += (size_t)n;
        close(out[0]);
        if (text != NULL) {
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                len--;
            text[len] = '\0';
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    rc = code == 0 ? CTL_OK : code == 1 ? CTL_INVALID : code == 2 ? CTL_USAGE : CTL_FAILED;
    if (ctl->json) {
        json_t *doc;
        int records = 0;
        char head[65] = "", entity[65] = "", exported[65] = "";
        /* "valid: N records, head HASH, entity ID, exported TIME": the
         * entity and the time are those the export's statement signs. */
        if (rc == CTL_OK && text != NULL &&
            sscanf(text, "valid: %d records, head %64[0-9a-f], entity %64[^,], exported %64s",
                   &records, head, entity, exported) == 4)
            doc = json_pack("{s:b, s:i, s:s, s:s, s:s}", "valid", 1, "records", records, "headHash",
                            head, "entity", entity, "exportTime", exported);
        else
            doc = json_pack("{s:b, s:s}", "valid", 0, "detail", text != NULL ? text : "");
        if (rc == CTL_OK || rc == CTL_INVALID)
            ctl_json(stdout, doc);
        else
            fprintf(stderr, "%s\n", text != NULL ? text : "");
        json_decref(doc);
    }
    free(text);
    return rc;
}
