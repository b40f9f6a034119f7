/*
 * job-run.h: running one claimed job: its recipe's steps in order on its
 * hosts, each recorded with status, times and a log; consoles captured for
 * the whole job; and the honest outcome: `fail` when the code under test
 * failed, `broken` when the lab did (power, SSH, upload, a host that never
 * came up, a lab action's time limit), with the host that caused it.
 */
#ifndef HANGAR_JOB_RUN_H
#define HANGAR_JOB_RUN_H

#include <signal.h>

#include "db-worker.h"
#include "wlink.h"

struct worker_conf {
	struct db_target target;
	const char *state;        /* absolute */
	const char *identity;     /* SSH private key, or NULL */
	const char *tftp;         /* TFTP root for boot entries, or NULL */
	const char *url;          /* the dashboard, for installers' reports */
	const char *owner;        /* "worker PID@HOST": lease owner and actor */
	const char *site;         /* the site whose jobs it claims (one
				   * beside the database: NULL for any) */
	int slots;
	long heartbeat, lease;    /* seconds */
	const char *health_check; /* default health-check recipe, or NULL */
	long health_interval;     /* seconds */
	const struct vec *logs;   /* default logs-capture files */
	long long max_log;        /* bytes */
	/* a remote worker (wlink-http.c): NULL controller for one beside
	 * the database */
	const char *controller;   /* the controller's URL */
	const char *name;         /* its name there */
	const char *token;        /* its site's worker token */
	const char *ca;           /* the CA file, or NULL: the system's */
};

/* Why a job stops early: someone cancelled it, the worker is stopping
 * (the job is then handed back to the queue), or the worker no longer
 * holds it (recovery took it over: nothing more is recorded). */
enum { JOB_RUN_GO = 0, JOB_RUN_CANCEL = 1, JOB_RUN_STOP = 2,
       JOB_RUN_LOST = 3 };

struct job_run {
	const struct worker_conf *conf;
	struct wlink *link;        /* the slot's: the database or controller */
	struct wjob *job;
	const volatile sig_atomic_t *cancel;   /* JOB_RUN_* */
};

/*
 * Runs the job to its end and records it (db_worker_finish): pass, fail,
 * broken (after one re-queue on other hosts for lab trouble), blocked,
 * cancelled, or back to the queue when the worker stops. Returns 0, or an
 * error when the link failed (the lease then expires and recovery takes
 * over).
 */
int job_run(struct job_run *r, struct err *err);

#endif
