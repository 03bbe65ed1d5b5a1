/*
 * converge.h - one randomized convergence run of the sync engine against a
 * real walkbook-server on 127.0.0.1, shared by walkbook-sync-converge (many
 * seeds, figures) and tests/sync/test_sync_converge.c (a few seeds in CI).
 *
 * A run, from one seed: start the server (with or without --client-ids),
 * give several devices of one customer their own store file, then for a
 * number of rounds make random local changes (record, JSON Patch update,
 * delete), random edits and deletes on the server as another user, and
 * syncs of random devices in forked children - several at once, while the
 * parent keeps editing the same stores - some of them SIGKILLed at a random
 * moment, with the server's fault injection failing requests at a set rate
 * (5xx, 429, lost response after commit, drop before apply, truncated and
 * garbage bodies, delays past the client timeout). Then faults off, every
 * device syncs until a whole round is quiet (bounded), and the checks:
 *
 *   - every store file still opens after the kills;
 *   - the server has no duplicate (the dump's detector);
 *   - every store holds exactly the server's records, record by record:
 *     same data for live ones, same deleted flag, none pending;
 *   - every record a device recorded reached the server (or was deleted);
 *   - merge policy: the last value each writer gave its own field (a
 *     survey answer per device, one for the server-side editor) is the
 *     final value of every live record - three-way merge loses no one-sided
 *     edit; client-wins and server-wins: every final value is one that was
 *     written (the policy itself may override concurrent edits).
 *
 * Records edited on one side and deleted on the other are parked as
 * conflicts (syncstore.c); the final phase resolves them with the remote
 * side (the delete stands), which is how an app settles them, and counts
 * them.
 */
#ifndef WB_CONVERGE_H
#define WB_CONVERGE_H

typedef struct wbc_opts {
    const char *server_bin; /* walkbook-server */
    const char *workdir;    /* store files, the server's port file and log */
    int devices;            /* stores of the same customer (2…4) */
    int rounds;             /* random rounds before the final sync */
    double fault_rate;      /* chance that a request meets a fault */
    double kill_rate;       /* chance that a sync child is SIGKILLed */
    int policy;             /* WB_POLICY_*; -1 = from the seed */
    int verbose;
    unsigned parallel;      /* push connections of every sync (0 = 1) */
} wbc_opts;

#define WBC_OPTS_INIT {NULL, NULL, 3, 8, 0.15, 0.3, -1, 0, 0}

typedef struct wbc_result {
    int ok;
    int policy, api, client_ids;
    int records, updates, deletes, admin_edits, admin_deletes;
    int syncs, kills, sync_errors, final_rounds, conflicts_resolved;
    long faults_fired;
    int server_live, server_deleted;
    char why[1024]; /* the first failed check */
} wbc_result;

/* Run one seed. Returns 0 when it ran (res->ok says whether every check
 * held), -1 when the run could not be set up (res->why says why). */
int wbc_run_seed(wbc_result *res, unsigned long seed, const wbc_opts *o);

/* "merge", "server-wins", "client-wins". */
const char *wbc_policy_name(int policy);

#endif
