/*
 * The shipped reference data (sources, frameworks, requirements, mappings)
 * as one immutable in-memory catalogue. The service loads it from the
 * crosswalk schema once at start-up (the data changes only with a migration,
 * and a migration comes with a restart); the unit tests build it from the
 * migration files. Requirements are indexed globally in document order:
 * framework by framework, each in its position order, so comparing two
 * indexes compares their display order.
 */
#ifndef BW_CROSSWALK_CATALOGUE_H
#define BW_CROSSWALK_CATALOGUE_H

#include <stddef.h>

#include "arena.h"
#include "db.h"

#define BW_CW_ISO "iso27001-2022"
#define BW_CW_NIS2 "nis2"
#define BW_CW_IR "nis2-ir-2024-2690"
/* The parent of the Art 21(2) points in framework nis2. */
#define BW_CW_ART_21_2 "21.2"

/* NIST OLIR relationships, numbered as Mapping.Relationship in the proto. */
typedef enum bw_cw_rel {
    BW_CW_REL_NONE = 0,
    BW_CW_EQUAL = 1,
    BW_CW_SUBSET = 2,
    BW_CW_SUPERSET = 3,
    BW_CW_INTERSECT = 4,
    BW_CW_NOT_RELATED = 5
} bw_cw_rel_t;

/* "EQUAL" ...; "" for BW_CW_REL_NONE. */
const char *bw_cw_rel_name(bw_cw_rel_t rel);
/* The relationship named s, or BW_CW_REL_NONE. */
bw_cw_rel_t bw_cw_rel_parse(const char *s);

typedef struct bw_cw_source {
    const char *id, *title, *publisher, *version, *locator, *licence;
} bw_cw_source_t;

typedef struct bw_cw_framework {
    const char *id, *title, *version, *source, *note;
    size_t first, count; /* its requirements: reqs[first .. first + count) */
    int assessable;
} bw_cw_framework_t;

typedef struct bw_cw_req {
    const char *ref, *title, *kind, *theme, *obligation, *source;
    const char *parent_ref; /* "" for a root */
    int framework;          /* index into frameworks */
    int parent;             /* global index, -1 for a root */
    int assessable;
    int iso_coverable;
} bw_cw_req_t;

typedef struct bw_cw_map {
    int source, target; /* global requirement indexes */
    bw_cw_rel_t rel;
    const char *rationale;
    const char *origin; /* title of its source */
} bw_cw_map_t;

struct bw_cw_rowset;

typedef struct bw_cw_catalogue {
    bw_arena_t *arena; /* owns everything below */
    bw_cw_source_t *sources;
    size_t n_sources;
    bw_cw_framework_t *frameworks;
    size_t n_frameworks;
    bw_cw_req_t *reqs;
    size_t n_reqs;
    int *by_ref; /* requirement indexes sorted by (framework, ref) */
    bw_cw_map_t *maps;
    size_t n_maps;
    int iso, nis2; /* framework indexes, -1 when absent */
    /* The shipped mappings of every ordered framework pair, direct only and
     * composed: direct[src * n_frameworks + tgt] (see compose.h). */
    struct bw_cw_rowset *direct;
    struct bw_cw_rowset *composed;
} bw_cw_catalogue_t;

/* One table of text cells in row-major order, columns in the order of the
 * migration files' headers:
 *   sources:      source_id, title, publisher, version, locator, licence
 *   frameworks:   framework_id, position, title, version, source_id, note
 *   requirements: framework_id, ref, position, parent_ref, kind, title, theme,
 *                 assessable, iso_coverable, obligation, source_id
 *   mappings:     source_framework, source_ref, target_framework, target_ref,
 *                 relationship, rationale, source_id
 * Booleans are "true"/"false" (or "t"/"f"); NULL cells are "". Borrowed. */
typedef struct bw_cw_table {
    const char *const *cells;
    size_t n_rows;
} bw_cw_table_t;

enum {
    BW_CW_SOURCES_COLS = 6,
    BW_CW_FRAMEWORKS_COLS = 6,
    BW_CW_REQUIREMENTS_COLS = 11,
    BW_CW_MAPPINGS_COLS = 7
};

/* Builds a catalogue from the four tables (copied) and composes the shipped
 * mappings of every framework pair. Caller owns *out (bw_cw_catalogue_free).
 * BW_EINVAL with a message in err when the tables contradict each other
 * (unknown framework, parent, requirement, source or relationship). */
int bw_cw_catalogue_build(const bw_cw_table_t *sources, const bw_cw_table_t *frameworks,
                          const bw_cw_table_t *requirements, const bw_cw_table_t *mappings,
                          bw_cw_catalogue_t **out, char *err, size_t errlen);
/* Reads the four tables through db (borrowed; its statement table must
 * include bw_cw_catalogue_stmts) and builds the catalogue. */
int bw_cw_catalogue_load(bw_db_t *db, bw_cw_catalogue_t **out, char *err, size_t errlen);
/* Frees the catalogue. Accepts NULL. */
void bw_cw_catalogue_free(bw_cw_catalogue_t *cat);

extern const bw_db_stmt_t *const bw_cw_catalogue_stmts[];
extern const size_t bw_cw_catalogue_n_stmts;

/* Index of framework id, or -1. */
int bw_cw_framework_find(const bw_cw_catalogue_t *cat, const char *id);
/* Global index of ref in framework fw, or -1. */
int bw_cw_req_find(const bw_cw_catalogue_t *cat, int fw, const char *ref);
/* The source with this id, or NULL. */
const bw_cw_source_t *bw_cw_source_find(const bw_cw_catalogue_t *cat, const char *id);

#endif
