/*
 * passphrase.c - where the CLI gets a store's passphrase, and the commands
 * that deal with keys: `walkbook rekey`, `encrypt`, `decrypt` and `verify`.
 *
 * A passphrase comes from --passphrase-file FILE, else $WALKBOOK_PASSPHRASE,
 * else a prompt on the terminal (no echo) when there is one. Never from a
 * command-line argument: those are visible to every user in `ps`. The text
 * lives in one static buffer that is wiped at exit.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define PASS_MAX 1024

typedef struct secret {
    char text[PASS_MAX];
    int have;
} secret;

static secret current, fresh;

static void wipe(void)
{
    explicit_bzero(&current, sizeof(current));
    explicit_bzero(&fresh, sizeof(fresh));
}

static void strip_newline(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static int from_file(const cli *c, secret *out, const char *path, const char *option)
{
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return cli_error(c, CLI_EXIT_USAGE, "%s: cannot read %s: %s", option, path,
                         strerror(errno));
    n = fread(out->text, 1, sizeof(out->text) - 1, f);
    fclose(f);
    out->text[n] = '\0';
    if (memchr(out->text, '\0', n))
        return cli_error(c, CLI_EXIT_USAGE, "%s: the file contains a NUL byte", option);
    /* Only the first line counts: an editor's trailing newline is not part
     * of the passphrase. */
    out->text[strcspn(out->text, "\r\n")] = '\0';
    if (!out->text[0])
        return cli_error(c, CLI_EXIT_USAGE, "%s: %s is empty", option, path);
    out->have = 1;
    return CLI_EXIT_OK;
}

/* Prompt on the controlling terminal with echo off. 1 when read, 0 when
 * there is no terminal. */
static int prompt(secret *out, const char *question)
{
    FILE *tty;
    struct termios old, quiet;
    int ok = 0;
    if (!isatty(STDIN_FILENO) || !(tty = fopen("/dev/tty", "r+")))
        return 0;
    fputs(question, tty);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
        ok = fgets(out->text, sizeof(out->text), tty) != NULL;
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fputc('\n', tty);
    }
    fclose(tty);
    if (!ok)
        return 0;
    strip_newline(out->text);
    out->have = out->text[0] != '\0';
    return out->have;
}

static int ask(const cli *c, secret *out, const char *file, const char *file_option,
               const char *env, const char *question, int confirm)
{
    const char *v;
    static int registered;
    if (!registered) {
        atexit(wipe);
        registered = 1;
    }
    if (out->have)
        return CLI_EXIT_OK;
    if (file)
        return from_file(c, out, file, file_option);
    if ((v = getenv(env)) && v[0]) {
        if (strlen(v) >= sizeof(out->text))
            return cli_error(c, CLI_EXIT_USAGE, "%s: longer than %d bytes", env, PASS_MAX - 1);
        strcpy(out->text, v);
        out->have = 1;
        return CLI_EXIT_OK;
    }
    if (!prompt(out, question))
        return CLI_EXIT_KEY;
    if (confirm) {
        secret again;
        memset(&again, 0, sizeof(again));
        int same = prompt(&again, "Repeat it: ") && strcmp(again.text, out->text) == 0;
        explicit_bzero(&again, sizeof(again));
        if (!same) {
            explicit_bzero(out, sizeof(*out));
            return cli_error(c, CLI_EXIT_KEY, "the two passphrases differ");
        }
    }
    return CLI_EXIT_OK;
}

int cli_passphrase(const cli *c, const char **out, int confirm)
{
    int rc = ask(c, &current, c->passphrase_file, "--passphrase-file", "WALKBOOK_PASSPHRASE",
                 "Passphrase: ", confirm);
    *out = current.have ? current.text : NULL;
    if (rc == CLI_EXIT_KEY && !current.have)
        return cli_error(c, CLI_EXIT_KEY,
                         "the store is encrypted: give its passphrase with --passphrase-file "
                         "FILE or WALKBOOK_PASSPHRASE (or run on a terminal to be asked)");
    return rc;
}

int cli_store_options(const cli *c, wb_store_options *opts)
{
    (void)c;
    if (current.have)
        opts->passphrase = current.text;
    return CLI_EXIT_OK;
}

/* ---- walkbook rekey -------------------------------------------------------- */

const char cli_usage_rekey[] =
    "usage: walkbook [--db PATH] [--passphrase-file FILE] rekey\n"
    "                [--new-passphrase-file FILE]\n"
    "\n"
    "Re-encrypt every personal field of the store under a new passphrase, in\n"
    "one transaction: if it is interrupted, the store stays readable with the\n"
    "old passphrase; once it returns, only the new one opens it. A plain store\n"
    "that holds no records yet becomes encrypted.\n"
    "\n"
    "The current passphrase comes as for every command (--passphrase-file,\n"
    "WALKBOOK_PASSPHRASE or a prompt); the new one from --new-passphrase-file\n"
    "FILE, else WALKBOOK_NEW_PASSPHRASE, else a prompt (asked twice).\n";

int cli_cmd_rekey(cli *c, int argc, char **argv)
{
    const char *new_file = NULL, *pos[1];
    const cli_opt opts[] = {
        {"new-passphrase-file", CLI_OPT_VALUE, NULL, &new_file, NULL},
    };
    wb_store *store = NULL;
    wb_store_options nk = WB_STORE_OPTIONS_INIT;
    size_t n_pos;
    int rc, err;

    if (!cli_begin(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &n_pos,
                   cli_usage_rekey, &rc))
        return rc;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        return rc;
    rc = ask(c, &fresh, new_file, "--new-passphrase-file", "WALKBOOK_NEW_PASSPHRASE",
             "New passphrase: ", 1);
    if (rc == CLI_EXIT_KEY && !fresh.have)
        rc = cli_error(c, CLI_EXIT_KEY,
                       "no new passphrase: give it with --new-passphrase-file FILE or "
                       "WALKBOOK_NEW_PASSPHRASE (or run on a terminal to be asked)");
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    nk.passphrase = fresh.text;
    if ((err = wb_store_rekey(store, &nk)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json)
        printf("{\"rekeyed\":true}\n");
    else
        printf("store %s re-encrypted under the new passphrase\n", c->db_path);
    rc = cli_finish_stdout(c);
cleanup:
    explicit_bzero(&fresh, sizeof(fresh));
    wb_store_free(store);
    return rc;
}

/* ---- walkbook encrypt / decrypt -------------------------------------------- */

const char cli_usage_encrypt[] =
    "usage: walkbook [--db PATH] [--passphrase-file FILE] encrypt\n"
    "\n"
    "Encrypt a plain store that already holds records: every personal field is\n"
    "sealed under a key derived from the passphrase (Argon2id), in one\n"
    "transaction (if it is interrupted, the store stays plain), then the file\n"
    "is rewritten so that no page of it or of its WAL keeps a value in clear\n"
    "(if that is interrupted, the next command that opens the store finishes\n"
    "it). Copies of the file made before (backups, the file system's own) are\n"
    "not touched.\n"
    "\n"
    "The passphrase comes as for 'init --encrypt': --passphrase-file FILE,\n"
    "else WALKBOOK_PASSPHRASE, else a prompt on the terminal (asked twice).\n";

int cli_cmd_encrypt(cli *c, int argc, char **argv)
{
    const char *pos[1];
    wb_store *store = NULL;
    wb_store_options keys = WB_STORE_OPTIONS_INIT;
    size_t n_pos;
    int rc, err;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 0, &n_pos, cli_usage_encrypt, &rc))
        return rc;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        return rc;
    if (wb_store_encrypted(store)) {
        rc = cli_error(c, CLI_EXIT_USAGE,
                       "the store is already encrypted (walkbook rekey changes its passphrase)");
        goto cleanup;
    }
    if ((rc = cli_passphrase(c, &keys.passphrase, 1)) != CLI_EXIT_OK)
        goto cleanup;
    if ((err = wb_store_encrypt(store, &keys)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json)
        printf("{\"encrypted\":true}\n");
    else
        printf("store %s encrypted\n", c->db_path);
    rc = cli_finish_stdout(c);
cleanup:
    wb_store_free(store);
    return rc;
}

const char cli_usage_decrypt[] =
    "usage: walkbook [--db PATH] [--passphrase-file FILE] decrypt\n"
    "\n"
    "Store every personal field of an encrypted store in clear again, in one\n"
    "transaction (if it is interrupted, the store stays encrypted); afterwards\n"
    "it opens without a passphrase. The passphrase comes as for every command.\n";

int cli_cmd_decrypt(cli *c, int argc, char **argv)
{
    const char *pos[1];
    wb_store *store = NULL;
    size_t n_pos;
    int rc, err;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 0, &n_pos, cli_usage_decrypt, &rc))
        return rc;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        return rc;
    if (!wb_store_encrypted(store)) {
        rc = cli_error(c, CLI_EXIT_USAGE, "the store is not encrypted");
        goto cleanup;
    }
    if ((err = wb_store_decrypt(store)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json)
        printf("{\"encrypted\":false}\n");
    else
        printf("store %s decrypted: it opens without a passphrase now\n", c->db_path);
    rc = cli_finish_stdout(c);
cleanup:
    wb_store_free(store);
    return rc;
}

/* ---- walkbook verify ------------------------------------------------------- */

const char cli_usage_verify[] =
    "usage: walkbook [--db PATH] [--json] verify\n"
    "\n"
    "Check the store's signed interaction log: every entry's Ed25519 signature\n"
    "under the device key, the chain of digests, and that every record is what\n"
    "its latest entry signed. Prints the number of entries and records and the\n"
    "first broken link, if any (exit code 12).\n"
    "With --json, prints the library's report.\n";

int cli_cmd_verify(cli *c, int argc, char **argv)
{
    const char *pos[1];
    wb_store *store = NULL;
    char *report = NULL;
    size_t n_pos;
    int rc, err;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 0, &n_pos, cli_usage_verify, &rc))
        return rc;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        return rc;
    err = wb_log_verify(&report, store);
    if (report && c->json) {
        cli_print_json(c, stdout, report, 0);
    } else if (err == 0) {
        cJSON *doc = cJSON_Parse(report ? report : "{}");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "entries");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "records");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "signed");
        double n_e = cJSON_IsNumber(e) ? e->valuedouble : 0.0;
        double n_s = cJSON_IsNumber(s) ? s->valuedouble : n_e;
        printf("log intact: %.0f entries, %.0f records, every signature verifies", n_e,
               cJSON_IsNumber(r) ? r->valuedouble : 0.0);
        if (n_s < n_e) /* schema 009: server versions applied in one transaction */
            printf(" (%.0f signed; each of the other %.0f is covered by a later signature)", n_s,
                   n_e - n_s);
        putchar('\n');
        cJSON_Delete(doc);
    }
    if (err < 0)
        rc = cli_fail(c, err);
    else
        rc = cli_finish_stdout(c);
    wb_free(report);
    wb_store_free(store);
    return rc;
}
