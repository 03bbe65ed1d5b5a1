package org.walkbook;

/**
 * An open walkbook store (walkbook.h {@code wb_store}).
 *
 * <p>Records cross as JSON text in the Polis shapes, as in the C API: a
 * create body in, the full envelope out. Every method throws
 * {@link WalkbookException} with the walkbook code, class and message.
 *
 * <p>Threads: a store may be shared between threads; calls on one store are
 * serialised (the C handle belongs to one thread at a time). For recording
 * and reading in parallel, open one Store per thread on the same file.
 * Sync runs on a connection of its own ({@link #newSync}).
 *
 * <p>{@link #close()} frees the native handle; call it (try-with-resources).
 * Closing a store while a {@link Cursor} is open is allowed: the connection
 * stays open for the cursor and closes when the cursor is closed.
 */
public final class Store implements AutoCloseable {
    static { Walkbook.load(); }

    private long handle;
    private final String path;
    private final StoreOptions options;

    private Store(long handle, String path, StoreOptions options) {
        this.handle = handle;
        this.path = path;
        this.options = options;
    }

    /** Open (create, migrate) the store at {@code path} with default options.
     *  ":memory:" gives a private in-memory store. */
    public static Store open(String path) throws WalkbookException {
        return open(path, null, null);
    }

    public static Store open(String path, StoreOptions options) throws WalkbookException {
        return open(path, null, options);
    }

    /**
     * Open the store and set its identity (a no-op when the same identity is
     * already set; EEXISTS for a different one). The store is closed again
     * when setting the identity fails.
     */
    public static Store open(String path, Identity identity, StoreOptions options)
            throws WalkbookException {
        byte[] pass = options == null ? null : options.nativePassphrase();
        long handle;
        try {
            handle = options == null
                         ? nativeOpen(Walkbook.utf8(path), null, null, null, null)
                         : nativeOpen(Walkbook.utf8(path), options.nativeInts(),
                                      options.nativeLongs(), options.nativeKey(), pass);
        } finally {
            StoreOptions.wipe(pass);
        }
        Store s = new Store(handle, path, options);
        if (identity != null) {
            try {
                s.setIdentity(identity);
            } catch (WalkbookException e) {
                s.close();
                throw e;
            }
        }
        return s;
    }

    /** The file name the store was opened with. */
    public String path() { return path; }

    /** Schema version of the opened file. */
    public synchronized int schemaVersion() throws WalkbookException {
        return nativeSchemaVersion(h());
    }

    /** Whether the store's personal fields are encrypted. */
    public synchronized boolean isEncrypted() throws WalkbookException {
        return nativeEncrypted(h());
    }

    /**
     * Re-encrypt the store under the key or passphrase of {@code newKeys}
     * (other members ignored), all or nothing. Other handles on the file,
     * and syncs, must then be opened with the new key.
     */
    public synchronized void rekey(StoreOptions newKeys) throws WalkbookException {
        if (newKeys == null) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "newKeys: missing");
        }
        byte[] pass = newKeys.nativePassphrase();
        try {
            nativeRekey(h(), newKeys.nativeInts(), newKeys.nativeLongs(), newKeys.nativeKey(),
                        pass);
        } finally {
            StoreOptions.wipe(pass);
        }
    }

    /**
     * Encrypt a plain store's personal fields under the key or passphrase of
     * {@code keys} (other members ignored), all or nothing. Other handles on
     * the file, and syncs, must then be opened with that key.
     */
    public synchronized void encrypt(StoreOptions keys) throws WalkbookException {
        if (keys == null) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "keys: missing");
        }
        byte[] pass = keys.nativePassphrase();
        try {
            nativeEncrypt(h(), keys.nativeInts(), keys.nativeLongs(), keys.nativeKey(), pass);
        } finally {
            StoreOptions.wipe(pass);
        }
    }

    /** Store every sealed value in clear again, all or nothing; the store
     *  then opens without a key. */
    public synchronized void decrypt() throws WalkbookException { nativeDecrypt(h()); }

    /**
     * Keep a bearer token in the store for syncs with
     * {@link SyncOptions#useSavedToken} (sealed like personal fields in an
     * encrypted store). Null or empty forgets it. The caller may wipe
     * {@code token} afterwards; the copies made here are wiped.
     */
    public synchronized void saveToken(char[] token) throws WalkbookException {
        byte[] utf8 = token == null ? null : Walkbook.utf8Secret(token);
        try {
            nativeSaveToken(h(), utf8);
        } finally {
            StoreOptions.wipe(utf8);
        }
    }

    /** The token kept with {@link #saveToken}, or null when none is. The
     *  caller should wipe the array after use. */
    public synchronized char[] savedToken() throws WalkbookException {
        byte[] utf8 = nativeSavedToken(h());
        if (utf8 == null) {
            return null;
        }
        try {
            java.nio.CharBuffer c = Walkbook.UTF8.decode(java.nio.ByteBuffer.wrap(utf8));
            char[] out = new char[c.remaining()];
            c.get(out);
            if (c.hasArray()) {
                java.util.Arrays.fill(c.array(), '\0');
            }
            return out;
        } finally {
            StoreOptions.wipe(utf8);
        }
    }

    /** Verify the signed interaction log; returns the report
     *  {"entries","records","ok","publicKey","firstBroken"}.
     *  @throws WalkbookException ETAMPER naming the first broken link */
    public synchronized String verifyLog() throws WalkbookException {
        return Walkbook.string(nativeVerifyLog(h()));
    }

    /** Set the identity, once (see {@link Identity}). */
    public synchronized void setIdentity(Identity id) throws WalkbookException {
        if (id == null) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "identity: missing");
        }
        byte[][] groups = new byte[id.securityGroupIds.length][];
        for (int i = 0; i < groups.length; i++) {
            groups[i] = Walkbook.utf8(id.securityGroupIds[i]);
        }
        nativeSetIdentity(h(), Walkbook.utf8(id.customerId), Walkbook.utf8(id.userId), groups);
    }

    /** The identity as JSON: {"customerId","userId","securityGroupIds"}. */
    public synchronized String identity() throws WalkbookException {
        return Walkbook.string(nativeIdentity(h()));
    }

    /** Status summary as JSON (counts per sync state, file size). */
    public synchronized String status() throws WalkbookException {
        return Walkbook.string(nativeStatus(h()));
    }

    /** Record an interaction from a Polis create body; returns its id. The
     *  record is durable when this returns. */
    public synchronized String record(String body) throws WalkbookException {
        return Walkbook.string(nativeRecord(h(), Walkbook.utf8(body)));
    }

    /** Record many interactions in one transaction (all or none); returns
     *  their ids in order. */
    public synchronized String[] recordBatch(String... bodies) throws WalkbookException {
        byte[][] in = new byte[bodies == null ? 0 : bodies.length][];
        for (int i = 0; i < in.length; i++) {
            in[i] = Walkbook.utf8(bodies[i]);
        }
        return Walkbook.strings(nativeRecordBatch(h(), bodies == null ? null : in));
    }

    /** The envelope of a live record as JSON. */
    public String get(String id) throws WalkbookException { return get(id, false); }

    /** The envelope of a record, tombstones too when {@code includeDeleted}. */
    public synchronized String get(String id, boolean includeDeleted) throws WalkbookException {
        return Walkbook.string(nativeGet(h(), Walkbook.utf8(id), includeDeleted));
    }

    /** Sync bookkeeping of a record: {"id","serverId","state","version",...}. */
    public synchronized String syncInfo(String id) throws WalkbookException {
        return Walkbook.string(nativeSyncInfo(h(), Walkbook.utf8(id)));
    }

    /** Change a record with an RFC 6902 JSON Patch (paths relative to data). */
    public synchronized void update(String id, String patch) throws WalkbookException {
        nativeUpdate(h(), Walkbook.utf8(id), Walkbook.utf8(patch));
    }

    /** Soft-delete a record. */
    public synchronized void delete(String id) throws WalkbookException {
        nativeDelete(h(), Walkbook.utf8(id));
    }

    /** Run a query (null: all live records in time order). Close the cursor. */
    public synchronized Cursor query(Query q) throws WalkbookException {
        Query query = q == null ? new Query() : q;
        return new Cursor(this, nativeQuery(h(), query.nativeStrings(), query.nativeInts()));
    }

    /** Number of records a query would return (limit and cursor ignored). */
    public synchronized long count(Query q) throws WalkbookException {
        Query query = q == null ? new Query() : q;
        return nativeCount(h(), query.nativeStrings(), query.nativeInts());
    }

    /** Remove acknowledged tombstones older than {@code olderThanMs}; returns
     *  how many. */
    public synchronized long purge(long olderThanMs) throws WalkbookException {
        return nativePurge(h(), olderThanMs);
    }

    /** A parked conflict as JSON: {"id","local","remote","paths":[...]};
     *  ENOTFOUND when the record is not in conflict. */
    public synchronized String conflict(String id) throws WalkbookException {
        return Walkbook.string(nativeConflictGet(h(), Walkbook.utf8(id)));
    }

    /** Resolve a conflict; {@code document} is the data object for
     *  TAKE_DOCUMENT, else null. */
    public synchronized void resolveConflict(String id, Resolution r, String document)
            throws WalkbookException {
        if (r == null) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "resolution: missing");
        }
        nativeConflictResolve(h(), Walkbook.utf8(id), r.value, Walkbook.utf8(document));
    }

    /** A sync of this store's file, on a connection of its own (opened with
     *  this store's options, key included). */
    public Sync newSync(SyncOptions o) throws WalkbookException {
        return new Sync(path, options, o);
    }

    /**
     * Record an interaction with the canvasser's GPS fix and checks: the
     * location, the distance to a cached household (geodesic miles) and the
     * fraud signals are stored with it. {@code options} null: no fix.
     */
    public synchronized String record(String body, RecordOptions options)
            throws WalkbookException {
        RecordOptions o = options == null ? new RecordOptions() : options;
        return Walkbook.string(nativeRecordEx(h(), Walkbook.utf8(body), o.nativeDoubles(),
                                              o.nativeInts(), o.nativeTime()));
    }

    /** The fix, distance, signals and warnings of one interaction. */
    public synchronized String signals(String id) throws WalkbookException {
        return Walkbook.string(nativeSignals(h(), Walkbook.utf8(id)));
    }

    /** Live interactions raising {@code signal} (null: any), as a JSON array. */
    public synchronized String flagged(String signal) throws WalkbookException {
        return Walkbook.string(nativeFlagged(h(), Walkbook.utf8(signal)));
    }

    /** Walk lists, reference data and the breadcrumb track of this store. */
    public WalkLists walkLists() { return new WalkLists(this); }

    /** The native handle for calls made under this store's lock. */
    long handle() throws WalkbookException { return h(); }

    /** Whether {@link #close()} was called. */
    public synchronized boolean isClosed() { return handle == 0; }

    /** Close the store. Safe to call twice. */
    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0;
        nativeFree(h);
    }

    private long h() throws WalkbookException {
        if (handle == 0) {
            throw new WalkbookException(WalkbookException.EINVALID,
                                        WalkbookException.CLASS_INVALID, "store: closed");
        }
        return handle;
    }

    private static native long nativeOpen(byte[] path, int[] ints, long[] longs, byte[] key,
                                          byte[] passphrase) throws WalkbookException;
    private static native void nativeRekey(long h, int[] ints, long[] longs, byte[] key,
                                           byte[] passphrase) throws WalkbookException;
    private static native boolean nativeEncrypted(long h);
    private static native void nativeEncrypt(long h, int[] ints, long[] longs, byte[] key,
                                             byte[] pass) throws WalkbookException;
    private static native void nativeDecrypt(long h) throws WalkbookException;
    private static native void nativeSaveToken(long h, byte[] token) throws WalkbookException;
    private static native byte[] nativeSavedToken(long h) throws WalkbookException;
    private static native byte[] nativeRecordEx(long h, byte[] body, double[] doubles, int[] ints,
                                                byte[] fixTime) throws WalkbookException;
    private static native byte[] nativeSignals(long h, byte[] id) throws WalkbookException;
    private static native byte[] nativeFlagged(long h, byte[] signal) throws WalkbookException;
    private static native byte[] nativeVerifyLog(long h) throws WalkbookException;
    private static native void nativeFree(long h);
    private static native int nativeSchemaVersion(long h);
    private static native void nativeSetIdentity(long h, byte[] customer, byte[] user,
                                                 byte[][] groups) throws WalkbookException;
    private static native byte[] nativeIdentity(long h) throws WalkbookException;
    private static native byte[] nativeStatus(long h) throws WalkbookException;
    private static native byte[] nativeRecord(long h, byte[] body) throws WalkbookException;
    private static native byte[][] nativeRecordBatch(long h, byte[][] bodies)
            throws WalkbookException;
    private static native byte[] nativeGet(long h, byte[] id, boolean includeDeleted)
            throws WalkbookException;
    private static native byte[] nativeSyncInfo(long h, byte[] id) throws WalkbookException;
    private static native void nativeUpdate(long h, byte[] id, byte[] patch)
            throws WalkbookException;
    private static native void nativeDelete(long h, byte[] id) throws WalkbookException;
    private static native long nativeQuery(long h, byte[][] strs, int[] ints)
            throws WalkbookException;
    private static native long nativeCount(long h, byte[][] strs, int[] ints)
            throws WalkbookException;
    private static native long nativePurge(long h, long olderThanMs) throws WalkbookException;
    private static native byte[] nativeConflictGet(long h, byte[] id) throws WalkbookException;
    private static native void nativeConflictResolve(long h, byte[] id, int resolution,
                                                     byte[] document) throws WalkbookException;
}
