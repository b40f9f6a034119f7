/*
 * import.h: `hangar import osstest`: an OSSTest database brought into
 * hangar (db-import.h does the reading and the mapping), again and again:
 * each run imports the flights that are new there and the recent ones
 * that changed. Then each imported gate flight gets the baseline OSSTest
 * compared it with: the revision its branch had last pushed, found by
 * judging the flights before it in order as OSSTest's gate did (a flight
 * whose report was tolerable pushed its revision).
 */
#ifndef HANGAR_IMPORT_H
#define HANGAR_IMPORT_H

#include "db.h"
#include "vec.h"

struct import_opts {
	const char *dsn;           /* the OSSTest database (libpq conninfo) */
	const char *source;        /* its name in hangar, or NULL: DBNAME@HOST */
	const struct vec *branches;   /* only these, or NULL */
	long since;                /* only flights from this one on, or 0 */
	long recheck;              /* 0: 1000 */
	long batch;                /* flights per batch; 0: 100 */
	/* drop the indexes of steps (keys too) and the secondary ones of
	 * runvars and build them again at the end, all in one transaction:
	 * when the import brings at least a quarter as many steps as there
	 * are (AUTO), always, or never */
	enum { IMPORT_REBUILD_AUTO, IMPORT_REBUILD_ALWAYS,
	       IMPORT_REBUILD_NEVER } rebuild_indexes;
	int dry_run;               /* read and count; write nothing */
	/* called as it goes: phase "flights" after each batch (total known,
	 * rate in steps/s), "indexes" once before building them again,
	 * "baselines" every 100 gate flights judged (total 0); end = 1 once
	 * a phase is over */
	void (*progress)(void *arg, const char *phase, long done, long total,
			 double rate, int end);
	void *progress_arg;
};

struct import_result {
	char source[256];          /* "DBNAME@HOST" */
	long hosts, flights, fresh, changed, jobs, steps, runvars;
	long judged;               /* gate flights given a baseline */
	struct vec unfinished;     /* skipped: constructing or running there */
	long highest;
	double seconds, judge_seconds;
};

void import_result_release(struct import_result *r);

int import_osstest(struct db *db, const struct import_opts *o,
		   struct import_result *r, struct err *err);

#endif
