/*
 * db-flight.h: flights as rows: creating one (revisions, jobs expanded
 * from their definitions with runvars and dependencies), reading one with
 * its jobs, steps, logs and artifacts, listing, and cancelling.
 */
#ifndef HANGAR_DB_FLIGHT_H
#define HANGAR_DB_FLIGHT_H

#include <jansson.h>

#include "db.h"
#include "vec.h"

struct flight_spec {
	const char *branch;        /* or NULL */
	const char *intent;        /* gate adhoc bisect retest */
	const char *label;         /* or NULL */
	const char *requested_by;
	struct vec trees, revs;    /* the revision of each tree, full ids */
	struct vec jobs;           /* job definitions asked for */
	struct vec hosts;          /* pin the jobs asked for: host, host2, ... */
	struct vec runvars;        /* "name=value" for every job, overriding */
	/*
	 * A job needed by those asked for (a build) that is not asked for
	 * itself reuses the newest passing run built from the same
	 * revisions, when there is one, instead of running again.
	 */
	int reuse_builds;
	long reuse_from;           /* prefer this flight's builds, or 0 */
	/* for the gate: the target's revision of the branch's tree ("that") */
	const char *target_revision;
	int baseline_test;         /* tests the target itself: never pushed */
	long retest_of;            /* a retest keeps this flight's queue place */
	long bisection;            /* a bisection's flight, or 0 */
};

void flight_spec_init(struct flight_spec *s);
void flight_spec_release(struct flight_spec *s);

/*
 * Creates the flight (queued) in one transaction; *id gets its number.
 * ERR_USAGE for a job that has no definition, a host pin of the wrong
 * arch, and the like (nothing is created).
 */
int db_flight_create(struct db *db, const struct flight_spec *spec, long *id,
		     struct err *err);

/*
 * The flight with its revisions, jobs (status, attempt, hosts, runvars),
 * steps (status, times, log file relative to STATE/logs) and artifacts.
 * ERR_NOTFOUND when there is no such flight. *ret is a new reference.
 */
int db_flight_json(struct db *db, long id, json_t **ret, struct err *err);
/* Which flights a list shows: NULL / 0 fields match any. */
struct flight_filter {
	const char *branch, *intent, *status;
	const char *revision;      /* a prefix of a tested revision */
	long before;               /* only flights numbered below (pages) */
	int limit;                 /* 0: 100 */
};
/* The newest matching flights first: id, branch, intent, status,
 * verdict, times, job counts by status, requested_by, pushed, revisions. */
int db_flight_list_json(struct db *db, const struct flight_filter *f,
			json_t **ret, struct err *err);
/* Runs of job (a definition's name) across flights, newest first, of
 * branch if not NULL: flight, branch, intent, status, failed_step,
 * hosts, started, seconds. */
int db_job_history_json(struct db *db, const char *job, const char *branch,
			int limit, json_t **ret, struct err *err);
/* Status of each job, "JOB STATUS [STEP]" lines, for progress. */
int db_flight_progress(struct db *db, long id, char **status,
		       struct vec *lines, struct err *err);

/*
 * Cancels the flight: waiting jobs end cancelled at once, running ones
 * are asked to stop (their worker kills their commands). *jobs gets how
 * many jobs it touched. ERR_NOTFOUND, or ERR_EXISTS when it had ended.
 */
int db_flight_cancel(struct db *db, long id, int *jobs, struct err *err);

#endif
