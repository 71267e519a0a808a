/*
 * What the crosswalk handlers share: the service's own data (the reference
 * catalogue and the scoping client, both made once at start-up and read by
 * every worker), the handlers of CrosswalkService, and the helpers several of
 * them use.
 */
#ifndef BW_CROSSWALK_H
#define BW_CROSSWALK_H

#include "catalogue.h"
#include "compose.h"
#include "rpc.h"
#include "scoping.h"

typedef struct bw_cw_service {
    bw_cw_catalogue_t *cat; /* immutable after start-up */
    bw_scoping_client_t *scoping;
} bw_cw_service_t;

/* The service data of a call (borrowed). */
bw_cw_service_t *bw_cw_service(bw_call_t *call);

/* frameworks.c */
bw_rpc_handler_func_t bw_cw_list_frameworks, bw_cw_list_requirements;

/* mappings.c */
bw_rpc_handler_func_t bw_cw_list_mappings, bw_cw_create_override, bw_cw_list_overrides,
    bw_cw_delete_override;
/* The tenant's overrides, resolved against the catalogue, on the call's arena. */
int bw_cw_load_overrides(bw_call_t *call, bw_cw_override_t **out, size_t *n_out);
/* Turns an override row of crosswalk.mapping_overrides (columns: id, source
 * framework, source ref, target framework, target ref, relationship,
 * rationale, starting at col) into *o; 0, or 1 when the row names
 * requirements the catalogue does not know (skipped). */
int bw_cw_override_from_row(const bw_cw_catalogue_t *cat, const PGresult *res, int row, int col,
                            bw_cw_override_t *o);
extern const bw_db_stmt_t *const bw_cw_mappings_stmts[];
extern const size_t bw_cw_mappings_n_stmts;

/* soa.c */
bw_rpc_handler_func_t bw_cw_list_controls, bw_cw_get_control, bw_cw_put_control,
    bw_cw_import_controls, bw_cw_export_controls, bw_cw_list_history;
/* Items joined by blanks (evidence links, control refs), on the arena;
 * NULL when out of memory. */
const char *bw_cw_join_blanks(bw_arena_t *arena, char *const *items, size_t n);
/* ExportControls' files: CSV or XLSX by the request's media_type. */
bw_rpc_handler_func_t bw_cw_render_controls;
extern const bw_db_stmt_t *const bw_cw_soa_stmts[];
extern const size_t bw_cw_soa_n_stmts;

/* gap.c */
bw_rpc_handler_func_t bw_cw_gap_analysis;
extern const bw_db_stmt_t *const bw_cw_gap_stmts[];

/* render.c: GetGapAnalysis' workbook and its picture, by media_type. */
bw_rpc_handler_func_t bw_cw_render_gap_analysis;
extern const size_t bw_cw_gap_n_stmts;

#endif
