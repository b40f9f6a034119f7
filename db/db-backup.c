/*
 * db-backup.c: pg_dump and pg_restore run on the lab's database. The
 * formats and the consistency are PostgreSQL's own; here they are only
 * pointed at the right server and their failures put into words.
 */
#include <stdlib.h>
#include <string.h>

#include "db-backup.h"
#include "proc.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

#ifndef HANGAR_PG_BINDIR
#define HANGAR_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

/* The conninfo pg_dump or pg_restore connects with (caller frees). */
static char *backup_conninfo(const struct db_target *t)
{
	return t->database ? xstrdup(t->database)
			   : db_private_conninfo(t->state);
}

static int backup_run(const char *prog, struct vec *args, const char *what,
		      struct err *err)
{
	const char *bindir = getenv("HANGAR_PG_BINDIR");
	struct proc_opts opts = { .cwd = "/" };
	struct vec argv = VEC_INIT;
	struct buf out;
	int rc;

	buf_init(&out, 64 << 10);
	vec_pushf(&argv, "%s/%s", bindir ? bindir : HANGAR_PG_BINDIR, prog);
	for (size_t i = 0; i < args->n; i++)
		vec_push(&argv, args->v[i]);
	rc = proc_run(vec_argv(&argv), &opts, &out, err);
	if (rc > 0) {
		buf_rtrim(&out);
		rc = err_set(err, ERR_FAIL, "%s: %s failed (exit %d): %s", what,
			     prog, rc, out.buf);
	}
	vec_clear(&argv);
	buf_release(&out);
	return rc < 0 ? rc : 0;
}

int db_backup_dump(const struct db_target *target, const char *file,
		   struct err *err)
{
	struct vec args = VEC_INIT;
	struct db *db;
	char *conninfo;
	int rc;

	/* the private cluster runs (and is migrated) before pg_dump reads it */
	rc = db_open(target, &db, err);
	if (rc < 0)
		return rc;
	db_close(db);
	conninfo = backup_conninfo(target);
	vec_push(&args, "--format=custom");
	vec_push(&args, "--no-owner");
	vec_push(&args, "--no-privileges");
	vec_pushf(&args, "--file=%s", file);
	vec_pushf(&args, "--dbname=%s", conninfo);
	rc = backup_run("pg_dump", &args, "dumping the database", err);
	vec_clear(&args);
	free(conninfo);
	return rc;
}

int db_backup_restore(const struct db_target *target, const char *file,
		      struct err *err)
{
	struct vec args = VEC_INIT;
	PGresult *res;
	struct db *db;
	char *conninfo;
	int rc;

	/* makes and starts a private cluster, with an empty database */
	rc = db_open_raw(target, &db, err);
	if (rc < 0)
		return rc;
	res = db_query(db, err,
		       "SELECT to_regclass('schema_migrations') IS NOT NULL", 0,
		       NULL);
	if (!res) {
		rc = err->code;
	} else if (!strcmp(db_str(res, 0, 0), "t")) {
		rc = err_set(err, ERR_EXISTS,
			     "database %s already holds a lab: a backup is restored into an empty one",
			     db->where);
	}
	PQclear(res);
	db_close(db);
	if (rc < 0)
		return rc;
	conninfo = backup_conninfo(target);
	vec_push(&args, "--no-owner");
	vec_push(&args, "--no-privileges");
	vec_push(&args, "--exit-on-error");
	vec_push(&args, "--single-transaction");
	vec_pushf(&args, "--dbname=%s", conninfo);
	vec_push(&args, file);
	rc = backup_run("pg_restore", &args, "restoring the database", err);
	vec_clear(&args);
	free(conninfo);
	return rc;
}
