/*
 * distance.h - the server's `data.distance` of an interaction (polis-api.md
 * §2.4, G12): statute miles on the WGS84 ellipsoid between the canvasser's
 * fix (data.location) and the household's coordinates, rounded to 4
 * decimals like the documentation's example (936.2361). A distance the
 * client sent is kept; without either point distance stays absent.
 */
#ifndef WBS_DISTANCE_H
#define WBS_DISTANCE_H

#include <cjson/cJSON.h>

/* The household's coordinates from its envelope: data.address.data.coords
 * (§5.3), else data.coords. 0 with lat/lng set, -1 when it has none. */
int wbs_distance_household_coords(double *lat, double *lng, const cJSON *household);

/* Add data.distance when data has no distance, data.location has lat and
 * lng, and household (an envelope, may be NULL) has coordinates. Returns 1
 * when added, 0 when left alone, -1 on oom. */
int wbs_distance_fill(cJSON *data, const cJSON *household);

#endif
