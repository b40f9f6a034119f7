/*
 * db-sched-view.h: the plan as people see it (`hangar plan`, GET /plan,
 * GET /api/v1/plan): the last pass's figures, what holds each host now
 * and what waits, read in one snapshot as typed rows.
 */
#ifndef HANGAR_DB_SCHED_VIEW_H
#define HANGAR_DB_SCHED_VIEW_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

/*
 * Strings point into the query results, which the view keeps (results,
 * db/'s own) until db_sched_view_release(); NULL for NULL. Ids and times
 * (seconds since the epoch) are 0 for NULL: no id or plan is 0.
 */
struct sched_view_results;

/* The last pass (plan_state). */
struct sched_plan_state {
	const char *computed_at;    /* ISO 8601, UTC */
	int64_t age;                /* seconds since */
	const char *scheduler;
	double pass_ms;
	int queued, hosts, allocated;
};

/* A host (not retired) with one thing holding it now: a row per live
 * allocation, one with no holder for a host nothing holds; by name (C
 * collation), then share slot. */
struct sched_hold_row {
	const char *name, *arch, *state;
	int64_t flight;             /* the holding job's */
	const char *job;
	const char *job_status;
	const char *intent;         /* its flight's */
	int64_t reservation;        /* the holding reservation or blockage */
	const char *kind, *owner;   /* its */
	int64_t since, until;
	int shareix;                /* 0 whole, else its share slot */
};

/* A booking ahead: a waiting job, a waiting reservation, a waiting or
 * active blockage; by start (unplanned last), flight, job, id. */
struct sched_wait_row {
	const char *kind;           /* "job", "reservation" or "blockage" */
	int64_t flight;             /* a job's */
	const char *job;
	int64_t reservation;        /* a reservation's or blockage's id */
	int64_t start, end;         /* planned */
	const char *hosts;          /* planned, space separated */
	const char *reason;         /* why it waits */
	const char *owner;          /* a reservation's or blockage's */
	const char *intent;         /* a job's flight's */
};

struct sched_view {
	int64_t now;
	const struct sched_plan_state *state;   /* NULL before a first pass */
	struct sched_hold_row *hosts;
	size_t nhosts;
	struct sched_wait_row *waiting;
	size_t nwaiting;
	struct sched_view_results *results;
};

/* Reads the view in one read-only transaction; the caller
 * db_sched_view_release()s *v (on error it is empty). */
int db_sched_view(struct db *db, struct sched_view *v, struct err *err);
void db_sched_view_release(struct sched_view *v);

/*
 * The view as `hangar plan --json` and GET /api/v1/plan give it (the
 * shape is in cmd_plan_usage): a new reference, the caller's.
 */
json_t *db_sched_view_json(const struct sched_view *v);
/* What a waiting row or a holder row is, for people: "F.JOB",
 * "reservation R (OWNER)", a holding job with its status "F.JOB (running)".
 * A new string, the caller's (free); NULL for a host row nothing holds. */
char *db_sched_view_waiting_what(const struct sched_wait_row *w);
char *db_sched_view_holder_what(const struct sched_hold_row *h);
/* Whether host is one of the space-separated words of list (NULL: no). */
int db_sched_view_in_hosts(const char *list, const char *host);

#endif
