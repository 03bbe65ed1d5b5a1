/*
 * server_cases.h - the cases of test_server_http that live in their own
 * files, and the servers and identities they share.
 */
#ifndef WBS_SERVER_CASES_H
#define WBS_SERVER_CASES_H

#include "server_client.h"

#define T_C1 "c1c1c1c1-0000-4000-8000-000000000001"
#define T_C2 "c2c2c2c2-0000-4000-8000-000000000002"
#define T_SG1 "5e5e5e5e-0000-4000-8000-000000000001"
#define T_SG2 "5e5e5e5e-0000-4000-8000-000000000002"
#define T_U1 "aaaaaaaa-0000-4000-8000-000000000001"
#define T_U2 "aaaaaaaa-0000-4000-8000-000000000002"
#define T_U3 "aaaaaaaa-0000-4000-8000-000000000003"

/* The shared server (started on first use): tokens "admin1" (C1, U1),
 * "canv1" (C1, U2, canvasser), "admin2" (C2, U3); code "code1" (C1, U1). */
const srv *main_srv(void);

/* A flat v2 create body (static buffer, valid until the next call). */
const char *ix_body(const char *campaign, const char *ts, int unavailable, const char *extra);

/* Create through POST /v2/interactions; the reply is kept in *r. */
long ix_create(srv_reply *r, const srv *s, const char *token, const char *campaign,
               const char *extra);

void test_server_store__distance_unit(void);
void test_server_store__db_distance_and_restart(void);

void test_server_list__paging(void);
void test_server_list__limit_and_skip_errors(void);
void test_server_list__sort_spellings(void);
void test_server_list__filter_forms(void);
void test_server_list__filter_operators(void);
void test_server_list__bad_filter(void);
void test_server_list__deleted_only_on_request(void);
void test_server_list__stable_pages_with_equal_values(void);
void test_server_list__modified_strictly_increases(void);

void test_server_pushdown__same_as_scan(void);
void test_server_pushdown__same_as_scan_previous_layout(void);
void test_server_pushdown__written_records(void);

#endif
