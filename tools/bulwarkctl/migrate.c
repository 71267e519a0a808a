/*
 * bulwarkctl migrate: reads every component's migration directory first (so a
 * misnamed or unreadable file stops the run before the database is touched),
 * then, holding a session advisory lock so that two migrators never
 * interleave, checks that no applied file changed since it was applied and
 * applies the pending files in numeric order, each in one transaction with its
 * bookkeeping row. A .sql file is sent whole with PQexec, which runs several
 * statements; an error message points at the file's line. A data file
 * NNNN_<schema>.<table>.csv (RFC 4180, a header row naming the columns) is
 * loaded with COPY ... FROM STDIN through PQputCopyData, in the same order and
 * with the same bookkeeping; its names are checked before the database is
 * touched and quoted in the COPY statement.
 */
#include "migrate.h"

#include "buf.h"
#include "ids.h"
#include "status.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* "BULWARK\x01" read as a big-endian 64-bit integer: the key of the session
 * advisory lock every migrator takes. */
#define MIGRATE_LOCK_KEY "4779810517165427457"
/* A migration is a schema change or a reference data set, never bulk data. */
#define MIGRATE_MAX_FILE (16L * 1024 * 1024)
/* PostgreSQL's NAMEDATALEN - 1. */
#define MIGRATE_MAX_IDENT 63
/* COPY data goes out in pieces of this size. */
#define MIGRATE_COPY_CHUNK (64 * 1024)
#define MIGRATE_MAX_VERSION 99999999L

static const char *const create_table_sql = "CREATE TABLE IF NOT EXISTS public.bulwark_migrations ("
                                            " component text NOT NULL,"
                                            " version int NOT NULL,"
                                            " name text NOT NULL,"
                                            " sha256 text NOT NULL,"
                                            " applied_at timestamptz NOT NULL DEFAULT now(),"
                                            " PRIMARY KEY (component, version))";

enum { MIG_NONE = 0, MIG_SQL = 1, MIG_CSV = 2, MIG_BAD_SQL = -1, MIG_BAD_CSV = -2 };

typedef struct mig_file {
    long version;
    char *name; /* "0001_roles.sql" or "0002_crosswalk.requirements.csv" */
    char *sql;  /* the file's text: SQL, or the CSV data */
    size_t len;
    char sha256[2 * 32 + 1];
    int applied;
    int kind;       /* MIG_SQL or MIG_CSV */
    char *copy_sql; /* MIG_CSV: the COPY statement built from the name and header */
} mig_file_t;

typedef struct mig_component {
    const char *component; /* borrowed */
    const char *dir;       /* borrowed */
    mig_file_t *files;     /* sorted by version */
    size_t n_files;
} mig_component_t;

static void component_free(mig_component_t *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        free(c->files[i].name);
        free(c->files[i].sql);
        free(c->files[i].copy_sql);
    }
    free(c->files);
    c->files = NULL;
    c->n_files = 0;
}

static int valid_component(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !islower((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

int bw_migrate_parse_arg(char *arg, bw_migrate_dir_t *out, FILE *errfp)
{
    char *eq = strchr(arg, '=');
    if (eq == NULL || eq[1] == '\0') {
        fprintf(errfp, "bulwarkctl: invalid argument \"%s\": expected COMPONENT=DIR\n", arg);
        return BW_EINVAL;
    }
    *eq = '\0';
    if (!valid_component(arg)) {
        fprintf(errfp,
                "bulwarkctl: invalid component name \"%s\"\n"
                "HINT: A component name is lower-case letters, digits and underscores, "
                "starting with a letter.\n",
                arg);
        *eq = '=';
        return BW_EINVAL;
    }
    out->component = arg;
    out->dir = eq + 1;
    return 0;
}

/* Whether s[0..n) is an identifier this tool accepts: [a-z_][a-z0-9_]*. */
static int valid_ident(const char *s, size_t n)
{
    if (n == 0 || n > MIGRATE_MAX_IDENT || !(islower((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* The "<schema>.<table>" part of a data file's name (between "NNNN_" and
 * ".csv", n bytes): both identifiers. */
static int valid_table_part(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    return dot != NULL && valid_ident(s, (size_t)(dot - s)) &&
           valid_ident(dot + 1, n - (size_t)(dot - s) - 1);
}

/* Recognises "NNNN_description.sql" and "NNNN_schema.table.csv". Returns
 * MIG_SQL or MIG_CSV with *version set, MIG_NONE for a file that is not a
 * migration at all, MIG_BAD_SQL or MIG_BAD_CSV for a misnamed one. */
static int parse_file_name(const char *name, long *version)
{
    size_t len = strlen(name);
    int kind;
    if (len >= 4 && strcmp(name + len - 4, ".sql") == 0)
        kind = MIG_SQL;
    else if (len >= 4 && strcmp(name + len - 4, ".csv") == 0)
        kind = MIG_CSV;
    else
        return MIG_NONE;
    int bad = kind == MIG_SQL ? MIG_BAD_SQL : MIG_BAD_CSV;
    size_t digits = strspn(name, "0123456789");
    if (digits == 0 || digits > 8 || name[digits] != '_' || digits + 1 + 4 >= len)
        return bad;
    if (kind == MIG_CSV && !valid_table_part(name + digits + 1, len - digits - 1 - 4))
        return bad;
    char *end;
    errno = 0;
    long v = strtol(name, &end, 10);
    if (errno != 0 || end != name + digits || v < 1 || v > MIGRATE_MAX_VERSION)
        return bad;
    *version = v;
    return kind;
}

static int compare_files(const void *a, const void *b)
{
    const mig_file_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int sha256_hex(const char *data, size_t len, char out[2 * 32 + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        return BW_EINTERNAL;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * md_len] = '\0';
    return 0;
}

static int read_file(const char *path, char **out, size_t *out_len, FILE *errfp)
{
    int err = 0;
    char *buf = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(errfp, "bulwarkctl: could not open \"%s\": %s\n", path, strerror(errno));
        return BW_EINVAL;
    }
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(errfp, "bulwarkctl: could not read \"%s\": %s\n", path, strerror(errno));
        err = BW_EINVAL;
        goto out;
    }
    if (size > MIGRATE_MAX_FILE) {
        fprintf(errfp, "bulwarkctl: migration \"%s\" is larger than %ld bytes\n", path,
                MIGRATE_MAX_FILE);
        err = BW_ETOOBIG;
        goto out;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        fprintf(errfp, "bulwarkctl: could not read \"%s\"\n", path);
        err = BW_EINVAL;
        goto out;
    }
    buf[size] = '\0';
    /* PQexec stops at the first NUL: the rest of the file would be skipped. */
    if (memchr(buf, '\0', (size_t)size) != NULL) {
        fprintf(errfp, "bulwarkctl: migration \"%s\" contains a NUL byte\n", path);
        err = BW_EINVAL;
        goto out;
    }
    *out = buf;
    *out_len = (size_t)size;
    buf = NULL;
out:
    free(buf);
    fclose(fp);
    return err;
}

/* The column names a header has named so far: an open-addressing set, so
 * that a header of n columns costs n look-ups, not n * n / 2 comparisons. */
typedef char ident_t[MIGRATE_MAX_IDENT + 1];
typedef struct name_set {
    ident_t *names; /* "" is a free slot */
    size_t cap, used;
} name_set_t;

static ident_t *name_slot(ident_t *names, size_t cap, const char *name)
{
    size_t i = bw_fnv1a(name) & (cap - 1);
    while (names[i][0] != '\0' && strcmp(names[i], name) != 0)
        i = (i + 1) & (cap - 1);
    return &names[i];
}

/* Adds name (an identifier: 1 to MIGRATE_MAX_IDENT bytes): 0, 1 when it was
 * there already, or BW_ENOMEM. */
static int name_set_add(name_set_t *set, const char *name)
{
    if ((set->used + 1) * 2 > set->cap) {
        size_t cap = set->cap == 0 ? 64 : set->cap * 2;
        ident_t *names = calloc(cap, sizeof(*names));
        if (names == NULL)
            return BW_ENOMEM;
        for (size_t i = 0; i < set->cap; i++)
            if (set->names[i][0] != '\0')
                memcpy(*name_slot(names, cap, set->names[i]), set->names[i], sizeof(set->names[i]));
        free(set->names);
        set->names = names;
        set->cap = cap;
    }
    ident_t *slot = name_slot(set->names, set->cap, name);
    if ((*slot)[0] != '\0')
        return 1;
    snprintf(*slot, sizeof(*slot), "%s", name);
    set->used++;
    return 0;
}

/*
 * Builds the COPY statement of a data file from its name and its header row,
 * the file's first CSV record (RFC 4180: fields separated by commas, quoted
 * fields with "" for a quote, the record ends at LF or CRLF outside quotes;
 * a UTF-8 byte order mark before it is skipped). Every column must be an
 * identifier, once. The names are quoted although they need not be, so that
 * no spelling can turn them into something else.
 */
static int build_copy(mig_file_t *f, const char *dir, FILE *errfp)
{
    const char *p = f->sql, *end = f->sql + f->len;
    char col[MIGRATE_MAX_IDENT + 2];
    bw_buf_t cols; /* the quoted column names, comma-separated */
    bw_buf_init(&cols, 0);
    name_set_t seen = {0};
    int err = 0;
    const char *problem = NULL;

    if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    if (p == end || *p == '\n' || *p == '\r') {
        problem = "has no header row";
        goto bad;
    }
    for (;;) {
        size_t n = 0;
        int too_long = 0;
        if (p < end && *p == '"') {
            for (p++;; p++) {
                if (p == end) {
                    problem = "has an unterminated quoted field in its header";
                    goto bad;
                }
                if (*p == '"' && (p + 1 == end || p[1] != '"')) {
                    p++;
                    break;
                }
                if (*p == '"')
                    p++;
                if (n < sizeof(col) - 1)
                    col[n++] = *p;
                else
                    too_long = 1;
            }
            if (p < end && *p != ',' && *p != '\n' && *p != '\r') {
                problem = "has text after a quoted field in its header";
                goto bad;
            }
        } else {
            for (; p < end && *p != ',' && *p != '\n' && *p != '\r'; p++) {
                if (*p == '"') {
                    problem = "has a quote inside an unquoted field of its header";
                    goto bad;
                }
                if (n < sizeof(col) - 1)
                    col[n++] = *p;
                else
                    too_long = 1;
            }
        }
        col[n] = '\0';
        if (too_long || !valid_ident(col, n)) {
            fprintf(errfp,
                    "bulwarkctl: data file \"%s/%s\" names column \"%s%s\" in its header\n"
                    "HINT: Column names are lower-case letters, digits and underscores, not "
                    "starting with a digit.\n",
                    dir, f->name, col, too_long ? "..." : "");
            err = BW_EINVAL;
            goto out;
        }
        if ((err = name_set_add(&seen, col)) == 1) {
            fprintf(errfp, "bulwarkctl: data file \"%s/%s\" names column \"%s\" twice\n", dir,
                    f->name, col);
            err = BW_EINVAL;
            goto out;
        }
        if (err != 0)
            goto out;
        if ((err = bw_buf_printf(&cols, "%s\"%s\"", cols.len > 0 ? ", " : "", col)) != 0)
            goto out;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        break;
    }

    /* "NNNN_schema.table.csv": the digits, '_', the names, ".csv". */
    const char *names = f->name + strspn(f->name, "0123456789") + 1;
    size_t names_len = strlen(names) - 4;
    const char *dot = memchr(names, '.', names_len);
    int schema_len = (int)(dot - names);
    int table_len = (int)(names_len - (size_t)schema_len - 1);
    size_t need = cols.len + names_len + 128;
    f->copy_sql = malloc(need);
    if (f->copy_sql == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    snprintf(f->copy_sql, need,
             "COPY \"%.*s\".\"%.*s\" (%s) FROM STDIN WITH (FORMAT csv, HEADER true)", schema_len,
             names, table_len, dot + 1, cols.data);
    goto out;
bad:
    fprintf(errfp,
            "bulwarkctl: data file \"%s/%s\" %s\n"
            "HINT: A data file is CSV whose first row names the table's columns.\n",
            dir, f->name, problem);
    err = BW_EINVAL;
out:
    free(seen.names);
    bw_buf_free(&cols);
    return err;
}

/* Lists, reads and hashes the migrations of one directory. */
static int load_component(mig_component_t *c, FILE *errfp)
{
    int err = 0;
    size_t cap = 0;
    DIR *d = opendir(c->dir);
    if (d == NULL) {
        fprintf(errfp, "bulwarkctl: could not open migration directory \"%s\": %s\n", c->dir,
                strerror(errno));
        return BW_EINVAL;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        long version;
        if (ent->d_name[0] == '.')
            continue;
        int kind = parse_file_name(ent->d_name, &version);
        if (kind == MIG_NONE)
            continue;
        if (kind == MIG_BAD_SQL) {
            fprintf(errfp,
                    "bulwarkctl: migration file name \"%s/%s\" is not of the form "
                    "NNNN_description.sql\n",
                    c->dir, ent->d_name);
            err = BW_EINVAL;
            goto out;
        }
        if (kind == MIG_BAD_CSV) {
            fprintf(errfp,
                    "bulwarkctl: data file name \"%s/%s\" is not of the form "
                    "NNNN_schema.table.csv\n"
                    "HINT: Schema and table are lower-case letters, digits and underscores, "
                    "not starting with a digit.\n",
                    c->dir, ent->d_name);
            err = BW_EINVAL;
            goto out;
        }
        if (c->n_files == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            mig_file_t *grown = realloc(c->files, ncap * sizeof(*grown));
            if (grown == NULL) {
                err = BW_ENOMEM;
                goto out;
            }
            c->files = grown;
            cap = ncap;
        }
        mig_file_t *f = &c->files[c->n_files];
        memset(f, 0, sizeof(*f));
        f->version = version;
        f->kind = kind;
        f->name = strdup(ent->d_name);
        if (f->name == NULL) {
            err = BW_ENOMEM;
            goto out;
        }
        c->n_files++;
    }
    if (c->n_files > 0)
        qsort(c->files, c->n_files, sizeof(c->files[0]), compare_files);
    for (size_t i = 0; i < c->n_files; i++) {
        mig_file_t *f = &c->files[i];
        if (i > 0 && c->files[i - 1].version == f->version) {
            fprintf(errfp, "bulwarkctl: migrations \"%s\" and \"%s\" in \"%s\" share version %ld\n",
                    c->files[i - 1].name, f->name, c->dir, f->version);
            err = BW_EINVAL;
            goto out;
        }
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", c->dir, f->name);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            fprintf(errfp, "bulwarkctl: path of \"%s\" is too long\n", f->name);
            err = BW_EINVAL;
            goto out;
        }
        err = read_file(path, &f->sql, &f->len, errfp);
        if (err != 0)
            goto out;
        err = sha256_hex(f->sql, f->len, f->sha256);
        if (err != 0)
            goto out;
        if (f->kind == MIG_CSV && (err = build_copy(f, c->dir, errfp)) != 0)
            goto out;
    }
out:
    closedir(d);
    return err;
}

/* Prints a server error the PostgreSQL way, pointing at the file's line when
 * the server reports a position. */
static void print_sql_error(FILE *errfp, const char *what, const PGresult *res, PGconn *conn,
                            const char *sql)
{
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *context = res != NULL ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
    const char *position = res != NULL ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    long line = 0;
    if (position != NULL && sql != NULL) {
        /* The position counts characters, not bytes, from 1. */
        long target = strtol(position, NULL, 10);
        long chars = 0;
        line = 1;
        for (const char *p = sql; *p != '\0' && chars < target - 1; p++) {
            if (((unsigned char)*p & 0xC0) != 0x80)
                chars++;
            if (*p == '\n')
                line++;
        }
    }
    if (primary == NULL) {
        const char *msg = PQerrorMessage(conn);
        size_t n = strcspn(msg, "\n");
        fprintf(errfp, "bulwarkctl: %s failed: %.*s\n", what, (int)n, msg);
        return;
    }
    if (line > 0)
        fprintf(errfp, "bulwarkctl: %s failed at line %ld: %s\n", what, line, primary);
    else
        fprintf(errfp, "bulwarkctl: %s failed: %s\n", what, primary);
    if (detail != NULL)
        fprintf(errfp, "DETAIL: %s\n", detail);
    if (hint != NULL)
        fprintf(errfp, "HINT: %s\n", hint);
    if (context != NULL)
        fprintf(errfp, "CONTEXT: %s\n", context);
}

/* Runs a statement that returns no rows worth keeping; 0 or BW_EINTERNAL. */
static int run(PGconn *conn, const char *what, const char *sql, FILE *errfp)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int err = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        print_sql_error(errfp, what, res, conn, NULL);
        err = PQstatus(conn) == CONNECTION_BAD ? BW_EUNAVAIL : BW_EINTERNAL;
    }
    PQclear(res);
    return err;
}

/* Marks the component's applied files and refuses any that changed. */
static int check_applied(PGconn *conn, mig_component_t *c, FILE *errfp)
{
    const char *params[1] = {c->component};
    PGresult *res = PQexecParams(conn,
                                 "SELECT version, sha256, name FROM public.bulwark_migrations "
                                 "WHERE component = $1 ORDER BY version",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        print_sql_error(errfp, "reading public.bulwark_migrations", res, conn, NULL);
        PQclear(res);
        return BW_EINTERNAL;
    }
    int err = 0;
    for (int row = 0; row < PQntuples(res); row++) {
        long version = strtol(PQgetvalue(res, row, 0), NULL, 10);
        const char *sha = PQgetvalue(res, row, 1);
        mig_file_t *f = NULL;
        for (size_t i = 0; i < c->n_files; i++)
            if (c->files[i].version == version)
                f = &c->files[i];
        if (f == NULL) {
            fprintf(errfp,
                    "bulwarkctl: warning: migration %s/%04ld (%s) is recorded as applied but "
                    "has no file in \"%s\"\n",
                    c->component, version, PQgetvalue(res, row, 2), c->dir);
            continue;
        }
        f->applied = 1;
        if (strcmp(f->sha256, sha) != 0) {
            fprintf(errfp,
                    "bulwarkctl: migration %s/%04ld was changed after it was applied\n"
                    "DETAIL: The SHA-256 recorded for %s is %s; the file \"%s/%s\" has %s.\n"
                    "HINT: Restore the applied file and put the change in a new migration.\n",
                    c->component, version, PQgetvalue(res, row, 2), sha, c->dir, f->name,
                    f->sha256);
            err = BW_EPRECOND;
        }
    }
    PQclear(res);
    return err;
}

/* Streams a data file into its COPY statement; *rows gets the row count. */
static int copy_file(PGconn *conn, const char *what, const mig_file_t *f, char *rows,
                     size_t rows_len, FILE *errfp)
{
    /* The files are UTF-8 whatever the client's locale says. */
    int err = run(conn, what, "SET LOCAL client_encoding = 'UTF8'", errfp);
    if (err != 0)
        return err;
    PGresult *res = PQexec(conn, f->copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        print_sql_error(errfp, what, res, conn, NULL);
        PQclear(res);
        return PQstatus(conn) == CONNECTION_BAD ? BW_EUNAVAIL : BW_EINVAL;
    }
    PQclear(res);
    int ok = 1;
    for (size_t off = 0; ok && off < f->len; off += MIGRATE_COPY_CHUNK) {
        size_t n = f->len - off < MIGRATE_COPY_CHUNK ? f->len - off : MIGRATE_COPY_CHUNK;
        ok = PQputCopyData(conn, f->sql + off, (int)n) == 1;
    }
    /* Ending the copy with an error message aborts it on the server. */
    if (PQputCopyEnd(conn, ok ? NULL : "the client could not send the data") != 1)
        ok = 0;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (err == 0)
                print_sql_error(errfp, what, res, conn, NULL);
            err = PQstatus(conn) == CONNECTION_BAD ? BW_EUNAVAIL : BW_EINVAL;
        } else {
            snprintf(rows, rows_len, "%s", PQcmdTuples(res));
        }
        PQclear(res);
    }
    if (err == 0 && !ok) {
        print_sql_error(errfp, what, NULL, conn, NULL);
        err = PQstatus(conn) == CONNECTION_BAD ? BW_EUNAVAIL : BW_EINVAL;
    }
    return err;
}

static int apply_file(PGconn *conn, const mig_component_t *c, const mig_file_t *f, FILE *outfp,
                      FILE *errfp)
{
    char what[512];
    char rows[32] = "";
    snprintf(what, sizeof(what), "migration %s/%s", c->component, f->name);
    int err = run(conn, what, "BEGIN", errfp);
    if (err != 0)
        return err;

    PGresult *res;
    if (f->kind == MIG_CSV) {
        err = copy_file(conn, what, f, rows, sizeof(rows), errfp);
    } else {
        res = PQexec(conn, f->sql);
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            print_sql_error(errfp, what, res, conn, f->sql);
            err = PQstatus(conn) == CONNECTION_BAD ? BW_EUNAVAIL : BW_EINVAL;
        }
        PQclear(res);
    }
    if (err == 0 && PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        fprintf(errfp,
                "bulwarkctl: %s ended its own transaction\n"
                "HINT: Remove BEGIN, COMMIT and ROLLBACK from the file; bulwarkctl runs each "
                "migration in one transaction.\n",
                what);
        err = BW_EINVAL;
    }
    if (err == 0) {
        char version[24];
        snprintf(version, sizeof(version), "%ld", f->version);
        const char *params[4] = {c->component, version, f->name, f->sha256};
        res = PQexecParams(conn,
                           "INSERT INTO public.bulwark_migrations (component, version, name, "
                           "sha256) VALUES ($1, $2, $3, $4)",
                           4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            print_sql_error(errfp, what, res, conn, NULL);
            err = BW_EINTERNAL;
        }
        PQclear(res);
    }
    if (err == 0)
        err = run(conn, what, "COMMIT", errfp);
    if (err != 0) {
        if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
            res = PQexec(conn, "ROLLBACK");
            PQclear(res);
        }
        return err;
    }
    if (f->kind == MIG_CSV)
        fprintf(outfp, "applied %s/%s (%s row%s)\n", c->component, f->name, rows,
                strcmp(rows, "1") == 0 ? "" : "s");
    else
        fprintf(outfp, "applied %s/%s\n", c->component, f->name);
    fflush(outfp);
    return 0;
}

int bw_migrate_run(PGconn *conn, const bw_migrate_dir_t *dirs, size_t n_dirs, FILE *outfp,
                   FILE *errfp)
{
    int err = 0;
    int locked = 0;
    size_t applied = 0;
    mig_component_t *comps = calloc(n_dirs > 0 ? n_dirs : 1, sizeof(*comps));
    if (comps == NULL)
        return BW_ENOMEM;

    for (size_t i = 0; i < n_dirs; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(dirs[i].component, dirs[j].component) == 0) {
                fprintf(errfp, "bulwarkctl: component \"%s\" is given twice\n", dirs[i].component);
                err = BW_EINVAL;
                goto out;
            }
        }
        comps[i].component = dirs[i].component;
        comps[i].dir = dirs[i].dir;
        err = load_component(&comps[i], errfp);
        if (err != 0)
            goto out;
    }

    /* IF NOT EXISTS and DO blocks would otherwise chat on stderr. */
    err = run(conn, "setting client_min_messages", "SET client_min_messages = warning", errfp);
    if (err != 0)
        goto out;
    err = run(conn, "taking the migration lock", "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
              errfp);
    if (err != 0)
        goto out;
    locked = 1;
    err = run(conn, "creating public.bulwark_migrations", create_table_sql, errfp);
    if (err != 0)
        goto out;

    for (size_t i = 0; i < n_dirs; i++) {
        /* Report every changed file, not only the first. */
        int cerr = check_applied(conn, &comps[i], errfp);
        if (cerr == BW_EPRECOND) {
            err = cerr;
            continue;
        }
        if (cerr != 0) {
            err = cerr;
            goto out;
        }
    }
    if (err != 0) {
        fprintf(errfp, "bulwarkctl: no migration was applied\n");
        goto out;
    }

    for (size_t i = 0; i < n_dirs; i++) {
        for (size_t k = 0; k < comps[i].n_files; k++) {
            if (comps[i].files[k].applied)
                continue;
            err = apply_file(conn, &comps[i], &comps[i].files[k], outfp, errfp);
            if (err != 0)
                goto out;
            applied++;
        }
    }
    if (applied == 0)
        fprintf(outfp, "no pending migrations\n");
out:
    if (locked && PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
        PQclear(res);
    }
    for (size_t i = 0; i < n_dirs; i++)
        component_free(&comps[i]);
    free(comps);
    return err;
}
