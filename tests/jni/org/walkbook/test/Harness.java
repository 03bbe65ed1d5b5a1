package org.walkbook.test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.walkbook.Walkbook;
import org.walkbook.WalkbookException;

/**
 * A very small test harness, as tests/wbtest.h: named cases run in order
 * (or those whose name starts with args[0]), one line per case, then
 * "N passed, N failed"; the exit status is non-zero on any failure. After
 * every case no native object may be left alive.
 */
final class Harness {
    interface Case {
        void run() throws Exception;
    }

    interface Call {
        void run() throws Exception;
    }

    private final List<String> names = new ArrayList<>();
    private final List<Case> cases = new ArrayList<>();
    private final File tmp;

    Harness() throws IOException {
        tmp = Files.createTempDirectory("wbjni-").toFile();
    }

    void add(String name, Case c) {
        names.add(name);
        cases.add(c);
    }

    /** A file name in this run's scratch directory. */
    String path(String name) {
        return new File(tmp, name).getPath();
    }

    int run(String[] args) {
        String prefix = args.length > 0 ? args[0] : null;
        int passed = 0, failed = 0;
        for (int i = 0; i < cases.size(); i++) {
            String name = names.get(i);
            if (prefix != null && !name.startsWith(prefix)) {
                continue;
            }
            boolean ok;
            try {
                cases.get(i).run();
                long live = Walkbook.liveNativeObjects();
                ok = live == 0;
                if (!ok) {
                    System.err.println("    " + live + " native objects left alive after the case");
                }
            } catch (Throwable t) {
                ok = false;
                System.err.println("    " + t);
                for (StackTraceElement e : t.getStackTrace()) {
                    if (e.getClassName().startsWith("org.walkbook.test")) {
                        System.err.println("      at " + e);
                    }
                }
            }
            System.out.println((ok ? "ok   " : "FAIL ") + name);
            if (ok) {
                passed++;
            } else {
                failed++;
            }
        }
        System.out.println(passed + " passed, " + failed + " failed");
        if (System.getenv("WBT_KEEP_TMP") == null) {
            try (Stream<java.nio.file.Path> s = Files.walk(tmp.toPath())) {
                s.sorted(Comparator.reverseOrder()).map(java.nio.file.Path::toFile)
                    .forEach(File::delete);
            } catch (IOException e) {
                System.err.println("    cannot remove " + tmp + ": " + e);
            }
        }
        if (prefix != null && passed + failed == 0) {
            System.err.println("no test matched \"" + prefix + "\"");
            return 1;
        }
        return failed == 0 ? 0 : 1;
    }

    static void check(boolean cond, String what) {
        if (!cond) {
            throw new AssertionError(what);
        }
    }

    static void eq(Object expected, Object actual, String what) {
        if (expected == null ? actual != null : !expected.equals(actual)) {
            throw new AssertionError(what + ": expected <" + expected + "> got <" + actual + ">");
        }
    }

    static void contains(String haystack, String needle, String what) {
        if (haystack == null || !haystack.contains(needle)) {
            throw new AssertionError(what + ": <" + needle + "> not in <" + haystack + ">");
        }
    }

    /** The call must fail with a WalkbookException of this code. */
    static WalkbookException fails(int code, Call c) throws Exception {
        try {
            c.run();
        } catch (WalkbookException e) {
            if (e.code() != code) {
                throw new AssertionError("expected " + Walkbook.errorName(code) + ", got " + e);
            }
            check(e.getMessage() != null && !e.getMessage().isEmpty(), "the error has a message");
            return e;
        }
        throw new AssertionError("expected " + Walkbook.errorName(code) + ", but the call succeeded");
    }
}
