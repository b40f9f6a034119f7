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

#include "job-run.h"
#include "jobrec.h"
#include "log.h"
#include "proc.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

struct jobrec {
	struct wlink *link;
	const struct wjob *job;
	const volatile sig_atomic_t *cancel;
	int next_stepno;
	struct wrec *recs;
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

struct jobrec *jobrec_new(struct wlink *link, const struct wjob *j,
			  const volatile sig_atomic_t *cancel)
{
	struct jobrec *jr = xcalloc(1, sizeof(*jr));

	jr->link = link;
	jr->job = j;
	jr->cancel = cancel;
	jr->next_stepno = j->last_step + 1;
	return jr;
}

void jobrec_free(struct jobrec *jr)
{
	if (!jr)
		return;
	for (size_t i = jr->done; i < jr->n; i++)
		wrec_release(&jr->recs[i]);
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

static int rec_write(struct jobrec *jr, const struct wrec *r, struct err *err)
{
	double at = wall_now() - r->at > REC_LATE_S ? r->at : 0;

	return jr->link->ops->record(jr->link, jr->job, r, at, err);
}

/* The connection is gone: say so once for this job. */
static void jobrec_away(struct jobrec *jr, const char *why)
{
	if (jr->away)
		return;
	jr->away = 1;
	log_warnx("flight=%ld job=%s: %s is away (%s); the job goes "
		  "on and its records are held until it is back",
		  jr->job->flight, jr->job->job, jr->link->peer, why);
}

/* Gives up what is held: the job is someone else's now, or the worker
 * stops. Said in the log, record by record, never silently. */
static void jobrec_drop(struct jobrec *jr, const char *why)
{
	const struct wjob *j = jr->job;

	const struct wlink_ops *ops = jr->link->ops;
	size_t kept = 0;

	/* the controller keeps them as evidence of what happened (never
	 * judged): they leave here only when it has them */
	for (size_t i = jr->done; ops->evidence && jr->lost && i < jr->n; i++) {
		struct err err = ERR_INIT;

		if (ops->evidence(jr->link, j, &jr->recs[i], &err) < 0) {
			log_warnx("flight=%ld job=%s: as evidence: %s", j->flight,
				  j->job, err.msg);
			break;
		}
		kept++;
	}
	if (kept == jr->n - jr->done && kept) {
		log_warnx("flight=%ld job=%s: %s; %zu held record(s) delivered as "
			  "evidence only", j->flight, j->job, why, kept);
		for (; jr->done < jr->n; jr->done++)
			wrec_release(&jr->recs[jr->done]);
		return;
	}
	if (jr->done < jr->n)
		log_warnx("flight=%ld job=%s: %s; %zu held record(s) not written:",
			  j->flight, j->job, why, jr->n - jr->done);
	for (; jr->done < jr->n; jr->done++) {
		struct wrec *r = &jr->recs[jr->done];

		switch (r->type) {
		case WREC_STEP_BEGIN: {
			char *logfile = db_worker_step_logfile(j, r->step, r->name);

			log_warnx("  step %d %s started (its log: logs/%s)",
				  r->step, r->name, logfile);
			free(logfile);
			break;
		}
		case WREC_STEP_END:
			log_warnx("  step %d ended %s%s%s", r->step, r->status,
				  r->detail ? ": " : "", r->detail ? r->detail : "");
			break;
		case WREC_RUNVAR:
			log_warnx("  runvar %s=%s", r->name, r->value);
			break;
		case WREC_ARTIFACT:
			log_warnx("  artifact %s (sha256 %s, in the store)", r->path,
				  r->sha256);
			break;
		case WREC_POWER:
			log_warnx("  power %s of %s", r->action, r->host);
			break;
		case WREC_HOST_BROKEN:
			log_warnx("  host %s broken: %s", r->host, r->reason);
			break;
		case WREC_HOST_HEALTHY:
			log_warnx("  host %s healthy", r->host);
			break;
		case WREC_FIRMWARE:
			log_warnx("  host %s firmware: %s", r->host, r->value);
			break;
		case WREC_CASES:
			log_warnx("  %zu test case(s) of step %d %s (in its log)",
				  r->names.n, r->step, r->name);
			break;
		default:
			log_warnx("  a %s record", wrec_type_str(r->type));
			break;
		}
		wrec_release(r);
	}
}

/*
 * Writes what is held, in order. Returns 0 when nothing is left, 1 while
 * the database is away (the rest stays held), -1 when the job was taken
 * over (jr->lost).
 */
static int jobrec_flush(struct jobrec *jr)
{
	struct wlink *l = jr->link;
	const struct wlink_ops *ops = l->ops;
	const struct wjob *j = jr->job;
	struct err err = ERR_INIT;
	size_t held = jr->n - jr->done;

	if (jr->lost)
		return -1;
	if (jr->away || !ops->ok(l)) {
		int rc;

		ops->keep(l, &err);
		if (ops->down(l) || !ops->ok(l)) {
			jobrec_away(jr, err.msg[0] ? err.msg : "no connection");
			return 1;
		}
		rc = ops->holds(l, j, &err);
		if (rc < 0 && !ops->ok(l))
			return 1;
		if (rc == 0) {
			char why[128];

			snprintf(why, sizeof(why), "recovery took the job over "
				 "while %s was away", l->peer);
			jr->lost = 1;
			jobrec_drop(jr, why);
			return -1;
		}
		if (rc < 0)
			log_warnx("flight=%ld job=%s: %s", j->flight, j->job,
				  err.msg);
	}
	while (jr->done < jr->n) {
		struct wrec *r = &jr->recs[jr->done];

		err_clear(&err);
		if (rec_write(jr, r, &err) < 0) {
			if (!ops->ok(l)) {
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
		wrec_release(r);
		jr->done++;
	}
	if (jr->away) {
		jr->away = 0;
		log_info("flight=%ld job=%s: %s is back; %zu held "
			 "record(s) written", j->flight, j->job, l->peer, held);
	}
	jr->done = jr->n = 0;
	return 0;
}

static struct wrec *rec_add(struct jobrec *jr, enum wrec_type type)
{
	struct wrec *r;

	if (jr->n == jr->alloc) {
		jr->alloc = jr->alloc ? 2 * jr->alloc : 16;
		jr->recs = xrealloc(jr->recs, jr->alloc * sizeof(*jr->recs));
	}
	r = &jr->recs[jr->n++];
	memset(r, 0, sizeof(*r));
	r->type = type;
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
	struct wrec *r = rec_add(jr, WREC_STEP_BEGIN);

	r->step = stepno;
	r->kind = xstrdup(kind);
	r->name = xstrdup(name);
	rec_added(jr);
}

void jobrec_step_end(struct jobrec *jr, int stepno, const char *status,
		     const char *detail)
{
	struct wrec *r = rec_add(jr, WREC_STEP_END);

	r->step = stepno;
	r->status = xstrdup(status);
	r->detail = dup_or_null(detail);
	rec_added(jr);
}

void jobrec_runvar(struct jobrec *jr, const char *name, const char *value)
{
	struct wrec *r = rec_add(jr, WREC_RUNVAR);

	r->name = xstrdup(name);
	r->value = xstrdup(value);
	rec_added(jr);
}

void jobrec_artifact(struct jobrec *jr, const char *path, const char *sha256,
		     long long size)
{
	struct wrec *r = rec_add(jr, WREC_ARTIFACT);

	r->path = xstrdup(path);
	r->sha256 = xstrdup(sha256);
	r->size = size;
	rec_added(jr);
}

void jobrec_power(struct jobrec *jr, const char *host, enum power_action a,
		  const struct power_result *res, const struct err *failure)
{
	struct wrec *r = rec_add(jr, WREC_POWER);

	r->host = xstrdup(host);
	r->action = xstrdup(power_action_str(a));
	r->state = xstrdup(power_state_str(res->state));
	r->attempts = res->attempts;
	r->ms = res->ms;
	r->detail = xstrdup(res->detail);
	if (failure)
		r->error = xstrdup(failure->msg);
	rec_added(jr);
}

void jobrec_host_broken(struct jobrec *jr, const char *host,
			const char *reason)
{
	struct wrec *r = rec_add(jr, WREC_HOST_BROKEN);

	r->host = xstrdup(host);
	r->reason = xstrdup(reason);
	rec_added(jr);
}

void jobrec_cases(struct jobrec *jr, const char *parent, int parent_no,
		  const struct case_result *cases, size_t n)
{
	struct wrec *r;

	if (!n)
		return;
	r = rec_add(jr, WREC_CASES);
	r->name = xstrdup(parent);
	r->step = parent_no;
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
	struct wrec *r = rec_add(jr, WREC_HOST_HEALTHY);

	r->host = xstrdup(host);
	rec_added(jr);
}

void jobrec_firmware(struct jobrec *jr, const char *host,
		     const char *firmware)
{
	struct wrec *r = rec_add(jr, WREC_FIRMWARE);

	r->host = xstrdup(host);
	r->value = xstrdup(firmware);
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
		ms = jr->link->ops->wait_ms(jr->link);
		proc_nap_ms(ms < 100 ? 100 : ms > 500 ? 500 : ms);
	}
}

int jobrec_retry(struct jobrec *jr)
{
	if (jr->link->ops->ok(jr->link) && !jr->away)
		return 0;
	jobrec_away(jr, "no connection");
	return jobrec_wait(jr, 1) == 0;
}

int jobrec_finish(struct jobrec *jr, const char *status, const char *reason,
		  int requeue, int lab_retry, struct err *err)
{
	struct wlink *l = jr->link;
	const struct wjob *j = jr->job;

	for (;;) {
		int rc = jobrec_wait(jr, 0);

		if (rc < 0 && jr->lost)
			return err_set(err, ERR_EXISTS,
				       "job %ld.%s: recovery took it over while "
				       "%s was away", j->flight, j->job, l->peer);
		if (rc < 0) {
			char why[128];

			snprintf(why, sizeof(why), "the worker stops while %s "
				 "is away (recovery ends the job)", l->peer);
			jobrec_drop(jr, why);
			return err_set(err, ERR_DB, "job %ld.%s: not ended: %s "
				       "is away", j->flight, j->job, l->peer);
		}
		err_clear(err);
		rc = l->ops->finish(l, j, status, reason, requeue, lab_retry,
				    err);
		if (rc == 0 || l->ops->ok(l))
			return rc;
		jobrec_away(jr, err->msg);
	}
}
