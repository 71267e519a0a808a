/*
 * Schema migrations: numbered SQL files (and CSV data files loaded with COPY)
 * per component, applied in order under an advisory lock, each in its own
 * transaction together with its row in public.bulwark_migrations. See
 * README.md next to this file.
 */
#ifndef BW_MIGRATE_H
#define BW_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

/* One COMPONENT=DIR argument. Both strings are borrowed. */
typedef struct bw_migrate_dir {
    const char *component;
    const char *dir;
} bw_migrate_dir_t;

/* Splits "COMPONENT=DIR" in place (arg is modified; *out points into it).
 * Returns 0, or BW_EINVAL with a message on errfp. */
int bw_migrate_parse_arg(char *arg, bw_migrate_dir_t *out, FILE *errfp);

/* Applies every pending migration of the components, in the order given, on
 * conn (borrowed; a role that owns the schemas). Prints one line per applied
 * file on outfp and errors on errfp. Nothing at all is applied when a file
 * that was applied has changed since. Returns 0 or a negative BW_E* code. */
int bw_migrate_run(PGconn *conn, const bw_migrate_dir_t *dirs, size_t n_dirs, FILE *outfp,
                   FILE *errfp);

#endif
