/*
 * The NIS2 scoping rules (the EU baseline of Directive (EU) 2022/2555): the
 * size test of Recommendation 2003/361, the exclusions and
 * Annex carve-outs, the essential/important classification and what follows
 * from it (supervision, fine ceiling, jurisdiction, registration,
 * obligations, DORA displacement), with the answers of a Member State
 * profile where its law is in force. Pure computation: no I/O, no global state, memory only from
 * the arena given, so it is safe on any thread.
 */
#ifndef BW_SCOPING_RULES_H
#define BW_SCOPING_RULES_H

#include <stdint.h>

#include "arena.h"
#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "facts.h"

/* Names the rules below; changes with any change to their outcome or text. */
#define BW_SCOPING_RULESET_VERSION "nis2-eu-baseline-2026.12.2"

/* One enterprise's figures, or a group's once added up. */
typedef struct bw_size_figures {
    double staff;         /* annual work units */
    int64_t turnover_eur; /* annual turnover */
    int64_t balance_eur;  /* annual balance-sheet total */
} bw_size_figures_t;

/* The size class of Recommendation 2003/361 Annex Art 2 (micro, small,
 * medium or large; never NOT_APPLICABLE) for figures already added up. */
Bulwark__Scoping__V1__Assessment__SizeClass bw_rules_size_class(const bw_size_figures_t *f);

/* The Art 34(4)-(5) fine ceiling of an essential or important entity whose
 * undertaking has this worldwide turnover: fills *out (caller owns). Returns
 * BW_EINVAL for any other classification or a negative turnover. */
int bw_rules_max_fine(Bulwark__Scoping__V1__Assessment__Classification classification,
                      int64_t turnover_eur, Bulwark__Scoping__V1__Assessment__MaxFine *out);

/* Runs the whole procedure on facts (borrowed; checked by
 * bw_scoping_validate_facts first) with the Member State profile they select
 * (facts->profiles) and sets *out to the assessment, allocated on arena; its
 * strings are static or on arena, or borrowed from facts and the profiles.
 * So the result lives as long as all three. 0, or BW_ENOMEM. */
int bw_rules_assess(bw_arena_t *arena, const bw_scoping_facts_t *facts,
                    Bulwark__Scoping__V1__Assessment **out);

/* What the other services act on (Applicability), from the same evaluation
 * as bw_rules_assess on the same facts, allocated the same way. 0 or
 * BW_ENOMEM. */
int bw_rules_applicability(bw_arena_t *arena, const bw_scoping_facts_t *facts,
                           Bulwark__Scoping__V1__Applicability **out);

#endif
