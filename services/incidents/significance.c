/*
 * The significant-incident criteria of Implementing Regulation (EU)
 * 2024/2690 (CELEX 32024R2690), for the relevant entities of its Art 1, and
 * of NIS2 Art 23(3) for every other entity type. Each criterion is one check
 * that, when met, adds a Criterion with a stable code ("IR.7.b",
 * "NIS2.23.3.a"), its article and a sentence with the figures that met it.
 * "5 %/1M" thresholds compare with the smaller of the share of the Union
 * users and the absolute number, as the Regulation says ("whichever number
 * is smaller"); a threshold is exceeded only when the figure is strictly
 * above it ("more than"). The Art 23(3) answer is three-valued: a criterion
 * met makes the incident significant, all of them answered no make it not
 * significant, anything else leaves it undetermined, with the fields that
 * would decide it. README.md states the rules and the interpretations.
 */
#include "significance.h"

#include "handlers.h"
#include "service.h"
#include "status.h"

#include <string.h>

#define MAX_EUR INT64_C(1000000000000000) /* 10^15 */
#define MAX_USERS INT64_C(10000000000)    /* 10^10 */
#define MAX_TYPE_LEN 100
#define MINUTES_PER_WEEK (7 * 24 * 60)
#define FINANCIAL_CAP_EUR INT64_C(500000)

#define ANSWER(x) BULWARK__INCIDENTS__V1__ASSESS_SIGNIFICANCE_REQUEST__ANSWER__##x
#define OUTCOME(x) BULWARK__INCIDENTS__V1__SIGNIFICANCE_ASSESSMENT__OUTCOME__##x

typedef Bulwark__Incidents__V1__SignificanceAssessment assessment_t;
typedef Bulwark__Incidents__V1__SignificanceAssessment__Criterion criterion_t;
typedef Bulwark__Incidents__V1__ServiceImpact impact_t;
typedef Bulwark__Incidents__V1__AssessSignificanceRequest request_t;

/* ---- validation ---------------------------------------------------------- */

static int well_formed_type(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_TYPE_LEN || s[0] == '.' || s[n - 1] == '.' || strchr(s, '.') == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '.'))
            return 0;
    return 1;
}

static int check_range(bw_call_t *call, const char *field, int64_t v, int64_t max)
{
    if (v < 0)
        return bw_call_violation(call, field, "must not be negative") != 0;
    if (v > max)
        return bw_call_violation(call, field, "must be at most %lld", (long long)max) != 0;
    return 0;
}

static int check_users(bw_call_t *call, const char *field, int64_t v, int64_t union_users)
{
    if (check_range(call, field, v, MAX_USERS))
        return 1;
    if (union_users > 0 && v > union_users)
        return bw_call_violation(call, field, "is more than impact.usersInUnion (%lld)",
                                 (long long)union_users) != 0;
    return 0;
}

static int check_impact(bw_call_t *call, const impact_t *m)
{
    int bad = check_range(call, "impact.usersInUnion", m->users_in_union, MAX_USERS);
    int64_t u = m->users_in_union;
    bad |= check_range(call, "impact.completeUnavailabilityMinutes",
                       m->complete_unavailability_minutes, INT32_MAX);
    bad |=
        check_users(call, "impact.completelyUnavailableUsers", m->completely_unavailable_users, u);
    bad |= check_range(call, "impact.weeklyUnavailabilityMinutes", m->weekly_unavailability_minutes,
                       MINUTES_PER_WEEK);
    bad |= check_range(call, "impact.limitedAvailabilityMinutes", m->limited_availability_minutes,
                       INT32_MAX);
    bad |= check_users(call, "impact.limitedAvailabilityUsers", m->limited_availability_users, u);
    bad |= check_range(call, "impact.slowResponseMinutes", m->slow_response_minutes, INT32_MAX);
    bad |= check_users(call, "impact.icaAffectedUsers", m->ica_affected_users, u);
    bad |= check_range(call, "impact.incorrectDomainNames", m->incorrect_domain_names, MAX_USERS);
    bad |= check_range(call, "impact.managedDomainNames", m->managed_domain_names, MAX_USERS);
    if (m->managed_domain_names > 0 && m->incorrect_domain_names > m->managed_domain_names)
        bad |= bw_call_violation(call, "impact.incorrectDomainNames",
                                 "is more than impact.managedDomainNames (%lld)",
                                 (long long)m->managed_domain_names) != 0;
    return bad;
}

static int check_answer(bw_call_t *call, const char *field, int answer)
{
    if (answer == ANSWER(ANSWER_UNSPECIFIED) || answer == ANSWER(YES) || answer == ANSWER(NO))
        return 0;
    return bw_call_violation(call, field, "must be YES or NO") != 0;
}

int bw_significance_validate(bw_call_t *call, const request_t *req)
{
    int bad = 0;
    bad |= check_answer(call, "severeOperationalDisruption", req->severe_operational_disruption);
    bad |= check_answer(call, "considerableDamageToOthers", req->considerable_damage_to_others);
    if (req->n_entity_types > BW_SIGNIFICANCE_MAX_TYPES)
        bad |= bw_call_violation(call, "entityTypes", "has more than %d entries",
                                 BW_SIGNIFICANCE_MAX_TYPES) != 0;
    for (size_t i = 0; i < req->n_entity_types && i < BW_SIGNIFICANCE_MAX_TYPES; i++)
        if (!well_formed_type(req->entity_types[i]))
            bad |= bw_call_violation(call, bw_arena_printf(call->arena, "entityTypes[%zu]", i),
                                     "must be an entity-type code such as "
                                     "\"digital_infra.cloud\"") != 0;
    bad |= check_range(call, "financialLossEur", req->financial_loss_eur, MAX_EUR);
    bad |= check_range(call, "annualTurnoverEur", req->annual_turnover_eur, MAX_EUR);
    if (req->recurrence != NULL) {
        bad |= check_range(call, "recurrence.incidentsInSixMonths",
                           req->recurrence->incidents_in_six_months, 100000);
        bad |= check_range(call, "recurrence.combinedFinancialLossEur",
                           req->recurrence->combined_financial_loss_eur, MAX_EUR);
    }
    if (req->impact != NULL)
        bad |= check_impact(call, req->impact);
    return bad ? BW_EINVAL : 0;
}

/* ---- assessment ---------------------------------------------------------- */

typedef struct assess {
    bw_arena_t *arena;
    assessment_t *out;
    size_t cap_criteria, cap_notes, cap_missing;
    int failed; /* out of memory */
    int user_threshold_used;
    int guidance; /* IR Art 3 for an entity it does not cover: notes, not criteria */
} assess_t;

static void note(assess_t *a, const char *text)
{
    if (a->failed || text == NULL) {
        a->failed = 1;
        return;
    }
    for (size_t i = 0; i < a->out->n_notes; i++)
        if (strcmp(a->out->notes[i], text) == 0)
            return;
    if (a->out->n_notes == a->cap_notes) {
        size_t cap = a->cap_notes ? 2 * a->cap_notes : 8;
        char **grown = bw_arena_calloc(a->arena, cap, sizeof(*grown));
        if (grown == NULL) {
            a->failed = 1;
            return;
        }
        if (a->out->n_notes)
            memcpy(grown, a->out->notes, a->out->n_notes * sizeof(*grown));
        a->out->notes = grown;
        a->cap_notes = cap;
    }
    a->out->notes[a->out->n_notes++] = (char *)text;
}

static void missing(assess_t *a, const char *field)
{
    if (a->failed)
        return;
    if (a->out->n_missing_facts == a->cap_missing) {
        size_t cap = a->cap_missing ? 2 * a->cap_missing : 4;
        char **grown = bw_arena_calloc(a->arena, cap, sizeof(*grown));
        if (grown == NULL) {
            a->failed = 1;
            return;
        }
        if (a->out->n_missing_facts)
            memcpy(grown, a->out->missing_facts, a->out->n_missing_facts * sizeof(*grown));
        a->out->missing_facts = grown;
        a->cap_missing = cap;
    }
    a->out->missing_facts[a->out->n_missing_facts++] = (char *)field;
}

/* Adds a met criterion: code, article, entity type (NULL: none), message. */
static void add_criterion(assess_t *a, const char *code, const char *article,
                          const char *entity_type, const char *message)
{
    criterion_t *c = bw_arena_alloc(a->arena, sizeof(*c));
    if (a->failed || c == NULL || message == NULL || code == NULL || article == NULL) {
        a->failed = 1;
        return;
    }
    bulwark__incidents__v1__significance_assessment__criterion__init(c);
    c->code = (char *)code;
    c->article = (char *)article;
    c->entity_type = (char *)(entity_type != NULL ? entity_type : "");
    c->message = (char *)message;
    if (a->out->n_criteria == a->cap_criteria) {
        size_t cap = a->cap_criteria ? 2 * a->cap_criteria : 8;
        criterion_t **grown = bw_arena_calloc(a->arena, cap, sizeof(*grown));
        if (grown == NULL) {
            a->failed = 1;
            return;
        }
        if (a->out->n_criteria)
            memcpy(grown, a->out->criteria, a->out->n_criteria * sizeof(*grown));
        a->out->criteria = grown;
        a->cap_criteria = cap;
    }
    a->out->criteria[a->out->n_criteria++] = c;
}

/* An IR 2024/2690 criterion met; for an entity type the Regulation does not
 * cover, a note that it would be met (guidance). */
static void fire(assess_t *a, int article, const char *point, const char *entity_type,
                 const char *message)
{
    const char *where = article == 3
                            ? bw_arena_printf(a->arena, "IR 2024/2690 Art 3(1)(%s)%s", point + 2,
                                              strcmp(point, "1.f") == 0 ? " and Art 4" : "")
                            : bw_arena_printf(a->arena, "IR 2024/2690 Art %d(%s)", article, point);
    if (a->guidance) {
        note(a, bw_arena_printf(a->arena, "guidance only: %s would be met (%s)", where,
                                message != NULL ? message : ""));
        return;
    }
    add_criterion(a, bw_arena_printf(a->arena, "IR.%d.%s", article, point), where, entity_type,
                  message);
}

/* The Art 3(1)(a) threshold: EUR 500 000 or 5 % of the turnover, whichever
 * is lower; the cap alone when the turnover is not known. */
static int64_t financial_threshold(int64_t turnover)
{
    if (turnover <= 0)
        return FINANCIAL_CAP_EUR;
    int64_t share = turnover / 20; /* 5 %, rounded down */
    return share < FINANCIAL_CAP_EUR ? share : FINANCIAL_CAP_EUR;
}

/* Whether loss exceeds the threshold; exact for turnovers not divisible by 20. */
static int financial_exceeds(int64_t loss, int64_t turnover)
{
    if (loss > FINANCIAL_CAP_EUR)
        return 1;
    return turnover > 0 && loss * 20 > turnover;
}

static void general_criteria(assess_t *a, const request_t *r)
{
    bw_arena_t *ar = a->arena;
    if (financial_exceeds(r->financial_loss_eur, r->annual_turnover_eur))
        fire(a, 3, "1.a", NULL,
             bw_arena_printf(ar,
                             "a direct financial loss of EUR %lld exceeds EUR %lld, the lower of "
                             "EUR 500 000 and 5 %% of the annual turnover",
                             (long long)r->financial_loss_eur,
                             (long long)financial_threshold(r->annual_turnover_eur)));
    if (r->annual_turnover_eur == 0 && r->financial_loss_eur > 0)
        note(a, "annualTurnoverEur not given: only the EUR 500 000 threshold of Art 3(1)(a) "
                "was applied");
    if (r->trade_secrets_exfiltrated)
        fire(a, 3, "1.b", NULL,
             "trade secrets (Directive 2016/943 Art 2(1)) were or may have been exfiltrated");
    if (r->death)
        fire(a, 3, "1.c", NULL, "the incident caused or may cause the death of a natural person");
    if (r->considerable_health_damage)
        fire(a, 3, "1.d", NULL,
             "the incident caused or may cause considerable damage to a natural person's health");
    if (r->malicious_unauthorised_access)
        fire(a, 3, "1.e", NULL,
             "a successful, suspectedly malicious and unauthorised access to network and "
             "information systems could cause severe operational disruption");
    const Bulwark__Incidents__V1__Recurrence *rec = r->recurrence;
    if (rec != NULL && rec->incidents_in_six_months >= 2 && rec->same_apparent_root_cause &&
        financial_exceeds(rec->combined_financial_loss_eur, r->annual_turnover_eur))
        fire(a, 3, "1.f", NULL,
             bw_arena_printf(ar,
                             "%d incidents within six months with the same apparent root cause "
                             "caused together a loss of EUR %lld, above EUR %lld",
                             rec->incidents_in_six_months,
                             (long long)rec->combined_financial_loss_eur,
                             (long long)financial_threshold(r->annual_turnover_eur)));
}

/* users > min(num/den of the Union's users, absolute); the absolute number
 * alone when the Union's users are not known. */
static int users_over(assess_t *a, int64_t users, int64_t union_users, int64_t num, int64_t den,
                      int64_t absolute)
{
    a->user_threshold_used = 1;
    if (users > absolute)
        return 1;
    return union_users > 0 && users * den > union_users * num;
}

static const char *share_text(int64_t num, int64_t den)
{
    if (num == 5 && den == 100)
        return "5 %";
    if (num == 1 && den == 100)
        return "1 %";
    return "0.1 %";
}

static const char *users_msg(assess_t *a, const char *what, int64_t users, int64_t num, int64_t den,
                             int64_t absolute)
{
    return bw_arena_printf(a->arena,
                           "%s for %lld users, more than %s of the users in the Union or %lld, "
                           "whichever is smaller",
                           what, (long long)users, share_text(num, den), (long long)absolute);
}

/* Art 5 and 6: DNS service providers and TLD name registries. */
static void dns_criteria(assess_t *a, int art, const char *type, const impact_t *m, int avail)
{
    int complete =
        art == 5 ? m->complete_unavailability_minutes > 30 : m->complete_unavailability_minutes > 0;
    if (avail && complete)
        fire(a, art, "a", type,
             bw_arena_printf(a->arena, "%s was completely unavailable for %d minutes%s",
                             art == 5 ? "recursive or authoritative domain name resolution"
                                      : "authoritative domain name resolution",
                             m->complete_unavailability_minutes, art == 5 ? ", more than 30" : ""));
    if (avail && m->slow_response_minutes > 60)
        fire(a, art, "b", type,
             bw_arena_printf(a->arena,
                             "the average response time to DNS requests exceeded 10 seconds for "
                             "%d minutes, more than one hour",
                             m->slow_response_minutes));
    if (!m->ica_compromised)
        return;
    if (art == 6) {
        fire(a, 6, "c", type,
             "the integrity, confidentiality or authenticity of data related to the technical "
             "operation of the top-level domain was compromised");
        return;
    }
    if (m->dns_misconfiguration && m->managed_domain_names == 0)
        note(a, "impact.managedDomainNames not given: the misconfiguration exception of Art 5(c) "
                "could not be applied");
    int excepted = m->dns_misconfiguration && m->managed_domain_names > 0 &&
                   m->incorrect_domain_names < 1000 &&
                   m->incorrect_domain_names * 100 <= m->managed_domain_names;
    if (excepted)
        note(a, "Art 5(c) does not apply: a misconfiguration made fewer than 1 000 domain names, "
                "and no more than 1 % of those managed, incorrect");
    else
        fire(a, 5, "c", type,
             "the integrity, confidentiality or authenticity of data stored, transmitted or "
             "processed for authoritative domain name resolution was compromised");
}

static void ica_malicious(assess_t *a, int art, const char *type, const impact_t *m)
{
    if (m->ica_compromised && m->ica_suspected_malicious)
        fire(a, art, "c", type,
             "the integrity, confidentiality or authenticity of data stored, transmitted or "
             "processed, or of the services offered, was compromised through a suspectedly "
             "malicious action");
}

static void ica_users(assess_t *a, int art, const char *point, const char *type, const impact_t *m,
                      int64_t num, int64_t den, int64_t absolute)
{
    if (m->ica_compromised &&
        users_over(a, m->ica_affected_users, m->users_in_union, num, den, absolute))
        fire(a, art, point, type,
             users_msg(a, "the integrity, confidentiality or authenticity of data was compromised",
                       m->ica_affected_users, num, den, absolute));
}

/* Art 7, 9 and 10: cloud computing, CDN, managed (security) service providers. */
static void service_criteria(assess_t *a, int art, const char *type, const impact_t *m, int avail)
{
    if (avail && m->complete_unavailability_minutes > 30)
        fire(a, art, "a", type,
             bw_arena_printf(a->arena,
                             "the service was completely unavailable for %d minutes, more than 30",
                             m->complete_unavailability_minutes));
    if (avail && m->limited_availability_minutes > 60 &&
        users_over(a, m->limited_availability_users, m->users_in_union, 5, 100, 1000000))
        fire(a, art, "b", type,
             users_msg(a,
                       bw_arena_printf(a->arena, "availability was limited for %d minutes",
                                       m->limited_availability_minutes),
                       m->limited_availability_users, 5, 100, 1000000));
    ica_malicious(a, art, type, m);
    ica_users(a, art, "d", type, m, 5, 100, 1000000);
}

/* Art 8: data centre service providers. */
static void data_centre_criteria(assess_t *a, const char *type, const impact_t *m, int avail)
{
    if (avail && m->complete_unavailability_minutes > 0)
        fire(a, 8, "a", type,
             bw_arena_printf(a->arena,
                             "a data centre service of a data centre the provider operates was "
                             "completely unavailable (%d minutes)",
                             m->complete_unavailability_minutes));
    if (avail && m->limited_availability_minutes > 60)
        fire(a, 8, "b", type,
             bw_arena_printf(a->arena,
                             "the availability of a data centre service was limited for %d "
                             "minutes, more than one hour",
                             m->limited_availability_minutes));
    ica_malicious(a, 8, type, m);
    if (m->physical_access_compromised)
        fire(a, 8, "d", type,
             "physical access to a data centre the provider operates was compromised");
}

/* Art 11-13: online marketplaces, search engines, social networks. */
static void platform_criteria(assess_t *a, int art, const char *type, const impact_t *m, int avail)
{
    if (avail && users_over(a, m->completely_unavailable_users, m->users_in_union, 5, 100, 1000000))
        fire(a, art, "a", type,
             users_msg(a, "the service was completely unavailable", m->completely_unavailable_users,
                       5, 100, 1000000));
    if (avail && users_over(a, m->limited_availability_users, m->users_in_union, 5, 100, 1000000))
        fire(a, art, "b", type,
             users_msg(a, "availability was limited", m->limited_availability_users, 5, 100,
                       1000000));
    ica_malicious(a, art, type, m);
    ica_users(a, art, "d", type, m, 5, 100, 1000000);
}

/* Art 14: trust service providers. */
static void trust_criteria(assess_t *a, const char *type, const impact_t *m, int avail)
{
    if (avail && m->complete_unavailability_minutes > 20)
        fire(a, 14, "a", type,
             bw_arena_printf(a->arena,
                             "the trust service was completely unavailable for %d minutes, more "
                             "than 20",
                             m->complete_unavailability_minutes));
    if (avail && m->weekly_unavailability_minutes > 60)
        fire(a, 14, "b", type,
             bw_arena_printf(a->arena,
                             "the trust service was unavailable to users or relying parties for "
                             "%d minutes in the calendar week, more than one hour",
                             m->weekly_unavailability_minutes));
    if (avail && users_over(a, m->limited_availability_users, m->users_in_union, 1, 100, 200000))
        fire(a, 14, "c", type,
             users_msg(a, "availability of the trust service was limited",
                       m->limited_availability_users, 1, 100, 200000));
    if (m->physical_access_compromised)
        fire(a, 14, "d", type,
             "physical access to an area restricted to trusted personnel, where network and "
             "information systems are located, or the protection of that access, was "
             "compromised");
    ica_users(a, 14, "e", type, m, 1, 1000, 100);
}

static void entity_criteria(assess_t *a, int art, const char *type, const impact_t *m, int avail)
{
    switch (art) {
    case 5:
    case 6:
        dns_criteria(a, art, type, m, avail);
        break;
    case 7:
    case 9:
    case 10:
        service_criteria(a, art, type, m, avail);
        break;
    case 8:
        data_centre_criteria(a, type, m, avail);
        break;
    case 14:
        trust_criteria(a, type, m, avail);
        break;
    default:
        platform_criteria(a, art, type, m, avail);
        break;
    }
}

static int seen_before(const request_t *r, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(r->entity_types[k], r->entity_types[i]) == 0)
            return 1;
    return 0;
}

/* A three-valued answer. */
enum { UNKNOWN, YES, NO };

static int answer_of(int answer)
{
    return answer == ANSWER(YES) ? YES : answer == ANSWER(NO) ? NO : UNKNOWN;
}

/* NIS2 Art 23(3) for the entity types IR 2024/2690 does not cover: (a)
 * severe operational disruption of the services or financial loss for the
 * entity, (b) considerable material or non-material damage to other natural
 * or legal persons, each caused or capable of being caused. The financial
 * loss is weighed with the figure of IR Art 3(1)(a), the only one the Union
 * has set (an interpretation, noted); the facts IR Art 3(1)(c)-(e) name
 * answer Art 23(3) too (a death or considerable damage to health is
 * considerable damage to a natural person; a malicious access capable of
 * severe operational disruption is capable of it). Returns YES, NO or
 * UNKNOWN. */
static int art_23_3(assess_t *a, const request_t *r)
{
    bw_arena_t *ar = a->arena;
    int severe = answer_of(r->severe_operational_disruption);
    int damage = answer_of(r->considerable_damage_to_others);
    int finance =
        r->financial_loss_eur > FINANCIAL_CAP_EUR ? YES
        : r->annual_turnover_eur > 0
            ? (financial_exceeds(r->financial_loss_eur, r->annual_turnover_eur) ? YES : NO)
            : UNKNOWN;
    if (severe == YES)
        add_criterion(a, "NIS2.23.3.a", "NIS2 Art 23(3)(a)", NULL,
                      "the incident has caused or is capable of causing severe operational "
                      "disruption of the services");
    if (r->malicious_unauthorised_access)
        add_criterion(a, "NIS2.23.3.a", "NIS2 Art 23(3)(a)", NULL,
                      "a successful, suspectedly malicious and unauthorised access to network and "
                      "information systems is capable of causing severe operational disruption");
    if (finance == YES)
        add_criterion(a, "NIS2.23.3.a", "NIS2 Art 23(3)(a)", NULL,
                      bw_arena_printf(ar,
                                      "a financial loss for the entity of EUR %lld exceeds EUR "
                                      "%lld, the lower of EUR 500 000 and 5 %% of the annual "
                                      "turnover",
                                      (long long)r->financial_loss_eur,
                                      (long long)financial_threshold(r->annual_turnover_eur)));
    if (damage == YES)
        add_criterion(a, "NIS2.23.3.b", "NIS2 Art 23(3)(b)", NULL,
                      "the incident has affected or is capable of affecting other natural or "
                      "legal persons by causing considerable material or non-material damage");
    if (r->death || r->considerable_health_damage)
        add_criterion(a, "NIS2.23.3.b", "NIS2 Art 23(3)(b)", NULL,
                      r->death ? "the incident caused or may cause the death of a natural person: "
                                 "considerable damage to another natural person"
                               : "the incident caused or may cause considerable damage to a "
                                 "natural person's health");
    note(a, "NIS2 Art 23(3)(a) sets no figure for a financial loss: the lower of EUR 500 000 and "
            "5 % of the annual turnover (IR 2024/2690 Art 3(1)(a), the only figure of Union law) "
            "was used; national guidance may set its own");
    int met = severe == YES || damage == YES || finance == YES ||
              r->malicious_unauthorised_access || r->death || r->considerable_health_damage;
    if (met)
        return YES;
    if (severe == NO && damage == NO && finance == NO)
        return NO;
    if (severe == UNKNOWN)
        missing(a, "severeOperationalDisruption");
    if (finance == UNKNOWN && r->financial_loss_eur == 0)
        missing(a, "financialLossEur");
    if (finance == UNKNOWN)
        missing(a, "annualTurnoverEur");
    if (damage == UNKNOWN)
        missing(a, "considerableDamageToOthers");
    return UNKNOWN;
}

int bw_significance_assess(bw_arena_t *arena, const request_t *req,
                           const bw_entity_type_info_t *types, assessment_t **out)
{
    assess_t a = {.arena = arena, .out = bw_arena_alloc(arena, sizeof(assessment_t))};
    if (a.out == NULL)
        return BW_ENOMEM;
    bulwark__incidents__v1__significance_assessment__init(a.out);
    /* Which regime decides: IR 2024/2690 for its types, Art 23(3) for the
     * others (and when no type is given). */
    int ir = 0, other = req->n_entity_types == 0;
    for (size_t i = 0; i < req->n_entity_types; i++) {
        ir |= types[i].ir_article != 0;
        other |= types[i].ir_article == 0;
    }
    a.out->implementing_regulation_applies = ir;
    a.guidance = !ir;
    general_criteria(&a, req);
    static const impact_t none = BULWARK__INCIDENTS__V1__SERVICE_IMPACT__INIT;
    const impact_t *m = req->impact != NULL ? req->impact : &none;
    int avail = !req->scheduled_maintenance;
    for (size_t i = 0; i < req->n_entity_types; i++)
        if (types[i].ir_article != 0 && !seen_before(req, i))
            entity_criteria(&a, types[i].ir_article, req->entity_types[i], m, avail);
    int ir_met = a.out->n_criteria > 0;
    a.guidance = 0;

    int art23 = NO;
    if (other) {
        art23 = art_23_3(&a, req);
        note(&a, ir ? "NIS2 Art 23(3) decides for the entity types IR 2024/2690 does not cover "
                      "(its Art 1), the Regulation for the others"
                    : "no entity type given is a relevant entity of IR 2024/2690 (its Art 1): "
                      "NIS2 Art 23(3) decides, and the Regulation's Art 3 criteria are shown as "
                      "guidance only; national guidance may say more");
    } else if (req->severe_operational_disruption != 0 || req->considerable_damage_to_others != 0) {
        note(&a, "severeOperationalDisruption and considerableDamageToOthers were not used: IR "
                 "2024/2690 Art 3-14 specify the cases of NIS2 Art 23(3) for its entity types "
                 "(NIS2 Art 23(11))");
    }
    a.out->outcome = ir_met || art23 == YES ? OUTCOME(SIGNIFICANT)
                     : art23 == NO          ? OUTCOME(NOT_SIGNIFICANT)
                                            : OUTCOME(UNDETERMINED);
    /* Missing answers matter only while nothing decides. */
    if (a.out->outcome != OUTCOME(UNDETERMINED))
        a.out->n_missing_facts = 0;
    if (req->scheduled_maintenance)
        note(&a, "availability criteria were not counted: scheduled interruptions and the "
                 "planned consequences of scheduled maintenance are not significant incidents "
                 "(IR 2024/2690 Art 3(2))");
    if (a.user_threshold_used && m->users_in_union == 0)
        note(&a, "impact.usersInUnion not given: only the absolute user thresholds were applied");
    if (a.failed)
        return BW_ENOMEM;
    a.out->significant = a.out->outcome == OUTCOME(SIGNIFICANT);
    *out = a.out;
    return 0;
}

int bw_significance_handle(bw_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **resp)
{
    const request_t *req = (const request_t *)request;
    int err = bw_significance_validate(call, req);
    if (err != 0)
        return err;
    /* Which types IR 2024/2690 covers, and with which article, is the
     * scoping service's catalogue's to say. */
    bw_entity_type_info_t *types =
        bw_arena_calloc(call->arena, req->n_entity_types + 1, sizeof(*types));
    if (types == NULL)
        return BW_ENOMEM;
    if (req->n_entity_types > 0) {
        const bw_incidents_service_t *svc = bw_service_data(call);
        err = bw_scoping_client_entity_types(
            svc->scoping, call, (const char *const *)req->entity_types, req->n_entity_types, types);
        if (err == BW_EUNAVAIL)
            return bw_call_fail(call, BW_EUNAVAIL, "SERVICE_UNAVAILABLE",
                                "the scoping service is unavailable: its catalogue says which "
                                "entity types IR 2024/2690 covers");
        if (err != 0)
            return err;
        int bad = 0;
        for (size_t i = 0; i < req->n_entity_types; i++)
            if (!types[i].known)
                bad |= bw_call_violation(call, bw_arena_printf(call->arena, "entityTypes[%zu]", i),
                                         "is not an entity type of the catalogue "
                                         "(GET /v1/entity-types)") != 0;
        if (bad)
            return BW_EINVAL;
    }
    assessment_t *out;
    if ((err = bw_significance_assess(call->arena, req, types, &out)) != 0)
        return err;
    *resp = &out->base;
    return 0;
}
