/*
 * jobrec.h: what a running job records through its link (wlink.h: the
 * database, or the controller for a remote worker), kept safe across an
 * outage of either. Each record is written at once while the other end
 * answers; while it does not, the job goes on and its records are held,
 * in order, with the time each thing happened, and written as soon as
 * the link is back, each exactly once (a step's start written twice
 * keeps the first; the rest are idempotent). Both backends share this
 * spool of records.
 *
 * Before writing what it held, the worker asks whether it still holds
 * the job. Recovery leaves it a whole lease from the database's start
 * (db_sched_reclaim), so after a database restart it does; when the
 * worker itself was cut off for longer than its lease, recovery took the
 * job over: the held records are not written (never twice), the log says
 * which, and the job stops (jobrec_lost).
 */
#ifndef HANGAR_JOBREC_H
#define HANGAR_JOBREC_H

#include <signal.h>

#include "db-worker.h"
#include "power.h"
#include "testcases.h"
#include "wlink.h"

struct jobrec;

/* Records of job j (borrowed, as link: the slot's), which this worker
 * holds; cancel is the job's JOB_RUN_* flag. */
struct jobrec *jobrec_new(struct wlink *link, const struct wjob *j,
			  const volatile sig_atomic_t *cancel);
void jobrec_free(struct jobrec *jr);

/* The next step's number (the job's steps count on across attempts). */
int jobrec_next_stepno(struct jobrec *jr);

void jobrec_step_begin(struct jobrec *jr, int stepno, const char *kind,
		       const char *name);
void jobrec_step_end(struct jobrec *jr, int stepno, const char *status,
		     const char *detail);
void jobrec_runvar(struct jobrec *jr, const char *name, const char *value);
void jobrec_artifact(struct jobrec *jr, const char *path, const char *sha256,
		     long long size);
/* A power action on host and its result; failure NULL when it worked. */
void jobrec_power(struct jobrec *jr, const char *host, enum power_action a,
		  const struct power_result *res, const struct err *failure);
void jobrec_host_broken(struct jobrec *jr, const char *host,
			const char *reason);
void jobrec_host_healthy(struct jobrec *jr, const char *host);
/* What host said its firmware was (hosts/firmware.h), for the evidence. */
void jobrec_firmware(struct jobrec *jr, const char *host,
		     const char *firmware);
/* The n test cases read from step parent's output (number parent_no):
 * each its own step, numbered on from the next step number. */
void jobrec_cases(struct jobrec *jr, const char *parent, int parent_no,
		  const struct case_result *cases, size_t n);

/*
 * After a call of the job's link failed: when the link was lost, waits
 * for it to come back (writing what is held) and returns 1, so that the
 * caller tries again; 0 when the failure was not the link's, or when the
 * job was cancelled, the worker stops or the job was taken over
 * meanwhile.
 */
int jobrec_retry(struct jobrec *jr);

/*
 * Ends the job (the link's finish) after every held record, waiting for
 * the link as long as it takes, unless the worker stops: then the held
 * records are given up, said in the log, and recovery ends the job.
 */
int jobrec_finish(struct jobrec *jr, const char *status, const char *reason,
		  int requeue, int lab_retry, struct err *err);

/* Whether recovery took the job over while the link was away. */
int jobrec_lost(const struct jobrec *jr);

#endif
