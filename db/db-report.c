/*
 * db-report.c: loading a flight's report (see db-report.h). The history
 * queries follow OSSTest's sg-report-flight (reference §4.2) but ask the
 * database only about the revisions and steps at hand: the baseline
 * flights through flight_revisions (tree, revision), "ever passed"
 * through the step_passes summary, a heisenbug's other flight through the
 * flights of the same new revision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-report.h"
#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

#define BASELINE_MAX "1000"   /* OSSTest's limit on candidate flights */

struct rep_load {
	struct db *db;
	struct report *r;
	struct err *err;
	char fl[32];
	char what[48];     /* "flight N", for errors */
	char before[32];   /* only flights below this one count ("0": all) */
	char main[32];     /* the flight reported (its heisen flights' too) */
	int push_starved;  /* the branch pushes with starved jobs */
};

static int rep_flight_row(struct rep_load *l, const struct report *parent)
{
	struct report *r = l->r;
	PGresult *res;

	res = db_query_one(l->db, l->err, l->what,
			   "SELECT f.branch, f.intent, f.status, f.verdict, f.pushed, "
			   "f.baseline_test, coalesce(f.retest_of, 0), "
			   "f.target_revision, b.tree, "
			   "array_to_string(b.allow, E'\\n'), f.push_log, "
			   "coalesce((SELECT max(t.id) FROM flights t "
			   "WHERE t.retest_of = f.id), 0), "
			   "coalesce(b.push_starved, false) "
			   "FROM flights f LEFT JOIN branches b ON b.name = f.branch "
			   "WHERE f.id = $1",
			   1, (const char *[]){ l->fl });
	if (!res)
		return l->err->code;
	r->intent = db_dup(res, 0, 1);
	r->status = db_dup(res, 0, 2);
	r->verdict = db_dup(res, 0, 3);
	r->pushed = !strcmp(PQgetvalue(res, 0, 4), "t");
	r->baseline_test = !strcmp(PQgetvalue(res, 0, 5), "t");
	r->retest_of = db_long(res, 0, 6);
	r->push_log = db_dup(res, 0, 10);
	r->retest_flight = db_long(res, 0, 11);
	l->push_starved = !strcmp(PQgetvalue(res, 0, 12), "t");
	if (parent) {
		/* a heisenbug's flight is judged against the same baseline */
		r->branch = xstrdup_or_null(parent->branch);
		r->tree = xstrdup_or_null(parent->tree);
		r->that = xstrdup_or_null(parent->that);
	} else {
		r->branch = db_dup(res, 0, 0);
		r->that = db_dup(res, 0, 7);
		r->tree = db_dup(res, 0, 8);
	}
	if (!PQgetisnull(res, 0, 9)) {
		char *all = db_dup(res, 0, 9), *save = NULL;

		for (char *s = strtok_r(all, "\n", &save); s;
		     s = strtok_r(NULL, "\n", &save))
			if (allow_add(&r->allow, s, l->err) < 0)
				err_clear(l->err);   /* lab apply checked it */
		free(all);
	}
	PQclear(res);
	return 0;
}

static int rep_revisions(struct rep_load *l)
{
	PGresult *res = db_query(l->db, l->err,
				 "SELECT tree, revision FROM flight_revisions "
				 "WHERE flight = $1 ORDER BY tree",
				 1, (const char *[]){ l->fl });

	if (!res)
		return l->err->code;
	for (int i = 0; i < PQntuples(res); i++) {
		vec_push(&l->r->trees, PQgetvalue(res, i, 0));
		vec_push(&l->r->revs, PQgetvalue(res, i, 1));
	}
	PQclear(res);
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
	size_t falloc = 0;
	PGresult *res;

	res = db_query(l->db, l->err,
		       "SELECT j.job, j.status, (j.job LIKE 'build%' OR EXISTS ("
		       "SELECT 1 FROM recipe_steps rs WHERE rs.recipe = j.recipe "
		       "AND rs.kind = 'build')), "
		       "array_to_string(ARRAY(SELECT v.val FROM runvars v "
		       "WHERE v.flight = j.flight AND v.job = j.job "
		       "AND v.name ~ '^host[0-9]*$' ORDER BY length(v.name), v.name), ' '), "
		       "s.stepno, s.name, s.status, j.wait_reason "
		       "FROM jobs j LEFT JOIN steps s ON s.flight = j.flight "
		       "AND s.job = j.job AND s.attempt = j.attempt "
		       "AND s.status NOT IN ('pass', 'skip') "
		       "WHERE j.flight = $1 ORDER BY j.job, s.stepno",
		       1, (const char *[]){ l->fl });
	if (!res)
		return l->err->code;
	r->jobs = xcalloc((size_t)PQntuples(res) + 1, sizeof(*r->jobs));
	for (int i = 0; i < PQntuples(res); i++) {
		struct rep_job *j = r->njobs ? &r->jobs[r->njobs - 1] : NULL;
		struct cl_failure *f;

		if (!j || strcmp(j->job, PQgetvalue(res, i, 0))) {
			j = &r->jobs[r->njobs++];
			j->job = db_dup(res, i, 0);
			j->status = db_dup(res, i, 1);
			j->build = !strcmp(PQgetvalue(res, i, 2), "t");
			j->hosts = db_dup(res, i, 3);
			if (PQgetisnull(res, i, 4)) {
				if (!strcmp(j->status, "pass"))
					continue;
				/* it ended without a failing step */
				f = rep_add_failure(r, &falloc);
				f->job = report_str(r, j->job);
				f->step = CL_NONE_EXECUTED;
				f->status = report_str(r, j->status);
				f->job_level = 1;
				f->build = j->build;
				if (!strcmp(j->status, "starved")) {
					f->reason = report_str(r, PQgetvalue(res, i, 7));
					f->starved_blocks = !l->push_starved;
				}
				continue;
			}
		}
		f = rep_add_failure(r, &falloc);
		f->job = report_str(r, j->job);
		f->stepno = (int)db_long(res, i, 4);
		f->step = report_str(r, PQgetvalue(res, i, 5));
		f->status = report_str(r, PQgetvalue(res, i, 6));
		f->build = j->build;
		f->starved_blocks = !l->push_starved;
	}
	PQclear(res);
	return 0;
}

/* The failures' jobs and steps as two text[] parameters. */
static void rep_failure_arrays(const struct report *r, char **jobs,
			       char **steps)
{
	struct vec j = VEC_INIT, s = VEC_INIT;

	for (size_t i = 0; i < r->nfails; i++) {
		vec_push(&j, r->fails[i].job);
		vec_push(&s, r->fails[i].step);
	}
	*jobs = db_array(&j);
	*steps = db_array(&s);
	vec_clear(&j);
	vec_clear(&s);
}

static int rep_ever_passed(struct rep_load *l, const char *jobs,
			   const char *steps)
{
	struct report *r = l->r;
	struct strmap passed = STRMAP_INIT;
	PGresult *res;

	res = db_query(l->db, l->err,
		       "SELECT p.job || ' ' || p.step FROM step_passes p "
		       "JOIN unnest($2::text[], $3::text[]) AS q(job, step) "
		       "ON p.job = q.job AND p.step = q.step WHERE p.branch = $1 "
		       "AND ($4::bigint = 0 OR p.first_flight <= $4::bigint)",
		       4, (const char *[]){ r->branch, jobs, steps, l->before });
	if (!res)
		return l->err->code;
	for (int i = 0; i < PQntuples(res); i++)
		strmap_put(&passed, PQgetvalue(res, i, 0), 1);
	PQclear(res);
	for (size_t i = 0; i < r->nfails; i++) {
		char *key = xasprintf("%s %s", r->fails[i].job, r->fails[i].step);

		r->fails[i].ever_passed = strmap_get(&passed, key) == 1;
		free(key);
	}
	strmap_clear(&passed);
	return 0;
}

/*
 * The baseline flights (those of the branch that tested the baseline
 * revision, gate before bisect, newest first) and the failing steps in
 * each: one observation per flight that has the job.
 */
static int rep_baselines(struct rep_load *l, const char *jobs, const char *steps)
{
	struct report *r = l->r;
	struct strmap seen = STRMAP_INIT;   /* "F JOB" and "F JOB STEP" -> row */
	struct vec fls = VEC_INIT;
	long *ids;
	char *fl_array;
	PGresult *res, *obs;

	res = db_query(l->db, l->err,
		       "SELECT f.id FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight "
		       "WHERE fr.tree = $1 AND fr.revision = $2 AND f.branch = $3 "
		       "AND f.intent IN ('gate', 'bisect') AND f.status = 'finished' "
		       "AND f.id <> $4 AND ($5::bigint = 0 OR f.id < $5::bigint) "
		       "ORDER BY f.intent = 'bisect', f.id DESC LIMIT " BASELINE_MAX,
		       5, (const char *[]){ r->tree, r->that, r->branch, l->fl,
					    l->before });
	if (!res)
		return l->err->code;
	ids = xcalloc((size_t)PQntuples(res) + 1, sizeof(*ids));
	for (int i = 0; i < PQntuples(res); i++) {
		vec_push(&fls, PQgetvalue(res, i, 0));
		ids[i] = db_long(res, i, 0);
	}
	PQclear(res);
	r->baseline_flight = ids[0];
	if (!fls.n || !r->nfails) {
		vec_clear(&fls);
		free(ids);
		return 0;
	}
	fl_array = db_array(&fls);
	obs = db_query(l->db, l->err,
		       /* only the failing (job, step) pairs, not every combination */
		       "SELECT j.flight, j.job, s.name, s.status "
		       "FROM unnest($2::text[], $3::text[]) AS q(job, step) "
		       "JOIN jobs j ON j.job = q.job AND j.flight = ANY($1::bigint[]) "
		       "LEFT JOIN steps s ON s.flight = j.flight AND s.job = j.job "
		       "AND s.attempt = j.attempt AND s.name = q.step",
		       3, (const char *[]){ fl_array, jobs, steps });
	free(fl_array);
	if (!obs) {
		vec_clear(&fls);
		free(ids);
		return l->err->code;
	}
	for (int i = 0; i < PQntuples(obs); i++) {
		char *key = xasprintf("%s %s", PQgetvalue(obs, i, 0),
				      PQgetvalue(obs, i, 1));

		strmap_put(&seen, key, -2);
		free(key);
		if (PQgetisnull(obs, i, 2))
			continue;
		key = xasprintf("%s %s %s", PQgetvalue(obs, i, 0),
				PQgetvalue(obs, i, 1), PQgetvalue(obs, i, 2));
		strmap_put(&seen, key, i);
		free(key);
	}
	for (size_t k = 0; k < r->nfails; k++) {
		struct cl_failure *f = &r->fails[k];
		struct cl_obs *o = xcalloc(fls.n, sizeof(*o));
		size_t n = 0;

		for (size_t i = 0; i < fls.n; i++) {
			char *key = xasprintf("%s %s", fls.v[i], f->job);
			long row;

			if (strmap_get(&seen, key) == -2) {
				free(key);
				key = xasprintf("%s %s %s", fls.v[i], f->job, f->step);
				row = strmap_get(&seen, key);
				o[n].flight = ids[i];
				o[n].status = row >= 0
						      ? report_str(r, PQgetvalue(obs, (int)row, 3))
						      : NULL;
				n++;
			}
			free(key);
		}
		f->obs = o;
		f->nobs = n;
	}
	PQclear(obs);
	strmap_clear(&seen);
	vec_clear(&fls);
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
static int rep_pass_in(struct rep_load *l, const char *jobs, const char *steps)
{
	struct report *r = l->r;
	PGresult *res;

	res = db_query(l->db, l->err,
		       "SELECT s.job, s.name, max(s.flight) FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight "
		       "JOIN jobs j ON j.flight = f.id AND j.job = ANY($5::text[]) "
		       "JOIN steps s ON s.flight = j.flight AND s.job = j.job "
		       "AND s.attempt = j.attempt AND s.name = ANY($6::text[]) "
		       "AND s.status = 'pass' "
		       "WHERE fr.tree = $1 AND fr.revision = $2 AND f.branch = $3 "
		       "AND f.intent IN ('gate', 'bisect', 'retest') AND f.id <> $4 "
		       "AND f.status = 'finished' "
		       "AND ($7::bigint = 0 OR f.id <= $7::bigint OR f.retest_of = $8::bigint) "
		       "GROUP BY s.job, s.name",
		       8, (const char *[]){ r->tree, rep_tested_rev(r), r->branch,
					    l->fl, jobs, steps, l->before, l->main });
	if (!res)
		return l->err->code;
	for (int i = 0; i < PQntuples(res); i++)
		for (size_t k = 0; k < r->nfails; k++)
			if (!strcmp(r->fails[k].job, PQgetvalue(res, i, 0)) &&
			    !strcmp(r->fails[k].step, PQgetvalue(res, i, 1)))
				r->fails[k].pass_in = db_long(res, i, 2);
	PQclear(res);
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
static int rep_subs(struct rep_load *l, long before)
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
			if (rep_load_one(l->db, id, before, &r->subs[r->nsubs++], r,
					 l->err) < 0)
				return l->err->code;
		}
	}
	return 0;
}

static int rep_age_of(struct rep_load *l, struct rep_age *a)
{
	char fl[32];
	PGresult *res;

	if (!a->flight)
		return 0;
	snprintf(fl, sizeof(fl), "%ld", a->flight);
	res = db_query(l->db, l->err,
		       "SELECT to_char(coalesce(started_at, created_at) AT TIME ZONE "
		       "'UTC', 'YYYY-MM-DD HH24:MI:SS \"Z\"'), "
		       "extract(day FROM now() - coalesce(started_at, created_at))::bigint "
		       "FROM flights WHERE id = $1",
		       1, (const char *[]){ fl });
	if (!res)
		return l->err->code;
	if (PQntuples(res) == 1) {
		a->started = db_dup(res, 0, 0);
		a->age_days = db_long(res, 0, 1);
	}
	PQclear(res);
	return 0;
}

/* "Last test of basis", "Failing since", "Testing same since". */
static int rep_ages(struct rep_load *l)
{
	struct report *r = l->r;
	char basis[32];
	PGresult *res;

	snprintf(basis, sizeof(basis), "%ld", r->baseline_flight);
	r->basis.flight = r->baseline_flight;
	res = db_query(l->db, l->err,
		       "SELECT (SELECT min(f.id) FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight WHERE fr.tree = $1 "
		       "AND fr.revision = $2 AND f.branch = $3 AND f.intent = 'gate' "
		       "AND f.id <= $4), "
		       "(SELECT count(*) FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight WHERE fr.tree = $1 "
		       "AND fr.revision = $2 AND f.branch = $3 AND f.intent = 'gate' "
		       "AND f.id <= $4), "
		       /* counted from the basis only: no basis, no count */
		       "(SELECT min(id) FROM flights WHERE branch = $3 "
		       "AND intent = 'gate' AND id > $5 AND id <= $4 AND $5 > 0), "
		       "(SELECT count(*) FROM flights WHERE branch = $3 "
		       "AND intent = 'gate' AND id > $5 AND id <= $4 AND $5 > 0)",
		       5, (const char *[]){ r->tree, rep_tested_rev(r), r->branch,
					    l->fl, basis });
	if (!res)
		return l->err->code;
	r->same_since.flight = db_long(res, 0, 0);
	r->same_since.attempts = db_long(res, 0, 1);
	if (r->baseline_flight) {
		r->failing_since.flight = db_long(res, 0, 2);
		r->failing_since.attempts = db_long(res, 0, 3);
	}
	PQclear(res);
	if (rep_age_of(l, &r->basis) < 0 || rep_age_of(l, &r->same_since) < 0 ||
	    rep_age_of(l, &r->failing_since) < 0)
		return l->err->code;
	return 0;
}

static int rep_load_one(struct db *db, long flight, long before,
			struct report *r, const struct report *parent,
			struct err *err)
{
	struct rep_load l = { db, r, err, "", "", "", "", 0 };
	char *jobs = NULL, *steps = NULL;
	int rc;

	snprintf(l.fl, sizeof(l.fl), "%ld", flight);
	snprintf(l.what, sizeof(l.what), "flight %ld", flight);
	snprintf(l.before, sizeof(l.before), "%ld", before);
	snprintf(l.main, sizeof(l.main), "%ld", parent ? parent->flight : flight);
	r->flight = flight;
	if ((rc = rep_flight_row(&l, parent)) < 0 || (rc = rep_revisions(&l)) < 0 ||
	    (rc = rep_jobs_and_failures(&l)) < 0)
		return rc;
	for (size_t i = 0; i < r->nfails; i++)
		r->fails[i].have_baseline = r->that && r->tree && r->branch;
	if (!r->branch)
		return 0;
	rep_failure_arrays(r, &jobs, &steps);
	if (r->nfails)
		rc = rep_ever_passed(&l, jobs, steps);
	if (rc == 0 && r->that && r->tree)
		rc = rep_baselines(&l, jobs, steps);
	if (rc == 0 && r->nfails && rep_tested_rev(r))
		rc = rep_pass_in(&l, jobs, steps);
	if (rc == 0 && !parent)
		rc = rep_subs(&l, before);
	if (rc == 0 && !parent && rep_tested_rev(r))
		rc = rep_ages(&l);
	free(jobs);
	free(steps);
	return rc;
}

int db_report_load(struct db *db, long flight, struct report *r,
		   struct err *err)
{
	return rep_load_one(db, flight, 0, r, NULL, err);
}

int db_report_load_before(struct db *db, long flight, struct report *r,
			  struct err *err)
{
	return rep_load_one(db, flight, flight, r, NULL, err);
}
