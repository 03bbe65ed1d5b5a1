/*
 * cmd_store.c - `walkbook init` and `walkbook status`: the store as a whole.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char cli_usage_init[] =
    "usage: walkbook [--db PATH] [--json] init --customer UUID --user UUID\n"
    "                [--security-group UUID]... [--encrypt]\n"
    "\n"
    "Create the store (or open an existing one) and set its identity: the\n"
    "customer (tenant), the user who records (createdBy/modifiedBy of every\n"
    "record) and the security groups the store may see; the first group is the\n"
    "one new records get. The identity is set once; setting the same identity\n"
    "again is harmless.\n"
    "\n"
    "Options:\n"
    "  --customer UUID        the customer (tenant) id (required)\n"
    "  --user UUID            the recording user's id (required)\n"
    "  --security-group UUID  a security group; repeat for several\n"
    "  --encrypt              create an encrypted store: personal fields are\n"
    "                         sealed with XChaCha20-Poly1305 under a key\n"
    "                         derived from a passphrase (Argon2id); the\n"
    "                         passphrase comes from --passphrase-file FILE,\n"
    "                         $WALKBOOK_PASSPHRASE or a prompt (asked twice)\n"
    "\n"
    "With --json, prints the identity as JSON.\n";

const char cli_usage_status[] =
    "usage: walkbook [--db PATH] [--json] status\n"
    "\n"
    "Show the store's schema version, file size, identity and the number of\n"
    "records per sync state (synced, pending_create, pending_update,\n"
    "pending_delete, conflict, rejected) and of tombstones.\n"
    "With --json, prints the library's status document on one line.\n";

int cli_cmd_init(cli *c, int argc, char **argv)
{
    const char *customer = NULL, *user = NULL;
    cli_list groups = {NULL, 0};
    const cli_opt opts[] = {
        {"customer", CLI_OPT_VALUE, NULL, &customer, NULL},
        {"user", CLI_OPT_VALUE, NULL, &user, NULL},
        {"security-group", CLI_OPT_LIST, NULL, NULL, &groups},
        {"encrypt", CLI_OPT_FLAG, &c->encrypt, NULL, NULL},
    };
    const char *pos[1];
    size_t n_pos;
    wb_store *store = NULL;
    char *identity = NULL;
    int rc;

    if (!cli_begin(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &n_pos,
                   cli_usage_init, &rc))
        goto cleanup;
    if (customer == NULL) {
        rc = cli_usage_error(c, "missing --customer");
        goto cleanup;
    }
    if (user == NULL) {
        rc = cli_usage_error(c, "missing --user");
        goto cleanup;
    }

    if ((rc = cli_open_store(c, &store, 1)) != CLI_EXIT_OK)
        goto cleanup;
    int err = wb_store_set_identity(store, customer, user, groups.items, groups.n);
    if (err < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json) {
        if ((err = wb_store_identity(&identity, store)) < 0) {
            rc = cli_fail(c, err);
            goto cleanup;
        }
        if ((rc = cli_print_json(c, stdout, identity, 0)) != CLI_EXIT_OK)
            goto cleanup;
    } else {
        printf("store %s ready (schema %d%s)\n", c->db_path, wb_store_schema_version(store),
               wb_store_encrypted(store) ? ", encrypted" : "");
    }
    rc = cli_finish_stdout(c);

cleanup:
    wb_free(identity);
    wb_store_free(store);
    cli_list_free(&groups);
    return rc;
}

static double num_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static void print_size(double bytes)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        printf("%.0f bytes\n", bytes);
    else
        printf("%.1f %s (%.0f bytes)\n", v, units[u], bytes);
}

static void print_identity(wb_store *store)
{
    char *json = NULL;
    cJSON *doc = NULL;

    if (wb_store_identity(&json, store) < 0 || (doc = cJSON_Parse(json)) == NULL) {
        printf("identity:        not set (run 'walkbook init')\n");
        goto cleanup;
    }
    const cJSON *customer = cJSON_GetObjectItemCaseSensitive(doc, "customerId");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(doc, "userId");
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(doc, "securityGroupIds");
    printf("customer:        %s\n", cJSON_IsString(customer) ? customer->valuestring : "-");
    printf("user:            %s\n", cJSON_IsString(user) ? user->valuestring : "-");
    printf("security groups:");
    const cJSON *g;
    int any = 0;
    cJSON_ArrayForEach(g, groups)
    {
        if (cJSON_IsString(g)) {
            /* cppcheck does not expand cJSON_ArrayForEach, so it thinks the
             * loop body runs once. */
            // cppcheck-suppress knownConditionTrueFalse
            printf("%s%s", any ? ", " : " ", g->valuestring);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");

cleanup:
    cJSON_Delete(doc);
    wb_free(json);
}

int cli_cmd_status(cli *c, int argc, char **argv)
{
    const char *pos[1];
    size_t n_pos;
    wb_store *store = NULL;
    char *status = NULL;
    cJSON *doc = NULL;
    int rc, err;

    if (!cli_begin(c, argc, argv, NULL, 0, pos, 0, &n_pos, cli_usage_status, &rc))
        goto cleanup;
    if ((rc = cli_open_store(c, &store, 0)) != CLI_EXIT_OK)
        goto cleanup;
    if ((err = wb_store_status(&status, store)) < 0) {
        rc = cli_fail(c, err);
        goto cleanup;
    }
    if (c->json) {
        if ((rc = cli_print_json(c, stdout, status, 0)) != CLI_EXIT_OK)
            goto cleanup;
        rc = cli_finish_stdout(c);
        goto cleanup;
    }

    if ((doc = cJSON_Parse(status)) == NULL) {
        rc = cli_error(c, CLI_EXIT_FAILURE, "the library returned malformed JSON");
        goto cleanup;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(doc, "interactions");
    printf("store:           %s\n", c->db_path);
    printf("schema version:  %.0f\n", num_member(doc, "schemaVersion"));
    printf("file size:       ");
    print_size(num_member(doc, "fileSize"));
    print_identity(store);
    printf("records:         %.0f total, %.0f live, %.0f tombstones\n", num_member(in, "total"),
           num_member(in, "live"), num_member(in, "tombstones"));
    printf("sync states:\n");
    printf("  synced          %.0f\n", num_member(in, "synced"));
    printf("  pending_create  %.0f\n", num_member(in, "pendingCreate"));
    printf("  pending_update  %.0f\n", num_member(in, "pendingUpdate"));
    printf("  pending_delete  %.0f\n", num_member(in, "pendingDelete"));
    printf("  conflict        %.0f\n", num_member(in, "conflict"));
    printf("  rejected        %.0f\n", num_member(in, "rejected"));
    rc = cli_finish_stdout(c);

cleanup:
    cJSON_Delete(doc);
    wb_free(status);
    wb_store_free(store);
    return rc;
}
