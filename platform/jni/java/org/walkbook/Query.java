package org.walkbook;

/**
 * A query over interactions (walkbook.h {@code wb_query}). Unset members mean
 * "no constraint"; the default is all live records in time order.
 */
public final class Query {
    /** Sync states, as bits (several may be combined). */
    public static final int STATE_SYNCED = 1;
    public static final int STATE_PENDING_CREATE = 2;
    public static final int STATE_PENDING_UPDATE = 4;
    public static final int STATE_PENDING_DELETE = 8;
    public static final int STATE_CONFLICT = 16;
    public static final int STATE_REJECTED = 32;
    public static final int STATE_PENDING = 2 | 4 | 8;

    /** Order of results. */
    public enum Order {
        /** data.timestamp, then id (default). */
        TIME_ASC(0),
        TIME_DESC(1),
        /** meta.modified, then id. */
        MODIFIED_ASC(2),
        MODIFIED_DESC(3);

        final int value;

        Order(int value) { this.value = value; }
    }

    /** Which tombstones are returned. */
    public enum Deleted {
        EXCLUDE(0),
        INCLUDE(1),
        ONLY(2);

        final int value;

        Deleted(int value) { this.value = value; }
    }

    private String campaignId, contactId, householdId, walklistId, since, until, cursor;
    private int states;
    private Deleted deleted = Deleted.EXCLUDE;
    private Order order = Order.TIME_ASC;
    private int limit;

    public Query campaignId(String id) { this.campaignId = id; return this; }

    public Query contactId(String id) { this.contactId = id; return this; }

    public Query householdId(String id) { this.householdId = id; return this; }

    public Query walklistId(String id) { this.walklistId = id; return this; }

    /** STATE_... bits; 0 = any. */
    public Query states(int states) { this.states = states; return this; }

    public Query deleted(Deleted d) { this.deleted = d; return this; }

    /** timestamp >= since (ISO 8601, inclusive). */
    public Query since(String ts) { this.since = ts; return this; }

    /** timestamp < until (exclusive). */
    public Query until(String ts) { this.until = ts; return this; }

    public Query order(Order o) { this.order = o; return this; }

    /** Page size; 0 = no limit. */
    public Query limit(int limit) { this.limit = limit; return this; }

    /** Continue after the page that {@link Cursor#position()} ended. */
    public Query after(String cursor) { this.cursor = cursor; return this; }

    /** The arrays the bridge reads (order fixed in wbj_store.c). */
    byte[][] nativeStrings() {
        return new byte[][] {
            Walkbook.utf8(campaignId), Walkbook.utf8(contactId), Walkbook.utf8(householdId),
            Walkbook.utf8(walklistId), Walkbook.utf8(since), Walkbook.utf8(until),
            Walkbook.utf8(cursor)
        };
    }

    int[] nativeInts() {
        return new int[] {
            states, deleted == null ? 0 : deleted.value, order == null ? 0 : order.value, limit
        };
    }
}
