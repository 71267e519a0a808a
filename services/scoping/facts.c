/*
 * Checks of entity facts. Each check names the offending field by the JSON
 * path the client wrote, so the gateway can answer 400 naming it.
 */
#include "facts.h"

#include "ids.h"
#include "status.h"

#include <math.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define NAME_MAX_LEN 200

static const char *const member_states[] = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "GR", "HU",
    "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
};

int bw_scoping_valid_member_state(const char *code)
{
    for (size_t i = 0; i < sizeof(member_states) / sizeof(member_states[0]); i++)
        if (strcmp(code, member_states[i]) == 0)
            return 1;
    return 0;
}

int bw_scoping_valid_time_zone(const char *tz)
{
    UChar id[128], canonical[128];
    size_t n = strlen(tz);
    if (n == 0 || n >= sizeof(id) / sizeof(id[0]))
        return 0;
    /* ICU also knows abbreviations and custom "GMT+1" ids; IANA ids are
     * ASCII letters, digits and "/_+-" with no spaces. */
    for (size_t i = 0; i < n; i++) {
        char c = tz[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '-'))
            return 0;
    }
    u_uastrcpy(id, tz);
    UErrorCode status = U_ZERO_ERROR;
    UBool system_id = 0;
    ucal_getCanonicalTimeZoneID(id, (int32_t)n, canonical, 128, &system_id, &status);
    if (U_FAILURE(status) || !system_id)
        return 0;
    /* Three- and four-letter abbreviations (CET, EST, CEST) are ICU system
     * ids but not locations; accept only ids with a region, and UTC. */
    return strchr(tz, '/') != NULL || strcmp(tz, "UTC") == 0;
}

static int valid_type_code(const char *code)
{
    /* Catalogue codes: lower-case words joined by dots, e.g. digital_infra.dns. */
    size_t n = strlen(code);
    if (n == 0 || n > 100 || code[0] == '.' || code[n - 1] == '.' || strchr(code, '.') == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
        if (c == '.' && code[i + 1] == '.')
            return 0;
    }
    return 1;
}

static int check_figures(bw_call_t *call, const char *path, double staff, int64_t turnover,
                         int64_t balance)
{
    int bad = 0;
    if (!isfinite(staff) || staff < 0)
        bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sstaffHeadcount", path),
                                 "must be zero or more annual work units") != 0;
    if (turnover < 0)
        bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sannualTurnoverEur", path),
                                 "must not be negative") != 0;
    if (balance < 0)
        bad |= bw_call_violation(call,
                                 bw_arena_printf(call->arena, "%sbalanceSheetTotalEur", path),
                                 "must not be negative") != 0;
    return bad;
}

static int check_size(bw_call_t *call, const Bulwark__Scoping__V1__Size *s)
{
    int bad = check_figures(call, "size.", s->staff_headcount, s->annual_turnover_eur,
                            s->balance_sheet_total_eur);
    if (s->previous_period != NULL)
        bad |= check_figures(call, "size.previousPeriod.", s->previous_period->staff_headcount,
                             s->previous_period->annual_turnover_eur,
                             s->previous_period->balance_sheet_total_eur);
    for (size_t i = 0; i < s->n_linked_enterprises; i++) {
        const Bulwark__Scoping__V1__SizeFigures *f = s->linked_enterprises[i];
        bad |= check_figures(call, bw_arena_printf(call->arena, "size.linkedEnterprises[%zu].", i),
                             f->staff_headcount, f->annual_turnover_eur,
                             f->balance_sheet_total_eur);
    }
    for (size_t i = 0; i < s->n_partner_enterprises; i++) {
        const Bulwark__Scoping__V1__PartnerEnterprise *p = s->partner_enterprises[i];
        const char *path = bw_arena_printf(call->arena, "size.partnerEnterprises[%zu].", i);
        bad |= check_figures(call, path, p->staff_headcount, p->annual_turnover_eur,
                             p->balance_sheet_total_eur);
        if (!isfinite(p->holding_percent) || p->holding_percent < 0 || p->holding_percent > 100)
            bad |= bw_call_violation(call, bw_arena_printf(call->arena, "%sholdingPercent", path),
                                     "must be between 0 and 100") != 0;
    }
    return bad;
}

static int check_member_state(bw_call_t *call, const Bulwark__Scoping__V1__MemberState *m)
{
    int bad = 0;
    if (m->establishment[0] != '\0' && !bw_scoping_valid_member_state(m->establishment))
        bad |= bw_call_violation(call, "memberState.establishment",
                                 "\"%s\" is not an EU Member State code", m->establishment) != 0;
    if (m->main_establishment[0] != '\0' && !bw_scoping_valid_member_state(m->main_establishment))
        bad |= bw_call_violation(call, "memberState.mainEstablishment",
                                 "\"%s\" is not an EU Member State code",
                                 m->main_establishment) != 0;
    for (size_t i = 0; i < m->n_services_in; i++)
        if (!bw_scoping_valid_member_state(m->services_in[i]))
            bad |= bw_call_violation(
                       call, bw_arena_printf(call->arena, "memberState.servicesIn[%zu]", i),
                       "\"%s\" is not an EU Member State code", m->services_in[i]) != 0;
    if (m->designation != BULWARK__SCOPING__V1__MEMBER_STATE__DESIGNATION__DESIGNATION_UNSPECIFIED &&
        m->identified_under ==
            BULWARK__SCOPING__V1__MEMBER_STATE__IDENTIFIED_UNDER__IDENTIFIED_UNDER_UNSPECIFIED)
        bad |= bw_call_violation(call, "memberState.designation",
                                 "a designation needs identifiedUnder, the Art 2(2) ground") != 0;
    return bad;
}

int bw_scoping_validate_entity(bw_call_t *call, const Bulwark__Scoping__V1__Entity *e)
{
    int bad = 0;
    size_t name_len = strlen(e->name);
    if (name_len == 0)
        bad |= bw_call_violation(call, "name", "is required") != 0;
    else if (name_len > NAME_MAX_LEN)
        bad |= bw_call_violation(call, "name", "must be at most %d characters", NAME_MAX_LEN) != 0;
    if (e->time_zone[0] == '\0')
        bad |= bw_call_violation(call, "timeZone", "is required, an IANA time zone such as "
                                                   "Europe/Berlin") != 0;
    else if (!bw_scoping_valid_time_zone(e->time_zone))
        bad |= bw_call_violation(call, "timeZone",
                                 "\"%s\" is not an IANA time zone such as Europe/Berlin",
                                 e->time_zone) != 0;
    for (size_t i = 0; i < e->n_activities; i++)
        if (!valid_type_code(e->activities[i]->entity_type))
            bad |= bw_call_violation(
                       call, bw_arena_printf(call->arena, "activities[%zu].entityType", i),
                       "\"%s\" is not an entity-type code such as digital_infra.dns",
                       e->activities[i]->entity_type) != 0;
    if (e->size != NULL)
        bad |= check_size(call, e->size);
    if (e->member_state != NULL)
        bad |= check_member_state(call, e->member_state);
    if (e->parent_entity[0] != '\0' && !bw_uuid_valid(e->parent_entity))
        bad |= bw_call_violation(call, "parentEntity", "must be the id of an entity") != 0;
    return bad ? BW_EINVAL : 0;
}
