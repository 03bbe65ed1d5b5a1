/*
 * alloc.c - the one allocation layer, and process-wide initialisation.
 *
 * A failure counter lets tests fail the Nth allocation of a scenario, and a
 * live-block counter lets them assert that nothing leaked, on any platform
 * (sanitizers do not run on phones).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "common.h"

static atomic_long alloc_live;
static atomic_long alloc_fail_countdown; /* 0 = never fail */

static int should_fail(void)
{
    long n = atomic_load_explicit(&alloc_fail_countdown, memory_order_relaxed);
    if (n <= 0)
        return 0;
    if (atomic_fetch_sub(&alloc_fail_countdown, 1) == 1)
        return 1;
    return 0;
}

void wb__alloc_fail_at(long n)
{
    atomic_store(&alloc_fail_countdown, n);
}

long wb__alloc_live(void)
{
    return atomic_load(&alloc_live);
}

void *wb__malloc(size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&alloc_live, 1, memory_order_relaxed);
    return p;
}

void *wb__calloc(size_t n, size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = calloc(n ? n : 1, size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&alloc_live, 1, memory_order_relaxed);
    return p;
}

void *wb__realloc(void *ptr, size_t size)
{
    void *p;
    if (!ptr)
        return wb__malloc(size);
    if (should_fail())
        return NULL;
    p = realloc(ptr, size ? size : 1);
    return p;
}

void wb__free(void *ptr)
{
    if (!ptr)
        return;
    atomic_fetch_sub_explicit(&alloc_live, 1, memory_order_relaxed);
    free(ptr);
}

char *wb__strndup(const char *s, size_t n)
{
    char *p = wb__malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *wb__strdup(const char *s)
{
    return wb__strndup(s, strlen(s));
}

void wb_free(void *ptr)
{
    wb__free(ptr);
}

static void *cjson_malloc(size_t size)
{
    return wb__malloc(size);
}

static atomic_int global_state; /* 0 = not yet, 1 = running, 2 = done */

int wb__global_init(void)
{
    int expected = 0;
    if (atomic_load(&global_state) == 2)
        return 0;
    if (atomic_compare_exchange_strong(&global_state, &expected, 1)) {
        cJSON_Hooks hooks = {cjson_malloc, wb__free};
        if (sodium_init() < 0) {
            atomic_store(&global_state, 0);
            return wb_error__set(WB_ERROR, WB_ERRCLASS_CRYPTO, "libsodium could not initialise");
        }
        cJSON_InitHooks(&hooks);
        atomic_store(&global_state, 2);
        return 0;
    }
    /* Another thread is initialising: wait for it (it takes microseconds). */
    while (atomic_load(&global_state) == 1)
        ;
    return atomic_load(&global_state) == 2 ? 0 : wb__global_init();
}
