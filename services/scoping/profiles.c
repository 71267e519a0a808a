/*
 * Loading and checking the Member State profiles. A file is parsed with the
 * same proto3 JSON reader the gateway uses (unknown fields, wrong types and
 * unknown enum names are refused), then checked for what the contract alone
 * cannot say: the code matches the file name, dates are dates, every answer
 * the Directive leaves open is given (or says why it is not), every "yes"
 * or "no" names the provision or a note, the reporting deadlines agree with
 * the flag that says whether they differ from the Directive, and every
 * profile cites at least one source. A profile that fails is refused whole,
 * and the service does not start with it.
 */
#include "profiles.h"

#include "arena.h"
#include "facts.h"
#include "json.h"
#include "status.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bw_profiles {
    bw_arena_t *arena; /* every profile's memory */
    const bw_profile_t *items[BW_PROFILES_MAX];
    size_t n;
    char codes[BW_PROFILES_MAX * 4 + 1];
};

typedef Bulwark__Scoping__V1__MemberStateProfile__Option option_t;
typedef Bulwark__Scoping__V1__MemberStateProfile__Registration registration_t;

#define STATUS(x) BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__STATUS__##x
#define ANSWER(x) BULWARK__SCOPING__V1__MEMBER_STATE_PROFILE__ANSWER__##x

int bw_profiles_create(bw_profiles_t **out)
{
    bw_profiles_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return BW_ENOMEM;
    p->arena = bw_arena_create(64 * 1024);
    if (p->arena == NULL) {
        free(p);
        return BW_ENOMEM;
    }
    *out = p;
    return 0;
}

void bw_profiles_free(bw_profiles_t *p)
{
    if (p == NULL)
        return;
    bw_arena_destroy(p->arena);
    free(p);
}

/* The checks of one parsed profile; the first failure is written to err. */
typedef struct check {
    char *err;
    size_t errlen;
    const char *file;
    int bad;
} check_t;

__attribute__((format(printf, 3, 4))) static void fail(check_t *c, const char *field,
                                                       const char *fmt, ...)
{
    if (c->bad)
        return;
    c->bad = 1;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s: %s", c->file, field, msg);
}

static int empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* YYYY-MM-DD of a real day (the Gregorian calendar, years 1900-2199). */
static int valid_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

static void check_date(check_t *c, const char *field, const char *s, int required)
{
    if (empty(s)) {
        if (required)
            fail(c, field, "is required, a date YYYY-MM-DD");
        return;
    }
    if (!valid_date(s))
        fail(c, field, "\"%.40s\" is not a date YYYY-MM-DD", s);
}

/* "YYYY.MM.N": the data's own version, changed with every change. */
static int valid_version(const char *s)
{
    size_t n = strlen(s);
    if (n < 9 || n > 16 || s[4] != '.' || s[7] != '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    return m >= 1 && m <= 12;
}

static void check_web(check_t *c, const char *field, const char *s)
{
    if (!empty(s) && strncmp(s, "https://", 8) != 0)
        fail(c, field, "must be an https:// address");
}

static void check_option(check_t *c, const char *field, const option_t *o)
{
    char path[96];
    if (o == NULL) {
        fail(c, field,
             "is required: give the law's answer, or NOT_ESTABLISHED or UNVERIFIED "
             "with a note");
        return;
    }
    switch (o->answer) {
    case ANSWER(YES):
    case ANSWER(NO):
        if (empty(o->provision) && empty(o->note)) {
            snprintf(path, sizeof(path), "%s.provision", field);
            fail(c, path, "a YES or NO answer names the national provision (or a note)");
        }
        break;
    case ANSWER(PARTLY):
    case ANSWER(NOT_ESTABLISHED):
    case ANSWER(UNVERIFIED):
        if (empty(o->note)) {
            snprintf(path, sizeof(path), "%s.note", field);
            fail(c, path, "a PARTLY, NOT_ESTABLISHED or UNVERIFIED answer says why in a note");
        }
        break;
    default:
        snprintf(path, sizeof(path), "%s.answer", field);
        fail(c, path, "is required");
        break;
    }
}

static void check_authority(check_t *c, const char *field,
                            const Bulwark__Scoping__V1__MemberStateProfile__Authority *a)
{
    char path[96];
    if (a == NULL || empty(a->name)) {
        snprintf(path, sizeof(path), "%s.name", field);
        fail(c, path, "is required");
        return;
    }
    snprintf(path, sizeof(path), "%s.website", field);
    check_web(c, path, a->website);
}

static void check_registration(check_t *c, const char *field, const registration_t *r, int required)
{
    char path[96];
    if (r == NULL) {
        if (required)
            fail(c, field, "is required");
        return;
    }
    snprintf(path, sizeof(path), "%s.authority", field);
    if (empty(r->authority))
        fail(c, path, "is required");
    snprintf(path, sizeof(path), "%s.deadline", field);
    if (empty(r->deadline))
        fail(c, path, "is required: the entity's own deadline under the law, in words");
    snprintf(path, sizeof(path), "%s.dueDate", field);
    check_date(c, path, r->due_date, 0);
    snprintf(path, sizeof(path), "%s.portal", field);
    check_web(c, path, r->portal);
}

static void check_reporting(check_t *c,
                            const Bulwark__Scoping__V1__MemberStateProfile__Reporting *r)
{
    if (r == NULL) {
        fail(c, "reporting", "is required");
        return;
    }
    if (r->early_warning_hours < 0 || r->early_warning_hours > 720)
        fail(c, "reporting.earlyWarningHours", "must be between 0 and 720");
    if (r->notification_hours < 0 || r->notification_hours > 720)
        fail(c, "reporting.notificationHours", "must be between 0 and 720");
    if (r->final_report_months < 0 || r->final_report_months > 12)
        fail(c, "reporting.finalReportMonths", "must be between 0 and 12");
    int same =
        r->early_warning_hours == 24 && r->notification_hours == 72 && r->final_report_months == 1;
    if (same == (int)r->differs_from_directive)
        fail(c, "reporting.differsFromDirective",
             "contradicts the deadlines given (NIS2 Art 23(4): 24 hours, 72 hours, one month)");
    if (empty(r->recipient))
        fail(c, "reporting.recipient", "is required");
}

static void check_profile(check_t *c, const bw_profile_t *p, const char *code)
{
    if (!bw_scoping_valid_member_state(p->code))
        fail(c, "code", "\"%.8s\" is not an EU Member State code", p->code);
    else if (strcmp(p->code, code) != 0)
        fail(c, "code", "\"%s\" does not match the file name", p->code);
    if (empty(p->name))
        fail(c, "name", "is required");
    if (!valid_version(p->version))
        fail(c, "version", "\"%.20s\" is not a version YYYY.MM.N", p->version);
    if (p->status != STATUS(IN_FORCE) && p->status != STATUS(ADOPTED) && p->status != STATUS(BILL))
        fail(c, "status", "is required: IN_FORCE, ADOPTED or BILL");
    check_date(c, "checkedOn", p->checked_on, 1);
    const Bulwark__Scoping__V1__MemberStateProfile__Law *law = p->law;
    if (law == NULL || empty(law->title)) {
        fail(c, "law.title", "is required");
    } else {
        check_date(c, "law.adoptedOn", law->adopted_on, p->status != STATUS(BILL));
        check_date(c, "law.inForceFrom", law->in_force_from, p->status == STATUS(IN_FORCE));
        if (empty(law->reference) && empty(law->note))
            fail(c, "law.reference", "is required, or a note saying why it is not given");
    }
    check_option(c, "localPublicAdministration", p->local_public_administration);
    check_option(c, "education", p->education);
    check_option(c, "formerOesEssential", p->former_oes_essential);
    check_option(c, "identification", p->identification);
    check_option(c, "cerCriticalEntities", p->cer_critical_entities);
    check_authority(c, "competentAuthority", p->competent_authority);
    check_authority(c, "csirt", p->csirt);
    check_registration(c, "registration", p->registration, 1);
    check_registration(c, "registryRegistration", p->registry_registration, 0);
    check_reporting(c, p->reporting);
    if (p->n_sources == 0)
        fail(c, "sources", "at least one source is required");
    for (size_t i = 0; i < p->n_sources; i++) {
        const Bulwark__Scoping__V1__MemberStateProfile__Source *s = p->sources[i];
        char path[64];
        snprintf(path, sizeof(path), "sources[%zu]", i);
        if (empty(s->title) || empty(s->reference))
            fail(c, path, "title and reference are required");
        snprintf(path, sizeof(path), "sources[%zu].accessed", i);
        check_date(c, path, s->accessed, 1);
    }
}

static void update_codes(bw_profiles_t *p)
{
    size_t at = 0;
    p->codes[0] = '\0';
    for (size_t i = 0; i < p->n; i++)
        at += (size_t)snprintf(p->codes + at, sizeof(p->codes) - at, "%s%s", i > 0 ? ", " : "",
                               p->items[i]->code);
}

int bw_profiles_add(bw_profiles_t *p, const char *name, const char *text, size_t len, char *err,
                    size_t errlen)
{
    check_t c = {err, errlen, name, 0};
    size_t name_len = strlen(name);
    char code[8];
    if (name_len < 6 || name_len > 7 || strcmp(name + name_len - 5, ".json") != 0) {
        fail(&c, "file name", "must be the Member State code and \".json\", e.g. DE.json");
        return BW_EINVAL;
    }
    snprintf(code, sizeof(code), "%.*s", (int)(name_len - 5), name);
    if (len > BW_PROFILES_MAX_FILE_BYTES) {
        fail(&c, "file", "larger than %d bytes", BW_PROFILES_MAX_FILE_BYTES);
        return BW_EINVAL;
    }
    if (bw_profiles_find(p, code) != NULL) {
        fail(&c, "code", "a profile for %s is already loaded", code);
        return BW_EINVAL;
    }
    if (p->n == BW_PROFILES_MAX) {
        fail(&c, "file", "more than %d profiles", BW_PROFILES_MAX);
        return BW_EINVAL;
    }
    ProtobufCMessage *msg = NULL;
    bw_json_error_t jerr;
    int rc = bw_json_parse_pb(p->arena, &bulwark__scoping__v1__member_state_profile__descriptor,
                              text, len, &msg, &jerr);
    if (rc == BW_ENOMEM)
        return rc;
    if (rc != 0) {
        fail(&c, jerr.field[0] != '\0' ? jerr.field : "document", "%s", jerr.message);
        return BW_EINVAL;
    }
    const bw_profile_t *profile = (const bw_profile_t *)msg;
    check_profile(&c, profile, code);
    if (c.bad)
        return BW_EINVAL;
    /* Keep the set in order of code. */
    size_t at = p->n;
    while (at > 0 && strcmp(p->items[at - 1]->code, profile->code) > 0) {
        p->items[at] = p->items[at - 1];
        at--;
    }
    p->items[at] = profile;
    p->n++;
    update_codes(p);
    return 0;
}

int bw_profiles_load_builtin(bw_profiles_t **out, char *err, size_t errlen)
{
    bw_profiles_t *p;
    int rc = bw_profiles_create(&p);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < bw_n_profile_files && rc == 0; i++)
        rc = bw_profiles_add(p, bw_profile_files[i].name, (const char *)bw_profile_files[i].data,
                             bw_profile_files[i].len, err, errlen);
    if (rc != 0) {
        bw_profiles_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Reads a whole file of at most BW_PROFILES_MAX_FILE_BYTES into a new buffer. */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return BW_EINVAL;
    }
    char *buf = malloc(BW_PROFILES_MAX_FILE_BYTES + 1);
    int rc = 0;
    if (buf == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    size_t n = fread(buf, 1, BW_PROFILES_MAX_FILE_BYTES + 1, fp);
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        rc = BW_EINVAL;
    } else if (n > BW_PROFILES_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, BW_PROFILES_MAX_FILE_BYTES);
        rc = BW_EINVAL;
    }
out:
    fclose(fp);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bw_profiles_load_dir(const char *dir, bw_profiles_t **out, char *err, size_t errlen)
{
    bw_profiles_t *p = NULL;
    char *names[BW_PROFILES_MAX + 1];
    size_t n_names = 0;
    int rc = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot open the directory: %s", dir, strerror(errno));
        return BW_EINVAL;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n_names == BW_PROFILES_MAX) {
            snprintf(err, errlen, "%s: more than %d profiles", dir, BW_PROFILES_MAX);
            rc = BW_EINVAL;
            goto out;
        }
        names[n_names] = strdup(e->d_name);
        if (names[n_names] == NULL) {
            rc = BW_ENOMEM;
            goto out;
        }
        n_names++;
    }
    if (n_names == 0) {
        snprintf(err, errlen, "%s: no *.json profile in the directory", dir);
        rc = BW_EINVAL;
        goto out;
    }
    qsort(names, n_names, sizeof(names[0]), by_name);
    rc = bw_profiles_create(&p);
    for (size_t i = 0; i < n_names && rc == 0; i++) {
        char path[4096], *text = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        rc = read_file(path, &text, &len, err, errlen);
        if (rc == 0)
            rc = bw_profiles_add(p, names[i], text, len, err, errlen);
        free(text);
    }
out:
    closedir(d);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    if (rc != 0) {
        bw_profiles_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

const bw_profile_t *bw_profiles_find(const bw_profiles_t *p, const char *code)
{
    if (p == NULL || code == NULL)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i]->code, code) == 0)
            return p->items[i];
    return NULL;
}

size_t bw_profiles_count(const bw_profiles_t *p)
{
    return p != NULL ? p->n : 0;
}

const bw_profile_t *bw_profiles_at(const bw_profiles_t *p, size_t i)
{
    return p != NULL && i < p->n ? p->items[i] : NULL;
}

const char *bw_profiles_codes(const bw_profiles_t *p)
{
    return p != NULL && p->n > 0 ? p->codes : "none";
}
