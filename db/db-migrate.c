/*
 * db-migrate.c: applying the embedded migrations in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-migrate.h"
#include "db-migrations-data.h"
#include "xalloc.h"
#include "banned.h"

/* Any constant will do, as long as nothing else of ours uses it. */
#define DB_MIGRATE_LOCK "7411001"

static const char create_table[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version int PRIMARY KEY,"
	" name text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";

int db_migrate_latest(void)
{
	int v = 0;

	for (const struct db_migration_src *m = db_migration_srcs; m->name; m++)
		v = m->version;
	return v;
}

/* Whether schema_migrations exists yet (a new database has none). */
static int db_migrate_table_exists(struct db *db, int *exists,
				   struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT to_regclass('schema_migrations') IS NOT NULL",
				 0, NULL);

	if (!res)
		return err->code;
	*exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

/*
 * The versions applied, in order (none in a new database, which has no
 * schema_migrations yet). Every command asks it, in db_open: outside a
 * transaction in one round trip, the missing table known by its error
 * (undefined_table) rather than asked about first; inside one, where
 * that error would abort it, in two.
 */
static int db_migrate_applied(struct db *db, int **versions, size_t *n,
			      struct err *err)
{
	static const char sql[] =
		"SELECT version FROM schema_migrations ORDER BY version";
	PGresult *res;
	const char *state;
	int exists = 1;

	*versions = NULL;
	*n = 0;
	if (!db_idle(db) && db_migrate_table_exists(db, &exists, err) < 0)
		return err->code;
	if (!exists)
		return 0;
	res = PQexecParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state && !strcmp(state, "42P01")) {
			PQclear(res);
			return 0;
		}
		err_set(err, ERR_DB, "database: %s: %.*s", sql,
			(int)strcspn(PQresultErrorMessage(res), "\n"),
			PQresultErrorMessage(res));
		PQclear(res);
		return ERR_DB;
	}
	*n = (size_t)PQntuples(res);
	*versions = xcalloc(*n + 1, sizeof(int));
	for (size_t i = 0; i < *n; i++)
		(*versions)[i] = (int)strtol(PQgetvalue(res, (int)i, 0), NULL,
					     10);
	PQclear(res);
	return 0;
}

static int db_migrate_has(const int *versions, size_t n, int v)
{
	for (size_t i = 0; i < n; i++)
		if (versions[i] == v)
			return 1;
	return 0;
}

int db_migrate_pending(struct db *db, int *pending, struct err *err)
{
	int *versions;
	size_t n;
	int rc = db_migrate_applied(db, &versions, &n, err);

	if (rc < 0)
		return rc;
	*pending = 0;
	for (const struct db_migration_src *m = db_migration_srcs; m->name; m++)
		if (!db_migrate_has(versions, n, m->version))
			(*pending)++;
	if (n && versions[n - 1] > db_migrate_latest())
		rc = err_set(err, ERR_FAIL,
			     "database schema version %d is newer than this hangar's (%d): upgrade hangar",
			     versions[n - 1], db_migrate_latest());
	free(versions);
	return rc;
}

static int db_migrate_one(struct db *db, const struct db_migration_src *m,
			  struct err *err)
{
	char version[16];
	const char *params[2] = { version, m->name };
	PGresult *res;
	int rc;

	snprintf(version, sizeof(version), "%d", m->version);
	rc = db_begin(db, err);
	if (rc < 0)
		return rc;
	/* PQexec: a migration is several statements, with no parameters */
	res = PQexec(db->conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = err_set(err, ERR_DB, "migration %04d-%s: %.*s",
			     m->version, m->name,
			     (int)strcspn(PQresultErrorMessage(res), "\n"),
			     PQresultErrorMessage(res));
		PQclear(res);
		db_rollback(db);
		return rc;
	}
	PQclear(res);
	rc = db_exec(db, err,
		     "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
		     2, params);
	if (rc == 0)
		rc = db_commit(db, err);
	if (rc < 0)
		db_rollback(db);
	return rc;
}

int db_migrate(struct db *db, FILE *progress, struct err *err)
{
	int *versions = NULL;
	size_t n = 0;
	int rc, applied = 0;

	rc = db_exec(db, err, "SELECT pg_advisory_lock(" DB_MIGRATE_LOCK ")", 0,
		     NULL);
	if (rc < 0)
		return rc;
	rc = db_exec(db, err, create_table, 0, NULL);
	if (rc == 0)
		rc = db_migrate_applied(db, &versions, &n, err);
	if (rc == 0 && n && versions[n - 1] > db_migrate_latest())
		rc = err_set(err, ERR_FAIL,
			     "database schema version %d is newer than this hangar's (%d): upgrade hangar",
			     versions[n - 1], db_migrate_latest());
	for (const struct db_migration_src *m = db_migration_srcs;
	     rc == 0 && m->name; m++) {
		if (db_migrate_has(versions, n, m->version))
			continue;
		if (progress)
			fprintf(progress, "applying %04d-%s\n", m->version,
				m->name);
		rc = db_migrate_one(db, m, err);
		applied++;
	}
	if (rc == 0 && progress && !applied)
		fprintf(progress, "database is up to date (version %d)\n",
			db_migrate_latest());
	free(versions);
	PQclear(PQexec(db->conn, "SELECT pg_advisory_unlock(" DB_MIGRATE_LOCK ")"));
	return rc;
}

int db_migrate_status(struct db *db, struct db_migration_state **list,
		      size_t *n, struct err *err)
{
	struct db_migration_state *l = NULL;
	PGresult *res = NULL;
	size_t count = 0, alloc = 0;
	int exists = 0;

	if (db_migrate_table_exists(db, &exists, err) < 0)
		return err->code;
	if (exists) {
		res = db_query(db, err,
			       "SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', "
			       "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
			       "FROM schema_migrations ORDER BY version",
			       0, NULL);
		if (!res)
			return err->code;
	}
	for (const struct db_migration_src *m = db_migration_srcs; m->name; m++) {
		XGROW(l, alloc, count + 1);
		l[count].version = m->version;
		l[count].name = xstrdup(m->name);
		l[count].applied_at = NULL;
		l[count].known = 1;
		count++;
	}
	for (int i = 0; res && i < PQntuples(res); i++) {
		int v = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
		size_t k;

		for (k = 0; k < count && l[k].version != v; k++)
			;
		if (k == count) {
			XGROW(l, alloc, count + 1);
			l[count].version = v;
			l[count].name = xstrdup(PQgetvalue(res, i, 1));
			l[count].known = 0;
			count++;
		}
		l[k].applied_at = xstrdup(PQgetvalue(res, i, 2));
	}
	PQclear(res);
	*list = l;
	*n = count;
	return 0;
}

void db_migrate_status_free(struct db_migration_state *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].applied_at);
	}
	free(list);
}
