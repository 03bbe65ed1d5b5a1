/*
 * geodesic.h - shortest distance between two points on the WGS84 ellipsoid
 * (the inverse geodesic problem), solved with Karney's method.
 */
#ifndef WB_GEODESIC_H
#define WB_GEODESIC_H

/* WGS84 semi-major axis (metres) and flattening. */
#define WB_GEODESIC__A 6378137.0
#define WB_GEODESIC__F (1.0 / 298.257223563)

/* The international statute mile, in metres (exact). */
#define WB_GEODESIC__METRES_PER_MILE 1609.344

/* Upper bound on the evaluations of the longitude function made while
 * solving for the azimuth: Newton's method gets WB_GEODESIC__NEWTON_ITER of
 * them, bisection of the bracket the rest (53 halvings exhaust a double). */
#define WB_GEODESIC__NEWTON_ITER 20
#define WB_GEODESIC__MAX_ITER 90

/* Geodesic distance in metres between (lat1, lon1) and (lat2, lon2), in
 * degrees. Latitudes must lie in [-90, 90] and longitudes in [-180, 180];
 * otherwise, or for a non-finite argument, WB_EINVALID with a message naming
 * the argument ("lat1", "lng1", "lat2", "lng2"). *out_metres is written only
 * on success. Does not reset the thread's last error. */
int wb_geodesic__inverse(double lat1, double lon1, double lat2, double lon2, double *out_metres);

/* As wb_geodesic__inverse; also reports in *out_iterations (may be NULL) how
 * many times the longitude function was evaluated: 0 for the closed-form
 * cases (coincident, meridional, equatorial, very short), otherwise between
 * 1 and WB_GEODESIC__MAX_ITER. */
int wb_geodesic__inverse_ex(double lat1, double lon1, double lat2, double lon2, double *out_metres,
                            int *out_iterations);

/* Metres to statute miles. */
double wb_geodesic__metres_to_miles(double m);

#endif
