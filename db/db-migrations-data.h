/*
 * db-migrations-data.h: the embedded migrations, generated at build time
 * from db/migrations/NNNN-name.sql by db/embed-migrations.sh.
 */
#ifndef HANGAR_DB_MIGRATIONS_DATA_H
#define HANGAR_DB_MIGRATIONS_DATA_H

struct db_migration_src {
	int version;
	const char *name;
	const char *sql;
};

/* In version order, terminated by { 0, NULL, NULL }. */
extern const struct db_migration_src db_migration_srcs[];

#endif
