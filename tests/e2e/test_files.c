/*
 * Files and pictures over real HTTP (issue 14 items 4 and 5): the SoA
 * imported as a text/csv body and exported as CSV or XLSX by Accept, the
 * gap analysis and the incident register as XLSX, the gap analysis and an
 * incident's timeline as SVG; 406, 415 and the 400 naming a body that is
 * not UTF-8; a 5 MB, 10,000-row CSV read whole in linear time. Workbooks
 * are read back with unzip (an XLSX is a zip of XML sheets). Chromium draws
 * the pictures in tests/apidocs/pictures.test.mjs.
 */
#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XLSX "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* GET or POST path (printf) with one optional extra header. */
static void send(bw_test_resp_t *r, const char *method, const char *key, const char *body,
                 const char *header, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void send(bw_test_resp_t *r, const char *method, const char *key, const char *body,
                 const char *header, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    const char *headers[] = {header, NULL};
    ck_assert_int_eq(bw_test_http(method, path, key, body, header ? headers : NULL, r), 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- reading a workbook back ------------------------------------------- */

/* The text of member (e.g. "xl/worksheets/sheet1.xml") of the XLSX in
 * resp, by unzip -p; caller frees. */
static char *xlsx_member(const bw_test_resp_t *resp, const char *member)
{
    char path[] = "/tmp/bulwark-e2e-xlsx-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, resp->body, resp->body_len), (ssize_t)resp->body_len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "unzip -p %s %s", path, member);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 4096)
            text = realloc(text, cap *= 2);
    }
    text[len] = '\0';
    int rc = pclose(p);
    unlink(path);
    ck_assert_msg(rc == 0, "unzip -p %s failed (%d)", member, rc);
    return text;
}

/* The text of cell ref ("B2") of a sheet's XML, inline string or number;
 * NULL when the cell is absent. Caller frees. */
static char *cell(const char *sheet, const char *ref)
{
    char open[32];
    snprintf(open, sizeof(open), "<c r=\"%s\"", ref);
    const char *c = strstr(sheet, open);
    if (c == NULL)
        return NULL;
    const char *end = strstr(c, "</c>");
    const char *t = strstr(c, "<t");
    const char *v = strstr(c, "<v>");
    const char *start = NULL;
    if (t != NULL && t < end)
        start = strchr(t, '>') + 1;
    else if (v != NULL && v < end)
        start = v + 3;
    if (start == NULL)
        return NULL;
    const char *stop = strchr(start, '<');
    return strndup(start, (size_t)(stop - start));
}

#define ck_cell(sheet, ref, want)                                                                  \
    do {                                                                                           \
        char *got_ = cell((sheet), (ref));                                                         \
        ck_assert_msg(got_ != NULL && strcmp(got_, (want)) == 0, "cell %s is %s, want %s", (ref),  \
                      got_ ? got_ : "(absent)", (want));                                           \
        free(got_);                                                                                \
    } while (0)

/* ---- CSV ---------------------------------------------------------------- */

START_TEST(soa_imported_as_csv_body_and_exported_as_csv)
{
    tenant_t t = new_tenant_with_entity("Files CSV", ACME_CLOUD);
    bw_test_resp_t r;
    const char *csv = "ref,applicable,status,justification\r\n"
                      "A.5.1,true,IMPLEMENTED,\"Approved, by the board\"\r\n"
                      "A.5.24,true,PARTIAL,=SUM(A1)\r\n";
    send(&r, "POST", t.key, csv, "Content-Type: text/csv; charset=utf-8",
         "/v1/entities/%s/controls:import", t.entity);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 2);
    bw_test_resp_free(&r);

    send(&r, "GET", t.key, NULL, "Accept: text/csv", "/v1/entities/%s/controls:export", t.entity);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/csv; charset=utf-8");
    char want[128];
    snprintf(want, sizeof(want), "attachment; filename=\"soa-%s.csv\"", t.entity);
    ck_assert_str_eq(bw_test_header(&r, "Content-Disposition"), want);
    ck_assert_str_eq(bw_test_header(&r, "X-Content-Type-Options"), "nosniff");
    /* The export neutralises the formula and the import reads it back. */
    ck_assert_str_eq(r.body, "ref,applicable,status,justification,owner,evidence\r\n"
                             "A.5.1,true,IMPLEMENTED,\"Approved, by the board\",,\r\n"
                             "A.5.24,true,PARTIAL,'=SUM(A1),,\r\n");
    char *exported = strdup(r.body);
    bw_test_resp_free(&r);
    send(&r, "POST", t.key, exported, "Content-Type: text/csv", "/v1/entities/%s/controls:import",
         t.entity);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "changed")), 0);
    bw_test_resp_free(&r);
    free(exported);

    /* JSON stays the default, and what Accept prefers wins. */
    send(&r, "GET", t.key, NULL, NULL, "/v1/entities/%s/controls:export", t.entity);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), 2);
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, "Accept: text/csv;q=0.5, application/json",
         "/v1/entities/%s/controls:export", t.entity);
    ck_assert_ptr_nonnull(r.json);
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, "Accept: text/*", "/v1/entities/%s/controls:export", t.entity);
    ck_assert_str_eq(r.content_type, "text/csv; charset=utf-8");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

START_TEST(bad_csv_bodies_and_accepts_are_refused_and_nothing_is_written)
{
    tenant_t t = new_tenant_with_entity("Files bad CSV", ACME_CLOUD);
    bw_test_resp_t r;
    /* "Genehmigt" with a Latin-1 e acute: not UTF-8. */
    send(&r, "POST", t.key,
         "ref,applicable,status,justification\nA.5.1,true,IMPLEMENTED,Gen\xe9hmigt\n",
         "Content-Type: text/csv", "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 400, "body");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "not UTF-8 (line 2, byte 63)"));
    bw_test_resp_free(&r);
    send(&r, "POST", t.key, "ref,applicable,status,justification\nA.5.1,true,IMPLEMENTED,x\n",
         "Content-Type: text/csv; charset=iso-8859-1", "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 415, NULL);
    ck_assert_str_eq(jstr(r.json, "reason"), "UNSUPPORTED_MEDIA_TYPE");
    bw_test_resp_free(&r);
    send(&r, "POST", t.key, "ref,applicable,status,justification\nA.5.1,true,IMPLEMENTED,x\n",
         "Content-Type: text/plain", "/v1/entities/%s/controls:import", t.entity);
    ck_assert_problem(&r, 415, NULL);
    ck_assert_str_eq(jstr(r.json, "detail"), "the body must be application/json or text/csv");
    bw_test_resp_free(&r);
    /* A CSV body where a route takes only JSON. */
    send(&r, "POST", t.key, "name\nAcme\n", "Content-Type: text/csv", "/v1/entities");
    ck_assert_problem(&r, 415, NULL);
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, NULL, "/v1/entities/%s/controls/A.5.1", t.entity);
    ck_assert_int_eq(r.status, 404);
    bw_test_resp_free(&r);

    send(&r, "GET", t.key, NULL, "Accept: application/pdf", "/v1/entities/%s/controls:export",
         t.entity);
    ck_assert_problem(&r, 406, "Accept");
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "detail"), "text/csv"));
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, "Accept: text/csv", "/v1/entities/%s", t.entity);
    ck_assert_problem(&r, 406, "Accept");
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, "Accept: application/json", "/v1/entities/%s/gap-analysis.svg",
         t.entity);
    ck_assert_problem(&r, 406, "Accept");
    bw_test_resp_free(&r);
    /* The gateway fills a file's media type; a client cannot. */
    send(&r, "GET", t.key, NULL, "Accept: text/csv",
         "/v1/entities/%s/controls:export?mediaType=text/csv", t.entity);
    ck_assert_problem(&r, 400, "mediaType");
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

/* The assessable ISO/IEC 27001 refs (caller frees the array and strings). */
static char **assessable_refs(const char *key, size_t *n)
{
    bw_test_resp_t r;
    send(&r, "GET", key, NULL, NULL, "/v1/frameworks/iso27001-2022/requirements?pageSize=500");
    ck_assert_int_eq(r.status, 200);
    json_t *reqs = json_object_get(r.json, "requirements");
    char **refs = calloc(json_array_size(reqs) + 1, sizeof(*refs));
    *n = 0;
    for (size_t i = 0; i < json_array_size(reqs); i++)
        if (json_is_true(json_object_get(json_array_get(reqs, i), "assessable")))
            refs[(*n)++] = strdup(jstr(json_array_get(reqs, i), "ref"));
    bw_test_resp_free(&r);
    return refs;
}

/* A CSV of rows rows of about 500 bytes, cycling through refs. */
static char *big_csv(char **refs, size_t n_refs, int rows)
{
    char filler[481];
    memset(filler, 'x', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    size_t cap = 64 + (size_t)rows * 520;
    char *csv = malloc(cap);
    size_t o = (size_t)snprintf(csv, cap, "ref,applicable,status,justification\n");
    for (int i = 0; i < rows; i++)
        o += (size_t)snprintf(csv + o, cap - o, "%s,true,PARTIAL,%s\n", refs[(size_t)i % n_refs],
                              filler);
    return csv;
}

START_TEST(a_5_mb_10000_row_csv_is_read_whole_in_linear_time)
{
    tenant_t t = new_tenant_with_entity("Files big CSV", ACME_CLOUD);
    size_t n_refs;
    char **refs = assessable_refs(t.key, &n_refs);
    ck_assert_uint_gt(n_refs, 100);
    bw_test_resp_t r;

    /* Every control once, each with a long justification: imported. */
    char *valid = big_csv(refs, n_refs, (int)n_refs);
    send(&r, "POST", t.key, valid, "Content-Type: text/csv", "/v1/entities/%s/controls:import",
         t.entity);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rows")), (int)n_refs);
    bw_test_resp_free(&r);
    free(valid);

    /* 10,000 rows, 5 MB: a control may appear once, so every row after the
     * catalogue's is refused on its line, and nothing is written. The
     * gateway takes the file whole (no 413) and the answer comes in time
     * linear in its size. */
    double t_small = 0, t_big = 0;
    for (int rows = 2500; rows <= 10000; rows *= 4) {
        char *csv = big_csv(refs, n_refs, rows);
        if (rows == 10000)
            ck_assert_uint_gt(strlen(csv), 5000000);
        double t0 = now_s();
        send(&r, "POST", t.key, csv, "Content-Type: text/csv", "/v1/entities/%s/controls:import",
             t.entity);
        double took = now_s() - t0;
        *(rows == 2500 ? &t_small : &t_big) = took;
        ck_assert_problem(&r, 400, "csv");
        char line[64];
        snprintf(line, sizeof(line), "line %zu: %s already appears on line 2", n_refs + 2, refs[0]);
        ck_assert_msg(strstr(r.body, line) != NULL, "no \"%s\" in %.400s", line, r.body);
        /* Every row past the catalogue's is a problem; the last error
         * counts those not shown. */
        int shown = (int)json_array_size(json_object_get(r.json, "errors")) - 1;
        char more[96];
        snprintf(more, sizeof(more), "%d more problems not shown; nothing was imported",
                 rows - (int)n_refs - shown);
        ck_assert_msg(strstr(r.body, more) != NULL, "no \"%s\" in %.400s", more, r.body);
        bw_test_resp_free(&r);
        free(csv);
    }
    fprintf(stderr, "import of 2,500 rows answered in %.3f s, of 10,000 rows in %.3f s\n", t_small,
            t_big);
    ck_assert_msg(t_big < 20.0, "10,000 rows took %.1f s", t_big);
    /* Four times the rows: linear work takes about four times as long. */
    ck_assert_msg(t_big < 10 * t_small + 1.0, "2,500 rows %.3f s, 10,000 rows %.3f s", t_small,
                  t_big);
    send(&r, "GET", t.key, NULL, NULL, "/v1/entities/%s/controls/%s", t.entity, refs[0]);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(jstr(r.json, "status"), "PARTIAL");
    bw_test_resp_free(&r);
    for (size_t i = 0; i < n_refs; i++)
        free(refs[i]);
    free(refs);
    free_tenant(&t);
}
END_TEST

/* ---- XLSX --------------------------------------------------------------- */

START_TEST(soa_and_gap_analysis_as_xlsx_read_back)
{
    tenant_t t = new_tenant_with_entity("Files XLSX", ACME_CLOUD);
    bw_test_resp_t r;
    send(&r, "POST", t.key,
         "ref,applicable,status,justification\nA.5.1,true,IMPLEMENTED,\"<Board> & \"\"CISO\"\"\"\n"
         "A.5.24,true,PARTIAL,=1+1\n",
         "Content-Type: text/csv", "/v1/entities/%s/controls:import", t.entity);
    ck_assert_int_eq(r.status, 200);
    bw_test_resp_free(&r);

    send(&r, "GET", t.key, NULL, "Accept: " XLSX, "/v1/entities/%s/controls:export", t.entity);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, XLSX);
    char want[128];
    snprintf(want, sizeof(want), "attachment; filename=\"soa-%s.xlsx\"", t.entity);
    ck_assert_str_eq(bw_test_header(&r, "Content-Disposition"), want);
    ck_assert_int_eq(memcmp(r.body, "PK\x03\x04", 4), 0);
    char *sheet = xlsx_member(&r, "xl/worksheets/sheet1.xml");
    ck_cell(sheet, "A1", "ref");
    ck_cell(sheet, "B1", "title");
    ck_cell(sheet, "A2", "A.5.1");
    ck_cell(sheet, "B2", "Policies for information security");
    ck_cell(sheet, "D2", "IMPLEMENTED");
    ck_cell(sheet, "E2", "&lt;Board&gt; &amp; \"CISO\"");
    /* A formula is text in a cell, not a formula. */
    ck_cell(sheet, "E3", "=1+1");
    ck_assert_ptr_null(strstr(sheet, "<f>"));
    free(sheet);
    bw_test_resp_free(&r);

    send(&r, "GET", t.key, NULL, "Accept: " XLSX, "/v1/entities/%s/gap-analysis?framework=nis2",
         t.entity);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(r.content_type, XLSX);
    char *reqs = xlsx_member(&r, "xl/worksheets/sheet1.xml");
    char *points = xlsx_member(&r, "xl/worksheets/sheet2.xml");
    char *book = xlsx_member(&r, "xl/workbook.xml");
    ck_assert_ptr_nonnull(strstr(book, "name=\"Requirements\""));
    ck_assert_ptr_nonnull(strstr(book, "name=\"Art 21(2) points\""));
    ck_cell(reqs, "A1", "ref");
    ck_cell(reqs, "E1", "coverage");
    ck_cell(points, "A2", "21.2.a");
    ck_cell(points, "A11", "21.2.j");
    free(reqs);
    free(points);
    free(book);
    bw_test_resp_free(&r);

    /* The same numbers as the JSON. */
    send(&r, "GET", t.key, NULL, NULL, "/v1/entities/%s/gap-analysis?framework=nis2", t.entity);
    json_t *a = json_array_get(json_object_get(r.json, "points"), 0);
    char covered[16];
    snprintf(
        covered, sizeof(covered), "%lld",
        (long long)json_integer_value(json_object_get(json_object_get(a, "totals"), "covered")));
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, "Accept: " XLSX, "/v1/entities/%s/gap-analysis?framework=nis2",
         t.entity);
    points = xlsx_member(&r, "xl/worksheets/sheet2.xml");
    ck_cell(points, "F2", covered);
    free(points);
    bw_test_resp_free(&r);
    free_tenant(&t);
}
END_TEST

/* Creates an incident of the tenant's entity aware at aware (RFC 3339);
 * caller frees the id. */
static char *new_incident(const tenant_t *t, const char *title, const char *aware)
{
    json_t *body = json_pack("{s:s, s:s, s:s, s:b}", "entity", t->entity, "title", title, "awareAt",
                             aware, "significant", 1);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    bw_test_resp_t r;
    send(&r, "POST", t->key, text, NULL, "/v1/incidents");
    free(text);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    char *id = strdup(jstr(r.json, "id"));
    bw_test_resp_free(&r);
    return id;
}

START_TEST(incident_register_as_xlsx_with_local_deadlines)
{
    tenant_t t = new_tenant_with_entity("Files register", ACME_CLOUD);
    /* Aware on the evening of 30 March 2025, the day Berlin moved to
     * summer time: the early warning is due 24 hours later, 31 March
     * 20:30 local time (+02:00). */
    char *id = new_incident(&t, "Outage & <leak>", "2025-03-30T20:30:00+02:00");
    char *other = new_incident(&t, "Second", "2025-04-02T10:00:00+02:00");
    bw_test_resp_t r;
    send(&r, "GET", t.key, NULL, "Accept: " XLSX, "/v1/incidents?entity=%s", t.entity);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(bw_test_header(&r, "Content-Disposition"),
                     "attachment; filename=\"incident-register.xlsx\"");
    char *incidents = xlsx_member(&r, "xl/worksheets/sheet1.xml");
    char *deadlines = xlsx_member(&r, "xl/worksheets/sheet2.xml");
    ck_cell(incidents, "A2", id);
    ck_cell(incidents, "B2", "Outage &amp; &lt;leak&gt;");
    ck_cell(incidents, "G2", "2025-03-30 20:30:00+02:00");
    ck_cell(incidents, "I2", "Europe/Berlin");
    ck_cell(incidents, "A3", other);
    ck_cell(deadlines, "A2", id);
    ck_cell(deadlines, "D2", "EARLY_WARNING");
    ck_cell(deadlines, "E2", "2025-03-31T20:30:00+02:00");
    ck_cell(deadlines, "G2", "OVERDUE");
    free(incidents);
    free(deadlines);
    bw_test_resp_free(&r);
    /* A page parameter is for the JSON list, not the register. */
    send(&r, "GET", t.key, NULL, "Accept: " XLSX, "/v1/incidents?pageSize=1");
    ck_assert_problem(&r, 400, "pageSize");
    bw_test_resp_free(&r);
    free(id);
    free(other);
    free_tenant(&t);
}
END_TEST

/* ---- SVG ---------------------------------------------------------------- */

START_TEST(pictures_are_escaped_svg)
{
    tenant_t t = new_tenant_with_entity("Files SVG", ACME_CLOUD);
    const char *title = "</text><script>alert(1)</script><text x=\"&amp;\">'";
    char *id = new_incident(&t, title, "2025-06-10T09:15:00+02:00");
    bw_test_resp_t r;
    send(&r, "POST", t.key,
         "{\"type\":\"EARLY_WARNING_SUBMITTED\",\"occurredAt\":\"2025-06-11T12:00:00+02:00\","
         "\"note\":\"<img src=x onerror=alert(2)>\"}",
         NULL, "/v1/incidents/%s/events", id);
    ck_assert_int_eq(r.status, 201);
    bw_test_resp_free(&r);

    send(&r, "GET", t.key, NULL, NULL, "/v1/incidents/%s/timeline.svg", id);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(r.content_type, "image/svg+xml; charset=utf-8");
    ck_assert_ptr_null(bw_test_header(&r, "Content-Disposition"));
    ck_assert_ptr_nonnull(strstr(bw_test_header(&r, "Content-Security-Policy"), "sandbox"));
    ck_assert_int_eq(strncmp(r.body, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    ck_assert_ptr_null(strstr(r.body, "<script"));
    ck_assert_ptr_null(strstr(r.body, "<img"));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
                                         "&lt;text x=&quot;&amp;amp;&quot;&gt;&#39;"));
    ck_assert_ptr_nonnull(strstr(r.body, "&lt;img src=x onerror=alert(2)&gt;"));
    /* Late: the early warning was due at 09:15 the next day. */
    ck_assert_ptr_nonnull(strstr(r.body, "class=\"deadline late\""));
    ck_assert_ptr_nonnull(strstr(r.body, "NIS2 EARLY_WARNING: MISSED, due 2025-06-11 09:15"));
    ck_assert_ptr_nonnull(strstr(r.body, "Times in Europe/Berlin"));
    ck_assert_ptr_nonnull(strstr(r.body, "deadline late (missed or overdue)"));
    bw_test_resp_free(&r);

    /* U+FFFF is valid UTF-8, so a valid title, but no XML character: the
     * picture drops it rather than becoming a document no parser reads. */
    char *odd =
        new_incident(&t, "Outage \xef\xbf\xbf of \xef\xbf\xbe mail", "2025-06-10T09:15:00+02:00");
    send(&r, "GET", t.key, NULL, NULL, "/v1/incidents/%s/timeline.svg", odd);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_null(strstr(r.body, "\xef\xbf\xbf"));
    ck_assert_ptr_null(strstr(r.body, "\xef\xbf\xbe"));
    ck_assert_ptr_nonnull(strstr(r.body, ">Outage  of  mail</text>"));
    bw_test_resp_free(&r);
    free(odd);

    send(&r, "GET", t.key, NULL, "Accept: image/*", "/v1/entities/%s/gap-analysis.svg", t.entity);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(r.content_type, "image/svg+xml; charset=utf-8");
    for (char p = 'a'; p <= 'j'; p++) {
        char label[32];
        snprintf(label, sizeof(label), ">21.2.%c</text>", p);
        ck_assert_msg(strstr(r.body, label) != NULL, "no bar for %s", label);
    }
    ck_assert_ptr_nonnull(strstr(r.body, "Requirements outside Art 21(2)"));
    ck_assert_ptr_nonnull(strstr(r.body, "class=\"legend\""));
    bw_test_resp_free(&r);

    /* Another tenant's incident is not found, as a picture too. */
    tenant_t other = new_tenant_with_entity("Files SVG other", ACME_CLOUD);
    send(&r, "GET", other.key, NULL, NULL, "/v1/incidents/%s/timeline.svg", id);
    ck_assert_problem(&r, 404, NULL);
    bw_test_resp_free(&r);
    send(&r, "GET", t.key, NULL, NULL, "/v1/entities/%s/gap-analysis.svg?framework=iso27001-2022",
         t.entity);
    ck_assert_problem(&r, 400, "framework");
    bw_test_resp_free(&r);
    free_tenant(&other);
    free(id);
    free_tenant(&t);
}
END_TEST

Suite *suite_files(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, soa_imported_as_csv_body_and_exported_as_csv);
    tcase_add_test(tc, bad_csv_bodies_and_accepts_are_refused_and_nothing_is_written);
    tcase_add_test(tc, a_5_mb_10000_row_csv_is_read_whole_in_linear_time);
    tcase_add_test(tc, soa_and_gap_analysis_as_xlsx_read_back);
    tcase_add_test(tc, incident_register_as_xlsx_with_local_deadlines);
    tcase_add_test(tc, pictures_are_escaped_svg);
    suite_add_tcase(s, tc);
    return s;
}
