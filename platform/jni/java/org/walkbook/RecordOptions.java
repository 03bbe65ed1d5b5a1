package org.walkbook;

/**
 * The canvasser's GPS fix and the checks of {@link Store#record(String,
 * RecordOptions)} (walkbook.h {@code wb_record_options}).
 */
public final class RecordOptions {
    /** How recording checks against the cached reference data. */
    public enum Check {
        /** The campaign's setting, else WARN. */
        DEFAULT(0),
        /** Refuse (EINVALID) what contradicts the cache. */
        STRICT(1),
        /** Record, and store the findings as warnings. */
        WARN(2),
        OFF(3);

        final int value;

        Check(int value) { this.value = value; }
    }

    private boolean hasFix;
    private double lat, lng, accuracyM = -1;
    private String fixTime;
    private Check check = Check.DEFAULT;

    /** The fix in degrees (WGS84), its horizontal accuracy in metres (< 0
     *  unknown) and its Polis timestamp (null unknown). */
    public RecordOptions fix(double lat, double lng, double accuracyM, String time) {
        this.hasFix = true;
        this.lat = lat;
        this.lng = lng;
        this.accuracyM = accuracyM;
        this.fixTime = time;
        return this;
    }

    public RecordOptions check(Check check) { this.check = check; return this; }

    /** The arrays the bridge reads (order fixed in wbj_walklist.c). */
    double[] nativeDoubles() { return new double[] {lat, lng, accuracyM}; }

    int[] nativeInts() { return new int[] {hasFix ? 1 : 0, check == null ? 0 : check.value}; }

    byte[] nativeTime() { return Walkbook.utf8(fixTime); }
}
