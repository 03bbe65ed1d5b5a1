package org.walkbook;

/**
 * Results of {@link Store#query}, one envelope (JSON) at a time.
 *
 * <p>Calls are serialised with the store's (they share its connection). The
 * cursor stays usable after its store is closed; the store's connection
 * closes when the last cursor does. Close it (try-with-resources).
 */
public final class Cursor implements AutoCloseable {
    static { Walkbook.load(); }

    private final Object lock;
    private long handle;

    Cursor(Store store, long handle) {
        this.lock = store;
        this.handle = handle;
    }

    /** The next envelope, or null at the end. */
    public String next() throws WalkbookException {
        synchronized (lock) {
            return Walkbook.string(nativeNext(h()));
        }
    }

    /** Up to {@code max} envelopes; fewer at the end, none when done. */
    public String[] next(int max) throws WalkbookException {
        byte[][] page;
        synchronized (lock) {
            page = nativeNextPage(h(), max);
        }
        return Walkbook.strings(page);
    }

    /** An opaque position after the last envelope returned, for
     *  {@link Query#after} of the next page; null before the first. */
    public String position() throws WalkbookException {
        synchronized (lock) {
            return Walkbook.string(nativePosition(h()));
        }
    }

    /** Free the cursor. Safe to call twice. */
    @Override
    public void close() {
        synchronized (lock) {
            long h = handle;
            handle = 0;
            nativeFree(h);
        }
    }

    private long h() throws WalkbookException {
        if (handle == 0) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "cursor: closed");
        }
        return handle;
    }

    private static native byte[] nativeNext(long h) throws WalkbookException;
    private static native byte[][] nativeNextPage(long h, int max) throws WalkbookException;
    private static native byte[] nativePosition(long h);
    private static native void nativeFree(long h);
}
