package org.walkbook;

/** Options of a sync (walkbook.h {@code wb_sync_options}). Zero numbers
 *  take the library defaults. */
public final class SyncOptions {
    /** Route version and body shapes of the server. */
    public enum Api {
        V2(0),
        V1(1);

        final int value;

        Api(int value) { this.value = value; }
    }

    /** What happens when a record changed on both sides. */
    public enum Policy {
        /** Three-way merge per JSON Pointer (default). */
        MERGE(0),
        SERVER_WINS(1),
        CLIENT_WINS(2),
        /** Overlapping edits are parked for {@link Store#resolveConflict}. */
        MANUAL(3);

        final int value;

        Policy(int value) { this.value = value; }
    }

    String baseUrl, token, caFile, caPath, proxy;
    Api api = Api.V2;
    Policy policy = Policy.MERGE;
    boolean preferRemote;
    int pageSize, timeoutMs, connectTimeoutMs, maxAttempts, backoffBaseMs, backoffMaxMs;
    boolean pullReference, useSavedToken, sendSignatures;
    int parallel, pullTxnRecords;
    SyncProgressListener progress;
    TokenRefresher tokenRefresher;

    /** Server root, e.g. "https://api.polisapp.com" (required). */
    public SyncOptions baseUrl(String url) { this.baseUrl = url; return this; }

    /** Bearer token (copied, and wiped from native memory after use). */
    public SyncOptions token(String token) { this.token = token; return this; }

    public SyncOptions api(Api api) { this.api = api; return this; }

    public SyncOptions policy(Policy policy) { this.policy = policy; return this; }

    /** Side of fields changed on both sides under MERGE. */
    public SyncOptions preferRemote(boolean b) { this.preferRemote = b; return this; }

    public SyncOptions pageSize(int n) { this.pageSize = n; return this; }

    public SyncOptions timeoutMs(int ms) { this.timeoutMs = ms; return this; }

    public SyncOptions connectTimeoutMs(int ms) { this.connectTimeoutMs = ms; return this; }

    public SyncOptions maxAttempts(int n) { this.maxAttempts = n; return this; }

    public SyncOptions backoffMs(int baseMs, int maxMs) {
        this.backoffBaseMs = baseMs;
        this.backoffMaxMs = maxMs;
        return this;
    }

    /** CA bundle file for TLS (PEM). Needed on Android, where libcurl has no
     *  system bundle: ship one in the app and pass its extracted path. */
    public SyncOptions caFile(String path) { this.caFile = path; return this; }

    /** Directory of hashed CA certificates. */
    public SyncOptions caPath(String path) { this.caPath = path; return this; }

    public SyncOptions proxy(String proxy) { this.proxy = proxy; return this; }

    /** Also pull the walk-list reference data (campaigns, surveys, lists,
     *  contact-households) after the interactions (off by default). */
    public SyncOptions pullReference(boolean b) { this.pullReference = b; return this; }

    /** Use the token saved in the store ({@link Store#saveToken}) instead
     *  of {@link #token}, which must then be unset; a token the
     *  {@link TokenRefresher} gives during a run is saved in its place. */
    public SyncOptions useSavedToken(boolean b) { this.useSavedToken = b; return this; }

    /** Send each create's signed log entry (only to a server configured to
     *  accept it: walkbook-server --accept-signatures). */
    public SyncOptions sendSignatures(boolean b) { this.sendSignatures = b; return this; }

    /** Push connections used at once (1 to 16; 0 = 1). Each record still
     *  goes out exactly once and its own requests in order. */
    public SyncOptions parallel(int connections) { this.parallel = connections; return this; }

    /** Records the pull applies in one transaction (0 = 500, at most
     *  10 000; 1 = a transaction per page). Pages share a transaction only
     *  while the next one is already in: the write lock is never held while
     *  waiting on the network.
     *  @throws IllegalArgumentException when negative */
    public SyncOptions pullTxnRecords(int records) {
        if (records < 0)
            throw new IllegalArgumentException("pullTxnRecords: negative");
        this.pullTxnRecords = records;
        return this;
    }

    public SyncOptions progressListener(SyncProgressListener l) { this.progress = l; return this; }

    public SyncOptions tokenRefresher(TokenRefresher r) { this.tokenRefresher = r; return this; }

    /** The arrays the bridge reads (order fixed in wbj_sync.c). */
    byte[][] nativeStrings() {
        return new byte[][] {
            Walkbook.utf8(baseUrl), Walkbook.utf8(token), Walkbook.utf8(caFile),
            Walkbook.utf8(caPath), Walkbook.utf8(proxy)
        };
    }

    int[] nativeInts() {
        return new int[] {
            api == null ? 0 : api.value, policy == null ? 0 : policy.value, preferRemote ? 1 : 0,
            pageSize, timeoutMs, connectTimeoutMs, maxAttempts, backoffBaseMs, backoffMaxMs,
            progress != null ? 1 : 0, tokenRefresher != null ? 1 : 0, pullReference ? 1 : 0,
            useSavedToken ? 1 : 0, sendSignatures ? 1 : 0, parallel, pullTxnRecords
        };
    }
}
