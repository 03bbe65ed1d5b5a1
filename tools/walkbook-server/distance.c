/*
 * distance.c - server-computed interaction distance (see distance.h), with
 * the core's geodesic (Karney's method on WGS84).
 */
#include <math.h>

#include "distance.h"
#include "json.h"
#include "walkbook.h"

static int wbs_distance__point(double *lat, double *lng, const cJSON *obj)
{
    const cJSON *a = wb_json__get(obj, "lat"), *b = wb_json__get(obj, "lng");
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b))
        return -1;
    *lat = a->valuedouble;
    *lng = b->valuedouble;
    return 0;
}

int wbs_distance_household_coords(double *lat, double *lng, const cJSON *household)
{
    const cJSON *data = wb_json__get(household, "data");
    const cJSON *addr = wb_json__get(wb_json__get(data, "address"), "data");
    if (wbs_distance__point(lat, lng, wb_json__get(addr, "coords")) == 0)
        return 0;
    return wbs_distance__point(lat, lng, wb_json__get(data, "coords"));
}

int wbs_distance_fill(cJSON *data, const cJSON *household)
{
    double lat1, lng1, lat2, lng2, metres, miles;

    if (wb_json__get(data, "distance") || !household ||
        wbs_distance__point(&lat1, &lng1, wb_json__get(data, "location")) < 0 ||
        wbs_distance_household_coords(&lat2, &lng2, household) < 0 ||
        wb_geodesic_distance(&metres, lat1, lng1, lat2, lng2) != 0)
        return 0;
    miles = round(wb_metres_to_miles(metres) * 1e4) / 1e4;
    return cJSON_AddNumberToObject(data, "distance", miles) ? 1 : -1;
}
