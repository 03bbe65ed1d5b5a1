package org.walkbook;

/** Options of {@link Store#open} (walkbook.h {@code wb_store_options}). */
public final class StoreOptions {
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

    /** The int[] the bridge reads (order fixed in wbj_store.c). */
    int[] toNative() {
        int flags = (create ? 0x1 : 0) | (readOnly ? 0x2 : 0);
        return new int[] {flags, busyTimeoutMs, durability == null ? 0 : durability.value, mmapMib};
    }

    static int[] toNative(StoreOptions o) { return o == null ? null : o.toNative(); }
}
