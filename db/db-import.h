/*
 * db-import.h: the SQL of `hangar import osstest`: an OSSTest database
 * (read only, a REPEATABLE READ snapshot per batch) read with COPY, a
 * batch of flights at a time, into memory while hangar writes the batch
 * before; then steps COPYed straight into hangar's steps, the other
 * tables into temporary tables mapped onto hangar's by INSERT ... SELECT,
 * a transaction per batch, or one for the whole import when it is large
 * (the indexes of steps, and the secondary ones of runvars, are built
 * again at the end). The mapping
 * (reference §2): blessing to intent, OSSTest's job and step statuses to
 * hangar's, testid to step name, *buildjob runvars to job dependencies,
 * host runvars to allocations, built_revision_* (of the builds used) over
 * revision_* to the revisions a flight tested, resources to hosts.
 */
#ifndef HANGAR_DB_IMPORT_H
#define HANGAR_DB_IMPORT_H

#include "buf.h"
#include "db.h"
#include "vec.h"

/* What to import from a source. */
struct import_select {
	const char *source;        /* its name in hangar: "DBNAME@HOST" */
	const struct vec *branches;   /* only these (NULL or empty: all) */
	long since;                /* only flights from this one on (0: all) */
	long recheck;              /* imported flights looked at again for
				    * changes: the newest this many */
};

/* The flights to import, in order, and the ones left out. */
struct import_plan {
	struct vec flights;        /* new or changed, ascending */
	long fresh, changed;       /* of which new, changed */
	struct vec unfinished;     /* constructing or running there */
	long highest;              /* the source's highest flight number (all) */
};

void import_plan_release(struct import_plan *p);

/* Counts of one batch (added up by the caller). */
struct import_counts {
	long flights, jobs, steps, runvars;
};

/*
 * One batch of flights as read from the source and not yet written: the
 * COPY text of each of its tables, in memory. A batch at a time (two
 * while the next is read as one is written), so memory depends on the
 * batch size, never on how many batches.
 */
struct import_data {
	struct vec flights;        /* their numbers */
	struct buf flights_rows, jobs, steps, runvars, xbuilt, passes;
	struct import_counts c;
};

void import_data_init(struct import_data *d);
void import_data_release(struct import_data *d);

/* Checks that src has OSSTest's tables (ERR_USAGE naming what is missing)
 * and makes its session read only; creates db's temporary tables. */
int db_import_begin(struct db *src, struct db *db, struct err *err);
/* Hosts: resources, hostflags, resource_properties; *n hosts seen. */
int db_import_hosts(struct db *src, struct db *db, long *n, struct err *err);
/* Which flights to import; ERR_EXISTS when one of them has a number that
 * a flight of hangar's own (or of another source) already has. */
int db_import_plan(struct db *src, struct db *db, const struct import_select *sel,
		   struct import_plan *plan, struct err *err);
/*
 * Reads the flights into d (reset first), in one snapshot of src: what
 * db_import_write() needs, already in hangar's terms where the source can
 * say it (steps as rows of hangar's steps). Touches nothing of db's, nor
 * anything shared but src: it can run in a thread of its own while db
 * writes the batch before (src is the thread's meanwhile).
 */
int db_import_read(struct db *src, const struct vec *flights,
		   struct import_data *d, struct err *err);
/*
 * Writes a batch read by db_import_read(): its own transaction, unless
 * in_tx (the caller's, db_import_bulk_begin()'s, is open). It returns
 * with the last statements still running on db (the source can be read
 * meanwhile): db_import_write_wait() must follow, whatever it returned,
 * before db is used again. On error the batch's transaction is rolled
 * back (in_tx: the caller rolls back its own).
 */
int db_import_write(struct db *db, const char *source, struct import_data *d,
		    int in_tx, struct err *err);
int db_import_write_wait(struct db *db, int in_tx, struct err *err);

/*
 * Whether an import of nflights of src had better drop the secondary
 * indexes of steps and runvars (and the keys of steps) and build them
 * again at the end: when it brings at least a quarter as many steps as
 * hangar has (by the tables' statistics: a guess, which only changes the
 * speed).
 */
int db_import_bulk_wanted(struct db *src, struct db *db, size_t nflights,
			  int *yes, struct err *err);
/*
 * Opens the one transaction of a bulk import on db and drops those
 * indexes in it, their definitions into defs (the caller's: vec_clear()
 * it). db_import_bulk_end() builds them again and commits; on an error,
 * or a crash, the transaction is rolled back: the indexes are there and
 * nothing of the import is.
 */
int db_import_bulk_begin(struct db *db, struct vec *defs, struct err *err);
int db_import_bulk_end(struct db *db, const struct vec *defs, struct err *err);
/* Hangar's own flights continue above highest (the source's highest
 * number, finished or not) and every imported one. */
int db_import_reserve(struct db *db, long highest, struct err *err);

/* The source's name in hangar unless given: "DBNAME@HOST" ("localhost"
 * when libpq names no host), into buf of size bytes. */
void db_import_source_name(struct db *src, char *buf, size_t size);

/* An imported gate flight, as the baselines replay it. */
struct import_gate_flight {
	long id;
	char *revision;            /* of the branch's tree, or "" */
	char *target;              /* its target revision so far, or "" */
	int pushed;
};

/*
 * The gate flights of source on branch from flight `from` on (with the
 * newest judged one before it that tested the branch's tree, if any,
 * first), ascending. For the baselines (gate/import.c). *flights is the
 * caller's: db_import_gate_flights_free() it.
 */
int db_import_gate_flights(struct db *db, const char *source, const char *branch,
			   long from, struct import_gate_flight **flights,
			   size_t *n, struct err *err);
void db_import_gate_flights_free(struct import_gate_flight *flights, size_t n);

/* A branch of the imported flights, with its first imported gate flight. */
struct import_branch {
	char *name;
	long first;
};

/* The branches of the imported flights from `from` on, by name. *branches
 * is the caller's: db_import_branches_free() it. */
int db_import_branches(struct db *db, const char *source, long from,
		       struct import_branch **branches, size_t *n,
		       struct err *err);
void db_import_branches_free(struct import_branch *branches, size_t n);
/* A judged gate flight: its baseline, and what OSSTest did after it. */
int db_import_set_target(struct db *db, long flight, const char *target,
			 int baseline_test, int pushed, struct err *err);
/* Its report as judged when it ended (JSON text, the mail, the push). */
int db_import_set_report(struct db *db, long flight, const char *json,
			 const char *text, const char *push_log,
			 struct err *err);

#endif
