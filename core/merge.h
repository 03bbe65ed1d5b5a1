/*
 * merge.h - three-way merge of JSON documents at JSON Pointer granularity,
 * used by the sync engine when a record changed both locally and on the
 * server since their common ancestor (the base).
 *
 * Rules, applied at each pointer, starting with the whole document:
 *
 * - local == base: take remote (a member remote lacks is removed);
 *   remote == base: take local; local == remote: take it. Equality is
 *   wb_json__equal (objects unordered, numbers by value).
 * - Otherwise, when local, remote and base are objects, merge member by
 *   member over the union of member names: local's members in local's order,
 *   then members only remote has, in remote's order. A member both sides
 *   lack (removed on both) stays removed.
 * - Otherwise it is a conflict: it is recorded and the preferred side is
 *   taken; a preferred side that lacks the member wins as a removal.
 *
 * Arrays, strings, numbers, booleans and null are atomic: an array is
 * replaced whole (a survey multi-select answer is an array of choices, and
 * merging it element by element would invent answers). A type change on
 * both sides (object on one, scalar on the other) is a conflict at that
 * pointer; a type change on one side only is an ordinary change.
 *
 * No common ancestor. base == NULL (a record created on both sides), and
 * likewise a member that base lacks but both sides added, has nothing to
 * compare against: where local and remote are both objects they are merged
 * member by member as above, and every pointer where they differ, including
 * a member only one of them has, is a conflict without a "base". The merged
 * document is then the preferred side wherever the two differ; the conflict
 * list names each differing pointer rather than the whole subtree.
 *
 * Since survey.responses is an object keyed by question id and each
 * response's fields is an object, answers merge per question and per field
 * of a question (polis-api.md §2.3, G17).
 *
 * When one side left an object unchanged, the other side's object is copied
 * as it is, in its own member order.
 */
#ifndef WB_MERGE_H
#define WB_MERGE_H

#include "json.h"

/* Nesting of objects the merge descends into before it gives up with
 * WB_ETOOBIG. Documents are parsed with a depth limit of 64. */
#define WB_MERGE_MAX_DEPTH 128

/* The side taken where both sides changed a pointer differently. */
typedef enum { WB_MERGE_PREFER_LOCAL = 0, WB_MERGE_PREFER_REMOTE = 1 } wb_merge_side;

typedef struct wb_merge_result {
    /* The merged document; owned by the result; never aliases an input. */
    cJSON *merged;
    /* A JSON array, in document order, with one object per pointer that both
     * sides changed differently:
     *   {"path": "/survey/responses/<q>/fields/x",
     *    "base": …, "local": …, "remote": …}
     * "path" is an RFC 6901 pointer ("" for the whole document; "~" and "/"
     * in member names escaped as "~0" and "~1"). "base", "local" and "remote"
     * are copies of the values there; each is left out when that document
     * has no value at the pointer (removed, never added, or base == NULL),
     * which is distinct from a JSON null. Owned by the result. */
    cJSON *conflicts;
    size_t n_conflicts; /* number of elements in conflicts */
} wb_merge_result;

/* Merge the changes base → local and base → remote.
 * @param[out] out  zeroed on entry; filled on success, owned by the caller
 *                  (free with wb_merge__result_free, which also accepts a
 *                  result left zeroed by a failed call).
 * @param base      the common ancestor, or NULL when there is none.
 * @param local     the local document (not NULL).
 * @param remote    the remote document (not NULL).
 * @param prefer    the side taken at each conflict.
 * The inputs are only read; they may be the same tree. Member names must be
 * unique within each object (wb_json__parse guarantees it): a duplicate is
 * refused in every object the merge looks into, and an object copied whole
 * from one side is copied as it is.
 * @return 0; WB_EINVALID for a NULL local/remote/out, an unknown prefer or a
 *         duplicate member name; WB_ETOOBIG when objects nest deeper than
 *         WB_MERGE_MAX_DEPTH; WB_ENOMEM. On error nothing is allocated.
 * Thread rule: reentrant; the inputs must not change during the call.
 * Errors: any. */
int wb_merge__three_way(wb_merge_result *out, const cJSON *base, const cJSON *local,
                        const cJSON *remote, wb_merge_side prefer);

/* Free what a result owns and zero it. Accepts NULL and a zeroed result. */
void wb_merge__result_free(wb_merge_result *r);

#endif
