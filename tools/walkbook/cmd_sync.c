/*
 * cmd_sync.c - `walkbook sync`: push local changes to a Polis server and
 * pull remote ones, with a progress bar on a terminal and a one-line summary.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char cli_usage_sync[] =
    "usage: walkbook [--db PATH] [--json] sync --server URL [--token TOKEN] [--api v1|v2]\n"
    "                [--policy merge|server-wins|client-wins|manual] [--prefer local|remote]\n"
    "                [--ca-file FILE] [--page-size N] [--parallel N] [--walklists]\n"
    "                [--send-signatures] [--save-token]\n"
    "\n"
    "Push local changes to the server, then pull the server's changes.\n"
    "  --server URL    base URL, e.g. https://api.polisapp.com or http://127.0.0.1:8080\n"
    "  --token TOKEN   bearer token (or the WALKBOOK_TOKEN environment variable,\n"
    "                  which keeps it out of the process list); without either,\n"
    "                  the token saved in the store with --save-token is used\n"
    "  --save-token    also keep the token given (--token or WALKBOOK_TOKEN) in\n"
    "                  the store for later runs without one: sealed like personal\n"
    "                  fields in an encrypted store, in clear in a plain one; not\n"
    "                  kept when the server refuses it (exit 8)\n"
    "  --api v1|v2     route version and body shapes (default v2)\n"
    "  --policy P      what happens when a record changed on both sides:\n"
    "                  merge (default: field by field), server-wins, client-wins,\n"
    "                  manual (park it; see 'walkbook conflicts')\n"
    "  --prefer SIDE   under merge, the side of a field changed on both (default local)\n"
    "  --ca-file FILE  CA bundle for TLS\n"
    "  --page-size N   records per pulled page (default 200)\n"
    "  --parallel N    push on N connections at once (1 to 16, default 1); each\n"
    "                  record still goes out once, its changes in order\n"
    "  --walklists     also download the walk lists of your campaigns (campaigns,\n"
    "                  surveys, lists with their households and contacts) for\n"
    "                  offline use; see 'walkbook walklist'\n"
    "  --send-signatures  each create carries its signed log entry (the optional\n"
    "                  walkbookSignature member) for a server that accepts it, such\n"
    "                  as walkbook-server --accept-signatures; other servers refuse it\n"
    "\n"
    "Prints a progress bar on a terminal (stderr) and a one-line summary; with\n"
    "--json the report. Exit 0 when everything is synced, 7 when records remain\n"
    "pending, in conflict or rejected, 8 when the server refused the token, 9 when\n"
    "it could not be reached, 10 for other failures.\n";

static int progress_bar(const wb_sync_progress *p, void *userdata)
{
    (void)userdata;
    if (p->phase == 1 && p->total > 0) {
        unsigned width = 30, filled = (unsigned)(p->done * width / p->total);
        fprintf(stderr, "\rpush [%.*s%*s] %llu/%llu", (int)filled, "##############################",
                (int)(width - filled), "", (unsigned long long)p->done,
                (unsigned long long)p->total);
    } else if (p->phase == 2) {
        fprintf(stderr, "\rpull %llu records%20s", (unsigned long long)p->done, "");
    }
    return 0;
}

static long long report_int(const cJSON *report, const char *group, const char *name)
{
    const cJSON *g = group ? cJSON_GetObjectItemCaseSensitive(report, group) : report;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static void print_summary(const char *report_json, uint64_t remaining)
{
    cJSON *r = cJSON_Parse(report_json);
    printf("pushed %lld created, %lld updated, %lld deleted, %lld rejected, %lld deferred; "
           "pulled %lld new, %lld updated, %lld deleted, %lld merged, %lld conflicts, "
           "%lld refused; "
           "%lld requests in %lld ms; %llu not synced\n",
           report_int(r, "pushed", "created"), report_int(r, "pushed", "updated"),
           report_int(r, "pushed", "deleted"), report_int(r, "pushed", "rejected"),
           report_int(r, "pushed", "deferred"), report_int(r, "pulled", "inserted"),
           report_int(r, "pulled", "updated"), report_int(r, "pulled", "deleted"),
           report_int(r, "pulled", "merged"), report_int(r, "pulled", "conflicts"),
           report_int(r, "pulled", "refused"), report_int(r, NULL, "requests"),
           report_int(r, NULL, "durationMs"), (unsigned long long)remaining);
    cJSON_Delete(r);
}

static int parse_policy(const char *s)
{
    static const char *const names[] = {"merge", "server-wins", "client-wins", "manual"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i; /* the wb_sync_policy values, in order */
    return -1;
}

int cli_cmd_sync(cli *c, int argc, char **argv)
{
    const char *server = NULL, *token = NULL, *api = NULL, *policy = NULL, *prefer = NULL;
    const char *ca_file = NULL, *page_size = NULL, *parallel = NULL;
    int walklists = 0, send_signatures = 0, save_token = 0, use_saved = 0;
    const cli_opt opts[] = {
        {"save-token", CLI_OPT_FLAG, &save_token, NULL, NULL},
        {"send-signatures", CLI_OPT_FLAG, &send_signatures, NULL, NULL},
        {"walklists", CLI_OPT_FLAG, &walklists, NULL, NULL},
        {"server", CLI_OPT_VALUE, NULL, &server, NULL},
        {"token", CLI_OPT_VALUE, NULL, &token, NULL},
        {"api", CLI_OPT_VALUE, NULL, &api, NULL},
        {"policy", CLI_OPT_VALUE, NULL, &policy, NULL},
        {"prefer", CLI_OPT_VALUE, NULL, &prefer, NULL},
        {"ca-file", CLI_OPT_VALUE, NULL, &ca_file, NULL},
        {"page-size", CLI_OPT_VALUE, NULL, &page_size, NULL},
        {"parallel", CLI_OPT_VALUE, NULL, &parallel, NULL},
    };
    const char *pos[1];
    size_t n_pos;
    int rc, err;
    wb_sync_options o;
    wb_sync *sync = NULL;
    wb_store *store = NULL;
    char *report = NULL;
    uint64_t remaining = 0;

    if (!cli_begin(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &n_pos,
                   cli_usage_sync, &rc))
        return rc;
    if (!server)
        return cli_usage_error(c, "--server URL is required");
    if (!token)
        token = getenv("WALKBOOK_TOKEN");
    if (token && !*token)
        token = NULL;
    if (save_token && !token)
        return cli_usage_error(c, "--save-token needs --token or WALKBOOK_TOKEN");
    if ((err = wb_sync_options_init(&o, WB_SYNC_OPTIONS_VERSION)) < 0)
        return cli_fail(c, err);
    o.base_url = server;
    o.token = token;
    use_saved = token == NULL;
    o.ca_file = ca_file;
    o.send_signatures = send_signatures;
    if (api && strcmp(api, "v1") == 0)
        o.api = WB_API_V1;
    else if (api && strcmp(api, "v2") != 0)
        return cli_usage_error(c, "--api must be v1 or v2");
    if (policy && (o.policy = parse_policy(policy)) < 0)
        return cli_usage_error(c, "--policy must be merge, server-wins, client-wins or manual");
    if (prefer && strcmp(prefer, "remote") == 0)
        o.prefer_remote = 1;
    else if (prefer && strcmp(prefer, "local") != 0)
        return cli_usage_error(c, "--prefer must be local or remote");
    if (page_size) {
        char *end;
        long n = strtol(page_size, &end, 10);
        if (*end || n < 1 || n > 10000)
            return cli_usage_error(c, "--page-size must be a number from 1 to 10000");
        o.page_size = (unsigned)n;
    }
    if (parallel) {
        char *end;
        long n = strtol(parallel, &end, 10);
        if (*end || n < 1 || n > 16)
            return cli_usage_error(c, "--parallel must be a number from 1 to 16");
        o.parallel = (unsigned)n;
    }
    if (isatty(STDERR_FILENO) && !c->json)
        o.progress = progress_bar;

    /* The store must exist (and have an identity): open it once to say so
     * clearly, and to count what is left afterwards. */
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        return rc;
    if (use_saved) {
        /* No token given: the one saved in the store, read by the engine
         * itself (o.token stays NULL). */
        char *saved = NULL;
        err = wb_store_saved_token(&saved, store);
        wb_free_secret(saved);
        if (err == WB_ENOTFOUND) {
            rc = cli_usage_error(c, "--token or WALKBOOK_TOKEN is required (no token is saved "
                                    "in the store; see --save-token)");
            goto cleanup;
        }
        if (err < 0) {
            rc = cli_fail(c, err);
            goto cleanup;
        }
        o.use_saved_token = 1;
    }
    wb_store_options so = WB_STORE_OPTIONS_INIT;
    cli_store_options(c, &so);
    if ((err = wb_sync_new(&sync, c->db_path, &so, &o)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (walklists && (err = wb_sync_pull_reference(sync, 1)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    err = wb_sync_run(&report, sync);
    if (o.progress)
        fputc('\n', stderr);
    /* Kept unless the server refused it: a token it took, or one it was
     * never asked about (offline). */
    if (save_token && err != WB_EAUTH) {
        int serr = wb_store_save_token(store, token);
        if (serr < 0 && err >= 0)
            err = serr;
    }
    if (err < 0) {
        rc = err == WB_EAUTH      ? cli_error(c, CLI_EXIT_AUTH, "%s", wb_error_last()->message)
             : err == WB_EOFFLINE ? cli_error(c, CLI_EXIT_OFFLINE, "%s", wb_error_last()->message)
                                  : cli_fail(c, err);
        goto cleanup;
    }
    {
        wb_query q = WB_QUERY_INIT;
        q.states = WB_STATE_PENDING | WB_STATE_CONFLICT | WB_STATE_REJECTED;
        q.deleted = WB_DELETED_INCLUDE;
        if ((err = wb_interaction_count(&remaining, store, &q)) < 0) {
            rc = cli_fail(c, err);
            goto cleanup;
        }
    }
    if (c->json)
        rc = cli_print_json(c, stdout, report ? report : "{}", 0);
    else if (report)
        print_summary(report, remaining);
    if (rc == CLI_EXIT_OK)
        rc = cli_finish_stdout(c);
    if (rc == CLI_EXIT_OK && remaining > 0)
        rc = cli_error(c, CLI_EXIT_UNSYNCED,
                       "%llu record(s) not synced: pending, in conflict or rejected "
                       "(see 'walkbook list --state …' and 'walkbook conflicts')",
                       (unsigned long long)remaining);
cleanup:
    wb_free(report);
    wb_sync_free(sync);
    wb_store_free(store);
    return rc;
}
