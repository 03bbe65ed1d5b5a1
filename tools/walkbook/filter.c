/*
 * filter.c - the record filters that `walkbook list` and `walkbook export`
 * share, turned into a wb_query.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Add the states named in one --state value ("synced,pending_create"). */
static int parse_states(const cli *c, const char *value, unsigned int *states)
{
    const char *p = value;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        int bits = 0;

        if (len > 0 && len < sizeof(name)) {
            memcpy(name, p, len);
            name[len] = '\0';
            if (strcmp(name, "pending") == 0)
                bits = WB_STATE_PENDING;
            else
                bits = wb_sync_state_from_name(name);
        }
        if (bits <= 0)
            return cli_usage_error(c, "--state: unknown state '%.*s'", (int)(len < 40 ? len : 40),
                                   p);
        *states |= (unsigned int)bits;
        if (!end)
            return CLI_EXIT_OK;
        p = end + 1;
    }
}

static int parse_limit(const cli *c, const char *value, unsigned int *out)
{
    char *end = NULL;
    unsigned long n;

    /* strtoul accepts signs and spaces; a count is digits only. */
    if (value[0] < '0' || value[0] > '9')
        return cli_usage_error(c, "--limit: must be a non-negative integer");
    errno = 0;
    n = strtoul(value, &end, 10);
    if (errno != 0 || *end != '\0' || n > UINT_MAX)
        return cli_usage_error(c, "--limit: must be a non-negative integer up to %u", UINT_MAX);
    *out = (unsigned int)n;
    return CLI_EXIT_OK;
}

int cli_filter_query(const cli *c, const cli_filter *f, wb_query *q)
{
    wb_query init = WB_QUERY_INIT;
    int rc;

    *q = init;
    q->campaign_id = f->campaign;
    q->contact_id = f->contact;
    q->household_id = f->household;
    q->walklist_id = f->walklist;
    q->since = f->since;
    q->until = f->until;
    if (f->deleted && f->deleted_only)
        return cli_usage_error(c, "--deleted and --deleted-only exclude each other");
    q->deleted = f->deleted_only ? WB_DELETED_ONLY
                 : f->deleted    ? WB_DELETED_INCLUDE
                                 : WB_DELETED_EXCLUDE;
    for (size_t i = 0; i < f->states.n; i++)
        if ((rc = parse_states(c, f->states.items[i], &q->states)) != CLI_EXIT_OK)
            return rc;
    if (f->limit && (rc = parse_limit(c, f->limit, &q->limit)) != CLI_EXIT_OK)
        return rc;
    return CLI_EXIT_OK;
}
