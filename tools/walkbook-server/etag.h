/*
 * etag.h - the Polis etag recipe (polis-api.md §1.4) and the compact JSON
 * text it hashes.
 *
 * Recipe: set meta.etag to "" in the envelope, serialise it compactly with
 * members in stored order; etag = lowercase hex of the byte length, "-",
 * and the first 27 characters of standard base64 of the SHA-1 of the bytes.
 * That is the entity tag of the Node.js `etag` package applied to
 * JSON.stringify output, so numbers must be printed the way JavaScript
 * prints them (shortest text that reads back exactly: 33.43174362182617,
 * not 33.431743621826172) for the documentation's examples to recompute.
 */
#ifndef WBS_ETAG_H
#define WBS_ETAG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common.h"

/* "<hex length>-<27 base64 chars>" and the NUL fit easily. */
#define WBS_ETAG_MAX 48

/* Etag of a byte string. */
void wbs_etag_of_bytes(char out[WBS_ETAG_MAX], const char *bytes, size_t len);

/* Stamp env (an envelope with a "meta" object) with its etag per the
 * recipe: meta.etag becomes the new value (added as the first member of
 * meta when absent). Writes the etag to etag_out when not NULL and returns
 * the final envelope text (wb__malloc'd), or NULL (no meta object, oom). */
char *wbs_etag_stamp(cJSON *env, char *etag_out);

/* The text an etag is computed from, kept open between its print and
 * the etag, so a write can print outside the storage lock and fill in its
 * times under it (interactions.c). */
typedef struct wbs_etag_text {
    wb_buf b;           /* compact text of the envelope with meta.etag "" */
    size_t etag_at;     /* offset of that "" */
    size_t modified_at; /* offset of meta.modified's 24 characters, 0 if none */
    size_t created_at;  /* the same for meta.created */
} wbs_etag_text;

/* Print env with meta.etag "" (added as the first member of meta when
 * absent: env changes that much). 0, or -1 (no meta object, oom). */
int wbs_etag_text_print(wbs_etag_text *t, cJSON *env);
/* Put modified / created (24-character timestamps; NULL: leave it) into
 * the text, then return the final text with the recipe's etag in it
 * (wb__malloc'd) and the etag in etag_out when not NULL. NULL on oom or
 * when a time to set has no 24-character string to replace. */
char *wbs_etag_text_finish(wbs_etag_text *t, const char *modified, const char *created,
                           char *etag_out);
void wbs_etag_text_free(wbs_etag_text *t);

/* Recompute the etag env would have under the recipe, without changing
 * env. Returns 0, or -1 when env has no meta object or on oom. */
int wbs_etag_recompute(char out[WBS_ETAG_MAX], const cJSON *env);

#endif
