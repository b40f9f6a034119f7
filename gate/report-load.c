/*
 * report-load.c: a flight's report from the database's rows (see
 * report-load.h and db/db-report.h, where the queries and their reasons
 * are).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-report.h"
#include "report-load.h"
#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

struct rep_load {
	struct db *db;
	struct report *r;
	struct err *err;
	long before;       /* only flights below this one count (0: all) */
	long main;         /* the flight reported (its heisen flights' too) */
	int push_starved;  /* the branch pushes with starved jobs */
	struct vec jobs, steps;   /* the failures', for the history queries */
};

static int rep_flight_row(struct rep_load *l, const struct report *parent)
{
	struct report *r = l->r;
	struct db_rep_flight f;

	if (db_report_flight(l->db, r->flight, &r->pool, &f, l->err) < 0)
		return l->err->code;
	r->intent = xstrdup_or_null(f.intent);
	r->status = xstrdup_or_null(f.status);
	r->verdict = xstrdup_or_null(f.verdict);
	r->pushed = f.pushed;
	r->baseline_test = f.baseline_test;
	r->retest_of = f.retest_of;
	r->push_log = xstrdup_or_null(f.push_log);
	r->retest_flight = f.retest_flight;
	l->push_starved = f.push_starved;
	/* a heisenbug's flight is judged against the same baseline */
	r->branch = xstrdup_or_null(parent ? parent->branch : f.branch);
	r->tree = xstrdup_or_null(parent ? parent->tree : f.tree);
	r->that = xstrdup_or_null(parent ? parent->that : f.target_revision);
	if (f.allow) {
		char *all = xstrdup(f.allow), *save = NULL;

		for (char *s = strtok_r(all, "\n", &save); s;
		     s = strtok_r(NULL, "\n", &save))
			if (allow_add(&r->allow, s, l->err) < 0)
				err_clear(l->err);   /* lab apply checked it */
		free(all);
	}
	return 0;
}

static struct cl_failure *rep_add_failure(struct report *r, size_t *alloc)
{
	struct cl_failure *f;

	xgrow((void **)&r->fails, alloc, r->nfails + 1, sizeof(*r->fails));
	f = &r->fails[r->nfails++];
	memset(f, 0, sizeof(*f));
	f->ever_passed = 1;
	return f;
}

/* The jobs, and the steps of each job's last attempt that did not pass. */
static int rep_jobs_and_failures(struct rep_load *l)
{
	struct report *r = l->r;
	struct db_rep_row *rows;
	size_t n, falloc = 0;

	if (db_report_jobs(l->db, r->flight, &r->pool, &rows, &n, l->err) < 0)
		return l->err->code;
	r->jobs = xcalloc(n + 1, sizeof(*r->jobs));
	for (size_t i = 0; i < n; i++) {
		const struct db_rep_row *row = &rows[i];
		struct rep_job *j = r->njobs ? &r->jobs[r->njobs - 1] : NULL;
		struct cl_failure *f;

		if (!j || strcmp(j->job, row->job)) {
			j = &r->jobs[r->njobs++];
			j->job = xstrdup(row->job);
			j->status = xstrdup(row->status);
			j->build = row->build;
			j->hosts = xstrdup(row->hosts ? row->hosts : "");
			if (!row->step) {
				if (!strcmp(j->status, "pass"))
					continue;
				/* it ended without a failing step */
				f = rep_add_failure(r, &falloc);
				f->job = row->job;
				f->step = CL_NONE_EXECUTED;
				f->status = row->status;
				f->job_level = 1;
				f->build = j->build;
				if (!strcmp(j->status, "starved")) {
					f->reason = row->wait_reason ? row->wait_reason : "";
					f->starved_blocks = !l->push_starved;
				}
				continue;
			}
		}
		f = rep_add_failure(r, &falloc);
		f->job = row->job;
		f->stepno = row->stepno;
		f->step = row->step;
		f->status = row->step_status;
		f->build = j->build;
		f->starved_blocks = !l->push_starved;
	}
	free(rows);
	return 0;
}

static int rep_ever_passed(struct rep_load *l)
{
	struct report *r = l->r;
	int *passed = xcalloc(r->nfails + 1, sizeof(*passed));

	if (db_report_ever_passed(l->db, r->branch, &l->jobs, &l->steps,
				  l->before, passed, l->err) < 0) {
		free(passed);
		return l->err->code;
	}
	for (size_t i = 0; i < r->nfails; i++)
		r->fails[i].ever_passed = passed[i];
	free(passed);
	return 0;
}

/*
 * The baseline flights (those of the branch that tested the baseline
 * revision, gate before bisect, newest first) and the failing steps in
 * each: one observation per flight that has the job.
 */
static int rep_baselines(struct rep_load *l)
{
	struct report *r = l->r;
	struct strmap seen = STRMAP_INIT;   /* "F JOB" and "F JOB STEP" -> row */
	struct db_rep_obs *obs;
	size_t nids, nobs;
	long *ids;

	if (db_report_baselines(l->db, r->tree, r->that, r->branch, r->flight,
				l->before, &ids, &nids, l->err) < 0)
		return l->err->code;
	r->baseline_flight = ids[0];
	if (!nids || !r->nfails) {
		free(ids);
		return 0;
	}
	if (db_report_observations(l->db, ids, nids, &l->jobs, &l->steps,
				   &r->pool, &obs, &nobs, l->err) < 0) {
		free(ids);
		return l->err->code;
	}
	for (size_t i = 0; i < nobs; i++) {
		char *key = xasprintf("%ld %s", obs[i].flight, obs[i].job);

		strmap_put(&seen, key, -2);
		free(key);
		if (!obs[i].step)
			continue;
		key = xasprintf("%ld %s %s", obs[i].flight, obs[i].job, obs[i].step);
		strmap_put(&seen, key, (long)i);
		free(key);
	}
	for (size_t k = 0; k < r->nfails; k++) {
		struct cl_failure *f = &r->fails[k];
		struct cl_obs *o = xcalloc(nids, sizeof(*o));
		size_t n = 0;

		for (size_t i = 0; i < nids; i++) {
			char *key = xasprintf("%ld %s", ids[i], f->job);
			long row;

			if (strmap_get(&seen, key) == -2) {
				free(key);
				key = xasprintf("%ld %s %s", ids[i], f->job, f->step);
				row = strmap_get(&seen, key);
				o[n].flight = ids[i];
				o[n].status = row >= 0 ? obs[row].status : NULL;
				n++;
			}
			free(key);
		}
		f->obs = o;
		f->nobs = n;
	}
	strmap_clear(&seen);
	free(obs);
	free(ids);
	return 0;
}

static const char *rep_tested_rev(const struct report *r)
{
	for (size_t i = 0; r->tree && i < r->trees.n; i++)
		if (!strcmp(r->trees.v[i], r->tree))
			return r->revs.v[i];
	return NULL;
}

/*
 * For each failure, the newest other finished flight of the same new
 * revision (gate, bisect or retest) where that step passed. Only a flight
 * that ended justifies a heisenbug: its own failures are judged with it.
 * As of a flight (before), the flights up to it and its retest count.
 */
static int rep_pass_in(struct rep_load *l)
{
	struct report *r = l->r;
	long *pass_in = xcalloc(r->nfails + 1, sizeof(*pass_in));

	if (db_report_pass_in(l->db, r->tree, rep_tested_rev(r), r->branch,
			      r->flight, l->before, l->main, &l->jobs, &l->steps,
			      pass_in, l->err) < 0) {
		free(pass_in);
		return l->err->code;
	}
	for (size_t k = 0; k < r->nfails; k++)
		r->fails[k].pass_in = pass_in[k];
	free(pass_in);
	return 0;
}

static int rep_load_one(struct db *db, long flight, long before,
			struct report *r, const struct report *parent,
			struct err *err);

/* OSSTest looks at the newest 1000 flights of a branch for a pass */
#define HEISEN_FLIGHTS_MAX 1000

/* Whether f, as loaded, is a heisenbug (classify.h): only then is the
 * flight it passed in judged with it. */
static int rep_heisen(const struct cl_failure *f)
{
	struct cl_failure c = *f;

	classify_failure(&c, NULL);
	return c.heisen;
}

/*
 * The flights where a heisenbug passed, each with its own failures and
 * where those passed in turn (OSSTest's recursion through its heisen
 * flights): each flight once, never the flight reported itself.
 */
static int rep_subs(struct rep_load *l)
{
	struct report *r = l->r;

	/* k = -1: the flight's own failures, then each sub's */
	for (long k = -1; k < (long)r->nsubs; k++) {
		size_t nf = k < 0 ? r->nfails : r->subs[k].nfails;

		for (size_t i = 0; i < nf; i++) {
			const struct cl_failure *f = &(k < 0 ? r->fails : r->subs[k].fails)[i];
			long id = f->pass_in;
			size_t j;

			if (!id || id == r->flight || !rep_heisen(f))
				continue;
			for (j = 0; j < r->nsubs && r->subs[j].flight != id; j++)
				;
			if (j < r->nsubs || r->nsubs >= HEISEN_FLIGHTS_MAX)
				continue;
			r->subs = xrealloc(r->subs, (r->nsubs + 1) * sizeof(*r->subs));
			report_init(&r->subs[r->nsubs]);
			if (rep_load_one(l->db, id, l->before, &r->subs[r->nsubs++], r,
					 l->err) < 0)
				return l->err->code;
		}
	}
	return 0;
}

static void rep_age_set(struct rep_age *a, long flight, const char *started,
			long age_days)
{
	a->flight = flight;
	a->started = flight ? xstrdup_or_null(started) : NULL;
	a->age_days = flight && started ? age_days : 0;
}

/* "Last test of basis", "Failing since", "Testing same since". */
static int rep_ages(struct rep_load *l)
{
	struct report *r = l->r;
	struct db_rep_since s;

	if (db_report_since(l->db, r->tree, rep_tested_rev(r), r->branch,
			    r->flight, r->baseline_flight, &r->pool, &s, l->err) < 0)
		return l->err->code;
	rep_age_set(&r->basis, r->baseline_flight, s.basis_started, s.basis_age);
	rep_age_set(&r->same_since, s.same_flight, s.same_started, s.same_age);
	r->same_since.attempts = s.same_attempts;
	if (r->baseline_flight) {
		rep_age_set(&r->failing_since, s.failing_flight,
			    s.failing_started, s.failing_age);
		r->failing_since.attempts = s.failing_attempts;
	}
	return 0;
}

static int rep_history(struct rep_load *l, const struct report *parent)
{
	struct report *r = l->r;
	int rc = 0;

	for (size_t i = 0; i < r->nfails; i++) {
		vec_push(&l->jobs, r->fails[i].job);
		vec_push(&l->steps, r->fails[i].step);
	}
	if (r->nfails)
		rc = rep_ever_passed(l);
	if (rc == 0 && r->that && r->tree)
		rc = rep_baselines(l);
	if (rc == 0 && r->nfails && rep_tested_rev(r))
		rc = rep_pass_in(l);
	if (rc == 0 && !parent)
		rc = rep_subs(l);
	if (rc == 0 && !parent && rep_tested_rev(r))
		rc = rep_ages(l);
	return rc;
}

static int rep_load_one(struct db *db, long flight, long before,
			struct report *r, const struct report *parent,
			struct err *err)
{
	struct rep_load l = { .db = db, .r = r, .err = err, .before = before,
			      .main = parent ? parent->flight : flight };
	int rc;

	r->flight = flight;
	if ((rc = rep_flight_row(&l, parent)) < 0 ||
	    (rc = db_report_revisions(db, flight, &r->trees, &r->revs, err)) < 0 ||
	    (rc = rep_jobs_and_failures(&l)) < 0)
		return rc;
	for (size_t i = 0; i < r->nfails; i++)
		r->fails[i].have_baseline = r->that && r->tree && r->branch;
	if (!r->branch)
		return 0;
	vec_init(&l.jobs);
	vec_init(&l.steps);
	rc = rep_history(&l, parent);
	vec_clear(&l.jobs);
	vec_clear(&l.steps);
	return rc;
}

/*
 * One read-only transaction around the report's dozen or two queries:
 * they see one snapshot (a flight ending meanwhile cannot leave it half
 * judged), and their prepared statements keep their generic plans. The
 * server would plan several of them again at each execution (its
 * estimates for array parameters and "$n = 0 OR ..." make the generic
 * plan look dearer than it is), which cost more than running them; the
 * plans do not depend on the values (index probes by flight, revision or
 * (branch, job, step)). Inside a caller's transaction it only reads.
 */
static int rep_load_tx(struct db *db, long flight, long before,
		       struct report *r, struct err *err)
{
	int own = db_idle(db), rc;

	if (own && (rc = db_begin_read(db, 1, err)) < 0)
		return rc;
	rc = rep_load_one(db, flight, before, r, NULL, err);
	if (own && rc == 0)
		rc = db_commit(db, err);
	else if (own)
		db_rollback(db);
	return rc;
}

int report_load(struct db *db, long flight, struct report *r,
		struct err *err)
{
	return rep_load_tx(db, flight, 0, r, err);
}

int report_load_before(struct db *db, long flight, struct report *r,
		       struct err *err)
{
	return rep_load_tx(db, flight, flight, r, err);
}
