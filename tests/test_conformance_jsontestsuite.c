/*
 * test_conformance_jsontestsuite.c - the JSONTestSuite parsing files
 * (testdata/JSONTestSuite/test_parsing), read in place: every y_* file must
 * be accepted, every n_* file refused with a message, and i_* files
 * (implementation-defined) must only not crash; what happened to each i_*
 * file is printed.
 *
 * One deliberate deviation: RFC 8259 only says member names SHOULD be
 * unique, so the suite counts objects with a repeated name as valid, but
 * walkbook refuses them (json.h: two readers of such an object can see
 * different values). The y_ files whose only content is such an object are
 * listed by name below and must be refused with exactly that error; any
 * other outcome for them fails the test.
 */
#include <dirent.h>

#include "json.h"
#include "walkbook.h"
#include "wbtest.h"

static const char *const duplicate_policy[] = {
    "y_object_duplicated_key.json",
    "y_object_duplicated_key_and_value.json",
};

static int is_duplicate_policy_file(const char *name)
{
    for (size_t i = 0; i < sizeof(duplicate_policy) / sizeof(duplicate_policy[0]); i++)
        if (strcmp(name, duplicate_policy[i]) == 0)
            return 1;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted file names of the suite directory (malloc'd; NULL on error). */
static char **list_files(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            char **grown;
            cap = cap ? cap * 2 : 64;
            grown = realloc(names, cap * sizeof(*names));
            if (!grown)
                break;
            names = grown;
        }
        names[n] = malloc(len + 1);
        if (!names[n])
            break;
        memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    *count = n;
    return names;
}

static void test_conformance_jsontestsuite__parsing(void)
{
    char dir[1024], path[1200];
    char **names;
    size_t count = 0;
    int y_ok = 0, y_bad = 0, y_policy = 0, n_ok = 0, n_bad = 0, i_accepted = 0, i_refused = 0;
    long live;

    WBT_OK(wb__global_init());
    live = wb__alloc_live();
    snprintf(dir, sizeof(dir), "%s/JSONTestSuite/test_parsing", wbt_testdata());
    names = list_files(dir, &count);
    if (!names || count == 0)
        WBT_FAIL("no test files in %s", dir);

    for (size_t i = 0; i < count; i++) {
        const char *name = names[i];
        size_t len = 0;
        char *text;
        cJSON *j = NULL;
        int rc;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        text = wbt_read_file(path, &len);
        if (!text) {
            printf("    cannot read %s\n", path);
            y_bad++;
            continue;
        }
        rc = wb_json__parse(&j, text, len, NULL, name);
        if (is_duplicate_policy_file(name)) {
            const wb_error *e = wb_error_last();
            if (rc == WB_EINVALID && e && strstr(e->message, "duplicate member \"a\"")) {
                printf("    %s: refused by the duplicate-member policy\n", name);
                y_policy++;
            } else {
                printf("    %s: must be refused as a duplicate member\n", name);
                y_bad++;
            }
        } else if (name[0] == 'y') {
            if (rc == 0) {
                /* What was accepted must print as strict JSON that
                 * parses back to an equal tree. */
                char *out = wb_json__print(j);
                cJSON *back = NULL;
                if (out && wb_json__parse(&back, out, strlen(out), NULL, "printed") == 0 &&
                    wb_json__equal(j, back))
                    y_ok++;
                else {
                    printf("    %s: print round trip failed: %s\n", name, out ? out : "oom");
                    y_bad++;
                }
                cJSON_Delete(back);
                wb__free(out);
            } else {
                printf("    %s: refused: %s\n", name, wb_error_last()->message);
                y_bad++;
            }
        } else if (name[0] == 'n') {
            const wb_error *e = wb_error_last();
            if (rc < 0 && j == NULL && e && e->message[0] && strstr(e->message, name)) {
                n_ok++;
            } else {
                printf("    %s: accepted, must be refused\n", name);
                n_bad++;
            }
        } else {
            if (rc == 0) {
                printf("    %s: accepted\n", name);
                i_accepted++;
            } else {
                printf("    %s: refused (%s)\n", name, wb_error_last()->message);
                i_refused++;
            }
        }
        cJSON_Delete(j);
        free(text);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);

    printf("    y_: %d accepted, %d refused by the duplicate policy, %d wrongly refused; n_: %d refused, %d wrongly accepted; "
           "i_: %d accepted, %d refused\n",
           y_ok, y_policy, y_bad, n_ok, n_bad, i_accepted, i_refused);
    WBT_ASSERT_INT(y_bad, 0);
    WBT_ASSERT_INT(y_policy, 2);
    WBT_ASSERT_INT(n_bad, 0);
    WBT_ASSERT(y_ok > 90);
    WBT_ASSERT(n_ok > 180);
    WBT_ASSERT_INT(wb__alloc_live(), live);
}

static const wbt_case cases[] = {
    WBT_CASE(test_conformance_jsontestsuite__parsing),
};

WBT_MAIN(cases, NULL, NULL)
