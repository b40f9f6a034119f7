/*
 * db-import.h: the SQL of `hangar import osstest`: an OSSTest database
 * (read only, a REPEATABLE READ snapshot per batch) streamed with COPY into
 * temporary tables of hangar's, then mapped onto hangar's tables by
 * INSERT ... SELECT, a batch of flights per transaction. The mapping
 * (reference §2): blessing to intent, OSSTest's job and step statuses to
 * hangar's, testid to step name, *buildjob runvars to job dependencies,
 * host runvars to allocations, built_revision_* (of the builds used) over
 * revision_* to the revisions a flight tested, resources to hosts.
 */
#ifndef HANGAR_DB_IMPORT_H
#define HANGAR_DB_IMPORT_H

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

/* Checks that src has OSSTest's tables (ERR_USAGE naming what is missing)
 * and makes its session read only; creates db's temporary tables. */
int db_import_begin(struct db *src, struct db *db, struct err *err);
/* Hosts: resources, hostflags, resource_properties; *n hosts seen. */
int db_import_hosts(struct db *src, struct db *db, long *n, struct err *err);
/* Which flights to import; ERR_EXISTS when one of them has a number that
 * a flight of hangar's own (or of another source) already has. */
int db_import_plan(struct db *src, struct db *db, const struct import_select *sel,
		   struct import_plan *plan, struct err *err);
/* Imports (or updates) the flights in one transaction of db. */
int db_import_batch(struct db *src, struct db *db, const char *source,
		    const struct vec *flights, struct import_counts *c,
		    struct err *err);
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
