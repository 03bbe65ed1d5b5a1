/* version.c - library and schema version queries. */
#include "common.h"
#include "schema.h"

const char *wb_version(void)
{
    return WB_VERSION;
}

int wb_version_number(void)
{
    return WB_VERSION_NUMBER;
}

int wb_schema_version(void)
{
    return wb_schema__migrations[wb_schema__migration_count - 1].number;
}
