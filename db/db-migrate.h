/*
 * db-migrate.h: the numbered schema migrations (db/migrations/NNNN-name.sql,
 * embedded in the binary), each applied in its own transaction and
 * recorded in schema_migrations. An advisory lock keeps two processes from
 * migrating at once.
 */
#ifndef HANGAR_DB_MIGRATE_H
#define HANGAR_DB_MIGRATE_H

#include <stdio.h>

#include "db.h"

struct db_migration_state {
	int version;
	char *name;
	char *applied_at;   /* NULL: pending */
	int known;          /* 0: in the database but not in this binary */
};

/* Applies pending migrations, naming each on progress (if not NULL). */
int db_migrate(struct db *db, FILE *progress, struct err *err);
/* How many migrations of this binary are not applied. */
int db_migrate_pending(struct db *db, int *pending, struct err *err);
/* Every migration known here or applied there; free with the function below. */
int db_migrate_status(struct db *db, struct db_migration_state **list,
		      size_t *n, struct err *err);
void db_migrate_status_free(struct db_migration_state *list, size_t n);
/* The newest version this binary knows. */
int db_migrate_latest(void);

#endif
