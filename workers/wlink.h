/*
 * wlink.h: a worker's link to the lab's truth. Everything a worker asks
 * of it or tells it (claims, leases, what a running job records, host
 * keys, installations, the artifacts a job needs, its logs and trees)
 * goes through one small ops table with two backends:
 *
 *   wlink-db.c    a worker beside the database: its own connection per
 *                 thread, the db_worker_* calls, logs and artifacts
 *                 written straight into the shared STATE;
 *   wlink-http.c  a remote worker of one site: the controller's
 *                 /api/v1/worker/ routes over HTTPS (docs/api.md,
 *                 section 7); logs, artifacts and trees travel too.
 *
 * A struct wlink is one thread's: neither backend is thread-safe.
 * A link that drops is handled the same way for both (jobrec.c holds the
 * records of a running job until it is back): ok() says whether the last
 * call reached the other end, keep() tries to get it back.
 */
#ifndef HANGAR_WLINK_H
#define HANGAR_WLINK_H

#include <signal.h>

#include "db-worker.h"
#include "wire.h"

struct worker_conf;

/* The link's state for a daemon's log, as db_keep's. */
enum wlink_state { WLINK_UP, WLINK_LOST, WLINK_DOWN, WLINK_BACK };

struct wlink;

struct wlink_ops {
	/* Whether the last call reached the other end. */
	int (*ok)(struct wlink *l);
	/* While it is down: tries again (at most once per back-off). */
	enum wlink_state (*keep)(struct wlink *l, struct err *err);
	/* Lost and not back yet. */
	int (*down)(struct wlink *l);
	/* Milliseconds until keep() tries again (0 while up). */
	int (*wait_ms)(struct wlink *l);
	/* Says LOST (with err) and BACK in the daemon's log. */
	void (*log_state)(struct wlink *l, enum wlink_state st,
			  const struct err *err);

	/*
	 * Claims a job of the worker's hosts, else with health a health
	 * check: 1 and j filled, 0 when there is none, or an error.
	 */
	int (*claim)(struct wlink *l, int health, struct wjob *j,
		     struct err *err);
	/* Waits up to ms for work that may be claimable (1), or 0. */
	int (*wait_work)(struct wlink *l, int ms, struct err *err);
	/*
	 * Renews the leases of the n jobs this worker runs; pushes those
	 * still held to held and those to cancel to cancelled, as
	 * "FLIGHT.JOB".
	 */
	int (*heartbeat)(struct wlink *l, const long *flights,
			 const char *const *jobs, const int *attempts, size_t n,
			 struct vec *held, struct vec *cancelled,
			 struct err *err);
	/* Whether the worker still holds j (renewing its lease): 1, 0. */
	int (*holds)(struct wlink *l, const struct wjob *j, struct err *err);
	/*
	 * Writes record r of j (wire.h: step-begin to host-healthy; the
	 * host-install records have calls of their own below); at as
	 * db_worker_step_begin's (0: now), instead of r->at. ERR_EXISTS
	 * once the job is not the worker's any more.
	 */
	int (*record)(struct wlink *l, const struct wjob *j,
		      const struct wrec *r, double at, struct err *err);
	/*
	 * Delivers record r of j, which the worker no longer holds, as
	 * evidence (the controller keeps it, never judged): 0 once
	 * delivered. NULL where there is no such thing (the database).
	 */
	int (*evidence)(struct wlink *l, const struct wjob *j,
			const struct wrec *r, struct err *err);
	/* Ends j (db_worker_finish). */
	int (*finish)(struct wlink *l, const struct wjob *j, const char *status,
		      const char *reason, int requeue, int lab_retry,
		      struct err *err);

	/* Pins host's SSH key on first use: 0, ERR_HOSTKEY if another is. */
	int (*hostkey_pin)(struct wlink *l, const struct wjob *j,
			   const char *host, const char *key, struct err *err);
	int (*hostkey_clear)(struct wlink *l, const struct wjob *j,
			     const char *host, const char *why, struct err *err);
	int (*install_begin)(struct wlink *l, const struct wjob *j,
			     const char *host, const char *token,
			     struct err *err);
	int (*install_reported)(struct wlink *l, const struct wjob *j,
				const char *token, int *reported,
				struct err *err);
	int (*host_installed)(struct wlink *l, const struct wjob *j,
			      const char *host, struct err *err);

	/* The artifacts of job (flight, job), one of j's deps. */
	int (*dep_artifacts)(struct wlink *l, const struct wjob *j, long flight,
			     const char *job, struct wartifact **a, size_t *n,
			     struct err *err);
	/* Makes sure the artifact store under STATE holds blob sha256 (of
	 * size bytes) before j uses it. */
	int (*blob_fetch)(struct wlink *l, const struct wjob *j,
			  const char *sha256, long long size, struct err *err);
	/* Tree tr of j at its revision as a tar at tar_path; *files: how
	 * many files (-1: not counted). */
	int (*tree_tar)(struct wlink *l, const struct wjob *j,
			const struct wjob_tree *tr, const char *tar_path,
			long *files, struct err *err);

	/* j starts running on this thread; its logs are under
	 * STATE/logs/F/J/ (the remote worker ships them as they grow). */
	void (*job_begin)(struct wlink *l, const struct wjob *j);
	/* j has ended (or was given up): what is left is delivered. */
	void (*job_end)(struct wlink *l, const struct wjob *j);

	void (*free)(struct wlink *l);
};

struct wlink {
	const struct wlink_ops *ops;
	const char *peer;        /* "the database", "the controller" */
	long lease;              /* seconds: how long a job is held unrenewed */
	long heartbeat;          /* seconds: how often leases are renewed */
};

/*
 * A link for one thread of a worker configured by conf: through the
 * controller when conf->controller is set, else the database. waits: the
 * thread will wait_work() on it (the database link LISTENs). stop, when
 * set, cuts a long wait short (the worker is stopping). *ret is the
 * caller's: wlink_free() it.
 */
int wlink_open(const struct worker_conf *conf, int waits,
	       const volatile sig_atomic_t *stop, struct wlink **ret,
	       struct err *err);
void wlink_free(struct wlink *l);
/* Wakes the worker's threads that wait for work (it is stopping). */
void wlink_wake_all(const struct worker_conf *conf);
/*
 * Once, before the worker's threads start. A remote worker locks its
 * spool (STATE/spool.lock: one such worker a state directory) and
 * delivers what an earlier one left there (its jobs' logs, by the
 * attempt each was of), dropping the blobs it kept; ERR_USAGE when
 * another worker holds the spool.
 */
int wlink_start(const struct worker_conf *conf,
		const volatile sig_atomic_t *stop, struct err *err);

int wlink_db_open(const struct worker_conf *conf, int waits,
		  struct wlink **ret, struct err *err);
void wlink_db_wake_all(const struct worker_conf *conf);
int wlink_http_start(const struct worker_conf *conf,
		     const volatile sig_atomic_t *stop, struct err *err);
int wlink_http_open(const struct worker_conf *conf,
		    const volatile sig_atomic_t *stop, struct wlink **ret,
		    struct err *err);

#endif
