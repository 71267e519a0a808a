/*
 * The decision procedure of ../shared/reference/scope.md section 5, written
 * as tables: the size thresholds, the exclusions (entity-wide) and Annex
 * carve-outs (per activity), the classification rules in the order of step 4
 * (first match wins per activity, the highest outcome wins across
 * activities), and the consequences (supervision and fine ceilings,
 * registration duties, obligations, Member State options). Each row carries
 * its stable reason code, its article and its plain-English message; the code
 * around the tables only walks them. Every reason the procedure records goes
 * into the assessment, so a reader can follow the decision step by step.
 */
#include "rules.h"

#include "catalogue.h"
#include "status.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef Bulwark__Scoping__V1__Assessment__Classification classification_t;
typedef Bulwark__Scoping__V1__Assessment__SizeClass size_class_t;
typedef Bulwark__Scoping__V1__Assessment__Reason reason_t;
typedef Bulwark__Scoping__V1__MemberState member_state_t;
typedef Bulwark__Scoping__V1__PublicAdministration public_admin_t;

#define ESSENTIAL BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__ESSENTIAL
#define IMPORTANT BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__IMPORTANT
#define OUT_OF_SCOPE BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__OUT_OF_SCOPE
#define DOMREG_ONLY BULWARK__SCOPING__V1__ASSESSMENT__CLASSIFICATION__DOMAIN_REGISTRATION_ONLY

#define MICRO BULWARK__SCOPING__V1__ASSESSMENT__SIZE_CLASS__MICRO
#define SMALL BULWARK__SCOPING__V1__ASSESSMENT__SIZE_CLASS__SMALL
#define MEDIUM BULWARK__SCOPING__V1__ASSESSMENT__SIZE_CLASS__MEDIUM
#define LARGE BULWARK__SCOPING__V1__ASSESSMENT__SIZE_CLASS__LARGE
#define SIZE_NA BULWARK__SCOPING__V1__ASSESSMENT__SIZE_CLASS__NOT_APPLICABLE

#define EX_ANTE BULWARK__SCOPING__V1__ASSESSMENT__SUPERVISION__EX_ANTE
#define EX_POST BULWARK__SCOPING__V1__ASSESSMENT__SUPERVISION__EX_POST
#define NO_SUPERVISION BULWARK__SCOPING__V1__ASSESSMENT__SUPERVISION__NONE

#define J_EST BULWARK__SCOPING__V1__JURISDICTION__RULE__ESTABLISHMENT
#define J_MAIN BULWARK__SCOPING__V1__JURISDICTION__RULE__MAIN_ESTABLISHMENT
#define J_SVC BULWARK__SCOPING__V1__JURISDICTION__RULE__SERVICE_PROVISION
#define J_PA BULWARK__SCOPING__V1__JURISDICTION__RULE__ESTABLISHING_STATE

#define SME_ART_2 "Recommendation 2003/361 Annex Art 2"
#define SME_ART_3_2 "Recommendation 2003/361 Annex Art 3(2)"
#define SME_ART_4_2 "Recommendation 2003/361 Annex Art 4(2)"
#define SME_ART_4_3 "Recommendation 2003/361 Annex Art 4(3)"
#define SME_ART_6_2 "Recommendation 2003/361 Annex Art 6(2)"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the evaluation state ------------------------------------------------ */

struct class_rule;

/* One thing that can put the entity in scope: an activity, the public
 * administration level the facts imply, or the entity as a whole (type NULL:
 * grounds that need no entity type, such as CER criticality). */
typedef struct candidate {
    const bw_catalogue_entry_t *type;
    const Bulwark__Scoping__V1__Activity *activity; /* NULL when implied */
    int dropped;                                    /* excluded or carved out */
    int carved_back;                                /* kept by Art 2(9) */
    const struct class_rule *rule;                  /* the classification that matched */
} candidate_t;

/* Entity-wide effects of the exclusions. */
enum {
    EXCLUDE_ENTITY = 1u << 0,         /* nothing of the entity is covered */
    EXCLUDE_ENTITY_BUT_TSP = 1u << 1, /* ... except its trust services (Art 2(9)) */
    NOT_PUBLIC_ADMIN = 1u << 2,       /* its public-administration types do not apply */
};

typedef struct eval {
    bw_arena_t *arena;
    const bw_scoping_facts_t *facts;
    const member_state_t *ms; /* never NULL: an empty one when absent */
    const public_admin_t *pa; /* never NULL: an empty one when absent */
    unsigned effects;         /* EXCLUDE_* and NOT_PUBLIC_ADMIN bits */
    size_class_t size;
    const char *size_basis[6];
    size_t n_size_basis;

    candidate_t *cands; /* [0] is the entity-level pass */
    size_t n_cands;

    reason_t **reasons;
    size_t n_reasons, cap_reasons;
    char **basis;
    size_t n_basis, cap_basis;
    const char *out_basis[16]; /* exclusion and carve-out articles */
    size_t n_out_basis;
    int oom;
} eval_t;

static const member_state_t no_member_state = BULWARK__SCOPING__V1__MEMBER_STATE__INIT;
static const public_admin_t no_public_admin = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__INIT;

/* Records a reason; a static message is used as is, others are formatted. */
static void add_reason_text(eval_t *ev, const char *code, const char *article, const char *text)
{
    if (text == NULL || ev->n_reasons == ev->cap_reasons) {
        ev->oom |= text == NULL;
        return;
    }
    reason_t *r = bw_arena_alloc(ev->arena, sizeof(*r));
    if (r == NULL) {
        ev->oom = 1;
        return;
    }
    bulwark__scoping__v1__assessment__reason__init(r);
    r->code = (char *)code;
    r->article = (char *)article;
    r->message = (char *)text;
    ev->reasons[ev->n_reasons++] = r;
}

__attribute__((format(printf, 4, 5))) static void
add_reason(eval_t *ev, const char *code, const char *article, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    add_reason_text(ev, code, article, bw_arena_strdup(ev->arena, buf));
}

/* A reason about one candidate: its code leads the message. */
static void add_candidate_reason(eval_t *ev, const candidate_t *c, const char *code,
                                 const char *article, const char *message)
{
    if (c->type == NULL)
        add_reason_text(ev, code, article, message);
    else
        add_reason(ev, code, article, "%s: %s", c->type->code, message);
}

static void add_basis(eval_t *ev, const char *article)
{
    for (size_t i = 0; i < ev->n_basis; i++)
        if (strcmp(ev->basis[i], article) == 0)
            return;
    if (ev->n_basis < ev->cap_basis)
        ev->basis[ev->n_basis++] = (char *)article;
}

static void add_out_basis(eval_t *ev, const char *article)
{
    if (ev->n_out_basis < COUNT(ev->out_basis))
        ev->out_basis[ev->n_out_basis++] = article;
}

static int any_activity(const eval_t *ev, int (*pred)(const bw_catalogue_entry_t *))
{
    for (size_t i = 1; i < ev->n_cands; i++)
        if (!ev->cands[i].dropped && pred(ev->cands[i].type))
            return 1;
    return 0;
}

/* ---- step 3: size (Recommendation 2003/361 Annex) ------------------------- */

/* Annex Art 2, evaluated in this order, the first match wins. Each needs the
 * headcount and at least one of the two financial ceilings ("and/or"). */
static const struct size_threshold {
    size_class_t size;
    double staff_below;
    int64_t turnover_max;
    int64_t balance_max;
} size_thresholds[] = {
    {MICRO, 10, 2000000, 2000000},
    {SMALL, 50, 10000000, 10000000},
    {MEDIUM, 250, 50000000, 43000000},
};

static const struct size_text {
    size_class_t size;
    const char *name;
    const char *test;
} size_texts[] = {
    {MICRO, "micro",
     "fewer than 10 staff and a turnover or a balance-sheet total of at most EUR 2 "
     "million"},
    {SMALL, "small",
     "fewer than 50 staff and a turnover or a balance-sheet total of at most EUR "
     "10 million"},
    {MEDIUM, "medium-sized",
     "fewer than 250 staff and a turnover of at most EUR 50 million or a "
     "balance-sheet total of at most EUR 43 million"},
    {LARGE, "large",
     "250 staff or more, or both a turnover above EUR 50 million and a "
     "balance-sheet total above EUR 43 million"},
};

size_class_t bw_rules_size_class(const bw_size_figures_t *f)
{
    for (size_t i = 0; i < COUNT(size_thresholds); i++) {
        const struct size_threshold *t = &size_thresholds[i];
        if (f->staff < t->staff_below &&
            (f->turnover_eur <= t->turnover_max || f->balance_eur <= t->balance_max))
            return t->size;
    }
    return LARGE;
}

static const struct size_text *size_text(size_class_t size)
{
    for (size_t i = 0; i < COUNT(size_texts); i++)
        if (size_texts[i].size == size)
            return &size_texts[i];
    return &size_texts[0];
}

static int64_t add_saturating(int64_t a, int64_t b)
{
    int64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

/* v * percent / 100 to the nearest euro; never overflows (percent <= 100). */
static int64_t pro_rata(int64_t v, double percent)
{
    double share = (double)v * percent / 100.0;
    if (share >= 9.2e18)
        return INT64_MAX;
    return (int64_t)llround(share);
}

/* A partner below this holding leaves the enterprises autonomous (Annex Art 3(2)). */
#define PARTNER_MIN_PERCENT 25.0

typedef struct group_counts {
    size_t linked, partners, partners_below;
} group_counts_t;

/* own plus linked enterprises at 100 % and partners pro rata (Annex Art 6(2)),
 * unless the Member State sizes the entity on its own figures (Recital 16). */
static void add_group(const Bulwark__Scoping__V1__Size *s, int own_only, bw_size_figures_t *f,
                      group_counts_t *counts)
{
    memset(counts, 0, sizeof(*counts));
    if (own_only)
        return;
    for (size_t i = 0; i < s->n_linked_enterprises; i++) {
        const Bulwark__Scoping__V1__SizeFigures *l = s->linked_enterprises[i];
        f->staff += l->staff_headcount;
        f->turnover_eur = add_saturating(f->turnover_eur, l->annual_turnover_eur);
        f->balance_eur = add_saturating(f->balance_eur, l->balance_sheet_total_eur);
        counts->linked++;
    }
    for (size_t i = 0; i < s->n_partner_enterprises; i++) {
        const Bulwark__Scoping__V1__PartnerEnterprise *p = s->partner_enterprises[i];
        if (p->holding_percent < PARTNER_MIN_PERCENT) {
            counts->partners_below++;
            continue;
        }
        f->staff += p->staff_headcount * p->holding_percent / 100.0;
        f->turnover_eur =
            add_saturating(f->turnover_eur, pro_rata(p->annual_turnover_eur, p->holding_percent));
        f->balance_eur = add_saturating(f->balance_eur,
                                        pro_rata(p->balance_sheet_total_eur, p->holding_percent));
        counts->partners++;
    }
}

static void add_size_basis(eval_t *ev, const char *article)
{
    if (ev->n_size_basis < COUNT(ev->size_basis))
        ev->size_basis[ev->n_size_basis++] = article;
}

static void size_step(eval_t *ev)
{
    const Bulwark__Scoping__V1__Size *s = ev->facts->size;
    if (s == NULL) {
        ev->size = SIZE_NA;
        return;
    }
    int own_only = ev->ms->independent_of_group;
    bw_size_figures_t cur = {s->staff_headcount, s->annual_turnover_eur,
                             s->balance_sheet_total_eur};
    group_counts_t counts;
    add_group(s, own_only, &cur, &counts);
    size_class_t size = bw_rules_size_class(&cur);
    add_size_basis(ev, SME_ART_2);
    if (counts.linked > 0 || counts.partners > 0)
        add_size_basis(ev, SME_ART_6_2);

    if (counts.linked > 0)
        add_reason(ev, "SIZE_LINKED_ENTERPRISES", SME_ART_6_2,
                   "the figures of %zu linked enterprise(s) are added in full (100 %%)",
                   counts.linked);
    if (counts.partners > 0)
        add_reason(ev, "SIZE_PARTNER_ENTERPRISES", SME_ART_6_2,
                   "the figures of %zu partner enterprise(s) are added in proportion to the "
                   "holding (capital or voting rights, whichever is higher)",
                   counts.partners);
    if (counts.partners_below > 0)
        add_reason(ev, "SIZE_PARTNER_BELOW_25_PERCENT", SME_ART_3_2,
                   "%zu enterprise(s) listed as partners are held at less than 25 %%, which "
                   "leaves the enterprises autonomous: their figures are not added",
                   counts.partners_below);
    if (own_only && (s->n_linked_enterprises > 0 || s->n_partner_enterprises > 0))
        add_reason(ev, "SIZE_INDEPENDENT_OF_GROUP", "NIS2 Recital 16",
                   "the Member State takes into account that the entity is independent of its "
                   "partner and linked enterprises in the network and information systems it uses "
                   "and the services it provides, so it is sized on its own figures; %zu linked "
                   "and %zu partner enterprise(s) are left out",
                   s->n_linked_enterprises, s->n_partner_enterprises);
    if (s->public_body_controlled)
        add_reason_text(ev, "SIZE_PUBLIC_CONTROL_DISREGARDED", "NIS2 Art 2(1)",
                        "public bodies hold 25 % or more of the entity, which under "
                        "Recommendation 2003/361 Annex Art 3(4) would deny it SME status; NIS2 "
                        "Art 2(1) disapplies that rule, so the entity is sized on its figures "
                        "like any other");
    const struct size_text *text = size_text(size);
    add_reason(ev, "SIZE_CLASS", SME_ART_2,
               "the %s period's figures%s: %.12g staff (annual work units), annual turnover EUR "
               "%lld, balance-sheet total EUR %lld make the entity %s (%s)",
               s->newly_established ? "estimated current" : "latest",
               counts.linked > 0 && counts.partners > 0 ? " with linked and partner enterprises"
               : counts.linked > 0                      ? " with linked enterprises"
               : counts.partners > 0                    ? " with partner enterprises"
                                                        : "",
               cur.staff, (long long)cur.turnover_eur, (long long)cur.balance_eur, text->name,
               text->test);

    if (s->newly_established) {
        add_size_basis(ev, SME_ART_4_3);
        add_reason_text(ev, "SIZE_NEWLY_ESTABLISHED", SME_ART_4_3,
                        "a newly established enterprise without approved accounts is sized on "
                        "bona fide estimates made during the financial year; the two-period rule "
                        "does not apply");
    } else if (s->previous_period != NULL) {
        const Bulwark__Scoping__V1__SizeFigures *p = s->previous_period;
        bw_size_figures_t prev = {p->staff_headcount, p->annual_turnover_eur,
                                  p->balance_sheet_total_eur};
        add_group(s, own_only, &prev, &counts);
        size_class_t prev_size = bw_rules_size_class(&prev);
        if (prev_size != size) {
            add_size_basis(ev, SME_ART_4_2);
            add_reason(ev, "SIZE_TWO_PERIOD_RULE", SME_ART_4_2,
                       "the previous period's figures made the entity %s; a status changes only "
                       "when a ceiling is crossed in two consecutive accounting periods, so it "
                       "stays %s",
                       size_text(prev_size)->name, size_text(prev_size)->name);
            size = prev_size;
        }
    }
    ev->size = size;
}

/* ---- step 1: exclusions (entity-wide) ------------------------------------ */

typedef struct exclusion_rule {
    const char *code;
    const char *article;
    unsigned effect;
    int (*applies)(const eval_t *ev, int arg);
    int arg;
    const char *message;
} exclusion_rule_t;

static int dora_exempted(const eval_t *ev, int arg)
{
    (void)arg;
    return ev->ms->dora_exempted;
}

/* Art 2(7) excludes public administration entities only; the judiciary,
 * parliaments and central banks are none (Art 6(35)). */
static int excluded_domain(const eval_t *ev, int domain)
{
    return (int)ev->pa->excluded_domain == domain &&
           ev->pa->body == BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__BODY_UNSPECIFIED;
}

static int security_exemption(const eval_t *ev, int exemption)
{
    return (int)ev->ms->security_exemption == exemption;
}

static int body_is(const eval_t *ev, int body)
{
    return (int)ev->pa->body == body;
}

static const exclusion_rule_t exclusion_rules[] = {
    {"EXCLUDED_DORA_EXEMPTED", "NIS2 Art 2(10)", EXCLUDE_ENTITY, dora_exempted, 0,
     "the Member State exempted the entity from DORA under DORA Art 2(4), and NIS2 does not "
     "apply to such entities"},
    {"EXCLUDED_NATIONAL_SECURITY", "NIS2 Art 2(7)", EXCLUDE_ENTITY_BUT_TSP, excluded_domain,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__EXCLUDED_DOMAIN__NATIONAL_SECURITY,
     "NIS2 does not apply to public administration entities that carry out their activities in "
     "national security, which remains the Member States' responsibility (Art 2(6))"},
    {"EXCLUDED_PUBLIC_SECURITY", "NIS2 Art 2(7)", EXCLUDE_ENTITY_BUT_TSP, excluded_domain,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__EXCLUDED_DOMAIN__PUBLIC_SECURITY,
     "NIS2 does not apply to public administration entities that carry out their activities in "
     "public security"},
    {"EXCLUDED_DEFENCE", "NIS2 Art 2(7)", EXCLUDE_ENTITY_BUT_TSP, excluded_domain,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__EXCLUDED_DOMAIN__DEFENCE,
     "NIS2 does not apply to public administration entities that carry out their activities in "
     "defence"},
    {"EXCLUDED_LAW_ENFORCEMENT", "NIS2 Art 2(7)", EXCLUDE_ENTITY_BUT_TSP, excluded_domain,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__EXCLUDED_DOMAIN__LAW_ENFORCEMENT,
     "NIS2 does not apply to public administration entities that carry out their activities in "
     "law enforcement, including the prevention, investigation, detection and prosecution of "
     "criminal offences"},
    {"EXEMPTED_WHOLE_ENTITY", "NIS2 Art 2(8)", EXCLUDE_ENTITY_BUT_TSP, security_exemption,
     BULWARK__SCOPING__V1__MEMBER_STATE__SECURITY_EXEMPTION__WHOLE_ENTITY,
     "the Member State exempted the entity, all of whose activities are in national security, "
     "public security, defence or law enforcement or serve only excluded public administration "
     "entities, from Art 21 and 23 and also from Art 3 and 27"},
    {"EXEMPTED_RISK_MANAGEMENT_AND_REPORTING", "NIS2 Art 2(8)", 0, security_exemption,
     BULWARK__SCOPING__V1__MEMBER_STATE__SECURITY_EXEMPTION__RISK_MANAGEMENT_AND_REPORTING,
     "the Member State exempted the entity's activities in national security, public security, "
     "defence or law enforcement, or serving only excluded public administration entities, "
     "from Art 21 and 23 (and so from Chapter VII for them); the classification is unaffected"},
    {"JUDICIARY_NOT_PUBLIC_ADMINISTRATION", "NIS2 Art 6(35)", NOT_PUBLIC_ADMIN, body_is,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__JUDICIARY,
     "the judiciary is not a public administration entity, so no public administration type "
     "applies; other activities are still assessed"},
    {"PARLIAMENT_NOT_PUBLIC_ADMINISTRATION", "NIS2 Art 6(35)", NOT_PUBLIC_ADMIN, body_is,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__PARLIAMENT,
     "a parliament is not a public administration entity, so no public administration type "
     "applies; other activities are still assessed"},
    {"CENTRAL_BANK_NOT_PUBLIC_ADMINISTRATION", "NIS2 Art 6(35)", NOT_PUBLIC_ADMIN, body_is,
     BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__CENTRAL_BANK,
     "a central bank is not a public administration entity, so no public administration type "
     "applies; other activities are still assessed"},
};

static void exclusion_step(eval_t *ev)
{
    for (size_t i = 0; i < COUNT(exclusion_rules); i++) {
        const exclusion_rule_t *r = &exclusion_rules[i];
        if (!r->applies(ev, r->arg))
            continue;
        ev->effects |= r->effect;
        add_reason_text(ev, r->code, r->article, r->message);
        if (r->effect != 0)
            add_out_basis(ev, r->article);
    }
}

/* ---- step 2: Annex carve-outs (per activity) ----------------------------- */

typedef struct carve_out {
    const char *code;
    const char *article;
    const char *type_code; /* the one type it concerns, or NULL for a kind test */
    int (*applies)(const eval_t *ev, const candidate_t *c);
    const char *message;
} carve_out_t;

static int root_name_server(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return c->activity != NULL && c->activity->root_name_server;
}

static int not_principal_activity(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return c->type->kind == BW_CAT_WASTE_MANAGEMENT &&
           (c->activity == NULL || !c->activity->principal_activity);
}

static int retail_only(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return c->activity != NULL && c->activity->retail_only;
}

static int non_essential_part(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return c->activity != NULL && c->activity->non_essential_part;
}

static int is_critical_devices(const bw_catalogue_entry_t *t)
{
    return t->kind == BW_CAT_CRITICAL_MEDICAL_DEVICES;
}

static int is_pecn(const bw_catalogue_entry_t *t)
{
    return strcmp(t->code, "digital_infra.pecn") == 0;
}

static int is_education(const bw_catalogue_entry_t *t)
{
    return t->kind == BW_CAT_EDUCATION;
}

static int devices_in_annex_i(const eval_t *ev, const candidate_t *c)
{
    return c->type->kind == BW_CAT_MEDICAL_DEVICES && any_activity(ev, is_critical_devices);
}

static int space_pecn_provider(const eval_t *ev, const candidate_t *c)
{
    return c->type->kind == BW_CAT_SPACE && any_activity(ev, is_pecn);
}

static int research_education(const eval_t *ev, const candidate_t *c)
{
    return c->type->kind == BW_CAT_RESEARCH && any_activity(ev, is_education);
}

static const carve_out_t carve_outs[] = {
    {"ROOT_NAME_SERVER", "NIS2 Annex I pt 8", "digital_infra.dns", root_name_server,
     "operators of root name servers are not DNS service providers under Annex I"},
    {"WASTE_MANAGEMENT_NOT_PRINCIPAL", "NIS2 Annex II pt 2", NULL, not_principal_activity,
     "waste management is covered only where it is the undertaking's principal economic "
     "activity (set principalActivity when it is)"},
    {"FOOD_RETAIL_ONLY", "NIS2 Annex II pt 4", "food.business", retail_only,
     "food businesses are covered for wholesale distribution and industrial production and "
     "processing only, not for retail"},
    {"NON_ESSENTIAL_WATER_DISTRIBUTION", "NIS2 Annex I pt 6", "drinking_water.supplier_distributor",
     non_essential_part,
     "distribution of drinking water that is a non-essential part of a general activity of "
     "distributing other commodities and goods is not covered"},
    {"NON_ESSENTIAL_WASTE_WATER", "NIS2 Annex I pt 7", "waste_water.operator", non_essential_part,
     "collecting, disposing of or treating waste water as a non-essential part of a general "
     "activity is not covered"},
    {"NON_ESSENTIAL_ROAD_TRAFFIC_MANAGEMENT", "NIS2 Annex I pt 2(d)",
     "transport.road.road_authority", non_essential_part,
     "a public entity for which traffic management control is a non-essential part of its "
     "general activity is not covered as a road authority"},
    {"MEDICAL_DEVICES_IN_ANNEX_I", "NIS2 Annex II pt 5(a)", NULL, devices_in_annex_i,
     "makers of the critical medical devices of Annex I pt 5 are covered there, not under "
     "Annex II pt 5(a)"},
    {"SPACE_PECN_PROVIDER", "NIS2 Annex I pt 11", NULL, space_pecn_provider,
     "providers of public electronic communications networks are excluded from the space "
     "sector; the entity is assessed as digital_infra.pecn instead"},
    {"RESEARCH_EDUCATION_INSTITUTION", "NIS2 Art 6(41)", NULL, research_education,
     "educational institutions are not research organisations; an education institution comes "
     "in only through the Art 2(5)(b) Member State option"},
};

static void carve_out_step(eval_t *ev, candidate_t *c)
{
    for (size_t i = 0; i < COUNT(carve_outs); i++) {
        const carve_out_t *r = &carve_outs[i];
        if (r->type_code != NULL && strcmp(r->type_code, c->type->code) != 0)
            continue;
        if (!r->applies(ev, c))
            continue;
        c->dropped = 1;
        add_candidate_reason(ev, c, r->code, r->article, r->message);
        add_out_basis(ev, r->article);
        return;
    }
}

/* ---- step 4: classification ---------------------------------------------- */

/* Why an entity is covered at all (Art 2). */
typedef struct ground {
    const char *code;
    const char *article;
    const char *message;
} ground_t;

enum {
    PASS_ENTITY = 1u << 0,   /* the rule looks at the entity as a whole */
    PASS_ACTIVITY = 1u << 1, /* the rule looks at one activity */
    BASIS_SIZE = 1u << 2,    /* the size articles decided too */
    GROUND_MS = 1u << 3,     /* the ground is the Member State's identification */
    SILENT = 1u << 4,        /* no reason unless nothing else was assessed */
};

typedef struct class_rule {
    const char *code;
    classification_t outcome;
    unsigned flags;
    int (*applies)(const eval_t *ev, const candidate_t *c);
    const ground_t *ground; /* NULL: none, or GROUND_MS */
    const char *article;    /* the classifying provision */
    const char *message;
} class_rule_t;

static const ground_t ground_size = {
    "SIZE_CAP_MET", "NIS2 Art 2(1)",
    "an entity of an Annex I or II type that is medium-sized or larger is covered"};
static const ground_t ground_ecn = {
    "SIZE_INDEPENDENT_ECN", "NIS2 Art 2(2)(a)(i)",
    "providers of public electronic communications networks or publicly available electronic "
    "communications services are covered whatever their size"};
static const ground_t ground_tsp = {"SIZE_INDEPENDENT_TSP", "NIS2 Art 2(2)(a)(ii)",
                                    "trust service providers are covered whatever their size"};
static const ground_t ground_tld = {"SIZE_INDEPENDENT_TLD", "NIS2 Art 2(2)(a)(iii)",
                                    "TLD name registries are covered whatever their size"};
static const ground_t ground_dns = {"SIZE_INDEPENDENT_DNS", "NIS2 Art 2(2)(a)(iii)",
                                    "DNS service providers are covered whatever their size"};
static const ground_t ground_pa_central = {
    "SIZE_INDEPENDENT_CENTRAL_PUBLIC_ADMINISTRATION", "NIS2 Art 2(2)(f)(i)",
    "public administration entities of central government are covered whatever their size"};
static const ground_t ground_pa_regional = {
    "REGIONAL_PUBLIC_ADMINISTRATION_ASSESSED", "NIS2 Art 2(2)(f)(ii)",
    "a risk-based assessment found that a disruption of this regional public administration "
    "entity's services could significantly affect critical societal or economic activities"};
static const ground_t ground_cer = {
    "CER_CRITICAL_ENTITY", "NIS2 Art 2(3)",
    "the entity is identified as a critical entity under Directive (EU) 2022/2557 (CER), which "
    "NIS2 covers whatever its size"};
static const ground_t ground_domreg = {
    "DOMAIN_REGISTRATION_SERVICES", "NIS2 Art 2(4)",
    "entities providing domain name registration services are covered whatever their size"};
static const ground_t ground_local = {
    "LOCAL_PUBLIC_ADMINISTRATION_COVERED", "NIS2 Art 2(5)(a)",
    "national law extends NIS2 to public administration entities at local level (Member State "
    "option)"};
static const ground_t ground_education = {
    "EDUCATION_COVERED", "NIS2 Art 2(5)(b)",
    "national law extends NIS2 to education institutions (Member State option)"};

/* The Art 2(2)(b)-(e) grounds, indexed by MemberState.IdentifiedUnder. */
static const ground_t ground_ms[] = {
    {NULL, NULL, NULL},
    {"MEMBER_STATE_IDENTIFIED_SOLE_PROVIDER", "NIS2 Art 2(2)(b)",
     "the Member State identified the entity as the sole provider in the Member State of a "
     "service essential for maintaining critical societal or economic activities"},
    {"MEMBER_STATE_IDENTIFIED_PUBLIC_SAFETY", "NIS2 Art 2(2)(c)",
     "the Member State identified the entity because a disruption of its service could "
     "significantly affect public safety, public security or public health"},
    {"MEMBER_STATE_IDENTIFIED_SYSTEMIC_RISK", "NIS2 Art 2(2)(d)",
     "the Member State identified the entity because a disruption of its service could induce "
     "a significant systemic risk, in particular with a cross-border impact"},
    {"MEMBER_STATE_IDENTIFIED_CRITICAL", "NIS2 Art 2(2)(e)",
     "the Member State identified the entity as critical because of its specific importance at "
     "national or regional level for the sector, the type of service or interdependent sectors"},
};

static int is_annex_type(const candidate_t *c)
{
    return c->type != NULL && c->type->annex != BULWARK__SCOPING__V1__ENTITY_TYPE__ANNEX__NONE;
}

static int is_sized_annex_type(const candidate_t *c)
{
    return is_annex_type(c) && (c->type->flags & BW_CAT_SIZED);
}

static int is_kind(const candidate_t *c, bw_cat_kind_t kind)
{
    return c->type != NULL && c->type->kind == kind;
}

static int cer_critical(const eval_t *ev, const candidate_t *c)
{
    (void)c;
    return ev->ms->critical_entity_under_cer;
}

static int qualified_tsp(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_TSP_QUALIFIED) ||
           (is_kind(c, BW_CAT_TSP) && c->activity != NULL && c->activity->qualified_trust_service);
}

static int tld_registry(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_TLD);
}

static int dns_provider(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_DNS);
}

static int central_pa(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_PA_CENTRAL);
}

static int ms_designated_essential(const eval_t *ev, const candidate_t *c)
{
    return is_annex_type(c) && ev->ms->identified_under != 0 &&
           ev->ms->designation == BULWARK__SCOPING__V1__MEMBER_STATE__DESIGNATION__ESSENTIAL;
}

static int former_oes(const eval_t *ev, const candidate_t *c)
{
    (void)c;
    return ev->ms->former_oes_opt_in;
}

static int large_annex_i(const eval_t *ev, const candidate_t *c)
{
    return is_sized_annex_type(c) &&
           c->type->annex == BULWARK__SCOPING__V1__ENTITY_TYPE__ANNEX__I && ev->size == LARGE;
}

static int medium_ecn(const eval_t *ev, const candidate_t *c)
{
    return is_kind(c, BW_CAT_ECN) && ev->size == MEDIUM;
}

static int ms_identified(const eval_t *ev, const candidate_t *c)
{
    return is_annex_type(c) && ev->ms->identified_under != 0;
}

static int ecn_provider(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_ECN);
}

static int tsp(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return c->type != NULL && bw_catalogue_is_tsp(c->type);
}

static int regional_pa_assessed(const eval_t *ev, const candidate_t *c)
{
    return is_kind(c, BW_CAT_PA_REGIONAL) && ev->pa->risk_assessment_positive;
}

static int medium_or_large(const eval_t *ev, const candidate_t *c)
{
    return is_sized_annex_type(c) && (ev->size == MEDIUM || ev->size == LARGE);
}

static int domain_registration(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_DOMAIN_REGISTRATION);
}

static int local_pa_covered(const eval_t *ev, const candidate_t *c)
{
    return is_kind(c, BW_CAT_PA_LOCAL) && ev->ms->covers_local_public_administration;
}

static int education_covered(const eval_t *ev, const candidate_t *c)
{
    return is_kind(c, BW_CAT_EDUCATION) && ev->ms->covers_education;
}

static int regional_pa(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_PA_REGIONAL);
}

static int local_pa(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_PA_LOCAL);
}

static int education(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    return is_kind(c, BW_CAT_EDUCATION);
}

static int micro_or_small(const eval_t *ev, const candidate_t *c)
{
    return is_sized_annex_type(c) && (ev->size == MICRO || ev->size == SMALL);
}

static int size_not_given(const eval_t *ev, const candidate_t *c)
{
    return is_sized_annex_type(c) && ev->size == SIZE_NA;
}

static int always(const eval_t *ev, const candidate_t *c)
{
    (void)ev;
    (void)c;
    return 1;
}

/* scope.md section 5 step 4, in its order; the first row that matches an
 * activity (or the entity as a whole) classifies it. */
static const class_rule_t class_rules[] = {
    /* 4.1 */
    {"ESSENTIAL_CER_CRITICAL_ENTITY", ESSENTIAL, PASS_ENTITY, cer_critical, &ground_cer,
     "NIS2 Art 3(1)(f)", "a critical entity under CER is essential"},
    /* 4.2 */
    {"ESSENTIAL_QUALIFIED_TSP", ESSENTIAL, PASS_ACTIVITY, qualified_tsp, &ground_tsp,
     "NIS2 Art 3(1)(b)", "a qualified trust service provider is essential whatever its size"},
    {"ESSENTIAL_TLD_REGISTRY", ESSENTIAL, PASS_ACTIVITY, tld_registry, &ground_tld,
     "NIS2 Art 3(1)(b)", "a TLD name registry is essential whatever its size"},
    {"ESSENTIAL_DNS_PROVIDER", ESSENTIAL, PASS_ACTIVITY, dns_provider, &ground_dns,
     "NIS2 Art 3(1)(b)", "a DNS service provider is essential whatever its size"},
    /* 4.3 */
    {"ESSENTIAL_CENTRAL_PUBLIC_ADMINISTRATION", ESSENTIAL, PASS_ACTIVITY, central_pa,
     &ground_pa_central, "NIS2 Art 3(1)(d)",
     "a central-government public administration entity is essential"},
    /* 4.4 */
    {"ESSENTIAL_MEMBER_STATE_DESIGNATED", ESSENTIAL, PASS_ACTIVITY | GROUND_MS,
     ms_designated_essential, NULL, "NIS2 Art 3(1)(e)",
     "an entity the Member State identified under Art 2(2)(b)-(e) and designated essential is "
     "essential"},
    /* 4.5 */
    {"ESSENTIAL_FORMER_OES", ESSENTIAL, PASS_ENTITY, former_oes, NULL, "NIS2 Art 3(1)(g)",
     "the Member State identified the entity as an operator of essential services before 16 "
     "January 2023 and provides that such entities are essential (Member State option)"},
    /* 4.6 */
    {"ESSENTIAL_LARGE_ANNEX_I", ESSENTIAL, PASS_ACTIVITY | BASIS_SIZE, large_annex_i, &ground_size,
     "NIS2 Art 3(1)(a)",
     "an Annex I entity type that exceeds the ceilings for medium-sized enterprises is "
     "essential"},
    /* 4.7 */
    {"ESSENTIAL_MEDIUM_ECN", ESSENTIAL, PASS_ACTIVITY | BASIS_SIZE, medium_ecn, &ground_ecn,
     "NIS2 Art 3(1)(c)",
     "a medium-sized provider of public electronic communications networks or services is "
     "essential"},
    /* 4.8 */
    {"IMPORTANT_MEMBER_STATE_IDENTIFIED", IMPORTANT, PASS_ACTIVITY | GROUND_MS, ms_identified, NULL,
     "NIS2 Art 3(2)",
     "an entity the Member State identified under Art 2(2)(b)-(e) and did not designate "
     "essential is important"},
    {"IMPORTANT_ECN", IMPORTANT, PASS_ACTIVITY, ecn_provider, &ground_ecn, "NIS2 Art 3(2)",
     "a provider of public electronic communications networks or services that is not "
     "medium-sized or large (or whose size was not given) is important"},
    {"IMPORTANT_TSP", IMPORTANT, PASS_ACTIVITY, tsp, &ground_tsp, "NIS2 Art 3(2)",
     "a trust service provider that is not qualified and not large is important"},
    {"IMPORTANT_REGIONAL_PUBLIC_ADMINISTRATION", IMPORTANT, PASS_ACTIVITY, regional_pa_assessed,
     &ground_pa_regional, "NIS2 Art 3(2)",
     "a regional public administration entity covered after the risk-based assessment is "
     "important"},
    {"IMPORTANT_BY_SIZE", IMPORTANT, PASS_ACTIVITY | BASIS_SIZE, medium_or_large, &ground_size,
     "NIS2 Art 3(2)",
     "an entity of a covered type that is not essential is important (a medium-sized Annex I "
     "type, or a medium-sized or large Annex II type)"},
    /* 4.9 */
    {"DOMAIN_REGISTRATION_ONLY", DOMREG_ONLY, PASS_ACTIVITY, domain_registration, &ground_domreg,
     "NIS2 Art 3(3)",
     "domain name registration services are not an Annex I or II type, so Art 3 makes the "
     "entity neither essential nor important; it belongs on the Member State's list and Art 27 "
     "and 28 apply"},
    /* 4.10: national law decides; the baseline takes the lighter category. */
    {"IMPORTANT_LOCAL_PUBLIC_ADMINISTRATION", IMPORTANT, PASS_ACTIVITY, local_pa_covered,
     &ground_local, "NIS2 Art 2(5)(a)",
     "a local public administration entity covered by national law is treated as important; "
     "national law may make it essential"},
    {"IMPORTANT_EDUCATION_INSTITUTION", IMPORTANT, PASS_ACTIVITY, education_covered,
     &ground_education, "NIS2 Art 2(5)(b)",
     "an education institution covered by national law is treated as important; national law "
     "may make it essential"},
    /* 4.11: the reasons why not. */
    {"OUT_REGIONAL_PUBLIC_ADMINISTRATION_NOT_ASSESSED", OUT_OF_SCOPE, PASS_ACTIVITY, regional_pa,
     NULL, "NIS2 Art 2(2)(f)(ii)",
     "a regional public administration entity is covered only after a risk-based assessment "
     "finds its services critical (set publicAdministration.riskAssessmentPositive)"},
    {"OUT_LOCAL_PUBLIC_ADMINISTRATION_NOT_COVERED", OUT_OF_SCOPE, PASS_ACTIVITY, local_pa, NULL,
     "NIS2 Art 2(5)(a)",
     "local public administration is covered only where national law so provides "
     "(memberState.coversLocalPublicAdministration is not set)"},
    {"OUT_EDUCATION_NOT_COVERED", OUT_OF_SCOPE, PASS_ACTIVITY, education, NULL, "NIS2 Art 2(5)(b)",
     "education institutions are covered only where national law so provides "
     "(memberState.coversEducation is not set)"},
    {"OUT_BELOW_SIZE_CAP", OUT_OF_SCOPE, PASS_ACTIVITY | BASIS_SIZE, micro_or_small, NULL,
     "NIS2 Art 2(1)",
     "a micro or small enterprise of an Annex I or II type is not covered unless a "
     "size-independent ground applies (the size-cap rule)"},
    {"OUT_SIZE_NOT_GIVEN", OUT_OF_SCOPE, PASS_ACTIVITY, size_not_given, NULL, "NIS2 Art 2(1)",
     "this type is covered only from medium size on, and no size figures were given"},
    {"OUT_NOT_COVERED", OUT_OF_SCOPE, PASS_ENTITY | PASS_ACTIVITY | SILENT, always, NULL,
     "NIS2 Art 2(1)",
     "no activity of an Annex I or II type, nor any other ground of Art 2, brings the entity "
     "into scope"},
};

static int rank(classification_t c)
{
    switch (c) {
    case ESSENTIAL:
        return 4;
    case IMPORTANT:
        return 3;
    case DOMREG_ONLY:
        return 2;
    case OUT_OF_SCOPE:
        return 1;
    default:
        return 0;
    }
}

static const ground_t *rule_ground(const eval_t *ev, const class_rule_t *r)
{
    if (!(r->flags & GROUND_MS))
        return r->ground;
    size_t ground = (size_t)ev->ms->identified_under;
    return ground < COUNT(ground_ms) && ground_ms[ground].code != NULL ? &ground_ms[ground] : NULL;
}

static void classify(eval_t *ev, candidate_t *c)
{
    unsigned pass = c->type == NULL ? PASS_ENTITY : PASS_ACTIVITY;
    for (size_t i = 0; i < COUNT(class_rules); i++) {
        const class_rule_t *r = &class_rules[i];
        if ((r->flags & pass) && r->applies(ev, c)) {
            c->rule = r;
            return;
        }
    }
}

static void explain(eval_t *ev, const candidate_t *c)
{
    const class_rule_t *r = c->rule;
    const ground_t *g = rule_ground(ev, r);
    if (c->carved_back)
        add_candidate_reason(ev, c, "TSP_CARVE_BACK", "NIS2 Art 2(9)",
                             "the exclusions of Art 2(7) and (8) do not apply to an entity "
                             "acting as a trust service provider, so this activity stays covered");
    if (g != NULL)
        add_candidate_reason(ev, c, g->code, g->article, g->message);
    add_candidate_reason(ev, c, r->code, r->article, r->message);
}

static void add_candidate_basis(eval_t *ev, const candidate_t *c)
{
    const class_rule_t *r = c->rule;
    const ground_t *g = rule_ground(ev, r);
    if (c->carved_back)
        add_basis(ev, "NIS2 Art 2(9)");
    if (r->flags & BASIS_SIZE)
        for (size_t i = 0; i < ev->n_size_basis; i++)
            add_basis(ev, ev->size_basis[i]);
    if (g != NULL)
        add_basis(ev, g->article);
    add_basis(ev, r->article);
}

/* Builds the candidates: the entity itself, each activity, and the public
 * administration level when no activity names it. */
static int candidates_step(eval_t *ev)
{
    const bw_scoping_facts_t *f = ev->facts;
    ev->cands = bw_arena_calloc(ev->arena, f->n_activities + 2, sizeof(*ev->cands));
    if (ev->cands == NULL)
        return BW_ENOMEM;
    ev->n_cands = 1;
    int names_pa = 0;
    for (size_t i = 0; i < f->n_activities; i++) {
        const bw_catalogue_entry_t *type = bw_catalogue_find(f->activities[i]->entity_type);
        if (type == NULL)
            continue;
        candidate_t *c = &ev->cands[ev->n_cands++];
        c->type = type;
        c->activity = f->activities[i];
        names_pa |= bw_catalogue_is_public_admin(type);
    }
    static const char *const level_codes[] = {NULL, "public_admin.central", "public_admin.regional",
                                              "public_admin.local"};
    if (!names_pa && ev->pa->level > 0 && (size_t)ev->pa->level < COUNT(level_codes)) {
        candidate_t *c = &ev->cands[ev->n_cands++];
        c->type = bw_catalogue_find(level_codes[ev->pa->level]);
    }
    /* Exclusions first, so the carve-outs see only what is left. */
    for (size_t i = 1; i < ev->n_cands; i++) {
        candidate_t *c = &ev->cands[i];
        if (ev->effects & EXCLUDE_ENTITY)
            c->dropped = 1;
        else if (ev->effects & EXCLUDE_ENTITY_BUT_TSP) {
            c->dropped = !bw_catalogue_is_tsp(c->type);
            c->carved_back = !c->dropped;
        }
        if ((ev->effects & NOT_PUBLIC_ADMIN) && bw_catalogue_is_public_admin(c->type))
            c->dropped = 1;
    }
    for (size_t i = 1; i < ev->n_cands; i++)
        if (!ev->cands[i].dropped)
            carve_out_step(ev, &ev->cands[i]);
    return 0;
}

/* ---- consequences ------------------------------------------------------ */

static const struct consequence {
    classification_t classification;
    Bulwark__Scoping__V1__Assessment__Supervision supervision;
    const char *supervision_article;
    const char *supervision_message;
    int64_t fine_fixed_eur;
    int fine_per_mille; /* of worldwide annual turnover */
    const char *fine_article;
} consequences[] = {
    {ESSENTIAL, EX_ANTE, "NIS2 Art 32",
     "an essential entity is supervised ex ante and ex post: on-site inspections and off-site "
     "supervision including random checks, regular, targeted and ad hoc audits, security scans "
     "and information requests",
     10000000, 20, "NIS2 Art 34(4)"},
    {IMPORTANT, EX_POST, "NIS2 Art 33",
     "an important entity is supervised ex post only: the authority acts when given evidence, "
     "an indication or information of non-compliance, with on-site inspections, off-site "
     "supervision and targeted audits",
     7000000, 14, "NIS2 Art 34(5)"},
};

static const struct consequence *consequence_of(classification_t c)
{
    for (size_t i = 0; i < COUNT(consequences); i++)
        if (consequences[i].classification == c)
            return &consequences[i];
    return NULL;
}

int bw_rules_max_fine(classification_t classification, int64_t turnover_eur,
                      Bulwark__Scoping__V1__Assessment__MaxFine *out)
{
    const struct consequence *k = consequence_of(classification);
    if (k == NULL || turnover_eur < 0)
        return BW_EINVAL;
    bulwark__scoping__v1__assessment__max_fine__init(out);
    /* floor(turnover * per_mille / 1000) without overflowing int64. */
    int64_t share = (turnover_eur / 1000) * k->fine_per_mille +
                    (turnover_eur % 1000) * k->fine_per_mille / 1000;
    out->fixed_eur = k->fine_fixed_eur;
    out->turnover_percent = k->fine_per_mille / 10.0;
    out->turnover_eur = turnover_eur;
    out->applicable_eur = share > k->fine_fixed_eur ? share : k->fine_fixed_eur;
    return 0;
}

/* The undertaking's worldwide turnover: given, or the entity's with its
 * linked enterprises (the group it belongs to; partners are not part of it). */
static int64_t undertaking_turnover(const eval_t *ev, int *given)
{
    const Bulwark__Scoping__V1__Size *s = ev->facts->size;
    *given = 0;
    if (s == NULL)
        return 0;
    if (s->undertaking_worldwide_turnover_eur > 0) {
        *given = 1;
        return s->undertaking_worldwide_turnover_eur;
    }
    int64_t t = s->annual_turnover_eur;
    for (size_t i = 0; i < s->n_linked_enterprises; i++)
        t = add_saturating(t, s->linked_enterprises[i]->annual_turnover_eur);
    return t;
}

static Bulwark__Scoping__V1__Assessment__MaxFine *fine_step(eval_t *ev, classification_t outcome)
{
    const struct consequence *k = consequence_of(outcome);
    if (k == NULL)
        return NULL;
    Bulwark__Scoping__V1__Assessment__MaxFine *fine = bw_arena_alloc(ev->arena, sizeof(*fine));
    if (fine == NULL) {
        ev->oom = 1;
        return NULL;
    }
    int given;
    int64_t turnover = undertaking_turnover(ev, &given);
    bw_rules_max_fine(outcome, turnover, fine);
    add_reason(ev, "FINE_CEILING", k->fine_article,
               "national law must allow fines of at least EUR %lld or %.1f %% of the "
               "undertaking's total worldwide annual turnover, whichever is higher: EUR %lld for "
               "a turnover of EUR %lld (%s)",
               (long long)fine->fixed_eur, fine->turnover_percent, (long long)fine->applicable_eur,
               (long long)turnover,
               given ? "size.undertakingWorldwideTurnoverEur"
               : ev->facts->size != NULL
                   ? "the entity's turnover with its linked enterprises; give "
                     "size.undertakingWorldwideTurnoverEur for the whole "
                     "undertaking"
                   : "no turnover was given; give "
                     "size.undertakingWorldwideTurnoverEur");
    if (any_activity(ev, bw_catalogue_is_public_admin))
        add_reason_text(ev, "FINES_PUBLIC_ADMINISTRATION", "NIS2 Art 34(7)",
                        "each Member State decides whether and to what extent public "
                        "administration entities can be fined");
    return fine;
}

static const char *rule_name(Bulwark__Scoping__V1__Jurisdiction__Rule rule)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &bulwark__scoping__v1__jurisdiction__rule__descriptor, rule);
    return v != NULL ? v->name : "?";
}

static const struct jurisdiction_text {
    Bulwark__Scoping__V1__Jurisdiction__Rule rule;
    const char *code;
    const char *article;
    const char *message;
} jurisdiction_texts[] = {
    {J_EST, "JURISDICTION_ESTABLISHMENT", "NIS2 Art 26(1)",
     "the Member State where the entity is established has jurisdiction"},
    {J_MAIN, "JURISDICTION_MAIN_ESTABLISHMENT", "NIS2 Art 26(1)(b)",
     "the Member State of the main establishment in the Union has jurisdiction: where decisions "
     "on cybersecurity risk-management measures are predominantly taken, failing that where "
     "cybersecurity operations are carried out, failing that the establishment with the most "
     "employees in the Union (Art 26(2))"},
    {J_SVC, "JURISDICTION_SERVICE_PROVISION", "NIS2 Art 26(1)(a)",
     "each Member State where the entity provides its electronic communications networks or "
     "services has jurisdiction"},
    {J_PA, "JURISDICTION_ESTABLISHING_STATE", "NIS2 Art 26(1)(c)",
     "the Member State that established the public administration entity has jurisdiction"},
};

static void set_states(eval_t *ev, Bulwark__Scoping__V1__Jurisdiction *j, char *const *states,
                       size_t n)
{
    j->member_states = bw_arena_calloc(ev->arena, n + 1, sizeof(*j->member_states));
    if (j->member_states == NULL) {
        ev->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        j->member_states[i] = states[i];
    j->n_member_states = n;
}

static void main_establishment_states(eval_t *ev, Bulwark__Scoping__V1__Jurisdiction *j)
{
    const member_state_t *ms = ev->ms;
    char *one[1];
    if (ms->main_establishment[0] != '\0') {
        one[0] = ms->main_establishment;
        set_states(ev, j, one, 1);
    } else if (ms->establishment[0] != '\0') {
        one[0] = ms->establishment;
        set_states(ev, j, one, 1);
        add_reason_text(ev, "MAIN_ESTABLISHMENT_FROM_ESTABLISHMENT", "NIS2 Art 26(2)",
                        "no main establishment was given; the Member State of establishment is "
                        "taken as the main establishment");
    } else if (ms->representative[0] != '\0') {
        one[0] = ms->representative;
        set_states(ev, j, one, 1);
        add_reason_text(ev, "NON_EU_REPRESENTATIVE", "NIS2 Art 26(3)",
                        "an entity not established in the Union falls under the jurisdiction of "
                        "the Member State where its designated representative is established; "
                        "the designation does not shield the entity itself from legal action");
    } else if (ms->n_services_in > 0) {
        set_states(ev, j, ms->services_in, ms->n_services_in);
        add_reason_text(ev, "NON_EU_REPRESENTATIVE_MISSING", "NIS2 Art 26(3)",
                        "an entity not established in the Union that offers services in it must "
                        "designate a representative established in one of the Member States "
                        "where it offers them; until it does, each of those Member States may "
                        "take legal action against it");
    }
}

static Bulwark__Scoping__V1__Jurisdiction *jurisdiction_step(eval_t *ev, const candidate_t *decider)
{
    Bulwark__Scoping__V1__Jurisdiction *j = bw_arena_alloc(ev->arena, sizeof(*j));
    if (j == NULL) {
        ev->oom = 1;
        return NULL;
    }
    bulwark__scoping__v1__jurisdiction__init(j);
    j->rule = decider != NULL ? decider->type->jurisdiction : J_EST;
    for (size_t i = 0; i < COUNT(jurisdiction_texts); i++)
        if (jurisdiction_texts[i].rule == j->rule)
            add_reason_text(ev, jurisdiction_texts[i].code, jurisdiction_texts[i].article,
                            jurisdiction_texts[i].message);
    const member_state_t *ms = ev->ms;
    char *one[1];
    switch (j->rule) {
    case J_MAIN:
        main_establishment_states(ev, j);
        break;
    case J_SVC:
        if (ms->n_services_in > 0)
            set_states(ev, j, ms->services_in, ms->n_services_in);
        else if (ms->establishment[0] != '\0') {
            one[0] = ms->establishment;
            set_states(ev, j, one, 1);
            add_reason_text(ev, "SERVICES_FROM_ESTABLISHMENT", "NIS2 Art 26(1)(a)",
                            "no memberState.servicesIn was given; the Member State of "
                            "establishment is taken as where the services are provided");
        }
        break;
    default:
        if (ms->establishment[0] != '\0') {
            one[0] = ms->establishment;
            set_states(ev, j, one, 1);
        }
        break;
    }
    if (j->n_member_states == 0)
        add_reason_text(ev, "JURISDICTION_MEMBER_STATE_NOT_GIVEN", "NIS2 Art 26(1)",
                        "the facts name no Member State for this rule (memberState)");
    for (size_t i = 1; i < ev->n_cands; i++) {
        const candidate_t *c = &ev->cands[i];
        if (c != decider && !c->dropped && c->rule->outcome != OUT_OF_SCOPE &&
            c->type->jurisdiction != j->rule)
            add_reason(ev, "JURISDICTION_SEVERAL_RULES", "NIS2 Art 26(1)",
                       "%s follows another jurisdiction rule (%s) than the deciding activity "
                       "(%s); this assessment reports the latter",
                       c->type->code, rule_name(c->type->jurisdiction), rule_name(j->rule));
    }
    return j;
}

/* Registration duties and obligations: each row applies when its test holds
 * for the entity's outcome and remaining activities. */
typedef struct duty_rule {
    const char *article;
    int (*applies)(const eval_t *ev, classification_t outcome);
    const char *summary;
    const char *due_date;
    const char *changes;
} duty_rule_t;

static int in_scope(classification_t outcome)
{
    return outcome == ESSENTIAL || outcome == IMPORTANT || outcome == DOMREG_ONLY;
}

static int listed(const eval_t *ev, classification_t outcome)
{
    (void)ev;
    return in_scope(outcome);
}

static int is_registry_type(const bw_catalogue_entry_t *t)
{
    /* The Art 27(1) registry lists exactly the Art 26(1)(b) entities. */
    return t->jurisdiction == J_MAIN;
}

static int registry(const eval_t *ev, classification_t outcome)
{
    return in_scope(outcome) && any_activity(ev, is_registry_type);
}

static const duty_rule_t duty_rules[] = {
    {"NIS2 Art 3(4)", listed,
     "Submit to the competent authority, or through the Member State's self-registration "
     "mechanism, for its list of essential, important and domain-registration entities: name; "
     "address and up-to-date contact details, including e-mail addresses, IP ranges and "
     "telephone numbers; the Annex I or II sector and subsector, where applicable; the Member "
     "States where services within NIS2 are provided, where applicable. The Member States' "
     "lists were due by 17 April 2025 (Art 3(3)); national law sets the entity's own date.",
     "2025-04-17", "without delay, and at the latest within two weeks of the change"},
    {"NIS2 Art 27(2)", registry,
     "Submit to the competent authority, for ENISA's registry: name; sector, subsector and "
     "entity type; address of the main establishment and other establishments in the Union or, "
     "if not established in the Union, of the representative; up-to-date contact details, "
     "including the representative's; the Member States where services are provided; IP ranges.",
     "2025-01-17",
     "without delay, and at the latest within three months of the change "
     "(Art 27(3))"},
};

typedef struct obligation_rule {
    const char *article;
    int (*applies)(const eval_t *ev, classification_t outcome);
    const char *summary;
    unsigned addenda; /* ADD_* bits */
} obligation_rule_t;

enum {
    ADD_IR_MEASURES = 1u << 0,
    ADD_IR_INCIDENTS = 1u << 1,
    ADD_TSP_24H = 1u << 2,
    ADD_EXEMPTION = 1u << 3,
    ADD_DORA = 1u << 4,
};

static int essential_or_important(const eval_t *ev, classification_t outcome)
{
    (void)ev;
    return outcome == ESSENTIAL || outcome == IMPORTANT;
}

static int keeps_registration_data(const bw_catalogue_entry_t *t)
{
    return t->kind == BW_CAT_TLD || t->kind == BW_CAT_DOMAIN_REGISTRATION;
}

static int registration_data(const eval_t *ev, classification_t outcome)
{
    return in_scope(outcome) && any_activity(ev, keeps_registration_data);
}

static const obligation_rule_t obligation_rules[] = {
    {"NIS2 Art 20", essential_or_important,
     "The management body approves the cybersecurity risk-management measures, oversees their "
     "implementation and can be held liable for infringements; its members must follow "
     "training, and similar training for employees is encouraged.",
     ADD_DORA},
    {"NIS2 Art 21", essential_or_important,
     "Appropriate and proportionate technical, operational and organisational measures on an "
     "all-hazards basis, at least: risk analysis and security policies; incident handling; "
     "business continuity and crisis management; supply-chain security; security in "
     "acquisition, development and maintenance, including vulnerability handling; assessing "
     "the measures' effectiveness; cyber hygiene and training; cryptography and encryption; "
     "human-resources security, access control and asset management; multi-factor "
     "authentication and secured communications (Art 21(2)(a)-(j)).",
     ADD_IR_MEASURES | ADD_EXEMPTION | ADD_DORA},
    {"NIS2 Art 23", essential_or_important,
     "Notify the CSIRT or competent authority of every significant incident: an early warning "
     "within 24 hours of becoming aware, an incident notification within 72 hours, "
     "intermediate reports on request, a final report within one month of the notification; "
     "inform the recipients of the services where appropriate.",
     ADD_TSP_24H | ADD_IR_INCIDENTS | ADD_EXEMPTION | ADD_DORA},
    {"NIS2 Art 28", registration_data,
     "Collect and keep accurate and complete domain name registration data in a dedicated "
     "database; publish the policies and procedures for it; publish the non-personal "
     "registration data without undue delay after registration; answer lawful and duly "
     "substantiated access requests within 72 hours.",
     0},
};

static int is_dora_type(const bw_catalogue_entry_t *t)
{
    return (t->flags & BW_CAT_DORA) != 0;
}

static int is_ir_type(const bw_catalogue_entry_t *t)
{
    return (t->flags & BW_CAT_IR) != 0;
}

static const struct addendum {
    unsigned bit;
    const char *text;
} addenda[] = {
    {ADD_IR_MEASURES,
     " Implementing Regulation (EU) 2024/2690 sets the technical and methodological "
     "requirements (its Annex) for this entity type."},
    {ADD_IR_INCIDENTS,
     " Implementing Regulation (EU) 2024/2690 Art 3-14 say when an incident is significant."},
    {ADD_TSP_24H,
     " As a trust service provider, a significant incident affecting the provision of its "
     "trust services is notified within 24 hours (Art 23(4)(b))."},
    {ADD_EXEMPTION,
     " Not for the activities the Member State exempted under Art 2(8); trust service "
     "activities cannot be exempted (Art 2(9))."},
    {ADD_DORA,
     " For the banking and financial-market-infrastructure activities, DORA (Regulation (EU) "
     "2022/2554) applies instead (Art 4)."},
};

static unsigned addenda_that_apply(const eval_t *ev)
{
    unsigned bits = 0;
    if (any_activity(ev, is_ir_type))
        bits |= ADD_IR_MEASURES | ADD_IR_INCIDENTS;
    if (any_activity(ev, bw_catalogue_is_tsp))
        bits |= ADD_TSP_24H;
    if (ev->ms->security_exemption ==
        BULWARK__SCOPING__V1__MEMBER_STATE__SECURITY_EXEMPTION__RISK_MANAGEMENT_AND_REPORTING)
        bits |= ADD_EXEMPTION;
    if (any_activity(ev, is_dora_type))
        bits |= ADD_DORA;
    return bits;
}

static char *with_addenda(eval_t *ev, const char *summary, unsigned bits)
{
    if (bits == 0)
        return (char *)summary;
    size_t len = strlen(summary);
    for (size_t i = 0; i < COUNT(addenda); i++)
        if (bits & addenda[i].bit)
            len += strlen(addenda[i].text);
    char *text = bw_arena_alloc(ev->arena, len + 1);
    if (text == NULL) {
        ev->oom = 1;
        return (char *)summary;
    }
    size_t at = strlen(summary);
    memcpy(text, summary, at);
    for (size_t i = 0; i < COUNT(addenda); i++)
        if (bits & addenda[i].bit) {
            size_t n = strlen(addenda[i].text);
            memcpy(text + at, addenda[i].text, n);
            at += n;
        }
    text[at] = '\0';
    return text;
}

static void obligations_step(eval_t *ev, classification_t outcome,
                             Bulwark__Scoping__V1__Assessment *a)
{
    a->obligations = bw_arena_calloc(ev->arena, COUNT(obligation_rules), sizeof(*a->obligations));
    a->registration_duties =
        bw_arena_calloc(ev->arena, COUNT(duty_rules), sizeof(*a->registration_duties));
    Bulwark__Scoping__V1__Assessment__Obligation *obligations =
        bw_arena_calloc(ev->arena, COUNT(obligation_rules), sizeof(*obligations));
    Bulwark__Scoping__V1__Assessment__RegistrationDuty *duties =
        bw_arena_calloc(ev->arena, COUNT(duty_rules), sizeof(*duties));
    if (a->obligations == NULL || a->registration_duties == NULL || obligations == NULL ||
        duties == NULL) {
        ev->oom = 1;
        return;
    }
    unsigned bits = addenda_that_apply(ev);
    for (size_t i = 0; i < COUNT(obligation_rules); i++) {
        const obligation_rule_t *r = &obligation_rules[i];
        if (!r->applies(ev, outcome))
            continue;
        Bulwark__Scoping__V1__Assessment__Obligation *o = &obligations[a->n_obligations];
        bulwark__scoping__v1__assessment__obligation__init(o);
        o->article = (char *)r->article;
        o->summary = with_addenda(ev, r->summary, r->addenda & bits);
        a->obligations[a->n_obligations++] = o;
    }
    for (size_t i = 0; i < COUNT(duty_rules); i++) {
        const duty_rule_t *r = &duty_rules[i];
        if (!r->applies(ev, outcome))
            continue;
        Bulwark__Scoping__V1__Assessment__RegistrationDuty *d = &duties[a->n_registration_duties];
        bulwark__scoping__v1__assessment__registration_duty__init(d);
        d->article = (char *)r->article;
        d->summary = (char *)r->summary;
        d->due_date = (char *)r->due_date;
        d->changes = (char *)r->changes;
        a->registration_duties[a->n_registration_duties++] = d;
    }
}

static const char dora_note[] =
    "DORA (Regulation (EU) 2022/2554) is a sector-specific Union act for the banking and "
    "financial-market-infrastructure activities (NIS2 Art 4, Recital 28): where it applies, its "
    "ICT risk-management, incident-reporting and oversight provisions replace NIS2 Art 20, 21 "
    "and 23 and NIS2 supervision and enforcement (Chapter VII) for those activities. The NIS2 "
    "classification is kept for the Member State's list (Art 3(3)).";

static int identified(const eval_t *ev)
{
    return ev->ms->identified_under != 0;
}

static int designated(const eval_t *ev)
{
    return ev->ms->designation != 0;
}

static int opted_in_oes(const eval_t *ev)
{
    return ev->ms->former_oes_opt_in;
}

static int cer_identified(const eval_t *ev)
{
    return ev->ms->critical_entity_under_cer;
}

static int has_local_pa(const bw_catalogue_entry_t *t)
{
    return t->kind == BW_CAT_PA_LOCAL;
}

static int has_regional_pa(const bw_catalogue_entry_t *t)
{
    return t->kind == BW_CAT_PA_REGIONAL;
}

/* The Art 2(5) and 2(2)(f)(ii) options count when set, and also when unset
 * but an activity made the outcome depend on them. */
static int local_pa_option(const eval_t *ev)
{
    return ev->ms->covers_local_public_administration || any_activity(ev, has_local_pa);
}

static int education_option(const eval_t *ev)
{
    return ev->ms->covers_education || any_activity(ev, is_education);
}

static int exempted_for_security(const eval_t *ev)
{
    return ev->ms->security_exemption != 0;
}

static int exempted_from_dora(const eval_t *ev)
{
    return ev->ms->dora_exempted;
}

static int sized_alone(const eval_t *ev)
{
    return ev->ms->independent_of_group;
}

static int regional_assessment(const eval_t *ev)
{
    return ev->pa->risk_assessment_positive || any_activity(ev, has_regional_pa);
}

/* Inputs that are Member State options or decisions, and when they count. */
static const struct member_state_option {
    const char *input;
    int (*counts)(const eval_t *ev);
} member_state_options[] = {
    {"memberState.identifiedUnder (NIS2 Art 2(2)(b)-(e))", identified},
    {"memberState.designation (NIS2 Art 3(1)(e))", designated},
    {"memberState.formerOesOptIn (NIS2 Art 3(1)(g))", opted_in_oes},
    {"memberState.criticalEntityUnderCer (NIS2 Art 2(3), Directive (EU) 2022/2557)",
     cer_identified},
    {"memberState.coversLocalPublicAdministration (NIS2 Art 2(5)(a))", local_pa_option},
    {"memberState.coversEducation (NIS2 Art 2(5)(b))", education_option},
    {"memberState.securityExemption (NIS2 Art 2(8))", exempted_for_security},
    {"memberState.doraExempted (NIS2 Art 2(10), DORA Art 2(4))", exempted_from_dora},
    {"memberState.independentOfGroup (NIS2 Recital 16)", sized_alone},
    {"publicAdministration.riskAssessmentPositive (NIS2 Art 2(2)(f)(ii))", regional_assessment},
};

static void member_state_options_step(eval_t *ev, Bulwark__Scoping__V1__Assessment *a)
{
    a->member_state_options =
        bw_arena_calloc(ev->arena, COUNT(member_state_options), sizeof(*a->member_state_options));
    if (a->member_state_options == NULL) {
        ev->oom = 1;
        return;
    }
    for (size_t i = 0; i < COUNT(member_state_options); i++)
        if (member_state_options[i].counts(ev))
            a->member_state_options[a->n_member_state_options++] =
                (char *)member_state_options[i].input;
}

/* ---- the procedure ----------------------------------------------------- */

int bw_rules_assess(bw_arena_t *arena, const bw_scoping_facts_t *facts,
                    Bulwark__Scoping__V1__Assessment **out)
{
    eval_t ev = {.arena = arena, .facts = facts};
    ev.ms = facts->member_state != NULL ? facts->member_state : &no_member_state;
    ev.pa = facts->public_administration != NULL ? facts->public_administration : &no_public_admin;
    ev.cap_reasons = 6 * facts->n_activities + 40;
    ev.reasons = bw_arena_calloc(arena, ev.cap_reasons, sizeof(*ev.reasons));
    ev.cap_basis = 8 * facts->n_activities + 24;
    ev.basis = bw_arena_calloc(arena, ev.cap_basis, sizeof(*ev.basis));
    Bulwark__Scoping__V1__Assessment *a = bw_arena_alloc(arena, sizeof(*a));
    if (ev.reasons == NULL || ev.basis == NULL || a == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__assessment__init(a);

    exclusion_step(&ev);
    if (candidates_step(&ev) != 0)
        return BW_ENOMEM;
    size_step(&ev);

    /* Classify the entity as a whole and each remaining activity; the
     * highest outcome wins (an interpretation: Art 3 classifies entities). */
    int excluded = (ev.effects & (EXCLUDE_ENTITY | EXCLUDE_ENTITY_BUT_TSP)) != 0;
    size_t assessed = 0;
    for (size_t i = excluded ? 1 : 0; i < ev.n_cands; i++)
        if (!ev.cands[i].dropped) {
            classify(&ev, &ev.cands[i]);
            assessed += i > 0;
        }
    /* The entity-wide fallback speaks only when nothing else explains the outcome. */
    const class_rule_t *entity_rule = ev.cands[0].rule;
    if (entity_rule != NULL && (entity_rule->flags & SILENT) && assessed > 0)
        ev.cands[0].rule = NULL;
    classification_t outcome = OUT_OF_SCOPE;
    unsigned outcomes = 0;
    for (size_t i = 0; i < ev.n_cands; i++) {
        const candidate_t *c = &ev.cands[i];
        if (c->rule == NULL)
            continue;
        explain(&ev, c);
        if (rank(c->rule->outcome) > rank(outcome))
            outcome = c->rule->outcome;
        outcomes |= 1u << rank(c->rule->outcome);
    }
    if ((outcomes & (outcomes - 1)) != 0)
        add_reason_text(&ev, "SEVERAL_ACTIVITIES_HIGHEST_WINS", "NIS2 Art 3",
                        "the activities (and any entity-wide ground) lead to different outcomes; "
                        "the entity is classified as a whole by the highest (an interpretation: "
                        "Art 3 classifies entities, and Art 21(1) covers every system the entity "
                        "uses)");
    if (outcome == OUT_OF_SCOPE)
        for (size_t i = 0; i < ev.n_out_basis; i++)
            add_basis(&ev, ev.out_basis[i]);
    /* The deciding activity sets the jurisdiction rule; a public
     * administration entity is one whatever else it does (Art 26(1)(c)). */
    const candidate_t *decider = NULL;
    for (size_t i = 0; i < ev.n_cands; i++) {
        const candidate_t *c = &ev.cands[i];
        if (c->rule == NULL || c->rule->outcome != outcome)
            continue;
        add_candidate_basis(&ev, c);
        if (i > 0 && (decider == NULL ||
                      (c->type->jurisdiction == J_PA && decider->type->jurisdiction != J_PA)))
            decider = c;
    }
    if (ev.ms->identified_under != 0) {
        int annex = 0;
        for (size_t i = 1; i < ev.n_cands; i++)
            annex |= !ev.cands[i].dropped && is_annex_type(&ev.cands[i]);
        if (!annex && !excluded)
            add_reason_text(&ev, "MEMBER_STATE_IDENTIFICATION_WITHOUT_ANNEX_TYPE", "NIS2 Art 2(2)",
                            "memberState.identifiedUnder concerns entities of an Annex I or II "
                            "type only, and no activity is one");
    }

    a->classification = outcome;
    a->size_class = ev.size;
    const struct consequence *k = consequence_of(outcome);
    a->supervision = k != NULL ? k->supervision : NO_SUPERVISION;
    if (k != NULL)
        add_reason_text(&ev,
                        k->supervision == EX_ANTE ? "SUPERVISION_EX_ANTE" : "SUPERVISION_EX_POST",
                        k->supervision_article, k->supervision_message);
    a->max_fine = fine_step(&ev, outcome);
    if (in_scope(outcome)) {
        if (decider == NULL)
            for (size_t i = 1; i < ev.n_cands && decider == NULL; i++)
                if (!ev.cands[i].dropped && ev.cands[i].rule != NULL)
                    decider = &ev.cands[i];
        a->jurisdiction = jurisdiction_step(&ev, decider);
    }
    a->implementing_regulation_applies =
        (outcome == ESSENTIAL || outcome == IMPORTANT) && any_activity(&ev, is_ir_type);
    obligations_step(&ev, outcome, a);
    if ((outcome == ESSENTIAL || outcome == IMPORTANT) && any_activity(&ev, is_dora_type)) {
        a->dora_note = (char *)dora_note;
        add_reason_text(&ev, "DORA_LEX_SPECIALIS", "NIS2 Art 4", dora_note);
    }
    member_state_options_step(&ev, a);
    a->ruleset_version = BW_SCOPING_RULESET_VERSION;
    a->reasons = ev.reasons;
    a->n_reasons = ev.n_reasons;
    a->basis = ev.basis;
    a->n_basis = ev.n_basis;
    if (ev.oom)
        return BW_ENOMEM;
    *out = a;
    return 0;
}
