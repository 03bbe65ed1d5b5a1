package org.walkbook;

/**
 * Options of {@link Store#open} (walkbook.h {@code wb_store_options}),
 * encryption at rest included: a 32-byte key from the Android Keystore, or a
 * passphrase. The options keep copies of the key and passphrase (a Store
 * keeps its options for {@link Store#newSync}); {@link #wipe()} zeroes them.
 */
public final class StoreOptions {
    /** Encryption at rest (walkbook.h {@code wb_encryption}). */
    public enum Encryption {
        /** A new store is encrypted when a key or passphrase is given; an
         *  existing store is what it was created as (default). */
        DEFAULT(0),
        /** Refuse (EKEY) to create or open a store that is not encrypted. */
        REQUIRED(1),
        /** Explicitly plain: no key may be given. */
        NONE(2);

        final int value;

        Encryption(int value) { this.value = value; }
    }

    /** Bytes of a store key. */
    public static final int KEY_BYTES = 32;

    /** Durability of each commit. */
    public enum Durability {
        /** fsync every commit: survives power loss (default). */
        FULL(0),
        /** survives a killed process; may lose the last commits on power loss. */
        NORMAL(1);

        final int value;

        Durability(int value) { this.value = value; }
    }

    private boolean create = true;
    private boolean readOnly;
    private int busyTimeoutMs = 5000;
    private Durability durability = Durability.FULL;
    private int mmapMib = 256;
    private Encryption encryption = Encryption.DEFAULT;
    private byte[] key;
    private char[] passphrase;
    private long kdfOpsLimit, kdfMemLimit;

    /** Create the file if it is missing (default true). */
    public StoreOptions create(boolean create) { this.create = create; return this; }

    /** Open without write access. */
    public StoreOptions readOnly(boolean readOnly) { this.readOnly = readOnly; return this; }

    /** How long to wait for another writer (default 5000 ms). */
    public StoreOptions busyTimeoutMs(int ms) { this.busyTimeoutMs = ms; return this; }

    public StoreOptions durability(Durability d) { this.durability = d; return this; }

    /** Memory-map up to this many MiB for reads (default 256; 0 = off,
     *  e.g. for 32-bit devices). */
    public StoreOptions mmapMib(int mib) { this.mmapMib = mib; return this; }

    public StoreOptions encryption(Encryption e) { this.encryption = e; return this; }

    /** The store key ({@link #KEY_BYTES} bytes; copied). Null: none. */
    public StoreOptions key(byte[] key) {
        wipeKey();
        this.key = key == null ? null : key.clone();
        return this;
    }

    /** A passphrase instead of a key (copied; stretched with Argon2id). */
    public StoreOptions passphrase(char[] passphrase) {
        wipePassphrase();
        this.passphrase = passphrase == null ? null : passphrase.clone();
        return this;
    }

    /** Argon2id cost for a new passphrase (0: libsodium's "interactive"). */
    public StoreOptions kdfLimits(long opsLimit, long memLimitBytes) {
        this.kdfOpsLimit = opsLimit;
        this.kdfMemLimit = memLimitBytes;
        return this;
    }

    /** Zero the copies of the key and passphrase these options hold. */
    public void wipe() {
        wipeKey();
        wipePassphrase();
    }

    private void wipeKey() {
        if (key != null) {
            java.util.Arrays.fill(key, (byte) 0);
            key = null;
        }
    }

    private void wipePassphrase() {
        if (passphrase != null) {
            java.util.Arrays.fill(passphrase, '\0');
            passphrase = null;
        }
    }

    /** The arrays the bridge reads (order fixed in wbj_store.c). */
    int[] nativeInts() {
        int flags = (create ? 0x1 : 0) | (readOnly ? 0x2 : 0);
        return new int[] {
            flags, busyTimeoutMs, durability == null ? 0 : durability.value, mmapMib,
            encryption == null ? 0 : encryption.value
        };
    }

    long[] nativeLongs() { return new long[] {kdfOpsLimit, kdfMemLimit}; }

    byte[] nativeKey() { return key; }

    /** The passphrase as UTF-8 in a new array: the caller wipes it. */
    byte[] nativePassphrase() {
        if (passphrase == null) {
            return null;
        }
        return Walkbook.utf8Secret(passphrase);
    }

    static void wipe(byte[] b) {
        if (b != null) {
            java.util.Arrays.fill(b, (byte) 0);
        }
    }
}
