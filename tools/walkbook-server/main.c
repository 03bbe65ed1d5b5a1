/*
 * main.c - walkbook-server: a Polis-compatible HTTP server for demos, app
 * development and the sync engine's tests (polis-api.md §9.2).
 *
 *   walkbook-server [--port N|0] [--port-file F] [--listen ADDR]
 *                   [--db PATH|:memory:] [--token T:CUSTOMER:SG:USER[:ROLE]]…
 *                   [--token-file FILE]…
 *                   [--auth-code C:CUSTOMER:SG:USER[:ROLE]]…
 *                   [--token-lifetime SECONDS] [--client-ids] [--threads N] [--log]
 *                   [--faults FILE] [--admin TOKEN] [--bench-routes]
 *                   [--accept-signatures]
 *                   [--seed-demo [--seed N] [--seed-households N]]
 *
 * Listens on 127.0.0.1 unless --listen says otherwise. --port 0 takes any
 * free port; --port-file receives the port number once the server listens
 * (written to a temporary name and renamed, so a reader never sees half
 * of it). SIGINT and SIGTERM stop it cleanly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sqlite3.h>

#include "admin.h"
#include "signatures.h"
#include "auth.h"
#include "common.h"
#include "faults.h"
#include "http.h"
#include "interactions.h"
#include "records.h"
#include "seed.h"
#include "walklist.h"

typedef struct wbs_options {
    long port;
    const char *port_file;
    const char *listen;
    const char *db;
    long lifetime;
    long threads;
    int client_ids;
    int log;
    const char *faults;  /* --faults FILE: fault rules at start (faults.h) */
    const char *admin;   /* --admin TOKEN: the /__admin/ routes (admin.h) */
    int bench_routes;    /* --bench-routes: GET /__bench/ping */
    int seed_demo;       /* --seed-demo: demo data and tokens (seed.h) */
    wbs_seed_options seed;
    int accept_signatures; /* --accept-signatures: walkbookSignature (signatures.h) */
} wbs_options;

static void wbs_usage(FILE *f)
{
    fputs("usage: walkbook-server [--port N|0] [--port-file FILE] [--listen ADDR]\n"
          "         [--db PATH|:memory:] [--token TOKEN:CUSTOMER:SECURITY_GROUP:USER[:ROLE]]...\n"
          "         [--token-file FILE]... (one TOKEN:CUSTOMER:SECURITY_GROUP:USER[:ROLE] a line)\n"
          "         [--auth-code CODE:CUSTOMER:SECURITY_GROUP:USER[:ROLE]]...\n"
          "         [--token-lifetime SECONDS] [--client-ids] [--threads N] [--log]\n"
          "         [--faults FILE] [--admin TOKEN] [--bench-routes] [--accept-signatures]\n"
          "         [--seed-demo [--seed N] [--seed-households N (default 300)]]\n"
          "ROLE is admin (default) or canvasser.\n",
          f);
}

static int wbs_number(long *out, const char *s, long min, long max)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int wbs_write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    wbs_options o = {8080, NULL, NULL, ":memory:", 0, 4, 0, 0, NULL, NULL, 0, 0,
                     {0, WBS_SEED_DEFAULT_HOUSEHOLDS}, 0};
    wbs_auth *auth = NULL;
    wbs_records *records = NULL;
    wbs_http *http = NULL;
    wbs_interactions *ix = NULL;
    wbs_signatures *sigs = NULL;
    wbs_walklist *wl = NULL;
    wbs_seed_summary seeded;
    wbs_faults *faults = NULL;
    wbs_admin *admin = NULL;
    char err[256];
    uint16_t port = 0;
    sigset_t stop;
    int sig, status = 1, i, threads_given = 0;

    /* SQLite's memory statistics take a process-wide mutex on every
     * allocation, which request threads would contend for; the server
     * never reads them. Only possible before SQLite initialises. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (wb__global_init() < 0) {
        fprintf(stderr, "walkbook-server: cannot initialise libsodium\n");
        return 1;
    }
    /* First pass: plain options (tokens need the lifetime first). */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--client-ids") == 0) {
            o.client_ids = 1;
            takes = 0;
        } else if (strcmp(a, "--accept-signatures") == 0) {
            o.accept_signatures = 1;
            takes = 0;
        } else if (strcmp(a, "--log") == 0) {
            o.log = 1;
            takes = 0;
        } else if (strcmp(a, "--bench-routes") == 0) {
            o.bench_routes = 1;
            takes = 0;
        } else if (strcmp(a, "--seed-demo") == 0) {
            o.seed_demo = 1;
            takes = 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            wbs_usage(stdout);
            return 0;
        } else if (!v) {
            fprintf(stderr, "walkbook-server: %s: missing value or unknown option\n", a);
            wbs_usage(stderr);
            return 2;
        } else if (strcmp(a, "--port") == 0) {
            if (wbs_number(&o.port, v, 0, 65535) < 0)
                goto bad_value;
        } else if (strcmp(a, "--token-lifetime") == 0) {
            if (wbs_number(&o.lifetime, v, 1, 100L * 365 * 86400) < 0)
                goto bad_value;
        } else if (strcmp(a, "--threads") == 0) {
            threads_given = 1;
            if (wbs_number(&o.threads, v, 1, 64) < 0)
                goto bad_value;
        } else if (strcmp(a, "--port-file") == 0) {
            o.port_file = v;
        } else if (strcmp(a, "--listen") == 0) {
            o.listen = v;
        } else if (strcmp(a, "--db") == 0) {
            o.db = v;
        } else if (strcmp(a, "--seed") == 0) {
            long seed;
            if (wbs_number(&seed, v, 0, 2147483647L) < 0)
                goto bad_value;
            o.seed.seed = (unsigned long long)seed;
        } else if (strcmp(a, "--seed-households") == 0) {
            if (wbs_number(&o.seed.households, v, 1, WBS_SEED_MAX_HOUSEHOLDS) < 0)
                goto bad_value;
        } else if (strcmp(a, "--faults") == 0) {
            o.faults = v;
        } else if (strcmp(a, "--admin") == 0) {
            if (!*v)
                goto bad_value;
            o.admin = v;
        } else if (strcmp(a, "--token") != 0 && strcmp(a, "--token-file") != 0 &&
                   strcmp(a, "--auth-code") != 0) {
            fprintf(stderr, "walkbook-server: %s: unknown option\n", a);
            wbs_usage(stderr);
            return 2;
        }
        i += takes;
        continue;
    bad_value:
        fprintf(stderr, "walkbook-server: %s: bad value\n", a);
        return 2;
    }

    if (!(auth = wbs_auth_new(o.lifetime)) || !(http = wbs_http_new(auth, o.log))) {
        fprintf(stderr, "walkbook-server: out of memory\n");
        goto cleanup;
    }
    for (i = 1; i + 1 < argc; i++) {
        int rc = 0;
        if (strcmp(argv[i], "--token") == 0)
            rc = wbs_auth_add_token(auth, argv[++i], err, sizeof(err));
        else if (strcmp(argv[i], "--token-file") == 0)
            rc = wbs_auth_add_token_file(auth, argv[++i], err, sizeof(err));
        else if (strcmp(argv[i], "--auth-code") == 0)
            rc = wbs_auth_add_code(auth, argv[++i], err, sizeof(err));
        else if (strcmp(argv[i], "--client-ids") != 0 && strcmp(argv[i], "--log") != 0 &&
                 strcmp(argv[i], "--accept-signatures") != 0 &&
                 strcmp(argv[i], "--bench-routes") != 0 && strcmp(argv[i], "--seed-demo") != 0)
            i++;
        if (rc < 0) {
            fprintf(stderr, "walkbook-server: %s\n", err);
            status = 2;
            goto cleanup;
        }
    }
    if (wbs_records_open(&records, o.db, err, sizeof(err)) < 0) {
        fprintf(stderr, "walkbook-server: %s\n", err);
        goto cleanup;
    }
    /* Demo tokens after the --token ones, so a same-named --token wins. */
    if (o.seed_demo && (wbs_seed_tokens(auth, err, sizeof(err)) < 0 ||
                        wbs_seed_demo(&seeded, records, &o.seed, err, sizeof(err)) < 0)) {
        fprintf(stderr, "walkbook-server: %s\n", err);
        goto cleanup;
    }
    if (o.seed_demo)
        wbs_seed_print(stderr, &seeded);
    if (!(wl = wbs_walklist_new(records)) || wbs_walklist_routes(http, wl) < 0) {
        fprintf(stderr, "walkbook-server: cannot set up the walk-list routes\n");
        goto cleanup;
    }
    if (!(ix = wbs_interactions_new(records, o.client_ids)) ||
        !(sigs = wbs_signatures_new(records, o.accept_signatures)) ||
        wbs_auth_routes(http, auth) < 0 || wbs_interactions_routes(http, ix) < 0) {
        fprintf(stderr, "walkbook-server: cannot set up the routes\n");
        goto cleanup;
    }
    /* Fault injection is always installed (an empty rule set costs one
     * locked check per request) so /__admin/faults can switch it on. */
    if (!(faults = wbs_faults_new())) {
        fprintf(stderr, "walkbook-server: out of memory\n");
        goto cleanup;
    }
    if (o.faults && wbs_faults_load_file(faults, o.faults, err, sizeof(err)) < 0) {
        fprintf(stderr, "walkbook-server: %s\n", err);
        status = 2;
        goto cleanup;
    }
    wbs_faults_install(http, faults);
    wbs_interactions_set_signatures(ix, sigs);
    if ((o.admin && (!(admin = wbs_admin_new(o.admin, records, auth, faults)) ||
                     wbs_admin_routes(http, admin) < 0 ||
                     wbs_signatures_admin_routes(http, sigs, admin) < 0)) ||
        (o.bench_routes && wbs_admin_bench_routes(http) < 0)) {
        fprintf(stderr, "walkbook-server: cannot set up the admin routes\n");
        goto cleanup;
    }

    /* Block the stop signals before any thread starts, so that every
     * thread inherits the mask and only sigwait below receives them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* With faults possible (--faults, or --admin which can set them) each
     * connection gets its own thread unless --threads says otherwise: a
     * delay fault sleeps in its handler, and in a pool it would also hold
     * up the other connections of that thread - requests would then be
     * applied later than a client may assume (two timeouts after sending,
     * the sync engine's settle time), which makes duplicates no real
     * server would. */
    if (!threads_given && (o.faults || o.admin))
        o.threads = 0;
    if (wbs_http_start(http, o.listen, (uint16_t)o.port, (unsigned)o.threads, &port, err,
                       sizeof(err)) < 0) {
        fprintf(stderr, "walkbook-server: %s\n", err);
        goto cleanup;
    }
    if (o.port_file && wbs_write_port_file(o.port_file, port) < 0) {
        fprintf(stderr, "walkbook-server: --port-file: cannot write it\n");
        goto cleanup;
    }
    fprintf(stderr, "walkbook-server: listening on %s:%u\n", o.listen ? o.listen : "127.0.0.1",
            (unsigned)port);
    if (sigwait(&stop, &sig) == 0)
        fprintf(stderr, "walkbook-server: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;
cleanup:
    wbs_http_free(http);
    wbs_admin_free(admin);
    wbs_faults_free(faults);
    wbs_interactions_free(ix);
    wbs_signatures_free(sigs);
    wbs_walklist_free(wl);
    wbs_records_close(records);
    wbs_auth_free(auth);
    return status;
}
