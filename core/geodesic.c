/*
 * geodesic.c - distance on the WGS84 ellipsoid (the inverse geodesic
 * problem), written from C. F. F. Karney, "Algorithms for geodesics",
 * J. Geodesy 87, 43-55 (2013), doi:10.1007/s00190-012-0578-z.
 *
 * Why not Vincenty: his inverse iteration does not converge for nearly
 * antipodal points, and a canvassing app must never hang or return NaN.
 * Why not haversine: a sphere is up to 0.56 % off, which is metres at the
 * door and breaks the four-decimal miles the Polis server reports.
 *
 * Outline (equation numbers are the paper's):
 *  - The geodesic is mapped onto an auxiliary sphere: reduced latitude beta
 *    (tan beta = (1-f) tan phi), arc length sigma and spherical longitude
 *    omega. Distance and longitude are integrals along the great circle,
 *    evaluated as Fourier series in sigma whose coefficients are series in
 *    eps = (sqrt(1+k^2) - 1) / (sqrt(1+k^2) + 1), k^2 = e'^2 cos^2 alpha0,
 *    here to order 6, which is good to about 15 nm for WGS84.
 *  - The unknown is the azimuth alpha1 at the first point: it is chosen so
 *    that the longitude reached at the second point's latitude equals the
 *    given longitude difference. Newton's method on alpha1 uses the
 *    derivative d(lambda12)/d(alpha1) = m12 / (a cos alpha2 cos beta2),
 *    with the reduced length m12 from the same series; a bracket of alpha1
 *    is kept and halved whenever a Newton step would leave it, so the
 *    number of evaluations is bounded (WB_GEODESIC__MAX_ITER).
 *  - The starting guess is the spherical azimuth, with the mean
 *    latitude's scale for short lines; for nearly antipodal points it comes
 *    from the solution of an astroid equation, where the spherical guess
 *    would send Newton the wrong way.
 *  - Meridional and equatorial geodesics, and extremely short lines, have
 *    closed forms and skip the iteration.
 *
 * Inputs are first reduced by symmetry so that lat1 <= 0, |lat2| <= |lat1|
 * and the longitude difference lies in [0, 180]; the distance does not
 * change under these reflections and swaps. Angles in degrees are reduced
 * exactly to [-45, 45] before conversion, so that 90 and 180 give exact
 * sines and cosines (the special cases depend on exact zeros).
 *
 * Pure computation: no allocation, no globals; any thread.
 */
#include <float.h>
#include <math.h>

#include "common.h"
#include "geodesic.h"

#define GEO_PI 3.14159265358979323846
#define GEO_DEG (GEO_PI / 180.0)

/* Series order: 6 terms in the distance and reduced-length series, 5 in the
 * longitude series. */
#define GEO_ORDER 6

/* Ellipsoid constants (all constant expressions). */
#define GEO_A WB_GEODESIC__A
#define GEO_F WB_GEODESIC__F
#define GEO_F1 (1.0 - GEO_F)                 /* b / a */
#define GEO_B (GEO_A * GEO_F1)               /* semi-minor axis */
#define GEO_E2 (GEO_F * (2.0 - GEO_F))       /* first eccentricity squared */
#define GEO_EP2 (GEO_E2 / (GEO_F1 * GEO_F1)) /* second eccentricity squared */
#define GEO_N (GEO_F / (2.0 - GEO_F))        /* third flattening */

/* Tolerances. TINY keeps cos(beta) positive at the poles without affecting
 * sums with numbers of order 1; TOL2 = sqrt(DBL_EPSILON) = 2^-26. */
#define GEO_TINY 1.4916681462400413e-154 /* sqrt(DBL_MIN) = 2^-511 */
#define GEO_TOL0 DBL_EPSILON
#define GEO_TOL1 (200.0 * GEO_TOL0)
#define GEO_TOL2 1.4901161193847656e-08
#define GEO_TOLB (GEO_TOL0 * GEO_TOL2)
#define GEO_XTHRESH (1000.0 * GEO_TOL2)

/* Trigonometric state of the two end points after the symmetry reduction. */
typedef struct geo_ends {
    double sbet1, cbet1, dn1; /* reduced latitude of point 1; dn = sqrt(1+e'^2 sin^2 beta) */
    double sbet2, cbet2, dn2;
    double lam12, slam12, clam12; /* longitude difference, radians, in [0, pi] */
} geo_ends;

/* The great circle on the auxiliary sphere for one trial azimuth. */
typedef struct geo_arc {
    double sig12;        /* arc length, radians, in [0, pi] */
    double ssig1, csig1; /* sigma at point 1 (from the northward equator crossing) */
    double ssig2, csig2;
    double eps; /* expansion parameter of this geodesic */
} geo_arc;

static double geo_sq(double x)
{
    return x * x;
}

static void geo_norm(double *s, double *c)
{
    double r = hypot(*s, *c);
    *s /= r;
    *c /= r;
}

/* Error-free sum: u + v == s + *err exactly (Knuth's two-sum). */
static double geo_two_sum(double u, double v, double *err)
{
    double s = u + v;
    double u1 = s - v;
    double v1 = s - u1;
    *err = (u - u1) + (v - v1);
    return s;
}

/* Sine and cosine of an angle in degrees, reduced exactly to [-45, 45]
 * first: sin(180) is exactly 0 and cos(90) exactly 0. */
static void geo_sincosd(double deg, double *sinx, double *cosx)
{
    int quo = 0;
    double r = remquo(deg, 90.0, &quo) * GEO_DEG;
    double s = sin(r), c = cos(r);
    switch ((unsigned)quo & 3u) {
    case 0u:
        *sinx = s;
        *cosx = c;
        break;
    case 1u:
        *sinx = c;
        *cosx = -s;
        break;
    case 2u:
        *sinx = -s;
        *cosx = -c;
        break;
    default:
        *sinx = -c;
        *cosx = s;
        break;
    }
    /* Turn -0 into +0 so that sign tests below see a true zero. */
    *sinx += 0.0;
    *cosx += 0.0;
}

/* sum_{l=1..n} c[l] sin(2 l sigma), given sin and cos of sigma, by
 * Clenshaw's recurrence on sin(2 l sigma). c[0] is not used. */
static double geo_sin_series(double ssig, double csig, const double *c, int n)
{
    double two_cos2 = 2.0 * (csig - ssig) * (csig + ssig); /* 2 cos(2 sigma) */
    double b1 = 0.0, b2 = 0.0;
    for (int l = n; l >= 1; l--) {
        double b0 = c[l] + two_cos2 * b1 - b2;
        b2 = b1;
        b1 = b0;
    }
    return 2.0 * ssig * csig * b1; /* sin(2 sigma) * b1 */
}

/* ---- series coefficients (Karney 2013; 6th order) ------------------------ */

/* A1 - 1, where A1 = (1 + eps^2/4 + eps^4/64 + eps^6/256) / (1 - eps). */
static double geo_a1m1(double eps)
{
    double e2 = eps * eps;
    double t = e2 * (1.0 / 4.0 + e2 * (1.0 / 64.0 + e2 * (1.0 / 256.0)));
    return (t + eps) / (1.0 - eps);
}

/* C1[l], l = 1..6: distance integral I1. */
static void geo_c1(double eps, double c[GEO_ORDER + 1])
{
    double e2 = eps * eps, e3 = e2 * eps, e4 = e2 * e2, e5 = e4 * eps, e6 = e4 * e2;
    c[0] = 0.0;
    c[1] = -eps / 2.0 + 3.0 * e3 / 16.0 - e5 / 32.0;
    c[2] = -e2 / 16.0 + e4 / 32.0 - 9.0 * e6 / 2048.0;
    c[3] = -e3 / 48.0 + 3.0 * e5 / 256.0;
    c[4] = -5.0 * e4 / 512.0 + 3.0 * e6 / 512.0;
    c[5] = -7.0 * e5 / 1280.0;
    c[6] = -7.0 * e6 / 2048.0;
}

/* A2 - 1, where A2 = (1 - eps)(1 + eps^2/4 + 9 eps^4/64 + 25 eps^6/256),
 * written as (1 - 3/4 eps^2 - 7/64 eps^4 - 11/256 eps^6) / (1 + eps) - 1. */
static double geo_a2m1(double eps)
{
    double e2 = eps * eps;
    double t = -e2 * (3.0 / 4.0 + e2 * (7.0 / 64.0 + e2 * (11.0 / 256.0)));
    return (t - eps) / (1.0 + eps);
}

/* C2[l], l = 1..6: integral I2 of the reduced length. */
static void geo_c2(double eps, double c[GEO_ORDER + 1])
{
    double e2 = eps * eps, e3 = e2 * eps, e4 = e2 * e2, e5 = e4 * eps, e6 = e4 * e2;
    c[0] = 0.0;
    c[1] = eps / 2.0 + e3 / 16.0 + e5 / 32.0;
    c[2] = 3.0 * e2 / 16.0 + e4 / 32.0 + 35.0 * e6 / 2048.0;
    c[3] = 5.0 * e3 / 48.0 + 5.0 * e5 / 256.0;
    c[4] = 35.0 * e4 / 512.0 + 7.0 * e6 / 512.0;
    c[5] = 63.0 * e5 / 1280.0;
    c[6] = 77.0 * e6 / 2048.0;
}

/* A3 (longitude integral I3), a series in eps with coefficients in n. */
static double geo_a3(double eps)
{
    const double n = GEO_N, n2 = GEO_N * GEO_N;
    double k1 = 0.5 - n / 2.0;
    double k2 = 0.25 + n / 8.0 - 3.0 * n2 / 8.0;
    double k3 = 1.0 / 16.0 + 3.0 * n / 16.0 + n2 / 16.0;
    double k4 = 3.0 / 64.0 + n / 32.0;
    double k5 = 3.0 / 128.0;
    return 1.0 - eps * (k1 + eps * (k2 + eps * (k3 + eps * (k4 + eps * k5))));
}

/* C3[l], l = 1..5. */
static void geo_c3(double eps, double c[GEO_ORDER])
{
    const double n = GEO_N, n2 = GEO_N * GEO_N;
    double e2 = eps * eps, e3 = e2 * eps, e4 = e2 * e2, e5 = e4 * eps;
    c[0] = 0.0;
    c[1] = (0.25 - n / 4.0) * eps + (1.0 / 8.0 - n2 / 8.0) * e2 +
           (3.0 / 64.0 + 3.0 * n / 64.0 - n2 / 64.0) * e3 + (5.0 / 128.0 + n / 64.0) * e4 +
           3.0 / 128.0 * e5;
    c[2] = (1.0 / 16.0 - 3.0 * n / 32.0 + n2 / 32.0) * e2 +
           (3.0 / 64.0 - n / 32.0 - 3.0 * n2 / 64.0) * e3 + (3.0 / 128.0 + n / 128.0) * e4 +
           5.0 / 256.0 * e5;
    c[3] = (5.0 / 192.0 - 3.0 * n / 64.0 + 5.0 * n2 / 192.0) * e3 +
           (3.0 / 128.0 - 5.0 * n / 192.0) * e4 + 7.0 / 512.0 * e5;
    c[4] = (7.0 / 512.0 - 7.0 * n / 256.0) * e4 + 7.0 / 512.0 * e5;
    c[5] = 21.0 / 2560.0 * e5;
}

/* eps from k^2 = e'^2 cos^2 alpha0, in a form without cancellation. */
static double geo_eps(double k2)
{
    return k2 / (2.0 * (1.0 + sqrt(1.0 + k2)) + k2);
}

/* Distance and reduced length along an arc, both divided by b. Either
 * output may be NULL. */
static void geo_lengths(const geo_arc *arc, double dn1, double dn2, double *s12b, double *m12b)
{
    double c1[GEO_ORDER + 1];
    double a1m1 = geo_a1m1(arc->eps);
    double b1;
    geo_c1(arc->eps, c1);
    b1 = geo_sin_series(arc->ssig2, arc->csig2, c1, GEO_ORDER) -
         geo_sin_series(arc->ssig1, arc->csig1, c1, GEO_ORDER);
    if (s12b)
        *s12b = (1.0 + a1m1) * (arc->sig12 + b1);
    if (m12b) {
        double c2[GEO_ORDER + 1];
        double a2m1 = geo_a2m1(arc->eps);
        double b2, j12;
        geo_c2(arc->eps, c2);
        b2 = geo_sin_series(arc->ssig2, arc->csig2, c2, GEO_ORDER) -
             geo_sin_series(arc->ssig1, arc->csig1, c2, GEO_ORDER);
        /* J12 = I1(sigma12) - I2(sigma12) */
        j12 = (a1m1 - a2m1) * arc->sig12 + ((1.0 + a1m1) * b1 - (1.0 + a2m1) * b2);
        /* m12 / b; the products in parentheses cancel exactly for
         * coincident points. */
        *m12b = dn2 * (arc->csig1 * arc->ssig2) - dn1 * (arc->ssig1 * arc->csig2) -
                arc->csig1 * arc->csig2 * j12;
    }
}

/* The positive root k of k^4 + 2k^3 - (x^2 + y^2 - 1) k^2 - 2 y^2 k - y^2 = 0
 * (the astroid problem), in closed form: it has exactly one positive root. */
static double geo_astroid(double x, double y)
{
    double p = x * x, q = y * y;
    double r = (p + q - 1.0) / 6.0;
    double s, r2, r3, disc, u, v, uv, w;
    if (q == 0.0 && r <= 0.0)
        return 0.0;
    /* Equations multiplied through by powers of r, so r = 0 is harmless. */
    s = p * q / 4.0;
    r2 = r * r;
    r3 = r * r2;
    disc = s * (s + 2.0 * r3); /* zero on the astroid itself */
    u = r;
    if (disc >= 0.0) {
        double t3 = s + r3, t;
        /* Pick the sign that avoids cancellation. */
        t3 += t3 < 0.0 ? -sqrt(disc) : sqrt(disc);
        t = cbrt(t3);
        u += t + (t != 0.0 ? r2 / t : 0.0);
    } else {
        /* Three real roots: take the trigonometric solution. */
        double ang = atan2(sqrt(-disc), -(s + r3));
        u += 2.0 * r * cos(ang / 3.0);
    }
    v = sqrt(u * u + q);
    uv = u < 0.0 ? q / (v - u) : u + v; /* u + v without cancellation */
    w = (uv - q) / (2.0 * v);
    return uv / (sqrt(uv + w * w) + w);
}

/* Starting azimuth for Newton's method. Returns sigma12 (>= 0) when the
 * line is so short that the scaled spherical solution is already exact to
 * rounding, with *dnm its scale; otherwise -1. */
static double geo_start(const geo_ends *e, double *salp1_out, double *calp1_out, double *dnm)
{
    /* sin and cos of beta2 - beta1, and sin of beta2 + beta1 */
    double sbet12 = e->sbet2 * e->cbet1 - e->cbet2 * e->sbet1;
    double cbet12 = e->cbet2 * e->cbet1 + e->sbet2 * e->sbet1;
    double sbet12a = e->sbet2 * e->cbet1 + e->cbet2 * e->sbet1;
    int shortline = cbet12 >= 0.0 && sbet12 < 0.5 && e->cbet2 * e->lam12 < 0.5;
    double somg12, comg12, salp1, calp1, ssig12, csig12;
    /* Below this sigma12 the auxiliary-sphere solution scaled at the mean
     * latitude errs by less than DBL_EPSILON / 100 (relative). */
    const double etol2 = 0.1 * GEO_TOL2 / sqrt(GEO_F * (1.0 - GEO_F / 2.0) / 2.0);

    *dnm = 1.0;
    if (shortline) {
        /* sin^2 of the mean reduced latitude */
        double sbetm2 = geo_sq(e->sbet1 + e->sbet2);
        double omg12;
        sbetm2 /= sbetm2 + geo_sq(e->cbet1 + e->cbet2);
        *dnm = sqrt(1.0 + GEO_EP2 * sbetm2);
        omg12 = e->lam12 / (GEO_F1 * *dnm);
        somg12 = sin(omg12);
        comg12 = cos(omg12);
    } else {
        somg12 = e->slam12;
        comg12 = e->clam12;
    }

    /* Spherical azimuth for omega12, in the form that keeps precision on the
     * near and the far side. */
    salp1 = e->cbet2 * somg12;
    calp1 = comg12 >= 0.0 ? sbet12 + e->cbet2 * e->sbet1 * geo_sq(somg12) / (1.0 + comg12)
                          : sbet12a - e->cbet2 * e->sbet1 * geo_sq(somg12) / (1.0 - comg12);
    ssig12 = hypot(salp1, calp1);
    csig12 = e->sbet1 * e->sbet2 + e->cbet1 * e->cbet2 * comg12;

    if (shortline && ssig12 < etol2) {
        *salp1_out = salp1;
        *calp1_out = calp1;
        return atan2(ssig12, csig12);
    }

    if (csig12 < 0.0 && ssig12 < 6.0 * fabs(GEO_N) * GEO_PI * geo_sq(e->cbet1)) {
        /* Nearly antipodal. Scale so that the antipode of point 1 is the
         * origin and the cut (the segment of the equator where geodesics
         * from point 1 meet) runs to x = -1, y = 0. */
        double lam12x = atan2(-e->slam12, -e->clam12); /* lam12 - pi */
        double k2 = geo_sq(e->sbet1) * GEO_EP2;
        double lamscale = GEO_F * e->cbet1 * geo_a3(geo_eps(k2)) * GEO_PI;
        double betscale = lamscale * e->cbet1;
        double x = lam12x / lamscale;
        double y = sbet12a / betscale;
        if (y > -GEO_TOL1 && x > -1.0 - GEO_XTHRESH) {
            /* On or next to the cut: the azimuth follows from x alone. */
            salp1 = fmin(1.0, -x);
            calp1 = -sqrt(1.0 - geo_sq(salp1));
        } else {
            /* Astroid estimate of pi - omega12, then the spherical azimuth
             * for that omega12 (fewer iterations than using k directly). */
            double k = geo_astroid(x, y);
            double omg12a = lamscale * (-x * k / (1.0 + k));
            somg12 = sin(omg12a);
            comg12 = -cos(omg12a);
            salp1 = e->cbet2 * somg12;
            calp1 = sbet12a - e->cbet2 * e->sbet1 * geo_sq(somg12) / (1.0 - comg12);
        }
    }

    /* alpha1 must lie in (0, pi); the negated test also catches NaN. */
    if (!(salp1 <= 0.0)) {
        geo_norm(&salp1, &calp1);
    } else {
        salp1 = 1.0;
        calp1 = 0.0;
    }
    *salp1_out = salp1;
    *calp1_out = calp1;
    return -1.0;
}

/* For a trial azimuth alpha1 at point 1, follow the geodesic to the
 * latitude of point 2 and return lambda12(alpha1) - lam12 (the longitude
 * overshoot, radians); fill *arc, and *dv with the derivative with respect
 * to alpha1 when dv is not NULL. */
static double geo_lambda(const geo_ends *e, double salp1, double calp1, geo_arc *arc, double *dv)
{
    double salp0, calp0, calp2;
    double somg1, comg1, somg2, comg2, somg12, comg12;
    double c3[GEO_ORDER], b3, eta, v;

    if (e->sbet1 == 0.0 && calp1 == 0.0)
        calp1 = -GEO_TINY; /* equatorial start heading east: break the tie */

    /* Clairaut: sin(alpha0) = sin(alpha1) cos(beta1) (eq. 5). */
    salp0 = salp1 * e->cbet1;
    calp0 = hypot(calp1, salp1 * e->sbet1);

    /* tan(beta1) = tan(sigma1) cos(alpha1), tan(omega1) = sin(alpha0) tan(sigma1) */
    arc->ssig1 = e->sbet1;
    arc->csig1 = calp1 * e->cbet1;
    somg1 = salp0 * e->sbet1;
    comg1 = calp1 * e->cbet1;
    geo_norm(&arc->ssig1, &arc->csig1);

    /* cos(alpha2) >= 0 from Clairaut at beta2, written with a
     * difference of squares that stays accurate when |beta2| ~ |beta1|. */
    if (e->cbet2 != e->cbet1 || fabs(e->sbet2) != -e->sbet1)
        calp2 = sqrt(geo_sq(calp1 * e->cbet1) +
                     (e->cbet1 < -e->sbet1 ? (e->cbet2 - e->cbet1) * (e->cbet1 + e->cbet2)
                                           : (e->sbet1 - e->sbet2) * (e->sbet1 + e->sbet2))) /
                e->cbet2;
    else
        calp2 = fabs(calp1);
    arc->ssig2 = e->sbet2;
    arc->csig2 = calp2 * e->cbet2;
    somg2 = salp0 * e->sbet2;
    comg2 = calp2 * e->cbet2;
    geo_norm(&arc->ssig2, &arc->csig2);

    /* sigma12 and omega12, both in [0, pi] */
    arc->sig12 = atan2(fmax(0.0, arc->csig1 * arc->ssig2 - arc->ssig1 * arc->csig2),
                       arc->csig1 * arc->csig2 + arc->ssig1 * arc->ssig2);
    somg12 = fmax(0.0, comg1 * somg2 - somg1 * comg2);
    comg12 = comg1 * comg2 + somg1 * somg2;
    /* omega12 - lam12 as one angle, so that no precision is lost when both
     * are close to pi. */
    eta = atan2(somg12 * e->clam12 - comg12 * e->slam12, comg12 * e->clam12 + somg12 * e->slam12);

    /* lambda12 = omega12 - f sin(alpha0) I3(sigma12) (eq. 8) */
    arc->eps = geo_eps(geo_sq(calp0) * GEO_EP2);
    geo_c3(arc->eps, c3);
    b3 = geo_sin_series(arc->ssig2, arc->csig2, c3, GEO_ORDER - 1) -
         geo_sin_series(arc->ssig1, arc->csig1, c3, GEO_ORDER - 1);
    v = eta - GEO_F * geo_a3(arc->eps) * salp0 * (arc->sig12 + b3);

    if (dv) {
        if (calp2 == 0.0) {
            /* Point 2 is a vertex (alpha2 = 90): the limit of the
             * general formula. */
            *dv = -2.0 * GEO_F1 * e->dn1 / e->sbet1;
        } else {
            double m12b;
            geo_lengths(arc, e->dn1, e->dn2, NULL, &m12b);
            *dv = GEO_F1 * m12b / (calp2 * e->cbet2);
        }
    }
    return v;
}

/* Solve the general case by Newton's method on alpha1 with a bisection
 * safeguard; returns the distance in metres. */
static double geo_solve(const geo_ends *e, double salp1, double calp1, int *iterations)
{
    /* Bracket (alpha1a, alpha1b) around the root, initially (0, pi). The
     * longitude overshoot increases with alpha1 and has one root there. */
    double salp1a = GEO_TINY, calp1a = 1.0, salp1b = GEO_TINY, calp1b = -1.0;
    int tight = 0;   /* last Newton step started within 16 ulp: one more, then stop */
    int pinched = 0; /* the bracket cannot shrink any further */
    int it = 0;
    geo_arc arc;
    double s12b;

    for (;;) {
        double dv = 0.0;
        double v = geo_lambda(e, salp1, calp1, &arc, it < WB_GEODESIC__NEWTON_ITER ? &dv : NULL);
        it++;
        /* Converged (|v| is about 1 ulp of a number below pi), bisected to
         * the end, out of budget, or NaN (the negated test). */
        if (pinched || !(fabs(v) >= (tight ? 8.0 : 1.0) * GEO_TOL0) || it >= WB_GEODESIC__MAX_ITER)
            break;

        /* Shrink the bracket. While Newton drives, only accept points that
         * tighten it; afterwards every (bisection) point lies inside. */
        if (v > 0.0 && (it > WB_GEODESIC__NEWTON_ITER || calp1 / salp1 > calp1b / salp1b)) {
            salp1b = salp1;
            calp1b = calp1;
        } else if (v < 0.0 && (it > WB_GEODESIC__NEWTON_ITER || calp1 / salp1 < calp1a / salp1a)) {
            salp1a = salp1;
            calp1a = calp1;
        }

        if (it <= WB_GEODESIC__NEWTON_ITER && dv > 0.0) {
            double dalp1 = -v / dv;
            if (fabs(dalp1) < GEO_PI) {
                double sd = sin(dalp1), cd = cos(dalp1);
                double nsalp1 = salp1 * cd + calp1 * sd;
                if (nsalp1 > 0.0) {
                    calp1 = calp1 * cd - salp1 * sd;
                    salp1 = nsalp1;
                    geo_norm(&salp1, &calp1);
                    /* Near the root the slope can vanish and convergence is
                     * no longer quadratic: stop on an ulp-based test. */
                    tight = fabs(v) <= 16.0 * GEO_TOL0;
                    continue;
                }
            }
        }

        /* Newton failed (slope not positive, or a step out of (0, pi)):
         * take the middle of the bracket. */
        salp1 = (salp1a + salp1b) / 2.0;
        calp1 = (calp1a + calp1b) / 2.0;
        geo_norm(&salp1, &calp1);
        tight = 0;
        pinched = fabs(salp1a - salp1) + (calp1a - calp1) < GEO_TOLB ||
                  fabs(salp1 - salp1b) + (calp1 - calp1b) < GEO_TOLB;
    }
    *iterations = it;
    geo_lengths(&arc, e->dn1, e->dn2, &s12b, NULL);
    return GEO_B * s12b;
}

static int geo_check_lat(double v, const char *name)
{
    if (!isfinite(v))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be a finite number", name);
    if (v < -90.0 || v > 90.0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be between -90 and 90",
                             name);
    return 0;
}

static int geo_check_lng(double v, const char *name)
{
    if (!isfinite(v))
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be a finite number", name);
    if (v < -180.0 || v > 180.0)
        return wb_error__set(WB_EINVALID, WB_ERRCLASS_INVALID, "%s: must be between -180 and 180",
                             name);
    return 0;
}

/* Reduced latitude of a latitude in degrees: tan(beta) = (1 - f) tan(phi).
 * cos(beta) is kept at least TINY so that the poles have a defined
 * azimuth. */
static void geo_reduced_lat(double lat, double *sbet, double *cbet)
{
    geo_sincosd(lat, sbet, cbet);
    *sbet *= GEO_F1;
    geo_norm(sbet, cbet);
    *cbet = fmax(GEO_TINY, *cbet);
}

int wb_geodesic__inverse_ex(double lat1, double lon1, double lat2, double lon2, double *out_metres,
                            int *out_iterations)
{
    geo_ends e;
    double lon12, lon12_err, s12 = 0.0;
    int error, iterations = 0;

    WB__CHECK_ARG(out_metres != NULL);
    if ((error = geo_check_lat(lat1, "lat1")) < 0 || (error = geo_check_lng(lon1, "lng1")) < 0 ||
        (error = geo_check_lat(lat2, "lat2")) < 0 || (error = geo_check_lng(lon2, "lng2")) < 0)
        return error;

    /* Longitude difference in [0, 180]. The sum is error-free, the
     * reduction by 360 is exact (Sterbenz), and the rounding error of the
     * difference is added back afterwards. */
    lon12 = geo_two_sum(lon2, -lon1, &lon12_err);
    if (lon12 > 180.0)
        lon12 -= 360.0;
    else if (lon12 < -180.0)
        lon12 += 360.0;
    lon12 += lon12_err;
    lon12 = fabs(lon12); /* mirror in a meridian */
    if (lon12 > 180.0)   /* only by rounding */
        lon12 = 180.0;

    /* Swap the points so that point 1 is the one further from the equator,
     * then mirror in the equator so that it lies in the south. */
    if (fabs(lat1) < fabs(lat2)) {
        double t = lat1;
        lat1 = lat2;
        lat2 = t;
    }
    if (lat1 > 0.0) {
        lat1 = -lat1;
        lat2 = -lat2;
    }
    geo_reduced_lat(lat1, &e.sbet1, &e.cbet1);
    geo_reduced_lat(lat2, &e.sbet2, &e.cbet2);
    /* With |lat2| == |lat1| make beta2 = +-beta1 exactly: the azimuth
     * formula in geo_lambda depends on it. */
    if (e.cbet1 < -e.sbet1) {
        if (e.cbet2 == e.cbet1)
            e.sbet2 = e.sbet2 < 0.0 ? e.sbet1 : -e.sbet1;
    } else if (fabs(e.sbet2) == -e.sbet1) {
        e.cbet2 = e.cbet1;
    }
    e.dn1 = sqrt(1.0 + GEO_EP2 * geo_sq(e.sbet1));
    e.dn2 = sqrt(1.0 + GEO_EP2 * geo_sq(e.sbet2));
    e.lam12 = lon12 * GEO_DEG;
    geo_sincosd(lon12, &e.slam12, &e.clam12);

    int meridian = lat1 == -90.0 || e.slam12 == 0.0;
    if (meridian) {
        /* Both points on one meridian (or point 1 at the pole): try the
         * meridian itself, heading north (or over the south pole when the
         * longitudes differ by 180). */
        geo_arc arc;
        double s12b, m12b;
        arc.ssig1 = e.sbet1;
        arc.csig1 = e.clam12 * e.cbet1;
        arc.ssig2 = e.sbet2;
        arc.csig2 = e.cbet2;
        arc.sig12 = atan2(fmax(0.0, arc.csig1 * arc.ssig2 - arc.ssig1 * arc.csig2),
                          arc.csig1 * arc.csig2 + arc.ssig1 * arc.ssig2);
        arc.eps = GEO_N; /* cos(alpha0) = 1: k^2 = e'^2, eps = n */
        geo_lengths(&arc, e.dn1, e.dn2, &s12b, &m12b);
        /* A meridian arc is the shortest path unless it passes the
         * conjugate point (m12 < 0), which can only happen beyond a
         * quarter meridian or so. */
        if (arc.sig12 < 1.0 || m12b >= 0.0) {
            s12 = arc.sig12 < 3.0 * GEO_TINY ? 0.0 : GEO_B * s12b;
        } else {
            meridian = 0;
        }
    }

    if (!meridian) {
        if (e.sbet1 == 0.0 && 180.0 - lon12 >= 180.0 * GEO_F) {
            /* Both on the equator (|lat2| <= |lat1| = 0) and not far
             * enough apart for the path to leave it: an arc of the
             * equatorial circle. */
            s12 = GEO_A * e.lam12;
        } else {
            double salp1, calp1, dnm;
            double sig12 = geo_start(&e, &salp1, &calp1, &dnm);
            if (sig12 >= 0.0)
                s12 = sig12 * GEO_B * dnm; /* very short line */
            else
                s12 = geo_solve(&e, salp1, calp1, &iterations);
        }
    }

    if (!isfinite(s12)) /* not expected for valid input; never hand out NaN */
        return wb_error__set(WB_ERROR, WB_ERRCLASS_INVALID, "geodesic: no finite solution");
    *out_metres = fmax(0.0, s12);
    if (out_iterations)
        *out_iterations = iterations;
    return 0;
}

int wb_geodesic__inverse(double lat1, double lon1, double lat2, double lon2, double *out_metres)
{
    return wb_geodesic__inverse_ex(lat1, lon1, lat2, lon2, out_metres, NULL);
}

double wb_geodesic__metres_to_miles(double m)
{
    return m / WB_GEODESIC__METRES_PER_MILE;
}

int wb_geodesic_distance(double *out_metres, double lat1, double lng1, double lat2, double lng2)
{
    wb_error__reset();
    return wb_geodesic__inverse(lat1, lng1, lat2, lng2, out_metres);
}

double wb_metres_to_miles(double metres)
{
    return wb_geodesic__metres_to_miles(metres);
}
