/*
 * cmd_export.c - `walkbook export`: records as NDJSON, CSV or GeoJSON, to
 * standard output or atomically into a file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char cli_usage_export[] =
    "usage: walkbook [--db PATH] export [--format ndjson|csv|geojson] [--out FILE]\n"
    "                [OPTIONS]\n"
    "\n"
    "Export live records in time order (tombstones too with --deleted).\n"
    "\n"
    "Formats:\n"
    "  ndjson   one envelope per line (the default)\n"
    "  csv      RFC 4180 with a header row and the columns id, timestamp,\n"
    "           campaignId, contactId, householdId, contactHouseholdId,\n"
    "           walklistId, statusId, unavailable, unavailableReason, successful,\n"
    "           distance, lat, lng, confidence, surveyId, responses (compact\n"
    "           JSON), created, modified, createdBy, modifiedBy, isDeleted.\n"
    "           Text cells starting with = + - @ get a leading ' so that\n"
    "           spreadsheets do not run them as formulas.\n"
    "  geojson  a FeatureCollection of Point features ([lng, lat]) with the\n"
    "           properties id, timestamp, campaignId, contactId, householdId,\n"
    "           successful, unavailable, distance, and from the GPS fix the\n"
    "           record was made with: accuracy, fixTime, distanceMetres,\n"
    "           signals (fraud signals) and warnings (validation findings);\n"
    "           records without a location are left out and counted on stderr.\n"
    "\n"
    "Options:\n"
    "  --format FORMAT    ndjson, csv or geojson\n"
    "  --out FILE         write FILE (mode 0600: exports hold personal data)\n"
    "                     through a temporary file renamed into place, so FILE\n"
    "                     is never half-written; default standard output\n" CLI_FILTER_HELP;

typedef enum export_format { FORMAT_NDJSON, FORMAT_CSV, FORMAT_GEOJSON } export_format;

/* Where an envelope's value sits: section ("data", "meta" or NULL for the
 * top level), then a member, then optionally a member of that. */
typedef struct csv_column {
    const char *header;
    const char *section;
    const char *key;
    const char *subkey;
} csv_column;

static const csv_column csv_columns[] = {
    {"id", NULL, "id", NULL},
    {"timestamp", "data", "timestamp", NULL},
    {"campaignId", "data", "campaignId", NULL},
    {"contactId", "data", "contactId", NULL},
    {"householdId", "data", "householdId", NULL},
    {"contactHouseholdId", "data", "contactHouseholdId", NULL},
    {"walklistId", "data", "walklistId", NULL},
    {"statusId", "data", "statusId", NULL},
    {"unavailable", "data", "unavailable", NULL},
    {"unavailableReason", "data", "unavailableReason", NULL},
    {"successful", "data", "successful", NULL},
    {"distance", "data", "distance", NULL},
    {"lat", "data", "location", "lat"},
    {"lng", "data", "location", "lng"},
    {"confidence", "data", "location", "confidence"},
    {"surveyId", "data", "survey", "surveyId"},
    {"responses", "data", "survey", "responses"},
    {"created", "meta", "created", NULL},
    {"modified", "meta", "modified", NULL},
    {"createdBy", "meta", "createdBy", NULL},
    {"modifiedBy", "meta", "modifiedBy", NULL},
    {"isDeleted", "meta", "isDeleted", NULL},
};
#define N_CSV_COLUMNS (sizeof(csv_columns) / sizeof(csv_columns[0]))

static const char *const geojson_properties[] = {
    "id",          "timestamp",  "campaignId",  "contactId",
    "householdId", "successful", "unavailable", "distance",
};
#define N_GEOJSON_PROPERTIES (sizeof(geojson_properties) / sizeof(geojson_properties[0]))

static const cJSON *member(const cJSON *obj, const char *name)
{
    return name ? cJSON_GetObjectItemCaseSensitive(obj, name) : obj;
}

/* ---- CSV ----------------------------------------------------------------- */

/* A text cell: a leading ' defuses spreadsheet formulas (= + - @, and tab
 * and CR, which some spreadsheets skip before a formula); fields with a
 * comma, quote, CR or LF are quoted with inner quotes doubled (RFC 4180). */
static void csv_text(FILE *f, const char *s)
{
    int guard =
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
    int quote = strpbrk(s, ",\"\r\n") != NULL;

    if (quote)
        fputc('"', f);
    if (guard)
        fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
}

/* The shortest of %.15g, %.16g and %.17g that reads back as the same
 * double (17 significant digits always do). */
static void format_number(char *buf, size_t size, double v)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int csv_cell(const cli *c, FILE *f, const cJSON *v)
{
    char num[64];

    if (v == NULL || cJSON_IsNull(v))
        return CLI_EXIT_OK;
    if (cJSON_IsString(v)) {
        csv_text(f, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        format_number(num, sizeof(num), v->valuedouble);
        fputs(num, f);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "true" : "false", f);
    } else {
        char *text = cJSON_PrintUnformatted(v);
        if (text == NULL)
            return cli_error(c, CLI_EXIT_FAILURE, "out of memory");
        csv_text(f, text);
        cJSON_free(text);
    }
    return CLI_EXIT_OK;
}

static void csv_header(FILE *f)
{
    for (size_t i = 0; i < N_CSV_COLUMNS; i++) {
        if (i)
            fputc(',', f);
        fputs(csv_columns[i].header, f);
    }
    fputs("\r\n", f);
}

static int csv_row(const cli *c, FILE *f, const cJSON *env)
{
    for (size_t i = 0; i < N_CSV_COLUMNS; i++) {
        const csv_column *col = &csv_columns[i];
        const cJSON *v = member(member(member(env, col->section), col->key), col->subkey);
        int rc;
        if (i)
            fputc(',', f);
        if ((rc = csv_cell(c, f, v)) != CLI_EXIT_OK)
            return rc;
    }
    fputs("\r\n", f);
    return CLI_EXIT_OK;
}

/* ---- GeoJSON ------------------------------------------------------------- */

/* Add item to obj under name; on failure the item is freed. */
static int add(cJSON *obj, const char *name, cJSON *item)
{
    if (item == NULL)
        return 0;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

/* A number printed in its shortest exact form (cJSON falls back to 17
 * digits, which turns 33.43174362182617 into 33.431743621826172). */
static cJSON *number(double v)
{
    char text[64];
    format_number(text, sizeof(text), v);
    return cJSON_CreateRaw(text);
}

static cJSON *copy_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* The fix of a record (accuracy, fix time, metres to the door) and its
 * fraud signals and validation warnings, as Feature properties. */
static int geojson_signals(cJSON *props, wb_store *store, const cJSON *env)
{
    const cJSON *id = member(env, "id"), *fix;
    char *json = NULL;
    cJSON *sig;
    int ok = 1;
    if (!cJSON_IsString(id) || wb_interaction_signals(&json, store, id->valuestring) < 0)
        return 1; /* records of another origin simply have none */
    sig = cJSON_Parse(json);
    wb_free(json);
    fix = member(sig, "fix");
    ok = add(props, "accuracy", copy_or_null(member(fix, "accuracy")));
    ok = ok && add(props, "fixTime", copy_or_null(member(fix, "time")));
    ok = ok && add(props, "distanceMetres", copy_or_null(member(sig, "distanceMetres")));
    ok = ok && add(props, "signals", copy_or_null(member(sig, "signals")));
    ok = ok && add(props, "warnings", copy_or_null(member(sig, "warnings")));
    cJSON_Delete(sig);
    return ok;
}

/* Write the Feature of env, or set *skipped when it has no location. */
static int geojson_feature(const cli *c, FILE *f, wb_store *store, const cJSON *env, int first,
                           int *skipped)
{
    const cJSON *data = member(env, "data");
    const cJSON *loc = member(data, "location");
    const cJSON *lat = member(loc, "lat");
    const cJSON *lng = member(loc, "lng");
    cJSON *feature = NULL, *geometry = NULL, *coords = NULL, *props = NULL;
    char *text = NULL;
    int ok, rc = CLI_EXIT_OK;

    *skipped = 0;
    if (!cJSON_IsNumber(lat) || !cJSON_IsNumber(lng)) {
        *skipped = 1;
        return CLI_EXIT_OK;
    }
    feature = cJSON_CreateObject();
    ok = feature != NULL && add(feature, "type", cJSON_CreateString("Feature"));
    if (ok && cJSON_IsString(member(env, "id")))
        ok = add(feature, "id", cJSON_CreateString(member(env, "id")->valuestring));
    ok = ok && add(feature, "geometry", geometry = cJSON_CreateObject());
    ok = ok && add(geometry, "type", cJSON_CreateString("Point"));
    /* GeoJSON (RFC 7946) orders positions longitude first. */
    ok = ok && add(geometry, "coordinates", coords = cJSON_CreateArray());
    ok = ok && cJSON_AddItemToArray(coords, number(lng->valuedouble));
    ok = ok && cJSON_AddItemToArray(coords, number(lat->valuedouble));
    ok = ok && add(feature, "properties", props = cJSON_CreateObject());
    for (size_t i = 0; ok && i < N_GEOJSON_PROPERTIES; i++) {
        const char *name = geojson_properties[i];
        const cJSON *v = member(strcmp(name, "id") == 0 ? env : data, name);
        ok = add(props, name, copy_or_null(v));
    }
    ok = ok && geojson_signals(props, store, env);
    if (!ok || (text = cJSON_PrintUnformatted(feature)) == NULL) {
        rc = cli_error(c, CLI_EXIT_FAILURE, "out of memory");
        goto cleanup;
    }
    fputs(first ? "\n" : ",\n", f);
    fputs(text, f);

cleanup:
    cJSON_free(text);
    cJSON_Delete(feature);
    return rc;
}

/* ---- the output file ----------------------------------------------------- */

/* A temporary file beside path (same directory, so rename is atomic). */
static int open_temp(const cli *c, const char *path, char **out_tmp, FILE **out_f)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    static const char suffix[] = ".tmp-XXXXXX";
    size_t size = strlen(path) + 1 + sizeof(suffix);
    char *tmp;
    int fd;

    *out_tmp = NULL;
    *out_f = NULL;
    if (base[0] == '\0')
        return cli_usage_error(c, "--out: '%s' names a directory, not a file", path);
    if ((tmp = malloc(size)) == NULL)
        return cli_error(c, CLI_EXIT_FAILURE, "out of memory");
    snprintf(tmp, size, "%.*s.%s%s", (int)dirlen, path, base, suffix);
    if ((fd = mkstemp(tmp)) < 0) {
        int e = errno;
        free(tmp);
        return cli_error(c, CLI_EXIT_FAILURE, "cannot create a file beside %s: %s", path,
                         strerror(e));
    }
    if ((*out_f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return cli_error(c, CLI_EXIT_FAILURE, "cannot write %s: %s", path, strerror(e));
    }
    *out_tmp = tmp;
    return CLI_EXIT_OK;
}

/* Flush, sync and close the temporary file, then rename it over path. */
static int commit_temp(const cli *c, FILE *f, const char *tmp, const char *path)
{
    int failed = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        e = errno;
    }
    if (!failed && rename(tmp, path) != 0) {
        failed = 1;
        e = errno;
    }
    if (failed) {
        unlink(tmp);
        return cli_error(c, CLI_EXIT_FAILURE, "cannot write %s: %s", path, strerror(e));
    }
    return CLI_EXIT_OK;
}

/* ---- the command --------------------------------------------------------- */

static int parse_format(const cli *c, const char *name, export_format *out)
{
    if (name == NULL || strcmp(name, "ndjson") == 0)
        *out = FORMAT_NDJSON;
    else if (strcmp(name, "csv") == 0)
        *out = FORMAT_CSV;
    else if (strcmp(name, "geojson") == 0)
        *out = FORMAT_GEOJSON;
    else
        return cli_usage_error(c, "--format: unknown format '%s' (ndjson, csv or geojson)", name);
    return CLI_EXIT_OK;
}

static int export_records(const cli *c, FILE *f, wb_store *store, wb_iter *it, export_format format,
                          size_t *n_written, size_t *n_skipped)
{
    int first = 1;

    *n_written = 0;
    *n_skipped = 0;
    if (format == FORMAT_CSV)
        csv_header(f);
    else if (format == FORMAT_GEOJSON)
        fputs("{\"type\":\"FeatureCollection\",\"features\":[", f);

    for (;;) {
        const char *json = NULL;
        cJSON *env = NULL;
        int skipped = 0, rc;
        int err = wb_iter_next(&json, it);

        if (err == WB_ITEROVER)
            break;
        if (err < 0)
            return cli_fail(c, err);
        if (format == FORMAT_NDJSON) {
            rc = cli_print_json(c, f, json, 0);
        } else if ((env = cJSON_Parse(json)) == NULL) {
            rc = cli_error(c, CLI_EXIT_FAILURE, "the library returned malformed JSON");
        } else if (format == FORMAT_CSV) {
            rc = csv_row(c, f, env);
        } else {
            rc = geojson_feature(c, f, store, env, first, &skipped);
        }
        cJSON_Delete(env);
        if (rc != CLI_EXIT_OK)
            return rc;
        if (skipped) {
            (*n_skipped)++;
        } else {
            (*n_written)++;
            first = 0;
        }
    }
    if (format == FORMAT_GEOJSON)
        fputs(first ? "]}\n" : "\n]}\n", f);
    return CLI_EXIT_OK;
}

int cli_cmd_export(cli *c, int argc, char **argv)
{
    cli_filter filt;
    const char *format_name = NULL, *out_path = NULL;
    memset(&filt, 0, sizeof(filt));
    const cli_opt opts[] = {
        CLI_FILTER_OPTS(filt),
        {"format", CLI_OPT_VALUE, NULL, &format_name, NULL},
        {"out", CLI_OPT_VALUE, NULL, &out_path, NULL},
    };
    const char *pos[1];
    size_t n_pos, n_written = 0, n_skipped = 0;
    export_format format = FORMAT_NDJSON;
    wb_store *store = NULL;
    wb_iter *it = NULL;
    wb_query q;
    char *tmp = NULL;
    FILE *f = NULL;
    int rc, err;

    if (!cli_begin(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &n_pos,
                   cli_usage_export, &rc))
        goto cleanup;
    if ((rc = parse_format(c, format_name, &format)) != CLI_EXIT_OK)
        goto cleanup;
    if (out_path && out_path[0] == '\0') {
        rc = cli_usage_error(c, "--out needs a file name");
        goto cleanup;
    }
    if ((rc = cli_filter_query(c, &filt, &q)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if ((err = wb_interaction_query(&it, store, &q)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }

    if (out_path) {
        if ((rc = open_temp(c, out_path, &tmp, &f)) != CLI_EXIT_OK)
            goto cleanup;
    } else {
        f = stdout;
    }
    if ((rc = export_records(c, f, store, it, format, &n_written, &n_skipped)) != CLI_EXIT_OK)
        goto cleanup;
    if (out_path) {
        rc = commit_temp(c, f, tmp, out_path);
        f = NULL;
        if (rc != CLI_EXIT_OK)
            goto cleanup;
    } else if ((rc = cli_finish_stdout(c)) != CLI_EXIT_OK) {
        goto cleanup;
    }
    if (n_skipped)
        fprintf(stderr, "walkbook: export: %zu record%s without a location left out\n", n_skipped,
                n_skipped == 1 ? "" : "s");

cleanup:
    if (f && f != stdout) {
        /* Failed half-way: the temporary file goes, the target is untouched. */
        fclose(f);
        unlink(tmp);
    }
    free(tmp);
    wb_iter_free(it);
    wb_store_free(store);
    cli_list_free(&filt.states);
    return rc;
}
