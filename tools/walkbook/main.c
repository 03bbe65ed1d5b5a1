/*
 * main.c - the walkbook command-line tool: global options, dispatch to the
 * commands, help.
 *
 * Exit codes (also printed by `walkbook --help`):
 *    0  ok
 *    1  usage error: unknown command or option, missing argument
 *    2  invalid input: bad JSON, invalid record, bad patch, input over
 *       16 MiB, unreadable input file (WB_EINVALID, WB_ETOOBIG)
 *    3  not found: no such record, or no identity set (WB_ENOTFOUND)
 *    4  the store cannot be opened, is not a walkbook store or has a newer
 *       schema (WB_ESCHEMA, WB_EIO, WB_ECORRUPT)
 *    5  busy: another writer holds the store (WB_EBUSY)
 *    6  conflict (WB_ECONFLICT)
 *    7  sync ran, but records remain pending, in conflict or rejected
 *    8  sync: the server refused the token (WB_EAUTH)
 *    9  sync: the server could not be reached (WB_EOFFLINE)
 *   10  any other failure
 *   11  wrong or missing passphrase (WB_EKEY)
 *   12  tampered data or a broken signed log (WB_ETAMPER)
 *
 * Errors are one line on stderr: "walkbook: <command>: <message>", where the
 * message is the library's (it names the field and carries no personal data).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct cli_command {
    const char *name;
    cli_command_fn run;
    const char *usage;
    const char *summary;
} cli_command;

static const cli_command commands[] = {
    {"init", cli_cmd_init, cli_usage_init, "create a store and set its identity"},
    {"record", cli_cmd_record, cli_usage_record, "record an interaction from a create body"},
    {"get", cli_cmd_get, cli_usage_get, "print one record's envelope"},
    {"update", cli_cmd_update, cli_usage_update, "change a record with a JSON Patch"},
    {"delete", cli_cmd_delete, cli_usage_delete, "soft-delete a record"},
    {"list", cli_cmd_list, cli_usage_list, "list records, with filters"},
    {"status", cli_cmd_status, cli_usage_status, "counts per sync state, schema, file size"},
    {"export", cli_cmd_export, cli_usage_export, "export records as NDJSON, CSV or GeoJSON"},
    {"sync", cli_cmd_sync, cli_usage_sync, "push local changes to a Polis server and pull its changes"},
    {"conflicts", cli_cmd_conflicts, cli_usage_conflicts, "list, show and resolve sync conflicts"},
    {"rekey", cli_cmd_rekey, cli_usage_rekey, "re-encrypt the store under a new passphrase"},
    {"encrypt", cli_cmd_encrypt, cli_usage_encrypt, "encrypt a plain store that holds records"},
    {"decrypt", cli_cmd_decrypt, cli_usage_decrypt, "store an encrypted store's fields in clear"},
    {"verify", cli_cmd_verify, cli_usage_verify, "check the signed interaction log"},
    {"walklist", cli_cmd_walklist, cli_usage_walklist, "walk lists: list, show, progress, next doors"},
    {"import", cli_cmd_import, cli_usage_import, "import households or contacts (CSV, GeoJSON)"},
    {"signals", cli_cmd_signals, cli_usage_signals, "GPS fix, distance and fraud signals of records"},
    {"settings", cli_cmd_settings, cli_usage_settings, "a campaign's fraud thresholds and checks"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_head[] =
    "usage: walkbook [--db PATH] [--json] [--busy-timeout MS] COMMAND [ARGS...]\n"
    "       walkbook help COMMAND | walkbook COMMAND --help | walkbook --version\n"
    "\n"
    "walkbook keeps canvassing interactions in an offline SQLite store.\n"
    "\n"
    "Global options (also accepted after the command name):\n"
    "  --db PATH          the store file; default $WALKBOOK_DB, else ./walkbook.db\n"
    "  --json             machine-readable output (compact JSON, one per line)\n"
    "  --busy-timeout MS  wait up to MS milliseconds for another writer\n"
    "                     (default 5000), then fail with exit code 5\n"
    "  --passphrase-file FILE  passphrase of an encrypted store (first line of\n"
    "                     FILE); else $WALKBOOK_PASSPHRASE, else a prompt on the\n"
    "                     terminal. Never given as an argument.\n"
    "  --help, -h         show help and exit\n"
    "  --version          print the library version and exit\n"
    "\n"
    "Commands:\n";

static const char usage_tail[] =
    "\n"
    "Exit codes:\n"
    "   0  ok\n"
    "   1  usage error (unknown command or option, missing argument)\n"
    "   2  invalid input (bad JSON, invalid record, bad patch, input over 16 MiB)\n"
    "   3  not found (no such record, or no identity set)\n"
    "   4  store cannot be opened, is not a walkbook store, or has a newer schema\n"
    "   5  busy (another writer holds the store)\n"
    "   6  conflict\n"
    "   7  sync ran, but records remain pending, in conflict or rejected\n"
    "   8  sync: the server refused the token\n"
    "   9  sync: the server could not be reached\n"
    "  10  any other failure\n"
    "  11  wrong or missing passphrase\n"
    "  12  tampered data or a broken signed log\n"
    "\n"
    "Errors are printed on one line: \"walkbook: COMMAND: MESSAGE\".\n";

static void print_usage(FILE *f)
{
    fputs(usage_head, f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs(usage_tail, f);
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_help(cli *c, int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stdout);
        return cli_finish_stdout(c);
    }
    if (argc > 2)
        return cli_usage_error(c, "help takes one command name");
    const cli_command *cmd = find_command(argv[1]);
    if (cmd == NULL)
        return cli_usage_error(c, "unknown command '%s'", argv[1]);
    fputs(cmd->usage, stdout);
    return cli_finish_stdout(c);
}

int main(int argc, char **argv)
{
    cli c;
    const char *env = getenv("WALKBOOK_DB");
    int i;

    c.db_path = (env && env[0]) ? env : "./walkbook.db";
    c.json = 0;
    c.command = NULL;
    c.busy_timeout_ms = -1;
    c.passphrase_file = NULL;
    c.encrypt = 0;

    /* Global options come before the command name. */
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--json") == 0) {
            c.json = 1;
        } else if (strcmp(arg, "--db") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(&c, "option '--db' needs a value");
            c.db_path = argv[++i];
        } else if (strncmp(arg, "--db=", 5) == 0) {
            c.db_path = arg + 5;
        } else if (strcmp(arg, "--busy-timeout") == 0 || strncmp(arg, "--busy-timeout=", 15) == 0) {
            const char *v = arg[14] == '=' ? arg + 15 : NULL;
            if (v == NULL) {
                if (i + 1 >= argc)
                    return cli_usage_error(&c, "option '--busy-timeout' needs a value");
                v = argv[++i];
            }
            int rc = cli_set_busy_timeout(&c, v);
            if (rc != CLI_EXIT_OK)
                return rc;
        } else if (strcmp(arg, "--passphrase-file") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(&c, "option '--passphrase-file' needs a value");
            c.passphrase_file = argv[++i];
        } else if (strncmp(arg, "--passphrase-file=", 18) == 0) {
            c.passphrase_file = arg + 18;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout);
            return cli_finish_stdout(&c);
        } else if (strcmp(arg, "--version") == 0) {
            printf("walkbook %s (schema %d)\n", wb_version(), wb_schema_version());
            return cli_finish_stdout(&c);
        } else if (strcmp(arg, "--") == 0) {
            i++;
            break;
        } else if (arg[0] == '-') {
            return cli_usage_error(&c, "unknown option '%s'", arg);
        } else {
            break;
        }
    }
    if (i >= argc) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }

    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        c.command = "help";
        return cmd_help(&c, argc - i, argv + i);
    }
    if (strcmp(name, "version") == 0) {
        printf("walkbook %s (schema %d)\n", wb_version(), wb_schema_version());
        return cli_finish_stdout(&c);
    }
    const cli_command *cmd = find_command(name);
    if (cmd == NULL)
        return cli_usage_error(&c, "unknown command '%s'", name);
    c.command = cmd->name;
    return cmd->run(&c, argc - i, argv + i);
}
