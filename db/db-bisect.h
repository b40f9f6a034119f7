/*
 * db-bisect.h: bisections as rows: starting one for a regression, what a
 * step needs (its flights, the results on its hosts), and its outcome.
 */
#ifndef HANGAR_DB_BISECT_H
#define HANGAR_DB_BISECT_H

#include <jansson.h>

#include "db.h"
#include "vec.h"

struct bisection {
	long id;
	char *branch, *job, *step, *status;
	long basis_flight, failure_flight;
	struct vec hosts;            /* where the failure happened: sorted */
};

void bisection_release(struct bisection *b);

/*
 * Starts a bisection of job/step on branch between basis_flight (a pass)
 * and failure_flight, on the hosts the job had in failure_flight; *id
 * gets its number. ERR_EXISTS (and *id the running one) when one runs
 * for it already; ERR_USAGE when the job held no host there.
 */
int db_bisect_start(struct db *db, const char *branch, const char *job,
		    const char *step, long basis_flight, long failure_flight,
		    const char *started_by, long *id, struct err *err);
/* The newest gate flight of branch where job/step failed and the newest
 * one before it where it passed; ERR_NOTFOUND when there is no such pair. */
int db_bisect_find_pair(struct db *db, const char *branch, const char *job,
			const char *step, long *basis, long *failure,
			struct err *err);
/* The running bisections. */
int db_bisect_running(struct db *db, struct vec *ids, struct err *err);
/* ERR_NOTFOUND for none. */
int db_bisect_get(struct db *db, long id, struct bisection *b, struct err *err);
/* Its unfinished flight, or 0. */
int db_bisect_open_flight(struct db *db, long id, long *flight,
			  struct err *err);
/* The revision of each tree a flight tested, in two parallel vecs. */
int db_bisect_revisions(struct db *db, long flight, struct vec *trees,
			struct vec *revs, struct err *err);

/* A flight's result on the bisection's hosts. */
struct bisection_result {
	long flight;
	char *status;              /* of the step ("missing": it did not run) */
	struct vec revs;           /* its revisions of the trees asked for, in
				    * their order ("" for one it did not test) */
};

/*
 * The results on the bisection's hosts: each finished flight of its
 * branch (gate, retest, bisect) from the basis on, whose job ran on
 * exactly those hosts, in flight order. *results is the caller's:
 * db_bisect_results_free() it.
 */
int db_bisect_results(struct db *db, const struct bisection *b,
		      const struct vec *trees, struct bisection_result **results,
		      size_t *n, struct err *err);
void db_bisect_results_free(struct bisection_result *results, size_t n);

/* *n: the flights of bisection id that tested revs (of trees). */
int db_bisect_identical(struct db *db, long id, const struct vec *trees,
			const struct vec *revs, long *n, struct err *err);

/*
 * Whether the newest flight of bisection id ended with its job broken
 * because a host it was pinned to stayed broken, in maintenance or
 * retired for [scheduler] pinned-wait (db_sched_end_pinned()): *reason
 * gets the job's broken reason (a new string, the caller's), else NULL.
 */
int db_bisect_host_gone(struct db *db, long id, char **reason,
			struct err *err);

/* Progress: the graph and the last step, in detail. */
int db_bisect_progress(struct db *db, long id, const char *detail_json,
		       struct err *err);
/* The end: status, the culprit (tree NULL if none), detail and report.
 * 1 when this call ended it, 0 when it had ended already. */
int db_bisect_finish(struct db *db, long id, const char *status,
		     const char *tree, const char *commit, const char *parent,
		     const char *detail_json, const char *report_text,
		     struct err *err);

/* As `bisect list --json` (id NULL) or one bisection ({"id"...}). */
int db_bisect_json(struct db *db, const char *id, json_t **ret,
		   struct err *err);

#endif
