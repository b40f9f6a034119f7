/*
 * jobrec.c: a job's records, written at once or held through a database
 * outage (see jobrec.h). One queue per job, flushed in order; a record
 * that fails for another reason than a lost connection is not retried
 * (it would fail again) but said in the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "db-host.h"
#include "job-run.h"
#include "jobrec.h"
#include "log.h"
#include "proc.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

enum rec_kind {
	REC_STEP_BEGIN, REC_STEP_END, REC_RUNVAR, REC_ARTIFACT, REC_POWER,
	REC_HOST_BROKEN, REC_HOST_HEALTHY, REC_CASES,
};

struct rec {
	enum rec_kind kind;
	double at;               /* epoch seconds when it happened */
	int stepno;
	char *a, *b, *c;         /* by kind: names, values, details */
	long long size;
	enum power_action action;
	struct power_result power;
	struct err failure;      /* code 0: none */
	int first;               /* REC_CASES: the first case's step number */
	struct vec names, statuses, details;
};

struct jobrec {
	struct db *db;
	struct db_keep *keep;
	const struct wjob *job;
	const char *owner;
	long lease;
	const volatile sig_atomic_t *cancel;
	int next_stepno;
	struct rec *recs;
	size_t n, alloc, done;   /* recs[done..n) are held */
	int away;                /* the connection was lost: check the lease */
	int lost;                /* recovery took the job over */
	size_t held_most;        /* for the log */
};

/* Records older than this carry their own time; newer ones the database's. */
#define REC_LATE_S 1.0

static double wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

struct jobrec *jobrec_new(struct db *db, struct db_keep *keep,
			  const struct wjob *j, const char *owner, long lease_s,
			  const volatile sig_atomic_t *cancel)
{
	struct jobrec *jr = xcalloc(1, sizeof(*jr));

	jr->db = db;
	jr->keep = keep;
	jr->job = j;
	jr->owner = owner;
	jr->lease = lease_s;
	jr->cancel = cancel;
	jr->next_stepno = j->last_step + 1;
	return jr;
}

static void rec_release(struct rec *r)
{
	free(r->a);
	free(r->b);
	free(r->c);
	vec_clear(&r->names);
	vec_clear(&r->statuses);
	vec_clear(&r->details);
}

void jobrec_free(struct jobrec *jr)
{
	if (!jr)
		return;
	for (size_t i = jr->done; i < jr->n; i++)
		rec_release(&jr->recs[i]);
	free(jr->recs);
	free(jr);
}

int jobrec_next_stepno(struct jobrec *jr)
{
	return jr->next_stepno++;
}

int jobrec_lost(const struct jobrec *jr)
{
	return jr->lost;
}

static int rec_write(struct jobrec *jr, const struct rec *r, struct err *err)
{
	const struct wjob *j = jr->job;
	double at = wall_now() - r->at > REC_LATE_S ? r->at : 0;

	switch (r->kind) {
	case REC_STEP_BEGIN:
		return db_worker_step_begin(jr->db, j, jr->owner, r->stepno, r->a,
					    r->b, at, err);
	case REC_STEP_END:
		return db_worker_step_end(jr->db, j, jr->owner, r->stepno, r->a,
					  r->b, at, err);
	case REC_RUNVAR:
		return db_worker_runvar_set(jr->db, j, r->a, r->b, err);
	case REC_ARTIFACT:
		return db_worker_artifact_add(jr->db, j, r->a, r->b, r->size, err);
	case REC_POWER: {
		struct db_host_power p = {
			power_action_str(r->action), power_state_str(r->power.state),
			r->power.attempts, r->power.ms, r->power.detail,
		};

		return db_host_power_record(jr->db, r->a, &p,
					    r->failure.code ? &r->failure : NULL,
					    j->flight, j->job, err);
	}
	case REC_HOST_BROKEN:
		return db_worker_host_broken(jr->db, r->a, r->b, j, err);
	case REC_HOST_HEALTHY:
		return db_worker_host_healthy(jr->db, r->a, j, err);
	case REC_CASES:
		return db_worker_cases_add(jr->db, j, jr->owner, r->a, r->stepno,
					   r->first, &r->names, &r->statuses,
					   &r->details, at, err);
	}
	return err_set(err, ERR_FAIL, "unknown record kind %d", (int)r->kind);
}

/* The connection is gone: say so once for this job. */
static void jobrec_away(struct jobrec *jr, const char *why)
{
	if (jr->away)
		return;
	jr->away = 1;
	log_warnx("flight=%ld job=%s: the database is away (%s); the job goes "
		  "on and its records are held until it is back",
		  jr->job->flight, jr->job->job, why);
}

/* Gives up what is held: the job is someone else's now, or the worker
 * stops. Said in the log, record by record, never silently. */
static void jobrec_drop(struct jobrec *jr, const char *why)
{
	const struct wjob *j = jr->job;

	if (jr->done < jr->n)
		log_warnx("flight=%ld job=%s: %s; %zu held record(s) not written:",
			  j->flight, j->job, why, jr->n - jr->done);
	for (; jr->done < jr->n; jr->done++) {
		struct rec *r = &jr->recs[jr->done];

		switch (r->kind) {
		case REC_STEP_BEGIN: {
			char *logfile = db_worker_step_logfile(j, r->stepno, r->b);

			log_warnx("  step %d %s started (its log: logs/%s)",
				  r->stepno, r->b, logfile);
			free(logfile);
			break;
		}
		case REC_STEP_END:
			log_warnx("  step %d ended %s%s%s", r->stepno, r->a,
				  r->b ? ": " : "", r->b ? r->b : "");
			break;
		case REC_RUNVAR:
			log_warnx("  runvar %s=%s", r->a, r->b);
			break;
		case REC_ARTIFACT:
			log_warnx("  artifact %s (sha256 %s, in the store)", r->a,
				  r->b);
			break;
		case REC_POWER:
			log_warnx("  power %s of %s", power_action_str(r->action),
				  r->a);
			break;
		case REC_HOST_BROKEN:
			log_warnx("  host %s broken: %s", r->a, r->b);
			break;
		case REC_HOST_HEALTHY:
			log_warnx("  host %s healthy", r->a);
			break;
		case REC_CASES:
			log_warnx("  %zu test case(s) of step %d %s (in its log)",
				  r->names.n, r->stepno, r->a);
			break;
		}
		rec_release(r);
	}
}

/*
 * Writes what is held, in order. Returns 0 when nothing is left, 1 while
 * the database is away (the rest stays held), -1 when the job was taken
 * over (jr->lost).
 */
static int jobrec_flush(struct jobrec *jr)
{
	const struct wjob *j = jr->job;
	struct err err = ERR_INIT;
	size_t held = jr->n - jr->done;

	if (jr->lost)
		return -1;
	if (jr->away || !db_connection_ok(jr->db)) {
		int rc;

		db_keep(jr->db, jr->keep, &err);
		if (jr->keep->down || !db_connection_ok(jr->db)) {
			jobrec_away(jr, err.msg[0] ? err.msg : "no connection");
			return 1;
		}
		rc = db_worker_holds(jr->db, j, jr->owner, jr->lease, &err);
		if (rc < 0 && !db_connection_ok(jr->db))
			return 1;
		if (rc == 0) {
			jr->lost = 1;
			jobrec_drop(jr, "recovery took the job over while the "
				    "database was away");
			return -1;
		}
		if (rc < 0)
			log_warnx("flight=%ld job=%s: %s", j->flight, j->job,
				  err.msg);
	}
	while (jr->done < jr->n) {
		struct rec *r = &jr->recs[jr->done];

		err_clear(&err);
		if (rec_write(jr, r, &err) < 0) {
			if (!db_connection_ok(jr->db)) {
				jobrec_away(jr, err.msg);
				return 1;
			}
			if (err.code == ERR_EXISTS) {
				jr->lost = 1;
				jobrec_drop(jr, err.msg);
				return -1;
			}
			log_warnx("flight=%ld job=%s: %s (not recorded)", j->flight,
				  j->job, err.msg);
		}
		rec_release(r);
		jr->done++;
	}
	if (jr->away) {
		jr->away = 0;
		log_info("flight=%ld job=%s: the database is back; %zu held "
			 "record(s) written", j->flight, j->job, held);
	}
	jr->done = jr->n = 0;
	return 0;
}

static struct rec *rec_add(struct jobrec *jr, enum rec_kind kind)
{
	struct rec *r;

	if (jr->n == jr->alloc) {
		jr->alloc = jr->alloc ? 2 * jr->alloc : 16;
		jr->recs = xrealloc(jr->recs, jr->alloc * sizeof(*jr->recs));
	}
	r = &jr->recs[jr->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->at = wall_now();
	return r;
}

/* A record was added: write it now if the database may answer. */
static void rec_added(struct jobrec *jr)
{
	if (!jr->lost)
		jobrec_flush(jr);
	else
		jobrec_drop(jr, "the job was taken over");
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void jobrec_step_begin(struct jobrec *jr, int stepno, const char *kind,
		       const char *name)
{
	struct rec *r = rec_add(jr, REC_STEP_BEGIN);

	r->stepno = stepno;
	r->a = xstrdup(kind);
	r->b = xstrdup(name);
	rec_added(jr);
}

void jobrec_step_end(struct jobrec *jr, int stepno, const char *status,
		     const char *detail)
{
	struct rec *r = rec_add(jr, REC_STEP_END);

	r->stepno = stepno;
	r->a = xstrdup(status);
	r->b = dup_or_null(detail);
	rec_added(jr);
}

void jobrec_runvar(struct jobrec *jr, const char *name, const char *value)
{
	struct rec *r = rec_add(jr, REC_RUNVAR);

	r->a = xstrdup(name);
	r->b = xstrdup(value);
	rec_added(jr);
}

void jobrec_artifact(struct jobrec *jr, const char *path, const char *sha256,
		     long long size)
{
	struct rec *r = rec_add(jr, REC_ARTIFACT);

	r->a = xstrdup(path);
	r->b = xstrdup(sha256);
	r->size = size;
	rec_added(jr);
}

void jobrec_power(struct jobrec *jr, const char *host, enum power_action a,
		  const struct power_result *res, const struct err *failure)
{
	struct rec *r = rec_add(jr, REC_POWER);

	r->a = xstrdup(host);
	r->action = a;
	r->power = *res;
	if (failure)
		r->failure = *failure;
	rec_added(jr);
}

void jobrec_host_broken(struct jobrec *jr, const char *host,
			const char *reason)
{
	struct rec *r = rec_add(jr, REC_HOST_BROKEN);

	r->a = xstrdup(host);
	r->b = xstrdup(reason);
	rec_added(jr);
}

void jobrec_cases(struct jobrec *jr, const char *parent, int parent_no,
		  const struct case_result *cases, size_t n)
{
	struct rec *r;

	if (!n)
		return;
	r = rec_add(jr, REC_CASES);
	r->a = xstrdup(parent);
	r->stepno = parent_no;
	r->first = jr->next_stepno;
	jr->next_stepno += (int)n;
	for (size_t i = 0; i < n; i++) {
		vec_push(&r->names, cases[i].name);
		vec_push(&r->statuses, cases[i].status);
		vec_push(&r->details, cases[i].detail ? cases[i].detail : "");
	}
	rec_added(jr);
}

void jobrec_host_healthy(struct jobrec *jr, const char *host)
{
	struct rec *r = rec_add(jr, REC_HOST_HEALTHY);

	r->a = xstrdup(host);
	rec_added(jr);
}

/* Waits for the database, writing what is held: 0 once it is written,
 * -1 when the job was taken over or must stop first. */
static int jobrec_wait(struct jobrec *jr, int stop_on_cancel)
{
	for (;;) {
		int rc = jobrec_flush(jr), ms;

		if (rc <= 0)
			return rc;
		if (*jr->cancel == JOB_RUN_STOP ||
		    (stop_on_cancel && *jr->cancel != JOB_RUN_GO))
			return -1;
		ms = db_keep_wait_ms(jr->keep);
		proc_nap_ms(ms < 100 ? 100 : ms > 500 ? 500 : ms);
	}
}

int jobrec_retry(struct jobrec *jr)
{
	if (db_connection_ok(jr->db) && !jr->away)
		return 0;
	jobrec_away(jr, "no connection");
	return jobrec_wait(jr, 1) == 0;
}

int jobrec_finish(struct jobrec *jr, const char *status, const char *reason,
		  int requeue, int lab_retry, struct err *err)
{
	const struct wjob *j = jr->job;

	for (;;) {
		int rc = jobrec_wait(jr, 0);

		if (rc < 0 && jr->lost)
			return err_set(err, ERR_EXISTS,
				       "job %ld.%s: recovery took it over while "
				       "the database was away", j->flight, j->job);
		if (rc < 0) {
			jobrec_drop(jr, "the worker stops while the database is "
				    "away (recovery ends the job)");
			return err_set(err, ERR_DB, "job %ld.%s: not ended: the "
				       "database is away", j->flight, j->job);
		}
		err_clear(err);
		rc = db_worker_finish(jr->db, j, jr->owner, status, reason,
				      requeue, lab_retry, err);
		if (rc == 0 || db_connection_ok(jr->db))
			return rc;
		jobrec_away(jr, err->msg);
	}
}
