/*
 * test_sync_converge.c - a few seeds of the randomized convergence run
 * (tools/sync-converge/converge.h) against walkbook-server on 127.0.0.1:
 * three devices, random records, JSON Patch updates, deletes and
 * server-side edits as another user, syncs in forked children (several at
 * once, some SIGKILLed, the parent editing meanwhile), 15 % of requests
 * faulted; then a clean sync of every device until quiet and the checks
 * (identical data record by record, no duplicate on the server, no lost
 * edit under merge). One case per policy, and two seeds whose pushes use
 * several connections (wb_sync_options.parallel). walkbook-sync-converge
 * runs many more seeds (--parallel N).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "converge.h"
#include "walkbook.h"
#include "wbtest.h"

static void run_seed_on(unsigned long seed, int policy, unsigned parallel)
{
    wbc_opts o = WBC_OPTS_INIT;
    wbc_result r;
    char dir[64];
    snprintf(dir, sizeof(dir), "seed-%lu", seed);
    o.server_bin = WBS_SERVER_BIN;
    o.workdir = wbt_path(dir);
    o.rounds = 6;
    o.policy = policy;
    o.parallel = parallel;
    WBT_ASSERT(mkdir(o.workdir, 0700) == 0);
    WBT_ASSERT(wbc_run_seed(&r, seed, &o) == 0);
    if (!r.ok)
        WBT_FAIL("seed %lu (%s): %s", seed, wbc_policy_name(policy), r.why);
    /* The run did what it says: changes on both sides, faults, syncs. */
    WBT_ASSERT(r.records > 0 && r.updates > 0 && r.syncs > 0);
    WBT_ASSERT(r.faults_fired > 0);
    WBT_ASSERT(r.server_live > 0);
}

static void run_seed(unsigned long seed, int policy)
{
    run_seed_on(seed, policy, 1);
}

static void test_sync_converge__merge(void)
{
    run_seed(101, WB_POLICY_MERGE);
}

static void test_sync_converge__server_wins(void)
{
    run_seed(102, WB_POLICY_SERVER_WINS);
}

static void test_sync_converge__client_wins(void)
{
    run_seed(103, WB_POLICY_CLIENT_WINS);
}

/* Pushes on 3 connections at once, under the same faults and kills. */
static void test_sync_converge__merge_parallel(void)
{
    run_seed_on(104, WB_POLICY_MERGE, 3);
}

static void test_sync_converge__server_wins_parallel(void)
{
    run_seed_on(105, WB_POLICY_SERVER_WINS, 4);
}

static const wbt_case cases[] = {
    WBT_CASE(test_sync_converge__merge),
    WBT_CASE(test_sync_converge__server_wins),
    WBT_CASE(test_sync_converge__client_wins),
    WBT_CASE(test_sync_converge__merge_parallel),
    WBT_CASE(test_sync_converge__server_wins_parallel),
};

WBT_MAIN(cases, NULL, NULL)
