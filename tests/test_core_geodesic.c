/* test_core_geodesic.c - WGS84 geodesic distance against GeographicLib's
 * reference values (testdata/geodesic/wgs84_inverse.csv), the Polis example
 * distance, special positions and argument checks. */
#include "common.h"
#include "geodesic.h"
#include "wbtest.h"

/* Rows of wgs84_inverse.csv (see its README): 4,257 data rows; the nearly
 * antipodal block is lines 4134-4208 of the file (line 1 is the header). */
#define CSV_ROWS 4257
#define ANTIPODAL_FIRST_LINE 4134
#define ANTIPODAL_LAST_LINE 4208
#define ANTIPODAL_ROWS (ANTIPODAL_LAST_LINE - ANTIPODAL_FIRST_LINE + 1)

#define TOL_METRES 1e-3       /* every row outside the antipodal block */
#define TOL_ANTIPODAL 0.005   /* relative, antipodal block */
#define TOL_MILES_COLUMN 1e-9 /* metres_to_miles(meters) versus the miles column */

/* Half a meridian (pole to pole) and a quarter (pole to equator), from the
 * reference file. */
#define POLE_TO_POLE 20003931.458625447
#define POLE_TO_EQUATOR 10001965.729312724

#define DEG (3.14159265358979323846 / 180.0)

static double distance(double lat1, double lng1, double lat2, double lng2)
{
    double m = -1.0;
    if (wb_geodesic_distance(&m, lat1, lng1, lat2, lng2) != 0)
        return -1.0;
    return m;
}

/* The blocks of the reference file (its README), by line number. */
static const struct {
    int first, last;
    const char *name;
} blocks[] = {
    {2, 2001, "random worldwide"},   {2002, 4001, "door-knocking 0-2 km"},
    {4002, 4020, "identical points"}, {4021, 4049, "antimeridian"},
    {4050, 4099, "near poles"},       {4100, 4116, "exact poles"},
    {4117, 4133, "equator"},          {4134, 4208, "nearly antipodal"},
    {4209, 4258, "very small separations"},
};
#define N_BLOCKS (sizeof(blocks) / sizeof(blocks[0]))

/* Every row of the reference file: the targets of the task, plus symmetry
 * and a bound on the work done. */
static void test_core_geodesic__reference_csv(void)
{
    char path[1024];
    size_t len = 0;
    char *text, *p;
    char problem[512] = "";
    int line = 1, rows = 0, anti_rows = 0, max_iter = 0, max_iter_anti = 0;
    int worst_line = 0, worst_anti_line = 0;
    double max_err = 0.0, max_anti_rel = 0.0, max_anti_err = 0.0, max_sym = 0.0;
    double block_err[N_BLOCKS] = {0};
    int block_line[N_BLOCKS] = {0}, block_rows[N_BLOCKS] = {0};

    snprintf(path, sizeof(path), "%s/geodesic/wgs84_inverse.csv", wbt_testdata());
    text = wbt_read_file(path, &len);
    if (!text)
        WBT_FAIL("cannot read %s", path);
    p = strchr(text, '\n');
    if (!p || strncmp(text, "lat1,lng1,lat2,lng2,meters,miles", 32) != 0) {
        free(text);
        WBT_FAIL("unexpected header in %s", path);
    }
    p++;

    while (*p && !problem[0]) {
        double v[6], got = -1.0, back = -1.0, err;
        int k, iter = -1, rc, rc2;
        char *end = p;
        line++;
        for (k = 0; k < 6; k++) {
            v[k] = strtod(end, &end);
            if (*end != (k < 5 ? ',' : '\n'))
                break;
            end++;
        }
        if (k < 6) {
            snprintf(problem, sizeof(problem), "line %d: cannot parse", line);
            break;
        }
        p = end;
        rows++;

        rc = wb_geodesic__inverse_ex(v[0], v[1], v[2], v[3], &got, &iter);
        rc2 = wb_geodesic__inverse(v[2], v[3], v[0], v[1], &back);
        if (rc != 0 || rc2 != 0) {
            snprintf(problem, sizeof(problem), "line %d: returned %d/%d", line, rc, rc2);
            break;
        }
        if (!isfinite(got)) {
            snprintf(problem, sizeof(problem), "line %d: not finite", line);
            break;
        }
        if (iter < 0 || iter >= WB_GEODESIC__MAX_ITER) {
            snprintf(problem, sizeof(problem), "line %d: %d iterations (bound %d)", line, iter,
                     WB_GEODESIC__MAX_ITER);
            break;
        }
        if (iter > max_iter)
            max_iter = iter;
        if (fabs(got - back) > max_sym)
            max_sym = fabs(got - back);
        if (fabs(wb_geodesic__metres_to_miles(v[4]) - v[5]) > TOL_MILES_COLUMN) {
            snprintf(problem, sizeof(problem), "line %d: %.12f m is %.12f mi, file says %.12f",
                     line, v[4], wb_geodesic__metres_to_miles(v[4]), v[5]);
            break;
        }

        err = fabs(got - v[4]);
        for (size_t b = 0; b < N_BLOCKS; b++) {
            if (line >= blocks[b].first && line <= blocks[b].last) {
                block_rows[b]++;
                if (err >= block_err[b]) {
                    block_err[b] = err;
                    block_line[b] = line;
                }
            }
        }
        if (line >= ANTIPODAL_FIRST_LINE && line <= ANTIPODAL_LAST_LINE) {
            double rel = err / v[4];
            anti_rows++;
            if (iter > max_iter_anti)
                max_iter_anti = iter;
            if (err > max_anti_err)
                max_anti_err = err;
            if (rel > max_anti_rel) {
                max_anti_rel = rel;
                worst_anti_line = line;
            }
            if (!(rel <= TOL_ANTIPODAL))
                snprintf(problem, sizeof(problem),
                         "line %d (antipodal): %.9f m, expected %.9f (relative error %.3g)", line,
                         got, v[4], rel);
        } else {
            if (err > max_err) {
                max_err = err;
                worst_line = line;
            }
            if (!(err <= TOL_METRES))
                snprintf(problem, sizeof(problem), "line %d: %.9f m, expected %.9f (error %.3g m)",
                         line, got, v[4], err);
        }
    }
    free(text);
    if (problem[0])
        WBT_FAIL("%s", problem);

    printf("    %d rows (%d nearly antipodal)\n", rows, anti_rows);
    printf("    worst error per block (line 1 is the header):\n");
    for (size_t b = 0; b < N_BLOCKS; b++)
        printf("      %-24s lines %4d-%4d (%4d rows): %.6f mm (line %d)\n", blocks[b].name,
               blocks[b].first, blocks[b].last, block_rows[b], block_err[b] * 1e3, block_line[b]);
    printf("    normal rows: max error %.6f mm (line %d)\n", max_err * 1e3, worst_line);
    printf("    antipodal rows: max relative error %.3g (%.6f mm, line %d)\n", max_anti_rel,
           max_anti_err * 1e3, worst_anti_line);
    printf("    iterations: max %d overall, %d antipodal (bound %d); swap asymmetry %.3g m\n",
           max_iter, max_iter_anti, WB_GEODESIC__MAX_ITER, max_sym);
    WBT_ASSERT_INT(rows, CSV_ROWS);
    WBT_ASSERT_INT(anti_rows, ANTIPODAL_ROWS);
    for (size_t b = 0; b < N_BLOCKS; b++)
        WBT_ASSERT_INT(block_rows[b], blocks[b].last - blocks[b].first + 1);
    /* Swapping the points gives the same geodesic. */
    WBT_ASSERT(max_sym <= 1e-6);
}

/* polis-api.md 2.4: the v2 example's canvasser location and the usual
 * household coordinates, on the WGS84 ellipsoid, are 936.23603 statute
 * miles apart (the figure 2.4 derives with Vincenty); the example response
 * says 936.2361. Note that 936.23603 rounds to 936.2360, not 936.2361: the
 * example is 0.000017 mi (2.7 cm) further than any faithful WGS84 geodesic
 * (GeographicLib and Vincenty agree to well under 1 mm here), and storing
 * the coordinates as floats does not explain it either. So this test pins
 * the geodesic value and checks that it agrees with the example to within
 * one unit of its last decimal, while a sphere (935.71-935.77) is 0.5 mi
 * off: haversine would fail here. */
static void test_core_geodesic__polis_example(void)
{
    double m = 0.0, miles, hav_miles, dphi, dlam, a;
    char text[32];
    const double lat1 = 33.43174362182617, lng1 = -84.18405151367188;
    const double lat2 = 42.3795514, lng2 = -71.2525621;

    WBT_OK(wb_geodesic_distance(&m, lat1, lng1, lat2, lng2));
    miles = wb_metres_to_miles(m);
    printf("    %.9f m = %.9f mi\n", m, miles);
    WBT_ASSERT(fabs(miles - 936.23603) < 5e-6);
    WBT_ASSERT(fabs(miles - 936.2361) < 1e-4);
    snprintf(text, sizeof(text), "%.4f", miles);
    WBT_ASSERT_STR(text, "936.2360");

    /* The same pair by haversine (mean radius 6371008.8 m). */
    dphi = (lat2 - lat1) * DEG;
    dlam = (lng2 - lng1) * DEG;
    a = sin(dphi / 2.0) * sin(dphi / 2.0) +
        cos(lat1 * DEG) * cos(lat2 * DEG) * sin(dlam / 2.0) * sin(dlam / 2.0);
    hav_miles = 2.0 * 6371008.8 * atan2(sqrt(a), sqrt(1.0 - a)) / 1609.344;
    WBT_ASSERT(hav_miles > 935.7 && hav_miles < 935.8);
    WBT_ASSERT(fabs(miles - hav_miles) > 0.4);
}

static void test_core_geodesic__miles(void)
{
    WBT_ASSERT(wb_metres_to_miles(1609.344) == 1.0);
    WBT_ASSERT(wb_metres_to_miles(0.0) == 0.0);
    WBT_ASSERT(fabs(wb_metres_to_miles(10000.0) - 6.213711922373339) < 1e-12);
    WBT_ASSERT(wb_geodesic__metres_to_miles(3218.688) == 2.0);
}

static void test_core_geodesic__identical_points(void)
{
    static const double pts[][2] = {{0.0, 0.0},
                                    {42.3795514, -71.2525621},
                                    {-33.9, 151.2},
                                    {89.9999999, 10.0},
                                    {-89.9999999, -170.0},
                                    {90.0, 0.0},
                                    {-90.0, 45.0},
                                    {12.5, 180.0},
                                    {-12.5, -180.0}};
    for (size_t i = 0; i < WB__ARRAY_SIZE(pts); i++) {
        double m = -1.0;
        int iter = -1;
        WBT_OK(wb_geodesic_distance(&m, pts[i][0], pts[i][1], pts[i][0], pts[i][1]));
        if (m != 0.0)
            WBT_FAIL("(%g, %g) to itself: %.17g m", pts[i][0], pts[i][1], m);
        WBT_OK(wb_geodesic__inverse_ex(pts[i][0], pts[i][1], pts[i][0], pts[i][1], &m, &iter));
        WBT_ASSERT(m == 0.0);
        WBT_ASSERT_INT(iter, 0); /* closed form, no iteration */
    }
}

static void test_core_geodesic__poles(void)
{
    /* A pole written with different longitudes is one point. */
    WBT_ASSERT(distance(90.0, 0.0, 90.0, 123.0) == 0.0);
    WBT_ASSERT(distance(-90.0, -180.0, -90.0, 180.0) == 0.0);
    WBT_ASSERT(distance(-90.0, 17.0, -90.0, -95.5) == 0.0);
    /* Pole to pole and pole to equator, whatever the longitudes. */
    WBT_ASSERT(fabs(distance(90.0, 0.0, -90.0, 0.0) - POLE_TO_POLE) < 1e-6);
    WBT_ASSERT(fabs(distance(-90.0, 30.0, 90.0, -150.0) - POLE_TO_POLE) < 1e-6);
    WBT_ASSERT(fabs(distance(90.0, 0.0, 0.0, 0.0) - POLE_TO_EQUATOR) < 1e-6);
    WBT_ASSERT(fabs(distance(0.0, 77.0, -90.0, -10.0) - POLE_TO_EQUATOR) < 1e-6);
    /* Across the pole: 89 N on opposite meridians is 2 degrees of meridian
     * at the pole, the same as 89 N to 89 N through the pole's side. */
    {
        double over = distance(89.0, 0.0, 89.0, 180.0);
        double along = distance(89.0, 0.0, 90.0, 0.0);
        WBT_ASSERT(over > 0.0);
        WBT_ASSERT(fabs(over - 2.0 * along) < 1e-6);
    }
}

static void test_core_geodesic__equator(void)
{
    const double quarter = WB_GEODESIC__A * DEG * 90.0;
    /* Along the equator the distance is a * dlon while the path stays on it. */
    WBT_ASSERT(fabs(distance(0.0, 0.0, 0.0, 90.0) - quarter) < 1e-6);
    WBT_ASSERT(fabs(distance(0.0, -45.0, 0.0, 45.0) - 10018754.171394622) < 1e-6);
    WBT_ASSERT(fabs(distance(0.0, 0.0, 0.0, -120.0) - 13358338.895192828) < 1e-6);
    /* Opposite points on the equator: the shortest path is over a pole. */
    WBT_ASSERT(fabs(distance(0.0, 0.0, 0.0, 180.0) - POLE_TO_POLE) < 1e-6);
    WBT_ASSERT(fabs(distance(0.0, 90.0, 0.0, -90.0) - POLE_TO_POLE) < 1e-6);
    /* Past 180 (1 - f) degrees the path leaves the equator and is shorter
     * than the equatorial arc. */
    WBT_ASSERT(distance(0.0, 0.0, 0.0, 179.5) < WB_GEODESIC__A * DEG * 179.5);
    WBT_ASSERT(fabs(distance(0.0, 0.0, 0.0, 179.5) - 19980861.908890963) < 1e-6);
    WBT_ASSERT(fabs(distance(0.0, 0.0, 0.0, 179.3) - 19959584.699233953) < 1e-6);
}

static void test_core_geodesic__date_line(void)
{
    const double lats[] = {0.0, 45.0, -70.0, 89.5};
    for (size_t i = 0; i < WB__ARRAY_SIZE(lats); i++) {
        double m = -1.0;
        WBT_OK(wb_geodesic_distance(&m, lats[i], -180.0, lats[i], 180.0));
        WBT_ASSERT(m == 0.0);
        /* 0.2 degrees across the line, not 359.8 degrees the long way. */
        WBT_OK(wb_geodesic_distance(&m, lats[i], 179.9, lats[i], -179.9));
        WBT_ASSERT(m > 0.0 && m < 22300.0);
        WBT_ASSERT(fabs(m - distance(lats[i], -0.1, lats[i], 0.1)) < 1e-6);
    }
    WBT_ASSERT(fabs(distance(0.0, 179.9, 0.0, -179.9) - WB_GEODESIC__A * DEG * 0.2) < 1e-6);
}

static void test_core_geodesic__invalid_arguments(void)
{
    double m = 1234.5;
    /* Casts: NAN and INFINITY are float constants (clang's -Wdouble-promotion). */
    const double nan = (double)NAN, inf = (double)INFINITY;
    double *no_out = NULL; /* a variable: clang knows the header's nonnull */

    WBT_FAILS(wb_geodesic_distance(&m, nan, 0.0, 0.0, 0.0), WB_EINVALID, "lat1");
    WBT_ASSERT(wb_error_last()->klass == WB_ERRCLASS_INVALID);
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, nan, 0.0, 0.0), WB_EINVALID, "lng1");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 0.0, nan, 0.0), WB_EINVALID, "lat2");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 0.0, 0.0, nan), WB_EINVALID, "lng2");
    WBT_FAILS(wb_geodesic_distance(&m, inf, 0.0, 0.0, 0.0), WB_EINVALID, "lat1: must be a finite");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, -inf, 0.0, 0.0), WB_EINVALID, "lng1");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 0.0, -inf, 0.0), WB_EINVALID, "lat2");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 0.0, 0.0, inf), WB_EINVALID, "lng2");
    WBT_FAILS(wb_geodesic_distance(&m, 91.0, 0.0, 0.0, 0.0), WB_EINVALID,
              "lat1: must be between -90 and 90");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 0.0, -90.000001, 0.0), WB_EINVALID,
              "lat2: must be between -90 and 90");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 181.0, 0.0, 0.0), WB_EINVALID,
              "lng1: must be between -180 and 180");
    WBT_FAILS(wb_geodesic_distance(&m, 0.0, 0.0, 0.0, -180.0001), WB_EINVALID,
              "lng2: must be between -180 and 180");
    WBT_FAILS(wb_geodesic_distance(no_out, 0.0, 0.0, 0.0, 0.0), WB_EINVALID, "out_metres");
    /* The output is left alone on failure. */
    WBT_ASSERT(m == 1234.5);
    /* The internal entry point reports the same way. */
    WBT_ASSERT_INT(wb_geodesic__inverse(0.0, 0.0, 0.0, 200.0, &m), WB_EINVALID);
    WBT_ASSERT_CONTAINS(wb_error_last()->message, "lng2");

    /* A good call clears the previous error. */
    WBT_OK(wb_geodesic_distance(&m, 0.0, 0.0, 0.0, 1.0));
    WBT_ASSERT(wb_error_last() == NULL);
    /* The limits themselves are accepted. */
    WBT_OK(wb_geodesic_distance(&m, 90.0, -180.0, -90.0, 180.0));
    WBT_ASSERT(fabs(m - POLE_TO_POLE) < 1e-6);
}

/* Exact and nearly antipodal points come back finite, correct and after a
 * bounded number of evaluations (no pass/fail timing: the work is counted). */
static void test_core_geodesic__antipodal_bounded(void)
{
    static const double pts[][2] = {{0.0, 0.0},  {30.0, 0.0},    {-45.0, 60.0},    {0.5, 179.5},
                                    {1e-9, 0.0}, {60.0, -150.0}, {-0.0000001, 0.0}};
    for (size_t i = 0; i < WB__ARRAY_SIZE(pts); i++) {
        double lat = pts[i][0], lng = pts[i][1];
        double alng = lng > 0.0 ? lng - 180.0 : lng + 180.0;
        for (int d = 0; d < 5; d++) {
            /* the antipode, then points 1e-6 to 1e-3 degrees from it */
            double off = d == 0 ? 0.0 : pow(10.0, -7.0 + d);
            double m = -1.0;
            int iter = -1;
            WBT_OK(wb_geodesic__inverse_ex(lat, lng, -lat + off, alng - off, &m, &iter));
            WBT_ASSERT(isfinite(m));
            WBT_ASSERT(m > 19900000.0 && m <= POLE_TO_POLE + 1e-6);
            WBT_ASSERT(iter >= 0 && iter < WB_GEODESIC__MAX_ITER);
        }
    }
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_geodesic__reference_csv),
    WBT_CASE(test_core_geodesic__polis_example),
    WBT_CASE(test_core_geodesic__miles),
    WBT_CASE(test_core_geodesic__identical_points),
    WBT_CASE(test_core_geodesic__poles),
    WBT_CASE(test_core_geodesic__equator),
    WBT_CASE(test_core_geodesic__date_line),
    WBT_CASE(test_core_geodesic__invalid_arguments),
    WBT_CASE(test_core_geodesic__antipodal_bounded),
};

WBT_MAIN(cases, NULL, NULL)
