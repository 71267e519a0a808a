/*
 * The NIS2 scoping decision procedure (Directive (EU) 2022/2555 Art 2-4,
 * 26-27, 32-34; Recommendation 2003/361 Annex; DORA), written as tables: the size thresholds, the
 * exclusions (entity-wide) and Annex carve-outs (per activity), the classification rules in the
 * order of step 4 (first match wins per activity, the highest outcome wins across activities), and
 * the consequences (supervision and fine ceilings, registration duties, obligations, Member State
 * options). Each row carries its stable reason code, its article and its plain-English message; the
 * code around the tables only walks them. Every reason the procedure records goes into the
 * assessment, so a reader can follow the decision step by step.
 */
#include "rules.h"

#include "catalogue.h"
#include "profiles.h"
#include "status.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
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
#define DORA_SUPERVISION BULWARK__SCOPING__V1__ASSESSMENT__SUPERVISION__DORA

#define REGIME_NIS2 BULWARK__SCOPING__V1__INCIDENT_REGIME__NIS2
#define REGIME_DORA BULWARK__SCOPING__V1__INCIDENT_REGIME__DORA
#define REGIME_NONE BULWARK__SCOPING__V1__INCIDENT_REGIME__NONE

#define PROFILE_STATUS(x) BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__STATUS__##x
#define ANSWER(x) BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__ANSWER__##x
#define INVESTOR(x) BULWARK__SCOPING__V1__PARTNER_ENTERPRISE__INVESTOR_EXCEPTION__##x

#define J_EST BULWARK__SCOPING__V1__JURISDICTION__RULE__ESTABLISHMENT
#define J_MAIN BULWARK__SCOPING__V1__JURISDICTION__RULE__MAIN_ESTABLISHMENT
#define J_SVC BULWARK__SCOPING__V1__JURISDICTION__RULE__SERVICE_PROVISION
#define J_PA BULWARK__SCOPING__V1__JURISDICTION__RULE__ESTABLISHING_STATE

#define SME_ART_2 "Recommendation 2003/361 Annex Art 2"
#define SME_ART_3_2 "Recommendation 2003/361 Annex Art 3(2)"
#define SME_ART_3_3 "Recommendation 2003/361 Annex Art 3(3)(a)"
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
    const member_state_t *ms;        /* &ms_eff: the facts' block with the profile's answers */
    const public_admin_t *pa;        /* never NULL: an empty one when absent */
    member_state_t ms_eff;           /* a shallow copy; its strings are the facts' */
    const bw_profile_t *profile;     /* the profile selected, or NULL */
    const char *profile_selected_by; /* the input that selected it */
    int profile_in_force;            /* its law is in force, so it answers */
    char **profile_answers;          /* what it answered, as JSON paths */
    size_t n_profile_answers;
    int dora;                 /* DORA applies to the entity */
    int needs_representative; /* non-EU Art 26(1)(b) provider without one */
    int outside_union;        /* non-EU Art 26(1)(b) provider, with a representative or not */
    int union_established;    /* an Art 26(1)(b) provider the facts establish in the Union */
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
    const char **out_basis; /* exclusion and carve-out articles */
    size_t n_out_basis, cap_out_basis;
    int oom;
} eval_t;

static const member_state_t no_member_state = BULWARK__SCOPING__V1__MEMBER_STATE__INIT;
static const public_admin_t no_public_admin = BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__INIT;

/* items (n used of *cap, each of size bytes) with room for one more: items
 * itself, or a copy twice as large on the arena; NULL with ev->oom set when
 * memory runs out. Nothing is ever dropped. */
static void *make_room(eval_t *ev, void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t grown = *cap < 8 ? 8 : *cap * 2;
    void *more = bw_arena_calloc(ev->arena, grown, size);
    if (more == NULL) {
        ev->oom = 1;
        return NULL;
    }
    if (n > 0)
        memcpy(more, items, n * size);
    *cap = grown;
    return more;
}

/* Records a reason; a static message is used as is, others are formatted. */
static void add_reason_text(eval_t *ev, const char *code, const char *article, const char *text)
{
    if (text == NULL) {
        ev->oom = 1;
        return;
    }
    reason_t **reasons =
        make_room(ev, ev->reasons, ev->n_reasons, &ev->cap_reasons, sizeof(*reasons));
    if (reasons == NULL)
        return;
    ev->reasons = reasons;
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
    char **basis = make_room(ev, ev->basis, ev->n_basis, &ev->cap_basis, sizeof(*basis));
    if (basis == NULL)
        return;
    ev->basis = basis;
    ev->basis[ev->n_basis++] = (char *)article;
}

static void add_out_basis(eval_t *ev, const char *article)
{
    const char **out =
        make_room(ev, ev->out_basis, ev->n_out_basis, &ev->cap_out_basis, sizeof(*out));
    if (out == NULL)
        return;
    ev->out_basis = out;
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
/* Above this, the holder has a majority of the voting rights: linked (Art 3(3)(a)). */
#define LINKED_ABOVE_PERCENT 50.0
/* The Annex Art 3(2) thresholds of the investor exception. */
#define BUSINESS_ANGEL_MAX_EUR INT64_C(1250000)
#define LOCAL_AUTHORITY_BUDGET_MAX_EUR INT64_C(10000000)
#define LOCAL_AUTHORITY_INHABITANTS_MAX 5000

/* The group's figures to add to each period's own, and how they were made. */
typedef struct group {
    bw_size_figures_t sum;
    size_t linked;             /* linkedEnterprises, added at 100 % */
    size_t majority;           /* partners held above 50 %: linked, added at 100 % */
    size_t partners;           /* added pro rata */
    size_t partners_below;     /* held below 25 %: not added */
    size_t investors;          /* Annex Art 3(2) investors: not added */
    size_t investors_not_met;  /* investors above the thresholds: added pro rata */
    size_t investors_majority; /* investors holding a majority: linked */
} group_t;

static void add_figures(bw_size_figures_t *f, double staff, int64_t turnover, int64_t balance)
{
    f->staff += staff;
    f->turnover_eur = add_saturating(f->turnover_eur, turnover);
    f->balance_eur = add_saturating(f->balance_eur, balance);
}

/* Whether the investor of Annex Art 3(2) is within its thresholds (only
 * business angels and local authorities have any). */
static int investor_exception_met(const Bulwark__Scoping__V1__PartnerEnterprise *p)
{
    switch (p->investor_exception) {
    case INVESTOR(BUSINESS_ANGEL):
        return p->business_angel_investment_eur < BUSINESS_ANGEL_MAX_EUR;
    case INVESTOR(AUTONOMOUS_LOCAL_AUTHORITY):
        return p->local_authority_budget_eur < LOCAL_AUTHORITY_BUDGET_MAX_EUR &&
               p->local_authority_inhabitants < LOCAL_AUTHORITY_INHABITANTS_MAX;
    default:
        return 1;
    }
}

/* Linked enterprises at 100 %, partners held above 50 % at 100 % too (a
 * majority of the voting rights links them, Annex Art 3(3)(a)), other
 * partners from 25 % pro rata (Annex Art 6(2)) unless an Annex Art 3(2)
 * investor within its thresholds holds them; nothing when the Member State
 * sizes the entity on its own figures (Recital 16). */
static void group_step(const Bulwark__Scoping__V1__Size *s, int own_only, group_t *g)
{
    memset(g, 0, sizeof(*g));
    if (own_only)
        return;
    for (size_t i = 0; i < s->n_linked_enterprises; i++) {
        const Bulwark__Scoping__V1__SizeFigures *l = s->linked_enterprises[i];
        add_figures(&g->sum, l->staff_headcount, l->annual_turnover_eur,
                    l->balance_sheet_total_eur);
        g->linked++;
    }
    for (size_t i = 0; i < s->n_partner_enterprises; i++) {
        const Bulwark__Scoping__V1__PartnerEnterprise *p = s->partner_enterprises[i];
        int investor = p->investor_exception != INVESTOR(INVESTOR_EXCEPTION_UNSPECIFIED);
        if (p->holding_percent < PARTNER_MIN_PERCENT) {
            g->partners_below++;
            continue;
        }
        if (p->holding_percent > LINKED_ABOVE_PERCENT) {
            add_figures(&g->sum, p->staff_headcount, p->annual_turnover_eur,
                        p->balance_sheet_total_eur);
            g->majority++;
            g->investors_majority += investor;
            continue;
        }
        if (investor && investor_exception_met(p)) {
            g->investors++;
            continue;
        }
        g->investors_not_met += investor;
        add_figures(&g->sum, p->staff_headcount * p->holding_percent / 100.0,
                    pro_rata(p->annual_turnover_eur, p->holding_percent),
                    pro_rata(p->balance_sheet_total_eur, p->holding_percent));
        g->partners++;
    }
}

/* size_basis holds each of the six articles of the Recommendation that can
 * ground a size at most once: it cannot fill up. */
static void add_size_basis(eval_t *ev, const char *article)
{
    for (size_t i = 0; i < ev->n_size_basis; i++)
        if (strcmp(ev->size_basis[i], article) == 0)
            return;
    if (ev->n_size_basis < COUNT(ev->size_basis))
        ev->size_basis[ev->n_size_basis++] = article;
    else
        ev->oom = 1; /* a seventh article: a bug, failed loudly as an internal error */
}

static void group_reasons(eval_t *ev, const Bulwark__Scoping__V1__Size *s, const group_t *g,
                          int own_only)
{
    if (g->linked > 0 || g->majority > 0 || g->partners > 0)
        add_size_basis(ev, SME_ART_6_2);
    if (g->majority > 0)
        add_size_basis(ev, SME_ART_3_3);
    if (g->investors > 0)
        add_size_basis(ev, SME_ART_3_2);
    if (g->linked > 0)
        add_reason(ev, "SIZE_LINKED_ENTERPRISES", SME_ART_6_2,
                   "the figures of %zu linked enterprise(s) are added in full (100 %%)", g->linked);
    if (g->majority > 0)
        add_reason(ev, "SIZE_PARTNER_MAJORITY_IS_LINKED", SME_ART_3_3,
                   "%zu enterprise(s) listed as partners are held above 50 %%, a majority of the "
                   "voting rights, which makes the enterprises linked: their figures are added in "
                   "full (100 %%), not pro rata",
                   g->majority);
    if (g->partners > 0)
        add_reason(ev, "SIZE_PARTNER_ENTERPRISES", SME_ART_6_2,
                   "the figures of %zu partner enterprise(s) are added in proportion to the "
                   "holding (capital or voting rights, whichever is higher)",
                   g->partners);
    if (g->partners_below > 0)
        add_reason(ev, "SIZE_PARTNER_BELOW_25_PERCENT", SME_ART_3_2,
                   "%zu enterprise(s) listed as partners are held at less than 25 %%, which "
                   "leaves the enterprises autonomous: their figures are not added",
                   g->partners_below);
    if (g->investors > 0)
        add_reason(ev, "SIZE_INVESTOR_EXCEPTION", SME_ART_3_2,
                   "%zu holding(s) of 25 %% to 50 %% are an investor's of the kinds Annex Art 3(2) "
                   "lists (public investment corporations, venture capital companies, business "
                   "angels investing less than EUR 1,250,000 in all, universities and non-profit "
                   "research centres, institutional investors, autonomous local authorities with "
                   "a budget below EUR 10 million and fewer than 5,000 inhabitants): the entity "
                   "stays autonomous towards them and their figures are not added",
                   g->investors);
    if (g->investors_not_met > 0)
        add_reason(ev, "SIZE_INVESTOR_EXCEPTION_NOT_MET", SME_ART_3_2,
                   "%zu investor(s) named under investorException exceed the Annex Art 3(2) "
                   "thresholds (business angels: a total investment of EUR 1,250,000 or more; "
                   "local authorities: a budget of EUR 10 million or more, or 5,000 inhabitants or "
                   "more), so they count as partners and their figures are added pro rata",
                   g->investors_not_met);
    if (g->investors_majority > 0)
        add_reason(ev, "SIZE_INVESTOR_EXCEPTION_LINKED", SME_ART_3_2,
                   "%zu investor(s) named under investorException hold a majority, and the Annex "
                   "Art 3(2) exception holds only for investors not linked to the enterprise: "
                   "their figures are added in full",
                   g->investors_majority);
    if (own_only && (s->n_linked_enterprises > 0 || s->n_partner_enterprises > 0))
        add_reason(ev, "SIZE_INDEPENDENT_OF_GROUP", "NIS2 Recital 16",
                   "the Member State takes into account that the entity is independent of its "
                   "partner and linked enterprises in the network and information systems it uses "
                   "and the services it provides, so it is sized on its own figures; %zu linked "
                   "and %zu partner enterprise(s) are left out",
                   s->n_linked_enterprises, s->n_partner_enterprises);
}

/* The status the history of classes (oldest first) gives under Annex Art
 * 4(2): the oldest period's class is the established status, and it moves
 * only when two consecutive periods are both on the same side of it, then as
 * little as both periods allow (to the nearer of the two classes). */
static size_class_t status_over_history(const size_class_t *classes, size_t n)
{
    size_class_t status = classes[0];
    for (size_t i = 1; i < n; i++) {
        size_class_t a = classes[i - 1], b = classes[i];
        if (a > status && b > status)
            status = a < b ? a : b;
        else if (a < status && b < status)
            status = a > b ? a : b;
    }
    return status;
}

static void size_step(eval_t *ev)
{
    const Bulwark__Scoping__V1__Size *s = ev->facts->size;
    if (s == NULL) {
        ev->size = SIZE_NA;
        return;
    }
    int own_only = ev->ms->independent_of_group;
    group_t g;
    group_step(s, own_only, &g);
    bw_size_figures_t cur = {s->staff_headcount, s->annual_turnover_eur,
                             s->balance_sheet_total_eur};
    add_figures(&cur, g.sum.staff, g.sum.turnover_eur, g.sum.balance_eur);
    size_class_t size = bw_rules_size_class(&cur);
    add_size_basis(ev, SME_ART_2);
    group_reasons(ev, s, &g, own_only);
    if (s->public_body_controlled)
        add_reason_text(ev, "SIZE_PUBLIC_CONTROL_DISREGARDED", "NIS2 Art 2(1)",
                        "public bodies hold 25 % or more of the entity, which under "
                        "Recommendation 2003/361 Annex Art 3(4) would deny it SME status; NIS2 "
                        "Art 2(1) disapplies that rule, so the entity is sized on its figures "
                        "like any other");
    int grouped = g.linked + g.majority > 0 || g.partners > 0;
    const struct size_text *text = size_text(size);
    add_reason(ev, "SIZE_CLASS", SME_ART_2,
               "the %s period's figures%s: %.12g staff (annual work units), annual turnover EUR "
               "%lld, balance-sheet total EUR %lld make the entity %s (%s)",
               s->newly_established ? "estimated current" : "latest",
               grouped ? " with the figures of the group added" : "", cur.staff,
               (long long)cur.turnover_eur, (long long)cur.balance_eur, text->name, text->test);

    if (s->newly_established) {
        add_size_basis(ev, SME_ART_4_3);
        add_reason_text(ev, "SIZE_NEWLY_ESTABLISHED", SME_ART_4_3,
                        "a newly established enterprise without approved accounts is sized on "
                        "bona fide estimates made during the financial year; the two-period rule "
                        "does not apply");
        ev->size = size;
        return;
    }
    if (s->previous_period == NULL) {
        ev->size = size;
        return;
    }
    /* Oldest first: the earlier periods, the previous one, the latest. Each
     * period is sized with the same group (the facts hold one structure). */
    size_class_t classes[BW_SCOPING_MAX_EARLIER_PERIODS + 2];
    size_t n = 0;
    for (size_t i = 0; i < s->n_earlier_periods && n < BW_SCOPING_MAX_EARLIER_PERIODS; i++) {
        const Bulwark__Scoping__V1__SizeFigures *p = s->earlier_periods[i];
        bw_size_figures_t f = {p->staff_headcount, p->annual_turnover_eur,
                               p->balance_sheet_total_eur};
        add_figures(&f, g.sum.staff, g.sum.turnover_eur, g.sum.balance_eur);
        classes[n++] = bw_rules_size_class(&f);
    }
    const Bulwark__Scoping__V1__SizeFigures *p = s->previous_period;
    bw_size_figures_t prev = {p->staff_headcount, p->annual_turnover_eur,
                              p->balance_sheet_total_eur};
    add_figures(&prev, g.sum.staff, g.sum.turnover_eur, g.sum.balance_eur);
    classes[n++] = bw_rules_size_class(&prev);
    classes[n++] = size;
    size_class_t status = status_over_history(classes, n);
    if (status != size) {
        char history[BW_SCOPING_MAX_EARLIER_PERIODS * 16 + 48];
        size_t at = 0;
        for (size_t i = 0; i < n; i++)
            at += (size_t)snprintf(history + at, sizeof(history) - at, "%s%s", i > 0 ? ", " : "",
                                   size_text(classes[i])->name);
        add_size_basis(ev, SME_ART_4_2);
        add_reason(ev, "SIZE_TWO_PERIOD_RULE", SME_ART_4_2,
                   "the accounting periods, oldest first, make the entity %s; a status changes "
                   "only when a ceiling is crossed in two consecutive accounting periods (the "
                   "oldest period given is taken as the established status), so it stays %s",
                   history, size_text(status)->name);
    }
    ev->size = status;
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

static int no_activity_in_union(const eval_t *ev, int arg)
{
    (void)arg;
    return ev->ms->no_activity_in_union;
}

static int dora_exempted(const eval_t *ev, int arg)
{
    (void)arg;
    return ev->ms->dora_exempted;
}

/* Whether an activity of the facts is of a kind (before any exclusion). */
static int facts_have(const eval_t *ev, int (*pred)(const bw_catalogue_entry_t *))
{
    for (size_t i = 0; i < ev->facts->n_activities; i++) {
        const bw_catalogue_entry_t *t = bw_catalogue_find(ev->facts->activities[i]->entity_type);
        if (t != NULL && pred(t))
            return 1;
    }
    return 0;
}

/* A public administration entity: a level or a public_admin.* activity, and
 * not the judiciary, a parliament or a central bank (Art 6(35)). */
static int public_administration_entity(const eval_t *ev)
{
    return ev->pa->body == BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__BODY__BODY_UNSPECIFIED &&
           (ev->pa->level != 0 || facts_have(ev, bw_catalogue_is_public_admin));
}

/* Art 2(7) excludes public administration entities only. */
static int excluded_domain(const eval_t *ev, int domain)
{
    return (int)ev->pa->excluded_domain == domain && public_administration_entity(ev);
}

/* An excluded domain named for an entity that is no public administration:
 * Art 2(7) does not reach it; only its Member State can exempt it (Art 2(8)). */
static int domain_without_public_administration(const eval_t *ev, int arg)
{
    (void)arg;
    return ev->pa->excluded_domain != 0 && !public_administration_entity(ev);
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
    {"OUT_NO_ACTIVITY_IN_UNION", "NIS2 Art 2(1)", EXCLUDE_ENTITY, no_activity_in_union, 0,
     "NIS2 applies to entities that provide their services or carry out their activities within "
     "the Union, and this entity does neither"},
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
    {"EXCLUDED_DOMAIN_NOT_PUBLIC_ADMINISTRATION", "NIS2 Art 2(8)", 0,
     domain_without_public_administration, 0,
     "Art 2(7) excludes public administration entities only, and the facts name none (no "
     "publicAdministration.level or public_admin.* activity, or a court, parliament or central "
     "bank, Art 6(35)): publicAdministration.excludedDomain leaves the classification as it is. "
     "A Member State may exempt an entity active in that domain from Art 21 and 23, or wholly, "
     "under Art 2(8) (memberState.securityExemption)"},
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

/* Art 3(1)(f), (b), (d), (e), (g), (a), (c), then Art 3(2), 2(4), 2(5) and
 * the reasons why not, in this order; the first row that matches an
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

/* The Art 26(2) cascade for the main establishment in the Union, when the
 * facts do not name it: the first input given wins. */
static const struct cascade_step {
    size_t offset; /* of the string in member_state_t */
    const char *code;
    const char *message;
} main_establishment_cascade[] = {
    {offsetof(member_state_t, cybersecurity_decisions_in), "MAIN_ESTABLISHMENT_DECISIONS",
     "the main establishment is in the Member State where the decisions on the cybersecurity "
     "risk-management measures are predominantly taken (memberState.cybersecurityDecisionsIn)"},
    {offsetof(member_state_t, cyber_operations_in), "MAIN_ESTABLISHMENT_OPERATIONS",
     "where the decisions are not taken in the Union or the Member State cannot be determined, "
     "the main establishment is where the cybersecurity operations are carried out "
     "(memberState.cyberOperationsIn)"},
    {offsetof(member_state_t, largest_workforce_in), "MAIN_ESTABLISHMENT_WORKFORCE",
     "where neither can be determined, the main establishment is the establishment in the Union "
     "with the highest number of employees (memberState.largestWorkforceIn)"},
};

static char *cascade_value(const member_state_t *ms, size_t i)
{
    return *(char *const *)((const char *)ms + main_establishment_cascade[i].offset);
}

static void main_establishment_states(eval_t *ev, Bulwark__Scoping__V1__Jurisdiction *j)
{
    const member_state_t *ms = ev->ms;
    char *one[1];
    size_t step = COUNT(main_establishment_cascade);
    for (size_t i = 0;
         i < COUNT(main_establishment_cascade) && step == COUNT(main_establishment_cascade); i++)
        if (cascade_value(ms, i)[0] != '\0')
            step = i;
    ev->union_established = ms->main_establishment[0] != '\0' ||
                            step < COUNT(main_establishment_cascade) ||
                            ms->establishment[0] != '\0';
    if (ms->main_establishment[0] != '\0') {
        one[0] = ms->main_establishment;
        set_states(ev, j, one, 1);
        if (step < COUNT(main_establishment_cascade) &&
            strcmp(cascade_value(ms, step), ms->main_establishment) != 0)
            add_reason(ev, "MAIN_ESTABLISHMENT_DIFFERS_FROM_ART_26_2", "NIS2 Art 26(2)",
                       "memberState.mainEstablishment (%s) is taken as given, but the Art 26(2) "
                       "inputs point to %s; check which is right",
                       ms->main_establishment, cascade_value(ms, step));
    } else if (step < COUNT(main_establishment_cascade)) {
        one[0] = cascade_value(ms, step);
        set_states(ev, j, one, 1);
        add_reason_text(ev, main_establishment_cascade[step].code, "NIS2 Art 26(2)",
                        main_establishment_cascade[step].message);
    } else if (ms->establishment[0] != '\0') {
        one[0] = ms->establishment;
        set_states(ev, j, one, 1);
        add_reason_text(
            ev, "MAIN_ESTABLISHMENT_FROM_ESTABLISHMENT", "NIS2 Art 26(2)",
            "no main establishment was given, nor any Art 26(2) input; the Member State "
            "of establishment is taken as the main establishment");
    } else if (ms->representative[0] != '\0') {
        one[0] = ms->representative;
        set_states(ev, j, one, 1);
        ev->outside_union = 1;
        add_reason_text(ev, "NON_EU_REPRESENTATIVE", "NIS2 Art 26(3)",
                        "an entity not established in the Union falls under the jurisdiction of "
                        "the Member State where its designated representative is established");
        add_reason_text(ev, "REPRESENTATIVE_NO_SHIELD", "NIS2 Art 26(4)",
                        "designating a representative is without prejudice to legal action "
                        "against the entity itself");
    } else if (ms->n_services_in > 0) {
        set_states(ev, j, ms->services_in, ms->n_services_in);
        ev->needs_representative = ev->outside_union = 1;
        add_reason_text(ev, "NON_EU_REPRESENTATIVE_MISSING", "NIS2 Art 26(3)",
                        "an entity not established in the Union that offers services in it must "
                        "designate a representative established in one of the Member States "
                        "where it offers them; until it does, each of those Member States may "
                        "take legal action against it for infringing NIS2");
        add_reason_text(ev, "REPRESENTATIVE_NO_SHIELD", "NIS2 Art 26(4)",
                        "designating a representative will not shield the entity itself from "
                        "legal action");
    }
}

/* The order in which the Art 26 rules decide `jurisdiction` when the
 * in-scope activities follow several: a public administration entity is one
 * whatever else it does (26(1)(c)); then the exceptions of 26(1)(a) and (b),
 * which Art 26(1) applies to an entity that is such a provider; the
 * Member State of establishment only otherwise. */
static const Bulwark__Scoping__V1__Jurisdiction__Rule jurisdiction_order[] = {J_PA, J_SVC, J_MAIN,
                                                                              J_EST};

static int in_scope_candidate(const candidate_t *c)
{
    return !c->dropped && c->rule != NULL && c->rule->outcome != OUT_OF_SCOPE;
}

/* One Jurisdiction for rule: its Member States from the facts and the
 * in-scope activities that follow it, in catalogue order. */
static Bulwark__Scoping__V1__Jurisdiction *
jurisdiction_of(eval_t *ev, Bulwark__Scoping__V1__Jurisdiction__Rule rule)
{
    Bulwark__Scoping__V1__Jurisdiction *j = bw_arena_alloc(ev->arena, sizeof(*j));
    if (j == NULL) {
        ev->oom = 1;
        return NULL;
    }
    bulwark__scoping__v1__jurisdiction__init(j);
    j->rule = rule;
    for (size_t i = 0; i < COUNT(jurisdiction_texts); i++)
        if (jurisdiction_texts[i].rule == rule)
            add_reason_text(ev, jurisdiction_texts[i].code, jurisdiction_texts[i].article,
                            jurisdiction_texts[i].message);
    const member_state_t *ms = ev->ms;
    char *one[1];
    switch (rule) {
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
        add_reason(ev, "JURISDICTION_MEMBER_STATE_NOT_GIVEN", "NIS2 Art 26(1)",
                   "the facts name no Member State for the rule %s (memberState)", rule_name(rule));
    /* The activities under this rule, each type once, in catalogue order. */
    size_t n_types;
    const bw_catalogue_entry_t *entries = bw_catalogue_entries(&n_types);
    j->entity_types = bw_arena_calloc(ev->arena, ev->n_cands + 1, sizeof(*j->entity_types));
    if (j->entity_types == NULL) {
        ev->oom = 1;
        return j;
    }
    for (size_t t = 0; t < n_types; t++)
        for (size_t i = 1; i < ev->n_cands; i++) {
            const candidate_t *c = &ev->cands[i];
            if (c->type == &entries[t] && c->type->jurisdiction == rule && in_scope_candidate(c)) {
                j->entity_types[j->n_entity_types++] = (char *)c->type->code;
                break;
            }
        }
    return j;
}

/* `jurisdiction` and `jurisdictions`: one entry per Art 26 rule the in-scope
 * activities follow, in jurisdiction_order, whatever the order of the
 * activities; an entity in scope on entity-wide grounds only (CER, former
 * OES) is under its Member State of establishment. */
static void jurisdiction_step(eval_t *ev, Bulwark__Scoping__V1__Assessment *a)
{
    int present[COUNT(jurisdiction_order)] = {0};
    size_t n = 0;
    for (size_t r = 0; r < COUNT(jurisdiction_order); r++) {
        for (size_t i = 1; i < ev->n_cands && !present[r]; i++)
            present[r] = in_scope_candidate(&ev->cands[i]) &&
                         ev->cands[i].type->jurisdiction == jurisdiction_order[r];
        n += present[r];
    }
    if (n == 0) {
        present[COUNT(jurisdiction_order) - 1] = 1;
        n = 1;
    }
    a->jurisdictions = bw_arena_calloc(ev->arena, n, sizeof(*a->jurisdictions));
    if (a->jurisdictions == NULL) {
        ev->oom = 1;
        return;
    }
    for (size_t r = 0; r < COUNT(jurisdiction_order); r++) {
        if (!present[r])
            continue;
        Bulwark__Scoping__V1__Jurisdiction *j = jurisdiction_of(ev, jurisdiction_order[r]);
        if (j == NULL)
            return;
        a->jurisdictions[a->n_jurisdictions++] = j;
    }
    a->jurisdiction = a->jurisdictions[0];
    if (a->n_jurisdictions > 1) {
        char rules[96];
        size_t at = 0;
        for (size_t i = 0; i < a->n_jurisdictions; i++)
            at += (size_t)snprintf(rules + at, sizeof(rules) - at, "%s%s", i > 0 ? ", " : "",
                                   rule_name(a->jurisdictions[i]->rule));
        add_reason(ev, "JURISDICTION_SEVERAL_RULES", "NIS2 Art 26(1)",
                   "the in-scope activities follow %zu jurisdiction rules (%s); jurisdictions "
                   "lists each with its activities, and jurisdiction gives the first: an entity "
                   "that is a public administration entity or a provider named in Art 26(1)(a) "
                   "or (b) falls under that rule, the Member State of establishment applies only "
                   "otherwise",
                   a->n_jurisdictions, rules);
    }
}

/* Registration duties and obligations: each row applies when its test holds
 * for the entity's outcome and remaining activities. */
typedef struct duty_rule {
    const char *article;
    int (*applies)(const eval_t *ev, classification_t outcome);
    const char *summary;
    /* The Directive's own date for the entity, or "" when national law sets it. */
    const char *due_date;
    const char *deadline; /* the entity's deadline without a profile */
    const char *changes;
    /* The profile's answer for it, if any. */
    const Bulwark__Scoping__V1__MemberStateProfile__Registration *(*national)(
        const bw_profile_t *p);
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

static const Bulwark__Scoping__V1__MemberStateProfile__Registration *
national_registration(const bw_profile_t *p)
{
    return p->registration;
}

static const Bulwark__Scoping__V1__MemberStateProfile__Registration *
national_registry_registration(const bw_profile_t *p)
{
    return p->registry_registration;
}

static const duty_rule_t duty_rules[] = {
    {"NIS2 Art 3(4)", listed,
     "Submit to the competent authority, or through the Member State's self-registration "
     "mechanism, for its list of essential, important and domain-registration entities: name; "
     "address and up-to-date contact details, including e-mail addresses, IP ranges and "
     "telephone numbers; the Annex I or II sector and subsector, where applicable; the Member "
     "States where services within NIS2 are provided, where applicable.",
     "",
     "as national law sets it: Art 3(4) has the Member States require the entity to submit this "
     "information and sets no date of its own. 17 April 2025 is the Member States' date for "
     "their lists (Art 3(3)), not the entity's.",
     "without delay, and at the latest within two weeks of the change", national_registration},
    {"NIS2 Art 27(2)", registry,
     "Submit to the competent authority, for ENISA's registry: name; sector, subsector and "
     "entity type; address of the main establishment and other establishments in the Union or, "
     "if not established in the Union, of the representative; up-to-date contact details, "
     "including the representative's; the Member States where services are provided; IP ranges.",
     "2025-01-17",
     "by 17 January 2025 (Art 27(2)); an entity that starts such an activity later submits as "
     "national law sets it",
     "without delay, and at the latest within three months of the change (Art 27(3))",
     national_registry_registration},
};

typedef struct obligation_rule {
    const char *article;
    int (*applies)(const eval_t *ev, classification_t outcome);
    const char *summary;
    unsigned addenda;   /* ADD_* bits */
    unsigned authority; /* AUTH_* */
} obligation_rule_t;

enum {
    ADD_IR_MEASURES = 1u << 0,
    ADD_IR_INCIDENTS = 1u << 1,
    ADD_TSP_24H = 1u << 2,
    ADD_EXEMPTION = 1u << 3,
    ADD_NATIONAL_REPORTING = 1u << 4,
};

/* Whom an obligation answers to. */
enum { AUTH_NONE, AUTH_COMPETENT, AUTH_CSIRT, AUTH_DORA };

/* NIS2 Chapter IV and Art 28 apply to an essential or important entity
 * that DORA does not displace (Art 4). */
static int nis2_duties(const eval_t *ev, classification_t outcome)
{
    return (outcome == ESSENTIAL || outcome == IMPORTANT) && !ev->dora;
}

static int dora_duties(const eval_t *ev, classification_t outcome)
{
    (void)outcome;
    return ev->dora;
}

static int representative_missing(const eval_t *ev, classification_t outcome)
{
    return in_scope(outcome) && ev->needs_representative;
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
    {"NIS2 Art 20", nis2_duties,
     "The management body approves the cybersecurity risk-management measures, oversees their "
     "implementation and can be held liable for infringements; its members must follow "
     "training, and similar training for employees is encouraged.",
     0, AUTH_COMPETENT},
    {"NIS2 Art 21", nis2_duties,
     "Appropriate and proportionate technical, operational and organisational measures on an "
     "all-hazards basis, at least: risk analysis and security policies; incident handling; "
     "business continuity and crisis management; supply-chain security; security in "
     "acquisition, development and maintenance, including vulnerability handling; assessing "
     "the measures' effectiveness; cyber hygiene and training; cryptography and encryption; "
     "human-resources security, access control and asset management; multi-factor "
     "authentication and secured communications (Art 21(2)(a)-(j)).",
     ADD_IR_MEASURES | ADD_EXEMPTION, AUTH_COMPETENT},
    {"NIS2 Art 23", nis2_duties,
     "Notify the CSIRT or competent authority of every significant incident: an early warning "
     "within 24 hours of becoming aware, an incident notification within 72 hours, "
     "intermediate reports on request, a final report within one month of the notification; "
     "for an incident still ongoing then, a progress report at that time and the final report "
     "within one month of the end of its handling (Art 23(4)(e)); inform the recipients of the "
     "services where appropriate.",
     ADD_TSP_24H | ADD_IR_INCIDENTS | ADD_EXEMPTION | ADD_NATIONAL_REPORTING, AUTH_CSIRT},
    {"NIS2 Art 28", registration_data,
     "Collect and keep accurate and complete domain name registration data in a dedicated "
     "database; publish the policies and procedures for it; publish the non-personal "
     "registration data without undue delay after registration; answer lawful and duly "
     "substantiated access requests within 72 hours.",
     0, AUTH_COMPETENT},
    {"NIS2 Art 26(3)", representative_missing,
     "Designate a representative in the Union, established in one of the Member States where "
     "the services are offered; the entity then falls under that Member State's jurisdiction. "
     "Until it does, any Member State where it provides services may take legal action against "
     "it, and the designation will not shield the entity itself from legal action (Art 26(4)).",
     0, AUTH_NONE},
    /* NIS2 Art 4 and Recital 28: DORA's provisions apply instead of Art 20, 21 and 23. */
    {"DORA Art 5-16", dora_duties,
     "ICT risk management instead of NIS2 Art 20 and 21: the management body defines, approves, "
     "oversees and is accountable for the ICT risk-management framework and keeps its ICT "
     "knowledge up to date (DORA Art 5); a sound, comprehensive and documented framework (Art "
     "6) covering ICT systems, identification, protection and prevention, detection, response "
     "and recovery, backup, learning and communication (Art 7-14); the simplified framework of "
     "Art 16 for the entities it names.",
     0, AUTH_DORA},
    {"DORA Art 19", dora_duties,
     "Report every major ICT-related incident to the competent authority instead of NIS2 Art "
     "23: an initial notification, intermediate reports and a final report (DORA Art 19(4)). "
     "Under Delegated Regulation (EU) 2025/301 the initial notification is due within 4 hours "
     "of classifying the incident as major and at the latest 24 hours after becoming aware of "
     "it, the intermediate report within 72 hours of the initial notification, the final report "
     "within one month of the latest intermediate report. Inform affected clients without "
     "undue delay (Art 19(3)); classify incidents first (Art 17-18).",
     0, AUTH_DORA},
    {"DORA Art 24", dora_duties,
     "A digital operational resilience testing programme, other than for microenterprises (DORA "
     "Art 24-25), and threat-led penetration testing where the competent authority requires it "
     "(Art 26-27).",
     0, AUTH_DORA},
    {"DORA Art 28(3)", dora_duties,
     "Maintain and update, at entity, sub-consolidated and consolidated level, a register of "
     "information on every contractual arrangement for ICT services from ICT third-party "
     "service providers, distinguishing those that support critical or important functions, "
     "and report on it to the competent authority at least yearly.",
     0, AUTH_DORA},
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
    if (ev->profile_in_force)
        bits |= ADD_NATIONAL_REPORTING;
    return bits;
}

/* What the applied profile says about reporting, appended to Art 23. */
static char *national_reporting(eval_t *ev)
{
    const Bulwark__Scoping__V1__MemberStateProfile__Reporting *r = ev->profile->reporting;
    if (r->differs_from_directive)
        return bw_arena_printf(ev->arena,
                               " %s law (%s) sets other deadlines: early warning %d hours, "
                               "notification %d hours, final report %d month(s).",
                               ev->profile->name, r->provision, r->early_warning_hours,
                               r->notification_hours, r->final_report_months);
    return bw_arena_printf(ev->arena, " %s law (%s) keeps these deadlines.", ev->profile->name,
                           r->provision[0] != '\0' ? r->provision : ev->profile->law->short_title);
}

static char *with_addenda(eval_t *ev, const char *summary, unsigned bits)
{
    if (bits == 0)
        return (char *)summary;
    const char *national = (bits & ADD_NATIONAL_REPORTING) ? national_reporting(ev) : "";
    size_t len = strlen(summary) + (national != NULL ? strlen(national) : 0);
    for (size_t i = 0; i < COUNT(addenda); i++)
        if (bits & addenda[i].bit)
            len += strlen(addenda[i].text);
    char *text = bw_arena_alloc(ev->arena, len + 1);
    if (text == NULL || national == NULL) {
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
    memcpy(text + at, national, strlen(national));
    at += strlen(national);
    text[at] = '\0';
    return text;
}

/* DORA Art 46: the competent authority of each kind of financial entity. */
static const struct dora_authority {
    const char *type_code;
    const char *authority;
} dora_authorities[] = {
    {"banking.credit_institution",
     "for a credit institution, the competent authority designated under Art 4 of Directive "
     "2013/36/EU; a significant institution reports its major incidents through it to the ECB "
     "(DORA Art 19(1), Art 46)"},
    {"fmi.trading_venue_operator",
     "for a trading venue, the competent authority designated under Art 67 of Directive "
     "2014/65/EU (DORA Art 46)"},
    {"fmi.ccp",
     "for a central counterparty, the competent authority designated under Art 22 of Regulation "
     "(EU) No 648/2012 (DORA Art 46)"},
};

static char *dora_authority(eval_t *ev)
{
    char *text = "";
    for (size_t i = 0; i < COUNT(dora_authorities); i++) {
        int has = 0;
        for (size_t c = 1; c < ev->n_cands && !has; c++)
            has = ev->cands[c].type != NULL &&
                  strcmp(ev->cands[c].type->code, dora_authorities[i].type_code) == 0;
        if (has)
            text = bw_arena_printf(ev->arena, "%s%s%s", text, text[0] != '\0' ? "; " : "",
                                   dora_authorities[i].authority);
        if (text == NULL) {
            ev->oom = 1;
            return "";
        }
    }
    return text;
}

/* Records an answer of the applied profile, e.g. "registrationDuties[NIS2
 * Art 3(4)].deadline (BSIG § 33(1))". */
static void profile_answer(eval_t *ev, const char *path, const char *provision)
{
    if (ev->n_profile_answers >= 16)
        return;
    char *answer = provision != NULL && provision[0] != '\0'
                       ? bw_arena_printf(ev->arena, "%s (%s)", path, provision)
                       : bw_arena_strdup(ev->arena, path);
    if (answer == NULL) {
        ev->oom = 1;
        return;
    }
    ev->profile_answers[ev->n_profile_answers++] = answer;
}

static const char *obligation_authority(eval_t *ev, unsigned authority, const char *article)
{
    const bw_profile_t *p = ev->profile_in_force ? ev->profile : NULL;
    switch (authority) {
    case AUTH_DORA:
        return dora_authority(ev);
    case AUTH_COMPETENT:
        if (p == NULL)
            return "";
        profile_answer(ev, bw_arena_printf(ev->arena, "obligations[%s].authority", article),
                       p->competent_authority->provision);
        return p->competent_authority->name;
    case AUTH_CSIRT:
        if (p == NULL)
            return "";
        profile_answer(ev, bw_arena_printf(ev->arena, "obligations[%s].authority", article),
                       p->reporting->provision);
        return p->reporting->recipient;
    default:
        return "";
    }
}

static void registration_step(eval_t *ev, const duty_rule_t *r,
                              Bulwark__Scoping__V1__Assessment__RegistrationDuty *d)
{
    bulwark__scoping__v1__assessment__registration_duty__init(d);
    d->article = (char *)r->article;
    d->summary = (char *)r->summary;
    d->due_date = (char *)r->due_date;
    d->changes = (char *)r->changes;
    d->deadline = (char *)r->deadline;
    const Bulwark__Scoping__V1__MemberStateProfile__Registration *n =
        ev->profile_in_force ? r->national(ev->profile) : NULL;
    if (n == NULL) {
        if (ev->profile_in_force && r->due_date[0] == '\0')
            d->deadline = bw_arena_printf(ev->arena,
                                          "%s The %s profile gives no national rule "
                                          "for it.",
                                          r->deadline, ev->profile->code);
        return;
    }
    d->deadline = bw_arena_printf(ev->arena, "%s (%s, %s)", n->deadline,
                                  n->provision[0] != '\0' ? n->provision : "national law",
                                  ev->profile->law->short_title);
    d->due_date = n->due_date;
    if (n->changes[0] != '\0')
        d->changes = n->changes;
    d->authority = n->authority;
    d->portal = n->portal;
    profile_answer(ev,
                   bw_arena_printf(ev->arena,
                                   "registrationDuties[%s].deadline, authority and portal",
                                   r->article),
                   n->provision);
    if (d->deadline == NULL)
        ev->oom = 1;
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
        o->authority = (char *)obligation_authority(ev, r->authority, r->article);
        if (o->authority == NULL) {
            ev->oom = 1;
            o->authority = "";
        }
        a->obligations[a->n_obligations++] = o;
    }
    for (size_t i = 0; i < COUNT(duty_rules); i++) {
        const duty_rule_t *r = &duty_rules[i];
        if (!r->applies(ev, outcome))
            continue;
        Bulwark__Scoping__V1__Assessment__RegistrationDuty *d = &duties[a->n_registration_duties];
        registration_step(ev, r, d);
        a->registration_duties[a->n_registration_duties++] = d;
    }
}

static const char dora_note[] =
    "DORA (Regulation (EU) 2022/2554) is a sector-specific Union act for financial entities "
    "(NIS2 Art 4, Recital 28; DORA Art 1(2)): its ICT risk-management, incident-reporting, "
    "testing and third-party-risk provisions apply instead of NIS2 Art 20, 21 and 23, and DORA "
    "supervision and penalties instead of NIS2 Chapter VII (Art 32-34). The NIS2 "
    "classification is kept for the Member State's list (Art 3(3)) and registration (Art 3(4)).";

static const char dora_note_out_of_scope[] =
    "DORA (Regulation (EU) 2022/2554) applies to the entity as a financial entity whatever its "
    "size (DORA Art 2(1)), although NIS2 does not cover it: its ICT risk-management, "
    "incident-reporting, testing and third-party-risk provisions and DORA supervision apply.";

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

static int was_oes(const eval_t *ev)
{
    return ev->ms->former_oes;
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
    {"memberState.formerOes (NIS2 Art 3(1)(g))", was_oes},
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

/* ---- Member State profile -------------------------------------------- */

/* The article reasons about a national transposition cite. */
#define TRANSPOSITION "NIS2 Art 41"

/* One answer a profile can give to an input the facts leave unset. */
static const struct profile_option {
    const char *input; /* JSON path */
    const char *article;
    size_t option; /* offset of the Option in the profile */
    size_t flag;   /* offset of the bool in member_state_t */
    size_t needs;  /* offset of a bool that must be set too, or SIZE_MAX */
} profile_options[] = {
    {"memberState.coversLocalPublicAdministration", "NIS2 Art 2(5)(a)",
     offsetof(bw_profile_t, local_public_administration),
     offsetof(member_state_t, covers_local_public_administration), SIZE_MAX},
    {"memberState.coversEducation", "NIS2 Art 2(5)(b)", offsetof(bw_profile_t, education),
     offsetof(member_state_t, covers_education), SIZE_MAX},
    {"memberState.formerOesOptIn", "NIS2 Art 3(1)(g)", offsetof(bw_profile_t, former_oes_essential),
     offsetof(member_state_t, former_oes_opt_in), offsetof(member_state_t, former_oes)},
};

static protobuf_c_boolean *flag_at(member_state_t *ms, size_t offset)
{
    return (protobuf_c_boolean *)((char *)ms + offset);
}

static const char *answer_name(int answer)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &bulwark__scoping__v1__member_state_profile__answer__descriptor, answer);
    return v != NULL ? v->name : "?";
}

/* Applies the profile's answer to one input: YES sets an unset input; an
 * explicit input is kept, and a conflict said; any other answer is said
 * when the outcome may depend on it. */
static void apply_profile_option(eval_t *ev, const struct profile_option *o, int relevant)
{
    const Bulwark__Scoping__V1__MemberStateProfile__Option *opt =
        *(Bulwark__Scoping__V1__MemberStateProfile__Option *const *)((const char *)ev->profile +
                                                                     o->option);
    protobuf_c_boolean *flag = flag_at(&ev->ms_eff, o->flag);
    if (o->needs != SIZE_MAX && !*flag_at(&ev->ms_eff, o->needs))
        return;
    if (opt->answer == ANSWER(YES) && !*flag) {
        *flag = 1;
        profile_answer(ev, bw_arena_printf(ev->arena, "%s = true", o->input), opt->provision);
        add_reason(ev, "PROFILE_ANSWER", o->article,
                   "%s law answers this Member State option: %s is taken as true (%s)",
                   ev->profile->name, o->input,
                   opt->provision[0] != '\0' ? opt->provision : opt->note);
    } else if (opt->answer == ANSWER(NO) && *flag) {
        add_reason(ev, "PROFILE_CONFLICT", o->article,
                   "%s is set, but the %s profile answers NO (%s); the input given is kept",
                   o->input, ev->profile->code,
                   opt->provision[0] != '\0' ? opt->provision : opt->note);
    } else if (opt->answer != ANSWER(YES) && opt->answer != ANSWER(NO) && !*flag && relevant) {
        add_reason(ev, "PROFILE_OPEN_QUESTION", o->article,
                   "the %s profile answers %s for %s: %s Set %s if national law answers yes "
                   "for this entity",
                   ev->profile->code, answer_name(opt->answer), o->input, opt->note, o->input);
    } else if (opt->answer == ANSWER(NO) && relevant && o->needs != SIZE_MAX) {
        add_reason(ev, "PROFILE_ANSWER", o->article,
                   "%s law does not make former operators of essential services essential "
                   "(%s)",
                   ev->profile->name, opt->provision[0] != '\0' ? opt->provision : opt->note);
    }
}

/* Selects the profile (memberState.profile, else that of establishment),
 * and when its law is in force lets it answer the options the facts leave
 * unset. Sets ev->ms to the facts' block with those answers. */
static void profile_step(eval_t *ev)
{
    ev->ms_eff = ev->facts->member_state != NULL ? *ev->facts->member_state : no_member_state;
    ev->ms = &ev->ms_eff;
    const char *wanted = ev->ms_eff.profile;
    if (strcmp(wanted, "NONE") == 0) {
        add_reason_text(ev, "PROFILE_NONE", TRANSPOSITION,
                        "memberState.profile is NONE: only the EU baseline and the Member State "
                        "options given apply");
        return;
    }
    if (wanted[0] != '\0') {
        ev->profile = bw_profiles_find(ev->facts->profiles, wanted);
        ev->profile_selected_by = "memberState.profile";
    } else if (ev->ms_eff.establishment[0] != '\0') {
        ev->profile = bw_profiles_find(ev->facts->profiles, ev->ms_eff.establishment);
        ev->profile_selected_by = "memberState.establishment";
        if (ev->profile == NULL)
            add_reason(ev, "PROFILE_NOT_AVAILABLE", TRANSPOSITION,
                       "Bulwark has no profile of %s's transposition (profiles: %s): only the EU "
                       "baseline and the Member State options given apply",
                       ev->ms_eff.establishment, bw_profiles_codes(ev->facts->profiles));
    }
    if (ev->profile == NULL)
        return;
    const bw_profile_t *p = ev->profile;
    if (p->status != PROFILE_STATUS(IN_FORCE)) {
        add_reason(ev, "PROFILE_NOT_IN_FORCE", TRANSPOSITION,
                   "%s's transposition (%s) is %s, not law in force: the profile is shown but "
                   "answers nothing, and only the EU baseline and the Member State options "
                   "given apply",
                   p->name, p->law->short_title,
                   p->status == PROFILE_STATUS(BILL) ? "a bill" : "adopted but not yet in force");
        return;
    }
    ev->profile_in_force = 1;
    add_reason(ev, "PROFILE_APPLIED", TRANSPOSITION,
               "the %s profile (version %s, checked %s) applies: %s, %s, in force since %s; "
               "memberStateProfile.answers lists what it answered",
               p->code, p->version, p->checked_on, p->law->short_title,
               p->law->reference[0] != '\0' ? p->law->reference : "reference not given",
               p->law->in_force_from);
    int local = facts_have(ev, has_local_pa) ||
                ev->pa->level == BULWARK__SCOPING__V1__PUBLIC_ADMINISTRATION__LEVEL__LOCAL;
    int education = facts_have(ev, is_education);
    apply_profile_option(ev, &profile_options[0], local);
    apply_profile_option(ev, &profile_options[1], education);
    apply_profile_option(ev, &profile_options[2], 1);
}

static Bulwark__Scoping__V1__Assessment__AppliedProfile *applied_profile(eval_t *ev)
{
    const bw_profile_t *p = ev->profile;
    Bulwark__Scoping__V1__Assessment__AppliedProfile *ap = bw_arena_alloc(ev->arena, sizeof(*ap));
    if (ap == NULL) {
        ev->oom = 1;
        return NULL;
    }
    bulwark__scoping__v1__assessment__applied_profile__init(ap);
    ap->code = p->code;
    ap->version = p->version;
    ap->status = p->status;
    ap->law = p->law->reference[0] != '\0'
                  ? bw_arena_printf(ev->arena, "%s, %s", p->law->short_title, p->law->reference)
                  : p->law->short_title;
    ap->selected_by = (char *)ev->profile_selected_by;
    ap->answers = ev->profile_answers;
    ap->n_answers = ev->n_profile_answers;
    if (ap->law == NULL)
        ev->oom = 1;
    return ap;
}

/* ---- DORA (NIS2 Art 4, Recital 28) ------------------------------------- */

/* DORA applies to a financial entity of the facts: a credit institution the
 * Member State did not exempt (DORA Art 2(4)), a trading venue or a CCP,
 * active in the Union. */
static void dora_step(eval_t *ev)
{
    ev->dora =
        facts_have(ev, is_dora_type) && !ev->ms->dora_exempted && !ev->ms->no_activity_in_union;
}

/* ---- applicability: what the other services act on ----------------------- */

typedef Bulwark__Scoping__V1__Applicability__Provision provision_t;

/* NIS2 provisions other services scope their work by, and what DORA puts in
 * their place (NIS2 Art 4, Recital 28: DORA's risk-management, reporting and
 * supervision provisions instead of NIS2 Chapter IV and VII). */
static const struct provision_rule {
    const char *provision;
    const char *dora_instead; /* NULL: DORA does not displace it */
} provision_rules[] = {
    {"NIS2 Art 3(4)", NULL},
    {"NIS2 Art 20", "DORA Art 5"},
    {"NIS2 Art 21", "DORA Art 5-16"},
    {"NIS2 Art 23", "DORA Art 19"},
    {"NIS2 Art 24", "DORA Art 5-16"},
    {"NIS2 Art 26(3)", NULL},
    {"NIS2 Art 27", NULL},
    {"NIS2 Art 28", NULL},
    {"NIS2 Art 32", "DORA Art 46"},
};

static const char *class_word(classification_t outcome)
{
    return outcome == ESSENTIAL   ? "essential"
           : outcome == IMPORTANT ? "important"
           : outcome == DOMREG_ONLY
               ? "in scope for its domain name registration services only (NIS2 Art 2(4))"
               : "out of scope";
}

/* Whether the provision of rule binds the entity, and why. */
static void provision_applies(eval_t *ev, classification_t outcome,
                              const struct provision_rule *rule, provision_t *p)
{
    const char *art = rule->provision;
    int nis2_entity = outcome == ESSENTIAL || outcome == IMPORTANT;
    p->provision = (char *)art;
    p->displaced_by = "";
    if (!in_scope(outcome)) {
        p->reason = "the entity is out of scope of NIS2, so none of its duties bind it";
        return;
    }
    if (strcmp(art, "NIS2 Art 3(4)") == 0) {
        p->applies = 1;
        p->reason = bw_arena_printf(ev->arena,
                                    "the entity is %s, so it goes on the Member State's list and "
                                    "submits its registration data (NIS2 Art 3(3)-(4))",
                                    class_word(outcome));
    } else if (strcmp(art, "NIS2 Art 26(3)") == 0) {
        p->applies = ev->outside_union;
        p->reason =
            ev->outside_union
                ? (char *)(ev->needs_representative
                               ? "the entity provides an Art 26(1)(b) service in the Union "
                                 "without an establishment there, and has designated no "
                                 "representative yet"
                               : "the entity provides an Art 26(1)(b) service in the Union "
                                 "without an establishment there; memberState.representative "
                                 "names its representative")
            : ev->union_established
                ? "the facts establish the entity in the Union (memberState.establishment, "
                  "mainEstablishment or the Art 26(2) inputs)"
            : any_activity(ev, is_registry_type)
                ? "no memberState fact says that the entity has no establishment in the Union"
                : "Art 26(3) concerns the entity types of Art 26(1)(b) only, and the entity has "
                  "no such activity";
    } else if (strcmp(art, "NIS2 Art 27") == 0) {
        p->applies = registry(ev, outcome);
        p->reason = p->applies
                        ? "the entity has an activity of a type ENISA's registry lists (NIS2 "
                          "Art 27(1): the Art 26(1)(b) types)"
                        : "ENISA's registry lists DNS, TLD, domain registration, cloud, "
                          "data centre, CDN, managed (security) service providers, online "
                          "marketplaces, search engines and social networks (NIS2 Art "
                          "27(1)); the entity has no such activity";
    } else if (strcmp(art, "NIS2 Art 28") == 0) {
        p->applies = registration_data(ev, outcome);
        p->reason = p->applies ? "the entity is a TLD name registry or provides domain name "
                                 "registration services (NIS2 Art 28(1))"
                               : "Art 28 binds TLD name registries and entities providing domain "
                                 "name registration services only; the entity is neither";
    } else if (!nis2_entity) {
        p->reason = "an entity in scope only for its domain name registration services is neither "
                    "essential nor important (NIS2 Art 3), so Chapter IV and VII do not bind it";
    } else if (ev->dora) {
        p->displaced_by = (char *)rule->dora_instead;
        p->reason = bw_arena_printf(
            ev->arena,
            "DORA (Regulation (EU) 2022/2554) applies instead, as the sector-specific act of "
            "NIS2 Art 4 (Recital 28; DORA Art 1(2)): %s",
            rule->dora_instead);
    } else {
        p->applies = 1;
        p->reason =
            strcmp(art, "NIS2 Art 32") == 0
                ? (char *)(outcome == ESSENTIAL
                               ? "the entity is essential: ex ante and ex post "
                                 "supervision (NIS2 Art 32)"
                               : "the entity is important: ex post supervision (NIS2 Art "
                                 "33)")
                : bw_arena_printf(ev->arena, "the entity is %s (NIS2 Art 3)", class_word(outcome));
    }
    if (p->reason == NULL) {
        ev->oom = 1;
        p->reason = "";
    }
}

static Bulwark__Scoping__V1__Applicability *
applicability_of(eval_t *ev, classification_t outcome, const Bulwark__Scoping__V1__Assessment *a)
{
    Bulwark__Scoping__V1__Applicability *ap = bw_arena_alloc(ev->arena, sizeof(*ap));
    provision_t *items = bw_arena_calloc(ev->arena, COUNT(provision_rules), sizeof(*items));
    provision_t **ptrs = bw_arena_calloc(ev->arena, COUNT(provision_rules), sizeof(*ptrs));
    char **types = bw_arena_calloc(ev->arena, ev->n_cands + 1, sizeof(*types));
    if (ap == NULL || items == NULL || ptrs == NULL || types == NULL) {
        ev->oom = 1;
        return NULL;
    }
    bulwark__scoping__v1__applicability__init(ap);
    ap->classification = a->classification;
    ap->incident_regime = a->incident_regime;
    ap->dora_applies = a->dora_applies;
    ap->implementing_regulation_applies = a->implementing_regulation_applies;
    ap->ruleset_version = a->ruleset_version;
    for (size_t i = 0; i < ev->facts->n_activities; i++) {
        const Bulwark__Scoping__V1__Activity *act = ev->facts->activities[i];
        const bw_catalogue_entry_t *type = bw_catalogue_find(act->entity_type);
        if (act->qualified_trust_service || (type != NULL && bw_catalogue_is_tsp(type)))
            ap->trust_service_provider = 1;
    }
    /* The types in catalogue order, each once: every activity of an IR type
     * the exclusions and carve-outs left (as implementing_regulation_applies
     * counts them). */
    size_t n_entries;
    const bw_catalogue_entry_t *entries = bw_catalogue_entries(&n_entries);
    for (size_t t = 0; a->implementing_regulation_applies && t < n_entries; t++) {
        if (!is_ir_type(&entries[t]))
            continue;
        for (size_t i = 1; i < ev->n_cands; i++)
            if (ev->cands[i].type == &entries[t] && !ev->cands[i].dropped) {
                types[ap->n_implementing_regulation_types++] = (char *)entries[t].code;
                break;
            }
    }
    ap->implementing_regulation_types = types;
    for (size_t i = 0; i < COUNT(provision_rules); i++) {
        bulwark__scoping__v1__applicability__provision__init(&items[i]);
        provision_applies(ev, outcome, &provision_rules[i], &items[i]);
        ptrs[i] = &items[i];
    }
    ap->provisions = ptrs;
    ap->n_provisions = COUNT(provision_rules);
    return ap;
}

/* ---- the procedure ----------------------------------------------------- */

static int evaluate(bw_arena_t *arena, const bw_scoping_facts_t *facts,
                    Bulwark__Scoping__V1__Assessment **out,
                    Bulwark__Scoping__V1__Applicability **applicability)
{
    eval_t ev = {.arena = arena, .facts = facts};
    ev.pa = facts->public_administration != NULL ? facts->public_administration : &no_public_admin;
    ev.cap_reasons = 6 * facts->n_activities + 48;
    ev.reasons = bw_arena_calloc(arena, ev.cap_reasons, sizeof(*ev.reasons));
    ev.cap_basis = 8 * facts->n_activities + 24;
    ev.basis = bw_arena_calloc(arena, ev.cap_basis, sizeof(*ev.basis));
    ev.profile_answers = bw_arena_calloc(arena, 16, sizeof(*ev.profile_answers));
    Bulwark__Scoping__V1__Assessment *a = bw_arena_alloc(arena, sizeof(*a));
    if (ev.reasons == NULL || ev.basis == NULL || ev.profile_answers == NULL || a == NULL)
        return BW_ENOMEM;
    bulwark__scoping__v1__assessment__init(a);

    profile_step(&ev);
    exclusion_step(&ev);
    if (candidates_step(&ev) != 0)
        return BW_ENOMEM;
    size_step(&ev);
    dora_step(&ev);

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
    for (size_t i = 0; i < ev.n_cands; i++)
        if (ev.cands[i].rule != NULL && ev.cands[i].rule->outcome == outcome)
            add_candidate_basis(&ev, &ev.cands[i]);
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
    int nis2_entity = outcome == ESSENTIAL || outcome == IMPORTANT;
    const struct consequence *k = consequence_of(outcome);
    if (ev.dora) {
        /* NIS2 Art 4: DORA's supervision and penalties, not Chapter VII. */
        a->supervision = DORA_SUPERVISION;
        a->dora_note = (char *)(nis2_entity ? dora_note : dora_note_out_of_scope);
        add_reason_text(&ev, nis2_entity ? "DORA_LEX_SPECIALIS" : "DORA_APPLIES",
                        nis2_entity ? "NIS2 Art 4" : "DORA Art 2(1)", a->dora_note);
        add_reason(&ev, "SUPERVISION_DORA", "DORA Art 46",
                   "the entity is supervised under DORA, not under NIS2 Art 32 or 33: %s",
                   dora_authority(&ev));
        if (nis2_entity)
            add_reason_text(&ev, "FINE_DORA", "DORA Art 50",
                            "no NIS2 fine ceiling: NIS2 Art 34 gives way to DORA (NIS2 Art 4), "
                            "whose Art 50 leaves the administrative penalties for DORA breaches "
                            "to national law and sets no minimum ceiling");
    } else {
        a->supervision = k != NULL ? k->supervision : NO_SUPERVISION;
        if (k != NULL)
            add_reason_text(
                &ev, k->supervision == EX_ANTE ? "SUPERVISION_EX_ANTE" : "SUPERVISION_EX_POST",
                k->supervision_article, k->supervision_message);
        a->max_fine = fine_step(&ev, outcome);
    }
    if (in_scope(outcome)) {
        jurisdiction_step(&ev, a);
        if (ev.profile_in_force && a->jurisdiction != NULL &&
            a->jurisdiction->n_member_states > 0) {
            int covered = 0;
            for (size_t i = 0; i < a->jurisdiction->n_member_states; i++)
                covered |= strcmp(a->jurisdiction->member_states[i], ev.profile->code) == 0;
            if (!covered)
                add_reason(&ev, "PROFILE_NOT_OF_JURISDICTION", "NIS2 Art 26(1)",
                           "the %s profile was applied (%s), but %s has jurisdiction: set "
                           "memberState.profile to apply that Member State's law",
                           ev.profile->code, ev.profile_selected_by,
                           a->jurisdiction->member_states[0]);
        }
    }
    a->implementing_regulation_applies = nis2_entity && !ev.dora && any_activity(&ev, is_ir_type);
    obligations_step(&ev, outcome, a);
    a->dora_applies = ev.dora;
    a->incident_regime = ev.dora ? REGIME_DORA : nis2_entity ? REGIME_NIS2 : REGIME_NONE;
    if (ev.profile != NULL)
        a->member_state_profile = applied_profile(&ev);
    member_state_options_step(&ev, a);
    a->ruleset_version = BW_SCOPING_RULESET_VERSION;
    a->reasons = ev.reasons;
    a->n_reasons = ev.n_reasons;
    a->basis = ev.basis;
    a->n_basis = ev.n_basis;
    if (applicability != NULL)
        *applicability = applicability_of(&ev, outcome, a);
    if (ev.oom)
        return BW_ENOMEM;
    *out = a;
    return 0;
}

int bw_rules_assess(bw_arena_t *arena, const bw_scoping_facts_t *facts,
                    Bulwark__Scoping__V1__Assessment **out)
{
    return evaluate(arena, facts, out, NULL);
}

int bw_rules_applicability(bw_arena_t *arena, const bw_scoping_facts_t *facts,
                           Bulwark__Scoping__V1__Applicability **out)
{
    Bulwark__Scoping__V1__Assessment *assessment;
    return evaluate(arena, facts, &assessment, out);
}
