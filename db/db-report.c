/*
 * db-report.c: the rows a flight's report is made of (see db-report.h).
 * The history queries follow OSSTest's sg-report-flight (reference §4.2)
 * but ask the database only about the revisions and steps at hand: the
 * baseline flights through flight_revisions (tree, revision), "ever
 * passed" through the step_passes summary, a heisenbug's other flight
 * through the flights of the same new revision. Each is a prepared
 * statement (db_batch prepares them as db_query_prep does): a report asks
 * a dozen of them, and planning them again each time cost as much as
 * running them. Each is asked in two halves, _ask adding it to a batch
 * and _get reading its answer, so that the report sends those that do not
 * depend on each other's answers in one round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-report.h"
#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

#define BASELINE_MAX "1000"   /* OSSTest's limit on candidate flights */

/* A field as a string of pool (NULL for SQL NULL). */
static const char *rep_str(struct vec *pool, PGresult *res, int row, int col)
{
	const char *s = db_str(res, row, col);

	if (!s)
		return NULL;
	vec_push(pool, s);
	return pool->v[pool->n - 1];
}

static int rep_bool(PGresult *res, int row, int col)
{
	return !strcmp(PQgetvalue(res, row, col), "t");
}

static void rep_num(char *s, size_t size, long n)
{
	snprintf(s, size, "%ld", n);
}

static const char flight_sql[] =
	"SELECT f.branch, f.intent, f.status, f.verdict, f.pushed, "
	"f.baseline_test, coalesce(f.retest_of, 0), "
	"f.target_revision, b.tree, "
	"array_to_string(b.allow, E'\\n'), f.push_log, "
	"coalesce((SELECT max(t.id) FROM flights t "
	"WHERE t.retest_of = f.id), 0), "
	"coalesce(b.push_starved, false) "
	"FROM flights f LEFT JOIN branches b ON b.name = f.branch "
	"WHERE f.id = $1";

int db_report_flight_ask(struct db_batch *b, long flight)
{
	char fl[32];

	rep_num(fl, sizeof(fl), flight);
	return db_batch_add(b, flight_sql, 1, (const char *[]){ fl });
}

int db_report_flight_get(struct db_batch *b, int i, long flight,
			 struct vec *pool, struct db_rep_flight *f,
			 struct err *err)
{
	PGresult *res = b->res[i];

	if (PQntuples(res) != 1)
		return err_set(err, ERR_NOTFOUND, "no flight %ld", flight);
	f->branch = rep_str(pool, res, 0, 0);
	f->intent = rep_str(pool, res, 0, 1);
	f->status = rep_str(pool, res, 0, 2);
	f->verdict = rep_str(pool, res, 0, 3);
	f->pushed = rep_bool(res, 0, 4);
	f->baseline_test = rep_bool(res, 0, 5);
	f->retest_of = db_long(res, 0, 6);
	f->target_revision = rep_str(pool, res, 0, 7);
	f->tree = rep_str(pool, res, 0, 8);
	f->allow = rep_str(pool, res, 0, 9);
	f->push_log = rep_str(pool, res, 0, 10);
	f->retest_flight = db_long(res, 0, 11);
	f->push_starved = rep_bool(res, 0, 12);
	return 0;
}

int db_report_revisions_ask(struct db_batch *b, long flight)
{
	char fl[32];

	rep_num(fl, sizeof(fl), flight);
	return db_batch_add(b,
			    "SELECT tree, revision FROM flight_revisions "
			    "WHERE flight = $1 ORDER BY tree",
			    1, (const char *[]){ fl });
}

void db_report_revisions_get(struct db_batch *b, int i, struct vec *trees,
			     struct vec *revs)
{
	PGresult *res = b->res[i];

	for (int k = 0; k < PQntuples(res); k++) {
		vec_push(trees, PQgetvalue(res, k, 0));
		vec_push(revs, PQgetvalue(res, k, 1));
	}
}

int db_report_jobs_ask(struct db_batch *b, long flight)
{
	char fl[32];

	rep_num(fl, sizeof(fl), flight);
	return db_batch_add(b,
		       "SELECT j.job, j.status, (j.job LIKE 'build%' OR EXISTS ("
		       "SELECT 1 FROM recipe_steps rs WHERE rs.recipe = j.recipe "
		       "AND rs.kind = 'build')), "
		       "coalesce(h.hosts, ''), "
		       "s.stepno, s.name, s.status, j.wait_reason "
		       "FROM jobs j LEFT JOIN steps s ON s.flight = j.flight "
		       "AND s.job = j.job AND s.attempt = j.attempt "
		       "AND s.status NOT IN ('pass', 'skip') "
		       /* the hosts of every job in one pass over the flight's
			* runvars, not a sorted probe per job: a third faster */
		       "LEFT JOIN (SELECT v.job, string_agg(v.val, ' ' "
		       "ORDER BY length(v.name), v.name) AS hosts FROM runvars v "
		       "WHERE v.flight = $1 AND v.name ~ '^host[0-9]*$' "
		       "GROUP BY v.job) h ON h.job = j.job "
		       "WHERE j.flight = $1 ORDER BY j.job, s.stepno",
		       1, (const char *[]){ fl });
}

void db_report_jobs_get(struct db_batch *b, int i, struct vec *pool,
			struct db_rep_row **rows, size_t *n)
{
	PGresult *res = b->res[i];

	*n = (size_t)PQntuples(res);
	*rows = xcalloc(*n + 1, sizeof(**rows));
	for (int k = 0; k < PQntuples(res); k++) {
		struct db_rep_row *r = &(*rows)[k];
		const struct db_rep_row *prev = k ? r - 1 : NULL;

		/* one copy of each job's fields, however many steps failed */
		if (prev && !strcmp(prev->job, PQgetvalue(res, k, 0))) {
			r->job = prev->job;
			r->status = prev->status;
			r->hosts = prev->hosts;
		} else {
			r->job = rep_str(pool, res, k, 0);
			r->status = rep_str(pool, res, k, 1);
			r->hosts = rep_str(pool, res, k, 3);
		}
		r->build = rep_bool(res, k, 2);
		r->stepno = (int)db_long(res, k, 4);
		r->step = rep_str(pool, res, k, 5);
		r->step_status = rep_str(pool, res, k, 6);
		r->wait_reason = rep_str(pool, res, k, 7);
	}
}

int db_report_ever_passed_ask(struct db_batch *b, const char *branch,
			      const struct vec *jobs, const struct vec *steps,
			      long before)
{
	char *ja = db_array(jobs), *sa = db_array(steps), bf[32];
	int i;

	rep_num(bf, sizeof(bf), before);
	i = db_batch_add(b,
		       "SELECT p.job || ' ' || p.step FROM step_passes p "
		       "JOIN unnest($2::text[], $3::text[]) AS q(job, step) "
		       "ON p.job = q.job AND p.step = q.step WHERE p.branch = $1 "
		       "AND ($4::bigint = 0 OR p.first_flight <= $4::bigint)",
		       4, (const char *[]){ branch, ja, sa, bf });
	free(ja);
	free(sa);
	return i;
}

void db_report_ever_passed_get(struct db_batch *b, int i,
			       const struct vec *jobs, const struct vec *steps,
			       int *passed)
{
	struct strmap seen = STRMAP_INIT;
	PGresult *res = b->res[i];

	for (int k = 0; k < PQntuples(res); k++)
		strmap_put(&seen, PQgetvalue(res, k, 0), 1);
	for (size_t k = 0; k < jobs->n; k++) {
		char *key = xasprintf("%s %s", jobs->v[k], steps->v[k]);

		passed[k] = strmap_get(&seen, key) == 1;
		free(key);
	}
	strmap_clear(&seen);
}

int db_report_baselines_ask(struct db_batch *b, const char *tree,
			    const char *rev, const char *branch, long flight,
			    long before)
{
	char fl[32], bf[32];

	rep_num(fl, sizeof(fl), flight);
	rep_num(bf, sizeof(bf), before);
	return db_batch_add(b,
		       "SELECT f.id FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight "
		       "WHERE fr.tree = $1 AND fr.revision = $2 AND f.branch = $3 "
		       "AND f.intent IN ('gate', 'bisect') AND f.status = 'finished' "
		       "AND f.id <> $4 AND ($5::bigint = 0 OR f.id < $5::bigint) "
		       "ORDER BY f.intent = 'bisect', f.id DESC LIMIT " BASELINE_MAX,
		       5, (const char *[]){ tree, rev, branch, fl, bf });
}

void db_report_baselines_get(struct db_batch *b, int i, long **ids, size_t *n)
{
	PGresult *res = b->res[i];

	*n = (size_t)PQntuples(res);
	*ids = xcalloc(*n + 1, sizeof(**ids));
	for (int k = 0; k < PQntuples(res); k++)
		(*ids)[k] = db_long(res, k, 0);
}

/* ids as a bigint[] literal. */
static char *rep_id_array(const long *ids, size_t n)
{
	struct vec v = VEC_INIT;
	char *s;

	for (size_t i = 0; i < n; i++) {
		char id[32];

		rep_num(id, sizeof(id), ids[i]);
		vec_push(&v, id);
	}
	s = db_array(&v);
	vec_clear(&v);
	return s;
}

int db_report_observations_ask(struct db_batch *b, const long *ids,
			       size_t nids, const struct vec *jobs,
			       const struct vec *steps)
{
	char *fa = rep_id_array(ids, nids), *ja = db_array(jobs),
	     *sa = db_array(steps);
	int i;

	i = db_batch_add(b,
		       /* only the failing (job, step) pairs, not every combination */
		       "SELECT j.flight, j.job, s.name, s.status "
		       "FROM unnest($2::text[], $3::text[]) AS q(job, step) "
		       "JOIN jobs j ON j.job = q.job AND j.flight = ANY($1::bigint[]) "
		       "LEFT JOIN steps s ON s.flight = j.flight AND s.job = j.job "
		       "AND s.attempt = j.attempt AND s.name = q.step",
		       3, (const char *[]){ fa, ja, sa });
	free(fa);
	free(ja);
	free(sa);
	return i;
}

void db_report_observations_get(struct db_batch *b, int i, struct vec *pool,
				struct db_rep_obs **rows, size_t *n)
{
	PGresult *res = b->res[i];

	*n = (size_t)PQntuples(res);
	*rows = xcalloc(*n + 1, sizeof(**rows));
	for (int k = 0; k < PQntuples(res); k++) {
		struct db_rep_obs *o = &(*rows)[k];

		o->flight = db_long(res, k, 0);
		o->job = rep_str(pool, res, k, 1);
		o->step = rep_str(pool, res, k, 2);
		o->status = o->step ? rep_str(pool, res, k, 3) : NULL;
	}
}

int db_report_pass_in_ask(struct db_batch *b, const char *tree,
			  const char *rev, const char *branch, long flight,
			  long before, long main, const struct vec *jobs,
			  const struct vec *steps)
{
	char fl[32], bf[32], mn[32];
	char *ja = db_array(jobs), *sa = db_array(steps);
	int i;

	rep_num(fl, sizeof(fl), flight);
	rep_num(bf, sizeof(bf), before);
	rep_num(mn, sizeof(mn), main);
	i = db_batch_add(b,
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
		       8, (const char *[]){ tree, rev, branch, fl, ja, sa, bf, mn });
	free(ja);
	free(sa);
	return i;
}

void db_report_pass_in_get(struct db_batch *b, int i, const struct vec *jobs,
			   const struct vec *steps, long *pass_in)
{
	PGresult *res = b->res[i];

	for (int r = 0; r < PQntuples(res); r++)
		for (size_t k = 0; k < jobs->n; k++)
			if (!strcmp(jobs->v[k], PQgetvalue(res, r, 0)) &&
			    !strcmp(steps->v[k], PQgetvalue(res, r, 1)))
				pass_in[k] = db_long(res, r, 2);
}

int db_report_since_ask(struct db_batch *b, const char *tree, const char *rev,
			const char *branch, long flight, long basis)
{
	char fl[32], bs[32];

	rep_num(fl, sizeof(fl), flight);
	rep_num(bs, sizeof(bs), basis);
	return db_batch_add(b,
		       "WITH s AS (SELECT (SELECT min(f.id) FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight WHERE fr.tree = $1 "
		       "AND fr.revision = $2 AND f.branch = $3 AND f.intent = 'gate' "
		       "AND f.id <= $4) AS same, "
		       "(SELECT count(*) FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight WHERE fr.tree = $1 "
		       "AND fr.revision = $2 AND f.branch = $3 AND f.intent = 'gate' "
		       "AND f.id <= $4) AS same_n, "
		       /* counted from the basis only: no basis, no count */
		       "(SELECT min(id) FROM flights WHERE branch = $3 "
		       "AND intent = 'gate' AND id > $5 AND id <= $4 AND $5 > 0) AS failing, "
		       "(SELECT count(*) FROM flights WHERE branch = $3 "
		       "AND intent = 'gate' AND id > $5 AND id <= $4 AND $5 > 0) AS failing_n), "
		       /* when each started, and how many days ago */
		       "a AS (SELECT id, to_char(coalesce(started_at, created_at) AT TIME ZONE "
		       "'UTC', 'YYYY-MM-DD HH24:MI:SS \"Z\"') AS started, "
		       "extract(day FROM now() - coalesce(started_at, created_at))::bigint AS age "
		       "FROM flights WHERE id IN ($5::bigint, (SELECT same FROM s), "
		       "(SELECT failing FROM s))) "
		       "SELECT s.same, s.same_n, s.failing, s.failing_n, "
		       "ab.started, ab.age, asm.started, asm.age, af.started, af.age "
		       "FROM s LEFT JOIN a ab ON ab.id = $5::bigint "
		       "LEFT JOIN a asm ON asm.id = s.same "
		       "LEFT JOIN a af ON af.id = s.failing",
		       5, (const char *[]){ tree, rev, branch, fl, bs });
}

void db_report_since_get(struct db_batch *b, int i, struct vec *pool,
			 struct db_rep_since *s)
{
	PGresult *res = b->res[i];

	s->same_flight = db_long(res, 0, 0);
	s->same_attempts = db_long(res, 0, 1);
	s->failing_flight = db_long(res, 0, 2);
	s->failing_attempts = db_long(res, 0, 3);
	s->basis_started = rep_str(pool, res, 0, 4);
	s->basis_age = db_long(res, 0, 5);
	s->same_started = rep_str(pool, res, 0, 6);
	s->same_age = db_long(res, 0, 7);
	s->failing_started = rep_str(pool, res, 0, 8);
	s->failing_age = db_long(res, 0, 9);
}
