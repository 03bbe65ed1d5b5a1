package org.walkbook;

/**
 * Walk lists offline (walkbook.h "Walk lists offline"): the cached
 * reference data a canvasser needs without signal (campaigns, surveys,
 * lists, households, contacts, contact-households), walk-list progress and
 * the next doors to knock, per-campaign fraud-check settings, and the
 * breadcrumb track. Obtained from {@link Store#walkLists()}; calls are
 * serialised with the store's and fail once it is closed.
 */
public final class WalkLists {
    static { Walkbook.load(); }

    /** Reference resources of {@link #upsertReference}. */
    public static final String CAMPAIGNS = "campaigns";
    public static final String SURVEYS = "surveys";
    public static final String LISTS = "lists";
    public static final String HOUSEHOLDS = "households";
    public static final String CONTACTS = "contacts";
    public static final String CONTACT_HOUSEHOLDS = "contact-households";

    private final Store store;

    WalkLists(Store store) { this.store = store; }

    /** Cache (or replace) one reference record: {"id","data","meta"} as the
     *  server returns it; meta.isDeleted true removes it. */
    public void upsertReference(String resource, String envelope) throws WalkbookException {
        synchronized (store) {
            nativeRefUpsert(store.handle(), Walkbook.utf8(resource), Walkbook.utf8(envelope));
        }
    }

    /** One cached reference record's envelope. */
    public String reference(String resource, String id) throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeRefGet(store.handle(), Walkbook.utf8(resource),
                                                Walkbook.utf8(id)));
        }
    }

    /** Every live cached record of a resource, as a JSON array. */
    public String references(String resource) throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeRefList(store.handle(), Walkbook.utf8(resource)));
        }
    }

    /** Import "households" or "contacts" from CSV (with a header row) or a
     *  GeoJSON FeatureCollection, all or nothing; returns how many. */
    public long importReference(String kind, String text) throws WalkbookException {
        synchronized (store) {
            return nativeRefImport(store.handle(), Walkbook.utf8(kind), Walkbook.utf8(text));
        }
    }

    /** Put a cached household on a walk list (idempotent); campaignId may
     *  be null. */
    public void addHousehold(String walklistId, String campaignId, String householdId)
            throws WalkbookException {
        synchronized (store) {
            nativeAddHousehold(store.handle(), Walkbook.utf8(walklistId), Walkbook.utf8(campaignId),
                               Walkbook.utf8(householdId));
        }
    }

    /** Walk lists known to the store: [{"id","name","campaignId","households"}]. */
    public String list() throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeList(store.handle()));
        }
    }

    /** One walk list with its households. */
    public String show(String walklistId) throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeShow(store.handle(), Walkbook.utf8(walklistId)));
        }
    }

    /** {"walklistId","households","knocked","remaining","successful","unavailable"}. */
    public String progress(String walklistId) throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeProgress(store.handle(), Walkbook.utf8(walklistId)));
        }
    }

    /** The {@code k} (1..1000) nearest households not yet knocked, nearest
     *  first: [{"id","address","lat","lng","metres"}]. */
    public String nextDoors(String walklistId, double lat, double lng, int k)
            throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeNext(store.handle(), Walkbook.utf8(walklistId), lat, lng, k));
        }
    }

    /** Set a campaign's thresholds and validation mode from JSON
     *  (nearMetres, farMetres, staleSeconds, poorAccuracyMetres,
     *  maxSpeedMps, validation). */
    public void setCampaignSettings(String campaignId, String json) throws WalkbookException {
        synchronized (store) {
            nativeSettingsSet(store.handle(), Walkbook.utf8(campaignId), Walkbook.utf8(json));
        }
    }

    /** A campaign's effective settings as JSON. */
    public String campaignSettings(String campaignId) throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeSettingsGet(store.handle(), Walkbook.utf8(campaignId)));
        }
    }

    /** Add a fix to the breadcrumb track (time null = now); false when it
     *  was closer than {@code minSpacingM} to the last kept point. */
    public boolean trackAdd(double lat, double lng, double accuracyM, String time, double minSpacingM)
            throws WalkbookException {
        synchronized (store) {
            return nativeTrackAdd(store.handle(), lat, lng, accuracyM, Walkbook.utf8(time),
                                  minSpacingM);
        }
    }

    /** The track between since (inclusive) and until (exclusive), null =
     *  open: {"points","metres","miles","coordinates"}. */
    public String track(String since, String until) throws WalkbookException {
        synchronized (store) {
            return Walkbook.string(nativeTrackGet(store.handle(), Walkbook.utf8(since),
                                                  Walkbook.utf8(until)));
        }
    }

    /** Delete track points older than {@code before} (null: all). */
    public long trackPurge(String before) throws WalkbookException {
        synchronized (store) {
            return nativeTrackPurge(store.handle(), Walkbook.utf8(before));
        }
    }

    private static native void nativeRefUpsert(long h, byte[] resource, byte[] envelope)
            throws WalkbookException;
    private static native byte[] nativeRefGet(long h, byte[] resource, byte[] id)
            throws WalkbookException;
    private static native byte[] nativeRefList(long h, byte[] resource) throws WalkbookException;
    private static native long nativeRefImport(long h, byte[] kind, byte[] text)
            throws WalkbookException;
    private static native void nativeAddHousehold(long h, byte[] walklist, byte[] campaign,
                                                  byte[] household) throws WalkbookException;
    private static native byte[] nativeList(long h) throws WalkbookException;
    private static native byte[] nativeShow(long h, byte[] walklist) throws WalkbookException;
    private static native byte[] nativeProgress(long h, byte[] walklist) throws WalkbookException;
    private static native byte[] nativeNext(long h, byte[] walklist, double lat, double lng, int k)
            throws WalkbookException;
    private static native void nativeSettingsSet(long h, byte[] campaign, byte[] json)
            throws WalkbookException;
    private static native byte[] nativeSettingsGet(long h, byte[] campaign)
            throws WalkbookException;
    private static native boolean nativeTrackAdd(long h, double lat, double lng, double accuracy,
                                                 byte[] time, double minSpacing)
            throws WalkbookException;
    private static native byte[] nativeTrackGet(long h, byte[] since, byte[] until)
            throws WalkbookException;
    private static native long nativeTrackPurge(long h, byte[] before) throws WalkbookException;
}
