package org.walkbook.test;

import static org.walkbook.test.Fixtures.*;
import static org.walkbook.test.Harness.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.walkbook.Identity;
import org.walkbook.Query;
import org.walkbook.Resolution;
import org.walkbook.Store;
import org.walkbook.StoreOptions;
import org.walkbook.Sync;
import org.walkbook.SyncOptions;
import org.walkbook.SyncProgressListener;
import org.walkbook.Walkbook;
import org.walkbook.WalkbookException;

/**
 * Sync through the Java API against the real walkbook-server on 127.0.0.1:
 * an offline-then-online round trip, listeners and token refresh on the
 * sync thread (a Java thread and the native one), cancellation, closing
 * while running, a sync in the background while the app records, and
 * conflicts. Run with -Xcheck:jni.
 */
public final class TestJniSync {
    private static Harness h;
    private static int files;
    private static final String TOKENS[] = {
        "--token", "tokA:" + C1 + ":" + SG1 + ":" + U1,
        "--token", "tokA2:" + C1 + ":" + SG1 + ":" + U1,
    };

    private static String file(String name) {
        return h.path(name + "-" + (++files) + ".db");
    }

    private static SyncOptions opts(Server s) {
        return new SyncOptions().baseUrl(s == null ? "http://127.0.0.1:1" : s.url()).token("tokA")
            .timeoutMs(5000).connectTimeoutMs(2000).backoffMs(20, 500).pageSize(3);
    }

    private static String sync(Store st, SyncOptions o) throws WalkbookException {
        try (Sync s = st.newSync(o)) {
            return s.run();
        }
    }

    private static long liveOnServer(Server s) throws Exception {
        String[] out = new String[1];
        eq(200, s.admin("GET", "/__admin/dump", null, out), "dump");
        contains(out[0], "\"duplicates\":[]", "no duplicate on the server");
        long n = 0;
        int at = 0;
        while ((at = out[0].indexOf("\"isDeleted\":false", at)) >= 0) {
            n++;
            at++;
        }
        return n;
    }

    public static void main(String[] args) throws Exception {
        h = new Harness();

        h.add("test_jni_sync__round_trip_offline_then_online", () -> {
            try (Store a = Store.open(file("a"), ID1, null)) {
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    ids.add(a.record(body(i)));
                }
                a.update(ids.get(0), "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]");
                /* Offline: nothing listens on port 1. */
                WalkbookException e = fails(WalkbookException.EOFFLINE, () -> sync(a, opts(null)));
                eq(WalkbookException.CLASS_NET, e.errorClass(), "class of an unreachable server");
                eq(5L, a.count(new Query().states(Query.STATE_PENDING_CREATE)), "still pending");
                try (Server s = Server.start(h, "rt", TOKENS)) {
                    /* The record tried while offline waits out its backoff: a
                     * later run sends it. */
                    long created = 0;
                    for (int run = 0; run < 20 && created < 5; run++) {
                        if (run > 0) {
                            Thread.sleep(200);
                        }
                        created += num(sync(a, opts(s)), "pushed", "created");
                    }
                    eq(5L, created, "pushed, each once");
                    String r;
                    eq(5L, a.count(new Query().states(Query.STATE_SYNCED)), "all synced");
                    String info = a.syncInfo(ids.get(0));
                    eq("synced", str(info, "state"), "state");
                    check(str(info, "serverId") != null, "server id");
                    eq(5L, liveOnServer(s), "the server holds the records");
                    /* A second device of the same canvasser pulls them. */
                    try (Store b = Store.open(file("b"), ID1, null)) {
                        r = sync(b, opts(s));
                        eq(5L, num(r, "pulled", "inserted"), "pulled");
                        eq(5L, b.count(null), "the second device has them");
                        eq(1L, b.count(new Query().contactId(
                                   "0478dbbf-b6eb-4168-afa9-000000000000")), "by contact");
                        String env;
                        try (org.walkbook.Cursor c = b.query(new Query().contactId(
                                 "0478dbbf-b6eb-4168-afa9-000000000000"))) {
                            env = c.next();
                        }
                        contains(env, "\"successful\":false", "the offline edit travelled");
                        /* And a delete goes back. */
                        b.delete(str(env, "id"));
                        eq(1L, num(sync(b, opts(s)), "pushed", "deleted"), "delete pushed");
                        eq(4L, liveOnServer(s), "deleted on the server");
                        sync(a, opts(s));
                        eq(4L, a.count(null), "and on the first device");
                    }
                }
            }
        });

        h.add("test_jni_sync__progress_on_the_calling_thread", () -> {
            try (Store a = Store.open(file("p"), ID1, null); Server s = Server.start(h, "p", TOKENS)) {
                for (int i = 0; i < 4; i++) {
                    a.record(body(i));
                }
                AtomicInteger push = new AtomicInteger(), pull = new AtomicInteger();
                AtomicReference<Thread> where = new AtomicReference<>();
                AtomicBoolean sane = new AtomicBoolean(true);
                String r = sync(a, opts(s).progressListener((phase, done, total) -> {
                    where.set(Thread.currentThread());
                    if (phase == SyncProgressListener.PHASE_PUSH) {
                        push.incrementAndGet();
                        sane.compareAndSet(true, done <= total);
                    } else if (phase == SyncProgressListener.PHASE_PULL) {
                        pull.incrementAndGet();
                    } else {
                        sane.set(false);
                    }
                    return true;
                }));
                eq(4L, num(r, "pushed", "created"), "pushed");
                check(push.get() >= 2 && pull.get() >= 1, "both phases reported: " + push + "/" + pull);
                check(sane.get(), "done <= total while pushing");
                eq(Thread.currentThread(), where.get(), "called on the thread that runs the sync");
            }
        });

        h.add("test_jni_sync__pull_txn_records_one_page_a_commit", () -> {
            try (Store a = Store.open(file("ptx"), ID1, null); Server s = Server.start(h, "ptx", TOKENS)) {
                for (int i = 0; i < 10; i++) {
                    a.record(body(i));
                }
                eq(10L, num(sync(a, opts(s)), "pushed", "created"), "pushed");
                try (Store b = Store.open(file("ptx-b"), ID1, null)) {
                    AtomicLong last = new AtomicLong(), largest = new AtomicLong();
                    AtomicInteger commits = new AtomicInteger();
                    String r = sync(b, opts(s).pullTxnRecords(1).progressListener((p, d, t) -> {
                        if (p == SyncProgressListener.PHASE_PULL && d > 0) {
                            commits.incrementAndGet();
                            largest.set(Math.max(largest.get(), d - last.get()));
                            last.set(d);
                        }
                        return true;
                    }));
                    eq(10L, num(r, "pulled", "inserted"), "pulled");
                    /* Pages of 3, each after the first reading one record
                     * again: a commit per page, never two pages at once. */
                    eq(3L, largest.get(), "records of the largest commit");
                    check(commits.get() >= 4, "a commit per page: " + commits.get());
                }
                try {
                    new SyncOptions().pullTxnRecords(-1);
                    check(false, "a negative count is refused");
                } catch (IllegalArgumentException e) {
                    check(e.getMessage().contains("pullTxnRecords"), "names the option: " + e.getMessage());
                }
            }
        });

        h.add("test_jni_sync__listener_stops_or_throws", () -> {
            try (Store a = Store.open(file("l"), ID1, null); Server s = Server.start(h, "l", TOKENS)) {
                for (int i = 0; i < 4; i++) {
                    a.record(body(i));
                }
                WalkbookException e = fails(WalkbookException.ERROR,
                    () -> sync(a, opts(s).progressListener((p, d, t) -> false)));
                contains(e.getMessage(), "cancel", "the run says it was cancelled");
                eq("sync", e.errorClassName(), "class");
                try {
                    sync(a, opts(s).progressListener((p, d, t) -> {
                        throw new IllegalStateException("listener failed");
                    }));
                    throw new AssertionError("the listener's exception was lost");
                } catch (IllegalStateException x) {
                    eq("listener failed", x.getMessage(), "rethrown as is");
                }
                eq(4L, num(sync(a, opts(s)), "pushed", "created") , "a later run sends all");
            }
        });

        h.add("test_jni_sync__token_refresh", () -> {
            try (Store a = Store.open(file("t"), ID1, null); Server s = Server.start(h, "t", TOKENS)) {
                a.record(body(1));
                a.record(body(2));
                eq(200, s.admin("POST", "/__admin/tokens/expire", "{\"token\":\"tokA\"}", null),
                   "expire");
                WalkbookException e = fails(WalkbookException.EAUTH, () -> sync(a, opts(s)));
                eq(401, e.httpStatus(), "the HTTP status is kept");
                check(!e.getMessage().contains("tokA"), "the token is not in the message");
                AtomicInteger asked = new AtomicInteger();
                fails(WalkbookException.EAUTH, () -> sync(a, opts(s).tokenRefresher(() -> {
                    asked.incrementAndGet();
                    return null;
                })));
                eq(1, asked.get(), "asked once, refused");
                asked.set(0);
                String r = sync(a, opts(s).tokenRefresher(() -> {
                    asked.incrementAndGet();
                    return "tokA2";
                }));
                eq(1, asked.get(), "asked once");
                eq(2L, num(r, "pushed", "created"), "pushed with the new token");
            }
        });

        h.add("test_jni_sync__native_thread_start_await", () -> {
            try (Store a = Store.open(file("n"), ID1, null); Server s = Server.start(h, "n", TOKENS)) {
                for (int i = 0; i < 6; i++) {
                    a.record(body(i));
                }
                eq(200, s.admin("POST", "/__admin/tokens/expire", "{\"token\":\"tokA\"}", null),
                   "expire");
                List<String> threads = new ArrayList<>();
                AtomicInteger calls = new AtomicInteger();
                SyncOptions o = opts(s).progressListener((p, d, t) -> {
                    calls.incrementAndGet();
                    synchronized (threads) {
                        threads.add(Thread.currentThread().getName());
                    }
                    return true;
                }).tokenRefresher(() -> {
                    synchronized (threads) {
                        threads.add("refresh:" + Thread.currentThread().getName());
                    }
                    return "tokA2";
                });
                try (Sync sync = a.newSync(o)) {
                    sync.start();
                    check(sync.isRunning(), "running");
                    fails(WalkbookException.EINVALID, () -> sync.run());
                    String r = null;
                    for (int i = 0; i < 600 && r == null; i++) {
                        r = sync.await(100);
                    }
                    check(r != null, "finished within 60 s");
                    eq(6L, num(r, "pushed", "created"), "pushed");
                    check(!sync.isRunning(), "not running after await");
                    fails(WalkbookException.EINVALID, () -> sync.await(0));
                    /* The same handle runs again, now on this thread. */
                    eq(0L, num(sync.run(), "pushed", "created"), "nothing left to push");
                }
                check(calls.get() >= 3, "progress reported");
                String me = Thread.currentThread().getName();
                synchronized (threads) {
                    check(threads.contains("refresh:walkbook-sync"), "refresh on the sync thread: "
                          + threads);
                    check(threads.contains("walkbook-sync"), "progress on the sync thread");
                    check(threads.contains(me), "and on this thread for run()");
                }
            }
        });

        h.add("test_jni_sync__native_thread_error", () -> {
            try (Store a = Store.open(file("ne"), ID1, null)) {
                a.record(body(1));
                try (Sync sync = a.newSync(opts(null).progressListener((p, d, t) -> true))) {
                    sync.start();
                    WalkbookException e = null;
                    for (int i = 0; i < 600 && e == null; i++) {
                        try {
                            if (sync.await(100) != null) {
                                throw new AssertionError("an unreachable server succeeded");
                            }
                        } catch (WalkbookException x) {
                            e = x;
                        }
                    }
                    check(e != null, "finished within 60 s");
                    eq(WalkbookException.EOFFLINE, e.code(), "the code read on the sync thread");
                    eq(WalkbookException.CLASS_NET, e.errorClass(), "and its class");
                }
            }
        });

        h.add("test_jni_sync__cancel_from_another_thread", () -> {
            try (Store a = Store.open(file("c"), ID1, null); Server s = Server.start(h, "c", TOKENS)) {
                for (int i = 0; i < 4; i++) {
                    a.record(body(i));
                }
                CountDownLatch entered = new CountDownLatch(1), release = new CountDownLatch(1);
                AtomicReference<Throwable> outcome = new AtomicReference<>();
                try (Sync sync = a.newSync(opts(s).progressListener((p, d, t) -> {
                         entered.countDown();
                         try {
                             release.await(10, TimeUnit.SECONDS);
                         } catch (InterruptedException e) {
                             Thread.currentThread().interrupt();
                         }
                         return true;
                     }))) {
                    Thread t = new Thread(() -> {
                        try {
                            sync.run();
                            outcome.set(new AssertionError("not cancelled"));
                        } catch (Throwable x) {
                            outcome.set(x);
                        }
                    });
                    t.start();
                    check(entered.await(10, TimeUnit.SECONDS), "the run started");
                    sync.cancel();
                    release.countDown();
                    t.join(30000);
                    check(!t.isAlive(), "the run ended");
                }
                check(outcome.get() instanceof WalkbookException, "a WalkbookException: " + outcome.get());
                eq(WalkbookException.ERROR, ((WalkbookException) outcome.get()).code(), "cancelled");
                contains(outcome.get().getMessage(), "cancel", "message");
            }
        });

        h.add("test_jni_sync__close_while_running", () -> {
            try (Store a = Store.open(file("w"), ID1, null); Server s = Server.start(h, "w", TOKENS)) {
                for (int i = 0; i < 4; i++) {
                    a.record(body(i));
                }
                /* On the native thread: close cancels and joins it, while the
                 * listener keeps asking the same Sync whether it runs. */
                CountDownLatch entered = new CountDownLatch(1);
                AtomicReference<Sync> self = new AtomicReference<>();
                Sync sync = a.newSync(opts(s).progressListener((p, d, t) -> {
                    entered.countDown();
                    Sync me = self.get();
                    if (me != null) {
                        me.isRunning();
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return true;
                }));
                self.set(sync);
                sync.start();
                check(entered.await(10, TimeUnit.SECONDS), "the run started");
                sync.close();
                sync.close();
                eq(0L, Walkbook.liveNativeObjects(2), "no sync handle left after close");
                eq(0L, Walkbook.liveNativeObjects(3), "no global reference left after close");
                fails(WalkbookException.EINVALID, () -> sync.run());
                /* On a Java thread: close cancels and waits for run() to return. */
                CountDownLatch entered2 = new CountDownLatch(1), release = new CountDownLatch(1);
                Sync sync2 = a.newSync(opts(s).progressListener((p, d, t) -> {
                    entered2.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return true;
                }));
                AtomicReference<Throwable> outcome = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        sync2.run();
                    } catch (Throwable x) {
                        outcome.set(x);
                    }
                });
                t.start();
                check(entered2.await(10, TimeUnit.SECONDS), "the second run started");
                Thread closer = new Thread(sync2::close);
                closer.start();
                Thread.sleep(100);
                check(closer.isAlive(), "close waits for the run");
                release.countDown();
                closer.join(30000);
                t.join(30000);
                check(!closer.isAlive() && !t.isAlive(), "both ended");
                check(outcome.get() instanceof WalkbookException, "the run was cancelled: " + outcome.get());
            }
        });

        h.add("test_jni_sync__background_sync_while_recording", () -> {
            String path = file("bg");
            try (Store a = Store.open(path, ID1, null); Server s = Server.start(h, "bg", TOKENS)) {
                AtomicBoolean stop = new AtomicBoolean();
                AtomicReference<Throwable> bad = new AtomicReference<>();
                AtomicInteger runs = new AtomicInteger();
                Thread bg = new Thread(() -> {
                    try (Sync sync = a.newSync(opts(s))) {
                        while (!stop.get() && runs.get() < 200) {
                            sync.run();
                            runs.incrementAndGet();
                        }
                    } catch (Throwable x) {
                        bad.set(x);
                    }
                });
                bg.start();
                for (int i = 0; i < 60; i++) {
                    a.record(body(i));
                    if (i % 10 == 0) {
                        Thread.sleep(5);
                    }
                }
                stop.set(true);
                bg.join(60000);
                check(!bg.isAlive(), "the background sync ended");
                if (bad.get() != null) {
                    throw new AssertionError("background sync failed", bad.get());
                }
                check(runs.get() >= 1, "it ran");
                sync(a, opts(s));
                eq(60L, a.count(new Query().states(Query.STATE_SYNCED)), "all synced");
                eq(60L, liveOnServer(s), "each exactly once on the server");
            }
        });

        h.add("test_jni_sync__conflict_manual", () -> {
            try (Store a = Store.open(file("m"), ID1, null); Server s = Server.start(h, "m", TOKENS)) {
                SyncOptions manual = opts(s).policy(SyncOptions.Policy.MANUAL);
                String id = a.record(body(1));
                sync(a, manual);
                String serverId = str(a.syncInfo(id), "serverId");
                String path = "/survey/responses/" + Q1 + "/fields/answer";
                eq(200, s.admin("POST", "/__admin/interactions/" + serverId + "/edit",
                                "{\"user\":\"" + U2 + "\",\"data\":[{\"op\":\"replace\",\"path\":\""
                                    + path + "\",\"value\":\"server\"}]}", null),
                   "edit on the server");
                a.update(id, "[{\"op\":\"replace\",\"path\":\"" + path + "\",\"value\":\"device\"}]");
                String r = sync(a, manual);
                check(num(r, "pulled", "conflicts") >= 1, "a conflict: " + r);
                eq("conflict", str(a.syncInfo(id), "state"), "parked");
                eq(1L, a.count(new Query().states(Query.STATE_CONFLICT)), "query by state");
                String c = a.conflict(id);
                contains(c, path, "the conflict names the path");
                contains(c, "\"server\"", "remote value");
                contains(c, "\"device\"", "local value");
                fails(WalkbookException.EINVALID,
                      () -> a.resolveConflict(id, Resolution.TAKE_DOCUMENT, "{\"timestamp\":1}"));
                eq("conflict", str(a.syncInfo(id), "state"), "a refused document changes nothing");
                a.resolveConflict(id, Resolution.TAKE_LOCAL, null);
                fails(WalkbookException.ENOTFOUND, () -> a.conflict(id));
                r = sync(a, manual);
                eq(1L, num(r, "pushed", "updated"), "the resolution is sent");
                contains(a.get(id), "\"answer\":\"device\"", "local side kept");
                eq("synced", str(a.syncInfo(id), "state"), "synced");
            }
        });

        h.add("test_jni_sync__encrypted_store", () -> {
            byte[] key = new byte[StoreOptions.KEY_BYTES];
            for (int i = 0; i < key.length; i++) {
                key[i] = (byte) (255 - i);
            }
            String path = file("enc");
            try (Store a = Store.open(path, ID1, new StoreOptions().key(key));
                 Server s = Server.start(h, "enc", TOKENS)) {
                a.record(body(1));
                a.record(body(2));
                /* newSync opens the file with the store's options, key included. */
                eq(2L, num(sync(a, opts(s)), "pushed", "created"), "pushed");
                eq(2L, liveOnServer(s), "on the server");
                WalkbookException e = fails(WalkbookException.EKEY,
                    () -> new Sync(path, null, opts(s)).close());
                eq(WalkbookException.CLASS_CRYPTO, e.errorClass(), "class");
                try (Store b = Store.open(file("enc-b"), ID1,
                                          new StoreOptions().passphrase("pw".toCharArray())
                                              .kdfLimits(1, 8192))) {
                    eq(2L, num(sync(b, opts(s)), "pulled", "inserted"), "pulled into another");
                    check(b.isEncrypted(), "encrypted with a passphrase");
                }
            }
        });

        h.add("test_jni_sync__saved_token_parallel_signatures", () -> {
            try (Store a = Store.open(file("tok"), ID1, null);
                 Server s = Server.start(h, "tok", "--accept-signatures", TOKENS[0], TOKENS[1])) {
                SyncOptions saved = opts(s).token(null).useSavedToken(true).parallel(3)
                                        .sendSignatures(true);
                for (int i = 0; i < 12; i++) {
                    a.record(body(i));
                }
                fails(WalkbookException.ENOTFOUND, () -> sync(a, saved));
                eq(12L, a.count(new Query().states(Query.STATE_PENDING_CREATE)),
                   "nothing sent without a token");
                a.saveToken("tokA".toCharArray());
                String r = sync(a, saved);
                eq(12L, num(r, "pushed", "created"), "pushed on the saved token");
                eq(12L, liveOnServer(s), "each exactly once on the server");
                String[] out = new String[1];
                eq(200, s.admin("GET", "/__admin/signatures", null, out), "signatures");
                int verified = 0;
                for (int at = 0; (at = out[0].indexOf("\"verified\"", at)) >= 0; at++) {
                    verified++;
                }
                eq(12, verified, "every create's signature verified: " + out[0]);
                fails(WalkbookException.EINVALID,
                      () -> sync(a, opts(s).useSavedToken(true)));
            }
        });

        h.add("test_jni_sync__pull_walk_lists", () -> {
            try (Server s = Server.start(h, "walk", "--db", ":memory:", "--seed-demo",
                                         "--seed-households", "40");
                 Store a = Store.open(file("walk"), new Identity(
                     "de300000-0000-4000-8000-000000000001",
                     "de300000-0000-4000-8000-000000000004"), null)) {
                SyncOptions o = opts(s).token("walkbook-demo-canvasser");
                sync(a, o);
                eq("[]", a.walkLists().list(), "no walk list without pullReference");
                sync(a, o.pullReference(true));
                String lists = a.walkLists().list();
                contains(lists, "Demo walk list", "the demo walk list came down");
                contains(lists, "\"households\":40", "with its households");
            }
        });

        h.add("test_jni_sync__option_errors", () -> {
            try (Store a = Store.open(file("o"), ID1, null)) {
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> a.newSync(new SyncOptions().token("x")).close());
                contains(e.getMessage(), "base_url", "names the option");
                fails(WalkbookException.EINVALID, () -> a.newSync(null).close());
                fails(WalkbookException.EIO,
                    () -> new Sync(h.path("nodir/x.db"), null, opts(null)).close());
                try (Sync sync = a.newSync(opts(null))) {
                    fails(WalkbookException.EINVALID, () -> sync.await(0));
                }
            }
        });

        System.exit(h.run(args));
    }
}
