/*
 * Rotating BULWARK_SECRETS_KEY: the values sealed under the previous key
 * (BULWARK_SECRETS_KEY_PREVIOUS) are opened and sealed again under the
 * current one, a batch at a time. The database sees sealed bytes only
 * (migration 0015: integrations.sealed_under lists a table's rows from a
 * cursor with their values under a given key, integrations.reseal replaces
 * a value where it is still the one read). The dispatcher sweeps while the
 * process has a previous key: at start-up, then every hour, since a
 * replica still on the old key alone keeps sealing under it. docs/DESIGN.md,
 * "Rotating the key that seals secrets".
 */
#ifndef BW_RESEAL_H
#define BW_RESEAL_H

#include "db.h"
#include "seal.h"

/* Rows looked at by one batch at most. */
#define BW_RESEAL_BATCH 200

extern const bw_db_stmt_t *const bw_reseal_stmts[];
extern const size_t bw_reseal_n_stmts;

/* Where a sweep is: the table (0 endpoints, 1 connections, 2 done) and the
 * last row looked at in it (empty: from the first). Zero it to start. */
typedef struct bw_reseal_cursor {
    int table;
    char tenant[40];
    char id[40];
} bw_reseal_cursor_t;

typedef struct bw_reseal_counts {
    long resealed; /* values sealed again under the current key */
    long failed;   /* values under the previous key that did not open (left as they are) */
    long changed;  /* values changed since they were read (looked at again by the next sweep) */
} bw_reseal_counts_t;

/*
 * One batch on db (each statement its own transaction): looks at up to
 * limit rows after *cursor, seals again under keys->current the values
 * sealed under keys->previous, and advances *cursor (to table 2 at the
 * sweep's end). Adds to *counts. Nothing to do without a previous key.
 * Results live on arena (borrowed).
 */
int bw_reseal_run(bw_db_t *db, bw_arena_t *arena, const bw_seal_keyring_t *keys, int limit,
                  bw_reseal_cursor_t *cursor, bw_reseal_counts_t *counts);

#endif
