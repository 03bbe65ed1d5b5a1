/* test_core_uuid.c - UUID v4 and v7 generation and syntax checks. */
#include <time.h>

#include "common.h"
#include "uuid.h"
#include "wbtest.h"

#define N_IDS 10000

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_core_uuid__generated_valid_unique(void)
{
    char(*ids)[WB_UUID_LEN + 1] = malloc(sizeof(*ids) * N_IDS);
    int seen_variant[4] = {0, 0, 0, 0};
    char problem[128] = "";
    WBT_ASSERT(ids != NULL);
    for (int i = 0; i < N_IDS && !problem[0]; i++) {
        const char *id = ids[i];
        memset(ids[i], 'X', sizeof(ids[i]));
        wb_uuid__v4(ids[i]);
        if (strlen(id) != WB_UUID_LEN || !wb_uuid__valid(id))
            snprintf(problem, sizeof(problem), "invalid id %d", i);
        else if (id[14] != '4' || !strchr("89ab", id[19]))
            snprintf(problem, sizeof(problem), "bad version/variant in %s", id);
        else if (strpbrk(id, "ABCDEF"))
            snprintf(problem, sizeof(problem), "uppercase in %s", id);
        else
            seen_variant[strchr("89ab", id[19]) - "89ab"]++;
    }
    if (!problem[0]) {
        qsort(ids, N_IDS, sizeof(*ids), cmp_id);
        for (int i = 1; i < N_IDS; i++)
            if (strcmp(ids[i - 1], ids[i]) == 0)
                snprintf(problem, sizeof(problem), "duplicate id %s", ids[i]);
    }
    free(ids);
    if (problem[0])
        WBT_FAIL("%s", problem);
    /* All four variant nibbles occur: the two low bits stay random. */
    for (int i = 0; i < 4; i++)
        WBT_ASSERT(seen_variant[i] > 0);
}

/* Every random nibble position takes many values over a few thousand ids:
 * catches a formatter that drops or repeats bytes. */
static void test_core_uuid__nibbles_vary(void)
{
    unsigned seen[WB_UUID_LEN];
    char id[WB_UUID_LEN + 1];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 2000; i++) {
        wb_uuid__v4(id);
        for (int k = 0; k < WB_UUID_LEN; k++) {
            char c = id[k];
            if (c == '-')
                continue;
            seen[k] |= 1u << (c <= '9' ? c - '0' : c - 'a' + 10);
        }
    }
    for (int k = 0; k < WB_UUID_LEN; k++) {
        if (k == 8 || k == 13 || k == 18 || k == 23)
            continue;
        if (k == 14)
            WBT_ASSERT_INT(seen[k], 1u << 4);
        else if (k == 19)
            WBT_ASSERT_INT(seen[k], 0xf00u);
        else
            WBT_ASSERT_INT(seen[k], 0xffffu);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The first 48 bits of a v7 id as a number of milliseconds. */
static uint64_t v7_ms(const char *id)
{
    char hex[13];
    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    return (uint64_t)strtoull(hex, NULL, 16);
}

/* v7: valid, version 7 and RFC variant, the time of its making in front,
 * so ids made later sort after (by the millisecond), random behind it and
 * unique. */
static void test_core_uuid__v7_time_ordered_unique(void)
{
    char(*ids)[WB_UUID_LEN + 1] = malloc(sizeof(*ids) * N_IDS);
    char problem[160] = "";
    uint64_t before = now_ms(), after;
    unsigned tail_seen = 0;
    WBT_ASSERT(ids != NULL);
    for (int i = 0; i < N_IDS && !problem[0]; i++) {
        const char *id = ids[i];
        memset(ids[i], 'X', sizeof(ids[i]));
        wb_uuid__v7(ids[i]);
        if (strlen(id) != WB_UUID_LEN || !wb_uuid__valid(id) || strpbrk(id, "ABCDEF"))
            snprintf(problem, sizeof(problem), "invalid id %d: %s", i, id);
        else if (id[14] != '7' || !strchr("89ab", id[19]))
            snprintf(problem, sizeof(problem), "bad version/variant in %s", id);
        else if (i > 0 && v7_ms(id) < v7_ms(ids[i - 1]))
            snprintf(problem, sizeof(problem), "time went back: %s after %s", id, ids[i - 1]);
        tail_seen |= 1u << (id[35] <= '9' ? id[35] - '0' : id[35] - 'a' + 10);
    }
    after = now_ms();
    if (!problem[0] && (v7_ms(ids[0]) < before || v7_ms(ids[N_IDS - 1]) > after))
        snprintf(problem, sizeof(problem), "time prefix of %s outside [%llu, %llu]", ids[0],
                 (unsigned long long)before, (unsigned long long)after);
    if (!problem[0]) {
        qsort(ids, N_IDS, sizeof(*ids), cmp_id);
        for (int i = 1; i < N_IDS; i++)
            if (strcmp(ids[i - 1], ids[i]) == 0)
                snprintf(problem, sizeof(problem), "duplicate id %s", ids[i]);
    }
    free(ids);
    if (problem[0])
        WBT_FAIL("%s", problem);
    WBT_ASSERT_INT(tail_seen, 0xffffu);
}

static void test_core_uuid__valid_accepts(void)
{
    WBT_ASSERT(wb_uuid__valid("d545b1e1-8f97-4ae4-a164-1b4a4a87bc07"));
    WBT_ASSERT(wb_uuid__valid("D545B1E1-8F97-4AE4-A164-1B4A4A87BC07"));
    WBT_ASSERT(wb_uuid__valid("00000000-0000-0000-0000-000000000000"));
    WBT_ASSERT(wb_uuid__valid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    /* Not v4 and not RFC variant: servers make such ids too. */
    WBT_ASSERT(wb_uuid__valid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
    WBT_ASSERT(wb_uuid__valid("6ba7b810-9dad-11d1-c0b4-00c04fd430c8"));
}

static void test_core_uuid__valid_rejects(void)
{
    static const char *bad[] = {
        "",
        "d545b1e1-8f97-4ae4-a164-1b4a4a87bc0",   /* 35 chars */
        "d545b1e1-8f97-4ae4-a164-1b4a4a87bc071", /* 37 chars */
        "d545b1e18f974ae4a1641b4a4a87bc07",      /* no hyphens */
        "d545b1e1-8f97-4ae4-a164-1b4a4a87bc0g",  /* g */
        "a930ds08-8f97-4ae4-a164-1b4a4a87bc07",  /* the docs' typo id */
        "d545b1e1_8f97-4ae4-a164-1b4a4a87bc07",  /* hyphen 8 */
        "d545b1e1-8f97_4ae4-a164-1b4a4a87bc07",  /* hyphen 13 */
        "d545b1e1-8f97-4ae4_a164-1b4a4a87bc07",  /* hyphen 18 */
        "d545b1e1-8f97-4ae4-a164_1b4a4a87bc07",  /* hyphen 23 */
        "d545b1e-18f97-4ae4-a164-1b4a4a87bc07",  /* hyphen moved */
        "{d545b1e1-8f97-4ae4-a164-1b4a4a87bc07}",
        " d545b1e1-8f97-4ae4-a164-1b4a4a87bc07",
        "d545b1e1-8f97-4ae4-a164-1b4a4a87bc07 ",
        "d545b1e1-8f97-4ae4-a164-1b4a4a87bc07\n",
        "d545b1e1-8f97-4ae4-a164--b4a4a87bc07",
        "d545b1e1-8f97-4ae4-a164-1b4a4a87bc\xc3\xa9",
        "urn:uuid:d545b1e1-8f97-4ae4-a164-1b4a",
    };
    for (size_t i = 0; i < WB__ARRAY_SIZE(bad); i++)
        if (wb_uuid__valid(bad[i]))
            WBT_FAIL("accepted \"%s\"", bad[i]);
    WBT_ASSERT(!wb_uuid__valid(NULL));
}

/* Prefixes of a valid id in exact-size heap blocks: valid must stop at the
 * NUL (ASan reports any read past it). */
static void test_core_uuid__short_input_no_overread(void)
{
    const char *full = "d545b1e1-8f97-4ae4-a164-1b4a4a87bc07";
    for (size_t n = 0; n <= WB_UUID_LEN; n++) {
        char *p = malloc(n + 1);
        WBT_ASSERT(p != NULL);
        memcpy(p, full, n);
        p[n] = '\0';
        WBT_ASSERT_INT(wb_uuid__valid(p), n == WB_UUID_LEN);
        free(p);
    }
}

static const wbt_case cases[] = {
    WBT_CASE(test_core_uuid__generated_valid_unique),
    WBT_CASE(test_core_uuid__nibbles_vary),
    WBT_CASE(test_core_uuid__v7_time_ordered_unique),
    WBT_CASE(test_core_uuid__valid_accepts),
    WBT_CASE(test_core_uuid__valid_rejects),
    WBT_CASE(test_core_uuid__short_input_no_overread),
};

WBT_MAIN(cases, NULL, NULL)
