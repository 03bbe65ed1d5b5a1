/*
 * schema.h - numbered migrations compiled from schema/NNN_name.sql.
 */
#ifndef WB_SCHEMA_H
#define WB_SCHEMA_H

#include <stddef.h>

typedef struct wb_migration {
    int number;       /* NNN from the file name; versions are 1, 2, 3, … */
    const char *name; /* file name */
    const char *sql;
} wb_migration;

extern const wb_migration wb_schema__migrations[];
extern const size_t wb_schema__migration_count;

#endif
