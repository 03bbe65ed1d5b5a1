package org.walkbook.test;

import static org.walkbook.test.Fixtures.*;
import static org.walkbook.test.Harness.*;

import java.io.FileOutputStream;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import org.walkbook.Cursor;
import org.walkbook.Geo;
import org.walkbook.Identity;
import org.walkbook.Json;
import org.walkbook.Query;
import org.walkbook.Resolution;
import org.walkbook.Store;
import org.walkbook.StoreOptions;
import org.walkbook.Walkbook;
import org.walkbook.WalkbookException;

/**
 * The Java API on the desktop JVM against the real native library: every
 * Store, Cursor, Geo and Json call, success and error paths. Run with
 * -Xcheck:jni (tests/jni/run_java_test.sh fails on any JNI warning).
 */
public final class TestJniStore {
    private static Harness h;
    private static int files;

    private static Store fresh() throws WalkbookException {
        return Store.open(h.path("s" + (++files) + ".db"), ID1, null);
    }

    public static void main(String[] args) throws Exception {
        h = new Harness();

        h.add("test_jni_store__version", () -> {
            eq(Walkbook.versionNumber() / 1000000 + "." + Walkbook.versionNumber() / 1000 % 1000 + "."
                   + Walkbook.versionNumber() % 1000,
               Walkbook.version(), "version text matches the number");
            check(Walkbook.schemaVersion() >= 1, "schema version");
            eq("WB_ENOTFOUND", Walkbook.errorName(WalkbookException.ENOTFOUND), "error name");
        });

        h.add("test_jni_store__open_identity_status_close", () -> {
            String path = h.path("open.db");
            Store s = Store.open(path, ID1, new StoreOptions().busyTimeoutMs(2000)
                                                .durability(StoreOptions.Durability.NORMAL)
                                                .mmapMib(0));
            eq(path, s.path(), "path");
            eq(Walkbook.schemaVersion(), s.schemaVersion(), "schema version of a new file");
            String id = s.identity();
            eq(C1, str(id, "customerId"), "customer");
            eq(U1, str(id, "userId"), "user");
            contains(id, SG1, "security group");
            contains(s.status(), "\"interactions\"", "status");
            check(!s.isClosed(), "open");
            s.close();
            check(s.isClosed(), "closed");
            s.close(); /* twice is fine */
            WalkbookException e = fails(WalkbookException.EINVALID, () -> s.status());
            contains(e.getMessage(), "closed", "message of a call after close");
            /* Opening again with the same identity is fine. */
            try (Store again = Store.open(path, ID1, null)) {
                eq(C1, str(again.identity(), "customerId"), "identity kept");
            }
        });

        h.add("test_jni_store__open_errors", () -> {
            WalkbookException e = fails(WalkbookException.EIO,
                () -> Store.open(h.path("no-such-dir/x.db")));
            eq(WalkbookException.CLASS_STORE, e.errorClass(), "class of a missing directory");
            eq("store", e.errorClassName(), "class name");
            check(e.sqliteCode() != 0, "the SQLite code is kept");
            String junk = h.path("junk.db");
            try (FileOutputStream f = new FileOutputStream(junk)) {
                f.write(new byte[4096]);
                f.write("this is not a database".getBytes("UTF-8"));
            }
            check(!isOk(() -> Store.open(junk).close()), "a file that is not a store is refused");
            fails(WalkbookException.EIO,
                () -> Store.open(h.path("missing.db"), new StoreOptions().create(false)));
            fails(WalkbookException.EINVALID, () -> Store.open(null));
            fails(WalkbookException.EINVALID, () -> Store.open("a\0b"));
        });

        h.add("test_jni_store__identity_errors", () -> {
            try (Store s = Store.open(h.path("ident.db"))) {
                fails(WalkbookException.ENOTFOUND, () -> s.identity());
                WalkbookException e = fails(WalkbookException.ENOTFOUND, () -> s.record(body(1)));
                eq(0L, s.count(null), "nothing stored without an identity");
                e = fails(WalkbookException.EINVALID,
                          () -> s.setIdentity(new Identity("not-a-uuid", U1, SG1)));
                eq(WalkbookException.CLASS_INVALID, e.errorClass(), "class");
                contains(e.getMessage(), "customer", "the message names the field");
                fails(WalkbookException.EINVALID, () -> s.setIdentity(null));
                s.setIdentity(ID1);
                s.setIdentity(ID1); /* the same again: fine */
                fails(WalkbookException.EEXISTS, () -> s.setIdentity(new Identity(C1, U2, SG1)));
            }
            /* A failing identity in open closes the store again. */
            fails(WalkbookException.EINVALID,
                () -> Store.open(h.path("ident2.db"), new Identity(C1, "x", SG1), null));
        });

        h.add("test_jni_store__record_get_sync_info", () -> {
            try (Store s = fresh()) {
                String id = s.record(body(1));
                eq(36, id.length(), "a UUID");
                String env = s.get(id);
                eq(id, str(env, "id"), "envelope id");
                contains(env, "\"campaignId\":\"" + CAMPAIGN + "\"", "data");
                contains(env, "\"createdBy\":\"" + U1 + "\"", "meta");
                String info = s.syncInfo(id);
                eq("pending_create", str(info, "state"), "state");
                eq(1L, s.count(null), "count");
            }
        });

        h.add("test_jni_store__record_errors_store_nothing", () -> {
            try (Store s = fresh()) {
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> s.record(body(1).replace("\"campaignId\":\"" + CAMPAIGN + "\",", "")));
                contains(e.getMessage(), "campaignId", "names the missing field");
                e = fails(WalkbookException.EINVALID, () -> s.record("{\"campaignId\":"));
                eq(WalkbookException.CLASS_JSON, e.errorClass(), "bad JSON is a json error");
                e = fails(WalkbookException.EINVALID, () -> s.record(body(1).replace("yes", "a\0b")));
                contains(e.getMessage(), "NUL", "an embedded NUL is refused");
                fails(WalkbookException.EINVALID, () -> s.record(null));
                eq(0L, s.count(null), "nothing stored");
                fails(WalkbookException.ENOTFOUND, () -> s.get("00000000-0000-4000-8000-000000000000"));
                fails(WalkbookException.EINVALID, () -> s.get(null));
                fails(WalkbookException.ENOTFOUND,
                      () -> s.syncInfo("00000000-0000-4000-8000-000000000000"));
            }
        });

        h.add("test_jni_store__utf8_round_trip", () -> {
            /* Characters outside the BMP: modified UTF-8 would break them. */
            String text = "Zo\u00eb \ud83d\ude00 \u4e2d\u6587";
            try (Store s = fresh()) {
                String id = s.record(body(2, CAMPAIGN, text));
                contains(s.get(id), "\"answer\":\"" + text + "\"", "text comes back unchanged");
            }
        });

        h.add("test_jni_store__record_batch", () -> {
            try (Store s = fresh()) {
                String[] bodies = new String[600];
                for (int i = 0; i < bodies.length; i++) {
                    bodies[i] = body(i);
                }
                String[] ids = s.recordBatch(bodies);
                eq(600, ids.length, "one id per body");
                Set<String> unique = new HashSet<>();
                for (String id : ids) {
                    unique.add(id);
                }
                eq(600, unique.size(), "distinct ids");
                eq(600L, s.count(null), "all stored");
                bodies[3] = "{}";
                WalkbookException e = fails(WalkbookException.EINVALID, () -> s.recordBatch(bodies));
                contains(e.getMessage(), "[3]", "the message names the index");
                eq(600L, s.count(null), "a refused batch stores nothing");
                fails(WalkbookException.EINVALID, () -> s.recordBatch((String[]) null));
                eq(0, s.recordBatch().length, "an empty batch");
            }
        });

        h.add("test_jni_store__update", () -> {
            try (Store s = fresh()) {
                String id = s.record(body(1));
                s.update(id, "[{\"op\":\"replace\",\"path\":\"/successful\",\"value\":false}]");
                contains(s.get(id), "\"successful\":false", "patched");
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> s.update(id, "[{\"op\":\"test\",\"path\":\"/successful\",\"value\":true}]"));
                check(e.getMessage().length() > 0, "message");
                fails(WalkbookException.EINVALID, () -> s.update(id,
                    "[{\"op\":\"replace\",\"path\":\"/timestamp\",\"value\":\"yesterday\"}]"));
                contains(s.get(id), "\"successful\":false", "a refused patch changes nothing");
                fails(WalkbookException.ENOTFOUND, () -> s.update(
                    "00000000-0000-4000-8000-000000000000", "[]"));
                fails(WalkbookException.EINVALID, () -> s.update(id, null));
            }
        });

        h.add("test_jni_store__delete_and_purge", () -> {
            try (Store s = fresh()) {
                String id = s.record(body(1));
                s.record(body(2));
                s.delete(id);
                fails(WalkbookException.ENOTFOUND, () -> s.get(id));
                contains(s.get(id, true), "\"isDeleted\":true", "the tombstone");
                fails(WalkbookException.ENOTFOUND, () -> s.delete(id));
                eq(1L, s.count(null), "one live record");
                eq(1L, s.count(new Query().deleted(Query.Deleted.ONLY)), "one tombstone");
                eq(0L, s.purge(3600_000L), "a fresh tombstone is kept");
                Thread.sleep(5);
                eq(1L, s.purge(0), "purged");
                eq(0L, s.count(new Query().deleted(Query.Deleted.ONLY)), "no tombstone left");
                fails(WalkbookException.EINVALID, () -> s.purge(-1));
            }
        });

        h.add("test_jni_store__query_pages_and_filters", () -> {
            try (Store s = fresh()) {
                for (int i = 0; i < 30; i++) {
                    s.record(body(i, i % 3 == 0 ? CAMPAIGN2 : CAMPAIGN, "yes"));
                }
                Set<String> seen = new HashSet<>();
                String after = null;
                int pages = 0;
                do {
                    try (Cursor c = s.query(new Query().limit(7).after(after))) {
                        String env;
                        int n = 0;
                        while ((env = c.next()) != null) {
                            check(seen.add(str(env, "id")), "no record twice");
                            n++;
                        }
                        after = n == 0 ? null : c.position();
                    }
                    pages++;
                } while (after != null && pages < 20);
                eq(30, seen.size(), "all records over the pages");
                eq(10L, s.count(new Query().campaignId(CAMPAIGN2)), "filter by campaign");
                eq(30L, s.count(new Query().states(Query.STATE_PENDING_CREATE)), "filter by state");
                eq(0L, s.count(new Query().states(Query.STATE_SYNCED)), "none synced");
                eq(5L, s.count(new Query().since("2024-05-01T10:00:25.000Z")), "since");
                try (Cursor c = s.query(new Query().order(Query.Order.TIME_DESC))) {
                    contains(c.next(), "\"timestamp\":\"2024-05-01T10:00:29.029Z\"", "newest first");
                }
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> s.query(new Query().since("not a time")).close());
                contains(e.getMessage(), "since", "names the member");
                fails(WalkbookException.EINVALID,
                    () -> s.query(new Query().campaignId("nope")).close());
                fails(WalkbookException.EINVALID, () -> s.query(new Query().after("bogus")).close());
                fails(WalkbookException.EINVALID, () -> s.count(new Query().until("x")));
            }
        });

        h.add("test_jni_store__cursor_pages_many", () -> {
            /* 600 envelopes through next(int): with -Xcheck:jni a local
             * reference kept per element would be reported. */
            try (Store s = fresh()) {
                String[] bodies = new String[600];
                for (int i = 0; i < bodies.length; i++) {
                    bodies[i] = body(i);
                }
                s.recordBatch(bodies);
                try (Cursor c = s.query(null)) {
                    eq(500, c.next(500).length, "a full page");
                    eq(100, c.next(500).length, "the short last page");
                    eq(0, c.next(500).length, "then nothing");
                    eq(null, c.next(), "next at the end");
                    fails(WalkbookException.EINVALID, () -> c.next(0));
                }
            }
        });

        h.add("test_jni_store__close_store_with_open_cursor", () -> {
            Store s = fresh();
            for (int i = 0; i < 5; i++) {
                s.record(body(i));
            }
            Cursor c = s.query(null);
            check(c.next() != null, "first");
            s.close();
            fails(WalkbookException.EINVALID, () -> s.record(body(9)));
            eq(1L, Walkbook.liveNativeObjects(1), "the cursor is alive");
            int rest = 0;
            while (c.next() != null) {
                rest++;
            }
            eq(4, rest, "the cursor reads on after its store is closed");
            check(c.position() != null, "position");
            c.close();
            c.close();
            fails(WalkbookException.EINVALID, () -> c.next());
            eq(0L, Walkbook.liveNativeObjects(), "nothing left");
        });

        h.add("test_jni_store__conflict_calls_without_conflict", () -> {
            try (Store s = fresh()) {
                String id = s.record(body(1));
                fails(WalkbookException.ENOTFOUND, () -> s.conflict(id));
                fails(WalkbookException.ENOTFOUND, () -> s.resolveConflict(id, Resolution.TAKE_LOCAL, null));
                fails(WalkbookException.EINVALID, () -> s.resolveConflict(id, null, null));
                fails(WalkbookException.EINVALID, () -> s.conflict(null));
            }
        });

        h.add("test_jni_store__threads_share_a_store", () -> {
            /* Calls on one Store from several threads are serialised, and
             * each thread's error is its own. */
            try (Store s = fresh()) {
                AtomicReference<Throwable> bad = new AtomicReference<>();
                Thread[] t = new Thread[4];
                for (int k = 0; k < t.length; k++) {
                    final int base = k * 100;
                    t[k] = new Thread(() -> {
                        try {
                            for (int i = 0; i < 25; i++) {
                                s.record(body(base + i));
                                try {
                                    s.record("{}");
                                    bad.compareAndSet(null, new AssertionError("{} accepted"));
                                } catch (WalkbookException e) {
                                    if (e.code() != WalkbookException.EINVALID) {
                                        bad.compareAndSet(null, e);
                                    }
                                }
                            }
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        }
                    });
                    t[k].start();
                }
                for (Thread x : t) {
                    x.join(30000);
                }
                if (bad.get() != null) {
                    throw new AssertionError(bad.get());
                }
                eq(100L, s.count(null), "every thread's records");
            }
        });

        h.add("test_jni_store__encryption_keys", () -> {
            byte[] key = new byte[StoreOptions.KEY_BYTES];
            for (int i = 0; i < key.length; i++) {
                key[i] = (byte) (i * 7 + 1);
            }
            byte[] other = key.clone();
            other[0] ^= 1;
            String path = h.path("enc.db");
            String id;
            try (Store s = Store.open(path, ID1, new StoreOptions().key(key))) {
                check(s.isEncrypted(), "a store opened with a key is encrypted");
                id = s.record(body(1, CAMPAIGN, "secret answer"));
                contains(s.verifyLog(), "\"ok\":true", "the signed log verifies");
            }
            for (String f : new String[] {path, path + "-wal"}) {
                java.io.File file = new java.io.File(f);
                if (file.exists()) {
                    String bytes = new String(java.nio.file.Files.readAllBytes(file.toPath()),
                                              "ISO-8859-1");
                    check(!bytes.contains("secret answer"), "no answer in clear in " + f);
                }
            }
            WalkbookException e = fails(WalkbookException.EKEY, () -> Store.open(path).close());
            eq(WalkbookException.CLASS_CRYPTO, e.errorClass(), "class of a missing key");
            fails(WalkbookException.EKEY,
                  () -> Store.open(path, new StoreOptions().key(other)).close());
            e = fails(WalkbookException.EINVALID,
                      () -> Store.open(path, new StoreOptions().key(new byte[31])).close());
            contains(e.getMessage(), "key", "names the key");
            char[] words = "correct horse".toCharArray();
            try (Store s = Store.open(path, new StoreOptions().key(key))) {
                contains(s.get(id), "secret answer", "read with the key");
                s.rekey(new StoreOptions().passphrase(words).kdfLimits(1, 8192));
                fails(WalkbookException.EINVALID, () -> s.rekey(new StoreOptions()));
                fails(WalkbookException.EINVALID, () -> s.rekey(null));
            }
            fails(WalkbookException.EKEY, () -> Store.open(path, new StoreOptions().key(key)).close());
            try (Store s = Store.open(path, new StoreOptions().passphrase(words))) {
                contains(s.get(id), "secret answer", "read with the new passphrase");
            }
            fails(WalkbookException.EKEY,
                  () -> Store.open(path, new StoreOptions().passphrase("wrong".toCharArray())).close());
            StoreOptions wiped = new StoreOptions().passphrase(words);
            wiped.wipe();
            fails(WalkbookException.EKEY, () -> Store.open(path, wiped).close());
            String plain = h.path("plain.db");
            Store.open(plain, ID1, null).close();
            try (Store s = Store.open(plain)) {
                check(!s.isEncrypted(), "plain");
            }
            fails(WalkbookException.EKEY, () -> Store.open(plain,
                new StoreOptions().encryption(StoreOptions.Encryption.REQUIRED)).close());
            fails(WalkbookException.EINVALID, () -> Store.open(h.path("none.db"),
                new StoreOptions().encryption(StoreOptions.Encryption.NONE).key(key)).close());
        });

        h.add("test_jni_store__encrypt_decrypt_saved_token", () -> {
            byte[] key = new byte[StoreOptions.KEY_BYTES];
            for (int i = 0; i < key.length; i++) {
                key[i] = (byte) (i * 3 + 5);
            }
            String path = h.path("convert.db");
            String id;
            try (Store s = Store.open(path, ID1, null)) {
                check(s.savedToken() == null, "no token saved yet");
                id = s.record(body(1, CAMPAIGN, "plain answer"));
                s.saveToken("tok-java-1".toCharArray());
                eq("tok-java-1", new String(s.savedToken()), "the saved token reads back");
                WalkbookException e = fails(WalkbookException.EINVALID,
                    () -> s.saveToken("bad\ntok-secret".toCharArray()));
                contains(e.getMessage(), "token", "names the token");
                check(!e.getMessage().contains("tok-secret"), "never quotes it");
                eq("tok-java-1", new String(s.savedToken()), "a refused token changes nothing");
                fails(WalkbookException.EINVALID, () -> s.encrypt(null));
                fails(WalkbookException.EINVALID, () -> s.decrypt());
                s.encrypt(new StoreOptions().key(key));
                check(s.isEncrypted(), "encrypted in place");
                fails(WalkbookException.EINVALID, () -> s.encrypt(new StoreOptions().key(key)));
            }
            fails(WalkbookException.EKEY, () -> Store.open(path).close());
            try (Store s = Store.open(path, new StoreOptions().key(key))) {
                contains(s.get(id), "plain answer", "read with the key");
                eq("tok-java-1", new String(s.savedToken()), "the token was sealed with the rest");
                contains(s.verifyLog(), "\"ok\":true", "the log still verifies");
                s.decrypt();
                check(!s.isEncrypted(), "plain again");
            }
            try (Store s = Store.open(path)) {
                contains(s.get(id), "plain answer", "opens without a key");
                eq("tok-java-1", new String(s.savedToken()), "and the token is still there");
                s.saveToken(null);
                check(s.savedToken() == null, "forgotten");
                s.saveToken(new char[0]);
                check(s.savedToken() == null, "an empty token forgets too");
            }
        });

        h.add("test_jni_store__geo", () -> {
            double m = Geo.distance(0, 0, 0, 1);
            check(Math.abs(m - 111319.49079327357) < 1e-6, "one degree on the equator: " + m);
            check(Math.abs(Geo.metresToMiles(1609.344) - 1.0) < 1e-12, "a mile");
            WalkbookException e = fails(WalkbookException.EINVALID, () -> Geo.distance(91, 0, 0, 0));
            contains(e.getMessage(), "lat1", "names the argument");
            fails(WalkbookException.EINVALID, () -> Geo.distance(0, Double.NaN, 0, 0));
        });

        h.add("test_jni_store__json", () -> {
            eq("{\"a\":2}", Json.patchApply("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2}]"),
               "patch");
            String d = Json.diff("{\"a\":1}", "{\"a\":1,\"b\":[1]}");
            eq("{\"a\":1,\"b\":[1]}", Json.patchApply("{\"a\":1}", d), "apply(diff)");
            fails(WalkbookException.EINVALID,
                  () -> Json.patchApply("{}", "[{\"op\":\"remove\",\"path\":\"/x\"}]"));
            fails(WalkbookException.EINVALID, () -> Json.diff("{", "{}"));
            fails(WalkbookException.EINVALID, () -> Json.diff(null, "{}"));
        });

        System.exit(h.run(args));
    }

    private static boolean isOk(Harness.Call c) {
        try {
            c.run();
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
