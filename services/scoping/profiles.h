/*
 * Member State profiles: what each national NIS2 transposition answers where
 * the Directive leaves the choice to the Member State (local public
 * administration and education, former operators of essential services,
 * identification, registration, reporting, authorities). Each profile is one
 * JSON file in the proto3 JSON form of bulwark.scoping.v1.MemberStateProfile
 * (data/member-states/XX.json), built into the binary and checked when it is
 * loaded; an operator may load a directory of such files instead. A set of
 * profiles is immutable once loaded, so any thread may read it.
 */
#ifndef BW_SCOPING_PROFILES_H
#define BW_SCOPING_PROFILES_H

#include <stddef.h>

#include "bulwark/scoping/v1/scoping.pb-c.h"

typedef Bulwark__Scoping__V1__MemberStateProfile bw_profile_t;
typedef struct bw_profiles bw_profiles_t;

/* At most this many profiles (every Member State, Greece under EL and GR). */
#define BW_PROFILES_MAX 32
/* A profile file larger than this is refused. */
#define BW_PROFILES_MAX_FILE_BYTES (256 * 1024)

/* One file built into the binary (generated from data/member-states/). */
typedef struct bw_profile_file {
    const char *name; /* "DE.json" */
    const unsigned char *data;
    size_t len;
} bw_profile_file_t;

extern const bw_profile_file_t bw_profile_files[];
extern const size_t bw_n_profile_files;

/* An empty set; caller owns *out. 0 or BW_ENOMEM. */
int bw_profiles_create(bw_profiles_t **out);
/* Parses and checks one file's text (borrowed) called name ("DE.json": the
 * code is the name without ".json") and adds it to p. On a bad file returns
 * BW_EINVAL and writes "DE.json: field: reason" into err; p is unchanged. */
int bw_profiles_add(bw_profiles_t *p, const char *name, const char *text, size_t len, char *err,
                    size_t errlen);
/* The profiles built into the binary; caller owns *out. BW_EINVAL with err
 * filled if any of them does not pass the checks. */
int bw_profiles_load_builtin(bw_profiles_t **out, char *err, size_t errlen);
/* Every "*.json" file of dir instead; at least one. Caller owns *out. */
int bw_profiles_load_dir(const char *dir, bw_profiles_t **out, char *err, size_t errlen);
/* Accepts NULL. */
void bw_profiles_free(bw_profiles_t *p);

/* The profile of an ISO code ("DE"), or NULL; p may be NULL. Borrowed. */
const bw_profile_t *bw_profiles_find(const bw_profiles_t *p, const char *code);
/* How many profiles, and the i-th in order of code (borrowed). */
size_t bw_profiles_count(const bw_profiles_t *p);
const bw_profile_t *bw_profiles_at(const bw_profiles_t *p, size_t i);
/* The codes, comma-separated ("AT, BE, DE"), for messages; static buffer
 * of the set, borrowed. */
const char *bw_profiles_codes(const bw_profiles_t *p);

#endif
