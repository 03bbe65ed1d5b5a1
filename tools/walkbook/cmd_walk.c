/*
 * cmd_walk.c - walk lists offline: `walkbook walklist`, `walkbook import`,
 * `walkbook signals` and `walkbook settings`.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_usage_walklist[] =
    "usage: walkbook [--db PATH] [--json] walklist [list]\n"
    "       walkbook walklist show ID\n"
    "       walkbook walklist progress ID\n"
    "       walkbook walklist next ID --near LAT,LNG [-k K]\n"
    "\n"
    "Walk lists in the store (from 'walkbook sync' or 'walkbook import'):\n"
    "  list      every walk list: id, name, campaign, number of households\n"
    "  show      one walk list with its households (address, location, knocked)\n"
    "  progress  households knocked / remaining / successful / unavailable\n"
    "  next      the K (default 5, at most 1000) nearest households not yet\n"
    "            knocked to LAT,LNG, nearest first, with the geodesic distance\n"
    "            in metres\n"
    "Output is indented JSON; with --json, compact on one line.\n";

const char cli_usage_import[] =
    "usage: walkbook [--db PATH] [--json] import households|contacts FILE|-\n"
    "\n"
    "Import households or contacts prepared on a desktop into the store's\n"
    "reference data, all or nothing (a refused file changes nothing). FILE is\n"
    "CSV with a header row, or GeoJSON (a FeatureCollection of Point features,\n"
    "[lng, lat], with the columns below as properties).\n"
    "  households  id, lat, lng required; address, walklistId, campaignId\n"
    "  contacts    id required; householdId, contactHouseholdId, given,\n"
    "              surname, walklistId, campaignId\n"
    "Ids are UUIDs. Errors name the line (CSV) or feature and the column:\n"
    "  walkbook: import: line 4: lat: must be between -90 and 90\n"
    "Prints the number of records imported.\n";

const char cli_usage_signals[] =
    "usage: walkbook [--db PATH] [--json] signals [ID | --signal NAME | --all]\n"
    "\n"
    "The GPS fix, distance to the door, fraud signals and validation warnings\n"
    "of record ID; or every live record raising signal NAME (missing_fix,\n"
    "far_from_door, very_far_from_door, stale_fix, poor_accuracy,\n"
    "implausible_speed, no_household_location); or, with --all, every\n"
    "flagged record.\n";

const char cli_usage_settings[] =
    "usage: walkbook [--db PATH] [--json] settings CAMPAIGN [JSON]\n"
    "\n"
    "Show a campaign's fraud thresholds and validation mode, or change them\n"
    "with a JSON object holding any of nearMetres (default 100), farMetres\n"
    "(300), staleSeconds (120), poorAccuracyMetres (50), maxSpeedMps (50) and\n"
    "validation (\"strict\", \"warn\" or \"off\").\n";

/* Print library JSON (pretty unless --json) and free it. */
static int print_out(const cli *c, char *json)
{
    int rc = cli_print_json(c, stdout, json, !c->json);
    wb_free(json);
    if (rc != CLI_EXIT_OK)
        return rc;
    return cli_finish_stdout(c);
}

static int parse_point(const cli *c, const char *text, double *lat, double *lng)
{
    char *end;
    *lat = strtod(text, &end);
    if (end == text || *end != ',')
        return cli_usage_error(c, "--near: expected LAT,LNG");
    text = end + 1;
    *lng = strtod(text, &end);
    if (end == text || *end != '\0')
        return cli_usage_error(c, "--near: expected LAT,LNG");
    return CLI_EXIT_OK;
}

int cli_cmd_walklist(cli *c, int argc, char **argv)
{
    const char *near = NULL, *k_text = NULL;
    const cli_opt opts[] = {{"near", CLI_OPT_VALUE, NULL, &near, NULL},
                            {"k", CLI_OPT_VALUE, NULL, &k_text, NULL}};
    const char *pos[2] = {NULL, NULL};
    char **args = NULL, *json = NULL;
    size_t n_pos;
    int rc, err = 0;
    wb_store *store = NULL;
    const char *sub;

    /* "-k K" is the one short option: spell it long for the parser. */
    if (!(args = calloc((size_t)argc + 1, sizeof(*args))))
        return cli_error(c, CLI_EXIT_FAILURE, "out of memory");
    for (int i = 0; i < argc; i++)
        args[i] = strcmp(argv[i], "-k") == 0 ? (char *)(uintptr_t) "--k" : argv[i];
    if (!cli_begin(c, argc, args, opts, 2, pos, 2, &n_pos, cli_usage_walklist, &rc))
        goto cleanup;
    sub = n_pos ? pos[0] : "list";
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "progress") != 0 &&
        strcmp(sub, "next") != 0) {
        rc = cli_usage_error(c, "unknown subcommand '%s' (list, show, progress, next)", sub);
        goto cleanup;
    }
    if (strcmp(sub, "list") != 0 && n_pos < 2) {
        rc = cli_usage_error(c, "%s: missing walk list ID", sub);
        goto cleanup;
    }
    if ((near || k_text) && strcmp(sub, "next") != 0) {
        rc = cli_usage_error(c, "--near and -k belong to 'walklist next'");
        goto cleanup;
    }
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if (strcmp(sub, "list") == 0) {
        err = wb_walklist_list(&json, store);
    } else if (strcmp(sub, "show") == 0) {
        err = wb_walklist_show(&json, store, pos[1]);
    } else if (strcmp(sub, "progress") == 0) {
        err = wb_walklist_progress(&json, store, pos[1]);
    } else {
        double lat = 0.0, lng = 0.0;
        unsigned long k = 5;
        char *end = NULL;
        if (!near) {
            rc = cli_usage_error(c, "next: --near LAT,LNG is required");
            goto cleanup;
        }
        if ((rc = parse_point(c, near, &lat, &lng)) != CLI_EXIT_OK)
            goto cleanup;
        if (k_text) {
            k = strtoul(k_text, &end, 10);
            if (end == k_text || *end != '\0' || k < 1 || k > 1000) {
                rc = cli_usage_error(c, "-k: must be a number from 1 to 1000");
                goto cleanup;
            }
        }
        err = wb_walklist_next(&json, store, pos[1], lat, lng, (unsigned)k, 0);
    }
    if (err < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    rc = print_out(c, json);
cleanup:
    free(args);
    wb_store_free(store);
    return rc;
}

int cli_cmd_import(cli *c, int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    size_t n_pos;
    int rc, err;
    wb_store *store = NULL;
    char *text = NULL;
    uint64_t n = 0;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 2, &n_pos, cli_usage_import, &rc))
        goto cleanup;
    if (n_pos < 2 || (strcmp(pos[0], "households") != 0 && strcmp(pos[0], "contacts") != 0)) {
        rc = cli_usage_error(c, "expected 'households' or 'contacts' and a FILE");
        goto cleanup;
    }
    if ((rc = cli_read_input(c, pos[1], &text)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if ((err = wb_ref_import(&n, store, pos[0], text, strlen(text))) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json)
        printf("{\"imported\":%llu,\"kind\":\"%s\"}\n", (unsigned long long)n, pos[0]);
    else
        printf("%llu %s imported\n", (unsigned long long)n, pos[0]);
    rc = cli_finish_stdout(c);
cleanup:
    free(text);
    wb_store_free(store);
    return rc;
}

int cli_cmd_signals(cli *c, int argc, char **argv)
{
    const char *signal = NULL;
    int all = 0;
    const cli_opt opts[] = {{"signal", CLI_OPT_VALUE, NULL, &signal, NULL},
                            {"all", CLI_OPT_FLAG, &all, NULL, NULL}};
    const char *pos[1] = {NULL};
    size_t n_pos;
    int rc, err;
    wb_store *store = NULL;
    char *json = NULL;

    if (!cli_begin(c, argc, argv, opts, 2, pos, 1, &n_pos, cli_usage_signals, &rc))
        goto cleanup;
    if ((n_pos > 0) + (signal != NULL) + all != 1) {
        rc = cli_usage_error(c, "give one of ID, --signal NAME or --all");
        goto cleanup;
    }
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    err = n_pos ? wb_interaction_signals(&json, store, pos[0])
                : wb_interaction_flagged(&json, store, signal);
    if (err < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    rc = print_out(c, json);
cleanup:
    wb_store_free(store);
    return rc;
}

int cli_cmd_settings(cli *c, int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    size_t n_pos;
    int rc, err = 0;
    wb_store *store = NULL;
    char *json = NULL;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 2, &n_pos, cli_usage_settings, &rc))
        goto cleanup;
    if (n_pos < 1) {
        rc = cli_usage_error(c, "missing CAMPAIGN");
        goto cleanup;
    }
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if (n_pos == 2)
        err = wb_campaign_settings_set(store, pos[0], pos[1]);
    if (err == 0)
        err = wb_campaign_settings_get(&json, store, pos[0]);
    if (err < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    rc = print_out(c, json);
cleanup:
    wb_store_free(store);
    return rc;
}
