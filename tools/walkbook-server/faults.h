/*
 * faults.h - fault injection for walkbook-server: rules that make chosen
 * requests fail the way networks and servers fail, so the sync engine's
 * retry, timeout and exactly-once logic can be tested over real HTTP.
 *
 * A rule set is JSON, either an array of rules or {"rules":[…]}. A rule:
 *
 *   {"method":"POST",              optional; "*" or absent = any method
 *    "path":"/v2/interactions*",   optional glob on the path (no query);
 *                                  '*' matches any run of characters,
 *                                  '/' included; absent = every path
 *    "probability":0.5,            optional, 0…1 (default 1): chance that a
 *                                  matching request is hit
 *    "count":3,                    optional: hit at most this many requests
 *                                  (alone: the first N matching requests)
 *    "seed":42,                    optional integer 0…2^53 (default 1)
 *    "action":"status",            required, one of:
 *      "status"       answer "status" (400…599) without running the
 *                     handler, with "retryAfter" seconds → Retry-After
 *      "delay"        wait "ms" (0…60000) then handle normally
 *      "drop_before"  close the connection without applying the request
 *      "drop_after"   apply the request, then close without a response
 *                     (the lost-response case)
 *      "truncate"     apply, send the head of the body under the full
 *                     Content-Length, close
 *      "garbage"      apply, answer 200 with a body that is not JSON
 *   }
 *
 * Unknown members are refused, so a misspelt field cannot silently turn a
 * rule into "always". Rules are tried in order; for each rule whose method
 * and path match, the count and then a draw from the rule's own generator
 * (seeded by "seed", one draw per matching request) decide; the first rule
 * that hits applies and the rest are not consulted. So the outcome depends
 * only on the seeds and the order of matching requests: the same requests,
 * sent one after another, meet the same faults in every run. Paths under
 * /__admin/ are never faulted.
 *
 * Threads: every function may be called from any thread; the hook runs on
 * the server's worker threads. Replacing the rules resets their counters
 * and generators.
 */
#ifndef WBS_FAULTS_H
#define WBS_FAULTS_H

#include <stddef.h>

#include "http.h"

#define WBS_FAULTS_MAX_RULES 64

typedef struct wbs_faults wbs_faults;

/* An empty rule set. NULL on oom. */
wbs_faults *wbs_faults_new(void);
void wbs_faults_free(wbs_faults *f); /* accepts NULL */

/* Replace the rules with those of json (len bytes). All or nothing: on
 * error the old rules stay. Returns 0, or -1 with a one-line message in
 * err naming the rule and the field ("rules[1].action: unknown \"explode\""). */
int wbs_faults_set(wbs_faults *f, const char *json, size_t len, char *err, size_t errlen);

/* wbs_faults_set with the contents of a file (at most 1 MiB). */
int wbs_faults_load_file(wbs_faults *f, const char *path, char *err, size_t errlen);

/* Remove every rule. */
void wbs_faults_clear(wbs_faults *f);

/* {"rules":[rule + "seen" (matching requests) + "fired" (hits)]}, as
 * wb__malloc'd JSON text, or NULL on oom. */
char *wbs_faults_describe(wbs_faults *f);

/* Make f the request hook of h (wbs_http_set_hook); f must outlive the
 * server. */
void wbs_faults_install(wbs_http *h, wbs_faults *f);

#endif
