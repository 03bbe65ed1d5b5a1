/*
 * main.c - walkbook-sync-converge: the randomized convergence run of
 * converge.h over a range of seeds, one line per seed and a total.
 *
 *   walkbook-sync-converge [--seeds A..B] [--devices N] [--rounds R]
 *                          [--fault-rate P] [--kill-rate P] [--parallel N]
 *                          [--policy merge|server-wins|client-wins]
 *                          [--server PATH] [--keep]
 *
 * Defaults: seeds 1..20, 3 devices, 8 rounds, 15 % of requests faulted,
 * 30 % of syncs killed, the policy from the seed (seed mod 3), the
 * walkbook-server built beside it. Each seed works in a fresh directory
 * under $TMPDIR (removed unless --keep or the seed failed). Exit status 1
 * when any seed failed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "converge.h"
#include "walkbook.h"

#ifndef WBC_SERVER_BIN
#define WBC_SERVER_BIN "walkbook-server"
#endif

static void usage(void)
{
    fputs("usage: walkbook-sync-converge [--seeds A..B] [--devices N] [--rounds R]\n"
          "         [--fault-rate P] [--kill-rate P] [--parallel N]\n"
          "         [--policy merge|server-wins|client-wins]\n"
          "         [--server PATH] [--keep] [--verbose]\n",
          stderr);
    exit(2);
}

static void remove_dir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    wbc_opts o = WBC_OPTS_INIT;
    unsigned long first = 1, last = 20;
    int keep = 0, failed = 0, ran = 0;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct timespec t0, t1;

    o.server_bin = WBC_SERVER_BIN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0) {
            keep = 1;
            continue;
        }
        if (strcmp(a, "--verbose") == 0) {
            o.verbose = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--seeds") == 0) {
            if (sscanf(v, "%lu..%lu", &first, &last) != 2 || last < first)
                usage();
        } else if (strcmp(a, "--devices") == 0) {
            o.devices = atoi(v);
        } else if (strcmp(a, "--rounds") == 0) {
            o.rounds = atoi(v);
        } else if (strcmp(a, "--fault-rate") == 0) {
            o.fault_rate = atof(v);
        } else if (strcmp(a, "--kill-rate") == 0) {
            o.kill_rate = atof(v);
        } else if (strcmp(a, "--parallel") == 0) {
            o.parallel = (unsigned)atoi(v); /* push connections, 1 to 16 */
            if (o.parallel < 1 || o.parallel > 16)
                usage();
        } else if (strcmp(a, "--policy") == 0) {
            if (strcmp(v, "merge") == 0)
                o.policy = WB_POLICY_MERGE;
            else if (strcmp(v, "server-wins") == 0)
                o.policy = WB_POLICY_SERVER_WINS;
            else if (strcmp(v, "client-wins") == 0)
                o.policy = WB_POLICY_CLIENT_WINS;
            else
                usage();
        } else if (strcmp(a, "--server") == 0) {
            o.server_bin = v;
        } else {
            usage();
        }
    }
    if (o.devices < 1 || o.devices > 4 || o.rounds < 0 || o.fault_rate < 0 ||
        o.fault_rate > 1 || o.kill_rate < 0 || o.kill_rate > 1)
        usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("converge: seeds %lu..%lu, %d devices, %d rounds, fault rate %.2f, kill rate %.2f\n",
           first, last, o.devices, o.rounds, o.fault_rate, o.kill_rate);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long seed = first; seed <= last; seed++) {
        char dir[1024];
        wbc_result r;
        struct timespec s0, s1;
        snprintf(dir, sizeof(dir), "%s/wb-converge-XXXXXX", tmp);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 2;
        }
        o.workdir = dir;
        clock_gettime(CLOCK_MONOTONIC, &s0);
        if (wbc_run_seed(&r, seed, &o) < 0)
            r.ok = 0;
        clock_gettime(CLOCK_MONOTONIC, &s1);
        ran++;
        printf("seed %lu: %s  %s %s%s  rec=%d upd=%d del=%d srv-edit=%d srv-del=%d "
               "syncs=%d killed=%d errs=%d faults=%ld final=%d resolved=%d live=%d dead=%d "
               "%.1fs%s%s\n",
               seed, r.ok ? "ok  " : "FAIL", wbc_policy_name(r.policy),
               r.api == WB_API_V1 ? "v1" : "v2", r.client_ids ? " client-ids" : "", r.records,
               r.updates, r.deletes, r.admin_edits, r.admin_deletes, r.syncs, r.kills,
               r.sync_errors, r.faults_fired, r.final_rounds, r.conflicts_resolved,
               r.server_live, r.server_deleted,
               (double)(s1.tv_sec - s0.tv_sec) + (double)(s1.tv_nsec - s0.tv_nsec) / 1e9,
               r.ok ? "" : "\n    ", r.ok ? "" : r.why);
        fflush(stdout);
        if (!r.ok) {
            failed++;
            printf("    kept %s\n", dir);
        } else if (!keep) {
            remove_dir(dir);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("converge: %d of %d seeds passed (%.1f s)\n", ran - failed, ran,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
