/*
 * token.c - the bearer token a host app asked the store to keep (schema
 * 010). Tokens otherwise live only in memory (wb_sync_options.token).
 *
 * The token is sealed like a personal field (crypto.h) under the row key
 * "1" of saved_token.token: in an encrypted store only ciphertext reaches
 * the file, in a plain store it is TEXT like the plain store's other
 * values. No message ever quotes it.
 */
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "timeutil.h"

/* As WB_SYNC_TOKEN_MAX in sync.c: what the engine accepts. */
#define TOKEN_MAX 4096

int wb_token__check(const char *token)
{
    size_t n = strlen(token);
    if (n >= TOKEN_MAX)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                             "token: too long (at most %d bytes)", TOKEN_MAX - 1);
    /* It goes into an HTTP header line: no control characters. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c < 0x20 || c == 0x7f)
            return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID,
                                 "token: contains a control character at byte %zu", i);
    }
    return 0;
}

int wb_store__save_token(wb_store *store, const char *token)
{
    char now[WB_TIMESTAMP_LEN + 1];
    wb_buf sealed = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int error = 0, rc;

    if (store->readonly)
        return wb_error__set(WB_EREADONLY, WB_ERRCLASS_STORE, "token: store is read-only");
    if (store->schema_version < 10)
        return wb_error__set(WB_ESCHEMA, WB_ERRCLASS_STORE,
                             "token: the store's schema is older than 10");
    if (!token || !token[0]) {
        rc = sqlite3_exec(store->db, "DELETE FROM saved_token", NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : wb_store__sqlite_error(store, rc, "token");
    }
    if ((error = wb_token__check(token)) < 0)
        return error;
    if ((error = wb_crypto__seal(&sealed, store, "saved_token", "token", "1", token,
                                 strlen(token))) < 0)
        goto cleanup;
    wb_time__format(now, wb_store__now(store));
    /* One statement: atomic on its own, and inside the sync engine's
     * transaction when one is open. */
    rc = sqlite3_prepare_v2(store->db,
                            "INSERT OR REPLACE INTO saved_token (id, token, saved)"
                            " VALUES (1, ?1, ?2)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        wb_crypto__bind_sealed(st, 1, store, &sealed);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        error = wb_store__sqlite_error(store, rc, "token");
cleanup:
    sqlite3_finalize(st);
    wb_crypto__wipe_buf(&sealed); /* the plain store's copy is the token */
    wb_buf__free(&sealed);
    return error;
}

int wb_store__saved_token(char **out, wb_store *store)
{
    wb_buf plain = WB_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int error = 0, rc;

    *out = NULL;
    if (store->schema_version < 10)
        return wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "token: none saved in the store");
    rc = sqlite3_prepare_v2(store->db, "SELECT token FROM saved_token WHERE id = 1", -1, &st,
                            NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        error = wb_error__set(WB_ENOTFOUND, WB_ERRCLASS_STORE, "token: none saved in the store");
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        error = wb_store__sqlite_error(store, rc, "token");
        goto cleanup;
    }
    if ((error = wb_crypto__open_column(&plain, store, "saved_token", "token", "1", st, 0)) < 0)
        goto cleanup;
    if (plain.len == 0 || strlen(plain.ptr) != plain.len || wb_token__check(plain.ptr) < 0) {
        /* Only a plain store can get here (a sealed value authenticates or
         * not): something other than a saved token was written in. */
        error = wb_error__set(WB_ECORRUPT, WB_ERRCLASS_STORE,
                              "saved_token.token: not a token (written outside walkbook)");
        goto cleanup;
    }
    if (!(*out = wb__strdup(plain.ptr))) {
        error = wb_error__oom();
        goto cleanup;
    }
cleanup:
    sqlite3_finalize(st);
    wb_crypto__wipe_buf(&plain);
    wb_buf__free(&plain);
    return error;
}

int wb_store_save_token(wb_store *store, const char *token)
{
    wb_error__reset();
    WB__CHECK_ARG(store);
    return wb_store__save_token(store, token);
}

int wb_store_saved_token(char **out, wb_store *store)
{
    wb_error__reset();
    WB__CHECK_ARG(out);
    *out = NULL;
    WB__CHECK_ARG(store);
    return wb_store__saved_token(out, store);
}

void wb_free_secret(char *secret)
{
    if (secret) {
        sodium_memzero(secret, strlen(secret));
        wb__free(secret);
    }
}
