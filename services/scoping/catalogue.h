/*
 * The NIS2 entity-type catalogue: every Annex I and II entity type, plus the
 * categories outside the Annexes that the rules need (domain name
 * registration services, local public administration, education
 * institutions), each with the facts the decision procedure reads from it.
 * The table is static and immutable; lookups are safe from any thread.
 */
#ifndef BW_SCOPING_CATALOGUE_H
#define BW_SCOPING_CATALOGUE_H

#include <stddef.h>

#include "bulwark/scoping/v1/scoping.pb-c.h"

/* Roles an entity type plays in the rules beyond its flags. */
typedef enum bw_cat_kind {
    BW_CAT_GENERIC = 0,
    BW_CAT_DNS,                      /* DNS service provider (Art 6(20)) */
    BW_CAT_TLD,                      /* TLD name registry (Art 6(21)) */
    BW_CAT_TSP,                      /* trust service provider, qualified per the activity flag */
    BW_CAT_TSP_QUALIFIED,            /* qualified trust service provider */
    BW_CAT_TSP_NON_QUALIFIED,        /* non-qualified trust service provider */
    BW_CAT_ECN,                      /* public electronic communications network or service */
    BW_CAT_PA_CENTRAL,               /* central-government public administration */
    BW_CAT_PA_REGIONAL,              /* regional public administration */
    BW_CAT_PA_LOCAL,                 /* local public administration (Art 2(5)(a)) */
    BW_CAT_DOMAIN_REGISTRATION,      /* domain name registration services (Art 2(4)) */
    BW_CAT_EDUCATION,                /* education institution (Art 2(5)(b)) */
    BW_CAT_RESEARCH,                 /* research organisation (Art 6(41)) */
    BW_CAT_FOOD,                     /* food business (Annex II pt 4) */
    BW_CAT_WASTE_MANAGEMENT,         /* waste management (Annex II pt 2) */
    BW_CAT_MEDICAL_DEVICES,          /* medical-device makers (Annex II pt 5(a)) */
    BW_CAT_CRITICAL_MEDICAL_DEVICES, /* critical-device makers (Annex I pt 5) */
    BW_CAT_SPACE,                    /* space ground infrastructure (Annex I pt 11) */
} bw_cat_kind_t;

enum bw_cat_flag {
    BW_CAT_SIZE_INDEPENDENT = 1u << 0,   /* covered whatever the size (Art 2(2)-(4)) */
    BW_CAT_ALWAYS_ESSENTIAL = 1u << 1,   /* essential whatever the size (Art 3(1)(b), (d)) */
    BW_CAT_IR = 1u << 2,                 /* relevant entity of Implementing Reg 2024/2690 */
    BW_CAT_DORA = 1u << 3,               /* DORA is lex specialis (Art 4, Recital 28) */
    BW_CAT_NON_ESSENTIAL_PART = 1u << 4, /* Annex excludes it as a non-essential part */
    BW_CAT_SIZED = 1u << 5,              /* the size-cap rule of Art 2(1) applies */
};

typedef struct bw_catalogue_entry {
    const char *code; /* "digital_infra.dns" */
    Bulwark__Scoping__V1__EntityType__Annex annex;
    const char *annex_point; /* "8", "1(a)", "" outside the Annexes */
    const char *sector;
    const char *subsector; /* "" when the sector has none */
    const char *label;
    unsigned flags; /* bw_cat_flag bits */
    bw_cat_kind_t kind;
    Bulwark__Scoping__V1__Jurisdiction__Rule jurisdiction;
    const char *note; /* "" when nothing else decides coverage */
    /* The article of Implementing Regulation (EU) 2024/2690 (5-14) with the
     * type's significant-incident criteria; 0 for a type it does not cover. */
    int ir_article;
} bw_catalogue_entry_t;

/* The entry with this code, or NULL (borrowed, static). */
const bw_catalogue_entry_t *bw_catalogue_find(const char *code);
/* Every entry in catalogue order (Annex I, Annex II, then the rest); the
 * count goes to *n. Borrowed, static. */
const bw_catalogue_entry_t *bw_catalogue_entries(size_t *n);

/* Whether the entry is one of the trust-service-provider types. */
int bw_catalogue_is_tsp(const bw_catalogue_entry_t *entry);
/* Whether the entry is one of the public-administration types. */
int bw_catalogue_is_public_admin(const bw_catalogue_entry_t *entry);

#endif
