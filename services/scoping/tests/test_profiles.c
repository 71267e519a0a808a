/*
 * The Member State profiles as data: the ones shipped load and pass their
 * checks, the directory form loads the same, every profile has its sources
 * in the data folder's README, and each kind of bad file is refused with the
 * file and the field named.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiles.h"
#include "status.h"
#include "suites.h"

#define MEMBER_STATES_DIR BW_SCOPING_DATA_DIR "/member-states"

START_TEST(shipped_profiles_load)
{
    bw_profiles_t *p;
    char err[512] = "";
    ck_assert_msg(bw_profiles_load_builtin(&p, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(bw_profiles_codes(p), "AT, BE, DE, FR, IT, NL");
    for (size_t i = 0; i < bw_profiles_count(p); i++) {
        const bw_profile_t *profile = bw_profiles_at(p, i);
        ck_assert_uint_ge(profile->n_sources, 1);
        ck_assert_str_ne(profile->law->title, "");
        ck_assert_ptr_nonnull(profile->registration);
        ck_assert_ptr_nonnull(profile->csirt);
    }
    /* In force or not, as the sources say. */
    ck_assert_int_eq(bw_profiles_find(p, "DE")->status,
                     BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__STATUS__IN_FORCE);
    ck_assert_str_eq(bw_profiles_find(p, "DE")->law->in_force_from, "2025-12-06");
    ck_assert_str_eq(bw_profiles_find(p, "BE")->law->in_force_from, "2024-10-18");
    ck_assert_str_eq(bw_profiles_find(p, "IT")->law->in_force_from, "2024-10-16");
    ck_assert_str_eq(bw_profiles_find(p, "AT")->law->in_force_from, "2026-10-01");
    ck_assert_int_eq(bw_profiles_find(p, "NL")->status,
                     BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__STATUS__BILL);
    ck_assert_int_eq(bw_profiles_find(p, "FR")->status,
                     BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__STATUS__BILL);
    ck_assert_ptr_null(bw_profiles_find(p, "ES"));
    ck_assert_ptr_null(bw_profiles_find(p, "de"));
    bw_profiles_free(p);
}
END_TEST

START_TEST(directory_loads_the_same)
{
    bw_profiles_t *built, *dir;
    char err[512] = "";
    ck_assert_int_eq(bw_profiles_load_builtin(&built, err, sizeof(err)), 0);
    ck_assert_msg(bw_profiles_load_dir(MEMBER_STATES_DIR, &dir, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(bw_profiles_count(dir), bw_profiles_count(built));
    for (size_t i = 0; i < bw_profiles_count(dir); i++) {
        const bw_profile_t *a = bw_profiles_at(built, i), *b = bw_profiles_at(dir, i);
        size_t len = bulwark__scoping__v1__member_state_profile__get_packed_size(a);
        ck_assert_uint_eq(len, bulwark__scoping__v1__member_state_profile__get_packed_size(b));
        uint8_t *pa = malloc(len), *pb = malloc(len);
        bulwark__scoping__v1__member_state_profile__pack(a, pa);
        bulwark__scoping__v1__member_state_profile__pack(b, pb);
        ck_assert_msg(memcmp(pa, pb, len) == 0, "%s differs from the built-in copy", a->code);
        free(pa);
        free(pb);
    }
    bw_profiles_free(built);
    bw_profiles_free(dir);
    ck_assert_int_eq(bw_profiles_load_dir("/nonexistent/profiles", &dir, err, sizeof(err)),
                     BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/profiles"));
}
END_TEST

START_TEST(readme_cites_every_profile)
{
    /* Each profile has a section "## XX" in the README of its folder, which
     * cites its law and its sources. */
    FILE *fp = fopen(MEMBER_STATES_DIR "/README.md", "r");
    ck_assert_ptr_nonnull(fp);
    static char text[128 * 1024];
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    bw_profiles_t *p;
    char err[512] = "";
    ck_assert_int_eq(bw_profiles_load_builtin(&p, err, sizeof(err)), 0);
    for (size_t i = 0; i < bw_profiles_count(p); i++) {
        const bw_profile_t *profile = bw_profiles_at(p, i);
        char heading[16];
        snprintf(heading, sizeof(heading), "\n## %s ", profile->code);
        const char *section = strstr(text, heading);
        ck_assert_msg(section != NULL, "README has no section for %s", profile->code);
        const char *next = strstr(section + 1, "\n## ");
        size_t len = next != NULL ? (size_t)(next - section) : strlen(section);
        for (size_t s = 0; s < profile->n_sources; s++) {
            const char *ref = profile->sources[s]->reference;
            const char *hit = strstr(section, ref);
            ck_assert_msg(hit != NULL && (size_t)(hit - section) < len,
                          "README section %s does not cite %s", profile->code, ref);
        }
        ck_assert_msg(strstr(section, profile->version) != NULL &&
                          (size_t)(strstr(section, profile->version) - section) < len,
                      "README section %s does not give version %s", profile->code,
                      profile->version);
    }
    bw_profiles_free(p);
}
END_TEST

/* A valid profile to break one field at a time. */
static const char good[] =
    "{\"code\":\"LU\",\"name\":\"Luxembourg\",\"version\":\"2026.12.1\",\"status\":\"BILL\","
    "\"checkedOn\":\"2026-12-03\",\"law\":{\"title\":\"Bill\",\"reference\":\"n° 8364\"},"
    "\"localPublicAdministration\":{\"answer\":\"NO\",\"provision\":\"Art 1\"},"
    "\"education\":{\"answer\":\"UNVERIFIED\",\"note\":\"not read\"},"
    "\"formerOesEssential\":{\"answer\":\"UNVERIFIED\",\"note\":\"not read\"},"
    "\"identification\":{\"answer\":\"UNVERIFIED\",\"note\":\"not read\"},"
    "\"cerCriticalEntities\":{\"answer\":\"UNVERIFIED\",\"note\":\"not read\"},"
    "\"competentAuthority\":{\"name\":\"ILR\"},\"csirt\":{\"name\":\"GOVCERT.LU\"},"
    "\"registration\":{\"authority\":\"ILR\",\"deadline\":\"not established\"},"
    "\"reporting\":{\"earlyWarningHours\":24,\"notificationHours\":72,\"finalReportMonths\":1,"
    "\"recipient\":\"CSIRT\"},"
    "\"sources\":[{\"title\":\"Bill\",\"reference\":\"n° 8364\",\"accessed\":\"2026-12-03\"}]}";

/* good with the first occurrence of from replaced by to. */
static char *variant(const char *from, const char *to)
{
    const char *at = strstr(good, from);
    ck_assert_msg(at != NULL, "no %s in the good profile", from);
    size_t len = strlen(good) - strlen(from) + strlen(to);
    char *out = malloc(len + 1);
    size_t head = (size_t)(at - good);
    memcpy(out, good, head);
    memcpy(out + head, to, strlen(to));
    strcpy(out + head + strlen(to), at + strlen(from));
    return out;
}

static void refused(const char *name, const char *json, const char *want)
{
    bw_profiles_t *p;
    ck_assert_int_eq(bw_profiles_create(&p), 0);
    char err[512] = "";
    ck_assert_int_eq(bw_profiles_add(p, name, json, strlen(json), err, sizeof(err)), BW_EINVAL);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not name \"%s\"", err, want);
    ck_assert_uint_eq(bw_profiles_count(p), 0);
    bw_profiles_free(p);
}

START_TEST(bad_profiles_are_refused)
{
    bw_profiles_t *p;
    char err[512] = "";
    ck_assert_int_eq(bw_profiles_create(&p), 0);
    ck_assert_msg(bw_profiles_add(p, "LU.json", good, strlen(good), err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_int_eq(bw_profiles_add(p, "LU.json", good, strlen(good), err, sizeof(err)),
                     BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "already loaded"));
    bw_profiles_free(p);

    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"code\":\"LU\"", "\"code\":\"BE\"", "LU.json: code: \"BE\" does not match"},
        {"\"code\":\"LU\"", "\"code\":\"UK\"", "code: \"UK\" is not an EU Member State"},
        {"\"version\":\"2026.12.1\"", "\"version\":\"v1\"", "version"},
        {"\"status\":\"BILL\"", "\"status\":\"PASSED\"", "status"},
        {"\"status\":\"BILL\",", "", "status: is required"},
        {"\"checkedOn\":\"2026-12-03\"", "\"checkedOn\":\"2026-02-30\"", "checkedOn"},
        {"\"law\":{\"title\":\"Bill\",", "\"law\":{\"title\":\"\",", "law.title"},
        {"\"reference\":\"n° 8364\"}", "\"reference\":\"\"}", "law.reference"},
        {"\"status\":\"BILL\"", "\"status\":\"IN_FORCE\"", "law.adoptedOn"},
        {"\"localPublicAdministration\":{\"answer\":\"NO\",\"provision\":\"Art 1\"}",
         "\"localPublicAdministration\":{\"answer\":\"NO\"}",
         "localPublicAdministration.provision"},
        {"\"education\":{\"answer\":\"UNVERIFIED\",\"note\":\"not read\"}",
         "\"education\":{\"answer\":\"UNVERIFIED\"}", "education.note"},
        {"\"education\":{\"answer\":\"UNVERIFIED\",\"note\":\"not read\"},", "", "education"},
        {"\"csirt\":{\"name\":\"GOVCERT.LU\"}",
         "\"csirt\":{\"name\":\"GOVCERT.LU\","
         "\"website\":\"http://govcert.lu\"}",
         "csirt.website"},
        {"\"deadline\":\"not established\"", "\"deadline\":\"\"", "registration.deadline"},
        {"\"earlyWarningHours\":24", "\"earlyWarningHours\":12", "reporting.differsFromDirective"},
        {"\"earlyWarningHours\":24", "\"earlyWarningHours\":-1", "reporting.earlyWarningHours"},
        {"\"accessed\":\"2026-12-03\"", "\"accessed\":\"yesterday\"", "sources[0].accessed"},
        {"\"sources\":[{\"title\":\"Bill\",\"reference\":\"n° 8364\",\"accessed\":\"2026-12-03\"}]",
         "\"sources\":[]", "sources"},
        {"\"name\":\"Luxembourg\"", "\"name\":\"Luxembourg\",\"colour\":\"red\"",
         "colour: unknown field"},
        {"\"recipient\":\"CSIRT\"}", "\"recipient\":\"CSIRT\"", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *json = variant(cases[i].from, cases[i].to);
        refused("LU.json", json, cases[i].want);
        free(json);
    }
    refused("lu.txt", good, "file name");
    refused("Luxembourg.json", good, "file name");
}
END_TEST

Suite *suite_profiles(void)
{
    Suite *s = suite_create("scoping profiles");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, shipped_profiles_load);
    tcase_add_test(tc, directory_loads_the_same);
    tcase_add_test(tc, readme_cites_every_profile);
    tcase_add_test(tc, bad_profiles_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
