/*
 * refcheck.h - checking an interaction against the cached reference data.
 *
 * Findings are one-line messages naming the field ("data.householdId: not
 * on walk list …"); answer values are never quoted (personal data). A
 * finding is a contradiction when the cache says otherwise (strict mode
 * refuses the record), or a note when the reference is simply not cached
 * (never refused: the phone's copy may be stale).
 */
#ifndef WB_REFCHECK_H
#define WB_REFCHECK_H

#include "json.h"
#include "store_int.h"

typedef struct wb_refcheck {
    cJSON *warnings;               /* array of strings, owned by the caller */
    char first_contradiction[400]; /* "" when none */
} wb_refcheck;

/* Run every check on a validated data object, appending to rc->warnings.
 * Returns 0, or an error of the store (not of the record). */
int wb_refcheck__run(wb_refcheck *rc, wb_store *store, const cJSON *data);

#endif
