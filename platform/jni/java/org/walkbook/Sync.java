package org.walkbook;

import java.util.Arrays;

/**
 * A sync of a store file with a Polis server (walkbook.h {@code wb_sync}):
 * push local changes, then pull and merge. It opens the file on its own
 * connection, so the app keeps recording on its Store meanwhile.
 *
 * <p>Run it either on a thread of the app ({@link #run()} blocks: use an
 * executor or a WorkManager worker, never the main thread), or on a native
 * thread of its own ({@link #start()}, then {@link #await(long)}). The
 * progress listener and token refresher are called on the thread that runs
 * the sync. {@link #cancel()} may be called from any thread. An exception
 * thrown by a listener cancels the run and is rethrown by run/await.
 *
 * <p>Close it (try-with-resources); closing cancels a run in progress and
 * waits for it to stop.
 */
public final class Sync implements AutoCloseable {
    static { Walkbook.load(); }

    /* The native handle. Written under both locks; read under either.
     * handleLock is only ever held for a moment (cancel, free), so cancel()
     * never waits for a run, and free never races a cancel. */
    private long handle;
    private final Object handleLock = new Object();
    private final SyncProgressListener listener;
    private final TokenRefresher refresher;
    private boolean busy;    /* a run or a started run not yet awaited */
    private boolean started; /* the run is on the native thread */
    private boolean awaiting; /* a thread is inside nativeAwait */
    private volatile Throwable callbackError;

    /** A sync of the store file at {@code storePath} (opened with
     *  {@code storeOptions}, null for defaults). */
    public Sync(String storePath, StoreOptions storeOptions, SyncOptions options)
            throws WalkbookException {
        if (options == null) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "options: missing");
        }
        byte[][] strs = options.nativeStrings();
        byte[] pass = storeOptions == null ? null : storeOptions.nativePassphrase();
        try {
            long h = storeOptions == null
                         ? nativeNew(Walkbook.utf8(storePath), null, null, null, null, strs,
                                     options.nativeInts())
                         : nativeNew(Walkbook.utf8(storePath), storeOptions.nativeInts(),
                                     storeOptions.nativeLongs(), storeOptions.nativeKey(), pass,
                                     strs, options.nativeInts());
            synchronized (handleLock) {
                handle = h;
            }
        } finally {
            StoreOptions.wipe(pass);
            if (strs[1] != null) {
                Arrays.fill(strs[1], (byte) 0); /* the token's bytes */
            }
        }
        listener = options.progress;
        refresher = options.tokenRefresher;
    }

    /**
     * Run one sync on the calling thread: push, then pull. Returns the JSON
     * report (counts per outcome, requests, bytes, duration).
     * @throws WalkbookException EAUTH (401 after one refresh), EOFFLINE
     *         (server unreachable), ERROR (cancelled), ...
     */
    public String run() throws WalkbookException {
        long h = begin();
        try {
            return finish(nativeRun(h), null);
        } catch (WalkbookException e) {
            return finish(null, e);
        } finally {
            end();
        }
    }

    /** Start a run on a native thread of its own; collect it with
     *  {@link #await(long)}. */
    public void start() throws WalkbookException {
        long h = begin();
        boolean ok = false;
        try {
            synchronized (this) {
                nativeStart(h);
                started = true;
            }
            ok = true;
        } finally {
            if (!ok) {
                end();
            }
        }
    }

    /**
     * Wait up to {@code timeoutMs} for the run begun by {@link #start()}.
     * @return the JSON report, or null when the run is still going
     */
    public String await(long timeoutMs) throws WalkbookException {
        long h;
        synchronized (this) {
            if (!started || awaiting) {
                throw new WalkbookException(WalkbookException.EINVALID,
                                            WalkbookException.CLASS_INVALID,
                                            started ? "sync: already being awaited"
                                                    : "sync: no background run to await");
            }
            awaiting = true;
            h = handle;
        }
        byte[] report;
        try {
            report = nativeAwait(h, timeoutMs);
        } catch (WalkbookException e) {
            synchronized (this) {
                started = false;
            }
            return finish(null, e);
        } finally {
            synchronized (this) {
                awaiting = false;
                if (!started) {
                    busy = false;
                }
                notifyAll();
            }
        }
        if (report == null) {
            return null;
        }
        synchronized (this) {
            started = false;
            busy = false;
            notifyAll();
        }
        return finish(report, null);
    }

    /** Whether a run is in progress (or started and not yet awaited). */
    public synchronized boolean isRunning() { return busy; }

    /** Ask a running sync to stop at the next request boundary. Any thread. */
    public void cancel() {
        synchronized (handleLock) {
            if (handle != 0) {
                nativeCancel(handle);
            }
        }
    }

    /** Cancel a run in progress, wait for it, and free the handle. */
    @Override
    public void close() {
        cancel();
        long h;
        boolean interrupted = false;
        synchronized (this) {
            /* A run() on another thread, or an await() in progress: wait
             * until it has returned (the cancel makes that quick). */
            while ((busy && !started) || awaiting) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            synchronized (handleLock) {
                h = handle;
                handle = 0;
            }
            started = false;
            busy = false;
        }
        /* Outside the monitor: freeing joins a run on the native thread,
         * whose listener may still call isRunning(). */
        nativeFree(h);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized long begin() throws WalkbookException {
        if (handle == 0) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "sync: closed");
        }
        if (busy) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "sync: already running");
        }
        busy = true;
        callbackError = null;
        return handle;
    }

    private synchronized void end() {
        busy = false;
        notifyAll();
    }

    private String finish(byte[] report, WalkbookException e) throws WalkbookException {
        Throwable t = callbackError;
        callbackError = null;
        if (t != null) {
            if (e != null) {
                t.addSuppressed(e);
            }
            if (t instanceof RuntimeException) {
                throw (RuntimeException) t;
            }
            if (t instanceof Error) {
                throw (Error) t;
            }
            throw new RuntimeException(t);
        }
        if (e != null) {
            throw e;
        }
        return Walkbook.string(report);
    }

    /* Called from native code on the sync thread. Listener exceptions are
     * kept for run/await and cancel the run; nothing escapes into C. */
    @SuppressWarnings("unused")
    private boolean dispatchProgress(int phase, long done, long total) {
        try {
            return listener == null || listener.onProgress(phase, done, total);
        } catch (Throwable t) {
            if (callbackError == null) {
                callbackError = t;
            }
            return false;
        }
    }

    @SuppressWarnings("unused")
    private byte[] dispatchTokenRefresh() {
        try {
            String token = refresher == null ? null : refresher.refreshToken();
            return token == null ? null : token.getBytes(Walkbook.UTF8);
        } catch (Throwable t) {
            if (callbackError == null) {
                callbackError = t;
            }
            return null;
        }
    }

    private static native long nativeNew(byte[] storePath, int[] storeInts, long[] storeLongs,
                                         byte[] key, byte[] passphrase, byte[][] strs, int[] ints)
            throws WalkbookException;
    private native byte[] nativeRun(long h) throws WalkbookException;
    private native void nativeStart(long h) throws WalkbookException;
    private static native byte[] nativeAwait(long h, long timeoutMs) throws WalkbookException;
    private static native void nativeCancel(long h);
    private static native void nativeFree(long h);
}
