/*
 * Where the gateway's JSON Web Key Set comes from, and which set is
 * current. A source is a file, a URL (fetched with libcurl: https, or http
 * to a loopback host) or a document given inline, loaded once at creation,
 * blocking. A file or URL is then reloaded by a background thread every
 * refresh_sec seconds, and sooner when a token names a key id the set lacks
 * (a key rotation at the identity provider: bw_jwks_source_unknown_kid),
 * but at most once per refresh_min_gap_sec.
 *
 * The current set (jwks.h) is immutable and reference-counted: a reader
 * takes a reference under a mutex held for a pointer copy, a reload parses
 * a whole new set off the lock and swaps the pointer, and the last
 * reference frees the old set; so a reader never waits for a reload and
 * never sees half of one. A failed reload keeps the current set and is
 * logged (the only thing here that logs). All functions are safe to call
 * from any thread, concurrently.
 */
#ifndef BW_GW_JWKS_SOURCE_H
#define BW_GW_JWKS_SOURCE_H

#include <stddef.h>

#include "jwks.h"

typedef struct bw_jwks_source_config {
    const char *file, *url, *json; /* exactly one; the others NULL or "" */
    long refresh_sec;              /* periodic reload of a file or URL; 0: none */
    long refresh_min_gap_sec;      /* least time between reloads prompted by an unknown kid;
                                      negative: unknown kids never prompt one */
    long fetch_timeout_sec;        /* whole download, URL only; at least 1 */
} bw_jwks_source_config_t;

typedef struct bw_jwks_source bw_jwks_source_t;

/* Builds a source and loads its first set (caller owns *out; free with
 * bw_jwks_source_destroy). cfg and its strings are borrowed for the call.
 * 0; BW_EINVAL with a message in err (a bad setting, an unreadable or
 * malformed JWKS, no usable key); BW_EUNAVAIL when the URL cannot be
 * fetched; BW_EINTERNAL when libcurl cannot start; BW_ENOMEM. */
int bw_jwks_source_create(const bw_jwks_source_config_t *cfg, bw_jwks_source_t **out, char *err,
                          size_t errlen);
/* Stops the background thread and frees the source; sets readers still
 * hold stay theirs. Accepts NULL. */
void bw_jwks_source_destroy(bw_jwks_source_t *s);

/* The current set, with a reference the caller drops with
 * bw_jwks_release. Never NULL, never blocks on I/O. */
bw_jwks_t *bw_jwks_source_acquire(bw_jwks_source_t *s);
/* How many usable keys the current set holds. */
size_t bw_jwks_source_key_count(bw_jwks_source_t *s);

/* Re-reads the file or re-fetches the URL now, blocking, and swaps the new
 * set in. On failure the current set stays and err says why (BW_EINVAL,
 * BW_EUNAVAIL, BW_ENOMEM). An inline document is parsed again. */
int bw_jwks_source_reload(bw_jwks_source_t *s, char *err, size_t errlen);

/* Tells the source that a token named a key id its set lacks: wakes the
 * background thread to reload, unless a load happened within
 * refresh_min_gap_sec or one is already due. Never blocks on I/O. */
void bw_jwks_source_unknown_kid(bw_jwks_source_t *s);

#endif
