/*
 * db-report.h: what a flight's report needs from the database, as plain
 * rows: its jobs and failing steps, and for the failures what the history
 * says (did each ever pass on the branch, the step in each baseline
 * flight, a flight of the same new revisions where it passed). Every
 * question is an index probe keyed by the flight's revisions or by
 * (branch, job, step), so the cost does not grow with the number of
 * flights in the database. gate/report-load.c assembles the report.
 *
 * Strings returned are owned by the caller's pool (a vec of strings the
 * caller frees as one); "before" is 0 or a flight: then only the flights
 * below it count, as when that flight was judged.
 *
 * Each question comes in two halves, so that questions which do not
 * depend on each other's answers go in one batch (db.h's db_batch: one
 * round trip): db_report_X_ask adds it to the batch and returns its
 * index there; once db_batch_run succeeded, db_report_X_get(b, index,
 * ...) reads its answer from the batch.
 */
#ifndef HANGAR_DB_REPORT_H
#define HANGAR_DB_REPORT_H

#include "db.h"
#include "vec.h"

struct db_rep_flight {
	const char *branch, *intent, *status, *verdict;   /* branch: or NULL */
	const char *target_revision, *tree;   /* the branch's, or NULL */
	const char *allow;        /* the branch's allow lines, or NULL */
	const char *push_log;     /* or NULL */
	int pushed, baseline_test, push_starved;
	long retest_of, retest_flight;   /* 0: none */
};

/* ERR_NOTFOUND when there is no such flight. */
int db_report_flight_ask(struct db_batch *b, long flight);
int db_report_flight_get(struct db_batch *b, int i, long flight,
			 struct vec *pool, struct db_rep_flight *f,
			 struct err *err);
/* The revisions it tested, by tree. */
int db_report_revisions_ask(struct db_batch *b, long flight);
void db_report_revisions_get(struct db_batch *b, int i, struct vec *trees,
			     struct vec *revs);

/* A job, with one of the steps of its last attempt that did not pass. */
struct db_rep_row {
	const char *job, *status, *hosts;   /* hosts: space separated */
	int build;
	int stepno;                /* 0: none failed (then step is NULL) */
	const char *step, *step_status;
	const char *wait_reason;   /* why it starved, or NULL */
};
/* By job, then stepno. *rows is the caller's to free. */
int db_report_jobs_ask(struct db_batch *b, long flight);
void db_report_jobs_get(struct db_batch *b, int i, struct vec *pool,
			struct db_rep_row **rows, size_t *n);

/* For each (jobs[i], steps[i]): passed[i] = whether it ever passed on
 * branch (before "before"). passed has jobs->n entries. */
int db_report_ever_passed_ask(struct db_batch *b, const char *branch,
			      const struct vec *jobs, const struct vec *steps,
			      long before);
void db_report_ever_passed_get(struct db_batch *b, int i,
			       const struct vec *jobs, const struct vec *steps,
			       int *passed);

/*
 * The baseline flights of branch: those that tested revision rev of tree
 * (gate before bisect, newest first, at most OSSTest's 1000), not flight.
 * *ids is the caller's to free.
 */
int db_report_baselines_ask(struct db_batch *b, const char *tree,
			    const char *rev, const char *branch, long flight,
			    long before);
void db_report_baselines_get(struct db_batch *b, int i, long **ids, size_t *n);

/* A job of a baseline flight, with the failing step there if it ran. */
struct db_rep_obs {
	long flight;
	const char *job;
	const char *step, *status;   /* NULL: the step did not run there */
};
/* For the (jobs[i], steps[i]) pairs, in flights ids. */
int db_report_observations_ask(struct db_batch *b, const long *ids,
			       size_t nids, const struct vec *jobs,
			       const struct vec *steps);
void db_report_observations_get(struct db_batch *b, int i, struct vec *pool,
				struct db_rep_obs **rows, size_t *n);

/*
 * For each (jobs[i], steps[i]): pass_in[i] = the newest other finished
 * flight of branch (gate, bisect or retest) that tested rev of tree where
 * it passed, or 0. As of "before", the flights up to it and the retests
 * of main count.
 */
int db_report_pass_in_ask(struct db_batch *b, const char *tree,
			  const char *rev, const char *branch, long flight,
			  long before, long main, const struct vec *jobs,
			  const struct vec *steps);
void db_report_pass_in_get(struct db_batch *b, int i, const struct vec *jobs,
			   const struct vec *steps, long *pass_in);

/*
 * "Testing same since" and "Failing since" (from basis, if not 0), and
 * when each of those flights and basis started ("2024-05-21 01:42:42 Z",
 * NULL for none: flight 0 or no such flight; strings of pool) and how
 * many days ago.
 */
struct db_rep_since {
	long same_flight, same_attempts;
	long failing_flight, failing_attempts;
	const char *basis_started, *same_started, *failing_started;
	long basis_age, same_age, failing_age;
};
int db_report_since_ask(struct db_batch *b, const char *tree, const char *rev,
			const char *branch, long flight, long basis);
void db_report_since_get(struct db_batch *b, int i, struct vec *pool,
			 struct db_rep_since *s);

#endif
