/*
 * server_client.h - test helpers: run walkbook-server as a child process on
 * 127.0.0.1 (port 0, --port-file) and talk to it with libcurl. Every wait
 * is bounded and every request has a timeout; servers still running at
 * exit (or when the test process dies) are killed.
 */
#ifndef WBS_SERVER_CLIENT_H
#define WBS_SERVER_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

typedef struct srv {
    pid_t pid;
    unsigned port;
    const char *host; /* where srv_call connects; NULL: 127.0.0.1 (srv_start sets NULL) */
} srv;

/* Start the server with extra arguments (NULL-terminated). 0 or -1. */
int srv_start(srv *s, const char *const *args);
/* SIGTERM, wait up to 3 s, then SIGKILL. Returns the exit status or -1. */
int srv_stop(srv *s);
/* The same with another signal (SIGINT). */
int srv_stop_signal(srv *s, int sig);

typedef struct srv_reply {
    long status;
    char *body;       /* malloc'd, NUL-terminated ("" when empty) */
    cJSON *json;      /* parsed body or NULL */
    char location[256];
} srv_reply;

/* One request. token: bearer token or NULL; body: NULL for none; h1, h2:
 * extra header lines ("etag: …") or NULL. Returns the HTTP status, or -1
 * when the request failed (reply->body then says why). */
long srv_call(srv_reply *r, const srv *s, const char *method, const char *path,
              const char *token, const char *body, const char *h1, const char *h2);
/* Same with a body of len bytes (may contain anything). */
long srv_call_n(srv_reply *r, const srv *s, const char *method, const char *path,
                const char *token, const char *body, size_t len, const char *h1,
                const char *h2);
void srv_reply_free(srv_reply *r);

/* Convenience readers of reply JSON. */
const char *srv_str(const cJSON *j, const char *pointer);
int srv_is_true(const cJSON *j, const char *pointer);

#endif
