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
	long *ids;                /* the baseline flights, newest first */
	size_t nids;
};

static void rep_flight_row(struct rep_load *l, const struct db_rep_flight *f,
			   const struct report *parent)
{
	struct report *r = l->r;

	r->intent = xstrdup_or_null(f->intent);
	r->status = xstrdup_or_null(f->status);
	r->verdict = xstrdup_or_null(f->verdict);
	r->pushed = f->pushed;
	r->baseline_test = f->baseline_test;
	r->retest_of = f->retest_of;
	r->push_log = xstrdup_or_null(f->push_log);
	r->retest_flight = f->retest_flight;
	l->push_starved = f->push_starved;
	/* a heisenbug's flight is judged against the same baseline */
	r->branch = xstrdup_or_null(parent ? parent->branch : f->branch);
	r->tree = xstrdup_or_null(parent ? parent->tree : f->tree);
	r->that = xstrdup_or_null(parent ? parent->that : f->target_revision);
	if (f->allow) {
		char *all = xstrdup(f->allow), *save = NULL;

		for (char *s = strtok_r(all, "\n", &save); s;
		     s = strtok_r(NULL, "\n", &save))
			if (allow_add(&r->allow, s, l->err) < 0)
				err_clear(l->err);   /* lab apply checked it */
		free(all);
	}
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
static void rep_jobs_and_failures(struct rep_load *l,
				  const struct db_rep_row *rows, size_t n)
{
	struct report *r = l->r;
	size_t falloc = 0;

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
}

static void rep_ever_passed(struct rep_load *l, struct db_batch *b, int q)
{
	struct report *r = l->r;
	int *passed = xcalloc(r->nfails + 1, sizeof(*passed));

	db_report_ever_passed_get(b, q, &l->jobs, &l->steps, passed);
	for (size_t i = 0; i < r->nfails; i++)
		r->fails[i].ever_passed = passed[i];
	free(passed);
}

/*
 * The failing steps in each baseline flight (those of the branch that
 * tested the baseline revision, gate before bisect, newest first): one
 * observation per flight that has the job.
 */
static void rep_observations(struct rep_load *l, struct db_batch *b, int q)
{
	struct report *r = l->r;
	struct strmap seen = STRMAP_INIT;   /* "F JOB" and "F JOB STEP" -> row */
	struct db_rep_obs *obs;
	size_t nobs;

	db_report_observations_get(b, q, &r->pool, &obs, &nobs);
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
		struct cl_obs *o = xcalloc(l->nids, sizeof(*o));
		size_t n = 0;

		for (size_t i = 0; i < l->nids; i++) {
			char *key = xasprintf("%ld %s", l->ids[i], f->job);
			long row;

			if (strmap_get(&seen, key) == -2) {
				free(key);
				key = xasprintf("%ld %s %s", l->ids[i], f->job, f->step);
				row = strmap_get(&seen, key);
				o[n].flight = l->ids[i];
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
static void rep_pass_in(struct rep_load *l, struct db_batch *b, int q)
{
	struct report *r = l->r;
	long *pass_in = xcalloc(r->nfails + 1, sizeof(*pass_in));

	db_report_pass_in_get(b, q, &l->jobs, &l->steps, pass_in);
	for (size_t k = 0; k < r->nfails; k++)
		r->fails[k].pass_in = pass_in[k];
	free(pass_in);
}

static int rep_load_one(struct db *db, long flight, long before, int begin,
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
			if (rep_load_one(l->db, id, l->before, 0,
					 &r->subs[r->nsubs++], r, l->err) < 0)
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
static void rep_ages(struct rep_load *l, struct db_batch *b, int q)
{
	struct report *r = l->r;
	struct db_rep_since s;

	db_report_since_get(b, q, &r->pool, &s);
	rep_age_set(&r->basis, r->baseline_flight, s.basis_started, s.basis_age);
	rep_age_set(&r->same_since, s.same_flight, s.same_started, s.same_age);
	r->same_since.attempts = s.same_attempts;
	if (r->baseline_flight) {
		rep_age_set(&r->failing_since, s.failing_flight,
			    s.failing_started, s.failing_age);
		r->failing_since.attempts = s.failing_attempts;
	}
}

/*
 * What the history says of the failures, in two round trips: whether
 * each ever passed, the baseline flights and where each passed at the
 * same revision, which do not depend on each other; then, knowing the
 * baselines, the failures in them and (for the flight reported) the ages.
 * The heisenbugs' flights follow, each judged with the flight.
 */
static int rep_history(struct rep_load *l, const struct report *parent)
{
	struct report *r = l->r;
	const char *rev = rep_tested_rev(r);
	int qe = -1, qb = -1, qp = -1, qo = -1, qs = -1, rc = 0;
	struct db_batch b;

	for (size_t i = 0; i < r->nfails; i++) {
		vec_push(&l->jobs, r->fails[i].job);
		vec_push(&l->steps, r->fails[i].step);
	}
	db_batch_init(&b, l->db);
	if (r->nfails)
		qe = db_report_ever_passed_ask(&b, r->branch, &l->jobs,
					       &l->steps, l->before);
	if (r->that && r->tree)
		qb = db_report_baselines_ask(&b, r->tree, r->that, r->branch,
					     r->flight, l->before);
	if (r->nfails && rev)
		qp = db_report_pass_in_ask(&b, r->tree, rev, r->branch, r->flight,
					   l->before, l->main, &l->jobs,
					   &l->steps);
	if (b.n)
		rc = db_batch_run(&b, l->err);
	if (rc == 0 && qe >= 0)
		rep_ever_passed(l, &b, qe);
	if (rc == 0 && qb >= 0) {
		db_report_baselines_get(&b, qb, &l->ids, &l->nids);
		r->baseline_flight = l->ids[0];
	}
	if (rc == 0 && qp >= 0)
		rep_pass_in(l, &b, qp);
	db_batch_release(&b);
	if (rc < 0)
		return rc;

	db_batch_init(&b, l->db);
	if (l->nids && r->nfails)
		qo = db_report_observations_ask(&b, l->ids, l->nids, &l->jobs,
						&l->steps);
	if (!parent && rev)
		qs = db_report_since_ask(&b, r->tree, rev, r->branch, r->flight,
					 r->baseline_flight);
	if (b.n)
		rc = db_batch_run(&b, l->err);
	if (rc == 0 && qo >= 0)
		rep_observations(l, &b, qo);
	if (rc == 0 && qs >= 0)
		rep_ages(l, &b, qs);
	db_batch_release(&b);
	if (rc == 0 && !parent)
		rc = rep_subs(l);
	return rc;
}

/*
 * One flight's report: first what depends on the flight alone (its row,
 * revisions, jobs and failing steps) in one round trip, which begin also
 * makes the one that opens the report's transaction; then its history.
 */
static int rep_load_one(struct db *db, long flight, long before, int begin,
			struct report *r, const struct report *parent,
			struct err *err)
{
	struct rep_load l = { .db = db, .r = r, .err = err, .before = before,
			      .main = parent ? parent->flight : flight };
	struct db_rep_flight f;
	struct db_rep_row *rows = NULL;
	struct db_batch b;
	size_t n = 0;
	int qf, qr, qj, rc;

	r->flight = flight;
	db_batch_init(&b, db);
	if (begin)
		db_batch_begin_read(&b, 1);
	qf = db_report_flight_ask(&b, flight);
	qr = db_report_revisions_ask(&b, flight);
	qj = db_report_jobs_ask(&b, flight);
	rc = db_batch_run(&b, err);
	if (rc == 0)
		rc = db_report_flight_get(&b, qf, flight, &r->pool, &f, err);
	if (rc == 0) {
		rep_flight_row(&l, &f, parent);
		db_report_revisions_get(&b, qr, &r->trees, &r->revs);
		db_report_jobs_get(&b, qj, &r->pool, &rows, &n);
		rep_jobs_and_failures(&l, rows, n);
	}
	db_batch_release(&b);
	free(rows);
	if (rc < 0)
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
	free(l.ids);
	return rc;
}

/*
 * One read-only transaction around the report's queries: they see one
 * snapshot (a flight ending meanwhile cannot leave it half judged), and
 * their prepared statements keep their generic plans. The server would
 * plan several of them again at each execution (its estimates for array
 * parameters and "$n = 0 OR ..." make the generic plan look dearer than
 * it is), which cost more than running them; the plans do not depend on
 * the values (index probes by flight, revision or (branch, job, step)).
 * The transaction opens in the report's first round trip. Inside a
 * caller's transaction it only reads.
 */
static int rep_load_tx(struct db *db, long flight, long before,
		       struct report *r, struct err *err)
{
	int own = db_idle(db), rc;

	rc = rep_load_one(db, flight, before, own, r, NULL, err);
	if (own && rc == 0)
		rc = db_commit(db, err);
	else if (own && !db_idle(db))
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
