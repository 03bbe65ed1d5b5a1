/*
 * cmd_list.c - `walkbook list`: records matching filters, as a table or as
 * NDJSON.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* clang-format off */
const char cli_usage_list[] =
    "usage: walkbook [--db PATH] [--json] list [OPTIONS]\n"
    "\n"
    "List records in time order. Without --json, a table of id, timestamp,\n"
    "campaign, sync state and whether the record is deleted; with --json, one\n"
    "compact envelope per line (NDJSON).\n"
    "\n"
    "Options:\n" CLI_FILTER_HELP
    "  --count            print only the number of matching records\n";
/* clang-format on */

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The record's sync state name from wb_interaction_sync_info(), into buf. */
static int sync_state(const cli *c, wb_store *store, const char *id, char *buf, size_t size)
{
    char *json = NULL;
    cJSON *doc = NULL;
    int err = wb_interaction_sync_info(&json, store, id);
    if (err < 0)
        return cli_fail(c, err);
    doc = cJSON_Parse(json);
    wb_free(json);
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(doc, "state");
    const char *name = NULL;
    if (cJSON_IsString(state))
        name = state->valuestring;
    else if (cJSON_IsNumber(state))
        name = wb_sync_state_name(state->valueint);
    snprintf(buf, size, "%s", name ? name : "?");
    cJSON_Delete(doc);
    return CLI_EXIT_OK;
}

static int print_row(const cli *c, wb_store *store, const char *envelope)
{
    char state[32];
    cJSON *doc = cJSON_Parse(envelope);
    int rc = CLI_EXIT_OK;

    if (doc == NULL)
        return cli_error(c, CLI_EXIT_FAILURE, "the library returned malformed JSON");
    const char *id = str_at(doc, "id", NULL);
    const char *ts = str_at(doc, "data", "timestamp");
    const char *campaign = str_at(doc, "data", "campaignId");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "meta");
    int deleted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "isDeleted"));

    if (id == NULL) {
        rc = cli_error(c, CLI_EXIT_FAILURE, "the library returned an envelope without an id");
        goto cleanup;
    }
    if ((rc = sync_state(c, store, id, state, sizeof(state))) != CLI_EXIT_OK)
        goto cleanup;
    printf("%-36s  %-24s  %-36s  %-14s  %s\n", id, ts ? ts : "-", campaign ? campaign : "-", state,
           deleted ? "yes" : "no");

cleanup:
    cJSON_Delete(doc);
    return rc;
}

int cli_cmd_list(cli *c, int argc, char **argv)
{
    cli_filter f;
    int count = 0;
    memset(&f, 0, sizeof(f));
    const cli_opt opts[] = {
        CLI_FILTER_OPTS(f),
        {"count", CLI_OPT_FLAG, &count, NULL, NULL},
    };
    const char *pos[1];
    size_t n_pos;
    wb_store *store = NULL;
    wb_iter *it = NULL;
    wb_query q;
    int rc, err;

    if (!cli_begin(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &n_pos,
                   cli_usage_list, &rc))
        goto cleanup;
    if ((rc = cli_filter_query(c, &f, &q)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;

    if (count) {
        uint64_t n = 0;
        if ((err = wb_interaction_count(&n, store, &q)) < 0) {
            rc = cli_fail(c, err);
            goto cleanup;
        }
        /* The count ignores the page size; --limit still caps it. */
        if (q.limit && n > q.limit)
            n = q.limit;
        printf("%" PRIu64 "\n", n);
        rc = cli_finish_stdout(c);
        goto cleanup;
    }

    if ((err = wb_interaction_query(&it, store, &q)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (!c->json)
        printf("%-36s  %-24s  %-36s  %-14s  %s\n", "ID", "TIMESTAMP", "CAMPAIGN", "STATE",
               "DELETED");
    for (;;) {
        const char *json = NULL;
        err = wb_iter_next(&json, it);
        if (err == WB_ITEROVER)
            break;
        if (err < 0) {
            rc = cli_fail(c, err);
            goto cleanup;
        }
        rc = c->json ? cli_print_json(c, stdout, json, 0) : print_row(c, store, json);
        if (rc != CLI_EXIT_OK)
            goto cleanup;
    }
    rc = cli_finish_stdout(c);

cleanup:
    wb_iter_free(it);
    wb_store_free(store);
    cli_list_free(&f.states);
    return rc;
}
