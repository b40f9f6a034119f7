/*
 * db-flight.c: creating, reading and cancelling flights (see db-flight.h).
 * A flight is built in one transaction while 'constructing' and becomes
 * 'queued' at commit, so the scheduler never sees half a flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db-flight.h"
#include "runvar.h"
#include "xalloc.h"
#include "banned.h"

void flight_spec_init(struct flight_spec *s)
{
	memset(s, 0, sizeof(*s));
}

void flight_spec_release(struct flight_spec *s)
{
	vec_clear(&s->trees);
	vec_clear(&s->revs);
	vec_clear(&s->jobs);
	vec_clear(&s->hosts);
	vec_clear(&s->runvars);
	memset(s, 0, sizeof(*s));
}

/* A job of the flight being built. */
struct fjob {
	char *name, *recipe, *arch, *nhosts, *flags;
	struct vec needs, runvars;
	int asked;          /* asked for, not pulled in as a dependency */
	long reuse_flight;  /* not run: an earlier passing run is used */
};

static void fjobs_free(struct fjob *j, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(j[i].name);
		free(j[i].recipe);
		free(j[i].arch);
		free(j[i].nhosts);
		free(j[i].flags);
		vec_clear(&j[i].needs);
		vec_clear(&j[i].runvars);
	}
	free(j);
}

static struct fjob *fjob_find(struct fjob *j, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(j[i].name, name))
			return &j[i];
	return NULL;
}

/* The definition of name, appended to *jobs. */
static int fjob_load(struct db *db, const char *name, struct fjob **jobs,
		     size_t *n, struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT name, recipe, arch, nhosts::text, "
				 "array_to_string(flags, ' '), "
				 "array_to_string(needs, ' ') "
				 "FROM job_defs WHERE name = $1",
				 1, (const char *[]){ name });
	struct fjob *j;

	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_USAGE, "no job '%s' in the lab configuration",
			       name);
	}
	*jobs = xrealloc(*jobs, (*n + 1) * sizeof(**jobs));
	j = &(*jobs)[(*n)++];
	memset(j, 0, sizeof(*j));
	j->name = db_dup(res, 0, 0);
	j->recipe = db_dup(res, 0, 1);
	j->arch = db_dup(res, 0, 2);
	j->nhosts = db_dup(res, 0, 3);
	j->flags = db_dup(res, 0, 4);
	vec_split(&j->needs, PQgetvalue(res, 0, 5));
	PQclear(res);
	/* runvars one per row: values may hold spaces and commas */
	res = db_query(db, err,
		       "SELECT unnest(runvars) FROM job_defs WHERE name = $1",
		       1, (const char *[]){ name });
	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++)
		vec_push(&j->runvars, PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

/* The newest passing run of job built from exactly the spec's revisions. */
static int fjob_reusable(struct db *db, const struct flight_spec *spec,
			 const char *job, long *flight, struct err *err)
{
	struct buf trees = BUF_INIT, revs = BUF_INIT;
	PGresult *res;

	*flight = 0;
	if (spec->reuse_from) {
		char from[32];

		snprintf(from, sizeof(from), "%ld", spec->reuse_from);
		res = db_query(db, err,
			       "SELECT flight FROM jobs WHERE flight = $1 AND job = $2 "
			       "AND status = 'pass'",
			       2, (const char *[]){ from, job });
		if (!res)
			return err->code;
		if (PQntuples(res))
			*flight = spec->reuse_from;
		PQclear(res);
		if (*flight)
			return 0;
	}
	buf_addch(&trees, '{');
	buf_addch(&revs, '{');
	for (size_t i = 0; i < spec->trees.n; i++) {
		buf_addf(&trees, "%s\"%s\"", i ? "," : "", spec->trees.v[i]);
		buf_addf(&revs, "%s\"%s\"", i ? "," : "", spec->revs.v[i]);
	}
	buf_addch(&trees, '}');
	buf_addch(&revs, '}');
	res = db_query(db, err,
		       "SELECT j.flight FROM jobs j WHERE j.job = $1 "
		       "AND j.status = 'pass' AND NOT EXISTS (SELECT 1 FROM "
		       "unnest($2::text[], $3::text[]) w(tree, rev) WHERE NOT EXISTS "
		       "(SELECT 1 FROM runvars v WHERE v.flight = j.flight "
		       "AND v.job = j.job AND v.name = 'built_revision_' || w.tree "
		       "AND v.val = w.rev)) "
		       "AND EXISTS (SELECT 1 FROM artifacts a WHERE a.flight = j.flight "
		       "AND a.job = j.job) "
		       "ORDER BY j.flight DESC LIMIT 1",
		       3, (const char *[]){ job, trees.buf, revs.buf });
	buf_release(&trees);
	buf_release(&revs);
	if (!res)
		return err->code;
	if (PQntuples(res))
		*flight = db_long(res, 0, 0);
	PQclear(res);
	return 0;
}

/* The jobs asked for and everything they need, in *jobs. */
static int fjobs_expand(struct db *db, const struct flight_spec *spec,
			struct fjob **jobs, size_t *n, struct err *err)
{
	for (size_t i = 0; i < spec->jobs.n; i++) {
		if (fjob_find(*jobs, *n, spec->jobs.v[i]))
			continue;
		if (fjob_load(db, spec->jobs.v[i], jobs, n, err) < 0)
			return err->code;
		(*jobs)[*n - 1].asked = 1;
	}
	for (size_t i = 0; i < *n; i++) {
		for (size_t k = 0; k < (*jobs)[i].needs.n; k++) {
			char *need = xstrdup((*jobs)[i].needs.v[k]);
			int rc = 0;

			if (!fjob_find(*jobs, *n, need)) {
				long reuse = 0;

				if (spec->reuse_builds &&
				    fjob_reusable(db, spec, need, &reuse, err) < 0)
					rc = err->code;
				else if (fjob_load(db, need, jobs, n, err) < 0)
					rc = err->code;
				else
					(*jobs)[*n - 1].reuse_flight = reuse;
			}
			free(need);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int fjob_insert(struct db *db, const char *fl,
		       const struct flight_spec *spec, const struct fjob *j,
		       struct err *err)
{
	struct vec names = VEC_INIT, vals = VEC_INIT;
	int rc = 0;

	if (db_exec(db, err,
		    "INSERT INTO jobs (flight, job, recipe, arch, nhosts, flags) "
		    "VALUES ($1, $2, $3, $4, $5::int, "
		    "coalesce(string_to_array(nullif($6, ''), ' '), '{}'))",
		    6, (const char *[]){ fl, j->name, j->recipe, j->arch,
					 j->nhosts, j->flags ? j->flags : "" }) < 0)
		return err->code;
	/* later settings override earlier ones: definition, request, hangar */
	for (size_t i = 0; i < j->runvars.n; i++) {
		char *name, *value;
		const char *why;

		if (runvar_parse(j->runvars.v[i], &name, &value, &why) < 0)
			continue;
		vec_push_take(&names, name);
		vec_push_take(&vals, value);
	}
	for (size_t i = 0; i < spec->runvars.n; i++) {
		char *name, *value;
		const char *why;

		if (runvar_parse(spec->runvars.v[i], &name, &value, &why) < 0) {
			rc = err_set(err, ERR_USAGE, "runvar '%s': %s",
				     spec->runvars.v[i], why);
			goto out;
		}
		vec_push_take(&names, name);
		vec_push_take(&vals, value);
	}
	vec_push(&names, "arch");
	vec_push(&vals, j->arch);
	vec_push(&names, "flight");
	vec_push(&vals, fl);
	vec_push(&names, "job");
	vec_push(&vals, j->name);
	for (size_t i = 0; i < spec->trees.n; i++) {
		vec_pushf(&names, "revision_%s", spec->trees.v[i]);
		vec_push(&vals, spec->revs.v[i]);
	}
	for (size_t i = 0; j->asked && i < spec->hosts.n; i++) {
		if (i == 0)
			vec_push(&names, "host");
		else
			vec_pushf(&names, "host%zu", i + 1);
		vec_push(&vals, spec->hosts.v[i]);
	}
	for (size_t i = 0; i < names.n && rc == 0; i++)
		if (db_exec(db, err,
			    "INSERT INTO runvars (flight, job, name, val) "
			    "VALUES ($1, $2, $3, $4) ON CONFLICT (flight, job, name) "
			    "DO UPDATE SET val = EXCLUDED.val",
			    4, (const char *[]){ fl, j->name, names.v[i],
						 vals.v[i] }) < 0)
			rc = err->code;
out:
	vec_clear(&names);
	vec_clear(&vals);
	return rc;
}

static int db_flight_created_event(struct db *db, long id,
				   const struct flight_spec *spec,
				   struct err *err)
{
	json_t *detail = json_object();
	int rc;

	json_object_set_new(detail, "intent",
			    spec->intent ? json_string(spec->intent) : json_null());
	rc = db_event(db, &(struct db_event){ .kind = "flight.created",
					      .flight = id,
					      .branch = spec->branch,
					      .detail = detail }, err);
	json_decref(detail);
	return rc;
}

int db_flight_create(struct db *db, const struct flight_spec *spec, long *id,
		     struct err *err)
{
	struct fjob *jobs = NULL;
	size_t n = 0;
	PGresult *res;
	char fl[32], retest[32], bisection[32];
	int rc;

	if (!spec->jobs.n)
		return err_set(err, ERR_USAGE, "a flight needs at least one job");
	snprintf(retest, sizeof(retest), "%ld", spec->retest_of);
	snprintf(bisection, sizeof(bisection), "%ld", spec->bisection);
	if (db_begin(db, err) < 0)
		return err->code;
	rc = fjobs_expand(db, spec, &jobs, &n, err);
	if (rc < 0)
		goto rollback;
	for (size_t h = 0; h < spec->hosts.n; h++) {
		const char *host = spec->hosts.v[h];

		res = db_query(db, err, "SELECT arch FROM hosts WHERE name = $1 "
				    "AND state <> 'retired'",
			       1, (const char *[]){ host });
		if (!res)
			goto rollback;
		if (PQntuples(res) != 1) {
			PQclear(res);
			err_set(err, ERR_USAGE, "no host '%s'", host);
			goto rollback;
		}
		for (size_t i = 0; i < n; i++)
			if (jobs[i].asked && strcmp(jobs[i].arch, PQgetvalue(res, 0, 0))) {
				err_set(err, ERR_USAGE,
					"job %s needs an %s host; %s is %s",
					jobs[i].name, jobs[i].arch, host,
					PQgetvalue(res, 0, 0));
				PQclear(res);
				goto rollback;
			}
		PQclear(res);
	}
	res = db_query(db, err,
		       "INSERT INTO flights (branch, intent, label, requested_by, "
		       "verdict, target_revision, baseline_test, retest_of, bisection) "
		       "VALUES ($1, $2, $3, $4, CASE WHEN $2 IN "
		       "('gate', 'retest') THEN 'pending' ELSE 'none' END, $5, $6, "
		       "nullif($7, '0')::bigint, nullif($8, '0')::bigint) RETURNING id",
		       8, (const char *[]){ spec->branch, spec->intent, spec->label,
					    spec->requested_by, spec->target_revision,
					    spec->baseline_test ? "t" : "f", retest,
					    bisection });
	if (!res)
		goto rollback;
	*id = db_long(res, 0, 0);
	PQclear(res);
	snprintf(fl, sizeof(fl), "%ld", *id);
	for (size_t i = 0; i < spec->trees.n; i++)
		if (db_exec(db, err,
			    "INSERT INTO flight_revisions (flight, tree, revision) "
			    "VALUES ($1, $2, $3)",
			    3, (const char *[]){ fl, spec->trees.v[i],
						 spec->revs.v[i] }) < 0)
			goto rollback;
	for (size_t i = 0; i < n; i++)
		if (!jobs[i].reuse_flight && fjob_insert(db, fl, spec, &jobs[i], err) < 0)
			goto rollback;
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].reuse_flight)
			continue;
		for (size_t k = 0; k < jobs[i].needs.n; k++) {
			struct fjob *d = fjob_find(jobs, n, jobs[i].needs.v[k]);
			char dfl[32];

			snprintf(dfl, sizeof(dfl), "%ld",
				 d && d->reuse_flight ? d->reuse_flight : *id);
			if (db_exec(db, err,
				    "INSERT INTO job_deps (flight, job, dep_flight, dep_job) "
				    "VALUES ($1, $2, $3, $4)",
				    4, (const char *[]){ fl, jobs[i].name, dfl,
							 jobs[i].needs.v[k] }) < 0)
				goto rollback;
		}
	}
	if (db_exec(db, err,
		    /* a retest keeps its original's place in the queue */
		    "UPDATE flights f SET status = 'queued', queued_at = "
		    "coalesce((SELECT o.queued_at FROM flights o "
		    "WHERE o.id = f.retest_of), now()) WHERE id = $1",
		    1, (const char *[]){ fl }) < 0 ||
	    db_flight_created_event(db, *id, spec, err) < 0 ||
	    db_commit(db, err) < 0)
		goto rollback;
	fjobs_free(jobs, n);
	return 0;
rollback:
	db_rollback(db);
	fjobs_free(jobs, n);
	return err->code ? err->code : ERR_FAIL;
}

/* ---- reading ---- */

static json_t *json_str_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? json_null()
		       : json_string(PQgetvalue(res, row, col));
}

#define ISO(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

int db_flight_json(struct db *db, long id, json_t **ret, struct err *err)
{
	char fl[32];
	const char *p[1] = { fl };
	json_t *o, *revs, *jobs;
	PGresult *res;

	snprintf(fl, sizeof(fl), "%ld", id);
	res = db_query(db, err,
		       "SELECT branch, intent, label, status, verdict, requested_by, "
		       ISO("created_at") ", " ISO("started_at") ", "
		       ISO("finished_at") " FROM flights WHERE id = $1",
		       1, p);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no flight %ld", id);
	}
	o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		      "flight", (json_int_t)id, "branch", json_str_or_null(res, 0, 0),
		      "intent", json_str_or_null(res, 0, 1),
		      "label", json_str_or_null(res, 0, 2),
		      "status", json_str_or_null(res, 0, 3),
		      "verdict", json_str_or_null(res, 0, 4),
		      "requested_by", json_str_or_null(res, 0, 5),
		      "created", json_str_or_null(res, 0, 6),
		      "started", json_str_or_null(res, 0, 7),
		      "finished", json_str_or_null(res, 0, 8));
	PQclear(res);
	res = db_query(db, err,
		       "SELECT tree, revision FROM flight_revisions WHERE flight = $1 "
		       "ORDER BY tree",
		       1, p);
	if (!res)
		goto fail;
	revs = json_object();
	for (int i = 0; i < PQntuples(res); i++)
		json_object_set_new(revs, PQgetvalue(res, i, 0),
				    json_string(PQgetvalue(res, i, 1)));
	json_object_set_new(o, "revisions", revs);
	PQclear(res);

	res = db_query(db, err,
		       "SELECT j.job, j.recipe, j.arch, j.status, j.attempt, "
		       "j.broken_reason, " ISO("j.started_at") ", " ISO("j.finished_at")
		       ", j.wait_reason, j.lease_owner, "
		       /* the hosts it was given (kept after it ends) */
		       "array_to_string(ARRAY(SELECT v.val FROM runvars v "
		       "WHERE v.flight = j.flight AND v.job = j.job "
		       "AND j.status <> 'queued' AND v.name ~ '^host[0-9]*$' "
		       "ORDER BY length(v.name), v.name), ' '), "
		       "array_to_string(ARRAY(SELECT d.dep_flight || '.' || d.dep_job "
		       "FROM job_deps d WHERE d.flight = j.flight AND d.job = j.job "
		       "ORDER BY 1), ' '), "
		       "(SELECT jsonb_object_agg(name, val) FROM runvars v "
		       "WHERE v.flight = j.flight AND v.job = j.job)::text "
		       "FROM jobs j WHERE j.flight = $1 ORDER BY j.job",
		       1, p);
	if (!res)
		goto fail;
	jobs = json_array();
	json_object_set_new(o, "jobs", jobs);
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *j, *hosts = json_array(), *deps = json_array();
		struct vec w = VEC_INIT;
		json_t *rv = PQgetisnull(res, i, 12)
				     ? json_object()
				     : json_loads(PQgetvalue(res, i, 12), 0, NULL);

		vec_split(&w, PQgetvalue(res, i, 10));
		for (size_t k = 0; k < w.n; k++)
			json_array_append_new(hosts, json_string(w.v[k]));
		vec_clear(&w);
		vec_split(&w, PQgetvalue(res, i, 11));
		for (size_t k = 0; k < w.n; k++)
			json_array_append_new(deps, json_string(w.v[k]));
		vec_clear(&w);
		j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, "
			      "s:o, s:o, s:o, s:[], s:[]}",
			      "job", PQgetvalue(res, i, 0),
			      "recipe", PQgetvalue(res, i, 1),
			      "arch", PQgetvalue(res, i, 2),
			      "status", PQgetvalue(res, i, 3),
			      "attempt", (int)db_long(res, i, 4),
			      "broken_reason", json_str_or_null(res, i, 5),
			      "started", json_str_or_null(res, i, 6),
			      "finished", json_str_or_null(res, i, 7),
			      "wait_reason", json_str_or_null(res, i, 8),
			      "worker", json_str_or_null(res, i, 9),
			      "hosts", hosts, "needs", deps,
			      "runvars", rv ? rv : json_object(),
			      "steps", "artifacts");
		json_array_append_new(jobs, j);
	}
	PQclear(res);

	res = db_query(db, err,
		       "SELECT job, stepno, kind, name, status, attempt, detail, "
		       ISO("started_at") ", " ISO("finished_at") ", logfile, "
		       "extract(epoch FROM coalesce(finished_at, now()) - started_at) "
		       "FROM steps WHERE flight = $1 ORDER BY job, stepno",
		       1, p);
	if (!res)
		goto fail;
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *j = NULL;

		for (size_t k = 0; k < json_array_size(jobs); k++) {
			json_t *c = json_array_get(jobs, k);

			if (!strcmp(json_string_value(json_object_get(c, "job")),
				    PQgetvalue(res, i, 0)))
				j = c;
		}
		if (!j)
			continue;
		json_array_append_new(
			json_object_get(j, "steps"),
			json_pack("{s:i, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:f}",
				  "stepno", (int)db_long(res, i, 1),
				  "kind", PQgetvalue(res, i, 2),
				  "step", PQgetvalue(res, i, 3),
				  "status", PQgetvalue(res, i, 4),
				  "attempt", (int)db_long(res, i, 5),
				  "detail", json_str_or_null(res, i, 6),
				  "started", json_str_or_null(res, i, 7),
				  "finished", json_str_or_null(res, i, 8),
				  "log", json_str_or_null(res, i, 9),
				  "seconds", strtod(PQgetvalue(res, i, 10), NULL)));
	}
	PQclear(res);

	res = db_query(db, err,
		       "SELECT job, path, sha256, size FROM artifacts "
		       "WHERE flight = $1 ORDER BY job, path",
		       1, p);
	if (!res)
		goto fail;
	for (int i = 0; i < PQntuples(res); i++)
		for (size_t k = 0; k < json_array_size(jobs); k++) {
			json_t *c = json_array_get(jobs, k);

			if (strcmp(json_string_value(json_object_get(c, "job")),
				   PQgetvalue(res, i, 0)))
				continue;
			json_array_append_new(
				json_object_get(c, "artifacts"),
				json_pack("{s:s, s:s, s:I}", "path", PQgetvalue(res, i, 1),
					  "sha256", PQgetvalue(res, i, 2), "size",
					  (json_int_t)strtoll(PQgetvalue(res, i, 3),
							      NULL, 10)));
		}
	PQclear(res);
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return err->code;
}

int db_flight_list_json(struct db *db, const struct flight_filter *f,
			json_t **ret, struct err *err)
{
	char lim[16], before[24];
	PGresult *res;

	snprintf(lim, sizeof(lim), "%d", f->limit > 0 ? f->limit : 100);
	snprintf(before, sizeof(before), "%ld", f->before);
	res = db_query(db, err,
		       "SELECT f.id, f.branch, f.intent, f.status, f.verdict, "
		       ISO("f.created_at") ", " ISO("f.finished_at") ", "
		       "(SELECT jsonb_object_agg(status, n) FROM (SELECT status, "
		       "count(*) n FROM jobs j WHERE j.flight = f.id GROUP BY status) s)::text, "
		       "f.requested_by, f.pushed, "
		       "(SELECT jsonb_object_agg(tree, revision) FROM flight_revisions fr "
		       "WHERE fr.flight = f.id)::text, f.baseline_test "
		       "FROM flights f WHERE ($2::text IS NULL OR f.branch = $2) "
		       "AND ($3::text IS NULL OR f.intent = $3) "
		       "AND ($4::text IS NULL OR f.status = $4) "
		       /* flight_revisions_prefix_idx: the flights of a prefix */
		       "AND ($5::text IS NULL OR f.id IN (SELECT fr.flight FROM "
		       "flight_revisions fr WHERE fr.revision LIKE lower($5) || '%')) "
		       "AND ($6::bigint = 0 OR f.id < $6::bigint) "
		       "ORDER BY f.id DESC LIMIT $1::int",
		       6, (const char *[]){ lim, f->branch, f->intent, f->status,
					    f->revision, before });
	if (!res)
		return err->code;
	*ret = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *counts = PQgetisnull(res, i, 7)
					 ? json_object()
					 : json_loads(PQgetvalue(res, i, 7), 0, NULL);
		json_t *revs = PQgetisnull(res, i, 10)
				       ? json_object()
				       : json_loads(PQgetvalue(res, i, 10), 0, NULL);

		json_array_append_new(
			*ret,
			json_pack("{s:I, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:b}",
				  "flight", (json_int_t)db_long(res, i, 0), "branch",
				  json_str_or_null(res, i, 1), "intent",
				  PQgetvalue(res, i, 2), "status", PQgetvalue(res, i, 3),
				  "verdict", PQgetvalue(res, i, 4), "created",
				  json_str_or_null(res, i, 5), "finished",
				  json_str_or_null(res, i, 6), "jobs",
				  counts ? counts : json_object(), "requested_by",
				  json_str_or_null(res, i, 8), "pushed",
				  PQgetvalue(res, i, 9)[0] == 't', "revisions",
				  revs ? revs : json_object(), "baseline_test",
				  PQgetvalue(res, i, 11)[0] == 't'));
	}
	PQclear(res);
	return 0;
}

int db_job_history_json(struct db *db, const char *job, const char *branch,
			int limit, json_t **ret, struct err *err)
{
	char lim[16];
	PGresult *res;
	int rc;

	snprintf(lim, sizeof(lim), "%d", limit);
	/* jobs_history_idx gives the newest runs of the job first */
	rc = db_query_json(db, err, "job history", ret,
		       "SELECT coalesce(json_agg(x ORDER BY (x->>'flight')::bigint DESC), "
		       "'[]')::text FROM (SELECT json_build_object('flight', j.flight, "
		       "'branch', f.branch, 'intent', f.intent, 'status', j.status, "
		       "'failed_step', (SELECT s.name FROM steps s WHERE s.flight = j.flight "
		       "AND s.job = j.job AND s.status IN ('fail', 'broken') "
		       "ORDER BY s.stepno LIMIT 1), 'hosts', (SELECT coalesce(json_agg("
		       "DISTINCT a.host), '[]') FROM allocations a WHERE a.flight = j.flight "
		       "AND a.job = j.job), "
		       "'started', " ISO("j.started_at") ", 'seconds', "
		       "coalesce(extract(epoch FROM j.finished_at - j.started_at), 0)) x "
		       "FROM jobs j JOIN flights f ON f.id = j.flight WHERE j.job = $1 "
		       "AND ($2::text IS NULL OR f.branch = $2) "
		       "ORDER BY j.flight DESC LIMIT $3::int) q",
		       3, (const char *[]){ job, branch, lim });
	if (rc < 0)
		return rc;
	if (!json_array_size(*ret)) {
		res = db_query(db, err, "SELECT 1 FROM job_defs WHERE name = $1",
			       1, (const char *[]){ job });
		if (!res)
			return err->code;
		if (!PQntuples(res)) {
			PQclear(res);
			json_decref(*ret);
			*ret = NULL;
			return err_set(err, ERR_NOTFOUND, "no job '%s'", job);
		}
		PQclear(res);
	}
	return 0;
}

int db_flight_progress(struct db *db, long id, char **status,
		       struct vec *lines, struct err *err)
{
	char fl[32];
	PGresult *res;

	snprintf(fl, sizeof(fl), "%ld", id);
	res = db_query(db, err,
		       "SELECT f.status, j.job, j.status, (SELECT s.name FROM steps s "
		       "WHERE s.flight = j.flight AND s.job = j.job "
		       "AND s.status = 'running' ORDER BY stepno DESC LIMIT 1), "
		       "j.attempt FROM flights f LEFT JOIN jobs j ON j.flight = f.id "
		       "WHERE f.id = $1 ORDER BY j.job",
		       1, (const char *[]){ fl });
	if (!res)
		return err->code;
	if (!PQntuples(res)) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no flight %ld", id);
	}
	*status = db_dup(res, 0, 0);
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 1))
			vec_pushf(lines, "%s %s%s%s%s", PQgetvalue(res, i, 1),
				  PQgetvalue(res, i, 2),
				  PQgetisnull(res, i, 3) ? "" : " ",
				  PQgetvalue(res, i, 3),
				  db_long(res, i, 4) > 1 ? " (attempt 2+)" : "");
	PQclear(res);
	return 0;
}

int db_flight_cancel(struct db *db, long id, int *jobs, struct err *err)
{
	char fl[32];
	const char *p[2] = { fl, NULL };
	PGresult *res;

	snprintf(fl, sizeof(fl), "%ld", id);
	p[1] = db_actor();
	if (db_begin(db, err) < 0)
		return err->code;
	/* jobs first, then the flight: the order of everything that ends
	 * jobs (see hangar_flight_maybe_done in migration 0004) */
	res = db_query(db, err, "SELECT status FROM flights WHERE id = $1",
		       1, p);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		err_set(err, ERR_NOTFOUND, "no flight %ld", id);
		goto rollback;
	}
	if (!strcmp(PQgetvalue(res, 0, 0), "finished") ||
	    !strcmp(PQgetvalue(res, 0, 0), "cancelled")) {
		err_set(err, ERR_EXISTS, "flight %ld is already %s", id,
			PQgetvalue(res, 0, 0));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	/* running jobs are asked to stop (their workers end them), before
	 * waiting ones end here: the statement ending jobs takes the
	 * flight's lock, and must not then wait for a worker's job row */
	res = db_query(db, err,
		       "WITH r AS (UPDATE jobs SET cancel_requested = true "
		       "WHERE flight = $1 AND status IN ('preparing', 'running') "
		       "AND lease_owner IS NOT NULL RETURNING job) "
		       "SELECT count(*) FROM r",
		       1, p);
	if (!res)
		goto rollback;
	*jobs = (int)db_long(res, 0, 0);
	PQclear(res);
	res = db_query(db, err,
		       "WITH w AS (UPDATE jobs SET status = 'cancelled', "
		       "finished_at = now(), lease_until = NULL WHERE flight = $1 "
		       "AND (status = 'queued' OR (status = 'preparing' "
		       "AND lease_owner IS NULL)) RETURNING job), "
		       "e AS (INSERT INTO events (actor, kind, flight) "
		       "VALUES ($2, 'flight.cancelled', $1)) "
		       "SELECT count(*) FROM w",
		       2, p);
	if (!res)
		goto rollback;
	*jobs += (int)db_long(res, 0, 0);
	PQclear(res);
	/* cancelled even if ending its jobs just made it finished; the last
	 * running job to end keeps it so */
	if (db_exec(db, err,
		    "UPDATE allocations a SET released_at = now() FROM jobs j "
		    "WHERE j.flight = $1 AND a.flight = j.flight AND a.job = j.job "
		    "AND j.status = 'cancelled' AND a.released_at IS NULL",
		    1, p) < 0 ||
	    db_exec(db, err,
		    "UPDATE flights SET status = 'cancelled', finished_at = CASE "
		    "WHEN EXISTS (SELECT 1 FROM jobs WHERE flight = $1 "
		    "AND status IN ('queued', 'preparing', 'running')) THEN NULL "
		    "ELSE coalesce(finished_at, now()) END WHERE id = $1",
		    1, p) < 0 ||
	    db_commit(db, err) < 0)
		goto rollback;
	return 0;
rollback:
	db_rollback(db);
	return err->code ? err->code : ERR_FAIL;
}
