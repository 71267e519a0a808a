/*
 * Lists for sync and screens, end to end over HTTP, for each of the six
 * lists that take them (entities, incidents, controls, board members,
 * campaigns, audit events): orderBy both ways with pages across ties,
 * updatedSince with a change made between two pages, the tombstone of a
 * deleted entity for an updatedSince reader and not for a plain list,
 * filters, every bad parameter answered with a 400 naming it, a page token
 * refused with other parameters, and another tenant seeing nothing. Last,
 * the OpenAPI document's allowed values are asked for, one by one, so the
 * document and the services cannot drift apart.
 */
#include "e2e.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* A GET that must answer 400 naming field. */
static void refused(const char *key, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refused(const char *key, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_decref(vexpect(400, field, "GET", key, NULL, fmt, ap));
    va_end(ap);
}

/* s percent-encoded for a query string, in a ring of static buffers (a few
 * may be used in one expression). */
static const char *enc(const char *s)
{
    static char ring[8][2048];
    static int next;
    char *out = ring[next++ % 8];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 4 < sizeof(ring[0]); p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, 4, "%%%02X", *p);
    }
    out[n] = '\0';
    return out;
}

/* A copy of obj's string member (caller frees). */
static char *sdup(json_t *obj, const char *key)
{
    return strdup(jstr(obj, key));
}

static char *create(const tenant_t *t, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *create(const tenant_t *t, const char *body, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *j = vexpect(201, NULL, "POST", t->key, body, fmt, ap);
    va_end(ap);
    char *id = sdup(j, "id");
    json_decref(j);
    return id;
}

/* What joins one more parameter to path: "?" or "&". */
static const char *joiner(const char *path)
{
    return strchr(path, '?') == NULL ? "?" : "&";
}

/* Every item of a list, page after page: path is the list with its query,
 * if any; items the reply's array. Each page but the last is full, and has
 * a token. Returns a new array of the items (caller decrefs). */
static json_t *all_pages(const char *key, const char *path, const char *items, int page_size)
{
    json_t *all = json_array();
    char *token = strdup("");
    for (int pages = 0;; pages++) {
        ck_assert_msg(pages < 100, "%s: more than 100 pages", path);
        json_t *page = expect(200, "GET", key, NULL, "%s%spageSize=%d%s%s", path, joiner(path),
                              page_size, token[0] ? "&pageToken=" : "", token[0] ? enc(token) : "");
        json_t *array = json_object_get(page, items);
        ck_assert_msg(json_is_array(array), "no %s in %s", items, path);
        ck_assert_int_le(json_array_size(array), page_size);
        json_array_extend(all, array);
        free(token);
        token = sdup(page, "nextPageToken");
        if (token[0] != '\0')
            ck_assert_int_eq(json_array_size(array), page_size);
        json_decref(page);
        if (token[0] == '\0')
            break;
    }
    free(token);
    return all;
}

/* The string member key of every item, joined by commas (caller frees). */
static char *column(json_t *items, const char *key)
{
    size_t cap = 16;
    for (size_t i = 0; i < json_array_size(items); i++)
        cap += strlen(jstr(json_array_get(items, i), key)) + 1;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < json_array_size(items); i++) {
        if (i > 0)
            strcat(out, ",");
        strcat(out, jstr(json_array_get(items, i), key));
    }
    return out;
}

/* The items reversed (a new array). */
static json_t *reversed(json_t *items)
{
    json_t *out = json_array();
    for (size_t i = json_array_size(items); i > 0; i--)
        json_array_append(out, json_array_get(items, i - 1));
    return out;
}

/* Microseconds since the epoch of an RFC 3339 UTC time as the API writes
 * it ("2025-06-10T07:15:00Z", ".120Z", ".120001Z", ...); -1 when s is not
 * one. */
static long long time_us(const char *s)
{
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
        return -1;
    long long us = 0, scale = 100000;
    if (*rest == '.')
        for (rest++; isdigit((unsigned char)*rest); rest++, scale /= 10)
            us += (*rest - '0') * scale;
    if (strcmp(rest, "Z") != 0)
        return -1;
    return (long long)timegm(&tm) * 1000000 + us;
}

/* Compares two values of a sort key: times by the instant they name (the
 * API writes 0, 3, 6 or 9 fraction digits, so their text does not sort),
 * anything else as text (the test cluster's collation is C). */
static int key_cmp(const char *a, const char *b)
{
    long long ta = time_us(a), tb = time_us(b);
    if (ta >= 0 && tb >= 0)
        return (ta > tb) - (ta < tb);
    return strcmp(a, b);
}

/* Asserts that items are ordered by (key, id) ascending (or descending). */
static void assert_ordered(json_t *items, const char *key, int desc)
{
    for (size_t i = 1; i < json_array_size(items); i++) {
        json_t *a = json_array_get(items, i - 1), *b = json_array_get(items, i);
        int c = key_cmp(jstr(a, key), jstr(b, key));
        if (c == 0)
            c = strcmp(jstr(a, "id"), jstr(b, "id"));
        ck_assert_msg(desc ? c > 0 : c < 0, "items %zu and %zu out of %s%s order: %s/%s, %s/%s",
                      i - 1, i, key, desc ? " desc" : "", jstr(a, key), jstr(a, "id"), jstr(b, key),
                      jstr(b, "id"));
    }
}

/* Whether items hold one with member key equal to value, and how often. */
static int count_of(json_t *items, const char *key, const char *value)
{
    int n = 0;
    for (size_t i = 0; i < json_array_size(items); i++)
        n += strcmp(jstr(json_array_get(items, i), key), value) == 0;
    return n;
}

/* The last item of items whose member key is value (borrowed). */
static json_t *last_with(json_t *items, const char *key, const char *value)
{
    json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(jstr(json_array_get(items, i), key), value) == 0)
            found = json_array_get(items, i);
    return found;
}

/* The first page's token of a list (asserted not empty; caller frees). */
static char *first_token(const char *key, const char *path)
{
    json_t *page = expect(200, "GET", key, NULL, "%s%spageSize=1", path, joiner(path));
    char *token = sdup(page, "nextPageToken");
    ck_assert_msg(token[0] != '\0', "%s: no second page", path);
    json_decref(page);
    return token;
}

/* RFC 3339 UTC for now + offset seconds, into out[32]. */
static void time_from_now(long offset, char out[32])
{
    time_t t = time(NULL) + offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The bad parameters every list refuses alike (path without a query);
 * an_order is an order updatedSince does not take. */
static void common_refusals(const char *key, const char *path, const char *an_order)
{
    refused(key, "orderBy", "%s?orderBy=title", path);
    refused(key, "orderBy", "%s?orderBy=%s", path, enc("createTime asc"));
    refused(key, "orderBy", "%s?orderBy=%s", path, enc("createTime, id"));
    refused(key, "filter", "%s?filter=%s", path, enc("colour=red"));
    refused(key, "filter", "%s?filter=%s", path, enc("colour"));
    refused(key, "filter", "%s?filter=%s", path, enc("a=b OR c=d"));
    refused(key, "updatedSince", "%s?updatedSince=yesterday", path);
    refused(key, "updatedSince", "%s?updatedSince=2025-13-01T00:00:00Z", path);
    refused(key, "updatedSince", "%s?updatedSince=2025-06-01", path);
    char since[32];
    time_from_now(-3600, since);
    refused(key, "orderBy", "%s?updatedSince=%s&orderBy=%s", path, since, enc(an_order));
    refused(key, "pageToken", "%s?pageToken=bm90LWEtdG9rZW4", path);
    refused(key, "pageSize", "%s?pageSize=-1", path);
}

/* ---- entities ------------------------------------------------------------ */

START_TEST(entities)
{
    tenant_t t = new_tenant("Lists: entities");
    static const char *const names[] = {"Beta", "Alpha", "Beta", "Gamma", "Beta"};
    char *ids[6];
    for (int i = 0; i < 5; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"timeZone\":\"%s\"}", names[i],
                 i == 3 ? "Europe/Paris" : "Europe/Berlin");
        ids[i] = create(&t, body, "/v1/entities");
    }
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"Child\",\"timeZone\":\"Europe/Berlin\",\"parentEntity\":\"%s\"}", ids[1]);
    ids[5] = create(&t, body, "/v1/entities");

    /* Names both ways, pages of 2 across the three Betas. */
    json_t *asc = all_pages(t.key, "/v1/entities?orderBy=name", "entities", 2);
    char *got = column(asc, "name");
    ck_assert_str_eq(got, "Alpha,Beta,Beta,Beta,Child,Gamma");
    free(got);
    assert_ordered(asc, "name", 0);
    json_t *desc = all_pages(t.key, "/v1/entities?orderBy=name%20desc", "entities", 2);
    json_t *back = reversed(asc);
    char *want = column(back, "id");
    got = column(desc, "id");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    json_decref(back);
    json_decref(desc);
    /* createTime: the order of creation, and its reverse. */
    json_t *created = all_pages(t.key, "/v1/entities?orderBy=createTime", "entities", 4);
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(jstr(json_array_get(created, (size_t)i), "id"), ids[i]);
    assert_ordered(created, "createTime", 0);
    json_t *newest = all_pages(t.key, "/v1/entities?orderBy=createTime%20desc", "entities", 4);
    ck_assert_str_eq(jstr(json_array_get(newest, 0), "id"), ids[5]);
    assert_ordered(newest, "createTime", 1);
    json_decref(newest);

    /* Filters. */
    json_t *page = expect(200, "GET", t.key, NULL, "/v1/entities?filter=%s",
                          enc("parentEntity=\"\" AND timeZone=Europe/Paris"));
    ck_assert_int_eq(json_array_size(json_object_get(page, "entities")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(page, "entities"), 0), "id"), ids[3]);
    json_decref(page);
    char filter[128];
    snprintf(filter, sizeof(filter), "parentEntity=%s", ids[1]);
    page = expect(200, "GET", t.key, NULL, "/v1/entities?filter=%s", enc(filter));
    ck_assert_int_eq(json_array_size(json_object_get(page, "entities")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(page, "entities"), 0), "id"), ids[5]);
    json_decref(page);
    json_t *roots = all_pages(t.key, "/v1/entities?filter=parentEntity%3D%22%22", "entities", 2);
    ck_assert_int_eq(json_array_size(roots), 5);
    json_decref(roots);

    /* updatedSince: strictly after the first entity's update, oldest change
     * first; a change between two pages comes again at the end. */
    const char *since = jstr(json_array_get(created, 0), "updateTime");
    char path[512];
    snprintf(path, sizeof(path), "/v1/entities?updatedSince=%s", since);
    json_t *first = expect(200, "GET", t.key, NULL, "%s&pageSize=2", path);
    json_t *items = json_object_get(first, "entities");
    ck_assert_int_eq(json_array_size(items), 2);
    ck_assert_str_eq(jstr(json_array_get(items, 0), "id"), ids[1]);
    ck_assert_str_eq(jstr(json_array_get(items, 1), "id"), ids[2]);
    json_decref(
        expect(200, "PATCH", t.key, "{\"name\":\"Beta Renamed\"}", "/v1/entities/%s", ids[2]));
    json_t *rest = json_array();
    char *token = sdup(first, "nextPageToken");
    while (token[0] != '\0') {
        page = expect(200, "GET", t.key, NULL, "%s&pageSize=2&pageToken=%s", path, enc(token));
        json_array_extend(rest, json_object_get(page, "entities"));
        free(token);
        token = sdup(page, "nextPageToken");
        json_decref(page);
    }
    free(token);
    ck_assert_int_eq(json_array_size(rest), 4); /* ids 3, 4, 5, then 2 again */
    ck_assert_str_eq(jstr(json_array_get(rest, 3), "id"), ids[2]);
    ck_assert_str_eq(jstr(json_array_get(rest, 3), "name"), "Beta Renamed");
    assert_ordered(rest, "updateTime", 0);
    json_decref(rest);
    json_decref(first);

    /* A tombstone: for updatedSince readers only, and whatever the filter. */
    json_decref(expect(204, "DELETE", t.key, NULL, "/v1/entities/%s", ids[4]));
    json_t *sync = all_pages(t.key, path, "entities", 3);
    json_t *tomb = last_with(sync, "id", ids[4]);
    ck_assert_ptr_nonnull(tomb);
    ck_assert_str_ne(jstr(tomb, "deleteTime"), "");
    ck_assert_str_eq(jstr(tomb, "updateTime"), jstr(tomb, "deleteTime"));
    ck_assert_str_eq(jstr(tomb, "name"), "");
    ck_assert_str_eq(jstr(tomb, "etag"), "");
    ck_assert_ptr_eq(json_array_get(sync, json_array_size(sync) - 1), tomb);
    json_decref(sync);
    json_t *plain = all_pages(t.key, "/v1/entities?orderBy=createTime", "entities", 10);
    ck_assert_int_eq(count_of(plain, "id", ids[4]), 0);
    for (size_t i = 0; i < json_array_size(plain); i++)
        ck_assert_str_eq(jstr(json_array_get(plain, i), "deleteTime"), "");
    json_decref(plain);
    char filtered[1024];
    snprintf(filtered, sizeof(filtered), "%s&filter=%s", path, enc("timeZone=Europe/Paris"));
    sync = all_pages(t.key, filtered, "entities", 10);
    ck_assert_int_eq(count_of(sync, "id", ids[4]), 1);
    ck_assert_int_eq(count_of(sync, "id", ids[3]), 1);
    ck_assert_int_eq(json_array_size(sync), 2);
    json_decref(sync);

    /* Deleting a parent changes its child (no parent any more): the child
     * shows up for updatedSince readers, with a new etag. */
    json_t *child = expect(200, "GET", t.key, NULL, "/v1/entities/%s", ids[5]);
    char *child_etag = sdup(child, "etag");
    char *child_updated = sdup(child, "updateTime");
    json_decref(child);
    json_decref(expect(204, "DELETE", t.key, NULL, "/v1/entities/%s", ids[1]));
    snprintf(path, sizeof(path), "/v1/entities?updatedSince=%s", child_updated);
    sync = all_pages(t.key, path, "entities", 10);
    child = last_with(sync, "id", ids[5]);
    ck_assert_ptr_nonnull(child);
    ck_assert_str_eq(jstr(child, "parentEntity"), "");
    ck_assert_str_ne(jstr(child, "etag"), child_etag);
    ck_assert_int_eq(count_of(sync, "id", ids[1]), 1); /* the parent's tombstone */
    json_decref(sync);
    free(child_etag);
    free(child_updated);

    /* Tombstones are kept 30 days: a reader further back must start again. */
    char old[32], recent[32];
    time_from_now(-31L * 86400, old);
    time_from_now(-29L * 86400, recent);
    refused(t.key, "updatedSince", "/v1/entities?updatedSince=%s", old);
    json_decref(expect(200, "GET", t.key, NULL, "/v1/entities?updatedSince=%s", recent));

    /* Bad input; a token used with other parameters. */
    common_refusals(t.key, "/v1/entities", "name");
    refused(t.key, "filter", "/v1/entities?filter=%s", enc("parentEntity=42"));
    refused(t.key, "filter", "/v1/entities?filter=%s", enc("name=Alpha"));
    refused(t.key, "filter", "/v1/entities?filter=%s", enc("timeZone=UTC AND timeZone=UTC"));
    token = first_token(t.key, "/v1/entities?orderBy=name");
    refused(t.key, "pageToken", "/v1/entities?orderBy=name%%20desc&pageToken=%s", enc(token));
    refused(t.key, "pageToken", "/v1/entities?orderBy=createTime&pageToken=%s", enc(token));
    refused(t.key, "pageToken", "/v1/entities?orderBy=name&filter=%s&pageToken=%s",
            enc("timeZone=Europe/Berlin"), enc(token));
    json_decref(
        expect(200, "GET", t.key, NULL, "/v1/entities?orderBy=name&pageToken=%s", enc(token)));
    free(token);

    /* Another tenant sees none of it, tombstones included. */
    tenant_t other = new_tenant("Lists: entities, other");
    snprintf(path, sizeof(path), "/v1/entities?updatedSince=%s", since);
    sync = all_pages(other.key, path, "entities", 10);
    ck_assert_int_eq(json_array_size(sync), 0);
    json_decref(sync);
    sync = all_pages(other.key, "/v1/entities?orderBy=name", "entities", 10);
    ck_assert_int_eq(json_array_size(sync), 0);
    json_decref(sync);
    free_tenant(&other);

    json_decref(asc);
    json_decref(created);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
    free_tenant(&t);
}
END_TEST

/* ---- incidents ----------------------------------------------------------- */

START_TEST(incidents)
{
    tenant_t t = new_tenant("Lists: incidents");
    char *e1 = create(&t, "{\"name\":\"One\",\"timeZone\":\"Europe/Berlin\"}", "/v1/entities");
    char *e2 = create(&t, "{\"name\":\"Two\",\"timeZone\":\"Europe/Berlin\"}", "/v1/entities");
    char aware[32], other_aware[32], body[512];
    time_from_now(-7200, aware);
    time_from_now(-3600, other_aware);
    char *ids[5];
    for (int i = 0; i < 5; i++) {
        snprintf(body, sizeof(body),
                 "{\"entity\":\"%s\",\"title\":\"Outage %d\",\"awareAt\":\"%s\","
                 "\"significant\":%s}",
                 i == 4 ? e2 : e1, i, i == 2 ? other_aware : aware, i == 1 ? "false" : "true");
        ids[i] = create(&t, body, "/v1/incidents");
    }

    /* awareAt both ways: four share one time, so pages of 2 cross ties. */
    json_t *asc = all_pages(t.key, "/v1/incidents?orderBy=awareAt", "incidents", 2);
    ck_assert_int_eq(json_array_size(asc), 5);
    assert_ordered(asc, "awareAt", 0);
    ck_assert_str_eq(jstr(json_array_get(asc, 4), "id"), ids[2]);
    json_t *desc = all_pages(t.key, "/v1/incidents?orderBy=awareAt%20desc", "incidents", 2);
    json_t *back = reversed(asc);
    char *want = column(back, "id"), *got = column(desc, "id");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    json_decref(back);
    json_decref(desc);
    json_decref(asc);
    /* Deadlines still come with each incident of a page. */
    json_t *page = expect(200, "GET", t.key, NULL, "/v1/incidents?orderBy=createTime&pageSize=1");
    json_t *first_incident = json_array_get(json_object_get(page, "incidents"), 0);
    ck_assert_str_eq(jstr(first_incident, "id"), ids[0]);
    ck_assert_int_gt(json_array_size(json_object_get(first_incident, "deadlines")), 0);
    json_decref(page);

    /* Filters, and the parameters that were there before. */
    char filter[256];
    snprintf(filter, sizeof(filter), "/v1/incidents?filter=%s",
             enc("significant=true AND state=OPEN"));
    json_t *all = all_pages(t.key, filter, "incidents", 2);
    ck_assert_int_eq(json_array_size(all), 4);
    ck_assert_int_eq(count_of(all, "id", ids[1]), 0);
    json_decref(all);
    snprintf(filter, sizeof(filter), "/v1/incidents?entity=%s&filter=%s", e1,
             enc("significant=true"));
    all = all_pages(t.key, filter, "incidents", 2);
    ck_assert_int_eq(json_array_size(all), 3);
    ck_assert_int_eq(count_of(all, "entity", e2), 0);
    json_decref(all);
    char term[128];
    snprintf(term, sizeof(term), "entity=%s", e2);
    snprintf(filter, sizeof(filter), "/v1/incidents?orderBy=awareAt%%20desc&filter=%s", enc(term));
    all = all_pages(t.key, filter, "incidents", 2);
    ck_assert_int_eq(json_array_size(all), 1);
    ck_assert_str_eq(jstr(json_array_get(all, 0), "id"), ids[4]);
    json_decref(all);
    all = all_pages(t.key, "/v1/incidents?state=CLOSED", "incidents", 2);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    /* By reporting regime: these entities state no size, so no NIS2 or DORA
     * clock runs for them (NONE). */
    snprintf(filter, sizeof(filter), "/v1/incidents?filter=%s", enc("incidentRegime=NONE"));
    all = all_pages(t.key, filter, "incidents", 2);
    ck_assert_int_eq(json_array_size(all), 5);
    json_decref(all);
    snprintf(filter, sizeof(filter), "/v1/incidents?filter=%s", enc("incidentRegime=NIS2"));
    all = all_pages(t.key, filter, "incidents", 2);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    refused(t.key, "filter", "/v1/incidents?filter=%s", enc("incidentRegime=GDPR"));
    snprintf(filter, sizeof(filter), "entity=%s", e1);
    refused(t.key, "filter", "/v1/incidents?entity=%s&filter=%s", e1, enc(filter));
    refused(t.key, "filter", "/v1/incidents?state=OPEN&filter=%s", enc("state=OPEN"));
    refused(t.key, "filter", "/v1/incidents?filter=%s", enc("state=RESOLVED"));
    refused(t.key, "filter", "/v1/incidents?filter=%s", enc("significant=maybe"));
    refused(t.key, "entity", "/v1/incidents?entity=not-an-id");
    common_refusals(t.key, "/v1/incidents", "awareAt");
    char *token = first_token(t.key, "/v1/incidents?orderBy=awareAt");
    refused(t.key, "pageToken", "/v1/incidents?orderBy=createTime&pageToken=%s", enc(token));
    refused(t.key, "pageToken", "/v1/incidents?orderBy=awareAt&state=OPEN&pageToken=%s",
            enc(token));
    free(token);

    /* updatedSince: an event appended between two pages brings its
     * incident back at the end. */
    json_t *created = all_pages(t.key, "/v1/incidents?orderBy=createTime", "incidents", 5);
    char path[512];
    snprintf(path, sizeof(path), "/v1/incidents?updatedSince=%s",
             jstr(json_array_get(created, 0), "updateTime"));
    json_decref(created);
    json_t *first = expect(200, "GET", t.key, NULL, "%s&pageSize=2", path);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(first, "incidents"), 0), "id"), ids[1]);
    json_decref(expect(201, "POST", t.key, "{\"type\":\"NOTE\",\"note\":\"Call the CSIRT\"}",
                       "/v1/incidents/%s/events", ids[1]));
    json_t *rest = expect(200, "GET", t.key, NULL, "%s&pageSize=10&pageToken=%s", path,
                          enc(jstr(first, "nextPageToken")));
    json_t *items = json_object_get(rest, "incidents");
    ck_assert_int_eq(json_array_size(items), 3); /* ids 3, 4, then 1 again */
    ck_assert_str_eq(jstr(json_array_get(items, 2), "id"), ids[1]);
    ck_assert_str_ne(jstr(json_array_get(items, 2), "etag"),
                     jstr(json_array_get(json_object_get(first, "incidents"), 0), "etag"));
    json_decref(rest);
    json_decref(first);

    /* Another tenant sees nothing. */
    tenant_t other = new_tenant("Lists: incidents, other");
    all = all_pages(other.key, path, "incidents", 10);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    snprintf(filter, sizeof(filter), "/v1/incidents?entity=%s", e1);
    all = all_pages(other.key, filter, "incidents", 10);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    free_tenant(&other);

    for (int i = 0; i < 5; i++)
        free(ids[i]);
    free(e1);
    free(e2);
    free_tenant(&t);
}
END_TEST

/* ---- controls ------------------------------------------------------------ */

START_TEST(controls)
{
    tenant_t t = new_tenant("Lists: controls");
    char *e = create(&t, "{\"name\":\"SoA\",\"timeZone\":\"Europe/Berlin\"}", "/v1/entities");
    /* One import: every row shares its createTime, so pages cross ties. */
    const char *csv = "ref,applicable,status,justification,owner\\n"
                      "A.5.10,true,PLANNED,,Jane Doe\\n"
                      "A.5.2,true,IMPLEMENTED,,Jane Doe\\n"
                      "A.5.1,true,IMPLEMENTED,,Max\\n"
                      "A.8.1,false,,Not used,Max\\n"
                      "6.1.2,true,PARTIAL,,Jane Doe\\n";
    char body[1024];
    snprintf(body, sizeof(body), "{\"csv\":\"%s\"}", csv);
    json_decref(expect(200, "POST", t.key, body, "/v1/entities/%s/controls:import", e));

    char path[512];
    snprintf(path, sizeof(path), "/v1/entities/%s/controls", e);
    /* Without orderBy: the standard's order, clauses first, A.5.2 before A.5.10. */
    json_t *all = all_pages(t.key, path, "controls", 2);
    char *got = column(all, "ref");
    ck_assert_str_eq(got, "6.1.2,A.5.1,A.5.2,A.5.10,A.8.1");
    free(got);
    json_decref(all);
    /* createTime both ways: one tie, broken by ref. */
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?orderBy=createTime", e);
    all = all_pages(t.key, path, "controls", 2);
    got = column(all, "ref");
    ck_assert_str_eq(got, "6.1.2,A.5.1,A.5.10,A.5.2,A.8.1");
    free(got);
    json_decref(all);
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?orderBy=createTime%%20desc", e);
    all = all_pages(t.key, path, "controls", 2);
    got = column(all, "ref");
    ck_assert_str_eq(got, "A.8.1,A.5.2,A.5.10,A.5.1,6.1.2");
    free(got);
    json_decref(all);

    /* Filters. */
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?filter=%s", e,
             enc("owner=\"Jane Doe\" AND applicable=true"));
    all = all_pages(t.key, path, "controls", 2);
    got = column(all, "ref");
    ck_assert_str_eq(got, "6.1.2,A.5.2,A.5.10");
    free(got);
    json_decref(all);
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?filter=%s", e,
             enc("status=NOT_IMPLEMENTED"));
    all = all_pages(t.key, path, "controls", 2);
    got = column(all, "ref");
    ck_assert_str_eq(got, "A.8.1");
    free(got);
    json_decref(all);
    snprintf(path, sizeof(path), "/v1/entities/%s/controls", e);
    common_refusals(t.key, path, "createTime");
    refused(t.key, "orderBy", "/v1/entities/%s/controls?orderBy=ref", e);
    refused(t.key, "filter", "/v1/entities/%s/controls?filter=%s", e, enc("status=DONE"));
    refused(t.key, "filter", "/v1/entities/%s/controls?filter=%s", e, enc("coverage=GAP"));
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?orderBy=createTime", e);
    char *token = first_token(t.key, path);
    refused(t.key, "pageToken", "/v1/entities/%s/controls?pageToken=%s", e, enc(token));
    free(token);

    /* updatedSince: a PUT between two pages brings its control back. */
    json_t *one = expect(200, "GET", t.key, NULL, "/v1/entities/%s/controls/A.5.1", e);
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?updatedSince=%s", e,
             jstr(one, "updateTime"));
    json_decref(one);
    json_t *sync = all_pages(t.key, path, "controls", 10);
    ck_assert_int_eq(json_array_size(sync), 0); /* one import: nothing after it */
    json_decref(sync);
    json_decref(expect(200, "PUT", t.key,
                       "{\"applicable\":true,\"status\":\"IMPLEMENTED\",\"owner\":\"Max\"}",
                       "/v1/entities/%s/controls/A.5.10", e));
    json_decref(expect(200, "PUT", t.key,
                       "{\"applicable\":true,\"status\":\"IMPLEMENTED\",\"owner\":\"Max\"}",
                       "/v1/entities/%s/controls/A.5.2", e));
    json_t *first = expect(200, "GET", t.key, NULL, "%s&pageSize=1", path);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(first, "controls"), 0), "ref"), "A.5.10");
    json_decref(expect(200, "PUT", t.key, "{\"applicable\":true,\"status\":\"PARTIAL\"}",
                       "/v1/entities/%s/controls/A.5.10", e));
    json_t *rest = expect(200, "GET", t.key, NULL, "%s&pageSize=10&pageToken=%s", path,
                          enc(jstr(first, "nextPageToken")));
    got = column(json_object_get(rest, "controls"), "ref");
    ck_assert_str_eq(got, "A.5.2,A.5.10");
    free(got);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(rest, "controls"), 1), "status"),
                     "PARTIAL");
    json_decref(rest);
    json_decref(first);

    /* Another tenant: the entity is not theirs (404), nothing leaks. */
    tenant_t other = new_tenant("Lists: controls, other");
    json_decref(
        expect(404, "GET", other.key, NULL, "/v1/entities/%s/controls?orderBy=createTime", e));
    char *own = create(&other, "{\"name\":\"Own\",\"timeZone\":\"UTC\"}", "/v1/entities");
    snprintf(path, sizeof(path), "/v1/entities/%s/controls?updatedSince=2020-01-01T00:00:00Z", own);
    all = all_pages(other.key, path, "controls", 10);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    free(own);
    free_tenant(&other);
    free(e);
    free_tenant(&t);
}
END_TEST

/* ---- board members --------------------------------------------------------- */

START_TEST(board_members)
{
    tenant_t t = new_tenant("Lists: board members");
    char *e = create(&t, "{\"name\":\"Board\",\"timeZone\":\"Europe/Berlin\"}", "/v1/entities");
    char since[32], until[32], body[512];
    time_from_now(-400L * 86400, since);
    time_from_now(-30L * 86400, until);
    static const char *const names[] = {"Weber", "Adler", "Weber", "Weber"};
    char *ids[4];
    for (int i = 0; i < 4; i++) {
        if (i == 3)
            snprintf(body, sizeof(body), "{\"name\":\"%s\",\"since\":\"%s\",\"until\":\"%s\"}",
                     names[i], since, until);
        else
            snprintf(body, sizeof(body), "{\"name\":\"%s\",\"since\":\"%s\"}", names[i], since);
        ids[i] = create(&t, body, "/v1/entities/%s/board-members", e);
    }
    char path[512];
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?orderBy=name", e);
    json_t *asc = all_pages(t.key, path, "boardMembers", 2);
    char *got = column(asc, "name");
    ck_assert_str_eq(got, "Adler,Weber,Weber,Weber");
    free(got);
    assert_ordered(asc, "name", 0);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?orderBy=name%%20desc", e);
    json_t *desc = all_pages(t.key, path, "boardMembers", 2);
    json_t *back = reversed(asc);
    char *want = column(back, "id");
    got = column(desc, "id");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    json_decref(back);
    json_decref(desc);
    json_decref(asc);

    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?filter=inOffice%%3Dfalse", e);
    json_t *all = all_pages(t.key, path, "boardMembers", 2);
    ck_assert_int_eq(json_array_size(all), 1);
    ck_assert_str_eq(jstr(json_array_get(all, 0), "id"), ids[3]);
    json_decref(all);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?filter=inOffice%%3Dtrue", e);
    all = all_pages(t.key, path, "boardMembers", 2);
    ck_assert_int_eq(json_array_size(all), 3);
    json_decref(all);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members", e);
    common_refusals(t.key, path, "name");
    refused(t.key, "filter", "/v1/entities/%s/board-members?filter=%s", e, enc("inOffice=yes"));
    refused(t.key, "filter", "/v1/entities/%s/board-members?filter=%s", e, enc("role=CEO"));

    /* updatedSince: a PATCH between two pages. */
    json_t *created = NULL;
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?orderBy=createTime", e);
    created = all_pages(t.key, path, "boardMembers", 4);
    snprintf(path, sizeof(path), "/v1/entities/%s/board-members?updatedSince=%s", e,
             jstr(json_array_get(created, 0), "updateTime"));
    json_decref(created);
    json_t *first = expect(200, "GET", t.key, NULL, "%s&pageSize=1", path);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(first, "boardMembers"), 0), "id"), ids[1]);
    json_decref(expect(200, "PATCH", t.key, "{\"role\":\"Chair\"}",
                       "/v1/entities/%s/board-members/%s", e, ids[1]));
    json_t *rest = expect(200, "GET", t.key, NULL, "%s&pageSize=10&pageToken=%s", path,
                          enc(jstr(first, "nextPageToken")));
    json_t *items = json_object_get(rest, "boardMembers");
    ck_assert_int_eq(json_array_size(items), 3); /* ids 2, 3, then 1 again */
    ck_assert_str_eq(jstr(json_array_get(items, 2), "id"), ids[1]);
    ck_assert_str_eq(jstr(json_array_get(items, 2), "role"), "Chair");
    json_decref(rest);
    json_decref(first);

    /* An unknown entity is still a 404, with updatedSince too; another
     * tenant's entity as well. */
    json_decref(expect(404, "GET", t.key, NULL,
                       "/v1/entities/%s/board-members?updatedSince=2024-01-01T00:00:00Z",
                       "6f1c2b5e-9d4a-4c1e-8f3b-2a7d9e0c5b41"));
    tenant_t other = new_tenant("Lists: board members, other");
    json_decref(
        expect(404, "GET", other.key, NULL, "/v1/entities/%s/board-members?orderBy=name", e));
    free_tenant(&other);
    for (int i = 0; i < 4; i++)
        free(ids[i]);
    free(e);
    free_tenant(&t);
}
END_TEST

/* ---- campaigns ----------------------------------------------------------- */

START_TEST(campaigns)
{
    tenant_t t = new_tenant("Lists: campaigns");
    char *e1 = create(&t, "{\"name\":\"One\",\"timeZone\":\"Europe/Berlin\"}", "/v1/entities");
    char *e2 = create(&t, "{\"name\":\"Two\",\"timeZone\":\"Europe/Berlin\"}", "/v1/entities");
    char since[32], body[512];
    time_from_now(-86400, since);
    snprintf(body, sizeof(body), "{\"name\":\"Chair\",\"since\":\"%s\"}", since);
    char *member = create(&t, body, "/v1/entities/%s/board-members", e1);
    char due[32], later[32];
    time_from_now(30L * 86400, due);
    time_from_now(60L * 86400, later);
    static const char *const kinds[] = {"RISK_MEASURES_APPROVAL", "POLICY_APPROVAL",
                                        "MANAGEMENT_TRAINING", "POLICY_APPROVAL",
                                        "IMPLEMENTATION_OVERSIGHT"};
    char *ids[5];
    for (int i = 0; i < 5; i++) {
        snprintf(body, sizeof(body),
                 "{\"entity\":\"%s\",\"kind\":\"%s\",\"statement\":\"Statement %d\","
                 "\"dueAt\":\"%s\",\"validForDays\":365}",
                 i == 4 ? e2 : e1, kinds[i], i, i == 2 ? later : due);
        ids[i] = create(&t, body, "/v1/attestation-campaigns");
    }
    /* dueAt both ways: four share one due time. */
    json_t *asc = all_pages(t.key, "/v1/attestation-campaigns?orderBy=dueAt", "campaigns", 2);
    ck_assert_int_eq(json_array_size(asc), 5);
    assert_ordered(asc, "dueAt", 0);
    ck_assert_str_eq(jstr(json_array_get(asc, 4), "id"), ids[2]);
    json_t *desc =
        all_pages(t.key, "/v1/attestation-campaigns?orderBy=dueAt%20desc", "campaigns", 2);
    json_t *back = reversed(asc);
    char *want = column(back, "id"), *got = column(desc, "id");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    json_decref(back);
    json_decref(desc);
    json_decref(asc);

    /* Filters, and the entity parameter as before. */
    char path[512];
    snprintf(path, sizeof(path), "/v1/attestation-campaigns?entity=%s&filter=%s", e1,
             enc("kind=POLICY_APPROVAL AND state=OPEN"));
    json_t *all = all_pages(t.key, path, "campaigns", 1);
    got = column(all, "id");
    snprintf(body, sizeof(body), "%s,%s", ids[1], ids[3]);
    ck_assert_str_eq(got, body);
    free(got);
    json_decref(all);
    all = all_pages(t.key, "/v1/attestation-campaigns?filter=state%3DCLOSED", "campaigns", 2);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    char term[128];
    snprintf(term, sizeof(term), "entity=%s", e2);
    snprintf(path, sizeof(path), "/v1/attestation-campaigns?orderBy=updateTime&filter=%s",
             enc(term));
    all = all_pages(t.key, path, "campaigns", 2);
    ck_assert_int_eq(json_array_size(all), 1);
    ck_assert_str_eq(jstr(json_array_get(all, 0), "id"), ids[4]);
    json_decref(all);
    /* Every kind a campaign can have filters (IMPLEMENTATION_OVERSIGHT was
     * refused as "not a kind"). */
    snprintf(path, sizeof(path), "/v1/attestation-campaigns?filter=%s",
             enc("kind=IMPLEMENTATION_OVERSIGHT"));
    all = all_pages(t.key, path, "campaigns", 2);
    ck_assert_int_eq(json_array_size(all), 1);
    ck_assert_str_eq(jstr(json_array_get(all, 0), "id"), ids[4]);
    json_decref(all);
    refused(t.key, "filter", "/v1/attestation-campaigns?entity=%s&filter=%s", e1, enc(term));
    refused(t.key, "filter", "/v1/attestation-campaigns?filter=%s", enc("kind=TRAINING"));
    refused(t.key, "filter", "/v1/attestation-campaigns?filter=%s", enc("state=open"));
    common_refusals(t.key, "/v1/attestation-campaigns", "dueAt");

    /* updatedSince: an attestation between two pages changes its campaign
     * (tally, etag, updateTime), which comes back at the end. */
    json_t *created =
        all_pages(t.key, "/v1/attestation-campaigns?orderBy=createTime", "campaigns", 5);
    const char *t0 = jstr(json_array_get(created, 0), "updateTime");
    ck_assert_str_eq(t0, jstr(json_array_get(created, 0), "createTime"));
    snprintf(path, sizeof(path), "/v1/attestation-campaigns?updatedSince=%s", t0);
    json_decref(created);
    json_t *first = expect(200, "GET", t.key, NULL, "%s&pageSize=1", path);
    json_t *before = json_array_get(json_object_get(first, "campaigns"), 0);
    ck_assert_str_eq(jstr(before, "id"), ids[1]);
    snprintf(body, sizeof(body), "{\"member\":\"%s\",\"decision\":\"APPROVE\"}", member);
    json_decref(
        expect(201, "POST", t.key, body, "/v1/attestation-campaigns/%s/attestations", ids[1]));
    json_t *rest = expect(200, "GET", t.key, NULL, "%s&pageSize=10&pageToken=%s", path,
                          enc(jstr(first, "nextPageToken")));
    json_t *items = json_object_get(rest, "campaigns");
    ck_assert_int_eq(json_array_size(items), 4); /* ids 2, 3, 4, then 1 again */
    json_t *after = json_array_get(items, 3);
    ck_assert_str_eq(jstr(after, "id"), ids[1]);
    ck_assert_int_eq(json_integer_value(json_object_get(after, "approvals")), 1);
    ck_assert_str_ne(jstr(after, "etag"), jstr(before, "etag"));
    ck_assert_int_gt(key_cmp(jstr(after, "updateTime"), jstr(before, "updateTime")), 0);
    /* GetCampaign says the same. */
    json_t *got_one = expect(200, "GET", t.key, NULL, "/v1/attestation-campaigns/%s", ids[1]);
    ck_assert_str_eq(jstr(got_one, "updateTime"), jstr(after, "updateTime"));
    ck_assert_str_eq(jstr(got_one, "etag"), jstr(after, "etag"));
    json_decref(got_one);
    json_decref(rest);
    json_decref(first);

    tenant_t other = new_tenant("Lists: campaigns, other");
    all = all_pages(other.key, path, "campaigns", 10);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    free_tenant(&other);
    for (int i = 0; i < 5; i++)
        free(ids[i]);
    free(member);
    free(e1);
    free(e2);
    free_tenant(&t);
}
END_TEST

/* ---- audit events -------------------------------------------------------- */

START_TEST(audit_events)
{
    tenant_t t = new_tenant("Lists: audit events");
    for (int i = 0; i < 3; i++)
        free(create(&t, "{\"name\":\"Audited\",\"timeZone\":\"UTC\"}", "/v1/entities"));
    json_decref(expect(400, "POST", t.key, "{\"name\":\"\",\"timeZone\":\"UTC\"}", "/v1/entities"));
    /* Ties cannot be made over HTTP (every request has its own time):
     * five rows recorded at one instant, as a superuser would. */
    PGconn *su = bw_test_pg("BULWARK_TEST_SUPERUSER_DATABASE_URL");
    bw_test_exec(su,
                 "INSERT INTO bulwark.audit_events (tenant_id, event_id, occur_time, service,"
                 " action, resource, principal, request_id, outcome)"
                 " SELECT $1::uuid, gen_random_uuid(), now(), 'test', 'test.Tie', '', 'tester',"
                 " 'tie-' || g, 'OK' FROM generate_series(1, 5) g",
                 t.id);
    PQfinish(su);

    /* Newest first by default; time both ways across the tie. */
    json_t *newest = all_pages(t.key, "/v1/audit-events?filter=service%3Dtest", "auditEvents", 2);
    ck_assert_int_eq(json_array_size(newest), 5);
    for (size_t i = 1; i < 5; i++)
        ck_assert_str_gt(jstr(json_array_get(newest, i - 1), "id"),
                         jstr(json_array_get(newest, i), "id"));
    json_t *oldest =
        all_pages(t.key, "/v1/audit-events?orderBy=time&filter=service%3Dtest", "auditEvents", 2);
    json_t *back = reversed(newest);
    char *want = column(back, "id"), *got = column(oldest, "id");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    json_decref(back);
    json_decref(oldest);
    json_decref(newest);
    json_t *all = all_pages(t.key, "/v1/audit-events?orderBy=time%20desc", "auditEvents", 3);
    ck_assert_int_ge(json_array_size(all), 9); /* tenant creation, 3 + 1 writes, 5 ties */
    assert_ordered(all, "time", 1);
    json_decref(all);

    /* Filters, and the parameters that were there before. */
    all = all_pages(t.key,
                    "/v1/audit-events?filter=action%3Dscoping.CreateEntity%20AND%20outcome%3DOK",
                    "auditEvents", 2);
    ck_assert_int_eq(json_array_size(all), 3);
    json_decref(all);
    all = all_pages(t.key, "/v1/audit-events?outcome=INVALID_ARGUMENT&filter=service%3Dscoping",
                    "auditEvents", 2);
    ck_assert_int_eq(json_array_size(all), 1);
    ck_assert_str_eq(jstr(json_array_get(all, 0), "action"), "scoping.CreateEntity");
    json_decref(all);
    refused(t.key, "filter", "/v1/audit-events?outcome=OK&filter=%s", enc("outcome=OK"));
    refused(t.key, "filter", "/v1/audit-events?filter=%s", enc("reason=X"));
    /* A parameter without "=" is named (the query was "malformed"). */
    json_t *bad_query = expect(400, "GET", t.key, NULL, "/v1/audit-events?pageSize=1&foo");
    ck_assert(has_field_error(bad_query, "foo"));
    ck_assert_str_eq(jstr(bad_query, "detail"), "foo has no value: give it as foo=value");
    json_decref(bad_query);
    bad_query = expect(400, "GET", t.key, NULL, "/v1/audit-events?pageSize=1&&orderBy=time");
    ck_assert_ptr_nonnull(strstr(jstr(bad_query, "detail"), "a parameter without a name"));
    json_decref(bad_query);
    {
        /* A parameter as long as filter= allows, no longer (400 naming it,
         * as filter= says; it was taken, and a page of it could not have
         * been bound into a next page's token). */
        char *id = malloc(4101);
        ck_assert_ptr_nonnull(id);
        memset(id, 'z', 4100);
        id[4100] = '\0';
        for (int i = 0; i < 2; i++)
            json_decref(expect(404, "DELETE", t.key, NULL, "/v1/entities/%s", id));
        refused(t.key, "resource", "/v1/audit-events?resource=%s&pageSize=1", id);
        free(id);
    }
    common_refusals(t.key, "/v1/audit-events", "time desc");
    char *token = first_token(t.key, "/v1/audit-events?orderBy=time");
    refused(t.key, "pageToken", "/v1/audit-events?pageToken=%s", enc(token));
    refused(t.key, "pageToken", "/v1/audit-events?orderBy=time&action=x&pageToken=%s", enc(token));
    free(token);

    /* updatedSince: events recorded after the first, oldest first; a write
     * between two pages comes at the end. */
    json_t *first_page =
        expect(200, "GET", t.key, NULL, "/v1/audit-events?orderBy=time&pageSize=1");
    char path[512];
    snprintf(path, sizeof(path), "/v1/audit-events?updatedSince=%s",
             jstr(json_array_get(json_object_get(first_page, "auditEvents"), 0), "time"));
    json_decref(first_page);
    json_t *first = expect(200, "GET", t.key, NULL, "%s&pageSize=2", path);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(first, "auditEvents"), 0), "action"),
                     "scoping.CreateEntity");
    free(create(&t, "{\"name\":\"Late\",\"timeZone\":\"UTC\"}", "/v1/entities"));
    json_t *rest = json_array();
    token = sdup(first, "nextPageToken");
    while (token[0] != '\0') {
        json_t *page =
            expect(200, "GET", t.key, NULL, "%s&pageSize=2&pageToken=%s", path, enc(token));
        json_array_extend(rest, json_object_get(page, "auditEvents"));
        free(token);
        token = sdup(page, "nextPageToken");
        json_decref(page);
    }
    free(token);
    json_t *last = json_array_get(rest, json_array_size(rest) - 1);
    ck_assert_str_eq(jstr(last, "action"), "scoping.CreateEntity");
    assert_ordered(rest, "time", 0);
    json_decref(rest);
    json_decref(first);

    tenant_t other = new_tenant("Lists: audit, other");
    all = all_pages(other.key, "/v1/audit-events?filter=service%3Dtest", "auditEvents", 10);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    all = all_pages(other.key, path, "auditEvents", 10);
    ck_assert_int_eq(count_of(all, "action", "scoping.CreateEntity"), 0);
    ck_assert_int_eq(count_of(all, "service", "test"), 0);
    json_decref(all);
    free_tenant(&other);
    free_tenant(&t);
}
END_TEST

/* ---- the document -------------------------------------------------------- */

/* Every orderBy value and every filter field /v1/openapi.json lists for a
 * list route is accepted; one value beyond them is not. */
START_TEST(the_documented_values_are_accepted)
{
    tenant_t t = new_tenant("Lists: document");
    char *e = create(&t, "{\"name\":\"Doc\",\"timeZone\":\"UTC\"}", "/v1/entities");
    json_t *doc = expect(200, "GET", NULL, NULL, "/v1/openapi.json");
    json_t *paths = json_object_get(doc, "paths");
    const char *template;
    json_t *item;
    int lists = 0;
    json_object_foreach(paths, template, item)
    {
        json_t *params = json_object_get(json_object_get(item, "get"), "parameters");
        json_t *order_by = NULL, *filter = NULL;
        for (size_t i = 0; i < json_array_size(params); i++) {
            json_t *p = json_array_get(params, i);
            if (strcmp(jstr(p, "name"), "orderBy") == 0)
                order_by = p;
            if (strcmp(jstr(p, "name"), "filter") == 0)
                filter = p;
        }
        if (order_by == NULL)
            continue;
        lists++;
        ck_assert_ptr_nonnull(filter);
        /* The path, with the entity for {entity}. */
        char path[256];
        const char *var = strstr(template, "{entity}");
        if (var != NULL)
            snprintf(path, sizeof(path), "%.*s%s%s?", (int)(var - template), template, e,
                     var + strlen("{entity}"));
        else
            snprintf(path, sizeof(path), "%s?", template);
        json_t *values = json_object_get(json_object_get(order_by, "schema"), "enum");
        ck_assert_int_gt(json_array_size(values), 0);
        for (size_t i = 0; i < json_array_size(values); i++)
            json_decref(expect(200, "GET", t.key, NULL, "%sorderBy=%s", path,
                               enc(json_string_value(json_array_get(values, i)))));
        refused(t.key, "orderBy", "%sorderBy=id", path);
        json_t *fields = json_object_get(filter, "x-filter-fields");
        ck_assert_int_gt(json_object_size(fields), 0);
        const char *name;
        json_t *schema;
        json_object_foreach(fields, name, schema)
        {
            json_t *choices = json_object_get(schema, "enum");
            const char *type = jstr(schema, "type");
            char term[128];
            if (json_array_size(choices) > 0)
                snprintf(term, sizeof(term), "%s=%s", name,
                         json_string_value(json_array_get(choices, 0)));
            else if (strcmp(type, "boolean") == 0)
                snprintf(term, sizeof(term), "%s=true", name);
            else /* an id fits every text field */
                snprintf(term, sizeof(term), "%s=6f1c2b5e-9d4a-4c1e-8f3b-2a7d9e0c5b41", name);
            json_decref(expect(200, "GET", t.key, NULL, "%sfilter=%s", path, enc(term)));
        }
        refused(t.key, "filter", "%sfilter=%s", path, enc("undocumented=1"));
        char since[32];
        time_from_now(-60, since);
        json_decref(expect(200, "GET", t.key, NULL, "%supdatedSince=%s", path, since));
    }
    ck_assert_int_eq(lists, 6);
    json_decref(doc);
    free(e);
    free_tenant(&t);
}
END_TEST

Suite *suite_lists(void)
{
    Suite *s = suite_create("lists");
    TCase *tc = tcase_create("lists");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, entities);
    tcase_add_test(tc, incidents);
    tcase_add_test(tc, controls);
    tcase_add_test(tc, board_members);
    tcase_add_test(tc, campaigns);
    tcase_add_test(tc, audit_events);
    tcase_add_test(tc, the_documented_values_are_accepted);
    suite_add_tcase(s, tc);
    return s;
}
