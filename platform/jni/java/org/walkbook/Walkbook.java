package org.walkbook;

import java.nio.charset.Charset;

/**
 * Library-wide calls: loading the native library, versions and the
 * live-object counter used by leak checks.
 *
 * The native library is {@code libwalkbook_jni.so}, loaded with
 * {@code System.loadLibrary("walkbook_jni")}; set the system property
 * {@code org.walkbook.library} to an absolute file name to load another.
 */
public final class Walkbook {
    static final Charset UTF8 = Charset.forName("UTF-8");

    static {
        String file = System.getProperty("org.walkbook.library");
        if (file != null && !file.isEmpty()) {
            System.load(file);
        } else {
            System.loadLibrary("walkbook_jni");
        }
    }

    private Walkbook() {}

    /** Make sure the native library is loaded (every class calls this). */
    static void load() {}

    /** Version of the native library, e.g. "0.1.0". */
    public static native String version();

    /** MAJOR*1000000 + MINOR*1000 + PATCH. */
    public static native int versionNumber();

    /** Highest store schema version the library understands. */
    public static native int schemaVersion();

    /** Constant name of an error code ("WB_ENOTFOUND"). */
    public static native String errorName(int code);

    /**
     * Native objects alive now: open stores, cursors and sync handles, and
     * the JNI global references the bridge holds. Zero when everything
     * opened has been closed; a test asserts it in teardown.
     */
    public static long liveNativeObjects() {
        long n = 0;
        for (int kind = 0; kind < 4; kind++) {
            n += nativeLive(kind);
        }
        return n;
    }

    /** As {@link #liveNativeObjects()} for one kind: 0 stores, 1 cursors,
     *  2 syncs, 3 global references. */
    public static long liveNativeObjects(int kind) { return nativeLive(kind); }

    private static native long nativeLive(int kind);

    /** UTF-8 bytes of a string, or null. */
    static byte[] utf8(String s) { return s == null ? null : s.getBytes(UTF8); }

    /** A secret (passphrase, token) as UTF-8 in a new array without going
     *  through a String, which could not be wiped; the encoder's buffer is
     *  wiped. The caller wipes the result. */
    static byte[] utf8Secret(char[] secret) {
        java.nio.ByteBuffer b = UTF8.encode(java.nio.CharBuffer.wrap(secret));
        byte[] out = new byte[b.remaining()];
        b.get(out);
        if (b.hasArray()) {
            java.util.Arrays.fill(b.array(), (byte) 0);
        }
        return out;
    }

    /** A string from UTF-8 bytes, or null. */
    static String string(byte[] b) { return b == null ? null : new String(b, UTF8); }

    /** Strings from arrays of UTF-8 bytes. */
    static String[] strings(byte[][] b) {
        String[] out = new String[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = string(b[i]);
        }
        return out;
    }
}
