/*
 * util.c - option parsing, error lines, bounded input and JSON printing for
 * the walkbook command-line tool.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* ---- option parsing ------------------------------------------------------ */

static const cli_opt *find_opt(const cli_opt *opts, size_t n_opts, const char *name, size_t len)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int list_push(const cli *c, cli_list *list, const char *item, int argc)
{
    if (list->items == NULL) {
        list->items = calloc((size_t)argc, sizeof(*list->items));
        if (list->items == NULL)
            return cli_error(c, CLI_EXIT_FAILURE, "out of memory");
    }
    /* Never more items than arguments: the array has argc slots. */
    list->items[list->n++] = item;
    return CLI_EXIT_OK;
}

int cli_parse(cli *c, int argc, char **argv, const cli_opt *opts, size_t n_opts, const char **pos,
              size_t max_pos, size_t *n_pos, int *help)
{
    int only_pos = 0;
    *n_pos = 0;
    *help = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (only_pos || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (*n_pos >= max_pos)
                return cli_usage_error(c, "unexpected argument '%s'", arg);
            pos[(*n_pos)++] = arg;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = 1;
            continue;
        }
        if (arg[1] != '-')
            return cli_usage_error(c, "unknown option '%s'", arg);

        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;

        /* The global options are welcome after the command name too. */
        if (len == 4 && strncmp(name, "json", 4) == 0) {
            if (value)
                return cli_usage_error(c, "option '--json' takes no value");
            c->json = 1;
            continue;
        }
        if (len == 2 && strncmp(name, "db", 2) == 0) {
            if (!value) {
                if (i + 1 >= argc)
                    return cli_usage_error(c, "option '--db' needs a value");
                value = argv[++i];
            }
            c->db_path = value;
            continue;
        }

        if (len == 15 && strncmp(name, "passphrase-file", 15) == 0) {
            if (!value) {
                if (i + 1 >= argc)
                    return cli_usage_error(c, "option '--passphrase-file' needs a value");
                value = argv[++i];
            }
            c->passphrase_file = value;
            continue;
        }

        if (len == 12 && strncmp(name, "busy-timeout", 12) == 0) {
            if (!value) {
                if (i + 1 >= argc)
                    return cli_usage_error(c, "option '--busy-timeout' needs a value");
                value = argv[++i];
            }
            int rc = cli_set_busy_timeout(c, value);
            if (rc != CLI_EXIT_OK)
                return rc;
            continue;
        }

        const cli_opt *o = find_opt(opts, n_opts, name, len);
        if (o == NULL)
            return cli_usage_error(c, "unknown option '--%.*s'", (int)len, name);
        if (o->kind == CLI_OPT_FLAG) {
            if (value)
                return cli_usage_error(c, "option '--%s' takes no value", o->name);
            *o->flag = 1;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return cli_usage_error(c, "option '--%s' needs a value", o->name);
            value = argv[++i];
        }
        if (o->kind == CLI_OPT_VALUE) {
            *o->value = value;
        } else {
            int rc = list_push(c, o->list, value, argc);
            if (rc != CLI_EXIT_OK)
                return rc;
        }
    }
    return CLI_EXIT_OK;
}

int cli_begin(cli *c, int argc, char **argv, const cli_opt *opts, size_t n_opts, const char **pos,
              size_t max_pos, size_t *n_pos, const char *usage, int *exit_code)
{
    int help = 0;
    *exit_code = cli_parse(c, argc, argv, opts, n_opts, pos, max_pos, n_pos, &help);
    if (*exit_code != CLI_EXIT_OK)
        return 0;
    if (!help)
        return 1;
    fputs(usage, stdout);
    *exit_code = cli_finish_stdout(c);
    return 0;
}

int cli_set_busy_timeout(cli *c, const char *value)
{
    char *end = NULL;
    long ms;

    errno = 0;
    ms = (value[0] >= '0' && value[0] <= '9') ? strtol(value, &end, 10) : -1;
    if (ms < 0 || errno != 0 || *end != '\0' || ms > INT_MAX)
        return cli_usage_error(c, "--busy-timeout: must be a number of milliseconds");
    c->busy_timeout_ms = (int)ms;
    return CLI_EXIT_OK;
}

void cli_list_free(cli_list *list)
{
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

/* ---- errors -------------------------------------------------------------- */

int cli_exit_code(int wb_code)
{
    switch (wb_code) {
    case WB_OK:
        return CLI_EXIT_OK;
    case WB_EINVALID:
    case WB_ETOOBIG:
        return CLI_EXIT_INVALID;
    case WB_ENOTFOUND:
        return CLI_EXIT_NOTFOUND;
    case WB_ESCHEMA:
    case WB_EIO:
    case WB_ECORRUPT:
        return CLI_EXIT_STORE;
    case WB_EBUSY:
        return CLI_EXIT_BUSY;
    case WB_ECONFLICT:
        return CLI_EXIT_CONFLICT;
    case WB_EKEY:
        return CLI_EXIT_KEY;
    case WB_ETAMPER:
        return CLI_EXIT_TAMPER;
    default:
        return CLI_EXIT_FAILURE;
    }
}

static void vprint_error(const cli *c, const char *fmt, va_list ap) CLI_PRINTF(2, 0);

static void vprint_error(const cli *c, const char *fmt, va_list ap)
{
    fflush(stdout);
    if (c->command)
        fprintf(stderr, "walkbook: %s: ", c->command);
    else
        fputs("walkbook: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const cli *c, int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(c, fmt, ap);
    va_end(ap);
    return exit_code;
}

int cli_usage_error(const cli *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->command)
        return cli_error(c, CLI_EXIT_USAGE, "%s (see 'walkbook %s --help')", msg, c->command);
    return cli_error(c, CLI_EXIT_USAGE, "%s (see 'walkbook --help')", msg);
}

int cli_fail(const cli *c, int rc)
{
    const wb_error *e = wb_error_last();
    /* The library's message already names the field and never carries
     * personal data; without one, the code's name is all there is. */
    const char *msg = (e && e->message && e->message[0]) ? e->message : wb_error_name(rc);
    cli_error(c, cli_exit_code(rc), "%s", msg);
    return cli_exit_code(rc);
}

/* ---- input --------------------------------------------------------------- */

int cli_read_input(const cli *c, const char *path, char **out)
{
    int from_stdin = (path == NULL || strcmp(path, "-") == 0);
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = CLI_EXIT_OK;

    *out = NULL;
    if (f == NULL)
        return cli_error(c, CLI_EXIT_INVALID, "cannot open %s: %s", path, strerror(errno));

    for (;;) {
        if (len == cap) {
            /* Grow by doubling, but never past the cap plus one byte: that
             * one byte tells "exactly at the cap" from "over it". */
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            if (ncap > CLI_INPUT_MAX + 1)
                ncap = CLI_INPUT_MAX + 1;
            if (ncap == cap) {
                rc = cli_error(c, CLI_EXIT_INVALID, "input larger than " CLI_INPUT_MAX_TEXT);
                goto cleanup;
            }
            char *nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                rc = cli_error(c, CLI_EXIT_FAILURE, "out of memory");
                goto cleanup;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                rc = cli_error(c, CLI_EXIT_INVALID, "cannot read %s: %s",
                               from_stdin ? "standard input" : path, strerror(errno));
                goto cleanup;
            }
            break;
        }
    }
    if (len > CLI_INPUT_MAX) {
        rc = cli_error(c, CLI_EXIT_INVALID, "input larger than " CLI_INPUT_MAX_TEXT);
        goto cleanup;
    }
    if (buf == NULL) {
        buf = malloc(1);
        if (buf == NULL) {
            rc = cli_error(c, CLI_EXIT_FAILURE, "out of memory");
            goto cleanup;
        }
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        rc = cli_error(c, CLI_EXIT_INVALID, "input contains a NUL byte");
        goto cleanup;
    }
    *out = buf;
    buf = NULL;

cleanup:
    free(buf);
    if (!from_stdin)
        fclose(f);
    return rc;
}

/* ---- store --------------------------------------------------------------- */

int cli_open_store(const cli *c, wb_store **out, int create)
{
    wb_store_options opts = WB_STORE_OPTIONS_INIT;
    struct stat st;
    int rc;

    *out = NULL;
    if (c->db_path[0] == '\0')
        return cli_usage_error(c, "option '--db' needs a non-empty path");
    if (!create && strcmp(c->db_path, ":memory:") != 0 && stat(c->db_path, &st) != 0)
        return cli_error(c, CLI_EXIT_STORE, "no store at %s (create one with 'walkbook init')",
                         c->db_path);
    if (!create)
        opts.flags &= ~WB_OPEN_CREATE;
    if (c->busy_timeout_ms >= 0)
        opts.busy_timeout_ms = c->busy_timeout_ms;
    if (create && c->encrypt) {
        /* init --encrypt: the passphrase is required (asked twice). */
        if ((rc = cli_passphrase(c, &opts.passphrase, 1)) != CLI_EXIT_OK)
            return rc;
        opts.encryption = WB_ENCRYPTION_REQUIRED;
        rc = wb_store_open(out, c->db_path, &opts);
        return rc < 0 ? cli_fail(c, rc) : CLI_EXIT_OK;
    }
    if (create && strcmp(c->db_path, ":memory:") != 0 && stat(c->db_path, &st) != 0) {
        /* init without --encrypt makes a plain store, whatever passphrase
         * the environment holds. */
        opts.encryption = WB_ENCRYPTION_NONE;
        rc = wb_store_open(out, c->db_path, &opts);
        return rc < 0 ? cli_fail(c, rc) : CLI_EXIT_OK;
    }
    /* A passphrase given in advance (file or environment) is used when the
     * store turns out to be encrypted; a plain store opens without it. */
    if (c->passphrase_file || getenv("WALKBOOK_PASSPHRASE")) {
        if ((rc = cli_passphrase(c, &opts.passphrase, 0)) != CLI_EXIT_OK)
            return rc;
    }
    rc = wb_store_open(out, c->db_path, &opts);
    if (rc == WB_EKEY && opts.passphrase && wb_error_last() &&
        strstr(wb_error_last()->message, "not encrypted")) {
        opts.passphrase = NULL;
        rc = wb_store_open(out, c->db_path, &opts);
    } else if (rc == WB_EKEY && !opts.passphrase && wb_error_last() &&
               strstr(wb_error_last()->message, "is encrypted")) {
        /* Encrypted, and nothing given in advance: ask on the terminal. */
        if ((rc = cli_passphrase(c, &opts.passphrase, 0)) != CLI_EXIT_OK)
            return rc;
        rc = wb_store_open(out, c->db_path, &opts);
    }
    if (rc < 0)
        return cli_fail(c, rc);
    return CLI_EXIT_OK;
}

/* ---- output -------------------------------------------------------------- */

int cli_print_json(const cli *c, FILE *f, const char *json, int pretty)
{
    /* Compact text from the library goes out as it is; anything with line
     * breaks (or wanted pretty) is re-printed through cJSON. JSON strings
     * cannot hold raw line breaks, so a break means formatting. */
    if (!pretty && strpbrk(json, "\r\n") == NULL) {
        fputs(json, f);
        fputc('\n', f);
        return CLI_EXIT_OK;
    }
    cJSON *doc = cJSON_Parse(json);
    if (doc == NULL)
        return cli_error(c, CLI_EXIT_FAILURE, "the library returned malformed JSON");
    char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (text == NULL)
        return cli_error(c, CLI_EXIT_FAILURE, "out of memory");
    fputs(text, f);
    fputc('\n', f);
    cJSON_free(text);
    return CLI_EXIT_OK;
}

int cli_finish_stdout(const cli *c)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(c, CLI_EXIT_FAILURE, "cannot write standard output: %s", strerror(errno));
    return CLI_EXIT_OK;
}
