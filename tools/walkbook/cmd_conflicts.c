/*
 * cmd_conflicts.c - `walkbook conflicts [list|show ID|resolve ID --take
 * local|remote|FILE]`: the records a sync parked because the same fields
 * changed on the phone and on the server, and their resolution.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char cli_usage_conflicts[] =
    "usage: walkbook [--db PATH] [--json] conflicts [list]\n"
    "       walkbook [--db PATH] [--json] conflicts show ID\n"
    "       walkbook [--db PATH] conflicts resolve ID --take local|remote|FILE\n"
    "\n"
    "Records a sync parked as conflicts (policy manual, or a record edited here\n"
    "and deleted on the server).\n"
    "  list              one line per conflict: id, timestamp, campaign and the\n"
    "                    fields changed on both sides (--json: one JSON object\n"
    "                    per line, as 'show' prints it)\n"
    "  show ID           the local data, the server's envelope and the fields\n"
    "                    changed on both sides\n"
    "  resolve ID --take local    keep this device's version (sent over the\n"
    "                             server's on the next sync)\n"
    "  resolve ID --take remote   take the server's version\n"
    "  resolve ID --take FILE     take an edited data object from FILE (- for\n"
    "                             stdin), validated like a new record\n";

/* "path, path" of a conflict's paths, for the list table. */
static void print_paths(const char *conflict_json)
{
    cJSON *j = cJSON_Parse(conflict_json);
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(j, "paths"), *p;
    int first = 1;
    cJSON_ArrayForEach(p, paths)
    {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(p, "path");
        if (cJSON_IsString(path)) {
            /* cppcheck does not expand cJSON_ArrayForEach and takes this
             * for a single pass. */
            // cppcheck-suppress knownConditionTrueFalse
            printf("%s%s", first ? "" : ", ", path->valuestring[0] ? path->valuestring : "/");
            first = 0;
        }
    }
    if (first)
        fputs("(deleted on the server)", stdout);
    cJSON_Delete(j);
}

static int conflicts_list(cli *c, wb_store *store)
{
    wb_query q = WB_QUERY_INIT;
    wb_iter *it = NULL;
    const char *env;
    int err, rc = CLI_EXIT_OK;

    q.states = WB_STATE_CONFLICT;
    if ((err = wb_interaction_query(&it, store, &q)) < 0)
        return cli_fail(c, err);
    if (!c->json)
        printf("%-36s  %-24s  %-36s  %s\n", "ID", "TIMESTAMP", "CAMPAIGN", "FIELDS");
    while ((err = wb_iter_next(&env, it)) == 0) {
        cJSON *e = cJSON_Parse(env);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(data, "timestamp");
        const cJSON *campaign = cJSON_GetObjectItemCaseSensitive(data, "campaignId");
        char *conflict = NULL;
        if (!cJSON_IsString(id) || (err = wb_conflict_get(&conflict, store, id->valuestring)) < 0) {
            cJSON_Delete(e);
            rc = err < 0 ? cli_fail(c, err) : cli_error(c, CLI_EXIT_FAILURE, "malformed record");
            break;
        }
        if (c->json) {
            rc = cli_print_json(c, stdout, conflict, 0);
        } else {
            printf("%-36s  %-24s  %-36s  ", id->valuestring,
                   cJSON_IsString(ts) ? ts->valuestring : "-",
                   cJSON_IsString(campaign) ? campaign->valuestring : "-");
            print_paths(conflict);
            putchar('\n');
        }
        wb_free(conflict);
        cJSON_Delete(e);
        if (rc != CLI_EXIT_OK)
            break;
    }
    if (rc == CLI_EXIT_OK && err != WB_ITEROVER)
        rc = cli_fail(c, err);
    wb_iter_free(it);
    return rc;
}

static int conflicts_show(cli *c, wb_store *store, const char *id)
{
    char *json = NULL;
    int err = wb_conflict_get(&json, store, id), rc;
    if (err < 0)
        return cli_fail(c, err);
    rc = cli_print_json(c, stdout, json, !c->json);
    wb_free(json);
    return rc;
}

static int conflicts_resolve(cli *c, wb_store *store, const char *id, const char *take)
{
    char *document = NULL;
    int resolution, err, rc = CLI_EXIT_OK;
    if (!take)
        return cli_usage_error(c, "resolve needs --take local, remote or a FILE");
    if (strcmp(take, "local") == 0) {
        resolution = WB_TAKE_LOCAL;
    } else if (strcmp(take, "remote") == 0) {
        resolution = WB_TAKE_REMOTE;
    } else {
        resolution = WB_TAKE_DOCUMENT;
        if ((rc = cli_read_input(c, take, &document)) != CLI_EXIT_OK)
            return rc;
    }
    if ((err = wb_conflict_resolve(store, id, resolution, document)) < 0)
        rc = cli_fail(c, err);
    free(document);
    return rc;
}

int cli_cmd_conflicts(cli *c, int argc, char **argv)
{
    const char *take = NULL;
    const cli_opt opts[] = {{"take", CLI_OPT_VALUE, NULL, &take, NULL}};
    const char *pos[2] = {NULL, NULL};
    const char *action;
    size_t n_pos;
    int rc;
    wb_store *store = NULL;

    if (!cli_begin(c, argc, argv, opts, 1, pos, 2, &n_pos, cli_usage_conflicts, &rc))
        return rc;
    action = n_pos ? pos[0] : "list";
    if (strcmp(action, "list") != 0 && strcmp(action, "show") != 0 &&
        strcmp(action, "resolve") != 0)
        return cli_usage_error(c, "unknown action '%s' (list, show or resolve)", action);
    if (strcmp(action, "list") != 0 && n_pos < 2)
        return cli_usage_error(c, "%s needs a record ID", action);
    if (strcmp(action, "list") == 0 && n_pos > 1)
        return cli_usage_error(c, "list takes no ID");
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        return rc;
    if (strcmp(action, "list") == 0)
        rc = conflicts_list(c, store);
    else if (strcmp(action, "show") == 0)
        rc = conflicts_show(c, store, pos[1]);
    else
        rc = conflicts_resolve(c, store, pos[1], take);
    wb_store_free(store);
    if (rc == CLI_EXIT_OK)
        rc = cli_finish_stdout(c);
    return rc;
}
