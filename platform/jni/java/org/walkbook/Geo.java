package org.walkbook;

/** Geodesy on the WGS84 ellipsoid (Karney's method). */
public final class Geo {
    static { Walkbook.load(); }

    private Geo() {}

    /**
     * Geodesic distance in metres between two points in degrees.
     * @throws WalkbookException EINVALID naming the argument out of range or
     *         not finite
     */
    public static double distance(double lat1, double lng1, double lat2, double lng2)
            throws WalkbookException {
        return nativeDistance(lat1, lng1, lat2, lng2);
    }

    /** Metres to statute miles. */
    public static native double metresToMiles(double metres);

    private static native double nativeDistance(double lat1, double lng1, double lat2, double lng2)
            throws WalkbookException;
}
