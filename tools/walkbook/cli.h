/*
 * cli.h - shared pieces of the walkbook command-line tool.
 *
 * The tool uses only the public header (walkbook.h) and cJSON for its own
 * output. Every command is a function that returns a process exit code
 * (CLI_EXIT_...) and has already printed its one-line error when that code
 * is not CLI_EXIT_OK.
 */
#ifndef WALKBOOK_CLI_H
#define WALKBOOK_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <walkbook.h>

#if defined(__GNUC__) || defined(__clang__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Exit codes; the table is repeated in main.c and in `walkbook --help`. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,    /* unknown command or option, missing argument */
    CLI_EXIT_INVALID = 2,  /* bad JSON, invalid record or patch, input too big */
    CLI_EXIT_NOTFOUND = 3, /* no such record (or no identity set) */
    CLI_EXIT_STORE = 4,    /* store cannot be opened, not a walkbook store */
    CLI_EXIT_BUSY = 5,     /* the store is locked by another writer */
    CLI_EXIT_CONFLICT = 6, /* the record is in conflict */
    CLI_EXIT_UNSYNCED = 7, /* sync ran, but records remain pending, conflicted or rejected */
    CLI_EXIT_AUTH = 8,     /* sync: the server refused the token */
    CLI_EXIT_OFFLINE = 9,  /* sync: the server could not be reached */
    CLI_EXIT_FAILURE = 10, /* anything else */
    CLI_EXIT_KEY = 11,     /* wrong or missing passphrase (WB_EKEY) */
    CLI_EXIT_TAMPER = 12   /* tampered data or a broken signed log (WB_ETAMPER) */
};

/* Hard cap on a record or patch read from a file or stdin. */
#define CLI_INPUT_MAX ((size_t)16 * 1024 * 1024)
#define CLI_INPUT_MAX_TEXT "16 MiB"

/* What the global options decided; one per process, owned by main. */
typedef struct cli {
    const char *db_path;         /* --db, $WALKBOOK_DB or ./walkbook.db */
    int json;                    /* --json */
    int busy_timeout_ms;         /* --busy-timeout; < 0: the library's default */
    const char *command;         /* name used in error lines */
    const char *passphrase_file; /* --passphrase-file */
    int encrypt;                 /* init --encrypt: create an encrypted store */
} cli;

/* ---- option parsing (util.c) ---------------------------------------------
 * Long options only ("--name VALUE" or "--name=VALUE"); "--" ends options,
 * "-" alone is a positional argument (stdin). Every command also accepts the
 * global options --db, --json and --help. */
typedef enum cli_opt_kind {
    CLI_OPT_FLAG,  /* sets *flag to 1 */
    CLI_OPT_VALUE, /* stores the last value in *value */
    CLI_OPT_LIST   /* appends every value to *list */
} cli_opt_kind;

typedef struct cli_list {
    const char **items; /* points into argv; the array itself is allocated */
    size_t n;
} cli_list;

typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    cli_opt_kind kind;
    int *flag;
    const char **value;
    cli_list *list;
} cli_opt;

/* Parse the value of --busy-timeout into c. Returns an exit code. */
int cli_set_busy_timeout(cli *c, const char *value);

/* Parse argv[1..argc) (argv[0] is the command name). Positional arguments
 * are stored in *pos (at most max_pos of them, else a usage error).
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing the error line; sets
 * *help when --help or -h was given (the caller prints usage and exits 0). */
int cli_parse(cli *c, int argc, char **argv, const cli_opt *opts, size_t n_opts, const char **pos,
              size_t max_pos, size_t *n_pos, int *help);
/* The start every command shares: cli_parse, and on --help or -h print
 * @p usage. Returns 1 when the command goes on; 0 when it must return
 * *exit_code at once (CLI_EXIT_OK after the usage, or the usage error's or
 * a failed write's code). */
int cli_begin(cli *c, int argc, char **argv, const cli_opt *opts, size_t n_opts, const char **pos,
              size_t max_pos, size_t *n_pos, const char *usage, int *exit_code);
void cli_list_free(cli_list *list);

/* ---- errors (util.c) ----------------------------------------------------- */
/* Exit code for a WB_E... code. */
int cli_exit_code(int wb_code);
/* Print "walkbook: <command>: <wb_error_last() message>" and return the exit
 * code that belongs to rc. */
int cli_fail(const cli *c, int rc);
/* Print "walkbook: <command>: <message>" and return exit_code. */
int cli_error(const cli *c, int exit_code, const char *fmt, ...) CLI_PRINTF(3, 4);
/* A usage error pointing at the command's help. */
int cli_usage_error(const cli *c, const char *fmt, ...) CLI_PRINTF(2, 3);

/* ---- input and output (util.c) ------------------------------------------- */
/* Read a whole file ("-" or NULL: stdin) into a NUL-terminated buffer (free
 * with free()). Refuses input over CLI_INPUT_MAX and embedded NUL bytes.
 * Returns an exit code, having printed the error. */
int cli_read_input(const cli *c, const char *path, char **out);
/* Open the store at c->db_path. With create == 0 a missing file is an error
 * (only `init` creates stores). Returns an exit code. */
int cli_open_store(const cli *c, wb_store **out, int create);
/* The passphrase (passphrase.c): --passphrase-file, $WALKBOOK_PASSPHRASE or
 * a prompt on the terminal (asked twice when confirm). *out is NULL when
 * there is none; returns an exit code. */
int cli_passphrase(const cli *c, const char **out, int confirm);
/* Put the passphrase already obtained (if any) into opts. */
int cli_store_options(const cli *c, wb_store_options *opts);
/* Print JSON text to f: compact on one line, or pretty (indented). */
int cli_print_json(const cli *c, FILE *f, const char *json, int pretty);
/* Check that stdout was written completely. Returns an exit code. */
int cli_finish_stdout(const cli *c);

/* ---- record filters shared by list and export (filter.c) -----------------
 * The option values as given; cli_filter_query turns them into a wb_query
 * (parsing --state and --limit) and reports bad values as usage errors. The
 * library checks ids and times itself and names the bad member. */
typedef struct cli_filter {
    const char *campaign, *contact, *household, *walklist;
    const char *since, *until, *limit;
    cli_list states;
    int deleted;      /* --deleted: live records and tombstones */
    int deleted_only; /* --deleted-only: tombstones only */
} cli_filter;

/* clang-format off */
#define CLI_FILTER_OPTS(f)                                              \
    {"campaign", CLI_OPT_VALUE, NULL, &(f).campaign, NULL},             \
    {"contact", CLI_OPT_VALUE, NULL, &(f).contact, NULL},               \
    {"household", CLI_OPT_VALUE, NULL, &(f).household, NULL},           \
    {"walklist", CLI_OPT_VALUE, NULL, &(f).walklist, NULL},             \
    {"since", CLI_OPT_VALUE, NULL, &(f).since, NULL},                   \
    {"until", CLI_OPT_VALUE, NULL, &(f).until, NULL},                   \
    {"limit", CLI_OPT_VALUE, NULL, &(f).limit, NULL},                   \
    {"state", CLI_OPT_LIST, NULL, NULL, &(f).states},                   \
    {"deleted", CLI_OPT_FLAG, &(f).deleted, NULL, NULL},                \
    {"deleted-only", CLI_OPT_FLAG, &(f).deleted_only, NULL, NULL}
/* clang-format on */

/* Usage lines for the filter options, shared by the help texts. */
#define CLI_FILTER_HELP                                                                            \
    "  --campaign UUID    only records of this campaign\n"                                         \
    "  --contact UUID     only records of this contact\n"                                          \
    "  --household UUID   only records of this household\n"                                        \
    "  --walklist UUID    only records of this walk list\n"                                        \
    "  --state NAMES      only records in these sync states, comma-separated or\n"                 \
    "                     repeated: synced, pending_create, pending_update,\n"                     \
    "                     pending_delete, conflict, rejected (or pending: any of\n"                \
    "                     the three pending states)\n"                                             \
    "  --since TIME       timestamp at or after TIME (2019-01-31T00:00:00.000Z)\n"                 \
    "  --until TIME       timestamp before TIME\n"                                                 \
    "  --limit N          at most N records\n"                                                     \
    "  --deleted          include deleted records (tombstones)\n"                                  \
    "  --deleted-only     only deleted records\n"

int cli_filter_query(const cli *c, const cli_filter *f, wb_query *q);

/* ---- commands ------------------------------------------------------------ */
typedef int (*cli_command_fn)(cli *c, int argc, char **argv);

int cli_cmd_init(cli *c, int argc, char **argv);
int cli_cmd_status(cli *c, int argc, char **argv);
int cli_cmd_record(cli *c, int argc, char **argv);
int cli_cmd_get(cli *c, int argc, char **argv);
int cli_cmd_update(cli *c, int argc, char **argv);
int cli_cmd_delete(cli *c, int argc, char **argv);
int cli_cmd_list(cli *c, int argc, char **argv);
int cli_cmd_export(cli *c, int argc, char **argv);
int cli_cmd_conflicts(cli *c, int argc, char **argv);
int cli_cmd_sync(cli *c, int argc, char **argv);
int cli_cmd_rekey(cli *c, int argc, char **argv);
int cli_cmd_encrypt(cli *c, int argc, char **argv);
int cli_cmd_decrypt(cli *c, int argc, char **argv);
int cli_cmd_verify(cli *c, int argc, char **argv);
int cli_cmd_walklist(cli *c, int argc, char **argv);
int cli_cmd_import(cli *c, int argc, char **argv);
int cli_cmd_signals(cli *c, int argc, char **argv);
int cli_cmd_settings(cli *c, int argc, char **argv);

extern const char cli_usage_init[];
extern const char cli_usage_status[];
extern const char cli_usage_record[];
extern const char cli_usage_get[];
extern const char cli_usage_update[];
extern const char cli_usage_delete[];
extern const char cli_usage_list[];
extern const char cli_usage_export[];
extern const char cli_usage_conflicts[];
extern const char cli_usage_sync[];
extern const char cli_usage_rekey[];
extern const char cli_usage_encrypt[];
extern const char cli_usage_decrypt[];
extern const char cli_usage_verify[];
extern const char cli_usage_walklist[];
extern const char cli_usage_import[];
extern const char cli_usage_signals[];
extern const char cli_usage_settings[];

#endif
