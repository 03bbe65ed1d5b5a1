/*
 * cmd_record.c - one record at a time: `walkbook record`, `get`, `update`,
 * `delete`.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char cli_usage_record[] =
    "usage: walkbook [--db PATH] [--json] record [--batch]\n"
    "                [--fix LAT,LNG[,ACCURACY[,TIME]]] [--check strict|warn|off] [FILE|-]\n"
    "\n"
    "Record an interaction from a Polis create body, flat (v2) or wrapped as\n"
    "{\"data\":{...}} (v1), read from FILE or from standard input (the default,\n"
    "or \"-\"). Input is limited to 16 MiB. Prints the new record's id; with\n"
    "--json, its full envelope on one line. The store needs an identity first\n"
    "(walkbook init).\n"
    "\n"
    "Options:\n"
    "  --batch  the input holds many bodies, one per line (NDJSON) or as a JSON\n"
    "           array; all are recorded in one transaction, or none when one\n"
    "           is refused (the error names it as records[N], counting from 0).\n"
    "           Prints one id (or envelope, with --json) per line.\n"
    "  --fix LAT,LNG[,ACCURACY[,TIME]]\n"
    "           the canvasser's GPS fix: degrees, horizontal accuracy in\n"
    "           metres, fix time (2019-01-31T00:00:00.000Z). It becomes\n"
    "           data.location; with \"householdId\" in the body and that\n"
    "           household's location in the store (walkbook import, sync),\n"
    "           data.distance is the geodesic distance in statute miles.\n"
    "           Fraud signals (see 'walkbook signals') are stored with the\n"
    "           record; without a fix it is recorded and flagged missing_fix.\n"
    "  --check MODE\n"
    "           check the record against the cached survey, contact links and\n"
    "           walk list: strict refuses contradictions, warn (the default\n"
    "           unless the campaign says otherwise) stores them as warnings,\n"
    "           off skips the checks.\n";

const char cli_usage_get[] =
    "usage: walkbook [--db PATH] [--json] get [--deleted] ID\n"
    "\n"
    "Print the envelope of record ID ({\"id\",\"data\",\"meta\",\"customerId\",\n"
    "\"securityGroupId\"}), indented; with --json, compact on one line.\n"
    "\n"
    "Options:\n"
    "  --deleted  also show a deleted record (a tombstone)\n";

const char cli_usage_update[] =
    "usage: walkbook [--db PATH] [--json] update ID [PATCHFILE|-]\n"
    "\n"
    "Change record ID with an RFC 6902 JSON Patch read from PATCHFILE or from\n"
    "standard input (the default, or \"-\"): an array of operations, or\n"
    "{\"data\":[...]}. Paths are relative to the record's data (\"/successful\");\n"
    "a leading \"/data/\" is accepted. Nothing outside data can change, and the\n"
    "patched record must still be valid; all operations apply or none.\n"
    "With --json, prints the updated envelope.\n";

const char cli_usage_delete[] =
    "usage: walkbook [--db PATH] [--json] delete ID\n"
    "\n"
    "Soft-delete record ID. The tombstone stays (see 'walkbook list --deleted')\n"
    "until the delete has reached the server. With --json, prints the\n"
    "tombstone's envelope.\n";

/* Print the envelope of id: pretty, or compact with --json. */
static int print_envelope(const cli *c, wb_store *store, const char *id, int include_deleted,
                          int pretty)
{
    char *json = NULL;
    int err = wb_interaction_get(&json, store, id, include_deleted);
    if (err < 0)
        return cli_fail(c, err);
    int rc = cli_print_json(c, stdout, json, pretty);
    wb_free(json);
    return rc;
}

/* The bodies of a --batch input: pointers into the input (NDJSON lines) or
 * compact copies of a JSON array's elements (owned). */
typedef struct batch {
    const char **bodies;
    char **owned;
    size_t n;
} batch;

static void batch_free(batch *b)
{
    if (b->owned)
        for (size_t i = 0; i < b->n; i++)
            cJSON_free(b->owned[i]);
    free(b->owned);
    free(b->bodies);
}

static int batch_from_array(const cli *c, const char *input, batch *b)
{
    cJSON *doc = cJSON_Parse(input);
    const cJSON *item;
    int rc = CLI_EXIT_OK;

    if (doc == NULL)
        return cli_error(c, CLI_EXIT_INVALID, "records: not valid JSON");
    size_t n = (size_t)cJSON_GetArraySize(doc);
    if (n == 0) {
        rc = cli_error(c, CLI_EXIT_INVALID, "records: no record in the input");
        goto cleanup;
    }
    b->bodies = calloc(n, sizeof(*b->bodies));
    b->owned = calloc(n, sizeof(*b->owned));
    if (b->bodies == NULL || b->owned == NULL) {
        rc = cli_error(c, CLI_EXIT_FAILURE, "out of memory");
        goto cleanup;
    }
    cJSON_ArrayForEach(item, doc)
    {
        char *text = cJSON_PrintUnformatted(item);
        if (text == NULL) {
            rc = cli_error(c, CLI_EXIT_FAILURE, "out of memory");
            goto cleanup;
        }
        b->owned[b->n] = text;
        b->bodies[b->n++] = text;
    }

cleanup:
    cJSON_Delete(doc);
    return rc;
}

/* Split NDJSON in place: every non-blank line is one body. */
static int batch_from_lines(const cli *c, char *input, batch *b)
{
    size_t max = 1;
    for (const char *p = input; *p; p++)
        max += (*p == '\n');
    if ((b->bodies = calloc(max, sizeof(*b->bodies))) == NULL)
        return cli_error(c, CLI_EXIT_FAILURE, "out of memory");
    for (char *line = input; line != NULL;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (line[strspn(line, " \t\r")] != '\0')
            b->bodies[b->n++] = line;
        line = nl ? nl + 1 : NULL;
    }
    if (b->n == 0)
        return cli_error(c, CLI_EXIT_INVALID, "records: no record in the input");
    return CLI_EXIT_OK;
}

static int record_batch(const cli *c, wb_store *store, char *input)
{
    batch b = {NULL, NULL, 0};
    char **ids = NULL;
    int rc, err;

    rc = input[strspn(input, " \t\r\n")] == '[' ? batch_from_array(c, input, &b)
                                                : batch_from_lines(c, input, &b);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    if ((ids = calloc(b.n, sizeof(*ids))) == NULL) {
        rc = cli_error(c, CLI_EXIT_FAILURE, "out of memory");
        goto cleanup;
    }
    if ((err = wb_interaction_record_batch(ids, store, b.bodies, b.n)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    for (size_t i = 0; i < b.n && rc == CLI_EXIT_OK; i++) {
        if (c->json)
            rc = print_envelope(c, store, ids[i], 0, 0);
        else
            printf("%s\n", ids[i]);
    }

cleanup:
    if (ids)
        for (size_t i = 0; i < b.n; i++)
            wb_free(ids[i]);
    free(ids);
    batch_free(&b);
    return rc;
}

/* "--fix LAT,LNG[,ACCURACY[,TIME]]" into o. Returns an exit code. */
static int parse_fix(const cli *c, const char *text, wb_record_options *o)
{
    static const char *const names[3] = {"LAT", "LNG", "ACCURACY"};
    double v[3] = {0.0, 0.0, -1.0};
    const char *p = text;
    int n = 0;

    /* Up to three numbers separated by commas, then the time (no commas). */
    for (; n < 3; n++) {
        char *end;
        v[n] = strtod(p, &end);
        if (end == p || (*end != ',' && *end != '\0'))
            return cli_usage_error(c,
                                   "--fix: %s is not a number (expected "
                                   "LAT,LNG[,ACCURACY[,TIME]])",
                                   names[n]);
        p = end;
        if (*p == '\0')
            break;
        p++;
    }
    if (n < 1)
        return cli_usage_error(c, "--fix: expected LAT,LNG[,ACCURACY[,TIME]]");
    o->has_fix = 1;
    o->lat = v[0];
    o->lng = v[1];
    o->accuracy_m = n >= 2 ? v[2] : -1.0;
    o->fix_time = n == 3 ? p : NULL;
    return CLI_EXIT_OK;
}

static int parse_check(const cli *c, const char *text, wb_record_options *o)
{
    static const char *const names[] = {"strict", "warn", "off"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            o->check = WB_CHECK_STRICT + i;
            return CLI_EXIT_OK;
        }
    }
    return cli_usage_error(c, "--check: must be strict, warn or off");
}

int cli_cmd_record(cli *c, int argc, char **argv)
{
    int batch_mode = 0;
    const char *fix = NULL, *check = NULL;
    wb_record_options ro = WB_RECORD_OPTIONS_INIT;
    const cli_opt opts[] = {{"batch", CLI_OPT_FLAG, &batch_mode, NULL, NULL},
                            {"fix", CLI_OPT_VALUE, NULL, &fix, NULL},
                            {"check", CLI_OPT_VALUE, NULL, &check, NULL}};
    const char *pos[1] = {NULL};
    size_t n_pos;
    wb_store *store = NULL;
    char *body = NULL, *id = NULL;
    int rc, err;

    if (!cli_begin(c, argc, argv, opts, 3, pos, 1, &n_pos, cli_usage_record, &rc))
        goto cleanup;
    if (fix && (rc = parse_fix(c, fix, &ro)) != CLI_EXIT_OK)
        goto cleanup;
    if (check && (rc = parse_check(c, check, &ro)) != CLI_EXIT_OK)
        goto cleanup;
    if (batch_mode && (fix || check)) {
        rc = cli_usage_error(c, "--fix and --check record one interaction, not a --batch");
        goto cleanup;
    }
    /* Read the input before opening the store: a bad file then costs no
     * store access at all. */
    if ((rc = cli_read_input(c, n_pos ? pos[0] : NULL, &body)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if (batch_mode) {
        if ((rc = record_batch(c, store, body)) != CLI_EXIT_OK)
            goto cleanup;
        rc = cli_finish_stdout(c);
        goto cleanup;
    }
    if ((err = wb_interaction_record_ex(&id, store, body, &ro)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json) {
        if ((rc = print_envelope(c, store, id, 0, 0)) != CLI_EXIT_OK)
            goto cleanup;
    } else {
        printf("%s\n", id);
    }
    rc = cli_finish_stdout(c);

cleanup:
    wb_free(id);
    free(body);
    wb_store_free(store);
    return rc;
}

int cli_cmd_get(cli *c, int argc, char **argv)
{
    int deleted = 0;
    const cli_opt opts[] = {{"deleted", CLI_OPT_FLAG, &deleted, NULL, NULL}};
    const char *pos[1] = {NULL};
    size_t n_pos;
    wb_store *store = NULL;
    int rc;

    if (!cli_begin(c, argc, argv, opts, 1, pos, 1, &n_pos, cli_usage_get, &rc))
        goto cleanup;
    if (n_pos < 1) {
        rc = cli_usage_error(c, "missing record ID");
        goto cleanup;
    }
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = print_envelope(c, store, pos[0], deleted, !c->json)) != CLI_EXIT_OK)
        goto cleanup;
    rc = cli_finish_stdout(c);

cleanup:
    wb_store_free(store);
    return rc;
}

int cli_cmd_update(cli *c, int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    size_t n_pos;
    wb_store *store = NULL;
    char *patch = NULL;
    int rc, err;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 2, &n_pos, cli_usage_update, &rc))
        goto cleanup;
    if (n_pos < 1) {
        rc = cli_usage_error(c, "missing record ID");
        goto cleanup;
    }
    if ((rc = cli_read_input(c, n_pos > 1 ? pos[1] : NULL, &patch)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if ((err = wb_interaction_update(store, pos[0], patch)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json && (rc = print_envelope(c, store, pos[0], 0, 0)) != CLI_EXIT_OK)
        goto cleanup;
    rc = cli_finish_stdout(c);

cleanup:
    free(patch);
    wb_store_free(store);
    return rc;
}

int cli_cmd_delete(cli *c, int argc, char **argv)
{
    const char *pos[1] = {NULL};
    size_t n_pos;
    wb_store *store = NULL;
    int rc, err;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 1, &n_pos, cli_usage_delete, &rc))
        goto cleanup;
    if (n_pos < 1) {
        rc = cli_usage_error(c, "missing record ID");
        goto cleanup;
    }
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if ((err = wb_interaction_delete(store, pos[0])) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json && (rc = print_envelope(c, store, pos[0], 1, 0)) != CLI_EXIT_OK)
        goto cleanup;
    rc = cli_finish_stdout(c);

cleanup:
    wb_store_free(store);
    return rc;
}
