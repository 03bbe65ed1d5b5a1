/*
 * fixtures.h - shared helpers for tests that need a store with an identity
 * and interaction bodies.
 */
#ifndef WB_TEST_FIXTURES_H
#define WB_TEST_FIXTURES_H

#include "walkbook.h"

#define FX_CUSTOMER "cfa8df1b-baf1-446b-b06c-3177063faed7"
#define FX_USER "0651e380-d556-49bd-acdd-2bd813b16430"
#define FX_GROUP "e822d07f-5972-4ff2-bc75-dbd68d6d79bf"
#define FX_CAMPAIGN_A "61fbfbaa-5de8-4d17-ac2b-c47f2376265a"
#define FX_CAMPAIGN_B "d545b1e1-8f97-4ae4-a164-1b4a4a87bc07"

/* Open a fresh store file named `name` in the test's scratch directory, with
 * the identity above. Returns NULL (and reports) on failure. */
wb_store *fx_store(const char *name);

/* Options for opening fixture stores: NULL (defaults), or with a key when
 * the environment has WB_TEST_ENCRYPT=1, so that whole suites also run on
 * encrypted stores. */
const wb_store_options *fx_store_options(void);

/* A valid flat create body; `campaign`, `contact` and `timestamp` may be NULL
 * for defaults. Returns a pointer to a static buffer (one of 8 rotating). */
const char *fx_body(const char *campaign, const char *contact, const char *timestamp);

/* Read a file from ../shared/testdata/polis (malloc'd, free()). */
char *fx_polis(const char *file);

/* A deterministic "random" UUID for index i. */
const char *fx_uuid(unsigned i);

#endif
