/*
 * seed.h - demo data for walkbook-server (--seed-demo): one customer with
 * an organisation, a started campaign ("Demo canvass") with its default
 * survey, a walk list, N households on a grid of streets in Cambridge MA
 * with coordinates, one or two contacts per household, their
 * contact-household links and list entries, and a few statuses.
 *
 * Everything is a pure function of (seed, index): ids, names, addresses,
 * and the created/modified times, which count up from a fixed base
 * (WBS_SEED_BASE_TIME) in creation order. The same seed therefore gives
 * byte-identical envelopes (etags included) in every run, and household i
 * is the same whatever the household count. Records that already exist
 * (a --db file seeded before) are left as they are, so edits survive a
 * restart with --seed-demo.
 *
 * The demo identities are fixed, so documentation and apps can name them:
 * bearer token WBS_SEED_TOKEN (admin) and WBS_SEED_CANVASSER_TOKEN
 * (canvasser), OAuth code WBS_SEED_CODE, all for WBS_SEED_CUSTOMER.
 */
#ifndef WBS_SEED_H
#define WBS_SEED_H

#include <stddef.h>
#include <stdio.h>

#include "auth.h"
#include "records.h"

#define WBS_SEED_TOKEN "walkbook-demo"
#define WBS_SEED_CANVASSER_TOKEN "walkbook-demo-canvasser"
#define WBS_SEED_CODE "walkbook-demo-code"
#define WBS_SEED_CUSTOMER "de300000-0000-4000-8000-000000000001"
#define WBS_SEED_SECURITY_GROUP "de300000-0000-4000-8000-000000000002"
#define WBS_SEED_USER "de300000-0000-4000-8000-000000000003"
#define WBS_SEED_CANVASSER "de300000-0000-4000-8000-000000000004"
#define WBS_SEED_BASE_TIME "2024-03-01T09:00:00.000Z"
#define WBS_SEED_DEFAULT_HOUSEHOLDS 300
#define WBS_SEED_MAX_HOUSEHOLDS 100000

typedef struct wbs_seed_options {
    unsigned long long seed; /* RNG seed (--seed) */
    long households;         /* 1 … WBS_SEED_MAX_HOUSEHOLDS (--seed-households) */
} wbs_seed_options;

/* What was seeded, for the start-up banner and tests. */
typedef struct wbs_seed_summary {
    char organization[37], campaign[37], survey[37], list[37];
    long households, contacts, statuses;
    long written; /* records stored now (the rest existed already) */
    char last_modified[25]; /* meta.modified of the newest seeded record */
} wbs_seed_summary;

/* Add the demo token, canvasser token and authorization code. Tokens
 * given with --token before this call win over same-named demo ones.
 * 0, or -1 with err set. */
int wbs_seed_tokens(wbs_auth *a, char *err, size_t errlen);

/* Store the demo data for WBS_SEED_CUSTOMER. Takes the records lock.
 * 0 with *out filled, or -1 with err set. */
int wbs_seed_demo(wbs_seed_summary *out, wbs_records *r, const wbs_seed_options *o, char *err,
                  size_t errlen);

/* The banner: tokens, customer, user and record ids, one per line. */
void wbs_seed_print(FILE *f, const wbs_seed_summary *s);

#endif
