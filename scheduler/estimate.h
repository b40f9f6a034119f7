/*
 * estimate.h: duration estimates and host history from finished runs,
 * kept in memory and fed incrementally (only runs finished since the last
 * look), so a planning pass never scans history in the database.
 *
 * The estimate of a job on a host is the longest of its last EST_KEEP
 * runs there (pass or fail) within the window (14 days); without runs on
 * that host, the longest of its last runs anywhere; without any, the
 * configured default. OSSTest takes the same maximum over 14 days: a
 * pessimistic estimate keeps backfill from delaying the jobs ahead.
 */
#ifndef HANGAR_ESTIMATE_H
#define HANGAR_ESTIMATE_H

#include "plan.h"
#include "strmap.h"

#define EST_KEEP 10

struct est_run {
	int64_t flight;
	plan_time start, dur;
	int failed;
	int host;            /* interned host name */
};

struct est_ring {
	struct est_run r[EST_KEEP];
	int n, next;
};

struct est_host {
	int host;
	struct est_ring ring;
};

struct est_job {
	struct est_ring all;
	struct est_host *hosts;
	size_t nhosts, alloc;
	/* the last lookup's answer, while no run comes and the clock
	 * stays: a pass asks for every job name of the queue */
	struct plan_history *last;
	size_t nlast, last_alloc;
	plan_time last_now, last_dur;
	int last_valid;
};

struct estimates {
	plan_time window;        /* seconds of history that count */
	plan_time default_dur;   /* a job never seen */
	struct strmap jobs;      /* name -> index into v */
	struct est_job *v;
	size_t n, alloc;
	struct strmap hostnames; /* host name -> id */
};

void est_init(struct estimates *e, plan_time window, plan_time default_dur);
void est_release(struct estimates *e);
/* Records a finished run; a run already recorded is ignored. */
void est_add(struct estimates *e, int64_t flight, const char *job,
	     const char *host, int failed, plan_time start, plan_time finished);

/*
 * The estimate of job for the planner: *duration anywhere, and one
 * plan_history per host it ran on recently (host: its id in hostnames;
 * the caller maps ids to plan host indices). Returns the count written to
 * hist (at most max).
 */
size_t est_lookup(struct estimates *e, const char *job, plan_time now,
		  plan_time *duration, struct plan_history *hist, size_t max);

#endif
