/*
 * db-bisect.c: bisections and their flights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-bisect.h"
#include "xalloc.h"
#include "banned.h"

void bisection_release(struct bisection *b)
{
	free(b->branch);
	free(b->job);
	free(b->step);
	free(b->status);
	vec_clear(&b->hosts);
	memset(b, 0, sizeof(*b));
}

int db_bisect_start(struct db *db, const char *branch, const char *job,
		    const char *step, long basis_flight, long failure_flight,
		    const char *started_by, long *id, struct err *err)
{
	char basis[24], failure[24];
	PGresult *res;

	snprintf(basis, sizeof(basis), "%ld", basis_flight);
	snprintf(failure, sizeof(failure), "%ld", failure_flight);
	/* one running bisection per (branch, job, step): bisections_running_idx */
	res = db_query(db, err,
		       "WITH h AS (SELECT job_hosts($5::bigint, $2) hosts), "
		       "i AS (INSERT INTO bisections (branch, job, step, basis_flight, "
		       "failure_flight, hosts, started_by) SELECT $1, $2, $3, "
		       "$4::bigint, $5::bigint, h.hosts, $6 FROM h WHERE h.hosts IS NOT NULL "
		       "ON CONFLICT (branch, job, step) WHERE status = 'running' "
		       "DO NOTHING RETURNING id), "
		       "e AS (INSERT INTO events (actor, kind, branch, flight, detail) "
		       "SELECT $6, 'bisection.started', $1, $5::bigint, "
		       "jsonb_build_object('bisection', i.id, 'job', $2::text, "
		       "'step', $3::text) FROM i) "
		       "SELECT (SELECT id FROM i), (SELECT id FROM bisections WHERE "
		       "branch = $1 AND job = $2 AND step = $3 AND status = 'running'), "
		       "(SELECT hosts IS NOT NULL FROM h)",
		       6, (const char *[]){ branch, job, step, basis, failure,
					    started_by });
	if (!res)
		return err->code;
	if (!PQgetisnull(res, 0, 0)) {
		*id = db_long(res, 0, 0);
		PQclear(res);
		return 0;
	}
	if (!PQgetisnull(res, 0, 1)) {
		*id = db_long(res, 0, 1);
		PQclear(res);
		return err_set(err, ERR_EXISTS, "bisection %ld of %s %s already runs",
			       *id, job, step);
	}
	PQclear(res);
	return err_set(err, ERR_USAGE, "job %s of flight %ld held no host", job,
		       failure_flight);
}

int db_bisect_find_pair(struct db *db, const char *branch, const char *job,
			const char *step, long *basis, long *failure,
			struct err *err)
{
	PGresult *res = db_query_one(
		db, err, "failing flight with a pass before it",
		"WITH f AS (SELECT s.flight FROM steps s JOIN flights f ON f.id = s.flight "
		"WHERE s.job = $2 AND s.name = $3 AND s.status = 'fail' AND "
		"f.branch = $1 AND f.intent = 'gate' ORDER BY s.flight DESC LIMIT 1) "
		"SELECT (SELECT s.flight FROM steps s JOIN flights p ON p.id = s.flight "
		"WHERE s.job = $2 AND s.name = $3 AND s.status = 'pass' AND p.branch = $1 "
		"AND p.intent IN ('gate', 'bisect') AND s.flight < f.flight "
		"ORDER BY s.flight DESC LIMIT 1), f.flight FROM f",
		3, (const char *[]){ branch, job, step });

	if (!res)
		return err->code;
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no pass of %s %s before its failure",
			       job, step);
	}
	*basis = db_long(res, 0, 0);
	*failure = db_long(res, 0, 1);
	PQclear(res);
	return 0;
}

int db_bisect_running(struct db *db, struct vec *ids, struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT id FROM bisections WHERE status = 'running' "
				 "ORDER BY id", 0, NULL);

	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++)
		vec_push(ids, PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

int db_bisect_get(struct db *db, long id, struct bisection *b, struct err *err)
{
	char num[24], what[48];
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", id);
	snprintf(what, sizeof(what), "bisection %ld", id);
	res = db_query_one(db, err, what,
			   "SELECT branch, job, step, status, basis_flight, "
			   "failure_flight, array_to_string(hosts, ' ') "
			   "FROM bisections WHERE id = $1::bigint",
			   1, (const char *[]){ num });
	if (!res)
		return err->code;
	memset(b, 0, sizeof(*b));
	b->id = id;
	b->branch = db_dup(res, 0, 0);
	b->job = db_dup(res, 0, 1);
	b->step = db_dup(res, 0, 2);
	b->status = db_dup(res, 0, 3);
	b->basis_flight = db_long(res, 0, 4);
	b->failure_flight = db_long(res, 0, 5);
	vec_split(&b->hosts, PQgetvalue(res, 0, 6));
	PQclear(res);
	return 0;
}

int db_bisect_open_flight(struct db *db, long id, long *flight,
			  struct err *err)
{
	char num[24];
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", id);
	res = db_query(db, err,
		       "SELECT id FROM flights WHERE bisection = $1::bigint AND "
		       "status IN ('constructing', 'queued', 'running') LIMIT 1",
		       1, (const char *[]){ num });
	if (!res)
		return err->code;
	*flight = PQntuples(res) ? db_long(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

int db_bisect_revisions(struct db *db, long flight, struct vec *trees,
			struct vec *revs, struct err *err)
{
	char num[24];
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", flight);
	res = db_query(db, err,
		       "SELECT tree, revision FROM flight_revisions WHERE flight = "
		       "$1::bigint ORDER BY tree",
		       1, (const char *[]){ num });
	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++) {
		vec_push(trees, PQgetvalue(res, i, 0));
		vec_push(revs, PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return 0;
}

int db_bisect_results(struct db *db, const struct bisection *b,
		      const struct vec *trees, struct bisection_result **results,
		      size_t *n, struct err *err)
{
	char basis[24], *treearr = db_array(trees), *hostarr = db_array(&b->hosts);
	PGresult *res;

	*results = NULL;
	*n = 0;
	snprintf(basis, sizeof(basis), "%ld", b->basis_flight);
	/* the job's history newest first is jobs_history_idx; here from the
	 * basis on, a bounded range of one branch */
	res = db_query(db, err,
		       "SELECT f.id, coalesce((SELECT s.status FROM steps s WHERE "
		       "s.flight = f.id AND s.job = j.job AND s.name = $3 ORDER BY "
		       "s.attempt DESC LIMIT 1), 'missing'), "
		       /* '-' keeps the place of a tree the flight did not test */
		       "(SELECT array_to_string(array_agg(coalesce(fr.revision, '-') "
		       "ORDER BY t.o), ' ') FROM unnest($5::text[]) WITH ORDINALITY t(tree, o) "
		       "LEFT JOIN flight_revisions fr ON fr.flight = f.id AND fr.tree = t.tree) "
		       "FROM jobs j JOIN flights f ON f.id = j.flight "
		       "WHERE j.job = $2 AND j.flight >= $4::bigint AND f.branch = $1 "
		       "AND f.intent IN ('gate', 'retest', 'bisect') AND f.status = 'finished' "
		       "AND job_hosts(f.id, j.job) = $6::text[] "
		       "ORDER BY f.id",
		       6, (const char *[]){ b->branch, b->job, b->step, basis, treearr,
					    hostarr });
	free(treearr);
	free(hostarr);
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*results = xcalloc(*n + 1, sizeof(**results));
	for (size_t i = 0; i < *n; i++) {
		struct bisection_result *r = &(*results)[i];

		r->flight = db_long(res, (int)i, 0);
		r->status = xstrdup(PQgetvalue(res, (int)i, 1));
		vec_split(&r->revs, PQgetvalue(res, (int)i, 2));
		for (size_t t = 0; t < r->revs.n; t++)
			if (!strcmp(r->revs.v[t], "-"))
				r->revs.v[t][0] = '\0';
	}
	PQclear(res);
	return 0;
}

void db_bisect_results_free(struct bisection_result *results, size_t n)
{
	for (size_t i = 0; results && i < n; i++) {
		free(results[i].status);
		vec_clear(&results[i].revs);
	}
	free(results);
}

int db_bisect_identical(struct db *db, long id, const struct vec *trees,
			const struct vec *revs, long *n, struct err *err)
{
	char num[24], *treearr = db_array(trees), *revarr = db_array(revs);
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", id);
	res = db_query_one(db, err, "identical flights",
			   "SELECT count(*) FROM flights f WHERE f.bisection = $1::bigint "
			   "AND (SELECT array_agg(fr.revision ORDER BY t.o) FROM "
			   "unnest($2::text[]) WITH ORDINALITY t(tree, o) LEFT JOIN "
			   "flight_revisions fr ON fr.flight = f.id AND fr.tree = t.tree) "
			   "= $3::text[]",
			   3, (const char *[]){ num, treearr, revarr });
	free(treearr);
	free(revarr);
	if (!res)
		return err->code;
	*n = db_long(res, 0, 0);
	PQclear(res);
	return 0;
}

int db_bisect_host_gone(struct db *db, long id, char **reason,
			struct err *err)
{
	char num[24];
	PGresult *res;

	*reason = NULL;
	snprintf(num, sizeof(num), "%ld", id);
	res = db_query(db, err,
		       "SELECT j.broken_reason FROM bisections b JOIN jobs j "
		       "ON j.job = b.job AND j.flight = (SELECT max(f.id) FROM "
		       "flights f WHERE f.bisection = b.id) "
		       "WHERE b.id = $1::bigint AND j.status = 'broken' "
		       "AND EXISTS (SELECT 1 FROM events e WHERE e.flight = j.flight "
		       "AND e.job = j.job AND e.kind = 'job.broken' "
		       "AND e.detail ? 'pinned')",
		       1, (const char *[]){ num });
	if (!res)
		return err->code;
	if (PQntuples(res) > 0)
		*reason = xstrdup(PQgetisnull(res, 0, 0)
					  ? "a pinned host is not usable"
					  : PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int db_bisect_progress(struct db *db, long id, const char *detail_json,
		       struct err *err)
{
	char num[24];

	snprintf(num, sizeof(num), "%ld", id);
	return db_exec(db, err,
		       "UPDATE bisections SET detail = $2::jsonb WHERE id = $1::bigint",
		       2, (const char *[]){ num, detail_json });
}

int db_bisect_finish(struct db *db, long id, const char *status,
		     const char *tree, const char *commit, const char *parent,
		     const char *detail_json, const char *report_text,
		     struct err *err)
{
	char num[24];
	PGresult *res;
	int ended;

	snprintf(num, sizeof(num), "%ld", id);
	res = db_query(db, err,
		       "WITH u AS (UPDATE bisections SET status = $2, culprit_tree = $3, "
		       "culprit_commit = $4, culprit_parent = $5, detail = $6::jsonb, "
		       "report_text = $7, finished_at = now() WHERE id = $1::bigint "
		       "AND status = 'running' RETURNING branch, failure_flight) "
		       "INSERT INTO events (actor, kind, branch, flight, detail) "
		       "SELECT $8, 'bisection.' || $2, u.branch, u.failure_flight, "
		       "jsonb_build_object('bisection', $1::bigint, 'commit', $4::text) "
		       "FROM u RETURNING 1",
		       8, (const char *[]){ num, status, tree, commit, parent,
					    detail_json, report_text, db_actor() });
	if (!res)
		return err->code;
	ended = PQntuples(res) > 0;
	PQclear(res);
	return ended;
}

int db_bisect_json(struct db *db, const char *id, json_t **ret,
		   struct err *err)
{
	return db_query_json(
		db, err, "bisections", ret,
		"SELECT coalesce(json_agg(json_build_object('id', id, 'branch', branch, "
		"'job', job, 'step', step, 'status', status, 'basis_flight', "
		"basis_flight, 'failure_flight', failure_flight, 'hosts', hosts, "
		"'culprit', CASE WHEN culprit_commit IS NULL THEN NULL ELSE "
		"json_build_object('tree', culprit_tree, 'commit', culprit_commit, "
		"'parent', culprit_parent) END, 'detail', detail, 'started_by', "
		"started_by, 'created', hangar_iso(created_at), 'finished', "
		"hangar_iso(finished_at), 'flights', (SELECT coalesce(json_agg(f.id "
		"ORDER BY f.id), '[]') FROM flights f WHERE f.bisection = b.id)) "
		"ORDER BY id DESC), '[]')::text "
		"FROM (SELECT * FROM bisections WHERE $1::bigint IS NULL OR id = $1::bigint "
		"ORDER BY id DESC LIMIT 200) b",
		1, (const char *[]){ id });
}
