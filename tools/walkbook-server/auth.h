/*
 * auth.h - bearer tokens bound to (customer, security group, user, role)
 * and the OAuth 2.0 token endpoint (polis-api.md §6.1, G15).
 *
 * Static tokens come from the command line (--token) or a file
 * (--token-file) and never expire.
 * Authorization codes (--auth-code) are exchanged at POST /auth/oauth2/token
 * for an access token and a refresh token; access tokens expire after the
 * configured lifetime (0 = never), refresh tokens are single-use (each
 * refresh returns a new one) and do not expire. Codes may be exchanged more
 * than once: this is a development server, and an app under development
 * has no authorize page to fetch a fresh code from.
 *
 * Threads: every function may be called from any thread once set up;
 * wbs_auth_add_* only before the server starts.
 */
#ifndef WBS_AUTH_H
#define WBS_AUTH_H

#include <stddef.h>

struct wbs_http;

enum wbs_role { WBS_ROLE_ADMIN = 0, WBS_ROLE_CANVASSER = 1 };

typedef struct wbs_principal {
    char customer[37];
    char security_group[37];
    char user[37];
    int role; /* enum wbs_role */
} wbs_principal;

typedef struct wbs_auth wbs_auth;

/* lifetime_s: lifetime of issued access tokens in seconds, 0 = no expiry.
 * Returns NULL on oom. */
wbs_auth *wbs_auth_new(long lifetime_s);
void wbs_auth_free(wbs_auth *a);

/* "TOKEN:CUSTOMER:SECURITY_GROUP:USER[:ROLE]" with UUIDs and role admin
 * (default) or canvasser. Returns 0, or -1 with a message in err (which
 * never repeats the token). */
int wbs_auth_add_token(wbs_auth *a, const char *spec, char *err, size_t errlen);
/* Static tokens from a file: one TOKEN:CUSTOMER:SECURITY_GROUP:USER[:ROLE]
 * per line; blank lines and lines starting with '#' (after blanks) are
 * skipped. Returns 0, or -1 with a message naming the file and the line
 * (never the token). */
int wbs_auth_add_token_file(wbs_auth *a, const char *path, char *err, size_t errlen);
/* Same syntax, for an authorization code. */
int wbs_auth_add_code(wbs_auth *a, const char *spec, char *err, size_t errlen);

/* Check an Authorization header value ("Bearer <token>", scheme
 * case-insensitive). 0 and *out filled when valid and not expired, else
 * -1. header may be NULL. */
int wbs_auth_check(wbs_auth *a, const char *header, wbs_principal *out);

/* Expire a token now, whatever its kind (G15: "can expire them on
 * demand"). 0 when there was such a live token, -1 when not. */
int wbs_auth_expire(wbs_auth *a, const char *token);

/* Register POST /auth/oauth2/token. Returns 0 or -1 (oom). */
int wbs_auth_routes(struct wbs_http *h, wbs_auth *a);

#endif
