/*
 * db-worker.h: what a worker reads and writes: claiming a job whose hosts
 * are allocated (FOR UPDATE SKIP LOCKED), everything it needs to run it,
 * the lease heartbeat, steps, synth runvars, artifacts, and the end of the
 * job (finished, or re-queued once after lab trouble). Also the health
 * checks that bring broken hosts back.
 */
#ifndef HANGAR_DB_WORKER_H
#define HANGAR_DB_WORKER_H

#include <jansson.h>

#include "db.h"
#include "labconf.h"
#include "vec.h"

struct wjob_host {
	char *ident;          /* "host", "host2", ... */
	char *name, *arch, *address, *user, *workdir, *power, *console;
	char *ssh_host_key;   /* pinned key, or NULL */
	int port, boot_timeout, cycle_time;
	json_t *power_config; /* owned */
};

struct wjob_step {
	enum step_kind kind;
	char *name, *command; /* command may be NULL */
	long timeout;         /* seconds; 0: the kind's default */
	char *cases;          /* test cases from its output (see lab_step),
			       * or NULL */
};

struct wjob_dep {
	long flight;
	char *job;
	char *status;
};

struct wjob_tree {
	char *name, *revision, *url;
};

/* A claimed job and everything needed to run it; strings owned. */
struct wjob {
	long flight;
	char *job, *recipe, *arch, *intent, *branch;
	char *primary_tree;   /* the branch's gated tree, else the only one */
	int attempt, lab_retries;
	int last_step;        /* its steps so far, all attempts: the worker
			       * numbers the next ones itself */
	int health_check;     /* a health check of hosts[0] */
	struct vec runvars;   /* "name=value", by name */
	struct wjob_host *hosts;
	size_t nhosts;
	struct wjob_step *steps;
	size_t nsteps;
	struct vec artifacts; /* the recipe's globs */
	struct wjob_tree *trees;
	size_t ntrees;
	struct wjob_dep *deps;
	size_t ndeps;
};

void wjob_release(struct wjob *j);
/* The value of runvar name, or NULL; owned by j. */
const char *wjob_runvar(const struct wjob *j, const char *name);

/*
 * Claims the oldest job that was given hosts and that no worker holds,
 * whose hosts are all of site (NULL: any site): it becomes running, owned
 * by owner, with a lease of lease_s seconds, run by harness (the
 * worker's `hangar --version`, kept as jobs.harness for the evidence
 * records; NULL: unknown). Returns 1 and fills j, 0 when there is none,
 * or an error.
 */
int db_worker_claim(struct db *db, const char *owner, long lease_s,
		    const char *site, const char *harness, struct wjob *j,
		    struct err *err);

/*
 * Claims a health check: the broken host that waited longest since its
 * last check (at least interval_s ago), free of allocations, with a
 * health-check recipe (its own, else default_recipe). Creates a flight
 * (ad hoc, label "health-check") with one running job on it, owned by
 * owner, run by harness (as db_worker_claim's). Returns 1 and fills j, 0
 * when there is none, or an error.
 */
int db_worker_claim_health(struct db *db, const char *owner, long lease_s,
			   const char *site, const char *default_recipe,
			   long interval_s, const char *harness, struct wjob *j,
			   struct err *err);

/*
 * Renews the leases of the n jobs (flights[i], jobs[i]) owner runs: only
 * those, so a job this worker could not end loses its lease and recovery
 * takes it over. The jobs still held are pushed to held as "FLIGHT.JOB"
 * (one missing was taken over, or has just ended), those someone asked
 * to cancel to cancelled.
 */
int db_worker_heartbeat(struct db *db, const char *owner, long lease_s,
			const long *flights, const char *const *jobs, size_t n,
			struct vec *held, struct vec *cancelled, struct err *err);
/* The same, each job only at its attempt (attempts[i]): a remote
 * worker's heartbeat (the worker protocol). */
int db_worker_renew(struct db *db, const char *owner, long lease_s,
		    const long *flights, const char *const *jobs,
		    const int *attempts, size_t n, struct vec *held,
		    struct vec *cancelled, struct err *err);
/*
 * A remote worker's complete list of the n jobs it runs: any other job
 * owner holds whose lease was last renewed (or claimed) over grace_s
 * seconds ago is not running anywhere (a claim whose answer never
 * reached the worker, a worker restarted under the same name): its lease
 * ends now, and the scheduler's reclaim recovers it as any lease that
 * ran out. Pushes those as "FLIGHT.JOB" to dropped.
 */
int db_worker_drop_unlisted(struct db *db, const char *owner, long lease_s,
			    long grace_s, const long *flights,
			    const char *const *jobs, size_t n,
			    struct vec *dropped, struct err *err);

/*
 * What host said its firmware was while it served j (the evidence
 * records, docs/evidence.md): the allocations.firmware of its newest
 * allocation to j. Setting it again is harmless.
 */
int db_worker_firmware(struct db *db, const struct wjob *j, const char *host,
		       const char *firmware, struct err *err);

/* Pins a host's SSH key on first use (see db-hostkey.h). */

/*
 * The steps of a job are numbered on across attempts by the worker that
 * holds it (from wjob.last_step), so that it can run them while the
 * database is away and record them later: at is when it happened (epoch
 * seconds; 0: now). Recording a step's start twice keeps the first. Only
 * while owner holds the running job: ERR_EXISTS once recovery took it.
 * The log file of step stepno, relative to STATE/logs: "F/J/N.NAME.log"
 * (caller frees).
 */
char *db_worker_step_logfile(const struct wjob *j, int stepno,
			     const char *name);
int db_worker_step_begin(struct db *db, const struct wjob *j,
			 const char *owner, int stepno, const char *kind,
			 const char *name, double at, struct err *err);
/* Ends a step: pass, fail, broken or cancelled; detail may be NULL. */
int db_worker_step_end(struct db *db, const struct wjob *j,
		       const char *owner, int stepno, const char *status,
		       const char *detail, double at, struct err *err);
/*
 * Records the test cases of step parent (number parent_no), read from its
 * output: case i is step first + i, "PARENT/NAME" of kind run, with its
 * status (pass, fail or skip) and detail ("" for none), and the parent's
 * log; at as above. One statement however many (10,000 in well under a
 * second); written twice, the first stands; ERR_EXISTS once the job is
 * not owner's.
 */
int db_worker_cases_add(struct db *db, const struct wjob *j,
			const char *owner, const char *parent, int parent_no,
			int first, const struct vec *names,
			const struct vec *statuses, const struct vec *details,
			double at, struct err *err);
/*
 * Whether owner still holds the running job (renewing its lease if so):
 * 1, 0 when recovery took it over, or an error. Asked before a worker
 * writes what it held through a database outage.
 */
int db_worker_holds(struct db *db, const struct wjob *j, const char *owner,
		    long lease_s, struct err *err);
/* Whether a step of this kind counts as a test step (crash recovery). */
int db_worker_step_is_test(enum step_kind kind);

/* Sets a synth runvar (an output of the job, e.g. built_revision_xen). */
int db_worker_runvar_set(struct db *db, const struct wjob *j,
			 const char *name, const char *value, struct err *err);

/* Records an artifact of the job. */
int db_worker_artifact_add(struct db *db, const struct wjob *j,
			   const char *path, const char *sha256,
			   long long size, struct err *err);

struct wartifact {
	char *path, *sha256;
	long long size;
};
/* The artifacts of job (flight, job), by path. */
int db_worker_artifacts(struct db *db, long flight, const char *job,
			struct wartifact **a, size_t *n, struct err *err);
void db_worker_artifacts_free(struct wartifact *a, size_t n);

/*
 * Ends the job: status pass, fail, broken or cancelled, with reason
 * (broken_reason) for broken; releases its hosts. With requeue the job
 * goes back to the queue for another attempt on other hosts instead
 * (lab_retry counts it against the one retry lab trouble gets). Only
 * while owner still holds it: ERR_EXISTS if its lease was lost.
 */
int db_worker_finish(struct db *db, const struct wjob *j, const char *owner,
		     const char *status, const char *reason, int requeue,
		     int lab_retry, struct err *err);
/* The same, only at attempt j->attempt: a remote worker's finish. */
int db_worker_finish_attempt(struct db *db, const struct wjob *j,
			     const char *owner, const char *status,
			     const char *reason, int requeue, int lab_retry,
			     struct err *err);

/* Marks a host broken (lab trouble), with the job that found it. */
int db_worker_host_broken(struct db *db, const char *host, const char *reason,
			  const struct wjob *j, struct err *err);
/* A health check passed: the host is free again. */
int db_worker_host_healthy(struct db *db, const char *host,
			   const struct wjob *j, struct err *err);

/*
 * host-install: records an installation of host by the job with its
 * one-time token (32 hex digits), and asks whether it was reported back
 * (*reported 1) yet.
 */
int db_worker_install_begin(struct db *db, const struct wjob *j,
			    const char *host, const char *token,
			    struct err *err);
int db_worker_install_reported(struct db *db, const char *token,
			       int *reported, struct err *err);
/* The host was installed afresh: it needs no reinstall any more. */
int db_worker_host_installed(struct db *db, const char *host,
			     struct err *err);

/*
 * ---- the controller's side of the worker protocol (web/web-worker.c) ----
 */

/*
 * Whether job (flight, job) is of site: it was given hosts, all of that
 * site (its allocations, released or not). 1, 0 when not (or there is no
 * such job), or an error. What the job is of another site is to a
 * remote worker: a job that does not exist.
 */
int db_worker_job_of_site(struct db *db, long flight, const char *job,
			  const char *site, struct err *err);

/*
 * Inside a transaction: whether owner holds the running job at attempt,
 * locking its row (FOR UPDATE) so that recovery cannot take it before
 * the transaction ends. 1, 0 when not, or an error.
 */
int db_worker_lock_held(struct db *db, long flight, const char *job,
			const char *owner, int attempt, struct err *err);

/* Whether host is one of the job's hosts (any of its allocations). */
int db_worker_job_has_host(struct db *db, long flight, const char *job,
			   const char *host, struct err *err);

/* Whether (dflight, djob) is a dependency of (flight, job). */
int db_worker_job_has_dep(struct db *db, long flight, const char *job,
			  long dflight, const char *djob, struct err *err);

/* Whether an artifacts row names a blob of this SHA-256. */
int db_worker_blob_named(struct db *db, const char *sha256, struct err *err);

/* The revision of tree in the flight and the tree's URL (each caller
 * frees): ERR_NOTFOUND when the flight has no such tree. */
int db_worker_tree(struct db *db, long flight, const char *tree,
		   char **revision, char **url, struct err *err);

/* The remote workers as last heard from, by site and name:
 * [{"site", "name", "last_seen", "seconds_ago", "address", "version",
 *   "running", "spool_bytes", "spool_files"}] (a new reference). */
int db_worker_list_json(struct db *db, json_t **ret, struct err *err);

/* The late records of a job, oldest first: [{"received", "attempt",
 * "owner", "record"}] (a new reference). */
int db_worker_late_json(struct db *db, long flight, const char *job,
			json_t **ret, struct err *err);

/* Keeps what a worker sent after it lost the job (record: JSON text) as
 * evidence, in late_records. */
int db_worker_late_add(struct db *db, long flight, const char *job,
		       int attempt, const char *owner, const char *record,
		       struct err *err);

/*
 * A remote worker was heard from: its workers row (site, name) gets
 * last_seen = now, its address and version (NULL: kept), its running
 * jobs (< 0: kept) and spool backlog (< 0: kept).
 */
int db_worker_seen(struct db *db, const char *site, const char *name,
		   const char *address, const char *version, int running,
		   long long spool_bytes, long long spool_files,
		   struct err *err);

/* As db_worker_install_reported, for an installation of a host of site
 * only: ERR_NOTFOUND for another's, or an unknown token. */
int db_worker_install_reported_site(struct db *db, const char *token,
				    const char *site, int *reported,
				    struct err *err);

/* NOTIFY hangar_work "worker stopping": wakes the idle slots that LISTEN
 * there (other workers' wake too, and go back to sleep). */
int db_worker_notify_stopping(struct db *db, struct err *err);

#endif
